"""Which graded label comes before which: the runs of a scale ordered by their period.

A label's place is :func:`crmctl.rules.grading.period_key` (by end; for the same end the shorter
period first), in Python and -- for the runs table -- in SQL (:func:`before_condition`).
"""

from __future__ import annotations

from sqlalchemy import and_, false, or_, select

from ...models import GradeResult, GradeRun
from ...rules import grading as rules
from ...rules.errors import Invalid
from ...rules.periods import Period, parse_label


def key_of(label: str | None) -> tuple | None:
    """The sort key of a stored label (None for no label, or one that is not a period label)."""
    if not label:
        return None
    try:
        p = parse_label(label)
    except Invalid:
        return None
    return rules.period_key(p.start, p.end)


def label_key(label: str) -> tuple:
    p = parse_label(label)
    return rules.period_key(p.start, p.end)


def before_condition(per: Period, table=GradeRun):
    """SQL: a run of a period that comes before ``per`` (:func:`crmctl.rules.grading.period_key`)."""
    return or_(table.period_end < per.end, and_(table.period_end == per.end, table.period_start > per.start))


def after_condition(per: Period, table=GradeRun):
    """SQL: a run of a period that comes after ``per``."""
    return or_(table.period_end > per.end, and_(table.period_end == per.end, table.period_start < per.start))


def run_labels(session, scale: str | None = None) -> dict[str, list[str]]:
    """Scale -> the labels it was graded for (few rows: grade_run).  Per-customer look-ups of results
    go through the primary key (scale, label, customer_id) with these labels."""
    q = select(GradeRun.scale, GradeRun.label).distinct()
    if scale is not None:
        q = q.where(GradeRun.scale == scale)
    out: dict[str, list[str]] = {}
    for sc, lb in session.execute(q):
        out.setdefault(sc, []).append(lb)
    return out


def customer_results(session, customer_id: int, scale: str | None = None):
    """A SELECT of one customer's results (all scales, or one), by primary key."""
    labels = run_labels(session, scale)
    conds = [and_(GradeResult.scale == sc, GradeResult.label.in_(lbs)) for sc, lbs in labels.items()]
    return select(GradeResult).where(GradeResult.customer_id == customer_id, or_(*conds) if conds else false())


def graded_periods(session, scale: str) -> list[Period]:
    """The periods a scale was graded for (stored runs), oldest first."""
    labels = session.scalars(select(GradeRun.label).where(GradeRun.scale == scale).distinct()).all()
    pers = []
    for lb in labels:
        try:
            pers.append(parse_label(lb))
        except Invalid:
            continue
    pers.sort(key=lambda p: rules.period_key(p.start, p.end))
    return pers


def previous_graded(session, scale: str, per: Period) -> Period | None:
    """The latest period of the same kind graded before ``per``."""
    key = rules.period_key(per.start, per.end)
    earlier = [p for p in graded_periods(session, scale) if p.kind == per.kind and rules.period_key(p.start, p.end) < key]
    return earlier[-1] if earlier else None
