"""`cpqctl export --to csv|sqlite`: the ledger as tables for BI tools (:mod:`cpqctl.app.exporting`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, RepoOpt


def register(root: typer.Typer) -> None:
    root.command("export")(export)


def export(
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            "-t",
            click_type=click.Choice(["csv", "sqlite"]),
            help="csv (a folder of <table>.csv files) or sqlite (one database file); default: sqlite when -o "
            "ends in .sqlite, .sqlite3 or .db, else csv.",
        ),
    ] = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            click_type=click.Choice(["table", "json", "csv", "sqlite"]),
            help="The summary printed (rows per table): table or json. csv and sqlite are the older spelling "
            "of --to, still accepted.",
        ),
    ] = "table",
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="PATH",
            help="The folder (csv, default ./export) or file (sqlite, default ./cpq-export.sqlite) to write.",
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", hidden=True, help="The same as --format json.")] = False,
    raw_csv: Annotated[
        bool,
        typer.Option(
            "--raw-csv",
            help="Keep CSV cells that start with = + - @ as they are (default: prefixed with ' so that a "
            "spreadsheet shows them as text, never runs them as formulas; plain numbers such as -12.50 are "
            "never changed).",
        ),
    ] = False,
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Export the ledger as tables for BI tools: a folder of CSV files or one SQLite database.

    Tables: accounts, contracts, segments, invoices, invoice_lines. Money as exact decimal text with the
    currency's places (and, in SQLite, also in minor units for exact SUMs),
    dates ISO, flags 0/1. A contract's status, MRR and ARR and each segment's
    MRR are on --as-of. The same repository and --as-of give byte-identical
    CSV files. The target is replaced only when the export succeeds, and only
    if it is a previous export. A text cell that a spreadsheet would run as a
    formula (starting with = + - @, a tab or CR: `=HYPERLINK(…)` in a name) is
    written with a leading ' unless --raw-csv; a number such as -12.50 is
    never changed. SQLite files hold values as they are.

    Example:

      cpqctl export --to csv -o export --as-of 2026-06-30

      cpqctl export -o cpq.sqlite --format json
    """
    from cpqctl.app.exporting import export as run
    from cpqctl.render.output import emit

    if format in ("csv", "sqlite"):  # the older spelling: --format named the export's file kind
        to, format = to or format, "table"
    if to is None:
        to = "sqlite" if output is not None and output.suffix.lower() in (".sqlite", ".sqlite3", ".db") else "csv"
    result = run(common.workspace(repo, as_of), fmt=to, output=output, raw_csv=raw_csv)
    data = result.data
    emit(
        "json" if json_ or format == "json" else "table",
        data,
        ["table", "rows"],
        data["tables"],
        title=f"{to} export on {result.as_of}",
        right=("rows",),
    )
    common.info(result.message)
