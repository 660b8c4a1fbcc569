"""The JSON shapes and rows `cpqctl report` prints, over the metrics of :mod:`cpqctl.core.metrics`.

The JSON documents (SPEC §6: `report arr`, `report movements`, `report ltv`;
keys are an interface) and the tables shown for ``--format table|csv|md``:
the movements' summary column, the months of ``movements --by month`` with
their per-account moves and footer, and LTV's metric/value rows. The board
report's shapes are in :mod:`cpqctl.views.board`.

A report filtered with ``--account``, ``--product`` or ``--family`` adds a
``filters`` key (:func:`with_filters`); an unfiltered report's JSON is as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from cpqctl.core import metrics
from cpqctl.core.money import money_str, round_places, rounded_money_str

MOVE_COLUMNS = ["mrr_start", "new", "expansion", "contraction", "churn", "reactivation", "mrr_end", "net"]


def _rate_named(settings, currency: str) -> dict:
    """The exchange rate a report converts ``currency`` at, and where it comes from: reports convert at cpq.toml's
    fixed [fx] rates (a planning rate, the same every day, so months compare); invoices use NBP's dated tables
    (docs/fx.md). Added keys of each `currencies` item."""
    if currency == settings.currency:
        return {"fx_rate": "1", "fx_source": "company currency"}
    r = settings.fx.get(currency)
    if r is None:
        return {"fx_rate": None, "fx_source": None}
    return {"fx_rate": format(r, "f"), "fx_source": "fixed rate (cpq.toml)"}


def arr_view(report: metrics.ArrReport, rounding: str = "half-up", settings=None) -> dict:
    """The SPEC §6 JSON shape of `report arr` / `report mrr`; with ``settings``, each currency names the rate it is
    converted at (``fx_rate``, ``fx_source``)."""
    cc = report.company_currency
    total = report.total
    note = None
    if report.missing:
        note = f"no [fx] rate for {', '.join(report.missing)}: no total in {cc}; see the per-currency totals"
    return {
        "as_of": report.as_of.isoformat(),
        "currency": cc if total is not None else None,
        "mrr": rounded_money_str(total, cc, rounding) if total is not None else None,
        "arr": rounded_money_str(total * 12, cc, rounding) if total is not None else None,
        "currencies": [
            {
                "currency": c,
                "mrr": rounded_money_str(m, c, rounding),
                "arr": rounded_money_str(m * 12, c, rounding),
                **(_rate_named(settings, c) if settings is not None else {}),
            }
            for c, m in report.currencies.items()
        ],
        "rows": [
            {
                report.by: k,
                "currency": c,
                "mrr": rounded_money_str(m, c, rounding),
                "arr": rounded_money_str(m * 12, c, rounding),
            }
            for (k, c), m in report.rows.items()
        ],
        "note": note,
    }


def filters_view(scope: metrics.Scope) -> dict:
    """``{"account": [...], "product": [...], "family": [...]}``: the names each filter was given, sorted."""
    return {
        "account": sorted(scope.accounts),
        "product": sorted(scope.products),
        "family": sorted(scope.families),
    }


def with_filters(data: dict, scope: metrics.Scope) -> dict:
    """``data`` with a ``filters`` key when the report counts part of the ledger (else ``data`` unchanged)."""
    return {**data, "filters": filters_view(scope)} if scope else data


def percent(value: Fraction | None) -> str | None:
    """``Fraction(125, 120)`` → ``"104.17%"`` (half-up, 2 places)."""
    return None if value is None else f"{round_places(value * 100, 2)}%"


def movements_view(m: metrics.Movements) -> dict:
    """The SPEC §6 JSON shape of `report movements`."""
    cc = m.currency
    ms = lambda v: money_str(v, cc)  # noqa: E731 - already rounded
    return {
        "from": m.start.isoformat(),
        "to": m.end.isoformat(),
        "currency": cc,
        "mrr_start": ms(m.mrr_start),
        **{k: ms(m.totals[k]) for k in metrics.MOVEMENTS},
        "mrr_end": ms(m.mrr_end),
        "nrr": percent(m.nrr),
        "grr": percent(m.grr),
        "rows": [
            {
                "account": r.account,
                "movement": r.movement,
                "mrr_from": ms(r.mrr_from),
                "mrr_to": ms(r.mrr_to),
                "delta": ms(r.delta),
            }
            for r in m.rows
        ],
    }


def months_view(months: Iterable[metrics.Movements]) -> list[dict]:
    """One row per month for `report movements --by month`: the month (of its last day) and its figures."""
    rows = []
    for m in months:
        v = movements_view(m)
        rows.append(
            {
                "month": f"{m.end.year:04d}-{m.end.month:02d}",
                "from": v["from"],
                "to": v["to"],
                "mrr_start": v["mrr_start"],
                **{k: v[k] for k in metrics.MOVEMENTS},
                "mrr_end": v["mrr_end"],
                "net": money_str(m.mrr_end - m.mrr_start, m.currency),
                "nrr": v["nrr"],
                "grr": v["grr"],
            }
        )
    return rows


def ltv_view(x: metrics.Ltv, rounding: str = "half-up") -> dict:
    """`report ltv --format json`: every figure a string, rule results "pass"/"fail" (null without CAC)."""
    cc = x.currency
    m = lambda v: None if v is None else rounded_money_str(v, cc, rounding)  # noqa: E731
    verdict = lambda ok: None if ok is None else ("pass" if ok else "fail")  # noqa: E731
    return {
        "as_of": x.as_of.isoformat(),
        "currency": cc,
        "window_start": x.window_start.isoformat(),
        "mrr": m(x.mrr),
        "active_accounts": x.active,
        "arpa": m(x.arpa),
        "accounts_at_window_start": x.active_at_window_start,
        "churned_accounts": x.churned,
        "monthly_churn_rate": percent(x.churn_rate),
        "ltv": m(x.ltv),
        "note": "no churn" if x.ltv is None and x.churn_rate == 0 else None,
        "ltv_gross_margin": m(x.ltv_gross_margin),
        "ltv_definition": "ARPA ÷ monthly logo churn (revenue; ChartMogul's LTV)",
        "ltv_gross_margin_definition": "ARPA × gross margin ÷ monthly logo churn (profit)",
        "cac": m(Fraction(x.cac)) if x.cac is not None else None,
        "gross_margin": f"{x.gross_margin.normalize():f}%",
        "ltv_cac": None if x.ltv_cac is None else str(round_places(x.ltv_cac, 2)),
        "payback_months": None if x.payback_months is None else str(round_places(x.payback_months, 1)),
        "ltv_at_least_3x_cac": verdict(x.ltv_rule),
        "payback_within_12_months": verdict(x.payback_rule),
    }


def movements_summary(data: dict) -> list[dict]:
    """MRR at start, each movement signed, MRR at end, NRR, GRR: one ``{"": label, "amount": …}`` row each."""
    return [
        {"": "MRR at start", "amount": data["mrr_start"]},
        *(
            {"": f"{'+' if k in ('new', 'expansion', 'reactivation') else '−'} {k}", "amount": data[k]}
            for k in metrics.MOVEMENTS
        ),
        {"": "MRR at end", "amount": data["mrr_end"]},
        {"": "NRR", "amount": data["nrr"]},
        {"": "GRR", "amount": data["grr"]},
    ]


def movements_by_month_view(whole: metrics.Movements, months: tuple[metrics.Movements, ...]) -> dict:
    """`report movements --by month --format json`: the whole range's figures, ``"by": "month"`` and the months."""
    data = {**movements_view(whole), "by": "month"}
    rows = months_view(months)
    data["months"] = [{**r, "rows": movements_view(m)["rows"]} for r, m in zip(rows, months)]
    return data


def month_rows(data: dict) -> list[dict]:
    """One row per month (without its accounts)."""
    return [{k: v for k, v in r.items() if k != "rows"} for r in data["months"]]


def month_moves(data: dict) -> list[dict]:
    """One row per account that moved in a month, the month first."""
    return [{"month": r["month"], **a} for r in data["months"] for a in r["rows"]]


def month_footer(data: dict, months: tuple[metrics.Movements, ...]) -> dict:
    """The total row under the month table: each movement summed, start and end of the range, the net change."""
    cc = data["currency"]
    totals = metrics.summed(months)
    return {
        "month": "total",
        "mrr_start": data["mrr_start"],
        **{k: money_str(totals[k], cc) for k in totals},
        "mrr_end": data["mrr_end"],
        "net": money_str(months[-1].mrr_end - months[0].mrr_start, cc),
    }


LTV_LABELS = [
    ("MRR", "mrr"),
    ("Active accounts", "active_accounts"),
    ("ARPA", "arpa"),
    ("Window start", "window_start"),
    ("Accounts at window start", "accounts_at_window_start"),
    ("Churned accounts", "churned_accounts"),
    ("Monthly logo churn", "monthly_churn_rate"),
    ("LTV (ARPA ÷ churn)", "ltv"),
    ("Gross margin", "gross_margin"),
    ("LTV on gross margin (ARPA × margin ÷ churn)", "ltv_gross_margin"),
    ("CAC", "cac"),
    ("LTV:CAC", "ltv_cac"),
    ("CAC payback (months)", "payback_months"),
    ("LTV ≥ 3 × CAC", "ltv_at_least_3x_cac"),
    ("Payback ≤ 12 months", "payback_within_12_months"),
]


def ltv_rows(data: dict) -> list[dict]:
    """`report ltv` as metric/value rows; a missing figure is —, a missing LTV its note."""
    return [
        {
            "metric": label,
            "value": data[key]
            if data[key] is not None
            else (data["note"] if key in ("ltv", "ltv_gross_margin") and data["note"] else "—"),
        }
        for label, key in LTV_LABELS
    ]
