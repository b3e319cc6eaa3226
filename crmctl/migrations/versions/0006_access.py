"""database-enforced access (PostgreSQL): the policy's access rules in a table for row-level
security, and the audit trail and approval records kept as written

Revision ID: 0006
Revises: 0005

``access_setting`` (one row) holds what the server needs to decide who reads a customer's file: the
policy's ``restrict_customer_details``, its reader roles and admission chain, and the roles
``crmctl db roles`` set up.  It is created on SQLite too (where nothing reads it), so that both
back ends have the same tables.

On PostgreSQL, triggers refuse UPDATE, DELETE and TRUNCATE of ``audit_log`` and ``approval`` and
any change of an ``approval_request`` but its one decision, whoever is connected (a later migration
that must rewrite those rows disables the trigger for its own statement).  Roles, grants and
row-level security are ``crmctl db roles``'s work (``crmctl.pg_security``).
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("restrict_customer_details", sa.Boolean(), nullable=False),
        sa.Column("reader_roles", sa.JSON(), nullable=True),
        sa.Column("chain_roles", sa.JSON(), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("owner_role", sa.String(length=63), nullable=True),
        sa.Column("staff_role", sa.String(length=63), nullable=True),
        sa.Column("admin_role", sa.String(length=63), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        _settings_from_policy(conn)
        from crmctl.pg_security import freeze_statements

        for stmt in freeze_statements():
            conn.exec_driver_sql(stmt)


def _settings_from_policy(conn) -> None:
    """The current policy's access rules, so that row-level security (once set up) decides from them."""
    row = conn.execute(sa.text("SELECT version, text FROM policy_version ORDER BY version DESC LIMIT 1")).first()
    if row is None:
        return
    try:
        from crmctl.policies import parse_policy_cached
        from crmctl.pg_security import store_settings

        policy = parse_policy_cached(row[1], f"policy version {row[0]}")
    except Exception:  # noqa: BLE001 - a policy this crmctl cannot read: 'policy apply' / 'db roles' fill it in
        return
    store_settings(conn, roles=None, restrict=policy.permissions.restrict_customer_details,
                   readers=list(policy.permissions.readers_roles), chain=list(policy.admission.chain),
                   version=row[0])


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        from crmctl.pg_security import ROW_RULES, unfreeze_statements

        conn.exec_driver_sql("DROP VIEW IF EXISTS customer_directory")
        for fn in ("crmctl_can_read(integer)", "crmctl_file_codes()", "crmctl_seen()", "crmctl_decides()",
                   "crmctl_files()", "crmctl_sees_all()", "crmctl_my_roles()", "crmctl_is_admin()", "crmctl_login()",
                   "crmctl_me()"):
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {fn} CASCADE")  # with the policies using them
        for table in ROW_RULES:
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        for stmt in unfreeze_statements():
            conn.exec_driver_sql(stmt)
    op.drop_table("access_setting")
