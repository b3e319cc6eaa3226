"""Grading and volume import against the raw-SQL limit.

    python benchmarks/bench_grading.py                       # 100 000 customers, 2 000 000 records
    python benchmarks/bench_grading.py --customers 10000 --records 200000   # a quick run

For each size (by default 25 %, 50 % and 100 % of --records, to show linear growth):

* ``volume import``: the service (streaming csv + executemany in chunks, one transaction, customer
  codes resolved by one query, every cell validated) against a plain loader: ``csv.reader`` + a
  code -> id dict + ``sqlite3.executemany`` of the same file into the same table (same indexes).
* ``grade run``: the service (``grade_customers``: document check, covered customers, the aggregate,
  step-limit baselines, results with metrics, current grades, owners by grade) against plain sqlite3:
  one GROUP BY over the covering index for the period, then one insert of the results.  Timed three
  times: the first grading ever (every customer's current grade is created), the next review (the
  usual cron run: only grades that move are written to the current grade), and a re-run of it.

Both sides start from a copy of the same database.  Targets: each ratio ≤ 2.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import os
import sqlite3
import statistics
import sys
import time
from bisect import bisect_right
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import datagen  # noqa: E402

NOW = "2026-11-22T10:00:00"


def _app(path: Path):
    from crmctl.services.app import Settings, open_app

    return open_app(Settings(db=str(path), actor="admin"))


# ----------------------------------------------------------------------------------------------
# volume import


def plain_import(db: Path, csv_path: Path) -> int:
    conn = sqlite3.connect(db)
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=normal")
    ids = dict(conn.execute("select code, id from customer"))
    n = 0
    with csv_path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        buf = []
        for code, day, qty, product, amount in reader:
            buf.append((ids[code], day, float(qty), product or None, float(amount) if amount else None))
            if len(buf) >= 20000:
                conn.executemany("insert into usage_record(customer_id, day, qty, product, amount) values (?,?,?,?,?)", buf)
                n += len(buf)
                buf = []
        conn.executemany("insert into usage_record(customer_id, day, qty, product, amount) values (?,?,?,?,?)", buf)
        n += len(buf)
    conn.commit()
    conn.close()
    return n


def service_import(db: Path, csv_path: Path) -> int:
    from crmctl.services.volumes import import_volumes

    app = _app(db)
    try:
        return import_volumes(app, csv_path)["imported"]
    finally:
        app.close()


# ----------------------------------------------------------------------------------------------
# grade run


def plain_grade(db: Path, start: str, end: str, mins: list[float], grades: list[str], label: str = "2026-H1") -> int:
    conn = sqlite3.connect(db)
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=normal")
    conn.execute("create table if not exists plain_result (customer_id integer, scale text, label text, grade text, "
                 "volume real, primary key (scale, label, customer_id))")
    rows = conn.execute("select customer_id, sum(qty) from usage_record where day >= ? and day < ? "
                        "group by customer_id", (start, end)).fetchall()
    out = [(cid, "big", label, grades[max(bisect_right(mins, v) - 1, 0)], v) for cid, v in rows]
    conn.executemany("insert into plain_result values (?,?,?,?,?)", out)
    conn.commit()
    conn.close()
    return len(out)


def service_grade(db: Path, period: str, label: str) -> int:
    from crmctl.services.grading import grade_customers

    app = _app(db)
    try:
        return sum(s["graded"] for s in grade_customers(app, period, label))
    finally:
        app.close()


def timed(fn, *args):
    t = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--steps", type=str, default="0.25,0.5,1", help="fractions of --records to time (linear growth)")
    ap.add_argument("--policy", default="fuel-retail", help="a policy whose scales use aggregate = 'sum' by half-year")
    ap.add_argument("--label", default="2026-H1")
    ap.add_argument("--skip-import", action="store_true")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of the grading timings (medians)")
    args = ap.parse_args()
    datagen.compile_crmctl()
    os.environ["CRMCTL_NOW"] = NOW
    data = datagen.DATA
    data.mkdir(parents=True, exist_ok=True)

    from crmctl.policies import load_policy
    from crmctl.rules.periods import parse_label

    policy, _ = load_policy(args.policy)
    scale = next(iter(policy.grading.scales.values()))
    mins, grades = [b.min for b in scale.bands], [b.grade for b in scale.bands]
    per = parse_label(args.label)

    print(f"{args.customers:,} customers, policy {args.policy}, grading {args.label} ({per.kind})")
    base = data / "grading-base.db"
    datagen.init_db(base, args.policy)
    datagen.add_customers(base, args.customers, args.policy)
    print(f"{'records':>10}  {'step':<14} {'crmctl s':>9} {'plain s':>8} {'ratio':>6}")
    for frac in [float(x) for x in args.steps.split(",")]:
        n = int(args.records * frac)
        if not args.skip_import:
            csv_path = datagen.volume_csv(data / f"volumes-{n}.csv", n, args.customers)
            a = datagen.copy_db(base, data / "import-service.db")
            b = datagen.copy_db(base, data / "import-plain.db")
            ts, got = timed(service_import, a, csv_path)
            tp, want = timed(plain_import, b, csv_path)
            assert got == want == n, (got, want, n)
            print(f"{n:>10,}  {'volume import':<14} {ts:>9.2f} {tp:>8.2f} {ts / tp:>6.2f}", flush=True)
        graded = data / "grade-src.db"
        datagen.copy_db(base, graded)
        datagen.add_volumes(graded, n, args.customers)
        first = per.previous()
        runs = {k: [] for k in ("plain1", "plain2", "first", "review", "rerun")}
        for _ in range(args.reps):  # medians: the machine may be busy with other work
            # plain: the same aggregate and one insert of the results, for each label, on fresh copies
            b = datagen.copy_db(graded, data / "grade-plain.db")
            runs["plain1"].append(timed(plain_grade, b, first.start.isoformat(), first.end.isoformat(), mins, grades,
                                        first.label))
            b = datagen.copy_db(graded, data / "grade-plain.db")
            runs["plain2"].append(timed(plain_grade, b, per.start.isoformat(), per.end.isoformat(), mins, grades,
                                        per.label))
            a = datagen.copy_db(graded, data / "grade-service.db")
            runs["first"].append(timed(service_grade, a, per.kind, first.label))
            runs["review"].append(timed(service_grade, a, per.kind, args.label))
            runs["rerun"].append(timed(service_grade, a, per.kind, args.label))
        med = {k: statistics.median(t for t, _ in v) for k, v in runs.items()}
        got, want = runs["review"][0][1], runs["plain2"][0][1]
        print(f"{n:>10,}  {'grade run 1st':<14} {med['first']:>9.2f} {med['plain1']:>8.2f} "
              f"{med['first'] / med['plain1']:>6.2f}   ({first.label}: first ever, every current grade created)")
        print(f"{n:>10,}  {'grade run':<14} {med['review']:>9.2f} {med['plain2']:>8.2f} "
              f"{med['review'] / med['plain2']:>6.2f}   ({args.label}: the next review, {got:,} graded; plain {want:,} rows)")
        print(f"{n:>10,}  {'grade re-run':<14} {med['rerun']:>9.2f} {med['plain2']:>8.2f} "
              f"{med['rerun'] / med['plain2']:>6.2f}   ({args.label} again: changed 0)", flush=True)

if __name__ == "__main__":
    main()
