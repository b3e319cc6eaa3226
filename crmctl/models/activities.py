"""Tables for relationship work: planned and done activities, plan runs, survey results, development
targets (see migration 0004_activities).

One ``activity`` row per activity: ``visit plan`` inserts it as ``planned`` (with the plan run and an
idempotency key); ``visit log --planned ID`` fills the same row in and makes it ``done``; an
unplanned ``visit log`` inserts a ``done`` row without a plan run.  ``missed`` is not stored: a
planned row whose due month has ended is shown as missed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from .core import json_column, ts_column

__all__ = ["Activity", "ActivityPlanRun", "SurveyResult", "DevelopmentTarget", "ACTIVITY_STATUSES"]

#: stored statuses; ``missed`` is derived (planned, and the due month is over)
ACTIVITY_STATUSES = ("planned", "done")


class ActivityPlanRun(SQLModel, table=True):
    """One ``visit plan`` run: the month, an owner filter, who ran it and how many it planned."""

    __tablename__ = "activity_plan_run"
    id: Optional[int] = Field(default=None, primary_key=True)
    month: str = Field(sa_column=Column(String(7), nullable=False, index=True))
    owner_id: Optional[int] = Field(default=None, sa_column=Column(Integer, ForeignKey("staff.id"), nullable=True))
    planned: int = 0
    at: datetime = ts_column()
    actor: str


class Activity(SQLModel, table=True):
    __tablename__ = "activity"
    __table_args__ = (
        UniqueConstraint("cadence_key", name="uq_activity_cadence_key"),
        Index("ix_activity_customer_kind_done", "customer_id", "kind", "done_at"),
        Index("ix_activity_due_date", "due_date"),
        Index("ix_activity_owner_status", "owner_id", "status"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: Optional[int] = Field(
        default=None, sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), nullable=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    due_date: date = Field(sa_column=Column(Date, nullable=False))
    owner_id: Optional[int] = Field(default=None, sa_column=Column(Integer, ForeignKey("staff.id"), nullable=True))
    status: str = Field(default="planned", sa_column=Column(String(16), nullable=False))  # planned | done
    planned_by: Optional[int] = Field(
        default=None, sa_column=Column(Integer, ForeignKey("activity_plan_run.id"), nullable=True))
    cadence_key: Optional[str] = Field(default=None, sa_column=Column(String(120), nullable=True))
    plan_note: Optional[str] = None  # the cadence's note, shown with the planned activity
    done_at: Optional[datetime] = ts_column(nullable=True)
    done_by: Optional[str] = None
    notes: Optional[str] = None
    report: Optional[dict] = json_column(nullable=True)  # the policy's report_fields of the kind
    created_at: datetime = ts_column()


class SurveyResult(SQLModel, table=True):
    """One customer's answers to a survey of the policy for one year (label ``YYYY``)."""

    __tablename__ = "survey_result"
    __table_args__ = (UniqueConstraint("customer_id", "survey", "label", name="uq_survey_result"),
                      Index("ix_survey_result_survey_label", "survey", "label"))
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), nullable=False))
    survey: str = Field(sa_column=Column(String(32), nullable=False))
    label: str = Field(sa_column=Column(String(16), nullable=False))
    scores: dict = json_column()  # item -> score (1 .. scale_max)
    scale_max: int
    average: float
    recorded_at: datetime = ts_column()
    recorded_by: str


class DevelopmentTarget(SQLModel, table=True):
    """A customer manager's market-development target for one period (petrochem Art. 6: a quarter)."""

    __tablename__ = "development_target"
    __table_args__ = (UniqueConstraint("staff_id", "label", name="uq_development_target"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    staff_id: int = Field(sa_column=Column(Integer, ForeignKey("staff.id"), nullable=False))
    label: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    prospects: int
    admitted: int
    set_at: datetime = ts_column()
    set_by: str
