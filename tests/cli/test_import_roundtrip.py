"""CLI (issue 16): an export re-imports, Chinese headings import, and customers of the same name are
warned about or refused (customer add, edit, import), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import random

import pytest

from crmctl.policies import BUILTIN_NAMES
from crmctl.rules.taxid import make_tax_id
from tests.conftest import Cli, fingerprint

POLY = ["-s", "product_line=polyolefin", "-s", "channel=distributor", "-s", "sales_form=auction"]
HOUSE = ["-s", "sector=residential"]


def _fill(cli: Cli, n: int = 25) -> None:
    from crmctl.services import demo
    from crmctl.services.app import Settings, open_app

    app = open_app(Settings(db=str(cli.db), actor="admin"))
    try:
        for _line in demo.populate(app, random.Random(16), n):
            pass
    finally:
        app.close()


def _customers(cli: Cli) -> dict[str, dict]:
    """What must survive the trip: name, tax id, status, segments, fields, keeper, created_at."""
    out = {}
    for c in json.loads(cli.ok("customer", "list", "--format", "json")):
        shown = json.loads(cli.ok("customer", "show", c["code"], "--format", "json"))
        out[c["code"]] = {k: shown[k] for k in ("name", "tax_id", "status", "segments", "fields", "owner", "created_at")}
    return out


@pytest.mark.parametrize("policy", BUILTIN_NAMES)
def test_an_export_reimports_into_a_fresh_database(make_cli, tmp_path, policy):
    """customer list --format csv, imported into a new database of the same policy (the keepers added
    there first), lists the same customers: names, tax ids, statuses, segments, fields, keepers, dates.
    The derived columns (grades, stability) are named as ignored; a pending customer starts again as
    a prospect, said so."""
    src = make_cli(policy, "src.db")
    _fill(src)
    exported = tmp_path / "export.csv"
    src.ok("customer", "list", "--format", "csv", "--output", str(exported))
    dst = make_cli(policy, "dst.db")
    for s in json.loads(src.ok("staff", "list", "--format", "json")):
        if s["login"] != "admin":
            dst.ok("staff", "add", s["login"], "--name", s["name"], "--role", s["roles"][0])
    r = dst("customer", "import", str(exported), "--admitted")
    assert r.exit_code == 0, r.stderr
    before, after = _customers(src), _customers(dst)
    restarted = [code for code, c in before.items() if c["status"] == "pending"]
    for code in restarted:
        before[code]["status"] = "prospect"
    assert after == before
    assert "warning" not in r.stderr  # the demo names every customer differently
    header = next(csv.reader(io.StringIO(exported.read_text(encoding="utf-8"))))
    derived = [h for h in header if h.startswith("grades.") or h == "stability"]
    if derived:
        ignored = next(line for line in r.stderr.splitlines() if line.startswith("ignored columns: "))
        assert all(h in ignored for h in derived)
    assert ("start as prospects again" in r.stderr) == bool(restarted)


def test_chinese_headings_and_labels_import(petrochem: Cli, tmp_path):
    """Headings as the policy's labels (名称, 统一社会信用代码, segment and field labels) and values as
    labels (状态 正式客户, a segment value's label, 是/否) are taken as the codes."""
    from crmctl.policies import load_policy

    pol = load_policy("petrochem")[0]
    seg = {s.key: s for s in pol.segments}
    depot = pol.field("pickup_depot").label
    tax = make_tax_id("91130100MA0000001")
    f = tmp_path / "中文.csv"
    f.write_text(f"名称,统一社会信用代码,状态,{seg['product_line'].label},{seg['channel'].label},"
                 f"{seg['sales_form'].label},{depot},负责人\n"
                 f"甲化工有限公司,{tax},{pol.statuses.active},{seg['product_line'].values['polyolefin']},"
                 f"{seg['channel'].values['distributor']},{seg['sales_form'].values['plan']},石家庄库,admin\n",
                 encoding="utf-8")
    assert petrochem.ok("customer", "import", str(f), "--admitted").strip() == "1"
    c = json.loads(petrochem.ok("customer", "show", "C000001", "--format", "json"))
    assert (c["name"], c["tax_id"], c["status"], c["owner"]) == ("甲化工有限公司", tax, "active", "admin")
    assert c["segments"] == {"product_line": "polyolefin", "channel": "distributor", "sales_form": "plan"}
    assert c["fields"]["pickup_depot"] == "石家庄库"


def test_unknown_and_repeated_columns_are_refused(petrochem: Cli, tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("name,product_line,channel,sales_form,grades.polyolefin,colour\n甲,polyolefin,direct,plan,star1,red\n",
                 encoding="utf-8")
    petrochem.refused("customer", "import", str(f), match="column 'colour' is neither")
    f.write_text("name,名称,product_line,channel,sales_form\n甲,甲,polyolefin,direct,plan\n", encoding="utf-8")
    petrochem.refused("customer", "import", str(f), match="columns 'name' and '名称' are both")
    f.write_text("code,product_line,channel,sales_form\nX1,polyolefin,direct,plan\n", encoding="utf-8")
    petrochem.refused("customer", "import", str(f), match="needs a 'name'")
    f.write_text("name,status,product_line,channel,sales_form\n甲,休眠,polyolefin,direct,plan\n", encoding="utf-8")
    petrochem.refused("customer", "import", str(f), "--admitted", match="row 2: status: unknown status '休眠'")


# -- duplicate names ------------------------------------------------------------------------------

def test_add_warns_on_a_duplicate_name(petrochem: Cli):
    first = petrochem.ok("customer", "add", "--name", "河北华塑化工有限公司", *POLY).strip()
    r = petrochem("customer", "add", "--name", "河北 华塑化工股份有限公司", *POLY)
    assert r.exit_code == 0 and r.stdout.strip() == "C000002"
    assert f"Warning: the name '河北 华塑化工股份有限公司' is already customer {first} (河北华塑化工有限公司)" in r.stderr
    # the JSON of the new customer keeps its shape; the warning goes to stderr
    r = petrochem("customer", "add", "--name", "ＨＥＢＥＩ化工", *POLY, "--format", "json")
    assert "warnings" not in json.loads(r.stdout) and r.stderr == ""
    r = petrochem("customer", "add", "--name", "hebei 化工", *POLY, "--format", "json")
    assert json.loads(r.stdout)["code"] == "C000004" and "C000003 (ＨＥＢＥＩ化工)" in r.stderr


def test_unique_names_refuse_unless_allowed_and_audited(make_cli):
    """gas-service Art. 15 一户一档 ([customers] unique_names): a second customer of the same name is
    refused, nothing written; --allow-duplicate-name records it, noted in the audit trail."""
    cli = make_cli("gas-service")
    first = cli.ok("customer", "add", "--name", "燃气用户张三", *HOUSE).strip()
    cli.refused("customer", "add", "--name", "燃气用户 张三", *HOUSE,
                match=f"already customer {first} (燃气用户张三)")
    r = cli("customer", "add", "--name", "燃气用户 张三", *HOUSE, "--allow-duplicate-name")
    assert r.exit_code == 0 and "warning" not in r.stderr
    second = r.stdout.strip()
    entries = json.loads(cli.ok("audit", "list", "--action", "customer.add", "--format", "json"))
    note = next(e["note"] for e in entries if e["key"] == second)
    assert "--allow-duplicate-name" in note and first in note
    # a rename to another customer's name: the same rule
    third = cli.ok("customer", "add", "--name", "李四", *HOUSE).strip()
    cli.refused("customer", "edit", third, "--name", "燃气用户张三", match="unique_names")
    cli.ok("customer", "edit", third, "--name", "燃气用户张三", "--allow-duplicate-name")
    edits = json.loads(cli.ok("audit", "list", "--action", "customer.edit", "--format", "json"))
    assert "--allow-duplicate-name" in edits[0]["note"]
    # renaming a customer to another spelling of its own name is no duplicate
    fourth = cli.ok("customer", "add", "--name", "王五", *HOUSE).strip()
    r = cli("customer", "edit", fourth, "--name", "王 五")
    assert r.exit_code == 0 and r.stderr == ""


def test_import_names_duplicates_in_the_file_and_in_the_database(petrochem: Cli, tmp_path):
    existing = petrochem.ok("customer", "add", "--name", "甲化工有限公司", *POLY).strip()
    f = tmp_path / "d.csv"
    f.write_text("name,product_line,channel,sales_form\n"
                 "乙化工有限公司,polyolefin,direct,plan\n"
                 "甲化工有限责任公司,polyolefin,direct,plan\n"
                 "乙化工 股份有限公司,polyolefin,direct,plan\n"
                 "丙化工,polyolefin,direct,plan\n", encoding="utf-8")
    r = petrochem("customer", "import", str(f))
    assert r.exit_code == 0 and r.stdout.strip() == "4"
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("Warning: ")]
    assert warnings == ["Warning: rows 2 and 4 give the same name (乙化工有限公司, 乙化工 股份有限公司)",
                        f"Warning: row 3: the name '甲化工有限责任公司' is already customer {existing} (甲化工有限公司)"]


def test_import_refuses_duplicates_where_names_are_unique(make_cli, tmp_path):
    cli = make_cli("gas-service")
    existing = cli.ok("customer", "add", "--name", "张三", *HOUSE).strip()
    f = tmp_path / "d.csv"
    f.write_text("name,sector\n王五,residential\n张 三,residential\n", encoding="utf-8")
    cli.refused("customer", "import", str(f), match=f"d.csv: row 3: the name '张 三' is already customer {existing}")
    f.write_text("name,sector\n王五,residential\n赵六,residential\n王 五,residential\n", encoding="utf-8")
    before = fingerprint(cli.db)
    cli.refused("customer", "import", str(f), match="rows 2 and 4 give the same name")
    assert fingerprint(cli.db) == before
    r = cli("customer", "import", str(f), "--allow-duplicate-name")
    assert r.exit_code == 0 and r.stdout.strip() == "3" and "1 duplicate name(s) imported" in r.stderr
    notes = {e["key"]: e["note"] for e in
             json.loads(cli.ok("audit", "list", "--action", "customer.import", "--format", "json"))}
    assert [k for k, n in notes.items() if "--allow-duplicate-name" in n] == ["C000004"]
    assert "the same name as row 2" in notes["C000004"]
