"""Help that helps (issue 19): every help text shown as written (square brackets too), no ``<bool>``
on flags, completion options at the root only, examples in the commands used daily, "Did you mean"
for a mistyped top-level command, a bare ``crmctl report`` as a bare ``crmctl`` -- in English and
in Chinese."""

from __future__ import annotations

import inspect
import re
import shlex

import pytest
from typer.testing import CliRunner

from crmctl import cli, i18n

WIDE = {"COLUMNS": "2000", "NO_COLOR": "1", "TERM": "dumb"}
DAILY = ["customer add", "customer list", "customer show", "customer import", "approve", "grade run",
         "complaint open", "complaint close", "complaint list", "service open", "service resolve",
         "visit plan", "visit log", "visit list", "doc check", "doc add", "doc list", "volume import",
         "report pack", "db backup"]


def commands():
    """(path, command) of every command and group below the root."""
    cli.load_all()

    def walk(cmd, path):
        yield path, cmd
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    for name in (*cli.COMMANDS, *cli.GROUPS):
        yield from walk(cli.load_group(name), [name])


def command(path: str):
    cli.load_all()
    cmd = cli.load_group(path.split()[0])
    for part in path.split()[1:]:
        cmd = cmd.commands[part]
    return cmd


def run(*args):
    return CliRunner().invoke(cli.app, list(args), env=WIDE)


def flat(text: str) -> str:
    return re.sub(r"[\s│]+", "", text)


def help_of(path, lang):
    r = run("--lang", lang, *path, "--help")
    assert r.exit_code == 0, r.output
    return r.output


def translated(message, lang):
    if lang != "zh":
        return message
    table = i18n.catalogue()
    return table.get(message) or table.get(inspect.cleandoc(message).strip()) or message


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_bracketed_text_of_a_help_survives(lang):
    """Typer's rich markup read ``[code, tax_id …]`` as a tag and dropped it: every [...] of every
    command's and parameter's help (and of its Chinese translation) is printed as written."""
    checked = 0
    for path, cmd in commands():
        texts = [cmd.help] + [getattr(p, "help", None) for p in cmd.params]
        brackets = [b for t in texts if t for b in re.findall(r"\[[^\]\n]*\]", translated(t, lang))]
        if not brackets:
            continue
        shown = flat(help_of(path, lang))
        for b in brackets:
            assert flat(b) in shown, f"{' '.join(path)} --help ({lang}) lost {b!r}"
            checked += 1
    assert checked >= 10


def test_a_bracket_in_the_customer_import_help_is_literal():
    out = help_of(["volume", "import"], "en")
    assert "customer,date,qty[,product,amount]" in flat(out)
    out = help_of(["report", "grades"], "en")
    assert "'crmctl[charts]'" in out and "\\[" not in out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_type_beside_a_flag(lang):
    bool_words = {"<bool>", "<" + i18n.catalogue().get("yes/no", "yes/no") + ">"}
    for path, cmd in [([], None), *commands()]:
        out = help_of(path, lang)
        for word in bool_words:
            assert word not in out, f"crmctl {' '.join(path)} --help ({lang}) shows {word}"
    out = help_of(["customer", "list"], lang)
    assert "--bom" in out and "--labels" in out


def test_completion_options_at_the_root_only():
    assert "--install-completion" in help_of([], "en")
    for path, cmd in commands():
        names = {p.name for p in cmd.params}
        assert not names & {"install_completion", "show_completion"}, " ".join(path)
    for path in (["customer"], ["customer", "list"], ["approve"], ["demo"], ["init"]):
        for lang in ("en", "zh"):
            out = help_of(path, lang)
            assert "--install-completion" not in out and "--show-completion" not in out, path


def examples(path: str) -> list[str]:
    help_ = inspect.cleandoc(command(path).help)
    assert "\n\nExamples:\n" in help_, f"{path}: no Examples paragraph"
    paragraph = help_.split("\n\nExamples:\n", 1)[1].split("\n\n")[0]
    return [line.strip() for line in paragraph.splitlines() if line.strip()]


@pytest.mark.parametrize("path", DAILY)
def test_daily_commands_show_examples_that_parse(path):
    lines = examples(path)
    assert lines and all(line.startswith("crmctl ") for line in lines)
    for line in lines:
        words = shlex.split(line)[1:]
        while words and words[0] in ("--as", "--db", "--lang"):  # the root's options
            words = words[2:]
        assert " ".join(words[:len(path.split())]) == path, line
        cmd = command(path)
        # parsed and converted as Click would, without running the command
        ctx = cmd.make_context(path, words[len(path.split()):])
        assert ctx.params
    for lang, heading in (("en", "Examples:"), ("zh", "示例：")):
        out = help_of(path.split(), lang)
        assert heading in out
        for line in lines:  # one line each, indented, as written
            assert re.search(r"^[ │]*  " + re.escape(line) + r"\s*[│]?\s*$", out, re.M), (lang, line)


def test_did_you_mean_for_a_top_level_command():
    r = run("custmer", "list")
    assert r.exit_code == 2
    assert "No such command 'custmer'. Did you mean 'customer'?" in r.output
    r = run("--lang", "zh", "custmer", "list")
    assert r.exit_code == 2
    assert "'custmer'" in r.output and "'customer'" in r.output and "Did you mean" not in r.output
    assert i18n.catalogue()["Did you mean {names}?"].split("{")[0] in r.output
    r = run("xyzzy")  # nothing close: no suggestion
    assert r.exit_code == 2 and "Did you mean" not in r.output


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_bare_report_is_usage_and_exit_2_like_bare_crmctl(lang):
    bare = run("--lang", lang)
    report = run("--lang", lang, "report")
    assert bare.exit_code == 2 and report.exit_code == 2
    usage = "Usage:" if lang == "en" else i18n.catalogue()["Usage: "].strip()
    assert usage in report.output and "report" in report.output
    listed = run("--lang", lang, "report", "--list")
    assert listed.exit_code == 0 and "customers" in listed.output
