"""Named sequences (customer codes, complaint and ticket numbers) that are safe under concurrency.

On SQLite the write transaction (BEGIN IMMEDIATE) already serialises writers; on PostgreSQL the
counter row is locked (SELECT ... FOR UPDATE) until the transaction ends.  A missing row is
created in a savepoint, so two first users of a new counter cannot both fail.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..models import Counter


def advance(session, name: str, n: int = 1) -> int:
    """Reserve ``n`` consecutive values of counter ``name``; returns the first one (1-based)."""
    row = session.scalars(select(Counter).where(Counter.name == name).with_for_update()).first()
    if row is None:
        try:
            with session.begin_nested():
                session.add(Counter(name=name, value=0))
        except IntegrityError:  # someone else created it meanwhile
            pass
        row = session.scalars(select(Counter).where(Counter.name == name).with_for_update()).first()
    first = row.value + 1
    row.value += n
    session.add(row)
    session.flush()
    return first
