"""CLI: ``--format xlsx`` -- every workbook crmctl writes is opened with openpyxl and with pandas
``read_excel``: typed cells, the heading row and the key row, sheet names, frozen panes, identifiers
kept as text, one sheet per report section, native charts, the refusals and the atomic write."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

openpyxl = pytest.importorskip("openpyxl")
pd = pytest.importorskip("pandas")

from tests.conftest import NOW, Cli  # noqa: E402

ACCOUNT = "6222020200112233445"  # a 19-digit bank account: a double keeps only 16 digits
PHONE = "03118888888"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("xlsx") / "gas.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRMCTL_NOW", NOW)
        mp.setenv("CRMCTL_LANG", "en")
        cli = Cli(path, actor="")
        cli.ok("demo", "--policy", "gas-tiered", "--customers", "40")
        cli = Cli(path)
        cli.ok("customer", "add", "-n", "测试账号客户", "--segment", "supply=pipeline", "--segment", "sector=industrial",
               "--field", f"main_products={ACCOUNT}")
        cli.ok("customer", "add", "-n", "测试电话客户", "--segment", "supply=pipeline", "--segment", "sector=industrial",
               "--field", f"main_products={PHONE}")
    return path


@pytest.fixture
def cli(template):
    return Cli(template)


def _book(path: Path):
    assert path.is_file()
    return openpyxl.load_workbook(path)


def _rows(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def _no_temp_files(folder: Path) -> None:
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_customer_list_typed_cells_headings_keys_and_identifiers(cli, tmp_path):
    out = tmp_path / "customers.xlsx"
    cli.ok("--lang", "zh", "customer", "list", "--format", "xlsx", "--output", str(out))
    wb = _book(out)
    assert wb.sheetnames == ["Sheet1"]
    ws = wb.active
    rows = _rows(ws)
    head, keys = rows[0], rows[1]
    assert head[:3] == ("编号", "名称", "状态")  # the headings in the interface's language
    assert keys[:3] == ("code", "name", "status")  # the JSON/CSV keys on row 2
    assert "tax_id" in keys and "created_at" in keys and "fields.main_products" in keys
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == f"A2:{openpyxl.utils.get_column_letter(len(keys))}{len(rows)}"
    by_key = [dict(zip(keys, r)) for r in rows[2:]]
    assert len(by_key) >= 42
    products = {r["fields.main_products"] for r in by_key}
    assert ACCOUNT in products and PHONE in products  # text, every digit
    # typed cells
    first = by_key[0]
    assert isinstance(first["created_at"], datetime)
    assert first["status"] == "在用客户"  # the label, like the table (the key row names the column)
    assert isinstance(first["fields.contract_price"], float)
    assert isinstance(first["fields.rural"], bool)
    assert all(isinstance(r["tax_id"], str) for r in by_key if r["tax_id"] is not None)
    # column widths fit the CJK names (2 a character)
    name_width = ws.column_dimensions["B"].width
    assert name_width >= 2 * max(len(r["name"]) for r in by_key[:50])

    df = pd.read_excel(out, header=0, skiprows=[1], dtype=None)  # row 1 headings, row 2 keys skipped
    assert list(df.columns[:3]) == ["编号", "名称", "状态"]
    assert str(df["建档时间"].dtype).startswith("datetime64")
    assert df["销售价格（元/立方米）"].dtype.kind == "f"
    assert ACCOUNT in set(df["客户主营产品"].dropna()) and PHONE in set(df["客户主营产品"].dropna())
    keyed = pd.read_excel(out, header=1)  # or read by key
    assert list(keyed.columns[:2]) == ["code", "name"]


def test_english_headings_and_the_same_keys(cli, tmp_path):
    out = tmp_path / "c.xlsx"
    cli.ok("customer", "list", "--format", "xlsx", "-o", str(out), "--limit", "3")
    rows = _rows(_book(out).active)
    assert rows[0][:3] == ("Code", "Name", "Status") and rows[1][:3] == ("code", "name", "status")
    assert len(rows) == 2 + 3


def test_customer_show_is_one_row(cli, tmp_path):
    out = tmp_path / "one.xlsx"
    cli.ok("customer", "show", "C000001", "--format", "xlsx", "-o", str(out))
    rows = _rows(_book(out).active)
    assert rows[1][0] == "code" and rows[2][0] == "C000001" and len(rows) == 3
    df = pd.read_excel(out, header=1)
    assert df.loc[0, "code"] == "C000001"


def test_report_with_sections_one_sheet_each_numbers_booleans_and_charts(cli, tmp_path):
    out = tmp_path / "complaints.xlsx"
    cli.ok("--lang", "zh", "report", "complaints", "--months-back", "3", "--format", "xlsx", "-o", str(out))
    wb = _book(out)
    names = wb.sheetnames
    assert len(names) == len(set(names)) >= 5
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)
    assert names[1] == "按严重程度" and any(n.startswith("按月") for n in names)
    month = wb[next(n for n in names if n.startswith("按月"))]
    rows = _rows(month)
    assert rows[1][:2] == ("label", "opened") and month.freeze_panes == "A3"
    data = [dict(zip(rows[1], r)) for r in rows[2:]]
    assert len(data) == 3
    assert all(isinstance(r["opened"], int) for r in data)
    assert all(isinstance(r["meets_target"], bool) for r in data)
    assert month.cell(3, rows[1].index("satisfaction_pct") + 1).number_format == '0.0"%"'
    assert month.cell(3, rows[1].index("opened") + 1).number_format == "#,##0"
    charts = [ws for ws in wb.worksheets if ws._charts]
    assert len(charts) == 2  # on-time by month, satisfaction by month with its target line
    satisfaction = charts[1]
    chart_rows = _rows(satisfaction)
    assert chart_rows[0][2].startswith("目标") and {r[2] for r in chart_rows[1:]} == {95}
    assert len(satisfaction._charts[0].series) + 0 >= 1

    sheets = pd.read_excel(out, sheet_name=None, header=1)
    assert list(sheets) == names
    frame = sheets[month.title]
    assert frame["opened"].dtype.kind == "i" and frame["meets_target"].dtype == bool


def test_report_without_sections_and_its_chart(cli, tmp_path):
    out = tmp_path / "grades.xlsx"
    cli.ok("report", "grades", "--format", "xlsx", "-o", str(out))
    wb = _book(out)
    assert wb.sheetnames == ["Customer grade distribution", "Customers per grade"]
    assert wb["Customers per grade"]._charts and not wb["Customer grade distribution"]._charts
    df = pd.read_excel(out, header=1)
    assert df["customers"].dtype.kind == "i" and df["share_pct"].dtype.kind in "if"


def test_audit_and_other_lists(cli, tmp_path):
    for args in (["audit", "list"], ["staff", "list"], ["calendar", "show", "--month", "2026-10"]):
        out = tmp_path / f"{args[0]}.xlsx"
        cli.ok(*args, "--format", "xlsx", "-o", str(out))
        ws = _book(out).active
        rows = _rows(ws)
        assert len(rows) > 2 and ws.freeze_panes == "A3"
        assert len(pd.read_excel(out, header=1)) == len(rows) - 2
    audit = _rows(_book(tmp_path / "audit.xlsx").active)
    at = audit[1].index("at")
    assert isinstance(audit[2][at], datetime)


def test_refused_to_a_terminal_with_a_hint(template, tmp_path):
    master, slave = pty.openpty()
    env = {**os.environ, "CRMCTL_NOW": NOW, "CRMCTL_LANG": "en", "PYTHONPATH": str(Path(__file__).parents[2])}
    code = "import sys; sys.argv[0]='crmctl'; from crmctl.cli import main; main()"
    try:
        p = subprocess.run([sys.executable, "-c", code, "--db", str(template), "--as", "admin", "customer", "list",
                            "--format", "xlsx"], stdout=slave, stderr=subprocess.PIPE, env=env, timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    assert p.returncode == 1
    lines = p.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and "--output FILE.xlsx" in lines[0]


def test_to_a_pipe_is_a_workbook(template, tmp_path):
    env = {**os.environ, "CRMCTL_NOW": NOW, "CRMCTL_LANG": "en", "PYTHONPATH": str(Path(__file__).parents[2])}
    code = "import sys; sys.argv[0]='crmctl'; from crmctl.cli import main; main()"
    p = subprocess.run([sys.executable, "-c", code, "--db", str(template), "--as", "admin", "customer", "list",
                        "--format", "xlsx", "--limit", "2"], capture_output=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    f = tmp_path / "piped.xlsx"
    f.write_bytes(p.stdout)
    assert p.stdout[:2] == b"PK" and len(_rows(_book(f).active)) == 4


@pytest.mark.parametrize("extra, match", [(["--bom"], "byte-order mark"), (["--encoding", "gbk"], "--encoding")])
def test_text_options_refused(cli, tmp_path, extra, match):
    out = tmp_path / "x.xlsx"
    cli.refused("customer", "list", "--format", "xlsx", "-o", str(out), *extra, match=match)
    assert not out.exists()
    _no_temp_files(tmp_path)


def test_labels_is_what_xlsx_does_anyway(cli, tmp_path):
    out = tmp_path / "l.xlsx"
    cli.ok("customer", "list", "--format", "xlsx", "--labels", "-o", str(out), "--limit", "1")
    assert _rows(_book(out).active)[0][0] == "Code"


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    from crmctl.output import OutputSpec, emit_rows
    from crmctl.views import Column

    target = tmp_path / "t.xlsx"
    target.write_bytes(b"old")

    def rows():
        yield {"a": 1}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        emit_rows(OutputSpec(format="xlsx", output=str(target)), rows(), [Column("a")])
    assert target.read_bytes() == b"old"
    _no_temp_files(tmp_path)
    fresh = tmp_path / "new.xlsx"
    with pytest.raises(RuntimeError):
        emit_rows(OutputSpec(format="xlsx", output=str(fresh)), rows(), [Column("a")])
    assert not fresh.exists()
    _no_temp_files(tmp_path)


def test_cells_by_type(tmp_path):
    from datetime import date, timedelta, timezone
    from decimal import Decimal

    from crmctl.output import OutputSpec, emit_rows
    from crmctl.views import Column, labeller, yes_no

    tz = timezone(timedelta(hours=8))
    cols = [Column("id"), Column("n", "N", number="count"), Column("q", "Q", number="qty"), Column("d"),
            Column("t"), Column("ok", "OK", table_format=yes_no), Column("g", "G", table_format=labeller({"a": "甲"})),
            Column("big"), Column("formula"), Column("tags")]
    row = {"id": "0012", "n": 1234, "q": Decimal("12.5"), "d": date(2026, 11, 22),
           "t": datetime(2026, 11, 22, 9, 30, tzinfo=tz), "ok": True, "g": "a", "big": 6222020200112233445,
           "formula": "=1+1", "tags": ["x", "y"]}
    out = tmp_path / "t.xlsx"
    emit_rows(OutputSpec(format="xlsx", output=str(out)), [row], cols)
    ws = _book(out).active
    values = [c.value for c in ws[3]]
    assert values == ["0012", 1234, 12.5, datetime(2026, 11, 22), datetime(2026, 11, 22, 9, 30), True, "甲",
                      "6222020200112233445", "=1+1", "x;y"]
    assert ws["B3"].number_format == "#,##0" and ws["C3"].number_format == "#,##0.00"
    assert ws["D3"].number_format == "yyyy-mm-dd" and ws["E3"].number_format == "yyyy-mm-dd hh:mm"
    assert ws["I3"].data_type == "s"  # text, never a formula


def test_sheet_names_are_valid_and_unique():
    from crmctl.output_xlsx import sheet_name, text_width

    taken: set[str] = set()
    assert sheet_name("a/b:c[d]*?\\", taken) == "a_b_c_d____"
    long = "x" * 40
    assert sheet_name(long, taken) == "x" * 31
    assert sheet_name(long, taken) == "x" * 27 + " (2)"
    assert text_width("客户A") == 5


# --------------------------------------------------------------------------------------------------
# report pack --format xlsx: every report of a period in one workbook, a contents sheet first

def test_pack_workbook_contents_first_links_and_reports(cli, tmp_path):
    import json

    out = tmp_path / "pack.xlsx"
    cli.ok("--lang", "zh", "report", "pack", "--format", "xlsx", "--label", "2026-10", "-o", str(out))
    _no_temp_files(tmp_path)
    book = _book(out)
    contents = book.worksheets[0]
    assert book.sheetnames[0] == "目录" and book.active.title == "目录"
    rows = _rows(contents)
    assert "燃气" in rows[0][0] and "2026-10" in rows[0][0]  # the company and the period in the title
    head = rows.index(next(r for r in rows if r[0] == "编号"))
    entries = [r for r in rows[head + 1:] if isinstance(r[0], int)]
    names = [r[1] for r in entries]
    assert {"complaints", "visits", "service"} <= set(names)
    assert [r[0] for r in entries] == list(range(1, len(entries) + 1))
    skipped = [r for r in rows[head + 1:] if r[0] in (None, "") and r[1]]
    assert {"customers", "documents"} <= {r[1] for r in skipped} and all(r[6] for r in skipped)
    # each title links to the report's first sheet, which exists; every sheet named is there
    for n, (row, cell) in enumerate(zip(entries, contents.iter_rows(min_row=head + 2, min_col=3, max_col=3)), 1):
        link = cell[0].hyperlink
        assert link is not None, row
        target = link.location.split("!")[0].strip("'")
        assert target in book.sheetnames and target.startswith(f"{n} ")
        for sheet in row[5].split("、"):
            assert sheet in book.sheetnames and sheet.startswith(f"{n} ")
    # the complaints report's sheets hold what `report complaints --format json` says
    i = names.index("complaints") + 1
    sheets = [s for s in book.sheetnames if s.startswith(f"{i} ")]
    assert len(sheets) > 2 and any(book[s]._charts for s in sheets)  # sections, then native charts
    data = json.loads(cli.ok("report", "complaints", "--label", "2026-10", "--format", "json"))
    tables = [s for s in sheets if not book[s]._charts]
    assert sum(len(_rows(book[s])) - 2 for s in tables) == len(data) == entries[i - 1][4]
    assert all(_rows(book[s])[1][0] == "section" or _rows(book[s])[1] for s in tables)
    # pandas reads every report sheet with the key row as its header
    frames = pd.read_excel(out, sheet_name=tables, header=1)
    assert sum(len(f) for f in frames.values()) == len(data)


def test_pack_workbook_without_a_period_and_refusals(cli, tmp_path):
    out = tmp_path / "pack.xlsx"
    cli.ok("report", "pack", "--format", "xlsx", "-o", str(out))
    book = _book(out)
    assert book.sheetnames[0] == "Contents" and len(book.sheetnames) > 8
    assert "management reports" in _rows(book.worksheets[0])[0][0]
    bad = tmp_path / "bad.xlsx"
    cli.refused("report", "pack", "--format", "xlsx", "-o", str(bad), "--bom", match="byte-order mark")
    cli.refused("report", "pack", "--format", "xlsx", "-o", str(bad), "--encoding", "gbk", match="--encoding")
    cli.refused("report", "pack", "--format", "csv", "-o", str(bad), match="--format xlsx")
    cli.refused("report", "pack", "--format", "xlsx", "-o", str(bad), "--label", "2026-13")
    cli.refused("report", "pack", "--format", "xlsx", "-o", str(tmp_path / "no" / "such" / "p.xlsx"))
    assert not bad.exists()
    _no_temp_files(tmp_path)


def test_pack_workbook_refused_to_a_terminal(template, monkeypatch):
    import crmctl.output as output

    monkeypatch.setattr(output, "_stdout_is_terminal", lambda: True)
    Cli(template).refused("report", "pack", "--format", "xlsx", match="--output FILE.xlsx")
