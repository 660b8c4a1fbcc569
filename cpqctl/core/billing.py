"""Billing (SPEC §4): a contract's invoice schedule, and what an invoice run issues.

Periods are anchored on the contract start (period k = start + k·f months …
start + (k+1)·f months − 1 day; ``upfront`` = the whole term), cut at the
contract's current end, each invoiced in advance on its first day.

The period rule (SPEC §4 v2, issue 15; :meth:`_Schedule.split`): a whole
billing period of a segment bills exactly ``unit_price × units ×
period_months / per_months``, rounded once, so every full period of a line
costs the same; a partial period (the segment starts or ends inside it, or
the contract's end cuts it) bills the segment's value over the days it covers
under the contract's proration method; the segment's first partial period —
else its first period — takes the rest of its value up to the billed end, the
rounding and day-count residual, so its invoices add up to its quote line
total to the cent. Nothing past the current end is billed, except the few
units by which a cancellation's quoted credit differs from the rest of the
segments it cancels (non-additive methods): that residual goes on the last
period, so a contract adds up exactly to its quotes' totals.

Time matters: an amendment becomes known on its acceptance date ``a`` (its
``signed.date``, else its effective date). A period invoiced before ``a`` did
not include it; the difference is caught up on one invoice dated
``c = max(a, effective)``. So each *key* (segment, period) has a short list of
dated increments — the ideal invoice lines — that depends only on the ledger,
never on when runs happened: monthly runs and one yearly run issue the same
invoices. An invoice run compares that list with the lines the invoice ledger
holds for the key (cumulative schedule minus what was invoiced) and issues the
rest; a ledger that is not a prefix of the ideal (an imported
``billed_through:`` mid-period, a hand-made invoice) gets one catch-up line
for the difference.

Pure: no IO, no clock. Invoice numbers are allocated by the caller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from cpqctl.core import ledger
from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import Account, Amendment, Contract, Invoice, Repo, Segment, Settings, Signed, TaxLine
from cpqctl.core.money import ROUNDING_POLICIES, minor_units, round_money
from cpqctl.core.proration import Grid, add_months, first_anchor, months_between, priced_units, segment_value
from cpqctl.core.regimes import Regime, first_regime, regime_of, regime_on, regimes
from cpqctl.core.terms import FREQUENCY_MONTHS, PER_MONTHS, contract_terms, tax_rate

ZERO = Decimal(0)
_DAY = timedelta(days=1)
_Day = date  # the type, for classes whose field `date` shadows it


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Period:
    index: int
    start: date  # the invoice date
    end: date  # inclusive, cut at the contract's end
    whole: bool = False  # a whole period of its grid (BillingTerms.whole): not a stub, not cut


@dataclass(frozen=True, slots=True)
class DraftLine:
    """An invoice line to issue; ``period`` is the billing period it belongs to (its ledger key)."""

    segment: str
    product: str
    kind: str  # recurring | proration | credit | one-time
    amount: Decimal
    period_start: date | None
    period_end: date | None
    quantity: Decimal | None
    period: int


@dataclass(frozen=True, slots=True)
class Draft:
    """An invoice to issue: everything but its number."""

    account: str
    contract: str
    date: _Day
    currency: str
    lines: tuple[DraftLine, ...]
    net_total: Decimal
    taxes: tuple[TaxLine, ...]
    gross_total: Decimal
    sale_date: _Day | None
    due: _Day
    reverse_charge: bool = False

    @property
    def tax_total(self) -> Decimal:
        return sum((t.amount for t in self.taxes), ZERO)


@dataclass(frozen=True, slots=True)
class Billed:
    """One line of the invoice ledger, with the date of the invoice that holds it."""

    date: _Day
    invoice: str
    segment: str
    amount: Decimal
    period_start: _Day | None
    period_end: _Day | None = None


# --------------------------------------------------------------------------- terms and periods


@dataclass(frozen=True, slots=True)
class BillingTerms:
    """A contract's effective terms (:func:`cpqctl.core.terms.contract_terms`) as billing uses them."""

    months: int | None  # None: upfront (the first regime's)
    method: str
    rounding: str
    currency: str
    start: date | None = None  # the contract start
    anchor: date | None = None  # the first period boundary on or after the start (None or start: no stub)
    regimes: tuple[Regime, ...] = ()  # the billing regimes (core/regimes.py); () : one, from start and anchor
    partial: str = "prorate"  # the partial-period policy: prorate | full | none

    def _regimes(self) -> tuple[Regime, ...]:
        if self.regimes:
            return self.regimes
        assert self.start is not None
        return (first_regime(self.start, self.months, self.anchor or self.start),)

    def regime(self, k: int) -> Regime:
        """The regime period ``k`` belongs to."""
        return regime_of(self._regimes(), k)

    def bounds(self, k: int) -> tuple[date, date]:
        """Period ``k`` before the contract's end cuts it: its first day and its last (a change of frequency
        cuts the period it falls in)."""
        rs = self._regimes()
        r = self.regime(k)
        lo, hi = r.natural(k)
        nxt = next((x for x in rs if x.first > r.first), None)
        if nxt is not None and k == nxt.first - 1:
            hi = min(hi, nxt.start - _DAY)
        return lo, hi

    def whole(self, k: int, end: date) -> bool:
        """Period ``k``, ending on ``end``, is a whole period of its grid: not a stub (before the first anchor
        date, after a change of frequency), not cut (by the contract's end or a change of frequency). Upfront
        billing's one period is whole."""
        r = self.regime(k)
        if r.months is None:
            return True
        j = k - r.first
        return (
            add_months(r.base, j * r.months) == self.bounds(k)[0]
            and end == add_months(r.base, (j + 1) * r.months) - _DAY
        )

    def index(self, d: date) -> int:
        """The period holding ``d`` (≥ the start)."""
        r = regime_on(self._regimes(), d)
        if r.months is None:
            return r.first
        if d <= r.natural(r.first)[1]:
            return r.first
        return r.first + r.offset(d)

    def grid_of(self, k: int) -> Grid:
        """The billing periods the ``period`` method counts days in, for period ``k``."""
        return self.regime(k).grid

    def grid_on(self, d: date) -> Grid:
        """The grid in force on ``d``: a segment starting then was priced on it."""
        return self.regime(self.index(max(d, self.start or d))).grid


def billing_terms(c: Contract, settings: Settings) -> BillingTerms:
    """Frequency, proration and rounding (the contract's own, else cpq.toml's), refused if they cannot bill."""
    t = contract_terms(c, settings)
    freq = t.billing_frequency
    if freq not in FREQUENCY_MONTHS:
        raise CpqError(
            "E-BILLING",
            f"contract {c.contract}: unknown billing frequency `{freq}`",
            f"one of {', '.join(FREQUENCY_MONTHS)}",
            src=c.where("billing"),
        )
    months = t.billing_months
    if months is None and c.evergreen:
        raise CpqError(
            "E-BILLING",
            f"contract {c.contract} is evergreen: it cannot be billed upfront",
            "use billing: {frequency: monthly} (or quarterly, semiannual, annual)",
            src=c.where("billing"),
        )
    return BillingTerms(
        months,
        t.proration,
        t.rounding,
        c.currency,
        c.start,
        first_anchor(c.start, months, t.billing_anchor),
        regimes(c, settings),
        t.partial,
    )


def natural_start(c: Contract, t: BillingTerms, k: int) -> date:
    return c.start if t.months is None else _terms(c, t).bounds(k)[0]


def _terms(c: Contract, t: BillingTerms) -> BillingTerms:
    """``t`` knowing the contract start (terms built by hand in tests may not)."""
    return t if t.start is not None else dataclasses.replace(t, start=c.start, anchor=t.anchor or c.start)


def period_index(c: Contract, t: BillingTerms, d: date) -> int:
    """The (uncut) period holding ``d``; a date before the start belongs to period 0."""
    if t.months is None or d <= c.start:
        return 0
    return _terms(c, t).index(d)


def periods(c: Contract, t: BillingTerms, horizon: date) -> list[Period]:
    """The contract's billing periods, cut at its current end (evergreen: those starting by ``horizon``).

    Never empty: a contract cancelled before it started keeps one empty
    period, which takes the residuals of its cancellation.
    """
    end = ledger.current_end(c)
    if t.months is None:
        return [Period(0, c.start, end if end is not None else horizon, True)]
    last = end if end is not None else horizon
    out: list[Period] = []
    t = _terms(c, t)
    k = 0
    while True:
        start, natural_end = t.bounds(k)
        if start > last and out:
            break
        cut = natural_end if end is None else min(natural_end, end)
        out.append(Period(k, start, cut, t.whole(k, cut)))
        if start > last:
            break
        k += 1
    return out


def _money(rate: Fraction, months: Fraction | int, currency: str, rounding: str) -> Decimal:
    """``round_money(rate * months, currency, rounding)``, in integers: the schedule rounds a rate times a length
    of time some 100,000 times in a run over 10,000 contracts, and each Fraction made on the way costs more than
    the rounding (tests/test_incremental_billing.py holds the two to the same results)."""
    if rounding not in ROUNDING_POLICIES:
        raise ValueError(f"unknown rounding policy {rounding!r}")
    places = minor_units(currency)
    if type(months) is int:
        num, den = rate.numerator * months, rate.denominator
    else:
        num, den = rate.numerator * months.numerator, rate.denominator * months.denominator
    num *= 10**places
    sign = -1 if num < 0 else 1
    whole, rest = divmod(-num if num < 0 else num, den)
    twice = 2 * rest
    if twice > den or (twice == den and (rounding == "half-up" or whole % 2 == 1)):
        whole += 1
    if places:
        return Decimal(sign * whole).scaleb(-places).quantize(Decimal(1).scaleb(-places))
    return Decimal(sign * whole).quantize(Decimal(1))


_RATES: dict[tuple, Fraction] = {}  # (unit price, quantity, pricing, per) → a month's worth, for every schedule
_PERIODS: dict[tuple, list[Period]] = {}
_PERIODS_MAX = 100_000  # a bound on the memo below, not a target


def _periods(c: Contract, t: BillingTerms, end: date | None, horizon: date) -> list[Period]:
    """:func:`periods` of ``c`` (whose current end is ``end``), shared by every schedule with the same start, end,
    terms and (open contracts) horizon: a run over 10,000 contracts cuts the same periods for many of them.
    The list is shared: read it, never change it."""
    key = (c.start, end, t, horizon if end is None else None)
    got = _PERIODS.get(key)
    if got is None:
        if len(_PERIODS) >= _PERIODS_MAX:
            _PERIODS.clear()
        got = _PERIODS[key] = periods(c, t, horizon)
    return got


# --------------------------------------------------------------------------- what a key is worth


def known_dates(a: Amendment) -> tuple[date, date]:
    """(acceptance, catch-up date): signed.date else effective; the later of it and effective."""
    accepted = a.signed.date if a.signed is not None else a.effective
    return accepted, max(accepted, a.effective)


class _Schedule:
    """One contract's billing schedule: values per (segment, period) under each set of known amendments."""

    def __init__(self, c: Contract, settings: Settings, horizon: date):
        self.c = c
        self.t = billing_terms(c, settings)
        self.settings = settings
        self.horizon = horizon
        self.owner: dict[str, int] = {}  # segment id → amendment index (-1: signed lines)
        for s in c.lines:
            self.owner[s.id] = -1
        for i, a in enumerate(c.amendments):
            for s in a.lines:
                self.owner[s.id] = i
        self.dates = [known_dates(a) for a in c.amendments]
        self._states: dict[frozenset[int], tuple[list[Period], bool, dict[str, Decimal]]] = {}
        self._known_terms: dict[frozenset[int], BillingTerms] = {}
        self._values: dict[tuple[str, date], Decimal] = {}
        self._rates: dict[str, Fraction] = {}
        self._splits: dict[tuple[frozenset[int], str], dict[int, Decimal]] = {}
        self._splits_by_state: dict[tuple[int, bool, int, str], dict[int, Decimal]] = {}
        self._index: dict[date, int] = {}
        self._starts: dict[int, date] = {}
        self.final = frozenset(range(len(c.amendments)))
        self._last_key: int | None = None  # the final contract's last period (-1: open), asked per key

    def state(self, known: frozenset[int]) -> tuple[list[Period], bool, dict[str, Decimal]]:
        """Periods under the amendments ``known``, whether the contract has an end then, and the
        residuals billed past that end (see :meth:`_residuals`)."""
        got = self._states.get(known)
        if got is None:
            sub = (
                self.c
                if len(known) == len(self.c.amendments)
                else dataclasses.replace(
                    self.c, amendments=tuple(a for i, a in enumerate(self.c.amendments) if i in known)
                )
            )
            end = ledger.current_end(sub)
            t = self.terms(known)
            got = (_periods(sub, t, end, self.horizon), end is not None, self._residuals(sub, end))
            self._states[known] = got
        return got

    def terms(self, known: frozenset[int]) -> BillingTerms:
        """The billing terms with the amendments ``known``: a change of frequency not yet known leaves the old
        periods (it cannot be backdated, :mod:`cpqctl.core.regimes`, so the keys agree from its date on)."""
        got = self._known_terms.get(known)
        if got is None:
            changes = {i for i, a in enumerate(self.c.amendments) if a.billing_frequency or a.billing_restart}
            if changes <= known:
                got = self.t
            else:
                sub = dataclasses.replace(
                    self.c, amendments=tuple(a for i, a in enumerate(self.c.amendments) if i in known)
                )
                got = billing_terms(sub, self.settings)
            self._known_terms[known] = got
        return got

    def _residuals(self, sub: Contract, end: date | None) -> dict[str, Decimal]:
        """What like segments (product, price, per, pricing) are worth past ``end``, when some are negative.

        Nothing past the end is billed, except this: a cancellation writes,
        for every active segment, a negative twin over the rest of the term,
        and under a non-additive method (monthly+daily, daily, calendar) the
        twin's quoted credit differs from the rest of the segment by a few
        units. That difference goes on the newest negative segment of the
        group, in the last period, so the contract still adds up exactly to
        its quotes' totals; twins that cancel exactly leave no line at all.
        """
        if end is None:
            return {}
        sums: dict[tuple, Decimal] = {}
        target: dict[tuple, str] = {}
        positive: set[tuple] = set()
        for s in sub.segments():
            if s.one_time or s.end is None or s.end <= end:
                continue
            g = (s.product, s.unit_price, s.per, s.pricing)
            sums[g] = sums.get(g, ZERO) + self.value(s, s.end) - self.value(s, end)
            if s.quantity < 0:
                target[g] = s.id
            else:
                positive.add(g)
        return {sid: sums[g] for g, sid in target.items() if g in positive and sums[g]}

    def value(self, s: Segment, day: date) -> Decimal:
        """V(day) of :func:`cpqctl.core.proration.segment_value`, memoised, with the segment's rate computed once."""
        key = (s.id, day)
        v = self._values.get(key)
        if v is None:
            t = self.t
            if day < s.start or s.per is None:
                v = segment_value(
                    s.unit_price,
                    priced_units(s.quantity, s.pricing),
                    s.per,
                    s.start,
                    s.end,
                    day,
                    t.method,
                    t.currency,
                    t.rounding,
                    t.grid_on(s.start),
                    t.partial,
                )
            else:
                rate = self._rate(s)
                upto = day if s.end is None or day < s.end else s.end
                grid = t.grid_on(s.start)
                months = months_between(s.start, upto, t.method, grid, t.partial)
                v = _money(rate, months, t.currency, t.rounding)
            self._values[key] = v
        return v

    def amount(self, known: frozenset[int], s: Segment, k: int) -> tuple[Decimal, Period | None, bool]:
        """What ``s`` bills in period ``k`` with the amendments ``known``: (amount, period, holds a residual)."""
        if self.owner[s.id] not in known and self.owner[s.id] != -1:
            return ZERO, None, False
        ps, finite, residuals = self.state(known)
        if s.one_time:
            p = ps[min(k, len(ps) - 1)]
            return self.value(s, s.start), p, False
        if k >= len(ps):
            return ZERO, None, False
        p = ps[k]
        amt = self.split(known, s).get(k, ZERO)
        if finite and k == len(ps) - 1 and s.id in residuals:
            return amt + residuals[s.id], p, True
        return amt, p, False

    def split(self, known: frozenset[int], s: Segment) -> dict[int, Decimal]:
        """What a recurring segment bills in each period it overlaps, with the amendments ``known`` (the period rule).

        A whole billing period (the segment covers all of it, and the contract's
        end does not cut it) bills exactly ``unit_price × units × period_months /
        per_months``, rounded once, so every full period of a line costs the
        same. A partial period bills the segment's value over the days it covers
        under the contract's proration method. The segment's first partial
        period (else its first period) takes the rest of its value up to the
        billed end — the rounding and day-count residual — so the invoices of a
        segment add up to its quote line total to the cent. An open-ended
        segment of an open contract has no total: nothing absorbs.
        """
        key = (known, s.id)
        got = self._splits.get(key)
        if got is not None:
            return got
        ps, finite, _ = self.state(known)
        t = self.terms(known)
        # the split depends on the known amendments only through the periods, the end and the terms: sets of
        # amendments that leave those alike (most do: they add lines) share it
        alike = (id(ps), finite, id(t), s.id)
        got = self._splits_by_state.get(alike)
        if got is not None:
            self._splits[key] = got
            return got
        last = ps[-1].end
        cover = min(s.end, last) if s.end is not None else last
        out: dict[int, Decimal] = {}
        partial: list[int] = []
        rate = self._rate(s)
        wholes: dict[int, Decimal] = {}  # a whole period's amount, per period length (one per regime)
        one = t.regimes[0].months if len(t.regimes) == 1 else None  # most contracts never change frequency
        for p in ps:
            if p.end < s.start or p.start > cover:
                continue
            a, b = max(s.start, p.start), min(cover, p.end)
            months = (one if one is not None else t.regime(p.index).months) if p.whole else None
            if months is not None and a == p.start and b == p.end:
                amt = wholes.get(months)
                if amt is None:
                    amt = wholes[months] = _money(rate, months, t.currency, t.rounding)
                out[p.index] = amt
            else:
                grid = t.grid_of(p.index)
                part = months_between(a, b, t.method, grid, t.partial)
                out[p.index] = _money(rate, part, t.currency, t.rounding)
                partial.append(p.index)
        if out and (s.end is not None or finite):
            absorber = partial[0] if partial else min(out)
            out[absorber] = self.value(s, cover) - sum((v for k, v in out.items() if k != absorber), ZERO)
        self._splits[key] = self._splits_by_state[alike] = out
        return out

    def _rate(self, s: Segment) -> Fraction:
        rate = self._rates.get(s.id)
        if rate is None:
            assert s.per is not None  # recurring
            key = (s.unit_price, s.quantity, s.pricing, s.per)
            rate = _RATES.get(key)
            if rate is None:
                units = priced_units(s.quantity, s.pricing)
                rate = Fraction(s.unit_price) * Fraction(units) / PER_MONTHS[s.per]
                if len(_RATES) < _PERIODS_MAX:
                    _RATES[key] = rate
            self._rates[s.id] = rate
        return rate

    def key_of(self, s: Segment, k: int) -> int:
        """Ledger key: periods past the end of the (final) contract merge into its last one."""
        last = self._last_key
        if last is None:
            ps, finite, _ = self.state(self.final)
            last = self._last_key = len(ps) - 1 if finite else -1
        return min(k, last) if last >= 0 else k

    def _period_index(self, d: date) -> int:
        """:func:`period_index` of the contract, memoised (the keys ask it per segment and end)."""
        k = self._index.get(d)
        if k is None:
            k = self._index[d] = period_index(self.c, self.t, d)
        return k

    def _natural_start(self, k: int) -> date:
        """:func:`natural_start` of the contract, memoised (asked per key)."""
        d = self._starts.get(k)
        if d is None:
            d = self._starts[k] = natural_start(self.c, self.t, k)
        return d

    def _known(self, d: date) -> frozenset[int]:
        return frozenset(i for i, (a, _) in enumerate(self.dates) if a <= d)

    def bill_date(self, s: Segment, k: int) -> date:
        """When period ``k`` of ``s`` is first invoiced: in advance, on the period's first day; in arrears, on the
        day after the product's service in the period ends (the period's end, or the last day the contract holds
        any of the product: Lago bills a plan left mid-period on the day it is left), with what is known then."""
        pk = self._natural_start(k)
        if s.timing != "arrears" or s.one_time:
            return pk
        d = self._arrears_date(self.final, s.product, k)
        return max(d, self._arrears_date(self._known(d), s.product, k))

    def _arrears_date(self, known: frozenset[int], product: str, k: int) -> date:
        ps, _, _ = self.state(known)
        if k >= len(ps):
            return _terms(self.c, self.t).bounds(k)[1] + _DAY if self.t.months is not None else ps[-1].end + _DAY
        p = ps[k]
        segs = [
            s
            for s in self.c.segments()
            if s.product == product and (self.owner[s.id] == -1 or self.owner[s.id] in known) and s.per is not None
        ]
        cuts = sorted({p.start} | {x for s in segs for x in (s.start, (s.end or p.end) + _DAY) if p.start < x <= p.end})
        for lo, hi in reversed(list(zip(cuts, cuts[1:] + [p.end + _DAY], strict=True))):
            if sum((s.quantity for s in segs if s.covers(lo)), ZERO) > 0:
                return hi
        return p.end + _DAY

    def ideal(self, s: Segment, k: int) -> list[tuple[date, DraftLine]]:
        """The dated lines that bill ``s`` in period ``k`` over time (catch-ups included)."""
        pk = self.bill_date(s, k)
        known = self._known(pk)
        out: list[tuple[date, DraftLine]] = []
        amt, p, folded = self.amount(known, s, k)
        if amt:
            assert p is not None  # amount() leaves out the period only when there is nothing to bill
            out.append((pk, self._line(s, k, amt, p, folded, catch_up=False)))
        prev, prev_p = amt, p
        for d in sorted({c for i, (_, c) in enumerate(self.dates) if i not in known}):
            now = frozenset(known | {i for i, (_, c) in enumerate(self.dates) if c <= d})
            amt, p, folded = self.amount(now, s, k)
            if amt != prev:
                span = None
                if p is None:  # the period is gone (a cancellation): credited under its old dates
                    assert prev_p is not None  # amt is 0 here, so prev (≠ amt) was billed in a period
                    p, span = prev_p, (prev_p.start, prev_p.end)
                elif prev_p is not None and prev_p.end != p.end and not folded:  # cut or lengthened
                    span = (min(p.end, prev_p.end) + _DAY, max(p.end, prev_p.end))
                out.append((d, self._line(s, k, amt - prev, p, folded, catch_up=True, span=span)))
                prev, prev_p = amt, p
        return out

    def _line(
        self,
        s: Segment,
        k: int,
        amount: Decimal,
        p: Period,
        folded: bool,
        catch_up: bool,
        span: tuple[date, date] | None = None,
    ) -> DraftLine:
        key = self.key_of(s, k)
        if s.one_time:
            kind = "credit" if amount < 0 else "one-time"
            return DraftLine(s.id, s.product, kind, amount, s.start, None, s.quantity, key)
        if folded:
            assert s.end is not None  # residuals are only taken by segments that end (see _residuals)
        first, last = span or (p.start, s.end if folded and s.end is not None else p.end)
        start = max(s.start, first)
        end = last if s.end is None else min(s.end, last)
        if amount < 0:
            kind = "credit"
        elif not catch_up and not folded and start == p.start and end == p.end and p.whole:
            kind = "recurring"
        else:
            kind = "proration"
        return DraftLine(s.id, s.product, kind, amount, start, end, s.quantity, key)

    def keys(self, through: date, since: date | None = None) -> Iterable[tuple[Segment, int]]:
        """Every (segment, period) that may bill something with an invoice date by ``through``.

        ``since``: only the keys first invoiced after that date (:meth:`bill_date` > ``since``), and every
        key of the contract's last period (periods past the end merge into it). The caller vouches that the
        skipped keys are settled (:func:`due_lines`' incremental path); they are listed in ``self.skipped``.
        """
        self.skipped: list[tuple[Segment, int]] = []
        last_key, finite = (
            (len(self.state(self.final)[0]) - 1, self.state(self.final)[1]) if since is not None else (0, True)
        )
        ends = [e for e in [self.c.end] + [a.end for a in self.c.amendments] if e is not None]
        cancels = {a.cancelled.date for a in self.c.amendments if a.cancelled is not None}
        ends += sorted(cancels)
        open_ended = self.c.evergreen or not ends
        for s in self.c.segments():
            if s.one_time:
                k = self._period_index(s.start)
                if since is None or k >= last_key or self.bill_date(s, k) > since:
                    yield s, k
                else:
                    self.skipped.append((s, k))
                continue
            last_day = min(through, s.end) if s.end is not None else through
            if not open_ended:
                last_day = min(last_day, max(ends))
            hi = self._period_index(last_day)
            # a segment reaching past some end is folded into the period holding that end
            lo = min(
                [self._period_index(s.start)] + [self._period_index(e - _DAY if e in cancels else e) for e in ends]
            )
            if self._natural_start(hi) > through:
                hi -= 1
            # an open contract's periods stop at the horizon: a segment ending past `since` took its residual up to
            # the horizon of the run then, so its keys are all compared again
            skip = since is not None and (finite or s.end is None or s.end <= since)
            first = lo
            if skip:
                assert since is not None
                # a key's bill date is at most the next period's start: those before `since`'s period less one
                # are billed by then without asking (in advance and in arrears alike)
                lo = max(lo, min(self._period_index(since) - 1, last_key))
                self.skipped.extend((s, k) for k in range(first, min(lo, hi + 1)))
            for k in range(lo, hi + 1):
                if skip and since is not None and k < last_key and self.bill_date(s, k) <= since:
                    self.skipped.append((s, k))
                    continue
                yield s, k


# --------------------------------------------------------------------------- the ledger


def ledger_index(invoices: Iterable[Invoice]) -> dict[str, list[Billed]]:
    """The invoice ledger's lines per contract, in invoice order (date, number)."""
    out: dict[str, list[Billed]] = {}
    for inv in sorted(invoices, key=lambda i: (i.date, i.invoice)):
        rows = out.setdefault(inv.contract, [])
        rows.extend(
            Billed(inv.date, inv.invoice, ln.segment, ln.amount, ln.period_start, ln.period_end) for ln in inv.lines
        )
    return out


class Ledger(Mapping[str, list[Billed]]):
    """:func:`ledger_index` of ``invoices`` (grouped by contract beforehand), each contract's lines made when first
    asked: a run that skips most contracts (:class:`Quiet`) never makes theirs (130,000 lines at 10,000 accounts)."""

    def __init__(self, by_contract: Mapping[str, Sequence[Invoice]]):
        self.by_contract = by_contract
        self._made: dict[str, list[Billed]] = {}

    def __getitem__(self, contract: str) -> list[Billed]:
        got = self._made.get(contract)
        if got is None:
            got = self._made[contract] = ledger_index(self.by_contract[contract]).get(contract, [])
        return got

    def __iter__(self):
        return iter(self.by_contract)

    def __len__(self) -> int:
        return len(self.by_contract)


def _billed_through(sch: _Schedule, through: date) -> list[Billed]:
    """An imported contract's `billed_through:` as ledger lines: invoiced elsewhere up to that date."""
    c = sch.c
    if c.billed_through is None:
        return []
    known = frozenset(i for i, (a, _) in enumerate(sch.dates) if a <= c.billed_through)
    finite = sch.state(sch.final)[1]
    out = []
    for s, k in sch.keys(c.billed_through):
        if sch.owner[s.id] != -1 and sch.owner[s.id] not in known:
            continue
        amt, p, _ = sch.amount(sch.final, s, k)
        if p is None or not amt:
            continue
        if not s.one_time and p.end > c.billed_through:
            # the period runs past billed_through: what was billed in it is the segment's value through that day
            # less what the schedule bills in its earlier periods (themselves billed whole), so the days through
            # billed_through add up to V(billed_through) and a segment ending by then has its period billed whole.
            # (V(day before the period) would not do: the schedule's periods add up to V only in total, its first
            # partial period taking the residual.) An open-ended segment of an open contract has no total: its
            # periods bill on their own, and the days before the period are worth what V says.
            if s.end is not None or finite:
                lower = sum((v for j, v in sch.split(sch.final, s).items() if j < k), ZERO)
            else:
                lower = sch.value(s, p.start - _DAY) if k > 0 else ZERO
            amt = sch.value(s, c.billed_through) - lower
        if amt:
            out.append(Billed(c.start, "(billed_through)", s.id, amt, max(s.start, p.start)))
    return out


# --------------------------------------------------------------------------- the run


def _schedule(
    sch: _Schedule, through: date, since: date | None = None
) -> dict[tuple[str, int], list[tuple[date, DraftLine]]]:
    out: dict[tuple[str, int], list[tuple[date, DraftLine]]] = {}
    for s, k in sch.keys(through, since):
        for d, line in sch.ideal(s, k):
            out.setdefault((s.id, line.period), []).append((d, line))
    for rows in out.values():
        rows.sort(key=lambda r: r[0])
    return out


def _settled_through(c: Contract, billed: list[Billed]) -> date | None:
    """The ledger's last invoice date L, when the keys first invoiced by L may be left out; else None."""
    if not billed or c.billed_through is not None:
        return None
    last = max(b.date for b in billed)
    if not c.amendments:
        return last
    held = {b.segment for b in billed}
    for a in c.amendments:
        changes_periods = a.billing_frequency or a.billing_restart
        if known_dates(a)[1] > last or changes_periods or not any(s.id in held for s in a.lines):
            return None
    return last


def _known_by(c: Contract, through: date, billed: list[Billed]) -> Contract:
    """``c`` without the amendments accepted after ``through`` that cannot change a line dated by then, when
    there are such: what a run through ``through`` issues is then the same, and the rest can bill incrementally.

    An amendment accepted after ``through`` bills nothing by then: its lines and its catch-ups are dated on or
    after its acceptance. It still has a say in the whole schedule when it moves the end (the keys past the end
    merge), changes the billing periods, adds to the residuals past an end (a line of it reaching past an end), or
    when the contract bills in arrears (a bill date looks at every known line of the product) or was imported
    (``billed_through:``); and a ledger line that names no segment of the rest (an older positional ID) might
    name one of it. None of these: each other line has the same amount with it or without it, on every date.
    """
    if not c.amendments or c.billed_through is not None:
        return c
    drop = [
        i
        for i, a in enumerate(c.amendments)
        if known_dates(a)[0] > through
        and a.end is None
        and a.cancelled is None
        and not a.billing_frequency
        and not a.billing_restart
    ]
    if not drop:
        return c
    ends = [e for e in [c.end] + [a.end for a in c.amendments] if e is not None]
    ends += [a.cancelled.date - _DAY for a in c.amendments if a.cancelled is not None]
    first_end = min(ends, default=None)
    for i in drop:
        for s in c.amendments[i].lines:
            if not s.one_time and first_end is not None and (s.end is None or s.end > first_end):
                return c
    if any(s.timing == "arrears" for s in c.segments()):
        return c
    rest = tuple(a for i, a in enumerate(c.amendments) if i not in drop)
    kept = dataclasses.replace(c, amendments=rest)
    ids = {s.id for s in kept.segments()}
    if any(b.segment not in ids for b in billed):
        return c
    return kept


def scheduled_for(c: Contract, settings: Settings, segment: Segment, day: date) -> Decimal:
    """What the schedule finally bills ``segment`` in the billing period holding ``day`` (every amendment known):
    the amount a ledger's lines for that period add up to once everything is invoiced."""
    sch = _Schedule(c, settings, max(day, segment.start))
    return sch.amount(sch.final, segment, sch.key_of(segment, sch._period_index(day)))[0]


def due_lines(
    c: Contract,
    settings: Settings,
    through: date,
    billed: list[Billed],
    horizon: date | None = None,
    full: bool = False,
) -> list[tuple[date, DraftLine]]:
    """What `invoice run --through` issues for one contract: the schedule due by then minus ``billed``.

    Incremental unless ``full``: only the keys first invoiced after the ledger's last date L (and the last
    period's, which merges the periods past the end) are scheduled and compared, when nothing can have changed the
    earlier ones: no amendment caught up after L, every amendment already in the ledger (not recorded after the
    run), no ``billed_through:``, no change of billing frequency. The keys left out must then be settled — the
    ledger holds, for each, what the schedule finally bills in it — else (a ledger cpqctl did not write, an older
    period rule) the whole schedule is compared. Either way the same lines are issued (tests/test_incremental_billing).
    """

    if not full:
        c = _known_by(c, through, billed)
    sch = _Schedule(c, settings, max(through, horizon or through))
    since = None if full else _settled_through(c, billed)
    schedule = _schedule(sch, through, since)
    held: dict[tuple[str, int], list[Decimal]] = {}
    segments = ledger.segment_index(c)
    # a line's key is the period it was scheduled in (a credit for the part of a period cut by a change of
    # frequency lies in the next period's dates); else the period holding its first day
    # (its amount tells a cut period's credit from the next period's line when both cover the same days)
    # (a catch-up for the difference has the days but not the amount of a scheduled line)
    spans: dict[tuple, list[int]] = {}
    days: dict[tuple, int] = {}
    fits: dict[tuple, set[int]] = {}  # the keys with a line of those days
    for key in sorted(schedule):
        for _, ln in schedule[key]:
            spans.setdefault((ln.segment, ln.period_start, ln.period_end, ln.amount), []).append(key[1])
            days.setdefault((ln.segment, ln.period_start, ln.period_end), key[1])
            fits.setdefault((ln.segment, ln.period_start, ln.period_end), set()).add(key[1])
    placed: list[list] = []  # [segment, key, amount, the keys whose lines cover its days], in ledger order
    for b in list(_billed_through(sch, through)) + list(billed):
        s = segments.get(b.segment)
        if s is None:
            continue
        keys = spans.get((s.id, b.period_start, b.period_end, b.amount))
        k = keys.pop(0) if keys else days.get((s.id, b.period_start, b.period_end))
        if k is None:
            k = sch.key_of(s, sch._period_index(b.period_start or s.start))
        placed.append([s.id, k, b.amount, fits.get((s.id, b.period_start, b.period_end), ())])
    if any(len(p[3]) > 1 for p in placed):
        _place_shared_days(placed, schedule, through)
    for sid, k, amount, _ in placed:
        held.setdefault((sid, k), []).append(amount)
    if since is not None:
        # the keys left out must be settled: the ledger holds, for each, what the schedule bills in it in the end
        # (else — a ledger cpqctl did not write, an older period rule — the whole schedule is compared)
        for s, k in sch.skipped:
            if sum(held.get((s.id, sch.key_of(s, k)), ()), ZERO) != sch.amount(sch.final, s, k)[0]:
                return due_lines(c, settings, through, billed, horizon, full=True)
    out: list[tuple[date, DraftLine]] = []
    for key in sorted(set(schedule) | set(held)):
        out.extend(_owed([(d, ln) for d, ln in schedule.get(key, []) if d <= through], held.get(key, [])))
    return out


def _owed(due: list[tuple[date, DraftLine]], have: list[Decimal]) -> list[tuple[date, DraftLine]]:
    """What one key still owes: its lines ``due`` (dated by the run's day) the ledger's amounts ``have`` do not
    hold yet (when they are a prefix of them), else one catch-up for the difference."""
    amounts = [ln.amount for _, ln in due]
    if amounts[: len(have)] == have:
        return due[len(have) :]
    if have[: len(amounts)] == amounts or not due:
        return []  # the ledger is ahead of the schedule: nothing due
    diff = sum(amounts, ZERO) - sum(have, ZERO)
    if not diff:
        return []
    d, ln = due[-1]
    kind = "credit" if diff < 0 else ("one-time" if ln.kind == "one-time" else "proration")
    return [(d, dataclasses.replace(ln, amount=diff, kind=kind))]


def _place_shared_days(
    placed: list[list], schedule: dict[tuple[str, int], list[tuple[date, DraftLine]]], through: date
) -> None:
    """Move the ledger lines whose days the lines of several keys cover to the key that settles.

    The part of a period cut by a change of frequency is credited for days the next period bills too (both cut at
    the contract's or the segment's end cover the same days). A scheduled line is placed by its amount, but a
    catch-up for a difference (:func:`_owed`) has the amount of no scheduled line, or by chance another key's: read
    back, it could land in the other key, which would then owe it back, and every run would issue the pair again.
    So a line such days fit goes to another key they fit when that leaves fewer keys owing anything (``placed``:
    ``[segment, key, amount, the keys its days fit]`` in ledger order, changed in place).
    """

    def owing(sid: str, k: int, moved: int = -1, to: int = -1) -> int:
        have = [p[2] for i, p in enumerate(placed) if p[0] == sid and (to if i == moved else p[1]) == k]
        return 1 if _owed([(d, ln) for d, ln in schedule.get((sid, k), []) if d <= through], have) else 0

    for _ in range(len(placed)):  # each move leaves fewer keys owing: a few rounds at most
        moved = False
        for i, (sid, k, _, fit) in enumerate(placed):
            if len(fit) < 2:
                continue
            now = {k2: owing(sid, k) + owing(sid, k2) for k2 in fit if k2 != k}
            to = next((k2 for k2 in sorted(now) if owing(sid, k, i, k2) + owing(sid, k2, i, k2) < now[k2]), None)
            if to is not None:
                placed[i][1] = to
                moved = True
                break
        if not moved:
            return


def drafts(
    c: Contract, account: Account | None, settings: Settings, lines: list[tuple[date, DraftLine]]
) -> list[Draft]:
    """Invoices from dated lines: one per invoice date, taxed per rate on its net total."""
    rounding = contract_terms(c, settings).rounding
    rate, reverse = tax_rate(account, settings)
    by_date: dict[date, list[DraftLine]] = {}
    for d, ln in lines:
        by_date.setdefault(d, []).append(ln)
    out = []
    for d in sorted(by_date):
        rows = tuple(sorted(by_date[d], key=lambda ln: (ln.period_start or d, _order(c, ln.segment))))
        net = sum((ln.amount for ln in rows), round_money(0, c.currency, rounding))
        if settings.tax_rounding == "line":  # each line's VAT rounded, then added up
            tax = sum(
                (round_money(Fraction(ln.amount) * Fraction(rate) / 100, c.currency, rounding) for ln in rows),
                round_money(0, c.currency, rounding),
            )
        else:
            tax = round_money(Fraction(net) * Fraction(rate) / 100, c.currency, rounding)
        out.append(
            Draft(
                account=c.account,
                contract=c.contract,
                date=d,
                currency=c.currency,
                lines=rows,
                net_total=net,
                taxes=(TaxLine(rate, net, tax),),
                gross_total=net + tax,
                sale_date=min((ln.period_start for ln in rows if ln.period_start), default=None),
                due=d + timedelta(days=settings.payment_days),
                reverse_charge=reverse,
            )
        )
    return out


def _order(c: Contract, seg_id: str) -> tuple[int, int]:
    """Ledger order of a segment ID (signed lines first, then each amendment's)."""
    head, _, n = seg_id.rpartition("#")
    idx = 0
    if "/" in head:
        aid = head.split("/", 1)[1]
        idx = next((i + 1 for i, a in enumerate(c.amendments) if aid in (a.quote, a.amendment)), 0)
    return idx, int(n) if n.isdigit() else 0


LOOKAHEAD = timedelta(days=366)  # how far :func:`quiet_until` looks for a contract's next dated line


def quiet_until(c: Contract, settings: Settings, through: date) -> date | None:
    """When a run through ``through`` issues nothing for ``c``: the first day after it on which the contract's
    schedule dates a line (at most ``through`` + :data:`LOOKAHEAD` + 1 day). No run through a day from
    ``through`` up to the day before it issues anything for ``c`` either, as long as the contract, the settings
    and its ledger stay what they were: that is what lets a month's run skip the contracts with nothing due
    (:mod:`cpqctl.load.quiet`).

    Why it holds: every line of a schedule is dated on a key's bill date (a period's start, or in arrears the
    day after its service ends) or on an amendment's acceptance (its catch-ups); with none of those in
    ``(through, day]`` the lines dated by ``day`` are the lines dated by ``through``, which the ledger already
    matches. That needs the lines' amounts not to move with the run's horizon: a contract without an end
    (evergreen) whose line ends after ``through`` gives None (that line's first period takes its residual up to
    the horizon), as does an imported one (``billed_through:``). Its lines without an end bill each period on
    its own, and a line ending by ``through`` has its whole value inside the periods already cut.
    tests/test_quiet_billing.py holds it to :func:`due_lines` over random contracts.
    """
    if c.billed_through is not None:
        return None
    if c.evergreen or c.end is None:
        if any(s.end is not None and s.end > through and not s.one_time for s in c.segments()):
            return None
    horizon = through + LOOKAHEAD
    first = horizon + _DAY
    for a in c.amendments:
        for d in known_dates(a):
            if through < d < first:
                first = d
    sch = _Schedule(c, settings, horizon)
    for s, k in sch.keys(horizon, since=through):
        d = sch.bill_date(s, k)
        if through < d < first:
            first = d
    return first


class Quiet(Protocol):
    """What :func:`run` asks of a memo of contracts with nothing due (:class:`cpqctl.load.quiet.QuietMemo`): it
    knows each contract's ledger itself (its invoices), so a skipped contract's ledger lines are never made."""

    def skips(self, c: Contract, through: date) -> bool: ...

    def record(self, c: Contract, through: date, until: date) -> None: ...


def run(
    repo: Repo,
    through: date,
    contracts: Iterable[Contract] | None = None,
    billed: Mapping[str, list[Billed]] | None = None,
    meter=None,
    full: bool = False,
    quiet: Quiet | None = None,
) -> list[Draft]:
    """Every invoice `invoice run --through` issues, ordered by (date, contract); numbers are the caller's.

    ``meter`` (:mod:`cpqctl.progress`), when given, sees one ``advance`` per contract. ``full``: compare each
    contract's whole schedule with its ledger (else from what it has already invoiced, :func:`due_lines`).
    ``quiet``: a memo of contracts known to have nothing due (:func:`quiet_until`); a contract it skips issues
    nothing, and each contract found with nothing due is recorded in it (not with ``full``, the reference path).
    """
    index = billed if billed is not None else ledger_index(repo.invoices.values())
    out: list[Draft] = []
    todo = sorted(contracts if contracts is not None else repo.contracts.values(), key=lambda c: c.contract)
    if full:
        quiet = None
    if meter is not None:
        meter.start("Billing contracts", len(todo))
    for c in todo:
        if meter is not None:
            meter.advance()
        if c.start > through:
            continue
        if quiet is not None and quiet.skips(c, through):
            continue
        lines = due_lines(c, repo.settings, through, index.get(c.contract, []), full=full)
        if quiet is not None and not lines:
            until = quiet_until(c, repo.settings, through)
            if until is not None:
                quiet.record(c, through, until)
        out.extend(drafts(c, repo.accounts.get(c.account), repo.settings, lines))
    out.sort(key=lambda d: (d.date, d.contract))
    return out


# --------------------------------------------------------------------------- previews


def assumed_billed(c: Contract, settings: Settings, as_of: date) -> list[Billed]:
    """A contract with no invoices: every invoice dated by ``as_of`` counts as issued (SPEC §4)."""
    return [
        Billed(d, "(assumed)", ln.segment, ln.amount, ln.period_start, ln.period_end)
        for d, ln in due_lines(c, settings, as_of, [])
    ]


def horizon(c: Contract, as_of: date) -> date:
    """How far a preview looks: the contract's current end, or a year ahead for an open contract."""
    end = ledger.current_end(c)
    return end if end is not None else add_months(as_of, 12)


def with_amendment(c: Contract, quote, priced, as_of: date) -> Contract:
    """The contract as if the amendment quote were accepted on ``as_of`` (in memory only)."""
    aid = f"A-{len(c.amendments) + 1}"
    segs = tuple(
        Segment(
            id=f"{c.contract}/{quote.quote}#{i + 1}",
            product=ln.product,
            quantity=ln.quantity,
            unit_price=ln.net_unit_price,
            start=ln.start,
            end=None if ln.one_time else ln.end,
            per=ln.per,
            list_price=ln.list_unit_price,
            pricing="block" if ln.pricing == "block" else "list",
            bundle=ln.bundle,
            timing=ln.timing,
        )
        for i, ln in enumerate(priced.lines)
    )
    effective = quote.effective or priced.start
    amendment = Amendment(
        amendment=aid,
        effective=effective,
        lines=segs,
        quote=quote.quote,
        signed=Signed("(preview)", as_of),
        end=quote.end if quote.end and not quote.cancelled else None,
        cancelled=quote.cancelled,
        billing_frequency=quote.billing_frequency if quote.kind == "amendment" else None,
        billing_restart=quote.billing_restart,
    )
    return dataclasses.replace(c, amendments=c.amendments + (amendment,))


@dataclass(frozen=True, slots=True)
class AmendmentPreview:
    on_acceptance: tuple[DraftLine, ...]
    invoices: tuple[tuple[date, date, date, Decimal, Decimal], ...]  # (date, period start, end, before, after)
    contract_value_delta: Decimal
    arr_before: Fraction
    arr_after: Fraction


def preview_amendment(
    c: Contract,
    amended: Contract,
    settings: Settings,
    as_of: date,
    billed: list[Billed],
    quote_total: Decimal,
    until: date | None = None,
) -> AmendmentPreview:
    """The invoice delta of accepting an amendment on ``as_of`` (both runs share ``billed``).

    on_acceptance: what the amended run issues for periods invoiced by
    ``as_of`` minus what the plain run issues for them (the catch-up, dated on
    or after ``as_of``); then each later period's invoice, before → after.
    """
    effective = amended.amendments[-1].effective
    last = until or max(horizon(c, as_of), horizon(amended, as_of))
    terms = (billing_terms(c, settings), billing_terms(amended, settings))
    arrears = {x.id for x in amended.segments() if x.timing == "arrears"}
    through = max(last, known_dates(amended.amendments[-1])[1])
    before = due_lines(c, settings, through, billed)
    after = due_lines(amended, settings, through, billed)

    def when(col: int, d: date, ln: DraftLine) -> date:
        """The invoice the line belongs to: its period's first day (in advance; a catch-up for a period begun by
        ``as_of`` goes on acceptance), or its own date (in arrears)."""
        return d if ln.segment in arrears else natural_start((c, amended)[col], terms[col], ln.period)

    now: dict[tuple, Decimal] = {}
    for col, sign, rows in ((1, 1, after), (0, -1, before)):
        for d, ln in rows:
            if when(col, d, ln) <= as_of:
                k = (
                    ln.period_start,
                    ln.segment,
                    ln.product,
                    ln.period_end,
                    ln.quantity,
                    "credit" if ln.kind == "credit" else ln.kind,
                )
                now[k] = now.get(k, ZERO) + sign * ln.amount
    on_acc = tuple(
        DraftLine(
            seg, prod, "credit" if amt < 0 else ("one-time" if kind == "one-time" else "proration"), amt, ps, pe, qty, 0
        )
        for (ps, seg, prod, pe, qty, kind), amt in sorted(now.items(), key=lambda kv: (kv[0][0] or as_of, kv[0][1]))
        if amt
    )
    later: dict[date, list] = {}
    for col, rows in ((0, before), (1, after)):
        for d, ln in rows:
            day = when(col, d, ln)
            if as_of < day <= last:
                row = later.setdefault(day, [ZERO, ZERO, None, None])
                row[col] += ln.amount
                lo, hi = ln.period_start or day, ln.period_end or ln.period_start or day
                row[2] = lo if row[2] is None else min(row[2], lo)
                row[3] = hi if row[3] is None else max(row[3], hi)
    invoices = tuple((d, lo, hi, b, a) for d, (b, a, lo, hi) in sorted(later.items()))
    return AmendmentPreview(
        on_acc, invoices, quote_total, ledger.mrr(c, effective) * 12, ledger.mrr(amended, effective) * 12
    )
