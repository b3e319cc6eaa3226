"""The database tables (SQLModel), one module per area.

``from crmctl.models import Customer`` loads only what it names: the core tables always, the grading,
service and activity tables on first use (defining SQLModel classes is a noticeable part of a
command's start-up).  ``load_all()`` registers every table, for migrations and ``db copy``.
"""

from __future__ import annotations

import importlib

from .core import *  # noqa: F401,F403
from .core import UTCDateTime  # noqa: F401

_AREAS = ("grading", "service", "activities", "calendar", "notify")


def load_all() -> None:
    for area in _AREAS:
        importlib.import_module(f"{__name__}.{area}")


def __getattr__(name: str):
    for area in _AREAS:
        module = importlib.import_module(f"{__name__}.{area}")
        if name in module.__all__:
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
