"""The work over many customers is set-based: the number of SQL statements a job sends does not grow
with the number of customers.  Each job runs on the demo's data for 10 and for 1 000 customers of a
policy, with every statement counted (``before_cursor_execute``: SQLAlchemy's statements and the
driver-level bulk reads and writes alike; an ``executemany`` is one statement).

A query per customer would add ~1 000 statements; a statement per chunk of rows would add none at
this size.  The small database may skip a write that has nothing to write (no grade moved, no owner
to change), so it may send a few statements fewer: at most ``SKIPPED``."""

from __future__ import annotations

import random

import pytest

from crmctl.services import demo
from crmctl.services.activities import plan_visits
from crmctl.services.app import Settings, open_app
from crmctl.services.customers import export_customers
from crmctl.services.grading import grade_customers
from crmctl.services.reports import REPORTS, Params, missing_features, run_report
from tests.conftest import _init, count_statements

SIZES = (10, 1000)
SKIPPED = 3
# every job and report runs on at least one of these (documents and allocation: petrochem;
# rank scales and service tickets: gas-tiered; ratings and proposals: manufacturer)
POLICIES = ("fuel-retail", "petrochem", "gas-tiered", "manufacturer")


def _jobs(app) -> dict:
    jobs = {}
    for code, sc in app.policy.grading.scales.items():
        jobs[f"grade run {code}"] = lambda kind=sc.review_period, code=code: grade_customers(app, kind, scale=code,
                                                                                           reassign=True)
    jobs["visit plan"] = lambda: plan_visits(app, "2026-12")
    jobs["customer list --format csv"] = lambda: list(export_customers(app)[1])
    for name, rep in REPORTS.items():
        if not missing_features(app.policy, rep):
            def report(name=name):
                result = run_report(app, name, Params())
                list(result.rows)
                if result.flat_rows is not None:
                    list(result.flat_rows())
            jobs[f"report {name}"] = report
    return jobs


@pytest.fixture(scope="module")
def counts(tmp_path_factory):
    out: dict[str, dict[int, dict[str, int]]] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRMCTL_NOW", "2026-11-22T10:00:00")
        for policy in POLICIES:
            for n in SIZES:
                path = tmp_path_factory.mktemp("set-based") / f"{policy}-{n}.db"
                _init(path, policy)
                with open_app(Settings(db=str(path), actor="admin")) as app:
                    for _line in demo.populate(app, random.Random(5), n):
                        pass
                    out.setdefault(policy, {})[n] = {name: count_statements(app, job) for name, job in _jobs(app).items()}
    return out


@pytest.mark.sqlite_only
@pytest.mark.parametrize("policy", POLICIES)
def test_statements_do_not_grow_with_customers(counts, policy):
    small, large = (counts[policy][n] for n in SIZES)
    assert set(small) == set(large)
    grown = {job: (small[job], large[job]) for job in small if not 0 <= large[job] - small[job] <= SKIPPED}
    assert not grown, f"{policy}: statements for 10 and 1000 customers: {grown}"


def test_every_report_and_job_is_counted(counts):
    counted = {job for by_size in counts.values() for job in by_size[SIZES[0]]}
    assert {f"report {name}" for name in REPORTS} <= counted
    assert {"visit plan", "customer list --format csv"} <= counted
    assert any(job.startswith("grade run") for job in counted)


def test_the_counter_sees_driver_level_statements(make_cli):
    from crmctl.db import raw

    cli = make_cli("petrochem")
    with open_app(Settings(db=str(cli.db), actor="admin")) as app:
        def transaction(*statements):
            with app.db.read() as s:
                s.connection()  # the transaction's BEGIN
                for sql in statements:
                    raw(s, sql).fetchall()

        assert count_statements(app, lambda: transaction("SELECT 1", "SELECT 2")) == count_statements(app, transaction) + 2
