"""`cpqctl close YYYY-MM`: close a month's books (docs/revenue.md#period-close)."""

from __future__ import annotations

from typing import Annotated

import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, RepoOpt


def close(
    month: Annotated[str, typer.Argument(metavar="YYYY-MM", help="The month to close, e.g. 2027-03.")],
    by: Annotated[str, typer.Option("--by", metavar="NAME", help="Who closes it (kept in the file).")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the digest; write nothing.")] = False,
    format: common.ResultFormatOpt = "text",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Close a month: record the digest of its journal in periods/<YYYY-MM>.yaml.

    From then on `cpqctl check` reports any change that would alter the month (a back-dated payment, an
    edited allocation, a catalog change that moves its revenue) as E-CLOSED-PERIOD; adjust in an open month.

    Example:

      cpqctl close 2027-03 --by "Anna Nowak" --as-of 2027-04-05
    """
    from cpqctl.app import closing

    result = closing.close_period(common.workspace(repo, as_of), month, by=by, dry_run=dry_run)
    common.done(format, result.data, result.message)


def register(app: typer.Typer) -> None:
    app.command("close")(close)
