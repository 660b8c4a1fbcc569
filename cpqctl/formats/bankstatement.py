"""Bank statements in: CAMT.053 (ISO 20022, read by ``pycamt``) and MT940 (SWIFT, read by ``mt-940``).

Each booked entry becomes a :class:`BankLine`: its date, amount and currency, credit or debit, whether it is
a reversal, the payer's name and IBAN, and all of its remittance text (the transfer's title, structured
creditor references, end-to-end IDs), which is where `payment import` looks for invoice numbers.

A line's :attr:`BankLine.key` is the statement account's IBAN and the bank's own reference of the entry (its
``AcctSvcrRef`` in CAMT, the bank reference of an MT940 ``:61:``), or, for an entry without one, a digest of
what the entry says and its position among identical entries. Importing the same statement twice, or two
statements that overlap, records each entry once (docs/receivables.md).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import Source

FORMATS = ("camt.053", "mt940")
MAX_STATEMENT_BYTES = 64 * 1024 * 1024  # a month of a busy account is a few MB; anything larger is not a statement


@dataclass(frozen=True, slots=True)
class BankLine:
    format: str
    account: str  # the statement's account (IBAN or the number the bank gives)
    date: date  # booking date
    amount: Decimal  # > 0
    currency: str
    credit: bool  # money in
    reversal: bool
    payer: str
    payer_iban: str
    text: str  # the remittance information, one line
    bank_ref: str
    key: str  # what identifies the entry across imports


class StatementError(CpqError):
    """E-STATEMENT: the file is not a statement of the format, or an entry cannot be read."""

    def __init__(self, file: str, message: str, hint: str = "") -> None:
        super().__init__("E-STATEMENT", message, hint or "export the statement again from the bank", src=Source(file))


def sniff(data: bytes) -> str | None:
    """The format of a statement's bytes, from its first characters: camt.053 or mt940 (None: neither)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") and b"camt.05" in data[:4096]:
        return "camt.053"
    if re.search(rb"(^|[\r\n]):20:", head) or head.startswith((b":20:", b"{1:")):
        return "mt940"
    return None


def read(file: str, data: bytes, fmt: str | None = None) -> list[BankLine]:
    """The entries of a statement file (``fmt``: camt.053 | mt940; None: by its content)."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise StatementError(file, f"the file has {len(data)} bytes, more than a statement's {MAX_STATEMENT_BYTES}")
    fmt = fmt or sniff(data)
    if fmt == "camt.053":
        return _camt(file, data)
    if fmt == "mt940":
        return _mt940(file, data)
    raise StatementError(
        file,
        "neither a CAMT.053 (ISO 20022 XML) nor an MT940 statement",
        "export the statement as CAMT.053 or MT940, or name the format with --format",
    )


def _money(file: str, text: str | None, what: str) -> Decimal:
    try:
        value = Decimal((text or "").strip().replace(",", "."))
    except InvalidOperation:
        raise StatementError(file, f"{what}: `{text}` is not an amount") from None
    if not value.is_finite() or abs(value) >= Decimal(10) ** 15 or value.as_tuple().exponent < -6:  # type: ignore[operator]
        raise StatementError(file, f"{what}: `{text}` is not an amount a statement holds")
    return abs(value)


def _day(file: str, text: str | None, what: str) -> date:
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        raise StatementError(file, f"{what}: `{text}` is not a date") from None


def _keyed(lines: list[dict]) -> list[str]:
    """Each line's key: account + the bank's reference, else account + a digest of its content and its ordinal."""
    seen: dict[str, int] = {}
    out = []
    for ln in lines:
        if ln["bank_ref"]:
            out.append(f"{ln['account']} {ln['bank_ref']}")
            continue
        body = "|".join(str(ln[k]) for k in ("date", "amount", "currency", "credit", "payer_iban", "text"))
        digest = hashlib.sha256(body.encode()).hexdigest()[:16]
        n = seen[digest] = seen.get(digest, 0) + 1
        out.append(f"{ln['account']} {digest}#{n}")
    return out


def _lines(fmt: str, raw: list[dict]) -> list[BankLine]:
    return [BankLine(format=fmt, key=k, **ln) for ln, k in zip(raw, _keyed(raw))]


def _camt(file: str, data: bytes) -> list[BankLine]:
    from lxml import etree
    from pycamt.parser import Camt053ParseError, Camt053Parser

    try:
        parser = Camt053Parser(data)
        entries = parser.get_transactions()
    except (etree.XMLSyntaxError, Camt053ParseError, ValueError) as exc:
        raise StatementError(file, f"not a readable CAMT.053 document: {str(exc) or type(exc).__name__}") from None
    if parser.version == "unknown" and "camt.05" not in (parser.tree.tag or ""):
        raise StatementError(file, "the XML is not an ISO 20022 camt.053 (or camt.052) document")
    raw = []
    for n, e in enumerate(entries, 1):
        if (e.get("Status") or "BOOK").upper() not in ("BOOK", "BOOKED"):
            continue  # pending or informational entries are not money on the account yet
        what = f"entry {n}"
        text = " ".join(
            dict.fromkeys(
                t.strip()
                for t in (
                    e.get("RemittanceInformation"),
                    e.get("RemittanceInformationFull"),
                    e.get("AdditionalRemittanceInformation"),
                    e.get("EndToEndId") if e.get("EndToEndId") not in (None, "NOTPROVIDED") else None,
                    e.get("AdditionalEntryInformation"),
                )
                if t and t.strip()
            )
        )
        credit = (e.get("CreditDebitIndicator") or "").upper() == "CRDT"
        raw.append(
            {
                "account": e.get("AccountIBAN") or "",
                "date": _day(file, e.get("BookingDate") or e.get("ValueDate"), what),
                "amount": _money(file, e.get("Amount"), what),
                "currency": (e.get("Currency") or "").upper(),
                "credit": credit,
                "reversal": (e.get("ReversalIndicator") or "").lower() == "true",
                "payer": (e.get("DebtorName") if credit else e.get("CreditorName")) or "",
                "payer_iban": (e.get("DebtorIBAN") if credit else e.get("CreditorIBAN")) or "",
                "text": " ".join(text.split()),
                "bank_ref": e.get("TransactionID") or "",
            }
        )
    return _lines("camt.053", raw)


def _mt940(file: str, data: bytes) -> list[BankLine]:
    import mt940
    from mt940 import processors
    from mt940.models import Transactions

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1250")  # Polish banks' MT940 exports are Windows-1250 more often than not
    statements = Transactions(
        processors={"post_transaction_details": [processors.transaction_details_post_processor_with_space]},
        options=mt940.Options.all(),
    )
    try:
        statements.parse(text)
    except Exception as exc:  # the parser raises what its regexes and models raise
        raise StatementError(file, f"not a readable MT940 statement: {exc}") from None
    if not statements.data and not len(statements):
        raise StatementError(file, "no MT940 statement in the file (no :20: … :62F: block)")
    raw = []
    account = str(statements.data.get("account_identification") or "")
    for n, t in enumerate(statements, 1):
        d = t.data
        what = f"transaction {n}"
        amount = d.get("amount")
        if amount is None or d.get("date") is None:
            raise StatementError(file, f"{what}: no amount or date in its :61: line")
        status = str(d.get("status") or "")
        ref = str(d.get("bank_reference") or "")
        texts = [d.get(k) for k in ("purpose", "additional_purpose", "transaction_details", "end_to_end_reference")]
        raw.append(
            {
                "account": str(d.get("account_identification") or account).lstrip("/"),
                "date": date(d["date"].year, d["date"].month, d["date"].day),
                "amount": _money(file, str(amount.amount), what),
                "currency": str(d.get("currency") or amount.currency or "").upper(),
                "credit": status in ("C", "RD"),  # RD: reversal of a debit (money back in)
                "reversal": status.startswith("R"),
                "payer": " ".join(str(d.get("applicant_name") or "").split()),
                "payer_iban": str(d.get("applicant_iban") or d.get("gvc_applicant_iban") or ""),
                "text": " ".join(" ".join(str(x) for x in texts if x).split()),
                "bank_ref": "" if ref.upper() in ("", "NONREF") else ref,
            }
        )
    return _lines("mt940", raw)
