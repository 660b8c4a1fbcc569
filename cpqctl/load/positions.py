"""A record's key positions (``at``: key → Source), built only when something reads them.

Why: key positions are two thirds of the objects in a repository and are read
only to point at an error, so building them all would double the memory of a
load (at 50,000 accounts, the difference between under and over 1 GB). Both
the parser (:mod:`cpqctl.load.build`) and the parse cache hold them as a
shared key tuple and one string ``"line,column,line,column,…"`` (a string is
a third of a list of ints in memory, and JSON reads it back as one object;
records laid out alike share it), in a :class:`Positions`: a read-only dict
(every mutating method refuses, as a ``MappingProxyType`` would, without a
proxy object per record). Every read (``get``, ``[]``, ``in``, iteration,
``len``, ``keys``/``items``/``values``, ``==``, ``copy``, ``repr``, ``dict(p)``,
``{**p}``) fills the dict first. Only code that reads a dict's storage directly
would see it empty before that (``json.dumps(p)``, ``dict.items(p)``): no code
here does; write ``dict(p)`` first.
"""

from __future__ import annotations

import itertools
import re
import sys


class Positions(dict):
    __slots__ = ("_rel", "_keys", "_flat")  # three slots, not a tuple: 40 bytes less per record
    _rel: str
    _keys: tuple[str, ...] | list[str] | None  # None once filled
    _flat: str | None

    def __init__(self, rel: str, keys, flat: str) -> None:
        super().__init__()
        self._rel, self._keys, self._flat = rel, keys, flat

    @property
    def _pending(self):
        return None if self._keys is None else (self._rel, self._keys, self._flat)

    def _filled(self) -> dict:
        keys = self._keys
        if keys is not None:
            from cpqctl.core.model import Source

            flat = self._flat
            it = map(int, flat.split(",")) if flat else iter(())
            dict.update(self, zip(keys, map(Source, itertools.repeat(self._rel), it, it)))
            self._keys = self._flat = None  # after: a thread reading meanwhile fills it again, never sees it half
        return self


def _filling(name: str):
    method = getattr(dict, name)

    def filled_first(self, *args):
        return method(self._filled(), *args)

    filled_first.__name__ = name
    return filled_first


def _refused(name: str):
    def refuse(self, *args, **kwargs):
        raise TypeError(f"key positions are read-only (Positions.{name})")

    refuse.__name__ = name
    return refuse


for _name in ("__setitem__", "__delitem__", "__ior__", "update", "setdefault", "pop", "popitem", "clear"):
    setattr(Positions, _name, _refused(_name))


def _comparing(name: str):
    method = getattr(dict, name)

    def both_filled(self, other):  # dict's own comparison reads the other dict's storage: fill both
        if type(other) is Positions:
            other._filled()
        return method(self._filled(), other)

    both_filled.__name__ = name
    return both_filled


Positions.__eq__ = _comparing("__eq__")  # type: ignore[method-assign]
Positions.__ne__ = _comparing("__ne__")  # type: ignore[method-assign]

for _name in (
    "__getitem__",
    "__contains__",
    "__iter__",
    "__len__",
    "__repr__",
    "__reversed__",
    "__or__",
    "__ror__",
    "__sizeof__",
    "get",
    "keys",
    "values",
    "items",
    "copy",
):
    setattr(Positions, _name, _filling(_name))
Positions.__hash__ = None  # type: ignore[assignment]  # as dict's


def pending_of(at) -> tuple | None:
    """``(rel, keys, flat)`` of a still unread :class:`Positions`, else None (``flat``: the ``"line,column,…"``
    string)."""
    return at._pending if type(at) is Positions else None


_KEYSETS: dict[tuple[str, ...], tuple[str, ...]] = {}


def lazy(rel: str, at: dict[str, tuple[int, int]]) -> Positions:
    """Positions from a parsed mapping's ``{key: (line, column)}``; records with the same keys share one tuple."""
    keys = tuple(at)
    keys = _KEYSETS.setdefault(keys, keys)
    flat = sys.intern(",".join(str(n) for lc in at.values() for n in lc))  # records laid out alike share one
    return Positions(rel, keys, flat)


def well_formed(keys, flat) -> bool:
    """``flat`` is a ``"line,column,…"`` string of a position for each of ``keys`` (a cache entry is checked before
    use: a damaged one is a miss, never an error when the positions are read later)."""
    if type(flat) is not str:
        return False
    return flat.count(",") == 2 * len(keys) - 1 and _FLAT.fullmatch(flat) is not None if keys else flat == ""


_FLAT = re.compile(r"[0-9]{1,9}(?:,[0-9]{1,9})*")  # a line or column, never a number int() would refuse


def source_at(at, key: str, default):
    """``at.get(key, default)`` without filling a still unread :class:`Positions` (a record read for one or two
    positions keeps no dictionary of all of its keys'; at 190,000 invoices that was about 0.2 GB)."""
    pending = pending_of(at)
    if pending is None:
        return at.get(key, default)
    rel, keys, flat = pending
    try:
        i = keys.index(key)
    except ValueError:
        return default
    from cpqctl.core.model import Source

    nums = flat.split(",")
    return Source(rel, int(nums[2 * i]), int(nums[2 * i + 1]))
