"""Owners by grade (fuel-retail Art. 9, gas-tiered Art. 11-15): each grade has its keeper role; a
customer whose new grade needs a role its owner does not hold is listed, and with ``--reassign``
moved to the least-loaded active staff member holding that role.
"""

from __future__ import annotations

import heapq
from collections import Counter
from datetime import datetime

from sqlalchemy import func, select

from ...db import BULK_CHUNK, IN_CHUNK, bulk_update, driver_value
from ...i18n import _
from ...models import Customer, Staff, StaffRole, UTCDateTime
from .. import audit
from ..app import App
from ..assignment import stand_in_warning
from ..population import Population
from .store import Graded


def owner_check(s, app: App, scale, pop: Population, graded: Graded, is_current: bool, *,
                 reassign: bool, write: bool, now: datetime, scale_code: str) -> dict:
    """Customers whose (new current) grade is kept by a role their owner does not hold; with
    ``reassign`` each moves to the least-loaded active staff member holding that role (staff other
    than administrators first: the administrator made by ``init`` holds every role)."""
    roles_by_grade = dict(scale.owner_roles)
    result = {"rows": [], "moved": 0, "warnings": []}
    if not roles_by_grade or not graded.ids or not is_current:
        return result
    staff = {sid: (login, active, admin) for sid, login, active, admin in
             s.execute(select(Staff.id, Staff.login, Staff.active, Staff.is_admin))}
    holders: dict[str, set[int]] = {}
    for sid, role in s.execute(select(StaffRole.staff_id, StaffRole.role)):
        if staff.get(sid, ("", False))[1]:
            holders.setdefault(role, set()).add(sid)
    kept_by = {g: holders.get(role, set()) for g, role in roles_by_grade.items()}  # grade -> who may keep it
    everyone = _Everyone()
    # graded.ids are the population's: its owners are lined up with them
    wrong = [(cid, g, roles_by_grade[g], o) for cid, g, o in zip(graded.ids, graded.grades, pop.owners)
             if o not in kept_by.get(g, everyone)]
    if not wrong:
        return result
    codes: dict[int, str] = {}
    ids = [w[0] for w in wrong]
    for i in range(0, len(ids), IN_CHUNK):
        codes.update(s.execute(select(Customer.id, Customer.code).where(Customer.id.in_(ids[i:i + IN_CHUNK]))).all())
    heaps: dict[str, list] = {}
    admin_only: set[str] = set()
    if reassign:
        load = dict(s.execute(select(Customer.owner_id, func.count()).where(Customer.status != "disqualified",
                                                                           Customer.owner_id.is_not(None))
                              .group_by(Customer.owner_id)).all())
        for role in {w[2] for w in wrong}:
            people = sorted(holders.get(role, ()))
            plain = [sid for sid in people if not staff[sid][2]]
            if people and not plain:
                admin_only.add(role)  # only an administrator holds it: they get the customers, with a warning
            heaps[role] = [(load.get(sid, 0), staff[sid][0], sid) for sid in plain or people]
            heapq.heapify(heaps[role])
    moves = []
    for cid, grade, role, owner in sorted(wrong, key=lambda w: codes.get(w[0], "")):
        new_owner = None
        heap = heaps.get(role)
        if heap:
            n, login, sid = heapq.heappop(heap)
            heapq.heappush(heap, (n + 1, login, sid))
            new_owner = login
            moves.append((cid, sid, owner, login, grade, role))
        result["rows"].append({"customer": codes[cid], "grade": grade, "role": role,
                               "owner": staff[owner][0] if owner in staff else None, "new_owner": new_owner})
    if reassign and write and moves:
        conn = s.connection()
        stamp = driver_value(conn, UTCDateTime(), now)
        bulk_update(conn, "customer", ("owner_id", "updated_at"), ("id",), [(sid, stamp, cid) for cid, sid, *_ in moves])
        audit.record_many(s, app, [
            {"at": now, "action": "customer.reassign", "entity": "customer", "key": codes[cid],
             "customer_code": codes[cid], "before": {"owner": staff[old][0] if old in staff else None},
             "after": {"owner": login, "grade": grade, "role": role, "scale": scale_code}, "note": "owner by grade"}
            for cid, sid, old, login, grade, role in moves], chunk=BULK_CHUNK)
    result["moved"] = len(moves) if reassign else 0
    fell_back = Counter(role for *_x, role in moves if role in admin_only)
    result["warnings"] = [stand_in_warning(role, app.policy.roles.get(role), _("{n} customers").format(n=n))
                          for role, n in sorted(fell_back.items())]
    return result


class _Everyone:
    """``x in _Everyone()`` is always true: a grade without an owner role accepts any owner."""

    def __contains__(self, item) -> bool:
        return True
