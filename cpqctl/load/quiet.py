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
- its ledger: every line of its invoices as billing reads them (date, number, segment, amount, period), so a
  new, edited, corrected or deleted invoice of the contract changes the key, whatever its file's state;
- the file as a whole is dropped when the settings (everything cpq.toml gives billing) or the package's source
  differ from the ones it was written with.

Writing runs remember too, for the ledger they leave (:meth:`QuietMemo.record` with the lines they wrote), so
the next month's first run finds the contracts billed this month already known. ``CPQ_BILLING=full`` (the
reference path) neither reads nor writes it. A memo that is missing, unreadable or from another version is
empty; one that cannot be written is no error.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date
from pathlib import Path

NAME = ".cpq/cache/billing-quiet.json"
FORMAT = 1


def _day(d: date | None) -> int | None:
    return None if d is None else d.toordinal()


class QuietMemo:
    """:class:`cpqctl.core.billing.Quiet` over ``.cpq/cache/billing-quiet.json``; :meth:`save` writes it back."""

    def __init__(self, root: Path, settings, started: int):
        from cpqctl.load.cache import RACY_NS
        from cpqctl.load.remembered import _code_digest

        self.root = root
        self.base = os.fspath(root)
        self.settled_before = started - RACY_NS  # a contract file changed since may not be in the loaded state
        h = hashlib.sha256(_code_digest())
        h.update(f"quiet-{FORMAT}\0{settings!r}".encode())
        self.head = h.hexdigest()
        self.entries: dict[str, list[str]] = {}
        self.dirty = False
        self.skipped = 0
        self._keys: dict[str, str | None] = {}
        try:
            data = json.loads((root / NAME).read_bytes())
            if data.get("head") == self.head and isinstance(data.get("contracts"), dict):
                self.entries = data["contracts"]
        except (OSError, ValueError, TypeError, AttributeError):
            pass

    def key(self, c, billed) -> str | None:
        """The contract's key (see the module's docstring), or None when it is not to be trusted."""
        try:
            st = os.stat(os.path.join(self.base, c.src.file))
        except (OSError, ValueError):
            return None
        if st.st_mtime_ns >= self.settled_before:
            return None
        # dates as ordinals and amounts as text: the repr of ints and strings is exact and fast (≈ 130,000 lines)
        lines = [
            (b.date.toordinal(), b.invoice, b.segment, str(b.amount), _day(b.period_start), _day(b.period_end))
            for b in billed
        ]
        head = (c.contract, c.src.file, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
        return hashlib.blake2b(repr((head, lines)).encode(), digest_size=16).hexdigest()

    def _key_of(self, c, billed) -> str | None:
        if c.contract not in self._keys:
            self._keys[c.contract] = self.key(c, billed)
        return self._keys[c.contract]

    def skips(self, c, billed, through: date) -> bool:
        got = self.entries.get(c.contract)
        if type(got) is not list or len(got) != 3:
            return False
        day = through.isoformat()
        if not got[1] <= day < got[2] or got[0] != self._key_of(c, billed):
            return False
        self.skipped += 1
        return True

    def record(self, c, billed, through: date, until: date) -> None:
        key = self._key_of(c, billed)
        self.remember(c.contract, key, through, until)

    def record_after(self, c, billed, through: date, until: date) -> None:
        """Record for the ledger ``billed`` a write just left (its key not the one this run loaded)."""
        self.remember(c.contract, self.key(c, billed), through, until)

    def remember(self, contract: str, key: str | None, through: date, until: date) -> None:
        if key is None:
            return
        entry = [key, through.isoformat(), until.isoformat()]
        if self.entries.get(contract) != entry:
            self.entries[contract] = entry
            self.dirty = True

    def save(self) -> None:
        """Write the memo back when it changed (atomically; a repository that cannot be written keeps none)."""
        if not self.dirty:
            return
        from cpqctl.load.remembered import write_cache_file

        body = {"format": FORMAT, "head": self.head, "contracts": dict(sorted(self.entries.items()))}
        if write_cache_file(self.root, NAME, json.dumps(body, separators=(",", ":")).encode()):
            self.dirty = False
