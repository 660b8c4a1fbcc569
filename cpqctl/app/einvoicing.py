"""Structured e-invoices (docs/einvoicing.md): which invoices have one, writing and validating it, KSeF submission.

- :data:`FORMATS` — the structured formats cpqctl writes, by the name `invoice render --format` takes and an
  account's ``einvoice:`` names: ``ksef`` (Poland's FA(3), :mod:`cpqctl.formats.ksef`). One registry: the render
  command, ``check`` and ``invoice send`` read it, so a format added here (EN 16931: ``facturx``, ``ubl``) is
  rendered, validated and attached everywhere.
- :func:`einvoice_of` — an account's structured format: its ``einvoice:``, else the default from the countries.
- :func:`render_invoice` — `invoice render`: the document as issued (kept), the KSeF visualisation of an invoice
  that has a KSeF number, or the structured file, validated before a byte is written.
- :func:`check_einvoices` — `check`'s E-KSEF-XSD findings, remembered per invoice content (``.cpq/cache/``).
- :func:`submit_invoices` — `invoice submit`: FA(3) to KSeF through ksef-client, the KSeF number recorded after
  the invoice's digest with the exact file submitted kept beside it (``invoices/<file>.ksef.xml``).
- :func:`refuse_unsubmitted` and :func:`attach_structured` — what `invoice send` asks before e-mailing an invoice.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cpqctl.core.diagnostics import CpqError, Diagnostic, UsageError

if TYPE_CHECKING:
    from cpqctl.app.workspace import Workspace
    from cpqctl.core.model import Account, Invoice, Repo, Settings

Notify = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# --------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Structured:
    """A structured e-invoice format: how an issued invoice becomes its file and how that file is checked.

    ``render(root, loaded, inv)`` gives the XML (deterministic: the same invoice, the same bytes);
    ``validate(xml)`` the problems as ``(line in the XML, message)``, empty when valid; ``code`` is the
    diagnostic code of a problem (`check`, and the refusal of `invoice render`); ``suffix`` the output file's
    extension and ``media`` its MIME type (an e-mail attachment); ``due(repo, inv)`` whether `check` validates an
    issued invoice of an account using the format (default: every one); ``package(root, loaded, inv, xml)``, when
    set, the file written and attached around the validated XML (Factur-X: the PDF/A-3b carrying it).
    """

    name: str
    title: str
    suffix: str
    media: tuple[str, str]
    code: str
    render: Callable[[Path, Any, Any], bytes]
    validate: Callable[[bytes], list[tuple[int, str]]]
    due: Callable[[Any, Any], bool] = lambda repo, inv: True
    package: Callable[[Path, Any, Any, bytes], bytes] | None = None


def _ksef_render(root: Path, loaded, inv) -> bytes:
    return fa3_of(root, loaded, inv)


def _ksef_validate(payload: bytes) -> list[tuple[int, str]]:
    from cpqctl.formats.ksef import validate_fa3

    return validate_fa3(payload)


def _ksef_pending(repo, inv) -> bool:
    """`check` validates a KSeF invoice until KSeF has accepted it, from the mandate's first day on."""
    return inv.ksef is None and inv.date >= ksef_from(repo.settings)


def _en16931_render(syntax: str) -> Callable[[Path, Any, Any], bytes]:
    """The EN 16931 XML of an issued invoice (:mod:`cpqctl.formats.en16931`): ``cii`` (Factur-X) or ``ubl`` (Peppol
    BIS Billing 3.0, the buyer's EndpointID from the account's ``peppol_id``); refused (E-EN16931-UNSUPPORTED) for
    what the format cannot say."""

    def render(root: Path, loaded, inv) -> bytes:
        from cpqctl.formats import en16931
        from cpqctl.views.documents import invoice_data

        data = invoice_data(loaded, inv)
        account = loaded.accounts.get(inv.account)
        try:
            if syntax == "cii":
                return en16931.cii_xml(inv, data)
            return en16931.ubl_xml(inv, data, buyer_endpoint=peppol_endpoint(account))
        except ValueError as exc:
            raise CpqError(
                "E-EN16931-UNSUPPORTED",
                f"{inv.invoice} cannot be written as EN 16931 ({syntax.upper()}): {exc}",
                "see docs/einvoicing.md for what cpqctl's EN 16931 files cover",
                src=inv.src,
            ) from None

    return render


def peppol_endpoint(account) -> tuple[str, str] | None:
    """The account's ``peppol_id`` (``scheme:identifier``) as UBL's EndpointID (schemeID, value); None without one."""
    pid = getattr(account, "peppol_id", "") or ""
    scheme, _, ident = pid.partition(":")
    return (scheme, ident) if scheme and ident else None


def _en16931_validate(syntax: str) -> Callable[[bytes], list[tuple[int, str]]]:
    """The XSD and the EN 16931 Schematron (CEN's rules, compiled, run by saxonche): the fatal findings as ``(line,
    "RULE-ID: message")``, a Schematron finding's line found from its XPath location."""

    def validate(xml: bytes) -> list[tuple[int, str]]:
        from cpqctl.formats import en16931

        found = en16931.validate_cii(xml) if syntax == "cii" else en16931.validate_ubl(xml)
        out = []
        for f in en16931.fatal(found):
            message = f.message.removeprefix(f"[{f.rule}]-").strip()  # CEN's texts repeat the rule ID
            f = dataclasses.replace(f, message=message)
            line = f.line or _line_of_location(xml, f.location)
            where = "" if f.line or line else f" (at {f.location})"
            out.append((line or 1, f"{f.rule}: {f.message}{where}"))
        return out

    return validate


def _line_of_location(xml: bytes, location: str | None) -> int | None:
    """The line of the element a Schematron finding's XPath 2.0 location names (``/*:Invoice[namespace-uri()=…][1]/…``),
    through lxml's XPath 1.0 (``*:Name`` written as ``*[local-name()='Name']``); None when it cannot be found."""
    import re

    from lxml import etree

    if not location:
        return None
    path = re.sub(r"\*:([A-Za-z_][\w.-]*)", r"*[local-name()='\1']", location)
    try:
        doc = etree.fromstring(xml, etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False))
        hits = doc.getroottree().xpath(path)
    except (etree.XMLSyntaxError, etree.XPathError):
        return None
    if isinstance(hits, list) and hits and isinstance(hits[0], etree._Element):
        return hits[0].sourceline
    return None


def _facturx_package(root: Path, loaded, inv, cii: bytes) -> bytes:
    """The Factur-X invoice: the invoice's PDF typeset as PDF/A-3b from its file (the kept PDF, issued before there
    was a Factur-X, stays the document as issued) with the validated CII embedded (``factur-x.xml``, ``/AF``, XMP
    ``fx:``), dated the issue day: the same invoice, the same bytes."""
    from cpqctl.app.documents import repo_templates
    from cpqctl.formats.en16931 import facturx_pdf
    from cpqctl.render.documents import render_pdf
    from cpqctl.views.documents import invoice_data

    pdf = render_pdf("invoice", invoice_data(loaded, inv), repo_templates(root), inv.date, standard="a-3b")
    return facturx_pdf(pdf, cii)


FORMATS: dict[str, Structured] = {
    "ksef": Structured(
        "ksef",
        "KSeF FA(3)",
        ".xml",
        ("application", "xml"),
        "E-KSEF-XSD",
        _ksef_render,
        _ksef_validate,
        _ksef_pending,
    ),
    "facturx": Structured(
        "facturx",
        "Factur-X (EN 16931, CII)",
        ".pdf",
        ("application", "pdf"),
        "E-EN16931",
        _en16931_render("cii"),
        _en16931_validate("cii"),
        package=_facturx_package,
    ),
    "ubl": Structured(
        "ubl",
        "UBL 2.1 (EN 16931, Peppol BIS Billing 3.0)",
        ".ubl.xml",
        ("application", "xml"),
        "E-EN16931",
        _en16931_render("ubl"),
        _en16931_validate("ubl"),
    ),
}
KSEF_MANDATORY_FROM = date(2026, 4, 1)  # every other VAT payer; 2026-02-01 for 2024 sales above PLN 200 m
KSEF_KEPT_SUFFIX = ".ksef.xml"  # the FA(3) file exactly as submitted, beside invoices/<file>.yaml


# --------------------------------------------------------------------------- which invoices


def einvoice_of(settings: Settings, account: Account | None, inv: Invoice | None = None) -> str:
    """The account's structured e-invoice: its ``einvoice:``, else the default (docs/einvoicing.md "Which accounts").

    The default: ``ksef`` when the seller is Polish and the buyer is a business (has a tax ID, in any country) —
    a Polish taxpayer issues its invoices through KSeF (art. 106ga ust. 1 of the VAT act), those to other member
    states' and third countries' businesses too (art. 106a: Polish invoicing rules govern them), not those to
    consumers (art. 106ga ust. 2 pkt 4: KSeF optional); ``none`` otherwise. The parties are the invoice's as issued
    when ``inv`` records them, else cpq.toml's and the account's.
    """
    from cpqctl.core.countries import country_of_tax_id, seller_country

    if account is not None and account.einvoice:
        return account.einvoice
    if inv is not None and inv.seller is not None:
        seller = (inv.seller.country or country_of_tax_id(inv.seller.tax_id)).upper()
    else:
        seller = seller_country(settings)
    if inv is not None and inv.buyer is not None:
        buyer_tax_id = inv.buyer.tax_id
    else:
        buyer_tax_id = account.tax_id if account is not None else ""
    return "ksef" if seller == "PL" and buyer_tax_id.strip() else "none"


def einvoices_of(settings: Settings, account: Account | None, inv: Invoice | None = None) -> tuple[str, ...]:
    """The structured formats of the account's invoices: :func:`einvoice_of` split at ``+`` (``ksef+facturx``: KSeF,
    the law for a Polish seller, and a Factur-X for a buyer who wants one), without ``none``."""
    return tuple(f for f in einvoice_of(settings, account, inv).split("+") if f in FORMATS)


def ksef_from(settings: Settings) -> date:
    """The first issue date KSeF is mandatory for: cpq.toml ``[ksef] mandatory_from`` (default 2026-04-01)."""
    day = settings.ksef.get("mandatory_from")
    return day if isinstance(day, date) else KSEF_MANDATORY_FROM


def ksef_due(repo: Repo, inv: Invoice) -> bool:
    """Whether ``inv`` must go through KSeF before it is e-mailed as the invoice: its account's format is ``ksef``
    and it is dated on or after ``[ksef] mandatory_from`` (an invoice issued before the mandate is lawful as it is)."""
    account = repo.accounts.get(inv.account)
    return "ksef" in einvoices_of(repo.settings, account, inv) and inv.date >= ksef_from(repo.settings)


# --------------------------------------------------------------------------- the FA(3) file


def kept_fa3(root: Path, inv: Invoice) -> bytes | None:
    """The FA(3) file of ``inv`` exactly as submitted to KSeF (None before it was); refused (E-KEPT-DOCUMENT) when it is
    missing or is not the file whose sha256 the invoice records — KOD I and the receipt are of those bytes."""
    rec = inv.ksef
    if rec is None or not rec.sha256:
        return None
    rel = inv.src.file[: -len(".yaml")] + KSEF_KEPT_SUFFIX
    try:
        payload = (root / rel).read_bytes()
    except OSError:
        payload = None
    if payload is None or "sha256:" + hashlib.sha256(payload).hexdigest() != rec.sha256:
        raise CpqError(
            "E-KEPT-DOCUMENT",
            f"{rel} is {'missing' if payload is None else 'not the file submitted'}: {inv.invoice} records "
            f"{rec.sha256} for the FA(3) XML KSeF accepted as {rec.number}",
            "restore the file from git (`git checkout -- " + rel + "`), or download the invoice from KSeF by its "
            "number; an invoice in KSeF is never changed — correct it with a corrective invoice",
            src=inv.at.get("ksef") or inv.src,
        )
    return payload


def _needs_data(inv: Invoice) -> bool:
    """An invoice issued before the file recorded its parties or line names: FA(3) takes them from the repository."""
    return inv.seller is None or inv.buyer is None or any(not ln.name for ln in inv.lines)


def _corrected_ksef(loaded, inv: Invoice) -> str | None:
    """The KSeF number of the invoice a correction corrects, when that one is in KSeF (NrKSeFFaKorygowanej)."""
    if not inv.corrects:
        return None
    original = loaded.invoices.get(inv.corrects)
    return original.ksef.number if original is not None and original.ksef is not None else None


_LOOK_UP = object()


def generate_fa3(loaded, inv: Invoice, corrected: Any = _LOOK_UP) -> bytes:
    """The FA(3) XML of an issued invoice or correction, as :func:`cpqctl.formats.ksef.fa3_xml` writes it (refused,
    E-KSEF-UNSUPPORTED, for what FA(3) cannot say). ``corrected``: the KSeF number of the invoice a correction
    corrects (None: not in KSeF); by default looked up in ``loaded``."""
    from cpqctl.formats.ksef import fa3_xml

    data = None
    if _needs_data(inv):
        from cpqctl.views.documents import invoice_data

        data = invoice_data(loaded, inv)
    try:
        number = _corrected_ksef(loaded, inv) if corrected is _LOOK_UP else corrected
        return fa3_xml(inv, data, ksef_of_corrected=number)
    except ValueError as exc:
        raise CpqError(
            "E-KSEF-UNSUPPORTED",
            f"{inv.invoice} cannot be written as FA(3): {exc}",
            "see docs/einvoicing.md for what cpqctl's FA(3) covers; set the account's `einvoice:` if it is not "
            "for KSeF",
            src=inv.src,
        ) from None


def fa3_of(root: Path, loaded, inv: Invoice) -> bytes:
    """The FA(3) file of ``inv``: the bytes submitted when it has a KSeF number (:func:`kept_fa3`), else generated."""
    kept = kept_fa3(root, inv)
    return kept if kept is not None else generate_fa3(loaded, inv)


def _short(message: str) -> str:
    """An XSD message without the namespace of every element name."""
    import re

    return re.sub(r"\{[^{}]*\}", "", message)


def xsd_refusal(fmt: Structured, inv: Invoice, problems: list[tuple[int, str]]) -> CpqError:
    """The refusal of a structured file that does not validate (E-KSEF-XSD), listing its problems."""
    shown = "\n".join(f"  XML line {line}: {_short(msg)}" for line, msg in problems[:10])
    more = f"\n  … and {len(problems) - 10} more" if len(problems) > 10 else ""
    return CpqError(
        fmt.code,
        f"the {fmt.title} file of {inv.invoice} is not valid ({len(problems)} problem(s)); nothing was written:\n"
        f"{shown}{more}",
        "the invoice file holds a value the format does not allow (see the field named); an issued invoice is never "
        "edited — issue a corrective invoice (`cpqctl invoice correct`), then fix the account or cpq.toml",
        src=inv.src,
    )


# --------------------------------------------------------------------------- render


@dataclass(frozen=True)
class RenderResult:
    """What `invoice render` wrote: ``path`` (None with ``-o -``: the bytes are ``payload``), seller warnings."""

    invoice: str
    path: Path | None
    warnings: tuple[str, ...] = ()
    message: str = ""
    payload: bytes | None = None


def render_invoice(
    ws: Workspace, invoice: str, fmt: str = "pdf", output: Path | None = None, *, notify: Notify | None = None
) -> RenderResult:
    """`invoice render`: an issued invoice as md, pdf, json (the template data) or a structured format of
    :data:`FORMATS`.

    md and pdf: the documents kept at issue, byte for byte (docs/invoices.md); once the invoice has a KSeF number,
    the **KSeF visualisation** instead — rendered from the invoice file with its KSeF number and KOD I — after the
    kept documents were checked intact (E-KEPT-DOCUMENT): they stay the documents as issued, in invoices/.
    A structured format is validated before anything is written: an invalid file is refused (E-KSEF-XSD) with its
    problems, nothing written.
    """
    from cpqctl.app.documents import DOCUMENT_FORMATS, write_bytes, write_document
    from cpqctl.app.invoicing import _load_invoice, kept_document
    from cpqctl.core.numbering import file_stem
    from cpqctl.views import documents

    if fmt not in DOCUMENT_FORMATS and fmt not in FORMATS:
        known = ", ".join([*DOCUMENT_FORMATS, *FORMATS])
        raise UsageError("E-USAGE", f"`{fmt}` is not a document format", known)
    warnings: list[str] = []
    loaded, inv = _load_invoice(ws, invoice, notify or _quiet, warnings)
    stem = file_stem(inv.invoice)
    if fmt in FORMATS:
        structured = FORMATS[fmt]
        context = _with_corrected(ws, loaded, inv)
        payload = structured.render(ws.root, context, inv)
        problems = structured.validate(payload)
        if problems:
            raise xsd_refusal(structured, inv, problems)
        if structured.package is not None:
            payload = structured.package(ws.root, context, inv, payload)
        doc = _write_structured(ws.root, stem, structured, payload, output)
    else:
        kept = kept_document(ws.root, inv, fmt) if fmt != "json" else None
        if kept is not None and inv.ksef is None:
            doc = write_bytes(ws.root, stem, fmt, kept, output)
        else:
            data = documents.invoice_data(loaded, inv)
            doc = write_document(ws.root, "invoice", stem, fmt, data, output, inv.date)
    return RenderResult(inv.invoice, doc.path, tuple(warnings), f"wrote {doc.path}" if doc.path else "", doc.payload)


def _write_structured(root: Path, stem: str, structured: Structured, payload: bytes, output: Path | None):
    from cpqctl.app.documents import write_bytes

    return write_bytes(root, stem, structured.suffix.removeprefix("."), payload, output)


def _with_corrected(ws: Workspace, loaded, inv: Invoice):
    """``loaded`` (a one-invoice load) with the invoice a correction corrects, whose KSeF number FA(3) names."""
    from dataclasses import replace
    from types import MappingProxyType

    if not inv.corrects or inv.corrects in loaded.invoices:
        return loaded
    try:
        other = ws.invoice_context(inv.corrects).invoices.get(inv.corrects)
    except CpqError:  # not found or not loadable: FA(3) says the corrected invoice is outside KSeF
        return loaded
    if other is None:
        return loaded
    return replace(loaded, invoices=MappingProxyType({**loaded.invoices, other.invoice: other}))


# --------------------------------------------------------------------------- check


CACHE_NAME = ".cpq/cache/einvoice.json"
CACHE_FORMAT = 1


def _code_key() -> str:
    """What a remembered verdict depends on besides the invoice: this code, the FA(3) writer, the schema's package."""
    from importlib import metadata

    from cpqctl.formats import en16931, ksef

    h = hashlib.sha256(f"einvoice-{CACHE_FORMAT}".encode())
    for module in (ksef.__file__, en16931.__file__, __file__):
        h.update(Path(module).read_bytes())
    for package in ("ksef-client", "factur-x", "saxonche"):  # the schemas and rules are theirs
        try:
            h.update(metadata.version(package).encode())
        except metadata.PackageNotFoundError:
            h.update(b"-")
    return h.hexdigest()


def _verdict_key(fmt: str, inv: Invoice, corrected: str | None) -> str:
    """The invoice as its structured file reads it: every field but its deliveries, reminders, KSeF record and
    positions, with the format and ``corrected``: the corrected invoice's KSeF number, the buyer's Peppol ID and,
    for what the file takes from the repository, that data (:func:`cpqctl.views.documents.invoice_data`)."""
    import dataclasses

    from cpqctl.core.model import NOWHERE

    bare = dataclasses.replace(inv, sent=(), reminders=(), ksef=None, digest=None, src=NOWHERE, at={})
    return hashlib.sha256(f"{fmt}|{bare!r}|{corrected}".encode()).hexdigest()[:32]


def check_einvoices(root: Path, repo: Repo, diags: Sequence[Diagnostic] = ()) -> list[Diagnostic]:
    """`check`'s findings on structured e-invoices: every issued invoice whose account uses a format of
    :data:`FORMATS` and that the format's ``due`` selects — for KSeF, one dated from ``[ksef] mandatory_from`` on
    and not accepted by KSeF yet — is written in it and validated; each problem is an error with the format's code
    (E-KSEF-XSD) at the invoice field it comes from (else the invoice's first line), also on a hand-edited invoice
    whose digest no longer holds (that is its own finding).

    Validation costs ≈ 0.7 ms per invoice: the invoices found valid are remembered by their content in
    ``.cpq/cache/einvoice.json`` (with this code's digest), so a check after one edit validates what changed. An
    invoice issued before the file recorded its parties and line names is remembered too, keyed on what it takes
    from the repository (before: rendered and validated on every check, 3.3 s of a check after one edit at 10,000
    accounts of bench/gen.py's such invoices).
    """
    run = EinvoiceCheck(root)
    found = run.part(repo, diags)
    run.finish()
    return found


class EinvoiceCheck:
    """:func:`check_einvoices` over a repository read in parts (:mod:`cpqctl.app.check_parts`): :meth:`part` for
    each, then :meth:`finish` remembers the verdicts of all of them at once (each part's alone would forget the
    others')."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.known: set[str] | None = None  # read at the first invoice due
        self.valid: set[str] = set()

    def part(self, repo: Repo, diags: Sequence[Diagnostic] = ()) -> list[Diagnostic]:
        """The findings on ``repo``'s invoices (``diags``: the findings so far, whose files' errors are theirs)."""
        root = self.root
        bad_files = {d.file for d in diags if d.severity == "error"}
        due = []
        for inv in repo.invoices.values():
            for name in einvoices_of(repo.settings, repo.accounts.get(inv.account), inv):
                fmt = FORMATS[name]
                if fmt.due(repo, inv):
                    due.append((inv, fmt))
        if not due:
            return []
        if self.known is None:
            self.known = _read_cache(root, _code_key())
        known, valid = self.known, self.valid
        found: list[Diagnostic] = []
        for inv, fmt in sorted(due, key=lambda x: (x[0].src.file, x[1].name)):
            account = repo.accounts.get(inv.account)
            context = f"{_corrected_ksef(repo, inv)}|{getattr(account, 'peppol_id', '')}"
            cacheable = True
            # what the file takes from the repository (parties and line names of an invoice that did not record
            # them; the company's details in EN 16931)
            if _needs_data(inv) or fmt.name != "ksef":
                data = _data_of(repo, inv)
                cacheable = data is not None
                context += f"|{data!r}"
            key = _verdict_key(fmt.name, inv, context)
            if cacheable and key in known:
                valid.add(key)
                continue
            try:
                payload = fmt.render(root, repo, inv)
            except CpqError as exc:
                found.append(_diag(inv, inv.src, exc.code, exc.message, exc.hint))
                continue
            except Exception:  # a record of a file with errors of its own (reported already) may lack what FA(3) needs
                if inv.src.file in bad_files:
                    continue
                raise
            problems = fmt.validate(payload)
            if not problems:
                if cacheable:
                    valid.add(key)
                continue
            for line, message in problems:
                where = _field_of(inv, payload, line)
                found.append(
                    _diag(
                        inv,
                        where,
                        fmt.code,
                        f"{inv.invoice}: its {fmt.title} file does not validate (line {line}): {_short(message)}",
                        "it would be rejected. An issued invoice is never edited: issue a corrective invoice "
                        "(`cpqctl invoice correct`) and fix the account or cpq.toml; see docs/einvoicing.md",
                    )
                )
        return found

    def finish(self) -> None:
        """Remember the invoices found valid (when any was due)."""
        if self.known is not None and self.valid != self.known:
            _write_cache(self.root, _code_key(), self.valid)


def _data_of(repo: Repo, inv: Invoice):
    """What an invoice issued before the file recorded its parties takes from the repository (None: it cannot)."""
    from cpqctl.views.documents import invoice_data

    try:
        return invoice_data(repo, inv)
    except Exception:  # a record of a file with errors of its own: rendering reports it (or skips it) below
        return None


def _diag(inv: Invoice, where, code: str, message: str, hint: str) -> Diagnostic:
    return Diagnostic(where.file, where.line, where.column, code, message, hint, "error")


# FA(3) element (its local name, outermost first) → the invoice key it comes from
_FIELDS = (
    ("Podmiot1", "seller"),
    ("Podmiot2", "buyer"),
    ("FaWiersz", "lines"),
    ("DodatkowyOpis", "lines"),
    ("DaneFaKorygowanej", "corrects"),
    ("PrzyczynaKorekty", "reason"),
    ("Zwolnienie", "tax_note"),
    ("TerminPlatnosci", "due"),
    ("RachunekBankowy", "seller"),
    ("OkresFa", "period_start"),
    ("P_6", "sale_date"),
    ("P_1", "date"),
    ("P_2", "invoice"),
    ("KodWaluty", "currency"),
    ("P_15", "gross_total"),
    ("Naglowek", "date"),
    # EN 16931: UBL and CII (Factur-X) elements; a line's own tax and price belong to the line
    ("AccountingSupplierParty", "seller"),
    ("SellerTradeParty", "seller"),
    ("AccountingCustomerParty", "buyer"),
    ("BuyerTradeParty", "buyer"),
    ("InvoiceLine", "lines"),
    ("CreditNoteLine", "lines"),
    ("IncludedSupplyChainTradeLineItem", "lines"),
    ("BillingReference", "corrects"),
    ("InvoiceReferencedDocument", "corrects"),
    ("PaymentMeans", "seller"),
    ("SpecifiedTradeSettlementPaymentMeans", "seller"),
    ("PaymentTerms", "due"),
    ("SpecifiedTradePaymentTerms", "due"),
    ("InvoicePeriod", "period_start"),
    ("BillingSpecifiedPeriod", "period_start"),
    ("TaxTotal", "taxes"),
    ("ApplicableTradeTax", "taxes"),
    ("LegalMonetaryTotal", "gross_total"),
    ("SpecifiedTradeSettlementHeaderMonetarySummation", "gross_total"),
)


def _field_of(inv: Invoice, payload: bytes, line: int):
    """The position in the invoice file of the field an XSD problem at ``line`` of the FA(3) XML comes from."""
    from lxml import etree

    try:
        doc = etree.fromstring(payload, etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False))
    except etree.XMLSyntaxError:
        return inv.src
    element = next((e for e in doc.iter() if isinstance(e.tag, str) and e.sourceline == line), None)
    if element is None:
        return inv.src
    names = [etree.QName(e).localname for e in [element, *element.iterancestors()]]
    for tag, key in _FIELDS:
        if tag in names and key in inv.at:
            return inv.at[key]
    if any(n.startswith(("P_13", "P_14")) for n in names) and "taxes" in inv.at:
        return inv.at["taxes"]
    return inv.src


def _read_cache(root: Path, code: str) -> set[str]:
    import json

    try:
        doc = json.loads((root / CACHE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(doc, dict) or doc.get("code") != code or not isinstance(doc.get("valid"), list):
        return set()
    return {k for k in doc["valid"] if isinstance(k, str)}


def _write_cache(root: Path, code: str, valid: set[str]) -> None:
    import json

    from cpqctl.store import atomic_write_bytes

    try:
        atomic_write_bytes(
            root / CACHE_NAME, json.dumps({"code": code, "valid": sorted(valid)}, separators=(",", ":")).encode()
        )
    except OSError:  # a read-only checkout: the check still runs, it just remembers nothing
        pass


# --------------------------------------------------------------------------- send


def refuse_unsubmitted(repo: Repo, invoices: Sequence[Invoice]) -> None:
    """`invoice send` of invoices that must go through KSeF first (:func:`ksef_due`) and have no KSeF number yet:
    refused (E-KSEF-NOT-SUBMITTED) before anything goes out — e-mailed, the PDF would be taken for the invoice."""
    refuse_missing(repo.settings, unsubmitted(repo, invoices))


def unsubmitted(repo: Repo, invoices: Sequence[Invoice]) -> list[Invoice]:
    """The invoices of ``invoices`` that must go through KSeF first and have no KSeF number yet, in their order."""
    return [inv for inv in invoices if inv.ksef is None and ksef_due(repo, inv)]


def refuse_missing(settings, missing: Sequence[Invoice]) -> None:
    """:func:`refuse_unsubmitted` of the invoices :func:`unsubmitted` found (over every part of a big repository)."""
    if not missing:
        return
    names = ", ".join(i.invoice for i in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    raise CpqError(
        "E-KSEF-NOT-SUBMITTED",
        f"not in KSeF yet: {names} (no KSeF number recorded; the account's e-invoice is ksef and KSeF is mandatory "
        f"from {ksef_from(settings)}): e-mailed now, the PDF would be taken for the invoice",
        "submit first (`cpqctl invoice submit --unsent`), then send: the PDF shows the KSeF number and KOD I and "
        "the FA(3) file is attached; or pass --without-ksef to e-mail it as it is (docs/einvoicing.md)",
        src=missing[0].src,
    )


def unsubmitted_note(repo: Repo, inv: Invoice) -> str:
    """The note of an .eml written (nothing delivered) for an invoice that must go through KSeF before it is e-mailed
    and has no KSeF number: `invoice send` without --eml would refuse it. "" otherwise."""
    if inv.ksef is not None or not ksef_due(repo, inv):
        return ""
    return (
        f"note: {inv.invoice} is not in KSeF yet: `invoice send` refuses to deliver it until `cpqctl invoice submit` "
        "has recorded its KSeF number (docs/einvoicing.md)"
    )


def attach_structured(root: Path, loaded, inv: Invoice, msg) -> None:
    """Attach the structured files of the account's formats (:func:`einvoices_of`) to the e-mail of ``inv``: the FA(3)
    file KSeF accepted (``<file>.xml``) once the invoice has a KSeF number; the Factur-X PDF
    (``<file>.factur-x.pdf``) and the UBL file (``<file>.ubl.xml``), each validated first (refused with its
    findings, E-EN16931, nothing sent)."""
    from cpqctl.core.numbering import file_stem

    stem = file_stem(inv.invoice)
    formats = einvoices_of(loaded.settings, loaded.accounts.get(inv.account), inv)
    payload = kept_fa3(root, inv)
    if payload is not None:
        maintype, subtype = FORMATS["ksef"].media
        msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=f"{stem}.xml")
    for name in formats:
        fmt = FORMATS[name]
        if name == "ksef":
            continue
        xml = fmt.render(root, loaded, inv)
        problems = fmt.validate(xml)
        if problems:
            raise xsd_refusal(fmt, inv, problems)
        payload = fmt.package(root, loaded, inv, xml) if fmt.package is not None else xml
        maintype, subtype = fmt.media
        suffix = ".factur-x.pdf" if name == "facturx" else fmt.suffix
        msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=f"{stem}{suffix}")


# --------------------------------------------------------------------------- submit

KSEF_API = {
    "test": "https://api-test.ksef.mf.gov.pl",
    "demo": "https://api-demo.ksef.mf.gov.pl",
    "prod": "https://api.ksef.mf.gov.pl",
}
POLL_SECONDS = 1.0
POLL_ATTEMPTS = 60


@dataclass(frozen=True)
class KsefConfig:
    environment: str
    base_url: str
    token: str
    nip: str


def ksef_config(settings: Settings) -> KsefConfig:
    """cpq.toml ``[ksef]`` and the token from the environment variable it names (refused as unusable input, with what
    to set, when something is missing: E-KSEF-CONFIG, E-KSEF-TOKEN — exit 2, like a missing SMTP password)."""
    import os

    from cpqctl.formats.ksef import polish_nip

    cfg = settings.ksef
    if not cfg:
        raise UsageError(
            "E-KSEF-CONFIG",
            "cpq.toml has no [ksef] section: cpqctl does not know which KSeF to submit to",
            'add `[ksef]` with `environment = "test"` (or "demo", "prod") and `token_env = "KSEF_TOKEN"` '
            "(docs/einvoicing.md)",
            src=settings.src,
        )
    environment = str(cfg.get("environment") or "test")
    nip = polish_nip(settings.company_tax_id)
    if nip is None:
        raise UsageError(
            "E-KSEF-CONFIG",
            f"cpq.toml [company] tax_id {settings.company_tax_id!r} is not a Polish NIP: KSeF takes a Polish seller's "
            "invoices",
            'set [company] tax_id = "PL…" (10 digits)',
            src=settings.src,
        )
    variable = str(cfg.get("token_env") or "KSEF_TOKEN")
    token = os.environ.get(variable, "").strip()
    if not token:
        raise UsageError(
            "E-KSEF-TOKEN",
            f"the KSeF token is not set: the environment variable {variable} (cpq.toml [ksef] token_env) is empty",
            f"generate a token in KSeF (Aplikacja Podatnika, permission to issue invoices) and export {variable}=…; "
            "cpqctl never stores it",
            src=settings.src,
        )
    base_url = str(cfg.get("base_url") or KSEF_API[environment])
    return KsefConfig(environment, base_url, token, nip)


@dataclass(frozen=True)
class SubmitResult:
    """What KSeF accepted: one record per invoice (``accepted``, the JSON items); ``skipped`` the invoices named that
    already had a KSeF number; ``problems`` and ``error`` the invoices KSeF did not accept (raised once what was
    accepted is shown; the accepted ones are recorded all the same)."""

    as_of: date
    accepted: tuple[dict, ...] = ()
    skipped: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    message: str = ""
    error: CpqError | None = field(default=None, compare=False)

    @property
    def data(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "submitted": list(self.accepted), "skipped": list(self.skipped)}


def submit_invoices(
    ws: Workspace,
    invoices: Sequence[str] = (),
    *,
    unsent: bool = False,
    as_of: date | None = None,
    notify: Notify | None = None,
) -> SubmitResult:
    """Submit invoices to KSeF (docs/einvoicing.md) and record what it accepted.

    ``invoices`` by number, or ``unsent``: every issued invoice dated by the as-of day that must go through KSeF
    (:func:`ksef_due`) and has no KSeF number. An invoice with a KSeF number is skipped (idempotent). Everything
    that can be refused is checked before the first byte goes out: the [ksef] settings and token, every invoice's
    FA(3) against the XSD, every file able to take its record. Then one authentication (the KSeF token), one online
    session; per invoice: send, wait for its status, and on acceptance record in one transaction the
    ``ksef: {number, accepted, reference, session, environment, sha256}`` line after the invoice's digest and the
    FA(3) file as sent (``invoices/<file>.ksef.xml``). An invoice KSeF rejects is reported and the others go on; a
    broken connection stops the call (what was accepted is recorded).
    """
    from cpqctl.app.invoicing import _invoice

    say = notify or _quiet
    day = ws.day(as_of)
    if unsent == bool(invoices):
        raise UsageError(
            "E-USAGE",
            "name the invoices to submit, or pass --unsent (not both)",
            "e.g. `cpqctl invoice submit INV-2026-0001` or `cpqctl invoice submit --unsent`",
        )
    accepted: list[dict] = []
    problems: list[str] = []
    written: list[str] = []
    skipped: list[str] = []
    if unsent:
        due = _submit_unsent_in_parts(ws, day, say, accepted, problems, written)
        if due is False:
            return SubmitResult(day, (), (), message="nothing to submit to KSeF")
        if due is True:
            return _submitted(day, accepted, skipped, problems, written)
    with ws.writing() as (store, loaded):
        if unsent:
            batch = sorted(
                (i for i in loaded.invoices.values() if i.ksef is None and i.date <= day and ksef_due(loaded, i)),
                key=lambda i: (i.date, i.kind != "invoice", i.invoice),
            )
        else:
            batch = []
            for number in invoices:
                inv = _invoice(loaded, number)
                if inv.ksef is not None:
                    skipped.append(inv.invoice)
                    say(f"{inv.invoice} is in KSeF already ({inv.ksef.number}): skipped")
                    continue
                account = loaded.accounts.get(inv.account)
                if "ksef" not in einvoices_of(loaded.settings, account, inv):
                    raise CpqError(
                        "E-EINVOICE-NOT-KSEF",
                        f"{inv.invoice}'s account {inv.account} does not use KSeF "
                        f"(einvoice: {einvoice_of(loaded.settings, account, inv)})",
                        f"set `einvoice: ksef` in contracts/{inv.account}/account.yaml to submit its invoices "
                        "(docs/einvoicing.md)",
                        src=account.src if account is not None else inv.src,
                    )
                if all(b.invoice != inv.invoice for b in batch):
                    batch.append(inv)
        if not batch:
            what = "" if unsent else " (every invoice named has a KSeF number)"
            return SubmitResult(day, (), tuple(skipped), message=f"nothing to submit to KSeF{what}")
        cfg = ksef_config(loaded.settings)  # configuration errors first
        plan = []
        for inv in batch:  # every FA(3) valid and every file able to take its record, before anything goes out
            payload = generate_fa3(loaded, inv)
            bad = FORMATS["ksef"].validate(payload)
            if bad:
                raise xsd_refusal(FORMATS["ksef"], inv, bad)
            _record_text(store, inv, _probe_record(cfg))
            plan.append((inv, payload))
        _submit_each(cfg, say, store, plan, accepted, problems, written)
    return _submitted(day, accepted, skipped, problems, written)


def _submit_each(cfg, say: Notify, store, plan, accepted: list, problems: list, written: list, guard=None) -> None:
    """One KSeF session: each (invoice, FA(3)) of ``plan`` sent in turn and, once accepted, recorded (``guard``: the
    store validator of each record, made from its invoice, for a run in parts)."""
    with _Session(cfg, say) as session:
        for inv, payload in plan:
            got = session.submit(inv, payload, problems)
            if got is None:
                continue
            if guard is not None:
                store.validator = guard(inv)
            _record(store, inv, payload, got)
            written.append(inv.src.file)
            accepted.append(_accepted_json(inv, got))
            say(f"submitted {inv.invoice}: KSeF number {got.number}")


def _submitted(day: date, accepted: list, skipped: list, problems: list, written: list) -> SubmitResult:
    error = None
    if problems:
        error = CpqError(
            "E-KSEF-REJECTED",
            f"KSeF did not accept {len(problems)} invoice(s):\n  " + "\n  ".join(problems),
            "nothing was recorded for them: fix what KSeF says (a corrective invoice for a wrong invoice) and submit "
            "again; the invoices it accepted are recorded",
        )
    return SubmitResult(
        day,
        tuple(accepted),
        tuple(skipped),
        tuple(problems),
        tuple(written),
        f"{len(accepted)} invoice(s) in KSeF" if accepted else "",
        error,
    )


_SUBMIT_KINDS = frozenset({"account", "contract", "invoice", "catalog"})  # what an FA(3) file is made from


def _submit_unsent_in_parts(
    ws: Workspace, day: date, say: Notify, accepted: list, problems: list, written: list
) -> bool | None:
    """`invoice submit --unsent` on a big repository, planned one part at a time (:meth:`Workspace.clean_parts`: whole
    account folders with their contracts' invoices, after `check` found the repository free of errors; issue 21: the
    whole model of 50,000 accounts took 1.2 GB): whether any invoice was due (``accepted``, ``problems``, ``written``
    filled as the whole run fills them), or None when the whole repository is read instead (small, an error, or what
    the parts cannot stand for).

    Everything the whole run refuses before the first byte goes out is refused the same way: the [ksef] settings
    and token first, then the first invoice in the run's order (date, invoices before corrections, number) whose
    FA(3) cannot be made, does not validate or whose file cannot take its record. Each part's FA(3) files are made
    while it is read and wait on disk (:class:`cpqctl.app.spill.Spilled`), then go to KSeF in that order; each record
    is checked on its own invoice file (:func:`_ksef_recorded`): no rule over other files reads it."""
    from operator import itemgetter

    from cpqctl.app.spill import Spilled
    from cpqctl.load.cache import load_files

    with ws.clean_parts() as parts:
        if parts is None:
            return None
        settings = parts.settings
        store = parts.held
        try:
            cfg, unusable = ksef_config(settings), None
        except CpqError as e:
            cfg, unusable = None, e
        spill = Spilled(itemgetter(0))
        refused: list[tuple[tuple, CpqError]] = []
        due = [0]

        def one(repo) -> None:
            batch = [i for i in repo.invoices.values() if i.ksef is None and i.date <= day and ksef_due(repo, i)]
            due[0] += len(batch)
            if cfg is None:
                return
            made = []
            for inv in batch:
                key = (inv.date, inv.kind != "invoice", inv.invoice)
                try:
                    payload = generate_fa3(repo, inv)
                    bad = FORMATS["ksef"].validate(payload)
                    if bad:
                        raise xsd_refusal(FORMATS["ksef"], inv, bad)
                    _record_text(store, inv, _probe_record(cfg))
                except CpqError as e:
                    refused.append((key, e))
                    continue
                if not refused:  # the run is refused anyway: nothing more kept
                    made.append((key, inv.src.file, payload))
            spill.add(sorted(made, key=itemgetter(0)))

        try:
            if parts.read(_SUBMIT_KINDS, one) is None:
                return None
            if not due[0]:
                return False
            if unusable is not None:  # configuration errors first
                raise unusable
            if refused:
                raise min(refused, key=itemgetter(0))[1]
            assert cfg is not None
            plan = ((load_files(ws.root, [(rel, "invoice")])[rel].records[0], payload) for _, rel, payload in spill)
            _submit_each(  # one invoice at a time, each record checked on its own file
                cfg,
                say,
                store,
                plan,
                accepted,
                problems,
                written,
                lambda inv: _ksef_recorded(ws.root, settings, inv.src.file),
            )
            return True
        finally:
            spill.close()


def _ksef_recorded(root: Path, settings, rel: str):
    """A store validator for a KSeF record written in parts: the commit writes the invoice file ``rel`` and its kept
    FA(3) file alone, and the invoice reads back free of errors, as it was on disk but for the KSeF record added
    (none before). No rule over other files reads that record."""
    from cpqctl.app.staged import refusal
    from cpqctl.load.cache import load_files
    from cpqctl.load.repo import Loaded

    before = Loaded(settings, load_files(root, [(rel, "invoice")]), [], whole=False)
    kept = rel[: -len(".yaml")] + KSEF_KEPT_SUFFIX

    def check(files: dict[str, bytes | None]) -> None:
        data = files.get(rel)
        after = before.staged({rel: data}).results.get(rel) if isinstance(data, bytes) else None
        found = [d for d in after.diagnostics if d.severity == "error"] if after is not None else []
        old = before.results[rel].records
        new = after.records if after is not None else []
        if (
            found
            or set(files) - {rel, kept}
            or len(old) != 1
            or len(new) != 1
            or old[0].ksef is not None
            or new[0].ksef is None
            or dataclasses.replace(new[0], ksef=None, at=old[0].at) != old[0]
        ):
            found = found or [
                Diagnostic(rel, 1, 1, "E-WRITE-INVALID", f"{rel} would change more than its KSeF record", "")
            ]
            raise refusal(found, sorted(files))

    return check


def _accepted_json(inv: Invoice, rec) -> dict:
    return {
        "invoice": inv.invoice,
        "ksef_number": rec.number,
        "accepted": rec.accepted or None,
        "reference": rec.reference or None,
        "session": rec.session or None,
        "environment": rec.environment or None,
    }


def _probe_record(cfg: KsefConfig):
    from cpqctl.core.model import KsefRecord

    return KsefRecord("0000000000-00000000-000000000000-00", "2026-01-01T00:00:00Z", "probe", "probe", cfg.environment)


def _record_text(store, inv: Invoice, rec) -> tuple[str, str, str | None]:
    """(path, the invoice file's new text with ``rec``, the expected sha256 of the file now)."""
    from cpqctl.formats.invoice import ksef_added_text
    from cpqctl.store import sha256_file

    rel = inv.src.file
    path = store.path(rel)
    return rel, ksef_added_text(path.read_text(encoding="utf-8"), inv, rec), sha256_file(path)


def _record(store, inv: Invoice, payload: bytes, rec) -> None:
    """Record an accepted invoice: its ``ksef:`` line and the file as sent, in one transaction."""
    from cpqctl.formats.invoice import ksef_entry

    rel, text, sha = _record_text(store, inv, rec)
    kept = rel[: -len(".yaml")] + KSEF_KEPT_SUFFIX
    try:
        with store.transaction() as tx:
            tx.write(rel, text, expect_sha256=sha)
            tx.create_bytes(kept, payload)
    except Exception as exc:  # accepted by KSeF but not recorded: say exactly what to add, never lose it silently
        raise CpqError(
            "E-KSEF-NOT-RECORDED",
            f"KSeF accepted {inv.invoice} as {rec.number} but recording it in {rel} failed: {exc}",
            f"add this line right after the digest line of {rel} and keep the FA(3) XML submitted "
            f"(`cpqctl invoice render {inv.invoice} --format ksef -o {kept}`):\n{ksef_entry(rec)}",
        ) from None


class _Session:
    """One KSeF authentication and online session (ksef-client 0.20: ``AuthCoordinator`` with the KSeF token,
    ``OnlineSessionWorkflow``), closed on the way out."""

    def __init__(self, cfg: KsefConfig, say: Notify):
        self.cfg = cfg
        self.say = say
        self.client: Any = None
        self.handle: Any = None
        self.token = ""

    def __enter__(self) -> _Session:
        from ksef_client import KsefClient, KsefClientOptions
        from ksef_client.models import FormCode
        from ksef_client.services import AuthCoordinator, OnlineSessionWorkflow

        cfg = self.cfg
        self.client = KsefClient(KsefClientOptions(base_url=cfg.base_url, timeout_seconds=30.0))
        try:
            with _errors(f"KSeF at {cfg.base_url}: authentication"):
                token_cert = self.client.security.get_public_key_certificate("KsefTokenEncryption")
                auth = AuthCoordinator(self.client.auth).authenticate_with_ksef_token(
                    token=cfg.token,
                    public_certificate=token_cert.certificate,
                    public_key_id=token_cert.public_key_id,
                    context_identifier_type="nip",
                    context_identifier_value=cfg.nip,
                    poll_interval_seconds=POLL_SECONDS,
                    max_attempts=POLL_ATTEMPTS,
                )
                self.token = auth.access_token
            with _errors(f"KSeF at {cfg.base_url}: opening a session"):
                key_cert = self.client.security.get_public_key_certificate("SymmetricKeyEncryption")
                self.handle = OnlineSessionWorkflow(self.client.sessions).open_session(
                    form_code=FormCode(schema_version="1-0E", system_code="FA (3)", value="FA"),
                    public_certificate=key_cert.certificate,
                    public_key_id=key_cert.public_key_id,
                    access_token=self.token,
                )
        except BaseException:
            self.client.close()
            raise
        self.say(f"KSeF session {self.handle.session_reference_number} open ({cfg.environment})")
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.handle is not None:
                try:
                    self.handle.close(access_token=self.token)
                except Exception as e:  # the invoices' statuses are final already; the session expires on its own
                    self.say(f"cpqctl: warning: closing the KSeF session failed: {e}")
        finally:
            self.client.close()

    def submit(self, inv: Invoice, payload: bytes, problems: list[str]):
        """Send one invoice and wait for its status: the record on acceptance, None (noted in ``problems``) when KSeF
        rejects it; a transport or server error raises (E-KSEF-HTTP)."""
        import time

        from cpqctl.core.model import KsefRecord

        session = self.handle.session_reference_number
        with _errors(f"KSeF: sending {inv.invoice}"):
            sent = self.handle.send_invoice(payload, access_token=self.token)
        reference = sent.reference_number
        for _ in range(POLL_ATTEMPTS):
            with _errors(f"KSeF: the status of {inv.invoice}"):
                status = self.handle.get_invoice_status(reference, access_token=self.token)
            code = status.status.code
            if code == 200 and status.ksef_number:
                accepted = status.acquisition_date or status.invoicing_date or ""
                return KsefRecord(
                    str(status.ksef_number),
                    str(accepted),
                    str(reference),
                    str(session),
                    self.cfg.environment,
                    "sha256:" + hashlib.sha256(payload).hexdigest(),
                )
            if code in (100, 150) or code == 200:  # 200 without a number yet: still being numbered
                time.sleep(POLL_SECONDS)
                continue
            details = "; ".join(status.status.details or [])
            why = f"{code} {status.status.description}" + (f" ({details})" if details else "")
            problems.append(f"{inv.invoice}: {why}")
            self.say(f"cpqctl: {inv.invoice} rejected by KSeF: {why}")
            return None
        problems.append(f"{inv.invoice}: no final status after {POLL_ATTEMPTS} queries (reference {reference})")
        return None


class _errors:
    """ksef-client's errors as one CpqError (E-KSEF-HTTP) naming what was being done."""

    def __init__(self, doing: str):
        self.doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None or isinstance(exc, CpqError) or not isinstance(exc, Exception):
            return
        from ksef_client.exceptions import KsefHttpError

        if isinstance(exc, KsefHttpError):
            detail = f"HTTP {exc.status_code}: {exc.message}"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        raise CpqError(
            "E-KSEF-HTTP",
            f"{self.doing} failed: {detail}",
            "nothing was recorded for the invoices not accepted yet; check [ksef] environment/base_url, the token's "
            "permissions and KSeF's availability (https://ksef.podatki.gov.pl), then run the same command again",
        ) from None
