"""HTML for managers: one report (``report NAME --format html``) or a pack of every report of a
period (``report pack``), as one self-contained page.

The page has no scripts, no external files and no network: the CSS is inline (a CJK font stack, A4
print rules: ``@page { size: A4 }``, a page break between reports, rows not cut between pages), the
charts are inline SVG drawn here (horizontal bars with their values, a dashed target line where the
chart has one).  Every text is HTML-escaped.  Headings and titles are the report's view
(``crmctl.views.reports``) in the interface's language; cells are written as the table view writes
them (labels for codes, numbers with thousands separators and the column's decimals).

Only the standard library; a table of a section shows at most ``ROW_LIMIT`` rows (the rest: a line
saying how many more, and to use ``--format csv``), so a pack stays a page a browser opens at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import IO, Any

from ..i18n import _, ngettext
from ..i18n import _ as translate
from . import text_width

ROW_LIMIT = 2_000  # rows of one section's table
BAR_LIMIT = 60  # bars of one chart

FONT_STACK = ('"Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", '
              '"WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei", sans-serif')

CSS = """
@page { size: A4; margin: 15mm 12mm; }
* { box-sizing: border-box; }
body { font-family: %(fonts)s; color: #222; margin: 0 auto; max-width: 190mm; padding: 8mm 4mm;
       font-size: 10.5pt; line-height: 1.45; }
h1 { font-size: 18pt; margin: 0 0 2mm; }
h2 { font-size: 14pt; margin: 0 0 3mm; border-bottom: 2px solid #4C72B0; padding-bottom: 1mm; }
h3 { font-size: 11.5pt; margin: 5mm 0 2mm; }
.meta { color: #555; margin: 0 0 5mm; }
nav ol { padding-left: 6mm; }
section.report { page-break-before: always; break-before: page; }
table { border-collapse: collapse; width: 100%%; margin: 0 0 3mm; font-size: 9.5pt; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
th, td { border: 1px solid #c8c8c8; padding: 1mm 1.6mm; text-align: left; vertical-align: top; }
th { background: #eef2f8; font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.nw, th.nw { white-space: nowrap; }
.note, .empty, .more { color: #666; font-size: 9.5pt; }
figure { margin: 3mm 0 5mm; page-break-inside: avoid; break-inside: avoid; }
figure svg { max-width: 100%%; height: auto; }
svg text { font-family: %(fonts)s; }
@media print { body { max-width: none; padding: 0; } a { color: inherit; text-decoration: none; } }
""" % {"fonts": FONT_STACK}


@dataclass
class Section:
    key: str | None
    title: str | None
    columns: list  # crmctl.views.Column
    rows: list[Mapping] = field(default_factory=list)
    more: int = 0  # rows past ROW_LIMIT, not shown


@dataclass
class ReportPage:
    """One report as the page shows it."""

    name: str
    title: str
    period: str | None = None
    sections: list[Section] = field(default_factory=list)
    chart: Any = None  # ChartSpec
    points: list[tuple[str, float | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    applies: bool = True


def build_page(result, view, notes: Iterable[str] = ()) -> ReportPage:
    """Read ``result``'s rows once (streamed): the rows of each section (at most ``ROW_LIMIT``) and
    the chart's points."""
    period = result.period.label if getattr(result, "period", None) is not None else None
    page = ReportPage(result.name, view.title or result.name, period, notes=list(notes), applies=result.applies)
    if not result.applies:
        return page
    by_key = {c.key: c for c in view.columns}
    sections: dict[Any, Section] = {}
    if view.sections:
        for key, (title, keys) in view.sections.items():
            sections[key] = Section(key, title, [by_key[k] for k in keys if k in by_key])
    else:
        cols = [by_key[k] for k in view.table_columns if k in by_key] if view.table_columns else list(view.columns)
        sections[None] = Section(None, None, cols)
    chart = view.chart
    for row in result.rows:
        key = row.get("section") if view.sections else None
        sec = sections.get(key)
        if sec is None:  # a section the view does not name: every column, under its code
            sec = sections[key] = Section(key, str(key), list(view.columns))
        if len(sec.rows) < ROW_LIMIT:
            sec.rows.append(row)
        else:
            sec.more += 1
        if chart is not None and len(page.points) < BAR_LIMIT:
            p = chart.pick(row)
            if p is not None:
                page.points.append((str(p[0]), None if p[1] is None else float(p[1])))
    page.sections = list(sections.values())
    page.chart = chart
    return page


# --------------------------------------------------------------------------------------------------
# Cells


def cell_text(value: Any, column) -> str:
    """A cell as the table view writes it (labels for codes, formatted numbers, yes/no)."""
    from ..output import _table_text, format_number
    from . import yes_no

    if value is None:
        return ""
    if column.table_format is not None:
        return str(column.table_format(value))
    if isinstance(value, bool):
        return yes_no(value)
    if column.number is not None:
        value = format_number(value, column.number, column.decimals)
    return _table_text(value)


def _value(row: Mapping, key: str) -> Any:
    from ..output import _lookup

    return _lookup(row, key)


def _heading(column) -> str:
    from ..output import heading

    shown = heading(column)
    if column.number == "pct" and shown.endswith("%"):  # the cells carry the %
        shown = shown[:-1].rstrip()
    return shown


# --------------------------------------------------------------------------------------------------
# The chart: inline SVG


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:,.1f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v):,}"


def _text_width(text: str, size: float) -> float:
    """Roughly how wide ``text`` is: a CJK character a full em, others about half."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.55 for ch in text)


def chart_svg(chart, points: list[tuple[str, float | None]], title: str) -> str:
    """A horizontal bar chart: one bar per point with its value at the end, the target (a dashed
    line and its value) where the chart has one, the title above."""
    size = 12.0
    label_w = min(240.0, max([_text_width(lab, size) for lab, _v in points] + [40.0]) + 12)
    width, bar_h, gap, top_pad = 720.0, 18.0, 8.0, 34.0
    plot_x, plot_w = label_w, width - label_w - 70
    target = getattr(chart, "target", None)
    values = [v for _l, v in points if v is not None]
    top = chart.max_value or max(values + ([target] if target is not None else []), default=0.0) or 1.0
    n = max(len(points), 1)
    height = top_pad + n * (bar_h + gap) + (26 if target is not None else 12)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" class="chart">',
           f'<title>{escape(title)}</title>',
           f'<text x="0" y="16" font-size="14" font-weight="600">{escape(title)}</text>',
           f'<line x1="{plot_x:.1f}" y1="{top_pad - 4:.1f}" x2="{plot_x:.1f}" y2="{height - 8:.1f}" stroke="#888"/>']
    if not points:
        out.append(f'<text x="{plot_x + 8:.1f}" y="{top_pad + 13:.1f}" font-size="{size:g}" fill="#666">'
                   f'{escape(_("no data"))}</text>')
    for i, (label, v) in enumerate(points):
        y = top_pad + i * (bar_h + gap)
        w = 0.0 if v is None or v <= 0 else min(v / top, 1.0) * plot_w
        out.append(f'<text x="{plot_x - 6:.1f}" y="{y + 13:.1f}" font-size="{size:g}" text-anchor="end">'
                   f'{escape(label)}</text>')
        out.append(f'<rect x="{plot_x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h:.0f}" fill="#4C72B0"/>')
        out.append(f'<text x="{plot_x + w + 4:.1f}" y="{y + 13:.1f}" font-size="11" fill="#333">'
                   f'{escape(_fmt(v) + (chart.unit if chart.unit == "%" and v is not None else ""))}</text>')
    if target is not None:
        x = plot_x + min(max(target, 0.0) / top, 1.0) * plot_w
        out.append(f'<line class="target" x1="{x:.1f}" y1="{top_pad - 6:.1f}" x2="{x:.1f}" y2="{height - 20:.1f}" '
                   f'stroke="#C44E52" stroke-width="2" stroke-dasharray="6 4"/>')
        text = _("target {value}").format(value=_fmt(target) + ("%" if chart.unit == "%" else ""))
        out.append(f'<text x="{x:.1f}" y="{height - 6:.1f}" font-size="11" fill="#C44E52" text-anchor="middle">'
                   f'{escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------------
# The page


SHORT = 16  # a column whose heading and cells all fit in this many columns is never broken across lines


def _table(sec: Section) -> list[str]:
    texts = [[cell_text(_value(row, c.key), c) for c in sec.columns] for row in sec.rows]
    heads = [_heading(c) for c in sec.columns]
    classes = []
    for i, c in enumerate(sec.columns):
        if c.number is not None:
            classes.append(' class="num"')
        elif max([text_width(heads[i]), *(text_width(t[i]) for t in texts)]) <= SHORT:
            classes.append(' class="nw"')  # codes, grades, periods, logins: whole on one line
        else:
            classes.append("")
    out = ["<table>", "<thead><tr>"]
    for cls, head in zip(classes, heads):
        out.append(f"<th{cls}>{escape(head)}</th>")
    out.append("</tr></thead>")
    out.append("<tbody>")
    for row in texts:
        out.append("<tr>" + "".join(f"<td{cls}>{escape(t)}</td>" for cls, t in zip(classes, row)) + "</tr>")
    out.append("</tbody></table>")
    if sec.more:
        out.append('<p class="more">' + escape(ngettext("… {n} more row; use --format csv",
                                                        "… {n} more rows; use --format csv", sec.more)
                                               .format(n=f"{sec.more:,}")) + "</p>")
    return out


def _report(page: ReportPage, anchor: str, level: int) -> list[str]:
    h, sub = f"h{level}", f"h{level + 1}"
    out = [f'<section class="report" id="{escape(anchor)}" data-report="{escape(page.name)}">',
           f"<{h}>{escape(translate(page.title))}</{h}>"]
    if not page.applies:
        out.append('<p class="empty">' + escape(_("(no data)")) + "</p>")
    for sec in page.sections:
        attr = f' data-section="{escape(str(sec.key))}"' if sec.key is not None else ""
        out.append(f'<div class="section"{attr}>')
        if sec.title:
            out.append(f"<{sub}>{escape(translate(sec.title))}</{sub}>")
        if sec.rows:
            out.extend(_table(sec))
        else:
            out.append('<p class="empty">' + escape(_("(no data)")) + "</p>")
        out.append("</div>")
    if page.chart is not None:
        title = page.chart.heading
        out.append(f'<figure class="chart" data-chart="{escape(page.name)}">')
        out.append(chart_svg(page.chart, page.points, title))
        out.append("</figure>")
    for note in page.notes:
        out.append('<p class="note">' + escape(_("Note: {note}").format(note=note)) + "</p>")
    out.append("</section>")
    return out


def _head(title: str, encoding: str) -> list[str]:
    lang = "zh-CN" if _current_lang() == "zh" else "en"
    return ["<!DOCTYPE html>", f'<html lang="{lang}">', "<head>", f'<meta charset="{escape(encoding)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="generator" content="crmctl">',
            f"<title>{escape(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>"]


def _current_lang() -> str:
    from ..i18n import current

    try:
        return current()
    except Exception:  # noqa: BLE001 - the page's lang attribute only
        return "en"


def write_report(stream: IO, page: ReportPage, company: str, generated: str, encoding: str = "utf-8") -> None:
    """One report as a page: the company and period in the title."""
    title = _("{company}: {report} ({period})").format(company=company, report=translate(page.title),
                                                      period=page.period) if page.period else \
        _("{company}: {report}").format(company=company, report=translate(page.title))
    out = _head(title, encoding)
    out.append(f"<header><h1>{escape(title)}</h1>")
    out.append('<p class="meta">' + escape(_("Generated {when} by crmctl").format(when=generated)) + "</p></header>")
    body = _report(page, f"report-{page.name}", 2)
    body[0] = body[0].replace('class="report"', 'class="report first"', 1)
    out.extend(body)
    out += ["</body>", "</html>", ""]
    stream.write("\n".join(out))


def write_pack(stream: IO, pages: list[ReportPage], company: str, period: str, generated: str,
               skipped: list[tuple[str, str]] = (), encoding: str = "utf-8") -> None:
    """Every report of a period: a title page with the contents, then one report a page."""
    title = _("{company}: management reports {period}").format(company=company, period=period)
    out = _head(title, encoding)
    out.append(f"<header><h1>{escape(title)}</h1>")
    out.append('<p class="meta">' + escape(_("Generated {when} by crmctl").format(when=generated)) + "</p></header>")
    out.append('<nav class="contents">')
    out.append("<h2>" + escape(_("Contents")) + "</h2>")
    out.append("<ol>")
    for page in pages:
        shown = translate(page.title)
        if page.period and page.period not in shown:  # a title may name its period already
            shown += f" ({page.period})"
        out.append(f'<li><a href="#report-{escape(page.name)}">{escape(shown)}</a></li>')
    out.append("</ol>")
    if skipped:
        out.append('<p class="note">' + escape(_("Not in this pack:")) + "</p><ul>")
        for name, why in skipped:
            out.append(f'<li class="note">{escape(name)}: {escape(why)}</li>')
        out.append("</ul>")
    out.append("</nav>")
    for page in pages:
        out.extend(_report(page, f"report-{page.name}", 2))
    out += ["</body>", "</html>", ""]
    stream.write("\n".join(out))
