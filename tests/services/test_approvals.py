"""Approvals are the approver's own act, and dating events back is an administrator's back-filling
(issue 13): pure rules, then the services on a tmp SQLite file with people authenticated by their
OS account (``Settings(os_user=...)``) and an administrator acting for them (``--as``)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import make_url

from crmctl.errors import InvalidInput, NotPermitted, RuleViolation
from crmctl.rules.errors import Invalid, Refused
from crmctl.rules.times import check_event_date
from crmctl.services.app import Settings, open_app
from tests.conftest import NOW, Cli, drop_pg_roles

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=SH)
POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]


# -- the rule ------------------------------------------------------------------------------------

@pytest.mark.parametrize("when,back,ok", [
    (T0, 7, True),
    (T0 + timedelta(minutes=4), 7, True),  # clocks differ a little
    (T0 - timedelta(days=7), 7, True),
    (T0 - timedelta(days=7, minutes=1), 7, False),
    (T0 - timedelta(days=400), None, True),  # an administrator back-fills
    (T0 - timedelta(minutes=1), 0, False),
])
def test_event_date_window(when, back, ok):
    if ok:
        check_event_date(when, T0, back_days=back)
    else:
        with pytest.raises(Refused, match="backdate_days"):
            check_event_date(when, T0, back_days=back)


def test_event_in_the_future_is_malformed_whoever_asks():
    with pytest.raises(Invalid, match="in the future"):
        check_event_date(T0 + timedelta(minutes=6), T0, back_days=None)


# -- services ------------------------------------------------------------------------------------

@pytest.fixture
def person(pg_server):
    """``person(cli, login)``: the app of ``login`` authenticated in person (no --as), "now" fixed after
    the identity is settled (a fixed now is itself an administrator's tool).  SQLite: by their OS
    account (``Settings(os_user=...)``); PostgreSQL: connected as a login role of their own, made by
    ``db roles`` and ``staff edit --db-role`` (cluster-wide, so tagged and dropped afterwards)."""
    tag = f"t{os.getpid()}_{uuid.uuid4().hex[:6]}_"
    made: list[str] = []

    def open_as(cli: Cli, login: str):
        db = str(cli.db)
        if not pg_server:
            app = open_app(Settings(db=db, os_user=login, now=None))
        else:
            if not made:
                made.extend(f"{tag}{group}" for group in ("owner", "staff", "admin"))
                cli.ok("db", "roles", "--prefix", tag)
            role = f"{tag}{login}"
            if role not in made:
                made.append(role)
                cli.ok("staff", "edit", login, "--db-role", role)
            app = open_app(Settings(db=make_url(db).set(username=role).render_as_string(hide_password=False),
                                    now=None))
        assert app.actor.login == login and app.actor.in_person
        app.settings.now = NOW
        return app

    yield open_as
    if made:
        drop_pg_roles(pg_server, made)


def _acting_for(db, login: str):
    """An administrator (the OS account that ran init: this process's) acting for ``login``."""
    app = open_app(Settings(db=str(db), actor=login, now=NOW))
    assert app.actor.login == login and not app.actor.in_person
    return app


def _staff(cli: Cli):
    cli.ok("staff", "add", "xiaoshou", "--name", "销售员", "--role", "sales")
    cli.ok("staff", "add", "caiwu", "--name", "财务员", "--role", "finance")
    cli.ok("staff", "add", "zongjingli", "--name", "总经理", "--role", "gm")


def _pending(cli: Cli, owner: str = "xiaoshou") -> str:
    code = cli.ok("customer", "add", "--name", "河北华塑化工有限公司", *POLY, "--owner", owner).strip()
    cli.ok("doc", "add", code, "--type", "business_license", "--number", "L-1", "--expires", "2027-06-30")
    cli.ok("doc", "add", code, "--type", "tax_registration", "--number", "T-1", "--expires", "2028-01-01")
    cli.ok("doc", "add", code, "--type", "org_code", "--expires", "2028-01-01")
    cli.ok("doc", "add", code, "--type", "billing_info")
    cli.ok("customer", "submit", code)
    return code


def _apply(cli: Cli, tmp_path, extra: dict[str, str]) -> None:
    """petrochem with ``extra`` lines put into its tables (appended where the table is missing)."""
    from crmctl.policies import builtin_dir

    f = tmp_path / "policy.toml"
    text = (builtin_dir() / "petrochem.toml").read_text(encoding="utf-8")
    for table, lines in extra.items():
        head = f"[{table}]\n"
        text = text.replace(head, head + lines + "\n", 1) if head in text else text + f"\n{head}{lines}\n"
    f.write_text(text, encoding="utf-8")
    cli.ok("policy", "apply", str(f))


def test_backdating_is_for_administrators(petrochem: Cli, person):
    from crmctl.services.complaints import open_complaint

    _staff(petrochem)
    code = petrochem.ok("customer", "add", "--name", "沧州宏达塑业", *POLY, "--owner", "xiaoshou").strip()
    with person(petrochem, "xiaoshou") as app:
        app.event_time(T0 - timedelta(days=3))  # last week's call: fine
        with pytest.raises(RuleViolation, match="more than 7 days ago"):
            open_complaint(app, code, "旧投诉", at=T0 - timedelta(days=8))
        with pytest.raises(InvalidInput, match="in the future"):
            app.event_time(T0 + timedelta(hours=1))
    with _acting_for(petrochem.db, "xiaoshou") as app:  # the administrator back-fills for them
        assert app.event_time(T0 - timedelta(days=300)) == T0 - timedelta(days=300)
    # through the command line: the same refusal, nothing written
    petrochem.ok("staff", "add", "clerk", "--name", "文员", "--role", "sales")
    with person(petrochem, "clerk") as app:
        before = petrochem.ok("audit", "list", "--format", "json")
        with pytest.raises(RuleViolation):
            from crmctl.services.customers import add_note

            add_note(app, code, "call", "上月的电话", at=T0 - timedelta(days=30))
    assert petrochem.ok("audit", "list", "--format", "json") == before


def test_policy_keeps_the_window(petrochem: Cli, tmp_path, person):
    _staff(petrochem)
    code = petrochem.ok("customer", "add", "--name", "沧州宏达塑业", *POLY, "--owner", "xiaoshou").strip()
    _apply(petrochem, tmp_path, {"permissions": "backdate_days = 0"})
    with person(petrochem, "xiaoshou") as app:
        from crmctl.services.customers import add_note

        with pytest.raises(RuleViolation, match="more than 0 days ago"):
            add_note(app, code, "call", "一小时前的电话", at=T0 - timedelta(hours=1))
        assert add_note(app, code, "call", "刚才的电话")["text"] == "刚才的电话"


def test_owner_may_not_approve_where_the_policy_separates_them(petrochem: Cli, tmp_path):
    _staff(petrochem)
    petrochem.ok("staff", "add", "xs2", "--name", "销售二", "--role", "sales")
    code = _pending(petrochem, owner="xiaoshou")
    _apply(petrochem, tmp_path, {"admission": "owner_may_approve = false"})
    petrochem.refused("approve", code, actor="xiaoshou", match="keeps this customer")
    assert json.loads(petrochem.ok("approve", "--list", "--format", "json", actor="xiaoshou")) == []
    assert petrochem.ok("approve", code, actor="xs2").strip() == "pending"


def test_approvals_in_person(petrochem: Cli, tmp_path, person):
    from crmctl.services.customers import approve

    _staff(petrochem)
    code = _pending(petrochem)
    _apply(petrochem, tmp_path, {"permissions": "approvals_in_person = true"})
    # the administrator acting for the sales clerk may not give the clerk's approval ...
    petrochem.refused("approve", code, actor="xiaoshou", match="in person")
    assert json.loads(petrochem.ok("approve", "--list", "--format", "json", actor="xiaoshou")) == []
    # ... the clerk may, as themselves
    with person(petrochem, "xiaoshou") as app:
        assert approve(app, code)["status"] == "pending"
    entries = json.loads(petrochem.ok("audit", "list", "--customer", code, "--action", "customer.approve",
                                      "--format", "json"))
    assert [e["actor"] for e in entries] == ["xiaoshou"]


def test_reinstating_is_the_reinstaters_act(petrochem: Cli, tmp_path, person):
    from crmctl.services.customers import reinstate

    _staff(petrochem)
    code = petrochem.ok("customer", "add", "--name", "沧州宏达塑业", *POLY).strip()
    reason = next(iter(open_app(Settings(db=str(petrochem.db), actor="admin", now=NOW)).policy.disqualification.reasons))
    petrochem.ok("customer", "disqualify", code, "--reason", reason)
    petrochem.refused("customer", "reinstate", code, actor="caiwu", match="only role gm")
    _apply(petrochem, tmp_path, {"permissions": "approvals_in_person = true"})
    petrochem.refused("customer", "reinstate", code, actor="zongjingli", match="in person")
    with person(petrochem, "zongjingli") as app:
        assert reinstate(app, code)["status"] == "prospect"
    with person(petrochem, "caiwu") as app:
        with pytest.raises(NotPermitted):
            reinstate(app, code)



def test_handling_opinion_is_the_leaders_own_approval(petrochem: Cli, tmp_path, person):
    """petrochem 12(二): a general complaint's handling opinion (处理意见) is approved by the leader in
    charge (报主管领导审批) before it is closed -- the leader's own act, in person where the policy says
    so; a refused opinion is submitted again; every step audited with who did it."""
    from crmctl.services import complaints

    _staff(petrochem)
    petrochem.ok("staff", "add", "zhuguan", "--name", "主管领导", "--role", "leader")
    code = petrochem.ok("customer", "add", "--name", "沧州宏达塑业", *POLY, "--owner", "xiaoshou").strip()
    with person(petrochem, "xiaoshou") as app:
        n = complaints.open_complaint(app, code, "到货数量不符", at=T0 - timedelta(hours=3))["id"]
        assert complaints.complaint_dict(app, n)["opinion"]["status"] is None
        with pytest.raises(RuleViolation, match=f"before it is closed \\(crmctl complaint submit-opinion {n}"):
            complaints.close_complaint(app, n, "已补发", True)
        r = complaints.submit_opinion(app, n, "补足差额并致歉", at=T0 - timedelta(hours=2))
        assert (r["opinion"]["status"], r["opinion"]["requested_by"]) == ("pending", "xiaoshou")
        with pytest.raises(RuleViolation, match="already has a handling opinion waiting"):
            complaints.submit_opinion(app, n, "另一个意见")
        with pytest.raises(RuleViolation, match=f"waits for 主管领导 \\(crmctl complaint approve-opinion {n}"):
            complaints.close_complaint(app, n, "已补发", True)
        with pytest.raises(NotPermitted, match="role leader"):
            complaints.decide_opinion(app, n)
    with person(petrochem, "zongjingli") as app:  # the gm holds another role: not theirs to approve
        assert complaints.pending_requests(app) == []
        with pytest.raises(NotPermitted, match="role leader"):
            complaints.decide_opinion(app, n)
    with person(petrochem, "zhuguan") as app:
        assert [(w["kind"], w["complaint"]) for w in complaints.pending_requests(app)] == [("opinion", n)]
        with pytest.raises(InvalidInput, match="--comment"):
            complaints.decide_opinion(app, n, grant=False)
        r = complaints.decide_opinion(app, n, grant=False, comment="先核实提单数量", at=T0 - timedelta(hours=1))
        assert (r["opinion"]["status"], r["opinion"]["decided_by"]) == ("refused", "zhuguan")
    with person(petrochem, "xiaoshou") as app:
        with pytest.raises(RuleViolation, match="refused by zhuguan"):
            complaints.close_complaint(app, n, "已补发", True)
        complaints.submit_opinion(app, n, "核实后补足差额", at=T0 - timedelta(minutes=50))
    _apply(petrochem, tmp_path, {"permissions": "approvals_in_person = true"})
    petrochem.refused("complaint", "approve-opinion", n, actor="zhuguan", match="in person")
    with person(petrochem, "zhuguan") as app:
        complaints.decide_opinion(app, n, comment="同意", at=T0 - timedelta(minutes=40))
        with pytest.raises(RuleViolation, match="no handling opinion waiting.*already granted by zhuguan"):
            complaints.decide_opinion(app, n)
    with person(petrochem, "xiaoshou") as app:
        with pytest.raises(InvalidInput, match="before the approval of the handling opinion"):
            complaints.close_complaint(app, n, "已补足差额", True, at=T0 - timedelta(minutes=45))
        c = complaints.close_complaint(app, n, "已补足差额", True, at=T0 - timedelta(minutes=30))
        assert c["status"] == "closed"
        assert (c["opinion"]["status"], c["opinion"]["decided_by"], c["opinion"]["text"]) == \
            ("granted", "zhuguan", "核实后补足差额")
        events = [e["event"] for e in complaints.complaint_dict(app, n)["history"]]
    assert events == ["open", "opinion", "opinion_refused", "opinion", "opinion_approved", "close"]
    entries = json.loads(petrochem.ok("audit", "list", "--customer", code, "--format", "json"))
    assert [(e["action"], e["actor"]) for e in entries if "opinion" in e["action"]] == [
        ("complaint.opinion_submit", "xiaoshou"), ("complaint.opinion_refuse", "zhuguan"),
        ("complaint.opinion_submit", "xiaoshou"), ("complaint.opinion_approve", "zhuguan")]


def test_nobody_approves_their_own_opinion(petrochem: Cli, person):
    """A leader who drafted the opinion (holding the sales role too) does not approve it: another
    leader does (as for every request; on PostgreSQL the server's row rules refuse it as well)."""
    from crmctl.services import complaints

    _staff(petrochem)
    petrochem.ok("staff", "add", "xsld", "--name", "销售兼主管", "--role", "sales", "--role", "leader")
    petrochem.ok("staff", "add", "zhuguan", "--name", "主管领导", "--role", "leader")
    code = petrochem.ok("customer", "add", "--name", "沧州宏达塑业", *POLY, "--owner", "xsld").strip()
    with person(petrochem, "xsld") as app:
        n = complaints.open_complaint(app, code, "发票开错", at=T0 - timedelta(hours=2))["id"]
        complaints.submit_opinion(app, n, "重开发票", at=T0 - timedelta(hours=1))
        assert complaints.pending_requests(app) == []
        with pytest.raises(NotPermitted, match="own request"):
            complaints.decide_opinion(app, n)
    petrochem.refused("complaint", "approve-opinion", n, actor="xsld", match="own request")
    with person(petrochem, "zhuguan") as app:
        assert complaints.decide_opinion(app, n)["opinion"]["decided_by"] == "zhuguan"
    with person(petrochem, "xsld") as app:
        assert complaints.close_complaint(app, n, "已重开", True)["status"] == "closed"


def test_audit_actor_filter_finds_both_people(petrochem: Cli):
    """``audit list --actor X``: what X did, themselves or acting for someone, whatever the case typed."""
    _staff(petrochem)
    code = petrochem.ok("customer", "add", "--name", "沧州宏达塑业", *POLY, actor="xiaoshou").strip()
    for who in ("xiaoshou", "XiaoShou", "ADMIN"):
        entries = json.loads(petrochem.ok("audit", "list", "--actor", who, "--action", "customer.add",
                                          "--format", "json"))
        assert [(e["key"], e["actor"], e["by"]) for e in entries] == [(code, "xiaoshou", "admin")], who
    assert json.loads(petrochem.ok("audit", "list", "--actor", "caiwu", "--action", "customer.add",
                                   "--format", "json")) == []
