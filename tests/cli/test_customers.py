"""CLI: the customer registry, admission chain, documents, disqualification, contacts, import."""

from __future__ import annotations

import json

import pytest

from crmctl.policies import load_policy
from tests.conftest import Cli, execute_sql, fingerprint

POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]
TAX1 = "91350100M000100Y43"


def _staff(cli: Cli):
    cli.ok("staff", "add", "xiaoshou", "--name", "销售员", "--role", "sales")
    cli.ok("staff", "add", "caiwu", "--name", "财务员", "--role", "finance")
    cli.ok("staff", "add", "zongjingli", "--name", "总经理", "--role", "gm")
    cli.ok("staff", "add", "xiaoshou2", "--name", "销售员二", "--role", "sales", "--role", "finance")


def _docs(cli: Cli, code: str, license_expires="2027-06-30"):
    cli.ok("doc", "add", code, "--type", "business_license", "--number", "L-1", "--expires", license_expires)
    cli.ok("doc", "add", code, "--type", "税务登记证", "--number", "T-1", "--expires", "2028-01-01")
    cli.ok("doc", "add", code, "--type", "org_code", "--expires", "2028-01-01")
    cli.ok("doc", "add", code, "--type", "billing_info")


def _status(cli: Cli, code: str) -> str:
    return json.loads(cli.ok("customer", "show", code, "--format", "json"))["status"]


def test_petrochem_admission_story(petrochem: Cli, monkeypatch):
    _staff(petrochem)
    code = petrochem.ok("customer", "add", "--name", "河北华塑化工有限公司", *POLY, "--tax-id", TAX1,
                        "--owner", "xiaoshou").strip()
    assert code == "C000001" and _status(petrochem, code) == "prospect"
    petrochem.refused("customer", "submit", code, match="lacks valid documents")
    _docs(petrochem, code)
    assert petrochem.ok("customer", "submit", code).strip() == "pending"
    # out of turn: finance before sales, gm before finance
    petrochem.refused("approve", code, actor="caiwu", match="waits for role sales")
    assert [r["code"] for r in json.loads(petrochem.ok("approve", "--list", "--format", "json", actor="xiaoshou"))] == [code]
    assert json.loads(petrochem.ok("approve", "--list", "--format", "json", actor="caiwu")) == []
    petrochem.ok("approve", code, "--comment", "资质齐全", actor="xiaoshou2")
    # the same person may not take the finance step too
    petrochem.refused("approve", code, actor="xiaoshou2", match="one person, one step")
    petrochem.refused("approve", code, actor="zongjingli", match="waits for role finance")
    petrochem.ok("approve", code, actor="caiwu")
    assert petrochem.ok("approve", code, actor="zongjingli").strip() == "active"
    shown = json.loads(petrochem.ok("customer", "show", code, "--format", "json"))
    assert shown["status"] == "active" and shown["grades"] == {"polyolefin": "auction"}
    assert [a["decision"] for a in shown["approvals"]] == ["submit", "approve", "approve", "approve"]
    petrochem.refused("approve", code, actor="zongjingli", match="only a pending admission")

    # the licence expires: the daily check suspends, a renewal reactivates
    petrochem.ok("doc", "add", code, "--type", "business_license", "--expires", "2026-12-01")
    monkeypatch.setenv("CRMCTL_NOW", "2027-07-02T09:00")
    out = petrochem.ok("doc", "check")
    assert "suspended 1" in out and _status(petrochem, code) == "suspended"
    assert petrochem.ok("doc", "check") == ""  # idempotent: nothing changed, and not a terminal: nothing said
    assert "suspended 0" in petrochem.ok("doc", "check", "-v")
    expiring = json.loads(petrochem.ok("doc", "list", "--expiring-within", "0", "--format", "json"))
    assert {d["type"] for d in expiring} == {"business_license"} and all(d["expired"] for d in expiring)
    petrochem.ok("doc", "add", code, "--type", "business_license", "--number", "L-2", "--expires", "2030-06-30")
    assert _status(petrochem, code) == "active"
    actions = [e["action"] for e in json.loads(petrochem.ok("audit", "list", "--customer", code, "--format", "json"))]
    assert actions[:2] == ["customer.add", "doc.add"] and "customer.suspend" in actions and actions[-1] == "customer.reactivate"


def test_rejection_sends_back_to_prospect_with_reason(petrochem: Cli):
    _staff(petrochem)
    code = petrochem.ok("customer", "add", "--name", "沧州宏达塑业", *POLY).strip()
    _docs(petrochem, code)
    petrochem.ok("customer", "submit", code)
    petrochem.ok("approve", code, actor="xiaoshou")
    petrochem.refused("approve", code, "--reject", actor="caiwu", match="reason")
    assert petrochem.ok("approve", code, "--reject", "--comment", "开票资料不全", actor="caiwu").strip() == "prospect"
    shown = json.loads(petrochem.ok("customer", "show", code, "--format", "json"))
    assert "开票资料不全" in shown["status_reason"]
    # a new round starts from the first step again
    petrochem.ok("customer", "submit", code)
    petrochem.refused("approve", code, actor="caiwu", match="waits for role sales")
    petrochem.ok("approve", code, actor="xiaoshou")


def test_fuel_retail_add_is_active(fuel: Cli):
    code = fuel.ok("customer", "add", "--name", "顺达物流车队", "--segment", "nature=big", "--segment", "card=unit",
                   "--segment", "industry=logistics").strip()
    shown = json.loads(fuel.ok("customer", "show", code, "--format", "json"))
    assert shown["status"] == "active"
    assert set(shown["grades"]) == {"big", "individual"}
    prospect = fuel.ok("customer", "add", "--name", "张师傅", "--segment", "nature=individual", "--segment", "card=single",
                       "--segment", "industry=taxi", "--prospect").strip()
    assert _status(fuel, prospect) == "prospect"
    assert fuel.ok("customer", "submit", prospect).strip() == "active"
    fuel.refused("approve", prospect, match="no approval chain")


def test_fuel_retail_nature_must_agree_with_card(fuel: Cli):
    fuel.refused("customer", "add", "--name", "X", "--segment", "nature=individual", "--segment", "card=unit",
                 "--segment", "industry=taxi")


@pytest.mark.parametrize("extra,match", [
    (["--segment", "colour=red"], "unknown segment"),
    (["--tax-id", "91350100M000100Y44"], "check character"),
    (["--tax-id", "123"], "18 characters"),
    (["--tax-id", "91350100M000100YO3"], "contains"),
    (["--owner", "ghost"], "ghost"),
    (["--field", "nonsense=1"], "unknown field"),
    (["--field", "billing_phone=call me"], "phone"),
    (["--segment", "bad"], "KEY=VALUE"),
])
def test_customer_add_refusals(petrochem: Cli, extra, match):
    petrochem.refused("customer", "add", "--name", "某公司", *POLY, *extra, match=match)


def test_customer_add_unknown_segment_value(petrochem: Cli):
    petrochem.refused("customer", "add", "--name", "某公司", "--segment", "product_line=polyolefin",
                      "--segment", "channel=wholesale", "--segment", "sales_form=auction", match="unknown value")


def test_customer_add_missing_required_segment(petrochem: Cli):
    petrochem.refused("customer", "add", "--name", "某公司", "--segment", "product_line=polyolefin",
                      match="channel")
    petrochem.refused("customer", "add", "--name", "  ", *POLY, match="name")
    # sales_form applies to polyolefin customers only
    petrochem.refused("customer", "add", "--name", "某公司", "--segment", "product_line=other",
                      "--segment", "channel=distributor", "--segment", "sales_form=plan", match="applies only")


def test_duplicate_tax_id_and_code(petrochem: Cli):
    petrochem.ok("customer", "add", "--name", "甲", *POLY, "--tax-id", TAX1)
    petrochem.refused("customer", "add", "--name", "乙", *POLY, "--tax-id", TAX1.lower(), match="already belongs")
    petrochem.refused("customer", "add", "--name", "乙", *POLY, "--code", "C000001", match="already taken")


def test_customer_list_filters_and_formats(petrochem: Cli):
    a = petrochem.ok("customer", "add", "--name", "甲公司", *POLY).strip()
    b = petrochem.ok("customer", "add", "--name", "乙公司", "--segment", "product_line=other",
                     "--segment", "channel=exclusive_agent").strip()
    rows = json.loads(petrochem.ok("customer", "list", "--format", "json"))
    assert [r["code"] for r in rows] == [a, b]
    assert set(rows[0]) >= {"code", "name", "status", "segments", "fields", "owner", "grades", "created_at"}
    assert [r["code"] for r in json.loads(petrochem.ok("customer", "list", "--segment", "channel=独家代理商", "--format", "json"))] == [b]
    assert json.loads(petrochem.ok("customer", "list", "--status", "active", "--format", "json")) == []
    csv_text = petrochem.ok("customer", "list", "--format", "csv")
    header = csv_text.splitlines()[0].split(",")
    assert header[:3] == ["code", "name", "status"] and "segments.channel" in header and "grades.polyolefin" in header
    table = petrochem.ok("customer", "list")
    assert "独家代理商" in table and "甲公司" in table
    petrochem.refused("customer", "list", "--status", "happy", match="unknown status")
    petrochem.refused("customer", "list", "--grade", "star9", match="unknown grade")


def test_customer_edit_is_audited(petrochem: Cli):
    petrochem.ok("staff", "add", "xiaoshou", "--name", "销售员", "--role", "sales")
    code = petrochem.ok("customer", "add", "--name", "甲公司", *POLY).strip()
    petrochem.ok("customer", "edit", code, "--name", "甲化工有限公司", "--segment", "sales_form=plan",
                 "--owner", "xiaoshou", "--field", "pickup_depot=石家庄库")
    shown = json.loads(petrochem.ok("customer", "show", code, "--format", "json"))
    assert shown["name"] == "甲化工有限公司" and shown["owner"] == "xiaoshou"
    assert shown["segments"]["sales_form"] == "plan" and shown["fields"]["pickup_depot"] == "石家庄库"
    entry = json.loads(petrochem.ok("audit", "list", "--action", "customer.edit", "--format", "json"))[0]
    assert entry["before"]["name"] == "甲公司" and entry["after"]["name"] == "甲化工有限公司"
    assert entry["before"]["owner"] == "admin" and entry["after"]["owner"] == "xiaoshou"
    petrochem.refused("customer", "edit", code, match="nothing to change")
    petrochem.refused("customer", "edit", "C999999", "--name", "x", match="no customer")
    petrochem.refused("customer", "edit", code, "--segment", "channel=exclusive_agent", match="聚烯烃")


def test_documents_refusals(petrochem: Cli):
    code = petrochem.ok("customer", "add", "--name", "甲公司", *POLY).strip()
    petrochem.refused("doc", "add", code, "--type", "passport", match="unknown document type")
    petrochem.refused("doc", "add", code, "--type", "business_license", "--expires", "2020-01-01", match="past")
    petrochem.refused("doc", "add", code, "--type", "business_license", match="--expires")
    petrochem.refused("doc", "add", code, "--type", "business_license", "--expires", "2027-02-30", match="real date")
    petrochem.refused("doc", "add", "C404", "--type", "billing_info", match="no customer")
    petrochem.refused("doc", "list", "--expiring-within", "-3", match="0 or more")


def test_disqualify_and_reinstate(petrochem: Cli):
    petrochem.ok("staff", "add", "xiaoshou", "--name", "销售员", "--role", "sales")
    petrochem.ok("staff", "add", "zongjingli", "--name", "总经理", "--role", "gm")
    code = petrochem.ok("customer", "add", "--name", "甲公司", *POLY).strip()
    petrochem.refused("customer", "disqualify", code, "--reason", "dislike", match="unknown reason")
    assert petrochem.ok("customer", "disqualify", code, "--reason", "fraud", "--note", "伪造营业执照").strip() == "disqualified"
    petrochem.refused("customer", "disqualify", code, "--reason", "loss", match="already")
    petrochem.refused("customer", "edit", code, "--name", "x", match="disqualified")
    petrochem.refused("customer", "reinstate", code, actor="xiaoshou", match="gm")
    assert petrochem.ok("customer", "reinstate", code, actor="zongjingli").strip() == "prospect"


def test_contacts_notes_and_coverage(make_cli):
    cli = make_cli("manufacturer")
    pol_seg = ["--segment", "kind=supplier"]
    cli.ok("staff", "add", "li", "--name", "李", "--role", cli_role(cli))
    code = cli.ok("customer", "add", "--name", "华北机械", *pol_seg, "--field", "important=true", "--code", "M-1").strip()
    cov = json.loads(cli.ok("customer", "contact", "check", "--format", "json"))
    assert [r["code"] for r in cov] == [code]
    cli.ok("customer", "contact", "add", code, "--staff", "li")
    cli.ok("customer", "contact", "add", code, "--staff", "admin")
    assert json.loads(cli.ok("customer", "contact", "check", "--format", "json")) == []
    cli.refused("customer", "contact", "add", code, "--staff", "li", match="already")
    nid = cli.ok("customer", "note", code, "--channel", "fax", "--text", "传真询价").strip()
    assert nid.isdigit()
    shown = json.loads(cli.ok("customer", "show", code, "--format", "json"))
    assert shown["notes"][0]["text"] == "传真询价" and sorted(shown["contacts"]) == ["admin", "li"]
    cli.refused("customer", "note", code, "--channel", "pigeon", "--text", "x", match="unknown channel")


def cli_role(cli: Cli) -> str:
    from crmctl.policies import load_policy

    policy, _ = load_policy("manufacturer")
    return next(iter(policy.roles))


def test_read_permission_restricts_details(make_cli):
    cli = make_cli("manufacturer")
    from crmctl.policies import load_policy

    policy, _ = load_policy("manufacturer")
    if not policy.permissions or not policy.permissions.restrict_customer_details:
        pytest.skip("manufacturer policy does not restrict reading")
    plain_role = next(r for r in policy.roles if r not in (policy.permissions.readers_roles or []))
    cli.ok("staff", "add", "owner1", "--name", "甲", "--role", plain_role)
    cli.ok("staff", "add", "other1", "--name", "乙", "--role", plain_role)
    code = cli.ok("customer", "add", "--name", "华北机械", "--segment", "kind=supplier", "--owner", "owner1",
                  "--tax-id", TAX1).strip()
    mine = json.loads(cli.ok("customer", "show", code, "--format", "json", actor="owner1"))
    assert mine["tax_id"] == TAX1
    theirs = json.loads(cli.ok("customer", "show", code, "--format", "json", actor="other1"))
    assert theirs == {"code": code, "name": "华北机械", "restricted": True}
    listed = json.loads(cli.ok("customer", "list", "--format", "json", actor="other1"))
    # every key stays (the same keys on every row, issue 16), every detail null
    assert listed[0]["status"] is None and listed[0]["segments"] == {"kind": None, "special_type": None}
    assert listed[0]["tax_id"] is None and set(listed[0]["fields"].values()) == {None}
    cli.refused("customer", "edit", code, "--name", "x", actor="other1", match="may not")
    cli.ok("customer", "contact", "add", code, "--staff", "other1")
    assert json.loads(cli.ok("customer", "show", code, "--format", "json", actor="other1"))["tax_id"] == TAX1


# -- import --------------------------------------------------------------------------------------

HEADER = "name,code,tax_id,owner,product_line,channel,sales_form,pickup_depot\n"


def test_import_all_or_nothing(petrochem: Cli, tmp_path):
    good = tmp_path / "c.csv"
    good.write_text(HEADER + f"甲公司,OLD-1,{TAX1},admin,polyolefin,distributor,auction,石家庄库\n"
                    "乙公司,,,,其他产品,独家代理商,,\n", encoding="utf-8")
    # --admitted skips the admission chain: administrators only; nothing written when refused
    petrochem.ok("staff", "add", "clerk1", "--name", "文员", "--role", "sales")
    petrochem.refused("customer", "import", str(good), "--admitted", actor="clerk1", match="only an administrator")
    assert petrochem.ok("customer", "import", str(good), "--admitted").strip() == "2"
    rows = json.loads(petrochem.ok("customer", "list", "--format", "json"))
    assert {r["code"] for r in rows} == {"OLD-1", "C000001"}
    assert all(r["status"] == "active" for r in rows)
    assert next(r for r in rows if r["code"] == "OLD-1")["grades"] == {"polyolefin": "auction"}
    entries = json.loads(petrochem.ok("audit", "list", "--action", "customer.import", "--format", "json"))
    assert len(entries) == 2 and all("imported as admitted" in e["note"] for e in entries)
    petrochem.refused("customer", "import", str(good), "--admitted", match="already imported")
    # --allow-duplicates: the codes and tax id now clash, so still refused, with the row named
    r = petrochem.refused("customer", "import", str(good), "--allow-duplicates", "--admitted", match="row 2")


def test_import_starts_rows_where_customer_add_does(petrochem: Cli, tmp_path):
    """Under an admission chain, imported rows are prospects; a status other than prospect skips
    the chain and needs --admitted."""
    f = tmp_path / "p.csv"
    f.write_text(HEADER + "甲公司,,,,polyolefin,distributor,auction,\n", encoding="utf-8")
    assert petrochem.ok("customer", "import", str(f)).strip() == "1"
    assert [r["status"] for r in json.loads(petrochem.ok("customer", "list", "--format", "json"))] == ["prospect"]
    g = tmp_path / "s.csv"
    g.write_text("name,status,product_line,channel,sales_form\n乙公司,active,polyolefin,distributor,auction\n",
                 encoding="utf-8")
    petrochem.refused("customer", "import", str(g), match="row 2: status 'active' skips the admission chain")
    assert len(json.loads(petrochem.ok("customer", "list", "--format", "json"))) == 1


@pytest.mark.parametrize("body,match", [
    ("甲,,,,polyolefin,distributor,auction,\n乙,,,,polyolefin,bogus,auction,\n", "row 3"),
    ("甲,,,,polyolefin,distributor,auction,\n乙,,BADTAX,,polyolefin,distributor,auction,\n", "row 3: tax id"),
    ("甲,,,ghost,polyolefin,distributor,auction,\n", "owner 'ghost'"),
    ("甲,X1,,,polyolefin,distributor,auction,\n乙,X1,,,polyolefin,distributor,auction,\n", "repeats row 2"),
    (",,,,polyolefin,distributor,auction,\n", "row 2: name"),
    ("甲,,,,polyolefin,,auction,\n", "row 2: segment channel"),
])
def test_import_bad_rows(petrochem: Cli, tmp_path, body, match):
    f = tmp_path / "bad.csv"
    f.write_text(HEADER + body, encoding="utf-8")
    petrochem.refused("customer", "import", str(f), match=match)
    assert json.loads(petrochem.ok("customer", "list", "--format", "json")) == []


def test_import_encodings_and_file_problems(petrochem: Cli, tmp_path):
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((HEADER + "甲公司,,,,polyolefin,distributor,auction,\n").encode("gbk"))
    petrochem.refused("customer", "import", str(gbk), match="gbk")
    assert petrochem.ok("customer", "import", str(gbk), "--encoding", "gbk").strip() == "1"
    bom = tmp_path / "bom.csv"
    bom.write_bytes(("\ufeff" + HEADER + "乙公司,,,,polyolefin,distributor,auction,\n").encode("utf-8"))
    assert petrochem.ok("customer", "import", str(bom)).strip() == "1"
    nul = tmp_path / "nul.csv"
    nul.write_bytes(HEADER.encode() + b"a\x00b,,,,,,,\n")
    petrochem.refused("customer", "import", str(nul), match="NUL")
    unknown = tmp_path / "unk.csv"
    unknown.write_text("name,colour\n甲,red\n", encoding="utf-8")
    petrochem.refused("customer", "import", str(unknown), match="colour")
    petrochem.refused("customer", "import", str(tmp_path / "missing.csv"), match="no file")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    petrochem.refused("customer", "import", str(empty), match="empty")


def test_gas_tiered_class_only_for_residential(make_cli):
    cli = make_cli("gas-tiered")
    cli.ok("customer", "add", "--name", "居民甲", "--segment", "supply=pipeline", "--segment", "sector=residential",
           "--segment", "class=risk")
    cli.refused("customer", "add", "--name", "工厂乙", "--segment", "supply=pipeline", "--segment", "sector=industrial",
                "--segment", "class=risk", match="applies only")
    cli.ok("customer", "add", "--name", "工厂乙", "--segment", "supply=pipeline", "--segment", "sector=industrial")


def test_manufacturer_development_stages(make_cli):
    cli = make_cli("manufacturer")
    for login, role in [("cg", "purchasing"), ("zl", "quality"), ("sc", "market_head"), ("wz", "materials_head")]:
        cli.ok("staff", "add", login, "--name", login, "--role", role)
    code = cli.ok("customer", "add", "--name", "华北精密铸造", "--segment", "kind=supplier").strip()
    for t in ("company_profile", "financial_statements", "product_catalogue"):
        cli.ok("doc", "add", code, "--type", t)
    cli.refused("customer", "submit", code, match="missing")
    crit = [f"--criterion={k}=8" for k in ("quality_equipment", "on_time_delivery", "management_credit",
                                           "cooperation", "confidentiality")]
    cli.refused("customer", "submit", code, *crit, "--criterion", "cost_level=11", match="outside 1..10")
    cli.refused("customer", "submit", code, *crit, "--criterion", "price=5", match="unknown criterion")
    # 二.1: the customer must meet every criterion (the policy's minimum, 6 of 10)
    before = fingerprint(cli.db)
    r = cli.refused("customer", "submit", code, *crit, "--criterion", "cost_level=5", match="below the policy's minimum of 6")
    assert "cost_level (成本管理和成本水平) scores 5" in r.stderr
    assert fingerprint(cli.db) == before
    assert cli.ok("customer", "submit", code, *crit, "--criterion", "成本管理和成本水平=7").strip() == "pending"
    for who in ("cg", "zl", "sc"):
        cli.ok("approve", code, actor=who)
    cli.refused("approve", code, actor="wz", match="supply_contract")
    cli.ok("doc", "add", code, "--type", "supply_contract", "--expires", "2028-01-01")
    cli.ok("doc", "add", code, "--type", "quality_contract", "--expires", "2028-01-01")
    assert cli.ok("approve", code, actor="wz").strip() == "active"
    shown = json.loads(cli.ok("customer", "show", code, "--format", "json"))
    assert shown["approvals"][0]["details"]["criteria"]["cost_level"] == 7


def test_gas_tiered_flags_force_special_class(make_cli):
    cli = make_cli("gas-tiered")
    cli.refused("customer", "add", "--name", "居民丙", "--segment", "supply=pipeline", "--segment", "sector=residential",
                "--segment", "class=general", "--field", "refuses_inspection=true", match="特殊客户")
    cli.ok("customer", "add", "--name", "居民丙", "--segment", "supply=pipeline", "--segment", "sector=residential",
           "--segment", "class=special", "--field", "refuses_inspection=是")


@pytest.mark.parametrize("policy", ["gas-tiered", "fuel-retail"])
def test_list_csv_is_the_json_flattened(make_cli, policy):
    """`customer list --format csv` (the flat export query) and `report customers --format csv` hold the
    json objects' values cell for cell: yes/no fields as true/false, whole decimals without .0, times
    in the company zone; a refused filter writes nothing, not even a header."""
    import csv
    import io
    import random

    from crmctl.services import demo
    from crmctl.services.app import Settings, open_app

    cli = make_cli(policy)
    app = open_app(Settings(db=str(cli.db), actor="admin"))
    try:
        for _line in demo.populate(app, random.Random(9), 30):
            pass
    finally:
        app.close()
    objects = json.loads(cli.ok("customer", "list", "--format", "json"))
    table = list(csv.reader(io.StringIO(cli.ok("customer", "list", "--format", "csv"))))
    header, rows = table[0], table[1:]
    assert len(rows) == len(objects) >= 30

    def cell(obj, key):
        head, _, tail = key.partition(".")
        value = obj.get(head) if not tail else (obj.get(head) or {}).get(tail)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        text = str(value)
        return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not isinstance(value, (int, float)) else text

    assert rows == [[cell(o, k) for k in header] for o in objects]
    assert any(v in ("true", "false") for r in rows for v in r) or policy == "fuel-retail"
    report = list(csv.reader(io.StringIO(cli.ok("report", "customers", "--format", "csv"))))
    assert report == table
    r = cli("customer", "list", "--format", "csv", "--grade", "nonesuch")
    assert r.exit_code == 1 and r.stdout == "" and r.stderr.startswith("Error:")


def test_no_usage_recorded_while_disqualified_or_suspended(petrochem: Cli, make_cli, tmp_path):
    """petrochem Art. 15, 17 ([statuses] no_records): usage dated on or after the day a customer was
    disqualified (or suspended) is refused with the reason; earlier days stay allowed."""
    code = petrochem.ok("customer", "add", "--name", "甲公司", *POLY).strip()
    petrochem.ok("volume", "add", code, "--qty", "10", "--date", "2026-11-01")
    petrochem.ok("customer", "disqualify", code, "--reason", "fraud")  # now: 2026-11-22
    petrochem.ok("volume", "add", code, "--qty", "12", "--date", "2026-11-21")  # before: late entry
    before = fingerprint(petrochem.db)
    r = petrochem.refused("volume", "add", code, "--qty", "5", "--date", "2026-11-22", match="since 2026-11-22")
    assert "取消客户资格" in r.stderr and "records dated before 2026-11-22 are accepted" in r.stderr
    petrochem.refused("volume", "add", code, "--qty", "5", match="since 2026-11-22")  # today, by default
    f = tmp_path / "v.csv"
    f.write_text(f"customer,date,qty\n{code},2026-11-05,3\n{code},2026-11-22,4\n", encoding="utf-8")
    petrochem.refused("volume", "import", str(f), match="row 3")
    assert fingerprint(petrochem.db) == before
    f.write_text(f"customer,date,qty\n{code},2026-11-05,3\n", encoding="utf-8")
    petrochem.ok("volume", "import", str(f))
    # a policy without [statuses] no_records keeps recording
    fuel = make_cli("fuel-retail", "fuel.db")
    other = fuel.ok("customer", "add", "--name", "乙公司", "--segment", "nature=big", "--segment", "card=unit",
                    "--segment", "industry=taxi").strip()
    reason = next(iter(load_policy("fuel-retail")[0].disqualification.reasons))
    fuel.ok("customer", "disqualify", other, "--reason", reason)
    fuel.ok("volume", "add", other, "--qty", "5")


def test_doc_list_expired_first_and_without_expiry_last(petrochem: Cli, tmp_path):
    code = petrochem.ok("customer", "add", "--name", "甲公司", *POLY).strip()
    petrochem.ok("doc", "add", code, "--type", "billing_info")  # no expiry
    petrochem.ok("doc", "add", code, "--type", "business_license", "--number", "L-2", "--expires", "2027-06-30")
    petrochem.ok("doc", "add", code, "--type", "tax_registration", "--number", "T-1", "--expires", "2026-12-31")
    execute_sql(petrochem.db, "UPDATE document SET expires = '2026-10-01' WHERE number = 'T-1'")  # expired since
    rows = json.loads(petrochem.ok("doc", "list", "--format", "json"))
    assert [r["type"] for r in rows] == ["tax_registration", "business_license", "billing_info"]
    assert [r["expired"] for r in rows] == [True, False, False]


def _on_a_terminal(db, *args: str) -> str:
    """crmctl run as a process whose stdout is a terminal (a pseudo-terminal), its output."""
    import os
    import pty
    import subprocess
    import sys
    from pathlib import Path

    master, slave = pty.openpty()
    exe = Path(sys.executable).parent / "crmctl"
    proc = subprocess.Popen([str(exe), "--db", str(db), *args], stdout=slave, stderr=subprocess.PIPE,
                            env={**os.environ, "COLUMNS": "200", "CRMCTL_PAGER": ""})  # no pager: the rows as written
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    assert proc.returncode == 0, proc.stderr.read()
    return b"".join(chunks).decode("utf-8", "replace")


def test_customer_list_on_a_terminal_shows_a_screenful(petrochem: Cli, tmp_path):
    f = tmp_path / "c.csv"
    f.write_text(HEADER + "".join(f"客户{i:03d},,,,polyolefin,distributor,auction,\n" for i in range(60)), encoding="utf-8")
    petrochem.ok("customer", "import", str(f), "--admitted")
    shown = _on_a_terminal(petrochem.db, "customer", "list")
    assert "客户049" in shown and "客户050" not in shown and "10 more rows; --limit 0 shows all" in shown
    assert "客户059" in _on_a_terminal(petrochem.db, "customer", "list", "--limit", "0")
    # not a terminal (a pipe, a file), CSV and JSON: complete
    assert len(json.loads(petrochem.ok("customer", "list", "--format", "json"))) == 60
    assert "客户059" in petrochem.ok("customer", "list")
