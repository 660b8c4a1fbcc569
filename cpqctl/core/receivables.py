"""Receivables: what each invoice still asks for, its status, the AR aging and DSO (docs/receivables.md).

An invoice and the corrective invoices that correct it (``corrects:``, followed to the first invoice) form one
*chain*: what the customer owes for it is the chain's gross total, less what payments and write-offs settle on
any of its documents, plus what refunds pay back on it. Everything is computed on a day: documents and
payments dated after it do not exist yet. Money stays per currency: nothing here converts.

Pure: records in, records out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from cpqctl.core.model import Invoice, Payment, Repo

ZERO = Decimal(0)
_Day = date  # the type, for the records whose field `date` shadows the name
BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
STATUSES = ("open", "partly paid", "paid", "overdue", "credited")


@dataclass(frozen=True, slots=True)
class Chain:
    """One invoice and its corrections, with what has been settled on them by a day."""

    invoice: str  # the first invoice's number
    account: str
    contract: str
    currency: str
    date: _Day
    due: _Day | None
    gross: Decimal  # the first invoice's gross total
    corrected: Decimal = ZERO  # Σ the corrections' gross totals (negative: credited)
    paid: Decimal = ZERO  # Σ what payments allocate to its documents
    written_off: Decimal = ZERO
    refunded: Decimal = ZERO
    documents: tuple[str, ...] = ()  # the invoice and its corrections, in number order
    corrections: tuple[tuple[_Day, Decimal], ...] = ()  # (date, gross) of each correction
    payments: tuple[str, ...] = field(default=())  # the payments, refunds and write-offs naming it

    @property
    def total(self) -> Decimal:
        """What the chain bills after its corrections."""
        return self.gross + self.corrected

    @property
    def open(self) -> Decimal:
        """What the customer still owes on it (negative: what it owes the customer)."""
        return self.total - self.paid - self.written_off + self.refunded

    def open_on(self, day: _Day) -> Decimal:
        """:attr:`open` without the corrections issued after ``day`` (what a transfer of that day was paying)."""
        return self.open - sum((g for d, g in self.corrections if d > day), ZERO)

    def days_overdue(self, day: _Day) -> int:
        return max(0, (day - self.due).days) if self.due is not None and self.open > 0 else 0

    def status(self, day: _Day) -> str:
        """open | partly paid | paid | overdue | credited (see the module's docstring)."""
        if self.open < 0 or (self.open == 0 and self.corrected != 0 and self.total <= 0):
            return "credited"  # the corrections took it back (and any payment on it is now the customer's)
        if self.open == 0:
            return "paid"
        if self.days_overdue(day) > 0:
            return "overdue"
        return "partly paid" if self.open < self.total else "open"

    def bucket(self, day: _Day) -> str:
        return aging_bucket(self.days_overdue(day))


def aging_bucket(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "current"
    if days_overdue <= 30:
        return "1-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return "90+"


def root_of(invoices: Mapping[str, Invoice], number: str) -> str:
    """The first invoice of ``number``'s chain (a correction's ``corrects:`` followed back; a cycle stops)."""
    seen = {number}
    while True:
        inv = invoices.get(number)
        if inv is None or not inv.corrects or inv.corrects not in invoices or inv.corrects in seen:
            return number
        number = inv.corrects
        seen.add(number)


@dataclass(frozen=True, slots=True)
class Ledger:
    """Every chain and every account's unallocated credit on one day."""

    day: date
    chains: Mapping[str, Chain]  # by the first invoice's number
    chain_of: Mapping[str, str]  # any document's number → its chain's
    credit: Mapping[tuple[str, str], Decimal]  # (account, currency) → unallocated payments less unallocated refunds

    def of(self, number: str) -> Chain | None:
        root = self.chain_of.get(number)
        return self.chains.get(root) if root is not None else None

    def account_balance(self, account: str, currency: str) -> Decimal:
        """What the account owes in ``currency`` (negative: what it is owed)."""
        owed = sum((c.open for c in self.chains.values() if c.account == account and c.currency == currency), ZERO)
        return owed - self.credit.get((account, currency), ZERO)


def ledger(repo: Repo, day: date) -> Ledger:
    """Chains of the invoices dated on or before ``day`` and the payments dated on or before it."""
    invoices = {n: inv for n, inv in repo.invoices.items() if inv.date <= day}
    chain_of = {n: root_of(invoices, n) for n in invoices}
    docs: dict[str, list[str]] = {}
    for n in sorted(invoices):
        docs.setdefault(chain_of[n], []).append(n)
    settled: dict[str, dict[str, Decimal]] = {}
    named: dict[str, list[str]] = {}
    credit: dict[tuple[str, str], Decimal] = {}
    for p in sorted(repo.payments.values(), key=lambda p: (p.date, p.payment)):
        if p.date > day or p.kind == "other":
            continue
        left = p.amount
        for a in p.allocations:
            root = chain_of.get(a.invoice)
            if root is None:
                continue  # an invoice of a later day (or none: `check` reports it) settles nothing yet
            s = settled.setdefault(root, {})
            s[p.kind] = s.get(p.kind, ZERO) + a.amount
            named.setdefault(root, []).append(p.payment)
            left -= a.amount
        if p.account and p.kind in ("payment", "refund"):
            sign = 1 if p.kind == "payment" else -1
            key = (p.account, p.currency)
            credit[key] = credit.get(key, ZERO) + sign * left
    chains = {}
    for root, numbers in docs.items():
        first = invoices[root]
        s = settled.get(root, {})
        chains[root] = Chain(
            invoice=root,
            account=first.account,
            contract=first.contract,
            currency=first.currency,
            date=first.date,
            due=first.due,
            gross=first.gross_total,
            corrected=sum((invoices[n].gross_total for n in numbers if n != root), ZERO),
            paid=s.get("payment", ZERO),
            written_off=s.get("write-off", ZERO),
            refunded=s.get("refund", ZERO),
            documents=tuple(numbers),
            corrections=tuple((invoices[n].date, invoices[n].gross_total) for n in numbers if n != root),
            payments=tuple(dict.fromkeys(named.get(root, ()))),
        )
    return Ledger(day, chains, chain_of, credit)


# --------------------------------------------------------------------------- aging


@dataclass(frozen=True, slots=True)
class AgingRow:
    """One account's (or the total's) receivables in one currency, by days overdue."""

    account: str  # "" for the total
    currency: str
    buckets: Mapping[str, Decimal]
    credit: Decimal  # unallocated payments and credited chains: what the account is owed
    billed: Decimal  # gross billed in the DSO window
    dso: Decimal | None  # days sales outstanding (None: nothing billed in the window)

    @property
    def receivable(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)

    @property
    def balance(self) -> Decimal:
        return self.receivable - self.credit


def dso(receivable: Decimal, billed: Decimal, days: int) -> Decimal | None:
    """Days sales outstanding by the period method: receivables ÷ gross billed in the last ``days`` × ``days``,
    to one decimal place (None when nothing was billed)."""
    if billed <= 0:
        return None
    return (receivable / billed * days).quantize(Decimal("0.1"))


def aging(repo: Repo, day: date, dso_days: int = 90, accounts: Iterable[str] | None = None) -> list[AgingRow]:
    """Per account and currency, then a total per currency (account ""): open amounts by bucket, credit, DSO."""
    return aging_rows(aging_sums(repo, day, dso_days, accounts), dso_days)


def aging_sums(
    repo: Repo, day: date, dso_days: int = 90, accounts: Iterable[str] | None = None
) -> dict[tuple[str, str], dict]:
    """:func:`aging`'s sums per (account, currency) before the rows are made: the sums of repositories holding
    different accounts (the parts of one, :mod:`cpqctl.load.parts`) put together make the whole's."""
    led = ledger(repo, day)
    wanted = set(accounts) if accounts is not None else None
    since = date.fromordinal(day.toordinal() - dso_days + 1)
    rows: dict[tuple[str, str], dict] = {}

    def row(account: str, currency: str) -> dict:
        return rows.setdefault(
            (account, currency), {"buckets": dict.fromkeys(BUCKETS, ZERO), "credit": ZERO, "billed": ZERO}
        )

    for c in led.chains.values():
        if wanted is not None and c.account not in wanted:
            continue
        r = row(c.account, c.currency)
        if c.open > 0:
            r["buckets"][c.bucket(day)] += c.open
        elif c.open < 0:
            r["credit"] -= c.open
    for inv in repo.invoices.values():
        if since <= inv.date <= day and (wanted is None or inv.account in wanted):
            row(inv.account, inv.currency)["billed"] += inv.gross_total
    for (account, currency), amount in led.credit.items():
        if amount and (wanted is None or account in wanted):
            row(account, currency)["credit"] += amount
    return rows


def aging_rows(rows: dict[tuple[str, str], dict], dso_days: int = 90) -> list[AgingRow]:
    """The rows of :func:`aging` from its sums."""
    out = []
    totals: dict[str, dict] = {}
    for (account, currency), r in sorted(rows.items()):
        t = totals.setdefault(currency, {"buckets": dict.fromkeys(BUCKETS, ZERO), "credit": ZERO, "billed": ZERO})
        for b in BUCKETS:
            t["buckets"][b] += r["buckets"][b]
        t["credit"] += r["credit"]
        t["billed"] += r["billed"]
        receivable = sum(r["buckets"].values(), ZERO)
        if not receivable and not r["credit"] and not r["billed"]:
            continue
        out.append(
            AgingRow(account, currency, r["buckets"], r["credit"], r["billed"], dso(receivable, r["billed"], dso_days))
        )
    for currency, t in sorted(totals.items()):
        receivable = sum(t["buckets"].values(), ZERO)
        out.append(
            AgingRow("", currency, t["buckets"], t["credit"], t["billed"], dso(receivable, t["billed"], dso_days))
        )
    return out


# --------------------------------------------------------------------------- references and matching

_RF_RE = re.compile(r"(?<![0-9A-Za-z])RF[0-9]{2}(?:[ ]?[0-9A-Za-z]+)+", re.IGNORECASE)


def rf_reference(number: str) -> str | None:
    """The ISO 11649 structured creditor reference of an invoice number: ``RF`` + two check digits + the number's
    letters and digits (None when those are more than 21, the standard's limit)."""
    from stdnum.iso7064 import mod_97_10

    body = re.sub(r"[^0-9A-Za-z]", "", number).upper()
    if not body or len(body) > 21:
        return None
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def rf_references(text: str) -> list[str]:
    """The valid ISO 11649 references in a remittance text, compact, in order of appearance. A reference may be
    printed in groups (``RF18 5390 0754 7034``) and followed by other words: the longest run of whole groups
    that validates is taken."""
    from stdnum import iso11649

    out = []
    for m in _RF_RE.finditer(text):
        groups = m.group(0).split(" ")
        for end in range(len(groups), 0, -1):
            candidate = "".join(groups[:end]).upper()
            if len(candidate) <= 25 and iso11649.is_valid(candidate):
                out.append(candidate)
                break
    return list(dict.fromkeys(out))


def rf_grouped(reference: str) -> str:
    """An RF reference as printed for people: in groups of four (``RF10 INV2 0260 012``)."""
    return " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))


def epc_payload(name: str, iban: str, amount: Decimal, reference: str | None, text: str = "") -> str | None:
    """The content of an EPC QR code (EPC069-12 version 002, the "GiroCode") for a SEPA credit transfer in EUR:
    the beneficiary, the IBAN, the amount and the structured RF reference (else ``text`` as the unstructured
    remittance). None when the amount is outside 0.01–999 999 999.99 or the IBAN is not valid."""
    from stdnum import iban as iban_number

    if not Decimal("0.01") <= amount <= Decimal("999999999.99") or not iban_number.is_valid(iban):
        return None
    fields = ["BCD", "002", "1", "SCT", "", name.strip()[:70], iban_number.compact(iban), f"EUR{amount:.2f}", ""]
    fields += [reference, ""] if reference else ["", text[:140]]
    return "\n".join(fields).rstrip("\n")


def _number_pattern(number: str) -> re.Pattern[str]:
    """An invoice number as a bank may print it: its letters and digits in order, any of space / - _ . between
    the groups, not inside a longer run of letters and digits."""
    groups = [g for g in re.split(r"[^0-9A-Za-z]+", number) if g]
    sep = r"[\s/_.\-]*"
    return re.compile(r"(?<![0-9A-Za-z])" + sep.join(map(re.escape, groups)) + r"(?![0-9A-Za-z])", re.IGNORECASE)


# A letter or digit as :func:`_number_pattern` sees one: ``[0-9A-Za-z]`` under ``re.IGNORECASE``, which also takes
# the four non-ASCII letters Unicode folds onto ASCII ones (dotted and dotless i, long s, the Kelvin sign)
_FOLDED = {"\u0130": "I", "\u0131": "I", "\u017f": "S", "\u212a": "K"}
_WORD_RE = re.compile("[0-9A-Za-z" + "".join(_FOLDED) + "]+")


def _is_sep(gap: str) -> bool:
    """Whether ``gap`` (between two words of a text) is what :func:`_number_pattern` lets stand between groups."""
    return all(ch in "/_.-" or ch.isspace() for ch in gap)


class NumberIndex:
    """The invoice numbers a bank statement's lines may name, indexed once for all of them (:func:`named_invoices`
    tries every number's pattern on a text: at 190,000 invoices, seconds a line). A text's candidates are the runs of
    its words, joined by what may stand between a number's groups, that spell a number's letters and digits, and
    the numbers of its RF references; each is then confirmed by the number's own pattern, so the answer is
    :func:`named_invoices`'s exactly (tests/test_payments.py compares them on random texts)."""

    def __init__(self, numbers: Iterable[str]) -> None:
        self.spelled: dict[str, list[str]] = {}
        self.by_rf: dict[str, list[str]] = {}
        self.groups = 1
        for n in numbers:
            groups = [g for g in re.split(r"[^0-9A-Za-z]+", n) if g]
            self.spelled.setdefault("".join(groups).upper(), []).append(n)
            self.groups = max(self.groups, len(groups))
            rf = rf_reference(n)
            if rf is not None:
                self.by_rf.setdefault(rf, []).append(n)

    def candidates(self, text: str) -> set[str]:
        words = list(_WORD_RE.finditer(text))
        out: set[str] = set()
        for i in range(len(words)):
            spelled = ""
            for j in range(i, min(i + self.groups, len(words))):
                if j > i and not _is_sep(text[words[j - 1].end() : words[j].start()]):
                    break
                word = words[j].group()
                spelled += "".join(_FOLDED.get(ch, ch) for ch in word).upper()
                out.update(self.spelled.get(spelled, ()))
        for rf in rf_references(text):
            out.update(self.by_rf.get(rf, ()))
        return out


def named_invoices(text: str, numbers: Iterable[str]) -> list[str]:
    """The invoice numbers (of ``numbers``) that a remittance text names by number or by RF reference, in order of
    appearance."""
    rfs = {rf: i for i, rf in enumerate(rf_references(text))}
    found: list[tuple[int, str]] = []
    for n in numbers:
        rf = rf_reference(n)
        if rf is not None and rf in rfs:
            found.append((-len(rfs) + rfs[rf], n))  # RF references first: they are unambiguous
            continue
        m = _number_pattern(n).search(text)
        if m is not None:
            found.append((m.start(), n))
    return [n for _, n in sorted(found)]


@dataclass(frozen=True, slots=True)
class Match:
    """How a bank line was matched: the account, the allocations (invoice, amount) and why."""

    account: str
    allocations: tuple[tuple[str, Decimal], ...]
    how: str  # "reference" | "amount"


def allocate(amount: Decimal, opens: Iterable[tuple[str, Decimal]]) -> tuple[tuple[str, Decimal], ...]:
    """``amount`` spread over the open amounts in the order given, each at most what it asks; the rest is left."""
    out = []
    left = amount
    for number, due in opens:
        if left <= 0:
            break
        if due <= 0:
            continue
        part = min(left, due)
        out.append((number, part))
        left -= part
    return tuple(out)


def match_line(
    led: Ledger,
    day: date,
    amount: Decimal,
    currency: str,
    text: str,
    payer_iban: str = "",
    ibans: Mapping[str, str] | None = None,
    index: NumberIndex | None = None,
) -> Match | None:
    """The invoices a bank credit of ``amount`` booked on ``day`` pays: those its remittance text names (by number
    or RF reference; each up to its open amount, the rest the payer's credit), else the one open invoice in the
    currency whose open amount equals it exactly (among the payer's when its IBAN is an account's). Only invoices
    issued by ``day`` count. None: to review. ``index``: a :class:`NumberIndex` of the ledger's numbers (the same
    answer, found without trying every number on the text)."""
    open_chains = {n: c for n, c in led.chains.items() if c.currency == currency and c.date <= day}
    if index is None:
        docs = [n for n, root in led.chain_of.items() if root in open_chains]
    else:  # ``index``: of the ledger's numbers (every document of every chain), for the lines of one statement
        docs = [n for n in index.candidates(text) if led.chain_of.get(n) in open_chains]
    named = named_invoices(text, docs)
    if named:
        roots = list(dict.fromkeys(led.chain_of[n] for n in named))
        accounts = {open_chains[r].account for r in roots}
        if len(accounts) == 1:
            opens = [(r, open_chains[r].open_on(day)) for r in roots]
            return Match(accounts.pop(), allocate(amount, opens), "reference")
        return None  # invoices of two accounts on one transfer: a person decides
    candidates = [c for c in open_chains.values() if c.open_on(day) == amount and amount > 0]
    payer = (ibans or {}).get(compact_iban(payer_iban)) if payer_iban else None
    if payer is not None:
        candidates = [c for c in candidates if c.account == payer]
    if len(candidates) == 1:
        c = candidates[0]
        return Match(c.account, ((c.invoice, amount),), "amount")
    return None


def compact_iban(iban: str) -> str:
    return re.sub(r"\s", "", iban).upper()


def account_ibans(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """IBAN (compact) → account, from (account, IBAN) pairs; an IBAN two accounts share is left out."""
    out: dict[str, str] = {}
    shared: set[str] = set()
    for account, iban in pairs:
        key = compact_iban(iban)
        if not key:
            continue
        if key in out and out[key] != account:
            shared.add(key)
        out[key] = account
    return {k: v for k, v in out.items() if k not in shared}


def payments_of(repo: Repo, account: str, day: date) -> list[Payment]:
    """The account's payments, refunds and write-offs dated on or before ``day``, oldest first."""
    return sorted(
        (p for p in repo.payments.values() if p.account == account and p.date <= day and p.kind != "other"),
        key=lambda p: (p.date, p.payment),
    )
