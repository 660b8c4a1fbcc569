"""A contract's state on a date, derived from its segments (never stored twice).

The quantity of a product on a date is the sum of the quantities of the
segments covering that date; amendments are delta segments. The current end
and status come from the last amendment that extends (`end:`) or cancels.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from cpqctl.core.model import Cancellation, Contract, Segment, Settings
from cpqctl.core.proration import line_total, priced_units
from cpqctl.core.regimes import regime_on, regimes
from cpqctl.core.terms import PER_MONTHS, contract_terms

ZERO = Decimal(0)


def cancellation(c: Contract) -> Cancellation | None:
    """The contract's cancellation, if its last extend-or-cancel amendment is one."""
    last = None
    for a in c.amendments:
        if a.cancelled is not None:
            last = a.cancelled
        elif a.end is not None:
            last = None
    return last


def amendment_key(a) -> str:
    """What an amendment's segments are named by: its quote's ID (never changes when branches merge), else its label."""
    return a.quote or a.amendment


def segment_index(c: Contract) -> dict[str, Segment]:
    """The contract's segments by ID, and by the older positional ID ``C/A-n#i`` of an amendment with a quote.

    Invoices issued before amendments were named by their quotes reference
    ``C-2026-0001/A-2#1``; such a reference still finds its segment while one
    amendment carries that label (`check` reports labels used twice).
    """
    out = {s.id: s for s in c.segments()}
    labels: dict[str, int] = {}
    for a in c.amendments:
        labels[a.amendment] = labels.get(a.amendment, 0) + 1
    for a in c.amendments:
        if a.quote and labels[a.amendment] == 1:
            for i, s in enumerate(a.lines, 1):
                out.setdefault(f"{c.contract}/{a.amendment}#{i}", s)
    return out


def current_end(c: Contract) -> date | None:
    """The last day of service after every amendment (None: evergreen, open)."""
    end = c.end
    for a in c.amendments:
        if a.end is not None:
            end = a.end
        if a.cancelled is not None:
            end = a.cancelled.date - timedelta(days=1)
    return end


def end_before(c: Contract, index: int) -> date | None:
    """The contract end in force before amendment ``index`` (0-based) was applied."""
    end = c.end
    for a in c.amendments[:index]:
        if a.end is not None:
            end = a.end
        if a.cancelled is not None:
            end = a.cancelled.date - timedelta(days=1)
    return end


def status(c: Contract, as_of: date) -> str:
    """pending | active | cancelled | ended, on ``as_of``."""
    if as_of < c.start:
        return "pending"
    canc = cancellation(c)
    if canc is not None and as_of >= canc.date:
        return "cancelled"
    end = current_end(c)
    if end is not None and as_of > end:
        return "ended"
    return "active"


def segment_mrr(s: Segment, d: date) -> Fraction:
    """The segment's monthly recurring revenue on ``d`` (exact)."""
    if s.per is None or not s.covers(d):  # one-time
        return Fraction(0)
    return Fraction(s.unit_price) * Fraction(priced_units(s.quantity, s.pricing)) / PER_MONTHS[s.per]


@dataclass(frozen=True, slots=True)
class Owned:
    product: str
    quantity: Decimal
    mrr: Fraction
    bundle: str | None = None


def owned(c: Contract, d: date) -> list[Owned]:
    """What the customer owns under this contract on ``d``: recurring products with a non-zero quantity."""
    qty: dict[str, Decimal] = defaultdict(lambda: ZERO)
    mrr: dict[str, Fraction] = defaultdict(Fraction)
    bundle: dict[str, str | None] = {}
    for s in c.segments():
        if s.one_time or not s.covers(d):
            continue
        qty[s.product] += s.quantity
        mrr[s.product] += segment_mrr(s, d)
        bundle.setdefault(s.product, s.bundle)
    return [Owned(p, qty[p], mrr[p], bundle.get(p)) for p in sorted(qty) if qty[p] != 0 or mrr[p] != 0]


def mrr(c: Contract, d: date) -> Fraction:
    return sum((segment_mrr(s, d) for s in c.segments()), Fraction(0))


def quantity_on(c: Contract, product: str, d: date) -> Decimal:
    return sum((s.quantity for s in c.segments() if s.product == product and s.covers(d)), ZERO)


def tcv(c: Contract, settings: Settings) -> Decimal | None:
    """Total contract value: Σ of its segments' rounded line totals (None for an evergreen contract).

    Under the contract's effective proration and rounding (:func:`cpqctl.core.terms.contract_terms`); a
    block line counts its block price once (negative for a removed block).
    """
    if c.evergreen:
        return None
    t = contract_terms(c, settings)
    rs = regimes(c, settings)
    total = Decimal(0)
    for s in c.segments():
        end = s.end if s.end is not None else s.start  # a one-time line is whole on its start date
        total += line_total(
            s.unit_price,
            priced_units(s.quantity, s.pricing),
            s.per,
            s.start,
            end,
            t.proration,
            c.currency,
            t.rounding,
            regime_on(rs, s.start).grid,  # the billing periods its quote was priced on
            t.partial,
        )
    return total
