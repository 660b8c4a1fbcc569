"""Data out: tables (rich), JSON, CSV and Markdown from one list of rows."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
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
    the bytes are exactly those of :func:`dumps_json`
    (:func:`cpqctl.formats.jsonstream.json_chunks`).
    """
    write_json_lists(head, [(key, items)])


def write_json_lists(head: dict, lists: Sequence[tuple[str, Iterable[dict]]]) -> None:
    """:func:`write_json_streamed` of several lists, after the head's keys
    (:func:`cpqctl.formats.jsonstream.json_lists`)."""
    from cpqctl.formats.jsonstream import json_lists

    out = sys.stdout
    for chunk in json_lists(head, lists):
        out.write(chunk)
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


# When a table is wider than the screen its columns fold, then the least important ones are left out. Left out
# first, in this order: descriptive text, secondary dates and counts, wherever a command lists them.
LEAST_IMPORTANT = (
    "discount_schedule",
    "fx_source",
    "sent",
    "message_id",
    "waterfall",
    "prorate_multiplier",
    "valid_until",
    "next_renewal",
    "active_contracts",
    "renewal_quote",
    "quote_status",
    "stage",
    "kind",
    "per",
    "type",
    "pricing",
    "lines",
    "contracts",
    "family",
    "period_end",
    "period_start",
    "period",
    "start",
    "name",
)
# Kept longest, after the first column (what a row is: an ID, a code, a month), which is never left out: the
# account a row belongs to, its status, and ``currency`` while an amount is shown (EUR and PLN amounts side by
# side need it). Amounts are kept longer than the columns not named in either list.
KEPT_LONGEST = ("status", "currency", "account")

_CODE = re.compile(r"\(?[A-Z]{3}:?")  # a currency code (or a label such as MRR) before an amount
_AMOUNT = re.compile(r"[-+−]?\d[\d.,]*%?[,;:)]*")
_BARE_AMOUNT = re.compile(r"[-+−]?\d[\d.,]*\d|[-+−]?\d")
_CODE_AFTER = re.compile(r"[A-Z]{3}[,;:)]*")
_MONEY = re.compile(r"[-+−]?\d+\.\d+")


def _units(line: str) -> list[str]:
    """The pieces a line of a cell may wrap between: words, except that a currency code and its amount
    (``EUR 210.00``, ``210.00 EUR``) stay together."""
    out: list[str] = []
    for word in line.split(" "):
        if not word:
            continue
        code_amount = bool(out) and _CODE.fullmatch(out[-1]) and _AMOUNT.fullmatch(word)
        amount_code = bool(out) and _BARE_AMOUNT.fullmatch(out[-1]) and _CODE_AFTER.fullmatch(word)
        if code_amount or amount_code:
            out[-1] += " " + word
        else:
            out.append(word)
    return out


def _wrap(text: str, width: int, atomic: bool) -> list[str]:
    """The lines of ``text`` folded to ``width`` between :func:`_units` (never inside one); an atomic value
    (an amount in a right-aligned column) keeps each of its lines whole."""
    from rich.cells import cell_len

    lines: list[str] = []
    for line in text.split("\n"):
        if atomic or cell_len(line) <= width:
            lines.append(line)
            continue
        current = ""
        for unit in _units(line):
            if current and cell_len(current) + 1 + cell_len(unit) > width:
                lines.append(current)
                current = unit
            else:
                current = f"{current} {unit}" if current else unit
        lines.append(current)
    return lines


def table_width(widths: Iterable[int]) -> int:
    """The width of a :func:`rows_table` with columns this wide: two characters between columns (padding
    and rule) and one at each edge."""
    ws = list(widths)
    return sum(ws) + 2 * len(ws)


def _fit(
    columns: Sequence[str], rows: Sequence[dict], right: Sequence[str], footer: dict | None, width: int
) -> tuple[list[str], dict[str, int], list[str]]:
    """(columns kept, the width of each, columns left out) so that the table is at most ``width`` wide and no
    ID, date or amount is split.

    A value of one word (an ID, a date, an amount, a code, a status) is never broken: its column is at least
    as wide as its widest value; a column of text with spaces (names) wraps between words, never inside one,
    and never between a currency and its amount (``EUR 210.00``); a header wraps between words. Text columns
    fold first (the widest first); when even folded the table is too wide, columns are left out least
    important first (:data:`LEAST_IMPORTANT`, then the other columns from the right, then amounts, then
    :data:`KEPT_LONGEST`), never the first.
    """
    from rich.cells import cell_len

    foot = footer or {}
    cells = {c: ["" if r.get(c) is None else str(r.get(c)) for r in rows] + [str(foot.get(c, ""))] for c in columns}
    natural: dict[str, int] = {}
    mins: dict[str, int] = {}
    for c in columns:
        lines = [ln for cell in cells[c] for ln in cell.split("\n")]
        units = lines if c in right else [u for ln in lines for u in _units(ln)]
        head = max((cell_len(w) for w in c.split()), default=1)  # a header wraps between words only
        mins[c] = max(head, *(cell_len(u) for u in units), 1)
        natural[c] = max(mins[c], cell_len(c), *(cell_len(ln) for ln in lines))
    money = {c for c in columns if c in right and c != "currency" and any(_MONEY.fullmatch(v) for v in cells[c])}

    def leave_out_first(c: str, kept: list[str]) -> tuple[int, int]:
        if c in LEAST_IMPORTANT:
            return (0, LEAST_IMPORTANT.index(c))
        if c == "currency" and not money.intersection(kept):
            return (1, -columns.index(c))  # no amount left to say the currency of
        if c in KEPT_LONGEST:
            return (3, -columns.index(c))
        return (2 if c in money else 1, -columns.index(c))

    kept = list(columns)
    while len(kept) > 1 and table_width(mins[c] for c in kept) > width:
        kept.remove(min(kept[1:], key=lambda c: leave_out_first(c, kept)))
    widths = {c: natural[c] for c in kept}
    while table_width(widths.values()) > width:
        foldable = [c for c in kept if widths[c] > mins[c]]
        if not foldable:
            break
        widest = max(widths[c] for c in foldable)
        # of the widest, the one that would be left out first folds first
        c = min((c for c in foldable if widths[c] == widest), key=lambda c: leave_out_first(c, kept))
        widths[c] -= 1

    def folded(c: str, w: int) -> list[str]:
        return [ln for i, cell in enumerate([c, *cells[c]]) for ln in _wrap(cell, w, c in right and i > 0)]

    for c in kept:  # a folded column is only as wide as its longest line ...
        if widths[c] < natural[c]:
            widths[c] = max(mins[c], *(cell_len(ln) for ln in folded(c, widths[c])))
    for c in kept:  # ... and what that leaves over unfolds the others, as far as it takes one of their lines away
        spare = width - table_width(widths.values())
        if widths[c] < natural[c] and spare > 0:
            wider = folded(c, widths[c] + spare)
            if len(wider) < len(folded(c, widths[c])):
                widths[c] = max(mins[c], *(cell_len(ln) for ln in wider))
    return kept, widths, [c for c in columns if c not in kept]


def rows_table(
    columns: Sequence[str],
    rows: Sequence[dict],
    title: str | None = None,
    right: Sequence[str] = (),
    footer: dict | None = None,
) -> None:
    out = console()
    kept, widths, dropped = _fit(columns, rows, right, footer, out.width)
    terminal = sys.stdout.isatty()
    if kept and terminal and len(rows) > PAGED_ROWS:
        _paged(kept, widths, rows, title, right, footer, out.width)
    elif kept and not terminal and table_width(widths[c] for c in kept) <= out.width:
        _plain_table(kept, widths, rows, title, right, footer, out.width)
    else:
        _rich_table(out, kept, widths, rows, title, right, footer)
    if dropped:
        sys.stderr.write(
            f"cpqctl: {len(dropped)} column(s) left out to fit {out.width} columns: {', '.join(dropped)} "
            "(a wider terminal or COLUMNS shows them; --format csv or json has every column)\n"
        )


PAGED_ROWS = 1000  # a longer table on a terminal goes through the pager, a row at a time (see _paged)


def pager_command() -> list[str] | None:
    """The pager of a long table on a terminal: ``CPQ_PAGER``, else ``PAGER``, else ``less`` (as git: split like a
    shell would, never run by one); set empty, none: the rows are written straight to the terminal."""
    import shlex

    text = os.environ.get("CPQ_PAGER", os.environ.get("PAGER", "less"))
    try:
        words = shlex.split(text)
    except ValueError:
        return None
    return words or None


def _paged(*table) -> None:
    """A table of more than :data:`PAGED_ROWS` rows on a terminal (``table``: :func:`_plain_table`'s arguments),
    written a row at a time through the pager when there is one, as git does (``LESS=FRX`` unless set: one screen
    is just printed, colours kept, the screen not cleared). Rich would build the whole table in memory first (9,200 renewals: 0.5 s before
    the first line). A pager that cannot be started leaves the rows to the terminal; one quit early ends the
    output, no error; Ctrl-C is the pager's while it runs."""
    import signal
    import subprocess

    cmd = pager_command()
    proc = None
    if cmd is not None:
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, text=True, encoding="utf-8", env={"LESS": "FRX", **os.environ}
            )
        except OSError:
            proc = None
    if proc is None or proc.stdin is None:
        _plain_table(*table)
        return
    try:
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        interrupt = None
    try:
        _plain_table(*table, write=proc.stdin.write)
    except BrokenPipeError:  # the reader quit (q in less): the rest is not wanted
        pass
    finally:  # whatever happened, the pager gets the end of its input and is waited for
        with contextlib.suppress(OSError):
            proc.stdin.close()
        proc.wait()
        if interrupt is not None:
            signal.signal(signal.SIGINT, interrupt)


def _plain_table(
    kept: Sequence[str],
    widths: dict[str, int],
    rows: Sequence[dict],
    title: str | None,
    right: Sequence[str],
    footer: dict | None,
    width: int,
    *,
    write=None,
) -> None:
    """The table :func:`_rich_table` prints when the output is not a terminal, the same bytes, written a row at a
    time (to ``write``, by default stdout's): rich builds the whole table in memory first (half of `report arr`'s
    4.7 s at 10,000 accounts, and its memory). tests/test_output_stream.py holds the two to the same output."""
    from rich.cells import cell_len

    write = write or sys.stdout.write
    flags = [(c, widths[c], c in right) for c in kept]

    def lines(values: Sequence, header: bool = False) -> str:
        cells = [
            _wrap("" if v is None else str(v), w, r and not header) for v, (_, w, r) in zip(values, flags, strict=True)
        ]
        out = []
        for i in range(max(len(c) for c in cells)):
            parts = []
            for cell, (_, w, r) in zip(cells, flags, strict=True):
                text = cell[i] if i < len(cell) else ""
                if r:  # rich right-justifies a line without its trailing blanks
                    text = text.rstrip()
                pad = " " * (w - cell_len(text))
                parts.append(pad + text if r else text + pad)
            out.append((" " + "  ".join(parts)).rstrip(" ") + "\n")
        return "".join(out)

    if title:
        write("\n".join(ln.rstrip(" ") for ln in _wrap(title, width, False)) + "\n")
    write("\n" + lines(kept, header=True))
    write(" " + "─" * (table_width(w for _, w, _ in flags) - 2) + "\n")
    for r in rows:
        write(lines([r.get(c) for c in kept]))
    if footer is not None:
        write("\n" + lines([footer.get(c, "") for c in kept], header=True))
    write("\n")


def _rich_table(
    out,
    kept: Sequence[str],
    widths: dict[str, int],
    rows: Sequence[dict],
    title: str | None,
    right: Sequence[str],
    footer: dict | None,
) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    def cell(c: str, value, header: bool = False) -> Text:
        # folded here, not by rich (which breaks at any space, "EUR" / "210.00"); a line never exceeds its width
        text = "" if value is None else str(value)
        return Text("\n".join(_wrap(text, widths[c], c in right and not header)))

    t = Table(
        box=box.SIMPLE_HEAD,
        show_footer=footer is not None,
        collapse_padding=True,
        pad_edge=False,
    )
    for c in kept:
        # An amount is never cut short ("256461…" would be a wrong amount), an ID or a date never split:
        # each column is at least as wide as its widest one-word value (see _fit)
        t.add_column(
            cell(c, c, header=True),
            justify="right" if c in right else "left",
            width=widths[c],
            overflow="fold",
            footer=cell(c, (footer or {}).get(c, "")) if footer is not None else "",
        )
    for r in rows:
        t.add_row(*(cell(c, r.get(c)) for c in kept))
    if title:  # wrapped at the output's width, not the table's (a narrow table kept its title to its own width)
        out.print(Text("\n".join(_wrap(title, out.width, False)), style="table.title"), crop=False)
    out.print(t, crop=False)  # too wide even so (one column wider than the screen): the terminal wraps the line


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
