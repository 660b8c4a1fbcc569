"""The board report's JSON shape and template data, over :class:`cpqctl.core.board.Board`.

`report board --format json|csv|table` prints :func:`board_view` (its months
are :func:`month_rows`); the Markdown and PDF templates read
:func:`document_data` (money as Decimal, so the templates format it for the
locale).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from cpqctl.core import board as boards, metrics
from cpqctl.core.money import money_str, round_money, round_places
from cpqctl.views import reports


def _points(value: Fraction | None) -> Decimal | None:
    """A ratio as percent points, 2 places (``Fraction(125, 120)`` → ``104.17``)."""
    return None if value is None else round_places(value * 100, 2)


def month_rows(b: boards.Board) -> list[dict]:
    """One row per month, as text (JSON, CSV and the terminal table): ARR at its end and its movements."""
    cc = b.currency
    rows = reports.months_view(m.movements for m in b.months)
    return [
        {
            "month": r["month"],
            "to": r["to"],
            "arr": money_str(m.arr, cc),
            **{k: r[k] for k in ("mrr_start", *metrics.MOVEMENTS, "mrr_end", "net")},
        }
        for m, r in zip(b.months, rows)
    ]


def board_view(b: boards.Board, rounding: str = "half-up") -> dict:
    """`report board --format json`: every amount a string in the company currency."""
    cc = b.currency
    ms = lambda v: money_str(v, cc)  # noqa: E731
    pct = lambda v: None if v is None else f"{v}%"  # noqa: E731
    return {
        "as_of": b.as_of.isoformat(),
        "currency": cc,
        "from": b.opening.isoformat(),
        "to": b.as_of.isoformat(),
        "arr": ms(b.arr),
        "arr_start": ms(b.arr_opening),
        "arr_growth": pct(_points(b.growth)),
        "mrr_start": ms(b.mrr_start),
        **{k: ms(b.waterfall[k]) for k in metrics.MOVEMENTS},
        "mrr_end": ms(b.mrr_end),
        "nrr": reports.percent(b.period.nrr),
        "grr": reports.percent(b.period.grr),
        "months": month_rows(b),
        "ltv": reports.ltv_view(b.ltv, rounding),
        "top_accounts": [
            {
                "account": t.account,
                "name": t.name,
                "currency": t.currency,
                "arr_native": money_str(t.arr_native, t.currency),
                "arr": ms(t.arr),
                "share": pct(_points(t.share)),
            }
            for t in b.top
        ],
    }


def document_data(b: boards.Board, company: dict, rounding: str = "half-up") -> dict:
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
        "board": {
            "as_of": b.as_of,
            "currency": cc,
            "from": b.opening,
            "to": b.as_of,
            "months": len(b.months),
            "arr": b.arr,
            "arr_start": b.arr_opening,
            "arr_change": b.arr - b.arr_opening,
            "arr_growth": _points(b.growth),
            "mrr_start": b.mrr_start,
            "mrr_end": b.mrr_end,
            "nrr": _points(b.period.nrr),
            "grr": _points(b.period.grr),
            "active_accounts": x.active,
        },
        "months": [
            {
                "month": m.month,
                "end": m.end,
                "arr": m.arr,
                "mrr_start": m.movements.mrr_start,
                **{k: m.movements.totals[k] for k in metrics.MOVEMENTS},
                "mrr_end": m.movements.mrr_end,
                "net": m.movements.mrr_end - m.movements.mrr_start,
            }
            for m in b.months
        ],
        "movements": {"mrr_start": b.mrr_start, **b.waterfall, "mrr_end": b.mrr_end},
        "ltv": {
            "window_start": x.window_start,
            "arpa": rounded(x.arpa),
            "churn_rate": _points(x.churn_rate),
            "ltv": rounded(x.ltv),
            "no_churn": x.ltv is None and x.churn_rate == 0,
            "cac": x.cac,
            "gross_margin": x.gross_margin,
            "ltv_cac": None if x.ltv_cac is None else round_places(x.ltv_cac, 2),
            "payback_months": None if x.payback_months is None else round_places(x.payback_months, 1),
            "ltv_rule": x.ltv_rule,
            "payback_rule": x.payback_rule,
        },
        "top_accounts": [
            {
                "account": t.account,
                "name": t.name,
                "currency": t.currency,
                "arr_native": t.arr_native,
                "arr": t.arr,
                "share": _points(t.share),
            }
            for t in b.top
        ],
    }
