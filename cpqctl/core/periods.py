"""Periods: the one syntax the report commands take for a range of days, resolved against ``--as-of``.

A period is a closed range of whole days, ``start`` to ``end`` inclusive:

============================  ==========================================================
``2027``                      the year: 2027-01-01 .. 2027-12-31
``2027q1``, ``2027-Q1``       the quarter: 2027-01-01 .. 2027-03-31 (q1..q4, any case)
``2027-03``                   the month: 2027-03-01 .. 2027-03-31 (February: 28 or 29 days)
``2027-03-15``                the day: 2027-03-15 .. 2027-03-15
``this-month``                the calendar month holding ``as_of`` (the whole month, also the days after it)
``last-month``                the calendar month before it
``this-quarter``              the calendar quarter holding ``as_of``; ``last-quarter`` the one before
``this-year``                 the calendar year holding ``as_of``; ``last-year`` the one before
``A..B``                      from the first day of period A to the last day of period B (each side one of
                              the forms above: ``2027-01..2027-03``, ``2027-01-15..2027-02-14``)
============================  ==========================================================

Case and the spaces around the text and ``..`` do not matter. A relative form
is always whole: ``this-quarter`` ends on the quarter's last day even when
``as_of`` is earlier (contracts are known ahead of time); for "up to today"
write ``this-year..2027-05-14``, or use ``--as-of`` where the report takes it.

Pure: ``as_of`` is a parameter (the caller's ``--as-of``); the clock is never read.
Bad input is a :class:`~cpqctl.core.diagnostics.UsageError` ``E-PERIOD`` whose
hint lists the accepted forms.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, timedelta
from typing import NamedTuple

from cpqctl.core.diagnostics import UsageError

# The years cpqctl works with (the same bounds as cpqctl.load.schema.FIRST_DAY / LAST_DAY, which core cannot import).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)

FORMS = (
    "2027q1 (or 2027-Q1), 2027-03, 2027, 2027-03-15, this-month, last-month, this-quarter, last-quarter, "
    "this-year, last-year, or FROM..TO (e.g. 2027-01..2027-03)"
)
HINT = f"a period is one of: {FORMS}"

RELATIVE = ("this-month", "last-month", "this-quarter", "last-quarter", "this-year", "last-year")

_YEAR = re.compile(r"(\d{4})")
_QUARTER = re.compile(r"(\d{4})-?q(\d)")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class Period(NamedTuple):
    """Days ``start`` to ``end``, both included (a tuple: ``start, end = parse_period(...)``)."""

    start: date
    end: date

    @property
    def opening(self) -> date:
        """The day before the period: what a change *within* the period is measured from.

        MRR movements over a period compare the MRR on this day with the MRR
        on ``end``, so a contract starting on the period's first day is new
        business of that period (as the board report counts its months).
        """
        return self.start - timedelta(days=1)

    @property
    def months(self) -> int:
        """How many calendar months the period touches (2027-01-15..2027-03-01 → 3)."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1


def _refuse(text: str, why: str = "") -> UsageError:
    detail = f": {why}" if why else ""
    return UsageError("E-PERIOD", f"`{text}` is not a period{detail}", HINT)


def _month(year: int, month: int) -> Period:
    return Period(date(year, month, 1), date(year, month, monthrange(year, month)[1]))


def _quarter(year: int, q: int) -> Period:
    first = 3 * (q - 1) + 1
    return Period(date(year, first, 1), _month(year, first + 2).end)


def _year(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31))


def _relative(word: str, as_of: date) -> Period:
    which, unit = word.split("-")
    back = which == "last"
    if unit == "month":
        y, m = divmod(as_of.year * 12 + as_of.month - 1 - back, 12)
        return _month(y, m + 1)
    if unit == "quarter":
        y, q = divmod(as_of.year * 4 + (as_of.month - 1) // 3 - back, 4)
        return _quarter(y, q + 1)
    return _year(as_of.year - back)


def _year_of(text: str, digits: str) -> int:
    """The year of an explicit period, refused outside the years cpqctl works with."""
    year = int(digits)
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise UsageError(
            "E-PERIOD",
            f"`{text}` is not a period cpqctl works with: the years are {FIRST_DAY.year}–{LAST_DAY.year}",
            "check the year (a typo?), e.g. 2027q1",
        )
    return year


def _single(text: str, part: str, as_of: date) -> Period:
    """One period, not a range (``part`` is folded to lower case and stripped)."""
    if part in RELATIVE:
        return _relative(part, as_of)
    if m := _DAY.fullmatch(part):
        try:
            day = date(_year_of(text, m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise _refuse(text, f"{part} is not a day of the calendar") from None
        return Period(day, day)
    if m := _MONTH.fullmatch(part):
        if not 1 <= int(m[2]) <= 12:
            raise _refuse(text, f"there is no month {m[2]}")
        return _month(_year_of(text, m[1]), int(m[2]))
    if m := _QUARTER.fullmatch(part):
        if not 1 <= int(m[2]) <= 4:
            raise _refuse(text, f"there is no quarter {m[2]} (q1 to q4)")
        return _quarter(_year_of(text, m[1]), int(m[2]))
    if m := _YEAR.fullmatch(part):
        return _year(_year_of(text, m[1]))
    raise _refuse(text)


def parse_period(text: str, as_of: date) -> Period:
    """The period ``text`` names (see the module docstring), relative forms counted from ``as_of``.

    >>> parse_period("2027q1", date(2026, 5, 1))
    Period(start=datetime.date(2027, 1, 1), end=datetime.date(2027, 3, 31))
    >>> parse_period("last-month", date(2027, 1, 15))
    Period(start=datetime.date(2026, 12, 1), end=datetime.date(2026, 12, 31))
    """
    folded = text.strip().casefold()
    if not folded:
        raise UsageError("E-PERIOD", "the period is empty", HINT)
    if not folded.isascii():
        raise _refuse(text)
    if ".." in folded:
        left, _, right = folded.partition("..")
        left, right = left.strip(), right.strip()
        if not left or not right or ".." in right:
            raise _refuse(text, "a range is two periods around one `..`")
        period = Period(_single(text, left, as_of).start, _single(text, right, as_of).end)
        if period.end < period.start:
            raise UsageError(
                "E-PERIOD",
                f"`{text}` ends ({period.end}) before it starts ({period.start})",
                "give the earlier period first, e.g. 2027-01..2027-03",
            )
    else:
        period = _single(text, folded, as_of)
    if period.start < FIRST_DAY or period.end > LAST_DAY:  # a relative form next to the first or last year
        raise UsageError(
            "E-PERIOD",
            f"`{text}` ({period.start}..{period.end}) is not a period cpqctl works with: the years are "
            f"{FIRST_DAY.year}–{LAST_DAY.year}",
            "check --as-of (a typo?)",
        )
    return period
