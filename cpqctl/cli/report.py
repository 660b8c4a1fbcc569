"""`cpqctl report arr | mrr | movements | ltv | board`: the SaaS metrics of SPEC §5, computed by cpqctl.core.metrics.

Pictures: on a terminal, `report board` and `report movements --by month`
(table format) draw their charts in block characters under the tables
(cpqctl.render.charts); piped, or in json/csv/md, only the numbers are printed. The
board documents (`report board --format md|pdf`) carry the same charts as SVG.

Periods (-p/--period, cpqctl.core.periods) and the filters (--account,
--product, --family: repeatable, one name each) are the same on every report;
what a period means for each report is in its help.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import click
import typer

from cpqctl.cli import common, completion
from cpqctl.cli.common import AsOfOpt, FormatOpt, PeriodOpt, RepoOpt
from cpqctl.core.diagnostics import UsageError

app = common.group(
    "report",
    "Metrics: ARR, MRR, MRR movements, LTV, the board report.\n\n"
    "Every report takes -p/--period (2027q1, 2027-03, 2027, 2027-03-15, last-month, this-quarter, "
    "last-year, FROM..TO, …; relative forms count from --as-of) and the filters --account ID, "
    "--product CODE and --family NAME (repeat an option for more names: one of them matches; "
    "different options: all must).\n\n"
    "Example:\n\n  cpqctl report arr --as-of 2026-11-28\n\n"
    "  cpqctl report movements --from 2026-01-01 --to 2026-11-01\n\n"
    "  cpqctl report movements --period 2026q3 --family License\n\n"
    "  cpqctl report board --format pdf --as-of 2026-12-31",
)

ByOpt = Annotated[
    str,
    typer.Option(
        "--by",
        help="One row per account, product or family.",
        click_type=click.Choice(["account", "product", "family"]),
    ),
]


MAX_MONTHS = 120  # the longest board: ten years of months

AccountFilter = Annotated[
    list[str] | None,
    typer.Option(
        "--account",
        metavar="ID",
        click_type=completion.ACCOUNT,
        show_default=False,
        help="Count only this account's contracts; repeat for more (--account acme --account globex).",
    ),
]
ProductFilter = Annotated[
    list[str] | None,
    typer.Option(
        "--product",
        metavar="CODE",
        click_type=completion.PRODUCT,
        show_default=False,
        help="Count only the lines of this product; repeat for more.",
    ),
]
FamilyFilter = Annotated[
    list[str] | None,
    typer.Option(
        "--family",
        metavar="NAME",
        click_type=completion.FAMILY,
        show_default=False,
        help="Count only the lines of this product family (as --by family names it); repeat for more.",
    ),
]


def _filters(account: list[str] | None, product: list[str] | None, family: list[str] | None) -> dict:
    """The filter options as the use cases take them."""
    return {"accounts": tuple(account or ()), "products": tuple(product or ()), "families": tuple(family or ())}


def _scope_note(data: dict) -> str:
    """`` (account acme; family License)`` for a filtered report's title, else nothing."""
    f = data.get("filters")
    if not f:
        return ""
    return " (" + "; ".join(f"{k} {', '.join(v)}" for k, v in f.items() if v) + ")"


def _on_day(period: str | None, as_of: str | None):
    """The day an "on a date" report is on: the last day of --period, else --as-of (None: the workspace's day)."""
    return common.period(period, as_of).end if period is not None else None


def register(root: typer.Typer) -> None:
    root.add_typer(app)


def _warn(result) -> None:
    if result.warning:
        common.info(f"cpqctl: warning: {result.warning}")


def _arr(which: str, by: str, format: str, as_of: str | None, repo, period: str | None, filters: dict) -> None:
    from cpqctl.app import reports
    from cpqctl.render.output import console, emit

    day = _on_day(period, as_of)
    result = reports.arr(common.workspace(repo, as_of), by=by, as_of=day, **filters)
    _warn(result)
    data, day = result.data, result.as_of
    scope = _scope_note(data)
    if data["note"]:
        common.info(f"cpqctl: note: {data['note']}")
    if format != "table":
        emit(
            format,
            data,
            [by, "currency", "mrr", "arr"],
            data["rows"],
            title=f"{which.upper()} on {day}{scope}",
            right=("mrr", "arr"),
        )
        return
    emit(
        "table",
        data,
        [by, "currency", which],
        data["rows"],
        title=f"{which.upper()} by {by} on {day}{scope}",
        right=(which,),
    )
    named = any(c.get("fx_source") for c in data["currencies"])  # the rate each currency is converted at
    cols = ["currency", which, "fx_rate", "fx_source"] if named else ["currency", which]
    emit("table", data, cols, data["currencies"], title="Per currency", right=(which, "fx_rate"))
    if data[which] is not None:
        console().print(f"Total {which.upper()}: {data[which]} {data['currency']}")


def arr(
    by: ByOpt = "account",
    period: PeriodOpt = None,
    account: AccountFilter = None,
    product: ProductFilter = None,
    family: FamilyFilter = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Annual recurring revenue on --as-of (12 × MRR), per account, product or family.

    Totals per currency and in the company currency (converted with cpq.toml
    [fx]). One-time lines and contracts not yet started do not count;
    evergreen contracts do.

    --period P: the ARR on P's last day (2026q3: on 2026-09-30), the day
    printed and in the JSON's "as_of"; --as-of only resolves relative forms
    (last-quarter). --account, --product and --family (each repeatable)
    count only the matching lines: the rows, per-currency totals and total
    are theirs, and the JSON gains a "filters" key.

    Example:

      cpqctl report arr --as-of 2026-11-28

      cpqctl report arr --by family --format json

      cpqctl report arr --period last-quarter --as-of 2026-11-28 --by product --family License
    """
    _arr("arr", by, format, as_of, repo, period, _filters(account, product, family))


def mrr(
    by: ByOpt = "account",
    period: PeriodOpt = None,
    account: AccountFilter = None,
    product: ProductFilter = None,
    family: FamilyFilter = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Monthly recurring revenue on --as-of, per account, product or family.

    --period and the filters as for `report arr`: the MRR on the period's
    last day, of the matching lines.

    Example:

      cpqctl report mrr --by product --as-of 2026-06-30

      cpqctl report mrr --period 2026-06 --account acme --account hooli
    """
    _arr("mrr", by, format, as_of, repo, period, _filters(account, product, family))


def _on_terminal() -> bool:
    """Charts are for people: drawn only when stdout is a terminal (a pipe or a file gets the tables)."""
    return sys.stdout.isatty()


def movements(
    start: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="DATE", show_default=False, help="The first date (MRR at its start); or --period."
        ),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", metavar="DATE", show_default=False, help="The second date; or --period.")
    ] = None,
    period: PeriodOpt = None,
    account: AccountFilter = None,
    product: ProductFilter = None,
    family: FamilyFilter = None,
    detail: Annotated[bool, typer.Option("--detail", help="One row per account that moved.")] = False,
    by: Annotated[
        str | None,
        typer.Option(
            "--by", help="month: one row per calendar month of the range.", click_type=click.Choice(["month"])
        ),
    ] = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """MRR movements between two dates: new, expansion, contraction, churn, reactivation, NRR and GRR.

    Each account's MRR on --from is compared with its MRR on --to (in the
    company currency); the movements reconcile: start + new + expansion +
    reactivation − contraction − churn = end.

    --by month splits the range at each month end (--from → the end of its
    month → … → --to): one row per month, each reconciling on its own and
    starting where the month before ended. Their net changes add up to the
    whole range's; the kinds may not (an account new in February and gone in
    November is new and churn month by month, nothing from end to end). The
    JSON keeps the whole-range figures at the top and adds "months". On a
    terminal a waterfall of the months summed is drawn under the table.

    --period P instead of --from and --to: the movements within P, from the
    MRR on the day before P's first day to the MRR on its last day (so a
    contract starting on the 1st is new business of the period, as the board
    report counts it): --period 2026q3 is --from 2026-06-30 --to 2026-09-30,
    and "from" in the JSON is that day before. --period with --from or --to
    is refused (E-USAGE); relative forms (last-quarter) count from --as-of,
    the only time this report reads it. --account, --product and --family
    (each repeatable) count only the matching lines: an account that drops
    the only product asked about churns from it; the JSON gains "filters".

    Example:

      cpqctl report movements --from 2026-01-01 --to 2026-11-01

      cpqctl report movements --from 2026-01-01 --to 2026-11-01 --detail --format csv

      cpqctl report movements --from 2026-01-01 --to 2026-12-31 --by month

      cpqctl report movements --period 2026q3 --product SSO --detail
    """
    from cpqctl.app import reports
    from cpqctl.app.workspace import Workspace
    from cpqctl.render.output import console, emit

    if period is not None:
        if start is not None or end is not None:
            raise UsageError(
                "E-USAGE",
                "--period and --from/--to both give the dates",
                "give --period, or --from and --to (--period 2026q3 is --from 2026-06-30 --to 2026-09-30)",
            )
        p = common.period(period, as_of)
        d0, d1 = p.opening, p.end
    elif start is None or end is None:
        raise UsageError(
            "E-USAGE",
            f"`report movements` needs {'--to' if start is not None else '--from'} (or --period)",
            "e.g. --period 2026q3, or --from 2026-01-01 --to 2026-11-01",
        )
    else:
        # each a date, or a period: --from 2026q3 opens on its eve (2026-06-30), --to 2026q3 is its last day
        d0 = common.bound(start, "--from", as_of, opening=True)
        d1 = common.bound(end, "--to", as_of, last=True)
    ws = Workspace(common.root(repo), meter=common.progress)  # its dates are given; --as-of only resolves --period
    filters = _filters(account, product, family)
    if by == "month":
        _movements_by_month(reports.movements_by_month(ws, start=d0, end=d1, **filters), detail, format)
        return
    result = reports.movements(ws, start=d0, end=d1, **filters)
    _warn(result)
    data, summary = result.data, result.summary
    scope = _scope_note(data)
    if format != "table":
        if detail or format == "json":
            emit(
                format,
                data,
                ["account", "movement", "mrr_from", "mrr_to", "delta"],
                data["rows"],
                title=f"MRR movements {d0} → {d1}{scope}",
                right=("mrr_from", "mrr_to", "delta"),
            )
        else:
            emit(
                format,
                data,
                ["", "amount"],
                summary,
                title=f"MRR movements {d0} → {d1} ({data['currency']}){scope}",
                right=("amount",),
            )
        return
    console().print(f"MRR movements {d0} → {d1} ({data['currency']}){scope}")
    emit("table", data, ["", "amount"], summary, right=("amount",))
    if detail:
        emit(
            "table",
            data,
            ["account", "movement", "mrr_from", "mrr_to", "delta"],
            data["rows"],
            title="Accounts",
            right=("mrr_from", "mrr_to", "delta"),
        )
    elif data["rows"]:
        console().print(f"{len(data['rows'])} account(s) moved; --detail lists them")


def _movements_by_month(result, detail: bool, format: str) -> None:
    """`report movements --by month`: the whole-range view plus one row per month (and per account moved)."""
    from cpqctl.render import charts
    from cpqctl.render.output import console, emit
    from cpqctl.views.reports import MOVE_COLUMNS

    _warn(result)
    data, rows, moves, months = result.data, result.rows, result.moves, result.months
    d0, d1 = result.start, result.end
    cc = data["currency"]
    title = f"MRR movements by month {d0} → {d1} ({cc}){_scope_note(data)}"
    if format != "table":
        if detail and format != "json":
            emit(
                format,
                data,
                ["month", "account", "movement", "mrr_from", "mrr_to", "delta"],
                moves,
                title=title,
                right=("mrr_from", "mrr_to", "delta"),
            )
        else:
            emit(format, data, ["month", "from", "to", *MOVE_COLUMNS], rows, title=title, right=tuple(MOVE_COLUMNS))
        return
    shown = [c for c in MOVE_COLUMNS if c != "mrr_start"]  # each month starts where the row above ended
    emit(
        "table",
        data,
        ["month", *shown],
        rows,
        title=f"{title}, MRR at start {data['mrr_start']}",
        right=tuple(shown),
        footer=result.footer,
    )
    if detail:
        emit(
            "table",
            data,
            ["month", "account", "movement", "mrr_from", "mrr_to", "delta"],
            moves,
            title="Accounts",
            right=("mrr_from", "mrr_to", "delta"),
        )
    if _on_terminal():
        console().print(charts.movements_chart_rich(months[0].mrr_start, result.totals, months[-1].mrr_end, cc))


def _cac(text: str | None) -> Decimal | None:
    if text is None:
        return None
    from cpqctl.core.money import D, MoneyError

    try:
        value = D(text)
    except MoneyError:
        raise UsageError("E-USAGE", f"`--cac {text}` is not an amount", "e.g. --cac 12000.00") from None
    if value <= 0:
        raise UsageError("E-USAGE", "--cac is a positive amount", "e.g. --cac 12000.00")
    return value


def ltv(
    cac: Annotated[
        str | None,
        typer.Option("--cac", metavar="AMOUNT", help="Customer acquisition cost (default: cpq.toml [metrics] cac)."),
    ] = None,
    period: PeriodOpt = None,
    account: AccountFilter = None,
    product: ProductFilter = None,
    family: FamilyFilter = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Customer lifetime value: ARPA ÷ monthly logo churn (trailing 6 months), with LTV:CAC and CAC payback.

    The rule of thumb (LTV at least 3 × CAC, CAC paid back within 12 months)
    is shown as pass/fail when a CAC is known.

    --period P: the LTV on P's last day (its trailing 6 months end there).
    --account, --product and --family (each repeatable) count only the
    matching lines: ARPA, churn and LTV of those accounts or products (a
    product's LTV: its MRR per account holding it ÷ the rate accounts drop
    it); the CAC is the one given or cpq.toml's, never filtered.

    Example:

      cpqctl report ltv --as-of 2026-11-28

      cpqctl report ltv --cac 15000.00 --format json

      cpqctl report ltv --period 2026q3 --family License
    """
    from cpqctl.app import reports
    from cpqctl.render.output import emit

    day = _on_day(period, as_of) or common.as_of(as_of)
    amount = _cac(cac)
    result = reports.ltv(common.workspace(repo, as_of), cac=amount, as_of=day, **_filters(account, product, family))
    _warn(result)
    data = result.data
    title = f"LTV on {day} ({data['currency']}){_scope_note(data)}"
    emit(format, data, ["metric", "value"], result.rows, title=title, right=("value",))


def board(
    months: Annotated[
        int | None,
        typer.Option(
            "--months",
            metavar="N",
            min=1,
            max=MAX_MONTHS,
            show_default=False,
            help="How many months, the last one ending on --as-of (default 12).",
        ),
    ] = None,
    period: PeriodOpt = None,
    account: AccountFilter = None,
    product: ProductFilter = None,
    family: FamilyFilter = None,
    top: Annotated[
        int, typer.Option("--top", metavar="N", min=0, max=100, help="How many of the largest accounts to list.")
    ] = 5,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            click_type=click.Choice(["table", "json", "csv", "md", "pdf"]),
            help="table, json or csv (the month rows) print; md and pdf write the report.",
        ),
    ] = "table",
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Output file (md/pdf default out/board-<AS-OF>.<ext>; the format from its extension when "
            "--format is not given); - for stdout.",
        ),
    ] = None,
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """The board report: ARR by month, MRR movements, NRR/GRR, LTV and the largest accounts, with charts.

    Covers the --months calendar months ending on --as-of (the last one up
    to --as-of): ARR at each month end (as `report arr` prints it), the MRR
    movements of each month (as `report movements --by month`) and their
    waterfall, NRR and GRR from the day before the period to --as-of, `report
    ltv`, and the --top accounts by ARR.

    --format table prints the figures, and on a terminal an ARR bar chart
    and the movements waterfall in block characters; json prints every
    figure; csv the month rows. --format md writes the report as Markdown
    with its two charts as SVG files next to it (board-<AS-OF>.md,
    board-<AS-OF>-arr.svg, board-<AS-OF>-movements.svg: relative images
    render on GitHub and GitLab, which refuse data: URIs); with -o - the
    Markdown goes to stdout with the charts inlined as data: URIs. --format
    pdf typesets the same report with the charts drawn by Typst.

    --period P instead of --months: the calendar months of P, the last one
    ending on P's last day (2026q3: July to September, as of 2026-09-30;
    2026..2026-11-28: January to November 28). P starts on a month's first
    day; --period with --months is refused (E-USAGE). --account, --product
    and --family (each repeatable) count only the matching lines, for table,
    json and csv; the documents (md, pdf) are the whole company's and refuse
    them.

    Example:

      cpqctl report board --as-of 2026-12-31

      cpqctl report board --format pdf --as-of 2026-12-31 -o board.pdf

      cpqctl report board --format md --months 6 -o reports/board.md

      cpqctl report board --period 2026q3 --family License --format json
    """
    from cpqctl.app import reports

    day, months = _board_months(period, months, as_of)
    filters = _filters(account, product, family)
    ws = common.workspace(repo, as_of)
    format = common.format_of_output(format, output)
    if output is not None and str(output) != "-" and format not in ("md", "pdf"):
        with common.stdout_to(output):  # the figures printed, written to the file
            _board_figures(ws, format, months, top, day, filters)
        return
    if format in ("md", "pdf"):
        if any(filters.values()):
            raise UsageError(
                "E-USAGE",
                "the board document covers the whole company: --account, --product and --family are for "
                "--format table, json or csv",
                "drop the filters, or print the filtered figures with --format table|json|csv",
            )
        doc = reports.write_board(ws, fmt=format, output=output, months=months, top=top, as_of=day)
        if doc.payload is not None:
            sys.stdout.buffer.write(doc.payload)
        for path in doc.written:
            common.info(f"wrote {path}")
        return
    _board_figures(ws, format, months, top, day, filters)


def _board_figures(ws, format: str, months: int, top: int, day, filters: dict) -> None:
    """The board's figures on stdout: a table (with charts on a terminal), json or csv."""
    from cpqctl.app import reports
    from cpqctl.render.output import emit
    from cpqctl.views.reports import MOVE_COLUMNS

    result = reports.board(ws, months=months, top=top, as_of=day, **filters)
    _warn(result)
    data = result.data
    columns = ["month", "to", "arr", *MOVE_COLUMNS]
    if format != "table":
        emit(
            format,
            data,
            columns,
            data["months"],
            title=f"Board {data['from']} → {data['to']}{_scope_note(data)}",
            right=tuple(columns[2:]),
        )
        return
    _board_table(result.board, data, _on_terminal())


def _board_months(period: str | None, months: int | None, as_of: str | None):
    """The board's last day (None: --as-of) and its number of months, from --period or --months."""
    from cpqctl.core.board import MONTHS

    if period is None:
        return None, months if months is not None else MONTHS
    if months is not None:
        raise UsageError(
            "E-USAGE",
            "--period and --months both give the board's months",
            "give one: --period 2026q3, or --months 3 --as-of 2026-09-30",
        )
    p = common.period(period, as_of)
    if p.start.day != 1:
        raise UsageError(
            "E-USAGE",
            f"the board covers whole calendar months: --period {period} starts on {p.start}",
            f"start the period on a month's first day, e.g. --period {p.start:%Y-%m}..{p.end}",
        )
    if p.months > MAX_MONTHS:
        raise UsageError(
            "E-USAGE",
            f"--period {period} covers {p.months} months; the board shows at most {MAX_MONTHS}",
            "give a shorter period, e.g. --period this-year",
        )
    return p.end, p.months


def _board_table(b, data: dict, pictures: bool) -> None:
    """The board on screen: headline, (ARR bars), month table, (waterfall), LTV, largest accounts."""
    from cpqctl.render import charts
    from cpqctl.render.output import console, emit

    out = console()
    cc = data["currency"]
    out.print(f"[bold]Board report[/bold] {data['from']} → {data['to']} ({cc}){_scope_note(data)}")
    out.print(
        f"ARR {data['arr']} (from {data['arr_start']}, growth {data['arr_growth'] or '—'}) · "
        f"MRR {data['mrr_end']} · NRR {data['nrr'] or '—'} · GRR {data['grr'] or '—'} · "
        f"{b.ltv.active} paying account(s)"
    )
    if pictures:
        out.print(charts.arr_chart_rich([(m.end, m.arr) for m in b.months], cc))
    emit(
        "table",
        data,
        ["month", "arr", "new", "expansion", "contraction", "churn", "reactivation", "net"],
        data["months"],
        title="By month",
        right=("arr", "new", "expansion", "contraction", "churn", "reactivation", "net"),
    )
    if pictures:
        out.print(charts.movements_chart_rich(b.mrr_start, b.waterfall, b.mrr_end, cc))
    ltv = data["ltv"]
    out.print(
        f"LTV {ltv['ltv'] or ltv['note'] or '—'} · ARPA {ltv['arpa'] or '—'} · monthly logo churn "
        f"{ltv['monthly_churn_rate'] or '—'} · LTV:CAC {ltv['ltv_cac'] or '—'} · "
        f"CAC payback {ltv['payback_months'] or '—'} months"
    )
    if data["top_accounts"]:
        emit(
            "table",
            data,
            ["account", "name", "arr", "share"],
            data["top_accounts"],
            title=f"Largest accounts on {data['to']} ({cc})",
            right=("arr", "share"),
        )


def ar(
    account: Annotated[
        str | None, typer.Option("--account", metavar="ID", click_type=completion.ACCOUNT, help="Only this account.")
    ] = None,
    dso_days: Annotated[
        int,
        typer.Option(
            "--dso-days",
            min=1,
            max=3650,
            metavar="DAYS",
            help="The window of days sales outstanding: receivables ÷ gross billed in these days × the days.",
        ),
    ] = 90,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Accounts receivable on --as-of: the aging by days past due, credit, balance and DSO.

    Per account and currency, then a total per currency; buckets current, 1-30, 31-60, 61-90 and 90+ days
    past the due date (docs/receivables.md).

    Example:

      cpqctl report ar --as-of 2027-12-31

      cpqctl report ar --account acme --format json
    """
    from cpqctl.app import payments
    from cpqctl.render.output import emit

    rows, data = payments.ar_report(common.workspace(repo, as_of), dso_days=dso_days, account=account)
    shown = [r | {"account": f"{r['account']} ({r['currency']})"} for r in rows]
    emit(
        format,
        data,
        ["account", "current", "1-30", "31-60", "61-90", "90+", "credit", "balance", "dso"],
        shown,
        title=f"Receivables on {data['as_of']}",
        right=("current", "1-30", "31-60", "61-90", "90+", "credit", "balance", "dso"),
    )


FromOpt = Annotated[
    str | None, typer.Option("--from", metavar="DATE", help="First month (a date or a period; default: January).")
]
ToOpt = Annotated[
    str | None, typer.Option("--to", metavar="DATE", help="Last month (a date or a period; default: --as-of's).")
]


def _months(period: str | None, since: str | None, until: str | None, as_of: str | None):
    from datetime import date

    first, last = common.date_range(period, since, until, as_of)
    day = common.as_of(as_of)
    last = last or day
    return first or date(last.year, 1, 1), last


def revenue(
    by: Annotated[
        str,
        typer.Option(
            "--by",
            click_type=click.Choice(["month", "account", "product", "contract"]),
            help="Rows per month, or per account, product or contract and month.",
        ),
    ] = "month",
    period: PeriodOpt = None,
    since: FromOpt = None,
    until: ToOpt = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Revenue recognised per month (ASC 606 / IFRS 15), from the invoices issued.

    Each invoice line is recognised by day over the period it bills, one-time products on their day, a
    bundle's discount allocated by standalone selling price (docs/revenue.md). Per currency.

    Example:

      cpqctl report revenue -p 2026

      cpqctl report revenue --from 2026-01 --to 2026-06 --by product --format csv
    """
    from cpqctl.app import revenue as rev
    from cpqctl.render.output import emit

    first, last = _months(period, since, until, as_of)
    result = rev.revenue_report(common.workspace(repo, as_of), start=first, end=last, by=by)
    columns = ([] if by == "month" else [by]) + ["month", "recognised", "currency"]
    emit(
        format,
        result.data,
        columns,
        result.rows,
        title=f"Revenue recognised {first:%Y-%m} – {last:%Y-%m}",
        right=("recognised",),
    )


def deferred(
    period: PeriodOpt = None,
    since: FromOpt = None,
    until: ToOpt = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Deferred revenue roll-forward: opening + billed − recognised = closing, per month and currency.

    The closing balance is split into deferred revenue (billed ahead of service) and unbilled receivables
    (service ahead of billing), netted per contract (docs/revenue.md).

    Example:

      cpqctl report deferred -p 2026
    """
    from cpqctl.app import revenue as rev
    from cpqctl.render.output import emit

    first, last = _months(period, since, until, as_of)
    result = rev.deferred_report(common.workspace(repo, as_of), start=first, end=last)
    money = ("opening", "billed", "recognised", "closing", "deferred", "unbilled")
    emit(format, result.data, ["month", *money, "currency"], result.rows, title="Deferred revenue", right=money)


def rpo(
    by: Annotated[
        str,
        typer.Option(
            "--by",
            click_type=click.Choice(["account", "product", "contract", "month"]),
            help="Rows per account, product or contract (month: one total).",
        ),
    ] = "account",
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Remaining performance obligations (backlog) at the end of --as-of's month, and the next 12 months' part.

    What the contracts still have to recognise: billed and not yet recognised, plus what fixed-term contracts
    will still bill through their ends (docs/revenue.md).

    Example:

      cpqctl report rpo --as-of 2026-12-31
    """
    from cpqctl.app import revenue as rev
    from cpqctl.render.output import emit

    result = rev.rpo_report(common.workspace(repo, as_of), by=by)
    columns = ([] if by == "month" else [by]) + ["rpo", "next_12_months", "currency"]
    emit(
        format,
        result.data,
        columns,
        result.rows,
        title=f"RPO on {result.data['as_of']}",
        right=("rpo", "next_12_months"),
    )


def waterfall(
    period: PeriodOpt = None,
    since: FromOpt = None,
    until: ToOpt = None,
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """The revenue waterfall: per month of billing, how what was billed is recognised month by month.

    One row per month invoices were issued in and currency; its columns are the months the revenue falls in
    and add up to what was billed (docs/revenue.md).

    Example:

      cpqctl report waterfall -p 2026q1
    """
    from cpqctl.app import revenue as rev
    from cpqctl.render.output import emit

    first, last = _months(period, since, until, as_of)
    result = rev.waterfall_report(common.workspace(repo, as_of), start=first, end=last)
    months = sorted({m for r in result.rows for m in r["recognised"]})
    rows = [{**{k: v for k, v in r.items() if k != "recognised"}, **r["recognised"]} for r in result.rows]
    emit(
        format,
        result.data,
        ["billed_in", "currency", "billed", *months],
        rows,
        title="Revenue waterfall",
        right=("billed", *months),
    )


app.command("ar")(ar)
app.command("waterfall")(waterfall)
app.command("revenue")(revenue)
app.command("deferred")(deferred)
app.command("rpo")(rpo)
app.command("arr")(arr)
app.command("mrr")(mrr)
app.command("movements")(movements)
app.command("ltv")(ltv)
app.command("board")(board)
