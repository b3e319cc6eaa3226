"""Start-up cost of crmctl against its own imports (issue 2, Speed).

Targets:
  crmctl --help            <= 2.5 x  python -c "import typer"
  crmctl customer show X   <= 1.5 x  python -c "import sqlmodel, typer"

Each command runs --repeat times in a fresh interpreter; the median wall time is reported.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str], repeat: int, env: dict) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    py = sys.executable
    crmctl = [py, "-m", "crmctl.cli"] if not shutil.which("crmctl") else [shutil.which("crmctl")]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        env = {**os.environ, "CRMCTL_DB": str(db), "CRMCTL_USER": "admin"}
        subprocess.run([*crmctl, "init", "--policy", "petrochem", "--admin", "admin"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        code = subprocess.run([*crmctl, "customer", "add", "--name", "基准客户", "-s", "product_line=polyolefin",
                               "-s", "channel=distributor", "-s", "sales_form=auction"],
                              check=True, env=env, capture_output=True, text=True).stdout.strip()
        typer_t = timed([py, "-c", "import typer"], args.repeat, env)
        help_t = timed([*crmctl, "--help"], args.repeat, env)
        base_t = timed([py, "-c", "import sqlmodel, typer"], args.repeat, env)
        show_t = timed([*crmctl, "customer", "show", code], args.repeat, env)
    print(f"python -c 'import typer'          {typer_t * 1000:7.0f} ms")
    print(f"crmctl --help                     {help_t * 1000:7.0f} ms   ratio {help_t / typer_t:4.2f} (target <= 2.5)")
    print(f"python -c 'import sqlmodel, typer' {base_t * 1000:6.0f} ms")
    print(f"crmctl customer show {code}       {show_t * 1000:7.0f} ms   ratio {show_t / base_t:4.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
