"""The official holiday schedules an administrator loaded for years the holiday library does not
cover yet (``crmctl calendar set-year``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Integer
from sqlmodel import Field, SQLModel

from .core import json_column, ts_column

__all__ = ["CalendarYear"]


class CalendarYear(SQLModel, table=True):
    """One year's holidays and make-up working days from the State Council's notice: ISO date ->
    the name in Chinese.  Used until the installed chinesecalendar covers the year."""

    __tablename__ = "calendar_year"
    year: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    holidays: dict = json_column()
    workdays: dict = json_column()
    origin: str  # the file it was loaded from
    loaded_at: datetime = ts_column()
    loaded_by: str
