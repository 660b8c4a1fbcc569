"""The rows `cpqctl report` prints beside the metrics' JSON views (:mod:`cpqctl.core.metrics`, :mod:`cpqctl.core.board`).

The JSON documents themselves are the metrics' views; what is here are the
tables shown for ``--format table|csv|md``: the movements' summary column, the
months of ``movements --by month`` with their per-account moves and footer,
and LTV's metric/value rows.
"""

from __future__ import annotations

from cpqctl.core import metrics
from cpqctl.core.money import money_str

MOVE_COLUMNS = ["mrr_start", "new", "expansion", "contraction", "churn", "reactivation", "mrr_end", "net"]


def movements_summary(data: dict) -> list[dict]:
    """MRR at start, each movement signed, MRR at end, NRR, GRR: one ``{"": label, "amount": …}`` row each."""
    return [{"": "MRR at start", "amount": data["mrr_start"]},
            *({"": f"{'+' if k in ('new', 'expansion', 'reactivation') else '−'} {k}", "amount": data[k]}
              for k in metrics.MOVEMENTS),
            {"": "MRR at end", "amount": data["mrr_end"]},
            {"": "NRR", "amount": data["nrr"]}, {"": "GRR", "amount": data["grr"]}]


def movements_by_month_view(whole: metrics.Movements, months: tuple[metrics.Movements, ...]) -> dict:
    """`report movements --by month --format json`: the whole range's figures, ``"by": "month"`` and the months."""
    data = {**metrics.movements_view(whole), "by": "month"}
    rows = metrics.months_view(months)
    data["months"] = [{**r, "rows": metrics.movements_view(m)["rows"]} for r, m in zip(rows, months)]
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
    return {"month": "total", "mrr_start": data["mrr_start"], **{k: money_str(totals[k], cc) for k in totals},
            "mrr_end": data["mrr_end"], "net": money_str(months[-1].mrr_end - months[0].mrr_start, cc)}


LTV_LABELS = [("MRR", "mrr"), ("Active accounts", "active_accounts"), ("ARPA", "arpa"),
              ("Window start", "window_start"), ("Accounts at window start", "accounts_at_window_start"),
              ("Churned accounts", "churned_accounts"), ("Monthly logo churn", "monthly_churn_rate"),
              ("LTV", "ltv"), ("CAC", "cac"), ("Gross margin", "gross_margin"), ("LTV:CAC", "ltv_cac"),
              ("CAC payback (months)", "payback_months"), ("LTV ≥ 3 × CAC", "ltv_at_least_3x_cac"),
              ("Payback ≤ 12 months", "payback_within_12_months")]


def ltv_rows(data: dict) -> list[dict]:
    """`report ltv` as metric/value rows; a missing figure is —, a missing LTV its note."""
    return [{"metric": label, "value": data[key] if data[key] is not None else
             (data["note"] if key == "ltv" and data["note"] else "—")} for label, key in LTV_LABELS]
