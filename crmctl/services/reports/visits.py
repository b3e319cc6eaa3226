"""Visit-plan compliance (petrochem Art. 11, fuel-retail Art. 11, gas-tiered Art. 22): activities
planned, done and missed in a month, per owner and per grade."""

from __future__ import annotations

from ...fields import fields
from ...rules.cadence import missed_before
from ._common import as_int, choose_period, pct, row, scales_of
from .registry import Params, ReportResult, report

KEYS = ("label", "section", "owner", "grade", "planned", "done", "missed", "open", "unplanned", "compliance_pct")


def _fields(app, params: Params):
    return fields(*KEYS)


def _counts():
    from sqlalchemy import and_, case, func

    from ...models import Activity as A

    planned = A.planned_by.is_not(None)
    waiting = func.sum(case((and_(planned, A.status == "planned"), 1), else_=0))
    return (func.sum(case((planned, 1), else_=0)).label("planned"),
            func.sum(case((and_(planned, A.status == "done"), 1), else_=0)).label("done"),
            waiting.label("waiting"),
            func.sum(case((and_(A.planned_by.is_(None), A.status == "done"), 1), else_=0)).label("unplanned"))


def _row(per, section: str, month_over: bool, r, **keys) -> dict:
    planned, done, waiting = as_int(r.planned), as_int(r.done), as_int(r.waiting)
    return row(KEYS, label=per.label, section=section, planned=planned, done=done,
               missed=waiting if month_over else 0, open=0 if month_over else waiting, unplanned=as_int(r.unplanned),
               compliance_pct=pct(done, planned), **keys)


@report("visits", order=80, columns=_fields, needs=("cadences",), periods=lambda p: ("month",),
        summary="Visits and other activities planned, done and missed per owner and per grade for a month.",
        description="""
compliance_pct = planned activities done / planned; missed = still planned when the month is over.
The table view charts compliance per owner.
""", options=("month", "label", "owner", "chart"))
def visits(app, params: Params) -> ReportResult:
    from sqlalchemy import and_, select

    from ...models import Activity as A
    from ...models import CustomerGrade, Staff
    from ..lookups import find_staff

    per = choose_period(app, "visits", params, ("month",))
    month_over = per.end <= missed_before(app.now().date())  # every planned one still open was missed
    in_month = and_(A.due_date >= per.start, A.due_date < per.end)
    owner_id = None
    if params.owner:
        with app.db.read() as s:
            owner_id = find_staff(s, params.owner, active_only=False).id
    where = [in_month] + ([A.owner_id == owner_id] if owner_id is not None else [])
    scales = scales_of(app)

    def rows():
        with app.db.read() as s:
            total = s.execute(select(*_counts()).where(*where)).one()
            yield _row(per, "total", month_over, total)
            q = (select(Staff.login, *_counts()).select_from(A)
                 .outerjoin(Staff, Staff.id == A.owner_id).where(*where).group_by(Staff.login).order_by(Staff.login))
            for r in s.execute(q):
                yield _row(per, "owner", month_over, r, owner=r.login)
            for code, sc in scales.items():
                q = (select(CustomerGrade.grade, *_counts()).select_from(A)
                     .outerjoin(CustomerGrade, and_(CustomerGrade.customer_id == A.customer_id,
                                                    CustomerGrade.scale == code))
                     .where(*where, A.customer_id.is_not(None)).group_by(CustomerGrade.grade))
                got = {r.grade: r for r in s.execute(q)}
                for g in list(reversed(sc.grade_codes)) + [None]:
                    if g in got:
                        yield _row(per, f"grade.{code}", month_over, got[g], grade=g)

    return ReportResult("visits", _fields(app, params), rows(), period=per)
