"""Shared fixtures: every test runs with its own user folder, clock and database (never real data)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

NOW = "2026-11-22T10:00:00"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CRMCTL_NOW", NOW)
    for var in ("CRMCTL_DB", "CRMCTL_USER", "CRMCTL_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    from crmctl.rules import calendar

    calendar.reset_fallback_warnings()
    yield


class Cli:
    """Runs crmctl in-process through Typer's CliRunner against one database file."""

    def __init__(self, db: Path, actor: str = "admin"):
        self.db = db
        self.actor = actor
        self.runner = CliRunner()

    def __call__(self, *args: str, actor: str | None = None, input: str | None = None, env: dict | None = None):
        from crmctl.cli import app

        argv = ["--db", str(self.db)]
        who = actor if actor is not None else self.actor
        if who:
            argv += ["--as", who]
        return self.runner.invoke(app, argv + [str(a) for a in args], input=input, env=env)

    def ok(self, *args: str, **kw) -> str:
        r = self(*args, **kw)
        assert r.exit_code == 0, f"exit {r.exit_code}\nstdout: {r.stdout}\nstderr: {r.stderr}"
        return r.stdout

    def refused(self, *args: str, match: str | None = None, **kw):
        """The contract for a refusal: exit 1, one Error: line, no traceback, no change to the data."""
        before = fingerprint(self.db)
        r = self(*args, **kw)
        assert_refused(r, match)
        assert fingerprint(self.db) == before, "a refused command changed the database"
        return r


def assert_refused(r, match: str | None = None) -> None:
    err = r.stderr
    assert r.exit_code == 1, f"exit {r.exit_code} (wanted 1)\nstdout: {r.stdout}\nstderr: {err}"
    assert "Traceback" not in err + r.stdout
    lines = [ln for ln in err.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, f"wanted one Error: line, got: {err!r}"
    assert err.startswith("Error:"), err
    if match:
        assert match.lower() in lines[0].lower(), f"{match!r} not in {lines[0]!r}"


def fingerprint(db: Path) -> str | None:
    """A digest of every row of every table (None when there is no file)."""
    if not Path(db).exists():
        return None
    conn = sqlite3.connect(str(db))
    try:
        h = hashlib.sha256()
        for line in conn.iterdump():
            h.update(line.encode())
        return h.hexdigest()
    finally:
        conn.close()


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "crm.db"


def _init(db_path: Path, policy: str) -> Cli:
    cli = Cli(db_path)
    cli.ok("init", "--policy", policy, "--admin", "admin", actor="")
    return cli


@pytest.fixture
def petrochem(db_path) -> Cli:
    return _init(db_path, "petrochem")


@pytest.fixture
def fuel(db_path) -> Cli:
    return _init(db_path, "fuel-retail")


@pytest.fixture
def make_cli(tmp_path):
    def make(policy: str, name: str = "crm.db") -> Cli:
        return _init(tmp_path / name, policy)

    return make
