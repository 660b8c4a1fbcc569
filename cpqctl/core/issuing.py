"""From a billing draft to the invoice as issued: true dates and the content the law asks for (docs/invoices.md).

:mod:`cpqctl.core.billing` says *what* is due and on which billing date; this module
says what the invoice issued for it holds, on the day the run issues it:

- **Issue date** — the day the run creates the invoice (``--as-of``), never
  earlier: a period that began before the run is invoiced today and names the
  period (art. 106e ust. 1 pkt 1 of the Polish VAT act: the date of issue is the
  day it is issued). A run ahead of time (``--through`` past the as-of day)
  dates an invoice on its billing date: it is issued then, and
  ``invoice send --unsent`` sends it only from that day.
- **Sale date** — for a periodic service the end of each settlement period
  (art. 19a ust. 3; ``[invoice] sale_date = "period_end"``, the default) or its
  first day (``"period_start"``); an invoice issued before the period ends names
  the period it settles (art. 106i ust. 8 lifts the 60-day limit then).
- **Due date** — issue date + payment days (the account's, else cpq.toml's).
- **Lines** — product name, description and unit of measure as the catalog had
  them on the issue day, the unit net price per the price's time unit (``per``)
  and the ``factor`` of those units the line bills (3 for a quarter of a monthly
  price; a prorated stub's fraction, to 6 places), so quantity × unit price ×
  factor gives the net amount (art. 106e ust. 1 pkt 7–11). A block-priced line
  bills 1 ``block`` (``units``) at the block's price; its quantity says how many
  units the block holds.
- **Parties** — seller and buyer as they are on the issue day (name, address,
  tax ID, country; the seller's bank account in the invoice currency): the
  invoice stays what it was when the company or the customer later moves.
- **VAT code** — a rate, or: reverse charge for an EU business customer
  (Directive 2006/112 art. 196, art. 106e ust. 1 pkt 18), ``np`` for a business
  customer outside the EU (art. 28b), or the account's ``tax_code`` (``zw`` with
  its legal basis, ``oo``).
- **Exchange rate** — an invoice in another currency than PLN shows its VAT in
  PLN at the NBP average rate of the last working day before the tax point, or
  before the issue day when issued earlier (art. 31a ust. 1–2, art. 106e
  ust. 11); the rate, its table and date are stored on the invoice.

Pure: no IO, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from cpqctl.core import ledger
from cpqctl.core.countries import buyer_country, is_eu, seller_country
from cpqctl.core.model import Account, Contract, InvoiceFx, InvoiceParty, Repo, Settings, TaxLine
from cpqctl.core.proration import priced_units

FACTOR_PLACES = Decimal("0.000001")
DEFAULT_UNIT = "unit"
BLOCK_UNIT = "block"  # a block-priced line's unit of measure: its unit price is the price of the block
_Day = date  # the type, in records whose field `date` shadows the name


# seller and buyer as on the issue day; the exchange rate into PLN (rate, table, its date)
Party = InvoiceParty
Rate = InvoiceFx


@dataclass(frozen=True, slots=True)
class IssuedLine:
    segment: str
    product: str
    kind: str
    amount: Decimal
    period_start: date | None
    period_end: date | None
    quantity: Decimal | None
    period: int
    name: str = ""
    description: str = ""
    unit: str = DEFAULT_UNIT
    unit_price: Decimal | None = None
    per: str | None = None
    factor: Decimal | None = None
    line: int | None = None  # a correction's line: the corrected invoice's line number
    before: Decimal | None = None
    after: Decimal | None = None
    units: Decimal | None = None  # a block line: 1 block (the unit price is the block's), else None: the quantity


@dataclass(frozen=True, slots=True)
class Issued:
    """An invoice to write: a billing draft with its issue day's dates, parties, line content and VAT in PLN."""

    account: str
    contract: str
    date: date
    billing_date: _Day  # the day the schedule bills it (the period's first day, or the catch-up's)
    currency: str
    lines: tuple[IssuedLine, ...]
    net_total: Decimal
    taxes: tuple[TaxLine, ...]
    gross_total: Decimal
    sale_date: _Day | None
    due: _Day
    period_start: _Day | None
    period_end: _Day | None
    seller: Party
    buyer: Party
    language: str = ""
    reverse_charge: bool = False
    tax_code: str = ""  # np | zw | oo ("" : the rate)
    tax_note: str = ""
    fx: Rate | None = None
    vat_pln: tuple[Decimal, ...] = ()  # per tax line, with fx
    kind: str = "invoice"  # invoice | correction
    corrects: str | None = None
    corrects_date: _Day | None = None
    reason: str = ""

    @property
    def tax_total(self) -> Decimal:
        return sum((t.amount for t in self.taxes), Decimal(0))


def vat_pln(amounts, fx: Rate | None) -> tuple[Decimal, ...]:
    """Each VAT amount in PLN at ``fx`` (art. 106e ust. 11), rounded half-up to grosze; () without a rate."""
    from cpqctl.core.fx import convert

    return tuple(convert(a, fx.rate, 2) for a in amounts) if fx is not None else ()


def vat_code(a: Account | None, s: Settings) -> tuple[bool, str, str]:
    """(reverse_charge, tax_code, tax_note) of invoices to ``a``: the account's code, else reverse charge for an EU
    business customer in another member state, ``np`` outside the EU (art. 28b), else the rate ("")."""
    if a is None:
        return False, "", ""
    if a.tax_code:
        return False, a.tax_code, a.tax_note
    if not a.reverse_charge:
        return False, "", ""
    country = buyer_country(a)
    if country and not is_eu(country) and country != seller_country(s):
        return False, "np", a.tax_note
    return True, "", a.tax_note


def _factor(amount: Decimal, unit_price: Decimal, units: Decimal) -> Decimal | None:
    whole = unit_price * units
    if not whole:
        return None
    f = (amount / whole).quantize(FACTOR_PLACES, ROUND_HALF_UP)
    return f.normalize() if f == f.to_integral_value() else f


def _lines(c: Contract | None, repo: Repo, lines) -> tuple[IssuedLine, ...]:
    segs = ledger.segment_index(c) if c is not None else {}
    out = []
    for ln in lines:
        p = repo.catalog.products.get(ln.product)
        s = segs.get(ln.segment)
        unit_price = s.unit_price if s is not None else None
        per = s.per if s is not None else None
        factor = units = None
        unit = p.unit if p is not None and p.unit else DEFAULT_UNIT
        if s is not None and unit_price is not None:
            priced = priced_units(ln.quantity or s.quantity, s.pricing)
            factor = _factor(ln.amount, unit_price, priced)
            if s.pricing == "block":  # the price is the whole block's: 1 block of `quantity` units
                units, unit = priced, BLOCK_UNIT
        out.append(
            IssuedLine(
                ln.segment,
                ln.product,
                ln.kind,
                ln.amount,
                ln.period_start,
                ln.period_end,
                ln.quantity,
                ln.period,
                name=p.name if p is not None else ln.product,
                description=p.description if p is not None else "",
                unit=unit,
                unit_price=unit_price,
                per=per,
                factor=factor,
                units=units,
            )
        )
    return tuple(out)


def seller(s: Settings, currency: str) -> Party:
    bank = s.company_bank_accounts.get(currency) or (s.company_bank_account if currency == s.currency else "")
    return Party(s.company_name, s.company_address, s.company_tax_id, seller_country(s), bank)


def buyer(a: Account | None, account_id: str) -> Party:
    if a is None:
        return Party(account_id)
    return Party(a.name, a.address, a.tax_id, buyer_country(a))


def language(a: Account | None, s: Settings) -> str:
    """The language of a customer's documents: the account's, else cpq.toml's, else the company locale's
    (``pl_*`` → pl, ``de_*`` → de, anything else → en); docs/languages.md."""
    if a is not None and a.language:
        return a.language
    if s.language:
        return s.language
    lang = s.locale.split("_", 1)[0].lower()
    return lang if lang in ("pl", "de") else "en"


def sale_date(rule: str, lines) -> date | None:
    """The invoice's sale date: the end of the last settlement period it bills (``period_end``), or the first
    day billed (``period_start``); a one-time line counts on its day."""
    if rule == "period_start":
        return min((ln.period_start for ln in lines if ln.period_start), default=None)
    return max((ln.period_end or ln.period_start for ln in lines if ln.period_end or ln.period_start), default=None)


def issue(repo: Repo, draft, today: date, rate_of=None) -> Issued:
    """The invoice ``draft`` becomes when a run on ``today`` issues it (module docstring).

    ``rate_of(currency, day)`` gives the exchange rate into PLN of the last working day before ``day`` (None: no
    rate known); asked only for an invoice in another currency than PLN when the seller accounts VAT in PLN.
    """
    s = repo.settings
    a = repo.accounts.get(draft.account)
    c = repo.contracts.get(draft.contract)
    day = max(draft.date, today)
    lines = _lines(c, repo, draft.lines)
    sold = sale_date(s.invoice_sale_date, lines)
    pdays = a.payment_days if a is not None and a.payment_days is not None else s.payment_days
    reverse, code, note = vat_code(a, s)
    fx = None
    if draft.currency != "PLN" and seller_country(s) == "PL" and rate_of is not None:
        tax_point = min(sold, day) if sold is not None else day
        fx = rate_of(draft.currency, tax_point)
    starts = [ln.period_start for ln in lines if ln.period_start]
    ends = [e for ln in lines if (e := ln.period_end or ln.period_start) is not None]
    return Issued(
        account=draft.account,
        contract=draft.contract,
        date=day,
        billing_date=draft.date,
        currency=draft.currency,
        lines=lines,
        net_total=draft.net_total,
        taxes=draft.taxes,
        gross_total=draft.gross_total,
        sale_date=sold,
        due=day + timedelta(days=pdays),
        period_start=min(starts, default=None),
        period_end=max(ends, default=None),
        seller=seller(s, draft.currency),
        buyer=buyer(a, draft.account),
        language=language(a, s),
        reverse_charge=reverse,
        tax_code=code,
        tax_note=note,
        fx=fx,
        vat_pln=vat_pln((t.amount for t in draft.taxes), fx),
    )


def retotal(repo: Repo, d: Issued, lines) -> Issued:
    """``d`` holding only ``lines``: net, VAT (its rate, rounded as cpq.toml [tax] rounding says) and gross again."""
    from fractions import Fraction

    from cpqctl.core.money import round_money
    from cpqctl.core.terms import contract_terms

    c = repo.contracts.get(d.contract)
    rounding = contract_terms(c, repo.settings).rounding if c is not None else repo.settings.rounding
    rate = d.taxes[0].rate if d.taxes else Decimal(0)
    cur = d.currency
    net = sum((ln.amount for ln in lines), round_money(0, cur, rounding))
    if repo.settings.tax_rounding == "line":
        tax = sum(
            (round_money(Fraction(ln.amount) * Fraction(rate) / 100, cur, rounding) for ln in lines),
            round_money(0, cur, rounding),
        )
    else:
        tax = round_money(Fraction(net) * Fraction(rate) / 100, cur, rounding)
    return replace(
        d,
        lines=tuple(lines),
        net_total=net,
        taxes=(TaxLine(rate, net, tax),),
        gross_total=net + tax,
        sale_date=sale_date(repo.settings.invoice_sale_date, lines),
        vat_pln=vat_pln((tax,), d.fx),
    )


def issue_all(repo: Repo, drafts, today: date, rate_of=None) -> list[Issued]:
    """:func:`issue` for a run's drafts, in number order: by issue date, contract, then billing date."""
    out = [issue(repo, d, today, rate_of) for d in drafts]
    out.sort(key=lambda i: (i.date, i.contract, i.billing_date))
    return out
