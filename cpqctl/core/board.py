"""The board report's numbers: ARR month by month, MRR movements, retention, LTV, the largest accounts.

One :class:`Board` holds every figure the board report shows, so the
terminal view, the JSON/CSV output, the Markdown and PDF documents and their
charts all draw on the same numbers:

- the period is the ``months`` calendar months that end with ``as_of``'s
  month, from the last day of the month before (the *opening* day) to
  ``as_of`` (so the last month is partial when ``as_of`` is not a month end);
- ARR at each month end is exactly what `report arr --as-of <that day>`
  prints (12 × MRR rounded once, in the company currency);
- the movements per month are `report movements --by month` over the period;
  the waterfall sums them, so an account that came and went inside the period
  shows as new *and* churned;
- NRR and GRR compare the opening day with ``as_of`` for the accounts paying
  on the opening day (the usual trailing-twelve-months retention);
- LTV is `report ltv` on ``as_of``; the top accounts rank ARR on ``as_of``.

Pure: no IO, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from cpqctl.core import metrics
from cpqctl.core.model import Repo
from cpqctl.core.money import round_money
from cpqctl.core.proration import add_months

MONTHS = 12  # the default period: a year of months
TOP = 5  # the default number of accounts listed


@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM of its last day
    end: date  # the month's last day (or as_of, for the last month)
    arr: Decimal  # ARR on `end`, rounded as `report arr` rounds it
    movements: metrics.Movements  # from the previous month's end (or the opening day) to `end`


@dataclass(frozen=True)
class TopAccount:
    account: str
    name: str
    currency: str  # the account's own currency
    arr_native: Decimal  # ARR in its own currency
    arr: Decimal  # ARR in the company currency
    share: Fraction  # of the company's ARR on as_of


@dataclass(frozen=True)
class Board:
    as_of: date
    currency: str
    opening: date  # the day the period starts from (the last day of the month before the first month)
    arr_opening: Decimal
    months: tuple[Month, ...]
    period: metrics.Movements  # opening day → as_of in one step: NRR/GRR
    waterfall: dict[str, Decimal]  # each movement kind summed over the months
    ltv: metrics.Ltv
    top: tuple[TopAccount, ...]

    @property
    def arr(self) -> Decimal:
        return self.months[-1].arr

    @property
    def mrr_start(self) -> Decimal:
        return self.months[0].movements.mrr_start

    @property
    def mrr_end(self) -> Decimal:
        return self.months[-1].movements.mrr_end

    @property
    def growth(self) -> Fraction | None:
        """ARR growth over the period (None: no ARR on the opening day)."""
        return Fraction(self.arr) / Fraction(self.arr_opening) - 1 if self.arr_opening else None


def opening_day(as_of: date, months: int) -> date:
    """The last day of the month ``months`` months before ``as_of``'s month (2026-12-31, 12 → 2025-12-31)."""
    return metrics.month_end(add_months(as_of.replace(day=1), -months))


def top_accounts(repo: Repo, day: date, count: int) -> tuple[TopAccount, ...]:
    """The ``count`` accounts with the most ARR on ``day`` (ties by account ID); every [fx] rate must exist."""
    s = repo.settings
    r = metrics.arr_report(repo, day, "account")
    mrr: dict[tuple[str, str], Fraction] = {}
    for (account, currency), m in r.rows.items():
        mrr[(account, currency)] = mrr.get((account, currency), Fraction(0)) + m
    ranked = sorted(mrr.items(), key=lambda kv: (-kv[1] * metrics.known_rate(s, kv[0][1]), kv[0]))
    total = r.total or Fraction(0)
    out = []
    for (account, currency), m in ranked[:count]:
        company = m * metrics.known_rate(s, currency)
        a = repo.accounts.get(account)
        out.append(
            TopAccount(
                account,
                a.name if a is not None and a.name else account,
                currency,
                round_money(m * 12, currency, s.rounding),
                round_money(company * 12, s.currency, s.rounding),
                company / total if total else Fraction(0),
            )
        )
    return tuple(out)


def board(repo: Repo, as_of: date, months: int = MONTHS, top: int = TOP) -> Board:
    """Every figure of the board report for the ``months`` months ending on ``as_of``."""
    if months < 1:
        raise ValueError("a board covers at least one month")
    cc = metrics.movement_currency(repo)  # refuses a currency without an [fx] rate
    opening = opening_day(as_of, months)
    days = metrics.month_boundaries(opening, as_of)
    series = metrics.account_series(repo, days)  # every account's MRR on every month end, once
    moves = metrics.movements_over(repo, days, series)
    period = metrics.movements_over(repo, (opening, as_of), [(a, c, (v[0], v[-1])) for a, c, v in series])[0]
    # ARR as `report arr` has it: 12 × the exact company MRR, rounded once
    arr = [
        round_money(12 * sum((v[i] for _, _, v in series), Fraction(0)), cc, repo.settings.rounding)
        for i in range(len(days))
    ]
    rows = tuple(Month(f"{m.end.year:04d}-{m.end.month:02d}", m.end, a, m) for m, a in zip(moves, arr[1:]))
    return Board(
        as_of,
        cc,
        opening,
        arr[0],
        rows,
        period,
        metrics.summed(moves),
        metrics.ltv(repo, as_of),
        top_accounts(repo, as_of, top),
    )
