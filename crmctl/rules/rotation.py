"""Which older backups ``crmctl db backup FILE --keep N`` removes (issue 19).

The backups of one series are named alike but for a stamp: ``crm-2026-12-01.db``,
``crm-2026-12-08.db`` ...  FILE's name is read as *prefix* (everything before its first digit),
*stamp* (from its first digit to its last) and *suffix* (everything after its last digit):
``crm-`` + ``2026-12-01`` + ``.db``.  A file of the same folder belongs to the series when its name
has the same prefix and suffix and, between them, a stamp of digits and the separators ``- _ . : T``
that starts and ends with a digit (``crm-20261201T0400.db`` does; ``crm-old.db``,
``crm-2026-12-01.db.partial-77`` and ``crm-2026-12-01 (copy).db`` do not).  A name without a digit
is no series: ``--keep`` is refused for it.

The newest are kept: by modification time, newer first (the name, later first, between files of
the same time), the backup just written always among them.  Pure: the caller lists the folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_STAMP = re.compile(r"\d(?:[\d\-_.:T]*\d)?")


def series(name: str) -> tuple[str, str] | None:
    """``(prefix, suffix)`` of a backup's file name (the text before its first and after its last digit
    0-9), None when it has none."""
    digits = [i for i, ch in enumerate(name) if "0" <= ch <= "9"]
    if not digits:
        return None
    return name[:digits[0]], name[digits[-1] + 1:]


def in_series(name: str, prefix: str, suffix: str) -> bool:
    """Whether ``name`` is a backup of the series ``prefix`` + stamp + ``suffix``."""
    if not (name.startswith(prefix) and name.endswith(suffix)) or len(name) <= len(prefix) + len(suffix):
        return False
    return _STAMP.fullmatch(name[len(prefix):len(name) - len(suffix)]) is not None


def to_remove(files: Iterable[tuple[str, float]], written: str, keep: int) -> list[str]:
    """The names among ``files`` (``(name, modification time)`` of the folder's regular files) that
    ``--keep keep`` removes once ``written`` is backed up: the series' members beyond the ``keep``
    newest (``written`` the first of them), oldest first."""
    found = series(written)
    if found is None or keep < 1:
        return []
    prefix, suffix = found
    members = sorted(((mtime, name) for name, mtime in files if name != written and in_series(name, prefix, suffix)),
                     reverse=True)
    return [name for _mtime, name in reversed(members[keep - 1:])]
