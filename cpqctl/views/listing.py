"""JSON shapes of `quote list`, `contract list`, `account list` and `invoice list`.

One row per record, keyed as the matching show command keys the same fields
(`quote show`'s ``quote``/``status``/``net_total``, `contract show`'s
``contract``/``status``/``end``/``mrr``/``arr``, `account show`'s ``mrr``/``arr``,
`invoice run`'s ``invoice``/``date``/``due``/``gross_total``). Every list is
``{"as_of": …, "<things>": [rows]}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from cpqctl.core.model import Invoice, Quote, Settings
from cpqctl.core.money import money_str
from cpqctl.core.quotes import valid_until

if TYPE_CHECKING:
    from cpqctl.core.pricing import PricedQuote


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def quote_row(q: Quote, priced: PricedQuote, st: str, settings: Settings) -> dict:
    """A quote in a list: what `quote show --format json` says of it, without the lines and taxes."""
    cur = priced.currency
    return {
        "quote": q.quote,
        "kind": q.kind,
        "account": q.account,
        "contract": q.contract,
        "currency": cur,
        "status": st,
        "start": priced.start.isoformat(),
        "end": _iso(priced.end),
        "date": q.date.isoformat(),
        "valid_until": valid_until(q, settings).isoformat(),
        "net_total": money_str(priced.net_total, cur),
        "gross_total": money_str(priced.gross_total, cur),
    }


_CONTRACT_KEYS = (
    "contract",
    "account",
    "currency",
    "status",
    "start",
    "end",
    "mrr",
    "arr",
    "evergreen",
    "billing",
    "renews",
    "renewed_by",
)


def contract_row(view: dict) -> dict:
    """A contract in a list: the head of `contract show --format json` (no owned products, no amendments)."""
    return {k: view[k] for k in _CONTRACT_KEYS}


def account_row(view: dict) -> dict:
    """An account in a list: `account show --format json`'s head and the IDs of its active contracts."""
    statuses = {c["status"] for c in view["contracts"]}
    status = (
        "active"
        if "active" in statuses
        else "pending"
        if "pending" in statuses
        else "churned"
        if statuses
        else "prospect"
    )
    return {
        "account": view["account"],
        "name": view["name"],
        "currency": view["currency"],
        "status": status,
        "active_contracts": [c["contract"] for c in view["contracts"] if c["status"] == "active"],
        "mrr": view["mrr"],
        "arr": view["arr"],
        "next_renewal": view["next_renewal"],
    }


def invoice_row(inv: Invoice) -> dict:
    """An issued invoice in a list: number, parties, dates, totals, whether a delivery is recorded (and its first
    date)."""
    cur = inv.currency
    starts = [ln.period_start for ln in inv.lines if ln.period_start]
    ends = [e for ln in inv.lines if (e := ln.period_end or ln.period_start) is not None]
    sent = sorted(d.date for d in inv.sent if d.date is not None)
    return {
        "invoice": inv.invoice,
        "account": inv.account,
        "contract": inv.contract,
        "date": inv.date.isoformat(),
        "due": _iso(inv.due),
        "currency": cur,
        "period_start": _iso(min(starts, default=None)),
        "period_end": _iso(max(ends, default=None)),
        "net_total": money_str(inv.net_total, cur),
        "tax_total": money_str(inv.gross_total - inv.net_total, cur),
        "gross_total": money_str(inv.gross_total, cur),
        "corrects": inv.corrects,
        "sent": bool(inv.sent),
        "sent_on": sent[0].isoformat() if sent else None,
    }


def listing(day: date, key: str, rows: Sequence[dict]) -> dict:
    return {"as_of": day.isoformat(), key: rows}
