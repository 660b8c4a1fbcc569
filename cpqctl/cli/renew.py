"""`cpqctl renew C | --due` and `cpqctl renewals`: renewal quotes and the renewals-due view."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Optional

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, FormatOpt, RepoOpt
from cpqctl.diagnostics import CpqError

WithinOpt = Annotated[Optional[int], typer.Option(
    "--within", metavar="DAYS", help="The window in days (default: cpq.toml [renewal] notice_days).")]


def _uplift(text: str | None) -> Decimal | None:
    if text is None:
        return None
    from cpqctl.money import MoneyError, parse_percent

    try:
        return parse_percent(text if text.strip().endswith("%") else text + "%")
    except MoneyError:
        raise CpqError("E-USAGE", f"`--uplift {text}` is not a percentage", "e.g. --uplift 5%", exit_code=2) from None


def _texts(root, loaded, cid: str) -> dict[str, str]:
    from cpqctl import renewal

    out = {}
    for q in renewal.renewal_quotes(loaded, cid):
        path = root / q.src.file
        out[q.quote] = path.read_text(encoding="utf-8") if path.exists() else ""
    return out


def _one(root, loaded, c, day: date, terms, taken: set[str], force: bool):
    """The plan for one contract, a fresh quote ID allocated (from ``taken``) only when one is created."""
    from cpqctl import renewal
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
    from cpqctl import quotes, renewal

    if due == bool(contract):
        raise CpqError("E-USAGE", "name a contract or pass --due (not both)", "cpqctl renew C-2026-0001",
                       exit_code=2)
    if term is not None and term <= 0:
        raise CpqError("E-USAGE", "--term is a positive number of months", "e.g. --term 12", exit_code=2)
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


def renewals(within: WithinOpt = None, format: FormatOpt = "table", as_of: AsOfOpt = None,
             repo: RepoOpt = None) -> None:
    """Contracts ending within the window: ARR at stake and the renewal quote's status.

    Example:

      cpqctl renewals --within 120 --format json
    """
    from cpqctl import ledger, quotes, renewal
    from cpqctl.render.output import emit

    day = common.as_of(as_of)
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


def register(app: typer.Typer) -> None:
    app.command("renew")(renew)
    app.command("renewals")(renewals)
