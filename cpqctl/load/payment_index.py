"""Which payment and quote files belong to an account, without parsing every one.

The account statement reads its payments; a write about one account (`amend`, `renew C`, `quote new`) reads its
quotes. Like :mod:`cpqctl.load.invoice_index`, per file its size, ``mtime_ns`` and the top-level ``account:`` value
read by a plain text match, in ``.cpq/cache/payment-accounts.json`` and ``.cpq/cache/quote-accounts.json``; a file
whose account the match cannot tell is always returned (the loader parses it, and its parsed ``account`` is the
authority). Payments and draft quotes may be edited in place (a person names the payer of a line to review, or
edits a draft), so every file is stat'ed each time: there is no folder-mtime shortcut as for the never-edited
invoices. A stat costs about a microsecond: 100,000 quote files add about 0.1 s.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from cpqctl.load.invoice_index import HEAD_BYTES, RACY_NS, _read, _write, head_matches

INDEX = ".cpq/cache/payment-accounts.json"
QUOTES = ".cpq/cache/quote-accounts.json"
_ACCOUNT_LINE = re.compile(rb"^account:[ \t]*([A-Za-z0-9][A-Za-z0-9._-]*)[ \t]*(?:#.*)?\r?$", re.MULTILINE)


def quote_account(root: Path, quote_id: str) -> str | None:
    """The account a quote file's top-level ``account:`` line names, read without parsing it; None when
    ``quote_id`` is no ID, ``quotes/<ID>.yaml`` no regular file, or a plain match cannot tell."""
    from cpqctl.load.repo import regular_file
    from cpqctl.load.schema import ID_RE

    rel = f"quotes/{quote_id}.yaml"
    if not ID_RE.fullmatch(quote_id) or not regular_file(root, rel):
        return None
    return account_in(str(root / rel)) or None


def account_in(path: str) -> str | None:
    """The file's top-level ``account:`` value, "" when it has none (a line to review), None when unsure."""
    return _line_in(path, _ACCOUNT_LINE, b"account:")


def _line_in(path: str, line: re.Pattern[bytes], key: bytes) -> str | None:
    """The file's one top-level value of ``key`` as ``line`` finds it, "" when it has none, None when unsure."""
    got = head_matches(path, line)
    if got is None:
        return None
    head, found = got
    if len(found) == 1:
        return found[0].decode("ascii")
    if not found and len(head) < HEAD_BYTES and key not in head:
        return ""
    return None


def payment_files_of(root: Path, account: str) -> list[tuple[str, str]]:
    """(relative path, "payment") of every payment file that may belong to ``account``, months in order."""
    entries = _payment_entries(root)
    return [(rel, "payment") for rel in files_owned_by(root, INDEX, entries, account)] if entries is not None else []


def _payment_entries(root: Path) -> list[tuple[str, os.DirEntry]] | None:
    """(repository path, directory entry) of everything in the month folders of ``payments/``, months in order
    (None: no such folder, and no index to read or write)."""
    folder = root / "payments"
    if not folder.is_dir() or folder.is_symlink():
        return None
    return [
        (f"payments/{month.name}/{entry.name}", entry)
        for month in sorted(os.scandir(folder), key=lambda e: e.name)
        if month.is_dir(follow_symlinks=False)
        for entry in sorted(os.scandir(month.path), key=lambda e: e.name)
    ]


def quote_files_of(root: Path, account: str) -> list[tuple[str, str]]:
    """(relative path, "quote") of every quote file that may belong to ``account``, in name order."""
    folder = root / "quotes"
    if not folder.is_dir() or folder.is_symlink():
        return []
    entries = [(f"quotes/{e.name}", e) for e in sorted(os.scandir(folder), key=lambda e: e.name)]
    return [(rel, "quote") for rel in files_owned_by(root, QUOTES, entries, account)]


def files_owned_by(root: Path, index: str, entries: list[tuple[str, os.DirEntry]], account: str) -> list[str]:
    """The paths among ``entries`` (repository path, directory entry) of the YAML files whose top-level
    ``account:`` is ``account`` or cannot be told by a plain match, remembered per file (size, ``mtime_ns``,
    ``ctime_ns``) in the index file ``index``. Every file is stat'ed: the files may be edited in place."""
    return [rel for rel, owner in owners_in(root, index, entries).items() if owner is None or owner == account]


def payment_owners(root: Path) -> dict[str, str | None]:
    """Every payment file (months in order) → the account its ``account:`` line names ("" none, None: a plain match
    cannot tell, or no regular file), for a run over the whole repository in parts (:mod:`cpqctl.load.parts`)."""
    entries = _payment_entries(root)
    return owners_in(root, INDEX, entries) if entries is not None else {}


def owners_in(
    root: Path, index: str, entries: list[tuple[str, os.DirEntry]], read: Callable[[str], str | None] | None = None
) -> dict[str, str | None]:
    """Each YAML file among ``entries`` → its top-level ``account:`` as :func:`account_in` reads it (``read``:
    another line's value, e.g. ``corrects:``; None for a link, a folder or a pipe: whose it is cannot be told, the
    caller reports it), remembered in the index file ``index``."""
    read = read or account_in
    started = time.time_ns()
    index_path = root / index
    data = _read(index_path)
    old = data["files"]
    new: dict[str, list] = {}
    out: dict[str, str | None] = {}
    for rel, entry in entries:
        if not entry.name.endswith((".yaml", ".yml")):
            continue
        if not entry.is_file(follow_symlinks=False):
            out[rel] = None
            continue
        st = entry.stat(follow_symlinks=False)
        hit = old.get(rel)
        fresh = (
            type(hit) is list
            and len(hit) == 4
            and hit[:3] == [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
            and type(hit[3]) in (str, type(None))
        )
        owner = hit[3] if fresh else read(entry.path)
        if st.st_mtime_ns < started - RACY_NS and st.st_ctime_ns < started - RACY_NS:
            new[rel] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, owner]
        out[rel] = owner
    record = {"format": data["format"], "folder_mtime_ns": None, "files": new}
    if record != data:
        _write(root, index_path, record)
    return out


CORRECTS = ".cpq/cache/invoice-corrects.json"
_CORRECTS_LINE = re.compile(rb"^corrects:[ \t]*([A-Za-z0-9][A-Za-z0-9._/-]*)[ \t]*(?:#.*)?\r?$", re.MULTILINE)


def corrects_in(path: str) -> str | None:
    """The invoice file's top-level ``corrects:`` value, "" when it has none, None when a plain match cannot tell."""
    return _line_in(path, _CORRECTS_LINE, b"corrects:")


def corrections_of(root: Path, numbers: set[str], pattern: str) -> list[tuple[str, str]]:
    """(relative path, "invoice") of the corrective invoices — the files of ``invoices/`` whose names are in the
    series ``pattern`` ([numbering] correction) — whose ``corrects:`` line names one of ``numbers`` or cannot be
    told, remembered per file in :data:`CORRECTS` (a write about one account reads the corrections of its invoices
    that another account's files hold: `check`'s E-CORRECTION-ACCOUNT)."""
    from cpqctl.core.numbering import file_stem, parse

    folder = root / "invoices"
    if not folder.is_dir() or folder.is_symlink():
        return []
    stem_pattern = file_stem(pattern)
    with os.scandir(folder) as found:
        entries = [
            (f"invoices/{e.name}", e)
            for e in found
            if e.name.endswith(".yaml") and parse(stem_pattern, e.name[: -len(".yaml")]) is not None
        ]
    entries.sort(key=lambda x: x[0])
    named = owners_in(root, CORRECTS, entries, corrects_in)
    return [(rel, "invoice") for rel, target in named.items() if target is None or target in numbers]
