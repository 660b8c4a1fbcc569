"""SaaS metrics over the contract ledgers: MRR/ARR, MRR movements, retention, LTV (SPEC §5).

Everything here is exact: MRR is a :class:`~fractions.Fraction` summed from
:func:`cpqctl.core.ledger.segment_mrr`, so one-time lines and segments not yet
started never count, evergreen segments (no end) always do, and a block line
counts its block price once. Amounts in other currencies are converted to the
company currency with cpq.toml ``[fx]`` (1 unit of the currency = rate in the
company currency); where a rate is missing the company-currency total is
``None`` and the per-currency totals still stand.

Movements are reconciled in *rounded* money: each account's MRR at both dates
is rounded to the company currency's minor unit first, and every movement is
a difference of those rounded figures, so
``mrr_start + new + expansion + reactivation − contraction − churn = mrr_end``
holds to the cent in what is printed, not only before rounding.

An account whose contract stays active at 0.00 MRR (moved to a free plan,
repriced to 0.00) is, by default, a *contraction* to 0.00 and still an
active logo — ChartMogul's rule (the only one for its accounts since 2025):
the customer has not left. cpq.toml ``[metrics] free_accounts = "churn"``
restores the other rule: no revenue is churn, whatever the contract says.
With "contraction", such an account going back to a paid price is an
expansion (it never left), and an account whose contract starts free and
later pays is new business when it pays (ChartMogul counts it the same way).

A report may count part of the ledger (:class:`Scope`, the `--account`,
`--product` and `--family` filters): :func:`scoped` gives the repository as
if the contracts held only the matching accounts' matching lines, and every
metric runs on it unchanged — so a filtered report's rows, totals and
movements are those of the matching segments, and reconcile as the whole
report does.

No IO, no clock: the dates are parameters.
"""

from __future__ import annotations

from calendar import monthrange
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from cpqctl.core import ledger
from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import Contract, Repo, Segment, Settings
from cpqctl.core.money import round_money
from cpqctl.core.proration import add_months

BY = ("account", "product", "family")
MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")
FREE_ACCOUNTS = ("contraction", "churn")  # cpq.toml [metrics] free_accounts; the first is the default
LTV_WINDOW_MONTHS = 6
ZERO = Fraction(0)
NO_FAMILY = "(none)"  # the family of a product without one (or not in the catalog), as the reports name it


# ---------------------------------------------------------------- currencies


def rate(settings: Settings, currency: str) -> Fraction | None:
    """Company-currency value of 1 unit of ``currency`` (1 for the company currency; None: no rate)."""
    if currency == settings.currency:
        return Fraction(1)
    r = settings.fx.get(currency)
    return Fraction(r) if r is not None else None


def missing_rates(settings: Settings, currencies: Iterable[str]) -> tuple[str, ...]:
    """The currencies in use that cannot be converted to the company currency."""
    return tuple(sorted({c for c in currencies if rate(settings, c) is None}))


def known_rate(settings: Settings, currency: str) -> Fraction:
    """:func:`rate`, where the caller has made sure it exists (:func:`missing_rates` is empty)."""
    r = rate(settings, currency)
    if r is None:
        raise fx_refusal(settings, (currency,))
    return r


def in_company(settings: Settings, amounts: Mapping[str, Fraction]) -> Fraction | None:
    """Σ amounts converted to the company currency, or None when a rate is missing."""
    if missing_rates(settings, amounts):
        return None
    return sum((v * known_rate(settings, cur) for cur, v in amounts.items()), ZERO)


def fx_refusal(settings: Settings, missing: tuple[str, ...]) -> CpqError:
    first = missing[0]
    return CpqError(
        "E-FX-MISSING",
        f"no exchange rate to {settings.currency} for {', '.join(missing)}: "
        "this metric needs every account in one currency",
        f'add `[fx] {first} = "…"` to cpq.toml (1 {first} in {settings.currency})',
    )


# ---------------------------------------------------------------- scope


def family_of(repo: Repo, product: str) -> str:
    """The product's family in the catalog, or ``(none)``."""
    p = repo.catalog.products.get(product)
    return (p.family if p is not None else "") or NO_FAMILY


@dataclass(frozen=True)
class Scope:
    """What a report counts: the accounts, products and families named (an empty set: all of them).

    A segment counts when its contract's account is one of ``accounts``, its
    product one of ``products`` and its product's family one of ``families``
    (each left out when empty): one of the values within a dimension, all
    the dimensions given.
    """

    accounts: frozenset[str] = frozenset()
    products: frozenset[str] = frozenset()
    families: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.accounts or self.products or self.families)


def scoped(repo: Repo, scope: Scope) -> Repo:
    """``repo`` with only the contracts of ``scope``'s accounts, holding only the segments of its products and
    families (a contract left without a segment is left out); the catalog, accounts and settings unchanged.

    Segments are deltas, so leaving some out leaves the others' quantities,
    MRR and dates as they were; the ends and cancellations of the contracts
    and their amendments are kept. A metric on the result is the metric of
    the matching segments alone: an account that drops the only product asked
    about has churned *from it* (or, on a free plan of it, contracted).
    """
    if not scope:
        return repo

    def keep(s: Segment) -> bool:
        return (not scope.products or s.product in scope.products) and (
            not scope.families or family_of(repo, s.product) in scope.families
        )

    contracts = {}
    for cid, c in repo.contracts.items():
        if scope.accounts and c.account not in scope.accounts:
            continue
        if scope.products or scope.families:
            c = replace(
                c,
                lines=tuple(s for s in c.lines if keep(s)),
                amendments=tuple(replace(a, lines=tuple(s for s in a.lines if keep(s))) for a in c.amendments),
            )
            if not c.segments():
                continue
        contracts[cid] = c
    return replace(repo, contracts=MappingProxyType(contracts))


# ---------------------------------------------------------------- MRR / ARR


def _key(repo: Repo, c: Contract, product: str, by: str) -> str:
    if by == "account":
        return c.account
    if by == "product":
        return product
    return family_of(repo, product)


def mrr_by(repo: Repo, day: date, by: str = "account") -> dict[tuple[str, str], Fraction]:
    """MRR on ``day`` per (key, currency), key the account, product or family; zero entries dropped."""
    if by not in BY:
        raise ValueError(f"unknown dimension {by!r}")
    out: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
    for c in repo.contracts.values():
        if c.start > day:
            continue  # a contract's segments never start before the contract
        for s in c.segments():
            m = ledger.segment_mrr(s, day)
            if m:
                out[(_key(repo, c, s.product, by), c.currency)] += m
    return {k: v for k, v in sorted(out.items()) if v != 0}


@dataclass(frozen=True)
class ArrReport:
    as_of: date
    by: str
    company_currency: str
    rows: dict[tuple[str, str], Fraction]  # (key, currency) → MRR
    currencies: dict[str, Fraction]  # currency → MRR
    total: Fraction | None  # MRR in the company currency; None when a rate is missing
    missing: tuple[str, ...]  # currencies without a rate


def arr_report(repo: Repo, day: date, by: str = "account") -> ArrReport:
    """MRR (and so ARR = 12 × MRR) on ``day``: per key and currency, per currency, in total."""
    rows = mrr_by(repo, day, by)
    cur: dict[str, Fraction] = defaultdict(Fraction)
    for (_, currency), m in rows.items():
        cur[currency] += m
    currencies = dict(sorted(cur.items()))
    missing = missing_rates(repo.settings, currencies)
    total = None if missing else in_company(repo.settings, currencies)
    return ArrReport(day, by, repo.settings.currency, rows, currencies, total, missing)


# ---------------------------------------------------------------- movements


def by_account(repo: Repo) -> dict[str, list[Contract]]:
    out: dict[str, list[Contract]] = defaultdict(list)
    for c in repo.contracts.values():
        out[c.account].append(c)
    return out


def account_mrr(settings: Settings, contracts: Iterable[Contract], day: date) -> Fraction:
    """One account's MRR on ``day`` in the company currency (every rate must exist)."""
    total = ZERO
    for c in contracts:
        if c.start <= day:
            m = ledger.mrr(c, day)
            if m:
                total += m * known_rate(settings, c.currency)
    return total


def in_force(settings: Settings, contracts: Iterable[Contract], day: date) -> bool:
    """Whether the account still has a customer relationship on ``day`` whatever it pays.

    True when ``[metrics] free_accounts`` is "contraction" and one of its
    contracts is active on ``day`` (started, not ended, not cancelled) and
    still holds a recurring product that day — at 0.00 MRR too (a free plan,
    a line repriced to 0.00). A contract whose products were all removed or
    have ended holds nothing: that account has churned. With "churn" only
    revenue counts, so this is always False.
    """
    if settings.free_accounts == "churn":
        return False
    return any(ledger.status(c, day) == "active" and ledger.owned(c, day) for c in contracts)


def had_revenue_before(settings: Settings, contracts: list[Contract], day: date) -> bool:
    """Whether the account had recurring revenue on any day before ``day``.

    MRR is piecewise constant and only changes where a segment starts or the
    day after one ends, so looking at those days is looking at every day.
    """
    days = set()
    for c in contracts:
        for s in c.segments():
            if s.one_time:
                continue
            days.add(s.start)
            if s.end is not None:
                days.add(s.end + timedelta(days=1))
    return any(account_mrr(settings, contracts, d) > 0 for d in sorted(days) if d < day)


def classify(
    mrr_from: Decimal, mrr_to: Decimal, had_before: bool, active_from: bool = False, active_to: bool = False
) -> str | None:
    """The movement of one account between two dates (None: no change).

    Zero or less counts as no revenue: starting from none is new (or a
    reactivation when there was revenue before), ending with none is churn —
    unless the account's contract is in force at that end (``active_from`` /
    ``active_to``, see :func:`in_force`): paid to free with the contract still
    active is a contraction, and free back to paid after paying before is an
    expansion.
    """
    if mrr_from == mrr_to:
        return None
    if mrr_from <= 0 < mrr_to:
        if active_from and had_before:
            return "expansion"
        return "reactivation" if had_before else "new"
    if mrr_to <= 0 < mrr_from:
        return "contraction" if active_to else "churn"
    return "expansion" if mrr_to > mrr_from else "contraction"


@dataclass(frozen=True)
class Move:
    account: str
    movement: str
    mrr_from: Decimal
    mrr_to: Decimal

    @property
    def delta(self) -> Decimal:
        return self.mrr_to - self.mrr_from


@dataclass(frozen=True)
class Movements:
    start: date
    end: date
    currency: str
    mrr_start: Decimal
    mrr_end: Decimal
    totals: dict[str, Decimal]  # movement → positive magnitude
    rows: tuple[Move, ...]

    @property
    def nrr(self) -> Fraction | None:
        """Net revenue retention: what the starting accounts pay at the end (expansion included)."""
        if self.mrr_start == 0:
            return None
        t = self.totals
        return Fraction(self.mrr_start + t["expansion"] - t["contraction"] - t["churn"]) / Fraction(self.mrr_start)

    @property
    def grr(self) -> Fraction | None:
        """Gross revenue retention: as NRR without expansion."""
        if self.mrr_start == 0:
            return None
        t = self.totals
        return Fraction(self.mrr_start - t["contraction"] - t["churn"]) / Fraction(self.mrr_start)


def movement_currency(repo: Repo) -> str:
    """The company currency, if every contract's currency converts to it (else a refusal)."""
    missing = missing_rates(repo.settings, {c.currency for c in repo.contracts.values()})
    if missing:
        raise fx_refusal(repo.settings, missing)
    return repo.settings.currency


def _in_order(start: date, end: date) -> None:
    """Movements run forward in time; the caller refuses dates in the wrong order (it knows how they were given)."""
    if end < start:
        raise ValueError(f"movements end {end} before they start {start}")


def movements(repo: Repo, start: date, end: date) -> Movements:
    """MRR movements per account from ``start`` to ``end`` (ChartMogul/Stripe taxonomy), in the company currency."""
    _in_order(start, end)
    return movements_over(repo, (start, end))[0]


def account_series(repo: Repo, days: tuple[date, ...]) -> list[tuple[str, list[Contract], tuple[Fraction, ...]]]:
    """Each account's exact MRR in the company currency on each of ``days`` (by account ID).

    Computed once per account and day, so a month-by-month view costs one
    pass per month end rather than two per month; every rate must exist
    (:func:`movement_currency` refuses first).
    """
    s = repo.settings
    return [
        (account, contracts, tuple(account_mrr(s, contracts, d) for d in days))
        for account, contracts in sorted(by_account(repo).items())
    ]


def movements_over(repo: Repo, days: tuple[date, ...], series=None) -> tuple[Movements, ...]:
    """:func:`movements` between each pair of consecutive ``days`` (ascending), from one :func:`account_series`.

    ``series`` may be given when the caller already has it for these days.
    """
    s = repo.settings
    cc = movement_currency(repo)
    if series is None:
        series = account_series(repo, days)
    rounded = [
        (account, contracts, [round_money(v, cc, s.rounding) for v in values]) for account, contracts, values in series
    ]
    out = []
    for i in range(len(days) - 1):
        totals = {m: Decimal(0) for m in MOVEMENTS}
        rows: list[Move] = []
        mrr_start = mrr_end = round_money(0, cc)
        for account, contracts, values in rounded:
            f, t = values[i], values[i + 1]
            mrr_start += f
            mrr_end += t
            if f == t:
                continue
            kind = classify(
                f,
                t,
                f <= 0 < t and had_revenue_before(s, contracts, days[i]),
                active_from=f <= 0 < t and in_force(s, contracts, days[i]),
                active_to=t <= 0 < f and in_force(s, contracts, days[i + 1]),
            )
            assert kind is not None  # f != t: there is a movement
            totals[kind] += abs(t - f)
            rows.append(Move(account, kind, f, t))
        out.append(Movements(days[i], days[i + 1], cc, mrr_start, mrr_end, totals, tuple(rows)))
    return tuple(out)


def movements_joined(start: date, end: date, currency: str, parts: Iterable[Movements]) -> Movements:
    """The movements of the accounts of every part (each :func:`movements_over` of some of the accounts): the sums
    added, the rows by account as :func:`movements_over` of all of them orders them."""
    totals = {m: Decimal(0) for m in MOVEMENTS}
    mrr_start = mrr_end = round_money(0, currency)
    rows: list[Move] = []
    for p in parts:
        mrr_start += p.mrr_start
        mrr_end += p.mrr_end
        for m in MOVEMENTS:
            totals[m] += p.totals[m]
        rows += p.rows
    rows.sort(key=lambda r: r.account)  # stable: one account's rows are of one part, in its order
    return Movements(start, end, currency, mrr_start, mrr_end, totals, tuple(rows))


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return date(day.year, day.month, monthrange(day.year, day.month)[1])


def month_boundaries(start: date, end: date) -> tuple[date, ...]:
    """``start``, every month's last day strictly between the two dates, ``end``.

    Consecutive pairs are the periods of a month-by-month view: each ends on a
    month end (or on ``end``) and the next starts where it ended, so the
    periods chain. ``start == end`` gives one empty period.
    """
    days = [start]
    cut = month_end(start)
    if cut == start:
        cut = month_end(start + timedelta(days=1))
    while cut < end:
        days.append(cut)
        cut = month_end(cut + timedelta(days=1))
    days.append(end)
    return tuple(days)


def movements_by_month(repo: Repo, start: date, end: date) -> tuple[Movements, ...]:
    """:func:`movements` over each month from ``start`` to ``end`` (periods from :func:`month_boundaries`).

    Each period reconciles on its own and starts with the MRR the previous one
    ended with, so the net changes add up to the net change of the whole
    range. The movement kinds need not: an account new in February and gone in
    November is a `new` and a `churn` month by month but no movement at all
    between the two ends of the year.
    """
    _in_order(start, end)
    return movements_over(repo, month_boundaries(start, end))


def summed(months: Iterable[Movements]) -> dict[str, Decimal]:
    """Σ of each movement kind over consecutive periods (what a waterfall of the months shows)."""
    out = {k: Decimal(0) for k in MOVEMENTS}
    for m in months:
        for k in MOVEMENTS:
            out[k] += m.totals[k]
    return out


# ---------------------------------------------------------------- LTV


@dataclass(frozen=True)
class Ltv:
    as_of: date
    currency: str
    window_start: date
    mrr: Fraction
    active: int  # accounts with MRR > 0 on as_of (or a contract in force, see in_force)
    active_at_window_start: int
    churned: int  # of those, the accounts no longer active on as_of
    arpa: Fraction | None
    churn_rate: Fraction | None  # monthly logo churn; None: no account at the window start
    ltv: Fraction | None  # None: no churn (or no ARPA)
    cac: Decimal | None
    gross_margin: Decimal  # percent points
    ltv_cac: Fraction | None
    payback_months: Fraction | None

    @property
    def ltv_gross_margin(self) -> Fraction | None:
        """LTV on gross margin: ARPA × gross margin ÷ monthly logo churn (the profit a customer brings)."""
        return None if self.ltv is None else self.ltv * Fraction(self.gross_margin) / 100

    @property
    def ltv_rule(self) -> bool | None:
        """LTV at least 3 × CAC (no churn: the LTV is unbounded, so it passes)."""
        if self.cac is None:
            return None
        if self.ltv is None:
            return bool(self.arpa) and not self.churn_rate
        return self.ltv >= 3 * Fraction(self.cac)

    @property
    def payback_rule(self) -> bool | None:
        if self.cac is None:
            return None
        return self.payback_months is not None and self.payback_months <= 12


def ltv(repo: Repo, day: date, cac: Decimal | None = None) -> Ltv:
    """ARPA ÷ monthly logo churn rate over the trailing 6 months; with CAC, LTV:CAC and payback.

    Logo churn counts the accounts active on the window's first day and not
    on ``day`` (the `churn` movements of that window), per account at the
    start, per month. An account is active with MRR, or (``[metrics]
    free_accounts = "contraction"``, the default) with a contract in force at
    0.00 MRR: a free account is a logo, counted in ARPA's denominator as
    ChartMogul counts its customers. ``cac`` defaults to cpq.toml ``[metrics] cac``.
    """
    cc = movement_currency(repo)
    return ltv_of(repo.settings, cc, day, ltv_sums(repo, day), cac)


@dataclass(frozen=True)
class LtvSums:
    """What :func:`ltv` sums over the accounts (so the accounts may be summed a part at a time and added)."""

    mrr: Fraction = ZERO  # of the accounts active on the day
    active: int = 0
    at_start: int = 0  # active on the window's first day
    churned: int = 0  # of those, no longer active on the day

    def __add__(self, other: LtvSums) -> LtvSums:
        return LtvSums(
            self.mrr + other.mrr,
            self.active + other.active,
            self.at_start + other.at_start,
            self.churned + other.churned,
        )


def ltv_sums(repo: Repo, day: date) -> LtvSums:
    """:func:`ltv`'s sums over the accounts of ``repo`` (every rate must exist: :func:`movement_currency`)."""
    s = repo.settings
    ws = add_months(day, -LTV_WINDOW_MONTHS)
    total = ZERO
    active = at_start = churned = 0
    for contracts in by_account(repo).values():
        now = account_mrr(s, contracts, day)
        before = account_mrr(s, contracts, ws)
        active_now = now > 0 or in_force(s, contracts, day)
        if active_now:
            active += 1
            total += now
        if before > 0 or in_force(s, contracts, ws):
            at_start += 1
            churned += not active_now
    return LtvSums(total, active, at_start, churned)


def ltv_of(s: Settings, cc: str, day: date, sums: LtvSums, cac: Decimal | None = None) -> Ltv:
    """:func:`ltv` from its sums over every account."""
    cac = cac if cac is not None else s.cac
    ws = add_months(day, -LTV_WINDOW_MONTHS)
    total, active, at_start, churned = sums.mrr, sums.active, sums.at_start, sums.churned
    arpa = total / active if active else None
    rate_ = Fraction(churned, at_start) / LTV_WINDOW_MONTHS if at_start else None
    value = arpa / rate_ if arpa is not None and rate_ else None
    margin = Fraction(s.gross_margin) / 100
    payback = Fraction(cac) / (arpa * margin) if cac is not None and arpa and margin else None
    ratio = value / Fraction(cac) if value is not None and cac else None
    return Ltv(day, cc, ws, total, active, at_start, churned, arpa, rate_, value, cac, s.gross_margin, ratio, payback)
