"""Demo step: 18 months of usage (more when a rank scale compares with last year), manual factor
scores, monthly sales plans, then every scale graded for its last completed periods."""

from __future__ import annotations

from datetime import timedelta
from typing import Iterator

from sqlalchemy import insert, select

from ...db import insert_sql
from ...db_bulk import bulk_load
from ... import i18n
from ...i18n import _
from ...models import Customer, FactorScore, SalesPlan
from ...rules import grading as rules
from ...rules.periods import Period, last_completed, period_containing
from .. import audit
from ..app import App
from ..grading import grade_customers, rank_scales
from ..registry import demo_step
from ..sales_plans import plan_applies
from ..stability import churn_warnings, stability_counts
from ..volumes import INSERT_COLUMNS

DEMO_REVIEWS = 4  # consecutive periods graded by the demo (a step limit needs several reviews)


def _demo_price_range(policy) -> tuple[float, float] | None:
    """Unit prices for demo amounts: a spread inside the bands of a ``spread`` factor (from 0 up),
    above the purchase price when the factor has purchase prices."""
    for sc in rank_scales(policy).values():
        for f in sc.factors.values():
            if f.source == "spread" and f.bands:
                base = max(f.purchase_prices.values(), default=0.0)
                lo = max(f.bands[0].min, 0.0)
                hi = f.bands[-1].max if f.bands[-1].max is not None else f.bands[-1].min * 1.5
                return max(base + lo, 0.01), base + hi
    return None


def _demo_target(rng, scale) -> float:
    """A metric value inside a randomly chosen band, so that every grade of a threshold scale occurs."""
    b = rng.choice(scale.bands)
    hi = b.max if b.max is not None else max(b.min * 1.6, b.min + 1)
    return rng.uniform(b.min, hi) * 0.97 if b.max is not None else rng.uniform(b.min * 1.02, hi)


@demo_step(order=10)
def demo_step(app: App, rng) -> Iterator[str]:
    """What ``crmctl demo`` does for grading on a freshly imported database: 18 months of volumes (more
    when a rank scale compares with last year), manual scores, monthly sales plans, then every scale
    graded for its last completed periods; one summary line per stage.  Generic over the policy."""
    from dateutil.relativedelta import relativedelta

    pol = app.policy
    scales = dict(pol.grading.scales)
    if not scales and pol.stability is None and pol.churn is None and pol.sales_plans is None:
        return
    now = app.now()
    today = now.date()
    reviews: dict[str, list[Period]] = {}
    for code, sc in scales.items():
        last = last_completed(sc.review_period, today)
        reviews[code] = [last.shifted(periods=-k) for k in range(DEMO_REVIEWS - 1, -1, -1)]
    start = period_containing("month", today - relativedelta(months=18)).start
    for code, sc in scales.items():
        if sc.method == "rank":
            start = min(start, reviews[code][-1].shifted(years=-1).start)
    for code in reviews:
        reviews[code] = [p for p in reviews[code] if p.start >= start]
    months = []
    m = start
    while m <= today:
        months.append(m)
        m = m + relativedelta(months=1)
    price = _demo_price_range(pol)
    lost_after = pol.stability.lost_after_months if pol.stability else None
    with app.db.write() as s:
        people = s.execute(select(Customer.id, Customer.segments, Customer.fields, Customer.created_at)
                           .where(Customer.status == "active").order_by(Customer.id)).all()
        rows: list[tuple] = []  # written 20 000 at a time: a big demo never holds its records in memory
        records = 0
        plans: list[dict] = []
        iso = app.db.is_sqlite
        conn = s.connection()
        sql = insert_sql(conn, "usage_record", INSERT_COLUMNS)
        month_ends = [mon + relativedelta(months=1) for mon in months]
        tomorrow = today + timedelta(days=1)
        # about 3.5 records a month per customer: a big demo loads its records, then builds the indexes
        with bulk_load(conn, "usage_record", len(people) * len(months) * 3):
            for cid, segs, flds, created in people:
                segs, flds = segs or {}, flds or {}
                level = None  # monthly volume
                for code, sc in scales.items():
                    if not rules.matches(sc.applies_to, segments=segs, fields=flds, status="active"):
                        continue
                    if sc.method == "rank":
                        level = 10 ** rng.uniform(4.5, 6.4)  # m³ a month: yearly volume across the factor bands
                    else:
                        target = _demo_target(rng, sc)
                        per_months = reviews[code][-1].months if reviews[code] else 1
                        level = target / (1.1 if getattr(sc, "aggregate", "sum") == "max_month" else per_months)
                    break
                if level is None:
                    level = 10 ** rng.uniform(1, 3)
                trend = rng.uniform(0.7, 1.4)  # this year against last year (growth)
                stop = None
                r = rng.random()
                if lost_after and r < 0.06:
                    continue  # never bought: a potential customer
                if lost_after and r < 0.16:
                    stop = today - relativedelta(months=lost_after + rng.randrange(0, 3), days=rng.randrange(1, 20))
                unit = price and rng.uniform(*price)
                first = max(start, created.astimezone(app.tz).date() - relativedelta(months=12))
                for i, mon in enumerate(months):
                    if mon < first.replace(day=1):
                        continue
                    season = 1 + 0.2 * rng.uniform(0.5, 1.0) * (1 if mon.month in (11, 12, 1, 2) else -0.3)
                    age = (len(months) - 1 - i) / 12.0
                    month_total = level * season * (trend ** -min(age, 1.0)) * rng.uniform(0.85, 1.15)
                    n = rng.randint(2, 5)
                    days = (min(month_ends[i], tomorrow) - mon).days
                    if days <= 0:
                        continue
                    for _k in range(n):
                        day = mon + timedelta(days=rng.randrange(days))  # (timedelta: 6 M records at 100 000 customers)
                        if stop is not None and day > stop:
                            continue
                        q = round(month_total / n, 2)
                        amt = round(q * unit * rng.uniform(0.95, 1.05), 2) if unit and rng.random() < 0.9 else None
                        rows.append((cid, day.isoformat() if iso else day, q, None, amt, None))
                    if pol.sales_plans is not None and plan_applies(pol, segs, flds) and mon < today.replace(day=1):
                        plans.append({"customer_id": cid, "month": f"{mon.year:04d}-{mon.month:02d}",
                                      "qty": round(month_total * rng.uniform(0.8, 1.3), 1), "set_at": now,
                                      "set_by": app.actor.login})
                if len(rows) >= 20_000:
                    conn.exec_driver_sql(sql, rows)
                    records += len(rows)
                    rows = []
            if rows:
                conn.exec_driver_sql(sql, rows)
                records += len(rows)
        for i in range(0, len(plans), 5_000):
            s.execute(insert(SalesPlan), plans[i:i + 5_000])
        # manual factors of rank scales, for the first graded label (they carry over)
        scored = 0
        score_rows = []
        for code, sc in rank_scales(pol).items():
            manual = [k for k, f in sc.factors.items() if f.source == "manual"]
            if not manual or not reviews[code]:
                continue
            label = reviews[code][0].label
            for cid, segs, flds, _created in people:
                if rules.matches(sc.applies_to, segments=segs or {}, fields=flds or {}, status="active") \
                        and rng.random() < 0.75:
                    scored += 1
                    score_rows += [{"customer_id": cid, "scale": code, "label": label, "factor": k,
                                    "value": rng.randint(3, 9), "set_at": now, "set_by": app.actor.login}
                                   for k in manual]
        for i in range(0, len(score_rows), 5_000):
            s.execute(insert(FactorScore), score_rows[i:i + 5_000])
        audit.record(s, app, "volume.demo", "usage_record", "demo", at=now,
                     after={"records": records, "plans": len(plans), "scored": scored})
    if records:
        yield _("volumes:  {n} usage records ({unit}) for {customers} active customers, {first} to {last}").format(
            n=records, unit=pol.policy.volume_unit_label, customers=len(people), first=f"{months[0]:%Y-%m}",
            last=f"{today:%Y-%m}")
    if scored:
        yield _("scores:   manual factors scored for {n} customers (the others count the policy's default)").format(n=scored)
    if plans:
        yield _("plans:    {n} monthly sales plans").format(n=len(plans))
    for code, sc in scales.items():
        done = []
        for per in reviews[code]:
            summary = grade_customers(app, per.kind, per.label, code, reassign=True)[0]
            done.append(per.label)
        if not done:
            continue
        grades = {g.code: g.label for g in sc.grades}
        counts = ", ".join(_("{grade} {n}").format(grade=i18n.label(g, grades), n=n)
                              for g, n in reversed(list(summary["counts"].items())))
        yield _("grading:  {scale} {periods}: {graded} graded in {period} ({counts}); "
                "{reassigned} moved to the keeper their grade needs").format(
            scale=code, periods=", ".join(done), graded=summary["graded"], period=summary["label"], counts=counts,
            reassigned=summary["reassigned"])
    if pol.stability is not None:
        st = stability_counts(app)
        labels = pol.stability.labels.model_dump()
        yield _("stability: {counts}").format(counts=", ".join(
            _("{stability} {n}").format(stability=i18n.label(k, labels), n=v) for k, v in st.items()))
    if pol.churn is not None:
        warned = churn_warnings(app)
        yield _("churn:    {n} customers used ≥ {pct}% less than the base period").format(
            n=len(warned), pct=pol.churn.warn_drop_pct)
