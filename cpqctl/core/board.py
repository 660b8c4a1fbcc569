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
from cpqctl.core.money import money_str, round_money, round_places
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
        out.append(TopAccount(account, a.name if a is not None and a.name else account, currency,
                              round_money(m * 12, currency, s.rounding), round_money(company * 12, s.currency,
                                                                                      s.rounding),
                              company / total if total else Fraction(0)))
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
    arr = [round_money(12 * sum((v[i] for _, _, v in series), Fraction(0)), cc, repo.settings.rounding)
           for i in range(len(days))]
    rows = tuple(Month(f"{m.end.year:04d}-{m.end.month:02d}", m.end, a, m) for m, a in zip(moves, arr[1:]))
    return Board(as_of, cc, opening, arr[0], rows, period, metrics.summed(moves), metrics.ltv(repo, as_of),
                 top_accounts(repo, as_of, top))


# ---------------------------------------------------------------------------- views


def _points(value: Fraction | None) -> Decimal | None:
    """A ratio as percent points, 2 places (``Fraction(125, 120)`` → ``104.17``)."""
    return None if value is None else round_places(value * 100, 2)


def month_rows(b: Board) -> list[dict]:
    """One row per month, as text (JSON, CSV and the terminal table): ARR at its end and its movements."""
    cc = b.currency
    rows = metrics.months_view(m.movements for m in b.months)
    return [{"month": r["month"], "to": r["to"], "arr": money_str(m.arr, cc),
             **{k: r[k] for k in ("mrr_start", *metrics.MOVEMENTS, "mrr_end", "net")}}
            for m, r in zip(b.months, rows)]


def board_view(b: Board, rounding: str = "half-up") -> dict:
    """`report board --format json`: every amount a string in the company currency."""
    cc = b.currency
    ms = lambda v: money_str(v, cc)  # noqa: E731
    pct = lambda v: None if v is None else f"{v}%"  # noqa: E731
    return {
        "as_of": b.as_of.isoformat(), "currency": cc, "from": b.opening.isoformat(), "to": b.as_of.isoformat(),
        "arr": ms(b.arr), "arr_start": ms(b.arr_opening), "arr_growth": pct(_points(b.growth)),
        "mrr_start": ms(b.mrr_start), **{k: ms(b.waterfall[k]) for k in metrics.MOVEMENTS},
        "mrr_end": ms(b.mrr_end),
        "nrr": metrics.percent(b.period.nrr), "grr": metrics.percent(b.period.grr),
        "months": month_rows(b),
        "ltv": metrics.ltv_view(b.ltv, rounding),
        "top_accounts": [{"account": t.account, "name": t.name, "currency": t.currency,
                          "arr_native": money_str(t.arr_native, t.currency), "arr": ms(t.arr),
                          "share": pct(_points(t.share))} for t in b.top],
    }


def document_data(b: Board, company: dict, rounding: str = "half-up") -> dict:
    """The board templates' data (money as Decimal, percentages as Decimal points, dates as dates).

    ``charts`` is left for the caller: the SVG text (``arr_svg``,
    ``movements_svg``) and where the Markdown finds each picture (``arr_src``,
    ``movements_src``).
    """
    cc = b.currency
    x = b.ltv
    rounded = lambda v: None if v is None else round_money(v, cc, rounding)  # noqa: E731
    return {
        "company": company,
        "as_of": b.as_of,
        "board": {"as_of": b.as_of, "currency": cc, "from": b.opening, "to": b.as_of, "months": len(b.months),
                  "arr": b.arr, "arr_start": b.arr_opening, "arr_change": b.arr - b.arr_opening,
                  "arr_growth": _points(b.growth), "mrr_start": b.mrr_start, "mrr_end": b.mrr_end,
                  "nrr": _points(b.period.nrr), "grr": _points(b.period.grr), "active_accounts": x.active},
        "months": [{"month": m.month, "end": m.end, "arr": m.arr, "mrr_start": m.movements.mrr_start,
                    **{k: m.movements.totals[k] for k in metrics.MOVEMENTS}, "mrr_end": m.movements.mrr_end,
                    "net": m.movements.mrr_end - m.movements.mrr_start} for m in b.months],
        "movements": {"mrr_start": b.mrr_start, **b.waterfall, "mrr_end": b.mrr_end},
        "ltv": {"window_start": x.window_start, "arpa": rounded(x.arpa), "churn_rate": _points(x.churn_rate),
                "ltv": rounded(x.ltv), "no_churn": x.ltv is None and x.churn_rate == 0,
                "cac": x.cac, "gross_margin": x.gross_margin,
                "ltv_cac": None if x.ltv_cac is None else round_places(x.ltv_cac, 2),
                "payback_months": None if x.payback_months is None else round_places(x.payback_months, 1),
                "ltv_rule": x.ltv_rule, "payback_rule": x.payback_rule},
        "top_accounts": [{"account": t.account, "name": t.name, "currency": t.currency, "arr_native": t.arr_native,
                          "arr": t.arr, "share": _points(t.share)} for t in b.top],
    }
