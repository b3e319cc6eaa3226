"""calendar_year: official holiday schedules loaded for years the holiday library does not cover

Revision ID: 0008
Revises: 0007

``crmctl calendar set-year 2027 FILE`` stores the State Council's schedule of a year (holidays and
make-up working days, ISO date -> Chinese name) so that deadlines follow it before a
``chinesecalendar`` release carries it; until then crmctl counts on its estimate.
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_year",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("workdays", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.Column("loaded_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )


def downgrade() -> None:
    op.drop_table("calendar_year")
