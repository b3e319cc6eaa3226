"""Tables for grading (see the matching migration ``0002_grading`` in crmctl/migrations/versions).

* ``usage_record``: what a customer bought or used on a day (tonnes, litres, m³ — the policy's unit),
  with an optional product and amount of money.  The index ``ix_usage_day_customer_qty`` covers the
  grading aggregate (a range of days, grouped by customer, summing qty and amount) so that it never
  reads the table itself; ``ix_usage_customer_day`` serves per-customer questions (last purchase,
  ``grade explain``).
* ``factor_score``: manual grading factors (credit, influence, ...) scored 1-10 per review label.
* ``sales_plan``: the monthly volume a customer (an exclusive agent) plans to take.
* ``grade_run`` / ``grade_result``: one stored run per (scale, label) and one result per customer,
  replaced when the label is graded again (``grade_result`` is a WITHOUT ROWID table on SQLite).  The current grade lives in ``customer_grade`` (core).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import Column, Date, Float, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from .core import json_column, ts_column

__all__ = ["UsageRecord", "FactorScore", "SalesPlan", "GradeRun", "GradeResult"]


class UsageRecord(SQLModel, table=True):
    __tablename__ = "usage_record"
    __table_args__ = (
        Index("ix_usage_day_customer_qty", "day", "customer_id", "qty", "amount"),
        Index("ix_usage_customer_day", "customer_id", "day"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), nullable=False))
    day: date = Field(sa_column=Column(Date, nullable=False))
    qty: float = Field(sa_column=Column(Float, nullable=False))
    product: Optional[str] = Field(default=None, sa_column=Column(String(100), nullable=True))
    amount: Optional[float] = Field(default=None, sa_column=Column(Float, nullable=True))
    import_id: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True))


class FactorScore(SQLModel, table=True):
    """A manual factor of a rank scale, scored 1-10 for one review label."""

    __tablename__ = "factor_score"
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True))
    scale: str = Field(sa_column=Column(String(32), primary_key=True))
    label: str = Field(sa_column=Column(String(16), primary_key=True))
    factor: str = Field(sa_column=Column(String(32), primary_key=True))
    value: int
    set_at: datetime = ts_column()
    set_by: str


class SalesPlan(SQLModel, table=True):
    """The volume a customer plans to take in one month (``YYYY-MM``)."""

    __tablename__ = "sales_plan"
    __table_args__ = (Index("ix_sales_plan_month", "month"),)
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True))
    month: str = Field(sa_column=Column(String(7), primary_key=True))
    qty: float = Field(sa_column=Column(Float, nullable=False))
    set_at: datetime = ts_column()
    set_by: str


class GradeRun(SQLModel, table=True):
    """One stored grading of a scale for a period label (dry runs are not stored)."""

    __tablename__ = "grade_run"
    __table_args__ = (Index("ix_grade_run_scale_label", "scale", "label"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    scale: str = Field(sa_column=Column(String(32), nullable=False))
    label: str = Field(sa_column=Column(String(16), nullable=False))
    period_start: date = Field(sa_column=Column(Date, nullable=False))
    period_end: date = Field(sa_column=Column(Date, nullable=False))
    policy_version: int
    started_at: datetime = ts_column()
    finished_at: Optional[datetime] = ts_column(nullable=True)
    actor: str
    graded: int = 0
    changed: int = 0


class GradeResult(SQLModel, table=True):
    """The grade one customer got on one scale for one period label, with the why.

    The period's dates follow from the label; who graded it and when is the latest ``grade_run`` of
    the same (scale, label) — all results of a label are replaced together."""

    __tablename__ = "grade_result"
    # One B-tree on SQLite (the primary key holds the row); per-customer look-ups go through the
    # primary key with the few labels of grade_run, so no second index has to be kept up to date.
    __table_args__ = ({"sqlite_with_rowid": False},)
    scale: str = Field(sa_column=Column(String(32), primary_key=True))
    label: str = Field(sa_column=Column(String(16), primary_key=True))
    customer_id: int = Field(sa_column=Column(Integer, ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True))
    grade: str
    previous: Optional[str] = None
    metrics: dict = json_column()
    factor_scores: Optional[dict] = json_column(nullable=True)
    score: Optional[float] = None
    rank: Optional[int] = None
    reason: str
    policy_version: int
