"""The company calendar and deadline arithmetic (crmctl.rules.calendar).

Dates are pinned against the State Council data shipped with chinesecalendar (2026 notice):
National Day 1-7 October 2026 with make-up working days Sun 20 September and Sat 10 October;
Spring Festival 15-23 February 2026 with make-up working days Sat 14 and Sat 28 February;
Mid-autumn 25-27 September 2026.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmctl.rules import calendar as calmod
from crmctl.rules.calendar import (
    COVERED_YEARS,
    CompanyCalendar,
    DayInfo,
    calendar_from_policy,
    fallback_warnings,
    reset_fallback_warnings,
)
from crmctl.rules.durations import Duration

SH = ZoneInfo("Asia/Shanghai")
CAL = CompanyCalendar()
NEEDS_2027_UNCOVERED = pytest.mark.skipif(
    CAL.covered(2027), reason="the installed chinesecalendar already has 2027 data"
)


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture
def fallback_log(monkeypatch):
    """Fresh warn-once state; records the years passed to the on_fallback hook."""
    calls: list[int] = []
    reset_fallback_warnings()
    monkeypatch.setattr(calmod, "on_fallback", calls.append)
    yield calls
    reset_fallback_warnings()


# --------------------------------------------------------------------------- library coverage


def test_covered_years_come_from_the_library_data():
    import chinese_calendar

    years = {d.year for d in chinese_calendar.holidays}
    assert COVERED_YEARS == (min(years), max(years))
    assert CAL.covered(2026)
    assert not CAL.covered(COVERED_YEARS[1] + 1)
    assert not CAL.covered(COVERED_YEARS[0] - 1)


# --------------------------------------------------------------------------- National Day 2026


def test_national_day_2026_days():
    for day in range(1, 8):
        info = CAL.day_info(date(2026, 10, day))
        assert info == DayInfo(date(2026, 10, day), False, "holiday", "National Day", "library")
    for makeup in (date(2026, 9, 20), date(2026, 10, 10)):  # a Sunday and a Saturday
        info = CAL.day_info(makeup)
        assert info.working and info.kind == "makeup_workday" and info.source == "library"
    assert CAL.day_info(date(2026, 10, 8)).kind == "workday"
    assert CAL.day_info(date(2026, 10, 11)).kind == "weekend"


def test_contract_example_one_working_day_over_national_day():
    # docs/cli.md: opened Wed 2026-09-30 15:00 with 1 working day -> due Thu 2026-10-08 15:00
    assert CAL.add(at(2026, 9, 30, 15), "1 working day") == at(2026, 10, 8, 15)


def test_three_working_days_from_sep_30_end_on_the_makeup_saturday():
    assert CAL.add(at(2026, 9, 30, 15), "3 working days") == at(2026, 10, 10, 15)
    assert CAL.add(at(2026, 9, 30, 15), "4 working days") == at(2026, 10, 12, 15)


def test_start_on_a_holiday_moves_to_the_start_of_the_next_working_day():
    assert CAL.next_working_day_start(at(2026, 10, 3, 16)) == at(2026, 10, 8, 8, 30)
    assert CAL.add(at(2026, 10, 3, 16), "1 working day") == at(2026, 10, 9, 8, 30)


def test_makeup_sunday_counts_as_a_working_day():
    # Fri 2026-09-18 15:00 + 1 working day -> Sun 2026-09-20 (make-up day)
    assert CAL.add(at(2026, 9, 18, 15), "1 working day") == at(2026, 9, 20, 15)


# --------------------------------------------------------------------------- Spring Festival 2026


def test_spring_festival_2026_days():
    for offset in range(9):
        d = date(2026, 2, 15) + timedelta(days=offset)
        info = CAL.day_info(d)
        assert (info.working, info.kind, info.name) == (False, "holiday", "Spring Festival"), d
    for makeup in (date(2026, 2, 14), date(2026, 2, 28)):
        info = CAL.day_info(makeup)
        assert makeup.isoweekday() == 6
        assert (info.working, info.kind, info.name) == (True, "makeup_workday", "Spring Festival")
    assert CAL.is_working_day(date(2026, 2, 24))


def test_spring_festival_deadlines():
    assert CAL.add(at(2026, 2, 13, 10), "1 working day") == at(2026, 2, 14, 10)
    assert CAL.add(at(2026, 2, 13, 10), "2 working days") == at(2026, 2, 24, 10)
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6  # 14, 24-28


# --------------------------------------------------------------------------- weekends and hours


def test_weekend_start():
    sat = at(2026, 9, 12, 10)
    assert CAL.next_working_day_start(sat) == at(2026, 9, 14, 8, 30)
    assert CAL.add(sat, "1 working day") == at(2026, 9, 15, 8, 30)


def test_start_on_a_working_day_stays_put_for_working_days():
    # even after closing time: same time of day N working days later
    assert CAL.next_working_day_start(at(2026, 9, 15, 20)) == at(2026, 9, 15, 20)
    assert CAL.add(at(2026, 9, 15, 20), "1 working day") == at(2026, 9, 16, 20)


def test_working_hours_lunch_break():
    assert CAL.add(at(2026, 9, 15, 11), "2 working hours") == at(2026, 9, 15, 14, 30)
    assert CAL.add(at(2026, 9, 15, 12, 30), "1 working hour") == at(2026, 9, 15, 14, 30)


@pytest.mark.parametrize(
    ("hours", "due"), [("6", at(2026, 9, 14, 14, 30)), ("7", at(2026, 9, 14, 15, 30))]
)
def test_working_hours_from_a_friday_afternoon(hours, due):
    # manufacturer repair dispatch: urban 6, suburban 7 working hours; opened Fri 16:00
    assert CAL.add(at(2026, 9, 11, 16), f"{hours} working hours") == due


def test_working_hours_over_makeup_days_and_holidays():
    assert CAL.add(at(2026, 9, 18, 16), "6 working hours") == at(2026, 9, 20, 14, 30)  # make-up Sunday
    assert CAL.add(at(2026, 10, 9, 16), "6 working hours") == at(2026, 10, 10, 14, 30)  # make-up Saturday
    assert CAL.add(at(2026, 9, 30, 16), "6 working hours") == at(2026, 10, 8, 14, 30)  # National Day


def test_working_hours_before_opening_and_after_closing():
    assert CAL.add(at(2026, 9, 15, 7), "1 working hour") == at(2026, 9, 15, 9, 30)
    assert CAL.add(at(2026, 9, 15, 18), "1 working hour") == at(2026, 9, 16, 9, 30)
    assert CAL.add(at(2026, 9, 12, 10), "1 working hour") == at(2026, 9, 14, 9, 30)  # Saturday


def test_working_hours_end_exactly_at_closing_and_fractions():
    assert CAL.add(at(2026, 9, 11, 16), "1.5 working hours") == at(2026, 9, 11, 17, 30)
    assert CAL.add(at(2026, 9, 15, 8, 30), "0.25 working hours") == at(2026, 9, 15, 8, 45)


# --------------------------------------------------------------------------- fallback years


@NEEDS_2027_UNCOVERED
def test_new_year_2027_fallback_without_policy_holiday(fallback_log):
    # 2027-01-01 is a Friday; without data it is an ordinary working day
    assert CAL.add(at(2026, 12, 31, 15), "1 working day") == at(2027, 1, 1, 15)
    assert CAL.add(at(2026, 12, 31, 16), "6 working hours") == at(2027, 1, 1, 14, 30)
    info = CAL.day_info(date(2027, 1, 2))
    assert (info.working, info.kind, info.source) == (False, "weekend", "fallback")
    assert fallback_log == [2027]


@NEEDS_2027_UNCOVERED
def test_new_year_2027_fallback_with_policy_holiday(fallback_log):
    cal = CompanyCalendar(extra_holidays=frozenset({date(2027, 1, 1)}))
    assert cal.add(at(2026, 12, 31, 15), "1 working day") == at(2027, 1, 4, 15)
    assert cal.add(at(2026, 12, 31, 16), "6 working hours") == at(2027, 1, 4, 14, 30)
    info = cal.day_info(date(2027, 1, 1))
    assert (info.working, info.kind, info.source) == (False, "holiday", "policy")
    steps = cal.explain(at(2026, 12, 31, 15), "1 working day")
    assert any("2027-01-01" in s and "holiday" in s for s in steps)


@NEEDS_2027_UNCOVERED
def test_fallback_warns_once_per_year(fallback_log):
    for _ in range(3):
        CAL.add(at(2026, 12, 31, 15), "3 working days")
        CAL.month(2027, 1)
    assert fallback_log == [2027]
    assert len(fallback_warnings()) == 1 and "2027" in fallback_warnings()[0]
    CAL.day_info(date(2030, 5, 1))
    CAL.day_info(date(2030, 5, 2))
    assert fallback_log == [2027, 2030]
    assert len(fallback_warnings()) == 2


def test_first_uncovered_year_falls_back(fallback_log):
    year = COVERED_YEARS[1] + 1
    start = at(year - 1, 12, 31, 10)
    due = CAL.add(start, "2 working days")
    assert due.year == year and CAL.is_working_day(due.date())
    assert fallback_log == [year]


def test_covered_year_and_base_none_do_not_warn(fallback_log):
    CAL.month(2026, 10)
    CompanyCalendar(base="none").month(2030, 1)
    assert fallback_log == [] and fallback_warnings() == []


@pytest.mark.parametrize("year", [1900, 1950, 2003, 2150, 9998])
def test_any_year_works(year, fallback_log):
    days = CAL.month(year, 12)
    assert len(days) == 31 and all(d.source == "fallback" for d in days)
    assert CAL.add(datetime(year, 6, 1, 9), "5 working days").year == year
    assert CAL.add(datetime(year, 6, 1, 9), "9 working hours") > at(year, 6, 1, 0)


@pytest.mark.parametrize("duration", ["1 working day", "1 working hour", "48 h", "1 month", "1 year"])
def test_past_year_9999_is_a_value_error_not_a_crash(duration):
    with pytest.raises(ValueError):
        CAL.add(datetime(9999, 12, 31, 20), duration)


def test_a_calendar_without_working_days_raises():
    cal = CompanyCalendar(weekend=(1, 2, 3, 4, 5, 6, 7))
    with pytest.raises(ValueError, match="no working day"):
        cal.add(datetime(2040, 1, 1, 9), "1 working day")
    with pytest.raises(ValueError, match="no working day"):
        cal.add(datetime(2040, 1, 1, 9), "1 working hour")


# --------------------------------------------------------------------------- policy overrides


def test_policy_days_override_the_library():
    cal = CompanyCalendar(
        extra_holidays=frozenset({date(2026, 10, 8)}), extra_workdays=frozenset({date(2026, 10, 5)})
    )
    assert cal.day_info(date(2026, 10, 5)) == DayInfo(
        date(2026, 10, 5), True, "makeup_workday", "National Day", "policy"
    )
    assert cal.day_info(date(2026, 10, 8)).source == "policy"
    assert cal.add(at(2026, 9, 30, 15), "1 working day") == at(2026, 10, 5, 15)
    assert cal.add(at(2026, 9, 30, 15), "2 working days") == at(2026, 10, 9, 15)


def test_policy_weekend_applies_on_ordinary_days():
    six_day_week = CompanyCalendar(weekend=(7,))
    assert six_day_week.is_working_day(date(2026, 9, 12))  # a Saturday
    assert not six_day_week.is_working_day(date(2026, 10, 3))  # still National Day
    assert six_day_week.day_info(date(2026, 9, 12)).source == "policy"


# --------------------------------------------------------------------------- clock and calendar units


def test_clock_hours_ignore_nights_and_holidays():
    assert CAL.add(at(2026, 9, 30, 22), "6 h") == at(2026, 10, 1, 4)
    assert CAL.add(at(2026, 9, 30, 22), "24 h") == at(2026, 10, 1, 22)
    assert CAL.add(at(2026, 9, 30, 22), "1.5 h") == at(2026, 9, 30, 23, 30)


def test_months_days_years():
    assert CAL.add(at(2026, 1, 31, 10), "1 month") == at(2026, 2, 28, 10)
    assert CAL.add(at(2028, 1, 31, 10), "1 month") == at(2028, 2, 29, 10)
    assert CAL.add(at(2026, 9, 30, 10), "3 days") == at(2026, 10, 3, 10)
    assert CAL.add(at(2028, 2, 29, 10), "1 year") == at(2029, 2, 28, 10)


def test_clock_hours_and_days_across_dst_use_zoneinfo():
    ny = ZoneInfo("America/New_York")
    cal = CompanyCalendar(timezone="America/New_York", base="none")
    start = datetime(2026, 3, 7, 12, tzinfo=ny)  # DST starts 2026-03-08 02:00
    assert cal.add(start, "24 h") == datetime(2026, 3, 8, 13, tzinfo=ny)
    assert cal.add(start, "1 day") == datetime(2026, 3, 8, 12, tzinfo=ny)
    elapsed = cal.add(start, "1 day").astimezone(timezone.utc) - start.astimezone(timezone.utc)
    assert elapsed == timedelta(hours=23)
    # a wall-clock result inside the DST gap (02:30 does not exist) moves forward
    assert cal.add(datetime(2026, 3, 7, 2, 30), "1 day") == datetime(2026, 3, 8, 3, 30, tzinfo=ny)


def test_base_none_is_24_7():
    cal = CompanyCalendar(base="none")
    assert all(d.working for d in cal.month(2026, 10))
    assert cal.add(at(2026, 10, 3, 16), "1 working day") == at(2026, 10, 4, 16)
    assert cal.add(at(2026, 10, 1, 22), "6 working hours") == at(2026, 10, 2, 4)
    assert cal.add(at(2026, 10, 1, 22), "6 h") == at(2026, 10, 2, 4)


def test_clock_argument_overrides_the_unit():
    start = at(2026, 9, 11, 16)
    assert CAL.add(start, 6, clock="working hours") == at(2026, 9, 14, 14, 30)
    assert CAL.add(start, "6 h", clock="working_hours") == at(2026, 9, 14, 14, 30)
    assert CAL.add(start, Duration(6, "hours")) == at(2026, 9, 11, 22)
    with pytest.raises(ValueError):
        CAL.add(start, 6)
    with pytest.raises(ValueError):
        CAL.add(start, "6 h", clock="fortnights")


# --------------------------------------------------------------------------- zones


def test_naive_and_aware_inputs_agree_and_results_are_in_shanghai():
    expected = at(2026, 10, 8, 15)
    starts = [
        datetime(2026, 9, 30, 15),  # naive = calendar zone
        at(2026, 9, 30, 15),
        datetime(2026, 9, 30, 7, tzinfo=timezone.utc),
        datetime(2026, 9, 30, 3, tzinfo=ZoneInfo("America/New_York")),
    ]
    for start in starts:
        due = CAL.add(start, "1 working day")
        assert due == expected
        assert due.tzinfo.key == "Asia/Shanghai" and due.hour == 15
    # a UTC start that is already the next local day
    assert CAL.add(datetime(2026, 9, 30, 17, tzinfo=timezone.utc), "1 working day") == at(2026, 10, 9, 8, 30)


# --------------------------------------------------------------------------- explain, month, between


def test_explain_names_the_skipped_holidays():
    steps = CAL.explain(at(2026, 9, 30, 15), "1 working day")
    assert steps
    assert any("skip" in s and "National Day" in s and "2026-10-01" in s and "2026-10-07" in s for s in steps)
    assert steps[-1].startswith("due: Thu 2026-10-08 15:00")
    hours = CAL.explain(at(2026, 9, 24, 16), "7 working hours")
    assert any("Mid-autumn Festival" in s for s in hours)
    assert hours[-1].startswith("due: Mon 2026-09-28 15:30")
    assert CAL.explain(at(2026, 9, 30, 22), "6 h")[-1].startswith("due: Thu 2026-10-01 04:00")


def test_month_listing():
    october = CAL.month(2026, 10)
    assert [d.date.day for d in october] == list(range(1, 32))
    assert sum(d.kind == "holiday" for d in october) == 7
    assert [d.date for d in october if d.kind == "makeup_workday"] == [date(2026, 10, 10)]
    assert len(CAL.month(2028, 2)) == 29


def test_working_days_between():
    assert CAL.working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert CAL.working_days_between(date(2026, 10, 8), date(2026, 9, 30)) == -1
    assert CAL.working_days_between(date(2026, 10, 8), date(2026, 10, 8)) == 0
    assert CAL.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4


# --------------------------------------------------------------------------- building from a policy


def test_calendar_from_policy_duck_typed():
    section = SimpleNamespace(
        base="china",
        weekend=[6, 7],
        business_hours=["08:30-12:00", "13:30-17:30"],
        extra_holidays=["2027-01-01", date(2027, 2, 8)],
        extra_workdays=[],
    )
    cal = calendar_from_policy(section, "Asia/Shanghai")
    assert cal == CompanyCalendar(extra_holidays=frozenset({date(2027, 1, 1), date(2027, 2, 8)}))
    assert calendar_from_policy({"timezone": "Asia/Urumqi"}).timezone == "Asia/Urumqi"
    assert calendar_from_policy({"timezone": "Asia/Urumqi"}, "Asia/Shanghai").timezone == "Asia/Shanghai"
    assert calendar_from_policy(SimpleNamespace(base="none"), "Asia/Shanghai").base == "none"
    whole_day = calendar_from_policy({"business_hours": ["00:00-24:00"]}, "Asia/Shanghai")
    assert whole_day.business_hours == ((time(0), time(0)),)
    assert whole_day.add(at(2026, 9, 15, 22), "4 working hours") == at(2026, 9, 16, 2)


@pytest.mark.parametrize(
    "section",
    [
        {"business_hours": ["08:30"]},
        {"business_hours": ["12:00-08:30"]},
        {"business_hours": ["08:30-12:00", "11:00-17:30"]},
        {"weekend": [8]},
        {"base": "mars"},
        {"extra_holidays": ["2027-13-01"]},
        {"timezone": "Mars/Olympus"},
    ],
)
def test_calendar_from_policy_rejects_bad_values(section):
    with pytest.raises(ValueError):
        calendar_from_policy(section)


# --------------------------------------------------------------------------- properties

starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31, 23, 59))


@settings(max_examples=150, deadline=None)
@given(start=starts, n=st.integers(min_value=1, max_value=15))
def test_property_working_days(start, n):
    due = CAL.add(start, Duration(n, "working_days"))
    aware_start = start.replace(tzinfo=SH)
    assert due > aware_start
    assert CAL.is_working_day(due.date())
    between = CAL.working_days_between(start.date(), due.date())
    if CAL.is_working_day(start.date()):
        assert between == n and due.time() == start.time()
    else:  # the clock starts at the next working day's opening, which is not counted
        assert between == n + 1 and due.time() == time(8, 30)


def _business_time(cal: CompanyCalendar, a: datetime, b: datetime) -> timedelta:
    """Reference: business-hours overlap of [a, b], day by day (naive local times)."""
    total = timedelta(0)
    d = a.date()
    while d <= b.date():
        if cal.is_working_day(d):
            for ws, we in cal.business_hours:
                lo = max(a, datetime.combine(d, ws))
                hi = min(b, datetime.combine(d, we))
                if hi > lo:
                    total += hi - lo
        d += timedelta(days=1)
    return total


@settings(max_examples=150, deadline=None)
@given(start=starts, quarters=st.integers(min_value=1, max_value=200))
def test_property_working_hours(start, quarters):
    hours = quarters / 4
    due = CAL.add(start, Duration(hours, "working_hours"))
    assert due > start.replace(tzinfo=SH)
    assert CAL.is_working_day(due.date())
    local = due.replace(tzinfo=None)
    assert any(
        datetime.combine(local.date(), ws) < local <= datetime.combine(local.date(), we)
        for ws, we in CAL.business_hours
    )
    assert _business_time(CAL, start, local) == timedelta(hours=hours)


# --------------------------------------------------------------------------- estimated years (2027)


def _statutory_weekdays(holidays, workdays, year: int) -> int:
    """Weekday holidays minus make-up working days: the statutory days a year's schedule grants."""
    return sum(1 for d in holidays if d.year == year and d.weekday() < 5) - sum(1 for d in workdays if d.year == year)


@pytest.mark.skipif(COVERED_YEARS is None or COVERED_YEARS[1] < 2026, reason="needs the 2025 and 2026 notices")
@pytest.mark.parametrize("year", [2025, 2026])
def test_the_official_schedules_grant_the_2025_revisions_13_days(year):
    # the rule the estimate is built on, checked against the State Council's own schedules
    assert _statutory_weekdays(calmod._LIB_HOLIDAYS, calmod._LIB_WORKDAYS, year) == 13


def test_the_2027_estimate_follows_the_2025_holiday_rules():
    from crmctl.rules.cadence import holiday_date

    (est,) = [t for y, t in calmod.estimated_years().items() if y == 2027]
    assert _statutory_weekdays(est.holidays, est.workdays, 2027) == 13  # 1+4+1+2+1+1+3
    eve = holiday_date("spring_festival", 2027) - timedelta(days=1)  # 除夕
    assert all(eve + timedelta(days=k) in est.holidays for k in range(4))  # 除夕 and 初一 to 初三
    assert {date(2027, 5, 1), date(2027, 5, 2)} <= set(est.holidays)  # Labour Day: two days
    assert all(d.isoweekday() >= 6 for d in est.workdays)  # make-up days are weekend days
    assert all(name and all("\u4e00" <= ch <= "\u9fff" for ch in name) for name in
               list(est.holidays.values()) + list(est.workdays.values()))  # Chinese names


@NEEDS_2027_UNCOVERED
def test_policy_calendar_counts_2027_on_the_estimate_and_warns(fallback_log):
    cal = calendar_from_policy({"base": "china"}, "Asia/Shanghai")
    spring = cal.day_info(date(2027, 2, 8))
    assert (spring.working, spring.kind, spring.name, spring.source) == (False, "holiday", "春节", "estimate")
    makeup = cal.day_info(date(2027, 1, 31))
    assert (makeup.working, makeup.kind, makeup.source) == (True, "makeup_workday", "estimate")
    assert cal.add(at(2027, 2, 4, 15), "2 working days") == at(2027, 2, 16, 15)
    assert any("estimate" in step for step in cal.explain(at(2027, 2, 4, 15), "2 working days"))
    assert len(fallback_warnings()) == 1 and "set-year 2027" in fallback_warnings()[0]
    assert fallback_log == []  # an estimate is not a fallback to weekends


def test_an_estimate_yields_to_the_library_and_to_a_loaded_schedule(monkeypatch):
    loaded = calmod.YearTable(2027, {date(2027, 2, 5): "春节"}, {}, "loaded", "notice.toml")
    cal = calendar_from_policy({"base": "china"}, "Asia/Shanghai", loaded={2027: loaded})
    assert cal.day_info(date(2027, 2, 8)).source == "loaded" and cal.day_info(date(2027, 2, 8)).working
    # once the installed chinesecalendar covers 2027, its data wins over both
    monkeypatch.setattr(calmod, "COVERED_YEARS", (2004, 2027))
    monkeypatch.setattr(calmod, "_LIB_HOLIDAYS", {**calmod._LIB_HOLIDAYS, date(2027, 2, 9): "Spring Festival"})
    info = cal.day_info(date(2027, 2, 9))
    assert (info.working, info.source) == (False, "library")
    assert calendar_from_policy({"base": "china"}, "Asia/Shanghai").day_info(date(2027, 2, 8)).source == "library"


def test_a_year_table_keeps_to_its_year():
    with pytest.raises(ValueError, match="not in 2027"):
        calmod.YearTable(2027, {date(2028, 1, 1): "元旦"}, {})
    with pytest.raises(ValueError, match="both a holiday and a make-up"):
        calmod.YearTable(2027, {date(2027, 1, 1): "元旦"}, {date(2027, 1, 1): "调休"})
