"""CLI: `crmctl report NAME` and `report --list`; every report in table, csv and json on a policy it
applies to; a report that does not apply; refusals leave no file behind; charts."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from crmctl.output import flatten
from tests.conftest import NOW, Cli

SEGMENTS = {
    "petrochem": [{"product_line": "polyolefin", "channel": "distributor", "sales_form": "auction"},
                  {"product_line": "polyolefin", "channel": "distributor", "sales_form": "plan"},
                  {"product_line": "polyolefin", "channel": "direct", "sales_form": "plan"},
                  {"product_line": "other", "channel": "exclusive_agent"},
                  {"product_line": "other", "channel": "distributor"}],
    "fuel-retail": [{"nature": "big", "card": "unit", "industry": "logistics"},
                    {"nature": "big", "card": "multi", "industry": "taxi"},
                    {"nature": "individual", "card": "single", "industry": "other"}],
    "gas-tiered": [{"supply": "pipeline", "sector": "industrial"}, {"supply": "pipeline", "sector": "public"},
                   {"supply": "vehicle", "sector": "industrial"},
                   {"supply": "pipeline", "sector": "residential", "class": "general"}],
    "manufacturer": [{"kind": "supplier"}, {"kind": "distributor"}],
}

#: report -> (policy it is shown on, extra options): every report on a policy where it applies
WHERE = {
    "customers": ("petrochem", []),
    "grades": ("fuel-retail", []),
    "grade-changes": ("petrochem", ["--label", "2026-Q1"]),  # plan customers climb a step per quarter
    "stability": ("fuel-retail", []),
    "complaints": ("gas-tiered", ["--months-back", "3"]),
    "service": ("manufacturer", []),
    "technicians": ("manufacturer", []),
    "visits": ("fuel-retail", []),
    "documents": ("petrochem", []),
    "allocation": ("petrochem", []),
    "proposals": ("manufacturer", ["--label", "2026-H2"]),
    "development": ("petrochem", ["--label", "2026-Q4"]),
    "big-customers": ("gas-tiered", []),
}


def _populate(path: Path, policy: str, n: int = 36) -> None:
    """Staff for every role, n imported customers, documents, then what the grading, service-desk and
    visit features' own demo steps make (volumes, grades, complaints, tickets, proposals, visits)."""
    from crmctl.services.registry import demo_steps
    from crmctl.services.app import Settings, open_app
    from crmctl.services.customers import import_customers
    from crmctl.services.documents import add_document
    from crmctl.services.staff import add_staff

    Cli(path).ok("init", "--policy", policy, "--admin", "admin", actor="")
    app = open_app(Settings(db=str(path), actor="admin"))
    try:
        rng = random.Random(11)
        k = 0
        keepers = []
        for role in app.policy.roles:
            for _ in range(2):
                k += 1
                login = f"{role.replace('_', '')[:10]}{k:02d}"
                add_staff(app, login, f"员工{k}", [role], None)
                keepers.append(login)
        keys = sorted({key for combo in SEGMENTS[policy] for key in combo})
        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp) / "customers.csv"
            with f.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["name", "owner", *keys])
                for i in range(n):
                    combo = SEGMENTS[policy][i % len(SEGMENTS[policy])]
                    w.writerow([f"测试客户{i:03d}", keepers[i % len(keepers)], *[combo.get(key, "") for key in keys]])
            import_customers(app, f, admitted=True)
        expiring = [t for t, d in app.policy.documents.items() if d.expires]
        for i in range(1, 6 if expiring else 1):
            add_document(app, f"C{i:06d}", expiring[0], f"N{i}", f"2026-12-{i:02d}")
        for step in demo_steps():
            for _line in step(app, rng):
                pass
    finally:
        app.close()


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    cache: dict[str, Path] = {}

    def get(policy: str) -> Path:
        if policy not in cache:
            path = tmp_path_factory.mktemp("reports") / f"{policy}.db"
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("CRMCTL_NOW", NOW)
                _populate(path, policy)
            cache[policy] = path
        return cache[policy]

    return get


@pytest.fixture
def on(templates):
    """A Cli on the shared populated database of a policy (reports only read it)."""
    return lambda policy: Cli(templates(policy))


@pytest.fixture
def copy_of(templates, tmp_path):
    def make(policy: str) -> Cli:
        dst = tmp_path / f"{policy}.db"
        shutil.copyfile(templates(policy), dst)
        return Cli(dst)

    return make


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _columns(name: str, db: Path) -> list[str]:
    from crmctl.services.app import Settings, open_app
    from crmctl.services.reports import REPORTS, Params

    app = open_app(Settings(db=str(db), actor="admin"))
    try:
        return [c.key for c in REPORTS[name].columns(app, Params())]
    finally:
        app.close()


# ----------------------------------------------------------------------------------------------


def test_report_list_names_every_report_with_one_line():
    from crmctl.services.reports import REPORTS

    out = Cli(Path("unused.db"))("report", "--list", actor="")
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [ln.split()[0] for ln in lines] == list(REPORTS) == list(WHERE)
    for ln, r in zip(lines, REPORTS.values()):
        assert ln.split(None, 1)[1] == r.summary


def test_each_report_command_help_is_its_registry_summary():
    from typer.main import get_group

    from crmctl.commands.report import app
    from crmctl.services.reports import REPORTS

    group = get_group(app)
    assert set(group.commands) == set(REPORTS) | {"pack"}  # pack: every report of a period in one page
    for name, cmd in group.commands.items():
        if name == "pack":
            continue
        assert cmd.help.strip().splitlines()[0] == REPORTS[name].summary, name


def test_report_help_stays_light():
    code = ("import sys, crmctl.commands.report; "
            "print([m for m in ('sqlalchemy','sqlmodel','pydantic','matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", list(WHERE))
def test_every_report_in_three_formats(on, name):
    policy, extra = WHERE[name]
    cli = on(policy)
    table = cli.ok("report", name, *extra)
    assert table.strip() and "(no data)" not in table, table
    rows = _csv(cli.ok("report", name, *extra, "--format", "csv"))
    header = _columns(name, cli.db)
    assert rows[0] == header and len(rows) > 1, rows[:3]
    data = json.loads(cli.ok("report", name, *extra, "--format", "json"))
    assert isinstance(data, list) and len(data) == len(rows) - 1
    for obj, line in zip(data, rows[1:]):
        flat = flatten(obj)
        assert set(header) >= set(flat), set(flat) - set(header)
        assert len(line) == len(header)


def test_charts_in_the_table_view(on):
    out = on("fuel-retail").ok("report", "grades")
    # the suite speaks English (titles are English message ids; the policy's labels stay Chinese)
    assert "Customers per grade (customers)" in out and "█" in out and "钻级客户" in out
    out = on("gas-tiered").ok("report", "complaints", "--months-back", "3")
    assert "Complaints closed on time (by month) (%)" in out
    out = on("fuel-retail").ok("report", "visits")
    assert "Visit plan completion" in out and "█" in out


def test_report_not_applying_is_empty_with_a_note(on):
    cli = on("fuel-retail")
    for fmt, expect in (("csv", None), ("json", "[]\n"), ("table", None)):
        r = cli("report", "allocation", "--format", fmt)
        assert r.exit_code == 0
        assert r.stderr.startswith("Note: report allocation does not apply to policy fuel-retail")
        assert "[reports.allocation]" in r.stderr
        if fmt == "csv":
            assert _csv(r.stdout) == [["rank", "label", "customer", "name", "group", "planned", "actual",
                                       "completion_pct", "weekly_cv"]]
        elif fmt == "json":
            assert r.stdout == expect
        else:
            assert "(no data)" in r.stdout


def test_grades_table_uses_labels_csv_uses_codes(on):
    cli = on("fuel-retail")
    assert "钻级客户" in cli.ok("report", "grades") and "diamond" not in cli.ok("report", "grades")
    rows = _csv(cli.ok("report", "grades", "--format", "csv", "--scale", "big"))
    assert [r[2] for r in rows[1:]] == ["diamond", "gold", "silver", "ordinary"]


@pytest.mark.parametrize("args, match", [
    (["report", "nosuch"], "unknown report 'nosuch'"),
    (["report", "visits", "--label", "2026-Q4"], "2026-Q4 is a quarter; report visits takes a month"),
    (["report", "grades", "--label", "2026-10"], "report grades takes a half-year"),
    (["report", "complaints", "--period", "fortnight"], "unknown period 'fortnight'"),
    (["report", "complaints", "--label", "2027-01"], "has not started"),
    (["report", "visits", "--month", "2026-13"], "no month 13"),
    (["report", "visits", "--owner", "nobody"], "nobody"),
    (["report", "documents", "--expiring-within", "-3"], "--expiring-within"),
    (["report", "grades", "--chart", "chart.jpg"], ".png or .svg"),
])
def test_bad_input_refused(on, args, match):
    on("fuel-retail" if "documents" not in args else "petrochem").refused(*args, match=match)


def test_output_in_missing_folder_or_a_folder_refused_and_no_file_left(on, tmp_path):
    cli = on("petrochem")
    missing = tmp_path / "nope" / "customers.csv"
    cli.refused("report", "customers", "--format", "csv", "--output", str(missing), match="does not exist")
    assert not missing.parent.exists()
    folder = tmp_path / "out"
    folder.mkdir()
    cli.refused("report", "customers", "--format", "csv", "--output", str(folder), match="it is a folder")
    cli.refused("report", "grades", "--chart", str(folder), match="folder")
    cli.refused("report", "nosuch", "--output", str(folder / "x.csv"), match="unknown report")
    assert list(folder.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_output_file_atomic_bom_and_gbk(on, tmp_path):
    cli = on("petrochem")
    target = tmp_path / "customers.csv"
    target.write_text("old\n")
    assert cli.ok("report", "customers", "--format", "csv", "--bom", "--output", str(target)) == ""
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\n") == 37  # header + 36 customers
    assert [p.name for p in tmp_path.iterdir()] == ["customers.csv"]
    gbk = tmp_path / "gbk.csv"
    cli.ok("report", "grade-changes", "--label", "2026-Q1", "--format", "csv", "--encoding", "gbk", "--output", str(gbk))
    text = gbk.read_bytes().decode("gbk")
    assert text.startswith("scale,label,customer,name") and "测试客户" in text
    # a UTF-8 byte-order mark does not go with GB 18030: refused, nothing written
    cli.refused("report", "customers", "--format", "csv", "--encoding", "gbk", "--bom", "--output",
                str(tmp_path / "x.csv"), match="--bom")
    assert not (tmp_path / "x.csv").exists()


def test_gb18030_keeps_names_gbk_lacks(copy_of, tmp_path):
    cli = copy_of("petrochem")
    cli.ok("customer", "edit", "C000001", "--name", "𠮷祥䶮化工😀有限公司")
    out = tmp_path / "c.csv"
    cli.ok("customer", "list", "--format", "csv", "--encoding", "gbk", "--output", str(out))
    assert "𠮷祥䶮化工😀有限公司" in out.read_bytes().decode("gb18030")
    r = cli("customer", "list", "--format", "csv", "--encoding", "gb18030")
    assert r.exit_code == 0


def test_csv_escapes_formulas_and_streams_all_rows(copy_of):
    cli = copy_of("fuel-retail")
    cli.ok("customer", "add", "--name", "=HYPERLINK(\"http://x\")", "--segment", "nature=big", "--segment", "card=unit",
           "--segment", "industry=taxi")
    rows = _csv(cli.ok("report", "customers", "--format", "csv", "--segment", "industry=taxi"))
    assert ["'=HYPERLINK(\"http://x\")"] == [r[1] for r in rows[1:] if "HYPERLINK" in r[1]]


def test_chart_png_and_svg_files(on, tmp_path):
    pytest.importorskip("matplotlib")
    cli = on("fuel-retail")
    tmp_path = tmp_path / "charts"
    tmp_path.mkdir()
    png = tmp_path / "grades.png"
    out = cli("report", "grades", "--format", "csv", "--chart", str(png))
    assert out.exit_code == 0, out.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _csv(out.stdout)[0][0] == "scale"  # the data still goes to stdout
    svg = tmp_path / "visits.svg"
    cli.ok("report", "visits", "--format", "json", "--chart", str(svg))
    assert "<svg" in svg.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.png", "visits.svg"]


def test_chart_without_matplotlib_refused(on, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    target = tmp_path / "charts"
    target.mkdir()
    on("fuel-retail").refused("report", "grades", "--chart", str(target / "g.png"),
                              match="--chart needs matplotlib: pip install 'crmctl[charts]'")
    assert list(target.iterdir()) == []


def test_report_without_name_shows_help(on):
    r = on("fuel-retail")("report")  # as bare `crmctl`: the usage and its commands, exit 2
    out = r.stdout + r.stderr
    assert r.exit_code == 2 and "big-customers" in out and "--list" in out
