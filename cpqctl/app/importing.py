"""Import existing customers and contracts from a spreadsheet export (CSV) into the repository.

The plan (every row checked, the account and contract file texts) is
:mod:`cpqctl.formats.importer`'s; this use case reads the file, plans under the
repository lock and writes every planned file in one transaction — or, when
any row is bad, nothing at all (:class:`ImportRefused` lists every row error).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError, Diagnostic, UsageError


class ImportRefused(CpqError):
    """Rows of the CSV are bad: ``diagnostics`` holds each (line = row, column = column index); nothing written.

    Its ``code`` is the first row error's.
    """


@dataclass(frozen=True)
class ImportResult:
    """The files planned (and, unless ``dry_run``, created): ``files`` of :class:`~cpqctl.formats.importer.PlannedFile`."""

    file: Path
    dry_run: bool
    files: tuple
    contracts: int
    data: dict
    written: tuple[str, ...]
    message: str


def read_csv(file: Path) -> str:
    """The CSV's text: UTF-8, a leading BOM dropped (spreadsheets often start a UTF-8 export with one)."""
    try:
        data = file.read_bytes()
    except OSError as e:
        raise UsageError("E-USAGE", f"cannot read {file}: {e.strerror or e}", "give the path of a CSV file") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        row = data[: e.start].count(b"\n") + 1
        raise CpqError(
            "E-IMPORT-ENCODING",
            f"{file}:{row}: the file is not UTF-8 (byte {e.start + 1})",
            "export the sheet as CSV UTF-8",
        ) from None


def import_contracts(
    ws: Workspace, *, file: Path, text: str | None = None, dry_run: bool = False, as_of: date | None = None
) -> ImportResult:
    """Plan the CSV's accounts and contracts against the repository and (unless ``dry_run``) create their files.

    ``text`` is the CSV when the caller has read it already (:func:`read_csv`);
    else ``file`` is read. Refused with :class:`ImportRefused` (every row
    error) when any row is bad, and with E-EXISTS when a file of a planned
    name appeared; nothing is written then. ``as_of`` is accepted like on
    every use case; the rows carry their own dates.
    """
    from cpqctl.formats import importer
    from cpqctl.views.imports import import_view

    if text is None:
        text = read_csv(file)
    with ws.writing() as (store, repo):
        plan = importer.plan(text, repo)
        if plan.errors:
            diags: tuple[Diagnostic, ...] = tuple(e.diagnostic(str(file)) for e in plan.errors)
            raise ImportRefused(
                diags[0].code,
                f"{len(diags)} error(s); nothing was imported",
                f"fix the rows of {file} and run the import again",
                diagnostics=diags,
            )
        if not dry_run:
            try:
                with store.transaction() as tx:
                    for f in plan.files:
                        tx.create(f.path, f.text)
            except FileExistsError as e:
                raise CpqError(
                    "E-EXISTS",
                    f"{e}; nothing was imported",
                    "a file of that name is in the way: rename the contract or move the file",
                ) from None
    n = sum(f.kind == "contract" for f in plan.files)
    written = () if dry_run else tuple(f.path for f in plan.files)
    message = (
        ""
        if dry_run
        else (f"imported {n} contract(s) from {file}: wrote {len(plan.files)} file(s) (run `cpqctl check`)")
    )
    return ImportResult(file, dry_run, plan.files, n, import_view(dry_run, plan.files), written, message)
