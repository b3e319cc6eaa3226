"""The policy format: built-ins, reading, located validation problems, dump and diff.  Pure: no database."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w

try:
    import tomllib  # novermin (tomli below on Python 3.10)
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

from crmctl.errors import InvalidInput, NotFound, PolicyInvalid
from crmctl.policies import (
    BUILTIN_NAMES,
    builtin_dir,
    check_policy,
    diff_policies,
    load_policy,
    parse_policy,
    policy_to_toml,
    read_policy_source,
)

REPO = Path(__file__).resolve().parents[2]

# ----------------------------------------------------------------------------------------------
# helpers


_BASE: dict[str, dict] = {}


def base(name: str) -> dict:
    """A fresh, mutable copy of a built-in policy as parsed TOML."""
    if name not in _BASE:
        _BASE[name] = tomllib.loads(read_policy_source(name)[0])
    return copy.deepcopy(_BASE[name])


def problems(data: dict) -> list[str]:
    return check_policy(tomli_w.dumps(data))


def assert_problem(data: dict, path: str, fragment: str = "") -> list[str]:
    found = problems(data)
    hits = [p for p in found if p.startswith(path + ":") and fragment in p]
    assert hits, f"no problem at {path!r} containing {fragment!r}; got:\n" + "\n".join(found)
    return found


MINIMAL = """
[policy]
code = "mini"
name = "最小政策"
company = "测试公司"
volume_unit = "t"
volume_unit_label = "吨"

[roles]
gm = "总经理"
"""


# ----------------------------------------------------------------------------------------------
# built-ins


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_builtin_loads_and_round_trips(name):
    policy, text = load_policy(name)
    assert policy.policy.code == name
    assert policy.policy.timezone == "Asia/Shanghai"
    dumped = policy_to_toml(policy)
    assert parse_policy(dumped) == policy
    assert check_policy(text) == []


def test_builtin_dir_holds_the_five():
    folder = builtin_dir()
    assert sorted(p.stem for p in folder.glob("*.toml")) == sorted(BUILTIN_NAMES)


def _grades(policy, scale):
    return [g.code for g in policy.grading.scales[scale].grades]


def _values(policy, key):
    return list(policy.segment(key).values)


def test_petrochem_vocabulary():
    p, _ = load_policy("petrochem")
    assert set(p.documents) >= {"business_license", "tax_registration", "org_code", "billing_info"}
    assert p.admission.required_documents == ["business_license", "tax_registration", "org_code", "billing_info"]
    assert p.admission.chain == ["sales", "finance", "gm"]
    assert list(p.grading.scales) == ["polyolefin"]
    scale = p.grading.scales["polyolefin"]
    assert _grades(p, "polyolefin") == ["auction", "ordinary", "star1", "star2", "star3"]
    assert scale.method == "threshold" and scale.aggregate == "max_month"
    assert scale.initial_grade == "auction" and scale.step_limit == 1
    assert [(f.when.segments, f.grade) for f in scale.fixed] == [({"channel": ["direct"]}, "ordinary"),
                                                                  ({"sales_form": ["auction"]}, "auction")]
    assert scale.review == "quarter" and scale.moves_by("quarter") and not scale.moves_by("month")
    assert [(b.grade, b.min, b.max) for b in scale.bands] == [
        ("ordinary", 0, 1000), ("star1", 1000, 2000), ("star2", 2000, 3000), ("star3", 3000, None)]
    assert set(scale.periods) == {"month", "quarter", "half-year", "year"}
    assert _values(p, "product_line") == ["polyolefin", "other"]
    assert _values(p, "channel") == ["distributor", "direct", "exclusive_agent"]
    assert _values(p, "sales_form") == ["auction", "plan"]
    c = p.complaints
    assert list(c.severities) == ["general", "major"]
    assert c.due_for("general") == "1 working day" and c.due_for("major") == "3 working days"
    assert c.extension.max_total == "7 working days" and c.extension.approver_role == "gm"
    assert c.escalate == ["major"]
    # Art. 12(二): a general complaint's handling opinion is approved by the leader in charge (主管领导)
    assert c.opinion_approval.severities == ["general"] and c.opinion_approval.approver_role == "leader"
    assert p.roles["leader"] == "主管领导"
    assert list(p.disqualification.reasons) == ["fraud", "loss", "violation"]
    assert p.disqualification.reinstate_role == "gm"
    assert p.documents["business_license"].suspends_on_expiry is True


def test_gas_service_vocabulary():
    p, _ = load_policy("gas-service")
    assert p.grading.scales == {}
    assert [s.key for s in p.segments] == ["sector"]
    assert _values(p, "sector") == ["residential", "commercial", "industrial", "heating"]
    assert p.field("special_care").type == "bool"
    assert p.admission.chain == []
    respond = p.service.clock_rule("repair", "respond")
    resolve = p.service.clock_rule("repair", "resolve")
    assert (respond.due, respond.calendar) == ("6 h", "24x7")
    assert (resolve.due, resolve.calendar) == ("24 h", "24x7")
    acts = p.activities
    assert acts.cadence_for("inspection", segments={"sector": "industrial"}).every == 1
    home = acts.cadence_for("inspection", segments={"sector": "residential"})
    assert (home.times, home.per, home.every) == (1, "year", 2)


def test_manufacturer_vocabulary():
    p, _ = load_policy("manufacturer")
    assert p.grading.scales == {}
    assert _values(p, "kind") == ["supplier", "distributor", "special"]
    assert p.field("important").type == "bool"
    assert p.permissions.important_field == "important" and p.permissions.important_min_contacts == 2
    assert p.calendar.business_hours == ["08:30-12:00", "13:30-17:30"]
    s = p.service
    assert s.clock_rule("repair", "arrive", location="urban").due == "6 working hours"
    assert s.clock_rule("repair", "arrive", location="suburban").due == "7 working hours"
    assert list(s.service_types) == ["A", "B", "C"]
    assert list(s.rating_items) == ["attitude", "skill", "arrival", "promise"]
    assert p.proposals.due == "1 month"
    assert (p.proposals.benefit.company_pct, p.proposals.benefit.customer_pct) == (40, 60)
    assert len(p.proposals.categories) == 6
    assert len(p.admission.chain) == 4 and len(p.admission.step_labels) == 4
    assert len(p.admission.criteria) == 6
    assert p.documents["maintenance_contract"].renew_notice == "1 month"  # 五.19: one calendar month


def test_fuel_retail_vocabulary():
    p, _ = load_policy("fuel-retail")
    assert list(p.grading.scales) == ["big", "individual"]
    assert _grades(p, "big") == ["ordinary", "silver", "gold", "diamond"]
    assert _grades(p, "individual") == ["ordinary", "silver", "gold", "platinum"]
    big = p.grading.scales["big"]
    assert [(b.grade, b.min, b.max) for b in big.bands] == [
        ("ordinary", 0, 2000), ("silver", 2000, 8000), ("gold", 8000, 20000), ("diamond", 20000, None)]
    assert big.periods == ["half-year"] and big.aggregate == "sum"
    assert big.owner_roles == {"diamond": "branch_retail_manager", "gold": "branch_retail_dept",
                               "silver": "ops_manager", "ordinary": "station_master"}
    assert p.grading.scales["individual"].owner_roles == {
        "platinum": "branch_retail_dept", "gold": "ops_manager", "silver": "station_master",
        "ordinary": "station_staff"}
    assert _values(p, "nature") == ["big", "individual"]
    assert _values(p, "card") == ["unit", "multi", "single"]
    assert _values(p, "industry") == ["passenger", "logistics", "taxi", "government", "factory", "agri", "other"]
    # nature must agree with card
    cons = p.constraints
    assert any(c.if_.segments == {"card": ["unit", "multi"]} and c.then.segments == {"nature": ["big"]} for c in cons)
    assert any(c.if_.segments == {"card": ["single"]} and c.then.segments == {"nature": ["individual"]} for c in cons)
    assert p.complaints.due_for("general") == "1 working day"
    assert p.admission.chain == []
    assert p.stability.lost_after_months == 1
    visit = p.activities.cadence_for
    assert visit("visit", grades={"big": "diamond"}).times == 2
    assert visit("visit", grades={"individual": "gold"}).times == 2
    assert visit("visit", grades={"big": "silver"}).times == 1
    assert visit("visit").times == 1
    assert p.activities.greetings.holidays


def test_gas_tiered_vocabulary():
    p, _ = load_policy("gas-tiered")
    assert list(p.grading.scales) == ["big"]
    big = p.grading.scales["big"]
    assert big.method == "rank"
    assert _grades(p, "big") == ["level3", "level2", "level1"]
    assert [(b.grade, b.share) for b in big.bands] == [("level1", 10), ("level2", 30), ("level3", 60)]
    assert list(big.factors) == ["volume", "spread", "growth", "credit", "peak_shaving", "influence", "potential"]
    assert big.factors["volume"].weight == 25
    assert sum(f.weight for f in big.factors.values()) == 100
    assert big.applies_to.not_segments == {"sector": ["residential"]}
    # Art. 6, 8: pipeline non-residential customers only; vehicle gas (CNG/LNG) is not ranked
    assert big.applies_to.matches(segments={"supply": "pipeline", "sector": "industrial"}, status="active")
    assert not big.applies_to.matches(segments={"supply": "vehicle", "sector": "industrial"}, status="active")
    assert big.owner_roles == {"level1": "division_gm", "level2": "deputy_gm", "level3": "service_head"}
    assert _values(p, "supply") == ["pipeline", "vehicle"]
    assert _values(p, "sector") == ["residential", "industrial", "public"]
    cls = p.segment("class")
    assert list(cls.values) == ["general", "risk", "special"]
    assert cls.when.segments == {"sector": ["residential"]}
    c = p.complaints
    assert c.due_for("general", grades={"big": "level1"}) == "24 h"
    assert c.due_for("general", grades={"big": "level2"}) == "48 h"
    assert c.satisfaction_target_pct == 95
    cad = p.activities.cadence_for
    assert (cad("info", grades={"big": "level1"}).per) == "week"
    assert (cad("contact", grades={"big": "level3"}).per) == "half-year"
    assert (cad("visit", grades={"big": "level2"}).per) == "half-year"
    assert (cad("inspection", segments={"sector": "residential", "class": "risk"}).per) == "month"
    rural = cad("inspection", segments={"sector": "residential", "class": "general"}, fields={"rural": True})
    assert (rural.times, rural.per) == (2, "year")
    home = cad("inspection", segments={"sector": "residential", "class": "general"})
    assert (home.per, home.every) == ("year", 2)
    assert p.churn.warn_drop_pct == 30


# ----------------------------------------------------------------------------------------------
# reading


def test_read_policy_source_builtin_name():
    text, label = read_policy_source("petrochem")
    assert label == "petrochem" and "[policy]" in text


def test_read_policy_source_file(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(MINIMAL, encoding="utf-8")
    text, label = read_policy_source(str(f))
    assert text == MINIMAL and label == str(f)
    policy, _ = load_policy(str(f))
    assert policy.policy.code == "mini"


def test_read_policy_source_unknown_name():
    with pytest.raises(NotFound) as exc:
        read_policy_source("no-such-policy")
    assert "unknown policy 'no-such-policy'" in exc.value.message
    assert "petrochem" in exc.value.message


def test_read_policy_source_not_utf8_and_too_big(tmp_path):
    bad = tmp_path / "gbk.toml"
    bad.write_bytes("[policy]\nname = '中文'\n".encode("gbk"))
    with pytest.raises(InvalidInput, match="UTF-8"):
        read_policy_source(str(bad))
    big = tmp_path / "big.toml"
    with open(big, "wb") as fh:
        fh.truncate(5 * 1024 * 1024 + 1)
    with pytest.raises(InvalidInput, match="5 MB"):
        read_policy_source(str(big))
    with pytest.raises(InvalidInput):
        read_policy_source(str(tmp_path))  # a directory


# ----------------------------------------------------------------------------------------------
# TOML syntax and non-policies


def test_malformed_toml_gives_a_line():
    found = check_policy("[policy]\ncode = \n")
    assert len(found) == 1 and found[0].startswith("line 2, column")
    with pytest.raises(PolicyInvalid) as exc:
        parse_policy("[policy\n", source="mine.toml")
    assert exc.value.problems[0].startswith("line 1, column")
    assert exc.value.message.startswith("mine.toml: 1 problem")


def test_toml_that_is_not_a_policy():
    found = check_policy('title = "my shopping list"\n[items]\nmilk = 2\n')
    assert "policy: required but missing" in found
    assert "roles: required but missing" in found
    assert "title: unknown key" in found
    assert check_policy("policy = 3\nroles = []\n") == ["policy: must be a table", "roles: must be a table"]
    assert check_policy("") == ["policy: required but missing", "roles: required but missing"]


def test_minimal_policy_is_valid():
    p = parse_policy(MINIMAL)
    assert p.policy.currency == "CNY" and p.calendar.base == "china"
    assert p.statuses.prospect == "潜在客户"
    assert p.disqualification.reinstate_role == "gm"
    assert parse_policy(policy_to_toml(p)) == p


# ----------------------------------------------------------------------------------------------
# one test per validation rule


def test_unknown_key_is_located():
    d = base("petrochem")
    d["grading"]["scales"]["polyolefin"]["bands"][1]["maximum"] = 5
    assert_problem(d, "grading.scales.polyolefin.bands[1].maximum", "unknown key")


def test_missing_required_key_is_located():
    d = base("petrochem")
    del d["policy"]["volume_unit"]
    assert_problem(d, "policy.volume_unit", "required")


def test_wrong_type_is_located():
    d = base("fuel-retail")
    d["segments"][0]["required"] = "yes"
    assert_problem(d, "segments[0].required", "true or false")


def test_bad_code_key_is_located():
    d = base("petrochem")
    d["roles"]["Sales Dept"] = "销售"
    assert_problem(d, 'roles."Sales Dept"', "not a code")


def test_bad_timezone_and_code_pattern():
    d = base("petrochem")
    d["policy"]["timezone"] = "Mars/Olympus"
    d["policy"]["customer_code_pattern"] = "C{number}"
    found = assert_problem(d, "policy.timezone", "time zone")
    assert any(p.startswith("policy.customer_code_pattern:") for p in found)


def test_unknown_role():
    d = base("petrochem")
    d["admission"]["chain"][1] = "treasury"
    assert_problem(d, "admission.chain[1]", "unknown role 'treasury'")
    d = base("fuel-retail")
    d["grading"]["scales"]["big"]["owner_roles"]["gold"] = "ceo"
    assert_problem(d, "grading.scales.big.owner_roles.gold", "unknown role 'ceo'")


def test_unknown_segment_value_in_condition():
    d = base("petrochem")
    d["grading"]["scales"]["polyolefin"]["fixed"][0]["when"]["segments"]["channel"] = "retail"
    assert_problem(d, "grading.scales.polyolefin.fixed[0].when.segments.channel", "unknown value 'retail'")


def test_unknown_segment_and_field_in_condition():
    d = base("fuel-retail")
    d["constraints"][0]["if"]["segments"] = {"colour": "red"}
    d["constraints"][1]["if"] = {"fields": {"shoe_size": 42}}
    found = assert_problem(d, "constraints[0].if.segments.colour", "unknown segment")
    assert "constraints[1].if.fields.shoe_size: unknown field 'shoe_size'" in found


def test_condition_field_value_must_fit_the_type():
    d = base("gas-tiered")
    d["constraints"][1]["if"]["fields"]["refuses_inspection"] = "yes"
    assert_problem(d, "constraints[1].if.fields.refuses_inspection", "type 'bool'")


def test_unknown_grade_and_scale_in_condition():
    d = base("gas-tiered")
    d["complaints"]["sla"][0]["when"]["grades"]["big"] = "level0"
    d["activities"]["cadences"][0]["when"]["grades"] = {"huge": "level1"}
    found = assert_problem(d, "complaints.sla[0].when.grades.big", "unknown grade 'level0'")
    assert "activities.cadences[0].when.grades.huge: unknown grading scale 'huge'" in found


def test_unknown_document_type():
    d = base("petrochem")
    d["admission"]["required_documents"].append("passport")
    assert_problem(d, "admission.required_documents[4]", "unknown document type 'passport'")


def test_unknown_activity_kind_and_holiday():
    d = base("fuel-retail")
    d["activities"]["cadences"][0]["kind"] = "dinner"
    d["activities"]["greetings"]["holidays"].append("christmas")
    n = len(d["activities"]["greetings"]["holidays"]) - 1
    found = assert_problem(d, "activities.cadences[0].kind", "unknown activity kind 'dinner'")
    assert any(p.startswith(f"activities.greetings.holidays[{n}]: unknown holiday") for p in found)


def test_greeting_holiday_must_be_known_to_the_program():
    d = base("fuel-retail")
    d["calendar"]["greeting_holidays"]["christmas"] = "圣诞节"
    assert_problem(d, "calendar.greeting_holidays.christmas", "unknown holiday")


def test_threshold_band_gap_is_located():
    d = base("fuel-retail")
    d["grading"]["scales"]["big"]["bands"][2]["min"] = 9000
    assert_problem(d, "grading.scales.big.bands[2].min", "must equal bands[1].max (no gap or overlap)")


def test_threshold_band_overlap_is_located():
    d = base("petrochem")
    d["grading"]["scales"]["polyolefin"]["bands"][3]["min"] = 2500
    assert_problem(d, "grading.scales.polyolefin.bands[3].min", "must equal bands[2].max")


def test_threshold_first_band_starts_at_zero():
    d = base("petrochem")
    d["grading"]["scales"]["polyolefin"]["bands"][0]["min"] = 100
    assert_problem(d, "grading.scales.polyolefin.bands[0].min", "start at 0")


def test_threshold_band_max_above_min_and_only_last_open():
    d = base("fuel-retail")
    bands = d["grading"]["scales"]["big"]["bands"]
    bands[1]["max"] = 1500
    del bands[0]["max"]
    found = assert_problem(d, "grading.scales.big.bands[1].max", "must be above min")
    assert any(p.startswith("grading.scales.big.bands[0].max: only the last band") for p in found)


def test_threshold_bands_ascend_in_grade_order():
    d = base("fuel-retail")
    bands = d["grading"]["scales"]["big"]["bands"]
    bands[1]["grade"], bands[2]["grade"] = "gold", "silver"
    assert_problem(d, "grading.scales.big.bands[2].grade", "out of order")


def test_band_grade_must_exist_and_be_used_once():
    d = base("fuel-retail")
    bands = d["grading"]["scales"]["big"]["bands"]
    bands[0]["grade"] = "bronze"
    bands[2]["grade"] = "silver"
    found = assert_problem(d, "grading.scales.big.bands[0].grade", "unknown grade 'bronze'")
    assert any(p.startswith("grading.scales.big.bands[2].grade: grade 'silver' is already in bands[1]") for p in found)
    # ordinary and gold are now in no band
    assert any(p.startswith("grading.scales.big.grades[0]: grade 'ordinary' is in no band") for p in found)


def test_grade_outside_bands_allowed_for_initial_and_fixed():
    d = base("petrochem")
    assert problems(d) == []  # auction is initial and fixed, ordinary is banded
    del d["grading"]["scales"]["polyolefin"]["initial_grade"]
    assert problems(d) == []  # still a fixed grade
    d["grading"]["scales"]["polyolefin"]["fixed"].pop()
    assert_problem(d, "grading.scales.polyolefin.grades[0]", "'auction' is in no band")


def test_review_period_is_one_of_the_scales_periods():
    d = base("petrochem")
    d["grading"]["scales"]["polyolefin"]["review"] = "week"
    assert_problem(d, "grading.scales.polyolefin.review")
    d["grading"]["scales"]["polyolefin"]["periods"] = ["month"]
    d["grading"]["scales"]["polyolefin"]["review"] = "quarter"
    assert_problem(d, "grading.scales.polyolefin.review", "not one of the scale's periods")


def test_initial_and_fixed_grades_must_exist():
    d = base("petrochem")
    d["grading"]["scales"]["polyolefin"]["initial_grade"] = "newbie"
    d["grading"]["scales"]["polyolefin"]["fixed"][0]["grade"] = "vip"
    found = assert_problem(d, "grading.scales.polyolefin.initial_grade", "unknown grade 'newbie'")
    assert any(p.startswith("grading.scales.polyolefin.fixed[0].grade: unknown grade 'vip'") for p in found)


def test_scale_method_must_be_known():
    d = base("petrochem")
    d["grading"]["scales"]["polyolefin"]["method"] = "magic"
    assert_problem(d, "grading.scales.polyolefin.method", "'threshold' or 'rank'")
    del d["grading"]["scales"]["polyolefin"]["method"]
    assert_problem(d, "grading.scales.polyolefin.method", "required")


def test_rank_shares_sum_to_100():
    d = base("gas-tiered")
    d["grading"]["scales"]["big"]["bands"][0]["share"] = 20
    assert_problem(d, "grading.scales.big.bands", "shares must sum to 100, they sum to 110")


def test_rank_bands_top_first():
    d = base("gas-tiered")
    d["grading"]["scales"]["big"]["bands"].reverse()
    assert_problem(d, "grading.scales.big.bands[1].grade", "out of order")


def test_factor_weights_sum_to_100():
    d = base("gas-tiered")
    d["grading"]["scales"]["big"]["factors"]["volume"]["weight"] = 30
    assert_problem(d, "grading.scales.big.factors", "weights must sum to 100, they sum to 105")


def test_factor_scores_within_1_to_10():
    d = base("gas-tiered")
    d["grading"]["scales"]["big"]["factors"]["volume"]["bands"][2]["score_max"] = 12
    assert_problem(d, "grading.scales.big.factors.volume.bands[2].score_max", "at most 10")


def test_factor_score_ranges_rise_and_bands_are_contiguous():
    d = base("gas-tiered")
    f = d["grading"]["scales"]["big"]["factors"]["growth"]
    f["bands"][1]["score_min"] = 3
    f["bands"][2]["min"] = 20
    found = assert_problem(d, "grading.scales.big.factors.growth.bands[1].score_min", "must be above bands[0].score_max")
    assert any(p.startswith("grading.scales.big.factors.growth.bands[2].min: must equal bands[1].max") for p in found)


def test_manual_factor_needs_default_score_and_no_bands():
    d = base("gas-tiered")
    f = d["grading"]["scales"]["big"]["factors"]["credit"]
    del f["default_score"]
    f["bands"] = [{"min": 0, "max": 1, "score_min": 1, "score_max": 3}]
    found = assert_problem(d, "grading.scales.big.factors.credit.default_score", "required for a manual factor")
    assert any(p.startswith("grading.scales.big.factors.credit.bands: a manual factor has no bands") for p in found)


def test_measured_factor_needs_bands():
    d = base("gas-tiered")
    d["grading"]["scales"]["big"]["factors"]["volume"]["bands"] = []
    assert_problem(d, "grading.scales.big.factors.volume.bands", "needs bands")


def test_bad_duration_is_located():
    d = base("petrochem")
    d["complaints"]["sla"][0]["due"] = "3 fortnights"
    assert_problem(d, "complaints.sla[0].due", "not a duration")


def test_working_hours_need_business_hours():
    d = base("manufacturer")
    d["calendar"]["business_hours"] = []
    assert_problem(d, "service.clocks[0].due", "calendar.business_hours is empty")


def test_bad_business_hours():
    d = base("manufacturer")
    d["calendar"]["business_hours"] = ["08:30-12:00", "11:30-17:30"]
    assert_problem(d, "calendar.business_hours[1]", "must start after business_hours[0] ends")
    d["calendar"]["business_hours"] = ["8.30 to 12"]
    assert_problem(d, "calendar.business_hours[0]", "not a time window")
    d["calendar"]["business_hours"] = ["12:00-08:30"]
    assert_problem(d, "calendar.business_hours[0]", "end after it starts")


def test_calendar_dates_and_weekend():
    d = base("petrochem")
    d["calendar"]["extra_holidays"] = ["2027-01-01"]
    d["calendar"]["extra_workdays"] = ["2027-01-01"]
    d["calendar"]["weekend"] = [6, 8]
    found = assert_problem(d, "calendar.weekend[1]", "at most 7")
    d["calendar"]["weekend"] = [6, 7]
    assert_problem(d, "calendar.extra_workdays[0]", "also in extra_holidays")
    d["calendar"]["extra_workdays"] = ["next monday"]
    assert_problem(d, "calendar.extra_workdays[0]", "date")


def test_duplicate_codes():
    d = base("fuel-retail")
    d["segments"].append(copy.deepcopy(d["segments"][1]))
    d["fields"][1]["key"] = "fuel_types"
    d["grading"]["scales"]["big"]["grades"][1]["code"] = "ordinary"
    found = assert_problem(d, "segments[3].key", "duplicate segment key 'card'")
    assert any(p.startswith("fields[1].key: duplicate field key 'fuel_types'") for p in found)
    assert any(p.startswith("grading.scales.big.grades[1].code: duplicate grade 'ordinary'") for p in found)


def test_field_key_clashes_with_segment_or_reserved_column():
    d = base("fuel-retail")
    d["fields"][0]["key"] = "nature"
    d["fields"][1]["key"] = "owner"
    found = assert_problem(d, "fields[0].key", "already a segment key")
    assert any(p.startswith("fields[1].key: 'owner' is reserved") for p in found)


def test_choice_field_needs_choices():
    d = base("petrochem")
    d["fields"][0]["type"] = "choice"
    assert_problem(d, "fields[0].choices", "needs choices")


def test_last_sla_rule_must_be_unconditional():
    d = base("gas-tiered")
    d["complaints"]["sla"].pop()
    assert_problem(d, "complaints.sla[0]", "last rule must have no 'when' and no 'severity'")


def test_sla_rule_after_the_default_is_never_used():
    d = base("petrochem")
    d["complaints"]["sla"].reverse()
    assert_problem(d, "complaints.sla[1]", "never used")


def test_unknown_severity():
    d = base("petrochem")
    d["complaints"]["escalate"] = ["critical"]
    d["complaints"]["default_severity"] = "minor"
    found = assert_problem(d, "complaints.escalate[0]", "unknown severity 'critical'")
    assert any(p.startswith("complaints.default_severity: unknown severity 'minor'") for p in found)


def test_opinion_approval_names_a_role_and_severities_of_the_policy():
    d = base("petrochem")
    d["complaints"]["opinion_approval"] = {"severities": ["general", "minor"], "approver_role": "boss"}
    found = assert_problem(d, "complaints.opinion_approval.approver_role", "unknown role 'boss'")
    assert any(p.startswith("complaints.opinion_approval.severities[1]: unknown severity 'minor'") for p in found)
    d["complaints"]["opinion_approval"] = {"severities": ["general"]}
    assert_problem(d, "complaints.opinion_approval.approver_role")


def test_other_policies_ask_no_opinion_approval():
    for name in ("gas-service", "manufacturer", "fuel-retail", "gas-tiered"):
        p, _ = load_policy(name)
        assert p.complaints is None or p.complaints.opinion_approval is None, name


def test_benefit_shares_sum_to_100():
    d = base("manufacturer")
    d["proposals"]["benefit"]["company_pct"] = 50
    assert_problem(d, "proposals.benefit", "must be 100, they are 110")


def test_service_clock_references():
    d = base("manufacturer")
    d["service"]["clocks"][0]["when"]["location"] = "mountain"
    d["service"]["clocks"][1]["kind"] = "wash"
    d["service"]["clocks"][2]["calendar"] = "24x7"
    found = assert_problem(d, "service.clocks[0].when.location", "unknown location 'mountain'")
    assert any(p.startswith("service.clocks[1].kind: unknown service kind 'wash'") for p in found)
    assert any(p.startswith("service.clocks[2].calendar: '24x7' does not fit") for p in found)


def test_rating_levels_numbered_from_one():
    d = base("manufacturer")
    d["service"]["rating_levels"] = {"1": "差", "3": "好"}
    assert_problem(d, "service.rating_levels", 'keys must be "1" to "2"')


def test_admission_step_labels_and_step_documents():
    d = base("manufacturer")
    d["admission"]["step_labels"].pop()
    d["admission"]["step_documents"]["gm"] = ["supply_contract"]
    found = assert_problem(d, "admission.step_labels", "3 labels for 4 chain steps")
    assert any(p.startswith("admission.step_documents.gm: 'gm' is not a step") for p in found)


def test_documents_suspension_needs_expiry():
    d = base("petrochem")
    d["documents"]["billing_info"]["suspends_on_expiry"] = True
    assert_problem(d, "documents.billing_info.suspends_on_expiry", "needs expires = true")


def test_suspends_on_expiry_defaults_to_expires():
    p = parse_policy(MINIMAL + '[documents.a]\nlabel = "A"\nexpires = true\n[documents.b]\nlabel = "B"\n')
    assert p.documents["a"].suspends_on_expiry is True
    assert p.documents["b"].suspends_on_expiry is False


def test_company_cadence_needs_a_role_and_no_condition():
    d = base("petrochem")
    d["activities"]["cadences"][1]["owner"] = "keeper"
    d["activities"]["cadences"][2]["when"] = {"segments": {"channel": "direct"}}
    found = assert_problem(d, "activities.cadences[1].owner", "no keeper")
    assert any(p.startswith("activities.cadences[2].when: not allowed with scope = 'company'") for p in found)


def test_permissions_important_field_must_be_bool():
    d = base("manufacturer")
    d["permissions"]["important_field"] = "phone"
    assert_problem(d, "permissions.important_field", "type 'bool'")


def test_allocation_values_must_be_segment_values():
    d = base("petrochem")
    d["reports"]["allocation"]["priority"].append("wholesaler")
    assert_problem(d, "reports.allocation.priority[3]", "unknown value 'wholesaler'")


def test_segment_cannot_depend_on_itself():
    d = base("gas-tiered")
    d["segments"][2]["when"] = {"segments": {"class": "risk"}}
    assert_problem(d, "segments[2].when", "depend on itself")


def test_several_problems_are_all_reported():
    d = base("fuel-retail")
    d["grading"]["scales"]["big"]["bands"][2]["min"] = 9000   # gap
    d["admission"]["chain"] = ["nobody"]                       # unknown role
    d["complaints"]["sla"][0]["due"] = "soon"                  # bad duration (structural)
    d["calendar"]["greeting_holidays"]["xmas"] = "圣诞"        # unknown holiday code
    d["policy"]["colour"] = "red"                              # unknown key (structural)
    found = problems(d)
    for path in ("grading.scales.big.bands[2].min", "admission.chain[0]", "complaints.sla[0].due",
                 "calendar.greeting_holidays.xmas", "policy.colour"):
        assert any(p.startswith(path + ":") for p in found), (path, found)
    with pytest.raises(PolicyInvalid) as exc:
        parse_policy(tomli_w.dumps(d), source="fr.toml")
    assert exc.value.problems == found and len(found) >= 5
    assert exc.value.message.startswith(f"fr.toml: {len(found)} problems")


# ----------------------------------------------------------------------------------------------
# dump and diff


def test_diff_shows_a_changed_threshold():
    old = read_policy_source("fuel-retail")[0]
    new = old.replace("{ grade = \"diamond\", min = 20000 }", "{ grade = \"diamond\", min = 25000 }").replace(
        "{ grade = \"gold\", min = 8000, max = 20000 }", "{ grade = \"gold\", min = 8000, max = 25000 }")
    assert new != old
    assert diff_policies(old, new) == [
        "~ grading.scales.big.bands[2].max: 20000 -> 25000",
        "~ grading.scales.big.bands[3].min: 20000 -> 25000",
    ]
    assert check_policy(new) == []


def test_diff_added_and_removed_keys():
    old = MINIMAL
    new = MINIMAL.replace('gm = "总经理"', 'gm = "总经理"\nsales = "销售部"').replace('company = "测试公司"\n', "")
    assert diff_policies(old, new) == ['- policy.company: "测试公司"', '+ roles.sales: "销售部"']


def test_diff_identical_texts():
    text = read_policy_source("petrochem")[0]
    assert diff_policies(text, text) == []
    # comments and layout do not count
    assert diff_policies(text, "# a comment\n" + text) == []


def test_diff_of_bad_toml_raises_policy_invalid():
    with pytest.raises(PolicyInvalid):
        diff_policies(MINIMAL, "[policy\n")


def test_package_import_does_not_import_pydantic():
    code = "import crmctl.policies, sys; assert 'pydantic' not in sys.modules, 'pydantic imported'"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_renew_notice_is_calendar_time_and_one_of_two_keys():
    d = base("manufacturer")
    doc = d["documents"]["maintenance_contract"]
    doc["renew_notice"] = "3 working days"
    assert_problem(d, "documents.maintenance_contract.renew_notice", "use days, months or years")
    doc["renew_notice"] = "1 month"
    doc["renew_notice_days"] = 30
    assert_problem(d, "documents.maintenance_contract.renew_notice", "not both")


def test_status_labels_do_not_read_as_stability_words():
    d = base("fuel-retail")
    assert problems(d) == []
    d["statuses"]["active"] = "现有客户"
    assert_problem(d, "statuses.active", "also stability.labels.existing")


def test_criteria_minimums_name_criteria_on_the_scale():
    d = base("manufacturer")
    d["admission"]["criteria_min"]["price"] = 5
    d["admission"]["criteria_min"]["cost_level"] = 11
    found = assert_problem(d, "admission.criteria_min.price", "unknown criterion 'price'")
    assert any(p.startswith("admission.criteria_min.cost_level: 11 is above criteria_scale_max") for p in found)
