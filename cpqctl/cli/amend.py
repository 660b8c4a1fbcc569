"""`cpqctl amend C --effective D …`: an amendment quote of explicit, priced delta lines."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Optional

import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, FormatOpt, RepoOpt
from cpqctl.diagnostics import CpqError

_CODE = r"([A-Za-z0-9][A-Za-z0-9._-]*)"
_QTY_RE = re.compile(_CODE + r"=(-?[0-9]+(?:\.[0-9]+)?)")
_PRICE_RE = re.compile(_CODE + r"=([0-9]+(?:\.[0-9]+)?)")


def _parse(option: str, text: str, pattern: re.Pattern) -> tuple[str, Decimal]:
    m = pattern.fullmatch(text.strip())
    if not m:
        raise CpqError("E-USAGE", f"`{option} {text}` is not CODE=NUMBER", f"e.g. {option} PRO-SEAT=60", exit_code=2)
    return m[1], Decimal(m[2])


def _changes(set_: list[str], add: list[str], remove: list[str], reprice: list[str]):
    from cpqctl.amendments import Change
    from cpqctl.model import Source

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
    effective: Annotated[str, typer.Option("--effective", help="First day of the change (of a cancel: the first "
                                                                "day without service), YYYY-MM-DD.")],
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="CODE=QTY: the new quantity (up-sell, "
                                                                    "decrease, or a new product); repeatable.")] = None,
    add: Annotated[Optional[list[str]], typer.Option("--add", help="CODE=QTY: units added (cross-sell); "
                                                                   "repeatable.")] = None,
    remove: Annotated[Optional[list[str]], typer.Option("--remove", help="CODE: quantity to 0; repeatable.")] = None,
    reprice: Annotated[Optional[list[str]], typer.Option("--reprice", help="CODE=PRICE: the old price ends, the "
                                                                           "new one starts; repeatable.")] = None,
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
    """
    import dataclasses

    from cpqctl import amendments, quotes
    from cpqctl.cli.quote import emit_quote
    from cpqctl.cli.contract import get_contract
    from cpqctl.model import Cancellation, Quote, Source
    from cpqctl.store import next_id

    day = common.as_of(as_of)
    eff = common.parse_date(effective, "effective date")
    changes = _changes(set_ or [], add or [], remove or [], reprice or [])
    if cancel and changes:
        raise CpqError("E-USAGE", "--cancel is an amendment of its own", "drop --set/--add/--remove/--reprice",
                       exit_code=2)
    if reason and not cancel:
        raise CpqError("E-USAGE", "--reason goes with --cancel", "add --cancel or drop --reason", exit_code=2)
    if not cancel and not changes:
        raise CpqError("E-USAGE", "nothing to amend", "give --set, --add, --remove, --reprice or --cancel",
                       exit_code=2)
    with common.writing(repo) as (root, store, loaded):
        c = get_contract(loaded, contract)
        lines = amendments.plan(c, loaded.catalog, eff, changes, cancel)
        if not lines and not cancel:
            raise CpqError("E-NO-CHANGE", f"the changes leave {contract} as it is on {eff}",
                           "give a quantity or price that differs from the contract's", exit_code=1)
        cancelled = (eff, reason or "") if cancel else None
        draft = Quote(quote="(dry run)", account=c.account, date=day, lines=tuple(lines), kind="amendment",
                      contract=c.contract, currency=c.currency, effective=eff, based_on=len(c.amendments),
                      cancelled=Cancellation(*cancelled) if cancelled else None, src=Source("(command line)"))
        first = quotes.price(loaded, draft)  # cross-sells run the waterfall here
        explicit = amendments.explicit_lines(first)
        final = dataclasses.replace(draft, lines=tuple(explicit))
        priced = quotes.price(loaded, final)  # as `quote show` will price the file
        qid = None
        if not dry_run:
            qid = next_id(loaded.settings.numbering_quote, day.year, loaded.quotes)
            text = amendments.quote_text(qid, c.account, c.contract, c.currency, day, eff, len(c.amendments),
                                         explicit, cancelled)
            with store.transaction() as tx:
                tx.create(f"quotes/{qid}.yaml", text)
            final = dataclasses.replace(final, quote=qid)
        data = quotes.quote_json(final, priced, quotes.status(final, priced, loaded.settings, day), loaded.settings)
        data["quote"] = qid
    emit_quote(format, data)
    if qid:
        common.info(f"wrote quotes/{qid}.yaml (accept it with `cpqctl quote accept {qid} --signed-by NAME`)")


def register(app: typer.Typer) -> None:
    app.command("amend")(amend)
