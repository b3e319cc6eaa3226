"""The audit trail: who did what (and who acted for whom), when it happened and when it was written,
with the record before and after -- each entry chained to the one before by its hash
(``crmctl.rules.audit_chain``).

Every entry goes through :func:`record` (one entry, with the unit of work) or :func:`record_many`
(bulk, through the driver): both seal the entries in the order they are written, from the chain's
head, which is read with a lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write transaction
already holds the file) so that two writers cannot fork the chain.  ``crmctl.db.audit_problem``
walks the trail for ``db check``.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, Iterator

from sqlalchemy import func, insert, or_, select

from ..fields import JsonCell
from ..models import AuditChain, AuditLog
from ..rules import audit_chain as chain


def _plain(value: Any) -> Any:
    """JSON-safe copy of a before/after snapshot (dates as ISO text)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _stored(value: Any) -> Any:
    """The value as the JSON column gives it back (keys as text, tuples as lists)."""
    return None if value is None else json.loads(json.dumps(_plain(value), ensure_ascii=False, default=str))


class _Head:
    """The chain's head in one unit of work: read (and locked) once, moved by every entry sealed."""

    def __init__(self, session):
        row = session.scalars(select(AuditChain).where(AuditChain.id == 1).with_for_update()).first()
        if row is None:
            row = AuditChain(id=1, last_hash=chain.GENESIS, entries=0)
            session.add(row)
        self.row = row

    @classmethod
    def of(cls, session) -> "_Head":
        head = session.info.get("audit_head")
        if head is None:
            head = session.info["audit_head"] = cls(session)
        return head

    def seal(self, entry: dict) -> str:
        h = chain.entry_hash(self.row.last_hash, entry)
        self.row.last_hash = h
        self.row.entries += 1
        return h


def _entry(app, action: str, entity: str, key: str, *, before=None, after=None, customer_code=None, note=None,
           at: datetime | None = None, actor: str | None = None, by: str | None = None,
           written_at: datetime | None = None) -> dict:
    who = app.actor if actor is None else None
    return {"at": at or app.now(), "written_at": written_at or datetime.now(timezone.utc),
            "actor": actor or who.login, "by_login": who.by if who is not None else by, "action": action,
            "entity": entity, "entity_key": str(key), "customer_code": customer_code, "before": _stored(before),
            "after": _stored(after), "policy_version": app.policy_version, "note": note}


def record(
    session,
    app,
    action: str,
    entity: str,
    key: str,
    *,
    before: dict | None = None,
    after: dict | None = None,
    customer_code: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
    actor: str | None = None,
    by: str | None = None,
) -> AuditLog:
    """Add one audit entry to the current unit of work (written with it, or not at all).  ``actor``
    (and ``by``, the administrator acting for them) name who acted where ``app`` has no acting person
    (``init``, ``db restore``); otherwise both come from ``app.actor``."""
    entry = _entry(app, action, entity, key, before=before, after=after, customer_code=customer_code, note=note,
                   at=at, actor=actor, by=by)
    # sealed now, inserted at the next flush: the session inserts its entries in the order they were
    # added, and record_many flushes them before its own, so the chain's order is the ids' order
    entry["hash"] = _Head.of(session).seal(entry)
    row = AuditLog(**entry)
    session.add(row)
    return row


def record_many(session, app, entries: list[dict], chunk: int = 5000) -> None:
    """Bulk audit entries (imports, reassignments): each a dict of :func:`record`'s arguments
    (``action``, ``entity``, ``key``, ``before``, ``after``, ``customer_code``, ``note``, ``at``),
    sealed in order and written with ``executemany``."""
    session.flush()
    head = _Head.of(session)
    written = datetime.now(timezone.utc)
    rows = []
    for e in entries:
        row = _entry(app, e["action"], e["entity"], e["key"], before=e.get("before"), after=e.get("after"),
                     customer_code=e.get("customer_code"), note=e.get("note"), at=e.get("at"), written_at=written)
        row["hash"] = head.seal(row)
        rows.append(row)
    for i in range(0, len(rows), chunk):
        session.execute(insert(AuditLog), rows[i:i + chunk])


def changed_fields(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, for compact before/after entries."""
    keys = [k for k in after if before.get(k) != after.get(k)] + [k for k in before if k not in after]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


#: the keys of an entry of ``audit list`` (its csv header, with rows or without; before and after
#: are one cell each)
AUDIT_KEYS = ("id", "at", "written_at", "actor", "by", "action", "entity", "key", "customer", "before", "after",
              "policy_version", "note")


def list_entries(app, *, customer: str | None = None, since: datetime | None = None,
                 actor: str | None = None, action: str | None = None, limit: int | None = None) -> Iterator[dict]:
    """Audit entries oldest first, streamed (only those the acting person may read, ``services.visibility``)."""
    from .visibility import Scope

    q = select(AuditLog).order_by(AuditLog.at, AuditLog.id)
    if customer:
        q = q.where(AuditLog.customer_code == customer)
    if since:
        q = q.where(AuditLog.at >= since)
    if actor:  # what the person did, themselves or acting for someone (logins compare whatever their case)
        who = actor.strip().lower()
        q = q.where(or_(func.lower(AuditLog.actor) == who, func.lower(AuditLog.by_login) == who))
    if action:  # '*' is the only wildcard: % and _ are taken as typed
        from ..rules.customers import clean_text
        from ..rules.limits import MAX_SHORT_TEXT
        from ..rules.text import LIKE_ESCAPE, like_pattern

        clean_text(action, "--action", max_len=MAX_SHORT_TEXT)
        q = q.where(AuditLog.action.like(like_pattern(action), escape=LIKE_ESCAPE))
    if limit:
        q = q.order_by(None).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
    with app.db.read() as s:
        visible = Scope(s, app).code_clause(AuditLog.customer_code)
        if visible is not None:  # entries about a customer whose file the person may not read are left out
            q = q.where(visible)
        rows = s.scalars(q.execution_options(yield_per=1000))
        if limit:
            rows = reversed(list(rows))
        for e in rows:
            yield {
                "id": e.id,
                "at": e.at.astimezone(app.tz),
                "written_at": e.written_at.astimezone(app.tz) if e.written_at else None,
                "actor": e.actor,
                "by": e.by_login,
                "action": e.action,
                "entity": e.entity,
                "key": e.entity_key,
                "customer": e.customer_code,
                # free-form: one JSON cell each in csv (their keys are data, not columns)
                "before": JsonCell(e.before) if isinstance(e.before, dict) else e.before,
                "after": JsonCell(e.after) if isinstance(e.after, dict) else e.after,
                "policy_version": e.policy_version,
                "note": e.note,
            }
