"""How customers are shown: the list's columns with the policy's Chinese labels."""

from __future__ import annotations

from . import Column, columns_for, labeller


def customer_columns(app, *, full: bool = True) -> list[Column]:
    """The columns of the customer list (``services.customers.customer_fields``, in the contract's
    order) with their headings, and codes shown as the policy's labels in tables."""
    from ..services.customers.reading import customer_fields

    pol = app.policy
    titles: dict = {"code": "编号", "name": "名称",
                    "status": Column("status", "状态", table_format=labeller(pol.statuses.model_dump())),
                    "owner": "负责人", "created_at": "建档时间"}
    for seg in pol.segments:
        key = f"segments.{seg.key}"
        titles[key] = Column(key, seg.label, table_format=labeller(seg.values))
    for code, scale in pol.grading.scales.items():
        key = f"grades.{code}"
        titles[key] = Column(key, scale.label, table_format=labeller({g.code: g.label for g in scale.grades}))
    if pol.stability is not None:
        titles["stability"] = Column("stability", "稳定性", table_format=labeller(pol.stability.labels.model_dump()))
    for f in pol.fields:
        titles[f"fields.{f.key}"] = f.label
    return columns_for(customer_fields(pol, full=full), titles)


def contact_columns() -> list[Column]:
    """``customer contact check``."""
    return [Column("code", "编号"), Column("name", "名称"), Column("contacts", "联系人数"), Column("required", "要求")]
