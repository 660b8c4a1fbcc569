"""`cpqctl import contracts FILE.csv`: existing customers and contracts from a spreadsheet export.

A thin shell around :mod:`cpqctl.app.importing`: every row error is printed
(nothing written), or the files created are listed. The group is named
``import`` (a Python keyword, hence the module name ``importer``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, FormatOpt, RepoOpt

import_app = common.group(
    "import",
    "Import data from other systems: customers and contracts from a spreadsheet export.\n\n"
    "Example:\n\n  cpqctl import contracts contracts.csv --dry-run",
)


def _report(diags, fmt: str) -> None:
    """Every row error: check-style JSON on stdout with --format json, else `FILE:ROW: error[CODE]` on stderr."""
    if fmt == "json":
        from cpqctl.render.diagnostics import as_json

        sys.stdout.write(as_json(list(diags)))
    else:
        for d in diags:
            sys.stderr.write(f"{d.file}:{d.line}: error[{d.code}]: {d.message}\n")
            if d.hint:
                sys.stderr.write(f"  = hint: {d.hint}\n")
    common.info(f"{len(diags)} error(s); nothing was imported")


@import_app.command("contracts")
def contracts(
    file: Annotated[
        Path,
        typer.Argument(
            help="The CSV file (UTF-8, comma-separated, header row; columns in docs/import.md).", show_default=False
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and list the files; write nothing.")] = False,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Import existing customers and contracts from a CSV export: one row per contract line.

    Rows with the same contract ID form one contract, rows with the same
    account one customer (account.yaml is created when missing). Every bad
    row is reported at once (FILE:ROW) and then nothing is written; otherwise
    every file is written in one transaction.

    Example:

      cpqctl import contracts legacy.csv --dry-run

      cpqctl import contracts legacy.csv --format json
    """
    from cpqctl.app import importing
    from cpqctl.render.output import emit
    from cpqctl.views.imports import COLUMNS

    common.as_of(as_of)  # accepted like on every command; validates its form
    text = importing.read_csv(file)
    try:
        result = importing.import_contracts(common.workspace(repo, as_of), file=file, text=text, dry_run=dry_run)
    except importing.ImportRefused as e:
        _report(e.diagnostics, format)
        raise typer.Exit(1) from None
    rows = result.data["rows"]
    verb = "would create" if dry_run else "created"
    emit(
        format,
        result.data,
        COLUMNS,
        rows,
        title=f"import {file.name}: {verb} {len(rows)} file(s), {result.contracts} contract(s)",
        right=("lines",),
    )
    if result.message:
        common.info(result.message)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
