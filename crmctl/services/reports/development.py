"""Market development (petrochem Art. 6): prospects added and customers admitted per customer
manager in a period, against the manager's targets."""

from __future__ import annotations

from ...fields import fields
from ._common import as_int, bounds, choose_period, pct
from .registry import Params, ReportResult, report


def _fields(app, params: Params):
    return fields("label", "manager", "name", "prospects_target", "prospects_added", "prospects_pct",
                  "admitted_target", "admitted", "admitted_pct")


def _periods(policy) -> tuple[str, ...]:
    return (policy.development.targets_per,) if policy.development is not None else ("quarter",)


@report("development", order=120, columns=_fields, needs=("development",), periods=_periods,
        summary="Prospects added and customers admitted per customer manager against the period's targets.",
        description="""
Added: customers created in the period (not imported), by keeper.
Admitted: the last step of the admission chain done in the period.
The period is the policy's [development] targets_per (a quarter for petrochem).
""", options=("period", "label"))
def development(app, params: Params) -> ReportResult:
    from sqlalchemy import and_, func, select

    from ...models import Approval, Customer, DevelopmentTarget, Staff

    kind = app.policy.development.targets_per
    per = choose_period(app, "development", params, (kind,))
    lo, hi = bounds(app, per)
    chain = list(app.policy.admission.chain)
    if chain:
        final = and_(Approval.decision == "approve", Approval.step == len(chain))
    else:
        final = Approval.decision == "submit"

    def rows():
        with app.db.read() as s:
            targets = {sid: (p, a) for sid, p, a in s.execute(
                select(DevelopmentTarget.staff_id, DevelopmentTarget.prospects, DevelopmentTarget.admitted)
                .where(DevelopmentTarget.label == per.label))}
            # customers developed (not imported from an older system) in the period, by their keeper
            added = dict(s.execute(select(Customer.owner_id, func.count(Customer.id))
                                   .where(Customer.created_at >= lo, Customer.created_at < hi,
                                          Customer.import_id.is_(None), Customer.owner_id.is_not(None))
                                   .group_by(Customer.owner_id)).all())
            admitted = dict(s.execute(select(Customer.owner_id, func.count(func.distinct(Approval.customer_id)))
                                      .join(Customer, Customer.id == Approval.customer_id)
                                      .where(final, Approval.at >= lo, Approval.at < hi, Customer.owner_id.is_not(None))
                                      .group_by(Customer.owner_id)).all())
            ids = set(targets) | set(added) | set(admitted)
            staff = {i: (login, name) for i, login, name in s.execute(
                select(Staff.id, Staff.login, Staff.name).where(Staff.id.in_(sorted(ids))))} if ids else {}
        for sid in sorted(ids, key=lambda i: staff.get(i, ("", ""))[0]):
            login, name = staff.get(sid, (None, None))
            tp, ta = targets.get(sid, (None, None))
            n_added, n_adm = as_int(added.get(sid)), as_int(admitted.get(sid))
            yield {"label": per.label, "manager": login, "name": name, "prospects_target": tp,
                   "prospects_added": n_added, "prospects_pct": pct(n_added, tp), "admitted_target": ta,
                   "admitted": n_adm, "admitted_pct": pct(n_adm, ta)}

    return ReportResult("development", _fields(app, params), rows(), period=per)
