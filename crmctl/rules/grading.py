"""Grading, stability, churn and allocation rules: pure functions over plain values and the policy.

Nothing here reads a database or a clock.  The service (``crmctl.services.grading``) loads the
aggregates, hands them over, and stores what comes back.

Threshold scales
    A metric (volume summed over the period, or the best single calendar month of it) falls in the
    band ``[min, max)`` of one grade (:func:`threshold_band`).

Rank scales
    Each factor is scored 1-10: measured factors (``volume``, ``spread``, ``growth``) through their
    bands, linearly inside a band (:func:`factor_score`); manual factors by ``score set`` or the
    policy's default.  The weighted score is Σ weight % × score (:func:`weighted_score`).  Customers
    are ordered by score, best first, then by the scale's ``tie_break`` metrics; customers without
    usage in the period come after every customer with usage (:func:`rank_grades`).  The top k
    bands together hold no more than their cumulative share of n, rounded down (``band_rounding``),
    at least one customer per band once n ≥ the number of bands (:func:`rank_band_limits`); a group
    still tied across a band edge goes to the lower band (``edge_ties``).

Both
    A ``fixed`` rule (first match) gives its grade outright.  Otherwise the step limit moves a
    customer at most ``step_limit`` grades from the grade it had *before this label*
    (:func:`limit_steps`), so grading the same label twice gives the same answer.
"""

from __future__ import annotations

import math
import re
import statistics
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from dateutil.relativedelta import relativedelta

from ..errors import Joined, Msg  # noqa: F401 - Joined: part of this module's reasons
from .conditions import matches as _plain_matches
from .errors import Invalid, Refused
from .typed import read_number

MAX_QTY = 1e12  # anything larger is a typing mistake, not a purchase
SCORE_DIGITS = 4  # weighted scores are compared (ties) and stored rounded to this many decimals
VOLUME_DIGITS = 4  # volumes are summed and compared with band edges rounded to this many decimals
STABILITIES = ("existing", "lost", "potential")
#: statuses of customers not admitted yet: potential customers whatever they bought (fuel-retail Art. 6)
NOT_YET_CUSTOMERS = ("prospect", "pending")


def matches(cond: Any, **customer: Any) -> bool:
    """A policy condition against a customer (the policy model's own rule when it has one)."""
    if cond is None:
        return True
    own = getattr(cond, "matches", None)
    if own is not None:
        return own(**customer)
    return _plain_matches(cond, **customer)


# --------------------------------------------------------------------------------------------------
# Reading numbers users type


def parse_quantity(text: Any, what: str = "qty", *, allow_zero: bool = True, maximum: float = MAX_QTY) -> float:
    """A finite, non-negative number as typed (``1.5``, ``2000``, ``1,200.5``, ``1.2万``, full-width
    ``１２００．５``: :func:`crmctl.rules.typed.read_number`); Invalid naming ``what`` otherwise."""
    if isinstance(text, bool):
        raise Invalid(Msg("{what} '{text}' is not a number", what=what, text=text))
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        value = float(read_number(text, what))
    if value != value or value in (math.inf, -math.inf):
        raise Invalid(Msg("{what} '{text}' is not a finite number", what=what, text=text))
    if value < 0:
        raise Invalid(Msg("{what} {text} is negative", what=what, text=text))
    if value == 0 and not allow_zero:
        raise Invalid(Msg("{what} must be above 0", what=what))
    if value > maximum:
        raise Invalid(Msg("{what} {text} is implausibly large (more than {maximum})", what=what, text=text,
                          maximum=f"{maximum:g}"))
    return value


def round_volume(value: float) -> float:
    """A volume (a sum of usage records) as the rules compare it: ``VOLUME_DIGITS`` decimals, so that
    1999.9999999997 is 2000, a band edge."""
    return round(value, VOLUME_DIGITS)


def round_volume_sql(expr: str, dialect: str) -> str:
    """:func:`round_volume` in SQL, giving a float on SQLite and PostgreSQL alike."""
    if dialect == "sqlite":
        return f"ROUND({expr}, {VOLUME_DIGITS})"
    return f"CAST(ROUND(CAST({expr} AS NUMERIC), {VOLUME_DIGITS}) AS DOUBLE PRECISION)"


def parse_factor_value(text: str, factor: str) -> int:
    """A manual factor score: a whole number 1-10."""
    s = (text or "").strip()
    try:
        value = int(s)
    except ValueError:
        raise Invalid(Msg("factor {factor}: '{text}' is not a whole number from 1 to 10", factor=factor,
                          text=text)) from None
    if not 1 <= value <= 10:
        raise Invalid(Msg("factor {factor}: {value} is outside 1-10", factor=factor, value=value))
    return value


# --------------------------------------------------------------------------------------------------
# Threshold bands


def threshold_band(bands: Sequence[Any], value: float) -> int:
    """Index of the band ``[min, max)`` holding ``value`` (below the first min: the first band)."""
    mins = [b.min for b in bands]
    return max(bisect_right(mins, value) - 1, 0)


class ThresholdIndex:
    """``threshold_band`` for many values: the band minimums computed once."""

    def __init__(self, bands: Sequence[Any]):
        self.bands = list(bands)
        self.mins = [b.min for b in self.bands]
        self.grades = [b.grade for b in self.bands]

    def grade(self, value: float) -> str:
        i = bisect_right(self.mins, value) - 1
        return self.grades[i if i > 0 else 0]


def describe_band(band: Any, unit: str = "") -> Msg:
    """``[2000, 3000) t``: the band's edges and the unit (a code: ``{unit}`` of the message)."""
    hi = "∞" if band.max is None else _num(band.max)
    if unit:
        return Msg("[{min}, {max}) {unit}", min=_num(band.min), max=hi, unit=unit)
    return Msg("[{min}, {max})", min=_num(band.min), max=hi)


# --------------------------------------------------------------------------------------------------
# Factor scores and the weighted score


def factor_score(bands: Sequence[Any], value: float | None, default: int | None = None) -> tuple[float, bool]:
    """(score 1-10, whether the default was used) of a measured factor.

    Inside ``[min, max)`` the score runs linearly from ``score_min`` to ``score_max``; below the first
    band it is the first ``score_min``; from the last ``max`` up the last ``score_max``.  A value that
    cannot be computed (``None``) scores ``default``, or the lowest score when there is no default.
    """
    if value is None:
        if default is not None:
            return float(default), True
        return float(bands[0].score_min), True
    first = bands[0]
    if value < first.min:
        return float(first.score_min), False
    for b in bands:
        if b.max is None or value < b.max:
            if b.max is None or b.score_min == b.score_max:
                return float(b.score_min), False
            frac = (value - b.min) / (b.max - b.min)
            return round(b.score_min + frac * (b.score_max - b.score_min), SCORE_DIGITS), False
    return float(bands[-1].score_max), False


def weighted_score(scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Σ weight % × score over the factors, rounded to ``SCORE_DIGITS`` decimals."""
    return round(sum(weights[k] * scores[k] for k in weights) / 100.0, SCORE_DIGITS)


def growth_pct(this: float, last: float | None) -> float | None:
    """(this − last) / last × 100; None when last is 0 or unknown (cannot be computed)."""
    if not last:
        return None
    return round((this - last) / last * 100.0, 2)


def unit_price(amount: float | None, qty: float | None) -> float | None:
    """Average unit price = amount / qty over the records that carry an amount; None without any."""
    if amount is None or not qty:
        return None
    return round(amount / qty, 4)


# --------------------------------------------------------------------------------------------------
# Ranking


def _rounded(exact: Fraction, rounding: str) -> int:
    """A band's cumulative share of n as a count of customers (``down`` or ``up``)."""
    return math.floor(exact) if rounding == "down" else math.ceil(exact)


def rank_band_limits(shares: Sequence[float], n: int, rounding: str = "down", at_least_one: bool = True) -> list[int]:
    """Cumulative position limits: the top k+1 bands together hold positions ``1 … limits[k]``.

    ``limits[k]`` is ``Σ shares[:k+1] × n / 100`` rounded ``down`` (no band, counted from the top,
    holds more than its share: gas-tiered Art. 8 前10% / 11%-40% / 后60%) or ``up``; the last band
    takes the rest (``limits[-1] == n``).  With ``at_least_one`` and n ≥ the number of bands, every
    band holds at least one position.  Computed exactly (10 % of 40 is 4, never 4.000000001).
    """
    limits = []
    total = Fraction(0)
    for s in shares:
        total += Fraction(str(s))
        limits.append(min(n, _rounded(total * n / 100, rounding)))
    if not limits:
        return limits
    limits[-1] = n
    bands = len(limits)
    if at_least_one and n >= bands:
        prev = 0
        for k in range(bands - 1):
            limits[k] = min(max(limits[k], prev + 1), n - (bands - 1 - k))
            prev = limits[k]
    return limits


def rank_band(limits: Sequence[int], rank: int) -> int:
    """Index of the first band whose limit is ≥ rank."""
    for k, lim in enumerate(limits):
        if rank <= lim:
            return k
    return len(limits) - 1


@dataclass(frozen=True, slots=True)
class Placed:
    """Where one ranked customer lands: its rank (equal keys share the best), its band, and the
    positions ``first … last`` its tie group occupies."""

    rank: int
    band: int
    first: int
    last: int
    has_data: bool


def rank_order_key(score: float, tie_values: Sequence[float | None] = (), has_data: bool = True) -> tuple:
    """Sort key, best first: customers with data before those without, then the score, then each
    tie-break value (higher first, unknown last)."""
    return (not has_data, -round(score, SCORE_DIGITS),
            *((v is None, -(v or 0.0)) for v in tie_values))


def rank_grades(scores: Sequence[float], bands: Sequence[Any], *, tie_values: Sequence[Sequence[float | None]] | None = None,
                has_data: Sequence[bool] | None = None, rounding: str = "down", at_least_one: bool = True,
                edge_ties: str = "lower") -> list[Placed]:
    """Place each customer in a band by rank.

    Customers are ordered by :func:`rank_order_key`; those equal on every key form a tie group and
    share its best rank.  A group wholly inside the top k+1 bands' positions (``limits[k]``) is in
    band k at the latest; a group across a band edge goes to the band below it (``edge_ties =
    "lower"``, which keeps every cumulative share) or the band above (``"upper"``).
    """
    n = len(scores)
    ties = tie_values or [()] * n
    data = has_data or [True] * n
    keys = [rank_order_key(scores[i], ties[i], data[i]) for i in range(n)]
    order = sorted(range(n), key=lambda i: keys[i])
    limits = rank_band_limits([b.share for b in bands], n, rounding, at_least_one)
    placed: list[Placed | None] = [None] * n
    pos = 0
    while pos < n:
        end = pos
        while end + 1 < n and keys[order[end + 1]] == keys[order[pos]]:
            end += 1
        first, last = pos + 1, end + 1
        band = rank_band(limits, last if edge_ties == "lower" else first)
        for j in range(pos, end + 1):
            i = order[j]
            placed[i] = Placed(first, band, first, last, data[i])
        pos = end + 1
    return placed  # type: ignore[return-value]


def rank_reason(scale: Any, placed: Placed, n: int, limits: Sequence[int], score: float) -> Msg:
    """The explanation of one rank placement: the rank, the band's limit and how it was rounded."""
    k = placed.band
    band = scale.bands[k]
    cum = sum(Fraction(str(b.share)) for b in scale.bands[:k + 1])
    if k == len(scale.bands) - 1:
        how = Msg("the rest")
    else:
        exact = cum * n / 100
        figures = dict(cum=_num(float(cum)), n=n, exact=_num(float(exact)))
        how = (Msg("{cum}% × {n} = {exact}, rounded down", **figures) if scale.band_rounding == "down"
               else Msg("{cum}% × {n} = {exact}, rounded up", **figures))
        if limits[k] != _rounded(exact, scale.band_rounding):
            how = Msg("{how} → {limit}: at least one customer per band", how=how, limit=limits[k])
    parts = [Msg("score {score}, rank {rank} of {n}: band {grade} holds ranks ≤ {limit} ({how})", score=_num(score),
                 rank=placed.rank, n=n, grade=band.grade, limit=limits[k], how=how)]
    if placed.last > placed.first:
        edge = next((lim for lim in limits[:-1] if placed.first <= lim < placed.last), None)
        if edge is not None:
            tie = dict(first=placed.first, last=placed.last, edge=edge)
            parts.append(Msg("tied at ranks {first}-{last} across the edge at {edge}: placed in the lower band "
                             "(edge_ties)", **tie) if scale.edge_ties == "lower" else
                         Msg("tied at ranks {first}-{last} across the edge at {edge}: placed in the upper band "
                             "(edge_ties)", **tie))
    if not placed.has_data:
        parts.append(Msg("no usage recorded in the period: ranked after every customer with usage"))
    return reason_of(parts)


# --------------------------------------------------------------------------------------------------
# Reasons: messages the service shows in the user's language


REASON_SEP = Msg("; ")  # between the parts of a reason
LIST_SEP = Msg(", ")  # between the items of a list inside a reason


def reason_of(parts: Sequence[str]) -> Msg:
    """One reason from its parts (one part: itself)."""
    parts = [p for p in parts if p]
    return parts[0] if len(parts) == 1 and isinstance(parts[0], Msg) else Joined(parts, REASON_SEP)


def relabel(message: Any, show: Callable[[str, Any], Any]) -> Any:
    """``message`` with each argument replaced by ``show(name, value)`` (nested messages too): how the
    service puts a grade's label in place of its code (``grade``, ``base``), the unit's label in place
    of ``t`` (``unit``), a factor's label (``factor``), in the user's language.  Pure: ``show`` decides."""
    if isinstance(message, Joined):
        return Joined([relabel(p, show) for p in message.parts], message.sep)
    if isinstance(message, Msg):
        if not message.params:
            return message
        return type(message)(message.msgid, **{k: relabel(v, show) if isinstance(v, Msg) else show(k, v)
                                               for k, v in message.params.items()})
    return message


#: names of a reason's arguments that are grade codes
GRADE_PARAMS = ("grade", "base")

# The parts a stored reason text is made of (rank results store the whole English text), each read back
# into its message by :func:`reason_from_text`; nested arguments (``how``, ``band``, ``factors``) in turn.
_PARTS = (
    "best month {value} in {band} → {grade}",
    "volume {value} in {band} → {grade}",
    "fixed grade {grade} (fixed[{rule}] of the policy)",
    "not ranked",
    "step limit {limit} from {base} → {grade}",
    "score {score}, rank {rank} of {n}: band {grade} holds ranks ≤ {limit} ({how})",
    "tied at ranks {first}-{last} across the edge at {edge}: placed in the lower band (edge_ties)",
    "tied at ranks {first}-{last} across the edge at {edge}: placed in the upper band (edge_ties)",
    "no usage recorded in the period: ranked after every customer with usage",
    "default score for {factors}",
)
_NESTED = {
    "how": ("the rest", "{how} → {limit}: at least one customer per band", "{cum}% × {n} = {exact}, rounded down",
            "{cum}% × {n} = {exact}, rounded up"),
    "band": ("[{min}, {max}) {unit}", "[{min}, {max})"),
    "factor_item": ("{factor} (never scored)", "{factor} (cannot be computed)"),
}


def _template(msgid: str) -> re.Pattern:
    out, pos = [], 0
    for m in re.finditer(r"\{(\w+)\}", msgid):
        out.append(re.escape(msgid[pos:m.start()]))
        out.append(f"(?P<{m.group(1)}>.+?)")
        pos = m.end()
    out.append(re.escape(msgid[pos:]))
    return re.compile("".join(out), re.S)


_TEMPLATES: dict[str, list[tuple[str, re.Pattern]]] = {
    key: [(t, _template(t)) for t in ts] for key, ts in {"part": _PARTS, **_NESTED}.items()}


def _read(text: str, kind: str, depth: int = 0) -> Msg | None:
    for msgid, pattern in _TEMPLATES[kind]:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        params: dict[str, Any] = {}
        for name, value in m.groupdict().items():
            if name in ("how", "band") and depth < 3:
                params[name] = _read(value, name, depth + 1) or value
            elif name == "factors":
                items = [_read(v, "factor_item") or v for v in value.split(", ")]
                params[name] = Joined(items, LIST_SEP)
            else:
                params[name] = value
        found = Msg.__new__(Msg, msgid, **params)  # (a template of _PARTS: each is in the catalogue)
        if found == text:
            return found
    return None


def reason_from_text(text: str | None) -> str | None:
    """A stored reason read back into its message (so that it can be shown in the user's language); a
    text in no known form stays as it is."""
    if not text or isinstance(text, Msg):
        return text
    parts = [_read(p, "part") for p in text.split("; ")]
    if any(p is None for p in parts):
        return text
    found = reason_of(parts)
    return found if found == text else text


# --------------------------------------------------------------------------------------------------
# Step limit and fixed grades


def limit_steps(grade_codes: Sequence[str], previous: str | None, computed: str, step_limit: int | None) -> str:
    """``computed``, moved at most ``step_limit`` grades away from ``previous`` (None: no limit)."""
    if not step_limit or previous is None or previous not in grade_codes:
        return computed
    a, b = grade_codes.index(previous), grade_codes.index(computed)
    if abs(b - a) <= step_limit:
        return computed
    return grade_codes[a + step_limit if b > a else a - step_limit]


def fixed_grade(scale: Any, *, segments: Mapping | None = None, fields: Mapping | None = None,
                grades: Mapping | None = None, status: str | None = None) -> tuple[str, int] | None:
    """(grade, rule index) of the first ``fixed`` rule that matches, or None."""
    for i, rule in enumerate(getattr(scale, "fixed", None) or []):
        if matches(rule.when, segments=segments, fields=fields, grades=grades, status=status):
            return rule.grade, i
    return None


def direction(grade_codes: Sequence[str], before: str | None, after: str) -> int:
    """+1 up, -1 down, 0 unchanged (a grade outside the scale counts as the lowest)."""
    if before == after:
        return 0
    a = grade_codes.index(before) if before in grade_codes else -1
    b = grade_codes.index(after) if after in grade_codes else -1
    return (b > a) - (b < a)


# --------------------------------------------------------------------------------------------------
# Grading a whole scale


@dataclass(slots=True)
class Candidate:
    """One customer to grade, with what the service measured."""

    key: int
    baseline: str | None = None  # the grade before this label (step limit)
    fixed: tuple[str, int] | None = None  # from fixed_grade()
    volume: float = 0.0  # the threshold metric, or the rank scale's period volume
    total: float | None = None  # period sum when the metric is the best month
    priced_qty: float | None = None  # qty of the records that carry an amount
    amount: float | None = None
    last_volume: float | None = None  # same period a year before (growth)
    manual: dict[str, int] | None = None  # manual factor scores that were set
    manual_labels: dict[str, str] | None = None  # the label each manual score was set for


@dataclass(slots=True)
class Outcome:
    key: int
    grade: str
    computed: str  # before the step limit
    previous: str | None
    metrics: dict
    factor_scores: dict | None
    score: float | None
    rank: int | None
    reason: str


def grade_threshold_many(scale: Any, values: Sequence[float], baselines: Sequence[str | None],
                         fixed: Sequence[tuple[str, int] | None] | None = None
                         ) -> tuple[list[str], list[str], list[str | None]]:
    """(computed grades, grades, notes) of a threshold scale for parallel lists of customers.

    ``values``: the metric (volume, or the best month's volume); ``baselines``: the grade before this
    label (step limit); ``fixed``: each customer's fixed rule from :func:`fixed_grade`, or None.
    A :class:`GradeNote` says what the band alone does not (a step limit, a fixed grade); None when
    the band says it all — :func:`threshold_reason` writes the whole sentence.  Column-wise on
    purpose: cron grades a hundred thousand customers with it.
    """
    mins = [b.min for b in scale.bands]
    band_grades = [b.grade for b in scale.bands]
    codes = scale.grade_codes
    limit = scale.step_limit
    computed = [band_grades[i if i > 0 else 0] for i in [bisect_right(mins, v) - 1 for v in values]]
    grades = list(computed)
    notes: list[GradeNote | None] = [None] * len(grades)
    if limit or fixed:
        for j, base in enumerate(baselines):
            fx = fixed[j] if fixed else None
            if fx is not None:
                grades[j] = computed[j] = fx[0]
                notes[j] = GradeNote.fixed_rule(fx[0], fx[1])
            elif limit and base is not None and base != grades[j]:
                g = limit_steps(codes, base, grades[j], limit)
                if g != grades[j]:
                    notes[j] = GradeNote.step_limit(limit, base, g)
                    grades[j] = g
    return computed, grades, notes


@dataclass(frozen=True)
class GradeNote:
    """What a threshold grade's band does not say by itself: a fixed grade (``fixed[i]`` of the
    policy: the band does not apply) or a step limit (the band's grade was not reached).

    A threshold result stores only its note (:meth:`text`); :func:`threshold_reason` completes the
    sentence from the stored metric, reading the note back with :meth:`from_text`."""

    kind: str  # "fixed" | "step" | "other" (a stored text in no known form: shown as it is)
    grade: str = ""
    rule: int | None = None  # fixed: the index of the policy's fixed rule
    limit: int | None = None  # step: the policy's step limit
    base: str | None = None  # step: the grade before this label
    raw: str | None = None  # other: the stored text

    @classmethod
    def fixed_rule(cls, grade: str, rule: int) -> "GradeNote":
        return cls("fixed", grade, rule=rule)

    @classmethod
    def step_limit(cls, limit: int, base: str, grade: str) -> "GradeNote":
        return cls("step", grade, limit=limit, base=base)

    @property
    def replaces_band(self) -> bool:
        """A fixed grade is the whole reason; other notes are said after the band."""
        return self.kind == "fixed"

    def message(self) -> str:
        """The note as a message (a stored text in no known form: that text)."""
        if self.kind == "fixed":
            return Msg("fixed grade {grade} (fixed[{rule}] of the policy)", grade=self.grade, rule=self.rule)
        if self.kind == "step":
            return Msg("step limit {limit} from {base} → {grade}", limit=self.limit, base=self.base, grade=self.grade)
        return self.raw or ""

    def text(self) -> str:
        """The note as stored: its English text."""
        return str(self.message())

    @classmethod
    def from_text(cls, text: str | None) -> "GradeNote | None":
        """The note of a stored result (None for none)."""
        if not text:
            return None
        m = _FIXED_NOTE.fullmatch(text)
        if m:
            return cls.fixed_rule(m.group(1), int(m.group(2)))
        m = _STEP_NOTE.fullmatch(text)
        if m:
            return cls.step_limit(int(m.group(1)), m.group(2), m.group(3))
        return cls("other", raw=text)


_FIXED_NOTE = re.compile(r"fixed grade (\S+) \(fixed\[(\d+)\] of the policy\)")
_STEP_NOTE = re.compile(r"step limit (\d+) from (\S+) → (\S+)")


def threshold_reason(scale: Any, value: float, note: GradeNote | str | None = None, unit: str = "") -> Msg:
    """Why a threshold grade: ``best month 3500 in [3000, ∞) t → star3; step limit 1 from auction → ordinary``
    (a :class:`Msg`: the English text, shown translated).

    ``note``: the result's :class:`GradeNote`, or its stored text."""
    if isinstance(note, str) or note is None:
        note = GradeNote.from_text(note)
    if note is not None and note.replaces_band:
        return reason_of([note.message()])
    band = scale.bands[threshold_band(scale.bands, value)]
    found = dict(value=_num(value), band=describe_band(band, unit), grade=band.grade)
    if getattr(scale, "aggregate", "sum") == "max_month":
        text = Msg("best month {value} in {band} → {grade}", **found)
    else:
        text = Msg("volume {value} in {band} → {grade}", **found)
    return reason_of([text, note.message()]) if note is not None else text


def grade_threshold(scale: Any, candidates: Sequence[Candidate], unit: str = "") -> list[Outcome]:
    """:func:`grade_threshold_many` for candidate objects."""
    best_month = getattr(scale, "aggregate", "sum") == "max_month"
    computed, grades, notes = grade_threshold_many(
        scale, [c.volume for c in candidates], [c.baseline for c in candidates], [c.fixed for c in candidates])
    out = []
    for c, comp, g, note in zip(candidates, computed, grades, notes):
        metrics = {"volume": c.volume}
        if best_month:
            metrics["total"] = c.total if c.total is not None else c.volume
        out.append(Outcome(c.key, g, comp, c.baseline, metrics, None, None, None,
                           threshold_reason(scale, c.volume, note, unit)))
    return out


def purchase_price(scale: Any, label: str | None) -> float | None:
    """The purchase price per unit the ``spread`` factor subtracts for period ``label`` (None: the
    scale has no spread factor with purchase prices); a missing label is refused."""
    for code, f in scale.factors.items():
        prices = getattr(f, "purchase_prices", None)
        if f.source == "spread" and prices:
            if label not in prices:
                raise Refused(Msg("no purchase price for {label}: add it to [grading.scales.<scale>.factors.{code}] "
                                  "purchase_prices (has {labels})", label=label, code=code,
                                  labels=", ".join(sorted(prices))))
            return float(prices[label])
    return None


def price_spread(selling: float | None, purchase: float | None) -> float | None:
    """购销价差 (gas-tiered Art. 8): the selling price minus the purchase price per unit; without a
    purchase price, the selling price itself."""
    if selling is None:
        return None
    return selling if purchase is None else round(selling - purchase, 4)


def grade_rank(scale: Any, candidates: Sequence[Candidate], purchase: float | None = None) -> list[Outcome]:
    """Grade every candidate on a rank scale (weighted score, ranked, bands by share)."""
    return list(rank_outcomes(scale, candidates, purchase))


def rank_outcomes(scale: Any, candidates: Sequence[Candidate], purchase: float | None = None) -> Iterator[Outcome]:
    """:func:`grade_rank` one outcome at a time: the fixed-grade candidates first, then the ranked
    ones in the candidates' order.  Ranking needs every score first; the outcomes (each with its
    reason, a tree of messages of a few kilobytes) are made as they are asked for, so a caller that
    keeps only the text it stores never holds them all (48 000 ranked customers: 310 MB of reasons)."""
    codes = scale.grade_codes
    factors = scale.factors
    weights = {k: f.weight for k, f in factors.items()}
    fixed_out: list[Outcome] = []
    computed_rows = []
    for c in candidates:
        growth = growth_pct(c.volume, c.last_volume)
        selling = unit_price(c.amount, c.priced_qty)
        spread = price_spread(selling, purchase)
        metrics: dict[str, Any] = {"volume": c.volume, "growth_pct": growth, "spread": spread}
        if purchase is not None:
            metrics["selling_price"] = selling
            metrics["purchase_price"] = purchase
        if c.fixed is not None:
            g = c.fixed[0]
            fixed_out.append(Outcome(c.key, g, g, c.baseline, metrics, None, None, None, reason_of(
                [GradeNote.fixed_rule(g, c.fixed[1]).message(), Msg("not ranked")])))
            continue
        scores: dict[str, float] = {}
        defaulted: list[str] = []
        manual: dict[str, int | None] = {}
        for code, f in factors.items():
            if f.source == "manual":
                v = (c.manual or {}).get(code)
                manual[code] = v
                if v is None:
                    scores[code] = float(f.default_score)
                    defaulted.append(code)
                else:
                    scores[code] = float(v)
                continue
            value = c.volume if f.source == "volume" else spread if f.source == "spread" else growth
            s, used_default = factor_score(f.bands, value, f.default_score)
            scores[code] = s
            if used_default:
                defaulted.append(code)
        if manual:
            metrics["manual"] = manual
        if defaulted:
            metrics["defaulted"] = defaulted
        computed_rows.append((c, metrics, scores, weighted_score(scores, weights), defaulted))
    tie_values = [[_tie_value(m, metric) for metric in scale.tie_break] for _c, m, *_rest in computed_rows]
    has_data = [bool(c.volume) for c, *_rest in computed_rows]
    placed = rank_grades([row[3] for row in computed_rows], scale.bands, tie_values=tie_values, has_data=has_data,
                         rounding=scale.band_rounding, at_least_one=scale.at_least_one, edge_ties=scale.edge_ties)
    n = len(computed_rows)
    limits = rank_band_limits([b.share for b in scale.bands], n, scale.band_rounding, scale.at_least_one)
    yield from fixed_out
    for (c, metrics, scores, total, defaulted), p in zip(computed_rows, placed):
        computed = scale.bands[p.band].grade
        grade = limit_steps(codes, c.baseline, computed, scale.step_limit)
        ranked_reason = rank_reason(scale, p, n, limits, total)
        parts = list(ranked_reason.parts) if isinstance(ranked_reason, Joined) else [ranked_reason]
        if grade != computed:
            parts.append(GradeNote.step_limit(scale.step_limit, c.baseline, grade).message())
        if defaulted:  # (the notes first: Babel's extractor does not look inside a marked call's arguments)
            notes = [Msg("{factor} (never scored)", factor=d) if factors[d].source == "manual"
                     else Msg("{factor} (cannot be computed)", factor=d) for d in defaulted]
            parts.append(Msg("default score for {factors}", factors=Joined(notes, LIST_SEP)))
        yield Outcome(c.key, grade, computed, c.baseline, metrics, scores, total, p.rank, reason_of(parts))


#: tie-break metric -> the key of the measured value in an outcome's metrics
TIE_METRICS = {"volume": "volume", "spread": "spread", "growth": "growth_pct"}


def _tie_value(metrics: Mapping[str, Any], metric: str) -> float | None:
    return metrics.get(TIE_METRICS[metric])


def grade_scale(scale: Any, candidates: Sequence[Candidate], unit: str = "", label: str | None = None) -> list[Outcome]:
    """Grade every candidate on one scale (threshold or rank)."""
    if scale.method == "rank":
        return grade_rank(scale, candidates, purchase_price(scale, label))
    return grade_threshold(scale, candidates, unit)


# --------------------------------------------------------------------------------------------------
# Periods: which result came before which


def period_key(start: date, end: date) -> tuple[date, int]:
    """Sort key of a graded period: by end; for the same end the shorter (later start) first.

    So a December month review comes before the Q4 review, which comes before the year review.
    """
    return (end, -start.toordinal())


# --------------------------------------------------------------------------------------------------
# Stability (fuel-retail Art. 6) and churn


def lost_cutoff(today: date, lost_after_months: int) -> date:
    """A customer whose last purchase is before this day has bought nothing for the whole span."""
    return today - relativedelta(months=lost_after_months)


def stability(status: str | None, last_purchase: date | None, today: date, lost_after_months: int = 1) -> str:
    """existing / lost / potential.

    * potential: a prospect or pending customer, or one that never bought anything;
    * lost: bought before, but nothing for ``lost_after_months`` full months (dateutil months:
      last purchase before today − N months);
    * existing: otherwise.
    """
    return stability_classifier(today, lost_after_months)(status, last_purchase)


def stability_classifier(today: date, lost_after_months: int = 1) -> Callable[[str | None, date | None], str]:
    """:func:`stability` for many customers on one day: the cut-off is worked out once."""
    cutoff = lost_cutoff(today, lost_after_months)

    def classify(status: str | None, last_purchase: date | None) -> str:
        if status in NOT_YET_CUSTOMERS or last_purchase is None:
            return "potential"
        return "lost" if last_purchase < cutoff else "existing"

    return classify


def stability_sql(which: str, status, last_purchase, cutoff: date):
    """:func:`stability_classifier` as an SQL condition on a status column and a last-purchase column:
    the customers whose stability is ``which``."""
    from sqlalchemy import and_, or_

    not_yet = status.in_(NOT_YET_CUSTOMERS)
    if which == "potential":
        return or_(not_yet, last_purchase.is_(None))
    if which == "lost":
        return and_(~not_yet, last_purchase.is_not(None), last_purchase < cutoff)
    return and_(~not_yet, last_purchase >= cutoff)


def drop_pct(this: float, base: float | None) -> float | None:
    """How far ``this`` fell below ``base``, in percent (negative = growth); None without a base."""
    if not base:
        return None
    return round((base - this) / base * 100.0, 2)


def churn_warning(this: float, base: float | None, warn_drop_pct: float) -> bool:
    """True when usage fell by at least ``warn_drop_pct`` % against the base period."""
    d = drop_pct(this, base)
    return d is not None and d >= warn_drop_pct


# --------------------------------------------------------------------------------------------------
# Allocation priority (petrochem Art. 10)


def completion_rate(actual: float, planned: float | None) -> float | None:
    """actual / planned × 100 (percent); None without a plan."""
    if not planned:
        return None
    return round(actual / planned * 100.0, 2)


def week_index(day: date, start: date) -> int:
    return (day - start).days // 7


def weekly_volumes(daily: Mapping[date, float], start: date, end: date) -> list[float]:
    """Volume of each 7-day block from ``start`` (exclusive ``end``); a short last block is pro-rated
    to 7 days so that it compares with the others.  Weeks without volume count as 0."""
    days = (end - start).days
    if days <= 0:
        return []
    n = -(-days // 7)
    weeks = [0.0] * n
    for d, q in daily.items():
        if start <= d < end:
            weeks[(d - start).days // 7] += q
    tail = days - (n - 1) * 7
    if tail < 7 and n > 1:
        weeks[-1] = weeks[-1] * 7 / tail
    return weeks


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    """Population standard deviation / mean (0 = perfectly even); None when the mean is 0."""
    if not values:
        return None
    mean = sum(values) / len(values)
    if mean <= 0:
        return None
    return round(statistics.pstdev(values) / mean, 4)


def allocation_order(rows: Sequence[Mapping[str, Any]], priority: Sequence[str], by_completion: Iterable[str],
                     by_evenness: Iterable[str]) -> list[Mapping[str, Any]]:
    """Rows (``group``, ``completion_pct``, ``weekly_cv``, ``actual``, ``customer``) in allocation order.

    Groups follow ``priority``.  Inside a group listed in ``by_completion`` the higher completion
    comes first; inside one listed in ``by_evenness`` the lower weekly CV (more even) comes first —
    after completion when both apply.  Unknown values go last; ties by volume, then customer code.
    """
    pos = {g: i for i, g in enumerate(priority)}
    comp, even = set(by_completion), set(by_evenness)
    big = float("inf")

    def key(r):
        g = r["group"]
        c = r.get("completion_pct")
        v = r.get("weekly_cv")
        return (pos.get(g, len(pos)),
                -(c if c is not None else -big) if g in comp else 0,
                (v if v is not None else big) if g in even else 0,
                -(r.get("actual") or 0), r.get("customer") or "")

    return sorted(rows, key=key)


# --------------------------------------------------------------------------------------------------


def _num(x: float | None) -> str:
    """A number for a reason text: no exponent, no trailing zeros, at most 4 decimals."""
    if x is None:
        return "-"
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.4f}".rstrip("0").rstrip(".")
