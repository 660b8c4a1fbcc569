"""Payments and receivables (issue 19, docs/receivables.md): a year of the example repository invoiced month by
month, paid through an MT940 statement (PLN) and a CAMT.053 statement (EUR) written for this test in the banks'
formats (tests/fixtures/bank/), then every invoice's status and the AR aging checked against numbers worked out
by hand below."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from tests.conftest import PROJECT, invoke

BANK = PROJECT / "tests" / "fixtures" / "bank"
MT940 = BANK / "mt940-2026-pln.sta"
CAMT = BANK / "camt053-2026-eur.xml"
YEAR_END = "2026-12-31"


@pytest.fixture
def copy(year: Path, tmp_path: Path) -> Path:
    """A copy of the year to change."""
    return Path(shutil.copytree(year, tmp_path / "repo", ignore=shutil.ignore_patterns(".cpq")))


def _json(*args: object) -> dict:
    r = invoke(*args)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def _invoices(root: Path, as_of: str = YEAR_END, *extra: str) -> dict[str, dict]:
    data = _json("invoice", "list", "--repo", root, "--as-of", as_of, "--format", "json", *extra)
    return {row["invoice"]: row for row in data["invoices"]}


def _ar(root: Path, as_of: str = YEAR_END) -> dict[str, dict]:
    data = _json("report", "ar", "--repo", root, "--as-of", as_of, "--format", "json")
    return {f"{r['account']} {r['currency']}": r for r in data["rows"]}


def test_every_invoice_has_the_status_its_payments_give(year: Path) -> None:
    rows = _invoices(year)
    status = {n: (r["status"], r["open"]) for n, r in rows.items()}
    # MT940: paid by number, by number written with spaces (part), by exact amount (the payer's IBAN), by RF reference
    assert status["INV-2026-0002"] == ("paid", "0.00")
    assert status["INV-2026-0001"] == ("overdue", "13751.30")  # 23751.30 less the 10000.00 part
    assert status["INV-2026-0008"] == ("paid", "0.00")  # 1715.85 on 2026-04-20: the one invoice open for exactly that
    assert status["INV-2026-0011"] == ("paid", "0.00")  # the next 1715.85: 0008 is paid by then
    assert status["INV-2026-0012"] == ("paid", "0.00")  # RF10 INV2 0260 012 → INV-2026-0012; 2000.00 of 984.00
    assert status["INV-2026-0006"] == status["INV-2026-0009"] == ("paid", "0.00")  # one transfer naming both
    # CAMT.053: by the remittance text, by the end-to-end ID
    assert status["INV-2026-0003"] == ("paid", "0.00")
    # INV-2026-0005 paid 10620.00, then corrected by FK-2026-0001 (−630.00): the customer is owed 630.00
    assert status["INV-2026-0005"] == ("credited", "-630.00")
    assert rows["FK-2026-0001"]["status"] == "credited" and rows["FK-2026-0001"]["open"] is None
    # 687.33 on 2026-04-20 fits INV-2026-0004 and INV-2026-0007 alike: to review, allocated to neither
    assert status["INV-2026-0004"] == ("overdue", "687.33") and status["INV-2026-0007"] == ("overdue", "687.33")
    assert status["INV-2026-0034"] == ("overdue", "984.00")  # due 2026-12-15
    assert rows["INV-2026-0002"]["paid"] == "22755.00"


def test_status_moves_with_the_day(year: Path) -> None:
    """On 2026-01-10 INV-2026-0002 is open (not due before 01-15), on 2026-01-18 overdue, on 01-20 paid."""
    assert _invoices(year, "2026-01-10")["INV-2026-0002"]["status"] == "open"
    assert _invoices(year, "2026-01-18")["INV-2026-0002"]["status"] == "overdue"
    assert _invoices(year, "2026-01-20")["INV-2026-0002"]["status"] == "paid"
    # the part payment of 2026-01-28 on an invoice due 2026-01-15
    assert _invoices(year, "2026-01-28")["INV-2026-0001"]["status"] == "overdue"


def test_status_filters(year: Path) -> None:
    paid = _invoices(year, YEAR_END, "--status", "paid")
    assert set(paid) == {f"INV-2026-{n:04d}" for n in (2, 3, 6, 8, 9, 11, 12)}
    overdue = _invoices(year, YEAR_END, "--overdue")
    assert "INV-2026-0001" in overdue and "INV-2026-0002" not in overdue and "INV-2026-0005" not in overdue


def test_ar_aging_worked_by_hand(year: Path) -> None:
    """hooli: 984.00 a month from May, due the 15th; May's paid by the RF transfer of 2000.00 (1016.00 credit).
    On 2026-12-31 the June–September invoices are 199, 169, 138 and 107 days overdue (90+), October's 77, November's
    46, December's 16."""
    ar = _ar(year)
    hooli = ar["hooli PLN"]
    assert {b: hooli[b] for b in ("current", "1-30", "31-60", "61-90", "90+")} == {
        "current": "0.00",
        "1-30": "984.00",
        "31-60": "984.00",
        "61-90": "984.00",
        "90+": "3936.00",
    }
    assert hooli["credit"] == "1016.00" and hooli["balance"] == "5872.00"
    # DSO: 6888.00 receivable ÷ 1968.00 billed in the 90 days to 2026-12-31 (November and December) × 90
    assert hooli["dso"] == "315.0"
    assert ar["globex EUR"]["credit"] == "630.00" and ar["globex EUR"]["balance"] == "-630.00"
    assert ar["initech PLN"]["90+"] == "13751.30"  # INV-2026-0001, due 2026-01-15
    assert ar["initech PLN"]["61-90"] == "18129.34"  # INV-2026-0030, due 2026-10-15: 77 days


def test_ar_totals_reconcile_to_invoices_and_payments(year: Path) -> None:
    """Per currency: Σ balances = Σ invoiced gross − Σ payments received (the unmatched lines are nobody's yet)."""
    from cpqctl.load.repo import load_repo

    repo, _ = load_repo(year)
    ar = _ar(year)
    for cur in ("PLN", "EUR"):
        billed = sum((i.gross_total for i in repo.invoices.values() if i.currency == cur), Decimal(0))
        paid = sum(
            (p.amount for p in repo.payments.values() if p.currency == cur and p.account and p.kind == "payment"),
            Decimal(0),
        )
        assert Decimal(ar[f"total {cur}"]["balance"]) == billed - paid


def test_reimporting_records_nothing(copy: Path) -> None:
    before = sorted(p.relative_to(copy) for p in (copy / "payments").rglob("*.yaml"))
    assert len(before) == 10
    for statement in (MT940, CAMT):
        data = _json("payment", "import", statement, "--repo", copy, "--as-of", YEAR_END, "--format", "json")
        results = {e["result"] for e in data["entries"]}
        assert results <= {"already imported", "debit (left out)"}, results
    assert sorted(p.relative_to(copy) for p in (copy / "payments").rglob("*.yaml")) == before


def test_review_and_allocate(copy: Path) -> None:
    review = _json("payment", "list", "--review", "--repo", copy, "--as-of", YEAR_END, "--format", "json")
    assert [(p["payment"], p["amount"], p["currency"]) for p in review["payments"]] == [
        ("PAY-2026-0010", "687.33", "EUR"),
        ("PAY-2026-0006", "123.45", "PLN"),
    ]
    r = invoke("payment", "allocate", "PAY-2026-0010", "--account", "umbrella", "--repo", copy, "--as-of", YEAR_END)
    assert r.exit_code == 0, r.stderr
    text = (copy / "payments" / "2026-04" / "PAY-2026-0010.yaml").read_text()
    assert "account: umbrella" in text and "{invoice: INV-2026-0004, amount: 687.33}" in text  # the oldest due
    r = invoke("payment", "allocate", "PAY-2026-0006", "--other", "--repo", copy, "--as-of", YEAR_END)
    assert r.exit_code == 0, r.stderr
    assert _json("payment", "list", "--review", "--repo", copy, "--format", "json")["payments"] == []
    assert _invoices(copy)["INV-2026-0004"]["status"] == "paid"
    # still recorded: a later import of the same statement brings neither back
    data = _json("payment", "import", MT940, "--repo", copy, "--as-of", YEAR_END, "--format", "json")
    assert not [e for e in data["entries"] if e["payment"]]
    assert invoke("check", "--repo", copy).exit_code == 0


def test_record_part_and_over_payment_and_write_off(copy: Path) -> None:
    run = ("--repo", copy, "--as-of", YEAR_END)
    r = invoke("payment", "record", "-a", "vandelay", "--amount", "2000", "--invoice", "INV-2026-0014", *run)
    assert r.exit_code == 0, r.stderr
    rows = _invoices(copy)
    assert rows["INV-2026-0014"]["status"] == "paid"
    assert _ar(copy)["vandelay PLN"]["credit"] == "284.15"  # 2000.00 − 1715.85
    r = invoke("payment", "record", "-a", "vandelay", "--amount", "500.00", *run)  # oldest due first
    assert r.exit_code == 0, r.stderr
    assert _invoices(copy)["INV-2026-0018"]["open"] == "1215.85"
    assert _invoices(copy)["INV-2026-0018"]["status"] == "overdue"
    r = invoke(
        "payment", "record", "-a", "vandelay", "--kind", "write-off", "--amount", "1215.85", "-i", "INV-2026-0018", *run
    )
    assert r.exit_code == 0, r.stderr
    row = _invoices(copy)["INV-2026-0018"]
    assert (row["status"], row["open"], row["written_off"]) == ("paid", "0.00", "1215.85")
    assert invoke("check", "--repo", copy).exit_code == 0


def test_refund_of_a_credited_invoice(copy: Path) -> None:
    r = invoke(
        "payment", "record", "-a", "globex", "--kind", "refund", "--amount", "630.00", "-i", "INV-2026-0005",
        "--repo", copy, "--as-of", YEAR_END,
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert _invoices(copy)["INV-2026-0005"]["open"] == "0.00"
    assert "globex EUR" not in _ar(copy)  # nothing owed either way, nothing billed in the DSO window


def test_refused_allocations_write_nothing(copy: Path) -> None:
    run = ("--repo", copy, "--as-of", YEAR_END)
    files = sorted((copy / "payments").rglob("*"))
    r = invoke("payment", "record", "-a", "acme", "--amount", "5", "-i", "INV-2026-0003", *run)  # umbrella's, EUR
    assert r.exit_code == 2 and "E-PAYMENT-ALLOCATION" in r.stderr
    r = invoke("payment", "record", "-a", "acme", "--amount", "5", "-i", "INV-2026-0002", *run)  # paid already
    assert r.exit_code == 1 and "nothing open" in r.stderr
    r = invoke("payment", "record", "-a", "acme", "--amount", "5.001", *run)
    assert r.exit_code == 2 and "decimal places" in r.stderr
    r = invoke("payment", "record", "-a", "acme", "--amount", "-5", *run)
    assert r.exit_code == 2
    r = invoke("payment", "record", "-a", "acme", "--kind", "write-off", "--amount", "5", *run)
    assert r.exit_code == 2 and "names the invoices" in r.stderr
    assert sorted((copy / "payments").rglob("*")) == files


def test_check_finds_hand_edited_payments(copy: Path) -> None:
    path = copy / "payments" / "2026-01" / "PAY-2026-0001.yaml"
    text = path.read_text()
    path.write_text(text.replace("amount: 22755.00}", "amount: 23000.00}"))
    r = invoke("check", "--repo", copy, "--format", "json")
    codes = {d["code"] for d in json.loads(r.stdout)["diagnostics"]}
    assert {"E-PAYMENT-OVER-ALLOCATED", "E-PAYMENT-OVER-SETTLED"} <= codes, codes
    path.write_text(text)
    moved = copy / "payments" / "2026-02" / "PAY-2026-0001.yaml"
    path.rename(moved)
    r = invoke("check", "--repo", copy, "--format", "json")
    found = [d for d in json.loads(r.stdout)["diagnostics"] if d["code"] == "E-PAYMENT-FOLDER"]
    assert found and found[0]["file"] == "payments/2026-02/PAY-2026-0001.yaml" and found[0]["line"] == 2
    moved.rename(path)
    dup = copy / "payments" / "2026-01" / "PAY-2026-0099.yaml"
    dup.write_text(text.replace("PAY-2026-0001", "PAY-2026-0099").replace("amount: 22755.00}", "amount: 1.00}"))
    codes = {d["code"] for d in json.loads(invoke("check", "--repo", copy, "--format", "json").stdout)["diagnostics"]}
    assert "E-PAYMENT-DUPLICATE" in codes


def test_a_file_that_is_no_statement_is_refused(copy: Path, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    r = invoke("payment", "import", bad, "--repo", copy, "--as-of", YEAR_END)
    assert r.exit_code == 1 and "E-STATEMENT" in r.stderr and "Traceback" not in r.stderr
    broken = tmp_path / "broken.xml"
    broken.write_text(CAMT.read_text()[:900])
    r = invoke("payment", "import", broken, "--repo", copy, "--as-of", YEAR_END)
    assert r.exit_code == 1 and "E-STATEMENT" in r.stderr


def test_rf_reference_round_trip() -> None:
    """ISO 11649: RF + two check digits + the reference; the example of the standard's Wikipedia page validates."""
    from stdnum import iso11649

    from cpqctl.core.receivables import named_invoices, rf_reference, rf_references

    assert iso11649.is_valid("RF18539007547034")
    assert rf_reference("INV-2026-0012") == "RF10INV20260012"
    assert rf_references("zapłata RF10 INV2 0260 012, dziękuję") == ["RF10INV20260012"]
    assert rf_references("RF11 INV2 0260 012") == []  # a wrong check digit is no reference
    numbers = ["INV-2026-0012", "INV-2026-0001", "INV-2026-0010"]
    assert named_invoices("INV-2026-00101", numbers) == []  # not inside a longer number
    assert named_invoices("inv/2026/0010 and RF10INV20260012", numbers) == ["INV-2026-0012", "INV-2026-0010"]


_NUMBERS = ["INV-2026-0012", "INV-2026-0001", "INV-2026-0010", "FK/2026/7", "SKU-K1", "inv2026x", "A.1.B"]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(_NUMBERS),
            st.sampled_from(["RF10INV20260012", "RF10 INV2 0260 012", "INV 2026 0010", "inv/2026/0001"]),
            st.text(alphabet="INVFKSUABx0126 /-_.\t\u017f\u212a\u0131\u0130ąé,;:", max_size=12),
        ),
        max_size=6,
    ),
    st.sampled_from([" ", "", "-", ", ", "x", "/"]),
)
def test_the_index_of_numbers_names_what_every_pattern_names(parts, joiner) -> None:
    """A bank statement's lines are searched through one :class:`NumberIndex` of the invoice numbers (trying every
    number's pattern on every line took seconds a line at 190,000 invoices): on any text it names exactly what
    :func:`named_invoices` over all the numbers names, long s, Kelvin sign and dotted or dotless i included."""
    from cpqctl.core.receivables import NumberIndex, named_invoices

    text = joiner.join(parts)
    index = NumberIndex(_NUMBERS)
    assert named_invoices(text, sorted(index.candidates(text))) == named_invoices(text, _NUMBERS)


def test_the_index_finds_a_number_spelled_across_separators() -> None:
    from cpqctl.core.receivables import NumberIndex

    index = NumberIndex(_NUMBERS)
    assert index.candidates("zapłata za inv 2026/0012 i fk-2026-7") >= {"INV-2026-0012", "FK/2026/7"}
    assert "SKU-K1" in index.candidates("\u017fku \u212a1")  # what re.IGNORECASE folds onto S and K
    assert index.candidates("IN V-2026-0012") == set()  # a group is never split


def test_statement_shows_payments_and_the_ar_balance(year: Path) -> None:
    r = invoke("account", "render", "hooli", "--format", "md", "-o", "-", "--repo", year, "--as-of", YEAR_END)
    assert r.exit_code == 0, r.stderr
    text = r.stdout.replace("\xa0", " ")  # Polish money groups digits with no-break spaces
    assert "| 10.06.2026 | INV-2026-0012 | RF10 INV2 0260 012 | 2 000,00 zł |" in text
    assert "| PLN | 7 872,00 zł | 2 000,00 zł | **5 872,00 zł** |" in text  # = report ar's balance
    data = _json("account", "render", "hooli", "--format", "json", "-o", "-", "--repo", year, "--as-of", "2026-06-01")
    assert data["payments"] == []  # the transfer of 2026-06-10 is not there yet


def test_the_statement_reads_only_its_accounts_payments(year: Path, parses: list[str]) -> None:
    shutil.rmtree(year / ".cpq" / "cache", ignore_errors=True)  # parsed, not decoded from what other tests cached
    r = invoke("account", "render", "vandelay", "--format", "md", "-o", "-", "--repo", year, "--as-of", YEAR_END)
    assert r.exit_code == 0, r.stderr
    read = sorted(p for p in parses if p.startswith("payments/"))
    assert read == ["payments/2026-04/PAY-2026-0003.yaml", "payments/2026-05/PAY-2026-0004.yaml"]


def test_epc_qr_payload() -> None:
    """EPC069-12 v002 ("GiroCode"): BCD, version, UTF-8, SCT, no BIC, name, IBAN, EUR amount, no purpose, the RF
    reference; an amount out of range or a bad IBAN gives no code."""
    from cpqctl.core.receivables import epc_payload

    payload = epc_payload(
        "Example Software Sp. z o.o.", "PL86 1090 1014 0000 0712 1981 3006", Decimal("687.37"), "RF10INV20260012"
    )
    assert payload == (
        "BCD\n002\n1\nSCT\n\nExample Software Sp. z o.o.\nPL86109010140000071219813006\nEUR687.37\n\nRF10INV20260012"
    )
    assert epc_payload("X", "PL86109010140000071219813006", Decimal("12.3"), None, "INV 7").endswith(
        "EUR12.30\n\n\nINV 7"
    )
    assert epc_payload("X", "PL00109010140000071219813006", Decimal(1), None) is None
    assert epc_payload("X", "PL86109010140000071219813006", Decimal("1000000000.00"), None) is None


def test_invoices_print_the_rf_reference_and_eur_ones_the_qr_code(year: Path) -> None:
    eur = _json("invoice", "render", "INV-2026-0003", "--format", "json", "-o", "-", "--repo", year)
    assert eur["payment"]["reference"] == "RF59 INV2 0260 003"
    assert eur["payment"]["epc_qr"].startswith("<svg")
    pln = _json("invoice", "render", "INV-2026-0002", "--format", "json", "-o", "-", "--repo", year)
    assert pln["payment"]["epc_qr"] is None and pln["payment"]["reference"].replace(" ", "") == "RF86INV20260002"
    credit = _json("invoice", "render", "FK-2026-0001", "--format", "json", "-o", "-", "--repo", year)
    assert credit["payment"] is None  # asks for nothing


# --------------------------------------------------------------------------- one account's files (issue 21)


def test_recording_reads_one_account_yet_sees_every_payment_that_settles_it(copy: Path) -> None:
    """`payment record` loads only the account's files (flat with repository size): what its invoices still ask
    for counts a payment filed by hand, its number comes after every other account's payments, an invoice of
    another account is named as such, and a bank line naming no account that settles one of its invoices (an
    error `check` reports) refuses the write as the whole repository's check would."""
    run = ("--repo", copy, "--as-of", YEAR_END)
    opens = sorted(
        (r["due"], n, r["open"])
        for n, r in _invoices(copy).items()
        if r["account"] == "hooli" and r["currency"] == "PLN" and r["status"] in ("open", "overdue", "partly paid")
    )
    assert len(opens) >= 2
    (_, first, owed), (_, second, _) = opens[0], opens[1]
    by_hand = copy / "payments" / "2026-12" / "PAY-2026-0500.yaml"
    by_hand.parent.mkdir(exist_ok=True)
    by_hand.write_text(  # hooli's oldest open invoice settled by a payment filed by hand
        f"payment: PAY-2026-0500\ndate: 2026-12-30\naccount: hooli\namount: {owed}\ncurrency: PLN\n"
        f"payer: Hooli\nallocations:\n  - {{invoice: {first}, amount: {owed}}}\n",
        encoding="utf-8",
    )
    by_hand.with_name("PAY-2026-0900.yaml").write_text(  # another account's, numbered higher: not loaded here
        "payment: PAY-2026-0900\ndate: 2026-12-30\naccount: acme\namount: 1.00\ncurrency: PLN\npayer: Acme\n",
        encoding="utf-8",
    )
    before = {p.stem for p in (copy / "payments").rglob("*.yaml")}
    assert max(before) == "PAY-2026-0900"
    data = _json("payment", "record", "-a", "hooli", "--amount", "1.00", "--format", "json", *run)
    (row,) = data["payments"]
    assert row["allocations"] == [{"invoice": second, "amount": "1.00"}]  # the oldest one is settled already
    assert row["payment"] == "PAY-2026-0901"  # after every account's payments, not only hooli's
    r = invoke("payment", "record", "-a", "hooli", "--amount", "5", "-i", "INV-2026-0003", *run)  # umbrella's
    assert r.exit_code == 2 and "is an invoice of `umbrella` in EUR, not of `hooli` in PLN" in r.stderr
    assert invoke("check", "--repo", copy).exit_code == 0
    loose = by_hand.with_name("PAY-2026-8100.yaml")
    loose.write_text(
        f"payment: PAY-2026-8100\ndate: 2026-12-30\namount: 1.00\ncurrency: PLN\npayer: Unknown\n"
        f"allocations:\n  - {{invoice: {second}, amount: 1.00}}\n",
        encoding="utf-8",
    )
    files = sorted((copy / "payments").rglob("*"))
    r = invoke("payment", "record", "-a", "hooli", "--amount", "1.00", *run)
    assert r.exit_code == 1 and "E-PAYMENT-ACCOUNT" in r.stderr and "PAY-2026-8100" in r.stderr
    assert sorted((copy / "payments").rglob("*")) == files


def test_allocating_reads_one_account_and_writes_what_the_whole_repository_writes(copy: Path, monkeypatch) -> None:
    """`payment allocate` takes the account named (or the payment's own): its files and the bank lines to review.
    A payment of another account than the one named is allocated on the whole repository. Every file written is
    the whole repository's path's, byte for byte."""
    from cpqctl.app.workspace import Workspace
    from cpqctl.load import repo as loader

    whole = Path(shutil.copytree(copy, copy.parent / "whole", ignore=shutil.ignore_patterns(".cpq")))
    steps = [
        ("PAY-2026-0010", "--account", "umbrella"),  # a line to review, given to umbrella
        ("PAY-2026-0006", "--other"),  # a line to review that is nobody's payment: its own (no) account
        ("PAY-2026-0010", "--account", "umbrella", "--invoice", "INV-2026-0007"),  # umbrella's, re-allocated
        ("PAY-2026-0010", "--account", "acme"),  # umbrella's given to acme: not in acme's files
        ("PAY-2099-0001", "--account", "acme"),  # no such payment
    ]

    def scenario(root: Path) -> list[tuple[int, str, str]]:
        out = []
        for step in steps:
            r = invoke("payment", "allocate", *step, "--repo", root, "--as-of", YEAR_END)
            out.append((r.exit_code, r.stdout, r.stderr))
        return out

    loaded: list[str] = []
    parts = loader.load_account_parts
    monkeypatch.setattr(
        loader, "load_account_parts", lambda root, account, *more: loaded.append(account) or parts(root, account, *more)
    )
    got = scenario(copy)
    assert loaded == ["umbrella", "umbrella", "acme", "acme"]  # PAY-2026-0006 names no account: read whole
    monkeypatch.setattr(Workspace, "writing_account", lambda self, account, tolerate=frozenset(), **_: self.writing())
    assert scenario(whole) == got
    assert [x[0] for x in got][:3] == [0, 0, 0] and "E-UNKNOWN-PAYMENT" in got[4][2]
    files = {p.relative_to(copy).as_posix(): p.read_bytes() for p in sorted((copy / "payments").rglob("*.yaml"))}
    assert files == {
        p.relative_to(whole).as_posix(): p.read_bytes() for p in sorted((whole / "payments").rglob("*.yaml"))
    }


def _retarget_correction(root: Path, number: str) -> None:
    """FK-2026-0001 (globex's correction of its INV-2026-0005) made to correct ``number``, another account's
    invoice, its digest made again (a hand edit that loads)."""
    from cpqctl.formats.digest import digest_of, line_of, without_digest

    fk = root / "invoices" / "FK-2026-0001.yaml"
    body = without_digest(fk.read_text(encoding="utf-8"))
    assert "\ncorrects: INV-2026-0005\n" in body
    body = body.replace("\ncorrects: INV-2026-0005\n", f"\ncorrects: {number}\n")
    fk.write_text(body + line_of(digest_of(body)), encoding="utf-8")


def test_a_correction_billed_to_another_account_is_an_error_no_write_or_part_overlooks(copy: Path, monkeypatch):
    """A corrective invoice billed to another account than the invoice it corrects is `check`'s
    E-CORRECTION-ACCOUNT (art. 106j: it goes to the corrected invoice's buyer). The writes about one account that
    read what an invoice still asks (`payment record`, `invoice correct`) read such a correction of its invoices
    too and are refused, never computing the invoice's open amount without it; the reports in parts hand over to
    the whole read."""
    run = ("--repo", copy, "--as-of", YEAR_END)
    target = "INV-2026-0024"
    assert "\naccount: umbrella\n" in (copy / "invoices" / f"{target}.yaml").read_text(encoding="utf-8")
    _retarget_correction(copy, target)
    r = invoke("check", "--repo", copy, "--format", "json")
    codes = {d["code"] for d in json.loads(r.stdout)["diagnostics"] if d["severity"] == "error"}
    assert r.exit_code == 1 and "E-CORRECTION-ACCOUNT" in codes
    files = sorted(copy.rglob("*.yaml"))
    r = invoke("payment", "record", "-a", "umbrella", "--amount", "1000", "--invoice", target, *run)
    assert r.exit_code == 1 and "E-CORRECTION-ACCOUNT" in r.stderr and "Traceback" not in r.stderr
    r = invoke("invoice", "correct", target, "--reason", "price", *run)
    assert r.exit_code == 1 and "E-CORRECTION-ACCOUNT" in r.stderr
    assert sorted(copy.rglob("*.yaml")) == files
    for args in (("report", "ar"), ("invoice", "list"), ("journal",)):
        monkeypatch.setenv("CPQ_CHUNK_FILES", "8")
        parts = invoke(*args, "--format", "json", *run)
        monkeypatch.setenv("CPQ_CHUNK_FILES", "100000000")
        whole = invoke(*args, "--format", "json", *run)
        assert parts.exit_code == whole.exit_code == 0 and parts.stdout == whole.stdout, args
