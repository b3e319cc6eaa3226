"""Service-desk reports: complaints against their deadlines and the satisfaction target (petrochem
Art. 12, gas-tiered Art. 22), service tickets against their clocks (gas-service Art. 7,
manufacturer 五.18), and the monthly technician ratings (manufacturer 五.24)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from ...fields import fields
from ...rules.periods import PERIODS, period_containing
from ._common import as_int, bounds, choose_period, pct, row, scales_of
from .registry import Params, ReportResult, report

# ----------------------------------------------------------------------------------------------
# complaints: opened, closed, on time, overdue, satisfaction against the target; by severity, grade, month

COMPLAINT_KEYS = ("label", "section", "key", "opened", "closed", "on_time", "late", "open_overdue", "on_time_pct",
                  "satisfied", "unsatisfied", "satisfaction_pct", "target_pct", "meets_target")


def _complaint_fields(app, params: Params):
    return fields(*COMPLAINT_KEYS)


def complaint_row(label: str, section: str, key: str | None, st: Mapping) -> dict:
    """One row of the complaints report from ``services.complaints.complaint_stats`` figures."""
    settled = st["on_time"] + st["late"] + st["open_overdue"]
    return {"label": label, "section": section, "key": key, "opened": st["opened"], "closed": st["closed"],
            "on_time": st["on_time"], "late": st["late"], "open_overdue": st["open_overdue"],
            "on_time_pct": pct(st["on_time"], settled), "satisfied": st["satisfied"],
            "unsatisfied": st["unsatisfied"], "satisfaction_pct": st["satisfaction_pct"],
            "target_pct": st["target_pct"], "meets_target": st["meets_target"]}


@report("complaints", order=50, columns=_complaint_fields, needs=("complaints",), periods=lambda p: PERIODS,
        summary="Complaints opened, closed, on time, overdue and satisfaction vs target, by severity, grade and month.",
        description="""
Complaints opened in the period (default: last month).
on_time_pct = on time / (on time + late + still open past the deadline).
The month rows cover the --months-back months ending with the period; the table view charts them.
""", options=("period", "label", "months", "chart"))
def complaints(app, params: Params) -> ReportResult:
    from ..complaints import complaint_stats

    per = choose_period(app, "complaints", params, PERIODS, "month")
    last_month = period_containing("month", per.end - timedelta(days=1))
    months = [last_month.shifted(periods=-i) for i in range(params.months - 1, -1, -1)]
    scales = scales_of(app)

    def rows():
        st = complaint_stats(app, per)
        yield complaint_row(per.label, "total", None, st["total"])
        for r in st["by_severity"]:
            yield complaint_row(per.label, "severity", r["severity"], r)
        for code, sc in scales.items():
            order = {g: i for i, g in enumerate(reversed(sc.grade_codes))}  # best grade first, ungraded last
            mine = sorted((r for r in st["by_grade"] if r["scale"] == code),
                          key=lambda r: order.get(r["grade"], len(order)))
            for r in mine:
                yield complaint_row(per.label, f"grade.{code}", r["grade"], r)
        for m in months:
            yield complaint_row(m.label, "month", m.label, complaint_stats(app, m)["total"])

    return ReportResult("complaints", _complaint_fields(app, params), rows(), period=per,
                        shown={"months": params.months})


# ----------------------------------------------------------------------------------------------
# service: tickets by kind and location; on-time rate per clock

SERVICE_KEYS = ("label", "section", "kind", "location", "service_type", "clock", "opened", "resolved", "open",
                "overdue", "due", "met", "missed", "running", "on_time_pct")


def _service_fields(app, params: Params):
    return fields(*SERVICE_KEYS)


@report("service", order=60, columns=_service_fields, needs=("service",), periods=lambda p: PERIODS,
        summary="Service tickets by kind and location, and the on-time rate of each clock.",
        description="""
Tickets opened in the period (default: last month).
A clock is met when its event (dispatch, arrival, resolution) came by its deadline,
missed when it came later or is still due past it.
""", options=("period", "label", "chart"))
def service(app, params: Params) -> ReportResult:
    from sqlalchemy import and_, case, func, select

    from ...models import ServiceTicket as T
    from ...rules import sla as sla_rules
    from ..tickets import clock_sql, overdue_clause

    per = choose_period(app, "service", params, PERIODS, "month")
    lo, hi = bounds(app, per)
    now = app.now()
    in_period = and_(T.opened_at >= lo, T.opened_at < hi)

    def rows():
        with app.db.read() as s:
            q = (select(T.kind, T.location, T.service_type, func.count(T.id),
                        func.sum(case((T.status == "resolved", 1), else_=0)),
                        func.sum(case((overdue_clause(now), 1), else_=0)))
                 .where(in_period).group_by(T.kind, T.location, T.service_type)
                 .order_by(T.kind, T.location, T.service_type))
            for kind, loc, stype, n, resolved, overdue in s.execute(q):
                yield row(SERVICE_KEYS, label=per.label, section="tickets", kind=kind, location=loc,
                          service_type=stype, opened=as_int(n), resolved=as_int(resolved),
                          open=as_int(n) - as_int(resolved), overdue=as_int(overdue))
            for clock in sla_rules.CLOCKS:
                due = getattr(T, sla_rules.CLOCK_DEADLINES[clock])
                state = clock_sql(clock, now)
                q = (select(T.kind, func.count(due), func.sum(case((state.met, 1), else_=0)),
                            func.sum(case((state.overdue, 1), else_=0)), func.sum(case((state.running, 1), else_=0)))
                     .where(in_period, due.is_not(None)).group_by(T.kind).order_by(T.kind))
                for kind, n, met, missed, running in s.execute(q):
                    yield row(SERVICE_KEYS, label=per.label, section="clock", kind=kind, clock=clock, due=as_int(n),
                              met=as_int(met), missed=as_int(missed), running=as_int(running),
                              on_time_pct=pct(met, as_int(met) + as_int(missed)))

    return ReportResult("service", _service_fields(app, params), rows(), period=per)


# ----------------------------------------------------------------------------------------------
# technicians: monthly ratings per technician on the policy's rating items (manufacturer part 五)


def _technician_fields(app, params: Params):
    items = app.policy.service.rating_items if app.policy.service else {}
    return (fields("label", "technician", "name", "resolved", "rated")
            + fields(*(f"ratings.{code}" for code in items)) + fields("average"))


@report("technicians", order=70, columns=_technician_fields, needs=("ratings",), periods=lambda p: ("month",),
        summary="Monthly ratings per technician on the rating items (attitude, skill, arrival, promise).",
        description="""
Average score of each item over the survey cards of the month, and the tickets each resolved.
""", options=("month", "label"))
def technicians(app, params: Params) -> ReportResult:
    from sqlalchemy import func, select

    from ...models import ServiceTicket, Staff
    from ..tickets import technician_ratings

    per = choose_period(app, "technicians", params, ("month",))
    items = list(app.policy.service.rating_items)
    lo, hi = bounds(app, per)

    def rows():
        ratings: dict[str, dict[str, tuple[int, float]]] = {}
        for r in technician_ratings(app, per.label):  # technicians × items: a few hundred rows
            ratings.setdefault(r["technician"], {})[r["item"]] = (r["ratings"], r["average"])
        with app.db.read() as s:
            resolved = dict(s.execute(select(Staff.login, func.count(ServiceTicket.id))
                                      .join(Staff, Staff.id == ServiceTicket.technician_id)
                                      .where(ServiceTicket.resolved_at >= lo, ServiceTicket.resolved_at < hi)
                                      .group_by(Staff.login)).all())
            names = {login: name for login, name in s.execute(
                select(Staff.login, Staff.name).where(Staff.login.in_(sorted(set(ratings) | set(resolved)))))}
        for login in sorted(set(ratings) | set(resolved)):
            got = ratings.get(login, {})
            avgs = {i: got[i][1] if i in got else None for i in items}
            present = [v for v in avgs.values() if v is not None]
            yield {"label": per.label, "technician": login, "name": names.get(login), "resolved": resolved.get(login, 0),
                   "rated": max((n for n, _a in got.values()), default=0), "ratings": avgs,
                   "average": round(sum(present) / len(present), 2) if present else None}

    return ReportResult("technicians", _technician_fields(app, params), rows(), period=per)
