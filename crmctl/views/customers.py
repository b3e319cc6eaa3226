"""How customers are shown: the list's columns with the policy's Chinese labels."""

from __future__ import annotations

from . import Column, columns_for, count, labeller, pct, qty


def customer_columns(app, *, full: bool = True) -> list[Column]:
    """The columns of the customer list (``services.customers.customer_fields``, in the contract's
    order) with their headings, and codes shown as the policy's labels in tables."""
    from ..services.customers.reading import customer_fields

    pol = app.policy
    titles: dict = {"code": "编号", "name": "名称",
                    "status": Column("status", "状态", table_format=labeller(pol.statuses.labels())),
                    "owner": "负责人", "created_at": "建档时间", "tax_id": "统一社会信用代码"}
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
    return [Column("code", "编号"), Column("name", "名称"), count("contacts", "联系人数"), Column("required", "要求")]


def approval_columns(app) -> list[Column]:
    """``approve --list``: the admission steps and the requests (complaint extensions, handling
    opinions) waiting for the acting person."""
    kinds = {"admission": "客户准入", "extension": "投诉延期", "opinion": "投诉处理意见"}
    roles = app.policy.roles
    return [Column("kind", "事项", table_format=lambda v: kinds.get(v, v)), Column("code", "编号"),
            Column("name", "名称"), Column("step", "步骤"),
            Column("role", "角色", table_format=lambda v: roles.get(v, v)), Column("complaint", "投诉编号"),
            count("working_days", "延期工作日"), Column("submitted_at", "提交时间")]


def document_columns() -> list[Column]:
    return [Column("id"), Column("customer", "客户"), Column("name", "名称"), Column("type", "类型"),
            Column("type_label", "文件"), Column("number", "编号"), Column("expires", "有效期至"),
            count("days_left", "剩余天数"), Column("expired", "已过期"), Column("status", "客户状态")]


def sales_plan_columns() -> list[Column]:
    return [Column("customer", "客户"), Column("name", "名称"), Column("month", "月份"),
            qty("planned", "计划量"), qty("actual", "实际量"), pct("completion_pct", "完成率%")]

