"""Monthly sales plans (petrochem Art. 10: exclusive agents submit next month's plan every month), and
their completion: actual volume / planned volume.
"""

from __future__ import annotations

from typing import Iterator

from sqlalchemy import func, select

from ..errors import RuleViolation
from ..i18n import _
from ..models import Customer, SalesPlan, UsageRecord
from ..rules import grading as rules
from ..rules.conditions import matches
from ..rules.periods import parse_label, parse_month
from . import audit
from .app import App
from .lookups import get_customer
from .visibility import Scope


def plan_applies(policy, segments: dict, fields: dict) -> bool:
    """Who submits plans: the policy's ``[sales_plans].when``, and the groups the allocation report
    ranks by completion rate (their completion needs a plan)."""
    sp = policy.sales_plans
    if sp is None:
        return False
    if matches(sp.when, segments=segments, fields=fields):
        return True
    al = policy.reports.allocation
    return bool(al and segments.get(al.segment) in al.rank_by_completion)


def set_plan(app: App, code: str, month: str, qty: str | float) -> dict:
    """``plan set``: the volume a customer plans to take in a month (replaces an earlier plan)."""
    pol = app.policy
    if pol.sales_plans is None:
        raise RuleViolation(_("this policy has no sales plans ([sales_plans] is not defined)"))
    m = parse_month(month).label
    q = rules.parse_quantity(qty, "--qty")
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code)
        if c.status == "disqualified":
            raise RuleViolation(_("customer {code} is disqualified").format(code=c.code))
        if not plan_applies(pol, c.segments or {}, c.fields or {}):
            raise RuleViolation(_("customer {code} does not submit sales plans under this policy "
                                  "([sales_plans].when)").format(code=c.code))
        old = s.get(SalesPlan, (c.id, m))
        before = {"month": m, "qty": old.qty} if old else None
        if old is None:
            old = SalesPlan(customer_id=c.id, month=m, qty=q, set_at=now, set_by=app.actor.login)
        else:
            old.qty, old.set_at, old.set_by = q, now, app.actor.login
        s.add(old)
        after = {"month": m, "qty": q}
        audit.record(s, app, "plan.set", "sales_plan", f"{c.code}/{m}", before=before, after=after,
                     customer_code=c.code, at=now)
    return {"customer": c.code, "month": m, "qty": q, "unit": pol.policy.volume_unit}


#: the keys of a plan of ``plan list`` (its csv header, with rows or without)
SALES_PLAN_KEYS = ("customer", "name", "month", "planned", "actual", "completion_pct")


def list_plans(app: App, *, month: str | None = None, customer: str | None = None) -> Iterator[dict]:
    """Plans with the actual volume of their month and the completion rate (two aggregates)."""
    m = parse_month(month).label if month else None
    q = (select(SalesPlan.customer_id, Customer.code, Customer.name, SalesPlan.month, SalesPlan.qty, Customer.owner_id)
         .join(Customer, Customer.id == SalesPlan.customer_id).order_by(SalesPlan.month, Customer.code))
    if m:
        q = q.where(SalesPlan.month == m)
    with app.db.read() as s:
        if customer:
            q = q.where(SalesPlan.customer_id == get_customer(s, customer).id)
        scope = Scope(s, app)
        rows = [r for r in s.execute(q).all() if scope.readable(r.customer_id, r.owner_id)]
        months = sorted({r.month for r in rows})
        actual: dict[tuple[int, str], float] = {}
        for mon in months:
            p = parse_label(mon, "month")
            aq = (select(UsageRecord.customer_id, func.sum(UsageRecord.qty))
                  .where(UsageRecord.day >= p.start, UsageRecord.day < p.end).group_by(UsageRecord.customer_id))
            ids = {r.customer_id for r in rows if r.month == mon}
            if len(ids) <= 500:
                aq = aq.where(UsageRecord.customer_id.in_(ids))
            for cid, total in s.execute(aq):
                if cid in ids:
                    actual[(cid, mon)] = total or 0.0
    for r in rows:
        done = actual.get((r.customer_id, r.month), 0.0)
        yield {"customer": r.code, "name": r.name, "month": r.month, "planned": r.qty, "actual": done,
               "completion_pct": rules.completion_rate(done, r.qty)}
