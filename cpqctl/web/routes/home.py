"""The home page: how many accounts, invoices and quotes by status, ARR, renewals due, `check`'s verdict."""

from __future__ import annotations

from collections import Counter

from starlette.requests import Request
from starlette.routing import Route

from cpqctl.web import respond
from cpqctl.web.routes import lists


def _by_status(rows: list[dict]) -> dict:
    counts = Counter(r["status"] or "none" for r in rows)
    return {"total": len(rows), "by_status": dict(sorted(counts.items()))}


def home(request: Request):
    site = respond.site(request)
    board = lists.board(site).data
    due = lists.renewals(site, None)
    found = lists.check(site)
    data = {
        "as_of": site.day().isoformat(),
        "arr": board["arr"],
        "mrr": board["mrr_end"],
        "currency": board["currency"],
        "accounts": _by_status(lists.accounts(site).rows),
        "invoices": _by_status(lists.invoices(site).rows),
        "quotes": _by_status(lists.quotes(site).rows),
        "renewals": {"within": due.within, "contracts": len(due.rows)},
        "check": {"errors": found.errors, "warnings": found.warnings},
    }
    return respond.page(request, "home.html.j2", data)


ROUTES = [Route("/", home), Route("/index.json", home)]
