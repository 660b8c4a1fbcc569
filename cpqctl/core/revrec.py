"""Revenue recognition (ASC 606 / IFRS 15) from billed invoice lines: schedules, allocation, roll-forward, RPO.

A performance obligation is one billed invoice line, a corrective invoice's line included. Every amendment bills
its delta as a line of its own over the rest of the period, so recognising each line over its own service period
is the prospective treatment of a contract modification; a cancellation's credit negates the rest of the period.

Methods (per product): ``ratable`` spreads the amount by day over the line's period, ``point-in-time`` puts it on
one day, ``over-term`` spreads it by day over a term the caller gives (a set-up fee over the contract's term).
A monthly schedule sums exactly to its obligation: each month but the last is the rounded share of its days,
and the last absorbs the rounding. Pure: no IO, no clock; shares are exact Fractions, rounded once each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

from cpqctl.core.model import Invoice, InvoiceLine
from cpqctl.core.money import round_places

METHODS: tuple[str, ...] = ("ratable", "point-in-time", "over-term")
ZERO = Decimal(0)

Key = Callable[["Obligation"], str]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Obligation:
    """One billed invoice line to recognise: ``amount`` over [start, end] inclusive (point-in-time: one day)."""

    key: str  # "INV-2026-0001#1": the invoice and the 1-based number of its line
    invoice: str
    billed: date  # the invoice's date: the month the amount is billed in
    account: str
    contract: str
    segment: str
    product: str
    kind: str  # the line's kind: recurring | proration | credit | one-time
    currency: str
    amount: Decimal  # net; after :func:`allocate`, the amount allocated by standalone selling price
    method: str  # ratable | point-in-time | over-term
    start: date
    end: date
    stop: date | None = None  # the last day of service: what a period holds after it is recognised in its month


@dataclass(frozen=True, slots=True)
class Entry:
    month: date  # the first day of the month
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Schedule:
    """An obligation's revenue by month, oldest first; the amounts sum exactly to the obligation's."""

    obligation: Obligation
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class RollForward:
    """One month of deferred revenue: opening + billed − recognised = closing (= deferred − unbilled)."""

    month: date
    opening: Decimal
    billed: Decimal
    recognised: Decimal
    closing: Decimal
    deferred: Decimal  # Σ over netting groups of max(0, billed − recognised) to date: a contract liability
    unbilled: Decimal  # Σ over netting groups of max(0, recognised − billed) to date: a contract asset


def month_of(d: date) -> date:
    return d.replace(day=1)


def _next_month(m: date) -> date:
    return date(m.year + m.month // 12, m.month % 12 + 1, 1)


def month_end(d: date) -> date:
    """The last day of ``d``'s month."""
    return _next_month(month_of(d)) - timedelta(days=1)


def months(first: date, last: date) -> list[date]:
    """The first days of the months from ``first``'s to ``last``'s, inclusive (empty when last is earlier)."""
    out, m, end = [], month_of(first), month_of(last)
    while m <= end:
        out.append(m)
        m = _next_month(m)
    return out


def _lookup(table: Mapping[str, T] | None, segment: str, contract: str) -> T | None:
    if table is None:
        return None
    return table.get(segment, table.get(contract))


def obligation(
    inv: Invoice,
    n: int,
    corrected: InvoiceLine | None = None,
    methods: Mapping[str, str] | None = None,
    terms: Mapping[str, tuple[date, date]] | None = None,
    stops: Mapping[str, date] | None = None,
) -> Obligation:
    """Line ``n`` (1-based) of ``inv`` as an obligation; ``corrected``: the line a correction's line corrects.

    ``methods``: product → method (default: ratable with a period, else point-in-time); ``terms`` and ``stops``:
    by segment ID, else contract ID, the over-term (start, end) and the last day of service (a cancellation).
    """
    ln = inv.lines[n - 1]
    key = f"{inv.invoice}#{n}"
    ps, pe = ln.period_start, ln.period_end
    if ps is None and corrected is not None:
        ps, pe = corrected.period_start, corrected.period_end
    method = (methods or {}).get(ln.product) or ("ratable" if ps is not None else "point-in-time")
    if method not in METHODS:
        raise ValueError(f"{key}: unknown recognition method {method!r} of {ln.product} (one of {', '.join(METHODS)})")
    if method == "point-in-time":
        start = end = ps or inv.sale_date or inv.date
    elif method == "over-term":
        term = _lookup(terms, ln.segment, inv.contract)
        if term is None:
            raise ValueError(f"{key}: {ln.product} is recognised over-term, but no term is given for {ln.segment}")
        start, end = term
    elif ps is None:
        raise ValueError(f"{key}: {ln.product} is ratable but the line has no period (use over-term or point-in-time)")
    else:
        start, end = ps, pe or ps
    if end < start:
        raise ValueError(f"{key}: recognition ends ({end}) before it starts ({start})")
    return Obligation(
        key=key,
        invoice=inv.invoice,
        billed=inv.date,
        account=inv.account,
        contract=inv.contract,
        segment=ln.segment,
        product=ln.product,
        kind=ln.kind,
        currency=inv.currency,
        amount=ln.amount,
        method=method,
        start=start,
        end=end,
        stop=_lookup(stops, ln.segment, inv.contract),
    )


def obligations(
    invoices: Iterable[Invoice],
    methods: Mapping[str, str] | None = None,
    terms: Mapping[str, tuple[date, date]] | None = None,
    stops: Mapping[str, date] | None = None,
) -> tuple[Obligation, ...]:
    """Every line of ``invoices`` as an obligation, in invoice order; a correction's line without a period takes
    the period of the line it corrects, which must then be among ``invoices``."""
    invs = sorted(invoices, key=lambda i: (i.date, i.invoice))
    by_number = {i.invoice: i for i in invs}
    out = []
    for inv in invs:
        for n, ln in enumerate(inv.lines, 1):
            corrected = None
            if inv.kind == "correction" and ln.line is not None and ln.period_start is None:
                orig = by_number.get(inv.corrects or "")
                if orig is None or not 1 <= ln.line <= len(orig.lines):
                    raise ValueError(f"{inv.invoice}#{n}: corrects line {ln.line} of {inv.corrects}, not given")
                corrected = orig.lines[ln.line - 1]
            out.append(obligation(inv, n, corrected, methods, terms, stops))
    return tuple(out)


def _days(ob: Obligation) -> dict[date, int]:
    """Days of the obligation recognised in each month (point-in-time: 1 in its month)."""
    if ob.method == "point-in-time":
        return {month_of(ob.start): 1}
    out: dict[date, int] = {}
    for m in months(ob.start, ob.end):
        last = _next_month(m) - timedelta(days=1)
        out[m] = (min(ob.end, last) - max(ob.start, m)).days + 1
    if ob.stop is not None and ob.stop < ob.end:  # a cancellation: what is after the stop falls in its month
        cut = month_of(ob.stop)
        folded = sum(d for m, d in out.items() if m >= cut)
        out = {m: d for m, d in out.items() if m < cut}
        out[cut] = folded
    return out


def schedule(ob: Obligation, places: int = 2, rounding: str = "half-up") -> Schedule:
    """The obligation's monthly revenue: each month but the last ``round(amount × days / total days)`` to
    ``places`` decimals under ``rounding``; the last month takes the rest, so the entries sum to the amount."""
    days = _days(ob)
    total = sum(days.values())
    amount = Fraction(ob.amount)
    entries, so_far = [], ZERO
    ordered = sorted(days.items())
    for m, d in ordered[:-1]:
        share = round_places(amount * d / total, places, rounding)
        entries.append(Entry(m, share))
        so_far += share
    entries.append(Entry(ordered[-1][0], ob.amount - so_far))
    return Schedule(ob, tuple(entries))


def schedules(obs: Iterable[Obligation], places: int = 2, rounding: str = "half-up") -> tuple[Schedule, ...]:
    return tuple(schedule(ob, places, rounding) for ob in obs)


def allocate(group: Sequence[Obligation], ssp: Sequence[Decimal], places: int = 2) -> tuple[Obligation, ...]:
    """The obligations of one bundle sale with the group's net total re-allocated in proportion to their standalone
    selling prices (``ssp``, one per obligation, for its whole quantity and period), by largest remainder: each
    share is within one minor unit of its exact value and the shares sum to the total (IFRS 15.76-80)."""
    if len(ssp) != len(group):
        raise ValueError(f"{len(group)} obligations but {len(ssp)} standalone selling prices")
    if not group:
        return ()
    if len({ob.currency for ob in group}) > 1:
        raise ValueError("a bundle's obligations are in one currency")
    if any(p < 0 for p in ssp) or sum(ssp, ZERO) <= 0:
        raise ValueError("standalone selling prices are 0 or more, and not all 0")
    scale = 10**places
    units = Fraction(sum((ob.amount for ob in group), ZERO)) * scale
    if units.denominator != 1:
        raise ValueError(f"the bundle's total has more than {places} decimal places")
    sign, whole = (-1 if units < 0 else 1), abs(int(units))
    weight = sum((Fraction(p) for p in ssp), Fraction(0))
    exact = [whole * Fraction(p) / weight for p in ssp]
    shares = [int(x) for x in exact]  # floors: every exact share is 0 or more
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[: whole - sum(shares)]:
        shares[i] += 1
    q = Decimal(1).scaleb(-places)
    return tuple(
        replace(ob, amount=(Decimal(sign * s) / scale).quantize(q)) for ob, s in zip(group, shares, strict=True)
    )


def _currencies(found: set[str]) -> None:
    """Refuse schedules of more than one currency (``found``: theirs, gathered on the one pass over them)."""
    if len(found) > 1:
        raise ValueError(f"schedules in {', '.join(sorted(found))}: take one currency at a time (or convert first)")


def recognised(
    scheds: Iterable[Schedule], start: date, end: date, by: Key | None = None
) -> dict[tuple[str, date], Decimal]:
    """Revenue recognised in each month from ``start``'s to ``end``'s, per ``by(obligation)`` (an account, product,
    contract …; None: all under ""); each key seen in the range has every month of it, 0 where nothing was."""
    span = months(start, end)
    lo, hi = (span[0], span[-1]) if span else (date.max, date.min)
    sums: dict[tuple[str, date], Decimal] = {}
    found: set[str] = set()
    for s in scheds:  # one pass: the schedules may be made one at a time and never held
        found.add(s.obligation.currency)
        k = by(s.obligation) if by is not None else ""
        for e in s.entries:
            if lo <= e.month <= hi:
                sums[k, e.month] = sums.get((k, e.month), ZERO) + e.amount
    _currencies(found)
    keys = sorted({k for k, _ in sums} | ({""} if by is None else set()))
    return {(k, m): sums.get((k, m), ZERO) for k in keys for m in span}


def _by_contract(ob: Obligation) -> str:
    return ob.contract


def roll_forward(
    scheds: Iterable[Schedule],
    start: date | None = None,
    end: date | None = None,
    net_by: Key = _by_contract,
) -> tuple[RollForward, ...]:
    """Deferred revenue month by month, from ``start``'s month (default: the first billed or recognised) to
    ``end``'s (default: the last). Billed in a month: the obligations whose invoice is dated in it; recognised:
    the schedule entries of the month. A group of ``net_by`` (default: the contract, as ASC 606-10-45-1 presents
    a contract's net position) billed ahead is deferred, one recognised ahead is unbilled."""
    moves: dict[date, dict[str, Decimal]] = {}  # month → group → billed − recognised in it
    billed: dict[date, Decimal] = {}
    earned: dict[date, Decimal] = {}
    found: set[str] = set()
    for s in scheds:  # one pass: the schedules may be made one at a time and never held (`cpqctl journal`)
        found.add(s.obligation.currency)
        g = net_by(s.obligation)
        m = month_of(s.obligation.billed)
        per_group = moves.setdefault(m, {})
        per_group[g] = per_group.get(g, ZERO) + s.obligation.amount
        billed[m] = billed.get(m, ZERO) + s.obligation.amount
        for e in s.entries:
            per_group = moves.setdefault(e.month, {})
            per_group[g] = per_group.get(g, ZERO) - e.amount
            earned[e.month] = earned.get(e.month, ZERO) + e.amount
    _currencies(found)
    if not moves:
        return ()
    first = month_of(start) if start is not None else min(moves)
    last = month_of(end) if end is not None else max(moves)
    balance: dict[str, Decimal] = {}
    deferred = unbilled = ZERO
    out = []

    def apply(m: date) -> None:
        nonlocal deferred, unbilled
        for g, delta in moves.get(m, {}).items():
            old = balance.get(g, ZERO)
            new = balance[g] = old + delta
            deferred += max(new, ZERO) - max(old, ZERO)
            unbilled += max(-new, ZERO) - max(-old, ZERO)

    for m in sorted(x for x in moves if x < first):
        apply(m)
    for m in months(first, last):
        opening = deferred - unbilled
        apply(m)
        out.append(
            RollForward(m, opening, billed.get(m, ZERO), earned.get(m, ZERO), deferred - unbilled, deferred, unbilled)
        )
    return tuple(out)


def rpo(
    scheds: Iterable[Schedule], as_of: date, by: Key | None = None, within: int | None = None
) -> dict[str, Decimal]:
    """Remaining performance obligations at the end of ``as_of``'s month: what the schedules recognise after it
    (``within``: only in the next that many months, e.g. 12 for the current part), per ``by(obligation)``."""
    after = _next_month(month_of(as_of))
    limit = date.max
    if within is not None:
        limit = after
        for _ in range(within):
            limit = _next_month(limit)
    out: dict[str, Decimal] = {}
    found: set[str] = set()
    for s in scheds:  # one pass, as roll_forward and recognised
        found.add(s.obligation.currency)
        k = by(s.obligation) if by is not None else ""
        for e in s.entries:
            if after <= e.month < limit:
                out[k] = out.get(k, ZERO) + e.amount
    _currencies(found)
    return out
