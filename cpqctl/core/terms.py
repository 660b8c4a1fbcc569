"""The vocabulary of commercial terms, and one resolver of a contract's effective terms.

Each fact is defined once here and imported everywhere else (the loader's
schema, pricing, billing, the command line's choices):

- :data:`FREQUENCIES` and :data:`FREQUENCY_MONTHS` — billing frequencies and
  the months of one billing period (``upfront`` has none: one invoice);
- :data:`PRORATION_METHODS` and :data:`ROUNDING_MODES` — the values of
  ``pricing.proration`` and ``pricing.rounding`` (cpq.toml) and of a
  contract's frozen ``proration:`` / ``rounding:``;
- :data:`PER_MONTHS` and :data:`PRICE_PERIODS` — what a unit price covers
  (a line's or product's ``per:``) and its months;
- :data:`RENEWAL_PRICING` — the renewal pricing methods.

:func:`contract_terms` answers "which proration method, rounding and billing
frequency does this contract use": the contract's own frozen value when it has
one (cpqctl writes them at acceptance), else cpq.toml's. Every module that needs
one of them asks here, so a hand-written contract without ``rounding:`` follows
cpq.toml everywhere (before, four places fell back to half-up on their own).
:func:`tax_rate` answers "which VAT rate does this account's invoice or quote
carry" the same way for quotes and invoices.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cpqctl.core.model import Account, Contract, Settings

FREQUENCY_MONTHS: dict[str, int | None] = {
    "monthly": 1,
    "quarterly": 3,
    "triannual": 4,
    "semiannual": 6,
    "annual": 12,
    "upfront": None,
}
FREQUENCIES: tuple[str, ...] = tuple(FREQUENCY_MONTHS)
PERIODIC_FREQUENCIES: tuple[str, ...] = tuple(f for f, m in FREQUENCY_MONTHS.items() if m is not None)
PRORATION_METHODS: tuple[str, ...] = ("monthly+daily", "calendar", "daily", "monthly", "30/360", "period")
ROUNDING_MODES: tuple[str, ...] = ("half-up", "half-even")
PARTIAL_POLICIES: tuple[str, ...] = ("prorate", "full", "none")  # how a partial billing period bills
PER_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}
PRICE_PERIODS: tuple[str, ...] = tuple(PER_MONTHS)
RENEWAL_PRICING: tuple[str, ...] = ("same", "list", "uplift")


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """What a contract's arithmetic follows: proration method, rounding mode and billing frequency."""

    proration: str
    rounding: str
    billing_frequency: str
    billing_anchor: str = "start"  # start | calendar | a day of the month "1"–"28"
    partial: str = "prorate"  # prorate | full | none: how a partial billing period bills (docs/billing.md)

    @property
    def billing_months(self) -> int | None:
        """Months of one billing period (None for upfront billing)."""
        return FREQUENCY_MONTHS.get(self.billing_frequency)


def contract_terms(c: Contract, settings: Settings) -> ContractTerms:
    """The contract's effective terms: its own frozen values first, then cpq.toml's defaults."""
    return ContractTerms(
        proration=c.proration or settings.proration,
        rounding=c.rounding or settings.rounding,
        billing_frequency=c.billing_frequency or settings.billing_frequency,
        billing_anchor=c.billing_anchor if c.billing_anchor is not None else settings.billing_anchor,
        partial=c.billing_partial or settings.billing_partial,
    )


def tax_rate(account: Account | None, settings: Settings) -> tuple[Decimal, bool]:
    """(rate in percent, reverse charge): reverse-charge accounts pay 0%; else the account's rate, else cpq.toml's."""
    if account is not None and account.reverse_charge:
        return Decimal(0), True
    if account is not None and account.tax_code:  # np, zw, oo: no Polish VAT on the invoice (docs/invoices.md)
        return Decimal(0), False
    if account is not None and account.tax_rate is not None:
        return account.tax_rate, False
    return settings.tax_rate, False
