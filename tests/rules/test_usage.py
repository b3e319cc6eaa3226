"""Usage records and the customer's status (crmctl.rules.usage): petrochem Art. 15, 17."""

from __future__ import annotations

from datetime import date

import pytest

from crmctl.rules.errors import Refused
from crmctl.rules.usage import check_record_day

SINCE = date(2026, 11, 10)
BOTH = ("suspended", "disqualified")


@pytest.mark.parametrize("status,day,refused", [
    ("suspended", date(2026, 11, 9), False),  # before the suspension: a late entry
    ("suspended", SINCE, True),
    ("disqualified", date(2027, 1, 1), True),
    ("active", date(2027, 1, 1), False),
])
def test_record_day_against_the_status(status, day, refused):
    if refused:
        with pytest.raises(Refused, match="since 2026-11-10") as caught:
            check_record_day("C1", status, SINCE, day, BOTH, "暂停业务往来", "licence expired")
        assert caught.value.field == "date" and "licence expired" in str(caught.value)
    else:
        check_record_day("C1", status, SINCE, day, BOTH)


def test_a_policy_without_no_records_refuses_nothing():
    check_record_day("C1", "disqualified", SINCE, date(2027, 1, 1), ())
    check_record_day("C1", "suspended", None, date(2027, 1, 1), BOTH)  # no date known: nothing to compare
