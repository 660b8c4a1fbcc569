"""Renewals: `cpqctl renew C | --due` (renewal quotes) and `cpqctl renewals [--by month]` (what is due, the forecast).

What a renewal quote holds is :mod:`cpqctl.core.renewal`'s (a pure function
of the ledger); its file text, with the header that tells a draft edited by
hand, is :func:`cpqctl.formats.quotes.renewal_quote_text`. This module decides
per contract whether to create the draft, regenerate it in place (same ID) or
leave it, allocates new quote numbers under the repository lock and writes
every draft of one call in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from cpqctl.app.quotes import QuoteResult, quote_result
from cpqctl.app.workspace import Workspace, lookup
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.model import Contract, Quote, Repo
from cpqctl.core.renewal import RenewalLine, RenewalPricing

# --------------------------------------------------------------------------- one renewal quote


@dataclass(frozen=True, slots=True)
class RenewalPlan:
    """What `renew` does for one contract: create | update | unchanged, with the quote and its file text
    (``lines``: how each line was priced)."""

    action: str
    quote: Quote
    text: str
    lines: tuple[RenewalLine, ...] = ()


def draft_text(q: Quote, pricing: RenewalPricing) -> str:
    """The renewal draft's file text: :func:`~cpqctl.formats.quotes.renewal_quote_text`, its ``# renewal pricing:``
    comment followed by how the uplift came about when there is more to say than "uplift P%" (an index-linked
    uplift, the ramp basis: :func:`~cpqctl.core.renewal.uplift_note`), the header's hash computed over it."""
    from cpqctl.core.money import fmt_percent
    from cpqctl.core.renewal import uplift_note
    from cpqctl.formats.quotes import rehashed_renewal, renewal_quote_text

    text = renewal_quote_text(q, pricing)
    note = uplift_note(pricing)
    if not note:
        return text
    comment = f"\n# renewal pricing: uplift {fmt_percent(pricing.uplift)}\n"
    return rehashed_renewal(text.replace(comment, f"{comment[:-1]} — {note}\n", 1))


def plan_renewal(
    repo: Repo,
    c: Contract,
    day: date,
    pricing: RenewalPricing,
    new_id: str | None,
    existing_text: dict[str, str],
    force: bool = False,
) -> RenewalPlan:
    """Generate (or regenerate) the renewal quote of ``c``.

    An existing draft keeps its ID and is rewritten only if the ledger changed
    it; its date stays unless it expired (then it is re-dated to ``day``). A
    draft edited by hand needs ``force``; an accepted renewal quote is never
    touched. ``existing_text`` maps quote IDs to their file text.
    """
    from cpqctl.core import renewal
    from cpqctl.core.quotes import valid_until
    from cpqctl.formats.quotes import edited_by_hand

    renewal.check_renewable(repo, c)
    lines = renewal.renewal_lines(c, repo.catalog, repo.settings, pricing)
    priced = tuple(lines)
    billing = c.billing_frequency
    mine = renewal.renewal_quotes(repo, c.contract)
    accepted = [q for q in mine if q.status == "accepted"]
    if accepted:
        raise CpqError(
            "E-RENEWED",
            f"contract {c.contract} already has an accepted renewal quote {accepted[0].quote}",
            "accepted quotes are never touched",
            src=accepted[0].src,
        )
    if not mine:
        q = renewal.quote_record(new_id or "(dry run)", c, day, pricing, lines, billing)
        return RenewalPlan("create", q, draft_text(q, pricing), priced)
    old = mine[-1]
    text = existing_text.get(old.quote, "")
    if edited_by_hand(text) and not force:
        raise CpqError(
            "E-EDITED",
            f"renewal quote {old.quote} was edited by hand since cpqctl generated it",
            f"rerun with --force to regenerate it (the edits are lost), or edit {old.src.file} on",
            src=old.src,
        )
    kept_date = old.date if valid_until(old, repo.settings) >= day else day
    q = renewal.quote_record(old.quote, c, kept_date, pricing, lines, billing)
    new_text = draft_text(q, pricing)
    if new_text == text:
        return RenewalPlan("unchanged", q, text, priced)
    if kept_date != day:  # the ledger changed it: a regenerated quote is dated today
        q = renewal.quote_record(old.quote, c, day, pricing, lines, billing)
        new_text = draft_text(q, pricing)
    return RenewalPlan("update", q, new_text, priced)


def _texts(root: Path, repo: Repo, contract_id: str) -> dict[str, str]:
    """The file text of each renewal quote of the contract (what regeneration compares with)."""
    from cpqctl.core import renewal

    out = {}
    for q in renewal.renewal_quotes(repo, contract_id):
        path = root / q.src.file
        out[q.quote] = path.read_text(encoding="utf-8") if path.exists() else ""
    return out


def _plan(root: Path, repo: Repo, c: Contract, day: date, pricing: RenewalPricing, ids, force: bool) -> RenewalPlan:
    """The plan for one contract, a fresh quote ID taken from ``ids`` (:class:`cpqctl.app.numbers.QuoteIds`) only
    when one is created."""
    texts = _texts(root, repo, c.contract)
    new_id = None if texts else ids.peek(day)
    p = plan_renewal(repo, c, day, pricing, new_id, texts, force)
    if p.action == "create" and new_id is not None:
        ids.take(new_id)
    return p


def _stage(tx, root: Path, p: RenewalPlan) -> tuple[str, ...]:
    """Stage the plan's write; the file written, if any."""
    from cpqctl.store import sha256_file

    rel = f"quotes/{p.quote.quote}.yaml"
    if p.action == "create":
        tx.create(rel, p.text)
    elif p.action == "update":
        tx.write(rel, p.text, expect_sha256=sha256_file(root / rel))
    else:
        return ()
    return (rel,)


def _check_within(within: int | None) -> None:
    """A window of days is at most the longest notice a data file may hold (10 years); beyond it, a typo."""
    from cpqctl.load.schema import MAX_DAYS

    if within is not None and not 0 <= within <= MAX_DAYS:
        raise UsageError("E-RANGE", f"--within {within} is not 0 to {MAX_DAYS} days", "e.g. --within 90")


def _check_term(term: int | None) -> None:
    if term is not None and term <= 0:
        raise UsageError("E-USAGE", "--term is a positive number of months", "e.g. --term 12")
    from cpqctl.app.quotes import _check_term_bound

    _check_term_bound(term)


@dataclass(frozen=True)
class RenewResult(QuoteResult):
    """The renewal quote of one contract (:class:`~cpqctl.app.quotes.QuoteResult`) and what was done:
    ``action`` create | update | unchanged, or dry-run."""

    action: str = "dry-run"


def renew(
    ws: Workspace,
    contract: str,
    *,
    pricing: str | None = None,
    uplift: Decimal | None = None,
    term: int | None = None,
    force: bool = False,
    as_of: date | None = None,
    dry_run: bool = False,
    basis: str | None = None,
) -> RenewResult:
    """Generate the renewal quote of ``contract`` (a draft), or regenerate it in place if the ledger changed.

    The quote starts the day after the contract ends and holds the renewable
    subscriptions active on its last day, priced by ``pricing`` (same | list |
    uplift; ``uplift`` in percent points implies uplift) for ``term`` months,
    the uplift applied to the price ``basis`` names (last | ramp) — each, when
    not given, from the contract, the account, then cpq.toml. An index-linked
    uplift takes the index value published by the as-of day
    (docs/renewal-uplift.md); the JSON's ``renewal`` and each uplifted line's
    steps say how the uplift came about. A draft edited by hand needs
    ``force``; an accepted renewal quote is never touched. Refused for an
    evergreen, cancelled or already renewed contract.
    """
    from cpqctl.app.numbers import Numbers
    from cpqctl.core import quotes, renewal

    _check_term(term)
    day = ws.day(as_of)
    with ws.writing_contract(contract) as (store, repo):
        c = lookup(
            repo.contracts,
            contract,
            "contract",
            "E-UNKNOWN-CONTRACT",
            "`cpqctl account show ACCOUNT` lists its contracts",
        )
        renewal.check_renewable(repo, c)  # before the term: an evergreen contract has none
        method = renewal.resolve_terms(
            c, repo.accounts[c.account], repo.settings, pricing, uplift, term, basis=basis, on=day
        )
        ids = Numbers.here(ws.root, repo.settings).quote_ids(ws.quote_ids(repo))
        p = _plan(ws.root, repo, c, day, method, ids, force)
        priced = quotes.price(repo, p.quote)
        written: tuple[str, ...] = ()
        if not dry_run:
            with store.transaction() as tx:
                written = _stage(tx, ws.root, p)
        shown = quote_result(repo, p.quote, priced, day, unnamed=dry_run and p.action == "create")
    rel = f"quotes/{p.quote.quote}.yaml"
    action = "dry-run" if dry_run else p.action
    shown.data["action"] = action
    _explain(shown.data, c, method, p.lines)
    if dry_run:
        message = ""
    elif p.action == "unchanged":
        message = f"{rel} is up to date"
    else:
        message = f"{'wrote' if p.action == 'create' else 'regenerated'} {rel}"
    return RenewResult(p.quote, priced, shown.status, shown.data, written, message, action)


def _explain(data: dict, c: Contract, terms: RenewalPricing, lines: tuple[RenewalLine, ...]) -> None:
    """How the renewal was priced, in the JSON: ``renewal`` (method, uplift, basis, the index reading) and, on
    each uplifted line, two steps before the agreed price: the price the uplift applied to, then the uplift."""
    from cpqctl.core.money import fmt_percent, money_str
    from cpqctl.core.renewal import last_day, uplift_note

    ix = terms.index
    data["renewal"] = {
        "pricing": terms.pricing,
        "term": terms.term,
        "uplift": fmt_percent(terms.uplift) if terms.pricing == "uplift" else None,
        "uplift_basis": terms.basis if terms.pricing == "uplift" else None,
        "index": None
        if ix is None
        else {
            "index": ix.index,
            "period": ix.period,
            "value": fmt_percent(ix.value),
            "published": ix.published.isoformat(),
            "plus": fmt_percent(ix.plus),
            "floor": fmt_percent(ix.floor) if ix.floor is not None else None,
            "cap": fmt_percent(ix.cap) if ix.cap is not None else None,
            "uplift": fmt_percent(ix.uplift),
            "source": str(ix.src),
        },
        "note": uplift_note(terms) or None,
    }
    if terms.pricing != "uplift":
        return
    cur = data["currency"]
    pct = fmt_percent(terms.uplift)
    label = f"uplift {pct}" + (f" ({ix.index} {ix.period})" if ix is not None else "")
    if terms.basis == "ramp":
        base_step, base_note = "ramp's first price", f"{c.contract}: the first step of the line's ramp"
    else:
        base_step, base_note = "last price", f"{c.contract} on its last day, {last_day(c)}"
    for ln in data["lines"]:
        match = next(
            (
                r
                for r in lines
                if r.product == ln["product"]
                and r.base_price is not None
                and r.unit_price is not None
                and money_str(r.unit_price, cur) == ln["net_unit_price"]
            ),
            None,
        )
        if match is None or match.base_price is None:
            continue
        base = money_str(match.base_price, cur)
        note = f"{base} × (1 + {pct})" + (f"; {ix.explain()}" if ix is not None else "")
        steps = ln["steps"]
        at = next((i for i, s in enumerate(steps) if s["step"] == "agreed price"), len(steps))
        steps[at:at] = [
            {"step": base_step, "unit_price": base, "note": base_note},
            {"step": label, "unit_price": ln["net_unit_price"], "note": note},
        ]


# --------------------------------------------------------------------------- every renewal due


@dataclass(frozen=True)
class RenewDueResult:
    """`renew --due`: per contract due, its action and quote (``data``); ``skipped`` the drafts edited by hand."""

    as_of: date
    within: int
    dry_run: bool
    skipped: tuple[str, ...]
    data: dict
    written: tuple[str, ...]
    message: str


def renew_due(
    ws: Workspace,
    *,
    within: int | None = None,
    pricing: str | None = None,
    uplift: Decimal | None = None,
    term: int | None = None,
    force: bool = False,
    as_of: date | None = None,
    dry_run: bool = False,
    basis: str | None = None,
) -> RenewDueResult:
    """Create the missing renewal quotes (and regenerate the changed drafts) of every contract ending within
    ``within`` days (default cpq.toml [renewal] notice_days) of the as-of day.

    Contracts with an accepted renewal quote are left out; a draft edited by
    hand (without ``force``) is skipped and named in ``skipped``. Every file
    is written in one transaction.
    """

    _check_term(term)
    _check_within(within)
    day = ws.day(as_of)
    if dry_run:  # remembered: a dry run asked again on an unchanged repository is a walk of its entries
        from cpqctl.app.remember import remembered
        from cpqctl.load.remembered import FOLDERS

        question = [within, pricing, uplift, term, force, day, basis]
        compute = lambda: _renew_due(ws, within, pricing, uplift, term, force, day, True, basis)  # noqa: E731
        return remembered(ws, "renew-due", question, FOLDERS, compute, RenewDueResult)
    return _renew_due(ws, within, pricing, uplift, term, force, day, False, basis)


def _renew_due(
    ws: Workspace,
    within: int | None,
    pricing: str | None,
    uplift: Decimal | None,
    term: int | None,
    force: bool,
    day: date,
    dry_run: bool,
    basis: str | None,
) -> RenewDueResult:
    from cpqctl.core import renewal
    from cpqctl.views.renewals import renew_due_json

    skipped: list[str] = []
    from cpqctl.app.numbers import Numbers

    def plan_and_write(store, repo) -> tuple[int, list[tuple[Contract, RenewalPlan]], tuple[str, ...]]:
        ids = Numbers.here(ws.root, repo.settings).quote_ids(repo.quotes)
        window = within if within is not None else repo.settings.notice_days
        plans: list[tuple[Contract, RenewalPlan]] = []
        for c in renewal.due(repo, day, window):
            if any(q.status == "accepted" for q in renewal.renewal_quotes(repo, c.contract)):
                continue
            method = renewal.resolve_terms(
                c, repo.accounts[c.account], repo.settings, pricing, uplift, term, basis=basis, on=day
            )
            try:
                plans.append((c, _plan(ws.root, repo, c, day, method, ids, force)))
            except CpqError as e:
                if e.code != "E-EDITED":
                    raise
                skipped.append(f"skipped {c.contract}: {e.message}")
        written: tuple[str, ...] = ()
        if not dry_run:
            assert store is not None
            with store.transaction() as tx:
                for _, p in plans:
                    written += _stage(tx, ws.root, p)
        return window, plans, written

    # on a repository `check` finds no error, a dry run and a write read no invoice or payment (the whole model at
    # 50,000 accounts with a year of invoices: 0.9 GB): renewal quotes are priced from the contracts, accounts and
    # catalog. One with errors loads the whole, whose refusal (or answer) is the one given.
    got = None
    if dry_run:
        light = ws.read_if_clean(frozenset(RENEWAL_KINDS))
        if light is not None:
            got = plan_and_write(None, light)
    else:
        with ws.writing_kinds(frozenset(RENEWAL_KINDS)) as kept:
            if kept is not None:
                got = plan_and_write(*kept)
    if got is None:
        with ws.writing() as (store, repo):
            got = plan_and_write(store, repo)
    window, plans, written = got
    done = [(c, p.quote.quote if not dry_run or p.action != "create" else None, p.action) for c, p in plans]
    data = renew_due_json(day, window, dry_run, done)
    message = ""
    if not dry_run:
        message = (
            f"{sum(p.action == 'create' for _, p in plans)} renewal quote(s) created, "
            f"{sum(p.action == 'update' for _, p in plans)} regenerated"
        )
    return RenewDueResult(day, window, dry_run, tuple(skipped), data, written, message)


# --------------------------------------------------------------------------- the renewals view


# What the renewals view reads: the contracts, their accounts and renewal quotes, the catalog that prices them; not
# the invoice ledger (two thirds of the files at 10,000 accounts billed through a year)
RENEWAL_KINDS = ("catalog", "account", "contract", "quote")


@dataclass(frozen=True)
class RenewalsResult:
    """`renewals`: the contracts ending within ``within`` days, ARR at stake and their renewal quote's status."""

    as_of: date
    within: int
    rows: list[dict]
    data: dict


def renewals_due(ws: Workspace, *, within: int | None = None, as_of: date | None = None) -> RenewalsResult:
    """Contracts ending within ``within`` days (default cpq.toml [renewal] notice_days), renewed ones included
    with their accepted renewal quote; the quote's status is "error" when it no longer prices."""
    from cpqctl.app.remember import REPORTS, remembered

    _check_within(within)
    day = ws.day(as_of)
    return remembered(
        ws, "renewals", [within, day], (*REPORTS, "quotes"), lambda: _renewals(ws, within, day), RenewalsResult
    )


def _renewals(ws: Workspace, within: int | None, day: date) -> RenewalsResult:
    from cpqctl.core import quotes, renewal
    from cpqctl.views.renewals import renewal_row, renewals_json

    repo = ws.read(RENEWAL_KINDS)
    window = within if within is not None else repo.settings.notice_days
    rows = []
    for c in renewal.due(repo, day, window, include_renewed=True):
        mine = renewal.renewal_quotes(repo, c.contract)
        q = next((x for x in mine if x.status == "accepted"), mine[-1] if mine else None)
        st = None
        if q is not None:
            try:
                st = quotes.quote_status(q, quotes.price(repo, q), repo.settings, day)
            except CpqError:
                st = "error"
        rows.append(
            renewal_row(c, renewal.last_day(c), renewal.arr_on_last_day(c, repo.settings), q.quote if q else None, st)
        )
    return RenewalsResult(day, window, rows, renewals_json(day, window, rows))


# --------------------------------------------------------------------------- the forecast by month


@dataclass(frozen=True)
class ForecastResult:
    """`renewals --by month`: per month, in the company currency when every currency converts (``convertible``).

    ``data`` is the JSON shape: ``rows`` (company currency; blank figures when
    not convertible), ``total``, ``currencies`` (per currency and month) and
    ``contracts``; ``note`` says why there are no company-currency figures.
    """

    as_of: date
    first: date
    months: int
    risk_days: int
    currency: str
    convertible: bool
    currencies_in_use: int
    note: str | None
    data: dict


def renewals_forecast(
    ws: Workspace, *, first: date | None = None, months: int = 12, risk_days: int = 30, as_of: date | None = None
) -> ForecastResult:
    """The renewal forecast: per calendar month from ``first``'s (default: the as-of month), the fixed-term
    contracts ending in it, their ARR on the last day and how much of it is accepted, quoted, not yet quoted,
    and at risk (not quoted, ending within ``risk_days`` of the as-of day). Totals in the company currency
    (converted with cpq.toml [fx]), or, without a rate for a currency in use, per currency only."""
    from cpqctl.core import metrics, renewal
    from cpqctl.views.renewals import forecast_json

    if months <= 0:
        raise UsageError("E-USAGE", "--months is a positive number", "e.g. --months 12")
    if risk_days < 0:
        raise UsageError("E-USAGE", "--within is a number of days, 0 or more", "e.g. --within 30")
    day = ws.day(as_of)
    start = renewal.month_start(first if first is not None else day)
    repo = ws.read(RENEWAL_KINDS)
    s = repo.settings
    items = renewal.endings(repo, day, start, months, risk_days)
    per_currency = renewal.by_month(items, start, months)
    company = renewal.by_month_in(items, start, months, s)
    note = None
    if company is None:
        note = (
            f"no [fx] rate for {', '.join(metrics.missing_rates(s, per_currency))}: "
            f"no totals in {s.currency}; see the per-currency figures"
        )
    data = forecast_json(day, start, months, risk_days, s, items, per_currency, company, note)
    return ForecastResult(day, start, months, risk_days, s.currency, company is not None, len(per_currency), note, data)
