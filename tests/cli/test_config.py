"""CLI: the configuration files (issue 19) -- precedence option > environment > user file > system
file > default, ``crmctl config show|set|unset|path``, a broken file refused (and fixable), the global
options after the command, and ``-q`` / ``-v`` for cron."""

from __future__ import annotations

import json
import os
import re
try:
    import tomllib  # novermin (tomli below on Python 3.10)
except ImportError:  # pragma: no cover - Python 3.10
    import tomli as tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import Cli, assert_refused

MANUFACTURER_HEADER = "code,name,kind"


def run(*args: str, env: dict | None = None):
    """crmctl exactly as typed: no --db / --as put in front (the Cli helper's)."""
    from crmctl.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def ok(*args: str, env: dict | None = None) -> str:
    r = run(*args, env=env)
    assert r.exit_code == 0, f"exit {r.exit_code}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r.stdout


@pytest.fixture
def files() -> tuple[Path, Path]:
    """(the user file, the system file) of this test (conftest points both into tmp_path)."""
    return Path(os.environ["CRMCTL_CONFIG"]), Path(os.environ["CRMCTL_SYSTEM_CONFIG"])


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def shown(*args: str) -> dict[str, dict]:
    return {row["key"]: row for row in json.loads(ok(*args, "config", "show", "--format", "json"))}


# --- precedence ----------------------------------------------------------------------------------

def test_the_database_each_level_beats_the_next(petrochem: Cli, files, tmp_path, monkeypatch):
    user, system = files
    db = str(petrochem.db)
    other = tmp_path / "elsewhere.db"
    assert shown()["db"]["source"] == "default"
    write(system, f'db = "{db}"\n')
    assert shown()["db"] == {"key": "db", "value": db, "source": "system", "where": str(system)}
    # the system file's database is the one a command opens
    assert json.loads(ok("--as", "admin", "staff", "list", "--format", "json"))[0]["login"] == "admin"
    write(user, f'db = "{other}"\n')
    assert shown()["db"] == {"key": "db", "value": str(other), "source": "user", "where": str(user)}
    assert_refused(run("--as", "admin", "staff", "list"), "no database at")  # the user's file wins
    monkeypatch.setenv("CRMCTL_DB", db)
    assert shown()["db"] == {"key": "db", "value": db, "source": "environment", "where": "CRMCTL_DB"}
    assert ok("--as", "admin", "staff", "list")
    assert shown("--db", str(other))["db"] == {"key": "db", "value": str(other), "source": "option", "where": "--db"}
    assert_refused(run("--db", str(other), "--as", "admin", "staff", "list"), "no database at")


def test_the_language_each_level_beats_the_next(files, tmp_path, monkeypatch):
    user, system = files
    monkeypatch.delenv("CRMCTL_LANG")
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")  # a locale: the files beat it
    missing = tmp_path / "none.db"

    def error_line(*args: str) -> str:
        r = run(*args, "--db", str(missing), "staff", "list")
        assert r.exit_code == 1, r.stderr
        return r.stderr.splitlines()[0]

    assert error_line().startswith("Error:")
    write(system, 'lang = "zh"\n')
    assert error_line().startswith("错误:")
    assert shown()["lang"] == {"key": "lang", "value": "zh", "source": "system", "where": str(system)}
    write(user, 'lang = "en"\n')
    assert error_line().startswith("Error:")
    monkeypatch.setenv("CRMCTL_LANG", "zh")
    assert error_line().startswith("错误:")
    assert error_line("--lang", "en").startswith("Error:")
    assert shown("--lang", "en")["lang"]["source"] == "option"


def test_usage_errors_and_help_speak_the_configured_language(files, monkeypatch):
    monkeypatch.delenv("CRMCTL_LANG")
    write(files[0], 'lang = "zh"\n')
    r = run("customer", "list", "--no-such-option")
    assert r.exit_code == 2 and re.search(r"[\u4e00-\u9fff]", r.stderr), r.stderr
    assert re.search(r"[\u4e00-\u9fff]", ok("customer", "--help"))


def test_config_show_lists_every_key_and_where_it_came_from(files, monkeypatch):
    user, system = files
    write(system, 'encoding = "gb18030"\nbom = false\n')
    write(user, "bom = true\n")
    monkeypatch.setenv("CRMCTL_LANG", "zh")
    rows = shown("--db", "x.db")
    assert list(rows) == ["db", "lang", "bom", "encoding", "notify.webhook", "notify.secret", "notify.kind"]
    assert [rows[k]["source"] for k in rows] == ["option", "environment", "user", "system"] + ["default"] * 3
    assert rows["encoding"] == {"key": "encoding", "value": "gb18030", "source": "system", "where": str(system)}
    assert rows["bom"]["value"] is True
    table = ok("--lang", "en", "config", "show")
    assert "user file" in table and "system file" in table and str(user) in table
    monkeypatch.delenv("CRMCTL_LANG")
    assert shown()["lang"] == {"key": "lang", "value": None, "source": "default", "where": None}
    assert shown()["db"]["value"].endswith("crm.db")  # the default database is named


def test_config_path_names_both_files(files):
    user, system = files
    assert ok("config", "path").splitlines() == [str(user), str(system)]
    assert ok("config", "path", "--system").splitlines() == [str(system)]
    assert ok("config", "path", "--user").splitlines() == [str(user)]


# --- set and unset -------------------------------------------------------------------------------

def test_set_and_unset_round_trip(files):
    user, system = files
    assert not user.parent.exists()
    r = run("config", "set", "lang", "zh")
    assert r.exit_code == 0 and "lang" in r.stderr and r.stdout == ""
    ok("config", "set", "db", "/srv/crm/crm.db")
    ok("config", "set", "bom", "yes")
    ok("config", "set", "encoding", "GBK")
    assert tomllib.loads(user.read_text(encoding="utf-8")) == {
        "lang": "zh", "db": "/srv/crm/crm.db", "bom": True, "encoding": "gbk"}
    ok("config", "set", "lang", "en")  # replaced, the others kept
    ok("config", "unset", "db")
    assert tomllib.loads(user.read_text(encoding="utf-8")) == {"lang": "en", "bom": True, "encoding": "gbk"}
    assert "was not set" in run("config", "unset", "db").stderr
    assert [p.name for p in user.parent.iterdir()] == ["user.toml"]  # no temporary file left
    ok("config", "set", "--system", "db", "/srv/crm/crm.db")
    assert tomllib.loads(system.read_text(encoding="utf-8")) == {"db": "/srv/crm/crm.db"}
    assert shown()["db"]["source"] == "system"
    ok("config", "unset", "db", "--system")
    assert tomllib.loads(system.read_text(encoding="utf-8")) == {}


def test_set_refuses_what_it_cannot_keep(files, tmp_path):
    cli = Cli(tmp_path / "unused.db", actor="")
    user = files[0]
    for args, match in [(["lang", "fr"], "lang = 'fr': use zh or en"),
                        (["bom", "maybe"], "use true or false"),
                        (["encoding", "latin-1"], "use utf-8, gb18030 or gbk"),
                        (["colour", "red"], "unknown key 'colour'")]:
        cli.refused("config", "set", *args, match=match)
    assert not user.exists()
    write(user, "lang = [\n")
    cli.refused("config", "set", "lang", "zh", match="is not valid TOML")
    assert user.read_text(encoding="utf-8") == "lang = [\n"


# --- a broken file -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, match", [
    ('colour = "red"\n', "unknown key 'colour'"),
    ('lang = "fr"\n', "lang = 'fr': use zh or en"),
    ("bom = 1\n", "bom = 1: use true or false"),
    ("[db]\npath = 'x'\n", "db = dict"),
    ("db = \n", "is not valid TOML"),
])
def test_a_broken_file_is_refused_naming_file_and_key(petrochem: Cli, files, text, match):
    user = files[0]
    write(user, text)
    r = petrochem.refused("customer", "list", match=match)
    assert str(user) in r.stderr.splitlines()[0]


def test_config_commands_work_with_a_broken_file_and_fix_it(petrochem: Cli, files):
    user, system = files
    write(system, 'lang = "klingon"\n')
    write(user, 'colour = "red"\nbom = true\n')
    r = petrochem("config", "show", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert "unknown key 'colour'" in r.stderr and "klingon" in r.stderr and r.stderr.startswith("Warning:")
    assert {row["key"]: row["source"] for row in json.loads(r.stdout)}["bom"] == "user"
    assert petrochem("config", "path").exit_code == 0
    petrochem.ok("config", "unset", "colour")
    petrochem.ok("config", "unset", "--system", "lang")
    assert tomllib.loads(user.read_text(encoding="utf-8")) == {"bom": True}
    petrochem.ok("customer", "list")


def test_a_broken_file_does_not_stop_help(files):
    write(files[0], 'colour = "red"\n')
    assert "Usage" in ok("customer", "list", "--help")


def test_a_bad_environment_value_is_refused(petrochem: Cli, monkeypatch):
    monkeypatch.setenv("CRMCTL_BOM", "maybe")
    petrochem.refused("customer", "list", match="CRMCTL_BOM=maybe: use true or false")


# --- CSV defaults --------------------------------------------------------------------------------

def test_csv_takes_bom_and_encoding_from_the_files(fuel: Cli, files, monkeypatch):
    user, system = files
    fuel.ok("customer", "add", "--name", "出租车公司", "--segment", "nature=big", "--segment", "card=unit",
            "--segment", "industry=taxi")
    plain = fuel("customer", "list", "--format", "csv").stdout_bytes
    assert plain.startswith(b"code,")
    write(system, "bom = true\n")
    assert fuel("customer", "list", "--format", "csv").stdout_bytes == b"\xef\xbb\xbf" + plain
    assert fuel("customer", "list", "--format", "csv", "--no-bom").stdout_bytes == plain
    monkeypatch.setenv("CRMCTL_BOM", "0")
    assert fuel("customer", "list", "--format", "csv").stdout_bytes == plain
    monkeypatch.delenv("CRMCTL_BOM")
    write(user, 'encoding = "gb18030"\n')
    gb = fuel("customer", "list", "--format", "csv").stdout_bytes
    assert gb == plain.decode("utf-8").encode("gb18030")  # no BOM with GB 18030: the mark is UTF-8's
    again = fuel("customer", "list", "--format", "csv", "--encoding", "utf-8").stdout_bytes
    assert again == b"\xef\xbb\xbf" + plain
    # other formats keep their own rules (no BOM, no encoding refused in JSON)
    assert json.loads(fuel.ok("customer", "list", "--format", "json"))[0]["name"] == "出租车公司"


# --- global options after the command ------------------------------------------------------------

def test_global_options_after_the_command(petrochem: Cli, tmp_path):
    db = str(petrochem.db)
    assert json.loads(ok("staff", "list", "--db", db, "--as", "admin", "--format", "json"))[0]["login"] == "admin"
    assert json.loads(ok("staff", "list", "--format", "json", f"--db={db}", "--as=admin"))[0]["login"] == "admin"
    assert json.loads(ok("--db", db, "staff", "list", "-f", "json", "--as", "admin"))[0]["login"] == "admin"
    r = run("staff", "list", "--db", str(tmp_path / "none.db"), "--lang", "zh")
    assert_refused(r, prefix="错误:")
    r = run("--db", db, "staff", "list", "--", "--as", "admin")  # after --: an argument, not an option
    assert r.exit_code == 2, r.stderr


def test_hoisting_leaves_values_and_the_command_s_own_options():
    from crmctl.cli import hoist_global_options as hoist

    assert hoist(["customer", "list", "--db", "x.db", "--as", "li"]) == ["--db", "x.db", "--as", "li", "customer", "list"]
    assert hoist(["customer", "list", "--db=x.db", "-q"]) == ["--db=x.db", "-q", "customer", "list"]
    assert hoist(["--lang", "zh", "doc", "check", "-v"]) == ["--lang", "zh", "-v", "doc", "check"]
    # the value of one of the command's options, even one that looks like a global option
    assert hoist(["customer", "add", "--name", "-v", "--db", "x"]) == ["--db", "x", "customer", "add", "--name", "-v"]
    assert hoist(["customer", "list", "--", "--db", "x"]) == ["customer", "list", "--", "--db", "x"]
    assert hoist(["customer", "list", "--db"]) == ["customer", "list", "--db"]  # no value: Click says so
    assert hoist(["db", "copy", "--to", "--db", "--db", "a.db"]) == ["--db", "a.db", "db", "copy", "--to", "--db"]
    assert hoist(["nonsense", "--db", "x"]) == ["nonsense", "--db", "x"]


def test_a_command_s_own_option_of_a_global_name_stays_its_own(monkeypatch):
    import typer
    from typer.main import get_command

    from crmctl import cli

    fake = typer.Typer()

    @fake.command("go")
    def go(db: str = typer.Option("", "--db"), verbose: bool = typer.Option(False, "-v")) -> None:
        """A fake."""

    @fake.command("other")
    def other() -> None:
        """Another."""

    monkeypatch.setitem(cli.GROUPS, "fake", ("fake", "A fake group."))
    monkeypatch.setitem(cli._LOADED, "fake", get_command(fake))
    assert cli.hoist_global_options(["fake", "go", "--db", "x", "-v", "--as", "li"]) == [
        "--as", "li", "fake", "go", "--db", "x", "-v"]
    assert cli.hoist_global_options(["fake", "other", "--db", "x"]) == ["--db", "x", "fake", "other"]


# --- quiet and verbose ---------------------------------------------------------------------------

def _manufacturer_missing_a_document(make_cli, tmp_path) -> Cli:
    cli = make_cli("manufacturer")
    path = tmp_path / "old.csv"
    path.write_text(MANUFACTURER_HEADER + "\nM1,精工配件厂,supplier\n", encoding="utf-8")
    cli.ok("customer", "import", str(path), "--admitted")
    cli.ok("doc", "add", "M1", "--type", "company_profile")
    return cli


def test_quiet_silences_doc_check_but_not_its_json(make_cli, tmp_path):
    cli = _manufacturer_missing_a_document(make_cli, tmp_path)
    assert cli.ok("doc", "check").splitlines()[0] == "suspended 0, reactivated 0, missing 1"
    r = cli("doc", "check", "-q")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "")
    assert cli("-q", "doc", "check").stdout == ""
    assert json.loads(cli.ok("doc", "check", "-q", "--format", "json"))["missing"] == ["M1"]


def test_nothing_changed_and_no_terminal_prints_nothing(petrochem: Cli, monkeypatch):
    import crmctl.output

    assert petrochem.ok("doc", "check") == ""
    assert json.loads(petrochem.ok("doc", "check", "--format", "json")) == {"suspended": [], "reactivated": [],
                                                                         "missing": []}
    assert petrochem.ok("doc", "check", "-v").startswith("suspended 0, reactivated 0")
    monkeypatch.setattr(crmctl.output, "_stdout_is_terminal", lambda: True)
    assert petrochem.ok("doc", "check").startswith("suspended 0, reactivated 0")  # someone is reading
    assert petrochem.ok("doc", "check", "-q") == ""


def test_visit_plan_and_db_backup_for_cron(fuel: Cli, tmp_path):
    fuel.ok("customer", "add", "--name", "出租车公司", "--segment", "nature=big", "--segment", "card=unit",
            "--segment", "industry=taxi")
    assert "planned" in fuel.ok("visit", "plan", "--month", "2026-12")  # it planned something: said
    assert fuel.ok("visit", "plan", "--month", "2026-12") == ""  # again: nothing new, nothing said
    assert "already planned" in fuel.ok("visit", "plan", "--month", "2026-12", "--verbose")
    assert json.loads(fuel.ok("visit", "plan", "--month", "2026-12", "-q", "--format", "json"))["planned"] == 0
    dest = tmp_path / "b.db"
    assert fuel.ok("db", "backup", str(dest)).strip() == str(dest)
    r = fuel("db", "backup", str(tmp_path / "c.db"), "--quiet")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "")
    assert (tmp_path / "c.db").exists()


def test_quiet_silences_notes_and_verbose_shows_more(files, petrochem: Cli):
    r = run("config", "set", "lang", "en")
    assert r.stderr.strip() == f"{files[0]}: lang set"
    r = run("config", "set", "lang", "en", "-q")
    assert (r.exit_code, r.stderr) == (0, "")
    r = run("-q", "-v", "config", "path")
    assert r.exit_code == 2 and "--quiet and --verbose" in r.stderr


def test_short_q_and_v_are_quiet_and_verbose_everywhere():
    from tests.conftest import leaf_commands

    for words, cmd in leaf_commands().items():
        names = {n for p in cmd.params for n in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ()))}
        assert not names & {"-q", "-v", "--quiet", "--verbose", "--db", "--as", "--lang"}, words
