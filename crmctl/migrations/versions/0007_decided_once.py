"""decided once: one approval per step of an admission round, one waiting request per complaint

Revision ID: 0007
Revises: 0006

Two people deciding the same thing at the same moment could both write their decision on
PostgreSQL (issue 14): six finance staff approving one step wrote two to four approvals of it, and
the admission, counted by approvals, then stood past its last step and stayed ``pending`` for good;
two extension requests of one complaint could both wait.  crmctl now decides under a lock of the
row it decides about, and these unique indexes make a second decision impossible whatever else
writes:

* ``uq_approval_step`` on ``approval (customer_id, round, step)``.  Where an older database holds
  more than one decision of a step, the first one written (lowest id) is kept and the later ones
  are removed (on PostgreSQL with the trigger keeping approvals as written switched off for this
  statement only); the audit trail still records every one of them.  Admissions counted by step
  then wait for the step after the last one approved, as crmctl counts them.
* ``uq_approval_request_waiting`` on ``approval_request (kind, complaint_id)`` where the request
  is ``pending``.  Where more than one waits, the first stays waiting and the later ones are
  decided as refused by ``crmctl`` with a comment saying why (a decision, as a waiting request may
  have; the record is kept).
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LATER_DUPLICATES = ("SELECT id FROM approval a WHERE EXISTS (SELECT 1 FROM approval b WHERE b.customer_id = a.customer_id "
                    "AND b.round = a.round AND b.step = a.step AND b.id < a.id)")
LATER_WAITING = ("SELECT id FROM approval_request r WHERE r.status = 'pending' AND EXISTS (SELECT 1 FROM approval_request o "
                 "WHERE o.status = 'pending' AND o.kind = r.kind AND o.complaint_id = r.complaint_id AND o.id < r.id)")


def _has_trigger(conn, table: str, name: str) -> bool:
    return conn.execute(sa.text("SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(:t) AND tgname = :n"),
                        {"t": table, "n": name}).first() is not None


def upgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    if conn.execute(sa.text(LATER_DUPLICATES + " LIMIT 1")).first() is not None:
        frozen = postgres and _has_trigger(conn, "approval", "crmctl_kept")
        if frozen:
            conn.exec_driver_sql("ALTER TABLE approval DISABLE TRIGGER crmctl_kept")
        conn.execute(sa.text(f"DELETE FROM approval WHERE id IN ({LATER_DUPLICATES})"))
        if frozen:
            conn.exec_driver_sql("ALTER TABLE approval ENABLE TRIGGER crmctl_kept")
    op.create_index("uq_approval_step", "approval", ["customer_id", "round", "step"], unique=True)

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    conn.execute(sa.text(f"UPDATE approval_request SET status = 'refused', decided_by = 'crmctl', decided_at = :now, "
                         "comment = 'a second request waiting at the same time as an earlier one (schema 0007 keeps "
                         f"one waiting per complaint)' WHERE id IN ({LATER_WAITING})"), {"now": now})
    where = sa.text("status = 'pending'")
    op.create_index("uq_approval_request_waiting", "approval_request", ["kind", "complaint_id"], unique=True,
                    sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index("uq_approval_request_waiting", table_name="approval_request")
    op.drop_index("uq_approval_step", table_name="approval")
