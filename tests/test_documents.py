"""Documents: locale formatting, Markdown goldens, PDF through Typst, template sandbox.

Golden files live in tests/golden/; regenerate them after an intended change
with ``CPQ_UPDATE_GOLDEN=1 pytest tests/test_documents.py`` and review the diff.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pypdf
import pytest
from hypothesis import given, settings, strategies as st

from cpqctl.render import fmt
from cpqctl.render.documents import (
    PdfError,
    TemplateError,
    escape_markdown,
    escape_typst,
    render_markdown,
    render_pdf,
    render_typst,
)
from cpqctl.render.pdf import typst_to_pdf

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CPQ_UPDATE_GOLDEN") == "1"
NBSP = "\u00a0"
POLISH = "ąćęłńóśźż ĄĆĘŁŃÓŚŹŻ"
NASTY = "ACME #1 *Best* [x] $5 <a@b>"


def pln_quote() -> dict:
    """A new-business quote of a Polish company to a Polish customer (pl_PL, PLN, 23% VAT)."""
    return {
        "company": {
            "name": "Example Software Sp. z o.o.",
            "address": "ul. Piotrkowska 104, 90-001 Łódź",
            "tax_id": "PL7251234567",
            "locale": "pl_PL",
            "currency": "PLN",
        },
        "account": {
            "account": "acme",
            "name": "ACME Sp. z o.o.",
            "address": "ul. Świętokrzyska 12, 00-916 Warszawa",
            "tax_id": "PL5260001234",
            "contacts": [{"name": "Anna Nowak", "email": "anna.nowak@acme.example", "role": "billing"}],
        },
        "quote": {
            "id": "Q-2026-0001",
            "kind": "new",
            "status": "approved",
            "date": date(2025, 12, 1),
            "valid_until": date(2025, 12, 31),
            "start": date(2026, 1, 1),
            "end": date(2026, 12, 31),
            "term_months": 12,
            "evergreen": False,
            "billing": "quarterly",
            "currency": "PLN",
            "contract": None,
        },
        "lines": [
            _line("PRO-SEAT", "Pro seat", "50", "year", "1200.00", "1080.00", "10% volume", "54000.00"),
            _line("SSO", "Single sign-on (SAML)", "1", "year", "500.00", "450.00", "contracted price", "450.00"),
            _line("ONBOARDING", "Wdrożenie — szkolenie zespołu", "1", None, "4500.00", "4500.00", "", "4500.00"),
        ],
        "totals": {
            "net": D("58950.00"),
            "taxes": [{"rate": D("23"), "base": D("58950.00"), "amount": D("13558.50")}],
            "tax": D("13558.50"),
            "gross": D("72508.50"),
        },
        "reverse_charge": False,
        "terms": [
            "Prices are net of VAT.",
            "Invoices are payable within 14 days.",
            f"Zażółć gęślą jaźń: {POLISH} €.",
        ],
        "as_of": date(2025, 12, 1),
    }


def eur_quote() -> dict:
    """A mid-term amendment in EUR to an EU customer under reverse charge (en_US company)."""
    return {
        "company": {
            "name": "Example Software Inc.",
            "address": "100 Market Street, Suite 300, San Francisco, CA 94105",
            "tax_id": "US 12-3456789",
            "locale": "en_US",
            "currency": "USD",
        },
        "account": {
            "account": "globex",
            "name": "Globex GmbH",
            "address": None,
            "tax_id": None,
            "contacts": [
                {"name": "Jürgen Müller", "email": "j.mueller@globex.example", "role": "procurement"},
                {"name": "Zoë Łukasiewicz", "email": "zoe@globex.example", "role": "billing"},
            ],
        },
        "quote": {
            "id": "Q-2026-0042",
            "kind": "amendment",
            "status": "needs-approval",
            "date": date(2026, 7, 1),
            "valid_until": date(2026, 7, 31),
            "start": date(2026, 7, 1),
            "end": date(2026, 12, 31),
            "term_months": None,
            "evergreen": False,
            "billing": "annual",
            "currency": "EUR",
            "contract": "C-2026-0007",
        },
        "lines": [
            _line(
                "PRO-SEAT",
                "Pro seat",
                "25",
                "year",
                "1200.00",
                "1080.00",
                "10% volume",
                "13500.00",
                start=date(2026, 7, 1),
                multiplier="0.500000",
            ),
            _line(
                "STORAGE-1TB",
                "Extra storage, 1 TB",
                "2.5",
                "month",
                "40.00",
                "40.00",
                "",
                "551.61",
                start=date(2026, 7, 16),
                multiplier="5.516129",
            ),
        ],
        "totals": {"net": D("14051.61"), "taxes": [], "tax": D("0.00"), "gross": D("14051.61")},
        "reverse_charge": True,
        "terms": ["Prices are net of VAT.", "Payment within 14 days of the invoice date (€)."],
        "as_of": date(2026, 7, 1),
    }


def _line(
    product, name, qty, per, list_price, net_price, discount, total, *, start=date(2026, 1, 1), multiplier="1.000000"
) -> dict:
    return {
        "product": product,
        "name": name,
        "quantity": D(qty),
        "per": per,
        "start": start,
        "end": date(2026, 12, 31) if per else None,
        "list_unit_price": D(list_price),
        "net_unit_price": D(net_price),
        "discount_text": discount,
        "prorate_multiplier": D(multiplier),
        "net_total": D(total),
    }


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def repo_templates(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    folder = tmp_path / "templates"
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


# --- fmt --------------------------------------------------------------------------------


def test_money_pl_uses_space_groups_decimal_comma_and_zloty_suffix():
    assert fmt.money(D("1234.56"), "PLN", "pl_PL") == f"1{NBSP}234,56{NBSP}zł"
    assert fmt.money(D("-1234567.5"), "PLN", "pl_PL") == f"-1{NBSP}234{NBSP}567,50{NBSP}zł"


def test_money_en_us_and_euro():
    assert fmt.money(D("1234.56"), "USD", "en_US") == "$1,234.56"
    assert fmt.money(D("14051.61"), "EUR", "en_US") == "€14,051.61"
    assert fmt.money(D("0"), "EUR", "de_DE") == f"0,00{NBSP}€"


def test_money_jpy_has_no_minor_unit():
    assert fmt.money(D("1234"), "JPY", "en_US") == "¥1,234"
    assert fmt.money(D("1234"), "JPY", "ja_JP") == "￥1,234"


def test_narrow_no_break_space_is_normalised():
    """fr_FR groups with U+202F in current CLDR; documents always carry U+00A0."""
    text = fmt.money(D("1234.56"), "EUR", "fr_FR")
    assert "\u202f" not in text
    assert text == f"1{NBSP}234,56{NBSP}€"


def test_number_keeps_significant_digits_only():
    assert fmt.number(D("50.00"), "pl_PL") == "50"
    assert fmt.number(D("2.5"), "pl_PL") == "2,5"
    assert fmt.number(D("1234.5"), "en_US") == "1,234.5"
    assert fmt.number(D("0.416667"), "en_US") == "0.416667"


def test_percent_from_points():
    assert fmt.percent(D("10"), "en_US") == "10%"
    assert fmt.percent(D("23"), "pl_PL") == "23%"
    assert fmt.percent(D("12.5"), "pl_PL") == "12,5%"
    assert fmt.percent(D("3.5"), "de_DE") == f"3,5{NBSP}%"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("pl_PL", "05.01.2026"),
        ("en_US", "01/05/2026"),
        ("en_GB", "05/01/2026"),
        ("sv_SE", "2026-01-05"),
        ("de_DE", "05.01.2026"),
    ],
)
def test_date_is_numeric_with_four_digit_year(locale, expected):
    assert fmt.date(date(2026, 1, 5), locale) == expected


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=D("-99999999999.99"), max_value=D("99999999999.99"), places=2))
def test_money_pl_reads_back_as_the_same_amount(value):
    text = fmt.money(value, "PLN", "pl_PL")
    assert text.endswith(f"{NBSP}zł")
    digits = text.removesuffix(f"{NBSP}zł").replace(NBSP, "").replace(",", ".")
    assert D(digits) == value


# --- escaping ---------------------------------------------------------------------------


def test_typst_escaping_prints_every_special_character_literally():
    samples = [
        NASTY,
        "".join(chr(c) for c in range(33, 127) if not chr(c).isalnum()),
        "- item",
        "= heading",
        "+ enum",
        "1. enum",
        "/ term: description",
        "https://example.com//x",
        "a -- b --- c ... d -? e ~ f",
        "\\u{41}",
        "'single' \"double\"",
        "x // not a comment",
        "/* not a block */",
        "@label <label>",
        POLISH + " € zł",
    ]
    source = "#set page(width: 40cm, height: auto)\n" + "\n\n".join(
        f"L{i}:{escape_typst(text)}:E" for i, text in enumerate(samples)
    )
    lines = pdf_text(typst_to_pdf(source, None, date(2026, 1, 1))).splitlines()
    assert lines == [f"L{i}:{text}:E" for i, text in enumerate(samples)]


def test_typst_escaping_keeps_a_newline_inside_the_value():
    assert "\n" not in escape_typst("line one\nline two")
    text = pdf_text(typst_to_pdf("= " + escape_typst("Head\nTail"), None, date(2026, 1, 1)))
    assert text.splitlines() == ["Head", "Tail"]


def test_markdown_escaping():
    assert escape_markdown(NASTY) == r"ACME \#1 \*Best\* \[x\] $5 \<a@b\>"
    assert escape_markdown("a | b") == r"a \| b"
    assert escape_markdown("1. first") == r"1\. first"
    assert escape_markdown("- dash") == r"\- dash"
    assert escape_markdown("01.12.2025") == "01.12.2025"
    assert escape_markdown("-1 234,56 zł") == "-1 234,56 zł"
    assert escape_markdown("two\r\n  lines") == "two lines"
    assert escape_markdown(f"1{NBSP}234") == f"1{NBSP}234"


# --- Markdown ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "build"), [("quote_pl_PL.md", pln_quote), ("quote_en_US.md", eur_quote)])
def test_quote_markdown_matches_golden(name, build):
    text = render_markdown("quote", build(), None)
    golden = GOLDEN / name
    if UPDATE:
        golden.write_text(text, encoding="utf-8", newline="\n")
    assert text == golden.read_text(encoding="utf-8")
    assert all(line == line.rstrip() for line in text.splitlines()), "trailing spaces"
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_quote_markdown_content():
    text = render_markdown("quote", pln_quote(), None)
    assert text.startswith("# Quote Q-2026-0001\n")
    assert f"| **Total** | **72{NBSP}508,50{NBSP}zł** |" in text
    assert f"| VAT 23% on 58{NBSP}950,00{NBSP}zł | 13{NBSP}558,50{NBSP}zł |" in text
    assert "Reverse charge" not in text
    eur = render_markdown("quote", eur_quote(), None)
    assert "# Amendment quote Q-2026-0042" in eur
    assert "Reverse charge: VAT to be accounted for by the recipient" in eur
    assert "| × 0.5 | €13,500.00 |" in eur


def test_quote_markdown_escapes_customer_name():
    data = pln_quote()
    data["account"]["name"] = NASTY
    assert r"**ACME \#1 \*Best\* \[x\] $5 \<a@b\>** (acme)" in render_markdown("quote", data, None)


def test_quote_markdown_evergreen_term():
    data = pln_quote()
    data["quote"].update(evergreen=True, end=None, term_months=None)
    assert "- Term: evergreen from 01.01.2026, renews automatically" in render_markdown("quote", data, None)


def test_markdown_is_deterministic():
    assert render_markdown("quote", pln_quote(), None) == render_markdown("quote", pln_quote(), None)


# --- PDF ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pln_pdf() -> bytes:
    return render_pdf("quote", pln_quote(), None, date(2025, 12, 1))


def test_pdf_shows_totals_as_formatted_and_polish_letters(pln_pdf):
    text = pdf_text(pln_pdf)
    assert f"Total 72{NBSP}508,50{NBSP}zł" in text
    assert f"Net total 58{NBSP}950,00{NBSP}zł" in text
    assert f"VAT 23% on 58{NBSP}950,00{NBSP}zł 13{NBSP}558,50{NBSP}zł" in text
    assert POLISH in text
    assert "€" in text
    assert "ul. Piotrkowska 104, 90-001 Łódź" in text
    assert "Wdrożenie — szkolenie zespołu" in text


def test_pdf_en_us_reverse_charge():
    text = pdf_text(render_pdf("quote", eur_quote(), None, date(2026, 7, 1)))
    assert "Total €14,051.61" in text
    assert "Reverse charge" in text
    assert "Zoë Łukasiewicz" in text
    assert "C-2026-0007" in text


def test_pdf_is_byte_identical_and_dated_as_of(pln_pdf):
    again = render_pdf("quote", pln_quote(), None, date(2025, 12, 1))
    assert again == pln_pdf
    later = render_pdf("quote", pln_quote(), None, date(2025, 12, 2))
    assert later != pln_pdf
    meta = pypdf.PdfReader(io.BytesIO(pln_pdf)).metadata
    assert meta["/CreationDate"] == "D:20251201000000Z"
    assert meta["/Title"] == "Quote Q-2026-0001"


def test_pdf_prints_a_hostile_customer_name_literally():
    data = pln_quote()
    data["account"]["name"] = NASTY
    assert pdf_text(render_pdf("quote", data, None, date(2025, 12, 1))).count(NASTY) == 2


def test_typst_string_filter_makes_safe_literals():
    data = pln_quote()
    data["company"]["name"] = 'Quote "Co" \\ #Sons'
    meta = pypdf.PdfReader(io.BytesIO(render_pdf("quote", data, None, date(2025, 12, 1)))).metadata
    assert meta["/Author"] == 'Quote "Co" \\ #Sons'


def test_pdf_uses_only_embedded_fonts(pln_pdf):
    reader = pypdf.PdfReader(io.BytesIO(pln_pdf))
    fonts = {str(f["/BaseFont"]) for f in reader.pages[0]["/Resources"]["/Font"].values()}
    assert fonts and all("Libertinus" in f for f in fonts)


def test_long_quote_breaks_onto_a_second_page():
    data = pln_quote()
    data["lines"] = data["lines"] * 8
    reader = pypdf.PdfReader(io.BytesIO(render_pdf("quote", data, None, date(2025, 12, 1))))
    assert len(reader.pages) == 2
    assert "PRODUCT" in reader.pages[1].extract_text()  # the table header repeats


# --- repo templates -------------------------------------------------------------------


def test_repo_template_overrides_the_builtin_one(tmp_path):
    folder = repo_templates(tmp_path, {"quote.md.j2": "Custom {{ quote.id }} for {{ account.name }}\n"})
    assert render_markdown("quote", pln_quote(), folder) == "Custom Q-2026-0001 for ACME Sp. z o.o.\n"


def test_repo_template_can_extend_the_builtin_one(tmp_path):
    folder = repo_templates(
        tmp_path,
        {
            "quote.typ.j2": '{% extends "builtin/quote.typ.j2" %}{% block footer %}Custom footer {{ quote.id }}{% endblock %}',
        },
    )
    text = pdf_text(render_pdf("quote", pln_quote(), folder, date(2025, 12, 1)))
    assert "Custom footer Q-2026-0001" in text
    assert f"Total 72{NBSP}508,50{NBSP}zł" in text


def test_repo_assets_are_readable_and_nothing_else(tmp_path):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
    folder = repo_templates(
        tmp_path,
        {
            "quote.typ.j2": '#image("assets/logo.svg", width: 1cm)\n#read("assets/note.txt")',
            "assets/logo.svg": svg,
            "assets/note.txt": "Asset text",
            "secret.txt": "not an asset",
        },
    )
    assert "Asset text" in pdf_text(render_pdf("quote", pln_quote(), folder, date(2025, 12, 1)))
    (folder / "quote.typ.j2").write_text('#read("secret.txt")')
    with pytest.raises(PdfError, match="file not found"):
        render_pdf("quote", pln_quote(), folder, date(2025, 12, 1))


@pytest.mark.parametrize("path", ["/etc/hostname", "../../../../etc/hostname", "/proc/self/environ"])
def test_typst_cannot_read_outside_its_root(path):
    with pytest.raises(PdfError) as info:
        typst_to_pdf(f'#read("{path}")', None, date(2026, 1, 1))
    assert "cpq-typst-" not in str(info.value)  # messages name paths relative to the root


@pytest.mark.parametrize("name", ["../escape.txt", "/abs.txt", "main.typ"])
def test_bad_asset_names_are_refused(name):
    with pytest.raises(PdfError, match="invalid asset name"):
        typst_to_pdf("Hello", {name: b"x"}, date(2026, 1, 1))


def test_macros_are_not_escaped_twice_and_e_escapes_for_the_output(tmp_path):
    folder = repo_templates(
        tmp_path,
        {
            "quote.md.j2": '{% macro bold(x) %}**{{ x }}**{% endmacro %}{{ bold(account.name ~ " *") }} {{ "<&>"|e }}',
        },
    )
    assert render_markdown("quote", pln_quote(), folder) == r"**ACME Sp. z o.o. \*** \<&\>"


def test_undefined_variable_is_an_error_with_position(tmp_path):
    folder = repo_templates(tmp_path, {"quote.md.j2": "# {{ quote.id }}\n{{ quote.no_such_field }}\n"})
    with pytest.raises(TemplateError, match=r"templates/quote\.md\.j2:2: UndefinedError: .*no_such_field"):
        render_markdown("quote", pln_quote(), folder)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ lines.append(1) }}",
        "{{ quote.date.__class__.__init__.__globals__ }}",
    ],
)
def test_sandbox_refuses_python_internals_and_mutation(tmp_path, source):
    folder = repo_templates(tmp_path, {"quote.md.j2": source})
    data = pln_quote()
    with pytest.raises(TemplateError, match="not allowed in a template"):
        render_markdown("quote", data, folder)
    assert len(data["lines"]) == 3


def test_template_syntax_error_has_position(tmp_path):
    folder = repo_templates(tmp_path, {"quote.md.j2": "ok\n{% if %}\n"})
    with pytest.raises(TemplateError, match=r"templates/quote\.md\.j2:2: template syntax error"):
        render_markdown("quote", pln_quote(), folder)


def test_missing_template_is_an_error():
    with pytest.raises(TemplateError, match=r"template not found: statement\.md\.j2"):
        render_markdown("statement", pln_quote(), None)


def test_typst_error_is_reported_with_its_position(tmp_path):
    folder = repo_templates(tmp_path, {"quote.typ.j2": "Hello\n#let x = (\n"})
    with pytest.raises(PdfError, match=r"main\.typ:2:"):
        render_pdf("quote", pln_quote(), folder, date(2025, 12, 1))


@pytest.fixture
def user_proxy(monkeypatch):
    """A local HTTPS proxy, as a user's environment might name one; records each connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    seen: list[str] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            seen.append(conn.recv(200).decode("latin-1"))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    proxy = f"http://127.0.0.1:{server.getsockname()[1]}"
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield proxy, seen
    stop.set()
    thread.join()
    server.close()


@pytest.mark.parametrize(
    "source",
    [
        '#import "@preview/cetz:0.3.0": canvas\nHello',
        '#let spec = "@pre" + "view/cetz:0.3.0"\n#import spec: canvas\nHello',
    ],
)
def test_package_imports_fail_fast_without_network(user_proxy, source):
    """Even a package spec built at run time never reaches the network (here: the user's proxy)."""
    proxy, seen = user_proxy
    started = time.perf_counter()
    with pytest.raises(PdfError, match="package imports are not allowed"):
        typst_to_pdf(source, None, date(2026, 1, 1))
    assert time.perf_counter() - started < 5
    assert seen == []
    assert os.environ["HTTPS_PROXY"] == proxy  # the guard is undone after the compile


def test_typst_source_is_escaped_in_the_generated_markup():
    data = pln_quote()
    data["account"]["name"] = NASTY
    assert r"ACME \#1 \*Best\* \[x\] \$5 \<a\@b\>" in render_typst("quote", data, None)


def test_importing_the_module_loads_neither_jinja_nor_typst():
    code = (
        "import sys, cpqctl.render.documents, cpqctl.render.pdf, cpqctl.render.fmt;"
        "print(sorted(m for m in ('jinja2', 'typst', 'babel', 'markupsafe') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent
    )
    assert out.stdout.strip() == "[]"
