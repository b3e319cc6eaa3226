"""PostgreSQL enforces what crmctl enforces (issue 13): per-person login roles, made by ``crmctl db
roles`` and ``staff add --db-role``, connecting with their own credentials.

* a staff role cannot UPDATE, DELETE or TRUNCATE audit entries or approval records with plain SQL
  (revoked privileges; the triggers stop even the owner role);
* row-level security hides a restricted customer's file (fields, notes, documents, work, audit
  entries) from a non-permitted role in plain SELECTs, and shows it to its owner, a contact, a reader
  role and an administrator; ``customer_directory`` lists every code and name;
* crmctl itself, connected as those roles, does the day's work (customers, visits, complaints,
  notes, documents, the admission chain, service tickets; an administrator's grading);
* a staff role cannot run migrations; an administrator's ``db upgrade`` takes the owner role;
* ``db roles`` is an administrator's, idempotent, and refused on SQLite.

The server trusts local connections, so a role's URL is the test database's with its name as the
user.  Roles are cluster-wide: every name carries this run's pid and a random tag (xdist workers
share the server), and the roles are dropped at the end.  Skipped unless ``CRMCTL_TEST_PG`` (or
``--pg``) names a server.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from tests.conftest import NOW, Cli, _pg_schema, assert_refused, drop_pg_roles

SKIP_REASON = "PostgreSQL security tests: set CRMCTL_TEST_PG=postgresql+psycopg://postgres@127.0.0.1:5432/test"
DOCS = [("company_profile", None), ("financial_statements", "2099-12-31"), ("product_catalogue", None)]
CRITERIA = [f"--criterion={k}=8" for k in ("quality_equipment", "on_time_delivery", "management_credit",
                                           "cooperation", "confidentiality", "cost_level")]
SECRET_REP, SECRET_PHONE, SECRET_NOTE = "张秘密", "0311-5550199", "报价底线 42 元"


@dataclass
class World:
    """One database (a schema of its own), its roles and the people connecting as them."""

    url: str  # the superuser's URL of the schema
    tag: str
    env: dict
    logins: dict = field(default_factory=dict)  # staff login -> database role
    made: list = field(default_factory=list)  # every role this test created, for the clean-up

    def role_url(self, role: str) -> str:
        return make_url(self.url).set(username=role).render_as_string(hide_password=False)

    def run(self, who: str | None, *args: str, now: bool = False, as_: str | None = None):
        """crmctl connected as staff member ``who``'s role (None: the superuser who ran init)."""
        from crmctl.cli import app

        url = self.url if who is None else self.role_url(self.logins[who])
        argv = ["--db", url] + (["--as", as_] if as_ else []) + [str(a) for a in args]
        env = dict(self.env, CRMCTL_NOW=NOW if now else None)
        return CliRunner().invoke(app, argv, env=env)

    def ok(self, who: str | None, *args: str, **kw) -> str:
        r = self.run(who, *args, **kw)
        assert r.exit_code == 0, f"{who}: {args}: exit {r.exit_code}\nstdout: {r.stdout}\nstderr: {r.stderr}"
        return r.stdout

    def refused(self, who: str | None, *args: str, match: str | None = None, **kw):
        r = self.run(who, *args, **kw)
        assert_refused(r, match)
        return r

    def sql(self, who: str | None, statement: str, params: dict | None = None, *, owner: bool = False):
        """One statement through a plain connection as ``who``'s role (``owner``: the superuser taking
        the owner role); the rows, or the server's error."""
        engine = create_engine(self.url if who is None else self.role_url(self.logins[who]))
        try:
            with engine.begin() as c:
                if owner:
                    c.exec_driver_sql(f'SET LOCAL ROLE "{self.tag}owner"')
                result = c.execute(text(statement), params or {})
                return result.mappings().all() if result.returns_rows else result.rowcount
        finally:
            engine.dispose()

    def denied(self, who: str | None, statement: str, *, owner: bool = False) -> str:
        """The server refuses ``statement`` (SQLSTATE 42501: privilege or crmctl's trigger)."""
        with pytest.raises(DBAPIError) as caught:
            self.sql(who, statement, owner=owner)
        assert caught.value.orig.sqlstate == "42501", str(caught.value.orig)
        return str(caught.value.orig)


def _env(base: Path) -> dict:
    return {"HOME": str(base / "home"), "XDG_DATA_HOME": str(base / "data"), "XDG_CACHE_HOME": str(base / "cache"),
            "CRMCTL_USER": None, "CRMCTL_DB": None, "CRMCTL_LANG": "en"}


def _people(w: World, people: list[tuple[str, list[str], bool]]) -> None:
    for login, roles, admin in people:
        role = f"{w.tag}{login}"
        w.made.append(role)
        args = ["staff", "add", login, "--name", login.upper()] + [f"--role={r}" for r in roles] + ["--db-role", role]
        w.ok(None, *args + (["--admin"] if admin else []))
        w.logins[login] = role


def _build(pg_server, base: Path, policy: str, people) -> tuple[World, object]:
    tag = f"t{os.getpid()}_{uuid.uuid4().hex[:6]}_"
    schema = _pg_schema(pg_server)
    w = World(next(schema), tag, _env(base))
    w.made += [f"{tag}owner", f"{tag}staff", f"{tag}admin"]
    try:
        w.ok(None, "init", "--policy", policy, "--admin", "boss")
        w.ok(None, "db", "roles", "--prefix", tag)
        _people(w, people)
    except BaseException:
        _teardown(pg_server, w, schema)
        raise
    return w, schema


def _teardown(pg_server, w: World, schema) -> None:
    try:
        drop_pg_roles(pg_server, w.made)
    finally:
        for _ in schema:  # drops the schema
            pass


MANUFACTURER_PEOPLE = [
    ("adm", ["gm"], True),  # an administrator who is no superuser
    ("s1", ["marketing"], False),  # keeps the restricted customer
    ("s2", ["marketing"], False),  # may not read it
    ("info", ["info_dept"], False),  # a reader role of the policy
    ("pur", ["purchasing"], False), ("qua", ["quality"], False),  # the admission chain
    ("mkh", ["market_head"], False), ("mat", ["materials_head"], False),
    ("tech", ["technician"], False),
    ("ctc", ["marketing"], False),  # made a contact of C000001 by its owner
]


@pytest.fixture(scope="module")
def mfr(pg_server, tmp_path_factory):
    """manufacturer (restricted customer files): the people above, s1's customer C000001 with a
    secret in its fields, a note, documents, a visit and a complaint, and s2's customer C000002."""
    if not pg_server:
        pytest.skip(SKIP_REASON)
    w, schema = _build(pg_server, tmp_path_factory.mktemp("pg-mfr"), "manufacturer", MANUFACTURER_PEOPLE)
    try:
        assert w.ok("s1", "customer", "add", "--name", "甲机械有限公司", "-s", "kind=supplier",
                    "--field", f"legal_representative={SECRET_REP}", "--field", f"phone={SECRET_PHONE}").strip() == "C000001"
        assert w.ok("s2", "customer", "add", "--name", "乙贸易公司", "-s", "kind=distributor").strip() == "C000002"
        w.ok("s1", "customer", "note", "C000001", "--channel", "call", "--text", SECRET_NOTE)
        for doc, expires in DOCS:
            w.ok("s1", "doc", "add", "C000001", "--type", doc, "--number", f"N-{doc}",
                 *(["--expires", expires] if expires else []))
        w.ok("s1", "visit", "log", "C000001", "--kind", "visit", "--note", "看了生产线")
        w.ok("s1", "complaint", "open", "C000001", "--summary", "交货晚了三天")
        yield w
    finally:
        _teardown(pg_server, w, schema)


# --------------------------------------------------------------------------------------------------
# kept as written


def test_staff_cannot_change_the_audit_trail_even_with_plain_sql(mfr):
    assert mfr.sql("s1", "SELECT count(*) AS n FROM audit_log WHERE customer_code = 'C000001'")[0]["n"] >= 5
    for statement in ("UPDATE audit_log SET note = 'edited' WHERE customer_code = 'C000001'",
                      "DELETE FROM audit_log WHERE customer_code = 'C000001'",
                      "TRUNCATE audit_log", "DELETE FROM audit_chain",
                      "UPDATE staff SET is_admin = true WHERE login = 's1'",
                      "INSERT INTO staff_role (staff_id, role) SELECT id, 'info_dept' FROM staff WHERE login = 's1'",
                      "UPDATE access_setting SET restrict_customer_details = false"):
        assert "permission denied" in mfr.denied("s1", statement)
    # the owner role (and so an administrator taking it) is stopped by the trigger
    assert "keeps audit_log as written" in mfr.denied(None, "UPDATE audit_log SET note = 'edited'", owner=True)
    assert "keeps audit_log as written" in mfr.denied(None, "DELETE FROM audit_log", owner=True)
    assert "keeps audit_log as written" in mfr.denied(None, "TRUNCATE audit_log", owner=True)
    assert "keeps audit_log as written" in mfr.denied(None, "UPDATE audit_log SET note = 'x'")  # the superuser too
    assert mfr.ok("adm", "db", "check").startswith("ok:")


def test_approval_records_are_kept_as_written(mfr):
    # a submission is an approval record (step 0); nobody edits or removes it afterwards
    mfr.ok("s2", "doc", "add", "C000002", "--type", "company_profile", "--number", "P2")
    mfr.ok("s2", "doc", "add", "C000002", "--type", "financial_statements", "--number", "F2", "--expires", "2099-12-31")
    mfr.ok("s2", "doc", "add", "C000002", "--type", "product_catalogue", "--number", "K2")
    mfr.ok("s2", "customer", "submit", "C000002", *CRITERIA)
    rows = mfr.sql("s2", "SELECT id, decision FROM approval WHERE customer_id = 2")
    assert [r["decision"] for r in rows] == ["submit"]
    for statement in ("UPDATE approval SET decision = 'approve' WHERE customer_id = 2",
                      "DELETE FROM approval WHERE customer_id = 2"):
        assert "permission denied" in mfr.denied("s2", statement)
        assert "keeps approval as written" in mfr.denied(None, statement, owner=True)
    # nor are approvals or audit entries written in someone else's name (or for a role one lacks)
    forged = ("INSERT INTO approval (customer_id, round, step, role, staff_login, decision, at) "
              "VALUES (2, 1, {step}, '{role}', '{login}', 'approve', now())")
    assert "row-level security" in mfr.denied("s2", forged.format(step=1, role="purchasing", login="pur"))
    assert "row-level security" in mfr.denied("s2", forged.format(step=1, role="purchasing", login="s2"))
    assert "row-level security" in mfr.denied(
        "s2", "INSERT INTO audit_log (at, actor, action, entity, entity_key) VALUES (now(), 'boss', 'x', 'x', 'x')")
    # a request is decided once, in its decision columns only
    mfr.sql(None, "INSERT INTO approval_request (kind, customer_id, approver_role, requested_by, requested_at, status) "
                  "VALUES ('extension', 2, 'gm', 's2', now(), 'pending')")
    assert "permission denied" in mfr.denied("s2", "UPDATE approval_request SET requested_by = 'boss'")
    assert "permission denied" in mfr.denied("s2", "DELETE FROM approval_request")
    assert mfr.sql("adm", "UPDATE approval_request SET status = 'granted', decided_by = 'adm', decided_at = now() "
                          "WHERE customer_id = 2") == 1
    assert "keeps approval_request as written" in mfr.denied("adm", "UPDATE approval_request SET status = 'refused'")
    assert "keeps approval_request as written" in mfr.denied(
        None, "UPDATE approval_request SET decided_by = 'boss'", owner=True)


# --------------------------------------------------------------------------------------------------
# row-level security


def _file_of_c1(w: World, who: str) -> dict:
    one = lambda q: [dict(r) for r in w.sql(who, q)]  # noqa: E731
    return {
        "customer": one("SELECT code, name, fields FROM customer WHERE code = 'C000001'"),
        "notes": one("SELECT text FROM customer_note WHERE customer_id = 1"),
        "documents": one("SELECT number FROM document WHERE customer_id = 1"),
        "complaints": one("SELECT summary FROM complaint WHERE customer_id = 1"),
        "events": one("SELECT e.kind FROM complaint_event e JOIN complaint c ON c.id = e.complaint_id "
                      "WHERE c.customer_id = 1"),
        "visits": one("SELECT notes FROM activity WHERE customer_id = 1"),
        "audit": one("SELECT action, after::text AS after FROM audit_log WHERE customer_code = 'C000001'"),
    }


def test_row_level_security_hides_a_restricted_file_in_plain_selects(mfr):
    hidden = _file_of_c1(mfr, "s2")
    assert hidden == {k: [] for k in hidden}, hidden
    assert [r["code"] for r in mfr.sql("s2", "SELECT code FROM customer ORDER BY code")] == ["C000002"]
    dump = json.dumps([dict(r) for t in ("customer", "customer_note", "document", "audit_log", "complaint", "activity")
                       for r in mfr.sql("s2", f"SELECT * FROM {t}")], default=str, ensure_ascii=False)
    for secret in (SECRET_REP, SECRET_PHONE, SECRET_NOTE, "N-company_profile", "交货晚了三天", "看了生产线"):
        assert secret not in dump
    # the directory lists every customer's code and name, nothing else
    directory = mfr.sql("s2", "SELECT * FROM customer_directory ORDER BY code")
    assert [dict(r) for r in directory] == [{"id": 1, "code": "C000001", "name": "甲机械有限公司"},
                                           {"id": 2, "code": "C000002", "name": "乙贸易公司"}]
    assert [r["r"] for r in mfr.sql("s2", "SELECT crmctl_can_read(1) AS r UNION ALL SELECT crmctl_can_read(2)")] \
        == [False, True]
    # the owner, a reader role and an administrator read the whole file
    for who in ("s1", "info", "adm"):
        seen = _file_of_c1(mfr, who)
        assert seen["customer"][0]["fields"]["legal_representative"] == SECRET_REP, who
        assert seen["notes"] == [{"text": SECRET_NOTE}], who
        assert len(seen["documents"]) == 3 and seen["complaints"] and seen["events"] and seen["visits"], who
        assert any(SECRET_PHONE in (e["after"] or "") for e in seen["audit"]), who
    # nor may a non-permitted role write into the file
    assert "row-level security" in mfr.denied(
        "s2", "INSERT INTO customer_note (customer_id, staff_login, channel, text, at) VALUES (1, 's2', 'call', 'x', now())")
    assert mfr.sql("s2", "UPDATE customer SET name = 'hijacked' WHERE id = 1") == 0


def test_a_contact_reads_the_file_and_the_owner_decides_who_is_one(mfr):
    # a non-permitted person cannot make themselves a contact, not even with plain SQL
    assert "row-level security" in mfr.denied(
        "s2", "INSERT INTO customer_contact (customer_id, staff_id, since) SELECT 1, id, now() FROM staff WHERE login = 's2'")
    mfr.refused("s2", "customer", "contact", "add", "C000001", "--staff", "s2")
    assert _file_of_c1(mfr, "ctc")["notes"] == []
    mfr.ok("s1", "customer", "contact", "add", "C000001", "--staff", "ctc")
    assert _file_of_c1(mfr, "ctc")["notes"] == [{"text": SECRET_NOTE}]


# --------------------------------------------------------------------------------------------------
# crmctl connected as the people


def test_crmctl_does_the_days_work_connected_as_staff_roles(mfr):
    assert mfr.ok("s1", "customer", "add", "--name", "丙工具厂", "-s", "kind=supplier").strip() == "C000003"
    assert mfr.ok("s1", "visit", "log", "C000003", "--kind", "call", "--note", "约了下周").strip()
    number = mfr.ok("s1", "complaint", "open", "C000003", "--summary", "包装破损").strip()
    mfr.ok("s1", "complaint", "close", number, "--note", "补发", "--satisfied")
    assert mfr.ok("s1", "customer", "note", "C000003", "--channel", "fax", "--text", "寄样品").strip()
    shown = json.loads(mfr.ok("s1", "customer", "show", "C000003", "--format", "json"))
    assert shown["owner"] == "s1" and shown["name"] == "丙工具厂"
    codes = [c["code"] for c in json.loads(mfr.ok("s1", "customer", "list", "--format", "json"))]
    assert "C000001" in codes and "C000003" in codes
    # s2 does not get s1's restricted customer through crmctl either
    assert "C000003" not in [c["code"] for c in json.loads(mfr.ok("s2", "customer", "list", "--format", "json"))
                             if c.get("fields")]
    out = mfr.ok("s2", "audit", "list", "--format", "json")
    assert SECRET_REP not in out and SECRET_NOTE not in out and "寄样品" not in out
    assert mfr.ok("info", "audit", "list", "--customer", "C000003", "--format", "json").count("customer.note") == 1


def test_the_admission_chain_is_decided_by_each_approver_connected_as_themselves(mfr):
    mfr.ok("s1", "customer", "submit", "C000001", *CRITERIA)
    waiting = json.loads(mfr.ok("pur", "approve", "--list", "--format", "json"))
    assert "C000001" in [x["code"] for x in waiting if x["kind"] == "admission"]
    mfr.ok("pur", "approve", "C000001")
    mfr.ok("qua", "approve", "C000001")
    mfr.ok("mkh", "approve", "C000001")
    for doc in ("supply_contract", "quality_contract"):  # what the last step needs
        mfr.ok("s1", "doc", "add", "C000001", "--type", doc, "--number", f"N-{doc}", "--expires", "2099-12-31")
    assert "active" in mfr.ok("mat", "approve", "C000001")
    steps = mfr.sql("adm", "SELECT step, staff_login FROM approval WHERE customer_id = 1 AND decision = 'approve' "
                           "ORDER BY step")
    assert [(r["step"], r["staff_login"]) for r in steps] == [(1, "pur"), (2, "qua"), (3, "mkh"), (4, "mat")]
    # approvers read the file of an admission they decided this round, or whose waiting step is theirs
    assert _file_of_c1(mfr, "pur")["notes"] == [{"text": SECRET_NOTE}]
    assert [r["code"] for r in mfr.sql("pur", "SELECT code FROM customer WHERE id = 2")] == ["C000002"]  # waits for pur
    assert mfr.sql("qua", "SELECT code FROM customer WHERE id = 2") == []  # not yet quality's step


def test_service_work_given_to_a_technician(mfr):
    number = mfr.ok("s1", "service", "open", "C000001", "--kind", "repair", "--location", "urban", "--service-type", "A").strip()
    mfr.ok("adm", "service", "dispatch", number, "--technician", "tech")
    mfr.ok("tech", "service", "arrive", number)
    mfr.ok("tech", "service", "resolve", number)
    ticket = json.loads(mfr.ok("tech", "service", "show", number, "--format", "json"))
    assert ticket["customer"] == "C000001" and ticket["status"] == "resolved"
    # the work and the customer it is for, not the file: no notes, no documents, no complaints
    seen = _file_of_c1(mfr, "tech")
    assert seen["customer"] and seen["notes"] == [] and seen["documents"] == [] and seen["complaints"] == []
    assert [r["number"] for r in mfr.sql("tech", "SELECT number FROM service_ticket")] == [number]


# --------------------------------------------------------------------------------------------------
# db roles, staff --db-role


def _grants_and_policies(w: World) -> list:
    return [dict(r) for r in w.sql(None, """
        SELECT c.relname, c.relacl::text AS acl, c.relrowsecurity AS rls, pg_get_userbyid(c.relowner) AS owner,
               (SELECT string_agg(p.polname || ':' || pg_get_expr(p.polqual, p.polrelid), ',' ORDER BY p.polname)
                  FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
          FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'v')
         ORDER BY c.relname""")]


def test_db_roles_is_idempotent_dry_run_changes_nothing_and_it_is_for_administrators(mfr):
    before = _grants_and_policies(mfr)
    sql = mfr.ok(None, "db", "roles", "--prefix", mfr.tag, "--dry-run")
    assert "CREATE POLICY crmctl_rows ON customer" in sql and "CREATE ROLE" not in sql
    assert _grants_and_policies(mfr) == before
    out = mfr.ok("adm", "db", "roles", "--prefix", mfr.tag)  # an administrator who is no superuser
    assert "exist" in out and "already owned" in out and "already in their groups" in out
    assert _grants_and_policies(mfr) == before
    mfr.refused("s1", "db", "roles", "--prefix", mfr.tag, match="only an administrator")
    mfr.refused("adm", "db", "roles", match="--prefix")  # another set of roles for this database
    assert mfr.sql(None, "SELECT count(*) AS n FROM audit_log WHERE action = 'db.roles'")[0]["n"] == 2


def test_db_roles_is_refused_on_sqlite(tmp_path):
    cli = Cli(tmp_path / "crm.db", actor="")
    cli.ok("init", "--policy", "petrochem", "--admin", "admin")
    cli.refused("db", "roles", match="SQLite cannot enforce database roles")


def _member_of(w: World, role: str) -> set[str]:
    return {r["g"] for r in w.sql(None, "SELECT g.rolname AS g FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                                        "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :r", {"r": role})}


def test_staff_db_role_creates_the_login_role_in_its_groups(mfr):
    new, boss2 = f"{mfr.tag}newbie", f"{mfr.tag}adm2"
    mfr.made += [new, boss2]
    assert mfr.ok("adm", "staff", "add", "newbie", "--name", "N", "--role", "marketing", "--db-role", new).strip() == "newbie"
    mfr.logins["newbie"] = new
    assert _member_of(mfr, new) == {f"{mfr.tag}staff"}
    assert mfr.sql("newbie", "SELECT session_user AS u")[0]["u"] == new  # a login role
    assert "newbie" in mfr.ok("newbie", "staff", "list")
    mfr.ok("adm", "staff", "edit", "newbie", "--admin")
    assert _member_of(mfr, new) == {f"{mfr.tag}staff", f"{mfr.tag}admin"}
    mfr.ok("adm", "staff", "edit", "newbie", "--no-admin")
    assert _member_of(mfr, new) == {f"{mfr.tag}staff"}
    mfr.ok("adm", "staff", "leave", "newbie", "--handover-to", "s1")
    assert _member_of(mfr, new) == set()
    # an administrator whose role may not create roles is told so, and nothing is added
    mfr.sql(None, f'CREATE ROLE "{boss2}" LOGIN')
    mfr.ok(None, "staff", "add", "adm2", "--name", "A2", "--role", "gm", "--admin", "--db-role", boss2)
    assert _member_of(mfr, boss2) == {f"{mfr.tag}staff", f"{mfr.tag}admin"}
    mfr.logins["adm2"] = boss2
    mfr.refused("adm2", "staff", "add", "nobody", "--name", "X", "--role", "marketing", "--db-role", f"{mfr.tag}nobody",
                match="may not create roles")
    assert mfr.sql(None, "SELECT count(*) AS n FROM staff WHERE login = 'nobody'")[0]["n"] == 0


# --------------------------------------------------------------------------------------------------
# migrations and an administrator's grading (petrochem, a database of its own)


@pytest.fixture
def petro(pg_server, tmp_path):
    if not pg_server:
        pytest.skip(SKIP_REASON)
    w, schema = _build(pg_server, tmp_path, "petrochem",
                       [("adm", ["gm"], True), ("s1", ["sales"], False), ("fin", ["finance"], False)])
    try:
        yield w
    finally:
        _teardown(pg_server, w, schema)


def test_staff_cannot_run_migrations_and_an_administrator_upgrades_as_the_owner(petro):
    from alembic import command

    from crmctl.db import _alembic_config

    engine = create_engine(petro.url)
    try:
        with engine.begin() as c:
            c.exec_driver_sql(f'SET LOCAL ROLE "{petro.tag}owner"')
            command.downgrade(_alembic_config(c), "0005")
    finally:
        engine.dispose()
    petro.refused("s1", "customer", "list", match="ask an administrator")
    petro.refused("s1", "db", "upgrade", match="may not upgrade it")
    from crmctl.migrations import HEAD

    petro.refused("adm", "customer", "list", match="ask an administrator")  # never upgraded on opening
    assert f"0005 -> {HEAD}" in petro.ok("adm", "db", "upgrade", "--yes")
    owners = {r["tablename"]: r["tableowner"] for r in petro.sql(None, "SELECT tablename, tableowner FROM pg_tables "
                                                                       "WHERE schemaname = current_schema()")}
    assert owners["access_setting"] == owners["alembic_version"] == f"{petro.tag}owner"
    petro.ok("adm", "db", "roles", "--prefix", petro.tag)  # the grants of the new table
    assert petro.ok("s1", "customer", "list", "--format", "json")


def test_an_administrator_grades_and_approves_an_extension_as_their_own_role(petro, tmp_path):
    csv = tmp_path / "customers.csv"
    csv.write_text("name,owner,product_line,channel,sales_form,pickup_depot\n河北华塑,s1,polyolefin,distributor,auction,石家庄库\n",
                   encoding="utf-8")
    petro.ok("adm", "customer", "import", str(csv), "--admitted", now=True)
    code = "C000001"
    for day, qty in (("2026-08-05", "300"), ("2026-09-20", "450")):
        petro.ok("adm", "volume", "add", code, "--qty", qty, "--date", day, now=True)
    graded = json.loads(petro.ok("adm", "grade", "run", "--period", "quarter", "--format", "json", now=True))
    assert graded[0]["graded"] == 1
    assert json.loads(petro.ok("s1", "grade", "explain", code, "--format", "json"))["customer"] == code
    number = petro.ok("s1", "complaint", "open", code, "--summary", "质量问题", "--severity", "major").strip()
    petro.ok("s1", "complaint", "extend", number, "--working-days", "2")
    petro.refused("s1", "complaint", "approve-extension", number, match="may not decide")
    petro.ok("adm", "complaint", "approve-extension", number)
    rows = petro.sql("s1", "SELECT status, decided_by FROM approval_request")
    assert [dict(r) for r in rows] == [{"status": "granted", "decided_by": "adm"}]
    assert "keeps approval_request as written" in petro.denied("adm", "UPDATE approval_request SET comment = 'later'")
    assert petro.ok("adm", "db", "check").startswith("ok:")
