"""The team's reports: the renewals calendar, the board (its two SVG charts), `check`'s findings."""

from __future__ import annotations

from itertools import groupby

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cpqctl.web import respond
from cpqctl.web.routes import lists
from cpqctl.web.site import paged

WINDOWS = (30, 90, 180, 365, 730)  # the renewal windows offered (each is cached on its own: a short list)


def renewals(request: Request):
    """`renewals [--within N] --format json`; the page groups the contracts by the month they end."""
    site = respond.site(request)
    text = respond.query(request, "within", 4)
    within = int(text) if text.isdigit() else None
    if text and within not in WINDOWS:
        raise HTTPException(400, f"within is one of {', '.join(map(str, WINDOWS))}")
    due = lists.renewals(site, within)
    rows = list(due.rows)
    months = [(m, list(rows)) for m, rows in groupby(sorted(rows, key=lambda r: r["end"]), lambda r: r["end"][:7])]
    data = due.data(rows)
    return respond.page(request, "renewals.html.j2", data, months=months, windows=WINDOWS, within=due.within)


def board(request: Request):
    """`report board --format json` (12 months to the day), with the ARR and movements charts."""
    site = respond.site(request)
    return respond.page(request, "board.html.j2", lists.board(site).data)


def chart(request: Request):
    """The board's charts as `report board --format md` writes them: ``arr.svg`` and ``movements.svg``."""
    from cpqctl.render import charts, fmt

    site = respond.site(request)
    b = lists.board(site).board
    which = request.path_params["chart"]
    if which == "arr":
        svg = charts.arr_chart_svg([(m.end, m.arr) for m in b.months], b.currency, site.locale)
    elif which == "movements":
        when = lambda d: fmt.date(d, site.locale)  # noqa: E731
        svg = charts.movements_chart_svg(
            b.mrr_start, b.waterfall, b.mrr_end, b.currency, site.locale, when(b.opening), when(b.as_of)
        )
    else:
        raise HTTPException(404, "no such chart")
    return Response(svg, media_type="image/svg+xml")


def check(request: Request):
    """`check --format json`: every finding of the loader and the cross-file checks."""
    site = respond.site(request)
    found = lists.check(site)
    if respond.wants_json(request):
        return respond.json_streamed(found.head, found.key, found.rows)  # 114,000 warnings at 50,000 accounts
    page = paged(found.rows, respond.query(request, "page", 8))  # thousands of warnings: 50 a page
    data = found.data(page.rows)
    return respond.page(request, "check.html.j2", data, errors=found.errors, warnings=found.warnings, page=page)


ROUTES = [
    Route("/renewals", renewals),
    Route("/renewals.json", renewals),
    Route("/board", board),
    Route("/board.json", board),
    Route("/board/{chart}.svg", chart),
    Route("/check", check),
    Route("/check.json", check),
]
