"""The text of a payment file (payments/<YYYY-MM>/<ID>.yaml), in the style of every file cpqctl writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cpqctl.formats.yamlout import Pairs, mapping_lines


@dataclass(frozen=True)
class PaymentDraft:
    date: date
    amount: Decimal
    currency: str
    kind: str = "payment"
    account: str = ""
    payer: str = ""
    payer_iban: str = ""
    reference: str = ""
    bank_ref: str = ""
    imported: str = ""
    note: str = ""
    allocations: tuple[tuple[str, Decimal], ...] = ()


def payment_path(ident: str, day: date) -> str:
    return f"payments/{day:%Y-%m}/{ident}.yaml"


def payment_text(ident: str, d: PaymentDraft, comment: str = "") -> str:
    pairs: Sequence[tuple[str, object]] = [
        ("payment", ident),
        ("date", d.date),
        ("kind", d.kind if d.kind != "payment" else None),
        ("account", d.account or None),
        ("amount", d.amount),
        ("currency", d.currency),
        ("payer", d.payer or None),
        ("payer_iban", d.payer_iban or None),
        ("reference", d.reference or None),
        ("bank_ref", d.bank_ref or None),
        ("imported", d.imported or None),
        ("note", d.note or None),
        ("allocations", [Pairs([("invoice", n), ("amount", a)]) for n, a in d.allocations]),
    ]
    head = [f"# {comment}"] if comment else []
    return "\n".join(head + mapping_lines(pairs)) + "\n"
