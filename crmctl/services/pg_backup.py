"""PostgreSQL backups with ``pg_dump`` (issue 19): ``crmctl db backup FILE`` on a server database.

* The connection is the URL's (host, port, user, database and every query parameter: ``sslmode``,
  ``service``, ``options`` ...) as a libpq connection string; a password in the URL is given to the
  child in ``PGPASSWORD``, never on its command line, and is never printed.  Without one, libpq's own
  ways apply (``~/.pgpass``, ``PGPASSWORD``, a service file, certificates).
* Custom format (``-Fc``: compressed, restored with ``pg_restore``).  Where crmctl's tables are in a
  schema other than ``public`` (a ``search_path`` in the URL's ``options``), that schema only
  (``--schema``); else the whole database.
* Written to ``FILE.partial-PID`` first, checked with ``pg_restore --list``, then renamed: a failed or
  unreadable dump never takes FILE's name (and is removed; one a killed crmctl left, next time).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from ..db import PRIVATE_MODE, clean_stale_partials, partial_path
from ..errors import DatabaseError
from ..i18n import _

_URL_FIELDS = (("host", "host"), ("port", "port"), ("user", "username"), ("dbname", "database"))


def conninfo(url: str) -> tuple[str, dict[str, str]]:
    """``(libpq connection string without the password, extra environment)`` for the SQLAlchemy URL."""
    from psycopg.conninfo import make_conninfo

    u = make_url(url)
    params: dict[str, str] = {}
    for key, attr in _URL_FIELDS:
        value = getattr(u, attr)
        if value not in (None, ""):
            params[key] = str(value)
    for key, value in u.query.items():
        if key == "password":
            continue
        params[key] = value[-1] if isinstance(value, tuple) else str(value)
    env = {"PGPASSWORD": u.password} if u.password else {}
    if isinstance(u.query.get("password"), str):
        env = {"PGPASSWORD": u.query["password"]}
    return make_conninfo(**params), env


def dump_argv(url: str, dest: Path, schema: str | None) -> list[str]:
    """The ``pg_dump`` command line (no password in it)."""
    info, _env = conninfo(url)
    argv = ["pg_dump", "--format=custom", f"--file={dest}"]
    if schema and schema != "public":
        argv.append(f"--schema={schema}")
    return argv + [f"--dbname={info}"]


def shown(argv: list[str]) -> str:
    """A command line as a shell would take it."""
    return shlex.join(argv)


def _problem(stderr: bytes) -> str:
    from ..rules.text import mask_secrets

    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return mask_secrets(lines[0] if lines else "")[:300]


def tools() -> tuple[str, str]:
    """The paths of ``pg_dump`` and ``pg_restore``; refused (one line) when one is not installed."""
    dump_tool, restore_tool = shutil.which("pg_dump"), shutil.which("pg_restore")
    if dump_tool is None or restore_tool is None:
        raise DatabaseError(_("pg_dump and pg_restore are needed to back up a PostgreSQL database and are not "
                              "installed (or not on PATH): install the PostgreSQL client tools (e.g. "
                              "apt install postgresql-client), of the server's major version or newer"))
    return dump_tool, restore_tool


def dump(url: str, dest: Path, schema: str | None) -> None:
    """Run ``pg_dump`` into ``dest`` atomically, verified by ``pg_restore --list``."""
    dump_tool, restore_tool = tools()
    clean_stale_partials(dest.parent, lambda base: base == dest.name)  # what a killed pg_dump left
    tmp = partial_path(dest)
    argv = dump_argv(url, tmp, schema)
    argv[0] = dump_tool
    _info, extra = conninfo(url)
    env = {**os.environ, **extra}
    try:
        done = subprocess.run(argv, env=env, capture_output=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise DatabaseError(_("pg_dump failed, nothing was written to {path}: {problem}").format(
                path=dest, problem=_problem(done.stderr)))
        listed = subprocess.run([restore_tool, "--list", str(tmp)], capture_output=True, stdin=subprocess.DEVNULL)
        if listed.returncode != 0 or b"alembic_version" not in listed.stdout:
            raise DatabaseError(_("the dump pg_dump wrote cannot be read back by pg_restore --list ({problem}): "
                                  "nothing was written to {path}").format(
                path=dest, problem=_problem(listed.stderr) or _("no crmctl tables in it")))
        os.chmod(tmp, PRIVATE_MODE)  # a copy of the data is as private as the data
        os.replace(tmp, dest)
    except OSError as exc:
        raise DatabaseError(_("backup to {path} failed: {problem}").format(path=dest, problem=exc)) from None
    finally:
        tmp.unlink(missing_ok=True)
