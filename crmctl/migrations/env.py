"""Alembic environment: always called programmatically with a connection (see crmctl.db)."""

from alembic import context

from crmctl import models

models.load_all()  # every table on SQLModel.metadata
from sqlmodel import SQLModel

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only crmctl.db drives migrations
    from crmctl.i18n import _

    raise RuntimeError(_("crmctl migrations run through crmctl, not the alembic command"))

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
