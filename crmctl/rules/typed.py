"""Reading what people type: full-width forms folded to plain ones, and numbers as a Chinese clerk
writes them (``1200``, ``1,200.5``, ``1.2万``, ``１２００．５``).

The one place where a typed number becomes a :class:`~decimal.Decimal`: quantities
(:func:`crmctl.rules.grading.parse_quantity`), money (:func:`crmctl.rules.sla.parse_money`) and the
number fields of the customer file read it from here.  What is ambiguous is refused, never guessed:
``1,20`` and ``1,2`` (a decimal comma, or a mistyped thousands group?), ``1 200``, Chinese numerals.

Pure: the standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from .errors import Invalid, Msg

#: What a quantity may look like, for the refusals' "write e.g. ...".
NUMBER_EXAMPLES = Msg("1200, 1,200.5 or 1.2万")
#: Chinese units of ten thousand and a hundred million after a number (``1.2万`` = 12000).
MULTIPLIERS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}

_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(
    r"(?P<sign>[+-]?)"
    r"(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+)"
    r"(?P<exp>[eE][+-]?\d+)?"
    r" ?(?P<unit>[万亿])?", re.ASCII)
_BAD_COMMA = re.compile(r"[+-]?[0-9,]*[0-9],[0-9]+(?:\.[0-9]+)? ?[万亿]?")
_NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def fold(text: str) -> str:
    """``text`` as typed, with full-width digits, letters and punctuation made plain (NFKC:
    ``２０２６／１１／３０`` -> ``2026/11/30``, ``：`` -> ``:``, the ideographic space -> a space), the
    minus sign U+2212 made ``-``, the ends trimmed and every run of white space one space."""
    s = text if text.isascii() else unicodedata.normalize("NFKC", text).replace("\u2212", "-")
    s = s.strip()
    return _SPACES.sub(" ", s) if "  " in s or "\t" in s or "\n" in s else s


def read_number(text: str, what: str = Msg("number")) -> Decimal:
    """A number as typed, exactly: digits with an optional sign and decimal point, thousands
    separated by commas in groups of three (``1,200.5``), scientific notation (``1e3``, as before),
    ``万`` / ``亿`` after it (``1.2万`` = 12000), full-width forms too.  The sign is the caller's to
    judge.  Invalid naming ``what`` otherwise (``not a finite number`` for NaN and infinities)."""
    raw = "" if text is None else str(text)
    s = fold(raw)
    if not s:
        raise Invalid(Msg("{what} is empty", what=what))
    if s.lower() in _NOT_FINITE:
        raise Invalid(Msg("{what} '{raw}' is not a finite number", what=what, raw=raw))
    m = _NUMBER.fullmatch(s)
    if m is None or m["exp"] and ("," in m["digits"] or m["unit"]):
        if _BAD_COMMA.fullmatch(s):
            raise Invalid(Msg("{what} '{raw}' is not a number: a comma separates thousands in groups of three (1,200.5); write decimals with a point (1.25)", what=what, raw=raw))
        raise Invalid(Msg("{what} '{raw}' is not a number (write e.g. {examples})", what=what, raw=raw, examples=NUMBER_EXAMPLES))
    try:
        value = Decimal(m["digits"].replace(",", "") + (m["exp"] or ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        raise Invalid(Msg("{what} '{raw}' is not a number (write e.g. {examples})", what=what, raw=raw, examples=NUMBER_EXAMPLES)) from None
    if m["unit"]:
        value *= MULTIPLIERS[m["unit"]]
    return value.copy_negate() if m["sign"] == "-" else value


__all__ = ["MULTIPLIERS", "NUMBER_EXAMPLES", "fold", "read_number"]
