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
from cpqctl.core.model import Repo, Settings
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


def _ranked(settings, mrr: dict[tuple[str, str], Fraction], count: int) -> list[tuple[tuple[str, str], Fraction]]:
    """The ``count`` (account, currency) with the most MRR in the company currency (ties by account ID)."""
    return sorted(mrr.items(), key=lambda kv: (-kv[1] * metrics.known_rate(settings, kv[0][1]), kv[0]))[:count]


def _name(repo: Repo, account: str) -> str:
    a = repo.accounts.get(account)
    return a.name if a is not None and a.name else account


@dataclass(frozen=True)
class Part:
    """What some of the accounts give the board (:func:`part`): every figure a sum over accounts, or (the top
    accounts) a ranking whose first ``top`` over all the accounts are among the parts' first ``top``."""

    exact: tuple[Fraction, ...]  # the accounts' exact company MRR summed, on each day of the period
    months: tuple[metrics.Movements, ...]  # their movements month by month
    period: metrics.Movements  # and from the opening day to as_of
    ltv: metrics.LtvSums
    currencies: dict[str, Fraction]  # MRR on as_of per currency
    top: tuple[tuple[str, str, str, Fraction], ...]  # the part's first accounts: (account, name, currency, MRR)


def part(repo: Repo, as_of: date, months: int = MONTHS, top: int = TOP) -> Part:
    """The board's figures over the accounts of ``repo`` (all of them, or a part of whole accounts: each account's
    contracts with it). Refuses a currency without an [fx] rate."""
    if months < 1:
        raise ValueError("a board covers at least one month")
    metrics.movement_currency(repo)  # refuses a currency without an [fx] rate
    opening = opening_day(as_of, months)
    days = metrics.month_boundaries(opening, as_of)
    series = metrics.account_series(repo, days)  # every account's MRR on every month end, once
    moves = metrics.movements_over(repo, days, series)
    period = metrics.movements_over(repo, (opening, as_of), [(a, c, (v[0], v[-1])) for a, c, v in series])[0]
    exact = tuple(sum((v[i] for _, _, v in series), Fraction(0)) for i in range(len(days)))
    del series
    r = metrics.arr_report(repo, as_of, "account")
    first = tuple((a, _name(repo, a), cur, m) for (a, cur), m in _ranked(repo.settings, r.rows, top))
    return Part(exact, moves, period, metrics.ltv_sums(repo, as_of), r.currencies, first)


def joined(settings: Settings, parts: list[Part], as_of: date, months: int = MONTHS, top: int = TOP) -> Board:
    """The board of every account from the :func:`part` of each part of them (whole accounts; at least one part)."""
    cc = settings.currency
    opening = opening_day(as_of, months)
    days = metrics.month_boundaries(opening, as_of)
    # ARR as `report arr` has it: 12 × the exact company MRR, rounded once
    arr = [
        round_money(12 * sum((p.exact[i] for p in parts), Fraction(0)), cc, settings.rounding) for i in range(len(days))
    ]
    moves = [
        metrics.movements_joined(days[i], days[i + 1], cc, (p.months[i] for p in parts)) for i in range(len(days) - 1)
    ]
    period = metrics.movements_joined(opening, as_of, cc, (p.period for p in parts))
    rows = tuple(Month(f"{m.end.year:04d}-{m.end.month:02d}", m.end, a, m) for m, a in zip(moves, arr[1:]))
    sums = metrics.LtvSums()
    currencies: dict[str, Fraction] = {}
    for p in parts:
        sums += p.ltv
        for cur, m in p.currencies.items():
            currencies[cur] = currencies.get(cur, Fraction(0)) + m
    return Board(
        as_of,
        cc,
        opening,
        arr[0],
        rows,
        period,
        metrics.summed(moves),
        metrics.ltv_of(settings, cc, as_of, sums),
        _top(settings, [t for p in parts for t in p.top], currencies, top),
    )


def _top(settings: Settings, candidates, currencies: dict[str, Fraction], count: int) -> tuple[TopAccount, ...]:
    """The ``count`` accounts with the most ARR on as_of of the parts' first ones, their share of the company's."""
    names = {(a, cur): name for a, name, cur, _ in candidates}
    ranked = _ranked(settings, {(a, cur): m for a, _, cur, m in candidates}, count)
    total = None if metrics.missing_rates(settings, currencies) else metrics.in_company(settings, currencies)
    total = total or Fraction(0)
    out = []
    for (account, currency), m in ranked:
        company = m * metrics.known_rate(settings, currency)
        out.append(
            TopAccount(
                account,
                names[(account, currency)],
                currency,
                round_money(m * 12, currency, settings.rounding),
                round_money(company * 12, settings.currency, settings.rounding),
                company / total if total else Fraction(0),
            )
        )
    return tuple(out)


def board(repo: Repo, as_of: date, months: int = MONTHS, top: int = TOP) -> Board:
    """Every figure of the board report for the ``months`` months ending on ``as_of``."""
    return joined(repo.settings, [part(repo, as_of, months, top)], as_of, months, top)
