"""`cpqctl payment record | import | list`: money in, matched to invoices (docs/receivables.md).

A thin shell around :mod:`cpqctl.app.payments`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import click
import typer

from cpqctl.cli import common, completion
from cpqctl.cli.common import AsOfOpt, FormatOpt, PeriodOpt, RepoOpt

app = common.group(
    "payment",
    "Payments: money received, refunds and write-offs in payments/<YYYY-MM>/<ID>.yaml, each settling "
    "invoices; what is left of a payment is the customer's credit.\n\n"
    "Example:\n\n  cpqctl payment import statement-2027-01.xml\n\n"
    "  cpqctl payment record --account acme --amount 1379.96 --as-of 2027-01-20\n\n"
    "  cpqctl payment list --review",
)

InvoiceArg = Annotated[
    list[str] | None,
    typer.Option(
        "--invoice",
        "-i",
        metavar="NUMBER[=AMOUNT]",
        show_default=False,
        help="An invoice it settles, and how much (default: what is still open on it); repeat for more. "
        "Without any, a payment settles the account's open invoices oldest due first.",
    ),
]


@app.command("record")
def record(
    account: Annotated[
        str, typer.Option("--account", "-a", click_type=completion.ACCOUNT, help="The account that paid.")
    ],
    amount: Annotated[str, typer.Option("--amount", metavar="AMOUNT", help="The sum received, e.g. 1379.96.")],
    invoice: InvoiceArg = None,
    currency: Annotated[
        str | None,
        typer.Option("--currency", metavar="CUR", show_default=False, help="Default: the account's currency."),
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            click_type=click.Choice(["payment", "refund", "write-off"]),
            help="payment (money in), refund (money paid back on a credited invoice) or write-off (given up).",
        ),
    ] = "payment",
    reference: Annotated[
        str, typer.Option("--reference", metavar="TEXT", help="The transfer's title or bank reference.")
    ] = "",
    note: Annotated[str, typer.Option("--note", metavar="TEXT", help="A note kept in the file.")] = "",
    no_allocate: Annotated[
        bool, typer.Option("--no-allocate", help="Settle no invoice: all of it is the customer's credit.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the payment; write nothing.")] = False,
    format: common.ResultFormatOpt = "text",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Record a payment, refund or write-off dated --as-of, settling invoices.

    Example:

      cpqctl payment record --account acme --amount 1379.96 --as-of 2027-01-20

      cpqctl payment record -a globex --amount 500 --invoice INV-2027-0003=500 --reference "wire 2207"

      cpqctl payment record -a hooli --kind write-off --amount 12.30 --invoice INV-2027-0007
    """
    from cpqctl.app import payments

    result = payments.record_payment(
        common.workspace(repo, as_of),
        account=account,
        amount=amount,
        currency=currency,
        invoices=invoice or (),
        kind=kind,
        reference=reference,
        note=note,
        allocate=not no_allocate,
        dry_run=dry_run,
    )
    common.done(format, result.data, result.message)


@app.command("allocate")
def allocate(
    payment: Annotated[str, typer.Argument(metavar="PAYMENT", help="The payment's ID, e.g. PAY-2027-0012.")],
    account: Annotated[
        str | None,
        typer.Option("--account", "-a", click_type=completion.ACCOUNT, help="The account that paid (if not named)."),
    ] = None,
    invoice: InvoiceArg = None,
    other: Annotated[
        bool,
        typer.Option(
            "--other",
            help="Not a customer's payment (interest, a transfer between own accounts): kept, settles nothing.",
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the result; write nothing.")] = False,
    format: common.ResultFormatOpt = "text",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Say who paid a payment and which invoices it settles (its allocations are replaced).

    For the lines an import could not match (`payment list --review`).

    Example:

      cpqctl payment allocate PAY-2027-0012 --account acme --invoice INV-2027-0004

      cpqctl payment allocate PAY-2027-0013 --other
    """
    from cpqctl.app import payments

    result = payments.allocate_payment(
        common.workspace(repo, as_of), payment, account=account, invoices=invoice or (), other=other, dry_run=dry_run
    )
    common.done(format, result.data, result.message)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A bank statement: CAMT.053 (ISO 20022 XML) or MT940.")],
    statement_format: Annotated[
        str | None,
        typer.Option(
            "--statement-format",
            click_type=click.Choice(["camt.053", "mt940"]),
            show_default=False,
            help="The statement's format (default: from its content).",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Match and show; write nothing.")] = False,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Record every credit of a bank statement as a payment matched to the invoices it pays.

    A credit whose transfer title names invoices (their numbers, or the RF creditor reference printed on the
    invoice) settles them; otherwise one whose amount is exactly what one invoice still asks settles that
    one; any other is recorded for nobody and listed to review (`payment list --review`), never allocated by a
    guess. Importing the same statement again records nothing twice.

    Example:

      cpqctl payment import camt053-2027-01.xml

      cpqctl payment import mt940-2027-02.sta --dry-run
    """
    from cpqctl.app import payments
    from cpqctl.render.output import emit

    data = payments.read_statement(file)
    result = payments.import_statement(
        common.workspace(repo, as_of), name=str(file), data=data, fmt=statement_format, dry_run=dry_run
    )
    rows = [
        r | {"amount": f"{r['amount']} {r['currency']}", "invoices": ", ".join(a["invoice"] for a in r["allocations"])}
        for r in result.rows
    ]
    emit(
        format,
        result.data,
        ["date", "amount", "payer", "reference", "result", "payment", "account", "invoices"],
        rows,
        title=f"{file.name}: {len(rows)} entr{'y' if len(rows) == 1 else 'ies'}",
        right=("amount",),
    )
    common.info(result.message)


@app.command("list")
def list_(
    account: Annotated[
        str | None, typer.Option("--account", "-a", click_type=completion.ACCOUNT, help="Only this account's.")
    ] = None,
    review: Annotated[
        bool, typer.Option("--review", help="Only the bank lines no account is named for yet (from imports).")
    ] = False,
    unallocated: Annotated[
        bool, typer.Option("--unallocated", help="Only payments with something left for no invoice (credit).")
    ] = False,
    period: PeriodOpt = None,
    since: Annotated[str | None, typer.Option("--from", metavar="DATE", help="Only those dated on or after.")] = None,
    until: Annotated[str | None, typer.Option("--to", metavar="DATE", help="Only those dated on or before.")] = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """List payments, refunds and write-offs by date, with what each settles.

    Example:

      cpqctl payment list --account acme

      cpqctl payment list --review -p last-month
    """
    from cpqctl.app import payments
    from cpqctl.render.output import emit

    first, last = common.date_range(period, since, until, as_of)
    rows, data = payments.list_payments(
        common.workspace(repo, as_of), account=account, review=review, unallocated=unallocated, start=first, end=last
    )
    shown = [r | {"amount": f"{r['amount']} {r['currency']}"} for r in rows]
    emit(
        format,
        data,
        ["payment", "date", "kind", "account", "amount", "unallocated", "invoices", "reference"],
        shown,
        title=f"Payments on {data['as_of']} ({len(rows)})",
        right=("amount", "unallocated"),
    )
