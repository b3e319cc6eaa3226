"""``--format xlsx``: Excel workbooks written with XlsxWriter in constant-memory mode.

Imported by :mod:`crmctl.output` only when a workbook is written (XlsxWriter is not loaded by
``crmctl --help``).  The layout of every sheet (see docs/cli.md, "Conventions: output"):

* row 1: each column's heading in the view, in the current language (the heading of a table and of
  ``--labels`` CSV: :func:`crmctl.output.labelled_headings`); row 2: the column's JSON/CSV key (the
  code, the same in every language), so that a sheet can be read back by key; the data from row 3.
  Both header rows are frozen, the autofilter sits on the key row over all the data, and the
  column widths fit the first rows' text (a CJK character counts as 2).
* typed cells: numbers are numbers with the column's number format (counts ``#,##0``, quantities
  and money ``#,##0.00`` or the column's decimals, percentages ``0.0"%"`` -- the value is already
  ×100); dates and date-times are Excel dates in the company's time zone (the offset the value
  carries, dropped: Excel has no time zones), written ``yyyy-mm-dd`` / ``yyyy-mm-dd hh:mm``; an
  ISO date (``2026-11-22``) or date-time with offset given as text is one too; yes/no are booleans;
  everything else is text written as text (``write_string``), so ``6222020200112233445``,
  ``03118888888`` and ``0012`` keep every digit, and ``=1+1`` is never a formula.  An integer too big
  for a double (≥ 2**53) is text, whole.
* coded values (status, grade, segment) hold their label, as the table and ``--labels`` CSV show
  them: a person reads the workbook, and the key row says which column it is.
* lists are one text cell joined with ``;`` (as CSV); a nested object is one cell of JSON text.
"""

from __future__ import annotations

import enum
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from crmctl.i18n import _

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d\Z")
_ISO_DATETIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)\Z")
WIDTH_ROWS = 300  # the column widths are measured on the headings and the first rows
MAX_WIDTH = 60
MIN_WIDTH = 6
_BIG = 2**53  # integers from here on lose digits as a double: written as text
_NUMBER_FORMATS = {"count": "#,##0", "pct": '0.0"%"'}


def text_width(text: str) -> int:
    """Columns ``text`` takes in a spreadsheet cell: a wide (CJK) character counts as 2."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unique sheet name for ``title``: no ``[]:*?/\\``, at most 31 characters, not
    starting or ending with ``'``; a repeat (case-insensitive, as Excel compares) gets `` (2)``."""
    name = _SHEET_BAD.sub("_", str(title or "")).strip().strip("'") or "Sheet"
    name = name[:31]
    base, n = name, 1
    while name.lower() in taken:
        n += 1
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
    taken.add(name.lower())
    return name


def _list_text(value: Any) -> str:
    from crmctl.output import _csv_text, _sorted_set

    items = _sorted_set(value) if isinstance(value, (set, frozenset)) else value
    if any(isinstance(v, Mapping) for v in items):
        from crmctl.output import to_jsonable

        return json.dumps(to_jsonable(list(items)), ensure_ascii=False)
    return ";".join(_csv_text(v) for v in items)


class Book:
    """One workbook written into the binary stream ``out`` (streamed: each sheet's rows in order)."""

    def __init__(self, out: IO[bytes], title: str | None = None):
        import xlsxwriter

        self.wb = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False, "strings_to_urls": False})
        if title:
            self.wb.set_properties({"title": title})
        self.names: set[str] = set()
        self._formats: dict[Any, Any] = {}
        self.heading = self.wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": False})
        self.key = self.wb.add_format({"italic": True, "font_color": "#7F7F7F", "bg_color": "#F2F2F2", "border": 1})
        self.date = self.wb.add_format({"num_format": "yyyy-mm-dd"})
        self.minute = self.wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.second = self.wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.time = self.wb.add_format({"num_format": "hh:mm:ss"})

    def number_format(self, kind: str | None, decimals: int | None):
        if kind is None:
            return None
        key = (kind, decimals)
        if key not in self._formats:
            if decimals is None and kind in _NUMBER_FORMATS:
                fmt = _NUMBER_FORMATS[kind]
            else:
                from crmctl.views import NUMBER_DECIMALS

                d = NUMBER_DECIMALS[kind] if decimals is None else decimals
                fmt = "#,##0" + ("." + "0" * d if d else "")
                if kind == "pct":
                    fmt = ("0." + "0" * d if d else "0") + '"%"'
            self._formats[key] = self.wb.add_format({"num_format": fmt})
        return self._formats[key]

    def table(self, name: str, keys: Sequence[str], rows: Iterable[Iterable[Any]],
              label_columns: Sequence | None) -> tuple[int, Any]:
        """A sheet of the heading row, the key row and one row per sequence of values in the order
        of ``keys``; returns (how many rows, the worksheet)."""
        from crmctl.output import labelled_headings

        ws = self.wb.add_worksheet(sheet_name(name, self.names))
        headings, cols = labelled_headings(list(keys), label_columns)
        widths = [max(text_width(h), text_width(k)) for h, k in zip(headings, keys)]
        for r, texts, fmt in ((0, headings, self.heading), (1, keys, self.key)):  # constant memory: row by row
            for c, text in enumerate(texts):
                ws.write_string(r, c, text, fmt)
        writers = [self._writer(ws, col) for col in cols]
        r = 2
        for values in rows:
            measure = r < WIDTH_ROWS
            for c, (put, v) in enumerate(zip(writers, values)):
                if v is not None:
                    w = put(r, c, v)
                    if measure and w > widths[c]:
                        widths[c] = w
            r += 1
        n = r - 2
        if keys:
            ws.freeze_panes(2, 0)
            ws.autofilter(1, 0, max(r - 1, 1), len(keys) - 1)
            for c, w in enumerate(widths):
                ws.set_column(c, c, min(max(w + 2, MIN_WIDTH), MAX_WIDTH))
        return n, ws

    def _writer(self, ws, column):
        """The function that writes one non-empty cell of ``column`` and returns its width."""
        from crmctl.views import yes_no

        write_string, write_number = ws.write_string, ws.write_number
        write_boolean, write_datetime = ws.write_boolean, ws.write_datetime
        label = getattr(column, "table_format", None)
        if label is yes_no:
            label = None  # a boolean stays a boolean
        kind = getattr(column, "number", None)
        num_fmt = self.number_format(kind, getattr(column, "decimals", None))
        date_fmt, minute_fmt, second_fmt = self.date, self.minute, self.second
        iso_date, iso_dt = _ISO_DATE.match, _ISO_DATETIME.match

        def moment(r: int, c: int, v: datetime) -> int:
            if v.utcoffset() is None:
                raise ValueError(f"naive datetime {v!r} given to output: date-times must carry a time zone")
            v = v.replace(tzinfo=None)  # the company's time zone: the offset the value carries
            if v.second or v.microsecond:
                write_datetime(r, c, v, second_fmt)
                return 19
            write_datetime(r, c, v, minute_fmt)
            return 16

        def put(r: int, c: int, v: Any) -> int:
            t = type(v)
            if t is str:
                if label is not None:
                    v = label(v)
                elif v[4:5] == "-" and len(v) >= 10:
                    if len(v) == 10 and iso_date(v):
                        try:
                            write_datetime(r, c, datetime.strptime(v, "%Y-%m-%d"), date_fmt)
                            return 10
                        except ValueError:
                            pass
                    elif iso_dt(v):
                        try:
                            return moment(r, c, datetime.fromisoformat(v.replace("Z", "+00:00")))
                        except ValueError:
                            pass
                write_string(r, c, v)
                return text_width(v)
            if t is bool:
                write_boolean(r, c, v)
                return 5
            if label is not None and not isinstance(v, (list, tuple, set, frozenset, Mapping)):
                v = label(v)
                write_string(r, c, v)
                return text_width(v)
            if t is int or t is float or (isinstance(v, (int, float)) and not isinstance(v, bool)):
                if isinstance(v, int) and abs(v) >= _BIG:
                    write_string(r, c, str(v))
                    return len(str(v))
                if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
                    write_string(r, c, str(v))
                    return 4
                write_number(r, c, v, num_fmt)
                return len(f"{v:,.2f}") if num_fmt is not None else len(repr(v))
            if isinstance(v, Decimal):
                if not v.is_finite():
                    write_string(r, c, str(v))
                    return 4
                if v == v.to_integral_value() and abs(v) >= _BIG:
                    write_string(r, c, format(v, "f"))
                    return len(format(v, "f"))
                return put(r, c, float(v))
            if isinstance(v, datetime):
                return moment(r, c, v)
            if isinstance(v, date):
                write_datetime(r, c, datetime(v.year, v.month, v.day), date_fmt)
                return 10
            if isinstance(v, time):
                write_string(r, c, v.isoformat())
                return 8
            if isinstance(v, enum.Enum):
                return put(r, c, v.value)
            if isinstance(v, Mapping):
                from crmctl.output import to_jsonable

                text = json.dumps(to_jsonable(v), ensure_ascii=False)
            elif isinstance(v, (list, tuple, set, frozenset)):
                text = _list_text(v)
            else:
                text = str(v)
            if text:
                write_string(r, c, text)
            return text_width(text)

        return put

    def chart(self, name: str, title: str, chart, points: list[tuple[str, float | None]]) -> None:
        """A sheet with the chart's data (bar label, value[, target]) and a native column chart of it;
        a target (``ChartSpec.target``) is a line across the bars."""
        ws = self.wb.add_worksheet(sheet_name(name, self.names))
        target = getattr(chart, "target", None)
        unit = chart.unit or ""
        head = [_("Bar"), _("Value") + (f" ({unit})" if unit else "")]
        if target is not None:
            head.append(_("Target") + (f" ({unit})" if unit else ""))
        widths = [text_width(h) for h in head]
        for c, h in enumerate(head):
            ws.write_string(0, c, h, self.heading)
        for r, (label, value) in enumerate(points, start=1):
            ws.write_string(r, 0, label)
            widths[0] = max(widths[0], text_width(label))
            if value is not None:
                ws.write_number(r, 1, value)
            if target is not None:
                ws.write_number(r, 2, target)
        for c, w in enumerate(widths):
            ws.set_column(c, c, min(max(w + 2, MIN_WIDTH), MAX_WIDTH))
        ws.freeze_panes(1, 0)
        if not points:
            return
        last = len(points)
        sheet = ws.get_name().replace("'", "''")
        ref = f"='{sheet}'"
        bars = self.wb.add_chart({"type": "column"})
        bars.add_series({"name": head[1], "categories": f"{ref}!$A$2:$A${last + 1}",
                         "values": f"{ref}!$B$2:$B${last + 1}", "fill": {"color": "#4C72B0"},
                         "data_labels": {"value": True}})
        if target is not None:
            line = self.wb.add_chart({"type": "line"})
            line.add_series({"name": head[2], "categories": f"{ref}!$A$2:$A${last + 1}",
                             "values": f"{ref}!$C$2:$C${last + 1}",
                             "line": {"color": "#C00000", "width": 2, "dash_type": "dash"},
                             "marker": {"type": "none"}})
            bars.combine(line)
        bars.set_title({"name": title})
        y = {"min": 0}
        if chart.max_value:
            y["max"] = chart.max_value
        bars.set_y_axis(y)
        bars.set_legend({"position": "bottom"})
        bars.set_size({"width": max(480, min(1600, 64 * last + 160)), "height": 320})
        ws.insert_chart(1, len(head) + 1, bars)

    def close(self) -> None:
        self.wb.close()
