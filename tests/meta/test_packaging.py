"""Install readiness: ``python -m crmctl``, the dependency floors, the package-index metadata."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

try:
    import tomllib  # novermin (tomli below on Python 3.10)
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

import crmctl

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
#: a name, optional extras, one floor ``>=X.Y[.Z]`` and optionally a marker; nothing else
FLOOR = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[a-z,]+\])?>=\d+\.\d+(\.\d+)?(; .+)?$")


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "CRMCTL_LANG": "en", "HOME": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "crmctl", *args], capture_output=True, text=True, env=env,
                          timeout=60, cwd=ROOT)


def test_python_m_crmctl_version():
    r = _run("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"crmctl {crmctl.__version__}"


def test_python_m_crmctl_help():
    r = _run("--help")
    assert r.returncode == 0, r.stderr
    assert "Usage:" in r.stdout and "customer" in r.stdout


def test_every_direct_dependency_has_a_tested_floor():
    reqs = list(PROJECT["dependencies"])
    for extra in ("postgres", "charts", "test"):
        reqs += PROJECT["optional-dependencies"][extra]
    bad = [r for r in reqs if not FLOOR.match(r)]
    assert not bad, f"not a single pinned floor >=X.Y[.Z]: {bad}"


def test_index_metadata():
    for field in ("description", "readme", "requires-python", "license", "license-files", "authors",
                  "classifiers", "keywords", "urls"):
        assert PROJECT.get(field), field
    assert PROJECT["license"] == "MIT"
    for pattern in PROJECT["license-files"]:
        assert list(ROOT.glob(pattern)), f"license file {pattern} missing"
    assert "crmctl authors" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    floor = re.match(r">=3\.(\d+)$", PROJECT["requires-python"])
    assert floor, PROJECT["requires-python"]
    versions = {int(c.rsplit(".", 1)[1]) for c in PROJECT["classifiers"]
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    assert min(versions) == int(floor.group(1)), "the classifiers start at requires-python"
    assert sys.version_info[1] in versions, "the Python the suite runs on is a classifier"
    assert all(u.startswith("https://github.com/crmctl/crmctl") for u in PROJECT["urls"].values())
    assert "tzdata" in " ".join(PROJECT["dependencies"])


def test_readmes_link_absolutely():
    """The README is the index page's text: a relative link or image would be broken there."""
    for name in ("README.md", "README.zh-CN.md"):
        body = (ROOT / name).read_text(encoding="utf-8")
        relative = re.findall(r"\]\((?!https://|#)([^)]+)\)", body)
        assert not relative, f"{name}: relative link targets {relative}"
