"""HTML or JSON: every page answers both, and how an ID is taken from a URL.

JSON is given for a path ending in ``.json`` (``/accounts/acme.json``, ``/invoices.json``) or a request
whose ``Accept`` prefers ``application/json`` to ``text/html``; its bytes are what the matching command
prints with ``--format json`` (:func:`cpqctl.render.output.dumps_json`), so a script can switch between
the two freely.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from cpqctl.web.site import Site, valid_id

SUFFIXES = (".json", ".pdf", ".svg")


def wants_json(request: Request) -> bool:
    if request.url.path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def site(request: Request) -> Site:
    return request.app.state.site


def record_id(request: Request, name: str, suffixes: tuple[str, ...] = (".json",)) -> tuple[str, str]:
    """The ID in path parameter ``name`` and its suffix (``""``, ``.json`` …); not an ID: 404.

    Only an ID by the loader's rule goes on (see :mod:`cpqctl.web.site`); a suffix the page does not
    offer is a 404 too.
    """
    raw = request.path_params[name]
    suffix = next((s for s in SUFFIXES if raw.endswith(s)), "")
    ident = raw[: -len(suffix)] if suffix else raw
    if suffix and suffix not in suffixes:
        raise HTTPException(404, "no such page")
    if not valid_id(ident):
        raise HTTPException(404, f"not an ID: {ident[:40]!r}")
    return ident, suffix


def may_see(request: Request, account: str) -> None:
    """Refuse (404, as for an unknown ID: nothing is told) a record of an account the viewer may not see."""
    if not request.state.viewer.may_see(account):
        raise HTTPException(404, "no such page")


def known(request: Request, kind: str, key: str, ident: str) -> None:
    """404 at once for an ID the cached list ``kind`` does not hold (:meth:`Site.unknown`)."""
    if site(request).unknown(kind, key, ident):
        from cpqctl.core.diagnostics import UsageError

        raise UsageError(f"E-UNKNOWN-{key.upper()}", f"unknown {key} `{ident}`", f"the {kind} page lists every one")


def json_response(data) -> Response:
    from cpqctl.render.output import dumps_json

    return Response(dumps_json(data), media_type="application/json", headers={"vary": "Accept"})


def json_streamed(head: dict, key: str, rows: Iterable[dict]) -> Response:
    """:func:`json_response` of ``{**head, key: rows}`` (the same bytes), each row encoded as it is sent: a list
    of a hundred thousand rows is never a document in memory (:func:`cpqctl.formats.jsonstream.json_lists`)."""
    from starlette.responses import StreamingResponse

    from cpqctl.formats.jsonstream import json_lists

    def chunks():
        for chunk in json_lists({k: v for k, v in head.items() if k != key}, [(key, rows)]):
            yield chunk.encode()
        yield b"\n"

    return StreamingResponse(chunks(), media_type="application/json", headers={"vary": "Accept"})


def page(request: Request, template: str, data, **context) -> Response:
    """``data`` as JSON when asked for, else ``template`` rendered with ``data`` and ``context``."""
    if wants_json(request):
        return json_response(data)
    html = site(request).html(template, data=data, request=request, **context)
    return Response(html, media_type="text/html; charset=utf-8", headers={"vary": "Accept"})


def query(request: Request, name: str, limit: int = 100) -> str:
    """A query parameter's text (empty when absent); longer than ``limit`` or holding a control character: 400."""
    value = request.query_params.get(name, "")
    if len(value) > limit or any(ord(ch) < 32 for ch in value):
        raise HTTPException(400, f"bad {name}")
    return value
