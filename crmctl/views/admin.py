"""How staff, the audit trail and policy versions are listed."""

from __future__ import annotations

import json

from ..i18n import N_, _
from . import Column, yes_no


def staff_columns(app) -> list[Column]:
    roles = app.policy.roles

    def role_labels(v) -> str:
        return _(", ").join(roles.get(r, r) for r in v or [])

    return [
        Column("login", N_("Login")),
        Column("name", N_("Full name")),
        Column("roles", N_("Roles"), table_format=role_labels),
        Column("unit", N_("Unit")),
        Column("os_user", N_("OS account")),
        Column("active", N_("Active"), table_format=lambda v: yes_no(bool(v))),
        Column("admin", N_("Admin"), table_format=lambda v: _("yes") if v else ""),
    ]


def _compact(v) -> str:
    return "" if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True)[:200]


def audit_columns() -> list[Column]:
    return [
        Column("id"), Column("at", N_("Time")), Column("written_at", N_("Written")), Column("actor", N_("Actor")),
        Column("by", N_("Entered by")), Column("action", N_("Action")),
        Column("entity", N_("Entity")), Column("key", N_("Key")), Column("customer", N_("Customer")),
        Column("before", N_("Before"), table_format=_compact), Column("after", N_("After"), table_format=_compact),
        Column("policy_version", N_("Policy version")), Column("note", N_("Notes")),
    ]


def builtin_policy_columns() -> list[Column]:
    return [Column("name", N_("Name")), Column("title", N_("Regulation")), Column("company", N_("Company"))]


def policy_history_columns() -> list[Column]:
    return [Column("version"), Column("code"), Column("source"), Column("applied_at"), Column("applied_by"),
            Column("sha256")]


def config_columns() -> list[Column]:
    """``crmctl config show``: each setting, its value and where it came from."""
    return [Column("key", N_("Setting")), Column("value", N_("Value"), table_format=_config_value),
            Column("source", N_("From"), table_format=_config_source), Column("where", N_("Where"))]


def _config_value(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _config_source(v) -> str:
    return {"option": _("option"), "environment": _("environment"), "user": _("user file"),
            "system": _("system file"), "default": _("default")}.get(v, v)
