"""Company names compared as people read them: the key under which two spellings of one company's
name are the same name (issue 16: ``customer add`` / ``customer import`` warn on, or refuse, a
second customer of the same name).

:func:`name_key` folds, in this order:

1. **Unicode width and compatibility forms** (NFKC): full-width letters, digits and brackets become
   half-width (``ＡＢＣ１２３（集团）`` -> ``ABC123(集团)``), the ideographic space U+3000 a space,
   circled and other compatibility characters their plain form (``㈱`` -> ``(株)``).
2. **Spaces**: every whitespace character is removed (``河北 华塑`` = ``河北华塑``), as are the
   invisible ones people paste (zero-width space U+200B, zero-width (non-)joiner U+200C/U+200D,
   word joiner U+2060, the BOM U+FEFF).
3. **Case**: case-folded (``ABC Ltd`` = ``abc ltd``; ``ß`` = ``ss``).
4. **Forms of a limited company**: ``有限公司``, ``有限责任公司`` and ``股份有限公司`` (and the
   traditional ``有限責任公司``) are one form, wherever they stand in the name
   (``华塑化工股份有限公司`` = ``华塑化工有限责任公司`` = ``华塑化工有限公司``, and
   ``华塑股份有限公司北京分公司`` = ``华塑有限公司北京分公司``).

Nothing else is folded: simplified and traditional characters stay different (``华`` is not
``華``), punctuation other than what NFKC maps stays, ``集团有限公司`` is not ``有限公司``, and
``股份公司`` without ``有限`` is left alone.

Pure: no database, no policy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from .errors import Msg

#: the invisible characters removed with the spaces (NFKC keeps them; ``str.isspace`` does not see them)
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_SPACES = re.compile(r"[\s" + INVISIBLE + r"]+")
#: the three forms of a limited company, after case-folding (which leaves CJK unchanged)
_LIMITED = re.compile(r"(?:股份)?有限(?:责任|責任)?公司")
LIMITED_FORM = "有限公司"
#: what :func:`name_key` sets aside, for messages
FOLDED = Msg("width, spaces, case and the 有限公司/有限责任公司/股份有限公司 forms")


def name_key(name: str) -> str:
    """The key of a customer name: equal keys are the same name (see the module's text)."""
    text = unicodedata.normalize("NFKC", name or "")
    text = _SPACES.sub("", text).casefold()
    return _LIMITED.sub(LIMITED_FORM, text)


def repeated_keys(keyed: Iterable[tuple[int, str]]) -> dict[str, list[int]]:
    """Of ``(row, key)`` pairs, the keys given by more than one row, each with its rows in the order
    given (the first row first): the duplicates inside one import file."""
    rows: dict[str, list[int]] = {}
    for row, key in keyed:
        rows.setdefault(key, []).append(row)
    return {key: found for key, found in rows.items() if len(found) > 1}


def describe_rows(rows: list[int], *, most: int = 5) -> str:
    """``rows 2, 5 and 9`` (at most ``most`` named, then how many more)."""
    shown: list[str] = [str(r) for r in rows[:most]]
    if len(rows) > most:
        shown.append(Msg("{n} more", n=len(rows) - most))
    if len(shown) == 1:
        return Msg("row {row}", row=shown[0])
    return Msg("rows {rows} and {last}", rows=", ".join(shown[:-1]), last=shown[-1])


def describe_customers(found: Mapping[str, str], *, most: int = 3) -> str:
    """``C000001 (河北华塑化工有限公司)`` for customers ``code -> name`` (at most ``most``, then how many more)."""
    items = list(found.items())
    text = ", ".join(f"{code} ({name})" for code, name in items[:most])
    if len(items) > most:
        return Msg("{customers} and {n} more", customers=text, n=len(items) - most)
    return text
