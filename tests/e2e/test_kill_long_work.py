"""SIGKILL in the middle of a grade run or a visit plan: all of that operation or none of it,
`db check` passes, and running it again completes (SQLite; the data is generated with sqlite3)."""

from __future__ import annotations

import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_concurrency import crmctl, spawn

pytestmark = pytest.mark.sqlite_only
sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))

CUSTOMERS = 30_000


@pytest.fixture(scope="module")
def big_db(tmp_path_factory):
    import datagen

    path = datagen.init_db(tmp_path_factory.mktemp("kill") / "crm.db", "fuel-retail")
    datagen.add_customers(path, CUSTOMERS, "fuel-retail")
    datagen.add_volumes(path, 300_000, CUSTOMERS, start="2026-01-01", days=181)
    return path


def rows(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def kill_while_writing(db: Path, proc, limit: float = 60.0) -> bool:
    """Kill once the process has started writing (its WAL grows); False if it finished first."""
    wal = Path(f"{db}-wal")
    start = wal.stat().st_size if wal.exists() else 0
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if wal.exists() and wal.stat().st_size > start + 200_000:
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return True


def test_grade_run_killed_then_rerun(big_db):
    label_rows = "select count(*) from grade_result where label = '2026-H1'"
    proc = spawn(big_db, "grade", "run", "--period", "half-year", "--label", "2026-H1")
    killed = kill_while_writing(big_db, proc)
    crmctl(big_db, "db", "check")
    after_kill = rows(big_db, label_rows)
    print(f"grade run killed: {killed}, results left: {after_kill}")
    r = crmctl(big_db, "grade", "run", "--period", "half-year", "--label", "2026-H1", check=False)
    assert r.returncode == 0, r.stderr
    complete = rows(big_db, label_rows)
    assert complete > 0
    assert after_kill in (0, complete), "a killed grade run left part of its results"
    again = crmctl(big_db, "grade", "run", "--period", "half-year", "--label", "2026-H1", "--format", "json")
    assert '"changed": 0' in again.stdout
    crmctl(big_db, "db", "check")


def test_visit_plan_killed_then_rerun(big_db):
    count = "select count(*) from activity"
    before = rows(big_db, count)
    proc = spawn(big_db, "visit", "plan", "--month", "2026-12")
    killed = kill_while_writing(big_db, proc)
    crmctl(big_db, "db", "check")
    after_kill = rows(big_db, count)
    print(f"visit plan killed: {killed}, activities left: {after_kill - before}")
    r = crmctl(big_db, "visit", "plan", "--month", "2026-12", check=False)
    assert r.returncode == 0, r.stderr
    planned = rows(big_db, count)
    assert planned > before
    assert after_kill in (before, planned), "a killed visit plan left part of its activities"
    crmctl(big_db, "visit", "plan", "--month", "2026-12")
    assert rows(big_db, count) == planned  # idempotent
    crmctl(big_db, "db", "check")
