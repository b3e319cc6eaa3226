"""Issue 17: `calendar show` / `calendar due` and the lookup refusals in Chinese (--lang zh), the
same commands in English unchanged; JSON does not change with the language."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cli

POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]


# --------------------------------------------------------------------------- calendar show


def test_calendar_show_in_chinese(petrochem: Cli):
    out = petrochem.ok("--lang", "zh", "calendar", "show", "--month", "2026-10").splitlines()
    assert out[0] == "2026-10"
    assert out[1] == " 周一 周二 周三 周四 周五 周六 周日"
    assert out[2] == "                  1*   2*   3*   4*"  # the columns stay under their weekday
    assert "* 节假日   + 调休上班日   - 周末" in out
    assert "2026-10-01 周四  节假日  国庆节" in out
    assert "2026-10-10 周六  调休上班日  国庆节" in out
    assert out[-1] == "18 个工作日，13 天休息（Asia/Shanghai）"
    feb = petrochem.ok("--lang", "zh", "calendar", "show", "--month", "2026-02")
    assert "2026-02-17 周二  节假日  春节" in feb and "Spring Festival" not in feb
    sep = petrochem.ok("--lang", "zh", "calendar", "show", "--month", "2026-09")
    assert "中秋节" in sep and "Mid-autumn" not in sep


def test_calendar_show_estimate_in_chinese(petrochem: Cli):
    r = petrochem("--lang", "zh", "calendar", "show", "--month", "2027-02")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith("2027-02-") and "节假日  春节 （估算）" in line for line in lines)
    assert "2027：节假日和调休上班日为估算，尚非官方安排" in lines


def test_calendar_show_in_english_is_unchanged(petrochem: Cli):
    out = petrochem.ok("--lang", "en", "calendar", "show", "--month", "2026-10").splitlines()
    assert out[1] == "  Mon  Tue  Wed  Thu  Fri  Sat  Sun"
    assert "* holiday   + make-up working day   - weekend" in out
    assert "2026-10-01 Thu  holiday 休  National Day" in out
    assert "2026-10-10 Sat  make-up working day 班  National Day" in out
    assert out[-1] == "18 working days, 13 days off (Asia/Shanghai)"
    est = petrochem.ok("--lang", "en", "calendar", "show", "--month", "2027-02")
    assert "2027: estimated holidays and make-up days, not yet the official schedule" in est
    assert "(estimate)" in est


def test_calendar_show_json_does_not_change_with_the_language(petrochem: Cli):
    zh = json.loads(petrochem.ok("--lang", "zh", "calendar", "show", "--month", "2026-10", "--format", "json"))
    en = json.loads(petrochem.ok("--lang", "en", "calendar", "show", "--month", "2026-10", "--format", "json"))
    assert zh == en
    assert next(r for r in zh if r["date"] == "2026-10-01")["name"] == "National Day"


# --------------------------------------------------------------------------- calendar due


def test_calendar_due_steps_in_chinese(petrochem: Cli):
    out = petrochem.ok("--lang", "zh", "calendar", "due", "--from", "2026-09-30T15:00",
                       "--in", "1 working day").splitlines()
    assert out == [
        "2026-10-08T15:00:00+08:00",
        "  开始：周三 2026-09-30 15:00（Asia/Shanghai），工作日",
        "  期限：1 个工作日",
        "  跳过 周四 2026-10-01 – 周三 2026-10-07：节假日（国庆节）",
        "  第 1 个工作日：周四 2026-10-08，工作日",
        "  与开始时刻相同：15:00",
        "  到期：周四 2026-10-08 15:00（2026-10-08T15:00:00+08:00）",
    ]
    hours = petrochem.ok("--lang", "zh", "calendar", "due", "--from", "2026-11-20T16:00",
                         "--in", "6 working hours").splitlines()
    assert "  周五 2026-11-20 16:00–17:30：1.5 小时（还剩 4.5 小时）" in hours
    assert "  跳过 周六 2026-11-21 – 周日 2026-11-22：周末" in hours
    assert "  周一 2026-11-23 13:30–14:30：1 小时，完成" in hours
    clock = petrochem.ok("--lang", "zh", "calendar", "due", "--from", "2026-09-30T20:00", "--in", "24 h",
                         "--clock", "24x7").splitlines()
    assert "  +24 小时 自然时间：每个小时都计算，包括节假日和夜间" in clock
    month = petrochem.ok("--lang", "zh", "calendar", "due", "--from", "2026-01-31T20:00", "--in", "1 month")
    assert "期限：1 个月" in month and "按日历计算" in month
    weekend = petrochem.ok("--lang", "zh", "calendar", "due", "--from", "2026-10-17T10:00", "--in", "1 working day")
    assert "非工作日：从下一个工作日开始时 周一 2026-10-19 08:30 起算" in weekend


def test_calendar_due_steps_in_english_are_unchanged(petrochem: Cli):
    out = petrochem.ok("--lang", "en", "calendar", "due", "--from", "2026-09-30T15:00",
                       "--in", "1 working day").splitlines()
    assert out == [
        "2026-10-08T15:00:00+08:00",
        "  start: Wed 2026-09-30 15:00 (Asia/Shanghai), workday",
        "  duration: 1 working day",
        "  skip Thu 2026-10-01 – Wed 2026-10-07: holiday (National Day)",
        "  working day 1: Thu 2026-10-08, workday",
        "  same time of day as the start: 15:00",
        "  due: Thu 2026-10-08 15:00 (2026-10-08T15:00:00+08:00)",
    ]
    hours = petrochem.ok("--lang", "en", "calendar", "due", "--from", "2026-11-20T16:00",
                         "--in", "6 working hours").splitlines()
    assert "  Fri 2026-11-20 16:00–17:30: 1.5 h (4.5 h left)" in hours
    assert "  Mon 2026-11-23 13:30–14:30: 1 h, done" in hours


def test_calendar_due_json_steps_stay_english(petrochem: Cli):
    args = ("calendar", "due", "--from", "2026-09-30T15:00", "--in", "1 working day", "--format", "json")
    zh = json.loads(petrochem.ok("--lang", "zh", *args))
    assert zh == json.loads(petrochem.ok("--lang", "en", *args))
    assert "  skip Thu 2026-10-01 – Wed 2026-10-07: holiday (National Day)".strip() in zh["steps"]


# --------------------------------------------------------------------------- lookup refusals


def test_lookup_no_customer(petrochem: Cli):
    petrochem.refused_zh("customer", "show", "C404", match="没有客户 'C404'")
    petrochem.refused("customer", "show", "C404", match="no customer 'C404'")


def test_lookup_no_staff_member_and_has_left(petrochem: Cli):
    petrochem.refused_zh("customer", "add", "--name", "河北华塑化工有限公司", *POLY, "--owner", "ghost",
                         match="没有员工 'ghost'")
    petrochem.refused("customer", "add", "--name", "河北华塑化工有限公司", *POLY, "--owner", "ghost",
                      match="no staff member 'ghost'")
    petrochem.ok("staff", "add", "zhangwei", "--name", "张伟", "--role", "sales")
    petrochem.ok("staff", "add", "wangfang", "--name", "王芳", "--role", "sales")
    petrochem.ok("staff", "leave", "zhangwei", "--handover-to", "wangfang")
    petrochem.refused_zh("customer", "add", "--name", "河北华塑化工有限公司", *POLY, "--owner", "zhangwei",
                         match="员工 'zhangwei' 已离职")
    petrochem.refused("customer", "add", "--name", "河北华塑化工有限公司", *POLY, "--owner", "zhangwei",
                      match="staff member 'zhangwei' has left")


def test_lookup_disqualified_customer(petrochem: Cli):
    code = petrochem.ok("customer", "add", "--name", "河北华塑化工有限公司", *POLY).strip()
    petrochem.ok("customer", "disqualify", code, "--reason", "fraud")
    petrochem.refused_zh("complaint", "open", code, "--summary", "x", match=f"客户 {code} 已被取消资格，不能为其新建任何事项")
    petrochem.refused("complaint", "open", code, "--summary", "x",
                      match=f"customer {code} is disqualified; nothing can be opened for it")


def test_lookup_no_complaint(petrochem: Cli):
    petrochem.refused_zh("complaint", "close", "TS-2026-0099", "--note", "x", match="没有投诉 'TS-2026-0099'")
    petrochem.refused("complaint", "close", "TS-2026-0099", "--note", "x", match="no complaint 'TS-2026-0099'")


@pytest.mark.parametrize("args, zh, en", [
    (("service", "show", "FW-2026-09999"), "没有服务工单 'FW-2026-09999'", "no service ticket 'FW-2026-09999'"),
    (("proposal", "show", "HL-2026-0099"), "没有方案 'HL-2026-0099'", "no proposal 'HL-2026-0099'"),
])
def test_lookup_no_ticket_no_proposal(make_cli, args, zh, en):
    cli = make_cli("manufacturer")
    cli.refused_zh(*args, match=zh)
    cli.refused(*args, match=en)
