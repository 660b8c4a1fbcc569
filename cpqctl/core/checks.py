"""Cross-file validation: plain functions from a loaded Repo to Diagnostics.

File-local problems (syntax, schema, IDs vs file names, digests) are found by
the loader; these checks need several files at once: references, currencies,
dates against contract terms, catalog consistency.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import PurePosixPath

from cpqctl.core import countries, integrity, ledger, merges
from cpqctl.core.diagnostics import CpqError, Diagnostic
from cpqctl.core.integrity import InvoiceFacts
from cpqctl.core.model import (
    Account,
    Contract,
    DiscountSchedule,
    Invoice,
    Payment,
    Product,
    Quote,
    Repo,
    Segment,
    Source,
)
from cpqctl.core.money import fmt_decimal
from cpqctl.core.numbering import parse_series

INVOICE_ORDER, INVOICE_ORDER_SEVERITY = "W-INVOICE-ORDER", "warning"


def _err(src: Source, code: str, msg: str, hint: str = "") -> Diagnostic:
    return Diagnostic.at(src, code, msg, hint)


@dataclass(frozen=True)
class Unloaded:
    """What files with errors would have defined but did not: references to it are not reported again.

    A reference to an account whose account.yaml does not parse is a consequence
    of that file's error, not a finding of its own; a reference to an ID that no
    file defines still is.
    """

    ids: frozenset[tuple[str, str]] = frozenset()  # (kind, ID) named by a file that yielded no record
    catalog: bool = False  # a catalog file with errors yielded no product: any product or schedule may be lost
    # (file, line, column) of every loader error: a value refused there is missing from the record it was in
    refused: frozenset[tuple[str, int, int]] = frozenset()


NOTHING_LOST = Unloaded()


def unloaded(repo: Repo, diags: Iterable[Diagnostic]) -> Unloaded:
    """The IDs that the files with errors in ``diags`` would have defined but the loaded ``repo`` lacks."""
    have = {"account": repo.accounts, "contract": repo.contracts, "quote": repo.quotes, "invoice": repo.invoices}
    ids: set[tuple[str, str]] = set()
    catalog = False
    product_files = {p.src.file for p in repo.catalog.products.values()}
    for file in {d.file for d in diags if d.severity == "error"}:
        parts = PurePosixPath(file).parts
        if parts[0] == "catalog":
            catalog = catalog or file not in product_files
            continue
        if parts[0] == "contracts" and len(parts) == 3:
            is_account = parts[2] == "account.yaml"
            kind, ident = ("account", parts[1]) if is_account else ("contract", PurePosixPath(file).stem)
        elif parts[0] in ("quotes", "invoices") and len(parts) == 2:
            kind, ident = parts[0][:-1], PurePosixPath(file).stem
        else:
            continue
        if ident not in have[kind]:
            ids.add((kind, ident))
    refused = frozenset((d.file, d.line, d.column) for d in diags if d.severity == "error")
    return Unloaded(frozenset(ids), catalog, refused)


def _unknown(repo: Repo, lost: Unloaded, kind: str, ident: str) -> bool:
    """No file defines ``ident``, and no file that failed to load might have."""
    if kind in ("product", "schedule"):
        known = repo.catalog.products if kind == "product" else repo.catalog.schedules
        return ident not in known and not lost.catalog
    have = {
        "account": repo.accounts,
        "contract": repo.contracts,
        "quote": repo.quotes,
        "invoice": repo.invoices,
        "payment": repo.payments,
    }
    if ident in have[kind] or (kind, ident) in lost.ids:
        return False
    return repo.elsewhere is None or repo.elsewhere(kind, ident) is None  # one account's files: another's holds it?


def _contract_account(repo: Repo, contract: str) -> str | None:
    """The account of ``contract``: its record's, else (one account's files loaded) the folder of another account
    that holds it; None when unknown."""
    c = repo.contracts.get(contract)
    if c is not None:
        return c.account
    return repo.elsewhere("contract", contract) if repo.elsewhere is not None else None


def _refused_in(lost: Unloaded, src: Source, end: Source | None) -> bool:
    """The loader refused a value from ``src`` up to ``end`` (None: the end of the file) of ``src``'s file."""
    lo, hi = (src.line, src.column), None if end is None else (end.line, end.column)
    return any(f == src.file and lo <= (ln, col) and (hi is None or (ln, col) < hi) for f, ln, col in lost.refused)


def _ends(srcs: Iterable[Source]) -> dict[Source, Source | None]:
    """Each record's end: where the next record of its file starts (None: the last one of its file)."""
    order = sorted(srcs, key=lambda x: (x.file, x.line, x.column))
    return {a: b if b is not None and b.file == a.file else None for a, b in zip(order, [*order[1:], None])}


def _product_hint(repo: Repo, code: str) -> str:
    import difflib

    close = difflib.get_close_matches(code, list(repo.catalog.products), n=1, cutoff=0.6)
    return (
        f"did you mean `{close[0]}`? (`cpqctl catalog list` shows every product)"
        if close
        else "`cpqctl catalog list` shows every product"
    )


def check_catalog(repo: Repo, lost: Unloaded = NOTHING_LOST) -> Iterator[Diagnostic]:
    prods = repo.catalog.products
    product_ends = _ends(p.src for p in prods.values())
    for p in prods.values():
        if p.recurring and p.per is None:
            yield _err(
                p.src,
                "E-PRODUCT-PER",
                f"subscription product `{p.code}` has no `per`",
                "add per: month, quarter or year",
            )
        if not p.recurring and p.per is not None:
            yield _err(
                p.where("per"),
                "E-PRODUCT-PER",
                f"one-time product `{p.code}` must not have `per`",
                "remove `per`, or make it type: subscription",
            )
        if p.pricing == "list" and not p.price:
            yield _err(p.src, "E-PRODUCT-PRICE", f"product `{p.code}` has no price", "add price: {PLN: 100.00}")
        if p.pricing == "block" and not p.blocks:
            yield _err(
                p.src,
                "E-PRODUCT-BLOCKS",
                f"block-priced product `{p.code}` has no `blocks`",
                "add blocks: [{up_to: 10, price: {PLN: 100.00}}, …]",
            )
        if p.pricing == "block":
            ups = [b.up_to for b in p.blocks]
            if ups != sorted(ups) or len(set(ups)) != len(ups):
                yield _err(
                    p.where("blocks"),
                    "E-PRODUCT-BLOCKS",
                    f"blocks of `{p.code}` must grow in `up_to`",
                    "list blocks from the smallest to the largest",
                )
        if p.pricing == "percent-of-total":
            if p.percent is None:
                yield _err(
                    p.src,
                    "E-PRODUCT-PERCENT",
                    f"percent-of-total product `{p.code}` has no `percent`",
                    "add percent: 20%",
                )
            if not p.of_family and not p.of_products:
                yield _err(
                    p.src,
                    "E-PRODUCT-OF",
                    f"percent-of-total product `{p.code}` does not say which lines it covers",
                    "add of: {family: License} or of: {products: [PRO-SEAT]}",
                )
        if p.discount_schedule and _unknown(repo, lost, "schedule", p.discount_schedule):
            yield _err(
                p.where("discount_schedule"),
                "E-UNKNOWN-SCHEDULE",
                f"unknown discount schedule `{p.discount_schedule}`",
                "define it under discount_schedules: in a catalog file",
            )
        for key, codes in (("requires", p.requires), ("excludes", p.excludes), ("of", p.of_products)):
            for code in codes:
                if _unknown(repo, lost, "product", code):
                    yield _err(
                        p.where(key),
                        "E-UNKNOWN-PRODUCT",
                        f"`{p.code}` {key} unknown product `{code}`",
                        _product_hint(repo, code),
                    )
        for o in p.options:
            if _unknown(repo, lost, "product", o.product):
                yield _err(
                    o.src,
                    "E-UNKNOWN-PRODUCT",
                    f"bundle `{p.code}` has an unknown option `{o.product}`",
                    _product_hint(repo, o.product),
                )
            if o.min is not None and o.max is not None and o.min > o.max:
                yield _err(o.src, "E-OPTION-RANGE", f"option `{o.product}` of `{p.code}` has min > max", "")
        # a refused `pricing:` value leaves the default (list): the overage is then not a finding of its own
        if (
            p.overage
            and p.pricing != "block"
            and not ("pricing" not in p.at and _refused_in(lost, p.src, product_ends[p.src]))
        ):
            yield _err(
                p.where("overage"),
                "E-PRODUCT-OVERAGE",
                f"`{p.code}` has an overage price but is not block-priced (pricing: {p.pricing})",
                "overage is the per-unit price above the last block of a `pricing: block` product: remove it, "
                "or make the product block-priced",
            )
    schedule_ends = _ends(s.src for s in repo.catalog.schedules.values())
    for s in repo.catalog.schedules.values():
        if not s.tiers:
            yield _err(s.src, "E-SCHEDULE", f"discount schedule `{s.code}` has no tiers", "add tiers")
        elif len({t.start for t in s.tiers}) != len(s.tiers):
            yield _err(
                s.src,
                "E-SCHEDULE",
                f"discount schedule `{s.code}` has two tiers starting at the same quantity",
                "each tier starts where the previous one ends",
            )
        yield from _check_tiers(repo, s, lost, schedule_ends[s.src])


def _check_tiers(repo: Repo, s: DiscountSchedule, lost: Unloaded, end: Source | None) -> Iterator[Diagnostic]:
    """What pricing refuses of a schedule's tiers, found before a quote reaches them (docs/pricing-extras.md).

    Each tier gives exactly one of `discount` and `amount_off` (E-SCHEDULE, by
    pricing's own rule), and an `amount_off` takes at most the list unit price
    off each list-priced product on the schedule, currency by currency
    (E-TIER-AMOUNT). A block or percent-of-total product's unit price depends
    on the quantity or the quote, so only pricing can tell.
    """
    from cpqctl.core import pricing  # the pricing engine loads when needed, as in core/quotes.py

    users = [p for p in repo.catalog.products.values() if p.discount_schedule == s.code and p.pricing == "list"]
    ends = _ends(t.src for t in s.tiers)
    for t in s.tiers:
        # a tier whose `discount` the loader refused (`discount: 10`) is not also a tier giving neither
        refused = not {"discount", "amount_off"} & t.at.keys() and _refused_in(lost, t.src, ends[t.src] or end)
        if not refused:
            try:
                pricing._tier_shape(replace(s, tiers=(t,)))  # one tier at a time: every bad tier is a finding
            except CpqError as e:
                yield _err(e.src or t.src, e.code, e.message, e.hint)
        for p in users:
            for cur, amount in t.amount_off.items():
                price = p.price.get(cur)
                if price is not None and amount > price:
                    yield _err(
                        t.where("amount_off"),
                        "E-TIER-AMOUNT",
                        f"discount schedule `{s.code}`: the tier from {fmt_decimal(t.start)} takes {amount} {cur} "
                        f"off `{p.code}`, whose list unit price is {price}: the price would be below zero",
                        f"an amount off is at most the list unit price of every product on the schedule "
                        f"(here {price} {cur}); lower it, or use a percent discount",
                    )


def _check_segment(
    repo: Repo, c: Contract, s: Segment, lo: date, hi: date | None, acct_cur: str, lost: Unloaded = NOTHING_LOST
) -> Iterator[Diagnostic]:
    p: Product | None = repo.catalog.products.get(s.product)
    if p is None:
        if _unknown(repo, lost, "product", s.product):
            yield _err(
                s.where("product"),
                "E-UNKNOWN-PRODUCT",
                f"unknown product `{s.product}`",
                _product_hint(repo, s.product),
            )
    else:
        if p.recurring and s.per is None:
            yield _err(
                s.src,
                "E-SEGMENT-PER",
                f"`{s.product}` is a subscription: the line needs `per`",
                f"add per: {p.per or 'year'}",
            )
        if not p.recurring and s.per is not None:
            yield _err(
                s.where("per"),
                "E-SEGMENT-PER",
                f"`{s.product}` is one-time: the line must not have `per`",
                "remove per and end",
            )
        if p.evergreen and not c.evergreen:
            yield _err(
                s.where("product"),
                "E-EVERGREEN-ONLY",
                f"`{s.product}` is sold only on evergreen contracts",
                "use an evergreen contract",
            )
    if s.end is not None and s.end < s.start:
        yield _err(
            s.where("end"),
            "E-DATES",
            f"the line ends ({s.end}) before it starts ({s.start})",
            "swap the dates or fix the typo",
        )
        return
    if s.start < lo:
        yield _err(
            s.where("start"),
            "E-SEGMENT-TERM",
            f"the line starts {s.start}, before {lo}",
            "a segment lies within its contract's term (from the amendment's effective date on amendments)",
        )
    if hi is not None and s.end is not None and s.end > hi:
        yield _err(
            s.where("end"),
            "E-SEGMENT-TERM",
            f"the line ends {s.end}, after the contract end {hi}",
            "amendments are co-terminated: a segment ends on or before the contract end",
        )
    if c.evergreen and s.end is not None and s.per is not None:
        yield _err(
            s.where("end"),
            "E-SEGMENT-TERM",
            "a line of an evergreen contract has no end",
            "remove end: evergreen lines run until cancelled",
        )


def check_contracts(repo: Repo, lost: Unloaded = NOTHING_LOST) -> Iterator[Diagnostic]:
    for c in repo.contracts.values():
        acct = repo.accounts.get(c.account)
        folder = c.src.file.split("/")[1] if c.src.file.count("/") >= 2 else None
        if acct is None:
            if _unknown(repo, lost, "account", c.account):
                yield _err(
                    c.where("account"),
                    "E-UNKNOWN-ACCOUNT",
                    f"unknown account `{c.account}`",
                    f"create contracts/{c.account}/account.yaml",
                )
        elif folder is not None and folder != c.account:
            yield _err(
                c.where("account"),
                "E-ACCOUNT-FOLDER",
                f"contract of account `{c.account}` lies in the folder of `{folder}`",
                f"move it to contracts/{c.account}/",
            )
        if acct is not None and acct.currency != c.currency:
            yield _err(
                c.where("currency"),
                "E-CURRENCY-MISMATCH",
                f"contract currency {c.currency} differs from the account's {acct.currency}",
                "a contract is in its account's currency",
            )
        if c.evergreen and c.end is not None:
            yield _err(c.where("end"), "E-EVERGREEN", "an evergreen contract has no end", "remove end: or evergreen:")
        if not c.evergreen and c.end is None:
            yield _err(c.src, "E-NO-END", "the contract has no end", "add end: YYYY-MM-DD, or evergreen: true")
        if c.evergreen and c.billing_frequency == "upfront":
            yield _err(
                c.where("billing"),
                "E-BILLING",
                "an evergreen contract cannot be billed upfront",
                "use monthly, quarterly, semiannual or annual",
            )
        if c.end is not None and c.end < c.start:
            yield _err(
                c.where("end"),
                "E-DATES",
                f"the contract ends ({c.end}) before it starts ({c.start})",
                "swap the dates or fix the typo",
            )
            continue
        if c.renews and _unknown(repo, lost, "contract", c.renews):
            yield _err(c.where("renews"), "E-UNKNOWN-CONTRACT", f"renews unknown contract `{c.renews}`", "")
        elif c.renews and (owner := _contract_account(repo, c.renews)) is not None and owner != c.account:
            yield _err(
                c.where("renews"),
                "E-RENEWS-ACCOUNT",
                f"contract {c.contract} of account `{c.account}` renews {c.renews} of account `{owner}`",
                "a renewal continues a contract of the same account (`cpqctl renew` and `quote accept` write it "
                "there); a contract for another account is new business: remove `renews:`",
            )
        if c.quote and _unknown(repo, lost, "quote", c.quote):
            yield Diagnostic.at(
                c.where("quote"),
                "W-UNKNOWN-QUOTE",
                f"quote `{c.quote}` is not in quotes/",
                "the accepted quote is the contract's audit trail",
                "warning",
            )
        for s in c.lines:
            yield from _check_segment(repo, c, s, c.start, c.end, c.currency, lost)
        seen: set[str] = set()
        for i, a in enumerate(c.amendments):
            if a.amendment in seen:
                yield _err(
                    a.src,
                    "E-DUPLICATE-ID",
                    f"amendment `{a.amendment}` appears twice",
                    "number them A-1, A-2… in order (after a merge, `cpqctl resolve` does)",
                )
            seen.add(a.amendment)
            aq = repo.quotes.get(a.quote) if a.quote else None
            # an amendment merged from another branch was made within the term it saw (its quote's based_on);
            # what it does after an unseen cancellation is E-CANCELLED-SERVICE (core/merges.py)
            known = aq.based_on if aq is not None and aq.based_on is not None and aq.based_on < i else i
            end_then = ledger.end_before(c, known)
            if a.effective < c.start or (end_then is not None and a.effective > end_then + timedelta(days=1)):
                yield _err(
                    a.at.get("effective", a.src),
                    "E-AMENDMENT-TERM",
                    f"amendment {a.amendment} is effective {a.effective}, outside the contract term "
                    f"{c.start}..{end_then or 'open'}",
                    "an amendment takes effect within the term",
                )
            if a.end is not None and a.end < a.effective:
                yield _err(
                    a.at.get("end", a.src),
                    "E-DATES",
                    f"amendment {a.amendment} ends the contract ({a.end}) before it takes effect ({a.effective})",
                    "",
                )
            hi = a.end if a.end is not None else end_then
            if aq is not None and aq.rebases:  # ends what a cancellation missed: within the term it had before it
                j = next((k for k, b in enumerate(c.amendments[:i]) if b.quote == aq.rebases and b.cancelled), None)
                if j is not None:
                    hi = ledger.end_before(c, j)
            for s in a.lines:
                yield from _check_segment(repo, c, s, a.effective, hi, c.currency, lost)
            if a.quote and _unknown(repo, lost, "quote", a.quote):
                yield Diagnostic.at(a.src, "W-UNKNOWN-QUOTE", f"quote `{a.quote}` is not in quotes/", "", "warning")


def check_accounts(repo: Repo, lost: Unloaded = NOTHING_LOST) -> Iterator[Diagnostic]:
    for a in repo.accounts.values():
        for cp in a.contracted_prices:
            if (cp.product is None) == (cp.family is None):
                yield _err(
                    cp.src,
                    "E-CONTRACTED-PRICE",
                    "a contracted price names either a product or a family",
                    "write product: CODE or family: NAME",
                )
            if (cp.price is None) == (cp.discount is None):
                yield _err(
                    cp.src,
                    "E-CONTRACTED-PRICE",
                    "a contracted price has either a price or a discount",
                    "write price: 450.00 or discount: 15%",
                )
            if cp.product is not None and _unknown(repo, lost, "product", cp.product):
                yield _err(
                    cp.src, "E-UNKNOWN-PRODUCT", f"unknown product `{cp.product}`", _product_hint(repo, cp.product)
                )
            if cp.valid_from and cp.valid_until and cp.valid_until < cp.valid_from:
                yield _err(cp.src, "E-DATES", "the contracted price ends before it starts", "swap from and until")


def check_tax_ids(repo: Repo, lost: Unloaded = NOTHING_LOST) -> Iterator[Diagnostic]:
    """The parties' tax IDs and the VAT treatment of each account (docs/tax-ids.md).

    The seller's NIP is on every invoice (art. 106e ust. 1 pkt 4 of the Polish
    VAT act, Directive 2006/112 art. 226 pkt 3): a seller in the EU without one
    is warned while nothing is invoiced, an error once invoices exist or
    contracts would be invoiced (W-/E-SELLER-TAX-ID). Tax IDs of a country
    python-stdnum knows (a Polish NIP, an EU VAT ID, a Swiss UID) have a valid
    checksum (E-TAX-ID). Reverse charge needs the buyer's VAT ID
    (E-REVERSE-CHARGE-NO-VAT-ID; art. 226 pkt 4) and a buyer in another country
    (E-REVERSE-CHARGE-DOMESTIC); an EU business buyer abroad without it is
    likely a mistake (W-REVERSE-CHARGE, art. 44 and 196); an exemption names
    its legal basis (W-EXEMPT-NO-BASIS).
    """
    yield from seller_tax_id(repo.settings, bool(repo.invoices), bool(repo.contracts))
    yield from _account_taxes(repo)


def _account_taxes(repo: Repo, lost: Unloaded = NOTHING_LOST) -> Iterator[Diagnostic]:
    seller = countries.seller_country(repo.settings)
    for a in repo.accounts.values():
        yield from _check_account_tax(a, seller)


def seller_tax_id(s, invoices: bool, contracts: bool) -> Iterator[Diagnostic]:
    """The seller's own tax ID (``invoices``, ``contracts``: whether the repository has any)."""
    seller = countries.seller_country(s)
    if not s.company_tax_id.strip():
        if not countries.is_eu(seller):
            return  # outside the EU a seller's invoice may carry no VAT ID: not this check's law
        invoiced = invoices or contracts
        what = "invoices exist" if invoices else "contracts will be invoiced" if contracts else ""
        yield Diagnostic.at(
            s.src,
            "E-SELLER-TAX-ID" if invoiced else "W-SELLER-TAX-ID",
            "cpq.toml [company] has no tax_id: every invoice shows the seller's VAT ID (NIP)"
            + (f", and {what}" if what else ""),
            f'add tax_id = "{seller}…" under [company] in cpq.toml (art. 106e ust. 1 pkt 4 of the Polish VAT act, '
            "Directive 2006/112 art. 226 pkt 3)",
            "error" if invoiced else "warning",
        )
        return
    ok, _, form = countries.validate_tax_id(s.company_tax_id, seller)
    if ok is False:
        yield Diagnostic.at(
            s.src,
            "E-TAX-ID",
            f"cpq.toml [company] tax_id `{s.company_tax_id}` is not a valid tax ID (wrong length or checksum)",
            f"expected {form}",
        )


def _check_account_tax(a: Account, seller: str) -> Iterator[Diagnostic]:
    buyer = countries.buyer_country(a)
    where = a.at.get
    if a.tax_id.strip():
        # an ID without a prefix and an account without `country:` is taken as domestic (a bare NIP)
        ok, _, form = countries.validate_tax_id(a.tax_id, buyer or seller)
        if ok is False:
            yield _err(
                where("tax_id", a.src),
                "E-TAX-ID",
                f"tax_id `{a.tax_id}` of account `{a.account}` is not a valid tax ID (wrong length or checksum)",
                f"expected {form}",
            )
    if a.reverse_charge:
        rc = where("reverse_charge", a.src)
        if not a.tax_id.strip() and not (buyer and not countries.is_eu(buyer)):
            yield _err(
                rc,
                "E-REVERSE-CHARGE-NO-VAT-ID",
                f"account `{a.account}` is invoiced with reverse charge but has no tax_id",
                "a reverse-charge invoice shows the buyer's VAT ID (Directive 2006/112 art. 226 pkt 4, art. 106e "
                "ust. 1 pkt 5 of the Polish VAT act): add tax_id, or remove reverse_charge",
            )
        if buyer and seller and buyer == seller:
            yield _err(
                rc,
                "E-REVERSE-CHARGE-DOMESTIC",
                f"account `{a.account}` is in {buyer}, the seller's country, but is invoiced with reverse charge",
                "a domestic sale is taxed at the rate: remove reverse_charge (or set country: if the customer "
                "is abroad; tax_code: oo is the domestic reverse charge)",
            )
    if a.tax_code == "zw" and not a.tax_note.strip():
        yield Diagnostic.at(
            where("tax_code", a.src),
            "W-EXEMPT-NO-BASIS",
            f"account `{a.account}` is VAT-exempt (tax_code: zw) but names no legal basis",
            "add tax_note: the provision of the exemption, e.g. art. 43 ust. 1 pkt 37 ustawy o VAT "
            "(art. 106e ust. 1 pkt 19)",
            "warning",
        )
    if (
        not a.reverse_charge
        and not a.tax_code
        and a.tax_id.strip()
        and countries.is_eu(seller)
        and countries.is_eu(buyer)
        and buyer != seller
    ):
        yield Diagnostic.at(
            where("tax_id", a.src),
            "W-REVERSE-CHARGE",
            f"account `{a.account}` is a business in {buyer} (another EU member state) but is invoiced with "
            "the seller's VAT",
            "B2B services are taxed where the customer is (Directive 2006/112 art. 44, 196): add reverse_charge: true",
            "warning",
        )


def check_quotes(repo: Repo, lost: Unloaded = NOTHING_LOST) -> Iterator[Diagnostic]:
    for q in repo.quotes.values():
        acct = repo.accounts.get(q.account)
        if acct is None and _unknown(repo, lost, "account", q.account):
            yield _err(
                q.where("account"),
                "E-UNKNOWN-ACCOUNT",
                f"unknown account `{q.account}`",
                f"create contracts/{q.account}/account.yaml",
            )
        if q.kind in ("amendment", "renewal") and not q.contract:
            yield _err(q.src, "E-QUOTE-CONTRACT", f"a {q.kind} quote names its contract", "add contract: C-…")
        if (
            q.contract
            and _unknown(repo, lost, "contract", q.contract)
            and not (q.kind == "new" and q.status == "accepted")
        ):
            yield _err(q.where("contract"), "E-UNKNOWN-CONTRACT", f"unknown contract `{q.contract}`", "")
        if q.start and q.end and q.end < q.start:
            yield _err(q.where("end"), "E-DATES", f"the quote ends ({q.end}) before it starts ({q.start})", "")
        currency = q.currency or (acct.currency if acct else None)
        for ln in q.lines:
            p = repo.catalog.products.get(ln.product)
            if p is None:
                if not _unknown(repo, lost, "product", ln.product):
                    continue
                yield _err(
                    ln.at.get("product", ln.src),
                    "E-UNKNOWN-PRODUCT",
                    f"unknown product `{ln.product}`",
                    _product_hint(repo, ln.product),
                )
                continue
            if (
                q.status != "accepted"
                and ln.unit_price is None
                and currency
                and p.pricing == "list"
                and currency not in p.price
            ):
                yield _err(
                    ln.at.get("product", ln.src),
                    "E-NO-PRICE",
                    f"`{ln.product}` has no price in {currency}",
                    f"add {currency} to its price in the catalog, or a contracted price for the account",
                )
            if ln.quantity < 0 and q.kind in ("new", "renewal"):
                yield _err(
                    ln.at.get("quantity", ln.src),
                    "E-NEGATIVE",
                    f"a {'new' if q.kind == 'new' else 'renewal'} quote has no negative quantities",
                    "decreases are amendments: `cpqctl amend C --set CODE=QTY`",
                )
        if q.status != "accepted":
            yield from _check_draft(repo, q, acct)
        elif q.contract and (owner := _contract_account(repo, q.contract)) is not None and owner != q.account:
            yield _err(
                q.where("contract"),
                "E-QUOTE-ACCOUNT",
                f"accepted quote {q.quote} of account `{q.account}` names contract {q.contract}, which belongs to "
                f"account `{owner}`",
                "two contracts got one number (branches merged?): give one a new number with "
                "`cpqctl renumber OLD NEW --reason TEXT`, which rewrites every reference (docs/teamwork.md)",
            )


def _check_draft(repo: Repo, q: Quote, acct: Account | None) -> Iterator[Diagnostic]:
    """A draft (hand-written or not) that accepting would turn into a contract or amendment that is not valid.

    The quote's contract belongs to the quote's account and shares its
    currency; each kind has what its acceptance writes: an amendment its
    effective date and a change, a new or renewal quote its lines; an evergreen
    contract is never renewed.
    """
    c = repo.contracts.get(q.contract) if q.contract and q.kind != "new" else None
    owner = _contract_account(repo, q.contract) if q.contract and q.kind != "new" else None
    if owner is not None and owner != q.account:
        yield _err(
            q.where("contract"),
            "E-QUOTE-ACCOUNT",
            f"contract `{q.contract}` belongs to account `{owner}`, not to the quote's account `{q.account}`",
            f"an {q.kind} quote names a contract of its own account (contracts/{q.account}/)",
        )
    want = c.currency if c is not None else (acct.currency if acct is not None else None)
    if q.currency is not None and want is not None and q.currency != want:
        yield _err(
            q.where("currency"),
            "E-CURRENCY-MISMATCH",
            f"quote currency {q.currency} differs from the {'contract' if c is not None else 'account'}'s {want}",
            "a quote is in its account's (and contract's) currency: remove `currency:` or correct it",
        )
    if q.kind == "amendment":
        if q.effective is None:
            yield _err(
                q.src,
                "E-REQUIRED",
                "an amendment quote needs `effective`: the first day of the change",
                "add effective: YYYY-MM-DD (`cpqctl amend C --effective DATE …` writes amendment quotes)",
            )
        if not q.lines and q.cancelled is None and q.end is None and q.billing_frequency is None:
            yield _err(
                q.where("lines"),
                "E-NO-CHANGE",
                "the amendment quote changes nothing: no lines, no cancellation, no new end, no billing change",
                "add the changed lines, or remove the quote",
            )
        return
    if not q.lines:
        yield _err(
            q.where("lines"),
            "E-QUOTE-LINES",
            f"a {q.kind} quote has no lines: accepting it would write a contract with nothing to bill",
            "add lines: - {product: CODE, quantity: N}",
        )
    if q.kind == "renewal" and c is not None and c.evergreen:
        yield _err(
            q.where("contract"),
            "E-EVERGREEN",
            f"contract {c.contract} is evergreen: it runs until cancelled and is never renewed",
            "amend it instead (`cpqctl amend`), or make this a new-business quote",
        )


def check_invoices(repo: Repo, lost: Unloaded = NOTHING_LOST) -> Iterator[Diagnostic]:
    for inv in repo.invoices.values():
        c = repo.contracts.get(inv.contract)
        if c is None:
            if _unknown(repo, lost, "contract", inv.contract):
                yield _err(
                    inv.at.get("contract", inv.src), "E-UNKNOWN-CONTRACT", f"unknown contract `{inv.contract}`", ""
                )
        elif c.account != inv.account:
            yield _err(
                inv.at.get("account", inv.src),
                "E-INVOICE-ACCOUNT",
                f"invoice account `{inv.account}` differs from the contract's `{c.account}`",
                "",
            )
        total = sum((ln.amount for ln in inv.lines), type(inv.net_total)(0))
        if total != inv.net_total:
            yield _err(
                inv.at.get("net_total", inv.src),
                "E-INVOICE-TOTAL",
                f"net_total {inv.net_total} is not the sum of the lines ({total})",
                "invoices are issued by `cpqctl invoice run`; do not edit them",
            )
        if inv.corrects and _unknown(repo, lost, "invoice", inv.corrects):
            yield _err(
                inv.at.get("corrects", inv.src), "E-UNKNOWN-INVOICE", f"corrects unknown invoice `{inv.corrects}`", ""
            )
        orig = repo.invoices.get(inv.corrects) if inv.corrects else None
        if orig is not None and orig.account != inv.account:
            yield _err(
                inv.at.get("account", inv.src),
                "E-CORRECTION-ACCOUNT",
                f"corrective invoice {inv.invoice} is billed to `{inv.account}`, but the invoice it corrects, "
                f"{orig.invoice}, to `{orig.account}`",
                "a corrective invoice goes to the buyer of the invoice it corrects (art. 106j ust. 2 of the VAT act: "
                "it names that invoice and its data); issue it with `cpqctl invoice correct`, and bill another buyer "
                "with a new invoice",
            )


def invoices_out_of_order(pattern: str, numbered: Iterable[tuple[str, date]]) -> list[tuple[str, date, str, date]]:
    """``(number, date, before, before_date)``: each invoice dated before ``before``, which has a lower number.

    ``numbered`` are (invoice number, date) pairs; a series is a (year, month,
    branch token) of the numbering ``pattern`` (:mod:`cpqctl.core.numbering`);
    numbers outside the pattern are not compared.
    """
    series: dict[tuple, list[tuple[int, str, date]]] = {}
    for number, day in numbered:
        sr = parse_series(pattern, number)
        if sr is not None and sr.year in (None, day.year):
            series.setdefault(sr.key, []).append((sr.seq, number, day))
    out = []
    for members in series.values():
        members.sort()
        latest: tuple[str, date] | None = None  # the latest-dated invoice numbered so far
        for _, number, day in members:
            if latest is not None and day < latest[1]:
                out.append((number, day, *latest))
            if latest is None or day >= latest[1]:
                latest = (number, day)
    return out


def check_invoice_order(repo: Repo, lost: Unloaded = NOTHING_LOST) -> Iterator[Diagnostic]:
    """Within a numbering series (a year of [numbering] invoice), a higher number never carries an earlier date.

    Invoices are numbered in the order they are issued: an invoice dated before
    one with a lower number does not carry its issue date (a backdated contract
    or catch-up billed after later invoices). A warning for now: an invoice run
    still dates a backdated catch-up on its period start (issue 16), and issued
    invoices are never renumbered, so an error would block the repository.
    """
    yield from invoice_order(repo.settings, repo.invoices)


def invoice_order(s, invoices: Mapping[str, Invoice] | Mapping[str, InvoiceFacts]) -> Iterator[Diagnostic]:
    """:func:`check_invoice_order` of ``invoices`` (number → the invoice, or its :class:`InvoiceFacts`)."""
    pairs = [
        p
        for pattern in dict.fromkeys((s.numbering_invoice, s.numbering_correction))
        for p in invoices_out_of_order(pattern, ((i.invoice, i.date) for i in invoices.values()))
    ]
    for number, day, before, before_day in pairs:
        inv = invoices[number]
        yield Diagnostic.at(
            inv.at.get("date", inv.src),
            INVOICE_ORDER,
            f"invoice {number} is dated {day}, before {before} ({before_day}), which has a lower number: "
            "invoices are numbered in the order of their dates",
            "an invoice's date is its issue date: a backdated contract was billed after later invoices; "
            "issued invoices are never edited or renumbered (correct them with a new invoice if your tax rules require)",
            INVOICE_ORDER_SEVERITY,
        )


def check_integrity(repo: Repo, lost: Unloaded = NOTHING_LOST) -> Iterator[Diagnostic]:
    """The integrity chain: contracts against their accepted quotes, the invoice ledger (core/integrity.py)."""
    yield from integrity.check_ledgers(repo, lost.ids)
    yield from integrity.check_invoice_ledger(repo, lost.ids)


def check_merges(repo: Repo, lost: Unloaded = NOTHING_LOST) -> Iterator[Diagnostic]:
    """Ledgers that two branches' amendments left inconsistent (:func:`cpqctl.core.merges.ledger_findings`)."""
    yield from merges.ledger_findings(repo)


CHECKS = (
    check_catalog,
    check_accounts,
    check_tax_ids,
    check_contracts,
    check_quotes,
    check_invoices,
    check_invoice_order,
    check_integrity,
    check_merges,
)


def run_checks(repo: Repo, lost: Unloaded = NOTHING_LOST, checks: tuple | None = None) -> list[Diagnostic]:
    """Every cross-file finding (of ``checks``, default :data:`CHECKS`); ``lost`` (see :func:`unloaded`) names what
    files with errors failed to define."""
    out: list[Diagnostic] = []
    for check in CHECKS if checks is None else checks:
        out.extend(check(repo, lost))
    return out


def check_fx(repo: Repo, lost: Unloaded = NOTHING_LOST) -> Iterator[Diagnostic]:
    """The exchange-rate tables (fx/<CUR>.yaml, docs/fx.md): none for the company currency, and no rate dated on a
    Saturday or Sunday, when NBP publishes no table (a wrong day would be the rate of another tax point)."""
    settings = repo.settings
    for cur, table in sorted(settings.fx_tables.items()):
        if cur == settings.currency:
            yield _err(
                table.src,
                "E-FX-CURRENCY",
                f"fx/{cur}.yaml holds rates of {cur}, the company currency (cpq.toml [company] currency)",
                "an fx table converts another currency into the company currency: delete the file",
            )
        for r in table.rates:
            if r.day.weekday() >= 5:
                yield Diagnostic.at(
                    r.src,
                    "W-FX-WEEKEND",
                    f"{cur} rate dated {r.day}, a {('Saturday', 'Sunday')[r.day.weekday() - 5]}: NBP publishes no table on weekends",
                    "check the day (a table's effectiveDate); the rate of a Friday table belongs to that Friday",
                    "warning",
                )


CHECKS = (*CHECKS, check_fx)  # type: ignore[assignment]  # the tuple of checks grows by one


def check_payments(repo: Repo, lost: Unloaded = NOTHING_LOST, imported: bool = True) -> Iterator[Diagnostic]:
    """Payments, refunds and write-offs (docs/receivables.md): in the folder of their month, naming known
    accounts and invoices of that account and currency, settling no more than their amount, no invoice settled
    beyond what it bills, no bank line imported twice (``imported`` False: that one is left to the caller,
    :func:`imported_twice` over every payment)."""
    from cpqctl.core.receivables import root_of

    if not repo.payments:
        return
    if imported:
        yield from imported_twice(repo.payments.values())
    settled: dict[str, Decimal] = {}
    most = _most_billed(repo)
    for p in sorted(repo.payments.values(), key=lambda p: p.payment):
        month = PurePosixPath(p.src.file).parent.name
        if month != f"{p.date:%Y-%m}":
            yield _err(
                p.at.get("date", p.src),
                "E-PAYMENT-FOLDER",
                f"payment {p.payment} is dated {p.date} but lies in payments/{month}/",
                f"move the file to payments/{p.date:%Y-%m}/ (or fix its date)",
            )
        if p.account and _unknown(repo, lost, "account", p.account):
            yield _err(p.at.get("account", p.src), "E-UNKNOWN-ACCOUNT", f"unknown account `{p.account}`", "")
        if not p.account and p.kind in ("refund", "write-off"):
            yield _err(
                p.src,
                "E-PAYMENT-ACCOUNT",
                f"a {p.kind} names no account",
                "add `account:` (the customer it is for)",
            )
        if p.kind == "other" and p.allocations:
            yield _err(
                p.at.get("allocations", p.src),
                "E-PAYMENT-ALLOCATION",
                "a bank line of kind `other` is no customer's payment and settles no invoice",
                "make it `kind: payment` with `account:`, or remove its allocations",
            )
        if p.allocations and not p.account and p.kind != "other":
            yield _err(p.src, "E-PAYMENT-ACCOUNT", "a payment that settles invoices names no account", "add `account:`")
        if p.allocated > p.amount:
            yield _err(
                p.at.get("allocations", p.src),
                "E-PAYMENT-OVER-ALLOCATED",
                f"the allocations add up to {fmt_decimal(p.allocated)}, more than the amount {fmt_decimal(p.amount)}",
                "allocate at most the amount; what a payment leaves unallocated is the customer's credit",
            )
        seen: set[str] = set()
        for a in p.allocations:
            inv = repo.invoices.get(a.invoice)
            if inv is None:
                if _unknown(repo, lost, "invoice", a.invoice):
                    yield _err(a.src, "E-UNKNOWN-INVOICE", f"allocation to unknown invoice `{a.invoice}`", "")
                continue
            if a.invoice in seen:
                yield _err(
                    a.src, "E-PAYMENT-ALLOCATION", f"{a.invoice} is allocated twice in one payment", "add them up"
                )
            seen.add(a.invoice)
            if inv.currency != p.currency:
                yield _err(
                    a.src,
                    "E-PAYMENT-CURRENCY",
                    f"a {p.currency} {p.kind} allocated to {a.invoice}, an invoice in {inv.currency}",
                    "a payment settles invoices in its own currency; record an exchange as its own entries",
                )
            elif p.account and inv.account != p.account:
                yield _err(
                    a.src,
                    "E-PAYMENT-ACCOUNT",
                    f"{p.payment} of account `{p.account}` allocated to {a.invoice} of account `{inv.account}`",
                    "allocate a payment only to its payer's invoices",
                )
            else:
                root = root_of(repo.invoices, a.invoice)
                sign = -1 if p.kind == "refund" else 1
                settled[root] = settled.get(root, Decimal(0)) + sign * a.amount
                if settled[root] > most.get(root, Decimal(0)):
                    yield _err(
                        a.src,
                        "E-PAYMENT-OVER-SETTLED",
                        f"{a.invoice} is settled beyond what it bills: {fmt_decimal(settled[root])} of "
                        f"{fmt_decimal(most.get(root, Decimal(0)))}",
                        "allocate only what is still open (`cpqctl invoice list --account …` shows it); the rest of a "
                        "payment stays the customer's credit",
                    )


def imported_twice(payments: Iterable[Payment] | Iterable[PaymentFacts]) -> Iterator[Diagnostic]:
    """A bank line recorded by two payments (E-PAYMENT-DUPLICATE at each but the one of the lowest ID)."""
    imported: dict[str, str] = {}
    for p in sorted((p for p in payments if p.imported), key=lambda p: p.payment):
        first = imported.setdefault(p.imported, p.payment)  # type: ignore[arg-type]
        if first != p.payment:
            yield _err(
                p.at.get("imported", p.src),
                "E-PAYMENT-DUPLICATE",
                f"the bank line `{p.imported}` is recorded twice (also as {first})",
                "remove one of the two files: one transfer is one payment",
            )


def _most_billed(repo: Repo) -> dict[str, Decimal]:
    """The most each chain ever billed: its first invoice's gross plus its corrections that raised it."""
    from cpqctl.core.receivables import root_of

    out: dict[str, Decimal] = {}
    for inv in repo.invoices.values():
        root = root_of(repo.invoices, inv.invoice)
        if root == inv.invoice or inv.gross_total > 0:
            out[root] = out.get(root, Decimal(0)) + inv.gross_total
    return out


CHECKS = (*CHECKS, check_payments)  # type: ignore[assignment]


class PaymentFacts:
    """What the rules over every payment read of one (its bank line's reference and where it is), kept by a check
    in parts once the payment's part is checked. A :class:`~cpqctl.core.model.Payment` answers the same."""

    __slots__ = ("payment", "imported", "src", "_imported_at")

    def __init__(self, payment: str, imported: str | None, src: Source, imported_at: Source) -> None:
        self.payment, self.imported, self.src, self._imported_at = payment, imported, src, imported_at

    @property
    def at(self) -> PaymentFacts:
        return self  # ``facts.at.get("imported", default)`` as ``payment.at.get``

    def get(self, key: str, default: Source) -> Source:
        return self._imported_at if key == "imported" else default


# --------------------------------------------------------------------------- a check in parts
# (cpqctl.app.check_parts): the rules of CHECKS that read one account's records run on each part; the rules over
# the whole repository run once, on what the parts kept of each record.


def _local_integrity(repo: Repo, lost: Unloaded = NOTHING_LOST) -> Iterator[Diagnostic]:
    yield from integrity.check_ledgers(repo, lost.ids)
    yield from integrity.check_invoice_ledger(repo, lost.ids, series=False)


def _local_payments(repo: Repo, lost: Unloaded = NOTHING_LOST) -> Iterator[Diagnostic]:
    yield from check_payments(repo, lost, imported=False)


# every rule of CHECKS but the catalog's, the exchange rates', the seller's tax ID, the invoices' order, numbering
# and digests, and the bank lines imported twice (GLOBAL_RULES)
LOCAL_CHECKS = (
    check_accounts,
    _account_taxes,
    check_contracts,
    check_quotes,
    check_invoices,
    _local_integrity,
    check_merges,
    _local_payments,
)


def run_local_checks(repo: Repo, lost: Unloaded = NOTHING_LOST) -> list[Diagnostic]:
    """:func:`run_checks` of the rules that read the records of one part only (:data:`LOCAL_CHECKS`)."""
    return run_checks(repo, lost, LOCAL_CHECKS)


def global_rules(
    repo: Repo,
    invoices: Mapping[str, InvoiceFacts],
    payments: Iterable[PaymentFacts],
    contracts: bool,
) -> list[Diagnostic]:
    """The rules of :data:`CHECKS` over the whole repository, that :data:`LOCAL_CHECKS` leaves out: the catalog and
    exchange rates of ``repo`` (the settings and catalog only), the seller's tax ID (``contracts``: whether there is
    any), and over ``invoices`` (number → what the parts kept of each) and ``payments`` (those with a bank line)
    the invoices' order, numbering and digests and the bank lines imported twice."""
    out = [*check_catalog(repo), *check_fx(repo), *seller_tax_id(repo.settings, bool(invoices), contracts)]
    out += invoice_order(repo.settings, invoices)
    out += integrity.invoice_series(repo.settings, sorted(invoices.values(), key=lambda inv: inv.invoice))
    out += imported_twice(payments)
    return out
