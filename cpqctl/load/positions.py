"""A record's key positions (``at``: key → Source), built only when something reads them.

Why: key positions are two thirds of the objects in a repository and are read
only to point at an error, so building them all would double the memory of a
load (at 50,000 accounts, the difference between under and over 1 GB). Both
the parser (:mod:`cpqctl.load.build`) and the parse cache hold them as a
shared key tuple and a flat ``[_, line, column, line, column, …]`` list of
ints, and make :class:`Positions` behind a read-only ``MappingProxyType``.
Every read through the proxy (``get``, ``[]``, ``in``, iteration, ``len``,
``keys``/``items``/``values``, ``==``, ``copy``, ``repr``) fills the dict
first, so nothing can tell it from the eager mapping.
"""

from __future__ import annotations

import gc
import itertools
from types import MappingProxyType


class Positions(dict):
    __slots__ = ("_pending",)

    def __init__(self, rel: str, keys, flat: list) -> None:
        super().__init__()
        self._pending = (rel, keys, flat)

    def _filled(self) -> dict:
        pending = self._pending
        if pending is not None:
            from cpqctl.core.model import Source

            self._pending = None
            rel, keys, flat = pending
            it = iter(flat)
            next(it)  # a key-set index in the cache; unused here
            dict.update(self, zip(keys, map(Source, itertools.repeat(rel), it, it)))
        return self


def _filling(name: str):
    method = getattr(dict, name)

    def filled_first(self, *args):
        return method(self._filled(), *args)

    filled_first.__name__ = name
    return filled_first


for _name in (
    "__getitem__",
    "__contains__",
    "__iter__",
    "__len__",
    "__eq__",
    "__ne__",
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


def pending_of(proxy: MappingProxyType):
    """``(rel, keys, flat)`` of a proxy over a still unread :class:`Positions`, else None."""
    for inner in gc.get_referents(proxy):  # a mappingproxy's one referent is its mapping
        if type(inner) is Positions:
            return inner._pending
    return None


_KEYSETS: dict[tuple[str, ...], tuple[str, ...]] = {}


def lazy(rel: str, at: dict[str, tuple[int, int]]) -> MappingProxyType:
    """Positions from a parsed mapping's ``{key: (line, column)}``; records with the same keys share one tuple."""
    keys = tuple(at)
    keys = _KEYSETS.setdefault(keys, keys)
    flat = [0]
    for lc in at.values():
        flat += lc
    return MappingProxyType(Positions(rel, keys, flat))
