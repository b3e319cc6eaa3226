"""What people type (issue 17, "Chinese input where people type it"): dates, date-times, periods,
kinds of period and quantities in the forms a Chinese clerk writes them, read by the pure rules that
every command takes them from; what could be read two ways refused, with an example that works."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmctl.rules.customers import coerce_field
from crmctl.rules.errors import Invalid
from crmctl.rules.grading import parse_quantity
from crmctl.rules.periods import parse_kind, parse_label, parse_month, resolve_period
from crmctl.rules.sla import parse_money
from crmctl.rules.times import now as clock_now
from crmctl.rules.times import parse_date, parse_datetime
from crmctl.rules.typed import fold, read_number

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=TZ)  # as tests/conftest.py's CRMCTL_NOW
TODAY = NOW.date()


# ---- folding -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,folded", [
    ("２０２６／１１／３０", "2026/11/30"), ("１２００．５", "1200.5"), ("1，200", "1,200"), ("１５：００", "15:00"),
    ("2026年11月30日\u300015点", "2026年11月30日 15点"), ("  2026-11-30\t 15:00 ", "2026-11-30 15:00"),
    ("\u22125", "-5"), ("－5", "-5"), ("２０２６Ｑ４", "2026Q4"), ("plain", "plain"),
])
def test_fold(text, folded):
    assert fold(text) == folded


# ---- dates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("2026-11-30", date(2026, 11, 30)),
    ("2026/11/30", date(2026, 11, 30)),
    ("2026.11.30", date(2026, 11, 30)),
    ("2026年11月30日", date(2026, 11, 30)),
    ("2026年11月30号", date(2026, 11, 30)),
    ("2026年11月30", date(2026, 11, 30)),
    ("2026 年 11 月 30 日", date(2026, 11, 30)),
    ("2026年1月5日", date(2026, 1, 5)),
    ("2026/1/5", date(2026, 1, 5)),
    ("2026-1-5", date(2026, 1, 5)),
    ("２０２６－１１－３０", date(2026, 11, 30)),
    ("２０２６／１１／３０", date(2026, 11, 30)),
    ("２０２６年１１月３０日", date(2026, 11, 30)),
    ("  2026-11-30  ", date(2026, 11, 30)),
    ("2024年2月29日", date(2024, 2, 29)),
    ("1990-01-01", date(1990, 1, 1)),
    ("2100年12月31日", date(2100, 12, 31)),
])
def test_dates_accepted(text, expected):
    assert parse_date(text, "--date") == expected
    assert parse_date(text, "--date", today=TODAY) == expected


@pytest.mark.parametrize("word,days", [
    ("今天", 0), ("今日", 0), ("昨天", -1), ("昨日", -1), ("前天", -2), ("明天", 1), ("明日", 1), ("后天", 2),
    (" 今天 ", 0), ("今天 ", 0),
])
def test_day_words_count_from_today(word, days):
    assert parse_date(word, "--by", today=TODAY) == TODAY + timedelta(days=days)


def test_day_words_at_the_turn_of_a_year():
    assert parse_date("昨天", today=date(2027, 1, 1)) == date(2026, 12, 31)
    assert parse_date("明天", today=date(2026, 12, 31)) == date(2027, 1, 1)


@pytest.mark.parametrize("word", ["今天", "昨天", "明天"])
def test_day_words_need_today(word):
    """Where no "now" is handed in (import files, custom fields), a word cannot be read."""
    with pytest.raises(Invalid, match="cannot be used here.*2026-11-30"):
        parse_date(word, "date")


@pytest.mark.parametrize("text,reason", [
    ("11/30/2026", "ambiguous"), ("30/11/2026", "ambiguous"), ("30.11.2026", "ambiguous"), ("11-30-26", "ambiguous"),
    ("1/2/2026", "ambiguous"), ("11/30", "no year"), ("30.11", "no year"), ("11月30日", "no year"), ("11月30号", "no year"),
    ("2026年2月30日", "not a real date"), ("2026-02-30", "not a real date"), ("2026/13/01", "not a real date"),
    ("2025年2月29日", "not a real date"), ("2026年11月31日", "not a real date"), ("2026-00-10", "not a real date"),
    ("2026年0月1日", "not a real date"),
    ("2026-11/30", "cannot read"), ("2026/11-30", "cannot read"), ("26/11/30", "ambiguous"), ("20261130", "cannot read"),
    ("2026年11月", "cannot read"), ("2026-11", "cannot read"), ("二〇二六年十一月三十日", "cannot read"),
    ("", "cannot read"), ("soon", "cannot read"), ("今天下午", "cannot read"), ("2026-11-30x", "cannot read"),
    ("2026-11-30 15:00", "time of day"), ("2026年11月30日15点", "time of day"),
    ("1989-12-31", "1990-01-01 to 2100-12-31"), ("2101年1月1日", "1990-01-01 to 2100-12-31"),
    ("0000-01-01", "1990-01-01 to 2100-12-31"), ("0000/01/01", "1990-01-01 to 2100-12-31"),
])
def test_dates_refused(text, reason):
    with pytest.raises(Invalid, match=reason) as info:
        parse_date(text, "--date", today=TODAY)
    assert info.value.message.startswith("--date")
    if reason in ("ambiguous", "no year", "cannot read", "time of day"):
        assert "2026-11-30" in info.value.message and "2026年11月30日" in info.value.message  # an example that works


def test_the_refusal_of_a_day_month_order_names_the_iso_form():
    """What `volume add --date 22/11/2026` always said (YYYY-MM-DD), now with the Chinese form too."""
    with pytest.raises(Invalid, match="YYYY-MM-DD.*2026年11月30日"):
        parse_date("22/11/2026", "--date")


def test_an_earlier_earliest_date_for_custom_fields():
    assert parse_date("1850年3月1日", "field founded", earliest=date(1800, 1, 1)) == date(1850, 3, 1)
    with pytest.raises(Invalid, match="1800-01-01"):
        parse_date("1799/12/31", "field founded", earliest=date(1800, 1, 1))


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
       st.sampled_from(["{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}.{m:02d}.{d}", "{y}年{m}月{d}日", "{y}年{m:02d}月{d:02d}号"]),
       st.booleans())
def test_every_written_form_gives_the_same_day(d, form, full_width):
    text = form.format(y=d.year, m=d.month, d=d.day)
    if full_width:
        text = text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789-/."})
    assert parse_date(text) == d


# ---- date-times --------------------------------------------------------------------------------------


def at(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


@pytest.mark.parametrize("text,expected", [
    ("2026-11-20", at(2026, 11, 20)),
    ("2026-11-20 15:00", at(2026, 11, 20, 15)),
    ("2026-11-20T15:00", at(2026, 11, 20, 15)),
    ("2026-11-20 15:00:30", at(2026, 11, 20, 15, 0, 30)),
    ("2026/11/20 15:00", at(2026, 11, 20, 15)),
    ("2026/11/20 9:05", at(2026, 11, 20, 9, 5)),
    ("2026.11.20 15:00", at(2026, 11, 20, 15)),
    ("2026年11月20日 15:00", at(2026, 11, 20, 15)),
    ("2026年11月20日15:00", at(2026, 11, 20, 15)),
    ("2026年11月20日 15点", at(2026, 11, 20, 15)),
    ("2026年11月20日15点", at(2026, 11, 20, 15)),
    ("2026年11月20日15点30分", at(2026, 11, 20, 15, 30)),
    ("2026年11月20日 15点30", at(2026, 11, 20, 15, 30)),
    ("2026年11月20日 15时30分", at(2026, 11, 20, 15, 30)),
    ("2026年11月20日 15点半", at(2026, 11, 20, 15, 30)),
    ("2026年11月20日下午3点", at(2026, 11, 20, 15)),
    ("2026年11月20日 下午3点半", at(2026, 11, 20, 15, 30)),
    ("2026-11-20 上午9:30", at(2026, 11, 20, 9, 30)),
    ("2026年11月20日晚上8点", at(2026, 11, 20, 20)),
    ("2026年11月20日中午12点", at(2026, 11, 20, 12)),
    ("2026年11月20日凌晨12点", at(2026, 11, 20, 0)),
    ("2026年11月20日下午12点", at(2026, 11, 20, 12)),
    ("2026年11月20日 0点", at(2026, 11, 20, 0)),
    ("2026年11月20日", at(2026, 11, 20)),
    ("２０２６年１１月２０日　１５：００", at(2026, 11, 20, 15)),
    ("２０２６－１１－２０　１５：００", at(2026, 11, 20, 15)),
    ("今天", at(2026, 11, 22)),
    ("今天 9:30", at(2026, 11, 22, 9, 30)),
    ("昨天 15:00", at(2026, 11, 21, 15)),
    ("昨天15点", at(2026, 11, 21, 15)),
    ("前天 8点半", at(2026, 11, 20, 8, 30)),
    ("2026-11-20T15:00:00+08:00", at(2026, 11, 20, 15)),
    ("2026-11-20T07:00:00Z", at(2026, 11, 20, 15)),
    ("2026-11-20 15:00:00.5", at(2026, 11, 20, 15, 0, 0, 500000)),
])
def test_date_times_accepted(text, expected):
    value = parse_datetime(text, TZ, "--at", now=NOW)
    assert value == expected and value.tzinfo is not None


def test_a_date_time_without_an_offset_is_in_the_policy_zone():
    assert parse_datetime("2026年11月20日 15:00", "Asia/Shanghai").isoformat() == "2026-11-20T15:00:00+08:00"
    assert parse_datetime("2026/11/20 15:00", "Europe/Berlin").isoformat() == "2026-11-20T15:00:00+01:00"


def test_day_words_use_the_policy_zone_s_today():
    """02:00 UTC on 22 November is 10:00 in Shanghai, and late on 21 November in New York."""
    utc_now = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    assert parse_datetime("今天", TZ, now=utc_now) == at(2026, 11, 22)
    assert parse_datetime("今天", "America/New_York", now=utc_now).date() == date(2026, 11, 21)


@pytest.mark.parametrize("text,reason", [
    ("11/30/2026 15:00", "ambiguous"), ("30/11/2026 15:00", "ambiguous"), ("11月30日 15:00", "no year"),
    ("11/30 15:00", "no year"), ("2026-11-20 24:00", "not a real time"), ("2026年11月20日 25点", "not a real time"),
    ("2026-11-20 15:60", "not a real time"), ("2026年11月20日 15点61分", "not a real time"),
    ("2026年2月30日 15:00", "not a real date"), ("2026-11-2015:00", "cannot read"), ("2026-11-20 下午15点", "12-hour clock"),
    ("2026-11-20 15:00 明天", "cannot read"), ("noon", "cannot read"), ("", "cannot read"),
    ("yesterday", "cannot read"), ("today 15:00", "cannot read"),  # the words are Chinese only
    ("今天 15:00", "cannot be used here"),  # no "now" handed in
])
def test_date_times_refused(text, reason):
    now = None if reason == "cannot be used here" else NOW
    with pytest.raises(Invalid, match=reason) as info:
        parse_datetime(text, TZ, "--at", now=now)
    assert info.value.message.startswith("--at")


def test_crmctl_now_takes_the_written_forms_but_no_word():
    assert clock_now(TZ, "2026/11/22 10:00") == NOW
    with pytest.raises(Invalid, match="CRMCTL_NOW"):
        clock_now(TZ, "今天")


# ---- periods -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,label", [
    ("2026-11", "2026-11"), ("2026年11月", "2026-11"), ("2026年1月", "2026-01"), ("2026年01月", "2026-01"),
    ("2026年11月份", "2026-11"), ("2026-1", "2026-01"), ("２０２６年１１月", "2026-11"),
    ("2026-Q4", "2026-Q4"), ("2026Q4", "2026-Q4"), ("2026q4", "2026-Q4"), ("2026 Q4", "2026-Q4"), ("2026-q1", "2026-Q1"),
    ("2026年第4季度", "2026-Q4"), ("2026年4季度", "2026-Q4"), ("2026年第四季度", "2026-Q4"), ("2026年第一季度", "2026-Q1"),
    ("2026年第3季", "2026-Q3"), ("2026年Q2", "2026-Q2"), ("２０２６年第４季度", "2026-Q4"), ("２０２６Ｑ４", "2026-Q4"),
    ("2026-H2", "2026-H2"), ("2026H1", "2026-H1"), ("2026h2", "2026-H2"), ("2026年下半年", "2026-H2"),
    ("2026年上半年", "2026-H1"), ("2026下半年", "2026-H2"), ("2026年上半年度", "2026-H1"), ("2026年H2", "2026-H2"),
    ("2026", "2026"), ("2026年", "2026"), ("2026年度", "2026"), ("２０２６年", "2026"), (" 2026年 ", "2026"),
])
def test_period_labels_accepted(text, label):
    assert parse_label(text).label == label


def test_a_typed_label_is_the_same_period():
    assert parse_label("2026年第4季度") == parse_label("2026-Q4")
    assert parse_label("2026年下半年") == parse_label("2026-H2")
    assert parse_month("2026年11月") == parse_label("2026-11")


@pytest.mark.parametrize("text,reason", [
    ("2026年第5季度", "no quarter 5"), ("2026年第0季度", "no quarter 0"), ("2026Q5", "no quarter 5"),
    ("2026年第五季度", "no quarter 5"), ("2026-H3", "no half-year 3"), ("2026年H0", "no half-year 0"),
    ("2026年13月", "no month 13"), ("2026-00", "no month 0"), ("2026/12", "not a period label"),
    ("1989年", "outside the years"), ("2101年第1季度", "outside the years"),
    ("26年", "not a period label"), ("2026年中", "not a period label"), ("11月", "not a period label"),
    ("第4季度", "not a period label"), ("2026第4季度", "not a period label"), ("Q4", "not a period label"),
    ("2026年11月30日", "not a period label"), ("2026-11-30", "not a period label"), ("", "not a period label"),
    ("2026年11", "not a period label"), ("2026.11", "not a period label"),
])
def test_period_labels_refused(text, reason):
    with pytest.raises(Invalid, match=reason):
        parse_label(text)


def test_a_label_refusal_shows_what_works():
    with pytest.raises(Invalid, match="2026-Q4.*2026年第4季度.*2026年下半年"):
        parse_label("soon")


@pytest.mark.parametrize("kind,label", [("month", "2026年11月"), ("季度", "2026年第4季度"), ("半年", "2026年下半年"),
                                        ("year", "2026年"), ("年", "2026")])
def test_a_label_of_the_kind_asked_for(kind, label):
    assert parse_label(label, kind).label == parse_label(label).label


def test_a_label_of_another_kind_is_refused():
    with pytest.raises(Invalid, match="is a quarter, not a month"):
        parse_month("2026年第4季度")
    with pytest.raises(Invalid, match="is a year, not a half-year"):
        parse_label("2026年", "半年")


@pytest.mark.parametrize("text,kind", [
    ("month", "month"), ("quarter", "quarter"), ("half-year", "half-year"), ("year", "year"), ("Half-Year", "half-year"),
    ("QUARTER", "quarter"), ("half_year", "half-year"), ("月", "month"), ("月度", "month"), ("季度", "quarter"),
    ("季", "quarter"), ("半年", "half-year"), ("半年度", "half-year"), ("年", "year"), ("年度", "year"), (" 半年 ", "half-year"),
])
def test_period_kinds(text, kind):
    assert parse_kind(text) == kind


@pytest.mark.parametrize("text", ["weekly", "fortnight", "half", "上半年", "周", "", "H", "quarterly"])
def test_unknown_period_kinds(text):
    with pytest.raises(Invalid, match="unknown period .*month, quarter, half-year, year.*半年"):
        parse_kind(text)


def test_resolve_period_takes_the_word():
    assert resolve_period("半年", None, TODAY).label == "2026-H1"  # the last half-year completed
    assert resolve_period("季度", "2026年第3季度", TODAY).label == "2026-Q3"
    with pytest.raises(Invalid, match="not a half-year"):
        resolve_period("半年", "2026年第3季度", TODAY)


# ---- quantities and money ----------------------------------------------------------------------------


@pytest.mark.parametrize("text,value", [
    ("1200", Decimal("1200")), ("1200.5", Decimal("1200.5")), ("1,200", Decimal("1200")), ("1,200.5", Decimal("1200.5")),
    ("12,345,678.25", Decimal("12345678.25")), ("999,999", Decimal("999999")), ("1.2万", Decimal("12000")),
    ("1.2 万", Decimal("12000")), ("3万", Decimal("30000")), ("0.5亿", Decimal("50000000")), ("1,200万", Decimal("12000000")),
    ("１２００．５", Decimal("1200.5")), ("１，２００．５", Decimal("1200.5")), ("1，200", Decimal("1200")),
    ("１．２万", Decimal("12000")), (".5", Decimal("0.5")), ("5.", Decimal("5")), ("+3", Decimal("3")), ("-3", Decimal("-3")),
    ("－３", Decimal("-3")), ("\u22123", Decimal("-3")), ("1e3", Decimal("1000")), (" 42 ", Decimal("42")), ("0", Decimal("0")),
])
def test_numbers_read(text, value):
    assert read_number(text, "--qty") == value


@pytest.mark.parametrize("text,reason", [
    ("1,20", "comma separates thousands"), ("1,2", "comma separates thousands"), ("1,2000", "comma separates thousands"),
    ("12,00.5", "comma separates thousands"), ("1,200,00", "comma separates thousands"), ("1,20万", "comma separates thousands"),
    ("1,", "not a number"), (",200", "not a number"), ("1,,200", "not a number"), ("1 200", "not a number"),
    ("1_000", "not a number"), ("1.2.3", "not a number"), ("一千二", "not a number"), ("1.2千", "not a number"),
    ("万", "not a number"), ("1e3万", "not a number"), ("1,000e3", "not a number"), ("1200。5", "not a number"),
    ("abc", "not a number"), ("0x10", "not a number"), ("", "empty"), ("   ", "empty"),
    ("nan", "not a finite number"), ("-inf", "not a finite number"), ("Infinity", "not a finite number"),
    ("٣", "not a number"),  # another script's digit
])
def test_numbers_refused(text, reason):
    with pytest.raises(Invalid, match=reason) as info:
        read_number(text, "--qty")
    assert info.value.message.startswith("--qty")


def test_a_number_refusal_shows_what_works():
    with pytest.raises(Invalid, match=r"1,200\.5.*1\.2万"):
        read_number("lots", "--qty")


@pytest.mark.parametrize("text,value", [("1,200.5", 1200.5), ("1.2万", 12000.0), ("１２００．５", 1200.5), ("0", 0.0),
                                        ("1e3", 1000.0), (12.5, 12.5), ("100万", 1_000_000.0)])
def test_quantities(text, value):
    assert parse_quantity(text, "--qty") == value


@pytest.mark.parametrize("text,reason", [("-5", "negative"), ("－５", "negative"), ("-1.2万", "negative"),
                                         ("1,20", "comma"), ("1,2", "comma"), ("1e309", "not a finite number"),
                                         ("NaN", "not a finite number"), ("100000亿", "implausibly large"),
                                         ("1.2万万", "not a number")])
def test_quantities_refused(text, reason):
    with pytest.raises(Invalid, match=reason):
        parse_quantity(text, "--qty")


@pytest.mark.parametrize("text,value", [("12,500.50", Decimal("12500.50")), ("1.25万", Decimal("12500.00")),
                                        ("1.25万元", Decimal("12500.00")), ("¥12,500", Decimal("12500.00")),
                                        ("￥１２，５００", Decimal("12500.00")), ("12500元", Decimal("12500.00"))])
def test_money(text, value):
    assert parse_money(text) == value


@pytest.mark.parametrize("text,reason", [("1,20", "comma"), ("1e3", "not an amount"), ("1.0000001万", "2 decimals"),
                                         ("-1.2万", "negative"), ("元", "not an amount")])
def test_money_refused(text, reason):
    with pytest.raises(Invalid, match=reason):
        parse_money(text)


class _Field:
    def __init__(self, type_):
        self.key, self.type, self.choices = "f", type_, None


@pytest.mark.parametrize("ftype,text,value", [("int", "1,200", 1200), ("int", "1.2万", 12000), ("int", "１２", 12),
                                              ("int", "-3", -3), ("decimal", "1,200.5", 1200.5), ("decimal", "１．５", 1.5),
                                              ("decimal", "-2.5", -2.5), ("decimal", "2万", 20000)])
def test_number_fields_of_the_customer_file(ftype, text, value):
    assert coerce_field(_Field(ftype), text) == value


@pytest.mark.parametrize("ftype,text,reason", [("int", "1,2", "comma"), ("int", "1.5", "whole number"),
                                               ("decimal", "1,20", "comma"), ("int", "1e99", "too large"),
                                               ("decimal", "1e999999999", "too large")])
def test_number_fields_refused(ftype, text, reason):
    with pytest.raises(Invalid, match=reason):
        coerce_field(_Field(ftype), text)
