"""The invoice file's text (SPEC §1, ``invoices/<id>.yaml``) and the one change cpqctl ever makes to it.

An issued invoice is never rewritten (a correction is a new invoice): its file
is written once by :func:`invoice_text`, and afterwards only a delivery record
is appended to its ``sent:`` list (:func:`sent_append_text`), which lies
outside the invoice's content. Pure text, no IO.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from cpqctl.core.diagnostics import CpqError
from cpqctl.core.money import fmt_decimal, fmt_percent, money_str
from cpqctl.formats.digest import digest_of, line_of
from cpqctl.formats.yamlout import Raw, flow, mapping_lines


def invoice_text(number: str, d) -> str:
    """The invoice file (SPEC §1): flow-style lines, money with the currency's places, then its digest line."""
    cur = d.currency
    m = lambda v: Raw(money_str(v, cur))  # noqa: E731
    head = [
        ("invoice", number),
        ("account", d.account),
        ("contract", d.contract),
        ("date", d.date),
        ("sale_date", d.sale_date),
        ("due", d.due),
        ("currency", cur),
        ("reverse_charge", True if d.reverse_charge else None),
    ]
    out = mapping_lines(head)
    out.append("lines:")
    for ln in d.lines:
        out.append(
            "  - "
            + flow(
                [
                    ("segment", ln.segment),
                    ("product", ln.product),
                    ("kind", ln.kind),
                    ("period_start", ln.period_start),
                    ("period_end", ln.period_end),
                    ("quantity", Raw(fmt_decimal(ln.quantity)) if ln.quantity is not None else None),
                    ("amount", m(ln.amount)),
                ]
            )
        )
    taxes = ", ".join(
        flow([("rate", Raw(fmt_percent(t.rate))), ("base", m(t.base)), ("amount", m(t.amount))]) for t in d.taxes
    )
    out.extend(
        mapping_lines([("net_total", m(d.net_total)), ("taxes", Raw(f"[{taxes}]")), ("gross_total", m(d.gross_total))])
    )
    body = "\n".join(out) + "\n"
    return body + line_of(digest_of(body))  # `sent:` is appended after it, outside the digest


def sent_entry(day: date, to: Sequence[str], mid: str) -> str:
    """One item of the invoice file's ``sent:`` list (flow style, like invoice lines)."""
    return "  - " + flow([("date", day), ("to", ", ".join(to)), ("message_id", mid)]) + "\n"


def sent_append_text(text: str, inv, day: date, to: Sequence[str], mid: str) -> str:
    """The text to append to the invoice file ``text`` (of ``inv``) recording one delivery.

    The record goes in a block list `sent:` that is the file's last key (SPEC
    §1: outside the invoice's content); anything else is refused rather than
    rewritten. The file as it would be afterwards is parsed before anything is
    appended, so a delivery can never leave an invoice file that does not load.
    """
    import yaml

    rel = inv.src.file
    top = [ln for ln in text.splitlines() if ln[:1].isalpha()]
    has_key = any(ln.split(":", 1)[0] == "sent" for ln in top)
    if has_key and (top[-1].split("#", 1)[0].rstrip() != "sent:"):
        raise CpqError(
            "E-SENT-NOT-LAST",
            f"{rel}: `sent:` is not a block list at the end of the file, so a delivery cannot be appended",
            "make `sent:` the last key, with one `  - {…}` line per delivery",
            src=inv.at.get("sent") or inv.src,
        )
    add = ("" if text.endswith("\n") or not text else "\n") + ("" if has_key else "sent:\n") + sent_entry(day, to, mid)
    try:
        after = yaml.safe_load(text + add)
        ok = (
            isinstance(after, dict)
            and isinstance(after.get("sent"), list)
            and len(after["sent"]) == len(inv.sent) + 1
            and after["sent"][-1].get("message_id") == mid
        )
    except yaml.YAMLError:
        ok = False
    if not ok:
        raise CpqError(
            "E-SENT-NOT-LAST",
            f"{rel}: a delivery appended to this file would not read back",
            "make `sent:` the last key, a block list with one `  - {…}` line per delivery",
            src=inv.at.get("sent") or inv.src,
        )
    return add
