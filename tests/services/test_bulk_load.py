"""Services: a large first load into usage_record drops its secondary indexes and builds them again
inside the same transaction (crmctl.db.bulk_load); a failed load leaves the indexes and no rows."""

from __future__ import annotations

import sqlite3

import pytest

from crmctl.errors import InvalidInput
from tests.services.test_grading import _csv, _petro_customers, given


def _indexes(db) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("select name, sql from sqlite_master where type = 'index' "
                                 "and tbl_name = 'usage_record' and sql is not null"))
    finally:
        conn.close()


def _count(db) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("select count(*) from usage_record").fetchone()[0]
    finally:
        conn.close()


def _sqlite(make_cli):
    cli = make_cli("petrochem")
    if str(cli.db).startswith("postgresql"):
        pytest.skip("bulk_load rebuilds indexes on SQLite only")
    return cli


@pytest.fixture
def small_bulk(monkeypatch):
    import crmctl.db

    monkeypatch.setattr(crmctl.db, "BULK_MIN_ROWS", 10)


def _rows(codes, n, start=0):
    return [f"{codes[i % len(codes)]},2026-{1 + (i % 9):02d}-{1 + (i % 27):02d},{1 + i % 50}" for i in range(start, start + n)]


def _statements(monkeypatch) -> list[str]:
    """The DDL statements crmctl sends (DROP/CREATE INDEX)."""
    from sqlalchemy.engine import Connection

    seen: list[str] = []
    real = Connection.exec_driver_sql

    def spy(self, statement, *a, **kw):
        if statement.lstrip().upper().startswith(("DROP INDEX", "CREATE INDEX")):
            seen.append(statement.split()[0].upper())
        return real(self, statement, *a, **kw)

    monkeypatch.setattr(Connection, "exec_driver_sql", spy)
    return seen


def test_a_first_big_load_rebuilds_the_indexes(make_cli, tmp_path, small_bulk, monkeypatch):
    cli = _sqlite(make_cli)
    codes = _petro_customers(cli, tmp_path)
    before = _indexes(cli.db)
    assert {"ix_usage_day_customer_qty", "ix_usage_customer_day"} <= set(before)
    ddl = _statements(monkeypatch)
    given(cli).import_volumes(_csv(tmp_path / "v.csv", "customer,date,qty", _rows(codes, 200)))
    assert ddl.count("DROP") == len(before) and ddl.count("CREATE") == len(before)
    assert _indexes(cli.db) == before and _count(cli.db) == 200
    # a small load next to what is there: the indexes stay
    ddl.clear()
    given(cli).import_volumes(_csv(tmp_path / "w.csv", "customer,date,qty", _rows(codes, 50, 200)))
    assert ddl == [] and _count(cli.db) == 250
    conn = sqlite3.connect(cli.db)
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_a_failed_big_load_keeps_the_indexes_and_writes_nothing(make_cli, tmp_path, small_bulk):
    cli = _sqlite(make_cli)
    codes = _petro_customers(cli, tmp_path)
    before = _indexes(cli.db)
    rows = _rows(codes, 300) + ["NOPE,2026-01-01,1"]
    with pytest.raises(InvalidInput, match="row 302"):
        given(cli).import_volumes(_csv(tmp_path / "v.csv", "customer,date,qty", rows))
    assert _indexes(cli.db) == before and _count(cli.db) == 0
