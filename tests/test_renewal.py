"""`cpqctl renew` and `cpqctl renewals` (SPEC §3 Renewals, §5 Renewals due, §6 JSON shapes)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from cpqctl.core import renewal
from cpqctl.core.model import Account, Contract, RenewalTerms, Segment, Settings
from cpqctl.formats.quotes import edited_by_hand

AS_OF = "2024-11-15"

CATALOG = """
products:
  - {code: SEAT, name: Seat, type: subscription, per: year, price: {PLN: 1300.00}}
  - {code: WIDGET, name: Widget, type: subscription, per: month, price: {PLN: 120.00}}
  - {code: ONBOARDING, name: Onboarding, type: one-time, price: {PLN: 5000.00}}
  - {code: API, name: API plan, type: subscription, per: month, price: {PLN: 900.00}, evergreen: true}
"""

ACCOUNT = """
account: acme
name: ACME
currency: PLN
tax_rate: 23%
"""

CONTRACT = """
contract: C-2024-0001
account: acme
currency: PLN
start: 2024-01-01
end: 2024-12-31
billing: {frequency: annual}
proration: monthly+daily
rounding: half-up
lines:
  - {product: SEAT, quantity: 10, unit_price: 1200.00, per: year, start: 2024-01-01, end: 2024-12-31}
  - {product: ONBOARDING, quantity: 1, unit_price: 5000.00, start: 2024-01-01}
amendments:
  - amendment: A-1
    effective: 2024-04-16
    lines:
      - {product: SEAT, quantity: 5, unit_price: 1200.00, per: year, start: 2024-04-16, end: 2024-12-31}
"""

EVERGREEN = """
contract: C-2024-0002
account: acme
currency: PLN
start: 2024-01-01
evergreen: true
billing: {frequency: monthly}
lines:
  - {product: API, quantity: 1, unit_price: 900.00, per: month, start: 2024-01-01}
"""

CANCELLED = """
contract: C-2024-0003
account: acme
currency: PLN
start: 2024-01-01
end: 2024-12-31
lines:
  - {product: SEAT, quantity: 2, unit_price: 1200.00, per: year, start: 2024-01-01, end: 2024-12-31}
amendments:
  - amendment: A-1
    effective: 2024-06-01
    cancelled: {date: 2024-06-01, reason: budget}
    lines:
      - {product: SEAT, quantity: -2, unit_price: 1200.00, per: year, start: 2024-06-01, end: 2024-12-31}
"""

WIDGETS = """
contract: C-2024-0004
account: acme
currency: PLN
start: 2024-01-01
end: 2024-12-31
lines:
  - {product: WIDGET, quantity: 1, unit_price: 99.99, per: month, start: 2024-01-01, end: 2024-12-31}
"""


def files(**extra: str) -> dict[str, str]:
    out = {
        "catalog/products.yaml": CATALOG,
        "contracts/acme/account.yaml": ACCOUNT,
        "contracts/acme/C-2024-0001.yaml": CONTRACT,
    }
    out.update(extra)
    return out


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.parts
    }


def renew(cli, root, *args, as_of=AS_OF):
    return cli("renew", *args, "--repo", root, "--as-of", as_of, "--format", "json")


# --------------------------------------------------------------------------- the quote


def test_renewal_merges_amendments_and_drops_one_time_lines(cli, repo):
    root = repo(files())
    r = renew(cli, root, "C-2024-0001", "--pricing", "same")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["quote"], data["kind"], data["contract"], data["status"]) == (
        "Q-2024-0001",
        "renewal",
        "C-2024-0001",
        "draft",
    )
    assert (data["start"], data["end"]) == ("2025-01-01", "2025-12-31")
    assert [(ln["product"], ln["quantity"], ln["start"], ln["end"]) for ln in data["lines"]] == [
        ("SEAT", "15", "2025-01-01", "2025-12-31")
    ]  # 10 + 5 merged; ONBOARDING not renewed
    assert data["lines"][0]["net_unit_price"] == "1200.00"
    assert data["net_total"] == "18000.00"
    assert (root / "quotes/Q-2024-0001.yaml").exists()


def test_uplift_rounds_the_unit_price(cli, repo):
    root = repo(files())
    r = renew(cli, root, "C-2024-0001", "--pricing", "uplift", "--uplift", "5%", "--dry-run")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["quote"] is None and data["lines"][0]["net_unit_price"] == "1260.00"
    assert data["net_total"] == "18900.00"
    assert not (root / "quotes").exists()  # dry run: nothing written

    root2 = repo(files(**{"contracts/acme/C-2024-0004.yaml": WIDGETS}))
    r = renew(cli, root2, "C-2024-0004", "--uplift", "3%", "--dry-run")
    line = json.loads(r.stdout)["lines"][0]
    assert line["net_unit_price"] == "102.99"  # 99.99 x 1.03 = 102.9897 → 102.99
    assert line["net_total"] == "1235.88"  # 12 months x 102.99


def test_list_pricing_reprices_from_the_catalog(cli, repo):
    root = repo(files())
    data = json.loads(renew(cli, root, "C-2024-0001", "--pricing", "list", "--dry-run").stdout)
    assert data["lines"][0]["net_unit_price"] == "1300.00" and data["net_total"] == "19500.00"


def test_pricing_precedence_contract_over_account_over_toml():
    c = Contract("C-1", "acme", "PLN", date(2024, 1, 1), date(2024, 12, 31), (), renewal=RenewalTerms(pricing="uplift"))
    acct = Account("acme", "ACME", "PLN", renewal=RenewalTerms(pricing="list", uplift=Decimal(7)))
    settings = Settings(renewal_pricing="same", renewal_uplift=Decimal(3))
    t = renewal.resolve_terms(c, acct, settings)
    assert (t.pricing, t.uplift, t.term) == ("uplift", Decimal(7), 12)
    t = renewal.resolve_terms(c, acct, settings, pricing="same", term=24)
    assert (t.pricing, t.term) == ("same", 24)
    bare = Contract("C-2", "acme", "PLN", date(2024, 1, 1), date(2024, 6, 30), ())
    t = renewal.resolve_terms(bare, Account("acme", "ACME", "PLN"), settings)
    assert (t.pricing, t.uplift, t.term) == ("same", Decimal(3), 6)


def test_a_term_that_is_not_whole_months_needs_renewal_term():
    c = Contract("C-1", "acme", "PLN", date(2024, 1, 1), date(2024, 12, 15), ())
    try:
        renewal.resolve_terms(c, Account("acme", "ACME", "PLN"), Settings())
    except Exception as e:
        assert getattr(e, "code", None) == "E-RENEWAL-TERM"
    else:
        raise AssertionError("expected E-RENEWAL-TERM")
    assert renewal.whole_months(date(2024, 1, 31), date(2024, 2, 28)) == 1  # Jan 31 + 1 month = Feb 29 - 1 day


def test_zero_quantity_after_merge_is_dropped():
    seg = lambda q, start: Segment("x", "SEAT", Decimal(q), Decimal("1200.00"), start, date(2024, 12, 31), "year")
    c = Contract(
        "C-1",
        "acme",
        "PLN",
        date(2024, 1, 1),
        date(2024, 12, 31),
        (seg(10, date(2024, 1, 1)), seg(-10, date(2024, 6, 1))),
    )
    from cpqctl.core.model import Catalog

    assert renewal.renewal_lines(c, Catalog(), Settings(), renewal.RenewalPricing("same", Decimal(0), 12)) == []


def test_evergreen_and_cancelled_are_refused_without_changing_files(cli, repo):
    root = repo(files(**{"contracts/acme/C-2024-0002.yaml": EVERGREEN, "contracts/acme/C-2024-0003.yaml": CANCELLED}))
    before = snapshot(root)
    r = renew(cli, root, "C-2024-0002")
    assert r.code == 1 and "E-EVERGREEN" in r.stderr and "Traceback" not in r.stderr
    r = renew(cli, root, "C-2024-0003")
    assert r.code == 1 and "E-CANCELLED" in r.stderr
    assert snapshot(root) == before


# --------------------------------------------------------------------------- regeneration


def test_regeneration_after_a_later_amendment_keeps_the_id(cli, repo):
    root = repo(files())
    assert renew(cli, root, "C-2024-0001", "--pricing", "same").code == 0
    qfile = root / "quotes/Q-2024-0001.yaml"
    first = qfile.read_text()
    r = renew(cli, root, "C-2024-0001", "--pricing", "same")
    assert r.code == 0 and qfile.read_text() == first and "up to date" in r.stderr
    with (root / "contracts/acme/C-2024-0001.yaml").open("a") as f:
        f.write(
            "  - amendment: A-2\n    effective: 2024-10-01\n    lines:\n"
            "      - {product: SEAT, quantity: 3, unit_price: 1200.00, per: year, start: 2024-10-01, "
            "end: 2024-12-31}\n"
        )
    r = renew(cli, root, "C-2024-0001", "--pricing", "same")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["quote"] == "Q-2024-0001" and data["lines"][0]["quantity"] == "18"
    assert sorted(p.name for p in (root / "quotes").iterdir()) == ["Q-2024-0001.yaml"]


def test_a_draft_edited_by_hand_needs_force(cli, repo):
    root = repo(files())
    assert renew(cli, root, "C-2024-0001", "--pricing", "same").code == 0
    qfile = root / "quotes/Q-2024-0001.yaml"
    edited = qfile.read_text().replace("quantity: 15", "quantity: 16")
    qfile.write_text(edited)
    r = renew(cli, root, "C-2024-0001", "--pricing", "same")
    assert r.code == 1 and "E-EDITED" in r.stderr and qfile.read_text() == edited
    r = renew(cli, root, "C-2024-0001", "--pricing", "same", "--force")
    assert r.code == 0 and json.loads(r.stdout)["lines"][0]["quantity"] == "15"
    assert not edited_by_hand(qfile.read_text())


def test_accept_creates_the_successor_and_then_renewing_is_refused(cli, repo):
    root = repo(files())
    assert renew(cli, root, "C-2024-0001", "--pricing", "same").code == 0
    r = cli("quote", "accept", "Q-2024-0001", "--signed-by", "Anna", "--repo", root, "--as-of", AS_OF)
    assert r.code == 0, r.stderr
    new = root / "contracts/acme/C-2025-0001.yaml"
    text = new.read_text()
    assert "renews: C-2024-0001" in text and "quantity: 15" in text and "start: 2025-01-01" in text
    r = cli("--as-of", AS_OF, "check", "--repo", root, "--format", "json")
    assert r.code == 0 and json.loads(r.stdout)["diagnostics"] == []
    before = snapshot(root)
    r = renew(cli, root, "C-2024-0001")
    assert r.code == 1 and "E-RENEWED" in r.stderr and snapshot(root) == before
    rows = json.loads(cli("renewals", "--repo", root, "--as-of", AS_OF, "--format", "json").stdout)["rows"]
    assert [(x["contract"], x["renewal_quote"], x["quote_status"]) for x in rows] == [
        ("C-2024-0001", "Q-2024-0001", "accepted")
    ]


# --------------------------------------------------------------------------- due


def test_renew_due_is_idempotent_on_the_example_repo(cli, example_repo):
    args = ("renew", "--due", "--repo", example_repo, "--as-of", "2026-11-28", "--format", "json")
    r = cli(*args)
    assert r.code == 0, r.stderr
    rows = json.loads(r.stdout)["rows"]
    assert [(x["contract"], x["action"]) for x in rows] == [("C-2026-0001", "create"), ("C-2026-0002", "create")]
    before = snapshot(example_repo)
    again = json.loads(cli(*args).stdout)["rows"]
    assert {x["action"] for x in again} == {"unchanged"} and snapshot(example_repo) == before
    acme = (example_repo / f"quotes/{rows[0]['quote']}.yaml").read_text()
    assert "unit_price: 1134.00" in acme  # 1080.00 uplifted by the contract's 5%
    r = cli("renewals", "--repo", example_repo, "--as-of", "2026-11-28", "--format", "json")
    data = json.loads(r.stdout)
    assert (data["as_of"], data["within"]) == ("2026-11-28", 90)
    acme_row = data["rows"][0]
    assert acme_row == {
        "contract": "C-2026-0001",
        "account": "acme",
        "end": "2026-12-31",
        "arr": "64800.00",
        "currency": "PLN",
        "renewal_quote": rows[0]["quote"],
        "quote_status": "draft",
    }
    assert cli("--as-of", "2026-11-28", "check", "--repo", example_repo).code == 0


def test_renewals_without_quotes_and_window(cli, repo):
    root = repo(files(**{"contracts/acme/C-2024-0002.yaml": EVERGREEN}))
    data = json.loads(cli("renewals", "--repo", root, "--as-of", AS_OF, "--format", "json").stdout)
    # 55 days to the end, inside the 90-day default; evergreen never listed
    assert data["rows"] == [
        {
            "contract": "C-2024-0001",
            "account": "acme",
            "end": "2024-12-31",
            "arr": "18000.00",
            "currency": "PLN",
            "renewal_quote": None,
            "quote_status": None,
        }
    ]
    data = json.loads(cli("renewals", "--within", "30", "--repo", root, "--as-of", AS_OF, "--format", "json").stdout)
    assert data["within"] == 30 and data["rows"] == []
