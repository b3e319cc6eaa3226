"""The README tours, run for real (issue 17: README.md and README.zh-CN.md checked against real output).

A tour is the part of a README from its heading (``## A tour of a day's work`` / ``## 一天的工作``)
to the next ``## `` heading.  In it:

* a ```` ```console ```` block holds commands (lines ``$ crmctl …``; ``a && b``; ``| head -N``;
  ``$ cat FILE`` whose following lines *are* the file, written before the next command) and, under
  each, the output it prints (stdout and stderr as a terminal shows them);
* ``<!-- tour: use NAME demo-arguments… -->`` switches to database NAME, made the first time by
  ``crmctl demo demo-arguments…`` (``<!-- tour: use petrochem --customers 300 -->``);
* ``<!-- tour: $ crmctl … -->`` runs a command the text only describes (its output is not shown;
  it must succeed).

Every command runs in-process (Typer's CliRunner) with a fixed clock, ``CRMCTL_NOW`` below, the
language of the README, a terminal of ``COLUMNS`` columns and a working folder of its own.  Times
that only the real clock gives (``written_at`` of the audit trail: microseconds) are compared as
``<time>``.

``python -m tests.meta.tour README.md [--write]`` prints the differences, or writes the real output
into the README (the way both READMEs are regenerated).
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-30T10:00:00"
COLUMNS = "200"
HEADINGS = {"en": "## A tour of a day's work", "zh": "## 一天的工作"}
_DIRECTIVE = re.compile(r"^<!--\s*tour:\s*(.*?)\s*-->\s*$")
_VOLATILE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+\d\d:\d\d")


@dataclass
class Step:
    """One ``$`` line of a console block: the command and the output shown under it."""
    command: str
    shown: list[str] = field(default_factory=list)
    line: int = 0  # where the command is in the README (0-based)


@dataclass
class Block:
    start: int  # the ```console line
    end: int  # the closing ``` line
    steps: list[Step]


def language_of(readme: Path) -> str:
    return "zh" if ".zh" in readme.name else "en"


def tour_range(lines: list[str], lang: str) -> tuple[int, int]:
    start = lines.index(HEADINGS[lang])
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return start, end


def parse(lines: list[str], lang: str) -> list[object]:
    """The tour as a list of ('use', args) / ('run', command) / Block, in order."""
    start, end = tour_range(lines, lang)
    items: list[object] = []
    i = start
    while i < end:
        line = lines[i]
        m = _DIRECTIVE.match(line)
        if m:
            words = m.group(1)
            if words.startswith("$ "):
                items.append(("run", words[2:]))
            elif words.startswith("use "):
                items.append(("use", words[4:]))
            else:
                raise ValueError(f"line {i + 1}: unknown tour directive {words!r}")
        elif line.strip() == "```console":
            j = i + 1
            steps: list[Step] = []
            while lines[j].strip() != "```":
                if lines[j].startswith("$ "):
                    steps.append(Step(lines[j][2:], line=j))
                elif steps:
                    steps[-1].shown.append(lines[j])
                j += 1
            items.append(Block(i, j, steps))
            i = j
        i += 1
    return items


class Runner:
    """Runs the tour's commands: one CliRunner, databases by name, a working folder."""

    def __init__(self, lang: str, work: Path):
        from typer.testing import CliRunner

        self.lang = lang
        self.work = work
        self.runner = CliRunner()
        self.dbs: dict[str, Path] = {}
        self.db: Path | None = None

    def env(self) -> dict[str, str]:
        env = {"CRMCTL_NOW": NOW, "CRMCTL_LANG": self.lang, "COLUMNS": COLUMNS, "CRMCTL_USER": None,
               "NO_COLOR": "1", "TERM": "dumb"}
        if self.db is not None:
            env["CRMCTL_DB"] = str(self.db)
        return env

    def crmctl(self, args: list[str]):
        from crmctl.cli import app

        cwd = os.getcwd()
        os.chdir(self.work)
        try:
            return self.runner.invoke(app, args, env=self.env())
        finally:
            os.chdir(cwd)

    def use(self, words: str) -> None:
        name, *demo = shlex.split(words)
        if name not in self.dbs:
            self.dbs[name] = self.work / f"{name}.db"
            self.db = self.dbs[name]
            r = self.crmctl(["demo", *demo])
            assert r.exit_code == 0, f"crmctl demo {' '.join(demo)}: exit {r.exit_code}\n{r.output}"
        self.db = self.dbs[name]

    def run(self, command: str) -> tuple[int, list[str]]:
        """``command`` as a shell would run it (crmctl, &&, | head -N, cat): exit code, output lines."""
        pipe_head = None
        m = re.search(r"\s*\|\s*head\s+-(?:n\s*)?(\d+)\s*$", command)
        if m:
            pipe_head = int(m.group(1))
            command = command[:m.start()]
        out: list[str] = []
        code = 0
        for part in command.split(" && "):
            words = shlex.split(part)
            if words[0] == "cat":
                out += (self.work / words[1]).read_text(encoding="utf-8").splitlines()
                continue
            assert words[0] == "crmctl", f"the tour runs crmctl, cat and head only: {part!r}"
            r = self.crmctl(words[1:])
            out += r.output.splitlines()
            code = r.exit_code
            if code != 0:
                break
        if pipe_head is not None:
            out = out[:pipe_head]
        return code, [ln.rstrip() for ln in out]


def run_tour(readme: Path, work: Path) -> tuple[list[str], list[str]]:
    """The README's lines, and the same lines with every console block's output replaced by what the
    commands print now."""
    lang = language_of(readme)
    lines = readme.read_text(encoding="utf-8").splitlines()
    runner = Runner(lang, work)
    new = list(lines)
    replacements: list[tuple[int, int, list[str]]] = []
    for item in parse(lines, lang):
        if isinstance(item, tuple):
            kind, words = item
            if kind == "use":
                runner.use(words)
            else:
                code, out = runner.run(words)
                assert code == 0, f"tour step {words!r}: exit {code}\n" + "\n".join(out)
            continue
        body: list[str] = []
        for step in item.steps:
            words = shlex.split(step.command.split(" && ")[0])
            if words[0] == "cat" and len(words) == 2:  # the block shows the file: write it
                (work / words[1]).write_text("\n".join(step.shown) + "\n", encoding="utf-8")
            _code, out = runner.run(step.command)
            body += [f"$ {step.command}", *out]
        replacements.append((item.start + 1, item.end, body))
    for start, end, body in reversed(replacements):
        new[start:end] = body
    return lines, new


def differences(readme: Path, work: Path) -> list[str]:
    lines, new = run_tour(readme, work)

    def norm(ls):
        return [_VOLATILE.sub("<time>", ln.rstrip()) for ln in ls]

    if norm(lines) == norm(new):
        return []
    return list(difflib.unified_diff(norm(lines), norm(new), "README", "real output", lineterm="", n=1))


def main(argv: list[str]) -> int:
    readme = Path(argv[0]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        if "--write" in argv:
            _lines, new = run_tour(readme, Path(tmp))
            readme.write_text("\n".join(new) + "\n", encoding="utf-8")
            print(f"wrote {readme}")
            return 0
        diff = differences(readme, Path(tmp))
    print("\n".join(diff) if diff else f"{readme.name}: the tour matches real output")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
