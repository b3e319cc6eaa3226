"""Reports and grading in the user's language (issue 17): report titles, section and chart titles and
headings in Chinese or English; ``grade explain`` reasons with the scale's grade labels and the
policy's unit label in Chinese, codes and ``t`` in English; JSON and CSV the same in both languages."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cli

PETRO_HEADER = "code,name,product_line,channel,sales_form"
REASON_EN = "best month 2500 in [2000, 3000) t → star2; step limit 1 from auction → ordinary"
REASON_ZH = "最高月用量 2500，位于区间 [2000, 3000) 吨 → 二星客户；升降级限制 1 级：从 网拍客户 → 普通客户"


@pytest.fixture
def graded(petrochem: Cli, tmp_path) -> Cli:
    """Petrochem: two plan customers (initial grade auction), one direct customer (fixed ordinary),
    volumes in 2026-08, the quarter 2026-Q3 graded."""
    customers = tmp_path / "customers.csv"
    customers.write_text(PETRO_HEADER + "\nP1,华塑化工,polyolefin,distributor,plan\n"
                         "P2,宏达塑业,polyolefin,distributor,plan\nP3,鑫源塑业,polyolefin,direct,plan\n", encoding="utf-8")
    petrochem.ok("customer", "import", str(customers), "--admitted")
    volumes = tmp_path / "volumes.csv"
    volumes.write_text("customer,date,qty\nP1,2026-08-03,2500\nP2,2026-08-05,400\nP3,2026-08-07,3200\n",
                       encoding="utf-8")
    petrochem.ok("volume", "import", str(volumes))
    petrochem.ok("grade", "run", "--period", "quarter", "--label", "2026-Q3")
    return petrochem


def test_grade_explain_in_chinese_has_grade_labels_and_the_unit_label(graded: Cli):
    out = graded.ok("--lang", "zh", "grade", "explain", "P1")
    assert REASON_ZH in out
    assert "依据" in out and "指标.单位" in out and "吨" in out
    for code in ("star2", "→ ordinary", "from auction", ") t "):
        assert code not in out.split("依据")[1].splitlines()[0], code
    fixed = graded.ok("--lang", "zh", "grade", "explain", "P3")
    assert "固定等级 普通客户（制度的 fixed[0]）" in fixed


def test_grade_explain_in_english_has_codes_and_t(graded: Cli):
    out = graded.ok("--lang", "en", "grade", "explain", "P1")
    assert REASON_EN in out
    assert "Reason" in out and "Metrics.unit" in out and "吨" not in out
    assert "fixed grade ordinary (fixed[0] of the policy)" in graded.ok("--lang", "en", "grade", "explain", "P3")


@pytest.mark.parametrize("args", [
    ["grade", "explain", "P1", "--format", "json"],
    ["grade", "explain", "P1", "--format", "csv"],
    ["grade", "history", "P1", "--format", "json"],
    ["report", "grades", "--format", "json"],
    ["report", "grade-changes", "--label", "2026-Q3", "--format", "json"],
    ["report", "documents", "--format", "json"],
    ["report", "documents", "--format", "csv"],
])
def test_json_and_csv_are_the_same_in_both_languages(graded: Cli, args):
    zh = graded.ok("--lang", "zh", *args)
    assert zh == graded.ok("--lang", "en", *args)
    if "json" in args and args[0] == "grade" and args[1] == "explain":
        assert json.loads(zh)["reason"] == REASON_EN  # the reason in JSON is the English text


def test_report_title_and_chart_in_chinese_and_english(graded: Cli):
    zh = graded.ok("--lang", "zh", "report", "grades")
    assert "客户等级分布" in zh and "各等级客户数（户）" in zh and "客户数" in zh
    assert "Customer grade distribution" not in zh
    en = graded.ok("--lang", "en", "report", "grades")
    assert "Customer grade distribution" in en and "Customers per grade (customers)" in en and "Customers" in en
    assert "客户等级分布" not in en and "各等级客户数" not in en
    assert "普通客户" in en  # the policy's own labels stay as the policy writes them


def test_report_sections_in_chinese_and_english(graded: Cli):
    zh = graded.ok("--lang", "zh", "report", "documents")
    assert "缺少的必备证照" in zh and "客户编号" in zh and "Required documents missing" not in zh
    en = graded.ok("--lang", "en", "report", "documents")
    assert "Required documents missing" in en and "Customer code" in en and "缺少的必备证照" not in en
    zh = graded.ok("--lang", "zh", "report", "grade-changes", "--label", "2026-Q3")
    assert "客户等级变动" in zh and "量（吨）" in zh
    en = graded.ok("--lang", "en", "report", "grade-changes", "--label", "2026-Q3")
    assert "Customer grade changes" in en and "Volume (t)" in en


def test_stability_sections(fuel: Cli):
    zh = fuel.ok("--lang", "zh", "report", "stability")
    assert "客户稳定性（当前）" in zh and "稳定性" in zh and "Customer stability" not in zh
    en = fuel.ok("--lang", "en", "report", "stability")
    assert "Customer stability (now)" in en and "Stability" in en and "客户稳定性" not in en
    assert "现有客户" in zh and "现有客户" in en  # the policy's labels


def test_report_notes_and_refusals_in_chinese(fuel: Cli):
    r = fuel("--lang", "zh", "report", "allocation")
    assert r.exit_code == 0
    assert r.stderr.startswith("提示: 报表 allocation 不适用于制度 fuel-retail：它需要 [reports.allocation]"), r.stderr
    assert r.stdout.startswith("（无数据）")
    r = fuel("--lang", "en", "report", "allocation")
    assert r.stderr.startswith("Note: report allocation does not apply to policy fuel-retail: it needs [reports.allocation]")
    assert r.stdout.startswith("(no data)")
    fuel.refused_zh("report", "visits", "--label", "2026-Q4", match="--label 2026-Q4 是季度；报表 visits 只接受月（2026-10）")
    fuel.refused_zh("report", "grades", "--scale", "nope", match="未知的等级体系 'nope'")


def test_grade_run_summary_in_chinese(graded: Cli):
    out = graded.ok("--lang", "zh", "grade", "run", "--period", "quarter", "--label", "2026-Q3", "-v")  # graded before: -v says it anyway
    assert "聚烯烃客户分级 2026-Q3：评级 3 个" in out
    graded.refused_zh("grade", "run", "--period", "month", match="只在季度评审时调整等级")


def test_a_stored_rank_reason_is_read_back_into_its_message():
    from crmctl.errors import Msg
    from crmctl.rules import grading as g

    text = ("score 3, rank 1 of 3: band level1 holds ranks ≤ 1 (10% × 3 = 0.3, rounded down → 1: at least one "
            "customer per band); step limit 1 from level3 → level2; default score for credit (never scored), "
            "spread (cannot be computed)")
    msg = g.reason_from_text(text)
    assert isinstance(msg, Msg) and msg == text
    shown = g.relabel(msg, lambda name, v: {"level1": "一级", "level2": "二级", "level3": "三级"}.get(v, v)
                      if name in g.GRADE_PARAMS else v)
    assert "band 一级" in shown.translated(lambda m: m) and "from 三级 → 二级" in shown.translated(lambda m: m)
    assert g.reason_from_text("a reason in no known form") == "a reason in no known form"


def test_report_list_in_both_languages(petrochem: Cli):
    """``report --list``: one line per report, its summary the first paragraph of its help, in the
    interface's language."""
    import re

    zh = petrochem.ok("--lang", "zh", "report", "--list").splitlines()
    en = petrochem.ok("--lang", "en", "report", "--list").splitlines()
    assert len(zh) == len(en) >= 10
    for z, e in zip(zh, en):
        assert z.split()[0] == e.split()[0]  # the name, which the user types, is the same
        assert re.search(r"[\u4e00-\u9fff]", z), z
        assert not re.search(r"[\u4e00-\u9fff]", e), e
