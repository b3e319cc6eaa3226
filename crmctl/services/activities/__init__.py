"""Relationship work (petrochem Art. 11-14, fuel-retail Art. 11, gas-tiered Art. 21-22, gas-service
Art. 7): the monthly plan by the policy's cadences, the log of what was done, surveys, development
targets.

* ``planning.py`` -- ``visit plan``;
* ``visits.py`` -- ``visit log / list / show``, and the hand-over of planned work;
* ``surveys.py`` -- ``survey record / list``;
* ``targets.py`` -- ``target set / list``.

The cadence engine itself (what is due when) is ``crmctl.rules.cadence``.
"""

from __future__ import annotations

from .planning import plan_visits
from .surveys import list_surveys, record_survey
from .targets import list_targets, set_target
from .visits import VISIT_STATUSES, get_activity, handover, list_visits, log_visit, resolve_kind

__all__ = ["VISIT_STATUSES", "get_activity", "handover", "list_surveys", "list_targets", "list_visits", "log_visit",
           "plan_visits", "record_survey", "resolve_kind", "set_target"]
