"""A progress bar for long work, shown only when stdout is a terminal (cron and pipes see nothing)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator


class _Silent:
    def advance(self, n: int = 1) -> None:
        pass

    def update_total(self, total: int | None) -> None:
        pass


class _Bar:
    def __init__(self, progress, task):
        self._p, self._t = progress, task

    def advance(self, n: int = 1) -> None:
        self._p.advance(self._t, n)

    def update_total(self, total: int | None) -> None:
        self._p.update(self._t, total=total)


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[_Silent | _Bar]:
    if not sys.stdout.isatty() or not sys.stderr.isatty():
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as p:
        yield _Bar(p, p.add_task(description, total=total))
