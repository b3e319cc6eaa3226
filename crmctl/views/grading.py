"""How grades are shown: ``grade explain`` and ``grade history`` with the policy's grade labels."""

from __future__ import annotations

from . import Column, count, qty


def grade_labels(policy, scale: str) -> dict[str, str]:
    sc = policy.grading.scales.get(scale)
    return {g.code: g.label for g in sc.grades} if sc else {}


def explain_fields(app, data: dict) -> list[Column]:
    labels = grade_labels(app.policy, data["scale"])

    def show(v):
        return f"{labels.get(v, v)} ({v})" if v else "-"

    fields = [Column("customer", "客户"), Column("name", "名称"), Column("scale", "分级"), Column("label", "期间"),
              Column("grade", "等级", table_format=show), Column("previous", "上期等级", table_format=show),
              Column("metrics", "指标"), Column("factor_scores", "因素得分"), Column("score", "综合得分"),
              Column("rank", "排名"), Column("reason", "依据"), Column("current_grade", "当前等级", table_format=show),
              Column("graded_at", "评定时间"), Column("graded_by", "评定人")]
    if data["factor_scores"] is None:
        fields = [f for f in fields if f.key not in ("factor_scores", "score", "rank")]
    return fields


def history_columns(app) -> list[Column]:
    labels = {sc: {g.code: g.label for g in s.grades} for sc, s in app.policy.grading.scales.items()}

    def fmt(v):
        return next((lb[v] for lb in labels.values() if v in lb), v)

    return [Column("scale", "分级"), Column("label", "期间"), Column("grade", "等级", table_format=fmt),
            Column("previous", "上期等级", table_format=fmt), qty("volume", "量"),
            qty("score", "得分", 2), count("rank", "排名"),
            Column("graded_at", "评定时间"), Column("graded_by", "评定人")]
