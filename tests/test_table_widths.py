"""Tables at 60, 80 and 120 columns never split an ID, a date or an amount (issue 18).

Every word of a table that holds a digit (an ID, a date, an amount, a count) must be one of the values the
same command gives as JSON: a split value leaves fragments (`C-2026-00` / `01`) that are none of them.
Columns that do not fit are left out (rightmost first) and named on stderr.
"""

from __future__ import annotations

import json
import re

import pytest

AS_OF = "2026-11-28"
COMMANDS = [
    ("report", "arr"),
    ("report", "mrr"),
    ("report", "movements", "--period", "2026q3"),
    ("report", "ltv"),
    ("quote", "list"),
    ("contract", "list"),
    ("account", "list"),
    ("catalog", "list"),
    ("renewals",),
    ("account", "show", "acme"),
    ("contract", "show", "C-2026-0001"),
]


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


@pytest.fixture
def invoiced(example_repo, cli):
    assert cli("invoice", "run", "--repo", example_repo, "--as-of", AS_OF).code == 0
    return example_repo


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("args", COMMANDS + [("invoice", "list")], ids=" ".join)
def test_no_id_date_or_amount_is_split(invoiced, cli, monkeypatch, args, width):
    as_json = cli("--repo", invoiced, "--as-of", AS_OF, *args, "--format", "json")
    assert as_json.code == 0, as_json.stderr
    known = _values(json.loads(as_json.stdout)) | {"yes", "no"}  # booleans read yes/no in a table
    monkeypatch.setenv("COLUMNS", str(width))
    table = cli("--repo", invoiced, "--as-of", AS_OF, *args)
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    rule = next(i for i, ln in enumerate(lines) if "───" in ln)
    strict = args[-1] == "list"  # a list's cells are the JSON's values: every word of its body is one of them
    blank = next((i for i, ln in enumerate(lines[:rule]) if not ln.strip()), -1)
    header_words = {w for ln in lines[blank + 1 : rule] for w in ln.split()}  # below the title
    items = next((v for v in json.loads(as_json.stdout).values() if isinstance(v, list)), [])
    if strict and items:  # a header is never split inside a word either
        assert header_words <= {str(k) for item in items for k in item}, header_words
    for word in re.findall(r"[^\s│|()]+", "\n".join(lines[rule + 1 :] if strict else lines)):
        word = word.strip(",;:·")
        if re.fullmatch(r"\d{1,3}", word) or not word or re.fullmatch(r"[─━—-]+", word):
            continue  # a count (titles, footers); a split value leaves a fragment with a dash, dot or letter too
        if strict or any(ch.isdigit() for ch in word):
            assert word in known or word.rstrip("%") in known, (args, width, word)
