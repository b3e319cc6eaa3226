"""notify_send: what was posted to the team's chat robot

Revision ID: 0010
Revises: 0009

``crmctl agenda --send`` posts the day's digest to a 企业微信 or 钉钉 group robot (issue 21) and
records each send here (the local day, the webhook masked, how many items and messages, when, who),
so that a second run the same day to the same robot says "already sent" unless ``--force``.
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_send",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("robot", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notify_send_day", "notify_send", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_notify_send_day", table_name="notify_send")
    op.drop_table("notify_send")
