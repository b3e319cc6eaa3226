"""Services (issue 21): the digest posted to the team's chat robot.  A local HTTP server on
127.0.0.1 plays both robots -- a 企业微信 group robot and a 钉钉 custom robot with 加签 -- checks
each request's JSON and signature, answers as they do (success and error bodies), and fails on
demand.  Nothing leaves 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crmctl.errors import CrmError, InvalidInput, RuleViolation
from crmctl.services import notify
from crmctl.services.app import Settings, open_app

KEY = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"
TOKEN = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
SECRET = "SECf00dfeedbeef0123456789abcdef0123456789abcdef0123456789abcdef"


class Robots(ThreadingHTTPServer):
    """Both robots.  ``plan``: what to answer to the next requests, in order (then "ok"): "ok",
    an HTTP status (500, 429, 404), "93000" (WeCom: invalid webhook), "bad-json", "drop" (no answer)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.plan: list = []
        self.received: list[dict] = []  # {"robot", "query", "body"} of every request
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def wecom(self, key: str = KEY) -> str:
        return f"{self.base}/cgi-bin/webhook/send?key={key}"

    def dingtalk(self) -> str:
        return f"{self.base}/robot/send?access_token={TOKEN}"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _answer(self, status: int, body) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802 - the http.server name
        server: Robots = self.server  # type: ignore[assignment]
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with server.lock:
            step = server.plan.pop(0) if server.plan else "ok"
            body = json.loads(raw.decode("utf-8"))
            robot = "wecom" if parts.path == "/cgi-bin/webhook/send" else "dingtalk"
            server.received.append({"robot": robot, "query": query, "body": body,
                                    "type": self.headers.get("Content-Type")})
        if isinstance(step, int):
            return self._answer(step, {"errcode": -1, "errmsg": "system busy"} if step >= 500 else b"no")
        if step == "drop":  # the connection closed with no answer
            self.close_connection = True
            return None
        if step == "bad-json":
            return self._answer(200, b"<html>proxy</html>")
        assert body["msgtype"] == "markdown"
        if step == "45009":  # 企业微信's answer to too many messages
            return self._answer(200, {"errcode": 45009, "errmsg": "api freq out of limit, more info at "
                                      "https://open.work.weixin.qq.com/devtool/query?e=45009"})
        if step == "130101":  # 钉钉's
            return self._answer(200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})
        if robot == "wecom":
            assert set(body) == {"msgtype", "markdown"} and set(body["markdown"]) == {"content"}
            if step == "93000" or query.get("key") != KEY:
                return self._answer(200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1764648000_abc], "
                                          "from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=93000"})
            if len(body["markdown"]["content"].encode()) > 4096:
                return self._answer(200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"})
            return self._answer(200, {"errcode": 0, "errmsg": "ok"})
        assert set(body["markdown"]) == {"title", "text"} and body["markdown"]["title"]
        if query.get("access_token") != TOKEN:
            return self._answer(200, {"errcode": 300001, "errmsg": "token is not exist"})
        ts = query.get("timestamp", "")
        expected = base64.b64encode(hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()).decode()
        if query.get("sign") != expected:
            return self._answer(200, {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"})
        return self._answer(200, {"errcode": 0, "errmsg": "ok"})


@pytest.fixture
def robots(monkeypatch):
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    server = Robots()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(petrochem):
    a = open_app(Settings(db=str(petrochem.db), actor="admin"))
    yield a
    a.close()


def items(n: int = 3, overdue: int = 1) -> list[dict]:
    return [{"kind": ("visit", "doc", "complaint")[i % 3], "due": "2026-11-2%d" % (i % 9), "customer": f"C{i:06d}",
             "name": f"河北华塑化工有限公司第{i}分公司", "owner": ("xs", "zs")[i % 2], "what": "季度拜访客户",
             "state": "planned", "overdue": i < overdue, "command": f"crmctl visit log C{i:06d}"} for i in range(n)]


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def robot(url: str, kind: str, secret: str | None = None) -> notify.Robot:
    return notify.Robot(url, kind, secret, "given")


def test_wecom_digest_posted_recorded_and_audited(robots, app):
    r = robot(robots.wecom(), "wecom")
    sent = notify.send_digest(app, items(5, overdue=2), title="今日待办 2026-11-22", robot=r, sleep=Sleeps())
    assert sent["items"] == 5 and sent["messages"] == 1 and sent["kind"] == "wecom" and sent["attempts"] == 1
    assert sent["robot"] == r.masked and KEY not in sent["robot"] and sent["day"] == "2026-11-22"
    assert sent["actor"] == "admin" and sent["at"].startswith("2026-11-22T10:00:00")
    [req] = robots.received
    assert req["type"].startswith("application/json")
    text = req["body"]["markdown"]["content"]
    assert text.startswith("## 今日待办 2026-11-22\n5 items, 2 overdue\n")
    assert "### xs: " in text and "C000001 河北华塑化工有限公司第1分公司: 季度拜访客户" in text
    assert notify.sends(app) == [{k: v for k, v in sent.items() if k != "attempts"}]
    with app.db.read() as s:
        from sqlalchemy import text as sql
        row = s.execute(sql("select action, entity, after from audit_log where action = 'notify.send'")).one()
    after = json.loads(row[2]) if isinstance(row[2], str) else row[2]
    assert row[1] == "notify_send" and KEY not in json.dumps(after) and after["items"] == 5 and after["forced"] is False


def test_dingtalk_signed_digest(robots, app):
    sent = notify.send_digest(app, items(4), title="待办", robot=robot(robots.dingtalk(), "dingtalk", SECRET))
    assert sent["kind"] == "dingtalk" and sent["attempts"] == 1
    [req] = robots.received
    assert req["body"]["markdown"]["title"] == "待办" and req["body"]["markdown"]["text"].startswith("## 待办\n")
    assert abs(int(req["query"]["timestamp"]) / 1000 - datetime.now().timestamp()) < 60  # the real clock


def test_a_wrong_secret_is_refused_without_showing_it(robots, app):
    wrong = "SEC" + "9" * 60
    with pytest.raises(notify.SendFailed) as info:
        notify.send_digest(app, items(), title="t", robot=robot(robots.dingtalk(), "dingtalk", wrong), sleep=Sleeps())
    message = info.value.message
    assert "sign not match" in message and "(errcode 310000)" in message and TOKEN not in message and wrong not in message
    assert "access_token=0123…***" in message and info.value.exit_code == 1
    assert notify.sends(app) == [] and len(robots.received) == 1  # a refusal is not tried again


def test_wecom_invalid_webhook_refused(robots, app):
    robots.plan = ["93000"]
    with pytest.raises(notify.SendFailed, match="invalid webhook url.*errcode 93000") as info:
        notify.send_digest(app, items(), title="t", robot=robot(robots.wecom(), "wecom"), sleep=Sleeps())
    assert KEY not in info.value.message and "key=693a…***" in info.value.message


def test_a_server_error_is_tried_again_with_back_off(robots, app):
    robots.plan = [500, 503]
    sleeps = Sleeps()
    sent = notify.send_digest(app, items(), title="t", robot=robot(robots.wecom(), "wecom"), sleep=sleeps)
    assert sleeps == [1.0, 2.0] and sent["attempts"] == 3 and len(robots.received) == 3
    assert len(notify.sends(app)) == 1


def test_a_dropped_connection_is_tried_again(robots, app):
    robots.plan = ["drop"]
    sleeps = Sleeps()
    sent = notify.send_digest(app, items(), title="t", robot=robot(robots.wecom(), "wecom"), sleep=sleeps)
    assert sleeps == [1.0] and sent["attempts"] == 2


@pytest.mark.parametrize("kind", ["wecom", "dingtalk"])
def test_a_throttled_message_waits_for_the_robots_minute(robots, app, kind):
    robots.plan = ["45009" if kind == "wecom" else "130101"]
    sleeps = Sleeps()
    url = robots.wecom() if kind == "wecom" else robots.dingtalk()
    sent = notify.send_digest(app, items(), title="t", robot=robot(url, kind, SECRET if kind == "dingtalk" else None),
                              sleep=sleeps)
    assert sleeps == [notify.THROTTLE_WAIT] and sent["attempts"] == 2 and len(robots.received) == 2
    assert len(notify.sends(app)) == 1


def test_a_robot_that_keeps_throttling(robots, app):
    robots.plan = ["45009"] * 3
    sleeps = Sleeps()
    with pytest.raises(notify.SendFailed) as info:
        notify.send_digest(app, items(), title="t", robot=robot(robots.wecom(), "wecom"), sleep=sleeps)
    assert sleeps == [20.0, 40.0] and "after 3 attempts: api freq out of limit" in info.value.message
    assert "(errcode 45009)" in info.value.message and KEY not in info.value.message and notify.sends(app) == []


def test_another_robots_throttle_code_is_a_refusal(robots, app):
    robots.plan = ["130101"]  # a 企业微信 robot never answers 130101: not taken for throttling
    with pytest.raises(notify.SendFailed, match="refused the message: send too fast"):
        notify.send_digest(app, items(), title="t", robot=robot(robots.wecom(), "wecom"), sleep=Sleeps())
    assert len(robots.received) == 1


def test_a_robot_that_keeps_failing(robots, app):
    robots.plan = [500, 429, 502]
    sleeps = Sleeps()
    with pytest.raises(notify.SendFailed) as info:
        notify.send_digest(app, items(), title="t", robot=robot(robots.wecom(), "wecom"), sleep=sleeps)
    assert sleeps == [1.0, 2.0] and "could not be reached after 3 attempts: HTTP 502" in info.value.message
    assert KEY not in info.value.message and notify.sends(app) == []


def test_nobody_listening(app):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    with pytest.raises(notify.SendFailed, match="cannot reach it") as info:
        notify.send_digest(app, items(), title="t", robot=robot(f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key={KEY}",
                                                                "wecom"), sleep=sleeps)
    assert KEY not in info.value.message and sleeps == [1.0, 2.0]


@pytest.mark.parametrize("step,match", [(404, "HTTP 404"), ("bad-json", "an answer crmctl does not know")])
def test_other_answers_are_refusals(robots, app, step, match):
    robots.plan = [step]
    with pytest.raises(notify.SendFailed, match=match):
        notify.send_digest(app, items(), title="t", robot=robot(robots.wecom(), "wecom"), sleep=Sleeps())
    assert len(robots.received) == 1


def test_a_large_digest_is_split_and_spaced(robots, app):
    sleeps = Sleeps()
    many = items(1100, overdue=100)
    sent = notify.send_digest(app, many, title="今日待办", robot=robot(robots.wecom(), "wecom"), sleep=sleeps)
    n = sent["messages"]
    assert n > notify.rules.PER_MINUTE and len(robots.received) == n
    contents = [r["body"]["markdown"]["content"] for r in robots.received]
    assert all(len(c.encode()) <= 4096 for c in contents)
    assert [c.splitlines()[0] for c in contents] == [f"## 今日待办 ({i}/{n})" for i in range(1, n + 1)]
    assert sum(c.count("\n- ") for c in contents) == 1100
    assert sleeps == [3.0] * (n - 1)  # 20 a minute


def test_a_few_parts_are_not_spaced(robots, app):
    sleeps = Sleeps()
    sent = notify.send_digest(app, items(120), title="t", robot=robot(robots.dingtalk(), "dingtalk", SECRET),
                              sleep=sleeps)
    assert 1 < sent["messages"] <= notify.rules.PER_MINUTE and sleeps == []
    titles = [r["body"]["markdown"]["title"] for r in robots.received]
    assert titles == [f"t ({i}/{sent['messages']})" for i in range(1, sent["messages"] + 1)]


def test_a_failure_part_way_says_how_many_were_sent(robots, app):
    robots.plan = ["ok", "93000"]
    with pytest.raises(notify.SendFailed, match=r"after 1 of \d+ messages were sent"):
        notify.send_digest(app, items(200), title="t", robot=robot(robots.wecom(), "wecom"), sleep=Sleeps())
    assert notify.sends(app) == []


def test_already_sent_today_unless_forced(robots, app):
    r = robot(robots.wecom(), "wecom")
    notify.send_digest(app, items(), title="t", robot=r)
    with pytest.raises(RuleViolation, match=r"already sent today to .*key=693a…\*\*\* \(10:00, 3 items, by admin\): "
                                            r"use --force"):
        notify.send_digest(app, items(), title="t", robot=r)
    assert len(robots.received) == 1
    forced = notify.send_digest(app, items(7), title="t", robot=r, force=True)
    assert forced["items"] == 7 and len(notify.sends(app)) == 2
    # another robot, or the next day, is not "already sent"
    notify.send_digest(app, items(), title="t", robot=robot(robots.dingtalk(), "dingtalk", SECRET))
    tomorrow = app.now() + timedelta(days=1)
    assert notify.send_digest(app, items(), title="t", robot=r, now=tomorrow)["day"] == "2026-11-23"
    assert [s["day"] for s in notify.sends(app, day=tomorrow.date())] == ["2026-11-23"]


def test_the_local_day_is_the_policy_zone(robots, app):
    from datetime import timezone

    late = datetime(2026, 11, 22, 17, 30, tzinfo=timezone.utc)  # 01:30 on the 23rd in Beijing
    assert notify.send_digest(app, items(), title="t", robot=robot(robots.wecom(), "wecom"), now=late)["day"] == "2026-11-23"


def test_dry_run_posts_nothing(robots, app):
    out = notify.send_digest(app, items(), title="t", robot=robot(robots.wecom(), "wecom"), dry_run=True)
    assert out["messages"] == 1 and out["texts"][0].startswith("## t\n") and robots.received == []
    assert notify.sends(app) == []


def test_the_robot_from_the_configuration_then_the_policy(app, tmp_path, monkeypatch):
    import os
    from pathlib import Path

    with pytest.raises(InvalidInput, match="no chat robot is set: crmctl config set notify.webhook URL"):
        notify.robot_settings(app)
    user = Path(os.environ["CRMCTL_CONFIG"])
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(f'[notify]\nwebhook = "https://oapi.dingtalk.com/robot/send?access_token={TOKEN}"\n'
                    f'secret = "{SECRET}"\n', encoding="utf-8")
    r = notify.robot_settings(app)
    assert (r.kind, r.secret, r.source) == ("dingtalk", SECRET, "config")
    monkeypatch.setenv("CRMCTL_NOTIFY_WEBHOOK", "http://127.0.0.1:9/hook?key=abc")
    monkeypatch.setenv("CRMCTL_NOTIFY_KIND", "wecom")
    r = notify.robot_settings(app)
    assert (r.webhook, r.kind) == ("http://127.0.0.1:9/hook?key=abc", "wecom")
    monkeypatch.delenv("CRMCTL_NOTIFY_KIND")
    with pytest.raises(CrmError, match="notify.kind"):
        notify.robot_settings(app)
    # the policy's [notify] when the configuration names no robot
    monkeypatch.delenv("CRMCTL_NOTIFY_WEBHOOK")
    user.unlink()
    from crmctl.policies.schema import Notify

    policy = app.policy.model_copy(update={"notify": Notify(webhook=f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}")})
    monkeypatch.setattr(type(app), "policy", property(lambda self: policy))
    r = notify.robot_settings(app)
    assert (r.kind, r.source, r.secret) == ("wecom", "policy", None)


@pytest.mark.sqlite_only  # reads the SQLite file directly
def test_0010_matches_the_model(petrochem):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    from crmctl import models

    models.load_all()
    engine = create_engine(f"sqlite:///{petrochem.db}")
    try:
        with engine.connect() as conn:
            diff = [d for d in compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
                    if "notify" in str(d)]
        assert diff == []
    finally:
        engine.dispose()


def test_the_digest_in_chinese(robots, app):
    from crmctl import i18n

    i18n.set_language("zh")
    try:
        notify.send_digest(app, items(4, overdue=1), title="今日待办", robot=robot(robots.wecom(), "wecom"))
        with pytest.raises(RuleViolation, match="今天已发送到 .*key=693a…"):
            notify.send_digest(app, items(4), title="今日待办", robot=robot(robots.wecom(), "wecom"))
    finally:
        i18n.reset()
    text = robots.received[0]["body"]["markdown"]["content"]
    assert "共 4 项，逾期 1 项" in text and "**逾期** " in text and "### xs：共 2 项" in text


def test_a_bad_robot_variable_is_refused_masked(app, monkeypatch):
    from crmctl.config import ConfigError

    monkeypatch.setenv("CRMCTL_NOTIFY_WEBHOOK", f"qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}")
    with pytest.raises(ConfigError, match="CRMCTL_NOTIFY_WEBHOOK=qyap…\\*\\*\\*: not an http or https URL") as info:
        notify.robot_settings(app)
    assert KEY not in info.value.message
