"""Schema 0007 (issue 14): an older database holding what concurrent deciders wrote before -- two to
four approvals of one admission step, two extension requests waiting for one complaint -- upgrades
to one decision per step (the first) and one waiting request, and the stuck admission goes on.
SQLite and PostgreSQL (``CRMCTL_TEST_PG``)."""

from __future__ import annotations

import json

import pytest

from crmctl.db import Database, _alembic_config, current_revision
from crmctl import migrations
from tests.conftest import Cli, execute_sql
from tests.e2e.test_races import FINANCE, GM, _admission, _decisions, _rows


def _downgrade(db, rev: str) -> None:
    from alembic import command

    d = Database(str(db) if "://" in str(db) else f"sqlite:///{db}")
    try:
        with d.engine.begin() as conn:
            command.downgrade(_alembic_config(conn), rev)
    finally:
        d.dispose()


def test_upgrade_keeps_the_first_decision_of_each_step(petrochem: Cli):
    cli = petrochem
    code = _admission(cli)
    number = cli.ok("complaint", "open", code, "--summary", "包装破损", "--severity", "major", actor="xiaoshou").strip()
    cli.ok("complaint", "extend", number, "--working-days", "2", actor="xiaoshou")
    _downgrade(cli.db, "0006")
    cid = _rows(cli.db, "SELECT id FROM customer WHERE code = :c", {"c": code})[0][0]
    for login in FINANCE[:3]:  # what the race wrote: three approvals of step 2
        execute_sql(cli.db, "INSERT INTO approval (customer_id, round, step, role, staff_login, decision, at) "
                            "VALUES (:c, 1, 2, 'finance', :l, 'approve', '2026-11-22 02:00:00')", {"c": cid, "l": login})
    execute_sql(cli.db, "INSERT INTO approval_request (kind, complaint_id, customer_id, details, approver_role, "
                        "requested_by, requested_at, status) SELECT kind, complaint_id, customer_id, details, "
                        "approver_role, 'caiwu1', requested_at, 'pending' FROM approval_request")
    assert _rows(cli.db, "SELECT count(*) FROM approval_request WHERE status = 'pending'")[0][0] == 2

    if "://" in str(cli.db):  # a PostgreSQL database is upgraded by an administrator, not on opening
        cli.ok("db", "upgrade", "--yes")
    shown = json.loads(cli.ok("customer", "show", code, "--format", "json"))  # SQLite: opening upgrades it
    assert current_revision(Database(str(cli.db) if "://" in str(cli.db) else f"sqlite:///{cli.db}").engine) \
        == migrations.HEAD
    assert shown["admission"]["waiting_for"] == "gm"
    assert _decisions(cli.db, code) == {1: ["approve:xiaoshou"], 2: [f"approve:{FINANCE[0]}"]}
    waiting = _rows(cli.db, "SELECT requested_by FROM approval_request WHERE status = 'pending'")
    assert waiting == [("xiaoshou",)]
    assert _rows(cli.db, "SELECT decided_by FROM approval_request WHERE status = 'refused'") == [("crmctl",)]

    cli.ok("approve", code, actor=GM[0])
    assert json.loads(cli.ok("customer", "show", code, "--format", "json"))["status"] == "active"
    cli.ok("db", "check")


def test_a_second_decision_of_a_step_is_refused_by_the_database(petrochem: Cli):
    """The unique index itself: a decision written behind crmctl's back for a decided step fails."""
    code = _admission(petrochem)
    cid = _rows(petrochem.db, "SELECT id FROM customer WHERE code = :c", {"c": code})[0][0]
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        execute_sql(petrochem.db, "INSERT INTO approval (customer_id, round, step, role, staff_login, decision, at) "
                                  "VALUES (:c, 1, 1, 'sales', 'other', 'approve', '2026-11-22 02:00:00')", {"c": cid})
