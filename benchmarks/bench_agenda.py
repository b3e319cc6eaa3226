"""`crmctl agenda` for one person in a big database (issue 21: under a second as a whole process).

petrochem, N customers (default 100 000) kept by admin; one sales clerk (s1) keeps 1 000 of them with
planned activities (one a customer, due over November), 300 open complaints and a business licence
each (expiring over the next months); the other customers have documents and activities too, so
every query has to pick the person's rows out of many.  Times ``crmctl --as s1 agenda`` and
``agenda --week`` as whole processes (start-up included), next to ``staff list`` (a command that
reads next to nothing: the start-up alone).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from datagen import add_customers, compile_crmctl, init_db  # noqa: E402

NOW = "2026-11-16T09:00:00"
MINE = 1000


def crmctl(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CRMCTL_NOW": NOW, "CRMCTL_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "crmctl", "--db", str(db), *args], env=env,
                          capture_output=True, text=True, check=True)


def add_work(db: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    conn = sqlite3.connect(db)
    s1 = conn.execute("select id from staff where login='s1'").fetchone()[0]
    admin = conn.execute("select id from staff where login='admin'").fetchone()[0]
    conn.execute("update customer set owner_id=? where id <= ?", (s1, MINE))
    created = "2026-11-01 00:00:00"
    acts = [(cid, rng.choice(["visit", "call"]), f"2026-11-{rng.randrange(1, 31):02d}", s1 if cid <= MINE else admin,
             "planned", created) for cid in range(1, n + 1, 1 if n <= MINE else max(1, n // 20000)) ]
    acts += [(cid, "visit", f"2026-11-{rng.randrange(1, 31):02d}", s1, "planned", created) for cid in range(1, MINE + 1)]
    conn.executemany("insert into activity(customer_id, kind, due_date, owner_id, status, created_at)"
                     " values (?,?,?,?,?,?)", acts)
    docs = [(cid, "business_license", f"2026-{rng.randrange(11, 13)}-{rng.randrange(1, 29):02d}"
             if rng.random() < 0.5 else f"2027-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
             created, "admin") for cid in range(1, n + 1)]
    conn.executemany("insert into document(customer_id, type, expires, added_at, added_by) values (?,?,?,?,?)", docs)
    complaints = []
    for i in range(1, 300 + 1):
        cid = rng.randrange(1, MINE + 1)
        opened = f"2026-11-{rng.randrange(1, 16):02d} 02:00:00"
        due = f"2026-11-{rng.randrange(10, 24):02d} 02:00:00"
        complaints.append((f"TS-2026-{i:04d}", cid, "general", "质量问题", opened, "admin", "1 working day", due, due,
                           0, "open", 1, s1))
    conn.executemany("insert into complaint(number, customer_id, severity, summary, opened_at, opened_by, sla,"
                     " sla_due_at, due_at, extended_days, status, policy_version, owner_id)"
                     " values (?,?,?,?,?,?,?,?,?,?,?,?,?)", complaints)
    conn.commit()
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    compile_crmctl()
    with tempfile.TemporaryDirectory() as tmp:
        db = init_db(Path(tmp) / "agenda.db")
        add_customers(db, args.customers)
        crmctl(db, "--as", "admin", "staff", "add", "s1", "--name", "张三", "--role", "sales")
        add_work(db, args.customers)
        for what in (["staff", "list"], ["agenda"], ["agenda", "--week"], ["agenda", "--week", "--format", "json"]):
            best, lines = None, 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                r = crmctl(db, "--as", "s1", *what)
                took = time.perf_counter() - t0
                best = took if best is None else min(best, took)
                lines = len(r.stdout.splitlines())
            print(f"{' '.join(what):<30} {args.customers:>7} customers: {best:.3f} s ({lines} lines of output)")


if __name__ == "__main__":
    main()
