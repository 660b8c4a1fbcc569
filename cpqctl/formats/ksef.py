"""KSeF FA(3): the Polish structured e-invoice of an issued invoice, its offline XSD check and its KOD I link.

Three pure functions, nothing read but the schema files and nothing written:

- :func:`fa3_xml` — an issued :class:`~cpqctl.core.model.Invoice` (``kind: invoice`` or ``kind: correction``) as
  the FA(3) XML document KSeF takes (logical structure FA(3), wzór ``http://crd.gov.pl/wzor/2025/06/25/13775/``).
  The same invoice gives the same bytes: no clock (DataWytworzeniaFa is the issue day, 00:00:00Z), no random ID.
- :func:`validate_fa3` — the XSD errors of a document, as (line, message); empty when it is valid. Offline: every
  ``xsd:import`` / ``xsd:include`` is answered from the packaged files, anything else is refused, and the
  document is parsed with entities and the network off.
- :func:`ksef_qr_url` — the KOD I verification link printed under the QR code of an invoice sent to KSeF.

Where the schema comes from
---------------------------
The four XSD files are the Ministry of Finance's FA(3) schema set, shipped in the PyPI package **ksef-client 0.20.0**
(MIT, https://github.com/smekcio/ksef-client-python) under ``ksef_client/documents/fa3/schemas/``:
``schemat_FA(3)_v1-0E.xsd`` (imports ``StrukturyDanych_v10-0E.xsd`` of namespace
``http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/``, which includes
``ElementarneTypyDanych_v10-0E.xsd``, which includes ``KodyKrajow_v10-0E.xsd``). The package's README there
records their provenance (CIRFMF/ksef-api ``faktury/schemy/FA``, CRWDE wzór 13775 of 2025-06-25) and that their
content is byte-identical to the Ministry's but for line endings and absolute ``schemaLocation`` URLs — which the
resolver here maps back to the packaged files by file name. The package is located with
``importlib.util.find_spec`` without importing it (its ``__init__`` pulls in httpx); only the files are used.

Field mapping (XSD annotations quoted from ``schemat_FA(3)_v1-0E.xsd``; "info sheet": the Ministry's
"Broszura informacyjna dotycząca struktury logicznej FA(3)")
--------------------------------------------------------------------------------------------------------
- Naglowek: KodFormularza ``FA`` (kodSystemowy ``FA (3)``, wersjaSchemy ``1-0E``), WariantFormularza ``3``,
  DataWytworzeniaFa = the issue date at 00:00:00Z (deterministic; the schema's minimum is 2025-09-01), SystemInfo
  ``cpqctl``.
- Podmiot1 (seller): NIP = the tax ID's 10 digits without ``PL``; Nazwa; Adres (KodKraju, AdresL1 = the street,
  AdresL2 = the rest: the address split at its first line break, else its first ", ").
- Podmiot2 (buyer): a Polish buyer (country PL, or a ``PL`` / bare 10-digit tax ID) → NIP; a buyer in another
  member state → KodUE (``EL`` for Greece) + NrVatUE (the ID without prefix, separators dropped); any other buyer
  with a tax ID → KodKraju + NrID (as written); none → BrakID 1. Then Nazwa and Adres. JST = 2, GV = 2 (no
  subordinate unit of a local authority, no VAT group: cpqctl records neither).
- Fa: KodWaluty; P_1 issue date; P_2 number; the sale date as **OkresFa** (P_6_Od, P_6_Do) when the invoice
  names a settlement period and its sale date is that period's end ("Okres, którego dotyczy faktura - w
  przypadkach, o których mowa w art. 19a ust. 3 zdanie pierwsze": services settled in periods), else **P_6** =
  the sale date when it differs from the issue date ("o ile taka data jest określona i różni się od daty
  wystawienia faktury"), else neither.
- Sums per rate or code (each TaxLine's base and VAT; XSD order):

  =========================================== ======================== ==========
  cpqctl                                      sums                     P_12 (row)
  =========================================== ======================== ==========
  23 % / 22 %                                 P_13_1, P_14_1, P_14_1W  ``23``/``22``
  8 % / 7 %                                   P_13_2, P_14_2, P_14_2W  ``8``/``7``
  5 %                                         P_13_3, P_14_3, P_14_3W  ``5``
  0 % domestic                                P_13_6_1                 ``0 KR``
  ``tax_code: zw`` (exempt)                   P_13_7                   ``zw``
  ``tax_code: np`` (non-EU buyer, art. 28b)   P_13_8                   ``np I``
  ``reverse_charge`` (EU business buyer)      P_13_9                   ``np II``
  ``tax_code: oo`` (domestic reverse charge)  P_13_10                  ``oo``
  =========================================== ======================== ==========

  An EU reverse-charge invoice is **P_13_9 / np II**, not P_13_10 / oo: P_13_9 is "Suma wartości świadczenia
  usług, o których mowa w art. 100 ust. 1 pkt 4 ustawy" (art. 28b services to a taxable person in another member
  state, who accounts for the VAT — what cpqctl's ``reverse_charge`` is), and P_13_10 is "sprzedaż w procedurze
  odwrotnego obciążenia, dla której podatnikiem jest nabywca zgodnie z art. 17 ust. 1 pkt 7 i 8 ustawy oraz
  innych przypadków odwrotnego obciążenia występujących w obrocie krajowym" (domestic only). A non-EU ``np``
  invoice is P_13_8 ("świadczenia usług poza terytorium kraju, z wyłączeniem kwot wykazanych w polach P_13_5 i
  P_13_9") with ``np I``. The same split is ksef-client's (``TaxCategoryKind`` → ``_TAX_SUMMARY_FIELDS``).
  cpqctl sells services only, so ``0 WDT`` / ``0 EX`` (goods) never apply. The 3 % / 4 % taxi flat rate, the
  margin scheme and chapter XII are refused (ValueError).
  P_14_xW (VAT in PLN of an invoice in another currency, "przeliczona zgodnie z przepisami działu VI w związku
  z art. 106e ust. 11") = the TaxLine's ``amount_pln``, only when the currency is not PLN.
- P_15 = the gross total. On a correction every amount is the difference ("W przypadku wystawienia faktury
  korygującej wypełnia się wszystkie pola wg stanu po korekcie, a pola dotyczące podstaw opodatkowania, podatku
  oraz należności ogółem wypełnia się poprzez różnicę" — the annotation of Fa), which is what a cpqctl correction
  holds in its net, VAT and gross totals.
- Adnotacje: P_16 = 2 (no cash accounting), P_17 = 2 (no self-billing), P_18 = 1 ("odwrotne obciążenie") for an
  EU reverse charge and for ``oo``, else 2; P_18A = 2 (split payment: cpqctl's services are not in annex 15);
  Zwolnienie: P_19 = 1 + P_19A = ``tax_note`` (the legal basis; required) for ``zw``, else P_19N = 1;
  NoweSrodkiTransportu P_22N = 1; P_23 = 2; PMarzy P_PMarzyN = 1.
- RodzajFaktury: ``VAT``, or ``KOR`` for a correction with PrzyczynaKorekty = ``reason``, TypKorekty (default
  2 — "Korekta skutkująca w dacie wystawienia faktury korygującej": cpqctl's corrections follow a change of the
  contract or a rebate after the sale, which art. 29a ust. 13 accounts on the correction's date; pass
  ``correction_type=1`` for the correction of a mistake), DaneFaKorygowanej (DataWystFaKorygowanej =
  ``corrects_date``, NrFaKorygowanej = ``corrects``, then NrKSeF 1 + NrKSeFFaKorygowanej when the corrected
  invoice's KSeF number is given, else NrKSeFN 1: "faktura korygowana wystawiona poza KSeF").
- DodatkowyOpis (key/value, Polish keys): per line the settlement period ("Okres") and how quantity, unit price
  per period and factor make the net amount ("Wyliczenie": FA(3) has no field for the factor, so P_8B × P_9A is
  not P_11 for a quarter of a yearly price); on a correction, per row the corrected line and its net amounts
  before and after ("Korekta"); the NBP rate with its table and date ("Kurs waluty") where VAT is shown in PLN;
  ``tax_note`` ("Uwagi") when not already the exemption basis.
- FaWiersz: NrWierszaFa; P_7 the name; Indeks the product code; P_8A the unit (in Polish: ``szt.``, ``pakiet``);
  P_8B the quantity billed (a block line: 1 block); P_9A the contracted net unit price (up to 8 decimals);
  P_11 the net amount; P_12 the rate or code above; KursWaluty the NBP rate where P_14_xW is filled ("Kurs
  waluty stosowany do wyliczenia kwoty podatku w przypadkach, o których mowa w dziale VI ustawy").
  A correction's rows use the **difference method**: one row per corrected line carrying the change (P_8B the
  quantity change, P_11 = after − before, negative for a reduction), no StanPrzed. The schema allows both ways —
  StanPrzed marks rows only "w przypadku gdy korekta … jest dokonywana w sposób polegający na wykazaniu danych
  przed korektą i po korekcie jako osobnych wierszy z odrębną numeracją"; rows without it state the change. (The
  info sheet was not at hand offline; implementations citing it describe its first corrective example, "metoda
  pierwsza", as such a difference row with a negative quantity and no StanPrzed.) cpqctl's correction of a
  mid-period change has no single quantity × price "after" state to put in a row of its own, while its
  difference is exact; the before and after amounts the PDF prints go to DodatkowyOpis.
- Platnosc (an invoice that asks for money, gross > 0): TerminPlatnosci/Termin = ``due``, FormaPlatnosci 6
  (przelew), RachunekBankowy/NrRB = the seller's account in the invoice's currency, spaces removed.

Not covered: advance and settlement invoices (ZAL/ROZ, KursWalutyZ), Podmiot1K/Podmiot2K (a correction of the
parties' data), Podmiot3, Stopka, Zalacznik, GTU and procedure codes, split payment (annex 15), the margin scheme.

KOD I (:func:`ksef_qr_url`): ``https://qr{-test|-demo|}.ksef.mf.gov.pl/invoice/{NIP}/{DD-MM-RRRR}/{SHA-256 of
the invoice file, Base64URL without padding}`` — the Ministry's "Kody weryfikujące QR" (CIRFMF/ksef-docs
``kody-qr.md``: the issue date P_1 as DD-MM-RRRR, the seller's NIP, "skrót pliku faktury obliczony algorytmem
SHA-256 … w formacie Base64URL") on the KSeF 2.0 hosts that ksef-client 0.20.0 uses
(``KsefQrEnvironment``: qr-test / qr-demo / qr.ksef.mf.gov.pl; ``VerificationLinkService.
build_invoice_verification_url``). The 2025 drafts of that page showed ``https://ksef-test.mf.gov.pl/client-app/
invoice/…``; the path after the host is the same.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from cpqctl.core.countries import EU_MEMBER_STATES, VAT_PREFIXES
from cpqctl.core.model import Invoice, InvoiceParty

__all__ = [
    "FA3_NAMESPACE",
    "SCHEMA_FILES",
    "SCHEMA_PACKAGE",
    "fa3_xml",
    "ksef_qr_url",
    "ksef_qr_url_of",
    "schema_dir",
    "validate_fa3",
]

FA3_NAMESPACE = "http://crd.gov.pl/wzor/2025/06/25/13775/"
SCHEMA_PACKAGE = "ksef-client"  # PyPI name; 0.20.0 at the time of writing (see the module docstring)
SCHEMA_MAIN = "schemat_FA(3)_v1-0E.xsd"
SCHEMA_FILES = frozenset(
    {SCHEMA_MAIN, "StrukturyDanych_v10-0E.xsd", "ElementarneTypyDanych_v10-0E.xsd", "KodyKrajow_v10-0E.xsd"}
)
SYSTEM_INFO = "cpqctl"
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

_CENT = Decimal("0.01")
_QTY = Decimal("0.000001")  # TIlosci: 6 decimals
_PRICE = Decimal("0.00000001")  # TKwotowy2: 8 decimals

# Rates with a VAT amount: (net field, VAT field, VAT-in-PLN field), ksef-client's `_TAX_SUMMARY_FIELDS`.
_RATE_FIELDS: dict[Decimal, tuple[str, str, str]] = {
    Decimal(23): ("P_13_1", "P_14_1", "P_14_1W"),
    Decimal(22): ("P_13_1", "P_14_1", "P_14_1W"),
    Decimal(8): ("P_13_2", "P_14_2", "P_14_2W"),
    Decimal(7): ("P_13_2", "P_14_2", "P_14_2W"),
    Decimal(5): ("P_13_3", "P_14_3", "P_14_3W"),
}
# Codes without a VAT amount: code → (net field, P_12).
_CODE_FIELDS: dict[str, tuple[str, str]] = {
    "0": ("P_13_6_1", "0 KR"),
    "zw": ("P_13_7", "zw"),
    "np": ("P_13_8", "np I"),
    "rc": ("P_13_9", "np II"),
    "oo": ("P_13_10", "oo"),
}
# The sums in the schema's order (the sequence of Fa).
_SUM_ORDER = (
    "P_13_1", "P_14_1", "P_14_1W", "P_13_2", "P_14_2", "P_14_2W", "P_13_3", "P_14_3", "P_14_3W",
    "P_13_6_1", "P_13_7", "P_13_8", "P_13_9", "P_13_10",
)  # fmt: skip
# P_8A and the price period in Polish (cpqctl/i18n/locales/pl: "unit" → "szt.", "block" → "pakiet").
_UNITS_PL = {"unit": "szt.", "block": "pakiet"}
_PER_PL = {"year": "rok", "quarter": "kwartał", "month": "miesiąc"}
_QR_HOSTS = {
    "prod": "https://qr.ksef.mf.gov.pl",
    "production": "https://qr.ksef.mf.gov.pl",
    "demo": "https://qr-demo.ksef.mf.gov.pl",
    "test": "https://qr-test.ksef.mf.gov.pl",
}
_NIP = re.compile(r"[1-9]((\d[1-9])|([1-9]\d))\d{7}")  # etd:TNrNIP


# --------------------------------------------------------------------------- the document


@dataclass(frozen=True, slots=True)
class _Party:
    name: str
    address: str
    tax_id: str
    country: str
    bank_account: str = ""


def fa3_xml(
    inv: Invoice,
    data: Mapping[str, Any] | None = None,
    *,
    ksef_of_corrected: str | None = None,
    correction_type: int = 2,
) -> bytes:
    """The FA(3) XML (UTF-8, with declaration, indented) of an issued invoice or corrective invoice.

    ``data``: the resolved template data of :func:`cpqctl.views.documents.invoice_data` — needed only for an
    invoice issued before it recorded its parties (``seller:`` / ``buyer:``) or its line names; its ``company``,
    ``account``, ``lines`` and ``invoice`` period are then used. Without it everything comes from the invoice.
    ``ksef_of_corrected``: the KSeF number of the invoice a correction corrects (NrKSeFFaKorygowanej), when that
    one was sent to KSeF; None writes NrKSeFN (issued outside KSeF). ``correction_type``: TypKorekty of a
    correction (1: on the corrected invoice's date, 2: on the correction's date, 3: other).

    Raises ValueError for what FA(3) cannot say: a seller without a Polish NIP, a rate outside 23/22/8/7/5/0 %,
    ``zw`` without ``tax_note``, a correction without ``corrects`` / ``corrects_date``. Everything else the XSD
    may still refuse (a name longer than 512 characters, a date before the schema's range) is for
    :func:`validate_fa3` to report.
    """
    from lxml import etree

    seller, buyer = _parties(inv, data)
    nip = polish_nip(seller.tax_id)
    if nip is None:
        raise ValueError(f"invoice {inv.invoice}: the seller's tax ID {seller.tax_id!r} is not a Polish NIP (KSeF)")
    correction = inv.kind == "correction"
    if correction and (not inv.corrects or inv.corrects_date is None):
        raise ValueError(f"corrective invoice {inv.invoice} names no corrected invoice (corrects, corrects_date)")
    if correction and correction_type not in (1, 2, 3):
        raise ValueError(f"correction_type must be 1, 2 or 3, not {correction_type!r}")

    root = etree.Element(_q("Faktura"), nsmap={None: FA3_NAMESPACE})

    def sub(parent, tag: str, text: str | None = None, **attrs: str):
        el = etree.SubElement(parent, _q(tag), attrs)
        if text is not None:
            el.text = text
        return el

    # Naglowek
    head = sub(root, "Naglowek")
    sub(head, "KodFormularza", "FA", kodSystemowy="FA (3)", wersjaSchemy="1-0E")
    sub(head, "WariantFormularza", "3")
    sub(head, "DataWytworzeniaFa", f"{inv.date.isoformat()}T00:00:00Z")
    sub(head, "SystemInfo", SYSTEM_INFO)

    # Podmiot1: the seller
    p1 = sub(root, "Podmiot1")
    ident = sub(p1, "DaneIdentyfikacyjne")
    sub(ident, "NIP", nip)
    sub(ident, "Nazwa", seller.name)
    _address(sub(p1, "Adres"), sub, seller.country or "PL", seller.address)

    # Podmiot2: the buyer
    p2 = sub(root, "Podmiot2")
    ident = sub(p2, "DaneIdentyfikacyjne")
    for tag, text in _buyer_id(buyer):
        sub(ident, tag, text)
    sub(ident, "Nazwa", buyer.name)
    if buyer.address:
        _address(sub(p2, "Adres"), sub, _buyer_country(buyer) or "PL", buyer.address)
    sub(p2, "JST", "2")
    sub(p2, "GV", "2")

    # Fa
    fa = sub(root, "Fa")
    sub(fa, "KodWaluty", inv.currency)
    sub(fa, "P_1", inv.date.isoformat())
    sub(fa, "P_2", inv.invoice)
    start, end = _period(inv, data)
    sale = inv.sale_date
    if start is not None and end is not None and (sale is None or sale == end):
        okres = sub(fa, "OkresFa")
        sub(okres, "P_6_Od", start.isoformat())
        sub(okres, "P_6_Do", end.isoformat())
    elif sale is not None and sale != inv.date:
        sub(fa, "P_6", sale.isoformat())

    code, sums, p12, pln_vat = _sums(inv)
    for field in _SUM_ORDER:
        if field in sums:
            sub(fa, field, _money(sums[field]))
    sub(fa, "P_15", _money(inv.gross_total))

    adn = sub(fa, "Adnotacje")
    sub(adn, "P_16", "2")
    sub(adn, "P_17", "2")
    sub(adn, "P_18", "1" if code in ("rc", "oo") else "2")
    sub(adn, "P_18A", "2")
    zw = sub(adn, "Zwolnienie")
    if code == "zw":
        if not inv.tax_note.strip():
            raise ValueError(f"invoice {inv.invoice} is VAT-exempt (zw) but names no legal basis (tax_note)")
        sub(zw, "P_19", "1")
        sub(zw, "P_19A", inv.tax_note.strip())
    else:
        sub(zw, "P_19N", "1")
    sub(sub(adn, "NoweSrodkiTransportu"), "P_22N", "1")
    sub(adn, "P_23", "2")
    sub(sub(adn, "PMarzy"), "P_PMarzyN", "1")

    sub(fa, "RodzajFaktury", "KOR" if correction else "VAT")
    if correction:
        if inv.reason.strip():
            sub(fa, "PrzyczynaKorekty", inv.reason.strip())
        sub(fa, "TypKorekty", str(correction_type))
        dane = sub(fa, "DaneFaKorygowanej")
        assert inv.corrects_date is not None and inv.corrects is not None  # checked above
        sub(dane, "DataWystFaKorygowanej", inv.corrects_date.isoformat())
        sub(dane, "NrFaKorygowanej", inv.corrects)
        if ksef_of_corrected:
            sub(dane, "NrKSeF", "1")
            sub(dane, "NrKSeFFaKorygowanej", ksef_of_corrected)
        else:
            sub(dane, "NrKSeFN", "1")

    rate = inv.fx.rate if inv.fx is not None and pln_vat else None
    rows = _rows(inv, data)
    for n, key, value in _descriptions(inv, rows, code, rate):
        opis = sub(fa, "DodatkowyOpis")
        if n is not None:
            sub(opis, "NrWiersza", str(n))
        sub(opis, "Klucz", key)
        sub(opis, "Wartosc", value)
    for n, row in enumerate(rows, 1):
        w = sub(fa, "FaWiersz")
        sub(w, "NrWierszaFa", str(n))
        sub(w, "P_7", row.name)
        if row.product:
            sub(w, "Indeks", row.product)
        if row.unit:
            sub(w, "P_8A", row.unit)
        if row.quantity is not None:
            sub(w, "P_8B", _quantity(row.quantity))
        if row.unit_price is not None:
            sub(w, "P_9A", _price(row.unit_price))
        sub(w, "P_11", _money(row.amount))
        sub(w, "P_12", p12)
        if rate is not None:
            sub(w, "KursWaluty", _quantity(rate))

    account = seller.bank_account
    if inv.gross_total > 0:
        pay = sub(fa, "Platnosc")
        if inv.due is not None:
            sub(sub(pay, "TerminPlatnosci"), "Termin", inv.due.isoformat())
        sub(pay, "FormaPlatnosci", "6")  # przelew
        if account:
            sub(sub(pay, "RachunekBankowy"), "NrRB", re.sub(r"\s+", "", account))

    return _DECLARATION + etree.tostring(root, encoding="UTF-8", pretty_print=True)


def _q(tag: str) -> str:
    return f"{{{FA3_NAMESPACE}}}{tag}"


def _party(p: InvoiceParty | Mapping[str, Any] | None) -> _Party | None:
    if p is None:
        return None
    if isinstance(p, InvoiceParty):
        return _Party(p.name, p.address, p.tax_id, p.country.strip().upper(), p.bank_account)
    return _Party(
        str(p.get("name") or ""),
        str(p.get("address") or ""),
        str(p.get("tax_id") or ""),
        str(p.get("country") or "").strip().upper(),
        str(p.get("bank_account") or ""),
    )


def _parties(inv: Invoice, data: Mapping[str, Any] | None) -> tuple[_Party, _Party]:
    seller = _party(inv.seller) or (_party(data.get("company")) if data else None)
    buyer = _party(inv.buyer) or (_party(data.get("account")) if data else None)
    if seller is None or buyer is None:
        raise ValueError(
            f"invoice {inv.invoice} records no seller or buyer: pass its invoice_data (cpqctl.views.documents)"
        )
    if not seller.bank_account and data:
        payment = data.get("payment") or {}
        seller = _Party(seller.name, seller.address, seller.tax_id, seller.country, payment.get("bank_account") or "")
    return seller, buyer


def _address(el, sub, country: str, address: str) -> None:
    text = address.strip()
    lines = [s.strip() for s in text.splitlines() if s.strip()]
    if len(lines) <= 1:
        first, _, rest = text.partition(", ")
        lines = [first.strip(), rest.strip()] if rest.strip() else [text]
    sub(el, "KodKraju", country)
    sub(el, "AdresL1", lines[0])
    if len(lines) > 1:
        sub(el, "AdresL2", ", ".join(lines[1:]))


def polish_nip(tax_id: str) -> str | None:
    """``"PL7251234561"`` / ``"725-123-45-61"`` → ``"7251234561"``; None when it is no Polish NIP."""
    text = re.sub(r"[\s.\-]", "", tax_id or "").upper()
    if text.startswith("PL"):
        text = text[2:]
    return text if _NIP.fullmatch(text) else None


def _buyer_country(b: _Party) -> str:
    if b.country:
        return b.country
    m = re.match(r"\s*([A-Za-z]{2})", b.tax_id or "")
    if m is not None and len(b.tax_id.strip()) > 2:
        prefix = m.group(1).upper()
        return VAT_PREFIXES.get(prefix, prefix)
    return "PL" if polish_nip(b.tax_id) else ""


def _buyer_id(b: _Party) -> list[tuple[str, str]]:
    """The choice of TPodmiot2: NIP | KodUE + NrVatUE | KodKraju + NrID | BrakID."""
    tax_id = (b.tax_id or "").strip()
    if not tax_id:
        return [("BrakID", "1")]
    country = _buyer_country(b)
    if country in ("", "PL"):
        nip = polish_nip(tax_id)
        if nip is not None:
            return [("NIP", nip)]
    if country in EU_MEMBER_STATES and country != "PL":
        prefix = {v: k for k, v in VAT_PREFIXES.items()}.get(country, country)  # GR → EL
        number = re.sub(r"[^0-9A-Z+*]", "", tax_id.upper())
        if number.startswith(prefix) or number.startswith(country):
            number = number[2:]
        return [("KodUE", prefix), ("NrVatUE", number)]
    out = [("KodKraju", country)] if country else []
    return [*out, ("NrID", tax_id)]


def _period(inv: Invoice, data: Mapping[str, Any] | None) -> tuple[date | None, date | None]:
    if data and data.get("invoice"):
        i = data["invoice"]
        return i.get("period_start"), i.get("period_end")
    starts = [ln.period_start for ln in inv.lines if ln.period_start is not None]
    ends = [d for ln in inv.lines if (d := ln.period_end or ln.period_start) is not None]
    return inv.period_start or min(starts, default=None), inv.period_end or max(ends, default=None)


def _code(inv: Invoice) -> str:
    if inv.tax_code in ("np", "zw", "oo"):
        return inv.tax_code
    if inv.reverse_charge:
        return "rc"
    return ""


def _sums(inv: Invoice) -> tuple[str, dict[str, Decimal], str, bool]:
    """(code, {field: amount}, P_12 of the rows, whether a VAT-in-PLN field is filled)."""
    code = _code(inv)
    sums: dict[str, Decimal] = {}
    p12s: set[str] = set()
    pln = False

    def add(field: str, amount: Decimal) -> None:
        sums[field] = sums.get(field, Decimal(0)) + amount

    taxes = inv.taxes or ()
    if not taxes:  # an invoice without tax lines: its net total under its code
        if not code:
            raise ValueError(f"invoice {inv.invoice} has neither a VAT rate nor a VAT code")
        field, p12 = _CODE_FIELDS[code]
        return code, {field: inv.net_total}, p12, False
    for t in taxes:
        if code:
            field, p12 = _CODE_FIELDS[code]
            add(field, t.base)
        elif t.rate == 0:
            field, p12 = _CODE_FIELDS["0"]
            add(field, t.base)
        elif t.rate in _RATE_FIELDS:
            net, vat, vat_pln = _RATE_FIELDS[t.rate]
            p12 = format(t.rate.normalize(), "f")
            add(net, t.base)
            add(vat, t.amount)
            if inv.currency != "PLN" and t.amount_pln is not None:
                add(vat_pln, t.amount_pln)
                pln = True
        else:
            raise ValueError(f"invoice {inv.invoice}: VAT rate {t.rate}% has no FA(3) field (23, 22, 8, 7, 5, 0)")
        p12s.add(p12)
    if len(p12s) > 1:
        raise ValueError(f"invoice {inv.invoice} has several VAT rates: the lines do not say which is whose")
    return code, sums, p12s.pop(), pln


@dataclass(frozen=True, slots=True)
class _Row:
    name: str
    product: str
    unit: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal
    per: str | None
    factor: Decimal | None
    block_of: Decimal | None
    period_start: date | None
    period_end: date | None
    line: int | None
    before: Decimal | None
    after: Decimal | None


def _rows(inv: Invoice, data: Mapping[str, Any] | None) -> list[_Row]:
    resolved = list(data.get("lines") or []) if data else []
    out = []
    for i, ln in enumerate(inv.lines):
        d = resolved[i] if i < len(resolved) else {}
        name = ln.name or d.get("name") or ln.product
        unit = ln.unit or d.get("unit") or ""
        out.append(
            _Row(
                name=name,
                product=ln.product if len(ln.product) <= 50 else "",
                unit=_UNITS_PL.get(unit, unit),
                quantity=ln.units if ln.units is not None else ln.quantity,
                unit_price=ln.unit_price,
                amount=ln.amount,
                per=ln.per,
                factor=ln.factor,
                block_of=ln.quantity if ln.units is not None else None,
                period_start=ln.period_start,
                period_end=ln.period_end,
                line=ln.line,
                before=ln.before,
                after=ln.after,
            )
        )
    return out


def _descriptions(
    inv: Invoice, rows: list[_Row], code: str, rate: Decimal | None
) -> Iterable[tuple[int | None, str, str]]:
    """DodatkowyOpis entries: (row number or None, key, value)."""
    cur = inv.currency
    for n, r in enumerate(rows, 1):
        if r.period_start is not None:
            end = r.period_end
            yield n, "Okres", r.period_start.isoformat() + (f" – {end.isoformat()}" if end else "")
        if r.quantity is not None and r.unit_price is not None and r.factor is not None and r.per:
            text = f"{_quantity(r.quantity)} × {_price(r.unit_price)} {cur}/{_PER_PL.get(r.per, r.per)}"
            text += f" × {_quantity(r.factor)} = {_money(r.amount)} {cur}"
            if r.block_of is not None:
                text += f" (pakiet na {_quantity(r.block_of)} szt.)"
            yield n, "Wyliczenie", text
        if r.line is not None and r.before is not None and r.after is not None:
            yield (
                n,
                "Korekta",
                f"wiersz {r.line} faktury {inv.corrects}: wartość netto przed korektą {_money(r.before)} {cur}, "
                f"po korekcie {_money(r.after)} {cur}",
            )
    if rate is not None and inv.fx is not None:
        text = f"1 {cur} = {_quantity(rate)} PLN"
        if inv.fx.table:
            text += f", tabela {inv.fx.table}"
        if inv.fx.date is not None:
            text += f" z dnia {inv.fx.date.isoformat()}"
        yield None, "Kurs waluty", text
    if inv.tax_note.strip() and code != "zw":
        yield None, "Uwagi", inv.tax_note.strip()


def _money(d: Decimal) -> str:
    """TKwotowy: 2 decimals, a dot, no exponent (``-0.00`` written ``0.00``)."""
    q = d.quantize(_CENT, rounding=ROUND_HALF_UP)
    return f"{abs(q) if q == 0 else q:f}"


def _price(d: Decimal) -> str:
    """TKwotowy2: at least 2 decimals, at most 8."""
    q = d.quantize(_PRICE, rounding=ROUND_HALF_UP).normalize()
    if q.quantize(_CENT) == q:  # 2 decimals or fewer: written with 2
        q = q.quantize(_CENT)
    return f"{abs(q) if q == 0 else q:f}"


def _quantity(d: Decimal) -> str:
    """TIlosci: up to 6 decimals, no trailing zeros."""
    q = d.quantize(_QTY, rounding=ROUND_HALF_UP)
    if q == q.to_integral_value():
        return str(int(q))
    return f"{q.normalize():f}"


# --------------------------------------------------------------------------- XSD validation


def schema_dir() -> Path:
    """The folder of the FA(3) XSD files in the installed ksef-client package (not imported: only located)."""
    import importlib.util

    spec = importlib.util.find_spec("ksef_client")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the FA(3) schema comes with the ksef-client package: pip install ksef-client")
    for location in spec.submodule_search_locations:
        folder = Path(location) / "documents" / "fa3" / "schemas"
        if all((folder / name).is_file() for name in SCHEMA_FILES):
            return folder
    raise RuntimeError(f"ksef-client is installed without the FA(3) schema files ({', '.join(sorted(SCHEMA_FILES))})")


@lru_cache(maxsize=1)
def _schema():
    from lxml import etree

    folder = schema_dir()

    class Packaged(etree.Resolver):
        """Every import and include answered from the packaged files, by file name; anything else refused."""

        def resolve(self, url, pubid, context):
            name = Path(str(url)).name
            if name not in SCHEMA_FILES:
                raise etree.XMLSchemaParseError(f"FA(3) schema: {url!r} is not one of the packaged files")
            return self.resolve_filename(str(folder / name), context)

    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    parser.resolvers.add(Packaged())
    return etree.XMLSchema(etree.parse(str(folder / SCHEMA_MAIN), parser))


def validate_fa3(xml: bytes) -> list[tuple[int, str]]:
    """The XSD errors of an FA(3) document as (line, message), in document order; [] when valid.

    A document that is not well-formed XML gives its parse error. Offline: see the module docstring.
    """
    from lxml import etree

    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False)
    try:
        doc = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as e:
        return [(e.lineno or 0, f"not well-formed XML: {e.msg}")]
    schema = _schema()
    if schema.validate(doc):
        return []
    return [(err.line, err.message) for err in schema.error_log]


# --------------------------------------------------------------------------- KOD I


def ksef_qr_url(environment: str, seller_nip: str, issue_date: date | str, xml: bytes) -> str:
    """KOD I, the verification link of an invoice sent to KSeF (see the module docstring for the source).

    ``environment``: ``prod`` (or ``production``), ``demo`` or ``test``; ``seller_nip``: the seller's NIP, with or
    without ``PL``; ``issue_date``: P_1 (a date or ``YYYY-MM-DD``); ``xml``: the invoice file's bytes exactly as
    sent (the hash is of the file).
    """
    return ksef_qr_url_of(environment, seller_nip, issue_date, hashlib.sha256(xml).digest())


def ksef_qr_url_of(environment: str, seller_nip: str, issue_date: date | str, sha256: bytes) -> str:
    """:func:`ksef_qr_url` from the SHA-256 of the file (its 32 bytes), as an invoice records it once submitted."""
    host = _QR_HOSTS.get(environment.strip().lower())
    if host is None:
        raise ValueError(f"unknown KSeF environment {environment!r} (prod, demo, test)")
    nip = polish_nip(seller_nip)
    if nip is None:
        raise ValueError(f"{seller_nip!r} is not a Polish NIP")
    if len(sha256) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes")
    day = issue_date if isinstance(issue_date, date) else date.fromisoformat(issue_date)
    digest = base64.urlsafe_b64encode(sha256).rstrip(b"=").decode("ascii")
    return f"{host}/invoice/{nip}/{day.strftime('%d-%m-%Y')}/{digest}"
