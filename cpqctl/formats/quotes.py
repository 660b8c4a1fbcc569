"""The file texts of the quote workflow: drafts, accepted quotes, contracts, amendments, renewal drafts.

Every text cpqctl writes for a quote and what accepting it creates or changes
(the contract file, the amendment appended to one, the account's contracted
prices), and the two edits it makes in place (a quote's `status:` on approval,
an account's `contracted_prices:` block on ``--lock-prices``). Pure: records
and dates in, text out; the application layer reads and writes the files.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from cpqctl.core.model import Contract, Presented, Quote, QuoteLine, Renumbering, Settings, SignatureRecord
from cpqctl.core.money import MoneyError, fmt_percent, parse_percent
from cpqctl.formats.digest import digest_of, line_of
from cpqctl.formats.yamlout import Pairs, Raw, flow, mapping_lines, pct

if TYPE_CHECKING:
    from cpqctl.core.pricing import PricedLine, PricedQuote
    from cpqctl.core.renewal import RenewalPricing

# --------------------------------------------------------------------------- new business


def draft_text(
    q_id: str,
    account: str,
    day: date,
    start: date,
    term: int | None,
    end: date | None,
    billing: str | None,
    evergreen: bool,
    lines: Sequence[tuple[str, Decimal, Decimal | None, Decimal | None]],
) -> str:
    """A new-business draft: its inputs only (it is re-priced whenever shown)."""
    head = [
        ("quote", q_id),
        ("kind", "new"),
        ("status", "draft"),
        ("account", account),
        ("date", day),
        ("start", start),
        ("term", term),
        ("end", end),
        ("evergreen", True if evergreen else None),
        ("billing", Raw(flow([("frequency", billing)])) if billing else None),
    ]
    out = mapping_lines(head)
    out.append("lines:")
    for code, qty, disc, disc_amount in lines:
        out.append(
            "  - "
            + flow([("product", code), ("quantity", qty), ("discount", pct(disc)), ("discount_amount", disc_amount)])
        )
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- approval


def edit_status(text: str, new_status: str, insert: list[str]) -> str:
    """Set the top-level `status:` and insert lines after it, leaving every other line as it was."""
    lines = text.splitlines(keepends=True)
    for i, ln in enumerate(lines):
        if ln.startswith("status:"):
            lines[i : i + 1] = [f"status: {new_status}\n", *(x + "\n" for x in insert)]
            return "".join(lines)
    j = 0
    for i, ln in enumerate(lines):
        if ln.startswith("kind:") or ln.startswith("quote:"):
            j = i + 1
    lines[j:j] = [f"status: {new_status}\n", *(x + "\n" for x in insert)]
    return "".join(lines)


def drop_key(text: str, key: str) -> str:
    """``text`` without its top-level ``key:`` entry (the key's line and every indented or `-` line under it)."""
    lines = text.splitlines(keepends=True)
    for i, ln in enumerate(lines):
        if ln.startswith(f"{key}:"):
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith((" ", "\t", "-"))):
                j += 1
            while j > i + 1 and not lines[j - 1].strip():
                j -= 1
            del lines[i:j]
            return drop_key("".join(lines), key)
    return text


def _signed(by: str | SignatureRecord, day: date) -> Raw:
    """`signed: {by: …, date: …}` — the signer as accepted quotes, contracts and amendment entries record it; a
    portal signature adds its record (how, when, from where, the consent and the document's digest)."""
    if isinstance(by, SignatureRecord):
        record = [("method", by.method), ("at", by.at), ("ip", by.ip), ("user_agent", by.user_agent)]
        record += [("consent", by.consent), ("document", by.document)]
        return Raw(flow([("by", by.name), ("date", day), *record]))
    return Raw(flow([("by", by), ("date", day)]))


def _cancellation(day: date, reason: str | None) -> Raw:
    """`cancelled: {date: …, reason: …}` of an amendment quote, its accepted file and its ledger entry."""
    return Raw(flow([("date", day), ("reason", reason or None)]))


def approval_flow(by: str, day: date, digest: str | None) -> str:
    return flow([("by", by), ("date", day), ("digest", digest)])


def approved_text(text: str, by: str, day: date, digest: str | None = None) -> str:
    """A draft's file approved: `status: approved` and the approval (replacing a void one), every other line as it was.

    ``digest`` is the digest of the priced quote approved (:func:`cpqctl.core.quotes.priced_digest`).
    """
    return edit_status(drop_key(text, "approved"), "approved", [f"approved: {approval_flow(by, day, digest)}"])


# --------------------------------------------------------------------------- re-dating


def redated_text(text: str, day: date, rel: str = "the file") -> str:
    """A draft's file with its top-level `date:` set to ``day`` (`cpqctl quote redate`), every other byte as it was.

    The value is replaced where the parser finds it (:func:`~cpqctl.formats.yamledit.set_scalars`). A renewal
    draft still cpqctl's own gets its header's hash computed again, so `cpqctl renew` still regenerates it
    without ``--force``; one edited by hand stays so.
    """
    from cpqctl.formats.yamledit import set_scalars

    own = text.startswith(RENEWAL_HEADER) and not edited_by_hand(text)
    new = set_scalars(text, [(("date",), day)], rel)
    return rehashed_renewal(new) if own else new


# --------------------------------------------------------------------------- presentation


def presented_entry(p: Presented) -> list[str]:
    """One `presented:` list item (block style: its lines are a list of flow mappings)."""
    lines = [
        flow(
            [("product", x.product), ("quantity", x.quantity), ("unit_price", x.unit_price), ("net_total", x.net_total)]
        )
        for x in p.lines
    ]
    pairs = [
        ("date", p.date),
        ("format", p.format or None),
        ("digest", p.digest),
        ("net_total", p.net_total),
        ("gross_total", p.gross_total),
        ("lines", lines or None),
    ]
    out = mapping_lines(pairs, indent="    ")
    out[0] = "  - " + out[0][4:]
    return out


def presented_text(text: str, records: Sequence[Presented]) -> str:
    """A draft's file with its `presented:` list set to ``records`` (written at the end; every other line kept)."""
    body = drop_key(text, "presented")
    if body and not body.endswith("\n"):
        body += "\n"
    out = ["presented:"]
    for p in records:
        out.extend(presented_entry(p))
    return body + "\n".join(out) + "\n"


# --------------------------------------------------------------------------- acceptance


def _priced_line_flow(ln: PricedLine, q_line: QuoteLine | None = None) -> str:
    return flow(
        [
            ("product", ln.product),
            ("quantity", ln.quantity),
            ("discount", pct(q_line.discount) if q_line is not None else None),
            ("discount_amount", q_line.discount_amount if q_line is not None else None),
            ("list_price", ln.list_unit_price),
            ("unit_price", ln.net_unit_price),
            ("per", ln.per),
            ("start", ln.start),
            ("end", ln.end),
            ("pricing", ln.pricing if ln.pricing != "list" else None),
            ("bundle", ln.bundle),
            ("net_total", ln.net_total),
            ("timing", "arrears" if ln.timing == "arrears" else None),
        ]
    )


def accepted_text(
    q: Quote, priced: PricedQuote, signed_by: str | SignatureRecord, signed_on: date, contract_id: str | None
) -> str:
    """The accepted quote: priced lines frozen, signer, contract, totals, then its digest as the last line."""
    head = [
        ("quote", q.quote),
        ("kind", q.kind),
        ("status", "accepted"),
        ("account", q.account),
        ("contract", contract_id or q.contract),
        ("currency", priced.currency),
        ("date", q.date),
        ("start", priced.start),
        ("term", q.term),
        ("end", priced.end if not q.evergreen else None),
        ("evergreen", True if q.evergreen else None),
        (
            "billing",
            Raw(flow([("frequency", q.billing_frequency), ("restart", True if q.billing_restart else None)]))
            if q.billing_frequency or q.billing_restart
            else None,
        ),
        ("effective", q.effective),
        ("based_on", q.based_on),
        ("rebases", q.rebases),
        (
            "cancelled",
            _cancellation(q.cancelled.date, q.cancelled.reason) if q.cancelled else None,
        ),
        ("approved", Raw(approval_flow(q.approved.by, q.approved.date, q.approved.digest)) if q.approved else None),
        ("signed", _signed(signed_by, signed_on)),
        ("renumbered", [Raw(renumbered_flow(r)) for r in q.renumbered] or None),  # a draft's, kept
    ]
    out = mapping_lines(head)
    out.append("lines:" if priced.lines else "lines: []")  # a change of billing frequency alone has no lines
    by_product: dict[str, QuoteLine] = {}
    for ql in q.lines:
        by_product.setdefault(ql.product, ql)
    for ln in priced.lines:
        out.append("  - " + _priced_line_flow(ln, by_product.get(ln.product)))
    out.extend(
        mapping_lines(
            [("net_total", priced.net_total), ("tax_total", priced.tax_total), ("gross_total", priced.gross_total)]
        )
    )
    body = "\n".join(out) + "\n"
    return body + line_of(digest_of(body))


def segment_flow(ln: PricedLine) -> str:
    """A priced line as a ledger segment (SPEC §1 contract line)."""
    return flow(
        [
            ("product", ln.product),
            ("bundle", ln.bundle),
            ("quantity", ln.quantity),
            ("list_price", ln.list_unit_price if ln.list_unit_price != ln.net_unit_price else None),
            ("unit_price", ln.net_unit_price),
            ("per", ln.per),
            ("start", ln.start),
            ("end", ln.end),
            ("pricing", ln.pricing if ln.pricing == "block" else None),
            ("timing", "arrears" if ln.timing == "arrears" else None),
        ]
    )


def contract_text(
    contract_id: str,
    q: Quote,
    priced: PricedQuote,
    settings: Settings,
    signed_by: str | SignatureRecord,
    signed_on: date,
    renews: str | None = None,
    quote_digest: str | None = None,
    account_anchor: str | None = None,
) -> str:
    """A new contract from an accepted new-business or renewal quote; proration, rounding and billing anchor frozen.

    The anchor: the quote's, else the account's (``account_anchor``), else cpq.toml's.

    ``quote_digest``: the accepted quote's digest, recorded next to `quote:` so `check` can tell that the
    contract still rests on the very file that was signed (:mod:`cpqctl.core.integrity`).
    """
    term = q.term
    renewal = Raw(flow([("term", term)])) if term else None
    head = [
        ("contract", contract_id),
        ("account", q.account),
        ("currency", priced.currency),
        ("start", priced.start),
        ("end", priced.end if not q.evergreen else None),
        ("evergreen", True if q.evergreen else None),
        (
            "billing",
            Raw(
                flow(
                    [
                        ("frequency", q.billing_frequency or settings.billing_frequency),
                        ("anchor", _anchor(q.billing_anchor or account_anchor or settings.billing_anchor)),
                        ("partial", _partial(q.billing_partial or settings.billing_partial)),
                    ]
                )
            ),
        ),
        ("proration", settings.proration),
        ("rounding", settings.rounding),
        ("renewal", renewal if not q.evergreen else None),
        ("quote", q.quote),
        ("quote_digest", quote_digest),
        ("signed", _signed(signed_by, signed_on)),
        ("renews", renews),
    ]
    out = [contract_comment(contract_id, q.quote)]
    out.extend(mapping_lines(head))
    out.append("lines:")
    out.extend("  - " + segment_flow(ln) for ln in priced.lines)
    return "\n".join(out) + "\n"


def _partial(policy: str) -> str | None:
    """The partial-period policy frozen on a contract (the default, `prorate`, is not written)."""
    return None if policy == "prorate" else policy


def _anchor(anchor: str) -> str | int | None:
    """The billing anchor as a contract records it (frozen at acceptance, like proration): none for `start`."""
    if anchor == "start":
        return None
    return int(anchor) if anchor.isdigit() else anchor


def contract_comment(contract_id: str, quote_id: str) -> str:
    """The first line of a contract file `quote accept` writes (a comment: no reader depends on it)."""
    return f"# {contract_id}: accepted from {quote_id} (written by cpqctl; amendments are appended below)"


def amendment_entry(
    contract: Contract,
    amendment_id: str,
    q: Quote,
    priced: PricedQuote,
    signed_by: str | SignatureRecord,
    signed_on: date,
    quote_digest: str | None = None,
) -> Pairs:
    """The amendment entry of a contract's ledger, as data (its fields in order).

    ``quote_digest``: the accepted amendment quote's digest, next to `quote:` (as in a contract's head).
    """
    return Pairs(
        [
            ("amendment", amendment_id),
            ("quote", q.quote),
            ("quote_digest", quote_digest),
            ("effective", q.effective),
            ("signed", _signed(signed_by, signed_on)),
            ("end", q.end if q.end and q.kind == "amendment" and not q.cancelled else None),
            (
                "cancelled",
                _cancellation(q.cancelled.date, q.cancelled.reason) if q.cancelled else None,
            ),
            ("billing", _frequency_change(contract, q)),
            ("lines", [Raw(segment_flow(ln)) for ln in priced.lines] or None),
        ]
    )


def _frequency_change(contract: Contract, q: Quote) -> Raw | None:
    """An amendment quote's billing frequency, when it changes the contract's, and a new term (core/regimes.py)."""
    if q.kind != "amendment" or not (q.billing_frequency or q.billing_restart):
        return None
    now = next(
        (a.billing_frequency for a in reversed(contract.amendments) if a.billing_frequency),
        contract.billing_frequency,
    )
    frequency = q.billing_frequency if q.billing_frequency != now else None
    if frequency is None and not q.billing_restart:
        return None
    return Raw(flow([("frequency", frequency), ("restart", True if q.billing_restart else None)]))


def add_amendment(
    text: str,
    contract: Contract,
    amendment_id: str,
    q: Quote,
    priced: PricedQuote,
    signed_by: str | SignatureRecord,
    signed_on: date,
    quote_digest: str | None = None,
) -> str:
    """The contract file ``text`` with the amendment entry added to its ledger as data (:mod:`~.yamledit`).

    In cpqctl's own layout the entry is appended and every existing line stays
    byte-identical; any other valid layout (no final newline, a trailing
    comment, ``amendments: []``, another indentation) is edited structurally.
    """
    from cpqctl.formats.yamledit import append_items

    entry = amendment_entry(contract, amendment_id, q, priced, signed_by, signed_on, quote_digest)
    return append_items(text, "amendments", [entry], contract.src.file)


def lock_prices_items(priced: PricedQuote, until: date | None) -> list[Raw]:
    """The `contracted_prices` items ``--lock-prices`` adds: each list-priced line's net price until ``until``."""
    return [
        Raw(flow([("product", ln.product), ("price", ln.net_unit_price), ("from", ln.start), ("until", until)]))
        for ln in priced.lines
        if not ln.bundle and ln.pricing == "list"
    ]


def add_contracted_prices(text: str, items: Sequence[str], rel: str = "account.yaml") -> str:
    """account.yaml's ``text`` with ``items`` added to its top-level `contracted_prices:` list as data.

    The block is found with the parser (the file's own layout kept; the block added when missing), so a
    file without a final newline, with a trailing comment or `contracted_prices: []` stays valid YAML.
    """
    from cpqctl.formats.yamledit import append_items

    return append_items(text, "contracted_prices", [Raw(i) for i in items], rel)


# --------------------------------------------------------------------------- renumbering


def renumbered_flow(r: Renumbering) -> str:
    """One `renumbered:` item: ``{field: contract, from: …, to: …, date: …, reason: …}`` (no field: the own ID)."""
    return flow([("field", r.field), ("from", r.old), ("to", r.new), ("date", r.date), ("reason", r.reason)])


# --------------------------------------------------------------------------- amendment quotes


def amendment_quote_text(
    q_id: str,
    account: str,
    contract: str,
    currency: str,
    day: date,
    effective: date,
    based_on: int,
    lines: Sequence[QuoteLine],
    cancelled: tuple[date, str] | None = None,
    end: date | None = None,
    rebases: str | None = None,
    billing: str | None = None,
    restart: bool = False,
) -> str:
    """An amendment draft: explicit priced delta lines (re-shown as written; never re-priced); ``billing``: a
    change of billing frequency from ``effective`` on; ``restart``: a new term from it."""
    head = [
        ("quote", q_id),
        ("kind", "amendment"),
        ("status", "draft"),
        ("account", account),
        ("contract", contract),
        ("currency", currency),
        ("date", day),
        ("effective", effective),
        ("based_on", based_on),
        ("rebases", rebases),
        ("end", end),
        ("cancelled", _cancellation(cancelled[0], cancelled[1]) if cancelled else None),
        (
            "billing",
            Raw(flow([("frequency", billing), ("restart", True if restart else None)])) if billing or restart else None,
        ),
    ]
    out = mapping_lines(head)
    if not lines:
        out.append("lines: []")
    else:
        out.append("lines:")
        out.extend(
            "  - "
            + flow(
                [
                    ("product", ln.product),
                    ("quantity", ln.quantity),
                    ("list_price", ln.list_price),
                    ("unit_price", ln.unit_price),
                    ("per", ln.per),
                    ("start", ln.start),
                    ("end", ln.end),
                    ("pricing", ln.pricing),
                    ("bundle", ln.bundle),
                    ("timing", ln.timing),
                ]
            )
            for ln in lines
        )
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- renewal quotes
#
# The renewal draft starts with a ``# generated by cpqctl renew; sha256:<hex>``
# line, the SHA-256 of the rest of the file: if the rest no longer matches,
# someone edited the draft by hand and regenerating it needs ``--force``. (A
# comment, so the loader ignores it and the quote schema does not change.)

RENEWAL_HEADER = "# generated by cpqctl renew; sha256:"


def renewal_quote_text(q: Quote, pricing: RenewalPricing) -> str:
    """The renewal draft's file: a header line with the hash of the rest, then the quote (method in a comment)."""
    head = [
        ("quote", q.quote),
        ("kind", "renewal"),
        ("status", "draft"),
        ("account", q.account),
        ("contract", q.contract),
        ("currency", q.currency),
        ("date", q.date),
        ("start", q.start),
        ("term", q.term),
        ("billing", Raw(flow([("frequency", q.billing_frequency)])) if q.billing_frequency else None),
    ]
    body = mapping_lines(head)
    body.append(
        f"# renewal pricing: {pricing.pricing}"
        + (f" {fmt_percent(pricing.uplift)}" if pricing.pricing == "uplift" else "")
    )
    body.append("lines:")
    for ln in q.lines:
        body.append(
            "  - "
            + flow(
                [
                    ("product", ln.product),
                    ("bundle", ln.bundle),
                    ("quantity", ln.quantity),
                    ("list_price", ln.list_price),
                    ("unit_price", ln.unit_price),
                    ("per", ln.per),
                    ("pricing", ln.pricing),
                ]
            )
        )
    rest = "\n".join(body) + "\n"
    return f"{RENEWAL_HEADER}{_sha(rest)}\n{rest}"


_PRICING_LINE = re.compile(r"^# renewal pricing: (same|list|uplift)(?: (\S+%))?[ \t]*$", re.MULTILINE)


def renewal_pricing_of(text: str) -> tuple[str, Decimal] | None:
    """The renewal pricing a renewal draft's comment records (:func:`renewal_quote_text`): (method, uplift in
    percent points, 0 unless uplift), or None when the draft does not say."""
    m = _PRICING_LINE.search(text)
    if m is None:
        return None
    try:
        return m[1], parse_percent(m[2]) if m[2] else Decimal(0)
    except MoneyError:
        return None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rehashed_renewal(text: str) -> str:
    """A renewal draft's text with its header line's hash computed again over the rest (`cpqctl renumber`
    changed an ID in a draft that was still cpqctl's own: it stays regenerable without ``--force``)."""
    _first, _, rest = text.partition("\n")
    return f"{RENEWAL_HEADER}{_sha(rest)}\n{rest}"


def edited_by_hand(text: str) -> bool:
    """True unless the renewal draft still carries cpqctl's header and the rest hashes to it."""
    first, _, rest = text.partition("\n")
    return not (first.startswith(RENEWAL_HEADER) and first[len(RENEWAL_HEADER) :].strip() == _sha(rest))
