"""Every schema revision's fixture database upgrades to the newest with its data intact."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from crmctl import migrations
from crmctl.db import current_revision, integrity_problems, open_database
from crmctl.settings import os_account
from tests.conftest import Cli

FIXTURES = Path(__file__).parents[1] / "fixtures"
pytestmark = pytest.mark.sqlite_only


def test_every_revision_has_a_fixture():
    assert sorted(p.stem.removeprefix("schema-") for p in FIXTURES.glob("schema-*.sql")) == list(migrations.REVISIONS)


@pytest.mark.parametrize("rev", migrations.REVISIONS)
def test_fixture_upgrades_with_data(tmp_path, rev):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / f"schema-{rev}.sql").read_text(encoding="utf-8"))
    if rev >= "0005":  # the fixture's administrator runs crmctl as whoever runs the tests
        conn.execute("update staff set os_user = ? where login = 'admin'", (os_account(),))
        conn.commit()
    conn.close()
    db = open_database(f"sqlite:///{path}")
    assert current_revision(db.engine) == migrations.HEAD
    assert integrity_problems(db) == []
    db.dispose()
    if rev != migrations.HEAD:
        assert len(list(tmp_path.glob("old.db.before-*.bak"))) == 1
    cli = Cli(path, actor="xs")
    shown = json.loads(cli.ok("customer", "show", "C000001", "--format", "json"))
    assert shown["name"] == "河北华塑化工有限公司" and shown["owner"] == "xs"
    assert shown["grades"] == {"polyolefin": "star1"} and shown["fields"]["pickup_depot"] == "石家庄库"
    assert shown["documents"][0]["number"] == "L-1"
    assert cli.ok("customer", "add", "--name", "新客户", "-s", "product_line=other", "-s", "channel=direct").strip() == "C000002"
    assert json.loads(cli.ok("audit", "list", "--customer", "C000001", "--format", "json"))[0]["actor"] == "xs"
