"""Reading what a customer owns: `contract show`, `account show`, `account render`, `catalog list|show`.

The shows work on what loads, errors or not (a quick look at a repository
being fixed still answers); the statement rendered for a customer is refused
on a repository with loader errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cpqctl.app.workspace import Workspace, lookup
from cpqctl.core.model import Account, Contract, Repo


def find_contract(repo: Repo, contract_id: str) -> Contract:
    """The contract, or E-UNKNOWN-CONTRACT naming the closest ID."""
    return lookup(
        repo.contracts,
        contract_id,
        "contract",
        "E-UNKNOWN-CONTRACT",
        "`cpqctl account show ACCOUNT` lists its contracts",
    )


def find_account(repo: Repo, account_id: str) -> Account:
    """The account, or E-UNKNOWN-ACCOUNT naming the closest ID."""
    return lookup(
        repo.accounts, account_id, "account", "E-UNKNOWN-ACCOUNT", "accounts are the folders under contracts/"
    )


@dataclass(frozen=True)
class ContractShow:
    """A contract on ``as_of``: ``data`` is `contract show --format json`, ``rows`` what it owns."""

    contract: Contract
    as_of: date
    data: dict
    rows: list


def contract_show(ws: Workspace, *, contract: str, as_of: date | None = None) -> ContractShow:
    """Status, term, what is owned (the sum of its segments), MRR and ARR of one contract on ``as_of``."""
    from cpqctl.views import accounts as views

    day = ws.day(as_of)
    repo, _ = ws.one_contract(contract)  # its account's files only (flat with repository size)
    c = find_contract(repo, contract)
    data = views.contract_view(repo, c, day)
    return ContractShow(c, day, data, views.contract_rows(data))


@dataclass(frozen=True)
class AccountShow:
    """A customer on ``as_of``: ``data`` is `account show --format json` (contracts, owned, bundles, MRR/ARR)."""

    account: Account
    as_of: date
    data: dict


def account_show(ws: Workspace, *, account: str, as_of: date | None = None) -> AccountShow:
    """What a customer owns on ``as_of``: contracts, products, bundle add-ons on/off, MRR/ARR, next renewal."""
    from cpqctl.views import accounts as views

    day = ws.day(as_of)
    repo, _ = ws.account_context(account)  # its folder only (flat with repository size)
    a = find_account(repo, account)
    return AccountShow(a, day, views.account_view(repo, account, day))


@dataclass(frozen=True)
class Rendered:
    """The document written (None with ``output`` ``-``: its bytes are ``payload``, for the caller to print) and the
    line saying so."""

    path: Path | None
    message: str
    payload: bytes | None = None


def account_render(
    ws: Workspace, *, account: str, fmt: str = "pdf", output: Path | None = None, as_of: date | None = None
) -> Rendered:
    """The account statement as Markdown or PDF (default out/<ACCOUNT>.<ext>; ``-``: the bytes in
    ``payload``, written nowhere)."""
    from cpqctl.app.documents import write_document
    from cpqctl.app.workspace import require_clean
    from cpqctl.views import documents

    day = ws.day(as_of)
    repo, diags = ws.account_context(account, invoices=True)  # its folder and its invoices only
    require_clean(diags)
    find_account(repo, account)
    data = documents.account_data(repo, account, day)
    doc = write_document(ws.root, "account", account, fmt, data, output, day)
    return Rendered(doc.path, f"wrote {doc.path}" if doc.path else "", doc.payload)


@dataclass(frozen=True)
class CatalogView:
    """``data`` is the JSON shape, ``rows`` the table's rows."""

    data: dict
    rows: list
    title: str


def catalog_list(
    ws: Workspace, *, families: Iterable[str] = (), type_: str | None = None, currency: str | None = None
) -> CatalogView:
    """Every product, by code, with its type, period, pricing and list prices; ``families`` (any of them, by
    name, ignoring case), ``type_`` and ``currency`` (a list price in it) narrow the list. An unknown family is
    refused naming the closest one."""
    from cpqctl.views import catalog as views

    repo = ws.catalog()
    known = {p.family.casefold(): p.family for p in repo.catalog.products.values() if p.family}
    wanted = set()
    for f in families:
        wanted.add(lookup(known, f.casefold(), "family", "E-UNKNOWN-FAMILY", "`cpqctl catalog list` shows them"))
    cur = currency.upper() if currency else None
    rows = [
        r
        for r in views.product_rows(repo.catalog)
        if (not wanted or r["family"] in wanted)
        and (type_ is None or r["type"] == type_)
        and (cur is None or cur in repo.catalog.products[r["code"]].price)
    ]
    return CatalogView(views.catalog_view(repo.catalog, rows), rows, "Catalog")


def catalog_show(ws: Workspace, *, code: str) -> CatalogView:
    """One product: prices, discount schedule tiers, blocks, options, constraints (E-UNKNOWN-PRODUCT if none)."""
    from cpqctl.views import catalog as views

    repo = ws.catalog()
    p = lookup(repo.catalog.products, code, "product", "E-UNKNOWN-PRODUCT", "`cpqctl catalog list` shows every product")
    data = views.product_view(repo.catalog, p)
    return CatalogView(data, views.field_rows(data), f"{p.code} — {p.name}")
