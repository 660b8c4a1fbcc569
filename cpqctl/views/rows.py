"""List rows packed: what keeps `cpqctl serve`'s cached lists out of its memory at 50,000 accounts.

A list row as the use case gives it (``invoice list``'s, ``account list``'s, a ``check`` finding's JSON) is a
dict of about twenty small objects: some 2.2 kB each, 420 MB for the 191,000 invoices of 50,000 accounts billed
for a year, held while the repository is unchanged. :class:`Rows` keeps each row as the compact JSON of its
values (in the order of the keys every row shares, written once), about 300 bytes, in a :class:`Blob` — by default
in memory; the server's in an unnamed temporary file, read back a row at a time (``os.pread``), so a list of
191,000 invoices holds 16 bytes a row in memory plus its columns — and decodes only the rows a page shows. The few
fields the pages filter, count or look IDs up by (``status``, ``account``, the ID, a name) are kept unpacked as
*columns* (:class:`Column`): a 4-byte code per row into the column's distinct values.

A row decodes to a dict equal to the one packed, keys in the same order (a row whose keys differ from the first
row's is kept as a JSON object), so a page's JSON is byte for byte what the command prints.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
_decode = json.JSONDecoder().decode


CHUNK = 1 << 20  # bytes packed before they are added to the blob at once


class Blob:
    """Where packed rows' bytes are: in memory, or with ``folder`` in an unnamed temporary file there (unlinked as it
    is made, closed when the blob is dropped: nothing is left behind, even by a crash), read back with ``os.pread``
    (the file's pages are the system's cache, not the process's memory). A folder that cannot take the file, or a
    system without ``pread``, keeps the bytes in memory."""

    def __init__(self, folder: Path | None = None) -> None:
        import tempfile

        self._buf = bytearray()
        self._fd: int | None = None
        self._size = 0
        self._lock = threading.Lock()
        if folder is not None and hasattr(os, "pread"):
            try:
                spool = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 (closed when the blob is dropped)
            except OSError:
                return
            self._fd = spool.fileno()
            weakref.finalize(self, spool.close)

    @property
    def on_disk(self) -> bool:
        return self._fd is not None

    def add(self, data: bytes | bytearray) -> int:
        """Append ``data``; where it starts."""
        with self._lock:
            start = self._size
            if self._fd is None:
                self._buf += data
            else:
                view, at = memoryview(data), start
                while view:
                    n = os.pwrite(self._fd, view, at)
                    view, at = view[n:], at + n
            self._size += len(data)
            return start

    def read(self, start: int, end: int) -> bytes:
        if self._fd is None:
            return bytes(self._buf[start:end])
        return os.pread(self._fd, end - start, start)


class Column:
    """A kept column: a code per row (4 bytes) into its distinct values (JSON scalars: text, numbers, true, false,
    null). The texts are made again, one after the other, once the column is whole (:func:`_dense`): made while
    their rows were, they would lie scattered through the memory of the model those rows came from, and the
    allocator could give none of it back while one of them lives."""

    __slots__ = ("codes", "values")

    def __init__(self, codes: array, values: tuple) -> None:
        self.codes = codes
        self.values = values

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i: int):
        return self.values[self.codes[i]]


class _Coding:
    """A column being made: the codes so far, and each distinct value's code."""

    def __init__(self) -> None:
        self.codes = array("I")
        self.index: dict[tuple[type, Any], int] = {}  # by type too: 1 and true, 0 and false are equal in Python
        self.values: list = []

    def code(self, value) -> int:
        key = (type(value), value)
        code = self.index.get(key)
        if code is None:
            code = self.index[key] = len(self.values)
            self.values.append(value)
        return code

    def add(self, value) -> None:
        self.codes.append(self.code(value))

    def column(self) -> Column:
        return Column(self.codes, _dense(tuple(self.values)))


def _dense(values: tuple) -> tuple:
    """``values`` with each text made anew, all at once (see :class:`Column`)."""
    texts = [v for v in values if type(v) is str]
    if not texts:
        return values
    sep = "\x00"
    joined = sep.join(texts)
    if joined.count(sep) != len(texts) - 1:  # a text holding the separator: kept as it is
        return values
    fresh = iter(joined.split(sep))
    return tuple(next(fresh) if type(v) is str else v for v in values)


class Rows(Sequence[dict]):
    """Rows packed as compact JSON in a :class:`Blob` (see the module docstring); ``columns`` kept unpacked, by name.

    A :class:`Rows` may be a selection of another's rows (:meth:`where`): the packed rows are shared, only the
    positions are new.
    """

    __slots__ = ("_blob", "_columns", "_ends", "_keys", "_picked", "_starts")

    def __init__(
        self, keys: tuple[str, ...], blob: Blob, starts: array, ends: array, columns: dict[str, Column], picked=None
    ) -> None:
        self._keys = keys
        self._blob = blob
        self._starts = starts
        self._ends = ends
        self._columns = columns
        self._picked: Sequence[int] = range(len(starts)) if picked is None else picked

    @classmethod
    def of(
        cls, rows: Iterable[dict], columns: Sequence[str] = (), blob: Blob | None = None, keys: tuple | None = None
    ) -> Rows:
        """``rows`` packed (into ``blob``, else a blob in memory of their own), ``columns`` kept (a row missing one
        holds None there); each row is packed as it comes, so an iterator of rows is never held whole. ``keys``: the
        shape packed as values (default: the first row's keys)."""
        blob = Blob() if blob is None else blob
        starts, ends = array("Q"), array("Q")
        kept = {c: _Coding() for c in columns}
        chunk = bytearray()
        spans: list[tuple[int, int]] = []

        def flush() -> None:
            at = blob.add(chunk)
            starts.extend(at + a for a, _ in spans)
            ends.extend(at + b for _, b in spans)
            chunk.clear()
            spans.clear()

        for row in rows:
            if keys is None:
                keys = tuple(row)
            same = len(row) == len(keys) and tuple(row) == keys
            packed = _encode(list(row.values()) if same else row).encode()
            spans.append((len(chunk), len(chunk) + len(packed)))
            chunk += packed
            for c, coding in kept.items():
                coding.add(row.get(c))
            if len(chunk) >= CHUNK:
                flush()
        flush()
        return cls(keys or (), blob, starts, ends, {c: k.column() for c, k in kept.items()})

    @classmethod
    def joined(
        cls, parts: Sequence[Rows], columns: Sequence[str], order: Callable[[Any], Any] | None = None, by: str = ""
    ) -> Rows:
        """The rows of ``parts`` one after the other (each whole, as :meth:`of` made it, keeping ``columns``) — or,
        with ``order``, sorted by ``order(value of column by)`` (stable). Rows packed in the first part's blob with
        its keys are not copied, others are added to it."""
        blob = parts[0]._blob if parts else Blob()
        keys = next((p._keys for p in parts if p._keys), ())
        starts, ends = array("Q"), array("Q")
        kept = {c: _Coding() for c in columns}
        for p in parts:
            if p._blob is blob and p._keys in (keys, ()):
                starts += p._starts
                ends += p._ends
            else:  # another blob, or another shape of row: added as JSON objects
                again = Rows.of(p, (), blob, keys)
                starts += again._starts
                ends += again._ends
            for c, coding in kept.items():
                col = p._columns[c]
                recoded = [coding.code(v) for v in col.values]
                coding.codes.extend(recoded[code] for code in col.codes)
        made = {c: k.column() for c, k in kept.items()}
        if order is not None:
            column = made[by]
            sequence = sorted(range(len(starts)), key=lambda i: order(column[i]))
            starts = array("Q", (starts[i] for i in sequence))
            ends = array("Q", (ends[i] for i in sequence))
            made = {c: Column(array("I", (col.codes[i] for i in sequence)), col.values) for c, col in made.items()}
        return cls(keys, blob, starts, ends, made)

    def _row(self, i: int) -> dict:
        value = _decode(self._blob.read(self._starts[i], self._ends[i]).decode())
        return value if type(value) is dict else dict(zip(self._keys, value, strict=True))

    def __len__(self) -> int:
        return len(self._picked)

    @overload
    def __getitem__(self, index: int) -> dict: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict]: ...
    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._row(i) for i in self._picked[index]]
        return self._row(self._picked[index])

    def __iter__(self) -> Iterator[dict]:
        return (self._row(i) for i in self._picked)

    def column(self, name: str) -> list:
        """The kept column ``name``'s values, one per row of this selection."""
        col = self._columns[name]
        values, codes = col.values, col.codes
        return [values[codes[i]] for i in self._picked]

    def distinct(self, name: str) -> tuple:
        """The values column ``name`` holds (in all the rows, this selection's or not), each once."""
        return self._columns[name].values

    def where(self, test: Callable[..., bool], *names: str) -> Rows:
        """The rows for which ``test(value of each named column…)`` holds, in order (nothing is decoded)."""
        cols = [self._columns[n] for n in names]
        picked = [i for i in self._picked if test(*(c.values[c.codes[i]] for c in cols))]
        return Rows(self._keys, self._blob, self._starts, self._ends, self._columns, picked)


@dataclass(frozen=True)
class Packer:
    """How a use case packs the rows it makes part by part (``invoice list --format json`` for `cpqctl serve`): into
    one ``blob``, keeping ``columns``."""

    columns: tuple[str, ...]
    blob: Blob = field(default_factory=Blob)

    def pack(self, rows: Iterable[dict]) -> Rows:
        return Rows.of(rows, self.columns, self.blob)

    def joined(self, parts: Sequence[Rows], order: Callable[[Any], Any] | None = None, by: str = "") -> Rows:
        return Rows.joined(parts, self.columns, order, by)
