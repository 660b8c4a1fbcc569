"""Quotes: `cpqctl quote new | show | approve | accept | render`.

The rules (status, price, what may be accepted) are :mod:`cpqctl.core.quotes`;
the files this module writes are :mod:`cpqctl.formats.quotes`' texts, the JSON
shape :mod:`cpqctl.views.quotes`'. Numbers (quote, contract) are allocated
under the repository lock; every file of one call is staged in one
transaction, written together or not at all.

Accepting a quote:

- new      → the quote frozen (priced lines, signer, digest) + a new contract file
- renewal  → the same, the new contract naming its predecessor (`renews:`)
- amendment→ the quote frozen + an amendment appended to the contract (pure addition)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from cpqctl.app.workspace import Workspace, lookup
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.model import Quote, Repo, SignatureRecord

if TYPE_CHECKING:
    from cpqctl.core.pricing import PricedQuote


class NewLine(NamedTuple):
    """One line of a new-business quote: product, quantity and an optional manual discount.

    ``discount`` is percent points (10 = 10 %), ``discount_amount`` off each unit.
    """

    product: str
    quantity: Decimal
    discount: Decimal | None = None
    discount_amount: Decimal | None = None


_LINE_RE = re.compile(
    r"([A-Za-z0-9][A-Za-z0-9._-]*)=([0-9]+(?:\.[0-9]+)?)"
    r"(?:@(?:([0-9]+(?:\.[0-9]+)?)%|([0-9]+(?:\.[0-9]+)?)))?"
)


def parse_line(text: str) -> NewLine:
    """``CODE=QTY``, ``CODE=QTY@10%`` (manual discount) or ``CODE=QTY@5.00`` (discount per unit)."""
    m = _LINE_RE.fullmatch(text.strip())
    if not m:
        raise UsageError(
            "E-USAGE",
            f"`--line {text}` is not CODE=QTY, CODE=QTY@10% or CODE=QTY@5.00",
            "e.g. --line PRO-SEAT=50 --line SSO=1@10%",
        )
    from cpqctl.load.schema import MAX_MONEY, MAX_QUANTITY

    code, qty, pct, amount = m.groups()
    too_large = (
        f"the quantity {qty} is not less than {MAX_QUANTITY:,}"
        if Decimal(qty) >= MAX_QUANTITY
        else f"the discount {pct}% is more than 100%"
        if pct and Decimal(pct) > 100
        else f"the discount {amount} is not less than {MAX_MONEY:,}"
        if amount and Decimal(amount) >= MAX_MONEY
        else None
    )
    if too_large:
        raise UsageError("E-RANGE", f"`--line {text}`: {too_large}", "check the number (a typo?)")
    return NewLine(code, Decimal(qty), Decimal(pct) if pct else None, Decimal(amount) if amount else None)


def _check_term_bound(term: int | None) -> None:
    """A term beyond the longest a data file may hold (100 years) is a typo, and its dates would not exist."""
    from cpqctl.load.schema import MAX_TERM

    if term is not None and term > MAX_TERM:
        raise UsageError("E-RANGE", f"--term {term} is more than {MAX_TERM} months", "check the number, e.g. --term 12")


def find_quote(repo: Repo, quote_id: str) -> Quote:
    """The quote ``quote_id``, or a refusal naming the closest known one."""
    return lookup(repo.quotes, quote_id, "quote", "E-UNKNOWN-QUOTE", "quotes are files under quotes/")


@dataclass(frozen=True)
class QuoteResult:
    """A priced quote: the record (``quote.quote`` is "(dry run)" when none was written), its prices and status.

    ``data`` is the `--format json` shape (its ``quote`` None for a dry run);
    ``written`` the files written, ``message`` what to say about them (empty: nothing).
    """

    quote: Quote
    priced: PricedQuote
    status: str
    data: dict
    written: tuple[str, ...] = ()
    message: str = ""


def quote_result(
    repo: Repo,
    q: Quote,
    priced: PricedQuote,
    day: date,
    written: tuple[str, ...] = (),
    message: str = "",
    unnamed: bool = False,
) -> QuoteResult:
    """The result of showing ``q`` on ``day`` (``unnamed``: a dry run's, whose JSON names no quote)."""
    from cpqctl.core.quotes import quote_status
    from cpqctl.views.quotes import quote_json

    st = quote_status(q, priced, repo.settings, day)
    data = quote_json(q, priced, st, repo.settings)
    if unnamed:
        data["quote"] = None
    return QuoteResult(q, priced, st, data, written, message)


# --------------------------------------------------------------------------- new


def new_quote(
    ws: Workspace,
    *,
    account: str,
    start: date,
    lines: Sequence[str | NewLine | tuple],
    term: int | None = None,
    end: date | None = None,
    billing: str | None = None,
    evergreen: bool = False,
    as_of: date | None = None,
    dry_run: bool = False,
) -> QuoteResult:
    """Create a new-business draft quote (priced now, and whenever shown): ``quotes/<ID>.yaml``.

    ``lines`` are :class:`NewLine` (or tuples of its fields) or their text
    (``"PRO-SEAT=50"``, ``"SSO=1@10%"``, ``"SSO=1@5.00"``). The term is
    ``term`` months (default 12) unless ``end`` or ``evergreen`` is given. The
    quote number is allocated under the repository lock; ``dry_run`` prices
    and writes nothing.
    """
    from cpqctl.core import quotes
    from cpqctl.core.model import QuoteLine, Source
    from cpqctl.formats.quotes import draft_text

    day = ws.day(as_of)
    if evergreen and (term or end):
        raise UsageError("E-USAGE", "an evergreen quote has no term or end", "drop --term/--end")
    if term is not None and term <= 0:
        raise UsageError("E-USAGE", "--term is a positive number of months", "e.g. --term 12")
    _check_term_bound(term)
    parsed = [parse_line(x) if isinstance(x, str) else NewLine(*x) for x in lines]
    qlines = tuple(
        QuoteLine(code, qty, pct, amt, src=Source("--line", i + 1, 1)) for i, (code, qty, pct, amt) in enumerate(parsed)
    )
    with ws.writing_account(account) as (store, repo):
        if account not in repo.accounts:
            lookup(repo.accounts, account, "account", "E-UNKNOWN-ACCOUNT", "accounts are the folders under contracts/")
        draft = Quote(
            quote="(new)",
            account=account,
            date=day,
            lines=qlines,
            start=start,
            term=None if (end or evergreen) else (term or 12),
            end=end,
            evergreen=evergreen,
            billing_frequency=billing,
            src=Source("(command line)"),
        )
        priced = quotes.price(repo, draft)
        if dry_run:
            return quote_result(repo, dataclasses.replace(draft, quote="(dry run)"), priced, day, unnamed=True)
        from cpqctl.app.numbers import Numbers

        qid = Numbers.here(ws.root, repo.settings).quote(day, ws.quote_ids(repo))
        rel = f"quotes/{qid}.yaml"
        with store.transaction() as tx:
            tx.create(rel, draft_text(qid, account, day, start, draft.term, end, billing, evergreen, parsed))
        return quote_result(repo, dataclasses.replace(draft, quote=qid), priced, day, (rel,), f"wrote {rel}")


# --------------------------------------------------------------------------- show


def show_quote(ws: Workspace, quote_id: str, *, as_of: date | None = None) -> QuoteResult:
    """A quote priced with every step of the waterfall, and its status on ``as_of``.

    Drafts are re-priced from today's catalog; accepted quotes keep their
    frozen prices. Loads only the files the quote needs.
    """
    from cpqctl.core import quotes

    day = ws.day(as_of)
    repo = ws.quote_context(quote_id)
    q = find_quote(repo, quote_id)
    return quote_result(repo, q, quotes.price(repo, q), day)


# --------------------------------------------------------------------------- approve


@dataclass(frozen=True)
class ApproveResult:
    quote: str
    by: str
    date: date
    written: tuple[str, ...]
    message: str


def approve_quote(ws: Workspace, quote_id: str, *, by: str, as_of: date | None = None) -> ApproveResult:
    """Approve a quote (one with a manual discount or a typed price beyond [approvals] max_discount needs it).

    Sets `status: approved` and the approval — approver, date and the digest
    of the priced quote approved — in the quote's file, every other line as it
    was. The approval covers that priced quote only: after any change (an edit
    of the draft, a catalog price) it is void and the quote needs approving
    again. A quote whose approval still holds keeps its first approval.
    Refused for an accepted quote.
    """
    from cpqctl.core import quotes
    from cpqctl.formats.quotes import approved_text
    from cpqctl.store import sha256_file

    day = ws.day(as_of)
    with ws.writing_quote(quote_id) as (store, repo):
        q = find_quote(repo, quote_id)
        if q.status == "accepted":
            raise CpqError("E-ACCEPTED", f"quote {quote_id} is already accepted", "nothing to approve", src=q.src)
        priced = quotes.price(repo, q)
        rel = q.src.file
        path = ws.root / rel
        text = path.read_text(encoding="utf-8")
        holds = q.approved is not None and quotes.approval_void(q, priced) is None
        if holds:
            assert q.approved is not None
            by, day = q.approved.by, q.approved.date
        new_text = text if holds else approved_text(text, by, day, quotes.priced_digest(q, priced))
        with store.transaction() as tx:
            tx.write(rel, new_text, expect_sha256=sha256_file(path))
    return ApproveResult(quote_id, by, day, (rel,), f"{quote_id} approved by {by} on {day}")


# --------------------------------------------------------------------------- redate


@dataclass(frozen=True)
class RedateResult(QuoteResult):
    """A draft re-dated (:class:`QuoteResult`, priced and with its status on the new date): ``was`` its date
    before; ``notes`` what still stands between it and acceptance (an approval, a presentation)."""

    was: date | None = None
    dry_run: bool = False
    notes: tuple[str, ...] = ()


def redate_quote(ws: Workspace, quote_id: str, *, as_of: date | None = None, dry_run: bool = False) -> RedateResult:
    """Give a draft the as-of day as its date — a new validity — and price it again (``dry_run``: write nothing).

    Only `date:` changes in the file (every other line as it was), so what the quote
    offers is what it offered: a new-business draft is priced from today's catalog
    (as every draft is whenever shown; a draft without `start:` starts on its date
    and moves with it); an amendment draft keeps its delta lines and their prices as
    written; a renewal draft keeps its lines (list-priced ones follow the catalog).

    Refused for an accepted quote (E-ACCEPTED), for an as-of day before the quote's
    date, and for a draft that no longer fits its contract — re-dating must not make
    a stale quote acceptable again:

    - an amendment draft whose contract changed since it was made (E-STALE-QUOTE:
      ``based_on`` is not the contract's number of amendments) or was cancelled
      (E-CANCELLED): make it again with `cpqctl amend`;
    - a renewal draft whose contract was renewed (E-RENEWED), cancelled (E-CANCELLED),
      or whose ledger changed it (E-STALE-QUOTE: another end, or — for a draft still
      as `cpqctl renew` wrote it — other lines): `cpqctl renew` regenerates it.

    An approval and the presentations recorded on the draft stay: they cover the
    priced quote (its digest), not its date. The approval holds if the draft
    prices as approved and is void otherwise (the status says needs-approval);
    `quote accept` still refuses prices other than those last presented
    (E-PRICES-CHANGED). ``notes`` says which applies.
    """
    from cpqctl.core import quotes
    from cpqctl.formats.quotes import redated_text
    from cpqctl.store import sha256_file

    day = ws.day(as_of)
    with ws.writing_quote(quote_id) as (store, repo):
        q = find_quote(repo, quote_id)
        if q.status == "accepted":
            raise CpqError(
                "E-ACCEPTED",
                f"quote {q.quote} is accepted: it cannot be re-dated",
                "accepted quotes are immutable; change the contract with `cpqctl amend`",
                src=q.where("status"),
            )
        if day < q.date:
            raise UsageError(
                "E-USAGE",
                f"the as-of day {day} is before quote {q.quote}'s date {q.date}: re-dating moves a date forward",
                "run it on a later --as-of (default: today)",
            )
        rel = q.src.file
        path = ws.root / rel
        text = path.read_bytes().decode("utf-8")  # bytes as they are (no newline translation)
        _check_current(repo, q, text)
        redated = dataclasses.replace(q, date=day)
        priced = quotes.price(repo, redated)
        notes = _redate_notes(redated, priced)
        if day == q.date:
            shown = quote_result(
                repo, redated, priced, day, message=f"{q.quote} is dated {day} already: nothing written"
            )
            return RedateResult(**_fields(shown), was=q.date, dry_run=dry_run, notes=notes)
        new_text = redated_text(text, day, rel)
        written: tuple[str, ...] = ()
        if not dry_run:
            with store.transaction() as tx:
                tx.write(rel, new_text, expect_sha256=sha256_file(path))
            written = (rel,)
    verb = "would re-date" if dry_run else "re-dated"
    message = "; ".join([f"{verb} {q.quote} from {q.date} to {day} in {rel}", *notes])
    shown = quote_result(repo, redated, priced, day, written, message)
    return RedateResult(**_fields(shown), was=q.date, dry_run=dry_run, notes=notes)


def _fields(r: QuoteResult) -> dict:
    return {f.name: getattr(r, f.name) for f in dataclasses.fields(QuoteResult)}


def _check_current(repo: Repo, q: Quote, text: str) -> None:
    """Refuse to re-date an amendment or renewal draft that its contract has left behind (see :func:`redate_quote`)."""
    from cpqctl.core import ledger

    c = repo.contracts.get(q.contract or "") if q.kind != "new" else None
    if c is None:
        return  # a new-business draft (or a dangling reference, which the loader's checks report)
    regenerate = (
        f"make it again with `cpqctl amend {c.contract} …`"
        if q.kind == "amendment"
        else f"`cpqctl renew {c.contract}` regenerates it from the ledger (dated today)"
    )
    if q.kind == "amendment":
        if q.based_on is not None and q.based_on != len(c.amendments):
            raise CpqError(
                "E-STALE-QUOTE",
                f"contract {c.contract} has changed since {q.quote} was made "
                f"({len(c.amendments)} amendments now, {q.based_on} then): re-dating would not make it current",
                regenerate,
                src=q.where("based_on"),
            )
        canc = next((a for a in reversed(c.amendments) if a.cancelled is not None), None)
        if ledger.cancellation(c) is not None and not (canc and q.rebases and q.rebases == canc.quote):
            raise CpqError("E-CANCELLED", f"contract {c.contract} is cancelled; it cannot be amended", "", src=q.src)
        return
    if q.kind != "renewal":
        return
    from cpqctl.core import renewal

    succ = repo.successors.get(c.contract)
    if succ:
        raise CpqError("E-RENEWED", f"contract {c.contract} is already renewed by {succ}", "", src=q.src)
    renewal.check_renewable(repo, c)  # cancelled (or evergreen) since
    start = renewal.renewal_start(c)
    if q.start is not None and q.start != start:
        raise CpqError(
            "E-STALE-QUOTE",
            f"contract {c.contract} now ends on {start - timedelta(days=1)}: its renewal starts on {start}, "
            f"renewal quote {q.quote} on {q.start}",
            regenerate,
            src=q.where("start"),
        )
    from cpqctl.formats.quotes import edited_by_hand, renewal_pricing_of, renewal_quote_text

    method = renewal_pricing_of(text)
    if edited_by_hand(text) or method is None or q.term is None:
        return  # lines edited by hand: what they should be is the editor's call
    terms = renewal.RenewalPricing(method[0], method[1], q.term)
    lines = renewal.renewal_lines(c, repo.catalog, repo.settings, terms)
    now = renewal.quote_record(q.quote, c, q.date, terms, lines, c.billing_frequency)
    if renewal_quote_text(now, terms) != text:
        raise CpqError(
            "E-STALE-QUOTE",
            f"contract {c.contract}'s ledger has changed since renewal quote {q.quote} was made: "
            "its lines are not what the contract renews now",
            regenerate,
            src=q.src,
        )


def _redate_notes(q: Quote, priced: PricedQuote) -> tuple[str, ...]:
    """What an approval and the presentations recorded on a re-dated draft mean now."""
    from cpqctl.core import quotes

    out = []
    if q.approved is not None:
        void = quotes.approval_void(q, priced)
        out.append(
            f"{void}: approve it again" if void else f"the approval by {q.approved.by} on {q.approved.date} still holds"
        )
    if q.presented:
        last = q.presented[-1]
        if quotes.presented_changes(q, priced):
            out.append(
                f"it prices differently from the document presented on {last.date}: render it again and present "
                "it (`quote accept` refuses other prices without --reprice)"
            )
        else:
            out.append(f"last presented on {last.date} with the old validity: render it again to present the new one")
    return tuple(out)


# --------------------------------------------------------------------------- accept


@dataclass(frozen=True)
class AcceptResult:
    """An accepted quote: the contract it created (new, renewal) or amended (``amendment`` its new entry)."""

    quote: str
    kind: str
    contract: str
    amendment: str | None
    written: tuple[str, ...]
    message: str
    repriced: tuple[str, ...] = ()  # with ``reprice``: how the accepted prices differ from those presented
    document: Path | None = None  # with ``reprice`` and a change: the quote document rendered again


def accept_quote(
    ws: Workspace,
    quote_id: str,
    *,
    signed_by: str | SignatureRecord,
    signed_on: date | None = None,
    lock_prices: bool = False,
    reprice: bool = False,
    as_of: date | None = None,
) -> AcceptResult:
    """Accept a quote: freeze its prices and digest, and create (or amend, or renew) the contract.

    A draft that was presented to the customer (`quote render` records it) is
    accepted only at the prices last presented: if it now prices differently
    (an edit, a catalog change) it is refused with the differences
    (E-PRICES-CHANGED), unless ``reprice``: then it is accepted at today's
    prices and its document is rendered again (``document``, in the format last
    presented, to out/<ID>.<ext>). A quote never presented is accepted at
    today's prices. See :func:`_accept_files` for the other refusals.
    """
    seen: dict = {}
    result = _accept_files(
        ws,
        quote_id,
        signed_by=signed_by,
        signed_on=signed_on,
        lock_prices=lock_prices,
        reprice=reprice,
        as_of=as_of,
        seen=seen,
    )
    changes = seen.get("changes")
    if not changes:
        return result
    doc = _render(ws, result.quote, seen.get("format") or "pdf", None, ws.day(as_of))
    return dataclasses.replace(
        result,
        repriced=tuple(changes),
        document=doc.path,
        message=f"{result.message}; accepted at today's prices, not those presented ({'; '.join(changes)}); "
        f"rendered {doc.path} again",
    )


def _accept_files(
    ws: Workspace,
    quote_id: str,
    *,
    signed_by: str | SignatureRecord,
    signed_on: date | None = None,
    lock_prices: bool = False,
    reprice: bool = False,
    as_of: date | None = None,
    seen: dict,
) -> AcceptResult:
    """Accept a quote: freeze its prices and digest, and create (or amend, or renew) the contract.

    Refused for an accepted or expired quote, one that needs approval, an
    amendment quote made before the contract last changed, and a contract
    cancelled or already renewed. ``signed_on`` defaults to the as-of day and lies
    between the quote date and the as-of day, within the quote's validity (E-SIGNED-ON);
    ``lock_prices`` records the accepted net prices as the account's
    contracted prices until the contract ends. All files are written together
    or not at all.
    """
    from cpqctl.app.amend import REPAIRS

    day = ws.day(as_of)
    signed = signed_on if signed_on is not None else day
    scope = _quote_account(ws.root, quote_id)  # accepting changes one account's files: only they are read
    with _ContractHigh(ws.root, quote_id) as high:
        for account in (scope, None) if scope else (None,):
            writing = ws.writing_account(account, REPAIRS, books=True) if account else ws.writing(tolerate=REPAIRS)
            with writing as (store, repo):
                if not repo.whole and not _own(repo, quote_id):
                    continue  # not this account's quote once the lock is held (the file changed, or the plain
                    # match misread it), or a renewal of a contract in another folder: the whole repository
                q = find_quote(repo, quote_id)
                return _accept_in(ws, store, repo, q, signed_by, signed, day, lock_prices, reprice, seen, high)
    raise AssertionError("the whole repository's pass returns or raises")


class _ContractHigh:
    """The highest contract numbers in use over every account folder, for the contract a quote accepted on one
    account's files creates (:func:`cpqctl.load.ids.contract_high`; 0.2 s of system calls at 50,000 accounts).

    Listed by a child process while this one reads the account and prices the quote (:mod:`cpqctl.load.forked`):
    the one the CLI's entry point started for this quote (:mod:`cpqctl.cli.entry`), else one started here. Its
    answer counts only if the lock file's token it read first is the one found under the lock (no cpqctl commit
    in between: :func:`cpqctl.load.ids.lock_token`) and it remembers the pattern asked for; otherwise the same
    listing is done here, under the lock. The number is the one the whole repository's path gives either way."""

    def __init__(self, root: Path, quote_id: str) -> None:
        from cpqctl.load import forked, ids

        self.root = root
        self.job = forked.take(ids.contract_state_key(root, quote_id))
        if self.job is None and forked.can_fork():
            self.job = forked.Forked(ids.contract_state, root, quote_id)

    def rows(self, pattern: str) -> list[list]:
        """The highest numbers of ``pattern``'s series (call under the lock)."""
        from cpqctl.load import ids

        job, self.job = self.job, None
        state = job.answer() if job is not None else None
        if type(state) is dict and state.get("token") == ids.lock_token(self.root) and type(state.get("high")) is dict:
            rows = state["high"].get(pattern)
            if ids.high_rows_valid(rows):
                return rows
        return ids.contract_high(self.root, pattern)

    def __enter__(self) -> _ContractHigh:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.job is not None:
            self.job.close()


def _accept_in(
    ws: Workspace,
    store,
    repo: Repo,
    q: Quote,
    signed_by: str | SignatureRecord,
    signed: date,
    day: date,
    lock_prices: bool,
    reprice: bool,
    seen: dict,
    high: _ContractHigh,
) -> AcceptResult:
    """:func:`_accept_files` with the lock held and the repository loaded (``repo``)."""
    from cpqctl.app.numbers import Numbers
    from cpqctl.app.workspace import require_clean
    from cpqctl.core import ledger, quotes
    from cpqctl.formats import quotes as texts
    from cpqctl.formats.digest import digest_of
    from cpqctl.store import sha256_file

    root = ws.root
    if store.tolerated and not q.rebases:  # only the repair of a merged ledger is accepted on one
        require_clean(store.tolerated)
    settings = repo.settings
    with store.transaction() as tx:
        priced = quotes.price(repo, q)
        quotes.check_acceptable(q, priced, settings, day)
        quotes.check_signed_on(q, settings, signed, day)
        if not reprice:
            quotes.check_presented(q, priced)
        seen["changes"] = quotes.presented_changes(q, priced)
        seen["format"] = q.presented[-1].format if q.presented else None
        if quotes.approval_void(q, priced):
            q = dataclasses.replace(q, approved=None)  # a void approval is not recorded as one
        qrel = q.src.file
        q_sha = sha256_file(root / qrel)
        if q.kind == "amendment":
            c = repo.contracts[q.contract or ""]  # the loader checked that it names one
            quotes.check_current(q, c)
            canc = next((a for a in reversed(c.amendments) if a.cancelled is not None), None)
            if ledger.cancellation(c) is not None and not (canc and q.rebases and q.rebases == canc.quote):
                raise CpqError(
                    "E-CANCELLED", f"contract {c.contract} is cancelled; it cannot be amended", "", src=q.src
                )
            aid = f"A-{len(c.amendments) + 1}"
            accepted = texts.accepted_text(q, priced, signed_by, signed, c.contract)
            tx.write(qrel, accepted, expect_sha256=q_sha)
            crel = c.src.file
            ctext = (root / crel).read_bytes().decode("utf-8")  # bytes as they are (no newline translation)
            tx.write(
                crel,
                texts.add_amendment(ctext, c, aid, q, priced, signed_by, signed, digest_of(accepted)),
                expect_sha256=sha256_file(root / crel),
            )
            return AcceptResult(
                q.quote,
                q.kind,
                c.contract,
                aid,
                (qrel, crel),
                f"accepted {q.quote}: amendment {aid} appended to {crel}",
            )
        # new business or renewal: a new contract
        # a number no contract holds: with one account's files loaded, past every account folder's contract names
        numbers = Numbers.here(root, settings)
        if repo.whole:
            cid = numbers.contract(priced.start, repo.contracts)
        else:  # past every folder's contract names (ids.contract_high) and the account's contracts loaded
            cid = numbers.contract_after(priced.start, high.rows(numbers.contract_series()), repo.contracts)
        renews = q.contract if q.kind == "renewal" else None
        if renews:
            succ = repo.successors.get(renews)
            if succ:
                raise CpqError("E-RENEWED", f"contract {renews} is already renewed by {succ}", "", src=q.src)
        crel = f"contracts/{q.account}/{cid}.yaml"
        # a renewal quote keeps naming the contract it renews; a new-business quote names the one it created
        accepted = texts.accepted_text(q, priced, signed_by, signed, cid if q.kind == "new" else None)
        tx.write(qrel, accepted, expect_sha256=q_sha)
        tx.create(
            crel,
            texts.contract_text(
                cid,
                q,
                priced,
                settings,
                signed_by,
                signed,
                renews,
                digest_of(accepted),
                account_anchor=acct.billing_anchor if (acct := repo.accounts.get(q.account)) else None,
            ),
        )
        written: tuple[str, ...] = (qrel, crel)
        msg = f"accepted {q.quote}: created {crel}"
        if lock_prices:
            acct = repo.accounts[q.account]
            arel = acct.src.file
            text = (root / arel).read_bytes().decode("utf-8")  # bytes as they are (no newline translation)
            add = texts.lock_prices_items(priced, priced.end)
            tx.write(arel, texts.add_contracted_prices(text, add, arel), expect_sha256=sha256_file(root / arel))
            written += (arel,)
            msg += f"; locked prices in {arel}"
    return AcceptResult(q.quote, q.kind, cid, None, written, msg)


_KIND_LINE = re.compile(rb"^kind:[ \t]*([a-z]+)[ \t]*(?:#.*)?\r?$", re.MULTILINE)


def _quote_account(root: Path, quote_id: str) -> str | None:
    """The account of a quote, read from its file's top-level ``account:`` line without parsing it; None when a
    plain match cannot tell (then the whole repository is read)."""
    from cpqctl.load.payment_index import quote_account

    return quote_account(root, quote_id)


def _own(repo: Repo, quote_id: str) -> bool:
    """Whether ``repo``, one account's files, holds the quote and what accepting it reads: the contract an
    amendment or a renewal names (a renewal of another account's contract: `check`'s E-QUOTE-ACCOUNT, read whole)."""
    q = repo.quotes.get(quote_id)
    if q is None:
        return False
    return q.kind == "new" or (q.contract or "") in repo.contracts


# --------------------------------------------------------------------------- render


@dataclass(frozen=True)
class RenderResult:
    """The document written (``path`` None with ``output`` "-": the bytes are ``payload``, for the caller to print)."""

    quote: str
    template: str
    path: Path | None
    message: str
    payload: bytes | None = None


def render_quote(
    ws: Workspace, quote_id: str, *, fmt: str = "pdf", output: Path | None = None, as_of: date | None = None
) -> RenderResult:
    """Render a quote document as Markdown (``md``) or PDF (``pdf``), by default to out/<ID>.<ext>.

    New business uses the `quote` template; an amendment quote the
    `amendment` template, a renewal quote the `renewal` template; the
    repository's templates/ override the built-in ones.

    Rendering a draft presents it: the priced lines and totals shown, and their
    digest, are recorded in the quote's file (`presented:`, a new entry only
    when they differ from the last one; ``output`` "-" too: the bytes were
    shown), so `quote accept` can refuse prices the customer never saw.
    Accepted quotes are rendered as signed and record nothing.
    """
    from cpqctl.app.documents import DOCUMENT_FORMATS

    if fmt not in DOCUMENT_FORMATS:
        raise UsageError("E-USAGE", f"unknown document format `{fmt}`", "md, pdf or json")
    return _render(ws, quote_id, fmt, output, ws.day(as_of))


def _render(ws: Workspace, quote_id: str, fmt: str, output: Path | None, day: date) -> RenderResult:
    """Render ``quote_id``; a draft's rendering is recorded in its file as presented (see :func:`render_quote`)."""
    from cpqctl.app.documents import render_bytes, write_bytes
    from cpqctl.core import quotes
    from cpqctl.formats.quotes import presented_text
    from cpqctl.store import sha256_file
    from cpqctl.views import documents

    store = ws.store()
    with store.lock():  # the presented record is a write: under the lock, on the quote's files only (flat)
        repo = ws.quote_context(quote_id)
        q = find_quote(repo, quote_id)
        priced = quotes.price(repo, q)
        data = documents.quote_data(repo, q, priced, quotes.quote_status(q, priced, repo.settings, day), day)
        template = documents.quote_template(q)
        payload = render_bytes(ws.root, template, fmt, data, day)
        record = quotes.presentation(q, priced, day, fmt)
        recorded = ""
        shown = fmt != "json"  # a document presents the prices; the template data is for template authors
        if shown and q.status != "accepted" and (not q.presented or q.presented[-1].digest != record.digest):
            recorded = q.src.file
            path = ws.root / recorded
            text = path.read_bytes().decode("utf-8")
            with store.transaction() as tx:
                tx.write(recorded, presented_text(text, (*q.presented, record)), expect_sha256=sha256_file(path))
    doc = write_bytes(ws.root, q.quote, fmt, payload, output)
    said = [f"wrote {doc.path}"] if doc.path else []
    if recorded:
        said.append(f"recorded as presented in {recorded}")
    return RenderResult(q.quote, template, doc.path, "; ".join(said), doc.payload)
