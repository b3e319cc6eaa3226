"""Services: ``volume import`` on PostgreSQL streams the rows with COPY into a staging table and
merges them with one INSERT … SELECT (crmctl.services.volumes._Copy); on SQLite it writes them with
executemany.  Both refuse the same file with the same first problem and its row number, write all
rows or none, and on PostgreSQL a big load leaves fresh planner statistics behind.  Streamed reads on
PostgreSQL are planned for the whole result (``cursor_tuple_fraction = 1``): the customer export
of a table the planner has no statistics for is a hash join, not a quadratic nested loop."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text

from crmctl.errors import InvalidInput
from tests.services.test_grading import _app, _csv, _petro_customers, given


def _engine(cli):
    db = str(cli.db)
    return create_engine(db if "://" in db else f"sqlite:///{db}")


def _count(cli) -> tuple[int, float]:
    engine = _engine(cli)
    try:
        with engine.connect() as c:
            n, total = c.execute(text("select count(*), coalesce(sum(qty), 0) from usage_record")).one()
            return n, float(total)
    finally:
        engine.dispose()


def _pg(cli):
    if not str(cli.db).startswith("postgresql"):
        pytest.skip("the COPY path is PostgreSQL's")
    return cli


def _rows(codes, n, start=0):
    return [f"{codes[i % len(codes)]},2026-{1 + (i % 9):02d}-{1 + (i % 27):02d},{1 + i % 50}" for i in range(start, start + n)]


@pytest.mark.parametrize("rows, problem", [
    # an unknown code before a bad quantity: the unknown code is the first problem (row 3)
    (["P1,2026-01-01,5", "NOPE,2026-01-02,5", "P2,2026-01-03,5", "P3,2026-01-04,lots"], r"row 3: unknown customer 'NOPE'"),
    # a bad quantity before an unknown code: the quantity (row 2)
    (["P1,2026-01-01,lots", "NOPE,2026-01-02,5"], r"row 2: qty"),
    # an unknown code only, far into the file
    ([*(f"P{1 + i % 6},2026-02-{1 + i % 27:02d},{i % 9 + 1}" for i in range(40)), "GONE,2026-03-01,1"], r"row 42: unknown customer 'GONE'"),
    # an unknown code before a row with too many cells
    (["P1,2026-01-01,5", "NOPE,2026-01-02,5", "P1,2026-01-03,5,92#,10,extra"], r"row 3: unknown customer 'NOPE'"),
    # an empty code (checked as the rows are read) after an unknown one
    (["NOPE,2026-01-02,5", ",2026-01-03,5"], r"row 2: unknown customer 'NOPE'"),
    # a date in the future after good rows
    (["P1,2026-01-01,5", "P1,2099-01-01,5"], r"row 3: date 2099-01-01 is in the future"),
])
def test_the_first_problem_and_its_row_are_the_same_on_both_backends(make_cli, tmp_path, rows, problem):
    cli = make_cli("petrochem")
    _petro_customers(cli, tmp_path)
    header = "customer,date,qty,product,amount" if any(r.count(",") > 2 for r in rows) else "customer,date,qty"
    with pytest.raises(InvalidInput, match=problem):
        given(cli).import_volumes(_csv(tmp_path / "v.csv", header, rows))
    assert _count(cli) == (0, 0.0)


def test_a_good_file_lands_whole_with_its_values(make_cli, tmp_path):
    cli = make_cli("petrochem")
    codes = _petro_customers(cli, tmp_path)
    rows = _rows(codes, 500) + ["D1,2026-05-05,12.5,PE,99.75", "A1,2026-05-06,7,,"]
    out = given(cli).import_volumes(_csv(tmp_path / "v.csv", "customer,date,qty,product,amount",
                                         [r + ",PP,1" for r in rows[:500]] + rows[500:]))
    assert out["imported"] == 502
    expected = sum(1 + i % 50 for i in range(500)) + 12.5 + 7
    assert _count(cli) == (502, pytest.approx(expected))
    engine = _engine(cli)
    try:
        with engine.connect() as c:
            got = c.execute(text("select c.code, u.day, u.qty, u.product, u.amount, u.import_id from usage_record u "
                                 "join customer c on c.id = u.customer_id where c.code in ('D1', 'A1') order by c.code")).all()
    finally:
        engine.dispose()
    assert [(r[0], str(r[1]), r[2], r[3], r[4]) for r in got] == [("A1", "2026-05-06", 7.0, None, None),
                                                                ("D1", "2026-05-05", 12.5, "PE", 99.75)]
    assert {r[5] for r in got} == {out["batch"]}


def test_postgresql_streams_the_rows_in_a_few_statements(make_cli, tmp_path):
    cli = _pg(make_cli("petrochem"))
    codes = _petro_customers(cli, tmp_path)
    statements: list[str] = []
    with _app(cli) as app:
        event.listen(app.db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        from crmctl.services.volumes import import_volumes

        import_volumes(app, _csv(tmp_path / "v.csv", "customer,date,qty", _rows(codes, 3000)))
    assert _count(cli)[0] == 3000
    assert any("CREATE TEMPORARY TABLE crm_volume_stage" in s for s in statements)
    assert sum("INSERT INTO usage_record" in s for s in statements) == 1  # one merge, no row inserts
    assert len(statements) < 40, statements


def test_postgresql_big_load_refreshes_the_statistics(make_cli, tmp_path, monkeypatch):
    import crmctl.db_bulk

    cli = _pg(make_cli("petrochem"))
    codes = _petro_customers(cli, tmp_path)
    monkeypatch.setattr(crmctl.db_bulk, "BULK_MIN_ROWS", 100)
    given(cli).import_volumes(_csv(tmp_path / "v.csv", "customer,date,qty", _rows(codes, 400)))
    engine = _engine(cli)
    try:
        with engine.connect() as c:
            # ANALYZE wrote the table's row estimate (a never-analysed table says -1 or 0)
            assert c.execute(text("select reltuples from pg_class where relname = 'usage_record' "
                                  "and relnamespace = current_schema()::regnamespace")).scalar() == 400
    finally:
        engine.dispose()


def test_postgresql_interrupted_copy_leaves_nothing(make_cli, tmp_path, monkeypatch):
    import crmctl.services.volumes as volumes

    cli = _pg(make_cli("petrochem"))
    codes = _petro_customers(cli, tmp_path)
    monkeypatch.setattr(volumes, "CHUNK", 50)

    class Bar:
        def __init__(self):
            self.seen = 0

        def advance(self, n):
            self.seen += n
            if self.seen >= 100:
                raise KeyboardInterrupt

    from contextlib import contextmanager

    @contextmanager
    def progress(_label, total=None):
        yield Bar()

    with _app(cli) as app, pytest.raises(KeyboardInterrupt):
        volumes.import_volumes(app, _csv(tmp_path / "v.csv", "customer,date,qty", _rows(codes, 300)), progress=progress)
    assert _count(cli) == (0, 0.0)
    # the database is usable afterwards, and the same file imports
    assert given(cli).import_volumes(_csv(tmp_path / "v.csv", "customer,date,qty", _rows(codes, 300)))["imported"] == 300


def test_postgresql_streamed_reads_are_planned_for_every_row(make_cli, tmp_path):
    """The customer export reads the last purchase of each customer.  When it joined an aggregate, on
    tables the planner had no statistics for (a fresh schema, a just-copied database), a cursor
    planned for its first 10 % rows took a nested loop over the materialised aggregate: 100 000
    customers took minutes.  crmctl's connections plan cursors for the whole result, and the last
    purchase is one seek per customer into ix_usage_customer_day, never a scan of usage_record."""
    cli = _pg(make_cli("fuel-retail"))
    from crmctl.services.customers import export_customers

    engine = _engine(cli)
    try:
        with engine.begin() as c:  # written by SQL, never analysed: the planner guesses
            c.execute(text("insert into customer(code, name, name_key, status, owner_id, segments, fields, admission_round,"
                           " created_at, updated_at, status_changed_at) select 'C' || lpad(i::text, 6, '0'), 'k' || i,"
                           " 'k' || i, 'active', (select id from staff where login = 'admin'), '{}', '{}', 0, now(), now(),"
                           " now() from generate_series(1, 20000) i"))
            c.execute(text("insert into usage_record(customer_id, day, qty) select c.id, date '2026-01-01' + (g % 300),"
                           " 1 from customer c, generate_series(1, 10) g"))
    finally:
        engine.dispose()

    captured: list[tuple] = []
    with _app(cli) as app:
        event.listen(app.db.engine, "before_cursor_execute",
                     lambda conn, cur, st, params, ctx, many: captured.append((st, params)) if "usage_record" in st else None)
        _fields, rows = export_customers(app)
        list(rows)
        statement, params = captured[0]
        with app.db.read() as s:
            raw = s.connection().connection.dbapi_connection
            assert raw.execute("show cursor_tuple_fraction").fetchone()[0] == "1"
            with raw.cursor() as cur:
                cur.execute("explain declare crm_plan cursor for " + statement, params)
                plan = "\n".join(r[0] for r in cur.fetchall())
    assert "ix_usage_customer_day" in plan and "Seq Scan on usage_record" not in plan, plan


@pytest.mark.parametrize("policy, period, label", [("fuel-retail", "half-year", "2026-H1"),
                                                   ("gas-tiered", "year", "2025")])
def test_a_grade_rerun_with_nothing_new_writes_no_result_rows(make_cli, tmp_path, monkeypatch, policy, period, label):
    """A re-run compares each new result with the stored one.  On PostgreSQL the driver gave the
    stored JSON (metrics, factor scores) decoded while the new one is text: every row looked changed
    and was rewritten (100 000 upserts a re-run).  Both are compared as text now."""
    import crmctl.services.grading.store as store
    from crmctl.services.grading import grade_customers

    cli = make_cli(policy)
    if policy == "fuel-retail":
        given(cli).import_customers(_csv(tmp_path / "c.csv", "code,name,nature,card,industry",
                                         [f"F{i},客户{i},big,unit,taxi" for i in range(1, 6)]))
        codes = [f"F{i}" for i in range(1, 6)]
    else:  # a rank scale: scores, ranks and factor scores stored too
        given(cli).import_customers(_csv(tmp_path / "c.csv", "code,name,supply,sector,class",
                                         [f"G{i:02d},工业{i},pipeline,industrial," for i in range(1, 11)]))
        codes = [f"G{i:02d}" for i in range(1, 11)]
    year = label if label.isdigit() else "2026"
    given(cli).import_volumes(_csv(tmp_path / "v.csv", "customer,date,qty,product,amount",
                                   [f"{c},{year}-0{1 + i % 5}-10,{1000.5 * (i + 1)},LNG,{3001.25 * (i + 1)}"
                                    for i, c in enumerate(codes)]))
    written: list[tuple[str, int]] = []
    real = store.bulk_insert
    def spy(conn, table, cols, rows, **kw):
        rows = list(rows)
        written.append((table, len(rows)))
        return real(conn, table, cols, rows, **kw)

    monkeypatch.setattr(store, "bulk_insert", spy)
    with _app(cli) as app:
        first = grade_customers(app, period, label)
        assert sum(n for t, n in written if t == "grade_result") == sum(r["graded"] for r in first) > 0
        written.clear()
        again = grade_customers(app, period, label)
    assert all(r["changed"] == 0 for r in again)
    assert [(t, n) for t, n in written if n] == []


def test_the_copied_export_holds_what_the_typed_one_holds(make_cli):
    """``customer list --format csv`` on PostgreSQL streams its rows with COPY … TO STDOUT, every
    cell as text (crmctl.db.copy_chunks); the rows must be the ones the typed path gives: numbers as
    numbers, yes/no fields as booleans, text with backslashes (COPY's escape: \\t, \\N) and quotes intact,
    phone numbers with their leading zero, NULLs as None (on SQLite both paths are the same)."""
    import json as _json

    from crmctl.services.customers import export_customers

    cli = make_cli("manufacturer")
    cases = [
        {"important": "yes", "registered_capital": "-1250.5", "address": "a\\tb\\N \\\\c \"q\" 'x' 第二行",
         "phone": "03118888888", "business_scope": "=SUM(A1)"},
        {"important": "no", "registered_capital": "12", "legal_representative": "张三", "postcode": "050000"},
        {},
    ]
    for i, fields in enumerate(cases):
        args = ["customer", "add", "--name", f"客户{i}", "--segment", "kind=supplier"]
        for k, v in fields.items():
            args += ["--field", f"{k}={v}"]
        cli.ok(*args)
    with _app(cli) as app:
        keys, typed = export_customers(app)
        typed = list(typed)
        _keys, copied = export_customers(app, text_cells=True)
        copied = list(copied)
    assert len(typed) == 3
    assert copied == typed
    row = dict(zip([k.key for k in keys], typed[0]))
    assert row["fields.important"] is True and row["fields.registered_capital"] == -1250.5
    assert row["fields.phone"] == "03118888888" and row["fields.address"] == "a\\tb\\N \\\\c \"q\" 'x' 第二行"
    assert _json.dumps(typed[2][0]) == '"' + typed[2][0] + '"'
