"""Customer proposals (manufacturer part 一): by category and outcome, the cost savings, and the
benefit of adopted ones shared between company and customer (40 % / 60 % for a year from the
implementation, ``shared_from`` … ``shared_until``), then the company's alone (``company_alone_from``,
the same day as ``benefit_until``)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from ...fields import fields
from ...rules.periods import PERIODS
from ._common import STREAM, as_int, bounds, choose_period, money, row
from .registry import Params, ReportResult, report

KEYS = ("label", "section", "category", "outcome", "proposals", "overdue", "number", "customer", "name",
        "saving", "company_share", "customer_share", "shared_from", "shared_until", "company_alone_from",
        "benefit_until")
OUTCOMES = ("adopted", "rejected", "open")


def _shared(app, r) -> dict:
    """The shared period of an adopted proposal (from the implementation, or else the decision) and
    the day the company keeps the whole benefit."""
    if r.benefit_until is None:
        return {}
    start = r.implement_by or r.closed_at.astimezone(app.tz).date()
    return {"shared_from": start, "shared_until": r.benefit_until - timedelta(days=1),
            "company_alone_from": r.benefit_until}


def _fields(app, params: Params):
    return fields(*KEYS)


@report("proposals", order=110, columns=_fields, needs=("proposals",), periods=lambda p: PERIODS,
        customer_key="customer",
        summary="Customer proposals by category and outcome, cost savings and the company / customer benefit share.",
        description="""
Proposals received in the period (default: the last completed [proposals] targets_per period).
""", options=("period", "label"))
def proposals(app, params: Params) -> ReportResult:
    from sqlalchemy import and_, case, func, select

    from ...models import Customer
    from ...models import Proposal as P
    from ...rules.sla import ClockSql

    pr = app.policy.proposals
    per = choose_period(app, "proposals", params, PERIODS, pr.targets_per or "year")
    lo, hi = bounds(app, per)
    now = app.now()
    outcome = func.coalesce(P.outcome, "open")
    overdue = ClockSql(P.due_at, P.closed_at, now).overdue
    in_period = and_(P.opened_at >= lo, P.opened_at < hi)
    K = KEYS

    def share(saving, pct) -> Decimal | None:
        if saving is None or pct is None:
            return None
        return money(Decimal(str(saving)) * Decimal(str(pct)) / 100)

    def rows():
        with app.db.read() as s:
            q = (select(P.category, outcome.label("outcome"), func.count(P.id),
                        func.sum(case((overdue, 1), else_=0)), func.sum(P.saving),
                        func.sum(P.saving * P.benefit_company_pct), func.sum(P.saving * P.benefit_customer_pct))
                 .where(in_period).group_by(P.category, outcome))
            got = {(r[0], r[1]): r for r in s.execute(q)}
            order = list(pr.categories) + sorted({c for c, _o in got} - set(pr.categories))
            for cat in order:
                for oc in OUTCOMES:
                    r = got.get((cat, oc))
                    if r is None:
                        continue
                    yield row(K, label=per.label, section="category", category=cat, outcome=oc,
                              proposals=as_int(r[2]), overdue=as_int(r[3]), saving=money(r[4]),
                              company_share=money(r[5] / 100) if r[5] is not None else None,
                              customer_share=money(r[6] / 100) if r[6] is not None else None)
            qa = (select(P.number, Customer.code, Customer.name, P.category, P.saving, P.benefit_company_pct,
                         P.benefit_customer_pct, P.benefit_until, P.benefit_months, P.implement_by, P.closed_at)
                  .join(Customer, Customer.id == P.customer_id)
                  .where(in_period, P.outcome == "adopted").order_by(P.opened_at, P.id))
            for r in s.execute(qa.execution_options(yield_per=STREAM)):
                yield row(K, label=per.label, section="adopted", category=r.category, outcome="adopted",
                          number=r.number, customer=r.code, name=r.name, saving=money(r.saving),
                          company_share=share(r.saving, r.benefit_company_pct),
                          customer_share=share(r.saving, r.benefit_customer_pct), **_shared(app, r),
                          benefit_until=r.benefit_until)

    return ReportResult("proposals", _fields(app, params), rows(), period=per)
