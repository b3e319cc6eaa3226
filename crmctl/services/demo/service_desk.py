"""Demo step: complaints, service tickets and proposals over the last three months, as the policy
has them (escalations, extensions, handling opinions approved before the close, late closures,
unsatisfied customers, technician ratings)."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Iterator

from sqlalchemy import select

from ...errors import InvalidInput, RuleViolation
from ...i18n import _
from ...models import Customer, Staff, StaffRole
from ..app import App
from ..complaints import (close_complaint, decide_extension, decide_opinion, escalate_complaint, open_complaint,
                          request_extension, submit_opinion)
from ..proposals import close_proposal, open_proposal
from ..registry import demo_step
from .names import acting_for
from ..tickets import arrive, dispatch, open_ticket, rate_ticket, resolve, take_back

_COMPLAINTS = ["到货数量与提单不符", "提货排队时间过长", "发票信息开具错误", "产品包装破损", "价格通知未及时送达",
               "客户经理联系不上", "质量指标与合同不符", "燃气费账单有误", "维修人员未按约定时间到达", "加油卡积分未到账"]
_TICKETS = ["设备无法启动", "燃气表不走字", "管道异味", "压力不稳", "控制面板报警", "噪声异常", "咨询收费标准", "定期保养"]
_PROPOSALS = ["包装规格统一为25kg", "合并配送线路降低运费", "改进质检抽样方案", "推荐新型密封件", "增设售后服务网点",
              "简化对账流程"]


def _staff_with_roles(app: App, roles) -> list[str]:
    roles = list(roles)
    if not roles:
        return []
    with app.db.read() as s:
        return list(s.scalars(select(Staff.login).join(StaffRole, StaffRole.staff_id == Staff.id)
                              .where(StaffRole.role.in_(roles), Staff.active.is_(True), Staff.is_admin.is_(False))
                              .order_by(Staff.login).distinct()).all())


def _work_times(app: App, rng: random.Random, n: int, days: int = 90) -> list[datetime]:
    """``n`` plausible moments in the last ``days`` days: mostly office hours of working days."""
    cal = app.calendar
    now = app.now()
    out = []
    while len(out) < n:
        d = (now - timedelta(days=rng.randrange(1, days))).date()
        if not cal.is_working_day(d) and rng.random() < 0.85:
            continue
        t = datetime.combine(d, time(rng.choice((8, 9, 9, 10, 10, 11, 14, 14, 15, 16, 17)), rng.randrange(0, 60)),
                             tzinfo=app.tz)
        if t < now:
            out.append(t)
    return sorted(out)


@demo_step(order=20)
def demo_step(app: App, rng: random.Random) -> Iterator[str]:
    """Complaints, service tickets and proposals over the last three months, as the policy has them."""
    pol = app.policy
    if not (pol.complaints or pol.service or pol.proposals):
        return
    now = app.now()
    with app.db.read() as s:
        codes = list(s.scalars(select(Customer.code).where(Customer.status == "active")
                               .order_by(Customer.id).limit(500)).all())
    if not codes:
        return
    non_admin = _staff_with_roles(app, pol.roles)
    share = 30 // sum(bool(x) for x in (pol.complaints, pol.service, pol.proposals))  # ~30 items in all

    def later(start: datetime, hours: float) -> datetime | None:
        t = (start + timedelta(minutes=max(1, round(hours * 60)))).replace(second=0, microsecond=0)
        return t if t < now else None

    if pol.complaints:
        cp = pol.complaints
        severities = list(cp.severities)
        times = _work_times(app, rng, share)
        opened = closed = late = unsatisfied = extended = escalated = 0
        approvers = _staff_with_roles(app, [cp.extension.approver_role]) if cp.extension else []
        op = cp.opinion_approval  # petrochem 12(二): the leader approves the handling opinion first
        leaders = _staff_with_roles(app, [op.approver_role]) if op else []
        approved = refused = waiting = 0
        for t in times:
            sev = severities[-1] if len(severities) > 1 and rng.random() < 0.25 else cp.default_severity
            c = open_complaint(app, rng.choice(codes), rng.choice(_COMPLAINTS), severity=sev, at=t)
            opened += 1
            if cp.escalate_role and sev in cp.escalate:
                escalate_complaint(app, c["id"], note="提交专题会议研究", at=later(t, 2) or t)
                escalated += 1
            if cp.extension and approvers and (not cp.extension.severities or sev in cp.extension.severities) \
                    and rng.random() < 0.5:
                try:
                    request_extension(app, c["id"], 2, note="需现场核实", at=t)
                    with acting_for(app, rng.choice(approvers)):  # the approver grants it as themselves
                        c = decide_extension(app, c["id"], comment="同意延期", at=t)
                    extended += 1
                except (RuleViolation, InvalidInput):
                    pass
            due = c["due_at"]
            span = (due - t).total_seconds() / 3600
            r = rng.random()
            needs_opinion = op is not None and op.applies_to(sev)
            if r < 0.12:
                if needs_opinion and leaders and not waiting:  # one opinion waits for the leader
                    submit_opinion(app, c["id"], "拟联系承运单位核实后答复客户", at=later(t, 1) or t)
                    waiting += 1
                continue  # still open
            hours = span * (rng.uniform(1.05, 1.8) if r < 0.3 else rng.uniform(0.1, 0.95))
            at = later(t, max(hours, 0.5))
            if at is None:
                continue
            if needs_opinion:
                if not leaders:
                    continue  # nobody may approve the opinion: it stays open
                if not refused:  # the first opinion is refused, and submitted again
                    submit_opinion(app, c["id"], "拟按合同补足差额并致歉", at=at)
                    with acting_for(app, leaders[0]):
                        decide_opinion(app, c["id"], grant=False, comment="请先核实提单数量", at=at)
                    refused += 1
                submit_opinion(app, c["id"], "已核实，按合同补足差额并致歉", at=at)
                with acting_for(app, leaders[approved % len(leaders)]):  # the leader approves as themselves
                    decide_opinion(app, c["id"], comment="同意", at=at)
                approved += 1
            satisfied = rng.random() >= 0.1
            close_complaint(app, c["id"], "已调查处理并答复客户", satisfied, at=at)
            closed += 1
            late += at > due
            unsatisfied += not satisfied
        extra = ""
        if extended:
            extra += _(", {n} extended").format(n=extended)
        if escalated:
            extra += _(", {n} escalated").format(n=escalated)
        if op:
            extra += _("; {n} handling opinions approved by {role} ({refused} refused first, {waiting} waiting)").format(
                n=approved, role=pol.role_label(op.approver_role), refused=refused, waiting=waiting)
        yield _("complaints: {opened} opened over 3 months, {closed} closed ({late} late, {unsatisfied} unsatisfied)"
                "{extra}").format(opened=opened, closed=closed, late=late, unsatisfied=unsatisfied, extra=extra)

    if pol.service:
        sv = pol.service
        kinds = list(sv.kinds)
        techs = [x for x in non_admin]
        pref = [x for x in techs if any(w in x for w in ("techn", "repair"))]
        techs = pref or techs or [app.actor.login]
        times = _work_times(app, rng, share)
        opened = resolved = rated = missed = 0
        for t in times:
            kind = "repair" if "repair" in kinds and rng.random() < 0.6 else rng.choice(kinds)
            loc = rng.choice(list(sv.locations)) if sv.locations else None
            free = [st for st in sv.service_types if st not in sv.service_type_documents]  # no document needed
            stype = rng.choice(free) if free else None
            tk = open_ticket(app, rng.choice(codes), kind, location=loc, service_type=stype,
                             summary=rng.choice(_TICKETS), at=t)
            opened += 1
            if rng.random() < 0.1:
                continue
            tech = rng.choice(techs)
            d_at = later(t, rng.uniform(0.2, 2))
            if d_at is None:
                continue
            dispatch(app, tk["id"], tech, at=d_at)
            a_at = later(d_at, rng.uniform(0.5, 4) if rng.random() < 0.85 else rng.uniform(4, 30))
            if a_at is None:
                continue
            arrive(app, tk["id"], at=a_at)
            if rng.random() < 0.15:
                a_at = later(a_at, 1) or a_at
                take_back(app, tk["id"], f"SJ{rng.randrange(10**5, 10**6)}", at=a_at)
            r_at = later(a_at, rng.uniform(0.5, 12) if rng.random() < 0.85 else rng.uniform(12, 60))
            if r_at is None:
                continue
            tk = resolve(app, tk["id"], at=r_at, note="已修复")
            resolved += 1
            missed += bool(tk["overdue"])
            if sv.rating_items and (not sv.rate_kinds or kind in sv.rate_kinds):
                levels = sorted(sv.rating_levels, key=lambda x: int(x) if x.isdigit() else 0)
                top = levels[-2:] if rng.random() < 0.8 else levels
                rate_ticket(app, tk["id"], {item: rng.choice(top) for item in sv.rating_items},
                            at=later(r_at, 2) or r_at)
                rated += 1
        yield _("service:  {opened} tickets, {resolved} resolved by {technicians} technicians "
                "({missed} missed a clock), {rated} rated").format(opened=opened, resolved=resolved,
                                                                    technicians=len(set(techs)), missed=missed, rated=rated)

    if pol.proposals:
        pp = pol.proposals
        cats = list(pp.categories)
        times = _work_times(app, rng, share)
        opened = adopted = rejected = 0
        for t in times:
            p = open_proposal(app, rng.choice(codes), rng.choice(cats), rng.choice(_PROPOSALS), at=t)
            opened += 1
            at = later(t, rng.uniform(24 * 5, 24 * 40))
            if at is None or rng.random() < 0.2:
                continue
            if rng.random() < 0.6:
                close_proposal(app, p["id"], adopted=True, saving=str(rng.randrange(5, 200) * 1000),
                               implement_by=(at.date() + timedelta(days=30)).isoformat(), at=at)
                adopted += 1
            else:
                close_proposal(app, p["id"], adopted=False, at=at)
                rejected += 1
        yield _("proposals: {opened} received, {adopted} adopted, {rejected} rejected").format(
            opened=opened, adopted=adopted, rejected=rejected)
