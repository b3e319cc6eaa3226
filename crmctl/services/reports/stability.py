"""Stability (fuel-retail Art. 6 and 9): existing / lost / potential customers now, the lost ones with
their last purchase, and the churn warnings of a period (gas-tiered Art. 18)."""

from __future__ import annotations

from ...errors import InvalidInput
from ...fields import fields
from ...i18n import _
from ._common import STREAM, choose_period, row
from .registry import Params, ReportResult, report

KEYS = ("section", "stability", "customers", "customer", "name", "owner", "last_purchase", "days_since_purchase",
        "label", "base_label", "volume", "base_volume", "drop_pct")


def _fields(app, params: Params):
    return fields(*KEYS)


def _churn_periods(policy) -> tuple[str, ...]:
    return (policy.churn.period,) if policy.churn is not None else ("month",)


@report("stability", order=40, columns=_fields, needs=("stability",), periods=_churn_periods,
        customer_key="customer",
        summary="Existing / lost / potential customers, the lost ones with their last purchase, churn warnings.",
        description="""
Counts and lost customers are as of today.
--label picks the period of the churn warnings (default: the last completed [churn] period).
""", options=("period", "label", "chart"))
def stability(app, params: Params) -> ReportResult:
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from ...models import Customer, Staff
    from ..stability import churn_warnings, stability_clause, stability_counts
    from ..volume_totals import last_purchase_subquery

    pol = app.policy
    per = None
    if pol.churn is not None:
        per = choose_period(app, "stability", params, (pol.churn.period,))
    elif params.label or params.period:
        raise InvalidInput(_("policy {policy} has no churn warning: report stability covers no period").format(
            policy=pol.code))
    today = app.now().date()

    def rows():
        if pol.stability is not None:
            for which, n in stability_counts(app).items():
                yield row(KEYS, section="count", stability=which, customers=n)
            sub = last_purchase_subquery()
            owner = aliased(Staff)
            q = (select(Customer.code, Customer.name, owner.login, sub.c.last)
                 .join(sub, sub.c.customer_id == Customer.id)
                 .outerjoin(owner, owner.id == Customer.owner_id)
                 .where(Customer.status != "disqualified", stability_clause(app, "lost", sub.c.last))
                 .order_by(sub.c.last.desc(), Customer.code))
            with app.db.read() as s:
                for r in s.execute(q.execution_options(yield_per=STREAM)):
                    yield row(KEYS, section="lost", stability="lost", customer=r.code, name=r.name, owner=r.login,
                              last_purchase=r.last, days_since_purchase=(today - r.last).days)
        if pol.churn is not None:
            for w in churn_warnings(app, per.label):
                yield row(KEYS, section="churn", customer=w["customer"], name=w["name"], label=w["label"],
                          base_label=w["base_label"], volume=w["volume"], base_volume=w["base_volume"],
                          drop_pct=w["drop_pct"])

    return ReportResult("stability", _fields(app, params), rows(), period=per)
