"""``crmctl policy``: the company policy the database runs on, and its versions."""

from __future__ import annotations

from typing import Annotated

import typer

from ..i18n import _
from ._common import BomOpt, LabelsOpt, Encoding, EncodingOpt, Format, FormatOpt, LimitOpt, OutputOpt, limited, open_app, spec

app = typer.Typer(help="Show, check, compare and apply company policy files (every version is kept).", no_args_is_help=True)

FileArg = Annotated[str, typer.Argument(help="A policy .toml file (or a built-in name).", metavar="FILE")]


@app.command("list")
def list_(limit: LimitOpt = None, format: FormatOpt = Format.table, output: OutputOpt = None, bom: BomOpt = False, labels: LabelsOpt = False,
          encoding: EncodingOpt = Encoding.utf8) -> None:
    """Name the built-in policies."""
    from ..output import emit_rows
    from ..policies import BUILTIN_NAMES, load_policy
    from ..views.admin import builtin_policy_columns

    rows = []
    for name in BUILTIN_NAMES:
        policy, _text = load_policy(name)
        rows.append({"name": name, "title": policy.policy.name, "company": policy.policy.company})
    emit_rows(spec(format, output, bom, encoding, labels), limited(rows, limit), builtin_policy_columns())


@app.command("show")
def show(
    ctx: typer.Context,
    version: Annotated[int, typer.Option("--version", help="Show this stored version instead of the current one.")] = 0,
    history: Annotated[bool, typer.Option("--history", help="List the stored versions instead.")] = False,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    bom: BomOpt = False, labels: LabelsOpt = False,
    encoding: EncodingOpt = Encoding.utf8,
) -> None:
    """Print the current policy as TOML (or --history: every stored version)."""
    from ..errors import NotFound
    from ..output import emit_rows, emit_text
    from ..services.policy import POLICY_HISTORY_KEYS
    from ..services.policy import history as policy_history
    from ..views.admin import policy_history_columns

    app_ = open_app(ctx, need_actor=False)
    if history:
        emit_rows(spec(format, output, bom, encoding, labels), policy_history(app_), policy_history_columns(),
                  fields=POLICY_HISTORY_KEYS)
        return
    text = app_.policy_row.text
    if version and version != app_.policy_version:
        from sqlalchemy import select

        from ..models import PolicyVersion

        with app_.db.read() as s:
            row = s.scalars(select(PolicyVersion).where(PolicyVersion.version == version)).first()
        if row is None:
            raise NotFound(_("no policy version {version} (current is {current})").format(
                version=version, current=app_.policy_version))
        text = row.text
    from ..policies import parse_policy, policy_to_toml

    emit_text(spec(Format.table, output), policy_to_toml(parse_policy(text)))


@app.command("check")
def check(file: FileArg) -> None:
    """Validate a policy file; print every problem with its TOML path (exit 1 if any)."""
    from ..errors import PolicyInvalid
    from ..policies import check_policy, read_policy_source

    text, source = read_policy_source(file)
    problems = check_policy(text, source)
    if problems:
        raise PolicyInvalid(source, problems)
    typer.echo(_("{source}: ok").format(source=source))


@app.command("diff")
def diff(ctx: typer.Context, file: FileArg) -> None:
    """Show what FILE would change against the current policy version."""
    from ..policies import diff_policies, load_policy

    app_ = open_app(ctx, need_actor=False)
    _policy, text = load_policy(file)
    changes = diff_policies(app_.policy_row.text, text)
    if not changes:
        typer.echo(_("no change against version {version}").format(version=app_.policy_version))
        return
    from ..i18n import text

    for line in changes:
        typer.echo(text(line))


@app.command("apply")
def apply(ctx: typer.Context, file: FileArg) -> None:
    """Store FILE as the new current policy version (audited; older versions are kept)."""
    from ..services.policy import apply_policy

    result = apply_policy(open_app(ctx), file)
    typer.echo(result["version"])
    typer.echo(_("policy version {version} applied: {n} change(s)").format(version=result["version"],
                                                                          n=len(result["changes"])), err=True)
