"""The account statement (`account render`): invoices issued, payments, the balance, and renewals (docs/statement.md).

Real data: a copy of the example repository billed on 2026-01-01 and 2026-04-01
(`invoice run`), ACME's first invoice corrected on 2026-04-10 (FK-2026-0001,
`invoice correct`), and ACME's contract C-2026-0001 renewed and the renewal
accepted on 2026-11-28 (C-2027-0001 renews it).
"""

from __future__ import annotations

import io
import re
import shutil
from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pypdf
import pytest

from cpqctl.core.model import Delivery
from tests.conftest import copy_example, invoke

AS_OF = date(2026, 11, 28)
NBSP = "\u00a0"


def zl(text: str) -> str:
    """Amounts written ``1 080,00 zł`` get the no-break spaces the documents carry (groups, currency)."""
    return re.sub(r"(?<=\d) (?=\d{3}\b)|(?<=\d) (?=zł)", NBSP, text)


def run(root: Path, *args: object, as_of: str) -> None:
    result = invoke(*args, "--as-of", as_of, "--repo", root)
    assert result.exit_code == 0, result.stderr


def pdf_text(pdf: bytes) -> str:
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"[ \n]+", " ", text)


@pytest.fixture(scope="module")
def billed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("statement") / "repo"
    copy_example(root)
    run(root, "invoice", "run", as_of="2026-01-01")  # INV-2026-0001 initech, INV-2026-0002 acme
    run(root, "invoice", "run", as_of="2026-04-01")  # INV-2026-0003 acme, … umbrella, globex, vandelay
    run(
        root,
        "invoice",
        "correct",
        "INV-2026-0002",
        "--line",
        "1=10000.00",
        "--reason",
        "fewer seats",
        as_of="2026-04-10",
    )
    run(root, "renew", "C-2026-0001", as_of="2026-11-28")
    run(root, "quote", "accept", "Q-2026-0001", "--signed-by", "Anna Nowak", as_of="2026-11-28")
    return root


@pytest.fixture(scope="module")
def repo(billed):
    from cpqctl.load.repo import load_repo

    return load_repo(billed)[0]


def data(repo, account: str = "acme", as_of: date = AS_OF) -> dict:
    from cpqctl.views import documents

    return documents.account_data(repo, account, as_of)


# --- invoices ----------------------------------------------------------------------------------


def test_invoices_issued_up_to_the_statement_date_corrections_included(repo):
    rows = data(repo)["invoices"]
    assert [(r["number"], r["date"], r["kind"], r["corrects"]) for r in rows] == [
        ("INV-2026-0002", date(2026, 1, 1), "invoice", None),
        ("INV-2026-0003", date(2026, 4, 1), "invoice", None),
        ("FK-2026-0001", date(2026, 4, 10), "correction", "INV-2026-0002"),
    ]
    first, _, correction = rows
    assert (first["gross"], first["currency"], first["due"], first["contract"]) == (
        D("22755.00"),
        "PLN",
        date(2026, 1, 15),
        "C-2026-0001",
    )
    assert correction["gross"] == D("-4305.00")  # 3 500.00 net less, and its VAT
    assert not any(r["sent"] for r in rows)
    # an earlier statement shows only what was issued by then; another account's invoices never
    assert [r["number"] for r in data(repo, as_of=date(2026, 4, 5))["invoices"]] == ["INV-2026-0002", "INV-2026-0003"]
    assert data(repo, as_of=date(2025, 12, 31))["invoices"] == []
    assert {r["number"] for r in data(repo, "umbrella")["invoices"]} == {
        "INV-2026-0004",
        "INV-2026-0005",
        "INV-2026-0006",
    }


def test_sent_is_the_first_delivery_by_the_statement_date(repo):
    inv = repo.invoices["INV-2026-0002"]
    delivered = replace(
        inv, sent=(Delivery(date(2026, 1, 2), "anna.nowak@acme.example"), Delivery(date(2026, 1, 9), "x@acme.example"))
    )
    later = replace(repo.invoices["INV-2026-0003"], sent=(Delivery(date(2026, 12, 1), "anna.nowak@acme.example"),))
    sent_repo = replace(repo, invoices={**repo.invoices, inv.invoice: delivered, later.invoice: later})
    rows = {r["number"]: r for r in data(sent_repo)["invoices"]}
    assert (rows["INV-2026-0002"]["sent"], rows["INV-2026-0002"]["sent_on"]) == (True, date(2026, 1, 2))
    assert (rows["INV-2026-0003"]["sent"], rows["INV-2026-0003"]["sent_on"]) == (False, None)  # after the statement
    from cpqctl.render.documents import render_markdown

    text = render_markdown("account", data(sent_repo), None)
    # nothing paid: 22 755,00 less the correction's 4 305,00 is outstanding, past its due date
    assert (
        zl(
            "| INV-2026-0002 | 01.01.2026 | Faktura | 15.01.2026 | 22 755,00 zł | 18 450,00 zł | po terminie | 02.01.2026 |"
        )
        in text
    )
    assert (
        zl(
            "| INV-2026-0003 | 01.04.2026 | Faktura | 15.04.2026 | 16 605,00 zł | 16 605,00 zł | po terminie | nie wysłano |"
        )
        in text
    )


# --- payments and the balance ------------------------------------------------------------------


def test_balance_is_the_gross_of_invoices_and_corrections_without_payments(repo):
    d = data(repo)
    assert d["payments"] == []  # cpqctl records no payments yet
    assert d["balance"] == [
        {"currency": "PLN", "invoiced": D("35055.00"), "paid": D("0"), "balance": D("35055.00")}
    ]  # 22 755.00 + 16 605.00 − 4 305.00
    assert sum(r["gross"] for r in d["invoices"]) == D("35055.00")
    assert data(repo, as_of=date(2025, 12, 31))["balance"] == []


def test_payments_once_recorded_reduce_the_balance(repo, monkeypatch):
    """A payments feature fills `payments` through `account_payments`; the balance and the documents follow."""
    from cpqctl.render.documents import render_markdown, render_pdf
    from cpqctl.views import documents

    paid = {"date": date(2026, 1, 14), "amount": D("22755.00"), "currency": "PLN", "invoice": "INV-2026-0002"}
    monkeypatch.setattr(documents, "account_payments", lambda repo, account, as_of: [{**paid, "reference": None}])
    d = data(repo)
    assert d["balance"] == [
        {"currency": "PLN", "invoiced": D("35055.00"), "paid": D("22755.00"), "balance": D("12300.00")}
    ]
    text = render_markdown("account", d, None)
    assert zl("| 14.01.2026 | INV-2026-0002 | — | 22 755,00 zł |") in text
    assert zl("| PLN | 35 055,00 zł | 22 755,00 zł | **12 300,00 zł** |") in text
    assert zl("- Saldo: 12 300,00 zł\n") in text
    assert zl("PŁATNOŚCI DATA FAKTURA TYTUŁ PŁATNOŚCI KWOTA 14.01.2026 INV-2026-0002 — 22 755,00 zł") in pdf_text(
        render_pdf("account", d, None, AS_OF)
    )


def test_balance_per_currency():
    from cpqctl.views.documents import account_balance

    invoices = [
        {"currency": "PLN", "gross": D("100.00")},
        {"currency": "EUR", "gross": D("50.00")},
        {"currency": "PLN", "gross": D("-30.00")},
    ]
    payments = [{"currency": "EUR", "amount": D("50.00")}, {"currency": "USD", "amount": D("5.00")}]
    assert account_balance(invoices, payments) == [
        {"currency": "EUR", "invoiced": D("50.00"), "paid": D("50.00"), "balance": D("0.00")},
        {"currency": "PLN", "invoiced": D("70.00"), "paid": D("0"), "balance": D("70.00")},
        {"currency": "USD", "invoiced": D("0"), "paid": D("5.00"), "balance": D("-5.00")},  # paid ahead
    ]


# --- the next renewal -----------------------------------------------------------------------------


def test_next_renewal_skips_a_renewal_already_accepted(repo):
    st = data(repo)["statement"]
    # C-2026-0001 ends 31.12.2026 but C-2027-0001 renews it: the renewal to come is the successor's end
    assert (st["next_renewal"], st["next_renewal_contract"]) == (date(2027, 12, 31), "C-2027-0001")
    assert st["renewed"] == [
        {"contract": "C-2026-0001", "end": date(2026, 12, 31), "successor": "C-2027-0001", "start": date(2027, 1, 1)}
    ]
    # the example's own renewal: Initech's C-2026-0007 renews C-2025-0003 (ending 30.09.2026)
    initech = data(repo, "initech", date(2026, 6, 1))["statement"]
    assert (initech["next_renewal"], initech["next_renewal_contract"]) == (date(2027, 9, 30), "C-2026-0007")
    assert [(r["contract"], r["successor"]) for r in initech["renewed"]] == [("C-2025-0003", "C-2026-0007")]
    # once the old contract has ended there is nothing accepted to mention
    assert data(repo, "initech", date(2026, 11, 28))["statement"]["renewed"] == []
    umbrella = data(repo, "umbrella")["statement"]
    assert (umbrella["next_renewal"], umbrella["renewed"]) == (date(2027, 1, 31), [])


# --- the documents ------------------------------------------------------------------------------


def render(root: Path, account: str, fmt: str) -> bytes:
    result = invoke("account", "render", account, "--format", fmt, "-o", "-", "--as-of", "2026-11-28", "--repo", root)
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


def test_statement_markdown_in_polish(billed):
    text = render(billed, "acme", "md").decode("utf-8")
    assert "- Najbliższe odnowienie: 31.12.2027\n" in text
    assert "- Odnowienie przyjęte: C-2026-0001 przedłużona umową C-2027-0001 od 01.01.2027\n" in text
    assert zl("- Saldo: 35 055,00 zł\n") in text
    assert "| Faktura | Data | Rodzaj | Termin płatności | Wartość brutto | Do zapłaty | Status | Wysłano |\n" in text
    assert (
        zl(
            "| INV-2026-0002 | 01.01.2026 | Faktura | 15.01.2026 | 22 755,00 zł | 18 450,00 zł | po terminie | nie wysłano |\n"
        )
        in text
    )
    assert (
        zl(
            "| FK-2026-0001 | 10.04.2026 | Faktura korygująca, koryguje INV-2026-0002 | 24.04.2026 | -4 305,00 zł | — "
            "| po terminie | nie wysłano |\n"
        )
        in text
    )
    assert "## Płatności\n\nBrak zarejestrowanych płatności.\n" in text
    assert zl("| PLN | 35 055,00 zł | 0,00 zł | **35 055,00 zł** |\n") in text
    assert text.endswith("\n") and "\n\n\n" not in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_statement_pdf_in_polish_english_and_german(billed, tmp_path):
    pl = pdf_text(render(billed, "acme", "pdf"))
    assert "Najbliższe odnowienie 31.12.2027" in pl
    assert "Odnowienie przyjęte C-2026-0001 przedłużona umową C-2027-0001 od 01.01.2027" in pl
    assert zl("Saldo 35 055,00 zł") in pl
    assert (
        zl(
            "FK-2026-0001 10.04.2026 Faktura korygująca koryguje INV-2026-0002 24.04.2026 -4 305,00 zł — po terminie "
            "nie wysłano"
        )
        in pl
    )
    assert "PŁATNOŚCI Brak zarejestrowanych płatności." in pl
    for language, words in (
        ("en", ["INVOICES", "Corrective invoice corrects INV-2026-0002", "No payments recorded.", "Renewal accepted"]),
        ("de", ["RECHNUNGEN", "Rechnungskorrektur korrigiert INV-2026-0002", "Keine Zahlungen erfasst.", "Saldo"]),
    ):
        root = tmp_path / language
        shutil.copytree(billed, root, ignore=shutil.ignore_patterns("out", ".cpq"))
        account = root / "contracts" / "acme" / "account.yaml"
        account.write_text(account.read_text(encoding="utf-8") + f"language: {language}\n", encoding="utf-8")
        text = pdf_text(render(root, "acme", "pdf"))
        for w in words:
            assert w in text, (language, w)


def test_statement_without_invoices(billed):
    from cpqctl.load.repo import load_repo
    from cpqctl.render.documents import render_markdown

    repo, _ = load_repo(billed)
    text = render_markdown("account", data(repo, "hooli", date(2026, 4, 1)), None)
    assert "Do dnia 01.04.2026 nie wystawiono faktur." in text
    assert "Nic nie zafakturowano, brak należności." in text
    assert zl("- Saldo: 0,00 zł\n") in text
