"""Satisfaction surveys and yearly evaluations (petrochem Art. 14, gas-service Art. 5): one result per
customer, survey and year, every item of the survey scored 1..scale_max.
"""

from __future__ import annotations

import re
from typing import Iterator, Mapping

from sqlalchemy import select

from ...errors import InvalidInput, RuleViolation
from ... import i18n
from ...i18n import _
from ...models import Customer, SurveyResult
from ...rules.typed import fold
from .. import audit
from ..app import App
from ..lookups import get_customer
from ..visibility import Scope

_YEAR_RE = re.compile(r"^\d{4}$")


def _survey(app: App, code: str | None):
    surveys = app.policy.surveys
    if not surveys:
        raise RuleViolation(_("this policy defines no surveys ([surveys.CODE])"))
    if code is None:
        if len(surveys) > 1:
            raise InvalidInput(_("give --survey: the policy has {surveys}").format(surveys=", ".join(surveys)))
        return next(iter(surveys.items()))
    for k, sv in surveys.items():
        if code in (k, sv.label):
            return k, sv
    raise InvalidInput(_("unknown survey '{code}': the policy has {surveys}").format(
        code=code, surveys=i18n.coded_list((k, v.label) for k, v in surveys.items())))


def _year_label(app: App, label: str) -> str:
    text = fold(label or "").removesuffix("年度").removesuffix("年").strip()  # 2026, 2026年, ２０２６
    if not _YEAR_RE.match(text):
        raise InvalidInput(_("--label '{label}' is not a year: write YYYY, e.g. 2026").format(label=label))
    year = int(text)
    if year < 1900 or year > app.now().year:
        raise InvalidInput(_("--label {year}: the survey year must be between 1900 and {last}").format(
            year=text, last=app.now().year))
    return text


def _score(text: str, item: str, scale_max: int) -> int:
    t = (text or "").strip()
    if not re.fullmatch(r"\d{1,3}", t):
        raise InvalidInput(_("{item}={value}: a score is a whole number from 1 to {most}").format(
            item=item, value=text, most=scale_max))
    n = int(t)
    if not 1 <= n <= scale_max:
        raise InvalidInput(_("{item}={value}: a score is from 1 to {most}").format(item=item, value=text, most=scale_max))
    return n


def record_survey(app: App, code: str, label: str, answers: Mapping[str, str], survey: str | None = None) -> dict:
    """``survey record``: one customer's scores for one year; every item of the survey, 1..scale_max."""
    key, sv = _survey(app, survey)
    year = _year_label(app, label)
    scores: dict[str, int] = {}
    by_label = {v: k for k, v in sv.items.items()}
    for name, value in answers.items():
        item = name if name in sv.items else by_label.get(name)
        if item is None:
            raise InvalidInput(_("unknown item '{item}' of survey {survey}: use {items}").format(
                item=name, survey=key, items=i18n.coded_list(sv.items.items())))
        if item in scores:
            raise InvalidInput(_("item {item} given twice").format(item=item))
        scores[item] = _score(value, item, sv.scale_max)
    missing = [k for k in sv.items if k not in scores]
    if missing:
        raise InvalidInput(_("missing score for {missing} (survey {survey} asks {items})").format(
            missing=", ".join(missing), survey=key, items=", ".join(sv.items)))
    now = app.now()
    average = round(sum(scores.values()) / len(scores), 2)
    with app.db.write() as s:
        c = get_customer(s, code)
        if c.status == "disqualified":
            raise RuleViolation(_("customer {code} is disqualified").format(code=c.code))
        if s.scalars(select(SurveyResult.id).where(SurveyResult.customer_id == c.id, SurveyResult.survey == key,
                                                   SurveyResult.label == year)).first() is not None:
            raise RuleViolation(_("survey {survey} {year} is already recorded for {code}").format(
                survey=key, year=year, code=c.code))
        r = SurveyResult(customer_id=c.id, survey=key, label=year, scores=scores, scale_max=sv.scale_max,
                         average=average, recorded_at=now, recorded_by=app.actor.login)
        s.add(r)
        s.flush()
        out = _survey_dict(r, c.code, app.tz, survey_items(app.policy))
        audit.record(s, app, "survey.record", "survey_result", str(r.id), after={"survey": key, "label": year, "scores": scores},
                     customer_code=c.code, at=now)
    return out


def survey_items(policy) -> list[str]:
    """Every item of every survey of the policy, first seen first: the keys of ``scores``."""
    items: dict[str, None] = {}
    for sv in policy.surveys.values():
        items.update(dict.fromkeys(sv.items))
    return list(items)


def survey_keys(policy) -> list[str]:
    """The keys of a survey result of the list (``scores`` flattened), in order."""
    return ["id", "customer", "survey", "label", *(f"scores.{k}" for k in survey_items(policy)), "average",
            "scale_max", "recorded_at", "recorded_by"]


def _survey_dict(r: SurveyResult, code: str, tz, items: list[str]) -> dict:
    scores = dict(r.scores or {})
    # every item of the policy's surveys (null where this survey has none): the same keys on every row
    return {"id": r.id, "customer": code, "survey": r.survey, "label": r.label,
            "scores": {k: scores.get(k) for k in items},
            "average": r.average, "scale_max": r.scale_max, "recorded_at": r.recorded_at.astimezone(tz),
            "recorded_by": r.recorded_by}


def list_surveys(app: App, *, survey: str | None = None, label: str | None = None,
                 customer: str | None = None) -> Iterator[dict]:
    q = (select(SurveyResult, Customer.code, Customer.owner_id).join(Customer, Customer.id == SurveyResult.customer_id)
         .order_by(SurveyResult.label, Customer.code, SurveyResult.survey))
    if survey:
        q = q.where(SurveyResult.survey == _survey(app, survey)[0])
    if label:
        q = q.where(SurveyResult.label == _year_label(app, label))
    if customer:
        with app.db.read() as s:
            cid = get_customer(s, customer).id
        q = q.where(SurveyResult.customer_id == cid)
    tz = app.tz
    items = survey_items(app.policy)

    def rows():
        with app.db.read() as s:
            scope = Scope(s, app)
            for r, code, keeper in s.execute(q.execution_options(yield_per=2000)):
                if scope.readable(r.customer_id, keeper):
                    yield _survey_dict(r, code, tz, items)

    return rows()
