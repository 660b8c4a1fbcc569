"""Records of a run in parts kept on disk, part by part, and given back merged in order (issue 21).

A run that reads a big repository one part at a time and must give its records in one order over every part
(`invoice run`'s drafts by number order, `journal`'s transactions by date) keeps each part's, already in that
order, in an anonymous temporary file (no name, gone when closed: never a cache nor anything another process
reads) and merges them when iterated: it holds one part's records at a time, not every part's."""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO


class Spilled:
    """Records added part by part, each part's in ``key`` order, merged in that order when iterated (ties: the
    earlier part first). Iterate it once at a time (the files' positions are shared)."""

    def __init__(self, key: Callable) -> None:
        self.key = key
        self.files: list = []
        self.count = 0
        self._tail: IO[bytes] | None = None

    def add(self, records: Iterable) -> None:
        f = None
        for r in records:  # one pickle each: no memo of earlier ones grows with the part
            if f is None:
                f = tempfile.TemporaryFile()  # noqa: SIM115 (kept open until the records are read)
                self.files.append(f)
            pickle.dump(r, f, protocol=pickle.HIGHEST_PROTOCOL)
            self.count += 1
        if f is not None:
            f.flush()

    def append(self, record) -> None:
        """Add one record after the last one :meth:`append` added (records appended one at a time, in order)."""
        tail = self._tail
        if tail is None:
            tail = self._tail = tempfile.TemporaryFile()  # noqa: SIM115 (kept open until the records are read)
            self.files.append(tail)
        tail.seek(0, 2)
        pickle.dump(record, tail, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def __iter__(self) -> Iterator:
        if self._tail is not None:
            self._tail.flush()
        return heapq.merge(*(_unpickled(f) for f in self.files), key=self.key)

    def close(self) -> None:
        for f in self.files:
            f.close()
        self.files = []
        self._tail = None


def _unpickled(f) -> Iterator:
    f.seek(0)
    while True:
        try:
            yield pickle.load(f)
        except EOFError:
            return
