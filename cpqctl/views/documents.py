"""Template data for documents: the dicts quote, amendment, renewal, account and invoice templates read.

The data dicts are the interface of the Jinja templates (built-in ones in
``cpqctl/templates/``, overridable per repo in ``templates/``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import Contract, Quote, Repo, Segment, Settings
from cpqctl.core.money import D, fmt_percent, round_money, round_places
from cpqctl.core.terms import contract_terms
from cpqctl.i18n import language_of

# The template each quote kind renders with (`<name>.md.j2` / `<name>.typ.j2`).
QUOTE_TEMPLATES = {"new": "quote", "amendment": "amendment", "renewal": "renewal"}


# What a customer needs to know about a change or a renewal, beyond the general terms.
_KIND_TERMS = {
    "amendment": [
        "Charges and credits are prorated from the effective date and appear on the invoices of the "
        "billing periods they fall in; a credit reduces the amount invoiced."
    ],
    "renewal": [
        "The renewal term starts the day after the current contract ends; until then the current prices apply."
    ],
}


def company(repo: Repo) -> dict:
    s = repo.settings
    return {
        "name": s.company_name,
        "address": s.company_address,
        "tax_id": s.company_tax_id,
        "locale": s.locale,
        "currency": s.currency,
    }


def account_block(repo: Repo, account_id: str) -> dict:
    a = repo.accounts[account_id]
    return {
        "account": a.account,
        "name": a.name,
        "address": a.address or None,
        "tax_id": a.tax_id or None,
        "contacts": [{"name": c.name, "email": c.email, "role": c.role} for c in a.contacts],
    }


def _discount_text(ln) -> str:
    if ln.discount_percent == 0:
        return ""
    return fmt_percent(round_places(ln.discount_percent, 2))


def _signed(s) -> dict | None:
    if s is None:
        return None
    return {"by": s.by, "date": s.date, "method": s.method, "at": s.at, "document": s.document}


def quote_data(repo: Repo, q: Quote, priced, status: str, as_of: date) -> dict:
    from cpqctl.core import quotes

    products = repo.catalog.products
    code = _np(repo, q.account)  # np, zw, oo: no Polish VAT on the quote either
    term_months = q.term
    contract = repo.contracts.get(q.contract) if q.contract else None
    billing = q.billing_frequency or (
        contract_terms(contract, repo.settings).billing_frequency if contract is not None else None
    )
    terms = [
        "Prices are net of VAT.",
        "This quote is valid until the date shown above.",
        "Subscriptions are billed in advance; amendments are co-terminated with the contract.",
    ]
    terms += _KIND_TERMS.get(q.kind, [])
    data: dict[str, Any] = {
        "language": language_of(repo.accounts.get(q.account), repo.settings),  # labels: docs/languages.md
        "company": company(repo),
        "account": account_block(repo, q.account),
        "quote": {
            "id": q.quote,
            "kind": q.kind,
            "status": status,
            "date": q.date,
            "valid_until": quotes.valid_until(q, repo.settings),
            "start": priced.start,
            "end": priced.end,
            "term_months": term_months,
            "evergreen": q.evergreen,
            "billing": billing or repo.settings.billing_frequency,
            "currency": priced.currency,
            "contract": q.contract,
            # who accepted it, shown in the acceptance block; an electronic signature with its record
            "signed": _signed(q.signed) if q.status == "accepted" else None,
        },
        "lines": [
            {
                "product": ln.product,
                "name": products[ln.product].name if ln.product in products else ln.product,
                "description": _description(products, ln.product),
                "quantity": ln.quantity,
                "per": ln.per,
                "start": ln.start,
                "end": ln.end,
                "list_unit_price": ln.list_unit_price,
                "net_unit_price": ln.net_unit_price,
                "discount_text": _discount_text(ln),
                "prorate_multiplier": round_places(ln.prorate_multiplier, 6),
                "net_total": ln.net_total,
                "effect": _effect(ln.net_total),
                "previous_unit_price": None,
                "change_percent": None,
            }
            for ln in priced.lines
        ],
        "totals": {
            "net": priced.net_total,
            "taxes": [{"rate": t.rate, "base": t.base, "amount": t.amount} for t in priced.taxes],
            "tax": priced.tax_total,
            "gross": priced.gross_total,
        },
        # no Polish VAT: reverse charge for an EU business, "np." outside the EU (docs/invoices.md)
        "reverse_charge": priced.reverse_charge and code != "np",
        "tax_code": code or None,
        "terms": terms,
        "as_of": as_of,
        "amendment": None,
        "renewal": None,
    }
    if q.kind == "amendment" and contract is not None:
        data["amendment"] = amendment_block(contract, q, priced, products, repo.settings)
    elif q.kind == "renewal" and contract is not None:
        data["renewal"] = renewal_block(repo, contract, priced, data["lines"])
    return data


def _description(products, code: str) -> str | None:
    """The catalog's description of a product, shown under its name on quotes (None: it has none)."""
    p = products.get(code)
    return (p.description or None) if p is not None else None


def quote_template(q: Quote) -> str:
    """The template name for a quote: amendments and renewals have documents of their own."""
    return QUOTE_TEMPLATES.get(q.kind, "quote")


def _effect(amount: Decimal) -> str:
    """What a line does to the customer's bill: charge | credit | none."""
    return "charge" if amount > 0 else "credit" if amount < 0 else "none"


# --------------------------------------------------------------------------- amendments


def _as_segments(priced) -> list[Segment]:
    """A priced quote's recurring lines as ledger segments, to measure their MRR like the contract's own."""
    return [
        Segment(
            id=f"quote#{i}",
            product=ln.product,
            quantity=ln.quantity,
            unit_price=ln.net_unit_price,
            start=ln.start,
            end=ln.end,
            per=ln.per,
            pricing=ln.pricing,
            bundle=ln.bundle,
        )
        for i, ln in enumerate(priced.lines)
        if ln.per is not None
    ]


def amendment_block(c: Contract, q: Quote, priced, products, settings: Settings) -> dict:
    """What an amendment quote changes, for its document.

    The contract is taken *without* this quote's own amendment (once accepted,
    the ledger already holds it), so "now" is the state before the change and
    "new" the state after it, both on the effective date. ``coterm`` is the day
    every change ends with the contract (None for an evergreen contract).
    """
    from cpqctl.core import ledger

    before = replace(c, amendments=tuple(a for a in c.amendments if a.quote != q.quote))
    effective = q.effective or priced.start
    deltas = _as_segments(priced)
    changes = []
    for code in dict.fromkeys(ln.product for ln in priced.lines):  # in line order, each once
        mine = [ln for ln in priced.lines if ln.product == code]
        name = products[code].name if code in products else code
        if all(ln.per is None for ln in mine):  # a one-time item is bought, not owned: no before/after
            changes.append(
                {
                    "product": code,
                    "name": name,
                    "description": _description(products, code),
                    "before": None,
                    "after": None,
                    "delta": sum((ln.quantity for ln in mine), Decimal(0)),
                    "one_time": True,
                    "per": None,
                    "new_price": None,
                }
            )
            continue
        now = ledger.quantity_on(before, code, effective)
        delta = sum(
            (
                ln.quantity
                for ln in mine
                if ln.per is not None and ln.start <= effective and (ln.end is None or effective <= ln.end)
            ),
            Decimal(0),
        )
        raised = {ln.net_unit_price for ln in mine if ln.per is not None and ln.quantity > 0}
        changes.append(
            {
                "product": code,
                "name": name,
                "description": _description(products, code),
                "before": now,
                "after": now + delta,
                "delta": delta,
                "one_time": False,
                "per": next((ln.per for ln in mine if ln.per), None),
                # a re-price: the quantity stays, the lines added carry the one new price
                "new_price": raised.pop() if delta == 0 and len(raised) == 1 else None,
            }
        )
    rounding = contract_terms(c, settings).rounding
    mrr_before = ledger.mrr(before, effective)
    mrr_after = mrr_before + sum((ledger.segment_mrr(s, effective) for s in deltas), Fraction(0))
    arr_before, arr_after = (round_money(x * 12, c.currency, rounding) for x in (mrr_before, mrr_after))
    amounts = [ln.net_total for ln in priced.lines]
    return {
        "contract": c.contract,
        "contract_start": c.start,
        "contract_end": ledger.current_end(before),
        "effective": effective,
        "coterm": priced.end,
        "evergreen": c.evergreen,
        "new_end": q.end if q.end is not None and q.cancelled is None else None,
        "new_term": q.billing_restart,  # `amend --new-term`: the end moves and the billing periods restart
        "cancelled": {
            "date": q.cancelled.date,
            "last_day": q.cancelled.date - timedelta(days=1),
            "reason": q.cancelled.reason or None,
        }
        if q.cancelled
        else None,
        "changes": changes,
        "arr_before": arr_before,
        "arr_after": arr_after,
        "arr_delta": arr_after - arr_before,
        "charges": sum((a for a in amounts if a > 0), Decimal(0)),
        "credits": sum((a for a in amounts if a < 0), Decimal(0)),
    }


# --------------------------------------------------------------------------- renewals


def renewal_block(repo: Repo, c: Contract, priced, lines: list[dict]) -> dict:
    """Old versus new: the renewed contract's prices on its last day against the renewal quote's.

    Fills ``previous_unit_price`` and ``change_percent`` of each line in
    ``lines`` (in place). A product the contract held at several prices is
    matched to the one the renewal method turns into the line's price; a line
    that matches nothing (a product new in the renewal) keeps None. ``uplift``
    is the resolved uplift when the method is uplift and every line agrees
    with it, else None.
    """
    from cpqctl.core import ledger, renewal

    last = ledger.current_end(c)
    rounding = contract_terms(c, repo.settings).rounding
    old: dict[str, list[Decimal]] = {}
    for s in c.segments():
        if s.one_time or last is None or not s.covers(last):
            continue
        prices = old.setdefault(s.product, [])
        if s.unit_price not in prices:
            prices.append(s.unit_price)
    terms = None
    account = repo.accounts.get(c.account)
    if account is not None:
        try:
            terms = renewal.resolve_terms(c, account, repo.settings)
        except CpqError:  # a contract whose renewal terms cannot be resolved still renders, without them
            terms = None

    def renewed(price: Decimal) -> Decimal:
        if terms is not None and terms.pricing == "uplift":
            return round_money(Fraction(price) * (1 + Fraction(terms.uplift) / 100), c.currency, rounding)
        return price

    all_uplifted = terms is not None and terms.pricing == "uplift" and bool(lines)
    for line in lines:
        candidates = old.get(line["product"], [])
        match = [p for p in candidates if renewed(p) == line["net_unit_price"]]
        previous = match[0] if match else candidates[0] if len(candidates) == 1 else None
        all_uplifted = all_uplifted and bool(match)
        line["previous_unit_price"] = previous
        line["change_percent"] = (
            round_places((Fraction(line["net_unit_price"]) / Fraction(previous) - 1) * 100, 2) if previous else None
        )
    arr_before = round_money(ledger.mrr(c, last) * 12, c.currency, rounding) if last else Decimal(0)
    start = priced.start
    arr_after = round_money(
        sum((ledger.segment_mrr(s, start) for s in _as_segments(priced)), Fraction(0)) * 12, c.currency, rounding
    )
    return {
        "contract": c.contract,
        "contract_start": c.start,
        "contract_end": last,
        "pricing": terms.pricing if terms is not None else None,
        "uplift": terms.uplift if all_uplifted else None,
        "arr_before": arr_before,
        "arr_after": arr_after,
        "arr_delta": arr_after - arr_before,
    }


# --------------------------------------------------------------------------- account statements


def _d(text: str | None) -> Decimal | None:
    return D(text) if text is not None else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def account_invoices(repo: Repo, account_id: str, as_of: date) -> list[dict]:
    """The account's invoices issued on or before ``as_of``, corrective ones included, by date then number.

    ``gross`` is the invoice's gross total (a correction's is the difference it makes, often negative);
    ``sent`` is the first delivery recorded on or before ``as_of`` (None: not sent by then); ``status`` and
    ``outstanding`` what :mod:`cpqctl.core.receivables` makes of the payments by then.
    """
    from cpqctl.core.receivables import ledger

    led = ledger(repo, as_of)
    out = []
    for inv in repo.invoices.values():
        if inv.account != account_id or inv.date > as_of:
            continue
        chain = led.of(inv.invoice)
        delivered = sorted(d.date for d in inv.sent if d.date is not None and d.date <= as_of)
        undated = any(d.date is None for d in inv.sent)
        out.append(
            {
                "number": inv.invoice,
                "date": inv.date,
                "kind": inv.kind,
                "corrects": inv.corrects,
                "contract": inv.contract,
                "due": inv.due,
                "gross": inv.gross_total,
                "currency": inv.currency,
                "sent": bool(delivered) or undated,
                "sent_on": delivered[0] if delivered else None,
                # on the statement's day (docs/receivables.md): a correction shows its invoice's status
                "status": chain.status(as_of) if chain is not None else None,
                "outstanding": chain.open if chain is not None and chain.invoice == inv.invoice else None,
            }
        )
    return sorted(out, key=lambda i: (i["date"], i["number"]))


def account_payments(repo: Repo, account_id: str, as_of: date) -> list[dict]:
    """The account's payments, refunds and write-offs dated on or before ``as_of``, oldest first
    (docs/receivables.md): ``{date, kind, amount, currency, invoice, reference}``, ``amount`` positive for what
    lowers the balance (money received, a write-off), negative for a refund; ``invoice`` the invoices it
    settles, comma-separated (None: all of it the customer's credit)."""
    from cpqctl.core.receivables import payments_of

    return [
        {
            "date": p.date,
            "kind": p.kind,
            "amount": -p.amount if p.kind == "refund" else p.amount,
            "currency": p.currency,
            "invoice": ", ".join(a.invoice for a in p.allocations) or None,
            "reference": p.reference or (p.note or None),
        }
        for p in payments_of(repo, account_id, as_of)
    ]


def account_balance(invoices: list[dict], payments: list[dict]) -> list[dict]:
    """Per currency: Σ gross of the invoices (corrections included) − Σ payments, in currency order."""
    invoiced: dict[str, Decimal] = {}
    paid: dict[str, Decimal] = {}
    for i in invoices:
        invoiced[i["currency"]] = invoiced.get(i["currency"], Decimal(0)) + i["gross"]
    for p in payments:
        paid[p["currency"]] = paid.get(p["currency"], Decimal(0)) + p["amount"]
    return [
        {
            "currency": cur,
            "invoiced": invoiced.get(cur, Decimal(0)),
            "paid": paid.get(cur, Decimal(0)),
            "balance": invoiced.get(cur, Decimal(0)) - paid.get(cur, Decimal(0)),
        }
        for cur in sorted(invoiced.keys() | paid.keys())
    ]


def _renewals(repo: Repo, account_id: str, as_of: date) -> tuple[dict | None, list[dict]]:
    """The next renewal still to decide, and the renewals already accepted, of the account's live contracts.

    A live (active or pending) contract with a fixed end, not cancelled, renews on its end unless another
    contract renews it (``repo.successors``): then its renewal is accepted, and the successor's own end is
    the renewal to come.
    """
    from cpqctl.core import ledger

    upcoming = []
    accepted = []
    for c in sorted(repo.contracts.values(), key=lambda c: (c.start, c.contract)):
        if c.account != account_id or ledger.status(c, as_of) not in ("active", "pending"):
            continue
        end = ledger.current_end(c)
        if c.evergreen or end is None or ledger.cancellation(c) is not None:
            continue
        successor = repo.contracts.get(repo.successors.get(c.contract, ""))
        if successor is not None:
            accepted.append(
                {"contract": c.contract, "end": end, "successor": successor.contract, "start": successor.start}
            )
        else:
            upcoming.append({"contract": c.contract, "date": end})
    upcoming.sort(key=lambda r: (r["date"], r["contract"]))
    return (upcoming[0] if upcoming else None), accepted


def account_data(repo: Repo, account_id: str, as_of: date) -> dict:
    """A customer statement on ``as_of``: their contracts, what they own, bundle options, MRR/ARR, next renewal,
    the invoices issued, payments and the balance (docs/statement.md).

    Built on :func:`cpqctl.views.accounts.account_view` (the same numbers as `account
    show`), with money as Decimal and dates as dates for the templates. The next renewal skips a contract
    whose renewal is accepted (another contract renews it): that one is listed in ``statement.renewed``.
    """
    from cpqctl.core import ledger
    from cpqctl.views import accounts as views

    v = views.account_view(repo, account_id, as_of)
    products = repo.catalog.products
    contracts = []
    for row in v["contracts"]:
        c = repo.contracts[row["contract"]]
        canc = ledger.cancellation(c)
        contracts.append(
            {
                "contract": c.contract,
                "status": row["status"],
                "start": c.start,
                "end": _day(row["end"]),
                "evergreen": c.evergreen,
                "billing": contract_terms(c, repo.settings).billing_frequency,
                "mrr": D(row["mrr"]),
                "arr": D(row["arr"]),
                "renews": row["renews"],
                "renewed_by": row["renewed_by"],
                "cancelled": {"date": canc.date, "reason": canc.reason or None} if canc else None,
            }
        )
    exact = {
        (c.contract, o.product): (o.mrr, contract_terms(c, repo.settings).rounding)
        for c in repo.contracts.values()
        if c.account == account_id
        for o in ledger.owned(c, as_of)
    }
    owned = []
    for o in v["owned"]:
        mrr, rounding = exact[(o["contract"], o["product"])]
        owned.append(
            {
                "product": o["product"],
                "name": o["name"],
                "family": o["family"],
                "quantity": D(o["quantity"]),
                "mrr": D(o["mrr"]),
                "arr": round_money(mrr * 12, v["currency"], rounding),
                "contract": o["contract"],
                "bundle": o["bundle"],
            }
        )
    bundles = [
        {
            "bundle": b["bundle"],
            "name": products[b["bundle"]].name if b["bundle"] in products else b["bundle"],
            "contract": b["contract"],
            "options": [
                {
                    "product": o["product"],
                    "name": products[o["product"]].name if o["product"] in products else o["product"],
                    "on": o["on"],
                    "included": o["included"],
                    "required": o["required"],
                }
                for o in b["options"]
            ],
        }
        for b in v["bundles"]
    ]
    upcoming, renewed = _renewals(repo, account_id, as_of)
    invoices = account_invoices(repo, account_id, as_of)
    payments = account_payments(repo, account_id, as_of)
    return {
        "language": language_of(repo.accounts.get(account_id), repo.settings),  # labels: docs/languages.md
        "company": company(repo),
        "account": account_block(repo, account_id),
        "statement": {
            "as_of": as_of,
            "currency": v["currency"],
            "mrr": D(v["mrr"]),
            "arr": D(v["arr"]),
            "next_renewal": upcoming["date"] if upcoming else None,
            "next_renewal_contract": upcoming["contract"] if upcoming else None,
            "renewed": renewed,
        },
        "contracts": contracts,
        "owned": owned,
        "bundles": bundles,
        "invoices": invoices,
        "payments": payments,
        "balance": account_balance(invoices, payments),
        "as_of": as_of,
    }


# What each invoice line kind says on the document.
_LINE_KINDS = {"recurring": "recurring", "proration": "proration", "credit": "credit", "one-time": "one-time"}

# The legal notes (msgids of cpqctl/i18n: the document shows them in its language).
# Reverse charge: the customer accounts for the VAT (Council Directive 2006/112/EC, art. 196; art. 106e ust. 1
# pkt 18 of the Polish VAT act: "odwrotne obciążenie").
REVERSE_CHARGE_NOTE = "Reverse charge: the buyer accounts for the VAT (Article 196 of Directive 2006/112/EC)."
NP_NOTE = "Not subject to VAT in Poland: place of supply outside Poland (art. 28b of the Polish VAT act)."
CREDIT_NOTE = "The negative total is credited to the customer's account or refunded."
TAX_CODES = {"np": "np.", "zw": "zw.", "oo": "oo"}  # the codes printed instead of a rate


def _np(repo: Repo, account_id: str) -> str:
    """The account's VAT code instead of a rate (np, zw, oo; "" for a rate or reverse charge)."""
    from cpqctl.core.issuing import vat_code

    return vat_code(repo.accounts.get(account_id), repo.settings)[1]


def _party_block(p, account_id: str | None = None) -> dict:
    return {
        "account": account_id,
        "name": p.name,
        "address": p.address or None,
        "tax_id": p.tax_id or None,
        "country": p.country or None,
        "bank_account": p.bank_account or None,
        "contacts": [],
    }


def invoice_data(repo: Repo, inv) -> dict:
    """A VAT invoice's template data, from the invoice file alone (docs/invoices.md).

    Everything art. 106e ust. 1 of the Polish VAT act (and Directive 2006/112 art. 226) asks for: issue and
    sale dates, the number, seller and buyer with their tax IDs as on the issue day, each line with its name,
    unit, quantity, unit net price, net amount and VAT rate or code, net/VAT/gross per rate, the legal notes,
    and on an invoice in another currency the VAT in PLN with the rate used (ust. 11). The document depends on
    the invoice only, not on --as-of. An invoice issued before the file recorded its parties and line names
    takes them from cpq.toml, the account and the catalog.
    """
    products = repo.catalog.products
    s = repo.settings
    a = repo.accounts.get(inv.account)
    if inv.buyer is not None:
        buyer = _party_block(inv.buyer, inv.account)
    elif a is not None:
        buyer = account_block(repo, inv.account)
    else:
        buyer = {"account": inv.account, "name": inv.account, "address": None, "tax_id": None, "contacts": []}
    if inv.seller is not None:
        seller = {**company(repo), **_party_block(inv.seller)}
    else:
        seller = {**company(repo), "bank_account": s.company_bank_account or None}
    rates = {t.rate for t in inv.taxes}
    line_rate = next(iter(rates)) if len(rates) == 1 else None
    code = "reverse charge" if inv.reverse_charge else TAX_CODES.get(inv.tax_code, "")
    lines = []
    for n, ln in enumerate(inv.lines, 1):
        p = products.get(ln.product)
        lines.append(
            {
                "no": n,
                "product": ln.product,
                "name": ln.name or (p.name if p is not None else ln.product),
                "description": ln.description or None,
                "kind": ln.kind,
                "kind_label": _LINE_KINDS.get(ln.kind, ln.kind),
                "segment": ln.segment,
                "period_start": ln.period_start,
                "period_end": ln.period_end,
                # a block line bills 1 block at the block's price; `block_of` says how many units it holds
                "quantity": ln.units if ln.units is not None else ln.quantity,
                "block_of": ln.quantity if ln.units is not None else None,
                "unit": ln.unit or None,
                "unit_price": ln.unit_price,
                "per": ln.per,
                "factor": ln.factor,
                "amount": ln.amount,
                "rate": line_rate,
                "tax_code": code or None,
                "line": ln.line,
                "before": ln.before,
                "after": ln.after,
            }
        )
    starts = [ln.period_start for ln in inv.lines if ln.period_start]
    ends = [ln.period_end or ln.period_start for ln in inv.lines if ln.period_end or ln.period_start]
    tax_total = sum((t.amount for t in inv.taxes), Decimal(0))
    notes = []
    if inv.reverse_charge:
        notes.append(REVERSE_CHARGE_NOTE)
    if inv.tax_code == "np":
        notes.append(NP_NOTE)
    if inv.tax_note:
        notes.append(inv.tax_note)
    if inv.gross_total < 0:
        notes.append(CREDIT_NOTE)
    pln = [t.amount_pln for t in inv.taxes]
    fx = None
    if inv.fx is not None:
        fx = {
            "rate": inv.fx.rate,
            "table": inv.fx.table or None,
            "nbp": "/NBP/" in inv.fx.table,  # else a fixed rate (cpq.toml [fx]), named so
            "date": inv.fx.date,
            "vat_pln": sum((v for v in pln if v is not None), Decimal(0)),
        }
    return {
        "language": inv.language or _language(a, s),
        "company": seller,
        "account": buyer,
        "invoice": {
            "number": inv.invoice,
            "date": inv.date,
            "sale_date": inv.sale_date or inv.date,
            "due": inv.due,
            "currency": inv.currency,
            "contract": inv.contract,
            "corrects": inv.corrects,
            "corrects_date": inv.corrects_date,
            "reason": inv.reason or None,
            "reverse_charge": inv.reverse_charge,
            "tax_code": code or None,
            "period_start": inv.period_start or min(starts, default=None),
            "period_end": inv.period_end or max(ends, default=None),
        },
        "lines": lines,
        "taxes": [
            {"rate": t.rate, "base": t.base, "amount": t.amount, "gross": t.base + t.amount, "amount_pln": t.amount_pln}
            for t in inv.taxes
        ],
        "fx": fx,
        "net_total": inv.net_total,
        "tax_total": tax_total,
        "gross_total": inv.gross_total,
        "notes": notes,
        "payment": _payment_block(inv, seller),
        "ksef": _ksef_block(inv, seller),
    }


def _payment_block(inv, seller: dict) -> dict | None:
    """How to pay (docs/receivables.md): the seller's account, the ISO 11649 RF reference of the invoice's number
    (the transfer title `payment import` matches first) and, on an invoice in EUR to an IBAN, the EPC QR code a
    banking app scans (SVG). None on an invoice that asks for nothing or without a bank account."""
    from cpqctl.core.receivables import epc_payload, rf_grouped, rf_reference

    account = seller.get("bank_account")
    if inv.gross_total <= 0 or not account:
        return None
    rf = rf_reference(inv.invoice)
    qr = None
    if inv.currency == "EUR":
        payload = epc_payload(seller.get("name") or "", account, inv.gross_total, rf, inv.invoice)
        if payload is not None:
            qr = _qr_svg(payload)
    return {"bank_account": account, "reference": rf_grouped(rf) if rf else inv.invoice, "epc_qr": qr}


def _ksef_block(inv, seller: dict) -> dict | None:
    """An invoice sent to KSeF (docs/einvoicing.md): its KSeF number and KOD I, the verification link of the
    Ministry of Finance's "Kody weryfikujące QR" over the FA(3) file exactly as submitted (its sha256 recorded with
    the number), as a QR code (SVG) with the number to print under it. None before the invoice has a KSeF number:
    the documents kept at issue never show one."""
    rec = getattr(inv, "ksef", None)
    if rec is None:
        return None
    url = ksef_verification_url(rec.environment or "prod", seller.get("tax_id") or "", inv.date, rec.sha256)
    return {
        "number": rec.number,
        "accepted": rec.accepted or None,
        "environment": rec.environment or None,
        "url": url,
        "qr": _qr_svg(url) if url else None,
    }


def ksef_verification_url(environment: str, seller_nip: str, issue_date: date, sha256: str) -> str | None:
    """KOD I from the recorded ``sha256:<hex>`` of the submitted file: the link of
    :func:`cpqctl.formats.ksef.ksef_qr_url`, which hashes the file itself (the same host, path and Base64URL digest;
    tests/test_einvoice_submit.py compares them). None when the seller's NIP or the digest is not usable."""
    from cpqctl.formats.ksef import ksef_qr_url_of

    try:
        return ksef_qr_url_of(environment, seller_nip, issue_date, bytes.fromhex(sha256.removeprefix("sha256:")))
    except ValueError:
        return None


def _qr_svg(payload: str) -> str:
    """A QR code as SVG text (segno, error correction M as EPC069-12 asks), the same bytes for the same payload."""
    import io

    import segno

    out = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(out, kind="svg", xmldecl=False, svgns=True, border=0)
    return out.getvalue().decode("ascii")


def _language(a, s) -> str:
    from cpqctl.core.issuing import language

    return language(a, s)
