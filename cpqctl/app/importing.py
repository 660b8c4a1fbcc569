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
    with ws.clean_parts() as parts:  # a big repository free of errors: the records the rows name, alone
        if parts is not None:
            plan = importer.plan(text, _named(ws, parts.settings, text))
            _write(parts.held, plan, file, dry_run, ws.per_account(_by_account(plan)))
    if parts is None:
        with ws.writing() as (store, repo):
            plan = importer.plan(text, repo)
            _write(store, plan, file, dry_run)
    n = sum(f.kind == "contract" for f in plan.files)
    written = () if dry_run else tuple(f.path for f in plan.files)
    message = (
        ""
        if dry_run
        else (f"imported {n} contract(s) from {file}: wrote {len(plan.files)} file(s) (run `cpqctl check`)")
    )
    return ImportResult(file, dry_run, plan.files, n, import_view(dry_run, plan.files), written, message)


def _write(store, plan, file: Path, dry_run: bool, validator=None) -> None:
    """Refuse a plan with row errors (every one); else create its files in one transaction unless ``dry_run``.
    ``validator``: the store's, for a plan made on a big repository's records (:meth:`Workspace.per_account`)."""
    if plan.errors:
        diags: tuple[Diagnostic, ...] = tuple(e.diagnostic(str(file)) for e in plan.errors)
        raise ImportRefused(
            diags[0].code,
            f"{len(diags)} error(s); nothing was imported",
            f"fix the rows of {file} and run the import again",
            diagnostics=diags,
        )
    if dry_run:
        return
    if validator is not None:
        store.validator = validator
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


def _by_account(plan) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in plan.files:
        out.setdefault(f.account, set()).add(f.path)
    return out


def _named(ws: Workspace, settings, text: str):
    """What a plan reads of a big repository (issue 21: the whole model of 50,000 accounts took 0.9 GB): the settings,
    the catalog, and the accounts and contracts the rows name that exist (an account by its folder, a contract by the
    contract-ID index and its folder): the plan asks of no other record."""
    from cpqctl.formats.importer import named_ids
    from cpqctl.load.cache import load_files
    from cpqctl.load.ids import _all_contracts
    from cpqctl.load.invoice_index import account_of
    from cpqctl.load.repo import Loaded, _files_in, elsewhere
    from cpqctl.load.schema import ID_RE

    accounts, contracts = named_ids(text)
    diags: list[Diagnostic] = []
    files = _files_in(ws.root, "catalog", "catalog", diags)
    for acct in sorted(accounts):
        if ID_RE.fullmatch(acct) and (ws.root / "contracts" / acct / "account.yaml").is_file():
            files.append((f"contracts/{acct}/account.yaml", "account"))
    known = set(_all_contracts(ws.root))
    for cid in sorted(contracts & known):
        folder = account_of(ws.root, cid)
        if folder is not None:
            files.append((f"contracts/{folder}/{cid}.yaml", "contract"))
    loaded = Loaded(settings, load_files(ws.root, files), diags, whole=False, elsewhere=elsewhere(ws.root))
    return loaded.assemble()[0]
