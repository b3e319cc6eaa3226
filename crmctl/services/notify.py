"""Posting the digest to the team's chat robot (issue 21, ``crmctl agenda --send``).

The robot is the configuration file's ``[notify]`` (``notify.webhook``, ``notify.secret``,
``notify.kind``; or ``CRMCTL_NOTIFY_*``), else the policy's ``[notify]`` table: the one whose
webhook is set, as a whole.  Each part of the digest (``crmctl.rules.notify``) is posted as JSON
with the standard library (timeout 10 s); a network error, HTTP 429 or 5xx is tried again after
1 then 2 seconds (three attempts); an answer whose ``errcode`` is not 0 is the robot refusing: one
``Error:`` line with its ``errmsg`` and the webhook masked, exit 1.  Both robots take 20 messages a
minute: a digest of more parts than that is spaced 3 s apart.

A send is recorded in ``notify_send`` (the local day, the masked webhook, items, messages, when,
who) and audited; a second send the same day to the same robot is refused unless ``force``.  The
webhook's key and the signing secret are never in a message, a record or the audit trail.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from ..errors import CrmError, InvalidInput, RuleViolation
from ..i18n import _
from ..rules import notify as rules
from . import audit

TIMEOUT = 10.0          # seconds for one request
ATTEMPTS = 3            # tries of one message
BACKOFF = 1.0           # seconds before the second try; doubled before each next one
MAX_MESSAGES = 60       # a digest longer than this is refused (send it per owner)
RETRY_STATUS = (429, 500, 502, 503, 504)
THROTTLE_WAIT = 20.0    # seconds before trying again a message the robot throttled (rules.THROTTLED); doubled


class SendFailed(CrmError):
    """The robot could not be reached, or refused the message."""


@dataclass(frozen=True)
class Robot:
    webhook: str
    kind: str
    secret: str | None = None
    source: str = "config"  # config | policy | given

    @property
    def masked(self) -> str:
        return rules.mask_webhook(self.webhook)

    def scrub(self, text: str) -> str:
        """``text`` with the webhook's key and the secret cut out (an error's words, an errmsg)."""
        import urllib.parse

        secrets = [self.secret] if self.secret else []
        query = urllib.parse.urlsplit(self.webhook).query
        secrets += [v for k, v in urllib.parse.parse_qsl(query) if k.lower() in rules.SECRET_PARAMS and v]
        text = text.replace(self.webhook, self.masked)
        for s in sorted(secrets, key=len, reverse=True):
            if len(s) >= 4:
                text = text.replace(s, rules.mask_secret(s))
        return text


def robot_settings(app, *, webhook: str | None = None, secret: str | None = None, kind: str | None = None) -> Robot:
    """The robot to post to: ``webhook`` (tests, a future option), else the configuration's, else
    the policy's ``[notify]``.  Refused when none is set, or the kind cannot be told."""
    from .. import config

    source = "given"
    if webhook is None:
        cfg = config.load()
        hook = cfg.value("notify.webhook")
        if hook.value:
            webhook, source = hook.value, "config"
            secret = secret or cfg.value("notify.secret").value
            kind = kind or cfg.value("notify.kind").value
        else:
            table = getattr(app.policy, "notify", None)
            if table is not None and table.webhook:
                webhook, source = table.webhook, "policy"
                secret, kind = secret or table.secret, kind or table.kind
    if not webhook:
        raise InvalidInput(_("no chat robot is set: crmctl config set notify.webhook URL "
                             "(or [notify] webhook in the policy)"))
    problem = rules.check_webhook(webhook)
    if problem is not None:
        raise InvalidInput(_("the chat robot's webhook (notify.webhook): {problem}").format(
            problem=_("not an http or https URL")))
    return Robot(webhook.strip(), rules.robot_kind(webhook, kind), secret or None, source)


# --- posting ---------------------------------------------------------------------------------------

def _url(robot: Robot) -> str:
    if robot.kind == rules.DINGTALK and robot.secret:
        return rules.dingtalk_signed_url(robot.webhook, robot.secret, int(time.time() * 1000))
    return robot.webhook


def post_once(robot: Robot, payload: dict, *, timeout: float = TIMEOUT) -> tuple[int, dict | None]:
    """One POST: (HTTP status, the answer's JSON or None).  Network errors are raised (OSError)."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(_url(robot), data=data, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "crmctl"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - http(s) checked
            status, raw = answer.status, answer.read(65536)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read(65536) if exc.fp is not None else b""
    try:
        return status, json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        return status, None


def post(robot: Robot, payload: dict, *, sleep=time.sleep, attempts: int = ATTEMPTS) -> int:
    """Post one message, trying again with back-off; returns how many attempts it took.  Raises
    :class:`SendFailed` (the webhook masked) when the robot refuses or cannot be reached."""
    last = ""
    for attempt in range(1, attempts + 1):
        wait = BACKOFF
        try:
            status, answer = post_once(robot, payload)
        except (OSError, http.client.HTTPException) as exc:  # URLError, refused, timed out, reset, cut short
            reason = getattr(exc, "reason", None) or exc
            last = _("cannot reach it: {reason}").format(reason=reason)
        else:
            if status in RETRY_STATUS:
                last = f"HTTP {status}"
            elif not 200 <= status < 300:
                raise SendFailed(robot.scrub(_("the chat robot {robot} refused the message: HTTP {status}")
                                             .format(robot=robot.masked, status=status)))
            elif not isinstance(answer, dict) or "errcode" not in answer:
                raise SendFailed(robot.scrub(_("the chat robot {robot} gave an answer crmctl does not know")
                                             .format(robot=robot.masked)))
            elif answer.get("errcode") in rules.THROTTLED.get(robot.kind, ()):
                last = f"{str(answer.get('errmsg') or '')[:300]} (errcode {answer.get('errcode')})"
                wait = THROTTLE_WAIT
            elif answer.get("errcode") != 0:
                raise SendFailed(robot.scrub(_("the chat robot {robot} refused the message: {errmsg} (errcode {code})")
                                             .format(robot=robot.masked, errmsg=str(answer.get("errmsg") or "")[:300],
                                                     code=answer.get("errcode"))))
            else:
                return attempt
        if attempt < attempts:
            sleep(wait * 2 ** (attempt - 1))
    raise SendFailed(robot.scrub(_("the chat robot {robot} could not be reached after {n} attempts: {reason}")
                                 .format(robot=robot.masked, n=attempts, reason=last)))


# --- the digest ------------------------------------------------------------------------------------

def already_sent(app, robot: Robot, day) -> dict | None:
    from ..models.notify import NotifySend

    with app.db.read() as s:
        row = s.execute(select(NotifySend).where(NotifySend.day == day, NotifySend.robot == robot.masked)
                        .order_by(NotifySend.id.desc()).limit(1)).scalars().first()
        return None if row is None else record_dict(row, app)


def record_dict(row, app=None) -> dict:
    at = row.at
    if app is not None and at is not None:
        at = at.astimezone(app.tz)
    return {"id": row.id, "day": row.day.isoformat(), "robot": row.robot, "kind": row.kind, "items": row.items,
            "messages": row.messages, "at": at.isoformat() if at else None, "actor": row.actor}


def send_digest(app, items: list[dict], *, title: str, force: bool = False, now: datetime | None = None,
                sleep=time.sleep, robot: Robot | None = None, dry_run: bool = False) -> dict:
    """Post ``items`` (``crmctl.services.agenda.agenda_items``'s dicts) as the digest ``title`` to
    the team's robot; record and audit the send.  Returns the record (``id``, ``day``, ``robot``
    masked, ``kind``, ``items``, ``messages``, ``at``, ``actor``) with ``attempts``.  ``dry_run``:
    the messages are built and returned (``texts``), nothing posted or recorded."""
    from ..models.notify import NotifySend

    robot = robot or robot_settings(app)
    now = (now or app.now()).astimezone(app.tz)
    day = now.date()
    texts = rules.digest_markdown(items, title=title, robot=robot.kind, gettext=_)
    n = len(texts)
    if n > MAX_MESSAGES:
        raise InvalidInput(_("the digest would take {n} messages (at most {max}): send it per owner")
                           .format(n=n, max=MAX_MESSAGES))
    if dry_run:
        return {"day": day.isoformat(), "robot": robot.masked, "kind": robot.kind, "items": len(items),
                "messages": n, "texts": texts}
    actor = app.actor.login
    if not force:
        before = already_sent(app, robot, day)
        if before is not None:
            raise RuleViolation(_("already sent today to {robot} ({at}, {items} items, by {actor}): "
                                  "use --force to send again")
                                .format(robot=robot.masked, at=before["at"][11:16], items=before["items"],
                                        actor=before["actor"]))
    spacing = 60.0 / rules.PER_MINUTE if n > rules.PER_MINUTE else 0.0
    attempts = 0
    for i, text in enumerate(texts, 1):
        if i > 1 and spacing:
            sleep(spacing)
        payload = rules.body(robot.kind, rules.part_title(title, i, n), text)
        try:
            attempts += post(robot, payload, sleep=sleep)
        except SendFailed as exc:
            if i > 1:
                exc.message = _("{message} (after {sent} of {n} messages were sent)").format(
                    message=exc.message, sent=i - 1, n=n)
                exc.args = (exc.message,)
            raise
    written = datetime.now(timezone.utc) if app.settings.now is None else now.astimezone(timezone.utc)
    with app.db.write() as s:
        row = NotifySend(day=day, robot=robot.masked, kind=robot.kind, items=len(items), messages=n,
                         at=written, actor=actor)
        s.add(row)
        s.flush()
        result = record_dict(row, app)
        audit.record(s, app, "notify.send", "notify_send", str(row.id), at=now,
                     after={"day": result["day"], "robot": robot.masked, "kind": robot.kind, "items": len(items),
                            "messages": n, "forced": bool(force)})
    result["attempts"] = attempts
    return result


def sends(app, *, day=None, limit: int = 50) -> list[dict]:
    """The recorded sends, newest first (``day``: only that local date)."""
    from ..models.notify import NotifySend

    with app.db.read() as s:
        q = select(NotifySend).order_by(NotifySend.id.desc()).limit(limit)
        if day is not None:
            q = q.where(NotifySend.day == day)
        return [record_dict(r, app) for r in s.execute(q).scalars().all()]
