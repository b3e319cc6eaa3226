"""crmctl's build backend: setuptools', after compiling the gettext catalogues (issue 17).

``crmctl/locale/*/LC_MESSAGES/crmctl.po`` is the source kept in the repository; a wheel carries the
compiled ``crmctl.mo`` next to it (read by the standard library's ``gettext``: a few milliseconds,
against tens for parsing the .po).  The .mo is made here, with Babel, when a wheel or an sdist is
built, and never committed (.gitignore).  Without a .mo (a checkout, an editable install) crmctl
reads the .po itself, so a changed .po is seen at once.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import build_meta as _setuptools
# every hook not redefined here is setuptools' own
from setuptools.build_meta import (build_editable, get_requires_for_build_editable,  # noqa: F401
                                   get_requires_for_build_sdist, get_requires_for_build_wheel,
                                   prepare_metadata_for_build_editable, prepare_metadata_for_build_wheel)

ROOT = Path(__file__).resolve().parents[1]


def compile_catalogues(root: Path = ROOT) -> list[Path]:
    """Every ``.po`` under crmctl/locale compiled to its ``.mo`` (fuzzy entries left out)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted((root / "crmctl" / "locale").glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parents[1].name)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        written.append(mo)
    return written


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    compile_catalogues()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory, config_settings=None):
    compile_catalogues()
    return _setuptools.build_sdist(sdist_directory, config_settings)


__all__ = ["build_editable", "build_sdist", "build_wheel", "compile_catalogues", "get_requires_for_build_editable",
           "get_requires_for_build_sdist", "get_requires_for_build_wheel", "prepare_metadata_for_build_editable",
           "prepare_metadata_for_build_wheel"]
