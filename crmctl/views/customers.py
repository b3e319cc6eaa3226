"""How customers are shown: the list's columns with the policy's labels; the other headings are
message ids (``N_``), shown in the user's language."""

from __future__ import annotations

from ..i18n import N_
from . import Column, columns_for, count, labeller, pct, qty, translated


def customer_columns(app, *, full: bool = True) -> list[Column]:
    """The columns of the customer list (``services.customers.customer_fields``, in the contract's
    order) with their headings, and codes shown as the policy's labels in tables."""
    from ..services.customers.reading import customer_fields

    pol = app.policy
    titles: dict = {"code": N_("Code"), "name": N_("Name"),
                    "status": Column("status", N_("Status"), table_format=labeller(pol.statuses.labels())),
                    "owner": N_("Owner"), "created_at": N_("Created"), "tax_id": N_("Tax id")}
    for seg in pol.segments:
        key = f"segments.{seg.key}"
        titles[key] = Column(key, seg.label, table_format=labeller(seg.values))
    for code, scale in pol.grading.scales.items():
        key = f"grades.{code}"
        titles[key] = Column(key, scale.label, table_format=labeller({g.code: g.label for g in scale.grades}))
    if pol.stability is not None:
        titles["stability"] = Column("stability", N_("Stability"),
                                     table_format=labeller(pol.stability.labels.model_dump()))
    for f in pol.fields:
        titles[f"fields.{f.key}"] = f.label
    return columns_for(customer_fields(pol, full=full), titles)


def contact_columns() -> list[Column]:
    """``customer contact check``."""
    return [Column("code", N_("Code")), Column("name", N_("Name")), count("contacts", N_("Contacts")),
            Column("required", N_("Required"))]


#: what ``approve --list`` lists: an admission step, a complaint's extension or handling opinion
APPROVAL_KINDS = {"admission": N_("Customer admission"), "extension": N_("Complaint extension"),
                  "opinion": N_("Complaint handling opinion")}


def approval_columns(app) -> list[Column]:
    """``approve --list``: the admission steps and the requests (complaint extensions, handling
    opinions) waiting for the acting person."""
    roles = app.policy.roles
    return [Column("kind", N_("Item"), table_format=translated(APPROVAL_KINDS)), Column("code", N_("Code")),
            Column("name", N_("Name")), Column("step", N_("Step")),
            Column("role", N_("Role"), table_format=lambda v: roles.get(v, v)), Column("complaint", N_("Complaint")),
            count("working_days", N_("Working days")), Column("submitted_at", N_("Submitted"))]


def document_columns() -> list[Column]:
    return [Column("id"), Column("customer", N_("Customer")), Column("name", N_("Name")), Column("type", N_("Type")),
            Column("type_label", N_("Document")), Column("number", N_("Number")), Column("expires", N_("Expires")),
            count("days_left", N_("Days left")), Column("expired", N_("Expired")),
            Column("status", N_("Customer status"))]


def sales_plan_columns() -> list[Column]:
    return [Column("customer", N_("Customer")), Column("name", N_("Name")), Column("month", N_("Month")),
            qty("planned", N_("Planned volume")), qty("actual", N_("Actual volume")),
            pct("completion_pct", N_("Completion %"))]
