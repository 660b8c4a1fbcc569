"""The whole-repository lists the pages share, each computed once per state of the repository
(:class:`cpqctl.web.site.ListCache`): the same use-case calls as `account list`, `invoice list`,
`quote list`, `contract list`, `renewals`, `report board` and `check`.

Each list is kept packed (:class:`Packed`, :class:`cpqctl.views.rows.Rows`): the rows as compact JSON in an unnamed
temporary file (:meth:`Site.blob`), and in memory only the columns the pages filter, count and look IDs up by. At
50,000 accounts billed for a year the rows as the use cases give them are 0.6 GB; packed, 140 MB on disk and 30 MB in
memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from cpqctl.views.rows import Packer, Rows
from cpqctl.web.site import Site


@dataclass(frozen=True)
class Packed:
    """A list kept for the pages: ``head`` its `--format json` document with ``key`` (the rows' place) None,
    ``rows`` packed; ``within`` (renewals), ``errors`` and ``warnings`` (check) when the list has them."""

    key: str
    head: dict
    rows: Rows
    within: int = 0
    errors: int = 0
    warnings: int = 0

    def data(self, rows) -> dict:
        """The JSON document with ``rows`` (a page of them, or all) in the rows' place."""
        return {**self.head, self.key: rows}


def _packed(key: str, data: dict, rows: Rows, **facts) -> Packed:
    return Packed(key, {**data, key: None}, rows, **facts)


def accounts(site: Site) -> Packed:
    from cpqctl.app.listing import list_accounts

    day = site.day()

    def compute() -> Packed:
        done = list_accounts(site.ws, as_of=day)
        return _packed("accounts", done.data, Rows.of(done.rows, ("account", "name", "status"), site.blob()))

    return site.cached(("accounts", day), compute)


def contracts(site: Site) -> Packed:
    """`contract list`: only to answer an unknown contract ID at once (:meth:`Site.unknown`)."""
    from cpqctl.app.listing import list_contracts

    day = site.day()

    def compute() -> Packed:
        done = list_contracts(site.ws, as_of=day)
        return _packed("contracts", done.data, Rows.of(done.rows, ("contract",), site.blob()))

    return site.cached(("contracts", day), compute)


def invoices(site: Site) -> Packed:
    from cpqctl.app.listing import list_invoices

    day = site.day()

    def compute() -> Packed:
        done = list_invoices(site.ws, as_of=day, packed=Packer(("invoice", "status", "account"), site.blob()))
        assert isinstance(done.rows, Rows)
        return _packed("invoices", done.data, done.rows)

    return site.cached(("invoices", day), compute)


def quotes(site: Site) -> Packed:
    from cpqctl.app.listing import list_quotes

    day = site.day()

    def compute() -> Packed:
        done = list_quotes(site.ws, as_of=day)
        return _packed("quotes", done.data, Rows.of(done.rows, ("quote", "status"), site.blob()))

    return site.cached(("quotes", day), compute)


WIDEST = 730  # the widest window the renewals page offers (cpqctl.web.routes.reports.WINDOWS)


def renewals(site: Site, within: int | None) -> Packed:
    """`renewals [--within N]`, every window from one list: the contracts ending within the widest window (or
    cpq.toml's notice, when longer), each window's those ending by its last day (`renewals` lists a contract when
    it ends between as_of and as_of + N days, ordered by its end: a window's list is the widest's beginning). One
    whole model of the contracts and quotes for every window, not one each."""
    from datetime import timedelta

    from cpqctl.app.renew import renewals_due

    day = site.day()

    def compute() -> Packed:
        notice = site.ws.load(frozenset())[0].settings.notice_days  # cpq.toml only
        done = renewals_due(site.ws, within=max(WIDEST, notice), as_of=day)
        rows = Rows.of(done.rows, ("end",), site.blob())
        return _packed("rows", done.data, rows, within=notice)

    wide = site.cached(("renewals", day), compute)
    window = wide.within if within is None else within
    last = (day + timedelta(days=window)).isoformat()
    rows = wide.rows.where(lambda end: end <= last, "end")
    return Packed("rows", {**wide.head, "within": window}, rows, within=window)


def board(site: Site):
    """`report board`: its JSON, and the board without each account's movements (the charts draw the months)."""
    from dataclasses import replace
    from typing import cast

    from cpqctl.app import reports
    from cpqctl.core.board import Board

    day = site.day()

    def compute():
        done = reports.board(site.ws, as_of=day)
        b = cast(Board, done.board)
        months = tuple(replace(m, movements=replace(m.movements, rows=())) for m in b.months)
        return replace(done, board=replace(b, months=months, period=replace(b.period, rows=())))

    return site.cached(("board", day), compute)


def check(site: Site) -> Packed:
    from cpqctl.app.checking import check as run

    def compute() -> Packed:
        done = run(site.ws)
        rows = Rows.of((d.as_json() for d in done.diagnostics), (), site.blob())
        return _packed("diagnostics", {}, rows, errors=done.errors, warnings=done.warnings)

    return site.cached(("check",), compute)


def home(site: Site, with_contracts: bool = False, tolerant: bool = False) -> dict:
    """The lists the home page shows (``with_contracts``: and the contract list, which the server's start computes
    too), the largest computations first, before other lists are kept: `check` (remembered, or after a change in
    parts), quotes and renewals, each from a whole model of catalog, accounts, contracts and quotes (0.25 GB at
    50,000 accounts), then the board, accounts, contracts and invoices a part of whole accounts at a time.
    ``tolerant``: a list the repository cannot give (a :class:`~cpqctl.core.diagnostics.CpqError`) is left out and
    the others are computed (its page shows the refusal); else it is raised."""
    from cpqctl.core.diagnostics import CpqError

    steps = [
        ("check", check),  # remembered; after a change computed in parts (0.3 GB at 50,000 accounts), nothing kept yet
        ("quotes", quotes),
        ("renewals", lambda s: renewals(s, None)),
        ("board", board),
        ("accounts", accounts),
        *((("contracts", contracts),) if with_contracts else ()),
        ("invoices", invoices),
    ]
    out: dict = {}
    for name, compute in steps:
        try:
            out[name] = compute(site)
        except CpqError:
            if not tolerant:
                raise
    return out
