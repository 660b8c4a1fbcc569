"""Renewal quotes (SPEC §3 "Renewals"), the renewals-due view (SPEC §5) and the forecast by month.

A renewal quote is a pure function of the ledger: the renewable segments
active on the contract's last day, merged, priced by the renewal method, from
the day after the contract ends. The uplift's basis (``last`` | ``ramp``)
and index-linked uplifts (``{index: cpi-pl, plus: 5%, floor: 8%}``, values
from ``indices/*.yaml``) are specified in docs/renewal-uplift.md. Its file
text (and how a draft edited by hand is recognised) is in
:mod:`cpqctl.formats.quotes`; creating or regenerating the draft in
:mod:`cpqctl.app.renew`.

Pure: records and dates in, records out; no IO, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from cpqctl.core import ledger
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.metrics import missing_rates, rate
from cpqctl.core.model import (
    UPLIFT_BASES,
    Account,
    Catalog,
    Contract,
    IndexUplift,
    IndexValue,
    PriceIndex,
    Quote,
    QuoteLine,
    Repo,
    Settings,
    Source,
)
from cpqctl.core.money import fmt_percent, money_str, round_money
from cpqctl.core.proration import add_months, months_between
from cpqctl.core.terms import RENEWAL_PRICING, contract_terms

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class IndexReading:
    """How an index-linked uplift came out: the index value used (``src``: where it is written) and the uplift,
    ``value + plus``, at least ``floor``, at most ``cap`` (percent points)."""

    index: str
    period: str
    value: Decimal
    published: date
    plus: Decimal
    floor: Decimal | None
    cap: Decimal | None
    uplift: Decimal
    src: Source

    def explain(self) -> str:
        """E.g. ``index cpi-pl 2026-10: 4.9% + 5% = 9.9% (floor 8%)``, or ``… = 6.2%, raised to the floor 8%``."""
        raw = self.value + self.plus
        text = f"index {self.index} {self.period}: {fmt_percent(self.value)} + {fmt_percent(self.plus)} = "
        text += fmt_percent(raw)
        if self.floor is not None and raw < self.floor:
            return f"{text}, raised to the floor {fmt_percent(self.uplift)}"
        if self.cap is not None and raw > self.cap:
            return f"{text}, lowered to the cap {fmt_percent(self.uplift)}"
        bounds = [f"{name} {fmt_percent(v)}" for name, v in (("floor", self.floor), ("cap", self.cap)) if v is not None]
        return text + (f" ({', '.join(bounds)})" if bounds else "")


@dataclass(frozen=True, slots=True)
class RenewalPricing:
    """The resolved renewal method: option > contract > account > cpq.toml, field by field.

    (Not :class:`cpqctl.core.model.RenewalTerms`, the ``renewal:`` block as a
    contract or account writes it, each field optional.) ``uplift`` is the
    percentage applied, an index-linked one worked out (``index`` says how);
    ``basis`` what it applies to: ``last`` (each line's price on the
    contract's last day) or ``ramp`` (the first price of the line's ramp).
    """

    pricing: str
    uplift: Decimal  # percent points
    term: int
    basis: str = "last"
    index: IndexReading | None = None


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
    base_price: Decimal | None = None  # uplift pricing: the price the uplift was applied to (by the basis)


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
    *,
    basis: str | None = None,
    on: date | None = None,
) -> RenewalPricing:
    """Each of pricing, uplift, uplift basis and term from the first that names it: options, contract, account,
    cpq.toml.

    An uplift given without a pricing implies uplift pricing. An index-linked
    uplift (of uplift pricing) is worked out from the index value published on
    or before ``on`` (the renewal quote's as-of day; without one, the
    contract's last day): :func:`index_uplift`.
    """
    if pricing is None and uplift is not None:
        pricing = "uplift"
    layers = (c.renewal, account.renewal)
    pricing = pricing or next((x.pricing for x in layers if x.pricing), None) or settings.renewal_pricing
    if pricing not in RENEWAL_PRICING:
        raise UsageError("E-USAGE", f"unknown renewal pricing `{pricing}`", "same, list or uplift")
    spec: IndexUplift | None = None
    if uplift is None:
        named = next((x for x in layers if x.uplift is not None or x.uplift_index is not None), None)
        uplift, spec = (
            (named.uplift, named.uplift_index) if named else (settings.renewal_uplift, settings.renewal_uplift_index)
        )
    basis = basis or next((x.uplift_basis for x in layers if x.uplift_basis), None) or settings.renewal_uplift_basis
    if basis not in UPLIFT_BASES:
        raise UsageError("E-USAGE", f"unknown uplift basis `{basis}`", "last or ramp")
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
    reading = None
    if spec is not None:
        if pricing == "uplift":
            reading = index_uplift(spec, settings.indices, on if on is not None else ledger.current_end(c) or c.start)
        uplift = reading.uplift if reading is not None else Decimal(0)
    return RenewalPricing(pricing, uplift if uplift is not None else Decimal(0), term, basis, reading)


# --------------------------------------------------------------------------- index-linked uplifts

# How long after its period ends a value may still be the latest one: by then the next period's value is
# published (monthly CPI about two weeks after the month, a yearly average in the next January–February).
STALE_AFTER_MONTHS = {"month": 3, "year": 15}


def period_end(period: str) -> date:
    """The last day of an index period: ``2026-10`` → 2026-10-31, ``2026`` → 2026-12-31."""
    if len(period) == 4:
        return date(int(period), 12, 31)
    first = date(int(period[:4]), int(period[5:7]), 1)
    return add_months(first, 1) - _ONE_DAY


def value_on(ix: PriceIndex, on: date) -> IndexValue | None:
    """The value in force on ``on``: of the latest period among those published on or before ``on``."""
    return next((v for v in reversed(ix.values) if v.published <= on), None)


def index_uplift(spec: IndexUplift, indices: Mapping[str, PriceIndex], on: date) -> IndexReading:
    """The uplift ``spec`` gives on ``on``: MAX(floor, MIN(cap, value + plus)), the value :func:`value_on` ``on``.

    Refused (with the position to fix) when the index has no file, no value
    published by ``on``, or only a stale one (its period ended more than 3
    months — a yearly index: 15 months — before ``on``: the file was not kept
    up to date).
    """
    ix = indices.get(spec.index)
    if ix is None:
        known = ", ".join(sorted(indices)) or "none"
        raise CpqError(
            "E-INDEX-UNKNOWN",
            f"the renewal uplift is linked to the index `{spec.index}`, but there is no indices/{spec.index}.yaml",
            f"add indices/{spec.index}.yaml with its values (docs/renewal-uplift.md), or fix the name "
            f"(indices: {known})",
            src=spec.src,
        )
    v = value_on(ix, on)
    example = f"e.g. `{_example_period(ix, on)}: 4.9%` under `values:`"
    if v is None:
        first = f" (the first, {ix.values[0].period}, is published on {ix.values[0].published})" if ix.values else ""
        raise CpqError(
            "E-INDEX-NO-VALUE",
            f"index {spec.index} has no value published on or before {on}{first}",
            f"add the value published by then to {ix.src.file}, {example}",
            src=ix.src,
        )
    kind = "year" if len(v.period) == 4 else "month"
    usable_until = add_months(period_end(v.period) + _ONE_DAY, STALE_AFTER_MONTHS[kind]) - _ONE_DAY
    if on > usable_until:
        raise CpqError(
            "E-INDEX-STALE",
            f"index {spec.index}: the latest value published by {on} is for {v.period}, which ended more than "
            f"{STALE_AFTER_MONTHS[kind]} months earlier: the file is not up to date",
            f"add the values published since to {ix.src.file}, {example}",
            src=v.src,
        )
    raw = v.value + spec.plus
    pct = raw if spec.cap is None else min(raw, spec.cap)
    pct = pct if spec.floor is None else max(pct, spec.floor)
    return IndexReading(spec.index, v.period, v.value, v.published, spec.plus, spec.floor, spec.cap, pct, v.src)


def _example_period(ix: PriceIndex, on: date) -> str:
    """The period an example in a hint names: the month (or year) before ``on``'s."""
    yearly = bool(ix.values) and len(ix.values[0].period) == 4
    return str(on.year - 1) if yearly else (on.replace(day=1) - _ONE_DAY).strftime("%Y-%m")


def uplift_note(terms: RenewalPricing) -> str:
    """How the uplift came about, beyond "uplift P%": its basis and index reading ("" for a plain uplift on the
    last price). The renewal draft's ``# renewal pricing:`` comment and `renew`'s JSON (``renewal.note``) carry it."""
    if terms.pricing != "uplift":
        return ""
    parts = [terms.index.explain()] if terms.index is not None else []
    if terms.basis == "ramp":
        parts.append("on the first price of each line's ramp (uplift basis: ramp)")
    return "; ".join(parts)


# --------------------------------------------------------------------------- lines


def renewal_lines(c: Contract, catalog: Catalog, settings: Settings, terms: RenewalPricing) -> list[RenewalLine]:
    """The renewable segments active on the contract's last day, merged, at the renewal price.

    Renewable: recurring (a `per`) and, when the catalog knows the product, a
    subscription. Segments of one product at the same net unit price, `per`,
    pricing and bundle merge into one line (amendment deltas included); a
    merged quantity of zero drops the line. An uplifted price is rounded as
    the contract rounds (its own ``rounding:``, else cpq.toml's), from the
    price the basis names: ``last``, the line's price on the last day;
    ``ramp``, the price of the earliest segment of the same product, `per`,
    pricing and bundle with a positive quantity (the first step of its ramp).
    Lines that come out at the same price merge too.
    """
    last = last_day(c)
    merged: dict[tuple, list] = {}
    first: dict[tuple, tuple[date, Decimal]] = {}  # (product, per, pricing, bundle) → the ramp's first (start, price)
    for s in c.segments():
        p = catalog.products.get(s.product)
        if s.one_time or (p is not None and not p.recurring):
            continue
        ramp = (s.product, s.per, s.pricing, s.bundle)
        if s.quantity > 0 and (ramp not in first or s.start < first[ramp][0]):
            first[ramp] = (s.start, s.unit_price)
        if not s.covers(last):
            continue
        key = (s.product, s.unit_price, s.per, s.pricing, s.bundle)
        if key in merged:
            merged[key][0] += s.quantity
        else:
            merged[key] = [s.quantity, s.list_price]
    rounding = contract_terms(c, settings).rounding
    out: list[RenewalLine] = []
    priced: dict[tuple, list] = {}
    for (product, unit, per, pricing, bundle), (qty, list_price) in merged.items():
        if qty == 0:
            continue
        if terms.pricing == "list":  # the catalog decides (bundle options are re-tagged by the pricing)
            out.append(RenewalLine(product, qty, None))
            continue
        price, base = unit, None
        if terms.pricing == "uplift":
            ramp = (product, per, pricing, bundle)
            base = first[ramp][1] if terms.basis == "ramp" and ramp in first else unit
            price = round_money(Fraction(base) * (1 + Fraction(terms.uplift) / 100), c.currency, rounding)
        key = (product, price, per, pricing, bundle)
        if key in priced:
            priced[key][0] += qty
        else:
            priced[key] = [qty, list_price, base]
    for (product, price, per, pricing, bundle), (qty, list_price, base) in priced.items():
        if qty == 0:
            continue
        shown_list = list_price if list_price is not None and list_price >= price else None
        out.append(
            RenewalLine(
                product, qty, per, price, shown_list, pricing if pricing != "list" else None, bundle, base_price=base
            )
        )
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
