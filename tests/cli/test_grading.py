"""CLI: volume, score, plan and grade commands — outputs, JSON shapes, and every refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def fuel_data(fuel: Cli, tmp_path) -> Cli:
    fuel.ok("customer", "import", _csv(tmp_path / "c.csv", "code,name,nature,card,industry",
                                       ["F1,甲物流,big,unit,logistics", "F2,乙出租,big,multi,taxi",
                                        "S1,张三,individual,single,other"]))
    fuel.ok("volume", "import", _csv(tmp_path / "v.csv", "customer,date,qty,product,amount",
                                     ["F1,2026-02-01,21000,0#,150000", "F2,2026-03-01,2500,92#,",
                                      "S1,2026-04-01,1200,95#,9000"]))
    return fuel


def test_volume_add_prints_id_and_json(fuel_data: Cli):
    out = fuel_data.ok("volume", "add", "F1", "--qty", "50.5", "--date", "2026-11-20", "--product", "92#")
    assert out.strip().isdigit()
    obj = json.loads(fuel_data.ok("volume", "add", "F2", "--qty", "10", "--amount", "75", "--format", "json"))
    assert obj["customer"] == "F2" and obj["qty"] == 10 and obj["date"] == "2026-11-22" and obj["unit"] == "L"


@pytest.mark.parametrize("args,match", [
    (["--qty=-5"], "negative"),
    (["--qty", "abc"], "not a number"),
    (["--qty", "nan"], "finite"),
    (["--qty", "inf"], "finite"),
    (["--qty", "1e309"], "finite"),
    (["--qty", "5", "--date", "2026-02-30"], "not a real date"),
    (["--qty", "5", "--date", "2026-13-01"], "not a real date"),
    (["--qty", "5", "--date", "22/11/2026"], "YYYY-MM-DD"),
    (["--qty", "5", "--date", "2027-01-01"], "in the future"),
    (["--qty", "5", "--amount", "-1"], "negative"),
])
def test_volume_add_refusals(fuel_data: Cli, args, match):
    fuel_data.refused("volume", "add", "F1", *args, match=match)


def test_volume_add_unknown_customer(fuel_data: Cli):
    fuel_data.refused("volume", "add", "NOPE", "--qty", "5", match="no customer 'NOPE'")


def test_volume_import_refusals(fuel_data: Cli, tmp_path):
    good = _csv(tmp_path / "again.csv", "customer,date,qty", ["F1,2026-05-01,10"])
    assert fuel_data.ok("volume", "import", str(good)).strip() == "1"
    fuel_data.refused("volume", "import", str(good), match="already imported")
    assert fuel_data.ok("volume", "import", str(good), "--allow-duplicates").strip() == "1"
    for rows, match in [(["F1,2026-05-01,10", "F1,2026-05-02,-1"], "row 3: qty -1 is negative"),
                        (["F1,2026-05-01,NaN"], "row 2"), (["ZZ,2026-05-01,1"], "unknown customer 'ZZ'"),
                        (["F1,2026-02-30,1"], "row 2: date '2026-02-30' is not a real date"),
                        (["F1,2026-05-01"], "row 2")]:
        fuel_data.refused("volume", "import", str(_csv(tmp_path / "bad.csv", "customer,date,qty", rows)), match=match)
    fuel_data.refused("volume", "import", str(tmp_path / "missing.csv"), match="no file")


def test_grade_run_table_json_and_rerun(fuel_data: Cli):
    out = fuel_data.ok("grade", "run", "--period", "half-year", "--label", "2026-H1")
    assert "big 大客户分级 2026-H1: graded 2, changed 2" in out and "钻级客户" in out
    assert "individual 个人客户分级 2026-H1: graded 1" in out
    both = json.loads(fuel_data.ok("grade", "run", "--period", "half-year", "--format", "json"))
    assert isinstance(both, list) and [b["scale"] for b in both] == ["big", "individual"]
    big = both[0]
    assert {"label", "scale", "graded", "changed", "counts", "dry_run"} <= set(big)
    assert big["label"] == "2026-H1" and big["changed"] == 0 and big["dry_run"] is False
    assert big["counts"] == {"ordinary": 0, "silver": 1, "gold": 0, "diamond": 1}
    # one scale or two: always a list (issue 16: one shape for scripts)
    [one] = json.loads(fuel_data.ok("grade", "run", "--period", "half-year", "--scale", "individual", "--format", "json"))
    assert one["counts"]["silver"] == 1
    shown = json.loads(fuel_data.ok("customer", "show", "F1", "--format", "json"))
    assert shown["grades"] == {"big": "diamond", "individual": None} and shown["stability"] == "lost"


def test_grade_run_dry_run_and_candidate_policy(fuel_data: Cli, tmp_path):
    from crmctl.policies import read_policy_source

    from tests.conftest import fingerprint

    before = fingerprint(fuel_data.db)
    [dry] = json.loads(fuel_data.ok("grade", "run", "--period", "half-year", "--scale", "big", "--dry-run",
                                    "--format", "json"))
    assert dry["dry_run"] is True and dry["graded"] == 2
    text, _ = read_policy_source("fuel-retail")
    cand = tmp_path / "candidate.toml"
    cand.write_text(text.replace('{ grade = "silver", min = 2000, max = 8000 }', '{ grade = "silver", min = 2000, max = 2400 }')
                    .replace('{ grade = "gold", min = 8000, max = 20000 }', '{ grade = "gold", min = 2400, max = 20000 }'),
                    encoding="utf-8")
    [what_if] = json.loads(fuel_data.ok("grade", "run", "--period", "half-year", "--scale", "big", "--policy", str(cand),
                                        "--format", "json"))
    assert what_if["dry_run"] is True and what_if["counts"]["gold"] == 1
    assert "dry run, nothing written" in fuel_data.ok("grade", "run", "--period", "half-year", "--dry-run")
    assert fingerprint(fuel_data.db) == before
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('{ grade = "gold", min = 8000, max = 20000 }', '{ grade = "gold", min = 9000, max = 20000 }'),
                   encoding="utf-8")
    fuel_data.refused("grade", "run", "--period", "half-year", "--policy", str(bad), match="problem")
    fuel_data.refused("grade", "run", "--period", "half-year", "--policy", str(tmp_path / "none.toml"), match="unknown policy")


@pytest.mark.parametrize("args,match", [
    (["--period", "quarter", "--label", "2026-H1"], "not a quarter"),
    (["--period", "half-year", "--label", "2026-H3"], "not a period label"),
    (["--period", "month"], "grades no scale by month"),
    (["--period", "weekly"], "unknown period"),
    (["--period", "half-year", "--scale", "gold"], "unknown scale"),
    (["--period", "half-year", "--label", "2026-H2"], "not over"),
    (["--period", "half-year", "--label", "2027-H2", "--dry-run"], "has not started"),
    ([], "give --period"),
])
def test_grade_run_refusals(fuel_data: Cli, args, match):
    fuel_data.refused("grade", "run", *args, match=match)


def test_grade_run_refused_for_a_period_the_scale_does_not_list(make_cli):
    cli = make_cli("gas-tiered")
    cli.refused("grade", "run", "--period", "quarter", "--scale", "big", match="graded by year, not by quarter")
    gas = make_cli("gas-service", name="gs.db")
    gas.refused("grade", "run", "--period", "year", match="no grading scales")


def test_grade_explain_and_history(fuel_data: Cli):
    fuel_data.ok("grade", "run", "--period", "half-year", "--label", "2025-H2")
    fuel_data.ok("grade", "run", "--period", "half-year", "--label", "2026-H1")
    ex = json.loads(fuel_data.ok("grade", "explain", "F2", "--format", "json"))
    for key in ("customer", "scale", "label", "grade", "previous", "metrics", "factor_scores", "score", "rank", "reason"):
        assert key in ex
    assert ex["label"] == "2026-H1" and ex["grade"] == "silver" and ex["previous"] == "ordinary"
    assert ex["metrics"]["volume"] == 2500 and "growth_pct" in ex["metrics"]
    table = fuel_data.ok("grade", "explain", "F2", "--label", "2025-H2")
    assert "普通客户" in table and "2025-H2" in table
    hist = json.loads(fuel_data.ok("grade", "history", "F2", "--format", "json"))
    assert [(h["label"], h["grade"]) for h in hist] == [("2025-H2", "ordinary"), ("2026-H1", "silver")]
    csv_text = fuel_data.ok("grade", "history", "F2", "--format", "csv")
    assert csv_text.splitlines()[0].startswith("customer,scale,label,grade")
    fuel_data.refused("grade", "explain", "NOPE", match="no customer")
    fuel_data.refused("grade", "explain", "F2", "--label", "2024-H1", match="has no big grade for 2024-H1")
    fuel_data.refused("grade", "explain", "F2", "--label", "H1", match="not a period label")
    fuel_data.refused("grade", "explain", "F2", "--scale", "silver", match="unknown scale")


def test_reassign_from_the_cli(fuel_data: Cli):
    fuel_data.ok("staff", "add", "lingshou1", "--name", "零售经理", "--role", "branch_retail_manager")
    out = fuel_data.ok("grade", "run", "--period", "half-year", "--scale", "big")
    assert "keepers:" not in out  # admin (the owner) holds every role
    fuel_data.ok("customer", "edit", "F1", "--owner", "lingshou1")
    fuel_data.ok("staff", "add", "zhanzhang", "--name", "站长", "--role", "station_master")
    fuel_data.ok("customer", "edit", "F2", "--owner", "zhanzhang")
    out = fuel_data.ok("grade", "run", "--period", "half-year", "--scale", "big")
    assert "1 customers need another keeper" in out
    r = fuel_data("grade", "run", "--period", "half-year", "--scale", "big", "--reassign", "--format", "json")
    [js] = json.loads(r.stdout)
    assert js["reassigned"] == 1 and js["reassign"][0]["customer"] == "F2"
    # nobody but the administrator holds the role F2's grade needs: it goes to admin, with a warning
    assert js["reassign"][0]["new_owner"] == "admin"
    role = js["reassign"][0]["role"]
    assert f"Warning: no active staff member but an administrator holds role {role}" in r.stderr


def test_customer_list_stability(fuel_data: Cli):
    fuel_data.ok("volume", "add", "S1", "--qty", "40", "--date", "2026-11-02")
    lost = json.loads(fuel_data.ok("customer", "list", "--stability", "lost", "--format", "json"))
    assert [c["code"] for c in lost] == ["F1", "F2"]
    assert "流失客户" in fuel_data.ok("customer", "list")
    fuel_data.refused("customer", "list", "--stability", "gone", match="unknown stability")


def test_stability_refused_where_the_policy_has_none(petrochem: Cli):
    petrochem.refused("customer", "list", "--stability", "lost", match="does not define stability")


def test_score_set(make_cli, tmp_path):
    cli = make_cli("gas-tiered")
    cli.ok("customer", "import", _csv(tmp_path / "c.csv", "code,name,supply,sector,class",
                                      ["G1,工业一,pipeline,industrial,", "R1,居民,pipeline,residential,general"]))
    out = cli.ok("score", "set", "G1", "credit=8", "客户地方影响力=6", "--label", "2025")
    assert out.strip() == "G1 big 2025: credit=8 peak_shaving=- influence=6 potential=-"
    js = json.loads(cli.ok("score", "set", "G1", "credit=9", "--label", "2025", "--format", "json"))
    assert js["scores"]["credit"] == 9 and js["defaults"] == {"peak_shaving": 5, "potential": 5}
    for args, match in [(["credit=11"], "outside 1-10"), (["credit=0"], "outside 1-10"), (["credit=7.5"], "whole number"),
                        (["credit=x"], "whole number"), (["volume=5"], "unknown manual factor 'volume'"),
                        (["honesty=5"], "unknown manual factor"), (["credit"], "not KEY=VALUE")]:
        cli.refused("score", "set", "G1", *args, "--label", "2025", match=match)
    cli.refused("score", "set", "G1", "credit=5", "--label", "2025-Q1", match="graded by year")
    cli.refused("score", "set", "G1", "credit=5", "--label", "next", match="not a period label")
    cli.refused("score", "set", "R1", "credit=5", "--label", "2025", match="does not cover")
    cli.refused("score", "set", "G1", "credit=5", "--label", "2025", "--scale", "small", match="unknown scale")


def test_score_set_refused_without_rank_scales(fuel: Cli):
    fuel.refused("score", "set", "C000001", "credit=5", "--label", "2026", match="no rank-graded scale")


def test_plan_set_and_list(petrochem: Cli, tmp_path):
    petrochem.ok("customer", "import", _csv(tmp_path / "c.csv", "code,name,product_line,channel,sales_form",
                                            ["A1,代理,other,exclusive_agent,", "Z1,直销,other,direct,"]), "--admitted")
    assert petrochem.ok("plan", "set", "A1", "--month", "2026-10", "--qty", "500").strip() == "A1 2026-10 500 t"
    petrochem.ok("volume", "add", "A1", "--qty", "450", "--date", "2026-10-15")
    rows = json.loads(petrochem.ok("plan", "list", "--format", "json"))
    assert rows == [{"customer": "A1", "name": "代理", "month": "2026-10", "planned": 500.0, "actual": 450.0,
                     "completion_pct": 90.0}]
    petrochem.refused("plan", "set", "A1", "--month", "2026-13", "--qty", "5", match="no month 13")
    petrochem.refused("plan", "set", "A1", "--month", "2026-Q4", "--qty", "5", match="not a month")
    petrochem.refused("plan", "set", "A1", "--month", "2026-10", "--qty=-5", match="negative")
    petrochem.refused("plan", "set", "A1", "--month", "2026-10", "--qty", "lots", match="not a number")
    petrochem.refused("plan", "set", "Z1", "--month", "2026-10", "--qty", "5", match="does not submit sales plans")
    petrochem.refused("plan", "set", "NOPE", "--month", "2026-10", "--qty", "5", match="no customer")
