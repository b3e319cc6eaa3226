"""``crmctl demo``: a plausible company's data, produced through the same services users call.

Everything is generated from the policy (segments, fields, roles, documents, chain), so the demo
runs on any of the built-in policies without policy-specific code.  The base (staff, customers,
documents, a few admissions) is built here; every other area adds its part as a registered demo
step (``services.registry.demo_step``): usage and grades (``demo/grading.py``), service work
(``demo/service_desk.py``), the relationship plan (``demo/activities.py``).
"""

from __future__ import annotations

import csv
import os
import random
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

from ...db import default_db_path, sqlite_path
from ...errors import InvalidInput
from ... import i18n
from ...i18n import _
from ..app import Settings, open_app
from ..registry import demo_steps
from .names import acting_for, company_name, customer_values, distinct_name, person_name, sample_tax_id


def _demo_target(settings: Settings, replace: bool, policy_name: str) -> Path:
    """The file the demo makes: --db / CRMCTL_DB, else ``demo-<policy>.db`` in the user data folder
    (one file per policy, so another company's demo is another file).  An existing file (an earlier
    demo, perhaps with your changes) is refused unless ``replace``."""
    if settings.db or settings.env_db:
        path = sqlite_path(settings.db_url())
        if path is None:
            raise InvalidInput(_("the demo builds a SQLite file; give --db PATH (not a server URL)"))
    else:
        path = default_db_path().with_name(f"demo-{policy_name}.db")
        path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not replace:
        raise InvalidInput(_("{path} exists (an earlier demo, with any changes made to it): pass --replace to "
                             "build it again, or --db FILE for another one").format(path=path))
    return path


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _move_into_place(built: Path, target: Path) -> None:
    """The finished demo database replaces ``target`` in one rename: its write-ahead log is
    checkpointed into the file first, and ``target``'s own -wal/-shm go (they belong to the old file)."""
    import sqlite3

    conn = sqlite3.connect(str(built))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()  # the last connection: SQLite removes the -wal and -shm
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(built, target)
    _remove(built)  # a -wal/-shm SQLite left (empty after the checkpoint)


def run_demo(settings: Settings, policy_name: str, n_customers: int, *, seed: int = 7,
             replace: bool = False, then: Callable[[Any, Path], Iterator[str]] | None = None) -> Iterator[str]:
    """All or nothing: the demo is built in a file of this process next to the target
    (``demo-<policy>.db.partial-PID``) and renamed over it when it is complete; one left by a killed demo is
    removed by the next.  ``then(app, target)``, when given, runs on the finished database (the
    report pack of ``crmctl demo``), its lines before the closing ones."""
    from ...db import clean_stale_partials, partial_path
    from ...policies import BUILTIN_NAMES, load_policy
    from ..policy import init_database

    if policy_name not in BUILTIN_NAMES:
        raise InvalidInput(_("unknown built-in policy '{policy}': use {names}").format(policy=policy_name,
                                                                                       names=", ".join(BUILTIN_NAMES)))
    rng = random.Random(seed)
    target = _demo_target(settings, replace, policy_name)
    clean_stale_partials(target.parent, lambda base: base == target.name)
    built = partial_path(target)
    _remove(built)
    admin = "admin"
    done = False
    try:
        info = init_database(Settings(db=str(built), actor=admin), policy_name, admin, "系统管理员",
                             recorded_as=str(target))
        # the first lines in the policy's language already (the other commands say all in it)
        i18n.set_policy_language(load_policy(policy_name)[0].policy.language)
        yield _("database: {path}").format(path=target)
        yield _("policy:   {policy} (version 1)").format(policy=info["policy"])
        app = open_app(Settings(db=str(built), actor=admin))
        try:
            yield from populate(app, rng, n_customers)
        finally:
            app.close()
        _move_into_place(built, target)
        done = True
    finally:
        if not done:
            _remove(built)
    if then is not None:
        app = open_app(Settings(db=str(target), actor=admin))
        try:
            yield from then(app, target)
        finally:
            app.close()
    yield _("you:      {login}, the administrator (bound to your OS account); --as LOGIN acts for the others").format(
        login=admin)
    yield _("try:      export CRMCTL_DB={path}; crmctl customer list --limit 20").format(path=target)


def populate(app, rng: random.Random, n: int) -> Iterator[str]:
    """Fill an initialised database with ``n`` customers and everything the areas' demo steps add;
    one summary line per stage, then the management summary."""
    from ..customers import add_customer, approve, import_customers, submit
    from ..documents import add_document, check_documents
    from ..reports.summary import management_summary
    from ..staff import add_staff

    pol = app.policy
    staff_by_role: dict[str, list[str]] = {}
    k = 0
    for role in pol.roles:
        for _i in range(2):
            k += 1
            login = f"{role.replace('_', '')[:10]}{k:02d}"
            add_staff(app, login, person_name(rng), [role], unit=pol.roles[role])
            staff_by_role.setdefault(role, []).append(login)
    yield _("staff:    {n} people over {roles} roles").format(n=k, roles=len(pol.roles))
    keepers = [login for logins in staff_by_role.values() for login in logins]

    idx = app.segment_index
    header = ["name", "tax_id", "owner", "created_at"] + list(idx.segments) + [f.key for f in pol.fields]
    now = app.now()
    names: set[str] = set()  # name keys given so far: one customer per name
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "customers.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for i in range(1, n + 1):
                raw_fields, fields, segs = customer_values(rng, idx, pol.fields, i)
                created = now - timedelta(days=rng.randrange(30, 900))
                row = [distinct_name(company_name(rng, i), names), sample_tax_id(rng, i), rng.choice(keepers), created.strftime("%Y-%m-%dT%H:%M")]
                row += [segs.get(key, "") for key in idx.segments]
                row += [raw_fields[f.key] for f in pol.fields]
                w.writerow(row)
        result = import_customers(app, path, admitted=True)
    yield _("customers: {n} imported as admitted customers").format(n=result["imported"])

    # Documents for the admitted customers: most valid, a few expiring soon or lapsed, and one in 50
    # brought over from the older system without its last required document (doc check finds it).
    required = list(pol.admission.required_documents)
    if required:
        from sqlalchemy import insert, select

        from ...models import Customer, Document

        with app.db.write() as s:
            ids = s.scalars(select(Customer.id).order_by(Customer.id)).all()
            rows = []
            lacking = 0
            for k, cid in enumerate(ids):
                lacks = k % 50 == 7
                lacking += lacks
                for t in required[:-1] if lacks else required:
                    spec = pol.documents[t]
                    exp = None
                    if spec.expires:
                        r = rng.random()
                        days = rng.randrange(-60, -1) if r < 0.03 else rng.randrange(1, 30) if r < 0.08 else rng.randrange(60, 1500)
                        exp = now.date() + timedelta(days=days)
                    rows.append({"customer_id": cid, "type": t, "number": f"{rng.randrange(10**9, 10**10)}",
                                 "expires": exp, "added_at": now, "added_by": app.actor.login})
            for i in range(0, len(rows), 5000):
                s.execute(insert(Document), rows[i:i + 5000])
        checked = check_documents(app)
        missing = pol.documents[required[-1]].label
        yield _("documents: {n} per customer, {lacking} imported without {document}; doc check "
                "suspended {suspended} with lapsed or missing documents, {missing} missing one").format(
            n=len(required), lacking=lacking, document=missing, suspended=len(checked["suspended"]),
            missing=len(checked["missing"]))

    # A few admissions through the whole chain, one rejected on the way.
    chain = list(pol.admission.chain)
    admitted = rejected = 0
    for j in range(min(5, max(1, n // 50))):
        flds, _normalised, segs = customer_values(rng, idx, pol.fields, 10**6 + j, only=lambda f: f.required)
        c = add_customer(app, distinct_name(company_name(rng, 10**6 + j), names), segs, flds, tax_id=sample_tax_id(rng, 10**6 + j),
                         prospect=True, owner=rng.choice(keepers))
        step_docs = [t for docs in pol.admission.step_documents.values() for t in docs]
        for t in dict.fromkeys(required + step_docs):
            spec = pol.documents[t]
            add_document(app, c["code"], t, f"{rng.randrange(10**9, 10**10)}",
                         (now.date() + timedelta(days=700)).isoformat() if spec.expires else None)
        criteria = pol.admission.criteria
        submit(app, c["code"], criteria={k: str(rng.randint(6, pol.admission.criteria_scale_max)) for k in criteria})
        for step, role in enumerate(chain, start=1):
            with acting_for(app, staff_by_role[role][0]):  # each step decided by its role's holder
                if j == 0 and step == len(chain):
                    approve(app, c["code"], reject=True, comment="资料不全，请补充开户申请表")
                    rejected += 1
                    break
                approve(app, c["code"], comment="同意")
        else:
            admitted += 1
    if chain:
        yield _("admission: {admitted} prospects admitted through {chain}, {rejected} rejected").format(
            admitted=admitted, chain=" → ".join(i18n.label(r, pol.roles) for r in chain), rejected=rejected)

    # The rest of the pipeline, in the order a company lives it: usage and grades, then service
    # work, then the relationship plan that depends on the grades; each step is generic over the policy.
    for step in demo_steps():
        yield from step(app, rng)
    yield ""
    yield _("management summary")
    yield from ("  " + line for line in management_summary(app))
