"""CLI (issue 18): ``customer import`` and ``volume import`` read .xlsx workbooks as they read CSV --
the same checks, all or nothing, row numbers as Excel shows them -- with typed cells: dates as Excel
dates or text, numbers as numbers or text, identifiers kept as text, and a number cell in a text
column refused rather than taken with its digits lost."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest

from crmctl.policies import load_policy
from crmctl.rules.taxid import make_tax_id
from tests.cli.test_import_roundtrip import _fill
from tests.conftest import Cli

openpyxl = pytest.importorskip("openpyxl")

SEGS = ["polyolefin", "distributor", "auction"]
HEAD = ["code", "name", "product_line", "channel", "sales_form"]


def _book(path: Path, sheets: dict[str, list[list]]) -> Path:
    """A workbook with these sheets (name -> rows, the first its header), cells typed as given."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def _typed(policy: str, header: list[str], row: list[str]) -> list:
    """An exported CSV row as a person's workbook holds it: numbers, yes/no and dates typed."""
    pol = load_policy(policy)[0]
    out: list = []
    for h, v in zip(header, row):
        kind = pol.field(h.split(".", 1)[1]).type if h.startswith("fields.") else None
        if v == "":
            out.append(None)
        elif h == "created_at":
            out.append(datetime.fromisoformat(v).replace(tzinfo=None))  # the export writes the company's time
        elif kind == "decimal":
            out.append(float(v))
        elif kind == "int":
            out.append(int(v))
        elif kind == "bool":
            out.append(v.lower() in ("true", "yes", "1", "是"))
        else:
            out.append(v)
    return out


@pytest.mark.parametrize("policy", ["petrochem", "fuel-retail", "gas-service"])
def test_an_export_as_a_workbook_imports_as_its_csv_does(make_cli, tmp_path, policy):
    """customer list --format csv, turned into a workbook with typed cells (dates as dates, numbers
    as numbers, yes/no as booleans, identifiers as text), imports into a fresh database exactly as
    the CSV itself does: the two databases list the same customers, cell for cell."""
    src = make_cli(policy, "src.db")
    _fill(src, 15)
    exported = tmp_path / "export.csv"
    src.ok("customer", "list", "--format", "csv", "--output", str(exported))
    rows = list(csv.reader(io.StringIO(exported.read_text(encoding="utf-8-sig"))))
    book = _book(tmp_path / "export.xlsx", {"客户": [rows[0]] + [_typed(policy, rows[0], r) for r in rows[1:]]})
    listed = []
    for name, f in (("csv.db", exported), ("xlsx.db", book)):
        dst = make_cli(policy, name)
        for s in json.loads(src.ok("staff", "list", "--format", "json")):
            if s["login"] != "admin":
                dst.ok("staff", "add", s["login"], "--name", s["name"], "--role", s["roles"][0])
        assert dst.ok("customer", "import", str(f), "--admitted").strip() == str(len(rows) - 1)
        listed.append(dst.ok("customer", "list", "--format", "csv"))
    assert listed[0] == listed[1]
    assert len(listed[0].splitlines()) == len(rows)


def test_identifiers_keep_every_digit(petrochem: Cli, tmp_path):
    """Text cells stay text: a 19-digit bank account, a phone with its leading zero, a code 0012, a
    tax id; a created_at typed as an Excel date-time is in the company's time zone."""
    tax = make_tax_id("91130100MA0000001")
    book = _book(tmp_path / "c.xlsx", {"Sheet1": [
        HEAD + ["tax_id", "billing_account", "billing_phone", "created_at"],
        ["0012", "甲化工有限公司", *SEGS, tax, "6222020200112233445", "03118888888", datetime(2026, 3, 1, 9, 30)],
        ["0013", "乙化工有限公司", *SEGS, None, "0000000000000000001", None, date(2026, 4, 2)],
    ]})
    assert petrochem.ok("customer", "import", str(book), "--admitted").strip() == "2"
    a = json.loads(petrochem.ok("customer", "show", "0012", "--format", "json"))
    assert a["tax_id"] == tax and a["fields"]["billing_account"] == "6222020200112233445"
    assert a["fields"]["billing_phone"] == "03118888888"
    assert a["created_at"].startswith("2026-03-01T09:30:00+08:00")
    b = json.loads(petrochem.ok("customer", "show", "0013", "--format", "json"))
    assert b["fields"]["billing_account"] == "0000000000000000001" and b["created_at"].startswith("2026-04-02T00:00")


@pytest.mark.parametrize("column,value", [
    ("billing_account", 6222020200112233445),   # Excel keeps 15 digits: 6.22202020011223e+18
    ("billing_account", 9.1e17),
    ("code", 12),                                # was it 0012?
    ("name", 123),
])
def test_a_number_cell_in_a_text_column_is_refused(petrochem: Cli, tmp_path, column, value):
    header = HEAD + ["billing_account"]
    good = ["C1", "甲", *SEGS, "6222020200112233445"]
    bad = ["C2", "乙", *SEGS, "1"]
    bad[header.index(column)] = value
    book = _book(tmp_path / "c.xlsx", {"S": [header, good, bad]})
    r = petrochem.refused("customer", "import", str(book), match=f"c.xlsx: row 3: column {column}: ")
    assert "is a number cell, but the column is text" in r.stderr


def test_row_numbers_are_excel_s(petrochem: Cli, tmp_path):
    """An empty row in the middle still counts: the bad row is named as Excel numbers it."""
    book = _book(tmp_path / "c.xlsx", {"S": [HEAD, ["C1", "甲", *SEGS], [], [], ["C2", "乙", "nylon", *SEGS[1:]]]})
    petrochem.refused("customer", "import", str(book), match="row 5: ")
    book = _book(tmp_path / "dup.xlsx", {"S": [HEAD, ["C1", "甲", *SEGS], [None], ["C1", "乙", *SEGS]]})
    petrochem.refused("customer", "import", str(book), match="row 4: code C1 repeats row 2")


def test_volume_row_numbers_and_cells(fuel: Cli, tmp_path):
    fuel.ok("customer", "import", str(_book(tmp_path / "f.xlsx", {"S": [["code", "name", "nature", "card", "industry"],
                                                                      ["F1", "甲物流", "big", "unit", "logistics"]]})))
    vols = [["customer", "date", "qty"], ["F1", date(2026, 5, 1), 10], [], ["F1", date(2026, 5, 2), -1]]
    fuel.refused("volume", "import", str(_book(tmp_path / "v.xlsx", {"S": vols})), match="v.xlsx: row 4: qty -1 is negative")
    vols = [["customer", "date", "qty"], ["F1", date(2026, 5, 1), 10], ["F1", 46000, 1]]
    fuel.refused("volume", "import", str(_book(tmp_path / "v2.xlsx", {"S": vols})),
                 match="row 3: column date: 46000 is a number cell, not a date")
    vols = [["customer", "date", "qty"], ["F1", "2026-05-01", 10], [1, date(2026, 5, 1), 1]]
    fuel.refused("volume", "import", str(_book(tmp_path / "v3.xlsx", {"S": vols})),
                 match="row 3: column customer: 1 is a number cell")


def _usage(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as c:
        return c.execute("select c.code, u.day, u.qty, u.product, u.amount from usage_record u "
                         "join customer c on c.id = u.customer_id order by u.id").fetchall()


def test_volume_import_of_a_workbook_equals_its_csv(make_cli, tmp_path, pg_server):
    """Dates as Excel dates or as text, quantities as numbers or as text, a product typed as the
    number 92: the records are those of the same CSV."""
    if pg_server:
        pytest.skip("reads the SQLite file")
    rows = [["F1", date(2026, 2, 1), 21000, "0#", 150000.5], ["F2", "2026/03/01", "2500", 92, None],
            ["F1", datetime(2026, 4, 1), 12.25, None, "9000"], ["F2", "2026年4月2日", 3, "95#", 0]]
    text = "customer,date,qty,product,amount\nF1,2026-02-01,21000,0#,150000.5\nF2,2026/03/01,2500,92,\n" \
           "F1,2026-04-01,12.25,,9000\nF2,2026年4月2日,3,95#,0\n"
    got = []
    for name in ("csv", "xlsx"):
        cli = make_cli("fuel-retail", f"{name}.db")
        cli.ok("customer", "import", str(_book(tmp_path / f"c-{name}.xlsx", {"S": [
            ["code", "name", "nature", "card", "industry"], ["F1", "甲物流", "big", "unit", "logistics"],
            ["F2", "乙出租", "big", "multi", "taxi"]]})))
        if name == "csv":
            f = tmp_path / "v.csv"
            f.write_text(text, encoding="utf-8")
        else:
            f = _book(tmp_path / "v.xlsx", {"S": [["customer", "date", "qty", "product", "amount"], *rows]})
        assert cli.ok("volume", "import", str(f)).strip() == "4"
        got.append(_usage(cli.db))
    assert got[0] == got[1]
    assert got[1][1][3] == "92"


def test_sheet_option(fuel: Cli, tmp_path):
    """--sheet picks a sheet; an unknown one is refused naming the sheets; two sheets of one workbook
    are two imports (the same sheet twice is refused as already imported)."""
    fuel.ok("customer", "import", str(_book(tmp_path / "c.xlsx", {"S": [["code", "name", "nature", "card", "industry"],
                                                                      ["F1", "甲物流", "big", "unit", "logistics"]]})))
    head = ["customer", "date", "qty"]
    book = _book(tmp_path / "v.xlsx", {"说明": [["这是说明"]], "二月": [head, ["F1", date(2026, 2, 1), 1]],
                                       "三月": [head, ["F1", date(2026, 3, 1), 2], ["F1", date(2026, 3, 2), 3]]})
    fuel.refused("volume", "import", str(book), match="v.xlsx, sheet 说明: unknown column '这是说明'")
    fuel.refused("volume", "import", str(book), "--sheet", "四月", match="v.xlsx has no sheet '四月': its sheets are '说明', '二月', '三月'")
    assert fuel.ok("volume", "import", str(book), "--sheet", "二月").strip() == "1"
    assert fuel.ok("volume", "import", str(book), "--sheet", "三月").strip() == "2"
    fuel.refused("volume", "import", str(book), "--sheet", "三月", match="already imported")


def test_refusals(petrochem: Cli, tmp_path):
    """A corrupt workbook, an empty or header-only sheet, --encoding with a workbook, --sheet with a
    CSV, an old .xls or a password-protected workbook: one Error: line each, nothing written."""
    for cmd in (["customer", "import"], ["volume", "import"]):
        junk = tmp_path / "junk.xlsx"
        junk.write_bytes(b"this is not a workbook\n")
        petrochem.refused(*cmd, str(junk), match="junk.xlsx is not a valid .xlsx workbook (it is not a zip file)")
        good = _book(tmp_path / "good.xlsx", {"S": [HEAD, ["C1", "甲", *SEGS]]})
        cut = tmp_path / "cut.xlsx"
        cut.write_bytes(good.read_bytes()[:300])
        petrochem.refused(*cmd, str(cut), match="cut.xlsx is not a valid .xlsx workbook")
        empty = _book(tmp_path / "empty.xlsx", {"S": []})
        petrochem.refused(*cmd, str(empty), match="empty.xlsx: the sheet is empty (no header row)")
        petrochem.refused(*cmd, str(good), "--encoding", "gbk", match="--encoding is for CSV files")
        petrochem.refused(*cmd, str(good), "--encoding", "utf-8", match="--encoding is for CSV files")
        plain = tmp_path / "plain.csv"
        plain.write_text("name\n甲\n", encoding="utf-8")
        petrochem.refused(*cmd, str(plain), "--sheet", "S", match="--sheet goes with an .xlsx workbook")
        ole = tmp_path / "locked.xlsx"  # what Excel writes for a password: an OLE compound file
        ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
        petrochem.refused(*cmd, str(ole), match="locked.xlsx is an Excel 97-2003 (.xls) workbook or a password-protected one")
    only = _book(tmp_path / "head.xlsx", {"S": [HEAD]})
    petrochem.refused("customer", "import", str(only), match="head.xlsx: no data rows")
    only = _book(tmp_path / "vhead.xlsx", {"S": [["customer", "date", "qty"], [None, None]]})
    petrochem.refused("volume", "import", str(only), match="vhead.xlsx: no data rows")


def test_a_workbook_is_told_by_its_content(petrochem: Cli, tmp_path):
    """A workbook saved under a .csv name is read as a workbook (its first bytes say so)."""
    book = _book(tmp_path / "c.xlsx", {"S": [HEAD, ["C1", "甲", *SEGS]]})
    renamed = tmp_path / "customers.csv"
    renamed.write_bytes(book.read_bytes())
    assert petrochem.ok("customer", "import", str(renamed)).strip() == "1"
    assert json.loads(petrochem.ok("customer", "show", "C1", "--format", "json"))["name"] == "甲"
