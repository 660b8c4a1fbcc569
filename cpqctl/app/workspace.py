"""The workspace: one data repository, opened once, and the two ways every use case reads it.

Every use case in :mod:`cpqctl.app` starts here:

- :meth:`Workspace.writing` — for a use case that writes: the repository lock
  held, the whole repository loaded *inside* it, validated with the loader's
  findings **and** the cross-file checks of ``cpqctl check``, and refused with
  one :class:`~cpqctl.core.diagnostics.InvalidRepository` listing them when
  anything is wrong. A command never writes on data it cannot trust.
- :meth:`Workspace.read` and the ``*_context`` readers — for a use case that
  only reads: the whole repository, or just the files one record needs (a quote,
  an invoice, a contract), refused when what was loaded has loader errors.

The progress meter is the caller's (the CLI passes a bar on a terminal; a
library caller gets silence). Nothing here prints.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterator

from cpqctl.core.diagnostics import CpqError, Diagnostic, InvalidRepository, UsageError
from cpqctl.core.model import Repo
from cpqctl.store import Store

MeterFactory = Callable[[], AbstractContextManager]


def _silent() -> AbstractContextManager:
    from cpqctl.progress import Meter

    return nullcontext(Meter())


def validate(repo: Repo, diags: list[Diagnostic], cross_file: bool = True) -> list[Diagnostic]:
    """Every finding of ``cpqctl check``: the loader's plus (``cross_file``) the cross-file checks, sorted.

    A reference to what a broken file failed to define only repeats that file's
    error; any other unknown reference is a finding of its own.
    """
    if not cross_file:
        return sorted(set(diags))
    from cpqctl.core.checks import run_checks, unloaded

    return sorted(set(diags + run_checks(repo, unloaded(repo, diags))))


def require_clean(diags: list[Diagnostic]) -> None:
    """Refuse to work on a repository with errors: one exception listing them (warnings pass)."""
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        shown = "\n".join(f"{d.file}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}"
                           + (f"\n  = hint: {d.hint}" if d.hint else "") for d in errors[:5])
        more = f"\n… and {len(errors) - 5} more" if len(errors) > 5 else ""
        raise InvalidRepository("E-INVALID-REPO", f"the repository has {len(errors)} error(s):\n{shown}{more}",
                                "run `cpqctl check` and fix them first", diagnostics=tuple(errors))


def lookup(mapping, key: str, kind: str, code: str, hint: str):
    """``mapping[key]``, or a refusal naming the closest known key (did you mean …?)."""
    found = mapping.get(key)
    if found is None:
        import difflib

        close = difflib.get_close_matches(key, list(mapping), n=1)
        raise CpqError(code, f"unknown {kind} `{key}`", f"did you mean `{close[0]}`?" if close else hint)
    return found


@dataclass
class Workspace:
    """A data repository (the folder holding cpq.toml) and how to read and write it.

    ``as_of`` is the date use cases run on when a call does not name one (the
    library's default is the day :func:`open` was called; the CLI always passes
    ``--as-of``). ``meter`` makes the progress meter for long loads.
    """

    root: Path
    as_of: date = field(default_factory=date.today)
    meter: MeterFactory = _silent
    lock_timeout: float = 30.0

    @classmethod
    def open(cls, path: str | Path | None = None, *, as_of: date | None = None,
             meter: MeterFactory | None = None) -> "Workspace":
        """The repository at ``path`` or, without one, the nearest folder upwards holding cpq.toml."""
        from cpqctl.load.repo import find_root

        if as_of is not None and not isinstance(as_of, date):
            raise UsageError("E-USAGE", f"as_of must be a date, not {type(as_of).__name__}", "e.g. date(2027, 1, 1)")
        ws = cls(find_root(path))
        if as_of is not None:
            ws.as_of = as_of
        if meter is not None:
            ws.meter = meter
        return ws

    def day(self, as_of: date | None) -> date:
        return as_of if as_of is not None else self.as_of

    def store(self) -> Store:
        return Store(self.root, lock_timeout=self.lock_timeout)

    # -- reading ---------------------------------------------------------

    def load(self, kinds=None) -> tuple[Repo, list[Diagnostic]]:
        """The repository (only files of ``kinds`` when given) and the loader's findings; never refuses."""
        from cpqctl.load.repo import load_repo

        with self.meter() as m:
            return load_repo(self.root, kinds, meter=m)

    def load_checked(self) -> tuple[Repo, list[Diagnostic]]:
        """The repository and every finding of ``cpqctl check`` (loader and cross-file), sorted."""
        repo, diags = self.load()
        return repo, validate(repo, diags)

    def check(self) -> list[Diagnostic]:
        """Every finding of ``cpqctl check``, sorted by file and position (errors and warnings; empty: clean)."""
        return self.load_checked()[1]

    def read(self, kinds=None) -> Repo:
        """The repository for a use case that only reads: refused on loader errors."""
        repo, diags = self.load(kinds)
        require_clean(diags)
        return repo

    def quote_context(self, quote_id: str) -> Repo:
        """Only what pricing one quote needs (flat with repository size); refused on loader errors."""
        from cpqctl.load.repo import load_quote_context

        repo, diags = load_quote_context(self.root, quote_id)
        require_clean(diags)
        return repo

    def invoice_context(self, invoice_id: str) -> Repo:
        """Only what rendering or sending one invoice needs; refused on loader errors."""
        from cpqctl.load.repo import load_invoice_context

        repo, diags = load_invoice_context(self.root, invoice_id)
        require_clean(diags)
        return repo

    def contract_context(self, contract_id: str, quote_id: str | None = None) -> Repo:
        """Only what previewing one contract's invoices needs; refused on loader errors."""
        from cpqctl.load.repo import load_contract_context

        repo, diags = load_contract_context(self.root, contract_id, quote_id)
        require_clean(diags)
        return repo

    # -- writing ---------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[tuple[Store, Repo]]:
        """The repo lock held, the repository loaded inside it and valid as ``check`` sees it.

        Yields ``(store, repo)``; stage the writes in ``store.transaction()``.
        Loading inside the lock means two concurrent commands never act on the
        same stale state.
        """
        store = self.store()
        with store.lock():
            repo, diags = self.load()
            require_clean(validate(repo, diags))
            yield store, repo
