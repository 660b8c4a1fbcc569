"""`cpqctl journal`: the repository's invoices, payments and revenue recognition as double entries.

Transactions (docs/revenue.md#journal), each in the currency of its document, on the account names of cpq.toml
``[accounts]``:

- an invoice or corrective invoice, on its date: receivable + gross, deferred revenue − net, VAT payable − VAT
  (none under reverse charge);
- revenue recognised, per contract and month, on the month's last day: deferred revenue + / revenue −;
- at each month's end the change of unbilled receivables (revenue recognised ahead of billing, netted per
  contract): unbilled + / deferred revenue −, so the deferred account holds what was billed ahead and the
  unbilled account what was earned ahead, as `report deferred` splits them;
- a payment: bank + amount, receivable − what it settles, customer credit − the rest (a bank line nobody has
  been named for: unidentified receipts −); a refund the other way round; a write-off: bad debt + /
  receivable −.

Entries dated from ``start`` to ``end`` only; balances agree with the reports when the journal starts at the
first document (the default).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial

from cpqctl.app.workspace import Workspace
from cpqctl.core import revrec
from cpqctl.core.diagnostics import UsageError
from cpqctl.core.model import Repo
from cpqctl.core.money import minor_units
from cpqctl.formats import journal as text
from cpqctl.formats.journal import Posting, Txn

ACCOUNTS = {
    "receivable": "Assets:Receivable",
    "bank": "Assets:Bank",
    "unbilled": "Assets:Unbilled-Revenue",
    "deferred": "Liabilities:Deferred-Revenue",
    "vat": "Liabilities:VAT-Payable",
    "credit": "Liabilities:Customer-Credit",
    "unidentified": "Liabilities:Unidentified-Receipts",
    "revenue": "Income:Revenue",
    "write_off": "Expenses:Bad-Debt",
}
_ORDER = {"invoice": 0, "payment": 1, "recognition": 2, "unbilled": 3}


@dataclass(frozen=True)
class Journal:
    """The journal's text, given out in chunks (:meth:`chunks`: at 50,000 accounts it is 200 MB or more, never held
    whole by the command); ``text`` joins them."""

    make: Callable[[], Iterator[str]] = field(repr=False)
    transactions: int
    start: date | None
    end: date

    def chunks(self) -> Iterator[str]:
        return self.make()

    @property
    def text(self) -> str:
        return "".join(self.make())


def names(repo: Repo) -> dict[str, str]:
    return {**ACCOUNTS, **{k: str(v) for k, v in repo.settings.ledger_accounts.items()}}


def _money(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)))


Entry = tuple[tuple, str, Callable[[], Txn]]  # sort key, currency, the transaction (made when written)


def entries(repo: Repo, end: date) -> Iterator[Entry]:
    """Every transaction dated on or before ``end`` in journal order (by date, then invoices, payments, revenue
    recognised and unbilled receivables, then number), each made only when asked for: the command holds the sort
    keys and the records they point to, not 700,000 transactions at once."""
    from cpqctl.app import revenue

    acc = names(repo)
    payee = {a: acct.name or a for a, acct in repo.accounts.items()}
    invoices = sorted(
        (((inv.date, _ORDER["invoice"], inv.invoice), inv) for inv in repo.invoices.values() if inv.date <= end),
        key=_first,
    )
    payments = sorted(
        (
            ((p.date, _ORDER["payment"], p.payment), p)
            for p in repo.payments.values()
            if p.date <= end and p.kind != "other"
        ),
        key=_first,
    )
    streams: list[Iterator[Entry]] = [
        ((k, inv.currency, partial(_invoice_txn, inv, acc, payee)) for k, inv in invoices),
        ((k, p.currency, partial(_payment_txn, p, acc, payee)) for k, p in payments),
    ]
    for cur in revenue.currencies(repo):
        per: dict[tuple[date, str], Decimal] = {}
        rolled = revrec.roll_forward(_summed(revenue.each_schedule(repo, cur, through=end), end, per))
        recognised = [
            (
                (revrec.month_end(month), _ORDER["recognition"], contract),
                cur,
                partial(_recognition_txn, repo, acc, payee, month, contract, amount, cur),
            )
            for (month, contract), amount in sorted(per.items())
            if amount
        ]
        unbilled_entries: list[Entry] = []
        unbilled = Decimal(0)
        for r in rolled:
            day = revrec.month_end(r.month)
            if day > end:
                break
            delta = r.unbilled - unbilled
            unbilled = r.unbilled
            if delta:
                made = partial(_unbilled_txn, acc, day, r.month, delta, cur)
                unbilled_entries.append(((day, _ORDER["unbilled"], cur), cur, made))
        del per
        streams += [iter(recognised), iter(unbilled_entries)]
    # each stream in order; equal keys (a contract billed in two currencies) in the order the streams were made,
    # as one stable sort of them all would give
    return heapq.merge(*streams, key=_first)


def _summed(
    scheds: Iterator[revrec.Schedule], end: date, per: dict[tuple[date, str], Decimal]
) -> Iterator[revrec.Schedule]:
    """The schedules as they are made, each month's revenue (through ``end``) per contract summed into ``per`` on
    the way: none is held (a year of 50,000 contracts' schedules is 2 million entries)."""
    for s in scheds:
        for e in s.entries:
            if revrec.month_end(e.month) <= end:
                key = (e.month, s.obligation.contract)
                per[key] = per.get(key, Decimal(0)) + e.amount
        yield s


def _first(entry: tuple) -> tuple:
    return entry[0]


def transactions(repo: Repo, end: date) -> Iterator[tuple[tuple, Txn]]:
    """Every transaction dated on or before ``end``, with its sort key, in journal order."""
    return ((key, make()) for key, _, make in entries(repo, end))


def _invoice_txn(inv, acc: dict[str, str], payee: dict[str, str]) -> Txn:
    cur = inv.currency
    tax = inv.gross_total - inv.net_total
    postings = [Posting(acc["receivable"], inv.gross_total, cur), Posting(acc["deferred"], -inv.net_total, cur)]
    if tax:
        postings.append(Posting(acc["vat"], -tax, cur))
    what = (
        f"Corrective invoice {inv.invoice} of {inv.corrects}" if inv.kind == "correction" else f"Invoice {inv.invoice}"
    )
    links = tuple(dict.fromkeys(x for x in (inv.invoice, inv.corrects) if x))
    meta: tuple[tuple[str, str], ...] = (("customer", inv.account), ("contract", inv.contract))
    return Txn(inv.date, payee.get(inv.account, inv.account), what, tuple(postings), _links(links), meta)


def _payment_txn(p, acc: dict[str, str], payee: dict[str, str]) -> Txn:
    cur = p.currency
    allocated = p.allocated
    rest = p.amount - allocated
    links = _links(tuple(a.invoice for a in p.allocations))
    named = (("customer", p.account), ("payment", p.payment)) if p.account else (("payment", p.payment), ("", ""))
    meta: tuple[tuple[str, str], ...] = tuple(m for m in named if m[0])
    if p.kind == "payment":
        postings = [Posting(acc["bank"], p.amount, cur)]
        if allocated:
            postings.append(Posting(acc["receivable"], -allocated, cur))
        if rest:
            postings.append(Posting(acc["credit"] if p.account else acc["unidentified"], -rest, cur))
        what = f"Payment {p.payment}"
    elif p.kind == "refund":
        postings = [Posting(acc["bank"], -p.amount, cur)]
        if allocated:
            postings.append(Posting(acc["receivable"], allocated, cur))
        if rest:
            postings.append(Posting(acc["credit"], rest, cur))
        what = f"Refund {p.payment}"
    else:  # write-off
        postings = [Posting(acc["write_off"], p.amount, cur), Posting(acc["receivable"], -p.amount, cur)]
        what = f"Write-off {p.payment}"
    name = payee.get(p.account, p.account) if p.account else (p.payer or "unidentified")
    return Txn(p.date, name, what, tuple(postings), links, meta)


def _recognition_txn(
    repo: Repo, acc: dict[str, str], payee: dict[str, str], month: date, contract: str, amount: Decimal, cur: str
) -> Txn:
    c = repo.contracts.get(contract)
    return Txn(
        revrec.month_end(month),
        payee.get(c.account, c.account) if c else contract,
        f"Revenue recognised {month:%Y-%m}",
        (
            Posting(acc["deferred"], _money(amount, cur), cur),
            Posting(acc["revenue"], _money(-amount, cur), cur),
        ),
        (),
        (("customer", c.account if c else ""), ("contract", contract), ("period", f"{month:%Y-%m}")),
    )


def _unbilled_txn(acc: dict[str, str], day: date, month: date, delta: Decimal, cur: str) -> Txn:
    return Txn(
        day,
        "cpqctl",
        f"Unbilled receivables {month:%Y-%m}",
        (
            Posting(acc["unbilled"], _money(delta, cur), cur),
            Posting(acc["deferred"], _money(-delta, cur), cur),
        ),
        (),
        (("period", f"{month:%Y-%m}"),),
    )


def _links(numbers: tuple[str, ...]) -> tuple[str, ...]:
    """Invoice numbers as beancount links (``^INV-2026-0001``; the characters a link may not hold become -)."""
    import re

    return tuple(dict.fromkeys(re.sub(r"[^A-Za-z0-9\-_/.]", "-", n) for n in numbers))


def journal(ws: Workspace, *, fmt: str = "beancount", start: date | None = None, end: date | None = None) -> Journal:
    if fmt not in text.FORMATS:
        raise UsageError("E-USAGE", f"`{fmt}` is not a journal format", f"one of: {', '.join(text.FORMATS)}")
    day = end or ws.as_of
    repo = ws.read({"account", "contract", "invoice", "payment", "catalog"})
    kept = [e for e in entries(repo, day) if start is None or e[0][0] >= start]
    currencies = {cur for _, cur, _ in kept} or {"PLN"}
    first = kept[0][0][0] if kept else None
    accounts = names(repo).values()

    def chunks() -> Iterator[str]:
        txns = (make() for _, _, make in kept)
        if fmt == "beancount":
            return text.beancount_chunks(txns, accounts, currencies, first)
        if fmt == "csv":
            return text.csv_chunks(txns)
        if fmt == "json":
            return text.json_chunks(txns)
        return text.hledger_chunks(txns, ledger_cli=fmt == "ledger")

    return Journal(chunks, len(kept), start, day)
