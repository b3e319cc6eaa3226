"""Rules (issue 21): the digest for the team's chat robot -- its markdown, its parts within each
robot's limit, the request bodies, the DingTalk signature, the webhook masked.  Pure: no network."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

import pytest

from crmctl.rules import notify as n
from crmctl.rules.errors import Invalid

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING_URL = "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123456789abcdef"
SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef"


def item(i: int, *, owner="xs", kind="visit", overdue=False, due="2026-11-23", name=None) -> dict:
    return {"kind": kind, "due": due, "customer": f"C{i:06d}", "name": name or f"河北华塑化工有限公司{i}",
            "owner": owner, "what": "季度拜访", "state": "planned", "overdue": overdue,
            "command": f"crmctl visit log C{i:06d} --kind {kind}"}


def test_grouped_per_owner_and_kind_overdue_first():
    items = [item(1, owner="zs", kind="visit"), item(2, owner="xs", kind="complaint"),
             item(3, owner="xs", kind="visit", overdue=True, due="2026-11-20"),
             item(4, owner="xs", kind="visit", due="2026-11-21"), item(5, owner=None, kind="doc")]
    [text] = n.digest_markdown(items, title="待办 2026-11-22", robot="wecom")
    lines = text.splitlines()
    assert lines[0] == "## 待办 2026-11-22" and lines[1] == "5 items, 1 overdue"
    heads = [ln for ln in lines if ln.startswith("### ")]
    assert [ln for ln in lines if ln.startswith("#### ")] == ["#### visit (2)", "#### complaint (1)", "#### visit (1)",
                                                               "#### doc (1)"]
    assert heads == ["### xs: 3 items, 1 overdue", "### zs: 1 items, 0 overdue", "### (no owner): 1 items, 0 overdue"]
    xs = lines[lines.index(heads[0]) + 1:lines.index(heads[1])]
    # the kind with an overdue item first, and in it the overdue item first
    assert xs[0] == "#### visit (2)" and xs[1].startswith("- **overdue** 2026-11-20 C000003 ")
    assert xs[2].startswith("- 2026-11-21 C000004 ") and xs[3] == "#### complaint (1)"
    assert "- 2026-11-23 C000002 河北华塑化工有限公司2: 季度拜访" in xs


def test_markup_in_a_name_is_shown_as_text():
    [text] = n.digest_markdown([item(1, name="A*B_<font>[x](y)`#")], title="t", robot="wecom")
    line = [ln for ln in text.splitlines() if "C000001" in ln][0]
    assert not set("*_<>[]`#") & set(line.split("C000001 ", 1)[1])


def test_nothing_due_is_one_short_message():
    assert n.digest_markdown([], title="Agenda", robot="dingtalk") == ["## Agenda\nnothing due"]


@pytest.mark.parametrize("robot,limit", [("wecom", 4096), ("dingtalk", n.DINGTALK_LIMIT)])
def test_a_long_digest_is_split_between_lines_within_the_limit(robot, limit):
    items = [item(i, owner=f"o{i % 3}", kind=("visit", "doc")[i % 2], overdue=i % 7 == 0) for i in range(1, 400)]
    parts = n.digest_markdown(items, title="待办 2026-11-22", robot=robot)
    assert len(parts) > 3
    total = len(parts)
    for i, part in enumerate(parts, 1):
        assert len(part.encode("utf-8")) <= limit
        assert part.splitlines()[0] == f"## 待办 2026-11-22 ({i}/{total})"
        assert part.splitlines()[1] == "399 items, 57 overdue"
    # every item's line is whole in exactly one part
    bodies = [ln for p in parts for ln in p.splitlines()]
    for it in items:
        found = [ln for ln in bodies if f" {it['customer']} " in ln]
        assert len(found) == 1 and found[0].endswith(": 季度拜访")
    # a part that goes on with an owner's items repeats the owner's heading
    for part in parts[1:]:
        assert part.splitlines()[3].startswith("### ")


def test_a_small_limit_makes_more_parts():
    items = [item(i) for i in range(1, 60)]
    parts = n.digest_markdown(items, title="t", robot="wecom", limit=1000)
    assert all(len(p.encode()) <= 1000 for p in parts) and len(parts) >= 5
    with pytest.raises(Invalid):
        n.digest_markdown(items, title="t", robot="wecom", limit=300)


def test_an_overlong_line_is_cut_not_split():
    [text] = n.digest_markdown([item(1, name="长" * 500)], title="t", robot="wecom")
    line = [ln for ln in text.splitlines() if "C000001" in ln][0]
    assert len(line.encode()) <= n.MAX_LINE and line.endswith("…")


def test_bodies():
    assert n.wecom_body("# x") == {"msgtype": "markdown", "markdown": {"content": "# x"}}
    assert n.dingtalk_body("t", "# x") == {"msgtype": "markdown", "markdown": {"title": "t", "text": "# x"}}
    assert n.body("dingtalk", "t", "x")["markdown"]["title"] == "t"
    assert n.part_title("待办", 2, 3) == "待办 (2/3)" and n.part_title("待办", 1, 1) == "待办"


def test_dingtalk_signature():
    ts = 1764648000000
    url = n.dingtalk_signed_url(DING_URL, SECRET, ts)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()).decode()
    assert query["timestamp"] == str(ts) and query["sign"] == expected
    assert query["access_token"] == "0123456789abcdef0123456789abcdef"
    assert "+" not in url.split("sign=")[1] and "/" not in url.split("sign=")[1]  # URL-encoded
    assert n.dingtalk_signed_url("http://h/robot/send", "s", 1).startswith("http://h/robot/send?timestamp=1&sign=")


def test_mask_webhook():
    assert n.mask_webhook(WECOM_URL) == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a…***"
    assert n.mask_webhook(DING_URL + "&timestamp=1&sign=abcdefghijklmnop") == \
        "https://oapi.dingtalk.com/robot/send?access_token=0123…***&timestamp=1&sign=abcd…***"
    assert n.mask_webhook("https://user:pw@example.com/hook?key=short") == "https://example.com/hook?key=***"
    assert "0123456789abcdef" not in n.mask_webhook(DING_URL)


def test_robot_kind():
    assert n.robot_kind(WECOM_URL) == "wecom" and n.robot_kind(DING_URL) == "dingtalk"
    assert n.robot_kind("http://127.0.0.1:8000/x", "DingTalk") == "dingtalk"
    with pytest.raises(Invalid, match="notify.kind"):
        n.robot_kind("http://127.0.0.1:8000/x")
    with pytest.raises(Invalid, match="unknown robot kind 'slack'"):
        n.robot_kind(WECOM_URL, "slack")


@pytest.mark.parametrize("url,good", [(WECOM_URL, True), ("http://127.0.0.1:1/x", True), ("ftp://h/x", False),
                                      ("qyapi.weixin.qq.com/send", False), ("", False), (3, False),
                                      ("https://h/a b", False)])
def test_check_webhook(url, good):
    assert (n.check_webhook(url) is None) == good


def test_the_policy_may_name_the_robot():
    from pydantic import ValidationError

    from crmctl.policies.schema import Notify

    t = Notify.model_validate({"webhook": DING_URL, "secret": SECRET, "kind": "dingtalk"})
    assert t.webhook == DING_URL and t.kind == "dingtalk"
    assert Notify.model_validate({}).webhook is None
    for bad in ({"webhook": "not a url"}, {"kind": "slack"}, {"url": DING_URL}):
        with pytest.raises(ValidationError):
            Notify.model_validate(bad)
