"""`cpqctl serve`: a local web view of the repository (docs/portal.md).

A front end over :mod:`cpqctl.app`, as the CLI is: each page is one or two use-case calls on a
:class:`~cpqctl.app.workspace.Workspace`, rendered as HTML (Jinja, Babel through
:mod:`cpqctl.render.fmt`) or returned as the JSON the matching command prints with ``--format json``.
Nothing here reads a repository file itself, and no part of a URL ever becomes a path.

- :mod:`cpqctl.web.app` — :func:`create_app`, the middleware (security headers, allowed hosts, who is
  asking) and the error pages;
- :mod:`cpqctl.web.site` — what every page shares: the workspace, the day, the list cache, rendering;
- :mod:`cpqctl.web.routes` — one module per area (home, accounts, contracts, invoices, quotes, reports).

Starlette and uvicorn are imported only here, never by ``cpqctl --help`` or another command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from cpqctl.app.workspace import Workspace


def create_app(workspace: Workspace, **options) -> Starlette:
    """The ASGI application over ``workspace`` (see :func:`cpqctl.web.app.create_app` for ``options``)."""
    from cpqctl.web.app import create_app as make

    return make(workspace, **options)
