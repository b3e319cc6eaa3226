"""Services (issue 16): the stored name key (schema 0009) on every path that writes a customer's name,
the import's one query for the duplicates of a whole file, and the upgrade that fills the key of
older databases.  SQLite and PostgreSQL (``CRMCTL_TEST_PG``)."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import event, select

from crmctl import migrations
from crmctl.db import Database, _alembic_config, current_revision
from crmctl.errors import RuleViolation
from crmctl.models import Customer
from crmctl.rules.names import name_key
from crmctl.services.app import Settings, open_app
from crmctl.services.customers import add_customer, edit_customer, import_customers
from tests.conftest import execute_sql

POLY = {"product_line": "polyolefin", "channel": "distributor", "sales_form": "auction"}


def _url(db) -> str:
    return str(db) if "://" in str(db) else f"sqlite:///{db}"


def _keys(app) -> dict[str, tuple[str, str | None]]:
    with app.db.read() as s:
        return {code: (name, key) for code, name, key in s.execute(select(Customer.code, Customer.name, Customer.name_key))}


def test_every_write_of_a_name_stores_its_key(make_cli, tmp_path):
    cli = make_cli("petrochem")
    app = open_app(Settings(db=str(cli.db), actor="admin"))
    try:
        a = add_customer(app, "河北华塑化工股份有限公司", POLY, {})
        assert a["warnings"] == []
        b = add_customer(app, "河北华塑 化工有限公司", POLY, {})
        assert b["warnings"] == [f"the name '河北华塑 化工有限公司' is already customer {a['code']} (河北华塑化工股份有限公司) "
                                 "(the same once width, spaces, case and the 有限公司/有限责任公司/股份有限公司 forms are set aside)"]
        f = tmp_path / "c.csv"
        f.write_text("name,product_line,channel,sales_form\nＡＢＣ 贸易,polyolefin,direct,plan\n", encoding="utf-8")
        import_customers(app, f)
        edited = edit_customer(app, b["code"], name="保定宏达有限责任公司")
        assert edited["warnings"] == []
        keys = _keys(app)
        assert all(key == name_key(name) for name, key in keys.values()), keys
        assert keys[b["code"]][1] == "保定宏达有限公司" and "abc贸易" in {k for _, k in keys.values()}
    finally:
        app.close()


def test_unique_names_refuse_in_the_service(make_cli):
    cli = make_cli("gas-service")
    app = open_app(Settings(db=str(cli.db), actor="admin"))
    try:
        first = add_customer(app, "张三", {"sector": "residential"}, {})
        with pytest.raises(RuleViolation, match=r"already customer C000001 \(张三\).*unique_names"):
            add_customer(app, "张　三", {"sector": "residential"}, {})
        assert len(_keys(app)) == 1
        other = add_customer(app, "张　三", {"sector": "residential"}, {}, allow_duplicate_name=True)
        assert other["warnings"] == [] and other["code"] != first["code"]
    finally:
        app.close()


def test_the_demo_names_every_customer_once(make_cli):
    """The demo builds a gas-service database (names unique by policy) with its keys stored."""
    from crmctl.services import demo

    cli = make_cli("gas-service")
    app = open_app(Settings(db=str(cli.db), actor="admin"))
    try:
        for _line in demo.populate(app, random.Random(3), 300):
            pass
        keys = _keys(app)
        assert len(keys) >= 300 and all(key == name_key(name) for name, key in keys.values())
        assert len({key for _, key in keys.values()}) == len(keys)
    finally:
        app.close()


def test_import_checks_the_names_of_a_whole_file_in_one_query(make_cli, tmp_path):
    cli = make_cli("petrochem")
    app = open_app(Settings(db=str(cli.db), actor="admin"))
    try:
        add_customer(app, "客户7有限公司", POLY, {})
        add_customer(app, "客户1200", POLY, {})
        f = tmp_path / "big.csv"
        names = [f"客户{i}" + ("股份有限公司" if i == 7 else "") for i in range(12_000)] + ["客户 5"]
        f.write_text("name,product_line,channel,sales_form\n" + "".join(f"{n},polyolefin,direct,plan\n" for n in names),
                     encoding="utf-8")
        statements: list[str] = []

        def seen(conn, cursor, statement, parameters, context, executemany):
            if "name_key" in statement and not statement.lstrip().upper().startswith("INSERT"):
                statements.append(statement)

        event.listen(app.db.engine, "before_cursor_execute", seen)
        try:
            result = import_customers(app, f)
        finally:
            event.remove(app.db.engine, "before_cursor_execute", seen)
        assert result["imported"] == len(names)
        assert len(statements) == 1, statements  # one SELECT, whatever the number of rows (12 001 here)
        assert result["duplicate_names"] == 3 and result["warnings"] == [
            "rows 7 and 12002 give the same name (客户5, 客户 5)",
            "row 9: the name '客户7股份有限公司' is already customer C000001 (客户7有限公司)",
            "row 1202: the name '客户1200' is already customer C000002 (客户1200)",
        ]
    finally:
        app.close()


def _downgrade(db, rev: str) -> None:
    from alembic import command

    d = Database(_url(db))
    try:
        with d.engine.begin() as conn:
            command.downgrade(_alembic_config(conn), rev)
    finally:
        d.dispose()


def test_upgrade_to_0009_fills_the_name_keys(make_cli):
    """A schema-0008 database (no name_key) with customers: opening it upgrades and keys every name."""
    cli = make_cli("petrochem")
    cli.ok("customer", "add", "--name", "河北华塑化工有限公司", "-s", "product_line=polyolefin",
           "-s", "channel=distributor", "-s", "sales_form=auction")
    _downgrade(cli.db, "0008")
    owner = "(SELECT id FROM staff WHERE login = 'admin')"
    names = ["ＡＢＣ（集团）股份有限公司", "保定 宏达有限责任公司", "Straße GmbH"] + [f"客户{i}" for i in range(30)]
    for i, name in enumerate(names, start=2):
        execute_sql(cli.db, "INSERT INTO customer (code, name, status, owner_id, segments, fields, admission_round, "
                            f"created_at, updated_at) VALUES (:c, :n, 'prospect', {owner}, '{{}}', '{{}}', 0, "
                            "'2026-01-06 02:00:00', '2026-01-06 02:00:00')", {"c": f"C{i:06d}", "n": name})
    d = Database(_url(cli.db))
    try:
        assert current_revision(d.engine) == "0008"
    finally:
        d.dispose()
    if "://" in str(cli.db):  # a PostgreSQL database is upgraded by an administrator, not on opening
        cli.ok("db", "upgrade", "--yes")
    cli.ok("customer", "show", "C000001", "--format", "json")  # SQLite: opening upgrades it
    app = open_app(Settings(db=str(cli.db), actor="admin"))
    try:
        assert current_revision(app.db.engine) == migrations.HEAD
        keys = _keys(app)
        assert len(keys) == len(names) + 1 and all(key == name_key(name) for name, key in keys.values())
        assert keys["C000002"][1] == "abc(集团)有限公司"
    finally:
        app.close()
    # the upgraded database warns like a new one
    r = cli("customer", "add", "--name", "保定宏达有限公司", "-s", "product_line=polyolefin", "-s", "channel=direct",
            "-s", "sales_form=plan")
    assert r.exit_code == 0 and "already customer C000003 (保定 宏达有限责任公司)" in r.stderr
    cli.ok("db", "check")


@pytest.mark.sqlite_only  # reads the SQLite file directly
def test_0009_matches_the_model(make_cli):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    cli = make_cli("petrochem")
    engine = create_engine(f"sqlite:///{cli.db}")
    try:
        with engine.connect() as conn:
            diff = [d for d in compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
                    if "name_key" in str(d)]
        assert diff == []
    finally:
        engine.dispose()
