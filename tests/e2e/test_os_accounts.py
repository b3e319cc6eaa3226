"""End to end with real OS accounts (issue 13): who runs crmctl is who acts.

CI runs the suite as root, so this module creates throw-away accounts (``useradd``), a group they
share and a setgid folder of that group for the database -- the set-up the README describes for a
team sharing one SQLite file -- and runs the crmctl console script next to ``sys.executable`` as
each of them with ``runuser -u NAME --``.  Skipped, with the reason, where that is not possible (not
root, no useradd/runuser, or an interpreter the new accounts cannot run, e.g. a virtualenv under
``/root``).

The people (petrochem, admission chain sales -> finance -> gm):

* ``A`` runs ``init``: the administrator;
* ``B`` sales and finance (one person, one step keeps them to one step of an admission);
* ``C`` finance, ``D`` gm;
* ``E`` an account bound to nobody, ``F`` a staff member who has left.

Non-administrators may not fix "now", so these processes run on the real clock; nothing asserted
depends on the date (documents expire in 2099).
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import assert_refused, fingerprint

pytestmark = pytest.mark.sqlite_only

POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]
DOCS = [("business_license", "2099-12-31"), ("tax_registration", "2099-12-31"), ("org_code", "2099-12-31"),
        ("billing_info", None)]
PEOPLE = "ABCDEF"
CRMCTL = Path(sys.executable).parent / "crmctl"


def _why_not() -> str | None:
    if not sys.platform.startswith("linux"):
        return "OS accounts are created with Linux useradd"
    if os.geteuid() != 0:
        return "creating OS accounts needs root (CI runs the suite as root)"
    for tool in ("useradd", "userdel", "groupadd", "groupdel", "runuser"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not CRMCTL.exists():
        return f"no crmctl console script next to the interpreter ({CRMCTL})"
    return None


class Team:
    """The accounts, their shared folder, and crmctl run as each of them."""

    def __init__(self, base: Path, group: str, names: dict[str, str]):
        self.base, self.group, self.names = base, group, names
        self.data = base / "data"
        self.gid = grp.getgrnam(group).gr_gid

    def uid(self, who: str) -> int:
        return pwd.getpwnam(self.names[who]).pw_uid

    def run(self, who: str, *args, db: Path | None = None, env: dict | None = None, timeout: int = 120):
        name = self.names[who]
        home = self.base / "home" / name
        environ = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"),
                   "XDG_DATA_HOME": str(home / "data"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                   "PYTHONIOENCODING": "utf-8", "COLUMNS": "250", "CRMCTL_LANG": "en",  # the messages matched
                   **({"CRMCTL_DB": str(db)} if db else {}),
                   **(env or {})}
        argv = ["runuser", "-u", name, "--", "env", "-i", *(f"{k}={v}" for k, v in environ.items()), str(CRMCTL),
                *map(str, args)]
        return subprocess.run(argv, capture_output=True, text=True, cwd=self.base, timeout=timeout)

    def ok(self, who: str, *args, **kw) -> str:
        r = self.run(who, *args, **kw)
        assert r.returncode == 0, f"{who} ({self.names[who]}) {args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r.stdout

    def json(self, who: str, *args, **kw):
        return json.loads(self.ok(who, *args, "--format", "json", **kw))

    def refused(self, who: str, *args, db: Path, match: str | None = None, **kw):
        """Exit 1, one Error: line, no traceback, and not a row of the database changed."""
        before = fingerprint(db)
        r = self.run(who, *args, db=db, **kw)
        assert_refused(SimpleNamespace(exit_code=r.returncode, stdout=r.stdout, stderr=r.stderr), match)
        assert fingerprint(db) == before, f"{who} {args}: a refused command changed the database"
        return r

    def login(self, who: str) -> str:
        return self.names[who]


def _sh(*argv) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def team():
    why = _why_not()
    if why:
        pytest.skip(why)
    tag = f"crmt_{os.getpid()}"
    group = f"{tag}_g"
    names = {p: f"{tag}_{p.lower()}" for p in PEOPLE}
    base = Path(tempfile.mkdtemp(prefix="crmt-e2e-", dir="/tmp"))
    os.chmod(base, 0o755)
    made: list[str] = []
    group_made = False
    try:
        _sh("groupadd", group)
        group_made = True
        for name in names.values():
            _sh("useradd", "-M", "-U", "-G", group, "-s", "/bin/sh", name)
            made.append(name)
        t = Team(base, group, names)
        # the team's folder: the group's, setgid so that every file made in it is the group's too
        t.data.mkdir()
        os.chown(t.data, 0, t.gid)
        os.chmod(t.data, 0o2770)
        for who, name in names.items():
            home = base / "home" / name
            home.mkdir(parents=True)
            os.chown(home, t.uid(who), pwd.getpwnam(name).pw_gid)
            os.chmod(home, 0o700)
        probe = subprocess.run(["runuser", "-u", names["A"], "--", sys.executable, "-c", "import crmctl.cli"],
                               capture_output=True, text=True, cwd=base)
        if probe.returncode != 0:
            pytest.skip(f"the new accounts cannot run this interpreter ({sys.executable}): "
                        f"{(probe.stderr.strip().splitlines() or ['?'])[-1]} -- run the suite from a virtualenv "
                        "every account can read (not under /root)")
        yield t
    finally:
        for name in made:
            subprocess.run(["userdel", "-r", name], capture_output=True)
        if group_made:
            subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def template(team):
    """A's database with the team, as A set it up; each test works on a copy."""
    db = team.data / "template.db"
    team.ok("A", "init", "--policy", "petrochem", db=db)
    a = team.login
    team.ok("A", "staff", "add", a("B"), "--name", "销售兼财务", "--role", "sales", "--role", "finance", db=db)
    team.ok("A", "staff", "add", a("C"), "--name", "财务", "--role", "finance", db=db)
    team.ok("A", "staff", "add", a("D"), "--name", "总经理", "--role", "gm", db=db)
    team.ok("A", "staff", "add", a("F"), "--name", "离职者", "--role", "sales", db=db)
    team.ok("A", "staff", "leave", a("F"), "--handover-to", a("B"), db=db)
    code = team.ok("A", "customer", "add", "--name", "河北华塑化工有限公司", *POLY, "--owner", a("B"), db=db).strip()
    for kind, expires in DOCS:
        team.ok("A", "doc", "add", code, "--type", kind, *(["--expires", expires] if expires else []), db=db)
    assert not Path(f"{db}-wal").exists()  # every process closed it: the copies are whole
    return db


@pytest.fixture
def db(team, template, request):
    path = team.data / f"{request.node.name[:40]}.db"
    shutil.copyfile(template, path)
    os.chown(path, team.uid("A"), team.gid)
    os.chmod(path, 0o660)
    return path


# --------------------------------------------------------------------------------------------------


def test_who_runs_init_is_the_administrator(team):
    db = team.data / "fresh.db"
    team.ok("A", "init", "--policy", "petrochem", db=db)
    st = db.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (team.uid("A"), team.gid, 0o660)
    staff = team.json("A", "staff", "list", db=db)
    assert [(s["login"], s["os_user"], s["admin"]) for s in staff] == [(team.login("A"), team.login("A"), True)]
    assert team.login("A") in team.ok("A", "staff", "list", db=db)  # the table shows the account too
    init = team.json("A", "audit", "list", db=db)[0]
    assert (init["action"], init["actor"], init["by"]) == ("init", team.login("A"), None)
    # B shares the folder but is nobody in this database yet; once added, B is themselves
    team.refused("B", "staff", "list", db=db, match=f"OS account '{team.login('B')}' is bound to no staff member")
    team.ok("A", "staff", "add", team.login("B"), "--name", "销售", "--role", "sales", db=db)
    out = team.ok("B", "db", "check", db=db)
    assert "chained" in out and "Warning" not in out


def test_a_non_administrator_cannot_act_as_anyone_else(team, db):
    a, b, d = team.login("A"), team.login("B"), team.login("D")
    for other in (a, d.upper()):
        team.refused("B", "--as", other, "staff", "add", "x1", "--name", "某人", "--role", "sales", db=db,
                     match=f"{b} may not act as")
        team.refused("B", "staff", "add", "x1", "--name", "某人", "--role", "sales", db=db, env={"CRMCTL_USER": other},
                     match="only an administrator may act for another person")
        team.refused("B", "--as", other, "staff", "list", db=db, match="may not act as")
    team.refused("C", "--as", b, "customer", "edit", "C000001", "--name", "改名", db=db, match="may not act as")
    team.refused("D", "approve", "C000001", db=db, env={"CRMCTL_USER": a}, match="may not act as")
    # as themselves they may: naming oneself (any case) is acting in person
    assert team.json("B", "--as", b.upper(), "staff", "list", db=db)
    assert team.json("B", "staff", "list", db=db, env={"CRMCTL_USER": b})


def test_an_administrator_acts_for_another_and_the_audit_shows_both(team, db):
    a, b, d = team.login("A"), team.login("B"), team.login("D")
    team.ok("A", "--as", b, "customer", "edit", "C000001", "--name", "代录名称", db=db)
    team.ok("A", "customer", "submit", "C000001", db=db, env={"CRMCTL_USER": b})
    team.ok("B", "customer", "edit", "C000001", "--name", "本人改名", db=db)
    entries = team.json("A", "audit", "list", "--customer", "C000001", db=db)
    edit1, submit, edit2 = entries[-3:]
    assert (edit1["action"], edit1["actor"], edit1["by"]) == ("customer.edit", b, a)
    assert (submit["action"], submit["actor"], submit["by"]) == ("customer.submit", b, a)
    assert (edit2["action"], edit2["actor"], edit2["by"]) == ("customer.edit", b, None)
    assert all(e["written_at"] for e in entries)
    # acting for D, A has D's rights and no more: no staff changes, no back-up
    team.refused("A", "--as", d, "staff", "add", "x1", "--name", "某人", "--role", "sales", db=db,
                 match="only an administrator")
    team.refused("A", "--as", d, "db", "backup", str(team.data / "x.bak"), db=db, match="only an administrator")
    assert not (team.data / "x.bak").exists()
    assert "chained" in team.ok("C", "db", "check", db=db)


def test_an_unbound_account_is_refused(team, db):
    e = team.login("E")
    for args in (("staff", "list"), ("--as", team.login("A"), "staff", "list"), ("db", "backup", str(team.data / "e.bak")),
                 ("customer", "edit", "C000001", "--name", "x")):
        team.refused("E", *args, db=db, match=f"OS account '{e}' is bound to no staff member")
    team.refused("E", "staff", "list", db=db, env={"CRMCTL_USER": team.login("A")}, match="bound to no staff member")
    assert not (team.data / "e.bak").exists()
    # an administrator binds the account; then it is that person
    team.ok("A", "staff", "add", "wang", "--name", "王", "--role", "sales", "--os-user", e, db=db)
    assert team.json("E", "staff", "list", db=db)
    entry = team.json("E", "audit", "list", "--limit", "1", db=db)[0]
    assert (entry["action"], entry["actor"], entry["after"]["os_user"]) == ("staff.add", team.login("A"), e)


def _nameless_uid() -> int:
    for uid in range(59_999, 50_000, -1):
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    pytest.skip("no free uid to run as an account without a name")


def test_a_process_without_an_account_name_is_refused(team, db):
    """A uid with no entry in the user database (as in some containers) is nobody: refused, even
    naming the administrator."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not installed (needed to run as a uid without a name)")
    uid = _nameless_uid()
    environ = ["PATH=/usr/bin:/bin", f"HOME={team.base}", f"XDG_CACHE_HOME={team.base}/nameless-cache",
               f"CRMCTL_DB={db}", "LANG=C.UTF-8", "CRMCTL_LANG=en"]
    for extra in ([], ["CRMCTL_USER=" + team.login("A")]):
        before = fingerprint(db)
        r = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", f"--groups={team.gid}", "--",
                            "env", "-i", *environ, *extra, str(CRMCTL), "staff", "list"],
                           capture_output=True, text=True, cwd=team.base, timeout=120)
        assert_refused(SimpleNamespace(exit_code=r.returncode, stdout=r.stdout, stderr=r.stderr), "without a name")
        assert fingerprint(db) == before


def test_a_person_who_left_is_refused(team, db):
    f = team.login("F")
    team.refused("F", "staff", "list", db=db, match=f"'{f}' has left")
    team.refused("F", "customer", "edit", "C000001", "--name", "x", db=db, match="has left")
    team.refused("A", "--as", f, "staff", "list", db=db, match="has left")  # nobody acts for a leaver


def test_a_fixed_now_is_refused_to_a_non_administrator(team, db):
    for who in "BCD":
        team.refused(who, "customer", "edit", "C000001", "--name", "x", db=db,
                     env={"CRMCTL_NOW": "2020-01-01T00:00:00"}, match="may not fix the time")
    team.refused("B", "staff", "list", db=db, env={"CRMCTL_NOW": "2099-01-01T00:00:00"}, match="CRMCTL_NOW")
    # an administrator may back-fill: the event is dated, the entry written now
    t0 = time.time()
    team.ok("A", "customer", "edit", "C000001", "--name", "补录", db=db, env={"CRMCTL_NOW": "2020-01-01T09:00:00"})
    t1 = time.time()
    entry = team.json("A", "audit", "list", "--action", "customer.edit", db=db)[0]
    assert entry["at"] == "2020-01-01T09:00:00+08:00"
    assert t0 - 2 <= datetime.fromisoformat(entry["written_at"]).timestamp() <= t1 + 2


def test_one_person_one_step_even_with_a_second_login(team, db):
    a, b, c, d = (team.login(p) for p in "ABCD")
    assert team.ok("B", "customer", "submit", "C000001", db=db).strip() == "pending"
    team.ok("B", "approve", "C000001", "--comment", "资质齐全", db=db)
    # B also holds finance, but took the sales step
    team.refused("B", "approve", "C000001", db=db, match="one person, one step")
    # a second login for B -- on B's account, or B's login in another case -- is refused at staff add
    team.refused("A", "staff", "add", f"{b}_2", "--name", "影子", "--role", "finance", "--os-user", b, db=db,
                 match=f"OS account '{b}' already belongs to staff member {b}")
    team.refused("A", "staff", "add", b.upper(), "--name", "影子", "--role", "finance", db=db, match="already exists")
    team.refused("A", "staff", "add", f"{b}_3", "--name", "影子", "--role", "finance", "--os-user", b.upper(), db=db,
                 match="already belongs")
    team.refused("A", "staff", "edit", c, "--os-user", b, db=db, match="already belongs")
    # the administrator acting for B is B: still one step
    team.refused("A", "--as", b, "approve", "C000001", db=db, match="one person, one step")
    # the others take theirs, as themselves
    team.ok("C", "approve", "C000001", db=db)
    assert team.ok("D", "approve", "C000001", db=db).strip() == "active"
    approvals = [e for e in team.json("A", "audit", "list", "--action", "customer.approve", db=db)]
    assert [(e["actor"], e["by"], e["after"]["role"]) for e in approvals] == [(b, None, "sales"), (c, None, "finance"),
                                                                             (d, None, "gm")]
    assert a not in {e["actor"] for e in approvals}


def test_nobody_approves_their_own_extension(team, db):
    a, b, d = (team.login(p) for p in "ABD")
    team.ok("B", "customer", "submit", "C000001", db=db)
    for who in "BCD":
        team.ok(who, "approve", "C000001", db=db)
    number = team.ok("D", "complaint", "open", "C000001", "--summary", "到货数量与提单不符", "--severity", "major",
                     db=db).strip()
    assert team.ok("D", "complaint", "extend", number, "--working-days", "2", db=db).strip() == number
    # D holds the approver role (gm) but asked: not D, not the administrator acting for D, not B (no gm)
    team.refused("D", "complaint", "approve-extension", number, db=db, match="own request")
    team.refused("A", "--as", d, "complaint", "approve-extension", number, db=db, match="own request")
    team.refused("B", "complaint", "approve-extension", number, db=db, match="role gm")
    team.refused("B", "--as", d, "complaint", "approve-extension", number, db=db, match="may not act as")
    # the --approved-by of old is refused with a hint
    team.refused("D", "complaint", "extend", number, "--working-days", "1", "--approved-by", a, db=db,
                 match="approve-extension")
    # the administrator (every role) grants it as themselves
    team.ok("A", "complaint", "approve-extension", number, db=db)
    granted = team.json("A", "audit", "list", "--action", "complaint.extend", db=db)[-1]
    assert (granted["actor"], granted["by"], granted["after"]["requested_by"]) == (a, None, d)
    assert granted["after"]["approved_by"] == a


def test_backup_copy_restore_as_real_people(team, db):
    bak = team.data / f"{db.stem}.bak"
    team.ok("A", "db", "backup", str(bak), db=db)
    st = bak.stat()
    assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (team.gid, 0o660)
    for who in "BCD":
        team.refused(who, "db", "backup", str(team.data / "x.bak"), db=db, match="only an administrator")
        team.refused(who, "db", "copy", "--to", str(team.data / "x.db"), db=db, match="only an administrator")
        team.refused(who, "db", "restore", str(bak), db=db, match="only an administrator")
    assert not (team.data / "x.bak").exists() and not (team.data / "x.db").exists()
    # a folder the administrator's account may not write: refused before the audit says "backed up"
    team.refused("A", "db", "backup", str(team.base / "home" / team.login("B") / "x.bak"), db=db,
                 match="not writable")
    copy = team.data / f"{db.stem}-copy.db"
    team.ok("A", "db", "copy", "--to", str(copy), db=db)
    st = copy.stat()
    assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (team.gid, 0o660)
    assert "chained" in team.ok("B", "db", "check", db=copy)
    team.ok("B", "customer", "edit", "C000001", "--name", "备份后改名", db=db)
    team.ok("A", "db", "restore", str(bak), db=db)
    st = db.stat()
    assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (team.gid, 0o660)  # the team keeps the restored file
    shown = team.json("C", "customer", "show", "C000001", db=db)
    assert shown["name"] == "河北华塑化工有限公司"
    last = team.json("C", "audit", "list", "--limit", "1", db=db)[0]
    assert (last["action"], last["actor"]) == ("db.restore", team.login("A"))
    assert "chained" in team.ok("D", "db", "check", db=db)


def test_the_team_shares_the_wal_and_shm(team, db):
    """Files SQLite makes beside the database while someone has it open (-wal, -shm) are the group's
    and group-writable, so the next person can write while the first still reads."""
    holder_code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                   "c.execute('select count(*) from staff').fetchone(); print('ready', flush=True); "
                   "sys.stdin.readline(); c.close()")
    holder = subprocess.Popen(["runuser", "-u", team.login("B"), "--", sys.executable, "-c", holder_code, str(db)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=team.base)
    try:
        assert holder.stdout.readline().strip() == "ready", holder.stderr.read()
        for suffix in ("-wal", "-shm"):
            side = Path(f"{db}{suffix}")
            st = side.stat()
            assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (team.uid("B"), team.gid, 0o660), suffix
        team.ok("A", "staff", "add", "zhang", "--name", "张", "--role", "sales", db=db)
        team.ok("C", "customer", "edit", "C000001", "--name", "并发改名", db=db)
        assert "chained" in team.ok("D", "db", "check", db=db)
    finally:
        holder.communicate("\n", timeout=30)
    out = team.ok("D", "db", "check", db=db)
    assert "Warning" not in out
    os.chmod(db, 0o664)
    assert "Warning" in team.ok("D", "db", "check", db=db)
