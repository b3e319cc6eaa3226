"""Issue 19: completion that knows the data, tables that fit an 80-column terminal, a pager for long
tables.

Completion is simulated as Click's tests do (``_CRMCTL_COMPLETE=complete_bash``, ``COMP_WORDS``,
``COMP_CWORD``): in-process through the CliRunner, and once in a fresh interpreter to check that a
Tab press does not import SQLAlchemy.  A terminal is faked by replacing
``crmctl.output._stream_is_terminal``; rich takes its width and height from ``COLUMNS`` and ``LINES``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from tests.conftest import NOW, Cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gas(tmp_path_factory) -> tuple[Cli, dict]:
    """A gas-tiered demo (60 customers, complaints, grades): its Cli and environment."""
    tmp = tmp_path_factory.mktemp("gas-demo")
    env = {"CRMCTL_NOW": NOW, "XDG_CACHE_HOME": str(tmp / "cache"), "XDG_DATA_HOME": str(tmp / "data"),
           "HOME": str(tmp / "home"), "CRMCTL_LANG": "en"}
    db = tmp / "demo.db"
    Cli(db).ok("demo", "--policy", "gas-tiered", "--customers", "60", actor="", env=env)
    return Cli(db), env


def complete(db, words: str, env: dict | None = None) -> list[str]:
    """What a Tab press at the end of ``words`` offers (bash): ``words`` ending in a space completes
    a new word."""
    from crmctl.cli import app

    parts = words.split()
    cword = len(parts) if words.endswith(" ") else len(parts) - 1
    line = f"crmctl --db {db} {words}" if db else f"crmctl {words}"
    cword += 2 if db else 0
    r = CliRunner().invoke(app, [], prog_name="crmctl", env={
        **(env or {}), "_CRMCTL_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(cword + 1)})
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output
    return r.stdout.split()


# --------------------------------------------------------------------------------------------------
# Completion


def test_customer_codes_complete(gas):
    cli, env = gas
    codes = [c["code"] for c in json.loads(cli.ok("customer", "list", "--format", "json", env=env))]
    found = complete(cli.db, "customer show C00001", env)
    assert found and all(c.startswith("C00001") for c in found)
    assert set(found) == {c for c in codes if c.startswith("C00001")}
    assert complete(cli.db, "grade explain C0000", env)[0] == "C000001"
    assert "C000001" in complete(cli.db, "complaint list --customer C00000", env)
    assert complete(cli.db, "customer show X", env) == []


def test_a_name_completes_its_code(gas):
    cli, env = gas
    first = json.loads(cli.ok("customer", "list", "--format", "json", "--limit", "1", env=env))[0]
    assert first["code"] in complete(cli.db, f"customer show {first['name'][:4]}", env)


def test_logins_and_numbers_complete(gas):
    cli, env = gas
    assert "admin" in complete(cli.db, "customer list --owner ad", env)
    logins = complete(cli.db, "customer list --owner ", env)
    assert len(logins) > 1 and "admin" in logins
    assert set(complete(cli.db, "staff leave ", env)) == set(logins)
    assert complete(cli.db, "staff add ", env) == []  # a new login: nothing to complete
    numbers = complete(cli.db, "complaint show TS-", env)
    assert numbers and all(n.startswith("TS-") for n in numbers)


def test_period_labels_around_now(gas):
    cli, env = gas
    labels = complete(cli.db, "report grades --label 2026-", env)
    assert labels[0] == "2026-10"  # the last month completed before now (2026-11-22) first
    assert {"2026-11", "2026-Q3", "2026-Q4", "2026-H1", "2026-H2"} <= set(labels)
    assert "2025" in complete(cli.db, "report grades --label 202", env)
    assert set(complete(cli.db, "survey list --label ", env)) >= {"2025", "2026"}
    assert all(label.isdigit() for label in complete(cli.db, "survey list --label ", env))


def test_segment_values_from_the_stored_policy(gas):
    cli, env = gas
    keys = complete(cli.db, "customer list --segment ", env)
    assert "supply=" in keys and all(k.endswith("=") for k in keys)
    assert set(complete(cli.db, "customer list --segment supply=", env)) == {"supply=pipeline", "supply=vehicle"}
    assert complete(cli.db, "customer list --segment supply=p", env) == ["supply=pipeline"]


def test_db_from_the_environment(gas):
    cli, env = gas
    assert "C000001" in complete(None, "customer show C00000", {**env, "CRMCTL_DB": str(cli.db)})


def test_nothing_without_a_usable_database(tmp_path, gas):
    cli, env = gas
    assert complete(tmp_path / "missing.db", "customer show C", env) == []
    assert complete("postgresql+psycopg://crm@127.0.0.1/crm", "customer show C", env) == []
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    assert complete(junk, "customer show C", env) == []
    assert complete(junk, "customer list --segment ", env) == []
    assert not (tmp_path / "missing.db").exists()  # read-only: completion creates nothing


def test_completion_does_not_import_the_database_layer(gas):
    cli, env = gas
    script = ("import sys\nsys.argv[0] = 'crmctl'\nfrom crmctl.cli import main\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "print('LOADED', sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'sqlmodel', 'rich'}),"
              " file=sys.stderr)\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env={
        **os.environ, **env, "PYTHONPATH": str(ROOT), "_CRMCTL_COMPLETE": "complete_bash",
        "COMP_WORDS": f"crmctl --db {cli.db} customer show C00000", "COMP_CWORD": "5"})
    assert "C000001" in r.stdout.split(), r.stderr
    assert "LOADED []" in r.stderr, r.stderr


# --------------------------------------------------------------------------------------------------
# Tables on an 80-column terminal


@pytest.fixture
def terminal(monkeypatch):
    from crmctl import output

    monkeypatch.setattr(output, "_stream_is_terminal", lambda stream: True)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "100000")  # no pager unless a test asks


def check_fits(table: str, codes: list[str]) -> None:
    lines = table.splitlines()
    assert lines, "no table"
    too_wide = [ln for ln in lines if cell_len(ln) > 80]
    assert not too_wide, too_wide[:3]
    for code in codes:  # never split over two lines: whole on one line
        assert any(code in ln for ln in lines), f"{code} is not whole on any line"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_customer_list_fits(gas, terminal, lang):
    cli, env = gas
    codes = [c["code"] for c in json.loads(cli.ok("customer", "list", "--format", "json", env=env))]
    table = cli.ok("--lang", lang, "customer", "list", env=env)
    check_fits(table, codes)
    assert "more column" in table or "另有" in table or cell_len(table.splitlines()[0]) <= 80


def test_complaint_list_fits(gas, terminal):
    cli, env = gas
    rows = json.loads(cli.ok("complaint", "list", "--format", "json", env=env))
    assert rows
    table = cli.ok("complaint", "list", env=env)
    check_fits(table, [r["id"] for r in rows] + [r["customer"] for r in rows])


def test_wide_report_folds_its_columns(gas, terminal):
    cli, env = gas
    rows = json.loads(cli.ok("report", "big-customers", "--format", "json", env=env))
    table = cli.ok("report", "big-customers", env=env)
    codes = [r.get("customer") or r.get("code") for r in rows if isinstance(r, dict)]
    check_fits(table, [c for c in codes if isinstance(c, str)])
    assert "more columns: use --format csv, json or xlsx" in table
    zh = cli.ok("--lang", "zh", "report", "big-customers", env=env)
    check_fits(zh, [])
    assert "列未显示" in zh


def test_a_pipe_is_never_folded(gas):
    cli, env = gas
    table = cli.ok("report", "big-customers", env={**env, "COLUMNS": "80"})
    assert "more column" not in table
    assert max(cell_len(ln) for ln in table.splitlines()) > 80


# --------------------------------------------------------------------------------------------------
# The pager


@pytest.fixture
def pager(tmp_path):
    """A pager that writes what it got into a file: (its command, the file)."""
    got = tmp_path / "paged.txt"
    script = tmp_path / "pager.py"
    script.write_text(f"import sys\nopen({str(got)!r}, 'wb').write(sys.stdin.buffer.read())\n")
    return f"{sys.executable} {script}", got


def test_long_table_is_paged(gas, terminal, pager, monkeypatch):
    cli, env = gas
    command, got = pager
    monkeypatch.setenv("LINES", "10")
    monkeypatch.delenv("CRMCTL_PAGER", raising=False)
    out = cli.ok("customer", "list", env={**env, "PAGER": command})
    assert out == ""
    assert "C000001" in got.read_text(encoding="utf-8")
    got.unlink()
    out = cli.ok("customer", "list", env={**env, "PAGER": "false", "CRMCTL_PAGER": command})  # crmctl's own first
    assert "C000001" in got.read_text(encoding="utf-8")


def test_no_pager(gas, terminal, pager, monkeypatch):
    cli, env = gas
    command, got = pager
    monkeypatch.setenv("LINES", "10")
    for extra, pager_env in ((["--no-pager"], {"PAGER": command}), ([], {"PAGER": ""}),
                             ([], {"PAGER": command, "CRMCTL_PAGER": ""})):
        out = cli.ok(*extra, "customer", "list", env={**env, **pager_env})
        assert "C000001" in out
        assert not got.exists()


def test_short_table_and_pipes_are_not_paged(gas, pager, monkeypatch):
    cli, env = gas
    command, got = pager
    monkeypatch.setenv("LINES", "10")
    out = cli.ok("customer", "list", env={**env, "PAGER": command})  # not a terminal
    assert "C000001" in out and not got.exists()
    from crmctl import output

    monkeypatch.setattr(output, "_stream_is_terminal", lambda stream: True)
    monkeypatch.setenv("LINES", "1000")
    out = cli.ok("customer", "list", "--limit", "3", env={**env, "PAGER": command})
    assert "C000001" in out and not got.exists()


def test_a_missing_pager_writes_the_table(gas, terminal, monkeypatch):
    cli, env = gas
    monkeypatch.setenv("LINES", "10")
    out = cli.ok("customer", "list", env={**env, "PAGER": "/nonexistent/pager -x"})
    assert "C000001" in out
