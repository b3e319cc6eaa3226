"""Progress of long work, as the services report it.

A *progress* is a callable ``progress(description, total=None)`` returning a context manager that
yields a bar with ``advance(n)`` and ``update_total(total)``.  Services take one as a parameter and
default to :func:`silent`; they never touch the terminal.  Commands pass the terminal bar
(``crmctl.commands._common.progress``: shown only when stdout and stderr are a terminal, so cron
and pipes see nothing).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, ContextManager, Iterator, Protocol


class Bar(Protocol):
    def advance(self, n: int = 1) -> None: ...

    def update_total(self, total: int | None) -> None: ...


Progress = Callable[..., ContextManager[Bar]]


class _Silent:
    def advance(self, n: int = 1) -> None:
        pass

    def update_total(self, total: int | None) -> None:
        pass


@contextmanager
def silent(description: str = "", total: int | None = None) -> Iterator[Bar]:
    """A progress that shows nothing (the default of every service)."""
    yield _Silent()
