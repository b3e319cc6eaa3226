"""The cadence engine (crmctl.rules.cadence): what is due in a month under each built-in policy."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from crmctl.policies import load_policy, parse_policy
from crmctl.rules import cadence
from crmctl.rules.cadence import History, MonthPlanner, holiday_date
from crmctl.rules.calendar import COVERED_YEARS, calendar_from_policy


def planner(policy_name: str, month: str) -> MonthPlanner:
    pol, _ = load_policy(policy_name)
    cal = calendar_from_policy(pol.calendar, pol.policy.timezone)
    return MonthPlanner(pol.activities, month, greeting_holidays=pol.calendar.greeting_holidays,
                        working_day=cal.is_working_day, documents=pol.documents)


def kinds(dues) -> Counter:
    return Counter(d.kind for d in dues)


def hist(last: dict | None = None, done: dict | None = None) -> History:
    return History({k: date.fromisoformat(v) for k, v in (last or {}).items()},
                   {k: [date.fromisoformat(x) for x in v] for k, v in (done or {}).items()})


# -- fuel-retail: revisits by grade, greetings, symposium ------------------------------------------

def test_fuel_retail_top_grades_twice_a_month_one_in_each_half():
    p = planner("fuel-retail", "2026-12")
    for grades in ({"big": "diamond"}, {"big": "gold"}, {"individual": "platinum"}, {"individual": "gold"}):
        dues = p.customer_due(7, grades=grades)
        visits = sorted(d.due_date for d in dues if d.kind == "visit")
        assert len(visits) == 2, grades
        assert date(2026, 12, 1) <= visits[0] <= date(2026, 12, 15) < visits[1] <= date(2026, 12, 31)
        assert all(d.owner == "keeper" and d.customer_id == 7 for d in dues)
        assert {d.key for d in dues} == {"7:visit:2026-12#1", "7:visit:2026-12#2"}
    for grades in ({"big": "silver"}, {"big": "ordinary"}, {"individual": "silver"}, {}):
        assert kinds(p.customer_due(7, grades=grades)) == {"visit": 1}, grades


def test_due_dates_are_spread_working_days_inside_the_slot():
    p = planner("fuel-retail", "2026-12")
    days = {p.customer_due(cid, grades={"big": "diamond"})[0].due_date for cid in range(1, 200)}
    assert len(days) > 5  # spread, not all on one day
    assert all(d.isoweekday() < 6 and d.day <= 15 for d in days)
    # deterministic: the same customer gets the same dates
    assert p.customer_due(42, grades={"big": "gold"}) == p.customer_due(42, grades={"big": "gold"})


def test_done_visit_or_counted_kind_covers_its_half_only():
    p = planner("fuel-retail", "2026-12")
    h = hist(done={"visit": ["2026-12-03"]})
    dues = p.customer_due(1, grades={"big": "diamond"}, history=h)
    assert [d.key for d in dues] == ["1:visit:2026-12#2"]
    # a call counts as a revisit (counts = ["call", "greeting", "symposium"]); an inspection does not
    assert [d.key for d in p.customer_due(1, grades={}, history=hist(done={"call": ["2026-12-20"]}))] == []
    assert len(p.customer_due(1, grades={}, history=hist(done={"inspection": ["2026-12-20"]}))) == 1
    # done last month: no help this month
    assert len(p.customer_due(1, grades={}, history=hist(done={"visit": ["2026-11-30"]}))) == 1


def test_only_active_customers_unless_the_condition_names_statuses():
    p = planner("fuel-retail", "2026-12")
    assert p.customer_due(1, status="suspended") == []
    assert p.customer_due(1, status="prospect") == []
    assert p.statuses == {"active"}


@pytest.mark.parametrize("month, holiday, day", [
    ("2027-02", "spring_festival", date(2027, 2, 6)),
    ("2026-09", "mid_autumn", date(2026, 9, 25)),
    ("2026-10", "national_day", date(2026, 10, 1)),
    ("2027-01", "new_year", date(2027, 1, 1)),
    ("2026-06", "dragon_boat", date(2026, 6, 19)),
    ("2026-04", "qingming", date(2026, 4, 5)),
])
def test_fuel_retail_greetings_on_the_holiday(month, holiday, day):
    p = planner("fuel-retail", month)
    greetings = [d for d in p.customer_due(9) if d.kind == "greeting"]
    assert [(d.key, d.due_date) for d in greetings] == [(f"9:greeting:{holiday}:{day.year}", day)]
    # a greeting already sent in the week before the holiday covers it
    sent = hist(done={"greeting": [(day - timedelta(days=2)).isoformat()]})
    assert not [d for d in p.customer_due(9, history=sent) if d.kind == "greeting"]


def test_greetings_days_before_and_condition():
    pol, _ = load_policy("fuel-retail")
    acts = pol.activities.model_copy(update={"greetings": pol.activities.greetings.model_copy(update={"days_before": 3})})
    p = MonthPlanner(acts, "2026-12", greeting_holidays=pol.calendar.greeting_holidays)
    g = [d for d in p.customer_due(1) if d.kind == "greeting"]
    assert [(d.key, d.due_date) for d in g] == [("1:greeting:new_year:2027", date(2026, 12, 29))]
    # gas-tiered greets non-residential customers only
    p = planner("gas-tiered", "2026-10")
    assert kinds(p.customer_due(1, segments={"sector": "industrial", "supply": "pipeline"}))["greeting"] == 1
    assert kinds(p.customer_due(1, segments={"sector": "residential", "class": "general"}))["greeting"] == 0


def test_fuel_retail_company_symposium_once_a_year():
    p = planner("fuel-retail", "2026-12")
    (sym,) = p.company_due()
    assert (sym.kind, sym.key, sym.owner, sym.customer_id) == ("symposium", "company:symposium:2026",
                                                                "branch_retail_dept", None)
    assert sym.due_date == date(2026, 12, 31)
    assert p.company_due(hist(done={"symposium": ["2026-05-20"]})) == []
    assert planner("fuel-retail", "2027-03").company_due(hist(done={"symposium": ["2026-05-20"]}))[0].key == \
        "company:symposium:2027"


# -- gas-tiered: big customers by level, residential inspections ----------------------------------

BIG = {"supply": "pipeline", "sector": "industrial"}


def test_gas_tiered_level1_rhythm():
    p = planner("gas-tiered", "2026-11")
    dues = p.customer_due(5, segments=BIG, grades={"big": "level1"})
    assert kinds(dues) == {"info": 4, "contact": 1, "visit": 1, "inspection": 1, "evaluation": 1}
    weeks = sorted(d.key for d in dues if d.kind == "info")
    assert weeks == ["5:info:2026-W45", "5:info:2026-W46", "5:info:2026-W47", "5:info:2026-W48"]
    # weekly: each due date inside its ISO week and inside the month
    for d in dues:
        if d.kind == "info":
            assert d.due_date.isocalendar()[1] == int(d.key[-2:]) and d.due_date.month == 11


def test_gas_tiered_level1_with_history():
    p = planner("gas-tiered", "2026-11")
    h = hist(last={"visit": "2026-10-10", "evaluation": "2026-03-01", "contact": "2026-11-02"},
             done={"info": ["2026-11-03", "2026-11-16"], "contact": ["2026-11-02"]})
    dues = p.customer_due(5, segments=BIG, grades={"big": "level1"}, history=h)
    # quarterly visit done 10 October: next due 10 January; evaluation done in March: next March
    assert kinds(dues) == {"info": 2, "inspection": 1}
    assert sorted(d.key for d in dues if d.kind == "info") == ["5:info:2026-W46", "5:info:2026-W48"]
    jan = planner("gas-tiered", "2027-01").customer_due(5, segments=BIG, grades={"big": "level1"}, history=h)
    (visit,) = [d for d in jan if d.kind == "visit"]
    assert visit.due_date == date(2027, 1, 11)  # 10 January 2027 is a Sunday: the next working day


def test_gas_tiered_week_slot_covered_by_a_done_info_in_the_same_iso_week_last_month():
    p = planner("gas-tiered", "2026-10")  # 1 October 2026 is a Thursday: week 40 belongs to October
    h = hist(done={"info": ["2026-09-28"]})  # Monday of ISO week 40
    dues = [d.key for d in p.customer_due(5, segments=BIG, grades={"big": "level1"}, history=h) if d.kind == "info"]
    assert "5:info:2026-W40" not in dues and "5:info:2026-W41" in dues


def test_gas_tiered_levels_2_and_3():
    p = planner("gas-tiered", "2026-11")
    assert kinds(p.customer_due(5, segments=BIG, grades={"big": "level2"})) == {
        "info": 1, "contact": 1, "visit": 1, "inspection": 1, "evaluation": 1}
    # level 2 inspection quarterly; contact quarterly; visit half-yearly
    h = hist(last={"inspection": "2026-09-01", "contact": "2026-09-01", "visit": "2026-06-15", "evaluation": "2026-01-05"})
    assert kinds(p.customer_due(5, segments=BIG, grades={"big": "level2"}, history=h)) == {"info": 1}
    dec = planner("gas-tiered", "2026-12").customer_due(5, segments=BIG, grades={"big": "level2"}, history=h)
    assert kinds(dec) == {"info": 1, "inspection": 1, "contact": 1, "visit": 1}
    # level 3: half-year contact, yearly visit; non-residential inspection yearly (policy choice)
    h3 = hist(last={"contact": "2026-06-01", "visit": "2026-01-20", "inspection": "2026-02-01", "evaluation": "2026-02-01"})
    l3 = planner("gas-tiered", "2026-11").customer_due(5, segments=BIG, grades={"big": "level3"}, history=h3)
    assert kinds(l3) == {"info": 1}
    l3 = planner("gas-tiered", "2026-12").customer_due(5, segments=BIG, grades={"big": "level3"}, history=h3)
    assert kinds(l3) == {"info": 1, "contact": 1}


def test_gas_residential_inspections():
    p = planner("gas-tiered", "2026-11")
    general = {"supply": "pipeline", "sector": "residential", "class": "general"}
    risk = {**general, "class": "risk"}
    # general residential: every two years
    h = hist(last={"inspection": "2025-06-10"})
    assert p.customer_due(3, segments=general, history=h) == []
    (due,) = planner("gas-tiered", "2027-06").customer_due(3, segments=general, history=h)
    assert due.kind == "inspection" and due.due_date == date(2027, 6, 10)
    assert kinds(p.customer_due(3, segments=general)) == {"inspection": 1}  # never inspected
    # risk customers monthly, even when inspected last month
    assert kinds(p.customer_due(3, segments=risk, history=hist(last={"inspection": "2026-10-30"},
                                                               done={"inspection": ["2026-10-30"]}))) == {"inspection": 1}
    # rural residential: twice a year = every six months
    rural = p.customer_due(3, segments=general, fields={"rural": True}, history=hist(last={"inspection": "2026-06-01"}))
    assert kinds(rural) == {}
    assert len(planner("gas-tiered", "2026-12").customer_due(
        3, segments=general, fields={"rural": True}, history=hist(last={"inspection": "2026-06-01"}))) == 1


def test_gas_service_non_residential_yearly_residential_every_two_years():
    p = planner("gas-service", "2026-11")
    assert kinds(p.customer_due(1, segments={"sector": "commercial"})) == {"inspection": 1}
    done = hist(last={"inspection": "2025-12-01"})
    assert p.customer_due(1, segments={"sector": "industrial"}, history=done) == []
    assert len(planner("gas-service", "2026-12").customer_due(1, segments={"sector": "heating"}, history=done)) == 1
    assert p.customer_due(1, segments={"sector": "residential"}, history=done) == []
    assert planner("gas-service", "2027-12").customer_due(1, segments={"sector": "residential"}, history=done)
    company = planner("gas-service", "2026-11").company_due()
    assert sorted((d.kind, d.owner) for d in company) == [("evaluation", "dispatch"), ("survey", "service_center")]


# -- petrochem: a yearly visit per customer, a yearly symposium and survey -------------------------

def test_petrochem_yearly_visit_and_company_duties():
    p = planner("petrochem", "2026-11")
    (visit,) = p.customer_due(11)
    assert (visit.kind, visit.key, visit.owner) == ("visit", "11:visit:2026-11", "keeper")
    assert visit.note and "走访" in visit.note
    assert p.customer_due(11, history=hist(last={"visit": "2026-03-10"})) == []
    (mar,) = planner("petrochem", "2027-03").customer_due(11, history=hist(last={"visit": "2026-03-10"}))
    assert mar.due_date == date(2027, 3, 10)
    # overdue: planned again, on a working day of the month
    (late,) = p.customer_due(11, history=hist(last={"visit": "2025-08-01"}))
    assert late.due_date.month == 11 and late.due_date.isoweekday() < 6
    company = sorted((d.kind, d.key, d.owner, d.due_date) for d in p.company_due())
    assert company == [("survey", "company:survey:2026", "sales", date(2026, 12, 31)),
                       ("symposium", "company:symposium:2026", "sales", date(2026, 12, 31))]
    assert [d.kind for d in p.company_due(hist(done={"symposium": ["2026-04-02"]}))] == ["survey"]


def test_company_cadence_twice_a_year_plans_the_current_half_only():
    acts = SimpleNamespace(cadences=[SimpleNamespace(kind="training", when=None, times=2, per="year", every=1,
                                                     scope="company", owner="gm", counts=[], note=None)],
                           greetings=None)
    may = MonthPlanner(acts, "2026-05").company_due()
    assert [(d.key, d.due_date) for d in may] == [("company:training:2026#1", date(2026, 6, 30))]
    nov = MonthPlanner(acts, "2026-11").company_due()
    assert [(d.key, d.due_date) for d in nov] == [("company:training:2026#2", date(2026, 12, 31))]


def test_every_two_years_company_period_is_aligned():
    acts = SimpleNamespace(cadences=[SimpleNamespace(kind="survey", when=None, times=1, per="year", every=2,
                                                     scope="company", owner="gm", counts=[], note=None)],
                           greetings=None)
    (d,) = MonthPlanner(acts, "2027-04").company_due()
    assert d.key == "company:survey:2026-2027" and d.due_date == date(2027, 12, 31)


def test_interval_cadence_shorter_than_a_month_plans_several():
    acts = SimpleNamespace(cadences=[SimpleNamespace(kind="call", when=None, times=1, per="week", every=2,
                                                     scope="customer", owner="keeper", counts=[], note=None)],
                           greetings=None)
    dues = MonthPlanner(acts, "2026-11").customer_due(1, history=hist(last={"call": "2026-10-27"}))
    assert [(d.key, d.due_date) for d in dues] == [("1:call:2026-11", date(2026, 11, 10)),
                                                   ("1:call:2026-11#2", date(2026, 11, 24))]


# -- manufacturer: maintenance-contract expiry notice ----------------------------------------------

def test_manufacturer_maintenance_contract_notice_a_month_before():
    p = planner("manufacturer", "2026-12")
    # 五.19 前一个月: one calendar month, not 30 days
    assert p.notice_expiry_range("maintenance_contract") == (date(2027, 1, 1), date(2027, 1, 31))
    due = p.document_due(4, 99, "maintenance_contract", date(2027, 1, 15))
    assert (due.kind, due.due_date, due.key, due.owner) == ("contact", date(2026, 12, 15), "4:contact:doc99", "keeper")
    assert p.document_due(4, 99, "maintenance_contract", date(2027, 1, 31)).due_date == date(2026, 12, 31)
    june = planner("manufacturer", "2027-06")
    assert june.document_due(4, 99, "maintenance_contract", date(2027, 7, 31)).due_date == date(2027, 6, 30)
    feb = planner("manufacturer", "2027-02")
    lo, hi = feb.notice_expiry_range("maintenance_contract")
    assert (lo, hi) == (date(2027, 3, 1), date(2027, 3, 31))  # 29-31 March fold onto 28 February
    assert feb.document_due(4, 99, "maintenance_contract", date(2027, 3, 31)).due_date == date(2027, 2, 28)
    assert p.document_due(4, 99, "maintenance_contract", date(2027, 3, 15)) is None
    assert p.document_due(4, 99, "supply_contract", date(2027, 1, 15)) is None  # no notice_kind



def test_notice_offsets_are_calendar_time():
    from dateutil.relativedelta import relativedelta

    assert cadence.notice_offset("1 month", None) == relativedelta(months=1)
    assert cadence.notice_offset(None, 30) == relativedelta(days=30)
    assert cadence.notice_offset(None, None) is None
    for bad in ("3 working days", "12 h"):
        with pytest.raises(ValueError, match="days, months or years"):
            cadence.notice_offset(bad, None)


# -- holiday dates ---------------------------------------------------------------------------------

def test_holiday_dates_fixed_and_lunar():
    assert holiday_date("spring_festival", 2026) == date(2026, 2, 17)
    assert holiday_date("lantern", 2026) == date(2026, 3, 3)
    assert holiday_date("mid_autumn", 2027) == date(2027, 9, 15)
    assert holiday_date("dragon_boat", 2030) == date(2030, 6, 5)
    assert holiday_date("qingming", 2027) == date(2027, 4, 5)
    assert holiday_date("national_day", 2031) == date(2031, 10, 1)
    for year in range(2026, 2031):
        assert all(holiday_date(code, year) is not None for code in cadence.LIBRARY_NAMES)
    with pytest.raises(ValueError):
        holiday_date("christmas", 2026)


def test_holiday_table_agrees_with_the_statutory_holidays_of_every_covered_year():
    import chinese_calendar

    if COVERED_YEARS is None:
        pytest.skip("chinesecalendar has no data")
    by_name: dict[tuple[int, str], set[date]] = {}
    for d, name in chinese_calendar.holidays.items():
        by_name.setdefault((d.year, name), set()).add(d)
    checked = 0
    for year in range(max(COVERED_YEARS[0], cadence.TABLE_YEARS[0]), COVERED_YEARS[1] + 1):
        for code, name in cadence.LIBRARY_NAMES.items():
            block = by_name.get((year, name))
            if not block:
                continue  # e.g. no Tomb-sweeping holiday before 2008
            day = holiday_date(code, year)
            # the festival lies in its statutory holiday (spring festival: the holiday may start on the eve)
            assert min(block) - timedelta(days=1) <= day <= max(block), (code, year, day, sorted(block))
            checked += 1
    assert checked > 100


def test_holiday_beyond_the_table_falls_back_to_the_library_or_none(monkeypatch):
    monkeypatch.setattr(cadence, "_MOVABLE", {})
    if COVERED_YEARS and COVERED_YEARS[1] >= 2026:
        assert holiday_date("spring_festival", 2026) == date(2026, 2, 15)  # first day of the statutory holiday
    assert holiday_date("mid_autumn", 2099) is None
    assert holiday_date("lantern", 2026) is None
    p = MonthPlanner(load_policy("fuel-retail")[0].activities, "2099-10", greeting_holidays={"mid_autumn": "中秋节",
                                                                                             "national_day": "国庆节"})
    assert any("mid_autumn" in w and "2099" in w for w in p.warnings)


# -- the engine against a policy written for the test ------------------------------------------------

MINI = """
[policy]
code = "mini"
name = "测试"
company = "测试公司"
volume_unit = "t"
volume_unit_label = "吨"

[roles]
gm = "总经理"

[[segments]]
key = "kind"
label = "类别"
values = { a = "甲", b = "乙" }

[activities]
[[activities.cadences]]
kind = "visit"
when = { segments = { kind = "a" }, status = ["active", "suspended"] }
times = 3
per = "month"

[[activities.cadences]]
kind = "visit"
times = 1
per = "quarter"
"""


def test_cadence_for_each_kind_and_status_condition():
    p = MonthPlanner(parse_policy(MINI).activities, "2026-02")
    a = p.customer_due(1, segments={"kind": "a"})
    assert [d.key for d in a] == ["1:visit:2026-02#1", "1:visit:2026-02#2", "1:visit:2026-02#3"]
    thirds = [d.due_date.day for d in a]
    assert thirds[0] <= 9 < thirds[1] <= 18 < thirds[2] <= 28
    assert len(p.customer_due(1, status="suspended", segments={"kind": "a"})) == 3
    assert p.customer_due(1, status="suspended", segments={"kind": "b"}) == []
    assert [d.key for d in p.customer_due(1, segments={"kind": "b"})] == ["1:visit:2026-02"]
    assert p.statuses == {"active", "suspended"}
    assert p.segment_keys == ("kind",)
    with pytest.raises(ValueError):
        MonthPlanner(parse_policy(MINI).activities, "2026-Q1")


def test_the_strictest_matching_cadence_wins_whatever_the_order():
    text = MINI.replace('when = { segments = { kind = "a" }, status = ["active", "suspended"] }\ntimes = 3\nper = "month"',
                        'when = { segments = { kind = "b" } }\ntimes = 1\nper = "year"')
    acts = parse_policy(text).activities
    assert cadence.cadence_rate(acts.cadences[0]) == pytest.approx(1 / 12)
    # kind b matches the yearly rule (listed first) and the quarterly one: the quarterly applies
    assert acts.cadence_for("visit", segments={"kind": "b"}).per == "quarter"
    p = MonthPlanner(acts, "2026-02")
    assert [d.key for d in p.customer_due(1, segments={"kind": "b"}, history=hist(last={"visit": "2025-11-10"}))] == \
        ["1:visit:2026-02"]  # 3 months after the last visit, not 12


@pytest.mark.parametrize("flags,per", [
    ({"refuses_fixes": True, "risk": True}, "month"),  # special by its flag, and a risk customer
    ({"refuses_fixes": True}, "year"),  # special only: the residential inspection every two years
    ({"risk": True, "rural": True}, "month"),  # rural (twice a year) and risk: monthly wins
])
def test_gas_tiered_risk_customer_keeps_the_monthly_inspection(flags, per):
    """gas-tiered Art. 21(二): a risk customer is inspected monthly whatever other class applies."""
    acts = load_policy("gas-tiered")[0].activities
    segs = {"supply": "pipeline", "sector": "residential", "class": "special" if "refuses_fixes" in flags else "general"}
    assert acts.cadence_for("inspection", segments=segs, fields=flags, status="active").per == per
    p = planner("gas-tiered", "2026-11")
    dues = [d for d in p.customer_due(5, segments=segs, fields=flags,
                                        history=hist(last={"inspection": "2026-10-05"})) if d.kind == "inspection"]
    assert len(dues) == (1 if per == "month" else 0)


def test_bulk_entry_point_agrees_with_customer_due():
    p = planner("gas-tiered", "2026-11")
    assert p.segment_keys and p.field_keys
    cases = [({"sector": "residential", "class": "risk"}, {}, {}),
             ({"sector": "residential", "class": "general"}, {"rural": True}, {}),
             ({"sector": "industrial", "supply": "pipeline"}, {}, {"big": "level1"}),
             ({"sector": "public"}, {}, {"big": "level3"})]
    for segs, flds, grades in cases * 2:  # the second round comes from the memo
        values = tuple(segs.get(k) for k in p.segment_keys) + tuple(flds.get(k) for k in p.field_keys)
        assert p.customer_due_values(8, "active", values, grades) == \
            p.customer_due(8, segments=segs, fields=flds, grades=grades)
