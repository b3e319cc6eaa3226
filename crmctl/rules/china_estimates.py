"""Estimated Chinese public-holiday schedules for years the State Council has not published yet.

The General Office of the State Council publishes next year's holiday schedule (节假日安排) late in
the year; ``chinesecalendar`` ships it some weeks later.  Until then deadlines still have to be
counted, so crmctl carries an estimate built by the rules that decide the official schedule:

* 《全国年节及纪念日放假办法》 as revised in 2024, in force from 2025-01-01: New Year's Day 1 day,
  Spring Festival 4 days (除夕 and 初一 to 初三), Qingming 1, Labour Day 2 (1 and 2 May), Dragon Boat
  1, Mid-Autumn 1, National Day 3 (1 to 3 October); a statutory day that falls on a Saturday or
  Sunday is made up on a working day (补假);
* the practice the General Office stated with the revision: Spring Festival and National Day
  breaks of 8 days (here 7 to 8 days with the make-up days), Labour Day 5 days, the others joined to
  the weekend where they touch it (3 days) and a single day in mid-week; weekend days worked to
  make up the breaks (调休) next to them.

An estimate yields to official data: to the installed ``chinesecalendar`` as soon as it covers the
year, and before that to a schedule loaded with ``crmctl calendar set-year YEAR FILE``.  Every day
computed from an estimate is marked ``estimate`` and every command that used one warns.
"""

from __future__ import annotations

from datetime import date


def _days(first: str, last: str, name: str) -> dict[date, str]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return {date.fromordinal(n): name for n in range(a.toordinal(), b.toordinal() + 1)}


#: year -> (holidays, make-up working days), each date -> its name in Chinese
ESTIMATES: dict[int, tuple[dict[date, str], dict[date, str]]] = {
    2027: (
        {
            **_days("2027-01-01", "2027-01-03", "元旦"),  # Fri 1 Jan + the weekend
            # 除夕 Fri 5 Feb; 4 statutory days (5-8 Feb; 6-7 Feb on the weekend -> made up 9-10 Feb)
            # and 2 days swapped against Sun 31 Jan and Sat 20 Feb: 5-12 Feb, 8 days
            **_days("2027-02-05", "2027-02-12", "春节"),
            **_days("2027-04-03", "2027-04-05", "清明节"),  # 清明 Mon 5 Apr + the weekend
            # 1-2 May (Sat, Sun) made up on 3-4 May, 5 May swapped against Sun 25 Apr: 1-5 May
            **_days("2027-05-01", "2027-05-05", "劳动节"),
            **_days("2027-06-09", "2027-06-09", "端午节"),  # Wed 9 Jun: one day
            **_days("2027-09-15", "2027-09-15", "中秋节"),  # Wed 15 Sep: one day
            # 1-3 Oct (Fri-Sun; 2-3 Oct made up on 4-5 Oct), 6-7 Oct swapped against Sun 26 Sep
            # and Sat 9 Oct: 1-7 Oct
            **_days("2027-10-01", "2027-10-07", "国庆节"),
        },
        {
            date(2027, 1, 31): "春节调休", date(2027, 2, 20): "春节调休",
            date(2027, 4, 25): "劳动节调休",
            date(2027, 9, 26): "国庆节调休", date(2027, 10, 9): "国庆节调休",
        },
    ),
}
