"""`customer import` of N customers (issue 3: 100 000 in well under a minute).

Compares the CLI service with a plain csv + sqlite3.executemany loader of the same rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from datagen import compile_crmctl, customer_csv, init_db


def plain_loader(db: Path, csv_path: Path) -> None:
    conn = sqlite3.connect(db)
    with csv_path.open(encoding="utf-8", newline="") as fh:
        r = csv.reader(fh)
        header = next(r)
        rows = ((f"P{i:07d}", row[0], "active", 1, json.dumps(dict(zip(header[1:], row[1:])), ensure_ascii=False),
                 "{}", 0, "2026-11-01 00:00:00", "2026-11-01 00:00:00") for i, row in enumerate(r))
        conn.executemany("insert into customer(code, name, status, owner_id, segments, fields, admission_round,"
                         " created_at, updated_at) values (?,?,?,?,?,?,?,?,?)", rows)
    conn.commit()
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--policy", default="petrochem")
    args = ap.parse_args()
    compile_crmctl()
    from crmctl.services.app import Settings, open_app
    from crmctl.services.customers import import_customers

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        f = customer_csv(tmp / "customers.csv", args.customers, args.policy)
        db = init_db(tmp / "a.db", args.policy)
        app = open_app(Settings(db=str(db), actor="admin"))
        t0 = time.perf_counter()
        n = import_customers(app, f)["imported"]
        crm_t = time.perf_counter() - t0
        app.close()
        db2 = init_db(tmp / "b.db", args.policy)
        t0 = time.perf_counter()
        plain_loader(db2, f)
        plain_t = time.perf_counter() - t0
    print(f"customer import of {n} rows: {crm_t:6.2f} s  ({n / crm_t:,.0f} rows/s)")
    print(f"plain csv + executemany:      {plain_t:6.2f} s  (no validation, no audit; ratio {crm_t / plain_t:.1f})")


if __name__ == "__main__":
    main()
