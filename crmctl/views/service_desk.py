"""How complaints, service tickets and proposals are listed: headings, short date-times, yes/no."""

from __future__ import annotations

from ..i18n import N_
from . import Column, money, yes_no


def fmt_dt(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def fmt_duration(value) -> str:
    """A deadline's duration as stored (``3 working days``) in the current language (3 个工作日); what
    is not a duration stays as it is."""
    from ..i18n import text
    from ..rules.durations import duration_text, parse_duration
    from ..rules.errors import RuleError

    try:
        return text(duration_text(parse_duration(value)))
    except (RuleError, TypeError, ValueError):
        return value


def fmt_bool(value) -> str:
    """yes/no (是/否) in the current language; empty for None."""
    return "" if value is None else yes_no(bool(value))


def complaint_columns(app) -> list[Column]:
    sev = app.policy.complaints.severities if app.policy.complaints else {}
    return [
        Column("id", N_("No.")), Column("customer", N_("Customer")),
        Column("severity", N_("Severity"), table_format=lambda v: sev.get(v, v)),
        Column("opened_at", N_("Opened at"), table_format=fmt_dt), Column("due_at", N_("Due"), table_format=fmt_dt),
        Column("closed_at", N_("Closed at"), table_format=fmt_dt), Column("status", N_("Status")),
        Column("overdue", N_("Overdue"), table_format=fmt_bool),
        Column("satisfied", N_("Satisfied"), table_format=fmt_bool),
        Column("owner", N_("Owner")),
    ]


def ticket_columns(app) -> list[Column]:
    pol = app.policy.service
    kinds = pol.kinds if pol else {}
    locs = pol.locations if pol else {}
    cols = [Column("id", N_("No.")), Column("customer", N_("Customer")),
            Column("kind", N_("Type"), table_format=lambda v: kinds.get(v, v))]
    if locs:
        cols.append(Column("location", N_("Area"), table_format=lambda v: locs.get(v, v)))
    if pol and pol.service_types:
        cols.append(Column("service_type", N_("Service type")))
    cols += [Column("opened_at", N_("Opened at"), table_format=fmt_dt),
             Column("respond_by", N_("Respond by"), table_format=fmt_dt),
             Column("arrive_by", N_("Arrive by"), table_format=fmt_dt),
             Column("resolve_by", N_("Resolve by"), table_format=fmt_dt),
             Column("technician", N_("Technician")), Column("status", N_("Status")),
             Column("overdue", N_("Overdue"), table_format=fmt_bool)]
    return cols


def proposal_columns(app) -> list[Column]:
    cats = app.policy.proposals.categories if app.policy.proposals else {}
    return [Column("id", N_("No.")), Column("customer", N_("Customer")),
            Column("category", N_("Category"), table_format=lambda v: cats.get(v, v)),
            Column("summary", N_("Summary")), Column("opened_at", N_("Opened at"), table_format=fmt_dt),
            Column("due_at", N_("Reply due"), table_format=fmt_dt),
            Column("closed_at", N_("Replied"), table_format=fmt_dt),
            Column("outcome", N_("Outcome")), money("saving", N_("Cost saving")),
            Column("overdue", N_("Overdue"), table_format=fmt_bool)]
