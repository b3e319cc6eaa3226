"""Reading CSV files users bring: encodings, the duplicate-file guard, row-numbered errors."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidInput, RuleViolation
from ..i18n import _
from ..models import ImportBatch

MAX_FIELD = 100_000  # characters in one cell
MAX_FILE = 2_000_000_000


@dataclass
class CsvFile:
    path: Path
    sha256: str
    header: list[str]
    rows: list[list[str]]
    #: the row number of each of ``rows`` (a workbook's, as Excel shows them); None: 2, 3, ... in order
    numbers: list[int] | None = None
    #: how messages name the file (``book.xlsx, sheet 客户``); None: the file's name
    label: str | None = None

    @property
    def where(self) -> str:
        return self.label or self.path.name


def decoding(encoding: str) -> str:
    """The codec a user's ``--encoding`` reads with: UTF-8 with or without BOM, or GB 18030 (``gbk``)."""
    enc = {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "gbk": "gb18030", "gb18030": "gb18030"}.get((encoding or "").lower())
    if enc is None:
        raise InvalidInput(_("unknown encoding '{encoding}': use utf-8, gb18030 or gbk").format(encoding=encoding))
    return enc


def read_csv(path: Path, encoding: str = "utf-8") -> CsvFile:
    """The whole file decoded and split, or InvalidInput naming the problem (and line)."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(_("no file {path}").format(path=path))
    if path.is_dir():
        raise InvalidInput(_("{path} is a folder, not a CSV file").format(path=path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(_("cannot read {path}: {problem}").format(path=path, problem=exc.strerror)) from None
    enc = decoding(encoding)
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise InvalidInput(_("{file}: line {line} contains a NUL byte; this is not a text CSV file").format(
            file=path.name, line=line))
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        if enc.startswith("utf"):
            raise InvalidInput(_("{file}: line {line} is not valid {encoding} (try --encoding gbk)").format(
                file=path.name, line=line, encoding=encoding)) from None
        raise InvalidInput(_("{file}: line {line} is not valid {encoding}").format(
            file=path.name, line=line, encoding=encoding)) from None
    csv.field_size_limit(MAX_FIELD + 1)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise InvalidInput(_("{file}: empty file or no header row").format(file=path.name))
        rows = []
        for row in reader:
            if any(len(cell) > MAX_FIELD for cell in row):
                raise InvalidInput(_("{file}: row {row} has a cell longer than {max} characters").format(
                    file=path.name, row=reader.line_num, max=MAX_FIELD))
            if row and any(c.strip() for c in row):
                rows.append(row)
    except csv.Error as exc:
        reason = (_("a cell is longer than {max} characters").format(max=MAX_FIELD) if "field limit" in str(exc)
                  else str(exc))
        raise InvalidInput(_("{file}: line {line}: {problem}").format(file=path.name, line=reader.line_num,
                                                                      problem=reason)) from None
    header = [h.strip() for h in header]
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise InvalidInput(_("{file}: column {column} appears twice in the header").format(file=path.name, column=dup[0]))
    return CsvFile(path, hashlib.sha256(data).hexdigest(), header, rows)


def read_table(path: Path, encoding: str | None = None, sheet: str | None = None) -> CsvFile:
    """A CSV file (as :func:`read_csv`) or a sheet of an ``.xlsx`` workbook (told by its first bytes):
    the workbook's rows are its cells as openpyxl reads them (text, numbers, dates, booleans; see
    ``xlsxfiles.cell_value``), with their row numbers."""
    from . import xlsxfiles

    path = Path(path)
    kind = xlsxfiles.sniff(path) if path.is_file() else "text"
    xlsxfiles.refuse_unreadable(path, kind)
    xlsxfiles.check_options(kind, encoding, sheet)
    if kind != "xlsx":
        return read_csv(path, encoding or "utf-8")
    with xlsxfiles.Sheet(path, sheet) as sh:
        rows = sh.rows()
        _n, header = xlsxfiles.header_of(sh, rows)
        data = list(rows)
    dup = sorted({h for h in header if h and header.count(h) > 1})
    if dup:
        raise InvalidInput(_("{file}: column {column} appears twice in the header").format(file=sh.label, column=dup[0]))
    return CsvFile(path, sh.sha256, header, [r for _n, r in data], numbers=[n for n, _r in data], label=sh.label)


def register_import(session, kind: str, f: CsvFile, rows: int, at, actor: str, allow_duplicates: bool) -> ImportBatch:
    """Record the file; refuse one imported before unless ``allow_duplicates``."""
    prev = session.execute(select(func.count(), func.min(ImportBatch.at)).where(
        ImportBatch.kind == kind, ImportBatch.sha256 == f.sha256)).one()
    if prev[0] and not allow_duplicates:
        raise RuleViolation(_("{file} was already imported ({at} UTC); pass --allow-duplicates to import it again")
                            .format(file=f.path.name, at=f"{prev[1]:%Y-%m-%d %H:%M}"))
    batch = ImportBatch(kind=kind, sha256=f.sha256, seq=prev[0], filename=f.path.name, rows=rows, at=at, actor=actor)
    try:
        with session.begin_nested():  # the same file imported at the same moment by another crmctl
            session.add(batch)
            session.flush()
    except IntegrityError:
        if allow_duplicates:
            raise RuleViolation(_("{file} was already imported by another crmctl at the same moment; nothing of this "
                                  "import was written (run it again to import it once more)").format(file=f.path.name)) from None
        raise RuleViolation(_("{file} was already imported by another crmctl at the same moment; "
                              "nothing of this import was written").format(file=f.path.name)) from None
    return batch
