"""``customer list --format xlsx`` against ``--format csv`` of the same customers, side by side.

    python benchmarks/bench_xlsx.py                         # 100 000 customers, petrochem
    python benchmarks/bench_xlsx.py --customers 20000 --policy fuel-retail

Both are whole ``crmctl`` processes writing ``--output FILE`` (best wall time of --repeat runs), the
peak memory is the child's ``ru_maxrss`` (``os.wait4``).  Targets (issue 18): xlsx ≤ 3 × the CSV
export's time, peak ≤ 150 MB.  The database is the one benchmarks/bench_reports.py builds (every
custom field filled, a grade on every scale), under benchmarks/data/.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import datagen  # noqa: E402
from benchmarks.bench_reports import CRMCTL, best  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--policy", default="petrochem")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    n = args.customers
    datagen.compile_crmctl()
    db = datagen.DATA / f"reports-{args.policy}-{n}.db"
    if not db.exists():  # built by a child, as bench_reports does
        here = Path(__file__).resolve().parent / "bench_reports.py"
        subprocess.run([sys.executable, str(here), "--customers", str(n), "--policy", args.policy, "--build", str(db)],
                       check=True)
    base = CRMCTL + ["--db", str(db), "customer", "list"]
    csv_out, xlsx_out = datagen.DATA / "xlsx-bench.csv", datagen.DATA / "xlsx-bench.xlsx"
    csv_t, csv_mem = best(base + ["--format", "csv", "--output", str(csv_out)], args.repeat)
    xlsx_t, xlsx_mem = best(base + ["--format", "xlsx", "--output", str(xlsx_out)], args.repeat)
    rows = sum(1 for _ in csv_out.open(encoding="utf-8")) - 1
    print(f"{n} customers ({args.policy}), best of {args.repeat}:")
    print(f"  customer list --format csv    {csv_t:6.2f} s   peak {csv_mem:6.1f} MB   "
          f"{csv_out.stat().st_size / 1e6:6.1f} MB file ({rows} rows)")
    print(f"  customer list --format xlsx   {xlsx_t:6.2f} s   peak {xlsx_mem:6.1f} MB   "
          f"{xlsx_out.stat().st_size / 1e6:6.1f} MB file")
    ratio = xlsx_t / csv_t
    print(f"  ratio xlsx/csv {ratio:.2f} (target <= 3: {'met' if ratio <= 3 else 'MISSED'}); "
          f"peak of xlsx {xlsx_mem:.1f} MB (target <= 150 MB: {'met' if xlsx_mem <= 150 else 'MISSED'})")


if __name__ == "__main__":
    main()
