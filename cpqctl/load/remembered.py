"""`cpqctl check` remembered: the findings of the last check, kept with the state of every file it read.

A check on 10,000 accounts parses (or decodes from the parse cache) every file and runs every cross-file
rule: ~2 s warm. When nothing it reads has changed since the last check, the answer is the same: this
module keys the findings on

- every entry the loader looks at — ``cpq.toml`` and everything under ``catalog/``, ``quotes/``,
  ``invoices/``, ``contracts/``, ``payments/``, ``periods/``, ``fx/``, ``indices/`` and ``templates/``, at any depth: its path, its type and
  for a non-folder its size, ``mtime_ns``, inode and ``ctime_ns`` (the parse cache's key: an edit that keeps
  the size and sets the mtime back still moves the ctime), so an edited, added, deleted or renamed file, a
  new folder or link all change the key;
- the source of the package (every ``.py`` under ``cpqctl/``): a new cpqctl or a development edit re-checks.

Nothing else goes into a check: it takes no ``--as-of`` and no git state. A key that matches gives the
remembered findings; any other runs the check and remembers it in ``.cpq/cache/check.json`` — unless a file
was modified within 2 s of the check (as the parse cache, :data:`cpqctl.load.cache.RACY_NS`: a file system's
clock ticks coarsely, and a second write in the same tick keeping the size would look unchanged). A file
that cannot be read or written is no error: the check runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from cpqctl.core.diagnostics import Diagnostic

FOLDERS = ("catalog", "quotes", "invoices", "contracts", "payments", "periods", "fx", "indices", "templates")
FORMAT = 2
LINES = 3  # the findings files: a finding a line (:func:`_lines`)
NAME = ".cpq/cache/check.json"
ERRORS = ".cpq/cache/check-errors.json"  # the errors among them (remember), for a write's question
GATE = ".cpq/cache/write-gate.json"  # a state free of errors, vouched for by the write that left it (keep_clean)


@lru_cache(maxsize=1)
def code_digest() -> bytes:
    pkg = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(f"check-{FORMAT}".encode())
    for path in sorted(pkg.rglob("*.py")):
        h.update(path.relative_to(pkg).as_posix().encode())
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"-")
    return h.digest()


def _entry(h, rel: str, st: os.stat_result) -> int:
    """Hash one entry; its mtime (0 for a folder, whose entries are hashed one by one)."""
    kind = "d" if stat.S_ISDIR(st.st_mode) else "f" if stat.S_ISREG(st.st_mode) else "o"
    if kind == "d":
        h.update(f"{rel}\0d\n".encode())
        return 0
    h.update(f"{rel}\0{kind}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\0{st.st_ctime_ns}\n".encode())
    return st.st_mtime_ns


def state_key(
    root: Path,
    stats: dict[str, tuple[int, int, int, int]] | Tally | None = None,
    folders: tuple[str, ...] = FOLDERS,
    others: list[str] | None = None,
) -> tuple[str, int]:
    """The digest of everything a check reads (see the module's docstring) and the newest mtime among it.

    ``stats``, when given, receives each regular file's (size, ``mtime_ns``, inode, ``ctime_ns``) by path: the
    parse cache's key, so a load right after needs not stat the files again (:func:`cpqctl.load.cache.taken`);
    ``others``, each other entry under the folders (a folder, a link: its path).
    ``folders``: only these top folders (and cpq.toml), for an answer that reads no others (a report reads no
    invoice: invoicing does not make it compute again).
    """
    h = hashlib.sha256(code_digest())
    base = os.fspath(root)
    newest = 0
    try:
        newest = _entry(h, "cpq.toml", os.lstat(os.path.join(base, "cpq.toml")))
    except OSError:
        h.update(b"cpq.toml\0-\n")
    pending = []
    for folder in folders:  # each top folder itself: a link in its place is another repository
        try:
            st = os.lstat(os.path.join(base, folder))
        except OSError:
            h.update(f"{folder}\0-\n".encode())
            continue
        newest = max(newest, _entry(h, folder, st))
        if stat.S_ISDIR(st.st_mode):
            pending.append(folder)
    isreg, isdir = stat.S_ISREG, stat.S_ISDIR
    lstat, join = os.lstat, os.path.join
    while pending:
        rel = pending.pop()
        try:
            with os.scandir(join(base, rel)) as found:
                names = sorted(e.name for e in found)  # names only: 190,000 entries each holding a stat weigh 100 MB
        except OSError:
            h.update(f"{rel}\0-\n".encode())
            continue
        # the same bytes as one `_entry` per entry, hashed a few thousand entries at a time
        parts = [f"{rel}\0[\n"]
        for name in names:
            if len(parts) >= 4096:
                h.update("".join(parts).encode())
                parts.clear()
            sub = f"{rel}/{name}"
            try:
                st = lstat(join(base, sub))
            except OSError:
                parts.append(f"{sub}\0?\n")
                continue
            mode = st.st_mode
            if isdir(mode):
                parts.append(f"{sub}\0d\n")
                pending.append(sub)
                if others is not None:
                    others.append(sub)
                continue
            kind = "f" if isreg(mode) else "o"
            if others is not None and kind == "o":
                others.append(sub)
            mtime = st.st_mtime_ns
            parts.append(f"{sub}\0{kind}\0{st.st_size}\0{mtime}\0{st.st_ino}\0{st.st_ctime_ns}\n")
            if mtime > newest:
                newest = mtime
            if stats is not None and kind == "f":
                stats[sub] = (st.st_size, mtime, st.st_ino, st.st_ctime_ns)
        parts.append(f"{rel}\0]\n")
        h.update("".join(parts).encode())
    return h.hexdigest(), newest


def keep_clean(root: Path, key: str, written: dict[str, str]) -> None:
    """Remember that the state ``key`` is free of errors because a write in parts left it so
    (:func:`cpqctl.app.invoicing._write_in_parts`: the state it began from was checked clean, and each part was
    checked with the new files in place); ``written``: the SHA-256 of each file that write wrote, by path (written
    within the racy window, their stats alone cannot vouch for their bytes)."""
    body = {"format": FORMAT, "key": key, "written": written}
    write_cache_file(root, GATE, json.dumps(body, separators=(",", ":")).encode())


class Tally:
    """A :func:`state_key` ``stats`` that keeps no stats (at 50,000 accounts they weigh ≈ 100 MB): it counts the
    regular files, and with ``settled`` tells whether every one not in ``skip`` is older (its ``ctime``) than that."""

    def __init__(self, settled: int | None = None, skip: frozenset[str] = frozenset()) -> None:
        self.files = 0
        self.settled = settled
        self.skip = skip
        self.all_settled = True

    def __setitem__(self, rel: str, st: tuple[int, int, int, int]) -> None:
        self.files += 1
        if self.settled is not None and st[3] >= self.settled and rel not in self.skip:
            self.all_settled = False


def clean_by_write(root: Path, key: str, settled: int) -> bool:
    """Whether :func:`keep_clean` vouched for the state ``key``, each file the write wrote still holding the bytes it
    wrote. Once they have all settled (``ctime`` before ``settled``), the stats in the key vouch for them alone from
    then on."""
    try:
        data = json.loads((root / GATE).read_bytes())
        if data.get("format") != FORMAT or data.get("key") != key or not isinstance(data.get("written"), dict):
            return False
        written = data["written"]
    except (OSError, ValueError, TypeError, AttributeError):
        return False
    for rel, sha in written.items():
        try:
            if hashlib.sha256((root / rel).read_bytes()).hexdigest() != sha:
                return False
        except (OSError, TypeError):
            return False
    try:
        if written and all(os.stat(root / rel).st_ctime_ns < settled for rel in written):
            keep_clean(root, key, {})
    except OSError:
        return False
    return True


def recall(root: Path, key: str) -> list[Diagnostic] | None:
    """The findings remembered under ``key``; None when there are none (or the file is unreadable)."""
    return _recall_lines(root, NAME, key)


def remember(root: Path, key: str, diags: list[Diagnostic], newest: int, started: int) -> None:
    """Keep ``diags`` under ``key`` (atomically; a repository that cannot be written keeps nothing), unless a
    file's mtime ``newest`` is within the racy window of ``started`` (the time the key was taken)."""
    from cpqctl.load.cache import RACY_NS

    if newest >= started - RACY_NS:
        return
    write_cache_file(root, NAME, _lines(key, diags))
    write_cache_file(root, ERRORS, _lines(key, (d for d in diags if d.severity == "error")))


def _lines(key: str, diags: Iterable[Diagnostic]) -> Iterator[bytes]:
    """The findings file: a line naming the format and key, then a finding a line (JSON escapes every newline in a
    text), made a thousand at a time — 114,000 warnings at 50,000 accounts made whole were 180 MB at once."""
    from dataclasses import asdict

    yield json.dumps({"format": LINES, "key": key}).encode() + b"\n"
    buf: list[str] = []
    for d in diags:
        buf.append(json.dumps(asdict(d), ensure_ascii=False) + "\n")
        if len(buf) >= 1000:
            yield "".join(buf).encode("utf-8")
            buf.clear()
    yield "".join(buf).encode("utf-8")


def _recall_lines(root: Path, name: str, key: str) -> list[Diagnostic] | None:
    """The findings of file ``name`` (:func:`_lines`) under ``key``, read a line at a time: never the whole text nor
    every finding as a dict at once (at 50,000 accounts: 50 MB and 120 MB more than the findings themselves)."""
    try:
        with (root / name).open("rb") as f:
            head = json.loads(f.readline())
            if head.get("format") != LINES or head.get("key") != key:
                return None
            out = []
            for line in f:
                out.append(Diagnostic(**json.loads(line)))
            return out
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


def recall_errors(root: Path, key: str) -> list[Diagnostic] | None:
    """The errors among the findings remembered under ``key`` (None: none remembered), from a file of their own:
    a write asks only whether the repository is free of errors, and the findings of 50,000 accounts can hold
    100,000 warnings (tens of MB of JSON)."""
    return _recall_lines(root, ERRORS, key)


def derived_key(key: str, *inputs) -> str:
    """A remembered answer's key: the repository's :func:`state_key` and the other inputs of the question (JSON)."""
    return hashlib.sha256(json.dumps([key, *inputs], default=str).encode()).hexdigest()


def recall_value(root: Path, name: str, key: str):
    """The JSON value remembered in ``name`` (under ``.cpq/cache/``) under ``key``; None when there is none."""
    try:
        data = json.loads((root / name).read_bytes())
        if data.get("format") != FORMAT or data.get("key") != key:
            return None
        return data["value"]
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


def remember_value(root: Path, name: str, key: str, value, newest: int, started: int) -> None:
    """Keep the JSON ``value`` in ``name`` under ``key`` (the one answer the file holds), atomically, unless a
    file's mtime ``newest`` is within the racy window of ``started`` (the time the key was taken); a repository
    that cannot be written keeps nothing."""
    from cpqctl.load.cache import RACY_NS

    if newest >= started - RACY_NS:
        return
    body = {"format": FORMAT, "key": key, "value": value}
    write_cache_file(root, name, json.dumps(body, ensure_ascii=False).encode("utf-8"))


def write_cache_file(root: Path, name: str, payload: bytes | Iterable[bytes]) -> bool:
    """Replace the cache file ``name`` (under ``.cpq/``, git-ignored) atomically; False when it cannot be
    written (a read-only checkout keeps no cache: no error)."""
    from cpqctl.core.diagnostics import CpqError
    from cpqctl.store import replace_file

    target = root / name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        gitignore = root / ".cpq" / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("*\n")
        replace_file(target, payload, durable=False)
    except (OSError, CpqError):
        return False
    return True
