"""Documents in the customer's language: the catalogues, the Jinja ``_``, the language choice (docs/languages.md).

Golden Markdown of one quote in pl, en, de and pl+en lives in tests/golden/quote_lang_*.md;
regenerate it after an intended change with
``CPQ_UPDATE_GOLDEN=1 pytest tests/test_languages.py`` and review the diff.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pypdf
import pytest

from cpqctl import i18n
from cpqctl.core.model import Account, Settings
from cpqctl.core.terms import FREQUENCIES, PRICE_PERIODS
from cpqctl.render.documents import PACKAGE_TEMPLATES, escape_typst, render_markdown, render_pdf, render_typst
from tests.test_documents import pln_quote

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CPQ_UPDATE_GOLDEN") == "1"
NBSP = "\u00a0"

# the standard terms quote_data writes (cpqctl/views/documents.py), translated by `_(term)`
STANDARD_TERMS = [
    "Prices are net of VAT.",
    "This quote is valid until the date shown above.",
    "Subscriptions are billed in advance; amendments are co-terminated with the contract.",
]
# Values from a fixed set that the templates translate with `_(value)`.
VALUES = [
    *("draft", "needs-approval", "approved", "accepted", "expired"),  # quote status (core/quotes.py)
    *("pending", "active", "cancelled", "ended"),  # contract status (core/ledger.py)
    *FREQUENCIES,
    *PRICE_PERIODS,
    *("charge", "credit"),  # an amendment line's effect
    *("billing", "technical", "signer"),  # the example's contact roles
    *STANDARD_TERMS,
    "Charges and credits are prorated from the effective date and appear on the invoices of the "
    "billing periods they fall in; a credit reduces the amount invoiced.",
    "The renewal term starts the day after the current contract ends; until then the current prices apply.",
]
# The invoice templates' labels (converted separately): every catalogue must carry them.
INVOICE_LABELS = [
    *("Invoice", "VAT invoice", "Corrective invoice", "Credit note", "Issue date", "Sale date", "Due date"),
    *("Currency", "Contract", "Seller", "Buyer", "Tax ID", "Services", "No.", "Description", "Period", "Unit"),
    *("Quantity", "Unit net price", "Net amount", "VAT rate", "VAT amount", "Gross amount", "VAT summary"),
    *("Net", "VAT", "Gross", "Total", "Amount due", "Amount credited", "by", "Payment by bank transfer to"),
    *("reference", "Corrects invoice", "of", "Reason", "Before correction", "After correction", "Difference"),
    *("reverse charge", "not subject to VAT in Poland", "exempt", "Exchange rate", "VAT in PLN", "NBP table"),
    *("Billed period", "Proration", "recurring", "proration", "credit", "one-time", "Dear"),
    *("Please find attached", "Kind regards", "Page"),
    "Reverse charge: the buyer accounts for the VAT (Article 196 of Directive 2006/112/EC).",
    "Not subject to VAT in Poland: place of supply outside Poland (art. 28b of the Polish VAT act).",
]

_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_STRING = r'"((?:[^"\\]|\\.)*)"'
_GETTEXT = re.compile(r"(?<![\w.])_(?:lines)?\(\s*" + _STRING)
_NGETTEXT = re.compile(r"(?<![\w.])_n\(\s*" + _STRING + r"\s*,\s*" + _STRING)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def template_messages() -> tuple[set[str], set[tuple[str, str]]]:
    """Every ``_("…")`` and ``_n("…", "…", n)`` literal of the built-in templates (comments aside)."""
    singular: set[str] = set()
    plural: set[tuple[str, str]] = set()
    for path in sorted(PACKAGE_TEMPLATES.glob("*.j2")):
        text = _COMMENT.sub("", path.read_text(encoding="utf-8"))
        singular |= set(_GETTEXT.findall(text))
        plural |= set(_NGETTEXT.findall(text))
    return singular, plural


def quote(language: str | None) -> dict:
    data = pln_quote()
    data["terms"] = list(STANDARD_TERMS)
    if language is not None:
        data["language"] = language
    return data


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


# --- the catalogues -------------------------------------------------------------------------


def test_the_templates_use_labels_at_all():
    singular, plural = template_messages()
    assert {"Quote", "Account statement", "Prorated charges and credits", "The renewal"} <= singular
    assert ("%(n)s month", "%(n)s months") in plural


@pytest.mark.parametrize("language", i18n.BASE_LANGUAGES)
def test_every_template_label_is_in_every_catalogue(language):
    singular, plural = template_messages()
    catalogue = i18n.messages(language)
    wanted = sorted(singular | set(VALUES) | set(INVOICE_LABELS))
    missing = [m for m in wanted if m not in catalogue.singular]
    assert not missing, f"{i18n.catalogue_path(language)} lacks {missing}"
    missing_plural = [p for p in sorted(plural) if p[0] not in catalogue.plurals]
    assert not missing_plural, f"{i18n.catalogue_path(language)} lacks the plural {missing_plural}"
    for msgid in wanted:
        translated = catalogue.singular[msgid]
        assert translated.strip(), (language, msgid)
        assert set(_PLACEHOLDER.findall(translated)) == set(_PLACEHOLDER.findall(msgid)), (language, msgid)
    for singular_id, _plural_id in plural:
        for form in catalogue.plurals[singular_id]:
            assert set(_PLACEHOLDER.findall(form)) == set(_PLACEHOLDER.findall(singular_id)), (language, form)


def test_polish_is_polish_and_german_is_german():
    pl, de = i18n.translator("pl"), i18n.translator("de")
    assert [pl(m) for m in ("Quote", "Invoice", "Unit price", "Quantity", "Net amount", "VAT rate")] == [
        "Oferta",
        "Faktura",
        "Cena jednostkowa netto",
        "Ilość",
        "Wartość netto",
        "Stawka VAT",
    ]
    assert [pl(m) for m in ("not subject to VAT in Poland", "exempt", "Seller", "Buyer", "Signature")] == [
        "np.",
        "zw.",
        "Sprzedawca",
        "Nabywca",
        "Podpis",
    ]
    assert [de(m) for m in ("Quote", "Invoice", "Unit net price", "Quantity", "Net amount", "VAT rate")] == [
        "Angebot",
        "Rechnung",
        "Einzelpreis netto",
        "Menge",
        "Nettobetrag",
        "USt-Satz",
    ]


def test_polish_plural_forms():
    months = i18n.translator("pl").ngettext
    shown = [months("%(n)s month", "%(n)s months", n) for n in (1, 2, 4, 5, 12, 13, 22, 24, 25)]
    assert shown == [
        "1 miesiąc",
        "2 miesiące",
        "4 miesiące",
        "5 miesięcy",
        "12 miesięcy",
        "13 miesięcy",
        "22 miesiące",
        "24 miesiące",
        "25 miesięcy",
    ]
    assert i18n.translator("de").ngettext("%(n)s month", "%(n)s months", 36) == "36 Monate"
    assert i18n.translator("en").ngettext("%(n)s month", "%(n)s months", 1) == "1 month"


def test_bilingual_reads_first_language_slash_second():
    assert i18n.translator("pl+en")("Invoice") == "Faktura / Invoice"
    assert i18n.translator("pl+de")("Seller") == "Sprzedawca / Rechnungssteller"
    assert i18n.translator("en+de")("Quantity") == "Quantity / Menge"
    assert i18n.translator("pl+en")("Status") == "Status"  # the same in both: once
    assert i18n.translator("pl+en")("from %(date)s", date="01.01.2027") == "od 01.01.2027 / from 01.01.2027"
    assert i18n.translator("pl+en").ngettext("%(n)s month", "%(n)s months", 5) == "5 miesięcy / 5 months"


def test_a_message_missing_from_a_catalogue_shows_the_english_id():
    assert i18n.translator("pl")("Invoices are payable within 14 days.") == "Invoices are payable within 14 days."
    assert i18n.translator("de")("%(x)s is new", x="Y") == "Y is new"


def test_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="fr"):
        i18n.translator("fr")
    with pytest.raises(ValueError):
        i18n.translator("pl+en+de")


# --- the language of a document -------------------------------------------------------------


def test_language_of_account_then_cpq_toml_then_locale():
    acme = Account(account="acme", name="ACME", currency="PLN")
    pl_company = Settings(locale="pl_PL")
    assert i18n.language_of(acme, pl_company) == "pl"
    assert i18n.language_of(replace(acme, language="de"), pl_company) == "de"
    assert i18n.language_of(acme, replace(pl_company, language="pl+en")) == "pl+en"
    assert i18n.language_of(replace(acme, language="en"), replace(pl_company, language="pl+en")) == "en"
    assert i18n.language_of(None, Settings(locale="de_AT")) == "de"
    assert i18n.language_of(acme, Settings(locale="en_US")) == "en"
    assert i18n.language_of(acme, Settings(locale="fr_FR")) == "en"


def test_locale_of():
    assert [i18n.locale_of(x) for x in ("pl", "en", "de", "pl+en", "en+de")] == [
        "pl_PL",
        "en_GB",
        "de_DE",
        "pl_PL",
        "en_GB",
    ]


def test_the_example_documents_follow_the_account(example_repo):
    from cpqctl.load.repo import load_repo
    from cpqctl.views import documents

    repo, _ = load_repo(example_repo)
    shown = {a: documents.account_data(repo, a, date(2026, 6, 1))["language"] for a in repo.accounts}
    declared = {"globex": "de", "umbrella": "en", "stark": "pl+en"}  # the others: the company's locale, Polish
    assert shown == {a: declared.get(a, "pl") for a in repo.accounts}


# --- documents --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["pl", "en", "de", "pl+en"])
def test_quote_markdown_in_each_language_matches_golden(language):
    text = render_markdown("quote", quote(language), None)
    golden = GOLDEN / f"quote_lang_{language}.md"
    if UPDATE:
        golden.write_text(text, encoding="utf-8", newline="\n")
    assert text == golden.read_text(encoding="utf-8")
    assert all(line == line.rstrip() for line in text.splitlines()), "trailing spaces"


def test_without_a_language_a_document_is_english_and_the_numbers_keep_the_locale():
    assert render_markdown("quote", quote(None), None) == render_markdown("quote", quote("en"), None)
    polish = render_markdown("quote", quote("pl"), None)
    german = render_markdown("quote", quote("de"), None)
    assert polish.startswith("# Oferta Q-2026-0001\n")
    assert german.startswith("# Angebot Q-2026-0001\n")
    total = f"72{NBSP}508,50{NBSP}zł"  # pl_PL money in every language: the company's locale
    assert f"| **Razem** | **{total}** |" in polish
    assert f"| **Gesamt** | **{total}** |" in german
    assert "- Okres umowy: 12 miesięcy, 01.01.2026 – 31.12.2026\n" in polish
    assert "- Laufzeit: 12 Monate, 01.01.2026 – 31.12.2026\n" in german


def test_bilingual_quote():
    text = render_markdown("quote", quote("pl+en"), None)
    assert text.startswith("# Oferta / Quote Q-2026-0001\n")
    assert "| Data / Date | Ważna do / Valid until | Status |" in text
    assert "- Okres umowy / Term: 12 miesięcy / 12 months, 01.01.2026 – 31.12.2026\n" in text


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("pl", ["Oferta", "Ważna do", "Cena jednostkowa netto", "Przygotowana dla", "Świętokrzyska", "miesięcy"]),
        ("de", ["Angebot", "Gültig bis", "Einzelpreis netto", "Erstellt für", "Zeiträume", "Grüße"]),
    ],
)
def test_quote_pdf_prints_the_language_with_its_letters(language, words):
    data = quote(language)
    if language == "de":
        data["terms"].append("Mit freundlichen Grüßen")  # a value with ß and ü: printed as it is
    # without spaces: pypdf splits the tracked small-caps labels ("NET TO")
    text = re.sub(r"\s", "", pdf_text(render_pdf("quote", data, None, date(2026, 1, 1))))
    for word in words:
        assert re.sub(r"\s", "", word) in text or re.sub(r"\s", "", word.upper()) in text, word


def test_typst_escapes_translated_labels(tmp_path):
    """A label is escaped like any value: a repository's override with markup characters prints literally."""
    folder = tmp_path / "templates" / "locales"
    folder.mkdir(parents=True)
    (folder / "pl.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Quote"\nmsgstr "Oferta #1 *[x]* $5 // nie komentarz"\n',
        encoding="utf-8",
    )
    source = render_typst("quote", quote("pl"), tmp_path / "templates")
    assert escape_typst("Oferta #1 *[x]* $5 // nie komentarz") in source
    text = pdf_text(render_pdf("quote", quote("pl"), tmp_path / "templates", date(2026, 1, 1)))
    assert "Oferta #1 *[x]* $5 // nie komentarz" in text
    assert "CENAJEDNOSTKOWANETTO" in re.sub(r"\s", "", text)  # the rest: the built-in catalogue


def test_repository_override_of_one_label(tmp_path):
    folder = tmp_path / "templates" / "locales"
    folder.mkdir(parents=True)
    (folder / "de.po").write_text('msgid "Quote"\nmsgstr "Kostenvoranschlag"\n', encoding="utf-8")
    text = render_markdown("quote", quote("de"), tmp_path / "templates")
    assert text.startswith("# Kostenvoranschlag Q-2026-0001\n")
    assert "| **Gesamt** |" in text
    assert render_markdown("quote", quote("pl"), tmp_path / "templates").startswith("# Oferta Q-2026-0001\n")
