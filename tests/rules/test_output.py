"""crmctl.output: the json/csv/table writers and the atomic --output file."""

from __future__ import annotations

import csv
import enum
import io
import json
import os
import sys
import tracemalloc
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from crmctl import output
from crmctl.errors import InvalidInput
from crmctl.output import (
    FORMATS,
    TABLE_ROW_LIMIT,
    Column,
    OutputSpec,
    emit_object,
    emit_rows,
    emit_text,
    emit_tuples,
    escape_csv_cell,
    flatten,
    open_output,
    to_jsonable,
)

CST = timezone(timedelta(hours=8))


class Status(enum.Enum):
    ACTIVE = "active"


CUSTOMER = {
    "code": "C001",
    "name": "华北石化",
    "status": Status.ACTIVE,
    "segments": {"nature": "big", "card": "unit"},
    "grades": {"big": "gold"},
    "created_at": datetime(2026, 1, 5, 9, 30, tzinfo=CST),
    "since": date(2025, 12, 1),
    "credit": Decimal("1234.50"),
    "qty": Decimal("20"),
    "tags": {"b", "a"},
}


def run(fmt, rows, columns=None, title=None, **spec):
    buf = io.StringIO()
    n = emit_rows(OutputSpec(format=fmt, **spec), rows, columns, title=title, stream=buf)
    return n, buf.getvalue()


def csv_rows(text):
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


# ---------------------------------------------------------------------------------------- spec


def test_spec_defaults_and_validation():
    spec = OutputSpec()
    assert (spec.format, spec.output, spec.bom, spec.encoding) == ("table", None, False, "utf-8")
    assert FORMATS == ("table", "json", "csv", "xlsx")
    assert OutputSpec(encoding="GBK").encoding == "gb18030"  # GBK is written as its superset
    assert OutputSpec(encoding="gb18030").encoding == "gb18030"
    assert OutputSpec(encoding="utf8").encoding == "utf-8"
    with pytest.raises(InvalidInput):
        OutputSpec(format="xml")
    with pytest.raises(InvalidInput):
        OutputSpec(encoding="latin-1")


def test_column_title_defaults_to_key():
    assert Column("segments.nature").title == "segments.nature"
    assert Column("code", "编码").title == "编码"


# ---------------------------------------------------------------------------------------- json


def test_json_array_shape_nested_dates_decimal():
    n, text = run("json", iter([CUSTOMER, {"code": "C002", "name": "b"}]))
    assert n == 2
    assert text.startswith("[\n") and text.endswith("\n]\n")
    assert len(text.splitlines()) == 4  # one object per line
    data = json.loads(text)
    assert isinstance(data, list) and len(data) == 2
    first = data[0]
    assert first["segments"] == {"nature": "big", "card": "unit"}  # kept nested
    assert first["created_at"] == "2026-01-05T09:30:00+08:00"
    assert first["since"] == "2025-12-01"
    assert first["credit"] == 1234.5 and isinstance(first["credit"], float)
    assert first["qty"] == 20 and isinstance(first["qty"], int)
    assert first["status"] == "active"
    assert first["tags"] == ["a", "b"]
    assert "华北石化" in text  # ensure_ascii=False


def test_json_zero_rows_is_an_empty_array():
    n, text = run("json", iter([]))
    assert n == 0 and json.loads(text) == []


def test_json_naive_datetime_is_a_programming_error():
    with pytest.raises(ValueError):
        run("json", [{"at": datetime(2026, 1, 1, 8, 0)}])
    with pytest.raises(ValueError):
        to_jsonable(datetime(2026, 1, 1))


def test_to_jsonable():
    assert to_jsonable(CUSTOMER)["created_at"] == "2026-01-05T09:30:00+08:00"
    assert to_jsonable({"d": {date(2026, 1, 1): Decimal("1.5")}}) == {"d": {"2026-01-01": 1.5}}
    assert to_jsonable((1, {3, 2})) == [1, [2, 3]]
    assert to_jsonable(datetime(2026, 1, 1, tzinfo=timezone.utc)) == "2026-01-01T00:00:00+00:00"
    # a mapping keyed by dates cannot go through the C encoder directly: still written
    _, text = run("json", [{"counts": {date(2026, 1, 1): 3}}])
    assert json.loads(text) == [{"counts": {"2026-01-01": 3}}]


# ---------------------------------------------------------------------------------------- csv


def test_csv_header_with_zero_rows():
    cols = [Column("code"), Column("segments.nature")]
    n, text = run("csv", iter([]), cols)
    assert n == 0
    assert text == "code,segments.nature\r\n"


def test_csv_bom_present_and_absent():
    cols = [Column("code")]
    _, with_bom = run("csv", [{"code": "C1"}], cols, bom=True)
    _, without = run("csv", [{"code": "C1"}], cols)
    assert with_bom.startswith("\ufeffcode\r\n")
    assert without.startswith("code\r\n")
    # no BOM in JSON (it would break JSON parsers)
    _, js = run("json", [{"code": "C1"}], bom=True)
    assert not js.startswith("\ufeff")


def test_csv_bom_written_to_file(tmp_path):
    target = tmp_path / "out.csv"
    emit_rows(OutputSpec(format="csv", output=str(target), bom=True), [{"name": "张三"}])
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig") == "name\r\n张三\r\n"


def test_csv_gb18030_keeps_every_character(tmp_path):
    """--encoding gbk writes GB 18030: characters GBK lacks (𠮷, 䶮, emoji) survive, none becomes ?."""
    target = tmp_path / "gbk.csv"
    rows = [{"name": "华北石化有限公司", "city": "石家庄"}, {"name": "表情😀", "city": "𠮷䶮"}]
    emit_rows(OutputSpec(format="csv", output=str(target), encoding="gbk"), rows)
    raw = target.read_bytes()
    assert csv_rows(raw.decode("gb18030")) == [["name", "city"], ["华北石化有限公司", "石家庄"], ["表情😀", "𠮷䶮"]]
    assert raw.startswith("name".encode("gbk")) and "华北石化".encode("gbk") in raw  # GBK readers read GBK text
    with pytest.raises(InvalidInput, match="--bom is the UTF-8 byte-order mark"):
        OutputSpec(format="csv", encoding="gbk", bom=True)


@pytest.mark.parametrize("text", ["=1+1", "+86 138", "-x", "@a", "\tx", "\rx"])
def test_csv_dangerous_leading_characters_escaped(text):
    assert escape_csv_cell(text) == "'" + text
    _, out = run("csv", [{"v": text}], [Column("v")])
    assert csv_rows(out)[1] == ["'" + text]


def test_csv_numbers_and_plain_text_untouched():
    assert escape_csv_cell(-5) == -5
    assert escape_csv_cell(3.5) == 3.5
    assert escape_csv_cell("x-1") == "x-1"
    assert escape_csv_cell("") == ""
    row = {"a": -5, "b": 3.5, "c": Decimal("-2.50"), "d": None, "e": True, "f": False, "g": ["x", "y"], "h": "ok"}
    _, out = run("csv", [row])
    assert csv_rows(out) == [list(row), ["-5", "3.5", "-2.50", "", "true", "false", "x;y", "ok"]]


def test_csv_joined_list_is_text_and_escaped():
    assert escape_csv_cell(["-x", "y"]) == "'-x;y"
    assert escape_csv_cell({"b", "a"}) == "a;b"


def test_csv_dates_enum_and_nested_flattening():
    n, out = run("csv", iter([CUSTOMER]))
    assert n == 1
    header, row = csv_rows(out)
    assert header[:6] == ["code", "name", "status", "segments.nature", "segments.card", "grades.big"]
    record = dict(zip(header, row))
    assert record["segments.nature"] == "big"
    assert record["status"] == "active"
    assert record["created_at"] == "2026-01-05T09:30:00+08:00"
    assert record["since"] == "2025-12-01"
    assert record["credit"] == "1234.50"
    assert record["tags"] == "a;b"


def test_csv_columns_are_the_json_keys_whatever_the_table_columns():
    """Issue 16: the columns given pick the table's columns only; csv writes the JSON keys of the
    rows, flattened, in the JSON's order (a key a row lacks is an empty cell)."""
    cols = [Column("code"), Column("segments.nature"), Column("grades.big"), Column("absent")]
    rows = [{"code": "C1", "segments": {"nature": "big", "card": "unit"}, "tags": ["a", "b"]},
            {"code": "C2", "segments": {}}, {"code": "C3", "segments.nature": "flat"}]
    _, out = run("csv", rows, cols)
    assert csv_rows(out) == [
        ["code", "segments.nature", "segments.card", "tags"],
        ["C1", "big", "unit", "a;b"],
        ["C2", "", "", ""],
        ["C3", "flat", "", ""],
    ]
    # zero rows: the declared fields of the listing (else the columns) make the header
    assert csv_rows(run("csv", [], cols)[1]) == [["code", "segments.nature", "grades.big", "absent"]]
    buf = io.StringIO()
    emit_rows(OutputSpec(format="csv"), [], cols, fields=[Column("code"), Column("x.y")], stream=buf)
    assert csv_rows(buf.getvalue()) == [["code", "x.y"]]


def test_csv_list_of_objects_is_one_json_array_and_json_cell_stays_one_cell():
    from crmctl.output import JsonCell

    row = {"id": 1, "docs": [{"type": "a", "n": 1}, {"type": "b;c", "n": 2}], "after": JsonCell({"x": {"y": 1}})}
    _, out = run("csv", [row])
    header, line = csv_rows(out)
    assert header == ["id", "docs", "after"]
    assert json.loads(line[1]) == row["docs"] and json.loads(line[2]) == {"x": {"y": 1}}
    assert json.loads(run("json", [row])[1])[0]["after"] == {"x": {"y": 1}}


def test_tuples_csv_same_escaping_as_rows():
    """The flat export path writes what the dict path writes: formula-like text escaped, numbers,
    booleans, empty cells and dates as everywhere else; a header even without rows."""
    cols = [Column("code"), Column("name"), Column("n"), Column("ok"), Column("none"), Column("when"), Column("x.y")]
    values = [("C1", "=HYPERLINK(1)", -5, True, None, date(2026, 1, 2), "@x"), ("C2", "", 3.5, False, None, None, "中文")]
    buf = io.StringIO()
    n = emit_tuples(OutputSpec(format="csv"), cols, iter(values), stream=buf)
    assert n == 2
    as_dicts = [dict(zip([c.key for c in cols], v)) for v in values]
    assert buf.getvalue() == run("csv", as_dicts, cols)[1]
    assert csv_rows(buf.getvalue()) == [
        ["code", "name", "n", "ok", "none", "when", "x.y"],
        ["C1", "'=HYPERLINK(1)", "-5", "true", "", "2026-01-02", "'@x"],
        ["C2", "", "3.5", "false", "", "", "中文"],
    ]
    empty = io.StringIO()
    assert emit_tuples(OutputSpec(format="csv", bom=True), cols, [], stream=empty) == 0
    assert csv_rows(empty.getvalue()) == [[c.key for c in cols]]


def test_tuples_json_and_table_are_keyed_by_column():
    cols = [Column("code", "编号"), Column("segments.nature", "性质", table_format=lambda v: {"big": "大客户"}[v])]
    buf = io.StringIO()
    emit_tuples(OutputSpec(format="json"), cols, [("C1", "big")], stream=buf)
    assert json.loads(buf.getvalue()) == [{"code": "C1", "segments.nature": "big"}]
    buf = io.StringIO()
    emit_tuples(OutputSpec(format="table"), cols, [("C1", "big")], stream=buf)
    assert "大客户" in buf.getvalue() and "编号" in buf.getvalue()


def test_tuples_csv_pauses_the_garbage_collector_and_restores_it():
    import gc

    def tuples(cols, rows):
        return emit_tuples(OutputSpec(format="csv"), cols, rows, stream=io.StringIO())

    seen = []

    def watched():
        seen.append(gc.isenabled())
        yield (1,)

    was = gc.isenabled()
    try:
        for state in (True, False):
            (gc.enable if state else gc.disable)()
            seen.clear()
            tuples([Column("a")], watched())
            assert seen == [False] and gc.isenabled() is state
            run("csv", [{"a": 1}], [Column("a")])  # dict rows (reports): the collector is left alone
            assert gc.isenabled() is state

        def broken():
            yield (1,)
            raise RuntimeError("source failed")

        gc.enable()
        with pytest.raises(RuntimeError):
            tuples([Column("a")], broken())
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_flatten():
    assert flatten({"a": 1, "segments": {"nature": "big", "x": {"y": 2}}}) == {
        "a": 1,
        "segments.nature": "big",
        "segments.x.y": 2,
    }
    assert flatten({"nature": "big"}, "segments") == {"segments.nature": "big"}


def test_csv_streams_in_constant_memory():
    def rows():
        for i in range(200_000):
            yield {"code": f"C{i:06d}", "qty": i, "note": "-x" if i % 2 else "ok"}

    buf = io.StringIO()
    tracemalloc.start()
    try:
        n = emit_rows(OutputSpec(format="csv"), rows(), [Column("code"), Column("qty"), Column("note")], stream=buf)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 200_000
    assert peak < 20 * 1024 * 1024  # includes the StringIO holding the output itself
    lines = buf.getvalue().split("\r\n")
    assert lines[0] == "code,qty,note" and lines[2] == "C000001,1,'-x" and lines[200_000] == "C199999,199999,'-x"


class _Sink:
    """A stream that keeps nothing: measures the writer's own memory."""

    def __init__(self):
        self.chars = 0

    def write(self, s):
        self.chars += len(s)


def test_json_streams_in_constant_memory():
    rows = ({"code": f"C{i}", "segments": {"nature": "big"}, "at": date(2026, 1, 1)} for i in range(50_000))
    sink = _Sink()
    tracemalloc.start()
    try:
        n = emit_rows(OutputSpec(format="json"), rows, stream=sink)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 50_000 and sink.chars > 50_000 * 40
    assert peak < 2 * 1024 * 1024


# ---------------------------------------------------------------------------------------- table


def test_table_chinese_titles_labels_and_literal_markup():
    labels = {"big": "大客户", "individual": "个人客户"}
    cols = [
        Column("code", "客户编码"),
        Column("name", "名称"),
        Column("segments.nature", "性质", table_format=labels.__getitem__),
        Column("owner", "负责人", table_format=labels.__getitem__),  # None: not formatted
    ]
    rows = [{"code": "C001", "name": "[red]危险[/red] :smile:", "segments": {"nature": "big"}, "owner": None}]
    n, out = run("table", iter(rows), cols, title="客户列表")
    assert n == 1
    for text in ("客户列表", "客户编码", "名称", "性质", "大客户", "[red]危险[/red] :smile:"):
        assert text in out
    assert "\x1b[" not in out  # not a terminal: no colour codes
    assert "None" not in out


def test_table_caps_rows(monkeypatch):
    assert TABLE_ROW_LIMIT == 5_000
    monkeypatch.setattr(output, "TABLE_ROW_LIMIT", 50)  # rendering 5 000 rows is slow, the rule is the same
    n, out = run("table", ({"i": i} for i in range(57)))
    assert n == 57
    assert out.endswith("\n… 7 more rows; use --format csv\n")
    assert " 49 " in out and " 50 " not in out


def test_table_to_file_is_plain_text(tmp_path, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    target = tmp_path / "t.txt"
    emit_rows(OutputSpec(format="table", output=str(target)), [{"名称": "华北" * 40}], title="客户")
    text = target.read_text("utf-8")
    assert "\x1b[" not in text
    assert "华北" * 40 in text  # no wrapping at 80 columns in a file


def test_table_gbk_file_stays_aligned(tmp_path):
    target = tmp_path / "t.txt"
    emit_rows(OutputSpec(format="table", output=str(target), encoding="gbk"), [{"name": "张三😀", "v": 1}])
    lines = target.read_text("gb18030").splitlines()
    assert any("张三😀" in line for line in lines)
    body = [line for line in lines if line.startswith("|")]
    widths = {sum(2 if ord(ch) > 0x2E80 else 1 for ch in line) for line in body}
    assert len(widths) == 1


# ---------------------------------------------------------------------------------------- one object


def test_emit_object_json():
    buf = io.StringIO()
    emit_object(OutputSpec(format="json"), CUSTOMER, stream=buf)
    data = json.loads(buf.getvalue())
    assert isinstance(data, dict)
    assert data["segments"]["nature"] == "big" and data["created_at"] == "2026-01-05T09:30:00+08:00"


def test_emit_object_csv():
    buf = io.StringIO()
    emit_object(OutputSpec(format="csv"), CUSTOMER, [Column("code"), Column("segments.nature")], stream=buf)
    header, row = csv_rows(buf.getvalue())  # the JSON object's keys, flattened; the fields are the table's
    assert header == list(flatten(CUSTOMER)) and dict(zip(header, row))["segments.nature"] == "big"


def test_emit_object_table():
    buf = io.StringIO()
    emit_object(OutputSpec(format="table"), CUSTOMER, title="客户 C001", stream=buf)
    out = buf.getvalue()
    lines = out.splitlines()
    assert "客户 C001" in out
    assert any("segments.nature" in line and "big" in line for line in lines)
    assert any("created_at" in line and "2026-01-05 09:30+08:00" in line for line in lines)

    buf = io.StringIO()
    fields = [Column("code", "编码"), Column("segments", "分类"), Column("grades.big", "等级", table_format={"gold": "金卡"}.get)]
    emit_object(OutputSpec(format="table"), CUSTOMER, fields, stream=buf)
    out = buf.getvalue()
    assert "编码" in out and "分类.nature" in out and "金卡" in out and "华北石化" not in out


def test_emit_text(tmp_path):
    buf = io.StringIO()
    emit_text(OutputSpec(), "C001", stream=buf)
    assert buf.getvalue() == "C001\n"
    target = tmp_path / "x.txt"
    emit_text(OutputSpec(output=str(target)), "第一行\n")
    assert target.read_text("utf-8") == "第一行\n"


def test_stdout_is_default(capsys):
    emit_rows(OutputSpec(format="csv"), [{"a": 1}])
    assert capsys.readouterr().out == "a\r\n1\r\n"


# ---------------------------------------------------------------------------------------- files


def test_open_output_success_replaces_existing_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old content\n")
    emit_rows(OutputSpec(format="csv", output=str(target)), [{"code": "C1"}])
    assert target.read_bytes() == b"code\r\nC1\r\n"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_open_output_exception_leaves_nothing(tmp_path):
    target = tmp_path / "out.csv"

    def rows():
        yield {"code": "C1"}
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        emit_rows(OutputSpec(format="csv", output=str(target)), rows())
    assert os.listdir(tmp_path) == []

    target.write_text("keep me")
    with pytest.raises(KeyError):
        with open_output(OutputSpec(format="csv", output=str(target))) as f:
            f.write("partial")
            raise KeyError("boom")
    assert target.read_text() == "keep me"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_open_output_missing_folder(tmp_path):
    path = tmp_path / "nope" / "out.csv"
    with pytest.raises(InvalidInput) as err:
        with open_output(OutputSpec(format="csv", output=str(path))):
            pass  # pragma: no cover
    assert str(err.value) == f"cannot write {path}: folder {tmp_path / 'nope'} does not exist"


def test_open_output_target_is_a_folder(tmp_path):
    with pytest.raises(InvalidInput, match="it is a folder"):
        emit_rows(OutputSpec(format="csv", output=str(tmp_path)), [{"a": 1}])


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="permissions do not apply")
def test_open_output_not_writable(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(InvalidInput, match="permission denied"):
            emit_rows(OutputSpec(format="csv", output=str(folder / "x.csv")), [{"a": 1}])
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_open_output_file_mode_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "out.json"
        emit_rows(OutputSpec(format="json", output=str(target)), [])
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644  # not the 0600 of a temporary file


def test_open_output_binary(tmp_path):
    target = tmp_path / "out.bin"
    with open_output(OutputSpec(output=str(target)), binary=True) as f:
        f.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"


def test_open_output_permission_error_is_one_line(tmp_path, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(InvalidInput) as err:
        emit_rows(OutputSpec(format="csv", output=str(tmp_path / "x.csv")), [{"a": 1}])
    assert str(err.value) == f"cannot write {tmp_path / 'x.csv'}: permission denied"


def test_open_output_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(output.os, "replace", refuse)
    with pytest.raises(InvalidInput, match="permission denied"):
        emit_rows(OutputSpec(format="json", output=str(tmp_path / "x.json")), [{"a": 1}])
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------- numbers in tables, --labels csv (issue 17)


@pytest.mark.parametrize("value, kind, decimals, shown", [
    (12500.5, "qty", None, "12,500.50"),
    (Decimal("1234.5"), "money", None, "1,234.50"),
    (1234567, "count", None, "1,234,567"),
    (0.125, "qty", None, "0.13"),  # half up, not half even
    (Decimal("2.675"), "money", None, "2.68"),
    (85.25, "pct", None, "85.3%"),
    (100, "pct", None, "100.0%"),
    (-1, "count", None, "-1"),
    (-0.001, "qty", None, "0.00"),  # no "-0.00"
    (2968.2249, "qty", 3, "2,968.225"),
    (None, "qty", None, None),
    ("n/a", "count", None, "n/a"),
    (True, "count", None, True),
    (7, None, None, 7),
])
def test_format_number(value, kind, decimals, shown):
    assert output.format_number(value, kind, decimals) == shown


def test_number_column_is_right_aligned_and_checked():
    from crmctl.views import count, money, pct, qty

    assert Column("n", number="count").justify == "right"
    assert (qty("v").number, qty("v", decimals=3).decimals, money("m").number, pct("p").number, count("c").number) == (
        "qty", 3, "money", "pct", "count")
    with pytest.raises(ValueError):
        Column("n", number="percent")


def test_table_numbers_have_separators_and_fixed_decimals_json_csv_keep_the_number():
    from crmctl.views import count, pct, qty

    rows = [{"name": "甲", "volume": Decimal("12500.5"), "customers": 1234, "share_pct": 66.666},
            {"name": "乙", "volume": 3.0, "customers": 0, "share_pct": None}]
    cols = [Column("name", "名称"), qty("volume", "量（吨）"), count("customers", "客户数"), pct("share_pct", "占比%")]
    _, table = run("table", rows, cols)
    assert "12,500.50" in table and "1,234" in table and "66.7%" in table and "3.00" in table
    line = next(x for x in table.splitlines() if "乙" in x)
    assert line.rstrip().endswith("│") and "3.00 │" in line  # right-aligned
    _, text = run("csv", rows, cols)
    assert csv_rows(text)[1] == ["甲", "12500.5", "1234", "66.666"]
    _, text = run("json", rows, cols)
    assert json.loads(text)[0]["volume"] == 12500.5


def test_labels_only_with_csv():
    assert OutputSpec(format="csv", labels=True).labels
    for fmt in ("json", "table"):
        with pytest.raises(InvalidInput, match="--labels"):
            OutputSpec(format=fmt, labels=True)


@pytest.fixture
def chinese(monkeypatch):
    """The current language Chinese (as ``--lang zh`` or a built-in policy choose it)."""
    from crmctl import i18n

    i18n.reset()
    monkeypatch.setenv("CRMCTL_LANG", "zh")
    yield
    i18n.reset()


def test_labels_csv_headings_labels_same_columns(chinese):
    from crmctl.fields import JsonCell
    from crmctl.views import labeller, yes_no

    rows = [{"code": "C001", "status": "active", "segments": {"nature": "big", "card": "unit"}, "vip": True,
             "late": False, "at": datetime(2026, 1, 5, 9, 30, tzinfo=CST), "at_s": datetime(2026, 1, 5, 9, 30, 7, tzinfo=CST),
             "since": date(2025, 12, 1), "qty": Decimal("1234.50"), "before": JsonCell({"a": 1}), "tags": ["x", "y"],
             "dup": "=1"}]
    cols = [Column("code", "编号"), Column("status", "状态", table_format=labeller({"active": "正式客户"})),
            Column("segments.nature", "性质", table_format=labeller({"big": "大客户"})),
            Column("late", "超期", table_format=yes_no), Column("at", "时间"), Column("dup", "编号")]
    _, plain = run("csv", rows, cols)
    _, text = run("csv", rows, cols, labels=True)
    head, row = csv_rows(plain)[0], csv_rows(text)
    assert len(row[0]) == len(head) and len(row) == 2
    assert row[0] == ["编号", "状态", "性质", "segments.card", "vip", "超期", "时间", "at_s", "since", "qty", "before",
                      "tags", "编号（dup）"]
    assert row[1] == ["C001", "正式客户", "大客户", "unit", "是", "否", "2026-01-05 09:30", "2026-01-05 09:30:07",
                      "2025-12-01", "1234.50", '{"a": 1}', "x;y", "'=1"]
    # zero rows: the declared fields, under their headings
    _, text = run("csv", [], cols, labels=True)
    assert csv_rows(text) == [["编号", "状态", "性质", "超期", "时间", "编号（dup）"]]


def test_labels_csv_in_english_headings_and_yes_no():
    """The same view in English: message-id headings shown as they are, a policy's label (性质) as it
    is, yes/no for booleans, a repeated heading with its key in ASCII parentheses."""
    from crmctl.i18n import N_
    from crmctl.views import yes_no

    rows = [{"code": "C001", "nature": "big", "late": False, "vip": True, "dup": "x"}]
    cols = [Column("code", N_("Code")), Column("nature", "性质"), Column("late", N_("Overdue"), table_format=yes_no),
            Column("dup", N_("Code"))]
    _, text = run("csv", rows, cols, labels=True)
    assert csv_rows(text) == [["Code", "性质", "Overdue", "vip", "Code (dup)"], ["C001", "big", "no", "yes", "x"]]


def test_headings_follow_the_language_and_keys_never_do(monkeypatch):
    """Table headings and titles go through the catalogue in Chinese; a column without a heading
    shows its key (not translated even where the key is a message id, e.g. ``yes``); CSV keys
    stay."""
    from crmctl import i18n
    from crmctl.i18n import N_
    from crmctl.views import pct

    cols = [Column("code", N_("Code")), Column("yes"), pct("rate", N_("Completion %"))]
    rows = [{"code": "C1", "yes": 1, "rate": 50}]
    _, en = run("table", rows, cols, title=N_("Documents"))
    assert "Code" in en and "Completion" in en and "Completion %" not in en and "Documents" in en
    i18n.reset()
    monkeypatch.setenv("CRMCTL_LANG", "zh")
    try:
        _, zh = run("table", rows, cols, title=N_("Documents"))
        assert "编号" in zh and "完成率" in zh and "资质文件" in zh and "Code" not in zh
        assert " yes " in zh  # the key, untranslated
        assert csv_rows(run("csv", rows, cols)[1])[0] == ["code", "yes", "rate"]
        with pytest.raises(InvalidInput, match="不能与 --format json 同用"):
            OutputSpec(format="json", labels=True)
    finally:
        i18n.reset()


def test_labels_csv_of_tuples_and_of_one_object(chinese):
    from crmctl.views import labeller

    cols = [Column("code", "编号"), Column("status", "状态", table_format=labeller({"active": "正式客户"}))]
    buf = io.StringIO()
    assert emit_tuples(OutputSpec(format="csv", labels=True), [Column("code"), Column("status")],
                       iter([("C1", "active"), ("C2", "lost")]), stream=buf, label_columns=cols) == 2
    assert csv_rows(buf.getvalue()) == [["编号", "状态"], ["C1", "正式客户"], ["C2", "lost"]]
    buf = io.StringIO()
    emit_object(OutputSpec(format="csv", labels=True), {"code": "C1", "status": "active", "x": 1}, cols, stream=buf)
    assert csv_rows(buf.getvalue()) == [["编号", "状态", "x"], ["C1", "正式客户", "1"]]
