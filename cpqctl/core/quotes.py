"""Quote workflow: status, the JSON view, and the files that acceptance writes.

Pure: takes records and dates, returns dicts and text. The CLI reads and
writes files through :mod:`cpqctl.store`.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import Account, Quote, Repo, Settings
from cpqctl.core.money import fmt_decimal, fmt_percent, money_str, round_places
from cpqctl.formats.yamlout import Raw, flow, mapping_lines, pct, scalar


def valid_until(q: Quote, settings: Settings) -> date:
    return q.date + timedelta(days=settings.quote_valid_days)


def status(q: Quote, priced, settings: Settings, as_of: date) -> str:
    """accepted | expired | needs-approval | approved | draft (derived for drafts; stored once accepted)."""
    if q.status == "accepted":
        return "accepted"
    if valid_until(q, settings) < as_of:
        return "expired"
    if priced is not None and priced.needs_approval and q.approved is None:
        return "needs-approval"
    if q.approved is not None:
        return "approved"
    return "draft"


def price(repo: Repo, q: Quote):
    """Price a quote (drafts are re-priced whenever shown; accepted quotes keep their frozen lines)."""
    from cpqctl.core import pricing
    account = repo.accounts.get(q.account)
    if account is None:
        raise CpqError("E-UNKNOWN-ACCOUNT", f"unknown account `{q.account}`", "accounts are folders under contracts/",
                       src=q.where("account"))
    contract = repo.contracts.get(q.contract) if q.contract and q.kind != "new" else None
    return pricing.price_quote(q, repo.catalog, account, repo.settings, contract)


def _mult(m: Fraction) -> str:
    return format(round_places(m, 6, "half-up"), "f")


def quote_json(q: Quote, priced, st: str, settings: Settings) -> dict:
    cur = priced.currency
    return {
        "quote": q.quote, "kind": q.kind, "account": q.account, "contract": q.contract, "currency": cur,
        "status": st, "start": priced.start.isoformat(), "end": priced.end.isoformat() if priced.end else None,
        "lines": [{
            "product": ln.product, "quantity": fmt_decimal(ln.quantity), "start": ln.start.isoformat(),
            "end": ln.end.isoformat() if ln.end else None, "per": ln.per,
            "list_unit_price": money_str(ln.list_unit_price, cur), "net_unit_price": money_str(ln.net_unit_price, cur),
            "prorate_multiplier": _mult(ln.prorate_multiplier), "net_total": money_str(ln.net_total, cur),
            "name": ln.name, "bundle": ln.bundle, "discount": fmt_percent(ln.discount_percent),
            "steps": [{"step": s.label, "unit_price": money_str(s.unit_price, cur), "note": s.note} for s in ln.steps],
        } for ln in priced.lines],
        "net_total": money_str(priced.net_total, cur), "tax_total": money_str(priced.tax_total, cur),
        "gross_total": money_str(priced.gross_total, cur),
        "taxes": [{"rate": fmt_percent(t.rate), "base": money_str(t.base, cur), "amount": money_str(t.amount, cur)}
                  for t in priced.taxes],
        "date": q.date.isoformat(), "valid_until": valid_until(q, settings).isoformat(),
        "evergreen": q.evergreen, "approval_reasons": list(priced.approval_reasons),
    }


# --------------------------------------------------------------------------- files

def draft_text(q_id: str, account: str, day: date, start: date, term: int | None, end: date | None,
               billing: str | None, evergreen: bool, lines: list[tuple[str, Decimal, Decimal | None, Decimal | None]]
               ) -> str:
    """A new-business draft: its inputs only (it is re-priced whenever shown)."""
    head = [("quote", q_id), ("kind", "new"), ("status", "draft"), ("account", account), ("date", day),
            ("start", start), ("term", term), ("end", end),
            ("evergreen", True if evergreen else None),
            ("billing", Raw(flow([("frequency", billing)])) if billing else None)]
    out = mapping_lines(head)
    out.append("lines:")
    for code, qty, disc, disc_amount in lines:
        out.append("  - " + flow([("product", code), ("quantity", qty), ("discount", pct(disc)),
                                  ("discount_amount", disc_amount)]))
    return "\n".join(out) + "\n"


def _priced_line_flow(ln, q_line=None) -> str:
    return flow([
        ("product", ln.product), ("quantity", ln.quantity),
        ("discount", pct(q_line.discount) if q_line is not None else None),
        ("discount_amount", q_line.discount_amount if q_line is not None else None),
        ("list_price", ln.list_unit_price), ("unit_price", ln.net_unit_price), ("per", ln.per),
        ("start", ln.start), ("end", ln.end), ("pricing", ln.pricing if ln.pricing != "list" else None),
        ("bundle", ln.bundle), ("net_total", ln.net_total),
    ])


def accepted_text(q: Quote, priced, signed_by: str, signed_on: date, contract_id: str | None) -> str:
    """The accepted quote: priced lines frozen, signer, contract, totals, then its digest as the last line."""
    from cpqctl.load.repo import digest_of

    head = [("quote", q.quote), ("kind", q.kind), ("status", "accepted"), ("account", q.account),
            ("contract", contract_id or q.contract), ("currency", priced.currency), ("date", q.date),
            ("start", priced.start), ("term", q.term), ("end", priced.end if not q.evergreen else None),
            ("evergreen", True if q.evergreen else None),
            ("billing", Raw(flow([("frequency", q.billing_frequency)])) if q.billing_frequency else None),
            ("effective", q.effective), ("based_on", q.based_on),
            ("cancelled", Raw(flow([("date", q.cancelled.date), ("reason", q.cancelled.reason or None)]))
             if q.cancelled else None),
            ("approved", Raw(flow([("by", q.approved.by), ("date", q.approved.date)])) if q.approved else None),
            ("signed", Raw(flow([("by", signed_by), ("date", signed_on)])))]
    out = mapping_lines(head)
    out.append("lines:")
    by_product = {}
    for ql in q.lines:
        by_product.setdefault(ql.product, ql)
    for ln in priced.lines:
        out.append("  - " + _priced_line_flow(ln, by_product.get(ln.product)))
    out.extend(mapping_lines([("net_total", priced.net_total), ("tax_total", priced.tax_total),
                              ("gross_total", priced.gross_total)]))
    body = "\n".join(out) + "\n"
    return body + f"digest: {scalar(digest_of(body))}\n"


def segment_flow(ln) -> str:
    """A priced line as a ledger segment (SPEC §1 contract line)."""
    return flow([
        ("product", ln.product), ("bundle", ln.bundle), ("quantity", ln.quantity),
        ("list_price", ln.list_unit_price if ln.list_unit_price != ln.net_unit_price else None),
        ("unit_price", ln.net_unit_price), ("per", ln.per), ("start", ln.start), ("end", ln.end),
        ("pricing", ln.pricing if ln.pricing == "block" else None),
    ])


def contract_text(contract_id: str, q: Quote, priced, settings: Settings, signed_by: str, signed_on: date,
                  renews: str | None = None) -> str:
    """A new contract from an accepted new-business or renewal quote; proration and rounding frozen."""
    term = q.term
    renewal = Raw(flow([("term", term)])) if term else None
    head = [("contract", contract_id), ("account", q.account), ("currency", priced.currency),
            ("start", priced.start), ("end", priced.end if not q.evergreen else None),
            ("evergreen", True if q.evergreen else None),
            ("billing", Raw(flow([("frequency", q.billing_frequency or settings.billing_frequency)]))),
            ("proration", settings.proration), ("rounding", settings.rounding),
            ("renewal", renewal if not q.evergreen else None), ("quote", q.quote),
            ("signed", Raw(flow([("by", signed_by), ("date", signed_on)]))), ("renews", renews)]
    out = [f"# {contract_id}: accepted from {q.quote} (written by cpqctl; amendments are appended below)"]
    out.extend(mapping_lines(head))
    out.append("lines:")
    out.extend("  - " + segment_flow(ln) for ln in priced.lines)
    return "\n".join(out) + "\n"


def check_acceptable(q: Quote, priced, settings: Settings, as_of: date) -> None:
    st = status(q, priced, settings, as_of)
    if st == "accepted":
        raise CpqError("E-ACCEPTED", f"quote {q.quote} is already accepted", "accepted quotes are immutable",
                       src=q.src)
    if st == "expired":
        raise CpqError("E-EXPIRED", f"quote {q.quote} expired on {valid_until(q, settings)} "
                       f"(quote date {q.date} + {settings.quote_valid_days} days)",
                       "create a new quote (or re-date this draft) to accept it", src=q.where("date"))
    if st == "needs-approval":
        reasons = "; ".join(priced.approval_reasons)
        raise CpqError("E-NEEDS-APPROVAL", f"quote {q.quote} needs approval: {reasons}",
                       f"cpqctl quote approve {q.quote} --by NAME", src=q.src)


def lock_prices_text(account: Account, priced, until: date | None) -> str:
    """Lines appended to account.yaml's contracted_prices (`--lock-prices`)."""
    return "".join("  - " + flow([("product", ln.product), ("price", ln.net_unit_price), ("from", ln.start),
                                  ("until", until)]) + "\n"
                   for ln in priced.lines if not ln.bundle and ln.pricing == "list")
