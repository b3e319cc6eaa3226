"""The limits of what crmctl accepts, in one place: dates, durations, policy numbers, text lengths.

Every parser and the policy schema take their bounds from here, so a refusal always names the same
limit and the README's tables can be checked against one file.  A policy decides its own values
*within* these limits (its durations, thresholds, counts); the length of a custom text field is the
policy's ``fields[].max_length``, itself at most :data:`MAX_FIELD_TEXT`.

Pure: constants and two tiny helpers, no imports beyond the standard library.
"""

from __future__ import annotations

from datetime import date

from .errors import Msg

# ---- dates -----------------------------------------------------------------------------------------

#: Every event date (``--at``, ``--date``, imported dates, ``created_at``), every date option
#: (``--since``, ``--from``, ``--expires``, ``--implement-by``, ``--month``, period labels), the dates
#: of a policy's calendar, and "now" (``CRMCTL_NOW``) lie in this range, both ends included.
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2100, 12, 31)
#: Custom fields of type ``date`` (a founding date, a licence date) may lie further back.
EARLIEST_FIELD_DATE = date(1800, 1, 1)


def date_range_text() -> str:
    return Msg("{earliest} to {latest}", earliest=EARLIEST_DATE.isoformat(), latest=LATEST_DATE.isoformat())


# ---- durations (policy deadlines, `calendar due --in`, `complaint extend --working-days`) -----------

#: unit -> the largest amount a duration may have (about a year of each).
MAX_DURATION = {
    "hours": 8784,  # a leap year of clock hours
    "working_hours": 2000,  # 250 working days of 8 business hours
    "days": 366,
    "working_days": 250,  # a working year
    "months": 12,
    "years": 1,
}

# ---- numbers in a policy ---------------------------------------------------------------------------

#: Volume thresholds of grading bands, measured-factor band limits and quantities (absolute value).
MAX_THRESHOLD = 1e12
#: Counts in a policy: (smallest, largest) by what they count.
MAX_COUNT = 1000  # any other count (cadence times, step limit, minimum contacts ...)
MAX_NOTICE_DAYS = 366  # documents.*.renew_notice_days
MAX_MONTHS = 120  # stability.lost_after_months, proposals.benefit.months
MAX_BACKDATE_DAYS = 3660  # permissions.backdate_days
#: How many days ahead a listing may look (``doc list --expiring-within``, ``report documents --expiring-within``).
MAX_WITHIN_DAYS = 36600
#: How deeply a policy file's arrays and tables may nest (the built-in ones need 8).
MAX_POLICY_DEPTH = 32

# ---- free text -------------------------------------------------------------------------------------

#: characters, after trimming.  Names of people and customers, units, filters on names.
MAX_NAME = 200
#: Short identifiers typed by users: document numbers, receipts, products, tax ids, codes, logins.
MAX_SHORT_TEXT = 100
#: Notes, summaries, resolutions, comments, reasons, visit report fields.
MAX_LONG_TEXT = 2000
#: A custom text field of the customer file: the policy's ``max_length`` (default) and its ceiling.
DEFAULT_FIELD_TEXT = 200
MAX_FIELD_TEXT = 2000

__all__ = [
    "EARLIEST_DATE", "LATEST_DATE", "EARLIEST_FIELD_DATE", "date_range_text", "MAX_DURATION", "MAX_THRESHOLD",
    "MAX_COUNT", "MAX_NOTICE_DAYS", "MAX_MONTHS", "MAX_BACKDATE_DAYS", "MAX_WITHIN_DAYS", "MAX_POLICY_DEPTH", "MAX_NAME",
    "MAX_SHORT_TEXT", "MAX_LONG_TEXT", "DEFAULT_FIELD_TEXT", "MAX_FIELD_TEXT",
]
