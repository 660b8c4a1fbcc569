"""`invoice list` and `report ar` read a big repository one part at a time (issue 21: a year of 50,000 accounts'
invoices held whole took 0.6-0.9 GB): whole account folders with their contracts' invoices and their accounts'
payments (:meth:`cpqctl.load.parts.Plan.reading`). The output is byte for byte the whole read's, payments naming
no account included (every part reads them: each settles the invoices of its own part), and the whole read
answers whenever a part could differ from it: a payment settling another account's invoice, an invoice of a
contract with no file, an ID in two parts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import age, copy_repo, same_in_parts, whole_and_parts

DAY = "2026-12-31"
SMALL = "40"  # account, contract, invoice and payment files per part: the 60-account repository in about 8 parts
WHOLE = "100000000"


@pytest.fixture(autouse=True)
def settled(monkeypatch) -> None:
    monkeypatch.setattr("cpqctl.load.cache.RACY_NS", 0)


def _invoices_of(root: Path, account: str) -> list[tuple[str, str]]:
    """(number, gross total) of the account's invoices, in name order."""
    out = []
    for p in sorted((root / "invoices").glob("*.yaml")):
        text = p.read_text(encoding="utf-8")
        if f"\naccount: {account}\n" in text:
            gross = re.search(r"^gross_total: ([0-9.-]+)$", text, re.M)
            out.append((p.stem, gross.group(1) if gross else "0"))
    return out


def _payment(root: Path, ident: str, day: str, amount: str, account: str, allocations, kind: str = "payment"):
    folder = root / "payments" / day[:7]
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"payment: {ident}", f"date: {day}"]
    if kind != "payment":
        lines.append(f"kind: {kind}")
    if account:
        lines.append(f"account: {account}")
    lines += [f"amount: {amount}", "currency: PLN", "payer: Someone"]
    if allocations:
        lines.append("allocations:")
        lines += [f"  - {{invoice: {n}, amount: {a}}}" for n, a in allocations]
    (folder / f"{ident}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def paid(generated, tmp_path) -> Path:
    """The generated repository with payments: one paying an invoice in full, one in part, a refund, a write-off,
    an account's unallocated credit, and a bank line naming no account that settles invoices of two accounts far
    apart (two parts)."""
    root = copy_repo(generated, tmp_path / "repo")
    a2, a3, a20, a55 = (_invoices_of(root, f"acct-000{n:02d}") for n in (2, 3, 20, 55))
    assert a2 and a3 and a20 and a55
    (n2, g2) = a2[0]
    _payment(root, "PAY-2026-9001", "2026-06-10", g2, "acct-00002", [(n2, g2)])
    (n3, _) = a3[0]
    (n55, _) = a55[0]
    _payment(root, "PAY-2026-9002", "2026-06-11", "300.00", "", [(n3, "100.00"), (n55, "200.00")])
    _payment(root, "PAY-2026-9003", "2026-07-01", "1234.56", "acct-00010", [])
    (n20, g20) = a20[0]
    _payment(root, "PAY-2026-9004", "2026-07-02", g20, "acct-00020", [(n20, g20)], kind="write-off")
    _payment(root, "PAY-2026-9005", "2026-07-03", "50.00", "acct-00002", [(n2, "50.00")], kind="refund")
    if len(a2) > 1:
        _payment(root, "PAY-2026-9006", "2026-08-03", "10.00", "acct-00002", [(a2[1][0], "10.00")])
    age(root)
    return root


ASKED = [
    ("invoice", "list", "--format", "json"),
    ("invoice", "list"),
    ("invoice", "list", "--overdue", "--format", "json"),
    ("invoice", "list", "--status", "paid", "--status", "partly paid", "--format", "json"),
    ("invoice", "list", "--from", "2026-03-01", "--to", "2026-06-30", "--format", "csv"),
    ("report", "ar", "--format", "json"),
    ("report", "ar"),
    ("report", "ar", "--dso-days", "30", "--format", "json"),
]


def _both(cli, root: Path, args: tuple[str, ...]):
    return whole_and_parts(cli, root, args, DAY, SMALL)


@pytest.mark.parametrize("args", ASKED, ids=lambda a: " ".join(a))
def test_the_parts_answer_what_the_whole_answers(paid, cli, parted, args) -> None:
    whole, _ = same_in_parts(cli, paid, args, DAY, SMALL, parted)
    if args[-1] == "json" and args[0] == "invoice":
        assert '"status": "paid"' in whole.stdout or "--overdue" in args


def test_the_payment_naming_no_account_settles_in_each_part(paid, cli, parted) -> None:
    """The bank line naming no account is read by every part and settles the invoice of each (as in the whole)."""
    import json

    _, parts = _both(cli, paid, ("invoice", "list", "--format", "json"))
    rows = {r["invoice"]: r for r in json.loads(parts.stdout)["invoices"]}
    text = (paid / "payments" / "2026-06" / "PAY-2026-9002.yaml").read_text()
    settled = re.findall(r"invoice: ([A-Z0-9-]+), amount: ([0-9.]+)", text)
    assert len(settled) == 2
    for number, amount in settled:
        assert rows[number]["paid"] == amount, rows[number]
    assert parted == [False, True]


@pytest.mark.parametrize("case", ["cross-account allocation", "invoice of no contract", "payment of no account"])
def test_what_the_parts_cannot_stand_for_is_read_whole(paid, cli, parted, case) -> None:
    if case == "cross-account allocation":  # acct-00002 pays acct-00055's invoice: E-PAYMENT-ACCOUNT for `check`
        (n55, _) = _invoices_of(paid, "acct-00055")[0]
        _payment(paid, "PAY-2026-9100", "2026-09-01", "99.00", "acct-00002", [(n55, "99.00")])
    elif case == "invoice of no contract":  # its contract's file is gone: the whole read still lists its invoices
        gone = sorted((paid / "contracts" / "acct-00005").glob("C-*.yaml"))[0]
        assert any(f"\ncontract: {gone.stem}\n" in p.read_text() for p in (paid / "invoices").glob("*.yaml"))
        gone.unlink()
    else:
        _payment(paid, "PAY-2026-9101", "2026-09-02", "5.00", "acct-99999", [])
    age(paid)
    for args in (("invoice", "list", "--format", "json"), ("report", "ar", "--format", "json")):
        parted.clear()
        whole, parts = _both(cli, paid, args)
        assert whole.code == 0, whole.stderr
        assert parts == whole
        assert parted == [False, False]  # the parts declined: the whole read answered


def test_a_filter_naming_an_account_reads_the_whole(paid, cli, parted) -> None:
    whole, parts = _both(cli, paid, ("report", "ar", "--account", "acct-00002", "--format", "json"))
    assert parts == whole and whole.code == 0
    unknown = cli("invoice", "list", "--account", "acct-0002", "--repo", paid, env={"CPQ_CHUNK_FILES": SMALL})
    assert unknown.code != 0 and "E-UNKNOWN-ACCOUNT" in unknown.stderr and "did you mean `acct-000" in unknown.stderr
    assert not any(parted)


def test_a_loader_error_is_refused_as_the_whole_read_refuses_it(paid, cli, parted) -> None:
    bad = paid / "payments" / "2026-06" / "PAY-2026-9001.yaml"
    bad.write_text(bad.read_text().replace("amount:", "amount: [", 1), encoding="utf-8")
    age(paid)
    whole, parts = _both(cli, paid, ("invoice", "list", "--format", "json"))
    assert whole.code != 0 and parts == whole
    assert parted == [False, False]


@pytest.mark.parametrize("chunk", [SMALL, WHOLE], ids=["parts", "whole"])
def test_the_packed_invoice_list_is_the_list(paid, monkeypatch, parted, chunk, tmp_path) -> None:
    """`cpqctl serve` keeps `invoice list` packed (:class:`cpqctl.views.rows.Rows`), each part packed as it is read:
    the same rows in the same order, byte for byte, and its columns are the rows' values."""
    from datetime import date

    import cpqctl
    from cpqctl.app.listing import list_invoices
    from cpqctl.render.output import dumps_json
    from cpqctl.views.rows import Blob, Packer

    monkeypatch.setenv("CPQ_CHUNK_FILES", chunk)
    ws = cpqctl.open(paid, as_of=date.fromisoformat(DAY))
    plain = list_invoices(ws)
    spool = tmp_path / "spool"
    spool.mkdir()
    blob = Blob(spool)  # an unnamed file there, as `cpqctl serve` keeps it
    packed = list_invoices(ws, packed=Packer(("invoice", "status", "account"), blob))
    assert blob.on_disk and list(spool.iterdir()) == []
    assert parted == [chunk == SMALL] * 2
    assert len(packed.rows) == len(plain.rows) > 50
    assert dumps_json({**packed.data, "invoices": list(packed.rows)}) == dumps_json(plain.data)
    for column in ("invoice", "status", "account"):
        assert list(packed.rows.column(column)) == [r[column] for r in plain.rows]
    assert {"paid", "overdue"} <= set(packed.rows.column("status"))
