"""Writing a run's results: the label's results (``grade_result``) and the current grades.

Bulk statements only: ``executemany`` through the driver, a re-run rewriting only the rows that
differ (an upsert) and deleting those of customers no longer graded; the current grade written
only where it moves, by primary key (a first grading: one ``INSERT … SELECT`` from the results).
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ...db import bulk_insert, bulk_update, driver_value, marker
from ...models import GradeRun, UTCDateTime
from ...rules.periods import Period
from ..app import App



@dataclass
class Graded:
    """The outcome of one scale, column-wise (lined up with ``ids``, the population's ids)."""

    ids: Sequence[int]
    grades: list[str]
    previous: list[str | None]
    reasons: list[str]
    metrics: Iterable[str]  # JSON text, in the order of ids (a generator: read once, by store_results)
    # a rank scale's; None for a threshold scale (its rows have no factor scores, score or rank)
    factor_scores: list[str | None] | None = None
    scores: list[float | None] | None = None
    ranks: list[int | None] | None = None


@dataclass
class Stored:
    """A label's results before this run, lined up with the population's ids: (grade, previous)
    or None, and the fingerprint of the whole row (:func:`result_fingerprint`); the customers with
    a result who are no longer in the population (``stale``); how many results there are (``n``)."""

    pairs: list[tuple[str, str | None] | None] = field(default_factory=list)
    fps: array = field(default_factory=lambda: array("q"))
    stale: list[int] = field(default_factory=list)
    n: int = 0

    def __bool__(self) -> bool:
        return self.n > 0


def store_results(s, app: App, code: str, per: Period, now: datetime, graded: Graded, current: list,
                  stored: Stored, is_current: bool, changed: int) -> None:
    """Replace the label's results and move the current grades: bulk statements only.  ``current``
    (the current grade and label of each customer) and ``stored`` (the label's results before this
    run: a re-run rewrites only the rows that differ) are lined up with ``graded.ids``."""
    s.add(GradeRun(scale=code, label=per.label, period_start=per.start, period_end=per.end,
                   policy_version=app.policy_version, started_at=now, finished_at=now, actor=app.actor.login,
                   graded=len(graded.ids), changed=changed))
    s.flush()
    conn = s.connection()
    mark = marker(conn)
    version = int(app.policy_version)
    # One row per customer: (customer_id, grade, previous, metrics, reason, factor_scores, score, rank),
    # the same order as the stored rows read by _grade_scale, so that a re-run writes only what moved.
    # Made one at a time as they are written (a million customers' rows are not held at once).
    threshold = graded.scores is None  # five values a row
    if threshold:
        rows = zip(graded.ids, graded.grades, graded.previous, graded.metrics, graded.reasons)
        tail: tuple = (None, None, None, version)  # a stored threshold row's factor scores, score, rank
    else:
        rows = zip(graded.ids, graded.grades, graded.previous, graded.metrics, graded.reasons,
                   graded.factor_scores, graded.scores, graded.ranks)
        tail = (version,)
    if stored:
        pairs, fps = stored.pairs, stored.fps
        rows = (r for pos, r in enumerate(rows)
                if pairs[pos] is None or fps[pos] != result_fingerprint(r[1:] + tail))
        stale = [(cid,) for cid in stored.stale]
        if stale:  # customers no longer graded by this label (left the scale, suspended)
            conn.exec_driver_sql(f"DELETE FROM grade_result WHERE scale = {_lit(code)} AND label = {_lit(per.label)} "
                                 f"AND customer_id = {mark}", stale)
    # scale, label and policy version are the same on every row: written into the statement (they
    # are validated codes), so that each row binds only what differs.
    cols = ("customer_id", "grade", "previous", "metrics", "reason", "factor_scores", "score", "rank")
    if threshold:
        cols = cols[:5]
    suffix = ""
    if stored:
        suffix = ("ON CONFLICT (scale, label, customer_id) DO UPDATE SET policy_version = excluded.policy_version, "
                  + ", ".join(f"{c} = excluded.{c}" for c in cols[1:]))
    bulk_insert(conn, "grade_result", cols, rows, suffix=suffix,
                constants={"scale": _lit(code), "label": _lit(per.label), "policy_version": str(version)})
    # The current grade (core's customer_grade): written only where it changes, by primary key, with
    # the label of the review that set it (a review that confirms a grade leaves grade, label, since).
    if not is_current:
        return
    stamp = driver_value(conn, UTCDateTime(), now)
    sc, lb = _lit(code), _lit(per.label)
    n_fresh = current.count(None)
    if n_fresh and n_fresh == len(current):
        # nobody graded has a grade on the scale yet (a first grading): one INSERT … SELECT from the
        # label's results just written (exactly this run's customers), not a bound row each.  (With
        # some graded before, the NOT EXISTS it would need made PostgreSQL scan the rows it was
        # inserting once per row when its statistics still said the table was empty: 22 s at 73 000.)
        conn.exec_driver_sql(
            "INSERT INTO customer_grade (customer_id, scale, grade, label, since) "
            f"SELECT customer_id, scale, grade, label, {mark} FROM grade_result "
            f"WHERE scale = {sc} AND label = {lb}", (stamp,))
    elif n_fresh:
        fresh = ((cid, g, stamp) for cid, g, cur in zip(graded.ids, graded.grades, current) if cur is None)
        bulk_insert(conn, "customer_grade", ("customer_id", "grade", "since"), fresh, constants={"scale": sc, "label": lb})
    moved = ((g, stamp, cid) for cid, g, cur in zip(graded.ids, graded.grades, current) if cur is not None and cur[0] != g)
    bulk_update(conn, "customer_grade", ("grade", "since"), ("customer_id",), moved, constants={"label": lb},
                where=f"customer_grade.scale = {sc}")


def result_fingerprint(row: tuple) -> int:
    """A stored result (grade, previous, metrics, reason, factor scores, score, rank, policy
    version) as one number: equal rows give equal numbers (1 and 1.0 alike, as ``==``); a
    different row gives the same one with a chance of 2⁻⁶⁴."""
    return hash(row)


_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def _lit(text: str) -> str:
    """A scale code or period label as an SQL string literal (both are validated codes)."""
    if not _SAFE.match(text):
        raise ValueError(f"not a code: {text!r}")
    return f"'{text}'"
