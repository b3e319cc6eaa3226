"""The application context every use case runs in: database, current policy, acting person, clock.

Commands build a ``Settings`` from the global options and call ``open_app``; services take the
``App`` and open units of work with ``app.db.write()`` (commit on success, roll back otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .. import i18n
from ..i18n import _
from ..db import Database, open_database
from ..errors import CrmError, NotPermitted
from ..models import PolicyVersion
from ..rules import times

FUTURE_TOLERANCE = timedelta(minutes=5)  # clocks of two machines differ a little
from ..settings import Settings  # noqa: F401  (re-exported: services take Settings from here)
from .identity import Actor
from .identity import resolve as resolve_actor


@dataclass
class App:
    settings: Settings
    db: Database
    policy_row: PolicyVersion
    _actor: Actor | None = field(default=None, repr=False)

    @cached_property
    def policy(self):
        from ..policies import parse_policy_cached

        return parse_policy_cached(self.policy_row.text, f"policy version {self.policy_row.version}")

    @property
    def policy_version(self) -> int:
        return self.policy_row.version

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.policy.policy.timezone)

    @cached_property
    def segment_index(self):
        """Look-ups by code or label of the policy's segments and fields."""
        from ..rules.customers import SegmentIndex

        return SegmentIndex(self.policy)

    @cached_property
    def calendar(self):
        """The company's working calendar (statutory holidays, make-up days, business hours)."""
        from ..rules.calendar import calendar_from_policy
        from ..rules.errors import Invalid

        try:
            return calendar_from_policy(self.policy.calendar, self.policy.policy.timezone, self._loaded_years())
        except Invalid as exc:
            raise exc.within(_("policy calendar")) from None

    def _loaded_years(self) -> dict:
        """Official schedules loaded with ``calendar set-year`` (a handful of rows; none on a database
        older than the table)."""
        from .calendar_loaded import loaded_years

        with self.db.read() as s:
            return loaded_years(s)

    @cached_property
    def clock_calendar(self):
        """Every hour of every day (``calendar = "24x7"``), in the policy's time zone."""
        from ..rules.sla import round_the_clock_calendar

        return round_the_clock_calendar(self.policy.policy.timezone)

    def now(self) -> datetime:
        return times.now(self.tz, self.settings.now).replace(microsecond=0)

    def event_time(self, at: datetime | None, what: str = "--at") -> datetime:
        """When an event happened: ``at`` (``--at``) or now, in the company zone.  The future is
        refused; so is a date further back than the policy's ``backdate_days`` unless an administrator
        is back-filling (the audit entry records the real time written either way)."""
        now = self.now()
        when = (at or now).astimezone(self.tz)
        back = None if self.actor.back_fills else self.policy.permissions.backdate_days
        times.check_event_date(when, now, back_days=back, future=FUTURE_TOLERANCE, what=what)
        return when

    @property
    def actor(self) -> Actor:
        """The acting person (``crmctl.services.identity``): resolved once, refused if unknown."""
        if self._actor is None:
            self._actor = resolve_actor(self.db, self.settings)
            if self._actor.db_role:
                self.db.set_role(self._actor.db_role)
        return self._actor

    def require_admin(self, what: str) -> Actor:
        """``what``: the act, in the user's language (``_("add staff")``)."""
        actor = self.actor
        if not actor.is_admin:
            raise NotPermitted(_("{login} may not {what}: only an administrator may").format(login=actor.login,
                                                                                                 what=what))
        return actor

    def require_in_person(self, what: str) -> None:
        """An approval is the approver's own act: where the policy wants approvals in person
        (``[permissions] approvals_in_person``), an administrator acting for someone may not give it."""
        actor = self.actor
        if self.policy.permissions.approvals_in_person and not actor.in_person:
            raise NotPermitted(_("{by} may not {what} for {login}: this policy wants approvals given "
                                      "in person").format(by=actor.by, what=what, login=actor.login))

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> "App":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def current_policy_row(db: Database) -> PolicyVersion:
    with db.read() as s:
        row = s.scalars(select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1)).first()
    if row is None:
        raise CrmError(_("the database holds no policy: it was not initialised with 'crmctl init'"))
    return row


def open_app(settings: Settings, *, need_actor: bool = True) -> App:
    db = open_database(settings.db_url())
    try:
        app = App(settings, db, current_policy_row(db))
        # the policy's language, read only if a message is translated and nothing stronger chose
        i18n.set_policy_language(lambda: app.policy.policy.language)
        if need_actor:
            app.actor  # noqa: B018 - checks the acting person now, before any work
        return app
    except BaseException:
        db.dispose()
        raise
