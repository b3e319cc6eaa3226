"""``crmctl report``: management reports and exports.

``crmctl report NAME [options]`` runs one report; ``crmctl report --list`` names them all with one
line each.  ``report`` is a command group with one subcommand per report, generated from the
registry (``crmctl.services.reports``: each report declares its summary, description and options),
so that ``crmctl report visits --help`` shows exactly the options that report takes (``--month``,
``--owner``, ``--chart`` ...).  An unknown NAME is a refusal (``Error:``, exit 1), not a usage error.

What each report reads lives in its family module of ``crmctl/services/reports/``; how it is shown
(headings, sections, charts) in ``crmctl/views/reports.py``.  This module parses options, calls
``run_report`` once and renders: csv/json through ``crmctl.output.emit_rows`` (streamed, atomic
``--output``), tables one per section with the policy's labels and titles in the user's language
(issue 17: ``--lang``), a bar chart under the table where a
picture says more, and ``--chart FILE.png|svg`` through matplotlib (optional extra
``crmctl[charts]``).

The registry is light (report modules import the database layer inside their builders), so
``crmctl report --help`` stays fast.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from typer.core import TyperGroup

from ..i18n import _
from ._common import BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, info, open_app, parse_pairs, renamed, spec

HELP = "Management reports and exports: customers, grades, complaints, visits, documents, allocation ..."


class ReportGroup(TyperGroup):
    """An unknown report name is a refusal (exit 1, one ``Error:`` line), like any unknown code."""

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name and not name.startswith("-") and name not in self.commands and not ctx.resilient_parsing:
            from ..errors import InvalidInput

            raise InvalidInput(_("unknown report '{name}': use one of {reports} (crmctl report --list)").format(
                name=name, reports=", ".join(self.commands)))
        return super().resolve_command(ctx, args)



def _report_doc(rep) -> str:
    """A report's help: its summary, then its description."""
    return rep.summary + ("\n\n" + rep.description if rep.description else "")

# no_args_is_help: a bare `crmctl report` is the usage and exit 2, as a bare `crmctl` (and every group)
app = typer.Typer(cls=ReportGroup, help=HELP, invoke_without_command=True, no_args_is_help=True)


@app.callback()
def main(
    ctx: typer.Context,
    list_: Annotated[bool, typer.Option("--list", help="Name every report with one line each.")] = False,
) -> None:
    """Management reports and exports.  `crmctl report --list` names them; `crmctl report NAME --help`."""
    if ctx.invoked_subcommand is not None:
        return
    if list_:
        from ..i18n import help_text
        from ..services.reports import REPORTS

        width = max(len(n) for n in REPORTS)
        for r in REPORTS.values():  # the summary is the first paragraph of the report's help (translated there)
            summary = (help_text(_report_doc(r)) or r.summary).split("\n\n")[0]
            typer.echo(f"{r.name:<{width}}  {summary}")
        raise typer.Exit()
    typer.echo(ctx.get_help())
    raise typer.Exit()


# --------------------------------------------------------------------------------------------------
# Options: each report takes the ones its registry entry names (crmctl.services.reports.OPTIONS)

# Not typer's dir_okay=False: a folder given as --output is refused by the output module with exit 1.
OutOpt = Annotated[Optional[str], typer.Option("--output", "-o", help="Write to FILE (atomically: a temporary file, then renamed).", metavar="FILE")]

#: option -> (parameter name, annotated type, default)
_OPTIONS = {
    "status": ("status", Annotated[Optional[str], typer.Option("--status", help="prospect, pending, active, suspended or disqualified, by code or the policy's label (正式客户).")], None),
    "segment": ("segment", Annotated[Optional[List[str]], typer.Option("--segment", help="KEY=VALUE by code or label; repeat.")], None),
    "grade": ("grade", Annotated[Optional[str], typer.Option("--grade", help="Grade code or label (SCALE:GRADE when ambiguous).")], None),
    "owner": ("owner", Annotated[Optional[str], typer.Option("--owner", help="Only what this staff login keeps.")], None),
    "stability": ("stability", Annotated[Optional[str], typer.Option("--stability", help="existing, lost or potential, by code or label (流失客户), where the policy defines stability.")], None),
    "period": ("period", Annotated[Optional[str], typer.Option("--period", "-p", help="month, quarter, half-year or year (default: the report's own; the last one completed).")], None),
    "label": ("label", Annotated[Optional[str], typer.Option("--label", "-l", help="Which period: 2026-11, 2026-Q4, 2026-H2 or 2026.")], None),
    "month": ("month", Annotated[Optional[str], typer.Option("--month", "-m", help="The month, YYYY-MM (default: the last completed month).", metavar="YYYY-MM")], None),
    "scale": ("scale", Annotated[Optional[str], typer.Option("--scale", "-s", help="Only this grading scale of the policy.")], None),
    "direction": ("direction", Annotated[Optional[str], typer.Option("--direction", help="Only moves up or down.")], None),
    "months": ("months", Annotated[Optional[int], typer.Option("--months-back", help="How many months the monthly rows (and chart) go back (default 12).", metavar="N")], None),
    "days": ("days", Annotated[Optional[int], typer.Option("--expiring-within", help="Documents expiring within DAYS (default: the policy's longest renew notice, else 30).", metavar="DAYS")], None),
    "chart": ("chart", Annotated[Optional[str], typer.Option("--chart", help="Also draw the chart into FILE.png or FILE.svg (needs matplotlib: pip install 'crmctl[charts]').", metavar="FILE")], None),
}
#: option renamed for one name across commands -> (hidden parameter, its old option, the new option name)
_RENAMED = {
    "months": ("months_old", Annotated[Optional[int], typer.Option("--months", hidden=True)], "--months-back", "--months"),
    "days": ("days_old", Annotated[Optional[int], typer.Option("--days", hidden=True)], "--expiring-within", "--days"),
}
#: ``--format`` of the report commands: the shared formats and html (a page for managers)
ReportFormat = Enum("ReportFormat", {**{f.name: f.value for f in Format}, "html": "html"}, type=str)
ReportFormatOpt = Annotated[ReportFormat, typer.Option("--format", "-f", help="Output format (html: a page for managers, with --output FILE.html).", case_sensitive=False)]
_OUTPUT = [("format", ReportFormatOpt, ReportFormat.table), ("output", OutOpt, None), ("bom", BomOpt, False),
           ("encoding", EncodingOpt, Encoding.utf8), ("labels", LabelsOpt, False)]


def _month_label(month: Optional[str], label: Optional[str]) -> Optional[str]:
    if month and label and month.strip() != label.strip():
        from ..errors import InvalidInput

        raise InvalidInput(_("give --month or --label, not both"))
    return month or label


def _params(given: dict) -> dict:
    """The report's ``Params`` from its command's options (``--month`` is a month ``--label``)."""
    out = {k: v for k, v in given.items() if k not in ("month", "chart") and k in _PARAM_FIELDS
           and not (k == "months" and v is None)}
    if "month" in given:
        out["label"] = _month_label(given["month"], given.get("label"))
    if "segment" in given:
        out["segment"] = parse_pairs(given["segment"], "--segment")
    return out


_PARAM_FIELDS = ("status", "segment", "grade", "owner", "stability", "period", "label", "scale", "direction",
                 "months", "days")


def _run(ctx: typer.Context, name: str, given: dict, format, output: Optional[str], bom: bool,
         encoding: Encoding, labels: bool = False) -> None:
    from ..services.reports import Params, run_report
    from ..views.reports import report_view

    if format.value == "html":
        return _run_html(ctx, name, given, output, bom, encoding, labels)
    out = spec(Format(format.value), Path(output) if output else None, bom, encoding, labels)
    chart_path = _check_chart(given["chart"]) if given.get("chart") else None
    app_ = open_app(ctx)
    params = Params(**_params(given))
    result = run_report(app_, name, params)
    _render(out, result, report_view(app_, params, result), chart_path)
    for note in result.notes:
        info(_("Note: {note}").format(note=_note(note)))


def _note(note: str) -> str:
    """A note in the user's language: a :class:`crmctl.errors.Msg`, or a message marked for the
    catalogue elsewhere (``N_``); a note translated already stays as it is."""
    from .. import i18n

    return i18n._(i18n.text(note))


def _command(rep) -> None:
    """A ``crmctl report NAME`` command with the options the report declares."""
    import inspect

    kw = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
    for option in [o for o in rep.options if o != "chart"] + _OUTPUT + [o for o in rep.options if o == "chart"]:
        pname, annotation, default = _OPTIONS[option] if isinstance(option, str) else option
        parameters.append(inspect.Parameter(pname, kw, default=default, annotation=annotation))
    renamed_here = [(_OPTIONS[o][0],) + _RENAMED[o] for o in rep.options if o in _RENAMED]
    for _param, old_param, annotation, _new, _old in renamed_here:
        parameters.append(inspect.Parameter(old_param, kw, default=None, annotation=annotation))
    mine = {_OPTIONS[o][0] for o in rep.options}

    def command(ctx: typer.Context, **values) -> None:
        for pname, old_param, _annotation, new, old in renamed_here:
            values[pname] = renamed(values[pname], values.pop(old_param), new=new, old=old)
        given = {k: v for k, v in values.items() if k in mine}
        _run(ctx, rep.name, given, values["format"], values["output"], values["bom"], values["encoding"],
             values["labels"])

    command.__name__ = rep.name.replace("-", "_")
    command.__signature__ = inspect.Signature(parameters)
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = _report_doc(rep)
    app.command(rep.name)(command)


def _register_all() -> None:
    from ..services.reports import REPORTS

    for rep in REPORTS.values():
        _command(rep)


_register_all()


# --------------------------------------------------------------------------------------------------
# Rendering


def _render(out, result, view, chart_path: Optional[str]) -> None:
    from itertools import groupby

    from ..output import emit_rows, emit_tuples, open_output

    if not result.applies:
        if out.format == "table":
            with open_output(out) as stream:
                if result.notes:
                    stream.write(_("(no data) {note}").format(note=_note(result.notes[0])) + "\n")
                else:
                    stream.write(_("(no data)") + "\n")
        else:
            emit_rows(out, [], result.columns, label_columns=view.columns)
        return
    if out.format == "xlsx":
        drawn = _render_xlsx(out, result, view)
        if chart_path:
            _write_chart(chart_path, view.chart, drawn)
        return
    points: list[tuple[str, float]] = []
    rows = result.rows
    if view.chart is not None and (chart_path or out.format == "table"):
        rows = _collect(rows, view.chart, points)
    if out.format == "csv" and result.flat_rows is not None and view.chart is None:
        emit_tuples(out, result.columns, result.flat_rows(), label_columns=view.columns)
    elif out.format != "table":
        emit_rows(out, rows, result.columns, label_columns=view.columns)
    else:
        by_key = {c.key: c for c in view.columns}
        with open_output(out) as stream:
            if view.sections:
                shown = 0
                for section, group in groupby(rows, key=lambda r: r.get("section")):
                    title, keys = view.sections.get(section, (section, [c.key for c in view.columns]))
                    if shown:
                        stream.write("\n")
                    shown += emit_rows(out, group, [by_key[k] for k in keys], title=title, stream=stream)
                if not shown:
                    stream.write(_("(no data)") + "\n")
            else:
                cols = ([by_key[k] for k in view.table_columns] if view.table_columns else view.columns)
                emit_rows(out, rows, cols, title=view.title, stream=stream)
            if points:
                stream.write("\n")
                _terminal_chart(stream, view.chart, points, out.encoding)
    if chart_path:
        _write_chart(chart_path, view.chart, points)


def _render_xlsx(out, result, view) -> list:
    """A workbook of the report (:func:`_xlsx_parts`); returns the points of --chart FILE."""
    from ..output import emit_sheets

    sheets, charts, collected = _xlsx_parts(result, view)
    emit_sheets(out, sheets, title=view.title, charts=charts)
    return collected[0] if view.chart is not None else []


def _xlsx_parts(result, view):
    """A report's sheets for a workbook: one per section (the section's columns), else one of every
    column; then one per chart with its data and a native Excel chart (a target as a line).
    Returns (sheets, charts, the points of each chart: collected while the sheets are written)."""
    from itertools import groupby

    from ..views import Column

    charts = [c for c in [view.chart, *view.workbook_charts] if c is not None]
    collected: list[list] = [[] for _c in charts]
    rows = result.rows if result.applies else iter(())
    for chart, points in zip(charts, collected):
        rows = _collect(rows, chart, points)
    by_key = {c.key: c for c in view.columns}
    every = [c.key for c in result.columns]

    def sheets():
        shown = 0
        if view.sections:
            for section, group in groupby(rows, key=lambda r: r.get("section")):
                title, keys = view.sections.get(section, (section, every))
                shown += 1
                yield title, keys, group, [by_key.get(k, Column(k)) for k in keys]
        else:
            shown += 1
            yield view.title, every, rows, view.columns
        if not shown:
            yield view.title, every, [], view.columns

    return sheets(), [(c.title, c.heading, c, p) for c, p in zip(charts, collected)], collected


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
    grid = Table(title=_text(chart.heading, encoding), show_header=False, box=None, padding=(0, 1))
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
        raise InvalidInput(_("--chart {path}: the file must end in .png or .svg").format(path=path))
    try:
        import matplotlib  # noqa: F401  (is the extra installed?)
    except ImportError:
        raise InvalidInput(_("--chart needs matplotlib: pip install 'crmctl[charts]'")) from None
    target = os.path.realpath(os.path.expanduser(path))
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise InvalidInput(_("cannot write {path}: folder {folder} does not exist").format(
            path=path, folder=os.path.dirname(path) or "."))
    if os.path.isdir(target):
        raise InvalidInput(_("cannot write {path}: it is a folder").format(path=path))
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
        typer.echo(_("Warning: {message}").format(message=_(
            "no CJK font found (e.g. install fonts-noto-cjk); Chinese labels in the chart may not render")), err=True)
    rcParams["axes.unicode_minus"] = False
    labels = [p[0] for p in points]
    values = [p[1] or 0.0 for p in points]
    fig = Figure(figsize=(8, max(2.5, 0.4 * len(points) + 1.2)), dpi=100)
    ax = fig.add_subplot()
    ax.set_title(chart.heading)
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
        ax.text(0.5, 0.5, _("no data"), ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    fmt = Path(path).suffix.lower().lstrip(".")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph ... missing from font": already warned once above
        fig.tight_layout()
        with open_output(OutputSpec(format="table", output=path), binary=True) as fh:
            fig.savefig(fh, format=fmt)


# --------------------------------------------------------------------------------------------------
# --format html (crmctl.views.html): one report, or `report pack` of every report of a period


def _stdout_is_terminal() -> bool:
    """The output layer's check (a closed or odd stdout counts as no terminal); a name here for tests."""
    from ..output import _stdout_is_terminal as is_terminal

    return is_terminal()


def _html_spec(output: Optional[str], bom: bool, encoding: Encoding, labels: bool):
    """Where the page goes, checked before any work: a file (or a pipe), never a terminal."""
    from ..errors import InvalidInput
    from ..output import OutputSpec
    from ._common import _check_output

    if labels:
        raise InvalidInput(_("--labels writes headings and labels into CSV: it does not go with --format {fmt}")
                           .format(fmt="html"))
    if bom:
        raise InvalidInput(_("--bom is for CSV: it does not go with --format html"))
    if output in (None, "-") and _stdout_is_terminal():
        raise InvalidInput(_("--format html writes a page for a browser, not for a terminal: give --output FILE.html"))
    _check_output(output)
    return OutputSpec(format="table", output=output, encoding=encoding.value)


def _generated(app_) -> str:
    return app_.now().strftime("%Y-%m-%d %H:%M")


def _run_html(ctx: typer.Context, name: str, given: dict, output: Optional[str], bom: bool, encoding: Encoding,
              labels: bool) -> None:
    from ..output import open_output
    from ..services.reports import Params, run_report
    from ..views.html import build_page, write_report
    from ..views.reports import report_view

    out = _html_spec(output, bom, encoding, labels)
    chart_path = _check_chart(given["chart"]) if given.get("chart") else None
    app_ = open_app(ctx)
    params = Params(**_params(given))
    result = run_report(app_, name, params)
    view = report_view(app_, params, result)
    page = build_page(result, view, [_note(n) for n in result.notes])
    with open_output(out) as stream:
        write_report(stream, page, app_.policy.policy.name, _generated(app_), out.encoding)
    if chart_path and view.chart is not None:
        _write_chart(chart_path, view.chart, page.points)
    for note in page.notes:
        info(_("Note: {note}").format(note=note))


PeriodOpt = _OPTIONS["period"][1]
PeriodLabelOpt = _OPTIONS["label"][1]
PackFormat = Enum("PackFormat", {"html": "html", "xlsx": "xlsx", "table": "table", "csv": "csv", "json": "json"}, type=str)
PackFormatOpt = Annotated[PackFormat, typer.Option("--format", "-f", help="html: one page for a browser and for print (A4); xlsx: one workbook, a contents sheet first.", case_sensitive=False)]


@app.command("pack")
def pack(
    ctx: typer.Context,
    period: PeriodOpt = None,
    label: PeriodLabelOpt = None,
    format: PackFormatOpt = PackFormat.html,
    output: OutOpt = None,
    bom: BomOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
    labels: LabelsOpt = False,
) -> None:
    """Every report of a period that applies to the policy, in one page or one workbook for managers.

    --format html (the default): one self-contained HTML file (no scripts, no external files): the
    company and the period in the title, a contents list, then each report's tables and chart
    (inline SVG), printable to A4.  --format xlsx: one workbook, a contents sheet first (linking to
    each report's sheets), then each report's sheets and native charts, numbered as in the contents.
    Without --period/--label each report shows its own last completed period.

    Examples:
      crmctl report pack --output reports.html
      crmctl report pack --format xlsx --period month --label 2026-10 --output 2026-10.xlsx
    """
    from ..errors import InvalidInput
    from ..output import OutputSpec
    from ..rules.periods import PERIODS
    from ..services.reports import Params
    from ..services.reports._common import choose_period

    if format.value not in ("html", "xlsx"):
        raise InvalidInput(_("report pack writes one HTML page or one workbook: use --format html --output "
                             "FILE.html or --format xlsx --output FILE.xlsx "
                             "(or crmctl report NAME --format {fmt} for one report)").format(fmt=format.value))
    if format.value == "xlsx":
        from ._common import _check_output

        _check_output(output)  # then --bom/--encoding refused, never to a terminal (as for one report)
        out = OutputSpec(format="xlsx", output=output, bom=bom, encoding=encoding.value, labels=labels)
    else:
        out = _html_spec(output, bom, encoding, labels)  # --bom and --labels are CSV's: refused as for one report
    app_ = open_app(ctx)
    per = None
    if period or label:
        asked = Params(period=period, label=label)
        if period:
            from ..rules.periods import parse_kind
            from ..rules.errors import Invalid

            try:
                asked.period = parse_kind(period)
            except Invalid as exc:
                raise exc.within("--period") from None
        per = choose_period(app_, "pack", asked, PERIODS)
    chosen, skipped = pack_reports(app_, per)
    if format.value == "xlsx":
        notes = _pack_xlsx(app_, out, chosen, skipped, per)
    else:
        notes = write_html_pack(app_, out, chosen, skipped, per)
    for note in notes:
        info(_("Note: {note}").format(note=note))


def pack_reports(app_, per) -> tuple[list, list[tuple[str, str]]]:
    """The reports of a pack: (report, Params) of those that apply to the policy and cover ``per``
    (None: each its own last completed period), and (name, why) of those left out."""
    from ..services.reports import REPORTS, Params, missing_features
    from ..services.reports._common import kind_word

    skipped: list[tuple[str, str]] = []
    chosen = []
    for rep in REPORTS.values():
        if rep.periods is None:
            skipped.append((rep.name, _("covers no period")))
        elif missing_features(app_.policy, rep):
            continue  # does not apply to this policy
        elif per is not None and per.kind not in rep.periods(app_.policy):
            skipped.append((rep.name, _("not for a {kind}").format(kind=kind_word(per.kind))))
        else:
            chosen.append((rep, Params(period=per.kind, label=per.label) if per is not None else Params()))
    return chosen, skipped


def write_html_pack(app_, out, chosen, skipped, per) -> list[str]:
    """`report pack --format html` (and the demo's pack): one page of every chosen report, into
    ``out`` (an OutputSpec: written atomically).  Returns the reports' notes."""
    from ..output import open_output
    from ..services.reports import run_report
    from ..views.html import build_page, write_pack
    from ..views.reports import report_view

    notes: list[str] = []
    pages = []
    for rep, params in chosen:
        result = run_report(app_, rep.name, params)
        page = build_page(result, report_view(app_, params, result), [_note(n) for n in result.notes])
        pages.append(page)
        notes += [f"{rep.name}: {n}" for n in page.notes]
    if per is not None:
        shown = per.label
    else:
        shown = _(", ").join(dict.fromkeys(p.period for p in pages if p.period))
    with open_output(out) as stream:
        write_pack(stream, pages, app_.policy.policy.name, shown, _generated(app_), skipped, out.encoding)
    return notes


def _pack_xlsx(app_, out, chosen, skipped, per) -> list[str]:
    """`report pack --format xlsx`: a contents sheet first (the company and period, then one line per
    report linking to its sheets), then each report's sheets and charts, numbered as in the contents."""
    from ..i18n import _ as translate  # the view's title, held in a variable
    from ..output import open_book, write_sheets
    from ..services.reports import run_report
    from ..views.reports import report_view

    notes: list[str] = []
    entries: list[list] = []
    periods: list[str] = []
    with open_book(out, _("Management reports")) as book:
        contents = book.contents(_("Contents"))
        for i, (rep, params) in enumerate(chosen, start=1):
            result = run_report(app_, rep.name, params)
            view = report_view(app_, params, result)
            sheets, charts, _points = _xlsx_parts(result, view)
            written = write_sheets(book, sheets, charts=charts, prefix=f"{i} ")
            label = result.period.label if getattr(result, "period", None) is not None else ""
            if label:
                periods.append(label)
            notes += [f"{rep.name}: {_note(n)}" for n in result.notes]
            note = _note(result.notes[0]) if result.notes else ""
            tables = written[: len(written) - len(charts)]
            entries.append([i, rep.name, (translate(view.title or rep.name), written[0][0]), label,
                            sum(n for _name, n in tables), _(", ").join(name for name, _n in written), note])
        for name, why in skipped:
            entries.append(["", name, "", "", None, "", why])
        shown = per.label if per is not None else _(", ").join(dict.fromkeys(periods))
        title = _("{company}: management reports {period}").format(company=app_.policy.policy.name, period=shown)
        contents.fill(title, [_("Generated {when} by crmctl").format(when=_generated(app_))],
                      [_("No."), _("Report"), _("Title"), _("Period"), _("Rows"), _("Sheets"), _("Note")],
                      entries)
    return notes
