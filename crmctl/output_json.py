"""Values as JSON data (crmctl.output's JSON and xlsx writers, and the services that store JSON):
dates as ``YYYY-MM-DD``, aware date-times as ISO 8601 with their offset, Decimal as int or float,
enums as their values, sets sorted."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any


def _iso_datetime(value: datetime) -> str:
    if value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r} given to output: date-times must carry a time zone")
    return value.isoformat()


def _sorted_set(value: set | frozenset) -> list:
    try:
        return sorted(value)
    except TypeError:  # mixed types
        return sorted(value, key=lambda v: (type(v).__name__, str(v)))


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dict, list, str, int, float, bool, None), recursively.

    Dates -> ``YYYY-MM-DD``; aware date-times -> ISO 8601 with offset (naive ones raise ValueError);
    Decimal -> int if integral else float; enums -> their value; sets -> sorted lists; tuples and other
    iterables -> lists; mappings -> dicts with str keys.
    """
    t = type(value)
    if t is str or t is int or t is float or t is bool or value is None:
        return value
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, datetime):
        return _iso_datetime(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {_json_key(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return [to_jsonable(v) for v in _sorted_set(value)]
    if isinstance(value, (list, tuple)) or (isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray))):
        return [to_jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)  # pydantic / sqlmodel objects
    if callable(dump):
        return to_jsonable(dump(mode="python"))
    return str(value)


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return str(key)
    converted = to_jsonable(key)
    return converted if isinstance(converted, str) else json.dumps(converted)


def _json_default(value: Any) -> Any:
    # Called by the C encoder only for what it cannot encode itself (Decimal, dates, sets, enums, ...).
    converted = to_jsonable(value)
    if converted is value:  # pragma: no cover - to_jsonable always converts what reaches here
        raise TypeError(f"cannot write {type(value).__name__} as JSON")
    return converted


_JSON_LINE = json.JSONEncoder(ensure_ascii=False, default=_json_default)
_JSON_PRETTY = json.JSONEncoder(ensure_ascii=False, default=_json_default, indent=2)


def _json_encode(encoder: json.JSONEncoder, obj: Any) -> str:
    try:
        return encoder.encode(obj)
    except TypeError:
        # e.g. a nested dict keyed by dates, which the C encoder refuses; convert everything first.
        return encoder.encode(to_jsonable(obj))
