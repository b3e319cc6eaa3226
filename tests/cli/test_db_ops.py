"""CLI: moving a database (db copy), backups and restores."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import Cli, _pg_schema, fingerprint

POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]


def _some_data(cli: Cli) -> str:
    cli.ok("staff", "add", "xs", "--name", "销售", "--role", "sales")
    code = cli.ok("customer", "add", "--name", "甲公司", *POLY, "--owner", "xs").strip()
    cli.ok("doc", "add", code, "--type", "billing_info")
    return code


@pytest.mark.sqlite_only
def test_copy_to_new_sqlite_file(petrochem: Cli, tmp_path):
    code = _some_data(petrochem)
    target = tmp_path / "copy.db"
    out = petrochem.ok("db", "copy", "--to", str(target))
    assert "verified" in out
    copy = Cli(target)
    assert json.loads(copy.ok("customer", "show", code, "--format", "json"))["owner"] == "xs"
    # the copy keeps working: new rows get fresh ids
    assert copy.ok("customer", "add", "--name", "乙公司", *POLY).strip() == "C000002"
    petrochem.refused("db", "copy", "--to", str(target), match="already")
    petrochem.refused("db", "copy", "--to", str(petrochem.db), match="being copied")


@pytest.mark.sqlite_only
def test_copy_sqlite_to_postgresql(petrochem: Cli, pytestconfig):
    from tests.conftest import pg_url

    url = pg_url(pytestconfig) or "postgresql+psycopg://postgres@127.0.0.1/test"
    try:
        gen = _pg_schema(url)
        target = next(gen)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL server: {str(exc).splitlines()[0]}")
    try:
        code = _some_data(petrochem)
        petrochem.ok("db", "copy", "--to", target)
        from sqlalchemy import create_engine, text

        engine = create_engine(target)
        try:  # the copy left the planner's statistics (a never-analysed table's reltuples is -1)
            with engine.connect() as c:
                assert c.execute(text("select reltuples from pg_class where relname = 'customer' "
                                      "and relnamespace = current_schema()::regnamespace")).scalar() == 1
        finally:
            engine.dispose()
        pg = Cli(target)
        assert json.loads(pg.ok("customer", "show", code, "--format", "json"))["name"] == "甲公司"
        assert pg.ok("customer", "add", "--name", "乙公司", *POLY).strip() == "C000002"
        audit = json.loads(pg.ok("audit", "list", "--format", "json"))
        assert audit[0]["action"] == "init"
    finally:
        for _ in gen:
            pass


@pytest.mark.sqlite_only
def test_backup_and_restore(petrochem: Cli, tmp_path):
    code = _some_data(petrochem)
    bak = tmp_path / "weekly.bak"
    petrochem.ok("db", "backup", str(bak))
    before = fingerprint(bak)
    petrochem.ok("customer", "edit", code, "--name", "改名公司")
    assert "restored" in petrochem.ok("db", "restore", str(bak))
    # the backup's data, and one more entry in its audit trail: the restore itself
    assert json.loads(petrochem.ok("customer", "show", code, "--format", "json"))["name"] == "甲公司"
    restored = json.loads(petrochem.ok("audit", "list", "--format", "json"))
    assert restored[-1]["action"] == "db.restore" and restored[-2]["action"] == "db.backup"
    assert "chained" in petrochem.ok("db", "check")
    assert fingerprint(bak) == before
    assert list(tmp_path.glob("crm.db.before-restore-*.bak"))
    junk = tmp_path / "junk.bak"
    junk.write_bytes(b"not a database" * 50)
    petrochem.refused("db", "restore", str(junk), match="not a crmctl backup")
    petrochem.refused("db", "restore", str(tmp_path / "missing.bak"), match="no backup file")
    empty = tmp_path / "empty.bak"
    sqlite3.connect(empty).close()
    petrochem.refused("db", "restore", str(empty), match="not a crmctl backup")


def _on_nfs(monkeypatch, folder):
    """The mount table as Linux would show it with ``folder`` mounted from a file server."""
    import crmctl.db

    table = f"/dev/sda1 / ext4 rw 0 0\nfiler:/export {str(folder).replace(' ', chr(92) + '040')} nfs4 rw 0 0\n"
    monkeypatch.setattr(crmctl.db, "_mounts_text", lambda: table)


@pytest.mark.sqlite_only
def test_a_sqlite_database_on_a_network_filesystem_is_refused(petrochem: Cli, tmp_path, monkeypatch):
    _on_nfs(monkeypatch, tmp_path)
    r = petrochem.refused("customer", "list", match="network filesystem (nfs4)")
    assert "PostgreSQL" in r.stderr and "db copy --to" in r.stderr
    fresh = tmp_path / "new.db"
    Cli(fresh).refused("init", "--policy", "petrochem", "--admin", "admin", actor="", match="network filesystem")
    assert not fresh.exists()
    petrochem.refused("db", "copy", "--to", str(tmp_path / "copy.db"), match="network filesystem")
    assert not (tmp_path / "copy.db").exists()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the default database, in the user data folder
    r = Cli(None).runner.invoke(__import__("crmctl.cli", fromlist=["app"]).app, ["customer", "list"])
    assert r.exit_code == 1 and "network filesystem" in r.stderr
    # the escape hatch of a database only this host opens (README): it works as before
    assert "C0" not in petrochem.ok("customer", "list", env={"CRMCTL_ALLOW_NETWORK_FS": "1"})
    petrochem.ok("db", "copy", "--to", str(tmp_path / "copy.db"), env={"CRMCTL_ALLOW_NETWORK_FS": "1"})


@pytest.mark.sqlite_only
def test_a_local_folder_beside_a_network_mount_is_used(petrochem: Cli, tmp_path, monkeypatch):
    _on_nfs(monkeypatch, tmp_path / "shared")  # another folder is on NFS, not the database's
    petrochem.ok("customer", "list")
    import crmctl.db

    monkeypatch.setattr(crmctl.db, "_mounts_text", lambda: None)  # not Linux: not checked
    petrochem.ok("customer", "list")


@pytest.mark.sqlite_only
def test_backup_keeps_the_newest_of_a_series(petrochem: Cli, tmp_path):
    import os

    folder = tmp_path / "backups"
    folder.mkdir()
    olds = ["crm-2026-10-25.db", "crm-2026-11-01.db", "crm-2026-11-08.db", "crm-2026-11-15.db"]
    for i, name in enumerate(olds):
        (folder / name).write_bytes(b"an old backup")
        os.utime(folder / name, (1_700_000_000 + i, 1_700_000_000 + i))
    others = ["crm-latest.db", "notes-2026.txt", "crm-2026-11-01.db.partial-1", "crm-2026-11-01.dump"]
    for name in others:
        (folder / name).write_bytes(b"not of the series")
    (folder / "crm-2026-11-11.db").mkdir()  # a folder is never removed
    out = petrochem.ok("db", "backup", str(folder / "crm-2026-11-22.db"), "--keep", "3")
    lines = out.splitlines()
    assert lines[0] == str(folder / "crm-2026-11-22.db")
    assert lines[1:] == [f"removed older backup {folder / n}" for n in olds[:2]]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["crm-2026-11-08.db", "crm-2026-11-15.db", "crm-2026-11-22.db", "crm-2026-11-11.db", *others])
    assert fingerprint(folder / "crm-2026-11-22.db") is not None
    # without --keep nothing is removed; --keep 1 leaves the one just written
    petrochem.ok("db", "backup", str(folder / "crm-2026-11-29.db"))
    assert len(list(folder.glob("crm-2026-*.db"))) == 5
    out = petrochem.ok("db", "backup", str(folder / "crm-2026-12-06.db"), "--keep", "1")
    assert out.count("removed older backup") == 4  # 11-08, 11-15, 11-22, 11-29
    assert sorted(p.name for p in folder.glob("crm-2026-*.db")) == ["crm-2026-11-11.db", "crm-2026-12-06.db"]


@pytest.mark.sqlite_only
def test_keep_never_removes_the_database_and_needs_a_series(tmp_path, make_cli):
    cli = make_cli("petrochem", name="crm2.db")  # itself named like a member of crm<stamp>.db
    assert "removed" not in cli.ok("db", "backup", str(tmp_path / "crm3.db"), "--keep", "1")
    assert cli.db.exists() and (tmp_path / "crm3.db").exists()
    cli.refused("db", "backup", str(tmp_path / "weekly.bak"), "--keep", "2", match="--keep needs a date or number")
    assert not (tmp_path / "weekly.bak").exists()
    r = cli("db", "backup", str(tmp_path / "crm-1.db"), "--keep", "0")
    assert r.exit_code == 2  # Click's own usage error: N is at least 1
