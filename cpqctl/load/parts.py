"""The repository in parts of whole accounts, for a run that needs one account at a time (issue 21).

`invoice run --dry-run` bills each contract from its own account and its own invoices (docs/design/
check-by-account.md §7): nothing it reads crosses accounts but the settings and the catalog. Holding the whole
model of 50,000 accounts with 191,000 invoices took 0.8 GB; :func:`billing_parts` gives the same files in
:data:`CHUNK_FILES`-sized parts, each a set of whole account folders with every invoice of their contracts,
so that a run holds one part's records at a time.

Each part reads, beside its own files, the settings and the catalog once for all, the invoices whose contract a
plain match of their ``contract:`` line cannot tell (:mod:`cpqctl.load.invoice_index`; every part reads them and
keeps those its contracts own), and a share of the quotes, payments and periods, read only for their findings: the
whole load refuses a repository whose files have loader errors, and so do the parts.

The parts stand for the whole only when nothing can tell them apart; else :func:`billing_parts` gives None
before the first part, or raises :class:`Whole` while giving them, and the caller loads the whole repository
(whose refusal or result is then the answer):

- any loader error (the whole load's refusal names them all, in its order);
- an ID defined twice (the whole load reports E-DUPLICATE-ID and refuses): contract, account and invoice IDs
  are gathered across the parts;
- an invoice whose parsed ``contract:`` is not the one its line's plain match named (it would then have been
  billed against in the wrong part).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

from cpqctl.load.repo import Loaded

CHUNK_FILES = 40_000  # account, contract and invoice files per part (≈ 90 MiB of records at 50,000 accounts)


class Whole(Exception):
    """The parts cannot stand for the whole repository: load it whole (see the module's docstring)."""


def chunk_files() -> int:
    """:data:`CHUNK_FILES`, or ``CPQ_CHUNK_FILES`` (tests make small repositories come in parts)."""
    raw = os.environ.get("CPQ_CHUNK_FILES", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return CHUNK_FILES


def billing_parts(root: Path, meter=None) -> Iterator[Loaded] | None:
    """The repository's account folders and their contracts' invoices in parts (None: a repository small enough
    to load whole, or one the parts cannot stand for; see the module's docstring). Each part is a
    :class:`~cpqctl.load.repo.Loaded` with ``whole`` False; iterating raises :class:`Whole` when a part shows
    that the whole load differs."""
    from cpqctl.load import invoice_index
    from cpqctl.load.cache import load_files
    from cpqctl.load.repo import _files, _well_named, load_settings, template_problems

    settings, diags = load_settings(root)
    files = _files(root, diags)
    diags += template_problems(root)
    files = _well_named(files, diags)
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
    size = chunk_files()
    count = math.ceil((sum(len(f) for f in folders.values()) + len(invoices)) / size)
    if count <= 1:
        return None
    account_of: dict[str, str] = {}  # contract ID (its file's name) → account folder
    for acct, own in folders.items():
        for rel, kind in own:
            if kind == "contract":
                cid = rel.rsplit("/", 1)[1][: -len(".yaml")]
                if account_of.setdefault(cid, acct) != acct:
                    return None  # one contract ID in two folders: E-DUPLICATE-ID
    owner_of = invoice_index.owners(root)
    named: dict[str, str] = {}  # invoice path → the contract its line names (a contract on file)
    mine: dict[str, list[str]] = {}  # account folder → its contracts' invoices
    stray: list[tuple[str, str]] = []  # whose contract cannot be told (or is no contract on file): read by every part
    for rel in invoices:
        owner = owner_of.get(rel[len("invoices/") :])
        acct = account_of.get(owner) if owner is not None else None
        if acct is None:
            stray.append((rel, "invoice"))
        else:
            named[rel] = owner  # type: ignore[assignment]
            mine.setdefault(acct, []).append(rel)
    del owner_of
    # whole account folders in order, cut when a part holds about ``size`` files
    parts: list[list[str]] = [[]]
    held = 0
    for acct in folders:
        weight = len(folders[acct]) + len(mine.get(acct, ()))
        if held and held + weight > size:
            parts.append([])
            held = 0
        parts[-1].append(acct)
        held += weight
    catalog_results = load_files(root, catalog)
    return _parts(root, settings, diags, catalog_results, parts, folders, mine, named, stray, others, meter)


def _parts(root, settings, diags, catalog_results, parts, folders, mine, named, stray, others, meter):
    from cpqctl.load.cache import load_files

    seen: dict[str, set[str]] = {"account": set(), "contract": set(), "invoice": set()}
    for n, accounts in enumerate(parts):
        files = [f for acct in accounts for f in folders[acct]]
        files += [(rel, "invoice") for acct in accounts for rel in mine.get(acct, ())]
        files += stray
        files += others[n :: len(parts)]
        loaded = load_files(root, files, meter, part=True)
        contracts = {
            rel.rsplit("/", 1)[1][: -len(".yaml")] for acct in accounts for rel, k in folders[acct] if k == "contract"
        }
        results = dict(catalog_results)
        for rel, res in loaded.items():
            if any(d.severity == "error" for d in res.diagnostics):
                raise Whole(rel)
            if res.kind not in seen:
                continue  # a quote, payment or period: read for its findings only
            if res.kind == "invoice" and res.records:
                parsed = res.records[0].contract
                if rel not in named:  # a stray: the part of its contract keeps it
                    if parsed not in contracts:
                        continue
                elif parsed != named[rel]:
                    raise Whole(rel)
            for rec in res.records:
                ident = getattr(rec, res.kind)
                if ident in seen[res.kind]:
                    raise Whole(rel)
                seen[res.kind].add(ident)
            results[rel] = res
        del loaded
        yield Loaded(settings, results, list(diags), whole=False)
