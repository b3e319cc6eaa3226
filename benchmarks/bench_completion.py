"""How long a Tab press takes (issue 19): shell completion of customer codes, logins, period labels
and segment values on a 2 000-customer demo (gas-tiered), each in a fresh interpreter as the shell
runs it.  Target: well under a second (the database is read with sqlite3 only, no SQLAlchemy).

    python benchmarks/bench_completion.py [--customers 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.datagen import compile_crmctl  # noqa: E402

RUN = "import sys; sys.argv[0] = 'crmctl'; from crmctl.cli import main; main()"
CASES = [
    "customer show C0012",
    "customer show ",
    "complaint list --owner ",
    "report grades --label 2026-",
    "customer list --segment supply=",
    "complaint show TS-2026-",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    compile_crmctl()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "CRMCTL_NOW": "2026-11-22T10:00:00",
               "XDG_DATA_HOME": f"{tmp}/data", "XDG_CACHE_HOME": f"{tmp}/cache", "HOME": tmp}
        db = Path(tmp) / "demo.db"
        subprocess.run([sys.executable, "-c", RUN, "--db", str(db), "demo", "--policy", "gas-tiered",
                        "--customers", str(args.customers)], env=env, check=True, stdout=subprocess.DEVNULL)
        baseline = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import typer"], env=env, check=True)
            baseline.append(time.perf_counter() - t)
        print(f"python -c 'import typer'  {statistics.median(baseline) * 1000:7.1f} ms (median of {args.repeat})")
        for words in CASES:
            line = f"crmctl --db {db} {words}"
            cword = len(line.split()) - (0 if words.endswith(" ") else 1)
            times, found = [], []
            for _ in range(args.repeat):
                t = time.perf_counter()
                r = subprocess.run([sys.executable, "-c", RUN], capture_output=True, text=True, check=True, env={
                    **env, "_CRMCTL_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(cword)})
                times.append(time.perf_counter() - t)
                found = r.stdout.split()
            print(f"{words:<34} {statistics.median(times) * 1000:7.1f} ms  {len(found):3d} candidates"
                  f"  {' '.join(found[:3])}")


if __name__ == "__main__":
    main()
