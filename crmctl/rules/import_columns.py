"""The header of a customer import file, column by column (issue 16: an export re-imports).

A column is one of

* a column of the contract, by key or by its Chinese heading: ``name`` (名称, 客户名称), ``code``
  (编号, 客户编号), ``tax_id`` (统一社会信用代码, 税号), ``owner`` (负责人), ``status`` (状态),
  ``created_at`` (建档时间);
* a segment or a custom field of the policy, by key, by label, or as the export writes it
  (``segments.KEY`` / ``fields.KEY``, the key or the label after the dot);
* a column the export writes that is derived, not entered: ``id``, ``grades.SCALE`` (a scale's key
  or label, and ``grade``), ``stability`` (稳定性), ``updated_at``, ``restricted``.  These are
  ignored, and the import names them once in its summary, with why;

and anything else is refused, naming the column.  Two columns meaning the same thing are refused
too.  Pure: the policy's tables in, a plan of the columns out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import Invalid, Msg

BASE_COLUMNS = ("name", "code", "tax_id", "owner", "status", "created_at")
#: the Chinese headings of the contract's columns (as ``customer list`` shows them), and common synonyms
BASE_LABELS = {
    "名称": "name", "客户名称": "name", "编号": "code", "客户编号": "code", "统一社会信用代码": "tax_id",
    "税号": "tax_id", "负责人": "owner", "状态": "status", "建档时间": "created_at",
}
GRADES_WHY = Msg("grades are the policy's: the initial grade, then grade runs")
_STABILITY_WHY = Msg("stability follows from the status and the last purchase")
DERIVED = {
    "id": Msg("the database numbers its rows"),
    "grade": GRADES_WHY,
    "stability": _STABILITY_WHY,
    "稳定性": _STABILITY_WHY,
    "updated_at": Msg("set by crmctl on every change"),
    "restricted": Msg("a mark of the export, not of the customer"),
}


@dataclass
class ColumnPlan:
    """What each column of the file is: ``base`` key -> position, ``attributes`` position -> (kind,
    key) with kind ``segment`` or ``field``, and ``ignored`` (heading, why) in the file's order."""

    base: dict[str, int] = field(default_factory=dict)
    attributes: dict[int, tuple[str, str]] = field(default_factory=dict)
    ignored: list[tuple[str, str]] = field(default_factory=list)

    def ignored_text(self) -> str:
        """``grades.polyolefin, stability (grades are ...; stability ...)``, one part per reason."""
        by_why: dict[str, list[str]] = {}
        for heading, why in self.ignored:
            by_why.setdefault(why, []).append(heading)
        text = ""
        for why, h in by_why.items():
            part = Msg("{headings} ({why})", headings=", ".join(h), why=why)
            text = Msg("{first}; {then}", first=text, then=part) if text else part
        return text


def plan_columns(index, policy, header: list[str]) -> ColumnPlan:
    """The plan of ``header`` for ``policy`` (``index``: its ``rules.customers.SegmentIndex``);
    ``Invalid`` naming the first column that is unknown or repeats another."""
    scales = {code: code for code in policy.grading.scales}
    scales.update({s.label: code for code, s in policy.grading.scales.items()})
    plan = ColumnPlan()
    taken: dict[tuple[str, str], str] = {}  # what a column means -> its heading

    def take(meaning: tuple[str, str], heading: str) -> None:
        if meaning in taken:
            raise Invalid(Msg("columns '{first}' and '{heading}' are both {kind} {key}", first=taken[meaning], heading=heading, kind=meaning[0], key=meaning[1]))
        taken[meaning] = heading

    for pos, raw in enumerate(header):
        heading = raw.strip()
        prefix, dot, rest = heading.partition(".")
        if heading in BASE_COLUMNS or heading in BASE_LABELS:
            key = BASE_LABELS.get(heading, heading)
            take(("column", key), heading)
            plan.base[key] = pos
        elif heading in DERIVED:
            plan.ignored.append((heading, DERIVED[heading]))
        elif dot and prefix == "grades" and rest in scales:
            plan.ignored.append((heading, GRADES_WHY))
        elif dot and prefix == "segments" and (key := index.segment_key(rest)) is not None:
            take(("segment", key), heading)
            plan.attributes[pos] = ("segment", key)
        elif dot and prefix == "fields" and (key := index.field_key(rest)) is not None:
            take(("field", key), heading)
            plan.attributes[pos] = ("field", key)
        elif not dot and (key := index.segment_key(heading)) is not None:
            take(("segment", key), heading)
            plan.attributes[pos] = ("segment", key)
        elif not dot and (key := index.field_key(heading)) is not None:
            take(("field", key), heading)
            plan.attributes[pos] = ("field", key)
        elif not dot and heading in scales:  # a scale's label as a table shows it
            plan.ignored.append((heading, GRADES_WHY))
        else:
            raise Invalid(Msg("column '{raw}' is neither a column of the contract ({columns}, or their headings {headings}) nor a segment or field of the policy (by key, label, segments.KEY or fields.KEY)", raw=raw, columns=', '.join(BASE_COLUMNS), headings=', '.join(BASE_LABELS)))
    if "name" not in plan.base:
        raise Invalid(Msg("the header needs a 'name' (名称) column"))
    return plan


#: what a CSV export guards against spreadsheet formulas: a text cell starting with one of these is
#: written with a leading ``'`` (``crmctl.output``; a test checks the two agree)
FORMULA_START = frozenset(("=", "+", "-", "@", "\t", "\r"))


def unguard(cell: str) -> str:
    """A cell as the export's text was before its formula guard: ``'-5 t`` -> ``-5 t``, ``'+86 ...``
    -> ``+86 ...``; any other cell unchanged (a ``'`` before anything else is kept)."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_START:
        return cell[1:]
    return cell
