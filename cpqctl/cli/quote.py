"""`cpqctl quote new|show|render|approve|accept`."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Optional

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, DocFormatOpt, FormatOpt, OutputOpt, RepoOpt
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.terms import FREQUENCIES

app = common.group("quote", "Quotes: create, price, render, approve and accept.\n\nExample:\n\n  cpqctl quote new --account acme --start 2027-01-01 --line PRO-SEAT=50")

_LINE_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)=([0-9]+(?:\.[0-9]+)?)(?:@(?:([0-9]+(?:\.[0-9]+)?)%|([0-9]+(?:\.[0-9]+)?)))?")
FREQ = click.Choice(list(FREQUENCIES))


def parse_line(text: str) -> tuple[str, Decimal, Decimal | None, Decimal | None]:
    m = _LINE_RE.fullmatch(text.strip())
    if not m:
        raise UsageError("E-USAGE", f"`--line {text}` is not CODE=QTY, CODE=QTY@10% or CODE=QTY@5.00",
                       "e.g. --line PRO-SEAT=50 --line SSO=1@10%")
    code, qty, pct, amount = m.groups()
    return code, Decimal(qty), Decimal(pct) if pct else None, Decimal(amount) if amount else None


def emit_quote(fmt: str, data: dict) -> None:
    from cpqctl.render.output import console, emit

    cols = ["product", "quantity", "start", "end", "per", "list_unit_price", "net_unit_price", "prorate_multiplier",
            "net_total"]
    if fmt != "table":
        emit(fmt, data, cols, data["lines"], title=f"{data['quote']} ({data['status']})",
             right=("quantity", "list_unit_price", "net_unit_price", "prorate_multiplier", "net_total"))
        return
    out = console()
    out.print(f"[bold]{data['quote'] or '(dry run)'}[/bold] · {data['kind']} · {data['account']} · {data['status']}"
              f" · {data['start']} → {data['end'] or 'evergreen'} · {data['currency']}")
    rows = []
    for ln in data["lines"]:
        waterfall = " → ".join(f"{s['step']} {s['unit_price']}" for s in ln["steps"])
        rows.append({**ln, "waterfall": waterfall})
    emit("table", data, ["product", "quantity", "start", "end", "waterfall", "prorate_multiplier", "net_total"],
         rows, right=("quantity", "prorate_multiplier", "net_total"),
         footer={"product": "net / tax / gross",
                 "net_total": f"{data['net_total']}\n{data['tax_total']}\n{data['gross_total']}"})
    for reason in data.get("approval_reasons") or []:
        out.print(f"needs approval: {reason}")


def _quote(loaded, qid: str):
    return common.lookup(loaded.quotes, qid, "quote", "E-UNKNOWN-QUOTE", "quotes are files under quotes/")


@app.command("new")
def new(
    account: Annotated[str, typer.Option("--account", "-a", help="The account ID.")],
    start: Annotated[str, typer.Option("--start", help="First day of service, YYYY-MM-DD.")],
    line: Annotated[list[str], typer.Option("--line", "-l", help="CODE=QTY, CODE=QTY@10% (manual discount) or "
                                                               "CODE=QTY@5.00 (discount per unit); repeatable.")],
    term: Annotated[Optional[int], typer.Option("--term", help="Term in months (default 12).")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="Last day (wins over --term).")] = None,
    billing: Annotated[Optional[str], typer.Option("--billing", click_type=FREQ,
                                                   help="Billing frequency (default: cpq.toml [billing]).")] = None,
    evergreen: Annotated[bool, typer.Option("--evergreen", help="An evergreen contract: no end.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Price and print; write nothing.")] = False,
    format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None,
) -> None:
    """Create a new-business quote (a draft, priced now and whenever shown).

    The quote number is allocated under the repository lock.

    Example:

      cpqctl quote new --account acme --start 2027-01-01 --term 12 --line PRO-SEAT=50 --line SSO=1@10%
    """
    from cpqctl.core import quotes
    from cpqctl.core.model import Quote, QuoteLine, Source

    day = common.as_of(as_of)
    start_d = common.parse_date(start, "start date")
    end_d = common.parse_date(end, "end date") if end else None
    if evergreen and (term or end_d):
        raise UsageError("E-USAGE", "an evergreen quote has no term or end", "drop --term/--end")
    if term is not None and term <= 0:
        raise UsageError("E-USAGE", "--term is a positive number of months", "e.g. --term 12")
    parsed = [parse_line(x) for x in line]
    qlines = tuple(QuoteLine(code, qty, pct, amt, src=Source("--line", i + 1, 1))
                   for i, (code, qty, pct, amt) in enumerate(parsed))
    with common.writing(repo) as (root, store, loaded):
        if account not in loaded.accounts:
            from cpqctl.cli.account import get_account

            get_account(loaded, account)
        settings = loaded.settings
        draft = Quote(quote="(new)", account=account, date=day, lines=qlines, start=start_d,
                      term=None if (end_d or evergreen) else (term or 12), end=end_d, evergreen=evergreen,
                      billing_frequency=billing, src=Source("(command line)"))
        priced = quotes.price(loaded, draft)
        qid = None
        if not dry_run:
            from cpqctl.store import next_id

            qid = next_id(settings.numbering_quote, day.year, loaded.quotes)
            text = quotes.draft_text(qid, account, day, start_d, draft.term, end_d, billing, evergreen, parsed)
            with store.transaction() as tx:
                tx.create(f"quotes/{qid}.yaml", text)
        import dataclasses

        shown = dataclasses.replace(draft, quote=qid or "(dry run)")
        data = quotes.quote_json(shown, priced, quotes.status(shown, priced, settings, day), settings)
        data["quote"] = qid
    emit_quote(format, data)
    if qid:
        common.info(f"wrote quotes/{qid}.yaml")


@app.command("show")
def show(quote: Annotated[str, typer.Argument(help="Quote ID.")], format: FormatOpt = "table",
         as_of: AsOfOpt = None, repo: RepoOpt = None) -> None:
    """Show a priced quote with every step of the price waterfall.

    Drafts are re-priced from today's catalog; accepted quotes show their frozen prices.

    Example:

      cpqctl quote show Q-2026-0001 --format json
    """
    from cpqctl.core import quotes
    from cpqctl.load.repo import load_quote_context

    day = common.as_of(as_of)
    loaded, diags = load_quote_context(common.root(repo), quote)
    common.require_clean(diags)
    q = _quote(loaded, quote)
    priced = quotes.price(loaded, q)
    emit_quote(format, quotes.quote_json(q, priced, quotes.status(q, priced, loaded.settings, day), loaded.settings))


def _edit_status(text: str, new_status: str, insert: list[str]) -> str:
    """Set the top-level `status:` and insert lines after it, leaving every other line as it was."""
    lines = text.splitlines(keepends=True)
    for i, ln in enumerate(lines):
        if ln.startswith("status:"):
            lines[i:i + 1] = [f"status: {new_status}\n", *(x + "\n" for x in insert)]
            return "".join(lines)
    for i, ln in enumerate(lines):
        if ln.startswith("kind:") or ln.startswith("quote:"):
            j = i + 1
    lines[j:j] = [f"status: {new_status}\n", *(x + "\n" for x in insert)]
    return "".join(lines)


@app.command("approve")
def approve(quote: Annotated[str, typer.Argument(help="Quote ID.")],
            by: Annotated[str, typer.Option("--by", help="Who approves.")],
            as_of: AsOfOpt = None, repo: RepoOpt = None) -> None:
    """Approve a quote whose manual discount exceeds [approvals] max_discount.

    Example:

      cpqctl quote approve Q-2026-0003 --by "Jan Kowalski"
    """
    from cpqctl.store import sha256_file
    from cpqctl.formats.yamlout import flow

    day = common.as_of(as_of)
    with common.writing(repo) as (root, store, loaded):
        q = _quote(loaded, quote)
        if q.status == "accepted":
            raise CpqError("E-ACCEPTED", f"quote {quote} is already accepted", "nothing to approve", src=q.src)
        rel = q.src.file
        text = (root / rel).read_text(encoding="utf-8")
        new_text = _edit_status(text, "approved", [f"approved: {flow([('by', by), ('date', day)])}"]) \
            if q.approved is None else text
        with store.transaction() as tx:
            tx.write(rel, new_text, expect_sha256=sha256_file(root / rel))
    common.info(f"{quote} approved by {by} on {day}")


@app.command("accept")
def accept(
    quote: Annotated[str, typer.Argument(help="Quote ID.")],
    signed_by: Annotated[str, typer.Option("--signed-by", help="Who signed for the customer.")],
    signed_on: Annotated[Optional[str], typer.Option("--signed-on", help="Signing date (default: --as-of).")] = None,
    lock_prices: Annotated[bool, typer.Option("--lock-prices",
                                              help="Record the accepted net prices as the account's contracted "
                                                   "prices until the contract ends.")] = False,
    as_of: AsOfOpt = None, repo: RepoOpt = None,
) -> None:
    """Accept a quote: freeze its prices and digest, and create (or amend, or renew) the contract.

    Refused for an expired quote or one that needs approval. All files are
    written together or not at all.

    Example:

      cpqctl quote accept Q-2026-0001 --signed-by "Anna Nowak" --signed-on 2026-12-20
    """
    from cpqctl.app import acceptance
    day = common.as_of(as_of)
    signed = common.parse_date(signed_on, "signing date") if signed_on else day
    with common.writing(repo) as (root, store, loaded):
        q = _quote(loaded, quote)
        with store.transaction() as tx:
            msg = acceptance.accept(root, loaded, q, signed_by, signed, day, lock_prices, tx)
    common.info(msg)


@app.command("render")
def render(
    quote: Annotated[str, typer.Argument(help="Quote ID.")],
    format: DocFormatOpt = "pdf", output: OutputOpt = None,
    as_of: AsOfOpt = None, repo: RepoOpt = None,
) -> None:
    """Render a quote document as Markdown or PDF (company locale; templates/ overrides the built-in ones).

    New business uses the `quote` template; an amendment quote the `amendment`
    template (what changes, from when, each line's prorated charge or credit);
    a renewal quote the `renewal` template (old versus new prices).

    Example:

      cpqctl quote render Q-2026-0001 --format pdf -o quote.pdf
    """
    from cpqctl.views import documents
    from cpqctl.core import quotes
    from cpqctl.load.repo import load_quote_context

    day = common.as_of(as_of)
    root = common.root(repo)
    loaded, diags = load_quote_context(root, quote)
    common.require_clean(diags)
    q = _quote(loaded, quote)
    priced = quotes.price(loaded, q)
    data = documents.quote_data(loaded, q, priced, quotes.status(q, priced, loaded.settings, day), day)
    from cpqctl.app.documents import write_document

    wrote = write_document(root, documents.quote_template(q), q.quote, format, data, output, day)
    if wrote:
        common.info(f"wrote {wrote}")
