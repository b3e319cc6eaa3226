"""A table written to a file or a pipe without rich (crmctl.output_terminal.plain_table): the same
characters as rich's table, or None where rich has to fold and wrap."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmctl import output
from crmctl.output import OutputSpec, emit_rows
from crmctl.output_terminal import plain_table
from crmctl.views import Column

WIDE = 100_000


def rich_table(title, headings, justify, columns, width=WIDE, whole=None) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None, no_color=True,
                      highlight=False, emoji=False, markup=False, legacy_windows=False, soft_wrap=False)
    table = Table(title=Text(title) if title else None)
    for h, j, keep in zip(headings, justify, whole or [False] * len(headings)):
        table.add_column(Text(h), justify=j, overflow="ellipsis" if keep else "fold", no_wrap=keep)
    for row in zip(*columns):
        table.add_row(*(Text(t) for t in row))
    console.print(table)
    return console.file.getvalue()


# ASCII, CJK (two columns wide), a combining accent, full-width punctuation and an emoji
PIECES = list("aZ09 -_.:/#") + ["中", "文", "客户", "é", "e\u0301", "，", "🙂", "ｱ"]
TEXT = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_same_characters_as_rich(data):
    ncols = data.draw(st.integers(1, 5))
    nrows = data.draw(st.integers(0, 6))
    headings = data.draw(st.lists(TEXT, min_size=ncols, max_size=ncols))
    justify = data.draw(st.lists(st.sampled_from(["left", "right", "center"]), min_size=ncols, max_size=ncols))
    columns = [data.draw(st.lists(TEXT, min_size=nrows, max_size=nrows)) for _ in range(ncols)]
    title = data.draw(st.one_of(st.none(), TEXT))
    plain = plain_table(title, headings, justify, columns, WIDE)
    expected = rich_table(title, headings, justify, columns)
    if plain is None:  # only a title wider than the table is left to rich here
        from rich.cells import cell_len

        assert title and len(expected.splitlines()[-1]) < cell_len(title)
    else:
        assert plain == expected


def test_folding_and_control_characters_are_left_to_rich():
    # wider than the width: rich folds it
    assert plain_table(None, ["name"], ["left"], [["x" * 50]], 40) is None
    # a title wider than the table: rich wraps it over lines
    assert plain_table("a long title over a narrow table", ["a"], ["left"], [["b"]], WIDE) is None
    # a line break, a tab or an escape sequence in a cell
    for text in ("two\nlines", "a\tb", "\x1b[31mred"):
        assert plain_table(None, ["h"], ["left"], [[text]], WIDE) is None
    assert plain_table(None, ["h"], ["left"], [["fits"]], 40) == rich_table(None, ["h"], ["left"], [["fits"]], 40)


@pytest.mark.parametrize("cells", [["C001", "客户一"], ["a\tb", "x"], ["two\nlines", "y"]])
def test_emit_rows_to_a_file_is_rich_table_whichever_path(cells):
    columns = [Column("code", "Code"), Column("name", "Name"), Column("n", "Amount", number="count")]
    rows = [{"code": cells[0], "name": cells[1], "n": 1234}, {"code": "C2", "name": None, "n": None}]
    buf = io.StringIO()
    emit_rows(OutputSpec(), rows, columns, stream=buf, title="Customers")
    assert buf.getvalue() == rich_table("Customers", ["Code", "Name", "Amount"], ["left", "left", "right"],
                                        [[cells[0], "C2"], [cells[1], ""], ["1,234", ""]],
                                        whole=["\n" not in cells[0], "\n" not in cells[1], True])


def test_emit_rows_keeps_the_row_limit_note():
    buf = io.StringIO()
    emit_rows(OutputSpec(), ({"a": i} for i in range(output.TABLE_ROW_LIMIT + 3)), [Column("a", "A")], stream=buf)
    lines = buf.getvalue().splitlines()
    assert lines[-2] == "└" + "─" * 6 + "┘"
    assert lines[-1].startswith("… 3 more rows;")
