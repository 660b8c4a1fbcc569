"""`cpqctl resolve`: the repository after a git merge made whole again (docs/teamwork.md).

Three repairs, all in one transaction, each file re-parsed before anything is written:

1. **Conflicted ledgers.** A contract file with conflict markers (both branches
   appended amendments) gets both sides' amendment entries: the default
   branch's first, in its order, then the others — so the default branch's
   ledger stays a pure append (:func:`cpqctl.formats.merging.merge_ledgers`).
2. **Dropped amendments.** An accepted amendment quote whose contract's ledger
   has no entry for it (a merge resolved with "ours", a deleted entry) gets its
   entry back, rebuilt from the quote's frozen lines, signer and digest.
3. **Labels.** Entries are labelled A-1, A-2, … in file order (a `merge=union`
   driver or a hand resolution leaves two A-2).

A ledger that a `merge=union` driver fused into invalid YAML is merged
again from the two sides git joined (HEAD and MERGE_HEAD, or the merge
commit's parents).

Anything else with conflict markers (cpq.toml, the catalog, an account, two
different quotes or invoices under one number) is a change a person resolves:
listed, never touched. What `check` still finds afterwards is reported with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError, Diagnostic


@dataclass(frozen=True)
class Repair:
    file: str
    action: str  # merged | restored | relabelled
    detail: str


@dataclass(frozen=True)
class ResolveResult:
    repairs: tuple[Repair, ...]
    unresolved: tuple[tuple[str, int, str], ...]  # (file, line of the first marker, why a person must resolve it)
    written: tuple[str, ...]
    dry_run: bool
    findings: tuple[Diagnostic, ...]  # what `check` finds on the result

    @property
    def errors(self) -> int:
        return sum(1 for d in self.findings if d.severity == "error")

    @property
    def data(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "repairs": [{"file": r.file, "action": r.action, "detail": r.detail} for r in self.repairs],
            "unresolved": [{"file": f, "line": n, "why": why} for f, n, why in self.unresolved],
            "written": list(self.written),
            "errors": self.errors,
            "findings": [d.as_json() for d in self.findings],
        }


def resolve(ws: Workspace, *, dry_run: bool = False) -> ResolveResult:
    """Repair what a merge left (module doc); ``dry_run`` reports the repairs and writes nothing."""
    from cpqctl.app.workspace import validate
    from cpqctl.core import merges
    from cpqctl.formats import merging
    from cpqctl.load.repo import _files, load_bytes, load_parts

    store = ws.store()
    with store.lock():
        texts: dict[str, str] = {}
        settled = _Settled(ws)
        repairs: list[Repair] = []
        unresolved: list[tuple[str, int, str]] = []
        toml = ws.root / "cpq.toml"
        if toml.is_file():
            line = merges.first_marker(toml.read_text(encoding="utf-8", errors="replace"))
            if line is not None:
                unresolved.append(("cpq.toml", line, "settings: keep the lines you want, delete the markers"))
        for rel, kind in _files(ws.root):
            raw = (ws.root / rel).read_bytes()
            text = raw.decode("utf-8", errors="replace")
            line = merges.first_marker(text)
            if line is None:
                continue
            sides = merges.split_conflict(text)
            if kind != "contract" or sides is None:
                why = "the markers do not nest as git writes them" if sides is None else _why_by_hand(kind)
                unresolved.append((rel, line, why))
                continue
            try:
                merged, added = merging.merge_ledgers(sides.ours, sides.theirs, settled(rel))
            except merging.NotALedger as e:
                unresolved.append((rel, line, str(e)))
                continue
            bad = [d for d in load_bytes(rel, kind, merged.encode("utf-8")).diagnostics if d.severity == "error"]
            if bad:
                unresolved.append((rel, line, f"the merged ledger does not read back: {bad[0].message}"))
                continue
            texts[rel] = merged
            repairs.append(Repair(rel, "merged", "kept both sides; appended " + (", ".join(added) or "nothing")))
        # a big repository a part at a time; whole when a dry run (or what stays unresolved) keeps repairs unwritten:
        # what `check` finds after them is then of files not on disk
        chunked = _in_chunks(ws, dict(texts), list(repairs), unresolved, settled)
        if chunked is not None and not (chunked[0] and (dry_run or any(f in chunked[0] for f, _, _ in unresolved))):
            return _resolved_in_chunks(ws, store, chunked[0], chunked[1], unresolved, dry_run)
        loaded = load_parts(ws.root)
        _unmerge_garbled(ws, loaded, texts, repairs, unresolved, settled)
        state = loaded.staged({k: v.encode("utf-8") for k, v in texts.items()})
        repo, _ = state.assemble()
        _restore_dropped(ws, repo, texts, repairs)
        _relabel(ws, repo, texts, repairs)
        final = loaded.staged({k: v.encode("utf-8") for k, v in texts.items()})
        for rel in texts:
            errs = [d for d in final.results[rel].diagnostics if d.severity == "error"]
            if errs:  # never: every text above was read back; kept as the last guard before a write
                unresolved.append((rel, errs[0].line, f"the repaired file does not read back: {errs[0].message}"))
        repo, diags = final.assemble()
        found = validate(repo, diags)
        found = sorted(found + ws.einvoice_findings(repo, found))  # what `check` gives (the e-invoices too)
        findings = tuple(d for d in found if d.severity in ("error", "warning"))
        written = _write(store, texts, unresolved, dry_run)
    return ResolveResult(tuple(repairs), tuple(unresolved), written, dry_run, findings)


def _write(store, texts: dict[str, str], unresolved, dry_run: bool) -> tuple[str, ...]:
    """The repaired files written in one transaction, unless ``dry_run`` or one of them is still unresolved."""
    if not texts or dry_run or any(f in texts for f, _, _ in unresolved):
        return ()
    with store.transaction() as tx:
        for rel, text in sorted(texts.items()):
            tx.write(rel, text)
    return tuple(sorted(texts))


def _unmerge_garbled(
    ws: Workspace, loaded, texts: dict[str, str], repairs: list[Repair], unresolved, settled: _Settled
) -> None:
    """A ledger that a line-by-line merge (a `merge=union` driver) garbled: merged again from git's two sides.

    A union driver keeps the lines both sides added once, so two appended
    entries fuse into one with duplicate keys; the merge's two parents still
    hold each side whole.
    """
    from cpqctl.formats import merging
    from cpqctl.load.git import merge_sides
    from cpqctl.load.repo import load_bytes

    for rel, res in loaded.results.items():
        if res.kind != "contract" or rel in texts or any(rel == f for f, _, _ in unresolved):
            continue
        if not any(d.severity == "error" for d in res.diagnostics):
            continue
        sides = merge_sides(ws.root, rel)
        if sides is None:
            continue
        if any(d.severity == "error" for side in sides for d in load_bytes(rel, "contract", side.encode()).diagnostics):
            continue
        try:
            merged, added = merging.merge_ledgers(*sides, settled(rel))
        except merging.NotALedger:
            continue
        if any(d.severity == "error" for d in load_bytes(rel, "contract", merged.encode()).diagnostics):
            continue
        texts[rel] = merged
        repairs.append(
            Repair(
                rel,
                "merged",
                "rebuilt from the merge's two sides (a line-by-line merge garbled it); appended "
                + (", ".join(added) or "nothing"),
            )
        )


class _Settled:
    """The default branch's version of a file: its amendments keep their places (merging.merge_ledgers).

    The default branch is looked up once per run (git and cpq.toml), on the first conflicted ledger.
    """

    def __init__(self, ws: Workspace) -> None:
        self.root = ws.root
        self._default: list[str | None] = []

    def default(self) -> str | None:
        if not self._default:
            from cpqctl.load.git import branch
            from cpqctl.load.repo import load_settings

            try:
                configured = getattr(load_settings(self.root)[0], "git_default_branch", None)
                where = branch(self.root, configured)
                self._default.append(where.default if where is not None else None)
            except CpqError:  # cpq.toml itself in conflict: listed for a person; ledgers merge without it
                self._default.append(None)
        return self._default[0]

    def __call__(self, rel: str) -> str | None:
        from cpqctl.load.git import default_version

        default = self.default()
        return default_version(self.root, rel, default) if default is not None else None


def _why_by_hand(kind: str) -> str:
    return {
        "quote": "two quotes under one number: keep one, give the other a new number (`cpqctl renumber`)",
        "invoice": "two invoices under one number: an issued number is never reused; keep the one that was sent "
        "and correct the other with a new invoice",
        "account": "the account changed on both branches: keep the lines you want, delete the markers",
        "catalog": "the catalog changed on both branches: keep the lines you want, delete the markers",
    }.get(kind, "keep the lines you want, delete the markers")


def _text(ws: Workspace, texts: dict[str, str], rel: str) -> str:
    if rel not in texts:
        texts[rel] = (ws.root / rel).read_bytes().decode("utf-8")
    return texts[rel]


def _restore_dropped(ws: Workspace, repo, texts: dict[str, str], repairs: list[Repair], keys=None) -> None:
    """Re-append the entry of each accepted amendment quote that its contract's ledger lacks (``keys``: each repair's
    place in the order, appended, for :func:`_in_chunks`)."""
    from cpqctl.core import quotes
    from cpqctl.formats.quotes import add_amendment
    from cpqctl.load.repo import load_bytes

    named = {a.quote for c in repo.contracts.values() for a in c.amendments if a.quote}
    missing = sorted(
        (q for q in repo.quotes.values() if q.kind == "amendment" and q.status == "accepted" and q.digest),
        key=lambda q: (q.signed.date if q.signed else q.date, q.quote),
    )
    for q in missing:
        c = repo.contracts.get(q.contract or "")
        if q.quote in named or c is None or q.signed is None:
            continue
        rel = c.src.file
        text = _text(ws, texts, rel)
        current = load_bytes(rel, "contract", text.encode("utf-8")).records
        count = len(current[0].amendments) if current else len(c.amendments)
        priced = quotes.price(repo, q)
        texts[rel] = add_amendment(text, c, f"A-{count + 1}", q, priced, q.signed.by, q.signed.date, q.digest)
        named.add(q.quote)
        repairs.append(Repair(rel, "restored", f"the entry of accepted amendment quote {q.quote} (a merge dropped it)"))
        if keys is not None:
            keys.append((q.signed.date if q.signed else q.date, q.quote))


def _relabel(ws: Workspace, repo, texts: dict[str, str], repairs: list[Repair]) -> None:
    from cpqctl.formats import merging

    for c in repo.contracts.values():
        rel = c.src.file
        text = _text(ws, texts, rel) if rel in texts else None
        labels = [a.amendment for a in c.amendments]
        if text is None and labels == [f"A-{i}" for i in range(1, len(labels) + 1)]:
            continue
        text = _text(ws, texts, rel)
        new = merging.relabel(text)
        if new != text:
            texts[rel] = new
            if not any(r.file == rel for r in repairs):
                repairs.append(Repair(rel, "relabelled", "amendments labelled A-1, A-2, … in order"))
        elif rel in texts and not any(r.file == rel for r in repairs):
            del texts[rel]  # read, nothing to change


# --------------------------------------------------------------------------- a big repository


def _in_chunks(ws: Workspace, texts: dict[str, str], repairs: list[Repair], unresolved, settled):
    """The repairs of a big repository (issue 21: its whole model of 50,000 accounts held 0.9 GB), its account
    folders read a part at a time with their quotes and the catalog (no invoice or payment: no repair reads them):
    (the files' new texts, every repair in the whole run's order), or None when the whole repository is read instead
    (small, or a quote whose contract another account's folder holds).

    Each repair reads one contract and the quotes naming it, all of one account, so a part's repairs are the whole
    run's for its contracts; they are put in the whole run's order: the conflicts merged, then the ledgers rebuilt
    from the merge's sides, the dropped entries restored (by signature date and quote) and the labels."""
    import os

    from cpqctl.load.cache import load_files
    from cpqctl.load.invoice_index import account_of
    from cpqctl.load.parts import chunk_files, plan
    from cpqctl.load.payment_index import QUOTES, owners_in
    from cpqctl.load.repo import Loaded, elsewhere

    found = plan(ws.root)
    if found is None:
        return None
    folder = ws.root / "quotes"
    entries = (
        [(f"quotes/{e.name}", e) for e in sorted(os.scandir(folder), key=lambda e: e.name)]
        if folder.is_dir() and not folder.is_symlink()
        else []
    )
    quotes_of: dict[str | None, list[str]] = {}
    for rel, owner in owners_in(ws.root, QUOTES, entries).items():
        if owner is not None and owner not in found.folders:
            return None  # a quote of an account with no folder: its contract is found by the whole run alone
        quotes_of.setdefault(owner, []).append(rel)
    catalog = load_files(ws.root, found.catalog)
    where = elsewhere(ws.root)
    garbled: list[Repair] = []
    restored: list[tuple[tuple, Repair]] = []
    relabelled: list[Repair] = []
    for group in found.groups(chunk_files()):  # the account folders in the whole load's order
        mine = set(group)
        files = [f for a in group for f in found.folders[a]]
        files += [(rel, "quote") for a in group for rel in quotes_of.get(a, ())]
        files += [(rel, "quote") for rel in quotes_of.get(None, ())]  # whose account a plain match cannot tell
        results = dict(catalog)
        for rel, res in load_files(ws.root, files).items():
            if res.kind == "quote" and res.records and res.records[0].account not in mine:
                continue
            results[rel] = res
        loaded = Loaded(found.settings, results, [], whole=False, elsewhere=where)
        own = {rel for rel, _ in files}
        before = len(garbled)
        _unmerge_garbled(ws, loaded, texts, garbled, unresolved, settled)
        repo = loaded.staged({k: v.encode("utf-8") for k, v in texts.items() if k in own}).assemble()[0]
        for q in repo.quotes.values():
            if q.kind == "amendment" and q.contract and q.contract not in repo.contracts:
                if account_of(ws.root, q.contract) is not None:
                    return None  # its contract is another account's: the whole run restores it there
        keys: list[tuple] = []
        got: list[Repair] = []
        _restore_dropped(ws, repo, texts, got, keys)
        restored += zip(keys, got, strict=True)
        so_far = [*repairs, *garbled[before:], *got]
        _relabel(ws, repo, texts, so_far)
        relabelled += so_far[len(repairs) + len(garbled) - before + len(got) :]
        del loaded, repo, results
    ordered = [*repairs, *garbled, *(r for _, r in sorted(restored, key=lambda kr: kr[0])), *relabelled]
    return texts, ordered


def _resolved_in_chunks(ws: Workspace, store, texts: dict[str, str], repairs, unresolved, dry_run: bool):
    """:func:`resolve`'s end on a big repository: the repairs written (unless ``dry_run``; a dry run with repairs
    reads the repository whole, as what `check` would find after them is of files not written), then what `check`
    finds on the state written, in parts (remembered)."""
    import time

    from cpqctl.load import remembered
    from cpqctl.load.repo import data_file_kind, load_bytes

    for rel, text in texts.items():
        errs = [
            d for d in load_bytes(rel, data_file_kind(rel) or "", text.encode()).diagnostics if d.severity == "error"
        ]
        if errs:  # never: every text was read back; kept as the last guard before a write
            unresolved.append((rel, errs[0].line, f"the repaired file does not read back: {errs[0].message}"))
    written = _write(store, texts, unresolved, dry_run)
    started = time.time_ns()
    key, newest = remembered.state_key(ws.root)
    found = ws.findings((key, newest, started))
    findings = tuple(d for d in found if d.severity in ("error", "warning"))
    return ResolveResult(tuple(repairs), tuple(unresolved), written, dry_run, findings)
