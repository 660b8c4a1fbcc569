"""`cpqctl contract show|list`: a contract's state on a date, from its ledger, and every contract's."""

from __future__ import annotations

from typing import Annotated

import click
import typer

from cpqctl.cli import common, completion
from cpqctl.cli.common import AsOfOpt, FormatOpt, RepoOpt

app = common.group(
    "contract",
    "Contracts: what a contract holds on a date.\n\nExample:\n\n  cpqctl contract show C-2026-0001 --as-of 2026-06-30",
)


@app.command("show")
def show(
    contract: Annotated[str, typer.Argument(click_type=completion.CONTRACT, help="Contract ID, e.g. C-2026-0001.")],
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Show a contract on --as-of: status, term, what is owned (sum of segments), MRR and ARR.

    Example:

      cpqctl contract show C-2026-0001 --as-of 2026-06-30 --format json
    """
    from cpqctl.app.accounts import contract_show
    from cpqctl.render.output import emit

    result = contract_show(common.workspace(repo, as_of), contract=contract)
    c, data, day = result.contract, result.data, result.as_of
    title = (
        f"{c.contract} · {c.account} · {data['status']} · {data['start']} → {data['end'] or 'evergreen'} "
        f"· as of {day} · MRR {data['mrr']} {c.currency} · ARR {data['arr']} {c.currency}"
    )
    emit(format, data, ["product", "name", "quantity", "mrr"], result.rows, title=title, right=("quantity", "mrr"))


@app.command("list")
def list_(
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            "-s",
            click_type=click.Choice(["active", "pending", "ended", "cancelled"]),
            help="Only contracts with this status on --as-of; repeatable.",
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option("--account", "-a", click_type=completion.ACCOUNT, help="Only this account's contracts."),
    ] = None,
    ending_within: Annotated[
        str | None,
        typer.Option(
            "--ending-within",
            metavar="DAYS",
            help="Only contracts whose last day (after every amendment) is within DAYS of --as-of (90 or 90d).",
        ),
    ] = None,
    product: common.ProductFilterOpt = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """List contracts by ID with their status, term, MRR and ARR on --as-of.

    The status is the one `contract show` prints: pending, active, cancelled or
    ended. Evergreen contracts never end within a window.

    Example:

      cpqctl contract list --status active --ending-within 90 --as-of 2026-07-01

      cpqctl contract list --account hooli --format csv

      cpqctl contract list --product SSO   # those holding it on --as-of
    """
    from cpqctl.app.listing import list_contracts
    from cpqctl.render.output import emit

    within = common.days(ending_within, "--ending-within")
    result = list_contracts(
        common.workspace(repo, as_of), statuses=status or (), account=account, ending_within=within, product=product
    )
    emit(
        format,
        result.data,
        ["contract", "account", "status", "start", "end", "mrr", "arr", "currency"],
        result.rows,
        title=f"Contracts on {result.as_of} ({len(result.rows)})",
        right=("mrr", "arr"),
    )
