"""Locale-aware text for documents: money, numbers, percentages and dates (Babel).

Documents show amounts the way the company's locale writes them
(``1 234,56 zł`` in pl_PL, ``$1,234.56`` in en_US). Babel takes Decimal
directly, so no value ever passes through a float.

Deterministic output: CLDR has moved some locales between a no-break space
(U+00A0) and a narrow no-break space (U+202F) as the group and currency
separator; every such space is written as U+00A0 so that a Babel upgrade does
not rewrite committed documents. The space still never breaks a line.
"""

from __future__ import annotations

import re
from datetime import date as _date
from decimal import Decimal
from functools import cache

NBSP = "\u00a0"
_SPACES = {"\u202f": NBSP, "\u2009": NBSP, "\u2007": NBSP}


def _fixed_spaces(text: str) -> str:
    for space, replacement in _SPACES.items():
        text = text.replace(space, replacement)
    return text


def money(value: Decimal, currency: str, locale: str) -> str:
    """``money(Decimal("1234.56"), "PLN", "pl_PL")`` → ``"1 234,56 zł"`` (NBSPs).

    Shown with the currency's own minor-unit places (JPY 0, PLN 2); values are
    expected to be rounded already, so this never changes an amount.
    """
    from babel.numbers import format_currency

    return _fixed_spaces(format_currency(Decimal(value), currency, locale=locale))


def number(value: Decimal, locale: str) -> str:
    """A quantity or factor with all its significant digits: ``1 234,5``; ``50.00`` → ``50``."""
    from babel.numbers import format_decimal

    return _fixed_spaces(format_decimal(Decimal(value), locale=locale, decimal_quantization=False))


def fixed_number(value: Decimal, places: int, locale: str) -> str:
    """A number with exactly ``places`` decimals and the locale's grouping: ``256.5``, 1, pl_PL → ``256,5``.

    ``value`` is expected to be rounded to ``places`` already (the chart labels round half-up first).
    """
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * places if places else "")
    return _fixed_spaces(format_decimal(Decimal(value), pattern, locale=locale))


def percent(value_points: Decimal, locale: str) -> str:
    """Percent points as the locale writes them: ``Decimal("10")`` → ``10%``, ``12.5`` → ``12,5%`` (pl)."""
    from babel.numbers import format_percent

    fraction = Decimal(value_points).scaleb(-2)  # exact: moves the decimal point only
    return _fixed_spaces(format_percent(fraction, locale=locale, decimal_quantization=False))


def date(value: _date, locale: str) -> str:
    """A numeric date as invoices print it: the locale's short date with a four-digit
    year and two-digit day and month (pl_PL ``05.01.2026``, en_US ``01/05/2026``,
    sv_SE ``2026-01-05``)."""
    from babel.dates import format_date

    return _fixed_spaces(format_date(value, _invoice_date_pattern(locale), locale=locale))


@cache
def _invoice_date_pattern(locale: str) -> str:
    from babel import Locale

    pattern = Locale.parse(locale).date_formats["short"].pattern
    # Quoted literals ('de') alternate with pattern text; rewrite only the latter.
    pieces = re.split(r"('[^']*')", pattern)
    for i in range(0, len(pieces), 2):
        piece = re.sub(r"y+", "y", pieces[i])
        piece = re.sub(r"d+", "dd", piece)
        pieces[i] = re.sub(r"(?<!M)M{1,2}(?!M)", "MM", piece)
    return "".join(pieces)
