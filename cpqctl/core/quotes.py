"""Quote workflow rules: a quote's status, its price, and whether it may be accepted.

Pure: records and dates in, records out. The workflow's file texts are in
:mod:`cpqctl.formats.quotes`, its JSON view in :mod:`cpqctl.views.quotes`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.model import Presented, PresentedLine, Quote, Repo, Settings
from cpqctl.core.money import fmt_decimal, money_str

if TYPE_CHECKING:  # the pricing engine is imported when a quote is priced, not with this module
    from cpqctl.core.pricing import PricedQuote


def valid_until(q: Quote, settings: Settings) -> date:
    return q.date + timedelta(days=settings.quote_valid_days)


def priced_digest(q: Quote, priced: PricedQuote) -> str:
    """``sha256:<hex>`` of what a priced quote shows: its parties, dates, every priced line and the totals.

    What an approval and a presentation record: any change to a line's product,
    quantity, dates, unit price or total, to the totals or the taxes (whether by
    an edit of the draft or a catalog change) gives another digest. The canonical
    form is sorted-key JSON of strings, so the digest does not depend on the
    Python version or the YAML layout.
    """
    canonical = {
        "quote": q.quote,
        "kind": q.kind,
        "account": q.account,
        "contract": q.contract if q.kind != "new" else None,
        "currency": priced.currency,
        "start": str(priced.start),
        "end": str(priced.end) if priced.end else None,
        "lines": [
            [
                ln.product,
                str(ln.quantity),
                str(ln.start),
                str(ln.end) if ln.end else None,
                ln.per,
                ln.pricing,
                ln.bundle,
                str(ln.list_unit_price),
                str(ln.net_unit_price),
                str(ln.net_total),
            ]
            for ln in priced.lines
        ],
        "taxes": [[str(t.rate), str(t.base), str(t.amount)] for t in priced.taxes],
        "net_total": str(priced.net_total),
        "tax_total": str(priced.tax_total),
        "gross_total": str(priced.gross_total),
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


VOID_CHANGED = "approval void: the quote changed since it was approved"
VOID_OLD = "approval void: it does not record what was approved (no digest); approve the quote again"


def approval_void(q: Quote, priced: PricedQuote | None) -> str | None:
    """Why ``q``'s approval no longer counts (None: it counts, or there is none).

    An approval covers the priced quote its digest names: any later change voids
    it, and so does an approval without a digest (written before approvals
    recorded one: nobody can tell what it covered).
    """
    if q.approved is None or q.status == "accepted" or priced is None:
        return None
    if not q.approved.digest:
        return VOID_OLD
    return None if q.approved.digest == priced_digest(q, priced) else VOID_CHANGED


def presentation(q: Quote, priced: PricedQuote, day: date, fmt: str) -> Presented:
    """The record of presenting ``priced`` to the customer on ``day`` (a rendered document in ``fmt``)."""
    return Presented(
        date=day,
        format=fmt,
        digest=priced_digest(q, priced),
        net_total=priced.net_total,
        gross_total=priced.gross_total,
        lines=tuple(PresentedLine(ln.product, ln.quantity, ln.net_unit_price, ln.net_total) for ln in priced.lines),
    )


def presented_changes(q: Quote, priced: PricedQuote) -> list[str]:
    """How ``priced`` differs from what ``q`` last presented (empty: nothing presented, or the same).

    One entry per changed, added or removed line (product, quantity, unit
    price, total; a product's lines paired in order), then the gross total.
    """
    if not q.presented or q.status == "accepted":
        return []
    last = q.presented[-1]
    if last.digest == priced_digest(q, priced):
        return []
    cur = priced.currency
    old: dict[str, list[PresentedLine]] = {}
    for x in last.lines:
        old.setdefault(x.product, []).append(x)
    new: dict[str, list] = {}
    for ln in priced.lines:
        new.setdefault(ln.product, []).append(ln)
    out: list[str] = []

    def money(v: Decimal | None) -> str:
        return money_str(v, cur) if v is not None else "?"

    def unit(v: Decimal | None) -> str:  # unit prices stay exact (they may carry more places than the currency)
        return format(v, "f") if v is not None else "?"

    for product in dict.fromkeys([*old, *new]):
        was, now = old.get(product, []), new.get(product, [])
        for k in range(max(len(was), len(now))):
            a = was[k] if k < len(was) else None
            b = now[k] if k < len(now) else None
            if a is None and b is not None:
                out.append(
                    f"{product}: added, {fmt_decimal(b.quantity)} × {unit(b.net_unit_price)} = {money(b.net_total)}"
                )
            elif b is None and a is not None:
                out.append(
                    f"{product}: removed, was {fmt_decimal(a.quantity)} × {unit(a.unit_price)} = {money(a.net_total)}"
                )
            elif a is not None and b is not None:
                diff = []
                if a.quantity != b.quantity:
                    diff.append(f"quantity {fmt_decimal(a.quantity)} → {fmt_decimal(b.quantity)}")
                if a.unit_price != b.net_unit_price:
                    diff.append(f"unit price {unit(a.unit_price)} → {unit(b.net_unit_price)}")
                if a.net_total != b.net_total:
                    diff.append(f"total {money(a.net_total)} → {money(b.net_total)}")
                if diff:
                    out.append(f"{product}: " + ", ".join(diff))
    if last.gross_total != priced.gross_total:
        out.append(f"gross total {money(last.gross_total)} → {money(priced.gross_total)}")
    return out or ["the priced quote differs from the one presented (dates, terms or taxes)"]


def check_presented(q: Quote, priced: PricedQuote) -> None:
    """Refuse to accept prices other than those last presented to the customer (E-PRICES-CHANGED)."""
    changes = presented_changes(q, priced)
    if not changes:
        return
    last = q.presented[-1]
    raise CpqError(
        "E-PRICES-CHANGED",
        f"quote {q.quote} prices differently from the document ({last.format or '?'}) presented on {last.date}: "
        + "; ".join(changes),
        "accept at today's prices with `--reprice` (the quote document is rendered again), "
        "or render the quote again and present it first",
        src=q.where("presented"),
    )


def quote_status(q: Quote, priced: PricedQuote | None, settings: Settings, as_of: date) -> str:
    """accepted | expired | needs-approval | approved | draft (derived for drafts; stored once accepted).

    An approval counts only for the priced quote it approved (:func:`approval_void`).
    """
    if q.status == "accepted":
        return "accepted"
    if valid_until(q, settings) < as_of:
        return "expired"
    void = approval_void(q, priced)
    if priced is not None and priced.needs_approval and (q.approved is None or void):
        return "needs-approval"
    if q.approved is not None and not void:
        return "approved"
    return "draft"


def price(repo: Repo, q: Quote) -> PricedQuote:
    """Price a quote (drafts are re-priced whenever shown; accepted quotes keep their frozen lines)."""
    from cpqctl.core import pricing

    account = repo.accounts.get(q.account)
    if account is None:
        raise CpqError(
            "E-UNKNOWN-ACCOUNT",
            f"unknown account `{q.account}`",
            "accounts are folders under contracts/",
            src=q.where("account"),
        )
    contract = repo.contracts.get(q.contract) if q.contract and q.kind != "new" else None
    priced = pricing.price_quote(q, repo.catalog, account, repo.settings, contract)
    void = approval_void(q, priced)
    if void and priced.needs_approval:  # say why the approval on file does not count
        priced = replace(priced, approval_reasons=(*priced.approval_reasons, void))
    return priced


def check_acceptable(q: Quote, priced: PricedQuote, settings: Settings, as_of: date) -> None:
    """Refuse an accepted, expired or not yet approved quote (the rule `quote accept` enforces)."""
    st = quote_status(q, priced, settings, as_of)
    if st == "accepted":
        raise CpqError("E-ACCEPTED", f"quote {q.quote} is already accepted", "accepted quotes are immutable", src=q.src)
    if st == "expired":
        raise CpqError(
            "E-EXPIRED",
            f"quote {q.quote} expired on {valid_until(q, settings)} "
            f"(quote date {q.date} + {settings.quote_valid_days} days)",
            "create a new quote (or re-date this draft) to accept it",
            src=q.where("date"),
        )
    if st == "needs-approval":
        reasons = "; ".join(priced.approval_reasons)
        raise CpqError(
            "E-NEEDS-APPROVAL",
            f"quote {q.quote} needs approval: {reasons}",
            f"cpqctl quote approve {q.quote} --by NAME",
            src=q.src,
        )


def check_signed_on(q: Quote, settings: Settings, signed: date, as_of: date) -> None:
    """Refuse a signing date after the as-of day, before the quote date or after the quote's validity.

    The signing date decides when an amendment is known to billing (its
    catch-up lines) and what the contract records: a typo there (2027 for 2026)
    moved an up-sell's billing past the contract end.
    """
    until = valid_until(q, settings)
    if signed > as_of:
        raise UsageError(
            "E-SIGNED-ON",
            f"the signing date {signed} is after the as-of day {as_of}",
            "a quote is accepted once signed: give the day it was signed (on or before --as-of)",
        )
    if signed < q.date or signed > until:
        raise UsageError(
            "E-SIGNED-ON",
            f"{q.quote} cannot be signed on {signed}: it is valid from its date {q.date} to {until}",
            "check the signing date for a typo",
            src=q.where("date"),
        )


def check_current(q: Quote, c) -> None:
    """Refuse an amendment quote made on an older version of its contract ``c`` (E-STALE-QUOTE): another amendment
    was accepted since (``based_on`` is the number of amendments the contract had then)."""
    if q.based_on is not None and q.based_on != len(c.amendments):
        raise CpqError(
            "E-STALE-QUOTE",
            f"contract {c.contract} has changed since {q.quote} was made "
            f"({len(c.amendments)} amendments now, {q.based_on} then)",
            f"regenerate the amendment quote with `cpqctl amend {c.contract} …`",
            src=q.src,
        )
