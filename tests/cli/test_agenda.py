"""``crmctl agenda``: table at 80 columns (both languages), json keys, csv, refusals, visibility."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rich.cells import cell_len

from crmctl.rules.agenda import ITEM_KEYS
from tests.conftest import Cli
from tests.services.test_agenda import NOW, setup_petrochem


@pytest.fixture
def data(make_cli, monkeypatch):
    monkeypatch.setenv("CRMCTL_NOW", NOW)
    cli = make_cli("petrochem")
    return cli, setup_petrochem(cli)


@pytest.fixture
def terminal(monkeypatch):
    from crmctl import output

    monkeypatch.setattr(output, "_stream_is_terminal", lambda stream: True)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "100000")
    monkeypatch.setenv("CRMCTL_PAGER", "")


def test_json_keys_and_own_customers_only(data):
    cli, d = data
    rows = json.loads(cli.ok("agenda", "--format", "json", actor="s1"))
    assert rows and all(list(r) == list(ITEM_KEYS) for r in rows)
    assert {r["customer"] for r in rows} == {d["c1"]}
    first = dict(rows[0], what=None)
    assert first == {"kind": "activity", "due": "2026-11-10", "customer": d["c1"], "name": "甲化工", "owner": "s1",
                     "what": None, "state": "overdue 6 days", "overdue": True,
                     "command": f"crmctl visit log --planned {d['a_late']}"}
    assert rows[0]["what"]  # the policy's label of the kind
    complaint = next(r for r in rows if r["kind"] == "complaint")
    assert complaint["due"] == "2026-11-13T10:00:00+08:00" and complaint["overdue"] is True
    week = json.loads(cli.ok("agenda", "--week", "--format", "json", actor="s1"))
    assert len(week) == len(rows) + 1


def test_csv_same_keys(data, tmp_path):
    cli, d = data
    out = tmp_path / "agenda.csv"
    cli.ok("agenda", "--all", "--format", "csv", "--output", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert list(rows[0]) == list(ITEM_KEYS)
    assert {r["owner"] for r in rows} == {"s1", "s2"}
    assert {r["overdue"] for r in rows} <= {"true", "false"}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_table_fits_80_columns(data, terminal, lang):
    cli, d = data
    table = cli.ok("--lang", lang, "agenda", "--all", "--week")
    lines = table.splitlines()
    assert lines and all(cell_len(ln) <= 80 for ln in lines), [ln for ln in lines if cell_len(ln) > 80][:2]
    assert any(d["c1"] in ln for ln in lines) and any(d["c2"] in ln for ln in lines)
    if lang == "zh":
        assert "已逾期 1" in table and "事项" in table and "处理命令" in table
    else:
        assert "overdue 1" in table and "Command" in table


def test_empty_agenda(data):
    cli, _ = data
    assert json.loads(cli.ok("agenda", "--format", "json")) == []
    assert cli.ok("agenda", "--format", "csv").splitlines() == [",".join(ITEM_KEYS)]


def test_refusals(data):
    cli, _ = data
    cli.refused("agenda", "--owner", "nobody", match="no staff member 'nobody'")
    cli.refused("agenda", "--owner", "s1", "--all", match="give --owner or --all, not both")
    cli.refused_zh("agenda", "--owner", "s1", "--all", match="请给出 --owner 或 --all")
    r = cli("agenda", "--format", "yaml")
    assert r.exit_code == 2 and "Traceback" not in r.stderr


def test_restricted_files(make_cli, monkeypatch):
    """manufacturer 三.6: a person without a reader role sees their own agenda only."""
    monkeypatch.setenv("CRMCTL_NOW", NOW)
    cli = make_cli("manufacturer")
    cli.ok("staff", "add", "li", "--name", "李工", "--role", "marketing")
    cli.ok("staff", "add", "wang", "--name", "王工", "--role", "marketing")
    cli.ok("customer", "add", "--name", "华北机械厂", "--segment", "kind=supplier", "--owner", "li", "--code", "M-1")
    cli.ok("doc", "add", "M-1", "--type", "maintenance_contract", "--expires", "2026-12-01")
    assert [r["kind"] for r in json.loads(cli.ok("agenda", "-f", "json", actor="li"))] == ["renewal"]
    assert json.loads(cli.ok("agenda", "-f", "json", actor="wang")) == []
    cli.refused("agenda", "--owner", "li", actor="wang", match="wang may not see the agenda of li")
    cli.refused("agenda", "--all", actor="wang", match="may not see the agenda of the whole team")
    cli.refused_zh("agenda", "--all", actor="wang", match="无权查看整个团队的待办")
    assert [r["customer"] for r in json.loads(cli.ok("agenda", "--all", "-f", "json"))] == ["M-1"]  # admin


def test_service_ticket_clock(make_cli, monkeypatch):
    monkeypatch.setenv("CRMCTL_NOW", NOW)
    gas: Cli = make_cli("gas-service")
    gas.ok("staff", "add", "qiangxiu", "--name", "抢修工", "--role", "repair_team")
    gas.ok("customer", "add", "--name", "城南小区", "--segment", "sector=residential")
    tid = gas.ok("service", "open", "C000001", "--kind", "repair", "--summary", "管道漏气",
                 "--at", "2026-11-16T08:00").strip()
    rows = [r for r in json.loads(gas.ok("agenda", "--all", "-f", "json")) if r["kind"] == "service"]
    assert rows[0]["command"] == f"crmctl service dispatch {tid} --technician LOGIN"
    assert rows[0]["state"] == "5 h left" and rows[0]["due"] == "2026-11-16T14:00:00+08:00"
    gas.ok("service", "dispatch", tid, "--technician", "qiangxiu", "--at", "2026-11-16T08:30")
    rows = [r for r in json.loads(gas.ok("agenda", "--all", "--week", "-f", "json")) if r["kind"] == "service"]
    assert rows[0]["command"] == f"crmctl service resolve {tid}"


# ---------------------------------------------------------------------------------------------
# agenda --send: the digest to a chat robot (a local server plays WeCom's group robot)


@pytest.fixture
def robot_url(monkeypatch):
    from tests.services.test_notify import Robots

    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    import threading

    server = Robots()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("CRMCTL_NOTIFY_WEBHOOK", server.wecom())
    monkeypatch.setenv("CRMCTL_NOTIFY_KIND", "wecom")
    yield server
    server.shutdown()
    server.server_close()


def test_send_posts_the_digest_once_a_day(data, robot_url):
    from tests.services.test_notify import KEY

    cli, d = data
    shown = json.loads(cli.ok("agenda", "--all", "--format", "json"))
    out = cli.ok("agenda", "--all", "--send")
    assert out.startswith(f"sent {len(shown)} items in 1 messages to ") and KEY not in out
    [posted] = robot_url.received
    text = posted["body"]["markdown"]["content"]
    assert d["c1"] in text and "Agenda 2026-" in text
    # the same day again: refused, nothing posted, unless --force
    r = cli.refused("agenda", "--all", "--send", match="already sent today")
    assert KEY not in r.stderr and len(robot_url.received) == 1
    cli.ok("agenda", "--all", "--send", "--force")
    assert len(robot_url.received) == 2


def test_send_refusals(data, robot_url, monkeypatch):
    from tests.services.test_notify import KEY

    cli, _d = data
    cli.refused("agenda", "--force", match="--force goes with --send")
    cli.refused_zh("agenda", "--force", match="--force 需与 --send 一起使用")
    robot_url.plan = ["93000", "93000"]  # refused() runs it in English, then in Chinese
    r = cli.refused("agenda", "--all", "--send", match="invalid webhook")
    assert KEY not in r.stderr and KEY not in r.stdout
    monkeypatch.delenv("CRMCTL_NOTIFY_WEBHOOK")
    monkeypatch.delenv("CRMCTL_NOTIFY_KIND")
    cli.refused("agenda", "--all", "--send", match="no chat robot is set")
