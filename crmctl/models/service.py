"""Tables for the service desk: complaints and their history, service tickets and their ratings,
customer proposals (see the matching migration ``0003_service``).

Numbers (``TS-2026-0001``) come from the policy's patterns and are what users type; the integer id is
accepted too.  ``due_at`` of a complaint is the deadline in force (after extensions); the SLA deadline
is kept in ``sla_due_at``.  Ratings are stored one row per item so the technician monthly report is a
plain ``GROUP BY technician_id, month, item``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import Column, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from .core import json_column, ts_column

__all__ = ["Complaint", "ComplaintEvent", "ServiceTicket", "TicketRating", "Proposal", "ApprovalRequest"]


class Complaint(SQLModel, table=True):
    __tablename__ = "complaint"
    __table_args__ = (
        Index("ix_complaint_status_due", "status", "due_at"),
        Index("ix_complaint_customer_opened", "customer_id", "opened_at"),
        Index("ix_complaint_owner_status", "owner_id", "status"),
        Index("ix_complaint_opened", "opened_at"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    number: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id"), nullable=False))
    severity: str
    summary: str
    opened_at: datetime = ts_column()
    opened_by: str
    sla: str  # the SLA rule's duration, e.g. "3 working days"
    sla_due_at: datetime = ts_column()
    due_at: datetime = ts_column()  # in force (extensions included)
    extended_days: int = 0
    closed_at: Optional[datetime] = ts_column(nullable=True)
    resolution: Optional[str] = None
    satisfied: Optional[bool] = None
    status: str = "open"  # open | closed
    escalated_at: Optional[datetime] = ts_column(nullable=True)
    escalated_to: Optional[str] = None  # role
    policy_version: int
    owner_id: Optional[int] = Field(default=None, sa_column=Column(Integer, ForeignKey("staff.id"), nullable=True))


class ComplaintEvent(SQLModel, table=True):
    """The history of a complaint: open, extend, escalate, close (each with who, when, details)."""

    __tablename__ = "complaint_event"
    __table_args__ = (Index("ix_complaint_event_complaint_at", "complaint_id", "at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    complaint_id: int = Field(sa_column=Column(Integer, ForeignKey("complaint.id", ondelete="CASCADE"), nullable=False))
    kind: str  # open | extend | escalate | close | handover
    at: datetime = ts_column()
    actor: str
    details: dict = json_column()


class ServiceTicket(SQLModel, table=True):
    __tablename__ = "service_ticket"
    __table_args__ = (
        Index("ix_service_ticket_status_opened", "status", "opened_at"),
        Index("ix_service_ticket_customer_opened", "customer_id", "opened_at"),
        Index("ix_service_ticket_technician_status", "technician_id", "status"),
        Index("ix_service_ticket_owner_status", "owner_id", "status"),
        Index("ix_service_ticket_opened", "opened_at"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    number: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id"), nullable=False))
    kind: str
    location: Optional[str] = None
    service_type: Optional[str] = None
    summary: Optional[str] = None
    opened_at: datetime = ts_column()
    opened_by: str
    respond_by: Optional[datetime] = ts_column(nullable=True)
    arrive_by: Optional[datetime] = ts_column(nullable=True)
    resolve_by: Optional[datetime] = ts_column(nullable=True)
    clocks: dict = json_column()  # clock -> {"due": "6 h", "calendar": "24x7"}
    dispatched_at: Optional[datetime] = ts_column(nullable=True)
    technician_id: Optional[int] = Field(default=None, sa_column=Column(Integer, ForeignKey("staff.id"), nullable=True))
    arrived_at: Optional[datetime] = ts_column(nullable=True)
    taken_back_at: Optional[datetime] = ts_column(nullable=True)
    receipt: Optional[str] = None  # take-back repair receipt number
    resolved_at: Optional[datetime] = ts_column(nullable=True)
    note: Optional[str] = None
    status: str = "open"  # open | dispatched | arrived | taken_back | resolved
    policy_version: int
    owner_id: Optional[int] = Field(default=None, sa_column=Column(Integer, ForeignKey("staff.id"), nullable=True))


class TicketRating(SQLModel, table=True):
    """One rated item of a service ticket (a survey card: attitude, skill, arrival, promise …)."""

    __tablename__ = "ticket_rating"
    __table_args__ = (
        UniqueConstraint("ticket_id", "item", name="uq_ticket_rating_item"),
        Index("ix_ticket_rating_technician_month", "technician_id", "month"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    ticket_id: int = Field(sa_column=Column(Integer, ForeignKey("service_ticket.id", ondelete="CASCADE"), nullable=False))
    technician_id: int = Field(sa_column=Column(Integer, ForeignKey("staff.id"), nullable=False))
    month: str = Field(sa_column=Column(String(7), nullable=False))  # YYYY-MM of the rating, company zone
    item: str
    score: int
    rated_at: datetime = ts_column()
    rated_by: str


class Proposal(SQLModel, table=True):
    __tablename__ = "proposal"
    __table_args__ = (
        Index("ix_proposal_status_due", "status", "due_at"),
        Index("ix_proposal_customer_opened", "customer_id", "opened_at"),
        Index("ix_proposal_outcome_closed", "outcome", "closed_at"),
        Index("ix_proposal_owner_status", "owner_id", "status"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    number: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id"), nullable=False))
    category: str
    summary: str
    opened_at: datetime = ts_column()
    opened_by: str
    due_at: datetime = ts_column()
    closed_at: Optional[datetime] = ts_column(nullable=True)
    status: str = "open"  # open | closed
    outcome: Optional[str] = None  # adopted | rejected
    saving: Optional[Decimal] = Field(default=None, sa_column=Column(Numeric(16, 2), nullable=True))
    implement_by: Optional[date] = None
    benefit_company_pct: Optional[float] = None
    benefit_customer_pct: Optional[float] = None
    benefit_months: Optional[int] = None
    benefit_until: Optional[date] = None  # first day after the shared period
    note: Optional[str] = None
    policy_version: int
    owner_id: Optional[int] = Field(default=None, sa_column=Column(Integer, ForeignKey("staff.id"), nullable=True))


class ApprovalRequest(SQLModel, table=True):
    """Something that needs an approver's yes, asked by one person and granted (or refused) by
    another who holds ``approver_role``, as themselves: a complaint's extension (petrochem 12(二))."""

    __tablename__ = "approval_request"
    __table_args__ = (Index("ix_approval_request_status_kind", "status", "kind"),
                      Index("ix_approval_request_complaint", "complaint_id"),
                      # at most one request of a kind waits per complaint (schema 0007)
                      Index("uq_approval_request_waiting", "kind", "complaint_id", unique=True,
                            sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")))
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(String(32), nullable=False))  # extension
    complaint_id: Optional[int] = Field(default=None, sa_column=Column(Integer, ForeignKey("complaint.id", ondelete="CASCADE"),
                                                                       nullable=True))
    customer_id: Optional[int] = Field(default=None, sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"),
                                                                      nullable=True))
    details: Optional[dict] = json_column(nullable=True)
    approver_role: str = Field(sa_column=Column(String(64), nullable=False))
    requested_by: str = Field(sa_column=Column(String(64), nullable=False))
    requested_at: datetime = ts_column()
    status: str = Field(default="pending", sa_column=Column(String(16), nullable=False))  # pending | granted | refused
    decided_by: Optional[str] = Field(default=None, sa_column=Column(String(64), nullable=True))
    decided_at: Optional[datetime] = ts_column(nullable=True)
    comment: Optional[str] = None

