"""The JSON shapes of `renew --due` and `renewals` (the due list and the forecast by month)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from cpqctl.core.model import Contract, Settings
from cpqctl.core.money import money_str
from cpqctl.core.renewal import Bucket, Ending, month_start

MONTH_COLUMNS = ["month", "currency", "contracts", "arr", "quoted", "accepted", "not_quoted", "at_risk"]
FIGURES = ("arr", "quoted", "accepted", "not_quoted", "at_risk")


def renew_due_json(day: date, within: int, dry_run: bool, done: Sequence[tuple[Contract, str | None, str]]) -> dict:
    """`renew --due`: per contract its renewal quote (None when a dry run would create it) and the action."""
    rows = [{"contract": c.contract, "account": c.account, "quote": qid, "action": action} for c, qid, action in done]
    return {"as_of": day.isoformat(), "within": within, "dry_run": dry_run, "rows": rows}


def renewal_row(c: Contract, end: date, arr: str, renewal_quote: str | None, quote_status: str | None) -> dict:
    """One row of `renewals`: a contract ending, its ARR at stake and its renewal quote's status."""
    return {
        "contract": c.contract,
        "account": c.account,
        "end": end.isoformat(),
        "arr": arr,
        "currency": c.currency,
        "renewal_quote": renewal_quote,
        "quote_status": quote_status,
    }


def renewals_json(day: date, within: int, rows: list[dict]) -> dict:
    return {"as_of": day.isoformat(), "within": within, "rows": rows}


def bucket_row(b: Bucket) -> dict:
    """One month of the forecast in one currency."""
    return {
        "month": b.month.strftime("%Y-%m"),
        "currency": b.currency,
        "contracts": b.contracts,
        **{k: money_str(getattr(b, k), b.currency) for k in FIGURES},
    }


def forecast_json(
    day: date,
    first: date,
    months: int,
    risk_days: int,
    settings: Settings,
    items: list[Ending],
    per_currency: dict[str, list[Bucket]],
    company: list[Bucket] | None,
    note: str | None,
) -> dict:
    """`renewals --by month`: per month in the company currency (``company``), else blank months and the ``note``.

    ``currencies`` always holds the per-currency figures; ``contracts`` every
    contract ending in the window with its stage.
    """
    if company is not None:
        rows = [bucket_row(b) for b in company]
        total = {
            "contracts": len(items),
            **{k: money_str(sum(getattr(b, k) for b in company), settings.currency) for k in FIGURES},
        }
    else:  # as `report arr`: no totals in the company currency; the per-currency figures still stand
        firsts = [month_start(first, i) for i in range(months)]
        rows = [
            {
                "month": m.strftime("%Y-%m"),
                "currency": None,
                "contracts": sum(month_start(e.end) == m for e in items),
                **dict.fromkeys(FIGURES),
            }
            for m in firsts
        ]
        total = {"contracts": len(items), **dict.fromkeys(FIGURES)}
    cur_rows = [bucket_row(b) for m in range(months) for b in (g[m] for g in per_currency.values())]
    listed = [
        {
            "contract": e.contract.contract,
            "account": e.contract.account,
            "end": e.end.isoformat(),
            "currency": e.contract.currency,
            "arr": money_str(e.arr, e.contract.currency),
            "stage": e.stage,
            "at_risk": e.at_risk,
        }
        for e in items
    ]
    last = month_start(first, months - 1)
    return {
        "as_of": day.isoformat(),
        "from": first.strftime("%Y-%m"),
        "to": last.strftime("%Y-%m"),
        "at_risk_within": risk_days,
        "currency": settings.currency if company is not None else None,
        "rows": rows,
        "total": total,
        "currencies": cur_rows,
        "contracts": listed,
        "note": note,
    }
