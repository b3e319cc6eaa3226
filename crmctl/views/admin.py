"""How staff, the audit trail and policy versions are listed."""

from __future__ import annotations

import json

from . import Column


def staff_columns(app) -> list[Column]:
    roles = app.policy.roles
    return [
        Column("login", "登录名"),
        Column("name", "姓名"),
        Column("roles", "角色", table_format=lambda v: "、".join(roles.get(r, r) for r in v or [])),
        Column("unit", "单位"),
        Column("os_user", "系统账户"),
        Column("active", "在职", table_format=lambda v: "是" if v else "否"),
        Column("admin", "管理员", table_format=lambda v: "是" if v else ""),
    ]


def _compact(v) -> str:
    return "" if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True)[:200]


def audit_columns() -> list[Column]:
    return [
        Column("id"), Column("at", "时间"), Column("written_at", "写入时间"), Column("actor", "操作人"),
        Column("by", "代办人"), Column("action", "操作"),
        Column("entity", "对象"), Column("key", "编号"), Column("customer", "客户"),
        Column("before", "变更前", table_format=_compact), Column("after", "变更后", table_format=_compact),
        Column("policy_version", "制度版本"), Column("note", "备注"),
    ]


def builtin_policy_columns() -> list[Column]:
    return [Column("name", "名称"), Column("title", "管理办法"), Column("company", "公司")]


def policy_history_columns() -> list[Column]:
    return [Column("version"), Column("code"), Column("source"), Column("applied_at"), Column("applied_by"),
            Column("sha256")]
