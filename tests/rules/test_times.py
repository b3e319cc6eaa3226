"""Pure time rules: stored UTC times shown in a company's zone (the export path's converter)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmctl.rules.times import utc_to_local_iso

ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
         "America/St_Johns", "Pacific/Chatham", "UTC"]


def exact(d: datetime, zone: str) -> str:
    return d.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone)).isoformat()


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(ZONES), st.datetimes(min_value=datetime(1890, 1, 1), max_value=datetime(2100, 12, 31)),
       st.sampled_from(["datetime", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"]),
       st.integers(min_value=0, max_value=59))
def test_same_text_as_astimezone(zone, d, form, later):
    """Whatever the zone (half-hour and 45-minute offsets, DST, history), whole seconds or not, a
    datetime or the database's text with either separator; twice, and another instant of the same
    hour (from the per-hour memo)."""
    if form.endswith("%S"):
        d = d.replace(microsecond=0)
    convert = utc_to_local_iso(ZoneInfo(zone))
    for instant in (d, d, d.replace(minute=later)):
        value = instant if form == "datetime" else instant.strftime(form)
        assert convert(value) == exact(instant, zone)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
def test_every_minute_around_a_change_of_offset(zone):
    """The hours holding a DST change are converted instant by instant; the hours around them use
    the memo.  Every minute of two days around each 2026 change gives the exact text."""
    tz = ZoneInfo(zone)
    convert = utc_to_local_iso(tz)
    start = datetime(2026, 1, 1)
    changes = []
    prev = start.replace(tzinfo=timezone.utc).astimezone(tz).utcoffset()
    for h in range(24 * 366):
        t = start + timedelta(hours=h)
        off = t.replace(tzinfo=timezone.utc).astimezone(tz).utcoffset()
        if off != prev:
            changes.append(t)
        prev = off
    assert changes, f"{zone} changes its offset in 2026"
    for change in changes:
        for m in range(-24 * 60, 24 * 60):
            d = change + timedelta(minutes=m, seconds=7)
            assert convert(d.isoformat(sep=" ")) == exact(d, zone)


def test_shanghai_offset_and_fractions():
    convert = utc_to_local_iso(ZoneInfo("Asia/Shanghai"))
    assert convert("2026-11-22 02:00:00.000000") == "2026-11-22T10:00:00+08:00"
    assert convert("2026-11-22 16:30:00.250000") == "2026-11-23T00:30:00.250000+08:00"
    assert convert(datetime(2026, 11, 22, 2, 0)) == "2026-11-22T10:00:00+08:00"
    assert convert(datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)) == "2026-11-22T10:00:00+08:00"
