"""The language crmctl speaks (issue 17): Simplified Chinese or English.

**Which language.**  The first of these that names ``zh`` or ``en`` wins:

1. ``--lang zh|en`` (a global option, before the command);
2. ``$CRMCTL_LANG`` (``zh`` / ``en``; any other value is refused as a usage error);
2b. ``lang`` in the user's, else the system's configuration file (``crmctl.config``);
3. the locale: the first set of ``$LC_ALL``, ``$LC_MESSAGES``, ``$LANG`` (POSIX order), when it
   names ``zh…`` (``zh_CN.UTF-8``) or ``en…``; ``C``/``POSIX`` or another language name none;
4. the company policy's ``[policy] language`` (the five built-in policies: ``zh``).  The policy is
   known only once a command has opened its database, so lines printed before that (usage
   errors, ``--help``, "no database") follow 1-3 or English;
5. English.

**Messages.**  Every user-facing string goes through :func:`_` (gettext style) with *named*
placeholders filled after translation: ``_("customer {code} is disqualified").format(code=code)``;
never English concatenated into a Chinese sentence.  ``N_`` marks a string for the catalogue where
it is translated later (tables of messages).

**Catalogue.**  ``crmctl/locale/zh/LC_MESSAGES/crmctl.po``, the gettext source file, is kept in
the repository; building a wheel compiles it to ``crmctl.mo`` with Babel (build_backend/, nothing
generated is committed), read with the standard library's ``gettext`` the first time a message is
translated into Chinese (English never reads it; ``crmctl --help`` in English imports nothing).
Without a current ``.mo`` (a checkout, an editable install, a ``.po`` edited since) the ``.po`` is
read by the small parser below, so a changed ``.po`` is seen at once.

**Click's and Typer's own words** (``Usage:``, ``Options``, ``Missing option``, ``No such option``,
``Did you mean``, ``Show this message and exit.``) are hard-coded English in the Click copy Typer
carries; :func:`install_click_words` (called when Chinese is chosen) wraps the few places that
print them, each wrapper asking the current language at call time.

Nothing here imports crmctl's other modules, the database layer or Click at module level.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

LANGUAGES = ("zh", "en")
DEFAULT = "en"
ENV = "CRMCTL_LANG"
CATALOGUE = Path(__file__).parent / "locale" / "zh" / "LC_MESSAGES" / "crmctl.po"

_explicit: str | None = None  # --lang
_configured: str | None = None  # lang in a configuration file
_policy: Callable[[], str | None] | str | None = None  # the opened database's policy (lazily read)
_catalogue: dict[str, str] | None = None


def N_(message: str) -> str:
    """Marks a message for the catalogue without translating it now."""
    return message


def reset() -> None:
    """Forget the choices of a previous command (tests run many commands in one process)."""
    global _explicit, _policy, _configured
    _explicit = None
    _policy = None
    _configured = None


def normalise(value: str | None) -> str | None:
    """``zh`` / ``zh_CN.UTF-8`` / ``zh-Hans`` -> ``zh``; ``en…`` -> ``en``; anything else None."""
    v = (value or "").strip().lower()
    for lang in LANGUAGES:
        if v == lang or v.startswith((lang + "_", lang + "-", lang + ".")):
            return lang
    return None


def set_language(lang: str) -> None:
    """``--lang``: the strongest choice."""
    global _explicit
    chosen = normalise(lang)
    if chosen is None:
        raise ValueError(lang)
    _explicit = chosen
    if chosen == "zh":
        install_click_words()


def set_configured_language(lang: str | None) -> None:
    """``lang`` of a configuration file: after ``--lang`` and ``$CRMCTL_LANG``, before the locale."""
    global _configured
    _configured = normalise(lang)
    if _configured == "zh" and current() == "zh":
        install_click_words()


def set_policy_language(source: Callable[[], str | None] | str | None) -> None:
    """The policy's ``[policy] language``: a value or a function reading it (called only when a
    message is translated and nothing stronger chose)."""
    global _policy
    _policy = source
    if from_environment() is None and _explicit is None and _configured is None and _policy_language() == "zh":
        install_click_words()


def env_problem() -> str | None:
    """A ``$CRMCTL_LANG`` naming no language we speak: what to say (None when fine or unset)."""
    value = os.environ.get(ENV)
    if value and normalise(value) is None:
        return _("{var}={value} names no language crmctl speaks: use zh or en").format(var=ENV, value=value)
    return None


def from_environment() -> str | None:
    """``$CRMCTL_LANG``, else the locale; None when neither names zh or en."""
    lang = normalise(os.environ.get(ENV))
    if lang:
        return lang
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return normalise(value)  # the first set one is the locale (C, POSIX, fr_FR: none)
    return None


def _policy_language() -> str | None:
    global _policy
    source = _policy
    if callable(source):
        try:
            source = source()
        except Exception:  # noqa: BLE001 - a policy that cannot be read chooses nothing
            source = None
        _policy = source
    return normalise(source) if isinstance(source, str) else None


def current() -> str:
    """The language of this command's messages now."""
    return (_explicit or normalise(os.environ.get(ENV)) or _configured or from_environment() or _policy_language()
            or DEFAULT)


def catalogue() -> dict[str, str]:
    """msgid -> Chinese, read once: from the compiled ``crmctl.mo`` (a wheel's) by the standard
    library's gettext when it is there and not older than the ``.po``, else from the ``.po`` (a
    checkout).  Empty and fuzzy translations are left out either way."""
    global _catalogue
    if _catalogue is None:
        _catalogue = _read_mo(CATALOGUE.with_suffix(".mo"))
        if _catalogue is None:
            try:
                text = CATALOGUE.read_text(encoding="utf-8")
            except OSError:
                text = ""
            _catalogue = {k: v for k, (v, fuzzy) in parse_po(text).items() if k and v and not fuzzy}
    return _catalogue


def _read_mo(mo: Path) -> dict[str, str] | None:
    try:
        if mo.stat().st_mtime < CATALOGUE.stat().st_mtime:
            return None  # the .po was edited after the build: read the source
        import gettext

        with mo.open("rb") as f:
            table = gettext.GNUTranslations(f)._catalog  # msgid -> msgstr; (msgid, i) for plural forms
    except (OSError, ValueError, ImportError):
        return None
    out: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(key, tuple):  # a plural entry: keyed by its singular, first form kept
            if key[1] == 0 and key[0]:
                out[key[0]] = value
        elif key and value:
            out[key] = value
    return out


def _(message: str) -> str:
    """The message in the current language (the English itself when untranslated)."""
    if current() != "zh":
        return message
    return catalogue().get(message, message)


# What a crmctl.errors.Term asks the printer's gettext: show codes as the policy's labels?
_.labels = lambda: current() == "zh"  # type: ignore[attr-defined]


def ngettext(singular: str, plural: str, n: int) -> str:
    """``singular`` or ``plural`` by ``n`` in English; Chinese has one form (the catalogue's
    ``msgstr[0]``, keyed by the singular).  Format the result: ``ngettext(a, b, n).format(n=n)``."""
    if current() != "zh":
        return singular if n == 1 else plural
    return catalogue().get(singular, plural)


def label(code, labels) -> str:
    """A code inside a message: the policy's label for it in Chinese (``pending`` -> ``待审批``,
    ``finance`` -> ``财务``), the code itself in English (scripts and English readers know codes).
    ``labels``: a mapping code -> label (a code without a label stays itself)."""
    if code is None or current() != "zh":
        return code
    try:
        return labels.get(code, code) or code
    except AttributeError:
        return code


def coded(code, label) -> str:
    """A code with its policy label, in the current language: ``gm (总经理)`` in English, ``总经理`` in
    Chinese (a code without a label: itself)."""
    from .errors import coded as term

    return text(term(code, label))


def coded_list(pairs) -> str:
    """``a (甲), b (乙)`` in English, ``甲、乙`` in Chinese: the choices of a refusal (code, label)."""
    from .errors import Joined, Msg, coded as term

    return text(Joined([term(code, label) for code, label in pairs], Msg(", ")))


def text(message) -> str:
    """What a user reads of ``message``: a :class:`crmctl.errors.Msg` (the rules' refusals) in the
    current language, any other string as it is."""
    from .errors import translated

    return translated(message, _)


def help_text(message: str | None) -> str | None:
    """A command's or option's help (its docstring or ``help=``) in the current language: the
    catalogue holds each help text as it is written, looked up with its indentation cleaned."""
    if not message or current() != "zh":
        return message
    table = catalogue()
    found = table.get(message)
    if found is None:
        import inspect

        found = table.get(inspect.cleandoc(message).strip())
    return found if found is not None else message


# --- a small .po reader -------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _unquote(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), s)


def parse_po(text: str) -> dict[str, tuple[str, bool]]:
    """msgid -> (msgstr, fuzzy) of a gettext .po text: msgctxt and plurals are not used by crmctl
    (a plural entry keeps its first form); ``#~`` obsolete entries are skipped."""
    entries: dict[str, tuple[str, bool]] = {}
    msgid = msgstr = None
    fuzzy = next_fuzzy = False
    field = None

    def flush() -> None:
        if msgid is not None and msgstr is not None:
            entries[msgid] = (msgstr, fuzzy)

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                next_fuzzy = True
            continue
        m = _STRING.search(line)
        value = _unquote(m.group(1)) if m else ""
        if line.startswith("msgid "):
            flush()
            msgid, msgstr, field = value, None, "id"
            fuzzy, next_fuzzy = next_fuzzy, False
        elif line.startswith("msgid_plural"):
            field = "plural"
        elif line.startswith("msgstr"):
            if line.startswith("msgstr[") and not line.startswith("msgstr[0]"):
                field = "other"
            else:
                msgstr, field = value, "str"
        elif line.startswith("msgctxt"):
            field = "ctxt"
        elif line.startswith('"'):
            if field == "id":
                msgid = (msgid or "") + value
            elif field == "str":
                msgstr = (msgstr or "") + value
    flush()
    return entries


# --- Click's and Typer's own words ----------------------------------------------------------------

# Typer's rich help and error panels: module constants (computed by Typer at import) -> message id.
RICH_CONSTANTS = {
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "ERRORS_PANEL_TITLE": N_("Error"),
    "ABORTED_TEXT": N_("Aborted."),
    "RICH_HELP": N_("Try [blue]'{command_path} {help_option}'[/] for help."),
    "DEFAULT_STRING": N_("[default: {}]"),
    "ENVVAR_STRING": N_("[env var: {}]"),
    "REQUIRED_LONG_STRING": N_("[required]"),
    "DEPRECATED_STRING": N_("(deprecated) "),
}
# Words Typer translates itself with gettext at call time (``typer.core._``, ``typer.rich_utils._``).
TYPER_WORDS = (
    N_("Missing command."), N_("No such command {name!r}."), N_("Aborted!"), N_("default: {default}"),
    N_("env var: {var}"), N_("required"), N_("(dynamic)"),
)
USAGE_PREFIX = N_("Usage: ")
USAGE_WORDS = (N_("[OPTIONS]"), N_("COMMAND"), N_("[ARGS]..."))
_USAGE_WORDS = re.compile(r"\[OPTIONS\]|COMMAND|\[ARGS\]\.\.\.")
# Typer's names of option types in the help table: <str>, <int>, <float>, <bool>, <path> ...
TYPE_NAMES = {"str": N_("text"), "int": N_("integer"), "float": N_("number"), "bool": N_("yes/no"),
              "path": N_("path"), "file": N_("file"), "directory": N_("folder"), "datetime": N_("date and time")}
# The metavars crmctl gives its options (tests/meta/test_catalogue.py checks every one is here).
METAVARS = {m: m for m in (N_("FILE"), N_("ROLE"), N_("ID"), N_("DAYS"), N_("ACCOUNT"), N_("URL"),
                           N_("PATH_OR_URL"), N_("LOGIN"), N_("ITEM=SCORE..."), N_("FACTOR=VALUE..."))}
_TYPE_WORDS = re.compile(r"(^|[<|,\[])(" + "|".join(TYPE_NAMES) + r")(?=([>|,\]]|$))")
HELP_OPTION_HELP = N_("Show this message and exit.")
_KINDS = {"option": N_("option"), "argument": N_("argument"), "parameter": N_("parameter")}

# Click's usage-error messages (English in the Click copy Typer carries): pattern -> message id.
_CLICK_MESSAGES = [
    (re.compile(r"^Missing (?P<kind>option|argument|parameter) (?P<name>.+?)\.?$", re.S), N_("Missing {kind} {name}.")),
    (re.compile(r"^Missing (?P<kind>option|argument|parameter) (?P<name>.+?)\. (?P<detail>.+)$", re.S),
     N_("Missing {kind} {name}. {detail}")),
    (re.compile(r"^Missing parameter: (?P<name>.+)$", re.S), N_("Missing parameter: {name}")),
    (re.compile(r"^No such option: (?P<name>.+?)\.?$", re.S), N_("No such option: {name}")),
    (re.compile(r"^No such command (?P<name>.+?)\.?$", re.S), N_("No such command {name}.")),
    (re.compile(r"^Got unexpected extra arguments? \((?P<args>.*)\)$", re.S), N_("Got unexpected extra arguments ({args})")),
    (re.compile(r"^Option (?P<name>.+?) requires an argument\.$", re.S), N_("Option {name} requires a value.")),
    (re.compile(r"^Option (?P<name>.+?) requires (?P<n>\d+) arguments\.$", re.S), N_("Option {name} requires {n} values.")),
    (re.compile(r"^Option (?P<name>.+?) does not take a value\.$", re.S), N_("Option {name} does not take a value.")),
    (re.compile(r"^Invalid value for (?P<name>.+?): (?P<detail>.+)$", re.S), N_("Invalid value for {name}: {detail}")),
    (re.compile(r"^Invalid value: (?P<detail>.+)$", re.S), N_("Invalid value: {detail}")),
]
_SUGGESTIONS = [
    (re.compile(r"^(?P<head>.*?)\.? Did you mean (?P<names>.+)\?$", re.S), N_("Did you mean {names}?")),
    (re.compile(r"^(?P<head>.*?) \(Possible options: (?P<names>.+)\)$", re.S), N_("(Possible options: {names})")),
]


def translate_click_message(message: str) -> str:
    """One of Click's usage-error messages in the current language (unknown ones unchanged)."""
    if current() != "zh":
        return message
    suffix = ""
    for pattern, msgid in _SUGGESTIONS:
        m = pattern.match(message)
        if m:
            message = m.group("head").rstrip(".")
            suffix = _(msgid).format(names=m.group("names"))
            break
    for pattern, msgid in _CLICK_MESSAGES:
        m = pattern.match(message)
        if m:
            groups = m.groupdict()
            if "kind" in groups:
                groups["kind"] = _(_KINDS[groups["kind"]])
            message = _(msgid).format(**groups)
            break
    if suffix.startswith("。"):  # one full stop between the message and "Did you mean"
        message = message.rstrip("。.")
    return message + suffix


_help_installed = False
_literal_installed = False
_COMPLETION_OPTIONS = ("install_completion", "show_completion")


def install_help_formatting() -> None:
    """What every ``--help`` needs, in either language (called by crmctl.cli before each command;
    cheap: nothing is imported, Typer's rich module is patched only when a help is printed).

    * A help text is shown as it is written: Typer's "rich" markup mode reads ``[code, tax_id]`` in
      a docstring or ``help=`` as a rich tag and drops it (``name, , segment``), so every help text,
      English or its Chinese translation, is escaped before rich renders it.
    * A flag (``--bom``, ``--replace``, ``--help``) takes no value: no ``<bool>`` beside it.
    * A command's line in its group's list is one paragraph, its line breaks unwrapped."""
    global _help_installed
    if _help_installed:
        return
    _help_installed = True
    try:
        import typer.core as tcore
    except ImportError:  # pragma: no cover
        return
    option = getattr(tcore, "TyperOption", None)
    if option is not None and hasattr(option, "display_type_rich"):
        def display_type(self, ctx, _original=option.display_type_rich):
            if getattr(self, "is_flag", False) or getattr(self, "count", False):
                return None  # --flag, not --flag <bool>
            return _original(self, ctx)

        option.display_type_rich = display_type
    for cls in {getattr(tcore, "TyperCommand", None), getattr(tcore, "TyperGroup", None)} - {None}:
        if "format_help" in vars(cls):
            def format_help(self, ctx, formatter, _original=cls.format_help):
                _literal_rich_help()
                return _original(self, ctx, formatter)

            cls.format_help = format_help


def _literal_rich_help() -> None:
    global _literal_installed
    if _literal_installed:
        return
    _literal_installed = True
    try:
        from rich.markup import escape
        from typer import rich_utils
    except ImportError:  # pragma: no cover - Typer without rich: Click prints help texts as they are
        return
    make_rich_text = getattr(rich_utils, "_make_rich_text", None)
    if callable(make_rich_text):
        def literal(*, text: str, markup_mode, **kwargs):
            if markup_mode == getattr(rich_utils, "MARKUP_MODE_RICH", "rich"):
                text = escape(text)
            # Typer dedents the text again (inspect.cleandoc): a blank first line keeps the indentation
            # of an "Examples:" paragraph's command lines when it is the only paragraph after the first
            return make_rich_text(text="\n" + text, markup_mode=markup_mode, **kwargs)

        rich_utils._make_rich_text = literal
    make_command_help = getattr(rich_utils, "_make_command_help", None)
    if callable(make_command_help):
        import inspect

        def one_paragraph(*, help_text: str, markup_mode, **kwargs):
            first, sep, rest = inspect.cleandoc(_help_in_list(help_text)).partition("\n\n")
            return make_command_help(help_text=unwrap(first) + sep + rest, markup_mode=markup_mode, **kwargs)

        rich_utils._make_command_help = one_paragraph


_LINE_BREAK = re.compile(r"[ \t]*\n[ \t]*")


def unwrap(text: str) -> str:
    """A paragraph's line breaks as a space (none between two Chinese characters)."""
    def join(m: re.Match) -> str:
        before, after = text[m.start() - 1:m.start()], text[m.end():m.end() + 1]
        return "" if before > "\u2e7f" and after > "\u2e7f" else " "

    return _LINE_BREAK.sub(join, text)


def without_completion_options(command):
    """``--install-completion``/``--show-completion`` belong to ``crmctl`` itself: Typer adds them to
    every app it turns into a command; a sub-command's copy is dropped."""
    command.params = [p for p in command.params if p.name not in _COMPLETION_OPTIONS]
    return command


_installed = False


def install_click_words() -> None:
    """Wrap the places where Typer and its Click print their own words (once per process; every
    wrapper follows the language current when it runs, so English stays English)."""
    global _installed
    if _installed:
        return
    _installed = True
    try:
        import typer.core as tcore
    except ImportError:  # pragma: no cover
        tcore = None  # type: ignore[assignment]
    try:
        from typer import _click as click  # Typer >= 0.29 carries its own Click
    except ImportError:  # pragma: no cover - older Typer
        import click  # type: ignore[no-redef]

    # 1. gettext as Typer (and older Click) call it at run time
    for module in (tcore, getattr(click, "core", None), getattr(click, "parser", None),
                   getattr(click, "exceptions", None), getattr(click, "formatting", None),
                   getattr(click, "decorators", None), getattr(click, "types", None), getattr(click, "termui", None)):
        _translate_gettext(module)

    # 2. Typer's rich help and error panels: typer.rich_utils (rich's markdown, syntax, tables:
    # about 30 ms of start-up) is imported by Typer only to print a help or an error; wrapped then
    after_import("typer.rich_utils", _install_rich_words)

    # 3. "Usage: " and the help option's help
    formatter = getattr(getattr(click, "formatting", None), "HelpFormatter", None)
    if formatter is not None and hasattr(formatter, "write_usage"):
        write_usage = formatter.write_usage

        def usage(self, prog, args="", prefix=None):
            if current() == "zh":
                if prefix is None:
                    prefix = _(USAGE_PREFIX)
                args = _USAGE_WORDS.sub(lambda m: _(m.group(0)), args)
            return write_usage(self, prog, args, prefix)

        formatter.write_usage = usage
    command = getattr(getattr(click, "core", None), "Command", None)
    if command is not None and hasattr(command, "get_help_option"):
        get_help_option = command.get_help_option

        def help_option(self, ctx):
            opt = get_help_option(self, ctx)
            if opt is not None and getattr(opt, "help", None) in (HELP_OPTION_HELP, _zh(HELP_OPTION_HELP)):
                opt.help = _(HELP_OPTION_HELP)
            return opt

        command.get_help_option = help_option

    # 3b. the type of an option in the help table (<str>, <int> ...)
    try:
        from typer.core import TyperArgument, TyperOption
    except ImportError:  # pragma: no cover
        TyperArgument = TyperOption = None  # type: ignore[assignment]
    for cls in (TyperOption, TyperArgument):
        if cls is not None and hasattr(cls, "display_type_rich"):
            def display_type(self, ctx, _original=cls.display_type_rich):
                shown = _original(self, ctx)
                if shown and current() == "zh" and getattr(self, "metavar", None) in METAVARS:
                    shown = _(METAVARS[self.metavar])
                elif shown and current() == "zh":
                    shown = _TYPE_WORDS.sub(lambda m: m.group(1) + _(TYPE_NAMES[m.group(2)]), shown)
                return shown

            cls.display_type_rich = display_type

    # 4. Click's plain (non-rich) error printing
    exception = getattr(getattr(click, "exceptions", None), "ClickException", None)
    if exception is not None and hasattr(exception, "show"):
        show = exception.show

        def show_translated(self, file=None):
            if current() == "zh":
                _translate_exception(self)
            return show(self, file)

        exception.show = show_translated


def _translate_gettext(module) -> None:
    """A module's ``_`` (gettext as Typer and Click call it at run time) through our catalogue in Chinese."""
    if module is not None and callable(getattr(module, "_", None)):
        original = module._

        def gettext(message, _original=original):
            return _(message) if current() == "zh" else _original(message)

        module._ = gettext


def _install_rich_words(rich_utils) -> None:
    """Typer's rich panels in Chinese: its words, the constants set for each help or error printed,
    the help texts through the catalogue."""
    _translate_gettext(rich_utils)
    english = {name: getattr(rich_utils, name) for name in RICH_CONSTANTS if hasattr(rich_utils, name)}

    def with_words(function):
        def wrapper(*args, **kwargs):
            zh = current() == "zh"
            for name, value in english.items():
                setattr(rich_utils, name, _(RICH_CONSTANTS[name]) if zh else value)
            if zh and args and hasattr(args[0], "format_message") and function.__name__ == "rich_format_error":
                _translate_exception(args[0])
            return function(*args, **kwargs)

        wrapper.__name__ = function.__name__
        return wrapper

    for name in ("rich_format_help", "rich_format_error", "rich_abort_error"):
        if callable(getattr(rich_utils, name, None)):
            setattr(rich_utils, name, with_words(getattr(rich_utils, name)))

    # help texts (docstrings, help=, the lazy command tables) through the catalogue
    _wrap_help_texts(rich_utils)


def after_import(name: str, then: Callable[[Any], None]) -> None:
    """Call ``then(module)`` once module ``name`` is imported: now if it is, else right after the
    import that loads it (a one-shot finder ahead of the others on ``sys.meta_path``)."""
    module = sys.modules.get(name)
    if module is not None:
        then(module)
        return
    sys.meta_path.insert(0, _AfterImport(name, then))


class _AfterImport(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, then: Callable[[Any], None]) -> None:
        self.name, self.then = name, then

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader, then = spec.loader, self.then

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                then(module)

        spec.loader = Loader()
        return spec


def _wrap_help_texts(rich_utils) -> None:
    """Typer's rich help asks three functions for the help it prints: each gets the translation
    (the command objects are left as they are, so an English help printed later stays English)."""
    get_help_text = getattr(rich_utils, "_get_help_text", None)
    if callable(get_help_text):
        def help_of_command(*, obj, markup_mode, **kwargs):
            english = obj.help
            if current() == "zh" and english:
                obj.help = help_text(english)
            try:  # Typer's function is a rich @group(): it renders the text now
                return get_help_text(obj=obj, markup_mode=markup_mode, **kwargs)
            finally:
                obj.help = english

        rich_utils._get_help_text = help_of_command
    get_parameter_help = getattr(rich_utils, "_get_parameter_help", None)
    if callable(get_parameter_help):
        def help_of_parameter(*, param, ctx, markup_mode, **kwargs):
            english = getattr(param, "help", None)
            if current() == "zh" and english:
                param.help = help_text(english)
            try:
                columns = get_parameter_help(param=param, ctx=ctx, markup_mode=markup_mode, **kwargs)
                if current() == "zh":  # Chinese has no spaces to wrap at: fold it, never cut it off with "…"
                    for item in getattr(columns, "renderables", ()):
                        if hasattr(item, "overflow"):
                            item.overflow = "fold"
                return columns
            finally:
                if english is not None:
                    param.help = english

        rich_utils._get_parameter_help = help_of_parameter
    make_command_help = getattr(rich_utils, "_make_command_help", None)
    if callable(make_command_help):
        def help_in_list(*, help_text: str, markup_mode, **kwargs):
            return make_command_help(help_text=_help_in_list(help_text), markup_mode=markup_mode, **kwargs)

        rich_utils._make_command_help = help_in_list


def _help_in_list(message: str) -> str:
    return help_text(message) or message if current() == "zh" else message


def _zh(message: str) -> str:
    return catalogue().get(message, message)


def _translate_exception(exc) -> None:
    """Click's message of ``exc`` in Chinese (an instance attribute shadows ``format_message``)."""
    if "format_message" in vars(exc):
        return
    text = translate_click_message(type(exc).format_message(exc))
    exc.format_message = lambda: text
