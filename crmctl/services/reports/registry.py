"""The report registry: what a report is, and the policy features a report can need."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidInput
from ...i18n import N_
from ...fields import Field
from ...rules.periods import parse_kind

# ----------------------------------------------------------------------------------------------
# What a report needs from the policy


def _has_rank_scale(p) -> bool:
    return any(sc.method == "rank" for sc in p.grading.scales.values())


#: feature -> (what the policy file must have, test); the descriptions are messages (N_), translated
#: where a note shows them
FEATURES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "grading": (N_("grading scales ([grading.scales.*])"), lambda p: bool(p.grading.scales)),
    "rank_scale": (N_("a rank-graded scale (method = \"rank\")"), _has_rank_scale),
    "stability": ("[stability] or [churn]", lambda p: p.stability is not None or p.churn is not None),
    "complaints": ("[complaints]", lambda p: p.complaints is not None),
    "service": ("[service]", lambda p: p.service is not None),
    "ratings": ("[service] rating_items", lambda p: p.service is not None and bool(p.service.rating_items)),
    "cadences": (N_("activity cadences ([[activities.cadences]])"),
                 lambda p: bool(p.activities.cadences or p.activities.greetings)),
    "expiring_documents": (N_("a document type that expires ([documents.*] expires = true)"),
                           lambda p: any(d.expires for d in p.documents.values())),
    "allocation": ("[reports.allocation]", lambda p: p.reports.allocation is not None),
    "proposals": ("[proposals]", lambda p: p.proposals is not None),
    "development": ("[development]", lambda p: p.development is not None),
}


def missing_features(policy, report: "Report") -> list[str]:
    """What the policy lacks for ``report`` (the policy file's keys), empty when it applies."""
    return [FEATURES[f][0] for f in report.needs if not FEATURES[f][1](policy)]


# ----------------------------------------------------------------------------------------------
# Registry types


@dataclass
class Params:
    """What the user asked for (the CLI passes each report only the options it has)."""

    period: str | None = None
    label: str | None = None
    scale: str | None = None
    days: int | None = None
    owner: str | None = None
    status: str | None = None
    segment: dict[str, str] = field(default_factory=dict)
    grade: str | None = None
    stability: str | None = None
    direction: str | None = None
    months: int = 12


#: the options a report may take: the ``Params`` field each fills (``month`` fills ``label``) and
#: whether the report's command shows it; ``chart`` is the view's ``--chart FILE``.
OPTIONS = ("status", "segment", "grade", "owner", "stability", "period", "label", "month", "scale", "direction",
           "months", "days", "chart")


@dataclass
class ReportResult:
    name: str
    columns: list[Field]  # the csv/json keys in a stable order; every row has exactly these keys
    rows: Iterable[dict]
    notes: list[str] = field(default_factory=list)
    applies: bool = True
    # csv: the same rows as tuples in the order of ``columns``, from an export query (None: use rows)
    flat_rows: Callable[[], Iterable[tuple]] | None = None
    period: Any = None  # the rules.periods.Period shown, where the report covers one period
    shown: dict = field(default_factory=dict)  # what else the view titles with (scales, days, months ...)


@dataclass(frozen=True)
class Report:
    name: str
    summary: str  # one line: `report --list` and the command's first help line
    description: str  # the rest of the command's help
    needs: tuple[str, ...]
    options: tuple[str, ...]
    columns: Callable[[Any, Params], list[Field]]  # works for every policy (the header of an empty result)
    build: Callable[[Any, Params], ReportResult]
    periods: Callable[[Any], tuple[str, ...]] | None = None  # accepted period kinds (None: no period)
    order: int = 0
    # rows about one customer each carry its code under this key: where the policy restricts
    # customer files, the rows about customers the person may not read are left out (None: the
    # report shows totals only)
    customer_key: str | None = None


#: every report, by name, in the order ``report --list`` shows them (filled as the family modules load)
REPORTS: dict[str, Report] = {}


def report(name: str, *, order: int, summary: str, description: str = "", needs: tuple[str, ...] = (),
           options: tuple[str, ...] = (), columns: Callable, periods: Callable | None = None,
           customer_key: str | None = None):
    """Register the decorated builder ``(app, params) -> ReportResult`` as report ``name``.

    ``customer_key``: the key holding the customer's code in rows about one customer (the rows a
    person may not read are left out, ``services.visibility``)."""
    unknown = [o for o in options if o not in OPTIONS]  # a programming error, not the user's
    if unknown:
        raise ValueError(f"report {name}: unknown option {unknown[0]}")

    def deco(build):
        REPORTS[name] = Report(name, summary, description.strip(), needs, options, columns, build, periods, order,
                               customer_key)
        ordered = sorted(REPORTS.values(), key=lambda r: r.order)
        REPORTS.clear()
        REPORTS.update((r.name, r) for r in ordered)
        return build

    return deco


def list_reports(app=None) -> list[dict]:
    """Every report: name, summary, needs; with ``app``: whether it applies to the policy in use."""
    out = []
    for r in REPORTS.values():
        row = {"name": r.name, "summary": r.summary, "needs": [FEATURES[f][0] for f in r.needs]}
        if app is not None:
            row["applies"] = not missing_features(app.policy, r)
        out.append(row)
    return out


def get_report(name: str) -> Report:
    from ...i18n import _

    rep = REPORTS.get((name or "").strip())
    if rep is None:
        raise InvalidInput(_("unknown report '{name}': use one of {reports} (crmctl report --list)").format(
            name=name, reports=", ".join(REPORTS)))
    return rep


def run_report(app, name: str, params: Params | None = None) -> ReportResult:
    """Check the request and prepare the report; the rows are read when the result is iterated."""
    from ...i18n import _
    from ...i18n import _ as gettext

    rep = get_report(name)
    params = params or Params()
    if params.months < 1 or params.months > 120:
        raise InvalidInput(_("--months-back must be from 1 to 120"))
    if rep.periods is None and (params.period or params.label):
        raise InvalidInput(_("report {report} covers no period: leave out --period/--label").format(report=rep.name))
    if params.period is not None:
        params.period = parse_kind(params.period)  # the code, also when typed as its word (半年)
    missing = missing_features(app.policy, rep)
    if missing:
        needs = None
        for m in missing:
            m = gettext(m)
            needs = m if needs is None else _("{first} and {second}").format(first=needs, second=m)
        note = _("report {report} does not apply to policy {policy}: it needs {needs}").format(
            report=rep.name, policy=app.policy.code, needs=needs)
        return ReportResult(rep.name, rep.columns(app, params), [], notes=[note], applies=False)
    result = rep.build(app, params)
    if rep.customer_key:
        _restrict(app, rep, result)
    return result


def _restrict(app, rep: Report, result: ReportResult) -> None:
    """Every row about a customer goes past the one visibility rule (``services.visibility``)."""
    from ..visibility import LEFT_OUT, readable_rows, readable_tuples, sees_every_file

    if sees_every_file(app):
        return
    result.rows = readable_rows(app, result.rows, rep.customer_key)
    if result.flat_rows is not None:
        result.flat_rows = readable_tuples(app, result.flat_rows, [c.key for c in result.columns], rep.customer_key)
    result.notes.append(LEFT_OUT)
