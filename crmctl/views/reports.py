"""How each report is shown: headings for its fields, the title, one table per section, the chart.

A report's data (``crmctl.services.reports``) is keyed by its fields; its view is registered here
under the same name with :func:`_view`: ``titles(app)`` gives the heading (or a whole
:class:`~crmctl.views.Column`) per field key, ``present(app, params, result)`` the title, the
sections (section -> (table title, the keys shown there)), the columns of a table without
sections, and the chart.  A test keeps the two registries' names equal.

Titles, section titles, chart titles and headings are English message ids shown in the user's
language (issue 17: ``--lang``, the policy's language); they are translated here, when the view is
built for a command (the language is known by then), so ``crmctl.output`` shows them as they are
(its ``_(title)`` of a heading changes nothing that is translated already).  The policy's own labels
(grades, segments, statuses) are shown as they are, in every language; a unit is its label in
Chinese (吨), its code in English (t).  CSV and JSON keys never change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..i18n import N_, _, ngettext
from ..i18n import _ as gettext
from . import ChartSpec, Column, columns_for, labeller, yes_no

# Words for codes of crmctl's own (not the policy's), translated when a view is built
_OUTCOMES = {"adopted": N_("Adopted"), "rejected": N_("Not adopted"), "open": N_("Being handled")}
_CLOCKS = {"respond": N_("Response"), "arrive": N_("Arrival"), "resolve": N_("Resolution")}
_DIRECTIONS = {"up": N_("Moved up"), "down": N_("Moved down")}


def _words(table: dict[str, str]) -> dict[str, str]:
    return {k: gettext(v) for k, v in table.items()}


@dataclass
class ReportView:
    columns: list[Column]
    title: str | None = None
    sections: dict[str, tuple[str, list[str]]] | None = None  # section -> (table title, column keys)
    table_columns: list[str] | None = None  # a table without sections shows only these (None: every column)
    chart: ChartSpec | None = None
    #: more charts drawn only in an xlsx workbook (one sheet each), e.g. satisfaction against its target
    workbook_charts: list[ChartSpec] = field(default_factory=list)


@dataclass(frozen=True)
class _Spec:
    titles: Callable[[Any], dict]  # app -> field key -> heading (or a whole Column)
    present: Callable[[Any, Any, Any], dict]  # (app, params, result) -> ReportView's other fields


VIEWS: dict[str, _Spec] = {}


def _view(name: str, titles: Callable[[Any], dict]):
    def deco(present):
        VIEWS[name] = _Spec(titles, present)
        return present

    return deco


def report_columns(app, result) -> list[Column]:
    """The display columns of a report's fields."""
    return columns_for(result.columns, VIEWS[result.name].titles(app))


def report_view(app, params, result) -> ReportView:
    """Everything a table (and chart) of ``result`` needs; a report that does not apply gets its
    columns only."""
    cols = report_columns(app, result)
    if not result.applies:
        return ReportView(cols)
    return ReportView(cols, **VIEWS[result.name].present(app, params, result))


# ----------------------------------------------------------------------------------------------
# Shared headings


def _num(key: str, title: str, kind: str, decimals: int | None = None) -> Column:
    """A number column: thousands separators and fixed decimals in tables (``count`` 0, ``qty``
    and ``money`` 2, ``pct`` 1 and %), right-aligned; json/csv keep the number."""
    return Column(key, title, number=kind, decimals=decimals)


def _scale_labels(app) -> dict[str, str]:
    return {c: sc.label for c, sc in app.policy.grading.scales.items()}


def _grade_labels(scales) -> dict[str, str]:
    out: dict[str, str] = {}
    for sc in scales.values():
        out.update({g.code: g.label for g in sc.grades})
    return out


def _rank_scales(app) -> dict:
    return {c: sc for c, sc in app.policy.grading.scales.items() if sc.method == "rank"}


def _unit(app) -> str:
    """The policy's unit in a heading: 吨 in Chinese, t in English."""
    from .grading import unit_text

    return unit_text(app.policy)


def _by_grade(scale_label: str) -> str:
    return _("By customer grade ({scale})").format(scale=scale_label)


# ----------------------------------------------------------------------------------------------
# customers


def _customer_titles(app) -> dict:
    return {c.key: c for c in _customer_columns(app)}


def _customer_columns(app) -> list[Column]:
    from .customers import customer_columns

    return customer_columns(app)


@_view("customers", _customer_titles)
def _customers(app, params, result) -> dict:
    narrow = [c.key for c in result.columns if not c.key.startswith("fields.") and c.key != "created_at"]
    return {"title": _("Customer register"), "table_columns": narrow}


# ----------------------------------------------------------------------------------------------
# grades, grade-changes, big-customers


def _grades_titles(app) -> dict:
    scales = app.policy.grading.scales
    return {"scale": Column("scale", _("Scale"), table_format=labeller(_scale_labels(app))), "label": _("Period"),
            "grade": Column("grade", _("Grade"), table_format=labeller(_grade_labels(scales))),
            "customers": _num("customers", _("Customers"), "count"), "share_pct": _num("share_pct", _("Share %"), "pct"),
            "previous_label": _("Previous period"),
            "previous_customers": _num("previous_customers", _("Customers in previous period"), "count"),
            "change": _num("change", _("Change"), "count")}


@_view("grades", _grades_titles)
def _grades(app, params, result) -> dict:
    scales = result.shown["scales"]
    labels = {c: {g.code: g.label for g in sc.grades} for c, sc in scales.items()}
    multi = len(scales) > 1
    chart = ChartSpec(
        _("Customers per grade"), unit=_("customers"),
        pick=lambda r: ((f"{scales[r['scale']].label} " if multi else "") + labels[r["scale"]].get(r["grade"], r["grade"]),
                        r["customers"]))
    return {"title": _("Customer grade distribution"), "chart": chart}


def _changes_titles(app) -> dict:
    grade = labeller(_grade_labels(app.policy.grading.scales))
    return {"scale": Column("scale", _("Scale"), table_format=labeller(_scale_labels(app))), "label": _("Period"),
            "customer": _("Customer code"), "name": _("Customer name"), "owner": _("Owner"),
            "previous": Column("previous", _("From grade"), table_format=grade),
            "grade": Column("grade", _("To grade"), table_format=grade),
            "direction": Column("direction", _("Direction"), table_format=labeller(_words(_DIRECTIONS))),
            "volume": _num("volume", _("Volume ({unit})").format(unit=_unit(app)), "qty")}


@_view("grade-changes", _changes_titles)
def _grade_changes(app, params, result) -> dict:
    return {"title": _("Customer grade changes")}


def _big_titles(app) -> dict:
    scales = _rank_scales(app)
    g = labeller(_grade_labels(scales))
    out = {"scale": Column("scale", _("Scale"), table_format=labeller({c: sc.label for c, sc in scales.items()})),
           "label": _("Period"), "rank": _num("rank", _("Place"), "count"), "customer": _("Customer code"),
           "name": _("Customer name"), "owner": _("Owner"), "grade": Column("grade", _("Level"), table_format=g),
           "previous": Column("previous", _("Previous level"), table_format=g),
           "score": _num("score", _("Weighted score"), "qty", 2),
           "volume": _num("volume", _("Usage ({unit})").format(unit=_unit(app)), "qty"),
           "growth_pct": _num("growth_pct", _("Growth %"), "pct"), "spread": _num("spread", _("Unit price"), "money")}
    for sc in scales.values():
        for k, f in sc.factors.items():
            out[f"factor_scores.{k}"] = _num(f"factor_scores.{k}", f.label, "qty", 2)
    return out


@_view("big-customers", _big_titles)
def _big_customers(app, params, result) -> dict:
    return {"title": _("Big customer ranking")}


# ----------------------------------------------------------------------------------------------
# stability


def _stability_titles(app) -> dict:
    st = app.policy.stability
    unit = _unit(app)
    sections = {"count": _("Customer stability"), "lost": _("Lost customers"), "churn": _("Churn warnings")}
    return {"section": Column("section", _("Category"), table_format=labeller(sections)),
            "stability": Column("stability", _("Stability"), table_format=labeller(st.labels.model_dump() if st else {})),
            "customers": _num("customers", _("Customers"), "count"), "customer": _("Customer code"),
            "name": _("Customer name"), "owner": _("Owner"), "last_purchase": _("Last purchase"),
            "days_since_purchase": _num("days_since_purchase", _("Days without purchase"), "count"),
            "label": _("Period"), "base_label": _("Base period"),
            "volume": _num("volume", _("Volume this period ({unit})").format(unit=unit), "qty"),
            "base_volume": _num("base_volume", _("Base period volume ({unit})").format(unit=unit), "qty"),
            "drop_pct": _num("drop_pct", _("Drop %"), "pct")}


@_view("stability", _stability_titles)
def _stability(app, params, result) -> dict:
    pol = app.policy
    label = result.period.label if result.period is not None else None
    labels = pol.stability.labels.model_dump() if pol.stability else {}
    sections = {
        "count": (_("Customer stability (now)"), ["stability", "customers"]),
        "lost": (_("Lost customers and their last purchase"),
                 ["customer", "name", "owner", "last_purchase", "days_since_purchase"]),
        "churn": (_("Churn warnings ({label})").format(label=label) if label else _("Churn warnings"),
                  ["customer", "name", "label", "base_label", "volume", "base_volume", "drop_pct"]),
    }
    chart = ChartSpec(_("Customer stability"), unit=_("customers"),
                      pick=lambda r: (labels.get(r["stability"], r["stability"]), r["customers"])
                      if r["section"] == "count" else None)
    return {"title": _("Customer stability analysis"), "sections": sections, "chart": chart}


# ----------------------------------------------------------------------------------------------
# complaints, service, technicians


def _complaint_titles(app) -> dict:
    pol = app.policy
    scales = pol.grading.scales
    keys = dict(pol.complaints.severities if pol.complaints else {})
    keys.update(_grade_labels(scales))
    sections = {"total": _("Total"), "severity": _("Severity"), "month": _("Month")}
    sections.update({f"grade.{c}": sc.label for c, sc in scales.items()})
    return {"label": _("Period"), "section": Column("section", _("Dimension"), table_format=labeller(sections)),
            "key": Column("key", _("Group"), table_format=labeller(keys)), "opened": _num("opened", _("Opened"), "count"),
            "closed": _num("closed", _("Closed"), "count"), "on_time": _num("on_time", _("Closed on time"), "count"),
            "late": _num("late", _("Closed late"), "count"),
            "open_overdue": _num("open_overdue", _("Open past deadline"), "count"),
            "on_time_pct": _num("on_time_pct", _("On-time rate %"), "pct"),
            "satisfied": _num("satisfied", _("Satisfied"), "count"),
            "unsatisfied": _num("unsatisfied", _("Unsatisfied"), "count"),
            "satisfaction_pct": _num("satisfaction_pct", _("Satisfaction %"), "pct"),
            "target_pct": _num("target_pct", _("Target %"), "pct"),
            "meets_target": Column("meets_target", _("Meets target"), table_format=yes_no)}


@_view("complaints", _complaint_titles)
def _complaints(app, params, result) -> dict:
    per = result.period
    counts = ["opened", "closed", "on_time", "late", "open_overdue", "on_time_pct", "satisfied", "unsatisfied",
              "satisfaction_pct", "target_pct", "meets_target"]
    sections = {"total": (_("Complaints in total ({label})").format(label=per.label), counts),
                "severity": (_("By severity"), ["key"] + counts)}
    for code, sc in app.policy.grading.scales.items():
        sections[f"grade.{code}"] = (_by_grade(sc.label), ["key"] + counts)
    months = result.shown["months"]
    sections["month"] = (ngettext("By month (last {n} month)", "By month (last {n} months)", months).format(n=months),
                         ["label"] + counts)
    chart = ChartSpec(_("Complaints closed on time (by month)"), unit="%", max_value=100.0,
                      pick=lambda r: (r["label"], r["on_time_pct"]) if r["section"] == "month" else None)
    cp = app.policy.complaints
    target = float(cp.satisfaction_target_pct) if cp is not None and cp.satisfaction_target_pct is not None else None
    satisfaction = ChartSpec(_("Satisfaction (by month)"), unit="%", max_value=100.0, target=target,
                             pick=lambda r: (r["label"], r["satisfaction_pct"]) if r["section"] == "month" else None)
    return {"title": _("Complaint handling statistics"), "sections": sections, "chart": chart,
            "workbook_charts": [satisfaction]}


def _service_titles(app) -> dict:
    sv = app.policy.service
    return {"label": _("Period"),
            "section": Column("section", _("Dimension"), table_format=labeller({"tickets": _("Tickets"),
                                                                                "clock": _("Clock")})),
            "kind": Column("kind", _("Category"), table_format=labeller(sv.kinds if sv else {})),
            "location": Column("location", _("Location"), table_format=labeller(sv.locations if sv else {})),
            "service_type": Column("service_type", _("Service type"),
                                   table_format=labeller(sv.service_types if sv else {})),
            "clock": Column("clock", _("Clock"), table_format=labeller(_words(_CLOCKS))),
            "opened": _num("opened", _("Opened"), "count"), "resolved": _num("resolved", _("Resolved"), "count"),
            "open": _num("open", _("Not resolved"), "count"), "overdue": _num("overdue", _("Overdue"), "count"),
            "due": _num("due", _("With deadline"), "count"), "met": _num("met", _("On time"), "count"),
            "missed": _num("missed", _("Late"), "count"), "running": _num("running", _("Running"), "count"),
            "on_time_pct": _num("on_time_pct", _("On-time rate %"), "pct")}


@_view("service", _service_titles)
def _service(app, params, result) -> dict:
    per = result.period
    sections = {"tickets": (_("Tickets ({label})").format(label=per.label),
                            ["kind", "location", "service_type", "opened", "resolved", "open", "overdue"]),
                "clock": (_("On-time rate per clock"), ["kind", "clock", "due", "met", "missed", "running", "on_time_pct"])}
    kinds = app.policy.service.kinds
    clocks = _words(_CLOCKS)
    chart = ChartSpec(_("Service clocks on time"), unit="%", max_value=100.0,
                      pick=lambda r: (f"{kinds.get(r['kind'], r['kind'])}·{clocks[r['clock']]}", r["on_time_pct"])
                      if r["section"] == "clock" else None)
    return {"title": _("Customer service statistics"), "sections": sections, "chart": chart}


def _technician_titles(app) -> dict:
    items = app.policy.service.rating_items if app.policy.service else {}
    out = {"label": _("Month"), "technician": _("Technician"), "name": _("Full name"),
           "resolved": _num("resolved", _("Tickets resolved"), "count"), "rated": _num("rated", _("Ratings"), "count"),
           "average": _num("average", _("Overall average"), "qty", 2)}
    out.update({f"ratings.{code}": _num(f"ratings.{code}", label, "qty", 2) for code, label in items.items()})
    return out


@_view("technicians", _technician_titles)
def _technicians(app, params, result) -> dict:
    return {"title": _("Technician monthly ratings ({label})").format(label=result.period.label)}


# ----------------------------------------------------------------------------------------------
# visits


def _visit_titles(app) -> dict:
    scales = app.policy.grading.scales
    sections = {"total": _("Total"), "owner": _("Owner")}
    sections.update({f"grade.{c}": sc.label for c, sc in scales.items()})
    return {"label": _("Month"), "section": Column("section", _("Dimension"), table_format=labeller(sections)),
            "owner": _("Owner"), "grade": Column("grade", _("Grade"), table_format=labeller(_grade_labels(scales))),
            "planned": _num("planned", _("Planned"), "count"), "done": _num("done", _("Done"), "count"),
            "missed": _num("missed", _("Missed (overdue)"), "count"), "open": _num("open", _("In progress"), "count"),
            "unplanned": _num("unplanned", _("Unplanned"), "count"),
            "compliance_pct": _num("compliance_pct", _("Completion %"), "pct")}


@_view("visits", _visit_titles)
def _visits(app, params, result) -> dict:
    per = result.period
    counts = ["planned", "done", "missed", "open", "unplanned", "compliance_pct"]
    sections = {"total": (_("Visit plan compliance ({label})").format(label=per.label), counts),
                "owner": (_("By owner"), ["owner"] + counts)}
    for code, sc in app.policy.grading.scales.items():
        sections[f"grade.{code}"] = (_by_grade(sc.label), ["grade"] + counts)
    nobody = _("(no owner)")
    chart = ChartSpec(_("Visit plan completion ({label}, by owner)").format(label=per.label), unit="%",
                      max_value=100.0,
                      pick=lambda r: (r["owner"] or nobody, r["compliance_pct"])
                      if r["section"] == "owner" and r["planned"] else None)
    return {"title": _("Visit plan execution"), "sections": sections, "chart": chart}


# ----------------------------------------------------------------------------------------------
# documents, allocation, proposals, development


def _document_titles(app) -> dict:
    sections = {"document": _("Expiring documents"), "missing": _("Missing documents"),
                "suspended": _("Suspended customers")}
    return {"section": Column("section", _("Category"), table_format=labeller(sections)),
            "customer": _("Customer code"), "name": _("Customer name"),
            "status": Column("status", _("Customer status"), table_format=labeller(app.policy.statuses.labels())),
            "owner": _("Owner"), "type": Column("type", _("Document"), table_format=labeller(app.policy.document_labels())),
            "number": _("Document number"), "expires": _("Valid until"),
            "days_left": _num("days_left", _("Days left"), "count"),
            "expired": Column("expired", _("Expired"), table_format=yes_no),
            "suspends": Column("suspends", _("Suspends"), table_format=yes_no), "status_reason": _("Suspension reason"),
            "status_since": _("Suspended since")}


@_view("documents", _document_titles)
def _documents(app, params, result) -> dict:
    days = result.shown["days"]
    expiring = ngettext("Documents expiring within {days} day or expired", "Documents expiring within {days} days or expired",
                        days).format(days=days)
    sections = {"document": (expiring, ["customer", "name", "status", "owner", "type", "number", "expires", "days_left",
                                        "expired", "suspends"]),
                "missing": (_("Required documents missing"), ["customer", "name", "status", "owner", "type", "suspends"]),
                "suspended": (_("Customers suspended"), ["customer", "name", "owner", "status_reason", "status_since"])}
    return {"title": _("Document validity check"), "sections": sections}


def _allocation_titles(app) -> dict:
    al = app.policy.reports.allocation
    groups: dict[str, str] = {}
    if al is not None:
        try:
            groups = dict(app.policy.segment(al.segment).values)
        except KeyError:
            groups = {}
    unit = _unit(app)
    return {"rank": _num("rank", _("Order"), "count"), "label": _("Period"), "customer": _("Customer code"),
            "name": _("Customer name"), "group": Column("group", _("Category"), table_format=labeller(groups)),
            "planned": _num("planned", _("Planned ({unit})").format(unit=unit), "qty"),
            "actual": _num("actual", _("Taken ({unit})").format(unit=unit), "qty"),
            "completion_pct": _num("completion_pct", _("Completion %"), "pct"),
            "weekly_cv": _num("weekly_cv", _("Weekly evenness (CV)"), "qty", 2)}


@_view("allocation", _allocation_titles)
def _allocation(app, params, result) -> dict:
    return {"title": _("Allocation priority ({label})").format(label=result.period.label)}


def _proposal_titles(app) -> dict:
    pr = app.policy.proposals
    cur = app.policy.policy.currency
    return {"label": _("Period"),
            "section": Column("section", _("Dimension"), table_format=labeller({"category": _("By category"),
                                                                                "adopted": _("Adopted proposals")})),
            "category": Column("category", _("Category"), table_format=labeller(pr.categories if pr else {})),
            "outcome": Column("outcome", _("Outcome"), table_format=labeller(_words(_OUTCOMES))),
            "proposals": _num("proposals", _("Proposals"), "count"), "overdue": _num("overdue", _("Past due"), "count"),
            "number": _("Proposal number"), "customer": _("Customer code"), "name": _("Customer name"),
            "saving": _num("saving", _("Cost saving ({currency})").format(currency=cur), "money"),
            "company_share": _num("company_share", _("Company share"), "money"),
            "customer_share": _num("customer_share", _("Customer share"), "money"),
            "shared_from": _("Shared from"), "shared_until": _("Shared until"),
            "company_alone_from": _("Company alone from"), "benefit_until": _("Benefit until")}


@_view("proposals", _proposal_titles)
def _proposals(app, params, result) -> dict:
    b = app.policy.proposals.benefit
    if b:
        adopted = ngettext("Benefit share of adopted proposals (company {company}% / customer {customer}%, {months} month)",
                           "Benefit share of adopted proposals (company {company}% / customer {customer}%, {months} months)",
                           b.months).format(company=f"{b.company_pct:g}", customer=f"{b.customer_pct:g}", months=b.months)
    else:
        adopted = _("Benefit share of adopted proposals")
    sections = {"category": (_("Proposals by category and outcome ({label})").format(label=result.period.label),
                             ["category", "outcome", "proposals", "overdue", "saving", "company_share", "customer_share"]),
                "adopted": (adopted, ["number", "customer", "name", "category", "saving", "company_share",
                                      "customer_share", "shared_from", "shared_until", "company_alone_from"])}
    return {"title": _("Customer proposal statistics"), "sections": sections}


def _development_titles(app) -> dict:
    return {"label": _("Period"), "manager": _("Customer manager"), "name": _("Full name"),
            "prospects_target": _num("prospects_target", _("Prospects target"), "count"),
            "prospects_added": _num("prospects_added", _("Prospects added"), "count"),
            "prospects_pct": _num("prospects_pct", _("Prospects completion %"), "pct"),
            "admitted_target": _num("admitted_target", _("Admission target"), "count"),
            "admitted": _num("admitted", _("Admitted"), "count"), "admitted_pct": _num("admitted_pct", _("Admission completion %"), "pct")}


@_view("development", _development_titles)
def _development(app, params, result) -> dict:
    return {"title": _("Market development against plan ({label})").format(label=result.period.label)}
