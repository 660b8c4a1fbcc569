"""`cpqctl import contracts FILE.csv`: existing customers and contracts from a spreadsheet export.

A thin shell around :mod:`cpqctl.formats.importer`: read the CSV, plan under the repo
lock, print every row error (nothing written) or write all files in one
transaction. The group is named ``import`` (a Python keyword, hence the module
name ``importer``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, FormatOpt, RepoOpt
from cpqctl.core.diagnostics import CpqError, UsageError

import_app = common.group(
    "import", "Import data from other systems: customers and contracts from a spreadsheet export.\n\n"
              "Example:\n\n  cpqctl import contracts contracts.csv --dry-run")

COLUMNS = ["file", "kind", "account", "contract", "lines"]


def _read(file: Path) -> str:
    try:
        data = file.read_bytes()
    except OSError as e:
        raise UsageError("E-USAGE", f"cannot read {file}: {e.strerror or e}", "give the path of a CSV file") from None
    try:
        return data.decode("utf-8-sig")  # spreadsheets often start a UTF-8 export with a BOM
    except UnicodeDecodeError as e:
        row = data[:e.start].count(b"\n") + 1
        raise CpqError("E-IMPORT-ENCODING", f"{file}:{row}: the file is not UTF-8 (byte {e.start + 1})",
                       "export the sheet as CSV UTF-8") from None


def _report(file: str, errors, fmt: str) -> None:
    """Every row error: check-style JSON on stdout with --format json, else `FILE:ROW: error[CODE]` on stderr."""
    diags = [e.diagnostic(file) for e in errors]
    if fmt == "json":
        from cpqctl.render.diagnostics import as_json

        sys.stdout.write(as_json(diags))
    else:
        for d in diags:
            sys.stderr.write(f"{d.file}:{d.line}: error[{d.code}]: {d.message}\n")
            if d.hint:
                sys.stderr.write(f"  = hint: {d.hint}\n")
    common.info(f"{len(diags)} error(s); nothing was imported")


@import_app.command("contracts")
def contracts(
    file: Annotated[Path, typer.Argument(help="The CSV file (UTF-8, comma-separated, header row; "
                                              "columns in docs/import.md).", show_default=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and list the files; write nothing.")] = False,
    format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None,
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
    from cpqctl.formats import importer
    from cpqctl.render.output import emit

    common.as_of(as_of)  # accepted like on every command; validates its form
    text = _read(file)
    with common.writing(repo) as (_, store, loaded):
        plan = importer.plan(text, loaded)
        if plan.errors:
            _report(str(file), plan.errors, format)
            raise typer.Exit(1)
        if not dry_run:
            try:
                with store.transaction() as tx:
                    for f in plan.files:
                        tx.create(f.path, f.text)
            except FileExistsError as e:
                raise CpqError("E-EXISTS", f"{e}; nothing was imported",
                               "a file of that name is in the way: rename the contract or move the file") from None
    rows = [f.row() for f in plan.files]
    n = sum(f.kind == "contract" for f in plan.files)
    verb = "would create" if dry_run else "created"
    emit(format, {"dry_run": dry_run, "rows": rows}, COLUMNS, rows,
         title=f"import {file.name}: {verb} {len(rows)} file(s), {n} contract(s)", right=("lines",))
    if not dry_run:
        common.info(f"imported {n} contract(s) from {file}: wrote {len(rows)} file(s) (run `cpqctl check`)")


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
