"""Writing a run's results: the label's results (``grade_result``) and the current grades.

Bulk statements only: ``executemany`` through the driver, a re-run rewriting only the rows that
differ (an upsert) and deleting those of customers no longer graded; the current grade written
only where it moves, by primary key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ...db import bulk_insert, bulk_update, driver_value, marker
from ...models import GradeRun, UTCDateTime
from ...rules.periods import Period
from ..app import App



@dataclass
class Graded:
    """The outcome of one scale, column-wise (parallel to ``ids``)."""

    ids: list[int]
    grades: list[str]
    previous: list[str | None]
    reasons: list[str]
    metrics: Iterable[str]  # JSON text, in the order of ids (a generator: read once, by store_results)
    factor_scores: list[str | None]
    scores: list[float | None]
    ranks: list[int | None]


def store_results(s, app: App, code: str, per: Period, now: datetime, graded: Graded, current: dict,
           stored: dict, is_current: bool, changed: int) -> None:
    """Replace the label's results and move the current grades: bulk statements only.  ``stored``:
    the label's results before this run (a re-run rewrites only the rows that differ)."""
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
    rows = zip(graded.ids, graded.grades, graded.previous, graded.metrics, graded.reasons,
               graded.factor_scores, graded.scores, graded.ranks)
    if stored:
        get = stored.get
        rows = (r for r in rows if (st := get(r[0])) is None or st[2] != result_fingerprint(r[1:] + (version,)))
        graded_now = set(graded.ids)
        stale = [(cid,) for cid in stored if cid not in graded_now]
        if stale:  # customers no longer graded by this label (left the scale, suspended)
            conn.exec_driver_sql(f"DELETE FROM grade_result WHERE scale = {_lit(code)} AND label = {_lit(per.label)} "
                                 f"AND customer_id = {mark}", stale)
    # scale, label and policy version are the same on every row: written into the statement (they
    # are validated codes), so that each row binds only what differs.
    cols = ("customer_id", "grade", "previous", "metrics", "reason", "factor_scores", "score", "rank")
    if not any(x is not None for x in graded.scores):  # threshold: five values a row
        cols = cols[:5]
        rows = (r[:5] for r in rows)
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
    had = current.get
    fresh = ((cid, g, stamp) for cid, g in zip(graded.ids, graded.grades) if had(cid) is None)
    moved = ((g, stamp, cid) for cid, g in zip(graded.ids, graded.grades) if (cur := had(cid)) is not None and cur[0] != g)
    sc, lb = _lit(code), _lit(per.label)
    bulk_insert(conn, "customer_grade", ("customer_id", "grade", "since"), fresh, constants={"scale": sc, "label": lb})
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
