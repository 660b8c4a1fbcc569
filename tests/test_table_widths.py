"""Tables at 60, 80 and 120 columns fit the width and never split an ID, a date or an amount (issue 18).

Every report, every list, `renewals` and the show commands that print tables run piped with COLUMNS set, on a
copy of the example repository that also has quotes and issued invoices (so `quote list` and `invoice list`
have rows). Each output is checked line by line:

* every line is at most COLUMNS characters wide and none ends in a space;
* no ID (`Q-2026-0001`, `C-2026-0001`, `INV-2026-0001`), ISO date or amount (digits with a decimal point) is
  split across lines: every word that holds a digit is one of the values the same command gives as JSON (a
  split value leaves fragments, `C-2026-00` / `01`, that are none of them) and has the shape of a whole one;
* a currency and its amount (`EUR 210.00`) are never split: no currency code ends a cell's line with its
  amount beginning the cell's next line (or the other way round);
* a header is never split inside a word.

Columns that do not fit are left out, least important first (render/output.py: LEAST_IMPORTANT,
KEPT_LONGEST), and named on stderr.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import PROJECT, invoke

AS_OF = "2026-11-28"
WIDTHS = (60, 80, 120)

REPORTS = [
    ("report", "arr"),
    ("report", "arr", "--by", "product"),
    ("report", "mrr"),
    ("report", "mrr", "--by", "family"),
    ("report", "movements", "--period", "2026q3", "--detail"),
    ("report", "movements", "--from", "2026-01-01", "--to", "2026-11-01", "--by", "month", "--detail"),
    ("report", "ltv"),
    ("report", "board"),
]
LISTS = [
    ("quote", "list"),
    ("contract", "list"),
    ("account", "list"),
    ("invoice", "list"),
    ("catalog", "list"),
]
RENEWALS = [
    ("renewals",),
    ("renewals", "--within", "365"),
    ("renewals", "--by", "month"),
]
SHOWS = [
    ("account", "show", "acme"),
    ("account", "show", "hooli"),
    ("contract", "show", "C-2026-0001"),
    ("contract", "show", "C-2026-0002"),
    ("quote", "show", "Q-2026-0001"),
    ("quote", "show", "Q-2026-0002"),
    ("catalog", "show", "PRO-SEAT"),
]
COMMANDS = REPORTS + LISTS + RENEWALS + SHOWS

# columns that a command's table adds to what its JSON holds
TABLE_ONLY_HEADERS = {"amount", "metric", "value", "field", "waterfall"}

ID = re.compile(r"[A-Z]{1,4}-\d{4}-\d{4}")
DATE = re.compile(r"\d{4}-\d{2}(-\d{2})?")
AMOUNT = re.compile(r"[-+−]?\d+\.\d+%?")
AMOUNT_START = re.compile(r"[-+−]?\d[\d.,]*")


def _currencies() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


CURRENCIES = _currencies()


@pytest.fixture(scope="module")
def busy(tmp_path_factory) -> Path:
    """The example repository with three quotes (PLN, EUR, one still valid on AS_OF) and its invoices issued."""
    root = tmp_path_factory.mktemp("widths") / "repo"
    root.mkdir()
    shutil.copy2(PROJECT / "cpq.toml", root / "cpq.toml")
    for d in ("catalog", "contracts", "fx"):
        shutil.copytree(PROJECT / d, root / d)
    for args in (
        [
            "quote",
            "new",
            "--account",
            "acme",
            "--start",
            "2026-03-01",
            "--line",
            "PRO-SEAT=10",
            "--as-of",
            "2026-02-01",
        ],
        ["quote", "new", "--account", "umbrella", "--start", "2026-04-01", "--line", "PRO-SEAT=5", "--line", "SSO=5"]
        + ["--as-of", "2026-02-01"],
        [
            "quote",
            "new",
            "--account",
            "globex",
            "--start",
            "2027-01-01",
            "--line",
            "PRO-SEAT=3",
            "--as-of",
            "2026-11-20",
        ],
        ["invoice", "run", "--as-of", AS_OF],
    ):
        result = invoke(*args, "--repo", root)
        assert result.exit_code == 0, result.stderr
    return root


def _values(doc) -> set[str]:
    out: set[str] = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            out |= _values(v)
            out.add(str(k))
    elif isinstance(doc, list):
        for v in doc:
            out |= _values(v)
    elif doc is not None:
        out.add(str(doc))
        out |= {w.strip(",;:·") for w in re.split(r"[\s()│|]+", str(doc)) if w}
    return out


def _totals(doc) -> set[str]:
    """The sums of each amount of a list of rows: a footer's totals (`report movements --by month`)."""
    from decimal import Decimal, InvalidOperation

    out: set[str] = set()
    if isinstance(doc, dict):
        return {t for v in doc.values() for t in _totals(v)}
    if isinstance(doc, list):
        rows = [r for r in doc if isinstance(r, dict)]
        for key in {k for r in rows for k in r}:
            try:
                out.add(str(sum(Decimal(str(r[key])) for r in rows if AMOUNT.fullmatch(str(r.get(key))))))
            except InvalidOperation:
                pass
        out |= {t for v in doc for t in _totals(v)}
    return out


def _keys(doc) -> set[str]:
    if isinstance(doc, dict):
        return {str(k) for k in doc} | {k for v in doc.values() for k in _keys(v)}
    if isinstance(doc, list):
        return {k for v in doc for k in _keys(v)}
    return set()


def _runs(line: str) -> list[tuple[int, int, list[str]]]:
    """The cells of a line, (start, end, words): text separated by two spaces or more (a table's columns are)."""
    return [(m.start(), m.end(), m.group().split(" ")) for m in re.finditer(r"\S+(?: \S+)*", line)]


def _is_currency(word: str) -> bool:
    return word.strip(",;:(") in CURRENCIES


def _is_amount(word: str) -> bool:
    return bool(AMOUNT_START.fullmatch(word.strip(",;:)")))


def split_pairs(lines: list[str]) -> list[str]:
    """Currency-amount pairs split across lines: a cell whose line ends with a currency code and whose next line
    (the same cell: starting or ending at the same column) begins with an amount (`EUR 210.00, PLN` /
    `900.00`), or whose line ends with an amount that is not a currency's and whose next line is that
    currency (`Total ARR: 256461.70` / `PLN`)."""
    found = []
    for above, below in zip(lines, lines[1:]):
        cells_below = _runs(below)
        for start, end, words in _runs(above):
            last = words[-1]
            for s, e, nxt in cells_below:
                if s != start and e != end:
                    continue
                forward = _is_currency(last) and _is_amount(nxt[0])
                backward = (
                    _is_amount(last)
                    and not last.endswith(",")
                    and not (len(words) > 1 and _is_currency(words[-2]))
                    and _is_currency(nxt[0])
                    and not (len(nxt) > 1 and _is_amount(nxt[1]))
                )
                if forward or backward:
                    found.append(f"{above.strip()!r} / {below.strip()!r}")
    return found


def split_values(lines: list[str], known: set[str], strict_from: int | None) -> list[str]:
    """Words that are a piece of an ID, a date or an amount. Every word holding a digit must be one of the
    JSON's values and shaped like a whole ID, date or amount; below ``strict_from`` (a list's rows) every
    word must be one of the JSON's values."""
    found = []
    for i, line in enumerate(lines):
        strict = strict_from is not None and i > strict_from
        for word in re.findall(r"[^\s│|()]+", line):
            word = word.strip(",;:·")
            if not word or re.fullmatch(r"\d{1,3}", word) or re.fullmatch(r"[─━—-]+", word):
                continue  # a count (titles, footers); a split value leaves a fragment with a dash, dot or letter too
            if not (strict or any(ch.isdigit() for ch in word)):
                continue
            if word not in known and word.rstrip("%") not in known:
                found.append(f"{word!r} (not a value) in {line!r}")
            elif re.search(r"[A-Z]-\d", word) and not ID.search(word):
                found.append(f"{word!r} (a piece of an ID) in {line!r}")
            elif re.match(r"\d{4}-", word) and not re.fullmatch(rf"{DATE.pattern}(\.\.{DATE.pattern})?", word):
                found.append(f"{word!r} (a piece of a date) in {line!r}")
            elif re.search(r"\d\.|\.\d", word) and not (AMOUNT.fullmatch(word) or "-" in word[1:]):
                found.append(f"{word!r} (a piece of an amount) in {line!r}")
    return found


def split_headers(lines: list[str], names: set[str]) -> list[str]:
    """Header words that are not column names (a header folded inside a word): the lines between a table's
    blank top edge and its rule."""
    found = []
    for i, line in enumerate(lines):
        if not re.fullmatch(r" ─+", line):
            continue
        top = max((j for j in range(i) if not lines[j].strip()), default=-1)
        for header in lines[top + 1 : i]:
            found += [f"{w!r} in header {header!r}" for w in header.split() if w not in names]
    return found


def too_wide(lines: list[str], width: int) -> list[str]:
    from rich.cells import cell_len

    return [f"{cell_len(ln)} > {width}: {ln!r}" for ln in lines if cell_len(ln) > width]


def trailing_spaces(lines: list[str]) -> list[str]:
    return [repr(ln) for ln in lines if ln != ln.rstrip()]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_tables_fit_the_width_and_split_no_value(busy, cli, args, width):
    as_json = cli("--repo", busy, "--as-of", AS_OF, *args, "--format", "json")
    assert as_json.code == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    known = _values(doc) | _totals(doc) | {"yes", "no"}  # booleans read yes/no in a table
    table = cli("--repo", busy, "--as-of", AS_OF, *args, env={"COLUMNS": str(width)})
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    rules = [i for i, ln in enumerate(lines) if re.fullmatch(r" ─+", ln)]
    assert rules, table.stdout  # a table was printed
    strict_from = rules[0] if args[-1] == "list" else None  # a list's cells are the JSON's values
    items = next((v for v in doc.values() if isinstance(v, list)), [])
    if args[-1] == "list":
        assert items, f"{args}: a list with no rows checks nothing"
    assert too_wide(lines, width) == []
    assert trailing_spaces(lines) == []
    assert split_values(lines, known, strict_from) == []
    assert split_pairs(lines) == []
    assert split_headers(lines, _keys(doc) | TABLE_ONLY_HEADERS) == []


def test_the_checks_catch_what_the_first_version_printed():
    """`catalog list` at 120 used to print `EUR 210.00, PLN` / `900.00`; word by word each piece is a value."""
    lines = [
        " API-CALLS-PLAN   API calls plan    list              EUR 210.00, PLN",
        "                  (1M calls per                       900.00",
        " PRO-SEAT         Pro seat          list              EUR 280.00, PLN   SEAT-VOLUME",
        "                                                      1200.00",
    ]
    assert len(split_pairs(lines)) == 2
    assert split_pairs([" Total ARR: 256461.70", " PLN"]) != []
    assert split_pairs([" MRR 21371.81 · NRR 103.00% · MRR", " 21371.81"]) == []  # MRR is no currency
    assert split_values([" C-2026-00", " 01"], {"C-2026-0001"}, None) != []
    assert split_values([" 2026-12-", " 31"], {"2026-12-31"}, None) != []
    assert split_values([" 256461.", " 70"], {"256461.70"}, None) != []
    assert split_headers([" active_cont  mrr", " racts", " ─────"], {"active_contracts", "mrr"}) != []
    assert too_wide([" " * 61], 60) != []


@pytest.mark.parametrize("width", WIDTHS)
def test_contract_list_keeps_the_currency_of_its_amounts(busy, cli, width):
    """Issue 18: at 80 columns `currency` was left out while mrr and arr (EUR and PLN mixed) stayed."""
    run = cli("--repo", busy, "--as-of", AS_OF, "contract", "list", env={"COLUMNS": str(width)})
    assert run.code == 0, run.stderr
    header = run.stdout.splitlines()[2].split()
    assert header[0] == "contract" and "currency" in header and ({"mrr", "arr"} & set(header))
    assert "start" not in header or "end" in header  # a secondary date gives way first
    left_out = [c for c in ("start", "end", "mrr", "arr", "account", "status") if c not in header]
    if left_out:
        assert f"left out to fit {width} columns: " in run.stderr
        assert all(c in run.stderr for c in left_out)
    else:
        assert "left out" not in run.stderr


def test_least_important_columns_are_left_out_first(monkeypatch, capsys):
    """Names, secondary dates and counts give way before amounts; currency stays while an amount is shown;
    the first column never goes; what is left out is named on stderr in the table's order."""
    from rich.console import Console

    from cpqctl.render import output

    monkeypatch.setattr(output, "console", lambda stderr=False: Console(width=60, no_color=True, soft_wrap=False))
    cols = ["contract", "account", "name", "status", "start", "end", "mrr", "arr", "currency", "next_renewal"]
    rows = [
        {
            "contract": "C-2026-0001",
            "account": "acme",
            "name": "ACME Sp. z o.o.",
            "status": "active",
            "start": "2026-01-01",
            "end": "2026-12-31",
            "mrr": "5400.00",
            "arr": "64800.00",
            "currency": "PLN",
            "next_renewal": "2026-12-31",
        }
    ]
    output.rows_table(cols, rows, right=("mrr", "arr"))
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    header = next(ln for ln in lines if "contract" in ln).split()
    assert header == ["contract", "account", "status", "mrr", "arr", "currency"]
    assert "left out to fit 60 columns: name, start, end, next_renewal" in captured.err
    assert all(len(ln) <= 60 for ln in lines)


@pytest.mark.parametrize("width", [26, 30, 40, 60])
def test_a_currency_stays_with_its_amount(monkeypatch, capsys, width):
    """A cell of several "CUR amount" pairs folds between pairs only, at any width."""
    from rich.console import Console

    from cpqctl.render import output

    monkeypatch.setattr(output, "console", lambda stderr=False: Console(width=width, no_color=True, soft_wrap=False))
    price = "EUR 2400.00, PLN 10000.00, USD 2600.00"
    output.rows_table(["code", "price"], [{"code": "PLATFORM", "price": price}])
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert "left out" not in captured.err
    assert split_pairs(lines) == []
    at = lines[1].index("price")
    cell = " ".join(ln[at:].strip() for ln in lines[3:])
    assert re.sub(r"\s+", " ", cell).strip() == price
    assert all(len(ln) <= width for ln in lines)
    assert len([ln for ln in lines[3:] if ln[at:].strip()]) == {26: 3, 30: 3, 40: 2, 60: 1}[width]  # pair by pair


@pytest.mark.parametrize("width", [40, 120])
def test_a_title_wraps_at_the_output_width_not_the_tables(monkeypatch, capsys, width):
    """A narrow table keeps its title on one line when the output is wide enough; it folds between words only
    when the output is narrower than the title."""
    from rich.console import Console

    from cpqctl.render import output

    monkeypatch.setattr(output, "console", lambda stderr=False: Console(width=width, no_color=True, soft_wrap=False))
    title = "Renewals by month 2027-01 → 2027-03 (as of 2026-11-01, at risk: not quoted)"
    output.rows_table(["month", "arr"], [{"month": "2027-01", "arr": "35466.40"}], title=title, right=("arr",))
    lines = capsys.readouterr().out.splitlines()
    if width >= len(title):
        assert lines[0] == title
    else:
        head = lines[: next(i for i, ln in enumerate(lines) if not ln.strip())]
        assert len(head) == 2 and " ".join(ln.strip() for ln in head) == title
        assert all(len(ln.rstrip()) <= width for ln in lines)
