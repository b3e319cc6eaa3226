"""HTML reports for managers: `report NAME --format html` and `report pack`: structure (standard
library parser), a real browser (headless Chromium, skipped with a reason when absent), refusals."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import Cli


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.title = ""
        self._in_title = False
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title" and not any(t == "svg" for t, _a in self.tags[:-1])

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title and not self.title:
            self.title = data
        self.text.append(data)


def _parse(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


@pytest.fixture(scope="module")
def _gas_db(tmp_path_factory):
    from tests.conftest import NOW

    path = tmp_path_factory.mktemp("html") / "gas.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRMCTL_NOW", NOW)
        Cli(path, actor="").ok("demo", "--policy", "gas-tiered")
    return path


@pytest.fixture
def gas(_gas_db, tmp_path) -> Cli:
    dst = tmp_path / "gas.db"
    shutil.copyfile(_gas_db, dst)
    return Cli(dst)


def _check_structure(page: _Page, raw: str) -> None:
    assert "<script" not in raw.lower()
    for tag, attrs in page.tags:
        for k in ("src", "href"):
            v = attrs.get(k) or ""
            assert not v.startswith(("http:", "https:", "//")), (tag, attrs)
        assert tag not in ("script", "img", "link", "iframe")
    assert "@page { size: A4" in raw and "Noto Sans CJK SC" in raw


def test_pack_structure(gas, tmp_path):
    out = tmp_path / "pack.html"
    gas.ok("--lang", "zh", "report", "pack", "--label", "2026-10", "--output", str(out))
    raw = out.read_text(encoding="utf-8")
    page = _parse(out)
    _check_structure(page, raw)
    assert "2026-10" in page.title and "燃气" in page.title  # the company and the period
    reports = [a["data-report"] for t, a in page.tags if "data-report" in a]
    assert reports and "complaints" in reports and "visits" in reports
    charts = [a["data-chart"] for t, a in page.tags if "data-chart" in a]
    assert set(charts) >= {"complaints", "visits", "service"}
    assert sum(1 for t, _a in page.tags if t == "svg") == len(charts)
    sections = {a["data-section"] for t, a in page.tags if "data-section" in a}
    assert {"total", "severity", "month", "owner", "clock", "tickets"} <= sections
    assert sum(1 for t, a in page.tags if t == "a" and a.get("href", "").startswith("#report-")) == len(reports)


def test_one_report_and_escaping(gas, tmp_path):
    gas.ok("customer", "add", "--name", "<b>&甲公司", "--segment", "supply=pipeline", "--segment",
           "sector=industrial")
    out = tmp_path / "c.html"
    gas.ok("report", "customers", "--format", "html", "--output", str(out))
    raw = out.read_text(encoding="utf-8")
    assert "&lt;b&gt;&amp;甲公司" in raw and "<b>&" not in raw
    page = _parse(out)
    _check_structure(page, raw)
    assert "<b>&甲公司" in "".join(page.text)


def test_target_line():
    from crmctl.views import ChartSpec
    from crmctl.views.html import chart_svg

    svg = chart_svg(ChartSpec("t", pick=lambda r: None, unit="%", max_value=100.0, target=95.0),
                    [("a<b", 90.0), ("b", None)], "<t>")
    assert 'class="target"' in svg and "a&lt;b" in svg and "&lt;t&gt;" in svg and "95" in svg


def test_refusals(gas, tmp_path, monkeypatch):
    gas.refused("report", "pack", "--format", "table", match="--format html")
    gas.refused("report", "pack", "--label", "2026-13", "--output", str(tmp_path / "x.html"))
    gas.refused("report", "complaints", "--format", "html", "--labels", "--output", str(tmp_path / "x.html"))
    import crmctl.commands.report as rep

    monkeypatch.setattr(rep, "_stdout_is_terminal", lambda: True)
    gas.refused("report", "pack", match="--output FILE.html")
    assert not list(tmp_path.glob("*.html"))


# --------------------------------------------------------------------------------------------------
# A real browser

def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run_browser(exe: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", *args], capture_output=True, text=True, timeout=120)


def test_browser(gas, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium fonts-noto-cjk)")
    out = tmp_path / "pack.html"
    gas.ok("--lang", "zh", "report", "pack", "--output", str(out))
    shot = tmp_path / "shot.png"
    r = _run_browser(exe, f"--screenshot={shot}", "--window-size=1200,2000", out.as_uri())
    assert shot.exists() and shot.stat().st_size > 10_000, r.stderr[-2000:]
    assert "Uncaught" not in r.stderr and "ERROR:CONSOLE" not in r.stderr
    dom = _run_browser(exe, "--dump-dom", out.as_uri())
    assert "Uncaught" not in dom.stderr and "ERROR:CONSOLE" not in dom.stderr
    raw = _parse(out)
    want_charts = [a["data-chart"] for t, a in raw.tags if "data-chart" in a]
    for name in [a["data-report"] for t, a in raw.tags if "data-report" in a]:
        assert f'data-report="{name}"' in dom.stdout
    assert dom.stdout.count("<svg") == len(want_charts) > 0
    assert dom.stdout.count("data-section=") == sum(1 for t, a in raw.tags if "data-section" in a)


def test_browser_cjk_font(tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium fonts-noto-cjk)")
    fc = shutil.which("fc-list")
    if fc is None or not subprocess.run([fc, ":lang=zh"], capture_output=True, text=True).stdout.strip():
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    from crmctl.views.html import FONT_STACK

    text = "客户分级管理报告投诉走访"
    shots = {}
    for name, fonts in (("cjk", FONT_STACK), ("other", FONT_STACK)):
        sample = text if name != "other" else "燃气有限公司年度统计表格"
        page = tmp_path / f"{name}.html"
        # with tofu boxes, two different strings of as many characters give the same picture
        page.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{{margin:0}}'
                        f'p{{font-family:{fonts};font-size:64px}}</style></head><body><p>{sample}</p></body></html>',
                        encoding="utf-8")
        shot = tmp_path / f"{name}.png"
        _run_browser(exe, f"--screenshot={shot}", "--window-size=1000,200", page.as_uri())
        shots[name] = shot.read_bytes()
    assert shots["cjk"] != shots["other"], "two different Chinese strings render the same: tofu boxes"
