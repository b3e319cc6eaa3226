"""Who gets a role's work: the least-loaded active holder of the role (load = their open planned
activities); the administrator ``init`` makes holds every role and gets a role's work only when
nobody else holds it.  Used by ``visit plan`` and by the follow-ups and notices other commands plan."""

from __future__ import annotations

import heapq

from sqlalchemy import func, select

from ..models import Activity, Staff, StaffRole
from .. import i18n
from ..i18n import _


class RolePool:
    """Active staff holding a role, least-loaded first (load = their open planned activities).
    Administrators (``init`` makes one holding every role) get a role's work only when no other
    active staff member holds it; ``fallbacks`` counts the activities that went to one, per role."""

    def __init__(self, session, roles: set[str], only: Staff | None):
        self._heaps: dict[str, list[list[int]]] = {}
        self._admin_only: set[str] = set()
        self.fallbacks: dict[str, int] = {}
        if not roles:
            return
        rows = session.execute(select(StaffRole.role, Staff.id, Staff.is_admin).join(Staff, Staff.id == StaffRole.staff_id)
                               .where(StaffRole.role.in_(sorted(roles)), Staff.active.is_(True))).all()
        ids = {sid for _, sid, _a in rows}
        load = dict(session.execute(select(Activity.owner_id, func.count()).where(
            Activity.status == "planned", Activity.owner_id.in_(sorted(ids))).group_by(Activity.owner_id)).all()) if ids else {}
        plain = {role for role, _sid, admin in rows if not admin}
        for role, sid, admin in rows:
            if only is not None and sid != only.id:
                continue
            if admin and role in plain and only is None:
                continue  # someone else holds the role: the administrator gets none of its work
            self._heaps.setdefault(role, []).append([load.get(sid, 0), sid])
            if admin and role not in plain:
                self._admin_only.add(role)
        for heap in self._heaps.values():
            heapq.heapify(heap)

    def pick(self, role: str) -> int | None:
        heap = self._heaps.get(role)
        if not heap:
            return None
        entry = heap[0]
        entry[0] += 1
        heapq.heapreplace(heap, entry)
        if role in self._admin_only:
            self.fallbacks[role] = self.fallbacks.get(role, 0) + 1
        return entry[1]


def role_holder(session, role: str) -> tuple[int | None, bool]:
    """(staff id, whether it is an administrator standing in) for one item of ``role``'s work."""
    pool = RolePool(session, {role}, None)
    sid = pool.pick(role)
    return sid, bool(pool.fallbacks)


def stand_in_warning(role: str, label: str | None, what: str) -> str:
    """The warning when ``what`` (e.g. "3 of its activities", in the user's language) went to an
    administrator because nobody else holds ``role``: the role as ``code (label)`` in English, its
    label in Chinese."""
    shown = i18n.label(role, {role: label} if label else {})
    named = f"{role} ({label})" if shown == role and label and label != role else shown
    return _("no active staff member but an administrator holds role {role}: {what} went to an "
             "administrator; add a staff member with that role").format(role=named, what=what)
