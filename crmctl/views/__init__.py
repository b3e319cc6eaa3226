"""The view layer: how data is shown to a person.

Services return data -- rows keyed by the JSON/CSV keys, and the :class:`crmctl.fields.Field` list of
a listing.  Views say how each is shown: a :class:`Column` per field (heading, alignment, a label
for a code), table titles, sections and charts (:class:`ChartSpec`), mostly from the policy's own
labels.  :mod:`crmctl.output` renders a view as a table, JSON or CSV.  A view module per area:
``customers``, ``reports`` (one per report), ``staff``, ``activities``, ``grading``.  Light on
purpose: nothing here imports the database layer.

**Language.**  A heading that is not the policy's is an English message id marked ``N_("Code")``
(the catalogue holds today's Chinese, 编号); :mod:`crmctl.output` shows every heading and title
through ``_()``, so a table speaks the user's language while the policy's labels stay the policy's.
Fixed value labels (yes/no: :func:`yes_no`; a table of messages: :func:`translated`) are translated
when a cell is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..i18n import _
from ..i18n import _ as translate  # a message id held in a variable (the catalogue's test reads literals)


def text_width(text: str) -> int:
    """Columns ``text`` takes in a spreadsheet cell or a fixed-width line: a wide (CJK) character counts as 2."""
    import unicodedata

    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@dataclass
class Column:
    key: str  # dotted key used for json/csv header and lookup, e.g. "segments.nature"
    # table heading: a message id (``N_("Code")``, shown through ``_()``) or a policy's label; defaults to key
    title: str | None = None
    justify: str = "left"  # table only: left | center | right
    # Used by the table view and ``--labels`` CSV (e.g. grade code -> Chinese label); not called for None.
    table_format: Callable[[Any], str] | None = None
    # Table only: how a number is written (JSON/CSV keep the number): "count" (0 decimals), "qty"
    # (quantities, ``decimals`` or 2), "money" (2), "pct" (1 decimal and %), all with thousands
    # separators (``12,500.50``) and right-aligned; ``decimals`` overrides the kind's.
    number: str | None = None
    decimals: int | None = None
    #: table only: True never breaks a cell over lines (a code), False lets it wrap (a name); None:
    #: the output layer decides (numbers and columns of short cells are kept whole)
    no_wrap: bool | None = None

    def __post_init__(self) -> None:
        if self.title is None:
            self.title = self.key
        if self.number is not None:
            if self.number not in NUMBER_DECIMALS:
                from ..i18n import _

                raise ValueError(_("unknown number kind {kind}: one of {kinds}").format(
                    kind=repr(self.number), kinds=", ".join(NUMBER_DECIMALS)))
            self.justify = "right"


#: decimals of each kind of number in a table (a Column's ``decimals`` overrides)
NUMBER_DECIMALS = {"count": 0, "qty": 2, "money": 2, "pct": 1}


def count(key: str, title: str | None = None) -> Column:
    """A count (customers, tickets): ``1,234``."""
    return Column(key, title, number="count")


def qty(key: str, title: str | None = None, decimals: int | None = None) -> Column:
    """A quantity in the policy's unit (t, m³): ``12,500.50``."""
    return Column(key, title, number="qty", decimals=decimals)


def money(key: str, title: str | None = None) -> Column:
    """An amount of money: ``12,500.50``."""
    return Column(key, title, number="money")


def pct(key: str, title: str | None = None) -> Column:
    """A percentage (the value is already ×100): ``85.3%``."""
    return Column(key, title, number="pct")


@dataclass(frozen=True)
class ChartSpec:
    """A bar chart drawn from the rows: ``pick(row)`` -> (bar label, value) or None (row not drawn); a
    value of None (a rate with nothing to rate) is drawn as an empty bar marked "-"."""

    title: str
    pick: Callable[[Mapping], tuple[str, float | None] | None]
    unit: str = ""
    max_value: float | None = None  # e.g. 100 for a percentage
    #: the value the bars are measured against (satisfaction ≥ 95 %): a line across the xlsx and HTML charts
    target: float | None = None

    @property
    def heading(self) -> str:
        """The title with its unit: ``Customers per grade (customers)``, ``各等级客户数（户）``."""
        return _("{title} ({unit})").format(title=self.title, unit=self.unit) if self.unit else self.title


def labeller(table: Mapping[str, str] | None, empty: str = "") -> Callable[[Any], str]:
    """code -> label through ``table`` (an unknown code shows as itself)."""
    table = dict(table or {})
    return lambda v: table.get(v, str(v)) if v is not None else empty


def yes_no(v) -> str:
    """A boolean cell in the current language: yes/no (是/否); empty for None."""
    return _("yes") if v is True else _("no") if v is False else ""


def translated(table: Mapping[str, str]) -> Callable[[Any], str]:
    """code -> the message of a fixed table (``{"admission": N_("Admission")}``) in the current
    language (an unknown code shows as itself)."""
    return lambda v: translate(table[v]) if v in table else ("" if v is None else str(v))


def columns_for(fields: Iterable, titles: Mapping[str, Column | str]) -> list[Column]:
    """A :class:`Column` per field, in the fields' order: ``titles[key]`` is a heading or a whole
    Column; a key without one shows under its key."""
    out = []
    for f in fields:
        key = getattr(f, "key", f)
        spec = titles.get(key)
        if isinstance(spec, Column):
            out.append(spec)
        else:
            out.append(Column(key, spec))
    return out
