"""Metrics (SPEC §5, §6): MRR/ARR, MRR movements, retention and LTV.

The pure functions run on small in-memory ledgers built from the model
records; the commands run on the example repository (whose contract comments
give the figures) and on inline repositories.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from cpqctl.core import metrics
from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import Amendment, Catalog, Contract, Product, Repo, Segment, Settings
from cpqctl.views import reports as views

D = Decimal


def seg(
    product: str,
    qty: str,
    price: str,
    start: date,
    end: date | None,
    per: str | None = "month",
    pricing: str = "list",
    n: int = 1,
) -> Segment:
    return Segment(f"S#{n}", product, D(qty), D(price), start, end, per=per, pricing=pricing)


def contract(
    cid: str, account: str, lines, start=date(2026, 1, 1), end=date(2026, 12, 31), currency="PLN", amendments=()
) -> Contract:
    return Contract(cid, account, currency, start, end, tuple(lines), tuple(amendments))


def repo_of(*contracts: Contract, fx: dict | None = None, currency="PLN", products=(), cac=None, margin="100") -> Repo:
    s = Settings(
        currency=currency,
        fx=MappingProxyType({k: D(v) for k, v in (fx or {}).items()}),
        cac=D(cac) if cac else None,
        gross_margin=D(margin),
    )
    cat = Catalog(products=MappingProxyType({p.code: p for p in products}))
    return Repo(settings=s, catalog=cat, contracts={c.contract: c for c in contracts})


def total_mrr(repo: Repo, day: date) -> Fraction:
    return metrics.arr_report(repo, day).total


JAN1, DEC31 = date(2026, 1, 1), date(2026, 12, 31)


# ---------------------------------------------------------------- MRR / ARR


def test_an_annual_1200_is_100_mrr() -> None:
    """One seat at 1,200.00 per year is 1,200.00 / 12 = 100.00 MRR and 1,200.00 ARR."""
    r = repo_of(contract("C-1", "a", [seg("SEAT", "1", "1200.00", JAN1, DEC31, per="year")]))
    rep = metrics.arr_report(r, date(2026, 6, 30))
    assert rep.total == 100
    view = views.arr_view(rep)
    assert (view["mrr"], view["arr"]) == ("100.00", "1200.00")


def test_monthly_and_annual_lines_add_up_to_12500_mrr() -> None:
    """100 × 100.00/month = 10,000.00 and 50 × 600.00/year = 2,500.00 a month: 12,500.00 MRR, 150,000.00 ARR."""
    r = repo_of(
        contract(
            "C-1",
            "a",
            [seg("SEAT", "100", "100.00", JAN1, DEC31), seg("VIEW", "50", "600.00", JAN1, DEC31, per="year", n=2)],
        )
    )
    view = views.arr_view(metrics.arr_report(r, date(2026, 3, 15)))
    assert (view["mrr"], view["arr"]) == ("12500.00", "150000.00")


def test_one_time_future_and_block_lines() -> None:
    """Onboarding (one-time) and a line starting next month do not count; a block line of 30 packs at
    95.00/month counts 95.00 once; an evergreen line (no end) counts: 95 + 800 = 895.00 MRR."""
    r = repo_of(
        contract(
            "C-1",
            "a",
            [
                seg("ONB", "1", "5000.00", JAN1, None, per=None),
                seg("LATER", "10", "100.00", date(2026, 7, 1), DEC31, n=2),
                seg("PACK", "30", "95.00", JAN1, DEC31, pricing="block", n=3),
            ],
        ),
        contract("C-2", "b", [seg("API", "1", "800.00", JAN1, None)], end=None),
    )
    assert total_mrr(r, date(2026, 6, 30)) == 895
    assert total_mrr(r, date(2026, 7, 1)) == 1895
    assert total_mrr(r, date(2030, 1, 1)) == 800  # only the evergreen line is left


def test_arr_before_and_after_an_amendment_and_after_the_end() -> None:
    """50 seats at 1,080.00/year = 54,000.00 ARR; +5 from 2026-04-16 → 59,400.00; after 2026-12-31: 0."""
    a1 = Amendment("A-1", date(2026, 4, 16), (seg("SEAT", "5", "1080.00", date(2026, 4, 16), DEC31, per="year"),))
    r = repo_of(contract("C-1", "a", [seg("SEAT", "50", "1080.00", JAN1, DEC31, per="year")], amendments=[a1]))
    arr = lambda d: views.arr_view(metrics.arr_report(r, d))["arr"]
    assert arr(date(2026, 4, 15)) == "54000.00"
    assert arr(date(2026, 4, 16)) == "59400.00"
    assert arr(DEC31) == "59400.00"
    assert arr(date(2027, 1, 1)) == "0.00"


def test_rows_by_product_and_family_keep_the_currency() -> None:
    """The same product sold in PLN and EUR gives two rows; families come from the catalog."""
    seat = Product("SEAT", "Seat", per="month", family="License")
    r = repo_of(
        contract("C-1", "a", [seg("SEAT", "2", "10.00", JAN1, DEC31)]),
        contract("C-2", "b", [seg("SEAT", "3", "5.00", JAN1, DEC31)], currency="EUR"),
        fx={"EUR": "4.30"},
        products=[seat],
    )
    view = views.arr_view(metrics.arr_report(r, JAN1, by="product"))
    assert view["rows"] == [
        {"product": "SEAT", "currency": "EUR", "mrr": "15.00", "arr": "180.00"},
        {"product": "SEAT", "currency": "PLN", "mrr": "20.00", "arr": "240.00"},
    ]
    fam = views.arr_view(metrics.arr_report(r, JAN1, by="family"))
    assert [row["family"] for row in fam["rows"]] == ["License", "License"]
    assert fam["mrr"] == "84.50"  # 20.00 + 15.00 × 4.30


def test_fx_conversion_uses_the_rate_and_a_missing_rate_gives_no_total() -> None:
    """1,000.00 EUR/month at 4.30 is 4,300.00 PLN; with 500.00 PLN the total is 4,800.00 PLN MRR.
    Without a rate the company total is null with a note, the per-currency totals still given."""
    lines = [
        contract("C-1", "a", [seg("X", "1", "1000.00", JAN1, DEC31)], currency="EUR"),
        contract("C-2", "b", [seg("X", "1", "500.00", JAN1, DEC31)]),
    ]
    view = views.arr_view(metrics.arr_report(repo_of(*lines, fx={"EUR": "4.30"}), JAN1))
    assert (view["currency"], view["mrr"], view["arr"]) == ("PLN", "4800.00", "57600.00")
    bare = views.arr_view(metrics.arr_report(repo_of(*lines), JAN1))
    assert (bare["currency"], bare["mrr"], bare["arr"]) == (None, None, None)
    assert "EUR" in bare["note"]
    assert bare["currencies"] == [
        {"currency": "EUR", "mrr": "1000.00", "arr": "12000.00"},
        {"currency": "PLN", "mrr": "500.00", "arr": "6000.00"},
    ]


def test_report_arr_json_on_the_example_repo(example_repo, cli) -> None:
    """On 2026-11-28 (from the contract files):
    PLN — acme 55 × 1,080.00 + SSO 450.00 × 12 = 64,800.00; hooli 800.00 × 12 + 57,600.00 + 4,800.00 +
    15,360.00 + 2,880.00 + 16,128.00 = 106,368.00; initech 12 × 1,112.40 + 1,390.50 = 14,739.30;
    vandelay cancelled (0) → 185,907.30.
    EUR — globex 25 × 252.00 + 60.00 × 12 + 95.00 × 12 (block) = 8,160.00; umbrella 2,200.00 + 20 × 252.00
    + 0.00 + 1,008.00 = 8,248.00 → 16,408.00, at 4.30 = 70,554.40 PLN. Total 256,461.70 PLN."""
    run = cli("report", "arr", "--format", "json", "--as-of", "2026-11-28", "--repo", example_repo)
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    assert (data["as_of"], data["currency"], data["arr"]) == ("2026-11-28", "PLN", "256461.70")
    assert {c["currency"]: c["arr"] for c in data["currencies"]} == {"EUR": "16408.00", "PLN": "185907.30"}
    assert {r["account"]: (r["currency"], r["arr"]) for r in data["rows"]} == {
        "acme": ("PLN", "64800.00"),
        "hooli": ("PLN", "106368.00"),
        "initech": ("PLN", "14739.30"),
        "globex": ("EUR", "8160.00"),
        "umbrella": ("EUR", "8248.00"),
    }
    assert data["mrr"] == "21371.81"  # 256,461.70 / 12 = 21,371.808…


def test_report_mrr_table_and_csv(example_repo, cli) -> None:
    run = cli("report", "mrr", "--by", "family", "--as-of", "2026-11-28", "--format", "csv", "--repo", example_repo)
    assert run.code == 0
    assert run.stdout.splitlines()[0] == "family,currency,mrr,arr"
    assert "API,PLN,800.00,9600.00" in run.stdout.splitlines()
    table = cli("report", "arr", "--as-of", "2026-11-28", "--repo", example_repo)
    assert table.code == 0 and "Total ARR: 256461.70 PLN" in table.stdout


# ---------------------------------------------------------------- movements


def test_movements_expansion_and_churn_reconcile() -> None:
    """Start (2026-03-01): a 1,000.00, b 200.00, c 300.00 = 1,500.00 MRR. By 2026-09-01 a adds 500.00
    (expansion), b ends on 2026-06-30 (churn 200.00), c is unchanged: 1,500 + 500 − 200 = 1,800.00.
    NRR = 1,800/1,500 = 120.00%, GRR = 1,300/1,500 = 86.67%."""
    r = repo_of(
        contract(
            "C-1",
            "a",
            [seg("X", "1", "1000.00", JAN1, DEC31)],
            amendments=[Amendment("A-1", date(2026, 5, 1), (seg("X", "1", "500.00", date(2026, 5, 1), DEC31),))],
        ),
        contract("C-2", "b", [seg("X", "1", "200.00", JAN1, date(2026, 6, 30))]),
        contract("C-3", "c", [seg("X", "1", "300.00", JAN1, DEC31)]),
    )
    m = metrics.movements(r, date(2026, 3, 1), date(2026, 9, 1))
    view = views.movements_view(m)
    assert {
        k: view[k]
        for k in ("mrr_start", "new", "expansion", "contraction", "churn", "reactivation", "mrr_end", "nrr", "grr")
    } == {
        "mrr_start": "1500.00",
        "new": "0.00",
        "expansion": "500.00",
        "contraction": "0.00",
        "churn": "200.00",
        "reactivation": "0.00",
        "mrr_end": "1800.00",
        "nrr": "120.00%",
        "grr": "86.67%",
    }
    assert view["rows"] == [
        {"account": "a", "movement": "expansion", "mrr_from": "1000.00", "mrr_to": "1500.00", "delta": "500.00"},
        {"account": "b", "movement": "churn", "mrr_from": "200.00", "mrr_to": "0.00", "delta": "-200.00"},
    ]


def test_contraction_and_nrr_example() -> None:
    """1,200.00 → 1,250.00 is NRR 104.17% (the SPEC's example format); 1,200.00 → 1,000.00 a contraction."""
    up = repo_of(
        contract(
            "C-1", "a", [seg("X", "1", "1200.00", JAN1, DEC31), seg("Y", "1", "50.00", date(2026, 6, 1), DEC31, n=2)]
        )
    )
    assert views.movements_view(metrics.movements(up, JAN1, date(2026, 6, 1)))["nrr"] == "104.17%"
    down = repo_of(
        contract(
            "C-1",
            "a",
            [seg("X", "1", "1200.00", JAN1, DEC31)],
            amendments=[Amendment("A-1", date(2026, 6, 1), (seg("X", "1", "-200.00", date(2026, 6, 1), DEC31),))],
        )
    )
    m = metrics.movements(down, JAN1, date(2026, 6, 1))
    assert [r.movement for r in m.rows] == ["contraction"] and m.totals["contraction"] == D("200.00")


def test_reactivation_versus_new() -> None:
    """Between 2026-06-01 and 2026-09-01: `old` paid until 2026-03-31 and comes back on 2026-08-01
    (reactivation 100.00); `fresh` never paid before 2026-06-01 (new 40.00). No MRR on 2026-06-01."""
    r = repo_of(
        contract("C-1", "old", [seg("X", "1", "100.00", JAN1, date(2026, 3, 31))], end=date(2026, 3, 31)),
        contract("C-2", "old", [seg("X", "1", "100.00", date(2026, 8, 1), DEC31)], start=date(2026, 8, 1)),
        contract("C-3", "fresh", [seg("X", "1", "40.00", date(2026, 7, 1), DEC31)], start=date(2026, 7, 1)),
    )
    m = metrics.movements(r, date(2026, 6, 1), date(2026, 9, 1))
    assert {x.account: x.movement for x in m.rows} == {"old": "reactivation", "fresh": "new"}
    assert (m.totals["reactivation"], m.totals["new"], m.mrr_start, m.mrr_end) == (D("100.00"), D("40.00"), 0, 140)
    assert m.nrr is None and views.movements_view(m)["grr"] is None  # no MRR at the start


def test_only_one_time_revenue_before_is_still_new() -> None:
    """Onboarding bought in January is not recurring revenue: the first subscription in July is new."""
    r = repo_of(
        contract(
            "C-1",
            "a",
            [seg("ONB", "1", "5000.00", JAN1, None, per=None), seg("X", "1", "100.00", date(2026, 7, 1), DEC31, n=2)],
        )
    )
    assert [x.movement for x in metrics.movements(r, date(2026, 2, 1), date(2026, 8, 1)).rows] == ["new"]


def test_movements_convert_with_fx_and_refuse_without_a_rate() -> None:
    """100.00 EUR → 150.00 EUR at 4.30 is an expansion of 215.00 PLN (430.00 → 645.00)."""
    c = contract(
        "C-1",
        "a",
        [seg("X", "1", "100.00", JAN1, DEC31), seg("X", "1", "50.00", date(2026, 6, 1), DEC31, n=2)],
        currency="EUR",
    )
    m = metrics.movements(repo_of(c, fx={"EUR": "4.30"}), JAN1, date(2026, 6, 1))
    assert (m.currency, m.mrr_start, m.totals["expansion"], m.mrr_end) == ("PLN", D("430.00"), D("215.00"), D("645.00"))
    with pytest.raises(CpqError) as e:
        metrics.movements(repo_of(c), JAN1, date(2026, 6, 1))
    assert e.value.code == "E-FX-MISSING" and "EUR" in e.value.message


@st.composite
def ledgers(draw):
    """Random accounts (PLN or EUR) each with a few segments, some amendments with negative deltas, some
    evergreen; and two dates, in either order of closeness."""
    base = date(2025, 1, 1)
    contracts = []
    for i in range(draw(st.integers(1, 6))):
        account = f"acc{draw(st.integers(0, 3))}"
        currency = draw(st.sampled_from(["PLN", "EUR"]))
        segs = []
        for j in range(draw(st.integers(1, 4))):
            start = base + timedelta(days=draw(st.integers(0, 700)))
            end = None if draw(st.booleans()) else start + timedelta(days=draw(st.integers(0, 400)))
            price = Decimal(draw(st.integers(1, 500_000))) / 100
            qty = Decimal(draw(st.integers(-3, 20)))
            per = draw(st.sampled_from(["month", "quarter", "year", None]))
            segs.append(
                Segment(
                    f"C-{i}#{j}",
                    "X",
                    qty,
                    price,
                    start,
                    end,
                    per=per,
                    pricing=draw(st.sampled_from(["list", "list", "block"])),
                )
            )
        contracts.append(Contract(f"C-{i}", account, currency, min(s.start for s in segs), None, tuple(segs)))
    d0 = base + timedelta(days=draw(st.integers(0, 900)))
    d1 = d0 + timedelta(days=draw(st.integers(0, 400)))
    return contracts, d0, d1


@hsettings(max_examples=200, deadline=None)
@given(ledgers())
def test_movements_always_reconcile_exactly(case) -> None:
    contracts, d0, d1 = case
    r = repo_of(*contracts, fx={"EUR": "4.3017"})
    m = metrics.movements(r, d0, d1)
    t = m.totals
    assert m.mrr_start + t["new"] + t["expansion"] + t["reactivation"] - t["contraction"] - t["churn"] == m.mrr_end
    assert all(v >= 0 for v in t.values())
    assert sum(x.delta for x in m.rows) == m.mrr_end - m.mrr_start
    # every account's figures are its MRR rounded to the cent (the total differs from it by rounding only)
    exact = metrics.in_company(r.settings, metrics.arr_report(r, d1).currencies)
    assert abs(m.mrr_end - Decimal(exact.numerator) / Decimal(exact.denominator)) <= Decimal("0.005") * 4


def test_report_movements_cli(example_repo, cli) -> None:
    """Example repo, 2026-01-01 → 2026-11-01: acme 4,500.00 → 5,400.00 (+5 seats, + SSO 450.00); initech
    renewed with a 3% uplift 1,192.50 → 1,228.275 ≈ 1,228.28; globex, hooli and umbrella are new."""
    run = cli(
        "report", "movements", "--from", "2026-01-01", "--to", "2026-11-01", "--format", "json", "--repo", example_repo
    )
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    moves = {r["account"]: (r["movement"], r["mrr_from"], r["mrr_to"]) for r in data["rows"]}
    assert moves["acme"] == ("expansion", "4500.00", "5400.00")
    assert moves["initech"] == ("expansion", "1192.50", "1228.28")
    assert {a for a, m in moves.items() if m[0] == "new"} == {"globex", "hooli", "umbrella"}
    assert (data["currency"], data["mrr_start"], data["mrr_end"]) == ("PLN", "5692.50", "21371.81")
    csv = cli(
        "report",
        "movements",
        "--from",
        "2026-01-01",
        "--to",
        "2026-11-01",
        "--detail",
        "--format",
        "csv",
        "--repo",
        example_repo,
    )
    assert csv.stdout.splitlines()[1] == "acme,expansion,4500.00,5400.00,900.00"
    churn = json.loads(
        cli(
            "report",
            "movements",
            "--from",
            "2026-09-01",
            "--to",
            "2026-11-01",
            "--format",
            "json",
            "--repo",
            example_repo,
        ).stdout
    )
    assert [(r["account"], r["movement"]) for r in churn["rows"] if r["movement"] == "churn"] == [("vandelay", "churn")]
    # vandelay: 10 × 1,200.00/12 + 270.00 + 1,500.00/12 = 1,395.00
    assert churn["churn"] == "1395.00"


def test_movements_usage_errors(example_repo, cli) -> None:
    back = cli("report", "movements", "--from", "2026-11-01", "--to", "2026-01-01", "--repo", example_repo)
    assert back.code == 2 and "before" in back.stderr and back.stdout == ""
    bad = cli("report", "movements", "--from", "2026-13-01", "--to", "2026-01-01", "--repo", example_repo)
    assert bad.code == 2 and "Traceback" not in bad.stderr


# ---------------------------------------------------------------- LTV


def test_ltv_with_churn_and_cac() -> None:
    """On 2026-11-28 (window from 2026-05-28): 4 accounts paying 1,000.00, one of them ended 2026-08-31.
    ARPA = 3,000.00 / 3 = 1,000.00; churn = 1/4/6 = 4.17% a month; LTV = 1,000 × 24 = 24,000.00.
    CAC 6,000.00: LTV:CAC 4.00 (pass); payback = 6,000 / (1,000 × 80%) = 7.5 months (pass)."""
    cs = [
        contract(f"C-{i}", f"a{i}", [seg("X", "1", "1000.00", JAN1, date(2027, 12, 31))], end=date(2027, 12, 31))
        for i in range(3)
    ]
    cs.append(contract("C-9", "gone", [seg("X", "1", "1000.00", JAN1, date(2026, 8, 31))], end=date(2026, 8, 31)))
    x = metrics.ltv(repo_of(*cs, cac="6000.00", margin="80"), date(2026, 11, 28))
    view = views.ltv_view(x)
    assert (view["arpa"], view["monthly_churn_rate"], view["ltv"]) == ("1000.00", "4.17%", "24000.00")
    assert (view["ltv_cac"], view["payback_months"]) == ("4.00", "7.5")
    assert (view["ltv_at_least_3x_cac"], view["payback_within_12_months"]) == ("pass", "pass")
    assert (view["churned_accounts"], view["accounts_at_window_start"], view["active_accounts"]) == (1, 4, 3)
    # a dearer acquisition fails both rules: 30,000.00 > 24,000 / 3 and 30,000 / 800 = 37.5 months
    worse = views.ltv_view(metrics.ltv(repo_of(*cs, margin="80"), date(2026, 11, 28), D("30000.00")))
    assert (worse["ltv_cac"], worse["ltv_at_least_3x_cac"], worse["payback_within_12_months"]) == (
        "0.80",
        "fail",
        "fail",
    )


def test_ltv_without_churn() -> None:
    """No account lost in the window: "no churn", LTV null; the LTV rule passes, payback 2,000/500 = 4.0."""
    r = repo_of(contract("C-1", "a", [seg("X", "1", "500.00", JAN1, DEC31)]), cac="2000.00")
    view = views.ltv_view(metrics.ltv(r, date(2026, 11, 28)))
    assert (view["ltv"], view["note"], view["monthly_churn_rate"]) == (None, "no churn", "0.00%")
    assert (view["payback_months"], view["ltv_at_least_3x_cac"], view["ltv_cac"]) == ("4.0", "pass", None)
    assert (
        views.ltv_view(
            metrics.ltv(repo_of(contract("C-1", "a", [seg("X", "1", "5.00", JAN1, DEC31)])), date(2026, 6, 1))
        )["ltv_at_least_3x_cac"]
        is None
    )  # no CAC: no verdict


def test_report_ltv_cli(example_repo, cli) -> None:
    """Example repo on 2026-11-28: 5 paying accounts, MRR 21,371.81 → ARPA 4,274.36; of the 6 accounts paying
    on 2026-05-28 vandelay churned: 1/6/6 = 2.78% a month; CAC 12,000.00 and 80% margin from cpq.toml."""
    run = cli("report", "ltv", "--as-of", "2026-11-28", "--format", "json", "--repo", example_repo)
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    assert (data["arpa"], data["monthly_churn_rate"], data["cac"], data["gross_margin"]) == (
        "4274.36",
        "2.78%",
        "12000.00",
        "80%",
    )
    assert data["ltv"] == "153877.02"  # 21,371.808… / 5 × 36
    # issue 15: LTV on gross margin next to it, each with its definition: 153,877.02 × 80% = 123,101.62
    assert data["ltv_gross_margin"] == "123101.62"
    assert "margin" in data["ltv_gross_margin_definition"] and "churn" in data["ltv_definition"]
    table = cli("report", "ltv", "--as-of", "2026-11-28", "--repo", example_repo).stdout
    assert "LTV (ARPA ÷ churn)" in table and "LTV on gross margin" in table and "123101.62" in table
    override = json.loads(
        cli(
            "report", "ltv", "--as-of", "2026-11-28", "--cac", "60000", "--format", "json", "--repo", example_repo
        ).stdout
    )
    assert (override["cac"], override["ltv_at_least_3x_cac"], override["payback_within_12_months"]) == (
        "60000.00",
        "fail",
        "fail",
    )
    bad = cli("report", "ltv", "--cac", "12,000", "--repo", example_repo)
    assert bad.code == 2 and "--cac" in bad.stderr
