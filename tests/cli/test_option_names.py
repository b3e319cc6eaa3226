"""Options mean the same everywhere (issue 16, "One shape for scripts").

* the free text of close / resolve / log is ``--note`` (``--resolution`` and ``--notes`` are kept,
  hidden, with a warning);
* every listing takes ``--limit`` (``audit list --last`` kept, hidden);
* ``report … --months-back N`` is the count of months (``--months``, too close to ``--month``, kept
  hidden), ``report documents --expiring-within DAYS`` as ``doc list`` (``--days`` kept hidden);
* every command that writes a file (``--output``) takes ``--bom`` and ``--encoding``, and ``--labels``;
* labels are accepted wherever codes are (``--status 正式客户``, ``--stability 流失客户``,
  ``--channel 传真``).
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import Cli, fingerprint, leaf_commands

OLD_NAMES = {"--resolution": "--note", "--notes": "--note", "--last": "--limit", "--months": "--months-back",
             "--days": "--expiring-within"}


def _options(cmd, *, hidden: bool | None = None) -> set[str]:
    return {o for p in cmd.params for o in getattr(p, "opts", [])
            if hidden is None or bool(getattr(p, "hidden", False)) == hidden}


def test_every_command_that_writes_a_file_takes_bom_and_encoding():
    missing = [f"{name}: {opt}" for name, cmd in leaf_commands().items() if "--output" in _options(cmd)
               for opt in ("--bom", "--encoding") if opt not in _options(cmd)]
    assert not missing, missing


def test_every_command_with_bom_takes_labels():
    """``--labels`` (CSV with the table's headings and labels, issue 17) goes wherever ``--bom`` does."""
    leaves = leaf_commands()
    with_bom = [name for name, cmd in leaves.items() if "--bom" in _options(cmd)]
    assert len(with_bom) >= 20
    assert not [name for name in with_bom if "--labels" not in _options(leaves[name])]
    assert not [name for name, cmd in leaves.items() if "--labels" in _options(cmd) and "--bom" not in _options(cmd)]


def test_every_listing_takes_limit():
    lists = {name: cmd for name, cmd in leaf_commands().items() if name.endswith(" list") or name == "grade history"}
    assert len(lists) >= 12
    assert not [name for name, cmd in lists.items() if "--limit" not in _options(cmd, hidden=False)]


def test_old_option_names_are_hidden_everywhere_and_the_free_text_is_note():
    leaves = leaf_commands()
    shown = {name: _options(cmd, hidden=False) for name, cmd in leaves.items()}
    assert not [(n, o) for n, opts in shown.items() for o in opts if o in OLD_NAMES]
    for name in ("complaint close", "service resolve", "visit log"):
        assert "--note" in shown[name], name
    assert "--months-back" in shown["report complaints"] and "--expiring-within" in shown["report documents"]


POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]


def _add(cli: Cli, name: str, segments=POLY) -> str:
    return cli.ok("customer", "add", "--name", name, *segments).strip()


GAS = ["--segment", "sector=industrial"]


def _complaint(cli: Cli) -> str:
    code = _add(cli, "甲公司", GAS)
    return cli.ok("complaint", "open", code, "--summary", "到货晚", "--at", "2026-11-20T09:00").strip()


def test_complaint_close_old_name_still_works_with_a_warning(make_cli):
    gas = make_cli("gas-service")
    number = _complaint(gas)
    r = gas("complaint", "close", number, "--resolution", "已补发", "--at", "2026-11-20T15:00")
    assert r.exit_code == 0, r.stderr
    assert "Warning: --resolution is now called --note" in r.stderr
    shown = json.loads(gas.ok("complaint", "show", number, "--format", "json"))
    assert shown["resolution"] == "已补发"


@pytest.mark.parametrize("args, message", [
    (["--note", "a", "--resolution", "b"], "--resolution is the old name of --note"),
    ([], "Missing option '--note'"),
])
def test_complaint_close_note_given_twice_or_not_at_all_is_a_usage_error(make_cli, args, message):
    gas = make_cli("gas-service")
    number = _complaint(gas)
    before = fingerprint(gas.db)
    r = gas("complaint", "close", number, *args)
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert fingerprint(gas.db) == before


def test_visit_log_note_and_its_old_name(petrochem: Cli):
    code = _add(petrochem, "乙公司")
    a = petrochem.ok("visit", "log", code, "--kind", "visit", "--note", "看了生产线", "--at", "2026-11-20T10:00").strip()
    r = petrochem("visit", "log", code, "--kind", "visit", "--notes", "再访", "--at", "2026-11-21T10:00")
    assert r.exit_code == 0 and "--notes is now called --note" in r.stderr
    notes = {json.loads(petrochem.ok("visit", "show", i, "--format", "json"))["notes"] for i in (a, r.stdout.strip())}
    assert notes == {"看了生产线", "再访"}


def test_limit_on_lists_and_audit_last_kept(petrochem: Cli):
    for i in range(3):
        code = _add(petrochem, f"丙{i}公司")
        petrochem.ok("complaint", "open", code, "--summary", "x", "--at", f"2026-11-2{i}T09:00")
    assert len(json.loads(petrochem.ok("complaint", "list", "--format", "json", "--limit", "2"))) == 2
    assert len(json.loads(petrochem.ok("complaint", "list", "--format", "json", "--limit", "0"))) == 3
    assert len(list(csv.DictReader(io.StringIO(petrochem.ok("complaint", "list", "--format", "csv", "--limit", "1"))))) == 1
    newest = json.loads(petrochem.ok("audit", "list", "--format", "json", "--limit", "1"))
    r = petrochem("audit", "list", "--format", "json", "--last", "1")
    assert r.exit_code == 0 and "--last is now called --limit" in r.stderr
    assert json.loads(r.stdout) == newest and newest[0]["action"] == "complaint.open"
    r = petrochem("complaint", "list", "--limit", "-1")
    assert r.exit_code == 2


def test_report_months_back_and_its_old_name(make_cli):
    cli = make_cli("gas-tiered")
    new = cli("report", "complaints", "--months-back", "3", "--format", "json")
    old = cli("report", "complaints", "--months", "3", "--format", "json")
    assert new.exit_code == old.exit_code == 0 and new.stdout == old.stdout
    assert "--months is now called --months-back" in old.stderr
    r = cli("report", "complaints", "--months-back", "0")
    assert r.exit_code == 1 and r.stderr.startswith("Error: --months-back must be from 1 to 120")


def test_doc_list_writes_gb18030_when_asked(petrochem: Cli, tmp_path):
    code = _add(petrochem, "𠮷野家化工有限公司")
    petrochem.ok("doc", "add", code, "--type", "business_license", "--expires", "2027-01-31")
    out = tmp_path / "docs.csv"
    petrochem.ok("doc", "list", "--format", "csv", "--encoding", "gb18030", "--output", str(out))
    assert "𠮷野家化工有限公司" in out.read_bytes().decode("gb18030")


def test_status_stability_and_channel_by_label(fuel: Cli):
    code = _add(fuel, "丁运输公司", ["--segment", "nature=big", "--segment", "card=unit", "--segment",
                                     "industry=logistics"])
    by_label = json.loads(fuel.ok("customer", "list", "--status", "正式客户", "--format", "json"))
    by_code = json.loads(fuel.ok("customer", "list", "--status", "active", "--format", "json"))
    assert by_label == by_code and [c["code"] for c in by_label] == [code]
    assert json.loads(fuel.ok("customer", "list", "--stability", "潜在客户", "--format", "json")) == \
        json.loads(fuel.ok("customer", "list", "--stability", "potential", "--format", "json"))
    report = fuel.ok("report", "customers", "--status", "正式客户", "--format", "json")
    assert [c["code"] for c in json.loads(report)] == [code]
    fuel.ok("customer", "note", code, "--channel", "传真", "--text", "发了报价单", "--at", "2026-11-20T10:00")
    notes = json.loads(fuel.ok("customer", "show", code, "--format", "json"))["notes"]
    assert [n["channel"] for n in notes] == ["fax"]
    fuel.refused("customer", "list", "--status", "现有客户", match="--status: unknown status '现有客户'")
    fuel.refused("customer", "note", code, "--channel", "飞鸽", "--text", "x", match="unknown channel '飞鸽'")
