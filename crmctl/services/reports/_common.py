"""What the report families share: choosing the period, percentages and money, the scales a grade
report covers.  Light: the database layer is imported inside the helpers that read it."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from ...errors import InvalidInput
from ...i18n import N_, _
from ...i18n import _ as gettext
from ...rules.errors import Invalid
from ...rules.periods import PERIODS, Period, last_completed, local_bounds, parse_label
from .registry import Params

STREAM = 2000  # rows fetched per round trip when a report lists customers

_EXAMPLE = {"month": "2026-10", "quarter": "2026-Q3", "half-year": "2026-H1", "year": "2025"}
#: a kind of period inside a message: its word (季度 in Chinese); with an example label
KIND_WORDS = {"month": N_("month"), "quarter": N_("quarter"), "half-year": N_("half-year"), "year": N_("year")}
_KIND_EXAMPLES = {"month": N_("a month ({example})"), "quarter": N_("a quarter ({example})"),
                  "half-year": N_("a half-year ({example})"), "year": N_("a year ({example})")}


def kind_word(kind: str) -> str:
    return gettext(KIND_WORDS[kind]) if kind in KIND_WORDS else kind


def either(items) -> str:
    """``a or b or c`` in the user's language."""
    out = None
    for item in items:
        out = item if out is None else _("{first} or {second}").format(first=out, second=item)
    return out or ""


def _kinds_text(kinds: tuple[str, ...]) -> str:
    return either(gettext(_KIND_EXAMPLES[k]).format(example=_EXAMPLE[k]) for k in kinds)


def choose_period(app, report: str, params: Params, kinds: tuple[str, ...], default: str | None = None) -> Period:
    """The period of ``--label``/``--period`` (default: the last completed ``default`` period)."""
    today = app.now().date()
    if params.label:
        try:
            per = parse_label(params.label.strip())
        except Invalid as exc:
            raise exc.within("--label") from None
        if params.period and per.kind != params.period:
            raise InvalidInput(_("--label {label} is a {kind}, not a {period}").format(
                label=per.label, kind=kind_word(per.kind), period=kind_word(params.period)))
        if per.kind not in kinds:
            raise InvalidInput(_("--label {label} is a {kind}; report {report} takes {kinds}").format(
                label=per.label, kind=kind_word(per.kind), report=report, kinds=_kinds_text(kinds)))
        if per.start > today:
            raise InvalidInput(_("--label {label} has not started yet").format(label=per.label))
        return per
    kind = params.period or default or kinds[0]
    if kind not in kinds:
        raise InvalidInput(_("--period {period}: report {report} takes {kinds}").format(
            period=kind, report=report, kinds=_kinds_text(kinds)))
    return last_completed(kind, today)


def bounds(app, per: Period):
    """The period's local days as aware datetimes in the company zone (for event times)."""
    return local_bounds(per.start, per.end, app.tz)


def pct(part: float | int | None, whole: float | int | None) -> float | None:
    if not whole:
        return None
    return round(100.0 * float(part or 0) / float(whole), 1)


def as_int(v) -> int:
    return int(v or 0)


def money(v) -> Decimal | None:
    if v is None:
        return None
    return Decimal(str(v)).quantize(Decimal("0.01"))


def row(keys: tuple[str, ...], **values) -> dict:
    """A row with exactly ``keys`` (the ones not given are None)."""
    return {k: values.get(k) for k in keys}


def scales_of(app) -> dict:
    return dict(app.policy.grading.scales)


def rank_scales(app) -> dict:
    return {c: sc for c, sc in scales_of(app).items() if sc.method == "rank"}


def check_scale(app, scale: str | None, pool: Mapping | None = None) -> dict:
    """The scales a grade report covers: ``--scale`` (refused when unknown) or every one in ``pool``."""
    pool = dict(pool if pool is not None else scales_of(app))
    if scale is None:
        return pool
    if scale not in pool:
        known = ", ".join(pool) or _("none")
        raise InvalidInput(_("unknown scale '{scale}': this report can use {known}").format(scale=scale, known=known))
    return {scale: pool[scale]}


def scale_periods(policy) -> tuple[str, ...]:
    """The period kinds the policy's scales are graded by."""
    return tuple(k for k in PERIODS if any(k in sc.periods for sc in policy.grading.scales.values())) or PERIODS


def grade_periods(app, report: str, params: Params, scales: dict) -> dict[str, Period | None]:
    """Per scale the label a grade report shows: ``--label``, the last completed ``--period``, or
    (neither given) the latest label the scale was graded for.  A label of a kind that none of the
    scales is graded by is refused."""
    from ..grading.labels import graded_periods

    kinds = tuple(k for k in PERIODS if any(k in sc.periods for sc in scales.values()))
    if params.label or params.period:
        per = choose_period(app, report, params, kinds)
        return {code: per for code, sc in scales.items() if per.kind in sc.periods}
    out: dict[str, Period | None] = {}
    with app.db.read() as s:
        for code in scales:
            graded = graded_periods(s, code)
            out[code] = graded[-1] if graded else None
    return out


def not_graded(code: str, per: Period | None) -> str:
    if per is None:
        return _("scale {scale} has not been graded yet (crmctl grade run)").format(scale=code)
    return _("scale {scale} was not graded for {label} (crmctl grade run --label {label})").format(
        scale=code, label=per.label)


def graded_labels(app, report: str, params: Params, pool: Mapping | None = None):
    """What a grade report shows: (the scales, scale -> the period shown for the scales that have
    one, the notes for the scales with nothing to show)."""
    scales = check_scale(app, params.scale, pool)
    chosen = grade_periods(app, report, params, scales)
    shown = {c: p for c, p in chosen.items() if p is not None}
    return scales, shown, [not_graded(c, p) for c, p in chosen.items() if p is None]

