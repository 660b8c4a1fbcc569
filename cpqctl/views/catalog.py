"""`cpqctl catalog list|show`: the products as JSON shapes and table rows."""

from __future__ import annotations

from cpqctl.core.money import fmt_decimal, fmt_percent, money_str


def _price_text(prices) -> str:
    return ", ".join(f"{cur} {money_str(v, cur)}" for cur, v in prices.items())


def product_rows(catalog) -> list[dict]:
    """`catalog list` as a table: one row per product by code, its prices as one text."""
    return [
        {
            "code": p.code,
            "name": p.name,
            "family": p.family,
            "type": p.type,
            "per": p.per,
            "pricing": p.pricing,
            "price": _price_text(p.price),
            "discount_schedule": p.discount_schedule,
        }
        for p in sorted(catalog.products.values(), key=lambda p: p.code)
    ]


def catalog_view(catalog, rows: list[dict]) -> dict:
    """`catalog list --format json`: the rows with each price as a ``{currency: amount}`` mapping."""
    return {
        "products": [{**r, "price": {c: str(v) for c, v in catalog.products[r["code"]].price.items()}} for r in rows]
    }


def product_view(catalog, p) -> dict:
    """`catalog show --format json`: one product, its discount schedule resolved."""
    sched = catalog.schedules.get(p.discount_schedule) if p.discount_schedule else None
    return {
        "code": p.code,
        "name": p.name,
        "family": p.family,
        "type": p.type,
        "per": p.per,
        "pricing": p.pricing,
        "price": {c: str(v) for c, v in p.price.items()},
        "percent": fmt_percent(p.percent) if p.percent is not None else None,
        "of": {"family": p.of_family, "products": list(p.of_products)} if p.pricing == "percent-of-total" else None,
        "min_price": {c: str(v) for c, v in p.min_price.items()},
        "blocks": [{"up_to": fmt_decimal(b.up_to), "price": {c: str(v) for c, v in b.price.items()}} for b in p.blocks],
        "overage": {c: str(v) for c, v in p.overage.items()},
        "discount_schedule": None
        if sched is None
        else {
            "code": sched.code,
            "type": sched.type,
            "tiers": [_tier_view(t) for t in sched.tiers],
        },
        "requires": list(p.requires),
        "excludes": list(p.excludes),
        "options": [
            {
                "product": o.product,
                "min": fmt_decimal(o.min) if o.min is not None else None,
                "max": fmt_decimal(o.max) if o.max is not None else None,
                "required": o.required,
                "included": o.included,
            }
            for o in p.options
        ],
        "evergreen": p.evergreen,
    }


def _tier_view(t) -> dict:
    """A schedule tier: `from` and `discount` (percent), as ever; an amount-off tier adds `amount_off`.

    An amount-off tier's record has discount 0 (docs/pricing-extras.md); shown
    as `0%` it would read as "no discount", so its `discount` is None. A tier
    giving both (refused by `check`) shows both.
    """
    if not t.amount_off:
        return {"from": fmt_decimal(t.start), "discount": fmt_percent(t.discount)}
    amount_only = not t.discount and "discount" not in t.at
    return {
        "from": fmt_decimal(t.start),
        "discount": None if amount_only else fmt_percent(t.discount),
        "amount_off": {c: str(v) for c, v in t.amount_off.items()},
    }


def field_rows(data: dict) -> list[dict]:
    """`catalog show` as a table: one field/value row per field that says something."""
    return [
        {"field": k, "value": _flat(_tiers_read(v) if k == "discount_schedule" else v, top=True)}
        for k, v in data.items()
        if v not in (None, [], {}, False)
    ]


def _tiers_read(sched: dict) -> dict:
    """The schedule with each tier's discount as a person reads it: `10%`, or `USD 5.00 off` for an amount."""

    def off(t: dict) -> str:
        parts = [t["discount"]] if t["discount"] is not None else []
        if t.get("amount_off"):
            parts.append(" / ".join(f"{c} {v}" for c, v in t["amount_off"].items()) + " off")
        return " + ".join(parts)

    return {**sched, "tiers": [{"from": t["from"], "discount": off(t)} for t in sched["tiers"]]}


def _flat(v, top: bool = False) -> str:
    """A value as a person reads it: yes/no for flags (never Python's True/False), one line per list item of
    records (a bundle's options), `a, b` for a list of words."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_flat(x)}" for k, x in v.items() if x not in (None, [], {}))
    if isinstance(v, list):
        records = any(isinstance(x, dict) for x in v)
        return ("\n" if records and top else "; " if records else ", ").join(_flat(x) for x in v)
    return str(v)
