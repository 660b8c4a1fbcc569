"""`cpqctl catalog list|show`: the products you sell."""

from __future__ import annotations

from typing import Annotated

import click
import typer

from cpqctl.cli import common, completion
from cpqctl.cli.common import FormatOpt, RepoOpt

app = common.group(
    "catalog",
    "The product catalog: list products, show one.\n\n"
    "Example:\n\n  cpqctl catalog list\n\n  cpqctl catalog show PRO-SEAT --format json",
)


@app.command("list")
def list_(
    family: Annotated[
        list[str] | None,
        typer.Option(
            "--family", metavar="FAMILY", click_type=completion.FAMILY, help="Only this family's products; repeatable."
        ),
    ] = None,
    type_: Annotated[
        str | None,
        typer.Option("--type", click_type=click.Choice(["subscription", "one-time"]), help="Only this type."),
    ] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", metavar="CUR", help="Only products with a list price in it.")
    ] = None,
    format: FormatOpt = "table",
    repo: RepoOpt = None,
) -> None:
    """List every product with its type, period, pricing and list prices.

    Example:

      cpqctl catalog list --format csv

      cpqctl catalog list --family Add-on --currency EUR
    """
    from cpqctl.app.accounts import catalog_list
    from cpqctl.render.output import emit

    result = catalog_list(common.workspace(repo), families=family or (), type_=type_, currency=currency)
    emit(
        format,
        result.data,
        ["code", "name", "family", "type", "per", "pricing", "price", "discount_schedule"],
        result.rows,
        title=result.title,
    )


@app.command("show")
def show(
    code: Annotated[str, typer.Argument(click_type=completion.PRODUCT, help="Product code.")],
    format: FormatOpt = "table",
    repo: RepoOpt = None,
) -> None:
    """Show one product: prices, discount schedule tiers, blocks, options, constraints.

    Example:

      cpqctl catalog show PRO-SEAT
    """
    from cpqctl.app.accounts import catalog_show
    from cpqctl.render.output import emit

    result = catalog_show(common.workspace(repo), code=code)
    emit(format, result.data, ["field", "value"], result.rows, title=result.title)
