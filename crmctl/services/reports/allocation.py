"""Allocation priority (petrochem Art. 3 and 10): exclusive agents and distributors in the order
scarce product goes to them."""

from __future__ import annotations

from ...fields import fields
from ...rules.periods import PERIODS
from ._common import choose_period
from .registry import Params, ReportResult, report

KEYS = ("rank", "label", "customer", "name", "group", "planned", "actual", "completion_pct", "weekly_cv")


def _fields(app, params: Params):
    return fields(*KEYS)


@report("allocation", order=100, columns=_fields, needs=("allocation",), periods=lambda p: PERIODS,
        customer_key="customer",
        summary="Exclusive agents and distributors ranked by plan completion and weekly evenness.",
        description="""
The order scarce product goes out in (petrochem Art. 3, 10), for a period (default: last month).
""", options=("period", "label"))
def allocation(app, params: Params) -> ReportResult:
    from ..allocation import allocation_priority

    per = choose_period(app, "allocation", params, PERIODS, "month")

    def rows():
        for r in allocation_priority(app, per.label):
            yield {k: r.get(k) for k in KEYS}

    return ReportResult("allocation", _fields(app, params), rows(), period=per)
