"""Exports hold what the JSON holds (issue 16): for every list, show and report command, on demo data
of all five policies, the CSV header is exactly the JSON keys flattened (``crmctl.output.flatten``:
nested objects as ``a.b``, in the JSON's order), every row of a list has the same keys, and an empty
list writes the same header as a full one (the keys the listing declares: ``emit_rows(fields=...)``).

The commands are enumerated from the Typer app itself: a new command with ``--format`` fails
:func:`test_every_format_command_is_walked_or_skipped` until it is walked here (``WALK``) or put in
``SKIP`` with the reason.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from crmctl.output import flatten
from tests.conftest import NOW, Cli, leaf_commands

POLICIES = ["petrochem", "gas-service", "manufacturer", "fuel-retail", "gas-tiered"]

#: read commands walked, with their arguments ({customer}, {graded}, {complaint} ...: items of the
#: demo data, taken from the lists' JSON; a run whose item the policy lacks is left out)
WALK: dict[str, list[str]] = {
    "customer list": [],
    "customer show": ["{customer}"],
    "customer contact check": [],
    "doc list": [],
    "plan list": [],
    "grade explain": ["{graded}"],
    "grade history": ["{graded}"],
    "complaint list": [],
    "complaint show": ["{complaint}"],
    "service list": [],
    "service show": ["{ticket}"],
    "proposal list": [],
    "proposal show": ["{proposal}"],
    "visit list": [],
    "visit show": ["{activity}"],
    "survey list": [],
    "target list": [],
    "staff list": [],
    "policy list": [],
    "policy show": ["--history"],  # without --history it prints the policy as TOML in every format
    "calendar show": ["--month", "2026-10"],
    "calendar due": ["--from", "2026-09-30T15:00", "--in", "1 working day"],
    "audit list": [],
    "approve": ["--list"],
    "agenda": ["--all", "--week"],
    # every report is walked with its defaults: "report *"
}

#: commands with --format that are not walked, and why
SKIP: dict[str, str] = {
    # These change data (or run a job): their --format prints the record or summary the change made,
    # one object through crmctl.output.emit_object, whose CSV is that object flattened by
    # construction (no column list; tests/rules/test_output.py).  Walking them needs a change each.
    **dict.fromkeys([
        "init", "customer add", "customer edit", "doc add", "doc check", "volume add", "volume import",
        "score set", "plan set", "grade run", "complaint open", "complaint close", "complaint extend",
        "complaint approve-extension", "complaint escalate", "complaint submit-opinion",
        "complaint approve-opinion", "service open", "service dispatch", "service arrive", "service take-back",
        "service resolve", "service rate", "proposal open", "proposal close", "proposal schedule",
        "calendar set-year", "visit log", "survey record", "target set", "staff add", "staff edit",
        "staff leave",
    ], "changes data; prints the change's result object (emit_object: CSV = the object flattened)"),
    # visit plan's CSV is one row per owner and kind of the plan just made, its JSON the plan's summary
    # object (docs/cli.md "visit plan"): two shapes by design, and it writes the plan
    "visit plan": "writes a plan; CSV rows per owner x kind, JSON the summary object (by design)",
    "config show": "the configuration files' keys, not the database (tests/cli/test_config.py checks its JSON/CSV)",
}


#: lists that are not empty on a fresh database as walked: arguments listing nothing on the demo data
#: ({ungraded}: a customer of the demo without grades)
EMPTY_ARGS: dict[str, list[str]] = {
    "audit list": ["--actor", "nobody"],
    "grade history": ["{ungraded}"],
}

#: lists never empty (every database has a staff member, a policy version, the days of a month): the
#: function their rows come from, made to return none for the check
NEVER_EMPTY: dict[str, str] = {
    "staff list": "crmctl.services.staff.list_staff",
    "policy show": "crmctl.services.policy.history",
    "calendar show": "crmctl.services.calendar_days.day_rows",
}


def _format_commands() -> list[str]:
    return [name for name, cmd in leaf_commands().items()
            if "--format" in {o for p in cmd.params for o in getattr(p, "opts", [])}]


def _walked(name: str) -> bool:
    return name in WALK or name.startswith("report ")


def test_every_format_command_is_walked_or_skipped():
    commands = _format_commands()
    unknown = [c for c in commands if not _walked(c) and c not in SKIP]
    assert not unknown, f"walk these in WALK (or say in SKIP why not) in {__file__}: {unknown}"
    gone = [c for c in WALK if c not in commands]  # (a stale SKIP entry is harmless)
    assert not gone, f"no such command with --format: {gone}"
    assert sum(c.startswith("report ") for c in commands) >= 10


# -- the data ------------------------------------------------------------------------------------

def _env(tmp: Path) -> dict:
    return {"CRMCTL_NOW": NOW, "XDG_CACHE_HOME": str(tmp / "cache"), "XDG_DATA_HOME": str(tmp / "data"),
            "HOME": str(tmp / "home")}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    cache: dict[str, tuple[Path, dict]] = {}

    def get(policy: str) -> tuple[Path, dict]:
        if policy not in cache:
            tmp = tmp_path_factory.mktemp(f"export-{policy}")
            env = _env(tmp)
            db = tmp / "demo.db"
            Cli(db).ok("demo", "--policy", policy, "--customers", "30", actor="", env=env)
            cache[policy] = (db, env)
        return cache[policy]

    return get


def _json(cli: Cli, env: dict, *args: str):
    r = cli(*args, "--format", "json", env=env)
    return json.loads(r.stdout) if r.exit_code == 0 else None


def _items(cli: Cli, env: dict) -> dict[str, str]:
    """Items of the demo data for the show commands (absent where the policy has no such feature)."""
    items: dict[str, str] = {}
    customers = _json(cli, env, "customer", "list") or []
    if customers:
        items["customer"] = customers[0]["code"]
    graded = [c["code"] for c in customers if any(v is not None for v in (c.get("grades") or {}).values())]
    if graded:
        items["graded"] = graded[0]
    ungraded = [c["code"] for c in customers if c["code"] not in graded]
    if ungraded:
        items["ungraded"] = ungraded[0]
    for item, cmd in (("complaint", "complaint"), ("ticket", "service"), ("proposal", "proposal"),
                      ("activity", "visit")):
        rows = _json(cli, env, cmd, "list") or []
        if rows:
            items[item] = str(rows[0]["id"])
    return items


def _runs(items: dict[str, str]):
    for name in _format_commands():
        if not _walked(name):
            continue
        try:
            args = [a.format(**items) for a in WALK.get(name, [])]
        except KeyError:  # an item the policy has no feature for (no tickets, no grades ...)
            continue
        yield name, [*name.split(), *args]


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


#: objects whose keys are data, not columns (crmctl.fields.JsonCell): one cell of JSON text in csv
OPAQUE = {"audit list": ("before", "after")}


def _flat(name: str, obj: dict) -> dict:
    keep = OPAQUE.get(name, ())
    return flatten({k: (json.dumps(v) if k in keep and isinstance(v, dict) else v) for k, v in obj.items()})


def _same(cell: str, value) -> bool:
    """The csv cell shows the json value (text escaped with ', lists joined, objects as JSON)."""
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == ("true" if value else "false")
    if isinstance(value, str):
        return cell.removeprefix("'") == value if value[:1] in "=+-@\t\r" else cell == value
    if isinstance(value, (int, float)):
        return float(cell) == value
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        try:
            return json.loads(cell.removeprefix("'")) == value
        except ValueError:
            return False
    if isinstance(value, list):
        return cell.removeprefix("'") == ";".join("" if v is None else str(v).lower() if isinstance(v, bool)
                                                  else str(v) for v in value)
    return False


def _compare(cli: Cli, env: dict, name: str, argv: list[str]) -> tuple[list[str] | None, int, list[str]]:
    """(the csv header, how many rows, problems) of one command run in json and csv."""
    rj = cli(*argv, "--format", "json", env=env)
    rc = cli(*argv, "--format", "csv", env=env)
    assert "Traceback" not in rj.stdout + rj.stderr + rc.stdout + rc.stderr, (argv, rj.stderr, rc.stderr)
    assert rj.exit_code == rc.exit_code, (argv, rj.stderr, rc.stderr)
    if rj.exit_code != 0:  # refused alike in both formats (a feature the policy lacks)
        assert rj.exit_code == 1 and rj.stderr.startswith("Error:"), (argv, rj.stderr)
        return None, 0, []
    data = json.loads(rj.stdout)
    lines = _csv(rc.stdout)
    header = lines[0] if lines else []
    rows = data if isinstance(data, list) else [data]
    problems = []
    if len(lines) - 1 != len(rows):
        problems.append(f"{name}: {len(lines) - 1} csv rows, {len(rows)} json objects")
    for i, obj in enumerate(rows):  # every row: the same keys, and they are the header
        keys = list(_flat(name, obj))
        if keys != header:
            problems.append(f"{name} row {i}: json keys {keys} != csv header {header}; "
                            f"json only {[k for k in keys if k not in header]}, "
                            f"csv only {[k for k in header if k not in keys]}")
            break
    for i, (obj, line) in enumerate(zip(rows, lines[1:])):  # and the cells hold the json's values
        flat = _flat(name, obj)
        bad = [(k, c, flat.get(k)) for k, c in zip(header, line)
               if not (_same(c, flat.get(k)) or k in OPAQUE.get(name, ()) and json.loads(c) == json.loads(flat[k]))]
        if bad:
            problems.append(f"{name} row {i}: csv/json {bad[:3]}")
            break
    if not header:
        problems.append(f"{name}: no csv header")
    return header, len(rows), problems


def _log_report(cli: Cli, env: dict, policy: str) -> dict[str, str]:
    """A done activity with every report field of a kind that has them (petrochem's 走访报告单 ...)."""
    from crmctl.policies import load_policy

    kinds = load_policy(policy)[0].activities.report_fields
    if not kinds:
        return {}
    kind, fields = next(iter(kinds.items()))
    values = {k: f"报告{i}内容" for i, k in enumerate(fields)}
    code = _json(cli, env, "customer", "list", "--status", "active")[0]["code"]
    cli.ok("visit", "log", code, "--kind", kind, "--at", "2026-11-20T10:00",
           *[a for k, v in values.items() for a in ("--field", f"{k}={v}")], env=env)
    return values


def _approver(cli: Cli, env: dict) -> Cli | None:
    """The demo's first staff member something waits for in ``approve --list`` (admin decided theirs)."""
    for person in _json(cli, env, "staff", "list") or []:
        who = Cli(cli.db, actor=person["login"])
        if _json(who, env, "approve", "--list"):
            return who
    return None


def _records(text: str) -> list[dict]:
    lines = _csv(text)
    return [dict(zip(lines[0], line)) for line in lines[1:]]


@pytest.mark.parametrize("policy", POLICIES)
def test_csv_columns_are_the_json_keys(demo_db, make_cli, policy):
    db, env = demo_db(policy)
    cli = Cli(db)
    report = _log_report(cli, env, policy)
    items = _items(cli, env)
    # the four exports the issue names hold what the JSON holds
    for cmd in (["customer", "list"], ["report", "customers"]):
        rows = _records(cli.ok(*cmd, "--format", "csv", env=env))
        assert "tax_id" in rows[0] and sum(bool(r["tax_id"]) for r in rows) >= 20, cmd
    for cmd, keys in ((["complaint", "list"], ("summary", "resolution")), (["service", "list"], ("summary", "note"))):
        r = cli(*cmd, "--format", "csv", env=env)
        if r.exit_code == 0:  # the policy has complaints / service tickets
            rows = _records(r.stdout)
            assert rows and all(k in rows[0] for k in keys), (cmd, list(rows[0]) if rows else None)
            assert any(r["summary"] for r in rows)
    if report:
        rows = _records(cli.ok("visit", "list", "--format", "csv", env=env))
        assert {f"report.{k}": v for k, v in report.items()}.items() <= max(
            rows, key=lambda r: sum(bool(r.get(f"report.{k}")) for k in report)).items()
    problems: list[str] = []
    headers: dict[str, list[str]] = {}
    full: dict[str, list[str]] = {}  # command -> the header of a run with rows
    filled = 0
    for name, argv in _runs(items):
        header, n, found = _compare(cli, env, name, argv)
        problems += found
        if header is not None:
            headers[" ".join(argv)] = header
            filled += n > 0
            if n:
                full.setdefault(name, header)
    approver = _approver(cli, env)
    if approver is not None:  # approve --list with rows (as admin it is empty)
        header, n, found = _compare(approver, env, "approve", ["approve", "--list"])
        problems += found
        if n:
            full["approve"] = header
    assert not problems, "\n".join(problems)
    assert filled >= 15, f"the walk needs data: {filled} commands had rows"
    # an empty list: the same header (the listing's declared fields when there are no rows) as a
    # list with rows -- on an empty database, ...
    checked: list[str] = []

    def empty_header(name: str, r) -> None:
        if r.exit_code != 0 or name not in full:
            return
        got = _csv(r.stdout)
        if len(got) > 1:  # rows: walked above
            return
        checked.append(name)
        header = got[0] if got else []
        if header != full[name]:
            problems.append(f"{name} with no rows: {header} != {full[name]} (with rows)")

    empty = make_cli(policy)
    for name, argv in _runs({}):
        if " ".join(argv) in headers:
            empty_header(name, empty(*argv, "--format", "csv", env=env))
    # ... on the demo data listing nothing ...
    for name, args in EMPTY_ARGS.items():
        try:
            argv = [*name.split(), *(a.format(**items) for a in args)]
        except KeyError:
            continue
        assert _json(cli, env, *argv) == [], argv
        empty_header(name, cli(*argv, "--format", "csv", env=env))
    # ... and where the rows' source gives none
    import importlib

    for name, where in NEVER_EMPTY.items():
        module, func = where.rsplit(".", 1)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(importlib.import_module(module), func, lambda *a, **kw: [])
            argv = next(argv for n, argv in _runs(items) if n == name)
            empty_header(name, cli(*argv, "--format", "csv", env=env))
    assert not problems, "\n".join(problems)
    # (grade history: where the policy grades and the demo has a customer without grades)
    wanted = {*NEVER_EMPTY, "audit list"} | ({"grade history"} & set(full) if "ungraded" in items else set())
    assert wanted <= set(checked), (wanted - set(checked), checked)


# -- --labels: CSV for people (issue 17) ----------------------------------------------------------

def test_labels_csv_has_headings_and_labels_and_the_same_columns(demo_db):
    """In Chinese (the built-in policies' language: what Excel users get); the English headings are
    tests/cli/test_language_tables.py's."""
    db, env = demo_db("petrochem")
    cli = Cli(db)
    plain = _csv(cli.ok("customer", "list", "--format", "csv", env=env))
    lab = _csv(cli.ok("--lang", "zh", "customer", "list", "--format", "csv", "--labels", env=env))
    assert len(lab) == len(plain) and all(len(a) == len(b) for a, b in zip(lab, plain))
    head = lab[0]
    assert head[:3] == ["编号", "名称", "状态"] and "产品线" in head and head[-1] == "统一社会信用代码"  # tax_id
    assert head[plain[0].index("segments.product_line")] == "产品线"
    rows = [dict(zip(head, r)) for r in lab[1:]]
    codes = [dict(zip(plain[0], r)) for r in plain[1:]]
    assert {r["状态"] for r, c in zip(rows, codes) if c["status"] == "active"} == {"正式客户"}
    assert {r["产品线"] for r in rows} <= {"聚烯烃", "其他产品", ""} and any(r["产品线"] == "聚烯烃" for r in rows)
    assert all(len(r["建档时间"]) == 16 and r["建档时间"][10] == " " for r in rows)  # YYYY-MM-DD HH:MM
    # json and table refuse it: one Error line, exit 1
    for fmt in ("json", "table"):
        r = cli("customer", "list", "--format", fmt, "--labels", env=env)
        assert r.exit_code == 1 and r.stderr.startswith("Error:") and "--labels" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and not r.stdout


def test_labels_csv_keeps_every_column_of_every_command(demo_db):
    """Every walked command with --labels: as many rows and columns as its plain CSV, in the same order."""
    db, env = demo_db("petrochem")
    cli = Cli(db)
    problems = []
    leaves = leaf_commands()
    for name, argv in _runs(_items(cli, env)):
        if "--bom" not in {o for p in leaves[name].params for o in getattr(p, "opts", [])}:
            continue  # writes no file (calendar due): no --labels
        rc = cli(*argv, "--format", "csv", env=env)
        rl = cli(*argv, "--format", "csv", "--labels", env=env)
        assert "Traceback" not in rl.stdout + rl.stderr, (argv, rl.stderr)
        if rc.exit_code != rl.exit_code:
            problems.append(f"{name}: exit {rl.exit_code} with --labels, {rc.exit_code} without ({rl.stderr})")
            continue
        plain, lab = _csv(rc.stdout), _csv(rl.stdout)
        if [len(r) for r in plain] != [len(r) for r in lab]:
            problems.append(f"{name}: --labels shape {[len(r) for r in lab][:3]} != {[len(r) for r in plain][:3]}")
        elif plain and len(set(lab[0])) != len(lab[0]):
            problems.append(f"{name}: a heading twice in {lab[0]}")
    assert not problems, "\n".join(problems)


def test_report_table_numbers_have_separators_and_fixed_decimals(demo_db):
    import re

    db, env = demo_db("petrochem")
    cli = Cli(db)
    table = cli.ok("report", "allocation", env=env)
    assert re.search(r"\b\d{1,3}(,\d{3})+\.\d{2}\b", table), table  # 3,230.08
    assert re.search(r"\b\d+\.\d%", table), table  # 111.1%
    csv_text = cli.ok("report", "allocation", "--format", "csv", env=env)
    rows = _csv(csv_text)
    at = [rows[0].index(k) for k in ("planned", "actual", "completion_pct")]
    assert all(r[i] == "" or float(r[i]) >= 0 for r in rows[1:] for i in at)  # plain numbers: no "," or "%"
