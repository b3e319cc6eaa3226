"""Usage records (``volume add`` / ``volume import``), monthly sales plans, last purchase dates.

``volume import`` streams the CSV: the file is hashed first (the duplicate-file guard), then read
row by row and written with ``executemany`` in chunks inside ONE write transaction, so a bad row at
the end still leaves nothing behind.  Customer codes are resolved with one query.
"""

from __future__ import annotations

import csv
import hashlib
from datetime import date
from pathlib import Path
from typing import Iterator

from sqlalchemy import func, select

from ..errors import InvalidInput, RuleViolation
from ..models import Customer, SalesPlan, UsageRecord
from ..progress import progress
from ..rules import grading as rules
from ..rules.conditions import matches
from ..rules.customers import clean_text
from ..rules.periods import parse_label
from ..rules.times import parse_date
from . import audit
from .app import App, parse_month
from .csvfiles import CsvFile, register_import
from .customers import get_customer

COLUMNS = ("customer", "date", "qty", "product", "amount")
REQUIRED = ("customer", "date", "qty")
CHUNK = 20_000
OLDEST = date(1990, 1, 1)
MAX_PRODUCT = 100


def _bad(exc: ValueError) -> InvalidInput:
    return InvalidInput(str(exc))


def _check_day(d: date, today: date, what: str = "--date") -> date:
    if d > today:
        raise ValueError(f"{what} {d.isoformat()} is in the future")
    if d < OLDEST:
        raise ValueError(f"{what} {d.isoformat()} is before {OLDEST.isoformat()}")
    return d


def _clean_product(text: str | None, what: str = "product") -> str | None:
    return clean_text(text or "", what, required=False, max_len=MAX_PRODUCT)


def record_dict(app: App, r: UsageRecord, code: str) -> dict:
    return {"id": r.id, "customer": code, "date": r.day, "qty": r.qty, "unit": app.policy.policy.volume_unit,
            "product": r.product, "amount": r.amount}


def add_volume(app: App, code: str, qty: str | float, *, day: str | None = None, product: str | None = None,
               amount: str | float | None = None) -> dict:
    """One usage record; returns it (with its id)."""
    today = app.now().date()
    try:
        q = rules.parse_quantity(qty, "--qty")
        d = _check_day(parse_date(day, "--date"), today) if day else today
        a = rules.parse_quantity(amount, "--amount") if amount not in (None, "") else None
        p = _clean_product(product, "--product")
    except ValueError as exc:
        raise _bad(exc) from None
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code)
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


def _encoding(encoding: str) -> str:
    enc = {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "gbk": "gb18030", "gb18030": "gb18030"}.get((encoding or "").lower())
    if enc is None:
        raise InvalidInput(f"unknown encoding '{encoding}': use utf-8 or gbk")
    return enc


def _insert_sql(conn) -> str:
    mark = {"qmark": "?", "numeric": None, "named": None}.get(conn.dialect.paramstyle, "%s")
    if mark is None:  # pragma: no cover - no supported driver uses these
        raise RuntimeError(f"unsupported paramstyle {conn.dialect.paramstyle}")
    return ("INSERT INTO usage_record (customer_id, day, qty, product, amount, import_id) "
            f"VALUES ({', '.join([mark] * 6)})")


def import_volumes(app: App, path: Path, *, encoding: str = "utf-8", allow_duplicates: bool = False) -> dict:
    """``volume import FILE``: columns customer,date,qty[,product,amount]; all rows or none."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"no file {path}")
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder, not a CSV file")
    enc = _encoding(encoding)
    name = path.name
    try:
        sha, lines = _hash_file(path)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    now = app.now()
    today = now.date()
    n = 0
    with app.db.write() as s:
        batch = register_import(s, "volume", CsvFile(path, sha, [], []), 0, now, app.actor.login, allow_duplicates)
        conn = s.connection()
        sql = _insert_sql(conn)
        iso_days = app.db.is_sqlite  # SQLite stores dates as ISO text: bind the text itself
        codes: dict[str, int] = dict(s.execute(select(Customer.code, Customer.id)).all())
        days: dict[str, object] = {}
        buf: list[tuple] = []
        batch_id = batch.id
        row_no = 1
        try:
            with path.open("r", encoding=enc, newline="") as fh, progress("importing volumes", total=max(lines - 1, 0)) as bar:
                reader = csv.reader(fh)
                header = [h.strip().lower() for h in (next(reader, None) or [])]
                ci, di, qi, pi, ai = _columns(header, name)
                width = len(header)
                for row in reader:
                    row_no = reader.line_num
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    if len(row) > width:
                        raise InvalidInput(f"{name}: row {row_no}: {len(row)} cells but {width} columns")
                    try:
                        code = row[ci].strip()
                        cid = codes.get(code)
                        if cid is None:
                            raise InvalidInput(f"{name}: row {row_no}: unknown customer '{code}'" if code
                                               else f"{name}: row {row_no}: customer is empty")
                        ds = row[di]
                        day = days.get(ds)
                        if day is None:
                            d = _check_day(parse_date(ds, "date"), today, "date")
                            day = days[ds] = d.isoformat() if iso_days else d
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
                        if ai is not None and ai < len(row) and row[ai].strip():
                            cell = row[ai]
                            try:
                                amount = float(cell)
                            except ValueError:
                                amount = -1.0
                            if not 0.0 <= amount <= rules.MAX_QTY:
                                amount = rules.parse_quantity(cell, "amount")
                    except IndexError:
                        raise InvalidInput(f"{name}: row {row_no}: {len(row)} cells, customer, date and qty are required") from None
                    except ValueError as exc:
                        raise InvalidInput(f"{name}: row {row_no}: {exc}") from None
                    buf.append((cid, day, q, product, amount, batch_id))
                    if len(buf) >= CHUNK:
                        conn.exec_driver_sql(sql, buf)
                        n += len(buf)
                        bar.advance(len(buf))
                        buf = []
                if buf:
                    conn.exec_driver_sql(sql, buf)
                    n += len(buf)
                    bar.advance(len(buf))
        except UnicodeDecodeError:
            hint = " (try --encoding gbk)" if enc.startswith("utf") else ""
            raise InvalidInput(f"{name}: row {row_no + 1} is not valid {encoding}{hint}") from None
        except csv.Error as exc:
            raise InvalidInput(f"{name}: row {row_no + 1}: {exc}") from None
        if n == 0:
            raise InvalidInput(f"{name}: no data rows")
        batch.rows = n
        s.add(batch)
        audit.record(s, app, "volume.import", "import_batch", str(batch_id), at=now,
                     after={"file": name, "rows": n, "sha256": sha, "seq": batch.seq})
    return {"imported": n, "batch": batch_id, "file": name}


def _columns(header: list[str], name: str) -> tuple[int, int, int, int | None, int | None]:
    if not header or not any(header):
        raise InvalidInput(f"{name}: empty file or no header row")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InvalidInput(f"{name}: unknown column '{unknown[0]}': use {', '.join(COLUMNS)}")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise InvalidInput(f"{name}: column {dup[0]} appears twice in the header")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(f"{name}: the header needs a '{missing[0]}' column (customer,date,qty[,product,amount])")
    pos = {h: i for i, h in enumerate(header)}
    return pos["customer"], pos["date"], pos["qty"], pos.get("product"), pos.get("amount")


# ----------------------------------------------------------------------------------------------
# Last purchase (stability)


def last_purchase_subquery():
    """One aggregate: the last day each customer bought anything (``customer_id``, ``last``)."""
    return (select(UsageRecord.customer_id.label("customer_id"), func.max(UsageRecord.day).label("last"))
            .group_by(UsageRecord.customer_id).subquery("last_purchase"))


def last_purchase(session, customer_id: int) -> date | None:
    return session.scalar(select(func.max(UsageRecord.day)).where(UsageRecord.customer_id == customer_id))


# ----------------------------------------------------------------------------------------------
# Sales plans


def plan_applies(policy, segments: dict, fields: dict) -> bool:
    """Who submits plans: the policy's ``[sales_plans].when``, and the groups the allocation report
    ranks by completion rate (their completion needs a plan)."""
    sp = policy.sales_plans
    if sp is None:
        return False
    if matches(sp.when, segments=segments, fields=fields):
        return True
    al = policy.reports.allocation if policy.reports else None
    return bool(al and segments.get(al.segment) in (al.rank_by_completion or []))


def set_plan(app: App, code: str, month: str, qty: str | float) -> dict:
    """``plan set``: the volume a customer plans to take in a month (replaces an earlier plan)."""
    pol = app.policy
    if pol.sales_plans is None:
        raise RuleViolation("this policy has no sales plans ([sales_plans] is not defined)")
    m = parse_month(month).label
    try:
        q = rules.parse_quantity(qty, "--qty")
    except ValueError as exc:
        raise _bad(exc) from None
    now = app.now()
    with app.db.write() as s:
        c = get_customer(s, code)
        if c.status == "disqualified":
            raise RuleViolation(f"customer {c.code} is disqualified")
        if not plan_applies(pol, c.segments or {}, c.fields or {}):
            raise RuleViolation(f"customer {c.code} does not submit sales plans under this policy "
                                f"([sales_plans].when)")
        old = s.get(SalesPlan, (c.id, m))
        before = {"month": m, "qty": old.qty} if old else None
        if old is None:
            old = SalesPlan(customer_id=c.id, month=m, qty=q, set_at=now, set_by=app.actor.login)
        else:
            old.qty, old.set_at, old.set_by = q, now, app.actor.login
        s.add(old)
        after = {"month": m, "qty": q}
        audit.record(s, app, "plan.set", "sales_plan", f"{c.code}/{m}", before=before, after=after,
                     customer_code=c.code, at=now)
    return {"customer": c.code, "month": m, "qty": q, "unit": pol.policy.volume_unit}


def list_plans(app: App, *, month: str | None = None, customer: str | None = None) -> Iterator[dict]:
    """Plans with the actual volume of their month and the completion rate (two aggregates)."""
    m = parse_month(month).label if month else None
    q = (select(SalesPlan.customer_id, Customer.code, Customer.name, SalesPlan.month, SalesPlan.qty)
         .join(Customer, Customer.id == SalesPlan.customer_id).order_by(SalesPlan.month, Customer.code))
    if m:
        q = q.where(SalesPlan.month == m)
    with app.db.read() as s:
        if customer:
            q = q.where(SalesPlan.customer_id == get_customer(s, customer).id)
        rows = s.execute(q).all()
        months = sorted({r.month for r in rows})
        actual: dict[tuple[int, str], float] = {}
        for mon in months:
            p = parse_label(mon, "month")
            aq = (select(UsageRecord.customer_id, func.sum(UsageRecord.qty))
                  .where(UsageRecord.day >= p.start, UsageRecord.day < p.end).group_by(UsageRecord.customer_id))
            ids = {r.customer_id for r in rows if r.month == mon}
            if len(ids) <= 500:
                aq = aq.where(UsageRecord.customer_id.in_(ids))
            for cid, total in s.execute(aq):
                if cid in ids:
                    actual[(cid, mon)] = total or 0.0
    for r in rows:
        done = actual.get((r.customer_id, r.month), 0.0)
        yield {"customer": r.code, "name": r.name, "month": r.month, "planned": r.qty, "actual": done,
               "completion_pct": rules.completion_rate(done, r.qty)}


