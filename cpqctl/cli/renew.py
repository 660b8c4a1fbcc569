"""`cpqctl renew C | --due` and `cpqctl renewals [--by month]`: renewal quotes, the renewals due, the forecast."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Optional

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, FormatOpt, RepoOpt
from cpqctl.core.diagnostics import CpqError, UsageError

WithinOpt = Annotated[Optional[int], typer.Option(
    "--within", metavar="DAYS", help="The window in days (default: cpq.toml [renewal] notice_days).")]


def _uplift(text: str | None) -> Decimal | None:
    if text is None:
        return None
    from cpqctl.core.money import MoneyError, parse_percent

    try:
        return parse_percent(text if text.strip().endswith("%") else text + "%")
    except MoneyError:
        raise UsageError("E-USAGE", f"`--uplift {text}` is not a percentage", "e.g. --uplift 5%") from None


def _texts(root, loaded, cid: str) -> dict[str, str]:
    from cpqctl.core import renewal
    out = {}
    for q in renewal.renewal_quotes(loaded, cid):
        path = root / q.src.file
        out[q.quote] = path.read_text(encoding="utf-8") if path.exists() else ""
    return out


def _one(root, loaded, c, day: date, terms, taken: set[str], force: bool):
    """The plan for one contract, a fresh quote ID allocated (from ``taken``) only when one is created."""
    from cpqctl.core import renewal
    from cpqctl.store import next_id

    texts = _texts(root, loaded, c.contract)
    new_id = None if texts else next_id(loaded.settings.numbering_quote, day.year, taken)
    p = renewal.plan(loaded, c, day, terms, new_id, texts, force)
    if p.action == "create":
        taken.add(new_id)
    return p


def _stage(tx, root, p) -> None:
    from cpqctl.store import sha256_file

    rel = f"quotes/{p.quote.quote}.yaml"
    if p.action == "create":
        tx.create(rel, p.text)
    elif p.action == "update":
        tx.write(rel, p.text, expect_sha256=sha256_file(root / rel))


def renew(
    contract: Annotated[Optional[str], typer.Argument(help="The contract to renew (or --due).")] = None,
    due: Annotated[bool, typer.Option("--due", help="Create the missing renewal quotes of every contract "
                                                    "ending within the notice window.")] = False,
    within: WithinOpt = None,
    pricing: Annotated[Optional[str], typer.Option("--pricing", click_type=click.Choice(["same", "list", "uplift"]),
                                                   help="Renewal pricing (default: contract, account, cpq.toml).")]
    = None,
    uplift: Annotated[Optional[str], typer.Option("--uplift", metavar="P", help="Uplift, e.g. 5% "
                                                  "(implies --pricing uplift).")] = None,
    term: Annotated[Optional[int], typer.Option("--term", help="Renewal term in months.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Regenerate a draft edited by hand.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the renewal quote; write nothing.")] = False,
    format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None,
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
    from cpqctl.core import quotes, renewal
    if due == bool(contract):
        raise UsageError("E-USAGE", "name a contract or pass --due (not both)", "cpqctl renew C-2026-0001")
    if term is not None and term <= 0:
        raise UsageError("E-USAGE", "--term is a positive number of months", "e.g. --term 12")
    pct = _uplift(uplift)
    day = common.as_of(as_of)
    with common.writing(repo) as (root, store, loaded):
        taken = set(loaded.quotes)
        if due:
            window = within if within is not None else loaded.settings.notice_days
            plans = []
            for c in renewal.due(loaded, day, window):
                if any(q.status == "accepted" for q in renewal.renewal_quotes(loaded, c.contract)):
                    continue
                terms = renewal.resolve_terms(c, loaded.accounts[c.account], loaded.settings, pricing, pct, term)
                try:
                    plans.append((c, _one(root, loaded, c, day, terms, taken, force)))
                except CpqError as e:
                    if e.code != "E-EDITED":
                        raise
                    common.info(f"skipped {c.contract}: {e.message}")
            if not dry_run:
                with store.transaction() as tx:
                    for _, p in plans:
                        _stage(tx, root, p)
            rows = [{"contract": c.contract, "account": c.account, "quote": p.quote.quote if not dry_run
                     or p.action != "create" else None, "action": p.action} for c, p in plans]
            data = {"as_of": day.isoformat(), "within": window, "dry_run": dry_run, "rows": rows}
        else:
            from cpqctl.cli.contract import get_contract

            c = get_contract(loaded, contract)
            renewal.check_renewable(loaded, c)  # before the term: an evergreen contract has none
            terms = renewal.resolve_terms(c, loaded.accounts[c.account], loaded.settings, pricing, pct, term)
            p = _one(root, loaded, c, day, terms, taken, force)
            priced = quotes.price(loaded, p.quote)
            if not dry_run:
                with store.transaction() as tx:
                    _stage(tx, root, p)
            data = quotes.quote_json(p.quote, priced, quotes.status(p.quote, priced, loaded.settings, day),
                                     loaded.settings)
            if dry_run and p.action == "create":
                data["quote"] = None
            data["action"] = "dry-run" if dry_run else p.action
    if due:
        from cpqctl.render.output import emit

        emit(format, data, ["contract", "account", "quote", "action"], data["rows"],
             title=f"renewals due within {data['within']} days of {data['as_of']}")
        if not dry_run:
            made = sum(r["action"] == "create" for r in rows)
            common.info(f"{made} renewal quote(s) created, "
                        f"{sum(r['action'] == 'update' for r in rows)} regenerated")
        return
    from cpqctl.cli.quote import emit_quote

    emit_quote(format, data)
    if not dry_run and p.action != "unchanged":
        common.info(f"{'wrote' if p.action == 'create' else 'regenerated'} quotes/{p.quote.quote}.yaml")
    elif not dry_run:
        common.info(f"quotes/{p.quote.quote}.yaml is up to date")


ByOpt = Annotated[Optional[str], typer.Option(
    "--by", click_type=click.Choice(["month"]),
    help="month: the forecast, one row per calendar month (ARR ending, quoted, accepted, not quoted, at risk).")]
MonthsOpt = Annotated[Optional[int], typer.Option(
    "--months", metavar="N", help="With --by month: how many months (default 12).")]
FromOpt = Annotated[Optional[str], typer.Option(
    "--from", metavar="MONTH", help="With --by month: the first month, YYYY-MM (default: the month of --as-of).")]


def renewals(within: Annotated[Optional[int], typer.Option(
                 "--within", metavar="DAYS", help="The window in days (default: cpq.toml [renewal] notice_days); "
                 "with --by month, the at-risk window (default 30).")] = None,
             by: ByOpt = None, months: MonthsOpt = None, start: FromOpt = None,
             format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None) -> None:
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
    from cpqctl.core import ledger, quotes, renewal
    from cpqctl.render.output import emit

    if by is None and (months is not None or start is not None):
        raise UsageError("E-USAGE", "--months and --from go with --by month", "cpqctl renewals --by month --months 6")
    day = common.as_of(as_of)
    if by == "month":
        first = _month(start) if start is not None else day.replace(day=1)
        if months is not None and months <= 0:
            raise UsageError("E-USAGE", "--months is a positive number", "e.g. --months 12")
        if within is not None and within < 0:
            raise UsageError("E-USAGE", "--within is a number of days, 0 or more", "e.g. --within 30")
        _forecast(format, day, first, months or 12, 30 if within is None else within, repo)
        return
    _, loaded, diags = common.load(repo)
    common.require_clean(diags)
    window = within if within is not None else loaded.settings.notice_days
    rows = []
    for c in renewal.due(loaded, day, window, include_renewed=True):
        mine = renewal.renewal_quotes(loaded, c.contract)
        q = next((x for x in mine if x.status == "accepted"), mine[-1] if mine else None)
        st = None
        if q is not None:
            try:
                st = quotes.status(q, quotes.price(loaded, q), loaded.settings, day)
            except CpqError:
                st = "error"
        rows.append({"contract": c.contract, "account": c.account, "end": ledger.current_end(c).isoformat(),
                     "arr": renewal.arr_on_last_day(c), "currency": c.currency,
                     "renewal_quote": q.quote if q else None, "quote_status": st})
    data = {"as_of": day.isoformat(), "within": window, "rows": rows}
    emit(format, data, ["contract", "account", "end", "arr", "currency", "renewal_quote", "quote_status"], rows,
         title=f"renewals due within {window} days of {day}", right=("arr",))


def _month(text: str) -> date:
    """``--from 2026-11`` (or a date: its month) → the month's first day."""
    try:
        if len(text) not in (7, 10) or text[4] != "-":
            raise ValueError(text)
        return date.fromisoformat(text if len(text) == 10 else text + "-01").replace(day=1)
    except ValueError:
        raise UsageError("E-USAGE", f"`--from {text}` is not a month (YYYY-MM)", "e.g. --from 2026-11") from None


MONTH_COLUMNS = ["month", "currency", "contracts", "arr", "quoted", "accepted", "not_quoted", "at_risk"]
_MONEY = ("arr", "quoted", "accepted", "not_quoted", "at_risk")


def _bucket_row(b) -> dict:
    from cpqctl.core.money import money_str

    return {"month": b.month.strftime("%Y-%m"), "currency": b.currency, "contracts": b.contracts,
            **{k: money_str(getattr(b, k), b.currency) for k in _MONEY}}


def _forecast(format: str, day: date, first: date, months: int, risk_days: int, repo) -> None:
    """`renewals --by month`: the forecast per month, in the company currency (or per currency, as `report arr`)."""
    from cpqctl.core import metrics, renewal
    from cpqctl.core.money import money_str
    from cpqctl.render.output import console, emit

    _, loaded, diags = common.load(repo)
    common.require_clean(diags)
    s = loaded.settings
    items = renewal.endings(loaded, day, first, months, risk_days)
    per_currency = renewal.by_month(items, first, months)
    company = renewal.by_month_in(items, first, months, s)
    note = None
    if company is not None:
        rows = [_bucket_row(b) for b in company]
        total = {"contracts": len(items), **{k: money_str(sum(getattr(b, k) for b in company), s.currency)
                                             for k in _MONEY}}
    else:  # as `report arr`: no totals in the company currency; the per-currency figures still stand
        note = (f"no [fx] rate for {', '.join(metrics.missing_rates(s, per_currency))}: "
                f"no totals in {s.currency}; see the per-currency figures")
        firsts = [renewal.add_month(first, i) for i in range(months)]
        rows = [{"month": m.strftime("%Y-%m"), "currency": None,
                 "contracts": sum(renewal.add_month(e.end, 0) == m for e in items), **dict.fromkeys(_MONEY)}
                for m in firsts]
        total = {"contracts": len(items), **dict.fromkeys(_MONEY)}
    convertible = note is None
    cur_rows = [_bucket_row(b) for m in range(months) for b in (g[m] for g in per_currency.values())]
    listed = [{"contract": e.contract.contract, "account": e.contract.account, "end": e.end.isoformat(),
               "currency": e.contract.currency, "arr": money_str(e.arr, e.contract.currency), "stage": e.stage,
               "at_risk": e.at_risk} for e in items]
    last = renewal.add_month(first, months - 1)
    data = {"as_of": day.isoformat(), "from": first.strftime("%Y-%m"), "to": last.strftime("%Y-%m"),
            "at_risk_within": risk_days, "currency": s.currency if convertible else None, "rows": rows,
            "total": total, "currencies": cur_rows, "contracts": listed, "note": note}
    if note:
        common.info(f"cpqctl: note: {note}")
    title = f"renewals by month {data['from']} → {data['to']} (as of {day}, at risk: not quoted, ending within " \
            f"{risk_days} days)"
    shown = rows if convertible else cur_rows
    if format != "table":
        emit(format, data, MONTH_COLUMNS, shown, title=title, right=MONTH_COLUMNS[2:])
        return
    footer = {"month": "total", "currency": s.currency, **total} if convertible else None
    emit("table", data, MONTH_COLUMNS, shown, title=title, right=MONTH_COLUMNS[2:], footer=footer)
    if convertible and len(per_currency) > 1:
        emit("table", data, MONTH_COLUMNS, [r for r in cur_rows if r["contracts"]], title="Per currency",
             right=MONTH_COLUMNS[2:])
    if listed:
        emit("table", data, ["contract", "account", "end", "currency", "arr", "stage", "at_risk"],
             [{**r, "at_risk": "yes" if r["at_risk"] else ""} for r in listed], title="Contracts", right=("arr",))
    else:
        console().print("No contract ends in these months.")


def register(app: typer.Typer) -> None:
    app.command("renew")(renew)
    app.command("renewals")(renewals)
