"""``crmctl config``: the configuration files (``crmctl.config``): show, set, unset, path.

These commands work with a broken file (an unknown key, a bad value): they are how it is fixed.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ..i18n import _
from ._common import BomOpt, Encoding, EncodingOpt, Format, FormatOpt, LabelsOpt, OutputOpt, info, settings, spec, warn

app = typer.Typer(help="Show and set defaults (database, language, CSV output) in the user or system configuration file.",
                  no_args_is_help=True)

SystemOpt = Annotated[bool, typer.Option("--system", help="Edit the system-wide file (for every user of this machine) instead of yours.")]


@app.command("show")
def show(
    ctx: typer.Context,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """List every setting, its value and where it came from (option, environment, user or system file, default)."""
    from .. import config
    from ..output import emit_rows
    from ..views.admin import config_columns

    s = settings(ctx)
    cfg = config.load()
    options = {"db": s.db, "lang": s.lang}
    rows = []
    for key in config.KEYS:
        try:
            v = cfg.value(key, options.get(key))
        except config.ConfigError as exc:  # a bad variable: shown, as a bad file is
            warn(exc.message)
            v = config.Value(key, None, "environment", config.KEYS[key])
            for layer, source in ((cfg.user, "user"), (cfg.system, "system")):
                if key in layer.values:
                    v = config.Value(key, layer.values[key], source, str(layer.path))
                    break
        value, where = v.value, v.where
        if key == "db" and v.source == "default":
            value = config.default_db()
        rows.append({"key": key, "value": config.masked(key, value), "source": v.source, "where": where})
    for problem in cfg.problems():
        warn(problem)
    emit_rows(spec(format, output, bom, encoding, labels), rows, config_columns())


@app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help="db, lang, bom, encoding, notify.webhook, notify.secret or notify.kind.")],
    value: Annotated[str, typer.Argument(help="Its value (bom: true or false; notify.kind: wecom or dingtalk).")],
    system: SystemOpt = False,
) -> None:
    """Set KEY to VALUE in your configuration file (made if missing; the other keys kept)."""
    from .. import config

    if key not in config.KEYS:
        raise config.ConfigError(config.unknown_key("config set", key))
    checked, problem = config.check_value(key, value)
    if problem:
        raise config.ConfigError(config.bad_value("config set", key, value, problem))
    path = config.system_path() if system else config.user_path()
    table = config.editable_table(path)
    config.set_in(table, key, checked)
    config.write_table(path, table)
    if key in config.SECRET_KEYS and not system:  # a robot's key: your file is yours alone to read
        import os

        os.chmod(path, 0o600)
    info(_("{file}: {key} set").format(file=path, key=key))


@app.command("unset")
def unset(
    key: Annotated[str, typer.Argument(help="The key to remove (any key, an unknown one too).")],
    system: SystemOpt = False,
) -> None:
    """Remove KEY from your configuration file (its default, or the system file's value, applies again)."""
    from .. import config

    path = config.system_path() if system else config.user_path()
    table = config.editable_table(path)
    if not config.remove_from(table, key):
        info(_("{file}: {key} was not set").format(file=path, key=key))
        return
    config.write_table(path, table)
    info(_("{file}: {key} removed").format(file=path, key=key))


@app.command("path")
def path(system: Annotated[bool, typer.Option("--system", help="Only the system-wide file.")] = False,
         user: Annotated[bool, typer.Option("--user", help="Only your file.")] = False) -> None:
    """Print where the configuration files are: yours, then the system-wide one (whether they exist or not)."""
    from .. import config

    both = system == user
    if user or both:
        typer.echo(config.user_path())
    if system or both:
        typer.echo(config.system_path())
