"""The columns of a listing as data: each :class:`Field` is one JSON/CSV key, in the order the
CSV shows them (dotted keys reach into nested objects: ``segments.nature``).

Services say which fields a listing has; the view layer (:mod:`crmctl.views`) gives each a heading
and a way to show its values; :mod:`crmctl.output` writes them.  Nothing here imports anything.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    key: str


def fields(*keys: str) -> list[Field]:
    return [Field(k) for k in keys]


class JsonCell(dict):
    """A nested object whose keys are data, not columns (an audit entry's ``before``/``after``):
    JSON shows it nested as any object; CSV keeps it as one cell of JSON text (not flattened)."""
