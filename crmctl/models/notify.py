"""What ``crmctl agenda --send`` posted to the team's chat robot (issue 21): one row per send, so a
second run the same day can say "already sent"."""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlmodel import Field, SQLModel

from .core import ts_column

__all__ = ["NotifySend"]


class NotifySend(SQLModel, table=True):
    __tablename__ = "notify_send"
    id: Optional[int] = Field(default=None, primary_key=True)
    day: date = Field(index=True)  # the local date (the policy's time zone) of the send
    robot: str = Field(max_length=500)  # the webhook, masked (never its key)
    kind: str = Field(max_length=16)  # wecom | dingtalk
    items: int
    messages: int
    at: datetime = ts_column()
    actor: str
