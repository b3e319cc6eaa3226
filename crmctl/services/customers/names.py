"""Customers of the same name (issue 16): found by the stored ``name_key`` (``rules.names``), one
indexed query for one name or a whole import file; warned about, or refused where the policy keeps
one record per customer (``[customers] unique_names``) unless ``--allow-duplicate-name`` (audited).
"""

from __future__ import annotations

import json
from collections.abc import Collection

from sqlalchemy import String, any_, bindparam, column, func, select

from ... import i18n
from ...errors import RuleViolation
from ...i18n import _
from ...models import Customer
from ...rules.names import FOLDED, describe_customers, name_key

__all__ = ["ALLOW_OPTION", "customers_named", "name_key", "check_name"]

ALLOW_OPTION = "--allow-duplicate-name"


def _key_in(session, keys: list[str]):
    """``customer.name_key`` among ``keys`` with one bound value whatever their number (an array on
    PostgreSQL, a JSON list read by ``json_each`` on SQLite), so that a file of any size is one query."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return Customer.name_key == any_(bindparam("name_keys", keys, type_=ARRAY(String)))
    listed = select(column("value")).select_from(func.json_each(bindparam("name_keys", json.dumps(keys))))
    return Customer.name_key.in_(listed)


def customers_named(session, keys: Collection[str], *, except_id: int | None = None) -> dict[str, dict[str, str]]:
    """name key -> {code: name} of the customers (any status) whose name has one of ``keys``, in code
    order: one query."""
    if not keys:
        return {}
    q = select(Customer.name_key, Customer.code, Customer.name).where(_key_in(session, sorted(set(keys))))
    if except_id is not None:
        q = q.where(Customer.id != except_id)
    found: dict[str, dict[str, str]] = {}
    for key, code, name in session.execute(q.order_by(Customer.code)).all():
        found.setdefault(key, {})[code] = name
    return found


def check_name(session, app, name: str, *, allow: bool, except_id: int | None = None) -> tuple[str, list[str], str | None]:
    """``name``'s key, the warnings to show and the audit note to keep for one customer named ``name``
    (added, or renamed: ``except_id`` is the customer itself).  Refused (one line) where the policy
    keeps names unique and ``allow`` was not given."""
    key = name_key(name)
    others = customers_named(session, [key], except_id=except_id).get(key)
    if not others:
        return key, [], None
    same = describe_customers(others)
    if allow:
        return key, [], f"duplicate name allowed ({ALLOW_OPTION}): the same name as customer {same}"
    if app.policy.customers.unique_names:
        raise RuleViolation(_("the name '{name}' is already customer {same} (the same name once {folded} are set "
                              "aside), and the policy keeps one record per customer ([customers] unique_names): "
                              "{option} records it anyway").format(
            name=name, same=i18n.text(same), folded=i18n.text(FOLDED), option=ALLOW_OPTION))
    return key, [_("the name '{name}' is already customer {same} (the same once {folded} are set aside)").format(
        name=name, same=i18n.text(same), folded=i18n.text(FOLDED))], None
