"""The policy file format as pydantic v2 models.

One ``Policy`` is everything a company's rules say; ``crmctl.policies.loader`` turns a TOML text into
one (or into a list of located problems).  These models check *shape*: types, required keys, unknown
keys, the format of single values (codes, durations, time windows, time zones, patterns).  Everything
that needs more than one value — references between tables, contiguous bands, shares summing to 100 —
is checked by the loader's cross-reference pass, so that each problem can carry its own TOML path.

Every model is frozen and forbids unknown keys.  Tables of ``code -> label`` are plain dicts and keep
the order of the file (TOML tables are ordered), so "ordered" lists of codes such as segment values
follow the file.

This module imports pydantic: keep it out of ``crmctl --help`` (``crmctl.policies`` imports it lazily).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    PlainValidator,
    Strict,
    Tag,
    model_serializer,
    model_validator,
)

from crmctl.errors import Msg
from crmctl.rules import limits as L
from crmctl.rules.durations import parse_duration

# --------------------------------------------------------------------------------------------------
# Fixed vocabularies (the program knows these; policies pick from them)
# --------------------------------------------------------------------------------------------------

STATUSES = ("prospect", "pending", "active", "suspended", "disqualified")
PERIOD_KINDS = ("month", "quarter", "half-year", "year")  # == crmctl.rules.periods.PERIODS
CADENCE_UNITS = ("week", "month", "quarter", "half-year", "year")
FIELD_TYPES = ("text", "int", "decimal", "date", "bool", "choice", "phone", "email")
#: Holidays the program can date every year (lunar ones included); ``calendar.greeting_holidays``
#: keys must be among these.
GREETING_HOLIDAY_CODES = (
    "new_year",  # 元旦, 1 January
    "spring_festival",  # 春节, lunar 1/1
    "lantern",  # 元宵节, lunar 1/15
    "qingming",  # 清明节, solar term
    "labour_day",  # 劳动节, 1 May
    "dragon_boat",  # 端午节, lunar 5/5
    "mid_autumn",  # 中秋节, lunar 8/15
    "national_day",  # 国庆节, 1 October
)
#: Customer columns of ``customer import``/JSON that segment and field keys may not shadow.
RESERVED_CUSTOMER_KEYS = (
    "code", "name", "tax_id", "owner", "status", "created_at", "segments", "fields", "grades",
    "stability", "id",
)
DEFAULT_STATUS_LABELS = {
    "prospect": "潜在客户",
    "pending": "待审批",
    "active": "正式客户",
    "suspended": "暂停业务",
    "disqualified": "取消资格",
}
DEFAULT_ACTIVITY_KINDS = {
    "visit": "走访",
    "call": "电话沟通",
    "info": "信息收集",
    "contact": "对接",
    "evaluation": "评估",
    "inspection": "安全检查",
    "greeting": "节日问候",
    "symposium": "客户座谈会",
    "survey": "满意度调查",
    "training": "培训",
}

# --------------------------------------------------------------------------------------------------
# Scalar types
# --------------------------------------------------------------------------------------------------

_CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_SLUG_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def _code(value: str) -> str:
    if not _CODE_RE.match(value):
        raise ValueError(Msg("'{value}' is not a code: use letters, digits and '_', starting with a letter", value=value))
    return value


def _slug(value: str) -> str:
    if not _SLUG_RE.match(value):
        raise ValueError(Msg("'{value}' is not a policy code: use lowercase letters, digits, '-' and '_'", value=value))
    return value


def _label(value: str) -> str:
    if not value.strip():
        raise ValueError(Msg("must not be empty"))
    return value


def _duration(value: str) -> str:
    parse_duration(value)  # ValueError with a readable message
    return value


def _hours_window(value: str) -> str:
    m = _HOURS_RE.match(value.replace(" ", ""))
    if not m:
        raise ValueError(Msg("'{value}' is not a time window: write 'HH:MM-HH:MM', e.g. '08:30-12:00'", value=value))
    start = int(m.group(1)) * 60 + int(m.group(2))
    end = int(m.group(3)) * 60 + int(m.group(4))
    if end > 24 * 60:
        raise ValueError(Msg("'{value}': a window ends at 24:00 at the latest", value=value))
    if end <= start:
        raise ValueError(Msg("'{value}': the window must end after it starts", value=value))
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(Msg("must be a number"))
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(Msg("must be a finite number"))
    return value


def _threshold(value: Any) -> Any:
    """A volume threshold: 0 to ``limits.MAX_THRESHOLD``."""
    _number(value)
    if not 0 <= value <= L.MAX_THRESHOLD:
        raise ValueError(Msg("must be at least 0 and at most {high:g}", high=L.MAX_THRESHOLD))
    return value


def _measure(value: Any) -> Any:
    """A measured factor's band limit (growth may be negative): at most ``limits.MAX_THRESHOLD`` either way."""
    _number(value)
    if not -L.MAX_THRESHOLD <= value <= L.MAX_THRESHOLD:
        raise ValueError(Msg("must be at least {low:g} and at most {high:g}", low=-L.MAX_THRESHOLD, high=L.MAX_THRESHOLD))
    return value


def _policy_date(value: Any) -> Any:
    if isinstance(value, date) and not L.EARLIEST_DATE <= value <= L.LATEST_DATE:
        raise ValueError(Msg("{value} is outside the dates crmctl accepts: {range}", value=value.isoformat(), range=L.date_range_text()))
    return value


def _pct(value: Any) -> Any:
    _number(value)
    if not 0 <= value <= 100:
        raise ValueError(Msg("must be a percentage between 0 and 100"))
    return value


def _positive_pct(value: Any) -> Any:
    _number(value)
    if not 0 < value <= 100:
        raise ValueError(Msg("must be a percentage above 0 and at most 100"))
    return value


def _code_list(value: Any) -> Any:
    """``"x"`` is shorthand for ``["x"]`` in conditions."""
    return [value] if isinstance(value, str) else value


def _scalar_list(value: Any) -> Any:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, (str, int, float)):  # bool is an int
            raise ValueError(Msg("must be text, a number or true/false (write dates as text 'YYYY-MM-DD'), or an array of them"))
    return items


def _pattern_checker(**sample: Any):
    def check(value: str) -> str:
        try:
            out = value.format(**sample)
        except (KeyError, IndexError, ValueError) as exc:
            names = ", ".join("{" + k + "}" for k in sample)
            raise ValueError(Msg("'{value}' is not a valid pattern ({exc}); it may use {names}", value=value, exc=exc, names=names)) from None
        if not out.strip():
            raise ValueError(Msg("the pattern gives an empty text"))
        fields = {f for _, f, _, _ in string.Formatter().parse(value) if f}
        if "seq" not in {f.split(".")[0].split("[")[0] for f in fields}:
            raise ValueError(Msg("'{value}' must contain {{seq}} (e.g. {{seq:06d}}) so numbers are unique", value=value))
        return value

    return check


Code = Annotated[str, Strict(), AfterValidator(_code)]
Slug = Annotated[str, Strict(), AfterValidator(_slug)]
Label = Annotated[str, Strict(), AfterValidator(_label)]
Text = Annotated[str, Strict()]
DurationText = Annotated[str, Strict(), AfterValidator(_duration)]
HoursWindow = Annotated[str, Strict(), AfterValidator(_hours_window)]
Number = Annotated[Union[int, float], PlainValidator(_number)]
Threshold = Annotated[Union[int, float], PlainValidator(_threshold)]
Measure = Annotated[Union[int, float], PlainValidator(_measure)]
PosInt = Annotated[int, Strict(), Field(ge=1, le=L.MAX_COUNT)]
NoticeDays = Annotated[int, Strict(), Field(ge=1, le=L.MAX_NOTICE_DAYS)]
Months = Annotated[int, Strict(), Field(ge=1, le=L.MAX_MONTHS)]
Pct = Annotated[Union[int, float], PlainValidator(_pct)]
Score = Annotated[int, Strict(), Field(ge=1, le=10)]
CodeList = Annotated[list[Code], BeforeValidator(_code_list)]
ScalarList = Annotated[list[Any], BeforeValidator(_scalar_list)]
LabelTable = dict[Code, Label]
PeriodKind = Literal["month", "quarter", "half-year", "year"]
IsoDate = Annotated[date, Strict(False), AfterValidator(_policy_date),
                   PlainSerializer(lambda d: d.isoformat(), return_type=str)]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


# --------------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------------


class Condition(_Model):
    """Which customers something applies to.  Every key given must hold (AND); within one key a list
    means any of its values (OR).  An empty condition holds for everybody."""

    segments: dict[Code, CodeList] = Field(default_factory=dict)
    not_segments: dict[Code, CodeList] = Field(default_factory=dict)
    fields: dict[Code, ScalarList] = Field(default_factory=dict)
    grades: dict[Code, CodeList] = Field(default_factory=dict)
    status: list[Literal["prospect", "pending", "active", "suspended", "disqualified"]] = Field(
        default_factory=list
    )

    @property
    def is_empty(self) -> bool:
        return not (self.segments or self.not_segments or self.fields or self.grades or self.status)

    def matches(
        self,
        *,
        segments: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
        grades: Mapping[str, Any] | None = None,
        status: str | None = None,
    ) -> bool:
        """Whether a customer with these segments, custom fields, current grades and status is selected
        (the rule itself lives in ``crmctl.rules.conditions.matches``)."""
        from ..rules.conditions import matches

        return matches(self, segments=segments, fields=fields, grades=grades, status=status)


class ClockCondition(Condition):
    """A condition on a service ticket: the customer keys of ``Condition`` plus the ticket's
    ``location`` and ``service_type``."""

    location: CodeList = Field(default_factory=list)
    service_type: CodeList = Field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return super().is_empty and not (self.location or self.service_type)

    def matches(self, *, location: str | None = None, service_type: str | None = None, **customer: Any) -> bool:  # type: ignore[override]
        if self.location and location not in self.location:
            return False
        if self.service_type and service_type not in self.service_type:
            return False
        return super().matches(**customer)


# --------------------------------------------------------------------------------------------------
# [policy], [roles], [[segments]], [[fields]], [[constraints]], [statuses]
# --------------------------------------------------------------------------------------------------


def _timezone(value: str) -> str:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if zoneinfo.available_timezones():  # a system without tz data cannot judge: accept
            raise ValueError(Msg("'{value}' is not an IANA time zone (e.g. 'Asia/Shanghai')", value=value)) from None
    return value


class PolicyInfo(_Model):
    code: Slug
    name: Label
    company: Label
    timezone: Annotated[str, Strict(), AfterValidator(_timezone)] = "Asia/Shanghai"
    volume_unit: Label
    volume_unit_label: Label
    customer_code_pattern: Annotated[str, Strict(), AfterValidator(_pattern_checker(seq=1))] = "C{seq:06d}"
    currency: Annotated[str, Strict(), Field(pattern=r"^[A-Z]{3}$")] = "CNY"
    description: Text | None = None
    # The language of messages for this company's users when neither --lang, $CRMCTL_LANG nor the
    # locale chooses one (crmctl.i18n); a policy without the key speaks English.
    language: Literal["zh", "en"] = "en"


class Segment(_Model):
    key: Code
    label: Label
    values: LabelTable
    required: Annotated[bool, Strict()] = True
    when: Condition | None = None

    @property
    def codes(self) -> list[str]:
        return list(self.values)


class CustomField(_Model):
    key: Code
    label: Label
    type: Literal["text", "int", "decimal", "date", "bool", "choice", "phone", "email"] = "text"
    choices: LabelTable | None = None
    required: Annotated[bool, Strict()] = False
    sensitive: Annotated[bool, Strict()] = False
    when: Condition | None = None
    help: Text | None = None
    max_length: Annotated[int, Strict(), Field(ge=1, le=L.MAX_FIELD_TEXT)] | None = None  # text, phone, email

    @property
    def text_limit(self) -> int:
        """The most characters a value of this field may have."""
        return self.max_length or L.DEFAULT_FIELD_TEXT


class Constraint(_Model):
    if_: Condition = Field(alias="if")
    then: Condition
    message: Label


class Statuses(_Model):
    prospect: Label = DEFAULT_STATUS_LABELS["prospect"]
    pending: Label = DEFAULT_STATUS_LABELS["pending"]
    active: Label = DEFAULT_STATUS_LABELS["active"]
    suspended: Label = DEFAULT_STATUS_LABELS["suspended"]
    disqualified: Label = DEFAULT_STATUS_LABELS["disqualified"]
    #: statuses during which no usage may be recorded (dated on or after the change of status)
    no_records: list[Literal["suspended", "disqualified"]] = Field(default_factory=list)

    def label(self, status: str) -> str:
        return getattr(self, status)

    def labels(self) -> dict[str, str]:
        """Status code -> label, in the contract's order."""
        return {code: getattr(self, code) for code in DEFAULT_STATUS_LABELS}


# --------------------------------------------------------------------------------------------------
# [admission], [documents.*], [disqualification]
# --------------------------------------------------------------------------------------------------


class Admission(_Model):
    chain: list[Code] = Field(default_factory=list)
    step_labels: list[Label] | None = None
    step_documents: dict[Code, list[Code]] = Field(default_factory=dict)
    required_documents: list[Code] = Field(default_factory=list)
    #: an active customer without any copy of a required document (typically one imported with
    #: ``--admitted``): ``doc check`` suspends it until the document is added ("suspend", petrochem
    #: Art. 7, 15) or only lists it, as ``report documents`` always does ("report")
    missing_documents: Literal["suspend", "report"] = "report"
    one_person_one_step: Annotated[bool, Strict()] = True
    owner_may_approve: Annotated[bool, Strict()] = True  # False: a customer's keeper takes no step of its admission
    criteria: LabelTable = Field(default_factory=dict)
    criteria_scale_max: Annotated[int, Strict(), Field(ge=2, le=100)] = 10
    #: the lowest score of each criterion a customer must reach to be submitted (manufacturer 二.1:
    #: customers must meet the criteria); a criterion not listed has no minimum
    criteria_min: dict[Code, Annotated[int, Strict(), Field(ge=1, le=100)]] = Field(default_factory=dict)

    def step_label(self, index: int) -> str:
        if self.step_labels and index < len(self.step_labels):
            return self.step_labels[index]
        return self.chain[index]


class DocumentType(_Model):
    label: Label
    expires: Annotated[bool, Strict()] = False
    suspends_on_expiry: Annotated[bool, Strict()] = False
    renew_notice_days: NoticeDays | None = None
    #: the same as a calendar duration ("1 month": 07-31 -> 06-30, "30 days", "1 year"); not both
    renew_notice: DurationText | None = None
    notice_kind: Code | None = None  # `visit plan` plans an activity of this kind the notice before expiry

    def notice_before(self):
        """How long before expiry the renewal notice is due (a ``relativedelta``), or None."""
        from ..rules.cadence import notice_offset

        return notice_offset(self.renew_notice, self.renew_notice_days)

    @model_serializer(mode="wrap")
    def _keep_suspends(self, handler: Any) -> Any:
        # always written out: its default depends on `expires`, so leaving it out could change it
        data = handler(self)
        if isinstance(data, dict) and "suspends_on_expiry" not in data:
            data["suspends_on_expiry"] = self.suspends_on_expiry
        return data

    @model_validator(mode="before")
    @classmethod
    def _default_suspends(cls, data: Any) -> Any:
        # suspends_on_expiry defaults to the value of expires
        if isinstance(data, dict) and "suspends_on_expiry" not in data and isinstance(data.get("expires"), bool):
            data = {**data, "suspends_on_expiry": data["expires"]}
        return data


class Disqualification(_Model):
    reasons: LabelTable = Field(default_factory=lambda: {"other": "其他原因"})
    reinstate_role: Code = "gm"


# --------------------------------------------------------------------------------------------------
# [grading]
# --------------------------------------------------------------------------------------------------


class Grade(_Model):
    code: Code
    label: Label


class FixedGrade(_Model):
    when: Condition
    grade: Code


class ThresholdBand(_Model):
    """Half-open ``[min, max)``; no ``max`` = no upper bound (last band only)."""

    grade: Code
    min: Threshold
    max: Threshold | None = None


class RankBand(_Model):
    grade: Code
    share: Pct  # percent of the ranked customers, top band first


class ScoreBand(_Model):
    """A measured value in ``[min, max)`` scores linearly from ``score_min`` to ``score_max``."""

    min: Measure
    max: Measure | None = None
    score_min: Score
    score_max: Score


class Factor(_Model):
    label: Label
    weight: Pct
    source: Literal["volume", "spread", "growth", "manual"]
    bands: list[ScoreBand] = Field(default_factory=list)
    default_score: Score | None = None
    #: ``spread``: the purchase price per unit for each period label ("2026" = 2.7); the spread is
    #: the selling price minus it (gas-tiered Art. 8 购销价差)
    purchase_prices: dict[str, Measure] = Field(default_factory=dict)

    @property
    def manual(self) -> bool:
        return self.source == "manual"


class _ScaleBase(_Model):
    label: Label
    grades: list[Grade]
    periods: list[PeriodKind]
    #: the period of the review that moves this scale's grades; runs for the scale's other periods
    #: are what-ifs (--dry-run).  None: every listed period writes.
    review: PeriodKind | None = None
    applies_to: Condition = Field(default_factory=Condition)
    initial_grade: Code | None = None
    step_limit: PosInt | None = None
    fixed: list[FixedGrade] = Field(default_factory=list)
    owner_roles: dict[Code, Code] = Field(default_factory=dict)
    team_roles: dict[Code, list[Code]] = Field(default_factory=dict)
    benefits: dict[Code, Label] = Field(default_factory=dict)

    @property
    def grade_codes(self) -> list[str]:
        return [g.code for g in self.grades]

    @property
    def review_period(self) -> str:
        """The period whose runs move the grades (the review, or else the first listed period)."""
        return self.review or self.periods[0]

    def moves_by(self, kind: str) -> bool:
        """Whether a run for ``kind`` may write this scale's grades (not only preview them)."""
        return self.review is None or self.review == kind

    def grade_label(self, code: str) -> str:
        for g in self.grades:
            if g.code == code:
                return g.label
        raise KeyError(code)

    def grade_rank(self, code: str) -> int:
        """0 for the lowest grade."""
        return self.grade_codes.index(code)


class ThresholdScale(_ScaleBase):
    method: Literal["threshold"]
    metric: Literal["volume"] = "volume"
    aggregate: Literal["sum", "max_month"] = "sum"
    bands: list[ThresholdBand]


class RankScale(_ScaleBase):
    method: Literal["rank"]
    bands: list[RankBand]  # top first
    factors: dict[Code, Factor]
    #: the top k bands hold their cumulative share of the ranked customers rounded down (never more
    #: than the share) or up
    band_rounding: Literal["down", "up"] = "down"
    #: once there are at least as many customers as bands, every band holds at least one
    at_least_one: bool = True
    #: measured values that order equal scores, first decisive (higher first)
    tie_break: list[Literal["volume", "spread", "growth"]] = Field(default_factory=list)
    #: where customers still tied across a band edge go: the band below (keeps the shares) or above
    edge_ties: Literal["lower", "upper"] = "lower"


def _scale_tag(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("method")
    return getattr(value, "method", None)


Scale = Annotated[
    Union[Annotated[ThresholdScale, Tag("threshold")], Annotated[RankScale, Tag("rank")]],
    Discriminator(
        _scale_tag,
        custom_error_type="scale_method",
        custom_error_message="must be 'threshold' or 'rank'",  # crmctl.policies.loader shows it as a Msg
    ),
]


class Grading(_Model):
    scales: dict[Code, Scale] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# [stability], [churn]
# --------------------------------------------------------------------------------------------------


class StabilityLabels(_Model):
    existing: Label = "现有客户"
    lost: Label = "流失客户"
    potential: Label = "潜在客户"


class Stability(_Model):
    lost_after_months: Months = 1
    labels: StabilityLabels = Field(default_factory=StabilityLabels)


class Churn(_Model):
    warn_drop_pct: Annotated[Union[int, float], PlainValidator(_positive_pct)]
    compare: Literal["same_period_last_year", "previous_period"] = "same_period_last_year"
    period: PeriodKind = "month"
    applies_to: Condition = Field(default_factory=Condition)


# --------------------------------------------------------------------------------------------------
# [calendar]
# --------------------------------------------------------------------------------------------------


class Calendar(_Model):
    base: Literal["china", "none"] = "china"
    weekend: list[Annotated[int, Strict(), Field(ge=1, le=7)]] = Field(default_factory=lambda: [6, 7])
    business_hours: list[HoursWindow] = Field(default_factory=list)
    extra_holidays: list[IsoDate] = Field(default_factory=list)
    extra_workdays: list[IsoDate] = Field(default_factory=list)
    greeting_holidays: LabelTable = Field(default_factory=dict)

    def business_windows(self) -> list[tuple[int, int]]:
        """Business hours as (start minute, end minute) pairs."""
        out = []
        for w in self.business_hours:
            a, b = w.replace(" ", "").split("-")
            out.append((int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:])))
        return out


# --------------------------------------------------------------------------------------------------
# [complaints], [service], [proposals]
# --------------------------------------------------------------------------------------------------


class SlaRule(_Model):
    when: Condition | None = None
    severity: Code | None = None
    due: DurationText

    @property
    def is_default(self) -> bool:
        return self.severity is None and (self.when is None or self.when.is_empty)


class Extension(_Model):
    max_total: DurationText
    approver_role: Code
    #: which severities may be extended (empty: every one); petrochem 12(三): major complaints only
    severities: list[Code] = Field(default_factory=list)


class OpinionApproval(_Model):
    """A complaint's handling opinion approved before it is closed (petrochem 12(二): 一般性质的客户投诉
    拟定出处理意见，报主管领导审批后告知客户)."""

    #: which severities (empty: every one)
    severities: list[Code] = Field(default_factory=list)
    approver_role: Code  # never the one who submitted it (as every approval)

    def applies_to(self, severity: str) -> bool:
        return not self.severities or severity in self.severities


class FollowUp(_Model):
    """The activity closing a complaint plans (manufacturer 五.26, gas-tiered 22(二)6, gas-service 16)."""

    kind: Code
    role: Code | None = None  # None: the customer's keeper
    due: DurationText = "5 working days"  # after the close
    when: Condition | None = None  # which complaining customers (None: every one)


class Complaints(_Model):
    severities: LabelTable = Field(default_factory=lambda: {"general": "一般"})
    default_severity: Code = "general"
    number_pattern: Annotated[str, Strict(), AfterValidator(_pattern_checker(year=2026, seq=1))] = (
        "TS-{year}-{seq:04d}"
    )
    sla: list[SlaRule]
    escalate: list[Code] = Field(default_factory=list)
    escalate_role: Code | None = None
    #: a complaint of an ``escalate`` severity cannot be closed before it was escalated (petrochem 12(二))
    escalate_before_close: Annotated[bool, Strict()] = False
    extension: Extension | None = None
    #: the handling opinion of these complaints is approved by a role before the close (petrochem 12(二))
    opinion_approval: OpinionApproval | None = None
    satisfaction_target_pct: Pct | None = None
    follow_up: FollowUp | None = None

    def due_for(self, severity: str, **customer: Any) -> str:
        """The duration text of the first SLA rule that matches."""
        for rule in self.sla:
            if rule.severity is not None and rule.severity != severity:
                continue
            if rule.when is not None and not rule.when.matches(**customer):
                continue
            return rule.due
        raise LookupError("no SLA rule matches")  # cannot happen in a valid policy


class ServiceClock(_Model):
    kind: Code
    clock: Literal["respond", "arrive", "resolve"]
    when: ClockCondition | None = None
    due: DurationText
    calendar: Literal["24x7", "working"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_calendar(cls, data: Any) -> Any:
        # calendar follows from the duration's unit unless given: "N h" / "N days" run on 24x7
        if isinstance(data, dict) and "calendar" not in data and isinstance(data.get("due"), str):
            try:
                unit = parse_duration(data["due"]).unit
            except ValueError:
                return data
            data = {**data, "calendar": "working" if unit.startswith("working") else "24x7"}
        return data


class Service(_Model):
    kinds: LabelTable
    locations: LabelTable = Field(default_factory=dict)
    default_location: Code | None = None
    service_types: LabelTable = Field(default_factory=dict)
    number_pattern: Annotated[str, Strict(), AfterValidator(_pattern_checker(year=2026, seq=1))] = (
        "FW-{year}-{seq:04d}"
    )
    clocks: list[ServiceClock] = Field(default_factory=list)
    overdue_role: Code | None = None
    rating_items: LabelTable = Field(default_factory=dict)
    rating_levels: dict[Annotated[str, Strict()], Label] = Field(default_factory=dict)
    rate_kinds: list[Code] = Field(default_factory=list)
    #: the role a dispatched person must hold (manufacturer 五: 技术员)
    technician_role: Code | None = None
    #: every call names its service type (manufacturer 五.6: 有费 / 合同 / 免费服务)
    service_type_required: Annotated[bool, Strict()] = False
    #: service type -> the document type the customer must hold in force on the call's date
    #: (manufacturer: B needs a maintenance contract, C a warranty)
    service_type_documents: dict[Code, Code] = Field(default_factory=dict)
    #: kinds that cannot be resolved before a technician was dispatched (a repair; an inquiry may be)
    resolve_needs_dispatch: list[Code] = Field(default_factory=list)

    def clock_rule(self, kind: str, clock: str, **ticket: Any) -> ServiceClock | None:
        """First clock rule for ``kind``/``clock`` whose ``when`` matches (``ticket``: location=,
        service_type=, segments=, fields=, grades=, status=), or None."""
        for rule in self.clocks:
            if rule.kind == kind and rule.clock == clock and (rule.when is None or rule.when.matches(**ticket)):
                return rule
        return None


class Benefit(_Model):
    company_pct: Pct
    customer_pct: Pct
    months: Months


class Proposals(_Model):
    categories: LabelTable
    due: DurationText
    number_pattern: Annotated[str, Strict(), AfterValidator(_pattern_checker(year=2026, seq=1))] = (
        "TA-{year}-{seq:04d}"
    )
    benefit: Benefit | None = None
    targets_per: PeriodKind | None = None


# --------------------------------------------------------------------------------------------------
# [activities], [surveys.*]
# --------------------------------------------------------------------------------------------------


class Cadence(_Model):
    kind: Code
    when: Condition | None = None
    times: PosInt = 1
    per: Literal["week", "month", "quarter", "half-year", "year"]
    every: PosInt = 1
    scope: Literal["customer", "company"] = "customer"
    owner: Code = "keeper"  # "keeper" (the customer's owner) or a role
    counts: list[Code] = Field(default_factory=list)  # other kinds that also count toward it
    note: Text | None = None


class Greetings(_Model):
    kind: Code = "greeting"
    holidays: list[Code]
    when: Condition | None = None
    days_before: Annotated[int, Strict(), Field(ge=0, le=60)] = 0


class HandoverNotice(_Model):
    """``staff leave --handover-to``: the new keeper tells each handed-over customer (manufacturer
    三.7(4): the company informs the customers and names the replacement)."""

    kind: Code
    due: DurationText = "5 working days"  # after the leave


class Activities(_Model):
    kinds: LabelTable = Field(default_factory=lambda: dict(DEFAULT_ACTIVITY_KINDS))
    report_fields: dict[Code, LabelTable] = Field(default_factory=dict)
    cadences: list[Cadence] = Field(default_factory=list)
    greetings: Greetings | None = None
    handover_notice: HandoverNotice | None = None

    def cadence_for(self, kind: str, **customer: Any) -> Cadence | None:
        """The customer-scope cadence of ``kind`` for this customer: the strictest that matches
        (the rule lives in ``crmctl.rules.cadence.strictest``)."""
        from ..rules.cadence import strictest

        return strictest((c for c in self.cadences if c.scope == "customer" and c.kind == kind),
                         lambda c: c.when is None or c.when.matches(**customer))


class Survey(_Model):
    label: Label
    items: LabelTable
    scale_max: Annotated[int, Strict(), Field(ge=2, le=100)] = 10


# --------------------------------------------------------------------------------------------------
# [permissions], [development], [sales_plans], [reports]
# --------------------------------------------------------------------------------------------------


class Customers(_Model):
    """``[customers]``: the registry as a whole."""

    #: True: one record per customer (gas-service Art. 15 一户一档): a second customer whose name is the
    #: same once width, spaces, case and the 有限公司 forms are set aside (``rules.names``) is refused
    #: unless ``--allow-duplicate-name`` (audited); False: it is added with a warning
    unique_names: Annotated[bool, Strict()] = False


class Permissions(_Model):
    restrict_customer_details: Annotated[bool, Strict()] = False
    readers_roles: list[Code] = Field(default_factory=list)
    important_field: Code | None = None
    important_min_contacts: PosInt | None = None
    approvals_in_person: Annotated[bool, Strict()] = False  # True: an administrator acting for someone approves nothing
    backdate_days: Annotated[int, Strict(), Field(ge=0, le=L.MAX_BACKDATE_DAYS)] = 7  # how far back non-administrators may date an event


class Development(_Model):
    targets_per: PeriodKind = "quarter"
    summary_per: Literal["week", "month", "quarter", "half-year", "year"] | None = None
    report_per: Literal["week", "month", "quarter", "half-year", "year"] | None = None


class SalesPlans(_Model):
    when: Condition = Field(default_factory=Condition)
    per: PeriodKind = "month"


class Allocation(_Model):
    segment: Code
    priority: list[Code]
    rank_by_completion: list[Code] = Field(default_factory=list)
    rank_by_evenness: list[Code] = Field(default_factory=list)
    evenness: Literal["weekly_cv"] = "weekly_cv"


class Reports(_Model):
    allocation: Allocation | None = None


def _webhook(value: Any) -> Any:
    from crmctl.rules.notify import check_webhook

    problem = check_webhook(value)
    if problem is not None:
        raise ValueError(problem)
    return value.strip()


class Notify(_Model):
    """The team's chat robot for ``crmctl agenda --send`` (issue 21); the configuration file's
    ``[notify]`` keys win over these."""

    webhook: Annotated[str, Strict(), AfterValidator(_webhook)] | None = None
    secret: Annotated[str, Strict(), Field(min_length=1, max_length=200)] | None = None
    kind: Literal["wecom", "dingtalk"] | None = None


# --------------------------------------------------------------------------------------------------
# The policy
# --------------------------------------------------------------------------------------------------


class Policy(_Model):
    policy: PolicyInfo
    roles: LabelTable
    segments: list[Segment] = Field(default_factory=list)
    fields: list[CustomField] = Field(default_factory=list)
    constraints: list[Constraint] = Field(default_factory=list)
    statuses: Statuses = Field(default_factory=Statuses)
    admission: Admission = Field(default_factory=Admission)
    documents: dict[Code, DocumentType] = Field(default_factory=dict)
    disqualification: Disqualification = Field(default_factory=Disqualification)
    grading: Grading = Field(default_factory=Grading)
    stability: Stability | None = None
    churn: Churn | None = None
    calendar: Calendar = Field(default_factory=Calendar)
    complaints: Complaints | None = None
    service: Service | None = None
    proposals: Proposals | None = None
    activities: Activities = Field(default_factory=Activities)
    surveys: dict[Code, Survey] = Field(default_factory=dict)
    permissions: Permissions = Field(default_factory=Permissions)
    customers: Customers = Field(default_factory=Customers)
    development: Development | None = None
    sales_plans: SalesPlans | None = None
    reports: Reports = Field(default_factory=Reports)
    notify: Notify | None = None

    # ---- small conveniences for the rest of the program ----

    @property
    def code(self) -> str:
        return self.policy.code

    def segment(self, key: str) -> Segment:
        for s in self.segments:
            if s.key == key:
                return s
        raise KeyError(key)

    def field(self, key: str) -> CustomField:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    def scale(self, code: str) -> ThresholdScale | RankScale:
        return self.grading.scales[code]

    def role_label(self, role: str) -> str:
        return self.roles.get(role, role)

    def document_labels(self) -> dict[str, str]:
        """Document type -> its label."""
        return {k: d.label for k, d in self.documents.items()}


ScaleModel = Union[ThresholdScale, RankScale]

__all__ = [
    "Activities", "Admission", "Allocation", "Benefit", "Cadence", "Calendar", "Churn", "ClockCondition",
    "Complaints", "Condition", "Constraint", "CustomField", "Customers", "Development", "Disqualification",
    "DocumentType", "Extension", "Factor", "FixedGrade", "FollowUp", "Grade", "Grading", "Greetings",
    "Notify", "OpinionApproval", "Permissions", "Policy", "PolicyInfo", "Proposals", "RankBand", "RankScale", "Reports", "SalesPlans",
    "ScaleModel", "ScoreBand", "Segment", "Service", "ServiceClock", "SlaRule", "Stability",
    "StabilityLabels", "Statuses", "Survey", "ThresholdBand", "ThresholdScale", "STATUSES",
    "PERIOD_KINDS", "CADENCE_UNITS", "FIELD_TYPES", "GREETING_HOLIDAY_CODES", "RESERVED_CUSTOMER_KEYS",
    "DEFAULT_STATUS_LABELS", "DEFAULT_ACTIVITY_KINDS",
]
