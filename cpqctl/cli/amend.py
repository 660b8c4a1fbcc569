"""`cpqctl amend C --effective D …`: an amendment quote of explicit, priced delta lines."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

import click
import typer

from cpqctl.cli import common, completion
from cpqctl.cli.common import AsOfOpt, FormatOpt, RepoOpt
from cpqctl.core.diagnostics import UsageError
from cpqctl.core.terms import PERIODIC_FREQUENCIES

_CODE = r"([A-Za-z0-9][A-Za-z0-9._-]*)"
_QTY_RE = re.compile(_CODE + r"=(-?[0-9]+(?:\.[0-9]+)?)")
_PRICE_RE = re.compile(_CODE + r"=([0-9]+(?:\.[0-9]+)?)")


def _parse(option: str, text: str, pattern: re.Pattern) -> tuple[str, Decimal]:
    m = pattern.fullmatch(text.strip())
    if not m:
        raise UsageError("E-USAGE", f"`{option} {text}` is not CODE=NUMBER", f"e.g. {option} PRO-SEAT=60")
    from cpqctl.load.schema import MAX_MONEY, MAX_QUANTITY

    value = Decimal(m[2])
    bound = MAX_MONEY if pattern is _PRICE_RE else MAX_QUANTITY
    if abs(value) >= bound:
        raise UsageError(
            "E-RANGE", f"`{option} {text}`: {m[2]} is not less than {bound:,}", "check the number (a typo?)"
        )
    return m[1], value


def _changes(set_: list[str], add: list[str], remove: list[str], reprice: list[str]):
    from cpqctl.core.amendments import Change
    from cpqctl.core.model import Source

    out = []
    for option, values, kind, pattern in (
        ("--set", set_, "set", _QTY_RE),
        ("--add", add, "add", _PRICE_RE),
        ("--reprice", reprice, "reprice", _PRICE_RE),
    ):
        for i, text in enumerate(values):
            code, value = _parse(option, text, pattern)
            out.append(Change(kind, code, value, Source(option, i + 1, 1)))
    for i, code in enumerate(remove):
        out.append(Change("remove", code.strip(), None, Source("--remove", i + 1, 1)))
    return out


def amend(
    contract: Annotated[str, typer.Argument(click_type=completion.CONTRACT, help="Contract ID.")],
    effective: Annotated[
        str | None,
        typer.Option(
            "--effective",
            help="First day of the change (of a cancel: the first day without service), YYYY-MM-DD. "
            "Optional with --extend-to (default: the day after the current end) and when cancelling an evergreen "
            "contract (default: the day after the current billing period).",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            click_type=completion.LINE,
            help="CODE=QTY: the new quantity (up-sell, decrease, or a new product); repeatable.",
        ),
    ] = None,
    add: Annotated[
        list[str] | None,
        typer.Option("--add", click_type=completion.LINE, help="CODE=QTY: units added (cross-sell); repeatable."),
    ] = None,
    remove: Annotated[
        list[str] | None,
        typer.Option("--remove", click_type=completion.PRODUCT, help="CODE: quantity to 0; repeatable."),
    ] = None,
    reprice: Annotated[
        list[str] | None,
        typer.Option(
            "--reprice",
            click_type=completion.LINE,
            help="CODE=PRICE: the old price ends, the new one starts; repeatable.",
        ),
    ] = None,
    extend_to: Annotated[
        str | None,
        typer.Option(
            "--extend-to",
            metavar="DATE",
            help="Move the contract end; "
            "active lines continue at their prices (with the renewal "
            "uplift when renewal pricing is uplift).",
        ),
    ] = None,
    cancel: Annotated[bool, typer.Option("--cancel", help="Cancel the contract from --effective.")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it is cancelled (with --cancel).")] = None,
    rebase: Annotated[
        str | None,
        typer.Option(
            "--rebase",
            metavar="QUOTE",
            click_type=completion.QUOTE,
            help="After a merge: the amendment quote that restores what accepted amendment QUOTE meant on the "
            "merged ledger (alone; see docs/teamwork.md).",
        ),
    ] = None,
    billing: Annotated[
        str | None,
        typer.Option(
            "--billing",
            metavar="FREQUENCY",
            click_type=click.Choice(PERIODIC_FREQUENCIES),
            help="Change the billing frequency from --effective on (monthly, quarterly, triannual, semiannual, "
            "annual): the period holding it is cut, a prorated stub runs to the new period's end "
            "(docs/billing.md).",
        ),
    ] = None,
    new_term: Annotated[
        int | None,
        typer.Option(
            "--new-term",
            metavar="MONTHS",
            help="Start a new term on --effective instead of co-terminating: the contract ends MONTHS later and "
            "its billing periods count from --effective (docs/billing.md).",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Price and print; write nothing.")] = False,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Amend a contract mid-term: an amendment quote of co-terminated delta lines.

    Owned products keep their signed prices (up-sell at the newest price,
    decreases newest first); new products are priced today. Accept the quote
    with `cpqctl quote accept` to append the amendment to the contract.

    Example:

      cpqctl amend C-2026-0001 --effective 2026-04-16 --set PRO-SEAT=60 --add SSO=1

      cpqctl amend C-2026-0001 --extend-to 2027-06-30

      cpqctl amend C-2026-0001 --effective 2026-08-12 --billing quarterly

      cpqctl amend C-2026-0001 --effective 2026-08-12 --new-term 12 --set PRO-SEAT=80

      cpqctl amend C-2026-0005 --cancel --reason "moving to a competitor"   # evergreen: end of period

      cpqctl amend C-2026-0001 --rebase Q-2027-9HQ4-0001   # after a merge: what that amendment meant
    """
    from cpqctl.app.amend import amend as amend_contract
    from cpqctl.cli.quote import emit_quote

    if rebase is not None:
        if effective or set_ or add or remove or reprice or extend_to or cancel or reason or billing or new_term:
            raise UsageError(
                "E-USAGE", "--rebase is an amendment of its own", "drop --effective/--set/--add/--remove/--cancel…"
            )
        from cpqctl.app.amend import rebase as rebase_amendment

        result = rebase_amendment(common.workspace(repo, as_of), contract, rebase, dry_run=dry_run)
        emit_quote(format, result.data)
        if result.message:
            common.info(result.message)
        return

    new_end = common.parse_date(extend_to, "--extend-to date", "--extend-to") if extend_to else None
    changes = _changes(set_ or [], add or [], remove or [], reprice or [])
    eff = common.parse_date(effective, "effective date", "--effective") if effective else None
    result = amend_contract(
        common.workspace(repo, as_of),
        contract,
        effective=eff,
        changes=changes,
        extend_to=new_end,
        cancel=cancel,
        reason=reason,
        billing=billing,
        new_term=new_term,
        dry_run=dry_run,
    )
    emit_quote(format, result.data)
    if result.message:
        common.info(result.message)


def register(app: typer.Typer) -> None:
    app.command("amend")(amend)
