"""CLI: visit plan / log / list, survey record / list, target set / list — output and every refusal."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import Cli, execute_sql, fingerprint

FUEL_BIG = ["--segment", "nature=big", "--segment", "card=unit", "--segment", "industry=taxi"]
POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=direct", "--segment", "sales_form=plan"]


@pytest.fixture
def fuel_cli(fuel: Cli) -> Cli:
    """fuel-retail: zhang keeps C000001 (diamond) and C000002 (ordinary); li keeps C000003 (individual)."""
    fuel.ok("staff", "add", "zhang", "--name", "张站长", "--role", "station_master")
    fuel.ok("staff", "add", "li", "--name", "李经理", "--role", "branch_retail_dept")
    fuel.ok("customer", "add", "--name", "出租车公司", *FUEL_BIG, "--owner", "zhang")
    fuel.ok("customer", "add", "--name", "物流车队", *FUEL_BIG, "--owner", "zhang")
    fuel.ok("customer", "add", "--name", "王先生", "--segment", "nature=individual", "--segment", "card=single",
            "--segment", "industry=other", "--owner", "li")
    execute_sql(fuel.db, "insert into customer_grade(customer_id, scale, grade, label, since) values "
                         "(1, 'big', 'diamond', '2026-H1', '2026-07-01 00:00:00'), "
                         "(2, 'big', 'ordinary', '2026-H1', '2026-07-01 00:00:00')")
    return fuel


def _visits(cli: Cli, *args: str) -> list[dict]:
    return json.loads(cli.ok("visit", "list", "--format", "json", *args))


def test_visit_plan_summary_json_and_idempotence(fuel_cli: Cli):
    out = fuel_cli.ok("visit", "plan", "--month", "2026-12")
    assert "zhang" in out and "li" in out and "回访 3" in out
    assert "2026-12: planned 5 activities" in out  # 2 + 1 + 1 visits, 1 symposium
    before = fingerprint(fuel_cli.db)
    again = json.loads(fuel_cli.ok("visit", "plan", "--month", "2026-12", "--format", "json"))
    assert again == {"month": "2026-12", "owner": None, "planned": 0, "already_planned": 5, "unassigned": 0,
                     "owners": [], "warnings": []}
    assert fingerprint(fuel_cli.db) == before  # a second run adds nothing at all
    rows = _visits(fuel_cli, "--month", "2026-12")
    assert len(rows) == 5
    assert set(rows[0]) >= {"id", "customer", "kind", "due_date", "owner", "status"}
    diamond = sorted(r["due_date"] for r in rows if r["customer"] == "C000001")
    assert len(diamond) == 2 and diamond[0] <= "2026-12-15" < diamond[1]
    assert {r["owner"] for r in rows if r["customer"] in ("C000001", "C000002")} == {"zhang"}


def test_visit_plan_json_for_a_new_month_and_csv(fuel_cli: Cli):
    r = json.loads(fuel_cli.ok("visit", "plan", "--month", "2027-02", "--format", "json"))
    assert r["planned"] == 1 + 2 + 1 + 1 + 3  # symposium 2027, visits, a Spring Festival greeting each
    owners = {o["owner"]: o["kinds"] for o in r["owners"]}
    assert owners["zhang"] == {"greeting": 2, "visit": 3}
    greet = _visits(fuel_cli, "--month", "2027-02", "--kind", "greeting")
    assert {g["due_date"] for g in greet} == {"2027-02-06"}
    text = fuel_cli.ok("visit", "list", "--month", "2027-02", "--format", "csv")
    head = next(csv.reader(io.StringIO(text)))
    assert head[:6] == ["id", "customer", "kind", "due_date", "owner", "status"]
    out = fuel_cli.ok("visit", "plan", "--month", "2027-03", "--format", "csv")
    assert out.splitlines()[0] == "month,owner,kind,planned"


def test_visit_plan_owner_filter(fuel_cli: Cli):
    r = json.loads(fuel_cli.ok("visit", "plan", "--month", "2026-12", "--owner", "zhang", "--format", "json"))
    assert [o["owner"] for o in r["owners"]] == ["zhang"] and r["planned"] == 3
    assert {v["owner"] for v in _visits(fuel_cli)} == {"zhang"}


def test_visit_log_planned_unplanned_and_missed(fuel_cli: Cli, monkeypatch):
    fuel_cli.ok("visit", "plan", "--month", "2026-11")
    rows = _visits(fuel_cli, "--month", "2026-11", "--customer", "C000001")
    first = min(rows, key=lambda r: r["due_date"])
    out = fuel_cli.ok("visit", "log", "C000001", "--kind", "visit", "--planned", str(first["id"]),
                      "--note", "客户满意", "--at", "2026-11-10T15:00", actor="zhang")
    assert out.strip() == str(first["id"])
    shown = json.loads(fuel_cli.ok("visit", "show", str(first["id"]), "--format", "json"))
    assert shown["status"] == "done" and shown["done_at"] == "2026-11-10T15:00:00+08:00" and shown["done_by"] == "zhang"
    # an unplanned call, shown as JSON
    call = json.loads(fuel_cli.ok("visit", "log", "C000002", "--kind", "电话/短信/邮件回访", "--format", "json"))
    assert (call["customer"], call["kind"], call["status"], call["planned"]) == ("C000002", "call", "done", False)
    # December: what was not done in November is missed
    monkeypatch.setenv("CRMCTL_NOW", "2026-12-02T09:00")
    missed = _visits(fuel_cli, "--status", "missed")
    assert {(m["customer"], m["kind"]) for m in missed} == {("C000001", "visit"), ("C000002", "visit"),
                                                            ("C000003", "visit")}
    assert all(m["status"] == "missed" for m in missed)
    assert {d["id"] for d in _visits(fuel_cli, "--status", "done")} == {first["id"], call["id"]}
    assert _visits(fuel_cli, "--status", "planned") != []  # the yearly symposium, due 31 December
    # a missed one may still be logged late
    late = next(m for m in missed if m["customer"] == "C000003")
    fuel_cli.ok("visit", "log", "--planned", str(late["id"]), "--at", "2026-12-01T10:00")  # CODE implied
    assert _visits(fuel_cli, "--owner", "li", "--status", "missed") == []
    # the call counts toward C000002's December revisit: nothing due in its first half
    plan = json.loads(fuel_cli.ok("visit", "plan", "--month", "2026-12", "--format", "json"))
    assert plan["planned"] == 3  # diamond 2, C000002 1 (its call was in November); C000003 visited 1 December


def test_petrochem_visit_report_fields(petrochem: Cli):
    petrochem.ok("customer", "add", "--name", "河北华塑化工有限公司", *POLY)
    petrochem.ok("doc", "add", "C000001", "--type", "business_license", "--expires", "2028-01-01")
    petrochem.ok("doc", "add", "C000001", "--type", "tax_registration", "--expires", "2028-01-01")
    petrochem.ok("doc", "add", "C000001", "--type", "org_code", "--expires", "2028-01-01")
    petrochem.ok("doc", "add", "C000001", "--type", "billing_info")
    execute_sql(petrochem.db, "update customer set status = 'active'")
    plan = json.loads(petrochem.ok("visit", "plan", "--month", "2026-11", "--format", "json"))
    assert plan["planned"] == 3  # the yearly visit, the symposium and the survey
    visit = _visits(petrochem, "--kind", "visit")[0]
    vid = petrochem.ok("visit", "log", "C000001", "--kind", "visit", "--field", "product_info=需要新牌号",
                       "--field", "市场信息=下游需求回暖", "--field", "needs=稳定供货").strip()
    assert vid == str(visit["id"])  # an unplanned log completes the month's open planned visit
    shown = json.loads(petrochem.ok("visit", "show", vid, "--format", "json"))
    assert {k: v for k, v in shown["report"].items() if v is not None} == {
        "product_info": "需要新牌号", "market_info": "下游需求回暖", "needs": "稳定供货"}  # every field a key (issue 16)
    sym = _visits(petrochem, "--kind", "symposium")[0]
    assert sym["customer"] is None
    assert petrochem.ok("visit", "log", "--kind", "symposium", "--field", "minutes=纪要已归档").strip() == str(sym["id"])
    assert json.loads(petrochem.ok("visit", "plan", "--month", "2026-12", "--format", "json"))["planned"] == 0


def test_visit_refusals(fuel_cli: Cli, monkeypatch):
    fuel_cli.ok("visit", "plan", "--month", "2026-11")
    mine = _visits(fuel_cli, "--customer", "C000001")[0]["id"]
    other = _visits(fuel_cli, "--customer", "C000002")[0]["id"]
    fuel_cli.ok("customer", "add", "--name", "违规客户", *FUEL_BIG)
    fuel_cli.ok("customer", "disqualify", "C000004", "--reason", "fraud")
    fuel_cli.ok("visit", "log", "C000001", "--planned", str(mine))
    r = fuel_cli.refused
    r("visit", "plan", "--month", "2026-13", match="--month")
    r("visit", "plan", "--month", "2026/12", match="--month")
    r("visit", "plan", "--month", "2026-Q4", match="--month")
    r("visit", "plan", "--month", "2026-12", "--owner", "ghost", match="ghost")
    r("visit", "list", "--month", "11-2026", match="--month")
    r("visit", "list", "--status", "late", match="unknown status")
    r("visit", "list", "--owner", "ghost", match="ghost")
    r("visit", "list", "--customer", "C999999", match="C999999")
    r("visit", "log", "C000001", "--kind", "dance", match="unknown activity kind")
    r("visit", "log", "C999999", "--kind", "visit", match="no customer")
    r("visit", "log", "C000004", "--kind", "visit", match="disqualified")
    r("visit", "log", "C000001", "--planned", str(other), match="is for C000002")
    r("visit", "log", "C000001", "--planned", str(mine), match="already done")
    r("visit", "log", "C000001", "--planned", "99999", match="no activity 99999")
    r("visit", "log", "C000001", "--kind", "inspection", "--planned", str(_visits(fuel_cli, "--customer", "C000001",
                                                                            "--status", "planned")[0]["id"]),
      match="does not count")
    r("visit", "log", "C000001", "--kind", "visit", "--at", "2027-01-01", match="future")
    r("visit", "log", "C000001", "--kind", "visit", "--at", "yesterday", match="--at")
    r("visit", "log", "C000001", "--kind", "visit", "--field", "mood=good", match="not a report field")
    r("visit", "log", "C000001", "--kind", "visit", "--field", "novalue", match="KEY=VALUE")
    r("visit", "log", "--kind", "visit", match="customer CODE")
    r("visit", "log", "C000001", match="--kind")
    r("visit", "show", "424242", match="no activity")
    assert fuel_cli("visit", "log", "C000001", "--kind", "visit", "--planned", "abc").exit_code == 2


def test_survey_record_and_list(petrochem: Cli):
    petrochem.ok("customer", "add", "--name", "沧州宏达塑业", *POLY)
    out = petrochem.ok("survey", "record", "C000001", "--label", "2026", "product=8", "服务质量=9", "image=7")
    assert out.strip() == "1"
    rows = json.loads(petrochem.ok("survey", "list", "--format", "json"))
    assert rows[0]["scores"] == {"product": 8, "service": 9, "image": 7} and rows[0]["average"] == 8.0
    text = petrochem.ok("survey", "list", "--format", "csv", "--label", "2026")
    assert next(csv.reader(io.StringIO(text)))[4:7] == ["scores.product", "scores.service", "scores.image"]
    r = petrochem.refused
    r("survey", "record", "C000001", "--label", "2026", "product=8", "service=9", "image=7", match="already recorded")
    r("survey", "record", "C000001", "--label", "2025", "product=8", "service=9", match="missing score for image")
    r("survey", "record", "C000001", "--label", "2025", "product=8", "service=9", "image=11", match="from 1 to 10")
    r("survey", "record", "C000001", "--label", "2025", "product=8", "service=9", "image=1e309", match="whole number")
    r("survey", "record", "C000001", "--label", "2025", "product=8", "service=9", "image=nan", match="whole number")
    r("survey", "record", "C000001", "--label", "2025", "product=8", "service=9", "image=7", "price=5",
      match="unknown item")
    r("survey", "record", "C000001", "--label", "2026-Q4", "product=8", "service=9", "image=7", match="not a year")
    r("survey", "record", "C000001", "--label", "2031", "product=8", "service=9", "image=7", match="between")
    r("survey", "record", "C999999", "--label", "2025", "product=8", "service=9", "image=7", match="no customer")
    r("survey", "record", "C000001", "--label", "2025", "--survey", "nps", "product=8", match="unknown survey")
    r("survey", "list", "--label", "26", match="not a year")


def test_target_set_and_list(petrochem: Cli, make_cli):
    petrochem.ok("staff", "add", "xiaoshou", "--name", "销售员", "--role", "sales")
    assert petrochem.ok("target", "set", "xiaoshou", "--quarter", "2026-Q4", "--prospects", "10",
                        "--admitted", "4").strip() == "xiaoshou"
    petrochem.ok("target", "set", "xiaoshou", "--quarter", "2026-Q4", "--prospects", "12", "--admitted", "5")
    rows = json.loads(petrochem.ok("target", "list", "--format", "json"))
    assert [(t["login"], t["label"], t["prospects"], t["admitted"]) for t in rows] == [("xiaoshou", "2026-Q4", 12, 5)]
    r = petrochem.refused
    r("target", "set", "xiaoshou", "--quarter", "2026-11", "--prospects", "1", "--admitted", "1", match="quarter")
    r("target", "set", "xiaoshou", "--quarter", "2026-Q5", "--prospects", "1", "--admitted", "1", match="--quarter")
    r("target", "set", "xiaoshou", "--quarter", "2027-Q1", "--prospects", "-1", "--admitted", "1", match="--prospects")
    r("target", "set", "ghost", "--quarter", "2027-Q1", "--prospects", "1", "--admitted", "1", match="ghost")
    r("target", "list", "--quarter", "Q4", match="--quarter")
    make_cli("fuel-retail", name="fuel.db").refused("target", "set", "admin", "--quarter", "2027-Q1", "--prospects", "1", "--admitted", "1",
                 match="no development targets")


def test_policy_without_surveys_refuses(make_cli):
    cli = make_cli("manufacturer")
    cli.ok("customer", "add", "--name", "某供应商", "--segment", "kind=supplier")
    cli.refused("survey", "record", "C000001", "--label", "2026", "a=1", match="defines no surveys")


def test_company_duties_go_to_staff_before_the_administrator(petrochem: Cli, make_cli):
    """The administrator init makes holds every role: a role's work goes to them only when nobody
    else holds it, and visit plan warns when it does (issue 16)."""
    r = petrochem("visit", "plan", "--month", "2026-12", "--format", "json")
    assert r.exit_code == 0, r.stderr
    owners = {o["owner"] for o in json.loads(r.stdout)["owners"]}
    assert owners == {"admin"} and "administrator holds role sales" in r.stderr
    other = make_cli("petrochem", "second.db")
    other.ok("staff", "add", "xs", "--name", "销售员", "--role", "sales")
    r = other("visit", "plan", "--month", "2026-12", "--format", "json")
    assert {o["owner"] for o in json.loads(r.stdout)["owners"]} == {"xs"} and "administrator" not in r.stderr
