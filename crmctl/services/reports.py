"""Management reports and exports: a registry of named reports (``crmctl report NAME``).

A :class:`Report` has a name, a one-line description, the policy features it needs, the kinds of
period it accepts, and a builder.  :func:`run_report` checks what the user asked for (period label,
scale, filters) *before* anything is read or written, and returns a :class:`ReportResult`:

* ``columns`` -- the csv/json columns in a stable order (codes in csv/json; Chinese labels in tables
  through ``Column.table_format``); every row is a dict with exactly those keys (dotted keys are
  nested dicts, as in the customer JSON), so the json objects and the csv rows are the same data;
* ``rows`` -- a generator: set-based SQL (GROUP BY, joins), streamed with ``yield_per`` inside one
  read transaction; never one query per customer and never a whole table in memory;
* ``sections`` -- for the table view only: a report whose rows mix several breakdowns (a ``section``
  column: ``total``, ``severity``, ``grade.big``, ``month`` ...) is shown as one table per section
  with the columns that matter there;
* ``chart`` -- what the terminal bar chart and ``--chart FILE`` draw, picked from the rows as they
  stream by.

A report that does not apply to the policy in use (``allocation`` on gas-service) is not an error:
``run_report`` returns an empty result with ``applies=False`` and a note; the command says so on
stderr and exits 0 (header-only csv, ``[]`` json, a note in table mode).

``management_summary(app)`` is the short summary ``crmctl demo`` ends with.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.orm import aliased

from ..errors import InvalidInput
from ..models import (Activity, Approval, Customer, CustomerGrade, DevelopmentTarget, Document, GradeResult,
                      GradeRun, Proposal, ServiceTicket, Staff)
from ..output import Column
from ..rules import grading as grading_rules
from ..rules import sla as sla_rules
from ..rules.periods import PERIODS, Period, last_completed, parse_label, period_containing
from .app import App, find_staff

__all__ = [
    "FEATURES", "REPORTS", "ChartSpec", "Params", "Report", "ReportResult", "demo_step", "list_reports",
    "management_summary", "missing_features", "run_report",
]

STREAM = 2000  # rows fetched per round trip when a report lists customers

_EXAMPLE = {"month": "2026-10", "quarter": "2026-Q3", "half-year": "2026-H1", "year": "2025"}
_OUTCOMES = {"adopted": "采纳", "rejected": "未采纳", "open": "处理中"}
_CLOCKS = {"respond": "响应", "arrive": "到达", "resolve": "修复"}
_DIRECTIONS = {"up": "升级", "down": "降级"}
_NO_GRADE = "未分级"


# ----------------------------------------------------------------------------------------------
# What a report needs from the policy


def _has_rank_scale(p) -> bool:
    return any(sc.method == "rank" for sc in p.grading.scales.values())


#: feature -> (what the policy file must have, test)
FEATURES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "grading": ("grading scales ([grading.scales.*])", lambda p: bool(p.grading.scales)),
    "rank_scale": ("a rank-graded scale (method = \"rank\")", _has_rank_scale),
    "stability": ("[stability] or [churn]", lambda p: p.stability is not None or p.churn is not None),
    "complaints": ("[complaints]", lambda p: p.complaints is not None),
    "service": ("[service]", lambda p: p.service is not None),
    "ratings": ("[service] rating_items", lambda p: p.service is not None and bool(p.service.rating_items)),
    "cadences": ("activity cadences ([[activities.cadences]])",
                 lambda p: bool(p.activities.cadences or p.activities.greetings)),
    "expiring_documents": ("a document type that expires ([documents.*] expires = true)",
                           lambda p: any(d.expires for d in p.documents.values())),
    "allocation": ("[reports.allocation]", lambda p: p.reports is not None and p.reports.allocation is not None),
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


@dataclass(frozen=True)
class ChartSpec:
    """A bar chart drawn from the rows: ``pick(row)`` -> (bar label, value) or None (row not drawn); a
    value of None (a rate with nothing to rate) is drawn as an empty bar marked "-"."""

    title: str
    pick: Callable[[Mapping], tuple[str, float | None] | None]
    unit: str = ""
    max_value: float | None = None  # e.g. 100 for a percentage


@dataclass
class ReportResult:
    name: str
    columns: list[Column]
    rows: Iterable[dict]
    title: str | None = None
    sections: dict[str, tuple[str, list[str]]] | None = None  # section -> (table title, column keys)
    table_columns: list[str] | None = None  # the table view shows only these (None: every column)
    chart: ChartSpec | None = None
    notes: list[str] = field(default_factory=list)
    applies: bool = True
    # csv: the same rows as tuples in the order of ``columns``, from an export query (None: use rows)
    flat_rows: Callable[[], Iterable[tuple]] | None = None


@dataclass(frozen=True)
class Report:
    name: str
    summary: str
    needs: tuple[str, ...]
    columns: Callable[[App, Params], list[Column]]  # works for every policy (the header of an empty result)
    build: Callable[[App, Params], ReportResult]
    periods: Callable[[Any], tuple[str, ...]] | None = None  # accepted period kinds (None: no period)
    charted: bool = False


REPORTS: dict[str, Report] = {}


def _register(name: str, summary: str, needs: tuple[str, ...], columns, *, periods=None, charted: bool = False):
    def deco(build):
        REPORTS[name] = Report(name, summary, needs, columns, build, periods, charted)
        return build

    return deco


def list_reports(app: App | None = None) -> list[dict]:
    """Every report: name, summary, needs; with ``app``: whether it applies to the policy in use."""
    out = []
    for r in REPORTS.values():
        row = {"name": r.name, "summary": r.summary, "needs": [FEATURES[f][0] for f in r.needs]}
        if app is not None:
            row["applies"] = not missing_features(app.policy, r)
        out.append(row)
    return out


def get_report(name: str) -> Report:
    rep = REPORTS.get((name or "").strip())
    if rep is None:
        raise InvalidInput(f"unknown report '{name}': use one of {', '.join(REPORTS)} (crmctl report --list)")
    return rep


def run_report(app: App, name: str, params: Params | None = None) -> ReportResult:
    """Check the request and prepare the report; the rows are read when the result is iterated."""
    rep = get_report(name)
    params = params or Params()
    if params.months < 1 or params.months > 120:
        raise InvalidInput("--months must be from 1 to 120")
    if rep.periods is None and (params.period or params.label):
        raise InvalidInput(f"report {rep.name} covers no period: leave out --period/--label")
    if params.period is not None and params.period not in PERIODS:
        raise InvalidInput(f"unknown period '{params.period}': use one of {', '.join(PERIODS)}")
    missing = missing_features(app.policy, rep)
    if missing:
        note = (f"report {rep.name} does not apply to policy {app.policy.code}: it needs "
                f"{' and '.join(missing)}")
        return ReportResult(rep.name, rep.columns(app, params), [], notes=[note], applies=False)
    return rep.build(app, params)


# ----------------------------------------------------------------------------------------------
# Shared helpers


def _kinds_text(kinds: tuple[str, ...]) -> str:
    return " or ".join(f"a {k} ({_EXAMPLE[k]})" for k in kinds)


def _period(app: App, report: str, params: Params, kinds: tuple[str, ...], default: str | None = None) -> Period:
    """The period of ``--label``/``--period`` (default: the last completed ``default`` period)."""
    today = app.now().date()
    if params.label:
        try:
            per = parse_label(params.label.strip())
        except ValueError as exc:
            raise InvalidInput(f"--label: {exc}") from None
        if params.period and per.kind != params.period:
            raise InvalidInput(f"--label {per.label} is a {per.kind}, not a {params.period}")
        if per.kind not in kinds:
            raise InvalidInput(f"--label {per.label} is a {per.kind}; report {report} takes {_kinds_text(kinds)}")
        if per.start > today:
            raise InvalidInput(f"--label {per.label} has not started yet")
        return per
    kind = params.period or default or kinds[0]
    if kind not in kinds:
        raise InvalidInput(f"--period {kind}: report {report} takes {_kinds_text(kinds)}")
    return last_completed(kind, today)


def _bounds(app: App, per: Period):
    from .service_desk import period_bounds

    return period_bounds(app, per.start, per.end)


def _pct(part: float | int | None, whole: float | int | None) -> float | None:
    if not whole:
        return None
    return round(100.0 * float(part or 0) / float(whole), 1)


def _int(v) -> int:
    return int(v or 0)


def _money(v) -> Decimal | None:
    if v is None:
        return None
    return Decimal(str(v)).quantize(Decimal("0.01"))


def _labeller(table: Mapping[str, str] | None, empty: str = "") -> Callable[[Any], str]:
    table = dict(table or {})
    return lambda v: table.get(v, str(v)) if v is not None else empty


def _status_labels(app: App) -> dict[str, str]:
    return app.policy.statuses.model_dump()


def _scales(app: App) -> dict:
    return dict(app.policy.grading.scales) if app.policy.grading else {}


def _grade_labels(scale) -> dict[str, str]:
    return {g.code: g.label for g in scale.grades} if scale is not None else {}


def _check_scale(app: App, scale: str | None, pool: Mapping | None = None) -> dict:
    """The scales a grade report covers: ``--scale`` (refused when unknown) or every one in ``pool``."""
    pool = dict(pool if pool is not None else _scales(app))
    if scale is None:
        return pool
    if scale not in pool:
        known = ", ".join(pool) or "none"
        raise InvalidInput(f"unknown scale '{scale}': this report can use {known}")
    return {scale: pool[scale]}


def _graded_labels(s, scale: str) -> list[Period]:
    """Labels a scale was graded for (stored runs), oldest first."""
    labels = s.scalars(select(GradeRun.label).where(GradeRun.scale == scale).distinct()).all()
    pers = []
    for lb in labels:
        try:
            pers.append(parse_label(lb))
        except ValueError:
            continue
    pers.sort(key=lambda p: grading_rules.period_key(p.start, p.end))
    return pers


def _grade_periods(app: App, report: str, params: Params, scales: dict) -> dict[str, Period | None]:
    """Per scale the label a grade report shows: ``--label``, the last completed ``--period``, or
    (neither given) the latest label the scale was graded for.  A label of a kind that none of the
    scales is graded by is refused."""
    kinds = tuple(k for k in PERIODS if any(k in sc.periods for sc in scales.values()))
    if params.label or params.period:
        per = _period(app, report, params, kinds)
        chosen = {code: per for code, sc in scales.items() if per.kind in sc.periods}
        return chosen
    out: dict[str, Period | None] = {}
    with app.db.read() as s:
        for code in scales:
            graded = _graded_labels(s, code)
            out[code] = graded[-1] if graded else None
    return out


def _previous_graded(s, scale: str, per: Period) -> Period | None:
    """The latest label of the same kind graded before ``per``."""
    key = grading_rules.period_key(per.start, per.end)
    earlier = [p for p in _graded_labels(s, scale)
               if p.kind == per.kind and grading_rules.period_key(p.start, p.end) < key]
    return earlier[-1] if earlier else None


def _not_graded(code: str, per: Period | None) -> str:
    if per is None:
        return f"scale {code} has not been graded yet (crmctl grade run)"
    return f"scale {code} was not graded for {per.label} (crmctl grade run --label {per.label})"


def _staff_names(s) -> dict[int, tuple[str, str]]:
    """Staff id -> (login, name): a few hundred rows at most."""
    return {i: (login, name) for i, login, name in s.execute(select(Staff.id, Staff.login, Staff.name))}


# ----------------------------------------------------------------------------------------------
# customers: the master list (petrochem Art. 8: the file sent to finance and the plant office)


def _customer_columns(app: App, params: Params) -> list[Column]:
    from .customers import customer_columns

    return customer_columns(app)


@_register("customers", "The customer master list: status, segments, grades, owner, file fields (sent to finance).",
           (), _customer_columns)
def _customers(app: App, params: Params) -> ReportResult:
    from .customers import export_customers, list_customers

    filters = dict(status=params.status, grade=params.grade, segment=params.segment, owner=params.owner,
                   stability=params.stability)
    rows = list_customers(app, **filters)  # the filters are checked here; nothing is read yet
    cols = _customer_columns(app, params)
    narrow = [c.key for c in cols if not c.key.startswith("fields.") and c.key != "created_at"]
    return ReportResult("customers", cols, rows, title="客户名册", table_columns=narrow,
                        flat_rows=lambda: export_customers(app, **filters)[1])


# ----------------------------------------------------------------------------------------------
# grades: counts per scale and grade for a label, with the change against the previous label


def _grades_columns(app: App, params: Params) -> list[Column]:
    scales = _scales(app)
    labels: dict[str, str] = {}
    for sc in scales.values():
        labels.update(_grade_labels(sc))
    return [
        Column("scale", "分级", table_format=_labeller({c: sc.label for c, sc in scales.items()})),
        Column("label", "期间"), Column("grade", "等级", table_format=_labeller(labels)),
        Column("customers", "客户数", "right"), Column("share_pct", "占比%", "right"),
        Column("previous_label", "上期"), Column("previous_customers", "上期客户数", "right"),
        Column("change", "增减", "right"),
    ]


def _scale_periods(policy) -> tuple[str, ...]:
    return tuple(k for k in PERIODS if any(k in sc.periods for sc in policy.grading.scales.values())) or PERIODS


@_register("grades", "Customers per scale and grade for a label, with the change against the previous label.",
           ("grading",), _grades_columns, periods=_scale_periods, charted=True)
def _grades(app: App, params: Params) -> ReportResult:
    scales = _check_scale(app, params.scale)
    chosen = _grade_periods(app, "grades", params, scales)
    notes = [_not_graded(c, p) for c, p in chosen.items() if p is None]
    labels = {c: {g.code: g.label for g in sc.grades} for c, sc in scales.items()}

    def rows():
        with app.db.read() as s:
            for code, per in chosen.items():
                if per is None:
                    continue
                counts = _grade_counts(s, code, per.label)
                if not counts:
                    notes.append(_not_graded(code, per))
                    continue
                prev = _previous_graded(s, code, per)
                before = _grade_counts(s, code, prev.label) if prev else {}
                total = sum(counts.values())
                for g in reversed(scales[code].grade_codes):  # best grade first
                    n = counts.get(g, 0)
                    b = before.get(g, 0) if prev else None
                    yield {"scale": code, "label": per.label, "grade": g, "customers": n,
                           "share_pct": _pct(n, total), "previous_label": prev.label if prev else None,
                           "previous_customers": b, "change": (n - b) if b is not None else None}

    multi = len(scales) > 1
    chart = ChartSpec(
        "各等级客户数", unit="户",
        pick=lambda r: ((f"{scales[r['scale']].label} " if multi else "") + labels[r["scale"]].get(r["grade"], r["grade"]),
                        r["customers"]))
    return ReportResult("grades", _grades_columns(app, params), rows(), title="客户等级分布", chart=chart, notes=notes)


def _grade_counts(s, scale: str, label: str) -> dict[str, int]:
    return dict(s.execute(select(GradeResult.grade, func.count()).where(GradeResult.scale == scale,
                                                                        GradeResult.label == label)
                          .group_by(GradeResult.grade)).all())


# ----------------------------------------------------------------------------------------------
# grade-changes: every customer that moved up or down at a label


def _changes_columns(app: App, params: Params) -> list[Column]:
    scales = _scales(app)
    labels: dict[str, str] = {}
    for sc in scales.values():
        labels.update(_grade_labels(sc))
    grade = _labeller(labels)
    unit = app.policy.policy.volume_unit_label
    return [
        Column("scale", "分级", table_format=_labeller({c: sc.label for c, sc in scales.items()})),
        Column("label", "期间"), Column("customer", "客户编号"), Column("name", "客户名称"), Column("owner", "负责人"),
        Column("previous", "原等级", table_format=grade), Column("grade", "新等级", table_format=grade),
        Column("direction", "升降", table_format=_labeller(_DIRECTIONS)),
        Column("volume", f"量（{unit}）", "right"),
    ]


@_register("grade-changes", "Every customer that moved up or down at a label, from and to.",
           ("grading",), _changes_columns, periods=_scale_periods)
def _grade_changes(app: App, params: Params) -> ReportResult:
    if params.direction not in (None, "up", "down"):
        raise InvalidInput(f"--direction must be up or down, not '{params.direction}'")
    scales = _check_scale(app, params.scale)
    chosen = _grade_periods(app, "grade-changes", params, scales)
    notes = [_not_graded(c, p) for c, p in chosen.items() if p is None]
    owner = aliased(Staff)

    def rows():
        with app.db.read() as s:
            for code, per in chosen.items():
                if per is None:
                    continue
                codes = scales[code].grade_codes
                q = (select(Customer.code, Customer.name, owner.login, GradeResult.previous, GradeResult.grade,
                            GradeResult.metrics)
                     .join(Customer, Customer.id == GradeResult.customer_id)
                     .outerjoin(owner, owner.id == Customer.owner_id)
                     .where(GradeResult.scale == code, GradeResult.label == per.label,
                            GradeResult.previous.is_not(None), GradeResult.previous != GradeResult.grade)
                     .order_by(Customer.code))
                for r in s.execute(q.execution_options(yield_per=STREAM)):
                    d = grading_rules.direction(codes, r.previous, r.grade)
                    way = "up" if d > 0 else "down"
                    if params.direction and way != params.direction:
                        continue
                    yield {"scale": code, "label": per.label, "customer": r.code, "name": r.name, "owner": r.login,
                           "previous": r.previous, "grade": r.grade, "direction": way,
                           "volume": (r.metrics or {}).get("volume")}

    return ReportResult("grade-changes", _changes_columns(app, params), rows(), title="客户等级变动", notes=notes)


# ----------------------------------------------------------------------------------------------
# stability: existing / lost / potential, lost customers with their last purchase, churn warnings


def _stability_columns(app: App, params: Params) -> list[Column]:
    st = app.policy.stability
    labels = st.labels.model_dump() if st else {}
    unit = app.policy.policy.volume_unit_label
    return [
        Column("section", "类别", table_format=_labeller({"count": "客户稳定性", "lost": "流失客户",
                                                          "churn": "流失预警"})),
        Column("stability", "稳定性", table_format=_labeller(labels)),
        Column("customers", "客户数", "right"), Column("customer", "客户编号"), Column("name", "客户名称"),
        Column("owner", "负责人"), Column("last_purchase", "最后购买日"),
        Column("days_since_purchase", "未购天数", "right"), Column("label", "期间"), Column("base_label", "对比期间"),
        Column("volume", f"本期量（{unit}）", "right"), Column("base_volume", f"对比期量（{unit}）", "right"),
        Column("drop_pct", "降幅%", "right"),
    ]


def _churn_periods(policy) -> tuple[str, ...]:
    return (policy.churn.period,) if policy.churn is not None else ("month",)


_STABILITY_KEYS = ("section", "stability", "customers", "customer", "name", "owner", "last_purchase",
                   "days_since_purchase", "label", "base_label", "volume", "base_volume", "drop_pct")


def _row(keys: tuple[str, ...], **values) -> dict:
    return {k: values.get(k) for k in keys}


@_register("stability", "Existing / lost / potential customers, the lost ones with their last purchase, churn warnings.",
           ("stability",), _stability_columns, periods=_churn_periods, charted=True)
def _stability(app: App, params: Params) -> ReportResult:
    from .grading import churn_warnings, stability_clause, stability_counts
    from .volumes import last_purchase_subquery

    pol = app.policy
    label = None
    if pol.churn is not None:
        label = _period(app, "stability", params, (pol.churn.period,)).label
    elif params.label or params.period:
        raise InvalidInput(f"policy {pol.code} has no churn warning: report stability covers no period")
    today = app.now().date()
    K = _STABILITY_KEYS

    def rows():
        if pol.stability is not None:
            for which, n in stability_counts(app).items():
                yield _row(K, section="count", stability=which, customers=n)
            sub = last_purchase_subquery()
            owner = aliased(Staff)
            q = (select(Customer.code, Customer.name, owner.login, sub.c.last)
                 .join(sub, sub.c.customer_id == Customer.id)
                 .outerjoin(owner, owner.id == Customer.owner_id)
                 .where(Customer.status != "disqualified", stability_clause(app, "lost", sub.c.last))
                 .order_by(sub.c.last.desc(), Customer.code))
            with app.db.read() as s:
                for r in s.execute(q.execution_options(yield_per=STREAM)):
                    yield _row(K, section="lost", stability="lost", customer=r.code, name=r.name, owner=r.login,
                               last_purchase=r.last, days_since_purchase=(today - r.last).days)
        if pol.churn is not None:
            for w in churn_warnings(app, label):
                yield _row(K, section="churn", customer=w["customer"], name=w["name"], label=w["label"],
                           base_label=w["base_label"], volume=w["volume"], base_volume=w["base_volume"],
                           drop_pct=w["drop_pct"])

    labels = pol.stability.labels.model_dump() if pol.stability else {}
    sections = {
        "count": ("客户稳定性（当前）", ["stability", "customers"]),
        "lost": ("流失客户及最后购买日", ["customer", "name", "owner", "last_purchase", "days_since_purchase"]),
        "churn": (f"流失预警（{label}）" if label else "流失预警",
                  ["customer", "name", "label", "base_label", "volume", "base_volume", "drop_pct"]),
    }
    chart = ChartSpec("客户稳定性", unit="户",
                      pick=lambda r: (labels.get(r["stability"], r["stability"]), r["customers"])
                      if r["section"] == "count" else None)
    return ReportResult("stability", _stability_columns(app, params), rows(), title="客户稳定性分析",
                        sections=sections, chart=chart)


# ----------------------------------------------------------------------------------------------
# complaints: opened, closed, on time, overdue, satisfaction against the target; by severity, grade, month

_COMPLAINT_KEYS = ("label", "section", "key", "opened", "closed", "on_time", "late", "open_overdue", "on_time_pct",
                   "satisfied", "unsatisfied", "satisfaction_pct", "target_pct", "meets_target")


def _complaint_columns(app: App, params: Params) -> list[Column]:
    pol = app.policy
    sev = pol.complaints.severities if pol.complaints else {}
    keys = dict(sev)
    for sc in _scales(app).values():
        keys.update(_grade_labels(sc))
    sections = {"total": "合计", "severity": "严重程度", "month": "月份"}
    sections.update({f"grade.{c}": sc.label for c, sc in _scales(app).items()})
    return [
        Column("label", "期间"), Column("section", "维度", table_format=_labeller(sections)),
        Column("key", "分组", table_format=_labeller(keys)),
        Column("opened", "受理", "right"), Column("closed", "办结", "right"), Column("on_time", "按时办结", "right"),
        Column("late", "超时办结", "right"), Column("open_overdue", "超时未结", "right"),
        Column("on_time_pct", "按时率%", "right"), Column("satisfied", "满意", "right"),
        Column("unsatisfied", "不满意", "right"), Column("satisfaction_pct", "满意率%", "right"),
        Column("target_pct", "目标%", "right"), Column("meets_target", "达标", table_format=_yes_no),
    ]


def _yes_no(v) -> str:
    return "是" if v is True else "否" if v is False else ""


def _complaint_row(label: str, section: str, key: str | None, st: Mapping) -> dict:
    settled = st["on_time"] + st["late"] + st["open_overdue"]
    return {"label": label, "section": section, "key": key, "opened": st["opened"], "closed": st["closed"],
            "on_time": st["on_time"], "late": st["late"], "open_overdue": st["open_overdue"],
            "on_time_pct": _pct(st["on_time"], settled), "satisfied": st["satisfied"],
            "unsatisfied": st["unsatisfied"], "satisfaction_pct": st["satisfaction_pct"],
            "target_pct": st["target_pct"], "meets_target": st["meets_target"]}


@_register("complaints", "Complaints opened, closed, on time, overdue and satisfaction vs target, by severity, grade and month.",
           ("complaints",), _complaint_columns, periods=lambda p: PERIODS, charted=True)
def _complaints(app: App, params: Params) -> ReportResult:
    from .service_desk import complaint_stats

    per = _period(app, "complaints", params, PERIODS, "month")
    last_month = period_containing("month", per.end - timedelta(days=1))
    months = [last_month.shifted(periods=-i) for i in range(params.months - 1, -1, -1)]
    scales = _scales(app)

    def rows():
        st = complaint_stats(app, per)
        yield _complaint_row(per.label, "total", None, st["total"])
        for r in st["by_severity"]:
            yield _complaint_row(per.label, "severity", r["severity"], r)
        for code, sc in scales.items():
            order = {g: i for i, g in enumerate(reversed(sc.grade_codes))}  # best grade first, ungraded last
            mine = sorted((r for r in st["by_grade"] if r["scale"] == code),
                          key=lambda r: order.get(r["grade"], len(order)))
            for r in mine:
                yield _complaint_row(per.label, f"grade.{code}", r["grade"], r)
        for m in months:
            yield _complaint_row(m.label, "month", m.label, complaint_stats(app, m)["total"])

    counts = ["opened", "closed", "on_time", "late", "open_overdue", "on_time_pct", "satisfied", "unsatisfied",
              "satisfaction_pct", "target_pct", "meets_target"]
    sections = {"total": (f"投诉处理合计（{per.label}）", counts), "severity": ("按严重程度", ["key"] + counts)}
    for code, sc in scales.items():
        sections[f"grade.{code}"] = (f"按客户等级（{sc.label}）", ["key"] + counts)
    sections["month"] = (f"按月（近{params.months}个月）", ["label"] + counts)
    chart = ChartSpec("投诉按时办结率（按月）", unit="%", max_value=100.0,
                      pick=lambda r: (r["label"], r["on_time_pct"]) if r["section"] == "month" else None)
    return ReportResult("complaints", _complaint_columns(app, params), rows(), title="投诉处理统计",
                        sections=sections, chart=chart)


# ----------------------------------------------------------------------------------------------
# service: tickets by kind and location; on-time rate per clock

_SERVICE_KEYS = ("label", "section", "kind", "location", "service_type", "clock", "opened", "resolved", "open",
                 "overdue", "due", "met", "missed", "running", "on_time_pct")


def _service_columns(app: App, params: Params) -> list[Column]:
    sv = app.policy.service
    return [
        Column("label", "期间"), Column("section", "维度", table_format=_labeller({"tickets": "工单", "clock": "时限"})),
        Column("kind", "类别", table_format=_labeller(sv.kinds if sv else {})),
        Column("location", "地点", table_format=_labeller(sv.locations if sv else {})),
        Column("service_type", "服务类型", table_format=_labeller(sv.service_types if sv else {})),
        Column("clock", "时限", table_format=_labeller(_CLOCKS)),
        Column("opened", "受理", "right"), Column("resolved", "已完成", "right"), Column("open", "未完成", "right"),
        Column("overdue", "超时", "right"), Column("due", "有时限", "right"), Column("met", "按时", "right"),
        Column("missed", "超时", "right"), Column("running", "进行中", "right"),
        Column("on_time_pct", "按时率%", "right"),
    ]


@_register("service", "Service tickets by kind and location, and the on-time rate of each clock.",
           ("service",), _service_columns, periods=lambda p: PERIODS, charted=True)
def _service(app: App, params: Params) -> ReportResult:
    from .tickets import overdue_clause

    per = _period(app, "service", params, PERIODS, "month")
    lo, hi = _bounds(app, per)
    now = app.now()
    T = ServiceTicket
    in_period = and_(T.opened_at >= lo, T.opened_at < hi)
    K = _SERVICE_KEYS
    sv = app.policy.service

    def rows():
        with app.db.read() as s:
            q = (select(T.kind, T.location, T.service_type, func.count(T.id),
                        func.sum(case((T.status == "resolved", 1), else_=0)),
                        func.sum(case((overdue_clause(now), 1), else_=0)))
                 .where(in_period).group_by(T.kind, T.location, T.service_type)
                 .order_by(T.kind, T.location, T.service_type))
            for kind, loc, stype, n, resolved, overdue in s.execute(q):
                yield _row(K, label=per.label, section="tickets", kind=kind, location=loc, service_type=stype,
                           opened=_int(n), resolved=_int(resolved), open=_int(n) - _int(resolved),
                           overdue=_int(overdue))
            for clock in sla_rules.CLOCKS:
                due = getattr(T, {"respond": "respond_by", "arrive": "arrive_by", "resolve": "resolve_by"}[clock])
                done = getattr(T, sla_rules.CLOCK_EVENTS[clock])
                q = (select(T.kind, func.count(due),
                            func.sum(case((and_(due.is_not(None), done.is_not(None), done <= due), 1), else_=0)),
                            func.sum(case((and_(due.is_not(None), or_(done > due, and_(done.is_(None), due < now))), 1),
                                          else_=0)),
                            func.sum(case((and_(due.is_not(None), done.is_(None), due >= now), 1), else_=0)))
                     .where(in_period, due.is_not(None)).group_by(T.kind).order_by(T.kind))
                for kind, n, met, missed, running in s.execute(q):
                    yield _row(K, label=per.label, section="clock", kind=kind, clock=clock, due=_int(n), met=_int(met),
                               missed=_int(missed), running=_int(running),
                               on_time_pct=_pct(met, _int(met) + _int(missed)))

    sections = {"tickets": (f"工单（{per.label}）", ["kind", "location", "service_type", "opened", "resolved", "open",
                                                   "overdue"]),
                "clock": ("各时限按时率", ["kind", "clock", "due", "met", "missed", "running", "on_time_pct"])}
    kinds = sv.kinds
    chart = ChartSpec("服务时限按时率", unit="%", max_value=100.0,
                      pick=lambda r: (f"{kinds.get(r['kind'], r['kind'])}·{_CLOCKS[r['clock']]}", r["on_time_pct"])
                      if r["section"] == "clock" else None)
    return ReportResult("service", _service_columns(app, params), rows(), title="客户服务统计", sections=sections,
                        chart=chart)


# ----------------------------------------------------------------------------------------------
# technicians: monthly ratings per technician on the policy's rating items (manufacturer part 五)


def _technician_columns(app: App, params: Params) -> list[Column]:
    items = app.policy.service.rating_items if app.policy.service else {}
    return ([Column("label", "月份"), Column("technician", "技术员"), Column("name", "姓名"),
             Column("resolved", "完成工单", "right"), Column("rated", "评价次数", "right")]
            + [Column(f"ratings.{code}", label, "right") for code, label in items.items()]
            + [Column("average", "综合平均", "right")])


@_register("technicians", "Monthly ratings per technician on the rating items (attitude, skill, arrival, promise).",
           ("ratings",), _technician_columns, periods=lambda p: ("month",))
def _technicians(app: App, params: Params) -> ReportResult:
    from .tickets import technician_ratings

    per = _period(app, "technicians", params, ("month",))
    items = list(app.policy.service.rating_items)
    lo, hi = _bounds(app, per)

    def rows():
        ratings: dict[str, dict[str, tuple[int, float]]] = {}
        for r in technician_ratings(app, per.label):  # technicians × items: a few hundred rows
            ratings.setdefault(r["technician"], {})[r["item"]] = (r["ratings"], r["average"])
        with app.db.read() as s:
            resolved = dict(s.execute(select(Staff.login, func.count(ServiceTicket.id))
                                      .join(Staff, Staff.id == ServiceTicket.technician_id)
                                      .where(ServiceTicket.resolved_at >= lo, ServiceTicket.resolved_at < hi)
                                      .group_by(Staff.login)).all())
            names = {login: name for login, name in s.execute(
                select(Staff.login, Staff.name).where(Staff.login.in_(sorted(set(ratings) | set(resolved)))))}
        for login in sorted(set(ratings) | set(resolved)):
            got = ratings.get(login, {})
            avgs = {i: got[i][1] if i in got else None for i in items}
            present = [v for v in avgs.values() if v is not None]
            yield {"label": per.label, "technician": login, "name": names.get(login), "resolved": resolved.get(login, 0),
                   "rated": max((n for n, _a in got.values()), default=0), "ratings": avgs,
                   "average": round(sum(present) / len(present), 2) if present else None}

    return ReportResult("technicians", _technician_columns(app, params), rows(), title=f"技术员月度评价（{per.label}）")


# ----------------------------------------------------------------------------------------------
# visits: planned, done, missed per owner and per grade for a month (compliance)

_VISIT_KEYS = ("label", "section", "owner", "grade", "planned", "done", "missed", "open", "unplanned", "compliance_pct")


def _visit_columns(app: App, params: Params) -> list[Column]:
    sections = {"total": "合计", "owner": "负责人"}
    grades: dict[str, str] = {}
    for c, sc in _scales(app).items():
        sections[f"grade.{c}"] = sc.label
        grades.update(_grade_labels(sc))
    return [
        Column("label", "月份"), Column("section", "维度", table_format=_labeller(sections)),
        Column("owner", "负责人"), Column("grade", "等级", table_format=_labeller(grades)),
        Column("planned", "计划", "right"), Column("done", "完成", "right"), Column("missed", "未完成（逾期）", "right"),
        Column("open", "进行中", "right"), Column("unplanned", "计划外", "right"),
        Column("compliance_pct", "完成率%", "right"),
    ]


def _visit_counts(month_over: bool):
    A = Activity
    planned = A.planned_by.is_not(None)
    waiting = func.sum(case((and_(planned, A.status == "planned"), 1), else_=0))
    return (func.sum(case((planned, 1), else_=0)).label("planned"),
            func.sum(case((and_(planned, A.status == "done"), 1), else_=0)).label("done"),
            waiting.label("waiting"),
            func.sum(case((and_(A.planned_by.is_(None), A.status == "done"), 1), else_=0)).label("unplanned"))


def _visit_row(per: Period, section: str, month_over: bool, r, **keys) -> dict:
    planned, done, waiting = _int(r.planned), _int(r.done), _int(r.waiting)
    return _row(_VISIT_KEYS, label=per.label, section=section, planned=planned, done=done,
                missed=waiting if month_over else 0, open=0 if month_over else waiting, unplanned=_int(r.unplanned),
                compliance_pct=_pct(done, planned), **keys)


@_register("visits", "Visits and other activities planned, done and missed per owner and per grade for a month.",
           ("cadences",), _visit_columns, periods=lambda p: ("month",), charted=True)
def _visits(app: App, params: Params) -> ReportResult:
    per = _period(app, "visits", params, ("month",))
    today = app.now().date()
    month_over = per.end <= date(today.year, today.month, 1)
    A = Activity
    in_month = and_(A.due_date >= per.start, A.due_date < per.end)
    owner_id = None
    if params.owner:
        with app.db.read() as s:
            owner_id = find_staff(s, params.owner, active_only=False).id
    where = [in_month] + ([A.owner_id == owner_id] if owner_id is not None else [])
    scales = _scales(app)

    def rows():
        with app.db.read() as s:
            total = s.execute(select(*_visit_counts(month_over)).where(*where)).one()
            yield _visit_row(per, "total", month_over, total)
            q = (select(Staff.login, *_visit_counts(month_over)).select_from(A)
                 .outerjoin(Staff, Staff.id == A.owner_id).where(*where).group_by(Staff.login).order_by(Staff.login))
            for r in s.execute(q):
                yield _visit_row(per, "owner", month_over, r, owner=r.login)
            for code, sc in scales.items():
                q = (select(CustomerGrade.grade, *_visit_counts(month_over)).select_from(A)
                     .outerjoin(CustomerGrade, and_(CustomerGrade.customer_id == A.customer_id,
                                                    CustomerGrade.scale == code))
                     .where(*where, A.customer_id.is_not(None)).group_by(CustomerGrade.grade))
                got = {r.grade: r for r in s.execute(q)}
                for g in list(reversed(sc.grade_codes)) + [None]:
                    if g in got:
                        yield _visit_row(per, f"grade.{code}", month_over, got[g], grade=g)

    counts = ["planned", "done", "missed", "open", "unplanned", "compliance_pct"]
    sections = {"total": (f"走访计划完成情况（{per.label}）", counts), "owner": ("按负责人", ["owner"] + counts)}
    for code, sc in scales.items():
        sections[f"grade.{code}"] = (f"按客户等级（{sc.label}）", ["grade"] + counts)
    chart = ChartSpec(f"走访计划完成率（{per.label}，按负责人）", unit="%", max_value=100.0,
                      pick=lambda r: (r["owner"] or "（无负责人）", r["compliance_pct"])
                      if r["section"] == "owner" and r["planned"] else None)
    return ReportResult("visits", _visit_columns(app, params), rows(), title="走访计划执行情况", sections=sections,
                        chart=chart)


# ----------------------------------------------------------------------------------------------
# documents: expiring within N days and expired, with the suspended customers

_DOC_KEYS = ("section", "customer", "name", "status", "owner", "type", "number", "expires", "days_left", "expired",
             "suspends", "status_reason", "status_since")


def _document_columns(app: App, params: Params) -> list[Column]:
    docs = {k: d.label for k, d in app.policy.documents.items()}
    return [
        Column("section", "类别", table_format=_labeller({"document": "证照到期", "suspended": "暂停业务客户"})),
        Column("customer", "客户编号"), Column("name", "客户名称"),
        Column("status", "客户状态", table_format=_labeller(_status_labels(app))), Column("owner", "负责人"),
        Column("type", "证照", table_format=_labeller(docs)), Column("number", "证照编号"),
        Column("expires", "有效期至"), Column("days_left", "剩余天数", "right"),
        Column("expired", "已过期", table_format=_yes_no), Column("suspends", "过期即暂停", table_format=_yes_no),
        Column("status_reason", "暂停原因"), Column("status_since", "暂停时间"),
    ]


@_register("documents", "Documents expiring within N days or expired (not renewed), and the suspended customers.",
           ("expiring_documents",), _document_columns)
def _documents(app: App, params: Params) -> ReportResult:
    pol = app.policy
    days = params.days
    if days is None:
        days = max((d.renew_notice_days or 0 for d in pol.documents.values() if d.expires), default=0) or 30
    if days < 0 or days > 3660:
        raise InvalidInput("--days must be from 0 to 3660")
    today = app.now().date()
    until = today + timedelta(days=days)
    suspends = {k for k, d in pol.documents.items() if d.suspends_on_expiry}
    newer = aliased(Document)
    owner = aliased(Staff)
    # the newest copy of each (customer, type): an old copy replaced by a later one is not listed
    superseded = (select(newer.id).where(newer.customer_id == Document.customer_id, newer.type == Document.type,
                                         or_(newer.expires.is_(None), newer.expires > Document.expires))
                  .exists())
    q = (select(Customer.code, Customer.name, Customer.status, owner.login, Document.type, Document.number,
                Document.expires)
         .join(Customer, Customer.id == Document.customer_id)
         .outerjoin(owner, owner.id == Customer.owner_id)
         .where(Document.expires.is_not(None), Document.expires <= until, Customer.status != "disqualified",
                not_(superseded))
         .order_by(Document.expires, Customer.code, Document.type))
    qs = (select(Customer.code, Customer.name, Customer.status, owner.login, Customer.status_reason,
                 Customer.status_changed_at)
          .outerjoin(owner, owner.id == Customer.owner_id)
          .where(Customer.status == "suspended").order_by(Customer.code))
    K = _DOC_KEYS

    def rows():
        with app.db.read() as s:
            for r in s.execute(q.execution_options(yield_per=STREAM)):
                yield _row(K, section="document", customer=r.code, name=r.name, status=r.status, owner=r.login,
                           type=r.type, number=r.number, expires=r.expires, days_left=(r.expires - today).days,
                           expired=r.expires < today, suspends=r.type in suspends)
            for r in s.execute(qs.execution_options(yield_per=STREAM)):
                yield _row(K, section="suspended", customer=r.code, name=r.name, status=r.status, owner=r.login,
                           status_reason=r.status_reason,
                           status_since=r.status_changed_at.astimezone(app.tz) if r.status_changed_at else None)

    sections = {"document": (f"{days} 天内到期及已过期的证照", ["customer", "name", "status", "owner", "type", "number",
                                                          "expires", "days_left", "expired", "suspends"]),
                "suspended": ("暂停业务的客户", ["customer", "name", "owner", "status_reason", "status_since"])}
    return ReportResult("documents", _document_columns(app, params), rows(), title="证照有效期检查",
                        sections=sections)


# ----------------------------------------------------------------------------------------------
# allocation: exclusive agents and distributors ranked for scarce product (petrochem Art. 10)


def _allocation_columns(app: App, params: Params) -> list[Column]:
    al = app.policy.reports.allocation if app.policy.reports else None
    groups: dict[str, str] = {}
    if al is not None:
        try:
            groups = dict(app.policy.segment(al.segment).values)
        except KeyError:
            groups = {}
    unit = app.policy.policy.volume_unit_label
    return [
        Column("rank", "顺序", "right"), Column("label", "期间"), Column("customer", "客户编号"),
        Column("name", "客户名称"), Column("group", "类别", table_format=_labeller(groups)),
        Column("planned", f"计划量（{unit}）", "right"), Column("actual", f"提货量（{unit}）", "right"),
        Column("completion_pct", "完成率%", "right"), Column("weekly_cv", "周均衡系数(CV)", "right"),
    ]


@_register("allocation", "Exclusive agents and distributors ranked by plan completion and weekly evenness.",
           ("allocation",), _allocation_columns, periods=lambda p: PERIODS)
def _allocation(app: App, params: Params) -> ReportResult:
    from .grading import allocation_priority

    per = _period(app, "allocation", params, PERIODS, "month")
    keys = [c.key for c in _allocation_columns(app, params)]

    def rows():
        for r in allocation_priority(app, per.label):
            yield {k: r.get(k) for k in keys}

    return ReportResult("allocation", _allocation_columns(app, params), rows(), title=f"资源分配优先顺序（{per.label}）")


# ----------------------------------------------------------------------------------------------
# proposals: by category and outcome, savings, the benefit share (manufacturer part 一)

_PROPOSAL_KEYS = ("label", "section", "category", "outcome", "proposals", "overdue", "number", "customer", "name",
                  "saving", "company_share", "customer_share", "benefit_until")


def _proposal_columns(app: App, params: Params) -> list[Column]:
    pr = app.policy.proposals
    cur = app.policy.policy.currency
    return [
        Column("label", "期间"), Column("section", "维度", table_format=_labeller({"category": "按类别", "adopted": "采纳提案"})),
        Column("category", "类别", table_format=_labeller(pr.categories if pr else {})),
        Column("outcome", "结果", table_format=_labeller(_OUTCOMES)), Column("proposals", "提案数", "right"),
        Column("overdue", "超期", "right"), Column("number", "提案编号"), Column("customer", "客户编号"),
        Column("name", "客户名称"), Column("saving", f"降低成本（{cur}）", "right"),
        Column("company_share", "公司分享", "right"), Column("customer_share", "客户分享", "right"),
        Column("benefit_until", "分享截止"),
    ]


def _proposal_periods(policy) -> tuple[str, ...]:
    return PERIODS


@_register("proposals", "Customer proposals by category and outcome, cost savings and the company / customer benefit share.",
           ("proposals",), _proposal_columns, periods=_proposal_periods)
def _proposals(app: App, params: Params) -> ReportResult:
    pr = app.policy.proposals
    per = _period(app, "proposals", params, PERIODS, pr.targets_per or "year")
    lo, hi = _bounds(app, per)
    now = app.now()
    P = Proposal
    outcome = func.coalesce(P.outcome, "open")
    overdue = or_(and_(P.status == "open", P.due_at < now), and_(P.status == "closed", P.closed_at > P.due_at))
    in_period = and_(P.opened_at >= lo, P.opened_at < hi)
    K = _PROPOSAL_KEYS

    def share(saving, pct) -> Decimal | None:
        if saving is None or pct is None:
            return None
        return _money(Decimal(str(saving)) * Decimal(str(pct)) / 100)

    def rows():
        with app.db.read() as s:
            q = (select(P.category, outcome.label("outcome"), func.count(P.id),
                        func.sum(case((overdue, 1), else_=0)), func.sum(P.saving),
                        func.sum(P.saving * P.benefit_company_pct), func.sum(P.saving * P.benefit_customer_pct))
                 .where(in_period).group_by(P.category, outcome))
            got = {(r[0], r[1]): r for r in s.execute(q)}
            order = list(pr.categories) + sorted({c for c, _o in got} - set(pr.categories))
            for cat in order:
                for oc in _OUTCOMES:
                    r = got.get((cat, oc))
                    if r is None:
                        continue
                    yield _row(K, label=per.label, section="category", category=cat, outcome=oc, proposals=_int(r[2]),
                               overdue=_int(r[3]), saving=_money(r[4]),
                               company_share=_money(r[5] / 100) if r[5] is not None else None,
                               customer_share=_money(r[6] / 100) if r[6] is not None else None)
            qa = (select(P.number, Customer.code, Customer.name, P.category, P.saving, P.benefit_company_pct,
                         P.benefit_customer_pct, P.benefit_until)
                  .join(Customer, Customer.id == P.customer_id)
                  .where(in_period, P.outcome == "adopted").order_by(P.opened_at, P.id))
            for r in s.execute(qa.execution_options(yield_per=STREAM)):
                yield _row(K, label=per.label, section="adopted", category=r.category, outcome="adopted", number=r.number,
                           customer=r.code, name=r.name, saving=_money(r.saving),
                           company_share=share(r.saving, r.benefit_company_pct),
                           customer_share=share(r.saving, r.benefit_customer_pct), benefit_until=r.benefit_until)

    b = pr.benefit
    split = f"（公司 {b.company_pct:g}% / 客户 {b.customer_pct:g}%，{b.months} 个月）" if b else ""
    sections = {"category": (f"提案按类别与结果（{per.label}）", ["category", "outcome", "proposals", "overdue", "saving",
                                                           "company_share", "customer_share"]),
                "adopted": (f"采纳提案的效益分享{split}", ["number", "customer", "name", "category", "saving",
                                                      "company_share", "customer_share", "benefit_until"])}
    return ReportResult("proposals", _proposal_columns(app, params), rows(), title="客户提案统计", sections=sections)


# ----------------------------------------------------------------------------------------------
# development: prospects added and admitted per customer manager per period against targets


def _development_columns(app: App, params: Params) -> list[Column]:
    return [
        Column("label", "期间"), Column("manager", "客户经理"), Column("name", "姓名"),
        Column("prospects_target", "开发目标", "right"), Column("prospects_added", "新增潜在客户", "right"),
        Column("prospects_pct", "开发完成率%", "right"), Column("admitted_target", "准入目标", "right"),
        Column("admitted", "准入客户", "right"), Column("admitted_pct", "准入完成率%", "right"),
    ]


def _development_periods(policy) -> tuple[str, ...]:
    return (policy.development.targets_per,) if policy.development is not None else ("quarter",)


@_register("development", "Prospects added and customers admitted per customer manager against the period's targets.",
           ("development",), _development_columns, periods=_development_periods)
def _development(app: App, params: Params) -> ReportResult:
    kind = app.policy.development.targets_per
    per = _period(app, "development", params, (kind,))
    lo, hi = _bounds(app, per)
    chain = list(app.policy.admission.chain) if app.policy.admission else []
    if chain:
        final = and_(Approval.decision == "approve", Approval.step == len(chain))
    else:
        final = Approval.decision == "submit"

    def rows():
        with app.db.read() as s:
            targets = {sid: (p, a) for sid, p, a in s.execute(
                select(DevelopmentTarget.staff_id, DevelopmentTarget.prospects, DevelopmentTarget.admitted)
                .where(DevelopmentTarget.label == per.label))}
            # customers developed (not imported from an older system) in the period, by their keeper
            added = dict(s.execute(select(Customer.owner_id, func.count(Customer.id))
                                   .where(Customer.created_at >= lo, Customer.created_at < hi,
                                          Customer.import_id.is_(None), Customer.owner_id.is_not(None))
                                   .group_by(Customer.owner_id)).all())
            admitted = dict(s.execute(select(Customer.owner_id, func.count(func.distinct(Approval.customer_id)))
                                      .join(Customer, Customer.id == Approval.customer_id)
                                      .where(final, Approval.at >= lo, Approval.at < hi, Customer.owner_id.is_not(None))
                                      .group_by(Customer.owner_id)).all())
            ids = set(targets) | set(added) | set(admitted)
            staff = {i: (login, name) for i, login, name in s.execute(
                select(Staff.id, Staff.login, Staff.name).where(Staff.id.in_(sorted(ids))))} if ids else {}
        for sid in sorted(ids, key=lambda i: staff.get(i, ("", ""))[0]):
            login, name = staff.get(sid, (None, None))
            tp, ta = targets.get(sid, (None, None))
            n_added, n_adm = _int(added.get(sid)), _int(admitted.get(sid))
            yield {"label": per.label, "manager": login, "name": name, "prospects_target": tp,
                   "prospects_added": n_added, "prospects_pct": _pct(n_added, tp), "admitted_target": ta,
                   "admitted": n_adm, "admitted_pct": _pct(n_adm, ta)}

    return ReportResult("development", _development_columns(app, params), rows(), title=f"市场开发计划完成情况（{per.label}）")


# ----------------------------------------------------------------------------------------------
# big-customers: the ranked list with score and level (gas-tiered Art. 8)


def _rank_scales(app: App) -> dict:
    return {c: sc for c, sc in _scales(app).items() if sc.method == "rank"}


def _big_columns(app: App, params: Params) -> list[Column]:
    scales = _rank_scales(app)
    grades: dict[str, str] = {}
    factors: dict[str, str] = {}
    for sc in scales.values():
        grades.update(_grade_labels(sc))
        factors.update({k: f.label for k, f in sc.factors.items()})
    unit = app.policy.policy.volume_unit_label
    g = _labeller(grades)
    return ([Column("scale", "分级", table_format=_labeller({c: sc.label for c, sc in scales.items()})),
             Column("label", "期间"), Column("rank", "名次", "right"), Column("customer", "客户编号"),
             Column("name", "客户名称"), Column("owner", "负责人"), Column("grade", "级别", table_format=g),
             Column("previous", "原级别", table_format=g), Column("score", "综合得分", "right"),
             Column("volume", f"用量（{unit}）", "right"), Column("growth_pct", "增长率%", "right"),
             Column("spread", "单价", "right")]
            + [Column(f"factor_scores.{k}", label, "right") for k, label in factors.items()])


@_register("big-customers", "Big customers ranked by weighted score, with their level, score and factor scores.",
           ("rank_scale",), _big_columns, periods=_scale_periods)
def _big_customers(app: App, params: Params) -> ReportResult:
    scales = _check_scale(app, params.scale, _rank_scales(app))
    chosen = _grade_periods(app, "big-customers", params, scales)
    notes = [_not_graded(c, p) for c, p in chosen.items() if p is None]
    factor_keys = [c.key.split(".", 1)[1] for c in _big_columns(app, params) if c.key.startswith("factor_scores.")]
    owner = aliased(Staff)

    def rows():
        with app.db.read() as s:
            for code, per in chosen.items():
                if per is None:
                    continue
                q = (select(GradeResult.rank, Customer.code, Customer.name, owner.login, GradeResult.grade,
                            GradeResult.previous, GradeResult.score, GradeResult.metrics, GradeResult.factor_scores)
                     .join(Customer, Customer.id == GradeResult.customer_id)
                     .outerjoin(owner, owner.id == Customer.owner_id)
                     .where(GradeResult.scale == code, GradeResult.label == per.label)
                     .order_by(GradeResult.rank.is_(None), GradeResult.rank, Customer.code))
                n = 0
                for r in s.execute(q.execution_options(yield_per=STREAM)):
                    n += 1
                    m = r.metrics or {}
                    fs = r.factor_scores or {}
                    yield {"scale": code, "label": per.label, "rank": r.rank, "customer": r.code, "name": r.name,
                           "owner": r.login, "grade": r.grade, "previous": r.previous, "score": r.score,
                           "volume": m.get("volume"), "growth_pct": m.get("growth_pct"), "spread": m.get("spread"),
                           "factor_scores": {k: fs.get(k) for k in factor_keys}}
                if n == 0:
                    notes.append(_not_graded(code, per))

    return ReportResult("big-customers", _big_columns(app, params), rows(), title="大客户分级排名", notes=notes)


# ----------------------------------------------------------------------------------------------
# crmctl demo: the management summary it ends with


def management_summary(app: App) -> list[str]:
    """A few lines for a manager: customers by status, grade distribution, complaints on time and
    satisfaction, visit compliance, documents expiring.  A handful of aggregate queries."""
    pol = app.policy
    today = app.now().date()
    st = _status_labels(app)
    lines: list[str] = []
    with app.db.read() as s:
        by_status = dict(s.execute(select(Customer.status, func.count()).group_by(Customer.status)).all())
        total = sum(by_status.values())
        parts = [f"{st.get(k, k)} {by_status[k]}" for k in st if by_status.get(k)]
        lines.append(f"customers:  {total} ({', '.join(parts) or 'none'})")
        for code, sc in _scales(app).items():
            counts = dict(s.execute(select(CustomerGrade.grade, func.count()).where(CustomerGrade.scale == code)
                                    .group_by(CustomerGrade.grade)).all())
            dist = ", ".join(f"{g.label} {counts.get(g.code, 0)}" for g in reversed(sc.grades))
            lines.append(f"grades:     {sc.label}: {dist}")
    if pol.stability is not None:
        from .grading import stability_counts

        c = stability_counts(app)
        labels = pol.stability.labels.model_dump()
        lines.append("stability:  " + ", ".join(f"{labels[k]} {v}" for k, v in c.items()))
    month = last_completed("month", today)
    if pol.complaints is not None:
        from .service_desk import complaint_stats

        t = complaint_stats(app, month)["total"]
        row = _complaint_row(month.label, "total", None, t)
        text = (f"complaints: {month.label}: {t['opened']} opened, {t['closed']} closed, on time "
                f"{_fmt_pct(row['on_time_pct'])}, satisfaction {_fmt_pct(t['satisfaction_pct'])}")
        if t["target_pct"] is not None:
            text += f" (target {t['target_pct']:g} %)"
        lines.append(text)
    if FEATURES["cadences"][1](pol):
        rows = iter(run_report(app, "visits", Params(label=month.label)).rows)
        total = next(rows, None)  # the first row is the month's total
        getattr(rows, "close", lambda: None)()
        if total is not None and total["planned"]:
            lines.append(f"visits:     {month.label}: {total['done']} of {total['planned']} planned done "
                         f"({_fmt_pct(total['compliance_pct'])}), {total['missed']} missed")
    if FEATURES["expiring_documents"][1](pol):
        res = run_report(app, "documents", Params())
        expiring = expired = suspended = 0
        for r in res.rows:
            if r["section"] == "suspended":
                suspended += 1
            elif r["expired"]:
                expired += 1
            else:
                expiring += 1
        days = max((d.renew_notice_days or 0 for d in pol.documents.values() if d.expires), default=0) or 30
        lines.append(f"documents:  {expiring} expire within {days} days, {expired} expired; "
                     f"{suspended} customers suspended")
    return lines


def _fmt_pct(v: float | None) -> str:
    return "-" if v is None else f"{v:g} %"


def demo_step(app: App, rng: random.Random) -> Iterator[str]:
    """For ``crmctl demo``: reports write nothing; this yields the management summary (the same lines
    as :func:`management_summary` -- wire in one of the two, not both)."""
    yield from management_summary(app)
