"""The repository in parts of whole accounts, for a run that needs one account at a time (issue 21).

`invoice run --dry-run` bills each contract from its own account and its own invoices (docs/design/
check-by-account.md §7): nothing it reads crosses accounts but the settings and the catalog. Holding the whole
model of 50,000 accounts with 191,000 invoices took 0.8 GB; :func:`plan` gives the same files in
:data:`CHUNK_FILES`-sized parts, each a set of whole account folders with every invoice of their contracts,
so that a run holds one part's records at a time.

Each part reads, beside its own files, the settings and the catalog once for all, the invoices whose contract a
plain match of their ``contract:`` line cannot tell (:mod:`cpqctl.load.invoice_index`; every part reads them and
keeps those its contracts own), and a share of the quotes, payments and periods, read only for their findings: the
whole load refuses a repository whose files have loader errors, and so do the parts.

The parts stand for the whole only when nothing can tell them apart; else :func:`plan` gives None
before the first part, or raises :class:`Whole` while giving them, and the caller loads the whole repository
(whose refusal or result is then the answer):

- any loader error (the whole load's refusal names them all, in its order);
- an ID defined twice (the whole load reports E-DUPLICATE-ID and refuses): contract, account and invoice IDs
  are gathered across the parts;
- an invoice whose parsed ``contract:`` is not the one its line's plain match named (it would then have been
  billed against in the wrong part);
- a part whose billing would look outside it (:func:`_self_contained`): a contract or invoice naming an account
  of another part, a correction of another contract's invoice. Each is a repository `check` refuses, which a dry
  run still bills; so is a catalog product defined twice, which the whole load refuses (the caller checks what
  putting a part's records together finds).

A contract that the memo of contracts with nothing due vouches for by the state of its files
(:meth:`Plan.drop`, :class:`cpqctl.load.quiet.Files`) is left out before any part is read: a month with nothing
new reads only what changed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from cpqctl.load.repo import Loaded, _contract_ids, contract_id

CHUNK_FILES = 40_000  # account, contract and invoice files per part (≈ 90 MiB of records at 50,000 accounts)


class Whole(Exception):
    """The parts cannot stand for the whole repository: load it whole (see the module's docstring)."""


def chunk_files() -> int:
    """:data:`CHUNK_FILES`, or ``CPQ_CHUNK_FILES`` (tests make small repositories come in parts)."""
    raw = os.environ.get("CPQ_CHUNK_FILES", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return CHUNK_FILES


class Plan:
    """What :func:`plan` found: the settings, each account folder's files, each contract's invoices (by their
    ``contract:`` lines), the invoices read by every part, and the files read for their findings only."""

    def __init__(self, root: Path, settings, diags, catalog, folders, invoices, named, stray, others):
        self.root = root
        self.settings = settings
        self.diags = diags
        self.catalog = catalog
        self.folders: dict[str, list[tuple[str, str]]] = folders  # account folder → its account and contract files
        self.invoices: dict[str, list[str]] = invoices  # contract ID → its invoice files (as their lines name it)
        self.named: dict[str, str] = named  # invoice file → the contract its line names
        self.stray: list[str] = stray  # invoice files every part reads
        self.others = others
        self._contracts: set[str] | None = None
        self._quotes: set[str] | None = None
        self.catalog_results: dict = {}  # the catalog files read by :meth:`checking`
        self.kept: set[str] | None = None  # :meth:`only`: the account folders read (None: every one)

    def period_files(self) -> list[tuple[str, str]]:
        """The closed months' files (``periods/``), in the whole load's order."""
        return [(rel, kind) for rel, kind in self.others if kind == "period"]

    def contract_files(self) -> dict[str, str]:
        """Each contract's file, by its ID (its name)."""
        return {contract_id(rel): rel for own in self.folders.values() for rel, kind in own if kind == "contract"}

    def defines(self, kind: str, ident: str) -> bool:
        """Whether a file of the repository may define ``ident`` of ``kind`` (account, contract, quote, invoice), by
        the file names alone."""
        from cpqctl.core.numbering import file_stem

        if kind == "account":
            return ident in self.folders
        if kind == "contract":
            if self._contracts is None:
                self._contracts = set(self.contract_files())
            return ident in self._contracts
        if kind == "quote":
            if self._quotes is None:
                self._quotes = {rel for rel, k in self.others if k == "quote"}
            return f"quotes/{ident}.yaml" in self._quotes
        rel = f"invoices/{file_stem(ident)}.yaml"
        return rel in self.named or rel in self.stray

    def drop(self, skip) -> None:
        """Leave out each contract for which ``skip(contract ID, its file)`` is true, with its invoices, and each
        account folder all of whose contracts are left out (its contracts bill nothing: its file is not read)."""
        for acct in list(self.folders):
            own = self.folders[acct]
            kept = []
            for rel, kind in own:
                cid = contract_id(rel) if kind == "contract" else None
                if cid is not None and skip(cid, rel):
                    for inv in self.invoices.pop(cid, ()):
                        del self.named[inv]
                else:
                    kept.append((rel, kind))
            if len(kept) < len(own):
                if all(kind == "account" for _, kind in kept):
                    del self.folders[acct]
                else:
                    self.folders[acct] = kept

    def parts(self, meter=None, size: int | None = None) -> Iterator[Loaded]:
        """Whole account folders in order with their contracts' invoices, about ``size`` (:func:`chunk_files`) files
        a part; raises :class:`Whole` when a part shows the whole load would differ (see the module's docstring)."""
        from cpqctl.load import memo
        from cpqctl.load.cache import load_files

        groups = self.groups(size or chunk_files())
        catalog = load_files(self.root, self.catalog)
        for rel, res in catalog.items():
            if any(d.severity == "error" for d in res.diagnostics):
                raise Whole(rel)
        stray = [(rel, "invoice") for rel in self.stray]
        seen: dict[str, set[str]] = {}  # every record's ID by kind, across the parts (a duplicate: the whole load)
        for n, accounts in enumerate(groups):
            memo.forget()  # the values shared by the part before (≈ 40 MB of invoice totals at 50,000 accounts)
            files = [f for acct in accounts for f in self.folders[acct]]
            contracts = set(_contract_ids(files))
            # in name order, as the whole load reads them (a contract's ledger is in the order of its invoices)
            files += sorted([(rel, "invoice") for cid in contracts for rel in self.invoices.get(cid, ())] + stray)
            files += self.others[n :: len(groups)]
            # one part (a month with nothing new leaves few files): the shards only if worth it, as any load
            loaded = load_files(self.root, files, meter, part=len(groups) > 1)
            results = dict(catalog)
            dropped: list = []  # strays of other parts' contracts
            for rel, res in loaded.items():
                if any(d.severity == "error" for d in res.diagnostics):
                    raise Whole(rel)
                keep = res.kind in ("account", "contract", "invoice")  # others: read for their findings only
                if keep and res.kind == "invoice" and res.records:
                    parsed = res.records[0].contract
                    if rel not in self.named:  # a stray: the part of its contract keeps it
                        if parsed not in contracts:
                            dropped.append(res.records[0])
                            continue
                    elif parsed != self.named[rel]:
                        raise Whole(rel)
                for rec in res.records:
                    ident = getattr(rec, res.kind)
                    mine = seen.setdefault(res.kind, set())
                    if ident in mine and (res.kind != "invoice" or rel in self.named):  # a stray: read by all
                        raise Whole(rel)
                    mine.add(ident)
                if keep:
                    results[rel] = res
            del loaded
            _self_contained(results, accounts, dropped)
            yield Loaded(self.settings, results, list(self.diags), whole=False)

    def only(self, accounts) -> None:
        """Read only the folders of ``accounts`` (`dunning run --account`): the others stay known (a payment naming
        one is another part's, not an account with no folder) and are not read."""
        self.kept = set(accounts)

    def groups(self, size: int, payments: dict[str, list[str]] | None = None) -> list[list[str]]:
        """The account folders in order (those :meth:`only` keeps), in groups of about ``size`` account, contract
        and invoice (and payment) files."""
        groups: list[list[str]] = [[]]
        held = 0
        for acct, own in self.folders.items():
            if self.kept is not None and acct not in self.kept:
                continue
            weight = len(own) + sum(len(self.invoices.get(cid, ())) for cid in _contract_ids(own))
            weight += len(payments.get(acct, ())) if payments else 0
            if held and held + weight > size:
                groups.append([])
                held = 0
            groups[-1].append(acct)
            held += weight
        return groups

    def reading(self, kinds: frozenset[str], meter=None, size: int | None = None) -> Iterator[Loaded]:
        """For a report over receivables (`invoice list`, `report ar`): the account folders in parts, each with its
        contracts' invoices and its accounts' payments (``kinds`` of: account, contract, invoice, payment), standing
        for the whole load of those kinds, or raises :class:`Whole` before a part that would not:

        - a file of the part with a loader error, or an ID defined in two parts (the whole load refuses them, or
          keeps the first);
        - an invoice of a contract that has no file, or whose ``contract:`` line named another (no part would
          hold it, or the wrong one), or that names an account of another part;
        - a payment whose ``account:`` line named another account than its parsed one, that names an account with
          no folder, or that allocates to an invoice outside its account's part (its credit and what it settles
          would differ);
        - a correction of an invoice outside the part (what the invoice still asks for is its chain's, corrections
          included; `check`'s E-CORRECTION-ACCOUNT when another account's). A payment naming no account is read by every part: it settles the invoices of each part
          that it names and adds to nobody's credit, as in the whole ledger.

        With ``catalog`` in ``kinds`` every part holds the catalog (a catalog file with a loader error: raises
        :class:`Whole`). Quotes, periods and the rest are not read (the whole load of ``kinds`` does not read them
        either)."""
        from cpqctl.load import memo
        from cpqctl.load.cache import load_files
        from cpqctl.load.payment_index import payment_owners

        catalog = load_files(self.root, self.catalog) if "catalog" in kinds else {}
        for rel, res in catalog.items():
            if any(d.severity == "error" for d in res.diagnostics):
                raise Whole(rel)
        owners = payment_owners(self.root) if "payment" in kinds else {}
        payments: dict[str, list[str]] = {}  # account folder → its payment files, as their lines name it
        loose: list[str] = []  # payments every part reads: no account, or one a plain match cannot tell
        for rel, owner in owners.items():
            if owner and owner in self.folders:
                payments.setdefault(owner, []).append(rel)
            elif owner is None or owner == "":
                loose.append(rel)
            else:
                raise Whole(rel)  # an account with no folder: E-UNKNOWN-ACCOUNT (the whole ledger keeps its credit)
        known = set(self.contract_files())
        seen: set[tuple[str, str]] = set()  # (kind, ID) of the parts before: an ID in two parts is the whole load's
        for n, accounts in enumerate(self.groups(size or chunk_files(), payments)):
            memo.forget()
            files = [f for acct in accounts for f in self.folders[acct] if f[1] in kinds or f[1] == "account"]
            contracts = {cid for acct in accounts for cid in _contract_ids(self.folders[acct])}
            if "invoice" in kinds:
                files += sorted(
                    [(rel, "invoice") for cid in contracts for rel in self.invoices.get(cid, ())]
                    + [(rel, "invoice") for rel in self.stray]
                )
            files += [(rel, "payment") for acct in accounts for rel in payments.get(acct, ())]
            files += [(rel, "payment") for rel in loose]
            loaded = load_files(self.root, files, meter, part=True)
            results = dict(catalog)
            mine = set(accounts)
            numbers: set[str] = set()
            settling = []
            for rel, res in loaded.items():
                if any(d.severity == "error" for d in res.diagnostics):
                    raise Whole(rel)
                if res.kind == "invoice" and res.records:
                    rec = res.records[0]
                    if not self._keeps(rel, rec, known, contracts):
                        continue
                    if rec.account not in mine:
                        raise Whole(rel)
                    numbers.add(rec.invoice)
                elif res.kind == "payment" and res.records:
                    rec = res.records[0]
                    if rel in owners and owners[rel] and rec.account != owners[rel]:
                        raise Whole(rel)
                    if rec.account and rec.account not in mine:
                        if rec.account not in self.folders or owners.get(rel):
                            raise Whole(rel)
                        continue  # a loose payment of another part's account
                    if rec.account:
                        settling.append(rec)
                results[rel] = res
            del loaded
            for rec in settling:
                if any(a.invoice not in numbers for a in rec.allocations):
                    raise Whole(rec.src.file)
            for res in results.values():  # a correction of an invoice of another part: what it owes is the chain's
                if res.kind == "invoice" and res.records and res.records[0].corrects:
                    if res.records[0].corrects not in numbers:
                        raise Whole(res.records[0].src.file)
            ids = set()
            for res in results.values():
                if res.kind == "catalog" or (
                    res.kind == "payment" and res.records and not res.records[0].account and n
                ):
                    continue  # the catalog, a payment naming no account: every part holds it
                for rec in res.records:
                    ids.add((res.kind, getattr(rec, res.kind)))
            if ids & seen:
                raise Whole(min(ids & seen)[1])
            seen |= ids
            yield Loaded(self.settings, results, list(self.diags), whole=False)
            del results

    def _keeps(self, rel: str, rec, known: set[str], contracts: set[str]) -> bool:
        """Whether the part of ``contracts`` keeps the invoice ``rec`` read from ``rel``: a stray (read by every
        part) only in its contract's part; raises :class:`Whole` for an invoice of a contract with no file
        (``known``: the contracts on file) or whose ``contract:`` line named another than its parsed one."""
        if rel not in self.named:
            if rec.contract not in known:
                raise Whole(rel)
            return rec.contract in contracts
        if rec.contract != self.named[rel]:
            raise Whole(rel)
        return True

    def checking(self, meter=None, size: int | None = None, cached=None) -> Iterator[tuple[list, object]]:
        """For `check` (:mod:`cpqctl.app.check_parts`): every data file once, in parts of whole account folders
        with their contracts' invoices and their accounts' quotes and payments (as the files' ``account:`` lines
        name them), in the whole load's order; or raises :class:`Whole` before a part that would not stand for the
        whole load:

        - a file of the part with a loader error, or a payment ID in two month folders;
        - a quote or payment naming an account with no folder, or whose ``account:`` line named another account
          than its parsed one; an invoice of a contract with no file, or whose ``contract:`` line named another.

        A quote or payment whose account a plain match cannot tell is read by every part and kept by its account's;
        a payment naming no account belongs to the first part. What the records of a part refer to in another part
        is the caller's to tell (:func:`cpqctl.app.check_parts.closed_refs`). The closed months' files
        (:meth:`period_files`) are in no part: their journal is a rule over every account, the caller's to run.

        Yields (the part's files, its :class:`Loaded`). ``cached(files)``, when given, is asked first: what it
        answers (not None: an earlier check of exactly these files, with the IDs of the payments it kept as
        ``payment_ids``) is yielded instead, and the part is not read (:mod:`cpqctl.app.check_parts`, the
        re-check of what changed)."""
        from cpqctl.load import memo
        from cpqctl.load.cache import load_files
        from cpqctl.load.payment_index import QUOTES, owners_in, payment_owners

        if any(kind not in ("quote", "payment", "period") for _, kind in self.others):
            raise Whole(next(rel for rel, kind in self.others if kind not in ("quote", "payment", "period")))
        listed = {rel for rel, _ in self.others}
        quote_entries = (
            [(f"quotes/{e.name}", e) for e in sorted(os.scandir(self.root / "quotes"), key=lambda e: e.name)]
            if any(kind == "quote" for _, kind in self.others)
            else []
        )
        owned: dict[str, dict[str, list[str]]] = {"quote": {}, "payment": {}}  # kind → account folder → its files
        loose: dict[str, list[str]] = {"quote": [], "payment": []}  # read by every part (or, no account, the first)
        for kind, owners in (
            ("quote", owners_in(self.root, QUOTES, quote_entries)),
            ("payment", payment_owners(self.root)),
        ):
            for rel, owner in owners.items():
                if rel not in listed:
                    continue
                if owner and owner in self.folders:
                    owned[kind].setdefault(owner, []).append(rel)
                elif owner is None or owner == "":
                    loose[kind].append(rel)
                else:
                    raise Whole(rel)  # an account with no folder: E-UNKNOWN-ACCOUNT
        catalog = load_files(self.root, self.catalog)
        for rel, res in catalog.items():
            if any(d.severity == "error" for d in res.diagnostics):
                raise Whole(rel)
        self.catalog_results = catalog
        known = set(self.contract_files())
        # payment IDs across the parts (one in two month folders: the whole load's duplicate); any other record's
        # ID is its file's name (the loader's E-ID-MISMATCH), which no two files share: a contract in two account
        # folders is refused by plan()
        seen: set[str] = set()
        either = {rel for rels in loose.values() for rel in rels}
        for n, accounts in enumerate(self.groups(size or chunk_files(), owned["payment"])):
            memo.forget()
            contracts = {cid for acct in accounts for cid in _contract_ids(self.folders[acct])}
            quotes = sorted([rel for acct in accounts for rel in owned["quote"].get(acct, ())] + loose["quote"])
            invoices = sorted([rel for cid in contracts for rel in self.invoices.get(cid, ())] + self.stray)
            payments = [rel for acct in accounts for rel in owned["payment"].get(acct, ())] + loose["payment"]
            files = [(rel, "quote") for rel in quotes] + [(rel, "invoice") for rel in invoices]
            files += [f for acct in accounts for f in self.folders[acct]]
            files += sorted((rel, "payment") for rel in payments)  # months in order, as the whole load's
            hit = cached(files) if cached is not None else None
            if hit is not None:
                for ident in hit.payment_ids:
                    if ident in seen:
                        raise Whole(ident)
                    seen.add(ident)
                yield files, hit
                continue
            loaded = load_files(self.root, files, meter, part=True)
            results = dict(catalog)
            mine = set(accounts)
            for rel, res in loaded.items():
                if any(d.severity == "error" for d in res.diagnostics):
                    raise Whole(rel)
                rec = res.records[0] if res.records else None
                if res.kind == "invoice" and rec is not None:
                    if not self._keeps(rel, rec, known, contracts):
                        continue
                elif res.kind in ("quote", "payment") and rec is not None:
                    if rec.account and rec.account not in self.folders:
                        raise Whole(rel)
                    if rel in either:  # read by every part: kept by its account's (no account: the first)
                        if (rec.account not in mine) if rec.account else n:
                            continue
                    elif rec.account not in mine:
                        raise Whole(rel)  # its line named another account than its parsed one
                    if res.kind == "payment":
                        if rec.payment in seen:
                            raise Whole(rel)
                        seen.add(rec.payment)
                results[rel] = res
            del loaded
            yield files, Loaded(self.settings, results, list(self.diags), whole=False)
            del results


def _self_contained(results, accounts: list[str], dropped: list) -> None:
    """Raise :class:`Whole` when billing this part would look outside it (a repository `check` refuses, which a
    dry run still bills from the whole load): a contract or invoice naming an account not in the part (the buyer,
    the language and payment days of an invoice and its corrections), a correction of an invoice of another
    contract, or a stray of another part's contract correcting one of its invoices (corrections are found by
    ``corrects:``)."""
    mine = set(accounts)
    numbers: dict[str, str] = {}  # invoice number → its contract
    corrections = []
    for res in results.values():
        if res.kind in ("contract", "invoice"):
            for rec in res.records:
                if rec.account not in mine:
                    raise Whole(rec.src.file)
                if res.kind == "invoice":
                    numbers[rec.invoice] = rec.contract
                    if rec.corrects:
                        corrections.append(rec)
    for rec in corrections:  # of its own contract's invoice: a contract left out unread takes its corrections
        if numbers.get(rec.corrects) != rec.contract:
            raise Whole(rec.src.file)
    for rec in dropped:
        if rec.corrects and rec.corrects in numbers:
            raise Whole(rec.src.file)


def plan(root: Path) -> Plan | None:
    """The repository's account folders and their contracts' invoices, to be read in parts (None: a repository
    small enough to load whole, or one the parts cannot stand for; see the module's docstring)."""
    from cpqctl.load import invoice_index
    from cpqctl.load.repo import listing

    settings, files, diags = listing(root)
    if any(d.severity == "error" for d in diags):
        return None
    folders: dict[str, list[tuple[str, str]]] = {}  # account folder → its files
    invoices: list[str] = []
    others: list[tuple[str, str]] = []  # quotes, payments, periods: read for their findings only
    catalog: list[tuple[str, str]] = []
    for rel, kind in files:
        if kind in ("account", "contract"):
            folders.setdefault(rel.split("/", 2)[1], []).append((rel, kind))
        elif kind == "invoice":
            invoices.append(rel)
        elif kind == "catalog":
            catalog.append((rel, kind))
        else:
            others.append((rel, kind))
    if sum(len(f) for f in folders.values()) + len(invoices) <= chunk_files():
        return None
    account_of: dict[str, str] = {}  # contract ID (its file's name) → account folder
    for acct, own in folders.items():
        for cid in _contract_ids(own):
            if account_of.setdefault(cid, acct) != acct:
                return None  # one contract ID in two folders: E-DUPLICATE-ID
    by_contract, stray = by_line(invoices, invoice_index.owners(root), account_of)
    named = {rel: cid for cid, rels in by_contract.items() for rel in rels}
    return Plan(root, settings, diags, catalog, folders, by_contract, named, stray, others)


def by_line(invoices, owner_of, contracts) -> tuple[dict[str, list[str]], list[str]]:
    """Each contract's invoice files (``invoices``, paths in name order) as their ``contract:`` lines name it
    (``owner_of``: file name → contract, :func:`cpqctl.load.invoice_index.owners`), and the strays: files whose
    line cannot be told or names none of ``contracts`` (the contracts on file)."""
    out: dict[str, list[str]] = {}
    stray: list[str] = []
    for rel in invoices:
        owner = owner_of.get(rel[len("invoices/") :])
        if owner is None or owner not in contracts:
            stray.append(rel)
        else:
            out.setdefault(owner, []).append(rel)
    return out, stray
