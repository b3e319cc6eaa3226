"""Pure rules for customer files: tax ids, segments and constraints, the admission chain, codes."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, strategies as st

from crmctl.policies import load_policy
from crmctl.rules import customers as rules
from crmctl.rules.conditions import matches
from crmctl.rules.taxid import ALPHABET, check_character, make_tax_id, normalise_tax_id


@pytest.fixture(scope="module")
def petro():
    return rules.SegmentIndex(load_policy("petrochem")[0])


@pytest.fixture(scope="module")
def fuel():
    return rules.SegmentIndex(load_policy("fuel-retail")[0])


def test_known_valid_tax_id():
    assert normalise_tax_id(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize("bad,why", [
    ("91350100M000100Y4", "18 characters"),
    ("91350100M000100Y44", "check character"),
    ("9135010OM000100Y43", "contains"),
    ("", "18 characters"),
])
def test_bad_tax_ids(bad, why):
    with pytest.raises(ValueError, match=why):
        normalise_tax_id(bad)


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17))
def test_made_tax_ids_validate_and_one_changed_character_fails(body):
    code = make_tax_id(body)
    assert normalise_tax_id(code) == code
    wrong = ALPHABET[(ALPHABET.index(code[-1]) + 1) % 31]
    with pytest.raises(ValueError):
        normalise_tax_id(code[:-1] + wrong)
    assert check_character(body) in ALPHABET


def test_segments_by_label_and_required(petro):
    got = rules.normalise_segments(petro, {"产品线": "聚烯烃", "channel": "经销商", "sales_form": "auction"})
    assert got == {"product_line": "polyolefin", "channel": "distributor", "sales_form": "auction"}
    with pytest.raises(ValueError, match="channel"):
        rules.normalise_segments(petro, {"product_line": "polyolefin"})
    # partial edits keep the base
    assert rules.normalise_segments(petro, {"sales_form": "plan"}, base=got)["sales_form"] == "plan"


def test_segment_that_applies_only_to_some(petro):
    with pytest.raises(ValueError, match="applies only"):
        rules.normalise_segments(petro, {"product_line": "other", "channel": "direct", "sales_form": "plan"})
    assert rules.normalise_segments(petro, {"product_line": "other", "channel": "exclusive_agent"})


def test_constraints(fuel, petro):
    with pytest.raises(ValueError):
        rules.normalise_segments(fuel, {"nature": "individual", "card": "multi", "industry": "taxi"})
    assert rules.normalise_segments(fuel, {"nature": "big", "card": "multi", "industry": "taxi"})
    with pytest.raises(ValueError, match="直销"):
        rules.normalise_segments(petro, {"product_line": "polyolefin", "channel": "direct", "sales_form": "auction"})


@pytest.mark.parametrize("ftype,value,expected", [
    ("int", "1,200", 1200), ("decimal", "12.50", 12.5), ("decimal", "3", 3), ("bool", "是", True),
    ("bool", "no", False), ("date", "2026-02-28", "2026-02-28"), ("text", "  石家庄库 ", "石家庄库"),
])
def test_field_coercion(ftype, value, expected):
    class F:
        key, type, choices = "f", ftype, None

    assert rules.coerce_field(F, value) == expected


@pytest.mark.parametrize("ftype,value", [("int", "x"), ("decimal", "nan"), ("decimal", "1e309x"), ("bool", "maybe"),
                                         ("date", "2026-02-30"), ("text", "a\x00b"), ("phone", "call me"),
                                         ("email", "nobody")])
def test_field_coercion_refusals(ftype, value):
    class F:
        key, type, choices = "f", ftype, None

    with pytest.raises(ValueError, match="field f"):
        rules.coerce_field(F, value)


def test_chain_state_and_approver():
    state = rules.ChainState(("sales", "finance", "gm"), ())
    assert state.next_step == 1 and state.next_role == "sales"
    assert rules.check_approver(state, "a", {"sales"}) == 1
    with pytest.raises(ValueError, match="waits for role sales"):
        rules.check_approver(state, "b", {"finance"})
    state = rules.ChainState(("sales", "finance", "gm"), ("a",))
    with pytest.raises(ValueError, match="one person"):
        rules.check_approver(state, "a", {"sales", "finance"})
    assert rules.check_approver(state, "a", {"finance"}, one_person_one_step=False) == 2
    done = rules.ChainState(("sales",), ("a",))
    assert done.next_step is None
    with pytest.raises(ValueError, match="already approved"):
        rules.check_approver(done, "b", {"sales"})


def test_chain_counted_by_step_not_by_approvals():
    """Two approvals of step 2 (a race before schema 0007) are one approved step: the gm's step waits,
    and the chain is not taken for complete (issue 14)."""
    chain = ("sales", "finance", "gm")
    state = rules.ChainState.from_approvals(chain, [(1, "xs"), (2, "cw1"), (2, "cw2"), (2, "cw3")])
    assert state.approved_by == ("xs", "cw1") and state.next_step == 3 and state.next_role == "gm"
    assert rules.check_approver(state, "zjl", {"gm"}) == 3
    assert rules.ChainState.from_approvals(chain, [(2, "cw1")]).next_step == 1  # a gap: step 1 waits
    assert rules.ChainState.from_approvals(chain, [(3, "g"), (1, "a"), (2, "b")]).next_step is None


def test_a_step_decided_by_someone_else_names_them():
    state = rules.ChainState(("sales", "finance", "gm"), ("xs", "cw1"))
    with pytest.raises(ValueError, match=r"step 2 \(finance\) is already approved by cw1; step 3 of 3 waits for role gm"):
        rules.check_approver(state, "cw2", {"finance"})


def test_initial_grades_fixed_by_segment():
    policy = load_policy("petrochem")[0]
    assert rules.initial_grades(policy, {"product_line": "polyolefin", "channel": "direct"}) == {"polyolefin": "ordinary"}
    assert rules.initial_grades(policy, {"product_line": "polyolefin", "channel": "distributor"}) == {"polyolefin": "auction"}
    assert rules.initial_grades(policy, {"product_line": "other", "channel": "distributor"}) == {}


def test_document_problems():
    docs = [("a", date(2026, 1, 1)), ("a", None), ("b", date(2025, 1, 1))]
    problems = rules.document_problems(["a", "b", "c"], docs, date(2026, 6, 1), {"b": "乙"})
    assert problems == ["b (乙)", "c"]  # English: the code and its label
    from crmctl.errors import translated

    def chinese(m):
        return m

    chinese.labels = lambda: True
    assert [translated(p, chinese) for p in problems] == ["乙", "c"]  # Chinese: the label alone


def test_codes():
    assert rules.format_code("C{seq:06d}", 12) == "C000012"
    assert rules.code_regex("C{seq:06d}").match("C000012").group(1) == "000012"
    with pytest.raises(ValueError):
        rules.clean_code("bad code!")


def test_conditions_plain_dicts():
    cond = {"segments": {"sector": ["industrial", "public"]}, "grades": {"big": "level1"}}
    assert matches(cond, segments={"sector": "public"}, grades={"big": "level1"})
    assert not matches(cond, segments={"sector": "residential"}, grades={"big": "level1"})
    assert matches(None)
    assert not matches({"not_segments": {"sector": "residential"}}, segments={"sector": "residential"})


def test_criteria_below_the_minimum_are_refused_naming_the_criterion():
    from crmctl.rules.customers import criteria_scores
    from crmctl.rules.errors import Refused

    crit = {"quality": "质量", "cost": "成本"}
    assert criteria_scores(crit, {"quality": "6", "成本": "9"}, 10, {"quality": 6}) == {"quality": 6, "cost": 9}
    with pytest.raises(Refused, match=r"criterion quality \(质量\) scores 5, below the policy's minimum of 6") as caught:
        criteria_scores(crit, {"quality": "5", "cost": "2"}, 10, {"quality": 6, "cost": 3})
    assert caught.value.field == "quality" and "(and 1 more)" in str(caught.value)
