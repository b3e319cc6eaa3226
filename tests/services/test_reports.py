"""Reports on a tmp database (SQLite, or PostgreSQL on a --pg run), with data made through the services
of every feature: exact figures for each report, refusals, reports that do not apply, the summary."""

from __future__ import annotations

import inspect
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from crmctl.errors import InvalidInput, NotFound
from crmctl.models import Activity, Customer, Document, Staff
from crmctl.services import (activities, allocation, complaints, documents, grading, proposals, reports, sales_plans,
                             tickets, volumes)
from crmctl.services.app import Settings, open_app
from crmctl.services.customers import add_customer, approve, disqualify, submit
from crmctl.services.reports import Params, run_report
from crmctl.services.staff import add_staff

SH = ZoneInfo("Asia/Shanghai")
FUEL_BIG = {"nature": "big", "card": "unit", "industry": "logistics"}
FUEL_ONE = {"nature": "individual", "card": "single", "industry": "other"}
POLY = {"product_line": "polyolefin", "channel": "distributor", "sales_form": "auction"}
AGENT = {"product_line": "other", "channel": "exclusive_agent"}


def at(y, m, d, hh=9, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def rows(app, name, **params) -> list[dict]:
    return list(run_report(app, name, Params(**params)).rows)


@pytest.fixture
def opened():
    apps = []
    yield apps
    for a in apps:
        a.close()


@pytest.fixture
def open_as(opened):
    def make(cli, login="admin"):
        a = open_app(Settings(db=str(cli.db), actor=login))
        opened.append(a)
        return a

    return make


# ----------------------------------------------------------------------------------------------
# fuel-retail: grades, grade changes, stability and churn, complaints, visits


@pytest.fixture
def fuel_app(make_cli, open_as):
    """C000001-4 big (zhang keeps 1-3, li keeps 4), C000005 individual; volumes over 2025-H2..2026-11,
    graded for 2025-H2 and 2026-H1."""
    app = open_as(make_cli("fuel-retail", name="fuel.db"))
    add_staff(app, "zhang", "张站长", ["station_master"], None)
    add_staff(app, "li", "李经理", ["branch_retail_dept"], None)
    for i, owner in enumerate(("zhang", "zhang", "zhang", "li")):
        add_customer(app, f"车队客户{i + 1}", FUEL_BIG, {}, owner=owner)
    add_customer(app, "个人客户", FUEL_ONE, {}, owner="zhang")
    for code, day, qty in [("C000001", "2025-08-10", 5000), ("C000001", "2026-03-01", 25000), ("C000001", "2026-11-10", 80),
                           ("C000002", "2025-09-01", 9000), ("C000002", "2026-02-01", 3000),
                           ("C000003", "2025-10-01", 500), ("C000003", "2026-05-01", 100),
                           ("C000004", "2026-09-05", 5000), ("C000004", "2026-10-05", 2000), ("C000004", "2026-11-01", 100)]:
        volumes.add_volume(app, code, qty, day=day)
    grading.grade_customers(app, label="2025-H2")
    grading.grade_customers(app, label="2026-H1")
    return app


def test_registry_names_and_summaries():
    assert list(reports.REPORTS) == ["customers", "grades", "grade-changes", "stability", "complaints", "service",
                                     "technicians", "visits", "documents", "allocation", "proposals", "development",
                                     "big-customers"]
    for r in reports.REPORTS.values():
        assert r.summary and "\n" not in r.summary and set(r.needs) <= set(reports.FEATURES)


def test_unknown_report_refused(fuel_app):
    with pytest.raises(InvalidInput, match="unknown report 'nosuch'"):
        run_report(fuel_app, "nosuch")


def test_rows_are_streamed(fuel_app):
    for name in ("customers", "grades", "grade-changes", "stability", "complaints", "visits"):
        assert inspect.isgenerator(run_report(fuel_app, name).rows), name


def test_grades_counts_and_change(fuel_app):
    got = rows(fuel_app, "grades", scale="big")  # default: the latest graded label
    assert [(r["grade"], r["customers"], r["previous_customers"], r["change"]) for r in got] == [
        ("diamond", 1, 0, 1), ("gold", 0, 1, -1), ("silver", 1, 1, 0), ("ordinary", 2, 2, 0)]
    assert {r["label"] for r in got} == {"2026-H1"} and {r["previous_label"] for r in got} == {"2025-H2"}
    assert [r["share_pct"] for r in got] == [25.0, 0.0, 25.0, 50.0]
    both = rows(fuel_app, "grades", label="2026-H1")
    assert {r["scale"] for r in both} == {"big", "individual"}
    first = rows(fuel_app, "grades", label="2025-H2", scale="big")
    assert {r["previous_label"] for r in first} == {None} and {r["change"] for r in first} == {None}


def test_grades_label_refusals_and_ungraded_label(fuel_app):
    with pytest.raises(InvalidInput, match="2026-10 is a month; report grades takes a half-year"):
        run_report(fuel_app, "grades", Params(label="2026-10"))
    with pytest.raises(InvalidInput, match="not a period label"):
        run_report(fuel_app, "grades", Params(label="2026-13x"))
    with pytest.raises(InvalidInput, match="has not started"):
        run_report(fuel_app, "grades", Params(label="2027-H1"))
    with pytest.raises(InvalidInput, match="unknown scale"):
        run_report(fuel_app, "grades", Params(scale="nosuch"))
    res = run_report(fuel_app, "grades", Params(label="2026-H2"))
    assert list(res.rows) == [] and any("not graded for 2026-H2" in n for n in res.notes)


def test_grade_changes_up_and_down(fuel_app):
    got = rows(fuel_app, "grade-changes")
    assert [(r["customer"], r["previous"], r["grade"], r["direction"], r["owner"]) for r in got] == [
        ("C000001", "silver", "diamond", "up", "zhang"), ("C000002", "gold", "silver", "down", "zhang")]
    assert got[0]["volume"] == 25000
    assert [r["customer"] for r in rows(fuel_app, "grade-changes", direction="down")] == ["C000002"]
    with pytest.raises(InvalidInput, match="--direction"):
        run_report(fuel_app, "grade-changes", Params(direction="sideways"))


def test_stability_counts_lost_and_churn(fuel_app):
    got = rows(fuel_app, "stability", label="2026-10")
    counts = {r["stability"]: r["customers"] for r in got if r["section"] == "count"}
    assert counts == {"existing": 2, "lost": 2, "potential": 1}
    lost = [(r["customer"], r["last_purchase"].isoformat(), r["days_since_purchase"]) for r in got if r["section"] == "lost"]
    assert lost == [("C000003", "2026-05-01", 205), ("C000002", "2026-02-01", 294)]
    churn = [r for r in got if r["section"] == "churn"]
    assert [(r["customer"], r["label"], r["base_label"], r["volume"], r["base_volume"], r["drop_pct"]) for r in churn] == [
        ("C000004", "2026-10", "2026-09", 2000.0, 5000.0, 60.0)]
    assert set(got[0]) == {c.key for c in run_report(fuel_app, "stability").columns}
    with pytest.raises(InvalidInput, match="takes a month"):
        run_report(fuel_app, "stability", Params(label="2026-Q3"))


def test_complaints_on_time_overdue_satisfaction(fuel_app):
    app = fuel_app
    k1 = complaints.open_complaint(app, "C000001", "加油排队时间长", at=at(2026, 10, 12))
    complaints.close_complaint(app, k1["id"], "已增开加油位", True, at=at(2026, 10, 12, 15))
    k2 = complaints.open_complaint(app, "C000002", "发票开错", at=at(2026, 10, 14))
    complaints.close_complaint(app, k2["id"], "已重开", False, at=at(2026, 10, 20))
    complaints.open_complaint(app, "C000003", "油品质量疑问", at=at(2026, 10, 15))
    complaints.open_complaint(app, "C000001", "积分未到账", at=at(2026, 9, 10))
    got = rows(app, "complaints", label="2026-10", months=3)
    total = got[0]
    assert total["section"] == "total" and total["label"] == "2026-10"
    assert {k: total[k] for k in ("opened", "closed", "on_time", "late", "open_overdue", "on_time_pct", "satisfied",
                                  "unsatisfied", "satisfaction_pct")} == {
        "opened": 3, "closed": 2, "on_time": 1, "late": 1, "open_overdue": 1, "on_time_pct": 33.3, "satisfied": 1,
        "unsatisfied": 1, "satisfaction_pct": 50.0}
    by_grade = [(r["key"], r["opened"]) for r in got if r["section"] == "grade.big"]
    assert by_grade == [("diamond", 1), ("silver", 1), ("ordinary", 1)]  # best grade first
    assert [(r["key"], r["opened"]) for r in got if r["section"] == "grade.individual"] == [(None, 3)]
    months = [(r["label"], r["opened"], r["on_time_pct"]) for r in got if r["section"] == "month"]
    assert months == [("2026-08", 0, None), ("2026-09", 1, 0.0), ("2026-10", 3, 33.3)]
    with pytest.raises(InvalidInput, match="--months-back"):
        run_report(app, "complaints", Params(months=0))


def test_visits_planned_done_missed(fuel_app):
    app = fuel_app
    activities.plan_visits(app, "2026-10")
    with app.db.read() as s:
        planned = s.execute(select(Activity.id, Activity.customer_id, Staff.login).join(Staff, Staff.id == Activity.owner_id)
                            .where(Activity.due_date >= date(2026, 10, 1), Activity.due_date < date(2026, 11, 1))).all()
    mine = [p for p in planned if p.login == "zhang"]
    zhang = open_app(Settings(db=app.settings.db, actor="zhang"))
    try:
        for p in mine[:2]:
            activities.log_visit(zhang, None if p.customer_id is None else f"C{p.customer_id:06d}", None,
                                 planned=p.id, at=at(2026, 10, 20))
    finally:
        zhang.close()
    got = rows(app, "visits", label="2026-10")
    total = got[0]
    assert total["section"] == "total" and total["planned"] == len(planned)
    assert total["done"] + total["missed"] == total["planned"] and total["open"] == 0
    owners = {r["owner"]: r for r in got if r["section"] == "owner"}
    assert owners["zhang"]["planned"] == len(mine) and owners["zhang"]["done"] == 2
    assert owners["zhang"]["compliance_pct"] == round(200 / len(mine), 1)
    assert sum(r["planned"] for r in owners.values()) == total["planned"]
    grades = [r for r in got if r["section"] == "grade.big"]
    assert grades and grades[0]["grade"] == "diamond"
    only = rows(app, "visits", label="2026-10", owner="zhang")
    assert only[0]["planned"] == len(mine)
    this_month = rows(app, "visits", label="2026-11")
    assert this_month[0]["missed"] == 0
    with pytest.raises(InvalidInput, match="takes a month"):
        run_report(app, "visits", Params(label="2026-Q4"))
    with pytest.raises(NotFound):
        run_report(app, "visits", Params(owner="nobody"))


def test_customers_master_list_filters(fuel_app):
    got = rows(fuel_app, "customers", owner="li")
    assert [r["code"] for r in got] == ["C000004"]
    assert got[0]["segments"]["card"] == "unit" and got[0]["stability"] == "existing"
    assert [r["code"] for r in rows(fuel_app, "customers", grade="diamond")] == ["C000001"]
    with pytest.raises(InvalidInput, match="unknown status"):
        run_report(fuel_app, "customers", Params(status="sleeping"))
    with pytest.raises(InvalidInput, match="covers no period"):
        run_report(fuel_app, "customers", Params(label="2026-10"))


def test_report_not_for_this_policy_is_empty_with_a_note(fuel_app):
    for name, need in (("allocation", "[reports.allocation]"), ("technicians", "rating_items"),
                       ("big-customers", "rank-graded"), ("proposals", "[proposals]")):
        res = run_report(fuel_app, name, Params(label="2026-13"))  # not even the label is looked at
        assert not res.applies and list(res.rows) == [] and need in res.notes[0]
        assert res.columns  # the header of the empty csv


def test_management_summary(fuel_app):
    complaints.open_complaint(fuel_app, "C000001", "加油排队时间长", at=at(2026, 10, 12))
    lines = reports.management_summary(fuel_app)
    text = "\n".join(lines)
    assert lines[0].startswith("customers:  5 (")
    assert "大客户分级: 钻级客户 1, 金级客户 0, 银级客户 1, 普通客户 2" in text
    assert "stability:  现有客户 2, 流失客户 2, 潜在客户 1" in text
    assert "complaints: 2026-10: 1 opened, 0 closed" in text


# ----------------------------------------------------------------------------------------------
# petrochem: documents, allocation, development


@pytest.fixture
def petro(make_cli, open_as):
    cli = make_cli("petrochem", name="petro.db")
    app = open_as(cli)
    add_staff(app, "xiaoshou", "销售员", ["sales"], None)
    add_staff(app, "caiwu", "财务", ["finance"], None)
    add_staff(app, "zongjingli", "总经理", ["gm"], None)
    for i in range(3):
        add_customer(app, f"化工客户{i + 1}", POLY, {}, owner="xiaoshou")
    for i in range(2):
        add_customer(app, f"代理商{i + 1}", AGENT, {}, owner="xiaoshou")
    return cli, app


def _doc(app, code: str, type_: str, number: str, expires: str) -> None:
    """A document as it stands after time passed (add_document refuses an expired one)."""
    with app.db.write() as s:
        cid = s.scalar(select(Customer.id).where(Customer.code == code))
        s.add(Document(customer_id=cid, type=type_, number=number, expires=date.fromisoformat(expires),
                       added_at=at(2025, 1, 1), added_by="admin"))


def test_documents_expiring_expired_and_suspended(petro, open_as):
    _cli, app = petro
    documents.add_document(app, "C000001", "business_license", "L1", "2026-12-01")
    _doc(app, "C000001", "tax_registration", "T-old", "2026-10-01")
    documents.add_document(app, "C000001", "tax_registration", "T-new", "2027-10-01")  # renewed: old one not listed
    _doc(app, "C000002", "org_code", "O2", "2026-11-01")
    documents.add_document(app, "C000002", "sales_contract", "S2", "2027-06-01")
    _doc(app, "C000003", "org_code", "O3", "2026-10-01")
    disqualify(app, "C000003", "fraud")
    with app.db.write() as s:
        s.execute(update(Customer).where(Customer.code == "C000002").values(status="active"))
    documents.check_documents(app)
    got = rows(app, "documents")
    docs = [(r["customer"], r["type"], r["number"], r["days_left"], r["expired"], r["suspends"])
            for r in got if r["section"] == "document"]
    assert docs == [("C000002", "org_code", "O2", -21, True, True), ("C000001", "business_license", "L1", 9, False, True)]
    suspended = [(r["customer"], r["status_reason"]) for r in got if r["section"] == "suspended"]
    assert suspended == [("C000002", "document_expired")]
    assert [r["customer"] for r in rows(app, "documents", days=5) if r["section"] == "document"] == ["C000002"]
    with pytest.raises(InvalidInput, match="--expiring-within"):
        run_report(app, "documents", Params(days=-1))


def test_allocation_follows_allocation_priority(petro):
    _cli, app = petro
    with app.db.write() as s:
        s.execute(update(Customer).values(status="active"))
    for code, plan, qty in (("C000004", 100, 90), ("C000005", 100, 40)):
        sales_plans.set_plan(app, code, "2026-10", plan)
        volumes.add_volume(app, code, qty, day="2026-10-08")
    volumes.add_volume(app, "C000001", 10, day="2026-10-09")
    got = rows(app, "allocation", label="2026-10")
    assert [(r["rank"], r["customer"], r["group"], r["completion_pct"]) for r in got if r["group"] == "exclusive_agent"] == [
        (1, "C000004", "exclusive_agent", 90.0), (2, "C000005", "exclusive_agent", 40.0)]
    assert [r["customer"] for r in got] == [r["customer"] for r in allocation.allocation_priority(app, "2026-10")]
    assert list(got[0]) == [c.key for c in run_report(app, "allocation").columns]


def test_development_against_targets(petro, open_as):
    cli, app = petro
    activities.set_target(app, "xiaoshou", "2026-Q4", 10, 2)
    for t in ("business_license", "tax_registration", "org_code"):
        documents.add_document(app, "C000001", t, "N1", "2028-01-01")
    documents.add_document(app, "C000001", "billing_info", "B1")
    submit(app, "C000001")
    for login in ("xiaoshou", "caiwu", "zongjingli"):
        approve(open_as(cli, login), "C000001", comment="同意")
    got = rows(app, "development", label="2026-Q4")
    assert got == [{"label": "2026-Q4", "manager": "xiaoshou", "name": "销售员", "prospects_target": 10,
                    "prospects_added": 5, "prospects_pct": 50.0, "admitted_target": 2, "admitted": 1,
                    "admitted_pct": 50.0}]
    assert rows(app, "development", label="2026-Q3") == []
    with pytest.raises(InvalidInput, match="2026-11 is a month; report development takes a quarter"):
        run_report(app, "development", Params(label="2026-11"))


# ----------------------------------------------------------------------------------------------
# manufacturer: service clocks, technician ratings, proposals and the benefit share


@pytest.fixture
def maker(make_cli, open_as):
    app = open_as(make_cli("manufacturer", name="maker.db"))
    add_staff(app, "ligong", "李工", ["technician"], None)
    add_customer(app, "华北机械厂", {"kind": "supplier"}, {})
    add_customer(app, "天津经销商", {"kind": "distributor"}, {})
    return app


def test_service_and_technicians(maker):
    app = maker
    t1 = tickets.open_ticket(app, "C000001", "repair", location="urban", service_type="A", at=at(2026, 10, 12))
    tickets.dispatch(app, t1["id"], "ligong", at=at(2026, 10, 12, 9, 30))
    tickets.arrive(app, t1["id"], at=at(2026, 10, 12, 11))
    tickets.resolve(app, t1["id"], at=at(2026, 10, 12, 15))
    tickets.rate_ticket(app, t1["id"], {"attitude": "4", "skill": "3", "arrival": "4", "promise": "3"}, at=at(2026, 10, 13))
    t2 = tickets.open_ticket(app, "C000002", "repair", location="suburban", service_type="A", at=at(2026, 10, 13))
    tickets.dispatch(app, t2["id"], "ligong", at=at(2026, 10, 13, 10))
    tickets.arrive(app, t2["id"], at=at(2026, 10, 14, 15))
    tickets.resolve(app, t2["id"], at=at(2026, 10, 14, 16))
    tickets.rate_ticket(app, t2["id"], {"attitude": "2", "skill": "3", "arrival": "1", "promise": "2"}, at=at(2026, 10, 15))
    got = rows(app, "service", label="2026-10")
    assert [(r["kind"], r["location"], r["service_type"], r["opened"], r["resolved"], r["overdue"])
            for r in got if r["section"] == "tickets"] == [("repair", "suburban", "A", 1, 1, 1), ("repair", "urban", "A", 1, 1, 0)]
    assert [(r["kind"], r["clock"], r["due"], r["met"], r["missed"], r["on_time_pct"])
            for r in got if r["section"] == "clock"] == [("repair", "arrive", 2, 1, 1, 50.0)]
    tech = rows(app, "technicians", label="2026-10")
    assert tech == [{"label": "2026-10", "technician": "ligong", "name": "李工", "resolved": 2, "rated": 2,
                     "ratings": {"attitude": 3.0, "skill": 3.0, "arrival": 2.5, "promise": 2.5}, "average": 2.75}]
    assert [c.key for c in run_report(app, "technicians").columns][5:9] == [
        "ratings.attitude", "ratings.skill", "ratings.arrival", "ratings.promise"]
    with pytest.raises(InvalidInput, match="report technicians takes a month"):
        run_report(app, "technicians", Params(label="2026-Q4"))


def test_proposals_by_category_and_benefit_share(maker):
    app = maker
    p1 = proposals.open_proposal(app, "C000001", "logistics", "合并配送线路", at=at(2026, 7, 10))
    proposals.close_proposal(app, p1["id"], adopted=True, saving="10000", at=at(2026, 7, 20))
    p2 = proposals.open_proposal(app, "C000002", "efficiency", "改进质检抽样", at=at(2026, 8, 1))
    proposals.close_proposal(app, p2["id"], adopted=False, at=at(2026, 8, 10))
    proposals.open_proposal(app, "C000002", "other", "增设网点", at=at(2026, 9, 1))
    got = rows(app, "proposals", label="2026-H2")
    cats = [(r["category"], r["outcome"], r["proposals"], r["overdue"], r["saving"], r["company_share"], r["customer_share"])
            for r in got if r["section"] == "category"]
    assert cats == [("logistics", "adopted", 1, 0, Decimal("10000.00"), Decimal("4000.00"), Decimal("6000.00")),
                    ("efficiency", "rejected", 1, 0, None, None, None),
                    ("other", "open", 1, 1, None, None, None)]
    adopted = [r for r in got if r["section"] == "adopted"]
    assert [(r["number"], r["customer"], r["saving"], r["company_share"], r["customer_share"]) for r in adopted] == [
        (p1["id"], "C000001", Decimal("10000.00"), Decimal("4000.00"), Decimal("6000.00"))]
    # manufacturer 一.6: shared 40/60 for a year from the decision (no implementation date), then the company's alone
    assert [(r["shared_from"], r["shared_until"], r["company_alone_from"], r["benefit_until"]) for r in adopted] == [
        (date(2026, 7, 20), date(2027, 7, 19), date(2027, 7, 20), date(2027, 7, 20))]
    assert rows(app, "proposals") == []  # default: the last completed half-year (2026-H1): none then


# ----------------------------------------------------------------------------------------------
# gas-tiered: the big-customer ranking


def test_big_customers_ranked(make_cli, open_as):
    app = open_as(make_cli("gas-tiered", name="gas.db"))
    for i in range(5):
        add_customer(app, f"工业用户{i + 1}", {"supply": "pipeline", "sector": "industrial"}, {})
    add_customer(app, "居民用户", {"supply": "pipeline", "sector": "residential", "class": "general"}, {})
    for i in range(5):
        volumes.add_volume(app, f"C00000{i + 1}", 200_000 * (i + 1) ** 2, day="2025-06-01", amount=str(300_000 * (i + 1) ** 2))
    grading.set_scores(app, "C000001", "2025", {"credit": "9"})
    grading.grade_customers(app, label="2025")
    got = rows(app, "big-customers")
    assert [r["rank"] for r in got] == [1, 2, 3, 4, 5]
    assert got[0]["customer"] == "C000005" and got[0]["grade"] == "level1" and got[-1]["grade"] == "level3"
    assert "C000006" not in {r["customer"] for r in got}
    assert set(got[0]["factor_scores"]) == {"volume", "spread", "growth", "credit", "peak_shaving", "influence", "potential"}
    assert got[0]["score"] >= got[1]["score"] and got[0]["volume"] == 5_000_000
    with pytest.raises(InvalidInput, match="takes a year"):
        run_report(app, "big-customers", Params(label="2025-H1"))
    assert rows(app, "big-customers", label="2024") == []
