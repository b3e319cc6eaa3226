"""Relationship work on a tmp database: visit plan, logs, missed, hand-over, surveys, targets, demo."""

from __future__ import annotations

import random
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crmctl.errors import InvalidInput, NotFound, RuleViolation
from crmctl.models import Activity, ActivityPlanRun, AuditLog, Customer, CustomerGrade, Document, Staff
from crmctl.services import activities as acts
from crmctl.services.demo import activities as activities_demo
from crmctl.services.app import Settings, open_app
from crmctl.services.customers import add_customer, disqualify
from crmctl.services.staff import add_staff

SH = ZoneInfo("Asia/Shanghai")
FUEL_BIG = {"nature": "big", "card": "unit", "industry": "logistics"}
POLY = {"product_line": "polyolefin", "channel": "distributor", "sales_form": "auction"}


@pytest.fixture
def opened():
    apps = []
    yield apps
    for a in apps:
        a.close()


@pytest.fixture
def fuel_app(make_cli, opened):
    """fuel-retail: keepers zhang (station master) and li (retail dept); C000001 diamond, C000002 silver,
    C000003 ungraded, all zhang's; C000004 li's."""
    cli = make_cli("fuel-retail", name="fuel.db")
    app = open_app(Settings(db=str(cli.db), actor="admin"))
    opened.append(app)
    add_staff(app, "zhang", "张站长", ["station_master"], None)
    add_staff(app, "li", "李经理", ["branch_retail_dept"], None)
    for i in range(3):
        add_customer(app, f"加油客户{i}", FUEL_BIG, {}, owner="zhang")
    add_customer(app, "个人客户", {"nature": "individual", "card": "single", "industry": "other"}, {}, owner="li")
    now = app.now()
    with app.db.write() as s:
        s.add(CustomerGrade(customer_id=1, scale="big", grade="diamond", label="2026-H1", since=now))
        s.add(CustomerGrade(customer_id=2, scale="big", grade="silver", label="2026-H1", since=now))
    return app


def _count(app, *where) -> int:
    with app.db.read() as s:
        return s.scalar(select(func.count()).select_from(Activity).where(*where))


def test_plan_fuel_retail_month_idempotent(fuel_app):
    app = fuel_app
    r = acts.plan_visits(app, "2026-12")
    # diamond 2, silver 1, ungraded 1, individual 1 = 5 visits; the yearly symposium for the company
    assert r["planned"] == 6 and r["already_planned"] == 0 and r["unassigned"] == 0
    owners = {o["owner"]: o["kinds"] for o in r["owners"]}
    assert owners["zhang"] == {"visit": 4} and owners["li"]["visit"] == 1
    assert sum(o["kinds"].get("symposium", 0) for o in r["owners"]) == 1
    rows = list(acts.list_visits(app, month="2026-12"))
    assert {tuple(sorted(x)) for x in rows} >= {tuple(sorted(rows[0]))}
    assert set(rows[0]) >= {"id", "customer", "kind", "due_date", "owner", "status"}
    assert all(x["status"] == "planned" for x in rows)
    with app.db.read() as s:
        runs = s.scalar(select(func.count()).select_from(ActivityPlanRun))
        audits = s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "visit.plan"))
    assert (runs, audits) == (1, 1)
    again = acts.plan_visits(app, "2026-12")
    assert again["planned"] == 0 and again["already_planned"] == 6
    with app.db.read() as s:
        assert s.scalar(select(func.count()).select_from(ActivityPlanRun)) == 1  # no trace of the empty run
    assert _count(app) == 6


def test_plan_owner_filter_and_role_duties(fuel_app):
    app = fuel_app
    r = acts.plan_visits(app, "2026-12", "zhang")
    assert [(o["owner"], o["kinds"]) for o in r["owners"]] == [("zhang", {"visit": 4})]  # no symposium: not his role
    r = acts.plan_visits(app, "2026-12", "li")
    assert [(o["owner"], o["kinds"]) for o in r["owners"]] == [("li", {"symposium": 1, "visit": 1})]
    assert acts.plan_visits(app, "2026-12")["planned"] == 0
    with pytest.raises(NotFound):
        acts.plan_visits(app, "2026-12", "nobody")


def test_role_duties_go_to_the_least_loaded(make_cli, opened):
    cli = make_cli("petrochem")
    app = open_app(Settings(db=str(cli.db), actor="admin"))
    opened.append(app)
    add_staff(app, "s1", "甲", ["sales"], None)
    add_staff(app, "s2", "乙", ["sales"], None)
    with app.db.write() as s:  # admin (who holds every role) already carries planned work
        for i in range(3):
            s.add(Activity(kind="call", due_date=date(2026, 11, 30), owner_id=1, status="planned",
                           created_at=app.now()))
    r = acts.plan_visits(app, "2026-11")
    company = {o["owner"]: o["kinds"] for o in r["owners"]}
    assert company == {"s1": {"symposium": 1}, "s2": {"survey": 1}} or company == {"s1": {"survey": 1}, "s2": {"symposium": 1}}


def test_log_planned_and_unplanned_count_toward_the_cadence(make_cli, opened, monkeypatch):
    cli = make_cli("petrochem")
    app = open_app(Settings(db=str(cli.db), actor="admin"))
    opened.append(app)
    for i in range(3):
        add_customer(app, f"化工客户{i}", POLY, {})
    with app.db.write() as s:
        s.execute(Customer.__table__.update().values(status="active"))
    r = acts.plan_visits(app, "2026-11")
    assert r["planned"] == 3 + 2  # a yearly visit each (never visited) + symposium + survey
    planned = {x["customer"]: x for x in acts.list_visits(app, month="2026-11", kind="visit")}
    done = acts.log_visit(app, "C000001", "visit", planned=planned["C000001"]["id"], notes="走访顺利",
                          fields={"product_info": "需要新牌号", "needs": "稳定供货"})
    assert done["status"] == "done" and done["id"] == planned["C000001"]["id"]
    # every report field of the policy is a key (null where not written): the same keys on every row
    assert {k: v for k, v in done["report"].items() if v is not None} == {"product_info": "需要新牌号", "needs": "稳定供货"}
    assert set(done["report"]) == {"product_info", "market_info", "service_quality", "needs", "minutes", "suggestions"}
    with pytest.raises(RuleViolation, match="already done"):
        acts.log_visit(app, "C000001", "visit", planned=done["id"])
    with pytest.raises(RuleViolation, match="is for C000002"):
        acts.log_visit(app, "C000001", "visit", planned=planned["C000002"]["id"])
    with pytest.raises(RuleViolation, match="does not count"):
        acts.log_visit(app, "C000002", "call", planned=planned["C000002"]["id"])
    # an unplanned visit for C000002, logged by its label
    acts.log_visit(app, "C000002", "客户走访", at=datetime(2026, 11, 20, 15, 0, tzinfo=SH))
    # December: C000001 and C000002 were visited this year; C000003 missed November and is planned again
    app.settings.now = "2026-12-01T09:00"  # the same process, a day later
    dec = acts.plan_visits(app, "2026-12")
    assert dec["planned"] == 1
    (again,) = [x for x in acts.list_visits(app, month="2026-12", kind="visit")]
    assert again["customer"] == "C000003" and again["kind"] == "visit"
    missed = list(acts.list_visits(app, status="missed"))
    assert [x["customer"] for x in missed] == ["C000003"]
    assert {x["status"] for x in acts.list_visits(app, status="done")} == {"done"}
    assert sorted(x["kind"] for x in acts.list_visits(app, status="planned")) == ["survey", "symposium", "visit"]


def test_company_activity_logged_without_a_customer(make_cli, opened):
    cli = make_cli("petrochem")
    app = open_app(Settings(db=str(cli.db), actor="admin"))
    opened.append(app)
    acts.plan_visits(app, "2026-11")
    (sym,) = [x for x in acts.list_visits(app, kind="symposium")]
    assert sym["customer"] is None
    with pytest.raises(InvalidInput, match="give the customer CODE"):
        acts.log_visit(app, None, "visit")
    done = acts.log_visit(app, None, None, planned=sym["id"], fields={"minutes": "座谈会纪要"})
    assert done["kind"] == "symposium" and done["status"] == "done"
    add_customer(app, "某客户", POLY, {})
    with pytest.raises(RuleViolation, match="the whole company"):
        acts.log_visit(app, "C000001", "survey", planned=[x for x in acts.list_visits(app, kind="survey")][0]["id"])


def test_refusals_write_nothing(fuel_app):
    app = fuel_app
    acts.plan_visits(app, "2026-12")
    before = _count(app)
    disqualify(app, "C000003", "fraud")
    with pytest.raises(InvalidInput, match="unknown activity kind"):
        acts.log_visit(app, "C000001", "dance")
    with pytest.raises(NotFound):
        acts.log_visit(app, "C999999", "visit")
    with pytest.raises(RuleViolation, match="disqualified"):
        acts.log_visit(app, "C000003", "visit")
    with pytest.raises(NotFound, match="no activity 9999"):
        acts.log_visit(app, "C000001", "visit", planned=9999)
    with pytest.raises(InvalidInput, match="in the future"):
        acts.log_visit(app, "C000001", "visit", at=datetime(2027, 1, 1, tzinfo=SH))
    with pytest.raises(InvalidInput, match="not a report field"):
        acts.log_visit(app, "C000001", "visit", fields={"colour": "red"})
    for bad in ("2026-13", "2026/12", "", "2026-Q4"):
        with pytest.raises(InvalidInput, match="--month"):
            acts.plan_visits(app, bad)
    with pytest.raises(InvalidInput):
        list(acts.list_visits(app, status="late"))
    assert _count(app) == before
    # the disqualified customer gets nothing planned next month
    r = acts.plan_visits(app, "2027-01")
    assert not any(x["customer"] == "C000003" for x in acts.list_visits(app, month="2027-01"))
    assert r["planned"] > 0


def test_handover_moves_open_planned_activities(fuel_app):
    app = fuel_app
    acts.plan_visits(app, "2026-12")
    first = next(x for x in acts.list_visits(app, owner="zhang"))
    acts.log_visit(app, first["customer"], "visit", planned=first["id"])
    with app.db.write() as s:
        zhang = s.scalars(select(Staff).where(Staff.login == "zhang")).one()
        li = s.scalars(select(Staff).where(Staff.login == "li")).one()
        assert acts.handover(s, zhang, li, app.now()) == ("activities", 3)
    owners = {(x["owner"], x["status"]) for x in acts.list_visits(app, month="2026-12") if x["customer"] != "C000004"
              and x["kind"] == "visit"}
    assert owners == {("li", "planned"), ("zhang", "done")}


def test_manufacturer_contract_expiry_notice(make_cli, opened):
    cli = make_cli("manufacturer")
    app = open_app(Settings(db=str(cli.db), actor="admin"))
    opened.append(app)
    for i in range(2):
        add_customer(app, f"供应商{i}", {"kind": "supplier"}, {})
    with app.db.write() as s:
        s.execute(Customer.__table__.update().values(status="active"))
        for cid, exp in ((1, date(2027, 1, 15)), (2, date(2027, 1, 20)), (2, date(2028, 1, 20))):
            s.add(Document(customer_id=cid, type="maintenance_contract", expires=exp, added_at=app.now(), added_by="admin"))
    acts.plan_visits(app, "2026-12")
    notices = [x for x in acts.list_visits(app, month="2026-12") if x["kind"] == "contact"]
    # customer 2 renewed its contract (a later one is on file): no notice
    assert [(x["customer"], x["due_date"]) for x in notices] == [("C000001", date(2026, 12, 15))]  # one calendar month before 15 Jan
    assert "maintenance_contract" in notices[0]["note"]


def test_surveys_and_targets(make_cli, opened):
    cli = make_cli("petrochem")
    app = open_app(Settings(db=str(cli.db), actor="admin"))
    opened.append(app)
    add_customer(app, "化工客户", POLY, {})
    add_staff(app, "xs", "销售", ["sales"], None)
    r = acts.record_survey(app, "C000001", "2026", {"product": "8", "服务质量": "9", "image": "7"})
    assert r["scores"] == {"product": 8, "service": 9, "image": 7} and r["average"] == 8.0
    with pytest.raises(RuleViolation, match="already recorded"):
        acts.record_survey(app, "C000001", "2026", {"product": "8", "service": "9", "image": "7"})
    for answers, msg in (({"product": "8", "service": "9"}, "missing score for image"),
                         ({"product": "8", "service": "9", "image": "11"}, "from 1 to 10"),
                         ({"product": "8", "service": "9", "image": "nan"}, "whole number"),
                         ({"product": "8", "service": "9", "image": "7", "price": "5"}, "unknown item")):
        with pytest.raises(InvalidInput, match=msg):
            acts.record_survey(app, "C000001", "2025", answers)
    with pytest.raises(InvalidInput, match="not a year"):
        acts.record_survey(app, "C000001", "26", {"product": "8", "service": "9", "image": "7"})
    with pytest.raises(InvalidInput, match="between 1900 and 2026"):
        acts.record_survey(app, "C000001", "2027", {"product": "8", "service": "9", "image": "7"})
    assert [x["label"] for x in acts.list_surveys(app)] == ["2026"]

    t = acts.set_target(app, "xs", "2026-Q4", 10, 4)
    assert (t["label"], t["prospects"], t["admitted"]) == ("2026-Q4", 10, 4)
    acts.set_target(app, "xs", "2026-Q4", 12, 5)
    assert [(x["login"], x["prospects"], x["admitted"]) for x in acts.list_targets(app)] == [("xs", 12, 5)]
    with pytest.raises(InvalidInput, match="quarter"):
        acts.set_target(app, "xs", "2026-11", 1, 1)
    with pytest.raises(InvalidInput, match="--prospects"):
        acts.set_target(app, "xs", "2027-Q1", -1, 1)
    with pytest.raises(NotFound):
        acts.set_target(app, "ghost", "2027-Q1", 1, 1)


@pytest.mark.parametrize("policy", ["fuel-retail", "petrochem", "gas-tiered", "manufacturer", "gas-service"])
def test_demo_step(make_cli, opened, policy):
    segs = {"fuel-retail": FUEL_BIG, "petrochem": POLY, "gas-tiered": {"supply": "pipeline", "sector": "industrial"},
            "manufacturer": {"kind": "supplier"}, "gas-service": {"sector": "commercial"}}[policy]
    cli = make_cli(policy, name=f"{policy}.db")
    app = open_app(Settings(db=str(cli.db), actor="admin"))
    opened.append(app)
    k = 0
    for role in app.policy.roles:
        k += 1
        add_staff(app, f"{role.replace('_', '')[:10]}{k:02d}", f"员工{k}", [role], None)
    for i in range(10):
        add_customer(app, f"演示客户{i}", segs, {f.key: "x" for f in app.policy.fields if f.required})
    with app.db.write() as s:
        s.execute(Customer.__table__.update().values(status="active"))
    lines = list(activities_demo.demo_step(app, random.Random(3)))
    assert lines and all(isinstance(x, str) and x for x in lines)
    prev = [x for x in acts.list_visits(app, month="2026-10")]
    if prev:
        share = sum(1 for x in prev if x["status"] == "done") / len(prev)
        assert 0.5 < share <= 1
    assert list(acts.list_visits(app, month="2026-11"))
