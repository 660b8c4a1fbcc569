"""`cpqctl export --format csv|sqlite`: the ledger as tables for BI tools (built by :mod:`cpqctl.views.export`).

Writing is all-or-nothing: the export is built in a temporary file or folder
next to the target and renamed onto it, so a failed export leaves no partial
file and an existing target is replaced only on success. It replaces only
what it can tell is a previous export (a folder holding nothing but the
export's own CSV files, a SQLite file tagged with the export's
``application_id``, or an empty file/folder); anything else is refused
(E-EXISTS, exit 2) rather than deleted, since a typo in ``-o`` must not cost
the user a folder. There is deliberately no ``--force``: delete the path by
hand if it really should go.

SQLite layout: ``TEXT`` for IDs, dates (ISO), quantities and money (the CSV's
exact decimal text), an ``INTEGER`` ``<money>_minor`` sibling per money column
for exact ``SUM()`` (never REAL: it would lose cents), 0/1 ``INTEGER`` flags,
primary keys, foreign keys and indexes on the account/contract columns. Plain
(non-STRICT) tables, so that older SQLite drivers of BI tools can read them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, RepoOpt
from cpqctl.core.diagnostics import CpqError, UsageError

APPLICATION_ID = 0x43505158  # "CPQX": PRAGMA application_id of every SQLite export (how we recognise ours)
SCHEMA_VERSION = 1  # PRAGMA user_version: bumped when a column is renamed or removed
DEFAULTS = {"csv": "export", "sqlite": "cpq-export.sqlite"}


def register(root: typer.Typer) -> None:
    root.command("export")(export)


# --------------------------------------------------------------------------- csv


def csv_text(table) -> str:
    """One table as CSV: header row, ``\\n`` line ends, NULL as an empty cell."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.column_names)
    w.writerows(["" if v is None else v for v in row] for row in table.rows)
    return buf.getvalue()


def _write_csv(folder: Path, tables) -> None:
    for t in tables:
        with open(folder / f"{t.name}.csv", "w", encoding="utf-8", newline="") as f:
            f.write(csv_text(t))
            f.flush()
            os.fsync(f.fileno())


# --------------------------------------------------------------------------- sqlite


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ddl(table) -> list[str]:
    """CREATE TABLE and CREATE INDEX statements for one table."""
    cols, fks = [], []
    for c in table.columns:
        null = " NOT NULL" if c.required else ""
        if c.type in ("int", "bool"):
            check = f" CHECK ({_q(c.name)} IN (0, 1))" if c.type == "bool" else ""
            cols.append(f"{_q(c.name)} INTEGER{null}{check}")
        else:
            cols.append(f"{_q(c.name)} TEXT{null}")
        if c.type == "money":
            cols.append(f"{_q(c.name + '_minor')} INTEGER{null}")
        if c.references:
            ref_table, _, ref_col = c.references.rstrip(")").partition("(")
            fks.append(f"FOREIGN KEY ({_q(c.name)}) REFERENCES {_q(ref_table)} ({_q(ref_col)})")
    key = f"PRIMARY KEY ({', '.join(map(_q, table.key))})"
    out = [f"CREATE TABLE {_q(table.name)} (\n  " + ",\n  ".join([*cols, key, *fks]) + "\n)"]
    for col in table.indexes:
        out.append(f"CREATE INDEX {_q(table.name + '_' + col)} ON {_q(table.name)} ({_q(col)})")
    return out


def sqlite_rows(table):
    """The table's rows with each money value followed by its minor units."""
    from cpqctl.views.export import minor

    money = [c.type == "money" for c in table.columns]
    for row in table.rows:
        out = []
        for is_money, v in zip(money, row):
            out.append(v)
            if is_money:
                out.append(None if v is None else minor(v))
        yield out


def _write_sqlite(path: Path, tables) -> None:
    import sqlite3

    db = sqlite3.connect(path)
    try:
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("PRAGMA foreign_keys = ON")  # the declared keys hold: checked on every insert
        with db:
            for t in tables:
                for stmt in ddl(t):
                    db.execute(stmt)
                width = len(t.columns) + sum(c.type == "money" for c in t.columns)
                db.executemany(f"INSERT INTO {_q(t.name)} VALUES ({', '.join('?' * width)})", sqlite_rows(t))
    finally:
        db.close()
    with open(path, "rb") as f:
        os.fsync(f.fileno())


# --------------------------------------------------------------------------- the target


def _refuse(target: Path, why: str) -> CpqError:
    return UsageError("E-EXISTS", f"{target} {why}",
                    "pick another path with -o, or remove it yourself; nothing was changed")


def is_sqlite_export(path: Path) -> bool:
    """A SQLite file whose header carries the export's application_id (offset 68, big-endian)."""
    with open(path, "rb") as f:
        head = f.read(100)
    return (len(head) == 100 and head.startswith(b"SQLite format 3\x00")
            and int.from_bytes(head[68:72], "big") == APPLICATION_ID)


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
    if target.stat().st_size and not is_sqlite_export(target):
        raise _refuse(target, "is not a previous `cpqctl export` (not a SQLite file tagged by cpqctl)")


def _swap_dir(tmp: Path, target: Path) -> None:
    """Put the folder ``tmp`` in place of ``target``; the old export goes only once the new one is in."""
    if not target.exists():
        os.rename(tmp, target)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
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


def write(target: Path, fmt: str, tables) -> None:
    """Write the export atomically: build next to ``target``, rename onto it; on failure remove the temp."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
        try:
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private (0700); an export is an ordinary folder
            _write_csv(tmp, tables)
            _swap_dir(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        tmp.unlink()  # sqlite3 creates the file itself
        _write_sqlite(tmp, tables)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}-journal").unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- the command


def export(
    format: Annotated[str, typer.Option("--format", "-f", click_type=click.Choice(["csv", "sqlite"]),
                                        help="csv (a folder of <table>.csv files) or sqlite (one database file).")
                      ] = "csv",
    output: Annotated[Optional[Path], typer.Option("-o", "--output", metavar="PATH",
                                                   help="The folder (csv, default ./export) or file (sqlite, "
                                                        "default ./cpq-export.sqlite) to write.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the summary (rows per table) as JSON.")] = False,
    as_of: AsOfOpt = None, repo: RepoOpt = None,
) -> None:
    """Export the ledger as tables for BI tools: a folder of CSV files or one SQLite database.

    Tables: accounts, contracts, segments, invoices, invoice_lines. Money as exact decimal text with the
    currency's places (and, in SQLite, also in minor units for exact SUMs),
    dates ISO, flags 0/1. A contract's status, MRR and ARR and each segment's
    MRR are on --as-of. The same repository and --as-of give byte-identical
    CSV files. The target is replaced only when the export succeeds, and only
    if it is a previous export.

    Example:

      cpqctl export --format csv -o export --as-of 2026-06-30

      cpqctl export --format sqlite -o cpq.sqlite --json
    """
    from cpqctl.views import export as tables_of
    from cpqctl.render.output import emit

    day = common.as_of(as_of)
    _, loaded, diags = common.load(repo)
    common.require_clean(diags)
    tables = tables_of.build(loaded, day)
    target = output if output is not None else Path(DEFAULTS[format])
    target = target if target.is_absolute() else Path.cwd() / target
    check_target(target, format, tables_of.TABLES)
    try:
        write(target, format, tables)
    except OSError as e:
        raise UsageError("E-USAGE", f"cannot write {target}: {e.strerror or e}",
                       "pick a path you can write to with -o; nothing was changed") from None
    rows = [{"table": t.name, "rows": len(t.rows)} for t in tables]
    data = {"format": format, "path": str(target), "as_of": day.isoformat(), "tables": rows}
    emit("json" if json_ else "table", data, ["table", "rows"], rows, title=f"{format} export on {day}",
         right=("rows",))
    common.info(f"wrote {target}")
