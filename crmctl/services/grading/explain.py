"""``grade explain`` and ``grade history``: a customer's stored results, and why each grade.

A threshold result stores only what its band does not say (:class:`crmctl.rules.grading.GradeNote`);
the whole sentence is written here from the stored metric and the scale of the policy version that
graded it (every version of the policy is kept).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, func, select

from ...errors import InvalidInput, NotFound, RuleViolation
from ...i18n import _
from ...models import Customer, CustomerGrade, GradeResult, GradeRun, UsageRecord
from ...rules import grading as rules
from ...rules.errors import Invalid
from ...rules.periods import parse_label
from ..app import App
from ..visibility import readable_customer
from ..volume_totals import customer_sum, in_period
from .labels import customer_results, label_key


def _scale_for_customer(app: App, s, c: Customer, scale: str | None) -> str:
    scales = app.policy.grading.scales
    if not scales:
        raise RuleViolation(_("this policy has no grading scales"))
    if scale is not None:
        if scale not in scales:
            raise InvalidInput(_("unknown scale '{scale}': the policy has {scales}").format(
                scale=scale, scales=", ".join(scales)))
        return scale
    graded = sorted({r.scale for r in s.scalars(customer_results(s, c.id))})
    if len(graded) == 1:
        return graded[0]
    if len(graded) > 1:
        raise InvalidInput(_("customer {code} is graded on several scales ({scales}): give --scale").format(
            code=c.code, scales=", ".join(sorted(graded))))
    covering = [code for code, sc in scales.items() if rules.matches(sc.applies_to, segments=c.segments or {},
                                                                      fields=c.fields or {}, status=c.status)]
    if len(covering) == 1:
        return covering[0]
    if not covering:
        raise RuleViolation(_("no grading scale of the policy covers customer {code}").format(code=c.code))
    raise InvalidInput(_("several scales cover customer {code} ({scales}): give --scale").format(
        code=c.code, scales=", ".join(covering)))


def explain(app: App, code: str, label: str | None = None, scale: str | None = None) -> dict:
    """``grade explain``: the stored result of one customer for one label, and why."""
    with app.db.read() as s:
        c = readable_customer(s, app, code, _("the grades of customer {code}").format(code=code))
        sc_code = _scale_for_customer(app, s, c, scale)
        q = customer_results(s, c.id, sc_code)
        if label:
            try:
                label = parse_label(label.strip()).label  # as stored, also when typed 2026年下半年
            except Invalid as exc:
                raise exc.within("--label") from None
            r = s.scalars(q.where(GradeResult.label == label.strip())).first()
            if r is None:
                raise NotFound(_("customer {code} has no {scale} grade for {label} (run 'crmctl grade run' first)")
                               .format(code=c.code, scale=sc_code, label=label))
        else:
            found = s.scalars(q).all()
            if not found:
                raise NotFound(_("customer {code} has not been graded on {scale} yet (run 'crmctl grade run')")
                               .format(code=c.code, scale=sc_code))
            r = max(found, key=lambda x: label_key(x.label))
        run = s.scalars(select(GradeRun).where(GradeRun.scale == sc_code, GradeRun.label == r.label)
                        .order_by(GradeRun.id.desc()).limit(1)).first()
        per = parse_label(r.label)
        metrics = dict(r.metrics or {})
        this = customer_sum(s, c.id, per.start, per.end)
        if "growth_pct" not in metrics:
            last = per.shifted(years=-1)
            metrics["growth_pct"] = rules.growth_pct(this, customer_sum(s, c.id, last.start, last.end))
        sc = app.policy.grading.scales.get(sc_code)
        if sc is not None and getattr(sc, "aggregate", "sum") == "max_month" and "best_month" not in metrics:
            month = func.substr(cast(UsageRecord.day, String), 1, 7)
            best = s.execute(in_period(select(month, func.sum(UsageRecord.qty)), per.start, per.end)
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
        from ...models import PolicyVersion
        from ...policies import parse_policy

        row = session.scalars(select(PolicyVersion).where(PolicyVersion.version == version)).first()
        cache[version] = parse_policy(row.text, f"policy version {version}") if row else None
    return cache[version]


def _reason(app: App, session, scale_code: str, r: GradeResult, cache: dict) -> str:
    """The stored reason, completed for threshold results (which store only what the band does not
    say) from the metric and the scale of the policy version that graded them.  A
    :class:`crmctl.errors.Msg` where the text is in a known form (it *is* the English text: JSON and
    CSV show that; the views show it in the user's language, ``crmctl.views.grading``)."""
    pol = _policy_of_version(app, session, r.policy_version, cache)
    sc = pol.grading.scales.get(scale_code) if pol is not None else None
    if sc is None or sc.method != "threshold":
        return rules.reason_from_text(r.reason)
    value = (r.metrics or {}).get("volume") or 0.0
    return rules.threshold_reason(sc, value, r.reason or None, pol.policy.volume_unit)


#: the keys of a row of ``grade history`` (its csv header, with rows or without)
GRADE_HISTORY_KEYS = ("customer", "scale", "label", "grade", "previous", "volume", "score", "rank",
                      "policy_version", "graded_at", "graded_by", "reason")


def history(app: App, code: str, scale: str | None = None) -> list[dict]:
    """``grade history``: one row per graded label, oldest first."""
    with app.db.read() as s:
        c = readable_customer(s, app, code, _("the grades of customer {code}").format(code=code))
        scales = app.policy.grading.scales
        if scale is not None and scale not in scales:
            raise InvalidInput(_("unknown scale '{scale}': the policy has {scales}").format(
                scale=scale, scales=", ".join(scales) or _("none")))
        results = s.scalars(customer_results(s, c.id, scale)).all()
        policies: dict[int, Any] = {}
        reasons = {id(r): _reason(app, s, r.scale, r, policies) for r in results}
        runs: dict[tuple[str, str], tuple] = {}
        for sc, lb, at, actor in s.execute(select(GradeRun.scale, GradeRun.label, GradeRun.finished_at, GradeRun.actor)
                                           .order_by(GradeRun.id)):
            runs[(sc, lb)] = (at, actor)  # the latest run of a label made its results
    results = sorted(results, key=lambda r: (r.scale, label_key(r.label)))
    out = []
    for r in results:
        at, actor = runs.get((r.scale, r.label), (None, None))
        out.append({"customer": c.code, "scale": r.scale, "label": r.label, "grade": r.grade, "previous": r.previous,
                    "volume": (r.metrics or {}).get("volume"), "score": r.score, "rank": r.rank,
                    "policy_version": r.policy_version, "graded_at": at.astimezone(app.tz) if at else None,
                    "graded_by": actor, "reason": reasons[id(r)]})
    return out
