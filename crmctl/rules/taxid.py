"""The unified social credit code (统一社会信用代码, GB 32100-2015).

18 characters from ``0-9`` and ``ABCDEFGHJKLMNPQRTUWXY`` (no I, O, S, V, Z).  The last one is a
check character: ``C18 = 31 - (sum(value(Ci) * Wi) mod 31)`` with the weights below, where a result
of 31 means ``0``.
"""

from __future__ import annotations

from .errors import Invalid, Msg

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def normalise_tax_id(text: str) -> str:
    """Upper-cased, stripped code; ValueError with the reason when it is not a valid code."""
    code = (text or "").strip().upper()
    if len(code) != 18:
        raise Invalid(Msg("tax id '{text}' must have 18 characters, not {n}", text=text, n=len(code)))
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        raise Invalid(Msg("tax id '{text}' contains {characters}: only digits and ABCDEFGHJKLMNPQRTUWXY are used", text=text, characters=', '.join((repr(c) for c in bad))))
    expected = check_character(code[:17])
    if code[17] != expected:
        raise Invalid(Msg("tax id '{text}' fails its check character (expected {expected} at the end)", text=text, expected=expected))
    return code


def make_tax_id(first17: str) -> str:
    """A valid code from 17 characters (used by the demo and tests)."""
    return first17 + check_character(first17)
