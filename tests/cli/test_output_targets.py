"""Where ``--output`` writes (issue 14): a regular file is replaced atomically; a character device or
a FIFO is written to directly (a write error is one Error: line, exit 1); ``-`` and the process's
own standard output mean standard output; anything else that is not a regular file is refused.

And ``db check`` / ``db backup`` on a corrupted (malformed) database file: one clear line, exit 1,
no backup left behind."""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import Cli, assert_refused

pytestmark = pytest.mark.sqlite_only


def _device(tmp_path: Path, name: str, minor: int) -> str:
    """A character device to write to: as root a node of our own in tmp_path (the same driver as
    /dev/NAME), so that a crmctl that replaces devices with files cannot damage the machine's /dev;
    else /dev/NAME itself (which an ordinary account cannot replace)."""
    node = tmp_path / name
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        with open(node, "wb"):
            pass
        return str(node)
    except (OSError, AttributeError):  # not root, a nodev mount, or no mknod on this OS
        node.unlink(missing_ok=True)
    if not os.path.exists(f"/dev/{name}"):
        pytest.skip(f"no /dev/{name} on this OS")
    return f"/dev/{name}"


def test_output_to_dev_null_stays_a_device(fuel: Cli, tmp_path):
    null = _device(tmp_path, "null", 3)
    r = fuel("customer", "list", "--format", "csv", "-o", null)
    assert r.exit_code == 0, r.stderr
    assert stat.S_ISCHR(os.stat(null).st_mode), f"{null} was replaced by a regular file"
    assert r.stdout == ""


def test_output_to_dev_full_is_a_write_error(fuel: Cli, tmp_path):
    full = _device(tmp_path, "full", 7)
    r = fuel("staff", "list", "--format", "csv", "-o", full)
    assert_refused(r, full)
    assert "no space" in r.stderr.lower()
    assert stat.S_ISCHR(os.stat(full).st_mode), f"{full} was replaced by a regular file"


def test_output_to_a_fifo_writes_into_it(fuel: Cli, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    r = fuel("staff", "list", "--format", "csv", "-o", fifo)
    reader.join(timeout=30)
    assert r.exit_code == 0, r.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced by a regular file"
    assert got and got[0].decode().startswith("login,") and "admin" in got[0].decode()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_output_dash_is_standard_output(fuel: Cli, tmp_path):
    r = fuel("staff", "list", "--format", "csv", "-o", "-")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("login,")
    assert not Path("-").exists()


def test_output_to_dev_stdout_in_a_real_process(fuel: Cli, tmp_path):
    env = {**os.environ, "CRMCTL_DB": str(fuel.db), "CRMCTL_USER": "admin"}
    r = subprocess.run([sys.executable, "-m", "crmctl.cli", "staff", "list", "--format", "csv", "-o", "/dev/stdout"],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("login,")


def test_output_to_a_folder_or_socket_is_refused(fuel: Cli, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    r = fuel("staff", "list", "--format", "csv", "-o", folder)
    assert r.exit_code in (1, 2) and "Traceback" not in r.stderr
    assert folder.is_dir() and list(folder.iterdir()) == []
    sock_path = tmp_path / "s.sock"
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(sock_path))
        r = fuel("staff", "list", "--format", "csv", "-o", sock_path)
        assert_refused(r, "not a regular file")
        assert stat.S_ISSOCK(os.stat(sock_path).st_mode)
    finally:
        sock.close()


def test_output_to_a_regular_file_is_still_atomic(fuel: Cli, tmp_path):
    out = tmp_path / "staff.csv"
    out.write_text("old\n")
    fuel.ok("staff", "list", "--format", "csv", "-o", out)
    assert out.read_text().startswith("login,")
    assert [p.name for p in tmp_path.iterdir() if p.name != "crm.db" and not p.name.startswith("crm.db")] == ["staff.csv"]


def _corrupt(db: Path) -> None:
    """Scramble pages in the middle of the file (after checkpointing the log into it), as a disk
    error would: the header stays, the b-trees do not."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    with open(db, "r+b") as fh:
        for n in range(2, pages, 3):
            fh.seek(n * page + 8)
            fh.write(b"\xde\xad\xbe\xef" * 64)


def test_db_check_on_a_corrupted_file_reports(fuel: Cli):
    for i in range(30):
        fuel.ok("customer", "add", "--name", f"损坏客户{i}", "-s", "nature=big", "-s", "card=unit", "-s", "industry=taxi")
    _corrupt(fuel.db)
    r = fuel("db", "check")
    assert r.exit_code == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    first = r.stderr.splitlines()[0]
    assert first.startswith("Error:") and "problem" in first and "database error" not in first, r.stderr
    assert "malformed" in first or "integrity" in first or "corrupt" in first, first


def test_db_backup_of_a_corrupted_file_is_refused(fuel: Cli, tmp_path):
    for i in range(30):
        fuel.ok("customer", "add", "--name", f"损坏客户{i}", "-s", "nature=big", "-s", "card=unit", "-s", "industry=taxi")
    _corrupt(fuel.db)
    dest = tmp_path / "backup.db"
    r = fuel("db", "backup", dest)
    assert_refused(r, "not backed up")
    assert not dest.exists()
    assert not list(tmp_path.glob("backup.db*")), sorted(os.listdir(tmp_path))
