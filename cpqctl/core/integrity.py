"""The integrity chain across files: contracts against the quotes they were accepted from, the invoice ledger.

Each accepted quote and issued invoice carries a digest of its own content
(checked file by file by the loader, :mod:`cpqctl.formats.digest`). These checks
tie the files together, so that no signed or issued record can change, vanish,
be duplicated or move without `check` reporting it:

- **Contracts.** A contract that names its quote (`quote:`, written by `quote
  accept`) must still be that quote's content: the quote exists, is accepted,
  was a new-business quote that created this contract or a renewal of its
  predecessor, has the digest the contract recorded (`quote_digest:`), and its
  priced lines equal the contract's lines segment by segment (product,
  quantity, prices, period, bundle), with the same account, currency, dates and
  signer. Each amendment entry is checked against its amendment quote the same
  way (effective date, end, cancellation, signer, lines), and the ledger as a
  whole: entries numbered `A-1, A-2, …` in order, none before the place its
  quote's `based_on` put it (later is a merge of two branches:
  :mod:`cpqctl.core.merges`), no quote named twice, and no accepted amendment quote of
  the contract without its entry (a deleted amendment). A contract without
  `quote:` (imported from CSV or written by hand) is the ledger's origin and is
  taken as it is; so is an entry without `quote:`.
- **Status rollback.** A quote that a contract or an amendment entry records as
  accepted but whose file says otherwise was rolled back by hand.
- **Invoices.** Each invoice adds up (gross = net + taxes, each tax = rate ×
  base rounded as billing rounds, the bases = net), names an existing account
  and contract and only that contract's segments, is not a copy of another
  invoice, and the numbers of a series (`{year}` of the invoice date) run
  1, 2, 3… without a gap (a gap is a deleted invoice). An invoice without a
  digest is an error once the repository has a digested invoice dated on or
  before it; older ones (issued before cpqctl wrote digests) get one warning.

Pure: a loaded :class:`~cpqctl.core.model.Repo` in, diagnostics out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from cpqctl.core.diagnostics import Diagnostic
from cpqctl.core.ledger import segment_index
from cpqctl.core.model import Amendment, Contract, Invoice, InvoiceLine, Quote, QuoteLine, Repo, Segment, Source
from cpqctl.core.money import minor_units, round_money
from cpqctl.core.numbering import branch_pattern, has_token, parse_series, render
from cpqctl.core.terms import ROUNDING_MODES

_AMENDMENT_ID = re.compile(r"A-(\d+)")
_RESTORE = "restore the files from git (`git log -p -- FILE` shows the change); signed records change by amendment"


def _err(src: Source, code: str, msg: str, hint: str = _RESTORE) -> Diagnostic:
    return Diagnostic.at(src, code, msg, hint)


class InvoiceFacts:
    """What the rules over every invoice of the repository read of one (its number and date, whether it carries a
    digest, where it is): all a check in parts keeps of an invoice once its part is checked
    (:mod:`cpqctl.app.check_parts`), as one line of text (:meth:`line`, :meth:`parse`). An
    :class:`~cpqctl.core.model.Invoice` answers the same attributes."""

    __slots__ = ("invoice", "date", "digest", "src", "_number_at", "_date_at")

    def __init__(self, invoice: str, day: date, digest: bool, src: Source, number_at: Source, date_at: Source):
        self.invoice, self.date, self.digest, self.src = invoice, day, digest, src
        self._number_at, self._date_at = number_at, date_at

    @property
    def at(self) -> InvoiceFacts:
        return self  # ``facts.at.get(key, default)`` as ``invoice.at.get``

    def get(self, key: str, default: Source) -> Source:
        return self._number_at if key == "invoice" else self._date_at if key == "date" else default

    def line(self) -> str:
        """The facts in one line (tab-separated; IDs and paths hold no tab), read back by :meth:`parse`. A check in
        parts keeps each part's lines as one string: small objects kept from each part would hold on to the memory
        of its records."""
        n, d, s = self._number_at, self._date_at, self.src
        return (
            f"{self.invoice}\t{self.date.isoformat()}\t{'d' if self.digest else ''}\t{s.file}\t{s.line}\t{s.column}"
            f"\t{n.file}\t{n.line}\t{n.column}\t{d.file}\t{d.line}\t{d.column}"
        )

    @classmethod
    def parse(cls, line: str) -> InvoiceFacts:
        f = line.split("\t")
        return cls(
            f[0],
            date.fromisoformat(f[1]),
            bool(f[2]),
            Source(f[3], int(f[4]), int(f[5])),
            Source(f[6], int(f[7]), int(f[8])),
            Source(f[9], int(f[10]), int(f[11])),
        )


# --------------------------------------------------------------------------- contracts and quotes


def _seg_key(s: Segment) -> tuple:
    listed = s.list_price if s.list_price is not None else s.unit_price
    return (s.product, s.quantity, s.unit_price, listed, s.per, s.start, s.bundle, s.pricing == "block", s.timing)


def _line_key(ln: QuoteLine) -> tuple:
    listed = ln.list_price if ln.list_price is not None else ln.unit_price
    timing = ln.timing or "advance"
    return (ln.product, ln.quantity, ln.unit_price, listed, ln.per, ln.start, ln.bundle, ln.pricing == "block", timing)


def _lines_differ(segs: tuple[Segment, ...], lines: tuple[QuoteLine, ...], where: Source) -> tuple[Source, str] | None:
    """Where and how a ledger's segments differ from the accepted quote's priced lines (None: equal)."""
    for i, (s, ln) in enumerate(zip(segs, lines), 1):
        if _seg_key(s) != _line_key(ln) or (ln.end is not None and s.end != ln.end):
            return s.src, f"line {i} ({s.product} × {s.quantity} at {s.unit_price}) differs from the quote's line"
    if len(segs) != len(lines):
        src = segs[len(lines)].src if len(segs) > len(lines) else where
        return src, f"{len(segs)} line(s) where the quote has {len(lines)}"
    return None


def _signed_differs(a, b) -> bool:
    return a is not None and b is not None and (a.by, a.date) != (b.by, b.date)


def _rollback(q: Quote, by: str, at: Source) -> Diagnostic:
    return _err(
        q.where("status"),
        "E-QUOTE-ROLLBACK",
        f"quote {q.quote} is recorded as accepted by {by} ({at}) but its file says `status: {q.status}`",
        "an accepted quote never goes back to a draft: restore it from git (`git checkout -- FILE`); "
        "change a signed contract with an amendment",
    )


def _missing_quote(ident: str, by: str, at: Source) -> Diagnostic:
    return _err(
        at,
        "E-LEDGER-QUOTE",
        f"{by} was accepted from quote {ident} (its digest is recorded) but quotes/{ident}.yaml is missing",
        "restore the quote from git: the accepted quote is the contract's audit trail",
    )


def _head(repo: Repo, c: Contract, lost: frozenset) -> Iterator[Diagnostic]:
    ident = c.quote
    if ident is None:
        return
    q = repo.quotes.get(ident)
    if q is None:
        if c.quote_digest and ("quote", ident) not in lost:
            yield _missing_quote(ident, f"contract {c.contract}", c.where("quote"))
        return
    if q.status != "accepted":
        yield _rollback(q, f"contract {c.contract}", c.where("quote"))
        return
    own = (q.kind == "new" and q.contract == c.contract) or (q.kind == "renewal" and q.contract == c.renews)
    if not own:
        yield _err(
            c.where("quote"),
            "E-LEDGER-QUOTE",
            f"contract {c.contract} names quote {ident}, a {q.kind} quote of "
            f"{q.contract or 'no contract'}: it was not accepted into this contract",
        )
        return
    if c.quote_digest is not None and c.quote_digest != q.digest:
        yield _err(
            c.where("quote_digest"),
            "E-LEDGER-DIGEST",
            f"contract {c.contract} was accepted from {ident} with digest {c.quote_digest}, "
            f"but the quote's digest is now {q.digest}",
        )
    for key, mine, theirs in (
        ("account", c.account, q.account),
        ("currency", c.currency, q.currency),
        ("start", c.start, q.start),
        ("end", c.end, q.end),
    ):
        if theirs is not None and mine != theirs:
            yield _err(
                c.where(key),
                "E-LEDGER-DIFF",
                f"contract {c.contract} says {key} {mine}, its accepted quote {ident} says {theirs}",
            )
    if _signed_differs(c.signed, q.signed):
        yield _err(c.where("signed"), "E-LEDGER-DIFF", f"contract {c.contract}'s signer differs from quote {ident}'s")
    diff = _lines_differ(c.lines, q.lines, c.where("lines"))
    if diff:
        yield _err(diff[0], "E-LEDGER-DIFF", f"contract {c.contract}: {diff[1]} (accepted quote {ident})")


def _entry(repo: Repo, c: Contract, i: int, a: Amendment, lost: frozenset) -> Iterator[Diagnostic]:
    m = _AMENDMENT_ID.fullmatch(a.amendment)
    if m and int(m[1]) != i + 1:
        yield _err(
            a.at.get("amendment", a.src),
            "E-AMENDMENT-ORDER",
            f"entry {i + 1} of {c.contract}'s amendments is {a.amendment}: entries are numbered A-1, A-2, … in "
            "order (one was deleted, duplicated or moved)",
            "after a merge, `cpqctl resolve` labels them in order; otherwise " + _RESTORE,
        )
    ident = a.quote
    if ident is None:
        return
    label = f"amendment {a.amendment} of {c.contract}"
    q = repo.quotes.get(ident)
    if q is None:
        if a.quote_digest and ("quote", ident) not in lost:
            yield _missing_quote(ident, label, a.at.get("quote", a.src))
        return
    if q.status != "accepted":
        yield _rollback(q, label, a.at.get("quote", a.src))
        return
    if q.kind != "amendment" or q.contract != c.contract:
        yield _err(
            a.at.get("quote", a.src),
            "E-LEDGER-QUOTE",
            f"{label} names quote {ident}, a {q.kind} quote of {q.contract or 'no contract'}",
        )
        return
    if a.quote_digest is not None and a.quote_digest != q.digest:
        yield _err(
            a.at.get("quote_digest", a.src),
            "E-LEDGER-DIGEST",
            f"{label} was accepted from {ident} with digest {a.quote_digest}, but the quote's digest is now {q.digest}",
        )
    if q.based_on is not None and q.based_on > i:
        # an entry that saw more amendments than precede it: one was deleted or moved. Fewer is a merge:
        # two branches amended the same contract (cpqctl.core.merges checks what that did).
        yield _err(
            a.at.get("amendment", a.src),
            "E-AMENDMENT-ORDER",
            f"{label} is entry {i + 1}, but its quote {ident} was accepted as entry {q.based_on + 1} "
            f"(based_on: {q.based_on})",
        )
    q_canc = (q.cancelled.date, q.cancelled.reason) if q.cancelled else None
    a_canc = (a.cancelled.date, a.cancelled.reason) if a.cancelled else None
    for key, mine, theirs in (
        ("effective", a.effective, q.effective),
        ("end", a.end, q.end if a.end is not None else None),
        ("cancelled", a_canc, q_canc),
    ):
        if mine != theirs:
            yield _err(
                a.at.get(key, a.src),
                "E-LEDGER-DIFF",
                f"{label} says {key} {mine or 'none'}, its accepted quote {ident} says {theirs or 'none'}",
            )
    if _signed_differs(a.signed, q.signed):
        yield _err(a.at.get("signed", a.src), "E-LEDGER-DIFF", f"{label}'s signer differs from quote {ident}'s")
    diff = _lines_differ(a.lines, q.lines, a.at.get("lines", a.src))
    if diff:
        yield _err(diff[0], "E-LEDGER-DIFF", f"{label}: {diff[1]} (accepted quote {ident})")


def check_ledgers(repo: Repo, lost_ids: frozenset = frozenset()) -> Iterator[Diagnostic]:
    """Every contract against its quotes, every accepted quote against its contract (see the module doc)."""
    named: dict[str, Source] = {}  # quote ID → the first contract or entry naming it
    for c in repo.contracts.values():
        if c.quote:
            if c.quote in named:
                yield _err(
                    c.where("quote"),
                    "E-LEDGER-DUPLICATE",
                    f"quote {c.quote} is already recorded at {named[c.quote]}: one accepted quote, one record",
                )
            named.setdefault(c.quote, c.where("quote"))
            yield from _head(repo, c, lost_ids)
        for i, a in enumerate(c.amendments):
            if a.quote:
                if a.quote in named:
                    yield _err(
                        a.at.get("quote", a.src),
                        "E-LEDGER-DUPLICATE",
                        f"quote {a.quote} is already recorded at {named[a.quote]}: one accepted quote, one record",
                    )
                named.setdefault(a.quote, a.at.get("quote", a.src))
            yield from _entry(repo, c, i, a, lost_ids)
    for q in repo.quotes.values():
        if q.status != "accepted" or q.quote in named or not q.contract or not q.digest:
            continue
        if q.kind == "amendment" and q.contract in repo.contracts:
            yield _err(
                q.where("contract"),
                "E-LEDGER-MISSING",
                f"accepted amendment quote {q.quote} has no entry in {q.contract}'s amendments "
                "(dropped by a merge, or deleted?)",
                '`cpqctl resolve` restores the entry from the accepted quote (a merge resolved with "ours" '
                "drops the other branch's amendment); see docs/teamwork.md",
            )
        elif q.kind == "new" and ("contract", q.contract) not in lost_ids:
            yield _err(
                q.where("contract"),
                "E-LEDGER-MISSING",
                f"accepted quote {q.quote} created contract {q.contract}, which "
                + ("names another quote" if q.contract in repo.contracts else "is missing (deleted?)"),
            )


# --------------------------------------------------------------------------- invoices


def _double_billed(repo: Repo, invoices: list[Invoice], index: dict, corrected: set[str]) -> Iterator[Diagnostic]:
    """Two invoices billing one segment's period with the same line: what two branches' invoice runs leave.

    An invoice run bills the difference between the schedule and the ledger, so the same segment, period, kind
    and amount on two invoices, neither correcting the other, is the same service billed twice — unless the two
    add up to no more than the schedule bills for that period: a run's top-up of a line another system wrote for
    part of it (an imported ledger, whose first partial period lacked the day-count residual the period rule puts
    there) can equal that line by chance. Those lines are checked against the schedule (:func:`_within_schedule`):
    billed twice over it is still this error.

    ``invoices`` are one contract's (``index``: its segments by ID, empty when the contract is unknown);
    ``corrected``: the invoices any correction of the ledger corrects.
    """
    seen: dict[tuple, str] = {}
    billed: dict[tuple, Decimal] = {}
    suspects: list[tuple[Invoice, InvoiceLine, str, str]] = []
    for inv in sorted(invoices, key=lambda i: (i.date, i.invoice)):
        if inv.corrects or inv.invoice in corrected:
            continue
        for ln in inv.lines:
            seg = index[ln.segment].id if ln.segment in index else ln.segment
            span = (inv.contract, seg, ln.period_start, ln.period_end)
            billed[span] = billed.get(span, Decimal(0)) + ln.amount
            first = seen.setdefault((*span, ln.kind, ln.amount), inv.invoice)
            if first != inv.invoice:
                suspects.append((inv, ln, seg, first))
    for inv, ln, seg, first in suspects:
        span = (inv.contract, seg, ln.period_start, ln.period_end)
        if _within_schedule(repo, inv.contract, seg, ln.period_start, billed[span]):
            continue
        yield _err(
            inv.at.get("lines", inv.src),
            "E-DOUBLE-BILLED",
            f"invoice {inv.invoice} bills {seg} ({ln.product}) for {ln.period_start}..{ln.period_end} "
            f"again: invoice {first} billed the same {ln.amount} (two branches ran invoices?)",
            f"issue a corrective invoice that credits {inv.invoice}'s line; never delete an issued "
            "invoice; invoices run on the default branch only (docs/teamwork.md)",
        )


def _within_schedule(repo: Repo, contract: str, seg: str, start: date | None, total: Decimal) -> bool:
    """Whether the ``total`` the ledger bills for segment ``seg``'s period starting ``start`` is more than zero and
    no more than the contract's schedule bills for that period (then two equal lines are a line and its top-up)."""
    from cpqctl.core import billing
    from cpqctl.core.diagnostics import CpqError

    c = repo.contracts.get(contract)
    if c is None or start is None or total <= 0:
        return False
    s = segment_index(c).get(seg)
    if s is None:
        return False
    try:
        return total <= billing.scheduled_for(c, repo.settings, s, start)
    except (CpqError, IndexError, KeyError, ValueError):
        return False


_DECIMAL_ROUNDING = {"half-up": ROUND_HALF_UP, "half-even": ROUND_HALF_EVEN}  # ties away from zero / to even


def _tax_ok(amount: Decimal, base: Decimal, rate: Decimal, currency: str, rounding: str | None) -> bool:
    """``amount`` is ``rate`` % of ``base`` rounded to the currency's minor unit as billing rounds.

    The product is exact (a wide context), then rounded once: the same result as
    billing's Fraction arithmetic, at a tenth of its cost (one check per invoice).
    """
    modes = (rounding,) if rounding else ROUNDING_MODES
    q = Decimal(1).scaleb(-minor_units(currency))
    with localcontext() as ctx:
        ctx.prec = 80
        exact = base * rate / 100
        for m in modes:
            mode = _DECIMAL_ROUNDING.get(m)
            got = exact.quantize(q, rounding=mode) if mode else round_money(Fraction(exact), currency, m)
            if got == amount:
                return True
    return False


def _difference_tax_ok(amount: Decimal, base: Decimal, rate: Decimal, currency: str) -> bool:
    """A corrective invoice's VAT is the VAT due after the correction less the VAT invoiced so far, each rounded
    (core/corrections.py, art. 106j): it may differ from ``rate`` % of the net difference rounded by one minor
    unit (|round(a) - round(b) - (a - b)| <= 2 x half a unit), never more."""
    q = Decimal(1).scaleb(-minor_units(currency))
    with localcontext() as ctx:
        ctx.prec = 80
        return abs(amount - base * rate / 100) <= q


def _line_tax_ok(inv: Invoice, amount: Decimal, rate: Decimal, rounding: str | None) -> bool:
    """``amount`` is the VAT of each line rounded, then added up (`[tax] rounding = "line"`; one rate per invoice)."""
    for m in (rounding,) if rounding else ROUNDING_MODES:
        total = sum(
            (round_money(Fraction(ln.amount) * Fraction(rate) / 100, inv.currency, m) for ln in inv.lines), Decimal(0)
        )
        if total == amount:
            return True
    return False


def _gaps(pattern: str, invoices: list[Invoice] | list[InvoiceFacts]) -> Iterator[Diagnostic]:
    """Each series of ``pattern`` (a year, a month, a branch's token) runs 1, 2, 3… (a deleted invoice leaves a gap)."""
    by_series: dict[tuple[int | None, int | None, str | None], list[tuple[int, Invoice | InvoiceFacts]]] = {}
    for inv in invoices:
        sr = parse_series(pattern, inv.invoice)
        if sr is not None and sr.year in (None, inv.date.year):
            by_series.setdefault(sr.key, []).append((sr.seq, inv))
    for (s_year, s_month, token), members in by_series.items():
        members.sort(key=lambda x: x[0])
        shape = branch_pattern(pattern) if token is not None and not has_token(pattern) else pattern
        year, month = s_year or 0, s_month or 1
        expected = 1
        for seq, inv in members:
            if seq > expected:
                first = render(shape, year, month, token, expected)
                yield _err(
                    inv.at.get("invoice", inv.src),
                    "E-INVOICE-GAP",
                    f"invoice number{'s' if seq - expected > 1 else ''} {first}"
                    + (f" … {render(shape, year, month, token, seq - 1)}" if seq - expected > 1 else "")
                    + f" missing before {inv.invoice}: the numbers of a series run without gaps (deleted?)",
                    "restore the deleted invoice from git; a wrong invoice is corrected by a new one, never removed",
                )
            expected = max(expected, seq + 1)


def check_invoice_ledger(repo: Repo, lost_ids: frozenset = frozenset(), series: bool = True) -> Iterator[Diagnostic]:
    """Each invoice's arithmetic and references, copies, numbering gaps and missing digests (module doc;
    ``series`` False: the last two, rules over every invoice, are left to the caller: :func:`invoice_series`)."""
    invoices = sorted(repo.invoices.values(), key=lambda inv: inv.invoice)
    corrected = {inv.corrects for inv in invoices if inv.corrects}
    by_contract: dict[str, list[Invoice]] = {}
    for inv in invoices:
        by_contract.setdefault(inv.contract, []).append(inv)
    # one contract at a time: only its segment index, copies and billed periods are held, not the whole ledger's
    # (those were most of a check's peak memory at 50,000 accounts)
    for cid, group in by_contract.items():
        c = repo.contracts.get(cid)
        index = segment_index(c) if c is not None else {}
        yield from _contract_invoices(repo, c, group, index, lost_ids)
        # copies: the same contract, date and lines under another number
        seen: dict[tuple, str] = {}
        for inv in group:
            key = (inv.date, inv.lines, inv.corrects)
            if key in seen:
                yield _err(
                    inv.at.get("invoice", inv.src),
                    "E-INVOICE-DUPLICATE",
                    f"invoice {inv.invoice} repeats invoice {seen[key]} (same contract, date and lines)",
                    "remove the copy: an invoice is issued once (`git log -- FILE` shows where it came from)",
                )
            seen.setdefault(key, inv.invoice)
        yield from _double_billed(repo, group, index, corrected)
    if series:
        yield from invoice_series(repo.settings, invoices, gaps=repo.whole)  # one account's invoices are no series


def invoice_series(settings, invoices: list[Invoice] | list[InvoiceFacts], gaps: bool = True) -> Iterator[Diagnostic]:
    """The rules over every invoice (``invoices`` in number order): numbering gaps (``gaps``) and missing digests."""
    # numbering: each series (a year, a month, a branch's token) runs 1, 2, 3… (a deleted invoice leaves a gap)
    for pattern in dict.fromkeys((settings.numbering_invoice, settings.numbering_correction)):
        if gaps:
            yield from _gaps(pattern, invoices)
    # digests: every invoice issued since cpqctl writes them carries one
    digested = [inv.date for inv in invoices if inv.digest]
    since = min(digested, default=None)
    legacy = []
    for inv in invoices:
        if inv.digest:
            continue
        if since is not None and inv.date >= since:
            yield _err(
                inv.src,
                "E-INVOICE-DIGEST",
                f"invoice {inv.invoice} has no digest line, but invoices issued since {since} carry one",
                "issued invoices are immutable: restore the file from git (`git checkout -- FILE`)",
            )
        else:
            legacy.append(inv)
    if legacy:
        yield Diagnostic.at(
            legacy[0].src,
            "W-INVOICE-DIGEST",
            f"{len(legacy)} invoice(s) ({legacy[0].invoice}"
            + (f" … {legacy[-1].invoice}" if len(legacy) > 1 else "")
            + ") were issued without a digest (before cpqctl wrote one): an edit of them cannot be detected",
            "review them once against your accounting records; invoices issued from now on carry a digest",
            "warning",
        )


def _contract_invoices(
    repo: Repo, c: Contract | None, invoices: list[Invoice], held: dict, lost_ids: frozenset
) -> Iterator[Diagnostic]:
    """Each of one contract's invoices on its own: account, segments (``held``: the contract's by ID), taxes and
    totals (``c`` None: the contract is unknown, which :func:`cpqctl.core.checks.check_invoices` reports)."""
    for inv in invoices:
        where = inv.at.get
        if inv.account not in repo.accounts and ("account", inv.account) not in lost_ids:
            yield _err(
                where("account", inv.src),
                "E-UNKNOWN-ACCOUNT",
                f"unknown account `{inv.account}`",
                "an invoice bills an account of contracts/",
            )
        if c is not None:
            own = (f"{c.contract}#", f"{c.contract}/")
            stray = next((ln.segment for ln in inv.lines if not ln.segment.startswith(own)), None)
            if stray:
                yield _err(
                    where("lines", inv.src),
                    "E-INVOICE-SEGMENT",
                    f"invoice {inv.invoice} bills segment {stray}, which is not a segment of {c.contract}",
                )
            else:
                lost = next((ln.segment for ln in inv.lines if ln.segment not in held), None)
                if lost:
                    yield _err(
                        where("lines", inv.src),
                        "E-INVOICE-SEGMENT",
                        f"invoice {inv.invoice} bills segment {lost}, which {c.contract}'s ledger does not hold "
                        "(an amendment dropped when branches merged?)",
                        "`cpqctl resolve` re-appends an accepted amendment a merge dropped; see docs/teamwork.md",
                    )
        if inv.taxes:
            zero = inv.net_total - inv.net_total
            bases = sum((t.base for t in inv.taxes), zero)
            if bases != inv.net_total:
                yield _err(
                    where("taxes", inv.src),
                    "E-INVOICE-TAX",
                    f"the tax bases add up to {bases}, not the net total {inv.net_total}",
                )
            rounding = c.rounding if c is not None else None
            for t in inv.taxes:
                if (
                    not _tax_ok(t.amount, t.base, t.rate, inv.currency, rounding)
                    and not _line_tax_ok(inv, t.amount, t.rate, rounding)
                    and not (inv.kind == "correction" and _difference_tax_ok(t.amount, t.base, t.rate, inv.currency))
                ):
                    yield _err(
                        where("taxes", inv.src),
                        "E-INVOICE-TAX",
                        f"tax {t.amount} is not {t.rate}% of {t.base} rounded to the currency's minor unit",
                    )
            gross = inv.net_total + sum((t.amount for t in inv.taxes), zero)
            if gross != inv.gross_total:
                yield _err(
                    where("gross_total", inv.src),
                    "E-INVOICE-TOTAL",
                    f"gross_total {inv.gross_total} is not net + tax ({gross})",
                )
        elif inv.gross_total != inv.net_total:
            yield _err(
                where("gross_total", inv.src),
                "E-INVOICE-TOTAL",
                f"gross_total {inv.gross_total} differs from net_total {inv.net_total} and the invoice lists no tax",
            )
