"""The human view of ``customer show``: a few small tables with the policy's labels; the card's own
words (row names, sub-tables' titles and headings) in the user's language."""

from __future__ import annotations

from ..i18n import _, label
from ..output import open_output


def _decisions() -> dict:
    """An admission step's decision (a code of the JSON) in Chinese words."""
    return {"submit": _("submitted"), "approve": _("approved"), "reject": _("rejected")}


def _status_shown(shown: str, code: str) -> str:
    """The status on the card: ``正式客户 (active)`` in English, ``正式客户`` in Chinese."""
    from ..i18n import current

    return shown if current() == "zh" or shown == code else f"{shown} ({code})"


def render_customer(app, data: dict, out) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    pol = app.policy
    if data.get("restricted"):
        with open_output(out) as stream:
            stream.write(f"{data['code']}  {data['name']}\n"
                         + _("(details restricted: you are not its owner, a contact or a permitted role)") + "\n")
        return
    seg_defs = {s.key: s for s in pol.segments}
    field_defs = {f.key: f for f in pol.fields}
    scales = pol.grading.scales
    statuses = pol.statuses.labels()  # [statuses]: always present (defaults to the contract's labels)
    with open_output(out) as stream:
        console = Console(file=stream, width=120 if out.output else None, no_color=out.output is not None,
                          highlight=False)
        t = Table(show_header=False, box=None, padding=(0, 2))
        t.add_column(style="bold")
        t.add_column()
        t.add_row(_("Code"), escape(data["code"]))
        t.add_row(_("Name"), escape(data["name"]))
        t.add_row(_("Status"), _status_shown(statuses.get(data['status'], data['status']), data['status'])
                  + (f" — {escape(str(data['status_reason']))}" if data.get("status_reason") else ""))
        t.add_row(_("Owner"), escape(data.get("owner") or "-"))
        if data.get("tax_id"):
            t.add_row(_("Tax id"), data["tax_id"])
        for key, value in data["segments"].items():
            seg = seg_defs.get(key)
            t.add_row(seg.label if seg else key, escape(seg.values.get(value, value) if seg else str(value)))
        for key, value in data["grades"].items():
            scale = scales.get(key)
            labels = {g.code: g.label for g in scale.grades} if scale else {}
            t.add_row(scale.label if scale else key, labels.get(value, value) if value else "-")
        for key, value in data["fields"].items():
            f = field_defs.get(key)
            t.add_row(f.label if f else key, escape(str(value)))
        for key, text in (data.get("benefits") or {}).items():
            t.add_row(_("Benefits"), escape(text))
        if data.get("admission"):
            a = data["admission"]
            progress = dict(round=a["round"], approved=a["approved_steps"], steps=a["steps"])
            if a.get("waiting_for"):
                line = _("round {round}: {approved}/{steps} approved, waiting for {role}").format(
                    **progress, role=label(a["waiting_for"], pol.roles))
            else:
                line = _("round {round}: {approved}/{steps} approved").format(**progress)
            t.add_row(_("Admission"), line)
        if data.get("contacts"):
            t.add_row(_("Contact staff"), ", ".join(data["contacts"]))
        t.add_row(_("Created"), data["created_at"].strftime("%Y-%m-%d %H:%M"))
        console.print(t)
        docs = pol.document_labels()
        if data.get("documents"):
            dt = Table(title=_("Documents"), title_justify="left")
            for h in (_("Type"), _("Number"), _("Expires"), _("Valid")):
                dt.add_column(h)
            for d in data["documents"]:
                dt.add_row(docs.get(d["type"], d["type"]), escape(d["number"] or ""),
                           str(d["expires"] or "-"), _("yes") if d["valid"] else _("EXPIRED"))
            console.print(dt)
        if data.get("approvals"):
            at = Table(title=_("Approvals"), title_justify="left")
            for h in (_("Time"), _("Round"), _("Step"), _("Role"), _("By"), _("Decision"), _("Comment")):
                at.add_column(h)
            for a in data["approvals"]:
                at.add_row(a["at"].strftime("%Y-%m-%d %H:%M"), str(a["round"]), str(a["step"]),
                           label(a["role"], pol.roles) or "", a["by"], label(a["decision"], _decisions()),
                           escape(a["comment"] or ""))
            console.print(at)
        if data.get("notes"):
            nt = Table(title=_("Contact log (latest 20)"), title_justify="left")
            for h in (_("Time"), _("Recorded by"), _("Channel"), _("Text")):
                nt.add_column(h)
            for n in data["notes"]:
                nt.add_row(n["at"].strftime("%Y-%m-%d %H:%M"), n["by"], n["channel"], escape(n["text"]))
            console.print(nt)
