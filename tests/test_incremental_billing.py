"""Incremental billing (issue 15): a run bills each contract from what it has already invoiced.

`billing.due_lines` compares only the keys first invoiced after the ledger's
last date when the ledger settles the earlier ones (no amendment caught up
later, none recorded after the run, no `billed_through:`, no change of
frequency); ``full=True`` compares the whole schedule. Whatever the path, a run
issues the same invoices: that is what these tests hold it to.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from cpqctl.core import billing
from cpqctl.core.model import Amendment, Catalog, Repo, Signed
from tests.test_billing import SETTINGS, START, as_billed, cancel, contract, contracts, days, seg, seg_total

D = __import__("decimal").Decimal
HORIZON = date(2030, 1, 1)


def both(c, through, billed):
    """(incremental, full) for one run on ``billed``."""
    return (
        billing.due_lines(c, SETTINGS, through, list(billed)),
        billing.due_lines(c, SETTINGS, through, list(billed), full=True),
    )


def runs_agree(c, stops) -> None:
    """Runs at ``stops`` (each on the ledger the ones before wrote): the incremental path issues exactly what the
    full path issues at every one of them, and nothing once everything is billed."""
    billed: list = []
    for stop in sorted(stops) + [None, None]:
        through = START + timedelta(days=stop) if stop is not None else HORIZON
        inc, full = both(c, through, billed)
        assert inc == full, (through, billed)
        billed += as_billed(inc)
    assert both(c, HORIZON, billed) == ([], [])


def evergreen(c):
    """The contract with no end (its lines keep theirs): periods run on to the horizon."""
    return dataclasses.replace(c, end=None, evergreen=True)


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contracts(with_amendment=True, allow_cancel=True), st.lists(days, max_size=6))
def test_incremental_runs_issue_what_full_runs_issue(c, stops):
    runs_agree(c, stops)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contracts(with_amendment=True, allow_cancel=True),
    st.sampled_from(["start", "calendar", "1", "10", "28"]),
    st.lists(days, max_size=5),
)
def test_incremental_runs_with_bill_cycle_anchors(c, anchor, stops):
    runs_agree(dataclasses.replace(c, billing_anchor=anchor), stops)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contracts(with_amendment=True).filter(lambda c: c.billing_frequency != "upfront"),
    st.lists(days, max_size=5),
)
def test_incremental_runs_of_evergreen_contracts(c, stops):
    runs_agree(evergreen(c), stops)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contracts(with_amendment=True, allow_cancel=True),
    st.lists(days, max_size=4),
    st.integers(0, 900),
    st.integers(-60, 120),
)
def test_an_amendment_recorded_after_a_run_is_caught_up_as_the_full_path_does(c, stops, late, lag):
    """The amendment is added to the contract only after the first runs (accepted, maybe backdated, after them):
    the runs that follow issue what the full path issues, so the catch-ups are not lost."""
    plain = dataclasses.replace(c, amendments=())
    billed: list = []
    cut = START + timedelta(days=late)
    for stop in sorted(stops):
        through = START + timedelta(days=stop)
        if through > cut:
            break
        inc, full = both(plain, through, billed)
        assert inc == full
        billed += as_billed(inc)
    for through in (cut + timedelta(days=max(lag, 0)), HORIZON):
        inc, full = both(c, through, billed)
        assert inc == full
        billed += as_billed(inc)
    assert both(c, HORIZON, billed) == ([], [])


@hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contracts(with_amendment=True, allow_cancel=True), st.lists(days, max_size=4), days)
def test_imported_billed_through_takes_the_full_path(c, stops, cut):
    c = dataclasses.replace(c, billed_through=START + timedelta(days=cut))
    runs_agree(c, stops)


def test_billed_through_on_the_last_day_of_a_segment_cut_by_a_change_of_frequency_settles():
    """Found by the test above: a segment (5 SEAT at 0.07 a month, 03-03..05-02) whose last day is both
    `billed_through:` and the day a change to quarterly billing takes effect. Its last period (05-02 alone) was
    billed outside cpqctl, whole: the runs issue nothing for it (they credited -0.01, then issued +0.02/-0.02 on
    every run, a credit of period 5 taken for the cut of period 4), and it bills its line total once."""
    line = dataclasses.replace(seg("C-1#1", 5, date(2024, 3, 3), date(2024, 5, 2)), unit_price=D("0.07"), per="month")
    added = dataclasses.replace(
        seg("C-1/A-1#1", 1, date(2024, 5, 2), date(2024, 5, 3)), unit_price=D("0.01"), per="month"
    )
    change = Amendment(
        "A-1", date(2024, 5, 2), (added,), signed=Signed("x", date(2024, 5, 2)), billing_frequency="quarterly"
    )
    c = contract("monthly", end=date(2024, 5, 3), lines=(line,), amendments=(change,), billed_through=date(2024, 5, 2))
    billed: list = []
    for _ in range(2):
        inc, full = both(c, HORIZON, billed)
        assert inc == full
        billed += as_billed(inc)
    assert both(c, HORIZON, billed) == ([], [])  # the third run issues nothing
    assert [b for b in billed if b.segment == "C-1#1"] == []  # billed through its end, elsewhere
    sch = billing._Schedule(c, SETTINGS, HORIZON)
    elsewhere = billing._billed_through(sch, HORIZON)
    billed_c1 = sum((b.amount for b in elsewhere + billed if b.segment == "C-1#1"), D(0))
    assert billed_c1 == seg_total(c, line) == sum(sch.split(sch.final, line).values()) == D("0.70")


def test_a_catch_up_on_the_days_a_cut_period_is_credited_for_settles():
    """billed_through 01-02, a change to quarterly from 01-02 on a contract ending 01-03: the cut month's credit and
    the new quarter's line both cover 01-02..01-03. The catch-up for the quarter (+0.01) is read back in the
    quarter, not in the month (which then credited it and the quarter billed it again, on every run)."""
    line = dataclasses.replace(seg("C-1#1", 2, START, date(2024, 1, 3)), unit_price=D("0.13"), per="month")
    added = dataclasses.replace(
        seg("C-1/A-1#1", 1, date(2024, 1, 2), date(2024, 1, 3)), unit_price=D("0.01"), per="month"
    )
    change = Amendment(
        "A-1", date(2024, 1, 2), (added,), signed=Signed("x", date(2024, 1, 2)), billing_frequency="quarterly"
    )
    c = contract("monthly", end=date(2024, 1, 3), lines=(line,), amendments=(change,), billed_through=date(2024, 1, 2))
    inc, full = both(c, HORIZON, [])
    assert inc == full and [(ln.amount, ln.period) for _, ln in inc] == [(D("0.01"), 1)]
    assert both(c, HORIZON, as_billed(inc)) == ([], [])


def test_a_late_amendment_with_a_past_acceptance_date_is_caught_up():
    """Billed monthly through June, then an up-sell effective and signed in March is recorded: the July run issues
    the catch-up for March..June like the full run, not just July's period."""
    plain = contract("monthly")
    billed = as_billed(billing.due_lines(plain, SETTINGS, date(2024, 6, 1), []))
    up = Amendment("A-1", date(2024, 3, 1), (seg("C-1/A-1#1", 5, date(2024, 3, 1), date(2024, 12, 31)),))
    up = dataclasses.replace(up, signed=Signed("x", date(2024, 3, 1)))
    amended = dataclasses.replace(plain, amendments=(up,))
    inc, full = both(amended, date(2024, 7, 1), billed)
    assert inc == full
    late = [(d, ln.amount) for d, ln in inc if ln.segment == "C-1/A-1#1"]
    assert late == [(date(2024, m, 1), D("500.00")) for m in range(3, 8)]  # March..June caught up, then July


def test_the_incremental_schedule_leaves_out_settled_periods():
    """A three-year monthly contract billed through month 30: the next run schedules only what is left."""
    c = contract("monthly", end=date(2026, 12, 31), lines=(seg("C-1#1", 10, date(2024, 1, 1), date(2026, 12, 31)),))
    billed = as_billed(billing.due_lines(c, SETTINGS, date(2026, 6, 1), []))
    assert max(b.date for b in billed) == date(2026, 6, 1)
    sch = billing._Schedule(c, SETTINGS, date(2026, 7, 1))
    every = list(sch.keys(date(2026, 7, 1)))
    since = list(sch.keys(date(2026, 7, 1), since=date(2026, 6, 1)))
    assert len(every) == 31
    assert [k for _, k in since] == [30]  # July
    assert [k for _, k in sch.keys(date(2030, 1, 1), since=date(2026, 6, 1))] == list(range(30, 36))
    inc, full = both(c, date(2026, 7, 1), billed)
    assert inc == full and [(d, ln.amount) for d, ln in inc] == [(date(2026, 7, 1), D("1000.00"))]


def test_run_takes_the_full_path_on_request():
    c = contract("quarterly")
    repo = Repo(settings=SETTINGS, catalog=Catalog(), contracts={"C-1": c})
    first = billing.run(repo, date(2024, 4, 1))
    ledger = {
        "C-1": [
            billing.Billed(d.date, f"INV-{i}", ln.segment, ln.amount, ln.period_start, ln.period_end)
            for i, d in enumerate(first)
            for ln in d.lines
        ]
    }
    assert [d.date for d in first] == [date(2024, 1, 1), date(2024, 4, 1)]
    inc = billing.run(repo, date(2024, 12, 31), billed=ledger)
    full = billing.run(repo, date(2024, 12, 31), billed=ledger, full=True)
    assert inc == full and [d.date for d in inc] == [date(2024, 7, 1), date(2024, 10, 1)]


@hsettings(max_examples=500, deadline=None)
@given(
    st.fractions(min_value=-(10**6), max_value=10**6, max_denominator=10**5),
    st.one_of(st.integers(0, 36), st.fractions(min_value=0, max_value=60, max_denominator=400)),
    st.sampled_from(["PLN", "EUR", "JPY", "BHD"]),
    st.sampled_from(["half-up", "half-even"]),
)
def test_the_schedules_integer_rounding_is_round_money(rate, months, currency, rounding):
    from cpqctl.core.money import round_money

    got = billing._money(rate, months, currency, rounding)
    want = round_money(rate * months, currency, rounding)
    assert got == want and str(got) == str(want)


def test_the_schedules_integer_rounding_breaks_ties_as_round_money():
    from fractions import Fraction

    from cpqctl.core.money import round_money

    for num in range(-40, 41):  # every x.xx5 tie, both signs, both policies
        rate = Fraction(num, 200)
        for rounding in ("half-up", "half-even"):
            assert str(billing._money(rate, 1, "PLN", rounding)) == str(round_money(rate, "PLN", rounding))


def _upsell(signed: date, **kw) -> Amendment:
    line = seg("C-1/A-1#1", 5, date(2024, 9, 1), date(2024, 12, 31))
    return Amendment("A-1", date(2024, 9, 1), (line,), signed=Signed("x", signed), **kw)


def test_an_amendment_accepted_after_the_run_does_not_send_a_contract_down_the_full_path():
    """Billed monthly through June; an up-sell effective in September is already recorded but accepted only in
    August: a run through July bills the contract without it (incrementally), as the full path does."""
    amended = contract("monthly", amendments=(_upsell(date(2024, 8, 10)),))
    billed = as_billed(billing.due_lines(amended, SETTINGS, date(2024, 6, 1), [], full=True))
    lean = billing._known_by(amended, date(2024, 7, 31), billed)
    assert lean.amendments == ()
    assert billing._settled_through(lean, billed) == date(2024, 6, 1)
    inc, full = both(amended, date(2024, 7, 31), billed)
    assert inc == full and [d for d, _ in inc] == [date(2024, 7, 1)]
    # accepted by then, it stays (and is billed when due)
    assert billing._known_by(amended, date(2024, 8, 10), billed) is amended
    for through in (date(2024, 8, 10), date(2024, 9, 30), HORIZON):
        inc, full = both(amended, through, billed)
        assert inc == full


def test_an_amendment_accepted_after_the_run_stays_when_it_can_change_the_schedule():
    """A later end, a cancellation, a change of periods, an arrears contract, an imported `billed_through:` or
    a ledger line naming the amendment's own segment: the contract keeps the amendment (and the full path
    decides)."""
    through = date(2024, 7, 31)
    late = date(2024, 8, 10)
    keep = [
        contract("monthly", amendments=(_upsell(late, end=date(2025, 6, 30)),)),
        contract("monthly", amendments=(cancel(date(2024, 10, 1), late),)),
        contract("monthly", amendments=(_upsell(late, billing_frequency="quarterly"),)),
        contract("monthly", amendments=(_upsell(late),), billed_through=date(2024, 3, 31)),
        contract(
            "monthly",
            amendments=(_upsell(late),),
            lines=(dataclasses.replace(seg("C-1#1", 10, START, date(2024, 12, 31)), timing="arrears"),),
        ),
        contract(  # its line reaches past the contract's end: it would add to a cancellation's residual
            "monthly",
            amendments=(
                dataclasses.replace(_upsell(late), lines=(seg("C-1/A-1#1", 5, date(2024, 9, 1), date(2025, 3, 31)),)),
            ),
        ),
    ]
    for c in keep:
        assert billing._known_by(c, through, []) is c, c
        inc, full = both(c, through, [])
        assert inc == full
    c = contract("monthly", amendments=(_upsell(late),))
    named = [billing.Billed(date(2024, 6, 1), "INV-1", "C-1/A-1#1", D("1.00"), date(2024, 6, 1))]
    assert billing._known_by(c, through, named) is c
    assert billing._known_by(c, through, []).amendments == ()
