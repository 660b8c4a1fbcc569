"""Invoicing: billing runs, previews, invoice documents and e-mail (`cpqctl invoice run | preview | render | send`).

The schedule and the diff against the invoice ledger are :mod:`cpqctl.core.billing`
(pure); the invoice file's text is :mod:`cpqctl.formats.invoice`, the message and
its SMTP delivery :mod:`cpqctl.formats.mail`, the JSON shapes
:mod:`cpqctl.views.invoices`. This module allocates numbers under the lock,
stages the files, and records a delivery only once the server accepted it.

Use cases that work through a list (sending, writing .eml files) tell
``notify`` each line worth saying as it happens (the CLI prints it on stderr),
so that what went out is said even when a later invoice stops the call.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from operator import itemgetter
from pathlib import Path

from cpqctl.app.accounts import find_account, find_contract
from cpqctl.app.spill import Spilled
from cpqctl.app.workspace import Workspace, lookup
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.numbering import file_stem
from cpqctl.core.terms import contract_terms
from cpqctl.views import invoices as views

Notify = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# --------------------------------------------------------------------------- run


@dataclass(frozen=True)
class RunResult:
    """The invoices a run issued (or, dry, would issue), in order (date, contract).

    A month can be 100,000 invoices: the JSON shape is made one invoice at a
    time by :meth:`invoices` (``head`` is everything before them); ``data``
    builds the whole document at once.
    """

    through: date
    dry_run: bool
    drafts: (
        tuple | Spilled
    ) = ()  # cpqctl.core.issuing.Issued (a big dry run's kept on disk, :class:`cpqctl.app.spill.Spilled`)
    numbers: tuple = ()  # the invoice numbers, None in a dry run
    written: tuple[str, ...] = ()
    message: str = ""
    items: tuple[dict, ...] | None = None  # a remembered dry run's invoices (JSON shapes), instead of drafts

    @property
    def count(self) -> int:
        return len(self.items) if self.items is not None else len(self.drafts)

    @property
    def head(self) -> dict:
        return views.run_head(self.through, self.dry_run, self.count)

    def invoices(self) -> Iterator[dict]:
        if self.items is not None:
            return iter(self.items)
        return views.run_items(self.numbers, self.drafts)

    @property
    def data(self) -> dict:
        return {**self.head, "invoices": list(self.invoices())}


FUTURE_DAYS = 31  # how far past the as-of day a run issues invoices without allow_future (a month's run ahead)


def _full_billing() -> bool:
    """``CPQ_BILLING=full``: compare every contract's whole schedule with its ledger (the reference path, slower)
    instead of billing each from what it has already invoiced; both issue the same invoices."""
    import os

    return os.environ.get("CPQ_BILLING", "").strip().lower() == "full"


def run_invoices(
    ws: Workspace,
    *,
    through: date | None = None,
    as_of: date | None = None,
    dry_run: bool = False,
    allow_future: bool = False,
    accounts: Sequence[str] = (),
    contracts: Sequence[str] = (),
) -> RunResult:
    """Issue every invoice dated by ``through`` (default: the as-of day) that the invoice ledger lacks.

    ``accounts`` / ``contracts`` limit the run to those accounts' contracts and those contracts (both given:
    either). Numbers still come from the one series: a limited run followed by a full one issues the same
    invoices as one full run, numbered in the order they were issued — so the other contracts' earlier-dated
    invoices may get higher numbers, which the run and `check` report (W-INVOICE-ORDER).

    The schedule of every contract minus what invoices/ already
    holds: running it twice issues nothing. Numbers are allocated under the
    lock, every file is created in one transaction (all or none).

    A run that writes refuses a ``through`` more than :data:`FUTURE_DAYS` days
    after the as-of day (a typo in the year would issue years of future-dated
    invoices) unless ``allow_future``; a dry run may look any distance ahead.
    """
    from cpqctl.core import corrections

    today = ws.day(as_of)
    day = through if through is not None else today
    if not dry_run and not allow_future and day > today + timedelta(days=FUTURE_DAYS):
        raise UsageError(
            "E-THROUGH-FUTURE",
            f"--through {day} is more than {FUTURE_DAYS} days after the as-of day {today}: "
            f"the run would issue invoices dated up to {day}",
            "check the date for a typo; preview with --dry-run, or issue future-dated invoices on purpose "
            "with --allow-future",
        )
    if dry_run:
        memo = _DryRunMemo(ws, day, today, accounts, contracts)
        remembered = memo.recall()
        if remembered is not None:
            return remembered
        from cpqctl.load.cache import taken

        with taken(ws.root, memo.stats, memo.started):  # the files' stats the memo's key was made of
            issued: tuple | Spilled | None = None
            limited = _limited_plan(ws, accounts, contracts)
            if limited is not False:
                found = _bill_in_parts(ws, day, today, memo.started, memo.stats, limited)
                issued = found[0] if found is not None else None
            if issued is None:
                loaded = ws.read()
                billed, quiet, _ = _bill(ws, loaded, day, accounts, contracts, memo.started)
                if quiet is not None:
                    quiet.save()
                issued = tuple(_issue(loaded, billed, today))
                del loaded
        result = RunResult(
            day,
            True,
            issued,
            (None,) * len(issued),
            message="" if issued else f"nothing to invoice through {day}",
        )
        memo.remember(result)
        return result
    import hashlib
    import time

    from cpqctl.app.numbers import Numbers

    started = time.time_ns()
    got = _write_in_parts(ws, day, today, started, accounts, contracts)
    if got is not None:
        return got
    with ws.writing() as (store, loaded):
        writer = Numbers.here(ws.root, loaded.settings)
        writer.may_issue_invoices()
        drafts, quiet, by_contract = _bill(ws, loaded, day, accounts, contracts, started)
        drafts = _issue(loaded, drafts, today)
        numbers = writer.invoices(drafts, loaded.invoices)
        drafts = corrections.numbered(drafts, numbers)
        written = tuple(f"invoices/{file_stem(n)}.yaml" for n in numbers)
        shas: dict[str, str] = {}  # what this run wrote, by path: its files' keys are made of it
        if drafts:
            with store.transaction() as tx:
                for rel, number, d in zip(written, numbers, drafts):
                    text, docs = _with_documents(ws.root, loaded, rel, number, d)
                    tx.create(rel, text)
                    shas[rel] = hashlib.sha256(text.encode("utf-8")).hexdigest()
                    for suffix, payload in docs:
                        tx.create_bytes(rel[: -len(".yaml")] + suffix, payload)
            state = getattr(store.validator, "state", None)
            if quiet is not None and state:
                _quiet_after(quiet, loaded, state[0].results, written, by_contract, day)
        if quiet is not None:
            try:
                _vouch_files(ws.root, quiet, loaded, shas, started)
            except OSError:  # the invoices are written: a memo that cannot be made is no error
                pass
    if quiet is not None:
        quiet.save()
    ledger = [(i.invoice, i.date) for i in loaded.invoices.values()]
    return _written(day, drafts, numbers, written, _order_warning(loaded.settings, ledger, numbers, drafts))


def _written(day: date, drafts, numbers, written, warning: str) -> RunResult:
    if not drafts:
        message = f"nothing to invoice through {day}"
    else:
        message = f"wrote {len(drafts)} invoice(s): {written[0]}" + (f" … {written[-1]}" if len(written) > 1 else "")
        message += warning
    return RunResult(day, False, tuple(drafts), tuple(numbers), written, message)


def _limited_plan(ws: Workspace, accounts: Sequence[str], contracts: Sequence[str]):
    """The plan in parts of a run limited to ``accounts`` and ``contracts`` (:func:`_scope`: either), every other
    contract left out unread; None for a run of every contract (the caller plans it); False when the repository is
    read whole: small enough, or a name that is not exactly an account folder or a contract file of it (the whole
    load finds the one meant, or refuses it with the closest name)."""
    from cpqctl.load.parts import plan

    if not (accounts or contracts):
        return None
    found = plan(ws.root)
    if found is None:
        return False
    files = found.contract_files()
    if any(a not in found.folders for a in accounts) or any(c not in files for c in contracts):
        return False
    wanted_accounts, wanted = set(accounts), set(contracts)
    found.drop(lambda cid, rel: not (cid in wanted or rel.split("/")[1] in wanted_accounts))
    return found


def _write_in_parts(
    ws: Workspace, day: date, today: date, started: int, accounts: Sequence[str] = (), contracts: Sequence[str] = ()
) -> RunResult | None:
    """A writing run on a big repository, one part at a time (:mod:`cpqctl.load.parts`; issue 21: the whole model
    of 50,000 accounts took 1 GB to bill and check); None when the repository is loaded whole (small enough, or one
    the parts cannot stand for), before a byte is written. A run limited to ``accounts`` and
    ``contracts`` reads only their parts (:func:`_limited_plan`; the gate below is the whole repository's, as the
    whole run's is).

    It does what :meth:`Workspace.writing` does, in this order, under the lock:

    1. the repository must be free of errors as `cpqctl check` finds them (:meth:`Workspace.findings`: remembered
       while nothing changes, as the monthly job's `check` left it; E-KSEF-XSD never refuses a write);
    2. every contract is billed part by part (:func:`_bill_in_parts`), the drafts in number order;
    3. numbers are taken from the names in ``invoices/`` (every invoice's file is named by its number);
    4. the accounts that get invoices are read again, part by part: each new invoice file is written out with its
       documents (those wait in a :class:`cpqctl.store.Spool`), and the part is checked before and after with the
       new files in place. Any error the new files bring is refused (E-WRITE-INVALID), as the whole staged check
       refuses it. A part does not hold the whole repository, so it may find errors in a valid one: an error found
       both before and after is the part's and not the write's. Rules over the whole invoice series need not run:
       the numbers continue the series, and each file is created, never overwritten;
    5. every file is written in one transaction (all or none), whose validator makes sure it writes exactly what
       the parts checked.

    With months closed (``periods/``), each part is also refused when its new files would change its share of a
    closed month's journal (:class:`cpqctl.app.closing.AccountBooks`: its accounts' transactions of the month and
    their contracts' share of the unbilled receivables' change), which is all a part's files can change of it."""
    import hashlib
    from collections import Counter

    from cpqctl.app.closing import AccountBooks, closed_months
    from cpqctl.app.numbers import Numbers
    from cpqctl.app.staged import refusal
    from cpqctl.app.workspace import require_clean, validate
    from cpqctl.core import corrections
    from cpqctl.load import remembered
    from cpqctl.load.cache import RACY_NS
    from cpqctl.load.ids import invoice_ids
    from cpqctl.load.parts import Whole, chunk_files, plan
    from cpqctl.store import Spool

    store = ws.store()
    settled = started - RACY_NS
    start, others = remembered.Tally(), list[str]()
    with store.lock():
        months = closed_months(ws.root)

        def planned():
            return _limited_plan(ws, accounts, contracts) if accounts or contracts else plan(ws.root)

        found = planned()
        if found is None or found is False:
            return None
        state = remembered.state_key(ws.root, start, others=others)
        if not remembered.clean_by_write(ws.root, state[0], settled):
            errors = remembered.recall_errors(ws.root, state[0])
            if errors is None:  # the errors only: 100,000 warnings held through the run took 100 MB at 50,000
                # the check makes its own plan of every file: this one (≈ 100 MB at 50,000) is made again after it
                del found
                errors = [d for d in ws.findings((*state, started)) if d.severity == "error"]
                found = planned()
                if found is None or found is False:
                    return None
            require_clean([d for d in errors if d.code != "E-KSEF-XSD"])
            del errors
        writer = Numbers.here(ws.root, found.settings)
        writer.may_issue_invoices()
        file_of = found.contract_files()
        billed = _bill_in_parts(ws, day, today, started, {}, found)
        if billed is None:
            return None
        spilled, quiet = billed
        settings = found.settings
        del found, billed  # the plan's maps of every file (≈ 100 MB at 50,000 accounts), held by the memo's keys too
        if quiet is not None:
            quiet.files = None  # what this run records is keyed by the files it leaves (_attach_files)
        try:
            drafts = list(spilled)
        finally:
            spilled.close()
        if not drafts:
            return _written(day, (), (), (), "")
        stems = invoice_ids(ws.root)
        numbers = writer.invoices(drafts, (), stems)
        drafts = corrections.numbered(drafts, numbers)
        written = tuple(f"invoices/{file_stem(n)}.yaml" for n in numbers)
        at: dict[str, list[int]] = {}  # contract → its drafts
        for i, d in enumerate(drafts):
            at.setdefault(d.contract, []).append(i)
        invoiced = {file_of[cid].split("/")[1] for cid in at}  # the accounts that get invoices
        again = plan(ws.root)
        if again is None:
            return None
        again.drop(lambda cid, rel: rel.split("/")[1] not in invoiced)
        every = sorted(
            f"{rel[: -len('.yaml')]}{suffix}" for rel in written for suffix in (".yaml", *dict(KEPT).values())
        )
        checked: dict[str, object] = {}
        shas: dict[str, str] = {}  # the SHA-256 of every file it writes, by path
        with Spool() as spool:
            try:
                for loaded in again.parts(size=chunk_files() // 2):  # each is checked twice
                    repo, diags = loaded.assemble()
                    mine = [i for cid in repo.contracts for i in at.get(cid, ())]
                    if not mine:
                        continue
                    before = Counter(d for d in validate(repo, diags) if d.severity == "error")
                    books = AccountBooks(ws.root, months, repo) if months else None
                    files: dict[str, bytes | None] = {}
                    for i in sorted(mine):
                        text, docs = _with_documents(ws.root, repo, written[i], numbers[i], drafts[i])
                        data = files[written[i]] = text.encode("utf-8")
                        shas[written[i]] = hashlib.sha256(data).hexdigest()
                        checked[written[i]] = data
                        for suffix, payload in docs:
                            doc = written[i][: -len(".yaml")] + suffix
                            checked[doc] = spool.add(payload)
                            shas[doc] = hashlib.sha256(payload).hexdigest()
                    ledgers = _invoices_by_contract(repo)  # before the write
                    after = loaded.staged(files)
                    del loaded, repo  # one part's model at a time: the state after holds the same records
                    repo_after, diags_after = after.assemble()
                    new = Counter(d for d in validate(repo_after, diags_after) if d.severity == "error") - before
                    if books is not None:
                        new.update(books.changes(repo_after))
                    if new:
                        raise refusal(sorted(new), every)
                    if quiet is not None:
                        _quiet_after(quiet, repo_after, after.results, list(files), ledgers, day)
                    del after, repo_after, files, ledgers
            except Whole:
                return None
            del again
            if any(rel not in checked for rel in written):  # a draft whose contract no part held: cannot be
                raise RuntimeError("an invoice run in parts left out an invoice it numbered")
            store.validator = _exactly(checked)
            with store.transaction() as tx:
                for rel in sorted(checked):
                    tx.create_bytes(rel, checked[rel])  # type: ignore[arg-type]
            store.validator = None
            del tx, checked  # what was written; from here on, only what the run says and remembers
        ledger = _series_dates(ws.root, settings.numbering_invoice, stems, numbers)
        del stems
        _keep_clean(ws.root, shas, start, others, settled)
        if quiet is not None:
            try:
                _attach_files(ws.root, quiet, file_of, shas, started)
            except OSError:  # the invoices are written: a memo that cannot be made is no error
                pass
            quiet.save()
    return _written(day, drafts, numbers, written, _order_warning(settings, ledger, numbers, drafts))


_DATE_LINE = re.compile(rb"^date:[ \t]*([0-9]{4}-[0-9]{2}-[0-9]{2})[ \t]*\r?$", re.MULTILINE)
_NUMBER_LINE = re.compile(rb"^invoice:[ \t]*([A-Za-z0-9][A-Za-z0-9._/-]*)[ \t]*\r?$", re.MULTILINE)


def _series_dates(root: Path, pattern: str, stems: Sequence[str], numbers: Sequence[str]) -> list[tuple[str, date]]:
    """For :func:`_order_warning`, without holding the ledger: per series of ``numbers``, the invoice on file that
    :func:`~cpqctl.core.checks.invoices_out_of_order` compares the new ones with, the latest dated (of those dated,
    the highest numbered), as (number, date). ``stems``: the names in ``invoices/``; each file's number and date are
    read from its ``invoice:`` and ``date:`` lines, else (a line a plain match cannot tell) from the file parsed. The
    new numbers continue each series, so every one on file comes before them: what they are compared with is that
    one invoice."""
    from cpqctl.core.numbering import parse_series
    from cpqctl.load.cache import load_files
    from cpqctl.load.invoice_index import head_matches

    keys = {sr.key for sr in (parse_series(pattern, n) for n in numbers) if sr is not None}
    if not keys:
        return []
    spelled = file_stem(pattern)
    latest: dict[tuple, tuple[date, int, str]] = {}

    def seen(number: str, day: date) -> None:
        sr = parse_series(pattern, number)
        if sr is None or sr.key not in keys or sr.year not in (None, day.year):
            return
        got = latest.get(sr.key)
        if got is None or (day, sr.seq) > got[:2]:
            latest[sr.key] = (day, sr.seq, number)

    unclear: list[tuple[str, str]] = []
    base = os.fspath(root)
    for stem in stems:
        sr = parse_series(spelled, stem)
        if sr is None or sr.key not in keys:
            continue
        rel = f"invoices/{stem}.yaml"
        got = head_matches(f"{base}/{rel}", _DATE_LINE)
        number = _NUMBER_LINE.findall(got[0]) if got is not None else []
        if got is None or len(got[1]) != 1 or len(number) != 1:
            unclear.append((rel, "invoice"))
            continue
        try:
            seen(number[0].decode("ascii"), date.fromisoformat(got[1][0].decode("ascii")))
        except ValueError:
            unclear.append((rel, "invoice"))
    for res in load_files(root, unclear, own=True).values():
        for inv in res.records:
            seen(inv.invoice, inv.date)
    return [(number, day) for day, _, number in latest.values()]


def _keep_clean(root: Path, written: dict[str, str], start, others: list[str], settled: int) -> None:
    """Remember that the state this run leaves is free of errors (:func:`cpqctl.load.remembered.keep_clean`), so
    that the next writing run needs not check the whole repository again: only when it is the state the run
    began from, which was checked clean, with the files this run wrote and checked added. Every other file is as it
    was before the run began (its ``ctime``, which no one can set back, before ``settled``; none added or taken
    away) and so is every folder and link."""
    from cpqctl.load import remembered

    after, others_after = remembered.Tally(settled, frozenset(written)), list[str]()
    key, _ = remembered.state_key(root, after, others=others_after)
    if not after.all_settled or after.files != start.files + len(written) or others_after != others:
        return
    remembered.keep_clean(root, key, written)


def _exactly(checked: dict[str, object]):
    """A store validator that lets a commit write exactly ``checked`` (path → the bytes, or spooled bytes, checked)."""

    def validator(files) -> None:
        if files.keys() != checked.keys() or any(
            files[rel] is not checked[rel] and files[rel] != checked[rel] for rel in files
        ):
            raise RuntimeError("an invoice run in parts may write only what its parts checked")

    return validator


def _bill(ws: Workspace, loaded, day: date, accounts: Sequence[str], contracts: Sequence[str], started: int):
    """The run's billing drafts (:func:`cpqctl.core.billing.run`), the memo of contracts with nothing due it used
    (None on the reference path) and each contract's invoices; ``started``: when the run began reading."""
    from cpqctl.core import billing

    by_contract = _invoices_by_contract(loaded)
    quiet = _quiet_memo(ws, loaded.settings, started, by_contract)
    with ws.meter() as meter:
        drafts = billing.run(
            loaded,
            day,
            _scope(loaded, accounts, contracts),
            billed=billing.Ledger(by_contract),
            meter=meter,
            full=_full_billing(),
            quiet=quiet,
        )
    return drafts, quiet, by_contract


def _bill_in_parts(ws: Workspace, day: date, today: date, started: int, stats: dict, found=None):
    """A whole run's drafts as issued, billed one part of the repository at a time (:mod:`cpqctl.load.parts`: whole
    account folders with their contracts' invoices), in number order, with the memo of contracts with nothing due
    (saved; None on the reference path); None when the repository is loaded whole (small enough, or one the parts
    cannot stand for: the whole load then refuses or bills it). ``found``: the :func:`~cpqctl.load.parts.plan`
    already made (its contracts left out as the memo says).

    A contract the memo of contracts with nothing due vouches for by its files' state is not read
    (:class:`cpqctl.load.quiet.Files`). ``stats``: the files' stats the dry run's key was made of (what those
    files are compared with); then dropped (a part's load stats its own files): at 50,000 accounts they are
    ≈ 100 MB, held until the last part would have taken its own."""
    from cpqctl.core import billing
    from cpqctl.load.parts import Whole, plan

    if found is None:
        found = plan(ws.root)  # (a write a crash interrupted was repaired by the dry run's memo, before its key)
    if found is None:
        return None
    quiet = _quiet_memo(ws, found.settings, started, {})
    if quiet is not None:
        from cpqctl.load.cache import RACY_NS, _stat
        from cpqctl.load.quiet import Files

        base = str(ws.root)
        settled = started - RACY_NS
        then = Files(
            ws.root, found.invoices, found.stray, lambda rel: stats.get(rel) or _stat(f"{base}/{rel}"), settled
        )
        found.drop(lambda cid, rel: quiet.skips_unloaded(cid, rel, day, then))
        quiet.files = Files(ws.root, found.invoices, found.stray, lambda rel: _stat(f"{base}/{rel}"), settled)
    stats.clear()
    out = Spilled(_order)
    try:
        for loaded in found.parts():
            repo, diags = loaded.assemble()
            del loaded
            if any(d.severity == "error" for d in diags):  # a product defined twice (the whole load refuses it)
                raise Whole(diags[0].file)
            by_contract = _invoices_by_contract(repo)
            if quiet is not None:
                quiet.invoices_of = by_contract
            drafts = billing.run(repo, day, billed=billing.Ledger(by_contract), full=_full_billing(), quiet=quiet)
            out.add(_issue(repo, drafts, today))
            del repo, by_contract, drafts
    except Whole:
        out.close()
        return None
    if quiet is not None:
        quiet.save()
    return out, quiet


def _order(i) -> tuple:
    """The order of a run's invoices (their numbers'): issue date, contract, billing date, kind."""
    return (i.date, i.contract, i.billing_date, i.kind)


def _invoices_by_contract(loaded) -> dict[str, list]:
    """Each contract's invoices (in the ledger's order is :func:`billing.ledger_index`'s business)."""
    out: dict[str, list] = {}
    for inv in loaded.invoices.values():
        got = out.get(inv.contract)
        if got is None:
            out[inv.contract] = [inv]
        else:
            got.append(inv)
    return out


def _quiet_memo(ws: Workspace, settings, started: int, by_contract):
    """The memo of contracts with nothing due (:mod:`cpqctl.load.quiet`); None on the reference path."""
    if _full_billing():
        return None
    from cpqctl.load.quiet import QuietMemo

    return QuietMemo(ws.root, settings, started, by_contract)


def _quiet_after(quiet, loaded, results, written: Sequence[str], by_contract, day: date) -> None:
    """Remember, for each contract this run invoiced, that its new ledger has nothing more due through ``day``:
    the invoices as the next load reads them (the written files as the staged check parsed them: ``results``),
    checked to owe nothing (a write that left something due is simply not remembered)."""
    from cpqctl.core import billing

    new: dict[str, list] = {}
    for rel in written:
        res = results.get(rel)
        if res is not None and len(res.records) == 1:
            new.setdefault(res.records[0].contract, []).append(res.records[0])
    for cid, issued in new.items():
        c = loaded.contracts.get(cid)
        if c is None:
            continue
        invoices = [*by_contract.get(cid, ()), *issued]
        if billing.due_lines(c, loaded.settings, day, billing.ledger_index(invoices).get(cid, [])):
            continue
        until = billing.quiet_until(c, loaded.settings, day)
        if until is not None:
            quiet.record(c, day, until, invoices)


def _vouch_files(root: Path, quiet, loaded, shas: dict[str, str], started: int) -> None:
    """Key the contracts a writing run found with nothing due by their files (:class:`cpqctl.load.quiet.Files`), so
    that the next run in parts needs not read them: the invoice files by their ``contract:`` lines
    (:func:`cpqctl.load.invoice_index.owners`, after the write), each loaded invoice's parsed contract checked to be
    the one its line names (else no such key is kept), the files this run wrote by the bytes it wrote."""
    from cpqctl.load.invoice_index import owners

    named = owners(root)
    for inv in loaded.invoices.values():
        owner = named.get(inv.src.file.rsplit("/", 1)[1])
        if owner is not None and owner != inv.contract:
            return
        corrected = loaded.invoices.get(inv.corrects) if inv.corrects else None
        if inv.corrects and (corrected is None or corrected.contract != inv.contract):
            return  # a contract left out unread would take with it a correction of another one's invoice
    _attach_files(root, quiet, {cid: c.src.file for cid, c in loaded.contracts.items()}, shas, started, named)


def _attach_files(root: Path, quiet, file_of: dict[str, str], shas: dict[str, str], started: int, named=None) -> None:
    """Key the contracts ``quiet`` vouched for by their files after the write (``file_of``: contract → its file;
    ``named``: the invoice index's owners, read when not given). A run in parts has checked, part by part, what
    :func:`_vouch_files` checks of a whole load."""
    from cpqctl.load.cache import RACY_NS, _stat
    from cpqctl.load.invoice_index import owners
    from cpqctl.load.parts import by_line
    from cpqctl.load.quiet import Files

    if named is None:
        named = owners(root)
    by_contract, stray = by_line([f"invoices/{name}" for name in named], named, file_of)
    base = str(root)
    files = Files(root, by_contract, stray, lambda rel: _stat(f"{base}/{rel}"), started - RACY_NS, shas)
    quiet.attach(files, file_of)


class _DryRunMemo:
    """A dry run remembered, like `check` (:mod:`cpqctl.load.remembered`): keyed on the state of every file the
    run reads and on its question (``--through``, the as-of day, the accounts and contracts, ``CPQ_BILLING``), so
    that asking again with nothing changed costs a walk of the repository's entries, not a load and a billing of
    every contract (issues 15 and 21: a month's preview asked again, a month with nothing new). A run that issues
    more than :data:`MAX_ITEMS` invoices is not kept (the answer would be as big as the ledger it saves reading).
    Writing runs always compute: they hold the lock, number and write."""

    NAME = ".cpq/cache/invoice-run.json"
    MAX_ITEMS = 20_000

    def __init__(self, ws: Workspace, day: date, today: date, accounts: Sequence[str], contracts: Sequence[str]):
        import time

        from cpqctl.load import remembered

        ws.recover()  # a write a crash interrupted is repaired (and the state then read) first
        self.ws = ws
        self.started = time.time_ns()
        self.stats: dict[str, tuple[int, int, int, int]] = {}
        state, self.newest = remembered.state_key(ws.root, self.stats)
        question = [day, today, sorted(accounts), sorted(contracts), _full_billing()]
        self.key = remembered.derived_key(state, "invoice run --dry-run", question)

    def recall(self) -> RunResult | None:
        from cpqctl.load import remembered

        got = remembered.recall_value(self.ws.root, self.NAME, self.key)
        if not isinstance(got, dict) or not isinstance(got.get("invoices"), list):
            return None
        head = got.get("head") or {}
        try:
            day = date.fromisoformat(head["through"])
        except (KeyError, TypeError, ValueError):
            return None
        items = tuple(got["invoices"])
        if head.get("count") != len(items):
            return None
        return RunResult(day, True, message=str(got.get("message", "")), items=items)

    def remember(self, result: RunResult) -> None:
        from cpqctl.load import remembered

        if result.count > self.MAX_ITEMS:
            return
        value = {"head": result.head, "invoices": list(result.invoices()), "message": result.message}
        remembered.remember_value(self.ws.root, self.NAME, self.key, value, self.newest, self.started)


KEPT = (("md", ".md"), ("pdf", ".pdf"))  # the documents kept beside an issued invoice file


def _with_documents(root: Path, loaded, rel: str, number: str, d) -> tuple[str, list[tuple[str, bytes]]]:
    """The invoice file's text recording its documents as issued, and those documents (docs/invoices.md).

    The invoice is written, read back (the file as any later command reads it), rendered from that record in
    Markdown and PDF, and the file is written again naming their sha256: `invoice render` and `invoice send`
    give those bytes from then on, whatever later happens to templates, catalog or cpq.toml."""
    import hashlib

    from cpqctl.app.documents import render_bytes
    from cpqctl.formats.invoice import invoice_text
    from cpqctl.load.repo import load_bytes
    from cpqctl.views import documents

    first = invoice_text(number, d)
    res = load_bytes(rel, "invoice", first.encode("utf-8"))
    if not res.records:  # cannot happen for a file cpqctl writes; the staged check reports it with positions
        return first, []
    inv = res.records[0]
    data = documents.invoice_data(loaded, inv)
    docs = [(suffix, render_bytes(root, "invoice", fmt, data, inv.date)) for fmt, suffix in KEPT]
    kept = {fmt: "sha256:" + hashlib.sha256(payload).hexdigest() for (fmt, _), (_, payload) in zip(KEPT, docs)}
    return invoice_text(number, d, kept), docs


def kept_document(root: Path, inv, fmt: str) -> bytes | None:
    """The document of ``inv`` as issued (None: the invoice keeps none, it renders from its file); refused when
    the kept file is missing or differs from the digest the invoice records (E-KEPT-DOCUMENT)."""
    import hashlib

    want = inv.kept.get(fmt)
    if not want:
        return None
    rel = inv.src.file[: -len(".yaml")] + "." + fmt
    try:
        payload = (root / rel).read_bytes()
    except OSError:
        payload = None
    if payload is None or "sha256:" + hashlib.sha256(payload).hexdigest() != want:
        raise CpqError(
            "E-KEPT-DOCUMENT",
            f"{rel} is {'missing' if payload is None else 'not the document issued'}: {inv.invoice} records "
            f"{want} for its {fmt.upper()}",
            "restore the file from git (`git checkout -- " + rel + "`); an issued invoice is never re-rendered "
            "differently — correct it with a corrective invoice",
            src=inv.at.get("document") or inv.src,
        )
    return payload


def _issue(loaded, drafts, today: date) -> list:
    """The run's billing drafts as issued on ``today`` (:mod:`cpqctl.core.issuing`), credits of invoiced periods
    split off as corrective invoices (:mod:`cpqctl.core.corrections`), in number order."""
    from cpqctl.core import corrections, issuing

    out = corrections.split_credits(loaded, issuing.issue_all(loaded, drafts, today, _rate_of(loaded.settings)), today)
    out.sort(key=_order)
    return out


def _rate_of(settings):
    """The exchange rate into PLN an invoice's VAT is shown at (docs/fx.md): the NBP table rate of the last working
    day before ``day`` from fx/<CUR>.yaml (refused when the tables have no rate for it), else cpq.toml's fixed
    [fx] rate (named so on the invoice), else none."""
    from cpqctl.core.issuing import Rate

    def rate_of(currency: str, day: date):
        if currency in settings.fx_tables:
            from cpqctl.core.fx import rate_for_tax_point

            r = rate_for_tax_point(settings, currency, day)
            return Rate(r.rate, r.table, r.day)
        fixed = settings.fx.get(currency)
        return Rate(fixed, "cpq.toml [fx]", None) if fixed is not None else None

    return rate_of


def _scope(loaded, accounts: Sequence[str], contracts: Sequence[str]):
    """The contracts a limited run bills (None: every one); an unknown account or contract is refused."""
    if not accounts and not contracts:
        return None
    wanted_accounts = {find_account(loaded, a).account for a in accounts}
    wanted = {find_contract(loaded, c).contract for c in contracts}
    return [c for c in loaded.contracts.values() if c.contract in wanted or c.account in wanted_accounts]


def _order_warning(settings, ledger: Sequence[tuple[str, date]], numbers: Sequence[str], drafts) -> str:
    """A note when new invoices are dated before an invoice with a lower number (W-INVOICE-ORDER); ``ledger``: (number,
    date) of the invoices on file, at least those in the new numbers' series."""
    from cpqctl.core.checks import invoices_out_of_order

    new = set(numbers)
    pairs = [
        p
        for p in invoices_out_of_order(
            settings.numbering_invoice, list(ledger) + [(n, d.date) for n, d in zip(numbers, drafts)]
        )
        if p[0] in new
    ]
    if not pairs:
        return ""
    number, day, before, before_day = pairs[0]
    return (
        f"\nwarning[W-INVOICE-ORDER]: {len(pairs)} new invoice(s) dated before an invoice with a lower number "
        f"({number} dated {day} follows {before} dated {before_day}: a backdated contract or catch-up; "
        "`cpqctl check` lists them)"
    )


# --------------------------------------------------------------------------- correct


def correct_invoice(
    ws: Workspace,
    invoice: str,
    *,
    reason: str,
    lines: dict[int, Decimal] | None = None,
    as_of: date | None = None,
    dry_run: bool = False,
) -> RunResult:
    """Issue a corrective invoice of ``invoice`` (core/corrections.py): each line in ``lines`` to that net amount,
    or every line to 0 (the invoice cancelled). Numbered in the corrections' series, dated the as-of day, its
    documents kept like an invoice's; the original is never touched."""
    from cpqctl.app.numbers import Numbers
    from cpqctl.core import corrections
    from cpqctl.load.ids import invoice_ids

    today = ws.day(as_of)
    # one account's files (flat with repository size, issue 21): the invoice's contracts and their invoices; its
    # number passes every invoice file's name. An invoice the plain match cannot place: the whole repository.
    scope = _invoice_account(ws.root, invoice)
    for account in (scope, None) if scope else (None,):
        with ws.writing_account(account, books=True, payments=True) if account else ws.writing() as (store, loaded):
            if not loaded.whole and invoice not in loaded.invoices:
                continue  # not this account's once the lock is held
            if dry_run:
                doc = corrections.correct(loaded, _invoice(loaded, invoice), today, lines, reason)
                return RunResult(today, True, (doc,), (None,), message=f"would correct {doc.corrects}")
            writer = Numbers.here(ws.root, loaded.settings)
            writer.may_issue_invoices()
            doc = corrections.correct(loaded, _invoice(loaded, invoice), today, lines, reason)
            (number,) = writer.invoices([doc], loaded.invoices, () if loaded.whole else invoice_ids(ws.root))
            rel = f"invoices/{file_stem(number)}.yaml"
            with store.transaction() as tx:
                text, docs = _with_documents(ws.root, loaded, rel, number, doc)
                tx.create(rel, text)
                for suffix, payload in docs:
                    tx.create_bytes(rel[: -len(".yaml")] + suffix, payload)
            return RunResult(today, False, (doc,), (number,), (rel,), f"wrote {rel}: corrects {doc.corrects}")
    raise AssertionError("the whole repository's pass returns or raises")


def _invoice_account(root: Path, number: str) -> str | None:
    """The account an invoice file's top-level ``account:`` line names, read without parsing it (None: no such
    file, or a plain match cannot tell)."""
    from cpqctl.load.payment_index import account_in
    from cpqctl.load.repo import regular_file
    from cpqctl.load.schema import ID_RE

    stem = file_stem(number)
    rel = f"invoices/{stem}.yaml"
    if not ID_RE.fullmatch(stem) or not regular_file(root, rel):
        return None
    return account_in(str(root / rel)) or None


# --------------------------------------------------------------------------- preview


@dataclass(frozen=True)
class PreviewResult:
    """A contract's next invoices (``quote`` None), or the invoice delta of accepting an amendment quote.

    ``data`` is the JSON shape (:func:`views.preview_json` or
    :func:`views.amendment_preview_json`); ``drafts`` the invoices previewed
    without a quote.
    """

    contract: str
    currency: str
    as_of: date
    quote: str | None
    data: dict
    drafts: tuple = ()
    message: str = ""


def _pending_quote(loaded, c, qid: str):
    q = lookup(loaded.quotes, qid, "quote", "E-UNKNOWN-QUOTE", "quotes are files under quotes/")
    if q.kind != "amendment" or q.contract != c.contract:
        raise CpqError(
            "E-NOT-AMENDMENT",
            f"quote {qid} is not an amendment quote of {c.contract}",
            f"create one with `cpqctl amend {c.contract} --effective DATE …`",
            src=q.src,
        )
    if q.status == "accepted":
        raise CpqError(
            "E-ACCEPTED",
            f"quote {qid} is already accepted: its invoices are in the schedule",
            f"preview without --quote: `cpqctl invoice preview {c.contract}`",
            src=q.src,
        )
    from cpqctl.core.quotes import check_current

    check_current(q, c)
    return q


def preview_invoices(
    ws: Workspace, contract: str, *, quote: str | None = None, through: date | None = None, as_of: date | None = None
) -> PreviewResult:
    """The same schedule as :func:`run_invoices` for one contract, on a copy of its ledger; writes nothing.

    With no invoices on file, every period invoiced by the as-of day counts as
    billed. ``through`` sets how far to look (default: the contract's end, or a
    year ahead for an evergreen contract). Loads this contract's files only.

    Not :meth:`Workspace.contract_context`: the loader's findings are not
    refused here. A preview writes nothing, and an unknown contract loads the
    whole repository for its did-you-mean, whose unrelated errors must not
    hide the suggestion.
    """
    from cpqctl.core import billing, quotes
    from cpqctl.load.repo import load_contract_context

    day = ws.day(as_of)
    ws.recover()  # an interrupted write is repaired before anything is read
    loaded, _ = load_contract_context(ws.root, contract, quote)  # this contract's files only
    c = lookup(
        loaded.contracts,
        contract,
        "contract",
        "E-UNKNOWN-CONTRACT",
        "`cpqctl account show ACCOUNT` lists its contracts",
    )
    settings = loaded.settings
    if quote is None:
        horizon = through or billing.horizon(c, day)
        lines = billing.due_lines(c, settings, horizon, _billed(loaded, c, day))
        drafts = billing.drafts(c, loaded.accounts.get(c.account), settings, lines)
        return PreviewResult(
            c.contract, c.currency, day, None, views.preview_json(c.contract, c.currency, day, drafts), tuple(drafts)
        )
    q = _pending_quote(loaded, c, quote)
    data = amendment_preview(loaded, c, q, quotes.price(loaded, q), day, through)
    return PreviewResult(c.contract, c.currency, day, q.quote, data)


def _billed(loaded, c, day: date):
    """The contract's invoice ledger; with no invoices on file, every period invoiced by ``day`` counts as billed."""
    from cpqctl.core import billing

    billed = billing.ledger_index(i for i in loaded.invoices.values() if i.contract == c.contract).get(c.contract)
    return billed or billing.assumed_billed(c, loaded.settings, day)


def amendment_preview(loaded, c, q, priced, day: date, through: date | None = None) -> dict:
    """What accepting amendment quote ``q`` (priced) changes: `invoice preview --quote`'s JSON. The portal shows
    the same for a draft not written yet (:func:`cpqctl.app.amend.change_draft`)."""
    from cpqctl.core import billing

    amended = billing.with_amendment(c, q, priced, day)
    pv = billing.preview_amendment(c, amended, loaded.settings, day, _billed(loaded, c, day), priced.net_total, through)
    return views.amendment_preview_json(c, q, amended, pv, day, contract_terms(c, loaded.settings).rounding)


# --------------------------------------------------------------------------- render


def incomplete_seller(settings) -> str | None:
    """A VAT invoice must name the seller's address and VAT ID: the warning while the repository lacks them."""
    missing = [k for k, v in (("address", settings.company_address), ("tax_id", settings.company_tax_id)) if not v]
    if missing:
        return (
            f"cpqctl: warning: cpq.toml [company] has no {' or '.join(missing)}: a VAT invoice must show "
            "the seller's address and VAT ID"
        )
    return None


def _invoice(loaded, number: str):
    """The invoice numbered ``number``, also found by its file name (``FV_2027_03_0001`` for ``FV/2027/03/0001``)."""
    if number not in loaded.invoices:
        by_stem = {file_stem(n): n for n in loaded.invoices}
        number = by_stem.get(file_stem(number), number)
    return lookup(
        loaded.invoices,
        number,
        "invoice",
        "E-UNKNOWN-INVOICE",
        "invoices are files under invoices/, issued by `cpqctl invoice run`",
    )


def _load_invoice(ws: Workspace, number: str, notify: Notify, warnings: list[str]):
    """One issued invoice with only the files it needs (its account's folder, the catalog)."""
    loaded = ws.invoice_context(number)
    inv = _invoice(loaded, number)
    warning = incomplete_seller(loaded.settings)
    if warning:
        warnings.append(warning)
        notify(warning)
    return loaded, inv


# --------------------------------------------------------------------------- send


def _message(root: Path, loaded, inv, to: list[str], day: date, strict: bool = True):
    """The e-mail for ``inv``: the body and the attached PDF (dated the invoice date, the same on any day)
    rendered from one set of template data; for an invoice with a KSeF number the PDF is its KSeF visualisation and
    the FA(3) file as submitted is attached too (docs/einvoicing.md)."""
    from cpqctl.app.documents import repo_templates
    from cpqctl.formats import mail
    from cpqctl.render.documents import render_pdf, render_text
    from cpqctl.views import documents

    data = documents.invoice_data(loaded, inv)
    templates = repo_templates(root)
    account = loaded.accounts.get(inv.account)
    names = {c.email: c.name for c in account.contacts} if account is not None else {}
    greeting = names.get(to[0], "") if len(to) == 1 else ""
    body = render_text("invoice-email", {**data, "greeting": greeting}, templates)
    from cpqctl.i18n import translator

    _ = translator(data["language"])
    kind = _("Corrective invoice" if inv.corrects else "VAT invoice")
    company = data["company"]["name"]
    subject = (
        _("%(document)s %(number)s from %(company)s", document=kind, number=inv.invoice, company=company)
        if company
        else f"{kind} {inv.invoice}"
    )
    from cpqctl.app.einvoicing import attach_structured

    kept = kept_document(root, inv, "pdf")  # checked intact even when the KSeF visualisation goes instead
    msg = mail.build(
        invoice=inv.invoice,
        to=to,
        from_=mail.sender(loaded.settings, strict),
        subject=subject,
        body=body,
        pdf=kept if kept is not None and inv.ksef is None else render_pdf("invoice", data, templates, inv.date),
        day=day,
    )
    attach_structured(root, loaded, inv, msg)  # in KSeF: the FA(3) file is the invoice, the PDF its visualisation
    return msg


def _recipients(loaded, inv, to: Sequence[str] | None) -> list[str]:
    from cpqctl.formats import mail

    if to:
        return mail.check_addresses(to)
    account = loaded.accounts.get(inv.account)
    found = mail.billing_recipients(account) if account is not None else []
    if not found:
        raise CpqError(
            "E-NO-RECIPIENT",
            f"account {inv.account} has no contact with an e-mail address",
            f"add `contacts: [{{name: …, email: …, role: billing}}]` to contracts/{inv.account}/"
            "account.yaml, or pass --to ADDRESS",
            src=account.src if account is not None else None,
        )
    return found


def _sent_append(store, inv, day: date, to: list[str], mid: str) -> tuple[str, str, str | None]:
    """(path, text to append, expected sha256) recording one delivery in the invoice file.

    The text is :func:`cpqctl.formats.invoice.sent_append_text` (refused when
    the file's `sent:` could not take it); the hash makes the append fail
    rather than land on a file changed since it was read.
    """
    from cpqctl.formats.invoice import sent_append_text
    from cpqctl.store import sha256_file

    rel = inv.src.file
    path = store.path(rel)
    add = sent_append_text(path.read_text(encoding="utf-8"), inv, day, to, mid)
    return rel, add, sha256_file(path)


def _unsent(loaded, day: date, first: date | None) -> list:
    """Issued invoices without a delivery, dated by ``day`` (and from ``first``), oldest first."""
    return sorted(
        (i for i in loaded.invoices.values() if not i.sent and i.date <= day and (first is None or i.date >= first)),
        key=lambda i: (i.date, i.invoice),
    )


def check_selection(invoices: Sequence[str], unsent: bool, since: date | None) -> None:
    """Which invoices to send: named ones, or ``unsent`` (optionally ``since`` a day); a usage error otherwise."""
    if unsent == bool(invoices):
        raise UsageError(
            "E-USAGE",
            "name the invoices to send, or pass --unsent (not both)",
            "e.g. `cpqctl invoice send INV-2026-0001` or `cpqctl invoice send --unsent`",
        )
    if since is not None and not unsent:
        raise UsageError(
            "E-USAGE", "--since goes with --unsent", "e.g. `cpqctl invoice send --unsent --since 2026-01-01`"
        )


@dataclass(frozen=True)
class SendResult:
    """What went out: one delivery per invoice the server accepted (``deliveries``, the JSON items).

    Invoices not delivered to every recipient are in ``problems`` and
    ``error`` (the refusal to raise once what went out is shown); the
    deliveries that worked are recorded all the same.
    """

    as_of: date
    deliveries: tuple[dict, ...] = ()
    problems: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    message: str = ""
    error: CpqError | None = field(default=None, compare=False)

    @property
    def data(self) -> dict:
        return views.send_json(self.as_of, self.deliveries)


def send_invoices(
    ws: Workspace,
    invoices: Sequence[str] = (),
    *,
    unsent: bool = False,
    since: date | None = None,
    to: Sequence[str] | None = None,
    as_of: date | None = None,
    notify: Notify | None = None,
    without_ksef: bool = False,
) -> SendResult:
    """E-mail invoices (PDF attached) through cpq.toml [smtp] to ``to`` or the account's billing contacts.

    ``invoices`` by number, or ``unsent``: every issued invoice dated by the
    as-of day (and from ``since``) with no delivery recorded. Everything that
    can be refused is checked before the first message goes out (SMTP
    settings, recipients, every file able to take its record). A delivery is
    appended to the invoice file's `sent:` list once the server accepted it,
    one transaction per invoice; recipients the server refuses are reported
    in the result while those who got it are recorded, and the call goes on
    with the other invoices. A broken session stops the call (what went out
    is recorded).

    An invoice that must go through KSeF first and has no KSeF number is refused (E-KSEF-NOT-SUBMITTED,
    :func:`cpqctl.app.einvoicing.refuse_unsubmitted`) unless ``without_ksef``.
    """
    from cpqctl.app.einvoicing import refuse_unsubmitted
    from cpqctl.formats import mail

    say = notify or _quiet
    day = ws.day(as_of)
    check_selection(invoices, unsent, since)
    deliveries: list[dict] = []
    problems: list[str] = []
    written: list[str] = []
    # invoices of one account named by number: that account's files (flat with repository size, issue 21); an
    # invoice the account's files do not hold once the lock is held, several accounts, or --unsent: the whole
    owners = {_invoice_account(ws.root, n) for n in invoices} if invoices and not unsent else {None}
    scope = next(iter(owners)) if len(owners) == 1 else None
    plan: list | bool = []
    in_parts = _send_unsent_in_parts(ws, day, since, to, without_ksef, problems, say) if unsent else None
    if in_parts is not None:
        deliveries, written, plan = in_parts
    tries = () if in_parts is not None else (scope, None) if scope else (None,)
    for account in tries:
        with ws.writing_account(account) if account else ws.writing() as (store, loaded):
            if not loaded.whole and any(n not in loaded.invoices for n in invoices):
                continue
            batch = _unsent(loaded, day, since) if unsent else [_invoice(loaded, n) for n in invoices]
            if not without_ksef:
                refuse_unsubmitted(loaded, batch)
            cfg = mail.smtp_config(loaded.settings) if batch else None  # configuration errors first
            plan = [(inv, _recipients(loaded, inv, to)) for inv in batch]  # every recipient found before sending
            for inv, rcpt in plan:
                _sent_append(store, inv, day, rcpt, "<check>")  # and every file able to take its record
            if cfg is not None and plan:
                with mail.Connection(cfg) as conn:
                    for inv, rcpt in plan:  # one message (and PDF) at a time
                        sent = _send_one(conn, store, ws.root, loaded, inv, rcpt, day, problems, say)
                        if sent is not None:
                            deliveries.append(sent)
                            written.append(inv.src.file)
            break
    error = None
    if problems:
        error = CpqError(
            "E-SMTP-REFUSED",
            f"{len(problems)} invoice(s) not delivered to every recipient:\n  " + "\n  ".join(problems),
            "fix the addresses (--to, or the account's billing contacts) "
            "and send those invoices again; the deliveries that worked are recorded",
        )
    return SendResult(
        day,
        tuple(deliveries),
        tuple(problems),
        tuple(written),
        "" if plan else f"no unsent invoices dated on or before {day}",
        error,
    )


def _send_unsent_in_parts(
    ws: Workspace, day: date, since: date | None, to, without_ksef: bool, problems: list[str], say: Notify
) -> tuple[list[dict], list[str], bool] | None:
    """`invoice send --unsent` on a big repository, planned one part at a time (:meth:`Workspace.clean_parts`:
    whole account folders with their contracts' invoices, after `check` found the repository free of errors; issue
    21: the whole model of 50,000 accounts took 1.2 GB): (the deliveries, the files recorded, whether any invoice
    was due), or None when the whole repository is read instead (small, an error, or records crossing the parts).

    Everything the whole run refuses before the first message goes out is found over every part first and refused
    in the same order (an invoice not in KSeF yet, the [smtp] settings, an invoice with no recipient, a file that
    cannot take its record: the first of each, in the run's order); each part's e-mails are made while it is read
    and wait on disk (:class:`cpqctl.app.spill.Spilled`), then go out in the run's order (date, number). Each record
    is checked on its own invoice file (read back, its deliveries only added), as for the reminders in parts."""
    from cpqctl.app.dunning import _own_files
    from cpqctl.app.einvoicing import refuse_missing, unsubmitted
    from cpqctl.app.spill import Spilled
    from cpqctl.formats import mail
    from cpqctl.load.cache import load_files

    with ws.clean_parts() as parts:
        if parts is None:
            return None
        settings = parts.settings
        store = parts.held
        spill = Spilled(itemgetter(0))  # by (date, number)
        missing: list = []  # invoices not in KSeF yet
        refused: list[tuple[tuple, int, CpqError]] = []  # ((date, number), 0/1/2: no recipient/record/message, error)
        due = [0]

        def one(repo) -> None:
            batch = _unsent(repo, day, since)
            due[0] += len(batch)
            if not without_ksef:
                missing.extend(unsubmitted(repo, batch))
            made = []
            for inv in batch:
                try:
                    rcpt = _recipients(repo, inv, to)
                except CpqError as e:
                    refused.append(((inv.date, inv.invoice), 0, e))
                    continue
                try:
                    _sent_append(store, inv, day, rcpt, "<check>")
                except CpqError as e:
                    refused.append(((inv.date, inv.invoice), 1, e))
                    continue
                if missing or refused:  # the run is refused anyway: no e-mail made
                    continue
                try:  # (a refusal here, e.g. of the sender, is the whole run's at its first message: after the rest)
                    made.append(((inv.date, inv.invoice), inv.src.file, rcpt, _message(ws.root, repo, inv, rcpt, day)))
                except CpqError as e:
                    refused.append(((inv.date, inv.invoice), 2, e))
            spill.add(made)

        try:
            if parts.read(_SEND_KINDS, one) is None:
                return None
            refuse_missing(settings, sorted(missing, key=lambda i: (i.date, i.invoice)))
            cfg = mail.smtp_config(settings) if due[0] else None  # configuration errors first
            for kind in (0, 1, 2):  # no recipient, no record, no message: each the first in the run's order
                first = min((r for r in refused if r[1] == kind), key=lambda r: r[0], default=None)
                if first is not None:
                    raise first[2]
            deliveries: list[dict] = []
            written: list[str] = []
            if cfg is not None and spill:
                with mail.Connection(cfg) as conn:
                    for _, rel, rcpt, msg in spill:  # one message (and PDF) at a time
                        inv = load_files(ws.root, [(rel, "invoice")])[rel].records[0]  # (its record: no pickle)
                        store.validator = _own_files(ws.root, settings, [rel])
                        sent = _send_one(conn, store, ws.root, None, inv, rcpt, day, problems, say, msg)
                        if sent is not None:
                            deliveries.append(sent)
                            written.append(inv.src.file)
            return deliveries, written, bool(due[0])
        finally:
            spill.close()


def _emls_in_parts(
    ws: Workspace, day: date, since: date | None, to, target: Path, without_ksef: bool, say: Notify
) -> EmlResult | None:
    """`invoice send --unsent --eml` on a big repository free of errors, read one part at a time
    (:meth:`Workspace.clean_parts`; issue 21: the whole model of 50,000 accounts with a year of invoices took 1.2 GB):
    the same notes, files and refusal as the whole run, or None when the whole repository is read instead. Each part's messages are made while
    it is read and wait on disk (:class:`cpqctl.app.spill.Spilled`); then, as the whole run does, the notes of the
    invoices not in KSeF yet are said, and the files written in (date, number) order up to the first invoice whose
    message cannot be made, whose refusal is raised."""
    from cpqctl.app.einvoicing import unsubmitted_note
    from cpqctl.formats import mail
    from cpqctl.store import atomic_write_bytes

    to_stdout = str(target) == "-"
    spill = Spilled(itemgetter(0))  # (date, number), number, recipients, the message's bytes, its From
    notes: list[tuple[tuple, str]] = []
    refused: list[tuple[tuple, CpqError]] = []

    def one(repo) -> None:
        made = []
        for inv in _unsent(repo, day, since):
            key = (inv.date, inv.invoice)
            note = "" if without_ksef else unsubmitted_note(repo, inv)
            if note:
                notes.append((key, note))
            if to_stdout:
                continue  # refused below, after the notes: no message made
            try:
                rcpt = _recipients(repo, inv, to)
                msg = _message(ws.root, repo, inv, rcpt, day, strict=False)
            except CpqError as e:
                refused.append((key, e))
                continue
            made.append((key, inv.invoice, rcpt, mail.as_bytes(msg), str(msg["From"])))
        spill.add(made)

    try:
        # after `check` found the repository free of errors (remembered, else in parts): the whole run's read of
        # every file refuses one with a loader error, which these kinds alone would not see
        with ws.clean_parts() as parts:
            if parts is None or parts.read(_SEND_KINDS, one) is None:
                return None
        warnings: list[str] = []
        for _, note in sorted(notes, key=itemgetter(0)):
            warnings.append(note)
            say(note)
        if to_stdout:  # --unsent is several messages, none or not
            raise UsageError("E-USAGE", "several messages cannot go to stdout", "pass a folder: --eml out/mail")
        first = min(refused, key=itemgetter(0), default=None)
        paths: list[Path] = []
        for key, number, rcpt, data, sender in spill:
            if first is not None and first[0] < key:
                break
            if mail.PLACEHOLDER in sender:
                note = f"note: cpq.toml has no [smtp] from; the message is from {sender} (set [smtp] from)"
                warnings.append(note)
                say(note)
            path = target / f"{file_stem(number)}.eml"
            path = path if path.is_absolute() else Path.cwd() / path
            atomic_write_bytes(path, data)
            paths.append(path)
            say(f"wrote {path} (to {', '.join(rcpt)}; not recorded as sent)")
        if first is not None:
            raise first[1]
        return EmlResult(
            tuple(paths), None, tuple(warnings), "" if paths else f"no unsent invoices dated on or before {day}"
        )
    finally:
        spill.close()


_SEND_KINDS = frozenset({"account", "contract", "invoice", "catalog"})


def _send_one(
    conn, store, root: Path, loaded, inv, rcpt: list[str], day: date, problems: list[str], say: Notify, msg=None
) -> dict | None:
    """Send one invoice and record who got it; a refusal of its recipients is noted and the run goes on. ``msg``:
    its e-mail made already (else made here from ``loaded``)."""
    from email.utils import getaddresses

    if msg is None:
        msg = _message(root, loaded, inv, rcpt, day)
    mid = str(msg["Message-ID"])
    try:
        refused = conn.send(msg)
    except CpqError as e:
        if e.code != "E-SMTP-REFUSED":
            raise  # the session is broken: stop here (what went out is recorded)
        problems.append(f"{inv.invoice}: {e.message}")
        say(f"cpqctl: {inv.invoice} not sent: {e.message}")
        return None
    got = [r for r in rcpt if getaddresses([r])[0][1] not in refused]
    for addr, why in sorted(refused.items()):
        problems.append(f"{inv.invoice}: {addr} refused ({why})")
    rel, text, sha = _sent_append(store, inv, day, got, mid)
    try:
        with store.transaction() as tx:  # recorded one by one: a later failure keeps earlier records
            tx.append(rel, text, expect_sha256=sha)
    except Exception as exc:  # delivered but not recorded: say exactly what to add, never lose it silently
        raise CpqError(
            "E-SENT-NOT-RECORDED",
            f"{inv.invoice} was delivered to {', '.join(got)} (Message-ID "
            f"{mid}) but recording it in {rel} failed: {exc}",
            f"append these lines to {rel} by hand, or `--unsent` sends it again:\n{text}",
        ) from None
    say(f"sent {inv.invoice} to {', '.join(got)}")
    return views.delivery_json(inv.invoice, got, mid, day)


# --------------------------------------------------------------------------- .eml files


@dataclass(frozen=True)
class EmlResult:
    """The messages written (nothing is recorded as sent: nothing was delivered).

    ``paths`` are the files written; with ``target`` ``-`` the one message is
    ``payload`` instead, for the caller to write to stdout.
    """

    paths: tuple[Path, ...] = ()
    payload: bytes | None = None
    warnings: tuple[str, ...] = ()
    message: str = ""


def write_emls(
    ws: Workspace,
    invoices: Sequence[str] = (),
    *,
    target: Path,
    unsent: bool = False,
    since: date | None = None,
    to: Sequence[str] | None = None,
    as_of: date | None = None,
    notify: Notify | None = None,
    without_ksef: bool = False,
) -> EmlResult:
    """Write each invoice's e-mail as an .eml file instead of sending it: ``target`` is the file, a folder for
    several invoices (``<ID>.eml`` in it), or ``-`` for the one message's bytes in the result.

    Without cpq.toml [smtp] from, the message is from a placeholder address
    (a new repository can write its first message before it has a mail server). An invoice that must go through
    KSeF first and has no KSeF number is written all the same — nothing is delivered — with a note saying so
    (:func:`cpqctl.app.einvoicing.unsubmitted_note`; none with ``without_ksef``).
    """
    from cpqctl.app.einvoicing import unsubmitted_note
    from cpqctl.formats import mail
    from cpqctl.store import atomic_write_bytes

    say = notify or _quiet
    day = ws.day(as_of)
    check_selection(invoices, unsent, since)
    warnings: list[str] = []
    if unsent:
        in_parts = _emls_in_parts(ws, day, since, to, target, without_ksef, say)
        if in_parts is not None:
            return in_parts
        loaded = ws.read()
        batch = [(loaded, i) for i in _unsent(loaded, day, since)]
    else:
        batch = [_load_invoice(ws, n, say, warnings) for n in invoices]
    if not without_ksef:
        for loaded, inv in batch:
            note = unsubmitted_note(loaded, inv)
            if note:
                warnings.append(note)
                say(note)
    several = unsent or len(batch) > 1
    to_stdout = str(target) == "-"
    if several and to_stdout:
        raise UsageError("E-USAGE", "several messages cannot go to stdout", "pass a folder: --eml out/mail")
    paths: list[Path] = []
    payload = None
    for loaded, inv in batch:
        rcpt = _recipients(loaded, inv, to)
        msg = _message(ws.root, loaded, inv, rcpt, day, strict=False)
        if mail.PLACEHOLDER in str(msg["From"]):
            note = f"note: cpq.toml has no [smtp] from; the message is from {msg['From']} (set [smtp] from)"
            warnings.append(note)
            say(note)
        if to_stdout:
            payload = mail.as_bytes(msg)
            continue
        path = (target / f"{file_stem(inv.invoice)}.eml") if several else target
        path = path if path.is_absolute() else Path.cwd() / path
        atomic_write_bytes(path, mail.as_bytes(msg))
        paths.append(path)
        say(f"wrote {path} (to {', '.join(rcpt)}; not recorded as sent)")
    return EmlResult(
        tuple(paths), payload, tuple(warnings), "" if batch else f"no unsent invoices dated on or before {day}"
    )
