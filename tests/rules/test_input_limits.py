"""Pure rules at the edges of what crmctl accepts (issue 14): one range for event dates and "now",
bounded durations and policy numbers, nesting depth, LIKE wildcards taken literally, passwords masked.
The limits themselves are in ``crmctl.rules.limits``."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from crmctl.policies import BUILTIN_NAMES, check_policy, parse_policy, read_policy_source
from crmctl.rules import limits
from crmctl.rules.durations import parse_duration
from crmctl.rules.errors import Invalid
from crmctl.rules.text import like_contains, like_pattern, mask_secrets
from crmctl.rules.times import check_event_date, now, parse_date, parse_datetime

try:
    import tomllib  # novermin (tomli below on Python 3.10)
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

TZ = ZoneInfo("Asia/Shanghai")
EARLY, LATE = limits.EARLIEST_DATE, limits.LATEST_DATE


# ---- dates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0001-01-01", "1000-01-01", "1989-12-31", "2101-01-01", "9999-12-31"])
def test_a_date_outside_the_range_is_refused(text):
    with pytest.raises(Invalid, match="1990-01-01 to 2100-12-31"):
        parse_date(text, "--date")
    with pytest.raises(Invalid, match="--at.*1990-01-01 to 2100-12-31"):
        parse_datetime(text, TZ, "--at")


@pytest.mark.parametrize("text", ["0001-01-01T00:00", "9999-12-31T23:59:59", "0001-01-01T00:00+14:00",
                                  "9999-12-31T23:59:59-12:00", "2100-12-31T23:59:59-12:00"])
def test_a_date_time_outside_the_range_is_refused_without_overflow(text):
    with pytest.raises(Invalid, match="1990-01-01 to 2100-12-31"):
        parse_datetime(text, TZ, "--at")


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31T23:59:59", "1000-01-01"])
def test_crmctl_now_outside_the_range_is_refused(text):
    with pytest.raises(Invalid, match="CRMCTL_NOW.*1990-01-01 to 2100-12-31"):
        now(TZ, text)


def test_event_date_checked_against_now_far_back_does_not_overflow():
    with pytest.raises(Invalid):
        check_event_date(datetime(1, 1, 1, tzinfo=TZ), datetime(2026, 11, 22, tzinfo=TZ), back_days=None)
    with pytest.raises(Invalid):
        check_event_date(datetime(2026, 11, 22, tzinfo=TZ), datetime(9999, 12, 31, tzinfo=TZ), back_days=7)


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 30)),
       st.times(), st.sampled_from(["", "Z", "+14:00", "-12:00", "+08:00"]))
def test_every_date_either_in_range_or_one_refusal(d, t, offset):
    """Whatever the date, time and offset: an aware time in the range, or Invalid naming it; never
    OverflowError."""
    text = f"{d.isoformat()}T{t.replace(microsecond=0).isoformat()}{offset}"
    try:
        value = parse_datetime(text, TZ, "--at")
    except Invalid as exc:
        assert "1990-01-01 to 2100-12-31" in exc.message
        assert not EARLY <= d <= LATE or d in (EARLY, LATE) and offset
        return
    assert EARLY <= value.astimezone(TZ).date() <= LATE
    assert EARLY <= d <= LATE
    check_event_date(value, datetime(2026, 11, 22, tzinfo=TZ), back_days=None, future=timedelta(days=50000))


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_plain_dates_at_the_edges(d):
    if EARLY <= d <= LATE:
        assert parse_date(d.isoformat()) == d
    else:
        with pytest.raises(Invalid):
            parse_date(d.isoformat())


# ---- durations ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,limit", [
    ("1000000000000000000000000000000 working days", "250 working days"),
    ("99999999 h", "8784 h"), ("8785 h", "8784 h"), ("251 working days", "250 working days"),
    ("2001 working hours", "2000 working hours"), ("367 days", "366 days"), ("13 months", "12 months"),
    ("2 years", "1 year"), ("9" * 400 + " h", "8784 h"),
])
def test_an_absurd_duration_is_refused_naming_the_limit(text, limit):
    with pytest.raises(Invalid, match=f"at most {limit}"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["1e30 working days", "inf h", "nan h", "1e3 h"])
def test_a_duration_in_scientific_notation_is_refused(text):
    with pytest.raises(Invalid):
        parse_duration(text)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(limits.MAX_DURATION)), st.integers(min_value=1, max_value=10**12))
def test_durations_at_the_edges(unit, amount):
    words = {"hours": "h", "working_hours": "working hours", "days": "days", "working_days": "working days",
             "months": "months", "years": "years"}[unit]
    text = f"{amount} {words}"
    if amount <= limits.MAX_DURATION[unit]:
        assert parse_duration(text).amount == amount
    else:
        with pytest.raises(Invalid, match="at most"):
            parse_duration(text)


def _policy(name: str) -> dict:
    return tomllib.loads(read_policy_source(name)[0])


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_every_builtin_policy_is_within_the_limits(name):
    assert check_policy(read_policy_source(name)[0]) == []


@pytest.mark.parametrize("change,path,limit", [
    (lambda d: d["complaints"]["sla"][0].update(due="1" + "0" * 30 + " working days"), "complaints.sla[0].due",
     "250 working days"),
    (lambda d: d["complaints"]["sla"][0].update(due="99999999 h"), "complaints.sla[0].due", "8784 h"),
    (lambda d: d["complaints"]["extension"].update(max_total="300 working days"), "complaints.extension.max_total",
     "250 working days"),
    (lambda d: d["grading"]["scales"]["polyolefin"]["bands"][-1].update(min=1e300), "grading.scales.polyolefin.bands[3].min",
     "at most 1e+12"),
    (lambda d: d["grading"]["scales"]["polyolefin"]["bands"][1].update(max=float("1e300")),
     "grading.scales.polyolefin.bands[1].max", "at most 1e+12"),
    (lambda d: d["documents"]["business_license"].update(renew_notice_days=10**9),
     "documents.business_license.renew_notice_days", "366"),
    (lambda d: d["grading"]["scales"]["polyolefin"].update(step_limit=10**9), "grading.scales.polyolefin.step_limit",
     "1000"),
    (lambda d: d["activities"]["cadences"][0].update(times=10**9), "activities.cadences[0].times", "1000"),
])
def test_a_policy_number_out_of_bounds_names_its_path_and_limit(change, path, limit):
    data = copy.deepcopy(_policy("petrochem"))
    change(data)
    problems = check_policy(tomli_w.dumps(data))
    assert any(p.startswith(path + ":") and limit in p for p in problems), problems


@pytest.mark.parametrize("change,path", [
    (lambda d: d["grading"]["scales"]["big"]["bands"][0].update(share=1e30), "grading.scales.big.bands[0].share"),
    (lambda d: d["grading"]["scales"]["big"]["factors"]["volume"].update(weight=-50), "grading.scales.big.factors.volume.weight"),
    (lambda d: d["grading"]["scales"]["big"]["factors"]["volume"]["bands"][0].update(max=1e200),
     "grading.scales.big.factors.volume.bands[0].max"),
])
def test_gas_tiered_shares_weights_and_factor_bands_are_bounded(change, path):
    data = copy.deepcopy(_policy("gas-tiered"))
    change(data)
    problems = check_policy(tomli_w.dumps(data))
    assert any(p.startswith(path + ":") for p in problems), problems


def test_a_custom_text_field_length_is_the_policys_within_the_ceiling():
    data = copy.deepcopy(_policy("petrochem"))
    data.setdefault("fields", []).append({"key": "memo", "label": "备注", "type": "text", "max_length": 10**6})
    problems = check_policy(tomli_w.dumps(data))
    assert any(p.startswith(f"fields[{len(data['fields']) - 1}].max_length:") and "2000" in p for p in problems), problems
    data["fields"][-1]["max_length"] = 50
    assert parse_policy(tomli_w.dumps(data)).field("memo").max_length == 50


# ---- nesting -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "a = " + "[" * 10_000 + "]" * 10_000,
    "a = " + "{b = " * 3000 + "1" + "}" * 3000,
    "a = " + "[" * 200 + "]" * 200,
    "[policy]\n" + "x." * 5000 + "y = 1\n",
])
def test_deep_nesting_is_one_located_problem(text):
    problems = check_policy(text)
    assert len(problems) == 1 and "nested" in problems[0] and str(limits.MAX_POLICY_DEPTH) in problems[0], problems


# ---- LIKE --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed,pattern", [
    ("%", "%\\%%"), ("_", "%\\_%"), ("a\\b", "%a\\\\b%"), ("50%_off", "%50\\%\\_off%"), ("甲", "%甲%"),
])
def test_like_contains_takes_wildcards_literally(typed, pattern):
    assert like_contains(typed) == pattern


def test_like_pattern_keeps_only_the_star_as_a_wildcard():
    assert like_pattern("customer.*") == "customer.%"
    assert like_pattern("a%b_c*") == "a\\%b\\_c%"


# ---- secrets -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "'post gres://postgres:S3cretPW@host/db' is not a database URL",
    "postgresql+psycopg://postgres:S3cretPW@127.0.0.1:5432/test",
    "postgres:S3cretPW@host/db",
    "database folder postgres:S3cretPW@host does not exist",
    "host=h user=u password=S3cretPW dbname=d",
    "postgresql://u@h/db?password=S3cretPW&sslmode=require",
    "x://a:b:S3cretPW@h",
])
def test_no_password_survives_masking(text):
    masked = mask_secrets(text)
    assert "S3cretPW" not in masked
    assert "***" in masked


@pytest.mark.parametrize("text", ["no database at /tmp/crm.db", "postgresql+psycopg://postgres@127.0.0.1/test",
                                  "due 2026-11-23 10:00 (1 working day)", "user@example.com"])
def test_masking_leaves_other_text_alone(text):
    assert mask_secrets(text) == text
