"""`cpqctl quote new|show|render|approve|accept|redate|list`."""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer

from cpqctl.cli import common, completion
from cpqctl.cli.common import AsOfOpt, DocFormatOpt, FormatOpt, OutputOpt, RepoOpt, ResultFormatOpt
from cpqctl.core.terms import FREQUENCIES

app = common.group(
    "quote",
    "Quotes: create, price, render, approve and accept.\n\nExample:\n\n  cpqctl quote new --account acme --start 2027-01-01 --line PRO-SEAT=50",
)

FREQ = click.Choice(list(FREQUENCIES))


def emit_quote(fmt: str, data: dict) -> None:
    from cpqctl.render.output import console, emit

    cols = [
        "product",
        "quantity",
        "start",
        "end",
        "per",
        "list_unit_price",
        "net_unit_price",
        "prorate_multiplier",
        "net_total",
    ]
    if fmt != "table":
        emit(
            fmt,
            data,
            cols,
            data["lines"],
            title=f"{data['quote']} ({data['status']})",
            right=("quantity", "list_unit_price", "net_unit_price", "prorate_multiplier", "net_total"),
        )
        return
    out = console()
    out.print(
        f"[bold]{data['quote'] or '(dry run)'}[/bold] · {data['kind']} · {data['account']} · {data['status']}"
        f" · {data['start']} → {data['end'] or 'evergreen'} · {data['currency']}"
    )
    rows = []
    for ln in data["lines"]:
        waterfall = " → ".join(f"{s['step']} {s['unit_price']}" for s in ln["steps"])
        rows.append({**ln, "waterfall": waterfall})
    emit(
        "table",
        data,
        ["product", "quantity", "start", "end", "waterfall", "prorate_multiplier", "net_total"],
        rows,
        right=("quantity", "prorate_multiplier", "net_total"),
        footer={
            "product": "net / tax / gross",
            "net_total": f"{data['net_total']}\n{data['tax_total']}\n{data['gross_total']}",
        },
    )
    for reason in data.get("approval_reasons") or []:
        out.print(f"needs approval: {reason}")


@app.command("new")
def new(
    account: Annotated[str, typer.Option("--account", "-a", click_type=completion.ACCOUNT, help="The account ID.")],
    start: Annotated[str, typer.Option("--start", help="First day of service, YYYY-MM-DD.")],
    line: Annotated[
        list[str],
        typer.Option(
            "--line",
            "-l",
            click_type=completion.LINE,
            help="CODE=QTY, CODE=QTY@10% (manual discount) or CODE=QTY@5.00 (discount per unit); repeatable.",
        ),
    ],
    term: Annotated[int | None, typer.Option("--term", help="Term in months (default 12).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day (wins over --term).")] = None,
    billing: Annotated[
        str | None, typer.Option("--billing", click_type=FREQ, help="Billing frequency (default: cpq.toml [billing]).")
    ] = None,
    evergreen: Annotated[bool, typer.Option("--evergreen", help="An evergreen contract: no end.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Price and print; write nothing.")] = False,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Create a new-business quote (a draft, priced now and whenever shown).

    The quote number is allocated under the repository lock.

    Example:

      cpqctl quote new --account acme --start 2027-01-01 --term 12 --line PRO-SEAT=50 --line SSO=1@10%
    """
    from cpqctl.app.quotes import new_quote

    start_d = common.parse_date(start, "start date", "--start")
    end_d = common.parse_date(end, "end date", "--end") if end else None
    result = new_quote(
        common.workspace(repo, as_of),
        account=account,
        start=start_d,
        lines=line,
        term=term,
        end=end_d,
        billing=billing,
        evergreen=evergreen,
        dry_run=dry_run,
    )
    emit_quote(format, result.data)
    if result.message:
        common.info(result.message)


@app.command("show")
def show(
    quote: Annotated[str, typer.Argument(click_type=completion.QUOTE, help="Quote ID.")],
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Show a priced quote with every step of the price waterfall.

    Drafts are re-priced from today's catalog; accepted quotes show their frozen prices.

    Example:

      cpqctl quote show Q-2026-0001 --format json
    """
    from cpqctl.app.quotes import show_quote

    emit_quote(format, show_quote(common.workspace(repo, as_of), quote).data)


@app.command("approve")
def approve(
    quote: Annotated[str, typer.Argument(click_type=completion.QUOTE, help="Quote ID.")],
    by: Annotated[str, typer.Option("--by", help="Who approves.")],
    format: ResultFormatOpt = "text",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Approve a quote whose manual discount exceeds [approvals] max_discount.

    Example:

      cpqctl quote approve Q-2026-0003 --by "Jan Kowalski"
    """
    from cpqctl.app.quotes import approve_quote

    r = approve_quote(common.workspace(repo, as_of), quote, by=by)
    common.done(format, {"quote": r.quote, "approved_by": r.by, "date": r.date.isoformat(), "written": list(r.written)},
                r.message)  # fmt: skip


@app.command("redate")
def redate(
    quote: Annotated[str, typer.Argument(click_type=completion.QUOTE, help="Quote ID (a draft).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the re-dated quote; write nothing.")] = False,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Re-date a draft to --as-of (a new validity) and show it priced again, as `quote show` does.

    Only the quote's `date:` changes. A new-business draft is priced from
    today's catalog (a draft without `start:` starts on its date, so that moves
    too). An amendment draft keeps its delta lines and prices as written, and is
    refused if its contract changed since it was made (E-STALE-QUOTE, the
    refusal `quote accept` would give) or was cancelled: make it again with
    `cpqctl amend`. A renewal draft keeps its lines and is refused if the
    contract was renewed or cancelled, or its ledger changed the renewal
    (E-STALE-QUOTE): `cpqctl renew` regenerates it. Accepted quotes are refused
    (E-ACCEPTED).

    An approval recorded on the draft stays valid only while the draft prices
    as approved (an approval covers the priced quote, not its date); otherwise
    it needs approving again. Presentations stay on record: `quote accept` still
    refuses prices other than those last presented (unless --reprice), and the
    document presented shows the old validity, so render it again.

    Example:

      cpqctl quote redate Q-2026-0001 --dry-run

      cpqctl quote redate Q-2026-0001 --as-of 2027-01-15
    """
    from cpqctl.app.quotes import redate_quote

    result = redate_quote(common.workspace(repo, as_of), quote, dry_run=dry_run)
    emit_quote(format, result.data)
    if result.message:
        common.info(result.message)


@app.command("accept")
def accept(
    quote: Annotated[str, typer.Argument(click_type=completion.QUOTE, help="Quote ID.")],
    signed_by: Annotated[str, typer.Option("--signed-by", help="Who signed for the customer.")],
    signed_on: Annotated[
        str | None,
        typer.Option(
            "--signed-on",
            help="Signing date (default: --as-of; not after it, within the quote's validity).",
        ),
    ] = None,
    lock_prices: Annotated[
        bool,
        typer.Option(
            "--lock-prices",
            help="Record the accepted net prices as the account's contracted prices until the contract ends.",
        ),
    ] = False,
    reprice: Annotated[
        bool,
        typer.Option(
            "--reprice",
            help="Accept at today's prices even if they differ from the document last presented "
            "(`quote render`); the document is rendered again.",
        ),
    ] = False,
    format: ResultFormatOpt = "text",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Accept a quote: freeze its prices and digest, and create (or amend, or renew) the contract.

    Refused for an expired quote, one that needs approval (or whose approval
    is void: the quote changed since), and one that now prices differently
    from the document last rendered for the customer (E-PRICES-CHANGED, unless
    --reprice). All files are written together or not at all.

    Example:

      cpqctl quote accept Q-2026-0001 --signed-by "Anna Nowak" --signed-on 2026-12-20
    """
    from cpqctl.app.quotes import accept_quote

    signed = common.parse_date(signed_on, "signing date", "--signed-on") if signed_on else None
    ws = common.workspace(repo, as_of)
    result = accept_quote(ws, quote, signed_by=signed_by, signed_on=signed, lock_prices=lock_prices, reprice=reprice)
    data = {
        "quote": result.quote,
        "kind": result.kind,
        "contract": result.contract,
        "amendment": result.amendment,
        "written": list(result.written),
        "repriced": list(result.repriced),
        "document": str(result.document) if result.document else None,
    }
    common.done(format, data, result.message)


@app.command("render")
def render(
    quote: Annotated[str, typer.Argument(click_type=completion.QUOTE, help="Quote ID.")],
    format: DocFormatOpt = "pdf",
    output: OutputOpt = None,
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Render a quote document as Markdown or PDF (company locale; templates/ overrides the built-in ones).

    New business uses the `quote` template; an amendment quote the `amendment`
    template (what changes, from when, each line's prorated charge or credit);
    a renewal quote the `renewal` template (old versus new prices).

    Example:

      cpqctl quote render Q-2026-0001 --format pdf -o quote.pdf
    """
    from cpqctl.app.quotes import render_quote

    format = common.format_of_output(format, output)
    result = render_quote(common.workspace(repo, as_of), quote, fmt=format, output=output)
    if result.payload is not None:
        sys.stdout.buffer.write(result.payload)
    if result.message:
        common.info(result.message)


@app.command("list")
def list_(
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            "-s",
            click_type=click.Choice(["draft", "approved", "needs-approval", "expired", "accepted"]),
            help="Only quotes with this status on --as-of; repeatable.",
        ),
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", "-a", click_type=completion.ACCOUNT, help="Only this account's quotes.")
    ] = None,
    product: common.ProductFilterOpt = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """List quotes by ID with their status on --as-of, dates and totals.

    The status is the one `quote show` prints (drafts priced from today's
    catalog): draft, approved, needs-approval, expired or accepted.

    Example:

      cpqctl quote list --status draft --status needs-approval

      cpqctl quote list --account acme --format json

      cpqctl quote list --product SSO
    """
    from cpqctl.app.listing import list_quotes
    from cpqctl.render.output import emit

    result = list_quotes(common.workspace(repo, as_of), statuses=status or (), account=account, product=product)
    emit(
        format,
        result.data,
        ["quote", "kind", "account", "status", "start", "end", "valid_until", "net_total", "currency"],
        result.rows,
        title=f"Quotes on {result.as_of} ({len(result.rows)})",
        right=("net_total",),
    )
