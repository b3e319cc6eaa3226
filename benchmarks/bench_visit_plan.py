"""`visit plan` for one month over N customers (issue 6: 100 000 in a few seconds).

fuel-retail by default: monthly revisits by grade (diamond/gold and platinum/gold twice a month, the
rest once), holiday greetings and the yearly symposium.  Grades are written straight into
customer_grade (as a grade run would leave them); a share of the customers had a revisit last month.
Times a first run, then a second (idempotent) run that must add nothing.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from datagen import add_customers, compile_crmctl, init_db  # noqa: E402


def add_grades(db: Path, policy: str, seed: int = 3) -> int:
    """A current grade on every scale that applies to each customer (spread over the scale's grades)."""
    from crmctl.policies import load_policy
    from crmctl.rules.conditions import matches
    import json

    pol, _ = load_policy(policy)
    scales = pol.grading.scales if pol.grading else {}
    if not scales:
        return 0
    rng = random.Random(seed)
    conn = sqlite3.connect(db)
    rows = []
    for cid, segs in conn.execute("select id, segments from customer"):
        segs = json.loads(segs)
        for code, scale in scales.items():
            if matches(scale.applies_to, segments=segs):
                grades = scale.grade_codes
                weights = [len(grades) - i for i in range(len(grades))]  # more low grades than high ones
                rows.append((cid, code, rng.choices(grades, weights)[0], "2026-H1", "2026-07-01 00:00:00"))
    conn.executemany("insert into customer_grade(customer_id, scale, grade, label, since) values (?,?,?,?,?)", rows)
    conn.commit()
    conn.close()
    return len(rows)


def add_history(db: Path, share: float, seed: int = 4) -> int:
    """A done revisit last month for a share of the customers (what the engine reads as history)."""
    rng = random.Random(seed)
    conn = sqlite3.connect(db)
    ids = [r[0] for r in conn.execute("select id from customer")]
    rows = [(cid, "visit", f"2026-10-{rng.randrange(1, 29):02d}", "done", f"2026-10-{rng.randrange(1, 29):02d} 02:00:00",
             "admin", "2026-10-01 00:00:00") for cid in ids if rng.random() < share]
    conn.executemany("insert into activity(customer_id, kind, due_date, status, done_at, done_by, created_at)"
                     " values (?,?,?,?,?,?,?)", rows)
    conn.commit()
    conn.close()
    return len(rows)


def _copy(src: Path, dest: Path) -> None:
    a, b = sqlite3.connect(src), sqlite3.connect(dest)
    a.backup(b)
    a.close()
    b.close()


def raw_insert_floor(planned_db: Path, pristine: Path) -> tuple[float, float]:
    """Seconds for plain sqlite3 to insert the rows `visit plan` wrote (no reading, no rules): the limit."""
    src = sqlite3.connect(planned_db)
    cols = "customer_id, kind, due_date, owner_id, status, planned_by, cadence_key, plan_note, created_at"
    rows = src.execute(f"select {cols} from activity where planned_by is not null").fetchall()
    src.close()
    conn = sqlite3.connect(pristine, isolation_level=None)
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=normal")
    conn.execute("pragma foreign_keys=on")
    conn.execute("insert into activity_plan_run(id, month, planned, at, actor) values (1, 'x', 0, '2026-11-22', 'admin')")
    rows = [(*r[:5], 1, *r[6:]) for r in rows]
    t0, c0 = time.perf_counter(), time.process_time()
    conn.execute("begin immediate")
    conn.executemany(f"insert into activity ({cols}) values (?,?,?,?,?,?,?,?,?) on conflict (cadence_key) do nothing", rows)
    conn.execute("commit")
    took = (time.perf_counter() - t0, time.process_time() - c0)
    conn.close()
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--policy", default="fuel-retail")
    ap.add_argument("--month", default="2027-02", help="month to plan (2027-02 has the Spring Festival)")
    ap.add_argument("--history", type=float, default=0.3, help="share of customers with a done visit last month")
    ap.add_argument("--db", type=Path, default=None, help="keep the database here instead of a temp folder")
    args = ap.parse_args()
    compile_crmctl()

    import os

    os.environ.setdefault("CRMCTL_NOW", "2026-11-22T10:00")
    from crmctl.services.activities import plan_visits
    from crmctl.services.app import Settings, open_app

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "visits.db"
        t0 = time.perf_counter()
        init_db(db, args.policy)
        add_customers(db, args.customers, args.policy)
        graded = add_grades(db, args.policy)
        hist = add_history(db, args.history)
        print(f"setup: {args.customers} {args.policy} customers, {graded} grades, {hist} done visits "
              f"({time.perf_counter() - t0:.1f} s)")
        pristine = Path(tmp) / "pristine.db"
        _copy(db, pristine)
        app = open_app(Settings(db=str(db), actor="admin"))
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            r1 = plan_visits(app, args.month)
            first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
            t0, c0 = time.perf_counter(), time.process_time()
            r2 = plan_visits(app, args.month)
            second, second_cpu = time.perf_counter() - t0, time.process_time() - c0
        finally:
            app.close()
        floor = raw_insert_floor(db, pristine)
    kinds: dict[str, int] = {}
    for o in r1["owners"]:
        for k, n in o["kinds"].items():
            kinds[k] = kinds.get(k, 0) + n
    print(f"visit plan --month {args.month}: {first:6.2f} s wall, {first_cpu:6.2f} s CPU, {r1['planned']} activities "
          f"planned ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}); {args.customers / first:,.0f} customers/s")
    print(f"second run (idempotent):    {second:6.2f} s wall, {second_cpu:6.2f} s CPU, {r2['planned']} planned, "
          f"{r2['already_planned']} already there")
    print(f"raw limit: plain sqlite3 executemany of the same {r1['planned']} rows into the same schema: "
          f"{floor[0]:6.2f} s wall, {floor[1]:6.2f} s CPU (visit plan / raw = {first / floor[0]:.1f} wall, "
          f"{first_cpu / floor[1]:.1f} CPU)")
    if r2["planned"]:
        raise SystemExit("the second run planned something: not idempotent")


if __name__ == "__main__":
    main()
