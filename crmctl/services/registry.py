"""Where business areas plug into shared work, without anyone keeping a list of them.

* **hand-over** (``staff leave``): every area that keeps open work per person registers a step
  ``(session, leaver, heir, now) -> (what, how many moved)`` with :func:`handover_step`, with an
  ``order`` (the order of the hand-over summary);
* **demo** (``crmctl demo``): every area that can fill a sample database registers a step
  ``(app, rng) -> lines`` with :func:`demo_step`, with an ``order`` (usage and grades before service
  work, service work before the relationship plan that depends on the grades).

A step registers when its module is imported; :func:`handover_steps` and :func:`demo_steps` import
every module of ``crmctl.services`` first (``pkgutil``), so a new area's module is found by being
there.  Nothing here imports an area.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

_HANDOVER: dict[str, tuple[int, Callable]] = {}
_DEMO: dict[str, tuple[int, Callable]] = {}
_loaded = False


def _register(table: dict, order: int) -> Callable[[Callable], Callable]:
    def deco(fn: Callable) -> Callable:
        table[f"{fn.__module__}.{fn.__qualname__}"] = (order, fn)
        return fn

    return deco


def handover_step(order: int) -> Callable[[Callable], Callable]:
    """Register ``fn(session, leaver, heir, now) -> (what, count)`` for ``staff leave``, run by ``order``."""
    return _register(_HANDOVER, order)


def demo_step(order: int) -> Callable[[Callable], Callable]:
    """Register ``fn(app, rng) -> Iterator[str]`` (summary lines) for ``crmctl demo``, run by ``order``."""
    return _register(_DEMO, order)


def _ordered(table: dict) -> list[Callable]:
    return [fn for _k, (_o, fn) in sorted(table.items(), key=lambda kv: (kv[1][0], kv[0]))]


def _load_areas() -> None:
    global _loaded
    if _loaded:
        return
    from .. import services

    for info in pkgutil.walk_packages(services.__path__, prefix=f"{services.__name__}."):
        importlib.import_module(info.name)
    _loaded = True


def handover_steps() -> list[Callable]:
    """Every registered hand-over step, by its order."""
    _load_areas()
    return _ordered(_HANDOVER)


def demo_steps() -> list[Callable]:
    """Every registered demo step, by its order."""
    _load_areas()
    return _ordered(_DEMO)
