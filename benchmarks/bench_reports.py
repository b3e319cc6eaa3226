"""Exports against the raw-SQL limit: `customer list --format csv` and the biggest report.

    python benchmarks/bench_reports.py                        # 100 000 customers, petrochem
    python benchmarks/bench_reports.py --customers 20000 --policy fuel-retail

* ``customer list --format csv --output FILE`` (a real ``crmctl`` process) against a plain export of the
  same columns in the same order: one ``sqlite3`` query (``json_extract`` for segments and fields, a
  LEFT JOIN per grading scale, the owner's login, the creation time in the company zone) written with
  ``csv.writer`` -- also a separate Python process, so both pay the interpreter start.  Target: ≤ 2×.
* peak memory (``ru_maxrss`` of the child, from ``os.wait4``) of the crmctl export: target ≤ 150 MB
  whatever the size (run with --customers 200000 to see it does not grow).
* ``report customers --format csv`` (the biggest report: one row per customer) and ``report documents``
  (a join with a NOT EXISTS per document) on the same database.

The database is built once under benchmarks/data/ (customers with segments, every custom field filled
and a grade on every scale) with plain sqlite3 (benchmarks/datagen.py).  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import datagen  # noqa: E402

NOW = "2026-11-22T10:00:00"
CRMCTL = [sys.executable, "-m", "crmctl.cli"]


def build(path: Path, n: int, policy: str) -> Path:
    """N active customers with every custom field filled and a grade on each scale; one expiring
    document each.  Runs in a child process (see main) so that this process stays small."""
    os.environ["CRMCTL_NOW"] = NOW
    datagen.init_db(path, policy)
    datagen.add_customers(path, n, policy)
    from crmctl.policies import load_policy

    pol, _ = load_policy(policy)
    rng = random.Random(5)
    conn = sqlite3.connect(path)
    ids = [r[0] for r in conn.execute("select id from customer order by id")]
    # values as crmctl stores them (rules.customers.coerce_field): a whole decimal is an int
    samples = {"text": ["一号库", "工商银行石家庄分行", "河北省石家庄市长安区中山东路 1 号", "=SUM(A1)"],
               "phone": ["13800138000", "0311-86012345"], "int": [3, 12], "decimal": [1200.5, 99],
               "bool": [True, False], "date": ["2026-01-01"], "email": ["a@example.com"]}
    fields = []
    for cid in ids:
        f = {}
        for fd in pol.fields:
            if fd.when is not None:
                continue
            if fd.type == "choice" and fd.choices:
                f[fd.key] = rng.choice(list(fd.choices))
            else:
                f[fd.key] = rng.choice(samples.get(fd.type, samples["text"]))
        fields.append((json.dumps(f, ensure_ascii=False), cid))
    conn.executemany("update customer set fields = ? where id = ?", fields)
    for code, sc in pol.grading.scales.items():
        grades = [g.code for g in sc.grades]
        conn.executemany("insert into customer_grade(customer_id, scale, grade, label, since) values (?,?,?,?,?)",
                         ((cid, code, rng.choice(grades), None, "2026-11-01 00:00:00.000000") for cid in ids))
    expiring = [k for k, d in pol.documents.items() if d.expires]
    if expiring:
        conn.executemany("insert into document(customer_id, type, number, expires, added_at, added_by) "
                         "values (?,?,?,?,?,?)",
                         ((cid, expiring[0], f"N{cid}", f"2026-{rng.randint(10, 12):02d}-{rng.randint(1, 28):02d}",
                           "2026-01-01 00:00:00.000000", "admin") for cid in ids))
    conn.commit()
    conn.close()
    return path


def plain_export(db: str, out: str, policy: str) -> None:
    """The raw limit: the same columns as `customer list --format csv`, one query, csv.writer."""
    try:  # the policy file read directly: no pydantic, nothing of crmctl
        import tomllib  # novermin (tomli below on Python 3.10)
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    root = Path(__file__).resolve().parents[1]
    pol = tomllib.loads((root / "policies" / f"{policy}.toml").read_text(encoding="utf-8"))
    segments = [s["key"] for s in pol.get("segments", [])]
    fields = [(f["key"], f.get("type", "text")) for f in pol.get("fields", [])]
    scales = list(pol.get("grading", {}).get("scales", {}))
    stability = "stability" in pol
    cols = ["c.code", "c.name", "c.status"]
    cols += [f"json_extract(c.segments, '$.{k}')" for k in segments]
    cols += [f"g{i}.grade" for i in range(len(scales))]
    cols += ["s.login"]
    if stability:  # existing/lost/potential from the last purchase, as crmctl derives it
        cols += ["case when c.status in ('prospect','pending') or lp.last is null then 'potential' "
                 f"when lp.last < date('{NOW[:10]}', '-1 month') then 'lost' else 'existing' end"]
    for k, t in fields:  # yes/no fields written as crmctl writes them
        x = f"json_extract(c.fields, '$.{k}')"
        cols.append(f"case {x} when 1 then 'true' when 0 then 'false' end" if t == "bool" else x)
    cols += ["strftime('%Y-%m-%dT%H:%M:%S+08:00', c.created_at, '+8 hours')"]
    joins = " ".join(f"left join customer_grade g{i} on g{i}.customer_id = c.id and g{i}.scale = '{sc}'"
                     for i, sc in enumerate(scales))
    if stability:
        joins += (" left join (select customer_id, max(day) as last from usage_record group by customer_id) lp"
                  " on lp.customer_id = c.id")
    sql = f"select {', '.join(cols)} from customer c left join staff s on s.id = c.owner_id {joins} order by c.code"
    header = (["code", "name", "status"] + [f"segments.{k}" for k in segments] + [f"grades.{sc}" for sc in scales]
              + ["owner"] + (["stability"] if stability else []) + [f"fields.{k}" for k, _ in fields] + ["created_at"])
    conn = sqlite3.connect(db)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        cur = conn.execute(sql)
        while True:
            rows = cur.fetchmany(2000)
            if not rows:
                break
            w.writerows(rows)
    conn.close()


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    env = {**os.environ, "CRMCTL_NOW": NOW, "CRMCTL_USER": "admin"}
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode() if p.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {err}")
    return wall, usage.ru_maxrss / 1024.0  # Linux: kilobytes


def best(argv: list[str], repeat: int) -> tuple[float, float]:
    runs = [timed(argv) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def _same_data(a: Path, b: Path) -> bool:
    """The files hold the same cells (crmctl also prefixes formula-like text with ')."""
    with a.open(encoding="utf-8", newline="") as fa, b.open(encoding="utf-8", newline="") as fb:
        for ra, rb in zip(csv.reader(fa), csv.reader(fb), strict=True):
            if [c[1:] if c[:2] in ("'=", "'+", "'-", "'@") else c for c in ra] != rb:
                return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--policy", default="petrochem")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--plain-export", nargs=2, metavar=("DB", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--build", metavar="DB", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.plain_export:
        plain_export(*args.plain_export, args.policy)
        return
    if args.build:
        build(Path(args.build), args.customers, args.policy)
        return
    n = args.customers
    datagen.compile_crmctl()
    db = datagen.DATA / f"reports-{args.policy}-{n}.db"
    if not db.exists():  # built by a child: a big parent would lend its peak RSS to every child it forks
        subprocess.run([sys.executable, __file__, "--customers", str(n), "--policy", args.policy, "--build", str(db)],
                       check=True)
    out = datagen.DATA / "reports-out.csv"
    plain = datagen.DATA / "reports-plain.csv"
    base = CRMCTL + ["--db", str(db)]

    py, _ = best([sys.executable, "-c", "pass"], args.repeat)
    imports, _ = best([sys.executable, "-c", "import crmctl.services.customers, crmctl.output, crmctl.cli"], args.repeat)
    crm, crm_mem = best(base + ["customer", "list", "--format", "csv", "--output", str(out)], args.repeat)
    rows = sum(1 for _ in out.open(encoding="utf-8")) - 1
    raw, raw_mem = best([sys.executable, __file__, "--policy", args.policy, "--plain-export", str(db), str(plain)],
                        args.repeat)
    same = _same_data(out, plain)
    print(f"{n} customers ({args.policy}), best of {args.repeat}:")
    print(f"  crmctl customer list --format csv   {crm:6.2f} s   peak {crm_mem:6.1f} MB   ({rows} rows)")
    print(f"  plain sqlite3 + csv (same columns)  {raw:6.2f} s   peak {raw_mem:6.1f} MB   "
          f"(same cells: {'yes' if same else 'NO'})")
    print(f"  ratio {crm / raw:.2f} (target <= 2); without start-up (python {py:.2f} s, crmctl imports "
          f"{imports:.2f} s): {(crm - imports) / max(raw - py, 1e-6):.2f}")
    for report in (["customers"], ["documents", "--expiring-within", "60"]):
        t, mem = best(base + ["report", *report, "--format", "csv", "--output", str(out)], args.repeat)
        got = sum(1 for _ in out.open(encoding="utf-8")) - 1
        print(f"  crmctl report {' '.join(report):<22} {t:6.2f} s   peak {mem:6.1f} MB   ({got} rows)")
    print(f"  peak memory of the export: {crm_mem:.1f} MB (target <= 150 MB: {'met' if crm_mem <= 150 else 'MISSED'})")


if __name__ == "__main__":
    main()
