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
from typing import Annotated, Optional

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, FormatOpt, RepoOpt
from cpqctl.core.diagnostics import CpqError, UsageError

app = common.group("report", "Metrics: ARR, MRR, MRR movements, LTV, the board report.\n\n"
                             "Example:\n\n  cpqctl report arr --as-of 2026-11-28\n\n"
                             "  cpqctl report movements --from 2026-01-01 --to 2026-11-01\n\n"
                             "  cpqctl report board --format pdf --as-of 2026-12-31")

ByOpt = Annotated[str, typer.Option("--by", help="One row per account, product or family.",
                                    click_type=click.Choice(["account", "product", "family"]))]


def register(root: typer.Typer) -> None:
    root.add_typer(app)


def _load(repo, strict: bool = False):
    """Settings, catalog and contracts only: metrics never read quotes or invoices.

    ``strict`` (documents someone will be sent) refuses a repository with
    errors; otherwise the figures come with a warning.
    """
    from cpqctl.load.repo import load_repo

    with common.progress() as meter:
        loaded, diags = load_repo(common.root(repo), kinds=("catalog", "account", "contract"), meter=meter)
    if strict:
        common.require_clean(diags)
    errors = sum(d.severity == "error" for d in diags)
    if errors:
        common.info(f"cpqctl: warning: the repository has {errors} error(s); the figures may be incomplete "
                    "(run `cpqctl check`)")
    return loaded


def _arr(which: str, by: str, format: str, as_of: str | None, repo) -> None:
    from cpqctl.core import metrics
    from cpqctl.render.output import console, emit

    day = common.as_of(as_of)
    loaded = _load(repo)
    data = metrics.arr_view(metrics.arr_report(loaded, day, by), loaded.settings.rounding)
    if data["note"]:
        common.info(f"cpqctl: note: {data['note']}")
    if format != "table":
        emit(format, data, [by, "currency", "mrr", "arr"], data["rows"], title=f"{which.upper()} on {day}",
             right=("mrr", "arr"))
        return
    emit("table", data, [by, "currency", which], data["rows"], title=f"{which.upper()} by {by} on {day}",
         right=(which,))
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


MOVE_COLUMNS = ["mrr_start", "new", "expansion", "contraction", "churn", "reactivation", "mrr_end", "net"]


def movements(
    start: Annotated[str, typer.Option("--from", metavar="DATE", help="The first date (MRR at its start).")],
    end: Annotated[str, typer.Option("--to", metavar="DATE", help="The second date.")],
    detail: Annotated[bool, typer.Option("--detail", help="One row per account that moved.")] = False,
    by: Annotated[Optional[str], typer.Option("--by", help="month: one row per calendar month of the range.",
                                              click_type=click.Choice(["month"]))] = None,
    format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None,
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
    from cpqctl.core import metrics
    from cpqctl.render.output import console, emit

    d0, d1 = common.parse_date(start, "--from date"), common.parse_date(end, "--to date")
    loaded = _load(repo)
    if by == "month":
        _movements_by_month(loaded, d0, d1, detail, format)
        return
    data = metrics.movements_view(metrics.movements(loaded, d0, d1))
    summary = [{"": "MRR at start", "amount": data["mrr_start"]},
               *({"": f"{'+' if k in ('new', 'expansion', 'reactivation') else '−'} {k}", "amount": data[k]}
                 for k in metrics.MOVEMENTS),
               {"": "MRR at end", "amount": data["mrr_end"]},
               {"": "NRR", "amount": data["nrr"]}, {"": "GRR", "amount": data["grr"]}]
    if format != "table":
        if detail or format == "json":
            emit(format, data, ["account", "movement", "mrr_from", "mrr_to", "delta"], data["rows"],
                 title=f"MRR movements {d0} → {d1}", right=("mrr_from", "mrr_to", "delta"))
        else:
            emit(format, data, ["", "amount"], summary, title=f"MRR movements {d0} → {d1} ({data['currency']})",
                 right=("amount",))
        return
    console().print(f"MRR movements {d0} → {d1} ({data['currency']})")
    emit("table", data, ["", "amount"], summary, right=("amount",))
    if detail:
        emit("table", data, ["account", "movement", "mrr_from", "mrr_to", "delta"], data["rows"],
             title="Accounts", right=("mrr_from", "mrr_to", "delta"))
    elif data["rows"]:
        console().print(f"{len(data['rows'])} account(s) moved; --detail lists them")


def _movements_by_month(loaded, d0, d1, detail: bool, format: str) -> None:
    """`report movements --by month`: the whole-range view plus one row per month (and per account moved)."""
    from cpqctl.render import charts
    from cpqctl.core import metrics
    from cpqctl.core.money import money_str
    from cpqctl.render.output import console, emit

    months = metrics.movements_by_month(loaded, d0, d1)
    data = {**metrics.movements_view(metrics.movements(loaded, d0, d1)), "by": "month"}
    rows = metrics.months_view(months)
    data["months"] = [{**r, "rows": metrics.movements_view(m)["rows"]} for r, m in zip(rows, months)]
    moves = [{"month": r["month"], **a} for r in data["months"] for a in r["rows"]]
    cc = data["currency"]
    title = f"MRR movements by month {d0} → {d1} ({cc})"
    if format != "table":
        if detail and format != "json":
            emit(format, data, ["month", "account", "movement", "mrr_from", "mrr_to", "delta"], moves,
                 title=title, right=("mrr_from", "mrr_to", "delta"))
        else:
            emit(format, data, ["month", "from", "to", *MOVE_COLUMNS], rows, title=title,
                 right=tuple(MOVE_COLUMNS))
        return
    totals = metrics.summed(months)
    footer = {"month": "total", "mrr_start": data["mrr_start"], **{k: money_str(totals[k], cc) for k in totals},
              "mrr_end": data["mrr_end"], "net": money_str(months[-1].mrr_end - months[0].mrr_start, cc)}
    shown = [c for c in MOVE_COLUMNS if c != "mrr_start"]  # each month starts where the row above ended
    emit("table", data, ["month", *shown], rows, title=f"{title}, MRR at start {data['mrr_start']}",
         right=tuple(shown), footer=footer)
    if detail:
        emit("table", data, ["month", "account", "movement", "mrr_from", "mrr_to", "delta"], moves,
             title="Accounts", right=("mrr_from", "mrr_to", "delta"))
    if _on_terminal():
        console().print(charts.movements_chart_rich(months[0].mrr_start, totals, months[-1].mrr_end, cc))


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
    cac: Annotated[Optional[str], typer.Option("--cac", metavar="AMOUNT",
                                               help="Customer acquisition cost (default: cpq.toml [metrics] cac).")]
    = None,
    format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None,
) -> None:
    """Customer lifetime value: ARPA ÷ monthly logo churn (trailing 6 months), with LTV:CAC and CAC payback.

    The rule of thumb (LTV at least 3 × CAC, CAC paid back within 12 months)
    is shown as pass/fail when a CAC is known.

    Example:

      cpqctl report ltv --as-of 2026-11-28

      cpqctl report ltv --cac 15000.00 --format json
    """
    from cpqctl.core import metrics
    from cpqctl.render.output import emit

    day = common.as_of(as_of)
    amount = _cac(cac)
    loaded = _load(repo)
    data = metrics.ltv_view(metrics.ltv(loaded, day, amount), loaded.settings.rounding)
    labels = [("MRR", "mrr"), ("Active accounts", "active_accounts"), ("ARPA", "arpa"),
              ("Window start", "window_start"), ("Accounts at window start", "accounts_at_window_start"),
              ("Churned accounts", "churned_accounts"), ("Monthly logo churn", "monthly_churn_rate"),
              ("LTV", "ltv"), ("CAC", "cac"), ("Gross margin", "gross_margin"), ("LTV:CAC", "ltv_cac"),
              ("CAC payback (months)", "payback_months"), ("LTV ≥ 3 × CAC", "ltv_at_least_3x_cac"),
              ("Payback ≤ 12 months", "payback_within_12_months")]
    rows = [{"metric": label, "value": data[key] if data[key] is not None else
             (data["note"] if key == "ltv" and data["note"] else "—")} for label, key in labels]
    emit(format, data, ["metric", "value"], rows, title=f"LTV on {day} ({data['currency']})", right=("value",))


def board(
    months: Annotated[int, typer.Option("--months", metavar="N", min=1, max=120,
                                        help="How many months, the last one ending on --as-of.")] = 12,
    top: Annotated[int, typer.Option("--top", metavar="N", min=0, max=100,
                                     help="How many of the largest accounts to list.")] = 5,
    format: Annotated[str, typer.Option("--format", "-f",
                                        click_type=click.Choice(["table", "json", "csv", "md", "pdf"]),
                                        help="table, json or csv (the month rows) print; md and pdf write "
                                             "the report.")] = "table",
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Output file for md/pdf (default "
                                                   "out/board-<AS-OF>.<ext>); - for stdout.")] = None,
    as_of: AsOfOpt = None, repo: RepoOpt = None,
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
    from cpqctl.core import board as boards
    from cpqctl.render.output import emit

    day = common.as_of(as_of)
    loaded = _load(repo, strict=format in ("md", "pdf"))
    b = boards.board(loaded, day, months, top)
    rounding = loaded.settings.rounding
    if format in ("md", "pdf"):
        _write_board(common.root(repo), loaded, b, format, output, day)
        return
    if output is not None:
        raise UsageError("E-USAGE", "-o is for --format md or pdf", "drop -o, or add --format md|pdf")
    data = boards.board_view(b, rounding)
    columns = ["month", "to", "arr", *MOVE_COLUMNS]
    if format != "table":
        emit(format, data, columns, data["months"], title=f"Board {data['from']} → {data['to']}",
             right=tuple(columns[2:]))
        return
    _board_table(b, data, _on_terminal())


def _board_table(b, data: dict, pictures: bool) -> None:
    """The board on screen: headline, (ARR bars), month table, (waterfall), LTV, largest accounts."""
    from cpqctl.render import charts
    from cpqctl.render.output import console, emit

    out = console()
    cc = data["currency"]
    out.print(f"[bold]Board report[/bold] {data['from']} → {data['to']} ({cc})")
    out.print(f"ARR {data['arr']} (from {data['arr_start']}, growth {data['arr_growth'] or '—'}) · "
              f"MRR {data['mrr_end']} · NRR {data['nrr'] or '—'} · GRR {data['grr'] or '—'} · "
              f"{b.ltv.active} paying account(s)")
    if pictures:
        out.print(charts.arr_chart_rich([(m.end, m.arr) for m in b.months], cc))
    emit("table", data, ["month", "arr", "new", "expansion", "contraction", "churn", "reactivation", "net"],
         data["months"], title="By month", right=("arr", "new", "expansion", "contraction", "churn",
                                                  "reactivation", "net"))
    if pictures:
        out.print(charts.movements_chart_rich(b.mrr_start, b.waterfall, b.mrr_end, cc))
    ltv = data["ltv"]
    out.print(f"LTV {ltv['ltv'] or ltv['note'] or '—'} · ARPA {ltv['arpa'] or '—'} · monthly logo churn "
              f"{ltv['monthly_churn_rate'] or '—'} · LTV:CAC {ltv['ltv_cac'] or '—'} · "
              f"CAC payback {ltv['payback_months'] or '—'} months")
    if data["top_accounts"]:
        emit("table", data, ["account", "name", "arr", "share"], data["top_accounts"],
             title=f"Largest accounts on {data['to']} ({cc})", right=("arr", "share"))


def _write_board(root: Path, loaded, b, format: str, output: Path | None, day) -> None:
    """The board report as PDF (charts inside) or Markdown (charts as .svg files next to it)."""
    import base64
    from urllib.parse import quote

    from cpqctl.core import board as boards
    from cpqctl.render import charts
    from cpqctl.views import documents
    from cpqctl.render import documents as rd
    from cpqctl.app.documents import repo_templates, write_document
    from cpqctl.store import atomic_write_bytes
    from cpqctl.render import fmt

    data = boards.document_data(b, documents.company(loaded), loaded.settings.rounding)
    locale = loaded.settings.locale
    when = lambda d: fmt.date(d, locale)  # noqa: E731
    svgs = {"arr": charts.arr_chart_svg([(m.end, m.arr) for m in b.months], b.currency, locale),
            "movements": charts.movements_chart_svg(b.mrr_start, b.waterfall, b.mrr_end, b.currency, locale,
                                                    when(b.opening), when(b.as_of))}
    to_stdout = output is not None and str(output) == "-"
    target = output if output is not None else root / "out" / f"board-{day}.{format}"
    if not to_stdout and not target.is_absolute():
        target = Path.cwd() / target
    names = {k: f"{target.stem}-{k}.svg" for k in svgs}
    data["charts"] = {"arr_svg": svgs["arr"], "movements_svg": svgs["movements"]}
    for k, svg in svgs.items():
        data["charts"][f"{k}_src"] = ("data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
                                      if to_stdout else quote(names[k]))
    if format == "md" and not to_stdout:
        rd.render_markdown("board", data, repo_templates(root))  # fails before any write
        for k, svg in svgs.items():
            atomic_write_bytes(target.parent / names[k], svg.encode("utf-8"))
            common.info(f"wrote {target.parent / names[k]}")
    wrote = write_document(root, "board", f"board-{day}", format, data, output if to_stdout else target, day)
    if wrote:
        common.info(f"wrote {wrote}")


app.command("arr")(arr)
app.command("mrr")(mrr)
app.command("movements")(movements)
app.command("ltv")(ltv)
app.command("board")(board)
