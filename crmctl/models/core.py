"""Core tables: policy versions, staff, audit, customers, documents, approvals, imports.

Every date-time column stores UTC (naive in the database, aware in Python) through
``UTCDateTime``; what a user sees is converted to the policy's time zone by the output layer.
Tables change only through Alembic migrations in ``crmctl/migrations/versions``.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Optional

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = ["UTCDateTime", "PolicyVersion", "Staff", "StaffRole", "AuditLog", "AuditChain", "Customer", "CustomerGrade",
           "Document", "Approval", "CustomerContact", "CustomerNote", "ImportBatch", "Counter", "ts_column",
           "json_column"]


class UTCDateTime(TypeDecorator):
    """Aware datetimes in Python, UTC without offset in the database (portable, unambiguous)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database: attach a time zone first")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text from bulk paths
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc)


def ts_column(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def json_column(nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(JSON, nullable=True))
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PolicyVersion(SQLModel, table=True):
    __tablename__ = "policy_version"
    id: Optional[int] = Field(default=None, primary_key=True)
    version: int = Field(sa_column=Column(Integer, nullable=False, unique=True))
    code: str
    source: str
    text: str
    sha256: str = Field(max_length=64)
    applied_at: datetime = ts_column()
    applied_by: str


class Staff(SQLModel, table=True):
    """A person: their login (unique whatever its case), the OS account (SQLite) or database role
    (PostgreSQL) they are bound to -- the identity crmctl trusts, never a typed name alone."""

    __tablename__ = "staff"
    __table_args__ = (
        Index("uq_staff_login_ci", text("lower(login)"), unique=True),
        Index("uq_staff_os_user_ci", text("lower(os_user)"), unique=True),
        Index("uq_staff_db_role_ci", text("lower(db_role)"), unique=True),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    login: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str
    unit: Optional[str] = None
    active: bool = True
    is_admin: bool = False
    created_at: datetime = ts_column()
    left_at: Optional[datetime] = ts_column(nullable=True)
    handover_to: Optional[str] = None
    os_user: Optional[str] = Field(default=None, sa_column=Column(String(64), nullable=True))
    db_role: Optional[str] = Field(default=None, sa_column=Column(String(64), nullable=True))


class StaffRole(SQLModel, table=True):
    __tablename__ = "staff_role"
    staff_id: int = Field(sa_column=Column(Integer, ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True))
    role: str = Field(sa_column=Column(String(64), primary_key=True, index=True))


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_customer_at", "customer_code", "at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = ts_column(index=True)
    actor: str
    action: str = Field(index=True)
    entity: str
    entity_key: str
    customer_code: Optional[str] = None
    before: Optional[dict] = json_column(nullable=True)
    after: Optional[dict] = json_column(nullable=True)
    policy_version: Optional[int] = None
    note: Optional[str] = None
    written_at: Optional[datetime] = ts_column(nullable=True)  # the real time it was written (``at``: of the event)
    by_login: Optional[str] = None  # the administrator who acted for ``actor`` (None: the actor acted)
    hash: Optional[str] = Field(default=None, sa_column=Column(String(64), nullable=True))


class AuditChain(SQLModel, table=True):
    """The head of the audit trail's hash chain (one row): what the newest entry's hash must be."""

    __tablename__ = "audit_chain"
    id: Optional[int] = Field(default=None, primary_key=True)
    last_hash: str = Field(sa_column=Column(String(64), nullable=False))
    entries: int = 0


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    __table_args__ = (Index("ix_customer_status", "status"), Index("ix_customer_owner", "owner_id"),
                      Index("ix_customer_name_key", "name_key"))
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    name: str
    #: the name as duplicates are found (``rules.names.name_key``), set with the name (schema 0009)
    name_key: Optional[str] = None
    status: str = "active"
    status_reason: Optional[str] = None
    previous_status: Optional[str] = None  # what a gm reinstatement restores
    status_changed_at: Optional[datetime] = ts_column(nullable=True)
    owner_id: Optional[int] = Field(default=None, sa_column=Column(Integer, ForeignKey("staff.id"), nullable=True))
    tax_id: Optional[str] = Field(default=None, sa_column=Column(String(18), nullable=True, unique=True))
    segments: dict = json_column()
    fields: dict = json_column()
    admission_round: int = 0
    created_at: datetime = ts_column(index=True)
    updated_at: datetime = ts_column()
    import_id: Optional[int] = None


class CustomerGrade(SQLModel, table=True):
    """The current grade of a customer on one grading scale."""

    __tablename__ = "customer_grade"
    __table_args__ = (Index("ix_customer_grade_scale_grade", "scale", "grade"),)
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True))
    scale: str = Field(sa_column=Column(String(32), primary_key=True))
    grade: str
    label: Optional[str] = None  # the period label of the run that set it; None for an initial grade
    since: datetime = ts_column()


class Document(SQLModel, table=True):
    __tablename__ = "document"
    __table_args__ = (Index("ix_document_customer_type", "customer_id", "type"), Index("ix_document_expires", "expires"))
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), nullable=False))
    type: str
    number: Optional[str] = None
    expires: Optional[date] = None
    added_at: datetime = ts_column()
    added_by: str


class Approval(SQLModel, table=True):
    """One decision in an admission: a submission, an approval or a rejection at a chain step."""

    __tablename__ = "approval"
    __table_args__ = (Index("ix_approval_customer_round", "customer_id", "round"),
                      # one decision per step of a round (schema 0007): a second approver of the same
                      # step loses, whatever reads they made before
                      Index("uq_approval_step", "customer_id", "round", "step", unique=True))
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), nullable=False))
    round: int
    step: int  # 0 = submission, 1.. = chain step
    role: Optional[str] = None
    staff_login: str
    decision: str  # submit | approve | reject
    comment: Optional[str] = None
    details: Optional[dict] = json_column(nullable=True)  # e.g. admission criteria scored at submission
    at: datetime = ts_column()


class CustomerContact(SQLModel, table=True):
    __tablename__ = "customer_contact"
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True))
    staff_id: int = Field(sa_column=Column(Integer, ForeignKey("staff.id"), primary_key=True, index=True))
    since: datetime = ts_column()


class CustomerNote(SQLModel, table=True):
    __tablename__ = "customer_note"
    __table_args__ = (Index("ix_customer_note_customer_at", "customer_id", "at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), nullable=False))
    staff_login: str
    channel: str
    text: str
    at: datetime = ts_column()


class ImportBatch(SQLModel, table=True):
    """A CSV file once imported: its hash refuses a second import of the same file."""

    __tablename__ = "import_batch"
    __table_args__ = (UniqueConstraint("kind", "sha256", "seq", name="uq_import_batch_kind_hash"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str
    sha256: str
    seq: int = 0  # >0 when imported again with --allow-duplicates
    filename: str
    rows: int
    at: datetime = ts_column()
    actor: str


class Counter(SQLModel, table=True):
    """Named sequences (customer codes, complaint numbers), advanced inside write transactions."""

    __tablename__ = "counter"
    name: str = Field(sa_column=Column(String(64), primary_key=True))
    value: int = 0
