"""`cpqctl renewals --by month`: ARR up for renewal per month, quoted, accepted, not quoted, at risk.

The inline repo (as of 2024-11-15, window 2024-11 … 2025-10) holds, per month:

- 2024-11: C-2024-0002 ends 11-30, no quote, 15 days away → at risk (2 WIDGET x 100.00/month = 2400.00);
  C-2024-0005 ended 11-10 with no quote → not quoted, but lapsed, not at risk (1 SEAT = 1200.00)
- 2024-12: C-2024-0001 (10 + 5 SEAT after an up-sell = 18000.00) with a draft renewal quote → quoted
- 2025-01: C-2024-0003 (5 SEAT = 6000.00), renewal quote accepted → successor contract → accepted
- 2025-02: C-2024-0008, EUR (1 SEAT at 1000.00 EUR = 4300.00 PLN at [fx] EUR = 4.30) → not quoted
- 2025-03: C-2024-0004 (3 SEAT = 3600.00) whose renewal quote expired → not quoted
- 2025-06: only C-2024-0006, cancelled → nothing; the evergreen C-2024-0009 never appears
- 2025-11: C-2024-0007 (1 SEAT), just past the default 12 months
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from cpqctl.core import renewal
from cpqctl.core.model import Contract, Settings

AS_OF = "2024-11-15"
FX_TOML = """\
[company]
name = "Test Co"
currency = "PLN"

[fx]
EUR = "4.30"
"""
NO_FX_TOML = FX_TOML.split("[fx]")[0]

CATALOG = """
products:
  - {code: SEAT, name: Seat, type: subscription, per: year, price: {PLN: 1300.00, EUR: 1000.00}}
  - {code: WIDGET, name: Widget, type: subscription, per: month, price: {PLN: 120.00}}
  - {code: ONBOARDING, name: Onboarding, type: one-time, price: {PLN: 5000.00}}
  - {code: API, name: API plan, type: subscription, per: month, price: {PLN: 900.00}, evergreen: true}
"""


def account(code: str, currency: str) -> str:
    return f"account: {code}\nname: {code.title()}\ncurrency: {currency}\ntax_rate: 23%\n"


def seats(
    cid: str,
    qty: int,
    start: str,
    end: str,
    account: str = "acme",
    currency: str = "PLN",
    price: str = "1200.00",
    extra: str = "",
) -> str:
    return (
        f"contract: {cid}\naccount: {account}\ncurrency: {currency}\nstart: {start}\nend: {end}\n"
        f"renewal: {{term: 12}}\nlines:\n"
        f"  - {{product: SEAT, quantity: {qty}, unit_price: {price}, per: year, start: {start}, end: {end}}}\n" + extra
    )


UPSOLD = seats(
    "C-2024-0001",
    10,
    "2024-01-01",
    "2024-12-31",
    extra="""\
  - {product: ONBOARDING, quantity: 1, unit_price: 5000.00, start: 2024-01-01}
amendments:
  - amendment: A-1
    effective: 2024-04-16
    lines:
      - {product: SEAT, quantity: 5, unit_price: 1200.00, per: year, start: 2024-04-16, end: 2024-12-31}
""",
)

WIDGETS = """\
contract: C-2024-0002
account: acme
currency: PLN
start: 2023-12-01
end: 2024-11-30
lines:
  - {product: WIDGET, quantity: 2, unit_price: 100.00, per: month, start: 2023-12-01, end: 2024-11-30}
"""

CANCELLED = seats(
    "C-2024-0006",
    2,
    "2024-07-01",
    "2025-06-30",
    extra="""\
amendments:
  - amendment: A-1
    effective: 2024-10-01
    cancelled: {date: 2024-10-01, reason: budget}
    lines:
      - {product: SEAT, quantity: -2, unit_price: 1200.00, per: year, start: 2024-10-01, end: 2025-06-30}
""",
)

EVERGREEN = """\
contract: C-2024-0009
account: acme
currency: PLN
start: 2024-01-01
evergreen: true
lines:
  - {product: API, quantity: 1, unit_price: 900.00, per: month, start: 2024-01-01}
"""


def files() -> dict[str, str]:
    return {
        "catalog/products.yaml": CATALOG,
        "contracts/acme/account.yaml": account("acme", "PLN"),
        "contracts/globex/account.yaml": account("globex", "EUR"),
        "contracts/acme/C-2024-0001.yaml": UPSOLD,
        "contracts/acme/C-2024-0002.yaml": WIDGETS,
        "contracts/acme/C-2024-0003.yaml": seats("C-2024-0003", 5, "2024-02-01", "2025-01-31"),
        "contracts/acme/C-2024-0004.yaml": seats("C-2024-0004", 3, "2024-04-01", "2025-03-31"),
        "contracts/acme/C-2024-0005.yaml": seats("C-2024-0005", 1, "2023-11-11", "2024-11-10"),
        "contracts/acme/C-2024-0006.yaml": CANCELLED,
        "contracts/acme/C-2024-0007.yaml": seats("C-2024-0007", 1, "2024-12-01", "2025-11-30"),
        "contracts/globex/C-2024-0008.yaml": seats(
            "C-2024-0008", 1, "2024-03-01", "2025-02-28", "globex", "EUR", "1000.00"
        ),
        "contracts/acme/C-2024-0009.yaml": EVERGREEN,
    }


def ok(r):
    assert r.code == 0, r.stderr
    return r


def built(cli, repo, toml: str = FX_TOML):
    """The inline repo with its renewal quotes made through the CLI: expired, draft, accepted."""
    root = repo(files(), toml=toml)
    ok(cli("renew", "C-2024-0004", "--repo", root, "--as-of", "2024-09-01"))  # Q-2024-0001, expires 10-01
    ok(cli("renew", "C-2024-0001", "--repo", root, "--as-of", AS_OF))  # Q-2024-0002, a draft
    ok(cli("renew", "C-2024-0003", "--repo", root, "--as-of", AS_OF))  # Q-2024-0003
    ok(cli("quote", "accept", "Q-2024-0003", "--signed-by", "Anna", "--repo", root, "--as-of", AS_OF))
    assert "renews: C-2024-0003" in (root / "contracts/acme/C-2025-0001.yaml").read_text()
    return root


def forecast(cli, root, *args, as_of=AS_OF):
    r = ok(cli("renewals", "--by", "month", *args, "--repo", root, "--as-of", as_of, "--format", "json"))
    return json.loads(r.stdout)


def figures(row) -> tuple:
    return (
        row["month"],
        row["contracts"],
        row["arr"],
        row["quoted"],
        row["accepted"],
        row["not_quoted"],
        row["at_risk"],
    )


ZERO = (0, "0.00", "0.00", "0.00", "0.00", "0.00")
EXPECTED = {  # month: contracts, arr, quoted, accepted, not_quoted, at_risk (PLN)
    "2024-11": (2, "3600.00", "0.00", "0.00", "3600.00", "2400.00"),
    "2024-12": (1, "18000.00", "18000.00", "0.00", "0.00", "0.00"),
    "2025-01": (1, "6000.00", "0.00", "6000.00", "0.00", "0.00"),
    "2025-02": (1, "4300.00", "0.00", "0.00", "4300.00", "0.00"),
    "2025-03": (1, "3600.00", "0.00", "0.00", "3600.00", "0.00"),
}
MONTHS = ["2024-11", "2024-12", *(f"2025-{m:02d}" for m in range(1, 11))]


def test_each_month_in_the_company_currency(cli, repo):
    data = forecast(cli, built(cli, repo))
    assert (data["as_of"], data["from"], data["to"], data["currency"], data["at_risk_within"], data["note"]) == (
        AS_OF,
        "2024-11",
        "2025-10",
        "PLN",
        30,
        None,
    )
    assert [r["month"] for r in data["rows"]] == MONTHS
    assert {r["currency"] for r in data["rows"]} == {"PLN"}
    for row in data["rows"]:
        assert figures(row) == (row["month"], *EXPECTED.get(row["month"], ZERO))
    assert data["total"] == {
        "contracts": 6,
        "arr": "35500.00",
        "quoted": "18000.00",
        "accepted": "6000.00",
        "not_quoted": "11500.00",
        "at_risk": "2400.00",
    }


def test_the_stages_add_up_to_the_arr_up_for_renewal(cli, repo):
    data = forecast(cli, built(cli, repo))
    for row in [*data["rows"], *data["currencies"], data["total"]]:
        parts = Decimal(row["quoted"]) + Decimal(row["accepted"]) + Decimal(row["not_quoted"])
        assert parts == Decimal(row["arr"])
        assert Decimal(row["at_risk"]) <= Decimal(row["not_quoted"])


def test_the_contracts_listed_and_the_per_currency_figures(cli, repo):
    data = forecast(cli, built(cli, repo))
    assert [
        (c["contract"], c["end"], c["currency"], c["arr"], c["stage"], c["at_risk"]) for c in data["contracts"]
    ] == [
        ("C-2024-0005", "2024-11-10", "PLN", "1200.00", "not_quoted", False),
        ("C-2024-0002", "2024-11-30", "PLN", "2400.00", "not_quoted", True),
        ("C-2024-0001", "2024-12-31", "PLN", "18000.00", "quoted", False),
        ("C-2024-0003", "2025-01-31", "PLN", "6000.00", "accepted", False),
        ("C-2024-0008", "2025-02-28", "EUR", "1000.00", "not_quoted", False),
        ("C-2024-0004", "2025-03-31", "PLN", "3600.00", "not_quoted", False),
    ]
    eur = {r["month"]: r for r in data["currencies"] if r["currency"] == "EUR"}
    assert figures(eur["2025-02"]) == ("2025-02", 1, "1000.00", "0.00", "0.00", "1000.00", "0.00")
    assert figures(eur["2025-03"]) == ("2025-03", *ZERO)
    pln = {r["month"]: r for r in data["currencies"] if r["currency"] == "PLN"}
    assert figures(pln["2025-02"]) == ("2025-02", *ZERO) and pln["2024-12"]["quoted"] == "18000.00"


def test_window_and_at_risk_options(cli, repo):
    root = built(cli, repo)
    data = forecast(cli, root, "--months", "13")
    assert data["rows"][-1]["month"] == "2025-11" and data["rows"][-1]["arr"] == "1200.00"  # C-2024-0007
    data = forecast(cli, root, "--from", "2025-01", "--months", "2")
    assert [figures(r) for r in data["rows"]] == [("2025-01", *EXPECTED["2025-01"]), ("2025-02", *EXPECTED["2025-02"])]
    data = forecast(cli, root, "--within", "120")  # 2025-02-28 is 105 days away; 2025-03-31 is 136
    assert [(r["month"], r["at_risk"]) for r in data["rows"] if r["at_risk"] != "0.00"] == [
        ("2024-11", "2400.00"),
        ("2025-02", "4300.00"),
    ]
    data = forecast(cli, root, "--within", "0")
    assert data["total"]["at_risk"] == "0.00" and data["at_risk_within"] == 0
    # a month later the draft has expired (valid 30 days from 11-15): December is no longer quoted, and at risk
    dec = forecast(cli, root, as_of="2024-12-20")["rows"][0]
    assert figures(dec) == ("2024-12", 1, "18000.00", "0.00", "0.00", "18000.00", "18000.00")


def test_csv_md_and_table(cli, repo):
    root = built(cli, repo)
    base = ("renewals", "--by", "month", "--repo", root, "--as-of", AS_OF)
    lines = ok(cli(*base, "--format", "csv")).stdout.splitlines()
    assert lines[0] == "month,currency,contracts,arr,quoted,accepted,not_quoted,at_risk"
    assert lines[1] == "2024-11,PLN,2,3600.00,0.00,0.00,3600.00,2400.00" and len(lines) == 13
    md = ok(cli(*base, "--format", "md")).stdout
    assert "| 2024-12 | PLN | 1 | 18000.00 | 18000.00 | 0.00 | 0.00 | 0.00 |" in md
    table = ok(cli(*base)).stdout
    assert "35500.00" in table and "C-2024-0002" in table and "Per currency" in table


def test_without_a_rate_the_figures_stay_per_currency(cli, repo):
    root = built(cli, repo, toml=NO_FX_TOML)
    r = ok(cli("renewals", "--by", "month", "--repo", root, "--as-of", AS_OF, "--format", "json"))
    assert "no [fx] rate for EUR" in r.stderr
    data = json.loads(r.stdout)
    assert data["currency"] is None and data["note"].startswith("no [fx] rate for EUR")
    feb = data["rows"][3]
    assert (feb["month"], feb["contracts"], feb["arr"], feb["at_risk"]) == ("2025-02", 1, None, None)
    assert data["total"]["arr"] is None and data["total"]["contracts"] == 6
    eur = next(x for x in data["currencies"] if (x["month"], x["currency"]) == ("2025-02", "EUR"))
    assert eur["arr"] == "1000.00"
    csv = ok(cli("renewals", "--by", "month", "--repo", root, "--as-of", AS_OF, "--format", "csv")).stdout
    assert "2025-02,EUR,1,1000.00,0.00,0.00,1000.00,0.00" in csv.splitlines()


def test_usage_errors_exit_2(cli, repo):
    root = repo(files(), toml=FX_TOML)
    for args in (
        ("--months", "3"),
        ("--from", "2025-01"),
        ("--by", "month", "--months", "0"),
        ("--by", "month", "--from", "2025-13"),
        ("--by", "month", "--within", "-1"),
    ):
        r = cli("renewals", *args, "--repo", root, "--as-of", AS_OF)
        assert r.code == 2 and "E-USAGE" in r.stderr and "Traceback" not in r.stderr, args
    r = cli("renewals", "--by", "week", "--repo", root, "--as-of", AS_OF)
    assert r.code == 2


def test_plain_renewals_is_unchanged(cli, repo):
    root = built(cli, repo)
    data = json.loads(ok(cli("renewals", "--repo", root, "--as-of", AS_OF, "--format", "json")).stdout)
    assert set(data) == {"as_of", "within", "rows"} and data["within"] == 90
    assert [(x["contract"], x["arr"], x["quote_status"]) for x in data["rows"]] == [
        ("C-2024-0002", "2400.00", None),
        ("C-2024-0001", "18000.00", "draft"),
        ("C-2024-0003", "6000.00", "accepted"),
    ]  # C-2024-0008 ends 105 days away


# --------------------------------------------------------------------------- the example repository


def report_arr(cli, root, day: date) -> dict:
    r = ok(cli("report", "arr", "--repo", root, "--as-of", day.isoformat(), "--format", "json"))
    return json.loads(r.stdout)


def test_example_repo_agrees_with_report_arr(cli, example_repo):
    data = forecast(cli, example_repo, as_of="2026-11-28")
    listed = [(c["contract"], c["account"], c["end"], c["arr"], c["currency"]) for c in data["contracts"]]
    assert listed == [
        ("C-2026-0001", "acme", "2026-12-31", "64800.00", "PLN"),
        ("C-2026-0002", "umbrella", "2027-01-31", "8248.00", "EUR"),
        ("C-2026-0006", "hooli", "2027-06-30", "96768.00", "PLN"),
        ("C-2026-0007", "initech", "2027-09-30", "14739.30", "PLN"),
    ]
    rows = {r["month"]: r for r in data["rows"]}
    for cid, acct, end, arr, _cur in listed:
        last = date.fromisoformat(end)
        on, after = report_arr(cli, example_repo, last), report_arr(cli, example_repo, last + timedelta(days=1))
        own = lambda rep: sum((Decimal(x["arr"]) for x in rep["rows"] if x["account"] == acct), Decimal(0))  # noqa
        assert own(on) - own(after) == Decimal(arr), cid  # the ARR that stops when the contract ends
        # in the company currency: report arr's total drops by exactly the month's ARR (one contract each)
        assert Decimal(on["arr"]) - Decimal(after["arr"]) == Decimal(rows[end[:7]]["arr"]), cid
    assert rows["2027-01"]["arr"] == "35466.40"  # 8248.00 EUR x 4.30
    assert data["total"]["not_quoted"] == data["total"]["arr"] == "211773.70"
    assert [r["contracts"] for r in data["rows"]] == [0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0]


def test_example_repo_at_risk_until_quoted(cli, example_repo):
    dec = forecast(cli, example_repo, as_of="2026-12-05")["rows"][0]
    assert figures(dec) == ("2026-12", 1, "64800.00", "0.00", "0.00", "64800.00", "64800.00")
    ok(cli("renew", "C-2026-0001", "--repo", example_repo, "--as-of", "2026-12-05"))
    dec = forecast(cli, example_repo, as_of="2026-12-05")["rows"][0]
    assert figures(dec) == ("2026-12", 1, "64800.00", "64800.00", "0.00", "0.00", "0.00")
    sep = forecast(cli, example_repo, "--from", "2026-09", "--months", "1", as_of="2026-12-05")["rows"][0]
    assert figures(sep) == ("2026-09", 1, "14310.00", "0.00", "14310.00", "0.00", "0.00")  # renewed by `renews:`


# --------------------------------------------------------------------------- pure functions


def test_month_start_crosses_years():
    assert renewal.month_start(date(2024, 11, 15), 0) == date(2024, 11, 1)
    assert renewal.month_start(date(2024, 11, 30), 2) == date(2025, 1, 1)
    assert renewal.month_start(date(2025, 1, 31), -1) == date(2024, 12, 1)
    assert renewal.month_start(date(2024, 12, 1), 13) == date(2026, 1, 1)


def test_by_month_in_is_none_without_a_rate():
    c = Contract("C-1", "acme", "EUR", date(2024, 1, 1), date(2024, 12, 31), ())
    e = renewal.Ending(c, date(2024, 12, 31), Decimal("10.00"), "quoted", False)
    assert renewal.by_month_in([e], date(2024, 12, 1), 1, Settings(currency="PLN")) is None
    [b] = renewal.by_month_in([e], date(2024, 12, 1), 1, Settings(currency="PLN", fx={"EUR": Decimal("4.3")}))
    assert (b.contracts, b.arr, b.quoted) == (1, Decimal("43.00"), Decimal("43.00"))


_endings = st.lists(
    st.tuples(
        st.integers(0, 11),
        st.sampled_from(["PLN", "EUR"]),
        st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False),
        st.sampled_from(renewal.STAGES),
        st.booleans(),
    ),
    max_size=20,
)


@settings(max_examples=150, deadline=None)
@given(_endings)
def test_buckets_partition_the_arr(raw):
    """Whatever the stages and rates, each month: quoted + accepted + not_quoted = arr, at_risk ⊆ not_quoted."""
    items = []
    for month, cur, arr, stage, risky in raw:
        end = renewal.month_start(date(2025, 1, 1), month + 1) - timedelta(days=1)
        c = Contract("C-1", "acme", cur, date(2024, 1, 1), end, ())
        items.append(renewal.Ending(c, end, arr, stage, risky and stage == "not_quoted"))
    s = Settings(currency="PLN", fx={"EUR": Decimal("4.3217")})
    company = renewal.by_month_in(items, date(2025, 1, 1), 12, s)
    groups = [company, *renewal.by_month(items, date(2025, 1, 1), 12).values()]
    for grid in groups:
        assert len(grid) == 12
        for b in grid:
            assert b.quoted + b.accepted + b.not_quoted == b.arr and 0 <= b.at_risk <= b.not_quoted
    assert sum(b.contracts for b in company) == len(items)
    assert sum(b.arr for b in renewal.by_month(items, date(2025, 1, 1), 12).get("PLN", [])) == sum(
        (e.arr for e in items if e.contract.currency == "PLN"), Decimal(0)
    )
