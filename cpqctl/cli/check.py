"""`cpqctl check`: validate every file of the repository."""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, RepoOpt


def check(
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            click_type=click.Choice(["full", "concise", "json", "github"]),
            help="full: excerpt with a caret; concise: one line each; json; github: workflow annotations.",
        ),
    ] = "full",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Validate every file: syntax, schema, references, dates, digests.

    Prints nothing and exits 0 on a clean repository; exits 1 when errors are
    found (warnings alone exit 0) and 2 when the repository cannot be used.

    Example:

      cpqctl check

      cpqctl check --format github   # annotations in a GitHub Actions job
    """
    from cpqctl.app.checking import check as run
    from cpqctl.render import diagnostics as rd

    result = run(common.workspace(repo, as_of))
    diags = list(result.diagnostics)
    if format == "json":
        sys.stdout.write(rd.as_json(diags))
    elif format == "github":
        sys.stdout.write(rd.github(diags))
    elif format == "concise":
        sys.stdout.write(rd.concise(diags))
    else:
        for chunk in rd.full_chunks(result.root, diags):
            sys.stdout.write(chunk)
    if result.message:
        common.info(result.message)
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
