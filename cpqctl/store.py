"""The only writer of cpqctl: repo lock, atomic multi-file commits, ID allocation.

Why this module exists (SPEC §8): a command that fails changes no file, two
concurrent runs cannot take the same number or lose an amendment, and a run
killed half-way is completed or rolled back by the next command.

- **Lock.** An exclusive ``flock`` on ``.cpq/lock``, polled up to a timeout
  (30 s by default), re-entrant within one :class:`Store`.
- **Transactions.** Writes (and deletions: a renamed file, ``cpqctl renumber``)
  are staged in memory; nothing touches the disk until the ``with`` block ends
  normally.  Every precondition (``create`` on an existing file, ``delete`` of a
  missing one, a stale ``expect_sha256``) is checked before the first byte is
  written, so a refused commit writes nothing at all.
- **Journal.** A commit records ``.cpq/journal.json`` twice, each time
  atomically: ``state: "staging"`` (before any temp file exists) and
  ``state: "commit"`` (after every temp file is written and fsynced).  Then
  each temp file is renamed onto its target, the files to delete (the
  journal's ``deleted`` list) are removed, and the journal is deleted.  The
  next lock holder rolls a ``commit`` journal forward (renames and deletions)
  and rolls anything else
  (``staging``, unreadable JSON) back by deleting the temp files, so the
  repository never shows a half-applied command.
- **Token.** Each commit and each recovery, still under the lock, writes a new
  random token into ``.cpq/lock``: a reader that took it before reading some
  files without the lock knows, finding it unchanged once it holds the lock,
  that no commit came between (:func:`cpqctl.load.ids.lock_token`).

Temp files sit next to their targets (a rename is atomic only within one file
system) and are named ``.<name>.tx-<pid>-<n>.cpqtmp`` so that recovery can
recognise them. Every temp file cpqctl makes ends in ``.cpqtmp`` (:data:`TEMP_SUFFIX`),
which the ``.gitignore`` of ``cpqctl init`` ignores: one left by a crash never reaches a commit.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import re
import signal
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cpqctl.core.diagnostics import CpqError, UsageError

CPQ_DIR = ".cpq"
LOCK_NAME = "lock"
TOKEN_BYTES = 16  # the lock file's token (cpqctl.load.ids.lock_token): 32 hex digits
JOURNAL_NAME = "journal.json"

TEMP_SUFFIX = ".cpqtmp"  # every temp file cpqctl creates ends so; `.gitignore` ignores `*.cpqtmp*`
# a transaction's temp file (and, second, the name earlier versions gave it: a journal they left still recovers)
TEMP_RE = re.compile(r"\..+\.(?:tx-\d+-\d+\.cpqtmp|cpqtmp-\d+-\d+)")
_temp_counter = itertools.count(1)

# Test hook (tests/integrity/test_crash.py), inert unless the variable is set: CPQ_TEST_KILL_AT=N kills this
# process with SIGKILL at its N-th durable step of a commit (see _durable_step).
_KILL_AT = int(os.environ.get("CPQ_TEST_KILL_AT", "0") or 0)
_durable_steps = itertools.count(1)


def _durable_step() -> None:
    """A point of the commit protocol where a crash may stop the process (a test may kill it here)."""
    if _KILL_AT and next(_durable_steps) == _KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)


class LockTimeout(CpqError):
    """Another cpqctl command held ``.cpq/lock`` for longer than we would wait (E-LOCKED: exit 1, SPEC §6)."""


class StaleFile(Exception):
    """A file changed on disk since the caller read it (its sha256 differs)."""


def sha256_file(path: str | os.PathLike) -> str | None:
    """The sha256 hex digest of a file's bytes, or None when it does not exist."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    return hashlib.sha256(data).hexdigest()


def next_id(pattern: str, year: int, existing: Iterable[str]) -> str:
    """The next ID of ``pattern`` for ``year``: one more than the highest in use.

    ``pattern`` is a ``str.format`` template with the fields ``year`` and
    ``seq`` (``"Q-{year}-{seq:04d}"``).  IDs that do not match it, or belong to
    another year, are ignored; gaps are not refilled (an ID once issued may be
    referenced elsewhere even if its file is gone), so the result is highest
    + 1, and the first of a year is 1.
    """
    from cpqctl.core.numbering import is_pattern, next_number

    if not is_pattern(pattern):
        raise ValueError(f"numbering pattern {pattern!r}: use {{year}} and {{seq}} (once, or repeated)")
    return next_number(pattern, year, 1, None, existing)


def _safe_rel(rel_path: str | os.PathLike) -> PurePosixPath:
    """A repo-relative path that cannot escape the root (no absolute, no ``..``)."""
    rel = PurePosixPath(os.fspath(rel_path))
    if rel.is_absolute() or not rel.parts or ".." in rel.parts or rel == PurePosixPath("."):
        raise ValueError(f"not a path inside the repository: {os.fspath(rel_path)!r}")
    return rel


def _fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _durable_step()


def _write_durably(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` (truncating) and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        _durable_step()  # the file exists, empty
        if mode is not None:
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    _durable_step()


def _temp_path(target: Path) -> Path:
    return target.parent / f".{target.name}.tx-{os.getpid()}-{next(_temp_counter)}{TEMP_SUFFIX}"


def _replace(tmp: Path, target: Path) -> None:
    os.replace(tmp, target)
    _durable_step()


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class Store:
    """Writes to one data repository, always under its lock."""

    def __init__(self, root: str | os.PathLike, lock_timeout: float = 30.0):
        self.root = Path(root)
        self.lock_timeout = lock_timeout
        self._lock_fd: int | None = None
        self._depth = 0
        self.recovered: Recovery | None = None  # what taking the lock last did with an interrupted commit
        # run by every commit on the files it would write ({repo-relative path: new bytes, None: deleted}) before
        # anything is written; raising refuses the commit (the application layer checks the state a write would leave)
        self.validator: Callable[[dict[str, bytes | None]], None] | None = None
        self.tolerated: list = []  # errors the command's load let through (Workspace.writing(tolerate=…))

    @property
    def cpq_dir(self) -> Path:
        return self.root / CPQ_DIR

    @property
    def journal_path(self) -> Path:
        return self.cpq_dir / JOURNAL_NAME

    @property
    def locked(self) -> bool:
        return self._depth > 0

    def path(self, rel_path: str | os.PathLike) -> Path:
        """The absolute target of a repo-relative path (rejects paths escaping the repo)."""
        return self.root.joinpath(*_safe_rel(rel_path).parts)

    @contextmanager
    def lock(self) -> Iterator[Store]:
        """Hold the repo lock; the outermost entry also recovers an interrupted commit."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.ensure_cpq_dir()
        fd = os.open(self.cpq_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            self._acquire(fd)
        except BaseException:
            os.close(fd)
            raise
        self._lock_fd, self._depth = fd, 1
        try:
            self.recovered = self._recover()
            yield self
        finally:
            self._depth = 0
            self._lock_fd = None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _acquire(self, fd: int) -> None:
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LockTimeout(
                        "E-LOCKED",
                        "the repository is locked by another cpqctl command "
                        f"({CPQ_DIR}/{LOCK_NAME}); waited {self.lock_timeout:g} s",
                        "wait for the other command to finish and run this one again; nothing was changed",
                    ) from None
                time.sleep(min(0.05, remaining))

    def ensure_cpq_dir(self) -> Path:
        """Create ``.cpq/`` with a ``.gitignore`` of ``*`` so it never reaches a commit; returns it.

        Public for what keeps its files there without the lock (the parse cache).
        """
        self.cpq_dir.mkdir(parents=True, exist_ok=True)
        ignore = self.cpq_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")
        return self.cpq_dir

    def transaction(self) -> Transaction:
        """A new multi-file transaction; use it as ``with`` inside :meth:`lock`."""
        if not self._depth:
            raise RuntimeError("Store.transaction() must be used inside Store.lock()")
        return Transaction(self)

    def allocate_and_create(self, rel_dir: str, pattern: str, year: int, render: Callable[[str], str]) -> str:
        """Take the next free ID for ``<rel_dir>/<id>.yaml`` and create it with ``render(id)``."""
        with self.lock():
            folder = self.path(rel_dir)
            stems = [p.stem for p in folder.glob("*.yaml")] if folder.is_dir() else []
            ident = next_id(pattern, year, stems)
            with self.transaction() as txn:
                txn.create(f"{_safe_rel(rel_dir).as_posix()}/{ident}.yaml", render(ident))
        return ident

    # -- journal ---------------------------------------------------------

    def _write_journal(self, state: str, pairs: list[tuple[Path, Path]], deleted: Sequence[Path] = ()) -> None:
        """Replace the journal atomically, so it is never seen half-written."""
        body: dict[str, object] = {
            "version": 1,
            "state": state,
            "files": [
                {"tmp": tmp.relative_to(self.root).as_posix(), "target": target.relative_to(self.root).as_posix()}
                for tmp, target in pairs
            ],
        }
        if deleted:  # only a commit that deletes says so: every other journal keeps its shape
            body["deleted"] = [target.relative_to(self.root).as_posix() for target in deleted]
        tmp = _temp_path(self.journal_path)
        _write_durably(tmp, (json.dumps(body, indent=1) + "\n").encode("utf-8"))
        os.replace(tmp, self.journal_path)
        _fsync_dir(self.cpq_dir)

    def _delete_journal(self) -> None:
        _unlink_quietly(self.journal_path)
        _fsync_dir(self.cpq_dir)

    def recover(self) -> Recovery | None:
        """Finish or undo a commit that a crash interrupted (also run by :meth:`lock`); what was done, if anything."""
        with self.lock():
            return self.recovered

    def _new_token(self) -> None:
        """A new token in the lock file (:func:`cpqctl.load.ids.lock_token`): each commit and recovery writes one."""
        if self._lock_fd is not None:
            try:
                os.pwrite(self._lock_fd, os.urandom(TOKEN_BYTES).hex().encode("ascii"), 0)
            except OSError:  # a lock file that cannot be written: readers find an old token and recompute
                pass

    def _recover(self) -> Recovery | None:
        try:
            raw = self.journal_path.read_bytes()
        except FileNotFoundError:
            return None
        self._new_token()
        state, pairs, deleted = self._parse_journal(raw)
        done = Recovery(
            completed=state == "commit",
            files=tuple(target.relative_to(self.root).as_posix() for target in [*(t for _, t in pairs), *deleted]),
        )
        if state == "commit":
            for tmp, target in pairs:
                if tmp.exists():
                    os.replace(tmp, target)
            for target in deleted:
                _unlink_quietly(target)
            for folder in {target.parent for target in [*(t for _, t in pairs), *deleted]}:
                _fsync_dir(folder)
        elif state == "staging":
            for tmp, _ in pairs:
                _unlink_quietly(tmp)
        else:
            self._remove_all_temps()
        self._delete_journal()
        return done

    def _parse_journal(self, raw: bytes) -> tuple[str | None, list[tuple[Path, Path]], list[Path]]:
        """The journal's state, (tmp, target) pairs and files to delete; ``(None, [], [])`` when unusable.

        A pair is trusted only when both paths stay inside the repo and the tmp
        is a cpqctl temp file next to its target, so a damaged or hand-edited
        journal cannot make recovery overwrite arbitrary files; a file to delete
        only when it is a data file (``*.yaml``) inside the repo, outside ``.git``
        and ``.cpq``.
        """
        try:
            body = json.loads(raw.decode("utf-8"))
            state = body["state"]
            pairs = []
            for entry in body["files"]:
                tmp, target = self.path(entry["tmp"]), self.path(entry["target"])
                if tmp.parent != target.parent or not TEMP_RE.fullmatch(tmp.name):
                    return None, [], []
                pairs.append((tmp, target))
            deleted = []
            for rel in body.get("deleted", []):
                parts = _safe_rel(rel).parts
                if not rel.endswith(".yaml") or parts[0] in (".git", CPQ_DIR):
                    return None, [], []
                deleted.append(self.path(rel))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None, [], []
        if state not in ("staging", "commit"):
            return None, [], []
        return state, pairs, deleted

    def _remove_all_temps(self) -> None:
        """Roll back without a readable journal: delete every cpqctl temp file in the repo."""
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d != ".git"]
            for name in files:
                if TEMP_RE.fullmatch(name):
                    _unlink_quietly(Path(folder) / name)


@dataclass(frozen=True)
class Recovery:
    """What recovery did with an interrupted commit: ``completed`` it (its journal said every file was ready) or
    rolled it back (deleted its temp files: no file changed); ``files`` are the repository-relative targets (empty
    when the journal was unreadable)."""

    completed: bool
    files: tuple[str, ...]


class Spool:
    """An anonymous temporary file holding the bytes a transaction creates until its commit writes them, one file at a
    time: an invoice run at 50,000 accounts keeps thousands of PDF documents, hundreds of MB, that need not all be in
    memory at once. The file goes when it is closed (or the process ends)."""

    def __init__(self) -> None:
        import tempfile

        self._file = tempfile.TemporaryFile()  # noqa: SIM115  # held until close(), like the spool itself

    def add(self, data: bytes) -> Spooled:
        offset = self._file.seek(0, os.SEEK_END)
        self._file.write(data)
        return Spooled(self, offset, len(data))

    def _read(self, offset: int, size: int) -> bytes:
        self._file.seek(offset)
        data = self._file.read(size)
        if len(data) != size:
            raise OSError(f"a spooled payload was cut short ({len(data)} of {size} bytes)")
        return data

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True, eq=False)
class Spooled:
    """Bytes held in a :class:`Spool` (:meth:`read` them)."""

    spool: Spool
    offset: int
    size: int

    def read(self) -> bytes:
        return self.spool._read(self.offset, self.size)


@dataclass(frozen=True)
class _Op:
    kind: str  # "write" | "create" | "append" | "delete"
    rel: str
    text: str
    expect_sha256: str | None
    data: bytes | Spooled | None = None  # a binary file's bytes (create_bytes), else the text's UTF-8


class Transaction:
    """Whole-file writes and deletions staged in memory and committed all together or not at all."""

    def __init__(self, store: Store):
        self._store = store
        self._ops: list[_Op] = []
        self._done = False

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.commit()
        else:
            self._ops.clear()  # nothing reached the disk yet
            self._done = True
        return False

    def write(self, rel_path: str, text: str, expect_sha256: str | None = None) -> None:
        """Create or replace a file; with ``expect_sha256``, only if it is unchanged on disk."""
        self._stage("write", rel_path, text, expect_sha256)

    def create(self, rel_path: str, text: str) -> None:
        """Create a new file; the commit fails (FileExistsError) if it exists."""
        self._stage("create", rel_path, text, None)

    def create_bytes(self, rel_path: str, data: bytes | Spooled) -> None:
        """Create a new binary file (a kept PDF); the commit fails (FileExistsError) if it exists. ``data`` may wait
        in a :class:`Spool` until the commit writes it."""
        if self._done:
            raise RuntimeError("this transaction is already finished")
        if not isinstance(data, bytes | Spooled):
            raise TypeError(f"data must be bytes, not {type(data).__name__}")
        _safe_rel(rel_path)
        self._ops.append(_Op("create", os.fspath(rel_path), "", None, data))

    def append(self, rel_path: str, text: str, expect_sha256: str | None = None) -> None:
        """Add ``text`` at the end of an existing file, its old bytes kept byte-identical."""
        self._stage("append", rel_path, text, expect_sha256)

    def delete(self, rel_path: str, expect_sha256: str | None = None) -> None:
        """Remove an existing file (the commit fails, FileNotFoundError, if it is missing); with
        ``expect_sha256``, only if it is unchanged on disk. With a ``create`` of another path, a rename."""
        self._stage("delete", rel_path, "", expect_sha256)

    def _stage(self, kind: str, rel_path: str, text: str, expect: str | None) -> None:
        if self._done:
            raise RuntimeError("this transaction is already finished")
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        _safe_rel(rel_path)
        self._ops.append(_Op(kind, os.fspath(rel_path), text, expect))

    def _plan(self) -> dict[Path, bytes | Spooled | None]:
        """Every target's new bytes (None: deleted), after checking all preconditions (nothing written yet).

        ``expect_sha256`` is compared with the file as it is on disk (what the
        caller read); several operations on one path apply in order.
        """
        on_disk: dict[Path, bytes | None] = {}
        final: dict[Path, bytes | Spooled | None] = {}
        for op in self._ops:
            target = self._store.path(op.rel)
            if target not in on_disk:
                try:
                    on_disk[target] = target.read_bytes()
                except FileNotFoundError:
                    on_disk[target] = None
            disk = on_disk[target]
            current = final.get(target, disk)
            if op.expect_sha256 is not None:
                actual = None if disk is None else hashlib.sha256(disk).hexdigest()
                if actual != op.expect_sha256.lower():
                    raise StaleFile(f"{op.rel} changed on disk since it was read; run the command again")
            data = op.data if op.data is not None else op.text.encode("utf-8")
            if op.kind == "create":
                if current is not None:
                    raise FileExistsError(f"{op.rel} already exists")
                final[target] = data
            elif op.kind == "append":
                if current is None:
                    raise FileNotFoundError(f"{op.rel} does not exist (cannot append to it)")
                base = current.read() if isinstance(current, Spooled) else current
                final[target] = base + (data.read() if isinstance(data, Spooled) else data)
            elif op.kind == "delete":
                if current is None:
                    raise FileNotFoundError(f"{op.rel} does not exist (cannot delete it)")
                final[target] = None
            else:
                final[target] = data
        return final

    def commit(self) -> None:
        """Apply every staged write atomically (see the module docstring for the protocol)."""
        if self._done:
            raise RuntimeError("this transaction is already finished")
        self._done = True
        store = self._store
        if not store.locked:
            raise RuntimeError("a transaction must be committed while Store.lock() is held")
        final = self._plan()
        if not final:
            return
        if store.validator is not None:
            # a Spooled payload (create_bytes) reaches the validator as it is: only documents, never data files
            store.validator({target.relative_to(store.root).as_posix(): data for target, data in final.items()})  # type: ignore[misc]
        written = {target: data for target, data in final.items() if data is not None}
        deleted = [target for target, data in final.items() if data is None and target.exists()]
        pairs = [(_temp_path(target), target) for target in written]
        store._write_journal("staging", pairs, deleted)
        try:
            for tmp, target in pairs:
                target.parent.mkdir(parents=True, exist_ok=True)
                mode = target.stat().st_mode & 0o7777 if target.exists() else None
                data = written[target]
                _write_durably(tmp, data.read() if isinstance(data, Spooled) else data, mode)
            store._write_journal("commit", pairs, deleted)
        except BaseException:
            for tmp, _ in pairs:
                _unlink_quietly(tmp)
            store._delete_journal()
            raise
        for tmp, target in pairs:
            _replace(tmp, target)
        for target in deleted:  # after every new file is in place: a crash here is rolled forward by recovery
            _unlink_quietly(target)
            _durable_step()
        for folder in {target.parent for target in [*written, *deleted]}:
            _fsync_dir(folder)
        store._delete_journal()
        store._new_token()


def atomic_write_bytes(target: Path, payload: bytes | Iterable[bytes]) -> None:
    """Write a regular file by temp file + rename; a device or pipe (``-o /dev/null``) is written in place.
    ``payload`` may come in chunks (a journal of 200 MB is never held whole); a chunk that fails to come leaves the
    old file as it was.

    Renaming over a special file would replace the device node itself with a
    regular file.
    """
    try:
        mode = os.stat(target).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        if stat.S_ISDIR(mode):
            raise UsageError("E-USAGE", f"{target} is a folder", "give a file name with -o")
        with open(target, "wb") as f:
            _write_all(f, payload)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_file(target, payload, durable=True, private=True)


def _write_all(f, payload: bytes | Iterable[bytes]) -> None:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        f.write(payload)
    else:
        f.writelines(payload)  # chunks as they come


def replace_file(target: Path, payload: bytes | Iterable[bytes], *, durable: bool, private: bool = False) -> None:
    """Replace ``target`` by ``payload`` atomically, outside a transaction: a temp file next to it, renamed over it.

    The one rename-over write of cpqctl's files outside :class:`Transaction` (documents, charts, the
    caches under ``.cpq/``): a reader sees the old file or the new one, never half of one, and a failed
    write leaves no temp file behind. ``durable`` fsyncs the payload before the rename (a document a
    user keeps); a cache, rebuilt when lost, skips it. The new file is created as any new file is
    (0666 less the umask), or owner-only with ``private`` (documents have always been written so).
    The temp name (``.<name>.<pid>-<n>.cpqtmp``) is not a transaction's, so recovery never touches it.
    """
    while True:
        tmp = target.parent / f".{target.name}.{os.getpid()}-{next(_temp_counter)}{TEMP_SUFFIX}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
            break
        except FileExistsError:  # left by a crashed run that had our pid
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            _write_all(f, payload)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
