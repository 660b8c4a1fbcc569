"""`cpqctl account show|render|list`: what a customer owns now, on screen or as a statement; every account."""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer

from cpqctl.cli import common, completion
from cpqctl.cli.common import AsOfOpt, DocFormatOpt, FormatOpt, OutputOpt, RepoOpt

app = common.group("account", "Accounts: the customer's view.\n\nExample:\n\n  cpqctl account show acme")


@app.command("show")
def show(
    account: Annotated[
        str, typer.Argument(click_type=completion.ACCOUNT, help="Account ID (its folder under contracts/).")
    ],
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Show what a customer owns on --as-of: contracts, products, bundle add-ons on/off, MRR/ARR, next renewal.

    Example:

      cpqctl account show acme

      cpqctl account show acme --as-of 2026-06-30 --format json   # for provisioning scripts
    """
    from cpqctl.app.accounts import account_show
    from cpqctl.render.output import console, emit

    result = account_show(common.workspace(repo, as_of), account=account)
    a, day, data = result.account, result.as_of, result.data
    rows = data["owned"]
    if format != "table":
        emit(format, data, ["product", "name", "family", "quantity", "mrr", "contract"], rows)
        return
    out = console()
    out.print(f"[bold]{a.name}[/bold] ({a.account}) · {a.currency} · as of {day}")
    out.print(f"MRR {data['mrr']} · ARR {data['arr']} · next renewal {data['next_renewal'] or '—'}")
    emit(
        "table",
        data,
        ["contract", "status", "start", "end", "arr"],
        data["contracts"],
        title="Contracts",
        right=("arr",),
    )
    emit(
        "table",
        data,
        ["product", "name", "quantity", "mrr", "contract"],
        rows,
        title="Owned now",
        right=("quantity", "mrr"),
    )
    for b in data["bundles"]:
        opts = ", ".join(f"{o['product']} {'on' if o['on'] else 'off'}" for o in b["options"])
        out.print(f"Bundle {b['bundle']} ({b['contract']}): {opts}")


@app.command("render")
def render(
    account: Annotated[
        str, typer.Argument(click_type=completion.ACCOUNT, help="Account ID (its folder under contracts/).")
    ],
    format: DocFormatOpt = "pdf",
    output: OutputOpt = None,
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Render an account statement (a document a customer could be sent) as Markdown or PDF.

    Contracts with status, term and ARR; what the customer owns on --as-of;
    bundle options on/off; MRR/ARR; the next renewal date.

    Example:

      cpqctl account render acme --format pdf --as-of 2026-06-30 -o acme.pdf
    """
    from cpqctl.app.accounts import account_render

    format = common.format_of_output(format, output)
    result = account_render(common.workspace(repo, as_of), account=account, fmt=format, output=output)
    if result.payload is not None:
        sys.stdout.buffer.write(result.payload)
    if result.path:
        common.info(result.message)


@app.command("list")
def list_(
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            "-s",
            click_type=click.Choice(["active", "pending", "churned", "prospect"]),
            help="Only accounts with this status on --as-of (a contract in service, signed and to come, none "
            "left, none ever); repeatable.",
        ),
    ] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", metavar="CUR", help="Only accounts billed in this currency.")
    ] = None,
    renewing_within: Annotated[
        str | None,
        typer.Option(
            "--renewing-within",
            metavar="DAYS",
            help="Only accounts whose next renewal is within DAYS of --as-of (90 or 90d).",
        ),
    ] = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """List accounts by ID: name, currency, status, active contracts, MRR and ARR (as `account show` computes them).

    Example:

      cpqctl account list --as-of 2026-06-30

      cpqctl account list --status active --renewing-within 90d --format csv > renewing.csv
    """
    from cpqctl.app.listing import list_accounts
    from cpqctl.render.output import emit

    result = list_accounts(
        common.workspace(repo, as_of),
        statuses=status or (),
        currency=currency,
        renewing_within=common.days(renewing_within, "--renewing-within"),
    )
    rows = [{**r, "active_contracts": " ".join(r["active_contracts"])} for r in result.rows]
    emit(
        format,
        result.data,
        ["account", "name", "currency", "status", "active_contracts", "mrr", "arr", "next_renewal"],
        rows,
        title=f"Accounts on {result.as_of} ({len(rows)})",
        right=("mrr", "arr"),
    )
