"""How complaints, service tickets and proposals are listed: headings, short date-times, yes/no."""

from __future__ import annotations

from . import Column, money


def fmt_dt(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def fmt_bool(value) -> str:
    return "" if value is None else ("是" if value else "否")


def complaint_columns(app) -> list[Column]:
    sev = app.policy.complaints.severities if app.policy.complaints else {}
    return [
        Column("id", "编号"), Column("customer", "客户"),
        Column("severity", "性质", table_format=lambda v: sev.get(v, v)),
        Column("opened_at", "受理时间", table_format=fmt_dt), Column("due_at", "处理期限", table_format=fmt_dt),
        Column("closed_at", "结案时间", table_format=fmt_dt), Column("status", "状态"),
        Column("overdue", "超期", table_format=fmt_bool), Column("satisfied", "满意", table_format=fmt_bool),
        Column("owner", "负责人"),
    ]


def ticket_columns(app) -> list[Column]:
    pol = app.policy.service
    kinds = pol.kinds if pol else {}
    locs = pol.locations if pol else {}
    cols = [Column("id", "编号"), Column("customer", "客户"), Column("kind", "类型", table_format=lambda v: kinds.get(v, v))]
    if locs:
        cols.append(Column("location", "区域", table_format=lambda v: locs.get(v, v)))
    if pol and pol.service_types:
        cols.append(Column("service_type", "服务类别"))
    cols += [Column("opened_at", "受理时间", table_format=fmt_dt), Column("respond_by", "响应期限", table_format=fmt_dt),
             Column("arrive_by", "到达期限", table_format=fmt_dt), Column("resolve_by", "修复期限", table_format=fmt_dt),
             Column("technician", "技术员"), Column("status", "状态"),
             Column("overdue", "超期", table_format=fmt_bool)]
    return cols


def proposal_columns(app) -> list[Column]:
    cats = app.policy.proposals.categories if app.policy.proposals else {}
    return [Column("id", "编号"), Column("customer", "客户"),
            Column("category", "类别", table_format=lambda v: cats.get(v, v)),
            Column("summary", "内容"), Column("opened_at", "受理时间", table_format=fmt_dt),
            Column("due_at", "答复期限", table_format=fmt_dt), Column("closed_at", "答复时间", table_format=fmt_dt),
            Column("outcome", "结果"), money("saving", "降低成本"),
            Column("overdue", "超期", table_format=fmt_bool)]
