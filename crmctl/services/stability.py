"""Stability and churn (fuel-retail Art. 6 and 9; gas-tiered Art. 17-18): existing / lost / potential
customers, and the customers whose usage fell far below the base period.

Stability is derived, never stored: from the customer's status and the last day it bought anything
(one index seek per customer, :func:`crmctl.services.volume_totals.last_purchase_column`), by the rule in
:mod:`crmctl.rules.grading` (Python and SQL forms side by side).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..db import IN_CHUNK
from ..errors import RuleViolation
from ..i18n import _
from ..models import Customer
from ..rules import grading as rules
from ..rules.codes import pick_code
from ..rules.errors import Invalid
from ..rules.periods import last_completed, parse_label
from .app import App
from .population import Watched, covered_customers
from .volume_totals import last_purchase_column, period_sums


def stability_clause(app: App, which: str, last_col):
    """SQL condition on a customer row joined to the last-purchase aggregate (``last_col``)."""
    st = app.policy.stability
    if st is None:
        raise RuleViolation(_("this policy does not define stability ([stability])"))
    which = pick_code(st.labels.model_dump(), which, "stability", "--stability")  # by code or label (流失客户)
    cutoff = rules.lost_cutoff(app.now().date(), st.lost_after_months)
    return rules.stability_sql(which, Customer.status, last_col, cutoff)


def stability_of(app: App, status: str, last: date | None) -> str | None:
    st = app.policy.stability
    if st is None:
        return None
    return rules.stability(status, last, app.now().date(), st.lost_after_months)


def stability_counts(app: App) -> dict[str, int]:
    """How many customers are existing / lost / potential (disqualified ones left out)."""
    st = app.policy.stability
    if st is None:
        return {}
    q = select(Customer.status, last_purchase_column()).where(Customer.status != "disqualified")
    classify = rules.stability_classifier(app.now().date(), st.lost_after_months)
    out = {k: 0 for k in rules.STABILITIES}
    with app.db.read() as s:
        for status, last in s.execute(q.execution_options(yield_per=5000)):
            out[classify(status, last)] += 1
    return out


def churn_warnings(app: App, label: str | None = None) -> list[dict]:
    """Customers whose usage fell by at least ``[churn].warn_drop_pct`` % against the base period
    (the same period a year before, or the period before): two aggregates."""
    ch = app.policy.churn
    if ch is None:
        raise RuleViolation(_("this policy has no churn warning ([churn])"))
    today = app.now().date()
    try:
        per = parse_label(label.strip(), ch.period) if label else last_completed(ch.period, today)
    except Invalid as exc:
        raise exc.within("--label") from None
    base = per.shifted(years=-1) if ch.compare == "same_period_last_year" else per.previous()
    out = []
    with app.db.read() as s:
        pop = covered_customers(s, Watched(ch.applies_to))
        this = period_sums(s, per.start, per.end)
        before = period_sums(s, base.start, base.end)
        names = {}
        for cid in pop.ids:
            b = before.get(cid)
            t = this.get(cid) or 0.0
            if rules.churn_warning(t, b, ch.warn_drop_pct):
                out.append((cid, t, b))
        ids = [cid for cid, _t, _b in out]
        for i in range(0, len(ids), IN_CHUNK):
            for cid, code, name in s.execute(select(Customer.id, Customer.code, Customer.name)
                                             .where(Customer.id.in_(ids[i:i + IN_CHUNK]))):
                names[cid] = (code, name)
    rows = [{"customer": names[cid][0], "name": names[cid][1], "label": per.label, "base_label": base.label,
             "volume": t, "base_volume": b, "drop_pct": rules.drop_pct(t, b)} for cid, t, b in out]
    rows.sort(key=lambda r: (-r["drop_pct"], r["customer"]))
    return rows
