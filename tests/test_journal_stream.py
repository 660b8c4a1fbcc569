"""`cpqctl journal` writes its text as it makes it (issue 21: the journal of 50,000 billed accounts held 2.4 GB):
the chunks are byte for byte the text built whole (``json.dumps(..., indent=2)`` for JSON, ``"\\n".join`` for the
others), the transactions come in the one sort order the whole list had, and ``-o FILE`` written in chunks leaves
the old file whole when a chunk fails to come."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from cpqctl.formats import journal as text
from cpqctl.formats.journal import Posting, Txn

_words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_postings = st.lists(
    st.builds(
        Posting,
        st.sampled_from(["Assets:Receivable", "Income:Revenue", "Liabilities:VAT-Payable"]),
        st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
        st.sampled_from(["PLN", "EUR", "JPY"]),
    ),
    min_size=1,
    max_size=4,
)
_txns = st.lists(
    st.builds(
        Txn,
        st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
        _words,
        _words,
        _postings.map(tuple),
        st.lists(_words, max_size=2).map(tuple),
        st.lists(st.tuples(_words, _words), max_size=3).map(tuple),
    ),
    max_size=8,
)


def _reference_json(txns: list[Txn]) -> str:
    """The whole document as one ``json.dumps`` (what the journal wrote before it was streamed)."""
    rows = [text._json_row(t) for t in txns]
    return json.dumps({"transactions": rows}, ensure_ascii=False, indent=2) + "\n"


@settings(max_examples=200, deadline=None)
@given(_txns)
def test_json_in_chunks_is_the_whole_dump(txns: list[Txn]) -> None:
    streamed = "".join(text.json_chunks(iter(txns)))
    assert streamed == _reference_json(txns)
    assert json.loads(streamed)["transactions"] == json.loads(_reference_json(txns))["transactions"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=40), st.integers(min_value=1, max_value=64))
def test_lines_in_chunks_join_as_the_whole(lines: list[str], size: int) -> None:
    chunks = list(text._joined(iter(lines), size))
    assert "".join(chunks) == "\n".join(lines)
    assert all(chunks)  # no empty chunk written


@settings(max_examples=100, deadline=None)
@given(_txns)
def test_csv_in_chunks_is_one_writer(txns: list[Txn]) -> None:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["date", "transaction", "payee", "narration", "account", "amount", "currency", "links", "meta"])
    for n, t in enumerate(txns, 1):
        for p in t.postings:
            meta = ";".join(f"{k}={v}" for k, v in t.meta)
            w.writerow([t.date.isoformat(), n, t.payee, t.narration, p.account, format(p.amount, "f"), p.currency,
                        " ".join(t.links), meta])  # fmt: skip
    assert "".join(text.csv_chunks(iter(txns))) == buf.getvalue()


def test_the_entries_come_in_the_order_one_sort_gives(year: Path) -> None:
    """The merged streams (invoices, payments, each currency's revenue and unbilled) are in the order a stable
    sort of every transaction by its key gives, and the transactions are those the key names."""
    from cpqctl.app.journal import entries, transactions
    from cpqctl.app.workspace import Workspace

    repo = Workspace(year, as_of=date(2026, 12, 31)).read({"account", "contract", "invoice", "payment", "catalog"})
    keys = [k for k, _, _ in entries(repo, date(2026, 12, 31))]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    kinds = {k[1] for k in keys}
    assert kinds == {0, 1, 2, 3}  # invoices, payments, revenue recognised, unbilled receivables
    for key, txn in transactions(repo, date(2026, 12, 31)):
        assert txn.date == key[0]
        assert all(p.currency == txn.postings[0].currency for p in txn.postings)  # one currency a transaction


def test_a_chunk_that_fails_leaves_the_old_file(tmp_path: Path) -> None:
    from cpqctl.store import atomic_write_bytes

    target = tmp_path / "books.beancount"
    target.write_bytes(b"old books\n")

    def chunks():
        yield b"new books, first half\n"
        raise RuntimeError("the second half never came")

    with pytest.raises(RuntimeError):
        atomic_write_bytes(target, chunks())
    assert target.read_bytes() == b"old books\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["books.beancount"]  # no temp file left
    atomic_write_bytes(target, iter([b"a", b"b\n"]))
    assert target.read_bytes() == b"ab\n"


def test_the_cli_writes_the_same_text_to_stdout_and_to_a_file(year: Path, tmp_path: Path) -> None:
    from tests.conftest import invoke

    for fmt in text.FORMATS:
        out = tmp_path / f"j.{fmt}"
        r = invoke("journal", "--repo", year, "--as-of", "2026-12-31", "--format", fmt)
        f = invoke("journal", "--repo", year, "--as-of", "2026-12-31", "--format", fmt, "-o", out)
        assert r.exit_code == 0 and f.exit_code == 0, r.stderr + f.stderr
        assert out.read_text(encoding="utf-8") == r.stdout
        assert r.stderr == f.stderr and "transaction(s) through 2026-12-31" in r.stderr


def test_the_schedules_are_read_once_as_they_are_made(year: Path) -> None:
    """The roll-forward and the recognised sums take the schedules one at a time (a generator, never held): the
    same figures as from the whole tuple, and two currencies are still refused."""
    from cpqctl.app import revenue
    from cpqctl.app.workspace import Workspace
    from cpqctl.core import revrec

    repo = Workspace(year, as_of=date(2026, 12, 31)).read({"account", "contract", "invoice", "catalog"})
    for cur in revenue.currencies(repo):
        whole = revenue.schedules(repo, cur)
        assert whole, cur
        made = revenue.each_schedule(repo, cur)
        assert revrec.roll_forward(made) == revrec.roll_forward(list(whole))
        first, last = date(2026, 1, 1), date(2026, 12, 31)
        by = lambda ob: ob.contract
        assert revrec.recognised(revenue.each_schedule(repo, cur), first, last, by) == revrec.recognised(
            list(whole), first, last, by
        )
    mixed = (s for cur in revenue.currencies(repo) for s in revenue.each_schedule(repo, cur))
    assert len(revenue.currencies(repo)) > 1
    with pytest.raises(ValueError, match="take one currency at a time"):
        revrec.roll_forward(mixed)


@pytest.mark.parametrize("by", ["account", "product", "contract", "month"])
def test_rpo_contract_by_contract_is_rpo_over_every_invoice(generated, by) -> None:
    """`report rpo` sums each contract's remaining obligations on its own (every contract's future invoices at once
    took 1.9 GB at 50,000 accounts): the rows are those of one computation over every contracted invoice."""
    from decimal import Decimal

    from cpqctl.app import revenue
    from cpqctl.app.workspace import Workspace
    from cpqctl.core import revrec
    from cpqctl.core.money import money_str

    day = date(2026, 6, 30)
    ws = Workspace(generated, as_of=day)
    got = revenue.rpo_report(ws, by=by).rows
    repo = ws.read({"account", "contract", "invoice", "catalog"})
    every = [i for group in revenue.contracted(repo, day) for i in group]
    assert any("~" in i.invoice for i in every)  # contracts still to bill through their ends
    key = revenue._key(by) if by != "month" else None
    expected = []
    for cur in sorted({i.currency for i in every}):
        scheds = revenue.schedules(repo, cur, invoices=every)
        total, current = revrec.rpo(scheds, day, key), revrec.rpo(scheds, day, key, within=12)
        for k in sorted(total):
            row = {"currency": cur, "rpo": money_str(total[k], cur)}
            row["next_12_months"] = money_str(current.get(k, Decimal(0)), cur)
            expected.append({by: k, **row} if key is not None else row)
    assert got == expected and len(got) > {"month": 1, "product": 5}.get(by, 20)
