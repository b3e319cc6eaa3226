"""Reading Excel workbooks users bring (``customer import`` / ``volume import`` of an ``.xlsx``).

The file's kind is told by its first bytes, not its name: an ``.xlsx`` is a zip (``PK\\x03\\x04``);
an old ``.xls`` and a password-protected workbook are both OLE compound files (``\\xd0\\xcf\\x11\\xe0``)
and are refused with what to do.  A sheet is read streaming (openpyxl ``read_only``, cached values
of formulas), one row at a time, numbered as Excel numbers them: the header is the first non-empty
row, and ``row 3`` is the row a person sees as 3.

A cell is read by what its column holds (:func:`cell_value`): a text column (names, codes, tax ids,
phone numbers) takes text cells only, since a number cell there has already lost its leading zeros or
its digits beyond the 15th (``9.1e17``); a date column takes date cells or text; a number column
number cells or text.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time
from pathlib import Path

from ..errors import InvalidInput
from ..i18n import _
from ..rules.errors import Invalid

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
XLSX_SUFFIXES = (".xlsx", ".xlsm")

#: what a column holds, for :func:`cell_value`
TEXT = "text"       # free text or a new identifier: number and date cells refused
CODE = "code"       # checked against a list (status, segment, choice, login): whole numbers read as digits
NUMBER = "number"   # number cells as they are, text as typed
DATE = "date"       # date cells as YYYY-MM-DD, text as typed
DATETIME = "datetime"  # date-time cells as YYYY-MM-DD HH:MM:SS (the company's time zone), text as typed
BOOL = "bool"       # boolean cells as they are, text as typed


def sniff(path: Path) -> str:
    """``xlsx`` (a zip), ``ole`` (an .xls or an encrypted workbook) or ``text``: by the first bytes.
    A file named ``.xlsx`` that is not a zip is ``bad-xlsx``."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return "text"  # the reader says why it cannot be read
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head == OLE_MAGIC:
        return "ole"
    if Path(path).suffix.lower() in XLSX_SUFFIXES:
        return "bad-xlsx"
    return "text"


def refuse_unreadable(path: Path, kind: str) -> None:
    """InvalidInput for a workbook crmctl cannot read (``ole``, ``bad-xlsx``); nothing otherwise."""
    name = Path(path).name
    if kind == "ole":
        raise InvalidInput(_("{file} is an Excel 97-2003 (.xls) workbook or a password-protected one: save it "
                             "from Excel as .xlsx without a password, or as CSV").format(file=name))
    if kind == "bad-xlsx":
        raise InvalidInput(_("{file} is not a valid .xlsx workbook (it is not a zip file): a damaged or renamed "
                             "file? Save it again from Excel, or as CSV").format(file=name))


def check_options(kind: str, encoding: str | None, sheet: str | None) -> None:
    """``--encoding`` is for CSV (a workbook carries its own), ``--sheet`` for a workbook."""
    if kind == "xlsx" and encoding is not None:
        raise InvalidInput(_("--encoding is for CSV files: an .xlsx workbook carries its own encoding "
                             "(leave --encoding out)"))
    if kind != "xlsx" and sheet is not None:
        raise InvalidInput(_("--sheet goes with an .xlsx workbook, and this file is not one"))


class Sheet:
    """One sheet of a workbook, opened streaming: ``name``, ``label`` (``book.xlsx, sheet S`` for
    messages), ``sha256`` (of the file and the sheet's name: two sheets of one workbook are two
    imports), ``max_row`` (as the file says, or None) and :meth:`rows`.  Close it (a context manager)."""

    def __init__(self, path: Path, sheet: str | None = None):
        import zipfile
        from xml.etree.ElementTree import ParseError

        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        self.path = Path(path)
        name = self.path.name
        h = hashlib.sha256()
        try:
            with self.path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        except OSError as exc:
            raise InvalidInput(_("cannot read {path}: {problem}").format(path=self.path, problem=exc.strerror)) from None
        self._wb = None
        self._fh = self.path.open("rb")  # a file, not a name: openpyxl would refuse a workbook named .csv
        try:
            self._wb = openpyxl.load_workbook(self._fh, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ParseError, ValueError, TypeError, OSError,
                EOFError, IndexError, AttributeError) as exc:
            self.close()
            raise InvalidInput(_("{file} is not a valid .xlsx workbook ({problem}): save it again from Excel, "
                                 "or as CSV").format(file=name, problem=_problem(exc))) from None
        names = self._wb.sheetnames
        if sheet is None:
            if not names:
                self.close()
                raise InvalidInput(_("{file} has no sheet").format(file=name))
            sheet = names[0]
        elif sheet not in names:
            self.close()
            raise InvalidInput(_("{file} has no sheet '{sheet}': its sheets are {sheets}").format(
                file=name, sheet=sheet, sheets=", ".join(f"'{n}'" for n in names)))
        self.name = sheet
        self._ws = self._wb[sheet]
        if not hasattr(self._ws, "iter_rows") or type(self._ws).__name__ == "ChartSheet":
            self.close()
            raise InvalidInput(_("{file}: sheet '{sheet}' is a chart, not a table").format(file=name, sheet=sheet))
        h.update(b"\x00sheet:" + sheet.encode())
        self.sha256 = h.hexdigest()
        self.label = _("{file}, sheet {sheet}").format(file=name, sheet=sheet) if len(names) > 1 else name
        try:
            self.max_row = self._ws.max_row
        except Exception:  # noqa: BLE001 - a dimension the file gets wrong is only a progress total
            self.max_row = None

    def rows(self):
        """(row number, cells) of every non-empty row, trailing empty cells dropped; the text cells
        stripped of the spaces around them.  InvalidInput if the file breaks off."""
        import zipfile
        from xml.etree.ElementTree import ParseError

        it = self._ws.iter_rows(values_only=True)
        n = 0
        while True:
            try:
                row = next(it)
            except StopIteration:
                return
            except (zipfile.BadZipFile, ParseError, KeyError, ValueError, TypeError, EOFError, OSError) as exc:
                raise InvalidInput(_("{file}: cannot read row {row} ({problem}): is the workbook damaged? Save it again "
                                     "from Excel, or as CSV").format(file=self.label, row=n + 1, problem=_problem(exc))) from None
            n += 1
            cells = list(row)
            while cells and (cells[-1] is None or (isinstance(cells[-1], str) and not cells[-1].strip())):
                cells.pop()
            if cells:
                yield n, [c.strip() if isinstance(c, str) else c for c in cells]

    def close(self) -> None:
        wb, self._wb = getattr(self, "_wb", None), None
        if wb is not None:
            wb.close()
        fh, self._fh = getattr(self, "_fh", None), None
        if fh is not None:
            fh.close()

    def __enter__(self) -> "Sheet":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _problem(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text[:120] or type(exc).__name__


def header_of(sheet: Sheet, rows) -> tuple[int, list[str]]:
    """The header (the first non-empty row) as text, or InvalidInput for an empty sheet."""
    first = next(rows, None)
    if first is None:
        raise InvalidInput(_("{file}: the sheet is empty (no header row)").format(file=sheet.label))
    n, cells = first
    return n, ["" if c is None else str(c).strip() for c in cells]


def _show_number(v) -> str:
    return f"{v:.15g}" if isinstance(v, float) else str(v)


def cell_value(value, kind: str, column: str):
    """A cell as the import's checks read it: text (``""`` for an empty cell), or a number / boolean
    as it is in a number / boolean column.  Invalid (naming ``column``) for a number or date cell in a
    text column, a number cell in a date column."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        if kind == BOOL:
            return value
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if kind == NUMBER:
            return value
        if kind == CODE and float(value).is_integer() and abs(value) < 1e15:
            return str(int(value))
        if kind in (DATE, DATETIME):
            raise Invalid(_("column {column}: {value} is a number cell, not a date: format the cells as dates "
                            "(or type the dates as text, 2026-11-30)").format(column=column, value=_show_number(value)))
        if kind == BOOL:
            return str(int(value)) if float(value).is_integer() else _show_number(value)
        raise Invalid(_("column {column}: {value} is a number cell, but the column is text: Excel drops leading "
                        "zeros and every digit after the 15th of a number, so the value may already be changed. "
                        "Format the column as Text in Excel and type the values again (or import a CSV)").format(
            column=column, value=_show_number(value)))
    if isinstance(value, (datetime, date, time)):
        if kind == DATETIME and isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S") if (value.hour, value.minute, value.second) != (0, 0, 0) \
                else value.date().isoformat()
        if kind in (DATE, DATETIME) and isinstance(value, (datetime, date)):
            if isinstance(value, datetime) and (value.hour, value.minute, value.second) != (0, 0, 0) and kind == DATE:
                raise Invalid(_("column {column}: {value} has a time of day, and the column is a date").format(
                    column=column, value=value.strftime("%Y-%m-%d %H:%M:%S")))
            return (value.date() if isinstance(value, datetime) else value).isoformat()
        shown = value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
        raise Invalid(_("column {column}: {value} is a date cell, but the column is not a date: Excel may have "
                        "read the value as a date; format the column as Text and type it again").format(
            column=column, value=shown))
    return str(value)
