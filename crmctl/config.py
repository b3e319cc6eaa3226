"""The configuration files (issue 19): defaults for the global options, per user and per machine.

Two TOML files, both optional::

    db = "/srv/crm/crm.db"      # or postgresql+psycopg://crm@db.example/crm
    lang = "zh"                 # zh | en
    bom = true                  # CSV output starts with a UTF-8 byte-order mark (for Excel)
    encoding = "gb18030"        # CSV output: utf-8 | gb18030 | gbk (written as gb18030)

    [notify]                    # the team's chat robot (``crmctl agenda --send``, issue 21)
    webhook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..."   # or a DingTalk robot's
    secret = "SEC..."           # a DingTalk robot's signing secret (加签)
    kind = "dingtalk"           # wecom | dingtalk (else told by the webhook's host)

* the user's: ``config.toml`` in the platform's user config folder (``~/.config/crmctl`` on Linux,
  as platformdirs ``user_config_dir("crmctl")``); ``$CRMCTL_CONFIG`` names another file;
* the machine's: ``/etc/crmctl/config.toml`` on POSIX (platformdirs ``site_config_dir`` elsewhere);
  ``$CRMCTL_SYSTEM_CONFIG`` names another file.

A value comes from the first of: the command-line option, the environment variable
(``CRMCTL_DB``, ``CRMCTL_LANG``, ``CRMCTL_BOM``, ``CRMCTL_ENCODING``, ``CRMCTL_NOTIFY_WEBHOOK``,
``CRMCTL_NOTIFY_SECRET``, ``CRMCTL_NOTIFY_KIND``), the user file, the system
file, the default.  An unknown key or a bad value in a file is refused (:class:`ConfigError`, one
``Error:`` line naming the file and the key) -- except by ``crmctl config``, which is how it is fixed.

Light: the standard library only (tomllib is imported when a file exists; platformdirs only off
Linux), so reading the language before Click parses costs ``crmctl --help`` next to nothing.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvalidInput
from .i18n import _

ENV_USER_FILE = "CRMCTL_CONFIG"
ENV_SYSTEM_FILE = "CRMCTL_SYSTEM_CONFIG"

#: key -> its environment variable.  The order is ``config show``'s.
#: A dotted key is a key of a table (``notify.webhook`` is ``webhook`` under ``[notify]``).
KEYS: dict[str, str] = {"db": "CRMCTL_DB", "lang": "CRMCTL_LANG", "bom": "CRMCTL_BOM", "encoding": "CRMCTL_ENCODING",
                        "notify.webhook": "CRMCTL_NOTIFY_WEBHOOK", "notify.secret": "CRMCTL_NOTIFY_SECRET",
                        "notify.kind": "CRMCTL_NOTIFY_KIND"}
DEFAULTS: dict[str, object] = {"db": None, "lang": None, "bom": False, "encoding": "utf-8",
                               "notify.webhook": None, "notify.secret": None, "notify.kind": None}
#: the tables of the file (their keys are the dotted ones of :data:`KEYS`)
TABLES = ("notify",)
#: keys whose values are credentials: shown masked (``config show``, every message)
SECRET_KEYS = ("notify.webhook", "notify.secret")

SOURCES = ("option", "environment", "user", "system", "default")


class ConfigError(InvalidInput):
    """A configuration file (or variable) crmctl cannot take."""


# --- where the files are ---------------------------------------------------------------------------

def user_path() -> Path:
    """The user's file: ``$CRMCTL_CONFIG``, else ``config.toml`` in the user config folder."""
    named = os.environ.get(ENV_USER_FILE)
    if named:
        return Path(named).expanduser()
    if sys.platform.startswith("linux"):  # what platformdirs says on Linux, without importing it
        base = os.environ.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config")
        return Path(base) / "crmctl" / "config.toml"
    from platformdirs import user_config_path  # pragma: no cover - macOS, Windows

    return user_config_path("crmctl", appauthor=False) / "config.toml"


def system_path() -> Path:
    """The machine's file: ``$CRMCTL_SYSTEM_CONFIG``, else ``/etc/crmctl/config.toml`` (POSIX)."""
    named = os.environ.get(ENV_SYSTEM_FILE)
    if named:
        return Path(named).expanduser()
    if os.name == "posix":
        return Path("/etc/crmctl/config.toml")
    from platformdirs import site_config_path  # pragma: no cover - Windows

    return site_config_path("crmctl", appauthor=False) / "config.toml"


def default_db() -> str:
    """Where the database is when nothing names one (as ``crmctl.db.default_db_path``)."""
    from platformdirs import user_data_path

    return str(user_data_path("crmctl", appauthor=False) / "crm.db")


# --- values ----------------------------------------------------------------------------------------

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "gb18030": "gb18030", "gbk": "gbk"}


def check_value(key: str, value: object) -> tuple[object, str | None]:
    """(the value as crmctl uses it, None) or (None, what is wrong with it).  Text (from the command
    line or the environment) is taken for a boolean too: ``true``/``false``, ``yes``/``no``, 1/0."""
    if key == "db":
        if isinstance(value, str) and value.strip():
            return value.strip(), None
        return None, _("a database file or URL, as text")
    if key == "lang":
        if isinstance(value, str) and value.strip().lower() in ("zh", "en"):
            return value.strip().lower(), None
        return None, _("use zh or en")
    if key == "bom":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE, None
        return None, _("use true or false")
    if key == "encoding":
        if isinstance(value, str) and value.strip().lower() in _ENCODINGS:
            return _ENCODINGS[value.strip().lower()], None
        return None, _("use utf-8, gb18030 or gbk")
    if key == "notify.webhook":
        from .rules.notify import check_webhook

        problem = check_webhook(value)
        return (value.strip(), None) if problem is None else (None, _("not an http or https URL"))
    if key == "notify.secret":
        if isinstance(value, str) and value.strip():
            return value.strip(), None
        return None, _("the robot's signing secret, as text")
    if key == "notify.kind":
        if isinstance(value, str) and value.strip().lower() in ("wecom", "dingtalk"):
            return value.strip().lower(), None
        return None, _("use wecom or dingtalk")
    return None, _("unknown key")  # pragma: no cover - callers check the key first


def unknown_key(where: str, key: str) -> str:
    return _("{where}: unknown key '{key}' (the keys: {keys})").format(where=where, key=key, keys=", ".join(KEYS))


def bad_value(where: str, key: str, value: object, problem: str) -> str:
    return _("{where}: {key} = {value}: {problem}").format(where=where, key=key, value=shown_value(key, value),
                                                          problem=problem)


def shown_value(key: str, value: object) -> str:
    """``value`` as a message may show it: a credential masked."""
    if key in SECRET_KEYS and isinstance(value, str):
        from .rules.notify import mask_secret, mask_webhook

        return repr(mask_webhook(value) if key == "notify.webhook" and "://" in value else mask_secret(value))
    return _shown(value)


def masked(key: str, value: object) -> object:
    """``value`` as ``config show`` prints it (a credential masked)."""
    if key in SECRET_KEYS and isinstance(value, str):
        from .rules.notify import mask_secret, mask_webhook

        return mask_webhook(value) if key == "notify.webhook" and "://" in value else mask_secret(value)
    return value


def flat(table: dict) -> list[tuple[str, object]]:
    """The (key, value) pairs of a file's table, a table's keys dotted (``notify.webhook``)."""
    pairs = []
    for key, value in table.items():
        if key in TABLES and isinstance(value, dict):
            pairs.extend((f"{key}.{sub}", v) for sub, v in value.items())
        else:
            pairs.append((key, value))
    return pairs


def set_in(table: dict, key: str, value: object) -> None:
    """Set a (dotted) key in a file's table."""
    if "." in key:
        name, sub = key.split(".", 1)
        inner = table.get(name)
        if not isinstance(inner, dict):
            inner = table[name] = {}
        inner[sub] = value
    else:
        table[key] = value


def remove_from(table: dict, key: str) -> bool:
    """Remove a (dotted) key from a file's table (an emptied table too); False when it was not set."""
    if key in table:
        del table[key]
        return True
    if "." in key:
        name, sub = key.split(".", 1)
        inner = table.get(name)
        if isinstance(inner, dict) and sub in inner:
            del inner[sub]
            if not inner:
                del table[name]
            return True
    return False


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return type(value).__name__ if isinstance(value, (dict, list)) else str(value)


# --- the files -------------------------------------------------------------------------------------

@dataclass
class Layer:
    """One file as read: its values (good ones only), and what is wrong with it (each one line)."""

    path: Path
    values: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    raw: dict | None = None  # the whole table as parsed (None: no file, or not TOML)
    exists: bool = False


def read_layer(path: Path) -> Layer:
    layer = Layer(path)
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return layer
    except OSError as exc:  # a folder, no permission ...
        layer.exists = True
        layer.problems.append(_("cannot read {file}: {reason}").format(file=path, reason=exc.strerror or exc))
        return layer
    layer.exists = True
    try:
        import tomllib  # novermin (tomli below on Python 3.10)
    except ImportError:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        table = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        layer.problems.append(_("{file} is not UTF-8 text").format(file=path))
        return layer
    except tomllib.TOMLDecodeError as exc:
        layer.problems.append(_("{file} is not valid TOML: {detail}").format(file=path, detail=exc))
        return layer
    layer.raw = table
    for key, value in flat(table):
        if key not in KEYS or ("." in key and key.split(".", 1)[0] not in table):
            layer.problems.append(unknown_key(str(path), key))
            continue
        checked, problem = check_value(key, value)
        if problem:
            layer.problems.append(bad_value(str(path), key, value, problem))
        else:
            layer.values[key] = checked
    return layer


@dataclass
class Value:
    """A setting's value and where it came from: ``source`` one of :data:`SOURCES`, ``where`` the
    option, the variable or the file."""

    key: str
    value: object
    source: str
    where: str | None = None


@dataclass
class Config:
    user: Layer
    system: Layer

    def problems(self) -> list[str]:
        return self.user.problems + self.system.problems

    def check(self) -> None:
        """Refuse a file with an unknown key or a bad value (the first problem, one line)."""
        problems = self.problems()
        if problems:
            raise ConfigError(problems[0])

    def value(self, key: str, option: object = None, option_name: str | None = None) -> Value:
        """``key`` by the precedence: option > environment > user file > system file > default."""
        if option is not None:
            return Value(key, option, "option", option_name or f"--{key}")
        var = KEYS[key]
        raw = os.environ.get(var)
        if raw:
            checked, problem = check_value(key, raw)
            if problem:
                raise ConfigError(_("{var}={value}: {problem}").format(var=var, value=masked(key, raw),
                                                                        problem=problem))
            return Value(key, checked, "environment", var)
        for layer, source in ((self.user, "user"), (self.system, "system")):
            if key in layer.values:
                return Value(key, layer.values[key], source, str(layer.path))
        return Value(key, DEFAULTS[key], "default")


def load() -> Config:
    """Both files, read now (nothing refused yet: :meth:`Config.check` does that)."""
    return Config(read_layer(user_path()), read_layer(system_path()))


def configured_language() -> str | None:
    """The ``lang`` of the user file, else of the system file (read before Click parses, so usage
    errors and help are in it; a broken file chooses nothing here and is refused later)."""
    for path in (user_path(), system_path()):
        try:
            if not path.is_file():
                continue
        except OSError:
            continue
        value = read_layer(path).values.get("lang")
        if value:
            return value
    return None


# --- writing ---------------------------------------------------------------------------------------

def write_table(path: Path, table: dict) -> None:
    """Write ``table`` to ``path`` atomically (a temporary file in the same folder, then renamed),
    the folder made if missing.  (Comments are not kept: the file is crmctl's to write.)"""
    import tempfile

    import tomli_w

    path.parent.mkdir(parents=True, exist_ok=True)
    text = tomli_w.dumps(table)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, path.stat().st_mode & 0o777)  # keep an existing file's permissions
        except FileNotFoundError:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def editable_table(path: Path) -> dict:
    """The table of ``path`` to edit (empty when there is no file); a file that is not TOML is
    refused: the other keys could not be kept."""
    layer = read_layer(path)
    if layer.exists and layer.raw is None:
        raise ConfigError(_("{problem}; fix or remove the file first").format(problem=layer.problems[0]))
    return dict(layer.raw or {})
