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
from tests.test_billing import SETTINGS, START, as_billed, contract, contracts, days, seg

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
