"""Whether a customer matches a policy condition (``when = {...}`` in the policy file).

A condition may name ``segments``, ``fields``, ``grades`` (scale -> grade), ``status`` and
``not_segments``; each value is one value or a list of accepted values.  Every part must hold.
Duck-typed: works on the pydantic model or a plain dict.
"""

from __future__ import annotations

from typing import Any, Mapping  # noqa: F401


def _get(cond: Any, name: str):
    if cond is None:
        return None
    if type(cond) is dict:  # fast path first: this runs for every customer of an import
        return cond.get(name)
    return getattr(cond, name, None)


def _accepts(expected: Any, actual: Any) -> bool:
    if isinstance(expected, (list, tuple, set, frozenset)):
        return actual in expected
    return actual == expected


def matches(cond: Any, *, segments: Mapping | None = None, fields: Mapping | None = None,
            grades: Mapping | None = None, status: str | None = None) -> bool:
    if cond is None:
        return True
    segments, fields, grades = segments or {}, fields or {}, grades or {}
    for key, expected in (_get(cond, "segments") or {}).items():
        if not _accepts(expected, segments.get(key)):
            return False
    for key, expected in (_get(cond, "not_segments") or {}).items():
        if _accepts(expected, segments.get(key)):
            return False
    for key, expected in (_get(cond, "fields") or {}).items():
        if not _accepts(expected, fields.get(key)):
            return False
    for scale, expected in (_get(cond, "grades") or {}).items():
        if not _accepts(expected, grades.get(scale)):
            return False
    wanted = _get(cond, "status")
    if wanted and not _accepts(wanted, status):
        return False
    return True
