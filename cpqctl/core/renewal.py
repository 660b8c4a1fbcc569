"""Renewal quotes (SPEC §3 "Renewals"), the renewals-due view (SPEC §5) and the forecast by month.

A renewal quote is a pure function of the ledger: the renewable segments
active on the contract's last day, merged, priced by the renewal method, from
the day after the contract ends. Its file text (and how a draft edited by
hand is recognised) is in :mod:`cpqctl.formats.quotes`; creating or
regenerating the draft in :mod:`cpqctl.app.renew`.

Pure: records and dates in, records out; no IO, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from cpqctl.core import ledger
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.metrics import missing_rates, rate
from cpqctl.core.model import Account, Catalog, Contract, Quote, QuoteLine, Repo, Settings, Source
from cpqctl.core.money import money_str, round_money
from cpqctl.core.proration import add_months, months_between
from cpqctl.core.terms import RENEWAL_PRICING, contract_terms

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RenewalPricing:
    """The resolved renewal method: option > contract > account > cpq.toml, field by field.

    (Not :class:`cpqctl.core.model.RenewalTerms`, the ``renewal:`` block as a
    contract or account writes it, each field optional.)
    """

    pricing: str
    uplift: Decimal  # percent points
    term: int


@dataclass(frozen=True, slots=True)
class RenewalLine:
    """One renewal quote line: ``unit_price`` None means "re-price from the catalog"."""

    product: str
    quantity: Decimal
    per: str | None
    unit_price: Decimal | None = None
    list_price: Decimal | None = None
    pricing: str | None = None
    bundle: str | None = None


# --------------------------------------------------------------------------- rules


def successor(repo: Repo, contract_id: str) -> str | None:
    """The contract that renews ``contract_id`` (the reverse link of `renews:`), if any."""
    return repo.successors.get(contract_id)


def check_renewable(repo: Repo, c: Contract) -> None:
    """Refuse evergreen, cancelled and already renewed contracts (exit 1, naming the rule)."""
    if c.evergreen:
        raise CpqError(
            "E-EVERGREEN",
            f"contract {c.contract} is evergreen: it runs until cancelled and is never renewed",
            "amend it instead (`cpqctl amend`)",
            src=c.where("evergreen"),
        )
    canc = ledger.cancellation(c)
    if canc is not None:
        raise CpqError(
            "E-CANCELLED",
            f"contract {c.contract} is cancelled (from {canc.date}); it cannot be renewed",
            "sell a new contract with `cpqctl quote new`",
            src=c.src,
        )
    succ = successor(repo, c.contract)
    if succ is not None:
        raise CpqError("E-RENEWED", f"contract {c.contract} is already renewed by {succ}", "", src=c.src)


def whole_months(start: date, end: date) -> int | None:
    """The number of whole months from ``start`` to ``end`` (inclusive), None if it is not whole."""
    m = months_between(start, end, "monthly+daily")  # whole anniversaries plus a day fraction
    return int(m) if m.denominator == 1 and m > 0 else None


def resolve_terms(
    c: Contract,
    account: Account,
    settings: Settings,
    pricing: str | None = None,
    uplift: Decimal | None = None,
    term: int | None = None,
) -> RenewalPricing:
    """Each of pricing, uplift and term from the first that names it: options, contract, account, cpq.toml.

    An uplift given without a pricing implies uplift pricing.
    """
    if pricing is None and uplift is not None:
        pricing = "uplift"
    layers = (c.renewal, account.renewal)
    pricing = pricing or next((x.pricing for x in layers if x.pricing), None) or settings.renewal_pricing
    if pricing not in RENEWAL_PRICING:
        raise UsageError("E-USAGE", f"unknown renewal pricing `{pricing}`", "same, list or uplift")
    if uplift is None:
        uplift = next((x.uplift for x in layers if x.uplift is not None), settings.renewal_uplift)
    if term is None:
        term = c.renewal.term
    if term is None:
        end = ledger.current_end(c)
        term = whole_months(c.start, end) if end is not None else None
        if term is None:
            raise CpqError(
                "E-RENEWAL-TERM",
                f"contract {c.contract} ({c.start}..{end}) is not a whole number of "
                "months; its renewal term must be given",
                "add renewal: {term: 12} to the contract, or give the renewal a term",
                src=c.src,
            )
    if term <= 0:  # a term given to the call is refused before (app/renew); this one is the contract's or account's
        raise UsageError(
            "E-USAGE",
            "the renewal term is a positive number of months",
            "e.g. renewal: {term: 12} on the contract or its account",
        )
    return RenewalPricing(pricing, uplift, term)


# --------------------------------------------------------------------------- lines


def renewal_lines(c: Contract, catalog: Catalog, settings: Settings, terms: RenewalPricing) -> list[RenewalLine]:
    """The renewable segments active on the contract's last day, merged, at the renewal price.

    Renewable: recurring (a `per`) and, when the catalog knows the product, a
    subscription. Segments of one product at the same net unit price, `per`,
    pricing and bundle merge into one line (amendment deltas included); a
    merged quantity of zero drops the line. An uplifted price is rounded as
    the contract rounds (its own ``rounding:``, else cpq.toml's).
    """
    last = last_day(c)
    merged: dict[tuple, list] = {}
    for s in c.segments():
        p = catalog.products.get(s.product)
        if s.one_time or not s.covers(last) or (p is not None and not p.recurring):
            continue
        key = (s.product, s.unit_price, s.per, s.pricing, s.bundle)
        if key in merged:
            merged[key][0] += s.quantity
        else:
            merged[key] = [s.quantity, s.list_price]
    rounding = contract_terms(c, settings).rounding
    out: list[RenewalLine] = []
    for (product, unit, per, pricing, bundle), (qty, list_price) in merged.items():
        if qty == 0:
            continue
        if terms.pricing == "list":  # the catalog decides (bundle options are re-tagged by the pricing)
            out.append(RenewalLine(product, qty, None))
            continue
        price = unit
        if terms.pricing == "uplift":
            price = round_money(Fraction(unit) * (1 + Fraction(terms.uplift) / 100), c.currency, rounding)
        shown_list = list_price if list_price is not None and list_price >= price else None
        out.append(RenewalLine(product, qty, per, price, shown_list, pricing if pricing != "list" else None, bundle))
    return out


def last_day(c: Contract) -> date:
    """The contract's last day of service; refused for an evergreen contract (it has none, is never renewed)."""
    end = ledger.current_end(c)
    if end is None:
        raise CpqError(
            "E-EVERGREEN",
            f"contract {c.contract} is evergreen: it runs until cancelled and is never renewed",
            "amend it instead (`cpqctl amend`)",
            src=c.where("evergreen"),
        )
    return end


def renewal_start(c: Contract) -> date:
    return last_day(c) + _ONE_DAY


def quote_record(
    qid: str, c: Contract, day: date, terms: RenewalPricing, lines: list[RenewalLine], billing: str | None
) -> Quote:
    """The renewal quote as a record (what the loader reads back from its file text)."""
    return Quote(
        quote=qid,
        account=c.account,
        date=day,
        kind="renewal",
        contract=c.contract,
        currency=c.currency,
        start=renewal_start(c),
        term=terms.term,
        billing_frequency=billing,
        src=Source(f"quotes/{qid}.yaml"),
        lines=tuple(
            QuoteLine(
                product=ln.product,
                quantity=ln.quantity,
                list_price=ln.list_price,
                unit_price=ln.unit_price,
                per=ln.per if ln.unit_price is not None else None,
                pricing=ln.pricing,
                bundle=ln.bundle,
                src=Source(f"quotes/{qid}.yaml"),
            )
            for ln in lines
        ),
    )


def renewal_quotes(repo: Repo, contract_id: str) -> list[Quote]:
    """Every renewal quote of ``contract_id`` (accepted ones keep naming it), oldest ID first."""
    return [q for q in repo.quotes_by_contract.get(contract_id, ()) if q.kind == "renewal"]


# --------------------------------------------------------------------------- due


def due(repo: Repo, as_of: date, within: int, include_renewed: bool = False) -> list[Contract]:
    """Contracts to renew: active, fixed-term, not cancelled, ending within ``within`` days, no successor.

    ``include_renewed`` keeps those already renewed (the renewals view shows them with their accepted quote).
    """
    horizon = as_of + timedelta(days=within)
    out = []
    for c in repo.contracts.values():
        end = ledger.current_end(c)
        if c.evergreen or end is None or ledger.cancellation(c) is not None:
            continue
        if ledger.status(c, as_of) != "active" or not (as_of <= end <= horizon):
            continue
        if include_renewed or successor(repo, c.contract) is None:
            out.append(c)
    return sorted(out, key=lambda c: (ledger.current_end(c), c.contract))


def arr_on_last_day(c: Contract, settings: Settings) -> str:
    """ARR at stake: 12 × MRR on the contract's last day, as a money string."""
    return money_str(renewal_arr(c, settings), c.currency)


# --------------------------------------------------------------------------- forecast by month

STAGES = ("accepted", "quoted", "not_quoted")
FIGURES = ("arr", "quoted", "accepted", "not_quoted", "at_risk")


def stage(repo: Repo, c: Contract, as_of: date) -> str:
    """Where the renewal of ``c`` stands on ``as_of``: accepted | quoted | not_quoted.

    accepted: a successor contract renews it (the accepted renewal quote made
    one) or a renewal quote naming it is accepted; quoted: an open renewal
    quote (not accepted, still valid on ``as_of``); not_quoted: none, or only
    expired ones.
    """
    from cpqctl.core.quotes import valid_until

    mine = renewal_quotes(repo, c.contract)
    if successor(repo, c.contract) is not None or any(q.status == "accepted" for q in mine):
        return "accepted"
    if any(valid_until(q, repo.settings) >= as_of for q in mine):
        return "quoted"
    return "not_quoted"


def renewal_arr(c: Contract, settings: Settings) -> Decimal:
    """ARR up for renewal: 12 × MRR on the contract's last day, rounded in its currency.

    Rounded per contract (its effective rounding, :func:`~cpqctl.core.terms.contract_terms`) so that the monthly
    figures are sums of the amounts a contract list prints and reconcile to the cent.
    """
    return round_money(ledger.mrr(c, last_day(c)) * 12, c.currency, contract_terms(c, settings).rounding)


def month_start(month: date, n: int = 0) -> date:
    """The first day of the month ``n`` months after ``month``'s (``n`` = 0: of ``month``'s own)."""
    return add_months(month.replace(day=1), n)


@dataclass(frozen=True, slots=True)
class Ending:
    """One contract in the forecast: its last day, ARR (own currency), stage, and whether it is at risk."""

    contract: Contract
    end: date
    arr: Decimal
    stage: str
    at_risk: bool


def endings(repo: Repo, as_of: date, first: date, months: int, risk_days: int = 30) -> list[Ending]:
    """The fixed-term, not cancelled contracts whose current end falls in the ``months`` months from ``first``.

    ``first`` is any day of the first month. At risk: not quoted, still
    running on ``as_of`` and ending within ``risk_days`` of it (a contract
    that already ended unquoted is lapsed, no longer at risk).
    """
    lo = month_start(first)
    hi = month_start(lo, months)
    horizon = as_of + timedelta(days=risk_days)
    out = []
    for c in repo.contracts.values():
        end = ledger.current_end(c)
        if c.evergreen or end is None or ledger.cancellation(c) is not None or not (lo <= end < hi):
            continue
        st = stage(repo, c, as_of)
        risky = st == "not_quoted" and as_of <= end <= horizon
        out.append(Ending(c, end, renewal_arr(c, repo.settings), st, risky))
    return sorted(out, key=lambda e: (e.end, e.contract.contract))


@dataclass(frozen=True, slots=True)
class Bucket:
    """One month's figures in one currency.

    ``arr`` = ``accepted + quoted + not_quoted`` to the cent; ``at_risk`` is part of ``not_quoted``.
    """

    month: date
    currency: str
    contracts: int
    arr: Decimal
    quoted: Decimal
    accepted: Decimal
    not_quoted: Decimal
    at_risk: Decimal


def _bucket(month: date, currency: str, amounts: list[tuple[Ending, Decimal]]) -> Bucket:
    zero = round_money(0, currency)
    sums = {k: zero for k in FIGURES}
    for e, amount in amounts:
        sums["arr"] += amount
        sums[e.stage] += amount
        if e.at_risk:
            sums["at_risk"] += amount
    return Bucket(month, currency, len(amounts), **sums)


def _grid(pairs: list[tuple[Ending, Decimal]], first: date, months: int, currency: str) -> list[Bucket]:
    lo = month_start(first)
    out = []
    for i in range(months):
        m = month_start(lo, i)
        out.append(_bucket(m, currency, [(e, v) for e, v in pairs if month_start(e.end) == m]))
    return out


def by_month(items: list[Ending], first: date, months: int) -> dict[str, list[Bucket]]:
    """Currency → its figures per month of the window (every month, zeros included), for every currency in use."""
    return {
        cur: _grid([(e, e.arr) for e in items if e.contract.currency == cur], first, months, cur)
        for cur in sorted({e.contract.currency for e in items})
    }


def by_month_in(items: list[Ending], first: date, months: int, settings: Settings) -> list[Bucket] | None:
    """Per month in the company currency (cpq.toml ``[fx]``), None when a currency in use has no rate.

    Each contract's ARR is converted and rounded on its own (the settings'
    policy), so the month's figures still add up to the cent.
    """
    cc = settings.currency
    if missing_rates(settings, {e.contract.currency for e in items}):
        return None
    pairs = [
        (e, round_money(Fraction(e.arr) * _rate(settings, e.contract.currency), cc, settings.rounding)) for e in items
    ]
    return _grid(pairs, first, months, cc)


def _rate(settings: Settings, currency: str) -> Fraction:
    """The rate of a currency :func:`missing_rates` has vouched for."""
    r = rate(settings, currency)
    if r is None:  # by_month_in asked missing_rates first
        raise ValueError(f"no [fx] rate for {currency}")
    return r
