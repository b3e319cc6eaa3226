"""``grade run``: grade every chosen scale of the policy for one period label.

``grade_customers`` is what cron runs.  One write transaction (``BEGIN IMMEDIATE`` on SQLite, so a
second concurrent run waits for the first) holds the whole run of every scale: the document check,
the aggregates, the results and the update of the current grade — runs never interleave, and a
failed run leaves nothing.  A dry run (``--dry-run`` or ``--policy FILE``) does the same reading in
the same kind of transaction and rolls it back.

Per scale and label the work is a handful of set-based statements, never one per customer:

1. the covered customers: the distinct (status, segments) combinations — a few dozen — judged
   against ``applies_to`` and ``fixed`` once each, then one scan for the ids of the covered ones;
2. one ``GROUP BY customer_id`` over the covering index ``ix_usage_day_customer_qty`` (two for a
   rank scale: this period and the same period a year before), shared by scales over one period;
3. the grade before this label (step limit) from the current grade, or — when the label is graded
   again — from the stored results of the latest earlier label;
4. the pure rules (``crmctl.rules.grading``) compute every grade, column-wise;
5. the results written with ``executemany`` (a re-run rewrites only rows that differ, with an
   upsert, and deletes those of customers no longer graded); the current grade written only where
   it moves, by primary key.

The hot reads use the driver cursor of the unit of work's connection (plain tuples) and the hot
writes ``exec_driver_sql``: at a hundred thousand customers per-row wrapping would cost more than
the database work itself (see benchmarks/bench_grading.py).
"""

from __future__ import annotations

import json
from array import array
from collections import Counter as Tally
from datetime import date, datetime

from sqlalchemy import select

from ...db import raw
from ...errors import InvalidInput, RuleViolation
from ... import i18n
from ...i18n import N_, _
from ...i18n import _ as gettext
from ...models import GradeResult, GradeRun
from ...policies.schema import Policy
from ...progress import Progress, silent
from ...rules import grading as rules
from ...rules.errors import Invalid
from ...rules.periods import Period, parse_kind, parse_label, resolve_period
from .. import audit
from ..app import App
from ..documents import apply_expiry
from ..population import Population, covered_customers
from ..aligned import aligned, aligned_numbers, fetched, placer, position
from ..volume_totals import best_month_columns, period_sum_columns, period_sums, priced_sums
from .labels import after_condition, before_condition, key_of, label_key
from .owners import owner_check
from .scores import manual_scores
from .store import Graded, Stored, result_fingerprint, store_results


#: a kind of period inside a message: its word (季度 in Chinese)
_KIND_WORDS = {"month": N_("month"), "quarter": N_("quarter"), "half-year": N_("half-year"), "year": N_("year")}


def _kind(kind: str) -> str:
    return gettext(_KIND_WORDS[kind]) if kind in _KIND_WORDS else kind


def _kinds(kinds) -> str:
    return _(", ").join(_kind(k) for k in kinds)


class _DryRun(Exception):
    """Raised at the end of a dry run so that the write transaction rolls back."""


def _not_the_review(code: str, sc, kind: str) -> str:
    return _("scale {scale} moves its grades at its {review} review ([grading.scales.{key}] review): "
             "a {kind} run changes nothing; preview it with --dry-run, or run --period {period}").format(
        scale=i18n.label(code, {code: sc.label}), key=code, review=_kind(sc.review), kind=_kind(kind), period=sc.review)


def resolve_run(policy, period: str | None, label: str | None, scale: str | None, today: date,
                dry_run: bool = False) -> tuple[Period, list]:
    """The period and the scales a ``grade run`` grades, or a clear refusal.  A scale with a
    ``review`` period is written only by runs for that period; other periods preview (``dry_run``)."""
    scales = policy.grading.scales
    if not scales:
        raise RuleViolation(_("this policy has no grading scales"))
    if period is not None:
        period = parse_kind(period)  # the code, also when typed as its word (半年)
    if period is None and not label:
        raise InvalidInput(_("give --period (month, quarter, half-year, year) or --label"))
    try:
        per = resolve_period(period, label, today)
    except Invalid as exc:
        raise exc.within("--label") from None
    if scale is not None:
        if scale not in scales:
            raise InvalidInput(_("unknown scale '{scale}': the policy has {scales}").format(
                scale=scale, scales=", ".join(scales)))
        sc = scales[scale]
        if per.kind not in sc.periods:
            raise RuleViolation(_("scale {scale} is graded by {periods}, not by {kind}").format(
                scale=scale, periods=_kinds(sc.periods), kind=_kind(per.kind)))
        if not dry_run and not sc.moves_by(per.kind):
            raise RuleViolation(_not_the_review(scale, sc, per.kind))
        chosen = [(scale, sc)]
    else:
        listed = [(code, sc) for code, sc in scales.items() if per.kind in sc.periods]
        if not listed:
            known = _("; ").join(_("{scale}: {periods}").format(scale=code, periods=_kinds(sc.periods))
                                 for code, sc in scales.items())
            raise RuleViolation(_("the policy grades no scale by {kind} ({known})").format(kind=_kind(per.kind),
                                                                                          known=known))
        chosen = [(code, sc) for code, sc in listed if dry_run or sc.moves_by(per.kind)]
        if not chosen:
            raise RuleViolation(_not_the_review(*listed[0], per.kind))
    if per.start > today:
        raise InvalidInput(_("period {label} has not started yet").format(label=per.label))
    return per, chosen



def _current_grades(session, scale_code: str, ids) -> list[tuple[str, str | None] | None]:
    """The current (grade, label) of each customer in ``ids``, lined up with them (None: none yet)."""
    cur = raw(session, "SELECT customer_id, grade, label FROM customer_grade WHERE scale = ? ORDER BY customer_id",
              scale_code, stream=True)
    # a few distinct (grade, label) pairs: one tuple each, not one per customer
    return aligned(ids, ([(cid, (g, lb)) for cid, g, lb in part] for part in fetched(cur)), shared={})


def _stored_results(session, scale_code: str, label: str, ids) -> Stored:
    """This label's results from an earlier run, lined up with ``ids``: (grade, previous) and the
    fingerprint of the whole stored row.  A re-run rewrites a result only when the new row's
    fingerprint differs (``store_results``); the row itself is not kept (a million of them would
    hold hundreds of MB).  JSON is read as text on every backend, as it is written."""
    cur = raw(session, "SELECT customer_id, grade, previous, CAST(metrics AS TEXT), reason, CAST(factor_scores AS TEXT), "
                       "score, rank, policy_version FROM grade_result WHERE scale = ? AND label = ? ORDER BY customer_id",
              scale_code, label, stream=True)
    n = len(ids)
    out = Stored([None] * n, array("q", bytes(8 * n)))
    shared: dict[tuple, tuple] = {}
    pairs, fps, stale = out.pairs, out.fps, out.stale
    place = placer(ids)
    for part in fetched(cur):
        for row in part:
            pos = place(row[0])
            if pos < 0:
                stale.append(row[0])
                continue
            pair = (row[1], row[2])
            pairs[pos] = shared.setdefault(pair, pair)
            fps[pos] = result_fingerprint(row[1:])
            out.n += 1
    out.n += len(stale)
    return out


def _baselines(session, scale, scale_code: str, per: Period, ids, current: list, stored: Stored) -> list[str | None]:
    """The grade each customer had before this label (what the step limit measures against), lined
    up with ``ids`` (``current``: :func:`_current_grades`).

    * the current grade, when it is the initial one (no label) or was set by an earlier label (a
      review that confirms a grade leaves its label, so "earlier" holds until the grade moves);
    * when this label or a later one set it: the stored result of the latest earlier label; failing
      that, the ``previous`` stored with this label's result; failing that, the initial grade.
    """
    key = rules.period_key(per.start, per.end)
    earlier: dict[str | None, bool] = {None: True}
    for c in dict.fromkeys(current):  # the few distinct (grade, label) pairs
        lb = c[1] if c is not None else None
        if lb is not None and lb not in earlier:
            k = key_of(lb)
            earlier[lb] = k is not None and k < key
    late = {lb for lb, before in earlier.items() if not before}
    initial = scale.initial_grade
    out: list[str | None] = [c[0] if c is not None and c[1] not in late else None for c in current]
    if not stored and not late and initial is None and not session.execute(
            select(GradeRun.id).where(GradeRun.scale == scale_code).limit(1)).first():
        return out  # never graded, no initial grade: nothing before this label
    pending = array("q", (pos for pos, c in enumerate(current) if c is None or c[1] in late))
    if not pending:
        return out
    waiting = bytearray(len(ids))
    for pos in pending:
        waiting[pos] = 1
    # Labels graded before this one, newest first (grade_run: few rows).
    labels = session.execute(select(GradeRun.label, GradeRun.period_start, GradeRun.period_end)
                             .where(GradeRun.scale == scale_code, before_condition(per)).distinct()).all()
    labels.sort(key=lambda r: rules.period_key(r[1], r[2]), reverse=True)
    if labels:
        # The latest earlier label settles most of them in one query.
        place = placer(ids)
        for part in fetched(raw(session, "SELECT customer_id, grade FROM grade_result WHERE scale = ? AND label = ? "
                                         "ORDER BY customer_id", scale_code, labels[0][0], stream=True)):
            for cid, g in part:
                pos = place(cid)
                if pos >= 0 and waiting[pos]:
                    out[pos] = g
                    waiting[pos] = 0
        rest = [ids[pos] for pos in pending if waiting[pos]]
        older = [lb[0] for lb in labels[1:]]
        for i in range(0, len(rest) if older else 0, 500):
            best: dict[int, tuple[tuple, str]] = {}
            for cid, g, lb in session.execute(
                    select(GradeResult.customer_id, GradeResult.grade, GradeResult.label)
                    .where(GradeResult.scale == scale_code, GradeResult.label.in_(older),
                           GradeResult.customer_id.in_(rest[i:i + 500]))):
                k = label_key(lb)
                if cid not in best or k > best[cid][0]:
                    best[cid] = (k, g)
            for cid, (_k, g) in best.items():
                pos = position(ids, cid)
                out[pos] = g
                waiting[pos] = 0
    pairs = stored.pairs
    for pos in pending:
        if waiting[pos]:
            prev = pairs[pos]
            out[pos] = prev[1] if prev is not None else initial
    return out


# ----------------------------------------------------------------------------------------------
# The run


def grade_customers(app: App, period: str | None = None, label: str | None = None, scale: str | None = None,
                    dry_run: bool = False, policy_override_text: str | None = None, reassign: bool = False,
                    *, policy_source: str = "--policy", progress: Progress = silent) -> list[dict]:
    """``grade run``: grade every chosen scale for one period label; one summary per scale.

    ``policy_override_text``: a candidate policy (TOML) to grade with instead of the current one —
    always a dry run.  ``reassign``: move customers whose new grade needs another keeper role.
    ``progress``: five steps per scale.
    """
    if policy_override_text is not None:
        from ...policies import parse_policy

        policy = parse_policy(policy_override_text, policy_source)
        dry_run = True
    else:
        policy = app.policy
    now = app.now()
    today = now.date()
    per, chosen = resolve_run(policy, period, label, scale, today, dry_run)
    if per.end > today and not dry_run:
        raise RuleViolation(_("period {label} is not over until {end}: grade it then, or preview it with --dry-run")
                            .format(label=per.label, end=per.end.isoformat()))
    summaries: list[dict] = []
    try:
        with app.db.write() as s:
            docs = apply_expiry(s, app, today)
            doc_check = {"suspended": len(docs["suspended"]), "reactivated": len(docs["reactivated"])}
            memo: dict = {}  # customers and aggregates shared by the scales of this run
            for code, sc in chosen:
                summary = _grade_scale(s, app, policy, code, sc, per, now, dry_run=dry_run, reassign=reassign,
                                       memo=memo, progress=progress)
                # a later label's step limit starts from this one: re-grade the later labels, in order
                later = [] if dry_run else _later_periods(s, code, per)
                for lp in later:
                    _grade_scale(s, app, policy, code, sc, lp, now, dry_run=False, reassign=reassign,
                                 memo=memo, progress=progress)
                summary["regraded"] = [lp.label for lp in later]
                summary["doc_check"] = doc_check
                summaries.append(summary)
            if dry_run:
                raise _DryRun()
    except _DryRun:
        pass
    return summaries


def _later_periods(s, code: str, per: Period) -> list[Period]:
    """The labels of ``code`` graded for periods after ``per``, oldest first (grade_run: few rows)."""
    rows = s.execute(select(GradeRun.label, GradeRun.period_start, GradeRun.period_end)
                     .where(GradeRun.scale == code, after_condition(per)).distinct()).all()
    rows.sort(key=lambda r: rules.period_key(r[1], r[2]))
    return [parse_label(r[0]) for r in rows]


def _grade_scale(s, app: App, policy: Policy, code: str, scale, per: Period, now: datetime, *, dry_run: bool,
                 reassign: bool, memo: dict, progress: Progress) -> dict:
    unit = policy.policy.volume_unit
    with progress(_("grading {scale} {label}").format(scale=code, label=per.label), total=5) as bar:
        pop = covered_customers(s, scale, memo=memo)
        current = _current_grades(s, code, pop.ids)
        stored = _stored_results(s, code, per.label, pop.ids)
        bar.advance()
        baselines = _baselines(s, scale, code, per, pop.ids, current, stored)
        bar.advance()
        graded = _compute(s, code, scale, per, pop, baselines, unit, memo)
        bar.advance()
        ids, grades = graded.ids, graded.grades
        codes = scale.grade_codes
        level = {g: i for i, g in enumerate(codes)}
        counts = dict.fromkeys(codes, 0)
        for g, n in Tally(grades).items():
            counts[g] = n
        # Moves against what this label said before (a re-run: the stored results; else the grade before).
        if stored:
            befores = [p[0] if p is not None else prev for p, prev in zip(stored.pairs, graded.previous)]
        else:
            befores = graded.previous
        up = down = new = 0
        for (before, g), n in Tally(zip(befores, grades)).items():
            if before is None:
                new += n
            elif before != g:
                if level.get(g, -1) > level.get(before, -1):
                    up += n
                else:
                    down += n
        changed = up + down + new
        # The current grade follows the latest graded label: re-grading an older one leaves it.
        newer = s.execute(select(GradeRun.id).where(GradeRun.scale == code, after_condition(per)).limit(1)).first()
        is_current = newer is None
        if not dry_run:
            store_results(s, app, code, per, now, graded, current, stored, is_current, changed)
        bar.advance()
        owners = owner_check(s, app, scale, pop, graded, is_current, reassign=reassign, write=not dry_run,
                              now=now, scale_code=code)
        bar.advance()
    summary = {
        "label": per.label, "scale": code, "period": per.kind, "start": per.start, "end": per.end,
        "graded": len(ids), "changed": changed, "up": up, "down": down, "new": new,
        "unchanged": len(ids) - changed, "counts": counts, "dry_run": dry_run,
        "policy_version": None if policy is not app.policy else app.policy_version,
        "reassign": owners["rows"], "reassigned": owners["moved"], "warnings": owners["warnings"],
    }
    if not dry_run:
        audit.record(s, app, "grade.run", "grade_run", f"{code}/{per.label}", at=now,
                     after={k: summary[k] for k in ("label", "scale", "graded", "changed", "up", "down", "new", "counts",
                                                    "reassigned")})
    return summary


def _compute(s, code: str, scale, per: Period, pop: Population, baselines: list, unit: str, memo: dict) -> Graded:
    ids = pop.ids
    fixed = [pop.fixed.get(cid) for cid in ids] if pop.fixed else None

    def once(fn, start, end):
        k = (fn.__name__, start, end)
        if k not in memo:
            memo[k] = fn(s, start, end)
        return memo[k]

    if scale.method == "threshold":
        if scale.aggregate == "max_month" and per.kind != "month":
            keys, best, totals = once(best_month_columns, per.start, per.end)
            values = aligned_numbers(ids, keys, best)
            total = aligned_numbers(ids, keys, totals)
            metrics = (f'{{"volume":{b!r},"total":{t!r}}}' for b, t in zip(values, total))  # made as written
        else:
            keys, sums = once(period_sum_columns, per.start, per.end)
            values = aligned_numbers(ids, keys, sums)
            metrics = (f'{{"volume":{v!r}}}' for v in values)
        # stored: only what the band does not say (step limit, fixed rule); grade explain writes the
        # whole sentence from the metric and the policy version (rules.threshold_reason)
        _computed, grades, notes = rules.grade_threshold_many(scale, values, baselines, fixed)
        return Graded(ids, grades, baselines, [note.text() if note else "" for note in notes], metrics)
    this = once(priced_sums, per.start, per.end)
    last = per.shifted(years=-1)
    before = once(period_sums, last.start, last.end)
    scores, labels = manual_scores(s, code, per)
    candidates = []
    for cid, base, fx in zip(ids, baselines, fixed or [None] * len(ids)):
        qty, pq, amt = this.get(cid, (0.0, None, None))
        last_qty = before.get(cid)
        candidates.append(rules.Candidate(cid, baseline=base, fixed=fx, volume=rules.round_volume(qty or 0.0), priced_qty=pq,
                                          amount=amt, last_volume=rules.round_volume(last_qty) if last_qty else last_qty,
                                          manual=scores.get(cid),
                                          manual_labels=labels.get(cid)))
    price = rules.purchase_price(scale, per.label)
    # the columns, lined up with the population's ids, filled as the outcomes come (fixed grades
    # first): what is stored is kept (text), each outcome and its reason's messages are dropped
    n = len(ids)
    grades: list = [None] * n
    previous: list = [None] * n
    reasons: list = [None] * n
    metrics_json: list = [None] * n
    factor_json: list = [None] * n
    scores_col: list = [None] * n
    ranks: list = [None] * n
    place = placer(ids)
    graded = 0
    for o in rules.rank_outcomes(scale, candidates, price):
        pos = place(o.key)
        if pos < 0 or grades[pos] is not None:
            raise AssertionError("rank_outcomes graded a customer twice or one not asked for")
        grades[pos], previous[pos], reasons[pos] = o.grade, o.previous, str(o.reason)
        metrics_json[pos], factor_json[pos] = _json(o.metrics), _json(o.factor_scores)
        scores_col[pos], ranks[pos] = o.score, o.rank
        graded += 1
    if graded != n:
        raise AssertionError("rank_outcomes did not grade every candidate once")
    return Graded(ids, grades, previous, reasons, metrics_json, factor_json, scores_col, ranks)

def _json(obj) -> str | None:
    """JSON text of a result object (``None`` stays SQL NULL)."""
    if obj is None:
        return None
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
