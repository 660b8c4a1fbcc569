"""The invoice file's text (SPEC §1, ``invoices/<id>.yaml``) and the one change cpqctl ever makes to it.

An issued invoice is never rewritten (a correction is a new invoice): its file
is written once by :func:`invoice_text`, and afterwards only a delivery record
is appended to its ``sent:`` list (:func:`sent_append_text`), a payment
reminder added to its ``reminders:`` list (:func:`reminder_added_text`) and its
KSeF number recorded once (:func:`ksef_added_text`), all outside the invoice's
content (after its digest line). Pure text, no IO.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from cpqctl.core.diagnostics import CpqError
from cpqctl.core.money import fmt_decimal, fmt_percent, money_str
from cpqctl.formats.digest import digest_of, line_of
from cpqctl.formats.yamlout import Raw, flow, mapping_lines


def _price(v, cur: str) -> Raw | None:
    """A unit price: with the currency's places, or every place it has when it has more (it is exact)."""
    if v is None:
        return None
    shown = money_str(v, cur)
    return Raw(shown if Decimal(shown) == v else fmt_decimal(v))


def _party(p) -> Raw | None:
    if p is None or not p.name:
        return None
    return Raw(
        flow(
            [
                ("name", p.name),
                ("address", p.address or None),
                ("tax_id", p.tax_id or None),
                ("country", p.country or None),
                ("bank_account", getattr(p, "bank_account", "") or None),
            ]
        )
    )


def invoice_text(number: str, d, kept: dict[str, str] | None = None) -> str:
    """The invoice file (SPEC §1, docs/invoices.md): flow-style lines, money with the currency's places, the
    parties and exchange rate as on the issue day, then its digest line.

    ``d`` is an :class:`cpqctl.core.issuing.Issued` (or a bare billing draft: the fields it lacks are left out).
    """
    cur = d.currency
    m = lambda v: Raw(money_str(v, cur))  # noqa: E731
    num = lambda v: None if v is None else Raw(fmt_decimal(v))  # noqa: E731
    fx = getattr(d, "fx", None)
    head = [
        ("invoice", number),
        ("kind", "correction" if getattr(d, "kind", "invoice") == "correction" else None),
        ("account", d.account),
        ("contract", d.contract),
        ("date", d.date),
        ("sale_date", d.sale_date),
        ("due", d.due),
        ("currency", cur),
        ("period_start", getattr(d, "period_start", None)),
        ("period_end", getattr(d, "period_end", None)),
        ("language", getattr(d, "language", None) or None),
        ("corrects", getattr(d, "corrects", None)),
        ("corrects_date", getattr(d, "corrects_date", None)),
        ("reason", getattr(d, "reason", None) or None),
        ("reverse_charge", True if d.reverse_charge else None),
        ("tax_code", getattr(d, "tax_code", None) or None),
        ("tax_note", getattr(d, "tax_note", None) or None),
        ("seller", _party(getattr(d, "seller", None))),
        ("buyer", _party(getattr(d, "buyer", None))),
        (
            "fx",
            Raw(flow([("rate", Raw(fmt_decimal(fx.rate))), ("table", fx.table), ("date", fx.date)]))
            if fx is not None
            else None,
        ),
    ]
    if kept:
        head.append(("document", Raw(flow([(k, v) for k, v in sorted(kept.items())]))))
    out = mapping_lines(head)
    out.append("lines:")
    for ln in d.lines:
        out.append(
            "  - "
            + flow(
                [
                    ("segment", ln.segment),
                    ("product", ln.product),
                    ("name", getattr(ln, "name", None) or None),
                    ("description", getattr(ln, "description", None) or None),
                    ("kind", ln.kind),
                    ("period_start", ln.period_start),
                    ("period_end", ln.period_end),
                    ("quantity", num(ln.quantity)),
                    ("units", num(getattr(ln, "units", None))),
                    ("unit", getattr(ln, "unit", None) or None),
                    ("unit_price", _price(getattr(ln, "unit_price", None), cur)),
                    ("per", getattr(ln, "per", None)),
                    ("factor", num(getattr(ln, "factor", None))),
                    ("line", getattr(ln, "line", None)),
                    ("before", m(ln.before) if getattr(ln, "before", None) is not None else None),
                    ("after", m(ln.after) if getattr(ln, "after", None) is not None else None),
                    ("amount", m(ln.amount)),
                ]
            )
        )
    pln = list(getattr(d, "vat_pln", ()) or ())
    taxes = ", ".join(
        flow(
            [
                ("rate", Raw(fmt_percent(t.rate))),
                ("base", m(t.base)),
                ("amount", m(t.amount)),
                ("amount_pln", Raw(money_str(pln[i], "PLN")) if i < len(pln) else None),
            ]
        )
        for i, t in enumerate(d.taxes)
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


def reminder_entry(level: int, day: date, to: Sequence[str], mid: str) -> str:
    """One item of the invoice file's ``reminders:`` list (flow style, like ``sent:``)."""
    return "  - " + flow([("level", level), ("date", day), ("to", ", ".join(to)), ("message_id", mid)]) + "\n"


def reminder_added_text(text: str, inv, level: int, day: date, to: Sequence[str], mid: str) -> str:
    """The invoice file ``text`` (of ``inv``) with one payment reminder recorded: the whole new text.

    The record goes in the block list ``reminders:`` after the digest line, outside the invoice's content (the
    digest still holds): a new item after the list's last one, or, without the list, ``reminders:`` and the item
    just before ``sent:`` (which stays the file's last key, so `invoice send` keeps appending to it) or at the end.
    Lines are only inserted, never changed. A list in another shape (``reminders: []``, a key inside it) is refused
    rather than rewritten, and the new text is parsed back first: a reminder never leaves a file that does not
    load or whose digest breaks.
    """
    import yaml

    from cpqctl.formats.digest import verify

    rel = inv.src.file
    where = inv.at.get("reminders") or inv.src
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    top = [i for i, ln in enumerate(lines) if ln[:1].isalpha()]
    keys = {lines[i].split(":", 1)[0]: i for i in reversed(top)}  # a key's first line
    entry = reminder_entry(level, day, to, mid)
    refusal = CpqError(
        "E-REMINDERS-NOT-LIST",
        f"{rel}: `reminders:` is not a block list with one `  - {{…}}` line per reminder, so a reminder cannot be "
        "added without rewriting it",
        "write `reminders:` alone on its line after the digest line, each reminder on a `  - {…}` line below it "
        "(the invoice's content does not change)",
        src=where,
    )
    if "reminders" in keys:
        start = keys["reminders"]
        if lines[start].split("#", 1)[0].rstrip() != "reminders:":
            raise refusal
        end = next((i for i in top if i > start), len(lines))
        block = lines[start + 1 : end]
        if any(not (ln.startswith("  - ") or not ln.strip() or ln.lstrip().startswith("#")) for ln in block):
            raise refusal
        last = max((start + 1 + j for j, ln in enumerate(block) if ln.startswith("  - ")), default=start)
        new = [*lines[: last + 1], entry, *lines[last + 1 :]]
    else:
        at = keys.get("sent", len(lines))
        new = [*lines[:at], "reminders:\n", entry, *lines[at:]]
    out = "".join(new)
    try:
        after = yaml.safe_load(out)
        ok = (
            isinstance(after, dict)
            and isinstance(after.get("reminders"), list)
            and len(after["reminders"]) == len(inv.reminders) + 1
            and isinstance(after["reminders"][-1], dict)
            and after["reminders"][-1].get("message_id") == mid
            and len(after.get("sent") or []) == len(inv.sent)
        )
    except yaml.YAMLError:
        ok = False
    if ok and inv.digest is not None and verify(text, inv.digest, after="sent") is None:
        ok = verify(out, inv.digest, after="sent") is None
    if not ok:
        raise refusal
    return out


def ksef_entry(record) -> str:
    """The invoice file's ``ksef:`` line (a flow mapping on one line, after the digest line): what KSeF returned."""
    return (
        "ksef: "
        + flow(
            [
                ("number", record.number),
                ("accepted", record.accepted or None),
                ("reference", record.reference or None),
                ("session", record.session or None),
                ("environment", record.environment or None),
                ("sha256", record.sha256 or None),
            ]
        )
        + "\n"
    )


def ksef_added_text(text: str, inv, record) -> str:
    """The invoice file ``text`` (of ``inv``) with its KSeF record: the whole new text (docs/einvoicing.md).

    The line goes right after the digest line, outside the invoice's content (the digest still holds), before
    ``reminders:`` and ``sent:`` (so ``sent:`` stays the last key `invoice send` appends to). Lines are only inserted,
    never changed. An invoice that has a record already, or no digest line to put it after, is refused; the new text
    is parsed back first: the record never leaves a file that does not load or whose digest breaks.
    """
    import yaml

    from cpqctl.formats.digest import _find, verify

    rel = inv.src.file
    where = inv.at.get("ksef") or inv.src
    if inv.ksef is not None:
        raise CpqError(
            "E-KSEF-RECORDED",
            f"{rel} already records its KSeF number {inv.ksef.number}",
            "an invoice goes to KSeF once; correct it with a corrective invoice (`cpqctl invoice correct`)",
            src=where,
        )
    refusal = CpqError(
        "E-KSEF-NOT-RECORDABLE",
        f"{rel}: the KSeF number cannot be recorded in this file without rewriting it",
        "the file must end with its digest line, then only `reminders:` and `sent:` lists (restore it from git)",
        src=where,
    )
    found = _find(text)
    if found is None or inv.digest is None:
        raise refusal
    end = found[1]
    out = text[:end] + ksef_entry(record) + text[end:]
    try:
        after = yaml.safe_load(out)
        ok = (
            isinstance(after, dict)
            and isinstance(after.get("ksef"), dict)
            and after["ksef"].get("number") == record.number
            and len(after.get("sent") or []) == len(inv.sent)
            and len(after.get("reminders") or []) == len(inv.reminders)
        )
    except yaml.YAMLError:
        ok = False
    if ok:
        ok = verify(text, inv.digest, after="sent") is None and verify(out, inv.digest, after="sent") is None
    if not ok:
        raise refusal
    return out
