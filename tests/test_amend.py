"""`cpqctl amend` end to end on a small inline repo: up-sell, cross-sell, decrease, cancel, reprice, errors.

The contract: 10 SEAT at 1,200.00/yr (list = net), 2024-01-01..2024-12-31,
monthly+daily, half-up, PLN. 2024-04-16..2024-12-31 is 8 months + 16 days =
0.710502 of a year under monthly+daily, 8.5/12 under calendar.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

AS_OF = "2024-04-01"

CATALOG = """\
products:
  - {code: SEAT, name: Seat, type: subscription, per: year, price: {PLN: 1200.00}}
  - {code: VIEWER, name: Viewer, type: subscription, per: year, price: {PLN: 240.00}}
  - {code: SSO, name: SSO, type: subscription, per: month, price: {PLN: 100.00}, requires: [SEAT]}
  - code: SUPPORT
    name: Support
    type: subscription
    per: year
    pricing: percent-of-total
    percent: 10%
    of: {products: [SEAT]}
"""

ACCOUNT = """\
account: acme
name: ACME
currency: PLN
"""

CONTRACT = """\
contract: C-2024-0001
account: acme
currency: PLN
start: 2024-01-01
end: 2024-12-31
proration: {proration}
rounding: half-up
lines:
  - {{product: SEAT, quantity: 10, list_price: 1200.00, unit_price: 1200.00, per: year, start: 2024-01-01, end: 2024-12-31}}
{extra}"""

CPATH = "contracts/acme/C-2024-0001.yaml"


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.parts
    }


@pytest.fixture
def make(repo):
    def build(proration: str = "monthly+daily", extra: str = "") -> Path:
        return repo(
            {
                "catalog/products.yaml": CATALOG,
                "contracts/acme/account.yaml": ACCOUNT,
                CPATH: CONTRACT.format(proration=proration, extra=extra),
            }
        )

    return build


def amend(cli, root, *args, as_of=AS_OF):
    return cli("amend", "C-2024-0001", "--repo", root, "--as-of", as_of, "--format", "json", *args)


def ok(r) -> dict:
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


def test_upsell_coterminates_at_the_signed_price(cli, make):
    root = make()
    data = ok(amend(cli, root, "--effective", "2024-04-16", "--set", "SEAT=15"))
    assert data["quote"] == "Q-2024-0001" and data["kind"] == "amendment" and data["status"] == "draft"
    assert data["contract"] == "C-2024-0001" and (data["start"], data["end"]) == ("2024-04-16", "2024-12-31")
    (ln,) = data["lines"]
    assert (ln["product"], ln["quantity"], ln["start"], ln["end"], ln["per"]) == (
        "SEAT",
        "5",
        "2024-04-16",
        "2024-12-31",
        "year",
    )
    assert (ln["net_unit_price"], ln["prorate_multiplier"], ln["net_total"]) == ("1200.00", "0.710502", "4263.01")
    assert data["net_total"] == "4263.01"
    text = (root / "quotes/Q-2024-0001.yaml").read_text()
    assert "kind: amendment" in text and "effective: 2024-04-16" in text and "based_on: 0" in text
    assert (
        "{product: SEAT, quantity: 5, list_price: 1200.00, unit_price: 1200.00, per: year, "
        "start: 2024-04-16, end: 2024-12-31}" in text
    )
    # the output is exactly what `quote show` prints for the file
    shown = ok(cli("quote", "show", "Q-2024-0001", "--repo", root, "--as-of", AS_OF, "--format", "json"))
    assert shown == data


def test_upsell_at_newest_segment_price(cli, make):
    extra = (
        "amendments:\n  - amendment: A-1\n    effective: 2024-02-01\n    lines:\n"
        "      - {product: SEAT, quantity: 2, list_price: 1200.00, unit_price: 900.00, per: year, "
        "start: 2024-02-01, end: 2024-12-31}\n"
    )
    root = make(extra=extra)
    data = ok(amend(cli, root, "--effective", "2024-04-16", "--set", "SEAT=13", "--dry-run"))
    assert [(x["quantity"], x["net_unit_price"], x["list_unit_price"]) for x in data["lines"]] == [
        ("1", "900.00", "1200.00")
    ]
    # a decrease is LIFO: the 2 newest seats at 900.00 first, then 1 at 1,200.00
    data = ok(amend(cli, root, "--effective", "2024-04-16", "--set", "SEAT=9", "--dry-run"))
    assert [(x["quantity"], x["net_unit_price"]) for x in data["lines"]] == [("-2", "900.00"), ("-1", "1200.00")]
    assert data["quote"] is None and not (root / "quotes").exists()


def test_cross_sell_is_priced_today_and_frozen_in_the_file(cli, make):
    root = make()
    data = ok(amend(cli, root, "--effective", "2024-04-16", "--add", "VIEWER=10"))
    (ln,) = data["lines"]
    assert (ln["product"], ln["quantity"], ln["list_unit_price"], ln["net_unit_price"]) == (
        "VIEWER",
        "10",
        "240.00",
        "240.00",
    )
    assert data["net_total"] == "1705.21"
    text = (root / "quotes/Q-2024-0001.yaml").read_text()
    assert "{product: VIEWER, quantity: 10, list_price: 240.00, unit_price: 240.00, per: year" in text
    # --set of a product not owned is a cross-sell too
    assert (
        ok(amend(cli, root, "--effective", "2024-04-16", "--set", "VIEWER=10", "--dry-run"))["net_total"] == "1705.21"
    )


def test_downgrade_is_a_prorated_credit(cli, make):
    root = make()
    data = ok(amend(cli, root, "--effective", "2024-04-16", "--set", "SEAT=8"))
    assert [x["quantity"] for x in data["lines"]] == ["-2"]
    assert data["net_total"] == "-1705.21"


def test_cancel_credits_every_active_segment_and_records_it(cli, make):
    root = make()
    data = ok(amend(cli, root, "--effective", "2024-07-01", "--cancel", "--reason", "budget cuts"))
    assert [(x["product"], x["quantity"], x["start"], x["end"]) for x in data["lines"]] == [
        ("SEAT", "-10", "2024-07-01", "2024-12-31")
    ]
    assert data["net_total"] == "-6000.00"
    text = (root / "quotes/Q-2024-0001.yaml").read_text()
    assert "cancelled: {date: 2024-07-01, reason: budget cuts}" in text
    r = cli("quote", "accept", "Q-2024-0001", "--signed-by", "X", "--repo", root, "--as-of", "2024-04-10")
    assert r.code == 0, r.stderr
    c = ok(cli("contract", "show", "C-2024-0001", "--repo", root, "--as-of", "2024-07-01", "--format", "json"))
    assert c["status"] == "cancelled"
    # a cancelled contract cannot be amended, and nothing changes
    before = snapshot(root)
    r = amend(cli, root, "--effective", "2024-05-01", "--set", "SEAT=12", as_of="2024-04-20")
    assert r.code == 1 and "E-CANCELLED" in r.stderr and "cancelled" in r.stderr
    assert snapshot(root) == before


def test_calendar_proration_follows_the_contract(cli, make):
    root = make(proration="calendar")
    data = ok(amend(cli, root, "--effective", "2024-04-16", "--set", "SEAT=15"))
    assert data["net_total"] == "4250.00"


def test_reprice_ends_the_old_price_and_starts_the_new(cli, make):
    root = make()
    data = ok(amend(cli, root, "--effective", "2024-07-01", "--reprice", "SEAT=1000.00", "--dry-run"))
    assert [(x["quantity"], x["net_unit_price"]) for x in data["lines"]] == [("-10", "1200.00"), ("10", "1000.00")]
    assert data["net_total"] == "-1000.00"  # 10 × −200 × 6/12


def test_percent_of_total_follows_its_base(cli, make):
    extra = "  - {product: SUPPORT, quantity: 1, unit_price: 1200.00, per: year, start: 2024-01-01, end: 2024-12-31}\n"
    root = make(extra=extra)
    data = ok(amend(cli, root, "--effective", "2024-07-01", "--set", "SEAT=15", "--dry-run"))
    rows = [(x["product"], x["quantity"], x["net_unit_price"], x["net_total"]) for x in data["lines"]]
    # +5 seats (3,000.00 for half a year); support 10% of 18,000.00 replaces 10% of 12,000.00
    assert rows == [
        ("SEAT", "5", "1200.00", "3000.00"),
        ("SUPPORT", "-1", "1200.00", "-600.00"),
        ("SUPPORT", "1", "1800.00", "900.00"),
    ]


def test_accepting_the_upsell_appends_a_pure_addition(cli, make):
    root = make()
    ok(amend(cli, root, "--effective", "2024-04-16", "--set", "SEAT=15"))
    old = (root / CPATH).read_bytes()
    r = cli("quote", "accept", "Q-2024-0001", "--signed-by", "X", "--repo", root, "--as-of", "2024-04-10")
    assert r.code == 0, r.stderr
    new = (root / CPATH).read_bytes()
    assert new.startswith(old) and len(new) > len(old)
    assert b"amendment: A-1" in new[len(old) :]
    r = cli("check", "--repo", root)
    assert r.code == 0, r.stdout + r.stderr
    c = ok(cli("contract", "show", "C-2024-0001", "--repo", root, "--as-of", "2024-05-01", "--format", "json"))
    assert [(o["product"], o["quantity"]) for o in c["owned"]] == [("SEAT", "15")]
    # the next amendment is based on 1 and sees the 15 seats
    data = ok(amend(cli, root, "--effective", "2024-06-01", "--set", "SEAT=14", as_of="2024-04-20"))
    assert [x["quantity"] for x in data["lines"]] == ["-1"]
    assert "based_on: 1" in (root / "quotes/Q-2024-0002.yaml").read_text()


@pytest.mark.parametrize(
    "args, code, needle",
    [
        (("--effective", "2025-01-01", "--set", "SEAT=12"), "E-EFFECTIVE", "outside the term"),
        (("--effective", "2023-12-31", "--set", "SEAT=12"), "E-EFFECTIVE", "outside the term"),
        (("--effective", "2024-04-16", "--add", "NOPE=1"), "E-UNKNOWN-PRODUCT", "unknown product"),
        (("--effective", "2024-04-16", "--set", "SEAT=-1"), "E-NEGATIVE", "below zero"),
        (("--effective", "2024-04-16", "--remove", "VIEWER"), "E-NOT-OWNED", "not on"),
        (("--effective", "2024-04-16", "--set", "SEAT=10"), "E-NO-CHANGE", "as it is"),
    ],
)
def test_refusals_change_no_file(cli, make, args, code, needle):
    root = make()
    before = snapshot(root)
    r = amend(cli, root, *args)
    # an unknown product typed on the command line is unusable input (2); a refused business rule is 1
    assert r.code == (2 if code.startswith("E-UNKNOWN") else 1), r.stdout + r.stderr
    assert code in r.stderr and needle in r.stderr
    assert "Traceback" not in r.stderr
    assert snapshot(root) == before


def test_removal_breaking_requires_is_refused(cli, make):
    extra = "  - {product: SSO, quantity: 1, unit_price: 100.00, per: month, start: 2024-01-01, end: 2024-12-31}\n"
    root = make(extra=extra)
    before = snapshot(root)
    r = amend(cli, root, "--effective", "2024-04-16", "--remove", "SEAT")
    assert r.code == 1 and "E-REQUIRES" in r.stderr and "SSO requires SEAT" in r.stderr
    assert snapshot(root) == before
    # removing both is fine
    data = ok(amend(cli, root, "--effective", "2024-04-16", "--remove", "SEAT", "--remove", "SSO", "--dry-run"))
    assert sorted(x["product"] for x in data["lines"]) == ["SEAT", "SSO"]


def test_usage_errors_exit_2(cli, make):
    root = make()
    assert amend(cli, root, "--effective", "2024-04-16").code == 2
    assert amend(cli, root, "--effective", "2024-04-16", "--set", "SEAT").code == 2
    assert amend(cli, root, "--effective", "2024-04-16", "--cancel", "--set", "SEAT=1").code == 2


def test_extend_continues_active_lines_to_the_new_end(cli, make):
    """--extend-to 2025-06-30: the 10 seats continue 2025-01-01..2025-06-30 at 1,200.00 = 6,000.00 (half a year)."""
    root = make()
    data = ok(amend(cli, root, "--extend-to", "2025-06-30", as_of="2024-11-01"))
    assert [
        (ln["quantity"], ln["start"], ln["end"], ln["net_unit_price"], ln["net_total"]) for ln in data["lines"]
    ] == [("10", "2025-01-01", "2025-06-30", "1200.00", "6000.00")]
    assert cli("quote", "accept", data["quote"], "--signed-by", "X", "--repo", root, "--as-of", "2024-11-01").code == 0
    text = (root / CPATH).read_text()
    assert "    end: 2025-06-30\n" in text
    shown = json.loads(
        cli("contract", "show", "C-2024-0001", "--repo", root, "--as-of", "2025-03-01", "--format", "json").stdout
    )
    assert shown["end"] == "2025-06-30" and shown["owned"][0]["quantity"] == "10"
    assert cli("check", "--repo", root).code == 0


def test_extend_with_an_upsell_runs_the_upsell_to_the_new_end(cli, make):
    """+5 from 2024-07-01 to 2025-06-30 (12 months) = 6,000.00; the 10 seats continue from 2025-01-01."""
    root = make()
    data = ok(amend(cli, root, "--effective", "2024-07-01", "--set", "SEAT=15", "--extend-to", "2025-06-30"))
    got = sorted((ln["quantity"], ln["start"], ln["end"], ln["net_total"]) for ln in data["lines"])
    assert got == [("10", "2025-01-01", "2025-06-30", "6000.00"), ("5", "2024-07-01", "2025-06-30", "6000.00")]


def test_extend_applies_the_renewal_uplift_when_configured(cli, repo):
    root = repo(
        {
            "catalog/products.yaml": CATALOG,
            "contracts/acme/account.yaml": ACCOUNT + "renewal: {pricing: uplift, uplift: 5%}\n",
            CPATH: CONTRACT.format(proration="monthly+daily", extra=""),
        }
    )
    data = ok(amend(cli, root, "--extend-to", "2025-12-31", as_of="2024-11-01"))
    assert [(ln["net_unit_price"], ln["net_total"]) for ln in data["lines"]] == [("1260.00", "12600.00")]


@pytest.mark.parametrize(
    "args, needle", [(("--extend-to", "2024-10-01"), "E-EXTEND"), (("--extend-to", "2024-12-31"), "E-EXTEND")]
)
def test_extend_must_move_the_end_later(cli, make, args, needle):
    root = make()
    before = snapshot(root)
    r = amend(cli, root, *args)
    assert r.code == 1 and needle in r.stderr and snapshot(root) == before


def test_evergreen_cancel_defaults_to_the_end_of_the_billing_period(cli, repo):
    """A monthly evergreen contract from 2024-01-01 cancelled on 2024-05-20 stops after May: effective 2024-06-01."""
    contract = """\
contract: C-2024-0001
account: acme
currency: PLN
start: 2024-01-01
evergreen: true
billing: {frequency: monthly}
lines:
  - {product: SSO, quantity: 1, unit_price: 100.00, per: month, start: 2024-01-01}
  - {product: SEAT, quantity: 1, unit_price: 1200.00, per: year, start: 2024-01-01}
"""
    root = repo({"catalog/products.yaml": CATALOG, "contracts/acme/account.yaml": ACCOUNT, CPATH: contract})
    data = ok(amend(cli, root, "--cancel", "--reason", "budget", as_of="2024-05-20"))
    assert data["start"] == "2024-06-01"
    assert sorted((ln["product"], ln["quantity"], ln["end"]) for ln in data["lines"]) == [
        ("SEAT", "-1", None),
        ("SSO", "-1", None),
    ]
    assert cli("quote", "accept", data["quote"], "--signed-by", "X", "--repo", root, "--as-of", "2024-05-20").code == 0
    shown = json.loads(
        cli("contract", "show", "C-2024-0001", "--repo", root, "--as-of", "2024-06-01", "--format", "json").stdout
    )
    assert shown["status"] == "cancelled" and shown["owned"] == [] and shown["arr"] == "0.00"
    may = json.loads(
        cli("contract", "show", "C-2024-0001", "--repo", root, "--as-of", "2024-05-31", "--format", "json").stdout
    )
    assert may["status"] == "active" and may["mrr"] == "200.00"
    r = amend(cli, root, "--effective", "2024-07-01", "--set", "SEAT=2", as_of="2024-06-02")
    assert r.code == 1 and "E-CANCELLED" in r.stderr


def test_fixed_term_cancel_needs_an_effective_date(cli, make):
    r = amend(cli, make(), "--cancel")
    assert r.code == 2 and "--effective is required" in r.stderr
