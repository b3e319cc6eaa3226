"""The audit trail's hash chain: each entry's hash covers its content and the hash before it.

``entry_hash(previous, entry)`` is SHA-256 over the previous hash and a canonical JSON text of the
entry's content (every column but the id and the hash itself), so an entry edited, deleted or
inserted by another tool no longer chains: :func:`first_break` names the first one.  The chain
detects changes made without recomputing it; it cannot stop someone who can write the database file
from recomputing every hash (a key would have to live where every crmctl user can read it).  Keep the
head that ``db check`` prints (cron mail, backups) to detect a rewrite as well.

Pure: values in, text out.  Date-times are compared as UTC ``YYYY-MM-DDTHH:MM:SS.ffffff``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from .errors import Msg

GENESIS = "0" * 64  # the "previous hash" of the first entry

#: the columns an entry's hash covers, in this order
CONTENT = ("at", "written_at", "actor", "by_login", "action", "entity", "entity_key", "customer_code", "before",
           "after", "policy_version", "note")


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, str) and len(value) >= 19 and value[10] in " T":  # raw ISO text from the driver
        return _utc(datetime.fromisoformat(value))
    return value


def utc_text(value: Any) -> Any:
    """A date-time (or the driver's ISO text of one) as the hash sees it: UTC ``YYYY-MM-DDTHH:MM:SS.ffffff``."""
    return _utc(value)


def canonical(entry: Mapping[str, Any]) -> str:
    """The entry's content as the hash sees it (``before``/``after`` as JSON values, keys sorted)."""
    values = []
    for key in CONTENT:
        v = entry.get(key)
        if key in ("at", "written_at"):
            v = _utc(v)
        elif key in ("before", "after") and isinstance(v, (str, bytes)):
            v = json.loads(v)  # the driver's JSON text
        values.append(v)
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(previous: str, entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(f"{previous}\n{canonical(entry)}".encode("utf-8")).hexdigest()


def first_break(entries: Iterable[Mapping[str, Any]], head: str | None = None) -> tuple[int | None, str] | None:
    """Walk the entries in id order: ``(id, why)`` of the first that does not chain, or -- all chain
    but the last hash is not ``head`` (the newest entries were removed) -- ``(None, why)``; None when
    the chain holds."""
    previous = GENESIS
    last_id = None
    for e in entries:
        stored = e.get("hash")
        if not stored:
            return e.get("id"), Msg("it has no hash: written by another tool")
        if entry_hash(previous, e) != stored:
            return e.get("id"), Msg("its content or an entry before it was edited, deleted or inserted outside crmctl")
        previous = stored
        last_id = e.get("id")
    if head is not None and head != previous:
        if last_id is None:
            return None, Msg("the trail is empty but crmctl wrote entries: they were removed (or the chain's head edited)")
        return None, Msg("its newest entry {last_id} is not the chain's head: entries after it were removed, or "
                         "entries added or the head edited, outside crmctl", last_id=last_id)
    return None


__all__ = ["CONTENT", "GENESIS", "canonical", "entry_hash", "first_break", "utc_text"]
