"""CLI: the audit trail is tamper-evident (issue 13).

The database is changed with plain ``sqlite3`` -- another tool, outside crmctl -- and ``db check``
must exit 1 naming the first entry that no longer chains (its id, action and time); a clean
database, a backup and a copy pass.  ``db restore`` refuses a tampered backup and leaves the live
database as it was; backup, copy and restore are an administrator's.  A fixed "now" dates the event,
never the time an entry was written.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from datetime import datetime
from pathlib import Path

import pytest

from crmctl.rules import audit_chain
from crmctl.services.app import Settings, open_app
from crmctl.services.staff import edit_staff
from crmctl.settings import os_account
from tests.conftest import NOW, Cli, fingerprint

pytestmark = pytest.mark.sqlite_only

POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]


@pytest.fixture
def cli(petrochem: Cli) -> Cli:
    """petrochem with a sales clerk xs and a few audited changes (init, staff, customer, edit, document)."""
    petrochem.ok("staff", "add", "xs", "--name", "销售", "--role", "sales")
    code = petrochem.ok("customer", "add", "--name", "甲公司", *POLY, "--owner", "xs").strip()
    petrochem.ok("customer", "edit", code, "--name", "乙公司")
    petrochem.ok("doc", "add", code, "--type", "billing_info")
    petrochem.ok("customer", "edit", code, "--name", "丙公司", actor="xs")  # the administrator acting for xs
    return petrochem


def rows(db) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("select * from audit_log order by id")]
    finally:
        conn.close()


def tamper(db, sql: str, params=()) -> None:
    """Another tool writes to the file: stdlib sqlite3, outside crmctl."""
    conn = sqlite3.connect(db)
    try:
        conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def check_fails(cli: Cli, *names) -> str:
    """``db check`` exits 1 with one Error: line naming ``names`` (and changes nothing)."""
    r = cli.refused("db", "check", actor="")
    line = r.stderr.splitlines()[0]
    for name in names:
        assert str(name) in line, f"{name!r} not in {line!r}"
    return line


def entry_name(entry: dict) -> list[str]:
    """What db check names an entry by: its id, action and actor (and time, UTC)."""
    at = audit_chain.utc_text(entry["at"])[:19].replace("T", " ")
    return [f"audit entry {entry['id']} (", entry["action"], entry["actor"], at]


def test_a_clean_trail_passes(cli: Cli):
    out = cli.ok("db", "check")
    n = len(rows(cli.db))
    assert f"audit trail of {n} entries chained" in out
    head = sqlite3.connect(cli.db).execute("select last_hash, entries from audit_chain").fetchone()
    assert head == (rows(cli.db)[-1]["hash"], n)
    assert head[0][:16] in out


def test_every_entry_is_sealed_and_chained(cli: Cli):
    previous = audit_chain.GENESIS
    for e in rows(cli.db):
        assert e["hash"] == audit_chain.entry_hash(previous, e)
        assert e["written_at"] is not None
        previous = e["hash"]
    acted_for = rows(cli.db)[-1]
    assert (acted_for["action"], acted_for["actor"], acted_for["by_login"]) == ("customer.edit", "xs", "admin")


@pytest.mark.parametrize("column, value", [
    ("after", '{"name": "假公司"}'),
    ("before", '{"name": "别的名字"}'),
    ("actor", "xs"),
    ("by_login", "xs"),
    ("written_at", "2020-01-01 00:00:00.000000"),
    ("at", "2020-01-01 00:00:00.000000"),
    ("action", "customer.view"),
    ("note", "补录"),
])
def test_an_edited_entry_is_named(cli: Cli, column, value):
    target = rows(cli.db)[2]  # the third entry: the customer's creation
    tamper(cli.db, f"update audit_log set {column} = ? where id = ?", (value, target["id"]))
    edited = rows(cli.db)[2]
    line = check_fails(cli, *entry_name(edited))
    assert "does not chain" in line and "edited" in line


def test_edited_json_that_means_the_same_is_not_a_change(cli: Cli):
    """The hash covers the values, not how the JSON text is spelt."""
    target = rows(cli.db)[1]
    respelt = json.dumps(json.loads(target["after"]), ensure_ascii=True, indent=1, sort_keys=True)
    tamper(cli.db, "update audit_log set after = ? where id = ?", (respelt, target["id"]))
    assert "chained" in cli.ok("db", "check")


def test_a_deleted_entry_names_the_one_after_it(cli: Cli):
    entries = rows(cli.db)
    tamper(cli.db, "delete from audit_log where id = ?", (entries[2]["id"],))
    check_fails(cli, *entry_name(entries[3]))


def test_the_first_entry_deleted(cli: Cli):
    entries = rows(cli.db)
    tamper(cli.db, "delete from audit_log where id = ?", (entries[0]["id"],))
    check_fails(cli, *entry_name(entries[1]))


def test_the_newest_entries_deleted(cli: Cli):
    entries = rows(cli.db)
    tamper(cli.db, "delete from audit_log where id >= ?", (entries[-2]["id"],))
    check_fails(cli, f"newest entry {entries[-3]['id']} is not the chain's head", "removed")


def test_the_newest_entry_deleted_and_the_head_moved_back(cli: Cli):
    """Without recomputing a hash: the head set to the entry before -- the entry count gives it away."""
    entries = rows(cli.db)
    tamper(cli.db, "delete from audit_log where id = ?", (entries[-1]["id"],))
    tamper(cli.db, "update audit_chain set last_hash = ?", (entries[-2]["hash"],))
    check_fails(cli, f"counts {len(entries)} entries but the trail holds {len(entries) - 1}")


def test_everything_deleted(cli: Cli):
    tamper(cli.db, "delete from audit_log")
    check_fails(cli, "the trail is empty but crmctl wrote entries")


def _forge(db, template: dict, **changes) -> int:
    cols = [c for c in template if c != "id"]
    values = {**{c: template[c] for c in cols}, **changes}
    conn = sqlite3.connect(db)
    try:
        cur = conn.execute(f"insert into audit_log ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
                           [values[c] for c in cols])
        conn.commit()
        return cur.lastrowid
    finally:
        conn.close()


def test_a_forged_entry_is_named(cli: Cli):
    entries = rows(cli.db)
    forged = _forge(cli.db, entries[-1], note="伪造", hash=None)
    check_fails(cli, f"audit entry {forged} (", "no hash", "another tool")


def test_a_forged_entry_with_a_copied_hash_is_named(cli: Cli):
    entries = rows(cli.db)
    forged = _forge(cli.db, entries[-1], action="customer.approve", hash=entries[-1]["hash"])
    check_fails(cli, f"audit entry {forged} (customer.approve", "does not chain")


def test_a_forged_entry_sealed_like_crmctl_but_not_the_head(cli: Cli):
    """Someone who knows the chain's rule seals a forged entry but leaves the head: caught; moving the
    head as well is caught by the count (recomputing everything is beyond SQLite, see README)."""
    entries = rows(cli.db)
    forged = {**entries[-1], "action": "customer.approve", "note": "伪造"}
    forged["hash"] = audit_chain.entry_hash(entries[-1]["hash"], forged)
    new_id = _forge(cli.db, forged)
    check_fails(cli, f"newest entry {new_id} is not the chain's head")
    tamper(cli.db, "update audit_chain set last_hash = ?", (forged["hash"],))
    check_fails(cli, f"counts {len(entries)} entries but the trail holds {len(entries) + 1}")


def test_an_edited_head_is_named(cli: Cli):
    entries = rows(cli.db)
    tamper(cli.db, "update audit_chain set last_hash = ?", ("f" * 64,))
    check_fails(cli, f"newest entry {entries[-1]['id']} is not the chain's head", "head edited")
    tamper(cli.db, "delete from audit_chain")
    check_fails(cli, "is not the chain's head")


def test_swapped_entries_are_named(cli: Cli):
    a, b = rows(cli.db)[1:3]
    tamper(cli.db, "update audit_log set action = ?, entity_key = ? where id = ?", (b["action"], b["entity_key"], a["id"]))
    tamper(cli.db, "update audit_log set action = ?, entity_key = ? where id = ?", (a["action"], a["entity_key"], b["id"]))
    check_fails(cli, f"audit entry {a['id']} (")


# --------------------------------------------------------------------------------------------------
# backups, copies, restores


def test_a_backup_keeps_the_chain(cli: Cli, tmp_path):
    bak = tmp_path / "weekly.bak"
    cli.ok("db", "backup", str(bak))
    assert "chained" in Cli(bak).ok("db", "check")
    assert stat.S_IMODE(bak.stat().st_mode) == 0o660
    backed = rows(bak)[-1]
    assert (backed["action"], backed["actor"], json.loads(backed["after"])) == ("db.backup", "admin", {"to": str(bak)})
    # the live database goes on chaining after the entry it shares with the backup
    cli.ok("customer", "edit", "C000001", "--name", "丁公司")
    assert "chained" in cli.ok("db", "check")


def test_a_copy_keeps_the_chain(cli: Cli, tmp_path):
    target = tmp_path / "copy.db"
    old = os.umask(0o002)
    try:
        cli.ok("db", "copy", "--to", str(target))
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o660  # as private as the database copied
    copy = Cli(target)
    assert "chained" in copy.ok("db", "check")
    assert "chained" in cli.ok("db", "check")
    last = json.loads(copy.ok("audit", "list", "--format", "json", "--limit", "1"))[0]
    assert (last["action"], last["actor"]) == ("db.copy", "admin")
    copy.ok("staff", "add", "yy", "--name", "新人", "--role", "sales")
    assert "chained" in copy.ok("db", "check")


def test_a_restore_keeps_the_chain_and_records_who(cli: Cli, tmp_path):
    cli.ok("staff", "add", "ops", "--name", "运维", "--role", "sales", "--admin", "--os-user", "ops_account")
    bak = tmp_path / "weekly.bak"
    cli.ok("db", "backup", str(bak))
    cli.ok("db", "restore", str(bak))
    assert "chained" in cli.ok("db", "check")
    last = rows(cli.db)[-1]
    assert (last["action"], last["actor"], last["by_login"]) == ("db.restore", "admin", None)
    cli.ok("db", "restore", str(bak), actor="ops")  # acting for another administrator: recorded as both
    assert "chained" in cli.ok("db", "check")
    last = rows(cli.db)[-1]
    assert (last["action"], last["actor"], last["by_login"]) == ("db.restore", "ops", "admin")


@pytest.mark.parametrize("how", ["edit", "delete", "forge", "head"])
def test_restore_refuses_a_tampered_backup(cli: Cli, tmp_path, how):
    bak = tmp_path / "weekly.bak"
    cli.ok("db", "backup", str(bak))
    entries = rows(bak)
    if how == "edit":
        tamper(bak, "update audit_log set after = ? where id = ?", ('{"name": "假"}', entries[2]["id"]))
    elif how == "delete":
        tamper(bak, "delete from audit_log where id = ?", (entries[1]["id"],))
    elif how == "forge":
        _forge(bak, entries[-1], action="customer.approve")
    else:
        tamper(bak, "update audit_chain set last_hash = ?", ("0" * 64,))
    live = fingerprint(cli.db)
    r = cli.refused("db", "restore", str(bak), match="is not restored")
    assert "audit" in r.stderr
    assert fingerprint(cli.db) == live
    assert not list(tmp_path.glob("crm.db.before-restore-*"))  # nothing was even set aside


def test_restore_refuses_a_backup_with_dangling_references(cli: Cli, tmp_path):
    bak = tmp_path / "weekly.bak"
    cli.ok("db", "backup", str(bak))
    tamper(bak, "delete from staff where login = 'xs'")  # foreign keys are off for plain sqlite3
    cli.refused("db", "restore", str(bak), match="points to a missing")


def test_backup_copy_and_restore_are_for_administrators(cli: Cli, tmp_path, monkeypatch):
    bak = tmp_path / "weekly.bak"
    cli.ok("db", "backup", str(bak))
    # the administrator acting for xs has xs's rights only
    for args in (("db", "backup", str(tmp_path / "x.bak")), ("db", "copy", "--to", str(tmp_path / "x.db")),
                 ("db", "restore", str(bak))):
        cli.refused(*args, actor="xs", match="xs may not")
        cli.refused(*args, actor="", env={"CRMCTL_USER": "xs"}, match="only an administrator")
    assert not (tmp_path / "x.bak").exists() and not (tmp_path / "x.db").exists()
    # the process itself the sales clerk: the administrator moves to another account and binds this
    # one to xs (as that account, through the services)
    me = os_account()
    if not me:
        pytest.skip("this process's uid has no account name")
    cli.ok("staff", "edit", "admin", "--os-user", "some_admin_account", actor="")
    with open_app(Settings(db=str(cli.db), now=NOW, os_user="some_admin_account")) as app:
        edit_staff(app, "xs", os_user=me)
    clerk = Cli(cli.db, actor="")
    monkeypatch.delenv("CRMCTL_NOW")  # a fixed "now" is refused to xs before anything else
    assert json.loads(clerk.ok("audit", "list", "--format", "json", "--limit", "1"))[0]["action"] == "staff.edit"
    for args in (("db", "backup", str(tmp_path / "x.bak")), ("db", "copy", "--to", str(tmp_path / "x.db")),
                 ("db", "restore", str(bak))):
        clerk.refused(*args, match="xs may not")
        clerk.refused(*args, actor="admin", match="xs may not act as admin")
    assert not (tmp_path / "x.bak").exists() and not (tmp_path / "x.db").exists()


def test_restore_of_a_tampered_backup_is_refused_to_a_non_administrator_first(cli: Cli, tmp_path):
    bak = tmp_path / "weekly.bak"
    cli.ok("db", "backup", str(bak))
    tamper(bak, "delete from audit_log where id = 1")
    cli.refused("db", "restore", str(bak), actor="xs", match="only an administrator")


# --------------------------------------------------------------------------------------------------
# the time written is the real time


def test_a_fixed_now_dates_the_event_not_the_writing(cli: Cli):
    t0 = time.time()
    cli.ok("customer", "edit", "C000001", "--name", "远未来公司", env={"CRMCTL_NOW": "2100-12-30T00:00:00"})
    t1 = time.time()
    entry = json.loads(cli.ok("audit", "list", "--format", "json", "--action", "customer.edit"))[-1]
    assert entry["at"] == "2100-12-30T00:00:00+08:00"
    written = datetime.fromisoformat(entry["written_at"]).timestamp()
    assert t0 - 1 <= written <= t1 + 1, (t0, entry["written_at"], t1)
    assert entry["by"] is None and entry["actor"] == "admin"
    # the raw row: the event time is the fixed one, the written time the real one (UTC)
    raw = rows(cli.db)[-1]
    assert raw["at"].startswith("2100-12-29 16:00:00")
    assert t0 - 1 <= datetime.fromisoformat(raw["written_at"] + "+00:00").timestamp() <= t1 + 1
    assert "chained" in cli.ok("db", "check")


def test_bulk_entries_are_written_now_and_chained(cli: Cli, tmp_path):
    """An import's entries (written in bulk) carry the real time written and who acted for whom too."""
    csv_file = tmp_path / "c.csv"
    csv_file.write_text("name,product_line,channel,sales_form\n"
                        + "".join(f"导入{i}公司,polyolefin,distributor,auction\n" for i in range(30)), encoding="utf-8")
    t0 = time.time()
    cli.ok("customer", "import", str(csv_file), actor="xs", env={"CRMCTL_NOW": "2030-01-01T08:00:00"})
    t1 = time.time()
    imported = [e for e in json.loads(cli.ok("audit", "list", "--format", "json", "--action", "customer.*"))
                if e["at"].startswith("2030-01-01")]
    assert len(imported) >= 30
    for e in imported:
        assert (e["actor"], e["by"]) == ("xs", "admin")
        assert t0 - 1 <= datetime.fromisoformat(e["written_at"]).timestamp() <= t1 + 1
    assert "chained" in cli.ok("db", "check")


def test_both_times_and_both_people_are_shown(cli: Cli):
    table = cli.ok("audit", "list", "--limit", "2")
    for heading in ("Time", "Written", "Actor", "Entered by"):
        assert heading in table
    table = cli.ok("--lang", "zh", "audit", "list", "--limit", "2")
    for heading in ("时间", "写入时间", "操作人", "代办人"):
        assert heading in table
    csv_text = cli.ok("audit", "list", "--format", "csv", "--limit", "1")
    header, line = csv_text.splitlines()[:2]
    assert header.split(",")[:5] == ["id", "at", "written_at", "actor", "by"]
    assert ",xs,admin,customer.edit," in line
    entry = json.loads(cli.ok("audit", "list", "--format", "json", "--limit", "1"))[0]
    assert entry["at"] == "2026-11-22T10:00:00+08:00"  # CRMCTL_NOW of the test run
    assert entry["written_at"] != entry["at"] and entry["written_at"].endswith("+08:00")
    assert (entry["actor"], entry["by"]) == ("xs", "admin")


# --------------------------------------------------------------------------------------------------
# file permissions


def test_new_database_and_backups_are_private_to_owner_and_group(tmp_path):
    db = tmp_path / "new.db"
    cli = Cli(db)
    old = os.umask(0o002)  # even under a permissive umask
    try:
        cli.ok("init", "--policy", "petrochem", "--admin", "admin", actor="")
        cli.ok("staff", "add", "xs", "--name", "销售", "--role", "sales")
        assert stat.S_IMODE(db.stat().st_mode) == 0o660
        conn = sqlite3.connect(db)  # an open connection keeps the -wal and -shm files
        try:
            conn.execute("select count(*) from staff").fetchone()
            conn.execute("begin immediate")
            conn.execute("update staff set unit = 'x' where login = 'xs'")
            for suffix in ("-wal", "-shm"):
                side = Path(f"{db}{suffix}")
                assert side.exists() and stat.S_IMODE(side.stat().st_mode) == 0o660, suffix
            conn.rollback()
        finally:
            conn.close()
        bak = tmp_path / "b.bak"
        cli.ok("db", "backup", str(bak))
        assert stat.S_IMODE(bak.stat().st_mode) == 0o660
    finally:
        os.umask(old)


def test_check_warns_about_a_world_readable_database(petrochem: Cli):
    os.chmod(petrochem.db, 0o660)
    assert "Warning" not in petrochem.ok("db", "check")
    os.chmod(petrochem.db, 0o664)
    out = petrochem.ok("db", "check")
    assert "Warning" in out and "every account" in out and "chmod o-rwx" in out


# --------------------------------------------------------------------------------------------------
# writers at the same time


WRITER = r"""
import sys
from crmctl.services.app import Settings, open_app
from crmctl.services.staff import add_staff, edit_staff
app = open_app(Settings(db=sys.argv[1], actor="admin"))
for i in range(int(sys.argv[3])):
    login = f"w{sys.argv[2]}_{i}"
    add_staff(app, login, "并发", ["sales"], None)
    edit_staff(app, login, unit=f"u{i}")
"""


def test_writers_at_the_same_time_keep_one_chain(cli: Cli):
    """Each entry is sealed from the head read inside the writer's own transaction: four processes
    writing at once never fork the chain."""
    import subprocess
    import sys

    n_writers, each = 4, 15
    before = len(rows(cli.db))
    env = {**os.environ, "CRMCTL_NOW": "2026-11-22T10:00:00"}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(cli.db), str(k), str(each)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(n_writers)]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert len(rows(cli.db)) == before + n_writers * each * 2
    assert f"audit trail of {before + n_writers * each * 2} entries chained" in cli.ok("db", "check")
