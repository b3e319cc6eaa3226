"""Required documents an active customer lacks (issue 16, petrochem Art. 7, 15): `doc check` finds
them and suspends or only lists them as the policy says ([admission] missing_documents), reactivates
them once the file is complete; `report documents` lists each missing document.  Services on a tmp
database (SQLite, or PostgreSQL on a --pg run)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from crmctl.models import AuditLog, Customer, Document
from crmctl.services.app import Settings, open_app
from crmctl.services.customers import import_customers
from crmctl.services.documents import add_document, apply_expiry, check_documents
from crmctl.services.reports import Params, run_report
from crmctl.services.staff import add_staff
from tests.conftest import count_statements

SH = ZoneInfo("Asia/Shanghai")
PETRO_DOCS = {"business_license": "2027-06-30", "tax_registration": "2027-06-30", "org_code": "2027-06-30",
              "billing_info": None}


@pytest.fixture
def opened():
    apps = []

    def make(cli, login="admin"):
        a = open_app(Settings(db=str(cli.db), actor=login))
        apps.append(a)
        return a

    yield make
    for a in apps:
        a.close()


def _import(app, tmp_path: Path, header: str, rows: list[str]) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    import_customers(app, path, admitted=True)


def _petro(make_cli, opened, tmp_path, codes=("P1", "P2", "P3", "P4", "P5")):
    cli = make_cli("petrochem")
    app = opened(cli)
    _import(app, tmp_path, "code,name,product_line,channel,sales_form",
            [f"{c},化工客户{c},polyolefin,distributor,plan" for c in codes])
    return cli, app


def _docs(app, code: str, *, skip=(), **expires) -> None:
    for t, exp in PETRO_DOCS.items():
        if t not in skip:
            add_document(app, code, t, f"{code}-{t}", expires.get(t, exp))


def _lapsed(app, code: str, type_: str, expires: str) -> None:
    """A copy that expired as time went by (add_document refuses an expired one)."""
    with app.db.write() as s:
        cid = s.scalar(select(Customer.id).where(Customer.code == code))
        s.add(Document(customer_id=cid, type=type_, number="old", expires=date.fromisoformat(expires),
                       added_at=datetime(2025, 1, 1, tzinfo=SH), added_by="admin"))


def _state(app) -> dict:
    with app.db.read() as s:
        return {c: (st, why) for c, st, why in s.execute(select(Customer.code, Customer.status, Customer.status_reason))}


def _audits(app, action: str) -> dict:
    with app.db.read() as s:
        return {k: json.loads(a) if isinstance(a, str) else a for k, a in s.execute(
            select(AuditLog.entity_key, AuditLog.after).where(AuditLog.action == action).order_by(AuditLog.id))}


def test_doc_check_suspends_the_ones_missing_a_document(make_cli, opened, tmp_path):
    _cli, app = _petro(make_cli, opened, tmp_path)
    _docs(app, "P1")                                        # complete
    _docs(app, "P2", skip=("billing_info",))                # no billing info at all
    # P3: nothing at all (imported --admitted from an older system)
    _docs(app, "P4", skip=("business_license",))
    _lapsed(app, "P4", "business_license", "2026-10-01")    # expired, not missing
    _docs(app, "P5", skip=("business_license", "billing_info"))
    _lapsed(app, "P5", "business_license", "2026-10-01")    # expired and missing: the expiry first

    r = check_documents(app)
    assert r == {"suspended": ["P2", "P3", "P4", "P5"], "reactivated": [], "missing": ["P2", "P3", "P5"]}
    st = _state(app)
    assert st["P1"] == ("active", None)
    assert {c: st[c] for c in ("P2", "P3")} == {"P2": ("suspended", "document_missing"),
                                                "P3": ("suspended", "document_missing")}
    assert st["P4"] == st["P5"] == ("suspended", "document_expired")
    # one audit entry per customer, naming the reason
    assert {k: a["reason"] for k, a in _audits(app, "customer.suspend").items()} == {
        "P2": "document_missing", "P3": "document_missing", "P4": "document_expired", "P5": "document_expired"}
    # idempotent: the suspended ones are no longer active customers missing something
    assert check_documents(app) == {"suspended": [], "reactivated": [], "missing": []}

    # the document added later reactivates (doc add runs the check for its customer)
    assert add_document(app, "P2", "billing_info", "B-2")["reactivated"] is True
    assert _state(app)["P2"] == ("active", None)
    for t in ("business_license", "tax_registration", "org_code"):
        assert add_document(app, "P3", t, "X", "2027-06-30")["reactivated"] is False  # still one missing
    assert _state(app)["P3"] == ("suspended", "document_missing")
    # P5 renews its licence: the billing info is still missing, so it stays suspended, for that now
    assert add_document(app, "P5", "business_license", "L-5", "2028-01-01")["reactivated"] is False
    assert _state(app)["P5"] == ("suspended", "document_missing")
    assert _audits(app, "customer.suspend")["P5"] == {"status": "suspended", "reason": "document_missing"}
    # the daily check reactivates the ones whose reason is gone (documents filed by other means)
    with app.db.write() as s:
        for code in ("P3", "P5"):
            cid = s.scalar(select(Customer.id).where(Customer.code == code))
            s.add(Document(customer_id=cid, type="billing_info", number="B", added_at=app.now(), added_by="admin"))
    assert check_documents(app) == {"suspended": [], "reactivated": ["P3", "P5"], "missing": []}
    st = _state(app)
    assert st.pop("P4") == ("suspended", "document_expired") and {s for s, _ in st.values()} == {"active"}
    assert set(_audits(app, "customer.reactivate")) == {"P2", "P3", "P5"}


def test_prospects_disqualified_and_hand_suspended_customers_are_left_alone(make_cli, opened, tmp_path):
    from crmctl.services.customers import add_customer, disqualify

    _cli, app = _petro(make_cli, opened, tmp_path, codes=("P1", "P2", "P3"))
    prospect = add_customer(app, "潜在客户", {"product_line": "polyolefin", "channel": "distributor",
                                              "sales_form": "auction"}, {})["code"]
    disqualify(app, "P1", "fraud")
    with app.db.write() as s:
        s.execute(update(Customer).where(Customer.code == "P2").values(status="suspended", status_reason="arrears"))
    r = check_documents(app)
    assert r["suspended"] == ["P3"] and r["missing"] == ["P3"]
    st = _state(app)
    assert st[prospect][0] == "prospect" and st["P1"][0] == "disqualified" and st["P2"] == ("suspended", "arrears")


def test_report_only_policy_lists_and_keeps_them_active(make_cli, opened, tmp_path):
    cli = make_cli("manufacturer")
    app = opened(cli)
    _import(app, tmp_path, "code,name,kind", ["M1,供应商一,supplier", "M2,经销商二,distributor", "M3,供应商三,supplier"])
    for t in ("company_profile", "financial_statements", "product_catalogue"):
        add_document(app, "M1", t, "X")
    add_document(app, "M2", "company_profile", "X")
    # M3 was suspended for a missing document while the policy said so: the reason is gone now
    with app.db.write() as s:
        s.execute(update(Customer).where(Customer.code == "M3").values(status="suspended",
                                                                        status_reason="document_missing"))
    # reactivated, and listed with the others: active and missing documents
    assert check_documents(app) == {"suspended": [], "reactivated": ["M3"], "missing": ["M2", "M3"]}
    assert check_documents(app) == {"suspended": [], "reactivated": [], "missing": ["M2", "M3"]}  # listed again
    assert {st for st, _ in _state(app).values()} == {"active"}
    got = [(r["customer"], r["type"], r["suspends"]) for r in run_report(app, "documents", Params()).rows
           if r["section"] == "missing"]
    assert got == [("M2", "financial_statements", False), ("M2", "product_catalogue", False),
                   ("M3", "company_profile", False), ("M3", "financial_statements", False),
                   ("M3", "product_catalogue", False)]


def test_grade_run_check_suspends_no_one_for_a_missing_document_but_keeps_them_suspended(make_cli, opened, tmp_path):
    """grade run applies the expiry rule first (apply_expiry without missing): a missing document
    suspends only through doc check, but a customer suspended for one is not reactivated."""
    _cli, app = _petro(make_cli, opened, tmp_path, codes=("P1", "P2"))
    check_documents(app)  # both suspended: nothing filed
    with app.db.write() as s:
        s.execute(update(Customer).where(Customer.code == "P2").values(status="active", status_reason=None))
        assert apply_expiry(s, app, app.now().date()) == {"suspended": [], "reactivated": [], "missing": []}
    assert _state(app) == {"P1": ("suspended", "document_missing"), "P2": ("active", None)}


def test_report_documents_lists_missing_after_the_expired_and_expiring(make_cli, opened, tmp_path):
    from crmctl.services.customers import disqualify

    _cli, app = _petro(make_cli, opened, tmp_path, codes=("P1", "P2", "P3", "P4"))
    _docs(app, "P1", business_license="2026-12-01")   # expiring within the notice
    _docs(app, "P2", skip=("org_code", "billing_info"))
    _lapsed(app, "P3", "business_license", "2026-11-01")
    _docs(app, "P3", skip=("business_license",))
    disqualify(app, "P4", "fraud")                    # disqualified: not listed
    check_documents(app)
    got = list(run_report(app, "documents", Params()).rows)
    assert [r["section"] for r in got] == ["document", "document", "missing", "missing", "suspended", "suspended"]
    docs = [(r["customer"], r["type"], r["expired"]) for r in got if r["section"] == "document"]
    assert docs == [("P3", "business_license", True), ("P1", "business_license", False)]
    missing = [r for r in got if r["section"] == "missing"]
    assert [(r["customer"], r["status"], r["type"]) for r in missing] == [
        ("P2", "suspended", "org_code"), ("P2", "suspended", "billing_info")]  # the policy's order of types
    assert all(r["number"] is None and r["expires"] is None and r["days_left"] is None and r["suspends"] is True
               for r in missing)
    assert [(r["customer"], r["status_reason"]) for r in got if r["section"] == "suspended"] == [
        ("P2", "document_missing"), ("P3", "document_expired")]
    assert set(got[2]) == set(got[0])  # every row has the report's keys


def test_report_documents_missing_rows_follow_the_visibility_rule(make_cli, opened, tmp_path):
    """manufacturer 三.6: rows about a customer whose file one may not read are left out."""
    cli = make_cli("manufacturer")
    admin = opened(cli)
    add_staff(admin, "keeper", "负责人", ["marketing"], None)
    add_staff(admin, "other", "其他人", ["marketing"], None)
    add_staff(admin, "info", "信息部", ["info_dept"], None)
    _import(admin, tmp_path, "code,name,kind,owner", ["M1,供应商一,supplier,keeper", "M2,经销商二,distributor,other"])

    def missing_of(login):
        result = run_report(opened(cli, login), "documents", Params())
        return sorted({r["customer"] for r in result.rows if r["section"] == "missing"})

    assert missing_of("keeper") == ["M1"] and missing_of("other") == ["M2"]
    assert missing_of("info") == missing_of("admin") == ["M1", "M2"]


@pytest.mark.parametrize("job", ["check", "report"])
def test_set_based_whatever_the_number_of_customers(make_cli, opened, tmp_path, job):
    counts = []
    for n in (3, 120):
        folder = tmp_path / str(n)
        folder.mkdir()
        cli = make_cli("petrochem", name=f"crm{n}.db")
        app = opened(cli)
        _import(app, folder, "code,name,product_line,channel,sales_form",
                [f"P{i},化工客户{i},polyolefin,distributor,plan" for i in range(n)])
        with app.db.write() as s:  # a third complete, a third lacking billing info, a third nothing
            ids = s.scalars(select(Customer.id).order_by(Customer.id)).all()
            s.add_all(Document(customer_id=cid, type=t, number="N", expires=date(2027, 6, 30) if exp else None,
                               added_at=app.now(), added_by="admin")
                      for k, cid in enumerate(ids) if k % 3 < 2 for t, exp in PETRO_DOCS.items()
                      if k % 3 == 0 or t != "billing_info")
        if job == "check":
            counts.append(count_statements(app, lambda: check_documents(app)))
            assert len(check_documents(app)["missing"]) == 0
            with app.db.write() as s:  # everyone back to active: the next check finds them again
                s.execute(update(Customer).values(status="active", status_reason=None))
            counts[-1] = (counts[-1], count_statements(app, lambda: check_documents(app)))
        else:
            counts.append(count_statements(app, lambda: list(run_report(app, "documents", Params()).rows)))
    assert counts[0] == counts[1]
