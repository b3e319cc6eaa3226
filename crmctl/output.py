"""The one output module every listing, show and report command uses.

``--format table|json|csv``, ``--output FILE``, ``--bom`` and ``--encoding utf-8|gb18030`` arrive here as
an :class:`OutputSpec`; commands hand over rows (mappings, possibly nested, possibly a generator) and
optionally the columns to show.  The rules (see docs/cli.md, "Conventions: output"):

* json: an array for lists (streamed one object per line), an object for one thing; dates
  ``YYYY-MM-DD``, date-times ISO 8601 with offset (a naive date-time is a programming error and
  raises), ``Decimal`` as a number, enums as their value, sets as sorted lists.  Nested objects stay
  nested; the ``columns`` given for the table/csv views do not cut down the JSON object.
* csv: the columns are the JSON keys, in the JSON's order, nested objects flattened to dotted keys
  (``segments.nature``; :func:`csv_keys` of the first row, the one place that says so; a
  :class:`JsonCell` object stays one cell of JSON text); a header row always (also for zero rows:
  the ``fields`` a listing declares), UTF-8 (``bom`` adds U+FEFF), text cells starting with
  ``= + - @ TAB CR`` prefixed with ``'`` (numbers are never touched), ``None`` empty, booleans
  ``true``/``false``, lists of values joined with ``;``, a list holding objects as one JSON array.
  Written row by row: constant memory for any number of rows.
* csv with ``--labels`` (:attr:`OutputSpec.labels`, csv only): the same columns in the same order, for
  people who open the file in Excel or WPS: the header is each column's heading in the view, in the
  current language (a key without one stays its key; a heading given twice gets its key added),
  coded values their labels (:attr:`Column.table_format`), booleans yes/no (是/否), date-times
  ``YYYY-MM-DD HH:MM`` (``:SS`` when there are seconds) in the offset they carry -- the company's
  time zone -- without the offset, dates ``YYYY-MM-DD``; numbers stay numbers.
* table: a rich table for humans (at most 5 000 rows), codes turned into labels through
  :attr:`Column.table_format`, numbers of a column with :attr:`Column.number` with thousands
  separators and the column's fixed decimals (:func:`format_number`: ``12,500.50``, ``85.0%``),
  cell values printed literally (no markup), no colour unless the stream is a terminal.

Headings and titles are message ids or the policy's labels: every one is shown through
:func:`crmctl.i18n._` (``Code`` -> 编号 in Chinese; a policy's label is not in the catalogue and
stays as it is); a column without a heading shows its key, untranslated.  The keys and codes of
JSON and plain CSV are the same in every language.

Only the standard library is imported at module level so that ``crmctl --help`` stays fast; rich is
imported inside the table renderer.
"""

from __future__ import annotations

import codecs
import csv
import enum
import errno
import gc
import io
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from itertools import chain
from typing import IO, Any

from crmctl.errors import InvalidInput
from crmctl.output_json import (_JSON_LINE, _JSON_PRETTY, _iso_datetime, _json_encode,  # noqa: F401
                                _sorted_set, to_jsonable)
from crmctl.fields import JsonCell
from crmctl.i18n import N_, _, ngettext
from crmctl.i18n import _ as translate  # a heading or title held in a variable (the catalogue's test reads literals)
from crmctl.views import Column, yes_no

__all__ = [
    "FORMATS",
    "ENCODINGS",
    "TABLE_ROW_LIMIT",
    "Column",
    "OutputSpec",
    "emit_rows",
    "emit_tuples",
    "emit_object",
    "emit_text",
    "to_jsonable",
    "escape_csv_cell",
    "flatten",
    "csv_keys",
    "JsonCell",
    "open_output",
    "format_number",
    "label_text",
    "heading",
]

FORMATS = ("table", "json", "csv", "xlsx")
ENCODINGS = ("utf-8", "gb18030")
#: names accepted for the encodings: GBK is written as GB 18030, its superset that holds every
#: character (𠮷, 䶮, emoji) where GBK would need a replacement
ENCODING_ALIASES = {"utf8": "utf-8", "gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "gb-18030": "gb18030"}
TABLE_ROW_LIMIT = 5_000
#: what a table cut at :data:`TABLE_ROW_LIMIT` (or a command's limit) says after "… N more rows;"
MORE_HINT = N_("use --format csv")

# A text cell starting with one of these is read as a formula by Excel/LibreOffice.  A set, not a
# string: ``"" in "=+-@"`` is True, ``"" in _DANGEROUS`` is not.
_DANGEROUS = frozenset(("=", "+", "-", "@", "\t", "\r"))
# Types csv.writer already renders correctly (None -> empty cell); exact types, so bool is not one.
_CSV_AS_IS = frozenset((int, float, type(None)))
_MISSING = object()
_WIDE = 100_000  # console width for files and pipes: never wrap a line
# errno values meaning "the output file could not be written" (EDQUOT is missing on Windows)
_WRITE_FAILED = frozenset(getattr(errno, n) for n in ("ENOSPC", "EDQUOT", "EFBIG") if hasattr(errno, n))


# --------------------------------------------------------------------------------------------------
# What the CLI passes down


@dataclass
class OutputSpec:
    format: str = "table"
    output: str | None = None  # a path; None (or "-") = stdout
    bom: bool = False  # csv with utf-8 only: write U+FEFF first (Excel)
    encoding: str = "utf-8"  # "utf-8" or "gb18030" ("gbk" is taken as gb18030)
    labels: bool = False  # csv only: headings and labels of the view instead of keys and codes

    def __post_init__(self) -> None:
        self.encoding_asked = self.encoding
        fmt = (self.format or "table").strip().lower()
        if fmt not in FORMATS:
            raise InvalidInput(_("unknown format {format!r}: use one of {formats}").format(
                format=self.format, formats=", ".join(FORMATS)))
        self.format = fmt
        if fmt == "xlsx":
            if self.bom:
                raise InvalidInput(_("--bom is for CSV text: an xlsx workbook has no byte-order mark"))
            if (self.encoding or "utf-8").strip().lower().replace("_", "-") not in ("utf-8", "utf8"):
                raise InvalidInput(_("--encoding is for CSV text: an xlsx workbook is not written in an encoding"))
            self.labels = True  # a workbook always has the headings and labels (and the keys on row 2)
            if self.output in (None, "", "-") and _stdout_is_terminal():
                raise InvalidInput(_("an xlsx workbook is not written to a terminal: use --output FILE.xlsx"))
        enc = (self.encoding or "utf-8").strip().lower().replace("_", "-")
        enc = ENCODING_ALIASES.get(enc, enc)
        if enc not in ENCODINGS:
            raise InvalidInput(_("unknown encoding {encoding!r}: use utf-8, gb18030 or gbk (written as gb18030)")
                               .format(encoding=self.encoding))
        self.encoding = enc
        if self.labels and fmt not in ("csv", "xlsx"):
            raise InvalidInput(_("--labels writes headings and labels into CSV: it does not go with --format {fmt}")
                               .format(fmt=fmt))
        if self.bom and enc != "utf-8":
            raise InvalidInput(_("--bom is the UTF-8 byte-order mark: it does not go with --encoding {encoding}")
                               .format(encoding=self.encoding_asked))
        if self.output == "":
            self.output = None


def _stdout_is_terminal() -> bool:
    try:
        return bool(sys.stdout.isatty())
    except (AttributeError, ValueError, OSError):
        return False


# --------------------------------------------------------------------------------------------------
# Value conversion


def escape_csv_cell(value: Any) -> Any:
    """The CSV cell for ``value``: text starting with = + - @ TAB CR gets a leading ``'``.

    Numbers (int/float/Decimal) are never escaped (``-5`` stays ``-5``); None -> ""; bool ->
    ``true``/``false``; dates/date-times as in JSON; lists/tuples/sets joined with ``;`` (the joined
    text is escaped like any text); a nested mapping as JSON text.
    """
    t = type(value)
    if t is str:
        return "'" + value if value[:1] in _DANGEROUS else value
    if t in _CSV_AS_IS:
        return "" if value is None else value
    return _csv_slow(value)


def _csv_text(value: Any) -> str:
    """Unescaped text of one element of a list cell."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return _csv_text(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return _iso_datetime(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, Mapping):
        return json.dumps(to_jsonable(value), ensure_ascii=False)
    return str(value)


def _csv_slow(value: Any) -> Any:
    """Everything that is not an exact str/int/float/None (those are handled inline)."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return escape_csv_cell(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # str subclass
        return escape_csv_cell(str(value))
    if isinstance(value, (int, float)):  # int/float subclasses: numbers, never escaped
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return _iso_datetime(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return escape_csv_cell(";".join(_csv_text(v) for v in _sorted_set(value)))
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, Mapping) for v in value):  # objects: one JSON array (";" may be in them)
            return escape_csv_cell(json.dumps(to_jsonable(value), ensure_ascii=False))
        return escape_csv_cell(";".join(_csv_text(v) for v in value))
    return escape_csv_cell(_csv_text(value))


def _table_text(value: Any) -> str:
    """Text shown in a table cell (for humans: short date-times, Decimal as written)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, enum.Enum):
        return _table_text(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        _iso_datetime(value)  # naive: raise here too
        whole = value.second == 0 and value.microsecond == 0
        return value.isoformat(sep=" ", timespec="minutes" if whole else "seconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return ", ".join(_table_text(v) for v in _sorted_set(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(_table_text(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_table_text(v)}" for k, v in value.items())
    return str(value)


def format_number(value: Any, kind: str | None, decimals: int | None = None) -> Any:
    """A number as a table shows it in a column of ``kind`` (``crmctl.views.NUMBER_DECIMALS``):
    thousands separators, ``decimals`` (else the kind's) fixed decimals rounded half up, ``%`` after
    a "pct": ``format_number(12500.5, "qty")`` -> ``"12,500.50"``.  Anything that is not a number
    (None, text, a boolean) is returned unchanged."""
    from crmctl.views import NUMBER_DECIMALS

    if kind is None or isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return value
    d = NUMBER_DECIMALS[kind] if decimals is None else decimals
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return value
        value = Decimal(repr(value))
    elif isinstance(value, Decimal) and not value.is_finite():
        return value
    else:
        value = Decimal(value)
    from decimal import ROUND_HALF_UP

    q = value.quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP)
    if q == 0:
        q = abs(q)  # no "-0.00"
    return f"{q:,.{d}f}" + ("%" if kind == "pct" else "")


def label_text(value: Any, column: Column | None) -> Any:
    """A cell of ``--labels`` CSV (before CSV escaping): the column's label for a code, yes/no (是/否)
    in the current language for a boolean, a date-time as ``YYYY-MM-DD HH:MM`` (``:SS`` if it has
    seconds) in its own offset (the company's time zone) without the offset; numbers, dates and
    everything else as in plain CSV."""
    if value is None:
        return None
    if isinstance(value, datetime):
        _iso_datetime(value)  # naive: raise here too
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second or value.microsecond else "%Y-%m-%d %H:%M")
    if isinstance(value, (date, time)) or isinstance(value, Mapping):
        return value  # a nested object (JsonCell) stays one JSON cell, whole
    if isinstance(value, bool):  # yes/no everywhere (a table may show only yes)
        return yes_no(value)
    if column is not None and column.table_format is not None:
        return column.table_format(value)
    return value


# --------------------------------------------------------------------------------------------------
# Nested rows


def flatten(d: Mapping, prefix: str = "") -> dict:
    """Nested mappings -> one level with dotted keys: ``{"segments": {"nature": "big"}}`` ->
    ``{"segments.nature": "big"}``.  ``prefix`` (without the dot) is put in front of every key.
    An empty nested mapping contributes no key; a :class:`JsonCell` is one value."""
    out: dict = {}
    lead = f"{prefix}." if prefix else ""
    for k, v in d.items():
        key = f"{lead}{k}"
        if isinstance(v, Mapping) and not isinstance(v, JsonCell):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def csv_keys(row: Mapping) -> list[str]:
    """The CSV columns of a JSON row: its keys in order, nested objects flattened (``a.b``)."""
    return list(flatten(row))


def _lookup(row: Mapping, key: str) -> Any:
    """``row[key]``, following dotted keys into nested mappings; None when absent."""
    value = row.get(key, _MISSING)
    if value is not _MISSING:
        return value
    dot = key.find(".")
    while dot != -1:
        head = row.get(key[:dot], _MISSING)
        if isinstance(head, Mapping):
            value = _lookup(head, key[dot + 1 :])
            if value is not None:
                return value
        dot = key.find(".", dot + 1)
    return None


def _getter(key: str) -> Callable[[Mapping], Any]:
    """A fast lookup for one column: plain keys use ``dict.get``; ``a.b`` looks one level down."""
    if "." not in key:
        return lambda row: row.get(key)
    head, _, tail = key.partition(".")

    def get(row: Mapping) -> Any:
        value = row.get(key, _MISSING)
        if value is not _MISSING:
            return value
        inner = row.get(head)
        if type(inner) is dict and "." not in tail:
            return inner.get(tail)
        return _lookup(row, key)

    return get


def _values(row: Mapping, keys: list[str], nested: bool) -> Iterator[Any] | list[Any]:
    if nested:
        return [_lookup(row, k) for k in keys]
    return map(row.get, keys)


def _columns_from(first: Mapping | None) -> list[Column]:
    if first is None:
        return []
    return [Column(k) for k in csv_keys(first)]


# --------------------------------------------------------------------------------------------------
# Where the output goes


def _reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return _("permission denied")
    if isinstance(exc, IsADirectoryError):
        return _("it is a folder")
    return exc.strerror.lower() if exc.strerror else str(exc)


def _cannot_write(path: str, reason: str) -> InvalidInput:
    """The refusal for an output file that cannot be written: ``cannot write PATH: REASON``."""
    return InvalidInput(_("cannot write {path}: {reason}").format(path=path, reason=reason))


def _same_encoding(a: str | None, b: str) -> bool:
    try:
        return codecs.lookup(a or "").name == codecs.lookup(b).name
    except LookupError:
        return False


@contextmanager
def _stdout(spec: OutputSpec, *, binary: bool) -> Iterator[IO]:
    out = sys.stdout
    if binary:
        buffer = getattr(out, "buffer", None)
        if buffer is None:
            raise InvalidInput(_("cannot write binary output to this stdout"))
        out.flush()
        yield buffer
        buffer.flush()
        return
    newline = "" if spec.format == "csv" else None
    buffer = getattr(out, "buffer", None)
    translates = spec.format == "csv" and os.linesep != "\n"  # csv's \r\n would become \r\r\n
    if buffer is None or (_same_encoding(getattr(out, "encoding", None), spec.encoding) and not translates):
        yield out
        out.flush()
        return
    # stdout's own encoding differs from the one asked for (e.g. --encoding gbk): write the bytes.
    out.flush()
    wrapper = io.TextIOWrapper(buffer, encoding=spec.encoding, errors="strict", newline=newline, write_through=True)
    try:
        yield wrapper
    finally:
        try:
            wrapper.flush()
        finally:
            wrapper.detach()  # leave sys.stdout's buffer open


def _new_file_mode(target: str) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


_STDOUT_NAMES = ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")


def _is_stdout(path: str) -> bool:
    """``path`` names this process's standard output: ``/dev/stdout`` (or ``/dev/fd/1``), or the
    terminal or pipe stdout is connected to."""
    if path in _STDOUT_NAMES:
        return True
    try:
        a, b = os.stat(os.path.expanduser(path)), os.fstat(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # no such file, or a stdout without a descriptor
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino) and not stat.S_ISREG(a.st_mode)


@contextmanager
def _direct(spec: OutputSpec, path: str, *, binary: bool) -> Iterator[IO]:
    """Write straight into a character device or a FIFO (opening a FIFO waits for its reader); a
    failed write (``/dev/full``: no space left) is one line."""
    if binary:
        kwargs: dict[str, Any] = {"mode": "wb"}
    else:
        kwargs = {"mode": "w", "encoding": spec.encoding, "errors": "strict",
                  "newline": "" if spec.format == "csv" else None}
    try:
        stream = open(os.path.expanduser(path), **kwargs)
    except OSError as exc:
        raise _cannot_write(path, _reason(exc)) from None
    try:
        try:
            yield stream
            stream.flush()
        finally:
            try:
                stream.close()
            except OSError:  # the error that matters is raised (or was) by the write or the flush
                pass
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise _cannot_write(path, _reason(exc)) from None


@contextmanager
def open_output(spec: OutputSpec, *, binary: bool = False) -> Iterator[IO]:
    """A stream for the command's output.

    ``spec.output`` None, ``-`` or a name of this process's stdout (``/dev/stdout``): stdout.  A
    character device or a FIFO: written directly.  Any other file that exists and is not a regular
    file (a socket, a block device) is refused.  A regular file: an atomic write -- a temporary file in the same
    folder, renamed over the target when the block ends without an exception; on an exception (or
    Ctrl-C) the temporary file is removed and the target is left as it was.  Text streams use the
    spec's encoding (utf-8 or gb18030: both hold every character, none is replaced) and ``newline=""`` for csv.
    Problems with the path raise :class:`crmctl.errors.InvalidInput` with a one-line reason.
    """
    if spec.output is None or spec.output == "-" or _is_stdout(str(spec.output)):
        with _stdout(spec, binary=binary) as stream:
            yield stream
        return

    path = str(spec.output)
    try:
        mode = os.stat(os.path.expanduser(path)).st_mode
    except OSError:
        mode = None  # a new file (or one the checks below explain)
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        with _direct(spec, path, binary=binary) as stream:  # a device or a pipe: written, never replaced
            yield stream
        return
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        kind = _("a socket") if stat.S_ISSOCK(mode) else _("a block device") if stat.S_ISBLK(mode) else _("special")
        raise _cannot_write(path, _("it is {kind}, not a regular file, a character device or a FIFO").format(kind=kind))
    target = os.path.realpath(os.path.expanduser(path))  # write through a symlink, not over it
    folder = os.path.dirname(target)
    shown_folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        if os.path.exists(folder):
            raise _cannot_write(path, _("{folder} is not a folder").format(folder=shown_folder))
        raise _cannot_write(path, _("folder {folder} does not exist").format(folder=shown_folder))
    if os.path.isdir(target):
        raise _cannot_write(path, _("it is a folder"))
    if os.path.exists(target) and not os.access(target, os.W_OK):
        raise _cannot_write(path, _("permission denied"))

    if binary:
        kwargs: dict[str, Any] = {"mode": "wb"}
    else:
        kwargs = {
            "mode": "w",
            "encoding": spec.encoding,
            "errors": "strict",
            "newline": "" if spec.format == "csv" else None,
        }
    import tempfile  # only when writing a file

    try:
        tmp = tempfile.NamedTemporaryFile(
            dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp", delete=False, **kwargs
        )
    except OSError as exc:
        raise _cannot_write(path, _reason(exc)) from None

    done = False
    try:
        try:
            yield tmp.file
        except OSError as exc:
            if exc.errno in _WRITE_FAILED:  # the write itself failed (disk full, quota)
                raise _cannot_write(path, _reason(exc)) from None
            raise
        try:
            tmp.file.flush()
            os.fsync(tmp.file.fileno())
            tmp.close()
            os.chmod(tmp.name, _new_file_mode(target))
            os.replace(tmp.name, target)
        except OSError as exc:
            raise _cannot_write(path, _reason(exc)) from None
        done = True
    finally:
        if not done:
            try:
                tmp.close()
            except Exception:  # pragma: no cover - best effort, the original error matters
                pass
            try:
                os.unlink(tmp.name)
            except OSError:
                pass


@contextmanager
def _target(spec: OutputSpec, stream: IO | None) -> Iterator[IO]:
    if stream is not None:
        yield stream
    else:
        with open_output(spec) as out:
            yield out


# --------------------------------------------------------------------------------------------------
# Writers


def _write_bom(spec: OutputSpec, stream: IO) -> None:
    if spec.bom and spec.encoding == "utf-8":  # refused with gb18030 (OutputSpec)
        stream.write("\ufeff")


def _write_csv(spec: OutputSpec, stream: IO, columns: list[Column], rows: Iterable[Mapping],
               label_columns: Sequence | None = None) -> int:
    keys = [c.key for c in columns]
    if any("." in k for k in keys):
        getters = [_getter(k) for k in keys]
        values: Iterable[Iterable[Any]] = ([g(row) for g in getters] for row in rows)
    else:
        values = (map(row.get, keys) for row in rows)
    if spec.labels:
        return _write_labelled_csv(spec, stream, keys, values, label_columns)
    return _write_csv_values(spec, stream, keys, values)


def heading(column: Column) -> str:
    """The heading a table or ``--labels`` CSV shows for ``column`` in the current language: its
    title through :func:`crmctl.i18n._` (a message id translated, a policy's label as it is); a
    column without a title shows its key (never translated)."""
    title = column.title
    if not title or title == column.key:
        return column.key
    return translate(title)


def labelled_headings(keys: Sequence[str], label_columns: Sequence | None) -> tuple[list[str], list[Column | None]]:
    """The ``--labels`` header of CSV columns ``keys`` (the view's heading in the current language,
    else the key; a heading that repeats gets its key added, ``Missed (missed)``, ``超时（missed）``)
    and each key's view column (or None)."""
    by_key = {c.key: c for c in _as_columns(label_columns or []) if isinstance(c, Column)}
    cols = [by_key.get(k) for k in keys]
    titles = [heading(c) if c is not None else k for k, c in zip(keys, cols)]
    seen: set[str] = set()
    out = []
    for k, t in zip(keys, titles):
        if t in seen or (t != k and t in keys):
            t = _("{heading} ({key})").format(heading=t, key=k)
        seen.add(t)
        out.append(t)
    return out, cols


def _write_labelled_csv(spec: OutputSpec, stream: IO, keys: list[str], values: Iterable[Iterable[Any]],
                        label_columns: Sequence | None) -> int:
    header, cols = labelled_headings(keys, label_columns)
    _write_bom(spec, stream)
    writer = csv.writer(stream)
    writer.writerow([escape_csv_cell(h) for h in header])
    n = 0
    for cells in values:
        writer.writerow([escape_csv_cell(label_text(v, c)) for v, c in zip(cells, cols)])
        n += 1
    return n


def _write_csv_values(spec: OutputSpec, stream: IO, keys: list[str], values: Iterable[Iterable[Any]]) -> int:
    """The header, then one line per sequence of cell values (escaped as :func:`escape_csv_cell`)."""
    _write_bom(spec, stream)
    writer = csv.writer(stream)
    writer.writerow([escape_csv_cell(k) for k in keys])
    writerow = writer.writerow
    dangerous, as_is, slow = _DANGEROUS, _CSV_AS_IS, _csv_slow
    n = 0
    for cells in values:
        # escape_csv_cell inlined: this line runs once per cell of an export
        writerow([v if v is None else (("'" + v) if v and v[0] in dangerous else v) if type(v) is str
                  else (v if type(v) in as_is else slow(v)) for v in cells])
        n += 1
    return n


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while an export query's plain tuples stream out: they make no
    reference cycles, and the collector would otherwise walk every live object again and again
    (~5 % of an export).  Not for rows built from ORM objects or other cyclic structures."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _write_json_array(stream: IO, rows: Iterable[Mapping]) -> int:
    write = stream.write
    encode = _JSON_LINE.encode
    n = 0
    for row in rows:
        try:
            text = encode(row)
        except TypeError:
            text = _JSON_LINE.encode(to_jsonable(row))
        write(",\n" if n else "[\n")
        write(text)
        n += 1
    write("\n]\n" if n else "[]\n")
    return n


def _stream_is_terminal(stream: IO) -> bool:
    """``stream`` is a terminal (tests fake one by replacing this function)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _console(stream: IO):
    from rich.console import Console

    if _stream_is_terminal(stream):
        # the terminal's width and height ($COLUMNS and $LINES when set, as rich reads them)
        return Console(file=stream, highlight=False, emoji=False, markup=False)
    return Console(
        file=stream,
        width=_WIDE,
        force_terminal=False,
        force_interactive=False,
        force_jupyter=False,
        color_system=None,
        no_color=True,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
        soft_wrap=False,
    )


def _text(text: str, encoding: str):
    from rich.text import Text

    # Text is never parsed for markup or emoji codes: "[red]" in a name prints literally.
    return Text(text)


def _cell_text(value: Any, column: Column | None) -> str:
    if value is not None and column is not None:
        if column.table_format is not None:
            value = column.table_format(value)
        elif column.number is not None:
            value = format_number(value, column.number, column.decimals)
    return _table_text(value)


def _cell(value: Any, column: Column | None, encoding: str):
    return _text(_cell_text(value, column), encoding)


def _as_columns(columns) -> list[Column]:
    """Display columns for a table: a data field (a key only, ``crmctl.fields.Field``, or the key
    itself) shows under its key."""
    return [c if isinstance(c, Column) else Column(getattr(c, "key", c)) for c in columns]


def _write_table(spec: OutputSpec, stream: IO, columns: list[Column], rows: Iterable[Mapping], title: str | None,
                 max_rows: int | None = None, more_hint: str = MORE_HINT) -> int:
    from crmctl.output_terminal import MORE_COLUMNS_HINT, fit_columns, keeps_whole, page, plain_table, rich_table

    columns = _as_columns(columns)
    console = _console(stream)
    keys = [c.key for c in columns]
    nested = any("." in k for k in keys)
    n = 0
    it = iter(rows)
    body: list[list[str]] = []
    for row in it:
        body.append([_cell_text(v, c) for v, c in zip(_values(row, keys, nested), columns)])
        n += 1
        if n >= (max_rows or TABLE_ROW_LIMIT):
            break
    more = sum(1 for _ in it)
    headings = []
    for c in columns:
        shown = heading(c)
        if c.number == "pct" and shown.endswith("%"):  # the cells carry the % (完成率 88.9%), CSV's heading keeps it
            shown = shown[:-1].rstrip()
        headings.append(shown)
    texts = [[r[i] for r in body] for i in range(len(columns))]
    whole = [keeps_whole(c, t) for c, t in zip(columns, texts)]
    hidden = 0
    terminal = console.width < _WIDE
    if terminal:  # a terminal: fit its width, the first columns kept, the rest named in a note
        fit, headings = fit_columns(headings, texts, whole, console.width)
        hidden = len(columns) - fit
        columns, whole, texts = columns[:fit], whole[:fit], texts[:fit]
    notes = []
    if hidden:
        notes.append(ngettext("… {n} more column: {hint}", "… {n} more columns: {hint}", hidden)
                     .format(n=hidden, hint=translate(MORE_COLUMNS_HINT)))
    if more:
        hint = translate(more_hint if max_rows else MORE_HINT)
        line = ngettext("… {n} more row; {hint}", "… {n} more rows; {hint}", more)
        notes.append(line.format(n=more, hint=hint))
    shown_title = translate(title) if title else None
    plain = None
    if not terminal and columns and console.encoding.startswith("utf"):  # else rich's ASCII box
        plain = plain_table(shown_title, headings, [c.justify for c in columns], texts, console.width)
    if plain is not None:
        stream.write(plain)
    elif columns:
        text = rich_table(console, shown_title, columns, headings, whole, texts)
        if terminal and stream is sys.stdout:
            text += "".join(line + "\n" for line in notes)
            if not page(stream, text, console.height, _stream_is_terminal(stream)):
                stream.write(text)
            return n + more
        stream.write(text)
    for line in notes:
        stream.write(line + "\n")
    return n + more


def _peek(rows: Iterable[Mapping]) -> tuple[Mapping | None, Iterable[Mapping]]:
    it = iter(rows)
    for first in it:
        return first, chain((first,), it)
    return None, ()


def emit_rows(
    spec: OutputSpec,
    rows: Iterable[Mapping],
    columns: list[Column] | None = None,
    *,
    title: str | None = None,
    stream: IO | None = None,
    table_rows: int | None = None,
    more_hint: str = MORE_HINT,
    fields: Sequence | None = None,
    label_columns: Sequence | None = None,
) -> int:
    """Write a list of things in ``spec.format``; returns how many rows there were.

    ``label_columns``: with ``spec.labels`` (csv), the view's columns that give the headings and
    labels of the CSV's columns (default: ``columns``); the CSV's columns stay the JSON keys.

    ``table_rows``: a table shows at most this many rows, then says how many more there are and
    ``more_hint`` (csv and json are always complete).

    ``rows`` may be a generator: json and csv are written row by row in constant memory.
    json writes each row whole, nested.  csv writes the JSON keys (:func:`csv_keys` of the first
    row: every row of a list has the same keys), whatever ``columns`` say; with zero rows the header
    is ``fields`` (the listing's declared keys, ``crmctl.fields.Field`` or Column), else ``columns``.
    ``columns`` pick, order and title the table's columns (dotted keys reach into nested mappings);
    when None they are taken from the first row.  ``stream`` (for tests/reuse) overrides
    ``spec.output``.
    """
    if spec.format == "json":
        with _target(spec, stream) as out:
            return _write_json_array(out, rows)
    if label_columns is None:
        label_columns = columns
    if spec.format == "xlsx":
        first, rows = _peek(rows)
        cols = _columns_from(first) if first is not None else _as_columns(fields or columns or [])
        return emit_sheets(spec, [(title, cols, rows, label_columns)], stream=stream)
    if spec.format == "csv" or columns is None:  # the JSON keys (a header even for zero rows)
        first, rows = _peek(rows)
        columns = _columns_from(first) if first is not None else _as_columns(fields or columns or [])
    with _target(spec, stream) as out:
        if spec.format == "csv":
            if not columns:
                _write_bom(spec, out)
                return 0
            return _write_csv(spec, out, columns, rows, label_columns)
        return _write_table(spec, out, columns, rows, title, table_rows, more_hint)


def emit_tuples(
    spec: OutputSpec,
    columns: list[Column],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    stream: IO | None = None,
    label_columns: Sequence | None = None,
) -> int:
    """Like :func:`emit_rows` for rows given as plain sequences in the order of ``columns`` (an
    export query's flat rows, which hold no reference cycles): csv writes them as they come, with the
    cyclic garbage collector paused; json objects and tables get one dict per row, keyed by the
    columns' keys (dotted, not nested).  Returns how many rows there were."""
    if spec.format == "xlsx":
        with _gc_paused():
            return emit_sheets(spec, [(title, columns, rows, columns if label_columns is None else label_columns)],
                               stream=stream, flat=True)
    if spec.format == "csv":
        with _target(spec, stream) as out, _gc_paused():
            if spec.labels:
                return _write_labelled_csv(spec, out, [c.key for c in columns], rows,
                                           columns if label_columns is None else label_columns)
            return _write_csv_values(spec, out, [c.key for c in columns], rows)
    keys = [c.key for c in columns]
    return emit_rows(spec, (dict(zip(keys, r)) for r in rows), columns, title=title, stream=stream,
                     label_columns=label_columns)


def _object_rows(obj: Mapping, fields: list[Column] | None) -> list[tuple[str, Any, Column | None]]:
    if fields is None:
        return [(k, v, None) for k, v in flatten(obj).items()]
    out: list[tuple[str, Any, Column | None]] = []
    for f in _as_columns(fields):
        value = _lookup(obj, f.key)
        if isinstance(value, Mapping) and f.table_format is None:
            out.extend((f"{heading(f)}.{k}", v, None) for k, v in flatten(value).items())
        else:
            out.append((heading(f), value, f))
    return out


def emit_object(
    spec: OutputSpec,
    obj: Mapping,
    fields: list[Column] | None = None,
    *,
    title: str | None = None,
    stream: IO | None = None,
) -> None:
    """Write one thing: json -> one (indented) object; csv -> header + one row; table -> a two-column
    table of field title and value, nested mappings flattened to dotted keys."""
    if spec.format == "json":
        with _target(spec, stream) as out:
            out.write(_json_encode(_JSON_PRETTY, obj))
            out.write("\n")
        return
    if spec.format in ("csv", "xlsx"):
        emit_rows(spec, [obj], fields, stream=stream, title=title)
        return
    from rich.table import Table

    enc = spec.encoding
    with _target(spec, stream) as out:
        console = _console(out)
        table = Table(title=_text(translate(title), enc) if title else None, show_header=False)
        table.add_column(style="bold" if console.is_terminal else None, overflow="fold")
        table.add_column(overflow="fold")
        for label, value, column in _object_rows(obj, fields):
            table.add_row(_text(str(label), enc), _cell(value, column, enc))
        console.print(table)


def emit_sheets(
    spec: OutputSpec,
    sheets: Iterable[tuple[str | None, Sequence, Iterable, Sequence | None]],
    *,
    charts: Sequence[tuple[str, str, Any, list]] = (),
    title: str | None = None,
    stream: IO | None = None,
    flat: bool = False,
) -> int:
    """An xlsx workbook (:mod:`crmctl.output_xlsx`) of :func:`write_sheets`, written into ``stream``
    (binary) or ``spec.output`` atomically; returns how many data rows there were."""
    with open_book(spec, title, stream) as book:
        return sum(n for _name, n in write_sheets(book, sheets, charts=charts, flat=flat))


@contextmanager
def open_book(spec: OutputSpec, title: str | None = None, stream: IO | None = None) -> Iterator[Any]:
    """An xlsx :class:`crmctl.output_xlsx.Book` over ``stream`` (binary) or ``spec.output`` (written
    atomically: nothing is left behind when the body fails)."""
    from crmctl.output_xlsx import Book, Shared

    shared = Shared(jsonable=to_jsonable, csv_text=_csv_text, sorted_set=_sorted_set, headings=labelled_headings)
    with _binary_target(spec, stream) as out:
        book = Book(out, translate(title) if title else None, shared=shared)
        yield book
        book.close()


def write_sheets(
    book: Any,
    sheets: Iterable[tuple[str | None, Sequence, Iterable, Sequence | None]],
    *,
    charts: Sequence[tuple[str, str, Any, list]] = (),
    flat: bool = False,
    prefix: str = "",
) -> list[tuple[str, int]]:
    """Into ``book``: one sheet per ``(name, columns, rows, label_columns)`` -- ``columns`` give the
    keys (dotted keys reach into nested rows), ``rows`` are mappings (or, with ``flat``, sequences in
    the order of the columns), ``label_columns`` the view's columns for the headings, labels and
    number formats -- then one sheet per ``(name, chart title, ChartSpec, points)`` of ``charts``
    with its data and a native chart (``points`` are read only when that sheet is written: they may
    be collected while the rows stream).  Sheet names are ``prefix`` + the (translated) name, made
    valid and unique.  Returns each sheet's name and how many data rows it has."""
    written: list[tuple[str, int]] = []
    for name, columns, rows, label_columns in sheets:
        keys = [getattr(c, "key", c) for c in columns]
        if flat:
            values: Iterable = rows
        elif any("." in k for k in keys):
            getters = [_getter(k) for k in keys]
            values = ([g(row) for g in getters] for row in rows)
        else:
            values = (map(row.get, keys) for row in rows)
        shown = prefix + (translate(name) if name else "Sheet1")
        n, ws = book.table(shown, keys, values, label_columns if label_columns is not None else columns)
        written.append((ws.get_name(), n))
    for name, chart_title, chart, points in charts:
        written.append((book.chart(prefix + translate(name), chart_title, chart, points), len(points)))
    return written


@contextmanager
def _binary_target(spec: OutputSpec, stream: IO | None) -> Iterator[IO]:
    if stream is not None:
        yield getattr(stream, "buffer", stream)
    else:
        with open_output(spec, binary=True) as out:
            yield out


def emit_text(spec: OutputSpec, text: str, stream: IO | None = None) -> None:
    """Plain text (a newline added if missing), to stdout or ``--output``."""
    with _target(spec, stream) as out:
        out.write(text if text.endswith("\n") else text + "\n")
