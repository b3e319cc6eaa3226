"""activities tables: plan runs, planned/done activities, survey results, development targets

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_plan_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("planned", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_activity_plan_run_month", "activity_plan_run", ["month"], unique=False)

    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("planned_by", sa.Integer(), nullable=True),
        sa.Column("cadence_key", sa.String(length=120), nullable=True),
        sa.Column("plan_note", sa.String(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("done_by", sa.String(), nullable=True),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["planned_by"], ["activity_plan_run.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cadence_key", name="uq_activity_cadence_key"),
    )
    op.create_index("ix_activity_customer_kind_done", "activity", ["customer_id", "kind", "done_at"], unique=False)
    op.create_index("ix_activity_due_date", "activity", ["due_date"], unique=False)
    op.create_index("ix_activity_owner_status", "activity", ["owner_id", "status"], unique=False)

    op.create_table(
        "survey_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("survey", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("scale_max", sa.Integer(), nullable=False),
        sa.Column("average", sa.Float(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "survey", "label", name="uq_survey_result"),
    )
    op.create_index("ix_survey_result_survey_label", "survey_result", ["survey", "label"], unique=False)

    op.create_table(
        "development_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("prospects", sa.Integer(), nullable=False),
        sa.Column("admitted", sa.Integer(), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.Column("set_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "label", name="uq_development_target"),
    )
    op.create_index("ix_development_target_label", "development_target", ["label"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_development_target_label", table_name="development_target")
    op.drop_table("development_target")
    op.drop_index("ix_survey_result_survey_label", table_name="survey_result")
    op.drop_table("survey_result")
    op.drop_index("ix_activity_owner_status", table_name="activity")
    op.drop_index("ix_activity_due_date", table_name="activity")
    op.drop_index("ix_activity_customer_kind_done", table_name="activity")
    op.drop_table("activity")
    op.drop_index("ix_activity_plan_run_month", table_name="activity_plan_run")
    op.drop_table("activity_plan_run")
