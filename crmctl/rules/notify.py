"""The daily digest for a team's chat robot (issue 21): the markdown, its parts, the request bodies,
the DingTalk signature and the webhook shown without its key.  Pure: no network, no clock, no files.

Two robots, told apart by the webhook's host (or named with ``kind``):

* ``wecom`` -- a 企业微信 group robot, ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``:
  ``{"msgtype": "markdown", "markdown": {"content": …}}``, the content at most 4096 bytes of UTF-8;
* ``dingtalk`` -- a 钉钉 custom robot, ``https://oapi.dingtalk.com/robot/send?access_token=…``:
  ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}``; with 加签 the URL carries
  ``timestamp`` (ms) and ``sign`` = base64(HMAC-SHA256(secret, "timestamp\\nsecret")), URL-encoded.
  DingTalk documents no byte limit for a webhook's markdown as clearly as WeCom does (its robot
  API takes a message of up to 15 000 bytes); crmctl keeps a part under :data:`DINGTALK_LIMIT`.

Both robots take at most 20 messages a minute (:data:`PER_MINUTE`).

A digest is split between lines, never inside one; every part starts with the title and
``(i/n)`` when there is more than one, and an owner's heading is repeated on a part that goes on
with that owner's items.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

from ..errors import Msg, translated
from .errors import Invalid

WECOM = "wecom"
DINGTALK = "dingtalk"
KINDS = (WECOM, DINGTALK)
HOSTS = {"qyapi.weixin.qq.com": WECOM, "oapi.dingtalk.com": DINGTALK}

WECOM_LIMIT = 4096      # bytes of UTF-8 in markdown.content (企业微信 群机器人 documentation)
DINGTALK_LIMIT = 5000   # bytes of UTF-8 in markdown.text (kept well under the robot API's 15 000)
LIMITS = {WECOM: WECOM_LIMIT, DINGTALK: DINGTALK_LIMIT}
PER_MINUTE = 20         # messages a robot takes in a minute (both)
MAX_LINE = 300          # bytes of one item's line (a longer one is cut, with "…")
#: errcodes that mean "too many messages now" or "busy, try later" (企业微信: -1 系统繁忙, 45009 接口调用超过
#:限制, 45033 接口并发调用超过限制; 钉钉: 130101 / 130102 send too fast, 410100 发送速度太快而限流): the
#: message is sent again after the robot's minute has moved on, not refused
THROTTLED = {WECOM: frozenset({-1, 45009, 45033}), DINGTALK: frozenset({-1, 130101, 130102, 410100})}

#: query parameters of a webhook that are credentials (masked by :func:`mask_webhook`)
SECRET_PARAMS = ("key", "access_token", "sign", "secret", "token")


# --- the robot -------------------------------------------------------------------------------------

def robot_kind(url: str, kind: str | None = None) -> str:
    """``wecom`` or ``dingtalk``: ``kind`` when given, else what the webhook's host is."""
    if kind:
        k = kind.strip().lower()
        if k not in KINDS:
            raise Invalid(Msg("unknown robot kind '{kind}' (use wecom or dingtalk)", kind=kind), field="notify.kind")
        return k
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if host in HOSTS:
        return HOSTS[host]
    raise Invalid(Msg("cannot tell the robot from the webhook's host '{host}': set notify.kind to wecom or dingtalk",
                      host=host), field="notify.kind")


def check_webhook(url: object) -> str | None:
    """None when ``url`` can be a webhook (an http or https URL with a host), else what is wrong."""
    if not isinstance(url, str) or not url.strip():
        return Msg("an http or https URL, as text")
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Msg("not an http or https URL")
    if any(c.isspace() for c in url.strip()):
        return Msg("not an http or https URL")
    return None


def mask_secret(value: str) -> str:
    """The first four characters of a long secret, then ``…***``; a short one is ``***``."""
    return f"{value[:4]}…***" if len(value) >= 12 else "***"


def mask_webhook(url: str) -> str:
    """The webhook as it may be shown and recorded: the key / access token (and any signature or
    secret) cut to ``abcd…***``, a user and password in the address removed."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = []
    for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if name.lower() in SECRET_PARAMS:
            value = mask_secret(value)
        query.append(f"{name}={value}")
    path = parts.path
    if path.count("/") > 1 and len(path.rsplit("/", 1)[-1]) >= 24:  # a token in the path (some proxies)
        head, last = path.rsplit("/", 1)
        path = f"{head}/{mask_secret(last)}"
    return urllib.parse.urlunsplit((parts.scheme, host, path, "&".join(query), ""))


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """base64(HMAC-SHA256(key=secret, "timestamp\\nsecret")) -- not yet URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """``url`` with ``&timestamp=…&sign=…`` (加签), the signature URL-encoded."""
    sign = urllib.parse.quote_plus(dingtalk_sign(secret, timestamp_ms))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"


def wecom_body(text: str) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": text}}


def dingtalk_body(title: str, text: str) -> dict:
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}


def body(kind: str, title: str, text: str) -> dict:
    return wecom_body(text) if kind == WECOM else dingtalk_body(title, text)


# --- the digest ------------------------------------------------------------------------------------

_PLAIN = str.maketrans({"<": "‹", ">": "›", "*": "＊", "`": "'", "_": "＿", "[": "［", "]": "］",
                        "#": "＃", "\n": " ", "\r": " ", "\t": " "})


def plain(value: object) -> str:
    """Text put in the markdown as it is read, not as markup (a customer's name with ``*`` or ``<``)."""
    return ("" if value is None else str(value)).translate(_PLAIN).strip()


def _cut(line: str, limit: int) -> str:
    data = line.encode("utf-8")
    if len(data) <= limit:
        return line
    return data[:limit - 3].decode("utf-8", errors="ignore") + "…"


def item_line(item: dict, gettext=None) -> str:
    """One item: ``- 2026-12-01 C000123 华塑化工: 拜访``, an overdue one marked."""
    due = str(item.get("due") or "")[:10]
    words = [w for w in (due, plain(item.get("customer")), plain(item.get("name"))) if w]
    line = " ".join(words)
    what = plain(item.get("what"))
    if what:
        line = f"{line}: {what}" if line else what
    if item.get("overdue"):
        mark = translated(Msg("overdue"), gettext or _same)
        line = f"**{mark}** {line}"
    return _cut(f"- {line}", MAX_LINE)


def _same(text: str) -> str:
    return text


def _order(items: list[dict]) -> list[tuple[str, list[tuple[str, list[dict]]]]]:
    """[(owner, [(kind, items)])]: owners by name, then kinds with an overdue item first, items
    overdue first then by due date."""
    owners: dict[str, dict[str, list[dict]]] = {}
    for item in items:
        owners.setdefault(str(item.get("owner") or ""), {}).setdefault(str(item.get("kind") or ""), []).append(item)
    out = []
    for owner in sorted(owners, key=lambda o: (o == "", o)):
        kinds = owners[owner]
        for rows in kinds.values():
            rows.sort(key=lambda i: (not i.get("overdue"), str(i.get("due") or ""), str(i.get("customer") or "")))
        order = sorted(kinds, key=lambda k: (not any(i.get("overdue") for i in kinds[k]), k))
        out.append((owner, [(k, kinds[k]) for k in order]))
    return out


def digest_lines(items: list[dict], gettext=None) -> list[tuple[str | None, str]]:
    """The digest's lines, each with the owner heading it belongs under (None: the heading itself)."""
    g = gettext or _same
    lines: list[tuple[str | None, str]] = []
    for owner, kinds in _order(items):
        n = sum(len(rows) for _k, rows in kinds)
        late = sum(1 for _k, rows in kinds for i in rows if i.get("overdue"))
        who = plain(owner) or translated(Msg("(no owner)"), g)
        heading = _cut("### " + translated(Msg("{owner}: {n} items, {overdue} overdue", owner=who, n=n, overdue=late), g),
                       MAX_LINE)
        lines.append((None, heading))
        for kind, rows in kinds:
            # a heading, not a bold line: markdown would take a plain line after a list item as
            # the item's continuation
            lines.append((heading, _cut(f"#### {plain(kind) or '-'} ({len(rows)})", MAX_LINE)))
            lines.extend((heading, item_line(i, g)) for i in rows)
    return lines


def _header(title: str, i: int, n: int) -> str:
    return f"## {title} ({i}/{n})" if n > 1 else f"## {title}"


def digest_markdown(items: list[dict], *, title: str, robot: str, gettext=None, limit: int | None = None) -> list[str]:
    """The digest as the messages to post, each within the robot's limit (``limit``: bytes, for
    tests): grouped per owner and kind, overdue first; split between lines, a header on every part."""
    kind = robot_kind("", robot)
    limit = limit or LIMITS[kind]
    title = _cut(plain(title), 120)
    g = gettext or _same
    lines = digest_lines(items, g)
    total = len(items)
    late = sum(1 for i in items if i.get("overdue"))
    summary = translated(Msg("{n} items, {overdue} overdue", n=total, overdue=late), g) if items \
        else translated(Msg("nothing due"), g)
    reserve = len(_header(title, 999, 999).encode("utf-8")) + 2 + len(summary.encode("utf-8")) + 1
    budget = limit - reserve
    if budget < MAX_LINE * 2 + 2:
        raise Invalid(Msg("a message limit of {limit} bytes leaves no room for the digest", limit=limit))
    parts: list[list[str]] = []
    current: list[str] = []
    size = 0
    for heading, line in lines:
        need = len(line.encode("utf-8")) + 1
        if current and size + need > budget:
            parts.append(current)
            current, size = [], 0
        if not current and heading is not None:  # a part that goes on with an owner's items
            cont = _cut(heading + " " + translated(Msg("(continued)"), g), MAX_LINE)
            current.append(cont)
            size += len(cont.encode("utf-8")) + 1
        current.append(line)
        size += need
    if current or not parts:
        parts.append(current)
    n = len(parts)
    out = []
    for i, body_lines in enumerate(parts, 1):
        text = "\n".join([_header(title, i, n), summary, ""] + body_lines).rstrip("\n")
        out.append(text)
    return out


def part_title(title: str, i: int, n: int) -> str:
    """The DingTalk ``title`` of part ``i`` of ``n`` (what the chat list shows)."""
    title = _cut(plain(title), 120)
    return f"{title} ({i}/{n})" if n > 1 else title
