"""Payments in: `payment record`, `payment import` (CAMT.053, MT940), `payment list`; `report ar` (docs/receivables.md).

Every write happens under the repository lock on a repository that is valid as ``check`` sees it, and each
new payment file is parsed back and checked with the rest before the one transaction that writes them all
(:meth:`~cpqctl.app.workspace.Workspace.writing`). Matching and the ledger of what each invoice still asks
for are pure (:mod:`cpqctl.core.receivables`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from cpqctl.app.accounts import find_account
from cpqctl.app.workspace import Workspace
from cpqctl.core import receivables
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.model import Repo
from cpqctl.core.money import fmt_decimal, money_str
from cpqctl.formats.payment import PaymentDraft, payment_path, payment_text

KINDS = ("payment", "refund", "write-off")
IMPORT_COLUMNS = ["date", "amount", "payer", "reference", "result", "payment", "account", "invoices"]
LIST_COLUMNS = ["payment", "date", "kind", "account", "amount", "allocated", "unallocated", "invoices", "reference"]
AR_COLUMNS = ["account", "current", "1-30", "31-60", "61-90", "90+", "credit", "balance", "dso"]


@dataclass(frozen=True)
class PaymentsWritten:
    """What `payment record` or `payment import` wrote (or, with ``dry_run``, would write)."""

    dry_run: bool
    written: tuple[str, ...]
    rows: list[dict]
    data: dict
    message: str


def _allocation_arg(text: str) -> tuple[str, Decimal | None]:
    """``NUMBER`` or ``NUMBER=AMOUNT`` of `--invoice`."""
    number, eq, amount = text.partition("=")
    hint = "write INVOICE or INVOICE=AMOUNT, e.g. INV-2027-0001=500.00"
    return number.strip(), (_need_amount(amount.strip(), hint) if eq else None)


def _need_amount(amount: Decimal | str, hint: str = "a positive amount, e.g. --amount 1379.96") -> Decimal:
    """A positive amount below 10^15 with at most 6 decimal places (E-USAGE otherwise)."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0 or value >= Decimal(10) ** 15 or value.as_tuple().exponent < -6:  # type: ignore[operator]
        raise UsageError("E-USAGE", f"`{amount}` is not an amount", hint)
    return value


def record_payment(
    ws: Workspace,
    *,
    account: str,
    amount: Decimal | str,
    currency: str | None = None,
    day: date | None = None,
    invoices: Sequence[str] = (),
    kind: str = "payment",
    reference: str = "",
    note: str = "",
    allocate: bool = True,
    dry_run: bool = False,
) -> PaymentsWritten:
    """Record one payment, refund or write-off of ``account``.

    ``invoices``: ``NUMBER`` or ``NUMBER=AMOUNT`` each; a number alone takes what is still open on it (for a
    refund: what the invoice owes the customer). Without any, a payment settles the account's open invoices in
    its currency oldest due first (``allocate=False``: none, all of it the customer's credit); a write-off or a
    refund must name its invoices.
    """
    from cpqctl.app.numbers import Numbers

    if kind not in KINDS:
        raise UsageError("E-USAGE", f"`{kind}` is not a kind of payment", f"one of: {', '.join(KINDS)}")
    value = _need_amount(amount)
    day = ws.day(day)
    wanted = [_allocation_arg(x) for x in invoices]
    if kind != "payment" and not wanted:
        raise UsageError(
            "E-USAGE",
            f"a {kind} names the invoices it is for",
            f"add --invoice NUMBER (or NUMBER=AMOUNT), e.g. cpqctl payment record --kind {kind} --account ACME "
            "--amount 100.00 --invoice INV-2027-0001",
        )
    # one account's files (flat with repository size, issue 21): its invoices, the payments that settle them
    with ws.writing_account(account, books=True, payments=True) as (store, repo):
        acct = find_account(repo, account)
        cur = (currency or acct.currency).upper()
        value = _in_minor_units(value, cur)
        led = receivables.ledger(repo, day)
        allocations = _allocations(
            repo, led, wanted, acct.account, cur, value, kind, day, oldest_first=allocate, root=ws.root
        )
        draft = PaymentDraft(
            date=day,
            amount=value,
            currency=cur,
            kind=kind,
            account=acct.account,
            reference=reference,
            note=note,
            allocations=tuple(allocations),
        )
        writer = Numbers.here(ws.root, repo.settings)
        ident = writer.next(repo.settings.numbering_payment, day, ws.payment_ids(repo))
        rel = payment_path(ident, day)
        if not dry_run:
            with store.transaction() as tx:
                tx.create(rel, payment_text(ident, draft))
    row = _draft_row(ident, draft)
    verb = "would write" if dry_run else "wrote"
    return PaymentsWritten(
        dry_run,
        () if dry_run else (rel,),
        [row],
        {"as_of": day.isoformat(), "dry_run": dry_run, "payments": [row | {"file": rel}]},
        f"{verb} {rel}: {kind} of {money_str(value, cur)} {cur} from {acct.account}"
        + (f", credit {money_str(value - sum(a for _, a in allocations), cur)}" if kind == "payment" else ""),
    )


def _in_minor_units(value: Decimal, currency: str) -> Decimal:
    """``value`` written with the currency's minor-unit places (30000 → 30000.00); more places are refused."""
    from cpqctl.core.money import minor_units

    q = Decimal(1).scaleb(-minor_units(currency))
    if value != value.quantize(q):
        raise UsageError(
            "E-USAGE",
            f"{fmt_decimal(value)} {currency} has more decimal places than the currency's {minor_units(currency)}",
            "round the amount to what a bank can transfer",
        )
    return value.quantize(q)


def _allocations(
    repo: Repo,
    led: receivables.Ledger,
    wanted: Sequence[tuple[str, Decimal | None]],
    account: str,
    currency: str,
    amount: Decimal,
    kind: str,
    day: date,
    oldest_first: bool,
    root: Path | None = None,
) -> tuple[tuple[str, Decimal], ...]:
    """What a payment, refund or write-off of ``amount`` settles: the invoices ``wanted`` (an amount each, or what
    is still open on it — for a refund what it owes the customer); with none, a payment settles the account's open
    invoices in its currency oldest due first (``oldest_first``; else nothing: all of it credit). ``root``: the
    repository, when ``repo`` holds one account's files (an invoice of another account is read on its own, to say
    whose it is)."""
    out: list[tuple[str, Decimal]] = []
    left = amount
    for number, part in wanted:
        chain = _chain(repo, led, number, account, currency, root)
        owed = -chain.open if kind == "refund" else chain.open
        take = _in_minor_units(part, currency) if part is not None else min(left, max(owed, Decimal(0)))
        if take <= 0:
            raise CpqError(
                "E-PAYMENT-ALLOCATION",
                f"{number} has nothing open to {'refund' if kind == 'refund' else 'settle'} on {day} "
                f"(status: {chain.status(day)})",
                f"`cpqctl invoice list --account {account}` shows what each invoice still asks for",
            )
        out.append((number, take))
        left -= take
    if kind == "payment" and not wanted and oldest_first:
        opens = sorted(
            (c for c in led.chains.values() if c.account == account and c.currency == currency and c.open > 0),
            key=lambda c: (c.due or c.date, c.invoice),
        )
        out = list(receivables.allocate(amount, [(c.invoice, c.open) for c in opens]))
    return tuple(out)


def _without(led: receivables.Ledger, p) -> receivables.Ledger:
    """The ledger as if payment ``p`` settled nothing."""
    field_of = {"payment": "paid", "write-off": "written_off", "refund": "refunded"}.get(p.kind)
    chains = dict(led.chains)
    for a in p.allocations:
        root = led.chain_of.get(a.invoice)
        if root is not None and field_of is not None:
            chains[root] = replace(chains[root], **{field_of: getattr(chains[root], field_of) - a.amount})
    return replace(led, chains=chains)


def _chain(
    repo: Repo, led: receivables.Ledger, number: str, account: str, currency: str, root: Path | None = None
) -> receivables.Chain:
    from cpqctl.app.workspace import lookup

    if root is not None and number not in repo.invoices and repo.elsewhere and repo.elsewhere("invoice", number):
        inv = _elsewhere(root, number)  # another account's (a write about one account loads only its own)
        if inv is not None:
            _payers(inv, number, account, currency)
    lookup(repo.invoices, number, "invoice", "E-UNKNOWN-INVOICE", "`cpqctl invoice list` lists the invoices")
    chain = led.of(number)
    inv = repo.invoices[number]
    if chain is None:
        raise UsageError("E-PAYMENT-ALLOCATION", f"{number} is dated {inv.date}, after the payment", "date it later")
    _payers(inv, number, account, currency)
    return chain


def _payers(inv, number: str, account: str, currency: str) -> None:
    if inv.account != account or inv.currency != currency:
        raise UsageError(
            "E-PAYMENT-ALLOCATION",
            f"{number} is an invoice of `{inv.account}` in {inv.currency}, not of `{account}` in {currency}",
            "a payment settles its payer's invoices in its own currency",
        )


def _elsewhere(root: Path, number: str):
    """The invoice ``number`` of another account than the one loaded, read on its own (None: its file does not
    load)."""
    from cpqctl.load.repo import load_invoice_context

    return load_invoice_context(root, number)[0].invoices.get(number)


def _draft_row(ident: str, d: PaymentDraft) -> dict:
    return {
        "payment": ident,
        "date": d.date.isoformat(),
        "kind": d.kind,
        "account": d.account or None,
        "amount": money_str(d.amount, d.currency),
        "currency": d.currency,
        "allocations": [{"invoice": n, "amount": money_str(a, d.currency)} for n, a in d.allocations],
        "unallocated": money_str(d.amount - sum((a for _, a in d.allocations), Decimal(0)), d.currency),
        "reference": d.reference or None,
    }


def allocate_payment(
    ws: Workspace,
    payment: str,
    *,
    account: str | None = None,
    invoices: Sequence[str] = (),
    other: bool = False,
    dry_run: bool = False,
) -> PaymentsWritten:
    """Name the account of a recorded payment (a line to review from an import) and the invoices it settles, or
    mark it ``other``: a bank line that is no customer's payment. Its allocations are replaced; without
    ``invoices`` the account's open invoices are settled oldest due first, as `payment record` does."""
    # one account's files (flat with repository size, issue 21): the account named, else the one the payment's
    # file names; a payment that is not there once the lock is held (another account's): the whole repository
    scope = account or _payment_account(ws.root, payment)
    for acct in (scope, None) if scope else (None,):
        with ws.writing_account(acct, books=True, payments=True) if acct else ws.writing() as (store, repo):
            if not repo.whole and payment not in repo.payments:
                continue
            return _allocate_in(ws, store, repo, payment, account, invoices, other, dry_run)
    raise AssertionError("the whole repository's pass returns or raises")


def _payment_account(root: Path, payment: str) -> str | None:
    """The account a payment file's top-level ``account:`` line names (None: no such file in a month folder of
    ``payments/``, no account, or a plain match cannot tell)."""
    from cpqctl.load.payment_index import account_in
    from cpqctl.load.schema import ID_RE

    if not ID_RE.fullmatch(payment):
        return None
    try:
        months = sorted(e.path for e in os.scandir(root / "payments") if e.is_dir(follow_symlinks=False))
    except OSError:
        return None
    for month in months:
        path = os.path.join(month, f"{payment}.yaml")
        if os.path.isfile(path) and not os.path.islink(path):
            return account_in(path) or None
    return None


def _allocate_in(
    ws: Workspace,
    store,
    repo: Repo,
    payment: str,
    account: str | None,
    invoices: Sequence[str],
    other: bool,
    dry_run: bool,
) -> PaymentsWritten:
    """:func:`allocate_payment` with the lock held and the repository (or one account's files) loaded."""
    from cpqctl.app.workspace import lookup
    from cpqctl.store import sha256_file

    p = lookup(repo.payments, payment, "payment", "E-UNKNOWN-PAYMENT", "`cpqctl payment list` lists them")
    allocations: tuple[tuple[str, Decimal], ...] = ()
    if other:
        draft_account, kind = "", "other"
    else:
        acct = find_account(repo, account or p.account) if (account or p.account) else None
        if acct is None:
            raise UsageError(
                "E-USAGE",
                f"{p.payment} names no account yet",
                f"add --account ID (who paid {p.amount} {p.currency} on {p.date})",
            )
        day = max(ws.as_of, p.date)
        led = _without(receivables.ledger(repo, day), p)  # its own allocations are replaced: give them back
        wanted = [_allocation_arg(x) for x in invoices]
        chosen = _allocations(
            repo, led, wanted, acct.account, p.currency, p.amount, p.kind, day, oldest_first=True, root=ws.root
        )
        draft_account, allocations, kind = acct.account, chosen, p.kind
    draft = PaymentDraft(
        date=p.date,
        amount=p.amount,
        currency=p.currency,
        kind=kind,
        account=draft_account,
        payer=p.payer,
        payer_iban=p.payer_iban,
        reference=p.reference,
        bank_ref=p.bank_ref,
        imported=p.imported,
        note=p.note,
        allocations=allocations,
    )
    rel = p.src.file
    if not dry_run:
        with store.transaction() as tx:
            tx.write(rel, payment_text(p.payment, draft), expect_sha256=sha256_file(ws.root / rel))
    row = _draft_row(p.payment, draft)
    verb = "would write" if dry_run else "wrote"
    what = (
        "no customer's payment"
        if kind == "other"
        else f"{draft_account}'s, settling " + (", ".join(n for n, _ in allocations) or "no invoice")
    )
    return PaymentsWritten(
        dry_run,
        () if dry_run else (rel,),
        [row],
        {"dry_run": dry_run, "payments": [row | {"file": rel}]},
        f"{verb} {rel}: {p.payment} is {what}",
    )


# --------------------------------------------------------------------------- import


def read_statement(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise UsageError(
            "E-USAGE", f"cannot read {path}: {e.strerror or e}", "give the path of a CAMT.053 or MT940 file"
        ) from None


def import_statement(
    ws: Workspace, *, name: str, data: bytes, fmt: str | None = None, dry_run: bool = False
) -> PaymentsWritten:
    """Record each credit of a bank statement as a payment, matched to the invoices it pays (docs/receivables.md).

    A credit whose remittance text names invoices (by number or RF reference) settles them, each up to what it
    still asks, the rest the payer's credit; otherwise one that equals exactly the open amount of a single
    invoice in its currency settles that one; otherwise it is recorded for nobody and listed to review
    (`payment list --review`), never allocated by a guess. Debits are left out (refunds are recorded with
    `payment record --kind refund`), reversals listed to review. An entry recorded before (the same account and
    bank reference) is recorded nothing again.
    """
    from cpqctl.formats import bankstatement

    lines = bankstatement.read(name, data, fmt)
    got = _import_in_parts(ws, lines, dry_run)
    if got is None:
        with ws.writing() as (store, repo):
            known = {p.imported for p in repo.payments.values() if p.imported}
            ibans = receivables.account_ibans((p.account, p.payer_iban) for p in repo.payments.values() if p.account)
            led = receivables.ledger(repo, _import_day(ws, lines))
            numbers = _Numbering(ws.root, repo.settings, repo.payments)
            rows, files = _match_lines(lines, led, receivables.NumberIndex(led.chain_of), ibans, known, numbers)
            if files and not dry_run:
                with store.transaction() as tx:
                    for rel, text, _ in files:
                        tx.create(rel, text)
    else:
        rows, files = got
    recorded = [r for r in rows if r["payment"]]
    review = [r for r in recorded if r["account"] is None] + [r for r in rows if r["result"].startswith("reversal")]
    verb = "would record" if dry_run else "recorded"
    message = (
        f"{name}: {len(lines)} entr{'y' if len(lines) == 1 else 'ies'}; {verb} {len(recorded)} payment(s), "
        f"{sum(1 for r in rows if r['result'] == 'already imported')} already imported, {len(review)} to review"
    )
    if review:
        message += " (`cpqctl payment list --review`; allocate with `payment allocate`)"
    return PaymentsWritten(
        dry_run,
        () if dry_run else tuple(rel for rel, _, _ in files),
        rows,
        {"file": name, "dry_run": dry_run, "entries": rows},
        message,
    )


def _import_day(ws: Workspace, lines) -> date:
    """The day of the ledger a statement is matched against: its last entry's, or the run's when later."""
    return max(max((ln.date for ln in lines), default=ws.as_of), ws.as_of)


class _Numbering:
    """The next payment number past ``existing`` (every payment ID in use), one call a new payment."""

    def __init__(self, root: Path, settings, existing) -> None:
        from cpqctl.app.numbers import Numbers

        self.ids = Numbers.here(root, settings).series_ids(settings.numbering_payment, existing)

    def next(self, day: date) -> str:
        ident = self.ids.peek(day)
        self.ids.take(ident)
        return ident


def _match_lines(
    lines, led: receivables.Ledger, index: receivables.NumberIndex, ibans: dict, known: set, numbers: _Numbering
) -> tuple[list[dict], list[tuple[str, str, str]]]:
    """Each statement line's row and the payment files to create, (path, text, the payment's account: "" for
    none), matched in (date, entry) order against ``led`` (each match settling its invoices for the lines after)."""
    chains = dict(led.chains)
    rows: list[dict] = []
    files: list[tuple[str, str, str]] = []
    for ln in sorted(lines, key=lambda ln: (ln.date, ln.key)):
        row: dict[str, object] = {
            "date": ln.date.isoformat(),
            "amount": money_str(ln.amount if ln.credit else -ln.amount, ln.currency),
            "currency": ln.currency,
            "payer": ln.payer or None,
            "reference": ln.text or None,
            "entry": ln.key,
            "payment": None,
            "account": None,
            "allocations": [],
        }
        if ln.key in known:
            rows.append(row | {"result": "already imported"})
            continue
        if not ln.credit:
            rows.append(row | {"result": "debit (left out)"})
            continue
        if ln.reversal:
            rows.append(row | {"result": "reversal: to review"})
            continue
        m = receivables.match_line(
            replace(led, chains=chains), ln.date, ln.amount, ln.currency, ln.text, ln.payer_iban, ibans, index
        )
        draft = PaymentDraft(
            date=ln.date,
            amount=_in_minor_units(ln.amount, ln.currency),
            currency=ln.currency,
            account=m.account if m else "",
            payer=ln.payer,
            payer_iban=ln.payer_iban,
            reference=ln.text,
            bank_ref=ln.bank_ref,
            imported=ln.key,
            allocations=m.allocations if m else (),
        )
        ident = numbers.next(ln.date)
        known.add(ln.key)
        if m is not None:
            for number, part in m.allocations:
                chains[number] = replace(chains[number], paid=chains[number].paid + part)
            if ln.payer_iban:
                ibans.setdefault(receivables.compact_iban(ln.payer_iban), m.account)
        files.append((payment_path(ident, ln.date), payment_text(ident, draft), draft.account))
        result = f"matched by {m.how}" if m else "to review"
        rows.append(row | _draft_row(ident, draft) | {"result": result, "entry": ln.key})
    return rows, files


def _import_in_parts(ws: Workspace, lines, dry_run: bool) -> tuple[list[dict], list[tuple[str, str, str]]] | None:
    """`payment import` on a big repository, read one part at a time (:meth:`Workspace.clean_parts`: whole account
    folders with their contracts' invoices and their payments, after `check` found the repository free of errors;
    issue 21: the whole model of 50,000 accounts with a year of invoices took 1.0 GB): the rows and files, written
    unless ``dry_run``, or None when the whole repository is read instead (small, an error, or what the parts cannot
    stand for).

    Each part gives what the statement's lines can match of it: the chains its lines name (every number the
    :class:`~cpqctl.core.receivables.NumberIndex` finds in a line's text) and those whose open amount on a line's
    day is a line's amount in its currency, with the payments' imported entries and payers' IBANs. A line's match
    reads only such chains, and a match settles only such chains, so matching the lines in order over them gives
    the whole ledger's answer. The new files are checked before the one transaction that writes them all, each
    with its account's files (:func:`cpqctl.load.repo.load_account_parts`, the closed months' share of them
    :class:`cpqctl.app.closing.AccountBooks`), a payment for nobody with the others of its kind."""

    credits = [ln for ln in lines if ln.credit and not ln.reversal]
    with ws.clean_parts() as parts:
        if parts is None:
            return None
        day = _import_day(ws, lines)
        wanted = {(ln.currency, ln.amount) for ln in credits}
        days = sorted({ln.date for ln in credits})

        def one(repo: Repo):
            led = receivables.ledger(repo, day)
            index = receivables.NumberIndex(led.chain_of)
            named = {n for ln in credits for n in index.candidates(ln.text)}
            roots = {led.chain_of[n] for n in named}
            for root, c in led.chains.items():
                if (c.currency, c.open) in wanted or (
                    c.corrections and any((c.currency, c.open_on(d)) in wanted for d in days)
                ):
                    roots.add(root)
            payers = [(p.account, p.payer_iban) for p in repo.payments.values() if p.account]
            imported = {p.imported for p in repo.payments.values() if p.imported}
            return {r: led.chains[r] for r in roots}, {n: led.chain_of[n] for n in named}, payers, imported

        got = parts.read(_IMPORT_KINDS, one)
        if got is None:
            return None
        chains = {r: c for part in got for r, c in part[0].items()}
        chain_of = {r: r for r in chains} | {n: r for part in got for n, r in part[1].items()}
        ibans = receivables.account_ibans(pair for part in got for pair in part[2])
        known = {key for part in got for key in part[3]}
        del got
        led = receivables.Ledger(day, chains, chain_of, {})
        numbers = _Numbering(ws.root, parts.settings, ws.payment_ids())
        rows, files = _match_lines(lines, led, receivables.NumberIndex(chain_of), ibans, known, numbers)
        if files and not dry_run:
            store = parts.held
            store.validator = ws.per_account(_groups(files), payments=True)
            with store.transaction() as tx:
                for rel, text, _ in files:
                    tx.create(rel, text)
        return rows, files


_IMPORT_KINDS = frozenset({"account", "invoice", "payment"})  # what the ledger reads (receivables.ledger)


def _groups(files: list[tuple[str, str, str]]) -> dict[str, set[str]]:
    """The new payment files by their account ("" for none)."""
    out: dict[str, set[str]] = {}
    for rel, _, acct in files:
        out.setdefault(acct, set()).add(rel)
    return out


# --------------------------------------------------------------------------- listing and the AR report


def list_payments(
    ws: Workspace,
    *,
    account: str | None = None,
    review: bool = False,
    unallocated: bool = False,
    start: date | None = None,
    end: date | None = None,
    as_of: date | None = None,
) -> tuple[list[dict], dict]:
    """Payments by date (``review``: those no account is named for yet; ``unallocated``: those with something left
    for no invoice)."""
    day = ws.day(as_of)
    repo = ws.read({"account", "payment"})
    if account is not None:
        find_account(repo, account)
    rows = []
    for p in sorted(repo.payments.values(), key=lambda p: (p.date, p.payment)):
        if (
            (account is not None and p.account != account)
            or (review and (p.account or p.kind == "other"))
            or (unallocated and (p.unallocated <= 0 or p.kind in ("other", "write-off")))
            or (start is not None and p.date < start)
            or (end is not None and p.date > end)
            or p.date > day
        ):
            continue
        rows.append(
            {
                "payment": p.payment,
                "date": p.date.isoformat(),
                "kind": p.kind,
                "account": p.account or None,
                "amount": money_str(p.amount, p.currency),
                "currency": p.currency,
                "allocated": money_str(p.allocated, p.currency),
                "unallocated": money_str(p.unallocated, p.currency),
                "allocations": [
                    {"invoice": a.invoice, "amount": money_str(a.amount, p.currency)} for a in p.allocations
                ],
                "invoices": ", ".join(a.invoice for a in p.allocations) or None,
                "payer": p.payer or None,
                "reference": p.reference or None,
                "file": p.src.file,
            }
        )
    return rows, {"as_of": day.isoformat(), "payments": rows}


def ar_report(
    ws: Workspace, *, as_of: date | None = None, dso_days: int = 90, account: str | None = None
) -> tuple[list[dict], dict]:
    """The receivables aging on ``as_of``: per account and currency, then the total per currency."""
    day = ws.day(as_of)
    kinds = {"account", "invoice", "payment"}

    def sums(repo) -> dict:
        return receivables.aging_sums(repo, day, dso_days, [account] if account else None)

    # each account's sums come from its own part (50,000 accounts' invoices at once are 0.6 GB and more); a filter
    # naming an account reads the whole (an unknown one is told its closest ID)
    parts = ws.read_in_parts(kinds, sums) if account is None else None
    if parts is None:
        repo = ws.read(kinds)
        if account is not None:
            find_account(repo, account)
        parts = [sums(repo)]
        del repo
    merged: dict = {}
    for part in parts:
        merged.update(part)  # each account in one part only
    rows = []
    for r in receivables.aging_rows(merged, dso_days):
        rows.append(
            {
                "account": r.account or "total",
                "currency": r.currency,
                **{b: money_str(r.buckets[b], r.currency) for b in receivables.BUCKETS},
                "receivable": money_str(r.receivable, r.currency),
                "credit": money_str(r.credit, r.currency),
                "balance": money_str(r.balance, r.currency),
                "billed": money_str(r.billed, r.currency),
                "dso": None if r.dso is None else format(r.dso, "f"),
            }
        )
    return rows, {"as_of": day.isoformat(), "dso_days": dso_days, "buckets": list(receivables.BUCKETS), "rows": rows}
