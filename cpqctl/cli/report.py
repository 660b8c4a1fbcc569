"""`cpqctl report arr | mrr | movements | ltv | board`: the SaaS metrics of SPEC §5, computed by cpqctl.core.metrics.

Pictures: on a terminal, `report board` and `report movements --by month`
(table format) draw their charts in block characters under the tables
(cpqctl.render.charts); piped, or in json/csv/md, only the numbers are printed. The
board documents (`report board --format md|pdf`) carry the same charts as SVG.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, FormatOpt, RepoOpt
from cpqctl.core.diagnostics import UsageError

app = common.group(
    "report",
    "Metrics: ARR, MRR, MRR movements, LTV, the board report.\n\n"
    "Example:\n\n  cpqctl report arr --as-of 2026-11-28\n\n"
    "  cpqctl report movements --from 2026-01-01 --to 2026-11-01\n\n"
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


def register(root: typer.Typer) -> None:
    root.add_typer(app)


def _warn(result) -> None:
    if result.warning:
        common.info(f"cpqctl: warning: {result.warning}")


def _arr(which: str, by: str, format: str, as_of: str | None, repo) -> None:
    from cpqctl.app import reports
    from cpqctl.render.output import console, emit

    result = reports.arr(common.workspace(repo, as_of), by=by)
    _warn(result)
    data, day = result.data, result.as_of
    if data["note"]:
        common.info(f"cpqctl: note: {data['note']}")
    if format != "table":
        emit(
            format,
            data,
            [by, "currency", "mrr", "arr"],
            data["rows"],
            title=f"{which.upper()} on {day}",
            right=("mrr", "arr"),
        )
        return
    emit(
        "table", data, [by, "currency", which], data["rows"], title=f"{which.upper()} by {by} on {day}", right=(which,)
    )
    emit("table", data, ["currency", which], data["currencies"], title="Per currency", right=(which,))
    if data[which] is not None:
        console().print(f"Total {which.upper()}: {data[which]} {data['currency']}")


def arr(by: ByOpt = "account", format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None) -> None:
    """Annual recurring revenue on --as-of (12 × MRR), per account, product or family.

    Totals per currency and in the company currency (converted with cpq.toml
    [fx]). One-time lines and contracts not yet started do not count;
    evergreen contracts do.

    Example:

      cpqctl report arr --as-of 2026-11-28

      cpqctl report arr --by family --format json
    """
    _arr("arr", by, format, as_of, repo)


def mrr(by: ByOpt = "account", format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None) -> None:
    """Monthly recurring revenue on --as-of, per account, product or family.

    Example:

      cpqctl report mrr --by product --as-of 2026-06-30
    """
    _arr("mrr", by, format, as_of, repo)


def _on_terminal() -> bool:
    """Charts are for people: drawn only when stdout is a terminal (a pipe or a file gets the tables)."""
    return sys.stdout.isatty()


def movements(
    start: Annotated[str, typer.Option("--from", metavar="DATE", help="The first date (MRR at its start).")],
    end: Annotated[str, typer.Option("--to", metavar="DATE", help="The second date.")],
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

    Example:

      cpqctl report movements --from 2026-01-01 --to 2026-11-01

      cpqctl report movements --from 2026-01-01 --to 2026-11-01 --detail --format csv

      cpqctl report movements --from 2026-01-01 --to 2026-12-31 --by month
    """
    from cpqctl.app import reports
    from cpqctl.app.workspace import Workspace
    from cpqctl.render.output import console, emit

    d0, d1 = common.parse_date(start, "--from date"), common.parse_date(end, "--to date")
    ws = Workspace(common.root(repo), meter=common.progress)  # --from and --to are its dates; --as-of is not read
    if by == "month":
        _movements_by_month(reports.movements_by_month(ws, start=d0, end=d1), detail, format)
        return
    result = reports.movements(ws, start=d0, end=d1)
    _warn(result)
    data, summary = result.data, result.summary
    if format != "table":
        if detail or format == "json":
            emit(
                format,
                data,
                ["account", "movement", "mrr_from", "mrr_to", "delta"],
                data["rows"],
                title=f"MRR movements {d0} → {d1}",
                right=("mrr_from", "mrr_to", "delta"),
            )
        else:
            emit(
                format,
                data,
                ["", "amount"],
                summary,
                title=f"MRR movements {d0} → {d1} ({data['currency']})",
                right=("amount",),
            )
        return
    console().print(f"MRR movements {d0} → {d1} ({data['currency']})")
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
    title = f"MRR movements by month {d0} → {d1} ({cc})"
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
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Customer lifetime value: ARPA ÷ monthly logo churn (trailing 6 months), with LTV:CAC and CAC payback.

    The rule of thumb (LTV at least 3 × CAC, CAC paid back within 12 months)
    is shown as pass/fail when a CAC is known.

    Example:

      cpqctl report ltv --as-of 2026-11-28

      cpqctl report ltv --cac 15000.00 --format json
    """
    from cpqctl.app import reports
    from cpqctl.render.output import emit

    day = common.as_of(as_of)
    amount = _cac(cac)
    result = reports.ltv(common.workspace(repo, as_of), cac=amount, as_of=day)
    _warn(result)
    data = result.data
    emit(format, data, ["metric", "value"], result.rows, title=f"LTV on {day} ({data['currency']})", right=("value",))


def board(
    months: Annotated[
        int,
        typer.Option("--months", metavar="N", min=1, max=120, help="How many months, the last one ending on --as-of."),
    ] = 12,
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
        typer.Option("-o", "--output", help="Output file for md/pdf (default out/board-<AS-OF>.<ext>); - for stdout."),
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

    Example:

      cpqctl report board --as-of 2026-12-31

      cpqctl report board --format pdf --as-of 2026-12-31 -o board.pdf

      cpqctl report board --format md --months 6 -o reports/board.md
    """
    from cpqctl.app import reports
    from cpqctl.render.output import emit
    from cpqctl.views.reports import MOVE_COLUMNS

    ws = common.workspace(repo, as_of)
    if format in ("md", "pdf"):
        doc = reports.write_board(ws, fmt=format, output=output, months=months, top=top)
        if doc.payload is not None:
            sys.stdout.buffer.write(doc.payload)
        for path in doc.written:
            common.info(f"wrote {path}")
        return
    result = reports.board(ws, months=months, top=top)
    _warn(result)
    if output is not None:
        raise UsageError("E-USAGE", "-o is for --format md or pdf", "drop -o, or add --format md|pdf")
    data = result.data
    columns = ["month", "to", "arr", *MOVE_COLUMNS]
    if format != "table":
        emit(
            format,
            data,
            columns,
            data["months"],
            title=f"Board {data['from']} → {data['to']}",
            right=tuple(columns[2:]),
        )
        return
    _board_table(result.board, data, _on_terminal())


def _board_table(b, data: dict, pictures: bool) -> None:
    """The board on screen: headline, (ARR bars), month table, (waterfall), LTV, largest accounts."""
    from cpqctl.render import charts
    from cpqctl.render.output import console, emit

    out = console()
    cc = data["currency"]
    out.print(f"[bold]Board report[/bold] {data['from']} → {data['to']} ({cc})")
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


app.command("arr")(arr)
app.command("mrr")(mrr)
app.command("movements")(movements)
app.command("ltv")(ltv)
app.command("board")(board)
