"""The rules' and the policy loader's refusals are Msg (issue 17): English as they are, Chinese when
translated with the catalogue.  Pure: no database."""

from __future__ import annotations

import pytest

import crmctl.i18n
from crmctl.errors import Msg, PolicyInvalid, translated
from crmctl.policies import builtin_dir, parse_policy
from crmctl.rules.errors import Invalid
from crmctl.rules.periods import parse_label
from crmctl.rules.times import parse_date
from crmctl.rules.typed import read_number


@pytest.fixture
def zh():
    crmctl.i18n.set_language("zh")
    yield crmctl.i18n._
    crmctl.i18n.reset()


def refusal(call, *args):
    with pytest.raises(Invalid) as info:
        call(*args)
    assert isinstance(info.value.message, Msg)
    return info.value.message


def test_a_bad_date(zh):
    message = refusal(parse_date, "2026-02-30", "--date")
    assert translated(message, zh) == "--date '2026-02-30' 不是真实存在的日期"
    crmctl.i18n.set_language("en")
    assert translated(message, crmctl.i18n._) == "--date '2026-02-30' is not a real date"


def test_an_unreadable_date_translates_its_examples_too(zh):
    message = refusal(parse_date, "11/30")
    assert translated(message, zh) == "日期 '11/30' 没有年份：请写 YYYY-MM-DD，例如 2026-11-30，或 2026年11月30日"
    assert message == "date '11/30' has no year: write YYYY-MM-DD, e.g. 2026-11-30, or 2026年11月30日"


def test_a_bad_period_label(zh):
    message = refusal(parse_label, "2026-Q5")
    assert translated(message, zh) == "'2026-Q5' 不是期间标签：没有第 5 个 quarter（一年有 4 个）"
    assert message == "'2026-Q5' is not a period label: there is no quarter 5 (a year has 4)"


def test_a_bad_quantity(zh):
    message = refusal(read_number, "1,20", "--qty")
    assert translated(message, zh) == (
        "--qty '1,20' 不是数字：逗号用于每三位分隔千位（1,200.5）；小数请用小数点（1.25）")
    crmctl.i18n.set_language("en")
    assert translated(message, crmctl.i18n._) == (
        "--qty '1,20' is not a number: a comma separates thousands in groups of three (1,200.5); write decimals "
        "with a point (1.25)")


def test_a_refusal_within_an_option(zh):
    exc = refusal(parse_label, "x")
    within = Invalid(exc).within("--label")
    assert translated(within.message, zh).startswith("--label: 'x' 不是期间标签：请写 2026-11、2026-Q4")


def test_a_policy_with_two_problems(zh):
    text = (builtin_dir() / "petrochem.toml").read_text(encoding="utf-8")
    text = text.replace('timezone = "Asia/Shanghai"', 'timezone = "Mars/Base"', 1) + "\n[bogus]\nx = 1\n"
    with pytest.raises(PolicyInvalid) as info:
        parse_policy(text, "bad.toml")
    exc = info.value
    assert exc.message == "bad.toml: 2 problems in policy"
    assert exc.problems == ["policy.timezone: 'Mars/Base' is not an IANA time zone (e.g. 'Asia/Shanghai')",
                            "bogus: unknown key"]
    assert translated(exc.message, zh) == "bad.toml: 制度有 2 处问题"
    assert [translated(p, zh) for p in exc.details] == [
        "policy.timezone: 'Mars/Base' 不是 IANA 时区（例如 'Asia/Shanghai'）", "bogus: 未知的键"]
    crmctl.i18n.set_language("en")
    assert [translated(p, crmctl.i18n._) for p in exc.details] == exc.problems


def test_a_toml_error_keeps_the_parser_s_words(zh):
    with pytest.raises(PolicyInvalid) as info:
        parse_policy("a = ", "bad.toml")
    (problem,) = info.value.problems
    assert translated(problem, zh).startswith("第 1 行第 5 列：")  # tomllib's own English follows
