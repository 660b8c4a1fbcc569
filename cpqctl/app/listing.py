"""Listing what a repository holds: `quote list`, `contract list`, `account list`, `invoice list`.

Each list is sorted by ID (numbers inside an ID by value: Q-2026-9999 before
Q-2026-10000) and filtered on what its show command computes: a
quote's status is :func:`cpqctl.core.quotes.quote_status` on ``as_of`` (drafts
priced from today's catalog, as `quote show` prices them), a contract's is
:func:`cpqctl.core.ledger.status`, an account's MRR/ARR are `account show`'s.
Only the kinds of files a list needs are loaded; a repository with loader
errors is refused. An unknown ``account`` (or ``contract``) filter is refused
naming the closest ID, as the show commands refuse it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from cpqctl.app.accounts import find_account, find_contract
from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import UsageError

if TYPE_CHECKING:
    from cpqctl.core.model import Repo
    from cpqctl.views.rows import Packer

QUOTE_STATUSES = ("draft", "approved", "needs-approval", "expired", "accepted")
CONTRACT_STATUSES = ("active", "pending", "ended", "cancelled")
ACCOUNT_STATUSES = ("active", "pending", "churned", "prospect")


@dataclass(frozen=True)
class Listing:
    """A list on ``as_of``: ``data`` is the `--format json` shape, ``rows`` its records (``data[key]``)."""

    as_of: date
    key: str
    data: dict
    rows: Sequence[dict]


def id_order(text: str) -> tuple:
    """An ID's sort key: its runs of digits by value, so a 5-digit sequence sorts after every 4-digit one."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def _known_product(repo, product: str | None) -> None:
    from cpqctl.app.workspace import lookup

    if product is not None:
        lookup(
            repo.catalog.products, product, "product", "E-UNKNOWN-PRODUCT", "`cpqctl catalog list` shows every product"
        )


def _by_number(row: dict) -> tuple:
    return id_order(row["invoice"]), row["invoice"]


def _statuses(given: Iterable[str], known: tuple[str, ...], what: str) -> frozenset[str]:
    wanted = frozenset(given)
    unknown = sorted(wanted - set(known))
    if unknown:
        raise UsageError(
            "E-USAGE",
            f"unknown {what} status `{unknown[0]}`",
            f"a {what} status is one of: {', '.join(known)}",
        )
    return wanted


def _listing(day: date, key: str, rows: list[dict]) -> Listing:
    from cpqctl.views.listing import listing

    return Listing(day, key, listing(day, key, rows), rows)


def list_quotes(
    ws: Workspace,
    *,
    statuses: Iterable[str] = (),
    account: str | None = None,
    product: str | None = None,
    as_of: date | None = None,
) -> Listing:
    """Every quote by ID with its status on ``as_of`` (any of ``statuses`` when given; ``account``'s only; with
    ``product``, those with a line of it)."""
    from cpqctl.core.quotes import price, quote_status
    from cpqctl.views.listing import quote_row

    wanted = _statuses(statuses, QUOTE_STATUSES, "quote")
    day = ws.day(as_of)
    repo = ws.read({"catalog", "account", "contract", "quote"})
    if account is not None:
        find_account(repo, account)
    _known_product(repo, product)
    rows = []
    for qid in sorted(repo.quotes, key=id_order):
        q = repo.quotes[qid]
        if account is not None and q.account != account:
            continue
        if product is not None and all(ln.product != product for ln in q.lines):
            continue
        priced = price(repo, q)
        st = quote_status(q, priced, repo.settings, day)
        if not wanted or st in wanted:
            rows.append(quote_row(q, priced, st, repo.settings))
    return _listing(day, "quotes", rows)


def list_contracts(
    ws: Workspace,
    *,
    statuses: Iterable[str] = (),
    account: str | None = None,
    ending_within: int | None = None,
    product: str | None = None,
    as_of: date | None = None,
) -> Listing:
    """Every contract by ID with its status, term, MRR and ARR on ``as_of``.

    ``statuses``: only those; ``account``: only its contracts; ``ending_within``: only those whose last day of
    service (after every amendment; never an evergreen one) is between ``as_of`` and ``as_of`` + that many days;
    ``product``: only those that hold it on ``as_of`` (a quantity above 0 after every amendment in force).
    """
    from cpqctl.core import ledger
    from cpqctl.views.accounts import contract_view
    from cpqctl.views.listing import contract_row

    wanted = _statuses(statuses, CONTRACT_STATUSES, "contract")
    if ending_within is not None and ending_within < 0:
        raise UsageError("E-USAGE", f"--ending-within {ending_within} is negative", "e.g. --ending-within 90")
    day = ws.day(as_of)
    last = day + timedelta(days=ending_within) if ending_within is not None else None

    def rows_of(repo) -> list[dict]:
        _known_product(repo, product)  # every part holds the catalog
        rows = []
        for cid in sorted(repo.contracts, key=id_order):
            c = repo.contracts[cid]
            if account is not None and c.account != account:
                continue
            if product is not None and ledger.quantity_on(c, product, day) <= 0:
                continue
            if last is not None:
                end = ledger.current_end(c)
                if end is None or not day <= end <= last:
                    continue
            if wanted and ledger.status(c, day) not in wanted:
                continue
            rows.append(contract_row(contract_view(repo, c, day)))
        return rows

    if account is not None:  # an unknown one is told the closest ID of the whole
        repo = ws.read({"catalog", "account", "contract"})
        find_account(repo, account)
        return _listing(day, "contracts", rows_of(repo))
    return _listing(day, "contracts", _by_id(_accounts_in_parts(ws, rows_of), "contract"))


def list_accounts(
    ws: Workspace,
    *,
    statuses: Iterable[str] = (),
    currency: str | None = None,
    renewing_within: int | None = None,
    as_of: date | None = None,
) -> Listing:
    """Every account by ID: name, currency, status, active contracts, MRR/ARR and next renewal as `account show`
    has them.

    An account's status on ``as_of``: ``active`` (a contract in service), ``pending`` (signed, not started),
    ``churned`` (contracts, none in service or to come), ``prospect`` (no contract). ``statuses``: only those;
    ``currency``: only accounts billed in it; ``renewing_within``: only those whose next renewal is within that
    many days of ``as_of``.
    """
    from cpqctl.views.accounts import account_view
    from cpqctl.views.listing import account_row

    wanted = _statuses(statuses, ACCOUNT_STATUSES, "account")
    if renewing_within is not None and renewing_within < 0:
        raise UsageError("E-USAGE", f"--renewing-within {renewing_within} is negative", "e.g. --renewing-within 90")
    day = ws.day(as_of)
    last = day + timedelta(days=renewing_within) if renewing_within is not None else None
    cur = currency.upper() if currency else None

    def rows_of(repo) -> list[dict]:
        rows = []
        for aid in sorted(repo.accounts, key=id_order):
            if cur is not None and repo.accounts[aid].currency != cur:
                continue
            row = account_row(account_view(repo, aid, day))
            if wanted and row["status"] not in wanted:
                continue
            nxt = row["next_renewal"]
            if last is not None and (nxt is None or not day <= date.fromisoformat(nxt) <= last):
                continue
            rows.append(row)
        return rows

    return _listing(day, "accounts", _by_id(_accounts_in_parts(ws, rows_of), "account"))


def _accounts_in_parts(ws: Workspace, rows_of: Callable[[Repo], list[dict]]) -> list[list[dict]]:
    """``rows_of`` each part of whole accounts (:meth:`Workspace.read_accounts_in_parts`: 0.25 GB less at 50,000
    accounts), else of the whole read of catalog, accounts and contracts (which refuses loader errors)."""
    parts = ws.read_accounts_in_parts(rows_of)
    return parts if parts is not None else [rows_of(ws.read({"catalog", "account", "contract"}))]


def _by_id(parts: list[list[dict]], key: str) -> list[dict]:
    """The parts' rows by ``key``'s ID order (each part's are in it already: the whole read's are left as they are)."""
    if len(parts) == 1:
        return parts[0]
    return sorted((row for rows in parts for row in rows), key=lambda row: id_order(row[key]))


def list_invoices(
    ws: Workspace,
    *,
    unsent: bool = False,
    account: str | None = None,
    contract: str | None = None,
    start: date | None = None,
    end: date | None = None,
    overdue: bool = False,
    status: Sequence[str] = (),
    as_of: date | None = None,
    packed: Packer | None = None,
) -> Listing:
    """Every issued invoice by number (corrections included).

    Each row carries the invoice's receivables status on ``as_of`` (:mod:`cpqctl.core.receivables`: open,
    partly paid, paid, overdue, credited — a correction's is its invoice's), what was paid on it and what is
    still open. ``overdue``: only invoices with something open past their due date; ``status``: only those
    of these statuses.

    ``unsent``: only those `invoice send --unsent` would send on ``as_of`` (no delivery recorded, dated on or
    before ``as_of``); ``account``/``contract``: only theirs; ``start``/``end``: only those dated in that window
    (both days included).

    ``packed``: the rows as :class:`cpqctl.views.rows.Rows` packed by it (`cpqctl serve`'s cached list; its columns
    include ``invoice``), each part's as it is read: never every row as a dict at once (420 MB at 50,000 accounts
    with a year billed).
    """
    from cpqctl.views.listing import invoice_row, listing

    if start is not None and end is not None and start > end:
        raise UsageError("E-USAGE", f"--from {start} is after --to {end}", "e.g. --from 2026-01-01 --to 2026-03-31")
    day = ws.day(as_of)
    from cpqctl.core import receivables
    from cpqctl.core.money import money_str

    bad = [s for s in status if s not in receivables.STATUSES]
    if bad:
        raise UsageError(
            "E-USAGE", f"`{bad[0]}` is not an invoice status", f"one of: {', '.join(receivables.STATUSES)}"
        )
    kinds = {"account", "contract", "invoice", "payment"}
    shared: dict[str, str] = {}

    def part_rows(repo) -> list[dict]:
        led = receivables.ledger(repo, day)
        out = []
        for number, inv in repo.invoices.items():
            chain = led.of(number)
            state = chain.status(day) if chain is not None else None
            if overdue and state != "overdue":
                continue
            if status and state not in status:
                continue
            if (
                (account is not None and inv.account != account)
                or (contract is not None and inv.contract != contract)
                or (start is not None and inv.date < start)
                or (end is not None and inv.date > end)
                or (unsent and (inv.sent or inv.date > day))
            ):
                continue
            first = chain is not None and chain.invoice == number
            row = invoice_row(inv) | {
                "status": state,
                "paid": money_str(chain.paid - chain.refunded, inv.currency) if chain and first else None,
                "written_off": money_str(chain.written_off, inv.currency) if chain and first else None,
                "open": money_str(chain.open, inv.currency) if chain and first else None,
                "days_overdue": chain.days_overdue(day) if chain and first else None,
            }
            if packed is None:  # one string for each date and amount repeated across 190,000 rows
                for k, v in row.items():
                    if type(v) is str:
                        row[k] = shared.setdefault(v, v)
            out.append(row)
        return out

    def part(repo):
        rows = part_rows(repo)
        return rows if packed is None else packed.pack(rows)

    # every invoice of 50,000 accounts at once is 0.9 GB: without a filter naming an account or a contract (whose
    # closest ID an unknown one is told from the whole), a part of the repository at a time
    parts = ws.read_in_parts(kinds, part) if account is None and contract is None else None
    if parts is None:
        repo = ws.read(kinds)
        if account is not None:
            find_account(repo, account)
        if contract is not None:
            find_contract(repo, contract)
        parts = [part(repo)]
        del repo
    if packed is not None:
        joined = packed.joined(parts, lambda number: (id_order(number), number), "invoice")
        return Listing(day, "invoices", listing(day, "invoices", joined), joined)
    rows = [row for rows_of_part in parts for row in rows_of_part]
    del parts
    shared.clear()
    rows.sort(key=_by_number)  # digits by value (an ID's own order: INV-2026-9999 before INV-2026-10000)
    return _listing(day, "invoices", rows)
