"""Dated exchange rates (``fx/<CUR>.yaml``): the rate a foreign-currency invoice converts its VAT with.

The rule (art. 31a ust. 1 with art. 106e ust. 11 of the Polish VAT act): an amount in a foreign currency is
converted to złoty at the average rate the NBP published for the last working day before the day the tax
obligation arises (the tax point). NBP publishes table A on working days only, so the table dated last
strictly before the tax point is that day's: :func:`rate_for_tax_point`. A gap of more than
:data:`STALE_DAYS` days before the tax point is not a holiday but rates missing from the file (E-FX-STALE).

The fixed ``[fx]`` rates of cpq.toml stay what reports convert with unless dated tables exist
(:func:`report_rate`). Pure: no IO, no clock.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, timedelta
from decimal import Decimal

from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import FxRate, FxTable, Settings
from cpqctl.core.money import round_places

STALE_DAYS = 7  # the longest run of days without an NBP table (Christmas, a long weekend) is shorter
IMPORT_HINT = "import the NBP table A rates with `cpqctl fx import FILE` (docs/fx.md)"
TOML_LABEL = "cpq.toml [fx]"


def _company_currency(settings: Settings, currency: str) -> CpqError:
    return CpqError(
        "E-FX-CURRENCY",
        f"{currency} is the company currency: it needs no exchange rate",
        "convert only amounts in another currency",
        src=settings.src,
    )


def _days(table: FxTable) -> list[date]:
    return [r.day for r in table.rates]


def rate_for_tax_point(settings: Settings, currency: str, tax_point: date) -> FxRate:
    """The rate of the latest table dated strictly before ``tax_point`` (the last working day before it).

    Refused with E-FX-MISSING when ``fx/<currency>.yaml`` is missing or holds no rate before that day, and with
    E-FX-STALE when the latest one is more than :data:`STALE_DAYS` days older than the tax point.
    """
    if currency == settings.currency:
        raise _company_currency(settings, currency)
    table = settings.fx_tables.get(currency)
    if table is None:
        raise CpqError(
            "E-FX-MISSING",
            f"no exchange-rate table for {currency}: fx/{currency}.yaml is missing, so VAT on a {currency} "
            f"invoice with the tax point {tax_point} cannot be shown in {settings.currency}",
            IMPORT_HINT,
        )
    i = bisect_left(_days(table), tax_point)  # the rates dated before the tax point: rates[:i]
    if i == 0:
        first = f" (its first is of {table.rates[0].day})" if table.rates else " (it holds none)"
        raise CpqError(
            "E-FX-MISSING",
            f"fx/{currency}.yaml has no {currency} rate dated before the tax point {tax_point}{first}",
            IMPORT_HINT + f": the table of the last working day before {tax_point}",
            src=table.src,
        )
    found = table.rates[i - 1]
    if (tax_point - found.day).days > STALE_DAYS:
        raise CpqError(
            "E-FX-STALE",
            f"fx/{currency}.yaml: the latest {currency} rate before the tax point {tax_point} is of {found.day}, "
            f"{(tax_point - found.day).days} days earlier: rates are missing from the file (NBP publishes a table "
            "every working day)",
            IMPORT_HINT + f": the tables from {found.day + timedelta(days=1)} to {tax_point - timedelta(days=1)}",
            src=found.src,
        )
    return found


def convert(amount: Decimal, rate: Decimal, currency_places: int) -> Decimal:
    """``amount`` × ``rate``, rounded half-up (ties away from zero) to ``currency_places`` (2: grosze)."""
    return round_places(Decimal(amount) * Decimal(rate), currency_places, "half-up")


def label(currency: str, rate: FxRate, source: str = "") -> str:
    """How a document names the rate used: ``NBP 231/A/NBP/2026 of 2026-11-30``."""
    who = "NBP" if not source or source.upper().startswith("NBP") else source
    table = f" {rate.table}" if rate.table else f" {currency}"
    return f"{who}{table} of {rate.day}"


def rate_in_force(table: FxTable, day: date) -> FxRate | None:
    """The latest rate dated on or before ``day`` that is not stale on it (None: none)."""
    i = bisect_right(_days(table), day)
    if i == 0:
        return None
    found = table.rates[i - 1]
    return found if (day - found.day).days <= STALE_DAYS else None


def report_rate(settings: Settings, currency: str, day: date) -> tuple[Decimal, str]:
    """The rate a report converts ``currency`` with on ``day``, and a label naming it.

    The table rate in force on the day (the latest dated on or before it, at most :data:`STALE_DAYS` old)
    when ``fx/<currency>.yaml`` has one; else the fixed rate of cpq.toml ``[fx]``, labelled
    ``cpq.toml [fx]``; else E-FX-MISSING. The company currency is ``(1, currency)``.
    """
    if currency == settings.currency:
        return Decimal(1), currency
    table = settings.fx_tables.get(currency)
    if table is not None:
        found = rate_in_force(table, day)
        if found is not None:
            return found.rate, label(currency, found, table.source)
    fixed = settings.fx.get(currency)
    if fixed is not None:
        return fixed, TOML_LABEL
    if table is not None:  # the rates on or before the day: none, or the latest stale (raises with the reason)
        rate_for_tax_point(settings, currency, day + timedelta(days=1))
    raise CpqError(
        "E-FX-MISSING",
        f"no exchange rate for {currency}: neither fx/{currency}.yaml nor a {currency} rate in cpq.toml [fx]",
        IMPORT_HINT + f', or add `{currency} = "4.30"` under [fx] in cpq.toml',
        src=settings.src,
    )
