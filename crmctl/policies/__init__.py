"""Company policies: built-in lookup, reading, parsing, checking, dumping and diffing.

Import-light on purpose: ``crmctl --help`` imports this package, so pydantic (``schema``) and the
loader are imported inside the functions that need them.
"""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING

from crmctl.errors import InvalidInput, Msg, NotFound

if TYPE_CHECKING:  # pragma: no cover
    from crmctl.policies.schema import Policy

BUILTIN_NAMES: tuple[str, ...] = ("petrochem", "gas-service", "manufacturer", "fuel-retail", "gas-tiered")
MAX_POLICY_BYTES = 5 * 1024 * 1024

__all__ = [
    "BUILTIN_NAMES", "builtin_dir", "read_policy_source", "parse_policy", "check_policy", "load_policy",
    "policy_to_toml", "diff_policies",
]


def builtin_dir() -> pathlib.Path:
    """The folder holding the five built-in ``.toml`` files.

    Installed from a wheel they are in ``crmctl/policies/builtin`` (setuptools package-dir mapping);
    in a source checkout or editable install they are in ``<repo>/policies``."""
    here = pathlib.Path(__file__).resolve().parent
    candidates = [here / "builtin", here.parents[1] / "policies"]
    for folder in candidates:
        if (folder / "petrochem.toml").is_file():
            return folder
    return candidates[0]


def read_policy_source(name_or_file: str) -> tuple[str, str]:
    """``(toml_text, source_label)`` for a built-in name or a path to a policy file."""
    if name_or_file in BUILTIN_NAMES:
        path = builtin_dir() / f"{name_or_file}.toml"
        label = name_or_file
    else:
        path = pathlib.Path(name_or_file).expanduser()
        label = str(name_or_file)
        if not path.exists():
            raise NotFound(
                Msg("unknown policy '{name_or_file}': use one of {known} or a path to a .toml file", name_or_file=name_or_file, known=', '.join(BUILTIN_NAMES))
            )
    if not path.is_file():
        raise InvalidInput(Msg("{label}: not a file", label=label))
    try:
        size = path.stat().st_size
        if size > MAX_POLICY_BYTES:
            raise InvalidInput(Msg("{label}: the file is larger than 5 MB ({size} bytes); is it really a policy?", label=label, size=size))
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(Msg("{label}: cannot read the file ({reason})", label=label, reason=exc.strerror or exc)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(Msg("{label}: not UTF-8 text (bad byte at position {start}); save it as UTF-8", label=label, start=exc.start)) from None
    return text, label


def parse_policy(text: str, source: str = "policy") -> "Policy":
    """A ``Policy`` from TOML text; ``PolicyInvalid(source, problems)`` listing every located problem."""
    from crmctl.policies.loader import parse_policy as _parse

    return _parse(text, source)


def check_policy(text: str, source: str = "policy") -> list[str]:
    """Every problem of a policy text (``[]`` when it is valid)."""
    from crmctl.policies.loader import check_policy as _check

    return _check(text, source)


def load_policy(name_or_file: str) -> tuple["Policy", str]:
    """Read and parse a built-in or a file: ``(policy, text)``."""
    text, label = read_policy_source(name_or_file)
    return parse_policy(text, label), text


def policy_to_toml(policy: "Policy") -> str:
    """TOML text of a policy (comments are not kept); ``parse_policy(policy_to_toml(p)) == p``."""
    from crmctl.policies.loader import policy_to_toml as _dump

    return _dump(policy)


def diff_policies(old_text: str, new_text: str) -> list[str]:
    """Differences between two policy texts, one line per changed value:
    ``~ path: old -> new``, ``+ path: value``, ``- path: value``; ``[]`` when equal."""
    from crmctl.policies.loader import diff_policies as _diff

    return _diff(old_text, new_text)


_SCHEMA_SOURCES = ("schema.py", "loader.py")  # what decides the validated model a policy text gives
_schema_digest: str | None = None


def schema_digest() -> str:
    """A hash of the policy schema's and loader's source: a cached model is only as good as the code
    that validated it, whatever the version number says."""
    global _schema_digest
    if _schema_digest is None:
        import hashlib

        h = hashlib.sha256()
        here = pathlib.Path(__file__).resolve().parent
        for name in _SCHEMA_SOURCES:
            h.update((here / name).read_bytes())
        _schema_digest = h.hexdigest()
    return _schema_digest


def parse_policy_cached(text: str, source: str = "policy"):
    """``parse_policy`` with a per-user cache of the validated model, keyed by the text's hash.

    Validating a policy builds pydantic's validators (a quarter of a second); every command needs
    the policy, so the validated model is kept as a pickle in the user cache folder.  The key
    includes the versions of crmctl and pydantic and a hash of the schema's source
    (:func:`schema_digest`); any problem with the cache falls back to parsing.
    """
    import hashlib
    import os
    import pickle

    try:
        from platformdirs import user_cache_path

        import pydantic

        from .. import __version__

        key = hashlib.sha256(f"{__version__}|{pydantic.VERSION}|{schema_digest()}|{text}".encode("utf-8")).hexdigest()
        path = user_cache_path("crmctl", appauthor=False) / "policies" / f"{key}.pickle"
        if path.exists():
            with path.open("rb") as fh:
                return pickle.load(fh)
    except Exception:  # noqa: BLE001 - a damaged or foreign cache entry is simply ignored
        path = None
    policy = parse_policy(text, source)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump(policy, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except Exception:  # noqa: BLE001 - a read-only home folder just means no cache
            pass
    return policy
