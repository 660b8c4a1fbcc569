"""Periods (issue 18): one syntax for a range of days on every report, resolved against --as-of.

The parser (cpqctl.core.periods) on every form, the month, quarter and year
boundaries, leap years and the relative forms counted from ``as_of``; bad
input is E-PERIOD with the accepted forms as the hint. Then the report
commands: what -p/--period means for each (on the period's last day for
arr/mrr/ltv, the movements within it, the board's months) and how it combines
with --from/--to and --months.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from cpqctl.core import periods
from cpqctl.core.diagnostics import UsageError
from cpqctl.core.periods import Period, parse_period

D = date
AS_OF = D(2027, 5, 14)  # a day in the middle of Q2


# ---------------------------------------------------------------- every form


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2027", D(2027, 1, 1), D(2027, 12, 31)),
        ("2027q1", D(2027, 1, 1), D(2027, 3, 31)),
        ("2027q2", D(2027, 4, 1), D(2027, 6, 30)),
        ("2027q3", D(2027, 7, 1), D(2027, 9, 30)),
        ("2027q4", D(2027, 10, 1), D(2027, 12, 31)),
        ("2027-Q1", D(2027, 1, 1), D(2027, 3, 31)),
        ("2027-q4", D(2027, 10, 1), D(2027, 12, 31)),
        ("2027Q3", D(2027, 7, 1), D(2027, 9, 30)),
        ("2027-01", D(2027, 1, 1), D(2027, 1, 31)),
        ("2027-03", D(2027, 3, 1), D(2027, 3, 31)),
        ("2027-04", D(2027, 4, 1), D(2027, 4, 30)),
        ("2027-12", D(2027, 12, 1), D(2027, 12, 31)),
        ("2027-03-15", D(2027, 3, 15), D(2027, 3, 15)),
        ("2027-01..2027-03", D(2027, 1, 1), D(2027, 3, 31)),
        ("2027-01-15..2027-02-14", D(2027, 1, 15), D(2027, 2, 14)),
        ("2027q1..2027q2", D(2027, 1, 1), D(2027, 6, 30)),
        ("2026..2027-03-15", D(2026, 1, 1), D(2027, 3, 15)),
        ("2027..2027", D(2027, 1, 1), D(2027, 12, 31)),
        ("2027-03-15..2027-03-15", D(2027, 3, 15), D(2027, 3, 15)),
        (" 2027-01 .. 2027-03 ", D(2027, 1, 1), D(2027, 3, 31)),
    ],
)
def test_absolute_forms(text, start, end) -> None:
    assert parse_period(text, AS_OF) == Period(start, end)
    assert parse_period(text, D(1999, 1, 1)) == (start, end)  # absolute: --as-of does not matter


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("this-month", D(2027, 5, 1), D(2027, 5, 31)),
        ("last-month", D(2027, 4, 1), D(2027, 4, 30)),
        ("this-quarter", D(2027, 4, 1), D(2027, 6, 30)),
        ("last-quarter", D(2027, 1, 1), D(2027, 3, 31)),
        ("this-year", D(2027, 1, 1), D(2027, 12, 31)),
        ("last-year", D(2026, 1, 1), D(2026, 12, 31)),
        ("LAST-MONTH", D(2027, 4, 1), D(2027, 4, 30)),
        ("This-Quarter", D(2027, 4, 1), D(2027, 6, 30)),
        ("last-quarter..this-month", D(2027, 1, 1), D(2027, 5, 31)),
        ("this-year..2027-05-14", D(2027, 1, 1), D(2027, 5, 14)),
        ("last-year..last-month", D(2026, 1, 1), D(2027, 4, 30)),
    ],
)
def test_relative_forms_count_from_as_of(text, start, end) -> None:
    """Relative forms are whole calendar periods around --as-of (this-month runs to the month's end)."""
    assert parse_period(text, AS_OF) == (start, end)


# ---------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    ("as_of", "this_month", "last_month", "this_quarter", "last_quarter"),
    [
        # the first day of a year: last month and last quarter are in the year before
        (D(2027, 1, 1), ("2027-01-01", "2027-01-31"), ("2026-12-01", "2026-12-31"), ("2027-01-01", "2027-03-31"),
         ("2026-10-01", "2026-12-31")),
        # the last day of a quarter is still in it; the next day is in the next one
        (D(2027, 3, 31), ("2027-03-01", "2027-03-31"), ("2027-02-01", "2027-02-28"), ("2027-01-01", "2027-03-31"),
         ("2026-10-01", "2026-12-31")),
        (D(2027, 4, 1), ("2027-04-01", "2027-04-30"), ("2027-03-01", "2027-03-31"), ("2027-04-01", "2027-06-30"),
         ("2027-01-01", "2027-03-31")),
        (D(2027, 12, 31), ("2027-12-01", "2027-12-31"), ("2027-11-01", "2027-11-30"), ("2027-10-01", "2027-12-31"),
         ("2027-07-01", "2027-09-30")),
        # a leap year: last month from March is a February of 29 days
        (D(2028, 3, 1), ("2028-03-01", "2028-03-31"), ("2028-02-01", "2028-02-29"), ("2028-01-01", "2028-03-31"),
         ("2027-10-01", "2027-12-31")),
        (D(2028, 2, 29), ("2028-02-01", "2028-02-29"), ("2028-01-01", "2028-01-31"), ("2028-01-01", "2028-03-31"),
         ("2027-10-01", "2027-12-31")),
    ],
)  # fmt: skip
def test_relative_forms_on_the_boundaries(as_of, this_month, last_month, this_quarter, last_quarter) -> None:
    iso = lambda p: (p.start.isoformat(), p.end.isoformat())
    assert iso(parse_period("this-month", as_of)) == this_month
    assert iso(parse_period("last-month", as_of)) == last_month
    assert iso(parse_period("this-quarter", as_of)) == this_quarter
    assert iso(parse_period("last-quarter", as_of)) == last_quarter
    assert parse_period("this-year", as_of) == (D(as_of.year, 1, 1), D(as_of.year, 12, 31))
    assert parse_period("last-year", as_of) == (D(as_of.year - 1, 1, 1), D(as_of.year - 1, 12, 31))


def test_every_quarter_of_a_year_chains() -> None:
    """Q1..Q4 cover the year day after day: each starts the day after the one before ends."""
    quarters = [parse_period(f"2027q{q}", AS_OF) for q in range(1, 5)]
    assert quarters[0].start == D(2027, 1, 1) and quarters[-1].end == D(2027, 12, 31)
    for before, after in zip(quarters, quarters[1:]):
        assert (after.start - before.end).days == 1
    assert sum((q.end - q.start).days + 1 for q in quarters) == 365


def test_every_month_of_a_year_has_its_length() -> None:
    lengths = [(parse_period(f"2027-{m:02d}", AS_OF).end.day) for m in range(1, 13)]
    assert lengths == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


@pytest.mark.parametrize(
    ("year", "days"),
    [(2027, 28), (2028, 29), (2024, 29), (2000, 29), (2100, 28), (1900, 28)],
)
def test_leap_years(year, days) -> None:
    """February has 29 days in a leap year (every 4th, not a century unless every 4th century)."""
    assert parse_period(f"{year}-02", AS_OF) == (D(year, 2, 1), D(year, 2, days))
    assert parse_period(f"{year}q1", AS_OF).end == D(year, 3, 31)
    q1 = parse_period(f"{year}q1", AS_OF)
    assert (q1.end - q1.start).days + 1 == 31 + days + 31
    assert parse_period(f"{year}", AS_OF).end == D(year, 12, 31)
    if days == 29:
        assert parse_period(f"{year}-02-29", AS_OF) == (D(year, 2, 29), D(year, 2, 29))
    else:
        with pytest.raises(UsageError) as e:
            parse_period(f"{year}-02-29", AS_OF)
        assert e.value.code == "E-PERIOD"


def test_opening_and_months() -> None:
    """A period's opening day is the day before it; months counts the calendar months it touches."""
    q = parse_period("2027q1", AS_OF)
    assert (q.opening, q.months) == (D(2026, 12, 31), 3)
    assert parse_period("2028-03", AS_OF).opening == D(2028, 2, 29)
    assert parse_period("2027-01-15..2027-03-01", AS_OF).months == 3
    assert parse_period("2026-11..2027-02", AS_OF).months == 4
    assert parse_period("2027-03-15", AS_OF).months == 1
    assert parse_period("2027", AS_OF).months == 12


def test_the_year_bounds_are_the_loaders() -> None:
    from cpqctl.load.schema import FIRST_DAY, LAST_DAY

    assert (periods.FIRST_DAY, periods.LAST_DAY) == (FIRST_DAY, LAST_DAY)
    assert parse_period("1900", AS_OF).start == FIRST_DAY
    assert parse_period("2999-12", AS_OF).end == LAST_DAY


def test_the_clock_is_never_read() -> None:
    """The same text on two --as-of dates: only the relative forms move, by the --as-of alone."""
    assert parse_period("last-month", D(1950, 7, 4)) == (D(1950, 6, 1), D(1950, 6, 30))
    assert parse_period("this-quarter", D(2990, 11, 2)) == (D(2990, 10, 1), D(2990, 12, 31))
    source = periods.__file__
    with open(source, encoding="utf-8") as f:
        text = f.read()
    assert "today(" not in text and "now(" not in text


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "2027q5",
        "2027q0",
        "2027-13",
        "2027-00",
        "2027-02-30",
        "2027-04-31",
        "27q1",
        "2027/03",
        "Q1 2027",
        "q1-2027",
        "2027-3",
        "2027-03-1",
        "20270315",
        "next-month",
        "last-week",
        "today",
        "2027-01..",
        "..2027-03",
        "2027..2028..2029",
        "2027...2028",
        "１２３４",
        "2027 q1",
        "0000",
        "3000",
        "1899-12",
        "2027-Q1-01",
    ],
)
def test_bad_input_is_e_period(text) -> None:
    with pytest.raises(UsageError) as e:
        parse_period(text, AS_OF)
    assert e.value.code == "E-PERIOD"
    assert "period" in e.value.message
    assert e.value.hint


@pytest.mark.parametrize("text", ["2027q5", "2027-13", "2027-02-30", "next-month", "2027/03", "", "2027-01.."])
def test_a_malformed_period_names_every_accepted_form(text) -> None:
    with pytest.raises(UsageError) as e:
        parse_period(text, AS_OF)
    for form in ("2027q1", "2027-Q1", "2027-03", "2027", "2027-03-15", "FROM..TO", *periods.RELATIVE):
        assert form in e.value.hint, form


def test_a_range_that_ends_before_it_starts() -> None:
    with pytest.raises(UsageError) as e:
        parse_period("2027-03..2027-01", AS_OF)
    assert e.value.code == "E-PERIOD"
    assert "2027-01-31" in e.value.message and "2027-03-01" in e.value.message
    assert "earlier period first" in e.value.hint
    with pytest.raises(UsageError):
        parse_period("this-month..last-month", AS_OF)


def test_relative_forms_outside_the_years() -> None:
    with pytest.raises(UsageError) as e:
        parse_period("last-year", D(1900, 6, 1))
    assert e.value.code == "E-PERIOD" and "1900–2999" in e.value.message


# ---------------------------------------------------------------- on the command line


def _json(cli, *args):
    run = cli(*args)
    assert run.code == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.parametrize(
    "command",
    [
        ("report", "arr"),
        ("report", "mrr"),
        ("report", "movements"),
        ("report", "ltv"),
        ("report", "board"),
    ],
)
@pytest.mark.parametrize("bad", ["2026q5", "yesterday", "2026-02-30"])
def test_every_report_refuses_a_bad_period_with_exit_2_and_the_hint(example_repo, cli, command, bad) -> None:
    run = cli(*command, "--period", bad, "--as-of", "2026-11-28", "--repo", example_repo)
    assert run.code == 2
    assert f"error[E-PERIOD]: `{bad}` is not a period" in run.stderr
    assert "hint: a period is one of: 2027q1 (or 2027-Q1), 2027-03, 2027, 2027-03-15, this-month" in run.stderr
    assert run.stdout == "" and "Traceback" not in run.stderr


def test_arr_and_mrr_on_the_last_day_of_the_period(example_repo, cli) -> None:
    """--period P is the ARR on P's last day: 2026q3 → 2026-09-30, whatever --as-of (relative forms use it)."""
    on_day = _json(cli, "report", "arr", "-f", "json", "--as-of", "2026-09-30", "--repo", example_repo)
    assert (
        on_day["arr"]
        != _json(cli, "report", "arr", "-f", "json", "--as-of", "2026-11-28", "--repo", example_repo)["arr"]
    )  # the day matters: the comparison below can fail
    for args in (
        ("-p", "2026q3"),
        ("--period", "2026-Q3", "--as-of", "2030-01-01"),
        ("--period", "2026-09"),
        ("--period", "2026-09-30"),
        ("--period", "2026-07..2026-09"),
        ("--period", "last-quarter", "--as-of", "2026-11-28"),
        ("--period", "this-quarter", "--as-of", "2026-07-01"),
        ("--period", "last-month", "--as-of", "2026-10-31"),
    ):
        assert _json(cli, "report", "arr", "-f", "json", *args, "--repo", example_repo) == on_day, args
    mrr = _json(cli, "report", "mrr", "--by", "product", "-p", "2026q3", "-f", "json", "--repo", example_repo)
    assert mrr["as_of"] == "2026-09-30" and mrr == _json(
        cli, "report", "mrr", "--by", "product", "--as-of", "2026-09-30", "-f", "json", "--repo", example_repo
    )


def test_the_relative_period_reads_cpq_as_of_too(example_repo, cli) -> None:
    run = cli(
        "report", "arr", "-p", "last-month", "-f", "json", "--repo", example_repo, env={"CPQ_AS_OF": "2026-10-15"}
    )
    assert run.code == 0 and json.loads(run.stdout)["as_of"] == "2026-09-30"
    glob = cli("--as-of", "2026-10-15", "report", "arr", "-p", "this-month", "-f", "json", "--repo", example_repo)
    assert glob.code == 0 and json.loads(glob.stdout)["as_of"] == "2026-10-31"


def test_movements_over_a_period_count_from_the_day_before(example_repo, cli) -> None:
    """--period 2026q3 is --from 2026-06-30 --to 2026-09-30: the movements *within* the quarter."""
    q3 = _json(cli, "report", "movements", "-p", "2026q3", "-f", "json", "--repo", example_repo)
    assert (q3["from"], q3["to"]) == ("2026-06-30", "2026-09-30")
    assert q3 == _json(
        cli, "report", "movements", "--from", "2026-06-30", "--to", "2026-09-30", "-f", "json", "--repo", example_repo
    )
    # acme's contract starts on 2026-01-01: new business of 2026 (MRR 0.00 on 2025-12-31), which
    # --from 2026-01-01 would count as the MRR at the start instead
    year = _json(cli, "report", "movements", "-p", "2026", "-f", "json", "--repo", example_repo)
    assert (year["from"], year["to"]) == ("2025-12-31", "2026-12-31")
    moves = {r["account"]: (r["movement"], r["mrr_from"]) for r in year["rows"]}
    assert moves["acme"] == ("new", "0.00")
    assert year["mrr_start"] == "1192.50"  # initech alone: 1,192.50 a month since 2025-10-01
    by_month = _json(cli, "report", "movements", "-p", "2026q3", "--by", "month", "-f", "json", "--repo", example_repo)
    assert [m["month"] for m in by_month["months"]] == ["2026-07", "2026-08", "2026-09"]
    relative = _json(
        cli, "report", "movements", "-p", "last-quarter", "--as-of", "2026-11-28", "-f", "json", "--repo", example_repo
    )
    assert relative == q3


def test_movements_period_and_from_to_conflict(example_repo, cli) -> None:
    for extra in (("--from", "2026-01-01"), ("--to", "2026-11-01"), ("--from", "2026-01-01", "--to", "2026-11-01")):
        run = cli("report", "movements", "-p", "2026q3", *extra, "--repo", example_repo)
        assert run.code == 2 and "error[E-USAGE]: --period and --from/--to both give the dates" in run.stderr
    only_from = cli("report", "movements", "--from", "2026-01-01", "--repo", example_repo)
    assert only_from.code == 2 and "needs --to (or --period)" in only_from.stderr
    nothing = cli("report", "movements", "--repo", example_repo)
    assert nothing.code == 2 and "E-USAGE" in nothing.stderr and "--period" in nothing.stderr


def test_ltv_on_the_last_day_of_the_period(example_repo, cli) -> None:
    on_day = _json(cli, "report", "ltv", "-f", "json", "--as-of", "2026-09-30", "--repo", example_repo)
    assert on_day["as_of"] == "2026-09-30"
    assert _json(cli, "report", "ltv", "-f", "json", "-p", "2026q3", "--repo", example_repo) == on_day


def test_board_over_a_period_is_its_calendar_months(example_repo, cli) -> None:
    """--period 2026q3 is --months 3 --as-of 2026-09-30; 2026..2026-11-28 is 11 months up to 2026-11-28."""
    q3 = _json(cli, "report", "board", "-p", "2026q3", "-f", "json", "--repo", example_repo)
    assert q3 == _json(
        cli, "report", "board", "--months", "3", "--as-of", "2026-09-30", "-f", "json", "--repo", example_repo
    )
    assert (q3["from"], q3["to"], [m["month"] for m in q3["months"]]) == (
        "2026-06-30",
        "2026-09-30",
        ["2026-07", "2026-08", "2026-09"],
    )
    ytd = _json(cli, "report", "board", "-p", "2026..2026-11-28", "-f", "json", "--repo", example_repo)
    assert (ytd["to"], len(ytd["months"])) == ("2026-11-28", 11)
    assert ytd == _json(
        cli, "report", "board", "--months", "11", "--as-of", "2026-11-28", "-f", "json", "--repo", example_repo
    )
    default = _json(cli, "report", "board", "--as-of", "2026-12-31", "-f", "json", "--repo", example_repo)
    assert len(default["months"]) == 12  # without --period or --months: 12 months, as before


def test_board_period_refusals(example_repo, cli, tmp_path) -> None:
    both = cli("report", "board", "-p", "2026q3", "--months", "3", "--repo", example_repo)
    assert both.code == 2 and "--period and --months" in both.stderr
    mid = cli("report", "board", "-p", "2026-03-15..2026-05", "--repo", example_repo)
    assert mid.code == 2 and "whole calendar months" in mid.stderr and "2026-03..2026-05-31" in mid.stderr
    long = cli("report", "board", "-p", "2000..2026", "--repo", example_repo)
    assert long.code == 2 and "at most 120" in long.stderr
    doc = tmp_path / "q3.md"
    run = cli("report", "board", "-p", "2026q3", "--format", "md", "-o", doc, "--repo", example_repo)
    assert run.code == 0, run.stderr
    assert "30.06.2026 – 30.09.2026 (3 months)" in doc.read_text(encoding="utf-8")  # the example's pl_PL dates
