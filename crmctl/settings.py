"""What the global options say (``--db``, ``--as``): kept free of heavy imports for fast start-up."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass


@dataclass
class Settings:
    """What the global options say: ``--db`` and ``--as``."""

    db: str | None = None
    actor: str | None = None

    def db_url(self) -> str:
        from .db import resolve_db_url

        return resolve_db_url(self.db)[0]

    def acting_login(self) -> str:
        if self.actor:
            return self.actor
        env = os.environ.get("CRMCTL_USER")
        if env:
            return env
        try:
            return getpass.getuser()
        except Exception:  # no login name at all (some containers)
            return "admin"
