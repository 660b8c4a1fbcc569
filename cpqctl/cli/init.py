"""`cpqctl init`: scaffold a data repository (:mod:`cpqctl.app.init`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cpqctl.cli import common


def init(
    directory: Annotated[Path | None, typer.Argument(help="Where to create the repository (default: here).")] = None,
    name: Annotated[str, typer.Option("--name", help="Your company's name.")] = "My Company",
    currency: Annotated[str, typer.Option("--currency", help="Company currency (ISO 4217).")] = "USD",
    locale: Annotated[str, typer.Option("--locale", help="Locale for documents, e.g. en_US or pl_PL.")] = "en_US",
    country: Annotated[
        str,
        typer.Option(
            "--country", help="Your country (ISO 3166, e.g. PL; default: the tax ID's prefix, else the locale's)."
        ),
    ] = "",
    tax_id: Annotated[
        str, typer.Option("--tax-id", help="Your VAT ID (NIP), e.g. PL7251234561; its checksum is validated.")
    ] = "",
    address: Annotated[str, typer.Option("--address", help="Your postal address, as printed on invoices.")] = "",
    bank_account: Annotated[
        list[str] | None,
        typer.Option(
            "--bank-account",
            help="An IBAN for payments: CUR=IBAN, or a plain IBAN for the company currency (repeatable).",
        ),
    ] = None,
    tax_rate: Annotated[
        str | None,
        typer.Option("--tax-rate", help="VAT rate, e.g. 23% (default: the country's standard rate, else 0%)."),
    ] = None,
    git: Annotated[
        bool, typer.Option("--git/--no-git", help="Make the folder a git repository unless it is inside one.")
    ] = True,
    format: common.ResultFormatOpt = "text",
) -> None:
    """Create a new data repository: cpq.toml, a starter catalog, folders, schemas, git.

    The VAT rate is the country's standard rate (PL 23%, DE 19%, …) unless --tax-rate gives one; a bad
    --tax-id or IBAN is refused and nothing is written (docs/tax-ids.md).

    Example:

      cpqctl init my-contracts --name "Example Software" --currency EUR --locale de_DE

      cpqctl init books --currency PLN --locale pl_PL --tax-id PL7251234561 --address "Gdańsk"

      cpqctl init books --currency PLN --locale pl_PL --bank-account EUR=PL86109010140000071219813006
    """
    from cpqctl.app.init import init as run

    result = run(
        directory,
        name=name,
        currency=currency,
        locale=locale,
        git=git,
        country=country,
        tax_id=tax_id,
        address=address,
        bank_accounts=tuple(bank_account or ()),
        tax_rate=tax_rate,
    )
    data = {
        "repo": str(result.root),
        "written": list(result.written),
        "country": result.country or None,
        "tax_rate": f"{result.tax_rate}%",
        "warnings": list(result.warnings),
    }
    common.done(format, data, result.message)
    for warning in result.warnings:
        common.info(warning)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
