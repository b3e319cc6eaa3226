"""CLI: init, policy, staff, audit, db, output options and the error contract."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from crmctl.policies import BUILTIN_NAMES
from tests.conftest import Cli, assert_refused, execute_sql, fingerprint


def test_every_command_has_help_text():
    from typer.main import get_command

    from crmctl.cli import COMMANDS, GROUPS, app, load_all, load_group

    load_all()
    root = get_command(app)
    names = root.list_commands(None)
    assert set(GROUPS) <= set(names) and {"init", "demo", "agenda", "approve"} == set(COMMANDS)
    for name, (_, line) in COMMANDS.items():  # the --help listing's line is the first paragraph of the command's help
        assert load_group(name).help.strip().split("\n\n")[0] == line, name

    def walk(cmd, path):
        assert (cmd.help or "").strip(), f"no help text for {' '.join(path) or 'crmctl'}"
        subs = getattr(cmd, "commands", None)
        if subs is None:
            return
        for name in cmd.list_commands(None):
            sub = cmd.get_command(None, name)
            assert sub is not None, name
            walk(sub, path + [name])
        if path:  # a group that lists nothing is an empty stub
            assert subs, f"command group {' '.join(path)} has no commands"

    walk(root, [])


def test_help_does_not_import_the_database_layer():
    code = "import sys, crmctl.cli; bad=[m for m in ('sqlalchemy','sqlmodel','alembic','pydantic') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_init_creates_database_with_policy_and_admin(petrochem: Cli):
    out = json.loads(petrochem.ok("staff", "list", "--format", "json"))
    assert [s["login"] for s in out] == ["admin"]
    assert {"sales", "finance", "gm"} <= set(out[0]["roles"])
    assert out[0]["active"] is True
    shown = petrochem.ok("policy", "show")
    assert 'code = "petrochem"' in shown
    hist = json.loads(petrochem.ok("policy", "show", "--history", "--format", "json"))
    assert hist[0]["version"] == 1 and len(hist[0]["sha256"]) == 64


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_init_every_builtin_policy(make_cli, name):
    cli = make_cli(name)
    assert json.loads(cli.ok("staff", "list", "--format", "json"))[0]["login"] == "admin"


def test_init_twice_refused(petrochem: Cli):
    petrochem.refused("init", "--policy", "petrochem", match="already")


def test_init_refusals_leave_no_file(tmp_path):
    cli = Cli(tmp_path / "x.db")
    for args, match in [
        (["init", "--policy", "no-such-policy"], "unknown policy"),
        (["init", "--policy", str(tmp_path / "missing.toml")], "unknown policy"),
    ]:
        assert_refused(cli(*args), match)
        assert not (tmp_path / "x.db").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text("[policy\ncode=", encoding="utf-8")
    assert_refused(cli("init", "--policy", str(bad)), "line")
    notpolicy = tmp_path / "np.toml"
    notpolicy.write_text('title = "hello"\n', encoding="utf-8")
    assert_refused(cli("init", "--policy", str(notpolicy)))
    assert not (tmp_path / "x.db").exists()
    missing_folder = Cli(tmp_path / "nope" / "x.db")
    assert_refused(missing_folder("init", "--policy", "petrochem"), "does not exist")
    assert not (tmp_path / "nope").exists()


def test_init_bad_admin_login(tmp_path):
    cli = Cli(tmp_path / "x.db")
    assert_refused(cli("init", "--policy", "petrochem", "--admin", "bad login!"), "login")
    assert not (tmp_path / "x.db").exists()


def test_command_without_database(tmp_path):
    cli = Cli(tmp_path / "none.db")
    assert_refused(cli("staff", "list"), "crmctl init")
    assert not (tmp_path / "none.db").exists()


def test_not_a_database_file(tmp_path):
    p = tmp_path / "junk.db"
    p.write_bytes(b"this is not sqlite at all" * 100)
    assert_refused(Cli(p)("staff", "list"))


def test_default_database_path_is_user_data_folder(tmp_path):
    from typer.testing import CliRunner

    from crmctl.cli import app

    r = CliRunner().invoke(app, ["--as", "boss", "init", "--policy", "gas-service", "--admin", "boss"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip().endswith("crmctl/crm.db")
    assert (tmp_path / "xdg-data" / "crmctl" / "crm.db").exists()


def test_crmctl_db_env(tmp_path):
    from typer.testing import CliRunner

    from crmctl.cli import app

    env = {"CRMCTL_DB": str(tmp_path / "env.db"), "CRMCTL_USER": "boss"}
    r = CliRunner().invoke(app, ["init", "--policy", "gas-service"], env=env)
    assert r.exit_code == 0, r.stderr
    r = CliRunner().invoke(app, ["staff", "list", "--format", "json"], env=env)
    assert json.loads(r.stdout)[0]["login"] == "boss"


# -- acting identity -----------------------------------------------------------------------------

def test_unknown_actor_refused(petrochem: Cli):
    petrochem.refused("staff", "list", actor="nobody", match="not a staff member")


def test_actor_from_env(petrochem: Cli):
    r = petrochem("staff", "list", actor="", env={"CRMCTL_USER": "admin"})
    assert r.exit_code == 0
    assert_refused(petrochem("staff", "list", actor="", env={"CRMCTL_USER": "ghost"}), "ghost")


# -- staff ---------------------------------------------------------------------------------------

def test_staff_add_list_and_labels(petrochem: Cli):
    assert petrochem.ok("staff", "add", "zhangwei", "--name", "张伟", "--role", "sales").strip() == "zhangwei"
    assert petrochem.ok("staff", "add", "lina", "--name", "李娜", "--role", "财务部").strip() == "lina"
    rows = json.loads(petrochem.ok("staff", "list", "--format", "json"))
    lina = next(r for r in rows if r["login"] == "lina")
    assert lina["roles"] == ["finance"]
    table = petrochem.ok("staff", "list")
    assert "张伟" in table
    csv_out = petrochem.ok("staff", "list", "--format", "csv", "--role", "sales")
    assert csv_out.splitlines()[0].startswith("login,name,roles")
    assert "zhangwei" in csv_out and "lina" not in csv_out


@pytest.mark.parametrize("args,match", [
    (["staff", "add", "admin", "--name", "X", "--role", "sales"], "already exists"),
    (["staff", "add", "u1", "--name", "X", "--role", "pilot"], "unknown role"),
    (["staff", "add", "bad login", "--name", "X", "--role", "sales"], "login"),
    (["staff", "add", "u2", "--name", "  ", "--role", "sales"], "name"),
    (["staff", "leave", "admin", "--handover-to", "ghost"], "ghost"),
    (["staff", "leave", "admin", "--handover-to", "admin"], "another"),
])
def test_staff_refusals(petrochem: Cli, args, match):
    petrochem.refused(*args, match=match)


def test_staff_add_requires_admin(petrochem: Cli):
    petrochem.ok("staff", "add", "zhangwei", "--name", "张伟", "--role", "sales")
    petrochem.refused("staff", "add", "x2", "--name", "X", "--role", "sales", actor="zhangwei", match="administrator")


def test_staff_leave_hands_over_customers(petrochem: Cli):
    petrochem.ok("staff", "add", "zhangwei", "--name", "张伟", "--role", "sales")
    petrochem.ok("staff", "add", "wangfang", "--name", "王芳", "--role", "sales")
    code = petrochem.ok("customer", "add", "--name", "华塑化工", "--segment", "product_line=polyolefin",
                        "--segment", "channel=distributor", "--segment", "sales_form=auction",
                        "--owner", "zhangwei").strip()
    out = petrochem.ok("staff", "leave", "zhangwei", "--handover-to", "wangfang")
    assert "1 customers" in out
    assert json.loads(petrochem.ok("customer", "show", code, "--format", "json"))["owner"] == "wangfang"
    petrochem.refused("staff", "list", actor="zhangwei", match="left")
    left = json.loads(petrochem.ok("staff", "list", "--all", "--format", "json"))
    assert next(r for r in left if r["login"] == "zhangwei")["active"] is False
    audit = json.loads(petrochem.ok("audit", "list", "--action", "staff.leave", "--format", "json"))
    assert audit[0]["after"]["handover_to"] == "wangfang" and audit[0]["after"]["moved_customers"] == 1
    assert {"moved_activities", "moved_open complaints/tickets/proposals"} <= set(audit[0]["after"])


def test_staff_leave_plans_a_notice_to_each_handed_over_customer(make_cli, tmp_path):
    """manufacturer 三.7(4): the company tells the customers and names the replacement; a contact
    activity per handed-over customer for the new keeper, counted in the hand-over summary."""
    cli = make_cli("manufacturer")
    for login, name in (("li", "李强"), ("zhao", "赵敏")):
        cli.ok("staff", "add", login, "--name", name, "--role", "marketing")
    f = tmp_path / "customers.csv"
    f.write_text("name,kind,owner\n" + "".join(f"供应商{i},supplier,li\n" for i in range(3)), encoding="utf-8")
    cli.ok("customer", "import", str(f), "--admitted")
    out = cli.ok("staff", "leave", "li", "--handover-to", "zhao")
    assert "3 customers" in out and "3 customer_notices" in out
    notices = [v for v in json.loads(cli.ok("visit", "list", "--month", "2026-11", "--format", "json"))
               if v["kind"] == "contact"]
    assert len(notices) == 3 and {v["owner"] for v in notices} == {"zhao"}
    assert all("接替人员 赵敏" in v["note"] and v["due_date"] == "2026-11-30" for v in notices)  # from Sun 22 Nov
    # a policy without [activities.handover_notice] plans none
    pc = make_cli("petrochem", "pc.db")
    pc.ok("staff", "add", "a1", "--name", "甲", "--role", "sales")
    pc.ok("staff", "add", "b1", "--name", "乙", "--role", "sales")
    assert "customer_notices" not in pc.ok("staff", "leave", "a1", "--handover-to", "b1")


# -- policy --------------------------------------------------------------------------------------

def test_policy_list_names_the_five(petrochem: Cli):
    rows = json.loads(petrochem.ok("policy", "list", "--format", "json"))
    assert [r["name"] for r in rows] == list(BUILTIN_NAMES)


def test_policy_check_ok_and_problems(petrochem: Cli, tmp_path):
    from crmctl.policies import builtin_dir

    assert "ok" in petrochem.ok("policy", "check", str(builtin_dir() / "fuel-retail.toml"))
    text = (builtin_dir() / "fuel-retail.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("[policy]", "[policy]\nbogus_key = 1", 1), encoding="utf-8")
    r = petrochem("policy", "check", str(bad))
    assert_refused(r)
    assert "policy.bogus_key" in r.stderr


def _edited_petrochem(tmp_path, old: str, new: str):
    from crmctl.policies import builtin_dir

    text = (builtin_dir() / "petrochem.toml").read_text(encoding="utf-8")
    assert old in text
    p = tmp_path / "petrochem-v2.toml"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


def test_policy_diff_and_apply_keep_versions(petrochem: Cli, tmp_path):
    p = _edited_petrochem(tmp_path, 'name = "', 'name = "新版')
    diff = petrochem.ok("policy", "diff", str(p))
    assert diff.startswith("~ policy.name")
    assert petrochem.ok("policy", "apply", str(p)).strip() == "2"
    hist = json.loads(petrochem.ok("policy", "show", "--history", "--format", "json"))
    assert [h["version"] for h in hist] == [1, 2]
    assert "新版" in petrochem.ok("policy", "show")
    assert "新版" not in petrochem.ok("policy", "show", "--version", "1")
    entry = json.loads(petrochem.ok("audit", "list", "--action", "policy.apply", "--format", "json"))[0]
    assert entry["after"]["version"] == 2 and "policy.name" in entry["note"]
    petrochem.refused("policy", "apply", str(p), match="does not change")


def test_policy_diff_of_policy_show_reports_only_real_changes(petrochem: Cli, tmp_path):
    """policy show's own output (defaults left out, codes as lists, dates as text) is no change; two
    band values edited in it are two changes, and policy apply counts the same."""
    shown = petrochem.ok("policy", "show")
    same = tmp_path / "same.toml"
    same.write_text(shown, encoding="utf-8")
    assert petrochem.ok("policy", "diff", str(same)).startswith("no change")
    assert "max = 1000" in shown and "min = 1000" in shown
    edited = tmp_path / "edited.toml"
    edited.write_text(shown.replace("max = 1000", "max = 1200", 1).replace("min = 1000", "min = 1200", 1), encoding="utf-8")
    lines = petrochem.ok("policy", "diff", str(edited)).splitlines()
    assert lines == ["~ grading.scales.polyolefin.bands[0].max: 1000 -> 1200",
                     "~ grading.scales.polyolefin.bands[1].min: 1000 -> 1200"]
    r = petrochem("policy", "apply", str(edited))
    assert r.exit_code == 0 and "2 change(s)" in r.stderr


def test_policy_apply_refusals(petrochem: Cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("not = [valid", encoding="utf-8")
    petrochem.refused("policy", "apply", str(bad), match="line")
    petrochem.refused("policy", "apply", "nonexistent", match="unknown policy")
    petrochem.ok("staff", "add", "zhangwei", "--name", "张伟", "--role", "sales")
    p = _edited_petrochem(tmp_path, 'name = "', 'name = "新版')
    petrochem.refused("policy", "apply", str(p), actor="zhangwei", match="administrator")
    petrochem.refused("policy", "show", "--version", "9", match="no policy version")


# -- audit ---------------------------------------------------------------------------------------

def test_audit_list_filters(petrochem: Cli):
    petrochem.ok("staff", "add", "zhangwei", "--name", "张伟", "--role", "sales")
    rows = json.loads(petrochem.ok("audit", "list", "--format", "json"))
    assert [r["action"] for r in rows] == ["init", "staff.add"]
    assert rows[1]["after"]["login"] == "zhangwei" and rows[1]["actor"] == "admin"
    assert rows[0]["at"].endswith("+08:00")
    assert json.loads(petrochem.ok("audit", "list", "--since", "2030-01-01", "--format", "json")) == []
    petrochem.refused("audit", "list", "--since", "yesterday", match="--since")


# -- db ------------------------------------------------------------------------------------------

@pytest.mark.sqlite_only
def test_db_check_backup(petrochem: Cli, tmp_path):
    assert "ok" in petrochem.ok("db", "check")
    dest = tmp_path / "copy.db"
    assert petrochem.ok("db", "backup", str(dest)).strip() == str(dest)
    conn = sqlite3.connect(dest)
    assert conn.execute("select count(*) from staff").fetchone()[0] == 1
    conn.close()
    petrochem.refused("db", "backup", str(dest), match="exists")
    petrochem.refused("db", "backup", str(tmp_path / "missing" / "c.db"), match="does not exist")
    assert "current" in petrochem.ok("db", "upgrade")


def test_newer_schema_refused(petrochem: Cli):
    execute_sql(petrochem.db, "update alembic_version set version_num = '9999'")
    before = fingerprint(petrochem.db)
    r = petrochem("staff", "list")
    assert_refused(r, "newer")
    assert fingerprint(petrochem.db) == before


@pytest.mark.sqlite_only
def test_db_check_reports_damage(petrochem: Cli):
    conn = sqlite3.connect(petrochem.db)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("insert into staff_role(staff_id, role) values (999, 'sales')")
    conn.commit()
    conn.close()
    r = petrochem("db", "check")
    assert r.exit_code == 1 and "foreign key" in r.stderr


def test_migrations_head_constant_matches_scripts():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from crmctl import migrations
    from crmctl.db import _alembic_config

    script = ScriptDirectory.from_config(_alembic_config(None))
    assert script.get_current_head() == migrations.HEAD
    assert [r.revision for r in reversed(list(script.walk_revisions()))] == list(migrations.REVISIONS)


# -- output options ------------------------------------------------------------------------------

def test_backup_on_postgresql_is_a_pg_dump(petrochem: Cli, tmp_path):
    """(More in tests/cli/test_pg_ops.py: verification, rotation, a failed dump, missing tools.)"""
    import shutil

    if "://" not in str(petrochem.db):
        pytest.skip("PostgreSQL run only")
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    out = tmp_path / "crm-2026-11-30.dump"
    petrochem.ok("db", "backup", str(out))
    assert out.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format


def test_output_file_and_bom(petrochem: Cli, tmp_path):
    out = tmp_path / "staff.csv"
    petrochem.ok("staff", "list", "--format", "csv", "--bom", "--output", str(out))
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"login" in data
    petrochem.refused("staff", "list", "--output", str(tmp_path / "no" / "x.csv"), match="does not exist")


def test_usage_error_exit_2(petrochem: Cli):
    r = petrochem("staff", "list", "--format", "xml")
    assert r.exit_code == 2
    r = petrochem("no-such-command")
    assert r.exit_code == 2


def test_version():
    from typer.testing import CliRunner

    from crmctl.cli import app

    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout.startswith("crmctl ")


def test_every_package_ships_in_the_wheel():
    """pyproject lists packages explicitly (the policies folder is mapped in): none may be missing."""
    from pathlib import Path

    try:
        import tomllib  # novermin (tomli below on Python 3.10)
    except ModuleNotFoundError:  # pragma: no cover
        import tomli as tomllib

    root = Path(__file__).parents[2]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "crmctl").rglob("__init__.py")}
    assert found <= listed, f"not in pyproject packages: {sorted(found - listed)}"


def test_demo_keeps_one_file_per_policy_and_refuses_to_replace_it(tmp_path, monkeypatch):
    """A second `crmctl demo` would replace the first (and the user's changes): refused without
    --replace; another policy's demo is another file, named in the output."""
    from typer.testing import CliRunner

    from crmctl.cli import app
    from tests.conftest import assert_refused

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    folder = tmp_path / "data" / "crmctl"

    def demo(*args):
        return CliRunner().invoke(app, ["demo", "--customers", "20", *args])

    first = demo()
    assert first.exit_code == 0, first.stderr
    assert str(folder / "demo-petrochem.db") in first.stdout
    stamp = (folder / "demo-petrochem.db").stat().st_mtime_ns
    # the closing summary says where the report pack was written: next to the database
    pack = folder / "demo-petrochem-reports.html"
    assert pack.is_file() and "<svg" in pack.read_text(encoding="utf-8")
    assert any(str(pack) in line and "report pack" in line for line in first.stdout.splitlines()[-4:])
    assert_refused(demo(), "--replace")
    assert (folder / "demo-petrochem.db").stat().st_mtime_ns == stamp
    other = demo("--policy", "fuel-retail")
    assert other.exit_code == 0 and str(folder / "demo-fuel-retail.db") in other.stdout
    assert (folder / "demo-petrochem.db").stat().st_mtime_ns == stamp
    assert demo("--replace").exit_code == 0
