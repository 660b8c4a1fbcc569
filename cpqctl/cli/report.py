"""`cpqctl report arr | mrr | movements | ltv`: the SaaS metrics of SPEC §5, computed by cpqctl.metrics."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Optional

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, FormatOpt, RepoOpt
from cpqctl.diagnostics import CpqError

app = common.group("report", "Metrics: ARR, MRR, MRR movements, LTV.\n\n"
                             "Example:\n\n  cpqctl report arr --as-of 2026-11-28\n\n"
                             "  cpqctl report movements --from 2026-01-01 --to 2026-11-01")

ByOpt = Annotated[str, typer.Option("--by", help="One row per account, product or family.",
                                    click_type=click.Choice(["account", "product", "family"]))]


def register(root: typer.Typer) -> None:
    root.add_typer(app)


def _load(repo):
    """Settings, catalog and contracts only: metrics never read quotes or invoices."""
    from cpqctl.load.repo import load_repo

    loaded, diags = load_repo(common.root(repo), kinds=("catalog", "account", "contract"))
    errors = sum(d.severity == "error" for d in diags)
    if errors:
        common.info(f"cpqctl: warning: the repository has {errors} error(s); the figures may be incomplete "
                    "(run `cpqctl check`)")
    return loaded


def _arr(which: str, by: str, format: str, as_of: str | None, repo) -> None:
    from cpqctl import metrics
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


def movements(
    start: Annotated[str, typer.Option("--from", metavar="DATE", help="The first date (MRR at its start).")],
    end: Annotated[str, typer.Option("--to", metavar="DATE", help="The second date.")],
    detail: Annotated[bool, typer.Option("--detail", help="One row per account that moved.")] = False,
    format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None,
) -> None:
    """MRR movements between two dates: new, expansion, contraction, churn, reactivation, NRR and GRR.

    Each account's MRR on --from is compared with its MRR on --to (in the
    company currency); the movements reconcile: start + new + expansion +
    reactivation − contraction − churn = end.

    Example:

      cpqctl report movements --from 2026-01-01 --to 2026-11-01

      cpqctl report movements --from 2026-01-01 --to 2026-11-01 --detail --format csv
    """
    from cpqctl import metrics
    from cpqctl.render.output import console, emit

    d0, d1 = common.parse_date(start, "--from date"), common.parse_date(end, "--to date")
    loaded = _load(repo)
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


def _cac(text: str | None) -> Decimal | None:
    if text is None:
        return None
    from cpqctl.money import D, MoneyError

    try:
        value = D(text)
    except MoneyError:
        raise CpqError("E-USAGE", f"`--cac {text}` is not an amount", "e.g. --cac 12000.00", exit_code=2) from None
    if value <= 0:
        raise CpqError("E-USAGE", "--cac is a positive amount", "e.g. --cac 12000.00", exit_code=2)
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
    from cpqctl import metrics
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


app.command("arr")(arr)
app.command("mrr")(mrr)
app.command("movements")(movements)
app.command("ltv")(ltv)
