"""The JSON shape of a priced quote: what `quote new|show`, `amend` and `renew` print with ``--format json``."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from cpqctl.core.model import Quote, Settings
from cpqctl.core.money import fmt_decimal, fmt_percent, money_str, round_places
from cpqctl.core.quotes import valid_until

if TYPE_CHECKING:
    from cpqctl.core.pricing import PricedQuote


def _mult(m: Fraction) -> str:
    return format(round_places(m, 6, "half-up"), "f")


def quote_json(q: Quote, priced: PricedQuote, st: str, settings: Settings) -> dict:
    """The quote, every priced line with its waterfall steps, the totals and taxes (SPEC §6)."""
    cur = priced.currency
    return {
        "quote": q.quote,
        "kind": q.kind,
        "account": q.account,
        "contract": q.contract,
        "currency": cur,
        "status": st,
        "start": priced.start.isoformat(),
        "end": priced.end.isoformat() if priced.end else None,
        "lines": [
            {
                "product": ln.product,
                "quantity": fmt_decimal(ln.quantity),
                "start": ln.start.isoformat(),
                "end": ln.end.isoformat() if ln.end else None,
                "per": ln.per,
                "list_unit_price": money_str(ln.list_unit_price, cur),
                "net_unit_price": money_str(ln.net_unit_price, cur),
                "prorate_multiplier": _mult(ln.prorate_multiplier),
                "net_total": money_str(ln.net_total, cur),
                "name": ln.name,
                "bundle": ln.bundle,
                "discount": fmt_percent(ln.discount_percent),
                "steps": [
                    {"step": s.label, "unit_price": money_str(s.unit_price, cur), "note": s.note} for s in ln.steps
                ],
            }
            for ln in priced.lines
        ],
        "net_total": money_str(priced.net_total, cur),
        "tax_total": money_str(priced.tax_total, cur),
        "gross_total": money_str(priced.gross_total, cur),
        "taxes": [
            {"rate": fmt_percent(t.rate), "base": money_str(t.base, cur), "amount": money_str(t.amount, cur)}
            for t in priced.taxes
        ],
        "date": q.date.isoformat(),
        "valid_until": valid_until(q, settings).isoformat(),
        "evergreen": q.evergreen,
        "approval_reasons": list(priced.approval_reasons),
    }
