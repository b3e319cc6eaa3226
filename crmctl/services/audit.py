"""The audit trail: who did what, when, with the record before and after."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterator

from sqlalchemy import select

from ..models import AuditLog


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
) -> AuditLog:
    """Add one audit entry to the current unit of work (written with it, or not at all)."""
    entry = AuditLog(
        at=at or app.now(),
        actor=actor or app.actor.login,
        action=action,
        entity=entity,
        entity_key=str(key),
        customer_code=customer_code,
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        policy_version=app.policy_version,
        note=note,
    )
    session.add(entry)
    return entry


def changed_fields(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, for compact before/after entries."""
    keys = [k for k in after if before.get(k) != after.get(k)] + [k for k in before if k not in after]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def list_entries(app, *, customer: str | None = None, since: datetime | None = None,
                 actor: str | None = None, action: str | None = None, limit: int | None = None) -> Iterator[dict]:
    """Audit entries oldest first, streamed."""
    q = select(AuditLog).order_by(AuditLog.at, AuditLog.id)
    if customer:
        q = q.where(AuditLog.customer_code == customer)
    if since:
        q = q.where(AuditLog.at >= since)
    if actor:
        q = q.where(AuditLog.actor == actor)
    if action:
        q = q.where(AuditLog.action.like(action.replace("*", "%")))
    if limit:
        q = q.order_by(None).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
    with app.db.read() as s:
        rows = s.scalars(q.execution_options(yield_per=1000))
        if limit:
            rows = reversed(list(rows))
        for e in rows:
            yield {
                "id": e.id,
                "at": e.at.astimezone(app.tz),
                "actor": e.actor,
                "action": e.action,
                "entity": e.entity,
                "key": e.entity_key,
                "customer": e.customer_code,
                "before": e.before,
                "after": e.after,
                "policy_version": e.policy_version,
                "note": e.note,
            }
