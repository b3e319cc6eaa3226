"""Demo step: plan last month, log about 70 % of it (and some unplanned contacts), plan this month,
record a few surveys and development targets."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Iterator

from sqlalchemy import bindparam, select, update

from ...i18n import _
from ...models import Activity, Customer, Staff
from ...rules.periods import period_containing
from .. import audit
from ..activities import log_visit, plan_visits, record_survey, set_target
from ..activities.planning import INSERT_BATCH
from ..app import App
from ..registry import demo_step


def _has_cadences(app: App) -> bool:
    a = app.policy.activities
    return bool(a.cadences or a.greetings or any(getattr(d, "notice_kind", None) for d in app.policy.documents.values()))


@demo_step(order=30)
def demo_step(app: App, rng: random.Random) -> Iterator[str]:
    """Plan last month, log about 70 % of it (and some unplanned contacts), plan this month, record
    a few surveys and development targets.  Does nothing for a policy without cadences or surveys."""
    now = app.now()
    tz = app.tz
    this = period_containing("month", now.date())
    prev = this.previous()
    if _has_cadences(app):
        r = plan_visits(app, prev.label)
        yield _("visits:   planned {n} activities for {period} over {owners} owners").format(
            n=r["planned"], period=prev.label, owners=len(r["owners"]))
        with app.db.read() as s:
            planned = s.execute(select(Activity.id, Activity.due_date, Activity.kind, Activity.owner_id)
                                .where(Activity.status == "planned", Activity.due_date >= prev.start,
                                       Activity.due_date < prev.end).order_by(Activity.id)).all()
            logins = dict(s.execute(select(Staff.id, Staff.login)).all())
            customers = s.scalars(select(Customer.code).where(Customer.status == "active")
                                  .order_by(Customer.id).limit(2000)).all()
        chosen = [p for p in planned if rng.random() < 0.7]
        rows = []
        for p in chosen:
            at = datetime.combine(p.due_date, time(rng.randrange(9, 17), rng.choice((0, 15, 30, 45))), tzinfo=tz)
            rows.append({"aid": p.id, "done_at": min(at, now), "done_by": logins.get(p.owner_id) or app.actor.login,
                         "notes": rng.choice(("客户反馈良好", "已电话回访", "客户提出新的用量需求", "现场检查无异常", None))})
        if rows:
            with app.db.write() as s:
                stmt = (update(Activity.__table__).where(Activity.__table__.c.id == bindparam("aid"))
                        .values(status="done", done_at=bindparam("done_at"), done_by=bindparam("done_by"),
                                notes=bindparam("notes")))
                for i in range(0, len(rows), INSERT_BATCH):
                    s.connection().execute(stmt, rows[i:i + INSERT_BATCH])
                audit.record(s, app, "visit.log", "activity", f"demo {prev.label}", at=now,
                             after={"done": len(rows), "month": prev.label}, note="demo: bulk log of planned activities")
        # a few unplanned logs, through the service, counting toward the cadences too
        kinds = app.policy.activities.kinds
        extra_kind = "call" if "call" in kinds else next(iter(kinds))
        unplanned = 0
        for code in rng.sample(list(customers), min(len(customers), max(1, len(customers) // 20), 50)):
            day = prev.start + timedelta(days=rng.randrange(0, (prev.end - prev.start).days))
            at = datetime.combine(day, time(rng.randrange(9, 17), 0), tzinfo=tz)
            log_visit(app, code, extra_kind, at=min(at, now), notes="客户来电咨询，顺带回访")
            unplanned += 1
        pct = round(100 * len(rows) / len(planned)) if planned else 0
        yield _("visits:   logged {n} of {planned} planned ({pct} %) and {unplanned} unplanned {kind}s").format(
            n=len(rows), planned=len(planned), pct=pct, unplanned=unplanned, kind=extra_kind)
        r = plan_visits(app, this.label)
        yield _("visits:   planned {n} activities for {period} (missed ones of {previous} planned again)").format(
            n=r["planned"], period=this.label, previous=prev.label)
    if app.policy.surveys:
        with app.db.read() as s:
            codes = s.scalars(select(Customer.code).where(Customer.status == "active")
                              .order_by(Customer.id).limit(500)).all()
        n = 0
        for survey, sv in app.policy.surveys.items():
            for code in rng.sample(list(codes), min(len(codes), 12)):
                answers = {item: str(max(1, min(sv.scale_max, round(rng.gauss(sv.scale_max * 0.8, sv.scale_max * 0.15)))))
                           for item in sv.items}
                record_survey(app, code, str(now.year), answers, survey=survey)
                n += 1
        yield _("surveys:  {n} results recorded for {year} ({surveys})").format(
            n=n, year=now.year, surveys=", ".join(app.policy.surveys))
    if app.policy.development is not None:
        with app.db.read() as s:
            keepers = s.scalars(select(Staff.login).join(Customer, Customer.owner_id == Staff.id)
                                .where(Staff.active.is_(True)).group_by(Staff.login).order_by(Staff.login).limit(6)).all()
        label = period_containing(app.policy.development.targets_per, now.date()).label
        for login in keepers:
            prospects = rng.randrange(3, 12)
            set_target(app, login, label, prospects, rng.randrange(1, prospects + 1))
        if keepers:
            yield _("targets:  development targets for {period} set for {n} customer managers").format(
                period=label, n=len(keepers))
