"""Period close: `cpqctl close 2027-03` and the `check` rule that keeps a closed month closed (docs/revenue.md).

Closing a month writes ``periods/<YYYY-MM>.yaml`` with the digest of the month's journal — every transaction
`cpqctl journal` dates in it, computed from the invoices and payments dated by the month's end — and a short
digest of each transaction. ``check`` computes it again: a change to any file that would alter a closed month
(a back-dated payment, an edited allocation, a catalog change that moves its revenue) is an error naming the
transactions that differ; the fix is an adjustment in the open period.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from cpqctl.app.workspace import Workspace
from cpqctl.core import revrec
from cpqctl.core.diagnostics import CpqError, Diagnostic, UsageError
from cpqctl.core.model import Repo

_MONTH_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def _month(text: str) -> date:
    m = _MONTH_RE.fullmatch(text)
    if m is None:
        raise UsageError("E-USAGE", f"`{text}` is not a month", "write it YYYY-MM, e.g. cpqctl close 2027-03")
    return date(int(m.group(1)), int(m.group(2)), 1)


def month_entries(repo: Repo, first: date) -> list[str]:
    """Each transaction of the month as ``<sha256 of it, 16 hex> <date> <narration>``, in journal order."""
    return [line for _, line in month_records(repo, first)]


def month_records(
    repo: Repo, first: date, unbilled_of: dict[str, list[tuple[date, Decimal]]] | None = None, loose: bool = True
) -> list[tuple[tuple, str]]:
    """(sort key, line of :func:`month_entries`) of each transaction of the month, in journal order; the key is the
    journal's with the currency last, its date ISO (JSON as it is, for :class:`cpqctl.app.check_parts.PartEntry`).

    For one part of a big repository (:mod:`cpqctl.app.check_parts`), ``unbilled_of`` as for
    :func:`cpqctl.app.journal.entries`: the unbilled receivables, netted over every contract, are left out and
    their balances kept, for :func:`unbilled_records` over every part; ``loose`` False leaves out the payments
    naming no account (a part of :meth:`cpqctl.load.parts.Plan.reading` that is not the first holds them too)."""
    from cpqctl.app.journal import entries

    end = revrec.month_end(first)
    view = replace(
        repo,
        invoices={n: i for n, i in repo.invoices.items() if i.date <= end},
        payments={n: p for n, p in repo.payments.items() if p.date <= end},
    )
    return [
        ((key[0].isoformat(), *key[1:], cur), _line(make()))
        for key, cur, make in entries(view, end, loose=loose, unbilled_of=unbilled_of)
        if key[0] >= first
    ]


def unbilled_records(
    repo: Repo, first: date, balances: list[dict[str, list[tuple[date, Decimal]]]]
) -> list[tuple[tuple, str]]:
    """:func:`month_records` of the unbilled receivables, from each part's balances (``unbilled_of``) added up."""
    from cpqctl.app.journal import _added, _unbilled, names

    end = revrec.month_end(first)
    acc = names(repo)
    out = []
    for cur in sorted({cur for b in balances for cur in b}):
        for key, _, make in _unbilled(acc, cur, _added([b[cur] for b in balances if b.get(cur)]), end):
            if key[0] >= first:
                out.append(((key[0].isoformat(), *key[1:], cur), _line(make())))
    return out


def _line(t) -> str:
    from cpqctl.formats.journal import json_text

    digest = hashlib.sha256(json_text([t]).encode("utf-8")).hexdigest()[:16]
    return f"{digest} {t.date.isoformat()} {t.narration} ({t.payee})"


def journal_digest(entries: list[str]) -> str:
    return "sha256:" + hashlib.sha256("\n".join(entries).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Closed:
    period: str
    file: str
    entries: int
    data: dict
    message: str


def close_period(ws: Workspace, month: str, *, by: str = "", dry_run: bool = False) -> Closed:
    """Close ``month`` (YYYY-MM) on ``ws.as_of``: refused before the month has ended and for a month already
    closed (months need not be closed in order)."""
    first = _month(month)
    day = ws.as_of
    if day <= revrec.month_end(first):
        raise UsageError(
            "E-CLOSE",
            f"{month} has not ended on {day}: a month is closed after its last day",
            f"close it from {date.fromordinal(revrec.month_end(first).toordinal() + 1)} on (--as-of)",
        )
    rel = f"periods/{month}.yaml"
    with ws.clean_parts() as parts:  # a big repository free of errors: the month's journal one part at a time
        if parts is not None:
            if month in closed_months(ws.root):  # (checked clean: a period file is named by its month)
                raise _closed_already(month, rel)
            entries = _entries_in_parts(parts, first)
            if entries is not None:
                store = parts.held
                store.validator = _reads_back(rel, month, entries)  # the one file this write makes
                return _close(store, month, day, by, entries, dry_run)
    with ws.writing() as (store, repo):
        if month in repo.periods:
            raise _closed_already(month, rel)
        return _close(store, month, day, by, month_entries(repo, first), dry_run)


def _closed_already(month: str, rel: str) -> CpqError:
    return CpqError(
        "E-CLOSE", f"{month} is closed already ({rel})", "a closed month is not closed again; adjust in an open one"
    )


def _entries_in_parts(parts, first: date) -> list[str] | None:
    """:func:`month_entries` of a big repository, one part at a time (:class:`cpqctl.app.check_parts.Closed`, as
    `check` computes a closed month); None when the parts cannot stand for the whole journal."""
    from cpqctl.app.check_parts import Closed
    from cpqctl.app.journal import KINDS

    month = first.isoformat()[:7]
    closed = Closed([month])
    seen: list[Repo] = []

    def one(repo: Repo) -> None:
        closed.add(closed.of(repo, loose=not seen))  # the payments naming no account: the first part's
        if not seen:
            seen.append(Repo(repo.settings, repo.catalog))

    try:
        if parts.read(KINDS, one) is None:
            return None
        if not seen:
            return None
        return closed.lines(seen[0], first)
    finally:
        closed.close()


def _reads_back(rel: str, month: str, entries: list[str]) -> Callable[[dict[str, bytes | None]], None]:
    """The store validator of a close planned in parts: the commit writes ``rel`` alone, and it reads back (the
    loader, no finding) as the month closed with ``entries`` and their digest — what `check` then compares with
    the journal computed in parts, as this close did (:class:`cpqctl.app.check_parts.Closed`)."""
    from cpqctl.app.staged import refusal
    from cpqctl.load.repo import load_bytes

    def check(files: dict[str, bytes | None]) -> None:
        data = files.get(rel)
        res = load_bytes(rel, "period", data) if data is not None and set(files) == {rel} else None
        p = res.records[0] if res is not None and len(res.records) == 1 else None
        if res is not None and not res.diagnostics and p is not None:
            if (p.period, p.journal, list(p.entries)) == (month, journal_digest(entries), entries):
                return
        found = list(res.diagnostics) if res is not None and res.diagnostics else []
        found = found or [Diagnostic(rel, 1, 1, "E-WRITE-INVALID", f"{rel} would not read back as {month} closed", "")]
        raise refusal(found, sorted(files))

    return check


def _close(store, month: str, day: date, by: str, entries: list[str], dry_run: bool) -> Closed:
    """Write ``periods/<month>.yaml`` with the digest of ``entries`` (the lock held; the month not closed)."""
    from cpqctl.formats.yamlout import mapping_lines

    rel = f"periods/{month}.yaml"
    text = "\n".join(
        [
            "# Closed by `cpqctl close`: the digest of the month's journal. Never edit it; `check` compares.",
            *mapping_lines(
                [
                    ("period", month),
                    ("closed", day),
                    ("by", by or None),
                    ("journal", journal_digest(entries)),
                    ("entries", entries),
                ]
            ),
        ]
    )
    if not dry_run:
        with store.transaction() as tx:
            tx.create(rel, text + "\n")
    verb = "would close" if dry_run else "closed"
    return Closed(
        month,
        rel,
        len(entries),
        {"period": month, "file": rel, "dry_run": dry_run, "journal": journal_digest(entries), "entries": entries},
        f"{verb} {month}: {len(entries)} transaction(s), {rel}",
    )


def check_closed(repo: Repo) -> list[Diagnostic]:
    """E-CLOSED-PERIOD for each closed month whose journal is no longer the one it was closed with."""
    return closed_findings(repo, lambda first: month_entries(repo, first))


def closed_findings(repo: Repo, month_lines: Callable[[date], list[str]]) -> list[Diagnostic]:
    """:func:`check_closed` with each month's lines from ``month_lines`` (the whole journal's, or the parts' merged:
    :mod:`cpqctl.app.check_parts`)."""
    out = []
    for month, p in sorted(repo.periods.items()):
        src = p.at.get("journal", p.src)
        m = _MONTH_RE.fullmatch(month)
        if m is None:
            out.append(
                Diagnostic.at(p.src, "E-CLOSED-PERIOD", f"`{month}` is not a month (YYYY-MM)", "rename the file")
            )
            continue
        entries = month_lines(_month(month))
        if journal_digest(entries) == p.journal:
            continue
        now = {e.split(" ", 1)[1]: e for e in entries}
        then = {e.split(" ", 1)[1]: e for e in p.entries if " " in e}
        out.append(_changed_month(src.file, src.line, src.column, month, f" on {p.closed}", _differences(now, then)))
    return out


def _differences(now: dict[str, str], then: dict[str, str]) -> list[str]:
    """The transactions changed, new and gone between two months' lines (each by ``<date> <narration> (<payee>)``)."""
    changed = [f"changed: {k}" for k in now if k in then and now[k] != then[k]]
    return changed + [f"new: {k}" for k in now if k not in then] + [f"gone: {k}" for k in then if k not in now]


def _changed_month(file: str, line: int, column: int, month: str, closed: str, changed: list[str]) -> Diagnostic:
    """E-CLOSED-PERIOD at the period file's ``journal:`` value, naming the first three ``changed``."""
    shown = "; ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    return Diagnostic(
        file,
        line,
        column,
        "E-CLOSED-PERIOD",
        f"the books of {month}, closed{closed}, changed: {shown or 'the journal differs'}",
        "a closed month does not change: undo the edit (git diff shows it) and post the adjustment in an open "
        "month — a corrective invoice, a payment or write-off dated today",
    )


# --------------------------------------------------------------------------- a write about one account


def closed_months(root) -> list[str]:
    """The months ``periods/`` closes, by its files' names: :func:`months_named`."""
    import os

    try:
        with os.scandir(root / "periods") as entries:
            return months_named(e.name for e in entries)
    except OSError:
        return []


def months_named(names) -> list[str]:
    """The months of the period file names ``names`` (``YYYY-MM.yaml``), sorted; another name is the loader's or
    :func:`check_closed`'s to report."""
    return sorted(
        {n[: -len(".yaml")] for n in names if n.endswith(".yaml") and _MONTH_RE.fullmatch(n[: -len(".yaml")])}
    )


class AccountBooks:
    """The closed months' share of one account's files, before a write and after it (a write about one account
    when months are closed: :meth:`cpqctl.app.workspace.Workspace.writing_account` with ``books``).

    A closed month's journal is every account's transactions of the month, in journal order, and the month-end
    change of the unbilled receivables, a sum over every contract (:func:`month_records`). A write that changes
    only this account's files leaves the month as it was exactly when it leaves this account's transactions of
    the month as they were and its contracts' share of the unbilled receivables' change in the month: the other
    accounts' lines, and their share, are not touched. So :meth:`guard` refuses (E-WRITE-INVALID with
    E-CLOSED-PERIOD, before a byte is written) a commit that changes either, naming the transactions changed, new
    or gone, as `check` would (the whole journal is not read: the month's digest is the period file's, unchanged).
    What was wrong in a closed month before the write is `cpqctl check`'s to report, as for every rule over all
    accounts that a write about one account does not run."""

    def __init__(self, root, months: list[str], before) -> None:
        """``before``: the account's files (a :class:`~cpqctl.load.repo.Loaded`, or the :class:`Repo` assembled)."""
        from cpqctl.app.check_parts import Closed

        self.root = root
        self.months = months
        repo = before if isinstance(before, Repo) else before.assemble()[0]
        self.before = _shares(Closed(months).of(repo))  # raises Whole: read the whole repository

    def changes(self, after: Repo) -> list[Diagnostic]:
        """E-CLOSED-PERIOD for each closed month whose share the files of ``after`` (the same accounts, written to)
        would change; raises :class:`~cpqctl.load.parts.Whole` where a correction's invoice is not among them."""
        from cpqctl.app.check_parts import Closed

        return self._changed(_shares(Closed(self.months).of(after)))

    def guard(self, inner):
        """``inner`` (the account's staged check, :func:`cpqctl.app.staged.refuse_invalid_writes`) with the closed
        months' test first."""
        from cpqctl.app.staged import refusal
        from cpqctl.load.parts import Whole

        def check(files: dict[str, bytes | None]) -> None:
            try:
                found = self.changes(inner.state[0].staged(files).assemble()[0])
            except Whole:  # a correction of an invoice the account's files do not hold: E-CORRECTION-ACCOUNT
                found = []
            if found:
                raise refusal(found, sorted(files))
            inner(files)

        check.state = inner.state  # type: ignore[attr-defined]
        return check

    def _changed(self, after) -> list[Diagnostic]:
        out = []
        for month in self.months:
            then_all, then_lines, then_unbilled = self.before[month]
            now_all, now_lines, now_unbilled = after[month]
            if then_all == now_all and then_unbilled == now_unbilled:
                continue
            changed = _differences(now_lines, then_lines)
            if any(
                then_unbilled.get(c, Decimal(0)) != now_unbilled.get(c, Decimal(0))
                for c in {*then_unbilled, *now_unbilled}
            ):
                # every contract's line: changed here (a whole check may see it come or go, as the others' add up)
                at = sum(1 for x in changed if x.startswith("changed: "))
                last = revrec.month_end(_month(month)).isoformat()
                changed.insert(at, f"changed: {last} Unbilled receivables {month} (cpqctl)")
            line, column, closed = _head(self.root, month)
            out.append(_changed_month(f"periods/{month}.yaml", line, column, month, closed, changed))
        return out


def _shares(of: dict) -> dict[str, tuple[list[str], dict[str, str], dict[str, Decimal]]]:
    """:meth:`cpqctl.app.check_parts.Closed.of` as :class:`AccountBooks` compares it: per month, its lines in
    journal order, the same by ``<date> <narration> (<payee>)`` (for the message), and per currency its share of the unbilled receivables' change in the
    month (its balance at the month's end less at the month before's: 0 before its first month, its last after)."""
    out = {}
    for month, (records, unbilled) in of.items():
        lines = {line.split(" ", 1)[1]: line for _, line in records}
        first = _month(month)
        before = date.fromordinal(first.toordinal() - 1).isoformat()[:7]
        change = {}
        for cur, rows in unbilled.items():
            change[cur] = _balance(rows, month) - _balance(rows, before)
        out[month] = ([line for _, line in records], lines, change)
    return out


def _balance(rows: list[list[str]], month: str) -> Decimal:
    """The balance of ``rows`` (``[YYYY-MM-DD of the month's first day, amount]``, consecutive months) at ``month``."""
    value = Decimal(0)
    for day, amount in rows:
        if day[:7] > month:
            break
        value = Decimal(amount)
    return value


def _head(root, month: str) -> tuple[int, int, str]:
    """Where the month's period file holds its ``journal:`` value (line, column) and its `` on <closed>``, by a
    plain read of its head (as `check` names them from the parsed file)."""
    line, column, closed = 1, 1, ""
    try:
        with open(root / "periods" / f"{month}.yaml", encoding="utf-8") as f:
            for n, text in enumerate(f, 1):
                if text.startswith("closed:"):
                    closed = " on " + text.split(":", 1)[1].strip().strip('"')
                if text.startswith("journal:"):
                    rest = text[len("journal:") :]
                    line, column = n, len("journal:") + len(rest) - len(rest.lstrip(" ")) + 1
                    break
                if n > 20:
                    break
    except (OSError, UnicodeDecodeError):
        pass
    return line, column, closed
