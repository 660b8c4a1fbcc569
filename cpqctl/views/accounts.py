"""Read models for `contract show` and `account show`: plain dicts in the SPEC §6 JSON shapes."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from cpqctl.core import ledger
from cpqctl.core.model import Contract, Repo
from cpqctl.core.money import fmt_decimal, rounded_money_str
from cpqctl.core.terms import contract_terms


def contract_view(repo: Repo, c: Contract, day: date) -> dict:
    cur = c.currency
    terms = contract_terms(c, repo.settings)
    owned = ledger.owned(c, day)
    total = sum((o.mrr for o in owned), Fraction(0))
    end = ledger.current_end(c)
    canc = ledger.cancellation(c)
    products = repo.catalog.products
    return {
        "contract": c.contract,
        "account": c.account,
        "currency": cur,
        "status": ledger.status(c, day),
        "start": c.start.isoformat(),
        "end": end.isoformat() if end else None,
        "as_of": day.isoformat(),
        "owned": [
            {
                "product": o.product,
                "name": products[o.product].name if o.product in products else o.product,
                "quantity": fmt_decimal(o.quantity),
                "mrr": rounded_money_str(o.mrr, cur, terms.rounding),
            }
            for o in owned
        ],
        "mrr": rounded_money_str(total, cur, terms.rounding),
        "arr": rounded_money_str(total * 12, cur, terms.rounding),
        "evergreen": c.evergreen,
        "billing": terms.billing_frequency,
        "renews": c.renews,
        "renewed_by": repo.successors.get(c.contract),
        "cancelled": {"date": canc.date.isoformat(), "reason": canc.reason} if canc else None,
        "amendments": [
            {
                "amendment": a.amendment,
                "effective": a.effective.isoformat(),
                "quote": a.quote,
                "lines": len(a.lines),
                "end": a.end.isoformat() if a.end else None,
                "cancelled": a.cancelled is not None,
            }
            for a in c.amendments
        ],
    }


def account_view(repo: Repo, account_id: str, day: date) -> dict:
    a = repo.accounts[account_id]
    contracts = sorted(repo.contracts_by_account.get(account_id, ()), key=lambda c: c.start)
    views = [contract_view(repo, c, day) for c in contracts]
    products = repo.catalog.products
    owned_rows = []
    total = Fraction(0)
    bundles: list[dict] = []
    for c, _v in zip(contracts, views):
        for o in ledger.owned(c, day):
            p = products.get(o.product)
            owned_rows.append(
                {
                    "product": o.product,
                    "name": p.name if p else o.product,
                    "family": p.family if p else "",
                    "quantity": fmt_decimal(o.quantity),
                    "mrr": rounded_money_str(o.mrr, c.currency, contract_terms(c, repo.settings).rounding),
                    "contract": c.contract,
                    "bundle": o.bundle,
                }
            )
            total += o.mrr
            if p is not None and p.options and o.quantity > 0:
                have = {x.product for x in ledger.owned(c, day) if x.quantity > 0}
                bundles.append(
                    {
                        "bundle": p.code,
                        "contract": c.contract,
                        "options": [
                            {
                                "product": opt.product,
                                "on": opt.product in have,
                                "included": opt.included,
                                "required": opt.required,
                            }
                            for opt in p.options
                        ],
                    }
                )
    live = [c for c, v in zip(contracts, views) if v["status"] in ("active", "pending")]
    renewals = sorted(
        ledger.current_end(c)
        for c in live
        # a contract another one renews has its renewal accepted: the successor's end is the one to come
        if not c.evergreen
        and ledger.cancellation(c) is None
        and ledger.current_end(c)
        and c.contract not in repo.successors
    )
    cur = a.currency
    return {
        "account": a.account,
        "name": a.name,
        "currency": cur,
        "as_of": day.isoformat(),
        "contracts": [
            {
                "contract": v["contract"],
                "status": v["status"],
                "start": v["start"],
                "end": v["end"],
                "mrr": v["mrr"],
                "arr": v["arr"],
                "renews": v["renews"],
                "renewed_by": v["renewed_by"],
            }
            for v in views
        ],
        "owned": owned_rows,
        "bundles": bundles,
        "mrr": rounded_money_str(total, cur, repo.settings.rounding),
        "arr": rounded_money_str(total * 12, cur, repo.settings.rounding),
        "next_renewal": renewals[0].isoformat() if renewals else None,
    }


def contract_rows(view: dict) -> list[dict]:
    """`contract show` as a table: product, name, quantity and MRR of what the contract owns."""
    return [
        {"product": o["product"], "name": o["name"], "quantity": o["quantity"], "mrr": o["mrr"]} for o in view["owned"]
    ]
