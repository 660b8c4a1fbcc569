"""Frozen domain records. Each remembers where it came from (:class:`Source`).

Records are plain data: no IO, no clock. A contract's current state is never
stored; :mod:`cpqctl.core.ledger` derives it from the segments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from types import MappingProxyType

_EMPTY: Mapping = MappingProxyType({})
EMPTY = _EMPTY  # the one empty read-only mapping: the loader gives it for every empty one (one object, not 100,000)
_Day = date  # the type, for the records whose field `date` shadows the name in their later annotations


@dataclass(frozen=True, slots=True)
class Source:
    """A position in the data repository: file relative to the root, 1-based line and column."""

    file: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NOWHERE = Source("<none>")


@dataclass(frozen=True, slots=True)
class Settings:
    company_name: str = ""
    company_address: str = ""
    company_tax_id: str = ""
    company_bank_account: str = ""
    # a bank account per currency ([company.bank_accounts] EUR = "…"): an EUR invoice shows the EUR account
    company_bank_accounts: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    company_country: str = ""  # ISO 3166 alpha-2 of the seller (default: from tax_id's prefix, else the locale)
    language: str = ""  # documents' language when an account names none (default: from the locale): pl | en | de
    locale: str = "en_US"
    currency: str = "USD"
    proration: str = "monthly+daily"
    rounding: str = "half-up"
    quote_valid_days: int = 30
    billing_frequency: str = "annual"
    billing_anchor: str = "start"  # start | calendar | a day of the month "1"–"28" (docs/billing.md)
    payment_days: int = 14
    billing_partial: str = "prorate"  # prorate | full | none: partial billing periods (docs/billing.md)
    renewal_pricing: str = "same"
    renewal_uplift: Decimal = Decimal(0)
    renewal_uplift_index: IndexUplift | None = None  # `uplift = {index = …}`: then renewal_uplift is unused
    renewal_uplift_basis: str = "last"  # last | ramp (docs/renewal-uplift.md)
    notice_days: int = 90
    max_discount: Decimal = Decimal(100)
    tax_rate: Decimal = Decimal(0)
    tax_rounding: str = "invoice"  # invoice | line: where VAT is rounded (docs/billing.md)
    numbering_quote: str = "Q-{year}-{seq:04d}"
    numbering_contract: str = "C-{year}-{seq:04d}"
    numbering_invoice: str = "INV-{year}-{seq:04d}"
    numbering_correction: str = "FK-{year}-{seq:04d}"  # corrective invoices: a series of their own
    numbering_payment: str = "PAY-{year}-{seq:04d}"
    invoice_sale_date: str = "period_end"  # period_start | period_end: the sale date of a periodic service
    git_default_branch: str | None = None  # None: detected (cpqctl.load.git)
    git_invoicing: str = "default-branch"  # default-branch | branch-series (docs/teamwork.md)
    smtp: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    portal: Mapping[str, object] = field(default_factory=lambda: _EMPTY)  # [portal] as read (docs/portal.md)
    hooks: Mapping[str, object] = field(default_factory=lambda: _EMPTY)  # [hooks] as read (docs/portal.md)
    ksef: Mapping[str, object] = field(default_factory=lambda: _EMPTY)  # [ksef] as read (docs/einvoicing.md)
    dunning: Mapping[str, object] = field(default_factory=lambda: _EMPTY)  # [dunning] as read (docs/dunning.md)
    ledger_accounts: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # [accounts]: the journal's names
    fx: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY)
    cac: Decimal | None = None
    gross_margin: Decimal = Decimal(100)
    free_accounts: str = "contraction"  # contraction | churn: an active contract at 0.00 MRR
    indices: Mapping[str, PriceIndex] = field(default_factory=lambda: _EMPTY)  # indices/*.yaml, by ID
    fx_tables: Mapping[str, FxTable] = field(default_factory=lambda: _EMPTY)  # fx/<CUR>.yaml, by currency
    src: Source = NOWHERE


@dataclass(frozen=True, slots=True)
class Tier:
    start: Decimal  # `from`, inclusive
    discount: Decimal  # percent points (0 on an amount-off tier)
    # `amount_off`: per unit, per currency, instead of `discount` (docs/pricing-extras.md); empty: a percent tier
    amount_off: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY)
    src: Source = NOWHERE
    at: Mapping[str, Source] = field(default_factory=lambda: _EMPTY)  # the tier's keys: which ones it gives

    def where(self, key: str) -> Source:
        return self.at.get(key, self.src)


@dataclass(frozen=True, slots=True)
class DiscountSchedule:
    code: str
    type: str  # range | slab
    tiers: tuple[Tier, ...]
    src: Source = NOWHERE


@dataclass(frozen=True, slots=True)
class Block:
    up_to: Decimal
    price: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True)
class BundleOption:
    product: str
    min: Decimal | None = None
    max: Decimal | None = None
    required: bool = False
    included: bool = False
    src: Source = NOWHERE


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name: str
    type: str = "subscription"  # subscription | one-time
    per: str | None = None
    price: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY)
    family: str = ""
    description: str = ""
    pricing: str = "list"  # list | block | percent-of-total
    percent: Decimal | None = None
    of_family: str | None = None
    of_products: tuple[str, ...] = ()
    min_price: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY)
    blocks: tuple[Block, ...] = ()
    # block: the price per unit above the last block's `up_to`, per currency (docs/pricing-extras.md)
    overage: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY)
    discount_schedule: str | None = None
    timing: str = "advance"  # advance | arrears (billing timing of a subscription)
    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    options: tuple[BundleOption, ...] = ()
    evergreen: bool = False
    unit: str = ""  # unit of measure on invoices (default: by `per`/type, docs/invoices.md)
    # revenue recognition (docs/revenue.md): ratable | point-in-time | over-term ("" : by type)
    revenue: str = ""
    ssp: Mapping[str, Decimal] = field(default_factory=lambda: _EMPTY)  # standalone selling price per currency
    src: Source = NOWHERE
    at: Mapping[str, Source] = field(default_factory=lambda: _EMPTY)

    @property
    def recurring(self) -> bool:
        return self.type == "subscription"

    def where(self, key: str) -> Source:
        return self.at.get(key, self.src)


@dataclass(frozen=True, slots=True)
class Catalog:
    products: Mapping[str, Product] = field(default_factory=lambda: _EMPTY)
    schedules: Mapping[str, DiscountSchedule] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    email: str = ""
    role: str = ""


@dataclass(frozen=True, slots=True)
class ContractedPrice:
    product: str | None = None
    family: str | None = None
    price: Decimal | None = None
    discount: Decimal | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    src: Source = NOWHERE

    def valid_on(self, d: date) -> bool:
        return (self.valid_from is None or self.valid_from <= d) and (self.valid_until is None or d <= self.valid_until)


UPLIFT_BASES: tuple[str, ...] = ("last", "ramp")  # what a renewal uplift applies to (docs/renewal-uplift.md)


@dataclass(frozen=True, slots=True)
class IndexUplift:
    """An index-linked renewal uplift (``uplift: {index: cpi-pl, plus: 5%, floor: 8%, cap: 12%}``), percent points:
    the index's value + ``plus``, at least ``floor``, at most ``cap`` (:func:`cpqctl.core.renewal.index_uplift`)."""

    index: str
    plus: Decimal = Decimal(0)
    floor: Decimal | None = None
    cap: Decimal | None = None
    src: Source = NOWHERE  # where the uplift is written


@dataclass(frozen=True, slots=True)
class IndexValue:
    """One published value of a price index: its period (``YYYY-MM`` or ``YYYY``), percent points, and the
    first day it may be used (``published:``, else the day after the period ends)."""

    period: str
    value: Decimal
    published: date
    src: Source = NOWHERE


@dataclass(frozen=True, slots=True)
class PriceIndex:
    """A price index (``indices/<index>.yaml``): its values, oldest period first."""

    index: str
    name: str
    values: tuple[IndexValue, ...]
    src: Source = NOWHERE  # its `values:`


@dataclass(frozen=True, slots=True)
class FxRate:
    """One dated exchange rate of an fx table: 1 unit of the currency in the company currency, and the
    published table it comes from (e.g. ``231/A/NBP/2026``; empty when the file names none)."""

    day: date
    rate: Decimal
    table: str = ""
    src: Source = NOWHERE


@dataclass(frozen=True, slots=True)
class FxTable:
    """The dated exchange rates of one currency (``fx/<CUR>.yaml``), oldest first (docs/fx.md)."""

    currency: str
    source: str
    rates: tuple[FxRate, ...]
    src: Source = NOWHERE  # its `rates:`


@dataclass(frozen=True, slots=True)
class RenewalTerms:
    term: int | None = None
    pricing: str | None = None
    uplift: Decimal | None = None
    uplift_index: IndexUplift | None = None  # `uplift: {index: …}` (then `uplift` is None)
    uplift_basis: str | None = None  # last | ramp


@dataclass(frozen=True, slots=True)
class Account:
    account: str
    name: str
    currency: str
    address: str = ""
    tax_id: str = ""
    tax_rate: Decimal | None = None
    reverse_charge: bool = False
    contacts: tuple[Contact, ...] = ()
    renewal: RenewalTerms = field(default_factory=RenewalTerms)
    billing_anchor: str | None = None  # overrides cpq.toml [billing] anchor for new contracts
    country: str = ""  # ISO 3166 alpha-2 (default: from tax_id's prefix): decides reverse charge vs np.
    language: str = ""  # documents and e-mail: pl | en | de | pl+en … (default: cpq.toml's)
    payment_days: int | None = None  # overrides cpq.toml [billing] payment_days
    tax_code: str = ""  # np | zw | oo: the VAT code printed instead of a rate (docs/invoices.md)
    tax_note: str = ""  # the legal basis printed with it (an exemption's article)
    contracted_prices: tuple[ContractedPrice, ...] = ()
    einvoice: str = ""  # ksef | facturx | ubl | none; "" = the default from the countries (docs/einvoicing.md)
    peppol_id: str = ""  # the Peppol participant ID, scheme:id (e.g. 0208:0123456789)
    src: Source = NOWHERE
    at: Mapping[str, Source] = field(default_factory=lambda: _EMPTY)

    def billing_contact(self) -> Contact | None:
        for c in self.contacts:
            if c.role == "billing" and c.email:
                return c
        return next((c for c in self.contacts if c.email), None)


@dataclass(frozen=True, slots=True)
class Signed:
    by: str
    date: date
    # an electronic signature's record, as documents show it (docs/portal.md): how, when (UTC), on what
    method: str | None = None
    at: str | None = None
    document: str | None = None


@dataclass(frozen=True, slots=True)
class SignatureRecord:
    """A simple electronic signature given in the customer portal (docs/portal.md#what-the-signature-record-proves).

    Written with the signer's name into `signed:` of the accepted quote and of the contract's ledger entry:
    when (``at``, UTC), from where (``ip``, ``user_agent``), the consent the signer ticked, and ``document``,
    the SHA-256 of the quote document they were shown. ``str()`` is the signer's name, what `signed: {by}` holds.
    """

    name: str
    at: str
    ip: str
    user_agent: str
    consent: str
    document: str
    method: str = "portal"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Approval:
    """A manager's approval of a draft: who, when, and the digest of the priced quote they saw.

    ``digest`` None: an approval written before approvals recorded what they
    covered; it is void (see :func:`cpqctl.core.quotes.approval_valid`).
    """

    by: str
    date: _Day
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class PresentedLine:
    product: str
    quantity: Decimal
    unit_price: Decimal | None  # None only in a hand-written entry
    net_total: Decimal | None


@dataclass(frozen=True, slots=True)
class Presented:
    """What a rendered or sent draft showed the customer: its priced lines and totals, and their digest."""

    date: _Day
    format: str
    digest: str
    net_total: Decimal | None
    gross_total: Decimal | None
    lines: tuple[PresentedLine, ...] = ()


@dataclass(frozen=True, slots=True)
class Segment:
    """A quantity of a product at a frozen net price over [start, end] (end None: open)."""

    id: str  # C-2026-0001#1, or C-2026-0001/Q-2026-0007#1 (an amendment's quote; its label without one)
    product: str
    quantity: Decimal
    unit_price: Decimal
    start: date
    end: date | None
    per: str | None = None  # None: one-time
    list_price: Decimal | None = None
    pricing: str = "list"
    bundle: str | None = None
    src: Source = NOWHERE
    at: Mapping[str, Source] = field(default_factory=lambda: _EMPTY)
    timing: str = "advance"  # advance | arrears: invoiced on a billing period's first day, or the day after it ends

    @property
    def one_time(self) -> bool:
        return self.per is None

    def covers(self, d: date) -> bool:
        return self.start <= d and (self.end is None or d <= self.end)

    def where(self, key: str) -> Source:
        return self.at.get(key, self.src)


@dataclass(frozen=True, slots=True)
class Cancellation:
    date: date
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Renumbering:
    """An ID changed by `cpqctl renumber`: the file's own ID (``field`` None) or the contract a quote names."""

    old: str  # `from:`
    new: str  # `to:`
    date: date
    reason: str
    field: str | None = None  # None: the file's own ID; "contract": the quote's `contract:`


@dataclass(frozen=True, slots=True)
class Amendment:
    amendment: str
    effective: date
    lines: tuple[Segment, ...] = ()
    quote: str | None = None
    signed: Signed | None = None
    end: date | None = None
    cancelled: Cancellation | None = None
    quote_digest: str | None = None  # the accepted amendment quote's digest (cpqctl.core.integrity)
    src: Source = NOWHERE
    at: Mapping[str, Source] = field(default_factory=lambda: _EMPTY)
    billing_frequency: str | None = None  # a change of billing frequency from `effective` on (core/regimes.py)
    billing_restart: bool = False  # a new term from `effective`: billing periods count from it (core/regimes.py)


@dataclass(frozen=True, slots=True)
class Contract:
    contract: str
    account: str
    currency: str
    start: date
    end: date | None  # the signed end; see ledger.current_end for amendments
    lines: tuple[Segment, ...]
    amendments: tuple[Amendment, ...] = ()
    evergreen: bool = False
    billing_frequency: str | None = None
    billing_anchor: str | None = None  # None: cpq.toml's [billing] anchor
    billing_partial: str | None = None  # None: cpq.toml's [billing] partial
    proration: str | None = None
    rounding: str | None = None
    renewal: RenewalTerms = field(default_factory=RenewalTerms)
    quote: str | None = None
    signed: Signed | None = None
    renews: str | None = None
    billed_through: date | None = None
    quote_digest: str | None = None  # the accepted quote's digest (cpqctl.core.integrity)
    renumbered: tuple[Renumbering, ...] = ()  # `cpqctl renumber`, oldest first
    src: Source = NOWHERE
    at: Mapping[str, Source] = field(default_factory=lambda: _EMPTY)

    def segments(self) -> tuple[Segment, ...]:
        out = list(self.lines)
        for a in self.amendments:
            out.extend(a.lines)
        return tuple(out)

    def where(self, key: str) -> Source:
        return self.at.get(key, self.src)


@dataclass(frozen=True, slots=True)
class QuoteLine:
    product: str
    quantity: Decimal
    discount: Decimal | None = None
    discount_amount: Decimal | None = None
    list_price: Decimal | None = None
    unit_price: Decimal | None = None
    per: str | None = None
    start: date | None = None
    end: date | None = None
    pricing: str | None = None
    bundle: str | None = None
    net_total: Decimal | None = None
    src: Source = NOWHERE
    at: Mapping[str, Source] = field(default_factory=lambda: _EMPTY)
    timing: str | None = None  # advance | arrears (None: the product's)


@dataclass(frozen=True, slots=True)
class Quote:
    quote: str
    account: str
    date: _Day
    lines: tuple[QuoteLine, ...]
    kind: str = "new"
    status: str = "draft"
    contract: str | None = None
    currency: str | None = None
    start: _Day | None = None
    term: int | None = None
    end: _Day | None = None
    evergreen: bool = False
    billing_frequency: str | None = None
    billing_anchor: str | None = None
    billing_partial: str | None = None
    billing_restart: bool = False  # an amendment quote that starts a new term (`amend --new-term`)
    effective: _Day | None = None
    based_on: int | None = None
    rebases: str | None = None  # amendment: the accepted amendment quote it restores on a merged ledger
    cancelled: Cancellation | None = None
    renewal: RenewalTerms = field(default_factory=RenewalTerms)
    approved: Approval | None = None
    signed: Signed | None = None
    net_total: Decimal | None = None
    tax_total: Decimal | None = None
    gross_total: Decimal | None = None
    digest: str | None = None
    presented: tuple[Presented, ...] = ()  # a draft's presentations to the customer, oldest first
    renumbered: tuple[Renumbering, ...] = ()  # `cpqctl renumber`, oldest first (kept by `quote accept`)
    src: Source = NOWHERE
    at: Mapping[str, Source] = field(default_factory=lambda: _EMPTY)

    def where(self, key: str) -> Source:
        return self.at.get(key, self.src)


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    segment: str
    product: str
    kind: str
    amount: Decimal
    period_start: date | None = None
    period_end: date | None = None
    quantity: Decimal | None = None
    name: str = ""  # the product's name on the issue day
    unit: str = ""  # unit of measure
    unit_price: Decimal | None = None  # net, per `per` (a one-time line: per unit)
    per: str | None = None
    factor: Decimal | None = None  # how many `per` units the line bills (docs/invoices.md)
    description: str = ""  # the product's description on the issue day
    line: int | None = None  # a correction's line: the number (1-based) of the line of the invoice it corrects
    before: Decimal | None = None  # a correction's line: the net amount before and after (amount = after − before)
    after: Decimal | None = None
    # what the unit price multiplies when it is not `quantity`: a block line bills 1 block (of `quantity` units)
    units: Decimal | None = None


@dataclass(frozen=True, slots=True)
class InvoiceParty:
    """Seller or buyer as on the invoice's issue day."""

    name: str
    address: str = ""
    tax_id: str = ""
    country: str = ""
    bank_account: str = ""


@dataclass(frozen=True, slots=True)
class InvoiceFx:
    """The exchange rate into PLN an invoice's VAT was converted at (art. 106e ust. 11)."""

    rate: Decimal
    table: str = ""
    date: _Day | None = None


@dataclass(frozen=True, slots=True)
class TaxLine:
    rate: Decimal
    base: Decimal
    amount: Decimal
    amount_pln: Decimal | None = None  # the VAT in PLN on an invoice in another currency


@dataclass(frozen=True, slots=True)
class Delivery:
    date: date | None
    to: str
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class Reminder:
    """A payment reminder sent for an invoice (`cpqctl dunning run`, docs/dunning.md): its level (1, 2, …), the day,
    the recipients and the message's ID; recorded after the invoice's digest, like a delivery."""

    level: int
    date: _Day | None
    to: str
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class KsefRecord:
    """An invoice accepted by KSeF (`cpqctl invoice submit`, docs/einvoicing.md): recorded after the invoice's digest,
    like a delivery. ``accepted`` is the server's timestamp as it returned it (not our clock); ``sha256`` is the digest
    of the FA(3) file exactly as submitted (kept beside the invoice, ``invoices/<file>.ksef.xml``), which KOD I hashes."""

    number: str
    accepted: str = ""
    reference: str = ""  # the invoice's reference number in its KSeF session (its UPO is fetched by it)
    session: str = ""  # the online session's reference number
    environment: str = ""  # test | demo | prod: where it was submitted (KOD I's host)
    sha256: str = ""  # "sha256:<hex>" of the submitted FA(3) XML


@dataclass(frozen=True, slots=True)
class Invoice:
    invoice: str
    account: str
    contract: str
    date: _Day
    currency: str
    lines: tuple[InvoiceLine, ...]
    net_total: Decimal
    gross_total: Decimal
    taxes: tuple[TaxLine, ...] = ()
    sale_date: _Day | None = None
    due: _Day | None = None
    corrects: str | None = None
    corrects_date: _Day | None = None  # the corrected invoice's issue date (art. 106j ust. 2)
    reason: str = ""
    reverse_charge: bool = False
    kind: str = "invoice"  # invoice | correction
    period_start: _Day | None = None
    period_end: _Day | None = None
    language: str = ""
    tax_code: str = ""
    tax_note: str = ""
    seller: InvoiceParty | None = None  # None: an invoice issued before parties were recorded
    buyer: InvoiceParty | None = None
    fx: InvoiceFx | None = None
    kept: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # md/pdf → sha256 of the document as issued
    sent: tuple[Delivery, ...] = ()
    reminders: tuple[Reminder, ...] = ()  # payment reminders sent (docs/dunning.md), outside the digest like `sent`
    ksef: KsefRecord | None = None  # accepted by KSeF (docs/einvoicing.md), outside the digest like `sent`
    digest: str | None = None  # sha256 of the issued content (cpqctl.formats.digest); None on older invoices
    src: Source = NOWHERE
    at: Mapping[str, Source] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class Allocation:
    """The part of a payment, refund or write-off settled against one invoice (docs/receivables.md)."""

    invoice: str
    amount: Decimal
    src: Source = NOWHERE


@dataclass(frozen=True, slots=True)
class Payment:
    """Money received (``payment``), paid back (``refund``), given up (``write-off``), or a bank line that is not a
    customer's payment (``other``, kept so that an import never brings it back): payments/<YYYY-MM>/<ID>.yaml."""

    payment: str
    date: _Day
    amount: Decimal  # > 0 for every kind: the sum received, refunded or written off
    currency: str
    kind: str = "payment"  # payment | refund | write-off | other
    account: str = ""  # the account that paid; "" while nobody has identified it (a line to review)
    payer: str = ""  # the payer's name as the bank reported it
    payer_iban: str = ""
    reference: str = ""  # the remittance information (transfer title, RF reference)
    bank_ref: str = ""  # the bank's reference of the entry
    imported: str = ""  # "<format> <statement> <entry>": what makes a second import of the same line a no-op
    note: str = ""
    allocations: tuple[Allocation, ...] = ()
    src: Source = NOWHERE
    at: Mapping[str, Source] = field(default_factory=lambda: _EMPTY)

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount for a in self.allocations), Decimal(0))

    @property
    def unallocated(self) -> Decimal:
        """What is left of the amount for no invoice: a payment's over-payment is the customer's credit."""
        return self.amount - self.allocated


@dataclass(frozen=True, slots=True)
class ClosedPeriod:
    """A month whose books are closed (`cpqctl close`, periods/<YYYY-MM>.yaml): the digest of its journal then."""

    period: str  # YYYY-MM
    closed: _Day
    journal: str  # "sha256:<hex>" of the month's transactions
    entries: tuple[str, ...] = ()  # "<short digest> <date> <narration>" of each transaction
    by: str = ""
    src: Source = NOWHERE
    at: Mapping[str, Source] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True)
class Repo:
    """Everything loaded from a data repository (immutable mappings by ID)."""

    settings: Settings
    catalog: Catalog
    accounts: Mapping[str, Account] = field(default_factory=dict)
    contracts: Mapping[str, Contract] = field(default_factory=dict)
    quotes: Mapping[str, Quote] = field(default_factory=dict)
    invoices: Mapping[str, Invoice] = field(default_factory=dict)
    payments: Mapping[str, Payment] = field(default_factory=dict)
    periods: Mapping[str, ClosedPeriod] = field(default_factory=dict)
    # False: the files of one account only (a write about one account, `Workspace.writing_account`): rules over a
    # whole series (the invoice numbers' gaps) cannot be told from it and are not run
    whole: bool = True
    # with ``whole`` False: (kind, ID) → what another account's files hold of it (a contract: its account; an
    # account, quote or invoice: its ID), None when no file defines it; the rules ask it before calling a reference
    # unknown (:func:`cpqctl.load.repo.elsewhere`). None: nothing is elsewhere.
    elsewhere: Callable[[str, str], str | None] | None = field(default=None, compare=False, repr=False)

    # Derived indexes, built once per loaded repository (the records never change).
    @cached_property
    def successors(self) -> Mapping[str, str]:
        """Predecessor contract → the contract that renews it (the reverse of `renews:`)."""
        return MappingProxyType({c.renews: c.contract for c in self.contracts.values() if c.renews})

    @cached_property
    def contracts_by_account(self) -> Mapping[str, tuple[Contract, ...]]:
        """Account → its contracts (their ``account:``), in the repository's order (`account list` asks it for every
        account: a scan of every contract for each was 2.5 billion comparisons at 50,000 accounts)."""
        out: dict[str, list[Contract]] = {}
        for c in self.contracts.values():
            out.setdefault(c.account, []).append(c)
        return MappingProxyType({k: tuple(v) for k, v in out.items()})

    @cached_property
    def quotes_by_contract(self) -> Mapping[str, tuple[Quote, ...]]:
        """Contract → the amendment and renewal quotes naming it, in ID order."""
        out: dict[str, list[Quote]] = {}
        for q in sorted(self.quotes.values(), key=lambda q: q.quote):
            if q.contract:
                out.setdefault(q.contract, []).append(q)
        return MappingProxyType({k: tuple(v) for k, v in out.items()})
