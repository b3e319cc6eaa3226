"""Races (issue 14): read-then-write decisions taken by parallel OS processes, on SQLite and (with
``CRMCTL_TEST_PG``) on PostgreSQL.

Every process is a real ``crmctl`` (``python -m crmctl.cli``) run by the administrator acting for a
staff member (``CRMCTL_USER``).  To make the worst interleaving happen every time, the test first
holds what every audited write takes last -- the audit chain's head (``SELECT … FOR UPDATE`` on
PostgreSQL; a ``BEGIN IMMEDIATE`` write lock on SQLite) -- starts the processes, waits until all of
them are blocked (PostgreSQL: ``pg_stat_activity`` shows them waiting on a lock; SQLite: each has
the database open), and only then lets them go.  A decision read before a lock of its own is then
taken by every process from the same stale state.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import Cli

POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]


def _is_pg(db) -> bool:
    return "://" in str(db)


def _url(db) -> str:
    return str(db) if _is_pg(db) else f"sqlite:///{db}"


class Race:
    """Processes started together against one database, let go at once."""

    def __init__(self, db):
        self.db = db
        self.tag = f"race_{uuid.uuid4().hex[:10]}"
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def _target(self) -> str:
        if not _is_pg(self.db):
            return str(self.db)
        return make_url(str(self.db)).update_query_dict({"application_name": self.tag}).render_as_string(
            hide_password=False)

    def start(self, actor: str, *args) -> None:
        env = {**os.environ, "CRMCTL_DB": self._target(), "CRMCTL_USER": actor}
        self.procs.append((actor, subprocess.Popen([sys.executable, "-m", "crmctl.cli", *map(str, args)], env=env,
                                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))

    @contextmanager
    def held(self):
        """Hold the audit chain's head while the processes are started; release it once all wait."""
        if _is_pg(self.db):
            engine = create_engine(str(self.db))
            conn = engine.connect()
            try:
                conn.execute(text("SELECT id FROM audit_chain WHERE id = 1 FOR UPDATE"))
                yield
                self._wait_blocked_pg(conn)
                conn.commit()
            finally:
                conn.close()
                engine.dispose()
        else:
            conn = sqlite3.connect(str(self.db), timeout=30, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield
                self._wait_blocked_sqlite()
                conn.execute("COMMIT")
            finally:
                conn.close()

    def _wait_blocked_pg(self, conn, limit: float = 90.0) -> None:
        engine = create_engine(str(self.db))
        deadline = time.monotonic() + limit
        try:
            with engine.connect() as c:
                while time.monotonic() < deadline:
                    waiting = c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :t "
                                             "AND wait_event_type = 'Lock'"), {"t": self.tag}).scalar()
                    c.rollback()
                    if waiting >= len(self.procs):
                        return
                    if any(p.poll() is not None for _, p in self.procs):
                        return  # one finished without waiting: let the others go, the checks say why
                    time.sleep(0.05)
        finally:
            engine.dispose()
        pytest.fail(f"the processes did not all wait for the lock within {limit} s")

    def _wait_blocked_sqlite(self, limit: float = 90.0) -> None:
        """Each process has the database open (Linux: /proc/PID/fd), then a moment for its BEGIN."""
        target = os.path.realpath(self.db)
        deadline = time.monotonic() + limit
        pending = {p.pid for _, p in self.procs}
        while pending and time.monotonic() < deadline:
            for _, p in self.procs:
                if p.pid not in pending:
                    continue
                if p.poll() is not None:
                    pending.discard(p.pid)
                    continue
                try:
                    fds = os.listdir(f"/proc/{p.pid}/fd")
                except OSError:  # no /proc: wait a while instead
                    time.sleep(5)
                    return
                for fd in fds:
                    try:
                        if os.readlink(f"/proc/{p.pid}/fd/{fd}") == target:
                            pending.discard(p.pid)
                            break
                    except OSError:
                        pass
            time.sleep(0.05)
        time.sleep(1.0)

    def results(self) -> list[tuple[str, int, str, str]]:
        out = []
        for actor, p in self.procs:
            stdout, stderr = p.communicate(timeout=180)
            out.append((actor, p.returncode, stdout, stderr))
        return out


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1 and stderr.startswith("Error:"), f"wanted one Error: line, got {stderr!r}"
    return lines[0]


def _rows(db, sql: str, params: dict | None = None) -> list[tuple]:
    engine = create_engine(_url(db))
    try:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(text(sql), params or {})]
    finally:
        engine.dispose()


# -- the admission chain ------------------------------------------------------------------------

FINANCE = [f"caiwu{i}" for i in range(1, 7)]
GM = [f"zong{i}" for i in range(1, 4)]


def _admission(cli: Cli) -> str:
    cli.ok("staff", "add", "xiaoshou", "--name", "销售员", "--role", "sales")
    for login in FINANCE:
        cli.ok("staff", "add", login, "--name", f"财务{login[-1]}", "--role", "finance")
    for login in GM:
        cli.ok("staff", "add", login, "--name", f"总经理{login[-1]}", "--role", "gm")
    code = cli.ok("customer", "add", "--name", "河北华塑化工有限公司", *POLY, "--owner", "xiaoshou").strip()
    cli.ok("doc", "add", code, "--type", "business_license", "--number", "L-1", "--expires", "2027-06-30")
    cli.ok("doc", "add", code, "--type", "tax_registration", "--number", "T-1", "--expires", "2028-01-01")
    cli.ok("doc", "add", code, "--type", "org_code", "--expires", "2028-01-01")
    cli.ok("doc", "add", code, "--type", "billing_info")
    cli.ok("customer", "submit", code)
    cli.ok("approve", code, actor="xiaoshou")
    return code


def _decisions(db, code: str) -> dict[int, list[str]]:
    rows = _rows(db, "SELECT a.step, a.decision, a.staff_login FROM approval a JOIN customer c ON c.id = a.customer_id "
                     "WHERE c.code = :c AND a.round = c.admission_round AND a.step > 0 ORDER BY a.id", {"c": code})
    out: dict[int, list[str]] = {}
    for step, decision, login in rows:
        out.setdefault(step, []).append(f"{decision}:{login}")
    return out


@pytest.mark.parametrize("step", [2, 3])
def test_concurrent_approvals_of_one_step(make_cli, step):
    """Six finance staff (or three general managers at the last step) approve the same step at once:
    exactly one approval is written, the others get one Error line naming who decided it, and the
    chain goes on to active."""
    cli = make_cli("petrochem")
    code = _admission(cli)
    people = FINANCE
    if step == 3:
        cli.ok("approve", code, actor=FINANCE[0])
        people = GM
    race = Race(cli.db)
    with race.held():
        for login in people:
            race.start(login, "approve", code)
    results = race.results()
    winners = [(a, out) for a, rc, out, _err in results if rc == 0]
    assert len(winners) == 1, results
    winner = winners[0][0]
    for actor, rc, _out, err in results:
        if actor == winner:
            continue
        assert rc == 1, (actor, rc, err)
        line = _one_error_line(err)
        assert winner in line, line  # the loser learns who decided the step
    decided = _decisions(cli.db, code)
    assert {k: len(v) for k, v in decided.items()} == {k: 1 for k in range(1, step + 1)}, decided
    assert decided[step] == [f"approve:{winner}"]
    if step == 2:
        cli.ok("approve", code, actor=GM[0])
    shown = json.loads(cli.ok("customer", "show", code, "--format", "json"))
    assert shown["status"] == "active"
    cli.ok("db", "check")


def test_concurrent_approve_and_reject_of_one_step(make_cli):
    """Three approve and three reject step 2 at once: one decision stands, and the customer's status
    follows it (back to prospect on a rejection, waiting for the gm on an approval)."""
    cli = make_cli("petrochem")
    code = _admission(cli)
    race = Race(cli.db)
    with race.held():
        for i, login in enumerate(FINANCE):
            if i % 2:
                race.start(login, "approve", code, "--reject", "--comment", "资料不全")
            else:
                race.start(login, "approve", code)
    results = race.results()
    winners = [a for a, rc, _o, _e in results if rc == 0]
    assert len(winners) == 1, results
    for actor, rc, _out, err in results:
        if actor != winners[0]:
            assert rc == 1 and winners[0] in _one_error_line(err)
    decided = _decisions(cli.db, code)
    assert len(decided[2]) == 1, decided
    shown = json.loads(cli.ok("customer", "show", code, "--format", "json"))
    assert shown["status"] == ("prospect" if decided[2][0].startswith("reject") else "pending")


# -- complaint extensions -----------------------------------------------------------------------

def _complaint(cli: Cli) -> str:
    cli.ok("staff", "add", "xiaoshou", "--name", "销售员", "--role", "sales")
    cli.ok("staff", "add", "kefu1", "--name", "客服1", "--role", "sales")
    cli.ok("staff", "add", "kefu2", "--name", "客服2", "--role", "sales")
    for login in GM:
        cli.ok("staff", "add", login, "--name", f"总经理{login[-1]}", "--role", "gm")
    code = cli.ok("customer", "add", "--name", "沧州宏达塑业", *POLY, "--owner", "xiaoshou").strip()
    # major: petrochem extends major complaints only (12(三))
    return cli.ok("complaint", "open", code, "--summary", "包装破损", "--severity", "major", actor="xiaoshou").strip()


def test_concurrent_extension_requests(make_cli):
    """Three people ask to extend one complaint at once (4 working days each; the cap is 7 from the
    opening, so two granted would break it): one request waits, the others are refused with one
    line; granted, the deadline is within the cap."""
    cli = make_cli("petrochem")
    number = _complaint(cli)
    race = Race(cli.db)
    with race.held():
        for login in ("xiaoshou", "kefu1", "kefu2"):
            race.start(login, "complaint", "extend", number, "--working-days", "4")
    results = race.results()
    assert sum(rc == 0 for _a, rc, _o, _e in results) == 1, results
    for _actor, rc, _out, err in results:
        if rc:
            assert rc == 1 and "already has an extension waiting" in _one_error_line(err)
    waiting = _rows(cli.db, "SELECT count(*) FROM approval_request WHERE status = 'pending'")[0][0]
    assert waiting == 1
    cli.ok("complaint", "approve-extension", number, actor=GM[0])
    shown = json.loads(cli.ok("complaint", "show", number, "--format", "json"))
    assert shown["due_at"].startswith("2026-12-02T08:30")  # opened Sun 22 Nov: from Mon 08:30, 3 + 4 working days
    cli.refused("complaint", "extend", number, "--working-days", "4", actor="kefu1", match="7 working days")


def test_concurrent_grants_of_one_extension(make_cli):
    """Three general managers grant the same waiting extension at once: it is decided once, the
    deadline moves once, and the others hear who decided it."""
    cli = make_cli("petrochem")
    number = _complaint(cli)
    cli.ok("complaint", "extend", number, "--working-days", "3", actor="kefu1")
    race = Race(cli.db)
    with race.held():
        for login in GM:
            race.start(login, "complaint", "approve-extension", number)
    results = race.results()
    winners = [a for a, rc, _o, _e in results if rc == 0]
    assert len(winners) == 1, results
    for actor, rc, _out, err in results:
        if actor != winners[0]:
            line = _one_error_line(err)
            assert rc == 1 and winners[0] in line, line
    shown = json.loads(cli.ok("complaint", "show", number, "--format", "json"))
    assert shown["extended_days"] == 3 if "extended_days" in shown else True
    assert len(_rows(cli.db, "SELECT id FROM complaint_event WHERE kind = 'extend'")) == 1
    assert len(json.loads(cli.ok("audit", "list", "--action", "complaint.extend", "--format", "json"))) == 1


# -- service tickets ------------------------------------------------------------------------------

def test_concurrent_ticket_transitions(make_cli):
    """Four people mark the same ticket's technician as arrived at once: one arrival is recorded."""
    cli = make_cli("gas-service")
    cli.ok("staff", "add", "qiangxiu", "--name", "抢修工", "--role", "repair_team")
    code = cli.ok("customer", "add", "--name", "城南小区", "--segment", "sector=residential").strip()
    ticket = json.loads(cli.ok("service", "open", code, "--kind", "repair", "--at", "2026-11-22T08:00",
                               "-f", "json"))["id"]
    cli.ok("service", "dispatch", ticket, "--technician", "qiangxiu", "--at", "2026-11-22T09:00")
    race = Race(cli.db)
    with race.held():
        for _ in range(4):
            race.start("admin", "service", "arrive", ticket)
    results = race.results()
    assert sum(rc == 0 for _a, rc, _o, _e in results) == 1, results
    for _actor, rc, _out, err in results:
        if rc:
            assert rc == 1 and "already arrived" in _one_error_line(err)
    assert len(json.loads(cli.ok("audit", "list", "--action", "ticket.arrive", "--format", "json"))) == 1


# -- imports --------------------------------------------------------------------------------------

def test_concurrent_duplicate_imports(make_cli, tmp_path):
    """The same file imported twice at once: one import, the other refused with one line (no raw
    UniqueViolation), nothing of it written."""
    cli = make_cli("fuel-retail")
    path = tmp_path / "customers.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "nature", "card", "industry"])
        for i in range(200):
            w.writerow([f"X{i:05d}", f"导入客户{i}", "individual", "single", "taxi"])
    race = Race(cli.db)
    with race.held():
        race.start("admin", "customer", "import", path)
        race.start("admin", "customer", "import", path)
    results = race.results()
    assert sorted(rc for _a, rc, _o, _e in results) == [0, 1], results
    for _actor, rc, _out, err in results:
        if rc:
            line = _one_error_line(err)
            assert "UniqueViolation" not in line and "already imported" in line, line
    assert _rows(cli.db, "SELECT count(*) FROM customer")[0][0] == 200
    cli.ok("db", "check")


# -- staff leave ----------------------------------------------------------------------------------

def test_two_people_leaving_to_each_other(make_cli):
    """A leaves handing over to B while B leaves handing over to A: one leave stands, the other is
    refused (its heir has just left), and nobody's customers end with a departed keeper."""
    cli = make_cli("petrochem")
    cli.ok("staff", "add", "zhang", "--name", "张", "--role", "sales")
    cli.ok("staff", "add", "li", "--name", "李", "--role", "sales")
    cli.ok("customer", "add", "--name", "甲公司", *POLY, "--owner", "zhang")
    cli.ok("customer", "add", "--name", "乙公司", *POLY, "--owner", "li")
    race = Race(cli.db)
    with race.held():
        race.start("admin", "staff", "leave", "zhang", "--handover-to", "li")
        race.start("admin", "staff", "leave", "li", "--handover-to", "zhang")
    results = race.results()
    assert sorted(rc for _a, rc, _o, _e in results) == [0, 1], results
    for _actor, rc, _out, err in results:
        if rc:
            assert "has left" in _one_error_line(err)
    kept = _rows(cli.db, "SELECT s.active FROM customer c JOIN staff s ON s.id = c.owner_id")
    assert kept and all(active for (active,) in kept), kept
