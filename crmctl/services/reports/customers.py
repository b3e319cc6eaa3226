"""The customer master list (petrochem Art. 8: the file sent to finance and the plant office)."""

from __future__ import annotations

from .registry import Params, ReportResult, report


def _fields(app, params: Params):
    from ..customers.reading import customer_fields

    return customer_fields(app.policy)


@report("customers", order=10, columns=_fields,
        summary="The customer master list: status, segments, grades, owner, file fields (sent to finance).",
        description="""
Columns are those of `customer list --format csv` (nested keys flattened: segments.channel, ...).
The table view leaves out the file fields (fields.*) and the creation time.
Streamed: any number of customers in constant memory.
""", options=("status", "segment", "grade", "owner", "stability"))
def customers(app, params: Params) -> ReportResult:
    from ..customers.reading import export_customers, list_customers

    filters = dict(status=params.status, grade=params.grade, segment=params.segment, owner=params.owner,
                   stability=params.stability)
    rows = list_customers(app, **filters)  # the filters are checked here; nothing is read yet
    return ReportResult("customers", _fields(app, params), rows,
                        flat_rows=lambda: export_customers(app, **filters)[1])
