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
from dataclasses import dataclass, replace
from datetime import date

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
    from cpqctl.app.journal import transactions
    from cpqctl.formats.journal import json_text

    end = revrec.month_end(first)
    view = replace(
        repo,
        invoices={n: i for n, i in repo.invoices.items() if i.date <= end},
        payments={n: p for n, p in repo.payments.items() if p.date <= end},
    )
    out = []
    for _, t in transactions(view, end):
        if t.date >= first:
            digest = hashlib.sha256(json_text([t]).encode("utf-8")).hexdigest()[:16]
            out.append(f"{digest} {t.date.isoformat()} {t.narration} ({t.payee})")
    return out


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
    from cpqctl.formats.yamlout import mapping_lines

    first = _month(month)
    day = ws.as_of
    if day <= revrec.month_end(first):
        raise UsageError(
            "E-CLOSE",
            f"{month} has not ended on {day}: a month is closed after its last day",
            f"close it from {date.fromordinal(revrec.month_end(first).toordinal() + 1)} on (--as-of)",
        )
    rel = f"periods/{month}.yaml"
    with ws.writing() as (store, repo):
        if month in repo.periods:
            raise CpqError(
                "E-CLOSE",
                f"{month} is closed already ({rel})",
                "a closed month is not closed again; adjust in an open one",
            )
        entries = month_entries(repo, first)
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
    out = []
    for month, p in sorted(repo.periods.items()):
        src = p.at.get("journal", p.src)
        m = _MONTH_RE.fullmatch(month)
        if m is None:
            out.append(
                Diagnostic.at(p.src, "E-CLOSED-PERIOD", f"`{month}` is not a month (YYYY-MM)", "rename the file")
            )
            continue
        entries = month_entries(repo, _month(month))
        if journal_digest(entries) == p.journal:
            continue
        now = {e.split(" ", 1)[1]: e for e in entries}
        then = {e.split(" ", 1)[1]: e for e in p.entries if " " in e}
        changed = [f"changed: {k}" for k in now if k in then and now[k] != then[k]]
        changed += [f"new: {k}" for k in now if k not in then] + [f"gone: {k}" for k in then if k not in now]
        shown = "; ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        out.append(
            Diagnostic.at(
                src,
                "E-CLOSED-PERIOD",
                f"the books of {month}, closed on {p.closed}, changed: {shown or 'the journal differs'}",
                "a closed month does not change: undo the edit (git diff shows it) and post the adjustment in an open "
                "month — a corrective invoice, a payment or write-off dated today",
            )
        )
    return out
