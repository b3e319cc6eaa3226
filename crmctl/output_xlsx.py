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
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from crmctl.i18n import _
from crmctl.views import text_width

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d\Z")
_ISO_DATETIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)\Z")
WIDTH_ROWS = 300  # the column widths are measured on the headings and the first rows
MAX_WIDTH = 60
MIN_WIDTH = 6
_BIG = 2**53  # integers from here on lose digits as a double: written as text
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_FIRST = datetime(1900, 3, 1)
_NUMBER_FORMATS = {"count": "#,##0", "pct": '0.0"%"'}


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


class Shared:
    """What the writer shares with :mod:`crmctl.output` (handed in by it, so that this module does not
    import it back): JSON values, CSV text, sorted sets, the ``--labels`` headings."""

    def __init__(self, *, jsonable, csv_text, sorted_set, headings):
        self.jsonable, self.csv_text, self.sorted_set, self.headings = jsonable, csv_text, sorted_set, headings


def _list_text(value: Any, shared: Shared) -> str:
    items = shared.sorted_set(value) if isinstance(value, (set, frozenset)) else value
    if any(isinstance(v, Mapping) for v in items):
        return json.dumps(shared.jsonable(list(items)), ensure_ascii=False)
    return ";".join(shared.csv_text(v) for v in items)


def _column_letter(c: int) -> str:
    from xlsxwriter.utility import xl_col_to_name

    return xl_col_to_name(c)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


def _xml_text(text: str) -> str:
    """``text`` as the inline string of a cell: escaped, at most 32 767 characters (Excel's limit),
    control characters as ``_xHHHH_`` (as XlsxWriter writes them), spaces at an end preserved."""
    if len(text) > 32767:
        text = text[:32767]
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if not text.isprintable():
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    if text[:1].isspace() or text[-1:].isspace():
        return f'<is><t xml:space="preserve">{text}</t></is>'
    return f"<is><t>{text}</t></is>"


def _width_of(column):
    """How wide a value of ``column`` is shown (for the column's width)."""
    from crmctl.views import yes_no

    label = getattr(column, "table_format", None)
    if label is yes_no:
        label = None

    def width(v: Any) -> int:
        if isinstance(v, bool):
            return 5
        if label is not None and not isinstance(v, (list, tuple, set, frozenset, Mapping)):
            return text_width(str(label(v)))
        if isinstance(v, str):
            if v[4:5] == "-" and (_ISO_DATE.match(v) or _ISO_DATETIME.match(v)):
                return 16 if len(v) > 10 else 10
            return text_width(v)
        if isinstance(v, (int, float, Decimal)):
            return len(f"{v:,.2f}")
        if isinstance(v, datetime):
            return 19 if v.second else 16
        if isinstance(v, date):
            return 10
        return min(text_width(str(v)), MAX_WIDTH)

    return width


class Book:
    """One workbook written into the binary stream ``out`` (streamed: each sheet's rows in order)."""

    def __init__(self, out: IO[bytes], title: str | None = None, *, shared: Shared):
        self.shared = shared
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
        ws = self.wb.add_worksheet(sheet_name(name, self.names))
        headings, cols = self.shared.headings(list(keys), label_columns)
        widths = [max(text_width(h), text_width(k)) for h, k in zip(headings, keys)]
        for r, texts, fmt in ((0, headings, self.heading), (1, keys, self.key)):  # constant memory: row by row
            for c, text in enumerate(texts):
                ws.write_string(r, c, text, fmt)
        cells = [self._cell_xml(col, _column_letter(c)) for c, col in enumerate(cols)]
        sizes = [_width_of(col) for col in cols]
        # The data rows go straight into the worksheet's row file as XML (what XlsxWriter's
        # constant-memory mode writes, without its per-cell objects: 3 × faster); the header rows
        # above are written by XlsxWriter itself, and flushed first.
        ws._write_single_row(2)
        fh = ws.fh
        write = fh.write
        r = 2
        for values in rows:
            rn = str(r + 1)
            parts = [f'<row r="{rn}">']
            for c, (cell, v) in enumerate(zip(cells, values)):
                if v is not None:
                    parts.append(cell(v, rn))
                    if r < WIDTH_ROWS:
                        w = sizes[c](v)
                        if w > widths[c]:
                            widths[c] = w
            parts.append("</row>")
            write("".join(parts))
            r += 1
        if r > 2:
            ws._check_dimensions(r - 1, max(len(keys) - 1, 0))
            ws.previous_row = r
        n = r - 2
        if keys:
            ws.freeze_panes(2, 0)
            ws.autofilter(1, 0, max(r - 1, 1), len(keys) - 1)
            for c, w in enumerate(widths):
                ws.set_column(c, c, min(max(w + 2, MIN_WIDTH), MAX_WIDTH))
        return n, ws

    def _cell_xml(self, column, letter: str):
        """The function giving the ``<c>`` element of one non-empty cell of ``column`` in row ``rn``."""
        from crmctl.views import yes_no

        def datetime_to_excel_datetime(v: datetime, _1904: bool, _tz: bool) -> float:
            if v < _EXCEL_FIRST:  # Excel has no dates before 1900-03-01 (its 1900 leap-year bug)
                raise ValueError(v)
            delta = v - _EXCEL_EPOCH
            return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400

        label = getattr(column, "table_format", None)
        if label is yes_no:
            label = None  # a boolean stays a boolean
        num_fmt = self.number_format(getattr(column, "number", None), getattr(column, "decimals", None))
        num_s = f' s="{num_fmt._get_xf_index()}"' if num_fmt is not None else ""
        date_s = f' s="{self.date._get_xf_index()}"'
        minute_s = f' s="{self.minute._get_xf_index()}"'
        second_s = f' s="{self.second._get_xf_index()}"'
        iso_date, iso_dt = _ISO_DATE.match, _ISO_DATETIME.match
        text_xml = _xml_text

        def text(v: str, rn: str) -> str:
            return f'<c r="{letter}{rn}" t="inlineStr">{text_xml(v)}</c>'

        def moment(v: datetime, rn: str) -> str:
            if v.utcoffset() is None:
                raise ValueError(f"naive datetime {v!r} given to output: date-times must carry a time zone")
            v = v.replace(tzinfo=None)  # the company's time zone: the offset the value carries
            serial = datetime_to_excel_datetime(v, False, False)
            return f'<c r="{letter}{rn}"{second_s if v.second or v.microsecond else minute_s}><v>{serial:.16G}</v></c>'

        def cell(v: Any, rn: str) -> str:
            t = type(v)
            if t is str:
                if label is not None:
                    return text(label(v), rn)
                if v[4:5] == "-" and len(v) >= 10:
                    try:
                        if len(v) == 10 and iso_date(v):
                            serial = datetime_to_excel_datetime(datetime.strptime(v, "%Y-%m-%d"), False, False)
                            return f'<c r="{letter}{rn}"{date_s}><v>{serial:.16G}</v></c>'
                        if iso_dt(v):
                            return moment(datetime.fromisoformat(v.replace("Z", "+00:00")), rn)
                    except ValueError:
                        pass
                return text(v, rn) if v else ""
            if t is bool:
                return f'<c r="{letter}{rn}" t="b"><v>{int(v)}</v></c>'
            if label is not None and not isinstance(v, (list, tuple, set, frozenset, Mapping)):
                return text(str(label(v)), rn)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                if isinstance(v, int) and abs(v) >= _BIG:
                    return text(str(v), rn)
                if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
                    return text(str(v), rn)
                return f'<c r="{letter}{rn}"{num_s}><v>{v:.16G}</v></c>'
            if isinstance(v, Decimal):
                if not v.is_finite() or (v == v.to_integral_value() and abs(v) >= _BIG):
                    return text(format(v, "f"), rn)
                return cell(float(v), rn)
            if isinstance(v, (date, time)):
                try:
                    if isinstance(v, datetime):
                        return moment(v, rn)
                    if isinstance(v, date):
                        serial = datetime_to_excel_datetime(datetime(v.year, v.month, v.day), False, False)
                        return f'<c r="{letter}{rn}"{date_s}><v>{serial:.16G}</v></c>'
                except ValueError:
                    if isinstance(v, datetime) and v.utcoffset() is None:
                        raise
                return text(v.isoformat(), rn)
            if isinstance(v, enum.Enum):
                return cell(v.value, rn)
            if isinstance(v, Mapping):
                out = json.dumps(self.shared.jsonable(v), ensure_ascii=False)
            elif isinstance(v, (list, tuple, set, frozenset)):
                out = _list_text(v, self.shared)
            else:
                out = str(v)
            return text(out, rn) if out else ""

        return cell

    def chart(self, name: str, title: str, chart, points: list[tuple[str, float | None]]) -> str:
        """A sheet with the chart's data (bar label, value[, target]) and a native column chart of it;
        a target (``ChartSpec.target``) is a line across the bars.  Returns the sheet's name."""
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
            return ws.get_name()
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
        return ws.get_name()

    def contents(self, name: str) -> "Contents":
        """Reserve a sheet here (the first, when called first) to be filled in at the end, once the
        sheets it lists have been written: see :class:`Contents`."""
        return Contents(self, self.wb.add_worksheet(sheet_name(name, self.names)))

    def close(self) -> None:
        self.wb.close()


class Contents:
    """A contents sheet: a title, lines under it, then a table of entries whose cells may link to
    sheets of the workbook (written last, row by row, as constant-memory mode wants)."""

    def __init__(self, book: Book, ws):
        self.book, self.ws = book, ws

    def fill(self, title: str, lines: Sequence[str], headings: Sequence[str],
             entries: Iterable[Sequence[Any]]) -> None:
        """``entries`` are rows of cells: text, a number, or ``(text, sheet name)`` for a link to
        that sheet's first cell."""
        ws, book = self.ws, self.book
        big = book.wb.add_format({"bold": True, "font_size": 14})
        link = book.wb.add_format({"font_color": "#0563C1", "underline": 1})
        ws.write_string(0, 0, title, big)
        for r, line in enumerate(lines, start=1):
            ws.write_string(r, 0, line)
        top = len(lines) + 2
        widths = [text_width(h) for h in headings]
        for c, h in enumerate(headings):
            ws.write_string(top, c, h, book.heading)
        r = top
        for r, cells in enumerate(entries, start=top + 1):
            for c, v in enumerate(cells):
                if isinstance(v, tuple):
                    shown, target = v
                    ref = target.replace("'", "''")
                    ws.write_url(r, c, f"internal:'{ref}'!A1", link, string=shown)
                    v = shown
                elif isinstance(v, (int, float)) and not isinstance(v, bool):
                    ws.write_number(r, c, v)
                elif v is not None:
                    ws.write_string(r, c, str(v))
                if v is not None and c < len(widths):
                    widths[c] = max(widths[c], text_width(str(v)))
        for c, w in enumerate(widths):
            ws.set_column(c, c, min(max(w + 2, MIN_WIDTH), MAX_WIDTH))
        ws.freeze_panes(top + 1, 0)
        if headings:
            ws.autofilter(top, 0, max(r, top + 1), len(headings) - 1)
        ws.activate()
