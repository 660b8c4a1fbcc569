"""One object per distinct value while loading: dates, decimals and short strings repeat in thousands of files.

Why: at 50,000 accounts the same dates (period starts), amounts (list prices),
product codes and currency codes appear hundreds of thousands of times; one
shared immutable object each keeps a whole-repository load under 1 GB (SPEC
§8 target). Safe because ``date``, ``Decimal`` and ``str`` are immutable; the
memo is keyed by the exact text, so ``1.0`` and ``1.00`` stay distinct.
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal

_DATES: dict[str, date] = {}
_DECIMALS: dict[str, Decimal] = {}
MAX_ENTRIES = 1_000_000  # a bound, not a target: past it new values are simply not shared


def day(text: str) -> date:
    d = _DATES.get(text)
    if d is None:
        d = date.fromisoformat(text)
        if len(_DATES) < MAX_ENTRIES:
            _DATES[text] = d
    return d


def decimal(text: str, make=Decimal) -> Decimal:
    """``make(text)`` (which may validate and raise), shared between equal texts."""
    d = _DECIMALS.get(text)
    if d is None:
        d = make(text)
        if len(_DECIMALS) < MAX_ENTRIES:
            _DECIMALS[text] = d
    return d


def forget() -> None:
    """Empty the shared dates and decimals: a load in parts (:mod:`cpqctl.load.parts`) shares values within a part,
    and across parts would keep every amount of every part after the records that used them are gone."""
    _DATES.clear()
    _DECIMALS.clear()


intern = sys.intern
