"""Management reports and exports: a registry of named reports (``crmctl report NAME``).

Each report family is a module of this package (``customers``, ``grades``, ``stability``,
``service``, ``visits``, ``documents``, ``allocation``, ``proposals``, ``development``) and declares
its reports with :func:`report`: name, one-line summary, a longer description, the policy features
it needs, the options it takes (the ``report`` commands are generated from them), the kinds of
period it accepts, its fields (the csv/json keys, in order) and a builder.  The modules are found
by being in this package; they import the database layer inside their builders, so that
``crmctl report --help`` stays fast.

:func:`run_report` checks what the user asked for (period label, scale, filters) *before* anything
is read or written, and returns a :class:`ReportResult`: the fields, the rows (a generator:
set-based SQL streamed inside one read transaction; never one query per customer, never a whole
table in memory), notes, and what the view needs to title it (the period, the scales shown).  How a
report is shown -- headings, section tables, charts -- is its view (``crmctl.views.reports``).

A report that does not apply to the policy in use (``allocation`` on gas-service) is not an error:
``run_report`` returns an empty result with ``applies=False`` and a note.
"""

from __future__ import annotations

import importlib
import pkgutil

from .registry import (FEATURES, OPTIONS, REPORTS, Params, Report, ReportResult, get_report, list_reports,
                       missing_features, report, run_report)

__all__ = [
    "FEATURES", "OPTIONS", "REPORTS", "Params", "Report", "ReportResult", "get_report", "list_reports",
    "management_summary", "missing_features", "report", "run_report",
]

for _info in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):  # every report family registers itself
    importlib.import_module(_info.name)

from .summary import management_summary  # noqa: E402
