"""``volume import`` of an .xlsx workbook against the same records as CSV (issue 18).

    python benchmarks/bench_xlsx_import.py                    # 100 000 records, 10 000 customers
    python benchmarks/bench_xlsx_import.py --records 20000    # a quick run

The same records are written once as CSV and once as a workbook with typed cells (dates as Excel
dates, quantities and amounts as numbers; openpyxl write-only).  Each file is imported by the
service into its own copy of one database, each in a child process (so its peak memory is its own),
and the two are printed side by side: seconds, records per second, peak RSS.  Both are streaming
(csv.reader; openpyxl read-only ``iter_rows(values_only=True)``): the workbook side is bounded by
openpyxl's XML parsing.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import datagen  # noqa: E402

NOW = "2026-11-22T10:00:00"


def workbook_of(csv_path: Path, xlsx_path: Path) -> Path:
    """The CSV's records as a person's workbook holds them: typed cells."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("用量")
    with csv_path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        ws.append(next(reader))
        for code, day, qty, product, amount in reader:
            ws.append([code, date.fromisoformat(day), float(qty), product or None, float(amount) if amount else None])
    wb.save(xlsx_path)
    return xlsx_path


def child(db: Path, path: Path) -> None:
    """Import one file, print seconds, records and peak RSS as JSON."""
    os.environ["CRMCTL_NOW"] = NOW
    from crmctl.services.app import Settings, open_app
    from crmctl.services.volumes import import_volumes

    app = open_app(Settings(db=str(db), actor="admin"))
    try:
        t = time.perf_counter()
        n = import_volumes(app, path)["imported"]
        seconds = time.perf_counter() - t
    finally:
        app.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "records": n, "peak_mb": peak}))


def run(db: Path, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(db), str(path)], check=True,
                         capture_output=True, text=True, env={**os.environ, "CRMCTL_NOW": NOW})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--child", nargs=2, metavar=("DB", "FILE"))
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return
    os.environ["CRMCTL_NOW"] = NOW
    datagen.compile_crmctl()
    data = datagen.DATA / "xlsx_import"
    data.mkdir(parents=True, exist_ok=True)
    base = datagen.init_db(data / "base.db")
    datagen.add_customers(base, args.customers)
    csv_path = datagen.volume_csv(data / f"volumes-{args.records}.csv", args.records, args.customers)
    t = time.perf_counter()
    xlsx_path = workbook_of(csv_path, data / f"volumes-{args.records}.xlsx")
    made = time.perf_counter() - t
    print(f"{args.records:,} records, {args.customers:,} customers; CSV {csv_path.stat().st_size / 1e6:.1f} MB, "
          f"workbook {xlsx_path.stat().st_size / 1e6:.1f} MB (written in {made:.1f} s)")
    results = {}
    for kind, path in (("csv", csv_path), ("xlsx", xlsx_path)):
        results[kind] = run(datagen.copy_db(base, data / f"{kind}.db"), path)
        assert results[kind]["records"] == args.records, results[kind]
    print(f"{'':8}{'seconds':>10}{'records/s':>12}{'peak RSS MB':>13}")
    for kind, r in results.items():
        print(f"{kind:8}{r['seconds']:10.2f}{r['records'] / r['seconds']:12,.0f}{r['peak_mb']:13.0f}")
    print(f"xlsx / csv: {results['xlsx']['seconds'] / results['csv']['seconds']:.1f} x the time")


if __name__ == "__main__":
    main()
