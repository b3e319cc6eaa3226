"""The human view of ``customer show``: a few small tables with the policy's Chinese labels."""

from __future__ import annotations

from ..output import open_output


def render_customer(app, data: dict, out) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    pol = app.policy
    if data.get("restricted"):
        with open_output(out) as stream:
            stream.write(f"{data['code']}  {data['name']}\n(details restricted: you are not its owner, a contact or a permitted role)\n")
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
        t.add_row("编号 code", escape(data["code"]))
        t.add_row("名称 name", escape(data["name"]))
        t.add_row("状态 status", f"{statuses.get(data['status'], data['status'])} ({data['status']})"
                  + (f" — {escape(str(data['status_reason']))}" if data.get("status_reason") else ""))
        t.add_row("负责人 owner", escape(data.get("owner") or "-"))
        if data.get("tax_id"):
            t.add_row("统一社会信用代码", data["tax_id"])
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
            t.add_row("权益 benefits", escape(text))
        if data.get("admission"):
            a = data["admission"]
            t.add_row("准入 admission", f"round {a['round']}: {a['approved_steps']}/{a['steps']} approved"
                      + (f", waiting for {a['waiting_for']}" if a.get("waiting_for") else ""))
        if data.get("contacts"):
            t.add_row("联系人 contacts", ", ".join(data["contacts"]))
        t.add_row("建档 created", data["created_at"].strftime("%Y-%m-%d %H:%M"))
        console.print(t)
        docs = pol.document_labels()
        if data.get("documents"):
            dt = Table(title="资质文件 documents", title_justify="left")
            for h in ("type", "number", "expires", "valid"):
                dt.add_column(h)
            for d in data["documents"]:
                dt.add_row(docs.get(d["type"], d["type"]), escape(d["number"] or ""),
                           str(d["expires"] or "-"), "yes" if d["valid"] else "EXPIRED")
            console.print(dt)
        if data.get("approvals"):
            at = Table(title="审批记录 approvals", title_justify="left")
            for h in ("at", "round", "step", "role", "by", "decision", "comment"):
                at.add_column(h)
            for a in data["approvals"]:
                at.add_row(a["at"].strftime("%Y-%m-%d %H:%M"), str(a["round"]), str(a["step"]), a["role"] or "",
                           a["by"], a["decision"], escape(a["comment"] or ""))
            console.print(at)
        if data.get("notes"):
            nt = Table(title="往来记录 contact log (latest 20)", title_justify="left")
            for h in ("at", "by", "channel", "text"):
                nt.add_column(h)
            for n in data["notes"]:
                nt.add_row(n["at"].strftime("%Y-%m-%d %H:%M"), n["by"], n["channel"], escape(n["text"]))
            console.print(nt)

