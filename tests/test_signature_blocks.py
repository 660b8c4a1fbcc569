"""Quote, amendment and renewal documents: the signature block never stands alone on a page, and product
descriptions are shown under the product name.

The signature block sticks to the totals and terms before it (cpqctl/templates/quote.typ.j2): the PDFs are
rendered bilingual (pl+en, the longest labels) with 1 to 30 lines, across the page breaks, and the page holding
the signature labels must hold the totals too. The known case: ACME's bilingual amendment quote, whose
signatures fell alone onto page 2.
"""

from __future__ import annotations

import copy
import io
from datetime import date
from pathlib import Path

import pypdf
import pytest

from tests.conftest import copy_example, invoke
from tests.test_documents import pln_quote

AS_OF = date(2026, 11, 28)
SIGNATURE = (
    "Name, title, signature"  # the bilingual label: "Imię i nazwisko, stanowisko, podpis / Name, title, signature"
)
TOTALS = "Net total"  # the first row of the totals ("Razem netto / Net total")
DESCRIPTION = "Full editing rights for one named user (#1, *all* features)"


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory) -> Path:
    """The example repository with ACME in pl+en, PRO-SEAT described, an amendment (Q-2026-0001) and a renewal
    (Q-2026-0002) of C-2026-0001."""
    root = tmp_path_factory.mktemp("signatures") / "repo"
    copy_example(root)
    account = root / "contracts" / "acme" / "account.yaml"
    account.write_text(account.read_text(encoding="utf-8") + "language: pl+en\n", encoding="utf-8")
    licenses = root / "catalog" / "licenses.yaml"
    text = licenses.read_text(encoding="utf-8")
    assert text.count("    name: Pro seat\n") == 1
    licenses.write_text(
        text.replace("    name: Pro seat\n", f'    name: Pro seat\n    description: "{DESCRIPTION}"\n'),
        encoding="utf-8",
    )
    for args in (
        ["amend", "C-2026-0001", "--effective", "2026-12-01", "--set", "PRO-SEAT=60"],
        ["renew", "C-2026-0001"],
    ):
        result = invoke(*args, "--as-of", AS_OF.isoformat(), "--repo", root)
        assert result.exit_code == 0, result.stderr
    return root


def quote_document(root: Path, quote_id: str) -> tuple[str, dict]:
    """The template name and data `quote render` uses."""
    from cpqctl.core import quotes
    from cpqctl.load.repo import load_repo
    from cpqctl.views import documents

    repo, _ = load_repo(root)
    q = repo.quotes[quote_id]
    priced = quotes.price(repo, q)
    return documents.quote_template(q), documents.quote_data(repo, q, priced, "draft", AS_OF)


def with_lines(data: dict, n: int) -> dict:
    """The document with ``n`` lines (the first ones repeated); an amendment's table of changes grows alike."""
    out = copy.deepcopy(data)
    out["lines"] = (data["lines"] * n)[:n]
    if out.get("amendment"):
        out["amendment"]["changes"] = (data["amendment"]["changes"] * n)[:n]
    return out


def pages(template: str, data: dict) -> list[str]:
    from cpqctl.render.documents import render_pdf

    pdf = render_pdf(template, data, None, AS_OF)
    return [" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def assert_signature_with_totals(texts: list[str], label: str) -> None:
    signed = [i for i, t in enumerate(texts) if SIGNATURE in t]
    assert signed == [len(texts) - 1], f"{label}: signature labels on pages {signed} of {len(texts)}"
    assert TOTALS in texts[-1], f"{label}: the signatures stand alone on page {len(texts)}"


# --- the signature block ----------------------------------------------------------------------


def test_the_bilingual_amendment_keeps_its_signatures_with_the_totals(bilingual):
    """The known case: one change, bilingual — two pages, the signatures used to be alone on the second."""
    template, data = quote_document(bilingual, "Q-2026-0001")
    texts = pages(template, data)
    assert len(texts) == 2
    assert_signature_with_totals(texts, "amendment")
    assert "Razem / Total 553,50" in " ".join(texts[-1].split()).replace("\u00a0", " ")


@pytest.mark.parametrize("kind", ["quote", "amendment", "renewal"])
def test_signatures_never_alone_on_a_page_for_any_number_of_lines(bilingual, kind):
    if kind == "quote":
        template, data = "quote", {**pln_quote(), "language": "pl+en"}
    else:
        template, data = quote_document(bilingual, {"amendment": "Q-2026-0001", "renewal": "Q-2026-0002"}[kind])
    counts = set()
    for n in range(1, 31):
        texts = pages(template, with_lines(data, n))
        counts.add(len(texts))
        assert_signature_with_totals(texts, f"{kind} with {n} lines")
    assert len(counts) >= 2, f"{kind}: 1 to 30 lines never crossed a page break ({counts})"


def test_a_one_page_quote_stays_one_page(bilingual):
    _, data = quote_document(bilingual, "Q-2026-0002")
    texts = pages("renewal", with_lines(data, 1))
    assert len(texts) == 1 and SIGNATURE in texts[0] and TOTALS in texts[0]
    assert len(pages("quote", pln_quote())) == 1


# --- product descriptions -----------------------------------------------------------------------


def test_descriptions_under_the_product_name_in_markdown(bilingual):
    from cpqctl.render.documents import render_markdown

    template, data = quote_document(bilingual, "Q-2026-0001")
    assert [c["description"] for c in data["amendment"]["changes"]] == [DESCRIPTION]
    assert [ln["description"] for ln in data["lines"]] == [DESCRIPTION]
    escaped = r"Full editing rights for one named user (\#1, \*all\* features)"
    text = render_markdown(template, data, None)
    assert f"| Pro seat (PRO-SEAT)<br>{escaped} | 55 | 60 | +5 |" in text  # the table of changes
    template, data = quote_document(bilingual, "Q-2026-0002")
    text = render_markdown(template, data, None)
    assert f"| 1 | Pro seat (PRO-SEAT)<br>{escaped} | 55 |" in text
    # a product without a description shows none
    assert "| 2 | Single sign-on add-on (SSO) | 1 |" in text


def test_descriptions_under_the_product_name_in_pdf(bilingual):
    template, data = quote_document(bilingual, "Q-2026-0001")  # the amendment's table of changes
    assert f"Pro seat PRO-SEAT {DESCRIPTION} 55 60 +5" in " ".join(pages(template, data))
    template, data = quote_document(bilingual, "Q-2026-0002")  # the renewal's lines
    assert f"1 Pro seat {DESCRIPTION} PRO-SEAT · 01.01.2027" in " ".join(pages(template, data))
    data = pln_quote()
    data["lines"][0]["description"] = DESCRIPTION
    text = " ".join(pages("quote", data))
    assert f"Pro seat {DESCRIPTION} PRO-SEAT" in text


def test_a_new_quote_shows_the_catalog_description(bilingual):
    from cpqctl.render.documents import render_markdown

    data = pln_quote()  # test data without the key at all still renders
    assert "<br>" not in render_markdown("quote", data, None)
    data["lines"][0]["description"] = "Named user"
    assert "| 1 | Pro seat (PRO-SEAT)<br>Named user | 50 |" in render_markdown("quote", data, None)
