"""``crmctl demo``: a plausible company's data, produced through the same services users call.

Everything is generated from the policy (segments, fields, roles, documents, chain), so the demo
runs on any of the built-in policies without policy-specific code.
"""

from __future__ import annotations

import csv
import random
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

from ..db import default_db_path, sqlite_path
from ..errors import InvalidInput
from ..rules import customers as rules
from ..rules.taxid import ALPHABET, make_tax_id
from .app import Settings, open_app

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰飞红建华志强文斌海燕鹏辉宇浩"
PLACES = ["石家庄", "保定", "唐山", "邯郸", "沧州", "廊坊", "衡水", "邢台", "张家口", "承德", "秦皇岛", "天津",
          "济南", "德州", "郑州", "太原", "北京", "雄安"]
WORDS = ["华塑", "宏达", "鑫源", "恒通", "金泰", "瑞丰", "盛安", "永信", "利民", "东方", "新锐", "博远", "正大", "中联",
         "海川", "佳禾", "天成", "润泽", "嘉诚", "裕丰", "长城", "泰和", "中盛", "万通", "华北", "冀中", "燕赵"]
TRADES = ["化工", "塑业", "包装材料", "管业", "物流", "运输", "能源", "燃气", "机械", "建材", "商贸", "农业", "实业", "科技"]
FORMS = ["有限公司", "有限责任公司", "股份有限公司", "贸易有限公司", "集团有限公司"]


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def company_name(rng: random.Random, i: int) -> str:
    word = rng.choice(WORDS)
    return f"{rng.choice(PLACES)}{word}{rng.choice(TRADES)}{rng.choice(FORMS)}"


def _tax_id(rng: random.Random, i: int) -> str:
    head = "91" + f"{130000 + rng.randrange(0, 9999):06d}"
    body = f"{i:08d}"
    return make_tax_id((head + body + rng.choice(ALPHABET[:10]))[:17])


def _field_value(rng: random.Random, f, i: int):
    t = f.type
    if t == "bool":
        return "true" if rng.random() < 0.15 else "false"
    if t == "choice":
        return rng.choice(list(f.choices))
    if t == "int":
        return str(rng.randrange(1, 500))
    if t == "decimal":
        return f"{rng.uniform(10, 5000):.2f}"
    if t == "date":
        return (date(2026, 1, 1) + timedelta(days=rng.randrange(0, 700))).isoformat()
    if t == "phone":
        return f"1{rng.choice('3578')}{rng.randrange(10**8, 10**9)}"
    if t == "email":
        return f"contact{i}@example.cn"
    if not f.required and rng.random() < 0.6:
        return ""
    return f"{rng.choice(PLACES)}{rng.choice(['路', '大街', '工业园'])}{rng.randrange(1, 300)}号" if "address" in f.key \
        else f"{person_name(rng)}"


def _segments(rng: random.Random, idx: rules.SegmentIndex, fields: dict | None = None) -> dict:
    """Random segment values that satisfy the policy (its constraints may look at ``fields``)."""
    for _ in range(200):
        chosen = {}
        for seg in idx.segments.values():
            values = list(seg.values)
            # A skewed choice: the first values are the common ones.
            weights = [len(values) - k for k in range(len(values))]
            chosen[seg.key] = rng.choices(values, weights)[0]
        for key, seg in idx.segments.items():
            from ..rules.conditions import matches

            if not matches(seg.when, segments=chosen):
                chosen.pop(key, None)
        try:
            return rules.normalise_segments(idx, chosen, fields=fields)
        except ValueError:
            continue
    raise InvalidInput("the demo could not find segment values that satisfy the policy's constraints")


def _demo_target(settings: Settings, replace: bool) -> Settings:
    if settings.db or settings.env_db:
        url = settings.db_url()
        path = sqlite_path(url)
        if path is not None and path.exists():
            if not replace:
                raise InvalidInput(f"{path} exists; pass --replace to overwrite it with demo data")
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        elif path is None:
            raise InvalidInput("the demo builds a SQLite file; give --db PATH (not a server URL)")
        return settings
    path = default_db_path().with_name("demo.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return Settings(db=str(path), actor=settings.actor, now=settings.now)


def run_demo(settings: Settings, policy_name: str, n_customers: int, *, seed: int = 7,
             replace: bool = False) -> Iterator[str]:
    from ..policies import BUILTIN_NAMES
    from .policy import init_database

    if policy_name not in BUILTIN_NAMES:
        raise InvalidInput(f"unknown built-in policy '{policy_name}': use {', '.join(BUILTIN_NAMES)}")
    rng = random.Random(seed)
    settings = _demo_target(settings, replace)
    admin = "admin"
    info = init_database(Settings(db=settings.db, actor=admin), policy_name, admin, "系统管理员")
    yield f"database: {info['database']}"
    yield f"policy:   {info['policy']} (version 1)"
    s = Settings(db=settings.db, actor=admin)
    app = open_app(s)
    try:
        yield from _populate(app, rng, n_customers)
    finally:
        app.close()
    yield f"try:      export CRMCTL_DB={info['database']} CRMCTL_USER={admin}; crmctl customer list --limit 20"


def _populate(app, rng: random.Random, n: int) -> Iterator[str]:
    from .customer_import import import_customers
    from .customers import add_customer, approve, submit
    from .documents import add_document, check_documents
    from .staff import add_staff

    pol = app.policy
    staff_by_role: dict[str, list[str]] = {}
    k = 0
    for role in pol.roles:
        for _ in range(2):
            k += 1
            login = f"{role.replace('_', '')[:10]}{k:02d}"
            add_staff(app, login, person_name(rng), [role], unit=pol.roles[role])
            staff_by_role.setdefault(role, []).append(login)
    yield f"staff:    {k} people over {len(pol.roles)} roles"
    keepers = [login for logins in staff_by_role.values() for login in logins]

    idx = rules.SegmentIndex(pol)
    header = ["name", "tax_id", "owner", "created_at"] + list(idx.segments) + [f.key for f in pol.fields]
    now = app.now()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "customers.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            for i in range(1, n + 1):
                raw_fields = {f.key: _field_value(rng, f, i) for f in pol.fields}
                fields = rules.normalise_fields(idx, raw_fields, complete=False)
                segs = _segments(rng, idx, fields)
                created = now - timedelta(days=rng.randrange(30, 900))
                row = [company_name(rng, i), _tax_id(rng, i), rng.choice(keepers), created.strftime("%Y-%m-%dT%H:%M")]
                row += [segs.get(key, "") for key in idx.segments]
                row += [raw_fields[f.key] for f in pol.fields]
                w.writerow(row)
        result = import_customers(app, path)
    yield f"customers: {result['imported']} imported as admitted customers"

    # Documents for the admitted customers: most valid, a few expiring soon or lapsed.
    required = list(pol.admission.required_documents) if pol.admission else []
    if required:
        from sqlalchemy import insert, select

        from ..models import Customer, Document

        with app.db.write() as s:
            ids = s.scalars(select(Customer.id).order_by(Customer.id)).all()
            rows = []
            for cid in ids:
                for t in required:
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
        yield f"documents: {len(required)} per customer; doc check suspended {len(checked['suspended'])} with lapsed documents"

    # A few admissions through the whole chain, one rejected on the way.
    chain = list(pol.admission.chain) if pol.admission else []
    admitted = rejected = 0
    for j in range(min(5, max(1, n // 50))):
        flds = {f.key: _field_value(rng, f, 10**6 + j) for f in pol.fields if f.required}
        segs = _segments(rng, idx, rules.normalise_fields(idx, flds, complete=False))
        c = add_customer(app, company_name(rng, 10**6 + j), segs, flds, tax_id=_tax_id(rng, 10**6 + j),
                         prospect=True, owner=rng.choice(keepers))
        step_docs = [t for docs in (pol.admission.step_documents or {}).values() for t in docs] if pol.admission else []
        for t in dict.fromkeys(required + step_docs):
            spec = pol.documents[t]
            add_document(app, c["code"], t, f"{rng.randrange(10**9, 10**10)}",
                         (now.date() + timedelta(days=700)).isoformat() if spec.expires else None)
        criteria = pol.admission.criteria if pol.admission else {}
        submit(app, c["code"], criteria={k: str(rng.randint(6, pol.admission.criteria_scale_max)) for k in criteria})
        for step, role in enumerate(chain, start=1):
            login = staff_by_role[role][0]
            app._actor = None
            app.settings.actor = login
            if j == 0 and step == len(chain):
                approve(app, c["code"], reject=True, comment="资料不全，请补充开户申请表")
                rejected += 1
                break
            approve(app, c["code"], comment="同意")
        else:
            admitted += 1
        app._actor = None
        app.settings.actor = "admin"
    if chain:
        yield f"admission: {admitted} prospects admitted through {' → '.join(chain)}, {rejected} rejected"

    # The rest of the pipeline, in the order a company lives it: usage and grades, then service
    # work, then the relationship plan that depends on the grades; each step is generic over the policy.
    from . import activities, grading, reports, service_desk

    for step in (grading.demo_step, service_desk.demo_step, activities.demo_step):
        app._actor = None
        app.settings.actor = "admin"
        yield from step(app, rng)
    yield ""
    yield "management summary"
    yield from ("  " + line for line in reports.management_summary(app))
