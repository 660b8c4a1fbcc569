"""Export the ledger as tables for BI tools: a folder of CSV files or one SQLite database.

Writing is all-or-nothing: the export is built in a temporary file or folder
next to the target and renamed onto it, so a failed export leaves no partial
file and an existing target is replaced only on success. It replaces only
what it can tell is a previous export (a folder holding nothing but the
export's own CSV files, a SQLite file tagged with the export's
``application_id``, or an empty file/folder); anything else is refused
(E-EXISTS) rather than deleted, since a typo in a path must not cost the user
a folder. There is deliberately no ``force``: delete the path by hand if it
really should go.

The tables are :mod:`cpqctl.views.export`'s, their bytes
:mod:`cpqctl.formats.export`'s.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.formats import export as writers
from cpqctl.store import TEMP_SUFFIX

DEFAULTS = {"csv": "export", "sqlite": "cpq-export.sqlite"}


@dataclass(frozen=True)
class ExportResult:
    """What was written: ``path`` (absolute), the tables (schema and rows) and the summary shape ``data``."""

    format: str
    path: Path
    as_of: date
    tables: tuple
    data: dict
    message: str


def export(
    ws: Workspace,
    *,
    fmt: str = "csv",
    output: Path | None = None,
    as_of: date | None = None,
    raw_csv: bool = False,
) -> ExportResult:
    """Write every table of :mod:`cpqctl.views.export` on ``as_of`` to ``output`` (default ./export or
    ./cpq-export.sqlite, relative paths from the current folder); refused on loader errors in the files it
    exports (accounts, contracts, invoices; :data:`cpqctl.views.export.KINDS`),
    and on a target that exists and is not a previous export. CSV cells that a spreadsheet would run as a
    formula are prefixed with ``'`` unless ``raw_csv`` (:func:`cpqctl.formats.export.csv_cell`)."""
    from cpqctl.views import export as views

    if fmt not in writers.FORMATS:
        raise UsageError("E-USAGE", f"unknown export format `{fmt}`", "csv or sqlite")
    day = ws.day(as_of)
    tables = _in_parts(ws, day)
    if tables is None:
        tables = views.build(ws.read(views.KINDS), day)
    target = output if output is not None else Path(DEFAULTS[fmt])
    target = target if target.is_absolute() else Path.cwd() / target
    check_target(target, fmt, views.TABLES)
    try:
        write(target, fmt, tables, raw_csv)
    except OSError as e:
        raise UsageError(
            "E-USAGE",
            f"cannot write {target}: {e.strerror or e}",
            "pick a path you can write to with -o; nothing was changed",
        ) from None
    return ExportResult(
        fmt, target, day, tuple(tables), views.summary(fmt, str(target), day, tables), f"wrote {target}"
    )


def _in_parts(ws: Workspace, day: date) -> list | None:
    """The tables of a big repository made one part at a time (:meth:`Workspace.read_in_parts`: whole accounts with
    their contracts' invoices; issue 21: the whole model and every row took 1.2 GB at 50,000 accounts with a year
    of invoices), each part's rows kept on disk and merged in each table's order when written
    (:class:`cpqctl.app.spill.Spilled`); None when the parts cannot stand for the whole read. Every row is one
    record's; only a contract's successor (the contract that renews it) is another's, so a renewal of a contract
    outside its part makes the whole repository answer."""
    from operator import itemgetter

    from cpqctl.app.spill import Spilled
    from cpqctl.load.parts import Whole
    from cpqctl.views import export as views

    spilled = {name: Spilled(itemgetter(at)) for name, at in views.ORDER.items()}

    def one(repo) -> None:
        for c in repo.contracts.values():
            if c.renews and c.renews not in repo.contracts:
                raise Whole(c.src.file)
        for name, rows in views.table_rows(repo, day).items():
            spilled[name].add(rows)

    if ws.read_in_parts(views.KINDS, one) is None:
        for s in spilled.values():
            s.close()
        return None
    return views.tables(spilled)


# --------------------------------------------------------------------------- the target


def _refuse(target: Path, why: str) -> CpqError:
    return UsageError(
        "E-EXISTS", f"{target} {why}", "pick another path with -o, or remove it yourself; nothing was changed"
    )


def check_target(target: Path, fmt: str, names) -> None:
    """Refuse a target that exists and is not a previous export (or empty)."""
    if not target.exists() and not target.is_symlink():
        return
    if fmt == "csv":
        if not target.is_dir() or target.is_symlink():
            raise _refuse(target, "is not a folder: a CSV export is a folder of <table>.csv files")
        others = sorted(p.name for p in target.iterdir() if p.name not in {f"{n}.csv" for n in names})
        if others:
            shown = ", ".join(others[:3]) + (" …" if len(others) > 3 else "")
            raise _refuse(target, f"holds files that are not part of an export ({shown})")
        return
    if not target.is_file() or target.is_symlink():
        raise _refuse(target, "is not a file: a SQLite export is one file")
    if target.stat().st_size and not writers.is_sqlite_export(target):
        raise _refuse(target, "is not a previous `cpqctl export` (not a SQLite file tagged by cpqctl)")


def _swap_dir(tmp: Path, target: Path) -> None:
    """Put the folder ``tmp`` in place of ``target``; the old export goes only once the new one is in."""
    if not target.exists():
        os.rename(tmp, target)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old" + TEMP_SUFFIX))
    os.rename(target, old / "x")
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old / "x", target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write(target: Path, fmt: str, tables, raw_csv: bool = False) -> None:
    """Write the export atomically: build next to ``target``, rename onto it; on failure remove the temp."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX))
        try:
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private (0700); an export is an ordinary folder
            writers.write_tables(tmp, fmt, tables, raw_csv)
            _swap_dir(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    os.close(fd)
    tmp = Path(name)
    try:
        tmp.unlink()  # sqlite3 creates the file itself
        writers.write_tables(tmp, fmt, tables)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}-journal").unlink(missing_ok=True)
        raise
