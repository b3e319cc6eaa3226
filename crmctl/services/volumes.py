"""Usage records (``volume add`` / ``volume import``): liftings, refuellings, meter readings.

The totals that grading, churn and reports read are in ``volume_totals.py``; sales plans in
``sales_plans.py``.

``volume import`` streams the CSV: the file is hashed first (the duplicate-file guard), then read
row by row, every cell checked by the rules, inside ONE write transaction, so a bad row at the end
still leaves nothing behind.  On SQLite the rows are written with ``executemany`` in chunks, customer
codes resolved from one query; on PostgreSQL they are streamed with ``COPY`` into a staging table
and merged with one ``INSERT … SELECT`` that resolves the codes on the server (client memory stays
flat whatever the number of customers), unknown codes found by one anti-join.
"""

from __future__ import annotations

import csv
import hashlib
from contextlib import ExitStack
from datetime import date
from pathlib import Path

from sqlalchemy import select

from ..db import CopyIn, copy_supported, insert_sql
from ..db_bulk import bulk_load
from ..errors import InvalidInput
from ..i18n import _
from ..models import Customer, UsageRecord
from ..progress import Progress, silent
from ..rules import grading as rules
from ..rules.customers import clean_text
from ..rules.limits import EARLIEST_DATE, MAX_SHORT_TEXT
from ..rules.errors import Invalid, RuleError
from ..rules.times import parse_date
from ..rules.usage import check_record_day
from . import audit, xlsxfiles
from .app import App
from .csvfiles import CsvFile, decoding, register_import
from .lookups import get_customer

COLUMNS = ("customer", "date", "qty", "product", "amount")
REQUIRED = ("customer", "date", "qty")
CHUNK = 20_000
OLDEST = EARLIEST_DATE
MAX_PRODUCT = MAX_SHORT_TEXT


def _check_day(d: date, today: date, what: str = "--date") -> date:
    if d > today:
        raise Invalid(_("{what} {day} is in the future").format(what=what, day=d.isoformat()))
    if d < OLDEST:
        raise Invalid(_("{what} {day} is before {oldest}").format(what=what, day=d.isoformat(), oldest=OLDEST.isoformat()))
    return d


def _clean_product(text: str | None, what: str = "product") -> str | None:
    return clean_text(text or "", what, required=False, max_len=MAX_PRODUCT)


def _check_status(app: App, code: str, status: str, changed_at, reason: str | None, day: date) -> None:
    """petrochem Art. 15, 17: no usage dated while the customer's business is suspended or ended."""
    statuses = app.policy.statuses
    if status in statuses.no_records:
        since = changed_at.astimezone(app.tz).date() if changed_at is not None else None
        check_record_day(code, status, since, day, statuses.no_records, statuses.label(status), reason)


def _blocked(app: App, session) -> dict[str, tuple]:
    """Customers in a ``[statuses] no_records`` status (few rows): code -> (code, status, since, reason)."""
    refused = app.policy.statuses.no_records
    if not refused:
        return {}
    rows = session.execute(select(Customer.code, Customer.status, Customer.status_changed_at,
                                  Customer.status_reason).where(Customer.status.in_(refused))).all()
    return {code: (code, st, at, why) for code, st, at, why in rows}


def record_dict(app: App, r: UsageRecord, code: str) -> dict:
    return {"id": r.id, "customer": code, "date": r.day, "qty": r.qty, "unit": app.policy.policy.volume_unit,
            "product": r.product, "amount": r.amount}


def add_volume(app: App, code: str, qty: str | float, *, day: str | None = None, product: str | None = None,
               amount: str | float | None = None) -> dict:
    """One usage record; returns it (with its id)."""
    today = app.now().date()
    q = rules.parse_quantity(qty, "--qty")
    d = _check_day(parse_date(day, "--date", today=today), today) if day else today
    a = rules.parse_quantity(amount, "--amount") if amount not in (None, "") else None
    p = _clean_product(product, "--product")
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code)
        _check_status(app, c.code, c.status, c.status_changed_at, c.status_reason, d)
        r = UsageRecord(customer_id=c.id, day=d, qty=q, product=p, amount=a)
        s.add(r)
        s.flush()
        out = record_dict(app, r, c.code)
        audit.record(s, app, "volume.add", "usage_record", str(r.id), after=out, customer_code=c.code, at=now)
    return out


# ----------------------------------------------------------------------------------------------
# CSV import


def _hash_file(path: Path) -> tuple[str, int]:
    """sha256 and number of lines, read in blocks (constant memory)."""
    h = hashlib.sha256()
    lines = 0
    with path.open("rb") as fh:
        while True:
            block = fh.read(1 << 20)
            if not block:
                break
            h.update(block)
            lines += block.count(b"\n")
    return h.hexdigest(), lines


INSERT_COLUMNS = ("customer_id", "day", "qty", "product", "amount", "import_id")


def import_volumes(app: App, path: Path, *, encoding: str | None = None, sheet: str | None = None,
                   allow_duplicates: bool = False, progress: Progress = silent) -> dict:
    """``volume import FILE``: columns customer,date,qty[,product,amount]; all rows or none.  FILE is
    a CSV file or an ``.xlsx`` workbook (the first sheet, or ``sheet``), both read streaming."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(_("no file {path}").format(path=path))
    if path.is_dir():
        raise InvalidInput(_("{path} is a folder, not a CSV file").format(path=path))
    kind = xlsxfiles.sniff(path)
    xlsxfiles.refuse_unreadable(path, kind)
    xlsxfiles.check_options(kind, encoding, sheet)
    name = path.name
    if kind == "xlsx":
        book = xlsxfiles.Sheet(path, sheet)
        try:
            return _import(app, path, book.label, book.sha256, (book.max_row or 1) - 1, None, book,
                           allow_duplicates, progress)
        finally:
            book.close()
    encoding = encoding or "utf-8"
    enc = decoding(encoding)
    try:
        sha, lines = _hash_file(path)
    except OSError as exc:
        raise InvalidInput(_("cannot read {path}: {reason}").format(path=path, reason=exc.strerror)) from None
    return _import(app, path, name, sha, max(lines - 1, 0), (enc, encoding), None, allow_duplicates, progress)


#: what the cells of each column hold in a workbook (``xlsxfiles.cell_value``): a product may be a
#: whole number (92, 0 for diesel), a customer code is text
_KINDS = {"customer": xlsxfiles.TEXT, "date": xlsxfiles.DATE, "qty": xlsxfiles.NUMBER, "product": xlsxfiles.CODE,
          "amount": xlsxfiles.NUMBER}


def _typed_rows(rows, header: list[str], label: str):
    """A workbook's rows as the import reads a CSV's: text, or numbers in qty and amount."""
    kinds = [_KINDS.get(h, xlsxfiles.CODE) for h in header]
    width = len(kinds)
    cell_value = xlsxfiles.cell_value
    for n, row in rows:
        try:
            yield n, [v if type(v) is str else (cell_value(v, kinds[i], header[i]) if i < width else v)
                      for i, v in enumerate(row)]
        except RuleError as exc:
            raise exc.within(_("{file}: row {row}").format(file=label, row=n)) from None


def _import(app: App, path: Path, name: str, sha: str, total: int, text: tuple[str, str] | None, book,
            allow_duplicates: bool, progress: Progress) -> dict:
    """The import itself, of a CSV (``text``: the codec and the encoding as the user gave it) or a
    workbook's sheet (``book``); ``name`` names the file in messages."""
    now = app.now()
    today = now.date()
    n = 0
    with app.db.write() as s:
        batch = register_import(s, "volume", CsvFile(path, sha, [], []), 0, now, app.actor.login, allow_duplicates)
        conn = s.connection()
        iso_days = app.db.is_sqlite  # SQLite stores dates as ISO text: bind the text itself
        blocked = _blocked(app, s)
        days: dict[str, object] = {}
        batch_id = batch.id
        row_no = 1
        # a big first load: the indexes dropped before the rows come (on PostgreSQL before the COPY
        # starts: its connection is busy until the copy ends), built again at the end
        with bulk_load(conn, "usage_record", total):
            sink = (_Executemany(s, conn, name, batch_id) if app.db.is_sqlite or not copy_supported(conn)
                    else _Copy(conn, name, batch_id))
            try:
                with ExitStack() as stack:
                    bar = stack.enter_context(progress(_("importing volumes"), total=max(total, 0)))
                    if book is None:
                        fh = stack.enter_context(path.open("r", encoding=text[0], newline=""))
                        reader = csv.reader(fh)
                        header = [h.strip().lower() for h in (next(reader, None) or [])]
                        source = ((reader.line_num, row) for row in reader)
                    else:
                        sheet_rows = book.rows()
                        header = [h.lower() for h in xlsxfiles.header_of(book, sheet_rows)[1]]
                        source = _typed_rows(sheet_rows, header, name)
                    ci, di, qi, pi, ai = _columns(header, name)
                    width = len(header)
                    stack.push(sink.exit)  # the copy ended (a refused row: before the row numbers are compared)
                    customer, add = sink.customer, sink.add
                    for row_no, row in source:
                        if not row or (len(row) == 1 and isinstance(row[0], str) and not row[0].strip()):
                            continue
                        if len(row) > width:
                            raise InvalidInput(_("{file}: row {row}: {cells} cells but {width} columns").format(
                                file=name, row=row_no, cells=len(row), width=width))
                        try:
                            code = row[ci].strip()
                            if not code:
                                raise InvalidInput(_("{file}: row {row}: customer is empty").format(file=name, row=row_no))
                            cid = customer(code, row_no)
                            ds = row[di]
                            day = days.get(ds)
                            if day is None:
                                d = _check_day(parse_date(ds, "date"), today, "date")
                                day = days[ds] = d.isoformat() if iso_days else d
                            if code in blocked:
                                b = blocked[code]
                                _check_status(app, b[0], b[1], b[2], b[3], date.fromisoformat(day) if iso_days else day)
                            cell = row[qi]
                            try:
                                q = float(cell)
                            except ValueError:
                                q = -1.0
                            if not 0.0 <= q <= rules.MAX_QTY:
                                q = rules.parse_quantity(cell, "qty")  # raises with the precise reason
                            product = amount = None
                            if pi is not None and pi < len(row):
                                product = row[pi].strip() or None
                                if product and (len(product) > MAX_PRODUCT or not product.isprintable()):
                                    product = _clean_product(product)
                            if ai is not None and ai < len(row) and (type(row[ai]) is not str or row[ai].strip()):
                                cell = row[ai]
                                try:
                                    amount = float(cell)
                                except ValueError:
                                    amount = -1.0
                                if not 0.0 <= amount <= rules.MAX_QTY:
                                    amount = rules.parse_quantity(cell, "amount")
                        except IndexError:
                            raise InvalidInput(_("{file}: row {row}: {cells} cells, customer, date and qty are required").format(
                                file=name, row=row_no, cells=len(row))) from None
                        except RuleError as exc:
                            raise exc.within(_("{file}: row {row}").format(file=name, row=row_no)) from None
                        if add(row_no, cid, day, q, product, amount):
                            bar.advance(CHUNK)
                    n = sink.finish()  # PostgreSQL: the merge, after the unknown codes' check
                    bar.advance(n % CHUNK)
            except InvalidInput:
                sink.earlier_unknown(row_no)  # an unknown code before the refused row is the first problem
                raise
            except UnicodeDecodeError:
                sink.earlier_unknown(row_no + 1)
                enc, encoding = text
                message = (_("{file}: row {row} is not valid {encoding} (try --encoding gbk)") if enc.startswith("utf")
                           else _("{file}: row {row} is not valid {encoding}"))
                raise InvalidInput(message.format(file=name, row=row_no + 1, encoding=encoding)) from None
            except csv.Error as exc:
                sink.earlier_unknown(row_no + 1)
                raise InvalidInput(_("{file}: row {row}: {problem}").format(file=name, row=row_no + 1, problem=exc)) from None
        if n == 0:
            raise InvalidInput(_("{file}: no data rows").format(file=name))
        batch.rows = n
        s.add(batch)
        audit.record(s, app, "volume.import", "import_batch", str(batch_id), at=now,
                     after={"file": path.name, "rows": n, "sha256": sha, "seq": batch.seq})
    return {"imported": n, "batch": batch_id, "file": path.name}


def _unknown(name: str, row_no: int, code: str) -> InvalidInput:
    return InvalidInput(_("{file}: row {row}: unknown customer '{code}'").format(file=name, row=row_no, code=code))


class _Executemany:
    """Rows into usage_record with ``executemany`` in chunks; codes resolved from one query."""

    def __init__(self, session, conn, name: str, batch_id: int):
        self.conn, self.name, self.batch_id = conn, name, batch_id
        self.sql = insert_sql(conn, "usage_record", INSERT_COLUMNS)
        self.codes: dict[str, int] = dict(session.execute(select(Customer.code, Customer.id)).all())
        self.buf: list[tuple] = []
        self.n = 0

    def customer(self, code: str, row_no: int) -> int:
        cid = self.codes.get(code)
        if cid is None:
            raise _unknown(self.name, row_no, code)
        return cid

    def add(self, _row_no: int, cid: int, day, q: float, product, amount) -> bool:
        """Queue one row; True when a chunk was written."""
        self.buf.append((cid, day, q, product, amount, self.batch_id))
        if len(self.buf) < CHUNK:
            return False
        self._flush()
        return True

    def _flush(self) -> None:
        if self.buf:
            self.conn.exec_driver_sql(self.sql, self.buf)
            self.n += len(self.buf)
            self.buf = []

    def finish(self) -> int:
        self._flush()
        return self.n

    def earlier_unknown(self, _row_no: int) -> None:
        """Unknown codes are refused as they are read: none can hide before a later problem."""

    def exit(self, *_exc) -> bool:
        return False


class _Copy:
    """PostgreSQL: rows streamed with ``COPY`` into a temporary staging table (dropped at commit),
    then one ``INSERT … SELECT`` joining customer on the code.  The codes are not
    held by the client; an unknown one is found by one anti-join, with its row number."""

    STAGE = "crm_volume_stage"

    def __init__(self, conn, name: str, batch_id: int):
        self.conn, self.name, self.batch_id = conn, name, batch_id
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {self.STAGE} (row_no integer NOT NULL, code text NOT NULL, "
                             "day date NOT NULL, qty double precision NOT NULL, product text, "
                             "amount double precision) ON COMMIT DROP")
        self.copy = CopyIn(conn, self.STAGE, ("row_no", "code", "day", "qty", "product", "amount"))
        self.write = self.copy.write_row
        self.n = 0
        self.done = False

    def customer(self, code: str, _row_no: int) -> str:
        return code  # resolved by the merge

    def add(self, row_no: int, code: str, day, q: float, product, amount) -> bool:
        self.write((row_no, code, day, q, product, amount))
        self.n += 1
        return self.n % CHUNK == 0

    def _end_copy(self) -> None:
        if not self.done:
            self.done = True
            self.copy.close()

    def _first_unknown(self, before: int | None) -> tuple[int, str] | None:
        self._end_copy()
        limit = "" if before is None else f" AND s.row_no < {int(before)}"
        return self.conn.exec_driver_sql(
            f"SELECT s.row_no, s.code FROM {self.STAGE} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM customer c WHERE c.code = s.code){limit} ORDER BY s.row_no LIMIT 1").first()

    def finish(self) -> int:
        bad = self._first_unknown(None)
        if bad is not None:
            raise _unknown(self.name, bad[0], bad[1])
        n = self.conn.exec_driver_sql(
            f"INSERT INTO usage_record ({', '.join(INSERT_COLUMNS)}) SELECT c.id, s.day, s.qty, s.product, s.amount, "
            f"{int(self.batch_id)} FROM {self.STAGE} s JOIN customer c ON c.code = s.code").rowcount
        if n != self.n:  # cannot happen (every code was found): never import a different number of rows
            raise InvalidInput(_("{file}: {rows} rows read but {merged} merged").format(file=self.name, rows=self.n,
                                                                                      merged=n))
        return n

    def earlier_unknown(self, row_no: int) -> None:
        if self.copy.failed:
            return
        bad = self._first_unknown(row_no)
        if bad is not None:
            raise _unknown(self.name, bad[0], bad[1]) from None

    def exit(self, exc_type, _exc, _tb) -> bool:
        """Leaving the rows: a refused row ends the copy normally (its rows stay in the staging
        table, which the rollback drops, so that an earlier unknown code can still be found); an
        interrupt or a database error abandons it."""
        if not self.done and exc_type is not None:
            self.done = True
            if issubclass(exc_type, (InvalidInput, RuleError, UnicodeDecodeError, csv.Error)):
                self.copy.close()
            else:
                self.copy.abort()
        return False


def _columns(header: list[str], name: str) -> tuple[int, int, int, int | None, int | None]:
    if not header or not any(header):
        raise InvalidInput(_("{file}: empty file or no header row").format(file=name))
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InvalidInput(_("{file}: unknown column '{column}': use {columns}").format(
            file=name, column=unknown[0], columns=", ".join(COLUMNS)))
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise InvalidInput(_("{file}: column {column} appears twice in the header").format(file=name, column=dup[0]))
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(_("{file}: the header needs a '{column}' column (customer,date,qty[,product,amount])").format(
            file=name, column=missing[0]))
    pos = {h: i for i, h in enumerate(header)}
    return pos["customer"], pos["date"], pos["qty"], pos.get("product"), pos.get("amount")
