"""cpqctl.core.billing (pure): periods, the cumulative schedule, catch-ups, credits, idempotent runs.

Figures are for 10 SEAT at 1,200.00/yr (12,000.00 a year, 1,000.00 a month)
over 2024-01-01..2024-12-31 under monthly+daily, half-up, PLN, unless a
test says otherwise.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from cpqctl.core import billing, ledger
from cpqctl.core.model import Amendment, Cancellation, Contract, Segment, Settings, Signed
from cpqctl.core.money import round_money
from cpqctl.core.proration import METHODS, line_total

SETTINGS = Settings()
D = Decimal


def seg(sid, qty, start, end, price="1200.00", per="year", product="SEAT") -> Segment:
    return Segment(id=sid, product=product, quantity=D(qty), unit_price=D(price), start=start, end=end, per=per)


def contract(
    freq="monthly",
    amendments=(),
    lines=None,
    start=date(2024, 1, 1),
    end=date(2024, 12, 31),
    method="monthly+daily",
    **kw,
) -> Contract:
    lines = lines if lines is not None else (seg("C-1#1", 10, start, end),)
    return Contract(
        contract="C-1",
        account="acme",
        currency="PLN",
        start=start,
        end=end,
        lines=tuple(lines),
        amendments=tuple(amendments),
        billing_frequency=freq,
        proration=method,
        rounding="half-up",
        **kw,
    )


def cancel(effective, signed, c_end=date(2024, 12, 31), qty=10) -> Amendment:
    return Amendment(
        "A-1",
        effective,
        (seg("C-1/A-1#1", -qty, effective, c_end),),
        signed=Signed("x", signed),
        cancelled=Cancellation(effective),
    )


def issue(c, through, billed=()):
    return billing.due_lines(c, SETTINGS, through, list(billed))


def as_billed(lines):
    return [billing.Billed(d, "INV", ln.segment, ln.amount, ln.period_start, ln.period_end) for d, ln in lines]


def total(lines, prefix=""):
    return sum((ln.amount for _, ln in lines if ln.segment.startswith(prefix)), D(0))


def seg_total(c: Contract, s: Segment) -> Decimal:
    """A segment's quote line total under its contract's terms (the `period` method counts the contract's periods)."""
    t = billing.billing_terms(c, SETTINGS)
    grid = t.grid_on(s.start)
    end = s.end or s.start
    return line_total(s.unit_price, s.quantity, s.per, s.start, end, c.proration, "PLN", "half-up", grid, t.partial)


def value(c: Contract) -> Decimal:
    """The contract's total value after all amendments: Σ of its segments' line totals (its quotes' totals).

    A segment starting after a cancellation took effect is worth nothing: the
    cancellation leaves it alone (it has no negative twin) and it is never billed.
    """
    end = ledger.current_end(c)
    twins = {s.id for a in c.amendments if a.cancelled for s in a.lines}
    return sum(
        (seg_total(c, s) for s in c.segments() if end is None or s.start <= end or s.id in twins),
        D(0),
    )


# --------------------------------------------------------------------------- periods


def test_periods_are_anchored_on_the_start_and_cut_at_the_end():
    """Quarterly from 2024-01-31 to 2024-08-30: 01-31..04-29, 04-30..07-30, 07-31..08-30 (clamped, cut)."""
    c = contract(
        "quarterly",
        start=date(2024, 1, 31),
        end=date(2024, 8, 30),
        lines=(seg("C-1#1", 1, date(2024, 1, 31), date(2024, 8, 30)),),
    )
    t = billing.billing_terms(c, SETTINGS)
    assert [(p.start, p.end) for p in billing.periods(c, t, date(2030, 1, 1))] == [
        (date(2024, 1, 31), date(2024, 4, 29)),
        (date(2024, 4, 30), date(2024, 7, 30)),
        (date(2024, 7, 31), date(2024, 8, 30)),
    ]


def test_upfront_is_one_period_and_frequency_falls_back_to_settings():
    c = contract("upfront")
    assert [(d, ln.amount) for d, ln in issue(c, date(2024, 12, 31))] == [(date(2024, 1, 1), D("12000.00"))]
    annual = contract(None)  # Settings().billing_frequency = annual
    assert [d for d, _ in issue(annual, date(2024, 12, 31))] == [date(2024, 1, 1)]


def test_one_time_line_goes_on_the_period_holding_its_start():
    """SETUP 500.00 starting 2024-02-10 lands on the 2024-01-01 quarterly invoice."""
    c = contract(
        "quarterly",
        lines=(
            seg("C-1#1", 10, date(2024, 1, 1), date(2024, 12, 31)),
            seg("C-1#2", 1, date(2024, 2, 10), None, price="500.00", per=None, product="SETUP"),
        ),
    )
    first = [ln for d, ln in issue(c, date(2024, 1, 1))]
    assert [(ln.product, ln.kind, ln.amount) for ln in first] == [
        ("SEAT", "recurring", D("3000.00")),
        ("SETUP", "one-time", D("500.00")),
    ]


def test_evergreen_bills_every_period_up_to_the_horizon():
    """800.00/month open-ended from 2026-05-01: five invoices through 2026-09-01."""
    c = contract(
        "monthly",
        start=date(2026, 5, 1),
        end=None,
        evergreen=True,
        lines=(seg("C-1#1", 1, date(2026, 5, 1), None, price="800.00", per="month"),),
    )
    out = issue(c, date(2026, 9, 1))
    assert [d.month for d, _ in out] == [5, 6, 7, 8, 9] and total(out) == D("4000.00")


# --------------------------------------------------------------------------- catch-ups, credits


def test_downgrade_after_billing_is_a_credit_catch_up():
    """Annual 12,000.00 billed 01-01; −4 seats from 07-01 signed 06-20 → credit −2,400.00 on 07-01; total 9,600.00."""
    a = Amendment(
        "A-1",
        date(2024, 7, 1),
        (seg("C-1/A-1#1", -4, date(2024, 7, 1), date(2024, 12, 31)),),
        signed=Signed("x", date(2024, 6, 20)),
    )
    c = contract("annual", amendments=(a,))
    out = issue(c, date(2024, 12, 31))
    assert [(d, ln.kind, ln.amount, ln.period_start, ln.period_end) for d, ln in out] == [
        (date(2024, 1, 1), "recurring", D("12000.00"), date(2024, 1, 1), date(2024, 12, 31)),
        (date(2024, 7, 1), "credit", D("-2400.00"), date(2024, 7, 1), date(2024, 12, 31)),
    ]
    assert total(out) == value(c) == D("9600.00")


def test_cancellation_known_in_time_stops_billing_without_paired_lines():
    """Monthly; cancelled from 10-01, signed 09-15: January..September 1,000.00 each, nothing after; 9,000.00."""
    c = contract("monthly", amendments=(cancel(date(2024, 10, 1), date(2024, 9, 15)),))
    out = issue(c, date(2024, 12, 31))
    assert [d.month for d, _ in out] == list(range(1, 10))
    assert {ln.amount for _, ln in out} == {D("1000.00")}
    assert total(out) == value(c) == D("9000.00")


def test_cancellation_after_a_billed_period_credits_it():
    """October billed on 10-01; cancelled from 10-01 signed 10-10 → credit −1,000.00 dated 10-10; total 9,000.00."""
    c = contract("monthly", amendments=(cancel(date(2024, 10, 1), date(2024, 10, 10)),))
    out = issue(c, date(2024, 12, 31))
    assert [(d, ln.kind, ln.amount, ln.period_start) for d, ln in out[-2:]] == [
        (date(2024, 10, 1), "recurring", D("1000.00"), date(2024, 10, 1)),
        (date(2024, 10, 10), "credit", D("-1000.00"), date(2024, 10, 1)),
    ]
    assert total(out) == value(c) == D("9000.00")


def test_mid_period_cancellation_credits_the_quote_total():
    """Annual 12,000.00 billed; cancelled from 04-16 (signed 04-10). The cancel quote credits
    12,000 × (8 months 16 days)/12 = −8,526.03, but the rest of the year after V(04-15) = 3,493.15 is
    only 8,506.85 (monthly+daily is not additive): credit −8,506.85 on the seats for 04-16..12-31, and
    the residual −19.18 on the cancellation's segment. Sum 3,473.97 = 12,000.00 − 8,526.03.
    """
    c = contract("annual", amendments=(cancel(date(2024, 4, 16), date(2024, 4, 10)),))
    out = issue(c, date(2024, 12, 31))
    assert [(d, ln.segment, ln.kind, ln.amount, ln.period_start, ln.period_end) for d, ln in out] == [
        (date(2024, 1, 1), "C-1#1", "recurring", D("12000.00"), date(2024, 1, 1), date(2024, 12, 31)),
        (date(2024, 4, 16), "C-1#1", "credit", D("-8506.85"), date(2024, 4, 16), date(2024, 12, 31)),
        (date(2024, 4, 16), "C-1/A-1#1", "credit", D("-19.18"), date(2024, 4, 16), date(2024, 12, 31)),
    ]
    assert total(out) == value(c) == D("3473.97")


def test_extension_bills_the_new_term_on_its_periods():
    """Quarterly 2024, extended to 2025-03-31 (signed 2024-11-20) at the same price: one more quarter, 3,000.00."""
    a = Amendment(
        "A-1",
        date(2025, 1, 1),
        (seg("C-1/A-1#1", 10, date(2025, 1, 1), date(2025, 3, 31)),),
        signed=Signed("x", date(2024, 11, 20)),
        end=date(2025, 3, 31),
    )
    c = contract("quarterly", amendments=(a,))
    out = issue(c, date(2025, 12, 31))
    assert [(d, ln.segment, ln.amount) for d, ln in out][-1] == (date(2025, 1, 1), "C-1/A-1#1", D("3000.00"))
    assert total(out) == value(c) == D("15000.00")


# --------------------------------------------------------------------------- the ledger diff


def test_second_run_issues_nothing_and_a_hand_made_ledger_gets_one_catch_up():
    c = contract("quarterly")
    first = issue(c, date(2024, 6, 30))
    assert issue(c, date(2024, 6, 30), as_billed(first)) == []
    # Q1 billed elsewhere as 2,500.00: the run catches up 500.00 on Q1's date
    odd = [billing.Billed(date(2024, 1, 1), "X", "C-1#1", D("2500.00"), date(2024, 1, 1))]
    out = issue(c, date(2024, 3, 31), odd)
    assert [(d, ln.kind, ln.amount) for d, ln in out] == [(date(2024, 1, 1), "proration", D("500.00"))]


def test_invoices_group_per_date_with_tax():
    """Two quarters through 06-30 at 23%: 3,000.00 + 690.00 each; due after payment_days (14)."""
    from cpqctl.core.model import Account

    c = contract("quarterly")
    acct = Account("acme", "ACME", "PLN", tax_rate=D("23"))
    out = billing.drafts(c, acct, SETTINGS, issue(c, date(2024, 6, 30)))
    assert [(d.date, d.net_total, d.tax_total, d.gross_total, d.due) for d in out] == [
        (date(2024, 1, 1), D("3000.00"), D("690.00"), D("3690.00"), date(2024, 1, 15)),
        (date(2024, 4, 1), D("3000.00"), D("690.00"), D("3690.00"), date(2024, 4, 15)),
    ]
    rc = billing.drafts(
        c, Account("acme", "ACME", "PLN", tax_rate=D("23"), reverse_charge=True), SETTINGS, issue(c, date(2024, 1, 1))
    )
    assert rc[0].tax_total == 0 and rc[0].reverse_charge


# --------------------------------------------------------------------------- properties

START = date(2024, 1, 1)
days = st.integers(min_value=0, max_value=900)
money = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)
qty = st.integers(min_value=-50, max_value=50).filter(bool).map(D)
freqs = st.sampled_from(list(billing.FREQUENCY_MONTHS))


@st.composite
def contracts(draw, with_amendment=False, allow_cancel=False):
    method = draw(st.sampled_from(METHODS))
    freq = draw(freqs)
    start = START + timedelta(days=draw(st.integers(0, 60)))
    end = start + timedelta(days=draw(st.integers(0, 900)))
    s0 = start + timedelta(days=draw(st.integers(0, (end - start).days)))
    s1 = s0 + timedelta(days=draw(st.integers(0, (end - s0).days)))
    per = draw(st.sampled_from(["month", "quarter", "year"]))
    lines = (seg("C-1#1", draw(qty), s0, s1, price=str(draw(money)), per=per),)
    amendments = ()
    if with_amendment:
        eff = start + timedelta(days=draw(st.integers(0, (end - start).days)))
        signed = eff + timedelta(days=draw(st.integers(-60, 120)))
        if allow_cancel and draw(st.booleans()) and eff > start:
            amendments = (
                Amendment(
                    "A-1",
                    eff,
                    (seg("C-1/A-1#1", -lines[0].quantity, eff, s1, price=str(lines[0].unit_price), per=per),)
                    if s0 < eff <= s1
                    else (),
                    signed=Signed("x", signed),
                    cancelled=Cancellation(eff),
                ),
            )
        else:
            n = draw(st.integers(1, 3))
            amendments = (
                Amendment(
                    "A-1",
                    eff,
                    tuple(
                        seg(
                            f"C-1/A-1#{i + 1}",
                            draw(qty),
                            eff,
                            end,
                            price=str(draw(money)),
                            per=draw(st.sampled_from(["month", "quarter", "year"])),
                        )
                        for i in range(n)
                    ),
                    signed=Signed("x", signed),
                ),
            )
    if draw(st.booleans()):  # billed in arrears: the same sums, invoiced the day after each period
        import dataclasses

        lines = tuple(dataclasses.replace(x, timing="arrears") for x in lines)
        amendments = tuple(
            dataclasses.replace(a, lines=tuple(dataclasses.replace(x, timing="arrears") for x in a.lines))
            for a in amendments
        )
    periodic = [f for f, m in billing.FREQUENCY_MONTHS.items() if m]
    if amendments and not amendments[0].cancelled and freq != "upfront" and amendments[0].effective > start:
        change = draw(st.sampled_from([None, None, "frequency", "restart"]))  # a change of billing periods
        if change is not None:
            import dataclasses

            a = amendments[0]
            amendments = (
                dataclasses.replace(
                    a,
                    signed=Signed("x", min(a.signed.date, a.effective)),  # it cannot be backdated
                    billing_frequency=draw(st.sampled_from(periodic)),
                    billing_restart=change == "restart",
                ),
            )
    partial = draw(st.sampled_from(["prorate", "prorate", "full", "none"]))  # the partial-period policy
    return contract(freq, amendments, lines, start=start, end=end, method=method, billing_partial=partial)


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contracts())
def test_a_segments_invoices_sum_to_its_line_total(c):
    out = issue(c, date(2030, 1, 1))
    s = c.lines[0]
    assert total(out, s.id) == seg_total(c, s)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contracts(with_amendment=True))
def test_an_amendments_invoices_sum_to_its_quote_total(c):
    out = issue(c, date(2030, 1, 1))
    a = c.amendments[0]
    quote_total = sum(
        (seg_total(c, s) for s in a.lines),
        D(0),
    )
    assert total(out, "C-1/A-1#") == quote_total
    assert total(out) == value(c)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contracts(with_amendment=True, allow_cancel=True), st.lists(days, max_size=6))
def test_runs_at_any_dates_issue_what_one_run_issues(c, stops):
    """Incremental runs (each on the ledger of the ones before) = one run; the contract adds up to its value."""
    horizon = date(2030, 1, 1)
    billed: list = []
    issued: list = []
    for stop in sorted(stops) + [None]:
        through = START + timedelta(days=stop) if stop is not None else horizon
        new = issue(c, through, billed)
        assert all(d <= through for d, _ in new)
        billed += as_billed(new)
        issued += new
    assert Counter(issued) == Counter(issue(c, horizon))
    assert issue(c, horizon, billed) == []
    assert total(issued) == value(c)


# --------------------------------------------------------------------------- the period rule (issue 15)


def _by_period(lines) -> dict[tuple[str, int], Decimal]:
    out: dict[tuple[str, int], Decimal] = {}
    for _, ln in lines:
        out[(ln.segment, ln.period)] = out.get((ln.segment, ln.period), D(0)) + ln.amount
    return out


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contracts(with_amendment=True))
def test_every_full_period_of_a_segment_bills_the_same_amount(c):
    """A whole billing period bills unit_price × quantity × period_months / per_months, rounded once — the same every
    time; only the segment's first period may differ (it takes the rounding and day-count rest of the line total)."""
    horizon = date(2030, 1, 1)
    t = billing.billing_terms(c, SETTINGS)
    if t.months is None or len(t.regimes) > 1:  # (changes of periods: the next test, per regime)
        return
    ps = {p.index: p for p in billing.periods(c, t, horizon)}
    billed = _by_period(issue(c, horizon))
    for s in c.segments():
        whole = round_money(
            Fraction(s.unit_price) * Fraction(s.quantity) * t.months / {"month": 1, "quarter": 3, "year": 12}[s.per],
            "PLN",
            "half-up",
        )
        full = sorted(
            k
            for k, p in ps.items()
            if p.start >= s.start
            and (s.end is None or s.end >= p.end)
            and p.end == billing.add_months(c.start, (k + 1) * t.months) - timedelta(days=1)
        )
        for k in full[1:]:
            assert billed.get((s.id, k), D(0)) == whole, (s.id, k)
        first = billing.period_index(c, t, s.start)  # the segment's first period: it may take the rest
        if full and full[0] != first:
            assert billed.get((s.id, full[0]), D(0)) == whole  # a partial period before it took the rest


def test_a_mid_quarter_upsell_bills_one_stub_then_identical_full_quarters():
    """15 seats up-sold on 2024-05-10 on a quarterly contract: 4,863.12 / 4,917.00 / 4,970.88 before; now a stub and
    then 4,500.00 each quarter (15 × 1,200.00 × 3 / 12); the stub is 11,584.93 − 2 × 4,500.00 = 2,584.93."""
    upsell = Amendment(
        "A-1",
        date(2024, 5, 10),
        (seg("C-1/Q-7#1", 15, date(2024, 5, 10), date(2024, 12, 31)),),
        quote="Q-7",
        signed=Signed("x", date(2024, 5, 2)),
    )
    c = contract("quarterly", (upsell,))
    out = [(d, ln) for d, ln in issue(c, date(2024, 12, 31)) if ln.segment == "C-1/Q-7#1"]
    quote_total = line_total(
        D("1200.00"), D(15), "year", date(2024, 5, 10), date(2024, 12, 31), "monthly+daily", "PLN", "half-up"
    )
    assert [(d, ln.kind, ln.amount) for d, ln in out] == [
        (date(2024, 5, 10), "proration", quote_total - D("9000.00")),
        (date(2024, 7, 1), "recurring", D("4500.00")),
        (date(2024, 10, 1), "recurring", D("4500.00")),
    ]
    assert (out[0][1].period_start, out[0][1].period_end) == (date(2024, 5, 10), date(2024, 6, 30))
    assert total(out) == quote_total == D("11584.93")  # 7 months 22 days: 1,500.00 × 7.723288


# --------------------------------------------------------------------------- bill-cycle anchors (issue 15)


def _anchored(
    anchor, freq="monthly", start=date(2018, 1, 1), end=None, method="monthly+daily", price="100.00", per="month"
):
    import dataclasses

    lines = (seg("C-1#1", 1, start, end, price=price, per=per),)
    c = contract(freq, (), lines, start=start, end=end, method=method, evergreen=end is None)
    return dataclasses.replace(c, billing_anchor=anchor)


def test_zuora_bill_cycle_day_15_first_invoice():
    """Zuora, "Calculate total amount with partial period proration" (knowledgecenter.zuora.com): $100/month from
    2018-01-01, bill cycle day 15, bill run on 2018-02-14 → $146.67 assuming 30 days (100 × (1 + 14/30)) and
    $145.16 with actual days (100 × (1 + 14/31)). Here: the stub 01-01..01-14 on 01-01, the first full month
    01-15..02-14 on 01-15 (an open-ended subscription: nothing to absorb)."""
    for method, stub in (("30/360", D("46.67")), ("calendar", D("45.16"))):
        out = issue(_anchored("15", method=method), date(2018, 2, 14))
        assert [(d, ln.period_start, ln.period_end, ln.kind, ln.amount) for d, ln in out] == [
            (date(2018, 1, 1), date(2018, 1, 1), date(2018, 1, 14), "proration", stub),
            (date(2018, 1, 15), date(2018, 1, 15), date(2018, 2, 14), "recurring", D("100.00")),
        ]
        assert total(out) == {"30/360": D("146.67"), "calendar": D("145.16")}[method]


def test_calendar_anchor_aligns_quarters_to_january_and_the_stub_takes_the_rest():
    """A 12-month contract from 2024-02-10 billed quarterly on calendar quarters: a stub to 03-31, then
    04-01, 07-01, 10-01 full quarters of 3,000.00, then 2025-01-01..02-09 cut at the end; they sum to 12,000.00."""
    c = _anchored("calendar", "quarterly", date(2024, 2, 10), date(2025, 2, 9), price="1200.00", per="year")
    c = __import__("dataclasses").replace(c, lines=(seg("C-1#1", 10, date(2024, 2, 10), date(2025, 2, 9)),))
    out = issue(c, date(2026, 1, 1))
    assert [(d, ln.period_start, ln.period_end) for d, ln in out] == [
        (date(2024, 2, 10), date(2024, 2, 10), date(2024, 3, 31)),
        (date(2024, 4, 1), date(2024, 4, 1), date(2024, 6, 30)),
        (date(2024, 7, 1), date(2024, 7, 1), date(2024, 9, 30)),
        (date(2024, 10, 1), date(2024, 10, 1), date(2024, 12, 31)),
        (date(2025, 1, 1), date(2025, 1, 1), date(2025, 2, 9)),
    ]
    amounts = [ln.amount for _, ln in out]
    assert amounts[1:4] == [D("3000.00")] * 3 and sum(amounts) == D("12000.00")


def test_zuora_four_month_billing_of_21500_a_year():
    """Zuora (billing periods, "every four months"): $21,500/year billed every 4 months → 7,166.67 per period, the
    year still 21,500.00. Zuora shows 7,166.67 / 7,166.66 / 7,166.67; the period rule puts the cent on the first
    period (the segment's first period takes the rounding rest): 7,166.66 / 7,166.67 / 7,166.67."""
    c = contract("triannual", lines=(seg("C-1#1", 1, date(2024, 1, 1), date(2024, 12, 31), price="21500.00"),))
    out = issue(c, date(2024, 12, 31))
    assert [(d, ln.amount) for d, ln in out] == [
        (date(2024, 1, 1), D("7166.66")),
        (date(2024, 5, 1), D("7166.67")),
        (date(2024, 9, 1), D("7166.67")),
    ]


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contracts(with_amendment=True, allow_cancel=True),
    st.sampled_from(["start", "calendar", "1", "10", "28"]),
    st.lists(days, max_size=4),
)
def test_anchored_schedules_add_up_and_runs_at_any_dates_issue_what_one_run_issues(c, anchor, stops):
    import dataclasses

    c = dataclasses.replace(c, billing_anchor=anchor)
    horizon = date(2030, 1, 1)
    billed: list = []
    issued: list = []
    for stop in sorted(stops) + [None]:
        through = START + timedelta(days=stop) if stop is not None else horizon
        new = issue(c, through, billed)
        billed += as_billed(new)
        issued += new
    assert Counter(issued) == Counter(issue(c, horizon))
    assert total(issued) == value(c)
    s = c.lines[0]
    if not c.amendments:
        assert total(issued, s.id) == seg_total(c, s)


def test_tax_rounded_per_line_adds_up_the_rounded_line_taxes():
    """Zuora's tax rounding method (docs.zuora.com, "Tax rounding method"): each line's tax is rounded, then the
    invoice's tax is their sum. Two lines of 136.65 at 10%: 13.67 + 13.67 = 27.34 per line; 27.33 on the total."""
    import dataclasses

    from cpqctl.core.model import Account

    lines = (
        seg("C-1#1", 1, date(2024, 1, 1), date(2024, 1, 31), price="136.65", per="month"),
        seg("C-1#2", 1, date(2024, 1, 1), date(2024, 1, 31), price="136.65", per="month", product="SSO"),
    )
    c = contract("monthly", lines=lines, end=date(2024, 1, 31))
    acct = Account("acme", "ACME", "PLN", tax_rate=D("10"))
    due = issue(c, date(2024, 1, 1))
    [per_invoice] = billing.drafts(c, acct, SETTINGS, due)
    [per_line] = billing.drafts(c, acct, dataclasses.replace(SETTINGS, tax_rounding="line"), due)
    assert per_invoice.net_total == per_line.net_total == D("273.30")
    assert (per_invoice.tax_total, per_line.tax_total) == (D("27.33"), D("27.34"))
    assert per_line.gross_total == D("300.64")


# --------------------------------------------------------------------------- `period`: actual days of the actual period


def test_salesforce_revenue_cloud_period_proration_923_23():
    """Salesforce Revenue Cloud, "Proration" (help.salesforce.com, Revenue Cloud billing: partial periods are
    prorated over the actual days of the billing period): $90/month from 2025-03-28 to 2026-02-04, billing periods
    from the 5th → 8/31 of a month for 03-28..04-04, then 10 whole periods: 90 × (8/31 + 10) = 923.23. The quote
    line total and the invoices both give it; the full periods are 90.00 each."""
    from cpqctl.core.proration import billing_grid, months_between

    grid = billing_grid(date(2025, 3, 28), 1, "5")
    assert grid == (date(2025, 4, 5), 1)
    assert months_between(date(2025, 3, 28), date(2026, 2, 4), "period", grid) == 10 + Fraction(8, 31)
    assert line_total(
        D("90.00"), D(1), "month", date(2025, 3, 28), date(2026, 2, 4), "period", "USD", "half-up", grid
    ) == D("923.23")
    c = _anchored("5", start=date(2025, 3, 28), end=date(2026, 2, 4), method="period", price="90.00")
    out = issue(c, date(2026, 3, 1))
    assert [(d, ln.period_start, ln.period_end, ln.amount) for d, ln in out][:2] == [
        (date(2025, 3, 28), date(2025, 3, 28), date(2025, 4, 4), D("23.23")),
        (date(2025, 4, 5), date(2025, 4, 5), date(2025, 5, 4), D("90.00")),
    ]
    assert [ln.amount for _, ln in out[1:]] == [D("90.00")] * 10
    assert total(out) == D("923.23")


def test_period_method_counts_the_days_of_the_period_a_partial_range_falls_in():
    """A partial quarter is days covered / days in that quarter × 3 months; a whole one is 3; the default grid is
    months on anniversaries of the start (so February counts 28 or 29 days, March 31)."""
    from cpqctl.core.proration import months_between

    q = (date(2024, 1, 1), 3)
    assert months_between(date(2024, 2, 15), date(2024, 3, 31), "period", q) == 3 * Fraction(46, 91)
    assert months_between(date(2024, 1, 1), date(2024, 6, 30), "period", q) == 6
    assert months_between(date(2024, 2, 1), date(2024, 2, 14), "period") == Fraction(14, 29)
    assert months_between(date(2024, 3, 1), date(2024, 3, 14), "period") == Fraction(14, 31)
    assert months_between(date(2023, 12, 20), date(2024, 1, 9), "period", (date(2024, 1, 1), 1)) == Fraction(
        12, 31
    ) + Fraction(9, 31)


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contracts(with_amendment=True), st.sampled_from(["start", "calendar", "1", "15", "28"]))
def test_every_full_period_bills_the_same_amount_under_every_anchor(c, anchor):
    """The period rule (issue 15), under every method, frequency and anchor: each line that bills a whole billing
    period of a segment (kind `recurring`) is exactly unit price × units × period months / per months, rounded once
    — so all of them are equal. (A segment with no partial period has its first period take the rounding rest.)"""
    import dataclasses

    c = dataclasses.replace(c, billing_anchor=anchor)
    t = billing.billing_terms(c, SETTINGS)
    segments = {s.id: s for s in c.segments()}
    seen: dict[str, set] = {}
    out = [ln for _, ln in issue(c, date(2030, 1, 1))]
    for sid, s in segments.items():
        mine = sorted((ln for ln in out if ln.segment == sid), key=lambda ln: ln.period)
        if mine and not any(ln.kind == "proration" for ln in mine):
            mine = mine[1:]  # no partial period: the first one takes the rounding rest (7,166.66, 7,166.67, …)
        for ln in mine:
            months = t.regime(ln.period).months  # a change of billing periods starts a regime of its own
            if ln.kind != "recurring" or months is None:
                continue
            assert ln.amount == round_money(
                Fraction(s.unit_price) * Fraction(s.quantity) * months / billing.PER_MONTHS[s.per], "PLN", "half-up"
            )
            seen.setdefault((s.id, months), set()).add(ln.amount)
    assert all(len(v) == 1 for v in seen.values())


# --------------------------------------------------------------------------- arrears


def test_lago_upgrade_in_arrears_bills_the_old_plan_when_left_and_the_new_one_after_its_period():
    """Lago, "Upgrades and downgrades" (getlago.com/docs/guide/subscriptions/upgrades-downgrades), subscription paid
    in arrears, calendar billing: Plan A €100/month from 1 January, upgraded to Plan B €200/month on 15 January →
    an invoice for Plan A's 14 days on 15 January, 45.16 (14/31 × 100), and one for Plan B's 17 days at the end of
    the period, 109.68 (17/31 × 200). Lago dates it "January 31st" (the period's end, invoiced when it closes);
    cpqctl dates an arrears invoice on the day after the period ends, 1 February."""
    import dataclasses

    a = dataclasses.replace(seg("C-1#1", 1, date(2024, 1, 1), None, price="100.00", per="month", product="A"))
    a = dataclasses.replace(a, timing="arrears")
    upgrade = Amendment(
        "A-1",
        date(2024, 1, 15),
        (
            dataclasses.replace(
                seg("C-1/A-1#1", -1, date(2024, 1, 15), None, price="100.00", per="month", product="A"),
                timing="arrears",
            ),
            dataclasses.replace(
                seg("C-1/A-1#2", 1, date(2024, 1, 15), None, price="200.00", per="month", product="B"),
                timing="arrears",
            ),
        ),
        signed=Signed("x", date(2024, 1, 15)),
    )
    for method in ("calendar", "period"):
        c = contract("monthly", (upgrade,), (a,), end=None, method=method, evergreen=True, billing_anchor="calendar")
        out = issue(c, date(2024, 3, 1))
        by_date: dict = {}
        for d, ln in out:
            by_date[d] = by_date.get(d, D(0)) + ln.amount
        assert by_date == {date(2024, 1, 15): D("45.16"), date(2024, 2, 1): D("109.68"), date(2024, 3, 1): D("200.00")}
        assert issue(c, date(2024, 1, 31)) == [x for x in out if x[0] <= date(2024, 1, 31)]


def test_an_arrears_line_is_invoiced_the_day_after_each_period_and_previews_nothing_before():
    """A quarterly arrears line: Q1 on 1 April, Q2 on 1 July …; a run on 31 March issues nothing yet; the year's
    invoices still add up to the line total."""
    import dataclasses

    s = dataclasses.replace(seg("C-1#1", 10, date(2024, 1, 1), date(2024, 12, 31)), timing="arrears")
    c = contract("quarterly", lines=(s,))
    assert issue(c, date(2024, 3, 31)) == []
    out = issue(c, date(2025, 1, 1))
    assert [(d, ln.period_start, ln.period_end, ln.amount) for d, ln in out] == [
        (date(2024, 4, 1), date(2024, 1, 1), date(2024, 3, 31), D("3000.00")),
        (date(2024, 7, 1), date(2024, 4, 1), date(2024, 6, 30), D("3000.00")),
        (date(2024, 10, 1), date(2024, 7, 1), date(2024, 9, 30), D("3000.00")),
        (date(2025, 1, 1), date(2024, 10, 1), date(2024, 12, 31), D("3000.00")),
    ]


# --------------------------------------------------------------------------- a change of billing frequency


def test_kill_bill_monthly_to_quarterly_change_credits_20_31_and_charges_81_92():
    """Kill Bill (docs.killbill.io, "Subscription Billing": plan change with `IMMEDIATE` policy, billing aligned on
    the account's bill cycle day, proration by actual days of the period): a 29.95/month plan changed on 12 August
    to a 69.95/quarter plan → a credit of 20/31 of August, −19.32, and a charge of 81/92 of the quarter
    1 August..31 October, 61.59; then whole quarters of 69.95 from 1 November."""
    import dataclasses

    old = seg("C-1#1", 1, date(2024, 1, 1), None, price="29.95", per="month", product="MONTHLY")
    change = Amendment(
        "A-1",
        date(2024, 8, 12),
        (
            seg("C-1/A-1#1", -1, date(2024, 8, 12), None, price="29.95", per="month", product="MONTHLY"),
            seg("C-1/A-1#2", 1, date(2024, 8, 12), None, price="69.95", per="quarter", product="QUARTERLY"),
        ),
        signed=Signed("x", date(2024, 8, 12)),
        billing_frequency="quarterly",
    )
    c = contract("monthly", (change,), (old,), end=None, method="period", evergreen=True)
    out = issue(c, date(2025, 2, 1))
    net: dict = {}  # per invoice date and product (a removed line and its negative twin net out)
    for d, ln in out:
        if d >= date(2024, 8, 12):
            net[d, ln.product] = net.get((d, ln.product), D(0)) + ln.amount
    assert {k: v for k, v in net.items() if v} == {
        (date(2024, 8, 12), "MONTHLY"): D("-19.32"),
        (date(2024, 8, 12), "QUARTERLY"): D("61.59"),
        (date(2024, 11, 1), "QUARTERLY"): D("69.95"),
        (date(2025, 2, 1), "QUARTERLY"): D("69.95"),
    }
    [credit] = [ln for d, ln in out if d == date(2024, 8, 12) and ln.segment == "C-1#1" and ln.period == 7]
    assert (credit.kind, credit.period_start, credit.period_end) == ("credit", date(2024, 8, 12), date(2024, 8, 31))
    [stub] = [ln for d, ln in out if ln.product == "QUARTERLY" and d == date(2024, 8, 12)]
    assert (stub.kind, stub.period_start, stub.period_end) == ("proration", date(2024, 8, 12), date(2024, 10, 31))
    assert [d for d, ln in out if d < date(2024, 8, 12)] == [date(2024, m, 1) for m in range(1, 9)]
    t = billing.billing_terms(c, SETTINGS)
    assert [t.bounds(k) for k in (7, 8, 9)] == [
        (date(2024, 8, 1), date(2024, 8, 11)),
        (date(2024, 8, 12), date(2024, 10, 31)),
        (date(2024, 11, 1), date(2025, 1, 31)),
    ]
    # monthly runs issue what one run issues
    billed: list = []
    issued: list = []
    for m in range(1, 26):
        through = date(2023 + (m + 11) // 12, (m - 1) % 12 + 1, 1) if m > 1 else date(2024, 1, 1)
        new = issue(c, min(through, date(2025, 2, 1)), billed)
        billed += as_billed(new)
        issued += new
    assert Counter(issued) == Counter(out)
    backdated = dataclasses.replace(change, signed=Signed("x", date(2024, 8, 20)))
    try:
        billing.billing_terms(dataclasses.replace(c, amendments=(backdated,)), SETTINGS)
    except billing.CpqError as e:
        assert e.code == "E-BILLING" and "backdated" in e.message
    else:
        raise AssertionError("a backdated change of frequency must be refused")


# --------------------------------------------------------------------------- partial-period policy


def test_partial_period_policy_bills_a_stub_in_full_or_not_at_all_and_the_quote_agrees():
    """Zuora's "Prorate recurring charges for partial period" = No (docs.zuora.com, billing rules, proration),
    as `[billing] partial`: 5 seats at 1,200.00 a year added on 2024-05-10 to a quarterly contract ending 2024-12-31.
    `prorate`: the stub 05-10..06-30 is 1,500.00 × its months; `full`: it bills the whole quarter, 1,500.00;
    `none`: nothing until 07-01. Whole quarters are 1,500.00 under every policy, and the invoices add up to the
    quote line total priced under the same policy."""
    from cpqctl.core.proration import months_between

    q = (date(2024, 1, 1), 3)
    assert months_between(date(2024, 5, 10), date(2024, 12, 31), "monthly+daily", q, "full") == 9
    assert months_between(date(2024, 5, 10), date(2024, 12, 31), "monthly+daily", q, "none") == 6
    assert months_between(date(2024, 4, 1), date(2024, 12, 31), "daily", q, "none") == 9
    upsell = Amendment(
        "A-1",
        date(2024, 5, 10),
        (seg("C-1/A-1#1", 5, date(2024, 5, 10), date(2024, 12, 31)),),
        signed=Signed("x", date(2024, 5, 10)),
    )
    for partial, stub in (("full", D("1500.00")), ("none", None)):
        c = contract("quarterly", (upsell,), billing_partial=partial)
        out = [(d, ln.kind, ln.amount) for d, ln in issue(c, date(2024, 12, 31)) if ln.segment == "C-1/A-1#1"]
        first = [(date(2024, 5, 10), "proration", stub)] if stub else []
        assert out == first + [
            (date(2024, 7, 1), "recurring", D("1500.00")),
            (date(2024, 10, 1), "recurring", D("1500.00")),
        ]
        assert total(issue(c, date(2024, 12, 31)), "C-1/A-1#") == seg_total(c, upsell.lines[0])


def test_a_new_term_restarts_the_periods_on_the_change_date_kill_bills_convention():
    """Kill Bill's plan change with the subscription's own alignment (docs.killbill.io, "Subscription Billing",
    billing alignment): the new plan's billing cycle starts on the change date, so the 69.95/quarter plan from
    12 August bills a whole quarter, 12 August..11 November, 69.95 — next to the credit of 20/31 of August (−19.32)
    for the old monthly plan; then whole quarters from 12 November."""
    old = seg("C-1#1", 1, date(2024, 1, 1), None, price="29.95", per="month", product="MONTHLY")
    change = Amendment(
        "A-1",
        date(2024, 8, 12),
        (
            seg("C-1/A-1#1", -1, date(2024, 8, 12), None, price="29.95", per="month", product="MONTHLY"),
            seg("C-1/A-1#2", 1, date(2024, 8, 12), None, price="69.95", per="quarter", product="QUARTERLY"),
        ),
        signed=Signed("x", date(2024, 8, 12)),
        billing_frequency="quarterly",
        billing_restart=True,
    )
    c = contract("monthly", (change,), (old,), end=None, method="period", evergreen=True)
    net: dict = {}
    for d, ln in issue(c, date(2025, 2, 12)):
        if d >= date(2024, 8, 12):
            net[d, ln.product, ln.kind] = net.get((d, ln.product, ln.kind), D(0)) + ln.amount
    assert {k: v for k, v in net.items() if v and k[1] == "QUARTERLY"} == {
        (date(2024, 8, 12), "QUARTERLY", "recurring"): D("69.95"),
        (date(2024, 11, 12), "QUARTERLY", "recurring"): D("69.95"),
        (date(2025, 2, 12), "QUARTERLY", "recurring"): D("69.95"),
    }
    monthly = sum((v for (d, prod, _), v in net.items() if prod == "MONTHLY" and d == date(2024, 8, 12)), D(0))
    assert monthly == D("-19.32")  # the removed plan and its negative twin net out beyond the credit
    later = {d for (d, prod, _) in net if prod == "MONTHLY" and d > date(2024, 8, 12)}
    assert all(sum((v for (x, p, _), v in net.items() if x == d and p == "MONTHLY"), D(0)) == 0 for d in later)
    t = billing.billing_terms(c, SETTINGS)
    assert [t.bounds(k) for k in (7, 8)] == [
        (date(2024, 8, 1), date(2024, 8, 11)),
        (date(2024, 8, 12), date(2024, 11, 11)),
    ]


def test_quarterly_to_monthly_in_the_second_month_of_a_quarter_runs_on_the_monthly_grid():
    """From quarterly to monthly on 2 February: the quarter is cut at 1 February, the stub runs to the end of the
    monthly period holding 2 February (29 February), then calendar-aligned months (the grid keeps the day: the 1st).
    (Found by the property test: the new grid must start at its own boundary on or before the change.)"""
    s0 = seg("C-1#1", 10, date(2024, 1, 1), date(2024, 12, 31))
    change = Amendment("A-1", date(2024, 2, 2), (), signed=Signed("x", date(2024, 2, 2)), billing_frequency="monthly")
    c = contract("quarterly", (change,), (s0,))
    t = billing.billing_terms(c, SETTINGS)
    assert [t.bounds(k) for k in range(3)] == [
        (date(2024, 1, 1), date(2024, 2, 1)),
        (date(2024, 2, 2), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 31)),
    ]
    out = issue(c, date(2024, 12, 31))
    assert [ln.amount for d, ln in out if d >= date(2024, 3, 1)] == [D("1000.00")] * 10
    assert total(out) == D("12000.00")
