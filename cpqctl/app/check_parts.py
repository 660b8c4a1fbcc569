"""`check` of a big repository one part at a time (issue 21: the whole model of 50,000 accounts with a year of
invoices took 0.9 GB).

The parts are :meth:`cpqctl.load.parts.Plan.checking`'s: whole account folders with their contracts' invoices and
their accounts' quotes and payments. The rules that read one account's records (:data:`cpqctl.core.checks.
LOCAL_CHECKS`) run on each part; what the rules over the whole repository read (each invoice's number, date, digest
and place, each payment's bank line: :class:`~cpqctl.core.integrity.InvoiceFacts`,
:class:`~cpqctl.core.checks.PaymentFacts`) is kept from each part, and those rules (the catalog and exchange rates,
the seller's tax ID, the invoices' order, numbering and digests, bank lines imported twice) run once on it at the
end. The findings are the whole check's, in its order (tests/test_check_parts.py compares them over a set of
faults).

The parts answer only where they are sure to: :func:`findings` gives None, and the caller checks the whole
repository, whenever a part could differ from it:

- what :meth:`~cpqctl.load.parts.Plan.checking` refuses (closed months, a loader error, an ID in two parts, a
  quote, payment or invoice whose owner a part cannot hold);
- an error found in a part (which may be a rule reading another part: the whole check says which, and a
  repository with errors is the exception, not the daily run);
- a record naming one of another part (:func:`closed_refs`): a correction of another account's invoice, a quote of
  another account's contract, a payment settling another account's invoice.

A reference to what no file defines is the same unknown in a part as in the whole.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from decimal import Decimal
from operator import itemgetter
from pathlib import Path

from cpqctl.core.diagnostics import Diagnostic
from cpqctl.core.integrity import InvoiceFacts
from cpqctl.core.model import Invoice, Repo


def findings(root: Path, meter: Callable[[], AbstractContextManager]) -> list[Diagnostic] | None:
    """Every finding of `check` (the loader's, the cross-file rules' and the e-invoices'), sorted as
    :meth:`cpqctl.app.workspace.Workspace.findings` sorts them; None when the parts cannot stand for the whole
    repository (see the module's docstring) or it is small enough to load whole.

    A part whose files are all as an earlier check left them is not read again: what that check found in it, and
    kept of it for the rules over the whole repository, is taken from :class:`PartMemo` (the re-check of what
    changed); what it refers to in other parts is asked again of the files there now."""
    from cpqctl.app.closing import months_named
    from cpqctl.app.einvoicing import EinvoiceCheck
    from cpqctl.core.checks import PaymentFacts, global_rules, run_local_checks
    from cpqctl.load.parts import Whole, plan
    from cpqctl.load.positions import source_at
    from cpqctl.load.repo import Loaded

    memo = PartMemo(root)  # what is around the parts, taken before anything is read (a save meanwhile: a miss)
    found_plan = plan(root)
    if found_plan is None:
        return None
    memo.begin(found_plan)
    months = months_named(rel.split("/", 1)[1] for rel, _ in found_plan.period_files())
    closed = Closed(months)  # each part's transactions of the closed months, for their digests at the end
    kept: list[str] = []  # each part's invoices' facts
    payments: list[PaymentFacts] = []
    contracts = False
    found: set[Diagnostic] = set()
    einvoices = EinvoiceCheck(root)
    einvoice_found: list[Diagnostic] = []
    catalog = None
    try:
        with meter() as m:
            for files, item in found_plan.checking(m, cached=memo.lookup):
                if isinstance(item, Loaded):
                    repo, diags = item.assemble()
                    del item
                    local = diags + run_local_checks(repo)
                    if any(d.severity == "error" for d in local):
                        raise Whole(next(d.file for d in local if d.severity == "error"))
                    refs = outward(repo)
                    closed_refs(refs, found_plan.defines)
                    before = set(einvoices.valid)
                    entry = PartEntry(
                        local,
                        einvoices.part(repo, local),
                        "\n".join(_facts(inv).line() for inv in repo.invoices.values()),  # one string a part
                        [
                            PaymentFacts(p.payment, p.imported, p.src, source_at(p.at, "imported", p.src))
                            for p in repo.payments.values()
                            if p.imported
                        ],
                        refs,
                        bool(repo.contracts),
                        list(repo.payments),
                        sorted(einvoices.valid - before),
                        closed.of(repo),
                    )
                    catalog = repo.catalog
                    del repo
                    memo.store(files, entry)
                else:
                    entry = item  # type: ignore[assignment]
                    closed_refs(entry.refs, found_plan.defines)
                    einvoices.valid.update(entry.valid)
                found.update(entry.local)
                einvoice_found += entry.einvoice
                if entry.facts:
                    kept.append(entry.facts)
                payments += entry.payments
                contracts = contracts or entry.contracts
                closed.add(entry.closed)
                del entry
    except Whole:
        memo.prune()  # what this check read and kept; the others' parts are gone or read again
        return None
    if catalog is None:  # every part as the last check left it
        catalog = Loaded(found_plan.settings, found_plan.catalog_results, []).assemble()[0].catalog
    invoices = {f.invoice: f for f in map(InvoiceFacts.parse, (line for text in kept for line in text.split("\n")))}
    del kept
    found.update(global_rules(Repo(found_plan.settings, catalog), invoices, payments, contracts))
    try:
        if found_plan.period_files():
            found.update(closed.findings(found_plan, catalog, found))
    except Whole:
        return None
    finally:
        closed.close()
    einvoices.finish()
    memo.prune()
    return sorted(sorted(found) + einvoice_found)


class Closed:
    """The closed months' journal over the parts (:func:`cpqctl.app.closing.check_closed`, whose findings it gives):
    each part's transactions of each closed month (:func:`cpqctl.app.closing.month_records`), kept on disk in
    journal order (:class:`cpqctl.app.spill.Spilled`) and merged at the end with the unbilled receivables of
    every part's balances added up — the lines the whole journal gives, in its order."""

    def __init__(self, months: list[str]) -> None:
        from cpqctl.app.spill import Spilled

        self.months = months
        self.spilled = {m: Spilled(itemgetter(0)) for m in months}  # by the journal's key
        self.balances: dict[str, list[dict]] = {m: [] for m in months}

    def of(self, repo: Repo, loose: bool = True) -> dict:
        """One part's share of each closed month, as :class:`PartEntry` keeps it (JSON): its transactions' (key,
        line), and its unbilled receivables' balances month by month per currency."""
        from cpqctl.app import revenue
        from cpqctl.app.closing import _month, month_records
        from cpqctl.load.parts import Whole

        if not self.months:
            return {}
        if revenue._corrects_across(repo):  # its line's period is the corrected invoice's, in another part
            raise Whole("invoices")
        out = {}
        for month in self.months:
            unbilled: dict = {}
            records = month_records(repo, _month(month), unbilled_of=unbilled, loose=loose)
            out[month] = [
                [[list(k), line] for k, line in records],
                {cur: [[m.isoformat(), str(v)] for m, v in rows] for cur, rows in unbilled.items()},
            ]
        return out

    def add(self, part: dict) -> None:
        for month in self.months:
            records, unbilled = part[month]
            self.spilled[month].add((tuple(k), line) for k, line in records)
            self.balances[month].append(
                {cur: [(date.fromisoformat(m), Decimal(v)) for m, v in rows] for cur, rows in unbilled.items()}
            )

    def findings(self, found_plan, catalog, found: set[Diagnostic]) -> list[Diagnostic]:
        """The closed months' files read (their loader findings) and, when nothing so far is an error, the
        closed months' findings, as the whole check gives them."""
        from cpqctl.app.closing import closed_findings
        from cpqctl.load.cache import load_files
        from cpqctl.load.repo import Loaded

        results = load_files(found_plan.root, found_plan.period_files())
        repo, diags = Loaded(found_plan.settings, {**found_plan.catalog_results, **results}, []).assemble()
        if any(d.severity == "error" for d in [*found, *diags]):
            return diags
        repo = Repo(found_plan.settings, catalog, periods=repo.periods)

        return diags + closed_findings(repo, lambda first: self.lines(repo, first))

    def lines(self, repo: Repo, first: date) -> list[str]:
        """The month's lines over every part in the journal's order (``repo``: the settings, for the ledger's
        account names); :class:`~cpqctl.load.parts.Whole` for a month no part was asked about (a period file
        naming another month than its name: read whole)."""
        import heapq

        from cpqctl.app.closing import unbilled_records
        from cpqctl.load.parts import Whole

        month = first.isoformat()[:7]
        if month not in self.spilled:
            raise Whole(month)
        unbilled = unbilled_records(repo, first, self.balances[month])
        return [line for _, line in heapq.merge(self.spilled[month], unbilled, key=itemgetter(0))]

    def close(self) -> None:
        for spilled in self.spilled.values():
            spilled.close()


class PartEntry:
    """What a check found in one part and kept of it for the rules over the whole repository: its findings, its
    e-invoices' findings, its invoices' facts (one line each), its payments' bank lines, what it refers to outside
    itself, whether it has contracts, its payments' IDs, the e-invoice verdicts it found valid."""

    __slots__ = ("local", "einvoice", "facts", "payments", "refs", "contracts", "payment_ids", "valid", "closed")

    def __init__(self, local, einvoice, facts, payments, refs, contracts, payment_ids, valid, closed) -> None:
        self.local: list[Diagnostic] = local
        self.einvoice: list[Diagnostic] = einvoice
        self.facts: str = facts
        self.payments = payments
        self.refs: list[tuple[str, str, str]] = refs
        self.contracts: bool = contracts
        self.payment_ids: list[str] = payment_ids
        self.valid: list[str] = valid
        self.closed: dict = closed  # Closed.of: the part's share of each closed month

    def data(self) -> dict:
        from dataclasses import asdict

        def src(s) -> list:
            return [s.file, s.line, s.column]

        return {
            "local": [asdict(d) for d in self.local],
            "einvoice": [asdict(d) for d in self.einvoice],
            "facts": self.facts,
            "payments": [[p.payment, p.imported, src(p.src), src(p.at.get("imported", p.src))] for p in self.payments],
            "refs": [list(r) for r in self.refs],
            "contracts": self.contracts,
            "payment_ids": self.payment_ids,
            "valid": self.valid,
            "closed": self.closed,
        }

    @classmethod
    def of(cls, data: dict) -> PartEntry:
        from cpqctl.core.checks import PaymentFacts
        from cpqctl.core.model import Source

        return cls(
            [Diagnostic(**d) for d in data["local"]],
            [Diagnostic(**d) for d in data["einvoice"]],
            str(data["facts"]),
            [PaymentFacts(p, imp, Source(*src), Source(*at)) for p, imp, src, at in data["payments"]],
            [(str(k), str(i), str(f)) for k, i, f in data["refs"]],
            bool(data["contracts"]),
            [str(x) for x in data["payment_ids"]],
            [str(x) for x in data["valid"]],
            _closed_data(data["closed"]),
        )


def _closed_data(data) -> dict:
    """:attr:`PartEntry.closed` read back, every value checked (a damaged entry is a miss: ValueError)."""
    if type(data) is not dict:
        raise ValueError("closed")
    for month, share in data.items():
        records, unbilled = share
        if type(month) is not str or type(records) is not list or type(unbilled) is not dict:
            raise ValueError("closed")
        for key, line in records:
            if type(line) is not str or type(key) is not list or not key or type(key[0]) is not str:
                raise ValueError("closed")
        for cur, rows in unbilled.items():
            if type(cur) is not str or any(type(m) is not str or type(v) is not str for m, v in rows):
                raise ValueError("closed")
    return data


class PartMemo:
    """The parts an earlier check read, by the state of their files (``.cpq/cache/check-parts/``, one file a
    part): a part is answered from it when every one of its files is as that check saw it (path, size, mtime,
    inode, ctime — a file rewritten with its size and mtime kept has a new ctime) and so is everything else its
    answer read: the code, cpq.toml, the catalog, the exchange rates and templates (their state taken before the
    plan reads them: a save meanwhile makes the next check miss), the account folders' names (a record may name an
    account with no folder), the contracts on file when invoices are read by every part, and the listing's
    findings. Nothing is remembered when a file — of the part, or around the parts — changed within 2 s of the
    check (its mtime may not show the next change). An entry carries the SHA-256 of its bytes and every fact is
    read back: a damaged entry is a miss, never an answer. ``CPQ_REMEMBER=0``: nothing is remembered."""

    FOLDER = ".cpq/cache/check-parts"

    def __init__(self, root: Path) -> None:
        import os
        import time

        from cpqctl.load import remembered
        from cpqctl.load.cache import RACY_NS

        self.root = root
        self.on = os.environ.get("CPQ_REMEMBER", "").strip() != "0"
        self.started = time.time_ns()
        self.used: set[str] = set()
        self.last: tuple[list, str, int] | None = None  # the part asked last: its files, key and newest time
        around, newest = remembered.state_key(root, folders=("catalog", "fx", "indices", "templates", "periods"))
        self.around = around
        # a file around the parts changed within 2 s: what is read now may not be what its stats say next time
        self.keep = newest < self.started - RACY_NS
        self.base = b""

    def begin(self, found_plan) -> None:
        """Add what the plan found to every part's key: the account folders (a record naming an account with no
        folder), the invoices every part reads with the contracts on file (one of them may be their contract's),
        the listing's findings (every part carries them)."""
        import hashlib

        h = hashlib.sha256(f"check-parts-3\0{self.around}\n".encode())
        for acct in sorted(found_plan.folders):
            h.update(f"{acct}\n".encode())
        if found_plan.stray:
            h.update("\0".join(sorted(found_plan.stray)).encode())
            for cid in sorted(found_plan.contract_files()):
                h.update(f"{cid}\n".encode())
        for d in found_plan.diags:
            h.update(f"{d}\n".encode())
        self.base = h.digest()

    def _key(self, files: list[tuple[str, str]]) -> tuple[str, int]:
        import hashlib
        import os

        if self.last is not None and self.last[0] is files:  # the part just asked about (the list is still held)
            return self.last[1], self.last[2]
        h = hashlib.sha256(self.base)
        newest = 0
        base = os.fspath(self.root)
        for rel, kind in files:
            try:
                st = os.lstat(os.path.join(base, rel))
            except OSError:
                h.update(f"{rel}\0-\n".encode())
                continue
            h.update(f"{rel}\0{kind}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0{st.st_ctime_ns}\n".encode())
            newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
        self.last = (files, h.hexdigest(), newest)
        return self.last[1], newest

    def lookup(self, files: list[tuple[str, str]]) -> PartEntry | None:
        """The entry of a part whose files are as an earlier check saw them; None otherwise."""
        import hashlib
        import json

        if not self.on:
            return None
        key, _ = self._key(files)
        try:
            raw = (self.root / self.FOLDER / f"{key}.json").read_bytes()
            head, _, body = raw.partition(b"\n")  # the key and the SHA-256 of the value's bytes, then the value
            data = json.loads(head)
            if data.get("key") != key or data.get("sha256") != hashlib.sha256(body).hexdigest():
                return None  # another part's, or damaged
            entry = PartEntry.of(json.loads(body))
            for line in entry.facts.split("\n") if entry.facts else ():
                InvoiceFacts.parse(line)  # each fact reads back, or the entry is a miss
        except Exception:  # any damage (a deep nest of brackets included) is a miss, never an answer
            return None
        self.used.add(key)
        return entry

    def store(self, files: list[tuple[str, str]], entry: PartEntry) -> None:
        """Remember ``entry`` for the part of ``files`` (not when one of them changed within 2 s of the check)."""
        import hashlib
        import json

        from cpqctl.load.cache import RACY_NS
        from cpqctl.load.remembered import write_cache_file

        if not self.on or not self.keep:
            return
        key, newest = self._key(files)
        if newest >= self.started - RACY_NS:
            return
        body = json.dumps(entry.data(), ensure_ascii=False).encode("utf-8")
        head = json.dumps({"key": key, "sha256": hashlib.sha256(body).hexdigest()}).encode()
        if write_cache_file(self.root, f"{self.FOLDER}/{key}.json", head + b"\n" + body):
            self.used.add(key)

    def prune(self) -> None:
        """Forget the parts this check did not use (a check that answered in parts)."""
        import os

        if not self.on:
            return
        try:
            with os.scandir(self.root / self.FOLDER) as found:
                names = [e.name for e in found]
        except OSError:
            return
        for name in names:
            if name.endswith(".json") and name[: -len(".json")] not in self.used:
                try:
                    os.unlink(self.root / self.FOLDER / name)
                except OSError:
                    pass


def _facts(inv: Invoice) -> InvoiceFacts:
    """What the rules over every invoice read of ``inv``: its two positions read without filling its map of every
    key's (:func:`cpqctl.load.positions.source_at`)."""
    from cpqctl.load.positions import source_at

    src = inv.src
    return InvoiceFacts(
        inv.invoice, inv.date, bool(inv.digest), src, source_at(inv.at, "invoice", src), source_at(inv.at, "date", src)
    )


def closed_refs(refs: list[tuple[str, str, str]], defines: Callable[[str, str], bool]) -> None:
    """Raise :class:`~cpqctl.load.parts.Whole` when a record of a part names one it does not hold (``refs``:
    :func:`outward`) that a file of the repository may define (``defines(kind, ID)``): a rule would read it from
    another part."""
    from cpqctl.load.parts import Whole

    for kind, ident, file in refs:
        if defines(kind, ident):
            raise Whole(file)


def outward(repo: Repo) -> list[tuple[str, str, str]]:
    """(kind, ID, file naming it) of each record the part ``repo`` names and does not hold: a contract's account,
    predecessor, quote and amendment quotes, a quote's account and contract, an invoice's account, contract and
    corrected invoice, a payment's account and allocated invoices."""
    have = {"account": repo.accounts, "contract": repo.contracts, "quote": repo.quotes, "invoice": repo.invoices}
    out: list[tuple[str, str, str]] = []

    def need(kind: str, ident: str | None, file: str) -> None:
        if ident and ident not in have[kind]:
            out.append((kind, ident, file))

    for c in repo.contracts.values():
        f = c.src.file
        need("account", c.account, f)
        need("contract", c.renews, f)
        need("quote", c.quote, f)
        for a in c.amendments:
            need("quote", a.quote, f)
    for q in repo.quotes.values():
        need("account", q.account, q.src.file)
        need("contract", q.contract, q.src.file)
    for inv in repo.invoices.values():
        f = inv.src.file
        need("account", inv.account, f)
        need("contract", inv.contract, f)
        need("invoice", inv.corrects, f)
    for p in repo.payments.values():
        need("account", p.account, p.src.file)
        for al in p.allocations:
            need("invoice", al.invoice, p.src.file)
    return out
