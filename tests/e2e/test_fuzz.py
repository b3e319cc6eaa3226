"""Hostile input against every command's text inputs: exit 0 or 1, never a traceback, and a
refused command (exit 1) leaves the database exactly as it was."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import Cli, fingerprint

NASTY = [
    "", " ", "a" * 100_000, "x\x00y", "\x1b[31mred\x1b[0m", "'; DROP TABLE customer; --", "=cmd|' /C calc'!A0",
    "+86 10 1234", "@SUM(A1)", "😀客户🚀", "１２３", "1e309", "NaN", "-inf", "-0", "0000-00-00", "2026-02-30",
    "9999-12-31T25:00", "\u202eevil", "../../etc/passwd", "C000001\n", "%s%s%n", "{seq}", "null", "[red]x[/red]",
    "二星客户", "product_line=聚烯烃", "=", "k=v=w", "\t\r\n",
]

# (argv with {} where the hostile value goes; positional values after "--" so that a value starting
# with "-" is not read as an option); a customer C000001 and staff xs exist.
TEMPLATES = [
    ["customer", "add", "--name={}", "-s", "product_line=polyolefin", "-s", "channel=distributor", "-s", "sales_form=auction"],
    ["customer", "add", "--name=甲", "--segment={}", "-s", "channel=distributor"],
    ["customer", "add", "--name=甲", "-s", "product_line=other", "-s", "channel=direct", "--field={}"],
    ["customer", "add", "--name=甲", "-s", "product_line=other", "-s", "channel=direct", "--tax-id={}"],
    ["customer", "add", "--name=甲", "-s", "product_line=other", "-s", "channel=direct", "--owner={}"],
    ["customer", "add", "--name=甲", "-s", "product_line=other", "-s", "channel=direct", "--code={}"],
    ["customer", "edit", "C000001", "--name={}"],
    ["customer", "edit", "C000001", "--field=pickup_depot={}"],
    ["customer", "edit", "--name=x", "--", "{}"],
    ["customer", "show", "--", "{}"],
    ["customer", "list", "--status={}"],
    ["customer", "list", "--grade={}"],
    ["customer", "list", "--segment={}"],
    ["customer", "list", "--name={}", "--format=csv"],
    ["customer", "note", "C000001", "--channel=call", "--text={}"],
    ["customer", "note", "C000001", "--channel={}", "--text=x"],
    ["customer", "note", "C000001", "--channel=call", "--text=x", "--at={}"],
    ["customer", "disqualify", "C000001", "--reason={}"],
    ["customer", "submit", "--", "{}"],
    ["approve", "--", "{}"],
    ["doc", "add", "C000001", "--type={}"],
    ["doc", "add", "C000001", "--type=business_license", "--expires={}"],
    ["doc", "add", "C000001", "--type=billing_info", "--number={}"],
    ["doc", "list", "--customer={}"],
    ["staff", "add", "--name=x", "--role=sales", "--", "{}"],
    ["staff", "add", "newbie", "--name={}", "--role=sales"],
    ["staff", "add", "newbie", "--name=x", "--role={}"],
    ["staff", "leave", "xs", "--handover-to={}"],
    ["audit", "list", "--since={}"],
    ["audit", "list", "--customer={}", "--format=json"],
    ["volume", "add", "C000001", "--qty={}"],
    ["volume", "add", "C000001", "--qty=5", "--date={}"],
    ["volume", "add", "C000001", "--qty=5", "--amount={}"],
    ["volume", "add", "C000001", "--qty=5", "--product={}"],
    ["plan", "set", "C000001", "--month={}", "--qty=5"],
    ["grade", "run", "--period=month", "--label={}"],
    ["grade", "run", "--period={}"],
    ["grade", "explain", "--", "{}"],
    ["grade", "history", "--", "{}"],
    ["complaint", "open", "C000001", "--summary={}"],
    ["complaint", "open", "C000001", "--summary=x", "--severity={}"],
    ["complaint", "open", "C000001", "--summary=x", "--at={}"],
    ["complaint", "close", "--resolution=x", "--", "{}"],
    ["complaint", "extend", "--working-days=2", "--", "{}"],
    ["complaint", "approve-extension", "--comment={}", "--reject", "--", "1"],
    ["complaint", "list", "--customer={}"],
    ["calendar", "due", "--from=2026-09-30T15:00", "--in={}"],
    ["calendar", "due", "--from={}", "--in=1 working day"],
    ["calendar", "show", "--month={}"],
    ["visit", "plan", "--month={}"],
    ["visit", "log", "C000001", "--kind={}"],
    ["visit", "log", "C000001", "--kind=visit", "--notes={}"],
    ["visit", "log", "C000001", "--kind=visit", "--field={}"],
    ["visit", "list", "--month={}"],
    ["survey", "record", "C000001", "--label={}", "product=5", "service=5", "image=5"],
    ["survey", "record", "C000001", "--label=2026", "--", "{}"],
    ["target", "set", "xs", "--quarter={}", "--prospects=1", "--admitted=1"],
    ["policy", "check", "--", "{}"],
]

CASES = [(t, v) for t in TEMPLATES for v in NASTY]


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory):
    import os

    from tests.conftest import _init

    os.environ.setdefault("CRMCTL_NOW", "2026-11-22T10:00:00")
    cli = _init(tmp_path_factory.mktemp("fuzz") / "crm.db", "petrochem")
    cli.ok("staff", "add", "xs", "--name", "销售", "--role", "sales")
    cli.ok("customer", "add", "--name", "甲", "-s", "product_line=polyolefin", "-s", "channel=distributor",
           "-s", "sales_form=auction")
    return cli


_KNOWN: dict[str, str] = {}  # database -> its fingerprint, as long as only refused commands ran on it


def _check(cli: Cli, argv: list[str]) -> None:
    key = str(cli.db)
    before = _KNOWN.pop(key, None) or fingerprint(cli.db)
    r = cli(*argv)
    assert "Traceback" not in r.stdout + r.stderr, argv
    assert r.exit_code in (0, 1), (argv, r.exit_code, r.stderr[-500:])
    if r.exit_code == 1:
        assert r.stderr.startswith("Error:"), (argv, r.stderr[:300])
        assert fingerprint(cli.db) == before, f"refused command changed the database: {argv}"
        _KNOWN[key] = before


@pytest.mark.parametrize("template,value", CASES, ids=[f"{' '.join(t[:2])}-{i}" for i, (t, _) in enumerate(CASES)])
def test_hostile_text(fuzz_db, template, value):
    _check(fuzz_db, [a.replace("{}", value) for a in template])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(TEMPLATES), st.text(min_size=0, max_size=60))
def test_random_text(fuzz_db, template, value):
    _check(fuzz_db, [a.replace("{}", value) for a in template])
