"""What the edge of the program says: the global options (``--db``, ``--as``) and the environment.

The environment is read here, once, when the settings are made (``crmctl.cli`` makes them for a
command; tests and tools make their own): ``CRMCTL_DB``, ``CRMCTL_USER`` and ``CRMCTL_NOW`` (a fixed
"now" for back-filling and tests).  Everything below takes what it needs from here, so nothing
deeper reads the environment.  Kept free of heavy imports for fast start-up.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


@dataclass
class Settings:
    """``db`` and ``actor`` from ``--db`` / ``--as`` (else the environment); ``now`` is the text of
    ``CRMCTL_NOW`` (None: the real clock)."""

    db: str | None = None
    actor: str | None = None
    now: str | None = field(default_factory=lambda: _env("CRMCTL_NOW"))
    env_db: str | None = field(default_factory=lambda: _env("CRMCTL_DB"), repr=False)
    env_user: str | None = field(default_factory=lambda: _env("CRMCTL_USER"), repr=False)

    def db_url(self) -> str:
        from .db import resolve_db_url

        return resolve_db_url(self.db or self.env_db)[0]

    def acting_login(self) -> str:
        if self.actor:
            return self.actor
        if self.env_user:
            return self.env_user
        try:
            return getpass.getuser()
        except Exception:  # no login name at all (some containers)
            return "admin"
