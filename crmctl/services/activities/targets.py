"""Market-development targets (petrochem Art. 6): per customer manager and period, how many
prospects to add and how many customers to admit.
"""

from __future__ import annotations

from sqlalchemy import select

from ...errors import InvalidInput, RuleViolation
from ...i18n import _
from ...models import DevelopmentTarget, Staff
from ...rules.errors import Invalid
from ...rules.periods import parse_label
from .. import audit
from ..app import App
from ..lookups import find_staff


def _target_label(app: App, label: str) -> str:
    dev = app.policy.development
    if dev is None:
        raise RuleViolation(_("this policy sets no development targets ([development])"))
    try:
        return parse_label((label or "").strip(), dev.targets_per).label
    except Invalid as exc:
        raise exc.within("--quarter") from None


def set_target(app: App, login: str, label: str, prospects: int, admitted: int) -> dict:
    """``target set``: a manager's targets for a period (replaces earlier ones for that period)."""
    period = _target_label(app, label)
    for name, n in (("--prospects", prospects), ("--admitted", admitted)):
        if n is None or isinstance(n, bool) or not isinstance(n, int) or n < 0 or n > 1_000_000:
            raise InvalidInput(_("{option} must be a whole number from 0 to 1000000").format(option=name))
    now = app.now()
    with app.db.write() as s:
        staff = find_staff(s, login)
        t = s.scalars(select(DevelopmentTarget).where(DevelopmentTarget.staff_id == staff.id,
                                                      DevelopmentTarget.label == period)).first()
        before = {"prospects": t.prospects, "admitted": t.admitted} if t else None
        if t is None:
            t = DevelopmentTarget(staff_id=staff.id, label=period, prospects=prospects, admitted=admitted,
                                  set_at=now, set_by=app.actor.login)
        else:
            t.prospects, t.admitted, t.set_at, t.set_by = prospects, admitted, now, app.actor.login
        s.add(t)
        s.flush()
        audit.record(s, app, "target.set", "development_target", f"{login}/{period}", before=before,
                     after={"prospects": prospects, "admitted": admitted}, at=now)
        return _target_dict(t, staff, app.tz)


#: the keys of a target of ``target list`` (its csv header, with rows or without)
TARGET_KEYS = ("login", "name", "label", "prospects", "admitted", "set_at", "set_by")


def _target_dict(t: DevelopmentTarget, staff: Staff, tz) -> dict:
    return {"login": staff.login, "name": staff.name, "label": t.label, "prospects": t.prospects,
            "admitted": t.admitted, "set_at": t.set_at.astimezone(tz), "set_by": t.set_by}


def list_targets(app: App, *, label: str | None = None, login: str | None = None) -> list[dict]:
    q = (select(DevelopmentTarget, Staff).join(Staff, Staff.id == DevelopmentTarget.staff_id)
         .order_by(DevelopmentTarget.label, Staff.login))
    if label:
        q = q.where(DevelopmentTarget.label == _target_label(app, label))
    with app.db.read() as s:
        if login:
            q = q.where(DevelopmentTarget.staff_id == find_staff(s, login, active_only=False).id)
        return [_target_dict(t, st, app.tz) for t, st in s.execute(q)]
