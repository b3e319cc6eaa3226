"""Which customers a policy condition selects: the customers a grading scale covers (``applies_to``)
with the fixed grade that applies to some of them, and the customers a churn warning watches.

Set-based: where the conditions look only at status and segments (every built-in policy), the
distinct (status, segments) combinations -- a few dozen -- are judged by the pure rules once each,
then one scan fetches the ids and owners of the selected ones.  Conditions on custom fields or on
other scales' grades take one streamed query, grouped in Python.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..db import raw
from ..rules import grading as rules
from .aligned import fetched, id_array


@dataclass
class Population:
    """The customers a scale covers: their ids (ascending, a compact array), their owners (a list
    lined up with the ids: ``crmctl.services.aligned``) and the fixed grades of some of them."""

    ids: Sequence[int] = field(default_factory=id_array)
    owners: list[int | None] = field(default_factory=list)
    fixed: dict[int, tuple[str, int]] = field(default_factory=dict)

    def set_sorted(self, pairs: list[tuple[int, int | None]]) -> None:
        pairs.sort()
        self.ids = id_array(p[0] for p in pairs)
        self.owners = [p[1] for p in pairs]


@dataclass
class Watched:
    """A scale-like view of a bare condition (``applies_to`` and no fixed grades), e.g. ``[churn]``."""

    applies_to: Any
    fixed: list = field(default_factory=list)


def _conditions(scale) -> list:
    return [scale.applies_to] + [f.when for f in scale.fixed]


def _customer_groups(session, need_fields: bool, need_grades: bool, statuses: tuple[str, ...]) -> dict:
    """Customers grouped by what conditions look at: (status, segments, fields, grades) -> (ids, owners).

    The general path (conditions on custom fields or on other scales' grades): one streamed query,
    grouped in Python."""
    grades: dict[int, tuple] = {}
    if need_grades:
        by: dict[int, dict[str, str]] = {}
        for cid, sc, g in raw(session, "SELECT customer_id, scale, grade FROM customer_grade").fetchall():
            by.setdefault(cid, {})[sc] = g
        grades = {cid: tuple(sorted(g.items())) for cid, g in by.items()}
    fields = ", CAST(fields AS TEXT)" if need_fields else ", NULL"
    marks = ", ".join("?" * len(statuses))
    groups: dict[tuple, tuple[list, list]] = {}
    cur = raw(session, f"SELECT id, owner_id, status, CAST(segments AS TEXT){fields} FROM customer "
                       f"WHERE status IN ({marks})", *statuses)
    get = groups.get
    for chunk in fetched(cur, 10_000):
        for cid, owner, status, segs, flds in chunk:
            key = (status, segs, flds, grades.get(cid) if need_grades else None)
            grp = get(key)
            if grp is None:
                grp = groups[key] = ([], [])
            grp[0].append(cid)
            grp[1].append(owner)
    return groups


_COMBO = "status || '|' || CAST(segments AS TEXT)"


def covered_customers(session, scale, *, statuses: tuple[str, ...] = ("active",), memo: dict | None = None) -> Population:
    """Customers the scale covers (``applies_to``), with their fixed grade where one applies.

    Conditions on segments and status (every built-in policy): the distinct (status, segments)
    combinations — a few dozen — are read and judged first, then one scan fetches the ids and owners
    of the covered ones.  ``memo`` shares the combinations between the scales of one run."""
    conds = _conditions(scale)
    need_fields = any(c.fields for c in conds)
    need_grades = any(c.grades for c in conds)
    marks = ", ".join("?" * len(statuses))
    pop = Population()
    if need_fields or need_grades:
        pairs: list[tuple[int, int | None]] = []
        mkey = ("customers", need_fields, need_grades, statuses)
        groups = memo.get(mkey) if memo is not None else None
        if groups is None:
            groups = _customer_groups(session, need_fields, need_grades, statuses)
            if memo is not None:
                memo[mkey] = groups
        for (status, seg_text, fld_text, grades), (ids, owners) in groups.items():
            segs = json.loads(seg_text) if seg_text else {}
            flds = json.loads(fld_text) if fld_text else {}
            g = dict(grades or ())
            if not rules.matches(scale.applies_to, segments=segs, fields=flds, grades=g, status=status):
                continue
            pairs.extend(zip(ids, owners))
            fx = rules.fixed_grade(scale, segments=segs, fields=flds, grades=g, status=status)
            if fx is not None:
                pop.fixed.update(dict.fromkeys(ids, fx))
        pop.set_sorted(pairs)
        return pop
    mkey = ("combos", statuses)
    combos = memo.get(mkey) if memo is not None else None
    if combos is None:
        combos = raw(session, f"SELECT DISTINCT status, CAST(segments AS TEXT) FROM customer WHERE status IN ({marks})",
                     *statuses).fetchall()
        if memo is not None:
            memo[mkey] = combos
    covered: list[str] = []
    fixed: dict[tuple[str, int], list[str]] = {}
    for status, seg_text in combos:
        segs = json.loads(seg_text) if seg_text else {}
        if not rules.matches(scale.applies_to, segments=segs, status=status):
            continue
        key = f"{status}|{seg_text}"
        covered.append(key)
        fx = rules.fixed_grade(scale, segments=segs, status=status)
        if fx is not None:
            fixed.setdefault(fx, []).append(key)
    # streamed into the columns (a million (id, owner) tuples are never held); owner ids kept once each
    ids, owners, shared = id_array(), [], {}
    for i in range(0, len(covered), 400):
        part = covered[i:i + 400]
        for rows in fetched(raw(session, f"SELECT id, owner_id FROM customer WHERE status IN ({marks}) "
                                         f"AND {_COMBO} IN ({', '.join('?' * len(part))}) ORDER BY id",
                                *statuses, *part, stream=True)):
            for cid, owner in rows:
                ids.append(cid)
                owners.append(shared.setdefault(owner, owner))
    if len(covered) > 400:  # several ordered scans: put them in one order
        pop.set_sorted(list(zip(ids, owners)))
    else:
        pop.ids, pop.owners = ids, owners
    for fx, keys in fixed.items():
        for i in range(0, len(keys), 400):
            part = keys[i:i + 400]
            found = raw(session, f"SELECT id FROM customer WHERE status IN ({marks}) "
                                 f"AND {_COMBO} IN ({', '.join('?' * len(part))})", *statuses, *part).fetchall()
            pop.fixed.update(dict.fromkeys((r[0] for r in found), fx))
    return pop
