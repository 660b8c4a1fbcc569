"""The team's view of the customer portal: the sign-in links issued and what customers did (signed, asked for),
with what could not be done for them — `cpqctl portal list` and `cpqctl portal log` as a page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from cpqctl.web import respond


def activity(request: Request):
    """`portal list --format json` (the invites, no link: a link is a secret) and `portal log --format json`."""
    from cpqctl.app import portal, provisioning

    site = respond.site(request)
    day = site.day()
    invites = [i.json() | {"valid": i.valid_on(day)} for i in portal.read_invites(site.ws.root)]
    data = {
        "invites": invites,
        "log": list(reversed(portal.read_log(site.ws.root))),
        "provisioning": provisioning.pending(site.ws),
    }
    return respond.page(request, "activity.html.j2", data)


ROUTES = [Route("/portal-activity", activity), Route("/portal-activity.json", activity)]
