"""Proration: months between dates under each method, and cumulative values (SPEC §2, §4)."""

from __future__ import annotations

from calendar import isleap, monthrange
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import assume, given, settings, strategies as st

from cpqctl.core.money import round_places
from cpqctl.core.proration import (
    METHODS,
    PER_MONTHS,
    add_months,
    line_total,
    months_between,
    multiplier,
    period_amount,
    segment_value,
    term_end,
)

ONE_DAY = timedelta(days=1)
SPEC_START, SPEC_END = date(2019, 5, 23), date(2019, 9, 30)


def six(value: Fraction) -> Decimal:
    return round_places(value, 6, "half-up")


# --- worked numbers from the spec and public documentation -----------------


@pytest.mark.parametrize(
    ("method", "months", "money"),
    [
        ("monthly+daily", "4.263014", "4263.01"),
        ("calendar", "4.290323", "4290.32"),
        ("daily", "4.306849", "4306.85"),
        ("monthly", "5.000000", "5000.00"),
    ],
)
def test_spec_example_each_method(method, months, money):
    """SPEC §2: 2019-05-23..2019-09-30 at 12,000.00 per year.

    monthly+daily 4 + 8×12/365; calendar 9/31 + 3 + 30/30; daily 131 days × 12/365;
    monthly 4 + 1.
    """
    assert six(months_between(SPEC_START, SPEC_END, method)) == Decimal(months)
    total = line_total(Decimal("12000.00"), Decimal("1"), "year", SPEC_START, SPEC_END, method, "PLN", "half-up")
    assert total == Decimal(money)
    assert str(total) == money


def test_spec_example_exact_fractions():
    """SPEC §2, the same dates as exact rationals (no rounding inside a multiplier)."""
    assert months_between(SPEC_START, SPEC_END, "monthly+daily") == 4 + Fraction(8 * 12, 365)
    assert months_between(SPEC_START, SPEC_END, "calendar") == Fraction(9, 31) + 3 + 1
    assert months_between(SPEC_START, SPEC_END, "daily") == Fraction(131 * 12, 365)
    assert months_between(SPEC_START, SPEC_END, "monthly") == 5


def test_salesforce_calendar_term_not_starting_on_the_first():
    """Salesforce CPQ proration docs (calendar-monthly), cited in SPEC §2:
    2024-02-15..2025-02-14 is 12.017241 months = 15/29 + 11 + 14/28."""
    months = months_between(date(2024, 2, 15), date(2025, 2, 14), "calendar")
    assert months == Fraction(15, 29) + 11 + Fraction(14, 28)
    assert six(months) == Decimal("12.017241")


@pytest.mark.parametrize("method", ["monthly+daily", "monthly", "calendar"])
def test_trailhead_thirty_per_year_for_24_months(method):
    """Trailhead, "Salesforce CPQ: Subscription proration": a product priced $30
    per 12 months, quoted for 24 months, costs $60.00 (multiplier 2)."""
    start = date(2024, 1, 1)
    end = term_end(start, 24)
    assert end == date(2025, 12, 31)
    assert multiplier(start, end, "year", method) == 2
    total = line_total(Decimal("30.00"), Decimal("1"), "year", start, end, method, "USD", "half-up")
    assert total == Decimal("60.00")


# --- amendments: co-terminated up-sell and cross-sell ------------------------

CONTRACT_END = date(2024, 12, 31)
AMEND = date(2024, 4, 16)


def test_upsell_multiplier_and_total_monthly_daily():
    """SPEC §3 up-sell on contract 2024-01-01..2024-12-31, 10 seats at 1,200.00/yr:
    +5 from 2024-04-16. Anniversary 8 is 2024-12-16, then 16 days:
    (8 + 16×12/365)/12 = 0.710502; 5 × 1,200.00 × that = 4,263.01."""
    m = multiplier(AMEND, CONTRACT_END, "year", "monthly+daily")
    assert m == (8 + Fraction(16 * 12, 365)) / 12
    assert six(m) == Decimal("0.710502")
    total = line_total(Decimal("1200.00"), Decimal("5"), "year", AMEND, CONTRACT_END, "monthly+daily", "PLN", "half-up")
    assert total == Decimal("4263.01")


def test_upsell_calendar():
    """Same up-sell under calendar: April 15/30 + May..December 8 = 8.5 months → 4,250.00."""
    assert months_between(AMEND, CONTRACT_END, "calendar") == Fraction(17, 2)
    total = line_total(Decimal("1200.00"), Decimal("5"), "year", AMEND, CONTRACT_END, "calendar", "PLN", "half-up")
    assert total == Decimal("4250.00")


def test_cross_sell_same_dates():
    """Cross-sell 10 × 240.00/yr from 2024-04-16 to 2024-12-31, monthly+daily:
    2,400.00 × 0.7105022… = 1,705.2055 → 1,705.21 (half-up)."""
    total = line_total(Decimal("240.00"), Decimal("10"), "year", AMEND, CONTRACT_END, "monthly+daily", "PLN", "half-up")
    assert total == Decimal("1705.21")


def test_upsell_billed_quarterly_by_cumulative_difference():
    """SPEC §4: the up-sell billed in the contract's quarters. V(06-30) = 500 × (2 +
    15×12/365) = 1,246.58; V(09-30) = 500 × (5 + 15×12/365) = 2,746.58; the
    quarters are 1,246.58 + 1,500.00 + 1,516.43 = 4,263.01, the line total."""
    args = (Decimal("1200.00"), Decimal("5"), "year", AMEND, CONTRACT_END)
    quarters = [
        (date(2024, 4, 1), date(2024, 6, 30)),
        (date(2024, 7, 1), date(2024, 9, 30)),
        (date(2024, 10, 1), date(2024, 12, 31)),
    ]
    amounts = [period_amount(*args, a, b, "monthly+daily", "PLN", "half-up") for a, b in quarters]
    assert amounts == [Decimal("1246.58"), Decimal("1500.00"), Decimal("1516.43")]
    assert sum(amounts) == Decimal("4263.01")
    # the quarter before the amendment bills nothing for this segment
    q1 = period_amount(*args, date(2024, 1, 1), date(2024, 3, 31), "monthly+daily", "PLN", "half-up")
    assert q1 == Decimal("0.00")


# --- anniversaries and clamping ----------------------------------------------


def test_add_months_clamps_to_shorter_month():
    """SPEC §2: start + k months, clamped to the end of a shorter month."""
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 1, 31), 3) == date(2024, 4, 30)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)


def test_anniversaries_are_not_chained():
    """SPEC §2: anniversaries from the original start, never chained: Jan 31 + 2 is
    Mar 31, not (Jan 31 + 1) + 1 = Feb 29 + 1 = Mar 29."""
    assert add_months(date(2024, 1, 31), 2) == date(2024, 3, 31)
    assert add_months(add_months(date(2024, 1, 31), 1), 1) == date(2024, 3, 29)
    assert months_between(date(2024, 1, 31), date(2024, 3, 30), "monthly+daily") == 2
    assert months_between(date(2024, 1, 31), date(2024, 3, 28), "monthly+daily") == (
        1 + Fraction(29 * 12, 365)  # anniversary 1 = Feb 29, then Feb 29..Mar 28: 29 days
    )


def test_start_on_the_31st():
    """A term starting on the 31st: the month ends the day before the clamped anniversary."""
    start = date(2023, 1, 31)
    assert term_end(start, 1) == date(2023, 2, 27)
    assert months_between(start, date(2023, 2, 27), "monthly+daily") == 1
    assert months_between(start, date(2023, 2, 27), "monthly") == 1
    assert months_between(start, date(2023, 2, 26), "monthly+daily") == Fraction(27 * 12, 365)
    assert months_between(start, date(2023, 2, 26), "monthly") == 1
    assert months_between(start, date(2023, 2, 28), "monthly") == 2
    assert term_end(start, 2) == date(2023, 3, 30)
    assert months_between(start, date(2023, 3, 30), "monthly+daily") == 2


def test_start_on_feb_29():
    """A term starting on 29 February: its yearly anniversary clamps to 28 February."""
    start = date(2024, 2, 29)
    assert term_end(start, 12) == date(2025, 2, 27)
    assert months_between(start, date(2025, 2, 27), "monthly+daily") == 12
    assert months_between(start, date(2025, 2, 28), "monthly+daily") == 12 + Fraction(12, 365)
    assert months_between(start, date(2025, 2, 28), "monthly") == 13
    assert term_end(start, 1) == date(2024, 3, 28)


def test_daily_year_from_feb_29():
    """The one year holding 29 February that is not 366 days: it starts on that day and
    ends the day before the clamped anniversary (2025-02-28), 365 days in all."""
    start = date(2024, 2, 29)
    assert (term_end(start, 12) - start).days + 1 == 365
    assert months_between(start, term_end(start, 12), "daily") == 12
    assert months_between(date(2024, 2, 28), term_end(date(2024, 2, 28), 12), "daily") == Fraction(12 * 366, 365)


def test_calendar_within_one_month_and_on_the_first():
    """calendar: a range inside one month is its days over the days in that month."""
    assert months_between(date(2024, 2, 10), date(2024, 2, 20), "calendar") == Fraction(11, 29)
    assert months_between(date(2023, 2, 1), date(2023, 2, 28), "calendar") == 1
    assert months_between(date(2024, 1, 1), date(2024, 12, 31), "calendar") == 12


def test_empty_and_single_day_ranges():
    """end < start is an empty range (0 months); a single day is one day of it."""
    d = date(2024, 4, 10)
    for method in METHODS:
        assert months_between(d, d - ONE_DAY, method) == 0
        assert months_between(d, d - timedelta(days=400), method) == 0
    assert months_between(d, d, "daily") == Fraction(12, 365)
    assert months_between(d, d, "monthly+daily") == Fraction(12, 365)
    assert months_between(d, d, "calendar") == Fraction(1, 30)
    assert months_between(d, d, "monthly") == 1


def test_long_ranges_are_exact():
    """A thousand-year term is computed without walking the days."""
    start = date(1000, 1, 31)
    end = term_end(start, 12_000)
    assert months_between(start, end, "monthly+daily") == 12_000
    assert months_between(date(1000, 1, 1), date(1999, 12, 31), "calendar") == 12_000


def test_unknown_method_or_per_is_an_error():
    with pytest.raises(ValueError, match="proration method"):
        months_between(date(2024, 1, 1), date(2024, 2, 1), "weekly")
    with pytest.raises(ValueError, match="billing unit"):
        multiplier(date(2024, 1, 1), date(2024, 2, 1), "week", "daily")
    assert PER_MONTHS == {"month": 1, "quarter": 3, "year": 12}


# --- segment values -----------------------------------------------------------


def test_value_before_start_is_zero_with_currency_places():
    start = date(2024, 5, 1)
    v = segment_value(
        Decimal("10.00"), Decimal("3"), "month", start, None, start - ONE_DAY, "monthly+daily", "PLN", "half-up"
    )
    assert str(v) == "0.00"
    v = segment_value(
        Decimal("1000"), Decimal("3"), "month", start, None, start - ONE_DAY, "monthly+daily", "JPY", "half-up"
    )
    assert str(v) == "0"


def test_one_time_product_is_not_prorated():
    """SPEC §2: one-time products are not prorated — the full amount from the start date."""
    start, end = date(2024, 5, 10), date(2024, 12, 31)
    args = (Decimal("499.99"), Decimal("2"), None, start, end)
    assert segment_value(*args, start - ONE_DAY, "daily", "PLN", "half-up") == Decimal("0.00")
    assert segment_value(*args, start, "daily", "PLN", "half-up") == Decimal("999.98")
    assert line_total(*args, "calendar", "PLN", "half-up") == Decimal("999.98")


def test_evergreen_segment_grows_with_t():
    """SPEC §3: an evergreen segment (end None) runs open-ended: V(t) keeps growing."""
    start = date(2024, 1, 1)
    args = (Decimal("100.00"), Decimal("1"), "month", start, None)
    assert segment_value(*args, date(2024, 3, 31), "monthly", "EUR", "half-up") == Decimal("300.00")
    assert segment_value(*args, date(2030, 12, 31), "monthly", "EUR", "half-up") == Decimal("8400.00")


def test_value_is_capped_at_segment_end():
    start, end = date(2024, 1, 1), date(2024, 6, 30)
    args = (Decimal("100.00"), Decimal("1"), "month", start, end)
    assert segment_value(*args, date(2026, 1, 1), "monthly+daily", "EUR", "half-up") == Decimal("600.00")


def test_credit_ties_round_away_from_zero():
    """SPEC §2: half-up means ties away from zero, −0.005 → −0.01 (half-even gives 0.00)."""
    start, end = date(2024, 4, 1), date(2024, 4, 15)  # 15/30 of a month under calendar
    args = (Decimal("0.01"), Decimal("-1"), "month", start, end, "calendar", "PLN")
    assert line_total(*args, "half-up") == Decimal("-0.01")
    assert line_total(*args, "half-even") == Decimal("0.00")
    plus = (Decimal("0.01"), Decimal("1"), "month", start, end, "calendar", "PLN")
    assert line_total(*plus, "half-up") == Decimal("0.01")


# --- properties ----------------------------------------------------------------

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
methods = st.sampled_from(METHODS)
pers = st.sampled_from([*PER_MONTHS, None])
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
quantities = st.integers(min_value=-500, max_value=500).map(Decimal) | st.decimals(
    min_value=Decimal("-100"), max_value=Decimal("100"), places=3
)
roundings = st.sampled_from(["half-up", "half-even"])
PROPS = settings(max_examples=200, deadline=None)


def reference_months(start: date, end: date, method: str) -> Fraction:
    """A slow, obvious day-by-day reading of SPEC §2 to check the O(1) code against."""
    if end < start:
        return Fraction(0)
    if method == "daily":
        return Fraction(12 * ((end - start).days + 1), 365)
    if method == "calendar":
        total, d = Fraction(0), start
        while d <= end:
            total += Fraction(1, monthrange(d.year, d.month)[1])
            d += ONE_DAY
        return total
    if method == "period":  # each day is 1 / the days of the anniversary month it falls in
        total, d, k = Fraction(0), start, 0
        while d <= end:
            while start + relativedelta(months=k + 1) <= d:
                k += 1
            lo, hi = start + relativedelta(months=k), start + relativedelta(months=k + 1)
            total += Fraction(1, (hi - lo).days)
            d += ONE_DAY
        return total
    after = end + ONE_DAY
    k = 0
    while start + relativedelta(months=k + 1) <= after:
        k += 1
    days = (after - (start + relativedelta(months=k))).days
    if method == "monthly":
        return Fraction(k + (1 if days else 0))
    if method == "30/360":
        return k + Fraction(days, 30)
    return k + Fraction(12 * days, 365)


def test_30_360_reproduces_zuoras_assume_30_days_ratios():
    """Zuora, "When prorating a month, assume 30 days in a month or use actual days?" (docs.zuora.com, proration):
    the service periods 2021-01-27..01-31, 2021-02-27..02-28 and 2021-04-21..04-29 prorate 5/30, 2/30 and 9/30 of
    a month (Assume 30 days - Actual/360). Its 2020-02-01..02-29 row (29/30 there) is a whole month here (30/30,
    Zuora's Strict 30/360 column): 30/360 counts whole months on anniversaries, only the rest in days over 30."""
    assert months_between(date(2021, 1, 27), date(2021, 1, 31), "30/360") == Fraction(5, 30)
    assert months_between(date(2021, 2, 27), date(2021, 2, 28), "30/360") == Fraction(2, 30)
    assert months_between(date(2021, 4, 21), date(2021, 4, 29), "30/360") == Fraction(9, 30)
    assert months_between(date(2020, 2, 1), date(2020, 2, 29), "30/360") == 1
    assert months_between(date(2024, 1, 16), date(2025, 1, 15), "30/360") == 12  # a full term is its months


@PROPS
@given(start=dates, length=st.integers(min_value=-40, max_value=800), method=methods)
def test_months_between_matches_day_by_day_reference(start, length, method):
    end = start + timedelta(days=length)
    assert months_between(start, end, method) == reference_months(start, end, method)


@PROPS
@given(start=dates, n=st.integers(min_value=1, max_value=120))
def test_full_term_is_exactly_its_months(start, n):
    """SPEC §2 / STYLE: a full term is exactly its months under monthly+daily and monthly,
    from any start date; under calendar when it starts on the 1st."""
    end = term_end(start, n)
    assert months_between(start, end, "monthly+daily") == n
    assert months_between(start, end, "monthly") == n
    first = start.replace(day=1)
    assert months_between(first, term_end(first, n), "calendar") == n


@PROPS
@given(start=dates)
def test_daily_year_with_feb_29_is_366_days(start):
    """SPEC §2: under daily a term holding 29 February is 366/365 of a year.

    Except a term starting on 29 February itself: its anniversary clamps to
    28 February, so the year has 365 days (see test_daily_year_from_feb_29).
    """
    assume((start.month, start.day) != (2, 29))
    end = term_end(start, 12)
    holds_leap_day = any(isleap(y) and start <= date(y, 2, 29) <= end for y in (start.year, start.year + 1))
    expected = Fraction(12 * 366, 365) if holds_leap_day else Fraction(12)
    assert months_between(start, end, "daily") == expected


@PROPS
@given(
    start=dates,
    length=st.integers(min_value=0, max_value=1200),
    cuts=st.lists(st.integers(min_value=-60, max_value=1300), max_size=12),
    price=prices,
    quantity=quantities,
    per=pers,
    method=methods,
    rounding=roundings,
)
def test_periods_add_up_to_line_total(start, length, cuts, price, quantity, per, method, rounding):
    """SPEC §4: the periods of a segment add up exactly to its line total, for every
    method, wherever the period boundaries fall (even outside the segment)."""
    end = start + timedelta(days=length)
    before = start - timedelta(days=90)
    after = end + timedelta(days=90)
    bounds = sorted({before, after, *(start + timedelta(days=c) for c in cuts)})
    pieces = [(a, b - ONE_DAY) for a, b in zip(bounds, bounds[1:])] + [(bounds[-1], after)]
    total = sum(period_amount(price, quantity, per, start, end, a, b, method, "PLN", rounding) for a, b in pieces)
    assert total == line_total(price, quantity, per, start, end, method, "PLN", rounding)


@PROPS
@given(start=dates, a=st.integers(-30, 900), b=st.integers(-30, 900), method=methods)
def test_months_between_is_monotonic_in_end(start, a, b, method):
    lo, hi = sorted((a, b))
    assert months_between(start, start + timedelta(days=lo), method) <= months_between(
        start, start + timedelta(days=hi), method
    )


@PROPS
@given(
    start=dates,
    length=st.integers(0, 800),
    price=prices,
    quantity=quantities,
    per=pers,
    method=methods,
    rounding=roundings,
)
def test_credits_mirror_charges(start, length, price, quantity, per, method, rounding):
    """A credit is the exact negative of the matching charge: ties round away from zero
    under half-up (and to even under half-even) on both sides."""
    end = start + timedelta(days=length)
    charge = line_total(price, abs(quantity), per, start, end, method, "PLN", rounding)
    credit = line_total(price, -abs(quantity), per, start, end, method, "PLN", rounding)
    assert credit == -charge


@PROPS
@given(start=dates, k=st.integers(min_value=-240, max_value=240))
def test_add_months_is_clamped_anniversary(start, k):
    d = add_months(start, k)
    y, m = divmod(start.year * 12 + start.month - 1 + k, 12)
    assert (d.year, d.month) == (y, m + 1)
    assert d.day == min(start.day, monthrange(y, m + 1)[1])
