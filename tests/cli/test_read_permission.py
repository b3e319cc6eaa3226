"""Read permission on every path (manufacturer 三.6; issue 13).

Where the policy restricts customer files, a person without permission sees a customer's code and
name only.  These tests walk *every* read command of the command tree (a new command that is not
classified below fails the walk) in every output format, as a person without permission, over demo
data with marked restricted values (legal representative, capital, phone, note, complaint, ticket,
proposal and visit texts, document numbers ...), and assert that none of them appears.  The same
walk as an administrator must show every marked value: the search can fail.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import NOW, Cli, leaf_commands

# -- the command tree, classified ----------------------------------------------------------------

#: commands that read (walked below); the value: the arguments they need ({X} the unreadable
#: customer, {R} a readable one, {complaint} ... items of the unreadable customer)
READ: dict[str, list[list[str]]] = {
    "customer list": [[], ["--status", "active"], ["--segment", "{segment}"], ["--name", "{name_part}"]],
    "customer show": [["{X}"], ["{R}"]],
    "customer contact check": [[]],
    "doc list": [[], ["--customer", "{X}"], ["--expiring-within", "3650"]],
    "plan list": [[], ["--customer", "{X}"]],
    "grade explain": [["{X}"]],
    "grade history": [["{X}"]],
    "complaint list": [[], ["--customer", "{X}"]],
    "complaint show": [["{complaint}"]],
    "service list": [[], ["--customer", "{X}"]],
    "service show": [["{ticket}"]],
    "proposal list": [[], ["--customer", "{X}"]],
    "proposal show": [["{proposal}"]],
    "visit list": [[], ["--customer", "{X}"], ["--month", "2026-11"]],
    "visit show": [["{activity}"]],
    "survey list": [[]],
    "target list": [[]],
    "staff list": [[]],
    "policy list": [[]],
    "policy show": [[]],
    "calendar show": [["--month", "2026-10"]],
    "audit list": [[], ["--customer", "{X}"], ["--limit", "50"]],
    "approve": [["--list"]],
    "agenda": [[], ["--week"]],
    "report *": [[]],  # every report, with its defaults
}

#: commands that change data or run jobs (not walked here; their permission checks have their own tests)
WRITE = {
    "init", "demo", "customer add", "customer edit", "customer import", "customer submit", "customer disqualify",
    "customer reinstate", "customer note", "customer contact add", "doc add", "doc check", "volume add",
    "volume import", "score set", "plan set", "grade run", "complaint open", "complaint close", "complaint extend",
    "complaint approve-extension", "complaint escalate", "complaint submit-opinion", "complaint approve-opinion",
    "service open", "service dispatch", "service arrive",
    "service take-back", "service resolve", "service rate", "proposal open", "proposal close", "proposal schedule",
    "calendar due", "calendar set-year",
    "visit plan", "visit log", "survey record", "target set", "staff add", "staff edit", "staff leave",
    "policy check", "policy diff", "policy apply", "db upgrade", "db backup", "db check", "db copy",
    "db restore", "db roles",
    # the configuration files, not the database: nothing of a customer to see (tests/cli/test_config.py)
    "config show", "config set", "config unset", "config path",
}


def test_every_command_is_classified():
    leaves = leaf_commands()
    classified = set(WRITE) | {c for c in READ if not c.endswith("*")}
    unknown = [c for c in leaves if c not in classified and not c.startswith("report ")]
    assert not unknown, f"classify these commands as READ or WRITE in {__file__}: {unknown}"
    gone = [c for c in classified if c not in leaves and c != "db roles"]
    assert not gone, f"no longer commands: {gone}"


# -- the data ------------------------------------------------------------------------------------

MARKS = {  # what an administrator records on the unreadable customer; none may reach the person
    "note": "机密联络记录甲乙丙",
    "document": "ZZDOC-774411",
    "complaint": "机密投诉内容丁戊",
    "resolution": "机密处理结果己庚",
    "ticket": "机密报修内容辛壬",
    "proposal": "机密建议内容癸子",
    "visit": "机密拜访记录丑寅",
}


def _env(tmp: Path) -> dict:
    return {"CRMCTL_NOW": NOW, "XDG_CACHE_HOME": str(tmp / "cache"), "XDG_DATA_HOME": str(tmp / "data"),
            "HOME": str(tmp / "home")}


def _q(db: Path, sql: str, *params):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


class World:
    """A demo database, a person without permission, and what they may and may not see."""

    def __init__(self, db: Path, env: dict, person: str, policy: str):
        from crmctl.policies import load_policy

        pol = load_policy(policy)[0]
        self.db, self.env, self.person = db, env, person
        self.cli = Cli(db)
        pid = _q(db, "select id from staff where login = ?", person)[0][0]
        owned = [r[0] for r in _q(db, "select code from customer where owner_id = ? order by code", pid)]
        others = [r[0] for r in _q(db, "select code from customer where owner_id != ? and status = 'active' "
                                       "order by code", pid)]
        self.R, self.C, self.X = owned[0], others[0], others[1]  # kept; made a contact of; unreadable
        self.readable = {*owned, self.C}
        self.ok("customer", "contact", "add", self.C, "--staff", person)
        x_owner = _q(db, "select s.login from customer c join staff s on s.id = c.owner_id where c.code = ?",
                     self.X)[0][0]
        self.ok("customer", "note", self.X, "--channel", "call", "--text", MARKS["note"], actor=x_owner)
        types = _q(db, "select distinct type from document") or [("business_license",)]
        self.ok("doc", "add", self.X, "--type", types[0][0], "--number", MARKS["document"], "--expires", "2026-12-10")
        self.items: dict[str, str] = {}
        if pol.complaints is not None:
            self.items["complaint"] = json.loads(self.ok(
                "complaint", "open", self.X, "--summary", MARKS["complaint"], "--at", "2026-11-20T09:00",
                "--format", "json", actor=x_owner))["id"]
            op = pol.complaints.opinion_approval  # petrochem 12(二): the leader approves the opinion first
            if op is not None and op.applies_to("general"):
                leader = _q(db, "select s.login from staff s join staff_role r on r.staff_id = s.id where r.role = ? "
                                "and s.login != ? and s.active order by s.login", op.approver_role, x_owner)[0][0]
                self.ok("complaint", "submit-opinion", self.items["complaint"], "--note", MARKS["resolution"],
                        "--at", "2026-11-20T10:00", actor=x_owner)
                self.ok("complaint", "approve-opinion", self.items["complaint"], "--at", "2026-11-20T11:00",
                        actor=leader)
            self.ok("complaint", "close", self.items["complaint"], "--note", MARKS["resolution"],
                    "--satisfied", "--at", "2026-11-20T15:00", actor=x_owner)
        if pol.service is not None:
            kind = next(iter(pol.service.kinds))
            free = [t for t in pol.service.service_types if t not in pol.service.service_type_documents]
            self.items["ticket"] = json.loads(self.ok(
                "service", "open", self.X, "--kind", kind, "--summary", MARKS["ticket"], "--at", "2026-11-20T09:00",
                *(["--service-type", free[0]] if free else []), "--format", "json", actor=x_owner))["id"]
        if pol.proposals is not None:
            cat = next(iter(pol.proposals.categories))
            self.items["proposal"] = json.loads(self.ok(
                "proposal", "open", self.X, "--category", cat, "--summary", MARKS["proposal"], "--at",
                "2026-11-20T09:00", "--format", "json", actor=x_owner))["id"]
        self.items["activity"] = str(json.loads(self.ok(
            "visit", "log", self.X, "--kind", "visit", "--at", "2026-11-20T10:00", "--note", MARKS["visit"],
            "--format", "json", actor=x_owner))["id"])
        seg = _q(db, "select segments from customer where code = ?", self.X)[0][0]
        k, v = next(iter(json.loads(seg).items()))
        self.args = {"X": self.X, "R": self.R, "segment": f"{k}={v}", "name_part": "有限公司", **self.items}
        self.secrets = self._secrets()

    def ok(self, *args, actor: str = "admin") -> str:
        return self.cli.ok(*args, actor=actor, env=self.env)

    def _secrets(self) -> dict[str, str]:
        """Values of the customers the person may not read, distinctive enough to search for: their
        custom fields and tax ids, and the marks; minus anything the person may see anyway."""
        pid = _q(self.db, "select id from staff where login = ?", self.person)[0][0]
        readable = {r[0] for r in _q(self.db, "select c.id from customer c where c.owner_id = ? or c.id in "
                                              "(select customer_id from customer_contact where staff_id = ?)",
                                     pid, pid)}
        visible_text = " ".join(r[0] for r in _q(self.db, "select code || ' ' || name from customer"))
        visible_text += " ".join(f"{a} {b}" for a, b in _q(self.db, "select login, name from staff"))
        mine: set[str] = set()
        theirs: dict[str, str] = {}
        for cid, code, fields, tax in _q(self.db, "select id, code, fields, tax_id from customer"):
            values = [str(v) for v in (json.loads(fields or "{}") or {}).values() if not isinstance(v, bool)]
            values += [tax] if tax else []
            for v in values:
                if cid in readable:
                    mine.add(v)
                else:
                    theirs.setdefault(v, f"customer {code}")
        out = {v: where for v, where in theirs.items()
               if len(v) >= 4 and v not in mine and v not in visible_text and not v.replace(".", "").isdigit()
               or (v.replace(".", "").isdigit() and len(v) >= 7 and v not in mine)}
        out.update({v: f"mark {k}" for k, v in MARKS.items()})
        return out


def _runs(world: World, leaves: dict):
    """Every (command, arguments) of the walk, formats included."""
    for name, variants in READ.items():
        names = [n for n in leaves if n.startswith("report ")] if name.endswith("*") else [name]
        for cmd_name in names:
            cmd = leaves[cmd_name]
            opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
            formats = ["table", "json", "csv"] if "--format" in opts else [None]
            if cmd_name.startswith("report "):  # the pages for managers (html) go past the same rule
                formats.append("html")
            for args in variants:
                try:
                    argv = [a.format(**world.args) for a in args]
                except KeyError:  # an item the policy has no feature for
                    continue
                for f in formats:
                    yield cmd_name, [*cmd_name.split(), *argv, *(["--format", f] if f else [])]


def _walk(world: World, actor: str) -> dict[str, str]:
    """Output of every run (stdout, then stderr) by command line; checks no run crashed."""
    leaves = leaf_commands()
    out = {}
    for cmd_name, argv in _runs(world, leaves):
        r = world.cli(*argv, actor=actor, env=world.env)
        text = r.stdout + r.stderr
        assert "Traceback" not in text, (argv, text)
        if r.exit_code == 2 and "--format" in argv:  # the command has no such format
            continue
        assert r.exit_code in (0, 1), (argv, r.exit_code, text)
        if r.exit_code == 1:
            assert sum(ln.startswith("Error:") for ln in r.stderr.splitlines()) == 1, (argv, text)
        out[" ".join(argv)] = text
        out[" ".join(argv) + " (stdout)"] = r.stdout
    return out


def _leaks(world: World, outputs: dict[str, str]) -> list[str]:
    return [f"{cmd}: {value!r} ({where})" for cmd, text in outputs.items()
            for value, where in world.secrets.items() if value in text]


@pytest.fixture(scope="module")
def manufacturer(tmp_path_factory) -> World:
    tmp = tmp_path_factory.mktemp("readperm")
    env = _env(tmp)
    db = tmp / "m.db"
    Cli(db).ok("demo", "--policy", "manufacturer", "--customers", "40", actor="", env=env)
    return World(db, env, "quality06", "manufacturer")


@pytest.fixture(scope="module")
def petrochem_restricted(tmp_path_factory) -> World:
    """petrochem (grading, allocation, stability) with customer files restricted to role gm."""
    tmp = tmp_path_factory.mktemp("readperm-p")
    env = _env(tmp)
    db = tmp / "p.db"
    Cli(db).ok("demo", "--policy", "petrochem", "--customers", "40", actor="", env=env)
    policy = tmp / "petrochem-restricted.toml"
    from crmctl.policies import builtin_dir

    policy.write_text((builtin_dir() / "petrochem.toml").read_text(encoding="utf-8")
                      + '\n[permissions]\nrestrict_customer_details = true\nreaders_roles = ["gm"]\n',
                      encoding="utf-8")
    Cli(db).ok("policy", "apply", str(policy), env=env)
    return World(db, env, "sales01", str(policy))


@pytest.mark.parametrize("world_name", ["manufacturer", "petrochem_restricted"])
def test_no_restricted_value_on_any_read_path(request, world_name):
    world: World = request.getfixturevalue(world_name)
    assert len(world.secrets) > 20, "the walk needs restricted values to look for"
    # an administrator sees every mark somewhere: the search below can find them
    admin = _walk(world, "admin")
    seen_by_admin = {v for v in world.secrets if any(v in text for text in admin.values())}
    assert set(MARKS.values()) - {MARKS["ticket"], MARKS["proposal"], MARKS["complaint"], MARKS["resolution"]} \
        <= seen_by_admin
    assert len(seen_by_admin) > 20
    person = _walk(world, world.person)
    assert _leaks(world, person) == []
    # report rows about one customer: only about readable ones (a row tells a grade, a volume, a rank)
    readable = world.readable
    counts = {}
    for who, outputs in (("admin", admin), ("person", person)):
        counts[who] = 0
        for cmd, text in outputs.items():
            if not (cmd.startswith("report ") and cmd.endswith("--format json (stdout)")):
                continue
            if not text.strip():  # refused (one Error: line, checked by the walk): report pack is html only
                continue
            rows = [r for r in json.loads(text) if r.get("customer") or r.get("code")]
            if cmd.startswith("report customers "):  # the directory: code and name only
                assert who == "admin" or all(r["status"] is None for r in rows if r["code"] not in readable), cmd
                continue
            counts[who] += len(rows)
            if who == "person":
                strangers = {r.get("customer") or r.get("code") for r in rows} - readable
                assert not strangers, (cmd, sorted(strangers)[:5])
    if world_name == "petrochem_restricted":  # grade changes, allocation, documents: rows to leave out
        assert counts["admin"] > counts["person"]
    # ... while the person still sees the files they may read, and the directory
    shown = json.loads(person[f"customer show {world.R} --format json (stdout)"])
    assert shown["code"] == world.R and "restricted" not in shown
    hidden = json.loads(person[f"customer show {world.X} --format json (stdout)"])
    assert hidden == {"code": world.X, "name": hidden["name"], "restricted": True}
    listed = {c["code"]: c for c in json.loads(person["customer list --format json (stdout)"])}
    assert listed[world.X]["status"] is None and listed[world.C]["status"] == "active"
    # filtering on what only a file shows lists readable customers only (the filter would tell)
    assert world.X not in {c["code"] for c in json.loads(person["customer list --status active --format json (stdout)"])}
    for item in ("complaint", "ticket", "proposal", "activity"):
        if item in world.items:
            cmd = {"complaint": "complaint show", "ticket": "service show", "proposal": "proposal show",
                   "activity": "visit show"}[item]
            text = person.get(f"{cmd} {world.items[item]} --format json") or person[f"{cmd} {world.items[item]}"]
            assert text.startswith("Error:") and "may not read" in text, text


def test_contacts_only_by_owner_readers_or_admin(manufacturer: World):
    w = manufacturer
    # a contact may read the file but not hand it on; the person without permission may not either
    w.cli.refused("customer", "contact", "add", w.C, "--staff", "quality05", actor=w.person, match="may not add contacts",
                  env=w.env)
    w.cli.refused("customer", "contact", "add", w.X, "--staff", w.person, actor=w.person, match="may not add contacts",
                  env=w.env)
    # the owner may, and so may a reader role (info_dept)
    owner = _q(w.db, "select s.login from customer c join staff s on s.id = c.owner_id where c.code = ?", w.R)[0][0]
    assert owner == w.person
    w.cli.ok("customer", "contact", "add", w.R, "--staff", "quality05", actor=w.person, env=w.env)
    w.cli.ok("customer", "contact", "add", w.X, "--staff", "quality05", actor="infodept11", env=w.env)


def test_item_given_to_someone_is_theirs_to_read(manufacturer: World):
    """The technician dispatched to a ticket reads that ticket, not the customer's file."""
    w = manufacturer
    if "ticket" not in w.items:
        pytest.skip("the policy has no service tickets")
    tech = _q(w.db, "select s.login from staff s join staff_role r on r.staff_id = s.id where r.role = 'technician' "
                    "and s.login != 'admin' order by s.login")[0][0]
    env = dict(w.env)
    # dispatching is a write: do it on a copy so the module's data stay as the walk expects
    import shutil

    copy = w.db.with_name("dispatch.db")
    shutil.copy(w.db, copy)
    cli = Cli(copy)
    cli.ok("service", "dispatch", w.items["ticket"], "--technician", tech, "--at", "2026-11-20T09:30", env=env)
    shown = json.loads(cli.ok("service", "show", w.items["ticket"], "--format", "json", actor=tech, env=env))
    assert shown["summary"] == MARKS["ticket"]
    assert json.loads(cli.ok("customer", "show", w.X, "--format", "json", actor=tech, env=env))["restricted"] is True
    assert w.items["ticket"] in {t["id"] for t in json.loads(cli.ok("service", "list", "--format", "json",
                                                                         actor=tech, env=env))}
