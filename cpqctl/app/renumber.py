"""Renumbering: `cpqctl renumber OLD NEW --reason TEXT` — a quote or contract ID changed everywhere, on the record.

For the rare case a team must change an ID (two git branches created the same
contract number). Every reference changes in one transaction (all files or
none), checked like every write on the state it leaves (:mod:`cpqctl.app.staged`):

- **a quote**: ``quotes/OLD.yaml`` becomes ``quotes/NEW.yaml`` with ``quote: NEW``; the
  contract or amendment entry that names it (``quote:``) says NEW.
- **a contract**: ``contracts/<account>/OLD.yaml`` becomes ``NEW.yaml`` with
  ``contract: NEW``; every quote naming it (``contract:``: the new-business
  quote that created it, its amendment and renewal quotes) and every contract
  renewing it (``renews:``) say NEW.

Never silently: the renamed file records ``renumbered: [{from, to, date,
reason}]``, and so does every accepted quote whose ``contract:`` changes
(``{field: contract, from, to, date, reason}``). An accepted quote whose text
changes is digested again (its record is inside the new digest), and the
``quote_digest:`` that contracts keep of it follows. A draft's approval and
presentations, digests of the priced quote *with its IDs*, follow when they held
(the prices did not change); a renewal draft still cpqctl's own keeps its
regenerable header unless it carries a record (regenerating it would drop it).

Refused: an invoice number (an issued invoice's number is never reused or
renumbered: Directive 2006/112/EC art. 226(2)), a contract an issued invoice
names, an amendment quote whose segments an issued invoice bills
(E-RENUMBER-ISSUED): issued documents never change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from cpqctl.app.workspace import Workspace, lookup
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.model import Contract, Quote, Renumbering, Repo

_ISSUED_LAW = "Directive 2006/112/EC art. 226(2)"


@dataclass(frozen=True)
class FileChange:
    """One file the renumbering writes: its path after, the path before when renamed, what changes in it."""

    file: str
    was: str | None
    changes: tuple[str, ...]


@dataclass(frozen=True)
class RenumberResult:
    """What `renumber` changed (``dry_run``: would change): ``data`` is the `--format json` shape."""

    old: str
    new: str
    kind: str  # quote | contract
    files: tuple[FileChange, ...]
    dry_run: bool
    data: dict
    written: tuple[str, ...]
    message: str


def check_arguments(old: str, new: str, reason: str) -> None:
    """Refuse unusable input before the repository is read: a malformed NEW (E-ID), NEW = OLD, no reason."""
    from cpqctl.load.schema import ID_RE

    if not ID_RE.fullmatch(new):
        raise UsageError(
            "E-ID",
            f"`{new}` is not a valid ID",
            "IDs use letters, digits, dot, dash and underscore, starting with a letter or digit",
        )
    if new == old:
        raise UsageError("E-USAGE", f"`{old}` already has that ID", "give the new ID as the second argument")
    if not reason.strip():
        raise UsageError(
            "E-USAGE", "--reason is required: a renumbering is recorded with why", '--reason "duplicate after merge"'
        )


def renumber(
    ws: Workspace,
    old: str,
    new: str,
    *,
    reason: str,
    as_of: date | None = None,
    dry_run: bool = False,
) -> RenumberResult:
    """Change the ID of the quote or contract ``old`` to ``new`` in every file that holds it (module docstring).

    ``dry_run`` writes nothing: the change is planned and checked as a write would be, and listed.
    """
    from cpqctl.views.renumber import renumber_json

    check_arguments(old, new, reason)
    day = ws.day(as_of)
    # the files of the account holding OLD (flat with repository size, issue 21): every file naming a quote or
    # contract is its account's (E-QUOTE-ACCOUNT, E-RENEWS-ACCOUNT); an ID no account's files hold once the lock is
    # held (an invoice number, a typo) takes the whole repository, which refuses it or suggests the closest
    scope = _account_of(ws.root, old)
    for account in (scope, None) if scope else (None,):
        with ws.writing_account(account, books=True) if account else ws.writing() as (store, repo):
            if not repo.whole and old not in repo.quotes and old not in repo.contracts:
                continue
            plan = _renumber_in(ws, store, repo, old, new, Renumbering(old, new, day, reason.strip()), dry_run)
        break
    kind = plan.kind
    files = tuple(FileChange(rel, plan.texts[rel][0], tuple(plan.notes[rel])) for rel in plan.texts)
    data = renumber_json(old, new, kind, [(f.file, f.was, f.changes) for f in files], dry_run)
    n = len(files)
    if dry_run:
        message = f"dry run: renumbering {kind} {old} → {new} would change {n} file(s); nothing was written"
    else:
        message = f"renumbered {kind} {old} → {new}: {n} file(s) changed; commit them together"
    written = () if dry_run else tuple(rel for f in files for rel in ((f.was, f.file) if f.was else (f.file,)))
    return RenumberResult(old, new, kind, files, dry_run, data, written, message)


def _renumber_in(ws: Workspace, store, repo: Repo, old: str, new: str, record: Renumbering, dry_run: bool) -> _Plan:
    """:func:`renumber` with the lock held and the repository (or the account's files) loaded: the plan, written
    unless ``dry_run`` (then checked as the write would be)."""
    from cpqctl.store import sha256_file

    kind = _kind(repo, old)
    _refuse_taken(repo, new)
    if not repo.whole:
        _refuse_taken_elsewhere(ws.root, new)
    _refuse_issued(repo, kind, old)
    plan = _Plan(ws, repo, kind, old, new, record)
    plan.run()
    if dry_run:
        assert store.validator is not None  # installed by ws.writing(): the state this would leave, checked
        store.validator(plan.staged())
    else:
        with store.transaction() as tx:
            for rel, (was, text) in plan.texts.items():
                if was is None:
                    tx.write(rel, text, expect_sha256=sha256_file(ws.root / rel))
                else:
                    tx.delete(was, expect_sha256=sha256_file(ws.root / was))
                    tx.create(rel, text)
    return plan


# --------------------------------------------------------------------------- refusals


def _kind(repo: Repo, old: str) -> str:
    """quote | contract: what ``old`` names (refused: an invoice number, an ID of both kinds, an unknown ID)."""
    if old in repo.invoices:
        inv = repo.invoices[old]
        raise CpqError(
            "E-RENUMBER-ISSUED",
            f"{old} is an issued invoice number: an invoice number is never reused or renumbered ({_ISSUED_LAW}: "
            "one sequential number that identifies the invoice uniquely)",
            f"correct it with a new invoice that names it (`corrects: {old}`); renumber quotes and contracts only",
            src=inv.at.get("invoice", inv.src),
        )
    is_quote, is_contract = old in repo.quotes, old in repo.contracts
    if is_quote and is_contract:
        raise UsageError(
            "E-USAGE",
            f"`{old}` is both a quote ID and a contract ID: renumber cannot tell which one you mean",
            "rename one of them by hand (its file and every reference), then run `cpqctl check`",
        )
    if is_quote:
        return "quote"
    if is_contract:
        return "contract"
    lookup(
        {**repo.quotes, **repo.contracts},
        old,
        "quote or contract",
        "E-UNKNOWN-ID",
        "renumber takes a quote ID (quotes/<ID>.yaml) or a contract ID (contracts/<account>/<ID>.yaml)",
    )
    raise AssertionError("unreachable: lookup refuses an unknown ID")  # pragma: no cover


def _refuse_taken(repo: Repo, new: str) -> None:
    for what, records in (("quote", repo.quotes), ("contract", repo.contracts), ("invoice", repo.invoices)):
        rec = records.get(new)
        if rec is not None:
            raise CpqError(
                "E-DUPLICATE-ID",
                f"`{new}` is already the ID of {what} {new} ({rec.src.file}): IDs are unique across the repository",
                "choose an ID that no quote, contract or invoice uses (`cpqctl quote list`, `contract list`, "
                "`invoice list`)",
            )


def _account_of(root, old: str) -> str | None:
    """The account whose files hold the quote or contract ``old``: a contract's folder (the contract-ID index), a
    quote's top-level ``account:`` line; None when neither tells (then the whole repository is read)."""
    from cpqctl.load.invoice_index import account_of
    from cpqctl.load.payment_index import quote_account
    from cpqctl.load.schema import ID_RE

    if not ID_RE.fullmatch(old):
        return None
    contract = account_of(root, old)
    if contract is not None and (root / "quotes" / f"{old}.yaml").exists():
        return None  # a quote and a contract of one ID (maybe of two accounts): the whole repository refuses it
    return contract or quote_account(root, old)


def _refuse_taken_elsewhere(root, new: str) -> None:
    """:func:`_refuse_taken` over every account's files by their names (a renumbering on one account's files): a
    quote file ``quotes/NEW.yaml``, a contract file ``NEW.yaml`` in any account folder, an invoice file."""
    from cpqctl.core.numbering import file_stem
    from cpqctl.load.invoice_index import account_of

    contract = account_of(root, new)
    for what, rel in (
        ("quote", f"quotes/{new}.yaml"),
        ("contract", f"contracts/{contract}/{new}.yaml" if contract else None),
        ("invoice", f"invoices/{file_stem(new)}.yaml"),
    ):
        if rel is not None and (root / rel).is_file():
            raise CpqError(
                "E-DUPLICATE-ID",
                f"`{new}` is already the ID of {what} {new} ({rel}): IDs are unique across the repository",
                "choose an ID that no quote, contract or invoice uses (`cpqctl quote list`, `contract list`, "
                "`invoice list`)",
            )


def _refuse_issued(repo: Repo, kind: str, old: str) -> None:
    """Issued invoices never change: nothing they name may be renumbered (E-RENUMBER-ISSUED)."""
    hint = (
        f"{old} keeps its ID: issued invoices name it and never change. After a merge of two branches that both "
        "used the ID, renumber the one no invoice names"
    )
    if kind == "contract":
        billed = sorted(inv.invoice for inv in repo.invoices.values() if inv.contract == old)
        if billed:
            raise CpqError(
                "E-RENUMBER-ISSUED",
                f"contract {old} is billed on issued invoice{'s' if len(billed) > 1 else ''} {_listed(billed)}: "
                f"an issued invoice is never changed, so the contract it names keeps its ID ({_ISSUED_LAW})",
                hint,
                src=repo.contracts[old].where("contract"),
            )
        return
    prefixes = tuple(
        prefix
        for c in repo.contracts.values()
        for a in c.amendments
        if a.quote == old
        for prefix in (f"{c.contract}/{old}#", f"{c.contract}/{a.amendment}#")  # and the label older invoices used
    )
    if not prefixes:
        return
    billed = sorted(
        {inv.invoice for inv in repo.invoices.values() for ln in inv.lines if ln.segment.startswith(prefixes)}
    )
    if billed:
        raise CpqError(
            "E-RENUMBER-ISSUED",
            f"the segments of amendment quote {old} are billed on issued invoice{'s' if len(billed) > 1 else ''} "
            f"{_listed(billed)}: an issued invoice is never changed, so the quote its segment IDs name keeps its ID "
            f"({_ISSUED_LAW})",
            hint,
            src=repo.quotes[old].where("quote"),
        )


def _listed(ids: list[str]) -> str:
    return ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")


# --------------------------------------------------------------------------- the plan


class _Plan:
    """Every file the renumbering changes: its new text (``texts``: path → (old path if renamed, text)) and what
    changed in it (``notes``), computed from the files as they are on disk (their bytes, no newline translation)."""

    def __init__(self, ws: Workspace, repo: Repo, kind: str, old: str, new: str, record: Renumbering):
        self.ws, self.repo, self.kind, self.old, self.new, self.record = ws, repo, kind, old, new, record
        self.texts: dict[str, tuple[str | None, str]] = {}
        self.notes: dict[str, list[str]] = {}
        self.digests: dict[str, str] = {}  # quote ID (before) → its new digest (accepted quotes digested again)

    def run(self) -> None:
        quotes = [self.repo.quotes[self.old]] if self.kind == "quote" else []
        if self.kind == "contract":
            quotes = sorted((q for q in self.repo.quotes.values() if q.contract == self.old), key=lambda q: q.quote)
        for q in quotes:
            self._quote(q)
        for c in sorted(self.repo.contracts.values(), key=lambda c: c.src.file):
            self._contract(c)

    def staged(self) -> dict[str, bytes | None]:
        """The files as a commit would hand them to the store's validator (None: deleted)."""
        out: dict[str, bytes | None] = {}
        for rel, (was, text) in self.texts.items():
            if was is not None:
                out[was] = None
            out[rel] = text.encode("utf-8")
        return out

    def _read(self, rel: str) -> str:
        return (self.ws.root / rel).read_bytes().decode("utf-8")

    def _put(self, rel: str, was: str | None, text: str, notes: list[str]) -> None:
        self.texts[rel] = (was, text)
        self.notes[rel] = notes

    # -- quotes ------------------------------------------------------------

    def _quote(self, q: Quote) -> None:
        from cpqctl.formats import quotes as texts
        from cpqctl.formats.digest import digest_of, line_of, without_digest
        from cpqctl.formats.yamledit import append_items, set_scalars
        from cpqctl.formats.yamlout import Raw

        rel = q.src.file
        text = self._read(rel)
        accepted = q.status == "accepted"
        own = self.kind == "quote"
        key = "quote" if own else "contract"
        notes = [f"{key}: {self.old} → {self.new}"]
        changes: list[tuple[tuple[str | int, ...], Any]] = [((key,), self.new)]
        renamed = dataclasses.replace(q, quote=self.new) if own else dataclasses.replace(q, contract=self.new)
        new_text = set_scalars(text, changes, rel)
        if not accepted:
            new_text = self._draft_digests(q, renamed, new_text, notes)
        # the record: in the renamed quote, and in an accepted quote whose contract changes (its digest changes)
        record = self.record if own else dataclasses.replace(self.record, field="contract") if accepted else None
        body = without_digest(new_text) if accepted else new_text
        if record is not None:
            body = append_items(body, "renumbered", [Raw(texts.renumbered_flow(record))], rel, before_key="lines")
            notes.append("renumbered: recorded")
        if accepted:
            digest = digest_of(body)
            new_text = body + line_of(digest)
            self.digests[q.quote] = digest
            notes.append("digest: computed again")
        else:
            new_text = body
            if q.kind == "renewal" and record is None and not texts.edited_by_hand(text):
                new_text = texts.rehashed_renewal(new_text)
                notes.append("renewal header: hash computed again")
        target = str(PurePosixPath(rel).with_name(f"{self.new}.yaml")) if own else rel
        self._put(target, rel if own else None, new_text, notes)

    def _draft_digests(self, q: Quote, renamed: Quote, text: str, notes: list[str]) -> str:
        """A draft's approval and presentations name the priced quote with its IDs: those that held, follow."""
        from cpqctl.core import quotes

        try:
            priced = quotes.price(self.repo, q)
        except CpqError:  # a draft that does not price: no approval or presentation of it can hold
            return text
        before, after = quotes.priced_digest(q, priced), quotes.priced_digest(renamed, priced)
        if before == after or before not in text:
            return text
        if q.approved is not None and q.approved.digest == before:
            notes.append("approved.digest: follows")
        if any(p.digest == before for p in q.presented):
            notes.append("presented[].digest: follows")
        return text.replace(before, after)

    # -- contracts ---------------------------------------------------------

    def _contract(self, c: Contract) -> None:
        from cpqctl.formats import quotes as texts
        from cpqctl.formats.yamledit import append_items, set_scalars, shown_path
        from cpqctl.formats.yamlout import Raw

        ids = {self.old: self.new}
        quote_ids = ids if self.kind == "quote" else {}
        contract_ids = ids if self.kind == "contract" else {}
        changes: list[tuple[tuple[str | int, ...], Any]] = []
        notes: list[str] = []

        def change(path: tuple[str | int, ...], before: str, after: str, shown: str | None = None) -> None:
            changes.append((path, after))
            notes.append(f"{shown_path(path)}: {shown or f'{before} → {after}'}")

        if c.contract in contract_ids:
            change(("contract",), c.contract, self.new)
        if c.quote in quote_ids:
            change(("quote",), c.quote, self.new)
        if c.quote in self.digests and c.quote_digest is not None:
            change(("quote_digest",), c.quote_digest, self.digests[c.quote], "follows the quote's new digest")
        if c.renews in contract_ids:
            change(("renews",), c.renews, self.new)
        for i, a in enumerate(c.amendments):
            if a.quote in quote_ids:
                change(("amendments", i, "quote"), a.quote, self.new)
            if a.quote in self.digests and a.quote_digest is not None:
                change(("amendments", i, "quote_digest"), a.quote_digest, self.digests[a.quote], "follows")
        if not changes:
            return
        rel = c.src.file
        text = set_scalars(self._read(rel), changes, rel)
        head, nl, rest = text.partition("\n")
        if c.quote and head == texts.contract_comment(c.contract, c.quote):  # cpqctl's own first line
            cid, qid = contract_ids.get(c.contract, c.contract), quote_ids.get(c.quote, c.quote)
            if (cid, qid) != (c.contract, c.quote):
                text = texts.contract_comment(cid, qid) + nl + rest
                notes.append("first comment line: follows")
        own = c.contract in contract_ids
        if own:
            text = append_items(text, "renumbered", [Raw(texts.renumbered_flow(self.record))], rel, "lines")
            notes.append("renumbered: recorded")
        target = str(PurePosixPath(rel).with_name(f"{self.new}.yaml")) if own else rel
        self._put(target, rel if own else None, text, notes)
