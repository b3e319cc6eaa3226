"""TOML text -> ``Policy``, or every problem with its TOML path.

Beancount-style: problems are values with a location, never crashes.  Two passes:

1. pydantic checks the shape (types, required keys, unknown keys, single-value formats).  Its error
   locations are turned into TOML paths (``grading.scales.big.bands[2].min``).
2. a cross-reference pass (``_Checker``) checks what involves more than one value: references to
   roles, segments, fields, grades, documents, activity kinds and holidays; contiguous bands; shares
   and weights summing to 100; SLA rule order; and so on.

When pass 1 fails for some top-level tables, pass 2 still runs over the tables that are fine (and
skips references *into* the broken ones), so one run reports as much as possible.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Annotated, Any, Iterable

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]

from crmctl.errors import PolicyInvalid
from crmctl.rules.durations import parse_duration
from crmctl.rules.limits import MAX_POLICY_DEPTH
from crmctl.policies import schema as S

# --------------------------------------------------------------------------------------------------
# TOML
# --------------------------------------------------------------------------------------------------

_TOML_POS = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)\s*$", re.S)
_TOML_END = re.compile(r"^(?P<msg>.*?)\s*\(at end of document\)\s*$", re.S)


def toml_problem(exc: Exception, text: str) -> str:
    """A TOMLDecodeError as ``line L, column C: message``."""
    msg = str(exc)
    m = _TOML_POS.match(msg)
    if m:
        return f"line {m['line']}, column {m['col']}: {m['msg']}"
    m = _TOML_END.match(msg)
    if m:
        lines = text.split("\n")
        return f"line {len(lines)}, column {len(lines[-1]) + 1}: {m['msg']} (at end of document)"
    lineno = getattr(exc, "lineno", None)
    if lineno:
        return f"line {lineno}, column {getattr(exc, 'colno', 1)}: {msg}"
    return f"line 1, column 1: {msg}"


class _TooDeep(Exception):
    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


_DEEP = f"nested deeper than {MAX_POLICY_DEPTH} levels of tables and arrays (a policy needs far fewer)"


def _depth_problem(data: dict) -> str | None:
    """Where parsed TOML nests deeper than ``MAX_POLICY_DEPTH`` (walked without recursion)."""
    stack: list[tuple[Any, int, tuple]] = [(data, 0, ())]
    while stack:
        value, depth, parts = stack.pop()
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        if depth >= MAX_POLICY_DEPTH:
            return f"{render_path(parts[:MAX_POLICY_DEPTH])}: {_DEEP}"
        for k, v in items:
            if isinstance(v, (dict, list)):
                stack.append((v, depth + 1, parts + (k,)))
    return None


def _loads(text: str) -> dict:
    """``tomllib.loads``, refusing a document nested too deeply (the parser would run out of stack)."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise _TooDeep(f"line 1, column 1: {_DEEP}") from None
    problem = _depth_problem(data)
    if problem:
        raise _TooDeep(problem)
    return data


def parse_toml(text: str, source: str = "policy") -> dict:
    """Parse TOML or raise ``PolicyInvalid`` with one ``line L, column C: ...`` problem."""
    try:
        return _loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyInvalid(source, [toml_problem(exc, text)]) from None
    except _TooDeep as exc:
        raise PolicyInvalid(source, [exc.problem]) from None


# --------------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(part: str) -> str:
    if _BARE_KEY.match(part):
        return part
    return '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_path(parts: Iterable[str | int]) -> str:
    """``("grading", "scales", "big", "bands", 2, "min")`` -> ``grading.scales.big.bands[2].min``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _key(str(part))
    return out or "(top)"


def _loc_to_parts(loc: tuple, data: Any) -> list[str | int]:
    """Walk a pydantic error location along the input data.

    Elements that are not keys/indexes of the data (union tags, ``[key]`` markers, ...) are dropped;
    a last element that is missing from a table is kept (a missing key)."""
    parts: list[str | int] = []
    cur = data
    for i, el in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(cur, dict) and isinstance(el, str):
            if el in cur:
                parts.append(el)
                cur = cur[el]
            elif last:
                parts.append(el)
                cur = None
        elif isinstance(cur, list) and isinstance(el, int) and not isinstance(el, bool):
            if 0 <= el < len(cur):
                parts.append(el)
                cur = cur[el]
            else:
                break
        # anything else: a union/function tag, a [key] marker, or a scalar normalised by a validator
    return parts


_SIMPLE_MESSAGES = {
    "missing": "required but missing",
    "extra_forbidden": "unknown key",
    "string_type": "must be text (a quoted string)",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "float_type": "must be a number",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "list_type": "must be an array",
    "date_type": "must be a date (YYYY-MM-DD)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "must be a date without a time of day",
}


def _format_error(err: dict, data: Any) -> str:
    loc = tuple(err.get("loc", ()))
    typ = err.get("type", "")
    ctx = err.get("ctx") or {}
    parts = _loc_to_parts(loc, data)
    if typ == "scale_method":
        parts.append("method")
        raw = err.get("input")
        msg = "required: 'threshold' or 'rank'" if isinstance(raw, dict) and "method" not in raw else err["msg"]
    elif typ in _SIMPLE_MESSAGES:
        msg = _SIMPLE_MESSAGES[typ]
    elif typ == "literal_error":
        msg = f"must be {ctx.get('expected', 'one of the allowed values')}"
    elif typ in ("value_error", "assertion_error"):
        msg = re.sub(r"^(Value|Assertion) error, ", "", err["msg"])
    elif typ == "greater_than_equal":
        msg = f"must be at least {ctx.get('ge')}"
    elif typ == "greater_than":
        msg = f"must be above {ctx.get('gt')}"
    elif typ == "less_than_equal":
        msg = f"must be at most {ctx.get('le')}"
    elif typ == "less_than":
        msg = f"must be below {ctx.get('lt')}"
    elif typ == "string_pattern_mismatch" and parts and parts[-1] == "currency":
        msg = "must be a 3-letter currency code such as 'CNY'"
    else:
        msg = err.get("msg", "invalid")
        msg = msg[:1].lower() + msg[1:]
    if "[key]" in loc:
        msg = f"invalid key: {msg}"
    return f"{render_path(parts)}: {msg}"


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------

_ADAPTERS: dict[str, Any] = {}


def _section_adapter(name: str):
    if name not in _ADAPTERS:
        from pydantic import TypeAdapter

        f = S.Policy.model_fields[name]
        ann = Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation
        _ADAPTERS[name] = TypeAdapter(ann)
    return _ADAPTERS[name]


def _partial_policy(data: dict, broken: set) -> S.Policy:
    """A Policy holding the top-level tables that validated; broken ones are None."""
    values: dict[str, Any] = {}
    for name, f in S.Policy.model_fields.items():
        if name in broken:
            values[name] = None
        elif name in data:
            try:
                values[name] = _section_adapter(name).validate_python(data[name])
            except Exception:  # pragma: no cover - validated alone it should pass
                values[name] = None
        elif f.is_required():
            values[name] = None
        else:
            values[name] = f.get_default(call_default_factory=True)
    return S.Policy.model_construct(**values)


def validate_data(data: dict) -> tuple[S.Policy | None, list[str]]:
    """Parsed TOML -> (policy, []) or (None, problems)."""
    from pydantic import ValidationError

    problems: list[str] = []
    try:
        policy = S.Policy.model_validate(data)
        target = policy
    except ValidationError as exc:
        policy = None
        errors = exc.errors()
        problems.extend(_format_error(e, data) for e in errors)
        broken = {e["loc"][0] for e in errors if e.get("loc")}
        target = _partial_policy(data, broken)
    problems.extend(_Checker(target).run())
    seen: set[str] = set()
    unique = [p for p in problems if not (p in seen or seen.add(p))]
    return (policy if not unique else None), unique


def check_text(text: str) -> tuple[S.Policy | None, list[str]]:
    try:
        data = _loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [toml_problem(exc, text)]
    except _TooDeep as exc:
        return None, [exc.problem]
    return validate_data(data)


def parse_policy(text: str, source: str = "policy") -> S.Policy:
    policy, problems = check_text(text)
    if problems:
        raise PolicyInvalid(source, problems)
    return policy


def check_policy(text: str, source: str = "policy") -> list[str]:
    return check_text(text)[1]


# --------------------------------------------------------------------------------------------------
# The cross-reference pass
# --------------------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _names(codes: Iterable[str]) -> str:
    return ", ".join(codes)


class _Checker:
    def __init__(self, p: S.Policy):
        self.p = p
        self.problems: list[str] = []
        self.roles = set(p.roles) if p.roles is not None else None
        self.segments = {s.key: s for s in p.segments} if p.segments is not None else None
        self.fields = {f.key: f for f in p.fields} if p.fields is not None else None
        self.scales = dict(p.grading.scales) if p.grading is not None else None
        self.documents = set(p.documents) if p.documents is not None else None
        self.kinds = set(p.activities.kinds) if p.activities is not None else None
        self.calendar = p.calendar
        self.holidays = set(p.calendar.greeting_holidays) if p.calendar is not None else None

    # ---- helpers ----

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def role(self, path: str, code: str | None) -> None:
        if code is not None and self.roles is not None and code not in self.roles:
            self.add(path, f"unknown role '{code}' (define it in [roles])")

    def kind(self, path: str, code: str) -> None:
        if self.kinds is not None and code not in self.kinds:
            self.add(path, f"unknown activity kind '{code}' (define it in activities.kinds)")

    def document(self, path: str, code: str) -> None:
        if self.documents is not None and code not in self.documents:
            self.add(path, f"unknown document type '{code}' (define it as [documents.{code}])")

    def duration(self, path: str, text: str | None) -> None:
        if text is None:
            return
        try:
            d = parse_duration(text)
        except ValueError as exc:  # pragma: no cover - the schema already checked it
            self.add(path, str(exc))
            return
        if d.unit == "working_hours" and self.calendar is not None and not self.calendar.business_hours:
            self.add(path, f"'{text}' counts working hours but calendar.business_hours is empty")

    def duplicates(self, items: list, path: str, what: str, suffix: str = "") -> None:
        first: dict[Any, int] = {}
        for i, item in enumerate(items):
            if item in first:
                self.add(f"{path}[{i}]{suffix}", f"duplicate {what} '{item}' (also at [{first[item]}])")
            else:
                first[item] = i

    def condition(self, cond: S.Condition | None, path: str, *, own_scale: str | None = None) -> None:
        if cond is None:
            return
        for table, negated in (("segments", False), ("not_segments", True)):
            for key, values in getattr(cond, table).items():
                kp = f"{path}.{table}.{_key(key)}"
                if self.segments is None:
                    continue
                seg = self.segments.get(key)
                if seg is None:
                    self.add(kp, f"unknown segment '{key}'")
                    continue
                if not values:
                    self.add(kp, "must list at least one value")
                for v in values:
                    if v not in seg.values:
                        self.add(kp, f"unknown value '{v}' of segment '{key}' (use one of {_names(seg.values)})")
        for key, values in cond.fields.items():
            kp = f"{path}.fields.{_key(key)}"
            if self.fields is None:
                continue
            fld = self.fields.get(key)
            if fld is None:
                self.add(kp, f"unknown field '{key}'")
                continue
            if not values:
                self.add(kp, "must list at least one value")
            for v in values:
                problem = _value_problem(fld, v)
                if problem:
                    self.add(kp, problem)
        for scale_code, grades in cond.grades.items():
            kp = f"{path}.grades.{_key(scale_code)}"
            if self.scales is None:
                continue
            scale = self.scales.get(scale_code)
            if scale is None:
                self.add(kp, f"unknown grading scale '{scale_code}'")
                continue
            if scale_code == own_scale:
                self.add(kp, "a scale cannot select or fix its customers by its own grades")
                continue
            if not grades:
                self.add(kp, "must list at least one grade")
            for g in grades:
                if g not in scale.grade_codes:
                    self.add(kp, f"unknown grade '{g}' of scale '{scale_code}' (use one of {_names(scale.grade_codes)})")

    # ---- the pass ----

    def run(self) -> list[str]:
        p = self.p
        for name in (
            "roles", "segments", "fields", "constraints", "admission", "documents", "disqualification",
            "grading", "stability", "churn", "calendar", "complaints", "service", "proposals", "activities",
            "surveys", "permissions", "development", "sales_plans", "reports",
        ):
            section = getattr(p, name, None)
            if section is not None:
                getattr(self, "check_" + name)(section)
        return self.problems

    def check_roles(self, roles: dict) -> None:
        if not roles:
            self.add("roles", "define at least one role")
        if "keeper" in roles:
            self.add("roles.keeper", "'keeper' is reserved (it means the customer's owner in cadences)")

    def check_segments(self, segments: list[S.Segment]) -> None:
        self.duplicates([s.key for s in segments], "segments", "segment key", ".key")
        for i, seg in enumerate(segments):
            sp = f"segments[{i}]"
            if seg.key in S.RESERVED_CUSTOMER_KEYS:
                self.add(f"{sp}.key", f"'{seg.key}' is reserved for a customer column")
            if not seg.values:
                self.add(f"{sp}.values", "define at least one value")
            if seg.when is not None:
                if seg.key in seg.when.segments or seg.key in seg.when.not_segments:
                    self.add(f"{sp}.when", "a segment cannot depend on itself")
                else:
                    self.condition(seg.when, f"{sp}.when")

    def check_fields(self, fields: list[S.CustomField]) -> None:
        self.duplicates([f.key for f in fields], "fields", "field key", ".key")
        for i, fld in enumerate(fields):
            fp = f"fields[{i}]"
            if fld.key in S.RESERVED_CUSTOMER_KEYS:
                self.add(f"{fp}.key", f"'{fld.key}' is reserved for a customer column")
            if self.segments is not None and fld.key in self.segments:
                self.add(f"{fp}.key", f"'{fld.key}' is already a segment key")
            if fld.type == "choice" and not fld.choices:
                self.add(f"{fp}.choices", "a choice field needs choices")
            if fld.type != "choice" and fld.choices is not None:
                self.add(f"{fp}.choices", f"only a field of type 'choice' has choices (this one is '{fld.type}')")
            if fld.when is not None:
                if fld.key in fld.when.fields:
                    self.add(f"{fp}.when", "a field cannot depend on itself")
                else:
                    self.condition(fld.when, f"{fp}.when")

    def check_constraints(self, constraints: list[S.Constraint]) -> None:
        for i, c in enumerate(constraints):
            cp = f"constraints[{i}]"
            self.condition(c.if_, f"{cp}.if")
            if c.then.is_empty:
                self.add(f"{cp}.then", "must require something")
            self.condition(c.then, f"{cp}.then")

    def check_admission(self, a: S.Admission) -> None:
        for i, r in enumerate(a.chain):
            self.role(f"admission.chain[{i}]", r)
        self.duplicates(a.chain, "admission.chain", "role")
        if a.step_labels is not None and len(a.step_labels) != len(a.chain):
            self.add("admission.step_labels", f"has {len(a.step_labels)} labels for {len(a.chain)} chain steps")
        for r, docs in a.step_documents.items():
            rp = f"admission.step_documents.{_key(r)}"
            if r not in a.chain:
                self.add(rp, f"'{r}' is not a step of admission.chain")
            for j, d in enumerate(docs):
                self.document(f"{rp}[{j}]", d)
        for i, d in enumerate(a.required_documents):
            self.document(f"admission.required_documents[{i}]", d)
        self.duplicates(a.required_documents, "admission.required_documents", "document")
        if a.missing_documents == "suspend" and not a.required_documents:
            self.add("admission.missing_documents", "'suspend' needs required_documents (no document is required)")
        for k, m in a.criteria_min.items():
            kp = f"admission.criteria_min.{_key(k)}"
            if k not in a.criteria:
                self.add(kp, f"unknown criterion '{k}' (use one of {_names(list(a.criteria))})")
            elif m > a.criteria_scale_max:
                self.add(kp, f"{m} is above criteria_scale_max ({a.criteria_scale_max})")

    def check_documents(self, docs: dict[str, S.DocumentType]) -> None:
        for code, d in docs.items():
            dp = f"documents.{_key(code)}"
            if d.suspends_on_expiry and not d.expires:
                self.add(f"{dp}.suspends_on_expiry", "needs expires = true")
            if d.renew_notice_days is not None and not d.expires:
                self.add(f"{dp}.renew_notice_days", "needs expires = true")
            if d.renew_notice is not None:
                if not d.expires:
                    self.add(f"{dp}.renew_notice", "needs expires = true")
                if d.renew_notice_days is not None:
                    self.add(f"{dp}.renew_notice", "give renew_notice or renew_notice_days, not both")
                unit = parse_duration(d.renew_notice).unit
                if unit not in ("days", "months", "years"):
                    self.add(f"{dp}.renew_notice", f"'{d.renew_notice}': use days, months or years (calendar time)")
            if d.notice_kind is not None:
                self.kind(f"{dp}.notice_kind", d.notice_kind)
                if d.renew_notice_days is None and d.renew_notice is None:
                    self.add(f"{dp}.notice_kind", "needs renew_notice (or renew_notice_days)")

    def check_disqualification(self, d: S.Disqualification) -> None:
        if not d.reasons:
            self.add("disqualification.reasons", "define at least one reason")
        self.role("disqualification.reinstate_role", d.reinstate_role)

    # ---- grading ----

    def check_grading(self, g: S.Grading) -> None:
        for code, scale in g.scales.items():
            self.check_scale(code, scale, f"grading.scales.{_key(code)}")

    def check_scale(self, code: str, scale: S.ScaleModel, sp: str) -> None:
        codes = scale.grade_codes
        if not codes:
            self.add(f"{sp}.grades", "define at least one grade")
        self.duplicates(codes, f"{sp}.grades", "grade", ".code")
        if not scale.periods:
            self.add(f"{sp}.periods", "name at least one period (month, quarter, half-year, year)")
        self.duplicates(list(scale.periods), f"{sp}.periods", "period")
        if scale.review is not None and scale.review not in scale.periods:
            self.add(f"{sp}.review", f"'{scale.review}' is not one of the scale's periods ({_names(list(scale.periods))})")
        self.condition(scale.applies_to, f"{sp}.applies_to", own_scale=code)
        if scale.initial_grade is not None and scale.initial_grade not in codes:
            self.add(f"{sp}.initial_grade", f"unknown grade '{scale.initial_grade}' (use one of {_names(codes)})")
        fixed_grades = set()
        for i, fx in enumerate(scale.fixed):
            fp = f"{sp}.fixed[{i}]"
            if fx.grade not in codes:
                self.add(f"{fp}.grade", f"unknown grade '{fx.grade}' (use one of {_names(codes)})")
            fixed_grades.add(fx.grade)
            if fx.when.is_empty:
                self.add(f"{fp}.when", "must select some customers (an empty condition would fix everybody)")
            self.condition(fx.when, f"{fp}.when", own_scale=code)
        for table in ("owner_roles", "team_roles", "benefits"):
            for grade, value in getattr(scale, table).items():
                gp = f"{sp}.{table}.{_key(grade)}"
                if grade not in codes:
                    self.add(gp, f"unknown grade '{grade}' (use one of {_names(codes)})")
                if table == "owner_roles":
                    self.role(gp, value)
                elif table == "team_roles":
                    for j, r in enumerate(value):
                        self.role(f"{gp}[{j}]", r)
        if scale.method == "threshold":
            self.check_threshold_bands(scale, sp)
        else:
            self.check_rank(scale, sp)
        banded = {b.grade for b in scale.bands}
        for i, g in enumerate(codes):
            if g not in banded and g != scale.initial_grade and g not in fixed_grades:
                self.add(f"{sp}.grades[{i}]", f"grade '{g}' is in no band and is neither initial_grade nor a fixed grade")

    def _band_grades(self, scale: S.ScaleModel, sp: str, ascending: bool) -> None:
        codes = scale.grade_codes
        seen: dict[str, int] = {}
        prev_rank = None
        for i, b in enumerate(scale.bands):
            gp = f"{sp}.bands[{i}].grade"
            if b.grade not in codes:
                self.add(gp, f"unknown grade '{b.grade}' (use one of {_names(codes)})")
                continue
            if b.grade in seen:
                self.add(gp, f"grade '{b.grade}' is already in bands[{seen[b.grade]}]")
                continue
            seen[b.grade] = i
            rank = codes.index(b.grade)
            if prev_rank is not None and ((rank <= prev_rank) if ascending else (rank >= prev_rank)):
                order = "up (low to high)" if ascending else "down (top band first)"
                self.add(gp, f"bands must go {order} the order of grades: '{b.grade}' is out of order")
            prev_rank = rank

    def _contiguous(self, bands: list, sp: str, *, first_zero: bool) -> None:
        for i, b in enumerate(bands):
            bp = f"{sp}.bands[{i}]"
            if i == 0 and first_zero and b.min != 0:
                self.add(f"{bp}.min", f"the first band must start at 0, not {_fmt(b.min)}")
            if i > 0:
                prev = bands[i - 1]
                if prev.max is None:
                    self.add(f"{sp}.bands[{i - 1}].max", "only the last band may leave out max")
                elif b.min != prev.max:
                    self.add(
                        f"{bp}.min",
                        f"must equal bands[{i - 1}].max (no gap or overlap): it is {_fmt(b.min)}, "
                        f"bands[{i - 1}].max is {_fmt(prev.max)}",
                    )
            if b.max is not None and b.max <= b.min:
                self.add(f"{bp}.max", f"must be above min ({_fmt(b.min)})")

    def check_threshold_bands(self, scale: S.ThresholdScale, sp: str) -> None:
        if not scale.bands:
            self.add(f"{sp}.bands", "define at least one band")
            return
        self._band_grades(scale, sp, ascending=True)
        self._contiguous(scale.bands, sp, first_zero=True)

    def check_rank(self, scale: S.RankScale, sp: str) -> None:
        if not scale.bands:
            self.add(f"{sp}.bands", "define at least one band")
        else:
            self._band_grades(scale, sp, ascending=False)
            for i, b in enumerate(scale.bands):
                if b.share <= 0:
                    self.add(f"{sp}.bands[{i}].share", "must be above 0")
            total = sum(b.share for b in scale.bands)
            if not math.isclose(total, 100, abs_tol=1e-9):
                self.add(f"{sp}.bands", f"shares must sum to 100, they sum to {_fmt(total)}")
        if not scale.factors:
            self.add(f"{sp}.factors", "define at least one factor")
            return
        total = 0
        for fcode, f in scale.factors.items():
            fp = f"{sp}.factors.{_key(fcode)}"
            total += f.weight
            if f.weight <= 0:
                self.add(f"{fp}.weight", "must be above 0")
            if f.manual:
                if f.default_score is None:
                    self.add(f"{fp}.default_score", "required for a manual factor (used until it is scored)")
                if f.bands:
                    self.add(f"{fp}.bands", "a manual factor has no bands (it is scored 1-10 with `score set`)")
            else:
                if not f.bands:
                    self.add(f"{fp}.bands", f"a measured factor ({f.source}) needs bands")
                if f.purchase_prices and f.source != "spread":
                    self.add(f"{fp}.purchase_prices", "only a spread factor subtracts purchase prices")
                for label in f.purchase_prices:
                    if _label_kind(label) not in scale.periods:
                        self.add(f"{fp}.purchase_prices.{_key(label)}",
                                 f"'{label}' is not a period label of the scale's periods ({_names(list(scale.periods))})")
                self._contiguous(f.bands, fp, first_zero=False)
                for i, b in enumerate(f.bands):
                    bp = f"{fp}.bands[{i}]"
                    if b.score_min > b.score_max:
                        self.add(f"{bp}.score_max", f"must not be below score_min ({b.score_min})")
                    if i > 0 and b.score_min <= f.bands[i - 1].score_max:
                        self.add(f"{bp}.score_min", f"must be above bands[{i - 1}].score_max (scores rise with the value)")
                    if b.max is None and b.score_min != b.score_max:
                        self.add(
                            f"{bp}.max",
                            "required when score_min differs from score_max (linear scoring needs an upper bound)",
                        )
        if not math.isclose(total, 100, abs_tol=1e-9):
            self.add(f"{sp}.factors", f"weights must sum to 100, they sum to {_fmt(total)}")

    # ---- other tables ----

    def check_stability(self, s: S.Stability) -> None:
        # a customer's status and its stability show side by side: one word must not mean both
        statuses = getattr(self.p, "statuses", None)
        if statuses is None or getattr(s, "labels", None) is None:
            return  # a damaged section: its own problem is reported
        words = {label: code for code, label in s.labels.model_dump().items()}
        for status, label in statuses.labels().items():
            if label in words:
                self.add(f"statuses.{status}", f"'{label}' is also stability.labels.{words[label]}: a status "
                         "and a stability shown on one row must not read the same")

    def check_churn(self, c: S.Churn) -> None:
        self.condition(c.applies_to, "churn.applies_to")

    def check_calendar(self, c: S.Calendar) -> None:
        self.duplicates(list(c.weekend), "calendar.weekend", "weekday")
        windows = c.business_windows()
        for i in range(1, len(windows)):
            if windows[i][0] < windows[i - 1][1]:
                self.add(
                    f"calendar.business_hours[{i}]",
                    f"must start after business_hours[{i - 1}] ends (windows in order, no overlap)",
                )
        self.duplicates([d.isoformat() for d in c.extra_holidays], "calendar.extra_holidays", "date")
        self.duplicates([d.isoformat() for d in c.extra_workdays], "calendar.extra_workdays", "date")
        holidays = set(c.extra_holidays)
        for i, d in enumerate(c.extra_workdays):
            if d in holidays:
                self.add(f"calendar.extra_workdays[{i}]", f"{d.isoformat()} is also in extra_holidays")
        for code in c.greeting_holidays:
            if code not in S.GREETING_HOLIDAY_CODES:
                self.add(
                    f"calendar.greeting_holidays.{_key(code)}",
                    f"unknown holiday '{code}' (use one of {_names(S.GREETING_HOLIDAY_CODES)})",
                )

    def check_complaints(self, c: S.Complaints) -> None:
        sev = c.severities
        if not sev:
            self.add("complaints.severities", "define at least one severity")
        if c.default_severity not in sev:
            self.add("complaints.default_severity", f"unknown severity '{c.default_severity}' (use one of {_names(sev)})")
        if not c.sla:
            self.add("complaints.sla", "define at least one rule (the last one without when/severity)")
        default_at = None
        for i, rule in enumerate(c.sla):
            rp = f"complaints.sla[{i}]"
            if default_at is not None:
                self.add(rp, f"never used: sla[{default_at}] before it already applies to every complaint")
            if rule.severity is not None and rule.severity not in sev:
                self.add(f"{rp}.severity", f"unknown severity '{rule.severity}' (use one of {_names(sev)})")
            self.condition(rule.when, f"{rp}.when")
            self.duration(f"{rp}.due", rule.due)
            if rule.is_default and default_at is None:
                default_at = i
        if c.sla and not c.sla[-1].is_default:
            self.add(
                f"complaints.sla[{len(c.sla) - 1}]",
                "the last rule must have no 'when' and no 'severity' (it is the default)",
            )
        for i, s in enumerate(c.escalate):
            if s not in sev:
                self.add(f"complaints.escalate[{i}]", f"unknown severity '{s}' (use one of {_names(sev)})")
        if c.escalate and c.escalate_role is None:
            self.add("complaints.escalate_role", "required when complaints.escalate is not empty")
        self.role("complaints.escalate_role", c.escalate_role)
        if c.extension is not None:
            self.duration("complaints.extension.max_total", c.extension.max_total)
            self.role("complaints.extension.approver_role", c.extension.approver_role)
            for i, s in enumerate(c.extension.severities):
                if s not in sev:
                    self.add(f"complaints.extension.severities[{i}]", f"unknown severity '{s}' (use one of {_names(sev)})")
        if c.opinion_approval is not None:
            self.role("complaints.opinion_approval.approver_role", c.opinion_approval.approver_role)
            for i, s in enumerate(c.opinion_approval.severities):
                if s not in sev:
                    self.add(f"complaints.opinion_approval.severities[{i}]",
                             f"unknown severity '{s}' (use one of {_names(sev)})")
        if c.escalate_before_close and not c.escalate:
            self.add("complaints.escalate_before_close", "needs complaints.escalate (the severities escalated)")
        if c.follow_up is not None:
            self.kind("complaints.follow_up.kind", c.follow_up.kind)
            self.role("complaints.follow_up.role", c.follow_up.role)
            self.duration("complaints.follow_up.due", c.follow_up.due)
            self.condition(c.follow_up.when, "complaints.follow_up.when")

    def check_service(self, s: S.Service) -> None:
        if not s.kinds:
            self.add("service.kinds", "define at least one kind")
        if s.default_location is not None and s.default_location not in s.locations:
            self.add("service.default_location", f"unknown location '{s.default_location}'")
        self.role("service.overdue_role", s.overdue_role)
        self.role("service.technician_role", s.technician_role)
        if s.service_type_required and not s.service_types:
            self.add("service.service_type_required", "needs service.service_types")
        for st, doc in s.service_type_documents.items():
            sp = f"service.service_type_documents.{_key(st)}"
            if st not in s.service_types:
                self.add(sp, f"unknown service type '{st}' (use one of {_names(list(s.service_types))})")
            self.document(sp, doc)
        for i, k in enumerate(s.resolve_needs_dispatch):
            if k not in s.kinds:
                self.add(f"service.resolve_needs_dispatch[{i}]", f"unknown kind '{k}' (use one of {_names(list(s.kinds))})")
        defaults: dict[tuple[str, str], int] = {}
        for i, clk in enumerate(s.clocks):
            cp = f"service.clocks[{i}]"
            if clk.kind not in s.kinds:
                self.add(f"{cp}.kind", f"unknown service kind '{clk.kind}' (use one of {_names(s.kinds)})")
            if (clk.kind, clk.clock) in defaults:
                self.add(cp, f"never used: clocks[{defaults[(clk.kind, clk.clock)]}] already applies to every '{clk.kind}' ticket")
            if clk.when is None or clk.when.is_empty:
                defaults.setdefault((clk.kind, clk.clock), i)
            if clk.when is not None:
                for j, loc in enumerate(clk.when.location):
                    if loc not in s.locations:
                        self.add(f"{cp}.when.location", f"unknown location '{loc}' (define it in service.locations)")
                for j, st in enumerate(clk.when.service_type):
                    if st not in s.service_types:
                        self.add(f"{cp}.when.service_type", f"unknown service type '{st}' (define it in service.service_types)")
                self.condition(clk.when, f"{cp}.when")
            self.duration(f"{cp}.due", clk.due)
            unit = parse_duration(clk.due).unit
            if clk.calendar == "24x7" and unit.startswith("working"):
                self.add(f"{cp}.calendar", f"'24x7' does not fit '{clk.due}' (working time)")
            if clk.calendar == "working" and not unit.startswith("working"):
                self.add(f"{cp}.calendar", f"'working' needs a due in working days or working hours, not '{clk.due}'")
        levels = list(s.rating_levels)
        expected = [str(n) for n in range(1, len(levels) + 1)]
        if sorted(levels, key=lambda k: (len(k), k)) != expected:
            self.add("service.rating_levels", f"keys must be \"1\" to \"{len(levels)}\" (one per level)")
        if s.rating_items and not s.rating_levels:
            self.add("service.rating_levels", "required when service.rating_items is set")
        for i, k in enumerate(s.rate_kinds):
            if k not in s.kinds:
                self.add(f"service.rate_kinds[{i}]", f"unknown service kind '{k}'")

    def check_proposals(self, pr: S.Proposals) -> None:
        if not pr.categories:
            self.add("proposals.categories", "define at least one category")
        self.duration("proposals.due", pr.due)
        if pr.benefit is not None:
            total = pr.benefit.company_pct + pr.benefit.customer_pct
            if not math.isclose(total, 100, abs_tol=1e-9):
                self.add("proposals.benefit", f"company_pct + customer_pct must be 100, they are {_fmt(total)}")

    def check_activities(self, a: S.Activities) -> None:
        if not a.kinds:
            self.add("activities.kinds", "define at least one kind")
        if a.handover_notice is not None:
            self.kind("activities.handover_notice.kind", a.handover_notice.kind)
            self.duration("activities.handover_notice.due", a.handover_notice.due)
        for kind in a.report_fields:
            self.kind(f"activities.report_fields.{_key(kind)}", kind)
        for i, c in enumerate(a.cadences):
            cp = f"activities.cadences[{i}]"
            self.kind(f"{cp}.kind", c.kind)
            for j, k in enumerate(c.counts):
                self.kind(f"{cp}.counts[{j}]", k)
                if k == c.kind:
                    self.add(f"{cp}.counts[{j}]", f"'{k}' is the cadence's own kind")
            if c.owner == "keeper":
                if c.scope == "company":
                    self.add(f"{cp}.owner", "a company-wide cadence has no keeper: name a role")
            elif self.roles is not None and c.owner not in self.roles:
                self.add(f"{cp}.owner", f"unknown role '{c.owner}' (use 'keeper' or a role of [roles])")
            if c.scope == "company" and c.when is not None and not c.when.is_empty:
                self.add(f"{cp}.when", "not allowed with scope = 'company'")
            self.condition(c.when, f"{cp}.when")
        if a.greetings is not None:
            g = a.greetings
            self.kind("activities.greetings.kind", g.kind)
            if not g.holidays:
                self.add("activities.greetings.holidays", "name at least one holiday")
            for i, h in enumerate(g.holidays):
                if self.holidays is not None and h not in self.holidays:
                    self.add(f"activities.greetings.holidays[{i}]", f"unknown holiday '{h}' (define it in calendar.greeting_holidays)")
            self.duplicates(list(g.holidays), "activities.greetings.holidays", "holiday")
            self.condition(g.when, "activities.greetings.when")

    def check_surveys(self, surveys: dict[str, S.Survey]) -> None:
        for code, sv in surveys.items():
            if not sv.items:
                self.add(f"surveys.{_key(code)}.items", "define at least one item")

    def check_permissions(self, pm: S.Permissions) -> None:
        for i, r in enumerate(pm.readers_roles):
            self.role(f"permissions.readers_roles[{i}]", r)
        if pm.important_field is not None and self.fields is not None:
            f = self.fields.get(pm.important_field)
            if f is None:
                self.add("permissions.important_field", f"unknown field '{pm.important_field}'")
            elif f.type != "bool":
                self.add("permissions.important_field", f"field '{f.key}' must be of type 'bool', not '{f.type}'")
        if pm.important_min_contacts is not None and pm.important_field is None:
            self.add("permissions.important_min_contacts", "needs permissions.important_field")

    def check_development(self, d: S.Development) -> None:
        pass  # shape only

    def check_sales_plans(self, sp: S.SalesPlans) -> None:
        self.condition(sp.when, "sales_plans.when")

    def check_reports(self, r: S.Reports) -> None:
        al = r.allocation
        if al is None or self.segments is None:
            return
        seg = self.segments.get(al.segment)
        if seg is None:
            self.add("reports.allocation.segment", f"unknown segment '{al.segment}'")
            return
        for table in ("priority", "rank_by_completion", "rank_by_evenness"):
            values = getattr(al, table)
            for i, v in enumerate(values):
                if v not in seg.values:
                    self.add(f"reports.allocation.{table}[{i}]", f"unknown value '{v}' of segment '{seg.key}'")
            self.duplicates(list(values), f"reports.allocation.{table}", "value")


def _value_problem(fld: S.CustomField, v: Any) -> str | None:
    t = fld.type
    if t == "bool":
        ok = isinstance(v, bool)
    elif t == "int":
        ok = isinstance(v, int) and not isinstance(v, bool)
    elif t == "decimal":
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    elif t == "choice":
        if isinstance(v, str) and fld.choices and v not in fld.choices:
            return f"unknown choice '{v}' of field '{fld.key}' (use one of {_names(fld.choices)})"
        ok = isinstance(v, str)
    elif t == "date":
        try:
            ok = isinstance(v, str) and bool(date.fromisoformat(v))
        except ValueError:
            ok = False
    else:
        ok = isinstance(v, str)
    return None if ok else f"{v!r} does not fit field '{fld.key}' of type '{t}'"


# --------------------------------------------------------------------------------------------------
# Dump and diff
# --------------------------------------------------------------------------------------------------


def policy_to_toml(policy: S.Policy) -> str:
    import tomli_w

    data = policy.model_dump(mode="json", exclude_none=True, exclude_defaults=True, by_alias=True)
    return tomli_w.dumps(data)


def _flatten(value: Any, parts: tuple, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(v, parts + (k,), out)
    elif isinstance(value, list) and value and any(isinstance(x, dict) for x in value):
        for i, v in enumerate(value):
            _flatten(v, parts + (i,), out)
    else:
        out[render_path(parts)] = value


def _show(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(str(k))} = {_show(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _label_kind(label: str) -> str | None:
    """The period kind of a label such as 2026, 2026-H1, 2026-Q3 or 2026-11 (None: not a label)."""
    from crmctl.rules.errors import Invalid
    from crmctl.rules.periods import parse_label

    try:
        return parse_label(label).kind
    except Invalid:
        return None


def _canonical(text: str, label: str) -> dict:
    """What a policy text means: the validated policy in one form (codes as lists, dates as ISO
    text, defaults left out) so that writing a value another way is no change; a text this schema
    refuses (an old stored version) is compared as written."""
    parse_toml(text, label)  # a TOML error is the caller's to see
    policy, problems = check_text(text)
    if policy is None or problems:
        return parse_toml(text, label)
    return policy.model_dump(mode="json", exclude_none=True, exclude_defaults=True, by_alias=True)


def diff_policies(old_text: str, new_text: str) -> list[str]:
    old = _canonical(old_text, "old policy")
    new = _canonical(new_text, "new policy")
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flatten(old, (), a)
    _flatten(new, (), b)
    lines = []
    for path, va in a.items():
        if path not in b:
            lines.append(f"- {path}: {_show(va)}")
        elif not _same(va, b[path]):
            lines.append(f"~ {path}: {_show(va)} -> {_show(b[path])}")
    for path, vb in b.items():
        if path not in a:
            lines.append(f"+ {path}: {_show(vb)}")
    return lines


def _same(x: Any, y: Any) -> bool:
    return type(x) is type(y) and x == y if isinstance(x, bool) or isinstance(y, bool) else x == y
