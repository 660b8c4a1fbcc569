"""Data out: tables (rich), JSON, CSV and Markdown from one list of rows."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import IO, cast

FORMATS = ("table", "json", "csv", "md")


class _Options:
    """How tables look: set once by the command line (``--no-color``, NO_COLOR); render reads nothing else."""

    no_color: bool = bool(os.environ.get("NO_COLOR"))


OPTIONS = _Options()


def dumps_json(data) -> str:
    """Deterministic JSON: insertion order kept, UTF-8 text, 2-space indent, newline at the end."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_json_streamed(head: dict, key: str, items: Iterable[dict]) -> None:
    """Write ``dumps_json({**head, key: list(items)})`` to stdout without holding the list or the text.

    For outputs of a hundred thousand invoices: each item is encoded and
    written on its own, indented as it would be inside the whole document, so
    the bytes are exactly those of :func:`dumps_json`.
    """
    out = sys.stdout
    text = json.dumps({**head, key: []}, indent=2, ensure_ascii=False)
    assert text.endswith(f'"{key}": []\n}}'), "the streamed key must be the last one"
    opening = text[: -len("[]\n}")]
    first = True
    for item in items:
        out.write(opening + "[\n" if first else ",\n")
        first = False
        out.write("\n".join("    " + ln for ln in json.dumps(item, indent=2, ensure_ascii=False).split("\n")))
    out.write(text if first else "\n  ]\n}")
    out.write("\n")


def rows_csv(columns: Sequence[str], rows: Sequence[dict]) -> str:
    """``--format csv``: a text cell a spreadsheet would run as a formula is prefixed with ``'``, as in the export
    (:func:`cpqctl.formats.export.csv_cell`: plain numbers such as ``-12.50`` stay numbers). There is no raw
    option here: ``--format json`` has every value as it is."""
    from cpqctl.formats.export import csv_cell

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([csv_cell(r.get(c)) for c in columns])
    return buf.getvalue()


def _md_cell(v) -> str:
    return ("" if v is None else str(v)).replace("|", "\\|").replace("\n", " ")


def rows_md(columns: Sequence[str], rows: Sequence[dict], right: Sequence[str] = ()) -> str:
    head = "| " + " | ".join(columns) + " |"
    sep = "|" + "|".join("---:" if c in right else "---" for c in columns) + "|"
    body = ["| " + " | ".join(_md_cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body]) + "\n"


class _Trimmed:
    """A text stream that drops the spaces rich pads each line with: piped tables end where their text ends."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write("\n".join(line.rstrip(" ") for line in text.split("\n")))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


def piped_width() -> int:
    """The width of output that is not a terminal: ``COLUMNS`` when it is set to a number, else 120."""
    text = os.environ.get("COLUMNS", "")
    return int(text) if text.isascii() and text.isdigit() and 20 <= int(text) <= 1000 else 120


def console(stderr: bool = False):
    """A rich console for stdout (or stderr): a terminal's own width, or when piped ``COLUMNS`` (default 120)
    and no trailing spaces."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr, no_color=OPTIONS.no_color, highlight=False, soft_wrap=False)
    return Console(
        file=cast("IO[str]", _Trimmed(stream)),
        no_color=OPTIONS.no_color,
        highlight=False,
        soft_wrap=False,
        width=piped_width(),
    )


def _fit(columns: Sequence[str], rows: Sequence[dict], right: Sequence[str], footer: dict | None, width: int):
    """(columns kept, their minimum widths, columns dropped) so that no ID, date or amount is split.

    A value of one word (an ID, a date, an amount, a code, a status) is never
    broken: its column is at least as wide as its widest value; a column of
    text with spaces (names) wraps between words, never inside one; a header
    wraps between words. When even so the table is wider than ``width``,
    columns are dropped from the right (the least important: every command
    lists its columns most important first), never the first.
    """
    mins: dict[str, int] = {}
    for c in columns:
        cells = ["" if r.get(c) is None else str(r.get(c)) for r in rows] + [str((footer or {}).get(c, ""))]
        words = [w for cell in cells for ln in cell.split("\n") for w in ln.split(" ")]
        atomic = c in right or all(" " not in ln for cell in cells for ln in cell.split("\n"))
        widest = max((len(ln) for cell in cells for ln in cell.split("\n")), default=0)
        head = max((len(w) for w in c.split()), default=1)  # a header wraps between words only
        mins[c] = max(head, widest if atomic else max((len(w) for w in words), default=1))
    kept = list(columns)
    dropped: list[str] = []
    while len(kept) > 1 and sum(mins[c] for c in kept) + 2 * (len(kept) - 1) > width:
        dropped.insert(0, kept.pop())
    return kept, mins, dropped


def rows_table(
    columns: Sequence[str],
    rows: Sequence[dict],
    title: str | None = None,
    right: Sequence[str] = (),
    footer: dict | None = None,
) -> None:
    from rich import box
    from rich.table import Table

    out = console()
    kept, mins, dropped = _fit(columns, rows, right, footer, out.width)
    t = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        show_footer=footer is not None,
        collapse_padding=True,
        pad_edge=False,
    )
    for c in kept:
        # An amount is never cut short ("256461…" would be a wrong amount), an ID or a date never split:
        # each column is at least as wide as its widest one-word value (see _fit)
        t.add_column(
            c,
            justify="right" if c in right else "left",
            min_width=mins[c],
            overflow="fold",
            footer=str((footer or {}).get(c, "")) if footer is not None else "",
        )
    for r in rows:
        t.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in kept))
    out.print(t, crop=False)  # too wide even so: the terminal wraps the line, nothing is lost
    if dropped:
        sys.stderr.write(
            f"cpqctl: {len(dropped)} column(s) left out to fit {out.width} columns: {', '.join(dropped)} "
            "(a wider terminal or COLUMNS shows them; --format csv or json has every column)\n"
        )


def emit(
    fmt: str,
    data: dict,
    columns: Sequence[str],
    rows: Sequence[dict],
    title: str | None = None,
    right: Sequence[str] = (),
    footer: dict | None = None,
) -> None:
    """Print ``data`` (json) or ``rows`` (table/csv/md) to stdout."""
    if fmt == "json":
        sys.stdout.write(dumps_json(data))
    elif fmt == "csv":
        sys.stdout.write(rows_csv(columns, rows))
    elif fmt == "md":
        if title:
            sys.stdout.write(f"### {title}\n\n")
        sys.stdout.write(rows_md(columns, rows, right))
    else:
        rows_table(columns, rows, title, right, footer)
