"""CLI (issue 21): the team's chat robot in the configuration files -- ``[notify]`` webhook, secret
and kind: ``crmctl config set|show|unset``, the key and secret never shown, bad values refused with
one line naming the key."""

from __future__ import annotations

import json
import os
from pathlib import Path

try:
    import tomllib  # novermin (tomli below on Python 3.10)
except ImportError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

import pytest

from tests.cli.test_config import ok, run
from tests.conftest import Cli, assert_refused

KEY = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"
WECOM = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
TOKEN = "0123456789abcdef0123456789abcdef"
DING = f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}"
SECRET = "SECf00dfeedbeef0123456789abcdef"


@pytest.fixture
def user() -> Path:
    return Path(os.environ["CRMCTL_CONFIG"])


def shown() -> dict[str, dict]:
    return {row["key"]: row for row in json.loads(ok("config", "show", "--format", "json"))}


def test_set_show_unset_the_robot(user):
    ok("config", "set", "lang", "en")
    assert user.stat().st_mode & 0o777 == 0o644
    ok("config", "set", "notify.webhook", DING)
    assert user.stat().st_mode & 0o777 == 0o600  # the robot's key: readable by you alone
    ok("config", "set", "notify.secret", SECRET)
    ok("config", "set", "notify.kind", "DingTalk")
    ok("config", "set", "lang", "en")
    table = tomllib.loads(user.read_text(encoding="utf-8"))
    assert table == {"notify": {"webhook": DING, "secret": SECRET, "kind": "dingtalk"}, "lang": "en"}
    rows = shown()
    assert rows["notify.webhook"] == {"key": "notify.webhook", "value": "https://oapi.dingtalk.com/robot/send?access_token=0123…***",
                                      "source": "user", "where": str(user)}
    assert rows["notify.secret"]["value"] == "SECf…***" and rows["notify.kind"]["value"] == "dingtalk"
    for fmt in ("table", "csv", "json"):
        out = ok("config", "show", "--format", fmt)
        assert TOKEN not in out and SECRET not in out
    ok("config", "unset", "notify.secret")
    assert tomllib.loads(user.read_text(encoding="utf-8"))["notify"] == {"webhook": DING, "kind": "dingtalk"}
    ok("config", "unset", "notify.webhook")
    ok("config", "unset", "notify.kind")
    assert tomllib.loads(user.read_text(encoding="utf-8")) == {"lang": "en"}  # the emptied table goes too
    assert shown()["notify.webhook"]["source"] == "default"
    r = run("config", "unset", "notify.kind")
    assert r.exit_code == 0 and "was not set" in r.stderr


@pytest.mark.parametrize("key,value,match", [
    ("notify.webhook", "qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x", "config set: notify.webhook = 'qyap…***': not an http"),
    ("notify.webhook", "ftp://example.com/x", "notify.webhook = 'ftp://example.com/x': not an http or https URL"),
    ("notify.kind", "slack", "config set: notify.kind = 'slack': use wecom or dingtalk"),
    ("notify.secret", " ", "notify.secret = '***': the robot's signing secret, as text"),
    ("notify.url", WECOM, "unknown key 'notify.url'"),
])
def test_bad_values_refused(user, key, value, match):
    r = run("config", "set", key, value)
    assert_refused(r, match)
    assert not user.exists()


def test_a_refused_value_never_shows_the_key():
    r = run("config", "set", "notify.webhook", f"https://qyapi.weixin.qq.com/send?key={KEY} x")
    assert_refused(r, "not an http or https URL")
    assert KEY not in r.stderr and "key=693a…***" in r.stderr


def test_the_file_table_is_read_and_checked(petrochem: Cli, user):
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(f'[notify]\nwebhook = "{WECOM}"\n', encoding="utf-8")
    assert shown()["notify.webhook"]["value"] == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a…***"
    petrochem.ok("staff", "list")  # a good [notify] is taken
    user.write_text('[notify]\nwebhook = "not a url"\n', encoding="utf-8")
    assert_refused(petrochem("staff", "list"), f"{user}: notify.webhook = '***': not an http or https URL")
    user.write_text(f'[notify]\nhook = "{WECOM}"\n', encoding="utf-8")
    r = petrochem("staff", "list")
    assert_refused(r, f"{user}: unknown key 'notify.hook'")
    assert "notify.webhook, notify.secret, notify.kind" in r.stderr
    user.write_text(f'"notify.webhook" = "{WECOM}"\n', encoding="utf-8")  # a dotted key is a table's only
    assert_refused(petrochem("staff", "list"), "unknown key 'notify.webhook'")
    user.write_text('[notify]\nkind = "wechat"\n', encoding="utf-8")
    r = petrochem("--lang", "zh", "staff", "list")
    assert_refused(r, "notify.kind", prefix="错误:")


def test_a_bad_variable_is_shown_masked(monkeypatch):
    monkeypatch.setenv("CRMCTL_NOTIFY_WEBHOOK", f"mailto:{KEY}")
    r = run("config", "show")
    assert r.exit_code == 0 and "CRMCTL_NOTIFY_WEBHOOK=mail…***: not an http or https URL" in r.stderr
    assert KEY not in r.stderr + r.stdout
    monkeypatch.setenv("CRMCTL_NOTIFY_WEBHOOK", WECOM)
    assert shown()["notify.webhook"]["source"] == "environment" and KEY not in ok("config", "show")
