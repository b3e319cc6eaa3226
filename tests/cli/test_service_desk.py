"""CLI: calendar, complaint, service and proposal commands; deadlines pinned on real 2026/2027 dates."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from crmctl.rules.calendar import COVERED_YEARS

from tests.conftest import NOW, Cli, fingerprint

POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]


def J(text: str):
    return json.loads(text)


def _opinion_approved(cli: Cli, number: str, at: str) -> None:
    """petrochem 12(二): a general complaint's handling opinion, approved by the leader before the close."""
    cli.ok("complaint", "submit-opinion", number, "--note", "拟定处理意见", "--at", at, actor="xiaoshou")
    cli.ok("complaint", "approve-opinion", number, "--at", at, actor="zhuguan")


def _petrochem(cli: Cli) -> None:
    cli.ok("staff", "add", "zongjingli", "--name", "总经理", "--role", "gm")
    cli.ok("staff", "add", "xiaoshou", "--name", "销售员", "--role", "sales")
    cli.ok("staff", "add", "zhuguan", "--name", "主管领导", "--role", "leader")
    cli.ok("customer", "add", "--name", "河北华塑化工有限公司", *POLY, "--owner", "xiaoshou")
    cli.ok("customer", "add", "--name", "沧州宏达塑业", *POLY)


def _manufacturer(cli: Cli) -> None:
    cli.ok("staff", "add", "ligong", "--name", "李工", "--role", "technician")
    cli.ok("customer", "add", "--name", "华北机械厂", "--segment", "kind=supplier")


SETUPS = {"petrochem": _petrochem, "manufacturer": _manufacturer}


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """One initialised database per policy for the whole module; each test works on a copy (fast)."""
    cache: dict[str, Path] = {}

    def get(policy: str) -> Path:
        if policy not in cache:
            path = tmp_path_factory.mktemp("templates") / f"{policy}.db"
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("CRMCTL_NOW", NOW)
                cli = Cli(path)
                cli.ok("init", "--policy", policy, "--admin", "admin", actor="")
                if policy in SETUPS:
                    SETUPS[policy](cli)
            cache[policy] = path
        return cache[policy]

    return get


@pytest.fixture
def fresh(templates, tmp_path):
    def make(policy: str) -> Cli:
        src = templates(policy)
        dst = tmp_path / src.name
        for suffix in ("", "-wal"):
            if Path(str(src) + suffix).exists():
                shutil.copyfile(str(src) + suffix, str(dst) + suffix)
        return Cli(dst)

    return make


@pytest.fixture
def pc(fresh) -> Cli:
    return fresh("petrochem")


@pytest.fixture
def mf(fresh) -> Cli:
    return fresh("manufacturer")


# --------------------------------------------------------------------------- calendar


def test_calendar_show_marks_national_day_and_make_up_days(pc: Cli):
    out = pc.ok("calendar", "show", "--month", "2026-10")
    assert "2026-10-01 Thu  holiday" in out and "National Day" in out
    assert "2026-10-10 Sat  make-up working day" in out
    assert "  10+" in out and "   1*" in out
    rows = J(pc.ok("calendar", "show", "--month", "2026-09", "--format", "json"))
    by_date = {r["date"]: r for r in rows}
    assert by_date["2026-09-20"]["kind"] == "makeup_workday" and by_date["2026-09-20"]["working"] is True
    assert by_date["2026-09-25"]["name"] == "Mid-autumn Festival"
    feb = pc.ok("calendar", "show", "--month", "2026-02")
    assert "2026-02-14 Sat  make-up working day 班  Spring Festival" in feb
    assert "2026-02-28 Sat  make-up working day" in feb
    pc.refused("calendar", "show", "--month", "2026-13", match="--month")


def test_calendar_due_prints_deadline_and_steps(pc: Cli):
    out = pc.ok("calendar", "due", "--from", "2026-09-30T15:00", "--in", "1 working day").splitlines()
    assert out[0] == "2026-10-08T15:00:00+08:00"
    assert any("skip Thu 2026-10-01 – Wed 2026-10-07: holiday (National Day)" in line for line in out)
    # Spring Festival: Sat 14 Feb is a make-up working day, 15-23 Feb are off
    assert pc.ok("calendar", "due", "--from", "2026-02-14T16:00", "--in", "1 working day").splitlines()[0] == \
        "2026-02-24T16:00:00+08:00"
    # lunch break in working hours; 24x7 clock for hours
    assert pc.ok("calendar", "due", "--from", "2026-11-20T16:00", "--in", "6 working hours").splitlines()[0] == \
        "2026-11-23T14:30:00+08:00"
    assert pc.ok("calendar", "due", "--from", "2026-09-30T20:00", "--in", "24 h", "--clock", "24x7").splitlines()[0] == \
        "2026-10-01T20:00:00+08:00"
    data = J(pc.ok("calendar", "due", "--from", "2026-09-30T15:00", "--in", "3 working days", "-f", "json"))
    assert data["due"] == "2026-10-10T15:00:00+08:00" and data["steps"][-1].startswith("due:")
    pc.refused("calendar", "due", "--in", "soon", match="not a duration")


NOTICE_2027 = """year = 2027
source = "国务院办公厅关于2027年部分节假日安排的通知（测试）"
[holidays]
2027-02-06 = "春节"
2027-02-07 = "春节"
2027-02-08 = "春节"
2027-02-09 = "春节"
2027-02-10 = "春节"
2027-02-11 = "春节"
2027-02-12 = "春节"
2027-02-13 = "春节"
[workdays]
2027-02-14 = "春节调休"
"""


@pytest.mark.skipif(COVERED_YEARS is not None and COVERED_YEARS[1] >= 2027, reason="chinesecalendar covers 2027")
def test_calendar_set_year_loads_the_official_schedule(pc: Cli, tmp_path):
    # before: crmctl's estimate (5-12 Feb), marked, with a warning
    r = pc("calendar", "due", "--from", "2027-02-04T15:00", "--in", "1 working day")
    assert r.stdout.splitlines()[0] == "2027-02-15T15:00:00+08:00" and "estimate" in r.stdout
    assert "set-year 2027" in r.stderr
    assert "(estimate)" in pc.ok("calendar", "show", "--month", "2027-02")
    f = tmp_path / "2027.toml"
    pc.ok("staff", "add", "xs", "--name", "销售员", "--role", "sales")
    before = fingerprint(pc.db)
    for text, match in ((NOTICE_2027.replace("year = 2027", "year = 2028"), "not 2027"),
                        (NOTICE_2027.replace("2027-02-13 =", "2027-02-30 ="), "not a date"),
                        (NOTICE_2027.replace("2027-02-13 =", "2028-02-13 ="), "not in 2027"),
                        (NOTICE_2027 + "2027-02-06 = \"x\"\n", "both a holiday"),
                        ("[workdays]\n2027-02-14 = \"班\"\n", "no holidays"),
                        ("[holidays\n", "line 1"), ("colour = 1\n", "unknown key 'colour'")):
        f.write_text(text, encoding="utf-8")
        pc.refused("calendar", "set-year", "2027", str(f), match=match)
    f.write_text(NOTICE_2027, encoding="utf-8")
    pc.refused("calendar", "set-year", "2027", str(f), actor="xs", match="only an administrator")
    pc.refused("calendar", "set-year", "2026", str(f), match="already has the official 2026")
    pc.refused("calendar", "set-year", "2101", str(f), match="outside 1990-2100")
    pc.refused("calendar", "set-year", "2027", str(tmp_path / "none.toml"), match="no file")
    pc.refused("calendar", "set-year", "2027", "--remove", match="no schedule was loaded")
    assert fingerprint(pc.db) == before
    assert "8 holidays and 1 make-up working days loaded" in pc.ok("calendar", "set-year", "2027", str(f))
    # from now on the loaded schedule decides: 5 Feb works, 6-13 Feb off, Sun 14 Feb works
    out = pc.ok("calendar", "due", "--from", "2027-02-05T15:00", "--in", "1 working day").splitlines()
    assert out[0] == "2027-02-14T15:00:00+08:00" and any("loaded schedule" in line for line in out)
    rows = J(pc.ok("calendar", "show", "--month", "2027-02", "--format", "json"))
    assert {r["source"] for r in rows} == {"loaded"} and rows[13]["name"] == "春节调休"
    assert J(pc.ok("audit", "list", "--action", "calendar.set-year", "--format", "json"))[0]["after"]["holidays"] == 8
    pc.ok("calendar", "set-year", "2027", "--remove")
    assert pc.ok("calendar", "due", "--from", "2027-02-04T15:00", "--in", "1 working day").splitlines()[0] == \
        "2027-02-15T15:00:00+08:00"


def test_uncovered_year_warns_once_on_stderr(pc: Cli):
    r = pc("calendar", "due", "--from", "2028-09-29T15:00", "--in", "3 working days")
    assert r.exit_code == 0
    # no holiday data for 2028 and no policy holidays: Mon 2 Oct 2028 counts as a working day
    assert r.stdout.splitlines()[0] == "2028-10-04T15:00:00+08:00"
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("Warning:")]
    assert len(warnings) == 1 and "2028" in warnings[0] and "Error:" not in r.stderr
    r = pc("calendar", "show", "--month", "2028-10")
    assert r.exit_code == 0 and r.stderr.count("Warning:") == 1
    # a covered year: no warning
    r = pc("calendar", "due", "--from", "2026-09-29T15:00", "--in", "3 working days")
    assert "Warning" not in r.stderr


# --------------------------------------------------------------------------- complaints


def test_national_day_complaint_extension_and_escalation(pc: Cli):
    cid = pc.ok("complaint", "open", "C000001", "--summary", "到货数量与提单不符", "--at", "2026-09-30T15:00").strip()
    assert cid == "TS-2026-0001"
    c = J(pc.ok("complaint", "show", cid, "--format", "json"))
    for key in ("id", "customer", "severity", "opened_at", "due_at", "closed_at", "status", "overdue", "satisfied"):
        assert key in c
    assert (c["customer"], c["severity"], c["status"], c["satisfied"]) == ("C000001", "general", "open", None)
    assert c["opened_at"] == "2026-09-30T15:00:00+08:00" and c["due_at"] == "2026-10-08T15:00:00+08:00"
    assert c["overdue"] is True  # now is 22 Nov
    major = J(pc.ok("complaint", "open", "C000001", "--summary", "质量事故", "--severity", "较大事件投诉",
                    "--at", "2026-09-30T15:00", "--format", "json"))
    assert major["id"] == "TS-2026-0002" and major["severity"] == "major"
    assert major["due_at"] == "2026-10-10T15:00:00+08:00"  # Sat 10 Oct is a make-up working day
    # petrochem 12(三): only a major complaint is extended, and only before its deadline passes
    pc.refused("complaint", "extend", cid, "--working-days", "1", actor="xiaoshou", match="only major")
    pc.refused("complaint", "extend", "TS-2026-0002", "--working-days", "2", actor="xiaoshou",
               match="before the deadline passes")
    third = pc.ok("complaint", "open", "C000001", "--summary", "包装破损", "--severity", "major",
                  "--at", "2026-09-30T15:00").strip()
    # extension to 7 working days from opening: asked for in time, then granted by a gm as themselves
    assert pc.ok("complaint", "extend", third, "--working-days", "4", "--at", "2026-10-08T10:00",
                 actor="xiaoshou").strip() == third
    waiting = J(pc.ok("approve", "--list", "--format", "json", actor="zongjingli"))
    assert [(w["kind"], w["complaint"], w["working_days"]) for w in waiting] == [("extension", third, 4)]
    assert J(pc.ok("approve", "--list", "--format", "json", actor="xiaoshou")) == []
    pc.refused("complaint", "approve-extension", third, actor="xiaoshou", match="role gm")
    assert pc.ok("complaint", "approve-extension", third, actor="zongjingli").strip() == "2026-10-15T15:00:00+08:00"
    pc.refused("complaint", "approve-extension", third, actor="zongjingli", match="no extension waiting")
    pc.refused("complaint", "extend", third, "--working-days", "1", "--at", "2026-10-09T10:00", match="past the cap")
    pc.refused("complaint", "extend", "TS-2026-0002", "--working-days", "5", "--at", "2026-10-08T10:00",
               match="7 working days")
    pc.refused("complaint", "extend", "TS-2026-0002", "--working-days", "0", match="--working-days")
    pc.refused("complaint", "extend", "TS-2026-0002", "--working-days", "2", "--approved-by", "zongjingli",
               match="approve-extension")
    pc.ok("complaint", "extend", "TS-2026-0002", "--working-days", "2", "--at", "2026-10-08T10:00", actor="zongjingli")
    pc.refused("complaint", "approve-extension", "TS-2026-0002", actor="zongjingli", match="own request")
    pc.refused("complaint", "approve-extension", "TS-2026-0002", "--reject", actor="admin", match="--comment")
    assert pc.ok("complaint", "approve-extension", "TS-2026-0002", "--reject", "--comment", "无需延期",
                 "--at", "2026-10-08T11:00", actor="admin").strip() == "refused"
    assert pc.ok("complaint", "escalate", "2", "--note", "提交总经理专题会议", "--at", "2026-10-09T09:00").strip() == "gm"
    pc.refused("complaint", "escalate", "2", match="already escalated")
    assert pc.ok("complaint", "close", "2", "--note", "赔付并更换批次", "--unsatisfied",
                 "--at", "2026-10-12T09:00").strip() == "closed"
    shown = pc.ok("complaint", "show", "TS-2026-0002")
    assert "history:" in shown and "escalate" in shown and "close" in shown and "赔付并更换批次" in shown
    c2 = J(pc.ok("complaint", "show", "TS-2026-0002", "-f", "json"))
    assert [h["event"] for h in c2["history"]] == ["open", "extend_request", "extend_refused", "escalate", "close"]
    assert (c2["status"], c2["overdue"], c2["satisfied"]) == ("closed", True, False)


def test_general_complaint_closes_after_the_leader_approved_its_handling_opinion(pc: Cli):
    """petrochem 12(二): 拟定出处理意见，报主管领导审批后 ... 告知客户 -- submitted, refused, submitted again,
    approved by a holder of the leader role, then closed; every refusal one Error: line, nothing written."""
    n = pc.ok("complaint", "open", "C000001", "--summary", "提货排队", "--at", "2026-11-20T09:00").strip()
    shown = pc.ok("complaint", "show", n)
    assert f"to be approved by 主管领导 before the close (crmctl complaint submit-opinion {n}" in shown
    pc.refused("complaint", "close", n, "--note", "已处理", actor="xiaoshou",
               match=f"its handling opinion is approved by 主管领导 before it is closed (crmctl complaint submit-opinion {n}")
    pc.refused("complaint", "submit-opinion", n, actor="xiaoshou", match="--note")
    r = pc("complaint", "submit-opinion", n, "--note", "增开提货窗口", "--at", "2026-11-20T10:00", actor="xiaoshou")
    assert r.exit_code == 0 and r.stdout.strip() == n
    assert f"waiting for 主管领导 (crmctl complaint approve-opinion {n})" in r.stderr
    pc.refused("complaint", "close", n, "--note", "已处理", actor="xiaoshou", match="approve-opinion")
    waiting = J(pc.ok("approve", "--list", "--format", "json", actor="zhuguan"))
    assert [(w["kind"], w["complaint"], w["role"]) for w in waiting] == [("opinion", n, "leader")]
    assert "Complaint handling opinion" in pc.ok("approve", "--list", actor="zhuguan")
    assert "投诉处理意见" in pc.ok("--lang", "zh", "approve", "--list", actor="zhuguan")
    pc.refused("complaint", "approve-opinion", n, actor="zongjingli", match="role leader")
    assert pc.ok("complaint", "approve-opinion", n, "--reject", "--comment", "先核实排队原因",
                 "--at", "2026-11-20T11:00", actor="zhuguan").strip() == "refused"
    pc.refused("complaint", "close", n, "--note", "已处理", actor="xiaoshou", match="refused by zhuguan (先核实排队原因)")
    pc.ok("complaint", "submit-opinion", n, "--note", "核实后增开提货窗口", "--at", "2026-11-20T12:00", actor="xiaoshou")
    assert pc.ok("complaint", "approve-opinion", n, "--at", "2026-11-20T13:00", actor="zhuguan").strip() == "granted"
    d = J(pc.ok("complaint", "show", n, "-f", "json"))
    assert {k: d["opinion"][k] for k in ("required", "approver_role", "status", "text", "decided_by")} == {
        "required": True, "approver_role": "leader", "status": "granted", "text": "核实后增开提货窗口",
        "decided_by": "zhuguan"}
    assert "核实后增开提货窗口  (approved by zhuguan 2026-11-20 13:00)" in pc.ok("complaint", "show", n)
    r = pc("complaint", "close", n, "--note", "已增开窗口", "--satisfied", "--at", "2026-11-20T14:00", actor="xiaoshou")
    assert r.exit_code == 0 and r.stdout.strip() == "closed"
    assert "handling opinion approved by zhuguan (2026-11-20 13:00)" in r.stderr
    events = [h["event"] for h in J(pc.ok("complaint", "show", n, "-f", "json"))["history"]]
    assert events == ["open", "opinion", "opinion_refused", "opinion", "opinion_approved", "close"]
    # a major complaint's opinion is the gm meeting's (escalation), not the leader's
    m = pc.ok("complaint", "open", "C000001", "--summary", "质量事故", "--severity", "major").strip()
    pc.refused("complaint", "submit-opinion", m, "--note", "x", match="only the handling opinions of general")
    assert J(pc.ok("complaint", "show", m, "-f", "json"))["opinion"] is None


def test_no_opinion_approval_where_the_policy_asks_none(fresh):
    cli = fresh("fuel-retail")
    cli.ok("customer", "add", "--name", "顺达物流", "--segment", "nature=big", "--segment", "card=unit",
           "--segment", "industry=logistics")
    n = cli.ok("complaint", "open", "C000001", "--summary", "积分未到账", "--at", "2026-11-20T10:00").strip()
    cli.refused("complaint", "submit-opinion", n, "--note", "补积分", match="asks no approval of handling opinions")
    cli.refused("complaint", "approve-opinion", n, match="asks no approval of handling opinions")
    assert J(cli.ok("complaint", "show", n, "-f", "json"))["opinion"] is None


def test_weekend_start_and_lists(pc: Cli):
    # Sat 21 Nov 22:00 -> the clock starts Mon 23 Nov 08:30 -> due Tue 24 Nov 08:30
    c = J(pc.ok("complaint", "open", "C000002", "--summary", "提货排队", "--at", "2026-11-21T22:00", "-f", "json"))
    assert c["due_at"] == "2026-11-24T08:30:00+08:00" and c["overdue"] is False
    pc.ok("complaint", "open", "C000001", "--summary", "发票错误", "--at", "2026-11-16T10:00")
    pc.ok("complaint", "open", "C000001", "--summary", "价格通知", "--at", "2026-11-02T10:00")
    _opinion_approved(pc, "TS-2026-0003", "2026-11-02T15:00")
    pc.ok("complaint", "close", "TS-2026-0003", "--note", "已补发", "--satisfied", "--at", "2026-11-03T09:00")
    assert [x["id"] for x in J(pc.ok("complaint", "list", "--open", "-f", "json"))] == ["TS-2026-0002", "TS-2026-0001"]
    assert [x["id"] for x in J(pc.ok("complaint", "list", "--overdue", "-f", "json"))] == ["TS-2026-0002"]
    assert [x["id"] for x in J(pc.ok("complaint", "list", "--customer", "C000002", "-f", "json"))] == ["TS-2026-0001"]
    rows = list(csv.DictReader(io.StringIO(pc.ok("complaint", "list", "-f", "csv"))))
    assert rows[0]["id"] == "TS-2026-0003" and rows[0]["satisfied"] == "true" and rows[0]["status"] == "closed"
    table = pc.ok("complaint", "list")
    assert "一般投诉" in table and "TS-2026-0002" in table


def test_new_year_2027_with_fallback_warning(pc: Cli, monkeypatch):
    monkeypatch.setenv("CRMCTL_NOW", "2027-01-05T10:00")
    r = pc("complaint", "open", "C000001", "--summary", "年底提货", "--at", "2026-12-31T15:00", "-f", "json")
    assert r.exit_code == 0, r.stderr
    # 1 Jan 2027 is the policy's own holiday (no library data for 2027), then the weekend
    assert J(r.stdout)["due_at"] == "2027-01-04T15:00:00+08:00"
    assert [ln for ln in r.stderr.splitlines() if ln.startswith("Warning:")] and r.stderr.count("Warning:") == 1
    assert "Error:" not in r.stderr
    assert J(pc.ok("complaint", "show", "TS-2026-0001", "-f", "json"))["overdue"] is True


def test_gas_tiered_level1_24h_others_48h(fresh):
    cli = fresh("gas-tiered")
    for name in ("华北钢铁", "冀中玻璃"):
        cli.ok("customer", "add", "--name", name, "--segment", "supply=pipeline", "--segment", "sector=industrial")
    conn = sqlite3.connect(cli.db)
    conn.execute("insert into customer_grade (customer_id, scale, grade, label, since) "
                 "values ((select id from customer where code = 'C000001'), 'big', 'level1', '2025', '2026-01-01 00:00:00')")
    conn.commit()
    conn.close()
    one = J(cli.ok("complaint", "open", "C000001", "--summary", "压力不足", "--at", "2026-09-30T15:00", "-f", "json"))
    other = J(cli.ok("complaint", "open", "C000002", "--summary", "压力不足", "--at", "2026-09-30T15:00", "-f", "json"))
    assert one["due_at"] == "2026-10-01T15:00:00+08:00"   # 24 h on the clock, National Day or not
    assert other["due_at"] == "2026-10-02T15:00:00+08:00"  # 48 h


# --------------------------------------------------------------------------- service tickets


def test_manufacturer_repair_lunch_break_dispatch_rate(mf: Cli, monkeypatch):
    monkeypatch.setenv("CRMCTL_NOW", "2026-11-25T10:00")
    mf.refused("service", "open", "C000001", "--kind", "repair", "--service-type", "B", "--at", "2026-11-20T16:00",
               match="needs a maintenance_contract (保养合同) of C000001 in force on 2026-11-20")
    mf.ok("doc", "add", "C000001", "--type", "maintenance_contract", "--number", "BY-1", "--expires", "2027-06-30")
    tid = mf.ok("service", "open", "C000001", "--kind", "repair", "--location", "urban", "--service-type", "B",
                "--summary", "注塑机无法启动", "--at", "2026-11-20T16:00").strip()
    assert tid == "FW-2026-00001"
    t = J(mf.ok("service", "show", tid, "-f", "json"))
    for key in ("id", "customer", "kind", "opened_at", "respond_by", "resolve_by", "status"):
        assert key in t
    # Fri 16:00-17:30, Mon 08:30-12:00, lunch, 13:30-14:30
    assert t["arrive_by"] == "2026-11-23T14:30:00+08:00" and t["status"] == "open"
    assert mf.ok("service", "dispatch", tid, "--technician", "ligong", "--at", "2026-11-20T16:30").strip() == "dispatched"
    assert mf.ok("service", "arrive", tid, "--at", "2026-11-23T14:00").strip() == "arrived"
    assert mf.ok("service", "take-back", tid, "--receipt", "SJ-0001", "--at", "2026-11-23T15:00").strip() == "taken_back"
    r = mf("service", "resolve", tid, "--at", "2026-11-24T11:00", "--note", "更换主板")
    assert r.stdout.strip() == "resolved" and f"{tid}: every deadline kept (arrive)" in r.stderr  # 五: said on resolve
    out = mf.ok("service", "rate", tid, "attitude=4", "skill=3", "arrival=4", "promise=非常满意")
    assert out.strip() == "attitude=4 skill=3 arrival=4 promise=4"
    t = J(mf.ok("service", "show", tid, "-f", "json"))
    assert (t["technician"], t["receipt"], t["overdue"]) == ("ligong", "SJ-0001", False)
    assert t["rating"] == {"attitude": 4, "skill": 3, "arrival": 4, "promise": 4}
    assert "SJ-0001" in mf.ok("service", "show", tid) and "Technician" in mf.ok("service", "list")
    # suburban: 7 working hours
    sub = J(mf.ok("service", "open", "C000001", "--kind", "叫修", "--location", "郊区", "--service-type", "A",
                  "--at", "2026-11-23T11:00",
                  "-f", "json"))
    assert sub["arrive_by"] == "2026-11-24T10:30:00+08:00" and sub["location"] == "suburban"
    assert [x["id"] for x in J(mf.ok("service", "list", "--overdue", "-f", "json"))] == [sub["id"]]
    assert [x["id"] for x in J(mf.ok("service", "list", "--open", "-f", "json"))] == [sub["id"]]
    # a repair is resolved by the technician sent to it: not before a dispatch, and only a technician is sent
    mf.refused("service", "resolve", sub["id"], match="no technician was dispatched")
    mf.ok("staff", "add", "kefu9", "--name", "客服", "--role", "service_dept")
    mf.refused("service", "dispatch", sub["id"], "--technician", "kefu9", match="does not hold role technician")
    shown = J(mf.ok("service", "show", sub["id"], "-f", "json"))
    assert (shown["status"], shown["technician"]) == ("open", None)  # the refusals changed nothing
    mf.ok("service", "dispatch", sub["id"], "--technician", "ligong")
    r = mf("service", "resolve", sub["id"])
    assert r.exit_code == 0 and f"{sub['id']}: missed arrive (due 2026-11-24 10:30)" in r.stderr


def test_gas_service_clocks_across_national_day(fresh):
    cli = fresh("gas-service")
    cli.ok("staff", "add", "qiangxiu", "--name", "抢修工", "--role", "repair_team")
    cli.ok("customer", "add", "--name", "城南小区", "--segment", "sector=residential")
    t = J(cli.ok("service", "open", "C000001", "--kind", "repair", "--summary", "管道漏气", "--at", "2026-09-30T20:00",
                 "-f", "json"))
    assert (t["respond_by"], t["resolve_by"]) == ("2026-10-01T02:00:00+08:00", "2026-10-01T20:00:00+08:00")
    cli.ok("service", "dispatch", t["id"], "--technician", "qiangxiu", "--at", "2026-09-30T20:30")
    cli.ok("service", "arrive", t["id"], "--at", "2026-09-30T22:00")
    r = J(cli.ok("service", "resolve", t["id"], "--at", "2026-10-01T21:00", "-f", "json"))
    assert r["overdue"] is True and r["missed"] == ["resolve"]
    assert [x["id"] for x in J(cli.ok("service", "list", "--overdue", "-f", "json"))] == [t["id"]]
    assert J(cli.ok("service", "list", "--open", "-f", "json")) == []


# --------------------------------------------------------------------------- proposals


def test_proposal_month_deadline_and_benefit(mf: Cli):
    pid = mf.ok("proposal", "open", "C000001", "--category", "logistics", "--summary", "合并配送线路",
                "--at", "2026-01-31T10:00").strip()
    assert pid == "TA-2026-0001"
    p = J(mf.ok("proposal", "show", pid, "-f", "json"))
    assert p["due_at"] == "2026-02-28T10:00:00+08:00" and p["status"] == "open"
    assert mf.ok("proposal", "close", pid, "--adopted", "--saving", "120000", "--implement-by", "2026-03-01",
                 "--at", "2026-02-27T10:00").strip() == "adopted"
    p = J(mf.ok("proposal", "show", pid, "-f", "json"))
    assert p["saving"] == 120000 and p["benefit"] == {"company_pct": 40.0, "customer_pct": 60.0, "months": 12,
                                                      "until": "2027-03-01"}
    assert p["overdue"] is False
    late = mf.ok("proposal", "open", "C000001", "--category", "其他", "--summary", "增设网点", "--at", "2026-09-01T10:00").strip()
    assert [x["id"] for x in J(mf.ok("proposal", "list", "--overdue", "-f", "json"))] == [late]
    assert mf.ok("proposal", "close", late, "--rejected").strip() == "rejected"
    assert "40% company" in mf.ok("proposal", "show", pid)


def test_proposal_schedule(mf: Cli):
    pid = mf.ok("proposal", "open", "C000001", "--category", "other", "--summary", "新型密封件",
                "--at", "2026-11-02T10:00").strip()
    before = fingerprint(mf.db)
    mf.refused("proposal", "schedule", pid, "--by", "2026-12-01", match="not after the deadline")
    mf.refused("proposal", "schedule", pid, "--by", "明年", match="--by")
    mf.refused("proposal", "schedule", "TA-2026-0999", "--by", "2027-01-15", match="no proposal")
    assert mf("proposal", "schedule", pid).exit_code == 2  # a usage error: --by is required
    assert fingerprint(mf.db) == before
    assert mf.ok("proposal", "schedule", pid, "--by", "2027-01-15").strip() == "2027-01-15T23:59:59+08:00"
    assert J(mf.ok("proposal", "show", pid, "-f", "json"))["due_at"] == "2027-01-15T23:59:59+08:00"


# --------------------------------------------------------------------------- refusals


def test_refusals_complaints(pc: Cli):
    pc.ok("complaint", "open", "C000001", "--summary", "x", "--at", "2026-11-02T10:00")
    pc.refused("complaint", "open", "C000001", "--summary", "x", "--severity", "urgent", match="unknown severity 'urgent'")
    pc.refused("complaint", "open", "C999999", "--summary", "x", match="no customer 'C999999'")
    pc.refused("complaint", "open", "C000001", "--summary", " ", match="--summary")
    pc.refused("complaint", "open", "C000001", "--summary", "x", "--at", "2026-12-01T10:00", match="in the future")
    pc.refused("complaint", "open", "C000001", "--summary", "x", "--at", "yesterday", match="--at")
    _opinion_approved(pc, "TS-2026-0001", "2026-11-02T10:30")
    pc.refused("complaint", "close", "TS-2026-0099", "--note", "x", match="no complaint 'TS-2026-0099'")
    pc.refused("complaint", "close", "42", "--note", "x", match="no complaint '42'")
    pc.refused("complaint", "close", "TS-2026-0001", "--note", "x", "--at", "2026-11-02T09:59",
               match="before the opening")
    pc.ok("complaint", "close", "TS-2026-0001", "--note", "已处理", "--at", "2026-11-02T11:00")
    pc.refused("complaint", "close", "TS-2026-0001", "--note", "x", match="already closed")
    pc.refused("complaint", "extend", "TS-2026-0001", "--working-days", "1", match="closed")
    pc.refused("complaint", "escalate", "TS-2026-0001", match="closed")
    pc.ok("customer", "disqualify", "C000002", "--reason", "fraud")
    pc.refused("complaint", "open", "C000002", "--summary", "x", match="disqualified")


def test_refusals_tickets(mf: Cli, monkeypatch):
    monkeypatch.setenv("CRMCTL_NOW", "2026-11-25T10:00")
    pc = mf
    pc.refused("service", "open", "C000001", "--kind", "install", match="unknown kind 'install'")
    pc.refused("service", "open", "C000001", "--kind", "repair", "--location", "rural", match="unknown location 'rural'")
    pc.refused("service", "open", "C000001", "--kind", "repair", "--service-type", "D", match="unknown service type 'D'")
    pc.refused("service", "open", "C404", "--kind", "repair", "--service-type", "A", match="no customer 'C404'")
    # 五.6: every call names its type; a contract call needs a maintenance contract in force, a free one a warranty
    pc.refused("service", "open", "C000001", "--kind", "repair", match="--service-type is required")
    pc.refused("service", "open", "C000001", "--kind", "repair", "--service-type", "C", match="needs a warranty")
    tid = pc.ok("service", "open", "C000001", "--kind", "repair", "--service-type", "A", "--at", "2026-11-23T09:00").strip()
    pc.refused("service", "dispatch", "FW-2026-09999", "--technician", "ligong", match="no service ticket")
    pc.refused("service", "dispatch", tid, "--technician", "ghost", match="no staff member 'ghost'")
    pc.refused("service", "dispatch", tid, "--technician", "ligong", "--at", "2026-11-23T08:00", match="before the opening")
    pc.refused("service", "take-back", tid, "--receipt", "SJ1", match="only after the technician arrived")
    pc.ok("service", "dispatch", tid, "--technician", "ligong", "--at", "2026-11-23T09:30")
    pc.refused("service", "rate", tid, "attitude=4", "skill=4", "arrival=4", "promise=4", match="once it is resolved")
    pc.ok("service", "resolve", tid, "--at", "2026-11-23T12:00")
    pc.refused("service", "resolve", tid, match="already resolved")
    pc.refused("service", "dispatch", tid, "--technician", "ligong", match="already resolved")
    pc.refused("service", "rate", tid, "attitude=5", "skill=4", "arrival=4", "promise=4", match="attitude=5")
    pc.refused("service", "rate", tid, "attitude=0", "skill=4", "arrival=4", "promise=4", match="not a level")
    pc.refused("service", "rate", tid, "attitude=4", "skill=4", "arrival=4", match="lacks promise")
    pc.refused("service", "rate", tid, "attitude=4", "skill=4", "arrival=4", "promise=4", "price=1",
               match="unknown rating item 'price'")
    pc.refused("service", "rate", tid, "attitude", "skill=4", match="not KEY=VALUE")
    pc.ok("customer", "disqualify", "C000001", "--reason", "breach")
    pc.refused("service", "open", "C000001", "--kind", "repair", "--service-type", "A", match="disqualified")


def test_refusals_proposals(mf: Cli):
    pid = mf.ok("proposal", "open", "C000001", "--category", "materials", "--summary", "新型密封件",
                "--at", "2026-11-02T10:00").strip()
    mf.refused("proposal", "open", "C000001", "--category", "marketing", "--summary", "x", match="unknown category 'marketing'")
    mf.refused("proposal", "close", pid, "--adopted", "--saving", "-100", match="negative")
    mf.refused("proposal", "close", pid, "--adopted", "--saving", "NaN", match="--saving")
    mf.refused("proposal", "close", pid, "--adopted", "--saving", "1e309", match="--saving")
    mf.refused("proposal", "close", pid, "--adopted", "--saving", "inf", match="--saving")
    mf.refused("proposal", "close", pid, "--adopted", "--implement-by", "2026-02-30", match="--implement-by")
    mf.refused("proposal", "close", pid, "--adopted", "--implement-by", "2026-10-01", match="before the proposal was opened")
    mf.refused("proposal", "close", pid, "--rejected", "--saving", "100", match="adopted proposal only")
    mf.refused("proposal", "close", pid, match="--adopted or --rejected")
    mf.refused("proposal", "close", pid, "--rejected", "--at", "2026-11-01T10:00", match="before the opening")
    mf.refused("proposal", "show", "TA-2026-0404", match="no proposal")
    mf.ok("proposal", "close", pid, "--rejected")
    mf.refused("proposal", "close", pid, "--adopted", match="already closed")


def test_feature_missing_from_policy_refused(fresh):
    cli = fresh("fuel-retail")
    cli.ok("customer", "add", "--name", "顺达物流", "--segment", "nature=big", "--segment", "card=unit",
           "--segment", "industry=logistics")
    cli.refused("service", "open", "C000001", "--kind", "repair", match="no service tickets")
    cli.refused("proposal", "open", "C000001", "--category", "other", "--summary", "x", match="no customer proposals")
    cli.ok("complaint", "open", "C000001", "--summary", "积分未到账", "--at", "2026-11-20T10:00")
    cli.refused("complaint", "extend", "1", "--working-days", "1", match="no extension")
    cli.refused("complaint", "escalate", "1", match="names no role")


def test_follow_up_to_the_administrator_only_when_nobody_holds_the_role(make_cli):
    """gas-service 16: closing a complaint plans the service centre's revisit; with nobody but the
    administrator in that role it goes to them, with a warning."""
    cli = make_cli("gas-service")
    code = cli.ok("customer", "add", "--name", "城南商业综合体", "--segment", "sector=commercial").strip()
    number = cli.ok("complaint", "open", code, "--summary", "燃气压力低", "--at", "2026-11-20T09:00").strip()
    r = cli("complaint", "close", number, "--note", "已调压", "--satisfied", "--at", "2026-11-20T15:00")
    assert r.exit_code == 0, r.stderr
    assert "follow-up call planned for admin" in r.stderr
    assert "Warning: no active staff member but an administrator holds role service_center" in r.stderr
    cli.ok("staff", "add", "kefu", "--name", "客服", "--role", "service_center")
    number = cli.ok("complaint", "open", code, "--summary", "账单疑问", "--at", "2026-11-20T09:00").strip()
    r = cli("complaint", "close", number, "--note", "已解释", "--satisfied", "--at", "2026-11-20T15:00")
    assert "follow-up call planned for kefu" in r.stderr and "Warning" not in r.stderr


def test_show_tables_align_values_by_screen_width(make_cli):
    """A Chinese character takes two terminal columns: every value of ``complaint show`` starts in
    the same column whatever the length of its (Chinese + English) label."""
    from rich.cells import cell_len

    cli = make_cli("gas-service")
    code = cli.ok("customer", "add", "--name", "城东小区", "--segment", "sector=residential").strip()
    number = cli.ok("complaint", "open", code, "--summary", "抄表不准", "--at", "2026-11-20T09:00").strip()
    lines = [ln for ln in cli.ok("complaint", "show", number).splitlines() if "  " in ln][:8]
    starts = set()
    for ln in lines:
        label, _, _ = ln.partition("  ")
        rest = ln[len(label):]
        starts.add(cell_len(label) + len(rest) - len(rest.lstrip(" ")))
    assert len(lines) >= 5 and len(starts) == 1, lines


def test_import_summary_counts_in_words(make_cli, tmp_path):
    cli = make_cli("gas-service")
    f = tmp_path / "one.csv"
    f.write_text("name,segments.sector\n城西小区,residential\n", encoding="utf-8")
    r = cli("customer", "import", str(f))
    assert r.exit_code == 0, r.stderr
    assert "imported 1 customer from" in r.stderr
