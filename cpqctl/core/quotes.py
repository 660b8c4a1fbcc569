"""Quote workflow rules: a quote's status, its price, and whether it may be accepted.

Pure: records and dates in, records out. The workflow's file texts are in
:mod:`cpqctl.formats.quotes`, its JSON view in :mod:`cpqctl.views.quotes`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import Quote, Repo, Settings

if TYPE_CHECKING:  # the pricing engine is imported when a quote is priced, not with this module
    from cpqctl.core.pricing import PricedQuote


def valid_until(q: Quote, settings: Settings) -> date:
    return q.date + timedelta(days=settings.quote_valid_days)


def quote_status(q: Quote, priced: PricedQuote | None, settings: Settings, as_of: date) -> str:
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
    return pricing.price_quote(q, repo.catalog, account, repo.settings, contract)


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
