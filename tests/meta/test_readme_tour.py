"""The READMEs' tours are real output (issue 17): every command of README.md's and
README.zh-CN.md's tour runs, in its language, and prints what the README shows.  When a change
alters the output, regenerate: ``python -m tests.meta.tour README.md --write`` (and README.zh-CN.md)."""

from __future__ import annotations

import re

import pytest

from tests.meta.tour import ROOT, differences, language_of, parse


@pytest.mark.parametrize("name", ["README.md", "README.zh-CN.md"])
def test_the_tour_is_real_output(name, tmp_path):
    diff = differences(ROOT / name, tmp_path)
    assert not diff, f"{name}'s tour differs from real output (regenerate with " \
                     f"`python -m tests.meta.tour {name} --write`):\n" + "\n".join(diff[:80])


@pytest.mark.parametrize("name", ["README.md", "README.zh-CN.md"])
def test_the_tour_has_commands_and_a_database(name):
    items = parse((ROOT / name).read_text(encoding="utf-8").splitlines(), language_of(ROOT / name))
    assert isinstance(items[0], tuple) and items[0][0] == "use", "a tour starts with <!-- tour: use NAME ... -->"
    assert sum(len(b.steps) for b in items if not isinstance(b, tuple)) >= 30


def test_the_readmes_link_each_other():
    en = (ROOT / "README.md").read_text(encoding="utf-8")
    zh = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "README.zh-CN.md" in en and "README.md" in zh


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped (CJK kept), spaces -> '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("name", ["README.md", "README.zh-CN.md"])
def test_every_internal_link_has_its_heading(name):
    body = re.sub(r"```.*?```", "", (ROOT / name).read_text(encoding="utf-8"), flags=re.S)
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for m in re.finditer(r"^#{1,6} (.+)$", body, re.M):
        a = _anchor(m.group(1))
        anchors.add(a if a not in seen else f"{a}-{seen[a]}")
        seen[a] = seen.get(a, 0) + 1
    broken = sorted({link for link in re.findall(r"\]\(#([^)]+)\)", body) if link not in anchors})
    assert not broken, f"{name}: links to no heading: {broken}"
