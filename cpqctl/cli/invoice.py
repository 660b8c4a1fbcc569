"""`cpqctl invoice run | preview | render | send | submit | list`: billing runs, previews, invoice documents, KSeF
and e-mail.

Arguments in, one call of :mod:`cpqctl.app.invoicing` (which allocates numbers
under the lock, writes `invoices/<id>.yaml` and records deliveries), tables,
JSON and messages out. `render` and `send` work on one issued invoice and load
only its file, its account's folder and the catalog.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Annotated

import click
import typer

from cpqctl.cli import common, completion
from cpqctl.cli.common import AsOfOpt, FormatOpt, OutputOpt, RepoOpt

invoice_app = common.group(
    "invoice",
    "Invoices: billing runs, previews, documents and e-mail.\n\nExample:\n\n"
    "  cpqctl invoice preview C-2026-0001 --as-of 2026-04-10\n\n"
    "  cpqctl invoice run --through 2026-06-30 --dry-run\n\n"
    "  cpqctl invoice send INV-2026-0001 --eml INV-2026-0001.eml",
)

TABLE_ROWS = 200

ThroughOpt = Annotated[
    str | None,
    typer.Option("--through", metavar="DATE", help="Issue every invoice dated on or before DATE (default: --as-of)."),
]


def _period(x: dict) -> str:
    return f"{x['period_start'] or ''}..{x['period_end'] or ''}"


# --------------------------------------------------------------------------- run


def _run_row(x: dict) -> dict:
    return {
        "invoice": x["invoice"] or "(dry run)",
        "contract": x["contract"],
        "account": x["account"],
        "date": x["date"],
        "period": _period(x),
        "net_total": x["net_total"],
        "tax": x["tax_total"],
        "gross_total": x["gross_total"],
        "currency": x["currency"],
    }


@invoice_app.command("run")
def run(
    through: ThroughOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the invoices; write nothing.")] = False,
    allow_future: Annotated[
        bool,
        typer.Option(
            "--allow-future", help="Issue invoices dated more than 31 days after --as-of (refused otherwise)."
        ),
    ] = False,
    account: Annotated[
        list[str] | None,
        typer.Option(
            "--account", "-a", click_type=completion.ACCOUNT, help="Only this account's contracts; repeatable."
        ),
    ] = None,
    contract: Annotated[
        list[str] | None,
        typer.Option("--contract", "-c", click_type=completion.CONTRACT, help="Only this contract; repeatable."),
    ] = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Issue every invoice due by --through that the invoice ledger does not hold yet.

    The schedule of every contract (periods invoiced in advance,
    catch-ups of amendments accepted after their period was billed) minus
    what invoices/ already holds: running it twice issues nothing. A --through
    more than 31 days after --as-of is refused (a typo would issue years of
    future-dated invoices) unless --allow-future or --dry-run.

    Example:

      cpqctl invoice run --through 2026-06-30 --dry-run

      cpqctl invoice run --through 2026-06-30

      cpqctl invoice run --through 2026-06-30 --account acme   # one customer first
    """
    from cpqctl.app.invoicing import run_invoices
    from cpqctl.render.output import emit, write_json_streamed

    day = common.parse_date(through, "date", "--through") if through else None
    result = run_invoices(
        common.workspace(repo, as_of),
        through=day,
        dry_run=dry_run,
        allow_future=allow_future,
        accounts=account or (),
        contracts=contract or (),
    )
    if format == "json":  # a month of 50,000 contracts is 100,000+ invoices: encode one at a time
        write_json_streamed(result.head, "invoices", result.invoices())
    else:
        items = result.invoices()
        if format == "table" and result.count > TABLE_ROWS:  # a terminal table of thousands of rows helps nobody
            common.info(
                f"showing the first {TABLE_ROWS} of {result.count} invoices (all of them with --format json or csv)"
            )
            items = islice(items, TABLE_ROWS)
        rows = [_run_row(x) for x in items]
        emit(
            format,
            result.head,
            ["invoice", "contract", "account", "date", "period", "net_total", "tax", "gross_total", "currency"],
            rows,
            title=f"Invoices through {result.through}" + (" (dry run)" if dry_run else ""),
            right=("net_total", "tax", "gross_total"),
        )
    if result.message:
        common.info(result.message)


# --------------------------------------------------------------------------- correct


def _corrected_lines(specs: list[str] | None) -> dict[int, Decimal] | None:
    """``N=AMOUNT`` options: line N's net amount after the correction."""
    from cpqctl.core.diagnostics import UsageError
    from cpqctl.core.money import D, MoneyError

    if not specs:
        return None
    out: dict[int, Decimal] = {}
    for spec in specs:
        n, sep, amount = spec.partition("=")
        try:
            if not sep or not n.strip().isdigit():
                raise ValueError
            out[int(n)] = D(amount.strip())
        except (ValueError, MoneyError):
            raise UsageError(
                "E-USAGE",
                f"`{spec}` is not LINE=AMOUNT",
                "the line's number and its net amount after the correction, e.g. --line 2=0 or --line 1=450.00",
            ) from None
    return out


@invoice_app.command("correct")
def correct(
    invoice: Annotated[str, typer.Argument(click_type=completion.INVOICE, help="The invoice to correct.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (printed on the corrective invoice).")] = "",
    line: Annotated[
        list[str] | None,
        typer.Option("--line", "-l", help="LINE=AMOUNT: that line's net amount after the correction; repeatable."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the correction; write nothing.")] = False,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Issue a corrective invoice (faktura korygująca): an issued invoice is never edited.

    Without --line every line goes to 0 (the invoice cancelled); with --line
    N=AMOUNT line N gets that net amount. The correction names the invoice
    and its date, the reason, and per line the amount before, after and the
    difference; its number comes from [numbering] correction. A credit for a
    period already invoiced (a downgrade mid-period) is corrected by `invoice
    run` itself.

    Example:

      cpqctl invoice correct INV-2026-0003 --reason "wrong buyer address: cancelled, reissued"

      cpqctl invoice correct INV-2026-0003 --line 2=450.00 --reason "agreed discount on support"
    """
    from cpqctl.app.invoicing import correct_invoice
    from cpqctl.render.output import emit

    result = correct_invoice(
        common.workspace(repo, as_of),
        invoice,
        reason=reason,
        lines=_corrected_lines(line),
        dry_run=dry_run,
    )
    emit(
        format,
        result.data,
        ["invoice", "contract", "account", "date", "period", "net_total", "tax", "gross_total", "currency"],
        [_run_row(x) for x in result.invoices()],
        title="Corrective invoice" + (" (dry run)" if dry_run else ""),
        right=("net_total", "tax", "gross_total"),
    )
    if result.message:
        common.info(result.message)


# --------------------------------------------------------------------------- preview


@invoice_app.command("preview")
def preview(
    contract: Annotated[str, typer.Argument(click_type=completion.CONTRACT, help="Contract ID, e.g. C-2026-0001.")],
    quote: Annotated[
        str | None,
        typer.Option(
            "--quote",
            metavar="QUOTE",
            click_type=completion.QUOTE,
            help="A pending amendment quote: show the invoice delta it causes.",
        ),
    ] = None,
    through: Annotated[
        str | None,
        typer.Option(
            "--through",
            metavar="DATE",
            help="Show invoices dated on or before DATE (default: the contract's end; "
            "a year ahead for an evergreen contract).",
        ),
    ] = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Preview a contract's next invoices, or what accepting an amendment quote changes.

    Runs the same schedule as `invoice run` on a copy of the ledger and writes
    nothing. With no invoices on file, every period invoiced by --as-of counts
    as billed. --through sets how far to look (default: the contract's end, or
    a year ahead for an evergreen contract).

    Example:

      cpqctl invoice preview C-2026-0001 --as-of 2026-04-10

      cpqctl invoice preview C-2026-0001 --quote Q-2026-0007 --as-of 2026-04-10 --format json
    """
    from cpqctl.app.invoicing import preview_invoices
    from cpqctl.render.output import emit

    until = common.parse_date(through, "date", "--through") if through else None
    result = preview_invoices(common.workspace(repo, as_of), contract, quote=quote, through=until)
    data, cur = result.data, result.currency
    if result.quote is None:
        rows = [
            {
                "date": x["date"],
                "period": _period(x),
                "lines": len(x["lines"]),
                "net_total": x["net_total"],
                "gross_total": x["gross_total"],
            }
            for x in data["invoices"]
        ]
        emit(
            format,
            data,
            ["date", "period", "lines", "net_total", "gross_total"],
            rows,
            title=f"{result.contract} · next invoices after {result.as_of} · {cur}",
            right=("lines", "net_total", "gross_total"),
        )
        return
    rows = [
        {
            "invoice": "on acceptance",
            "date": data["on_acceptance"]["date"],
            "period": "",
            "before": _zero(cur),
            "after": data["on_acceptance"]["net_total"],
            "delta": data["on_acceptance"]["net_total"],
        }
    ]
    rows += [
        {
            "invoice": "scheduled",
            "date": x["date"],
            "period": f"{x['period_start']}..{x['period_end']}",
            "before": x["before"],
            "after": x["after"],
            "delta": x["delta"],
        }
        for x in data["invoices"]
    ]
    title = (
        f"{result.contract} + {result.quote} · as of {result.as_of} · contract value "
        f"{data['contract_value_delta']} {cur} · ARR {data['arr_before']} → {data['arr_after']} {cur}"
    )
    emit(
        format,
        data,
        ["invoice", "date", "period", "before", "after", "delta"],
        rows,
        title=title,
        right=("before", "after", "delta"),
    )


def _zero(currency: str) -> str:
    from cpqctl.core.money import money_str

    return money_str(0, currency)


# --------------------------------------------------------------------------- render and send


def _invoice_formats() -> list[str]:
    from cpqctl.app.einvoicing import FORMATS  # the structured e-invoices (docs/einvoicing.md)

    return ["md", "pdf", "json", *FORMATS]


InvoiceFormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        click_type=click.Choice(_invoice_formats()),
        help="md (Markdown), pdf, json (the data the templates get), or a structured e-invoice: ksef (FA(3) XML), "
        "facturx (PDF/A-3b with the EN 16931 CII embedded), ubl (EN 16931 UBL 2.1, Peppol BIS Billing 3.0).",
    ),
]


@invoice_app.command("render")
def render(
    invoice: Annotated[str, typer.Argument(click_type=completion.INVOICE, help="Invoice number, e.g. INV-2026-0001.")],
    format: InvoiceFormatOpt = "pdf",
    output: OutputOpt = None,
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Render an issued invoice as a VAT invoice document (Markdown or PDF) or as its structured e-invoice.

    Seller and buyer with their VAT IDs, issue and sale dates, due date, each
    service with its period, quantity, VAT rate and net amount, net/VAT/gross
    per rate, the reverse-charge note, and payment details (cpq.toml
    [company] bank_account). The document depends only on the invoice file:
    it renders byte-identically on any day (--as-of is not used). md and pdf
    give the documents kept when the invoice was issued; once it has a KSeF
    number, its KSeF visualisation (the KSeF number and the KOD I QR code).
    --format ksef writes the FA(3) XML (the file submitted, once it was),
    validated against the XSD first: an invalid one is refused (E-KSEF-XSD).
    --format facturx and ubl write the EN 16931 invoice, validated against
    the XSD and CEN's Schematron rules first (E-EN16931, with the rule ID).

    Example:

      cpqctl invoice render INV-2026-0001 --format pdf

      cpqctl invoice render INV-2026-0001 --format md -o -

      cpqctl invoice render INV-2026-0001 --format ksef -o INV-2026-0001.xml

      cpqctl invoice render INV-2026-0001 --format facturx -o INV-2026-0001.pdf
    """
    from cpqctl.app.einvoicing import render_invoice

    format = common.format_of_output(format, output)
    result = render_invoice(common.workspace(repo, as_of), invoice, format, output, notify=common.info)
    if result.payload is not None:
        sys.stdout.buffer.write(result.payload)
    if result.message:
        common.info(result.message)


InvoicesArg = Annotated[
    list[str] | None,
    typer.Argument(click_type=completion.INVOICE, help="Invoice numbers, e.g. INV-2026-0001.", show_default=False),
]


@invoice_app.command("send")
def send(
    invoices: InvoicesArg = None,
    unsent: Annotated[
        bool,
        typer.Option(
            "--unsent", help="Every issued invoice dated on or before --as-of that has no delivery recorded yet."
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="With --unsent: only invoices dated on or after DATE, or the first day of a period (the day "
            "you started sending with cpqctl; older ones went out another way).",
        ),
    ] = None,
    to: Annotated[
        list[str] | None,
        typer.Option("--to", metavar="ADDR", help="Recipient (repeatable; default: the account's billing contacts)."),
    ] = None,
    eml: Annotated[
        Path | None,
        typer.Option(
            "--eml",
            metavar="FILE",
            help="Write the message to FILE (a folder for several invoices; - for stdout) "
            "instead of sending it; nothing is recorded.",
        ),
    ] = None,
    without_ksef: Annotated[
        bool,
        typer.Option(
            "--without-ksef",
            help="Deliver an invoice of a KSeF account that has no KSeF number yet (refused otherwise: submit it first).",
        ),
    ] = False,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """E-mail invoices (PDF attached) to the customer's billing contact, or write them as .eml files.

    Sends through the SMTP server in cpq.toml [smtp] (host, port, starttls,
    user; the password from the environment variable `password_env` names)
    and appends the delivery (date, recipients, Message-ID) to the invoice
    file's `sent:` list once the server has accepted the message. A failed
    delivery records nothing; recipients the server refuses are reported (exit
    1) while those who got it are recorded, and --unsent goes on with the
    other invoices. The message is deterministic: its Date is
    --as-of and its Message-ID derives from the invoice, the recipients and
    that date.
    With --eml the message is written to a file and nothing is recorded
    (nothing was delivered). An invoice of an account whose e-invoice is
    KSeF, dated from [ksef] mandatory_from, is not delivered until it has a
    KSeF number (`invoice submit`) unless --without-ksef (--eml writes it
    with a note); once it has one, the FA(3) XML is attached and the PDF is
    its KSeF visualisation.

    Example:

      cpqctl invoice send INV-2026-0001 --eml INV-2026-0001.eml

      CPQ_SMTP_PASSWORD=… cpqctl invoice send INV-2026-0001 --to anna.nowak@acme.example

      cpqctl invoice send --unsent   # the monthly job, after `invoice run`
    """
    from cpqctl.app import invoicing

    names = list(invoices or [])
    common.as_of(as_of)  # the usage errors in the order they always came: --as-of, the selection, --since
    # --since is read only when the call names its invoices right: otherwise that mistake is reported first
    first = common.bound(since, "--since", as_of) if since and unsent != bool(names) else None
    invoicing.check_selection(names, unsent, first)  # before looking for the repository
    ws = common.workspace(repo, as_of)
    if eml is not None:
        written = invoicing.write_emls(
            ws, names, target=eml, unsent=unsent, since=first, to=to, notify=common.info, without_ksef=without_ksef
        )
        if written.payload is not None:
            sys.stdout.buffer.write(written.payload)
        if written.message:
            common.info(written.message)
        return
    result = invoicing.send_invoices(
        ws, names, unsent=unsent, since=first, to=to, notify=common.info, without_ksef=without_ksef
    )
    if result.message:
        common.info(result.message)
    from cpqctl.render.output import emit

    emit(
        format,
        result.data,
        ["invoice", "to", "message_id"],
        list(result.deliveries),
        title=f"Invoices sent on {result.as_of}",
    )
    if result.error is not None:
        raise result.error


# --------------------------------------------------------------------------- submit


@invoice_app.command("submit")
def submit(
    invoices: InvoicesArg = None,
    unsent: Annotated[
        bool,
        typer.Option(
            "--unsent",
            help="Every issued invoice dated on or before --as-of that must go through KSeF and has no KSeF number.",
        ),
    ] = False,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Submit invoices to KSeF, Poland's e-invoicing system, and record their KSeF numbers.

    Each invoice is written as FA(3) XML and validated against the XSD (an
    invalid one refuses the call before anything is sent), then sent through
    the KSeF 2.0 API in one online session, authenticated with the KSeF token
    from the environment variable cpq.toml [ksef] token_env names (never
    stored). For each invoice KSeF accepts, the KSeF number, the server's
    acceptance time and the references are appended to the invoice file
    (`ksef:`, outside its digest) and the XML as sent is kept beside it
    (invoices/<file>.ksef.xml). An invoice with a KSeF number is skipped:
    running it again submits nothing. See docs/einvoicing.md.

    Example:

      KSEF_TOKEN=… cpqctl invoice submit INV-2026-0001

      cpqctl invoice submit --unsent   # after `invoice run`, before `invoice send --unsent`
    """
    from cpqctl.app.einvoicing import submit_invoices
    from cpqctl.render.output import emit

    names = list(invoices or [])
    common.as_of(as_of)
    result = submit_invoices(common.workspace(repo, as_of), names, unsent=unsent, notify=common.info)
    if result.message:
        common.info(result.message)
    emit(
        format,
        result.data,
        ["invoice", "ksef_number", "accepted", "environment"],
        list(result.accepted),
        title=f"Invoices submitted to KSeF on {result.as_of}",
    )
    if result.error is not None:
        raise result.error


# --------------------------------------------------------------------------- list


@invoice_app.command("list")
def list_(
    unsent: Annotated[
        bool,
        typer.Option("--unsent", help="Only what `invoice send --unsent` would send: no delivery, dated by --as-of."),
    ] = False,
    overdue: Annotated[
        bool,
        typer.Option(
            "--overdue",
            help="Only invoices with something still open past their due date on --as-of (payments recorded in "
            "payments/ count).",
        ),
    ] = False,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            metavar="STATUS",
            help="Only invoices of this status on --as-of: open, partly paid, paid, overdue, credited (repeat "
            "for several).",
        ),
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", "-a", click_type=completion.ACCOUNT, help="Only this account's invoices.")
    ] = None,
    contract: Annotated[
        str | None,
        typer.Option("--contract", "-c", click_type=completion.CONTRACT, help="Only this contract's invoices."),
    ] = None,
    period: common.PeriodOpt = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="DATE", help="Only invoices dated on or after DATE (or the first day of a period)."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--to", metavar="DATE", help="Only invoices dated on or before DATE (or the last day of a period)."
        ),
    ] = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """List issued invoices by number: account, contract, dates, totals, what is open, status and delivery.

    The status on --as-of is open, partly paid, paid, overdue or credited: payments recorded in payments/
    count (docs/receivables.md).

    Example:

      cpqctl invoice list --unsent

      cpqctl invoice list --account acme --from 2026-01-01 --to 2026-03-31 --format json

      cpqctl invoice list -p last-month
    """
    from cpqctl.app.listing import list_invoices
    from cpqctl.render.output import emit

    first, last = common.date_range(period, since, until, as_of)
    result = list_invoices(
        common.workspace(repo, as_of),
        unsent=unsent,
        overdue=overdue,
        status=status or (),
        account=account,
        contract=contract,
        start=first,
        end=last,
    )
    if format == "json":  # a year of 50,000 accounts' invoices: 190,000 rows, written one at a time
        from cpqctl.render.output import write_json_streamed

        write_json_streamed({k: v for k, v in result.data.items() if k != "invoices"}, "invoices", result.rows)
        return
    rows = result.rows
    for r in rows:  # in place: the rows are this command's own, and a copy of 190,000 would double them
        r["period"] = _period(r)
        r["sent"] = "yes" if r["sent"] else "no"
    emit(
        format,
        result.data,
        [
            "invoice",
            "account",
            "contract",
            "date",
            "due",
            "period_start",
            "period_end",
            "gross_total",
            "open",
            "currency",
            "status",
            "sent",
        ],
        rows,
        title=f"Invoices on {result.as_of} ({len(rows)})",
        right=("gross_total", "open"),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(invoice_app)
