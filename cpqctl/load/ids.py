"""The IDs a repository holds, from file and folder names alone: what shell completion offers.

Completion runs on every TAB, so it reads names, never records: quote and
invoice IDs are the file names under ``quotes/`` and ``invoices/``, account IDs
the folder names under ``contracts/``, contract IDs the file names in those
folders (without ``account.yaml``), product codes the ``code:`` of the catalog's
``products:``. What is offered follows the loader's rules for where a record can
be (:mod:`cpqctl.load.repo`): ``<ID>.yaml`` regular files in real folders, names
that are valid IDs; a file whose content names another ID is still offered by its
name (the command then reports the mismatch, as it would anyway).

Kept light on purpose: this module imports nothing of the model, the schema or
the YAML loader (the catalog is read with libyaml only when product codes are
asked for), so a completion costs the interpreter, Typer and a directory listing.
Contract IDs need one listing per account folder (10,000 on a big repository):
they are remembered per folder in ``.cpq/cache/contract-ids.json`` and listed
again only for a folder whose ``mtime_ns`` changed (cpqctl writes by rename, so
a contract added or removed always changes its folder's mtime). Nothing here
raises for a missing or odd repository: no repository, no IDs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cpqctl.load.forked import Later

# the loader's ID rule (cpqctl.load.schema.ID_RE), repeated here so completion does not import the schema
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
CONTRACT_IDS = ".cpq/cache/contract-ids.json"
FORMAT = 2
RACY_NS = 2_000_000_000  # as in cache.py: a folder changed this recently may change again within its mtime


def find_root(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> Path | None:
    """The repository as :func:`cpqctl.load.repo.find_root` finds it (``--repo`` / ``CPQ_REPO``, else the
    nearest folder upwards holding cpq.toml), or None where that one raises E-NO-REPO."""
    try:
        if explicit:
            p = Path(explicit).expanduser()
            return p.resolve() if (p / "cpq.toml").is_file() else None
        here = (cwd or Path.cwd()).resolve()
        return next((d for d in (here, *here.parents) if (d / "cpq.toml").is_file()), None)
    except (OSError, RuntimeError, ValueError):  # a vanished cwd, a loop of links, a NUL in the path
        return None


def matches(name: str, prefix: str) -> bool:
    """Whether ``name`` starts with ``prefix``, ignoring case (``q-2026`` finds ``Q-2026-0001``)."""
    return name[: len(prefix)].casefold() == prefix.casefold()


def _real_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _stems(folder: Path | str, prefix: str = "", skip: str = "") -> list[str]:
    """The valid IDs ``X`` of the regular files ``X.yaml`` in ``folder`` that start with ``prefix``."""
    out = []
    try:
        with os.scandir(folder) as entries:
            for e in entries:
                name = e.name
                if not name.endswith(".yaml") or name == skip or not matches(name, prefix):
                    continue
                stem = name[:-5]
                if ID_RE.fullmatch(stem) and e.is_file(follow_symlinks=False):
                    out.append(stem)
    except OSError:
        return []
    return out


def quote_ids(root: Path, prefix: str = "") -> list[str]:
    """The quote IDs: ``quotes/<ID>.yaml``, sorted."""
    if not _real_folder(root / "quotes"):
        return []
    return sorted(_stems(root / "quotes", prefix))


def invoice_ids(root: Path, prefix: str = "") -> list[str]:
    """The invoice numbers: ``invoices/<ID>.yaml``, sorted."""
    if not _real_folder(root / "invoices"):
        return []
    return sorted(_stems(root / "invoices", prefix))


def _account_folders(root: Path) -> list[os.DirEntry]:
    folder = root / "contracts"
    if not _real_folder(folder):
        return []
    try:
        with os.scandir(folder) as entries:
            return [e for e in entries if ID_RE.fullmatch(e.name) and e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def account_ids(root: Path, prefix: str = "") -> list[str]:
    """The account IDs: the folders under ``contracts/``, sorted."""
    return sorted(e.name for e in _account_folders(root) if matches(e.name, prefix))


def contract_ids(root: Path, prefix: str = "", accounts: Iterable[str] | None = None) -> list[str]:
    """The contract IDs: ``contracts/<account>/<ID>.yaml`` but ``account.yaml``, sorted; only in the folders
    of ``accounts`` when given (``invoice run --account acme --contract …``)."""
    if accounts is not None:
        base = root / "contracts"
        if not _real_folder(base):
            return []
        out: list[str] = []
        for acct in dict.fromkeys(accounts):
            if ID_RE.fullmatch(acct) and _real_folder(base / acct):
                out += _stems(base / acct, prefix, skip="account.yaml")
        return sorted(set(out))
    return sorted({c for c in _all_contracts(root) if matches(c, prefix)})


def _all_contracts(root: Path) -> list[str]:
    """Every contract ID (the file names of every account folder), from :func:`contract_index`."""
    got = contract_index(root)
    return list(_every(got[0])) if got is not None else []


def contract_high(root: Path, pattern: str) -> list[list]:
    """The highest number in use of every series of the contract pattern ``pattern`` over the names of every
    account folder's contract files: ``[[year, month, token, seq], …]`` as
    :class:`cpqctl.core.numbering.Sequences` keys them (a new contract's number takes the next one)."""
    got = contract_index(root, (pattern,))
    return got[1][pattern] if got is not None else []


def contract_index(root: Path, patterns: Iterable[str] = ()) -> tuple[list[list[str]], dict[str, list[list]]] | None:
    """:func:`_index`, the index written back when it changed."""
    got = _index(root, patterns)
    if got is None:
        return None
    ids, high, write = got
    if write is not None:
        write()
    return ids, high


def _index(
    root: Path, patterns: Iterable[str] = ()
) -> tuple[list[list[str]], dict[str, list[list]], Callable[[], None] | None] | None:
    """The contract IDs of every account folder (one list a folder), and for each of ``patterns`` the highest
    number in use of each of its series; None when ``contracts/`` is no real folder.

    Kept in ``.cpq/cache/contract-ids.json`` with each folder's ``mtime_ns``: a folder is listed again only when
    its mtime changed (cpqctl writes by rename; a contract added, removed or renamed changes its folder's mtime,
    whoever made the change) or is recent (within :data:`RACY_NS`: a change within its mtime's granularity would
    hide). What is left is one ``lstat`` a folder (≈ 0.15 s for 50,000 on a busy 2-CPU VM): when every folder is
    as remembered, the remembered highest numbers are the answer; a folder with a contract added only raises
    them; a contract gone (it may have been a highest) counts every ID again. The file starts with the SHA-256 of
    the rest: a damaged one is rebuilt, never believed. Also given: what writes the index back, when it changed."""
    from cpqctl.core.numbering import Sequences

    patterns = list(dict.fromkeys(patterns))
    base = root / "contracts"
    try:
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except (OSError, ValueError):  # no folder, a file or a link where it should be
        return None
    try:
        names, mtimes = _stamps(fd)
        recent = time.time_ns() - RACY_NS
        path = root / CONTRACT_IDS
        known = _read(path)
        if (
            known is not None
            and known["names"] == names
            and known["mtimes"] == mtimes
            and max(mtimes, default=0) < recent
        ):
            ids, high, changed = known["ids"], dict(known["high"]), False
        else:
            ids, gone, added = _relisted(base, names, mtimes, known, recent)
            high, changed = {}, True
            if known is not None and not gone:
                for pat, rows in known["high"].items():
                    seqs = Sequences.from_high(pat, rows)
                    for ident in added:
                        seqs.add(ident)
                    high[pat] = seqs.high_rows()
        for pat in patterns:
            if pat not in high:
                high[pat] = Sequences(pat, _every(ids)).high_rows()
                changed = True
        if not changed:
            return ids, high, None
        # a folder changed within RACY_NS of now is remembered with no mtime: listed again next time
        kept = [m if m < recent else -1 for m in mtimes]
        record = {"format": FORMAT, "names": names, "mtimes": kept, "ids": ids, "high": high}
        return ids, high, lambda: _write(root, path, record)
    finally:
        os.close(fd)


def lock_token(root: Path) -> str:
    """The token in the lock file (``.cpq/lock``), which every cpqctl commit writes anew under the lock ("" before
    any): :meth:`cpqctl.store.Store._new_token`.

    A reader that took the token, then read some files without the lock, and finds the same token once it holds
    the lock knows no cpqctl commit changed a file in between (:func:`contract_state`, read by a child process
    while the command starts). Only cpqctl's commits change it: a file changed by hand or by git meanwhile is not
    seen, as it would not be by a read under the lock a moment earlier.
    """
    try:
        with open(root / ".cpq" / "lock", "rb") as f:
            return f.read(64).decode("ascii", "replace")
    except OSError:
        return ""


def contract_state_key(root: Path, quote: str) -> tuple[str, str, str]:
    """The key under which the console script prefetches :func:`contract_state` for accepting ``quote``
    (:func:`cpqctl.load.forked.prefetch`) and the accept takes it."""
    return ("contract-state", str(root), quote)


def contract_state(root: Path, quote: str | None = None) -> dict | Later | None:
    """What a new contract's number needs, read without the lock: the lock file's token, then the highest numbers
    in use of every pattern :func:`contract_index` remembers (``{"token": …, "high": {pattern: rows}}``); None
    when ``quote`` is given and its ``kind:`` line says it is an amendment (it creates no contract)."""
    if quote is not None and _kind(root, quote) == b"amendment":
        return None
    from cpqctl.load.forked import Later

    token = lock_token(root)
    got = _index(root)
    if got is None:
        return {"token": token, "high": {}}
    answer = {"token": token, "high": got[1]}
    return Later(answer, got[2]) if got[2] is not None else answer


_KIND = re.compile(rb"^kind:[ \t]*([a-z]+)[ \t]*(?:#.*)?\r?$", re.MULTILINE)


def _kind(root: Path, quote: str) -> bytes | None:
    """A quote file's top-level ``kind:`` value by a plain match of its first 64 KiB (a hint: None when unsure)."""
    if not ID_RE.fullmatch(quote):
        return None
    try:
        with open(root / "quotes" / f"{quote}.yaml", "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return None
    found = _KIND.findall(head)
    return found[0] if len(found) == 1 else None


def _stamps(fd: int) -> tuple[list[str], list[int]]:
    """The names of the real folders in the folder open as ``fd`` and their ``mtime_ns``, in listing order."""
    with os.scandir(fd) as entries:
        names = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    lstat = os.lstat
    try:
        return names, [lstat(name, dir_fd=fd).st_mtime_ns for name in names]
    except FileNotFoundError:  # a folder removed meanwhile: the slower way, which skips it
        kept: list[str] = []
        mtimes: list[int] = []
        for name in names:
            try:
                mtimes.append(lstat(name, dir_fd=fd).st_mtime_ns)
                kept.append(name)
            except FileNotFoundError:
                continue
        return kept, mtimes


def _relisted(
    base: Path, names: list[str], mtimes: list[int], known: dict | None, recent: int
) -> tuple[list[list[str]], bool, list[str]]:
    """Each folder's contract IDs, as remembered where its mtime is and listed again where not (or recent); whether
    an ID remembered is gone (a folder listed again lost one, or a folder is gone), and the IDs that are new."""
    if known is None:
        return [sorted(_stems(base / n, skip="account.yaml")) if ID_RE.fullmatch(n) else [] for n in names], True, []
    same = known["names"] == names
    before = None if same else dict(zip(known["names"], zip(known["mtimes"], known["ids"], strict=True), strict=True))
    out: list[list[str]] = []
    gone, added = False, []
    for i, (name, mtime) in enumerate(zip(names, mtimes, strict=True)):
        hit = (known["mtimes"][i], known["ids"][i]) if before is None else before.pop(name, None)
        if hit is not None and hit[0] == mtime and mtime < recent:
            out.append(hit[1])  # as remembered (what is no string in it is skipped where used)
            continue
        now = sorted(_stems(base / name, skip="account.yaml")) if ID_RE.fullmatch(name) else []
        if hit is not None and not (type(hit[1]) is list and all(type(x) is str for x in hit[1])):
            gone = True  # not what this index writes: count every ID again
        then = set(_every([hit[1]])) if hit is not None else set()
        gone = gone or not then <= set(now)
        added += [x for x in now if x not in then]
        out.append(now)
    if before and any(_every([ids]) for _, ids in before.values()):  # a folder with contracts is gone (or renamed)
        gone = True
    return out, gone, added


def _every(ids: list) -> Iterator[str]:
    """The IDs of every folder (what is not a string skipped: the index is a cache, checked where used)."""
    return (x for folder in ids if type(folder) is list for x in folder if type(x) is str)


def _read(path: Path) -> dict | None:
    """The remembered index, None when missing, damaged (its SHA-256 line does not match) or of another shape."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    head, _, body = raw.partition(b"\n")
    if head != hashlib.sha256(body).hexdigest().encode("ascii"):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if type(data) is not dict or data.get("format") != FORMAT:
        return None
    names, mtimes, ids, high = data.get("names"), data.get("mtimes"), data.get("ids"), data.get("high")
    if not (type(names) is list and type(mtimes) is list and type(ids) is list and type(high) is dict):
        return None
    if not len(names) == len(mtimes) == len(ids):
        return None
    if not all(type(k) is str and high_rows_valid(v) for k, v in high.items()):
        return None
    return data  # names and mtimes are compared as they are; the IDs are checked where used (:func:`_every`)


def high_rows_valid(rows) -> bool:
    """Whether ``rows`` are highest numbers as :meth:`Sequences.high_rows` gives them."""
    return type(rows) is list and all(
        type(r) is list
        and len(r) == 4
        and type(r[0]) in (int, type(None))
        and type(r[1]) in (int, type(None))
        and type(r[2]) in (str, type(None))
        and type(r[3]) is int
        for r in rows
    )


def _write(root: Path, path: Path, record: dict) -> None:
    """The index written as the parse cache's files are (``.cpq/`` git-ignored, temp file + rename), its SHA-256
    first; an index that cannot be written is no error (a read-only checkout lists the folders each time). Kept
    light (no import of the store) where ``.cpq/`` is there already: a child process writes it at start-up."""
    body = json.dumps(record, separators=(",", ":")).encode("utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.cpqtmp")  # store.TEMP_SUFFIX, not imported (kept light)
    try:
        if not path.parent.is_dir():
            from cpqctl.store import Store

            Store(root).ensure_cpq_dir()
            path.parent.mkdir(exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(hashlib.sha256(body).hexdigest().encode("ascii") + b"\n" + body)
        os.replace(tmp, path)
    except Exception:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _catalog_values(root: Path, key: str, prefix: str, valid) -> list[str]:
    """The ``key`` of every product in ``catalog/*.yaml`` (each file's ``products:``) that ``valid`` accepts
    and starts with ``prefix``, sorted; a file that does not parse offers none (``cpqctl check`` says why)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    folder = root / "catalog"
    if not _real_folder(folder):
        return []
    found: set[str] = set()
    for name in _stems(folder):
        try:
            data = yaml.load((folder / f"{name}.yaml").read_bytes(), Loader=loader)
        except Exception:
            continue
        products = data.get("products") if isinstance(data, dict) else None
        for p in products if isinstance(products, list) else ():
            value = p.get(key) if isinstance(p, dict) else None
            if isinstance(value, str) and valid(value) and matches(value, prefix):
                found.add(value)
    return sorted(found)


def product_codes(root: Path, prefix: str = "") -> list[str]:
    """The product codes of ``catalog/*.yaml``, sorted."""
    return _catalog_values(root, "code", prefix, ID_RE.fullmatch)


def product_families(root: Path, prefix: str = "") -> list[str]:
    """The product families named in ``catalog/*.yaml``, sorted (a family with a space completes quoted)."""
    return _catalog_values(root, "family", prefix, lambda v: v.strip() == v and v != "")
