"""What the edge of the program says: the global options (``--db``, ``--as``), the environment and
the OS account the process runs as.

The environment is read here, once, when the settings are made (``crmctl.cli`` makes them for a
command; tests and tools make their own): ``CRMCTL_DB``, ``CRMCTL_USER``, ``CRMCTL_NOW`` (a fixed
"now" for back-filling and tests) and ``CRMCTL_ALLOW_NETWORK_FS``; the configuration files
(``crmctl.config``) when the command line asks :meth:`Settings.use_config`.  Everything below takes what it needs from here, so nothing
deeper reads the environment.  Kept free of heavy imports for fast start-up.

The OS account is the process's real user id looked up in the user database -- not ``$USER`` or
``$LOGNAME``, which anyone can set.  Who that account is in crmctl (and whether it may act for
someone else) is decided by ``crmctl.services.identity``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def os_account() -> str | None:
    """The name of the OS account of the process's real user id (None: the id has no name)."""
    try:
        import pwd
    except ImportError:  # pragma: no cover - Windows: the session's login name
        import getpass

        return getpass.getuser() or None
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid without an entry in the user database (some containers)
        return None


@dataclass
class Settings:
    """``db`` and ``actor`` from ``--db`` / ``--as`` (else the environment, else the configuration
    files); ``now`` is the text of ``CRMCTL_NOW`` (None: the real clock); ``os_user`` the process's
    OS account; ``quiet`` / ``verbose`` from ``-q`` / ``-v``; ``output`` the CSV defaults of the
    environment and the configuration files (``bom``, ``encoding``: used where no option is given)."""

    db: str | None = None
    actor: str | None = None
    now: str | None = field(default_factory=lambda: _env("CRMCTL_NOW"))
    env_db: str | None = field(default_factory=lambda: _env("CRMCTL_DB"), repr=False)
    env_user: str | None = field(default_factory=lambda: _env("CRMCTL_USER"), repr=False)
    os_user: str | None = field(default_factory=os_account)
    #: ``--no-pager``: a long table on a terminal is written as it is, never through a pager
    no_pager: bool = False
    #: ``CRMCTL_ALLOW_NETWORK_FS=1``: a SQLite file on a network filesystem that only this host opens
    allow_network_fs: bool = field(default_factory=lambda: _env("CRMCTL_ALLOW_NETWORK_FS") == "1", repr=False)
    lang: str | None = None
    quiet: bool = False
    verbose: bool = False
    config_db: str | None = field(default=None, repr=False)
    output: dict = field(default_factory=dict, repr=False)

    def use_config(self) -> None:
        """Take the defaults of the configuration files (and ``CRMCTL_BOM`` / ``CRMCTL_ENCODING``);
        a file with an unknown key or a bad value is refused (``crmctl.config.ConfigError``)."""
        from . import config

        cfg = config.load()
        cfg.check()
        db = cfg.value("db")
        self.config_db = db.value if db.source in ("user", "system") else None
        self.output = {key: cfg.value(key).value for key in ("bom", "encoding")}

    def db_url(self) -> str:
        from .db import resolve_db_url

        return resolve_db_url(self.db or self.env_db or self.config_db, allow_network_fs=self.allow_network_fs)[0]

    def acting_for(self) -> str | None:
        """The login named with ``--as`` or ``CRMCTL_USER`` (None: the person themselves)."""
        return self.actor or self.env_user
