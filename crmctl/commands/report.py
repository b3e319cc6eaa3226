"""``crmctl report``: management reports and exports.

``crmctl report NAME [options]`` runs one report; ``crmctl report --list`` names them all with one
line each.  ``report`` is a command group with one subcommand per report, so that
``crmctl report visits --help`` shows exactly the options that report takes (``--month``, ``--owner``,
``--chart`` ...).  An unknown NAME is a refusal (``Error:``, exit 1), not a usage error.

What each report reads and how it is computed lives in ``crmctl/services/reports.py`` (the registry);
this module parses options, calls ``run_report`` once and renders: csv/json through
``crmctl.output.emit_rows`` (streamed, atomic ``--output``), tables one per section with Chinese
labels, a bar chart under the table where a picture says more, and ``--chart FILE.png|svg`` through
matplotlib (optional extra ``crmctl[charts]``).

Only Typer is imported at module level (``crmctl report --help`` stays fast).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from typer.core import TyperGroup

from ._common import BomOpt, Encoding, EncodingOpt, Format, FormatOpt, info, open_app, parse_pairs, spec

HELP = "Management reports and exports: customers, grades, complaints, visits, documents, allocation ..."


class ReportGroup(TyperGroup):
    """An unknown report name is a refusal (exit 1, one ``Error:`` line), like any unknown code."""

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name and not name.startswith("-") and name not in self.commands and not ctx.resilient_parsing:
            from ..errors import InvalidInput

            raise InvalidInput(f"unknown report '{name}': use one of {', '.join(self.commands)} "
                               "(crmctl report --list)")
        return super().resolve_command(ctx, args)


app = typer.Typer(cls=ReportGroup, help=HELP, invoke_without_command=True)


@app.callback()
def main(
    ctx: typer.Context,
    list_: Annotated[bool, typer.Option("--list", help="Name every report with one line each.")] = False,
) -> None:
    """Management reports and exports.  `crmctl report --list` names them; `crmctl report NAME --help`."""
    if ctx.invoked_subcommand is not None:
        return
    if list_:
        from ..services.reports import REPORTS

        width = max(len(n) for n in REPORTS)
        for r in REPORTS.values():
            typer.echo(f"{r.name:<{width}}  {r.summary}")
        raise typer.Exit()
    typer.echo(ctx.get_help())
    raise typer.Exit()


# --------------------------------------------------------------------------------------------------
# Options

# Not typer's dir_okay=False: a folder given as --output is refused by the output module with exit 1.
OutOpt = Annotated[Optional[str], typer.Option("--output", "-o", help="Write to FILE (atomically: a temporary file, then renamed).", metavar="FILE")]
ChartOpt = Annotated[Optional[str], typer.Option("--chart", help="Also draw the chart into FILE.png or FILE.svg (needs matplotlib: pip install 'crmctl\\[charts]').", metavar="FILE")]
PeriodOpt = Annotated[Optional[str], typer.Option("--period", "-p", help="month, quarter, half-year or year (default: the report's own; the last one completed).")]
LabelOpt = Annotated[Optional[str], typer.Option("--label", "-l", help="Which period: 2026-11, 2026-Q4, 2026-H2 or 2026.")]
MonthOpt = Annotated[Optional[str], typer.Option("--month", "-m", help="The month, YYYY-MM (default: the last completed month).", metavar="YYYY-MM")]
ScaleOpt = Annotated[Optional[str], typer.Option("--scale", "-s", help="Only this grading scale of the policy.")]
OwnerOpt = Annotated[Optional[str], typer.Option("--owner", help="Only what this staff login keeps.")]


def _month_label(month: Optional[str], label: Optional[str]) -> Optional[str]:
    if month and label and month.strip() != label.strip():
        from ..errors import InvalidInput

        raise InvalidInput("give --month or --label, not both")
    return month or label


def _run(ctx: typer.Context, name: str, params: dict, format: Format, output: Optional[str], bom: bool,
         encoding: Encoding, chart: Optional[str] = None) -> None:
    from ..services.reports import Params, run_report

    out = spec(format, Path(output) if output else None, bom, encoding)
    chart_path = _check_chart(chart) if chart else None
    app_ = open_app(ctx)
    result = run_report(app_, name, Params(**params))
    _render(out, result, chart_path)
    for note in result.notes:
        info(f"Note: {note}")


# --------------------------------------------------------------------------------------------------
# The reports (the first docstring line is the report's summary in the registry: a test keeps them equal)


@app.command("customers")
def customers(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option("--status", help="prospect, pending, active, suspended or disqualified.")] = None,
    segment: Annotated[Optional[List[str]], typer.Option("--segment", help="KEY=VALUE by code or label; repeat.")] = None,
    grade: Annotated[Optional[str], typer.Option("--grade", help="Grade code or label (SCALE:GRADE when ambiguous).")] = None,
    owner: OwnerOpt = None,
    stability: Annotated[Optional[str], typer.Option("--stability", help="existing, lost or potential (where the policy defines stability).")] = None,
    format: FormatOpt = Format.table, output: OutOpt = None, bom: BomOpt = False, encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """The customer master list: status, segments, grades, owner, file fields (sent to finance).

    Columns are those of `customer list --format csv` (nested keys flattened: segments.channel, ...).
    The table view leaves out the file fields (fields.*) and the creation time.
    Streamed: any number of customers in constant memory.
    """
    _run(ctx, "customers", dict(status=status, segment=parse_pairs(segment, "--segment"), grade=grade, owner=owner,
                                stability=stability), format, output, bom, encoding)


@app.command("grades")
def grades(
    ctx: typer.Context, period: PeriodOpt = None, label: LabelOpt = None, scale: ScaleOpt = None,
    format: FormatOpt = Format.table, output: OutOpt = None, bom: BomOpt = False, encoding: EncodingOpt = Encoding.utf8,
    chart: ChartOpt = None,
) -> None:
    """Customers per scale and grade for a label, with the change against the previous label.

    Without --label/--period: the latest label each scale was graded for.
    The table view adds a bar chart of the distribution.
    """
    _run(ctx, "grades", dict(period=period, label=label, scale=scale), format, output, bom, encoding, chart)


@app.command("grade-changes")
def grade_changes(
    ctx: typer.Context, period: PeriodOpt = None, label: LabelOpt = None, scale: ScaleOpt = None,
    direction: Annotated[Optional[str], typer.Option("--direction", help="Only moves up or down.")] = None,
    format: FormatOpt = Format.table, output: OutOpt = None, bom: BomOpt = False, encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Every customer that moved up or down at a label, from and to.

    Without --label/--period: the latest label each scale was graded for.
    """
    _run(ctx, "grade-changes", dict(period=period, label=label, scale=scale, direction=direction), format, output,
         bom, encoding)


@app.command("stability")
def stability(
    ctx: typer.Context, period: PeriodOpt = None, label: LabelOpt = None,
    format: FormatOpt = Format.table, output: OutOpt = None, bom: BomOpt = False, encoding: EncodingOpt = Encoding.utf8,
    chart: ChartOpt = None,
) -> None:
    """Existing / lost / potential customers, the lost ones with their last purchase, churn warnings.

    Counts and lost customers are as of today.
    --label picks the period of the churn warnings (default: the last completed \\[churn] period).
    """
    _run(ctx, "stability", dict(period=period, label=label), format, output, bom, encoding, chart)


@app.command("complaints")
def complaints(
    ctx: typer.Context, period: PeriodOpt = None, label: LabelOpt = None,
    months: Annotated[int, typer.Option("--months", help="How many months the monthly rows (and chart) go back.")] = 12,
    format: FormatOpt = Format.table, output: OutOpt = None, bom: BomOpt = False, encoding: EncodingOpt = Encoding.utf8,
    chart: ChartOpt = None,
) -> None:
    """Complaints opened, closed, on time, overdue and satisfaction vs target, by severity, grade and month.

    Complaints opened in the period (default: last month).
    on_time_pct = on time / (on time + late + still open past the deadline).
    The month rows cover the --months months ending with the period; the table view charts them.
    """
    _run(ctx, "complaints", dict(period=period, label=label, months=months), format, output, bom, encoding, chart)


@app.command("service")
def service(
    ctx: typer.Context, period: PeriodOpt = None, label: LabelOpt = None,
    format: FormatOpt = Format.table, output: OutOpt = None, bom: BomOpt = False, encoding: EncodingOpt = Encoding.utf8,
    chart: ChartOpt = None,
) -> None:
    """Service tickets by kind and location, and the on-time rate of each clock.

    Tickets opened in the period (default: last month).
    A clock is met when its event (dispatch, arrival, resolution) came by its deadline,
    missed when it came later or is still due past it.
    """
    _run(ctx, "service", dict(period=period, label=label), format, output, bom, encoding, chart)


@app.command("technicians")
def technicians(
    ctx: typer.Context, month: MonthOpt = None, label: LabelOpt = None,
    format: FormatOpt = Format.table, output: OutOpt = None, bom: BomOpt = False, encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Monthly ratings per technician on the rating items (attitude, skill, arrival, promise).

    Average score of each item over the survey cards of the month, and the tickets each resolved.
    """
    _run(ctx, "technicians", dict(label=_month_label(month, label)), format, output, bom, encoding)


@app.command("visits")
def visits(
    ctx: typer.Context, month: MonthOpt = None, label: LabelOpt = None, owner: OwnerOpt = None,
    format: FormatOpt = Format.table, output: OutOpt = None, bom: BomOpt = False, encoding: EncodingOpt = Encoding.utf8,
    chart: ChartOpt = None,
) -> None:
    """Visits and other activities planned, done and missed per owner and per grade for a month.

    compliance_pct = planned activities done / planned; missed = still planned when the month is over.
    The table view charts compliance per owner.
    """
    _run(ctx, "visits", dict(label=_month_label(month, label), owner=owner), format, output, bom, encoding, chart)


@app.command("documents")
def documents(
    ctx: typer.Context,
    days: Annotated[Optional[int], typer.Option("--days", help="Documents expiring within DAYS (default: the policy's longest renew notice, else 30).", metavar="DAYS")] = None,
    format: FormatOpt = Format.table, output: OutOpt = None, bom: BomOpt = False, encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Documents expiring within N days or expired (not renewed), and the suspended customers.

    A document replaced by a newer copy of the same type is not listed.
    """
    _run(ctx, "documents", dict(days=days), format, output, bom, encoding)


@app.command("allocation")
def allocation(
    ctx: typer.Context, period: PeriodOpt = None, label: LabelOpt = None,
    format: FormatOpt = Format.table, output: OutOpt = None, bom: BomOpt = False, encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Exclusive agents and distributors ranked by plan completion and weekly evenness.

    The order scarce product goes out in (petrochem Art. 3, 10), for a period (default: last month).
    """
    _run(ctx, "allocation", dict(period=period, label=label), format, output, bom, encoding)


@app.command("proposals")
def proposals(
    ctx: typer.Context, period: PeriodOpt = None, label: LabelOpt = None,
    format: FormatOpt = Format.table, output: OutOpt = None, bom: BomOpt = False, encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Customer proposals by category and outcome, cost savings and the company / customer benefit share.

    Proposals received in the period (default: the last completed \\[proposals] targets_per period).
    """
    _run(ctx, "proposals", dict(period=period, label=label), format, output, bom, encoding)


@app.command("development")
def development(
    ctx: typer.Context, period: PeriodOpt = None, label: LabelOpt = None,
    format: FormatOpt = Format.table, output: OutOpt = None, bom: BomOpt = False, encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Prospects added and customers admitted per customer manager against the period's targets.

    Added: customers created in the period (not imported), by keeper.
    Admitted: the last step of the admission chain done in the period.
    The period is the policy's \\[development] targets_per (a quarter for petrochem).
    """
    _run(ctx, "development", dict(period=period, label=label), format, output, bom, encoding)


@app.command("big-customers")
def big_customers(
    ctx: typer.Context, period: PeriodOpt = None, label: LabelOpt = None, scale: ScaleOpt = None,
    format: FormatOpt = Format.table, output: OutOpt = None, bom: BomOpt = False, encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Big customers ranked by weighted score, with their level, score and factor scores.

    The stored result of the rank-graded scale (gas-tiered Art. 8) for a label (default: the latest).
    """
    _run(ctx, "big-customers", dict(period=period, label=label, scale=scale), format, output, bom, encoding)


# --------------------------------------------------------------------------------------------------
# Rendering


def _render(out, result, chart_path: Optional[str]) -> None:
    from itertools import groupby

    from ..output import emit_rows, emit_tuples, open_output

    if not result.applies:
        if out.format == "table":
            with open_output(out) as stream:
                stream.write(f"（无数据）{result.notes[0] if result.notes else ''}\n")
        else:
            emit_rows(out, [], result.columns)
        return
    points: list[tuple[str, float]] = []
    rows = result.rows
    if result.chart is not None and (chart_path or out.format == "table"):
        rows = _collect(rows, result.chart, points)
    if out.format == "csv" and result.flat_rows is not None and result.chart is None:
        emit_tuples(out, result.columns, result.flat_rows())
    elif out.format != "table":
        emit_rows(out, rows, result.columns)
    else:
        by_key = {c.key: c for c in result.columns}
        with open_output(out) as stream:
            if result.sections:
                shown = 0
                for section, group in groupby(rows, key=lambda r: r.get("section")):
                    title, keys = result.sections.get(section, (section, [c.key for c in result.columns]))
                    if shown:
                        stream.write("\n")
                    shown += emit_rows(out, group, [by_key[k] for k in keys], title=title, stream=stream)
                if not shown:
                    stream.write("（无数据）\n")
            else:
                cols = ([by_key[k] for k in result.table_columns] if result.table_columns else result.columns)
                emit_rows(out, rows, cols, title=result.title, stream=stream)
            if points:
                stream.write("\n")
                _terminal_chart(stream, result.chart, points, out.encoding)
    if chart_path:
        _write_chart(chart_path, result.chart, points)


def _collect(rows, chart, points: list):
    for r in rows:
        p = chart.pick(r)
        if p is not None:
            points.append((str(p[0]), float(p[1]) if p[1] is not None else None))
        yield r


_EIGHTHS = " ▏▎▍▌▋▊▉"


def _bar(value: float, top: float, width: int) -> str:
    if top <= 0 or value <= 0:
        return ""
    n = min(value / top, 1.0) * width
    full = int(n)
    part = _EIGHTHS[int((n - full) * 8)] if full < width else ""
    return "█" * full + part.strip()


def _terminal_chart(stream, chart, points: list[tuple[str, float]], encoding: str) -> None:
    """A horizontal bar chart drawn with rich under the table (block characters; CJK-width aware)."""
    from rich.table import Table

    from ..output import _console, _text

    console = _console(stream)
    top = chart.max_value or max((v for _l, v in points if v is not None), default=0.0) or 1.0
    unit = f"（{chart.unit}）" if chart.unit else ""
    grid = Table(title=_text(chart.title + unit, encoding), show_header=False, box=None, padding=(0, 1))
    grid.add_column(justify="right")
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right")
    for label, v in points:
        grid.add_row(_text(label, encoding), _text(_bar(v or 0.0, top, 40), encoding),
                     _text("-" if v is None else f"{v:g}", encoding))
    console.print(grid)


# --------------------------------------------------------------------------------------------------
# --chart FILE.png|svg (matplotlib, optional)

_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
              "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "STHeiti",
              "Noto Sans CJK JP", "Arial Unicode MS")
_warned = False


def _check_chart(path: str) -> str:
    """Refuse a chart file that cannot be written, before any report output is produced."""
    from ..errors import InvalidInput

    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg"):
        raise InvalidInput(f"--chart {path}: the file must end in .png or .svg")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise InvalidInput("--chart needs matplotlib: pip install 'crmctl[charts]'") from None
    target = os.path.realpath(os.path.expanduser(path))
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise InvalidInput(f"cannot write {path}: folder {os.path.dirname(path) or '.'} does not exist")
    if os.path.isdir(target):
        raise InvalidInput(f"cannot write {path}: it is a folder")
    return path


_CJK_FILE_HINTS = ("notosanscjk", "notoserifcjk", "notosanssc", "sourcehansans", "wqy", "wenquanyi", "simhei",
                   "simsun", "msyh", "pingfang", "heiti", "droidsansfallback", "arialuni")


def _cjk_font() -> Optional[str]:
    """The first CJK-capable font matplotlib knows; failing that, one installed since matplotlib's font
    cache was built (found by file name and added for this run)."""
    from matplotlib import font_manager

    def known() -> Optional[str]:
        installed = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in _CJK_FONTS if name in installed), None)

    found = known()
    if found is not None:
        return found
    try:
        files = font_manager.findSystemFonts()
    except Exception:  # noqa: BLE001 - an odd font folder must not break a report
        return None
    added = False
    for path in files:
        base = os.path.basename(path).lower().replace("-", "").replace("_", "")
        if any(h in base for h in _CJK_FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
                added = True
            except Exception:  # noqa: BLE001
                continue
    return known() if added else None


def _write_chart(path: str, chart, points: list[tuple[str, float]]) -> None:
    """Draw the bars with matplotlib (no pyplot, no display) and write the file atomically."""
    global _warned
    import logging
    import warnings

    from matplotlib import rcParams
    from matplotlib.figure import Figure

    from ..output import OutputSpec, open_output

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # "findfont: ..." chatter
    font = _cjk_font()
    if font is not None:
        rcParams["font.sans-serif"] = [font, *rcParams["font.sans-serif"]]
        rcParams["font.family"] = "sans-serif"
    elif not _warned:
        _warned = True
        typer.echo("Warning: no CJK font found (e.g. install fonts-noto-cjk); Chinese labels in the chart may not "
                   "render", err=True)
    rcParams["axes.unicode_minus"] = False
    labels = [p[0] for p in points]
    values = [p[1] or 0.0 for p in points]
    fig = Figure(figsize=(8, max(2.5, 0.4 * len(points) + 1.2)), dpi=100)
    ax = fig.add_subplot()
    unit = f" ({chart.unit})" if chart.unit else ""
    ax.set_title(chart.title + unit)
    if points:
        ys = list(range(len(points)))
        ax.barh(ys, values, color="#4C72B0")
        ax.set_yticks(ys, labels)
        ax.invert_yaxis()
        top = chart.max_value or max(values) or 1.0
        ax.set_xlim(0, top * 1.12)
        for y, (_label, v) in zip(ys, points):
            ax.text((v or 0.0) + top * 0.01, y, "-" if v is None else f"{v:g}", va="center", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    fmt = Path(path).suffix.lower().lstrip(".")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph ... missing from font": already warned once above
        fig.tight_layout()
        with open_output(OutputSpec(format="table", output=path), binary=True) as fh:
            fig.savefig(fh, format=fmt)

