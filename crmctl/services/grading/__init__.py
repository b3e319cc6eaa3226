"""Grading (petrochem Art. 9 and 16, fuel-retail Art. 8, gas-tiered Art. 8): threshold and rank
scales over usage totals, step limits, fixed and initial grades, owners by grade.

* ``run.py`` -- ``grade run``: choosing the period and scales, the run of one scale;
* ``store.py`` -- writing the results and the current grades (bulk statements);
* ``owners.py`` -- keepers by grade and ``--reassign``;
* ``labels.py`` -- which graded label comes before which;
* ``scores.py`` -- manual factor scores (``score set``);
* ``explain.py`` -- ``grade explain`` and ``grade history``.

Who a scale covers is ``services/population.py``; the usage totals are ``services/volume_totals.py``;
the rules themselves are ``crmctl.rules.grading``.
"""

from __future__ import annotations

from .explain import explain, history
from .run import grade_customers, resolve_run
from .scores import manual_scores, rank_scales, set_scores

__all__ = ["explain", "grade_customers", "history", "manual_scores", "rank_scales", "resolve_run", "set_scores"]
