"""KSeF FA(3) (cpqctl/formats/ksef.py): every kind of invoice the example issues renders, validates against the
Ministry's XSD offline, and says what the invoice says; broken documents are caught with their line; KOD I.

The invoices are those of tests/test_lawful_invoices.py: the example with one more customer (wayne, EUR with 23%
VAT shown in PLN at the NBP rate), billed on 2026-03-01, then ACME's downgrade mid-quarter as a correction.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from lxml import etree

from cpqctl.core.model import InvoiceParty, TaxLine
from cpqctl.formats import ksef
from cpqctl.formats.ksef import fa3_xml, ksef_qr_url, validate_fa3
from tests.conftest import copy_example, invoke
from tests.test_lawful_invoices import RUN_DAY, WAYNE, _documents, _downgrade, _load

NS = {"fa": ksef.FA3_NAMESPACE}
FIXTURES = Path(__file__).parent / "fixtures" / "ksef"
SELLER_NIP = "7251234561"  # the example's [company] tax_id, PL7251234561
KINDS = ("pln", "reverse_charge", "eur_vat_pln", "np", "correction")


def _cli(*args: object) -> SimpleNamespace:
    """tests.conftest.invoke shaped like the `cli` fixture's result (code, stdout, stderr), for module scope."""
    r = invoke(*args)
    return SimpleNamespace(code=r.exit_code, stdout=r.stdout, stderr=r.stderr)


@pytest.fixture(scope="module")
def lawful(tmp_path_factory: pytest.TempPathFactory):
    """The `lawful` repository of tests/test_lawful_invoices.py, built once for the module, with the downgrade:
    (documents by kind, the loaded repository)."""
    root = copy_example(tmp_path_factory.mktemp("ksef") / "example")
    (root / "contracts" / "wayne").mkdir()
    (root / "contracts" / "wayne" / "account.yaml").write_text(WAYNE, encoding="utf-8")
    toml = root / "cpq.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('invoice = "INV-{year}-{seq:04d}"', 'invoice = "FV/{year}/{month:02d}/{seq:04d}"'))
    for args in (
        ("quote", "new", "--account", "wayne", "--start", "2026-02-01", "--term", "12", "--billing", "monthly",
         "--line", "PRO-SEAT=5", "--as-of", "2026-02-20"),
        ("quote", "accept", "Q-2026-0001", "--signed-by", "Jan Kowalski", "--as-of", RUN_DAY),
        ("invoice", "run", "--through", RUN_DAY, "--as-of", RUN_DAY),
    ):  # fmt: skip
        r = _cli(*args, "--repo", root)
        assert r.code == 0, (args, r.stderr)
    _downgrade(_cli, root)
    docs, repo = _documents(root)
    return docs, repo, root


@pytest.fixture(scope="module")
def example_2027(tmp_path_factory: pytest.TempPathFactory):
    """The example repository itself, billed through 2027-06-01 (every account, every kind): the loaded repo."""
    root = copy_example(tmp_path_factory.mktemp("ksef") / "example")
    r = _cli("invoice", "run", "--through", "2027-06-01", "--as-of", "2027-06-01", "--repo", root)
    assert r.code == 0, r.stderr
    return _load(root)


def _tree(xml: bytes):
    return etree.fromstring(xml)


def _text(xml: bytes, path: str) -> str | None:
    return _tree(xml).findtext(path, namespaces=NS)


def _all(xml: bytes, path: str) -> list[str]:
    return [el.text for el in _tree(xml).findall(path, namespaces=NS)]


# --------------------------------------------------------------------------- every kind, valid


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_and_is_valid_fa3(lawful, kind: str) -> None:
    docs, _, _ = lawful
    inv = docs[kind]
    xml = fa3_xml(inv)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/')
    assert validate_fa3(xml) == []
    assert _text(xml, "fa:Naglowek/fa:KodFormularza") == "FA"
    assert _tree(xml).find("fa:Naglowek/fa:KodFormularza", NS).attrib == {
        "kodSystemowy": "FA (3)",
        "wersjaSchemy": "1-0E",
    }
    assert _text(xml, "fa:Naglowek/fa:WariantFormularza") == "3"
    assert _text(xml, "fa:Naglowek/fa:DataWytworzeniaFa") == f"{inv.date.isoformat()}T00:00:00Z"
    assert _text(xml, "fa:Naglowek/fa:SystemInfo") == "cpqctl"
    assert _text(xml, "fa:Podmiot1/fa:DaneIdentyfikacyjne/fa:NIP") == SELLER_NIP
    assert _text(xml, "fa:Fa/fa:KodWaluty") == inv.currency
    assert _text(xml, "fa:Fa/fa:P_1") == inv.date.isoformat()
    assert _text(xml, "fa:Fa/fa:P_2") == inv.invoice
    assert Decimal(_text(xml, "fa:Fa/fa:P_15")) == inv.gross_total  # pkt 15: the gross total (a difference on KOR)
    assert _text(xml, "fa:Fa/fa:P_15") == f"{inv.gross_total:.2f}"
    # the rows: one per line, their net amounts add up to the net total
    assert [Decimal(a) for a in _all(xml, "fa:Fa/fa:FaWiersz/fa:P_11")] == [ln.amount for ln in inv.lines]
    assert _all(xml, "fa:Fa/fa:FaWiersz/fa:NrWierszaFa") == [str(n) for n in range(1, len(inv.lines) + 1)]


def test_every_invoice_the_example_issues_through_2027_is_valid_fa3(example_2027) -> None:
    invoices = list(example_2027.invoices.values())
    assert {"acme", "globex", "umbrella", "stark"} <= {i.account for i in invoices}
    for inv in invoices:
        assert validate_fa3(fa3_xml(inv)) == [], inv.invoice


def test_the_document_depends_on_the_invoice_alone_byte_for_byte(lawful) -> None:
    from cpqctl.views.documents import invoice_data

    docs, repo, _ = lawful
    for kind, inv in docs.items():
        first = fa3_xml(inv)
        assert fa3_xml(inv) == first, kind
        # the resolved template data say the same as an invoice that records its parties
        assert fa3_xml(inv, invoice_data(repo, inv)) == first, kind


# --------------------------------------------------------------------------- what each kind says


def test_pln_invoice_at_23_percent(lawful) -> None:
    docs, _, _ = lawful
    inv = docs["pln"]
    xml = fa3_xml(inv)
    (tax,) = inv.taxes
    assert _text(xml, "fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:NIP") == "5260001200"  # PL5260001200 without PL
    assert _text(xml, "fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:Nazwa") == inv.buyer.name
    assert _text(xml, "fa:Podmiot1/fa:Adres/fa:AdresL1") == "ul. Piotrkowska 104"
    assert _text(xml, "fa:Podmiot1/fa:Adres/fa:AdresL2") == "90-001 Łódź"
    assert (_text(xml, "fa:Fa/fa:P_13_1"), _text(xml, "fa:Fa/fa:P_14_1")) == (f"{tax.base:.2f}", f"{tax.amount:.2f}")
    assert _text(xml, "fa:Fa/fa:P_14_1W") is None  # PLN: no conversion
    assert (_text(xml, "fa:Fa/fa:OkresFa/fa:P_6_Od"), _text(xml, "fa:Fa/fa:OkresFa/fa:P_6_Do")) == (
        str(inv.period_start),
        str(inv.sale_date),
    )
    assert _text(xml, "fa:Fa/fa:RodzajFaktury") == "VAT"
    assert _text(xml, "fa:Fa/fa:Adnotacje/fa:P_18") == "2"
    assert _text(xml, "fa:Fa/fa:Adnotacje/fa:Zwolnienie/fa:P_19N") == "1"
    assert set(_all(xml, "fa:Fa/fa:FaWiersz/fa:P_12")) == {"23"}
    first = _tree(xml).find("fa:Fa/fa:FaWiersz", NS)
    ln = inv.lines[0]
    assert first.findtext("fa:P_7", namespaces=NS) == ln.name
    assert first.findtext("fa:P_8A", namespaces=NS) == "szt."
    assert Decimal(first.findtext("fa:P_8B", namespaces=NS)) == ln.quantity
    assert first.findtext("fa:P_9A", namespaces=NS) == f"{ln.unit_price:.2f}"
    # the payment: due date, transfer, the seller's account without spaces
    assert _text(xml, "fa:Fa/fa:Platnosc/fa:TerminPlatnosci/fa:Termin") == str(inv.due)
    assert _text(xml, "fa:Fa/fa:Platnosc/fa:FormaPlatnosci") == "6"
    assert _text(xml, "fa:Fa/fa:Platnosc/fa:RachunekBankowy/fa:NrRB") == inv.seller.bank_account.replace(" ", "")


def test_eur_invoice_shows_its_vat_in_pln_at_the_nbp_rate(lawful) -> None:
    docs, _, _ = lawful
    inv = docs["eur_vat_pln"]
    xml = fa3_xml(inv)
    (tax,) = inv.taxes
    assert inv.currency == "EUR" and inv.fx is not None and tax.amount_pln is not None
    assert _text(xml, "fa:Fa/fa:KodWaluty") == "EUR"
    assert Decimal(_text(xml, "fa:Fa/fa:P_14_1W")) == tax.amount_pln  # art. 106e ust. 11
    assert Decimal(_text(xml, "fa:Fa/fa:P_14_1")) == tax.amount
    assert {Decimal(r) for r in _all(xml, "fa:Fa/fa:FaWiersz/fa:KursWaluty")} == {inv.fx.rate}
    opis = dict(zip(_all(xml, "fa:Fa/fa:DodatkowyOpis/fa:Klucz"), _all(xml, "fa:Fa/fa:DodatkowyOpis/fa:Wartosc")))
    assert inv.fx.table in opis["Kurs waluty"] and str(inv.fx.date) in opis["Kurs waluty"]
    assert _text(xml, "fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:NIP") == "5270000001"


def test_eu_reverse_charge_is_an_art_100_service_marked_reverse_charge(lawful) -> None:
    docs, _, _ = lawful
    inv = docs["reverse_charge"]
    assert inv.reverse_charge and inv.buyer.country == "DE"
    xml = fa3_xml(inv)
    assert _text(xml, "fa:Fa/fa:Adnotacje/fa:P_18") == "1"  # "odwrotne obciążenie"
    assert Decimal(_text(xml, "fa:Fa/fa:P_13_9")) == inv.net_total
    for field in ("P_13_1", "P_14_1", "P_14_1W", "P_13_8", "P_13_10"):
        assert _text(xml, f"fa:Fa/fa:{field}") is None, field
    assert set(_all(xml, "fa:Fa/fa:FaWiersz/fa:P_12")) == {"np II"}
    assert _all(xml, "fa:Fa/fa:FaWiersz/fa:KursWaluty") == []  # no VAT to convert
    ident = "fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:"
    assert (_text(xml, ident + "KodUE"), _text(xml, ident + "NrVatUE")) == ("DE", inv.buyer.tax_id[2:])
    assert _text(xml, ident + "NIP") is None


def test_outside_the_eu_is_np_outside_the_country(lawful) -> None:
    docs, _, _ = lawful
    inv = docs["np"]
    assert inv.tax_code == "np"
    xml = fa3_xml(inv)
    assert Decimal(_text(xml, "fa:Fa/fa:P_13_8")) == inv.net_total
    assert _text(xml, "fa:Fa/fa:P_13_9") is None
    assert set(_all(xml, "fa:Fa/fa:FaWiersz/fa:P_12")) == {"np I"}
    assert _text(xml, "fa:Fa/fa:Adnotacje/fa:P_18") == "2"
    ident = "fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:"
    assert (_text(xml, ident + "KodKraju"), _text(xml, ident + "NrID")) == ("CH", inv.buyer.tax_id)


def test_correction_is_kor_with_the_corrected_invoice_and_the_differences(lawful) -> None:
    docs, _, _ = lawful
    inv, corrected = docs["correction"], docs["pln"]
    xml = fa3_xml(inv)
    assert _text(xml, "fa:Fa/fa:RodzajFaktury") == "KOR"
    assert _text(xml, "fa:Fa/fa:PrzyczynaKorekty") == inv.reason
    assert _text(xml, "fa:Fa/fa:TypKorekty") == "2"
    dane = "fa:Fa/fa:DaneFaKorygowanej/fa:"
    assert _text(xml, dane + "NrFaKorygowanej") == corrected.invoice == inv.corrects
    assert _text(xml, dane + "DataWystFaKorygowanej") == str(corrected.date)
    assert _text(xml, dane + "NrKSeFN") == "1"  # corrected outside KSeF
    (tax,) = inv.taxes
    assert Decimal(_text(xml, "fa:Fa/fa:P_13_1")) == inv.net_total < 0  # the difference
    assert Decimal(_text(xml, "fa:Fa/fa:P_14_1")) == tax.amount < 0
    assert Decimal(_text(xml, "fa:Fa/fa:P_15")) == inv.gross_total < 0
    assert _tree(xml).find("fa:Fa/fa:Platnosc", NS) is None  # nothing to pay
    # the difference method: one row per corrected line, no StanPrzed; before / after in DodatkowyOpis
    (ln,) = inv.lines
    assert _all(xml, "fa:Fa/fa:FaWiersz/fa:StanPrzed") == []
    assert [Decimal(a) for a in _all(xml, "fa:Fa/fa:FaWiersz/fa:P_8B")] == [ln.quantity]
    opis = dict(zip(_all(xml, "fa:Fa/fa:DodatkowyOpis/fa:Klucz"), _all(xml, "fa:Fa/fa:DodatkowyOpis/fa:Wartosc")))
    assert f"{ln.before:.2f}" in opis["Korekta"] and f"{ln.after:.2f}" in opis["Korekta"]
    # with the corrected invoice's KSeF number
    number = "7251234561-20260301-0A1B2C-3D4E5F-6A"
    xml = fa3_xml(inv, ksef_of_corrected=number, correction_type=1)
    assert validate_fa3(xml) == []
    assert (_text(xml, dane + "NrKSeF"), _text(xml, dane + "NrKSeFFaKorygowanej")) == ("1", number)
    assert _text(xml, dane + "NrKSeFN") is None and _text(xml, "fa:Fa/fa:TypKorekty") == "1"
    # a KSeF number that is not one is the schema's to refuse
    errors = validate_fa3(fa3_xml(inv, ksef_of_corrected="not-a-ksef-number"))
    assert errors and any("NrKSeFFaKorygowanej" in m for _, m in errors)


# --------------------------------------------------------------------------- codes and parties the example lacks


def test_exempt_and_domestic_reverse_charge_and_other_buyers(lawful) -> None:
    docs, _, _ = lawful
    inv = docs["pln"]
    untaxed = (TaxLine(Decimal(0), inv.net_total, Decimal("0.00")),)
    zw = replace(inv, tax_code="zw", tax_note="art. 43 ust. 1 pkt 37 ustawy", taxes=untaxed, gross_total=inv.net_total)
    xml = fa3_xml(zw)
    assert validate_fa3(xml) == []
    assert Decimal(_text(xml, "fa:Fa/fa:P_13_7")) == inv.net_total
    assert _text(xml, "fa:Fa/fa:Adnotacje/fa:Zwolnienie/fa:P_19A") == "art. 43 ust. 1 pkt 37 ustawy"
    assert set(_all(xml, "fa:Fa/fa:FaWiersz/fa:P_12")) == {"zw"}
    with pytest.raises(ValueError, match="legal basis"):
        fa3_xml(replace(zw, tax_note=""))
    oo = replace(zw, tax_code="oo", tax_note="")
    xml = fa3_xml(oo)
    assert validate_fa3(xml) == []
    assert (_text(xml, "fa:Fa/fa:P_13_10"), _text(xml, "fa:Fa/fa:Adnotacje/fa:P_18")) == (f"{inv.net_total:.2f}", "1")
    # 8 %: the first reduced rate
    eight = replace(inv, taxes=(TaxLine(Decimal(8), inv.net_total, Decimal("1480.00")),))
    xml = fa3_xml(eight)
    assert validate_fa3(xml) == [] and _text(xml, "fa:Fa/fa:P_14_2") == "1480.00"
    with pytest.raises(ValueError, match=r"no FA\(3\) field"):
        fa3_xml(replace(inv, taxes=(TaxLine(Decimal(19), inv.net_total, Decimal(1)),)))
    # a Greek business (VAT prefix EL), a consumer without a tax ID
    greek = replace(docs["reverse_charge"], buyer=InvoiceParty("Ellas AE", "Odos 1, 10431 Athina", "EL094259216", "GR"))
    xml = fa3_xml(greek)
    assert validate_fa3(xml) == []
    ident = "fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:"
    assert (_text(xml, ident + "KodUE"), _text(xml, ident + "NrVatUE")) == ("EL", "094259216")
    consumer = replace(inv, buyer=InvoiceParty("Jan Kowalski", "ul. Długa 1, 00-001 Warszawa", "", "PL"))
    xml = fa3_xml(consumer)
    assert validate_fa3(xml) == [] and _text(xml, ident + "BrakID") == "1"


def test_an_invoice_without_recorded_parties_takes_them_from_its_template_data(lawful) -> None:
    from cpqctl.views.documents import invoice_data

    docs, repo, _ = lawful
    old = replace(docs["pln"], seller=None, buyer=None)
    with pytest.raises(ValueError, match="invoice_data"):
        fa3_xml(old)
    xml = fa3_xml(old, invoice_data(repo, old))
    assert validate_fa3(xml) == []
    assert _text(xml, "fa:Podmiot1/fa:DaneIdentyfikacyjne/fa:NIP") == SELLER_NIP
    assert _text(xml, "fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:NIP") == "5260001200"


def test_a_seller_without_a_polish_nip_is_refused(lawful) -> None:
    docs, _, _ = lawful
    inv = docs["pln"]
    with pytest.raises(ValueError, match="Polish NIP"):
        fa3_xml(replace(inv, seller=replace(inv.seller, tax_id="DE811234565")))


# --------------------------------------------------------------------------- the XSD check


def test_the_fixed_document_is_valid() -> None:
    assert validate_fa3((FIXTURES / "invoice-pln.xml").read_bytes()) == []


def test_a_missing_p_2_is_reported_with_its_line() -> None:
    lines = (FIXTURES / "invoice-pln.xml").read_bytes().splitlines(keepends=True)
    at = next(i for i, ln in enumerate(lines) if ln.strip().startswith(b"<P_2>"))
    broken = b"".join(lines[:at] + lines[at + 1 :])
    errors = validate_fa3(broken)
    assert errors, "a document without P_2 passed"
    line, message = errors[0]
    assert line == at + 1  # the element after the removed P_2 (OkresFa), 1-based
    assert "OkresFa" in message and "P_2" in message


def test_a_wrong_value_is_reported_with_its_line() -> None:
    text = (FIXTURES / "invoice-pln.xml").read_text(encoding="utf-8")
    broken = text.replace("<NIP>5260001200</NIP>", "<NIP>PL5260001200</NIP>").replace(
        "<P_15>22755.00</P_15>", "<P_15>22755.001</P_15>"
    )
    errors = validate_fa3(broken.encode("utf-8"))
    lines = broken.splitlines()
    expected = {lines.index("      <NIP>PL5260001200</NIP>") + 1, lines.index("    <P_15>22755.001</P_15>") + 1}
    assert {line for line, _ in errors} == expected
    assert any("NIP" in m for _, m in errors) and any("P_15" in m for _, m in errors)


def test_not_well_formed_xml_is_an_error_not_an_exception() -> None:
    errors = validate_fa3(b'<?xml version="1.0"?>\n<Faktura>\n<Naglowek>\n</Faktura>\n')
    assert len(errors) == 1 and errors[0][0] == 4 and "well-formed" in errors[0][1]
    # no entity is ever expanded, nothing outside is read
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Faktura>&e;</Faktura>'
    assert all("root:" not in m for _, m in validate_fa3(evil))


def test_the_schema_is_the_packaged_one_and_compiles_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = ksef.schema_dir()
    assert {p.name for p in folder.glob("*.xsd")} >= ksef.SCHEMA_FILES
    main = (folder / "schemat_FA(3)_v1-0E.xsd").read_text(encoding="utf-8")
    # the import names a remote URL: only the resolver makes the validation offline
    assert 'schemaLocation="http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/' in main
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("the FA(3) validation opened a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    ksef._schema.cache_clear()
    assert validate_fa3((FIXTURES / "invoice-pln.xml").read_bytes()) == []
    ksef._schema.cache_clear()


def test_a_schema_folder_missing_a_file_fails_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from lxml import etree as et

    for name in ksef.SCHEMA_FILES - {"KodyKrajow_v10-0E.xsd"}:
        shutil.copy(ksef.schema_dir() / name, tmp_path / name)
    monkeypatch.setattr(ksef, "schema_dir", lambda: tmp_path)
    ksef._schema.cache_clear()
    try:
        with pytest.raises(et.XMLSchemaParseError):
            validate_fa3((FIXTURES / "invoice-pln.xml").read_bytes())
    finally:
        ksef._schema.cache_clear()


# --------------------------------------------------------------------------- KOD I


def test_kod_i_link_of_a_known_file() -> None:
    xml = (FIXTURES / "invoice-pln.xml").read_bytes()
    expected_hash = "TJ_OcPGsdGmKsy_0jzeWFFfpG45f63NWQ7CigXdLtuw"  # SHA-256 of the file, Base64URL, no padding
    assert base64.urlsafe_b64encode(hashlib.sha256(xml).digest()).rstrip(b"=").decode() == expected_hash
    url = ksef_qr_url("test", "PL7251234561", date(2026, 3, 1), xml)
    assert url == f"https://qr-test.ksef.mf.gov.pl/invoice/7251234561/01-03-2026/{expected_hash}"
    assert ksef_qr_url("prod", "7251234561", "2026-03-01", xml).startswith("https://qr.ksef.mf.gov.pl/invoice/")
    assert ksef_qr_url("demo", "7251234561", "2026-03-01", xml).startswith("https://qr-demo.ksef.mf.gov.pl/")
    # the empty file: SHA-256's known value
    assert ksef_qr_url("test", "7251234561", "2026-03-01", b"").endswith("/47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")
    with pytest.raises(ValueError):
        ksef_qr_url("staging", "7251234561", "2026-03-01", xml)
    with pytest.raises(ValueError):
        ksef_qr_url("test", "DE811234565", "2026-03-01", xml)


def test_kod_i_link_matches_ksef_client(lawful) -> None:
    """The same link as the SDK's own builder (ksef_client.services.verification_link)."""
    from ksef_client.config import KsefClientOptions, KsefEnvironment
    from ksef_client.services.verification_link import VerificationLinkService

    docs, _, _ = lawful
    for env, base in (("test", KsefEnvironment.TEST), ("demo", KsefEnvironment.DEMO), ("prod", KsefEnvironment.PROD)):
        svc = VerificationLinkService(KsefClientOptions(base_url=base.value))
        for inv in docs.values():
            xml = fa3_xml(inv)
            digest = base64.b64encode(hashlib.sha256(xml).digest()).decode()
            assert ksef_qr_url(env, inv.seller.tax_id, inv.date, xml) == svc.build_invoice_verification_url(
                SELLER_NIP, inv.date, digest
            )


def test_a_fresh_load_renders_the_same_bytes(lawful) -> None:
    """No clock, no state: the same invoice loaded again renders byte for byte the same."""
    docs, _, root = lawful
    fresh = _documents(root)[0]
    for kind, inv in docs.items():
        assert fa3_xml(fresh[kind]) == fa3_xml(inv), kind
