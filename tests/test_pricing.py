"""The pricing waterfall (SPEC §2): worked numbers, configuration rules and refusals.

Inline catalogs are built from the model records with the small constructors
below; the example data repository at the project root supplies real
accounts and contracts (its comments state the numbers these tests recompute).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.model import (
    Account,
    Block,
    BundleOption,
    Catalog,
    Contract,
    ContractedPrice,
    DiscountSchedule,
    Product,
    Quote,
    QuoteLine,
    Segment,
    Settings,
    Source,
    Tier,
)
from cpqctl.core.money import round_places
from cpqctl.core.pricing import price_quote, quote_dates
from cpqctl.load.repo import load_repo

D = Decimal
ROOT = Path(__file__).resolve().parents[1]
START = date(2026, 1, 1)
SETTINGS = Settings(currency="USD", tax_rate=D(0), max_discount=D(20))


# --- small constructors -------------------------------------------------------


def prod(code: str, price: str | None = None, per: str | None = "year", cur: str = "USD", **kw) -> Product:
    if kw.get("type") == "one-time":
        per = None
    prices = MappingProxyType({cur: D(price)} if price is not None else {})
    return Product(code=code, name=code.title(), per=per, price=prices, **kw)


def cat(*products: Product, schedules: tuple[DiscountSchedule, ...] = ()) -> Catalog:
    return Catalog(MappingProxyType({p.code: p for p in products}), MappingProxyType({s.code: s for s in schedules}))


def sched(code: str, type_: str, *tiers: tuple[int, int]) -> DiscountSchedule:
    return DiscountSchedule(code, type_, tuple(Tier(D(f), D(d)) for f, d in tiers))


def acct(**kw) -> Account:
    return Account(**{"account": "acme", "name": "ACME", "currency": "USD", **kw})


def src(n: int) -> Source:
    return Source("quotes/Q-1.yaml", 10 + n, 5)


def ln(code: str, qty, n: int = 0, **kw) -> QuoteLine:
    return QuoteLine(product=code, quantity=D(str(qty)), src=src(n), **kw)


def quote(*lines: QuoteLine, start: date = START, **kw) -> Quote:
    return Quote(quote="Q-1", account="acme", date=start, lines=lines, start=start, **kw)


def seg(code: str, qty, price: str, start: date, end: date | None, per: str | None = "year", **kw) -> Segment:
    return Segment(
        id=f"C-1#{code}", product=code, quantity=D(str(qty)), unit_price=D(price), start=start, end=end, per=per, **kw
    )


def contract(*segments: Segment, start: date = START, end: date | None = date(2026, 12, 31), **kw) -> Contract:
    return Contract(contract="C-1", account="acme", currency="USD", start=start, end=end, lines=segments, **kw)


def price(
    catalog: Catalog,
    *lines: QuoteLine,
    account: Account | None = None,
    settings: Settings = SETTINGS,
    contract: Contract | None = None,
    **quote_kw,
):
    return price_quote(quote(*lines, **quote_kw), catalog, account or acct(), settings, contract)


@pytest.fixture(scope="module")
def repo():
    r, diags = load_repo(ROOT)
    assert not [d for d in diags if d.severity == "error"]
    return r


def price_example(repo, account: str, *lines: QuoteLine, contract: Contract | None = None, **quote_kw):
    q = Quote(quote="Q-1", account=account, date=quote_kw.get("start", START), lines=lines, **quote_kw)
    return price_quote(q, repo.catalog, repo.accounts[account], repo.settings, contract)


# --- worked numbers -----------------------------------------------------------


def test_trailhead_30_per_year_for_24_months():
    """Salesforce Trailhead (CPQ Specialist, "Subscription and Renewals"): a product priced
    $30 for a 12-month subscription term, quoted for 24 months, is prorated to $60.00."""
    pq = price(cat(prod("SUB", "30.00")), ln("SUB", 1), term=24)
    line = pq.lines[0]
    assert line.prorate_multiplier == Fraction(2)
    assert line.net_total == D("60.00") and str(pq.net_total) == "60.00"


@pytest.mark.parametrize(
    ("method", "total"),
    [
        ("monthly+daily", "4263.01"),
        ("calendar", "4290.32"),
        ("daily", "4306.85"),
        ("monthly", "5000.00"),
    ],
)
def test_spec_proration_figures(method, total):
    """SPEC §2: 2019-05-23..2019-09-30 at 12,000.00 per year is 4,263.01 (monthly+daily),
    4,290.32 (calendar), 4,306.85 (daily) and 5,000.00 (monthly)."""
    pq = price(
        cat(prod("P", "12000.00")),
        ln("P", 1),
        settings=replace(SETTINGS, proration=method),
        start=date(2019, 5, 23),
        end=date(2019, 9, 30),
    )
    assert str(pq.lines[0].net_total) == total
    assert pq.net_total == D(total)


def test_contract_proration_method_wins_over_settings():
    """SPEC §1: a contract keeps the proration method it was signed under (amendments price with it)."""
    c = contract(proration="daily")
    pq = price(
        cat(prod("P", "12000.00")),
        ln("P", 1),
        settings=replace(SETTINGS, proration="monthly"),
        contract=c,
        kind="amendment",
        start=date(2019, 5, 23),
        end=date(2019, 9, 30),
    )
    assert pq.lines[0].net_total == D("4306.85") and pq.proration == "daily"


def test_range_50_seats_at_10_percent():
    """SPEC §1 catalog: SEAT-VOLUME range tiers 1: 0%, 11: 10%, 51: 20%; 50 seats at 1,200.00
    list fall in the 10% tier: 1,080.00 net per seat, 54,000.00 a year."""
    seat = prod("PRO-SEAT", "1200.00", discount_schedule="SEAT-VOLUME")
    c = cat(seat, schedules=(sched("SEAT-VOLUME", "range", (1, 0), (11, 10), (51, 20)),))
    line = price(c, ln("PRO-SEAT", 50)).lines[0]
    assert (line.list_unit_price, line.net_unit_price, line.net_total) == (D("1200.00"), D("1080.00"), D("54000.00"))
    assert line.discount_percent == D("10")
    assert [s.label for s in line.steps] == ["list", "volume 10% (SEAT-VOLUME range, 50 units)"]
    # tier boundaries: `from` is inclusive, a tier ends where the next starts
    assert price(c, ln("PRO-SEAT", 10)).lines[0].net_unit_price == D("1200.00")
    assert price(c, ln("PRO-SEAT", 11)).lines[0].net_unit_price == D("1080.00")
    assert price(c, ln("PRO-SEAT", 51)).lines[0].net_unit_price == D("960.00")


@pytest.mark.parametrize(
    ("tiers", "expected", "total"),
    [
        # SPEC's "slab 60 seats over tiers 0/10/20% of 100.00 = 5,400.00" holds with tiers from 1, 21, 41
        (
            ((1, 0), (21, 10), (41, 20)),
            [("20", "100.00", "1-20"), ("20", "90.00", "21-40"), ("20", "80.00", "41+")],
            "5400.00",
        ),
        # tiers from 1, 11, 21: 10×100 + 10×90 + 40×80 = 5,100.00
        (
            ((1, 0), (11, 10), (21, 20)),
            [("10", "100.00", "1-10"), ("10", "90.00", "11-20"), ("40", "80.00", "21+")],
            "5100.00",
        ),
    ],
)
def test_slab_60_seats(tiers, expected, total):
    """Slab: each unit gets its own tier's discount; one priced line per tier reached.
    20×100.00 + 20×90.00 + 20×80.00 = 5,400.00 (tiers from 1/21/41); 5,100.00 with tiers from 1/11/21."""
    c = cat(prod("SEAT", "100.00", discount_schedule="S"), schedules=(sched("S", "slab", *tiers),))
    pq = price(c, ln("SEAT", 60))
    assert [(str(x.quantity), str(x.net_unit_price), x.tier) for x in pq.lines] == expected
    assert pq.net_total == D(total)


def test_slab_counts_the_contract_quantity():
    """SPEC §2 step 3: with 30 already on the contract, 20 new units occupy positions 31..50:
    10 at 10% (31-40) and 10 at 20% (41-50), tiers from 1/21/41 at 100.00."""
    c = cat(prod("SEAT", "100.00", discount_schedule="S"), schedules=(sched("S", "slab", (1, 0), (21, 10), (41, 20)),))
    k = contract(seg("SEAT", 30, "95.00", START, date(2026, 12, 31)))
    pq = price(c, ln("SEAT", 20), contract=k, kind="amendment")
    assert [(x.quantity, x.net_unit_price) for x in pq.lines] == [(D(10), D("90.00")), (D(10), D("80.00"))]
    assert pq.lines[0].steps[-1].note == "30 already on the contract"


def test_range_counts_every_product_sharing_the_schedule():
    """SPEC §2 step 3: the contract quantity of every product sharing the schedule counts."""
    s = sched("V", "range", (1, 0), (11, 10))
    c = cat(prod("A", "100.00", discount_schedule="V"), prod("B", "50.00", discount_schedule="V"), schedules=(s,))
    k = contract(seg("A", 8, "100.00", START, date(2026, 12, 31)))
    assert price(c, ln("B", 2)).lines[0].net_unit_price == D("50.00")
    assert price(c, ln("B", 3), contract=k, kind="amendment").lines[0].net_unit_price == D("45.00")


def test_spec_amendment_example(repo):
    """SPEC §6 JSON example: ACME (50 PRO-SEAT on C-2026-0001) up-sells 5 seats from 2026-04-16 to
    2026-12-31 at the owned segment's 1,080.00 (SPEC §3: no re-pricing): multiplier 0.710502,
    3,836.71 net, 882.44 VAT (23%), 4,719.15 gross."""
    c = replace(repo.contracts["C-2026-0001"], amendments=())  # the state before A-1
    up = ln("PRO-SEAT", 5, unit_price=D("1080.00"), list_price=D("1200.00"), per="year")
    pq = price_example(repo, "acme", up, contract=c, kind="amendment", start=date(2026, 4, 16))
    line = pq.lines[0]
    assert pq.end == date(2026, 12, 31)  # co-terminated with the contract
    assert (line.list_unit_price, line.net_unit_price) == (D("1200.00"), D("1080.00"))
    assert round_places(line.prorate_multiplier, 6) == D("0.710502")
    assert (str(pq.net_total), str(pq.tax_total), str(pq.gross_total)) == ("3836.71", "882.44", "4719.15")


def test_priced_amendment_line_counts_owned_quantity(repo):
    """SPEC §2 step 3 on the example catalog: a PRO-SEAT line priced by the waterfall on ACME's
    contract counts the 50 owned seats: 55 reach the 20% tier (from 51): 960.00; alone, 5 seats
    are in the 0% tier."""
    c = replace(repo.contracts["C-2026-0001"], amendments=())
    pq = price_example(repo, "acme", ln("PRO-SEAT", 5), contract=c, kind="amendment", start=date(2026, 4, 16))
    assert pq.lines[0].net_unit_price == D("960.00")
    assert pq.lines[0].steps[-1].label == "volume 20% (SEAT-VOLUME range, 55 units)"
    alone = price_example(repo, "acme", ln("PRO-SEAT", 5), start=date(2026, 4, 16), end=date(2026, 12, 31))
    assert alone.lines[0].net_unit_price == D("1200.00")


def test_contracted_price_overrides_list_and_volume():
    """SPEC §2 step 2: a contracted `price:` replaces the list price and the line gets no volume
    discount (50 seats would otherwise take 10%)."""
    c = cat(
        prod("SSO", "500.00", discount_schedule="V", family="Add-on"),
        schedules=(sched("V", "range", (1, 0), (11, 10)),),
    )
    a = acct(contracted_prices=(ContractedPrice(product="SSO", price=D("450.00")),))
    line = price(c, ln("SSO", 50), account=a).lines[0]
    assert (line.list_unit_price, line.net_unit_price, line.net_total) == (D("500.00"), D("450.00"), D("22500.00"))
    assert [(s.label, s.note) for s in line.steps] == [("list", ""), ("contracted price", "acme: SSO 450.00")]
    assert line.discount_percent == D("10")


def test_contracted_product_entry_beats_family_entry(repo):
    """SPEC §1 account example (ACME): SSO at 450.00 (product entry) and 15% off every Add-on
    (family entry): SSO is 450.00, not 425.00; AUDIT-LOG 300.00 − 15% = 255.00."""
    pq = price_example(repo, "acme", ln("PRO-SEAT", 1), ln("SSO", 1), ln("AUDIT-LOG", 1), start=START)
    assert [x.net_unit_price for x in pq.lines] == [D("1200.00"), D("450.00"), D("255.00")]
    assert pq.lines[2].steps[-1].label == "contracted 15%"


def test_contracted_price_validity_dates():
    """A contracted price applies only on the line's start date within from..until (inclusive)."""
    c = cat(prod("SSO", "500.00"))
    a = acct(
        contracted_prices=(
            ContractedPrice(
                product="SSO", price=D("450.00"), valid_from=date(2026, 1, 1), valid_until=date(2026, 6, 30)
            ),
        )
    )
    assert price(c, ln("SSO", 1), account=a, start=date(2026, 6, 30)).lines[0].net_unit_price == D("450.00")
    assert price(c, ln("SSO", 1), account=a, start=date(2026, 7, 1)).lines[0].net_unit_price == D("500.00")


def test_contracted_fixed_price_only_in_the_account_currency():
    """Decision: a contracted `price:` is in the account's currency; a quote in another
    currency uses the list price (a `discount:` entry applies in any currency)."""
    c = cat(Product("SSO", "SSO", per="year", price=MappingProxyType({"USD": D("500.00"), "EUR": D("400.00")})))
    a = acct(contracted_prices=(ContractedPrice(product="SSO", price=D("450.00")),))
    assert price(c, ln("SSO", 1), account=a, currency="EUR").lines[0].net_unit_price == D("400.00")


def test_percent_of_total_20_percent_of_54000(repo):
    """SPEC §1 catalog: SUPPORT-PREMIUM is 20% of the License lines; 50 PRO-SEAT at 1,080.00 =
    54,000.00 → 10,800.00 a year."""
    pq = price_example(repo, "acme", ln("SUPPORT-PREMIUM", 1), ln("PRO-SEAT", 50), start=START)
    support = pq.lines[0]  # computed after the other lines, shown in quote order
    assert support.product == "SUPPORT-PREMIUM" and support.net_unit_price == D("10800.00")
    assert support.steps[0].note == "20% of 54000.00"
    assert pq.net_total == D("64800.00")


def test_percent_of_total_floor_and_per_conversion():
    """min_price floors the percent; a monthly covered line counts ×12 toward a yearly product;
    one-time lines and other products are not covered."""
    c = cat(
        prod("SEAT", "100.00", per="month", family="License"),
        prod("SETUP", "999.00", type="one-time", family="License"),
        prod("OTHER", "999.00"),
        prod(
            "SUP",
            per="year",
            pricing="percent-of-total",
            percent=D(10),
            of_family="License",
            min_price=MappingProxyType({"USD": D("500.00")}),
        ),
    )
    assert price(c, ln("SEAT", 3), ln("SETUP", 1), ln("OTHER", 1), ln("SUP", 1)).lines[3].net_unit_price == D(
        "500.00"
    )  # 10% × 3 × 100.00 × 12 = 360.00, floored at 500.00
    assert price(c, ln("SEAT", 5), ln("SUP", 1)).lines[1].net_unit_price == D("600.00")


def test_percent_of_total_counts_contract_segments_on_the_line_start():
    """SPEC §2: on amendments the base includes the contract's covered segments active that day."""
    c = cat(
        prod("SEAT", "1000.00", family="License"),
        prod("SUP", per="year", pricing="percent-of-total", percent=D(20), of_products=("SEAT",)),
    )
    k = contract(
        seg("SEAT", 10, "900.00", START, date(2026, 12, 31)),
        seg("SEAT", 99, "900.00", date(2025, 1, 1), date(2025, 12, 31)),
    )  # not active: ignored
    pq = price(c, ln("SEAT", 5), ln("SUP", 1), contract=k, kind="amendment")
    assert pq.lines[1].net_unit_price == D("2800.00")  # 20% × (10 × 900 + 5 × 1000)


def test_point_one_times_three_is_exactly_030():
    """Exact decimals: 0.10 × 3 = 0.30 (a float would give 0.30000000000000004)."""
    pq = price(cat(prod("X", "0.10", type="one-time")), ln("X", 3))
    assert str(pq.lines[0].net_total) == "0.30" and str(pq.net_total) == "0.30"
    monthly = price(cat(prod("X", "0.10", per="month")), ln("X", 3), term=1)
    assert str(monthly.net_total) == "0.30"


def test_block_pricing_7_packs():
    """SPEC §1 catalog: STORAGE-PACK blocks up to 10 at 100.00 and up to 50 at 400.00: 7 packs
    cost the whole up-to-10 block, 100.00 a month (quantity is not a multiplier): 1,200.00 a year."""
    blocks = tuple(Block(D(up), MappingProxyType({"USD": D(p)})) for up, p in ((10, "100.00"), (50, "400.00")))
    c = cat(Product("PACK", "Pack", per="month", pricing="block", blocks=blocks))
    line = price(c, ln("PACK", 7)).lines[0]
    assert (line.quantity, line.net_unit_price, line.pricing) == (D(7), D("100.00"), "block")
    assert line.net_total == D("1200.00")
    assert line.steps[0].note == "block up to 10 (7 units)"
    assert price(c, ln("PACK", 11)).lines[0].net_total == D("4800.00")


def test_block_example_globex(repo):
    """Example repo (C-2026-0003): 30 STORAGE-PACK fall in Globex's "up to 50" EUR block, 95.00 a month."""
    pq = price_example(repo, "globex", ln("STORAGE-PACK", 30), start=date(2026, 3, 1), term=24)
    assert pq.lines[0].net_unit_price == D("95.00") and pq.net_total == D("2280.00")
    assert pq.reverse_charge and pq.tax_total == D("0.00") and pq.taxes[0].rate == 0


def test_manual_discount_over_max_needs_approval():
    """SPEC §2 step 4: a manual discount above approvals.max_discount (20% here) needs approval;
    an amount is compared as the percent it takes off (300.00 of 1,200.00 = 25%)."""
    c = cat(prod("P", "1200.00"))
    ok = price(c, ln("P", 1, discount=D(20)))
    assert not ok.needs_approval and ok.lines[0].net_unit_price == D("960.00")
    assert ok.lines[0].manual_discount_percent == D(20)
    over = price(c, ln("P", 1), ln("P", 1, n=1, discount=D(25)))
    assert over.needs_approval
    assert over.approval_reasons == ("line 2 (P): manual discount 25% is above the 20% limit (approvals.max_discount)",)
    amount = price(c, ln("P", 1, discount_amount=D("300.00")))
    assert amount.needs_approval and amount.lines[0].net_unit_price == D("900.00")
    assert amount.lines[0].steps[-1].label == "manual 300.00 off"


def test_manual_discount_applies_after_volume():
    """Manual discounts come off the price after steps 1-3: 1,080.00 − 5% = 1,026.00."""
    c = cat(prod("S", "1200.00", discount_schedule="V"), schedules=(sched("V", "range", (1, 0), (11, 10)),))
    line = price(c, ln("S", 50, discount=D(5))).lines[0]
    assert [s.unit_price for s in line.steps] == [D("1200.00"), D("1080.00"), D("1026.00")]
    assert line.manual_discount_percent == D(5) and line.discount_percent == D("14.50")


def test_manual_discount_below_zero_is_refused():
    with pytest.raises(CpqError) as e:
        price(cat(prod("P", "10.00")), ln("P", 1, discount_amount=D("11.00")))
    assert e.value.code == "E-DISCOUNT"


def test_frozen_lines_skip_steps_1_to_4():
    """SPEC §2 step 5 / §3: a line carrying unit_price (renewal at 1,112.40 after a 3% uplift)
    keeps it (no list, contracted or volume pricing) and is only prorated."""
    c = cat(prod("S", "1200.00", discount_schedule="V"), schedules=(sched("V", "range", (1, 0), (11, 50)),))
    a = acct(contracted_prices=(ContractedPrice(product="S", price=D("1.00")),))
    pq = price(c, ln("S", 12, unit_price=D("1112.40"), list_price=D("1200.00"), per="year"), account=a, kind="renewal")
    line = pq.lines[0]
    assert (line.list_unit_price, line.net_unit_price, line.net_total) == (D("1200.00"), D("1112.40"), D("13348.80"))
    assert [s.label for s in line.steps] == ["list", "agreed price"]


def test_frozen_line_own_dates_and_negative_quantity():
    """An amendment credit line: −5 seats at 252.00 over its own dates (2026-09-01..2028-02-29)."""
    c = cat(prod("S", "280.00"))
    q_line = ln("S", -5, unit_price=D("252.00"), per="year", start=date(2026, 9, 1), end=date(2028, 2, 29))
    pq = price(c, q_line, kind="amendment", start=date(2026, 9, 1), end=date(2028, 2, 29))
    assert pq.lines[0].prorate_multiplier == Fraction(18, 12) and pq.net_total == D("-1890.00")


def test_accepted_quote_keeps_its_frozen_totals():
    """An accepted quote shows its signed prices even if the catalog no longer knows the product."""
    q_line = ln("GONE", 1, unit_price=D("10.00"), per="year", net_total=D("10.00"))
    pq = price(cat(), q_line, status="accepted")
    assert pq.lines[0].net_total == D("10.00") and pq.lines[0].name == "GONE"


def test_rounding_once_per_line_with_policy():
    """Each line total is rounded once (0.125 → 0.13 half-up, 0.12 half-even); the quote net is
    the sum of rounded lines, and tax is rounded once on it."""
    c = cat(prod("X", "0.125", type="one-time"))
    up = price(c, ln("X", 1), ln("X", 1, n=1), account=acct(tax_rate=D(10)))
    assert [x.net_total for x in up.lines] == [D("0.13"), D("0.13")] and up.net_total == D("0.26")
    assert up.tax_total == D("0.03") and up.gross_total == D("0.29")
    even = price(c, ln("X", 1), settings=replace(SETTINGS, rounding="half-even"))
    assert even.net_total == D("0.12")


def test_tax_rate_account_then_settings():
    c = cat(prod("P", "100.00", type="one-time"))
    assert price(c, ln("P", 1), settings=replace(SETTINGS, tax_rate=D(23))).tax_total == D("23.00")
    assert price(c, ln("P", 1), account=acct(tax_rate=D(8)), settings=replace(SETTINGS, tax_rate=D(23))).tax_total == D(
        "8.00"
    )
    rc = price(c, ln("P", 1), account=acct(tax_rate=D(8), reverse_charge=True))
    assert rc.reverse_charge and rc.tax_total == D("0.00") and rc.gross_total == D("100.00")


# --- bundles and the example repo ---------------------------------------------


def test_bundle_adds_required_and_included_options(repo):
    """SPEC §1 catalog: PLATFORM requires 5..1000 PRO-SEAT and includes SSO at price 0. Quoted
    alone, it gets PRO-SEAT at its minimum (priced normally) and SSO at 0.00, both tagged."""
    pq = price_example(repo, "initech", ln("PLATFORM", 1), start=START)
    got = [(x.product, x.quantity, x.net_unit_price, x.bundle, x.index) for x in pq.lines]
    assert got == [
        ("PLATFORM", D(1), D("10000.00"), None, 0),
        ("PRO-SEAT", D(5), D("1200.00"), "PLATFORM", None),
        ("SSO", D(1), D("0.00"), "PLATFORM", None),
    ]
    assert pq.net_total == D("16000.00")


def test_umbrella_bundle_reproduces_its_contract(repo):
    """Example repo C-2026-0002: PLATFORM at the contracted 2,200.00, 20 PRO-SEAT at 252.00 (10%),
    SSO included at 0.00, SUPPORT-PREMIUM 20% of 5,040.00 = 1,008.00; 0% tax (account)."""
    pq = price_example(
        repo, "umbrella", ln("PLATFORM", 1), ln("PRO-SEAT", 20), ln("SUPPORT-PREMIUM", 1), start=date(2026, 2, 1)
    )
    got = [(x.product, x.net_unit_price, x.bundle) for x in pq.lines]
    assert got == [
        ("PLATFORM", D("2200.00"), None),
        ("SSO", D("0.00"), "PLATFORM"),
        ("PRO-SEAT", D("252.00"), "PLATFORM"),
        ("SUPPORT-PREMIUM", D("1008.00"), "PLATFORM"),
    ]
    segs = {(s.product, s.unit_price) for s in repo.contracts["C-2026-0002"].lines}
    assert {(x.product, x.net_unit_price) for x in pq.lines} == segs
    # a business outside the EU: no Polish VAT (its invoices say "np.", art. 28b; docs/invoices.md)
    assert pq.tax_total == D("0.00") and pq.reverse_charge


def test_hooli_slab_and_support_reproduce_its_contract(repo):
    """Example repo C-2026-0006: 60 PRO-SEAT at 960.00 (20%); 120 VIEWER-SEAT slab = 20 at 240.00,
    80 at 192.00, 20 at 144.00; SUPPORT-PREMIUM 20% of 80,640.00 = 16,128.00."""
    pq = price_example(
        repo, "hooli", ln("PRO-SEAT", 60), ln("VIEWER-SEAT", 120), ln("SUPPORT-PREMIUM", 1), start=date(2026, 7, 1)
    )
    got = [(x.product, x.quantity, x.net_unit_price) for x in pq.lines]
    want = [(s.product, s.quantity, s.unit_price) for s in repo.contracts["C-2026-0006"].lines]
    assert got == want


def test_included_option_costs_zero_only_with_its_bundle_on_the_quote(repo):
    """Decision: SSO listed next to PLATFORM is part of the bundle (0.00, not added twice); more SSO
    on an amendment of Umbrella's contract (which owns PLATFORM) is priced as usual (list 120.00 EUR)."""
    pq = price_example(repo, "umbrella", ln("PLATFORM", 1), ln("SSO", 1), ln("PRO-SEAT", 5), start=date(2026, 2, 1))
    assert [(x.product, x.net_unit_price) for x in pq.lines] == [
        ("PLATFORM", D("2200.00")),
        ("SSO", D("0.00")),
        ("PRO-SEAT", D("280.00")),
    ]
    c = repo.contracts["C-2026-0002"]
    more = price_example(repo, "umbrella", ln("SSO", 1), contract=c, kind="amendment", start=date(2026, 6, 1))
    assert (more.lines[0].net_unit_price, more.lines[0].bundle) == (D("120.00"), "PLATFORM")


def test_evergreen_upfront_billing_is_refused(repo):
    refused(
        "E-BILLING",
        lambda: price_example(
            repo, "hooli", ln("API-CALLS-PLAN", 1), start=START, evergreen=True, billing_frequency="upfront"
        ),
    )


def test_option_quantity_counts_the_contract():
    """Bundle option ranges are checked on quote + contract quantity (an amendment delta)."""
    c = cat(prod("B", "10.00", options=(BundleOption("S", D(5), D(10)),)), prod("S", "1.00"))
    k = contract(seg("B", 1, "10.00", START, date(2026, 12, 31)), seg("S", 8, "1.00", START, date(2026, 12, 31)))
    assert price(c, ln("S", 2), contract=k, kind="amendment").lines[0].bundle == "B"
    with pytest.raises(CpqError) as e:
        price(c, ln("S", 3, n=4), contract=k, kind="amendment")
    assert e.value.code == "E-OPTION-RANGE" and "11" in e.value.message and e.value.src == src(4)


# --- refusals -----------------------------------------------------------------


def refused(code: str, fn) -> CpqError:
    with pytest.raises(CpqError) as e:
        fn()
    assert e.value.code == code and not isinstance(e.value, UsageError)
    return e.value


def test_unknown_product(repo):
    e = refused("E-UNKNOWN-PRODUCT", lambda: price_example(repo, "acme", ln("PRO-SEET", 1, n=3), start=START))
    assert e.src == src(3) and "PRO-SEAT" in e.hint


def test_no_price_in_quote_currency(repo):
    e = refused("E-NO-PRICE", lambda: price_example(repo, "acme", ln("PRO-SEAT", 1, n=2), start=START, currency="USD"))
    assert e.src == src(2) and "USD" in e.message


def test_no_list_price_but_contracted_price():
    """The E-NO-PRICE hint's way out: a contracted fixed price stands in for the missing list price."""
    a = acct(contracted_prices=(ContractedPrice(product="P", price=D("7.00")),))
    line = price(cat(prod("P", "5.00", cur="EUR")), ln("P", 1), account=a).lines[0]
    assert (line.list_unit_price, line.net_unit_price) == (D("7.00"), D("7.00"))


def test_block_range(repo):
    e = refused("E-BLOCK-RANGE", lambda: price_example(repo, "acme", ln("STORAGE-PACK", 201, n=1), start=START))
    assert e.src == src(1) and "200" in e.message


def test_option_range(repo):
    e = refused(
        "E-OPTION-RANGE", lambda: price_example(repo, "acme", ln("PLATFORM", 1), ln("PRO-SEAT", 3, n=1), start=START)
    )
    assert "PLATFORM" in e.message and "PRO-SEAT" in e.message and e.src == src(1)


def test_requires(repo):
    e = refused("E-REQUIRES", lambda: price_example(repo, "acme", ln("SSO", 1, n=5), start=START))
    assert e.message == "SSO requires PRO-SEAT on the quote or contract" and e.src == src(5)


def test_requires_satisfied_by_the_contract(repo):
    """SPEC §1: `requires` holds with PRO-SEAT on the quote *or contract* (an ACME cross-sell)."""
    c = repo.contracts["C-2026-0001"]
    pq = price_example(repo, "acme", ln("AUDIT-LOG", 1), contract=c, kind="amendment", start=date(2026, 9, 1))
    assert pq.lines[0].net_unit_price == D("255.00")


def test_excludes(repo):
    e = refused(
        "E-EXCLUDES",
        lambda: price_example(
            repo, "acme", ln("PRO-SEAT", 1), ln("SUPPORT-BASIC", 1, n=1), ln("SUPPORT-PREMIUM", 1, n=2), start=START
        ),
    )
    assert "SUPPORT-BASIC" in e.message and "SUPPORT-PREMIUM" in e.message
    assert str(src(1)) in e.message and str(src(2)) in e.message


def test_excludes_against_the_contract(repo):
    """Initech's C-2025-0003 holds SUPPORT-BASIC: adding SUPPORT-PREMIUM is refused."""
    c = repo.contracts["C-2025-0003"]
    e = refused(
        "E-EXCLUDES",
        lambda: price_example(
            repo, "initech", ln("SUPPORT-PREMIUM", 1), contract=c, kind="amendment", start=date(2026, 3, 1)
        ),
    )
    assert "the contract" in e.message


def test_negative_on_new_quote(repo):
    e = refused("E-NEGATIVE", lambda: price_example(repo, "acme", ln("PRO-SEAT", -1, n=1), start=START))
    assert e.src == src(1)


def test_evergreen_only(repo):
    e = refused("E-EVERGREEN-ONLY", lambda: price_example(repo, "hooli", ln("API-CALLS-PLAN", 1), start=START))
    assert e.src == src(0)


# --- dates and evergreen --------------------------------------------------------


def test_quote_dates():
    """SPEC §1: start defaults to the quote date; `end` wins over `term`; no term/end = 12 months."""
    q = Quote(quote="Q", account="a", date=date(2026, 3, 15), lines=())
    assert quote_dates(q, SETTINGS) == (date(2026, 3, 15), date(2027, 3, 14))
    assert quote_dates(replace(q, start=START, term=24), SETTINGS) == (START, date(2027, 12, 31))
    assert quote_dates(replace(q, start=START, term=24, end=date(2026, 6, 30)), SETTINGS) == (START, date(2026, 6, 30))
    assert quote_dates(replace(q, evergreen=True), SETTINGS) == (date(2026, 3, 15), None)


@pytest.mark.parametrize(
    ("frequency", "total", "through"),
    [
        ("monthly", "800.00", date(2026, 5, 31)),
        ("quarterly", "2400.00", date(2026, 7, 31)),
    ],
)
def test_evergreen_quote_covers_the_first_billing_period(repo, frequency, total, through):
    """SPEC §3: an evergreen quote has no end; its total covers the first billing period
    (Hooli's API-CALLS-PLAN at the contracted 800.00 a month)."""
    pq = price_example(
        repo, "hooli", ln("API-CALLS-PLAN", 1), start=date(2026, 5, 1), evergreen=True, billing_frequency=frequency
    )
    line = pq.lines[0]
    assert pq.end is None and line.end is None and line.priced_through == through
    assert pq.net_total == D(total) and pq.priced_through == through


def test_evergreen_amendment_covers_the_rest_of_the_period(repo):
    """SPEC §3: an evergreen amendment's total covers the rest of the current billing period
    (periods anchored on the contract start): 2 more plans from 2026-06-16 to 2026-06-30."""
    c = repo.contracts["C-2026-0005"]
    pq = price_example(repo, "hooli", ln("API-CALLS-PLAN", 2), contract=c, kind="amendment", start=date(2026, 6, 16))
    assert pq.lines[0].priced_through == date(2026, 6, 30) and pq.lines[0].end is None
    assert pq.lines[0].prorate_multiplier == Fraction(12 * 15, 365)


# --- properties ------------------------------------------------------------------


@hsettings(max_examples=200, deadline=None)
@given(held=st.integers(0, 150), qty=st.integers(1, 150))
def test_slab_equals_unit_by_unit(held, qty):
    """Slab parts add up to the quantity, and their value equals pricing each new unit
    (positions held+1..held+qty) at its own tier (VIEWER-SLAB: 1: 0%, 21: 20%, 101: 40%)."""
    c = cat(prod("V", "240.00", discount_schedule="S"), schedules=(sched("S", "slab", (1, 0), (21, 20), (101, 40)),))
    k = contract(seg("V", held, "1.00", START, date(2026, 12, 31))) if held else None
    pq = price(c, ln("V", qty), contract=k, kind="amendment" if k else "new")
    assert sum(x.quantity for x in pq.lines) == qty
    per_unit = sum(
        D(240) * (100 - (0 if n < 21 else 20 if n < 101 else 40)) / 100 for n in range(held + 1, held + qty + 1)
    )
    assert pq.net_total == per_unit
