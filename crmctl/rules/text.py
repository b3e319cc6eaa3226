"""Text taken as typed: LIKE patterns with the wildcards of the user's text escaped, and messages with
the passwords of database URLs (or of connection strings) masked.

Pure: no imports beyond ``re``.
"""

from __future__ import annotations

import re

#: The escape character of every LIKE pattern made here (``... LIKE :p ESCAPE '\\'``).
LIKE_ESCAPE = "\\"


def like_escape(text: str) -> str:
    """``text`` with LIKE's wildcards (``%``, ``_``) and the escape character taken literally."""
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")


def like_contains(text: str) -> str:
    """A LIKE pattern matching any text that contains ``text`` literally."""
    return f"%{like_escape(text)}%"


def like_pattern(text: str, wildcard: str = "*") -> str:
    """A LIKE pattern in which only ``wildcard`` (``customer.*``) matches anything."""
    return "%".join(like_escape(part) for part in text.split(wildcard))


# user:password@ in any URL-like text (with or without a scheme, whatever comes before it), and
# password=... in a connection string or a query.
_USERINFO = re.compile(r"(?P<user>[^\s:/@'\"]*):(?!//)(?P<secret>[^\s@'\"]*)@")
_KEYWORD = re.compile(r"(?P<key>\b(?:password|passwd|pwd|sslpassword)\s*=\s*)(?P<secret>'[^']*'|[^\s&;'\"]+)",
                      re.IGNORECASE)


def mask_secrets(text: str) -> str:
    """``text`` with every ``user:password@`` and ``password=...`` shown as ``user:***@`` / ``password=***``."""
    if "@" in text:
        text = _USERINFO.sub(lambda m: f"{m['user']}:***@", text)
    if "=" in text:
        text = _KEYWORD.sub(lambda m: f"{m['key']}***", text)
    return text


__all__ = ["LIKE_ESCAPE", "like_escape", "like_contains", "like_pattern", "mask_secrets"]
