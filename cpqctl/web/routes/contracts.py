"""One contract: its state on the day and the amendment timeline (signed, each amendment, cancellation, end,
renewal)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from cpqctl.web import respond


def timeline(data: dict) -> list[dict]:
    """The contract's events by date: start, each amendment (with its quote), a cancellation, the end."""
    events = [{"date": data["start"], "what": "start", "quote": None, "detail": f"billed {data['billing']}"}]
    for a in data["amendments"]:
        detail = f"{a['lines']} line(s)"
        if a["end"]:
            detail += f", term to {a['end']}"
        if a["cancelled"]:
            detail = "cancellation"
        events.append({"date": a["effective"], "what": a["amendment"], "quote": a["quote"], "detail": detail})
    if data["cancelled"]:
        c = data["cancelled"]
        events.append({"date": c["date"], "what": "cancelled", "quote": None, "detail": c["reason"] or ""})
    if data["end"]:
        successor = data["renewed_by"]
        events.append(
            {
                "date": data["end"],
                "what": "end",
                "quote": None,
                "detail": f"renewed by {successor}" if successor else "",
            }
        )
    return sorted(events, key=lambda e: e["date"])


def contract(request: Request):
    """`contract show CONTRACT --format json`."""
    from cpqctl.app.accounts import contract_show

    site = respond.site(request)
    ident, _ = respond.record_id(request, "contract")
    respond.known(request, "contracts", "contract", ident)
    shown = contract_show(site.ws, contract=ident, as_of=site.day())
    respond.may_see(request, shown.contract.account)
    return respond.page(request, "contract.html.j2", shown.data, events=timeline(shown.data))


ROUTES = [Route("/contracts/{contract}", contract)]
