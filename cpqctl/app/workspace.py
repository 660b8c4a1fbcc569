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

import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from cpqctl.core.diagnostics import Diagnostic, InvalidRepository, UsageError
from cpqctl.core.model import Repo, SignatureRecord
from cpqctl.store import Store

MeterFactory = Callable[[], AbstractContextManager]
T = TypeVar("T")


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

    found = run_checks(repo, unloaded(repo, diags))
    if repo.periods and not any(d.severity == "error" for d in diags + found):
        from cpqctl.app.closing import check_closed  # closed months keep their journal (docs/revenue.md)

        found += check_closed(repo)
    return sorted(set(diags + found))


def require_clean(diags: list[Diagnostic]) -> None:
    """Refuse to work on a repository with errors: one exception listing them (warnings pass)."""
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        shown = "\n".join(
            f"{d.file}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}"
            + (f"\n  = hint: {d.hint}" if d.hint else "")
            for d in errors[:5]
        )
        more = f"\n… and {len(errors) - 5} more" if len(errors) > 5 else ""
        raise InvalidRepository(
            "E-INVALID-REPO",
            f"the repository has {len(errors)} error(s):\n{shown}{more}",
            "run `cpqctl check` and fix them first",
            diagnostics=tuple(errors),
        )


def lookup(mapping, key: str, kind: str, code: str, hint: str):
    """``mapping[key]``, or a refusal naming the closest known key (did you mean …?).

    For an ID the caller gave (a command-line argument): an unknown one is unusable input of the call,
    a :class:`UsageError` (exit 2 on the command line). A reference inside a file is a finding of
    `check`, never looked up here.
    """
    found = mapping.get(key)
    if found is None:
        import difflib

        folded = {k.casefold(): k for k in mapping}
        same = folded.get(key.casefold())  # `growth` for `GROWTH`: IDs are case-sensitive, say which one
        if same is not None:
            raise UsageError(code, f"unknown {kind} `{key}`", f"did you mean `{same}`? (IDs are case-sensitive)")
        close = difflib.get_close_matches(key.casefold(), list(folded), n=1)
        raise UsageError(code, f"unknown {kind} `{key}`", f"did you mean `{folded[close[0]]}`?" if close else hint)
    return found


class Parts:
    """A repository read one part at a time (:meth:`cpqctl.load.parts.Plan.reading`), for
    :meth:`Workspace.read_in_parts` and :meth:`Workspace.clean_parts` (``store``: the lock held)."""

    def __init__(self, ws: Workspace, found, store: Store | None = None) -> None:
        self.ws = ws
        self.plan = found
        self.store = store
        self.settings = found.settings

    @property
    def held(self) -> Store:
        """The store whose lock :meth:`Workspace.clean_parts` holds (for the writes of a use case over the parts)."""
        assert self.store is not None, "only the parts of Workspace.clean_parts hold the lock"
        return self.store

    def read(self, kinds, compute: Callable[[Repo], T]) -> list[T] | None:
        """``compute`` of each part, in account order; None when the parts cannot stand for the whole read of
        ``kinds`` (:class:`cpqctl.load.parts.Whole`)."""
        from cpqctl.load.parts import Whole

        out: list[T] = []
        try:
            with self.ws.meter() as m:
                for loaded in self.plan.reading(frozenset(kinds), m, self.ws.part_files or None):
                    repo, diags = loaded.assemble()
                    del loaded
                    if any(d.severity == "error" for d in diags):  # two records of one ID within the part
                        raise Whole(diags[0].file)
                    out.append(compute(repo))
                    del repo
        except Whole:
            return None
        return out


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
    # account, contract and invoice files per part of a read in parts (0: cpqctl.load.parts.chunk_files(), 40,000);
    # `cpqctl serve` reads smaller parts: its lists are kept while the next is made
    part_files: int = 0

    @classmethod
    def open(
        cls, path: str | Path | None = None, *, as_of: date | str | None = None, meter: MeterFactory | None = None
    ) -> Workspace:
        """The repository at ``path`` or, without one, the nearest folder upwards holding cpq.toml."""
        from cpqctl.load.repo import find_root

        day = _day(as_of)
        ws = cls(find_root(path))
        if day is not None:
            ws.as_of = day
        if meter is not None:
            ws.meter = meter
        return ws

    def day(self, as_of: date | None) -> date:
        return as_of if as_of is not None else self.as_of

    def store(self) -> Store:
        return Store(self.root, lock_timeout=self.lock_timeout)

    # -- reading ---------------------------------------------------------

    def recover(self) -> list[Diagnostic]:
        """Complete or roll back a write that a crash interrupted, before anything is read; what was repaired.

        Every reader calls it first, so no command (``check`` included) shows a half-applied write. It costs one
        ``stat`` of ``.cpq/journal.json``; only when that exists is the lock taken (waiting for a running writer,
        whose journal it is). A repository that cannot be written (a read-only checkout) cannot be repaired and is
        refused (E-INTERRUPTED-WRITE) rather than shown half-written. The findings are W-REPAIRED warnings.
        """
        from cpqctl.store import CPQ_DIR, JOURNAL_NAME

        store = self.store()
        if not store.journal_path.exists():
            return []
        journal = f"{CPQ_DIR}/{JOURNAL_NAME}"
        try:
            done = store.recover()
        except OSError as exc:
            from cpqctl.core.model import Source

            raise UsageError(
                "E-INTERRUPTED-WRITE",
                f"a write was interrupted ({journal} is left) and cannot be completed or rolled back here: "
                f"{exc.strerror or exc}",
                "run any cpqctl command (`cpqctl check`) once as a user who may write the repository: it repairs it; "
                "until then no command reads a half-written repository",
                src=Source(journal),
            ) from None
        if done is None:  # another command finished it meanwhile
            return []
        if done.completed:
            return [
                Diagnostic(
                    rel,
                    1,
                    1,
                    "W-REPAIRED",
                    "an interrupted write was completed: this file is as the command that was stopped wrote it",
                    "every file of that command was ready when it stopped, so cpqctl finished it; review and commit it",
                    "warning",
                )
                for rel in done.files
            ]
        shown = ", ".join(done.files[:5]) + (f" and {len(done.files) - 5} more" if len(done.files) > 5 else "")
        what = f"it was to write {shown}" if shown else "its journal was unreadable; its temp files are gone"
        return [
            Diagnostic(
                journal,
                1,
                1,
                "W-REPAIRED",
                f"an interrupted write was rolled back: no file was changed ({what})",
                "the command stopped before its files were ready; run it again",
                "warning",
            )
        ]

    def load(self, kinds=None) -> tuple[Repo, list[Diagnostic]]:
        """The repository (only files of ``kinds`` when given) and the loader's findings; never refuses."""
        from cpqctl.load.repo import load_repo

        self.recover()
        with self.meter() as m:
            return load_repo(self.root, kinds, meter=m)

    def load_checked(self) -> tuple[Repo, list[Diagnostic]]:
        """The repository and every finding of ``cpqctl check`` (loader and cross-file), sorted."""
        repo, diags = self.load()
        return repo, validate(repo, diags)

    def check(self) -> list[Diagnostic]:
        """Every finding of ``cpqctl check``, sorted by file and position (errors and warnings; empty: clean).

        A write that a crash interrupted is repaired first and reported (W-REPAIRED).
        """
        repaired = self.recover()
        return sorted(repaired + self.findings())

    def findings(self, state: tuple[str, int, int] | None = None) -> list[Diagnostic]:
        """:meth:`check`'s findings without the repair (a command holding the lock has recovered already):
        remembered while nothing it reads changes (:mod:`cpqctl.load.remembered`). ``state``: the repository's
        :func:`~cpqctl.load.remembered.state_key` and newest mtime, and when that key was taken, given by a command
        that holds the lock (the repository is then loaded as it is: taking the lock again to recover would wait for
        itself)."""
        from cpqctl.load import remembered

        if state is None:
            started = time.time_ns()
            key, newest = remembered.state_key(self.root)  # nothing it reads changed since the last check
        else:
            key, newest, started = state
        found = remembered.recall(self.root, key)
        if found is not None:
            return found
        from cpqctl.app import check_parts

        if state is None:
            self.recover()
        # a big repository one part at a time (at 50,000 accounts with a year of invoices: under 0.5 GB), else whole
        found = check_parts.findings(self.root, self.meter)
        if found is None:
            if state is None:
                repo, found = self.load_checked()
            else:  # under the lock, recovered already
                from cpqctl.load.repo import load_repo

                with self.meter() as m:
                    repo, diags = load_repo(self.root, meter=m)
                found = validate(repo, diags)
            found = sorted(found + self.einvoice_findings(repo, found))
            del repo
        remembered.remember(self.root, key, found, newest, started)
        return found

    def einvoice_findings(self, repo: Repo, diags: list[Diagnostic]) -> list[Diagnostic]:
        """`check`'s findings on structured e-invoices: an issued invoice that must go through KSeF whose FA(3) does
        not validate against the XSD (E-KSEF-XSD, :func:`cpqctl.app.einvoicing.check_einvoices`). Not part of
        :func:`validate`: an issued invoice is never changed, so such a finding never refuses a write (the
        corrective invoice that fixes it is one)."""
        from cpqctl.app.einvoicing import check_einvoices

        return check_einvoices(self.root, repo, diags)

    def read(self, kinds=None) -> Repo:
        """The repository for a use case that only reads: refused on loader errors."""
        repo, diags = self.load(kinds)
        require_clean(diags)
        return repo

    def read_in_parts(self, kinds, compute: Callable[[Repo], T]) -> list[T] | None:
        """``compute`` of each part of the repository (:meth:`cpqctl.load.parts.Plan.reading`: whole account folders
        with their contracts' invoices and their accounts' payments, ``kinds`` of account, contract, invoice and
        payment), in account order; None when the parts cannot stand for :meth:`read` of ``kinds`` (a repository
        small enough to load whole, one with loader errors, or one whose records cross the parts): the caller then
        reads it whole, which refuses it or answers. At 50,000 accounts with a year of invoices the whole model
        takes 0.9 GB; a part, about 90 MB."""
        from cpqctl.load.parts import plan

        self.recover()
        found = plan(self.root)
        if found is None:
            return None
        return Parts(self, found).read(kinds, compute)

    def read_accounts_in_parts(self, compute: Callable[[Repo], T]) -> list[T] | None:
        """:meth:`read_in_parts` of the catalog, accounts and contracts, for a use case that goes account by account
        (`account list`, `contract list`, `report board`): None too when a contract names an account outside its
        part (E-ACCOUNT-FOLDER, or no account file: the whole read counts it with that account's). At 50,000
        accounts the whole model of these kinds is 0.25 GB, and the board's figures over it 0.1 GB more."""
        from cpqctl.load.parts import Whole

        def own(repo: Repo) -> T:
            if any(c.account not in repo.accounts for c in repo.contracts.values()):
                raise Whole("a contract of an account outside the part")
            return compute(repo)

        return self.read_in_parts(("catalog", "account", "contract"), own)

    def quote_context(self, quote_id: str) -> Repo:
        """Only what pricing one quote needs (flat with repository size); refused on loader errors."""
        from cpqctl.load.repo import load_quote_context

        self.recover()
        repo, diags = load_quote_context(self.root, quote_id)
        require_clean(diags)
        return repo

    def catalog(self) -> Repo:
        """The settings and the catalog alone, whatever else the repository holds (its findings are `check`'s)."""
        from cpqctl.load.repo import load_catalog_context

        self.recover()
        return load_catalog_context(self.root)[0]

    def invoice_context(self, invoice_id: str) -> Repo:
        """Only what rendering or sending one invoice needs; refused on loader errors."""
        from cpqctl.load.repo import load_invoice_context

        self.recover()
        repo, diags = load_invoice_context(self.root, invoice_id)
        require_clean(diags)
        return repo

    def contract_context(self, contract_id: str, quote_id: str | None = None) -> Repo:
        """Only what previewing one contract's invoices needs; refused on loader errors."""
        from cpqctl.load.repo import load_contract_context

        self.recover()
        repo, diags = load_contract_context(self.root, contract_id, quote_id)
        require_clean(diags)
        return repo

    def account_context(self, account: str, invoices: bool = False) -> tuple[Repo, list[Diagnostic]]:
        """Only one account's files (and with ``invoices`` its contracts' invoices) and the loader's findings in
        them; never refuses (flat with repository size)."""
        from cpqctl.load.repo import load_account_context

        self.recover()
        return load_account_context(self.root, account, invoices)

    def one_contract(self, contract_id: str) -> tuple[Repo, list[Diagnostic]]:
        """Only one contract's account folder and invoices, and the loader's findings in them; never refuses."""
        from cpqctl.load.repo import load_contract_context

        self.recover()
        return load_contract_context(self.root, contract_id)

    # -- writing ---------------------------------------------------------

    @contextmanager
    def writing(self, tolerate: frozenset[str] = frozenset(), staged_too: bool = False) -> Iterator[tuple[Store, Repo]]:
        """The repo lock held, the repository loaded inside it and valid as ``check`` sees it.

        Yields ``(store, repo)``; stage the writes in ``store.transaction()``.
        Loading inside the lock means two concurrent commands never act on the
        same stale state. Every commit is validated before it is written
        (:mod:`cpqctl.app.staged`): one that would leave an error is refused.

        ``tolerate``: error codes a repair may start from (`amend --rebase` and
        accepting its quote on a merged ledger); any other error still refuses.
        They are kept on ``store.tolerated`` for the caller to refuse on when
        the write turns out not to be that repair. ``staged_too``: commits may
        leave them in place (writing the repair's draft); otherwise every
        commit must leave the repository free of errors.
        """
        from cpqctl.load.repo import load_parts

        with self._writing(lambda m: load_parts(self.root, meter=m), tolerate, staged_too) as got:
            yield got

    def read_if_clean(self, kinds: frozenset[str]) -> Repo | None:
        """For a dry run of a use case that writes over the whole repository and reads only ``kinds``: under the
        lock, when `check` finds no error (remembered, else checked in parts or whole), only the files of ``kinds``
        loaded; None when it finds one — the caller then takes :meth:`writing`, whose refusal (or, for an error
        that refuses no write, such as E-KSEF-XSD, whose answer) is the one given. At 50,000 accounts with a year
        of invoices the whole model is 0.9 GB; `renew --due --dry-run` reads no invoice."""
        from cpqctl.load.repo import load_parts

        self.recover()
        with self.store().lock():
            if not self._checked_clean():
                return None
            with self.meter() as m:
                repo, diags = load_parts(self.root, kinds, m).assemble()
        require_clean(diags)  # checked clean under the same lock: never refuses
        return repo

    @contextmanager
    def writing_kinds(self, kinds: frozenset[str]) -> Iterator[tuple[Store, Repo] | None]:
        """:meth:`writing` for a write over the whole repository that reads and writes only files of ``kinds``
        (`renew --due`: renewal quotes from the contracts, accounts, catalog and quotes): under the lock, when
        `check` finds no error in the repository (remembered, else checked in parts or whole), only those files are
        loaded, and each commit is refused when it would leave an error they did not show before it
        (:func:`cpqctl.app.staged.refuse_new_errors`; the rules over what is not read cannot see a write of
        ``kinds``). None when `check` finds an error: the caller then takes :meth:`writing`, after this block,
        whose refusal is the answer. At 50,000 accounts with a year of invoices the whole model is 0.9 GB."""
        from cpqctl.app.staged import refuse_new_errors
        from cpqctl.load.repo import load_parts

        self.recover()
        store = self.store()
        with store.lock():
            if not self._checked_clean():
                yield None
                return
            with self.meter() as m:
                loaded = load_parts(self.root, kinds, m)
            repo, diags = loaded.assemble()
            require_clean(diags)  # checked clean under the same lock: never refuses
            store.validator = refuse_new_errors(loaded)
            yield store, repo

    def _checked_clean(self) -> bool:
        """Under the lock: whether `check` finds no error (remembered, else checked in parts or whole, and then
        remembered)."""
        from cpqctl.load import remembered

        started = time.time_ns()
        key, newest = remembered.state_key(self.root)
        errors = remembered.recall_errors(self.root, key)
        if errors is None:
            errors = [d for d in self.findings((key, newest, started)) if d.severity == "error"]
        return not errors

    @contextmanager
    def clean_parts(self) -> Iterator[Parts | None]:
        """For a use case over every account that writes what each account's own files decide (`dunning run`'s
        reminders): the lock held and, on a repository big enough to read in parts that `check` finds free of
        errors, its :class:`Parts`; None otherwise (small, or an error: the caller takes :meth:`writing` after
        this block, whose refusal or answer is the one given). The caller checks each write itself."""
        from cpqctl.load.parts import plan

        self.recover()
        store = self.store()
        with store.lock():
            found = plan(self.root)
            if found is None or not self._checked_clean():
                yield None
                return
            yield Parts(self, found, store)

    @contextmanager
    def writing_account(
        self,
        account: str,
        tolerate: frozenset[str] = frozenset(),
        books: bool = False,
        payments: bool = False,
        staged_too: bool = False,
    ) -> Iterator[tuple[Store, Repo]]:
        """:meth:`writing` for a write that reads and writes one account's files (`amend`, `renew C`, `quote new`,
        `quote approve`, `quote redate`, accepting an amendment quote): only that account's files are loaded and
        checked, before and after (:func:`cpqctl.load.repo.load_account_parts`), so it costs the same on any size
        of repository.

        Every rule that reads what such a write writes reads the account, its contracts, quotes and invoices, the
        catalog and the settings, all loaded here; a new quote's number is taken from the names in ``quotes/``
        (:meth:`quote_ids`), and created, never overwritten. What it does not see is an error in another account's files: `cpqctl check` (CI) does.
        An account without a real folder takes the whole repository's :meth:`writing` (its error names it).

        ``books``: the write can change the journal (accepting an amendment changes the revenue schedule). Then,
        when months are closed (``periods/``), each commit is refused when it would change the account's share of
        a closed month's journal (:class:`cpqctl.app.closing.AccountBooks`: its transactions of the month, its
        contracts' share of the unbilled receivables' change), which is the whole month's only change. ``tolerate``,
        ``staged_too``: as for :meth:`writing` (`amend --rebase`). ``payments``:
        the account's payments are read too (`payment record`; a new payment's number is taken from the names in
        ``payments/``, :meth:`payment_ids`).
        """
        from cpqctl.load.repo import load_account_parts, load_parts
        from cpqctl.load.schema import ID_RE

        folder = self.root / "contracts" / account
        if not ID_RE.fullmatch(account) or folder.is_symlink() or not folder.is_dir():
            with self.writing(tolerate, staged_too) as got:
                yield got
            return

        books_of: list = []  # the account's share of the closed months, when some are

        def load(m):  # under the lock: a month closed meanwhile is seen
            from cpqctl.app.closing import AccountBooks, closed_months
            from cpqctl.load.parts import Whole

            loaded = load_account_parts(self.root, account, payments)
            months = closed_months(self.root) if books else []
            if months:
                try:
                    books_of.append(AccountBooks(self.root, months, loaded))
                except Whole:  # a correction of an invoice the account's files do not hold
                    return load_parts(self.root, meter=m)
            return loaded

        with self._writing(load, tolerate, staged_too) as (store, repo):
            if books_of and not repo.whole:
                store.validator = books_of[0].guard(store.validator)
            yield store, repo

    def per_account(self, groups: dict[str, set[str]], payments: bool = False) -> Callable[[dict], None]:
        """A store validator for one commit of new files of several accounts (`payment import`, `import contracts` on
        a big repository, the lock held): each account's files (``groups``: account → the paths written for it)
        checked with that account's files (:func:`cpqctl.load.repo.load_account_parts`, read one account at a time;
        a new account's folder has none), as a write about one account checks them, the closed months' share of
        them too (:class:`cpqctl.app.closing.AccountBooks`); ``""``: payments naming no account, with the others of
        their kind (:func:`cpqctl.load.repo.load_account_parts` of no account). An account whose closed months' share cannot be
        told from its files (a correction another account's files hold) is checked with the whole repository."""
        from cpqctl.app.closing import AccountBooks, closed_months
        from cpqctl.app.staged import refuse_invalid_writes
        from cpqctl.load.parts import Whole
        from cpqctl.load.repo import load_account_parts, load_parts

        def check(staged: dict[str, bytes | None]) -> None:
            from cpqctl.load.payment_index import payment_owners

            months = closed_months(self.root)
            owners = payment_owners(self.root) if payments else None  # listed once for every account
            for acct in sorted(groups):
                mine = {rel: data for rel, data in staged.items() if rel in groups[acct]}
                loaded = load_account_parts(self.root, acct, payments, owners)
                inner = refuse_invalid_writes(loaded)
                if months:
                    try:
                        inner = AccountBooks(self.root, months, loaded).guard(inner)
                    except Whole:
                        refuse_invalid_writes(load_parts(self.root))(staged)  # every file at once: no need to go on
                        return
                del loaded
                inner(mine)

        return check

    @contextmanager
    def writing_contract(
        self, contract: str, tolerate: frozenset[str] = frozenset(), staged_too: bool = False
    ) -> Iterator[tuple[Store, Repo]]:
        """:meth:`writing_account` for the account holding ``contract`` (found through
        :func:`cpqctl.load.invoice_index.account_of`); an unknown contract takes the whole repository's
        :meth:`writing`, so its error can suggest the closest ID."""
        from cpqctl.load.invoice_index import account_of
        from cpqctl.load.schema import ID_RE

        account = account_of(self.root, contract) if ID_RE.fullmatch(contract) else None
        if account is None:
            with self.writing(tolerate, staged_too) as got:
                yield got
        else:
            with self.writing_account(account, tolerate, staged_too=staged_too) as got:
                yield got

    @contextmanager
    def writing_quote(self, quote_id: str) -> Iterator[tuple[Store, Repo]]:
        """:meth:`writing_account` for the account a draft quote names (its top-level ``account:`` line, read
        without parsing the file); a quote that is not there, or whose account a plain match cannot tell, takes the
        whole repository's :meth:`writing`."""
        from cpqctl.load.payment_index import quote_account

        account = quote_account(self.root, quote_id)
        with self.writing() if account is None else self.writing_account(account) as got:
            yield got

    def quote_ids(self, repo: Repo) -> set[str]:
        """Every quote ID in use: those of ``repo`` and the names in ``quotes/`` (a write about one account loads
        only its own quotes; a new number must pass all of them)."""
        try:
            names = {e.name[: -len(".yaml")] for e in os.scandir(self.root / "quotes") if e.name.endswith(".yaml")}
        except OSError:
            names = set()
        return names | set(repo.quotes)

    def payment_ids(self, repo: Repo | None = None) -> set[str]:
        """Every payment ID in use: those of ``repo`` and the names in the month folders of ``payments/`` (a write
        about one account loads only its own payments; `payment import` in parts, none)."""
        names: set[str] = set()
        try:
            with os.scandir(self.root / "payments") as months:
                for month in months:
                    if month.is_dir(follow_symlinks=False):
                        with os.scandir(month.path) as entries:
                            names.update(e.name[: -len(".yaml")] for e in entries if e.name.endswith(".yaml"))
        except OSError:
            pass
        return names if repo is None else names | set(repo.payments)

    @contextmanager
    def _writing(self, load, tolerate: frozenset[str], staged_too: bool) -> Iterator[tuple[Store, Repo]]:
        from cpqctl.app.staged import refuse_invalid_writes

        store = self.store()
        with store.lock():
            with self.meter() as m:
                loaded = load(m)
            repo, diags = loaded.assemble()
            found = validate(repo, diags)
            require_clean([d for d in found if d.code not in tolerate])
            store.tolerated = [d for d in found if d.code in tolerate and d.severity == "error"]
            # every commit is checked on the state it would leave, before a byte is written (E-WRITE-INVALID)
            store.validator = refuse_invalid_writes(loaded, tolerate if staged_too else frozenset())
            yield store, repo

    # -- the use cases, for Python callers -------------------------------
    #
    # Each method is one call of a use case in cpqctl.app (the CLI calls the
    # same functions). Dates may be given as `date` or ISO text; quantities and
    # prices as Decimal, int or decimal text — never float (money is exact).
    # Every method returns the use case's result record; its ``data`` is the
    # JSON shape of the matching command's `--format json`.

    def quote(self, quote_id: str, *, as_of: date | str | None = None):
        """A quote priced (drafts from today's catalog, accepted ones frozen), with its status: `quote show`."""
        from cpqctl.app import quotes

        return quotes.show_quote(self, quote_id, as_of=_day(as_of))

    def new_quote(
        self,
        account: str,
        start: date | str,
        lines,
        *,
        term: int | None = None,
        end: date | str | None = None,
        billing: str | None = None,
        evergreen: bool = False,
        as_of: date | str | None = None,
        dry_run: bool = False,
    ):
        """A new-business draft quote, written to quotes/ unless ``dry_run``: `quote new`.

        ``lines``: text as on the command line (``"PRO-SEAT=50"``, ``"SSO=1@10%"``,
        ``"SSO=1@5.00"``) or ``(product, quantity[, discount %, discount per unit])`` tuples.
        """
        from cpqctl.app import quotes

        parsed = [ln if isinstance(ln, str) else _new_line(quotes.NewLine, ln) for ln in lines]
        return quotes.new_quote(
            self,
            account=account,
            start=_need_day(start, "start"),
            lines=parsed,
            term=term,
            end=_day(end),
            billing=billing,
            evergreen=evergreen,
            as_of=_day(as_of),
            dry_run=dry_run,
        )

    def approve_quote(self, quote_id: str, by: str, *, as_of: date | str | None = None):
        """Record a manager's approval of a quote that needs one: `quote approve`."""
        from cpqctl.app import quotes

        return quotes.approve_quote(self, quote_id, by=by, as_of=_day(as_of))

    def accept_quote(
        self,
        quote_id: str,
        signed_by: str | SignatureRecord,
        *,
        signed_on: date | str | None = None,
        lock_prices: bool = False,
        reprice: bool = False,
        as_of: date | str | None = None,
    ):
        """Accept a quote: freeze it and create, amend or renew the contract, all files or none: `quote accept`.

        ``reprice``: accept at today's prices even if they differ from those last presented (the document is
        rendered again).
        """
        from cpqctl.app import quotes

        return quotes.accept_quote(
            self,
            quote_id,
            signed_by=signed_by,
            signed_on=_day(signed_on),
            lock_prices=lock_prices,
            reprice=reprice,
            as_of=_day(as_of),
        )

    def render_quote(
        self, quote_id: str, fmt: str = "pdf", output: str | Path | None = None, *, as_of: date | str | None = None
    ):
        """Render a quote document (md or pdf; default out/<ID>.<ext>): `quote render`."""
        from cpqctl.app import quotes

        return quotes.render_quote(self, quote_id, fmt=fmt, output=Path(output) if output else None, as_of=_day(as_of))

    def amend(
        self,
        contract: str,
        *,
        effective: date | str | None = None,
        set: dict | None = None,
        add: dict | None = None,
        remove=(),
        reprice: dict | None = None,
        extend_to: date | str | None = None,
        cancel: bool = False,
        reason: str | None = None,
        as_of: date | str | None = None,
        dry_run: bool = False,
    ):
        """An amendment quote of co-terminated delta lines: `amend`.

        ``set={"PRO-SEAT": 60}`` new quantities, ``add={"SSO": 1}`` units added,
        ``remove=["SSO"]``, ``reprice={"PRO-SEAT": "1000.00"}`` new unit prices;
        or ``extend_to`` a new end, or ``cancel`` (with ``reason``).
        """
        from cpqctl.app import amend as amending
        from cpqctl.core.amendments import Change
        from cpqctl.core.model import Source

        changes = [
            Change(kind, code, _number(value), Source("(python)"))
            for kind, given in (("set", set), ("add", add), ("reprice", reprice))
            for code, value in (given or {}).items()
        ]
        changes += [Change("remove", code, None, Source("(python)")) for code in remove]
        return amending.amend(
            self,
            contract,
            effective=_day(effective),
            changes=changes,
            extend_to=_day(extend_to),
            cancel=cancel,
            reason=reason,
            as_of=_day(as_of),
            dry_run=dry_run,
        )

    def renew(
        self,
        contract: str,
        *,
        pricing: str | None = None,
        uplift=None,
        term: int | None = None,
        force: bool = False,
        as_of: date | str | None = None,
        dry_run: bool = False,
    ):
        """The renewal quote of one contract (created, regenerated or unchanged): `renew`."""
        from cpqctl.app import renew

        return renew.renew(
            self,
            contract,
            pricing=pricing,
            uplift=_number(uplift) if uplift is not None else None,
            term=term,
            force=force,
            as_of=_day(as_of),
            dry_run=dry_run,
        )

    def renumber(self, old: str, new: str, *, reason: str, as_of: date | str | None = None, dry_run: bool = False):
        """Change a quote or contract ID in every file that holds it, recorded with ``reason``: `renumber`."""
        from cpqctl.app import renumber

        return renumber.renumber(self, old, new, reason=reason, as_of=_day(as_of), dry_run=dry_run)

    def contract(self, contract_id: str, *, as_of: date | str | None = None):
        """One contract on a date: status, what it owns, MRR and ARR: `contract show`."""
        from cpqctl.app import accounts

        return accounts.contract_show(self, contract=contract_id, as_of=_day(as_of))

    def account(self, account_id: str, *, as_of: date | str | None = None):
        """What a customer owns on a date (fit for provisioning): `account show`."""
        from cpqctl.app import accounts

        return accounts.account_show(self, account=account_id, as_of=_day(as_of))

    def quotes(self, *, statuses=(), account: str | None = None, as_of: date | str | None = None):
        """Every quote by ID with its status on a date (only ``statuses``, ``account``'s when given): `quote list`."""
        from cpqctl.app import listing

        return listing.list_quotes(self, statuses=statuses, account=account, as_of=_day(as_of))

    def contracts(
        self,
        *,
        statuses=(),
        account: str | None = None,
        ending_within: int | None = None,
        as_of: date | str | None = None,
    ):
        """Every contract by ID with its status, term, MRR and ARR on a date: `contract list`."""
        from cpqctl.app import listing

        return listing.list_contracts(
            self, statuses=statuses, account=account, ending_within=ending_within, as_of=_day(as_of)
        )

    def accounts(self, *, as_of: date | str | None = None):
        """Every account by ID with its active contracts, MRR and ARR: `account list`."""
        from cpqctl.app import listing

        return listing.list_accounts(self, as_of=_day(as_of))

    def invoices(
        self,
        *,
        unsent: bool = False,
        account: str | None = None,
        contract: str | None = None,
        start: date | str | None = None,
        end: date | str | None = None,
        as_of: date | str | None = None,
    ):
        """Every issued invoice by number (``unsent``, an account's, a contract's, dated in a window): `invoice list`."""
        from cpqctl.app import listing

        return listing.list_invoices(
            self,
            unsent=unsent,
            account=account,
            contract=contract,
            start=_day(start),
            end=_day(end),
            as_of=_day(as_of),
        )

    def preview_invoices(
        self,
        contract: str,
        *,
        quote: str | None = None,
        through: date | str | None = None,
        as_of: date | str | None = None,
    ):
        """A contract's invoices to come (and what accepting an amendment quote changes): `invoice preview`."""
        from cpqctl.app import invoicing

        return invoicing.preview_invoices(self, contract, quote=quote, through=_day(through), as_of=_day(as_of))

    def run_invoices(
        self,
        *,
        through: date | str | None = None,
        as_of: date | str | None = None,
        dry_run: bool = False,
        allow_future: bool = False,
    ):
        """Issue every invoice due by ``through`` (default: the as-of day), numbered under the lock: `invoice run`.

        ``through`` more than 31 days after the as-of day is refused (E-THROUGH-FUTURE) unless ``allow_future``.
        """
        from cpqctl.app import invoicing

        return invoicing.run_invoices(
            self, through=_day(through), as_of=_day(as_of), dry_run=dry_run, allow_future=allow_future
        )

    def render_invoice(self, invoice: str, fmt: str = "pdf", output: str | Path | None = None):
        """Render an issued invoice (md, pdf, or a structured e-invoice such as ``ksef``; default out/<ID>.<ext>):
        `invoice render`. An invoice with a KSeF number renders as its KSeF visualisation (docs/einvoicing.md)."""
        from cpqctl.app import einvoicing

        return einvoicing.render_invoice(self, invoice, fmt, Path(output) if output else None)

    def submit_invoices(self, invoices=(), *, unsent: bool = False, as_of: date | str | None = None):
        """Submit invoices to KSeF and record their KSeF numbers (docs/einvoicing.md): `invoice submit`."""
        from cpqctl.app import einvoicing

        return einvoicing.submit_invoices(self, tuple(invoices), unsent=unsent, as_of=_day(as_of))

    def arr(self, *, by: str = "account", as_of: date | str | None = None):
        """ARR and MRR per account, product or family, totals per currency: `report arr`."""
        from cpqctl.app import reports

        return reports.arr(self, by=by, as_of=_day(as_of))

    def movements(self, start: date | str, end: date | str):
        """MRR movements (new, expansion, contraction, churn, reactivation) between two dates: `report movements`."""
        from cpqctl.app import reports

        return reports.movements(self, start=_need_day(start, "start"), end=_need_day(end, "end"))

    # -- order-to-cash (docs/receivables.md, docs/revenue.md, docs/dunning.md) --------------------------

    def record_payment(
        self,
        account: str,
        amount: Decimal | int | str,
        *,
        invoices=(),
        kind: str = "payment",
        reference: str = "",
        as_of: date | str | None = None,
        dry_run: bool = False,
    ):
        """A payment, refund or write-off dated ``as_of``, settling ``invoices`` ("NUMBER" or "NUMBER=AMOUNT"; none:
        the account's open invoices oldest due first): `payment record`."""
        from cpqctl.app import payments

        return payments.record_payment(
            self,
            account=account,
            amount=_number(amount),
            day=_day(as_of),
            invoices=tuple(invoices),
            kind=kind,
            reference=reference,
            dry_run=dry_run,
        )

    def import_statement(self, path: str | Path, *, dry_run: bool = False):
        """A CAMT.053 or MT940 bank statement recorded as payments matched to invoices: `payment import`."""
        from cpqctl.app import payments

        file = Path(path)
        return payments.import_statement(self, name=str(file), data=payments.read_statement(file), dry_run=dry_run)

    def ar(self, *, as_of: date | str | None = None, account: str | None = None):
        """The receivables aging, credit, balance and DSO per account and currency: `report ar` (rows, data)."""
        from cpqctl.app import payments

        return payments.ar_report(self, as_of=_day(as_of), account=account)

    def revenue(self, start: date | str, end: date | str, *, by: str = "month"):
        """Revenue recognised per month (ASC 606 / IFRS 15): `report revenue`."""
        from cpqctl.app import revenue

        return revenue.revenue_report(self, start=_need_day(start, "start"), end=_need_day(end, "end"), by=by)

    def deferred(self, start: date | str, end: date | str):
        """The deferred revenue roll-forward (opening + billed − recognised = closing): `report deferred`."""
        from cpqctl.app import revenue

        return revenue.deferred_report(self, start=_need_day(start, "start"), end=_need_day(end, "end"))

    def journal(self, *, fmt: str = "beancount", start: date | str | None = None, end: date | str | None = None):
        """The double-entry journal (beancount, hledger, ledger, csv or json text): `cpqctl journal`."""
        from cpqctl.app import journal

        return journal.journal(self, fmt=fmt, start=_day(start), end=_day(end))

    def close(self, month: str, *, by: str = "", dry_run: bool = False):
        """Close a month's books on ``as_of`` (periods/<YYYY-MM>.yaml): `cpqctl close`."""
        from cpqctl.app import closing

        return closing.close_period(self, month, by=by, dry_run=dry_run)

    def dunning(self, *, as_of: date | str | None = None, accounts=(), dry_run: bool = False):
        """The payment reminders due on ``as_of``, sent through [smtp] and recorded: `dunning run`."""
        from cpqctl.app import dunning

        return dunning.run_dunning(self, as_of=_day(as_of), accounts=tuple(accounts), dry_run=dry_run)


def _day(value: date | str | None) -> date | None:
    """A date given as a date or as ISO text (YYYY-MM-DD), within the years a data file may hold; None stays None."""
    from cpqctl.load.schema import FIRST_DAY, LAST_DAY

    if value is None:
        return None
    day: date | None = None
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and len(value) == 10 and value.isascii():
        try:
            day = date.fromisoformat(value)
        except ValueError:
            day = None
    if day is None:
        raise UsageError("E-USAGE", f"{value!r} is not a date", "pass a datetime.date or YYYY-MM-DD text")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise UsageError(
            "E-DATE-RANGE",
            f"{value!r} is not a date cpqctl works with: the years 1900 to 2999",
            "check the year (a typo?)",
        )
    return day


def _new_line(make, fields):
    """A quote line from a ``(product, quantity[, discount %, discount per unit])`` tuple, numbers exact."""
    product, *numbers = fields
    return make(product, *(None if v is None else _number(v) for v in numbers))


def _need_day(value: date | str, what: str) -> date:
    day = _day(value)
    if day is None:
        raise UsageError("E-USAGE", f"{what} is required", "pass a datetime.date or YYYY-MM-DD text")
    return day


def _number(value) -> Decimal:
    """An exact number from Decimal, int or decimal text; a float is refused (0.1 is not exact in binary)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except ArithmeticError:
            number = None
        if number is not None and number.is_finite() and value.strip().isascii():
            return number
    raise UsageError(
        "E-USAGE",
        f"{value!r} is not an exact number",
        'pass a Decimal, an int or decimal text such as "12.50" (never a float)',
    )
