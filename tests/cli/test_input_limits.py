"""Bad input that used to get in (issue 14): each is one ``Error:`` line, exit 1, no traceback and no
change to the data, on SQLite and PostgreSQL.  The limits are in ``crmctl.rules.limits``."""

from __future__ import annotations

import json

import pytest

from crmctl.rules import limits
from tests.conftest import Cli, assert_refused

SEG = ["-s", "product_line=polyolefin", "-s", "channel=distributor", "-s", "sales_form=auction"]
RANGE = "1990-01-01 to 2100-12-31"


@pytest.fixture
def pc(petrochem: Cli) -> Cli:
    petrochem.ok("customer", "add", "--name", "甲公司", *SEG)
    petrochem.ok("customer", "add", "--name", "50%_off 公司", *SEG)
    petrochem.ok("customer", "add", "--name", "back\\slash", *SEG)
    return petrochem


# ---- dates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("at", ["0001-01-01", "1000-01-01", "1989-12-31T23:00", "9999-12-31T23:59:59",
                                "0001-01-01T00:00+14:00"])
def test_event_dates_outside_the_range(pc, at):
    pc.refused("complaint", "open", "C000001", "--summary", "x", "--at", at, match=RANGE)
    pc.refused("customer", "note", "C000001", "--channel", "call", "--text", "x", "--at", at, match=RANGE)


@pytest.mark.parametrize("now", ["0001-01-01", "1000-01-01", "9999-12-31T23:59:59", "2101-01-01"])
def test_crmctl_now_outside_the_range(pc, now):
    pc.refused("complaint", "open", "C000001", "--summary", "x", env={"CRMCTL_NOW": now}, match="CRMCTL_NOW")
    pc.refused("doc", "check", env={"CRMCTL_NOW": now}, match=RANGE)


@pytest.mark.parametrize("argv", [
    ["volume", "add", "C000001", "--qty", "5", "--date", "1000-01-01"],
    ["volume", "add", "C000001", "--qty", "5", "--date", "0001-01-01"],
    ["doc", "add", "C000001", "--type", "business_license", "--expires", "9999-12-31"],
    ["audit", "list", "--since", "0001-01-01"],
    ["audit", "list", "--since", "9999-12-31T23:59:59"],
    ["calendar", "due", "--from", "0001-01-01", "--in", "1 working day"],
    ["calendar", "due", "--from", "9999-12-31T23:00", "--in", "1 h"],
    ["grade", "run", "--period", "month", "--label", "1000-01"],
    ["visit", "plan", "--month", "9999-12"],
])
def test_date_options_share_the_range(pc, argv):
    pc.refused(*argv, match="crmctl accepts")


def test_dates_in_import_files_share_the_range(pc, tmp_path):
    vol = tmp_path / "v.csv"
    vol.write_text("customer,date,qty\nC000001,1000-01-01,5\n", encoding="utf-8")
    pc.refused("volume", "import", str(vol), match="1990-01-01")
    cust = tmp_path / "c.csv"
    cust.write_text("name,product_line,channel,sales_form,created_at\n乙,polyolefin,distributor,auction,0001-01-01\n",
                    encoding="utf-8")
    pc.refused("customer", "import", str(cust), match=RANGE)


# ---- durations ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("due,limit", [("1" + "0" * 30 + " working days", "250 working days"),
                                       ("99999999 h", "8784 h")])
def test_policy_check_and_apply_bound_durations(pc, tmp_path, due, limit):
    from crmctl.policies import read_policy_source

    text = read_policy_source("petrochem")[0].replace('{ due = "1 working day" }', f'{{ due = "{due}" }}')
    assert due in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    r = pc("policy", "check", str(bad))
    assert r.exit_code == 1 and "complaints.sla[" in r.stderr and f"at most {limit}" in r.stderr, r.stderr
    pc.refused("policy", "apply", str(bad), match=f"at most {limit}")


def test_calendar_due_and_extension_are_bounded(pc):
    pc.refused("calendar", "due", "--from", "2026-09-30T15:00", "--in", "99999999 h", match="at most 8784 h")
    cid = json.loads(pc.ok("complaint", "open", "C000001", "--summary", "x", "--format", "json"))["id"]
    pc.refused("complaint", "extend", str(cid), "--working-days", str(10**9), match="at most 250 working days")


# ---- nesting, URLs, passwords ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["a = " + "[" * 10_000 + "]" * 10_000, "a = " + "{b = " * 3000 + "1" + "}" * 3000])
def test_deeply_nested_policy_is_one_refusal(pc, tmp_path, text):
    f = tmp_path / "deep.toml"
    f.write_text(text, encoding="utf-8")
    for cmd in ("check", "apply", "diff"):
        r = pc.refused("policy", cmd, str(f), match="nested deeper than")
        assert "unexpected" not in r.stderr


def test_port_that_is_not_a_number(tmp_path):
    cli = Cli("postgresql+psycopg://u@h:notaport/db")
    r = cli("customer", "list")
    assert_refused(r, "port")
    assert "unexpected" not in r.stderr


@pytest.mark.parametrize("url", [
    "post gres://postgres:S3cretPW@host/db",
    "postgres:S3cretPW@host/db",
    "postgresql+psycopg://postgres:S3cretPW@h:notaport/db",
    "mysql://root:S3cretPW@host/db",
    "postgresql+psycopg://postgres:S3cretPW@127.0.0.1:1/nodb?connect_timeout=1",
])
def test_no_password_in_any_message(tmp_path, url):
    for args in (["customer", "list"], ["db", "check"], ["db", "upgrade"], ["init", "--policy", "petrochem"]):
        r = Cli(url)(*args, actor="")
        assert r.exit_code != 0
        assert "S3cretPW" not in r.stdout + r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stdout + r.stderr


def test_unexpected_errors_are_masked_too():
    from crmctl.cli import _describe_unexpected

    text = _describe_unexpected(RuntimeError("could not connect to postgresql://u:S3cretPW@h/db"))
    assert "S3cretPW" not in text


# ---- LIKE --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed,expected", [("%", ["C000002"]), ("_", ["C000002"]), ("\\", ["C000003"]),
                                            ("50%_", ["C000002"]), ("甲", ["C000001"]), ("%%", [])])
def test_name_filter_takes_wildcards_literally(pc, typed, expected):
    rows = json.loads(pc.ok("customer", "list", "--name", typed, "--format", "json"))
    assert [r["code"] for r in rows] == expected
    csv = pc.ok("customer", "list", "--name", typed, "--format", "csv")
    assert len(csv.strip().splitlines()) == 1 + len(expected)


def test_audit_action_filter_only_the_star_is_a_wildcard(pc):
    assert json.loads(pc.ok("audit", "list", "--action", "customer.*", "--format", "json"))
    assert json.loads(pc.ok("audit", "list", "--action", "customer%", "--format", "json")) == []
    assert json.loads(pc.ok("audit", "list", "--action", "customer_add", "--format", "json")) == []


# ---- text lengths ------------------------------------------------------------------------------------

LONG = "长" * 130_000


@pytest.mark.parametrize("argv,field", [
    (["staff", "add", "newbie", "--name", LONG, "--role", "sales"], "--name"),
    (["staff", "add", "newbie", "--name", "x", "--unit", LONG, "--role", "sales"], "--unit"),
    (["staff", "edit", "admin", "--name", LONG], "--name"),
    (["customer", "add", "--name", LONG, *SEG], "name"),
    (["customer", "add", "--name", "乙", *SEG, "--field", f"pickup_depot={LONG}"], "pickup_depot"),
    (["customer", "edit", "C000001", "--field", "pickup_depot=" + "x" * 201], "pickup_depot"),
    (["customer", "list", "--name", LONG], "--name"),
    (["customer", "note", "C000001", "--channel", "call", "--text", LONG], "--text"),
    (["complaint", "open", "C000001", "--summary", LONG], "--summary"),
    (["doc", "add", "C000001", "--type", "billing_info", "--number", LONG], "--number"),
    (["visit", "log", "C000001", "--kind", "visit", "--note", LONG], "--note"),
    (["volume", "add", "C000001", "--qty", "5", "--product", LONG], "--product"),
    (["audit", "list", "--action", LONG], "--action"),
])
def test_every_free_text_has_a_length_limit(pc, argv, field):
    r = pc.refused(*argv, match="longer than")
    assert field in r.stderr


def test_the_limits_are_the_documented_ones(pc):
    pc.ok("staff", "add", "newbie", "--name", "名" * limits.MAX_NAME, "--role", "sales")
    pc.refused("staff", "add", "newbie2", "--name", "名" * (limits.MAX_NAME + 1), "--role", "sales",
               match=f"longer than {limits.MAX_NAME} characters")
    pc.ok("complaint", "open", "C000001", "--summary", "述" * limits.MAX_LONG_TEXT)
    pc.refused("complaint", "open", "C000001", "--summary", "述" * (limits.MAX_LONG_TEXT + 1),
               match=f"longer than {limits.MAX_LONG_TEXT} characters")


def test_import_files_have_the_same_length_limits(pc, tmp_path):
    cust = tmp_path / "c.csv"
    cust.write_text(f"name,product_line,channel,sales_form,pickup_depot\n乙,polyolefin,distributor,auction,{'x' * 201}\n",
                    encoding="utf-8")
    pc.refused("customer", "import", str(cust), match="longer than 200")
    cust.write_text(f"name,product_line,channel,sales_form\n{'x' * 201},polyolefin,distributor,auction\n", encoding="utf-8")
    pc.refused("customer", "import", str(cust), match="longer than 200")
