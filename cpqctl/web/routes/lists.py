"""The whole-repository lists the pages share, each computed once per state of the repository
(:class:`cpqctl.web.site.ListCache`): the same use-case calls as `account list`, `invoice list`,
`quote list`, `contract list`, `renewals`, `report board` and `check`.

Each list is kept packed (:class:`Packed`, :class:`cpqctl.views.rows.Rows`): the rows as compact JSON, and only the
columns the pages filter, count and look IDs up by as values. At 50,000 accounts billed for a year the rows as the
use cases give them are 0.6 GB; packed, about a tenth.
"""

from __future__ import annotations

from dataclasses import dataclass

from cpqctl.views.rows import Rows
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
        return _packed("accounts", done.data, Rows.of(done.rows, ("account", "name", "status")))

    return site.cached(("accounts", day), compute)


def contracts(site: Site) -> Packed:
    """`contract list`: only to answer an unknown contract ID at once (:meth:`Site.unknown`)."""
    from cpqctl.app.listing import list_contracts

    day = site.day()

    def compute() -> Packed:
        done = list_contracts(site.ws, as_of=day)
        return _packed("contracts", done.data, Rows.of(done.rows, ("contract",)))

    return site.cached(("contracts", day), compute)


def invoices(site: Site) -> Packed:
    from cpqctl.app.listing import list_invoices

    day = site.day()

    def compute() -> Packed:
        done = list_invoices(site.ws, as_of=day, packed=("status", "account"))
        assert isinstance(done.rows, Rows)
        return _packed("invoices", done.data, done.rows)

    return site.cached(("invoices", day), compute)


def quotes(site: Site) -> Packed:
    from cpqctl.app.listing import list_quotes

    day = site.day()

    def compute() -> Packed:
        done = list_quotes(site.ws, as_of=day)
        return _packed("quotes", done.data, Rows.of(done.rows, ("quote", "status")))

    return site.cached(("quotes", day), compute)


def renewals(site: Site, within: int | None) -> Packed:
    from cpqctl.app.renew import renewals_due

    day = site.day()

    def compute() -> Packed:
        done = renewals_due(site.ws, within=within, as_of=day)
        return _packed("rows", done.data, Rows.of(done.rows), within=done.within)

    return site.cached(("renewals", day, within), compute)


def board(site: Site):
    from cpqctl.app import reports

    day = site.day()
    return site.cached(("board", day), lambda: reports.board(site.ws, as_of=day))


def check(site: Site) -> Packed:
    from cpqctl.app.checking import check as run

    def compute() -> Packed:
        done = run(site.ws)
        rows = Rows.of(d.as_json() for d in done.diagnostics)
        return _packed("diagnostics", {}, rows, errors=done.errors, warnings=done.warnings)

    return site.cached(("check",), compute)
