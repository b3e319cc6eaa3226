"""Service desk use cases on a tmp SQLite file: complaints, tickets, proposals, hand-over, statistics, demo."""

from __future__ import annotations

import random
import shutil
from datetime import datetime
from pathlib import Path
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from crmctl.errors import InvalidInput, NotFound, NotPermitted, RuleViolation
from crmctl.models import (AuditLog, Complaint, ComplaintEvent, Customer, CustomerGrade, Proposal, ServiceTicket, Staff,
                           TicketRating)
from crmctl.services import complaints, proposals, service_desk, tickets
from crmctl.services.demo import service_desk as service_desk_demo
from crmctl.services.app import Settings, open_app
from crmctl.services.customers import add_customer
from crmctl.services.staff import add_staff
from tests.conftest import NOW, Cli

SH = ZoneInfo("Asia/Shanghai")

SEGMENTS = {
    "petrochem": {"product_line": "polyolefin", "channel": "distributor", "sales_form": "auction"},
    "gas-service": {"sector": "commercial"},
    "manufacturer": {"kind": "supplier"},
    "fuel-retail": {"nature": "big", "card": "unit", "industry": "logistics"},
    "gas-tiered": {"supply": "pipeline", "sector": "industrial"},
}


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """Per policy, once per module: a database with two staff per role and six active customers."""
    cache: dict[str, Path] = {}

    def get(policy: str) -> Path:
        if policy in cache:
            return cache[policy]
        path = tmp_path_factory.mktemp("templates") / f"{policy}.db"
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("CRMCTL_NOW", NOW)
            Cli(path).ok("init", "--policy", policy, "--admin", "admin", actor="")
            app = open_app(Settings(db=str(path), actor="admin"))
            try:
                k = 0
                for role in app.policy.roles:
                    for _ in range(2):
                        k += 1
                        add_staff(app, f"{role.replace('_', '')[:10]}{k:02d}", f"员工{k}", [role], None)
                fields = {f.key: "x" for f in app.policy.fields if f.required}
                for i in range(6):
                    add_customer(app, f"测试客户{i}", SEGMENTS[policy], fields)
                with app.db.write() as s:
                    s.execute(update(Customer).values(status="active"))
            finally:
                app.close()
        cache[policy] = path
        return path

    return get


@pytest.fixture
def desk(templates, tmp_path):
    """An App on a copy of the policy's template database."""
    opened = []

    def make(policy: str):
        src = templates(policy)
        dst = tmp_path / src.name
        for suffix in ("", "-wal"):
            if Path(str(src) + suffix).exists():
                shutil.copyfile(str(src) + suffix, str(dst) + suffix)
        app = open_app(Settings(db=str(dst), actor="admin"))
        opened.append(app)
        return app

    yield make
    for app in opened:
        app.close()


def acting_as(app, login: str):
    """The same database, the administrator acting for ``login`` (closed with the test's apps)."""
    other = open_app(Settings(db=app.settings.db, actor=login))
    _OTHERS.append(other)
    return other


_OTHERS: list = []


@pytest.fixture(autouse=True)
def _close_others():
    yield
    while _OTHERS:
        _OTHERS.pop().close()


def login_with_role(app, role: str) -> str:
    return next(s for s in _logins(app) if s.startswith(role.replace("_", "")[:10]))


def _logins(app):
    with app.db.read() as s:
        return list(s.scalars(select(Staff.login).where(Staff.is_admin.is_(False)).order_by(Staff.login)).all())


def count(app, model, *where) -> int:
    with app.db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


# --------------------------------------------------------------------------- complaints


def test_complaint_lifecycle_with_history_and_audit(desk):
    app = desk("petrochem")
    c = complaints.open_complaint(app, "C000001", "到货数量不符", severity="major", at=at(2026, 11, 19, 15))
    assert c["id"] == "TS-2026-0001" and c["due_at"] == at(2026, 11, 24, 15)  # 3 working days
    gm = login_with_role(app, "gm")
    asked = complaints.request_extension(app, "TS-2026-0001", 4, note="需现场取样")
    assert asked["due_at"] == at(2026, 11, 24, 15) and asked["extension_request"]["status"] == "pending"
    with pytest.raises(RuleViolation, match="already has an extension waiting"):
        complaints.request_extension(app, "1", 1)
    with pytest.raises(NotPermitted, match="role gm"):
        complaints.decide_extension(acting_as(app, login_with_role(app, "sales")), "1")
    with pytest.raises(NotPermitted, match="own request"):
        complaints.decide_extension(app, "1")  # admin asked: admin may not grant it
    c = complaints.decide_extension(acting_as(app, gm), "TS-2026-0001")
    assert c["due_at"] == at(2026, 11, 30, 15) and c["extended_days"] == 4  # 7 working days from opening
    assert c["extension_request"]["decided_by"] == gm and c["extension_request"]["status"] == "granted"
    with pytest.raises(RuleViolation, match="past the cap"):
        complaints.request_extension(app, "1", 1)
    # petrochem 12(二): a major complaint goes to the gm meeting before it is closed
    with pytest.raises(RuleViolation, match="before it is closed"):
        complaints.close_complaint(app, "1", "x", True, at=at(2026, 11, 20, 10))
    complaints.escalate_complaint(app, "1", note="专题会议", at=at(2026, 11, 20, 9))
    with pytest.raises(RuleViolation, match="already escalated"):
        complaints.escalate_complaint(app, "1")
    with pytest.raises(InvalidInput, match="before the opening"):
        complaints.close_complaint(app, "1", "x", True, at=at(2026, 11, 19, 14))
    c = complaints.close_complaint(app, "TS-2026-0001", "补发货物", True, at=at(2026, 11, 21, 10))
    assert c["status"] == "closed" and c["overdue"] is False and c["satisfied"] is True
    with pytest.raises(RuleViolation, match="already closed"):
        complaints.close_complaint(app, "1", "again", True)
    shown = complaints.complaint_dict(app, "TS-2026-0001")
    # history in time order: the extension was recorded at "now" (22 Nov), after the back-dated close
    assert [e["event"] for e in shown["history"]] == ["open", "escalate", "close", "extend_request", "extend"]
    ext = next(e for e in shown["history"] if e["event"] == "extend")
    assert ext["details"]["approved_by"] == gm and ext["details"]["working_days"] == 4
    with app.db.read() as s:
        actions = set(s.scalars(select(AuditLog.action).where(AuditLog.entity == "complaint")).all())
    assert actions == {"complaint.open", "complaint.extend_request", "complaint.extend", "complaint.escalate",
                       "complaint.close"}


def test_extensions_only_for_the_policys_severities_and_before_the_deadline(desk):
    """petrochem 12(三): the 7-working-day ceiling is the major complaint's; a general complaint is
    not extended, and an extension asked for after the deadline is refused (the miss stays)."""
    app = desk("petrochem")
    general = complaints.open_complaint(app, "C000001", "发票抬头错", at=at(2026, 11, 20, 9))
    with pytest.raises(RuleViolation, match=r"only major \(较大事件投诉\) complaints may be extended"):
        complaints.request_extension(app, general["id"], 1)
    late = complaints.open_complaint(app, "C000001", "货损", severity="major", at=at(2026, 11, 16, 9))  # due Thu 19 Nov
    with pytest.raises(RuleViolation, match="before the deadline passes"):
        complaints.request_extension(app, late["id"], 1)
    assert complaints.complaint_dict(app, late["id"])["overdue"] is True
    # asked in time (an administrator back-filling the request's time): accepted
    assert complaints.request_extension(app, late["id"], 1, at=at(2026, 11, 18, 9))["extension_request"]["status"] == "pending"


def test_unknown_and_disqualified_customers_refused(desk):
    app = desk("petrochem")
    with pytest.raises(NotFound, match="no customer 'C999'"):
        complaints.open_complaint(app, "C999", "x")
    with app.db.write() as s:
        s.execute(update(Customer).where(Customer.code == "C000002").values(status="disqualified"))
    with pytest.raises(RuleViolation, match="disqualified"):
        complaints.open_complaint(app, "C000002", "x")
    assert count(app, Complaint) == 0
    with pytest.raises(NotFound, match="no complaint 'TS-2026-0009'"):
        complaints.complaint_dict(app, "TS-2026-0009")


def test_numbers_restart_each_year(desk, monkeypatch):
    monkeypatch.setenv("CRMCTL_NOW", "2027-01-10T10:00")
    app = desk("fuel-retail")
    a = complaints.open_complaint(app, "C000001", "积分未到账", at=at(2026, 12, 31, 10))
    b = complaints.open_complaint(app, "C000001", "发票错误", at=at(2027, 1, 4, 10))
    c = complaints.open_complaint(app, "C000002", "排队", at=at(2027, 1, 5, 10))
    assert [a["id"], b["id"], c["id"]] == ["TS-2026-0001", "TS-2027-0001", "TS-2027-0002"]
    # fuel-retail: 1 working day; 2027-01-01 is the policy's own holiday in a year without library data
    assert a["due_at"] == at(2027, 1, 4, 10)


def test_overdue_lists_use_deadline_in_force(desk):
    app = desk("petrochem")
    gm = login_with_role(app, "gm")
    complaints.open_complaint(app, "C000001", "a", at=at(2026, 11, 16, 9))  # due Tue 17 Nov: overdue now
    complaints.open_complaint(app, "C000001", "b", severity="major", at=at(2026, 11, 16, 9))  # due Thu 19 Nov
    complaints.request_extension(app, "TS-2026-0002", 2, at=at(2026, 11, 18, 9))  # asked in time
    complaints.decide_extension(acting_as(app, gm), "TS-2026-0002")  # due Mon 23 Nov: not overdue
    complaints.open_complaint(app, "C000002", "c", at=at(2026, 11, 2, 9))
    complaints.submit_opinion(app, "TS-2026-0003", "补发", at=at(2026, 11, 4, 9))  # petrochem 12(二)
    complaints.decide_opinion(acting_as(app, login_with_role(app, "leader")), "TS-2026-0003", at=at(2026, 11, 4, 10))
    complaints.close_complaint(app, "TS-2026-0003", "late", False, at=at(2026, 11, 5, 9))  # closed late
    overdue = [c["id"] for c in complaints.list_complaints(app, overdue=True)]
    assert overdue == ["TS-2026-0003", "TS-2026-0001"]
    assert [c["id"] for c in complaints.list_complaints(app, overdue=True, open_only=True)] == ["TS-2026-0001"]
    assert [c["id"] for c in complaints.list_complaints(app, customer="C000002")] == ["TS-2026-0003"]


def test_closing_a_complaint_plans_the_policys_follow_up(desk):
    """manufacturer 五.26: the service supervisor visits every complaining customer; the follow-up is a
    planned activity of the policy's kind, owned by a holder of its role, due within its time."""
    from crmctl.models import Activity
    from crmctl.services.activities import list_visits

    app = desk("manufacturer")
    c = complaints.open_complaint(app, "C000001", "交货延误", at=at(2026, 11, 16, 10))
    closed = complaints.close_complaint(app, c["id"], "已补发", True, at=at(2026, 11, 17, 10))
    fu = closed["follow_up"]
    assert fu["kind"] == "visit" and fu["owner"].startswith("servicesup") and not fu["administrator_standing_in"]
    assert fu["due_date"].isoformat() == "2026-11-20"  # 3 working days after Tue 17 Nov
    [planned] = [v for v in list_visits(app, month="2026-11") if v["kind"] == "visit" and v["customer"] == "C000001"]
    assert planned["due_date"] == fu["due_date"] and planned["status"] == "planned" and c["id"] in planned["note"]
    with app.db.read() as ses:
        assert ses.scalars(select(func.count()).select_from(Activity)).one() == 1


def test_follow_up_only_where_the_policy_says(desk):
    """gas-tiered 22(二)6: level 1-2 big customers are revisited; others are not."""
    app = desk("gas-tiered")
    c = complaints.open_complaint(app, "C000001", "燃气压力不稳", at=at(2026, 11, 16, 10))
    assert complaints.close_complaint(app, c["id"], "已调压", True, at=at(2026, 11, 16, 16))["follow_up"] is None
    with app.db.write() as ses:
        ses.add(CustomerGrade(customer_id=2, scale="big", grade="level2", label="2025", since=at(2026, 1, 5)))
    c = complaints.open_complaint(app, "C000002", "燃气压力不稳", at=at(2026, 11, 16, 10))
    fu = complaints.close_complaint(app, c["id"], "已调压", True, at=at(2026, 11, 16, 16))["follow_up"]
    assert fu["kind"] == "call" and fu["due_date"].isoformat() == "2026-11-23"


def test_complaint_stats_by_severity_and_grade_against_target(desk, monkeypatch):
    app = desk("gas-tiered")
    with app.db.write() as s:
        s.add(CustomerGrade(customer_id=1, scale="big", grade="level1", since=at(2026, 1, 1)))
        s.add(CustomerGrade(customer_id=2, scale="big", grade="level2", since=at(2026, 1, 1)))
    first = complaints.open_complaint(app, "C000001", "压力低", at=at(2026, 10, 9, 9))
    assert first["due_at"] == at(2026, 10, 10, 9)  # level1: 24 h
    other = complaints.open_complaint(app, "C000002", "账单", at=at(2026, 10, 9, 9))
    assert other["due_at"] == at(2026, 10, 11, 9)  # others: 48 h
    complaints.close_complaint(app, first["id"], "已处理", True, at=at(2026, 10, 9, 20))
    complaints.close_complaint(app, other["id"], "已处理", False, at=at(2026, 10, 12, 9))
    complaints.open_complaint(app, "C000003", "表计", at=at(2026, 10, 20, 9))  # open, overdue now
    complaints.open_complaint(app, "C000003", "表计", at=at(2026, 9, 20, 9))  # outside the period
    from crmctl.rules.periods import parse_label

    st = complaints.complaint_stats(app, parse_label("2026-10"))
    assert st["target_pct"] == 95.0
    assert st["total"] == {"opened": 3, "closed": 2, "on_time": 1, "late": 1, "open_overdue": 1, "satisfied": 1,
                           "unsatisfied": 1, "satisfaction_pct": 50.0, "target_pct": 95.0, "meets_target": False}
    assert [r["severity"] for r in st["by_severity"]] == ["general"]
    grades = {r["grade"]: (r["opened"], r["satisfaction_pct"]) for r in st["by_grade"]}
    assert grades == {None: (1, None), "level1": (1, 100.0), "level2": (1, 0.0)}


# --------------------------------------------------------------------------- tickets


def test_ticket_flow_ratings_and_technician_report(desk, monkeypatch):
    monkeypatch.setenv("CRMCTL_NOW", "2026-11-25T10:00")
    app = desk("manufacturer")
    tech = login_with_role(app, "technician")
    t = tickets.open_ticket(app, "C000001", "repair", location="urban", service_type="A",
                            summary="设备无法启动", at=at(2026, 11, 20, 16))
    assert t["id"] == "FW-2026-00001" and t["arrive_by"] == at(2026, 11, 23, 14, 30)
    assert t["respond_by"] is None and t["resolve_by"] is None and t["status"] == "open"
    with pytest.raises(RuleViolation, match="dispatch a technician first"):
        tickets.arrive(app, t["id"])
    tickets.dispatch(app, t["id"], tech, at=at(2026, 11, 20, 16, 20))
    with pytest.raises(InvalidInput, match="before the dispatch"):
        tickets.arrive(app, t["id"], at=at(2026, 11, 20, 16, 10))
    t = tickets.arrive(app, t["id"], at=at(2026, 11, 23, 15))  # 30 min late
    assert t["overdue"] and t["missed"] == ["arrive"]
    t = tickets.take_back(app, t["id"], "SJ-0001", at=at(2026, 11, 23, 16))
    assert t["status"] == "taken_back" and t["receipt"] == "SJ-0001"
    with pytest.raises(RuleViolation, match="rate it once it is resolved"):
        tickets.rate_ticket(app, t["id"], {"attitude": "4", "skill": "4", "arrival": "2", "promise": "3"})
    tickets.resolve(app, t["id"], at=at(2026, 11, 24, 11), note="更换主板")
    r = tickets.rate_ticket(app, t["id"], {"attitude": "4", "skill": "4", "arrival": "2", "promise": "3"})
    assert r["rating"] == {"attitude": 4, "skill": 4, "arrival": 2, "promise": 3}
    with pytest.raises(RuleViolation, match="already rated"):
        tickets.rate_ticket(app, t["id"], {"attitude": "4", "skill": "4", "arrival": "2", "promise": "3"})
    with pytest.raises(RuleViolation, match="already resolved"):
        tickets.resolve(app, t["id"])
    with app.db.read() as s:
        rows = s.execute(select(TicketRating.month, TicketRating.item, TicketRating.score, Staff.login)
                         .join(Staff, Staff.id == TicketRating.technician_id)).all()
    assert {(m, login) for m, _, _, login in rows} == {("2026-11", tech)} and len(rows) == 4
    report = tickets.technician_ratings(app, "2026-11")
    assert {(r["item"], r["average"]) for r in report} == {("attitude", 4.0), ("skill", 4.0), ("arrival", 2.0),
                                                           ("promise", 3.0)}
    # an inquiry is not rated by the policy
    q = tickets.open_ticket(app, "C000002", "inquiry", service_type="A", at=at(2026, 11, 21, 9))
    tickets.resolve(app, q["id"], at=at(2026, 11, 21, 9, 30))
    with pytest.raises(RuleViolation, match="rates repair, maintenance calls only"):
        tickets.rate_ticket(app, q["id"], {"attitude": "4", "skill": "4", "arrival": "4", "promise": "4"})


def test_gas_service_two_clocks_across_holiday(desk):
    app = desk("gas-service")
    t = tickets.open_ticket(app, "C000001", "repair", at=at(2026, 9, 30, 20))
    assert (t["respond_by"], t["resolve_by"]) == (at(2026, 10, 1, 2), at(2026, 10, 1, 20))
    tech = login_with_role(app, "repair_team")
    tickets.dispatch(app, t["id"], tech, at=at(2026, 9, 30, 21))
    tickets.arrive(app, t["id"], at=at(2026, 10, 1, 1))
    t = tickets.resolve(app, t["id"], at=at(2026, 10, 1, 19))
    assert t["overdue"] is False
    late = tickets.open_ticket(app, "C000002", "repair", at=at(2026, 10, 2, 8))
    assert [x["id"] for x in tickets.list_tickets(app, overdue=True)] == [late["id"]]
    with pytest.raises(InvalidInput, match="no location classes"):
        tickets.open_ticket(app, "C000001", "repair", location="urban")
    with pytest.raises(InvalidInput, match="unknown kind 'install'"):
        tickets.open_ticket(app, "C000001", "install")


def test_gas_service_appliance_faults_have_their_own_clock(desk):
    """Art. 7(四): a fault of the user's own equipment: the technician goes at once (the policy's 1 h on
    site, 24/7); a network fault (7(三)) keeps its 6 h / 24 h."""
    app = desk("gas-service")
    t = tickets.open_ticket(app, "C000001", "appliance", at=at(2026, 10, 1, 20))  # National Day, evening
    assert t["arrive_by"] == at(2026, 10, 1, 21) and t.get("respond_by") is None and t.get("resolve_by") is None
    net = tickets.open_ticket(app, "C000001", "repair", at=at(2026, 10, 1, 20))
    assert (net["respond_by"], net["resolve_by"]) == (at(2026, 10, 2, 2), at(2026, 10, 2, 20))


# --------------------------------------------------------------------------- proposals


def test_proposal_adopted_stores_benefit_split(desk):
    app = desk("manufacturer")
    p = proposals.open_proposal(app, "C000001", "降低物流成本、改善销售渠道与方式", "合并配送线路", at=at(2026, 1, 31, 10))
    assert p["id"] == "TA-2026-0001" and p["due_at"] == at(2026, 2, 28, 10)
    with pytest.raises(InvalidInput, match="adopted proposal only"):
        proposals.close_proposal(app, p["id"], adopted=False, saving="100")
    p = proposals.close_proposal(app, p["id"], adopted=True, saving="120000", implement_by="2026-03-01",
                                 at=at(2026, 3, 2, 10))
    assert p["overdue"] is True and p["outcome"] == "adopted" and p["saving"] == Decimal("120000.00")
    assert p["benefit"] == {"company_pct": 40.0, "customer_pct": 60.0, "months": 12,
                            "until": datetime(2027, 3, 1).date()}
    with app.db.read() as s:
        row = s.scalars(select(Proposal)).one()
    assert row.saving == Decimal("120000.00") and row.benefit_until.isoformat() == "2027-03-01"
    with pytest.raises(RuleViolation, match="already closed"):
        proposals.close_proposal(app, p["id"], adopted=False)


def test_proposal_schedule_becomes_the_deadline(desk):
    """manufacturer 一.5(3): research over a month reports a schedule, which becomes the deadline."""
    app = desk("manufacturer")
    p = proposals.open_proposal(app, "C000001", "other", "新型密封件", at=at(2026, 11, 2, 10))
    assert p["due_at"] == at(2026, 12, 2, 10)
    for by, match in (("2026-12-02", "not after the deadline"), ("2026-11-01", "in the past"),
                      ("2026-02-30", "real date")):
        with pytest.raises(InvalidInput, match=match):
            proposals.schedule_proposal(app, p["id"], by)
    s = proposals.schedule_proposal(app, p["id"], "2027-01-15", note="需做三个月耐久试验")
    assert s["due_at"] == at(2027, 1, 15, 23, 59).replace(second=59) and s["overdue"] is False
    assert s["note"] == "需做三个月耐久试验"
    with app.db.read() as ses:
        entry = ses.scalars(select(AuditLog).where(AuditLog.action == "proposal.schedule")).one()
    assert str(entry.before["due_at"]).startswith("2026-12-02") and str(entry.after["due_at"]).startswith("2027-01-15")
    proposals.close_proposal(app, p["id"], adopted=False, at=at(2026, 11, 20, 10))
    with pytest.raises(RuleViolation, match="already closed"):
        proposals.schedule_proposal(app, p["id"], "2027-02-01")


def test_policy_without_the_feature(desk):
    app = desk("fuel-retail")
    with pytest.raises(RuleViolation, match="no service tickets"):
        tickets.open_ticket(app, "C000001", "repair")
    with pytest.raises(RuleViolation, match="no customer proposals"):
        proposals.open_proposal(app, "C000001", "other", "x")
    with pytest.raises(RuleViolation, match="no extension"):
        complaints.request_extension(app, "1", 1)


# --------------------------------------------------------------------------- hand-over, demo, migration


def test_handover_moves_open_work_only(desk):
    app = desk("manufacturer")
    leaver, heir = login_with_role(app, "technician"), login_with_role(app, "service_supervisor")
    with app.db.write() as s:
        s.execute(update(Customer).values(owner_id=select(Staff.id).where(Staff.login == leaver).scalar_subquery()))
    complaints.open_complaint(app, "C000001", "a", at=at(2026, 11, 2, 9))
    done = complaints.open_complaint(app, "C000001", "b", at=at(2026, 11, 2, 9))
    complaints.close_complaint(app, done["id"], "ok", True, at=at(2026, 11, 3, 9))
    t = tickets.open_ticket(app, "C000001", "repair", location="urban", service_type="A", at=at(2026, 11, 2, 9))
    tickets.dispatch(app, t["id"], leaver, at=at(2026, 11, 2, 10))
    with app.db.write() as s:
        src = s.scalars(select(Staff).where(Staff.login == leaver)).one()
        dst = s.scalars(select(Staff).where(Staff.login == heir)).one()
        what, n = service_desk.handover(s, src, dst, app.now())
    assert n == 2 and "complaints" in what
    assert [c["owner"] for c in complaints.list_complaints(app)] == [heir, leaver]
    assert tickets.ticket_dict(app, t["id"])["technician"] == heir


def test_handover_through_staff_leave(desk):
    from crmctl.services import staff

    app = desk("petrochem")
    leaver, heir = login_with_role(app, "sales"), login_with_role(app, "gm")
    with app.db.write() as s:
        s.execute(update(Customer).values(owner_id=select(Staff.id).where(Staff.login == leaver).scalar_subquery()))
    complaints.open_complaint(app, "C000001", "a", at=at(2026, 11, 2, 9))
    moved = staff.leave(app, leaver, heir)["moved"]
    assert moved["open complaints/tickets/proposals"] == 1
    assert next(complaints.list_complaints(app))["owner"] == heir


@pytest.mark.parametrize("policy", ["petrochem", "gas-service", "manufacturer", "fuel-retail", "gas-tiered"])
def test_demo_step_on_every_policy(desk, policy):
    app = desk(policy)
    lines = list(service_desk_demo.demo_step(app, random.Random(5)))
    pol = app.policy
    assert len(lines) == sum(bool(x) for x in (pol.complaints, pol.service, pol.proposals))
    total = count(app, Complaint) + count(app, ServiceTicket) + count(app, Proposal)
    assert 20 <= total <= 40
    if pol.complaints:
        assert count(app, Complaint, Complaint.status == "closed") >= count(app, Complaint) // 2
        assert count(app, ComplaintEvent, ComplaintEvent.kind == "close") == count(app, Complaint, Complaint.status == "closed")
        op = pol.complaints.opinion_approval
        if op is not None:  # petrochem 12(二): every closed general complaint's opinion was approved first
            closed = count(app, Complaint, Complaint.status == "closed", Complaint.severity.in_(op.severities))
            assert closed and count(app, ComplaintEvent, ComplaintEvent.kind == "opinion_approved") == closed
            assert count(app, ComplaintEvent, ComplaintEvent.kind == "opinion_refused") == 1
    if pol.service and pol.service.rating_items:
        assert count(app, TicketRating) > 0
    app.close()


@pytest.mark.parametrize("policy", ["manufacturer", "petrochem"])
def test_demo_hands_over_where_the_policy_notifies_customers(desk, policy):
    """manufacturer 三.7(4): the demo has a customer manager leave (staff leave's service), so the new
    keeper has the notices to the handed-over customers planned; policies without notices: nothing."""
    from crmctl.models import Activity
    from crmctl.services.demo import handover as handover_demo

    app = desk(policy)
    keeper = login_with_role(app, next(iter(app.policy.roles)))
    with app.db.write() as s:
        s.execute(update(Customer).values(owner_id=s.scalar(select(Staff.id).where(Staff.login == keeper))))
    lines = list(handover_demo.demo_step(app, random.Random(1)))
    if app.policy.activities.handover_notice is None:
        assert lines == [] and count(app, Staff, Staff.active.is_(False)) == 0
        return
    heir = next(x for x in _logins(app) if x != keeper and x.startswith(keeper[:-2]))
    assert lines == [f"hand-over: {keeper} left; 6 customers to {heir}, who has 6 contact (函电往来) notices planned, "
                     f"due within 5 working days (crmctl visit list --owner {heir} --kind contact)"]
    with app.db.read() as s:
        notices = s.execute(select(Activity.due_date, Staff.login).join(Staff, Staff.id == Activity.owner_id)
                            .where(Activity.kind == "contact", Activity.status == "planned")).all()
    assert notices == [(datetime(2026, 11, 30).date(), heir)] * 6  # 5 working days after Sun 22 Nov: Mon 30 Nov
    assert count(app, Staff, Staff.login == keeper, Staff.active.is_(False)) == 1


def test_migration_downgrade_and_upgrade(desk):
    from alembic import command

    from crmctl.db import _alembic_config

    app = desk("gas-service")
    tickets.open_ticket(app, "C000001", "repair", at=at(2026, 11, 2, 9))
    with app.db.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0002")
    with app.db.engine.connect() as conn:
        names = set(conn.exec_driver_sql("select name from sqlite_master where type='table'").scalars())
    assert not names & {"complaint", "complaint_event", "service_ticket", "ticket_rating", "proposal"}
    with app.db.engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")
    assert count(app, ServiceTicket) == 0
