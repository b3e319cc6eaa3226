"""How each report is shown: headings for its fields, the title, one table per section, the chart.

A report's data (``crmctl.services.reports``) is keyed by its fields; its view is registered here
under the same name with :func:`_view`: ``titles(app)`` gives the heading (or a whole
:class:`~crmctl.views.Column`) per field key, ``present(app, params, result)`` the title, the
sections (section -> (table title, the keys shown there)), the columns of a table without
sections, and the chart.  A test keeps the two registries' names equal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import ChartSpec, Column, columns_for, labeller, yes_no

_OUTCOMES = {"adopted": "采纳", "rejected": "未采纳", "open": "处理中"}
_CLOCKS = {"respond": "响应", "arrive": "到达", "resolve": "修复"}
_DIRECTIONS = {"up": "升级", "down": "降级"}


@dataclass
class ReportView:
    columns: list[Column]
    title: str | None = None
    sections: dict[str, tuple[str, list[str]]] | None = None  # section -> (table title, column keys)
    table_columns: list[str] | None = None  # a table without sections shows only these (None: every column)
    chart: ChartSpec | None = None


@dataclass(frozen=True)
class _Spec:
    titles: Callable[[Any], dict]  # app -> field key -> heading (or a whole Column)
    present: Callable[[Any, Any, Any], dict]  # (app, params, result) -> ReportView's other fields


VIEWS: dict[str, _Spec] = {}


def _view(name: str, titles: Callable[[Any], dict]):
    def deco(present):
        VIEWS[name] = _Spec(titles, present)
        return present

    return deco


def report_columns(app, result) -> list[Column]:
    """The display columns of a report's fields."""
    return columns_for(result.columns, VIEWS[result.name].titles(app))


def report_view(app, params, result) -> ReportView:
    """Everything a table (and chart) of ``result`` needs; a report that does not apply gets its
    columns only."""
    cols = report_columns(app, result)
    if not result.applies:
        return ReportView(cols)
    return ReportView(cols, **VIEWS[result.name].present(app, params, result))


# ----------------------------------------------------------------------------------------------
# Shared headings


def _num(key: str, title: str, kind: str, decimals: int | None = None) -> Column:
    """A number column: thousands separators and fixed decimals in tables (``count`` 0, ``qty``
    and ``money`` 2, ``pct`` 1 and %), right-aligned; json/csv keep the number."""
    return Column(key, title, number=kind, decimals=decimals)


def _scale_labels(app) -> dict[str, str]:
    return {c: sc.label for c, sc in app.policy.grading.scales.items()}


def _grade_labels(scales) -> dict[str, str]:
    out: dict[str, str] = {}
    for sc in scales.values():
        out.update({g.code: g.label for g in sc.grades})
    return out


def _rank_scales(app) -> dict:
    return {c: sc for c, sc in app.policy.grading.scales.items() if sc.method == "rank"}


def _unit(app) -> str:
    return app.policy.policy.volume_unit_label


# ----------------------------------------------------------------------------------------------
# customers


def _customer_titles(app) -> dict:
    return {c.key: c for c in _customer_columns(app)}


def _customer_columns(app) -> list[Column]:
    from .customers import customer_columns

    return customer_columns(app)


@_view("customers", _customer_titles)
def _customers(app, params, result) -> dict:
    narrow = [c.key for c in result.columns if not c.key.startswith("fields.") and c.key != "created_at"]
    return {"title": "客户名册", "table_columns": narrow}


# ----------------------------------------------------------------------------------------------
# grades, grade-changes, big-customers


def _grades_titles(app) -> dict:
    scales = app.policy.grading.scales
    return {"scale": Column("scale", "分级", table_format=labeller(_scale_labels(app))), "label": "期间",
            "grade": Column("grade", "等级", table_format=labeller(_grade_labels(scales))),
            "customers": _num("customers", "客户数", "count"), "share_pct": _num("share_pct", "占比%", "pct"),
            "previous_label": "上期", "previous_customers": _num("previous_customers", "上期客户数", "count"),
            "change": _num("change", "增减", "count")}


@_view("grades", _grades_titles)
def _grades(app, params, result) -> dict:
    scales = result.shown["scales"]
    labels = {c: {g.code: g.label for g in sc.grades} for c, sc in scales.items()}
    multi = len(scales) > 1
    chart = ChartSpec(
        "各等级客户数", unit="户",
        pick=lambda r: ((f"{scales[r['scale']].label} " if multi else "") + labels[r["scale"]].get(r["grade"], r["grade"]),
                        r["customers"]))
    return {"title": "客户等级分布", "chart": chart}


def _changes_titles(app) -> dict:
    grade = labeller(_grade_labels(app.policy.grading.scales))
    return {"scale": Column("scale", "分级", table_format=labeller(_scale_labels(app))), "label": "期间",
            "customer": "客户编号", "name": "客户名称", "owner": "负责人",
            "previous": Column("previous", "原等级", table_format=grade),
            "grade": Column("grade", "新等级", table_format=grade),
            "direction": Column("direction", "升降", table_format=labeller(_DIRECTIONS)),
            "volume": _num("volume", f"量（{_unit(app)}）", "qty")}


@_view("grade-changes", _changes_titles)
def _grade_changes(app, params, result) -> dict:
    return {"title": "客户等级变动"}


def _big_titles(app) -> dict:
    scales = _rank_scales(app)
    g = labeller(_grade_labels(scales))
    out = {"scale": Column("scale", "分级", table_format=labeller({c: sc.label for c, sc in scales.items()})),
           "label": "期间", "rank": _num("rank", "名次", "count"), "customer": "客户编号", "name": "客户名称",
           "owner": "负责人", "grade": Column("grade", "级别", table_format=g),
           "previous": Column("previous", "原级别", table_format=g), "score": _num("score", "综合得分", "qty", 2),
           "volume": _num("volume", f"用量（{_unit(app)}）", "qty"), "growth_pct": _num("growth_pct", "增长率%", "pct"),
           "spread": _num("spread", "单价", "money")}
    for sc in scales.values():
        for k, f in sc.factors.items():
            out[f"factor_scores.{k}"] = _num(f"factor_scores.{k}", f.label, "qty", 2)
    return out


@_view("big-customers", _big_titles)
def _big_customers(app, params, result) -> dict:
    return {"title": "大客户分级排名"}


# ----------------------------------------------------------------------------------------------
# stability


def _stability_titles(app) -> dict:
    st = app.policy.stability
    unit = _unit(app)
    return {"section": Column("section", "类别", table_format=labeller({"count": "客户稳定性", "lost": "流失客户",
                                                                      "churn": "流失预警"})),
            "stability": Column("stability", "稳定性", table_format=labeller(st.labels.model_dump() if st else {})),
            "customers": _num("customers", "客户数", "count"), "customer": "客户编号", "name": "客户名称",
            "owner": "负责人", "last_purchase": "最后购买日", "days_since_purchase": _num("days_since_purchase", "未购天数", "count"),
            "label": "期间", "base_label": "对比期间", "volume": _num("volume", f"本期量（{unit}）", "qty"),
            "base_volume": _num("base_volume", f"对比期量（{unit}）", "qty"), "drop_pct": _num("drop_pct", "降幅%", "pct")}


@_view("stability", _stability_titles)
def _stability(app, params, result) -> dict:
    pol = app.policy
    label = result.period.label if result.period is not None else None
    labels = pol.stability.labels.model_dump() if pol.stability else {}
    sections = {
        "count": ("客户稳定性（当前）", ["stability", "customers"]),
        "lost": ("流失客户及最后购买日", ["customer", "name", "owner", "last_purchase", "days_since_purchase"]),
        "churn": (f"流失预警（{label}）" if label else "流失预警",
                  ["customer", "name", "label", "base_label", "volume", "base_volume", "drop_pct"]),
    }
    chart = ChartSpec("客户稳定性", unit="户",
                      pick=lambda r: (labels.get(r["stability"], r["stability"]), r["customers"])
                      if r["section"] == "count" else None)
    return {"title": "客户稳定性分析", "sections": sections, "chart": chart}


# ----------------------------------------------------------------------------------------------
# complaints, service, technicians


def _complaint_titles(app) -> dict:
    pol = app.policy
    scales = pol.grading.scales
    keys = dict(pol.complaints.severities if pol.complaints else {})
    keys.update(_grade_labels(scales))
    sections = {"total": "合计", "severity": "严重程度", "month": "月份"}
    sections.update({f"grade.{c}": sc.label for c, sc in scales.items()})
    return {"label": "期间", "section": Column("section", "维度", table_format=labeller(sections)),
            "key": Column("key", "分组", table_format=labeller(keys)), "opened": _num("opened", "受理", "count"),
            "closed": _num("closed", "办结", "count"), "on_time": _num("on_time", "按时办结", "count"),
            "late": _num("late", "超时办结", "count"), "open_overdue": _num("open_overdue", "超时未结", "count"),
            "on_time_pct": _num("on_time_pct", "按时率%", "pct"), "satisfied": _num("satisfied", "满意", "count"),
            "unsatisfied": _num("unsatisfied", "不满意", "count"), "satisfaction_pct": _num("satisfaction_pct", "满意率%", "pct"),
            "target_pct": _num("target_pct", "目标%", "pct"),
            "meets_target": Column("meets_target", "达标", table_format=yes_no)}


@_view("complaints", _complaint_titles)
def _complaints(app, params, result) -> dict:
    per = result.period
    counts = ["opened", "closed", "on_time", "late", "open_overdue", "on_time_pct", "satisfied", "unsatisfied",
              "satisfaction_pct", "target_pct", "meets_target"]
    sections = {"total": (f"投诉处理合计（{per.label}）", counts), "severity": ("按严重程度", ["key"] + counts)}
    for code, sc in app.policy.grading.scales.items():
        sections[f"grade.{code}"] = (f"按客户等级（{sc.label}）", ["key"] + counts)
    sections["month"] = (f"按月（近{result.shown['months']}个月）", ["label"] + counts)
    chart = ChartSpec("投诉按时办结率（按月）", unit="%", max_value=100.0,
                      pick=lambda r: (r["label"], r["on_time_pct"]) if r["section"] == "month" else None)
    return {"title": "投诉处理统计", "sections": sections, "chart": chart}


def _service_titles(app) -> dict:
    sv = app.policy.service
    return {"label": "期间", "section": Column("section", "维度", table_format=labeller({"tickets": "工单", "clock": "时限"})),
            "kind": Column("kind", "类别", table_format=labeller(sv.kinds if sv else {})),
            "location": Column("location", "地点", table_format=labeller(sv.locations if sv else {})),
            "service_type": Column("service_type", "服务类型", table_format=labeller(sv.service_types if sv else {})),
            "clock": Column("clock", "时限", table_format=labeller(_CLOCKS)),
            "opened": _num("opened", "受理", "count"), "resolved": _num("resolved", "已完成", "count"), "open": _num("open", "未完成", "count"),
            "overdue": _num("overdue", "超时", "count"), "due": _num("due", "有时限", "count"), "met": _num("met", "按时", "count"),
            "missed": _num("missed", "超时", "count"), "running": _num("running", "进行中", "count"),
            "on_time_pct": _num("on_time_pct", "按时率%", "pct")}


@_view("service", _service_titles)
def _service(app, params, result) -> dict:
    per = result.period
    sections = {"tickets": (f"工单（{per.label}）", ["kind", "location", "service_type", "opened", "resolved", "open",
                                                   "overdue"]),
                "clock": ("各时限按时率", ["kind", "clock", "due", "met", "missed", "running", "on_time_pct"])}
    kinds = app.policy.service.kinds
    chart = ChartSpec("服务时限按时率", unit="%", max_value=100.0,
                      pick=lambda r: (f"{kinds.get(r['kind'], r['kind'])}·{_CLOCKS[r['clock']]}", r["on_time_pct"])
                      if r["section"] == "clock" else None)
    return {"title": "客户服务统计", "sections": sections, "chart": chart}


def _technician_titles(app) -> dict:
    items = app.policy.service.rating_items if app.policy.service else {}
    out = {"label": "月份", "technician": "技术员", "name": "姓名", "resolved": _num("resolved", "完成工单", "count"),
           "rated": _num("rated", "评价次数", "count"), "average": _num("average", "综合平均", "qty", 2)}
    out.update({f"ratings.{code}": _num(f"ratings.{code}", label, "qty", 2) for code, label in items.items()})
    return out


@_view("technicians", _technician_titles)
def _technicians(app, params, result) -> dict:
    return {"title": f"技术员月度评价（{result.period.label}）"}


# ----------------------------------------------------------------------------------------------
# visits


def _visit_titles(app) -> dict:
    scales = app.policy.grading.scales
    sections = {"total": "合计", "owner": "负责人"}
    sections.update({f"grade.{c}": sc.label for c, sc in scales.items()})
    return {"label": "月份", "section": Column("section", "维度", table_format=labeller(sections)), "owner": "负责人",
            "grade": Column("grade", "等级", table_format=labeller(_grade_labels(scales))),
            "planned": _num("planned", "计划", "count"), "done": _num("done", "完成", "count"),
            "missed": _num("missed", "未完成（逾期）", "count"), "open": _num("open", "进行中", "count"),
            "unplanned": _num("unplanned", "计划外", "count"), "compliance_pct": _num("compliance_pct", "完成率%", "pct")}


@_view("visits", _visit_titles)
def _visits(app, params, result) -> dict:
    per = result.period
    counts = ["planned", "done", "missed", "open", "unplanned", "compliance_pct"]
    sections = {"total": (f"走访计划完成情况（{per.label}）", counts), "owner": ("按负责人", ["owner"] + counts)}
    for code, sc in app.policy.grading.scales.items():
        sections[f"grade.{code}"] = (f"按客户等级（{sc.label}）", ["grade"] + counts)
    chart = ChartSpec(f"走访计划完成率（{per.label}，按负责人）", unit="%", max_value=100.0,
                      pick=lambda r: (r["owner"] or "（无负责人）", r["compliance_pct"])
                      if r["section"] == "owner" and r["planned"] else None)
    return {"title": "走访计划执行情况", "sections": sections, "chart": chart}


# ----------------------------------------------------------------------------------------------
# documents, allocation, proposals, development


def _document_titles(app) -> dict:
    return {"section": Column("section", "类别", table_format=labeller({"document": "证照到期", "missing": "缺少证照",
                                                                  "suspended": "暂停业务客户"})),
            "customer": "客户编号", "name": "客户名称",
            "status": Column("status", "客户状态", table_format=labeller(app.policy.statuses.labels())),
            "owner": "负责人", "type": Column("type", "证照", table_format=labeller(app.policy.document_labels())),
            "number": "证照编号", "expires": "有效期至", "days_left": _num("days_left", "剩余天数", "count"),
            "expired": Column("expired", "已过期", table_format=yes_no),
            "suspends": Column("suspends", "导致暂停", table_format=yes_no), "status_reason": "暂停原因",
            "status_since": "暂停时间"}


@_view("documents", _document_titles)
def _documents(app, params, result) -> dict:
    days = result.shown["days"]
    sections = {"document": (f"{days} 天内到期及已过期的证照", ["customer", "name", "status", "owner", "type", "number",
                                                          "expires", "days_left", "expired", "suspends"]),
                "missing": ("缺少的必备证照", ["customer", "name", "status", "owner", "type", "suspends"]),
                "suspended": ("暂停业务的客户", ["customer", "name", "owner", "status_reason", "status_since"])}
    return {"title": "证照有效期检查", "sections": sections}


def _allocation_titles(app) -> dict:
    al = app.policy.reports.allocation
    groups: dict[str, str] = {}
    if al is not None:
        try:
            groups = dict(app.policy.segment(al.segment).values)
        except KeyError:
            groups = {}
    unit = _unit(app)
    return {"rank": _num("rank", "顺序", "count"), "label": "期间", "customer": "客户编号", "name": "客户名称",
            "group": Column("group", "类别", table_format=labeller(groups)),
            "planned": _num("planned", f"计划量（{unit}）", "qty"), "actual": _num("actual", f"提货量（{unit}）", "qty"),
            "completion_pct": _num("completion_pct", "完成率%", "pct"), "weekly_cv": _num("weekly_cv", "周均衡系数(CV)", "qty", 2)}


@_view("allocation", _allocation_titles)
def _allocation(app, params, result) -> dict:
    return {"title": f"资源分配优先顺序（{result.period.label}）"}


def _proposal_titles(app) -> dict:
    pr = app.policy.proposals
    cur = app.policy.policy.currency
    return {"label": "期间", "section": Column("section", "维度", table_format=labeller({"category": "按类别",
                                                                                       "adopted": "采纳提案"})),
            "category": Column("category", "类别", table_format=labeller(pr.categories if pr else {})),
            "outcome": Column("outcome", "结果", table_format=labeller(_OUTCOMES)),
            "proposals": _num("proposals", "提案数", "count"), "overdue": _num("overdue", "超期", "count"), "number": "提案编号",
            "customer": "客户编号", "name": "客户名称", "saving": _num("saving", f"降低成本（{cur}）", "money"),
            "company_share": _num("company_share", "公司分享", "money"), "customer_share": _num("customer_share", "客户分享", "money"),
            "shared_from": "分享起", "shared_until": "分享止", "company_alone_from": "公司独享起",
            "benefit_until": "分享截止"}


@_view("proposals", _proposal_titles)
def _proposals(app, params, result) -> dict:
    b = app.policy.proposals.benefit
    split = f"（公司 {b.company_pct:g}% / 客户 {b.customer_pct:g}%，{b.months} 个月）" if b else ""
    sections = {"category": (f"提案按类别与结果（{result.period.label}）", ["category", "outcome", "proposals", "overdue",
                                                                    "saving", "company_share", "customer_share"]),
                "adopted": (f"采纳提案的效益分享{split}", ["number", "customer", "name", "category", "saving",
                                                      "company_share", "customer_share", "shared_from", "shared_until",
                                                      "company_alone_from"])}
    return {"title": "客户提案统计", "sections": sections}


def _development_titles(app) -> dict:
    return {"label": "期间", "manager": "客户经理", "name": "姓名",
            "prospects_target": _num("prospects_target", "开发目标", "count"),
            "prospects_added": _num("prospects_added", "新增潜在客户", "count"),
            "prospects_pct": _num("prospects_pct", "开发完成率%", "pct"), "admitted_target": _num("admitted_target", "准入目标", "count"),
            "admitted": _num("admitted", "准入客户", "count"), "admitted_pct": _num("admitted_pct", "准入完成率%", "pct")}


@_view("development", _development_titles)
def _development(app, params, result) -> dict:
    return {"title": f"市场开发计划完成情况（{result.period.label}）"}
