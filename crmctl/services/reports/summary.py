"""The management summary ``crmctl demo`` ends with: a few lines for a manager."""

from __future__ import annotations

from ...i18n import _
from ...rules.periods import last_completed
from .documents import notice_days
from .registry import FEATURES, Params, run_report
from .service import complaint_row


def management_summary(app) -> list[str]:
    """A few lines for a manager: customers by status, grade distribution, complaints on time and
    satisfaction, visit compliance, documents expiring.  A handful of aggregate queries."""
    from sqlalchemy import func, select

    from ...models import Customer, CustomerGrade

    pol = app.policy
    today = app.now().date()
    st = pol.statuses.labels()
    lines: list[str] = []
    with app.db.read() as s:
        by_status = dict(s.execute(select(Customer.status, func.count()).group_by(Customer.status)).all())
        total = sum(by_status.values())
        comma = _(", ")
        parts = [f"{st.get(k, k)} {by_status[k]}" for k in st if by_status.get(k)]
        lines.append(_("customers:  {total} ({statuses})").format(total=total, statuses=comma.join(parts) or _("none")))
        for code, sc in pol.grading.scales.items():
            counts = dict(s.execute(select(CustomerGrade.grade, func.count()).where(CustomerGrade.scale == code)
                                    .group_by(CustomerGrade.grade)).all())
            dist = comma.join(f"{g.label} {counts.get(g.code, 0)}" for g in reversed(sc.grades))
            lines.append(_("grades:     {scale}: {grades}").format(scale=sc.label, grades=dist))
    if pol.stability is not None:
        from ..stability import stability_counts

        c = stability_counts(app)
        labels = pol.stability.labels.model_dump()
        lines.append(_("stability:  {stabilities}").format(
            stabilities=_(", ").join(f"{labels[k]} {v}" for k, v in c.items())))
    month = last_completed("month", today)
    if pol.complaints is not None:
        from ..complaints import complaint_stats

        t = complaint_stats(app, month)["total"]
        row = complaint_row(month.label, "total", None, t)
        figures = dict(label=month.label, opened=t["opened"], closed=t["closed"], on_time=_fmt_pct(row["on_time_pct"]),
                       satisfaction=_fmt_pct(t["satisfaction_pct"]))
        if t["target_pct"] is not None:
            text = _("complaints: {label}: {opened} opened, {closed} closed, on time {on_time}, satisfaction "
                     "{satisfaction} (target {target} %)").format(target=f"{t['target_pct']:g}", **figures)
        else:
            text = _("complaints: {label}: {opened} opened, {closed} closed, on time {on_time}, satisfaction "
                     "{satisfaction}").format(**figures)
        lines.append(text)
    if FEATURES["cadences"][1](pol):
        rows = iter(run_report(app, "visits", Params(label=month.label)).rows)
        total = next(rows, None)  # the first row is the month's total
        getattr(rows, "close", lambda: None)()
        if total is not None and total["planned"]:
            lines.append(_("visits:     {label}: {done} of {planned} planned done ({pct}), {missed} missed").format(
                label=month.label, done=total["done"], planned=total["planned"], pct=_fmt_pct(total["compliance_pct"]),
                missed=total["missed"]))
    if FEATURES["expiring_documents"][1](pol):
        res = run_report(app, "documents", Params())
        expiring = expired = suspended = missing = 0
        for r in res.rows:
            if r["section"] == "suspended":
                suspended += 1
            elif r["section"] == "missing":
                missing += 1
            elif r["expired"]:
                expired += 1
            else:
                expiring += 1
        days = notice_days(pol)
        lines.append(_("documents:  {expiring} expire within {days} days, {expired} expired, {missing} required "
                       "missing; {suspended} customers suspended").format(expiring=expiring, days=days, expired=expired,
                                                                         missing=missing, suspended=suspended))
    return lines


def _fmt_pct(v: float | None) -> str:
    return "-" if v is None else f"{v:g} %"
