"""Per-customer columns lined up with a sorted id array (crmctl.services.aligned): what a grade run
over a million customers holds instead of dicts."""

from __future__ import annotations

import random
import sqlite3

from crmctl.services.aligned import aligned, aligned_numbers, fetched, id_array, placer, position


def test_rows_in_any_order_land_on_their_customer():
    ids = id_array([3, 5, 9, 12])
    extra: list[int] = []
    got = aligned(ids, [[(12, "d"), (1, "x")], [(5, "b"), (40, "y"), (3, "a")]], default="-", extra=extra)
    assert got == ["a", "b", "-", "d"] and extra == [1, 40]


def test_equal_values_are_kept_once():
    ids = id_array(range(1, 1001))
    shared: dict = {}
    got = aligned(ids, [[(i, ("A", "2026-H1" if i % 2 else None)) for i in range(1000, 0, -1)]], shared=shared)
    assert len(shared) == 2 and len({id(v) for v in got}) == 2
    assert got[0] == ("A", "2026-H1") and got[1] == ("A", None)


def test_numbers_as_a_double_array_with_a_default():
    ids = id_array([2, 4, 6])
    got = aligned_numbers(ids, id_array([6, 1, 2]), [6.5, 1.0, 2.25])
    assert got.typecode == "d" and list(got) == [2.25, 0.0, 6.5]


def test_the_same_as_a_dict_on_random_data():
    rng = random.Random(5)
    ids = id_array(sorted(rng.sample(range(1, 50_000), 5_000)))
    as_dict = {rng.randrange(1, 50_000): rng.random() for _ in range(8_000)}
    for rows in (list(as_dict.items()), sorted(as_dict.items())):  # in any order, and in id order (with gaps)
        assert aligned(ids, [rows], default=None) == [as_dict.get(cid) for cid in ids]
        assert list(aligned_numbers(ids, [k for k, _ in rows], [v for _, v in rows])) == [as_dict.get(c, 0.0) for c in ids]


def test_position_and_empty_ids():
    ids = id_array([10, 20])
    assert position(ids, 20) == 1 and position(ids, 15) == -1 and position(ids, 99) == -1
    assert aligned(id_array(), [[(1, "a")]]) == [] and position(id_array(), 1) == -1


def test_a_placer_follows_rows_in_order_and_finds_the_others():
    place = placer(id_array([10, 20, 30, 40]))
    assert [place(k) for k in (10, 20, 25, 30, 40, 10, 99, 40, 5)] == [0, 1, -1, 2, 3, 0, -1, 3, -1]
    assert placer(id_array())(1) == -1


def test_fetched_reads_a_cursor_in_parts():
    conn = sqlite3.connect(":memory:")
    conn.execute("create table t(x)")
    conn.executemany("insert into t values (?)", [(i,) for i in range(25)])
    parts = list(fetched(conn.execute("select x from t order by x"), size=10))
    assert [len(p) for p in parts] == [10, 10, 5] and parts[2][-1] == (24,)


def test_a_streamed_read_loses_no_row(petrochem):
    """PostgreSQL (a --pg run): a server-side cursor, whose first row SQLAlchemy reads ahead into
    its own buffer; SQLite: the plain cursor.  Either way every row, once, as plain tuples."""
    from crmctl.db import raw
    from crmctl.services.app import Settings, open_app

    app = open_app(Settings(db=str(petrochem.db), actor="admin"))
    try:
        with app.db.read() as s:
            sql = "SELECT n, n * 2 FROM (" + " UNION ALL ".join(f"SELECT {i} AS n" for i in range(30)) + ") t ORDER BY n"
            whole = [tuple(r) for r in raw(s, sql).fetchall()]
            for size in (1, 2, len(whole) - 1, len(whole), len(whole) + 5):
                parts = list(fetched(raw(s, sql, stream=True), size=size))
                got = [r for part in parts for r in part]
                assert got == whole and all(type(r) is tuple for r in got), size
    finally:
        app.close()
    assert len(whole) == 30
