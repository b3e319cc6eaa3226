"""The agenda's pure parts: window, state wording codes, order (no database)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from crmctl.rules import agenda as r

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=TZ)  # a Monday


def test_window_today_and_week():
    assert r.horizon(date(2026, 11, 16)) == date(2026, 11, 16)
    assert r.horizon(date(2026, 11, 16), week=True) == date(2026, 11, 22)
    assert r.horizon_end(date(2026, 11, 16), TZ) == datetime(2026, 11, 17, tzinfo=TZ)
    assert r.horizon_end(date(2026, 11, 16), TZ, week=True) == datetime(2026, 11, 23, tzinfo=TZ)


def test_date_state():
    today = date(2026, 11, 16)
    assert r.date_state(date(2026, 11, 13), today) == r.State("overdue_days", 3)
    assert r.date_state(today, today) == r.State("today")
    assert r.date_state(date(2026, 11, 20), today) == r.State("in_days", 4)
    assert r.date_state(date(2026, 11, 13), today).overdue
    assert not r.date_state(today, today).overdue


def _weekdays(a: date, b: date) -> int:  # a stand-in calendar: Monday to Friday
    from datetime import timedelta

    n, d = 0, a
    while d < b:
        d += timedelta(days=1)
        n += d.weekday() < 5
    return n


def test_deadline_state_left_and_late():
    assert r.deadline_state(datetime(2026, 11, 16, 12, 30, tzinfo=TZ), NOW) == r.State("hours_left", 4)
    assert r.deadline_state(datetime(2026, 11, 19, 9, 0, tzinfo=TZ), NOW) == r.State("days_left", 3)
    # late by hours only
    assert r.deadline_state(datetime(2026, 11, 16, 7, 0, tzinfo=TZ), NOW, _weekdays) == r.State("overdue_hours", 2)
    # due Friday: Monday is one working day later (the weekend does not count)
    late = r.deadline_state(datetime(2026, 11, 13, 10, 0, tzinfo=TZ), NOW, _weekdays)
    assert late == r.State("overdue_working_days", 1) and late.overdue
    # without a calendar: clock hours
    assert r.deadline_state(datetime(2026, 11, 13, 10, 0, tzinfo=TZ), NOW) == r.State("overdue_hours", 71)


def test_order_grouped_by_kind_soonest_first():
    items = [
        {"kind": "document", "due": date(2026, 11, 18), "customer": "C2"},
        {"kind": "complaint", "due": datetime(2026, 11, 16, 15, 0, tzinfo=TZ), "customer": "C1"},
        {"kind": "activity", "due": date(2026, 11, 20), "customer": "C1"},
        {"kind": "activity", "due": date(2026, 11, 10), "customer": "C3"},
        {"kind": "complaint", "due": datetime(2026, 11, 12, 15, 0, tzinfo=TZ), "customer": "C9"},
    ]
    out = r.sort_items(items, TZ)
    assert [(i["kind"], i["customer"]) for i in out] == [
        ("activity", "C3"), ("activity", "C1"), ("complaint", "C9"), ("complaint", "C1"), ("document", "C2")]


def test_item_keys_stable():
    assert r.ITEM_KEYS == ("kind", "due", "customer", "name", "owner", "what", "state", "overdue", "command")
