"""Amendments (SPEC §3): the delta lines a change to a signed contract needs.

`plan_changes` turns the requested changes (set, add, remove, reprice, cancel) into
quote lines, co-terminated from the effective date to the contract end:

- changes of an owned product keep the prices already signed (up-sell at the
  newest active segment's price, decreases LIFO at each segment's own price);
- a product not owned is a line *without* `unit_price`, so the pricing
  waterfall prices it today (contracted prices, schedules counting owned
  quantity); `explicit_lines` then freezes the priced result for the file.

Pure: no IO, no clock; the amendment quote's file text is
:func:`cpqctl.formats.quotes.amendment_quote_text`. Constraints (requires/excludes,
bundle ranges) are left to :func:`cpqctl.core.pricing.price_quote`, which checks
the quote plus the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from cpqctl.core import ledger
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.model import Catalog, Contract, QuoteLine, Segment, Settings, Source
from cpqctl.core.money import fmt_decimal, round_money
from cpqctl.core.pricing import covers
from cpqctl.core.terms import contract_terms

ZERO = Decimal(0)
CHANGE_KINDS = ("set", "add", "remove", "reprice")


@dataclass(frozen=True, slots=True)
class Change:
    """One requested change: kind is set | add | remove | reprice; value a quantity or a price."""

    kind: str
    product: str
    value: Decimal | None = None
    src: Source = Source("(command line)")


# --------------------------------------------------------------------------- the contract on a date


def check_amendable(c: Contract, effective: date, extend_to: date | None = None) -> None:
    """Refuse a cancelled contract, and an effective date outside [start, current end].

    An extension may also take effect on the day after the current end (it
    starts where the term stopped) and must move the end later.
    """
    canc = ledger.cancellation(c)
    if canc is not None:
        raise CpqError(
            "E-CANCELLED",
            f"contract {c.contract} is cancelled (from {canc.date}); it cannot be amended",
            "a cancelled contract is final: sell a new contract instead",
            src=c.src,
        )
    end = ledger.current_end(c)
    if extend_to is not None:
        if c.evergreen or end is None:
            raise CpqError(
                "E-EXTEND",
                f"contract {c.contract} is evergreen: it has no end to extend",
                "evergreen contracts run until cancelled",
                src=c.src,
            )
        if extend_to <= end:
            raise CpqError(
                "E-EXTEND",
                f"the new end {extend_to} does not move the end of {c.contract} ({end}) later",
                "give a date after the current end",
                src=c.where("end"),
            )
        end = end + timedelta(days=1)
    if effective < c.start or (end is not None and effective > end):
        raise CpqError(
            "E-EFFECTIVE",
            f"effective date {effective} is outside the term of {c.contract} ({c.start}..{end or 'open'})",
            "an amendment takes effect within the contract's term",
            src=c.where("start"),
        )


def active(c: Contract, product: str, d: date) -> list[tuple[Segment, Decimal]]:
    """The recurring segments of ``product`` in force on ``d``, oldest first, with what is left of each.

    Replays the ledger: a negative segment takes from the newest positive
    segment at the same unit price (how `amend` writes decreases), else from
    the newest one (LIFO). Segments left at zero are dropped.
    """
    stack: list[list] = []
    for s in c.segments():
        if s.product != product or s.one_time or not s.covers(d):
            continue
        if s.quantity > 0:
            stack.append([s, s.quantity])
            continue
        need = -s.quantity
        order = [e for e in reversed(stack) if e[0].unit_price == s.unit_price] + [
            e for e in reversed(stack) if e[0].unit_price != s.unit_price
        ]
        for e in order:
            take = min(need, e[1])
            e[1] -= take
            need -= take
            if need == 0:
                break
    return [(s, left) for s, left in stack if left > 0]


# --------------------------------------------------------------------------- delta lines


def line_of(s: Segment, qty: Decimal, start: date, end: date | None, src: Source) -> QuoteLine:
    """A delta line of ``qty`` at segment ``s``'s frozen prices from ``start``, ending with it or at ``end``."""
    return _line(s, qty, start, end, src)


def _line(
    s: Segment,
    qty: Decimal,
    start: date,
    end: date | None,
    src: Source,
    price: Decimal | None = None,
    list_price: Decimal | None = None,
) -> QuoteLine:
    """A delta line at a segment's frozen prices (or ``price``), co-terminated at ``end``."""
    seg_end = s.end if end is None or (s.end is not None and s.end < end) else end
    return QuoteLine(
        product=s.product,
        quantity=qty,
        list_price=list_price
        if list_price is not None
        else (s.list_price if s.list_price is not None else s.unit_price),
        unit_price=price if price is not None else s.unit_price,
        per=s.per,
        start=start,
        end=seg_end,
        pricing=s.pricing if s.pricing != "list" else None,
        bundle=s.bundle,
        src=src,
        timing="arrears" if s.timing == "arrears" else None,
    )


def _decrease(
    segs: list[tuple[Segment, Decimal]], k: Decimal, start: date, end: date | None, src: Source
) -> list[QuoteLine]:
    """``k`` units off, newest segments first, each at its own price."""
    out = []
    for s, left in reversed(segs):
        if k <= 0:
            break
        take = min(k, left)
        out.append(_line(s, -take, start, end, src))
        k -= take
    return out


def _set(c: Contract, catalog: Catalog, ch: Change, target: Decimal, start: date, end: date | None) -> list[QuoteLine]:
    segs = active(c, ch.product, start)
    owned = sum((left for _, left in segs), ZERO)
    if target < 0:
        raise CpqError(
            "E-NEGATIVE",
            f"`{ch.product}` would drop to {fmt_decimal(target)} (owned {fmt_decimal(owned)} on {start})",
            "a quantity cannot go below zero",
            src=ch.src,
        )
    if not segs:  # cross-sell: priced by the waterfall today
        if target == 0:
            return []
        return [QuoteLine(product=ch.product, quantity=target, start=start, end=end, src=ch.src)]
    product = catalog.products.get(ch.product)
    if (product is not None and product.pricing == "block") or any(s.pricing == "block" for s, _ in segs):
        # a block's price depends on the whole quantity: the old blocks end, the new one is priced today
        if target == owned:
            return []
        out = [_line(s, -left, start, end, ch.src) for s, left in segs]
        if target > 0:
            out.append(QuoteLine(product=ch.product, quantity=target, start=start, end=end, src=ch.src))
        return out
    if target > owned:
        newest = segs[-1][0]
        return [_line(newest, target - owned, start, end, ch.src)]
    return _decrease(segs, owned - target, start, end, ch.src)


def _reprice(c: Contract, ch: Change, start: date, end: date | None) -> list[QuoteLine]:
    segs = active(c, ch.product, start)
    if not segs:
        raise CpqError(
            "E-NOT-OWNED",
            f"`{ch.product}` is not on {c.contract} on {start}: nothing to re-price",
            "re-price a product the contract owns",
            src=ch.src,
        )
    if any(s.pricing == "block" for s, _ in segs):
        raise CpqError(
            "E-REPRICE-BLOCK",
            f"`{ch.product}` is block-priced: a block's price follows its quantity",
            "re-price a block-priced product by setting its quantity",
            src=ch.src,
        )
    out = [_line(s, -left, start, end, ch.src) for s, left in segs]
    total = sum((left for _, left in segs), ZERO)
    newest = segs[-1][0]
    out.append(
        _line(
            newest,
            total,
            start,
            end,
            ch.src,
            price=ch.value,
            list_price=newest.list_price if newest.list_price is not None else ch.value,
        )
    )
    return out


def _cancel(c: Contract, start: date, end: date | None) -> list[QuoteLine]:
    """Every active recurring segment gets a negative delta from ``start`` (first day without service)."""
    src = Source("(cancellation)")
    codes = sorted({s.product for s in c.segments() if not s.one_time and s.covers(start)})
    return [_line(s, -left, start, end, src) for code in codes for s, left in active(c, code, start)]


def _follow_percent(
    c: Contract, catalog: Catalog, lines: list[QuoteLine], start: date, end: date | None
) -> list[QuoteLine]:
    """Percent-of-total products the contract owns follow their base: old price ends, the new is priced today.

    Only when a changed line is covered by the percent product and the percent
    product itself is not changed explicitly.
    """
    changed = {ln.product for ln in lines}
    out: list[QuoteLine] = []
    for code in sorted({s.product for s in c.segments() if not s.one_time and s.covers(start)} - changed):
        p = catalog.products.get(code)
        if p is None or p.pricing != "percent-of-total":
            continue
        covered = [x for x in sorted(changed) if covers(p, x, catalog.products)]
        segs = active(c, code, start)
        if not covered or not segs:
            continue
        src = Source(f"(follows {covered[0]})")
        out.extend(_line(s, -left, start, end, src) for s, left in segs)
        qty = sum((left for _, left in segs), ZERO)
        out.append(QuoteLine(product=code, quantity=qty, start=start, end=end, bundle=segs[-1][0].bundle, src=src))
    return out


def _extend(c: Contract, old_end: date, new_end: date, uplift: Decimal | None, rounding: str) -> list[QuoteLine]:
    """Every recurring segment active on the last day continues from the next day to ``new_end``.

    Same product at the same price merges into one line; with ``uplift``
    (the contract's renewal uplift, when its renewal pricing is `uplift`) the
    unit price is uplifted and rounded to the currency's minor unit by ``rounding``.
    """
    src = Source("(extension)")
    start = old_end + timedelta(days=1)
    merged: dict[tuple, list] = {}
    for code in sorted({s.product for s in c.segments() if not s.one_time and s.covers(old_end)}):
        for s, left in active(c, code, old_end):
            key = (s.product, s.unit_price, s.list_price, s.per, s.pricing, s.bundle)
            merged.setdefault(key, [s, ZERO])[1] += left
    out: list[QuoteLine] = []
    for (_, unit, list_price, *_rest), (s, qty) in merged.items():
        price = unit
        if uplift:
            price = round_money(Fraction(unit) * (1 + Fraction(uplift) / 100), c.currency, rounding)
        shown_list = list_price if list_price is not None and list_price >= price else price
        out.append(replace(_line(s, qty, start, new_end, src, price=price, list_price=shown_list), end=new_end))
    return out


def plan_changes(
    c: Contract,
    catalog: Catalog,
    settings: Settings,
    effective: date,
    changes: list[Change],
    cancel: bool = False,
    extend_to: date | None = None,
    uplift: Decimal | None = None,
) -> list[QuoteLine]:
    """The amendment's delta lines (cross-sells without unit_price, to be priced by the waterfall).

    With ``extend_to`` the changes are co-terminated at the new end and the
    lines active on the old last day continue to it (at ``uplift`` if given,
    rounded as the contract rounds: its own ``rounding:``, else cpq.toml's).
    """
    check_amendable(c, effective, extend_to)
    end = ledger.current_end(c)
    if cancel:
        return _cancel(c, effective, end)
    extension: list[QuoteLine] = []
    if extend_to is not None and end is not None:  # check_amendable refused extending an open end
        extension = _extend(c, end, extend_to, uplift, contract_terms(c, settings).rounding)
    seen: set[str] = set()
    out: list[QuoteLine] = []
    for ch in changes:
        if ch.product in seen:
            raise UsageError("E-USAGE", f"`{ch.product}` is changed twice in one amendment", "one change per product")
        seen.add(ch.product)
        if ch.kind not in CHANGE_KINDS:  # only a library caller can get these wrong
            raise UsageError("E-USAGE", f"unknown change `{ch.kind}` of `{ch.product}`", "set, add, remove or reprice")
        if ch.kind != "remove" and ch.value is None:
            raise UsageError("E-USAGE", f"`{ch.product}`: {ch.kind} needs a value", "e.g. PRO-SEAT=60")
        if ch.kind == "reprice":
            out.extend(_reprice(c, ch, effective, end))
            continue
        owned = sum((left for _, left in active(c, ch.product, effective)), ZERO)
        if ch.kind == "remove":
            if owned == 0:
                raise CpqError(
                    "E-NOT-OWNED",
                    f"`{ch.product}` is not on {c.contract} on {effective}: nothing to remove",
                    "remove a product the contract owns",
                    src=ch.src,
                )
            target = ZERO
        elif ch.kind == "add":
            target = owned + (ch.value or ZERO)
        else:
            target = ch.value or ZERO
        out.extend(_set(c, catalog, ch, target, effective, end))
    out.extend(_follow_percent(c, catalog, out, effective, end))
    if extend_to is not None:  # changes run to the new end: the continuation carries the old configuration
        out = [replace(ln, end=extend_to) if ln.end == end else ln for ln in out]
    return extension + out


# --------------------------------------------------------------------------- the quote file


def explicit_lines(priced) -> list[QuoteLine]:
    """The priced quote's lines as explicit delta lines (every price frozen, as written to the file)."""
    return [
        QuoteLine(
            product=ln.product,
            quantity=ln.quantity,
            list_price=ln.list_unit_price,
            unit_price=ln.net_unit_price,
            per=ln.per,
            start=ln.start,
            end=ln.end,
            pricing=ln.pricing if ln.pricing == "block" else None,
            bundle=ln.bundle,
            src=ln.src,
            timing="arrears" if ln.timing == "arrears" else None,
        )
        for ln in priced.lines
    ]
