"""Shell completion that knows the data: customer codes, staff logins, complaint, ticket and proposal
numbers, period labels and segment values complete on Tab.

Installed with ``crmctl --install-completion`` (bash, zsh, fish, PowerShell; Click's own scripts).
Each Tab press runs ``crmctl`` with ``_CRMCTL_COMPLETE`` set, so what runs here must be fast: the
database is read with the standard library's :mod:`sqlite3` only (no SQLAlchemy, SQLModel or
pydantic), read-only (a ``file:…?mode=ro`` URI: completion never creates, locks for writing or
migrates a database), with a prefix match and a LIMIT.  The database is the one the command line
names: ``--db`` before the command, else ``$CRMCTL_DB``, else ``crm.db`` in the user data folder.
A PostgreSQL URL completes nothing (connecting to a server on every Tab is not worth it).  Any
problem -- no database yet, an old schema, a locked or damaged file -- completes nothing: never a
traceback in the middle of a command line.

:func:`attach` gives the parameters of a loaded command group their completion, by what they
name: a ``CODE`` argument and ``--customer`` take customer codes; ``--owner``, ``--technician``,
``--staff``, ``--login``, ``--handover-to`` and a ``LOGIN`` argument take logins; the ``ID``
argument of ``complaint``, ``service`` and ``proposal`` their numbers; ``--label`` / ``--quarter``
period labels around now; ``--segment`` ``KEY=VALUE`` from the stored policy.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Any, Callable

#: at most this many candidates a Tab press
LIMIT = 50
_TIMEOUT = 0.2  # seconds to wait for a busy database, then complete nothing


# --------------------------------------------------------------------------------------------------
# The database


def _db_value(ctx: Any) -> str | None:
    root = ctx.find_root() if ctx is not None else None
    value = (root.params.get("db") if root is not None else None) or os.environ.get("CRMCTL_DB") or None
    return value


def database_path(value: str | None) -> str | None:
    """The SQLite file ``--db``/``CRMCTL_DB`` names (``value``; None: the default location), or None
    for a PostgreSQL URL or anything else that is not a file."""
    if not value:
        from platformdirs import user_data_path

        return str(user_data_path("crmctl", appauthor=False) / "crm.db")
    if "://" in value:
        scheme, _, rest = value.partition("://")
        if scheme.split("+")[0] != "sqlite" or not rest.startswith("/"):
            return None
        path = rest[1:].split("?")[0]  # sqlite:///relative, sqlite:////absolute
        return path if path and path != ":memory:" else None
    return os.path.expanduser(value)


def _connect(ctx: Any):
    """A read-only connection to the command line's SQLite database, or None."""
    import sqlite3
    from urllib.parse import quote

    path = database_path(_db_value(ctx))
    if not path or not os.path.isfile(path):
        return None
    conn = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True, timeout=_TIMEOUT)
    return conn


def _query(ctx: Any, sql: str, params: tuple) -> list[tuple]:
    conn = _connect(ctx)
    if conn is None:
        return []
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _like(incomplete: str) -> str:
    """A LIKE pattern matching text that starts with ``incomplete`` (its % _ \\ taken literally)."""
    return incomplete.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# --------------------------------------------------------------------------------------------------
# What completes


def customer_codes(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """(code, name) of customers whose code starts with ``incomplete`` (any case); when none does,
    those whose name holds it (Tab after part of a name gives the code)."""
    rows = _query(ctx, "SELECT code, name FROM customer WHERE code LIKE ? ESCAPE '\\' ORDER BY code LIMIT ?",
                  (_like(incomplete), LIMIT))
    if not rows and incomplete:
        rows = _query(ctx, "SELECT code, name FROM customer WHERE name LIKE ? ESCAPE '\\' ORDER BY code LIMIT ?",
                      ("%" + _like(incomplete), LIMIT))
    return rows


def logins(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """(login, name) of staff whose login starts with ``incomplete``: people still here first."""
    return _query(ctx, "SELECT login, name FROM staff WHERE login LIKE ? ESCAPE '\\' "
                       "ORDER BY left_at IS NOT NULL, login LIMIT ?", (_like(incomplete), LIMIT))


_NUMBERED = {"complaint": "complaint", "service": "service_ticket", "proposal": "proposal"}


def numbers(table: str) -> Callable[[Any, str], list[tuple[str, str]]]:
    """Complaint, ticket or proposal numbers starting with ``incomplete``, the newest first."""
    def complete(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
        return _query(ctx, f"SELECT t.number, c.code || ' ' || c.name FROM {table} t "  # noqa: S608 - fixed names
                           "JOIN customer c ON c.id = t.customer_id "
                           "WHERE t.number LIKE ? ESCAPE '\\' ORDER BY t.id DESC LIMIT ?", (_like(incomplete), LIMIT))
    return complete


def _today() -> date:
    fixed = os.environ.get("CRMCTL_NOW")
    if fixed:
        try:
            return datetime.fromisoformat(fixed.strip().replace("Z", "+00:00")).date()
        except ValueError:
            pass
    return date.today()


def period_labels(ctx: Any, incomplete: str, only: str | None = None) -> list[tuple[str, str]]:
    """Period labels around now, the most recent completed first: the last 12 months and this one,
    the last 4 quarters and this one, 2 half-years and this one, this year and the 2 before (next
    year too, for targets and plans); labels graded before (``grade_run``) are added after them.
    ``only``: ``"year"`` or ``"month"`` for an option that takes only those."""
    today = _today()
    y, m = today.year, today.month
    out: list[str] = []
    if only != "year":
        months = [(y * 12 + m - 1 - i) for i in range(0, 13)]
        out += [f"{v // 12}-{v % 12 + 1:02d}" for v in months[1:]] + [f"{y}-{m:02d}"]
    if only is None:
        q = (m - 1) // 3
        quarters = [y * 4 + q - i for i in range(0, 5)]
        out += [f"{v // 4}-Q{v % 4 + 1}" for v in quarters[1:]] + [f"{y}-Q{q + 1}"]
        h = (m - 1) // 6
        halves = [y * 2 + h - i for i in range(0, 3)]
        out += [f"{v // 2}-H{v % 2 + 1}" for v in halves[1:]] + [f"{y}-H{h + 1}"]
    if only != "month":
        out += [str(y - 1), str(y - 2), str(y), str(y + 1)]
    try:
        out += [r[0] for r in _query(ctx, "SELECT DISTINCT label FROM grade_run WHERE label LIKE ? ESCAPE '\\' "
                                          "ORDER BY label DESC LIMIT ?", (_like(incomplete), LIMIT))]
    except Exception:  # noqa: BLE001 - no grade_run table yet: the generated labels still complete
        pass
    seen: set[str] = set()
    found = []
    for label in out:
        if label.startswith(incomplete) and label not in seen and _kind_ok(label, only):
            seen.add(label)
            found.append((label, ""))
    return found[:LIMIT]


def _kind_ok(label: str, only: str | None) -> bool:
    if only == "year":
        return label.isdigit()
    if only == "month":
        return len(label) == 7 and label[4] == "-" and label[5:].isdigit()
    return True


def _policy(ctx: Any) -> dict:
    try:
        import tomllib  # novermin (tomli below on Python 3.10)
    except ImportError:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    rows = _query(ctx, "SELECT text FROM policy_version ORDER BY version DESC LIMIT 1", ())
    return tomllib.loads(rows[0][0]) if rows else {}


def _value_pairs(values: Any) -> list[tuple[str, str]]:
    if isinstance(values, dict):
        return [(str(k), str(v) if not isinstance(v, dict) else str(v.get("label", ""))) for k, v in values.items()]
    if isinstance(values, list):
        out = []
        for v in values:
            if isinstance(v, dict):
                out.append((str(v.get("code", v.get("key", ""))), str(v.get("label", ""))))
            else:
                out.append((str(v), ""))
        return out
    return []


def segment_pairs(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """``KEY=`` then ``KEY=VALUE`` of the stored policy's segments (by code; the label as help)."""
    segments = [s for s in _policy(ctx).get("segments", []) if isinstance(s, dict) and "key" in s]
    key, eq, value = incomplete.partition("=")
    if not eq:
        return [(f"{s['key']}=", str(s.get("label", ""))) for s in segments if str(s["key"]).startswith(key)][:LIMIT]
    for s in segments:
        if s["key"] == key:
            return [(f"{key}={code}", label) for code, label in _value_pairs(s.get("values")) if code.startswith(value)]
    return []


# --------------------------------------------------------------------------------------------------
# Wiring into the Click parameters


def _completer(fetch: Callable[[Any, str], list[tuple[str, str]]]):
    def shell_complete(ctx: Any, param: Any, incomplete: str):
        try:
            from typer._click.shell_completion import CompletionItem
        except ImportError:  # pragma: no cover - older Typer
            from click.shell_completion import CompletionItem
        try:
            found = fetch(ctx, incomplete or "")
        except Exception:  # noqa: BLE001 - a Tab press never shows a traceback: it completes nothing
            if os.environ.get("CRMCTL_DEBUG"):
                raise
            return []
        return [CompletionItem(value, help=help_ or None) for value, help_ in found]

    shell_complete.crmctl = True  # type: ignore[attr-defined]
    return shell_complete


_LOGIN_OPTIONS = {"owner", "technician", "staff", "login", "handover_to"}


def _fetch_for(group: str, command: str, param: Any) -> Callable | None:
    kind = type(param).__name__
    name = param.name or ""
    is_argument = "Argument" in kind
    if is_argument:
        if name == "code":
            return customer_codes
        if name == "login" and (group, command) != ("staff", "add"):
            return logins
        if name == "ident" and group in _NUMBERED:
            return numbers(_NUMBERED[group])
        return None
    if name == "customer":
        return customer_codes
    if name in _LOGIN_OPTIONS:
        return logins
    if name in ("label", "quarter", "month"):
        only = {"YYYY": "year", "YYYY-MM": "month"}.get(getattr(param, "metavar", None) or "")
        if only is None and name == "month":
            only = "month"
        return period_labels if only is None else (lambda ctx, incomplete: period_labels(ctx, incomplete, only))
    if name == "segment":
        return segment_pairs
    return None


def attach(command: Any, group: str | None = None, path: str = "") -> None:
    """Give the parameters of ``command`` (a loaded command or group of ``crmctl``) their completion
    (parameters that already have one keep it)."""
    group = group or command.name or ""
    for param in getattr(command, "params", ()):
        if getattr(param, "_custom_shell_complete", None) is not None:
            continue
        fetch = _fetch_for(group, path, param)
        if fetch is not None:
            param._custom_shell_complete = _completer(fetch)
    for name, sub in (getattr(command, "commands", None) or {}).items():
        attach(sub, group, name)
