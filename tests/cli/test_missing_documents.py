"""CLI: required documents an active customer lacks (issue 16, petrochem Art. 7, 15) -- `doc check`
suspends or lists them as [admission] missing_documents says, `doc add` reactivates, `report
documents` lists each missing document; the policy value is checked with its key path."""

from __future__ import annotations

import csv
import io
import json

from tests.conftest import Cli, assert_refused

PETRO_HEADER = "code,name,product_line,channel,sales_form"


def _import(cli: Cli, tmp_path, header: str, rows: list[str]) -> None:
    path = tmp_path / "old-system.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    cli.ok("customer", "import", str(path), "--admitted")


def _status(cli: Cli, code: str) -> tuple[str, str | None]:
    shown = json.loads(cli.ok("customer", "show", code, "--format", "json"))
    return shown["status"], shown.get("status_reason")


def _complete(cli: Cli, code: str, skip=()) -> None:
    for t in ("business_license", "tax_registration", "org_code"):
        if t not in skip:
            cli.ok("doc", "add", code, "--type", t, "--number", "N", "--expires", "2028-01-01")
    if "billing_info" not in skip:
        cli.ok("doc", "add", code, "--type", "billing_info")


def test_petrochem_suspends_imported_customers_until_their_file_is_complete(petrochem: Cli, tmp_path):
    _import(petrochem, tmp_path, PETRO_HEADER, ["P1,华塑化工,polyolefin,distributor,plan",
                                                 "P2,宏达塑业,polyolefin,distributor,plan",
                                                 "P3,鑫源塑业,polyolefin,distributor,plan"])
    _complete(petrochem, "P1")
    _complete(petrochem, "P2", skip=("billing_info",))
    out = petrochem.ok("doc", "check")
    assert out.splitlines() == ["suspended 2, reactivated 0, missing 2", "  suspended   P2", "  suspended   P3",
                                "  missing     P2", "  missing     P3"]
    assert _status(petrochem, "P1") == ("active", None)
    assert _status(petrochem, "P2") == ("suspended", "document_missing")
    assert json.loads(petrochem.ok("doc", "check", "--format", "json")) == {
        "suspended": [], "reactivated": [], "missing": []}

    rep = json.loads(petrochem.ok("report", "documents", "--format", "json"))
    rows = rep["rows"] if isinstance(rep, dict) else rep
    missing = [(r["customer"], r["type"]) for r in rows if r["section"] == "missing"]
    assert missing == [("P2", "billing_info"), ("P3", "business_license"), ("P3", "tax_registration"),
                       ("P3", "org_code"), ("P3", "billing_info")]
    sections = [r["section"] for r in rows]
    assert sections.index("missing") > max((i for i, s in enumerate(sections) if s == "document"), default=-1)
    row = next(r for r in rows if r["section"] == "missing")
    assert (row["number"], row["expires"], row["days_left"], row["suspends"]) == (None, None, None, True)
    # the CSV has exactly the JSON's keys, and the same missing rows
    got = list(csv.DictReader(io.StringIO(petrochem.ok("report", "documents", "--format", "csv"))))
    assert list(got[0]) == list(rows[0])
    assert [(r["customer"], r["type"]) for r in got if r["section"] == "missing"] == missing
    table = petrochem.ok("report", "documents")
    assert "Required documents missing" in table and "开票资料" in table

    # the document added later reactivates, as a renewal does
    r = petrochem("doc", "add", "P2", "--type", "开票资料")
    assert r.exit_code == 0 and "P2 reactivated" in r.stderr
    assert _status(petrochem, "P2") == ("active", None)
    actions = [(e["action"], (e["after"] or {}).get("reason")) for e in
               json.loads(petrochem.ok("audit", "list", "--customer", "P2", "--format", "json"))]
    assert ("customer.suspend", "document_missing") in actions and actions[-1] == ("customer.reactivate", None)


def test_a_policy_that_only_reports_keeps_them_active(make_cli, tmp_path):
    manufacturer = make_cli("manufacturer")
    _import(manufacturer, tmp_path, "code,name,kind", ["M1,精工配件厂,supplier"])
    manufacturer.ok("doc", "add", "M1", "--type", "company_profile")
    assert manufacturer.ok("doc", "check").splitlines() == ["suspended 0, reactivated 0, missing 1", "  missing     M1"]
    assert json.loads(manufacturer.ok("doc", "check", "--format", "json"))["missing"] == ["M1"]  # listed every time
    assert _status(manufacturer, "M1")[0] == "active"
    rows = json.loads(manufacturer.ok("report", "documents", "--format", "json"))
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert [(r["type"], r["suspends"]) for r in rows if r["section"] == "missing"] == [
        ("financial_statements", False), ("product_catalogue", False)]


def test_switching_the_policy_to_report_reactivates_at_the_next_check(petrochem: Cli, tmp_path):
    from crmctl.policies import builtin_dir

    _import(petrochem, tmp_path, PETRO_HEADER, ["P1,华塑化工,polyolefin,distributor,plan"])
    petrochem.ok("doc", "check")
    assert _status(petrochem, "P1") == ("suspended", "document_missing")
    text = (builtin_dir() / "petrochem.toml").read_text(encoding="utf-8")
    edited = tmp_path / "petrochem-report.toml"
    edited.write_text(text.replace('missing_documents = "suspend"', 'missing_documents = "report"'), encoding="utf-8")
    assert "admission.missing_documents" in petrochem.ok("policy", "diff", str(edited))
    petrochem.ok("policy", "apply", str(edited))
    assert json.loads(petrochem.ok("doc", "check", "--format", "json")) == {
        "suspended": [], "reactivated": ["P1"], "missing": ["P1"]}
    assert _status(petrochem, "P1") == ("active", None)


def test_an_unknown_value_is_refused_with_its_key_path(petrochem: Cli, tmp_path):
    from crmctl.policies import builtin_dir

    text = (builtin_dir() / "petrochem.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('missing_documents = "suspend"', 'missing_documents = "stop"'), encoding="utf-8")
    r = petrochem("policy", "check", str(bad))
    assert_refused(r)
    assert "admission.missing_documents" in r.stderr and "'suspend' or 'report'" in r.stderr
    petrochem.refused("policy", "apply", str(bad), match="admission.missing_documents")
