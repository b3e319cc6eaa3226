"""A table on a terminal (:func:`crmctl.output._write_table`): as wide as the terminal -- codes,
logins, dates and numbers never broken over lines, long names folded, the columns past the width
named in a note -- and paged when longer than the terminal.  Light: rich's ``cell_len`` only."""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING

from crmctl.i18n import N_

if TYPE_CHECKING:
    from crmctl.views import Column



#: what a table folded to the terminal's width says after "… N more columns:"
MORE_COLUMNS_HINT = N_("use --format csv, json or xlsx to see them all")
_DEFAULT_PAGER = "less -FRX"
_SHORT_TEXT = 20  # an ASCII cell at most this long (a code, a login, a date-time) is never wrapped
_SHORT_WIDE = 12  # the same for text with wide (CJK) characters: a grade or status label
_WRAPPED_MIN = 12  # a column whose text wraps (a name) is given at least this many columns


def _short(text: str) -> bool:
    from rich.cells import cell_len

    if text.isascii():
        return len(text) <= _SHORT_TEXT and "\n" not in text
    return cell_len(text) <= _SHORT_WIDE and "\n" not in text


def keeps_whole(column: Column, texts: list[str]) -> bool:
    """Cells of ``column`` that are never broken over lines: numbers, and columns of short things
    (codes like C000011 or TS-2026-0007, logins, grades, periods, dates) -- ``Column.no_wrap``
    decides when the view says."""
    if column.no_wrap is not None:
        return column.no_wrap
    if column.number is not None:
        return True
    return all(_short(t) for t in texts)


def _fold_heading(text: str, width: int) -> str:
    """A heading longer than its column's cells, wrapped at spaces to ``width`` (never inside a word)."""
    from rich.cells import cell_len

    if cell_len(text) <= width or " " not in text:
        return text
    import textwrap

    return "\n".join(textwrap.wrap(text, width=max(width, max(cell_len(w) for w in text.split())),
                                    break_long_words=False, break_on_hyphens=False))


def fit_columns(headings: list[str], texts: list[list[str]], whole: list[bool], width: int) -> tuple[int, list[str]]:
    """How many of the columns (from the first) fit into ``width`` terminal columns, and the headings
    as shown (long ones wrapped at spaces): a column kept whole takes its longest cell, a wrapped one
    at least :data:`_WRAPPED_MIN`; the table's rules and padding take 3 per column and 1."""
    from rich.cells import cell_len

    used = 1
    shown: list[str] = []
    for i, head in enumerate(headings):
        longest = max((cell_len(t) for t in texts[i]), default=0)
        if whole[i]:
            head = _fold_heading(head, max(longest, 1))
            need = max([longest] + [cell_len(line) for line in head.split("\n")])
        else:
            words = max((cell_len(w) for w in head.split()), default=0)
            need = min(max(longest, cell_len(head)), max(_WRAPPED_MIN, words))
        if i and used + need + 3 > width:
            return i, shown
        used += need + 3
        shown.append(head)
    return len(headings), shown


def pager_command() -> str | None:
    """The pager for long tables: ``$CRMCTL_PAGER``, else ``$PAGER``, else ``less -FRX``; None when
    one of them is set but empty, or ``--no-pager`` was given."""
    try:
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - older Typer
        try:
            from click import get_current_context
        except ImportError:
            get_current_context = None  # type: ignore[assignment]
    ctx = get_current_context(silent=True) if get_current_context is not None else None
    settings = ctx.find_root().obj if ctx is not None else None
    if getattr(settings, "no_pager", False):
        return None
    for name in ("CRMCTL_PAGER", "PAGER"):
        value = os.environ.get(name)
        if value is not None:
            return value.strip() or None
    return _DEFAULT_PAGER


def page(stream: IO, text: str, height: int, is_terminal: bool) -> bool:
    """Show ``text`` through the pager when ``stream`` is this process's stdout on a terminal
    (``is_terminal``) and ``text`` is longer than the terminal; False when it was not paged (the
    caller writes it)."""
    if stream is not sys.stdout or text.count("\n") < height or not is_terminal:
        return False
    command = pager_command()
    if not command:
        return False
    import shlex
    import subprocess

    try:
        argv = shlex.split(command)
    except ValueError:
        return False
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    stream.flush()
    try:
        subprocess.run(argv, input=text.encode(getattr(stream, "encoding", None) or "utf-8", "replace"),
                       env=env, check=False)
    except OSError:  # no such pager: the table is written as it is
        return False
    except KeyboardInterrupt:  # Ctrl-C in the pager ends the listing, not with an error
        return True
    return True


def _justified(text: str, width: int, justify: str) -> str:
    if justify != "left":  # as rich's Text.justify: spaces at the end do not count when aligning
        text = text.rstrip()
    from rich.cells import cell_len

    excess = width - cell_len(text)
    if justify == "right":
        return " " * excess + text
    if justify == "center":
        return " " * (excess // 2) + text + " " * (excess - excess // 2)
    return text + " " * excess


def plain_table(title: str | None, headings: list[str], justify: list[str], columns: list[list[str]],
                width: int) -> str | None:
    """The characters rich's default table (heavy head, one space of padding) prints to a file or a
    pipe, written directly, when every heading and cell is one line of printable text and the table
    fits ``width``: the same text in a fraction of the time (rich measures and renders every cell
    as an object of its own: 0.6 s for an agenda of 1 500 lines); None where rich's folding and
    wrapping are needed.  ``columns`` holds each column's cells."""
    from rich.cells import cell_len

    cells = [[h, *col] for h, col in zip(headings, columns)]
    if not all(t.isprintable() for col in cells for t in col):
        return None
    widths = [max(map(cell_len, col)) for col in cells]
    inner = sum(widths) + 3 * len(widths) - 1
    if inner + 2 > width or (title and (not title.isprintable() or cell_len(title) > inner + 2)):
        return None
    lines = []
    if title:
        lines.append(_justified(title, inner + 2, "center"))
    lines.append("┏" + "┳".join("━" * (w + 2) for w in widths) + "┓")
    lines.append("┃ " + " ┃ ".join(_justified(h, w, j) for h, w, j in zip(headings, widths, justify)) + " ┃")
    lines.append("┡" + "╇".join("━" * (w + 2) for w in widths) + "┩")
    for row in zip(*columns):
        lines.append("│ " + " │ ".join(_justified(t, w, j) for t, w, j in zip(row, widths, justify)) + " │")
    lines.append("└" + "┴".join("─" * (w + 2) for w in widths) + "┘")
    return "\n".join(lines) + "\n"


def rich_table(console, title: str | None, columns: list[Column], headings: list[str], whole: list[bool],
               texts: list[list[str]]) -> str:
    """The table as rich renders it for ``console``: cells folded and wrapped to its width, an ASCII
    box where its encoding has no box-drawing characters.  Text is never parsed for markup or emoji
    codes: "[red]" in a name prints literally."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title) if title else None)
    for c, head, keep in zip(columns, headings, whole):
        # a long name folds (a Chinese name has no spaces to wrap at): all of it is shown; codes, logins,
        # dates and numbers are never broken over two lines
        table.add_column(Text(head), justify=c.justify,  # type: ignore[arg-type]
                         overflow="ellipsis" if keep else "fold", no_wrap=keep)
    for row in zip(*texts):
        table.add_row(*(Text(t) for t in row))
    with console.capture() as captured:
        console.print(table)
    return captured.get()
