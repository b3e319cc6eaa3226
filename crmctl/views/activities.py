"""How relationship work is listed: planned and done activities, the plan summary, surveys, targets."""

from __future__ import annotations

from . import Column, count, qty

STATUS_LABELS = {"planned": "计划中", "done": "已完成", "missed": "未完成"}


def activity_columns(app) -> list[Column]:
    kinds = app.policy.activities.kinds
    return [Column("id", justify="right"), Column("customer", "客户"),
            Column("kind", "类别", table_format=lambda v: kinds.get(v, v)), Column("due_date", "计划日期"),
            Column("owner", "负责人"), Column("status", "状态", table_format=lambda v: STATUS_LABELS.get(v, v)),
            Column("planned", "计划内"), Column("done_at", "完成时间"), Column("done_by", "完成人"),
            Column("notes", "备注"), Column("note", "说明")]


def plan_rows(app, summary: dict) -> list[dict]:
    """``visit plan`` in a table: one row per owner with their new activities by kind."""
    kinds = app.policy.activities.kinds
    return [{"owner": o["owner"] or "(无负责人)", "planned": o["planned"],
             "kinds": "、".join(f"{kinds.get(k, k)} {n}" for k, n in o["kinds"].items())} for o in summary["owners"]]


def plan_columns() -> list[Column]:
    return [Column("owner", "负责人"), count("planned", "新计划"), Column("kinds", "类别")]


def plan_csv_columns() -> list[Column]:
    return [Column("month"), Column("owner"), Column("kind"), Column("planned")]


def survey_columns(app) -> list[Column]:
    items: dict[str, str] = {}
    for sv in app.policy.surveys.values():
        for k, v in sv.items.items():
            items.setdefault(k, v)
    cols = [Column("id", justify="right"), Column("customer", "客户"), Column("survey", "调查"), Column("label", "年度")]
    cols += [Column(f"scores.{k}", v, justify="right") for k, v in items.items()]
    cols += [qty("average", "平均分", 2), Column("recorded_at", "记录时间"), Column("recorded_by", "记录人")]
    return cols


def target_columns() -> list[Column]:
    return [Column("login", "客户经理"), Column("name", "姓名"), Column("label", "期间"),
            count("prospects", "开发目标（潜在客户）"), count("admitted", "准入目标"),
            Column("set_at", "设定时间"), Column("set_by", "设定人")]
