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

When the ``invoices/`` folder's own mtime is what it was when every file was
indexed, no file was added, removed or replaced since, and the files are not
even stat'ed: `invoice preview` then costs the same on 1,000 or 50,000
accounts. The index is also kept by contract, in :data:`BUCKETS` small files
(``.cpq/cache/invoice-by-contract/NN.json``, a contract's by a stable hash of
its ID), each with the folder's mtime it was made at: then a command about one
contract reads one of them, not the whole index (3 MB at 50,000 accounts). The one change this cannot see is an in-place edit of an issued
invoice's ``contract:`` line, which cpqctl never makes (invoices are never
edited, SPEC §1; a correction is a new invoice) and an editor saving by
rename does not hide.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from pathlib import Path

INDEX = ".cpq/cache/invoice-contracts.json"
BY_CONTRACT = ".cpq/cache/invoice-by-contract"
BUCKETS = 256
ACCOUNTS = ".cpq/cache/contract-accounts.json"
FORMAT = 2
RACY_NS = 2_000_000_000  # as in cache.py: an entry for a file changed this recently could go stale unseen
_CONTRACT_LINE = re.compile(rb"^contract:[ \t]*([A-Za-z0-9][A-Za-z0-9._-]*)[ \t]*(?:#.*)?\r?$", re.MULTILINE)
HEAD_BYTES = 4096  # `contract:` is the third key of an invoice written by cpqctl


def head_matches(path: str, line: re.Pattern[bytes]) -> tuple[bytes, list[bytes]] | None:
    """The first :data:`HEAD_BYTES` of a file and the values ``line`` finds in them (None: unreadable)."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError:
        return None
    return head, line.findall(head)


def contract_in(path: str) -> str | None:
    """The file's top-level ``contract:`` value, or None when a plain match cannot tell."""
    got = head_matches(path, _CONTRACT_LINE)
    return got[1][0].decode("ascii") if got is not None and len(got[1]) == 1 else None


def invoice_files_of(root: Path, contract: str) -> list[tuple[str, str]]:
    """(relative path, "invoice") of every invoice file that may belong to ``contract``, in name order."""
    folder = root / "invoices"
    try:
        folder_mtime = os.stat(folder).st_mtime_ns
    except OSError:
        return []
    bucket = _bucket(root, contract)
    if bucket is not None and bucket.get("folder_mtime_ns") == folder_mtime:
        names = bucket["contracts"].get(contract, [])
        if type(names) is list and all(type(n) is str for n in names):  # else: a damaged bucket, as below
            return [(f"invoices/{name}", "invoice") for name in sorted({*names, *bucket["unknown"]})]
    found = _owners(root, folder, folder_mtime, buckets_stale=True)
    return [(f"invoices/{name}", "invoice") for name, owner in found.items() if owner is None or owner == contract]


def owners(root: Path) -> dict[str, str | None]:
    """Every invoice file's name in ``invoices/`` (in name order) → the ``contract:`` its top-level line names
    (None: a plain match cannot tell; the file's parse is then the only authority)."""
    folder = root / "invoices"
    try:
        folder_mtime = os.stat(folder).st_mtime_ns
    except OSError:
        return {}
    bucket = _bucket(root, "")
    return _owners(root, folder, folder_mtime, bucket is None or bucket.get("folder_mtime_ns") != folder_mtime)


def _owners(root: Path, folder: Path, folder_mtime: int, buckets_stale: bool) -> dict[str, str | None]:
    """:func:`owners`, from the index when the folder is as it was when every file was indexed, else by stat-ing
    each file (reading those that changed); the index (and its buckets, when ``buckets_stale``) brought up to
    date."""
    started = time.time_ns()
    index_path = root / INDEX
    data = _read(index_path)
    old = data["files"]
    if data["folder_mtime_ns"] == folder_mtime:
        # No file was added, removed or replaced (cpqctl writes by rename) since the index was made, and
        # every file was in it: no need to stat 70,000 files. Invoices are never edited in place.
        try:
            out = {name: old[name][2] for name in sorted(old)}
            if all(type(o) in (str, type(None)) for o in out.values()):
                if buckets_stale:  # an index made before the buckets (or they were lost)
                    _write_buckets(root, old, folder_mtime)
                return out
        except (TypeError, IndexError, KeyError):  # a damaged entry: the slow way below rebuilds the index
            pass
        old = {}
    new: dict[str, list] = {}
    same = True  # every file's entry as the index holds it
    complete = folder_mtime < started - RACY_NS
    found: dict[str, str | None] = {}
    with os.scandir(folder) as entries:  # names only: 190,000 entries each holding its stat weigh 120 MB
        names = sorted(e.name for e in entries if e.name.endswith((".yaml", ".yml")))
    base = os.fspath(folder)
    for name in names:
        path = os.path.join(base, name)
        try:
            st = os.stat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        hit = old.pop(name, None)  # taken out as it is used: the old and the new index are not held twice
        fresh = (
            type(hit) is list
            and len(hit) == 3
            and hit[:2] == [st.st_size, st.st_mtime_ns]
            and type(hit[2]) in (str, type(None))
        )
        owner = hit[2] if fresh else contract_in(path)
        if st.st_mtime_ns < started - RACY_NS:
            new[name] = hit if fresh else [st.st_size, st.st_mtime_ns, owner]
        else:
            complete = False  # a file this recent may still change unseen: no shortcut next time
        same = same and fresh and name in new
        found[name] = owner
    record = {"format": FORMAT, "folder_mtime_ns": folder_mtime if complete else None, "files": new}
    if not (same and not old and data["folder_mtime_ns"] == record["folder_mtime_ns"]):  # else: the index as read
        _write(root, index_path, record)
        if complete:
            _write_buckets(root, new, folder_mtime)
    return found


def _bucket_of(contract: str) -> int:
    import zlib

    return zlib.crc32(contract.encode("utf-8")) % BUCKETS


def _bucket(root: Path, contract: str) -> dict | None:
    """The bucket file holding ``contract`` (None: missing, damaged or foreign)."""
    data = _json(root / BY_CONTRACT / f"{_bucket_of(contract):02x}.json")
    if (
        type(data) is not dict
        or data.get("format") != FORMAT
        or type(data.get("contracts")) is not dict
        or type(data.get("unknown")) is not list
        or not all(type(n) is str for n in data["unknown"])
    ):
        return None
    return data


def _write_buckets(root: Path, files: dict, folder_mtime: int) -> None:
    """The index ``files`` by contract, in :data:`BUCKETS` files each naming the folder mtime it is true for."""
    buckets: list[dict[str, list[str]]] = [{} for _ in range(BUCKETS)]
    unknown = []
    for name, entry in files.items():
        owner = entry[2] if type(entry) is list and len(entry) == 3 else None
        if type(owner) is str:
            buckets[_bucket_of(owner)].setdefault(owner, []).append(name)
        else:
            unknown.append(name)  # its contract could not be told: every contract's list holds it
    try:
        (root / BY_CONTRACT).mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # a read-only checkout: the whole index serves
    for n, contracts in enumerate(buckets):
        record = {"format": FORMAT, "folder_mtime_ns": folder_mtime, "contracts": contracts, "unknown": unknown}
        _write(root, root / BY_CONTRACT / f"{n:02x}.json", record)


def account_of(root: Path, contract: str) -> str | None:
    """The account folder holding ``contracts/<account>/<contract>.yaml``, or None.

    Remembered in ``.cpq/cache/contract-accounts.json`` (checked with one
    stat), else found by listing the account folders until it turns up: an ID
    is in one place only (a second one is a `check` error).
    """
    path = root / ACCOUNTS
    known = _json(path)
    known = known if type(known) is dict else {}
    hint = known.get(contract)
    if type(hint) is str and os.path.isfile(root / "contracts" / hint / f"{contract}.yaml"):
        return hint
    try:
        entries = os.scandir(root / "contracts")
    except OSError:
        return None
    with entries:
        found = next(
            (e.name for e in entries if e.is_dir() and os.path.isfile(os.path.join(e.path, f"{contract}.yaml"))), None
        )
    if found is not None:
        _write(root, path, {**known, contract: found})
    return found


def _json(path: Path):
    """The JSON value a cache file holds (None: missing, unreadable or not JSON; its shape is the caller's check)."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _read(path: Path) -> dict:
    empty = {"format": FORMAT, "folder_mtime_ns": None, "files": {}}
    data = _json(path)
    if (
        type(data) is not dict
        or data.get("format") != FORMAT
        or type(data.get("files")) is not dict
        or "folder_mtime_ns" not in data
        or type(data.get("folder_mtime_ns")) not in (int, type(None))
    ):
        return empty  # entries are checked where they are used
    return data


def _write(root: Path, path: Path, record: dict) -> None:
    from cpqctl.load.cache import write_json  # `.cpq/` with its `.gitignore`: the index never reaches a commit

    write_json(root, path, record)
