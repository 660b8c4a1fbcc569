"""The whole-repository lists the pages share, each computed once per state of the repository
(:class:`cpqctl.web.site.ListCache`): the same use-case calls as `account list`, `invoice list`,
`quote list`, `contract list`, `renewals`, `report board` and `check`."""

from __future__ import annotations

from cpqctl.web.site import Site


def accounts(site: Site):
    from cpqctl.app.listing import list_accounts

    day = site.day()
    return site.cached(("accounts", day), lambda: list_accounts(site.ws, as_of=day))


def contracts(site: Site):
    """`contract list`: only to answer an unknown contract ID at once (:meth:`Site.unknown`)."""
    from cpqctl.app.listing import list_contracts

    day = site.day()
    return site.cached(("contracts", day), lambda: list_contracts(site.ws, as_of=day))


def invoices(site: Site):
    from cpqctl.app.listing import list_invoices

    day = site.day()
    return site.cached(("invoices", day), lambda: list_invoices(site.ws, as_of=day))


def quotes(site: Site):
    from cpqctl.app.listing import list_quotes

    day = site.day()
    return site.cached(("quotes", day), lambda: list_quotes(site.ws, as_of=day))


def renewals(site: Site, within: int | None):
    from cpqctl.app.renew import renewals_due

    day = site.day()
    return site.cached(("renewals", day, within), lambda: renewals_due(site.ws, within=within, as_of=day))


def board(site: Site):
    from cpqctl.app import reports

    day = site.day()
    return site.cached(("board", day), lambda: reports.board(site.ws, as_of=day))


def check(site: Site):
    from cpqctl.app.checking import check as run

    return site.cached(("check",), lambda: run(site.ws))
