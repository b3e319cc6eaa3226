"""The database tables (SQLModel), one module per area; importing this package registers them all.

Tables change only through Alembic migrations in ``crmctl/migrations/versions``.
"""

from .core import *  # noqa: F401,F403
from .core import UTCDateTime  # noqa: F401
from .grading import *  # noqa: F401,F403
from .service import *  # noqa: F401,F403
from .activities import *  # noqa: F401,F403
