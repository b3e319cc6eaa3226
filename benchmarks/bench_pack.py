"""``report pack`` of a 100 000-customer demo against the same reports run one by one, side by side.

    python benchmarks/bench_pack.py                          # 100 000 customers, gas-tiered
    python benchmarks/bench_pack.py --customers 20000 --policy petrochem

The database is a real ``crmctl demo --customers N`` (built once under benchmarks/data/, its time
printed; 18 months of volumes, grading, complaints, tickets, visits).  Then, each a whole ``crmctl``
process (best wall time of --repeat runs; peak memory the child's ``ru_maxrss``):

* ``report pack --output pack.html`` and ``report pack --format xlsx --output pack.xlsx``;
* the baseline: the same reports (those the pack holds, each its last completed period), each as
  its own ``crmctl report NAME --format csv --output FILE`` process -- what a manager would run
  without the pack; its time is the sum.

Target (issue 18): the pack "within a few seconds".  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import datagen  # noqa: E402
from benchmarks.bench_reports import CRMCTL, NOW, best  # noqa: E402


def build(db: Path, n: int, policy: str) -> float:
    env = {**os.environ, "CRMCTL_NOW": NOW, "CRMCTL_LANG": "zh"}
    t0 = time.perf_counter()
    subprocess.run(CRMCTL + ["--db", str(db), "demo", "--customers", str(n), "--policy", policy, "--replace"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--policy", default="gas-tiered")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    n = args.customers
    datagen.compile_crmctl()
    datagen.DATA.mkdir(exist_ok=True)
    db = datagen.DATA / f"demo-{args.policy}-{n}.db"
    if not db.exists():
        print(f"building crmctl demo --customers {n} --policy {args.policy} ... ", end="", flush=True)
        print(f"{build(db, n, args.policy):.1f} s")
    base = CRMCTL + ["--db", str(db)]
    html, xlsx = datagen.DATA / "pack-bench.html", datagen.DATA / "pack-bench.xlsx"
    html_t, html_mem = best(base + ["report", "pack", "--output", str(html)], args.repeat)
    xlsx_t, xlsx_mem = best(base + ["report", "pack", "--format", "xlsx", "--output", str(xlsx)], args.repeat)
    # the reports the pack holds: the contents sheet's second column
    import openpyxl

    book = openpyxl.load_workbook(xlsx, read_only=True)
    names = [r[1] for r in book.worksheets[0].iter_rows(values_only=True) if isinstance(r[0], int)]
    book.close()
    one_by_one, peak = 0.0, 0.0
    for name in names:
        t, mem = best(base + ["report", name, "--format", "csv", "--output", str(datagen.DATA / f"pack-{name}.csv")],
                      args.repeat)
        one_by_one += t
        peak = max(peak, mem)
    print(f"{n}-customer {args.policy} demo, {len(names)} reports ({', '.join(names)}), best of {args.repeat}:")
    print(f"  report pack (html)                {html_t:6.2f} s   peak {html_mem:6.1f} MB   "
          f"{html.stat().st_size / 1e6:5.1f} MB page")
    print(f"  report pack --format xlsx         {xlsx_t:6.2f} s   peak {xlsx_mem:6.1f} MB   "
          f"{xlsx.stat().st_size / 1e6:5.1f} MB workbook")
    print(f"  the {len(names)} reports one by one (csv)  {one_by_one:6.2f} s   peak {peak:6.1f} MB")
    print(f"  ratio pack/one-by-one: html {html_t / one_by_one:.2f}, xlsx {xlsx_t / one_by_one:.2f}; "
          f"target: a few seconds ({'met' if max(html_t, xlsx_t) <= 5 else 'MISSED'}, <= 5 s)")
    print(json.dumps({"customers": n, "policy": args.policy, "html_s": round(html_t, 2), "xlsx_s": round(xlsx_t, 2),
                      "one_by_one_s": round(one_by_one, 2)}))


if __name__ == "__main__":
    main()
