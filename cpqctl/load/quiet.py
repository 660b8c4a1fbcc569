"""Contracts with nothing due, remembered between runs of `invoice run` (issue 15).

A month's run over 10,000 contracts bills each from what it has already invoiced; most contracts (those billed
quarterly or yearly, those whose end has passed) have nothing due in a given month, yet each cost a schedule
to find that out. When a run finds nothing due for a contract through a day T0, :func:`cpqctl.core.billing.
quiet_until` names the first day F after it on which the contract's schedule can date a line; this memo keeps
``(key, T0, F)`` per contract in ``.cpq/cache/billing-quiet.json``, and a later run through a day T with
T0 ≤ T < F skips the contract when its key is unchanged.

The key is what the billing of one contract reads:

- the contract file's state: its path, size, ``mtime_ns``, inode and ``ctime_ns`` (the parse cache's key; the
  contract record is built from that file alone). A file modified within the racy window of the run's start
  (:data:`cpqctl.load.cache.RACY_NS`) or later — maybe while the run was loading — is neither remembered nor
  skipped, as the parse cache does not keep it;
- its ledger: each of its invoices by number and digest (the SHA-256 of the issued content, checked on every
  load: a run refuses a repository where one does not match), or, for an older invoice without a digest,
  every line as billing reads it (date, segment, amount, period). A new, corrected or deleted invoice of the
  contract changes the key, whatever its file's state;
- the file as a whole is dropped when the settings (everything cpq.toml gives billing) or the package's source
  differ from the ones it was written with.

**Not even loaded.** A run that bills a big repository in parts (:mod:`cpqctl.load.parts`) asks the memo before it
loads anything: an entry also keeps the *files* of its contract (:class:`Files`): the contract file, its account's
``account.yaml``, the invoice files whose ``contract:`` line names it (:mod:`cpqctl.load.invoice_index`) and the
invoices whose line cannot be told, each by path, size, ``mtime_ns``, inode and ``ctime_ns``. When those are the
same and the day is in the entry's span, none of them is read. Such a key is kept only for files unchanged since
before the run that recorded it began (their ``ctime``, which no one can set back, 2 s older than its start: what
it read is what they hold, even when an edit kept the mtime, as ``cp -p`` does), or, for a file that run wrote
itself, with the SHA-256 of the bytes it wrote, which the run that skips compares with the file's bytes (the racy
case of a file written within the file system's clock step). A loaded invoice whose parsed contract is not the one
its line names makes a run in parts load the whole repository (and a writing run keep no such key), so each file a
key lists was read as its contract's when the key was made.

Writing runs remember too, for the ledger they leave (:meth:`QuietMemo.record` with the lines they wrote), so
the next month's first run finds the contracts billed this month already known. ``CPQ_BILLING=full`` (the
reference path) neither reads nor writes it. A memo that is missing, unreadable or from another version is
empty; one that cannot be written is no error.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path

NAME = ".cpq/cache/billing-quiet.json"
FORMAT = 2  # 2: entries may hold their files' key (:class:`Files`)


def _day(d: date | None) -> int | None:
    return None if d is None else d.toordinal()


def _number(inv) -> str:
    return inv.invoice


def _ledger(inv) -> tuple:
    """One invoice as the key sees it: its number and digest (the SHA-256 of its issued content, verified when it
    was loaded: a run refuses a repository where one does not match), else everything billing reads of it."""
    if inv.digest:
        return inv.invoice, inv.digest
    lines = [(ln.segment, str(ln.amount), _day(ln.period_start), _day(ln.period_end)) for ln in inv.lines]
    return inv.invoice, inv.contract, inv.date.toordinal(), lines


class QuietMemo:
    """:class:`cpqctl.core.billing.Quiet` over ``.cpq/cache/billing-quiet.json``; :meth:`save` writes it back.

    ``invoices_of``: each contract's invoices, as loaded (the ledger billing reads).
    """

    def __init__(self, root: Path, settings, started: int, invoices_of: Mapping[str, Sequence]):
        from cpqctl.load.cache import RACY_NS
        from cpqctl.load.remembered import code_digest

        self.root = root
        self.base = os.fspath(root)
        self.invoices_of = invoices_of
        self.settled_before = started - RACY_NS  # a contract file changed since may not be in the loaded state
        h = hashlib.sha256(code_digest())
        h.update(f"quiet-{FORMAT}\0{settings!r}".encode())
        self.head = h.hexdigest()
        self.entries: dict[str, list[str]] = {}
        self.dirty = False
        self._keys: dict[str, str | None] = {}
        self.files: Files | None = None  # set by a run that can vouch for its files (see the module's docstring)
        self.vouched: set[str] = set()  # the contracts this run found with nothing due (skipped or recorded)
        try:
            data = json.loads((root / NAME).read_bytes())
            if data.get("head") == self.head and isinstance(data.get("contracts"), dict):
                self.entries = data["contracts"]
        except (OSError, ValueError, TypeError, AttributeError):
            pass

    def key(self, c, invoices: Iterable) -> str | None:
        """The contract's key (see the module's docstring), or None when it is not to be trusted."""
        try:
            st = os.stat(os.path.join(self.base, c.src.file))
        except (OSError, ValueError):
            return None
        if st.st_mtime_ns >= self.settled_before:
            return None
        head = (c.contract, c.src.file, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
        return hashlib.blake2b(
            repr((head, [_ledger(inv) for inv in sorted(invoices, key=_number)])).encode(), digest_size=16
        ).hexdigest()

    def _key_of(self, c) -> str | None:
        if c.contract not in self._keys:
            self._keys[c.contract] = self.key(c, self.invoices_of.get(c.contract, ()))
        return self._keys[c.contract]

    def skips(self, c, through: date) -> bool:
        got = self.entries.get(c.contract)
        if type(got) is not list or len(got) not in (3, 5):
            return False
        day = through.isoformat()
        if not (got[1] <= day < got[2] and got[0] == self._key_of(c)):
            return False
        self.vouched.add(c.contract)
        if self.files is not None:  # skipped as loaded: its files' key (kept up to date), for a run that reads none
            files = self.files.key(c.contract, c.src.file)
            if files is not None and got[3:] != files:
                self.entries[c.contract] = [*got[:3], *files]
                self.dirty = True
        return True

    def skips_unloaded(self, contract: str, rel: str, through: date, files: Files) -> bool:
        """Whether the contract whose file is ``rel`` has nothing due through ``through`` by an entry whose files'
        key is that of its files now (``files``, from the run's stats): then not even its files need reading."""
        got = self.entries.get(contract)
        if type(got) is not list or len(got) != 5 or not isinstance(got[4], dict):
            return False
        day = through.isoformat()
        if not got[1] <= day < got[2]:
            return False
        if not files.same(contract, rel, got[3], got[4]):
            return False
        if got[4] and all((files.stat(f) or (0, 0, 0, files.settled_before))[3] < files.settled_before for f in got[4]):
            self.entries[contract] = [*got[:4], {}]  # settled since: their stats alone vouch for them from now on
            self.dirty = True
        return True

    def record(self, c, through: date, until: date, invoices: Iterable | None = None) -> None:
        """Nothing is due for ``c`` from ``through`` until the day before ``until``: with the invoices this run
        loaded, or with ``invoices`` (those a write just left)."""
        key = self._key_of(c) if invoices is None else self.key(c, invoices)
        if key is None:
            return
        entry: list = [key, through.isoformat(), until.isoformat()]
        files = self.files.key(c.contract, c.src.file) if self.files is not None else None
        if files is not None:
            entry += files
        self.vouched.add(c.contract)
        if self.entries.get(c.contract) != entry:
            self.entries[c.contract] = entry
            self.dirty = True

    def attach(self, files: Files, file_of: Mapping[str, str]) -> None:
        """Key each contract this run vouched for by its files (``file_of``: contract ID → its file), as a run that
        wrote them knows them once written (:class:`Files` with what it wrote)."""
        for cid in sorted(self.vouched):
            got = self.entries.get(cid)
            rel = file_of.get(cid)
            if type(got) is not list or len(got) not in (3, 5) or rel is None:
                continue
            key = files.key(cid, rel)
            entry = got[:3] + (key or [])
            if entry != got:
                self.entries[cid] = entry
                self.dirty = True

    def save(self) -> None:
        """Write the memo back when it changed (atomically; a repository that cannot be written keeps none)."""
        if not self.dirty:
            return
        from cpqctl.load.remembered import write_cache_file

        body = {"format": FORMAT, "head": self.head, "contracts": dict(sorted(self.entries.items()))}
        if write_cache_file(self.root, NAME, json.dumps(body, separators=(",", ":")).encode()):
            self.dirty = False


class Files:
    """The files a contract's billing reads, keyed by their stats (see the module's docstring).

    ``invoices``: each contract's invoice files as their ``contract:`` lines name them; ``stray``: the invoice files
    whose line names no contract on file or cannot be told (every contract's key holds them); ``stat``: a file's
    (size, ``mtime_ns``, inode, ``ctime_ns``) or None; ``settled_before``: files changed since (``ctime``) are
    racy; ``written``: the SHA-256 of the bytes this run wrote, by path (a racy file of this run is keyed with it).
    """

    def __init__(self, root: Path, invoices, stray, stat, settled_before: int, written=None):
        self.base = os.fspath(root)
        self.invoices = invoices
        self.stray = stray
        self.stat = stat
        self.settled_before = settled_before
        self.written = written or {}

    def _listed(self, contract: str, rel: str) -> list[str]:
        account = rel.split("/")[1]
        return [rel, f"contracts/{account}/account.yaml", *self.invoices.get(contract, ()), *self.stray]

    def _digest(self, contract: str, rows: list) -> str:
        return hashlib.blake2b(repr((contract, rows)).encode(), digest_size=16).hexdigest()

    def _rows(self, contract: str, rel: str) -> list[tuple] | None:
        """(path, size, ``mtime_ns``, inode, ``ctime_ns``) of each of the contract's files (None: one is missing)."""
        rows = []
        for f in self._listed(contract, rel):
            st = self.stat(f)
            if st is None:
                return None
            rows.append((f, *st))
        return rows

    def key(self, contract: str, rel: str) -> list | None:
        """[digest, {racy path: sha256}] of the contract's files now, None when one is missing, or racy and not
        written by this run as it is."""
        rows = self._rows(contract, rel)
        if rows is None:
            return None
        racy = {}
        for f, *st in rows:
            if st[3] >= self.settled_before:  # changed (ctime) since the run began, or just before
                sha = self.written.get(f)
                if sha is None or sha != _sha(os.path.join(self.base, f)):
                    return None
                racy[f] = sha
        return [self._digest(contract, rows), racy]

    def same(self, contract: str, rel: str, digest, racy: dict) -> bool:
        """Whether the contract's files are those ``digest`` was made of (and each racy one holds the bytes
        recorded)."""
        rows = self._rows(contract, rel)
        if rows is None or self._digest(contract, rows) != digest:
            return False
        return all(type(sha) is str and _sha(os.path.join(self.base, f)) == sha for f, sha in racy.items())


def _sha(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None
