"""benchmarks/bench_scale.py still runs: every job on SQLite at a tiny size, its checks passing (the
benchmark itself is not part of the suite; this only keeps it from rotting)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only

ROOT = Path(__file__).resolve().parents[2]


def test_bench_scale_runs_on_sqlite(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_scale.py"), "--backend", "sqlite",
                        "--customers", "300", "--records", "3000", "--data", str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    result = json.loads((tmp_path / "bench_scale-300-3000.json").read_text())
    assert [r["job"] for r in result["rows"]] == ["import", "grade", "grade again", "export", "plan"]
    assert all(r["crmctl_s"] > 0 and r["plain_s"] > 0 for r in result["rows"])
    assert "the same" in result["rows"][3]["note"]
    assert "| sqlite | plan |" in p.stdout
