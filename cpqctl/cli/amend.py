"""`cpqctl amend C --effective D …`: an amendment quote of explicit, priced delta lines."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Optional

import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, FormatOpt, RepoOpt
from cpqctl.core.diagnostics import CpqError, UsageError

_CODE = r"([A-Za-z0-9][A-Za-z0-9._-]*)"
_QTY_RE = re.compile(_CODE + r"=(-?[0-9]+(?:\.[0-9]+)?)")
_PRICE_RE = re.compile(_CODE + r"=([0-9]+(?:\.[0-9]+)?)")


def _parse(option: str, text: str, pattern: re.Pattern) -> tuple[str, Decimal]:
    m = pattern.fullmatch(text.strip())
    if not m:
        raise UsageError("E-USAGE", f"`{option} {text}` is not CODE=NUMBER", f"e.g. {option} PRO-SEAT=60")
    return m[1], Decimal(m[2])


def _changes(set_: list[str], add: list[str], remove: list[str], reprice: list[str]):
    from cpqctl.core.amendments import Change
    from cpqctl.core.model import Source

    out = []
    for option, values, kind, pattern in (("--set", set_, "set", _QTY_RE), ("--add", add, "add", _PRICE_RE),
                                          ("--reprice", reprice, "reprice", _PRICE_RE)):
        for i, text in enumerate(values):
            code, value = _parse(option, text, pattern)
            out.append(Change(kind, code, value, Source(option, i + 1, 1)))
    for i, code in enumerate(remove):
        out.append(Change("remove", code.strip(), None, Source("--remove", i + 1, 1)))
    return out


def amend(
    contract: Annotated[str, typer.Argument(help="Contract ID.")],
    effective: Annotated[Optional[str], typer.Option(
        "--effective", help="First day of the change (of a cancel: the first day without service), YYYY-MM-DD. "
        "Optional with --extend-to (default: the day after the current end) and when cancelling an evergreen "
        "contract (default: the day after the current billing period).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="CODE=QTY: the new quantity (up-sell, "
                                                                    "decrease, or a new product); repeatable.")] = None,
    add: Annotated[Optional[list[str]], typer.Option("--add", help="CODE=QTY: units added (cross-sell); "
                                                                   "repeatable.")] = None,
    remove: Annotated[Optional[list[str]], typer.Option("--remove", help="CODE: quantity to 0; repeatable.")] = None,
    reprice: Annotated[Optional[list[str]], typer.Option("--reprice", help="CODE=PRICE: the old price ends, the "
                                                                           "new one starts; repeatable.")] = None,
    extend_to: Annotated[Optional[str], typer.Option("--extend-to", metavar="DATE", help="Move the contract end; "
                                                     "active lines continue at their prices (with the renewal "
                                                     "uplift when renewal pricing is uplift).")] = None,
    cancel: Annotated[bool, typer.Option("--cancel", help="Cancel the contract from --effective.")] = False,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why it is cancelled (with --cancel).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Price and print; write nothing.")] = False,
    format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None,
) -> None:
    """Amend a contract mid-term: an amendment quote of co-terminated delta lines.

    Owned products keep their signed prices (up-sell at the newest price,
    decreases newest first); new products are priced today. Accept the quote
    with `cpqctl quote accept` to append the amendment to the contract.

    Example:

      cpqctl amend C-2026-0001 --effective 2026-04-16 --set PRO-SEAT=60 --add SSO=1

      cpqctl amend C-2026-0001 --extend-to 2027-06-30

      cpqctl amend C-2026-0005 --cancel --reason "moving to a competitor"   # evergreen: end of period
    """
    import dataclasses

    from cpqctl.core import amendments, quotes
    from cpqctl.cli.quote import emit_quote
    from cpqctl.cli.contract import get_contract
    from cpqctl.core.model import Cancellation, Quote, Source
    from cpqctl.store import next_id

    day = common.as_of(as_of)
    new_end = common.parse_date(extend_to, "--extend-to date") if extend_to else None
    changes = _changes(set_ or [], add or [], remove or [], reprice or [])
    if cancel and new_end:
        raise UsageError("E-USAGE", "--cancel and --extend-to are opposites", "give one of them")
    if cancel and changes:
        raise UsageError("E-USAGE", "--cancel is an amendment of its own", "drop --set/--add/--remove/--reprice")
    if reason and not cancel:
        raise UsageError("E-USAGE", "--reason goes with --cancel", "add --cancel or drop --reason")
    if not cancel and not changes and not new_end:
        raise UsageError("E-USAGE", "nothing to amend", "give --set, --add, --remove, --reprice or --cancel")
    with common.writing(repo) as (root, store, loaded):
        c = get_contract(loaded, contract)
        eff = _effective(c, effective, new_end, cancel, day, loaded.settings)
        uplift = None
        if new_end is not None:
            from cpqctl.core.renewal import resolve_terms

            terms = resolve_terms(c, loaded.accounts[c.account], loaded.settings, term=1)
            uplift = terms.uplift if terms.pricing == "uplift" else None
        lines = amendments.plan(c, loaded.catalog, eff, changes, cancel, new_end, uplift)
        if not lines and not cancel:
            raise CpqError("E-NO-CHANGE", f"the changes leave {contract} as it is on {eff}",
                           "give a quantity or price that differs from the contract's")
        cancelled = (eff, reason or "") if cancel else None
        draft = Quote(quote="(dry run)", account=c.account, date=day, lines=tuple(lines), kind="amendment",
                      contract=c.contract, currency=c.currency, effective=eff, based_on=len(c.amendments),
                      end=new_end,
                      cancelled=Cancellation(*cancelled) if cancelled else None, src=Source("(command line)"))
        first = quotes.price(loaded, draft)  # cross-sells run the waterfall here
        explicit = amendments.explicit_lines(first)
        final = dataclasses.replace(draft, lines=tuple(explicit))
        priced = quotes.price(loaded, final)  # as `quote show` will price the file
        qid = None
        if not dry_run:
            qid = next_id(loaded.settings.numbering_quote, day.year, loaded.quotes)
            text = amendments.quote_text(qid, c.account, c.contract, c.currency, day, eff, len(c.amendments),
                                         explicit, cancelled, new_end)
            with store.transaction() as tx:
                tx.create(f"quotes/{qid}.yaml", text)
            final = dataclasses.replace(final, quote=qid)
        data = quotes.quote_json(final, priced, quotes.status(final, priced, loaded.settings, day), loaded.settings)
        data["quote"] = qid
    emit_quote(format, data)
    if qid:
        common.info(f"wrote quotes/{qid}.yaml (accept it with `cpqctl quote accept {qid} --signed-by NAME`)")


def _effective(c, effective: str | None, new_end, cancel: bool, day, settings):
    """--effective, or its default: after the current end (extension), after the billing period (evergreen cancel)."""
    from cpqctl.core import ledger
    if effective:
        return common.parse_date(effective, "effective date")
    if new_end is not None:
        return ledger.current_end(c) + timedelta(days=1)
    if cancel and c.evergreen:
        from cpqctl.core.terms import FREQUENCY_MONTHS
        from cpqctl.core.proration import period_end

        months = FREQUENCY_MONTHS[c.billing_frequency or settings.billing_frequency]
        return period_end(c.start, months, max(day, c.start)) + timedelta(days=1)
    raise UsageError("E-USAGE", "--effective is required", "e.g. --effective 2026-04-16")


def register(app: typer.Typer) -> None:
    app.command("amend")(amend)
