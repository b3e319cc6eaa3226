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


def _has_bool(expected: Any) -> bool:
    if isinstance(expected, (list, tuple, set, frozenset)):
        return any(isinstance(v, bool) for v in expected)
    return isinstance(expected, bool)


def matches(cond: Any, *, segments: Mapping | None = None, fields: Mapping | None = None,
            grades: Mapping | None = None, status: str | None = None) -> bool:
    """Whether a customer with these segments, custom fields, current grades and status is selected.

    A missing segment or grade never matches a ``segments``/``grades`` key and always passes a
    ``not_segments`` key; a missing bool field counts as ``false``.
    """
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
        have = fields.get(key)
        if have is None and _has_bool(expected):
            have = False
        if not _accepts(expected, have):
            return False
    for scale, expected in (_get(cond, "grades") or {}).items():
        if not _accepts(expected, grades.get(scale)):
            return False
    wanted = _get(cond, "status")
    if wanted and not _accepts(wanted, status):
        return False
    return True
