"""Synthetic data for the benchmarks: a crmctl database with N customers, written with plain sqlite3.

Used by every benchmark; fast on purpose (executemany), independent of the code being measured.
Generated files live under benchmarks/data/ (git-ignored).
"""

from __future__ import annotations

import csv
import json
import math
import random
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

DATA = Path(__file__).parent / "data"


def copy_db(src: Path, dest: Path) -> Path:
    """A copy of the SQLite file ``src`` (its WAL checkpointed first) at ``dest``, replacing it."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(dest) + suffix).unlink(missing_ok=True)
    conn = sqlite3.connect(src)
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    shutil.copyfile(src, dest)
    return dest


def compile_crmctl() -> None:
    """Byte-compile crmctl's modules, as ``pip install`` does for a wheel: a checkout run with
    PYTHONDONTWRITEBYTECODE=1 would otherwise recompile every changed module on every start."""
    import compileall

    import crmctl

    compileall.compile_dir(str(Path(crmctl.__file__).parent), quiet=1)


def segment_combos(policy_name: str, rng: random.Random, n: int = 64) -> list[dict]:
    """Valid segment combinations for the policy (checked by the policy's own rules)."""
    from crmctl.policies import load_policy
    from crmctl.rules import customers as rules
    from crmctl.rules.conditions import matches

    policy, _ = load_policy(policy_name)
    idx = rules.SegmentIndex(policy)
    out = []
    tries = 0
    while len(out) < n and tries < n * 50:
        tries += 1
        chosen = {s.key: rng.choice(list(s.values)) for s in policy.segments}
        for key, seg in idx.segments.items():
            if not matches(seg.when, segments=chosen):
                chosen.pop(key, None)
        try:
            out.append(rules.normalise_segments(idx, chosen))
        except ValueError:
            continue
    return out


def init_db(path: Path, policy: str = "petrochem") -> Path:
    from crmctl.services.app import Settings
    from crmctl.services.policy import init_database

    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    init_database(Settings(db=str(path), actor="admin"), policy, "admin", "admin")
    return path


def add_customers(path: Path, n: int, policy: str = "petrochem", seed: int = 1) -> None:
    """N active customers C000001.. owned by admin, with valid segments; counter advanced."""
    rng = random.Random(seed)
    combos = segment_combos(policy, rng)
    now = datetime(2026, 11, 1, tzinfo=timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    conn = sqlite3.connect(path)
    owner = conn.execute("select id from staff where login='admin'").fetchone()[0]
    rows = ((f"C{i:06d}", f"客户{i}", f"客户{i}", "active", owner, json.dumps(rng.choice(combos), ensure_ascii=False),
             "{}", 0, now, now, now) for i in range(1, n + 1))  # the name key of 客户N is the name itself
    conn.executemany(
        "insert into customer(code, name, name_key, status, owner_id, segments, fields, admission_round, created_at,"
        " updated_at, status_changed_at) values (?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("insert or replace into counter(name, value) values ('customer_code', ?)", (n,))
    conn.commit()
    conn.close()


def customer_csv(path: Path, n: int, policy: str = "petrochem", seed: int = 2) -> Path:
    """A customer import file of N rows (name, tax-less, segment columns)."""
    rng = random.Random(seed)
    combos = segment_combos(policy, rng)
    keys = sorted({k for c in combos for k in c})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", *keys])
        for i in range(n):
            c = rng.choice(combos)
            w.writerow([f"导入客户{i}", *[c.get(k, "") for k in keys]])
    return path


# --------------------------------------------------------------------------------------------------
# Usage records (grading benchmarks)


def _volume_rows(n_records: int, n_customers: int, start: str, days: int, seed: int, *, with_amount: bool = True):
    """(customer number 1..n, ISO day, qty, product, amount) tuples: a skewed customer size so that every
    grade occurs, a little seasonality.  Fast: one random draw per field, no datetime work per row."""
    from datetime import date as _date

    rng = random.Random(seed)
    first = _date.fromisoformat(start).toordinal()
    day_text = [_date.fromordinal(first + i).isoformat() for i in range(days)]
    season = [1.0 + 0.25 * math.sin(i / 365.0 * 6.283) for i in range(days)]
    size = [rng.lognormvariate(0.0, 1.2) for _ in range(n_customers + 1)]
    products = ["92#", "95#", "0#", "LNG", "PE", "PP"]
    rand = rng.random
    randrange = rng.randrange
    for _ in range(n_records):
        c = randrange(1, n_customers + 1)
        d = randrange(days)
        qty = round(200.0 * size[c] * season[d] * (0.5 + rand()), 2)
        amount = round(qty * (2.5 + 3.0 * rand()), 2) if with_amount and rand() < 0.8 else None
        yield c, day_text[d], qty, products[c % 6], amount


def add_volumes(path: Path, n_records: int, n_customers: int, *, start: str = "2025-07-01", days: int = 365,
                seed: int = 3) -> None:
    """N usage records for customers C000001..C{n} written straight with sqlite3 (ids = customer numbers
    as written by add_customers)."""
    conn = sqlite3.connect(path)
    ids = dict(conn.execute("select code, id from customer"))
    id_of = [0] + [ids[f"C{i:06d}"] for i in range(1, n_customers + 1)]
    rows = ((id_of[c], d, q, p, a) for c, d, q, p, a in _volume_rows(n_records, n_customers, start, days, seed))
    conn.executemany("insert into usage_record(customer_id, day, qty, product, amount) values (?,?,?,?,?)", rows)
    conn.commit()
    conn.close()


def volume_csv(path: Path, n_records: int, n_customers: int, *, start: str = "2025-07-01", days: int = 365,
               seed: int = 4) -> Path:
    """A ``volume import`` file: customer,date,qty,product,amount."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["customer", "date", "qty", "product", "amount"])
        w.writerows((f"C{c:06d}", d, q, p, "" if a is None else a)
                    for c, d, q, p, a in _volume_rows(n_records, n_customers, start, days, seed))
    return path
