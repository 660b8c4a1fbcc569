"""Which payment files belong to an account, without parsing every payment (the account statement's payments).

Like :mod:`cpqctl.load.invoice_index`, per file its size, ``mtime_ns`` and the top-level ``account:`` value
read by a plain text match, in ``.cpq/cache/payment-accounts.json``; a file whose account the match cannot
tell is always returned (the loader parses it, and its parsed ``account`` is the authority). Payments may be
edited in place (a person names the payer of a line to review), so every file is stat'ed each time: there is
no folder-mtime shortcut as for the never-edited invoices.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from cpqctl.load.invoice_index import HEAD_BYTES, RACY_NS, _read, _write, head_matches

INDEX = ".cpq/cache/payment-accounts.json"
_ACCOUNT_LINE = re.compile(rb"^account:[ \t]*([A-Za-z0-9][A-Za-z0-9._-]*)[ \t]*(?:#.*)?\r?$", re.MULTILINE)


def account_in(path: str) -> str | None:
    """The file's top-level ``account:`` value, "" when it has none (a line to review), None when unsure."""
    got = head_matches(path, _ACCOUNT_LINE)
    if got is None:
        return None
    head, found = got
    if len(found) == 1:
        return found[0].decode("ascii")
    if not found and len(head) < HEAD_BYTES and b"account:" not in head:
        return ""
    return None


def payment_files_of(root: Path, account: str) -> list[tuple[str, str]]:
    """(relative path, "payment") of every payment file that may belong to ``account``, months in order."""
    folder = root / "payments"
    if not folder.is_dir() or folder.is_symlink():
        return []
    started = time.time_ns()
    index_path = root / INDEX
    data = _read(index_path)
    old = data["files"]
    new: dict[str, list] = {}
    out = []
    for month in sorted(os.scandir(folder), key=lambda e: e.name):
        if not month.is_dir(follow_symlinks=False):
            continue
        for entry in sorted(os.scandir(month.path), key=lambda e: e.name):
            if not (entry.name.endswith((".yaml", ".yml")) and entry.is_file(follow_symlinks=False)):
                continue
            rel = f"payments/{month.name}/{entry.name}"
            st = entry.stat(follow_symlinks=False)
            hit = old.get(rel)
            fresh = (
                type(hit) is list
                and len(hit) == 4
                and hit[:3] == [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
                and type(hit[3]) in (str, type(None))
            )
            owner = hit[3] if fresh else account_in(entry.path)
            if st.st_mtime_ns < started - RACY_NS and st.st_ctime_ns < started - RACY_NS:
                new[rel] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, owner]
            if owner is None or owner == account:
                out.append((rel, "payment"))
    record = {"format": data["format"], "folder_mtime_ns": None, "files": new}
    if record != data:
        _write(root, index_path, record)
    return out
