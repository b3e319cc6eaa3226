"""identity and a tamper-evident audit: staff bound to OS accounts / database roles, logins unique
whatever their case, audit entries with the real time written, who acted for whom and a hash chain,
and requests that an approver grants (complaint extensions)

Revision ID: 0005
Revises: 0004

Existing staff are bound to the OS account (and database role) of their own login; the first
administrator to the OS account that owns the database file (on SQLite the account that ran
``crmctl init``) or to the database session user running the upgrade (PostgreSQL).  Existing audit
entries keep their time as the time written and are chained in id order.
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _file_owner(conn) -> str | None:
    import os

    path = conn.engine.url.database if conn.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or not os.path.exists(path):
        return None
    try:
        import pwd

        return pwd.getpwuid(os.stat(path).st_uid).pw_name
    except (ImportError, KeyError):  # no user database (Windows), or a uid without a name
        return None


def upgrade() -> None:
    conn = op.get_bind()
    clash = conn.execute(sa.text("SELECT lower(login), count(*) FROM staff GROUP BY lower(login) "
                                 "HAVING count(*) > 1")).first()
    if clash is not None:
        from crmctl.errors import DatabaseError
        from crmctl.i18n import _

        raise DatabaseError(_("staff logins that differ only in case ({login}) must become one person "
                              "before this upgrade: logins are now compared case-insensitively").format(login=clash[0]))

    op.add_column("staff", sa.Column("os_user", sa.String(length=64), nullable=True))
    op.add_column("staff", sa.Column("db_role", sa.String(length=64), nullable=True))
    conn.execute(sa.text("UPDATE staff SET os_user = lower(login), db_role = lower(login)"))
    first_admin = conn.execute(sa.text("SELECT min(id) FROM staff WHERE is_admin")).scalar()
    if first_admin is not None:
        if conn.dialect.name == "sqlite":
            who, column = _file_owner(conn), "os_user"
        else:
            who, column = conn.execute(sa.text("SELECT session_user")).scalar(), "db_role"
        if who and not conn.execute(sa.text(f"SELECT 1 FROM staff WHERE lower({column}) = lower(:w) AND id <> :i"),
                                    {"w": who, "i": first_admin}).first():
            conn.execute(sa.text(f"UPDATE staff SET {column} = :w WHERE id = :i"), {"w": who, "i": first_admin})
    op.create_index("uq_staff_login_ci", "staff", [sa.text("lower(login)")], unique=True)
    op.create_index("uq_staff_os_user_ci", "staff", [sa.text("lower(os_user)")], unique=True)
    op.create_index("uq_staff_db_role_ci", "staff", [sa.text("lower(db_role)")], unique=True)

    op.add_column("audit_log", sa.Column("written_at", sa.DateTime(), nullable=True))
    op.add_column("audit_log", sa.Column("by_login", sa.String(), nullable=True))
    op.add_column("audit_log", sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _chain_existing(conn)

    op.create_table(
        "approval_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("approver_role", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("comment", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_approval_request_status_kind", "approval_request", ["status", "kind"], unique=False)
    op.create_index("ix_approval_request_complaint", "approval_request", ["complaint_id"], unique=False)


def _chain_existing(conn) -> None:
    """Existing entries: the time they were written is their time; chained in id order."""
    from crmctl.rules.audit_chain import CONTENT, GENESIS, entry_hash

    conn.execute(sa.text("UPDATE audit_log SET written_at = at"))
    cols = ", ".join(("id",) + CONTENT)
    previous, n, last_id = GENESIS, 0, 0
    while True:
        rows = conn.execute(sa.text(f"SELECT {cols} FROM audit_log WHERE id > :last ORDER BY id LIMIT 5000"),
                            {"last": last_id}).mappings().all()
        if not rows:
            break
        updates = []
        for r in rows:
            previous = entry_hash(previous, r)
            updates.append({"h": previous, "i": r["id"]})
            last_id = r["id"]
        conn.execute(sa.text("UPDATE audit_log SET hash = :h WHERE id = :i"), updates)
        n += len(rows)
    conn.execute(sa.text("INSERT INTO audit_chain (id, last_hash, entries) VALUES (1, :h, :n)"), {"h": previous, "n": n})


def downgrade() -> None:
    op.drop_index("ix_approval_request_complaint", table_name="approval_request")
    op.drop_index("ix_approval_request_status_kind", table_name="approval_request")
    op.drop_table("approval_request")
    op.drop_table("audit_chain")
    op.drop_index("uq_staff_db_role_ci", table_name="staff")
    op.drop_index("uq_staff_os_user_ci", table_name="staff")
    op.drop_index("uq_staff_login_ci", table_name="staff")
    # plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy of staff would trip its foreign keys
    for table, column in (("audit_log", "hash"), ("audit_log", "by_login"), ("audit_log", "written_at"),
                          ("staff", "db_role"), ("staff", "os_user")):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
