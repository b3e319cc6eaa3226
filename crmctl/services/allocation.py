"""Allocation priority (petrochem Art. 3 and 10): in what order scarce product goes to exclusive
agents and distributors -- by the policy's group priority, then plan completion rate and the
evenness of weekly pickups (coefficient of variation, lower = more even).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ..errors import RuleViolation
from ..i18n import _
from ..models import Customer, SalesPlan, UsageRecord
from ..rules import grading as rules
from ..rules.errors import Invalid
from ..rules.periods import last_completed, parse_label, period_starting
from .app import App
from .volume_totals import in_period, period_sums


def allocation_priority(app: App, label: str | None = None) -> list[dict]:
    """Exclusive agents and distributors (the policy's groups) in the order scarce product goes to
    them: by group priority, then plan completion rate and evenness of weekly volume (coefficient of
    variation, lower = more even).  A few aggregates; no query per customer."""
    pol = app.policy
    al = pol.reports.allocation
    if al is None:
        raise RuleViolation(_("this policy has no allocation report ([reports.allocation])"))
    today = app.now().date()
    try:
        per = parse_label(label.strip()) if label else last_completed("month", today)
    except Invalid as exc:
        raise exc.within("--label") from None
    seg = pol.segment(al.segment)
    group_col = Customer.segments[al.segment].as_string()
    months = []
    m = per.start
    while m < per.end:
        months.append(f"{m.year:04d}-{m.month:02d}")
        m = period_starting("month", m).end
    with app.db.read() as s:
        people = s.execute(select(Customer.id, Customer.code, Customer.name, group_col)
                           .where(Customer.status == "active", group_col.in_(list(al.priority)))).all()
        planned = dict(s.execute(select(SalesPlan.customer_id, func.sum(SalesPlan.qty))
                                 .where(SalesPlan.month.in_(months)).group_by(SalesPlan.customer_id)).all())
        actual = period_sums(s, per.start, per.end)
        daily: dict[int, dict[date, float]] = {}
        if al.rank_by_evenness:
            q = (in_period(select(UsageRecord.customer_id, UsageRecord.day, func.sum(UsageRecord.qty)), per.start, per.end)
                 .join(Customer, Customer.id == UsageRecord.customer_id)
                 .where(Customer.status == "active", group_col.in_(list(al.rank_by_evenness)))
                 .group_by(UsageRecord.customer_id, UsageRecord.day))
            for cid, day, qty in s.execute(q):
                daily.setdefault(cid, {})[day] = qty
    even = set(al.rank_by_evenness)
    rows = []
    for cid, code, name, group in people:
        done = actual.get(cid) or 0.0
        plan = planned.get(cid)
        cv = None
        if group in even:
            cv = rules.coefficient_of_variation(rules.weekly_volumes(daily.get(cid, {}), per.start, per.end))
        rows.append({"customer": code, "name": name, "group": group, "group_label": seg.values.get(group, group),
                     "planned": plan, "actual": done, "completion_pct": rules.completion_rate(done, plan),
                     "weekly_cv": cv})
    ordered = rules.allocation_order(rows, al.priority, al.rank_by_completion, al.rank_by_evenness)
    return [{"rank": i, "label": per.label, **r} for i, r in enumerate(ordered, start=1)]
