"""`cpqctl journal`: invoices, payments and revenue recognition as double entries for beancount, hledger,
ledger or a spreadsheet (docs/revenue.md#journal). A thin shell around :mod:`cpqctl.app.journal`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, RepoOpt


def journal(
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            click_type=click.Choice(["beancount", "hledger", "ledger", "csv", "json"]),
            help="The journal's syntax (json: the transactions as data).",
        ),
    ] = "beancount",
    since: Annotated[
        str | None,
        typer.Option("--from", metavar="DATE", help="Only entries dated on or after DATE (default: from the first)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--to", metavar="DATE", help="Only entries dated on or before DATE (default: --as-of)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write it to FILE (default: stdout).")
    ] = None,
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Write the double-entry journal: invoices, corrections, revenue recognised, payments, refunds, write-offs.

    Account names come from cpq.toml [accounts]; every transaction links its invoices (^INV-…) and carries
    customer:, contract: and period: metadata, so fava and bean-query can drill down. Meant to be included
    from your own ledger and regenerated, never edited; the same repository and dates give the same bytes.

    Example:

      cpqctl journal --to 2026-12-31 -o books/cpqctl.beancount

      cpqctl journal --format hledger --from 2027-01-01 --to 2027-03-31
    """
    from cpqctl.app import journal as j

    start = common.bound(since, "--from", as_of)
    end = common.bound(until, "--to", as_of, last=True)
    result = j.journal(common.workspace(repo, as_of), fmt=format, start=start, end=end)
    if output is None or str(output) == "-":
        for chunk in result.chunks():  # written as made: the journal of 50,000 accounts is never held whole
            sys.stdout.write(chunk)
    else:
        from cpqctl.store import atomic_write_bytes

        atomic_write_bytes(output, (chunk.encode("utf-8") for chunk in result.chunks()))
    common.info(f"journal: {result.transactions} transaction(s) through {result.end}")


def register(app: typer.Typer) -> None:
    app.command("journal")(journal)
