"""Rules: company names compared as people read them (rules.names), and the columns of a customer
import file (rules.import_columns).  Pure: no database."""

from __future__ import annotations

import pytest

from crmctl.policies import load_policy
from crmctl.rules.customers import SegmentIndex
from crmctl.rules.errors import Invalid
from crmctl.rules.import_columns import FORMULA_START, plan_columns, unguard
from crmctl.rules.names import describe_customers, describe_rows, name_key, repeated_keys


@pytest.mark.parametrize("a,b", [
    ("河北华塑化工有限公司", "河北华塑化工有限责任公司"),          # the forms of a limited company
    ("河北华塑化工有限公司", "河北华塑化工股份有限公司"),
    ("河北华塑化工有限公司", "河北华塑化工有限責任公司"),          # ... the traditional 責任 too
    ("华塑股份有限公司北京分公司", "华塑有限公司北京分公司"),       # wherever they stand
    ("河北华塑化工有限公司", " 河北 华塑化工　有限公司 "),          # spaces, the ideographic space
    ("华塑\u200b化工有限公司", "华塑化工有限公司"),                 # a zero-width space pasted in
    ("ＡＢＣ（集团）有限公司", "abc(集团)有限公司"),                # full width -> half width (NFKC)
    ("ABC Trading Ltd", "abc trading LTD"),                        # case
    ("Straße GmbH", "STRASSE GMBH"),                                # case-folded, not lowered
    ("第１分公司", "第1分公司"),
])
def test_the_same_name(a, b):
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize("a,b", [
    ("华塑化工有限公司", "華塑化工有限公司"),        # simplified and traditional stay apart
    ("华塑集团有限公司", "华塑有限公司"),            # 集团 is part of the name
    ("华塑股份公司", "华塑有限公司"),                # 股份公司 without 有限 is another form
    ("华塑化工有限公司", "华塑化工（北京）有限公司"),
    ("华塑化工有限公司", "华塑化工有限公司。"),      # punctuation is kept
])
def test_different_names(a, b):
    assert name_key(a) != name_key(b)


def test_the_key_is_stable():
    """Folding a key again changes nothing (what the migration's backfill relies on)."""
    for name in ("河北 华塑化工股份有限公司", "ＡＢＣ（集团）有限責任公司", "Straße", ""):
        assert name_key(name_key(name)) == name_key(name)


def test_repeated_keys_and_descriptions():
    keyed = [(2, "a"), (3, "b"), (4, "a"), (5, "c"), (6, "a"), (7, "b")]
    assert repeated_keys(keyed) == {"a": [2, 4, 6], "b": [3, 7]}
    assert repeated_keys([(2, "a"), (3, "b")]) == {}
    assert describe_rows([4]) == "row 4"
    assert describe_rows([2, 4, 6]) == "rows 2, 4 and 6"
    assert describe_rows(list(range(2, 12)), most=3) == "rows 2, 3, 4 and 7 more"
    assert describe_customers({"C1": "甲", "C2": "乙"}) == "C1 (甲), C2 (乙)"
    assert describe_customers({f"C{i}": "甲" for i in range(5)}, most=2) == "C0 (甲), C1 (甲) and 3 more"


# -- the columns of an import file -------------------------------------------------------------

@pytest.fixture(scope="module")
def petrochem():
    policy = load_policy("petrochem")[0]
    return policy, SegmentIndex(policy)


def test_the_export_header_is_planned(petrochem):
    policy, idx = petrochem
    header = ["code", "name", "status", "segments.product_line", "segments.channel", "segments.sales_form",
              "fields.pickup_depot", "owner", "grades.polyolefin", "created_at", "tax_id", "id"]
    plan = plan_columns(idx, policy, header)
    assert plan.base == {"code": 0, "name": 1, "status": 2, "owner": 7, "created_at": 9, "tax_id": 10}
    assert plan.attributes == {3: ("segment", "product_line"), 4: ("segment", "channel"),
                               5: ("segment", "sales_form"), 6: ("field", "pickup_depot")}
    assert [h for h, _ in plan.ignored] == ["grades.polyolefin", "id"]
    assert "grades.polyolefin (grades are the policy's" in plan.ignored_text()


def test_chinese_headings_are_planned(petrochem):
    policy, idx = petrochem
    seg = policy.segments[0]
    fld = policy.fields[0]
    scale = next(iter(policy.grading.scales.values()))
    plan = plan_columns(idx, policy, ["名称", "编号", "统一社会信用代码", "负责人", "状态", "建档时间", seg.label,
                                      f"fields.{fld.label}", scale.label, "稳定性"])
    assert plan.base == {"name": 0, "code": 1, "tax_id": 2, "owner": 3, "status": 4, "created_at": 5}
    assert plan.attributes == {6: ("segment", seg.key), 7: ("field", fld.key)}
    assert [h for h, _ in plan.ignored] == [scale.label, "稳定性"]


@pytest.mark.parametrize("header,match", [
    (["name", "colour"], "column 'colour' is neither"),
    (["name", "segments.nonesuch"], "column 'segments.nonesuch'"),
    (["name", "名称"], "columns 'name' and '名称' are both column name"),
    (["name", "channel", "segments.channel"], "are both segment channel"),
    (["code", "product_line"], "needs a 'name'"),
])
def test_bad_headers_are_refused(petrochem, header, match):
    policy, idx = petrochem
    with pytest.raises(Invalid, match=match):
        plan_columns(idx, policy, header)


def test_unguard_undoes_the_export_formula_guard():
    from crmctl.output import _DANGEROUS

    assert FORMULA_START == _DANGEROUS  # one set of characters on the way out and back in
    assert unguard("'-5 t") == "-5 t" and unguard("'+8613800000000") == "+8613800000000"
    assert unguard("'=SUM(A1)") == "=SUM(A1)"
    assert unguard("'quoted") == "'quoted" and unguard("'") == "'" and unguard("plain") == "plain"
