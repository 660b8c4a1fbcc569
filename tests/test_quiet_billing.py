"""Contracts with nothing due are skipped (issue 15: a month's run on an unchanged repository).

`billing.quiet_until(c, settings, T0)` names the first day after T0 on which the contract's schedule can date a
line. A run through T0 that issued nothing for the contract vouches for every run through a day from T0 up to
the day before that, as long as the contract, the settings and its ledger stay the same: the memo of
:mod:`cpqctl.load.quiet` skips those contracts. These tests hold that claim to `billing.due_lines` (both paths)
over random contracts, amendments, cancellations, frequency changes, arrears and bill-cycle anchors, and hold a
run with the memo to a run without it.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from hypothesis import HealthCheck, assume, given, settings as hsettings, strategies as st

from cpqctl.core import billing
from cpqctl.core.model import Catalog, Repo
from tests.test_billing import SETTINGS, START, as_billed, contract, contracts, days

HORIZON = date(2030, 1, 1)


def due(c, through, billed, settings=SETTINGS):
    inc = billing.due_lines(c, settings, through, list(billed))
    assert inc == billing.due_lines(c, settings, through, list(billed), full=True)
    return inc


def holds(c, stops, probes, settings=SETTINGS) -> int:
    """Runs at ``stops`` (each on the ledger the ones before wrote); after each, every probe day from the run's
    day up to the day before :func:`quiet_until` issues nothing. The number of claims checked."""
    billed: list = []
    checked = 0
    for stop in sorted(stops):
        through = START + timedelta(days=stop)
        billed += as_billed(due(c, through, billed, settings))
        assert due(c, through, billed, settings) == []  # the run issued what was due: a second one issues nothing
        until = billing.quiet_until(c, settings, through)
        if until is None:
            assert c.billed_through is not None or any(s.end and s.end > through for s in c.segments())
            continue
        assert through < until <= through + billing.LOOKAHEAD + timedelta(days=1)
        span = (until - through).days  # the days through .. until - 1
        for p in {0, span - 1, *(x % span for x in probes)}:
            day = through + timedelta(days=p)
            assert due(c, day, billed, settings) == [], (through, until, day)
            checked += 1
    return checked


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contracts(with_amendment=True, allow_cancel=True),
    st.lists(days, min_size=1, max_size=5),
    st.lists(st.integers(0, 400), max_size=4),
)
def test_a_quiet_contract_stays_quiet_until_the_day_named(c, stops, probes):
    holds(c, stops, probes)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contracts(with_amendment=True, allow_cancel=True),
    st.sampled_from(["start", "calendar", "1", "10", "28"]),
    st.lists(days, min_size=1, max_size=4),
    st.lists(st.integers(0, 400), max_size=3),
)
def test_a_quiet_contract_stays_quiet_with_bill_cycle_anchors(c, anchor, stops, probes):
    holds(dataclasses.replace(c, billing_anchor=anchor), stops, probes)


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contracts(with_amendment=True, allow_cancel=True),
    st.booleans(),
    st.lists(days, min_size=1, max_size=4),
    st.lists(st.integers(0, 400), max_size=3),
)
def test_a_quiet_evergreen_contract_stays_quiet(c, open_lines, stops, probes):
    """Without an end (its lines' ends kept, or each line open too): periods run on to each run's horizon."""
    assume(c.billing_frequency != "upfront")  # an evergreen contract cannot be billed upfront
    c = dataclasses.replace(c, end=None, evergreen=True)
    if open_lines:
        c = dataclasses.replace(
            c,
            lines=tuple(dataclasses.replace(s, end=None) for s in c.lines),
            amendments=tuple(
                dataclasses.replace(a, lines=tuple(dataclasses.replace(s, end=None) for s in a.lines))
                for a in c.amendments
            ),
        )
    holds(c, stops, probes)


def test_the_day_named_is_the_next_line_s_day():
    """Monthly from 2024-01-01, billed through 2024-03-10: nothing is due until April's invoice on 04-01; annual
    billing: nothing until the contract's end; the end passed: nothing within the look-ahead."""
    c = contract("monthly")
    billed = as_billed(billing.due_lines(c, SETTINGS, date(2024, 3, 10), []))
    assert billing.quiet_until(c, SETTINGS, date(2024, 3, 10)) == date(2024, 4, 1)
    assert due(c, date(2024, 3, 31), billed) == []
    assert [d for d, _ in due(c, date(2024, 4, 1), billed)] == [date(2024, 4, 1)]
    yearly = contract("annual", end=date(2025, 12, 31))
    assert billing.quiet_until(yearly, SETTINGS, date(2024, 1, 1)) == date(2025, 1, 1)
    assert billing.quiet_until(c, SETTINGS, date(2025, 6, 1)) == date(2025, 6, 1) + billing.LOOKAHEAD + timedelta(1)
    open_ended = dataclasses.replace(c, end=None, evergreen=True)  # its line ends on 2024-12-31
    assert billing.quiet_until(open_ended, SETTINGS, date(2024, 3, 1)) is None
    assert billing.quiet_until(open_ended, SETTINGS, date(2025, 3, 1)) == date(2026, 3, 3)  # ended: the look-ahead
    running = dataclasses.replace(open_ended, lines=tuple(dataclasses.replace(s, end=None) for s in c.lines))
    assert billing.quiet_until(running, SETTINGS, date(2025, 3, 10)) == date(2025, 4, 1)


class Memo:
    """An in-memory :class:`billing.Quiet`, keyed on the contract and its ledger (``ledger``, as the runs grow it)."""

    def __init__(self, ledger: dict):
        self.ledger = ledger
        self.known: dict = {}

    def skips(self, c, through):
        got = self.known.get((c.contract, tuple(self.ledger.get(c.contract, []))))
        return got is not None and got[0] <= through < got[1]

    def record(self, c, through, until):
        self.known[(c.contract, tuple(self.ledger.get(c.contract, [])))] = (through, until)


@hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(contracts(with_amendment=True, allow_cancel=True), min_size=1, max_size=3), st.lists(days, max_size=6))
def test_runs_with_the_memo_issue_what_runs_without_it_issue(cs, stops):
    cs = [dataclasses.replace(c, contract=f"C-{i}") for i, c in enumerate(cs)]
    repo = Repo(settings=SETTINGS, catalog=Catalog(), contracts={c.contract: c for c in cs})
    ledger: dict[str, list] = {}
    memo = Memo(ledger)
    for stop in sorted(stops) + [900, 900, 2000]:
        through = START + timedelta(days=stop)
        plain = billing.run(repo, through, billed={k: list(v) for k, v in ledger.items()})
        remembered = billing.run(repo, through, billed={k: list(v) for k, v in ledger.items()}, quiet=memo)
        assert remembered == plain
        for d in plain:
            ledger.setdefault(d.contract, []).extend(
                billing.Billed(d.date, "INV", ln.segment, ln.amount, ln.period_start, ln.period_end) for ln in d.lines
            )
