"""``services.agenda.agenda_items``: one query per kind, through the visibility scope; the keys stable."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from crmctl.models import Activity, Customer, Staff
from crmctl.rules.agenda import ITEM_KEYS
from crmctl.services.agenda import agenda_items
from crmctl.services.app import Settings, open_app
from tests.conftest import Cli, count_statements

NOW = "2026-11-16T09:00:00"  # a Monday
SEG = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=plan"]


def add_activity(db, code: str | None, login: str, kind: str, due: date, status: str = "planned") -> int:
    with open_app(Settings(db=str(db), actor="admin")) as app, app.db.write() as s:
        from sqlalchemy import select

        cid = s.scalars(select(Customer.id).where(Customer.code == code)).first() if code else None
        sid = s.scalars(select(Staff.id).where(Staff.login == login)).first()
        a = Activity(customer_id=cid, kind=kind, due_date=due, owner_id=sid, status=status,
                     created_at=datetime.fromisoformat(NOW + "+08:00"))
        s.add(a)
        s.flush()
        return a.id


def setup_petrochem(cli: Cli) -> dict:
    """s1 keeps C000001, s2 keeps C000002; a complaint, activities and documents for each."""
    cli.ok("staff", "add", "s1", "--name", "张三", "--role", "sales")
    cli.ok("staff", "add", "s2", "--name", "李四", "--role", "sales")
    c1 = cli.ok("customer", "add", "--name", "甲化工", "--owner", "s1", *SEG).strip()
    c2 = cli.ok("customer", "add", "--name", "乙化工", "--owner", "s2", *SEG).strip()
    # general: 1 working day -> due Fri 11-13 10:00, overdue on Monday
    k1 = cli.ok("complaint", "open", c1, "--summary", "包装破损", "--at", "2026-11-12T10:00").strip()
    k2 = cli.ok("complaint", "open", c2, "--summary", "发货延迟", "--at", "2026-11-16T08:00").strip()
    cli.ok("doc", "add", c1, "--type", "business_license", "--expires", "2026-11-30")
    cli.ok("doc", "add", c2, "--type", "business_license", "--expires", "2027-11-30")  # far away: not listed
    a_today = add_activity(cli.db, c1, "s1", "visit", date(2026, 11, 16))
    a_late = add_activity(cli.db, c1, "s1", "call", date(2026, 11, 10))
    a_week = add_activity(cli.db, c1, "s1", "visit", date(2026, 11, 20))
    add_activity(cli.db, c1, "s1", "visit", date(2026, 11, 9), status="done")  # done: never listed
    a_s2 = add_activity(cli.db, c2, "s2", "visit", date(2026, 11, 16))
    return {"c1": c1, "c2": c2, "k1": k1, "k2": k2, "a_today": a_today, "a_late": a_late, "a_week": a_week,
            "a_s2": a_s2}


@pytest.fixture
def data(make_cli, monkeypatch):
    monkeypatch.setenv("CRMCTL_NOW", NOW)
    cli = make_cli("petrochem")
    return cli, setup_petrochem(cli)


def items(cli: Cli, actor: str, **kw) -> list[dict]:
    with open_app(Settings(db=str(cli.db), actor=actor)) as app:
        return agenda_items(app, **kw)


def test_own_agenda_today(data):
    cli, d = data
    got = items(cli, "s1")
    assert all(tuple(i) == ITEM_KEYS for i in got)
    assert [(i["kind"], i["command"]) for i in got] == [
        ("activity", f"crmctl visit log --planned {d['a_late']}"),
        ("activity", f"crmctl visit log --planned {d['a_today']}"),
        ("complaint", f"crmctl complaint close {d['k1']} --note TEXT"),
        ("document", f"crmctl doc add {d['c1']} --type business_license --expires DATE"),
    ]
    late, today, complaint, doc = got
    assert late["overdue"] and late["state"] == "overdue 6 days" and late["due"] == date(2026, 11, 10)
    assert today["state"] == "today" and not today["overdue"]
    assert complaint["overdue"] and complaint["state"] == "overdue 1 working day"
    assert complaint["customer"] == d["c1"] and complaint["name"] == "甲化工" and complaint["owner"] == "s1"
    assert doc["state"] == "in 14 days" and not doc["overdue"]
    assert {i["customer"] for i in got} == {d["c1"]}  # nothing of s2's customer


def test_week_and_deadlines_ahead(data):
    cli, d = data
    got = items(cli, "s1", week=True)
    assert f"crmctl visit log --planned {d['a_week']}" in [i["command"] for i in got]
    assert not [i for i in items(cli, "s2") if i["kind"] == "complaint"]  # due tomorrow: not today's
    s2 = items(cli, "s2", week=True)
    complaint = next(i for i in s2 if i["kind"] == "complaint")
    assert complaint["state"] == "23 h left" and not complaint["overdue"]  # due Tue 08:00


def test_owner_and_everyone(data):
    cli, d = data
    assert {i["customer"] for i in items(cli, "admin", owner="s2")} == {d["c2"]}
    everyone = items(cli, "admin", everyone=True)
    assert {i["owner"] for i in everyone} == {"s1", "s2"}
    kinds = [i["kind"] for i in everyone]
    assert kinds == sorted(kinds, key=["activity", "complaint", "service", "approval", "document", "proposal",
                                       "renewal"].index)


def test_approvals_waiting_for_the_actor(data):
    cli, d = data
    for t in ("tax_registration", "org_code", "billing_info"):
        cli.ok("doc", "add", d["c1"], "--type", t, "--expires", "2027-06-01")
    cli.ok("customer", "submit", d["c1"])
    mine = [i for i in items(cli, "s1") if i["kind"] == "approval"]
    assert [i["command"] for i in mine] == [f"crmctl approve {d['c1']}"]
    assert mine[0]["state"] == "waiting since today" and mine[0]["owner"] == "s1"
    # looking at someone else's agenda: their approvals are theirs, not the actor's
    assert not [i for i in items(cli, "admin", owner="s2") if i["kind"] == "approval"]


def test_set_based(data):
    """The number of statements does not grow with the customers (one query per kind)."""
    cli, d = data
    with open_app(Settings(db=str(cli.db), actor="s1")) as app:
        app.actor, app.policy, app.calendar  # noqa: B018 - resolved before counting
        few = count_statements(app, lambda: agenda_items(app, week=True))
    for n in range(20):
        code = cli.ok("customer", "add", "--name", f"丙化工{n}", "--owner", "s1", *SEG).strip()
        add_activity(cli.db, code, "s1", "visit", date(2026, 11, 16))
        cli.ok("complaint", "open", code, "--summary", "问题", "--at", "2026-11-12T10:00")
        cli.ok("doc", "add", code, "--type", "business_license", "--expires", "2026-11-20")
    with open_app(Settings(db=str(cli.db), actor="s1")) as app:
        app.actor, app.policy, app.calendar  # noqa: B018
        many = count_statements(app, lambda: agenda_items(app, week=True))
        assert len(agenda_items(app, week=True)) == 4 + 1 + 60
    assert many == few


def test_manufacturer_renewal_and_proposal(make_cli, monkeypatch):
    """The maintenance contract's notice (one calendar month, 五.19) comes from the policy's document
    type (``notice_kind``): a renewal; an open proposal waits for its answer."""
    monkeypatch.setenv("CRMCTL_NOW", NOW)
    cli = make_cli("manufacturer")
    cli.ok("customer", "add", "--name", "华北机械厂", "--segment", "kind=supplier", "--field", "important=true",
           "--code", "M-1")
    cli.ok("doc", "add", "M-1", "--type", "maintenance_contract", "--expires", "2026-12-15")
    cli.ok("doc", "add", "M-1", "--type", "maintenance_contract", "--expires", "2026-12-10")  # superseded? no: older
    p = cli.ok("proposal", "open", "M-1", "--category", "logistics", "--summary", "合并配送线路",
               "--at", "2026-11-10T10:00").strip()
    got = items(cli, "admin")
    renewals = [i for i in got if i["kind"] == "renewal"]
    assert len(renewals) == 1 and renewals[0]["due"] == date(2026, 12, 15)  # the latest copy only
    assert renewals[0]["command"] == "crmctl doc add M-1 --type maintenance_contract --expires DATE"
    assert [i["command"] for i in got if i["kind"] == "proposal"] == [f"crmctl proposal close {p} --adopted|--rejected"]
    # a contract more than a month from its end is not on the agenda yet
    cli.ok("doc", "add", "M-1", "--type", "maintenance_contract", "--expires", "2027-01-31")
    assert not [i for i in items(cli, "admin") if i["kind"] == "renewal"]
