"""The customer portal's pages (docs/portal.md): sign in by link, see what the account owns, change seats and
add-ons with the price shown, sign the amendment, see and download invoices.

Every use case is :mod:`cpqctl.app.portal`'s; this module only decides who is asking and what they sent:

- **Who.** The session cookie (``cpq_portal``: HttpOnly, SameSite=Strict, Secure behind https) names the account
  and the invite; it is checked on every request against the invites file, so a revoked or expired invite ends
  its sessions at once. Every record is looked up for *that* account only: another account's contract, quote or
  invoice is answered exactly as an unknown ID (404), so nothing tells whether it exists.
- **CSRF.** Every form carries the session's random token; a POST without the right one is 403. A POST whose
  ``Origin`` is another site is 403 too.
- **Rate limits** per client address: sign-in 10 a minute, signing 5 a minute, other posts 30 a minute (429).
- **No script.** The pages are plain HTML forms; the price of a change is computed by the server ("Show the
  price"), the same code as `invoice preview --quote`.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from datetime import UTC, datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cpqctl.core.diagnostics import CpqError
from cpqctl.web import respond
from cpqctl.web.site import valid_id

COOKIE = "cpq_portal"
LIMITS = {"sign-in": 10, "sign": 5, "post": 30}  # requests a minute per client address


class RateLimit:
    """At most ``LIMITS[action]`` requests in any 60 seconds per (client address, action)."""

    def __init__(self, window: float = 60.0) -> None:
        self.window = window
        self._hits: dict[tuple[str, str], deque] = {}
        self._lock = threading.Lock()

    def allow(self, who: str, action: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._hits) > 10_000:  # bounded: a flood of addresses forgets the oldest
                self._hits.clear()
            hits = self._hits.setdefault((who, action), deque())
            while hits and now - hits[0] > self.window:
                hits.popleft()
            if len(hits) >= LIMITS[action]:
                return False
            hits.append(now)
            return True


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limit(request: Request, action: str) -> None:
    if not request.app.state.portal_limits.allow(_client(request), action):
        raise HTTPException(429, "too many attempts: wait a minute and try again")


def _settings(request: Request):
    return respond.site(request).ws.read(frozenset()).settings


def _session(request: Request):
    from cpqctl.app import portal

    site = respond.site(request)
    s = portal.session_of(site.ws.root, _settings(request), request.cookies.get(COOKIE), site.day())
    if s is None:
        raise HTTPException(401, "sign in with the link you were sent (it may have expired or been revoked)")
    return s


async def _form(request: Request, action: str):
    """The session and the form of a POST, after the rate limit, the origin and the CSRF token are checked."""
    _limit(request, action)
    s = _session(request)
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        raise HTTPException(403, "this form was sent from another site")
    async with request.form(max_files=0, max_fields=64, max_part_size=4096) as form:
        fields = {k: str(v) for k, v in form.multi_items()}
    if not hmac.compare_digest(fields.get("csrf", ""), s.csrf):
        raise HTTPException(403, "the form has expired: open the page again")
    return s, fields


def _html(request: Request, template: str, status: int = 200, **context) -> Response:
    html = respond.site(request).html(f"portal/{template}", request=request, **context)
    return Response(html, status, media_type="text/html; charset=utf-8")


def _id(request: Request, name: str, suffix: str = "") -> str:
    raw = request.path_params[name]
    if suffix:
        if not raw.endswith(suffix):
            raise HTTPException(404, "no such page")
        raw = raw[: -len(suffix)]
    if not valid_id(raw):
        raise HTTPException(404, "no such page")
    return raw


# --------------------------------------------------------------------------- sign in and out


async def login(request: Request):
    """GET shows the link's page with a button (a link previewer fetching it signs nobody in); POST signs in."""
    from cpqctl.app import portal

    site = respond.site(request)
    if request.method == "GET":
        token = respond.query(request, "t", 400)
        return _html(request, "login.html.j2", token=token)
    _limit(request, "sign-in")
    async with request.form(max_files=0, max_fields=8, max_part_size=1024) as form:
        token = str(form.get("t", ""))
    try:
        _, cookie = portal.sign_in(site.ws.root, _settings(request), token, site.day())
    except CpqError as e:
        if e.code != "E-PORTAL-LINK":
            raise
        return _html(request, "login.html.j2", 403, token="", refused=e.message)
    response = RedirectResponse("/portal/", 303)
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", secure=secure, path="/portal")
    return response


async def logout(request: Request):
    await _form(request, "post")
    response = RedirectResponse("/portal/login", 303)
    response.delete_cookie(COOKIE, path="/portal")
    return response


# --------------------------------------------------------------------------- pages


def home(request: Request):
    """What the account owns per contract, its invoices, the quotes waiting for its signature."""
    from cpqctl.app import portal

    s = _session(request)
    site = respond.site(request)
    shown = portal.overview(site.ws, s.account, as_of=site.day())
    if respond.wants_json(request):
        return respond.json_response(_overview_json(shown))
    return _html(request, "home.html.j2", o=shown, csrf=s.csrf, note=respond.query(request, "signed", 64))


def _overview_json(o) -> dict:
    return {
        "account": o.account,
        "name": o.name,
        "currency": o.currency,
        "next_renewal": o.next_renewal,
        "contracts": [
            {
                "contract": c.contract,
                "status": c.status,
                "start": c.start,
                "end": c.end,
                "items": [
                    {"product": i.product, "name": i.name, "quantity": str(i.quantity), "addon": i.addon}
                    for i in c.items
                ],
            }
            for c in o.contracts
        ],
        "invoices": list(o.invoices),
        "quotes": list(o.quotes),
    }


def _contract_view(request: Request, account: str, contract: str):
    from cpqctl.app import portal

    site = respond.site(request)
    shown = portal.overview(site.ws, account, as_of=site.day())
    view = next((c for c in shown.contracts if c.contract == contract), None)
    if view is None:
        raise HTTPException(404, "no such page")
    return shown, view


async def change(request: Request):
    """GET: the form (quantities, add-ons). POST: ``action=price`` shows the price of the change; ``action=offer``
    writes the amendment quote and its document and goes to it."""
    from cpqctl.app import portal

    site = respond.site(request)
    contract = _id(request, "contract")
    if request.method == "GET":
        s = _session(request)
        shown, view = _contract_view(request, s.account, contract)
        return _html(request, "change.html.j2", o=shown, c=view, csrf=s.csrf, wanted={}, price=None, refused=None)
    s, fields = await _form(request, "post")
    shown, view = _contract_view(request, s.account, contract)
    wanted = _wanted(view, fields)
    try:
        if fields.get("action") == "offer":
            offered = portal.offer_change(site.ws, s.account, contract, wanted, as_of=site.day())
            return RedirectResponse(f"/portal/quotes/{offered.quote}", 303)
        if fields.get("action") == "request":
            asked = portal.request_change(site.ws, s.account, contract, wanted, as_of=site.day())
            return _html(request, "requested.html.j2", o=shown, c=view, asked=asked)
        price = portal.price_change(site.ws, s.account, contract, wanted, as_of=site.day())
    except CpqError as e:
        if not e.code.startswith(("E-PORTAL-", "E-NO-CHANGE")):
            raise
        return _html(request, "change.html.j2", 422, o=shown, c=view, csrf=s.csrf, wanted=wanted, price=None, refused=e)
    return _html(request, "change.html.j2", o=shown, c=view, csrf=s.csrf, wanted=wanted, price=price, refused=None)


def _wanted(view, fields: dict[str, str]) -> dict[str, str]:
    """The quantities the form asks for: ``q:PRODUCT`` fields (licences) and ``on:PRODUCT`` checkboxes (add-ons) of
    the products the page offered; any other field is ignored, a changed quantity of one not offered is refused
    by the use case."""
    wanted: dict[str, str] = {}
    for item in view.items:
        if item.addon:
            wanted[item.product] = "1" if fields.get(f"on:{item.product}") else "0"
        elif f"q:{item.product}" in fields:
            wanted[item.product] = fields[f"q:{item.product}"]
    for key, value in fields.items():  # a product the page did not offer: the use case refuses a change of it
        if key.startswith("q:") and key[2:] not in wanted:
            wanted[key[2:]] = value
    return {k: v for k, v in wanted.items() if not _same(view, k, v)}


def _same(view, product: str, text: str) -> bool:
    item = next((i for i in view.items if i.product == product), None)
    return item is not None and text.strip() == format(item.quantity, "f")


def quote(request: Request):
    """An amendment quote waiting for the signature: what it changes and costs, its document, the signing form."""
    from cpqctl.app import portal

    s = _session(request)
    site = respond.site(request)
    ident = _id(request, "quote")
    try:
        q, preview, digest, consent = portal.offered_quote(site.ws, s.account, ident, as_of=site.day())
    except CpqError as e:
        if e.code != "E-ACCEPTED":
            raise
        return RedirectResponse(f"/portal/?signed={ident}", 303)  # signed already (a page kept open, a reload)
    return _html(
        request,
        "quote.html.j2",
        q=q,
        preview=preview,
        digest=digest,
        csrf=s.csrf,
        consent=consent,
        refused=None,
    )


def quote_pdf(request: Request):
    from cpqctl.app import portal

    s = _session(request)
    site = respond.site(request)
    ident = _id(request, "quote")  # the route took ".pdf" off
    q = portal.own_quote(site.ws, s.account, ident)
    path = site.ws.root / "out" / f"{q.quote}.pdf"
    try:
        payload = path.read_bytes()
    except OSError:
        raise HTTPException(404, "no such page") from None
    return Response(
        payload, media_type="application/pdf", headers={"content-disposition": f'inline; filename="{q.quote}.pdf"'}
    )


async def sign(request: Request):
    """Sign: accept the quote with the signature record, provision, issue and e-mail the invoice."""
    from cpqctl.app import portal

    site = respond.site(request)
    ident = _id(request, "quote")
    s, fields = await _form(request, "sign")
    now = request.app.state.portal_now()
    try:
        done = portal.sign(
            site.ws,
            s.account,
            ident,
            name=fields.get("name", ""),
            consent=fields.get("consent") == "yes",
            document=fields.get("document", ""),
            ip=_client(request),
            user_agent=request.headers.get("user-agent", ""),
            at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            as_of=site.day(),
        )
    except CpqError as e:
        if e.code == "E-ACCEPTED":  # a second click on "Sign": the first one signed it
            return RedirectResponse(f"/portal/?signed={ident}", 303)
        if not e.code.startswith(("E-PORTAL-", "E-DOCUMENT-")):
            raise
        q, preview, digest, consent = portal.offered_quote(site.ws, s.account, ident, as_of=site.day())
        return _html(
            request, "quote.html.j2", 422, q=q, preview=preview, digest=digest, csrf=s.csrf, consent=consent, refused=e
        )
    if respond.wants_json(request):
        return respond.json_response(done.data)
    return _html(request, "signed.html.j2", done=done)


def invoice_pdf(request: Request):
    """An invoice of the account's, as kept at issue (`invoice render`, checked against its digest)."""
    from pathlib import Path

    from cpqctl.app import portal
    from cpqctl.app.einvoicing import render_invoice

    s = _session(request)
    site = respond.site(request)
    stem = _id(request, "number", ".pdf")
    number = portal.invoice_of(site.ws, s.account, stem)
    if number is None:
        raise HTTPException(404, "no such page")
    out = render_invoice(site.ws, number, "pdf", Path("-"))
    return Response(
        out.payload, media_type="application/pdf", headers={"content-disposition": f'inline; filename="{stem}.pdf"'}
    )


def root(request: Request):
    return RedirectResponse("/portal/", 303)


def now_utc() -> datetime:
    return datetime.now(UTC)


ROUTES = [
    Route("/portal", root),
    Route("/portal/login", login, methods=["GET", "POST"]),
    Route("/portal/logout", logout, methods=["POST"]),
    Route("/portal/", home),
    Route("/portal/account.json", home),
    Route("/portal/contracts/{contract}/change", change, methods=["GET", "POST"]),
    Route("/portal/quotes/{quote}.pdf", quote_pdf),
    Route("/portal/quotes/{quote}/sign", sign, methods=["POST"]),
    Route("/portal/quotes/{quote}", quote),
    Route("/portal/invoices/{number}", invoice_pdf),
]
