"""Scale (issue 20): crmctl's whole commands against plain-SQL baselines, SQLite and PostgreSQL, one run.

    python benchmarks/bench_scale.py                                   # 100 000 customers / 2 M records, both
    python benchmarks/bench_scale.py --backend sqlite --customers 10000 --records 200000   # a quick run
    python benchmarks/bench_scale.py --size large                      # 1 M / 20 M (opt-in: long, ~10 GB)
    python benchmarks/bench_scale.py --backend pg --jobs import,grade --pg-url postgresql+psycopg://postgres@HOST:5432

Run it with the checkout first on PYTHONPATH (``PYTHONPATH=. python benchmarks/bench_scale.py``): every
timed command is a separate process (``python -m crmctl`` with the same interpreter and PYTHONPATH),
start-up included, with CRMCTL_NOW=2026-11-22T10:00:00, CRMCTL_USER=admin, LANG=C.UTF-8.  Each side
works on its own copy of the same database (SQLite: a file copy; PostgreSQL: ``CREATE DATABASE …
TEMPLATE``), so both start from the same rows and end with the same rows and indexes.

Data (cached under benchmarks/data/, git-ignored, keyed by policy and size): a crmctl database with N
active customers and no usage records (``datagen.init_db`` + ``add_customers``), a ``volume import``
file of M records (``datagen.volume_csv``: one year, 2025-07-01 .. 2026-06-30).  PostgreSQL gets the
same database with ``crmctl db copy --to …/bench_scale_base_N`` (which verifies the counts); the
script creates and drops only databases named ``bench_scale_*``.

The jobs, in order (each starts from the state the previous one left, on both sides):

1. import -- crmctl ``volume import records.csv`` into the empty usage_record; plain on SQLite: a
   Python process with ``csv.reader`` + ``executemany``, the two indexes dropped first and created
   again at the end, one transaction (as benchmarks/bench_bulk_load.py); plain on PostgreSQL: one
   ``psql -1`` doing ``\\copy`` into a temporary staging table and one ``INSERT … SELECT`` joining
   customer on the code, run twice (each into a fresh copy): with the indexes kept, and with the
   secondary indexes dropped first and created again at the end; the faster is the baseline.
   Checked: same count and Σ qty on both sides.  The grading
   then starts, on both sides, from copies of the database crmctl imported into.
2. grade, grade again -- crmctl ``grade run --period half-year --label 2026-H1`` (the first
   grading: every current grade created; then a re-run of the same label: nothing moves) against
   one hand-written SQL script run the same way twice (sqlite3 CLI / ``psql -1 -f``): one aggregate
   of usage_record over the half-year per customer, the covered customers of each scale (its
   ``applies_to`` on segments, read from the policy), the grade by the policy's bands, one row per
   scale in grade_run, an upsert of the results into grade_result (the volume as metrics) and of the
   current grade into customer_grade (written only where it moves).  Not in the plain script: the
   audit entry (a hash chain), the document-expiry check, the owner check.  Checked: the same
   counts per (scale, grade) in customer_grade and the same number of results.
3. export -- crmctl ``customer list --format csv --output FILE`` against ``sqlite3 -csv -header``
   / ``psql \\copy (SELECT …) TO FILE csv header`` of the same columns from one query: code, name,
   status, the segments and fields out of their JSON, the owner's login, one current grade per
   scale, the stability word from the last purchase, created_at in the company's time zone, tax_id.
   The last purchase two ways, one after the other (``LAST_PURCHASE``: a grouped aggregate joined
   on, or a seek per customer as crmctl does); the faster is the baseline.  Checked: the same CSV,
   cell by cell, from both.
4. plan -- crmctl ``visit plan --month 2027-02`` against the raw insert floor (as
   benchmarks/bench_visit_plan.py): the activity rows crmctl wrote are copied out to a CSV (not
   timed) and loaded into the other copy (plain Python ``executemany`` on SQLite, ``psql -1``
   ``\\copy`` on PostgreSQL) with their plan run.  Checked: the same number of activities.

Between the jobs (untimed) both PostgreSQL copies are ANALYZEd, as autovacuum would have done before
the next cron job; ``--stale-stats`` leaves that out (the planner then still believes the template's
empty usage_record and customer_grade -- the state right after ``db copy`` and a bulk load with
autovacuum off or not caught up).  The work databases have fixed names (bench_scale_crmctl,
bench_scale_plain; SQLite: benchmarks/data/scale-sqlite/): one run at a time per server and folder.

Printed: one row per (backend, job): crmctl s, plain s, the ratio, the target (≤ 2 ×), crmctl's
peak RSS (os.wait4 of the child; the target is ≤ 200 MB on PostgreSQL), OK/MISSED.  Results are saved
as benchmarks/data/bench_scale-<size>.json; when both sizes have been run, the growth large/small of
each job is printed too (target 8-12 ×).  A failing command prints its stderr and stops the run.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import datagen  # noqa: E402
from benchmarks.bench_bulk_load import PLAIN as SQLITE_PLAIN_IMPORT  # noqa: E402

NOW = "2026-11-22T10:00:00"
NOW_UTC = "2026-11-22 02:00:00.000000"  # NOW in Asia/Shanghai as crmctl stores it (UTC)
SIZES = {"small": (100_000, 2_000_000), "large": (1_000_000, 20_000_000)}
JOBS = ("import", "grade", "export", "plan")
PERIOD, LABEL, MONTH = "half-year", "2026-H1", "2027-02"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432"
RATIO_TARGET, PG_MB_TARGET = 2.0, 200.0


class Failed(SystemExit):
    pass


# ----------------------------------------------------------------------------------------------
# Processes


def env() -> dict:
    e = {**os.environ, "CRMCTL_NOW": NOW, "CRMCTL_USER": "admin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return e


TIME = shutil.which("time", path="/usr/bin:/bin")  # GNU time: the child's own peak RSS


def run(argv: list[str], *, stdout: Path | None = None, what: str = "") -> tuple[float, float]:
    """Run one process; (wall seconds, peak RSS in MB of that process).  A failure shows its stderr
    and stops the benchmark.

    The peak comes from GNU time's %M where /usr/bin/time exists, else from os.wait4's ru_maxrss --
    which on Linux also counts the pages of this (large) parent process that the child shared
    between fork and exec, so without GNU time a small child shows this script's own size."""
    with tempfile.TemporaryDirectory() as tmp, (stdout.open("wb") if stdout else tempfile.TemporaryFile()) as out, \
            tempfile.TemporaryFile() as err:
        peak_file = Path(tmp) / "peak"
        full = [TIME, "-f", "%M", "-o", str(peak_file), *map(str, argv)] if TIME else list(map(str, argv))
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=out, stderr=err, env=env(), stdin=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(p.pid, 0)
        took = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace")
            if not stdout:
                out.seek(0)
                tail += out.read().decode("utf-8", "replace")[-4000:]
            print(f"\nFAILED ({p.returncode}) {what}: {' '.join(map(str, argv))}\n{tail}", file=sys.stderr)
            raise Failed(1)
        kb = usage.ru_maxrss
        if TIME:
            kb = int(peak_file.read_text().split()[-1])
    return took, kb / 1024  # kB


def crmctl(db: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "crmctl", "--db", db, *map(str, args)]


def check(ok: bool, what: str) -> None:
    if not ok:
        print(f"\nCHECK FAILED: {what}", file=sys.stderr)
        raise Failed(1)


# ----------------------------------------------------------------------------------------------
# The policy's grading, as plain SQL


def scale_sql(policy_name: str, dialect: str) -> list[tuple[str, str, str]]:
    """(scale code, covered-customers SELECT of ids, grade CASE over ``vol``) per half-year scale.
    Only what the built-in threshold policies use: ``applies_to`` on segments, no fixed grades, no
    step limit (else the plain script would not write the same results: refused)."""
    from crmctl.policies import load_policy

    policy, _ = load_policy(policy_name)
    out = []
    for code, sc in policy.grading.scales.items():
        if PERIOD not in sc.periods:
            continue
        cond = sc.applies_to
        if (sc.method != "threshold" or sc.aggregate != "sum" or sc.fixed or sc.step_limit or cond.not_segments
                or cond.fields or cond.grades or cond.status):
            raise SystemExit(f"the plain grading script does not cover scale {code} of {policy_name}")
        where = ["status = 'active'"]
        for key, values in cond.segments.items():
            get = f"json_extract(segments, '$.{key}')" if dialect == "sqlite" else f"(segments ->> '{key}')"
            where.append(f"{get} IN ({', '.join(repr(v) for v in values)})")
        bands = sorted(sc.bands, key=lambda b: b.min, reverse=True)
        case = "CASE " + " ".join(f"WHEN vol >= {b.min!r} THEN '{b.grade}'" for b in bands[:-1])
        case += f" ELSE '{bands[-1].grade}' END"
        out.append((code, f"SELECT id FROM customer WHERE {' AND '.join(where)}", case))
    return out


def grade_script(policy_name: str, dialect: str) -> str:
    """The hand-written grading run: both scales of the half-year in one transaction."""
    from crmctl.rules.periods import parse_label

    per = parse_label(LABEL)
    start, end = per.start.isoformat(), per.end.isoformat()
    pg = dialect == "postgresql"
    vol = "CAST(ROUND(CAST(SUM(qty) AS NUMERIC), 4) AS DOUBLE PRECISION)" if pg else "ROUND(SUM(qty), 4)"
    differs = "IS DISTINCT FROM" if pg else "IS NOT"
    # {"volume":1164.76}, as crmctl writes it (float8 text is the shortest exact form, like Python's repr)
    metrics = ("CAST('{\"volume\":' || CAST(g.vol AS TEXT) || CASE WHEN g.vol = FLOOR(g.vol) THEN '.0' ELSE '' END "
               "|| '}' AS JSON)") if pg else "json_object('volume', g.vol)"
    parts = [(f"SELECT {lit(code)} AS scale, c.id AS customer_id, COALESCE(v.vol, 0.0) AS vol FROM ({ids}) c "
              f"LEFT JOIN v ON v.customer_id = c.id", code, case) for code, ids, case in scale_sql(policy_name, dialect)]
    graded = " UNION ALL ".join(
        f"SELECT scale, customer_id, vol, {case} AS grade FROM ({sel}) x{i}" for i, (sel, _c, case) in enumerate(parts))
    sql = [] if pg else ["PRAGMA synchronous = normal;", "PRAGMA cache_size = -65536;", "BEGIN IMMEDIATE;"]
    stale = ("NOT EXISTS (SELECT 1 FROM plain_graded g WHERE g.scale = grade_result.scale "
             "AND g.customer_id = grade_result.customer_id)" if pg  # an anti-join
             else "(scale, customer_id) NOT IN (SELECT scale, customer_id FROM plain_graded)")  # an ephemeral index
    sql += [
        "DROP TABLE IF EXISTS plain_graded;",
        # every covered customer: the volume, the grade by the bands, the grade before this label (the
        # current one; none at the first grading)
        f"CREATE TEMP TABLE plain_graded AS WITH v AS (SELECT customer_id, {vol} AS vol FROM usage_record "
        f"WHERE day >= '{start}' AND day < '{end}' GROUP BY customer_id), "
        f"g AS ({graded}) SELECT g.*, cg.grade AS previous FROM g "
        f"LEFT JOIN customer_grade cg ON cg.customer_id = g.customer_id AND cg.scale = g.scale;",
        *(["ANALYZE plain_graded;"] if pg else []),
        f"INSERT INTO grade_run (scale, label, period_start, period_end, policy_version, started_at, finished_at, actor, "
        f"graded, changed) SELECT scale, '{LABEL}', '{start}', '{end}', (SELECT MAX(version) FROM policy_version), "
        f"'{NOW_UTC}', '{NOW_UTC}', 'admin', COUNT(*), SUM(CASE WHEN previous {differs} grade THEN 1 ELSE 0 END) "
        f"FROM plain_graded GROUP BY scale;",
        # a re-run: the results of customers no longer covered go
        f"DELETE FROM grade_result WHERE label = '{LABEL}' AND {stale};",
        # a re-run keeps the stored previous grade and rewrites only the rows that differ
        f"INSERT INTO grade_result (scale, label, policy_version, customer_id, grade, previous, metrics, reason) "
        f"SELECT g.scale, '{LABEL}', (SELECT MAX(version) FROM policy_version), g.customer_id, g.grade, g.previous, "
        f"{metrics}, '' FROM plain_graded g "
        f"WHERE true ON CONFLICT (scale, label, customer_id) DO UPDATE SET grade = excluded.grade, "
        f"metrics = excluded.metrics, reason = excluded.reason, policy_version = excluded.policy_version "
        f"WHERE grade_result.grade {differs} excluded.grade OR CAST(grade_result.metrics AS TEXT) {differs} "
        f"CAST(excluded.metrics AS TEXT);",
        # the current grade, written only where it moves
        f"INSERT INTO customer_grade (customer_id, scale, grade, label, since) SELECT customer_id, scale, grade, "
        f"'{LABEL}', '{NOW_UTC}' FROM plain_graded WHERE true ON CONFLICT (customer_id, scale) DO UPDATE SET "
        f"grade = excluded.grade, label = excluded.label, since = excluded.since "
        f"WHERE customer_grade.grade <> excluded.grade;",
        "DROP TABLE plain_graded;",
    ]
    if not pg:
        sql.append("COMMIT;")
    return "\n".join(sql) + "\n"


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: the two ways plain SQL finds each customer's last purchase: one grouped aggregate of every usage
#: record joined on, or a seek per customer to the end of its run in ix_usage_customer_day (crmctl's
#: way since 0.11.0); the export's baseline is the faster of the two, run one after the other
LAST_PURCHASE = ("grouped", "seek")


def export_sql(policy_name: str, dialect: str, last: str = "seek") -> str:
    """The columns of ``customer list --format csv`` from one SELECT: the stability word from the last
    purchase (``last``: one of LAST_PURCHASE), created_at in the company's zone (at its offset on NOW:
    no daylight saving assumed)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from crmctl.policies import load_policy
    from crmctl.rules.grading import NOT_YET_CUSTOMERS, lost_cutoff

    policy, _ = load_policy(policy_name)
    pg = dialect == "postgresql"
    tz = ZoneInfo(policy.policy.timezone)
    now = datetime.fromisoformat(NOW).replace(tzinfo=tz)
    off = now.utcoffset()
    hours = off.total_seconds() / 3600
    suffix = now.isoformat()[-6:]  # +08:00

    def jv(col: str, key: str) -> str:
        return f"({col} ->> '{key}')" if pg else f"json_extract({col}, '$.\"{key}\"')"

    source = "customer c"
    cols = ["c.code", "c.name", "c.status"]
    cols += [f"{jv('c.segments', s.key)} AS \"segments.{s.key}\"" for s in policy.segments]
    cols += [f"{jv('c.fields', f.key)} AS \"fields.{f.key}\"" for f in policy.fields]
    cols.append("s.login AS owner")
    joins = ["JOIN staff s ON s.id = c.owner_id"]
    for i, code in enumerate(policy.grading.scales if policy.grading else {}):
        cols.append(f"g{i}.grade AS \"grades.{code}\"")
        joins.append(f"LEFT JOIN customer_grade g{i} ON g{i}.customer_id = c.id AND g{i}.scale = {lit(code)}")
    if policy.stability is not None:
        cutoff = lost_cutoff(now.date(), policy.stability.lost_after_months).isoformat()
        not_yet = ", ".join(map(lit, NOT_YET_CUSTOMERS))
        lp = "c.last" if last == "seek" else "lp.last"
        cols.append(f"CASE WHEN c.status IN ({not_yet}) OR {lp} IS NULL THEN 'potential' "
                    f"WHEN {lp} < '{cutoff}' THEN 'lost' ELSE 'existing' END AS stability")
        if last == "seek":
            # (OFFSET 0: PostgreSQL would otherwise pull the subquery up and seek twice, once per CASE arm)
            source = ("(SELECT customer.*, (SELECT MAX(day) FROM usage_record u WHERE u.customer_id = customer.id) "
                      f"AS last FROM customer{' OFFSET 0' if pg else ''}) c")
        else:
            joins.append("LEFT JOIN (SELECT customer_id, MAX(day) AS last FROM usage_record GROUP BY customer_id) lp "
                         "ON lp.customer_id = c.id")
    if pg:
        cols.append(f"to_char(c.created_at + interval '{hours:g} hours', 'YYYY-MM-DD\"T\"HH24:MI:SS') || '{suffix}' "
                    "AS created_at")
    else:
        cols.append(f"strftime('%Y-%m-%dT%H:%M:%S', c.created_at, '{hours:+g} hours') || '{suffix}' AS created_at")
    cols.append("c.tax_id")
    return f"SELECT {', '.join(cols)} FROM {source} {' '.join(joins)} ORDER BY c.code"


def same_csv(a: Path, b: Path) -> tuple[int, int, str]:
    """(rows of a, rows of b, the first row that differs or '')."""
    first = ""
    with a.open(encoding="utf-8", newline="") as fa, b.open(encoding="utf-8", newline="") as fb:
        ra, rb = csv.reader(fa), csv.reader(fb)
        next(ra, None), next(rb, None)  # the headings
        na = nb = 0
        for x, y in zip(ra, rb):
            na += 1
            nb += 1
            if x != y and not first:
                first = f"{x} != {y}"
        na += sum(1 for _ in ra)
        nb += sum(1 for _ in rb)
    return na, nb, first


SQLITE_PLAIN_PLAN = r"""
import csv, sqlite3, sys
db, path, run = sys.argv[1], sys.argv[2], sys.argv[3].split("\t")
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("pragma synchronous=normal"); conn.execute("pragma foreign_keys=on")
conn.execute("begin immediate")
conn.execute("insert into activity_plan_run(id, month, owner_id, planned, at, actor) values (?,?,?,?,?,?)",
             [v if v != "" else None for v in run])
with open(path, encoding="utf-8", newline="") as fh:
    r = csv.reader(fh); cols = next(r)
    conn.executemany(f"insert into activity ({', '.join(cols)}) values ({', '.join('?' * len(cols))}) "
                     "on conflict (cadence_key) do nothing", ([v if v != "" else None for v in row] for row in r))
conn.execute("commit")
"""

PLAN_COLS = "customer_id, kind, due_date, owner_id, status, planned_by, cadence_key, plan_note, created_at"


# ----------------------------------------------------------------------------------------------
# Backends


class Sqlite:
    name = "sqlite"
    dialect = "sqlite"

    def __init__(self, args, base: Path, records: Path):
        self.args, self.base, self.records = args, base, records
        self.dir = datagen.DATA / "scale-sqlite"
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, db: str) -> Path:
        return self.dir / f"{db}.db"

    def url(self, db: str) -> str:
        return str(self.path(db))

    def clone(self, src: str | None, dest: str) -> None:
        datagen.copy_db(self.base if src is None else self.path(src), self.path(dest))

    def drop(self, db: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path(db)) + suffix).unlink(missing_ok=True)

    def query(self, db: str, sql: str) -> list[tuple]:
        conn = sqlite3.connect(self.path(db))
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def settle(self, *dbs: str) -> None:
        """Between jobs (untimed): nothing on SQLite (crmctl keeps no statistics there)."""

    def plain_import(self, db: str) -> tuple[float, float]:
        return run([sys.executable, "-c", SQLITE_PLAIN_IMPORT, str(self.path(db)), str(self.records)], what="plain import")

    def plain_imports(self, db: str) -> dict[str, tuple[float, float]]:
        return {"rebuilt": self.plain_import(db)}

    def plain_grade(self, db: str, script: Path) -> tuple[float, float]:
        return run(["sqlite3", "-bail", str(self.path(db)), f".read {script}"], what="plain grade")

    def plain_export(self, db: str, sql: str, out: Path) -> tuple[float, float]:
        return run(["sqlite3", "-csv", "-header", str(self.path(db)), sql], stdout=out, what="plain export")

    def dump_plan(self, db: str, out: Path) -> list[str]:
        conn = sqlite3.connect(self.path(db))
        try:
            run_row = conn.execute("select id, month, owner_id, planned, at, actor from activity_plan_run "
                                   "order by id desc limit 1").fetchone()
            with out.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(PLAN_COLS.split(", "))
                w.writerows(["" if v is None else v for v in r] for r in conn.execute(
                    f"select {PLAN_COLS} from activity where planned_by = ?", (run_row[0],)))
        finally:
            conn.close()
        return ["" if v is None else str(v) for v in run_row]

    def plain_plan(self, db: str, path: Path, run_row: list[str]) -> tuple[float, float]:
        return run([sys.executable, "-c", SQLITE_PLAIN_PLAN, str(self.path(db)), str(path), "\t".join(run_row)],
                   what="plain plan")


class Postgres:
    name = "pg"
    dialect = "postgresql"

    def __init__(self, args, base: Path, records: Path):
        self.args, self.records = args, records
        self.server = args.pg_url.rstrip("/")
        self.base_db = f"bench_scale_base_{args.policy.replace('-', '_')}_{args.customers}"
        self._ensure_base(base)

    def url(self, db: str) -> str:
        return f"{self.server}/{db}"

    def libpq(self, db: str) -> str:
        return self.url(db).replace("postgresql+psycopg://", "postgresql://").replace("postgresql+psycopg2://",
                                                                                      "postgresql://")

    def admin(self, sql: str) -> list[tuple]:
        p = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", self.libpq("postgres"), "-c", sql],
                           capture_output=True, text=True)
        if p.returncode:
            raise SystemExit(f"psql failed: {sql}\n{p.stderr}")
        return [tuple(line.split("|")) for line in p.stdout.splitlines() if line]

    def exists(self, db: str) -> bool:
        return bool(self.admin(f"SELECT 1 FROM pg_database WHERE datname = '{db}'"))

    def _ensure_base(self, sqlite_base: Path) -> None:
        if self.args.regenerate:
            self.drop(self.base_db)
        if self.exists(self.base_db):
            n = self.query(self.base_db, "SELECT count(*) FROM customer")[0][0]
            if int(n) == self.args.customers:
                return
            self.drop(self.base_db)
        print(f"  pg: copying {sqlite_base.name} to {self.base_db} (crmctl db copy) …", flush=True)
        self.admin(f'CREATE DATABASE "{self.base_db}"')
        try:
            run(crmctl(str(sqlite_base), "db", "copy", "--to", self.url(self.base_db)), what="db copy")
        except Failed:
            self.drop(self.base_db)
            raise
        self.query(self.base_db, "ANALYZE")

    def clone(self, src: str | None, dest: str) -> None:
        assert dest.startswith("bench_scale_")
        self.drop(dest)
        self.admin(f'CREATE DATABASE "{dest}" TEMPLATE "{src or self.base_db}"')

    def drop(self, db: str) -> None:
        assert db.startswith("bench_scale_")
        self.admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')

    def query(self, db: str, sql: str) -> list[tuple]:
        p = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", self.libpq(db), "-c", sql],
                           capture_output=True, text=True)
        if p.returncode:
            raise SystemExit(f"psql failed: {sql}\n{p.stderr}")
        return [tuple(line.split("|")) for line in p.stdout.splitlines() if line]

    def settle(self, *dbs: str) -> None:
        """Between jobs, untimed, on both sides: ANALYZE, as autovacuum would have done by the next
        cron job (unless --stale-stats: the planner then works from the template's statistics)."""
        if not self.args.stale_stats:
            for db in dbs:
                self.query(db, "ANALYZE")

    def psql_file(self, db: str, script: Path, what: str) -> tuple[float, float]:
        return run(["psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", self.libpq(db), "-f", str(script)],
                   what=what)

    def plain_import(self, db: str, rebuild: bool = False) -> tuple[float, float]:
        """``rebuild``: the secondary indexes dropped first and created again after the insert, in
        the same transaction (as crmctl does since 0.11.0 for a load bigger than the table)."""
        indexes = self.query(db, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'usage_record' "
                                 "AND schemaname = current_schema() AND indexdef NOT LIKE 'CREATE UNIQUE%'")
        script = work_file("pg-import.sql")
        script.write_text(
            "".join(f"DROP INDEX {name};\n" for name, _d in indexes if rebuild)
            + "CREATE TEMP TABLE stage (customer text, day date, qty double precision, product text, "
            "amount double precision) ON COMMIT DROP;\n"
            f"\\copy stage (customer, day, qty, product, amount) from '{self.records}' csv header\n"
            "INSERT INTO usage_record (customer_id, day, qty, product, amount, import_id) SELECT c.id, s.day, s.qty, "
            "NULLIF(s.product, ''), s.amount, 1 FROM stage s JOIN customer c ON c.code = s.customer;\n"
            + "".join(f"{definition};\n" for _n, definition in indexes if rebuild))
        return self.psql_file(db, script, "plain import")

    def plain_imports(self, db: str) -> dict[str, tuple[float, float]]:
        """Both plain loads, each into a fresh copy of the base (the indexes kept, and rebuilt)."""
        out = {"kept": self.plain_import(db)}
        self.drop(db)
        self.clone(None, db)
        out["rebuilt"] = self.plain_import(db, rebuild=True)
        return out

    def plain_grade(self, db: str, script: Path) -> tuple[float, float]:
        return self.psql_file(db, script, "plain grade")

    def plain_export(self, db: str, sql: str, out: Path) -> tuple[float, float]:
        return run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.libpq(db), "-c",
                    f"\\copy ({sql}) to '{out}' csv header"], what="plain export")

    def dump_plan(self, db: str, out: Path) -> list[str]:
        run_row = self.query(db, "SELECT id, month, owner_id, planned, at, actor FROM activity_plan_run "
                                 "ORDER BY id DESC LIMIT 1")[0]
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.libpq(db), "-c",
                        f"\\copy (SELECT {PLAN_COLS} FROM activity WHERE planned_by = {run_row[0]}) to '{out}' csv header"],
                       check=True)
        return list(run_row)

    def plain_plan(self, db: str, path: Path, run_row: list[str]) -> tuple[float, float]:
        rid, month, owner, planned, at, actor = run_row
        script = work_file("pg-plan.sql")
        script.write_text(
            f"INSERT INTO activity_plan_run (id, month, owner_id, planned, at, actor) VALUES ({rid}, {lit(month)}, "
            f"{owner or 'NULL'}, {planned}, {lit(at)}, {lit(actor)});\n"
            f"\\copy activity ({PLAN_COLS}) from '{path}' csv header\n")
        return self.psql_file(db, script, "plain plan")


def work_file(name: str) -> Path:
    d = datagen.DATA / "scale-work"
    d.mkdir(parents=True, exist_ok=True)
    return d / name


# ----------------------------------------------------------------------------------------------
# The jobs


def bench_backend(b, args) -> tuple[list[dict], float]:
    rows: list[dict] = []
    C, P, IMPORTED = "bench_scale_crmctl", "bench_scale_plain", "bench_scale_imported"

    def add(job: str, c: tuple[float, float], p: tuple[float, float], note: str = "") -> None:
        row = {"backend": b.name, "job": job, "crmctl_s": c[0], "plain_s": p[0], "crmctl_mb": c[1], "plain_mb": p[1],
               "note": note}
        rows.append(row)
        print(f"  {b.name:6} {job:10} crmctl {c[0]:8.2f} s {c[1]:6.0f} MB   plain {p[0]:8.2f} s   "
              f"{c[0] / p[0]:5.2f} ×  {note}", flush=True)

    def one(db: str, sql: str):
        return b.query(db, sql)[0]

    jobs = args.jobs
    b.clone(None, C)
    b.clone(None, P)
    start = min(run(crmctl(b.url(C), "customer", "list", "--limit", "1", "--format", "csv"), what="start-up")[0]
                for _ in range(3))
    print(f"  {b.name:6} crmctl start-up (customer list --limit 1, best of 3): {start:.2f} s", flush=True)
    if "import" in jobs or any(j in jobs for j in ("grade", "export", "plan")):
        c = run(crmctl(b.url(C), "volume", "import", b.records), what="crmctl volume import")
        want = one(C, "SELECT count(*), ROUND(CAST(SUM(qty) AS NUMERIC), 2) FROM usage_record")
        check(int(want[0]) == args.records, f"crmctl imported {want[0]} records, not {args.records}")
        if "import" in jobs:
            # the faster plain load is the baseline (PostgreSQL: with its indexes kept, and rebuilt),
            # each checked against crmctl's rows
            plains = {}
            for way, timed in b.plain_imports(P).items():
                plains[way] = timed
                got = one(P, "SELECT count(*), ROUND(CAST(SUM(qty) AS NUMERIC), 2) FROM usage_record")
                check(tuple(map(str, got)) == tuple(map(str, want)), f"import ({way}): crmctl {want} != plain {got}")
            p = min(plains.values())
            ways = "; plain with the indexes " + ", ".join(f"{w} {t:.1f} s" for w, (t, _m) in plains.items())
            add("import", c, p, f"{args.records:,} rows, Σ qty equal" + (ways if len(plains) > 1 else ""))
    b.settle(C)
    if not any(j in jobs for j in ("grade", "export", "plan")):
        return rows, start
    # the grading starts from what crmctl imported, on both sides
    b.clone(C, IMPORTED)
    b.clone(IMPORTED, P)
    b.drop(IMPORTED)
    script = work_file(f"grade-{b.name}.sql")
    script.write_text(grade_script(args.policy, b.dialect))
    grade_argv = crmctl(b.url(C), "grade", "run", "--period", PERIOD, "--label", LABEL, "--format", "json")
    counts = ("SELECT scale, grade, count(*) FROM customer_grade GROUP BY scale, grade ORDER BY scale, grade")
    for job in ("grade", "grade again"):
        c = run(grade_argv, what="crmctl grade run")
        p = b.plain_grade(P, script)
        want, got = b.query(C, counts), b.query(P, counts)
        check([tuple(map(str, r)) for r in want] == [tuple(map(str, r)) for r in got],
              f"customer_grade per grade: crmctl {want} != plain {got}")
        nres = [one(x, f"SELECT count(*) FROM grade_result WHERE label = '{LABEL}'")[0] for x in (C, P)]
        check(str(nres[0]) == str(nres[1]), f"grade_result rows: crmctl {nres[0]} != plain {nres[1]}")
        # the results themselves (untimed): grade, previous grade, metrics of every customer
        results = ("SELECT scale, customer_id, grade, previous, CAST(metrics AS TEXT), policy_version FROM grade_result "
                   f"WHERE label = '{LABEL}'")
        differ = len(set(b.query(C, results)) ^ set(b.query(P, results))) // 2
        b.settle(C, P)
        if "grade" in jobs:
            add(job, c, p, f"{int(nres[0]):,} results, same grade counts, "
                           + (f"{differ:,} results DIFFER" if differ else "the same results"))
    if "export" in jobs:
        outs = work_file(f"export-{b.name}-crmctl.csv"), work_file(f"export-{b.name}-plain.csv")
        c = run(crmctl(b.url(C), "customer", "list", "--format", "csv", "--output", outs[0]), what="crmctl customer list")
        plains = {}
        for way in LAST_PURCHASE:  # the faster plain query is the baseline; both must give crmctl's rows
            plains[way] = b.plain_export(P, export_sql(args.policy, b.dialect, way), outs[1])
            na, nb, first = same_csv(*outs)
            check(na == nb == args.customers, f"export rows: crmctl {na}, plain ({way}) {nb}, customers {args.customers}")
            if first:
                break
        way = min(plains, key=lambda w: plains[w][0])
        p = plains[way]
        ways = ", ".join(f"{w} {t:.2f} s" for w, (t, _m) in plains.items())
        note = (f"{na:,} rows, the same; plain's last purchase: {ways}" if not first
                else f"{na:,} rows; DIFFER, first: {first}")
        add("export", c, p, note)
    if "plan" in jobs:
        c = run(crmctl(b.url(C), "visit", "plan", "--month", MONTH, "--format", "json"), what="crmctl visit plan")
        dump = work_file(f"plan-{b.name}.csv")
        run_row = b.dump_plan(C, dump)
        p = b.plain_plan(P, dump, run_row)
        n = [int(one(x, "SELECT count(*) FROM activity WHERE planned_by IS NOT NULL")[0]) for x in (C, P)]
        check(n[0] == n[1] > 0, f"activities: crmctl {n[0]}, plain {n[1]}")
        add("plan", c, p, f"{n[0]:,} activities")
    if not args.keep:
        b.drop(C)
        b.drop(P)
    return rows, start


# ----------------------------------------------------------------------------------------------
# Report


def verdict(r: dict) -> tuple[str, str]:
    ratio = r["crmctl_s"] / r["plain_s"] if r["plain_s"] else float("inf")
    ok = ratio <= RATIO_TARGET and (r["backend"] != "pg" or r["crmctl_mb"] <= PG_MB_TARGET)
    target = f"≤ {RATIO_TARGET:g} ×" + (f", ≤ {PG_MB_TARGET:.0f} MB" if r["backend"] == "pg" else "")
    return target, "OK" if ok else "MISSED"


def table(rows: list[dict]) -> str:
    head = "| backend | job | crmctl s | plain s | ratio | target | crmctl peak MB | plain peak MB | verdict | checked |"
    lines = [head, "|---|---|--:|--:|--:|---|--:|--:|---|---|"]
    for r in rows:
        target, ok = verdict(r)
        lines.append(f"| {r['backend']} | {r['job']} | {r['crmctl_s']:.2f} | {r['plain_s']:.2f} | "
                     f"{r['crmctl_s'] / r['plain_s']:.2f} × | {target} | {r['crmctl_mb']:.0f} | {r['plain_mb']:.0f} | "
                     f"{ok} | {r['note']} |")
    return "\n".join(lines)


def growth(small: dict, large: dict) -> str:
    by = {(r["backend"], r["job"]): r for r in small["rows"]}
    lines = [f"growth {large['customers']:,}/{large['records']:,} over {small['customers']:,}/{small['records']:,} "
             "(target 8-12 ×; 'less start-up': crmctl's times less its start-up alone at each size):",
             "| backend | job | crmctl × | crmctl less start-up × | plain × | | crmctl peak MB, small → large |",
             "|---|---|--:|--:|--:|---|---|"]
    for r in large["rows"]:
        s = by.get((r["backend"], r["job"]))
        if s is None:
            continue
        g = r["crmctl_s"] / s["crmctl_s"]
        up_s, up_l = small.get("startup_s", {}).get(r["backend"]), large.get("startup_s", {}).get(r["backend"])
        net = (f"{(r['crmctl_s'] - up_l) / (s['crmctl_s'] - up_s):.1f}"
               if up_s is not None and up_l is not None and s["crmctl_s"] > up_s else "—")
        lines.append(f"| {r['backend']} | {r['job']} | {g:.1f} | {net} | {r['plain_s'] / s['plain_s']:.1f} | "
                     f"{'OK' if 8 <= g <= 12 else ('better' if g < 8 else 'MISSED')} | "
                     f"{s['crmctl_mb']:.0f} → {r['crmctl_mb']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=("sqlite", "pg", "both"), default="both")
    ap.add_argument("--size", choices=tuple(SIZES), default="small",
                    help="small: 100 000 customers / 2 M records; large: 1 M / 20 M (opt-in)")
    ap.add_argument("--customers", type=int, help="instead of --size")
    ap.add_argument("--records", type=int, help="instead of --size")
    ap.add_argument("--policy", default="fuel-retail")
    ap.add_argument("--pg-url", default=os.environ.get("CRMCTL_BENCH_PG", PG_DEFAULT),
                    help="PostgreSQL server (no database): the script creates bench_scale_* databases there")
    ap.add_argument("--jobs", default=",".join(JOBS), help="some of " + ",".join(JOBS))
    ap.add_argument("--stale-stats", action="store_true",
                    help="PostgreSQL: no ANALYZE between the jobs (as right after a bulk write with autovacuum "
                         "off or not caught up yet)")
    ap.add_argument("--data", type=Path, default=datagen.DATA,
                    help="where the generated files, work copies and results go (default benchmarks/data)")
    ap.add_argument("--regenerate", action="store_true",
                    help="build the cached data again (the SQLite base, the records file, PostgreSQL's base copy)")
    ap.add_argument("--keep", action="store_true", help="keep the work databases (bench_scale_crmctl, _plain)")
    args = ap.parse_args()
    args.jobs = [j.strip() for j in args.jobs.split(",") if j.strip()]
    bad = [j for j in args.jobs if j not in JOBS]
    if bad:
        ap.error(f"unknown jobs {bad}: choose from {','.join(JOBS)}")
    custom = args.customers is not None or args.records is not None
    n_c, n_r = SIZES[args.size]
    args.customers = args.customers or n_c
    args.records = args.records or n_r
    size = f"{args.customers}-{args.records}" if custom else args.size
    for tool in ("sqlite3", "psql"):
        if shutil.which(tool) is None and (tool == "sqlite3" or args.backend != "sqlite"):
            raise SystemExit(f"{tool} is needed on PATH")

    os.environ["CRMCTL_NOW"] = NOW
    datagen.DATA = args.data.resolve()
    datagen.compile_crmctl()
    datagen.DATA.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    base = datagen.DATA / f"scale-{args.policy}-{args.customers}.db"
    records = datagen.DATA / f"scale-records-{args.customers}-{args.records}.csv"
    if args.regenerate:
        for f in (base, records):
            f.unlink(missing_ok=True)
    if not base.exists():
        print(f"  generating {args.customers:,} customers …", flush=True)
        tmp = base.with_suffix(".tmp.db")
        datagen.init_db(tmp, args.policy)
        datagen.add_customers(tmp, args.customers, args.policy)
        datagen.copy_db(tmp, base)
        for suffix in ("", "-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
    if not records.exists():
        print(f"  generating {args.records:,} records …", flush=True)
        tmp = records.with_suffix(".tmp")
        datagen.volume_csv(tmp, args.records, args.customers)
        tmp.rename(records)
    print(f"{args.customers:,} customers, {args.records:,} records, policy {args.policy} "
          f"(data ready in {time.perf_counter() - t0:.0f} s)", flush=True)

    rows: list[dict] = []
    starts: dict[str, float] = {}
    for cls in [Sqlite, Postgres]:
        if args.backend in (cls.name, "both"):
            got, starts[cls.name] = bench_backend(cls(args, base, records), args)
            rows += got
    result = {"size": size, "customers": args.customers, "records": args.records, "policy": args.policy,
              "at": time.strftime("%Y-%m-%d %H:%M"), "startup_s": starts, "rows": rows}
    saved = datagen.DATA / f"bench_scale-{size}.json"
    if saved.exists() and saved.stat().st_size:  # keep the other backend's rows of an earlier run
        old = json.loads(saved.read_text())
        if (old.get("customers"), old.get("records"), old.get("policy")) == (args.customers, args.records, args.policy):
            done = {(r["backend"], r["job"]) for r in rows}
            result["rows"] = [r for r in old["rows"] if (r["backend"], r["job"]) not in done] + rows
            result["startup_s"] = {**old.get("startup_s", {}), **starts}
    saved.write_text(json.dumps(result, indent=1))
    print()
    print(f"{args.customers:,} customers / {args.records:,} records, {args.policy} "
          f"({sys.version.split()[0]}, whole processes, start-up included)")
    print(table(rows))
    print("crmctl start-up alone (customer list --limit 1): "
          + ", ".join(f"{k} {v:.2f} s" for k, v in starts.items()))
    files = {s: datagen.DATA / f"bench_scale-{s}.json" for s in SIZES}
    if all(f.exists() for f in files.values()):
        print()
        print(growth(json.loads(files["small"].read_text()), json.loads(files["large"].read_text())))


if __name__ == "__main__":
    try:
        main()
    except Failed as exc:
        sys.exit(exc.code)
