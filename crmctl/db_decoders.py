"""Driver values as Python values, for the streamed bulk reads (``crmctl.db.raw_chunks`` and
``copy_chunks``) that take what each backend's driver gives without SQLAlchemy's result types."""

from __future__ import annotations

from datetime import datetime, timezone


def json_decoder():
    """Driver value of a JSON column -> Python (SQLite gives text, psycopg the decoded value)."""
    import json

    loads = json.loads
    return lambda v: loads(v) if isinstance(v, (str, bytes)) else v


def utc_decoder():
    """Driver value of a stored UTC date-time -> an aware datetime."""

    def to_time(v):
        if isinstance(v, str):
            v = datetime.fromisoformat(v)
        return v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v

    return to_time


def day_decoder():
    """Driver value of a date column -> a date (SQLite gives ISO text)."""
    from datetime import date

    return lambda v: date.fromisoformat(v[:10]) if isinstance(v, str) else v

