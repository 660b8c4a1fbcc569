"""The export's file formats: tables (:mod:`cpqctl.views.export`) as CSV files or one SQLite database.

Only the bytes of the export live here; where they go (a temporary folder or
file next to the target, renamed onto it, replacing only a previous export)
is :mod:`cpqctl.app.exporting`'s.

SQLite layout: ``TEXT`` for IDs, dates (ISO), quantities and money (the CSV's
exact decimal text), an ``INTEGER`` ``<money>_minor`` sibling per money column
for exact ``SUM()`` (never REAL: it would lose cents), 0/1 ``INTEGER`` flags,
primary keys, foreign keys and indexes on the account/contract columns. Plain
(non-STRICT) tables, so that older SQLite drivers of BI tools can read them.

CSV and spreadsheet formulas (CSV injection, OWASP): a spreadsheet runs a
cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or CR) as a
formula — ``=HYPERLINK(…)`` in an account name becomes a link that leaks
data when clicked. :func:`csv_cell` neutralises such a text cell by
prefixing ``'`` (shown as text, the quote hidden), unless the whole cell is a
plain number (``-12.50``, ``+3``, ``-5%``): an amount stays a number. The
rule reads the cell, not its column, so it serves every CSV cpqctl writes
(the export and ``--format csv``). ``raw`` keeps every cell as it is
(``cpqctl export --raw-csv``, for a tool that reads CSV as data, never as a
spreadsheet). SQLite holds values, never formulas: unchanged.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

APPLICATION_ID = 0x43505158  # "CPQX": PRAGMA application_id of every SQLite export (how we recognise ours)
SCHEMA_VERSION = 1  # PRAGMA user_version: bumped when a column is renamed or removed
FORMATS = ("csv", "sqlite")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet reads as the start of a formula (OWASP)
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)%?")


# --------------------------------------------------------------------------- csv


def csv_cell(v, raw: bool = False):
    """A value as a CSV cell: None empty; a text a spreadsheet would run as a formula prefixed with ``'``.

    A plain number (``-12.50``) is left alone even though it starts with ``-``;
    ``-2+3``, ``=1+1``, ``@SUM(A1)``, ``+cmd|…`` are not numbers and are
    neutralised. ``raw`` keeps the text as it is.
    """
    if v is None:
        return ""
    if raw or not isinstance(v, str) or not v.startswith(FORMULA_START) or _PLAIN_NUMBER.fullmatch(v):
        return v
    return "'" + v


def csv_text(table, raw: bool = False) -> str:
    """One table as CSV: header row, ``\\n`` line ends, NULL as an empty cell, formulas neutralised unless ``raw``."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.column_names)
    w.writerows([csv_cell(v, raw) for v in row] for row in table.rows)
    return buf.getvalue()


def _write_csv(folder: Path, tables, raw: bool = False) -> None:
    """Each table as :func:`csv_text` writes it, a row at a time (a table of a million invoice lines is never one
    text)."""
    import csv

    for t in tables:
        with open(folder / f"{t.name}.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(t.column_names)
            w.writerows([csv_cell(v, raw) for v in row] for row in t.rows)
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


def is_sqlite_export(path: Path) -> bool:
    """A SQLite file whose header carries the export's application_id (offset 68, big-endian)."""
    with open(path, "rb") as f:
        head = f.read(100)
    return (
        len(head) == 100
        and head.startswith(b"SQLite format 3\x00")
        and int.from_bytes(head[68:72], "big") == APPLICATION_ID
    )


# --------------------------------------------------------------------------- one entry point


def write_tables(path: Path, fmt: str, tables, raw_csv: bool = False) -> None:
    """Write ``tables`` in ``fmt``: csv into the (existing, empty) folder ``path``, sqlite as the new file ``path``.

    Not atomic on its own: the caller writes into a temporary path and renames it. ``raw_csv``: CSV cells
    as they are (no formula neutralising, see :func:`csv_cell`).
    """
    if fmt == "csv" and raw_csv:
        _write_csv(path, tables, raw=True)
    elif fmt == "csv":
        _write_csv(path, tables)
    else:
        _write_sqlite(path, tables)
