"""Accounts: the list (paged, searched by ID or name prefix) and one account — what it owns, its contracts,
invoices with their status and its next renewal."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cpqctl.web import respond
from cpqctl.web.routes import lists
from cpqctl.web.site import paged


def account_list(request: Request):
    """`account list --format json`, the rows of one page, and ``page``; ``q``: ID or name starts with it."""
    site = respond.site(request)
    listing = lists.accounts(site)
    q = respond.query(request, "q").strip().casefold()
    rows = listing.rows
    if q:
        rows = rows.where(lambda a, n: a.casefold().startswith(q) or n.casefold().startswith(q), "account", "name")
    page = paged(rows, respond.query(request, "page", 8))
    data = {**listing.data(page.rows), "page": page.json()}
    return respond.page(request, "accounts.html.j2", data, page=page, q=q)


def _statement(site, account: str) -> bytes:
    """`account render ACCOUNT --format json`: the statement's data (invoices with status, payments, balance)."""
    from cpqctl.app.accounts import account_render

    done = account_render(site.ws, account=account, fmt="json", output=Path("-"), as_of=site.day())
    return done.payload or b"{}"


def account(request: Request):
    """`account show ACCOUNT --format json` (JSON); the page adds the statement's invoices."""
    from cpqctl.app.accounts import account_show

    site = respond.site(request)
    ident, _ = respond.record_id(request, "account")
    respond.may_see(request, ident)
    respond.known(request, "accounts", "account", ident)
    shown = account_show(site.ws, account=ident, as_of=site.day())
    if respond.wants_json(request):
        return respond.json_response(shown.data)
    statement = json.loads(_statement(site, ident))
    return respond.page(request, "account.html.j2", shown.data, statement=statement)


def statement(request: Request):
    """`account render ACCOUNT --format json`, as JSON only."""
    site = respond.site(request)
    ident, _ = respond.record_id(request, "account")
    respond.may_see(request, ident)
    return Response(_statement(site, ident), media_type="application/json")


ROUTES = [
    Route("/accounts", account_list),
    Route("/accounts.json", account_list),
    Route("/accounts/{account}/statement.json", statement),
    Route("/accounts/{account}", account),
]
