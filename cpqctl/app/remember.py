"""Answers remembered while the repository is unchanged (issue 21): a report asked again costs a walk of the
entries it reads and reading its answer, not a load of the repository.

`check` and `invoice run --dry-run` keep their own (:mod:`cpqctl.load.remembered`, :mod:`cpqctl.app.invoicing`);
this is the same for any use case whose result is a dataclass of plain values (text, numbers, dates, decimals,
lists and mappings of them): :func:`remembered` keys it on

- the state of every entry under the top folders the use case reads (and cpq.toml): path, type, size, mtime,
  inode and ctime — an edited, added, deleted or renamed file, or one rewritten keeping its size and mtime,
  computes again (:func:`cpqctl.load.remembered.state_key`); and the package's source;
- the question: the use case's name and every argument, the as-of day included.

One answer per use case is kept, in ``.cpq/cache/remembered-<name>.json``; a key that differs computes and
replaces it. An answer whose files changed within 2 s of the question is not kept (a file system's clock is
coarse), a result that holds anything else is never kept, and a refusal is never remembered: it is raised
again each time. ``CPQ_REMEMBER=0`` turns it off (the reference path of the tests).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeVar

from cpqctl.app.workspace import Workspace

R = TypeVar("R")
REPORTS = ("catalog", "contracts", "fx", "indices", "periods")  # what the metrics read (settings, catalog, ledger)


class _Unkept(Exception):
    """A value with no JSON form here: the answer is not kept."""


def _enc(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, Decimal):
        return {"$n": str(v)}
    if isinstance(v, date):
        return {"$d": v.isoformat()}
    if isinstance(v, tuple):
        return {"$t": [_enc(x) for x in v]}
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if isinstance(v, dict) and all(isinstance(k, str) and not k.startswith("$") for k in v):
        return {k: _enc(x) for k, x in v.items()}
    raise _Unkept(type(v).__name__)


def _dec(v):
    if isinstance(v, list):
        return [_dec(x) for x in v]
    if isinstance(v, dict):
        if "$n" in v:
            return Decimal(v["$n"])
        if "$d" in v:
            return date.fromisoformat(v["$d"])
        if "$t" in v:
            return tuple(_dec(x) for x in v["$t"])
        return {k: _dec(x) for k, x in v.items()}
    return v


def remembered(
    ws: Workspace, name: str, question: list, folders: tuple[str, ...], compute: Callable[[], R], kind: type[R]
) -> R:
    """``compute()``'s result, or the one remembered for the same ``question`` on the same state of ``folders``."""
    from cpqctl.load import remembered as memo

    if os.environ.get("CPQ_REMEMBER") == "0":
        return compute()
    ws.recover()  # a write a crash interrupted is repaired (and the state then read) first
    started = time.time_ns()
    state, newest = memo.state_key(ws.root, folders=folders)
    key = memo.derived_key(state, name, [_enc(q) for q in question])
    where = f".cpq/cache/remembered-{name}.json"
    got = memo.recall_value(ws.root, where, key)
    if isinstance(got, dict):
        try:
            return kind(**{f.name: _dec(got[f.name]) for f in dataclasses.fields(kind)})  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError, ArithmeticError):
            pass
    result = compute()
    try:
        value = {f.name: _enc(getattr(result, f.name)) for f in dataclasses.fields(result)}  # type: ignore[arg-type]
    except _Unkept:
        return result
    memo.remember_value(ws.root, where, key, value, newest, started)
    return result
