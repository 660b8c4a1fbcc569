"""Revenue recognition of the repository's invoices: `report revenue | deferred | rpo` (docs/revenue.md).

Every billed invoice line (corrective invoices' included) is a performance obligation recognised by
:mod:`cpqctl.core.revrec`: by day over the period it bills (subscriptions), on its day (one-time products), or
over the contract's term (a product with ``revenue: over-term``); a bundle's lines billed together have their
net total re-allocated by standalone selling price (the product's ``ssp:``, else its list price). A
cancellation stops recognition on its effective date. Money is per currency, never converted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

from cpqctl.app.workspace import Workspace
from cpqctl.core import ledger, revrec
from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import Invoice, Repo
from cpqctl.core.money import minor_units, money_str
from cpqctl.core.terms import contract_terms

BY = ("month", "account", "product", "contract")
T = TypeVar("T")


def methods(repo: Repo) -> dict[str, str]:
    """Product → recognition method: the catalog's ``revenue:``, else ratable for subscriptions, point-in-time for
    one-time products."""
    return {
        code: p.revenue or ("ratable" if p.recurring else "point-in-time") for code, p in repo.catalog.products.items()
    }


def _terms_and_stops(repo: Repo) -> tuple[dict[str, tuple[date, date]], dict[str, date]]:
    terms: dict[str, tuple[date, date]] = {}
    stops: dict[str, date] = {}
    for cid, c in repo.contracts.items():
        end = ledger.current_end(c)
        cancelled = ledger.cancellation(c)
        if cancelled is not None:
            stops[cid] = cancelled.date - timedelta(days=1)
            end = min(end, stops[cid]) if end is not None else stops[cid]
        if end is not None and end >= c.start:
            terms[cid] = (c.start, end)
    return terms, stops


def _ssp(repo: Repo, inv: Invoice, n: int) -> Decimal | None:
    """The standalone selling price of line ``n`` (1-based), as a weight among the lines of its bundle billed for
    the same period: the product's ``ssp:`` (else list price) in the invoice's currency × quantity, a year of it
    for a subscription (None: not known)."""
    from cpqctl.core.terms import PER_MONTHS

    ln = inv.lines[n - 1]
    p = repo.catalog.products.get(ln.product)
    if p is None:
        return None
    price = p.ssp.get(inv.currency, p.price.get(inv.currency))
    if price is None:
        return None
    quantity = ln.quantity if ln.quantity is not None else Decimal(1)
    per_year = Decimal(12) / PER_MONTHS[p.per] if p.per in PER_MONTHS else Decimal(1)
    return abs(price * quantity * per_year)


def _bundles(repo: Repo, inv: Invoice) -> list[list[int]]:
    """Groups of line numbers of one bundle sale on the invoice: a bundle's own line and its option lines
    (segments naming ``bundle:``) of the same contract part and period."""
    c = repo.contracts.get(inv.contract)
    if c is None or inv.kind != "invoice":
        return []
    segments = ledger.segment_index(c)
    groups: dict[tuple, list[int]] = {}
    for n, ln in enumerate(inv.lines, 1):
        seg = segments.get(ln.segment)
        if seg is None:
            continue
        part = ln.segment.rsplit("#", 1)[0]
        code = seg.bundle or (seg.product if repo.catalog.products.get(seg.product, None) is not None
                              and repo.catalog.products[seg.product].options else None)  # fmt: skip
        if code is None:
            continue
        groups.setdefault((part, code, ln.period_start, ln.period_end, ln.kind), []).append(n)
    return [g for g in groups.values() if len(g) > 1]


Context = tuple[dict[str, tuple[date, date]], dict[str, date], dict[str, str]]  # terms, stops, methods


def context(repo: Repo) -> Context:
    """What every obligation of the repository reads: each contract's term and stop, each product's method (made
    once for a report that asks :func:`obligations` contract by contract)."""
    terms, stops = _terms_and_stops(repo)
    return terms, stops, methods(repo)


def obligations(
    repo: Repo,
    currency: str,
    through: date | None = None,
    invoices: Iterable[Invoice] | None = None,
    ctx: Context | None = None,
) -> tuple[revrec.Obligation, ...]:
    """Every line of the invoices in ``currency`` (dated on or before ``through``; ``invoices``: these instead of
    the repository's) as an obligation, bundles re-allocated by standalone selling price. ``ctx``: the
    repository's :func:`context`, made once by a caller that asks for many invoices' obligations."""
    terms, stops, method = ctx if ctx is not None else context(repo)
    invoices = [
        i
        for i in (repo.invoices.values() if invoices is None else invoices)
        if i.currency == currency and (through is None or i.date <= through)
    ]
    try:
        obs = list(revrec.obligations(invoices, method, terms, stops))
    except ValueError as exc:
        raise CpqError(
            "E-REVENUE",
            f"cannot recognise revenue: {exc}",
            "an over-term product needs a contract with an end; a ratable line needs a period (docs/revenue.md)",
        ) from None
    index = {ob.key: i for i, ob in enumerate(obs)}
    places = minor_units(currency)
    for inv in invoices:
        for group in _bundles(repo, inv):
            ssp = [_ssp(repo, inv, n) for n in group]
            if any(s is None for s in ssp) or not sum(s for s in ssp if s is not None):
                continue
            members = [obs[index[f"{inv.invoice}#{n}"]] for n in group]
            for ob in revrec.allocate(members, [s for s in ssp if s is not None], places):
                obs[index[ob.key]] = ob
    return tuple(obs)


def schedules(
    repo: Repo, currency: str, through: date | None = None, invoices: Iterable[Invoice] | None = None
) -> tuple[revrec.Schedule, ...]:
    return tuple(each_schedule(repo, currency, through, invoices))


def each_schedule(
    repo: Repo,
    currency: str,
    through: date | None = None,
    invoices: Iterable[Invoice] | None = None,
    ctx: Context | None = None,
) -> Iterator[revrec.Schedule]:
    """:func:`schedules` one at a time (a year of 50,000 contracts' schedules is 2 million entries)."""
    places = minor_units(currency)
    for ob in obligations(repo, currency, through, invoices, ctx):
        c = repo.contracts.get(ob.contract)
        rounding = contract_terms(c, repo.settings).rounding if c is not None else repo.settings.rounding
        yield revrec.schedule(ob, places, rounding)


def currencies(repo: Repo) -> list[str]:
    return sorted({i.currency for i in repo.invoices.values()})


def _key(by: str):
    return {
        "month": None,
        "account": lambda ob: ob.account,
        "product": lambda ob: ob.product,
        "contract": lambda ob: ob.contract,
    }[by]


@dataclass(frozen=True)
class RevenueReport:
    rows: list[dict]
    data: dict


KINDS = frozenset({"account", "contract", "invoice", "catalog"})  # what revenue recognition reads


def _by_part(ws: Workspace, compute: Callable[[Repo], T]) -> list[T]:
    """``compute`` of each part of a big repository (:meth:`Workspace.read_in_parts`: whole accounts with their
    contracts' invoices; issue 21: a year of 50,000 accounts' schedules read whole took 0.8 GB), else of the whole
    repository. Every obligation is one contract's: its invoice, its term and stop, its bundle; only a correction
    of an invoice outside the part looks further, and then the whole repository is read."""
    from cpqctl.load.parts import Whole

    def own(repo: Repo) -> T:
        if _corrects_across(repo):
            raise Whole("invoices")
        return compute(repo)

    parts = ws.read_in_parts(KINDS, own)
    if parts is None:
        repo = ws.read(KINDS)
        parts = [compute(repo)]
        del repo
    return parts


def _summed(into: dict, got: dict) -> dict:
    for k, v in got.items():
        into[k] = into.get(k, Decimal(0)) + v
    return into


def revenue_report(ws: Workspace, *, start: date, end: date, by: str = "month") -> RevenueReport:
    """Revenue recognised per month from ``start``'s month to ``end``'s, per currency (and per account, product
    or contract with ``by``)."""

    def sums(repo: Repo) -> dict[str, dict]:
        ctx = context(repo)
        return {
            cur: revrec.recognised(each_schedule(repo, cur, ctx=ctx), start, end, _key(by)) for cur in currencies(repo)
        }

    merged: dict[str, dict] = {}
    for part in _by_part(ws, sums):
        for cur, got in part.items():
            _summed(merged.setdefault(cur, {}), got)
    rows = []
    for cur in sorted(merged):
        for (key, month), amount in sorted(merged[cur].items(), key=lambda kv: (kv[0][0], kv[0][1])):
            row = {"currency": cur, "month": f"{month:%Y-%m}", "recognised": money_str(amount, cur)}
            if by != "month":
                row = {by: key, **row}
            rows.append(row)
    return RevenueReport(rows, {"from": start.isoformat(), "to": end.isoformat(), "by": by, "rows": rows})


ROLL = ("opening", "billed", "recognised", "closing", "deferred", "unbilled")


def deferred_report(ws: Workspace, *, start: date, end: date) -> RevenueReport:
    """Deferred revenue month by month per currency: opening + billed − recognised = closing, the closing split
    into deferred revenue (billed ahead) and unbilled receivables (recognised ahead), netted per contract (each
    contract's balance is its own: the parts' months add up)."""

    def sums(repo: Repo) -> dict[str, dict[date, list[Decimal]]]:
        ctx = context(repo)
        out: dict[str, dict[date, list[Decimal]]] = {}
        for cur in currencies(repo):
            for r in revrec.roll_forward(each_schedule(repo, cur, ctx=ctx), start, end):
                out.setdefault(cur, {})[r.month] = [getattr(r, f) for f in ROLL]
        return out

    merged: dict[str, dict[date, list[Decimal]]] = {}
    for part in _by_part(ws, sums):
        for cur, months in part.items():
            into = merged.setdefault(cur, {})
            for m, values in months.items():
                into[m] = [a + b for a, b in zip(into[m], values, strict=True)] if m in into else values
    rows = []
    for cur in sorted(merged):
        for m, values in sorted(merged[cur].items()):
            rows.append(
                {
                    "currency": cur,
                    "month": f"{m:%Y-%m}",
                    **{f: money_str(v, cur) for f, v in zip(ROLL, values, strict=True)},
                }
            )
    return RevenueReport(rows, {"from": start.isoformat(), "to": end.isoformat(), "rows": rows})


def contracted(repo: Repo, day: date) -> Iterator[list[Invoice]]:
    """What is contracted, contract by contract (in ID order, then the invoices of contracts with no file): the
    invoices issued by ``day`` and, for a contract with a fixed end after it, the invoices its schedule would still
    issue through that end (numbered ``<contract>~n``). An evergreen contract contributes only what it has billed
    (it can be cancelled for the rest). One contract's at a time: every contract's future invoices at once took
    1.9 GB at 50,000 accounts."""
    from cpqctl.core import billing
    from cpqctl.core.model import InvoiceLine

    issued = [i for i in repo.invoices.values() if i.date <= day]
    index = billing.ledger_index(issued)
    by_contract: dict[str, list[Invoice]] = {}
    for i in issued:
        by_contract.setdefault(i.contract, []).append(i)
    del issued
    for c in sorted(repo.contracts.values(), key=lambda c: c.contract):
        group = by_contract.pop(c.contract, [])
        end = ledger.current_end(c)
        if end is not None and end > day:
            for n, d in enumerate(billing.run(repo, end, [c], billed=index), 1):
                lines = tuple(
                    InvoiceLine(x.segment, x.product, x.kind, x.amount, x.period_start, x.period_end, x.quantity)
                    for x in d.lines
                )
                group.append(
                    Invoice(
                        f"{c.contract}~{n}",
                        d.account,
                        d.contract,
                        d.date,
                        d.currency,
                        lines,
                        d.net_total,
                        d.gross_total,
                    )
                )
        if group:
            yield group
    yield from by_contract.values()


def rpo_report(ws: Workspace, *, as_of: date | None = None, by: str = "account") -> RevenueReport:
    """Remaining performance obligations at the end of ``as_of``'s month: what the contracts still have to
    recognise — billed or to be billed through their fixed ends (:func:`contracted`) —, all of it and the next
    12 months, per currency and ``by``. Summed contract by contract (each contract's obligations are its own); a
    repository where a correction corrects another contract's invoice is taken whole, as it always was."""
    day = ws.day(as_of)
    key = _key(by) if by != "month" else None

    def part_sums(repo: Repo) -> dict[str, tuple[dict[str, Decimal], dict[str, Decimal]]]:
        sums: dict[str, tuple[dict[str, Decimal], dict[str, Decimal]]] = {}  # currency → (all, next 12 months)

        def add(scheds: tuple[revrec.Schedule, ...], cur: str) -> None:
            total, current = sums.setdefault(cur, ({}, {}))
            _summed(total, revrec.rpo(scheds, day, key))
            _summed(current, revrec.rpo(scheds, day, key, within=12))

        if _corrects_across(repo):  # a correction of another contract's invoice: every invoice's obligations at once
            every = [i for group in contracted(repo, day) for i in group]
            for cur in sorted({i.currency for i in every}):
                add(schedules(repo, cur, invoices=every), cur)
        else:
            ctx = context(repo)
            for group in contracted(repo, day):
                for cur in sorted({i.currency for i in group}):
                    add(tuple(each_schedule(repo, cur, invoices=group, ctx=ctx)), cur)
        return sums

    sums: dict[str, tuple[dict[str, Decimal], dict[str, Decimal]]] = {}
    for part in _by_part(ws, part_sums):
        for cur, (total, current) in part.items():
            into = sums.setdefault(cur, ({}, {}))
            _summed(into[0], total)
            _summed(into[1], current)
    rows = []
    for cur in sorted(sums):
        total, current = sums[cur]
        for k in sorted(total):
            row = {
                "currency": cur,
                "rpo": money_str(total[k], cur),
                "next_12_months": money_str(current.get(k, Decimal(0)), cur),
            }
            rows.append({by: k, **row} if key is not None else row)
    return RevenueReport(rows, {"as_of": day.isoformat(), "by": by, "rows": rows})


def _corrects_across(repo: Repo) -> bool:
    """Whether a correction corrects an invoice of another contract (or one not on file): its line's period is then
    looked up among every invoice, not its own contract's."""
    return any(
        i.corrects and (repo.invoices.get(i.corrects) is None or repo.invoices[i.corrects].contract != i.contract)
        for i in repo.invoices.values()
    )


def billed_net(invoices: Iterable[Invoice], currency: str) -> Decimal:
    return sum((i.net_total for i in invoices if i.currency == currency), Decimal(0))


def waterfall_report(ws: Workspace, *, start: date, end: date) -> RevenueReport:
    """The revenue waterfall: for each month invoices were issued in (``start``'s to ``end``'s), what they bill and
    how it is recognised month by month from then on, per currency; each row's months add up to its billed."""
    first, last = revrec.month_of(start), revrec.month_of(end)

    def grids(repo: Repo) -> dict[str, dict[date, dict[date, Decimal]]]:
        ctx = context(repo)
        out: dict[str, dict[date, dict[date, Decimal]]] = {}
        for cur in currencies(repo):
            grid = out.setdefault(cur, {})
            for s in each_schedule(repo, cur, ctx=ctx):
                billed = revrec.month_of(s.obligation.billed)
                if not first <= billed <= last:
                    continue
                row = grid.setdefault(billed, {})
                for e in s.entries:
                    row[e.month] = row.get(e.month, Decimal(0)) + e.amount
        return out

    merged: dict[str, dict[date, dict[date, Decimal]]] = {}
    for part in _by_part(ws, grids):
        for cur, got in part.items():
            into = merged.setdefault(cur, {})
            for billed, row in got.items():
                _summed(into.setdefault(billed, {}), row)
    rows = []
    for cur in sorted(merged):
        grid = merged[cur]
        for billed in sorted(grid):
            months = grid[billed]
            rows.append(
                {
                    "currency": cur,
                    "billed_in": f"{billed:%Y-%m}",
                    "billed": money_str(sum(months.values(), Decimal(0)), cur),
                    "recognised": {f"{m:%Y-%m}": money_str(v, cur) for m, v in sorted(months.items()) if v},
                }
            )
    return RevenueReport(rows, {"from": start.isoformat(), "to": end.isoformat(), "rows": rows})
