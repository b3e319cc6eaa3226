"""name_key: the customer's name as duplicates are found, indexed

Revision ID: 0009
Revises: 0008

``customer add`` and ``customer import`` warn on a second customer of the same name, or refuse it
where the policy keeps names unique (``[customers] unique_names``, gas-service Art. 15 一户一档).
"The same name" is the same once Unicode width, spaces, case and the forms 有限公司 / 有限责任公司 /
股份有限公司 are set aside (``crmctl.rules.names.name_key``); the key is stored with the name so
that one indexed query finds the customers of a whole import file.

The column is added nullable and filled for every existing customer here, in batches of
``BATCH`` rows read in id order (the folding is Unicode normalisation, which SQL does not spell
alike on SQLite and PostgreSQL); crmctl sets it on every insert and rename from then on.
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    from crmctl.rules.names import name_key

    op.add_column("customer", sa.Column("name_key", sa.String(), nullable=True))
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.text("SELECT id, name FROM customer WHERE id > :last ORDER BY id LIMIT :n"),
                            {"last": last, "n": BATCH}).all()
        if not rows:
            break
        conn.execute(sa.text("UPDATE customer SET name_key = :k WHERE id = :i"),
                     [{"k": name_key(name), "i": cid} for cid, name in rows])
        last = rows[-1][0]
    op.create_index("ix_customer_name_key", "customer", ["name_key"], unique=False)


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35 and later): a batch copy of the table would
    # drop the table that approvals, documents and grades point to
    op.drop_index("ix_customer_name_key", table_name="customer")
    op.drop_column("customer", "name_key")
