"""List rows packed: what keeps `cpqctl serve`'s cached lists under 0.5 GB at 50,000 accounts.

A list row as the use case gives it (``invoice list``'s, ``account list``'s, a ``check`` finding's JSON) is a
dict of about twenty small objects: some 2.2 kB each, 420 MB for the 191,000 invoices of 50,000 accounts billed
for a year, held while the repository is unchanged. :class:`Rows` keeps each row as the compact JSON of its
values (in the order of the keys every row shares, written once), about 300 bytes, and decodes only the rows a
page shows. The few fields the pages filter, count or look IDs up by (``status``, ``account``, the ID, a name) are
kept unpacked as *columns*: one reference per row to a string shared by every row holding it.

A row decodes to a dict equal to the one packed, keys in the same order (a row whose keys differ from the first
row's is kept as a JSON object), so a page's JSON is byte for byte what the command prints.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, overload

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
_decode = json.JSONDecoder().decode


class Rows(Sequence[dict]):
    """Rows packed as compact JSON (see the module docstring); ``columns`` kept unpacked, by name.

    A :class:`Rows` may be a selection of another's rows (:meth:`where`): the packed rows are shared, only the
    positions are new.
    """

    __slots__ = ("_columns", "_keys", "_packed", "_picked")

    def __init__(self, keys: tuple[str, ...], packed: list[bytes], columns: dict[str, list], picked=None) -> None:
        self._keys = keys
        self._packed = packed
        self._columns = columns
        self._picked: Sequence[int] = range(len(packed)) if picked is None else picked

    @classmethod
    def of(cls, rows: Iterable[dict], columns: Sequence[str] = ()) -> Rows:
        """``rows`` packed, ``columns`` kept (a row missing one holds None there); each row is packed as it comes,
        so an iterator of rows is never held whole."""
        keys: tuple[str, ...] | None = None
        packed: list[bytes] = []
        kept: dict[str, list] = {c: [] for c in columns}
        shared: dict[Any, Any] = {}
        for row in rows:
            if keys is None:
                keys = tuple(row)
            if len(row) == len(keys) and tuple(row) == keys:
                packed.append(_encode(list(row.values())).encode())
            else:
                packed.append(_encode(row).encode())
            for c, values in kept.items():
                v = row.get(c)
                values.append(shared.setdefault(v, v) if type(v) is str else v)
        return cls(keys or (), packed, kept)

    @classmethod
    def joined(
        cls, parts: Sequence[Rows], columns: Sequence[str], order: Callable[[Any], Any] | None = None, by: str = ""
    ) -> Rows:
        """The rows of ``parts`` one after the other (each whole, as :meth:`of` made it, keeping ``columns``) — or,
        with ``order``, sorted by ``order(value of column by)`` (stable). Nothing is decoded."""
        keys = next((p._keys for p in parts if p._keys), ())
        packed: list[bytes] = []
        kept: dict[str, list] = {c: [] for c in columns}
        for p in parts:
            same = p._keys == keys
            packed += p._packed if same else [_encode(r).encode() for r in p]  # another shape: kept as objects
            for c, values in kept.items():
                values += p._columns[c]
        if order is not None:
            column = kept[by]
            sequence = sorted(range(len(packed)), key=lambda i: order(column[i]))
            packed = [packed[i] for i in sequence]
            kept = {c: [values[i] for i in sequence] for c, values in kept.items()}
        return cls(keys, packed, kept)

    def _row(self, i: int) -> dict:
        value = _decode(self._packed[i].decode())
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

    def column(self, name: str) -> Sequence:
        """The kept column ``name``'s values, one per row of this selection."""
        values = self._columns[name]
        return values if isinstance(self._picked, range) else [values[i] for i in self._picked]

    def where(self, test: Callable[..., bool], *names: str) -> Rows:
        """The rows for which ``test(value of each named column…)`` holds, in order (nothing is decoded)."""
        cols = [self._columns[n] for n in names]
        picked = [i for i in self._picked if test(*(c[i] for c in cols))]
        return Rows(self._keys, self._packed, self._columns, picked)
