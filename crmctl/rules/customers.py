"""Customer records against the policy: segments, custom fields, constraints, codes, admission chain.

Pure functions over the policy model and plain values; they raise ``ValueError`` with a message that
names the field, and the services turn that into an ``Error:`` line (with the row for imports).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from .conditions import matches
from ..errors import Term, coded
from .errors import Invalid, Msg, Refused
from .limits import DEFAULT_FIELD_TEXT, MAX_LONG_TEXT
from .typed import read_number

STATUSES = ("prospect", "pending", "active", "suspended", "disqualified")
_TRUE = {"true", "yes", "y", "1", "是", "对", "有"}
_FALSE = {"false", "no", "n", "0", "否", "无", ""}
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-()]{3,30}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_TEXT = MAX_LONG_TEXT  # the default length limit of free text (crmctl.rules.limits)

#: Numbers in custom fields: below 10**18 (a number of more digits is a typing mistake).
_MAX_FIELD_DIGITS = 18


def _labelled(values: Mapping[str, str]) -> str:
    return ", ".join(f"{code} ({label})" for code, label in values.items())


def clean_text(value: str, what: str, *, required: bool = True, max_len: int = MAX_TEXT) -> str | None:
    """Trimmed text without control characters; empty refused when required."""
    text = (value or "").strip()
    if any(ord(c) < 32 and c not in "\t" for c in text) or "\x7f" in text:
        raise Invalid(Msg("{what} contains control characters", what=what))
    if not text:
        if required:
            raise Invalid(Msg("{what} must not be empty", what=what))
        return None
    if len(text) > max_len:
        raise Invalid(Msg("{what} is longer than {max_len} characters", what=what, max_len=max_len))
    return text


class SegmentIndex:
    """Look-ups by code or label for a policy's segments and fields (built once per command)."""

    def __init__(self, policy):
        self.policy = policy
        self.segments = {s.key: s for s in policy.segments}
        self.segment_by_label = {s.label: s.key for s in policy.segments}
        self.fields = {f.key: f for f in policy.fields}
        self.field_by_label = {f.label: f.key for f in policy.fields}
        self.value_by_label = {
            s.key: {label: code for code, label in s.values.items()} for s in policy.segments
        }

    def segment_key(self, name: str) -> str | None:
        return name if name in self.segments else self.segment_by_label.get(name)

    def field_key(self, name: str) -> str | None:
        return name if name in self.fields else self.field_by_label.get(name)

    def segment_value(self, key: str, value: str) -> str:
        seg = self.segments[key]
        v = (value or "").strip()
        if v in seg.values:
            return v
        code = self.value_by_label[key].get(v)
        if code is None:
            raise Invalid(Msg("segment {key}: unknown value '{value}': use {known}", key=key, value=value, known=_labelled(seg.values)))
        return code


def split_attributes(index: SegmentIndex, given: Mapping[str, Any]) -> tuple[dict, dict, list[str]]:
    """Sort ``key=value`` pairs (from options or CSV columns) into segments and fields.

    Returns (segments, fields, unknown keys)."""
    segments, fields, unknown = {}, {}, []
    for name, value in given.items():
        if (key := index.segment_key(name)) is not None:
            segments[key] = value
        elif (key := index.field_key(name)) is not None:
            fields[key] = value
        else:
            unknown.append(name)
    return segments, fields, unknown


def normalise_segments(index: SegmentIndex, given: Mapping[str, str], *, base: Mapping[str, str] | None = None,
                       complete: bool = True, fields: Mapping[str, Any] | None = None) -> dict:
    """Segment codes for a customer: values by code or label, required ones present, constraints kept.

    ``base`` holds the customer's current segments (for edits); ``complete`` checks required ones;
    ``fields`` are the customer's (normalised) custom fields, which constraints may look at."""
    out = dict(base or {})
    for name, value in given.items():
        key = index.segment_key(name)
        if key is None:
            raise Invalid(Msg("unknown segment '{name}': the policy has {known}", name=name, known=', '.join(index.segments) or Msg("none")))
        if value is None or str(value).strip() == "":
            out.pop(key, None)
            continue
        out[key] = index.segment_value(key, str(value))
    for key, seg in index.segments.items():
        applies = matches(seg.when, segments=out)
        if key in out and not applies:
            raise Invalid(Msg("segment {key} applies only to some customers ({condition})", key=key, condition=describe_condition(seg.when)))
        if complete and applies and seg.required and key not in out:
            raise Invalid(Msg("segment {key} ({label}) is required: use {known}", key=key, label=seg.label, known=_labelled(seg.values)))
    for c in getattr(index.policy, "constraints", None) or []:
        if matches(c.if_, segments=out, fields=fields) and not matches(c.then, segments=out, fields=fields):
            raise Invalid(c.message or Msg("segments break the rule {condition} -> {required}",
                                              condition=describe_condition(c.if_), required=describe_condition(c.then)))
    return out


def describe_condition(cond) -> str:
    if cond is None:
        return Msg("always")
    parts = []
    for attr, sep in (("segments", "="), ("not_segments", "!="), ("fields", "="), ("grades", "=")):
        for k, v in (getattr(cond, attr, None) or {}).items():
            vv = "|".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
            parts.append(f"{k}{sep}{vv}")
    if getattr(cond, "status", None):
        parts.append("status=" + "|".join(cond.status))
    return ", ".join(parts) or Msg("always")


def coerce_field(fdef, value: Any) -> Any:
    """A custom field's value in its policy type (JSON-safe), or ValueError naming the field."""
    key = fdef.key
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, str):
        value = value.strip()
    t = fdef.type
    limit = getattr(fdef, "text_limit", DEFAULT_FIELD_TEXT)  # the policy's fields[].max_length
    if t == "text":
        return clean_text(str(value), f"field {key}", max_len=limit)
    if t == "int":
        if isinstance(value, bool):
            raise Invalid(Msg("field {key}: '{value}' is not a whole number", key=key, value=value))
        if isinstance(value, int):
            return value
        try:  # as typed: 1,200, 1.2万, full-width digits (rules.typed); no guessing at 1,2
            d = read_number(str(value), f"field {key}")
        except Invalid as exc:
            if "comma" in exc.message:
                raise Invalid(Msg("field {key}: '{value}' is not a whole number: a comma separates thousands in groups "
                                  "of three (1,200)", key=key, value=value), field=key) from None
            raise Invalid(Msg("field {key}: '{value}' is not a whole number", key=key, value=value), field=key) from None
        if d != d.to_integral_value() or d.adjusted() >= _MAX_FIELD_DIGITS:
            raise Invalid(Msg("field {key}: '{value}' is not a whole number", key=key, value=value)
                          if d != d.to_integral_value()
                          else Msg("field {key}: '{value}' is too large", key=key, value=value), field=key)
        return int(d)
    if t == "decimal":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            d = read_number(str(value), f"field {key}")  # 1,200.5, 1.2万, full-width digits (rules.typed)
        else:
            try:
                d = Decimal(str(value))
            except InvalidOperation:
                raise Invalid(Msg("field {key}: '{value}' is not a number", key=key, value=value)) from None
        if not d.is_finite():
            raise Invalid(Msg("field {key}: '{value}' is not a finite number", key=key, value=value))
        if d.adjusted() >= _MAX_FIELD_DIGITS:
            raise Invalid(Msg("field {key}: '{value}' is too large", key=key, value=value), field=key)
        return float(d) if d != d.to_integral_value() else int(d)
    if t == "date":
        from .limits import EARLIEST_FIELD_DATE
        from .times import parse_date

        return parse_date(str(value), f"field {key}", earliest=EARLIEST_FIELD_DATE).isoformat()
    if t == "bool":
        if isinstance(value, bool):
            return value
        s = str(value).lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise Invalid(Msg("field {key}: '{value}' is not yes/no (true/false, 是/否)", key=key, value=value))
    if t == "choice":
        choices = fdef.choices or {}
        if value in choices:
            return value
        by_label = {label: code for code, label in choices.items()}
        if value in by_label:
            return by_label[value]
        raise Invalid(Msg("field {key}: unknown choice '{value}': use {known}", key=key, value=value, known=_labelled(choices)))
    if t == "phone":
        if not _PHONE_RE.match(str(value)):
            raise Invalid(Msg("field {key}: '{value}' is not a phone number", key=key, value=value))
        return str(value)
    if t == "email":
        if len(str(value)) > limit:
            raise Invalid(Msg("field {key} is longer than {limit} characters", key=key, limit=limit))
        if not _EMAIL_RE.match(str(value)):
            raise Invalid(Msg("field {key}: '{value}' is not an e-mail address", key=key, value=value))
        return str(value)
    return clean_text(str(value), f"field {key}", max_len=limit)


def normalise_fields(index: SegmentIndex, given: Mapping[str, Any], *, base: Mapping[str, Any] | None = None,
                     complete: bool = True) -> dict:
    out = dict(base or {})
    for name, value in given.items():
        key = index.field_key(name)
        if key is None:
            raise Invalid(Msg("unknown field '{name}': the policy has {known}", name=name, known=', '.join(index.fields) or Msg("none")))
        v = coerce_field(index.fields[key], value)
        if v is None:
            out.pop(key, None)
        else:
            out[key] = v
    if complete:
        for key, fdef in index.fields.items():
            if fdef.required and key not in out:
                raise Invalid(Msg("field {key} ({label}) is required", key=key, label=fdef.label))
    return out


def format_code(pattern: str, seq: int) -> str:
    return pattern.format(seq=seq)


def code_regex(pattern: str) -> re.Pattern:
    """A regex matching codes the pattern makes, capturing the sequence number."""
    m = re.search(r"\{seq(?::0?(\d+)d)?\}", pattern)
    if not m:
        return re.compile(r"^$")
    head, tail = re.escape(pattern[: m.start()]), re.escape(pattern[m.end():])
    return re.compile(f"^{head}(\\d+){tail}$")


def clean_code(text: str) -> str:
    code = (text or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-/]{0,31}", code):
        raise Invalid(Msg("customer code '{text}' must be 1-32 letters, digits, '-', '_', '.', '/'", text=text))
    return code


# ----------------------------------------------------------------------------------------------
# Admission chain


@dataclass(frozen=True)
class ChainState:
    """Where an admission stands: the steps approved so far in this round, and who approved them."""

    chain: tuple[str, ...]
    approved_by: tuple[str, ...]  # logins, one per approved step, in order

    @classmethod
    def from_approvals(cls, chain: Iterable[str], approvals: Iterable[tuple[int, str]]) -> "ChainState":
        """The state from the round's approvals as ``(step, login)``, counted by step: the first
        approval of a step counts, a second one of the same step (written by a race before schema
        0007 made it impossible) does not, and the chain stands at the first step not approved."""
        chain = tuple(chain)
        by_step: dict[int, str] = {}
        for step, login in approvals:
            by_step.setdefault(step, login)
        done = []
        for step in range(1, len(chain) + 1):
            if step not in by_step:
                break
            done.append(by_step[step])
        return cls(chain, tuple(done))

    @property
    def next_step(self) -> int | None:
        """1-based number of the step waiting, or None when the chain is complete."""
        n = len(self.approved_by)
        return n + 1 if n < len(self.chain) else None

    @property
    def next_role(self) -> str | None:
        step = self.next_step
        return self.chain[step - 1] if step else None


def check_approver(state: ChainState, login: str, roles: Iterable[str], *, is_admin: bool = False,
                   one_person_one_step: bool = True, role_labels: Mapping[str, str] | None = None) -> int:
    """The step ``login`` may decide now, or Refused saying why not.  Where a step of the person's
    role was approved by someone else (typically just before, by a colleague deciding at the same
    time), the refusal names who."""
    step = state.next_step
    roles = set(roles)
    if step is None:
        raise Refused(Msg("every step of the admission chain is already approved"))
    role = state.chain[step - 1]
    named = lambda r: Term(r, (role_labels or {}).get(r, r))  # noqa: E731 - a role: its label in Chinese
    if role not in roles and not is_admin:
        theirs = [k for k in range(1, step) if state.chain[k - 1] in roles]
        if theirs:
            k = theirs[-1]
            raise Refused(Msg("step {k} ({role_before}) is already approved by {approver}; step {step} of {steps} waits for role {role}, which {login} does not hold", k=k, role_before=named(state.chain[k - 1]), approver=state.approved_by[k - 1], step=step, steps=len(state.chain), role=named(role), login=login))
        raise Refused(Msg("step {step} of {steps} waits for role {role}; {login} does not hold it", step=step, steps=len(state.chain), role=named(role), login=login))
    if one_person_one_step and login in state.approved_by:
        raise Refused(Msg("{login} already approved an earlier step of this admission; one person, one step", login=login))
    return step


def initial_grades(policy, segments: Mapping[str, str], fields: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The grade each scale gives a newly admitted customer: a fixed grade by segment, else the initial grade."""
    out: dict[str, str] = {}
    grading = getattr(policy, "grading", None)
    for code, scale in ((grading.scales if grading else None) or {}).items():
        if not matches(scale.applies_to, segments=segments, fields=fields):
            continue
        grade = None
        for rule in scale.fixed or []:
            if matches(rule.when, segments=segments, fields=fields):
                grade = rule.grade
                break
        grade = grade or scale.initial_grade
        if grade:
            out[code] = grade
    return out


def criteria_scores(criteria: Mapping[str, str], given: Mapping[str, str], scale_max: int,
                    minimums: Mapping[str, int] | None = None) -> dict[str, int]:
    """Admission criteria scored at application (manufacturer: six criteria, 1..scale_max each); a
    score below the policy's minimum of its criterion is refused (二.1: customers must meet them)."""
    if not criteria:
        if given:
            raise Refused(Msg("this policy scores no admission criteria"))
        return {}
    by_label = {label: code for code, label in criteria.items()}
    out: dict[str, int] = {}
    for name, value in given.items():
        key = name if name in criteria else by_label.get(name)
        if key is None:
            raise Invalid(Msg("unknown criterion '{name}': use {known}", name=name, known=_labelled(criteria)))
        try:
            n = int(str(value).strip())
        except ValueError:
            raise Invalid(Msg("criterion {key}: '{value}' is not a whole number", key=key, value=value)) from None
        if not 1 <= n <= scale_max:
            raise Invalid(Msg("criterion {key}: {n} is outside 1..{scale_max}", key=key, n=n, scale_max=scale_max))
        out[key] = n
    missing = [k for k in criteria if k not in out]
    if missing:
        raise Invalid(Msg("score every admission criterion: missing {missing} (--criterion KEY=1..{scale_max})", missing=', '.join(missing), scale_max=scale_max))
    below = [(k, out[k], m) for k, m in (minimums or {}).items() if k in out and out[k] < m]
    if below:
        k, n, m = below[0]
        if len(below) > 1:
            raise Refused(Msg("criterion {k} ({label}) scores {n}, below the policy's minimum of {m}: the customer does "
                              "not meet the admission criteria (and {more} more)", k=k, label=criteria[k], n=n, m=m,
                              more=len(below) - 1), field=k)
        raise Refused(Msg("criterion {k} ({label}) scores {n}, below the policy's minimum of {m}: the customer does not "
                          "meet the admission criteria", k=k, label=criteria[k], n=n, m=m), field=k)
    return out


def document_problems(required: Iterable[str], docs: Iterable[tuple[str, date | None]], today: date,
                      labels: Mapping[str, str] | None = None) -> list[str]:
    """Required documents missing or expired, for ``customer submit``.  ``docs`` = (type, expires)."""
    valid = {t for t, exp in docs if exp is None or exp >= today}
    labels = labels or {}
    return [coded(t, labels.get(t, t)) for t in required if t not in valid]
