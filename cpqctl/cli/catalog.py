"""`cpqctl catalog list|show`: the products you sell."""

from __future__ import annotations

from typing import Annotated

import typer

from cpqctl.cli import common
from cpqctl.cli.common import FormatOpt, RepoOpt

app = common.group("catalog", "The product catalog: list products, show one.\n\n"
                              "Example:\n\n  cpqctl catalog list\n\n  cpqctl catalog show PRO-SEAT --format json")


def _price_text(prices) -> str:
    from cpqctl.core.money import money_str

    return ", ".join(f"{cur} {money_str(v, cur)}" for cur, v in prices.items())


@app.command("list")
def list_(format: FormatOpt = "table", repo: RepoOpt = None) -> None:
    """List every product with its type, period, pricing and list prices.

    Example:

      cpqctl catalog list --format csv
    """
    _, loaded, diags = common.load(repo)
    rows = []
    for p in sorted(loaded.catalog.products.values(), key=lambda p: p.code):
        rows.append({"code": p.code, "name": p.name, "family": p.family, "type": p.type, "per": p.per,
                     "pricing": p.pricing, "price": _price_text(p.price),
                     "discount_schedule": p.discount_schedule})
    data = {"products": [{**r, "price": {c: str(v) for c, v in loaded.catalog.products[r["code"]].price.items()}}
                         for r in rows]}
    from cpqctl.render.output import emit

    emit(format, data, ["code", "name", "family", "type", "per", "pricing", "price", "discount_schedule"], rows,
         title="Catalog")


@app.command("show")
def show(code: Annotated[str, typer.Argument(help="Product code.")], format: FormatOpt = "table",
         repo: RepoOpt = None) -> None:
    """Show one product: prices, discount schedule tiers, blocks, options, constraints.

    Example:

      cpqctl catalog show PRO-SEAT
    """
    from cpqctl.core.money import fmt_decimal, fmt_percent

    _, loaded, _ = common.load(repo)
    p = common.lookup(loaded.catalog.products, code, "product", "E-UNKNOWN-PRODUCT",
                      "`cpqctl catalog list` shows every product")
    sched = loaded.catalog.schedules.get(p.discount_schedule) if p.discount_schedule else None
    data = {
        "code": p.code, "name": p.name, "family": p.family, "type": p.type, "per": p.per, "pricing": p.pricing,
        "price": {c: str(v) for c, v in p.price.items()},
        "percent": fmt_percent(p.percent) if p.percent is not None else None,
        "of": {"family": p.of_family, "products": list(p.of_products)} if p.pricing == "percent-of-total" else None,
        "min_price": {c: str(v) for c, v in p.min_price.items()},
        "blocks": [{"up_to": fmt_decimal(b.up_to), "price": {c: str(v) for c, v in b.price.items()}} for b in p.blocks],
        "discount_schedule": None if sched is None else {
            "code": sched.code, "type": sched.type,
            "tiers": [{"from": fmt_decimal(t.start), "discount": fmt_percent(t.discount)} for t in sched.tiers]},
        "requires": list(p.requires), "excludes": list(p.excludes),
        "options": [{"product": o.product, "min": fmt_decimal(o.min) if o.min is not None else None,
                     "max": fmt_decimal(o.max) if o.max is not None else None, "required": o.required,
                     "included": o.included} for o in p.options],
        "evergreen": p.evergreen,
    }
    rows = [{"field": k, "value": _flat(v)} for k, v in data.items() if v not in (None, [], {}, False)]
    from cpqctl.render.output import emit

    emit(format, data, ["field", "value"], rows, title=f"{p.code} — {p.name}")


def _flat(v) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_flat(x)}" for k, x in v.items() if x not in (None, [], {}))
    if isinstance(v, list):
        return "; ".join(_flat(x) for x in v)
    return str(v)
