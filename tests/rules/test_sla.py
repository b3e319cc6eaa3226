"""Service-desk rules (crmctl.rules.sla), pinned on real dates of the 2026 State Council calendar:
National Day 1-7 October (make-up days Sun 20 September, Sat 10 October), Spring Festival 15-23
February (make-up days Sat 14 and Sat 28 February), New Year 2027 (not yet in the library: the
policies' own extra_holidays stand in)."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import pytest

from crmctl.policies import load_policy
from crmctl.rules import sla
from crmctl.rules.calendar import CompanyCalendar, calendar_from_policy

SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@lru_cache(maxsize=None)
def policy(name: str):
    return load_policy(name)[0]


def cal(name: str) -> CompanyCalendar:
    pol = policy(name)
    return calendar_from_policy(pol.calendar, pol.policy.timezone)


CLOCK = sla.round_the_clock_calendar("Asia/Shanghai")


def complaint_due(name: str, opened: datetime, severity: str = "general", **customer) -> datetime:
    pol = policy(name)
    choice = sla.complaint_sla(pol.complaints, severity, **customer)
    return sla.due_at(cal(name), opened, choice.due)


# --------------------------------------------------------------------------- complaint SLA


def test_petrochem_general_across_national_day():
    # contract example: Wed 30 Sep 15:00 + 1 working day -> Thu 8 Oct 15:00
    assert complaint_due("petrochem", at(2026, 9, 30, 15)) == at(2026, 10, 8, 15)


def test_petrochem_major_three_working_days_uses_make_up_saturday():
    # Thu 8, Fri 9, Sat 10 (make-up working day)
    assert complaint_due("petrochem", at(2026, 9, 30, 15), "major") == at(2026, 10, 10, 15)


def test_petrochem_major_before_make_up_sunday_20_september():
    # Fri 18 Sep 10:00 + 3: Sun 20 (make-up), Mon 21, Tue 22
    assert complaint_due("petrochem", at(2026, 9, 18, 10), "major") == at(2026, 9, 22, 10)


def test_spring_festival_2026():
    # Fri 13 Feb 11:00 + 1: Sat 14 Feb is a make-up working day
    assert complaint_due("petrochem", at(2026, 2, 13, 11)) == at(2026, 2, 14, 11)
    # Sat 14 Feb 16:00 (make-up working day) + 1: 15-23 Feb off -> Tue 24 Feb 16:00
    assert complaint_due("petrochem", at(2026, 2, 14, 16)) == at(2026, 2, 24, 16)
    # opened during the holiday: the clock starts Tue 24 Feb 08:30
    assert complaint_due("petrochem", at(2026, 2, 18, 20), "major") == at(2026, 2, 27, 8, 30)


def test_weekend_start_moves_to_next_working_day_morning():
    # Sat 21 Nov 2026 22:00 -> clock starts Mon 23 Nov 08:30 -> due Tue 24 Nov 08:30
    assert complaint_due("petrochem", at(2026, 11, 21, 22)) == at(2026, 11, 24, 8, 30)


def test_new_year_2027_policy_holiday_in_an_uncovered_year():
    # Thu 31 Dec 2026 15:00 + 1: Fri 1 Jan 2027 (policy's extra holiday), weekend -> Mon 4 Jan
    assert complaint_due("petrochem", at(2026, 12, 31, 15)) == at(2027, 1, 4, 15)


def test_uncovered_year_without_policy_holidays_falls_back_to_weekends():
    bare = CompanyCalendar()  # no extra holidays
    # 1 Oct 2028 is a Sunday; Mon 2 Oct 2028 would be National Day but no data: a working day
    assert sla.due_at(bare, at(2028, 9, 29, 15), "1 working day") == at(2028, 10, 2, 15)


def test_gas_tiered_level1_24h_others_48h():
    opened = at(2026, 9, 30, 15)
    assert complaint_due("gas-tiered", opened, grades={"big": "level1"}) == at(2026, 10, 1, 15)
    assert complaint_due("gas-tiered", opened, grades={"big": "level2"}) == at(2026, 10, 2, 15)
    assert complaint_due("gas-tiered", opened, grades={}) == at(2026, 10, 2, 15)


def test_first_matching_rule_wins_and_describes_itself():
    pol = policy("petrochem").complaints
    assert sla.complaint_sla(pol, "major").index == 0
    choice = sla.complaint_sla(pol, "general")
    assert (choice.index, choice.due) == (1, "1 working day")
    assert "default" in choice.describe()
    with pytest.raises(ValueError, match="no SLA rule"):
        sla.complaint_sla({"sla": [{"severity": "major", "due": "1 h"}]}, "general")


# --------------------------------------------------------------------------- extension


def test_extension_to_seven_working_days_is_the_cap():
    c = cal("petrochem")
    opened = at(2026, 9, 30, 15)
    due = complaint_due("petrochem", opened)  # Thu 8 Oct
    # 8 Oct + 6 working days: 9, 10 (make-up), 12, 13, 14, 15
    assert sla.extend_deadline(c, opened, due, 6, "7 working days") == at(2026, 10, 15, 15)
    with pytest.raises(ValueError, match="past the cap of 7 working days"):
        sla.extend_deadline(c, opened, due, 7, "7 working days")
    major = complaint_due("petrochem", opened, "major")  # Sat 10 Oct
    assert sla.extend_deadline(c, opened, major, 4, "7 working days") == at(2026, 10, 15, 15)
    with pytest.raises(ValueError, match="past the cap"):
        sla.extend_deadline(c, opened, major, 5, "7 working days")
    assert sla.extension_cap(c, opened, "7 working days") == at(2026, 10, 15, 15)


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"])
def test_extension_needs_a_whole_positive_number(n):
    with pytest.raises(ValueError, match="--working-days"):
        sla.extend_deadline(cal("petrochem"), at(2026, 11, 2, 9), at(2026, 11, 3, 9), n, "7 working days")


def test_no_extension_without_the_policy():
    with pytest.raises(ValueError, match="allows no extension"):
        sla.extend_deadline(cal("petrochem"), at(2026, 11, 2, 9), at(2026, 11, 3, 9), 1, None)


@pytest.mark.parametrize("severity,latest,lacks", [
    ("general", None, "submit"),        # petrochem 12(二): none submitted yet
    ("general", "pending", "decide"),   # waits for the leader
    ("general", "refused", "resubmit"),
    ("general", "granted", None),       # approved: it may close
    ("major", None, None),              # not a listed severity (the gm meeting decides it)
])
def test_handling_opinion_before_the_close(severity, latest, lacks):
    approval = load_policy("petrochem")[0].complaints.opinion_approval
    assert sla.opinion_to_close(approval, severity, latest) == lacks


def test_handling_opinion_without_the_policy_or_for_every_severity():
    assert sla.opinion_to_close(None, "general", None) is None
    assert sla.opinion_to_close({"severities": [], "approver_role": "x"}, "anything", None) == "submit"


# --------------------------------------------------------------------------- overdue


def test_overdue_against_deadline_in_force():
    due = at(2026, 10, 8, 15)
    assert not sla.is_overdue(due, None, at(2026, 10, 8, 15))
    assert sla.is_overdue(due, None, at(2026, 10, 8, 15, 1))
    assert not sla.is_overdue(due, at(2026, 10, 8, 14), at(2026, 11, 1))
    assert sla.is_overdue(due, at(2026, 10, 9, 9), at(2026, 10, 9, 10))
    assert not sla.is_overdue(None, None, at(2030, 1, 1))


def test_event_order():
    sla.check_event_time(at(2026, 10, 8), at(2026, 10, 8), "close", "opening")
    with pytest.raises(ValueError, match="before"):
        sla.check_event_time(at(2026, 10, 7), at(2026, 10, 8), "close", "opening")


# --------------------------------------------------------------------------- service clocks


def ticket_deadlines(name: str, kind: str, opened: datetime, **ticket) -> dict[str, datetime]:
    pol = policy(name)
    choices = sla.service_clocks(pol.service, kind, **ticket)
    return sla.clock_deadlines(choices, opened, cal(name), CLOCK)


def test_gas_service_repair_runs_24x7_across_national_day():
    d = ticket_deadlines("gas-service", "repair", at(2026, 9, 30, 20))
    assert d == {"respond": at(2026, 10, 1, 2), "resolve": at(2026, 10, 1, 20)}
    choices = sla.service_clocks(policy("gas-service").service, "repair")
    assert {c.calendar for c in choices.values()} == {"24x7"}


def test_gas_service_inquiry_has_no_clock():
    assert sla.service_clocks(policy("gas-service").service, "inquiry") == {}


def test_manufacturer_urban_repair_six_working_hours_over_weekend_and_lunch():
    # Fri 20 Nov 16:00-17:30 (1.5 h), Mon 23 Nov 08:30-12:00 (3.5 h), lunch 12:00-13:30 skipped, 13:30-14:30
    d = ticket_deadlines("manufacturer", "repair", at(2026, 11, 20, 16), location="urban", service_type="A")
    assert d == {"arrive": at(2026, 11, 23, 14, 30)}


def test_manufacturer_suburban_seven_working_hours_lunch_break():
    # Mon 23 Nov 11:00: 11:00-12:00 (1), 13:30-17:30 (4), Tue 08:30-10:30 (2)
    d = ticket_deadlines("manufacturer", "repair", at(2026, 11, 23, 11), location="suburban")
    assert d == {"arrive": at(2026, 11, 24, 10, 30)}


def test_manufacturer_repair_across_national_day():
    # Wed 30 Sep 15:00: 15:00-17:30 (2.5), then Thu 8 Oct 08:30-12:00 (3.5) -> 12:00 exactly
    d = ticket_deadlines("manufacturer", "repair", at(2026, 9, 30, 15), location="urban")
    assert d == {"arrive": at(2026, 10, 8, 12)}


def test_gas_tiered_level1_repair_clock_only_for_level1():
    pol = policy("gas-tiered").service
    assert sla.service_clocks(pol, "repair", grades={"big": "level2"}) == {}
    assert sla.service_clocks(pol, "repair", grades={"big": "level1"})["resolve"].due == "4 h"
    # installation: residential 10 working days, others 30
    res = sla.service_clocks(pol, "installation", segments={"sector": "residential"})
    assert res["resolve"].due == "10 working days" and res["resolve"].calendar == "working"
    assert sla.service_clocks(pol, "installation", segments={"sector": "industrial"})["resolve"].due == "30 working days"


def test_clock_rule_with_service_type_condition():
    service = {"clocks": [
        {"kind": "repair", "clock": "arrive", "when": {"service_type": ["B"]}, "due": "2 h"},
        {"kind": "repair", "clock": "arrive", "due": "8 working hours"},
    ]}
    assert sla.service_clocks(service, "repair", service_type="B")["arrive"].calendar == "24x7"
    other = sla.service_clocks(service, "repair", service_type="A")["arrive"]
    assert (other.due, other.calendar) == ("8 working hours", "working")


def test_missed_clocks():
    deadlines = {"respond": at(2026, 10, 1, 2), "resolve": at(2026, 10, 1, 20)}
    events = {"dispatched_at": at(2026, 10, 1, 1), "resolved_at": None}
    assert sla.missed_clocks(deadlines, events, at(2026, 10, 1, 19)) == []
    assert sla.missed_clocks(deadlines, events, at(2026, 10, 1, 21)) == ["resolve"]
    events = {"dispatched_at": at(2026, 10, 1, 3), "resolved_at": at(2026, 10, 1, 10)}
    assert sla.missed_clocks(deadlines, events, at(2026, 10, 2)) == ["respond"]


# --------------------------------------------------------------------------- proposals


def test_proposal_due_one_calendar_month():
    c = cal("manufacturer")
    due = policy("manufacturer").proposals.due
    assert sla.due_at(c, at(2026, 1, 31, 10), due) == at(2026, 2, 28, 10)
    # holidays do not matter for calendar months
    assert sla.due_at(c, at(2026, 9, 1, 9), due) == at(2026, 10, 1, 9)


def test_benefit_share_40_60_for_a_year():
    share = sla.benefit_share(policy("manufacturer").proposals.benefit, date(2026, 3, 1), Decimal("120000.00"))
    assert (share.company_pct, share.customer_pct, share.months) == (40, 60, 12)
    assert share.until == date(2027, 3, 1)
    assert (share.company_amount, share.customer_amount) == (Decimal("48000.00"), Decimal("72000.00"))
    assert sla.benefit_share(None, date(2026, 3, 1), None) is None


@pytest.mark.parametrize("text,value", [("120000", Decimal("120000.00")), ("12,500.5", Decimal("12500.50")),
                                        ("0", Decimal("0.00")), (Decimal("3.10"), Decimal("3.10"))])
def test_money(text, value):
    assert sla.parse_money(text) == value


@pytest.mark.parametrize("text", ["-1", "NaN", "nan", "inf", "1e309", "abc", "", "1.005", math.nan, "1e20",
                                  "100000000000000"])
def test_money_refused(text):
    with pytest.raises(ValueError, match="--saving"):
        sla.parse_money(text)


# --------------------------------------------------------------------------- numbers, codes, ratings


def test_numbers_per_year_from_the_pattern():
    assert sla.format_number("TS-{year}-{seq:04d}", 2026, 1) == "TS-2026-0001"
    assert sla.format_number("FW-{year}-{seq:05d}", 2026, 12) == "FW-2026-00012"
    assert sla.number_counter("complaint", "TS-{year}-{seq:04d}", 2026) == "complaint:2026"
    assert sla.number_counter("complaint", "TS{seq:06d}", 2026) == "complaint"


def test_pick_code_by_code_or_label():
    sev = policy("petrochem").complaints.severities
    assert sla.pick_code(sev, "major", "severity", "--severity") == "major"
    assert sla.pick_code(sev, "较大事件投诉", "severity", "--severity") == "major"
    with pytest.raises(ValueError, match="--severity: unknown severity 'urgent'"):
        sla.pick_code(sev, "urgent", "severity", "--severity")


def test_rating_four_items_four_levels():
    svc = policy("manufacturer").service
    got = sla.parse_rating({"attitude": "4", "skill": "3", "到达时间": "非常满意", "promise": "1"},
                           svc.rating_items, svc.rating_levels)
    assert got == {"attitude": 4, "skill": 3, "arrival": 4, "promise": 1}


@pytest.mark.parametrize("values,match", [
    ({"attitude": "5", "skill": "3", "arrival": "4", "promise": "1"}, "attitude=5: not a level"),
    ({"attitude": "0", "skill": "3", "arrival": "4", "promise": "1"}, "not a level"),
    ({"attitude": "4", "skill": "3", "arrival": "4"}, "lacks promise"),
    ({"attitude": "4", "skill": "3", "arrival": "4", "promise": "1", "price": "2"}, "unknown rating item 'price'"),
    ({"attitude": "x", "skill": "3", "arrival": "4", "promise": "1"}, "not a level"),
])
def test_rating_refused(values, match):
    svc = policy("manufacturer").service
    with pytest.raises(ValueError, match=match):
        sla.parse_rating(values, svc.rating_items, svc.rating_levels)


def test_satisfaction_rate_against_target():
    assert sla.satisfaction_pct(19, 20) == 95.0
    assert sla.meets_target(95.0, 95) is True
    assert sla.meets_target(sla.satisfaction_pct(18, 20), 95) is False
    assert sla.satisfaction_pct(0, 0) is None and sla.meets_target(None, 95) is None
