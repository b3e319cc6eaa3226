"""Alembic migrations, shipped in the package and applied when an older database is opened.

``REVISIONS`` lists every revision oldest first; ``HEAD`` is the newest.  Keeping them here lets
a command compare the database's revision with one query, without importing Alembic
(a test checks these match the scripts in ``versions/``).
"""

REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010")
HEAD = REVISIONS[-1]
