"""service tables: complaints and their history, service tickets and ratings, proposals

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("opened_by", sa.String(), nullable=False),
        sa.Column("sla", sa.String(), nullable=False),
        sa.Column("sla_due_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("extended_days", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.String(), nullable=True),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.Column("escalated_to", sa.String(), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["owner_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_complaint_status_due", "complaint", ["status", "due_at"])
    op.create_index("ix_complaint_customer_opened", "complaint", ["customer_id", "opened_at"])
    op.create_index("ix_complaint_owner_status", "complaint", ["owner_id", "status"])
    op.create_index("ix_complaint_opened", "complaint", ["opened_at"])

    op.create_table(
        "complaint_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_complaint_event_complaint_at", "complaint_event", ["complaint_id", "at"])

    op.create_table(
        "service_ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("location", sa.String(), nullable=True),
        sa.Column("service_type", sa.String(), nullable=True),
        sa.Column("summary", sa.String(), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("opened_by", sa.String(), nullable=False),
        sa.Column("respond_by", sa.DateTime(), nullable=True),
        sa.Column("arrive_by", sa.DateTime(), nullable=True),
        sa.Column("resolve_by", sa.DateTime(), nullable=True),
        sa.Column("clocks", sa.JSON(), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(), nullable=True),
        sa.Column("technician_id", sa.Integer(), nullable=True),
        sa.Column("arrived_at", sa.DateTime(), nullable=True),
        sa.Column("taken_back_at", sa.DateTime(), nullable=True),
        sa.Column("receipt", sa.String(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["technician_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["owner_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_service_ticket_status_opened", "service_ticket", ["status", "opened_at"])
    op.create_index("ix_service_ticket_customer_opened", "service_ticket", ["customer_id", "opened_at"])
    op.create_index("ix_service_ticket_technician_status", "service_ticket", ["technician_id", "status"])
    op.create_index("ix_service_ticket_owner_status", "service_ticket", ["owner_id", "status"])
    op.create_index("ix_service_ticket_opened", "service_ticket", ["opened_at"])

    op.create_table(
        "ticket_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("item", sa.String(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("rated_at", sa.DateTime(), nullable=False),
        sa.Column("rated_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["service_ticket.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["technician_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "item", name="uq_ticket_rating_item"),
    )
    op.create_index("ix_ticket_rating_technician_month", "ticket_rating", ["technician_id", "month"])

    op.create_table(
        "proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("opened_by", sa.String(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("saving", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("implement_by", sa.Date(), nullable=True),
        sa.Column("benefit_company_pct", sa.Float(), nullable=True),
        sa.Column("benefit_customer_pct", sa.Float(), nullable=True),
        sa.Column("benefit_months", sa.Integer(), nullable=True),
        sa.Column("benefit_until", sa.Date(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["owner_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_proposal_status_due", "proposal", ["status", "due_at"])
    op.create_index("ix_proposal_customer_opened", "proposal", ["customer_id", "opened_at"])
    op.create_index("ix_proposal_outcome_closed", "proposal", ["outcome", "closed_at"])
    op.create_index("ix_proposal_owner_status", "proposal", ["owner_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_proposal_owner_status", table_name="proposal")
    op.drop_index("ix_proposal_outcome_closed", table_name="proposal")
    op.drop_index("ix_proposal_customer_opened", table_name="proposal")
    op.drop_index("ix_proposal_status_due", table_name="proposal")
    op.drop_table("proposal")
    op.drop_index("ix_ticket_rating_technician_month", table_name="ticket_rating")
    op.drop_table("ticket_rating")
    for name in ("ix_service_ticket_opened", "ix_service_ticket_owner_status", "ix_service_ticket_technician_status",
                 "ix_service_ticket_customer_opened", "ix_service_ticket_status_opened"):
        op.drop_index(name, table_name="service_ticket")
    op.drop_table("service_ticket")
    op.drop_index("ix_complaint_event_complaint_at", table_name="complaint_event")
    op.drop_table("complaint_event")
    for name in ("ix_complaint_opened", "ix_complaint_owner_status", "ix_complaint_customer_opened",
                 "ix_complaint_status_due"):
        op.drop_index(name, table_name="complaint")
    op.drop_table("complaint")
