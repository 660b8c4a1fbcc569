"""EN 16931 e-invoices (cpqctl/formats/en16931.py): CII (Factur-X EN 16931) and UBL 2.1 (Peppol BIS 3.0).

Every kind of invoice the example repository issues — PLN with 23% VAT (acme), EUR reverse charge to Germany
(globex), EUR with 23% VAT shown in PLN (stark, wayne), "np." outside the EU (umbrella) — and corrective
invoices (a credit: CreditNote/381; a charge: 384) are rendered as CII and as UBL and must pass the XSD and the
EN 16931 Schematron with no fatal finding. Hand-broken documents must yield the rule that catches them. The
Factur-X PDF embeds the CII in a PDF/A-3b from Typst, byte for byte the same on every render.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import copy_example, invoke

pytest.importorskip("facturx")
pytest.importorskip("saxonche")

from cpqctl.formats import en16931 as E

CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def _ok(r) -> None:
    assert r.exit_code == 0, r.stderr


def _cli(*args: object) -> SimpleNamespace:
    r = invoke(*args)
    return SimpleNamespace(code=r.exit_code, stdout=r.stdout, stderr=r.stderr)


def _load(root: Path):
    from cpqctl.load.repo import load_repo

    repo, diags = load_repo(root)
    assert [d for d in diags if d.severity == "error"] == []
    return repo


def _of(repo, account: str, kind: str = "invoice"):
    return sorted(
        (i for i in repo.invoices.values() if i.account == account and i.kind == kind), key=lambda i: i.invoice
    )


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """{name: (repo, invoice)} of each kind: the example run through 2027-06-01 (as
    tests/test_lawful_invoices.py::test_the_example_repository_itself_issues_each_kind), and the lawful
    repository of that file with its downgrade (a credit correction) and a raised price (a charge correction)."""
    from tests.test_lawful_invoices import WAYNE, _downgrade

    example = copy_example(tmp_path_factory.mktemp("en16931") / "example")
    _ok(invoke("invoice", "run", "--through", "2027-06-01", "--as-of", "2027-06-01", "--repo", example))
    repo = _load(example)
    out = {name: (repo, _of(repo, account)[-1]) for name, account in
           (("pln", "acme"), ("reverse_charge", "globex"), ("np", "umbrella"), ("eur_vat_pln", "stark"))}  # fmt: skip

    root = copy_example(tmp_path_factory.mktemp("en16931") / "lawful")
    (root / "contracts" / "wayne").mkdir()
    (root / "contracts" / "wayne" / "account.yaml").write_text(WAYNE, encoding="utf-8")
    toml = root / "cpq.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('invoice = "INV-{year}-{seq:04d}"',
                    'invoice = "FV/{year}/{month:02d}/{seq:04d}"'), encoding="utf-8")  # fmt: skip
    _ok(invoke("quote", "new", "--account", "wayne", "--start", "2026-02-01", "--term", "12", "--billing", "monthly",
               "--line", "PRO-SEAT=5", "--as-of", "2026-02-20", "--repo", root))  # fmt: skip
    _ok(
        invoke("quote", "accept", "Q-2026-0001", "--signed-by", "Jan Kowalski", "--as-of", "2026-03-01", "--repo", root)
    )
    _ok(invoke("invoice", "run", "--through", "2026-03-01", "--as-of", "2026-03-01", "--repo", root))
    _downgrade(_cli, root)
    wayne_feb = _of(_load(root), "wayne")[0]
    _ok(invoke("invoice", "correct", wayne_feb.invoice, "--line", "1=300.00", "--reason", "price raised",
               "--as-of", "2026-03-21", "--repo", root))  # fmt: skip
    repo = _load(root)
    credit, charge = _of(repo, "acme", "correction")[0], _of(repo, "wayne", "correction")[0]
    out.update(correction=(repo, credit), correction_charge=(repo, charge), wayne=(repo, wayne_feb))
    return out


def _data(repo, inv) -> dict:
    from cpqctl.views.documents import invoice_data

    return invoice_data(repo, inv)


def _fatal(findings) -> list[str]:
    return [str(f) for f in findings if f.severity == "fatal"]


def _xml(b: bytes):
    from lxml import etree

    return etree.fromstring(b)


# ------------------------------------------------------------------------------------------- each kind is valid

# name → (CII TypeCode, UBL root, VAT category, tax currency)
KINDS = {
    "pln": ("380", "Invoice", "S", None),
    "reverse_charge": ("380", "Invoice", "AE", "PLN"),
    "np": ("380", "Invoice", "O", "PLN"),
    "eur_vat_pln": ("380", "Invoice", "S", "PLN"),
    "wayne": ("380", "Invoice", "S", "PLN"),
    "correction": ("381", "CreditNote", "S", None),
    "correction_charge": ("384", "Invoice", "S", "PLN"),
}


@pytest.mark.parametrize("name", list(KINDS))
def test_each_kind_passes_the_xsd_and_the_en16931_schematron(docs, name) -> None:
    repo, inv = docs[name]
    data = _data(repo, inv)
    type_code, ubl_root, category, tax_currency = KINDS[name]

    cii = E.cii_xml(inv, data)
    assert _fatal(E.validate_cii(cii)) == [], name
    c = _xml(cii)
    assert c.findtext("rsm:ExchangedDocument/ram:TypeCode", namespaces=CII_NS) == type_code
    assert c.findtext("rsm:ExchangedDocument/ram:ID", namespaces=CII_NS) == inv.invoice
    assert {e.text for e in c.iterfind(".//ram:CategoryCode", CII_NS)} == {category}
    assert c.findtext(".//ram:TaxCurrencyCode", namespaces=CII_NS) == tax_currency

    ubl = E.ubl_xml(inv, data)
    assert _fatal(E.validate_ubl(ubl)) == [], name
    u = _xml(ubl)
    assert u.tag.endswith("}" + ubl_root)
    code = u.findtext(
        "cbc:CreditNoteTypeCode" if ubl_root == "CreditNote" else "cbc:InvoiceTypeCode", namespaces=UBL_NS
    )
    assert code == type_code
    assert u.findtext("cbc:CustomizationID", namespaces=UBL_NS) == E.UBL_CUSTOMIZATION
    assert u.findtext("cbc:ProfileID", namespaces=UBL_NS) == E.UBL_PROFILE
    assert {e.text for e in u.iterfind(".//cac:ClassifiedTaxCategory/cbc:ID", UBL_NS)} == {category}
    assert u.findtext("cbc:TaxCurrencyCode", namespaces=UBL_NS) == tax_currency

    # the totals are the invoice's (a credit note's turned positive)
    sign = -1 if inv.gross_total < 0 else 1
    assert Decimal(u.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=UBL_NS)) == sign * inv.gross_total
    grand = c.findtext(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount", namespaces=CII_NS)
    assert Decimal(grand) == sign * inv.gross_total


def test_a_correction_names_the_invoice_it_corrects(docs) -> None:
    repo, inv = docs["correction"]
    cii, ubl = _xml(E.cii_xml(inv, _data(repo, inv))), _xml(E.ubl_xml(inv, _data(repo, inv)))
    ref = cii.find(".//ram:InvoiceReferencedDocument", CII_NS)
    assert ref is not None and ref.findtext("ram:IssuerAssignedID", namespaces=CII_NS) == inv.corrects
    assert ref.findtext(".//{*}DateTimeString") == inv.corrects_date.strftime("%Y%m%d")
    assert ubl.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=UBL_NS) == inv.corrects
    # a credit note carries positive amounts: the quantity turns with the amount, the price stays ≥ 0
    (line,) = ubl.iterfind("cac:CreditNoteLine", UBL_NS)
    assert Decimal(line.findtext("cbc:CreditedQuantity", namespaces=UBL_NS)) > 0
    assert Decimal(line.findtext("cbc:LineExtensionAmount", namespaces=UBL_NS)) == -inv.lines[0].amount
    assert Decimal(line.findtext("cac:Price/cbc:PriceAmount", namespaces=UBL_NS)) >= 0
    assert inv.reason in ubl.findtext("cbc:Note", namespaces=UBL_NS)


def test_vat_in_pln_is_the_stored_amount(docs) -> None:
    repo, inv = docs["eur_vat_pln"]
    (tax,) = inv.taxes
    c = _xml(E.cii_xml(inv, _data(repo, inv)))
    totals = {e.get("currencyID"): Decimal(e.text) for e in c.iterfind(".//ram:TaxTotalAmount", CII_NS)}
    assert totals == {"EUR": tax.amount, "PLN": tax.amount_pln}
    u = _xml(E.ubl_xml(inv, _data(repo, inv)))
    pln = [e.text for e in u.iterfind("cac:TaxTotal/cbc:TaxAmount[@currencyID='PLN']", UBL_NS)]
    assert pln == [str(tax.amount_pln)]


def test_outside_the_scope_has_no_vat_identifier_but_keeps_the_sellers_tax_id(docs) -> None:
    """BR-O-02: an "O" invoice names no VAT identifier; the seller's NIP stays as its tax registration (BT-32)."""
    repo, inv = docs["np"]
    c = _xml(E.cii_xml(inv, _data(repo, inv)))
    regs = {(e.get("schemeID"), e.text) for e in c.iterfind(".//ram:SpecifiedTaxRegistration/ram:ID", CII_NS)}
    assert regs == {("FC", inv.seller.tax_id)}
    assert c.findtext(".//ram:ExemptionReasonCode", namespaces=CII_NS) == "VATEX-EU-O"
    assert c.find(".//ram:IncludedSupplyChainTradeLineItem//ram:RateApplicablePercent", CII_NS) is None  # BR-O-05


def test_reverse_charge_gives_the_exemption_code_and_both_vat_ids(docs) -> None:
    repo, inv = docs["reverse_charge"]
    u = _xml(E.ubl_xml(inv, _data(repo, inv)))
    assert u.findtext(".//cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode", namespaces=UBL_NS) == (
        "VATEX-EU-AE"
    )
    ids = [e.text for e in u.iterfind(".//cac:PartyTaxScheme/cbc:CompanyID", UBL_NS)]
    assert ids == [inv.seller.tax_id, inv.buyer.tax_id]
    # a line billing one block of 30: quantity 1, the price the block's
    block = next(
        ln
        for ln in u.iterfind("cac:InvoiceLine", UBL_NS)
        if "block of" in (ln.findtext("cbc:Note", namespaces=UBL_NS) or "")
    )
    assert block.findtext("cbc:InvoicedQuantity", namespaces=UBL_NS) == "1"


def test_line_quantity_times_price_gives_the_net_amount(docs) -> None:
    """Peppol R120 (quantity × price = line net within 0.02): prorated lines too."""
    for name in KINDS:
        repo, inv = docs[name]
        u = _xml(E.ubl_xml(inv, _data(repo, inv)))
        lines = u.findall("cac:InvoiceLine", UBL_NS) + u.findall("cac:CreditNoteLine", UBL_NS)
        assert len(lines) == len(inv.lines), name
        for ln in lines:
            q = Decimal(
                ln.findtext("cbc:InvoicedQuantity", "", UBL_NS) or ln.findtext("cbc:CreditedQuantity", "", UBL_NS)
            )
            p = Decimal(ln.findtext("cac:Price/cbc:PriceAmount", namespaces=UBL_NS))
            net = Decimal(ln.findtext("cbc:LineExtensionAmount", namespaces=UBL_NS))
            assert p >= 0 and abs(q * p - net) <= Decimal("0.005"), (name, q, p, net)
            # Peppol R110/R111: a line's period lies within the invoice's
            start, end = (
                u.findtext("cac:InvoicePeriod/cbc:StartDate", "", UBL_NS),
                u.findtext("cac:InvoicePeriod/cbc:EndDate", "", UBL_NS),
            )
            for d in (
                ln.findtext("cac:InvoicePeriod/cbc:StartDate", "", UBL_NS),
                ln.findtext("cac:InvoicePeriod/cbc:EndDate", "", UBL_NS),
            ):
                assert start <= d <= end, (name, d, start, end)


def test_buyer_and_seller_endpoints(docs) -> None:
    repo, inv = docs["reverse_charge"]
    ubl = E.ubl_xml(
        inv, _data(repo, inv), buyer_endpoint=("9930", "DE811234565"), seller_endpoint=("9945", "PL7251234561")
    )
    assert _fatal(E.validate_ubl(ubl)) == []
    u = _xml(ubl)
    ends = [(e.get("schemeID"), e.text) for e in u.iterfind(".//cac:Party/cbc:EndpointID", UBL_NS)]
    assert ends == [("9945", "PL7251234561"), ("9930", "DE811234565")]


# ------------------------------------------------------------------------------------------- broken documents


def test_reverse_charge_without_the_buyers_vat_id_breaks_br_ae_02(docs) -> None:
    repo, inv = docs["reverse_charge"]
    data = _data(repo, inv)
    data["account"] = {**data["account"], "tax_id": None}
    for findings in (E.validate_cii(E.cii_xml(inv, data)), E.validate_ubl(E.ubl_xml(inv, data))):
        rules = {f.rule for f in findings if f.severity == "fatal"}
        assert "BR-AE-02" in rules, findings
        f = next(f for f in findings if f.rule == "BR-AE-02")
        assert "Buyer VAT identifier (BT-48)" in f.message and f.location and f.location.startswith("/")


def test_totals_that_do_not_add_up_break_br_co_rules(docs) -> None:
    repo, inv = docs["pln"]
    data = _data(repo, inv)
    total = str(inv.gross_total).encode()
    cii = E.cii_xml(inv, data)
    broken = cii.replace(b"<ram:GrandTotalAmount>" + total, b"<ram:GrandTotalAmount>1" + total)
    assert broken != cii
    assert "BR-CO-15" in {f.rule for f in E.validate_cii(broken)}
    ubl = E.ubl_xml(inv, data)
    broken = re.sub(rb"(<cbc:TaxInclusiveAmount[^>]*>)", rb"\g<1>1", ubl)
    assert "BR-CO-15" in {f.rule for f in E.validate_ubl(broken)}


def test_an_xsd_error_has_its_line(docs) -> None:
    repo, inv = docs["pln"]
    ubl = E.ubl_xml(inv, _data(repo, inv)).replace(b"<cbc:IssueDate>", b"<cbc:Nonsense/>\n  <cbc:IssueDate>")
    xsd = [f for f in E.validate_ubl(ubl) if f.rule == "XSD"]
    assert xsd and xsd[0].severity == "fatal" and xsd[0].line == 6 and "Nonsense" in xsd[0].message
    assert [f.rule for f in E.validate_cii(b"<not-closed>")] == ["XML"]


def test_validation_never_reads_the_network_or_entities(docs) -> None:
    evil = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:9/x">]>\n<x>&e;</x>'
    findings = E.validate_ubl(evil)
    assert findings and all(f.severity == "fatal" for f in findings)
    assert findings[0].rule == "XML"


def test_an_invoice_at_several_rates_is_refused(docs) -> None:
    repo, inv = docs["pln"]
    (t,) = inv.taxes
    mixed = dataclasses.replace(inv, taxes=(t, dataclasses.replace(t, rate=Decimal(8))))
    with pytest.raises(ValueError, match="several rates"):
        E.cii_xml(mixed, _data(repo, mixed))


def test_unit_codes() -> None:
    assert [E.unit_code(u) for u in ("unit", "user", "block", "month", "year", "GB", "", None, "widget")] == [
        "C62", "C62", "C62", "MON", "ANN", "E34", "C62", "C62", "C62",
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------- deterministic


def test_the_same_invoice_gives_the_same_bytes(docs) -> None:
    for name in KINDS:
        repo, inv = docs[name]
        assert E.cii_xml(inv, _data(repo, inv)) == E.cii_xml(inv, _data(repo, inv)), name
        assert E.ubl_xml(inv, _data(repo, inv)) == E.ubl_xml(inv, _data(repo, inv)), name


# ------------------------------------------------------------------------------------------- Factur-X PDF


def _pdfa3b(monkeypatch: pytest.MonkeyPatch) -> None:
    """What render/pdf.py's typst.compile call needs to give a PDF/A-3b: ``pdf_standards="a-3b"``."""
    import typst

    real = typst.compile

    def compile_a3b(*args, **kwargs):
        return real(*args, **{**kwargs, "pdf_standards": "a-3b"})

    monkeypatch.setattr(typst, "compile", compile_a3b)


def _xmp(reader) -> str:
    return reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")


def test_typst_writes_pdf_a_3b() -> None:
    from datetime import UTC, datetime

    import typst
    from pypdf import PdfReader

    pdf = typst.compile(b'#set document(title: "t")\nHello', format="pdf", pdf_standards="a-3b",
                        timestamp=datetime(2026, 3, 1, tzinfo=UTC), ignore_system_fonts=True)  # fmt: skip
    reader = PdfReader(BytesIO(pdf))
    xmp = _xmp(reader)
    assert "<pdfaid:part>3</pdfaid:part>" in xmp and "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    assert reader.trailer["/Root"]["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"


def test_facturx_pdf_embeds_the_cii(docs, monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import PdfReader

    from cpqctl.render.documents import render_pdf

    _pdfa3b(monkeypatch)
    repo, inv = docs["eur_vat_pln"]
    data = _data(repo, inv)
    pdf = render_pdf("invoice", data, None, inv.date)
    cii = E.cii_xml(inv, data)
    hybrid = E.facturx_pdf(pdf, cii)
    assert hybrid == E.facturx_pdf(pdf, cii)  # deterministic: no clock
    assert hybrid.startswith(b"%PDF-1.7")

    reader = PdfReader(BytesIO(hybrid))
    root = reader.trailer["/Root"]
    (spec,) = [s.get_object() for s in root["/AF"]]
    assert (spec["/F"], spec["/UF"], spec["/AFRelationship"]) == ("factur-x.xml", "factur-x.xml", "/Alternative")
    assert spec["/EF"]["/F"].get_object().get_data() == cii
    assert reader.attachments["factur-x.xml"] == [cii]
    assert root["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"  # Typst's PDF/A output intent kept

    xmp = _xmp(reader)
    for tag, value in (("DocumentType", "INVOICE"), ("DocumentFileName", "factur-x.xml"), ("Version", "1.0"),
                       ("ConformanceLevel", "EN 16931")):  # fmt: skip
        assert f"<fx:{tag}>{value}</fx:{tag}>" in xmp
    assert 'xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"' in xmp
    assert "<pdfaid:part>3</pdfaid:part>" in xmp and "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    # the dates are the render's (Typst's as-of), in Info, XMP and the embedded file alike
    day = inv.date.strftime("%Y%m%d")
    info = reader.metadata
    assert (
        info is not None and info["/CreationDate"].startswith(f"D:{day}") and info["/ModDate"] == info["/CreationDate"]
    )
    assert f"<xmp:CreateDate>{inv.date.isoformat()}T00:00:00+00:00</xmp:CreateDate>" in xmp
    params = spec["/EF"]["/F"].get_object()["/Params"]
    assert params["/ModDate"] == info["/ModDate"]
    assert f"<pdf:Producer>{info['/Producer']}</pdf:Producer>" in xmp  # PDF/A: Info and XMP agree
    # the PDF still reads as the invoice
    assert inv.invoice in reader.pages[0].extract_text()
