"""`cpqctl diff REV [REV]`: what a change set does to ARR, contract value and invoices (:mod:`cpqctl.app.diffing`)."""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, RepoOpt


def diff(
    rev: Annotated[str, typer.Argument(help="The base revision (e.g. origin/main, HEAD~1).")],
    rev2: Annotated[str | None, typer.Argument(help="The revision to compare (default: the working tree).")] = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            click_type=click.Choice(["table", "json", "md"]),
            help="table, json, or md (paste into a pull request).",
        ),
    ] = "table",
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when ARR changes (a CI gate).")] = False,
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Show what a change set does: contracts and quotes changed, ARR per account, contract value, invoices.

    Both sides are read from git; without REV2 the working tree is compared. On
    a big repository only the files that differ are read (docs/teamwork.md).

    Example:

      cpqctl diff origin/main --format md > summary.md

      cpqctl diff HEAD~1 HEAD --exit-code
    """
    from cpqctl.app.diffing import diff as run
    from cpqctl.render.output import dumps_json, emit

    result = run(common.workspace(repo, as_of), rev=rev, rev2=rev2)
    doc = result.data
    if format == "json":
        sys.stdout.write(dumps_json(doc))
    elif format == "md":
        sys.stdout.write(result.markdown)
    else:
        emit(
            "table",
            doc,
            ["currency", "arr_before", "arr_after", "arr_delta"],
            doc["arr"],
            title="ARR",
            right=("arr_before", "arr_after", "arr_delta"),
        )
        emit(
            "table",
            doc,
            ["contract", "account", "change", "value_delta", "arr_before", "arr_after"],
            doc["contracts"],
            title="Contracts",
            right=("value_delta", "arr_before", "arr_after"),
        )
        if doc["quotes"]:
            emit("table", doc, ["quote", "kind", "account", "change", "status_after"], doc["quotes"], title="Quotes")
        if doc["invoices_issued"]:
            emit(
                "table",
                doc,
                ["invoice", "account", "date", "net_total", "currency"],
                doc["invoices_issued"],
                title="Invoices issued",
                right=("net_total",),
            )
    if exit_code and result.arr_changed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
