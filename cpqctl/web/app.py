"""The ASGI application of `cpqctl serve`: routes, middleware, error pages.

Middleware, outermost first:

1. :class:`SecurityHeaders` — on every response, errors included: a Content-Security-Policy that allows
   only this origin's stylesheet and images (no script at all in this slice, no inline style, no
   framing, no form posting elsewhere), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
   no-referrer``, ``X-Frame-Options: DENY``, and ``Cache-Control: no-store`` on pages (they hold
   customer data; the static files may be cached).
2. Starlette's ``TrustedHostMiddleware`` — only requests naming an allowed host (by default the loopback
   names and the host bound): a web page elsewhere cannot point a DNS name at 127.0.0.1 and read the view
   from the visitor's browser (DNS rebinding).
3. :class:`Viewers` — the seam where who is asking is decided: ``request.state.viewer``. This slice has
   one kind, the team (everything, read-only), which anyone who can reach the loopback port is. The
   customer portal adds a signed-link sign-in here, and every route already asks
   :meth:`Viewer.may_see` before it shows an account's data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError, InvalidRepository, UsageError
from cpqctl.web.site import Site

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")

# script-src 'self': the one script is the vendored htmx of the portal's live price (static/htmx.min.js); no inline
# script, no eval (its config turns eval off), no inline style
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


class SecurityHeaders:
    """The security headers on every response (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {HEADERS[i][0] for i in range(len(HEADERS))}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                extra = [] if static else [(b"cache-control", b"no-store")]
                message["headers"] = [*kept, *HEADERS, *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


@dataclass(frozen=True)
class Viewer:
    """Who is asking. ``account`` None: the team (every account); else one customer's account only."""

    kind: str = "team"
    account: str | None = None

    def may_see(self, account: str) -> bool:
        return self.account is None or self.account == account


TEAM = Viewer()
Authenticate = Callable[[Request], "Viewer | None"]


def team(_: Request) -> Viewer:
    """This slice's sign-in: whoever reaches the (loopback) port is the team, read-only."""
    return TEAM


class Viewers:
    """Sets ``request.state.viewer`` from ``authenticate``; None from it is a 401 (the seam for the portal)."""

    def __init__(self, app: ASGIApp, authenticate: Authenticate = team) -> None:
        self.app = app
        self.authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("path", "").startswith("/static/"):
            viewer = self.authenticate(Request(scope))
            if viewer is None:
                await Response("sign-in required\n", 401, media_type="text/plain")(scope, receive, send)
                return
            scope.setdefault("state", {})["viewer"] = viewer
        await self.app(scope, receive, send)


# --------------------------------------------------------------------------- errors


def _status(e: CpqError) -> int:
    if e.code.startswith("E-UNKNOWN-"):
        return 404
    if isinstance(e, InvalidRepository):
        return 503  # the repository has errors: `cpqctl check` lists them
    if isinstance(e, UsageError):
        return 400
    return 409  # a business rule refused it (a stale or accepted quote…): the request conflicts with the data


def error_page(request: Request, status: int, code: str, message: str, hint: str = "") -> Response:
    from cpqctl.web.respond import wants_json

    site: Site = request.app.state.site
    if wants_json(request):
        from cpqctl.render.diagnostics import error_object
        from cpqctl.render.output import dumps_json

        body = dumps_json(error_object(code, message, hint))
        return Response(body, status, media_type="application/json")
    template = "portal/error.html.j2" if request.url.path.startswith("/portal") else "error.html.j2"
    html = site.html(template, status=status, code=code, message=message, hint=hint)
    return Response(html, status, media_type="text/html; charset=utf-8")


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CpqError)
    return error_page(request, _status(exc), exc.code, exc.message, exc.hint or "")


async def _http_error(request: Request, exc: Exception) -> Response:
    from starlette.exceptions import HTTPException

    assert isinstance(exc, HTTPException)
    messages = {404: "no such page", 400: "bad request", 405: "method not allowed"}
    return error_page(
        request, exc.status_code, f"HTTP-{exc.status_code}", exc.detail or messages.get(exc.status_code, "")
    )


# --------------------------------------------------------------------------- the app


def create_app(
    workspace: Workspace,
    *,
    clock: Callable[[], date] | None = None,
    allowed_hosts: Sequence[str] = LOOPBACK_NAMES,
    authenticate: Authenticate = team,
    portal_only: bool = False,
    now: Callable[[], datetime] | None = None,
) -> Starlette:
    """The web view of ``workspace``.

    ``clock``: the day of each request (the CLI passes ``date.today`` when no ``--as-of`` is given);
    without one every page is on the workspace's ``as_of``. ``allowed_hosts``: the Host header values
    served (``*`` for any). ``authenticate``: who is asking (see :class:`Viewers`). ``portal_only``: serve the
    customer portal (:mod:`cpqctl.web.portal`) and nothing of the team view; without it both are served.
    ``now``: the clock of signature records (default: the system's, in UTC).
    """
    from importlib.resources import files

    from starlette.exceptions import HTTPException

    from cpqctl.web import portal
    from cpqctl.web.routes import accounts, activity, contracts, home, invoices, quotes, reports

    team_pages = [*home.ROUTES, *accounts.ROUTES, *contracts.ROUTES, *invoices.ROUTES, *quotes.ROUTES, *reports.ROUTES]
    team_pages += activity.ROUTES
    pages = [*portal.ROUTES, *([Route("/", portal.root)] if portal_only else team_pages)]
    static = StaticFiles(directory=str(files("cpqctl.web") / "static"))
    app = Starlette(
        routes=[*pages, Mount("/static", static, name="static")],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)),
            Middleware(Viewers, authenticate=authenticate),
        ],
        exception_handlers={CpqError: _refused, HTTPException: _http_error},
    )
    app.state.site = Site(workspace, clock)
    app.state.portal_limits = portal.RateLimit()
    app.state.portal_now = now or portal.now_utc
    return app


def warm(app: Starlette) -> None:
    """Compute the whole-repository lists the home page needs (and the contracts, to answer an unknown contract
    ID at once), so the first visitor does not wait for them (the CLI runs it in a background thread once
    listening). A refusal is left for the page to show."""
    from cpqctl.web.routes import lists

    lists.home(app.state.site, with_contracts=True, tolerant=True)
