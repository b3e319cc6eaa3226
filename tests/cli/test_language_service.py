"""The language of the service desk's and the customers' messages (issue 17): with ``--lang zh`` the
refusals (one ``错误:`` line, exit 1, no traceback, nothing changed) and the summary lines of
complaints, service tickets, usage imports, proposals, visits and contacts are Chinese, codes inside
them shown by the policy's labels; with ``--lang en`` the same commands print no Chinese outside
the data and the policy's labels."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Cli

FUEL_BIG = ["--segment", "nature=big", "--segment", "card=unit", "--segment", "industry=taxi"]
CHINESE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def chinese(text: str) -> bool:
    return bool(CHINESE.search(text))


def no_chinese(text: str, *data: str) -> None:
    """No Chinese in ``text`` once ``data`` (customer names, the policy's labels) are taken out."""
    for d in sorted(data, key=len, reverse=True):
        text = text.replace(d, "")
    assert not chinese(text), text


def refused_en(cli: Cli, *args: str, match: str, data: tuple[str, ...] = ()):
    """The refusal contract in English (``--lang en``), the line without Chinese outside ``data``."""
    r = cli.refused("--lang", "en", *args, match=match)
    no_chinese(r.stderr, *data)
    return r


def zh(cli: Cli, *args: str) -> "object":
    r = cli("--lang", "zh", *args)
    assert r.exit_code == 0, f"exit {r.exit_code}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    assert "Traceback" not in r.stderr
    return r


def en(cli: Cli, *args: str) -> "object":
    r = cli("--lang", "en", *args)
    assert r.exit_code == 0, f"exit {r.exit_code}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


# --------------------------------------------------------------------------- complaints, tickets


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_complaint_closed_twice(fuel: Cli, lang):
    fuel.ok("customer", "add", "--name", "出租车公司", *FUEL_BIG)
    run = zh if lang == "zh" else en
    r = run(fuel, "complaint", "open", "C000001", "--summary", "加油卡扣款错误", "--at", "2026-11-20T09:00")
    number = r.stdout.strip()
    r = run(fuel, "complaint", "close", number, "--note", "已退款", "--satisfied")
    if lang == "zh":
        assert f"{number} 已按期关闭（期限 " in r.stderr
        r = fuel.refused_zh("complaint", "close", number, "--note", "再次关闭",
                            match=f"投诉 {number} 已关闭（2026-11-22 10:00）")
        assert r.stderr.strip() == f"错误: 投诉 {number} 已关闭（2026-11-22 10:00）"
    else:
        assert f"{number} closed on time (due " in r.stderr
        no_chinese(r.stderr)
        refused_en(fuel, "complaint", "close", number, "--note", "again",
                   match=f"complaint {number} is already closed (2026-11-22 10:00)")


@pytest.fixture
def gas(make_cli) -> Cli:
    cli = make_cli("gas-service")
    cli.ok("staff", "add", "qiangxiu", "--name", "抢修工", "--role", "repair_team")
    cli.ok("customer", "add", "--name", "城南小区", "--segment", "sector=residential")
    return cli


def test_a_ticket_resolved_twice_in_chinese(gas: Cli):
    r = zh(gas, "service", "open", "C000001", "--kind", "repair", "--summary", "管道漏气", "--at", "2026-11-20T09:00")
    tid = r.stdout.strip()
    assert r.stderr.strip() == f"{tid}：响应期限 2026-11-20 15:00、修复期限 2026-11-21 09:00"
    zh(gas, "service", "dispatch", tid, "--technician", "qiangxiu", "--at", "2026-11-20T09:30")
    zh(gas, "service", "arrive", tid, "--at", "2026-11-20T10:00")
    # a ticket's status inside a message is its Chinese word, not the code
    gas.refused_zh("service", "dispatch", tid, "--technician", "qiangxiu",
                   match=f"服务工单 {tid} 的状态是 已到达；技术员已在处理")
    r = zh(gas, "service", "resolve", tid, "--at", "2026-11-20T11:00")
    assert r.stdout.strip() == "resolved"  # the status on stdout stays the code (scripts read it)
    assert r.stderr.strip() == f"{tid}：各项期限均已遵守（响应、修复）"
    gas.refused_zh("service", "resolve", tid, match=f"服务工单 {tid} 已修复")
    gas.refused_zh("service", "arrive", tid, match=f"服务工单 {tid} 已修复")


def test_a_ticket_resolved_twice_in_english(gas: Cli):
    r = en(gas, "service", "open", "C000001", "--kind", "repair", "--summary", "管道漏气", "--at", "2026-11-20T09:00")
    tid = r.stdout.strip()
    assert r.stderr.strip() == f"{tid}: respond by 2026-11-20 15:00, resolve by 2026-11-21 09:00"
    en(gas, "service", "dispatch", tid, "--technician", "qiangxiu", "--at", "2026-11-20T09:30")
    en(gas, "service", "arrive", tid, "--at", "2026-11-20T10:00")
    refused_en(gas, "service", "dispatch", tid, "--technician", "qiangxiu",
               match=f"service ticket {tid} is arrived; a technician is already on it")
    r = en(gas, "service", "resolve", tid, "--at", "2026-11-20T11:00")
    assert r.stderr.strip() == f"{tid}: every deadline kept (respond, resolve)"
    refused_en(gas, "service", "resolve", tid, match=f"service ticket {tid} is already resolved")


# --------------------------------------------------------------------------- visits


def test_a_visit_for_an_unknown_or_disqualified_customer(fuel: Cli):
    fuel.ok("customer", "add", "--name", "出租车公司", *FUEL_BIG)
    fuel.ok("customer", "add", "--name", "物流车队", *FUEL_BIG)
    fuel.ok("customer", "disqualify", "C000002", "--reason", "fraud")
    fuel.refused_zh("visit", "log", "NOPE", "--kind", "visit", match="没有客户 'NOPE'")
    fuel.refused_zh("visit", "log", "C000002", "--kind", "visit", match="客户 C000002 已被取消资格：不再为其登记活动")
    fuel.refused_zh("visit", "log", "--planned", "999", match="没有活动 999")
    fuel.refused_zh("visit", "log", "C000001", match="请给出 --kind（或用 --planned ID 完成一项计划活动）")
    refused_en(fuel, "visit", "log", "NOPE", "--kind", "visit", match="no customer 'NOPE'")
    refused_en(fuel, "visit", "log", "C000002", "--kind", "visit",
               match="customer C000002 is disqualified: no activities are logged for it")
    refused_en(fuel, "visit", "log", "--planned", "999", match="no activity 999")


def test_the_visit_plan_summary(fuel: Cli):
    fuel.ok("customer", "add", "--name", "出租车公司", *FUEL_BIG)
    last = zh(fuel, "visit", "plan", "--month", "2026-12").stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"2026-12：新计划 \d+ 项活动", last), last
    again = zh(fuel, "visit", "plan", "--month", "2026-12", "-v").stdout.strip().splitlines()[-1]  # -v: said anyway
    assert re.fullmatch(r"2026-12：新计划 0 项活动（\d+ 项已有计划）", again), again
    again = en(fuel, "visit", "plan", "--month", "2026-12", "-v").stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"2026-12: planned 0 activities \(\d+ already planned\)", again), again


# --------------------------------------------------------------------------- usage imports


def test_a_volume_import_with_a_bad_row(fuel: Cli, tmp_path):
    fuel.ok("customer", "add", "--name", "出租车公司", *FUEL_BIG)
    bad = tmp_path / "vol.csv"
    bad.write_text("customer,date,qty\nC000001,2026-11-01,120\nC999999,2026-11-02,80\n", encoding="utf-8")
    r = fuel.refused_zh("volume", "import", str(bad), match="vol.csv：第 3 行：未知的客户 'C999999'")
    assert r.stderr.strip() == "错误: vol.csv：第 3 行：未知的客户 'C999999'"
    refused_en(fuel, "volume", "import", str(bad), match="vol.csv: row 3: unknown customer 'C999999'")
    extra = tmp_path / "cells.csv"
    extra.write_text("customer,date,qty\nC000001,2026-11-01,120,9\n", encoding="utf-8")
    fuel.refused_zh("volume", "import", str(extra), match="cells.csv：第 2 行：有 4 个单元格，但只有 3 列")
    fuel.refused_zh("volume", "import", str(tmp_path / "none.csv"), match="没有文件")
    good = tmp_path / "ok.csv"
    good.write_text("customer,date,qty\nC000001,2026-11-01,120\nC000001,2026-11-02,80\n", encoding="utf-8")
    r = zh(fuel, "volume", "import", str(good))
    # (the batch number: PostgreSQL's sequences keep the numbers the refused imports drew)
    assert r.stdout.strip() == "2" and re.fullmatch(r"已从 ok.csv 导入 2 条用量记录（批次 \d+）", r.stderr.strip())
    good.write_text("customer,date,qty\nC000001,2026-11-03,5\n", encoding="utf-8")
    r = en(fuel, "volume", "import", str(good))
    assert re.fullmatch(r"imported 1 usage record from ok.csv \(batch \d+\)", r.stderr.strip())


# --------------------------------------------------------------------------- proposals, contacts


@pytest.fixture
def mf(make_cli) -> Cli:
    cli = make_cli("manufacturer")
    cli.ok("staff", "add", "li", "--name", "李工", "--role", "marketing")
    cli.ok("customer", "add", "--name", "华北机械厂", "--segment", "kind=supplier", "--field", "important=true",
           "--code", "M-1")
    return cli


def test_a_proposal_decided_twice(mf: Cli):
    r = zh(mf, "proposal", "open", "M-1", "--category", "logistics", "--summary", "合并配送线路", "--at",
           "2026-11-20T10:00")
    pid = r.stdout.strip()
    assert r.stderr.startswith(f"{pid}：答复期限 2026-12-20"), r.stderr
    mf.refused_zh("proposal", "close", pid, match="请给出 --adopted 或 --rejected")
    assert zh(mf, "proposal", "close", pid, "--adopted").stdout.strip() == "adopted"
    r = mf.refused_zh("proposal", "close", pid, "--rejected", match=f"方案 {pid} 已答复（采纳）")
    assert r.stderr.strip() == f"错误: 方案 {pid} 已答复（采纳）"
    mf.refused_zh("proposal", "schedule", pid, "--by", "2027-03-01", match=f"方案 {pid} 已答复（采纳）：无需安排进度")
    refused_en(mf, "proposal", "close", pid, "--rejected", match=f"proposal {pid} is already closed (adopted)")
    refused_en(mf, "proposal", "close", pid, match="give --adopted or --rejected")


def test_a_contact_added_twice(mf: Cli):
    mf.ok("customer", "contact", "add", "M-1", "--staff", "li")
    r = mf.refused_zh("customer", "contact", "add", "M-1", "--staff", "li", match="li 已是客户 M-1 的联系人")
    assert r.stderr.strip() == "错误: li 已是客户 M-1 的联系人"
    refused_en(mf, "customer", "contact", "add", "M-1", "--staff", "li", match="li is already a contact of customer M-1")
    # the check's JSON stays keys and codes in either language
    for lang in ("zh", "en"):
        r = mf("--lang", lang, "customer", "contact", "check", "--format", "json")
        assert r.exit_code == 0 and '"code": "M-1"' in r.stdout and '"required": 2' in r.stdout
        no_chinese(r.stdout, "华北机械厂")


# --------------------------------------------------------------------------- admission: statuses and roles by label


def test_admission_messages_show_the_policys_labels(petrochem: Cli):
    poly = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]
    code = petrochem.ok("customer", "add", "--name", "河北华塑化工有限公司", *poly).strip()
    petrochem.refused_zh("approve", code, match=f"客户 {code} 的状态是 潜在客户，只有待审批的准入才能批准（请先提交）")
    petrochem.refused_zh("customer", "reinstate", code, match=f"客户 {code} 的状态是 潜在客户，并未被取消资格")
    refused_en(petrochem, "customer", "reinstate", code, match=f"customer {code} is prospect, not disqualified")
