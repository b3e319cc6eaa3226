"""How relationship work is listed: planned and done activities, the plan summary, surveys, targets."""

from __future__ import annotations

from ..i18n import N_, _
from . import Column, count, qty, translated

STATUS_LABELS = {"planned": N_("Planned"), "done": N_("Done"), "missed": N_("Missed")}


def activity_columns(app) -> list[Column]:
    kinds = app.policy.activities.kinds
    return [Column("id", justify="right"), Column("customer", N_("Customer")),
            Column("kind", N_("Kind"), table_format=lambda v: kinds.get(v, v)), Column("due_date", N_("Due date")),
            Column("owner", N_("Owner")), Column("status", N_("Status"), table_format=translated(STATUS_LABELS)),
            Column("planned", N_("In plan")), Column("done_at", N_("Done at")), Column("done_by", N_("Done by")),
            Column("notes", N_("Notes")), Column("note", N_("Note"))]


def plan_rows(app, summary: dict) -> list[dict]:
    """``visit plan`` in a table: one row per owner with their new activities by kind."""
    kinds = app.policy.activities.kinds
    no_owner, sep = _("(no owner)"), _(", ")
    return [{"owner": o["owner"] or no_owner, "planned": o["planned"],
             "kinds": sep.join(f"{kinds.get(k, k)} {n}" for k, n in o["kinds"].items())} for o in summary["owners"]]


def plan_columns() -> list[Column]:
    return [Column("owner", N_("Owner")), count("planned", N_("New plans")), Column("kinds", N_("Kinds"))]


def plan_csv_columns() -> list[Column]:
    return [Column("month"), Column("owner"), Column("kind"), Column("planned")]


def survey_columns(app) -> list[Column]:
    items: dict[str, str] = {}
    for sv in app.policy.surveys.values():
        for k, v in sv.items.items():
            items.setdefault(k, v)
    cols = [Column("id", justify="right"), Column("customer", N_("Customer")), Column("survey", N_("Survey")),
            Column("label", N_("Year"))]
    cols += [Column(f"scores.{k}", v, justify="right") for k, v in items.items()]
    cols += [qty("average", N_("Average"), 2), Column("recorded_at", N_("Recorded")),
             Column("recorded_by", N_("Recorded by"))]
    return cols


def target_columns() -> list[Column]:
    return [Column("login", N_("Account manager")), Column("name", N_("Full name")), Column("label", N_("Period")),
            count("prospects", N_("Prospects target")), count("admitted", N_("Admissions target")),
            Column("set_at", N_("Set at")), Column("set_by", N_("Set by"))]
