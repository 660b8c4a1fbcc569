"""Merges of git branches: conflict markers, and what two branches amending one contract did.

Pure text and ledger logic; `cpqctl resolve` (:mod:`cpqctl.app.resolve`) and
`check` use it. docs/teamwork.md is the user's side of it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from cpqctl.core import ledger
from cpqctl.core.diagnostics import Diagnostic
from cpqctl.core.model import Amendment, Contract, Repo

_MARKER = re.compile(r"^(<{7}|\|{7}|={7}|>{7})(?:[ \t].*)?$")
RESOLVE_HINT = (
    "run `cpqctl resolve` (it keeps both sides' amendments of a conflicted ledger), or edit the file: keep the "
    "lines you want, delete the marker lines, then `git add` it; see docs/teamwork.md"
)


def first_marker(text: str) -> int | None:
    """The 1-based line of the first git conflict marker (``<<<<<<<``) in ``text``, None without one."""
    if "<<<<<<<" not in text:
        return None
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("<<<<<<<") and _MARKER.match(line):
            return n
    return None


@dataclass(frozen=True, slots=True)
class Sides:
    """A conflicted file split into the two versions git merged: ``ours`` and ``theirs`` (whole texts)."""

    ours: str
    theirs: str
    base: str | None  # the common ancestor's text, when the markers carry it (diff3 / zdiff3 style)


def split_conflict(text: str) -> Sides | None:
    """Both sides of a file with conflict markers (None: no markers, or markers that do not nest as git writes them)."""
    ours: list[str] = []
    theirs: list[str] = []
    base: list[str] = []
    has_base = False
    state = "both"
    found = False
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        mark = _MARKER.match(bare)
        kind = mark.group(1)[0] if mark else None
        if kind == "<" and state == "both":
            state, found = "ours", True
        elif kind == "|" and state == "ours":
            state, has_base = "base", True
        elif kind == "=" and state in ("ours", "base"):
            state = "theirs"
        elif kind == ">" and state == "theirs":
            state = "both"
        elif kind is not None and state != "both":
            return None
        elif state == "both":
            ours.append(line)
            theirs.append(line)
            base.append(line)
        elif state == "ours":
            ours.append(line)
        elif state == "base":
            base.append(line)
        else:
            theirs.append(line)
    if not found or state != "both":
        return None
    return Sides("".join(ours), "".join(theirs), "".join(base) if has_base else None)


# --------------------------------------------------------------------------- ledgers after a merge


def ledger_findings(repo: Repo) -> Iterator[Diagnostic]:
    """What a merged ledger may hold that no single branch wrote (each rule holds for any ledger).

    - E-CANCELLED-SERVICE: a product still in service on or after the
      cancellation date (the other branch's amendment was not cancelled);
    - E-NEGATIVE-QUANTITY: a product below zero (two decreases of the same seats);
    - W-AMENDMENT-CONCURRENT: an amendment priced on a ledger without another
      branch's amendment of the same product, whose intended quantity the
      merged ledger no longer gives (both set PRO-SEAT=60 from 50: merged, 70).
    """
    for c in repo.contracts.values():
        if not c.amendments:
            continue
        yield from _cancelled_service(c)
        yield from _negative(c)
        yield from _concurrent(repo, c)


def boundaries(c: Contract) -> list[date]:
    """The days a contract's quantities may change: each segment's start and the day after its end."""
    days = {s.start for s in c.segments()} | {s.end + timedelta(days=1) for s in c.segments() if s.end is not None}
    return sorted(days)


def _quantities(c: Contract, d: date) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for s in c.segments():
        if not s.one_time and s.covers(d):
            out[s.product] = out.get(s.product, Decimal(0)) + s.quantity
    return out


def _label(a: Amendment) -> str:
    return f"{a.amendment} ({a.quote})" if a.quote else a.amendment


def _cancelled_service(c: Contract) -> Iterator[Diagnostic]:
    canc = ledger.cancellation(c)
    if canc is None:
        return
    where = next(a for a in reversed(c.amendments) if a.cancelled is not None)
    for d in [canc.date] + [b for b in boundaries(c) if b > canc.date]:
        live = {p: q for p, q in _quantities(c, d).items() if q != 0}
        if live:
            shown = ", ".join(f"{p} × {q}" for p, q in sorted(live.items()))
            fix = (
                f"`cpqctl amend {c.contract} --rebase {where.quote}` writes the amendment quote that ends them "
                "on the merged ledger"
                if where.quote
                else "append an amendment with the negative lines that end them"
            )
            yield Diagnostic.at(
                where.src,
                "E-CANCELLED-SERVICE",
                f"{c.contract} is cancelled from {canc.date} ({_label(where)}), but {shown} is still in service "
                f"on {d}: an amendment its cancellation did not see (merged from another branch?)",
                fix + "; see docs/teamwork.md",
            )
            return


def _negative(c: Contract) -> Iterator[Diagnostic]:
    for d in boundaries(c):
        low = {p: q for p, q in _quantities(c, d).items() if q < 0}
        if low:
            p, q = sorted(low.items())[0]
            last = next((a for a in reversed(c.amendments) if any(s.product == p for s in a.lines)), None)
            yield Diagnostic.at(
                last.src if last is not None else c.src,
                "E-NEGATIVE-QUANTITY",
                f"{c.contract} holds {q} of {p} on {d}: less than none (two decreases of the same units?)",
                f"amend it back to the quantity the customer has: `cpqctl amend {c.contract} --set {p}=N "
                f"--effective {d}`"
                + (f", or `cpqctl amend {c.contract} --rebase {last.quote}`" if last and last.quote else ""),
            )
            return


def _concurrent(repo: Repo, c: Contract) -> Iterator[Diagnostic]:
    for i, a in enumerate(c.amendments):
        q = repo.quotes.get(a.quote) if a.quote else None
        if q is None or q.based_on is None or q.based_on >= i or a.cancelled is not None:
            continue
        unseen = c.amendments[q.based_on : i]
        seen = dataclasses.replace(c, amendments=c.amendments[: q.based_on] + (a,))
        for product in sorted({s.product for s in a.lines}):
            touching = [u for u in unseen if any(s.product == product for s in u.lines)]
            if not touching:
                continue
            d = max([a.effective] + [u.effective for u in touching])
            meant = ledger.quantity_on(seen, product, d)
            now = ledger.quantity_on(c, product, d)
            if meant != now:
                others = ", ".join(_label(u) for u in touching)
                yield Diagnostic.at(
                    a.src,
                    "W-AMENDMENT-CONCURRENT",
                    f"{_label(a)} of {c.contract} was priced on a ledger without {others} (another branch): it "
                    f"meant {meant} {product} from {d}, the merged ledger holds {now}",
                    f"if the customer meant {meant}: `cpqctl amend {c.contract} --rebase {a.quote}` writes the "
                    "amendment quote that restores it; if both changes stand, nothing to do (docs/teamwork.md)",
                    "warning",
                )
