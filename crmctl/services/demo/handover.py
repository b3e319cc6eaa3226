"""Demo step: a customer manager leaves and hands their customers over, where the policy has the
customers told of their new contact (``[activities.handover_notice]``, manufacturer 三.7(4)): the
tour then shows the notices planned for the new keeper."""

from __future__ import annotations

import random
from typing import Iterator

from sqlalchemy import func, select

from ...models import Customer, Staff, StaffRole
from ...i18n import _
from ..app import App
from ..registry import demo_step
from ..staff import leave


def _leaver_and_heir(app: App) -> tuple[str, str] | None:
    """The customer manager who keeps the most customers (then by login), among those who are not
    administrators and share a role with an active colleague, and that colleague (the first by
    login) to take over; no chance involved, so the same demo always hands over the same way."""
    with app.db.read() as s:
        kept = s.execute(select(Staff.id, Staff.login).join(Customer, Customer.owner_id == Staff.id)
                         .where(Staff.active.is_(True), Staff.is_admin.is_(False))
                         .group_by(Staff.id, Staff.login).order_by(func.count(Customer.id).desc(), Staff.login)).all()
        for staff_id, login in kept:
            roles = [r for r in app.policy.roles  # the leaver's roles, in the policy's order
                     if r in set(s.scalars(select(StaffRole.role).where(StaffRole.staff_id == staff_id)).all())]
            for role in roles:
                heir = s.scalars(select(Staff.login).join(StaffRole, StaffRole.staff_id == Staff.id)
                                 .where(StaffRole.role == role, Staff.active.is_(True), Staff.is_admin.is_(False),
                                        Staff.id != staff_id).order_by(Staff.login).limit(1)).first()
                if heir is not None:
                    return login, heir
    return None


@demo_step(order=40)
def demo_step(app: App, rng: random.Random) -> Iterator[str]:
    """``staff leave LOGIN --handover-to OTHER`` (the service the command uses) where the policy plans
    hand-over notices; nothing for the other policies."""
    notice = app.policy.activities.handover_notice if app.policy.activities else None
    if notice is None:
        return
    pair = _leaver_and_heir(app)
    if pair is None:
        return
    leaver, heir = pair
    moved = leave(app, leaver, heir)["moved"]
    kind = app.policy.activities.kinds.get(notice.kind, notice.kind)
    yield _("hand-over: {leaver} left; {customers} customers to {heir}, who has {notices} {kind} ({kind_label}) "
            "notices planned, due within {due} (crmctl visit list --owner {heir} --kind {kind})").format(
        leaver=leaver, customers=moved["customers"], heir=heir, notices=moved.get("customer_notices", 0),
        kind=notice.kind, kind_label=kind, due=notice.due)
