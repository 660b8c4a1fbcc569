"""Issue 15's two catalog pricing features (docs/pricing-extras.md), with worked numbers.

1. Amount-off volume tiers: a discount schedule tier may take `amount_off:`
   (per unit, per currency, like `price:`) instead of a `discount:` percent,
   in `range` and `slab` schedules.
2. Block overage: a `pricing: block` product with `overage:` bills a quantity
   above its last block as the last block's price + (quantity − up_to) ×
   overage, as one block line (so amendments, renewals and invoices treat it
   as any other block).

Catalogs are read from YAML text through the loader (positions included) or
built from model records; the amendment, renewal and invoice checks run the
CLI on a small inline repository.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from types import MappingProxyType

import pytest

from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.model import (
    Account,
    Block,
    Catalog,
    Contract,
    DiscountSchedule,
    Product,
    Quote,
    QuoteLine,
    Segment,
    Settings,
    Source,
    Tier,
)
from cpqctl.core.pricing import Step, price_quote
from cpqctl.load import cache
from cpqctl.load.repo import FileResult, load_bytes

D = Decimal
START = date(2026, 1, 1)
SETTINGS = Settings(currency="USD", tax_rate=D(0), max_discount=D(20))
CATALOG_FILE = "catalog/products.yaml"


# --------------------------------------------------------------------------- helpers


def load_catalog(text: str) -> tuple[Catalog, list]:
    """A catalog file's text through the loader: (catalog, diagnostics)."""
    res = load_bytes(CATALOG_FILE, "catalog", text.encode("utf-8"))
    if not res.records:
        return Catalog(MappingProxyType({}), MappingProxyType({})), res.diagnostics
    prods, scheds = res.records
    return (
        Catalog(MappingProxyType({p.code: p for p in prods}), MappingProxyType({s.code: s for s in scheds})),
        res.diagnostics,
    )


def catalog_ok(text: str) -> Catalog:
    c, diags = load_catalog(text)
    assert not diags, diags
    return c


def seat_catalog(schedule_type: str, *tiers: str, price: str = "{USD: 120.00}") -> Catalog:
    """SEAT at 120.00 a year on schedule SEAT-VOL of ``schedule_type`` with ``tiers`` (flow mappings)."""
    rows = "".join(f"      - {t}\n" for t in tiers)
    return catalog_ok(
        "products:\n"
        f"  - {{code: SEAT, name: Seat, per: year, price: {price}, discount_schedule: SEAT-VOL}}\n"
        "discount_schedules:\n"
        "  - code: SEAT-VOL\n"
        f"    type: {schedule_type}\n"
        "    tiers:\n" + rows
    )


def acct(currency: str = "USD") -> Account:
    return Account(account="acme", name="ACME", currency=currency)


def ln(code: str, qty, **kw) -> QuoteLine:
    return QuoteLine(product=code, quantity=D(str(qty)), src=Source("quotes/Q-1.yaml", 10, 5), **kw)


def price(catalog: Catalog, *lines: QuoteLine, contract: Contract | None = None, currency: str = "USD", **kw):
    q = Quote(quote="Q-1", account="acme", date=START, lines=lines, start=START, currency=currency, **kw)
    return price_quote(q, catalog, acct(currency), SETTINGS, contract)


def seat_contract(qty: int) -> Contract:
    seg = Segment(
        id="C-1#1",
        product="SEAT",
        quantity=D(qty),
        unit_price=D("120.00"),
        start=START,
        end=date(2026, 12, 31),
        per="year",
    )
    return Contract(contract="C-1", account="acme", currency="USD", start=START, end=date(2026, 12, 31), lines=(seg,))


def refused(code: str, fn) -> CpqError:
    with pytest.raises(CpqError) as e:
        fn()
    assert e.value.code == code and not isinstance(e.value, UsageError)
    return e.value


def position(text: str, line_text: str, needle: str) -> tuple[int, int]:
    """(line, column), 1-based, of ``needle`` on the line of ``text`` that contains ``line_text``."""
    for n, row in enumerate(text.splitlines(), 1):
        if line_text in row:
            return n, row.index(needle) + 1
    raise AssertionError(line_text)


def parts(pq) -> list[tuple[Decimal, Decimal, str | None, Decimal]]:
    return [(x.quantity, x.net_unit_price, x.tier, x.net_total) for x in pq.lines]


# --------------------------------------------------------------------------- amount-off tiers


def test_issue_15_example_5_off_per_unit_above_50_slab():
    """Issue 15's example, "$5 off per unit above 50": a slab schedule whose tier from 51 takes
    amount_off 5.00 — units 1-50 cost the list 120.00 a year, units 51+ cost 120.00 − 5.00 = 115.00.
    60 seats for a year: 50 × 120.00 + 10 × 115.00 = 6,000.00 + 1,150.00 = 7,150.00."""
    c = seat_catalog("slab", "{from: 51, amount_off: {USD: 5.00}}")
    pq = price(c, ln("SEAT", 60))
    assert parts(pq) == [
        (D(50), D("120.00"), "1-50", D("6000.00")),
        (D(10), D("115.00"), "51+", D("1150.00")),
    ]
    assert pq.net_total == D("7150.00")
    # the step explains the amount off as the percent steps explain theirs
    assert pq.lines[0].steps == (Step("list", D("120.00")),)
    assert pq.lines[1].steps[-1] == Step("volume 5.00 off (SEAT-VOL slab, units 51+)", D("115.00"), "per unit")
    assert pq.lines[1].discount_percent == D("4.17")  # 5 of 120, for documents
    # 50 seats stay below the tier: the list price
    assert parts(price(c, ln("SEAT", 50))) == [(D(50), D("120.00"), "1-50", D("6000.00"))]


def test_amount_off_range_prices_every_unit_at_the_tier_of_the_total():
    """Range: the tier of the total quantity applies to all units: 60 × (120.00 − 5.00) = 6,900.00."""
    c = seat_catalog("range", "{from: 1, discount: 0%}", "{from: 51, amount_off: {USD: 5.00}}")
    pq = price(c, ln("SEAT", 60))
    (line,) = pq.lines
    assert (line.net_unit_price, line.net_total) == (D("115.00"), D("6900.00"))
    assert line.steps[-1] == Step("volume 5.00 off (SEAT-VOL range, 60 units)", D("115.00"), "per unit")
    assert price(c, ln("SEAT", 50)).net_total == D("6000.00")


def test_percent_and_amount_tiers_mix_in_one_slab():
    """1-10 at list, 11-50 10% off (108.00), 51+ 20.00 off (100.00): 60 seats =
    10 × 120.00 + 40 × 108.00 + 10 × 100.00 = 1,200.00 + 4,320.00 + 1,000.00 = 6,520.00."""
    c = seat_catalog(
        "slab", "{from: 1, discount: 0%}", "{from: 11, discount: 10%}", "{from: 51, amount_off: {USD: 20.00}}"
    )
    pq = price(c, ln("SEAT", 60))
    assert [(x.quantity, x.net_unit_price) for x in pq.lines] == [
        (D(10), D("120.00")),
        (D(40), D("108.00")),
        (D(10), D("100.00")),
    ]
    assert [x.steps[-1].label for x in pq.lines[1:]] == [
        "volume 10% (SEAT-VOL slab, units 11-50)",
        "volume 20.00 off (SEAT-VOL slab, units 51+)",
    ]
    assert pq.net_total == D("6520.00")


def test_an_amendment_counts_the_contract_quantity_for_amount_tiers():
    """SPEC §2 step 3 on amendments: 45 seats on the contract + 10 more = 55.
    Range: all 10 new seats at 115.00; slab: positions 46-50 at 120.00, 51-55 at 115.00."""
    k = seat_contract(45)
    rng = seat_catalog("range", "{from: 51, amount_off: {USD: 5.00}}")
    (line,) = price(rng, ln("SEAT", 10), contract=k, kind="amendment").lines
    assert (line.net_unit_price, line.net_total) == (D("115.00"), D("1150.00"))
    assert line.steps[-1] == Step(
        "volume 5.00 off (SEAT-VOL range, 55 units)", D("115.00"), "per unit, 45 already on the contract"
    )
    slab = seat_catalog("slab", "{from: 51, amount_off: {USD: 5.00}}")
    pq = price(slab, ln("SEAT", 10), contract=k, kind="amendment")
    assert [(x.quantity, x.net_unit_price) for x in pq.lines] == [(D(5), D("120.00")), (D(5), D("115.00"))]
    assert pq.net_total == D("1175.00")


def test_a_slab_decrease_credits_the_top_units_at_their_own_amount_off_price():
    """60 on the contract, 15 fewer: positions 46-60 leave — 46-50 at 120.00, 51-60 at 115.00."""
    slab = seat_catalog("slab", "{from: 51, amount_off: {USD: 5.00}}")
    pq = price(slab, ln("SEAT", -15), contract=seat_contract(60), kind="amendment")
    assert [(x.quantity, x.net_unit_price, x.net_total) for x in pq.lines] == [
        (D(-5), D("120.00"), D("-600.00")),
        (D(-10), D("115.00"), D("-1150.00")),
    ]


def test_the_amount_off_is_taken_in_the_quote_currency():
    """amount_off is a per-currency map like `price:`: a EUR quote takes the EUR amount (100.00 − 4.50)."""
    c = seat_catalog(
        "range", "{from: 51, amount_off: {USD: 5.00, EUR: 4.50}}", price="{USD: 120.00, EUR: 100.00, GBP: 90.00}"
    )
    assert price(c, ln("SEAT", 60), currency="EUR").lines[0].net_unit_price == D("95.50")
    assert price(c, ln("SEAT", 60)).lines[0].net_unit_price == D("115.00")
    # a currency the product has but the reached tier lacks: refused, at the tier's amount_off
    e = refused("E-SCHEDULE", lambda: price(c, ln("SEAT", 60), currency="GBP"))
    assert "no amount_off in GBP" in e.message and "GBP" in e.hint
    assert (e.src.file, e.src.line) == (CATALOG_FILE, 7)
    # below the tier, the GBP quote is priced at list
    assert price(c, ln("SEAT", 50), currency="GBP").lines[0].net_unit_price == D("90.00")


def test_a_manual_discount_applies_after_the_amount_off():
    """Step 4 after step 3: 115.00 after the volume amount, then 10% manual = 103.50."""
    c = seat_catalog("range", "{from: 51, amount_off: {USD: 5.00}}")
    (line,) = price(c, ln("SEAT", 60, discount=D(10))).lines
    assert [s.label for s in line.steps] == ["list", "volume 5.00 off (SEAT-VOL range, 60 units)", "manual 10%"]
    assert line.net_unit_price == D("103.50") and line.manual_discount_percent == D(10)


def test_an_amount_off_up_to_the_list_price_is_allowed_above_it_refused():
    """An amount equal to the list price makes the units free; one above it would price below zero:
    E-TIER-AMOUNT at the tier's amount_off (file:line:col), the list price in the hint."""
    free = seat_catalog("slab", "{from: 51, amount_off: {USD: 120.00}}")
    assert [x.net_unit_price for x in price(free, ln("SEAT", 55)).lines] == [D("120.00"), D("0.00")]
    text_tier = "{from: 51, amount_off: {USD: 120.01}}"
    over = seat_catalog("slab", text_tier)
    e = refused("E-TIER-AMOUNT", lambda: price(over, ln("SEAT", 55)))
    assert "SEAT-VOL" in e.message and "120.01" in e.message and "below zero" in e.message
    assert "120.00" in e.hint
    assert (e.src.file, e.src.line, e.src.column) == (CATALOG_FILE, 7, len("      - {from: 51, amount_off: ") + 1)
    # the tier is not reached: nothing to refuse
    assert price(over, ln("SEAT", 50)).net_total == D("6000.00")


def test_a_tier_with_both_a_percent_and_an_amount_is_refused_where_it_is_written():
    text = """\
products:
  - {code: SEAT, name: Seat, per: year, price: {USD: 120.00}, discount_schedule: SEAT-VOL}
discount_schedules:
  - code: SEAT-VOL
    type: range
    tiers:
      - {from: 1, discount: 0%}
      - {from: 51, discount: 5%, amount_off: {USD: 5.00}}
"""
    c = catalog_ok(text)
    # refused whatever the quantity: the schedule itself is wrong
    e = refused("E-SCHEDULE", lambda: price(c, ln("SEAT", 3)))
    assert "both `discount` and `amount_off`" in e.message and "keep one" in e.hint
    assert (e.src.file, (e.src.line, e.src.column)) == (CATALOG_FILE, position(text, "from: 51", "{USD"))


def test_a_tier_with_neither_a_percent_nor_an_amount_is_refused():
    text = """\
products:
  - {code: SEAT, name: Seat, per: year, price: {USD: 120.00}, discount_schedule: SEAT-VOL}
discount_schedules:
  - code: SEAT-VOL
    type: slab
    tiers:
      - {from: 1, discount: 0%}
      - {from: 51}
"""
    c = catalog_ok(text)
    e = refused("E-SCHEDULE", lambda: price(c, ln("SEAT", 3)))
    assert "neither `discount` nor `amount_off`" in e.message
    assert (e.src.file, (e.src.line, e.src.column)) == (CATALOG_FILE, position(text, "{from: 51}", "{from"))


def test_tiers_built_in_code_tell_both_by_their_values():
    """A Tier made in Python (no key positions) with a percent and an amount is refused too."""
    tier = Tier(D(51), D(5), MappingProxyType({"USD": D(5)}))
    seat = Product("SEAT", "Seat", per="year", price=MappingProxyType({"USD": D(120)}), discount_schedule="V")
    c = Catalog(MappingProxyType({"SEAT": seat}), MappingProxyType({"V": DiscountSchedule("V", "range", (tier,))}))
    refused("E-SCHEDULE", lambda: price(c, ln("SEAT", 60)))
    ok = DiscountSchedule("V", "range", (Tier(D(51), D(0), MappingProxyType({"USD": D(5)})),))
    c2 = Catalog(MappingProxyType({"SEAT": seat}), MappingProxyType({"V": ok}))
    assert price(c2, ln("SEAT", 60)).lines[0].net_unit_price == D("115.00")


@pytest.mark.parametrize(
    "tier, code",
    [
        ("{from: 51, amount_off: 5.00}", "E-TYPE"),  # a plain number: the currency must be said
        ("{from: 51, amount_off: {USD: -5.00}}", "E-NEGATIVE"),
        ("{from: 51, amount_off: {usd: 5.00}}", "E-CURRENCY"),
        ("{from: 51, amount_off: {USD: '5,00'}}", "E-NUMBER"),
    ],
)
def test_the_loader_refuses_an_amount_off_that_is_not_a_currency_map(tier, code):
    text = (
        "discount_schedules:\n  - code: V\n    type: range\n    tiers:\n"
        "      - {from: 1, discount: 0%}\n"
        f"      - {tier}\n"
    )
    _, diags = load_catalog(text)
    assert [(d.code, d.line) for d in diags] == [(code, 6)]


def test_amount_tiers_and_overage_survive_the_parse_cache():
    """The new fields are cacheable types (Mapping[str, Decimal], Source, key positions) and come back exactly."""
    text = """\
products:
  - code: STORAGE
    name: Storage
    per: month
    pricing: block
    blocks:
      - {up_to: 100, price: {USD: 400.00}}
    overage: {USD: 5.00, EUR: 4.25}
discount_schedules:
  - code: V
    type: slab
    tiers:
      - {from: 1, discount: 0%}
      - {from: 51, amount_off: {USD: 5.00}}
"""
    res = load_bytes(CATALOG_FILE, "catalog", text.encode())
    codec = cache.codec()
    keysets: list = []
    codec.bind(keysets)
    encoded = json.dumps([keysets, codec.encode_result(CATALOG_FILE, res)])
    keysets2, data = json.loads(encoded)
    codec.bind(keysets2)
    back: FileResult = codec.decode_result(CATALOG_FILE, data)
    assert back.records == res.records
    (storage,), (sched,) = back.records
    assert dict(storage.overage) == {"EUR": D("4.25"), "USD": D("5.00")}
    assert type(storage.overage["USD"]) is Decimal
    tier = sched.tiers[1]
    assert dict(tier.amount_off) == {"USD": D("5.00")} and tier.discount == 0
    assert tier.src == Source(CATALOG_FILE, 14, 9) and set(tier.at) == {"from", "amount_off"}


# --------------------------------------------------------------------------- block overage

BLOCKS = """\
products:
  - code: STORAGE
    name: Storage pack
    type: subscription
    per: month
    pricing: block
    blocks:
      - {up_to: 10, price: {USD: 100.00}}
      - {up_to: 100, price: {USD: 400.00}}
    overage: {USD: 5.00}
"""


def test_block_overage_bills_the_last_block_plus_the_units_above_it():
    """Blocks up to 10 at 100.00 and up to 100 at 400.00 a month, overage 5.00 per unit:
    130 units cost 400.00 + 30 × 5.00 = 550.00 a month, one block line: 12 × 550.00 = 6,600.00."""
    c = catalog_ok(BLOCKS)
    (line,) = price(c, ln("STORAGE", 130)).lines
    assert (line.quantity, line.pricing, line.list_unit_price, line.net_unit_price) == (
        D(130),
        "block",
        D("550.00"),
        D("550.00"),
    )
    assert line.net_total == D("6600.00")
    assert line.steps == (
        Step("list", D("550.00"), "block up to 100 (400.00) + 30 units over at 5.00 overage (130 units)"),
    )
    # the last block itself and one unit over it
    assert price(c, ln("STORAGE", 100)).lines[0].net_unit_price == D("400.00")
    assert price(c, ln("STORAGE", 101)).lines[0].net_unit_price == D("405.00")
    assert price(c, ln("STORAGE", 7)).lines[0].net_unit_price == D("100.00")


def test_block_overage_with_a_fractional_rate_stays_exact():
    """0.125 per unit over: 400.00 + 3 × 0.125 = 400.375 — an exact unit price; the line total is rounded once
    (12 × 400.375 = 4,804.50)."""
    c = catalog_ok(BLOCKS.replace("overage: {USD: 5.00}", "overage: {USD: 0.125}"))
    (line,) = price(c, ln("STORAGE", 103)).lines
    assert line.net_unit_price == D("400.375") and line.net_total == D("4804.50")


def test_without_overage_a_quantity_beyond_the_last_block_is_still_refused():
    c = catalog_ok(BLOCKS.replace("    overage: {USD: 5.00}\n", ""))
    e = refused("E-BLOCK-RANGE", lambda: price(c, ln("STORAGE", 130)))
    assert "beyond the last block (up to 100)" in e.message and "overage" in e.hint
    assert e.src == Source("quotes/Q-1.yaml", 10, 5)


def test_overage_needs_the_quote_currency():
    """An overage price only in EUR: a USD quote above the last block has no price (E-NO-PRICE); within it, fine."""
    c = catalog_ok(BLOCKS.replace("overage: {USD: 5.00}", "overage: {EUR: 4.00}"))
    e = refused("E-NO-PRICE", lambda: price(c, ln("STORAGE", 130)))
    assert "USD" in e.message
    assert price(c, ln("STORAGE", 90)).lines[0].net_unit_price == D("400.00")


def test_overage_on_a_product_that_is_not_block_priced_is_refused():
    text = """\
products:
  - {code: SEAT, name: Seat, per: year, price: {USD: 120.00}, overage: {USD: 5.00}}
"""
    c = catalog_ok(text)
    e = refused("E-PRODUCT-OVERAGE", lambda: price(c, ln("SEAT", 3)))
    assert "not block-priced" in e.message
    assert (e.src.file, (e.src.line, e.src.column)) == (CATALOG_FILE, position(text, "SEAT", "{USD: 5"))


def test_a_block_decrease_uses_the_overage_price_of_its_quantity():
    """A removed block line (negative quantity) is priced by its size and counts −1, overage included."""
    c = catalog_ok(BLOCKS)
    (line,) = price(c, ln("STORAGE", -130), kind="amendment").lines
    assert (line.net_unit_price, line.net_total) == (D("550.00"), D("-6600.00"))


def test_a_model_built_product_takes_overage_too():
    blocks = (Block(D(100), MappingProxyType({"USD": D("400.00")})),)
    p = Product(
        "PACK", "Pack", per="month", pricing="block", blocks=blocks, overage=MappingProxyType({"USD": D("5.00")})
    )
    c = Catalog(MappingProxyType({"PACK": p}), MappingProxyType({}))
    assert price(c, ln("PACK", 130)).lines[0].net_unit_price == D("550.00")


# --------------------------------------------------------------------------- amendments, renewals, invoices

CLI_CATALOG = BLOCKS.replace("USD", "PLN")
CONTRACT = """\
contract: C-2024-0001
account: acme
currency: PLN
start: 2024-01-01
end: 2024-12-31
lines:
  - {product: STORAGE, quantity: 90, unit_price: 400.00, per: month, start: 2024-01-01, end: 2024-12-31, pricing: block}
"""
CPATH = "contracts/acme/C-2024-0001.yaml"


@pytest.fixture
def storage(repo):
    return repo(
        {
            "catalog/products.yaml": CLI_CATALOG,
            "contracts/acme/account.yaml": "account: acme\nname: ACME\ncurrency: PLN\n",
            CPATH: CONTRACT,
        }
    )


def run(cli, root, as_of: str, *args) -> dict:
    """A cpqctl command on ``root`` as of ``as_of``, its JSON output (the command must succeed)."""
    r = cli(*args, "--repo", root, "--as-of", as_of, "--format", "json")
    assert r.code == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def lines_of(data: dict) -> list[tuple[str, str, str]]:
    return [(x["quantity"], x["net_unit_price"], x["net_total"]) for x in data["lines"]]


def accept(cli, root, quote: str, as_of: str) -> None:
    r = cli("quote", "accept", quote, "--signed-by", "X", "--repo", root, "--as-of", as_of)
    assert r.code == 0, r.stdout + r.stderr


def upsell_to_130(cli, root) -> dict:
    """Amendment Q-2024-0001: STORAGE 90 → 130 from 2024-07-01 (its draft's JSON)."""
    return run(cli, root, "2024-06-01", "amend", "C-2024-0001", "--effective", "2024-07-01", "--set", "STORAGE=130")


def test_upsell_across_the_last_block_prices_the_delta(cli, storage):
    """Blocks up to 100 at 400.00 a month, overage 5.00. The contract holds 90 (the up-to-100 block);
    an amendment from 2024-07-01 sets 130: the old block ends (−90 at 400.00) and the new quantity
    is priced today (130 at 400.00 + 30 × 5.00 = 550.00). Over the 6 remaining months:
    −2,400.00 + 3,300.00 = 900.00 = 30 units × 5.00 × 6 months — exactly the overage."""
    root = storage
    data = upsell_to_130(cli, root)
    assert lines_of(data) == [("-90", "400.00", "-2400.00"), ("130", "550.00", "3300.00")]
    assert data["net_total"] == "900.00"
    # the draft's explicit lines are both block lines, and price the same when read back
    assert (root / "quotes/Q-2024-0001.yaml").read_text().count("pricing: block") == 2
    assert run(cli, root, "2024-06-01", "quote", "show", "Q-2024-0001")["net_total"] == "900.00"

    accept(cli, root, "Q-2024-0001", "2024-06-10")
    assert cli("check", "--repo", root).code == 0
    shown = run(cli, root, "2024-08-01", "contract", "show", "C-2024-0001")
    assert [(o["product"], o["quantity"], o["mrr"]) for o in shown["owned"]] == [("STORAGE", "130", "550.00")]

    # invoices (annual, in advance): the year at 90 (12 × 400.00) — due 2024-01-01, so issued on the run's day
    # 2024-06-20 — then, on the amendment's day 2024-07-01 (a run ahead of time dates it on its billing day), the
    # old block's −90 × 400.00 × 6 months = −2,400.00 for a period that 06-20's invoice bills: a corrective invoice
    # of it (docs/invoices.md), numbered before the new block's regular invoice, 130 at 550.00 × 6 = 3,300.00 —
    # as when the year's invoice was issued by an earlier run; together the 900.00 of the quote
    invoices = run(cli, root, "2024-06-20", "invoice", "run", "--through", "2024-12-31", "--dry-run")["invoices"]
    assert [
        (
            i["date"],
            i["period_start"],
            i["net_total"],
            [(ln["kind"], ln["quantity"], ln["amount"]) for ln in i["lines"]],
        )
        for i in invoices
    ] == [
        ("2024-06-20", "2024-01-01", "4800.00", [("recurring", "90", "4800.00")]),
        ("2024-07-01", "2024-07-01", "-2400.00", [("credit", "-90", "-2400.00")]),
        ("2024-07-01", "2024-07-01", "3300.00", [("proration", "130", "3300.00")]),
    ]
    assert sum(Decimal(i["net_total"]) for i in invoices[1:]) == Decimal("900.00")

    # and back below the boundary from 2024-10-01: −550.00 + 400.00 over 3 months = −450.00
    down = run(cli, root, "2024-09-01", "amend", "C-2024-0001", "--effective", "2024-10-01", "--set", "STORAGE=90")
    assert lines_of(down) == [("-130", "550.00", "-1650.00"), ("90", "400.00", "1200.00")]
    assert down["net_total"] == "-450.00"


def test_a_change_within_the_overage_prices_the_units_at_the_overage_rate(cli, storage):
    """From 130 to 120 (both above the last block): −550.00 + 500.00 = −50.00 a month = 10 × 5.00."""
    root = storage
    upsell_to_130(cli, root)
    accept(cli, root, "Q-2024-0001", "2024-06-10")
    data = run(cli, root, "2024-09-01", "amend", "C-2024-0001", "--effective", "2024-10-01", "--set", "STORAGE=120")
    assert lines_of(data) == [("-130", "550.00", "-1650.00"), ("120", "500.00", "1500.00")]
    assert data["net_total"] == "-150.00"  # 10 units × 5.00 × 3 months


@pytest.mark.parametrize("method", ["same", "list"])
def test_a_renewal_keeps_the_overage_price(cli, storage, method):
    """A renewal of 130 units: `same` keeps the signed 550.00 block line; `list` re-prices it from the
    catalog to the same 400.00 + 30 × 5.00. One line, 12 × 550.00 = 6,600.00."""
    root = storage
    upsell_to_130(cli, root)
    accept(cli, root, "Q-2024-0001", "2024-06-10")
    data = run(cli, root, "2024-10-01", "renew", "C-2024-0001", "--pricing", method)
    assert [(x["product"], x["quantity"], x["net_unit_price"]) for x in data["lines"]] == [("STORAGE", "130", "550.00")]
    assert data["net_total"] == "6600.00"
    # `same` freezes the block line; `list` leaves it to the catalog: either reads back at the same price
    text = (root / "quotes/Q-2024-0002.yaml").read_text()
    assert ("pricing: block" in text) == (method == "same")
    assert run(cli, root, "2024-10-01", "quote", "show", "Q-2024-0002")["net_total"] == "6600.00"
