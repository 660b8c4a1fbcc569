"""JSON shapes of `invoice run | preview | send` (SPEC §6): plain dicts, money as strings with the currency's places.

``draft_json`` is the one shape of an invoice, issued (with its number) or
not (``invoice: null`` in a dry run); a preview shows a subset of its keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date

from cpqctl.core.money import fmt_decimal, fmt_percent, money_str, round_money


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def line_json(ln, currency: str) -> dict:
    return {
        "segment": ln.segment,
        "product": ln.product,
        "period_start": _iso(ln.period_start),
        "period_end": _iso(ln.period_end),
        "kind": ln.kind,
        "quantity": fmt_decimal(ln.quantity) if ln.quantity is not None else None,
        "amount": money_str(ln.amount, currency),
    }


def draft_json(number: str | None, d) -> dict:
    cur = d.currency
    starts = [ln.period_start for ln in d.lines if ln.period_start]
    ends = [ln.period_end or ln.period_start for ln in d.lines if ln.period_end or ln.period_start]
    return {
        "invoice": number,
        "account": d.account,
        "contract": d.contract,
        "date": d.date.isoformat(),
        "sale_date": _iso(d.sale_date),
        "due": d.due.isoformat(),
        "currency": cur,
        "period_start": _iso(min(starts, default=None)),
        "period_end": _iso(max(ends, default=None)),
        "reverse_charge": d.reverse_charge,
        "lines": [line_json(ln, cur) for ln in d.lines],
        "net_total": money_str(d.net_total, cur),
        "taxes": [
            {"rate": fmt_percent(t.rate), "base": money_str(t.base, cur), "amount": money_str(t.amount, cur)}
            for t in d.taxes
        ],
        "tax_total": money_str(d.tax_total, cur),
        "gross_total": money_str(d.gross_total, cur),
        **_issued_json(d),
    }


def _issued_json(d) -> dict:
    """What an invoice as issued adds to a billing draft (docs/invoices.md): its kind, the invoice a correction
    corrects, the VAT code and language, and the exchange rate with the VAT in PLN of a foreign-currency one."""
    if not hasattr(d, "kind"):  # a billing draft (preview): not issued
        return {}
    fx = d.fx
    return {
        "kind": d.kind,
        "corrects": d.corrects,
        "corrects_date": _iso(d.corrects_date),
        "reason": d.reason or None,
        "tax_code": d.tax_code or None,
        "language": d.language or None,
        "fx": None if fx is None else {"rate": fmt_decimal(fx.rate), "table": fx.table, "date": _iso(fx.date)},
        "tax_pln": [money_str(a, "PLN") for a in d.vat_pln] if fx is not None else None,
    }


# --------------------------------------------------------------------------- run


def run_head(through: date, dry_run: bool, count: int) -> dict:
    """`invoice run --format json` without its last key, ``invoices`` (streamed one at a time)."""
    return {"through": through.isoformat(), "dry_run": dry_run, "count": count}


def run_items(numbers: Sequence[str | None], drafts: Iterable) -> Iterator[dict]:
    """The ``invoices`` of `invoice run`, made one at a time (a month can be 100,000 invoices)."""
    return (draft_json(n, d) for n, d in zip(numbers, drafts))


# --------------------------------------------------------------------------- preview

_PREVIEW_KEYS = ("date", "period_start", "period_end", "lines", "net_total", "tax_total", "gross_total")


def preview_json(contract: str, currency: str, day: date, drafts: Iterable) -> dict:
    """A contract's next invoices (`invoice preview` without --quote)."""
    invoices = []
    for d in drafts:
        x = draft_json(None, d)
        invoices.append({k: x[k] for k in _PREVIEW_KEYS})
    return {"contract": contract, "currency": currency, "as_of": day.isoformat(), "invoices": invoices}


def amendment_preview_json(c, q, amended, pv, day: date, rounding: str) -> dict:
    """What accepting amendment quote ``q`` changes (`invoice preview --quote`): the invoice on acceptance,
    each scheduled invoice before and after, the contract value and ARR deltas."""
    from cpqctl.core import billing

    cur = c.currency
    arr = lambda v: money_str(round_money(v, cur, rounding), cur)  # noqa: E731
    on_net = sum((ln.amount for ln in pv.on_acceptance), round_money(0, cur, rounding))
    catch_up = billing.known_dates(amended.amendments[-1])[1]
    return {
        "contract": c.contract,
        "quote": q.quote,
        "currency": cur,
        "as_of": day.isoformat(),
        "effective": amended.amendments[-1].effective.isoformat(),
        "on_acceptance": {
            "date": catch_up.isoformat(),
            "lines": [line_json(ln, cur) for ln in pv.on_acceptance],
            "net_total": money_str(on_net, cur),
        },
        "invoices": [
            {
                "date": d.isoformat(),
                "period_start": ps.isoformat(),
                "period_end": pe.isoformat(),
                "before": money_str(b, cur),
                "after": money_str(a, cur),
                "delta": money_str(a - b, cur),
            }
            for d, ps, pe, b, a in pv.invoices
        ],
        "contract_value_delta": money_str(pv.contract_value_delta, cur),
        "arr_before": arr(pv.arr_before),
        "arr_after": arr(pv.arr_after),
        "arr_delta": arr(pv.arr_after - pv.arr_before),
    }


# --------------------------------------------------------------------------- send


def delivery_json(invoice: str, to: Sequence[str], message_id: str, day: date) -> dict:
    """One delivery the SMTP server accepted (its recipients who got it)."""
    return {"invoice": invoice, "to": ", ".join(to), "message_id": message_id, "date": day.isoformat()}


def send_json(day: date, deliveries: Iterable[dict]) -> dict:
    return {"as_of": day.isoformat(), "sent": list(deliveries)}
