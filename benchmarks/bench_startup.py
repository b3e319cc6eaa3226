"""Start-up cost of crmctl against its own imports (issue 2, Speed).

Targets:
  crmctl --help            <= 2.5 x  python -c "import typer"
  crmctl customer show X   <= 1.5 x  python -c "import sqlmodel, typer"

Each command runs --repeat times in a fresh interpreter; the median wall time is reported, in English
and in Chinese (CRMCTL_LANG=zh: the catalogue is read, the help and the card are translated).
crmctl's own modules are byte-compiled first, as ``pip install`` does for a wheel (an editable install
run with PYTHONDONTWRITEBYTECODE=1 would otherwise recompile every module on every start).
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datagen import compile_crmctl  # noqa: E402


BARE_APP = """
import typer
app = typer.Typer(help="A bare Typer app.")
@app.command()
def one(x: int = 1):
    "First command."
@app.command()
def two(x: int = 1):
    "Second command."
app()
"""


def run_once(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def paired(base: list[str], cmd: list[str], repeat: int, env: dict) -> tuple[float, float, float]:
    """Runs the baseline and the command alternately (after one warm-up each), so that a change in the
    machine's load touches both alike.  Returns the two medians and the median of the per-pair ratios."""
    run_once(base, env), run_once(cmd, env)
    bases, cmds = [], []
    for _ in range(repeat):
        bases.append(run_once(base, env))
        cmds.append(run_once(cmd, env))
    ratios = [c / b for b, c in zip(bases, cmds)]
    return statistics.median(bases), statistics.median(cmds), statistics.median(ratios)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    py = sys.executable
    crmctl = [py, "-m", "crmctl.cli"] if not shutil.which("crmctl") else [shutil.which("crmctl")]
    compile_crmctl()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_APP)
        env = {**os.environ, "CRMCTL_DB": str(db), "CRMCTL_USER": "admin"}
        subprocess.run([*crmctl, "init", "--policy", "petrochem", "--admin", "admin"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        code = subprocess.run([*crmctl, "customer", "add", "--name", "基准客户", "-s", "product_line=polyolefin",
                               "-s", "channel=distributor", "-s", "sales_form=auction"],
                              check=True, env=env, capture_output=True, text=True).stdout.strip()
        typer_t, bare_t, bare_r = paired([py, "-c", "import typer"], [py, str(bare), "--help"], args.repeat, env)
        figures = {}
        for lang in ("en", "zh"):  # issue 17: within the targets with the Chinese catalogue loaded too
            env_l = {**env, "CRMCTL_LANG": lang}
            figures[lang] = (paired([py, "-c", "import typer"], [*crmctl, "--help"], args.repeat, env_l),
                             paired([py, "-c", "import sqlmodel, typer"], [*crmctl, "customer", "show", code],
                                    args.repeat, env_l))
    print(f"{args.repeat} paired runs each; medians, and the median of the per-pair ratios")
    print(f"python -c 'import typer'            {typer_t * 1000:6.0f} ms")
    print(f"bare Typer app --help               {bare_t * 1000:6.0f} ms   ratio {bare_r:4.2f} (reference)")
    for lang, ((_, help_t, help_r), (base_t, show_t, show_r)) in figures.items():
        print(f"[{lang}] crmctl --help                  {help_t * 1000:6.0f} ms   ratio {help_r:4.2f} (target <= 2.5)")
        print(f"[{lang}] python -c 'import sqlmodel, typer' {base_t * 1000:6.0f} ms")
        print(f"[{lang}] crmctl customer show {code}    {show_t * 1000:6.0f} ms   ratio {show_r:4.2f} (target <= 1.5)")

if __name__ == "__main__":
    main()
