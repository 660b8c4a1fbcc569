"""`cpqctl schema`: JSON Schemas of the file formats, for editors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import click
import typer


def schema(
    kind: Annotated[
        str | None,
        typer.Argument(
            help="One file kind: cpq, catalog, account, contract, quote, invoice, payment (default: all, with --write)."
        ),
    ] = None,
    write: Annotated[
        Path | None, typer.Option("--write", "-w", metavar="DIR", help="Write every schema into DIR.")
    ] = None,
    check: Annotated[
        Path | None, typer.Option("--check", metavar="DIR", help="Exit 1 if the schemas in DIR are missing or stale.")
    ] = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            click_type=click.Choice(["json"]),
            help="The schemas are JSON; named, an error is a JSON object on stdout too.",
        ),
    ] = "json",
) -> None:
    """Print the JSON Schemas (draft-07) of the file formats, for editors.

    Point the YAML language server at one with a first line such as
    `# yaml-language-server: $schema=../../schemas/contract.schema.json` (two levels up from
    contracts/<account>/; one level from catalog/, quotes/ and invoices/). A modeline on an accepted
    quote or an issued invoice breaks its digest: map the files instead, as the `.vscode/settings.json`
    that `cpqctl init` writes does.

    Example:

      cpqctl schema contract > contract.schema.json

      cpqctl schema --write schemas/   # all of them

      cpqctl schema --check schemas/   # CI: fail when they are stale
    """
    from cpqctl.app import checking

    if check is not None:
        checking.check_schemas(check)
        return
    if write is not None:
        checking.write_schemas(write)
        return
    if kind is None:
        from cpqctl.render.output import dumps_json

        sys.stdout.write(dumps_json(checking.schemas_document()))
        return
    sys.stdout.write(checking.schema_text(kind))


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)
