"""A contract's billing regimes: which billing periods apply from when (issue 15).

A contract is billed on one grid of periods — every ``months`` months from a
boundary ``base`` (the contract start, or its first anchor date) — until an
amendment changes its billing frequency (``billing: {frequency: quarterly}``
on the amendment, ``cpqctl amend --billing``). From that amendment's effective
date ``D`` on, the periods follow the new frequency on a grid that keeps the
old one's day of the month: it counts from the first day of the old period
holding ``D`` (calendar-anchored contracts: from the calendar boundary of the
new frequency on or before ``D``). The old period holding ``D`` is cut at
``D − 1``; the new regime's first period is the stub from ``D`` to the end of
the new grid period holding it, prorated. This is Kill Bill's change of a
plan's billing period on the account's bill cycle day: monthly → quarterly
on the 12th of a 31-day month of a 92-day quarter credits 20/31 of the month
and charges 81/92 of the quarter.

Period ``k`` (an index over the whole contract) lies in the last regime whose
``first`` index is ≤ k. Pure: no IO, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import Contract, Settings
from cpqctl.core.proration import Grid, add_months, first_anchor
from cpqctl.core.terms import FREQUENCY_MONTHS, contract_terms

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Regime:
    """Billing periods of ``months`` months from ``start`` on, on the grid counted from ``base``."""

    first: int  # the index of its first period
    start: date  # its first day: the contract start, or a frequency change's effective date
    base: date  # a boundary of its grid, on or before ``start`` and less than one period before it
    months: int | None  # None: upfront (one period)

    @property
    def grid(self) -> Grid:
        return (self.base, self.months or 1)

    def offset(self, d: date) -> int:
        """The grid period (from ``base``) holding ``d`` ≥ base."""
        assert self.months is not None
        m = (d.year - self.base.year) * 12 + d.month - self.base.month
        if add_months(self.base, m) > d:
            m -= 1
        return m // self.months

    def natural(self, k: int) -> tuple[date, date]:
        """Period ``k`` of this regime before a later regime or the contract's end cuts it."""
        assert self.months is not None
        j = k - self.first
        lo = self.start if j == 0 else add_months(self.base, j * self.months)
        return lo, add_months(self.base, (j + 1) * self.months) - _DAY


def first_regime(start: date, months: int | None, first: date) -> Regime:
    """The regime a contract starts with: from its start, on the grid of its first anchor date ``first``
    (:func:`cpqctl.core.proration.first_anchor`; a later one makes period 0 a stub)."""
    base = add_months(first, -months) if months is not None and first > start else start
    return Regime(0, start, base, months)


def changed(prev: Regime, d: date, months: int, anchor: str, restart: bool = False) -> Regime:
    """The regime a change of billing frequency to ``months`` effective ``d`` starts (see the module's docstring);
    ``restart``: a new term — its periods count from ``d`` itself (Kill Bill's plan change: a new billing cycle)."""
    assert prev.months is not None  # regimes() refuses a change from upfront billing
    k = prev.first if d <= prev.natural(prev.first)[1] else prev.first + prev.offset(d)
    lo, _ = prev.natural(k)
    first = k if lo == d else k + 1
    base = add_months(prev.base, (k - prev.first) * prev.months)  # the old grid's boundary: its day of the month
    base = add_months(base, Regime(0, base, base, months).offset(d) * months)  # the new grid's, on or before d
    if restart:
        base = d
    elif anchor == "calendar":
        base = first_anchor(date(d.year, d.month, 1), months, "calendar")
        while base > d:
            base = add_months(base, -months)
    return Regime(first, d, base, months)


def regimes(c: Contract, settings: Settings) -> tuple[Regime, ...]:
    """The contract's regimes, oldest first: its first, then one per amendment that changes the frequency."""
    t = contract_terms(c, settings)
    months = t.billing_months
    out = [first_regime(c.start, months, first_anchor(c.start, months, t.billing_anchor))]
    for a in sorted((a for a in c.amendments if a.billing_frequency or a.billing_restart), key=lambda a: a.effective):
        frequency = a.billing_frequency or next(
            (f for f, m in FREQUENCY_MONTHS.items() if m == out[-1].months), "upfront"
        )
        months = FREQUENCY_MONTHS.get(frequency)
        if months is None and not a.billing_restart:
            raise CpqError(
                "E-BILLING",
                f"contract {c.contract}, amendment {a.amendment}: cannot change billing to `{frequency}`",
                "a change of frequency names a period: monthly, quarterly, triannual, semiannual or annual",
                src=a.at.get("billing", a.src),
            )
        why = None
        if a.effective <= c.start:
            why = "takes effect after the contract starts", "set the contract's own billing: frequency instead"
        elif out[-1].months is None or months is None:
            why = "cannot start from or go to upfront billing (one invoice for the term)", "renew instead"
        elif a.signed is not None and a.signed.date > a.effective:
            why = (
                f"cannot be backdated (signed {a.signed.date}, effective {a.effective})",
                "accept the amendment on or before its effective date (or move --effective)",
            )
        if why is not None:
            raise CpqError(
                "E-BILLING",
                f"contract {c.contract}, amendment {a.amendment}: a change of billing frequency {why[0]}",
                why[1],
                src=a.at.get("billing", a.src),
            )
        assert months is not None
        if months != out[-1].months or a.billing_restart:
            out.append(changed(out[-1], a.effective, months, t.billing_anchor, a.billing_restart))
    return tuple(out)


def regime_on(rs: tuple[Regime, ...], d: date) -> Regime:
    """The regime in force on ``d`` (the first one before the contract starts)."""
    if len(rs) == 1:
        return rs[0]
    return next((r for r in reversed(rs) if r.start <= d), rs[0])


def regime_of(rs: tuple[Regime, ...], k: int) -> Regime:
    """The regime period ``k`` belongs to."""
    if len(rs) == 1:  # most contracts never change frequency: billing asks this per period
        return rs[0]
    return next((r for r in reversed(rs) if r.first <= k), rs[0])


def grid_on(c: Contract, settings: Settings, d: date, months: int | None = None, restart: bool = False) -> Grid:
    """The billing grid a line starting on ``d`` is priced on (``months``, ``restart``: a frequency the pricing
    quote itself changes to from ``d``, a new term it starts on ``d``)."""
    t = contract_terms(c, settings)
    r = regime_on(regimes(c, settings), d)
    if r.months is not None and d > c.start and ((months is not None and months != r.months) or restart):
        r = changed(r, d, months or r.months, t.billing_anchor, restart)
    return r.grid
