"""The home page: how many accounts, invoices and quotes by status, ARR, renewals due, `check`'s verdict."""

from __future__ import annotations

from collections import Counter

from starlette.requests import Request
from starlette.routing import Route

from cpqctl.web import respond
from cpqctl.web.routes import lists


def _by_status(statuses) -> dict:
    counts = Counter(s or "none" for s in statuses)
    return {"total": len(statuses), "by_status": dict(sorted(counts.items()))}


def home(request: Request):
    site = respond.site(request)
    got = lists.home(site)
    board, due, found = got["board"].data, got["renewals"], got["check"]
    accounts, invoices, quotes = (got[k].rows.column("status") for k in ("accounts", "invoices", "quotes"))
    data = {
        "as_of": site.day().isoformat(),
        "arr": board["arr"],
        "mrr": board["mrr_end"],
        "currency": board["currency"],
        "accounts": _by_status(accounts),
        "invoices": _by_status(invoices),
        "quotes": _by_status(quotes),
        "renewals": {"within": due.within, "contracts": len(due.rows)},
        "check": {"errors": found.errors, "warnings": found.warnings},
    }
    return respond.page(request, "home.html.j2", data)


ROUTES = [Route("/", home), Route("/index.json", home)]
