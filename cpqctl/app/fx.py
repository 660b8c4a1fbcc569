"""`cpqctl fx import`: NBP table A rates merged into the repository's ``fx/<CUR>.yaml`` (docs/fx.md).

The input files are read and parsed first (:mod:`cpqctl.formats.fx`); then, under the repository lock with
the repository loaded and valid (:meth:`~cpqctl.app.workspace.Workspace.writing`), each kept currency's
rates are merged into its file: sorted by day, a day already there with the same rate left as it is (so a
second import changes nothing), a day there with another rate refused (E-FX-CONFLICT) — and then nothing
at all is written. Every file is rendered, parsed back and validated before the one transaction that
writes them all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError, Diagnostic, UsageError
from cpqctl.core.model import FxRate, FxTable, Source

if TYPE_CHECKING:
    from cpqctl.formats.fx import Quote

DEFAULT_SOURCE = "NBP table A"
COLUMNS = ["currency", "file", "added", "unchanged", "first", "last"]


@dataclass(frozen=True)
class FxImportResult:
    """What an import did (or, with ``dry_run``, would do): ``data`` is `fx import --format json`."""

    dry_run: bool
    written: tuple[str, ...]
    rows: list[dict]
    data: dict
    message: str


def read_input(path: Path) -> bytes:
    """An input file's bytes (E-USAGE when it cannot be read)."""
    try:
        return path.read_bytes()
    except OSError as e:
        raise UsageError(
            "E-USAGE",
            f"cannot read {path}: {e.strerror or e}",
            "give the path of an NBP file: the Web API's JSON or XML, or archiwum_tab_a_YYYY.csv",
        ) from None


def parse_inputs(files: Sequence[tuple[str, bytes]]):
    """Every rate of the inputs (name, bytes), one per (currency, day); two inputs disagreeing are refused."""
    from cpqctl.formats import fx as fxformat

    seen: dict[tuple[str, object], fxformat.Quote] = {}
    for name, data in files:
        for q in fxformat.parse(name, data):
            before = seen.get((q.currency, q.day))
            if before is None:
                seen[(q.currency, q.day)] = q
            elif before.rate != q.rate or (before.table and q.table and before.table != q.table):
                raise CpqError(
                    "E-FX-CONFLICT",
                    f"the inputs disagree on {q.currency} of {q.day}: {before.rate} ({before.table}, {before.src}) "
                    f"and {q.rate} ({q.table}, {q.src}); nothing was written",
                    "import one source of NBP's rates; NBP publishes one rate per table and day",
                    src=q.src,
                )
    return list(seen.values())


def _used(repo) -> set[str]:
    """The currencies of the accounts and contracts of ``repo``."""
    return {a.currency for a in repo.accounts.values()} | {c.currency for c in repo.contracts.values()}


def _wanted(settings, used: set[str], given: Sequence[str] | None, in_input: set[str]) -> tuple[set[str], str]:
    """The currencies to keep, and how they were chosen (``used``: the accounts' and contracts' currencies)."""
    company = settings.currency
    if given:
        return {c.strip().upper() for c in given if c.strip()} - {company}, "--currency"
    used = used | set(settings.fx_tables)
    used -= {company}
    if used:
        return used, "the currencies of the accounts, contracts and fx/ files"
    return in_input - {company}, "every currency in the input (the repository uses none but its own)"


def _conflicts(table: FxTable | None, quotes) -> list[tuple[FxRate, Quote]]:
    if table is None:
        return []
    have = {r.day: r for r in table.rates}
    out = []
    for q in quotes:
        r = have.get(q.day)
        if r is not None and (r.rate != q.rate or (r.table and q.table and r.table != q.table)):
            out.append((r, q))
    return out


def import_rates(
    ws: Workspace,
    *,
    inputs: Sequence[tuple[str, bytes]],
    currencies: Sequence[str] | None = None,
    dry_run: bool = False,
) -> FxImportResult:
    """Merge the NBP rates of ``inputs`` ((name, bytes) each) into fx/<CUR>.yaml; with ``dry_run`` write nothing.

    ``currencies``: keep only these (default: the currencies the repository uses — accounts, contracts and
    existing fx/ files — or, when it uses none but the company currency, every currency in the input).
    Refused with E-FX-CONFLICT (nothing written) when a day already in a file has another rate.
    """
    quotes = parse_inputs(inputs)
    in_input = {q.currency for q in quotes}
    with ws.clean_parts() as parts:  # a big repository free of errors: its currencies read a part at a time
        used = None if parts is None else parts.read(frozenset({"account", "contract"}), _used)
        if parts is not None and used is not None:
            settings = parts.settings
            wanted, chosen = _wanted(settings, set().union(*used), currencies, in_input)
            planned, rows = _merge(ws, parts.held, settings, quotes, wanted, dry_run, alone=True)
    if used is None:
        with ws.writing() as (store, repo):
            settings = repo.settings
            wanted, chosen = _wanted(settings, _used(repo), currencies, in_input)
            planned, rows = _merge(ws, store, settings, quotes, wanted, dry_run)
    skipped = sorted(in_input - wanted - {settings.currency})
    added = sum(r["added"] for r in rows)
    verb = "would add" if dry_run else "added"
    message = f"{verb} {added} rate(s) to {len(planned)} file(s); currencies: {chosen}"
    if skipped:
        message += f"; not kept: {', '.join(skipped)} (use --currency to choose)"
    missing = sorted(c for c in wanted if c not in in_input)
    if missing:
        message += f"; no rates in the input for {', '.join(missing)}"
    data = {
        "dry_run": dry_run,
        "files": sorted(planned),
        "currencies": rows,
        "skipped": skipped,
        "chosen_by": chosen,
    }
    return FxImportResult(dry_run, tuple(sorted(planned)), rows, data, message)


def _merge(ws: Workspace, store, settings, quotes, wanted: set[str], dry_run: bool, alone: bool = False):
    """Each wanted currency's new rates merged into its file (refused with E-FX-CONFLICT, nothing written, when a
    day there has another rate), written in one transaction unless ``dry_run``: (the files planned, the rows).

    No rule over the other files reads the rates (`check`'s E-FX-CURRENCY and W-FX-WEEKEND are of the tables alone;
    an issued invoice keeps the rate it was issued with): each file is parsed back and checked on its own
    (:func:`_verify`). ``alone``: the repository was read in parts, and the commit may write those files only, with
    the text checked."""
    from cpqctl.formats import fx as fxformat
    from cpqctl.load.repo import load_bytes

    planned: dict[str, tuple[str, str | None]] = {}  # rel → (new text, sha256 of the old file)
    rows: list[dict] = []
    conflicts: list[tuple[FxRate, Quote]] = []
    for cur in sorted(wanted):
        mine = sorted((q for q in quotes if q.currency == cur), key=lambda q: q.day)
        table = settings.fx_tables.get(cur)
        conflicts += _conflicts(table, mine)
        have = {r.day for r in table.rates} if table else set()
        new = [q for q in mine if q.day not in have]
        rel = f"fx/{cur}.yaml"
        rows.append(
            {
                "currency": cur,
                "file": rel,
                "added": len(new),
                "unchanged": len(mine) - len(new),
                "first": new[0].day.isoformat() if new else "",
                "last": new[-1].day.isoformat() if new else "",
            }
        )
        if not new:
            continue
        path = ws.root / rel
        old = path.read_bytes() if path.is_file() else None
        old_text = old.decode("utf-8", errors="replace") if old is not None else ""
        merged = [*(table.rates if table else ()), *(q.as_rate(Source(rel)) for q in new)]
        text = fxformat.render(cur, table.source if table else DEFAULT_SOURCE, merged, fxformat.preamble(old_text))
        _verify(rel, text, merged, load_bytes)
        planned[rel] = (text, hashlib.sha256(old).hexdigest() if old is not None else None)
    if conflicts:
        raise _conflict_error(conflicts)
    if not dry_run and planned:
        if alone:
            store.validator = _as_planned(planned)
        with store.transaction() as tx:
            for rel, (text, sha) in planned.items():
                tx.write(rel, text, expect_sha256=sha)
    return planned, rows


def _as_planned(planned: dict[str, tuple[str, str | None]]):
    """A store validator: the commit writes the planned files, each with the text checked (:func:`_verify`)."""
    from cpqctl.app.staged import refusal

    def check(files: dict[str, bytes | None]) -> None:
        for rel, data in files.items():
            if rel not in planned or data != planned[rel][0].encode("utf-8"):
                found = [Diagnostic(rel, 1, 1, "E-WRITE-INVALID", f"{rel} is not the file `fx import` checked", "")]
                raise refusal(found, sorted(files))

    return check


def _verify(rel: str, text: str, merged, load_bytes) -> None:
    """The file as it would be written, parsed back: no error, and exactly the rates meant (E-WRITE-INVALID)."""
    from cpqctl.app.staged import refusal

    res = load_bytes(rel, "fx", text.encode("utf-8"))
    errors = [d for d in res.diagnostics if d.severity == "error"]
    if not errors and res.records:
        back = [(r.day, r.rate, r.table) for r in res.records[0].rates]
        if back != sorted((r.day, r.rate, r.table) for r in merged):
            errors = [
                Diagnostic(rel, 1, 1, "E-WRITE-INVALID", "the file written does not read back as the rates merged")
            ]
    elif not errors:
        errors = [Diagnostic(rel, 1, 1, "E-WRITE-INVALID", "the file written does not read back as an fx table")]
    if errors:
        raise refusal(errors, [rel])


def _conflict_error(conflicts: list[tuple[FxRate, Quote]]) -> CpqError:
    shown = "\n".join(
        f"{r.src}: {q.currency} of {r.day} is {r.rate}"
        + (f" ({r.table})" if r.table else "")
        + f", the input ({q.src}) says {q.rate}"
        + (f" ({q.table})" if q.table else "")
        for r, q in conflicts[:5]
    )
    more = f"\n… and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
    first = conflicts[0][0]
    return CpqError(
        "E-FX-CONFLICT",
        f"{len(conflicts)} day(s) already in the repository have another rate; nothing was written:\n{shown}{more}",
        "NBP does not change a published rate: check the input file (another table? table B or C?) or fix the "
        "fx file by hand if it is wrong",
        src=first.src,
    )
