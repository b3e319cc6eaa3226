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
    import tomllib  # novermin (tomli below on Python 3.10)
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib  # type: ignore[no-redef]

from crmctl.errors import Msg, PolicyInvalid
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
        return Msg("line {line}, column {column}: {problem}", line=m["line"], column=m["col"], problem=m["msg"])
    m = _TOML_END.match(msg)
    if m:
        lines = text.split("\n")
        return Msg("line {line}, column {column}: {problem} (at end of document)", line=len(lines),
                   column=len(lines[-1]) + 1, problem=m["msg"])
    lineno = getattr(exc, "lineno", None)
    if lineno:
        return Msg("line {line}, column {column}: {problem}", line=lineno, column=getattr(exc, "colno", 1), problem=msg)
    return Msg("line {line}, column {column}: {problem}", line=1, column=1, problem=msg)


class _TooDeep(Exception):
    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


_DEEP = Msg("nested deeper than {depth} levels of tables and arrays (a policy needs far fewer)", depth=MAX_POLICY_DEPTH)


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
            return Msg("{where}: {message}", where=render_path(parts[:MAX_POLICY_DEPTH]), message=_DEEP)
        for k, v in items:
            if isinstance(v, (dict, list)):
                stack.append((v, depth + 1, parts + (k,)))
    return None


def _loads(text: str) -> dict:
    """``tomllib.loads``, refusing a document nested too deeply (the parser would run out of stack)."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise _TooDeep(Msg("line {line}, column {column}: {problem}", line=1, column=1, problem=_DEEP)) from None
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


_WHOLE = Msg("must be a whole number")
_TABLE = Msg("must be a table")
_DATE = Msg("must be a date (YYYY-MM-DD)")
_SIMPLE_MESSAGES = {
    "missing": Msg("required but missing"),
    "extra_forbidden": Msg("unknown key"),
    "string_type": Msg("must be text (a quoted string)"),
    "int_type": _WHOLE,
    "int_from_float": _WHOLE,
    "bool_type": Msg("must be true or false"),
    "float_type": Msg("must be a number"),
    "dict_type": _TABLE,
    "model_type": _TABLE,
    "model_attributes_type": _TABLE,
    "list_type": Msg("must be an array"),
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": Msg("must be a date without a time of day"),
}


def _format_error(err: dict, data: Any) -> str:
    loc = tuple(err.get("loc", ()))
    typ = err.get("type", "")
    ctx = err.get("ctx") or {}
    parts = _loc_to_parts(loc, data)
    if typ == "scale_method":
        parts.append("method")
        raw = err.get("input")
        if isinstance(raw, dict) and "method" not in raw:
            msg = Msg("required: 'threshold' or 'rank'")
        elif err["msg"] == "must be 'threshold' or 'rank'":  # schema's custom_error_message
            msg = Msg("must be 'threshold' or 'rank'")
        else:
            msg = err["msg"]
    elif typ in _SIMPLE_MESSAGES:
        msg = _SIMPLE_MESSAGES[typ]
    elif typ == "literal_error":
        if "expected" in ctx:
            msg = Msg("must be {expected}", expected=ctx["expected"])
        else:
            msg = Msg("must be one of the allowed values")
    elif typ in ("value_error", "assertion_error"):
        error = ctx.get("error")
        own = error.args[0] if isinstance(error, ValueError) and error.args else None
        # our validators' refusals keep their Msg (translated when shown); pydantic's text otherwise
        msg = own if isinstance(own, Msg) else re.sub(r"^(Value|Assertion) error, ", "", err["msg"])
    elif typ == "greater_than_equal":
        msg = Msg("must be at least {limit}", limit=ctx.get("ge"))
    elif typ == "greater_than":
        msg = Msg("must be above {limit}", limit=ctx.get("gt"))
    elif typ == "less_than_equal":
        msg = Msg("must be at most {limit}", limit=ctx.get("le"))
    elif typ == "less_than":
        msg = Msg("must be below {limit}", limit=ctx.get("lt"))
    elif typ == "string_pattern_mismatch" and parts and parts[-1] == "currency":
        msg = Msg("must be a 3-letter currency code such as 'CNY'")
    else:  # pydantic's own English message, passed on as it is
        msg = err.get("msg", "invalid")
        msg = msg[:1].lower() + msg[1:]
    if "[key]" in loc:
        msg = Msg("invalid key: {problem}", problem=msg)
    return Msg("{where}: {message}", where=render_path(parts), message=msg)


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
        self.problems.append(Msg("{where}: {message}", where=path, message=message))

    def role(self, path: str, code: str | None) -> None:
        if code is not None and self.roles is not None and code not in self.roles:
            self.add(path, Msg("unknown role '{code}' (define it in [roles])", code=code))

    def kind(self, path: str, code: str) -> None:
        if self.kinds is not None and code not in self.kinds:
            self.add(path, Msg("unknown activity kind '{code}' (define it in activities.kinds)", code=code))

    def document(self, path: str, code: str) -> None:
        if self.documents is not None and code not in self.documents:
            self.add(path, Msg("unknown document type '{code}' (define it as [documents.{code}])", code=code))

    def duration(self, path: str, text: str | None) -> None:
        if text is None:
            return
        try:
            d = parse_duration(text)
        except ValueError as exc:  # pragma: no cover - the schema already checked it
            self.add(path, getattr(exc, "message", None) or str(exc))
            return
        if d.unit == "working_hours" and self.calendar is not None and not self.calendar.business_hours:
            self.add(path, Msg("'{text}' counts working hours but calendar.business_hours is empty", text=text))

    def duplicates(self, items: list, path: str, what: str, suffix: str = "") -> None:
        first: dict[Any, int] = {}
        for i, item in enumerate(items):
            if item in first:
                self.add(f"{path}[{i}]{suffix}", Msg("duplicate {what} '{item}' (also at [{first}])", what=what, item=item, first=first[item]))
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
                    self.add(kp, Msg("unknown segment '{key}'", key=key))
                    continue
                if not values:
                    self.add(kp, Msg("must list at least one value"))
                for v in values:
                    if v not in seg.values:
                        self.add(kp, Msg("unknown value '{v}' of segment '{key}' (use one of {known})", v=v, key=key, known=_names(seg.values)))
        for key, values in cond.fields.items():
            kp = f"{path}.fields.{_key(key)}"
            if self.fields is None:
                continue
            fld = self.fields.get(key)
            if fld is None:
                self.add(kp, Msg("unknown field '{key}'", key=key))
                continue
            if not values:
                self.add(kp, Msg("must list at least one value"))
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
                self.add(kp, Msg("unknown grading scale '{scale_code}'", scale_code=scale_code))
                continue
            if scale_code == own_scale:
                self.add(kp, Msg("a scale cannot select or fix its customers by its own grades"))
                continue
            if not grades:
                self.add(kp, Msg("must list at least one grade"))
            for g in grades:
                if g not in scale.grade_codes:
                    self.add(kp, Msg("unknown grade '{g}' of scale '{scale_code}' (use one of {known})", g=g, scale_code=scale_code, known=_names(scale.grade_codes)))

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
            self.add("roles", Msg("define at least one role"))
        if "keeper" in roles:
            self.add("roles.keeper", Msg("'keeper' is reserved (it means the customer's owner in cadences)"))

    def check_segments(self, segments: list[S.Segment]) -> None:
        self.duplicates([s.key for s in segments], "segments", Msg("segment key"), ".key")
        for i, seg in enumerate(segments):
            sp = f"segments[{i}]"
            if seg.key in S.RESERVED_CUSTOMER_KEYS:
                self.add(f"{sp}.key", Msg("'{key}' is reserved for a customer column", key=seg.key))
            if not seg.values:
                self.add(f"{sp}.values", Msg("define at least one value"))
            if seg.when is not None:
                if seg.key in seg.when.segments or seg.key in seg.when.not_segments:
                    self.add(f"{sp}.when", Msg("a segment cannot depend on itself"))
                else:
                    self.condition(seg.when, f"{sp}.when")

    def check_fields(self, fields: list[S.CustomField]) -> None:
        self.duplicates([f.key for f in fields], "fields", Msg("field key"), ".key")
        for i, fld in enumerate(fields):
            fp = f"fields[{i}]"
            if fld.key in S.RESERVED_CUSTOMER_KEYS:
                self.add(f"{fp}.key", Msg("'{key}' is reserved for a customer column", key=fld.key))
            if self.segments is not None and fld.key in self.segments:
                self.add(f"{fp}.key", Msg("'{key}' is already a segment key", key=fld.key))
            if fld.type == "choice" and not fld.choices:
                self.add(f"{fp}.choices", Msg("a choice field needs choices"))
            if fld.type != "choice" and fld.choices is not None:
                self.add(f"{fp}.choices", Msg("only a field of type 'choice' has choices (this one is '{type}')", type=fld.type))
            if fld.when is not None:
                if fld.key in fld.when.fields:
                    self.add(f"{fp}.when", Msg("a field cannot depend on itself"))
                else:
                    self.condition(fld.when, f"{fp}.when")

    def check_constraints(self, constraints: list[S.Constraint]) -> None:
        for i, c in enumerate(constraints):
            cp = f"constraints[{i}]"
            self.condition(c.if_, f"{cp}.if")
            if c.then.is_empty:
                self.add(f"{cp}.then", Msg("must require something"))
            self.condition(c.then, f"{cp}.then")

    def check_admission(self, a: S.Admission) -> None:
        for i, r in enumerate(a.chain):
            self.role(f"admission.chain[{i}]", r)
        self.duplicates(a.chain, "admission.chain", Msg("role"))
        if a.step_labels is not None and len(a.step_labels) != len(a.chain):
            self.add("admission.step_labels", Msg("has {labels} labels for {steps} chain steps", labels=len(a.step_labels), steps=len(a.chain)))
        for r, docs in a.step_documents.items():
            rp = f"admission.step_documents.{_key(r)}"
            if r not in a.chain:
                self.add(rp, Msg("'{r}' is not a step of admission.chain", r=r))
            for j, d in enumerate(docs):
                self.document(f"{rp}[{j}]", d)
        for i, d in enumerate(a.required_documents):
            self.document(f"admission.required_documents[{i}]", d)
        self.duplicates(a.required_documents, "admission.required_documents", Msg("document"))
        if a.missing_documents == "suspend" and not a.required_documents:
            self.add("admission.missing_documents", Msg("'suspend' needs required_documents (no document is required)"))
        for k, m in a.criteria_min.items():
            kp = f"admission.criteria_min.{_key(k)}"
            if k not in a.criteria:
                self.add(kp, Msg("unknown criterion '{k}' (use one of {known})", k=k, known=_names(list(a.criteria))))
            elif m > a.criteria_scale_max:
                self.add(kp, Msg("{m} is above criteria_scale_max ({criteria_scale_max})", m=m, criteria_scale_max=a.criteria_scale_max))

    def check_documents(self, docs: dict[str, S.DocumentType]) -> None:
        for code, d in docs.items():
            dp = f"documents.{_key(code)}"
            if d.suspends_on_expiry and not d.expires:
                self.add(f"{dp}.suspends_on_expiry", Msg("needs expires = true"))
            if d.renew_notice_days is not None and not d.expires:
                self.add(f"{dp}.renew_notice_days", Msg("needs expires = true"))
            if d.renew_notice is not None:
                if not d.expires:
                    self.add(f"{dp}.renew_notice", Msg("needs expires = true"))
                if d.renew_notice_days is not None:
                    self.add(f"{dp}.renew_notice", Msg("give renew_notice or renew_notice_days, not both"))
                unit = parse_duration(d.renew_notice).unit
                if unit not in ("days", "months", "years"):
                    self.add(f"{dp}.renew_notice", Msg("'{renew_notice}': use days, months or years (calendar time)", renew_notice=d.renew_notice))
            if d.notice_kind is not None:
                self.kind(f"{dp}.notice_kind", d.notice_kind)
                if d.renew_notice_days is None and d.renew_notice is None:
                    self.add(f"{dp}.notice_kind", Msg("needs renew_notice (or renew_notice_days)"))

    def check_disqualification(self, d: S.Disqualification) -> None:
        if not d.reasons:
            self.add("disqualification.reasons", Msg("define at least one reason"))
        self.role("disqualification.reinstate_role", d.reinstate_role)

    # ---- grading ----

    def check_grading(self, g: S.Grading) -> None:
        for code, scale in g.scales.items():
            self.check_scale(code, scale, f"grading.scales.{_key(code)}")

    def check_scale(self, code: str, scale: S.ScaleModel, sp: str) -> None:
        codes = scale.grade_codes
        if not codes:
            self.add(f"{sp}.grades", Msg("define at least one grade"))
        self.duplicates(codes, f"{sp}.grades", Msg("grade"), ".code")
        if not scale.periods:
            self.add(f"{sp}.periods", Msg("name at least one period (month, quarter, half-year, year)"))
        self.duplicates(list(scale.periods), f"{sp}.periods", Msg("period"))
        if scale.review is not None and scale.review not in scale.periods:
            self.add(f"{sp}.review", Msg("'{review}' is not one of the scale's periods ({known})", review=scale.review, known=_names(list(scale.periods))))
        self.condition(scale.applies_to, f"{sp}.applies_to", own_scale=code)
        if scale.initial_grade is not None and scale.initial_grade not in codes:
            self.add(f"{sp}.initial_grade", Msg("unknown grade '{initial_grade}' (use one of {known})", initial_grade=scale.initial_grade, known=_names(codes)))
        fixed_grades = set()
        for i, fx in enumerate(scale.fixed):
            fp = f"{sp}.fixed[{i}]"
            if fx.grade not in codes:
                self.add(f"{fp}.grade", Msg("unknown grade '{grade}' (use one of {known})", grade=fx.grade, known=_names(codes)))
            fixed_grades.add(fx.grade)
            if fx.when.is_empty:
                self.add(f"{fp}.when", Msg("must select some customers (an empty condition would fix everybody)"))
            self.condition(fx.when, f"{fp}.when", own_scale=code)
        for table in ("owner_roles", "team_roles", "benefits"):
            for grade, value in getattr(scale, table).items():
                gp = f"{sp}.{table}.{_key(grade)}"
                if grade not in codes:
                    self.add(gp, Msg("unknown grade '{grade}' (use one of {known})", grade=grade, known=_names(codes)))
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
                self.add(f"{sp}.grades[{i}]", Msg("grade '{g}' is in no band and is neither initial_grade nor a fixed grade", g=g))

    def _band_grades(self, scale: S.ScaleModel, sp: str, ascending: bool) -> None:
        codes = scale.grade_codes
        seen: dict[str, int] = {}
        prev_rank = None
        for i, b in enumerate(scale.bands):
            gp = f"{sp}.bands[{i}].grade"
            if b.grade not in codes:
                self.add(gp, Msg("unknown grade '{grade}' (use one of {known})", grade=b.grade, known=_names(codes)))
                continue
            if b.grade in seen:
                self.add(gp, Msg("grade '{grade}' is already in bands[{first}]", grade=b.grade, first=seen[b.grade]))
                continue
            seen[b.grade] = i
            rank = codes.index(b.grade)
            if prev_rank is not None and ((rank <= prev_rank) if ascending else (rank >= prev_rank)):
                if ascending:
                    self.add(gp, Msg("bands must go up (low to high) the order of grades: '{grade}' is out of order",
                                     grade=b.grade))
                else:
                    self.add(gp, Msg("bands must go down (top band first) the order of grades: '{grade}' is out of "
                                     "order", grade=b.grade))
            prev_rank = rank

    def _contiguous(self, bands: list, sp: str, *, first_zero: bool) -> None:
        for i, b in enumerate(bands):
            bp = f"{sp}.bands[{i}]"
            if i == 0 and first_zero and b.min != 0:
                self.add(f"{bp}.min", Msg("the first band must start at 0, not {low}", low=_fmt(b.min)))
            if i > 0:
                prev = bands[i - 1]
                if prev.max is None:
                    self.add(f"{sp}.bands[{i - 1}].max", Msg("only the last band may leave out max"))
                elif b.min != prev.max:
                    self.add(
                        f"{bp}.min",
                        Msg("must equal bands[{previous}].max (no gap or overlap): it is {low}, bands[{previous}].max is {high}", previous=i - 1, low=_fmt(b.min), high=_fmt(prev.max)),
                    )
            if b.max is not None and b.max <= b.min:
                self.add(f"{bp}.max", Msg("must be above min ({low})", low=_fmt(b.min)))

    def check_threshold_bands(self, scale: S.ThresholdScale, sp: str) -> None:
        if not scale.bands:
            self.add(f"{sp}.bands", Msg("define at least one band"))
            return
        self._band_grades(scale, sp, ascending=True)
        self._contiguous(scale.bands, sp, first_zero=True)

    def check_rank(self, scale: S.RankScale, sp: str) -> None:
        if not scale.bands:
            self.add(f"{sp}.bands", Msg("define at least one band"))
        else:
            self._band_grades(scale, sp, ascending=False)
            for i, b in enumerate(scale.bands):
                if b.share <= 0:
                    self.add(f"{sp}.bands[{i}].share", Msg("must be above 0"))
            total = sum(b.share for b in scale.bands)
            if not math.isclose(total, 100, abs_tol=1e-9):
                self.add(f"{sp}.bands", Msg("shares must sum to 100, they sum to {total}", total=_fmt(total)))
        if not scale.factors:
            self.add(f"{sp}.factors", Msg("define at least one factor"))
            return
        total = 0
        for fcode, f in scale.factors.items():
            fp = f"{sp}.factors.{_key(fcode)}"
            total += f.weight
            if f.weight <= 0:
                self.add(f"{fp}.weight", Msg("must be above 0"))
            if f.manual:
                if f.default_score is None:
                    self.add(f"{fp}.default_score", Msg("required for a manual factor (used until it is scored)"))
                if f.bands:
                    self.add(f"{fp}.bands", Msg("a manual factor has no bands (it is scored 1-10 with `score set`)"))
            else:
                if not f.bands:
                    self.add(f"{fp}.bands", Msg("a measured factor ({source}) needs bands", source=f.source))
                if f.purchase_prices and f.source != "spread":
                    self.add(f"{fp}.purchase_prices", Msg("only a spread factor subtracts purchase prices"))
                for label in f.purchase_prices:
                    if _label_kind(label) not in scale.periods:
                        self.add(f"{fp}.purchase_prices.{_key(label)}",
                                 Msg("'{label}' is not a period label of the scale's periods ({known})", label=label, known=_names(list(scale.periods))))
                self._contiguous(f.bands, fp, first_zero=False)
                for i, b in enumerate(f.bands):
                    bp = f"{fp}.bands[{i}]"
                    if b.score_min > b.score_max:
                        self.add(f"{bp}.score_max", Msg("must not be below score_min ({score_min})", score_min=b.score_min))
                    if i > 0 and b.score_min <= f.bands[i - 1].score_max:
                        self.add(f"{bp}.score_min", Msg("must be above bands[{previous}].score_max (scores rise with the value)", previous=i - 1))
                    if b.max is None and b.score_min != b.score_max:
                        self.add(
                            f"{bp}.max",
                            Msg("required when score_min differs from score_max (linear scoring needs an upper bound)"),
                        )
        if not math.isclose(total, 100, abs_tol=1e-9):
            self.add(f"{sp}.factors", Msg("weights must sum to 100, they sum to {total}", total=_fmt(total)))

    # ---- other tables ----

    def check_stability(self, s: S.Stability) -> None:
        # a customer's status and its stability show side by side: one word must not mean both
        statuses = getattr(self.p, "statuses", None)
        if statuses is None or getattr(s, "labels", None) is None:
            return  # a damaged section: its own problem is reported
        words = {label: code for code, label in s.labels.model_dump().items()}
        for status, label in statuses.labels().items():
            if label in words:
                self.add(f"statuses.{status}", Msg("'{label}' is also stability.labels.{word}: a status and a stability shown on one row must not read the same", label=label, word=words[label]))

    def check_churn(self, c: S.Churn) -> None:
        self.condition(c.applies_to, "churn.applies_to")

    def check_calendar(self, c: S.Calendar) -> None:
        self.duplicates(list(c.weekend), "calendar.weekend", Msg("weekday"))
        windows = c.business_windows()
        for i in range(1, len(windows)):
            if windows[i][0] < windows[i - 1][1]:
                self.add(
                    f"calendar.business_hours[{i}]",
                    Msg("must start after business_hours[{previous}] ends (windows in order, no overlap)", previous=i - 1),
                )
        self.duplicates([d.isoformat() for d in c.extra_holidays], "calendar.extra_holidays", Msg("date"))
        self.duplicates([d.isoformat() for d in c.extra_workdays], "calendar.extra_workdays", Msg("date"))
        holidays = set(c.extra_holidays)
        for i, d in enumerate(c.extra_workdays):
            if d in holidays:
                self.add(f"calendar.extra_workdays[{i}]", Msg("{d} is also in extra_holidays", d=d.isoformat()))
        for code in c.greeting_holidays:
            if code not in S.GREETING_HOLIDAY_CODES:
                self.add(
                    f"calendar.greeting_holidays.{_key(code)}",
                    Msg("unknown holiday '{code}' (use one of {known})", code=code, known=_names(S.GREETING_HOLIDAY_CODES)),
                )

    def check_complaints(self, c: S.Complaints) -> None:
        sev = c.severities
        if not sev:
            self.add("complaints.severities", Msg("define at least one severity"))
        if c.default_severity not in sev:
            self.add("complaints.default_severity", Msg("unknown severity '{default_severity}' (use one of {known})", default_severity=c.default_severity, known=_names(sev)))
        if not c.sla:
            self.add("complaints.sla", Msg("define at least one rule (the last one without when/severity)"))
        default_at = None
        for i, rule in enumerate(c.sla):
            rp = f"complaints.sla[{i}]"
            if default_at is not None:
                self.add(rp, Msg("never used: sla[{default_at}] before it already applies to every complaint", default_at=default_at))
            if rule.severity is not None and rule.severity not in sev:
                self.add(f"{rp}.severity", Msg("unknown severity '{severity}' (use one of {known})", severity=rule.severity, known=_names(sev)))
            self.condition(rule.when, f"{rp}.when")
            self.duration(f"{rp}.due", rule.due)
            if rule.is_default and default_at is None:
                default_at = i
        if c.sla and not c.sla[-1].is_default:
            self.add(
                f"complaints.sla[{len(c.sla) - 1}]",
                Msg("the last rule must have no 'when' and no 'severity' (it is the default)"),
            )
        for i, s in enumerate(c.escalate):
            if s not in sev:
                self.add(f"complaints.escalate[{i}]", Msg("unknown severity '{s}' (use one of {known})", s=s, known=_names(sev)))
        if c.escalate and c.escalate_role is None:
            self.add("complaints.escalate_role", Msg("required when complaints.escalate is not empty"))
        self.role("complaints.escalate_role", c.escalate_role)
        if c.extension is not None:
            self.duration("complaints.extension.max_total", c.extension.max_total)
            self.role("complaints.extension.approver_role", c.extension.approver_role)
            for i, s in enumerate(c.extension.severities):
                if s not in sev:
                    self.add(f"complaints.extension.severities[{i}]", Msg("unknown severity '{s}' (use one of {known})", s=s, known=_names(sev)))
        if c.opinion_approval is not None:
            self.role("complaints.opinion_approval.approver_role", c.opinion_approval.approver_role)
            for i, s in enumerate(c.opinion_approval.severities):
                if s not in sev:
                    self.add(f"complaints.opinion_approval.severities[{i}]",
                             Msg("unknown severity '{s}' (use one of {known})", s=s, known=_names(sev)))
        if c.escalate_before_close and not c.escalate:
            self.add("complaints.escalate_before_close", Msg("needs complaints.escalate (the severities escalated)"))
        if c.follow_up is not None:
            self.kind("complaints.follow_up.kind", c.follow_up.kind)
            self.role("complaints.follow_up.role", c.follow_up.role)
            self.duration("complaints.follow_up.due", c.follow_up.due)
            self.condition(c.follow_up.when, "complaints.follow_up.when")

    def check_service(self, s: S.Service) -> None:
        if not s.kinds:
            self.add("service.kinds", Msg("define at least one kind"))
        if s.default_location is not None and s.default_location not in s.locations:
            self.add("service.default_location", Msg("unknown location '{default_location}'", default_location=s.default_location))
        self.role("service.overdue_role", s.overdue_role)
        self.role("service.technician_role", s.technician_role)
        if s.service_type_required and not s.service_types:
            self.add("service.service_type_required", Msg("needs service.service_types"))
        for st, doc in s.service_type_documents.items():
            sp = f"service.service_type_documents.{_key(st)}"
            if st not in s.service_types:
                self.add(sp, Msg("unknown service type '{st}' (use one of {known})", st=st, known=_names(list(s.service_types))))
            self.document(sp, doc)
        for i, k in enumerate(s.resolve_needs_dispatch):
            if k not in s.kinds:
                self.add(f"service.resolve_needs_dispatch[{i}]", Msg("unknown kind '{k}' (use one of {known})", k=k, known=_names(list(s.kinds))))
        defaults: dict[tuple[str, str], int] = {}
        for i, clk in enumerate(s.clocks):
            cp = f"service.clocks[{i}]"
            if clk.kind not in s.kinds:
                self.add(f"{cp}.kind", Msg("unknown service kind '{kind}' (use one of {known})", kind=clk.kind, known=_names(s.kinds)))
            if (clk.kind, clk.clock) in defaults:
                self.add(cp, Msg("never used: clocks[{first}] already applies to every '{kind}' ticket", first=defaults[clk.kind, clk.clock], kind=clk.kind))
            if clk.when is None or clk.when.is_empty:
                defaults.setdefault((clk.kind, clk.clock), i)
            if clk.when is not None:
                for j, loc in enumerate(clk.when.location):
                    if loc not in s.locations:
                        self.add(f"{cp}.when.location", Msg("unknown location '{loc}' (define it in service.locations)", loc=loc))
                for j, st in enumerate(clk.when.service_type):
                    if st not in s.service_types:
                        self.add(f"{cp}.when.service_type", Msg("unknown service type '{st}' (define it in service.service_types)", st=st))
                self.condition(clk.when, f"{cp}.when")
            self.duration(f"{cp}.due", clk.due)
            unit = parse_duration(clk.due).unit
            if clk.calendar == "24x7" and unit.startswith("working"):
                self.add(f"{cp}.calendar", Msg("'24x7' does not fit '{due}' (working time)", due=clk.due))
            if clk.calendar == "working" and not unit.startswith("working"):
                self.add(f"{cp}.calendar", Msg("'working' needs a due in working days or working hours, not '{due}'", due=clk.due))
        levels = list(s.rating_levels)
        expected = [str(n) for n in range(1, len(levels) + 1)]
        if sorted(levels, key=lambda k: (len(k), k)) != expected:
            self.add("service.rating_levels", Msg("keys must be \"1\" to \"{n}\" (one per level)", n=len(levels)))
        if s.rating_items and not s.rating_levels:
            self.add("service.rating_levels", Msg("required when service.rating_items is set"))
        for i, k in enumerate(s.rate_kinds):
            if k not in s.kinds:
                self.add(f"service.rate_kinds[{i}]", Msg("unknown service kind '{k}'", k=k))

    def check_proposals(self, pr: S.Proposals) -> None:
        if not pr.categories:
            self.add("proposals.categories", Msg("define at least one category"))
        self.duration("proposals.due", pr.due)
        if pr.benefit is not None:
            total = pr.benefit.company_pct + pr.benefit.customer_pct
            if not math.isclose(total, 100, abs_tol=1e-9):
                self.add("proposals.benefit", Msg("company_pct + customer_pct must be 100, they are {total}", total=_fmt(total)))

    def check_activities(self, a: S.Activities) -> None:
        if not a.kinds:
            self.add("activities.kinds", Msg("define at least one kind"))
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
                    self.add(f"{cp}.counts[{j}]", Msg("'{k}' is the cadence's own kind", k=k))
            if c.owner == "keeper":
                if c.scope == "company":
                    self.add(f"{cp}.owner", Msg("a company-wide cadence has no keeper: name a role"))
            elif self.roles is not None and c.owner not in self.roles:
                self.add(f"{cp}.owner", Msg("unknown role '{owner}' (use 'keeper' or a role of [roles])", owner=c.owner))
            if c.scope == "company" and c.when is not None and not c.when.is_empty:
                self.add(f"{cp}.when", Msg("not allowed with scope = 'company'"))
            self.condition(c.when, f"{cp}.when")
        if a.greetings is not None:
            g = a.greetings
            self.kind("activities.greetings.kind", g.kind)
            if not g.holidays:
                self.add("activities.greetings.holidays", Msg("name at least one holiday"))
            for i, h in enumerate(g.holidays):
                if self.holidays is not None and h not in self.holidays:
                    self.add(f"activities.greetings.holidays[{i}]", Msg("unknown holiday '{h}' (define it in calendar.greeting_holidays)", h=h))
            self.duplicates(list(g.holidays), "activities.greetings.holidays", Msg("holiday"))
            self.condition(g.when, "activities.greetings.when")

    def check_surveys(self, surveys: dict[str, S.Survey]) -> None:
        for code, sv in surveys.items():
            if not sv.items:
                self.add(f"surveys.{_key(code)}.items", Msg("define at least one item"))

    def check_permissions(self, pm: S.Permissions) -> None:
        for i, r in enumerate(pm.readers_roles):
            self.role(f"permissions.readers_roles[{i}]", r)
        if pm.important_field is not None and self.fields is not None:
            f = self.fields.get(pm.important_field)
            if f is None:
                self.add("permissions.important_field", Msg("unknown field '{important_field}'", important_field=pm.important_field))
            elif f.type != "bool":
                self.add("permissions.important_field", Msg("field '{key}' must be of type 'bool', not '{type}'", key=f.key, type=f.type))
        if pm.important_min_contacts is not None and pm.important_field is None:
            self.add("permissions.important_min_contacts", Msg("needs permissions.important_field"))

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
            self.add("reports.allocation.segment", Msg("unknown segment '{segment}'", segment=al.segment))
            return
        for table in ("priority", "rank_by_completion", "rank_by_evenness"):
            values = getattr(al, table)
            for i, v in enumerate(values):
                if v not in seg.values:
                    self.add(f"reports.allocation.{table}[{i}]", Msg("unknown value '{v}' of segment '{key}'", v=v, key=seg.key))
            self.duplicates(list(values), f"reports.allocation.{table}", Msg("value"))


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
            return Msg("unknown choice '{value}' of field '{key}' (use one of {known})", value=v, key=fld.key,
                       known=_names(fld.choices))
        ok = isinstance(v, str)
    elif t == "date":
        try:
            ok = isinstance(v, str) and bool(date.fromisoformat(v))
        except ValueError:
            ok = False
    else:
        ok = isinstance(v, str)
    return None if ok else Msg("{value!r} does not fit field '{key}' of type '{type}'", value=v, key=fld.key, type=t)


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
