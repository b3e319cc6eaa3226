"""``crmctl grade``: Grade customers for a period, explain a grade, show grade history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..i18n import _
from ._common import (BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, LimitOpt, OutputOpt, warn, limited, open_app, summary_wanted,
                      progress, spec)

app = typer.Typer(help="Grade customers for a period, explain a grade, show grade history.", no_args_is_help=True)

ScaleOpt = Annotated[Optional[str], typer.Option("--scale", "-s", help="Grading scale of the policy (default: every scale graded by the period).")]


@app.command("run")
def run(
    ctx: typer.Context,
    period: Annotated[Optional[str], typer.Option("--period", "-p", help="month, quarter, half-year or year.")] = None,
    label: Annotated[Optional[str], typer.Option("--label", "-l", help="Which period: 2026-11, 2026-Q4, 2026-H2, 2026 (default: the last one completed).")] = None,
    scale: ScaleOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compute and report; write nothing.")] = False,
    policy: Annotated[Optional[Path], typer.Option("--policy", help="Grade with this candidate policy file instead (a what-if; writes nothing).", dir_okay=False)] = None,
    reassign: Annotated[bool, typer.Option("--reassign", help="Move customers whose grade needs another keeper role to the least-loaded staff member holding it.")] = False,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Grade customers for a period (cron: 'crmctl grade run --period half-year'); prints a summary.

    Examples:
      crmctl grade run --period quarter --label 2026-Q3 --dry-run
      crmctl grade run --period quarter --label 2026-Q3
    """
    from ..output import emit_rows, emit_text
    from ..services.grading import grade_customers

    app_ = open_app(ctx)
    text = None
    pol = app_.policy
    if policy is not None:
        from ..policies import load_policy

        pol, text = load_policy(str(policy))
    summaries = grade_customers(app_, period, label, scale, dry_run, text, reassign, policy_source=str(policy or ""),
                                progress=progress)
    for s in summaries:
        for w in s.get("warnings", ()):
            warn(w)
    out = spec(format, output, bom, encoding, labels)
    if out.format == "json":  # always a list, one result per scale graded, whatever the policy
        emit_rows(out, summaries)
        return
    if out.format in ("csv", "xlsx"):
        emit_rows(out, [{k: (" ".join(v) if k == "regraded" else v) for k, v in s.items()
                         if k not in ("reassign", "warnings")} for s in summaries])
        return
    if summary_wanted(any(_worth_saying(s) for s in summaries)):
        emit_text(out, "\n".join(_summary_lines(pol, s) for s in summaries))


def _worth_saying(s: dict) -> bool:
    """A grade run's summary goes to cron's mail when it changed something or asks for something
    (a dry run, keepers to move, documents that suspended or reactivated customers)."""
    docs = s.get("doc_check") or {}
    return bool(s["dry_run"] or s["changed"] or s.get("reassign") or docs.get("suspended") or docs.get("reactivated"))


def _summary_lines(pol, s: dict) -> str:
    from ..views.grading import grade_labels

    sc = pol.grading.scales[s["scale"]]
    labels = grade_labels(pol, s["scale"])
    summary = _("{scale} {scale_label} {period}: graded {graded}, changed {changed} (up {up}, down {down}, new {new}, "
                "unchanged {unchanged})")
    if s["dry_run"]:
        summary = _("{scale} {scale_label} {period}: graded {graded}, changed {changed} (up {up}, down {down}, new {new}, "
                    "unchanged {unchanged}) — dry run, nothing written")
    lines = [summary.format(scale=s["scale"], scale_label=sc.label, period=s["label"], graded=s["graded"],
                            changed=s["changed"], up=s["up"], down=s["down"], new=s["new"], unchanged=s["unchanged"])]
    if s.get("regraded"):
        lines.append(_("  later labels re-graded in order (their step limit starts from {label}): {labels}").format(
            label=s["label"], labels=", ".join(s["regraded"])))
    width = max((len(code) for code in s["counts"]), default=0)
    for code in reversed(list(s["counts"])):
        lines.append(f"  {code:<{width}}  {labels.get(code, code)}\t{s['counts'][code]}")
    if s["reassign"]:
        roles = pol.roles
        if s["reassigned"]:
            lines.append(_("  keepers: {moved} of {n} customers moved to the role their grade needs").format(
                moved=s["reassigned"], n=len(s["reassign"])))
        else:
            need = {}
            for r in s["reassign"]:
                need[r["role"]] = need.get(r["role"], 0) + 1
            detail = _(", ").join(f"{n} → {roles.get(role, role)}" for role, n in need.items())
            lines.append(_("  keepers: {n} customers need another keeper ({detail}); 'grade run --reassign' moves them")
                         .format(n=len(s["reassign"]), detail=detail))
    docs = s.get("doc_check") or {}
    if docs.get("suspended") or docs.get("reactivated"):
        lines.append(_("  documents: {suspended} suspended, {reactivated} reactivated before grading").format(
            suspended=docs["suspended"], reactivated=docs["reactivated"]))
    return "\n".join(lines)


@app.command("explain")
def explain(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Customer code.")],
    label: Annotated[Optional[str], typer.Option("--label", "-l", help="Period label (default: the latest graded).")] = None,
    scale: ScaleOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Why a customer has its grade: the metric, the band, score and rank, the step limit."""
    from ..output import emit_object
    from ..services.grading import explain as do_explain
    from ..views.grading import explain_fields

    app_ = open_app(ctx)
    data = do_explain(app_, code, label, scale)
    out = spec(format, output, bom, encoding, labels)
    if out.format != "table" and not out.labels:
        emit_object(out, data)
        return
    emit_object(out, data, explain_fields(app_, data))


@app.command("history")
def history(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Customer code.")],
    scale: ScaleOpt = None,
    limit: LimitOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """A customer's grade for every graded period, oldest first."""
    from ..output import emit_rows
    from ..services.grading import history as do_history
    from ..services.grading.explain import GRADE_HISTORY_KEYS
    from ..views.grading import history_columns

    app_ = open_app(ctx)
    rows = do_history(app_, code, scale)
    out = spec(format, output, bom, encoding, labels)
    columns = history_columns(app_)
    # csv: every key of the JSON rows (the contract); the table: the columns above
    emit_rows(out, limited(rows, limit), columns if out.format == "table" or out.labels else None,
              fields=GRADE_HISTORY_KEYS)
