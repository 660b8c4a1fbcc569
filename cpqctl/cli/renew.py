"""`cpqctl renew C | --due` and `cpqctl renewals [--by month]`: renewal quotes, the renewals due, the forecast."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import click
import typer

from cpqctl.cli import common, completion
from cpqctl.cli.common import AsOfOpt, FormatOpt, RepoOpt
from cpqctl.core.diagnostics import UsageError
from cpqctl.core.model import UPLIFT_BASES
from cpqctl.core.terms import RENEWAL_PRICING

WithinOpt = Annotated[
    str | None,
    typer.Option(
        "--within", metavar="DAYS", help="The window in days, 90 or 90d (default: cpq.toml [renewal] notice_days)."
    ),
]


def _uplift(text: str | None) -> Decimal | None:
    if text is None:
        return None
    from cpqctl.core.money import MoneyError, parse_percent

    try:
        return parse_percent(text if text.strip().endswith("%") else text + "%")
    except MoneyError:
        raise UsageError("E-USAGE", f"`--uplift {text}` is not a percentage", "e.g. --uplift 5%") from None


def renew(
    contract: Annotated[
        str | None, typer.Argument(click_type=completion.CONTRACT, help="The contract to renew (or --due).")
    ] = None,
    due: Annotated[
        bool,
        typer.Option(
            "--due", help="Create the missing renewal quotes of every contract ending within the notice window."
        ),
    ] = False,
    within: WithinOpt = None,
    pricing: Annotated[
        str | None,
        typer.Option(
            "--pricing",
            click_type=click.Choice(list(RENEWAL_PRICING)),
            help="Renewal pricing (default: contract, account, cpq.toml).",
        ),
    ] = None,
    uplift: Annotated[
        str | None, typer.Option("--uplift", metavar="P", help="Uplift, e.g. 5% (implies --pricing uplift).")
    ] = None,
    term: Annotated[int | None, typer.Option("--term", help="Renewal term in months.")] = None,
    uplift_basis: Annotated[
        str | None,
        typer.Option(
            "--uplift-basis",
            click_type=click.Choice(list(UPLIFT_BASES)),
            help="What the uplift applies to: last (the price on the last day) or ramp (the ramp's first price).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Regenerate a draft edited by hand.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the renewal quote; write nothing.")] = False,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Generate the renewal quote of a contract (a draft), or of every contract due.

    The quote starts the day after the contract ends and holds the renewable
    subscriptions active on its last day. Run again, it regenerates the draft
    in place (same ID) if the ledger changed; a draft edited by hand needs
    --force; an accepted renewal quote is never touched.

    Example:

      cpqctl renew C-2026-0001 --pricing uplift --uplift 5%

      cpqctl renew --due --as-of 2026-11-28
    """
    if due == bool(contract):
        raise UsageError("E-USAGE", "name a contract or pass --due (not both)", "cpqctl renew C-2026-0001")
    pct = _uplift(uplift)
    ws = common.workspace(repo, as_of)
    if due:
        from cpqctl.app.renew import renew_due
        from cpqctl.render.output import emit

        done = renew_due(
            ws,
            within=common.days(within),
            pricing=pricing,
            uplift=pct,
            term=term,
            force=force,
            dry_run=dry_run,
            basis=uplift_basis,
        )
        for note in done.skipped:
            common.info(note)
        emit(
            format,
            done.data,
            ["contract", "account", "quote", "action"],
            done.data["rows"],
            title=f"renewals due within {done.within} days of {done.as_of}",
        )
        if done.message:
            common.info(done.message)
        return
    from cpqctl.app.renew import renew as renew_contract
    from cpqctl.cli.quote import emit_quote

    result = renew_contract(
        ws, contract or "", pricing=pricing, uplift=pct, term=term, force=force, dry_run=dry_run, basis=uplift_basis
    )
    emit_quote(format, result.data)
    if result.message:
        common.info(result.message)


ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by",
        click_type=click.Choice(["month"]),
        help="month: the forecast, one row per calendar month (ARR ending, quoted, accepted, not quoted, at risk).",
    ),
]
MonthsOpt = Annotated[
    int | None, typer.Option("--months", metavar="N", help="With --by month: how many months (default 12).")
]
FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from", metavar="MONTH", help="With --by month: the first month, YYYY-MM (default: the month of --as-of)."
    ),
]


def renewals(
    within: Annotated[
        str | None,
        typer.Option(
            "--within",
            metavar="DAYS",
            help="The window in days, 90 or 90d (default: cpq.toml [renewal] notice_days); "
            "with --by month, the at-risk window (default 30).",
        ),
    ] = None,
    by: ByOpt = None,
    months: MonthsOpt = None,
    start: FromOpt = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Contracts ending within the window: ARR at stake and the renewal quote's status.

    With --by month, the renewal forecast instead: per calendar month, the
    fixed-term contracts ending in it, their ARR on the last day and how much
    of it is accepted (renewed), quoted (an open renewal quote), not yet
    quoted, and at risk (not quoted, ending within 30 days of --as-of).
    Totals in the company currency (converted with cpq.toml [fx]).

    Example:

      cpqctl renewals --within 120 --format json

      cpqctl renewals --by month --months 6 --as-of 2026-11-28
    """
    from cpqctl.render.output import emit

    if by is None and (months is not None or start is not None):
        raise UsageError("E-USAGE", "--months and --from go with --by month", "cpqctl renewals --by month --months 6")
    if by == "month":
        # a month (2026-11), a date (its month) or a period (2027q1: its first month)
        day = common.bound(start, "--from", as_of)
        first = day.replace(day=1) if day is not None else None
        risk = common.days(within)
        _forecast(
            format,
            common.workspace(repo, as_of),
            first,
            12 if months is None else months,
            30 if risk is None else risk,
        )
        return
    from cpqctl.app.renew import renewals_due

    result = renewals_due(common.workspace(repo, as_of), within=common.days(within))
    emit(
        format,
        result.data,
        ["contract", "account", "end", "arr", "currency", "renewal_quote", "quote_status"],
        result.rows,
        title=f"renewals due within {result.within} days of {result.as_of}",
        right=("arr",),
    )


def _forecast(format: str, ws, first: date | None, months: int, risk_days: int) -> None:
    """`renewals --by month`: the forecast per month, in the company currency (or per currency, as `report arr`)."""
    from cpqctl.app.renew import renewals_forecast
    from cpqctl.render.output import console, emit
    from cpqctl.views.renewals import MONTH_COLUMNS

    result = renewals_forecast(ws, first=first, months=months, risk_days=risk_days)
    data = result.data
    if result.note:
        common.info(f"cpqctl: note: {result.note}")
    title = (
        f"renewals by month {data['from']} → {data['to']} (as of {result.as_of}, at risk: not quoted, ending "
        f"within {risk_days} days)"
    )
    shown = data["rows"] if result.convertible else data["currencies"]
    if format != "table":
        emit(format, data, MONTH_COLUMNS, shown, title=title, right=MONTH_COLUMNS[2:])
        return
    footer = {"month": "total", "currency": result.currency, **data["total"]} if result.convertible else None
    emit("table", data, MONTH_COLUMNS, shown, title=title, right=MONTH_COLUMNS[2:], footer=footer)
    if result.convertible and result.currencies_in_use > 1:
        emit(
            "table",
            data,
            MONTH_COLUMNS,
            [r for r in data["currencies"] if r["contracts"]],
            title="Per currency",
            right=MONTH_COLUMNS[2:],
        )
    if data["contracts"]:
        emit(
            "table",
            data,
            ["contract", "account", "end", "currency", "arr", "stage", "at_risk"],
            [{**r, "at_risk": "yes" if r["at_risk"] else ""} for r in data["contracts"]],
            title="Contracts",
            right=("arr",),
        )
    else:
        console().print("No contract ends in these months.")


def register(app: typer.Typer) -> None:
    app.command("renew")(renew)
    app.command("renewals")(renewals)
