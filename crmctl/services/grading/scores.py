"""Manual grading factors (gas-tiered Art. 8: credit, peak-shaving, influence, potential), scored
1-10 per customer per review label with ``score set``; a score holds for later labels of the same
period kind until it is re-scored, and a factor never scored counts as the policy's default.
"""

from __future__ import annotations

from sqlalchemy import select

from ...errors import InvalidInput, RuleViolation
from ...i18n import _
from ...models import FactorScore
from ...rules import grading as rules
from ...rules.errors import Invalid
from ...rules.periods import Period, detect_kind, parse_label
from .. import audit
from ..app import App
from ..lookups import get_customer


def rank_scales(policy) -> dict:
    """The policy's rank-graded scales (the ones with factors)."""
    return {code: sc for code, sc in policy.grading.scales.items() if sc.method == "rank"}


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
            except Invalid:
                kinds[label] = None
        if kinds[label] != per.kind:
            continue
        values.setdefault(cid, {})[factor] = value
        labels.setdefault(cid, {})[factor] = label
    return values, labels


def set_scores(app: App, code: str, label: str, pairs: dict[str, str], scale: str | None = None) -> dict:
    """``score set``: manual factors (1-10) of a rank scale for one review label."""
    pol = app.policy
    ranked = rank_scales(pol)
    if not ranked:
        raise RuleViolation(_("this policy has no rank-graded scale with manual factors"))
    if not pairs:
        raise InvalidInput(_("give at least one FACTOR=VALUE (1-10)"))
    if scale is not None:
        if scale not in ranked:
            known = ", ".join(ranked)
            raise InvalidInput(_("unknown scale '{scale}' (scales with manual factors: {known})").format(
                scale=scale, known=known))
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
            raise InvalidInput(_("unknown manual factor '{name}': {manual}").format(name=name, manual=manual))
        if len({h[0] for h in hits}) > 1:
            raise InvalidInput(_("factor '{name}' exists on several scales: give --scale").format(name=name))
        sc_code, f_code = hits[0]
        if chosen is not None and chosen != sc_code:
            raise InvalidInput(_("the factors belong to different scales: set them one scale at a time"))
        chosen = sc_code
        if f_code in values:
            raise InvalidInput(_("factor {factor} given twice").format(factor=f_code))
        values[f_code] = rules.parse_factor_value(text, f_code)
    sc = ranked[chosen]
    try:
        per = parse_label((label or "").strip())
    except Invalid as exc:
        raise exc.within("--label") from None
    if per.kind not in sc.periods:
        raise InvalidInput(_("--label {label} is a {kind}; scale {scale} is graded by {periods}").format(
            label=per.label, kind=per.kind, scale=chosen, periods=", ".join(sc.periods)))
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code)
        if not rules.matches(sc.applies_to, segments=c.segments or {}, fields=c.fields or {}, status=c.status):
            raise RuleViolation(_("scale {scale} does not cover customer {code}").format(scale=chosen, code=c.code))
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
