"""Services: a large first load into usage_record drops its secondary indexes and builds them again
inside the same transaction (crmctl.db_bulk.bulk_load), on SQLite and on PostgreSQL; a failed load
leaves the indexes and no rows."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text

from crmctl.errors import InvalidInput
from tests.services.test_grading import _csv, _petro_customers, given


def _engine(cli):
    db = str(cli.db)
    return create_engine(db if "://" in db else f"sqlite:///{db}")


def _indexes(cli) -> dict[str, tuple]:
    """usage_record's indexes as the database has them: name -> (columns, unique)."""
    engine = _engine(cli)
    try:
        with engine.connect() as c:
            return {ix["name"]: (tuple(ix["column_names"]), bool(ix.get("unique")))
                    for ix in inspect(c).get_indexes("usage_record")}
    finally:
        engine.dispose()


def _count(cli) -> int:
    engine = _engine(cli)
    try:
        with engine.connect() as c:
            return c.execute(text("select count(*) from usage_record")).scalar()
    finally:
        engine.dispose()


def _integrity(cli) -> None:
    """SQLite's integrity check; on PostgreSQL each index answers a query the way the table does."""
    engine = _engine(cli)
    try:
        with engine.connect() as c:
            if c.dialect.name == "sqlite":
                assert c.execute(text("pragma integrity_check")).scalar() == "ok"
                return
            table = c.execute(text("select customer_id, day, count(*) from usage_record group by 1, 2 "
                                   "order by 1, 2")).all()
            c.execute(text("set enable_seqscan = off"))
            by_index = c.execute(text("select customer_id, day, count(*) from usage_record "
                                      "where customer_id > 0 group by 1, 2 order by 1, 2")).all()
            assert table == by_index
    finally:
        engine.dispose()


@pytest.fixture
def small_bulk(monkeypatch):
    import crmctl.db_bulk

    monkeypatch.setattr(crmctl.db_bulk, "BULK_MIN_ROWS", 10)


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
    cli = make_cli("petrochem")
    codes = _petro_customers(cli, tmp_path)
    before = _indexes(cli)
    assert {"ix_usage_day_customer_qty", "ix_usage_customer_day"} <= set(before)
    ddl = _statements(monkeypatch)
    given(cli).import_volumes(_csv(tmp_path / "v.csv", "customer,date,qty", _rows(codes, 200)))
    assert ddl.count("DROP") == len(before) and ddl.count("CREATE") == len(before)
    assert _indexes(cli) == before and _count(cli) == 200
    # a small load next to what is there: the indexes stay
    ddl.clear()
    given(cli).import_volumes(_csv(tmp_path / "w.csv", "customer,date,qty", _rows(codes, 50, 200)))
    assert ddl == [] and _count(cli) == 250
    _integrity(cli)


def test_a_failed_big_load_keeps_the_indexes_and_writes_nothing(make_cli, tmp_path, small_bulk):
    cli = make_cli("petrochem")
    codes = _petro_customers(cli, tmp_path)
    before = _indexes(cli)
    rows = _rows(codes, 300) + ["NOPE,2026-01-01,1"]
    with pytest.raises(InvalidInput, match="row 302"):
        given(cli).import_volumes(_csv(tmp_path / "v.csv", "customer,date,qty", rows))
    assert _indexes(cli) == before and _count(cli) == 0
