"""The pricing waterfall (SPEC §2): a quote's lines priced step by step, then its totals.

Per line: list price → contracted price → volume discount → manual discount →
proration, each step recorded in :class:`Step` so `quote show` can explain the
price. Before pricing, the quote is *configured*: bundles pull in their
included and required options, and the whole configuration (the quote plus,
for amendments, what the contract owns) is checked against the catalog's
constraints. Every refusal is a :class:`CpqError` naming the rule and the line.

Pure: no IO, no clock. Unit prices stay exact Decimals (arithmetic runs on
Fractions); money is rounded once per line total and once per tax rate.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from cpqctl.core import ledger
from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import (
    Account,
    BundleOption,
    Catalog,
    Contract,
    ContractedPrice,
    DiscountSchedule,
    Product,
    Quote,
    QuoteLine,
    Settings,
    Source,
    TaxLine,
    Tier,
)
from cpqctl.core.money import fmt_decimal, fmt_percent, minor_units, round_money, round_places
from cpqctl.core.proration import Grid, billing_grid, line_total, multiplier, period_end, priced_units, term_end
from cpqctl.core.regimes import grid_on
from cpqctl.core.terms import FREQUENCY_MONTHS, PER_MONTHS, PERIODIC_FREQUENCIES, contract_terms, tax_rate

__all__ = ["FREQUENCY_MONTHS", "PricedLine", "PricedQuote", "Step", "TaxLine", "price_quote", "quote_dates"]

ZERO = Decimal(0)
_HUNDRED = Fraction(100)


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a line's waterfall: the unit price after it, and why."""

    label: str
    unit_price: Decimal
    note: str = ""


@dataclass(frozen=True, slots=True)
class PricedLine:
    product: str
    name: str
    quantity: Decimal
    start: date
    end: date | None  # None: one-time, or an open-ended (evergreen) line
    per: str | None
    pricing: str  # list | block | percent-of-total
    list_unit_price: Decimal
    net_unit_price: Decimal
    prorate_multiplier: Fraction
    net_total: Decimal
    steps: tuple[Step, ...]
    discount_percent: Decimal  # total % off list, for documents (2 places)
    manual_discount_percent: Decimal | None
    bundle: str | None
    one_time: bool
    tier: str | None  # slab tier label ("21-100", "101+")
    src: Source
    priced_through: date | None = None  # last day net_total covers (an evergreen line: its billing period)
    index: int | None = None  # 0-based index of the quote line; None for a line added from a bundle
    timing: str = "advance"  # advance | arrears (the quote line's, else the product's)


@dataclass(frozen=True, slots=True)
class PricedQuote:
    currency: str
    start: date
    end: date | None
    lines: tuple[PricedLine, ...]
    net_total: Decimal
    taxes: tuple[TaxLine, ...]
    tax_total: Decimal
    gross_total: Decimal
    needs_approval: bool
    approval_reasons: tuple[str, ...]
    reverse_charge: bool
    proration: str = "monthly+daily"
    rounding: str = "half-up"
    evergreen: bool = False
    priced_through: date | None = None  # an evergreen quote's total covers start..priced_through


@dataclass(frozen=True, slots=True)
class _Ctx:
    quote: Quote
    catalog: Catalog
    account: Account
    settings: Settings
    contract: Contract | None
    currency: str
    method: str
    rounding: str
    start: date
    end: date | None
    evergreen: bool
    anchor: date  # billing periods of an evergreen quote count from here
    frequency: int  # months per billing period (evergreen)
    grid: Grid | None = None  # the billing periods the `period` proration method counts days in
    partial: str = "prorate"  # the partial-period policy (prorate | full | none)


@dataclass(frozen=True, slots=True)
class _Item:
    """A configured line: a quote line, or an option a bundle added."""

    line: QuoteLine
    product: Product | None
    index: int | None
    bundle: str | None
    included: bool = False


@dataclass(frozen=True, slots=True)
class _Part:
    """A line after steps 1-4 (a slab line yields one part per tier reached)."""

    quantity: Decimal
    list_price: Decimal
    net: Decimal
    steps: tuple[Step, ...]
    tier: str | None = None
    manual: Decimal | None = None


# --------------------------------------------------------------------------- dates


def quote_dates(quote: Quote, settings: Settings, contract: Contract | None = None) -> tuple[date, date | None]:
    """(start, end) of a quote: start = `start`, else `effective`, else the quote date.

    `end` wins over `term` (default 12 months); an amendment quote without
    either co-terminates with its contract; evergreen quotes have no end.
    """
    start = quote.start or quote.effective or quote.date
    if quote.evergreen or (contract is not None and contract.evergreen):
        return start, None
    if quote.end is not None:
        return start, quote.end
    if quote.term is None and quote.kind == "amendment" and contract is not None:
        canc = next((i for i, a in enumerate(contract.amendments) if a.cancelled and a.quote == quote.rebases), None)
        if canc is not None:  # ends what a cancellation missed: within the term it had before it (merges.py)
            return start, ledger.end_before(contract, canc)
        return start, ledger.current_end(contract)
    return start, term_end(start, quote.term or 12)


# --------------------------------------------------------------------------- exact numbers


def _exact(value: Fraction, places: int) -> Decimal | None:
    """``value`` as a Decimal with at least ``places`` decimals; None if it does not terminate."""
    den, twos, fives = value.denominator, 0, 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    if den != 1:
        return None
    k = max(twos, fives, places)
    return Decimal(value.numerator * 10**k // value.denominator).scaleb(-k)


def _price(ctx: _Ctx, value: Fraction) -> Decimal:
    """An exact unit price (a non-terminating one, only possible after a `per` conversion, is rounded)."""
    out = _exact(value, minor_units(ctx.currency))
    return out if out is not None else round_money(value, ctx.currency, ctx.rounding)


def _pct(value: Fraction) -> Decimal:
    return round_places(value, 2, "half-up")


def _valid_per(per: str | None, where: Source, code: str) -> str:
    """A subscription's ``per`` (month, quarter or year), else a refusal."""
    if per is None or per not in PER_MONTHS:
        raise CpqError(
            "E-PRODUCT-PER",
            f"`{code}` is a subscription without a valid `per` ({per})",
            "give the product per: month, quarter or year",
            where,
        )
    return per


def _fail(code: str, msg: str, hint: str, src: Source) -> CpqError:
    return CpqError(code, msg, hint, src)


# --------------------------------------------------------------------------- configuration


def _where(line: QuoteLine, key: str) -> Source:
    return line.at.get(key, line.src)


def _unknown(ctx: _Ctx, code: str, src: Source) -> CpqError:
    close = difflib.get_close_matches(code, list(ctx.catalog.products), n=1, cutoff=0.6)
    hint = f"did you mean `{close[0]}`? " if close else ""
    return _fail(
        "E-UNKNOWN-PRODUCT", f"unknown product `{code}`", hint + "`cpqctl catalog list` shows every product", src
    )


def _owned(ctx: _Ctx) -> dict[str, Decimal]:
    if ctx.contract is None:
        return {}
    return {o.product: o.quantity for o in ledger.owned(ctx.contract, ctx.start)}


def _configure(ctx: _Ctx) -> list[_Item]:
    """The quote's lines with bundle options added, after every configuration rule passed."""
    q, products = ctx.quote, ctx.catalog.products
    frozen = q.status == "accepted"  # shown as signed, even if the catalog changed since
    base: list[_Item] = []
    for i, ln in enumerate(q.lines):
        p = products.get(ln.product)
        if p is None and not frozen:
            raise _unknown(ctx, ln.product, _where(ln, "product"))
        if q.kind == "new" and ln.quantity < 0 and not frozen:
            raise _fail(
                "E-NEGATIVE",
                f"`{ln.product}`: a new quote has no negative quantities ({ln.quantity})",
                "decreases are amendments: `cpqctl amend C --set CODE=QTY`",
                _where(ln, "quantity"),
            )
        if p is not None and p.evergreen and not ctx.evergreen and not frozen:
            raise _fail(
                "E-EVERGREEN-ONLY",
                f"`{ln.product}` is sold only on evergreen contracts",
                "make the quote evergreen (`quote new --evergreen`) or drop the line",
                _where(ln, "product"),
            )
        base.append(_Item(ln, p, i, ln.bundle))
    if frozen:
        return base
    owned = _owned(ctx)
    items = _with_options(ctx, base, owned)
    _check_options(ctx, items, owned)
    _check_constraints(ctx, items, owned)
    return items


def _bundles(ctx: _Ctx, items: list[_Item], owned: dict[str, Decimal]) -> dict[str, tuple[str, BundleOption, bool]]:
    """option product → (bundle code, option, bundle on the quote?): quote bundles first, then the contract's."""
    out: dict[str, tuple[str, BundleOption, bool]] = {}
    codes = [(it.product.code, True) for it in items if it.product is not None and it.product.options]
    codes += [(c, False) for c, qty in owned.items() if qty > 0]
    for code, on_quote in codes:
        p = ctx.catalog.products.get(code)
        for opt in p.options if p is not None else ():
            out.setdefault(opt.product, (code, opt, on_quote))
    return out


def _with_options(ctx: _Ctx, base: list[_Item], owned: dict[str, Decimal]) -> list[_Item]:
    """Tag option lines with their bundle; add missing included (price 0) and required options.

    An included option costs 0 only with its bundle on the quote: more of it
    on an amendment of a contract that owns the bundle is priced as usual.
    """
    options = _bundles(ctx, base, owned)
    present = {it.line.product for it in base} | {c for c, qty in owned.items() if qty > 0}
    out: list[_Item] = []
    for it in base:
        bundle, opt, on_quote = options.get(it.line.product, (None, None, False))
        if it.bundle is None and bundle is not None and opt is not None:
            included = opt.included and on_quote and it.line.unit_price is None
            it = replace(it, bundle=bundle, included=included)
        out.append(it)
        p = it.product
        if p is None or not p.options or it.line.quantity <= 0:
            continue
        for opt in p.options:
            if opt.product in present or not (opt.included or opt.required):
                continue
            op = ctx.catalog.products.get(opt.product)
            if op is None:
                raise _unknown(ctx, opt.product, opt.src)
            present.add(opt.product)
            qty = opt.min if opt.min is not None else Decimal(1)
            line = QuoteLine(
                product=opt.product, quantity=qty, start=it.line.start, end=it.line.end, bundle=p.code, src=it.line.src
            )
            out.append(_Item(line, op, None, p.code, included=opt.included))
    return out


def _configuration(items: list[_Item], owned: dict[str, Decimal]) -> tuple[dict[str, Decimal], dict[str, QuoteLine]]:
    """Resulting quantity per product (contract + quote) and each product's first quote line."""
    totals = dict(owned)
    lines: dict[str, QuoteLine] = {}
    for it in items:
        totals[it.line.product] = totals.get(it.line.product, ZERO) + it.line.quantity
        lines.setdefault(it.line.product, it.line)
    return totals, lines


def _span(low: Decimal | None, high: Decimal | None) -> str:
    return f"{fmt_decimal(low) if low is not None else '…'}..{fmt_decimal(high) if high is not None else '…'}"


def _check_options(ctx: _Ctx, items: list[_Item], owned: dict[str, Decimal]) -> None:
    """Every option of a bundle in the configuration within its min/max (quote plus contract quantity)."""
    totals, lines = _configuration(items, owned)
    for bundle, qty in totals.items():
        p = ctx.catalog.products.get(bundle)
        if p is None or not p.options or qty <= 0:
            continue
        for opt in p.options:
            if opt.product not in totals and not opt.required:
                continue
            have = totals.get(opt.product, ZERO)
            low = opt.min if opt.min is not None else (Decimal(1) if opt.required else None)
            if (low is not None and have < low) or (opt.max is not None and have > opt.max):
                span = _span(low, opt.max)
                line = lines.get(opt.product) or lines.get(bundle)
                raise _fail(
                    "E-OPTION-RANGE",
                    f"bundle `{bundle}`: option `{opt.product}` has quantity {fmt_decimal(have)}, outside {span}",
                    f"set the {opt.product} quantity within {span}",
                    _where(line, "quantity") if line else ctx.quote.src,
                )


def _check_constraints(ctx: _Ctx, items: list[_Item], owned: dict[str, Decimal]) -> None:
    """`requires` and `excludes` on the whole configuration: products with a positive quantity."""
    totals, lines = _configuration(items, owned)

    def src(*codes: str) -> Source:
        return next((_where(lines[c], "product") for c in codes if c in lines), ctx.quote.src)

    def where(code: str) -> str:
        return f"line {src(code)}" if code in lines else "the contract"

    for code in [c for c, qty in totals.items() if qty > 0]:
        p = ctx.catalog.products.get(code)
        for need in p.requires if p is not None else ():
            if totals.get(need, ZERO) <= 0:
                raise _fail(
                    "E-REQUIRES",
                    f"{code} requires {need} on the quote or contract",
                    f"add {need} to the quote, or remove {code}",
                    src(code, need),
                )
        for other in p.excludes if p is not None else ():
            if totals.get(other, ZERO) > 0:
                raise _fail(
                    "E-EXCLUDES",
                    f"{code} ({where(code)}) excludes {other} ({where(other)})",
                    f"keep only one of {code} and {other}",
                    src(code, other),
                )


# --------------------------------------------------------------------------- steps 1-4


def _contracted(ctx: _Ctx, p: Product, d: date) -> ContractedPrice | None:
    """The account's contracted price for ``p`` valid on ``d``: a product entry beats a family entry.

    A fixed `price:` is in the account's currency, so it applies only to quotes in that currency.
    """
    valid = [
        c
        for c in ctx.account.contracted_prices
        if c.valid_on(d) and (c.price is None or ctx.currency == ctx.account.currency)
    ]
    return next((c for c in valid if c.product == p.code), None) or next(
        (c for c in valid if c.family and c.family == p.family and c.product is None), None
    )


def _list_price(ctx: _Ctx, it: _Item, p: Product, base: Fraction | None) -> tuple[Decimal | None, Step | None]:
    """Step 1: the list unit price of ``p`` (the item's product) in the quote currency (None: the catalog has none)."""
    line, cur = it.line, ctx.currency
    if p.overage and p.pricing != "block":
        raise _fail(
            "E-PRODUCT-OVERAGE",
            f"`{p.code}` has an overage price but is not block-priced (pricing: {p.pricing})",
            "overage is the per-unit price above the last block of a `pricing: block` product: remove it, "
            "or make the product block-priced",
            p.where("overage"),
        )
    if p.pricing == "block":
        qty = abs(line.quantity)
        block = next((b for b in p.blocks if b.up_to >= qty), None)
        if block is None and p.overage and p.blocks:
            return _overage(ctx, p, qty)
        if block is None:
            last = fmt_decimal(p.blocks[-1].up_to) if p.blocks else "0"
            raise _fail(
                "E-BLOCK-RANGE",
                f"`{p.code}`: quantity {fmt_decimal(qty)} is beyond the last block (up to {last})",
                f"quote at most {last}, add a larger block to the catalog, or give the product an overage price "
                "(overage: {PLN: 8.00}, per unit above the last block)",
                _where(line, "quantity"),
            )
        if cur not in block.price:
            return None, None
        price = block.price[cur]
        return price, Step("list", price, f"block up to {fmt_decimal(block.up_to)} ({fmt_decimal(qty)} units)")
    if p.pricing == "percent-of-total":
        percent = p.percent if p.percent is not None else ZERO
        price = _price(ctx, Fraction(percent) / _HUNDRED * (base or 0))
        note = f"{fmt_percent(percent)} of {_price(ctx, base or Fraction(0))}"
        floor = p.min_price.get(cur)
        if floor is not None and price < floor:
            price, note = floor, note + f", floored at min_price {floor}"
        return price, Step("list", price, note)
    if cur not in p.price:
        return None, None
    return p.price[cur], Step("list", p.price[cur])


def _overage(ctx: _Ctx, p: Product, qty: Decimal) -> tuple[Decimal | None, Step | None]:
    """A block quantity above the last block: the last block's price + (qty − up_to) × the overage unit price.

    The line stays one block line (its unit price is the price of the whole
    quantity, counted once: :func:`cpqctl.core.proration.priced_units`), so an
    amendment, renewal or invoice treats it like any other block
    (docs/pricing-extras.md). None without both prices in the quote currency.
    """
    last, cur = p.blocks[-1], ctx.currency
    if cur not in last.price or cur not in p.overage:
        return None, None
    extra, rate = qty - last.up_to, p.overage[cur]
    price = _price(ctx, Fraction(last.price[cur]) + Fraction(extra) * Fraction(rate))
    note = (
        f"block up to {fmt_decimal(last.up_to)} ({last.price[cur]}) + {fmt_decimal(extra)} units over at "
        f"{rate} overage ({fmt_decimal(qty)} units)"
    )
    return price, Step("list", price, note)


def _special(
    ctx: _Ctx, it: _Item, p: Product, list_price: Decimal | None, list_step: Step | None
) -> tuple[Decimal, list[Step], bool]:
    """Step 2 after step 1: the contracted price, if any (E-NO-PRICE if neither gives a price)."""
    acct = ctx.account
    start = it.line.start or ctx.start
    cp = _contracted(ctx, p, start)
    steps = [] if list_step is None else [list_step]
    if cp is not None and cp.price is not None:
        who = f"{acct.account}: {cp.product or 'family ' + (cp.family or '')}"
        steps.append(Step("contracted price", cp.price, f"{who} {cp.price}"))
        return cp.price, steps, True
    if list_price is None:
        raise _fail(
            "E-NO-PRICE",
            f"`{p.code}` has no price in {ctx.currency}",
            f"add {ctx.currency} to its price in the catalog, or a contracted price for the account",
            _where(it.line, "product"),
        )
    if cp is None:
        return list_price, steps, False
    who = f"{acct.account}: {cp.product or 'family ' + (cp.family or '')}"
    assert cp.discount is not None  # a contracted price has a price or a discount (E-CONTRACTED-PRICE)
    net = _off(ctx, list_price, cp.discount)
    steps.append(Step(f"contracted {fmt_percent(cp.discount)}", net, f"{who} {fmt_percent(cp.discount)} off"))
    return net, steps, True


def _schedule_owned(ctx: _Ctx, p: Product, d: date) -> Decimal:
    """Quantity already on the contract on ``d`` of every product sharing ``p``'s schedule."""
    if ctx.contract is None:
        return ZERO
    same = [c for c, x in ctx.catalog.products.items() if x.discount_schedule == p.discount_schedule]
    return sum((ledger.quantity_on(ctx.contract, c, d) for c in same), ZERO)


def _tier_spans(tiers: tuple[Tier, ...]) -> list[tuple[Decimal | None, Decimal | None, Tier | None, str]]:
    """(low, high, tier, label): tier i holds unit positions in (low, high]; None is unbounded.

    `from` is inclusive and a tier ends where the next starts, so the unit at
    position n lies in tier i when from_i ≤ n < from_{i+1}. Positions below
    the first tier get no discount (tier None).
    """
    out: list[tuple[Decimal | None, Decimal | None, Tier | None, str]] = []
    if tiers[0].start > 1:
        out.append((None, tiers[0].start - 1, None, f"1-{fmt_decimal(tiers[0].start - 1)}"))
    for i, t in enumerate(tiers):
        high = tiers[i + 1].start - 1 if i + 1 < len(tiers) else None
        label = f"{fmt_decimal(t.start)}-{fmt_decimal(high)}" if high is not None else f"{fmt_decimal(t.start)}+"
        out.append((t.start - 1 if out else None, high, t, label))
    return out


def _off(ctx: _Ctx, price: Decimal, percent: Decimal) -> Decimal:
    return _price(ctx, Fraction(price) * (1 - Fraction(percent) / _HUNDRED))


def _tier_shape(sched: DiscountSchedule) -> None:
    """Every tier of ``sched`` gives exactly one of `discount` (percent) and `amount_off` (E-SCHEDULE)."""
    for t in sched.tiers:
        # `at` holds the keys the file wrote; a tier built in code tells by its values
        has_pct = "discount" in t.at if t.at else bool(t.discount)
        has_amount = "amount_off" in t.at if t.at else bool(t.amount_off)
        if has_pct and has_amount:
            raise _fail(
                "E-SCHEDULE",
                f"discount schedule `{sched.code}`: the tier from {fmt_decimal(t.start)} gives both `discount` "
                "and `amount_off`",
                "keep one: a percent (discount: 10%) or an amount per unit (amount_off: {PLN: 5.00})",
                t.where("amount_off"),
            )
        if t.at and not has_pct and not has_amount:
            raise _fail(
                "E-SCHEDULE",
                f"discount schedule `{sched.code}`: the tier from {fmt_decimal(t.start)} gives neither `discount` "
                "nor `amount_off`",
                "add a percent (discount: 10%) or an amount per unit (amount_off: {PLN: 5.00})",
                t.src,
            )


def _tier_net(
    ctx: _Ctx, it: _Item, sched: DiscountSchedule, tier: Tier | None, list_price: Decimal
) -> tuple[Decimal, str | None, str]:
    """(net unit price, what the tier takes off for the step label or None, step note) of ``tier`` on ``list_price``.

    A percent tier takes its percent off; an amount-off tier its amount in the
    quote currency (E-SCHEDULE without one), never below zero (E-TIER-AMOUNT).
    """
    if tier is None:
        return list_price, None, ""
    if not tier.amount_off:
        if not tier.discount:
            return list_price, None, ""
        return _off(ctx, list_price, tier.discount), fmt_percent(tier.discount), ""
    amount = tier.amount_off.get(ctx.currency)
    if amount is None:
        have = ", ".join(tier.amount_off)
        raise _fail(
            "E-SCHEDULE",
            f"discount schedule `{sched.code}`: the tier from {fmt_decimal(tier.start)} has no amount_off in "
            f"{ctx.currency} (only {have})",
            f"add {ctx.currency} to the tier's amount_off, e.g. amount_off: {{{ctx.currency}: 5.00}}",
            tier.where("amount_off"),
        )
    net = Fraction(list_price) - Fraction(amount)
    if net < 0:
        raise _fail(
            "E-TIER-AMOUNT",
            f"discount schedule `{sched.code}`: the tier from {fmt_decimal(tier.start)} takes {amount} "
            f"{ctx.currency} off `{it.line.product}`, whose list unit price is {list_price}: the price would be "
            f"below zero ({_price(ctx, net)})",
            f"an amount off is at most the list unit price of every product on the schedule "
            f"(here {list_price} {ctx.currency}); lower it, or use a percent discount",
            tier.where("amount_off"),
        )
    return _price(ctx, net), f"{_price(ctx, Fraction(amount))} off", "per unit"


def _volume(ctx: _Ctx, it: _Item, p: Product, schedule: str, list_price: Decimal, steps: list[Step]) -> list[_Part]:
    """Step 3: ``p``'s discount ``schedule`` on the line's quantity plus what the contract already holds."""
    qty = it.line.quantity
    sched = ctx.catalog.schedules.get(schedule)
    if sched is None:
        raise _fail(
            "E-UNKNOWN-SCHEDULE",
            f"`{p.code}` names an unknown discount schedule `{schedule}`",
            "define it under discount_schedules: in a catalog file",
            p.where("discount_schedule"),
        )
    held = _schedule_owned(ctx, p, it.line.start or ctx.start)
    note = f"{fmt_decimal(held)} already on the contract" if held else ""
    plain = _Part(qty, list_price, list_price, tuple(steps))
    if not sched.tiers:
        return [plain]
    _tier_shape(sched)
    if sched.type == "slab":
        return _slab(ctx, it, sched, _tier_spans(sched.tiers), held, note, plain)
    total = held + qty
    tier = next((t for t in reversed(sched.tiers) if t.start <= total), None)
    net, off, how = _tier_net(ctx, it, sched, tier, list_price)
    if off is None:
        return [plain]
    label = f"volume {off} ({sched.code} range, {fmt_decimal(total)} units)"
    return [replace(plain, net=net, steps=(*steps, Step(label, net, _join(how, note))))]


def _join(*notes: str) -> str:
    return ", ".join(n for n in notes if n)


def _slab(ctx: _Ctx, it: _Item, sched: DiscountSchedule, spans, held: Decimal, note: str, plain: _Part) -> list[_Part]:
    """Slab: the new units occupy positions held+1..held+qty; one part per tier they reach.

    A negative quantity (an amendment decrease) removes the top positions held+qty+1..held.
    """
    qty = plain.quantity
    sign = Decimal(-1) if qty < 0 else Decimal(1)
    a, b = (held, held + qty) if qty >= 0 else (held + qty, held)
    parts = []
    for low, high, tier, label in spans:
        lo = a if low is None else max(a, low)
        hi = b if high is None else min(b, high)
        if hi <= lo:
            continue
        net, off, how = _tier_net(ctx, it, sched, tier, plain.list_price)
        steps = plain.steps
        if off is not None:
            steps += (Step(f"volume {off} ({sched.code} slab, units {label})", net, _join(how, note)),)
        parts.append(replace(plain, quantity=sign * (hi - lo), net=net, steps=steps, tier=label))
    return parts or [replace(plain, tier=spans[0][3])]


def _manual(ctx: _Ctx, it: _Item, part: _Part) -> tuple[_Part, str | None]:
    """Step 4: the quote line's manual discount; an approval reason if it is above the limit."""
    line, before = it.line, part.net
    if line.discount is None and line.discount_amount is None:
        return part, None
    net, steps = Fraction(before), list(part.steps)
    if line.discount is not None:
        net = net * (1 - Fraction(line.discount) / _HUNDRED)
        steps.append(Step(f"manual {fmt_percent(line.discount)}", _price(ctx, net)))
    if line.discount_amount is not None:
        net -= Fraction(line.discount_amount)
        steps.append(Step(f"manual {line.discount_amount} off", _price(ctx, net), "per unit"))
    if net < 0:
        raise _fail(
            "E-DISCOUNT",
            f"`{line.product}`: the manual discount takes the unit price below zero ({before} → {_price(ctx, net)})",
            "a manual discount is at most the price after steps 1-3",
            _where(line, "discount" if line.discount_amount is None else "discount_amount"),
        )
    off = (Fraction(before) - net) / Fraction(before) * _HUNDRED if before else Fraction(line.discount or 0)
    reason = None
    if off > Fraction(ctx.settings.max_discount):
        n = it.index + 1 if it.index is not None else "?"
        reason = (
            f"line {n} ({line.product}): manual discount {fmt_percent(_pct(off))} is above the "
            f"{fmt_percent(ctx.settings.max_discount)} limit (approvals.max_discount)"
        )
    return replace(part, net=_price(ctx, net), steps=tuple(steps), manual=_pct(off)), reason


# --------------------------------------------------------------------------- one line


def _per(it: _Item) -> str | None:
    p, line = it.product, it.line
    if line.per is not None:
        return line.per
    if p is None:
        return None
    return p.per if p.recurring else None


def _one_time(it: _Item) -> bool:
    return not it.product.recurring if it.product is not None else it.line.per is None


def _price_item(ctx: _Ctx, it: _Item, base: Fraction | None = None) -> tuple[list[PricedLine], list[str]]:
    """One configured line → its priced line(s) and approval reasons.

    A line that already carries `unit_price` (written by cpqctl: amendment,
    renewal, accepted) keeps it and is only prorated; an included bundle
    option costs 0; every other line runs steps 1-4 (``base`` is the covered
    amount of a percent-of-total line).
    """
    line, p = it.line, it.product
    pricing = line.pricing or (p.pricing if p is not None else "list")
    if line.unit_price is not None:
        list_price = line.list_price if line.list_price is not None else line.unit_price
        steps = [Step("list", list_price)] if list_price != line.unit_price else []
        steps.append(Step("agreed price", line.unit_price, "unit_price on the line"))
        part = _Part(line.quantity, list_price, line.unit_price, tuple(steps), manual=line.discount)
        frozen = line.net_total if ctx.quote.status == "accepted" else None  # shown as signed
        return [_finish(ctx, it, part, pricing, fixed_total=frozen)], []
    if it.included:
        zero = _price(ctx, Fraction(0))
        part = _Part(line.quantity, zero, zero, (Step(f"included in {it.bundle}", zero),))
        return [_finish(ctx, it, part, pricing)], []
    if p is None:  # an accepted quote's line without its agreed price, for a product the catalog lost
        raise _unknown(ctx, line.product, _where(line, "product"))
    catalog_price, list_step = _list_price(ctx, it, p, base)
    price, steps, special = _special(ctx, it, p, catalog_price, list_step)
    # no catalog price: the contracted price stands in for it
    list_price = catalog_price if catalog_price is not None else price
    if special or not p.discount_schedule:
        parts = [_Part(line.quantity, list_price, price, tuple(steps))]
    else:
        parts = _volume(ctx, it, p, p.discount_schedule, list_price, steps)
    out, reasons = [], []
    for part in parts:
        part, reason = _manual(ctx, it, part)
        out.append(_finish(ctx, it, part, pricing))
        if reason:
            reasons.append(reason)
    return out, reasons


def _finish(ctx: _Ctx, it: _Item, part: _Part, pricing: str, fixed_total: Decimal | None = None) -> PricedLine:
    """Step 5: prorate over the line's dates and round the line total once."""
    line, p = it.line, it.product
    start = line.start or ctx.start
    per = None if _one_time(it) else _per(it)
    if _one_time(it):
        end = through = None
        mult = Fraction(1)
    else:
        unit = _valid_per(per, p.src if p is not None else line.src, line.product)
        end = line.end if line.end is not None else ctx.end
        through = end if end is not None else period_end(ctx.anchor, ctx.frequency, start)
        if through < start:
            raise _fail(
                "E-DATES",
                f"`{line.product}` ends ({through}) before it starts ({start})",
                "fix the line's or the quote's dates",
                _where(line, "end" if line.end else "start"),
            )
        mult = multiplier(start, through, unit, ctx.method, ctx.grid, ctx.partial)
    total = (
        fixed_total
        if fixed_total is not None
        else line_total(
            part.net,
            priced_units(part.quantity, pricing),
            per,
            start,
            through or start,
            ctx.method,
            ctx.currency,
            ctx.rounding,
            ctx.grid,
            ctx.partial,
        )
    )
    off = (
        (Fraction(part.list_price) - Fraction(part.net)) / Fraction(part.list_price) * _HUNDRED
        if part.list_price
        else Fraction(0)
    )
    return PricedLine(
        product=line.product,
        name=p.name if p is not None else line.product,
        quantity=part.quantity,
        start=start,
        end=end,
        per=per,
        pricing=pricing,
        list_unit_price=part.list_price,
        net_unit_price=part.net,
        prorate_multiplier=mult,
        net_total=total,
        steps=part.steps,
        discount_percent=_pct(off),
        manual_discount_percent=part.manual,
        bundle=it.bundle,
        one_time=per is None,
        tier=part.tier,
        src=line.src,
        priced_through=through,
        index=it.index,
        timing="advance" if per is None else (line.timing or (p.timing if p is not None else "advance")),
    )


# --------------------------------------------------------------------------- percent of total


def covers(p: Product, code: str, products) -> bool:
    """Whether percent-of-total product ``p`` takes ``code``'s lines into its base."""
    other = products.get(code)
    if other is not None and other.pricing == "percent-of-total":
        return False  # support on support would be circular
    return code in p.of_products or (p.of_family is not None and other is not None and other.family == p.of_family)


def _base(ctx: _Ctx, p: Product, d: date, priced: list[PricedLine]) -> Fraction:
    """Σ net_unit_price × quantity of the covered lines (quote, and contract on ``d``) per ``p.per``."""
    products = ctx.catalog.products
    to = PER_MONTHS.get(p.per) if p.per else None
    total = Fraction(0)
    rows = [(ln.product, ln.per, ln.pricing, ln.quantity, ln.net_unit_price) for ln in priced]
    if ctx.contract is not None:
        rows += [
            (s.product, s.per, s.pricing, s.quantity, s.unit_price) for s in ctx.contract.segments() if s.covers(d)
        ]
    for code, per, pricing, qty, price in rows:
        if per is None or per not in PER_MONTHS or not covers(p, code, products):
            continue
        amount = Fraction(price) * Fraction(priced_units(qty, pricing))
        total += amount * to / PER_MONTHS[per] if to else amount
    return total


# --------------------------------------------------------------------------- the quote


def _context(quote: Quote, catalog: Catalog, account: Account, settings: Settings, contract: Contract | None) -> _Ctx:
    start, end = quote_dates(quote, settings, contract)
    evergreen = quote.evergreen or (contract is not None and contract.evergreen)
    # an amendment follows its contract's terms; a new quote, cpq.toml's
    terms = contract_terms(contract, settings) if contract is not None else None
    freq = quote.billing_frequency or (terms.billing_frequency if terms else settings.billing_frequency)
    months = FREQUENCY_MONTHS.get(freq) or 12  # upfront: the term's price is billed at once
    if contract is not None and terms is not None:
        change = FREQUENCY_MONTHS.get(quote.billing_frequency) if quote.billing_frequency else None
        grid = grid_on(contract, settings, start, change, quote.billing_restart)
    else:
        anchor = quote.billing_anchor or account.billing_anchor or settings.billing_anchor
        grid = billing_grid(start, FREQUENCY_MONTHS.get(freq), anchor)
    if evergreen and freq not in PERIODIC_FREQUENCIES:
        raise _fail(
            "E-BILLING",
            f"an evergreen quote is billed every period; `{freq}` is not a period",
            "use billing: {frequency: monthly} (or quarterly, semiannual, annual)",
            quote.where("billing"),
        )
    return _Ctx(
        quote=quote,
        catalog=catalog,
        account=account,
        settings=settings,
        contract=contract,
        currency=quote.currency or account.currency,
        method=terms.proration if terms else settings.proration,
        rounding=terms.rounding if terms else settings.rounding,
        start=start,
        end=end,
        evergreen=evergreen,
        anchor=contract.start if contract is not None and evergreen else start,
        frequency=months,
        grid=grid,
        partial=terms.partial if terms else (quote.billing_partial or settings.billing_partial),
    )


def price_quote(
    quote: Quote, catalog: Catalog, account: Account, settings: Settings, contract: Contract | None = None
) -> PricedQuote:
    """Configure and price every line of ``quote`` (SPEC §2), then total and tax it.

    ``contract`` is the contract an amendment quote changes: its owned
    quantities count for volume tiers, constraints, bundle option ranges and
    percent-of-total bases. Raises :class:`CpqError` (exit 1) for a refused rule.
    """
    ctx = _context(quote, catalog, account, settings, contract)
    items = _configure(ctx)
    priced: dict[int, list[PricedLine]] = {}
    reasons: list[str] = []
    later = {
        i: it.product
        for i, it in enumerate(items)
        if it.line.unit_price is None
        and not it.included
        and it.product is not None
        and it.product.pricing == "percent-of-total"
    }
    for i, it in enumerate(items):
        if i not in later:
            priced[i], why = _price_item(ctx, it)
            reasons += why
    done = [ln for lines in priced.values() for ln in lines]
    for i, product in later.items():
        it = items[i]
        base = _base(ctx, product, it.line.start or ctx.start, done)
        priced[i], why = _price_item(ctx, it, base)
        reasons += why
    lines = tuple(ln for i in range(len(items)) for ln in priced[i])
    if quote.status != "accepted":
        reasons += _typed_price_reasons(ctx, items, lines)
    return _totals(ctx, lines, tuple(dict.fromkeys(reasons)))


# --------------------------------------------------------------------------- typed prices


def _reference_prices(ctx: _Ctx, it: _Item, priced: tuple[PricedLine, ...]) -> list[Decimal]:
    """The unit prices cpqctl itself would give a line that carries a typed `unit_price`.

    Today's waterfall steps 1-3 (list, contracted price, volume) for the line
    without its typed price (a slab line: the average over the tiers it
    reaches), when the line's `per` is the catalog's; and on an amendment or a
    renewal each price the contract already holds for the product in the same
    `per` (what `amend` and `renew` write).
    """
    line, p = it.line, it.product
    per = None if _one_time(it) else _per(it)
    refs: list[Decimal] = []
    if ctx.contract is not None:
        refs += [s.unit_price for s in ctx.contract.segments() if s.product == line.product and s.per == per]
    if p is None or (line.per is not None and line.per != (p.per if p.recurring else None)):
        return refs
    plain = replace(line, unit_price=None, list_price=None, discount=None, discount_amount=None, pricing=None)
    base = _base(ctx, p, line.start or ctx.start, list(priced)) if p.pricing == "percent-of-total" else None
    try:
        parts, _ = _price_item(ctx, replace(it, line=plain, included=False), base)
    except CpqError:  # the catalog cannot price it (no price in the currency, …): only the contract's prices count
        return refs
    units = sum((abs(x.quantity) for x in parts), ZERO)
    if units:
        refs.append(
            _price(
                ctx,
                sum((Fraction(x.net_unit_price) * Fraction(abs(x.quantity)) for x in parts), Fraction(0))
                / Fraction(units),
            )
        )
    elif parts:
        refs.append(parts[0].net_unit_price)
    return refs


def _typed_price_reasons(ctx: _Ctx, items: list[_Item], priced: tuple[PricedLine, ...]) -> list[str]:
    """Approval reasons for typed prices on a draft: a `unit_price` is an override, judged like a manual discount.

    The price cpqctl would give the line (:func:`_reference_prices`, the lowest
    of them) is the base: a typed price more than ``[approvals] max_discount``
    below it needs approval; one at or above it does not (a markup is not a
    discount). A typed price with nothing to compare with always needs approval.
    """
    out: list[str] = []
    limit = Fraction(ctx.settings.max_discount)
    for it in items:
        typed = it.line.unit_price
        if typed is None:
            continue
        n = it.index + 1 if it.index is not None else "?"
        refs = _reference_prices(ctx, it, priced)
        if not refs:
            out.append(
                f"line {n} ({it.line.product}): price {typed} typed on the line, with no catalog or contract "
                "price to compare it with"
            )
            continue
        ref = min(refs)
        if ref <= 0 or typed >= ref:
            continue
        off = (Fraction(ref) - Fraction(typed)) / Fraction(ref) * _HUNDRED
        if off > limit:
            out.append(
                f"line {n} ({it.line.product}): price {typed} typed on the line is {fmt_percent(_pct(off))} below "
                f"{ref}, above the {fmt_percent(ctx.settings.max_discount)} limit (approvals.max_discount)"
            )
    return out


def _totals(ctx: _Ctx, lines: tuple[PricedLine, ...], reasons: tuple[str, ...]) -> PricedQuote:
    """Quote net = Σ rounded line totals; tax per rate on the net total, rounded once."""
    zero = round_money(0, ctx.currency, ctx.rounding)
    net = sum((ln.net_total for ln in lines), zero)
    rate, reverse = tax_rate(ctx.account, ctx.settings)
    tax = round_money(Fraction(net) * Fraction(rate) / _HUNDRED, ctx.currency, ctx.rounding)
    through = max((ln.priced_through for ln in lines if ln.priced_through), default=None)
    return PricedQuote(
        currency=ctx.currency,
        start=ctx.start,
        end=ctx.end,
        lines=lines,
        net_total=net,
        taxes=(TaxLine(rate, net, tax),),
        tax_total=tax,
        gross_total=net + tax,
        needs_approval=bool(reasons),
        approval_reasons=reasons,
        reverse_charge=reverse,
        proration=ctx.method,
        rounding=ctx.rounding,
        evergreen=ctx.evergreen,
        priced_through=through if ctx.evergreen else ctx.end,
    )
