"""Invoices: the list (status and account filters, paged) and one invoice — its lines and totals, its
status, and the PDF kept at issue (through the application layer, as `invoice render` gives it)."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cpqctl.web import respond
from cpqctl.web.routes import lists
from cpqctl.web.site import paged, valid_id

STATUSES = ("open", "partly paid", "paid", "overdue", "credited")  # cpqctl.core.receivables.STATUSES


def invoice_list(request: Request):
    """`invoice list [--status S] [--account A] --format json`, the rows of one page, and ``page``."""
    site = respond.site(request)
    status = respond.query(request, "status")
    account = respond.query(request, "account")
    if status and status not in STATUSES:
        raise HTTPException(400, f"an invoice status is one of: {', '.join(STATUSES)}")
    if account and not valid_id(account):
        raise HTTPException(400, "not an account ID")
    listing = lists.invoices(site)
    rows = listing.rows
    if status or account:
        wanted = lambda s, a: (not status or s == status) and (not account or a == account)  # noqa: E731
        rows = rows.where(wanted, "status", "account")
    page = paged(rows, respond.query(request, "page", 8))
    data = {**listing.data(page.rows), "page": page.json()}
    return respond.page(request, "invoices.html.j2", data, page=page, status=status, account=account, statuses=STATUSES)


def _render(site, number: str, fmt: str):
    from cpqctl.app.einvoicing import render_invoice

    return render_invoice(site.ws, number, fmt, Path("-"))


def invoice(request: Request):
    """`invoice render INVOICE --format json` (the invoice's data); ``.pdf``: the PDF as issued."""
    site = respond.site(request)
    ident, suffix = respond.record_id(request, "invoice", (".json", ".pdf"))
    respond.known(request, "invoices", "invoice", ident)
    done = _render(site, ident, "json")
    data = json.loads(done.payload or b"{}")
    respond.may_see(request, _account_of(data))
    if suffix == ".pdf":
        pdf = _render(site, ident, "pdf").payload or b""
        name = done.invoice.replace("/", "_") + ".pdf"
        return Response(
            pdf, media_type="application/pdf", headers={"content-disposition": f'attachment; filename="{name}"'}
        )
    if respond.wants_json(request):
        return Response(done.payload, media_type="application/json", headers={"vary": "Accept"})
    status = _status(site, _account_of(data), done.invoice)
    return respond.page(request, "invoice.html.j2", data, number=done.invoice, status=status)


def _account_of(data: dict) -> str:
    return (data.get("account") or {}).get("account") or ""


def _status(site, account: str, number: str) -> dict | None:
    """The invoice's row of its account's statement: status, what is outstanding, delivery."""
    from cpqctl.app.accounts import account_render

    if not account:
        return None
    done = account_render(site.ws, account=account, fmt="json", output=Path("-"), as_of=site.day())
    rows = json.loads(done.payload or b"{}").get("invoices", [])
    return next((r for r in rows if r["number"] == number), None)


ROUTES = [
    Route("/invoices", invoice_list),
    Route("/invoices.json", invoice_list),
    Route("/invoices/{invoice}", invoice),
]
