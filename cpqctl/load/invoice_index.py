"""Which invoice files belong to a contract, without parsing every invoice.

Invoice files are named by their number, not their contract, so a command
about one contract (`invoice preview`) would otherwise read the whole invoice
ledger: 24,000 files on a 10,000-account repository. This index remembers, per
file, its size, ``mtime_ns`` and the ``contract:`` value read from the file's
top-level line (a plain text match, no YAML parse), in
``.cpq/cache/invoice-contracts.json``. A changed or new file is read again; a
file whose contract the line match cannot tell is always returned (the loader
then parses it, and its parsed ``contract`` is the authority). A missing,
damaged or foreign index is rebuilt, and one that cannot be written is no error.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

INDEX = ".cpq/cache/invoice-contracts.json"
FORMAT = 1
RACY_NS = 2_000_000_000  # as in cache.py: an entry for a file changed this recently could go stale unseen
_CONTRACT_LINE = re.compile(rb"^contract:[ \t]*([A-Za-z0-9][A-Za-z0-9._-]*)[ \t]*(?:#.*)?\r?$", re.MULTILINE)
HEAD_BYTES = 4096  # `contract:` is the third key of an invoice written by cpqctl


def contract_in(path: str) -> str | None:
    """The file's top-level ``contract:`` value, or None when a plain match cannot tell."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError:
        return None
    found = _CONTRACT_LINE.findall(head)
    return found[0].decode("ascii") if len(found) == 1 else None


def invoice_files_of(root: Path, contract: str) -> list[tuple[str, str]]:
    """(relative path, "invoice") of every invoice file that may belong to ``contract``, in name order."""
    folder = root / "invoices"
    if not folder.is_dir():
        return []
    started = time.time_ns()
    index_path = root / INDEX
    old = _read(index_path)
    new: dict[str, list] = {}
    out = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not (entry.name.endswith((".yaml", ".yml")) and entry.is_file()):
            continue
        st = entry.stat()
        hit = old.get(entry.name)
        if type(hit) is list and len(hit) == 3 and hit[:2] == [st.st_size, st.st_mtime_ns]:
            owner = hit[2]
        else:
            owner = contract_in(entry.path)
        if owner is not None and st.st_mtime_ns < started - RACY_NS:
            new[entry.name] = [st.st_size, st.st_mtime_ns, owner]
        if owner is None or owner == contract:
            out.append((f"invoices/{entry.name}", "invoice"))
    if new != old:
        _write(root, index_path, new)
    return out


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if type(data) is not dict or data.get("format") != FORMAT or type(data.get("files")) is not dict:
        return {}
    return data["files"]


def _write(root: Path, path: Path, files: dict) -> None:
    from cpqctl.store import Store

    try:
        Store(root)._ensure_cpq_dir()  # `.cpq/` with its `.gitignore`: the index never reaches a commit
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({"format": FORMAT, "files": files}, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError:
        pass
