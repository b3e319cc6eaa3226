"""Grade runs, explanations, history, manual factor scores, stability, churn, allocation priority.

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

import heapq
import json
import re
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterator

from sqlalchemy import Date, String, and_, cast, false, func, insert, or_, select

from ..errors import InvalidInput, NotFound, RuleViolation
from ..models import (AuditLog, Customer, CustomerGrade, FactorScore, GradeResult, GradeRun, SalesPlan, Staff,
                      StaffRole, UsageRecord, UTCDateTime)
from ..progress import progress
from ..rules import grading as rules
from ..rules.periods import (PERIODS, Period, detect_kind, last_completed, parse_label, period_containing,
                             period_starting, resolve_period)
from . import audit
from .app import App
from .customers import get_customer
from .documents import apply_expiry

INSERT_CHUNK = 10_000


class _DryRun(Exception):
    """Raised at the end of a dry run so that the write transaction rolls back."""


# ----------------------------------------------------------------------------------------------
# Choosing scales and the period


def _scales(policy) -> dict:
    return dict(policy.grading.scales) if policy.grading else {}


def resolve_run(policy, period: str | None, label: str | None, scale: str | None, today: date) -> tuple[Period, list]:
    """The period and the scales a ``grade run`` grades, or a clear refusal."""
    scales = _scales(policy)
    if not scales:
        raise RuleViolation("this policy has no grading scales")
    if period is not None and period not in PERIODS:
        raise InvalidInput(f"unknown period '{period}': use one of {', '.join(PERIODS)}")
    if period is None and not label:
        raise InvalidInput("give --period (month, quarter, half-year, year) or --label")
    try:
        per = resolve_period(period, label, today)
    except ValueError as exc:
        raise InvalidInput(f"--label: {exc}") from None
    if scale is not None:
        if scale not in scales:
            raise InvalidInput(f"unknown scale '{scale}': the policy has {', '.join(scales)}")
        sc = scales[scale]
        if per.kind not in sc.periods:
            raise RuleViolation(f"scale {scale} is graded by {', '.join(sc.periods)}, not by {per.kind}")
        chosen = [(scale, sc)]
    else:
        chosen = [(code, sc) for code, sc in scales.items() if per.kind in sc.periods]
        if not chosen:
            listed = "; ".join(f"{code}: {', '.join(sc.periods)}" for code, sc in scales.items())
            raise RuleViolation(f"the policy grades no scale by {per.kind} ({listed})")
    if per.start > today:
        raise InvalidInput(f"period {per.label} has not started yet")
    return per, chosen


def _key_of(label: str | None) -> tuple | None:
    if not label:
        return None
    try:
        p = parse_label(label)
    except ValueError:
        return None
    return rules.period_key(p.start, p.end)


# ----------------------------------------------------------------------------------------------
# Loading what a scale needs


@dataclass
class _Population:
    ids: list[int] = field(default_factory=list)  # ascending
    owners: dict[int, int | None] = field(default_factory=dict)
    fixed: dict[int, tuple[str, int]] = field(default_factory=dict)


def _conditions(scale) -> list:
    return [scale.applies_to] + [f.when for f in (scale.fixed or [])]


def _customer_groups(session, need_fields: bool, need_grades: bool, statuses: tuple[str, ...]) -> dict:
    """Customers grouped by what conditions look at: (status, segments, fields, grades) -> (ids, owners).

    The general path (conditions on custom fields or on other scales' grades): one streamed query,
    grouped in Python."""
    grades: dict[int, tuple] = {}
    if need_grades:
        by: dict[int, dict[str, str]] = {}
        for cid, sc, g in _raw(session, "SELECT customer_id, scale, grade FROM customer_grade").fetchall():
            by.setdefault(cid, {})[sc] = g
        grades = {cid: tuple(sorted(g.items())) for cid, g in by.items()}
    fields = ", CAST(fields AS TEXT)" if need_fields else ", NULL"
    marks = ", ".join("?" * len(statuses))
    groups: dict[tuple, tuple[list, list]] = {}
    cur = _raw(session, f"SELECT id, owner_id, status, CAST(segments AS TEXT){fields} FROM customer "
                        f"WHERE status IN ({marks})", *statuses)
    get = groups.get
    while True:
        chunk = cur.fetchmany(10_000)
        if not chunk:
            break
        for cid, owner, status, segs, flds in chunk:
            key = (status, segs, flds, grades.get(cid) if need_grades else None)
            grp = get(key)
            if grp is None:
                grp = groups[key] = ([], [])
            grp[0].append(cid)
            grp[1].append(owner)
    return groups


_COMBO = "status || '|' || CAST(segments AS TEXT)"


def covered_customers(session, scale, *, statuses: tuple[str, ...] = ("active",), memo: dict | None = None) -> _Population:
    """Customers the scale covers (``applies_to``), with their fixed grade where one applies.

    Conditions on segments and status (every built-in policy): the distinct (status, segments)
    combinations — a few dozen — are read and judged first, then one scan fetches the ids and owners
    of the covered ones.  ``memo`` shares the combinations between the scales of one run."""
    conds = _conditions(scale)
    need_fields = any(c.fields for c in conds)
    need_grades = any(c.grades for c in conds)
    marks = ", ".join("?" * len(statuses))
    pop = _Population()
    if need_fields or need_grades:
        mkey = ("customers", need_fields, need_grades, statuses)
        groups = memo.get(mkey) if memo is not None else None
        if groups is None:
            groups = _customer_groups(session, need_fields, need_grades, statuses)
            if memo is not None:
                memo[mkey] = groups
        for (status, seg_text, fld_text, grades), (ids, owners) in groups.items():
            segs = json.loads(seg_text) if seg_text else {}
            flds = json.loads(fld_text) if fld_text else {}
            g = dict(grades or ())
            if not rules.matches(scale.applies_to, segments=segs, fields=flds, grades=g, status=status):
                continue
            pop.ids.extend(ids)
            pop.owners.update(zip(ids, owners))
            fx = rules.fixed_grade(scale, segments=segs, fields=flds, grades=g, status=status)
            if fx is not None:
                pop.fixed.update(dict.fromkeys(ids, fx))
        pop.ids.sort()
        return pop
    mkey = ("combos", statuses)
    combos = memo.get(mkey) if memo is not None else None
    if combos is None:
        combos = _raw(session, f"SELECT DISTINCT status, CAST(segments AS TEXT) FROM customer WHERE status IN ({marks})",
                      *statuses).fetchall()
        if memo is not None:
            memo[mkey] = combos
    covered: list[str] = []
    fixed: dict[tuple[str, int], list[str]] = {}
    for status, seg_text in combos:
        segs = json.loads(seg_text) if seg_text else {}
        if not rules.matches(scale.applies_to, segments=segs, status=status):
            continue
        key = f"{status}|{seg_text}"
        covered.append(key)
        fx = rules.fixed_grade(scale, segments=segs, status=status)
        if fx is not None:
            fixed.setdefault(fx, []).append(key)
    rows: list = []
    for i in range(0, len(covered), 400):
        part = covered[i:i + 400]
        rows += _raw(session, f"SELECT id, owner_id FROM customer WHERE status IN ({marks}) "
                              f"AND {_COMBO} IN ({', '.join('?' * len(part))}) ORDER BY id", *statuses, *part).fetchall()
    if len(covered) > 400:
        rows.sort()
    pop.ids = [r[0] for r in rows]
    pop.owners = dict(rows)
    for fx, keys in fixed.items():
        for i in range(0, len(keys), 400):
            part = keys[i:i + 400]
            ids = _raw(session, f"SELECT id FROM customer WHERE status IN ({marks}) "
                                f"AND {_COMBO} IN ({', '.join('?' * len(part))})", *statuses, *part).fetchall()
            pop.fixed.update(dict.fromkeys((r[0] for r in ids), fx))
    return pop


def _raw(session, sql: str, *params):
    """A driver cursor on the unit of work's connection, for the few bulk reads of a run: plain tuples,
    no per-row wrapping (``?`` marks; dates passed through :func:`_day`)."""
    conn = session.connection()
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    cur = conn.connection.dbapi_connection.cursor()
    cur.execute(sql, params)
    return cur


def _roomy_cache(session) -> None:
    """A run reads and writes several large B-trees at once (usage index, customers, results, current
    grades): on SQLite give this connection a 64 MB page cache instead of the default 2 MB."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size = -65536")


def _day(session, d: date):
    """A date as the driver stores it (SQLite: ISO text)."""
    return _driver_value(session.connection(), Date(), d)


def _range(q, start: date, end: date):
    return q.where(UsageRecord.day >= start, UsageRecord.day < end)


_MONTH = "substr(CAST(day AS VARCHAR(10)), 1, 7)"
# Sums are rounded to 4 decimals in SQL: a sum of decimals such as 1999.9999999997 is 2000 (a band edge).


def _r4(session, expr: str) -> str:
    """SQL rounding to 4 decimals that gives a float on SQLite and PostgreSQL alike."""
    if session.connection().dialect.name == "sqlite":
        return f"ROUND({expr}, 4)"
    return f"CAST(ROUND(CAST({expr} AS NUMERIC), 4) AS DOUBLE PRECISION)"


def period_sums(session, start: date, end: date) -> dict[int, float]:
    """Σ qty per customer over [start, end): one GROUP BY over the covering index."""
    return dict(_raw(session, f"SELECT customer_id, {_r4(session, 'SUM(qty)')} FROM usage_record "
                              "WHERE day >= ? AND day < ? GROUP BY customer_id",
                     _day(session, start), _day(session, end)).fetchall())


def best_month_sums(session, start: date, end: date) -> dict[int, tuple[float, float]]:
    """(best calendar month's Σ qty, period Σ qty) per customer."""
    months = (f"SELECT customer_id AS cid, {_MONTH} AS m, SUM(qty) AS q FROM usage_record "
              f"WHERE day >= ? AND day < ? GROUP BY customer_id, {_MONTH}")
    cur = _raw(session, f"SELECT cid, {_r4(session, 'MAX(q)')}, {_r4(session, 'SUM(q)')} FROM ({months}) t GROUP BY cid",
               _day(session, start), _day(session, end))
    return {cid: (best, total) for cid, best, total in cur.fetchall()}


def priced_sums(session, start: date, end: date) -> dict[int, tuple[float, float | None, float | None]]:
    """(Σ qty, Σ qty of records with an amount, Σ amount) per customer."""
    cur = _raw(session, f"SELECT customer_id, {_r4(session, 'SUM(qty)')}, SUM(CASE WHEN amount IS NOT NULL THEN qty END), "
                        "SUM(amount) FROM usage_record WHERE day >= ? AND day < ? GROUP BY customer_id",
               _day(session, start), _day(session, end))
    return {cid: (qty, pq, amt) for cid, qty, pq, amt in cur.fetchall()}


def manual_scores(session, scale_code: str, per: Period) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, str]]]:
    """The manual factor scores that hold for a label: scored for it, or else the latest earlier label
    of the same period kind (a credit score stays until it is re-scored)."""
    q = (select(FactorScore.customer_id, FactorScore.factor, FactorScore.value, FactorScore.label)
         .where(FactorScore.scale == scale_code, FactorScore.label <= per.label).order_by(FactorScore.label))
    kinds: dict[str, str | None] = {}
    values: dict[int, dict[str, int]] = {}
    labels: dict[int, dict[str, str]] = {}
    for cid, factor, value, label in session.execute(q):
        if label not in kinds:
            try:
                kinds[label] = detect_kind(label)
            except ValueError:
                kinds[label] = None
        if kinds[label] != per.kind:
            continue
        values.setdefault(cid, {})[factor] = value
        labels.setdefault(cid, {})[factor] = label
    return values, labels


def _current_grades(session, scale_code: str) -> dict[int, tuple[str, str | None]]:
    cur = _raw(session, "SELECT customer_id, grade, label FROM customer_grade WHERE scale = ?", scale_code)
    return {cid: (g, lb) for cid, g, lb in cur.fetchall()}


def _before_condition(per: Period, table=GradeRun):
    """SQL: a run of a period that comes before ``per`` (see rules.period_key)."""
    return or_(table.period_end < per.end, and_(table.period_end == per.end, table.period_start > per.start))


def _after_condition(per: Period, table=GradeRun):
    """SQL: a run of a period that comes after ``per``."""
    return or_(table.period_end > per.end, and_(table.period_end == per.end, table.period_start < per.start))


def run_labels(session, scale: str | None = None) -> dict[str, list[str]]:
    """Scale -> the labels it was graded for (few rows: grade_run).  Per-customer look-ups of results
    go through the primary key (scale, label, customer_id) with these labels."""
    q = select(GradeRun.scale, GradeRun.label).distinct()
    if scale is not None:
        q = q.where(GradeRun.scale == scale)
    out: dict[str, list[str]] = {}
    for sc, lb in session.execute(q):
        out.setdefault(sc, []).append(lb)
    return out


def _customer_results(session, customer_id: int, scale: str | None = None):
    """A SELECT of one customer's results (all scales, or one), by primary key."""
    labels = run_labels(session, scale)
    conds = [and_(GradeResult.scale == sc, GradeResult.label.in_(lbs)) for sc, lbs in labels.items()]
    return select(GradeResult).where(GradeResult.customer_id == customer_id, or_(*conds) if conds else false())


def _label_key(label: str) -> tuple:
    p = parse_label(label)
    return rules.period_key(p.start, p.end)


def _baselines(session, scale, scale_code: str, per: Period, ids: list[int],
               current: dict[int, tuple[str, str | None]], stored: dict[int, tuple[str, str | None]]) -> list[str | None]:
    """The grade each customer had before this label (what the step limit measures against).

    * the current grade, when it is the initial one (no label) or was set by an earlier label (a
      review that confirms a grade leaves its label, so "earlier" holds until the grade moves);
    * when this label or a later one set it: the stored result of the latest earlier label; failing
      that, the ``previous`` stored with this label's result; failing that, the initial grade.
    """
    key = rules.period_key(per.start, per.end)
    earlier: dict[str | None, bool] = {None: True}
    for lb in {v[1] for v in current.values()}:
        if lb is not None:
            k = _key_of(lb)
            earlier[lb] = k is not None and k < key
    late = {lb for lb, before in earlier.items() if not before}
    initial = scale.initial_grade
    cur_of = list(map(current.get, ids))
    out: list[str | None] = [c[0] if c is not None and c[1] not in late else None for c in cur_of]
    pending: dict[int, int] = {ids[pos]: pos for pos, c in enumerate(cur_of) if c is None or c[1] in late}
    if not pending:
        return out
    if not stored and not late and initial is None and not session.execute(
            select(GradeRun.id).where(GradeRun.scale == scale_code).limit(1)).first():
        return out  # never graded, no initial grade: nothing before this label
    # Labels graded before this one, newest first (grade_run: few rows).
    labels = session.execute(select(GradeRun.label, GradeRun.period_start, GradeRun.period_end)
                             .where(GradeRun.scale == scale_code, _before_condition(per)).distinct()).all()
    labels.sort(key=lambda r: rules.period_key(r[1], r[2]), reverse=True)
    if labels:
        # The latest earlier label settles most of them in one query.
        for cid, g in _raw(session, "SELECT customer_id, grade FROM grade_result WHERE scale = ? AND label = ?",
                           scale_code, labels[0][0]).fetchall():
            pos = pending.pop(cid, None)
            if pos is not None:
                out[pos] = g
        rest = sorted(pending)
        older = [lb[0] for lb in labels[1:]]
        for i in range(0, len(rest) if older else 0, 500):
            best: dict[int, tuple[tuple, str]] = {}
            for cid, g, lb in session.execute(
                    select(GradeResult.customer_id, GradeResult.grade, GradeResult.label)
                    .where(GradeResult.scale == scale_code, GradeResult.label.in_(older),
                           GradeResult.customer_id.in_(rest[i:i + 500]))):
                k = _label_key(lb)
                if cid not in best or k > best[cid][0]:
                    best[cid] = (k, g)
            for cid, (_k, g) in best.items():
                out[pending.pop(cid)] = g
    for cid, pos in pending.items():
        prev = stored.get(cid)
        out[pos] = prev[1] if prev is not None else initial
    return out


# ----------------------------------------------------------------------------------------------
# The run


def grade_customers(app: App, period: str | None = None, label: str | None = None, scale: str | None = None,
                    dry_run: bool = False, policy_override_text: str | None = None, reassign: bool = False,
                    *, policy_source: str = "--policy") -> list[dict]:
    """``grade run``: grade every chosen scale for one period label; one summary per scale.

    ``policy_override_text``: a candidate policy (TOML) to grade with instead of the current one —
    always a dry run.  ``reassign``: move customers whose new grade needs another keeper role.
    """
    if policy_override_text is not None:
        from ..policies import parse_policy

        policy = parse_policy(policy_override_text, policy_source)
        dry_run = True
    else:
        policy = app.policy
    now = app.now()
    today = now.date()
    per, chosen = resolve_run(policy, period, label, scale, today)
    if per.end > today and not dry_run:
        raise RuleViolation(f"period {per.label} is not over until {per.end.isoformat()}: grade it then, "
                            "or preview it with --dry-run")
    summaries: list[dict] = []
    try:
        with app.db.write() as s:
            _roomy_cache(s)
            docs = apply_expiry(s, app, today)
            doc_check = {"suspended": len(docs["suspended"]), "reactivated": len(docs["reactivated"])}
            memo: dict = {}  # customers and aggregates shared by the scales of this run
            for code, sc in chosen:
                summary = _grade_scale(s, app, policy, code, sc, per, now, dry_run=dry_run, reassign=reassign,
                                       memo=memo)
                summary["doc_check"] = doc_check
                summaries.append(summary)
            if dry_run:
                raise _DryRun()
    except _DryRun:
        pass
    return summaries


@dataclass
class _Graded:
    """The outcome of one scale, column-wise (parallel to ``ids``)."""

    ids: list[int]
    grades: list[str]
    previous: list[str | None]
    reasons: list[str]
    metrics: list[str]  # JSON text
    factor_scores: list[str | None]
    scores: list[float | None]
    ranks: list[int | None]


def _grade_scale(s, app: App, policy, code: str, scale, per: Period, now: datetime, *, dry_run: bool,
                 reassign: bool, memo: dict | None = None) -> dict:
    memo = {} if memo is None else memo
    unit = policy.policy.volume_unit
    with progress(f"grading {code} {per.label}", total=5) as bar:
        pop = covered_customers(s, scale, memo=memo)
        current = _current_grades(s, code)
        # this label's results from an earlier run: customer -> (grade, previous, metrics, reason, ...)
        stored = {row[0]: row[1:] for row in _raw(
            s, "SELECT customer_id, grade, previous, metrics, reason, factor_scores, score, rank, policy_version "
               "FROM grade_result WHERE scale = ? AND label = ?", code, per.label).fetchall()}
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
            befores = [stored[cid][0] if cid in stored else prev for cid, prev in zip(ids, graded.previous)]
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
        newer = s.execute(select(GradeRun.id).where(GradeRun.scale == code, _after_condition(per)).limit(1)).first()
        is_current = newer is None
        if not dry_run:
            _store(s, app, code, per, now, graded, current, stored, is_current, changed)
        bar.advance()
        owners = _owner_check(s, app, scale, pop, graded, is_current, reassign=reassign, write=not dry_run,
                              now=now, scale_code=code)
        bar.advance()
    summary = {
        "label": per.label, "scale": code, "period": per.kind, "start": per.start, "end": per.end,
        "graded": len(ids), "changed": changed, "up": up, "down": down, "new": new,
        "unchanged": len(ids) - changed, "counts": counts, "dry_run": dry_run,
        "policy_version": None if policy is not app.policy else app.policy_version,
        "reassign": owners["rows"], "reassigned": owners["moved"],
    }
    if not dry_run:
        audit.record(s, app, "grade.run", "grade_run", f"{code}/{per.label}", at=now,
                     after={k: summary[k] for k in ("label", "scale", "graded", "changed", "up", "down", "new", "counts",
                                                    "reassigned")})
    return summary


def _compute(s, code: str, scale, per: Period, pop: _Population, baselines: list, unit: str, memo: dict) -> _Graded:
    ids = pop.ids
    fixed = [pop.fixed.get(cid) for cid in ids] if pop.fixed else None

    def once(fn, start, end):
        k = (fn.__name__, start, end)
        if k not in memo:
            memo[k] = fn(s, start, end)
        return memo[k]

    if scale.method == "threshold":
        if scale.aggregate == "max_month" and per.kind != "month":
            sums = once(best_month_sums, per.start, per.end)
            pairs = [sums.get(cid) or (0.0, 0.0) for cid in ids]
            values = [p[0] for p in pairs]
            metrics = [f'{{"volume":{b!r},"total":{t!r}}}' for b, t in pairs]
        else:
            get = once(period_sums, per.start, per.end).get
            values = [get(cid) or 0.0 for cid in ids]
            metrics = [f'{{"volume":{v!r}}}' for v in values]
        # stored: only what the band does not say (step limit, fixed rule); grade explain writes the
        # whole sentence from the metric and the policy version (rules.threshold_reason)
        _computed, grades, notes = rules.grade_threshold_many(scale, values, baselines, fixed)
        n = len(ids)
        return _Graded(ids, grades, baselines, [x or "" for x in notes], metrics, [None] * n, [None] * n, [None] * n)
    this = once(priced_sums, per.start, per.end)
    last = per.shifted(years=-1)
    before = once(period_sums, last.start, last.end)
    scores, labels = manual_scores(s, code, per)
    candidates = []
    for cid, base, fx in zip(ids, baselines, fixed or [None] * len(ids)):
        qty, pq, amt = this.get(cid, (0.0, None, None))
        last_qty = before.get(cid)
        candidates.append(rules.Candidate(cid, baseline=base, fixed=fx, volume=round(qty or 0.0, 4), priced_qty=pq,
                                          amount=amt, last_volume=round(last_qty, 4) if last_qty else last_qty,
                                          manual=scores.get(cid),
                                          manual_labels=labels.get(cid)))
    outcomes = sorted(rules.grade_rank(scale, candidates), key=lambda o: o.key)
    return _Graded([o.key for o in outcomes], [o.grade for o in outcomes], [o.previous for o in outcomes],
                   [o.reason for o in outcomes], [_json(o.metrics) for o in outcomes],
                   [_json(o.factor_scores) for o in outcomes], [o.score for o in outcomes],
                   [o.rank for o in outcomes])


def _driver_value(conn, type_, value):
    """``value`` as the driver expects it for a column of ``type_`` (e.g. SQLite's date text)."""
    proc = type_.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return proc(value) if proc is not None else value


def _store(s, app: App, code: str, per: Period, now: datetime, graded: _Graded, current: dict,
           stored: dict, is_current: bool, changed: int) -> None:
    """Replace the label's results and move the current grades: bulk statements only.  ``stored``:
    the label's results before this run (a re-run rewrites only the rows that differ)."""
    s.add(GradeRun(scale=code, label=per.label, period_start=per.start, period_end=per.end,
                   policy_version=app.policy_version, started_at=now, finished_at=now, actor=app.actor.login,
                   graded=len(graded.ids), changed=changed))
    s.flush()
    conn = s.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    version = int(app.policy_version)
    # One row per customer: (customer_id, grade, previous, metrics, reason, factor_scores, score, rank),
    # the same order as the stored rows read by _grade_scale, so that a re-run writes only what moved.
    rows = list(zip(graded.ids, graded.grades, graded.previous, graded.metrics, graded.reasons,
                    graded.factor_scores, graded.scores, graded.ranks))
    if stored:
        same = [r for r in rows if stored.get(r[0]) == r[1:] + (version,)]
        if same:
            keep = {r[0] for r in same}
            rows = [r for r in rows if r[0] not in keep]
        graded_now = set(graded.ids)
        stale = [(cid,) for cid in stored if cid not in graded_now]
        if stale:  # customers no longer graded by this label (left the scale, suspended)
            conn.exec_driver_sql(f"DELETE FROM grade_result WHERE scale = {_lit(code)} AND label = {_lit(per.label)} "
                                 f"AND customer_id = {mark}", stale)
    # scale, label and policy version are the same on every row: written into the statement (they
    # are validated codes), so that each row binds only what differs.
    cols = "customer_id, grade, previous, metrics, reason, factor_scores, score, rank"
    sql = (f"INSERT INTO grade_result (scale, label, policy_version, {cols}) "
           f"VALUES ({_lit(code)}, {_lit(per.label)}, {version}, {', '.join([mark] * 8)})")
    if not any(x is not None for x in graded.scores):  # threshold: five values a row
        cols = "customer_id, grade, previous, metrics, reason"
        sql = (f"INSERT INTO grade_result (scale, label, policy_version, {cols}) "
               f"VALUES ({_lit(code)}, {_lit(per.label)}, {version}, {', '.join([mark] * 5)})")
        rows = [r[:5] for r in rows]
    if stored:
        sql += (" ON CONFLICT (scale, label, customer_id) DO UPDATE SET policy_version = excluded.policy_version, "
                + ", ".join(f"{c} = excluded.{c}" for c in cols.split(", ")[1:]))
    for i in range(0, len(rows), INSERT_CHUNK):
        conn.exec_driver_sql(sql, rows[i:i + INSERT_CHUNK])
    # The current grade (core's customer_grade): written only where it changes, by primary key, with
    # the label of the review that set it (a review that confirms a grade leaves grade, label, since).
    if not is_current:
        return
    stamp = _driver_value(conn, UTCDateTime(), now)
    fresh, moved = [], []
    get = current.get
    for cid, g in zip(graded.ids, graded.grades):
        cur = get(cid)
        if cur is None:
            fresh.append((cid, g, stamp))
        elif cur[0] != g:
            moved.append((g, stamp, cid))
    sc, lb = _lit(code), _lit(per.label)
    if fresh:
        conn.exec_driver_sql(f"INSERT INTO customer_grade (scale, label, customer_id, grade, since) "
                             f"VALUES ({sc}, {lb}, {mark}, {mark}, {mark})", fresh)
    if moved:
        conn.exec_driver_sql(f"UPDATE customer_grade SET grade = {mark}, label = {lb}, since = {mark} "
                             f"WHERE customer_id = {mark} AND scale = {sc}", moved)


_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def _lit(text: str) -> str:
    """A scale code or period label as an SQL string literal (both are validated codes)."""
    if not _SAFE.match(text):
        raise ValueError(f"not a code: {text!r}")
    return f"'{text}'"


# ----------------------------------------------------------------------------------------------
# Owners by grade (fuel-retail Art. 9, gas-tiered Art. 15)


def _owner_check(s, app: App, scale, pop: _Population, graded: _Graded, is_current: bool, *,
                 reassign: bool, write: bool, now: datetime, scale_code: str) -> dict:
    """Customers whose (new current) grade is kept by a role their owner does not hold; with
    ``reassign`` each moves to the least-loaded active staff member holding that role (staff other
    than administrators first: the administrator made by ``init`` holds every role)."""
    roles_by_grade = dict(scale.owner_roles or {})
    result = {"rows": [], "moved": 0}
    if not roles_by_grade or not graded.ids or not is_current:
        return result
    staff = {sid: (login, active, admin) for sid, login, active, admin in
             s.execute(select(Staff.id, Staff.login, Staff.active, Staff.is_admin))}
    holders: dict[str, set[int]] = {}
    for sid, role in s.execute(select(StaffRole.staff_id, StaffRole.role)):
        if staff.get(sid, ("", False))[1]:
            holders.setdefault(role, set()).add(sid)
    kept_by = {g: holders.get(role, set()) for g, role in roles_by_grade.items()}  # grade -> who may keep it
    everyone = _Everyone()
    owner_of = list(map(pop.owners.get, graded.ids))
    wrong = [(cid, g, roles_by_grade[g], o) for cid, g, o in zip(graded.ids, graded.grades, owner_of)
             if o not in kept_by.get(g, everyone)]
    if not wrong:
        return result
    codes: dict[int, str] = {}
    ids = [w[0] for w in wrong]
    for i in range(0, len(ids), 500):
        codes.update(s.execute(select(Customer.id, Customer.code).where(Customer.id.in_(ids[i:i + 500]))).all())
    heaps: dict[str, list] = {}
    if reassign:
        load = dict(s.execute(select(Customer.owner_id, func.count()).where(Customer.status != "disqualified",
                                                                           Customer.owner_id.is_not(None))
                              .group_by(Customer.owner_id)).all())
        for role in {w[2] for w in wrong}:
            people = sorted(holders.get(role, ()))
            people = [sid for sid in people if not staff[sid][2]] or people
            heaps[role] = [(load.get(sid, 0), staff[sid][0], sid) for sid in people]
            heapq.heapify(heaps[role])
    moves = []
    for cid, grade, role, owner in sorted(wrong, key=lambda w: codes.get(w[0], "")):
        new_owner = None
        heap = heaps.get(role)
        if heap:
            n, login, sid = heapq.heappop(heap)
            heapq.heappush(heap, (n + 1, login, sid))
            new_owner = login
            moves.append((cid, sid, owner, login, grade, role))
        result["rows"].append({"customer": codes[cid], "grade": grade, "role": role,
                               "owner": staff[owner][0] if owner in staff else None, "new_owner": new_owner})
    if reassign and write and moves:
        conn = s.connection()
        stamp = _driver_value(conn, UTCDateTime(), now)
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        conn.exec_driver_sql(f"UPDATE customer SET owner_id = {mark}, updated_at = {mark} WHERE id = {mark}",
                             [(sid, stamp, cid) for cid, sid, *_ in moves])
        audit_rows = [{"at": now, "actor": app.actor.login, "action": "customer.reassign", "entity": "customer",
                       "entity_key": codes[cid], "customer_code": codes[cid],
                       "before": {"owner": staff[old][0] if old in staff else None},
                       "after": {"owner": login, "grade": grade, "role": role, "scale": scale_code},
                       "policy_version": app.policy_version, "note": "owner by grade"}
                      for cid, sid, old, login, grade, role in moves]
        for i in range(0, len(audit_rows), INSERT_CHUNK):
            s.execute(insert(AuditLog), audit_rows[i:i + INSERT_CHUNK])
    result["moved"] = len(moves) if reassign else 0
    return result


class _Everyone:
    """``x in _Everyone()`` is always true: a grade without an owner role accepts any owner."""

    def __contains__(self, item) -> bool:
        return True


def _insert_sql(conn, table: str, columns: tuple[str, ...]) -> str:
    """A plain INSERT for ``executemany`` on the driver (bulk writes without per-row ORM work)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


def _json(obj) -> str | None:
    """JSON text of a result object (``None`` stays SQL NULL)."""
    if obj is None:
        return None
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# ----------------------------------------------------------------------------------------------
# Explain and history


def _scale_for_customer(app: App, s, c: Customer, scale: str | None) -> str:
    scales = _scales(app.policy)
    if not scales:
        raise RuleViolation("this policy has no grading scales")
    if scale is not None:
        if scale not in scales:
            raise InvalidInput(f"unknown scale '{scale}': the policy has {', '.join(scales)}")
        return scale
    graded = sorted({r.scale for r in s.scalars(_customer_results(s, c.id))})
    if len(graded) == 1:
        return graded[0]
    if len(graded) > 1:
        raise InvalidInput(f"customer {c.code} is graded on several scales ({', '.join(sorted(graded))}): give --scale")
    covering = [code for code, sc in scales.items() if rules.matches(sc.applies_to, segments=c.segments or {},
                                                                      fields=c.fields or {}, status=c.status)]
    if len(covering) == 1:
        return covering[0]
    if not covering:
        raise RuleViolation(f"no grading scale of the policy covers customer {c.code}")
    raise InvalidInput(f"several scales cover customer {c.code} ({', '.join(covering)}): give --scale")


def explain(app: App, code: str, label: str | None = None, scale: str | None = None) -> dict:
    """``grade explain``: the stored result of one customer for one label, and why."""
    with app.db.read() as s:
        c = get_customer(s, code)
        sc_code = _scale_for_customer(app, s, c, scale)
        q = _customer_results(s, c.id, sc_code)
        if label:
            try:
                parse_label(label.strip())
            except ValueError as exc:
                raise InvalidInput(f"--label: {exc}") from None
            r = s.scalars(q.where(GradeResult.label == label.strip())).first()
            if r is None:
                raise NotFound(f"customer {c.code} has no {sc_code} grade for {label} (run 'crmctl grade run' first)")
        else:
            found = s.scalars(q).all()
            if not found:
                raise NotFound(f"customer {c.code} has not been graded on {sc_code} yet (run 'crmctl grade run')")
            r = max(found, key=lambda x: _label_key(x.label))
        run = s.scalars(select(GradeRun).where(GradeRun.scale == sc_code, GradeRun.label == r.label)
                        .order_by(GradeRun.id.desc()).limit(1)).first()
        per = parse_label(r.label)
        metrics = dict(r.metrics or {})
        this = _sum_for(s, c.id, per.start, per.end)
        if "growth_pct" not in metrics:
            last = per.shifted(years=-1)
            metrics["growth_pct"] = rules.growth_pct(this, _sum_for(s, c.id, last.start, last.end))
        sc = _scales(app.policy).get(sc_code)
        if sc is not None and getattr(sc, "aggregate", "sum") == "max_month" and "best_month" not in metrics:
            month = func.substr(cast(UsageRecord.day, String), 1, 7)
            best = s.execute(_range(select(month, func.sum(UsageRecord.qty)), per.start, per.end)
                             .where(UsageRecord.customer_id == c.id).group_by(month)
                             .order_by(func.sum(UsageRecord.qty).desc()).limit(1)).first()
            metrics["best_month"] = best[0] if best else None
        metrics.setdefault("total", this)
        metrics["unit"] = app.policy.policy.volume_unit
        current = s.execute(select(CustomerGrade.grade, CustomerGrade.label)
                            .where(CustomerGrade.customer_id == c.id, CustomerGrade.scale == sc_code)).first()
        return {
            "customer": c.code, "name": c.name, "scale": sc_code, "label": r.label, "grade": r.grade,
            "previous": r.previous, "metrics": metrics, "factor_scores": r.factor_scores, "score": r.score,
            "rank": r.rank, "reason": _reason(app, s, sc_code, r, {}), "policy_version": r.policy_version,
            "graded_at": run.finished_at.astimezone(app.tz) if run and run.finished_at else None,
            "graded_by": run.actor if run else None,
            "current_grade": current[0] if current else None,
        }


def _policy_of_version(app: App, session, version: int, cache: dict):
    """The policy a result was graded with (parsed once per version)."""
    if version == app.policy_version:
        return app.policy
    if version not in cache:
        from ..models import PolicyVersion
        from ..policies import parse_policy

        row = session.scalars(select(PolicyVersion).where(PolicyVersion.version == version)).first()
        cache[version] = parse_policy(row.text, f"policy version {version}") if row else None
    return cache[version]


def _reason(app: App, session, scale_code: str, r: GradeResult, cache: dict) -> str:
    """The stored reason, completed for threshold results (which store only what the band does not
    say) from the metric and the scale of the policy version that graded them."""
    pol = _policy_of_version(app, session, r.policy_version, cache)
    sc = _scales(pol).get(scale_code) if pol is not None else None
    if sc is None or sc.method != "threshold":
        return r.reason
    value = (r.metrics or {}).get("volume") or 0.0
    return rules.threshold_reason(sc, value, r.reason or None, pol.policy.volume_unit)


def _sum_for(s, cid: int, start: date, end: date) -> float:
    return round(s.scalar(_range(select(func.coalesce(func.sum(UsageRecord.qty), 0.0)), start, end)
                          .where(UsageRecord.customer_id == cid)) or 0.0, 4)


def history(app: App, code: str, scale: str | None = None) -> list[dict]:
    """``grade history``: one row per graded label, oldest first."""
    with app.db.read() as s:
        c = get_customer(s, code)
        if scale is not None and scale not in _scales(app.policy):
            raise InvalidInput(f"unknown scale '{scale}': the policy has {', '.join(_scales(app.policy)) or 'none'}")
        results = s.scalars(_customer_results(s, c.id, scale)).all()
        policies: dict[int, Any] = {}
        reasons = {id(r): _reason(app, s, r.scale, r, policies) for r in results}
        runs: dict[tuple[str, str], tuple] = {}
        for sc, lb, at, actor in s.execute(select(GradeRun.scale, GradeRun.label, GradeRun.finished_at, GradeRun.actor)
                                           .order_by(GradeRun.id)):
            runs[(sc, lb)] = (at, actor)  # the latest run of a label made its results
    results = sorted(results, key=lambda r: (r.scale, _label_key(r.label)))
    out = []
    for r in results:
        at, actor = runs.get((r.scale, r.label), (None, None))
        out.append({"customer": c.code, "scale": r.scale, "label": r.label, "grade": r.grade, "previous": r.previous,
                    "volume": (r.metrics or {}).get("volume"), "score": r.score, "rank": r.rank,
                    "policy_version": r.policy_version, "graded_at": at.astimezone(app.tz) if at else None,
                    "graded_by": actor, "reason": reasons[id(r)]})
    return out


# ----------------------------------------------------------------------------------------------
# Manual factor scores


def _rank_scales(policy) -> dict:
    return {code: sc for code, sc in _scales(policy).items() if sc.method == "rank"}


def set_scores(app: App, code: str, label: str, pairs: dict[str, str], scale: str | None = None) -> dict:
    """``score set``: manual factors (1-10) of a rank scale for one review label."""
    pol = app.policy
    ranked = _rank_scales(pol)
    if not ranked:
        raise RuleViolation("this policy has no rank-graded scale with manual factors")
    if not pairs:
        raise InvalidInput("give at least one FACTOR=VALUE (1-10)")
    if scale is not None:
        if scale not in ranked:
            known = ", ".join(ranked)
            raise InvalidInput(f"unknown scale '{scale}' (scales with manual factors: {known})")
        candidates = {scale: ranked[scale]}
    else:
        candidates = ranked
    values: dict[str, int] = {}
    chosen = None
    for name, text in pairs.items():
        hits = []
        for sc_code, sc in candidates.items():
            for f_code, f in sc.factors.items():
                if f.source == "manual" and name in (f_code, f.label):
                    hits.append((sc_code, f_code))
        if not hits:
            manual = "; ".join(f"{sc_code}: " + ", ".join(f"{k} ({f.label})" for k, f in sc.factors.items()
                                                          if f.source == "manual")
                               for sc_code, sc in candidates.items())
            raise InvalidInput(f"unknown manual factor '{name}': {manual}")
        if len({h[0] for h in hits}) > 1:
            raise InvalidInput(f"factor '{name}' exists on several scales: give --scale")
        sc_code, f_code = hits[0]
        if chosen is not None and chosen != sc_code:
            raise InvalidInput("the factors belong to different scales: set them one scale at a time")
        chosen = sc_code
        if f_code in values:
            raise InvalidInput(f"factor {f_code} given twice")
        try:
            values[f_code] = rules.parse_factor_value(text, f_code)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
    sc = ranked[chosen]
    try:
        per = parse_label((label or "").strip())
    except ValueError as exc:
        raise InvalidInput(f"--label: {exc}") from None
    if per.kind not in sc.periods:
        raise InvalidInput(f"--label {per.label} is a {per.kind}; scale {chosen} is graded by {', '.join(sc.periods)}")
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code)
        if not rules.matches(sc.applies_to, segments=c.segments or {}, fields=c.fields or {}, status=c.status):
            raise RuleViolation(f"scale {chosen} does not cover customer {c.code}")
        before, after = {}, {}
        for f_code, v in values.items():
            row = s.get(FactorScore, (c.id, chosen, per.label, f_code))
            if row is not None:
                before[f_code] = row.value
                row.value, row.set_at, row.set_by = v, now, app.actor.login
            else:
                row = FactorScore(customer_id=c.id, scale=chosen, label=per.label, factor=f_code, value=v,
                                  set_at=now, set_by=app.actor.login)
            s.add(row)
            after[f_code] = v
        audit.record(s, app, "score.set", "factor_score", f"{c.code}/{chosen}/{per.label}",
                     before=before or None, after=after, customer_code=c.code, at=now)
        stored = dict(s.execute(select(FactorScore.factor, FactorScore.value).where(
            FactorScore.customer_id == c.id, FactorScore.scale == chosen, FactorScore.label == per.label)).all())
    scores = {f_code: stored.get(f_code) for f_code, f in sc.factors.items() if f.source == "manual"}
    return {"customer": c.code, "scale": chosen, "label": per.label, "scores": scores,
            "defaults": {k: sc.factors[k].default_score for k, v in scores.items() if v is None}}


# ----------------------------------------------------------------------------------------------
# Stability (fuel-retail Art. 6) and churn warnings


def stability_clause(app: App, which: str, last_col):
    """SQL condition on a customer row joined to the last-purchase aggregate (``last_col``)."""
    pol = app.policy
    if pol.stability is None:
        raise RuleViolation("this policy does not define stability ([stability])")
    if which not in rules.STABILITIES:
        raise InvalidInput(f"unknown stability '{which}': use {', '.join(rules.STABILITIES)}")
    cutoff = rules.lost_cutoff(app.now().date(), pol.stability.lost_after_months)
    not_yet = Customer.status.in_(("prospect", "pending"))
    if which == "potential":
        return or_(not_yet, last_col.is_(None))
    if which == "lost":
        return and_(~not_yet, last_col.is_not(None), last_col < cutoff)
    return and_(~not_yet, last_col >= cutoff)


def stability_of(app: App, status: str, last: date | None) -> str | None:
    st = app.policy.stability
    if st is None:
        return None
    return rules.stability(status, last, app.now().date(), st.lost_after_months)


def stability_counts(app: App) -> dict[str, int]:
    """How many customers are existing / lost / potential (disqualified ones left out)."""
    from .volumes import last_purchase_subquery

    st = app.policy.stability
    if st is None:
        return {}
    sub = last_purchase_subquery()
    q = (select(Customer.status, sub.c.last).outerjoin(sub, sub.c.customer_id == Customer.id)
         .where(Customer.status != "disqualified"))
    today = app.now().date()
    out = {k: 0 for k in rules.STABILITIES}
    with app.db.read() as s:
        for status, last in s.execute(q.execution_options(yield_per=5000)):
            out[rules.stability(status, last, today, st.lost_after_months)] += 1
    return out


def churn_warnings(app: App, label: str | None = None) -> list[dict]:
    """Customers whose usage fell by at least ``[churn].warn_drop_pct`` % against the base period
    (the same period a year before, or the period before): two aggregates."""
    ch = app.policy.churn
    if ch is None:
        raise RuleViolation("this policy has no churn warning ([churn])")
    today = app.now().date()
    try:
        per = parse_label(label.strip(), ch.period) if label else last_completed(ch.period, today)
    except ValueError as exc:
        raise InvalidInput(f"--label: {exc}") from None
    base = per.shifted(years=-1) if ch.compare == "same_period_last_year" else per.previous()
    out = []
    with app.db.read() as s:
        pop = covered_customers(s, _Watch(ch.applies_to))
        this = period_sums(s, per.start, per.end)
        before = period_sums(s, base.start, base.end)
        names = {}
        for cid in pop.ids:
            b = before.get(cid)
            t = this.get(cid) or 0.0
            if rules.churn_warning(t, b, ch.warn_drop_pct):
                out.append((cid, t, b))
        ids = [cid for cid, _t, _b in out]
        for i in range(0, len(ids), 500):
            for cid, code, name in s.execute(select(Customer.id, Customer.code, Customer.name)
                                             .where(Customer.id.in_(ids[i:i + 500]))):
                names[cid] = (code, name)
    rows = [{"customer": names[cid][0], "name": names[cid][1], "label": per.label, "base_label": base.label,
             "volume": t, "base_volume": b, "drop_pct": rules.drop_pct(t, b)} for cid, t, b in out]
    rows.sort(key=lambda r: (-r["drop_pct"], r["customer"]))
    return rows


@dataclass
class _Watch:
    """A scale-like view of a bare condition, for ``covered_customers``."""

    applies_to: Any
    fixed: list = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# Allocation priority (petrochem Art. 3, 10)


def allocation_priority(app: App, label: str | None = None) -> list[dict]:
    """Exclusive agents and distributors (the policy's groups) in the order scarce product goes to
    them: by group priority, then plan completion rate and evenness of weekly volume (coefficient of
    variation, lower = more even).  A few aggregates; no query per customer."""
    pol = app.policy
    al = pol.reports.allocation if pol.reports else None
    if al is None:
        raise RuleViolation("this policy has no allocation report ([reports.allocation])")
    today = app.now().date()
    try:
        per = parse_label(label.strip()) if label else last_completed("month", today)
    except ValueError as exc:
        raise InvalidInput(f"--label: {exc}") from None
    seg = pol.segment(al.segment)
    group_col = Customer.segments[al.segment].as_string()
    months = []
    m = per.start
    while m < per.end:
        months.append(f"{m.year:04d}-{m.month:02d}")
        m = period_starting("month", m).end
    with app.db.read() as s:
        people = s.execute(select(Customer.id, Customer.code, Customer.name, group_col)
                           .where(Customer.status == "active", group_col.in_(list(al.priority)))).all()
        planned = dict(s.execute(select(SalesPlan.customer_id, func.sum(SalesPlan.qty))
                                 .where(SalesPlan.month.in_(months)).group_by(SalesPlan.customer_id)).all())
        actual = period_sums(s, per.start, per.end)
        daily: dict[int, dict[date, float]] = {}
        if al.rank_by_evenness:
            q = (_range(select(UsageRecord.customer_id, UsageRecord.day, func.sum(UsageRecord.qty)), per.start, per.end)
                 .join(Customer, Customer.id == UsageRecord.customer_id)
                 .where(Customer.status == "active", group_col.in_(list(al.rank_by_evenness)))
                 .group_by(UsageRecord.customer_id, UsageRecord.day))
            for cid, day, qty in s.execute(q):
                daily.setdefault(cid, {})[day] = qty
    even = set(al.rank_by_evenness or [])
    rows = []
    for cid, code, name, group in people:
        done = actual.get(cid) or 0.0
        plan = planned.get(cid)
        cv = None
        if group in even:
            cv = rules.coefficient_of_variation(rules.weekly_volumes(daily.get(cid, {}), per.start, per.end))
        rows.append({"customer": code, "name": name, "group": group, "group_label": seg.values.get(group, group),
                     "planned": plan, "actual": done, "completion_pct": rules.completion_rate(done, plan),
                     "weekly_cv": cv})
    ordered = rules.allocation_order(rows, al.priority, al.rank_by_completion, al.rank_by_evenness)
    return [{"rank": i, "label": per.label, **r} for i, r in enumerate(ordered, start=1)]


# ----------------------------------------------------------------------------------------------
# crmctl demo


DEMO_REVIEWS = 4  # consecutive periods graded by the demo (a step limit needs several reviews)


def _demo_price_range(policy) -> tuple[float, float] | None:
    """Unit prices for demo amounts: inside the bands of a ``spread`` factor, if the policy has one."""
    for sc in _rank_scales(policy).values():
        for f in sc.factors.values():
            if f.source == "spread" and f.bands:
                lo = f.bands[0].min
                hi = f.bands[-1].max if f.bands[-1].max is not None else f.bands[-1].min * 1.5
                return max(lo, 0.01), hi
    return None


def _demo_target(rng, scale) -> float:
    """A metric value inside a randomly chosen band, so that every grade of a threshold scale occurs."""
    b = rng.choice(scale.bands)
    hi = b.max if b.max is not None else max(b.min * 1.6, b.min + 1)
    return rng.uniform(b.min, hi) * 0.97 if b.max is not None else rng.uniform(b.min * 1.02, hi)


def demo_step(app: App, rng) -> Iterator[str]:
    """What ``crmctl demo`` does for grading on a freshly imported database: 18 months of volumes (more
    when a rank scale compares with last year), manual scores, monthly sales plans, then every scale
    graded for its last completed periods; one summary line per stage.  Generic over the policy."""
    from dateutil.relativedelta import relativedelta

    from .volumes import _insert_sql, plan_applies

    pol = app.policy
    scales = _scales(pol)
    if not scales and pol.stability is None and pol.churn is None and pol.sales_plans is None:
        return
    now = app.now()
    today = now.date()
    reviews: dict[str, list[Period]] = {}
    for code, sc in scales.items():
        last = last_completed(sc.periods[0], today)
        reviews[code] = [last.shifted(periods=-k) for k in range(DEMO_REVIEWS - 1, -1, -1)]
    start = period_containing("month", today - relativedelta(months=18)).start
    for code, sc in scales.items():
        if sc.method == "rank":
            start = min(start, reviews[code][-1].shifted(years=-1).start)
    for code in reviews:
        reviews[code] = [p for p in reviews[code] if p.start >= start]
    months = []
    m = start
    while m <= today:
        months.append(m)
        m = m + relativedelta(months=1)
    price = _demo_price_range(pol)
    lost_after = pol.stability.lost_after_months if pol.stability else None
    with app.db.write() as s:
        people = s.execute(select(Customer.id, Customer.segments, Customer.fields, Customer.created_at)
                           .where(Customer.status == "active").order_by(Customer.id)).all()
        rows: list[tuple] = []
        plans: list[dict] = []
        iso = app.db.is_sqlite
        for cid, segs, flds, created in people:
            segs, flds = segs or {}, flds or {}
            level = None  # monthly volume
            for code, sc in scales.items():
                if not rules.matches(sc.applies_to, segments=segs, fields=flds, status="active"):
                    continue
                if sc.method == "rank":
                    level = 10 ** rng.uniform(4.5, 6.4)  # m³ a month: yearly volume across the factor bands
                else:
                    target = _demo_target(rng, sc)
                    per_months = reviews[code][-1].months if reviews[code] else 1
                    level = target / (1.1 if getattr(sc, "aggregate", "sum") == "max_month" else per_months)
                break
            if level is None:
                level = 10 ** rng.uniform(1, 3)
            trend = rng.uniform(0.7, 1.4)  # this year against last year (growth)
            stop = None
            r = rng.random()
            if lost_after and r < 0.06:
                continue  # never bought: a potential customer
            if lost_after and r < 0.16:
                stop = today - relativedelta(months=lost_after + rng.randrange(0, 3), days=rng.randrange(1, 20))
            unit = price and rng.uniform(*price)
            first = max(start, created.astimezone(app.tz).date() - relativedelta(months=12))
            for i, mon in enumerate(months):
                if mon < first.replace(day=1):
                    continue
                season = 1 + 0.2 * rng.uniform(0.5, 1.0) * (1 if mon.month in (11, 12, 1, 2) else -0.3)
                age = (len(months) - 1 - i) / 12.0
                month_total = level * season * (trend ** -min(age, 1.0)) * rng.uniform(0.85, 1.15)
                end = (mon + relativedelta(months=1))
                n = rng.randint(2, 5)
                days = (min(end, today + relativedelta(days=1)) - mon).days
                if days <= 0:
                    continue
                for _ in range(n):
                    day = mon + relativedelta(days=rng.randrange(days))
                    if stop is not None and day > stop:
                        continue
                    q = round(month_total / n, 2)
                    amt = round(q * unit * rng.uniform(0.95, 1.05), 2) if unit and rng.random() < 0.9 else None
                    rows.append((cid, day.isoformat() if iso else day, q, None, amt, None))
                if pol.sales_plans is not None and plan_applies(pol, segs, flds) and mon < today.replace(day=1):
                    plans.append({"customer_id": cid, "month": f"{mon.year:04d}-{mon.month:02d}",
                                  "qty": round(month_total * rng.uniform(0.8, 1.3), 1), "set_at": now,
                                  "set_by": app.actor.login})
        conn = s.connection()
        sql = _insert_sql(conn)
        for i in range(0, len(rows), 20_000):
            conn.exec_driver_sql(sql, rows[i:i + 20_000])
        for i in range(0, len(plans), 5_000):
            s.execute(insert(SalesPlan), plans[i:i + 5_000])
        # manual factors of rank scales, for the first graded label (they carry over)
        scored = 0
        score_rows = []
        for code, sc in _rank_scales(pol).items():
            manual = [k for k, f in sc.factors.items() if f.source == "manual"]
            if not manual or not reviews[code]:
                continue
            label = reviews[code][0].label
            for cid, segs, flds, _created in people:
                if rules.matches(sc.applies_to, segments=segs or {}, fields=flds or {}, status="active") \
                        and rng.random() < 0.75:
                    scored += 1
                    score_rows += [{"customer_id": cid, "scale": code, "label": label, "factor": k,
                                    "value": rng.randint(3, 9), "set_at": now, "set_by": app.actor.login}
                                   for k in manual]
        for i in range(0, len(score_rows), 5_000):
            s.execute(insert(FactorScore), score_rows[i:i + 5_000])
        audit.record(s, app, "volume.demo", "usage_record", "demo", at=now,
                     after={"records": len(rows), "plans": len(plans), "scored": scored})
    if rows:
        yield (f"volumes:  {len(rows)} usage records ({pol.policy.volume_unit_label}) for {len(people)} active "
               f"customers, {months[0]:%Y-%m} to {today:%Y-%m}")
    if scored:
        yield f"scores:   manual factors scored for {scored} customers (the others count the policy's default)"
    if plans:
        yield f"plans:    {len(plans)} monthly sales plans"
    for code, sc in scales.items():
        done = []
        for per in reviews[code]:
            summary = grade_customers(app, per.kind, per.label, code, reassign=True)[0]
            done.append(per.label)
        if not done:
            continue
        counts = ", ".join(f"{g} {n}" for g, n in reversed(list(summary["counts"].items())))
        yield (f"grading:  {code} {', '.join(done)}: {summary['graded']} graded in {summary['label']} ({counts}); "
               f"{summary['reassigned']} moved to the keeper their grade needs")
    if pol.stability is not None:
        st = stability_counts(app)
        yield "stability: " + ", ".join(f"{k} {v}" for k, v in st.items())
    if pol.churn is not None:
        warned = churn_warnings(app)
        yield f"churn:    {len(warned)} customers used ≥ {pol.churn.warn_drop_pct}% less than the base period"
