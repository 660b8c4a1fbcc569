"""Documents of the contract lifecycle: amendment and renewal quotes, account statements.

Real data: a copy of the example repository, with ACME's contract C-2026-0001
(55 PRO-SEAT at 1080.00 a year and SSO at 450.00 a month on 2026-11-28, ending
2026-12-31, renewal uplift 5%) amended up to 60 seats (a charge), down to 50
seats (a credit), and renewed. ACME is a Polish customer, so its documents are
in Polish (docs/languages.md); Umbrella's are in English (`language: en`). Golden Markdown lives in tests/golden/;
regenerate it after an intended change with
``CPQ_UPDATE_GOLDEN=1 pytest tests/test_lifecycle_documents.py`` and review the diff.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pypdf
import pytest

from tests.conftest import copy_example, invoke

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CPQ_UPDATE_GOLDEN") == "1"
NBSP = "\u00a0"
AS_OF = "2026-11-28"
CHARGE, CREDIT, RENEWAL = "Q-2026-0001", "Q-2026-0002", "Q-2026-0003"


def zl(text: str) -> str:
    """Amounts written ``1 080,00 zł`` get the no-break spaces the documents carry (groups, currency)."""
    return re.sub(r"(?<=\d) (?=\d{3}\b)|(?<=\d) (?=zł)", NBSP, text)


def pdf_text(pdf: bytes) -> str:
    """The PDF's text on one line: wrapped lines joined by a space (no-break spaces kept)."""
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"[ \n]+", " ", text)


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Path:
    """The example repo with three drafts: +5 seats, -5 seats, and the renewal of C-2026-0001."""
    root = tmp_path_factory.mktemp("lifecycle") / "repo"
    copy_example(root)
    for args in (
        ["amend", "C-2026-0001", "--effective", "2026-12-01", "--set", "PRO-SEAT=60"],
        ["amend", "C-2026-0001", "--effective", "2026-12-01", "--set", "PRO-SEAT=50"],
        ["renew", "C-2026-0001"],
    ):
        result = invoke(*args, "--as-of", AS_OF, "--repo", root)
        assert result.exit_code == 0, result.stderr
    return root


@pytest.fixture(scope="module")
def rendered(story: Path) -> dict[str, bytes]:
    """Every document of the story, Markdown and PDF, rendered through the CLI into out/."""
    out: dict[str, bytes] = {}
    for command, doc_id in (
        ("quote", CHARGE),
        ("quote", CREDIT),
        ("quote", RENEWAL),
        ("account", "acme"),
        ("account", "umbrella"),
    ):
        for fmt in ("md", "pdf"):
            target = story / "out" / f"{doc_id}.{fmt}"
            result = invoke(command, "render", doc_id, "--format", fmt, "-o", target, "--as-of", AS_OF, "--repo", story)
            assert result.exit_code == 0, result.stderr
            out[f"{doc_id}.{fmt}"] = target.read_bytes()
    return out


# --- golden Markdown ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "golden"),
    [
        (f"{CHARGE}.md", "amendment_charge_pl_PL.md"),
        (f"{CREDIT}.md", "amendment_credit_pl_PL.md"),
        (f"{RENEWAL}.md", "renewal_pl_PL.md"),
        ("acme.md", "account_acme_pl_PL.md"),
        ("umbrella.md", "account_umbrella_pl_PL.md"),
    ],
)
def test_markdown_matches_golden(rendered, doc, golden):
    text = rendered[doc].decode("utf-8")
    path = GOLDEN / golden
    if UPDATE:
        path.write_text(text, encoding="utf-8", newline="\n")
    assert text == path.read_text(encoding="utf-8")
    assert all(line == line.rstrip() for line in text.splitlines()), "trailing spaces"
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "\n\n\n" not in text


# --- amendment quotes -------------------------------------------------------------------


def test_amendment_markdown_says_what_changes_from_when_and_what_it_costs(rendered):
    text = rendered[f"{CHARGE}.md"].decode()
    assert text.startswith(f"# Oferta zmiany umowy {CHARGE}\n")
    assert "- Obowiązuje od: 01.12.2026\n" in text
    assert "- Do końca umowy: każda zmiana obowiązuje od 01.12.2026 do 31.12.2026 (koniec umowy)\n" in text
    assert "- Fakturowanie: kwartalnie, z góry\n" in text  # the contract's billing, not cpq.toml's annual
    assert "| Pro seat (PRO-SEAT) | 55 | 60 | +5 |" in text
    assert zl("| 1 080,00 zł / rok | × 0,083333 | 450,00 zł obciążenie |") in text
    assert zl("64 800,00 zł → 70 200,00 zł (+5 400,00 zł)") in text
    assert zl("| **Razem** | **553,50 zł** |") in text


def test_amendment_decrease_is_a_credit(rendered):
    text = rendered[f"{CREDIT}.md"].decode()
    assert "| Pro seat (PRO-SEAT) | 55 | 50 | -5 |" in text
    assert zl("| -450,00 zł uznanie |") in text
    assert zl("| **Razem uznanie** | **-553,50 zł** |") in text
    assert "obciążenie |" not in text


def test_amendment_pdf_is_readable(rendered):
    text = pdf_text(rendered[f"{CHARGE}.pdf"])
    assert "Oferta zmiany umowy" in text and CHARGE in text
    assert "Obowiązuje od 01.12.2026" in text
    assert "Każda zmiana obowiązuje do 31.12.2026 (koniec umowy)" in text
    assert "Pro seat PRO-SEAT 55 60 +5" in text
    assert zl("450,00 zł") in text and "obciążenie" in text
    assert zl("Razem 553,50 zł") in text
    credit = pdf_text(rendered[f"{CREDIT}.pdf"])
    assert zl("Razem uznanie -553,50 zł") in credit
    assert zl("-450,00 zł") in credit and "uznanie" in credit


def test_accepted_amendment_still_shows_the_state_before_it(story, tmp_path):
    """Once accepted, the ledger holds the amendment; the document still compares before with after."""
    from cpqctl.core import quotes
    from cpqctl.load.repo import load_repo
    from cpqctl.views import documents

    root = tmp_path / "accepted"
    shutil.copytree(story, root, ignore=shutil.ignore_patterns("out", ".cpq"))
    result = invoke("quote", "accept", CHARGE, "--signed-by", "Anna Nowak", "--as-of", AS_OF, "--repo", root)
    assert result.exit_code == 0, result.stderr
    repo, _ = load_repo(root)
    q = repo.quotes[CHARGE]
    assert q.status == "accepted"
    data = documents.quote_data(repo, q, quotes.price(repo, q), "accepted", date(2026, 11, 28))
    change = data["amendment"]["changes"][0]
    assert (change["before"], change["after"], change["delta"]) == (D(55), D(60), D(5))
    assert (data["amendment"]["arr_before"], data["amendment"]["arr_after"]) == (D("64800.00"), D("70200.00"))


def test_reprice_shows_the_new_price_and_both_sides(tmp_path):
    from cpqctl.core import quotes
    from cpqctl.load.repo import load_repo
    from cpqctl.views import documents

    root = tmp_path / "repo"
    copy_example(root)
    # this copy's ACME reads English: the English wording of an amendment document is checked here
    account = root / "contracts" / "acme" / "account.yaml"
    account.write_text(account.read_text(encoding="utf-8") + "language: en\n", encoding="utf-8")
    result = invoke(
        "amend",
        "C-2026-0001",
        "--effective",
        "2026-12-01",
        "--reprice",
        "PRO-SEAT=1000.00",
        "--as-of",
        AS_OF,
        "--repo",
        root,
    )
    assert result.exit_code == 0, result.stderr
    repo, _ = load_repo(root)
    q = repo.quotes["Q-2026-0001"]
    data = documents.quote_data(repo, q, quotes.price(repo, q), "draft", date(2026, 11, 28))
    [change] = data["amendment"]["changes"]
    assert (change["delta"], change["new_price"]) == (0, D("1000.00"))
    assert {ln["effect"] for ln in data["lines"]} == {"charge", "credit"}
    assert data["amendment"]["charges"] > 0 > data["amendment"]["credits"]
    text = invoke(
        "quote", "render", "Q-2026-0001", "--format", "md", "-o", "-", "--as-of", AS_OF, "--repo", root
    ).stdout
    assert zl("| Pro seat (PRO-SEAT) | 55 | 55 | new price 1 000,00 zł / year |") in text
    assert "Charges " in text and ", credits -" in text


# --- renewal quotes ---------------------------------------------------------------------


def test_renewal_markdown_compares_old_and_new_prices(rendered):
    text = rendered[f"{RENEWAL}.md"].decode()
    assert text.startswith(f"# Oferta przedłużenia umowy {RENEWAL}\n")
    assert "- Przedłuża: C-2026-0001, 01.01.2026 – 31.12.2026\n" in text
    assert "- Nowy okres umowy: 12 miesięcy, 01.01.2027 – 31.12.2027\n" in text
    assert "- Zmiana cen: podwyżka o 5% względem obecnych cen\n" in text
    assert zl("| 55 | 01.01.2027 – 31.12.2027 | 1 080,00 zł / rok | 1 134,00 zł / rok | +5% |") in text
    assert zl("| 450,00 zł / miesiąc | 472,50 zł / miesiąc | +5% |") in text
    assert zl("64 800,00 zł → 68 040,00 zł (+3 240,00 zł)") in text


def test_renewal_pdf_is_readable(rendered):
    text = pdf_text(rendered[f"{RENEWAL}.pdf"])
    assert "Oferta przedłużenia umowy" in text and RENEWAL in text
    assert "Przedłuża C-2026-0001" in text
    assert "podwyżka o 5% względem obecnych cen" in text
    assert zl("55 1 080,00 zł") in text and zl("1 134,00 zł") in text and "+5%" in text
    assert zl("Razem 83 689,20 zł") in text


def test_renewal_matches_each_line_to_its_old_price(story):
    """A product held at two prices: each renewal line finds the price the uplift turned into it."""
    from cpqctl.core import quotes
    from cpqctl.load.repo import load_repo
    from cpqctl.views import documents

    repo, _ = load_repo(story)
    c = repo.contracts["C-2026-0001"]
    seg = c.amendments[0].lines[0]
    cheaper = replace(
        c, amendments=(replace(c.amendments[0], lines=(replace(seg, unit_price=D("1000.00")),)), *c.amendments[1:])
    )
    repo = replace(repo, contracts={**repo.contracts, c.contract: cheaper})
    q = repo.quotes[RENEWAL]
    lines = [
        dict(ln, quantity=D(5), net_unit_price=D("1050.00")) if i == 1 else ln
        for i, ln in enumerate(
            [
                {"product": "PRO-SEAT", "net_unit_price": D("1134.00")},
                {"product": "PRO-SEAT", "net_unit_price": D("1050.00")},
                {"product": "NEW-THING", "net_unit_price": D("10.00")},
            ]
        )
    ]
    block = documents.renewal_block(repo, cheaper, quotes.price(repo, q), lines)
    assert [ln["previous_unit_price"] for ln in lines] == [D("1080.00"), D("1000.00"), None]
    assert [ln["change_percent"] for ln in lines] == [D("5.00"), D("5.00"), None]
    assert block["uplift"] is None  # a line without an old price: no uniform uplift to claim


def test_renewal_with_same_pricing_says_prices_continue(story, tmp_path):
    root = tmp_path / "same"
    shutil.copytree(story, root, ignore=shutil.ignore_patterns("out", ".cpq", "quotes"))
    result = invoke("renew", "C-2026-0001", "--pricing", "same", "--as-of", AS_OF, "--repo", root)
    assert result.exit_code == 0, result.stderr
    text = invoke(
        "quote", "render", "Q-2026-0001", "--format", "md", "-o", "-", "--as-of", AS_OF, "--repo", root
    ).stdout
    assert zl("| 1 080,00 zł / rok | 1 080,00 zł / rok | 0% |") in text
    assert "podwyżka" not in text  # no uplift claimed


# --- account statements -----------------------------------------------------------------


def test_account_statement_markdown(rendered):
    text = rendered["acme.md"].decode()
    assert text.startswith("# Zestawienie konta klienta: ACME Sp. z o.o.\n")
    assert "| 28.11.2026 | acme | PLN |" in text
    assert zl("- Opłaty roczne: 64 800,00 zł\n") in text
    assert "- Najbliższe odnowienie: 31.12.2026\n" in text
    assert zl("| C-2026-0001 | aktywna | 01.01.2026 – 31.12.2026 | kwartalnie | 64 800,00 zł |") in text
    assert zl("| Pro seat (PRO-SEAT) | 55 | C-2026-0001 | 4 950,00 zł | 59 400,00 zł |") in text
    umbrella = rendered["umbrella.md"].decode()
    assert "## Platform bundle (PLATFORM, C-2026-0002): options" in umbrella
    assert "| Single sign-on add-on (SSO) | on, included |" in umbrella


def test_account_statement_pdf(rendered):
    text = pdf_text(rendered["acme.pdf"])
    assert "Zestawienie konta klienta" in text and "ACME Sp. z o.o." in text
    assert "Najbliższe odnowienie 31.12.2026" in text
    assert zl("Opłaty roczne 64 800,00 zł") in text
    assert "C-2026-0001 Aktywna 01.01.2026 – 31.12.2026" in text
    assert "Marek Zieliński" in text
    umbrella = pdf_text(rendered["umbrella.pdf"])
    assert "PLATFORM BUNDLE OPTIONS" in umbrella
    assert "Single sign-on add-on SSO On · included" in umbrella
    assert "SUPPORT-PREMIUM · in PLATFORM" in umbrella


def test_account_statement_shows_an_option_that_is_off(story):
    from cpqctl.load.repo import load_repo
    from cpqctl.render.documents import render_markdown
    from cpqctl.views import documents

    repo, _ = load_repo(story)
    data = documents.account_data(repo, "umbrella", date(2026, 11, 28))
    data["bundles"][0]["options"][2]["on"] = False
    assert "| Premium support (24/7, 1 h response) (SUPPORT-PREMIUM) | off |" in render_markdown("account", data, None)


def test_account_statement_money_matches_account_show(story):
    from cpqctl.load.repo import load_repo
    from cpqctl.views import accounts as views, documents

    repo, _ = load_repo(story)
    for account in repo.accounts:
        data = documents.account_data(repo, account, date(2026, 11, 28))
        shown = views.account_view(repo, account, date(2026, 11, 28))
        assert str(data["statement"]["arr"]) == shown["arr"]
        assert [str(c["arr"]) for c in data["contracts"]] == [c["arr"] for c in shown["contracts"]]
    # a product's ARR is 12 × its exact MRR, rounded once (not 12 × the rounded MRR: 115.88 × 12 = 1390.56)
    support = next(
        o
        for o in documents.account_data(repo, "initech", date(2026, 11, 28))["owned"]
        if o["product"] == "SUPPORT-BASIC"
    )
    assert (support["mrr"], support["arr"]) == (D("115.88"), D("1390.50"))


def test_account_render_default_path_stdout_and_unknown_account(story, tmp_path):
    root = tmp_path / "acct"
    shutil.copytree(story, root, ignore=shutil.ignore_patterns("out", ".cpq"))
    result = invoke("account", "render", "acme", "--format", "md", "--as-of", AS_OF, "--repo", root)
    assert result.exit_code == 0, result.stderr
    assert (root / "out" / "acme.md").read_text(encoding="utf-8").startswith("# Zestawienie konta klienta")
    assert "wrote" in result.stderr and result.stdout == ""
    to_stdout = invoke("account", "render", "acme", "--format", "md", "-o", "-", "--as-of", AS_OF, "--repo", root)
    assert to_stdout.stdout == (root / "out" / "acme.md").read_text(encoding="utf-8")
    unknown = invoke("account", "render", "acmee", "--as-of", AS_OF, "--repo", root)
    assert unknown.exit_code == 2
    assert "acme" in unknown.stderr and "Traceback" not in unknown.stderr
    assert not (root / "out" / "acmee.pdf").exists()


# --- determinism and template choice ----------------------------------------------------


@pytest.mark.parametrize("doc", [CHARGE, RENEWAL, "acme"])
def test_two_renders_are_byte_identical(story, rendered, tmp_path, doc):
    command = "account" if doc == "acme" else "quote"
    for fmt in ("md", "pdf"):
        target = tmp_path / f"again.{fmt}"
        result = invoke(command, "render", doc, "--format", fmt, "-o", target, "--as-of", AS_OF, "--repo", story)
        assert result.exit_code == 0, result.stderr
        assert target.read_bytes() == rendered[f"{doc}.{fmt}"]
    meta = pypdf.PdfReader(io.BytesIO(rendered[f"{doc}.pdf"])).metadata
    assert meta["/CreationDate"] == "D:20261128000000Z"


def test_template_follows_the_quote_kind(story):
    from cpqctl.load.repo import load_repo
    from cpqctl.views import documents

    repo, _ = load_repo(story)
    assert [documents.quote_template(repo.quotes[q]) for q in (CHARGE, RENEWAL)] == ["amendment", "renewal"]
    assert documents.quote_template(replace(repo.quotes[CHARGE], kind="new")) == "quote"


def test_repo_amendment_template_can_replace_one_block(story, tmp_path):
    """A repo's amendment.md.j2 can extend the built-in one and replace a single block."""
    root = tmp_path / "custom"
    shutil.copytree(story, root, ignore=shutil.ignore_patterns("out", ".cpq"))
    (root / "templates").mkdir()
    (root / "templates" / "amendment.md.j2").write_text(
        '{% extends "builtin/amendment.md.j2" %}{% block lines %}Custom lines for {{ quote.id }}\n{% endblock %}',
        encoding="utf-8",
    )
    text = invoke("quote", "render", CHARGE, "--format", "md", "-o", "-", "--as-of", AS_OF, "--repo", root).stdout
    assert f"Custom lines for {CHARGE}" in text
    assert "## Co się zmienia" in text and "## Obciążenia i uznania proporcjonalne" not in text
