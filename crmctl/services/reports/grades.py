"""Grade reports: the distribution per scale and grade (with the change against the previous label),
every customer that moved, and the ranked big customers (gas-tiered Art. 8)."""

from __future__ import annotations

from ...errors import InvalidInput
from ...fields import fields
from ...i18n import _
from ._common import STREAM, graded_labels, not_graded, pct, rank_scales, scale_periods
from .registry import Params, ReportResult, report


# ----------------------------------------------------------------------------------------------
# grades: counts per scale and grade for a label, with the change against the previous label


def _grades_fields(app, params: Params):
    return fields("scale", "label", "grade", "customers", "share_pct", "previous_label", "previous_customers", "change")


def _grade_counts(s, scale: str, label: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from ...models import GradeResult

    return dict(s.execute(select(GradeResult.grade, func.count()).where(GradeResult.scale == scale,
                                                                        GradeResult.label == label)
                          .group_by(GradeResult.grade)).all())


@report("grades", order=20, columns=_grades_fields, needs=("grading",), periods=scale_periods,
        summary="Customers per scale and grade for a label, with the change against the previous label.",
        description="""
Without --label/--period: the latest label each scale was graded for.
The table view adds a bar chart of the distribution.
""", options=("period", "label", "scale", "chart"))
def grades(app, params: Params) -> ReportResult:
    from ..grading.labels import previous_graded

    scales, chosen, notes = graded_labels(app, "grades", params)

    def rows():
        with app.db.read() as s:
            for code, per in chosen.items():
                counts = _grade_counts(s, code, per.label)
                if not counts:
                    notes.append(not_graded(code, per))
                    continue
                prev = previous_graded(s, code, per)
                before = _grade_counts(s, code, prev.label) if prev else {}
                total = sum(counts.values())
                for g in reversed(scales[code].grade_codes):  # best grade first
                    n = counts.get(g, 0)
                    b = before.get(g, 0) if prev else None
                    yield {"scale": code, "label": per.label, "grade": g, "customers": n,
                           "share_pct": pct(n, total), "previous_label": prev.label if prev else None,
                           "previous_customers": b, "change": (n - b) if b is not None else None}

    return ReportResult("grades", _grades_fields(app, params), rows(), notes=notes, shown={"scales": scales})


def _stored_results(scale: str, per, *columns):
    """A SELECT of a scale's stored results for one label, each with its customer's ``code`` and
    ``name`` and its owner's ``login``."""
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from ...models import Customer, GradeResult, Staff

    owner = aliased(Staff)
    return (select(*columns, Customer.code, Customer.name, owner.login)
            .join(Customer, Customer.id == GradeResult.customer_id)
            .outerjoin(owner, owner.id == Customer.owner_id)
            .where(GradeResult.scale == scale, GradeResult.label == per.label))


# ----------------------------------------------------------------------------------------------
# grade-changes: every customer that moved up or down at a label


def _changes_fields(app, params: Params):
    return fields("scale", "label", "customer", "name", "owner", "previous", "grade", "direction", "volume")


@report("grade-changes", order=30, columns=_changes_fields, needs=("grading",), periods=scale_periods,
        customer_key="customer",
        summary="Every customer that moved up or down at a label, from and to.",
        description="""
Without --label/--period: the latest label each scale was graded for.
""", options=("period", "label", "scale", "direction"))
def grade_changes(app, params: Params) -> ReportResult:
    from ...models import Customer, GradeResult
    from ...rules import grading as grading_rules

    if params.direction not in (None, "up", "down"):
        raise InvalidInput(_("--direction must be up or down, not '{direction}'").format(direction=params.direction))
    scales, chosen, notes = graded_labels(app, "grade-changes", params)

    def rows():
        with app.db.read() as s:
            for code, per in chosen.items():
                codes = scales[code].grade_codes
                q = (_stored_results(code, per, GradeResult.previous, GradeResult.grade, GradeResult.metrics)
                     .where(GradeResult.previous.is_not(None), GradeResult.previous != GradeResult.grade)
                     .order_by(Customer.code))
                for r in s.execute(q.execution_options(yield_per=STREAM)):
                    d = grading_rules.direction(codes, r.previous, r.grade)
                    way = "up" if d > 0 else "down"
                    if params.direction and way != params.direction:
                        continue
                    yield {"scale": code, "label": per.label, "customer": r.code, "name": r.name, "owner": r.login,
                           "previous": r.previous, "grade": r.grade, "direction": way,
                           "volume": (r.metrics or {}).get("volume")}

    return ReportResult("grade-changes", _changes_fields(app, params), rows(), notes=notes, shown={"scales": scales})


# ----------------------------------------------------------------------------------------------
# big-customers: the ranked list with score and level (gas-tiered Art. 8)


def factor_keys(app) -> list[str]:
    """The factors of the policy's rank scales, in order (``factor_scores.*`` columns)."""
    keys: dict[str, None] = {}
    for sc in rank_scales(app).values():
        keys.update(dict.fromkeys(sc.factors))
    return list(keys)


def _big_fields(app, params: Params):
    return (fields("scale", "label", "rank", "customer", "name", "owner", "grade", "previous", "score", "volume",
                   "growth_pct", "spread")
            + fields(*(f"factor_scores.{k}" for k in factor_keys(app))))


@report("big-customers", order=130, columns=_big_fields, needs=("rank_scale",), periods=scale_periods,
        customer_key="customer",
        summary="Big customers ranked by weighted score, with their level, score and factor scores.",
        description="""
The stored result of the rank-graded scale (gas-tiered Art. 8) for a label (default: the latest).
""", options=("period", "label", "scale"))
def big_customers(app, params: Params) -> ReportResult:
    from ...models import Customer, GradeResult

    scales, chosen, notes = graded_labels(app, "big-customers", params, rank_scales(app))
    keys = factor_keys(app)

    def rows():
        with app.db.read() as s:
            for code, per in chosen.items():
                q = (_stored_results(code, per, GradeResult.rank, GradeResult.grade, GradeResult.previous,
                                     GradeResult.score, GradeResult.metrics, GradeResult.factor_scores)
                     .order_by(GradeResult.rank.is_(None), GradeResult.rank, Customer.code))
                n = 0
                for r in s.execute(q.execution_options(yield_per=STREAM)):
                    n += 1
                    m = r.metrics or {}
                    fs = r.factor_scores or {}
                    yield {"scale": code, "label": per.label, "rank": r.rank, "customer": r.code, "name": r.name,
                           "owner": r.login, "grade": r.grade, "previous": r.previous, "score": r.score,
                           "volume": m.get("volume"), "growth_pct": m.get("growth_pct"), "spread": m.get("spread"),
                           "factor_scores": {k: fs.get(k) for k in keys}}
                if n == 0:
                    notes.append(not_graded(code, per))

    return ReportResult("big-customers", _big_fields(app, params), rows(), notes=notes, shown={"scales": scales})
