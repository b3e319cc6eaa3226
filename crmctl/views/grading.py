"""How grades are shown: ``grade explain`` and ``grade history`` with the policy's grade labels.

Headings are English message ids shown in the user's language (issue 17); the reason of a grade
(a :class:`crmctl.errors.Msg` built by ``crmctl.rules.grading``) is shown translated, with the
scale's grade labels in place of the grade codes and the policy's unit label in place of its code
(``t`` -> ``吨``) in Chinese: :func:`reason_text`.  JSON and plain CSV keep the English reason.
"""

from __future__ import annotations

from .. import i18n
from ..i18n import N_, _
from ..i18n import _ as translate

#: The metrics of ``grade explain`` (the keys of its JSON ``metrics``), named in Chinese (指标.用量);
#: English keeps the keys (Metrics.volume), which the JSON has too.
METRIC_NAMES = {"volume": N_("volume"), "total": N_("period total"), "growth_pct": N_("growth %"),
                "best_month": N_("best month"), "unit": N_("unit"), "selling_price": N_("selling price"),
                "purchase_price": N_("purchase price"), "manual": N_("manual scores"),
                "defaulted": N_("defaulted factors")}


def metric_title(metrics: str, key: str) -> str:
    if i18n.current() == "zh" and key in METRIC_NAMES:
        return f"{metrics}.{translate(METRIC_NAMES[key])}"
    return f"{metrics}.{key}"
from . import Column, count, qty


def grade_labels(policy, scale: str) -> dict[str, str]:
    sc = policy.grading.scales.get(scale)
    return {g.code: g.label for g in sc.grades} if sc else {}


def unit_labels(policy) -> dict[str, str]:
    """The policy's unit code -> its label (``t`` -> ``吨``; policies ``volume_unit`` and
    ``volume_unit_label``)."""
    return {policy.policy.volume_unit: policy.policy.volume_unit_label}


def unit_text(policy) -> str:
    """The policy's unit as the user reads it: its label in Chinese (吨, 升, 立方米), its code in
    English (t, L, m3)."""
    return i18n.label(policy.policy.volume_unit, unit_labels(policy))


def reason_text(policy, scale: str, reason) -> str:
    """A grade's reason in the user's language: in Chinese the grade codes (``grade``, ``base``) as the
    scale's grade labels, the factor codes as the factors' labels and the unit as the policy's unit
    label; in English the message as it is (codes, ``t``).  A reason in no known form stays as it is."""
    from ..rules.grading import relabel

    sc = policy.grading.scales.get(scale)
    grades = {g.code: g.label for g in sc.grades} if sc else {}
    factors = {k: f.label for k, f in (getattr(sc, "factors", None) or {}).items()}
    maps = {"grade": grades, "base": grades, "unit": unit_labels(policy), "factor": factors}

    def show(name, value):
        return i18n.label(value, maps[name]) if name in maps and isinstance(value, str) else value

    return i18n.text(relabel(reason, show))


def explain_fields(app, data: dict) -> list[Column]:
    labels = grade_labels(app.policy, data["scale"])
    units = unit_labels(app.policy)

    def show(v):
        return f"{labels.get(v, v)} ({v})" if v else "-"

    def reason(v):
        return reason_text(app.policy, data["scale"], v)

    def unit(v):
        return i18n.label(v, units)

    metrics = _("Metrics")
    metric_fields = [Column(f"metrics.{k}", metric_title(metrics, k), table_format=unit if k == "unit" else None)
                     for k in (data.get("metrics") or {})] or [Column("metrics", metrics)]
    fields = [Column("customer", _("Customer")), Column("name", _("Name")), Column("scale", _("Scale")),
              Column("label", _("Period")), Column("grade", _("Grade"), table_format=show),
              Column("previous", _("Previous grade"), table_format=show), *metric_fields,
              Column("factor_scores", _("Factor scores")), Column("score", _("Weighted score")),
              Column("rank", _("Rank")), Column("reason", _("Reason"), table_format=reason),
              Column("current_grade", _("Current grade"), table_format=show),
              Column("graded_at", _("Graded at")), Column("graded_by", _("Graded by"))]
    if data["factor_scores"] is None:
        fields = [f for f in fields if f.key not in ("factor_scores", "score", "rank")]
    return fields


def history_columns(app) -> list[Column]:
    labels = {sc: {g.code: g.label for g in s.grades} for sc, s in app.policy.grading.scales.items()}

    def fmt(v):
        return next((lb[v] for lb in labels.values() if v in lb), v)

    return [Column("scale", _("Scale")), Column("label", _("Period")), Column("grade", _("Grade"), table_format=fmt),
            Column("previous", _("Previous grade"), table_format=fmt),
            qty("volume", _("Volume ({unit})").format(unit=unit_text(app.policy))),
            qty("score", _("Score"), 2), count("rank", _("Rank")),
            Column("graded_at", _("Graded at")), Column("graded_by", _("Graded by"))]
