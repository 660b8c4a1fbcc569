"""`payment import` on a big repository reads one part at a time (issue 21: the whole model of 50,000 accounts with a
year of invoices took 1.0 GB; :func:`cpqctl.app.payments._import_in_parts`): each part gives the chains a statement's
lines can match (named in a line's text, or open for a line's amount) and the payments' entries and IBANs, and the
lines are matched in order over those. The output and the payment files written are the whole run's, byte for byte;
the closed months refuse what the whole run refuses, and nothing is written.

The repository is the example invoiced monthly through 2026 (conftest's `year`) with its payments taken away, so
both statements of tests/fixtures/bank are new to it; ``CPQ_CHUNK_FILES`` makes its accounts come in parts."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import PROJECT, invoke

BANK = PROJECT / "tests" / "fixtures" / "bank"
STATEMENTS = (BANK / "mt940-2026-pln.sta", BANK / "camt053-2026-eur.xml")
SMALL = "8"  # about one account a part
WHOLE = "100000000"
DAY = "2026-12-31"


@pytest.fixture
def pair(year: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of the year without its payments: one imported into whole, the other in parts."""
    out = []
    for name in ("whole", "parts"):
        root = Path(shutil.copytree(year, tmp_path / name, ignore=shutil.ignore_patterns(".cpq", "payments")))
        out.append(root)
    return out[0], out[1]


def _import(monkeypatch, root: Path, size: str, statement: Path, *extra: object):
    monkeypatch.setenv("CPQ_CHUNK_FILES", size)
    return invoke("payment", "import", statement, "--repo", root, "--as-of", DAY, "--format", "json", *extra)


def _payments(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "payments").rglob("*.yaml"))}


def test_importing_in_parts_records_what_the_whole_run_records(pair, monkeypatch, parts_read) -> None:
    whole, parts = pair
    results: set[str] = set()
    for statement in STATEMENTS:
        for extra in (("--dry-run",), ()):
            a = _import(monkeypatch, whole, WHOLE, statement, *extra)
            b = _import(monkeypatch, parts, SMALL, statement, *extra)
            assert a.exit_code == 0, a.stderr
            assert (b.exit_code, b.stdout, b.stderr) == (a.exit_code, a.stdout, a.stderr)
            assert _payments(parts) == _payments(whole)
        results |= {r["result"] for r in json.loads(a.stdout)["entries"]}
    assert parts_read == [True] * 4  # the whole runs read the whole repository (no parts planned)
    assert {"matched by reference", "matched by amount", "to review", "debit (left out)"} <= results
    assert len(_payments(whole)) >= 10
    again = _import(monkeypatch, parts, SMALL, STATEMENTS[0])
    assert again.exit_code == 0 and '"payment": null' in again.stdout and "already imported" in again.stdout
    assert '"result": "matched' not in again.stdout
    assert invoke("check", "--repo", parts).exit_code == 0


def _mt940(entries: list[tuple[str, str, str, str]]) -> str:
    """An MT940 statement of credits: (YYMMDD, amount as 1234,56, remittance text, payer's IBAN) each."""
    out = [":20:PARTS-TEST", ":25:/PL61109010140000071219812874", ":28C:00001/001", ":60F:C261130PLN0,00"]
    for n, (day, amount, text, iban) in enumerate(entries, 1):
        out.append(f":61:{day}{day[2:]}CN{amount}NTRFNONREF//PT{day}{n:05d}")
        out.append(f":86:166?00PRZELEW?20{text}?31{iban}?32PAYER {n}")
    out.append(":62F:C261231PLN0,00")
    return "\n".join(out) + "\n"


def _comma(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")


def test_lines_match_over_every_part_in_order(pair, monkeypatch, parts_read, tmp_path) -> None:
    """Lines whose matches need invoices of several parts and the lines before them: a part payment naming an
    invoice leaves an amount open that a later transfer with no reference pays (matched by amount: the chain the
    earlier line settled), a transfer of another account's invoice's open amount (another part), and one whose
    amount two invoices still ask (to review). The whole ledger, updated line by line, decides each."""
    whole, parts = pair
    monkeypatch.setenv("CPQ_CHUNK_FILES", WHOLE)
    listed = json.loads(invoke("invoice", "list", "--repo", whole, "--as-of", DAY, "--format", "json").stdout)
    pln = [i for i in listed["invoices"] if i["currency"] == "PLN" and Decimal(i["open"]) > 0]
    count = Counter(i["open"] for i in pln)
    unique = [i for i in pln if count[i["open"]] == 1]
    shared = next(i for i in pln if count[i["open"]] > 1)
    first, other = unique[0], next(i for i in unique if i["account"] != unique[0]["account"])
    rest = Decimal("12.34")
    assert all(Decimal(i["open"]) != rest for i in pln)
    statement = tmp_path / "parts.sta"
    statement.write_text(
        _mt940(
            [
                ("261201", _comma(Decimal(first["open"]) - rest), f"Faktura {first['invoice']}", ""),
                ("261202", _comma(rest), "reszta", ""),
                ("261203", _comma(Decimal(other["open"])), "platnosc", ""),
                ("261204", _comma(Decimal(shared["open"])), "platnosc", ""),
            ]
        ),
        encoding="utf-8",
    )
    a = _import(monkeypatch, whole, WHOLE, statement)
    b = _import(monkeypatch, parts, SMALL, statement)
    assert a.exit_code == 0, a.stderr
    assert (b.exit_code, b.stdout) == (a.exit_code, a.stdout)
    assert _payments(parts) == _payments(whole) != {}
    assert parts_read == [True]
    rows = json.loads(b.stdout)["entries"]
    assert [(r["result"], [x["invoice"] for x in r["allocations"]]) for r in rows] == [
        ("matched by reference", [first["invoice"]]),
        ("matched by amount", [first["invoice"]]),
        ("matched by amount", [other["invoice"]]),
        ("to review", []),
    ]
    assert invoke("check", "--repo", parts).exit_code == 0


def test_a_closed_month_refuses_the_import_in_parts_as_whole(pair, monkeypatch, parts_read) -> None:
    whole, parts = pair
    for root in pair:
        closed = invoke("close", "2026-06", "--repo", root, "--as-of", DAY)
        assert closed.exit_code == 0, closed.stderr
    a = _import(monkeypatch, whole, WHOLE, STATEMENTS[0])
    b = _import(monkeypatch, parts, SMALL, STATEMENTS[0])
    assert a.exit_code == b.exit_code != 0
    for r in (a, b):
        assert "E-WRITE-INVALID" in r.stderr and "E-CLOSED-PERIOD" in r.stderr
    assert not (parts / "payments").exists() and not (whole / "payments").exists()
    assert parts_read == [True]
