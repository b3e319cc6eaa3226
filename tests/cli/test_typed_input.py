"""CLI (issue 17, "Chinese input where people type it"): commands take dates, date-times, periods,
kinds of period and quantities as a Chinese clerk types them (through the pure rules of
tests/rules/test_typed_input.py), keep JSON in ISO dates and codes, and refuse what could be read two
ways with one Error line, exit 1, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli

POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def fuel_data(fuel: Cli, tmp_path) -> Cli:
    fuel.ok("customer", "import", _csv(tmp_path / "c.csv", "code,name,nature,card,industry",
                                       ["F1,甲物流,big,unit,logistics", "F2,乙出租,big,multi,taxi"]))
    fuel.ok("volume", "import", _csv(tmp_path / "v.csv", "customer,date,qty",
                                     ["F1,2026-02-01,21000", "F2,2026-03-01,2500", "F2,2025-09-01,500"]))
    return fuel


@pytest.fixture
def pc(petrochem: Cli) -> Cli:
    petrochem.ok("customer", "add", "--name", "河北华塑化工有限公司", *POLY)
    return petrochem


def test_complaint_open_at_a_chinese_date_time(pc: Cli):
    opened = json.loads(pc.ok("complaint", "open", "C000001", "--summary", "到货数量不符", "--at", "2026年11月20日 15:00",
                              "--format", "json"))
    assert opened["opened_at"] == "2026-11-20T15:00:00+08:00"  # JSON stays ISO
    again = json.loads(pc.ok("complaint", "open", "C000001", "--summary", "发票错误", "--at", "昨天15点半", "--format", "json"))
    assert again["opened_at"] == "2026-11-21T15:30:00+08:00"  # CRMCTL_NOW is 2026-11-22T10:00
    full = json.loads(pc.ok("complaint", "open", "C000001", "--summary", "包装破损", "--at", "２０２６／１１／２０　９：３０",
                            "--format", "json"))
    assert full["opened_at"] == "2026-11-20T09:30:00+08:00"


@pytest.mark.parametrize("at,match", [
    ("11/20/2026 15:00", "ambiguous"), ("20/11/2026", "ambiguous"), ("11月20日 15:00", "has no year"),
    ("2026年11月20日 25点", "not a real time"), ("明天 9:00", "in the future"),
])
def test_complaint_open_refuses_an_unclear_time(pc: Cli, at, match):
    r = pc.refused("complaint", "open", "C000001", "--summary", "x", "--at", at, match=match)
    assert "--at" in r.stderr


def test_volume_add_quantities_and_dates_as_typed(fuel_data: Cli):
    def add(*args: str) -> dict:
        return json.loads(fuel_data.ok("volume", "add", "F1", *args, "--format", "json"))

    assert add("--qty", "1.2万")["qty"] == 12000
    assert add("--qty", "1,200.5", "--date", "2026年11月20日")["qty"] == 1200.5
    rec = add("--qty", "１２００．５", "--date", "昨天", "--amount", "8，500")
    assert (rec["qty"], rec["date"], rec["amount"]) == (1200.5, "2026-11-21", 8500)
    assert add("--qty", "5", "--date", "2026/11/2")["date"] == "2026-11-02"


@pytest.mark.parametrize("args,match", [
    (["--qty", "5", "--date", "11/30/2026"], "ambiguous"),
    (["--qty", "5", "--date", "11/20"], "has no year"),
    (["--qty", "5", "--date", "2026年2月30日"], "not a real date"),
    (["--qty", "5", "--date", "明天"], "in the future"),
    (["--qty", "1,20"], "comma separates thousands"),
    (["--qty", "1,2"], "comma separates thousands"),
    (["--qty", "-1.2万"], "negative"),
    (["--qty", "一千二"], "1.2万"),
])
def test_volume_add_refuses_what_could_be_read_two_ways(fuel_data: Cli, args, match):
    r = fuel_data.refused("volume", "add", "F1", *args, match=match)
    assert r.stdout == ""


def test_volume_import_reads_the_written_forms(fuel_data: Cli, tmp_path):
    path = _csv(tmp_path / "more.csv", "customer,date,qty", ['F1,2026/05/01,"1,200.5"', "F2,2026年5月2日,1.2万"])
    assert fuel_data.ok("volume", "import", str(path)).strip() == "2"
    bad = _csv(tmp_path / "bad.csv", "customer,date,qty", ["F1,05/01/2026,1", "F2,今天,1"])
    fuel_data.refused("volume", "import", str(bad), match="row 2: date '05/01/2026' is ambiguous")
    bad = _csv(tmp_path / "bad2.csv", "customer,date,qty", ["F2,今天,1"])
    fuel_data.refused("volume", "import", str(bad), match="cannot be used here")  # an import file has no "today"


def test_grade_run_takes_the_period_word_and_a_chinese_label(fuel_data: Cli):
    [big, _] = json.loads(fuel_data.ok("grade", "run", "--period", "半年", "--format", "json"))
    assert big["label"] == "2026-H1" and big["graded"] == 2
    [again] = json.loads(fuel_data.ok("grade", "run", "--period", "半年", "--label", "2025年下半年", "--scale", "big",
                                      "--format", "json"))
    assert again["label"] == "2025-H2"
    ex = json.loads(fuel_data.ok("grade", "explain", "F2", "--label", "２０２６年上半年", "--format", "json"))
    assert ex["label"] == "2026-H1" and ex["grade"] == "silver"


@pytest.mark.parametrize("args,match", [
    (["--period", "周"], "unknown period '周'"),
    (["--period", "半年", "--label", "2026年第2季度"], "not a half-year"),
    (["--period", "季度", "--label", "2026年第5季度"], "no quarter 5"),
    (["--label", "2026年中"], "not a period label"),
])
def test_grade_run_refusals_as_typed(fuel_data: Cli, args, match):
    fuel_data.refused("grade", "run", *args, match=match)


def test_reports_plans_calendar_and_audit_take_the_written_forms(pc: Cli):
    rows = json.loads(pc.ok("report", "complaints", "--period", "季度", "--label", "2026年第3季度", "--format", "json"))
    assert isinstance(rows, list)
    pc.refused("report", "complaints", "--period", "fortnight", match="unknown period 'fortnight'")
    pc.ok("plan", "set", "C000001", "--month", "2026年12月", "--qty", "1,200.5")
    plans = json.loads(pc.ok("plan", "list", "--month", "２０２６年１２月", "--format", "json"))
    assert [(p["month"], p["planned"]) for p in plans] == [("2026-12", 1200.5)]
    days = json.loads(pc.ok("calendar", "show", "--month", "2026年10月", "--format", "json"))
    assert days[0]["date"] == "2026-10-01" and len(days) == 31
    pc.refused("calendar", "show", "--month", "2026年13月", match="no month 13")
    entries = json.loads(pc.ok("audit", "list", "--since", "今天", "--format", "json"))
    assert entries and all(e["at"] >= "2026-11-22" for e in entries)
