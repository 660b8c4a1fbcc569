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


def entries(
    repo: Repo, end: date, loose: bool = True, unbilled_of: dict[str, list[tuple[date, Decimal]]] | None = None
) -> Iterator[Entry]:
    """Every transaction dated on or before ``end`` in journal order (by date, then invoices, payments, revenue
    recognised and unbilled receivables, then number), each made only when asked for: the command holds the sort
    keys and the records they point to, not 700,000 transactions at once.

    For one part of the repository (:func:`_in_parts`): ``loose`` False leaves out the payments naming no account
    (every part holds them); with ``unbilled_of`` the unbilled receivables, netted over every contract, are not
    made: each currency's balance month by month goes into it instead, to be added up over the parts."""
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
            if p.date <= end and p.kind != "other" and (loose or p.account)
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
        del per
        streams.append(iter(recognised))
        if unbilled_of is None:
            streams.append(_unbilled(acc, cur, [(r.month, r.unbilled) for r in rolled], end))
        else:
            unbilled_of[cur] = [(r.month, r.unbilled) for r in rolled]
    # each stream in order; equal keys (a contract billed in two currencies) in the order the streams were made,
    # as one stable sort of them all would give
    return heapq.merge(*streams, key=_first)


def _unbilled(acc: dict[str, str], cur: str, balances: list[tuple[date, Decimal]], end: date) -> Iterator[Entry]:
    """The month-end changes of the unbilled receivables (``balances``: each month's, netted per contract) through
    ``end``."""
    unbilled = Decimal(0)
    for month, balance in balances:
        day = revrec.month_end(month)
        if day > end:
            break
        delta = balance - unbilled
        unbilled = balance
        if delta:
            yield (day, _ORDER["unbilled"], cur), cur, partial(_unbilled_txn, acc, day, month, delta, cur)


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
    got = _in_parts(ws, day, start)
    if got is None:
        repo = ws.read(KINDS)
        kept = [e for e in entries(repo, day) if start is None or e[0][0] >= start]
        got = (
            lambda: (make() for _, _, make in kept),
            len(kept),
            {cur for _, cur, _ in kept},
            kept[0][0][0] if kept else None,
            list(names(repo).values()),
        )
        del repo
    made, count, currencies, first, accounts = got
    currencies = currencies or {"PLN"}

    def chunks() -> Iterator[str]:
        txns = made()
        if fmt == "beancount":
            return text.beancount_chunks(txns, accounts, currencies, first)
        if fmt == "csv":
            return text.csv_chunks(txns)
        if fmt == "json":
            return text.json_chunks(txns)
        return text.hledger_chunks(txns, ledger_cli=fmt == "ledger")

    return Journal(chunks, count, start, day)


KINDS = frozenset({"account", "contract", "invoice", "payment", "catalog"})


def _in_parts(ws: Workspace, end: date, start: date | None):
    """The journal of a big repository made one part at a time (:meth:`Workspace.read_in_parts`: whole accounts
    with their contracts' invoices and their payments; issue 21: the whole model and its journal's keys took
    1 GB at 50,000 accounts with a year of invoices), each part's transactions kept on disk in journal order
    (:class:`cpqctl.app.spill.Spilled`) and merged when written: (the transactions, how many, their currencies,
    the first one's date, the account names), or None when the parts cannot stand for the whole.

    Each transaction is one document's or one contract's, made in its account's part (a payment naming no
    account, held by every part, in the first); ties of the journal's order (one contract's revenue in two
    currencies) go by currency, as the whole journal's streams do. The unbilled receivables are netted over every
    contract: each part gives its balance month by month, carried past its last month, and the parts' add up."""
    from cpqctl.app import revenue
    from cpqctl.app.spill import Spilled
    from cpqctl.load.parts import Whole

    spilled = Spilled(_first)
    balances: list[dict[str, list[tuple[date, Decimal]]]] = []
    seen: dict = {"currencies": set(), "first": [], "names": {}}

    def one(repo: Repo) -> None:
        if revenue._corrects_across(repo):  # its line's period is the corrected invoice's, in another part
            raise Whole("invoices")
        unbilled_of: dict[str, list[tuple[date, Decimal]]] = {}
        records = [
            ((*key, cur), cur, make())
            for key, cur, make in entries(repo, end, loose=not balances, unbilled_of=unbilled_of)
            if start is None or key[0] >= start
        ]
        balances.append(unbilled_of)
        seen["names"] = seen["names"] or names(repo)
        if records:
            seen["currencies"].update(cur for _, cur, _ in records)
            seen["first"].append(records[0][0][0])
        spilled.add(records)

    if ws.read_in_parts(KINDS, one) is None:
        spilled.close()
        return None
    acc = seen["names"]
    for cur in sorted({cur for b in balances for cur in b}):
        made = [
            ((*key, cur), cur, make())
            for key, cur, make in _unbilled(acc, cur, _added([b[cur] for b in balances if b.get(cur)]), end)
            if start is None or key[0] >= start
        ]
        if made:
            seen["currencies"].add(cur)
            seen["first"].append(made[0][0][0])
        spilled.add(made)

    def txns() -> Iterator[Txn]:
        return (txn for _, _, txn in spilled)

    first = min(seen["first"]) if seen["first"] else None
    return txns, len(spilled), seen["currencies"], first, list(acc.values())


def _added(series: list[list[tuple[date, Decimal]]]) -> list[tuple[date, Decimal]]:
    """Month by month balances of several parts (each over its own months, consecutive) added up over all their
    months: a part's balance is 0 before its first month and stays what it was after its last."""
    if not series:
        return []
    at = [dict(s) for s in series]
    out = []
    for month in revrec.months(min(s[0][0] for s in series), max(s[-1][0] for s in series)):
        total = Decimal(0)
        for s, values in zip(series, at, strict=True):
            if month in values:
                total += values[month]
            elif month > s[-1][0]:
                total += s[-1][1]
        out.append((month, total))
    return out
