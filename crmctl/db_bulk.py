"""Big loads into a table with secondary indexes: drop them, load, build them again, all in the
write transaction of the load (``crmctl.db`` keeps the engine; this is the one bulk-load rule).

Inserting rows in file order into an index keyed by customer and day is a random B-tree insertion
per row per index; ``CREATE INDEX`` sorts once.  Both SQLite's and PostgreSQL's DDL is
transactional: a refused row rolls the ``DROP INDEX`` back with the rows, so the indexes are never
lost.  SQLite's readers keep their snapshot until the commit (WAL); on PostgreSQL ``DROP INDEX``
locks the table until the commit, so commands reading it wait for the load (a first load, or one
bigger than what the table holds: what they would have read is small next to what is coming).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

#: a load smaller than this never rebuilds indexes (building them again costs more than it saves)
BULK_MIN_ROWS = 50_000


@contextmanager
def bulk_load(conn, table: str, rows_coming: int) -> Iterator[bool]:
    """Around a load of about ``rows_coming`` rows into ``table`` in the current write transaction.
    When that is at least as many rows as the table holds (a first import, a file bigger than what
    is there), the table's secondary indexes (not unique ones) are dropped first and built again at
    the end: about 4 × faster for a first load of 2 M records on SQLite; on PostgreSQL 1.4 × for
    2 M and 1.9 × for 20 M (627 s → 324 s: with the indexes kept, their maintenance outgrew the
    server's buffers).  On PostgreSQL the table is then ANALYZEd, so that the next command plans on
    its statistics.  Yields whether the indexes were dropped."""
    if rows_coming < BULK_MIN_ROWS:
        yield False
        return
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        held = conn.exec_driver_sql(f"SELECT max(rowid) FROM {table}").scalar() or 0  # an upper bound, O(log n)
    else:  # at most rows_coming + 1 rows read (is there more than is coming?), a fraction of the load
        held = conn.exec_driver_sql(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT {int(rows_coming) + 1}) t").scalar()
    dropped = _secondary_indexes(conn, table) if rows_coming >= held else []
    for name, _create in dropped:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    # SQLite: the connection's default page cache (2 MB): a 64 MB one made the load of 20 M records 27 %
    # and of 2 M 10 % slower, and doubled the peak memory (benchmarks/bench_scale.py)
    yield bool(dropped)
    for _name, create in dropped:  # not reached when the load raised: the rollback restores them
        conn.exec_driver_sql(create)
    if not sqlite:
        # the planner's statistics of the table, fresh before the next command plans on it (autovacuum
        # would take a while; the plans of a table it thinks empty or small can be quadratic)
        conn.exec_driver_sql(f"ANALYZE {table}")


def _secondary_indexes(conn, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the table's indexes that only speed up reads: not the
    primary key, not a unique index or constraint (those check the rows as they come)."""
    if conn.dialect.name == "sqlite":
        return [(name, sql) for name, sql in conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
            "AND sql NOT LIKE 'CREATE UNIQUE%'", (table,)).all()]
    from sqlalchemy import inspect
    from sqlalchemy.schema import CreateIndex
    from sqlmodel import SQLModel

    from .models import load_all

    if table not in SQLModel.metadata.tables:
        load_all()
    # the indexes the models declare and the database has (the dialect's introspection); their DDL
    # as SQLAlchemy writes it for this dialect
    present = {ix["name"] for ix in inspect(conn).get_indexes(table) if not ix.get("unique")}
    declared = SQLModel.metadata.tables[table].indexes
    return [(ix.name, str(CreateIndex(ix).compile(dialect=conn.dialect)))
            for ix in sorted(declared, key=lambda ix: ix.name) if ix.name in present and not ix.unique]
