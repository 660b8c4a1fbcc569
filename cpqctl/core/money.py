"""Exact money: Decimal amounts, currency minor units, named rounding points.

Every number in cpqctl is built from text through :func:`D` (never from a
float). Multipliers are exact :class:`fractions.Fraction`; rounding happens only
in :func:`round_money` / :func:`round_places`, with an explicit policy, never
through the ambient Decimal context.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from functools import cache

from cpqctl.core.terms import ROUNDING_MODES

ROUNDING_POLICIES = ROUNDING_MODES  # the rounding modes (cpqctl.core.terms), under this module's older name

# [0-9], not \d: Python's \d and Decimal() also take other scripts' digits ("10৪0.00" would be 1040)
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_PERCENT_RE = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*%")


class MoneyError(ValueError):
    """A value that is not an exact decimal (or percentage) in cpqctl's notation."""


def D(text: str | int | Decimal) -> Decimal:
    """An exact Decimal from the text of a number: ``"1200.00"``, ``"1200"``, ``1200``.

    Rejects floats, thousands separators, decimal commas (``12,50``),
    exponents, ``NaN`` and infinities.
    """
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise MoneyError(f"not a finite number: {text}")
        return text
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise MoneyError(f"not an exact decimal: {text!r}")
    s = str(text).strip()
    if not _DECIMAL_RE.fullmatch(s):
        raise MoneyError(f"not a decimal number: {s!r}")
    return Decimal(s)


def parse_percent(text: str) -> Decimal:
    """``"5%"`` → ``Decimal("5")`` (percent points). A bare number is an error."""
    s = str(text).strip()
    m = _PERCENT_RE.fullmatch(s)
    if not m:
        raise MoneyError(f"not a percentage (a number followed by %): {s!r}")
    return Decimal(m.group(1))


def fmt_percent(value: Decimal) -> str:
    """``Decimal("5")`` → ``"5%"``; ``Decimal("3.50")`` → ``"3.5%"``."""
    return f"{_strip(value)}%"


def _strip(value: Decimal) -> str:
    s = format(value, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


def fmt_decimal(value: Decimal) -> str:
    """A quantity as its shortest exact text (``Decimal("5.0")`` → ``"5"``)."""
    return _strip(Decimal(value))


@cache
def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit (PLN 2, JPY 0), from Babel's CLDR data."""
    from babel.numbers import get_currency_precision

    return get_currency_precision(currency)


def _round_fraction(value: Fraction, places: int, policy: str) -> Decimal:
    if policy not in ROUNDING_POLICIES:
        raise ValueError(f"unknown rounding policy {policy!r}")
    scale = 10**places
    scaled = value * scale
    sign = -1 if scaled < 0 else 1
    a = abs(scaled)
    whole, rest = divmod(a.numerator, a.denominator)
    twice = 2 * rest
    if twice > a.denominator:
        whole += 1
    elif twice == a.denominator:
        if policy == "half-up" or whole % 2 == 1:
            whole += 1
    return Decimal(sign * whole).scaleb(-places) if places else Decimal(sign * whole)


def to_fraction(value: Decimal | Fraction | int) -> Fraction:
    if isinstance(value, Fraction):
        return value
    return Fraction(value)


def round_places(value: Decimal | Fraction | int, places: int, policy: str = "half-up") -> Decimal:
    """Round an exact value to ``places`` decimals. half-up = ties away from zero."""
    out = _round_fraction(to_fraction(value), places, policy)
    return out.quantize(Decimal(1).scaleb(-places)) if places else out.quantize(Decimal(1))


def round_money(value: Decimal | Fraction | int, currency: str, policy: str = "half-up") -> Decimal:
    """Round to the currency's minor unit under ``policy`` (the one named rounding point)."""
    return round_places(value, minor_units(currency), policy)


def money_str(value: Decimal, currency: str) -> str:
    """Money as JSON text: the currency's minor-unit places (``"0.30"``)."""
    places = minor_units(currency)
    q = Decimal(1).scaleb(-places) if places else Decimal(1)
    v = Decimal(value).quantize(q)
    if v == 0:
        v = abs(v)
    return format(v, "f")


def rounded_money_str(value: Decimal | Fraction | int, currency: str, rounding: str) -> str:
    """An exact amount (an MRR Fraction) as JSON money text: rounded once under ``rounding``, then :func:`money_str`."""
    return money_str(round_money(value, currency, rounding), currency)


def check_same_currency(a: str, b: str) -> None:
    if a != b:
        raise ValueError(f"currencies differ: {a} and {b}")
