"""The first bulk load of usage records on SQLite: ``crmctl volume import`` against a plain load.

    python benchmarks/bench_bulk_load.py                        # 100 000 customers, 2 000 000 records
    python benchmarks/bench_bulk_load.py --records 200000       # quicker

Both start from the same copy of a database with the customers and no usage records, and end with
the same rows and the same two secondary indexes of ``usage_record``:

* crmctl: ``crmctl volume import records.csv`` (a whole process: every row checked, all or nothing;
  a load at least as big as the table drops the indexes and builds them again at the end,
  ``crmctl.db.bulk_load``) -- and, for comparison, the same import with the index rebuild switched
  off (``CRMCTL_BENCH_NO_BULK=1`` makes this script patch ``BULK_MIN_ROWS`` out of reach);
* plain: a separate Python process reading the CSV with ``csv.reader`` and ``executemany`` into the
  table without its indexes, then ``CREATE INDEX`` for both, one transaction.

Target (issue 20): crmctl ≤ 2 × the plain load-then-index baseline.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import datagen  # noqa: E402
from benchmarks.bench_reports import NOW  # noqa: E402

PLAIN = r"""
import csv, sqlite3, sys
db, path = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("pragma journal_mode=wal"); conn.execute("pragma synchronous=normal")
indexes = conn.execute("select name, sql from sqlite_master where type='index' and tbl_name='usage_record' "
                       "and sql is not null").fetchall()
conn.execute("begin immediate")
for name, _sql in indexes:
    conn.execute(f'drop index "{name}"')
ids = dict(conn.execute("select code, id from customer"))
with open(path, encoding="utf-8", newline="") as fh:
    r = csv.reader(fh); next(r)
    conn.executemany("insert into usage_record(customer_id, day, qty, product, amount, import_id) values (?,?,?,?,?,1)",
                     ((ids[c], d, float(q), p or None, float(a) if a else None) for c, d, q, p, a in r))
for _name, sql in indexes:
    conn.execute(sql)
conn.execute("commit")
"""

NO_BULK = "import crmctl.db_bulk as d; d.BULK_MIN_ROWS = 10**12; from crmctl.cli import main; main()"


def run(argv: list[str], env: dict | None = None) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(argv, env={**os.environ, "CRMCTL_NOW": NOW, "CRMCTL_USER": "admin", **(env or {})},
                       capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"{' '.join(argv[:6])} … failed: {p.stderr}")
    return time.perf_counter() - t0


def summary(db: Path) -> tuple:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("select count(*), round(sum(qty), 2) from usage_record").fetchone()
        idx = sorted(r[0] for r in conn.execute("select sql from sqlite_master where type='index' "
                                                "and tbl_name='usage_record' and sql is not null"))
        return rows, idx
    finally:
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--policy", default="fuel-retail")
    args = ap.parse_args()
    datagen.compile_crmctl()
    datagen.DATA.mkdir(exist_ok=True)
    base = datagen.DATA / f"bulk-{args.policy}-{args.customers}.db"
    if not base.exists():
        os.environ["CRMCTL_NOW"] = NOW
        datagen.init_db(base, args.policy)
        datagen.add_customers(base, args.customers, args.policy)
    records = datagen.DATA / f"bulk-records-{args.customers}-{args.records}.csv"
    if not records.exists():
        datagen.volume_csv(records, args.records, args.customers)
    work = datagen.DATA / "bulk-work.db"
    results = {}
    for name, argv, env in [
        ("crmctl volume import", [sys.executable, "-m", "crmctl.cli", "--db", str(work), "volume", "import", str(records)], None),
        ("crmctl, indexes kept", [sys.executable, "-c", NO_BULK, "--db", str(work), "volume", "import", str(records)], None),
        ("plain load, then index", [sys.executable, "-c", PLAIN, str(work), str(records)], None),
    ]:
        datagen.copy_db(base, work)
        results[name] = (run(argv, env), summary(work))
    first = next(iter(results.values()))[1]
    same = all(r[1] == first for r in results.values())
    plain = results["plain load, then index"][0]
    print(f"{args.records} records for {args.customers} customers ({args.policy}), into an empty usage_record:")
    for name, (t, _s) in results.items():
        print(f"  {name:26} {t:7.2f} s   {t / plain:5.2f} × plain")
    ratio = results["crmctl volume import"][0] / plain
    print(f"  same rows and indexes at the end: {same}; target crmctl <= 2 x plain: {'met' if ratio <= 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
