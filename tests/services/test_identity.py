"""Services: who is acting (issue 13), without real OS accounts -- the OS account is given to
``Settings(os_user=...)`` as the process would find it.

The acting person is the staff member bound to the OS account; naming someone else (``--as`` /
``CRMCTL_USER``) is an administrator's "acting for" and recorded as both; a fixed "now" is an
administrator's; logins, OS accounts and database roles are one person's whatever their case.
Every refusal changes nothing (the database's fingerprint is compared).
"""

from __future__ import annotations

import sqlite3

import pytest

from crmctl.errors import NotPermitted, RuleViolation
from crmctl.services.app import Settings, open_app
from crmctl.services.audit import list_entries
from crmctl.services.identity import resolve
from crmctl.services.policy import init_database
from crmctl.services.staff import add_staff, edit_staff, leave, list_staff
from tests.conftest import NOW, fingerprint

pytestmark = pytest.mark.sqlite_only

ADMIN_OS = "it_boss"  # the OS account that ran init


def as_(db, os_user, actor=None, *, now=None, env_user=None) -> Settings:
    """The settings of a process running under ``os_user`` (no fixed "now" unless given)."""
    return Settings(db=str(db), actor=actor, now=now, env_user=env_user, os_user=os_user)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """petrochem, initialised by OS account it_boss with the administrator 'boss'; staff s1 (sales),
    f1 (finance), g1 (gm), ops (a second administrator) and l1 (left, handed over to s1)."""
    db = tmp_path_factory.mktemp("identity") / "crm.db"
    init_database(as_(db, ADMIN_OS, now=NOW), "petrochem", "boss", "老板")
    with open_app(as_(db, ADMIN_OS, now=NOW)) as app:
        add_staff(app, "s1", "销售一", ["sales"], None)
        add_staff(app, "f1", "财务一", ["finance"], None)
        add_staff(app, "g1", "总经理", ["gm"], None)
        add_staff(app, "ops", "运维", ["sales"], None, is_admin=True, os_user="ops_account")
        add_staff(app, "l1", "离职者", ["sales"], None)
        leave(app, "l1", "s1")
    return db


@pytest.fixture
def db(template, tmp_path):
    path = tmp_path / "crm.db"
    path.write_bytes(template.read_bytes())
    return path


def refused(db, settings, match: str) -> NotPermitted:
    """Resolving the acting person for ``settings`` is refused with one line naming ``match``, and
    nothing in the database changes."""
    before = fingerprint(db)
    with pytest.raises(NotPermitted) as err:
        open_app(settings)
    msg = str(err.value)
    assert match.lower() in msg.lower(), msg
    assert "\n" not in msg
    assert fingerprint(db) == before
    return err.value


def audit_rows(db) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("select * from audit_log order by id")]
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------------
# who the process is


def test_init_binds_the_first_administrator_to_the_account_running_it(db):
    with open_app(as_(db, ADMIN_OS)) as app:
        me = app.actor
        staff = {r["login"]: r for r in list_staff(app)}
    assert (me.login, me.is_admin, me.in_person, me.by) == ("boss", True, True, None)
    assert staff["boss"]["os_user"] == ADMIN_OS and staff["boss"]["admin"] is True
    assert staff["s1"]["os_user"] == "s1"  # by default the account of the same name
    assert staff["ops"]["os_user"] == "ops_account"
    init = audit_rows(db)[0]
    assert (init["action"], init["actor"], init["by_login"]) == ("init", "boss", None)


def test_init_without_admin_takes_the_account_name(tmp_path):
    path = tmp_path / "own.db"
    out = init_database(as_(path, "wangfang", now=NOW), "petrochem", None, None)
    assert out["admin"] == "wangfang"
    with open_app(as_(path, "wangfang")) as app:
        assert (app.actor.login, app.actor.is_admin) == ("wangfang", True)


def test_init_with_admin_but_no_account_name_binds_the_login(tmp_path):
    """A uid without a name can still init with --admin: the administrator is then bound to the OS
    account of that login (the default binding), never to nobody."""
    path = tmp_path / "anon.db"
    init_database(as_(path, None, now=NOW), "petrochem", "chief", None)
    with open_app(as_(path, "chief")) as app:
        assert app.actor.login == "chief" and app.actor.is_admin


def test_each_person_is_their_own_account(db):
    for account, login in (("s1", "s1"), ("f1", "f1"), ("ops_account", "ops")):
        actor = resolve(open_app(as_(db, account), need_actor=False).db, as_(db, account))
        assert actor.login == login and actor.in_person


def test_an_account_bound_to_nobody_is_refused(db):
    refused(db, as_(db, "stranger"), "OS account 'stranger' is bound to no staff member")
    # an administrator's own login typed as a name does not help: the account is still nobody
    refused(db, as_(db, "stranger", "boss"), "bound to no staff member")
    refused(db, as_(db, "stranger", env_user="boss"), "bound to no staff member")
    # the login of the account's name is not enough either: "ops" runs as ops_account
    refused(db, as_(db, "ops"), "bound to no staff member")


def test_a_process_without_an_account_name_is_refused(db):
    refused(db, as_(db, None), "without a name")
    refused(db, as_(db, None, "boss"), "without a name")
    refused(db, as_(db, ""), "without a name")


def test_a_person_who_left_is_refused(db):
    refused(db, as_(db, "l1"), "'l1' has left")
    refused(db, as_(db, "l1", "l1"), "has left")
    # nobody acts for a leaver, not even an administrator
    refused(db, as_(db, ADMIN_OS, "l1"), "'l1' has left")


# --------------------------------------------------------------------------------------------------
# acting for someone else


def test_a_non_administrator_may_not_act_as_anyone_else(db):
    for other in ("g1", "boss", "f1", "G1"):
        refused(db, as_(db, "s1", other), "s1 may not act as")
        refused(db, as_(db, "s1", env_user=other), "only an administrator")
    refused(db, as_(db, "s1", "nobody"), "'nobody' is not a staff member")


def test_naming_oneself_is_acting_in_person(db):
    for name in ("s1", "S1"):
        with open_app(as_(db, "s1", name)) as app:
            assert app.actor.login == "s1" and app.actor.in_person and app.actor.by is None


def test_an_administrator_acts_for_another_with_their_rights_only(db):
    with open_app(as_(db, ADMIN_OS, "s1")) as app:
        a = app.actor
        assert (a.login, a.by, a.in_person, a.is_admin, a.roles) == ("s1", "boss", False, False, frozenset({"sales"}))
        assert a.has_role("sales") and not a.has_role("gm")
        # acting for s1, the administrator may do what s1 may do and no more
        before = fingerprint(db)
        with pytest.raises(NotPermitted, match="only an administrator"):
            add_staff(app, "x9", "某人", ["sales"], None)
        assert fingerprint(db) == before
    with open_app(as_(db, ADMIN_OS, env_user="G1")) as app:  # CRMCTL_USER, any case
        assert (app.actor.login, app.actor.by, app.actor.roles) == ("g1", "boss", frozenset({"gm"}))
    with open_app(as_(db, ADMIN_OS, "nobody"), need_actor=False) as app:
        with pytest.raises(NotPermitted, match="not a staff member"):
            app.actor  # noqa: B018


def test_acting_for_is_recorded_as_both(db):
    from crmctl.services.customers import add_customer

    segs = {"product_line": "polyolefin", "channel": "distributor", "sales_form": "auction"}
    with open_app(as_(db, ADMIN_OS, "s1", now=NOW)) as app:
        code = add_customer(app, "代录客户", segs, {})["code"]
    with open_app(as_(db, "ops_account", "ops", now=NOW)) as app:  # in person
        add_staff(app, "n1", "新人", ["sales"], None)
    rows = audit_rows(db)
    add, own = rows[-2], rows[-1]
    assert (add["action"], add["entity_key"], add["actor"], add["by_login"]) == ("customer.add", code, "s1", "boss")
    assert (own["action"], own["actor"], own["by_login"]) == ("staff.add", "ops", None)
    with open_app(as_(db, ADMIN_OS, now=NOW)) as app:
        listed = list(list_entries(app))
    assert (listed[-2]["actor"], listed[-2]["by"]) == ("s1", "boss")
    assert (listed[-1]["actor"], listed[-1]["by"]) == ("ops", None)
    assert all(e["written_at"] is not None for e in listed)


def test_a_fixed_now_is_an_administrators(db):
    refused(db, as_(db, "s1", now=NOW), "s1 may not fix the time")
    refused(db, as_(db, "g1", now="2099-01-01T00:00:00"), "CRMCTL_NOW")
    with open_app(as_(db, ADMIN_OS, now=NOW)) as app:
        assert app.now().isoformat() == "2026-11-22T10:00:00+08:00"
    with open_app(as_(db, ADMIN_OS, "s1", now=NOW)) as app:  # back-filling for someone
        assert app.actor.login == "s1" and app.now().isoformat().startswith("2026-11-22T10:00")
    with open_app(as_(db, "s1")) as app:  # the real clock is anyone's
        assert app.actor.login == "s1"


# --------------------------------------------------------------------------------------------------
# one person, one identity


@pytest.mark.parametrize("login, kw, match", [
    ("S1", {}, "already exists (as s1)"),
    ("BOSS", {}, "already exists"),
    ("s2", {"os_user": "S1"}, "OS account 'S1' already belongs to staff member s1"),
    ("s2", {"os_user": "it_BOSS"}, "already belongs to staff member boss"),
    ("s2", {"os_user": "OPS_account"}, "already belongs to staff member ops"),
    ("s2", {"os_user": "l1"}, "already belongs to staff member l1"),  # a leaver keeps their account
    ("s2", {"db_role": "F1"}, "database role 'F1' already belongs to staff member f1"),
    ("ops_ACCOUNT", {}, "OS account"),  # the login's default binding is someone's account
])
def test_staff_add_refuses_a_second_identity(db, login, kw, match):
    before = fingerprint(db)
    with open_app(as_(db, ADMIN_OS, now=NOW)) as app:
        with pytest.raises(RuleViolation) as err:
            add_staff(app, login, "某人", ["sales"], None, **kw)
    assert match.lower() in str(err.value).lower(), str(err.value)
    assert fingerprint(db) == before


@pytest.mark.parametrize("kw, match", [
    ({"os_user": "S1"}, "OS account 'S1' already belongs to staff member s1"),
    ({"os_user": "IT_boss"}, "already belongs to staff member boss"),
    ({"db_role": "G1"}, "database role 'G1' already belongs to staff member g1"),
])
def test_staff_edit_refuses_a_second_identity(db, kw, match):
    before = fingerprint(db)
    with open_app(as_(db, ADMIN_OS, now=NOW)) as app:
        with pytest.raises(RuleViolation) as err:
            edit_staff(app, "f1", **kw)
    assert match.lower() in str(err.value).lower(), str(err.value)
    assert fingerprint(db) == before


def test_the_database_refuses_a_second_identity_whatever_the_tool(db):
    """The unique indexes on lower(login), lower(os_user), lower(db_role) hold for plain SQL too."""
    conn = sqlite3.connect(db)
    try:
        for login, os_user, db_role in (("S1", "x1", "x1"), ("x2", "F1", "x2"), ("x3", "x3", "G1")):
            with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
                conn.execute("insert into staff (login, name, active, is_admin, created_at, os_user, db_role) "
                             "values (?, 'X', 1, 0, '2026-01-01', ?, ?)", (login, os_user, db_role))
    finally:
        conn.close()


def test_rebinding_an_account_is_audited_and_takes_effect(db):
    with open_app(as_(db, ADMIN_OS, now=NOW)) as app:
        out = edit_staff(app, "s1", os_user="sales_one")
    assert out["os_user"] == "sales_one"
    entry = audit_rows(db)[-1]
    assert (entry["action"], entry["entity_key"], entry["actor"]) == ("staff.edit", "s1", "boss")
    assert '"os_user": "s1"' in entry["before"] and '"os_user": "sales_one"' in entry["after"]
    with open_app(as_(db, "sales_one")) as app:
        assert app.actor.login == "s1"
    refused(db, as_(db, "s1"), "bound to no staff member")
    # the freed account can be bound to someone else now
    with open_app(as_(db, ADMIN_OS, now=NOW)) as app:
        edit_staff(app, "f1", os_user="s1")
        edit_staff(app, "g1", db_role="gm_role")
    with open_app(as_(db, "s1")) as app:
        assert app.actor.login == "f1"
    last = audit_rows(db)[-1]
    assert (last["action"], last["entity_key"]) == ("staff.edit", "g1") and "gm_role" in last["after"]


def test_only_an_administrator_changes_bindings(db):
    before = fingerprint(db)
    for settings in (as_(db, "s1"), as_(db, ADMIN_OS, "s1")):
        with open_app(settings) as app:
            with pytest.raises(NotPermitted, match="only an administrator"):
                edit_staff(app, "s1", os_user="root")
            with pytest.raises(NotPermitted, match="only an administrator"):
                add_staff(app, "s9", "某人", ["sales"], None, os_user="s9")
    assert fingerprint(db) == before
