"""`cpqctl journal` on a big repository is made one part at a time (issue 21: the whole model with its journal's
keys took 1 GB at 50,000 accounts with a year of invoices): each part's transactions are kept on disk in journal
order and merged when written (:func:`cpqctl.app.journal._in_parts`). The text is byte for byte the whole
journal's in every format, with the unbilled receivables netted over every contract (each part's balance carried
past its last month and added up), payments naming no account written once, and one contract's revenue in two
currencies in the whole journal's order.

The repository is the example invoiced monthly through 2026 with both bank statements imported (conftest's
``year``): two currencies, a correction, a cancellation, unbilled revenue, payments of every kind."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import age, copy_repo

SMALL = "8"  # about one account a part
WHOLE = "100000000"
DAY = "2026-12-31"


@pytest.fixture(scope="module")
def repo(year: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_repo(year, tmp_path_factory.mktemp("journal") / "repo")
    age(root)
    return root


def _both(cli, root: Path, *args: str):
    whole = cli("journal", *args, "--repo", root, "--as-of", DAY, env={"CPQ_CHUNK_FILES": WHOLE})
    parts = cli("journal", *args, "--repo", root, "--as-of", DAY, env={"CPQ_CHUNK_FILES": SMALL})
    return whole, parts


@pytest.mark.parametrize("fmt", ["beancount", "hledger", "ledger", "csv", "json"])
@pytest.mark.parametrize("span", [(), ("--from", "2026-06-01"), ("--to", "2026-09-30"), ("--from", "2027-01-01")])
def test_the_journal_in_parts_is_the_whole_journal(repo, cli, parted, fmt, span) -> None:
    whole, parts = _both(cli, repo, "--format", fmt, *span)
    assert whole.code == 0, whole.stderr
    assert parts == whole
    assert parted == [False, True]


def test_what_crosses_the_parts_is_there(repo, cli) -> None:
    """The cases the merge must get right are in the journal: unbilled receivables, payments naming no account,
    invoices of several accounts on one day, two currencies."""
    whole, _ = _both(cli, repo, "--format", "csv")
    text = whole.stdout
    assert "Unbilled receivables" in text
    assert "Liabilities:Unidentified-Receipts" in text or "Liabilities:Customer-Credit" in text
    assert ",EUR" in text and ",PLN" in text
    assert "Assets:Unbilled-Revenue" in text


def test_a_written_file_equals_the_whole(repo, cli, tmp_path) -> None:
    a, b = tmp_path / "whole.beancount", tmp_path / "parts.beancount"
    whole = cli("journal", "-o", a, "--repo", repo, "--as-of", DAY, env={"CPQ_CHUNK_FILES": WHOLE})
    parts = cli("journal", "-o", b, "--repo", repo, "--as-of", DAY, env={"CPQ_CHUNK_FILES": SMALL})
    assert whole.code == parts.code == 0
    assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 10_000


def test_a_payment_settling_another_accounts_invoice_is_read_whole(repo, cli, parted, tmp_path) -> None:
    root = copy_repo(repo, tmp_path / "across")
    numbers = sorted(p.stem for p in (root / "invoices").glob("INV-*.yaml"))
    target = next(n for n in numbers if "\naccount: hooli\n" in (root / "invoices" / f"{n}.yaml").read_text())
    folder = root / "payments" / "2026-12"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "PAY-2026-9999.yaml").write_text(
        "payment: PAY-2026-9999\ndate: 2026-12-20\naccount: acme\namount: 10.00\ncurrency: PLN\npayer: Acme\n"
        f"allocations:\n  - {{invoice: {target}, amount: 10.00}}\n",
        encoding="utf-8",
    )
    age(root)
    whole, parts = _both(cli, root, "--format", "json")
    assert whole.code == 0, whole.stderr
    assert parts == whole and "PAY-2026-9999" in whole.stdout
    assert parted == [False, False]


def test_balances_of_parts_add_up_over_all_their_months() -> None:
    from cpqctl.app.journal import _added

    m = [date(2026, n, 1) for n in range(1, 7)]
    a = [(m[1], Decimal(5)), (m[2], Decimal(7))]  # February to March, then 7 carried on
    b = [(m[0], Decimal(1)), (m[1], Decimal(0))]  # January to February, then 0
    c = [(m[4], Decimal(-2)), (m[5], Decimal(3))]  # May to June, 0 before
    assert _added([a, b, c]) == [
        (m[0], Decimal(1)),
        (m[1], Decimal(5)),
        (m[2], Decimal(7)),
        (m[3], Decimal(7)),
        (m[4], Decimal(5)),
        (m[5], Decimal(10)),
    ]
    assert _added([]) == []
