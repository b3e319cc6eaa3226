"""The Chinese catalogue (issue 17): every message of the code is in crmctl.po, translated, with the
same placeholders; the .po reader understands what the file holds."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "crmctl" / "locale" / "zh" / "LC_MESSAGES" / "crmctl.po"


KEYWORDS = ("_", "N_", "Msg", "ngettext")  # what the code marks; also babel.cfg's keywords


def code_messages() -> dict[str, str]:
    """Every literal given to ``_()``, ``N_()``, ``Msg()`` or ``ngettext()`` (its singular) in
    crmctl/ -> where (an AST walk: what Babel's Python extractor finds for these keywords)."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "crmctl").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KEYWORDS
                    and node.args):
                arg = node.args[0]
                if path.name == "i18n.py" and not isinstance(arg, ast.Constant):
                    continue  # crmctl.i18n translates its N_() tables by variable
                assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), (
                    f"{path.relative_to(ROOT)}:{node.lineno}: _() takes one string literal (format it afterwards)")
                found.setdefault(arg.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


metavars: dict[str, str] = {}


def help_messages() -> dict[str, str]:
    """Every help text a user can read in ``--help`` (commands' docstrings and ``help=``, options'
    and arguments' ``help=``, the lazy tables of crmctl.cli) -> the command it belongs to: read from
    the command tree itself, so a help text is never forgotten by an extractor."""
    import inspect

    import typer.main

    from crmctl.cli import COMMANDS, GROUPS, app, load_group

    for name in (*GROUPS, *COMMANDS):
        load_group(name)
    found: dict[str, str] = {}
    for name, (_module, line) in {**COMMANDS, **GROUPS}.items():
        found.setdefault(line, name)

    def walk(cmd, path):
        where = " ".join(path) or "crmctl"
        if cmd.help and not getattr(cmd, "hidden", False):
            found.setdefault(inspect.cleandoc(cmd.help).strip(), where)
        for param in cmd.params:
            if getattr(param, "help", None) and not getattr(param, "hidden", False):
                found.setdefault(param.help, f"{where} {param.opts[0]}")
            if getattr(param, "metavar", None) and re.search(r"[A-Z]{2}", param.metavar) and not param.metavar.startswith("YYYY"):
                metavars.setdefault(param.metavar, f"{where} {param.opts[0]}")
        if hasattr(cmd, "list_commands"):
            ctx = cmd.context_class(cmd)
            for n in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, n), [*path, n])

    walk(typer.main.get_command(app), [])
    return found


def test_every_metavar_is_translated():
    """An option's metavar (LOGIN, FILE ...) is a word a clerk reads in --help: crmctl.i18n.METAVARS
    names each one (and the catalogue translates it)."""
    from crmctl.i18n import METAVARS

    help_messages()
    missing = sorted(set(metavars) - set(METAVARS))
    assert not missing, f"metavars without a translation in crmctl.i18n.METAVARS: {missing}"


def entries() -> dict[str, tuple[str, bool]]:
    from crmctl.i18n import parse_po

    return {k: v for k, v in parse_po(PO.read_text(encoding="utf-8")).items() if k}


def placeholders(text: str) -> list[str]:
    return sorted(f"{name}{'!' + conv if conv else ''}" for _lit, name, _spec, conv in string.Formatter().parse(text)
                  if name is not None)


def test_every_message_of_the_code_is_in_the_catalogue():
    missing = {m: where for m, where in code_messages().items() if m not in entries()}
    assert not missing, "not in crmctl.po:\n" + "\n".join(f"{w}: {m!r}" for m, w in missing.items())


def test_every_help_text_is_in_the_catalogue():
    missing = {m: where for m, where in help_messages().items() if m not in entries()}
    assert not missing, "help not in crmctl.po:\n" + "\n".join(f"{w}: {m!r}" for m, w in missing.items())


def test_every_catalogue_entry_is_used():
    unused = sorted(set(entries()) - set(code_messages()) - set(help_messages()))
    assert not unused, f"in crmctl.po but no longer in the code: {unused}"


def test_every_entry_has_a_chinese_translation_with_the_same_placeholders():
    for msgid, (msgstr, fuzzy) in entries().items():
        assert msgstr.strip(), f"untranslated: {msgid!r}"
        assert not fuzzy, f"fuzzy: {msgid!r}"
        assert placeholders(msgid) == placeholders(msgstr), f"placeholders differ: {msgid!r} -> {msgstr!r}"
        if re.search(r"[A-Za-z]", re.sub(r"\{[^}]*\}", "", msgid)):  # words, not only placeholders
            assert re.search(r"[\u4e00-\u9fff]", msgstr), f"no Chinese in the translation of {msgid!r}: {msgstr!r}"


def test_the_po_reader():
    from crmctl.i18n import parse_po

    text = '''
msgid ""
msgstr "Language: zh_CN\\n"

# a comment
msgid "one {a}"
msgstr "一 {a}"

#, fuzzy
msgid "two"
msgstr "二"

msgid ""
"long "
"line \\"q\\""
msgstr ""
"长"
"行"

#~ msgid "old"
#~ msgstr "旧"
'''
    got = parse_po(text)
    assert got["one {a}"] == ("一 {a}", False)
    assert got["two"] == ("二", True)
    assert got['long line "q"'] == ("长行", False)
    assert "old" not in got


def test_the_catalogue_ships_as_package_data():
    try:
        import tomllib  # novermin (tomli below on Python 3.10)
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    assert "locale/*/LC_MESSAGES/*.po" in data["crmctl"] and "locale/*/LC_MESSAGES/*.mo" in data["crmctl"]


def test_the_compiled_catalogue_says_what_the_po_says(tmp_path, monkeypatch):
    """The wheel's .mo (compiled by build_backend/ with Babel) gives crmctl exactly the .po's
    translations; a .po edited after the .mo was made wins."""
    import os
    import shutil
    import sys

    from crmctl import i18n

    sys.path.insert(0, str(ROOT / "build_backend"))
    try:
        import crmctl_build
    finally:
        sys.path.remove(str(ROOT / "build_backend"))
    (tmp_path / "crmctl" / "locale" / "zh" / "LC_MESSAGES").mkdir(parents=True)
    po = tmp_path / "crmctl" / "locale" / "zh" / "LC_MESSAGES" / "crmctl.po"
    shutil.copy(PO, po)
    (mo,) = crmctl_build.compile_catalogues(tmp_path)
    monkeypatch.setattr(i18n, "CATALOGUE", po)
    from_mo = i18n._read_mo(mo)
    from_po = {k: v for k, (v, fuzzy) in entries().items() if v and not fuzzy}
    assert from_mo == from_po and len(from_mo) > 400
    os.utime(po, (mo.stat().st_mtime + 10, mo.stat().st_mtime + 10))
    assert i18n._read_mo(mo) is None  # stale: the .po is read instead


def test_babel_extracts_what_the_catalogue_holds():
    """``pybabel extract`` with babel.cfg's keywords finds exactly the messages of the AST walk above,
    so the catalogue can be kept with Babel's own tools."""
    from babel.messages.extract import extract_from_dir

    keywords = {"_": None, "N_": None, "Msg": None, "ngettext": (1, 2)}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=[("crmctl/**.py", "python")], keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    assert found == set(code_messages())


def test_no_message_is_in_the_catalogue_twice():
    """The catalogue merges by union (.gitattributes): two branches adding one message must not
    leave it twice (msgfmt refuses duplicates)."""
    text = PO.read_text(encoding="utf-8")
    ids = re.findall(r'^msgid ((?:".*"\n)+)', text + "\n", re.M)
    seen: dict[str, int] = {}
    for i in ids:
        seen[i] = seen.get(i, 0) + 1
    twice = [i.strip()[:80] for i, n in seen.items() if n > 1]
    assert not twice, f"in crmctl.po twice: {twice}"
