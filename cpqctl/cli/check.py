"""`cpqctl check`: validate every file of the repository."""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, RepoOpt


def check(
    format: Annotated[str, typer.Option("--format", "-f", click_type=click.Choice(["full", "concise", "json", "github"]),
                                        help="full: excerpt with a caret; concise: one line each; json; "
                                             "github: workflow annotations.")] = "full",
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
    from cpqctl.core.checks import run_checks, unloaded
    from cpqctl.render import diagnostics as rd

    common.as_of(as_of)  # accepted like on every command; validates its form
    root, loaded, diags = common.load(repo)
    # a reference to what a broken file failed to define only repeats that file's error; any other
    # unknown reference is a finding of its own, whatever else is broken
    diags = sorted(set(diags + run_checks(loaded, unloaded(loaded, diags))))
    if format == "json":
        sys.stdout.write(rd.as_json(diags))
    elif format == "github":
        sys.stdout.write(rd.github(diags))
    elif format == "concise":
        sys.stdout.write(rd.concise(diags))
    else:
        sys.stdout.write(rd.full(root, diags))
    errors = sum(d.severity == "error" for d in diags)
    warnings = len(diags) - errors
    if diags:
        common.info(f"{errors} error(s), {warnings} warning(s)")
    if errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
