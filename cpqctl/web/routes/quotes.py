"""Quotes: the list (status filter, paged) and one quote with its price waterfall, step by step."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from cpqctl.web import respond
from cpqctl.web.routes import lists
from cpqctl.web.site import paged

STATUSES = ("draft", "approved", "needs-approval", "expired", "accepted")  # cpqctl.app.listing.QUOTE_STATUSES


def quote_list(request: Request):
    """`quote list [--status S] --format json`, the rows of one page, and ``page``."""
    site = respond.site(request)
    status = respond.query(request, "status")
    if status and status not in STATUSES:
        raise HTTPException(400, f"a quote status is one of: {', '.join(STATUSES)}")
    listing = lists.quotes(site)
    rows = listing.rows.where(lambda s: s == status, "status") if status else listing.rows
    page = paged(rows, respond.query(request, "page", 8))
    data = {**listing.data(page.rows), "page": page.json()}
    return respond.page(request, "quotes.html.j2", data, page=page, status=status, statuses=STATUSES)


def quote(request: Request):
    """`quote show QUOTE --format json`: every line with each step of its price waterfall."""
    from cpqctl.app.quotes import show_quote

    site = respond.site(request)
    ident, _ = respond.record_id(request, "quote")
    respond.known(request, "quotes", "quote", ident)
    shown = show_quote(site.ws, ident, as_of=site.day())
    respond.may_see(request, shown.data["account"])
    return respond.page(request, "quote.html.j2", shown.data)


ROUTES = [Route("/quotes", quote_list), Route("/quotes.json", quote_list), Route("/quotes/{quote}", quote)]
