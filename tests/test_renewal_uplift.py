"""Renewal uplift: its basis (last | ramp) and index-linked uplifts with a floor and a cap (docs/renewal-uplift.md)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from cpqctl.core import renewal
from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import (
    Account,
    Catalog,
    Contract,
    IndexUplift,
    IndexValue,
    PriceIndex,
    RenewalTerms,
    Segment,
    Settings,
    Source,
)
from cpqctl.formats.quotes import edited_by_hand, renewal_pricing_of
from cpqctl.load import repo as loader

D = Decimal

CATALOG = """
products:
  - {code: SEAT, name: Seat, type: subscription, per: year, price: {PLN: 1100.00}}
  - {code: SSO, name: SSO, type: subscription, per: month, price: {PLN: 500.00}}
"""

ACCOUNT = """
account: acme
name: ACME
currency: PLN
tax_rate: 23%
"""

# A three-year ramp: 800.00, 900.00, then 1000.00 a seat a year; 5 more seats at 950.00 in the last year.
RAMP = """
contract: C-2024-0001
account: acme
currency: PLN
start: 2022-01-01
end: 2024-12-31
billing: {frequency: annual}
proration: monthly+daily
rounding: half-up
renewal: {term: 12, pricing: uplift, uplift: 5%}
lines:
  - {product: SEAT, quantity: 10, list_price: 1100.00, unit_price: 800.00, per: year, start: 2022-01-01, end: 2022-12-31}
  - {product: SEAT, quantity: 10, list_price: 1100.00, unit_price: 900.00, per: year, start: 2023-01-01, end: 2023-12-31}
  - {product: SEAT, quantity: 10, list_price: 1100.00, unit_price: 1000.00, per: year, start: 2024-01-01, end: 2024-12-31}
amendments:
  - amendment: A-1
    effective: 2024-07-01
    lines:
      - {product: SEAT, quantity: 5, unit_price: 950.00, per: year, start: 2024-07-01, end: 2024-12-31}
"""

# One year at 1080.00 a seat, 450.00 a month for SSO; its uplift linked to the Polish CPI.
INDEXED = """
contract: C-2026-0001
account: acme
currency: PLN
start: 2026-01-01
end: 2026-12-31
billing: {frequency: annual}
proration: monthly+daily
rounding: half-up
renewal: {term: 12, pricing: uplift, uplift: {index: cpi-pl, plus: 5%, floor: 8%}}
lines:
  - {product: SEAT, quantity: 55, list_price: 1200.00, unit_price: 1080.00, per: year, start: 2026-01-01, end: 2026-12-31}
  - {product: SSO, quantity: 1, list_price: 500.00, unit_price: 450.00, per: month, start: 2026-01-01, end: 2026-12-31}
"""

CPI = """
index: cpi-pl
name: CPI Poland, y/y (GUS)
values:
  2026-08: 5.1%
  2026-09: 5.0%
  2026-10: {value: 4.9%, published: 2026-11-14}
"""


def files(**extra: str) -> dict[str, str]:
    out = {
        "catalog/products.yaml": CATALOG,
        "contracts/acme/account.yaml": ACCOUNT,
        "contracts/acme/C-2024-0001.yaml": RAMP,
        "contracts/acme/C-2026-0001.yaml": INDEXED,
        "indices/cpi-pl.yaml": CPI,
    }
    out.update(extra)
    return out


def renew(cli, root, *args, as_of):
    return cli("renew", *args, "--repo", root, "--as-of", as_of, "--format", "json")


def prices(data: dict) -> list[tuple[str, str, str]]:
    return [(ln["product"], ln["quantity"], ln["net_unit_price"]) for ln in data["lines"]]


# --------------------------------------------------------------------------- the basis


def _seg(qty: int, price: str, start: date, end: date) -> Segment:
    return Segment("x", "SEAT", D(qty), D(price), start, end, "year", D("1100.00"))


def _ramp_contract() -> Contract:
    return Contract(
        "C-1",
        "acme",
        "PLN",
        date(2022, 1, 1),
        date(2024, 12, 31),
        (
            _seg(10, "800.00", date(2022, 1, 1), date(2022, 12, 31)),
            _seg(10, "900.00", date(2023, 1, 1), date(2023, 12, 31)),
            _seg(10, "1000.00", date(2024, 1, 1), date(2024, 12, 31)),
        ),
    )


def test_last_basis_uplifts_the_price_on_the_last_day_and_ramp_the_first_step():
    c = _ramp_contract()
    last = renewal.renewal_lines(c, Catalog(), Settings(), renewal.RenewalPricing("uplift", D(5), 12))
    assert [(ln.quantity, ln.unit_price, ln.base_price) for ln in last] == [(D(10), D("1050.00"), D("1000.00"))]
    ramp = renewal.renewal_lines(c, Catalog(), Settings(), renewal.RenewalPricing("uplift", D(5), 12, "ramp"))
    assert [(ln.quantity, ln.unit_price, ln.base_price) for ln in ramp] == [(D(10), D("840.00"), D("800.00"))]
    # the basis only concerns the uplift: `same` keeps the last price whatever the basis
    same = renewal.renewal_lines(c, Catalog(), Settings(), renewal.RenewalPricing("same", D(5), 12, "ramp"))
    assert [(ln.unit_price, ln.base_price) for ln in same] == [(D("1000.00"), None)]


def test_ramp_basis_ignores_a_zero_or_negative_segment_and_a_later_reprice():
    c = _ramp_contract()
    # a repricing amendment: -10 at 1000.00 and +10 at 950.00 from July; a zero-quantity line before the ramp
    c = Contract(
        c.contract,
        c.account,
        c.currency,
        c.start,
        c.end,
        (*c.lines, _seg(0, "10.00", date(2021, 12, 1), date(2022, 12, 31))),
        (),
    )
    from cpqctl.core.model import Amendment

    c = Contract(
        c.contract,
        c.account,
        c.currency,
        c.start,
        c.end,
        c.lines,
        (
            Amendment(
                "A-1",
                date(2024, 7, 1),
                (
                    _seg(-10, "1000.00", date(2024, 7, 1), date(2024, 12, 31)),
                    _seg(10, "950.00", date(2024, 7, 1), date(2024, 12, 31)),
                ),
            ),
        ),
    )
    last = renewal.renewal_lines(c, Catalog(), Settings(), renewal.RenewalPricing("uplift", D(5), 12))
    assert [(ln.quantity, ln.unit_price) for ln in last] == [(D(10), D("997.50"))]  # 950.00 x 1.05
    ramp = renewal.renewal_lines(c, Catalog(), Settings(), renewal.RenewalPricing("uplift", D(5), 12, "ramp"))
    assert [(ln.quantity, ln.unit_price) for ln in ramp] == [(D(10), D("840.00"))]  # 800.00 x 1.05


def test_ramp_basis_on_the_cli_merges_lines_that_come_out_at_one_price(cli, repo):
    root = repo(files())
    r = renew(cli, root, "C-2024-0001", "--dry-run", as_of="2024-11-15")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    # last: 10 at 1000.00 → 1050.00, the 5 added at 950.00 → 997.50
    assert prices(data) == [("SEAT", "10", "1050.00"), ("SEAT", "5", "997.50")]
    assert data["renewal"]["uplift_basis"] == "last"
    r = renew(cli, root, "C-2024-0001", "--uplift-basis", "ramp", "--dry-run", as_of="2024-11-15")
    data = json.loads(r.stdout)
    assert prices(data) == [("SEAT", "15", "840.00")]  # both from the ramp's first price 800.00 x 1.05
    assert data["renewal"]["uplift_basis"] == "ramp"
    steps = [(s["step"], s["unit_price"]) for s in data["lines"][0]["steps"]]
    assert steps == [
        ("list", "1100.00"),
        ("ramp's first price", "800.00"),
        ("uplift 5%", "840.00"),
        ("agreed price", "840.00"),
    ]
    assert data["net_total"] == "12600.00"  # 15 x 840.00


def test_basis_precedence_option_contract_account_toml():
    c = Contract("C-1", "acme", "PLN", date(2024, 1, 1), date(2024, 12, 31), (), renewal=RenewalTerms(pricing="uplift"))
    acct = Account("acme", "ACME", "PLN", renewal=RenewalTerms(uplift_basis="ramp"))
    settings = Settings(renewal_uplift=D(3), renewal_uplift_basis="last")
    assert renewal.resolve_terms(c, Account("acme", "ACME", "PLN"), settings).basis == "last"
    assert renewal.resolve_terms(c, acct, settings).basis == "ramp"
    own = Contract(
        "C-1",
        "acme",
        "PLN",
        date(2024, 1, 1),
        date(2024, 12, 31),
        (),
        renewal=RenewalTerms(pricing="uplift", uplift_basis="last"),
    )
    assert renewal.resolve_terms(own, acct, settings).basis == "last"
    assert renewal.resolve_terms(own, acct, settings, basis="ramp").basis == "ramp"
    with pytest.raises(CpqError) as e:
        renewal.resolve_terms(own, acct, settings, basis="first")
    assert e.value.code == "E-USAGE"


def test_basis_in_cpq_toml_and_a_plain_uplift_draft_keeps_its_comment(cli, repo):
    toml = (
        '[company]\nname = "T"\ncurrency = "PLN"\n[renewal]\npricing = "uplift"\nuplift = "5%"\nuplift_basis = "ramp"\n'
    )
    root = repo(files(**{"contracts/acme/C-2024-0001.yaml": RAMP.replace(", uplift: 5%", "")}), toml=toml)
    r = renew(cli, root, "C-2024-0001", as_of="2024-11-15")
    assert r.code == 0, r.stderr
    assert prices(json.loads(r.stdout)) == [("SEAT", "15", "840.00")]
    text = (root / "quotes/Q-2024-0001.yaml").read_text()
    assert "# renewal pricing: uplift 5% — on the first price of each line's ramp (uplift basis: ramp)\n" in text
    assert not edited_by_hand(text)
    r = renew(cli, root, "C-2024-0001", "--uplift-basis", "last", as_of="2024-11-15")
    text = (root / "quotes/Q-2024-0001.yaml").read_text()
    assert "\n# renewal pricing: uplift 5%\n" in text  # today's comment, byte for byte
    assert renewal_pricing_of(text) == ("uplift", D(5)) and not edited_by_hand(text)


# --------------------------------------------------------------------------- index-linked uplifts


def _index(*values: tuple[str, str, date]) -> PriceIndex:
    return PriceIndex(
        "cpi-pl",
        "CPI",
        tuple(
            IndexValue(p, D(v), pub, Source("indices/cpi-pl.yaml", i + 3, 12)) for i, (p, v, pub) in enumerate(values)
        ),
        Source("indices/cpi-pl.yaml", 3, 3),
    )


CPI_PL = _index(
    ("2026-08", "5.1", date(2026, 9, 1)),
    ("2026-09", "5.0", date(2026, 10, 1)),
    ("2026-10", "4.9", date(2026, 11, 14)),
)


@pytest.mark.parametrize(
    ("value", "floor", "cap", "expected", "explained"),
    [
        ("4.9", "8", None, "9.9", "index cpi-pl 2026-10: 4.9% + 5% = 9.9% (floor 8%)"),
        ("1.2", "8", "12", "8", "index cpi-pl 2026-10: 1.2% + 5% = 6.2%, raised to the floor 8%"),
        ("9.1", "8", "12", "12", "index cpi-pl 2026-10: 9.1% + 5% = 14.1%, lowered to the cap 12%"),
        ("-0.5", None, None, "4.5", "index cpi-pl 2026-10: -0.5% + 5% = 4.5%"),
    ],
)
def test_index_uplift_is_the_value_plus_the_margin_between_floor_and_cap(value, floor, cap, expected, explained):
    ix = {"cpi-pl": _index(("2026-10", value, date(2026, 11, 1)))}
    spec = IndexUplift("cpi-pl", D(5), floor and D(floor), cap and D(cap))
    got = renewal.index_uplift(spec, ix, date(2026, 11, 20))
    assert (got.uplift, got.period, got.value) == (D(expected), "2026-10", D(value))
    assert got.explain() == explained


def test_the_value_used_is_the_latest_published_on_or_before_the_day():
    pick = lambda on: renewal.value_on(CPI_PL, on)
    assert pick(date(2026, 8, 31)) is None  # August's counts from 1 September
    assert pick(date(2026, 9, 1)).period == "2026-08"
    assert pick(date(2026, 11, 13)).period == "2026-09"  # October's is published on 14 November
    assert pick(date(2026, 11, 14)).period == "2026-10"
    assert renewal.period_end("2026-02") == date(2026, 2, 28) and renewal.period_end("2025") == date(2025, 12, 31)


def test_missing_index_data_is_refused_with_a_position_and_a_hint():
    spec = IndexUplift("cpi-pl", D(5), src=Source("contracts/acme/C-2026-0001.yaml", 9, 46))
    with pytest.raises(CpqError) as e:
        renewal.index_uplift(spec, {}, date(2026, 11, 20))
    assert e.value.code == "E-INDEX-UNKNOWN" and str(e.value.src) == "contracts/acme/C-2026-0001.yaml:9:46"
    assert "indices/cpi-pl.yaml" in e.value.hint
    with pytest.raises(CpqError) as e:
        renewal.index_uplift(spec, {"cpi-pl": CPI_PL}, date(2026, 8, 20))
    assert e.value.code == "E-INDEX-NO-VALUE" and str(e.value.src) == "indices/cpi-pl.yaml:3:3"
    assert "`2026-07: 4.9%`" in e.value.hint
    # the latest value is for October: usable until the end of January, then the file is stale
    assert renewal.index_uplift(spec, {"cpi-pl": CPI_PL}, date(2027, 1, 31)).period == "2026-10"
    with pytest.raises(CpqError) as e:
        renewal.index_uplift(spec, {"cpi-pl": CPI_PL}, date(2027, 2, 1))
    assert e.value.code == "E-INDEX-STALE" and str(e.value.src) == "indices/cpi-pl.yaml:5:12"
    yearly = {"cpi-pl": _index(("2025", "3.6", date(2026, 1, 1)))}
    assert renewal.index_uplift(spec, yearly, date(2027, 3, 31)).uplift == D("8.6")
    with pytest.raises(CpqError) as e:
        renewal.index_uplift(spec, yearly, date(2027, 4, 1))
    assert e.value.code == "E-INDEX-STALE" and "`2026: 4.9%`" in e.value.hint


def test_index_uplift_precedence_and_when_it_is_read():
    spec = IndexUplift("cpi-pl", D(5), D(8))
    c = Contract("C-1", "acme", "PLN", date(2026, 1, 1), date(2026, 12, 31), ())
    acct = Account("acme", "ACME", "PLN", renewal=RenewalTerms(pricing="uplift", uplift_index=spec))
    settings = Settings(renewal_uplift=D(3), indices={"cpi-pl": CPI_PL})
    t = renewal.resolve_terms(c, acct, settings, on=date(2026, 11, 20))
    assert (t.pricing, t.uplift, t.index.period) == ("uplift", D("9.9"), "2026-10")
    t = renewal.resolve_terms(c, acct, settings)  # no as-of day: the contract's last day
    assert t.index.period == "2026-10"
    t = renewal.resolve_terms(c, acct, settings, uplift=D(4), on=date(2026, 11, 20))  # an explicit uplift wins
    assert (t.uplift, t.index) == (D(4), None)
    own = Contract(
        "C-1", "acme", "PLN", date(2026, 1, 1), date(2026, 12, 31), (), renewal=RenewalTerms(uplift=D(2))
    )  # the contract's own percentage beats the account's index
    assert renewal.resolve_terms(own, acct, settings, on=date(2026, 11, 20)).uplift == D(2)
    # not uplift pricing: the index is not read (missing data is no error then)
    t = renewal.resolve_terms(c, acct, Settings(), pricing="same", on=date(2026, 11, 20))
    assert (t.pricing, t.uplift, t.index) == ("same", D(0), None)
    toml = Settings(renewal_pricing="uplift", renewal_uplift_index=spec, indices={"cpi-pl": CPI_PL})
    assert renewal.resolve_terms(c, Account("acme", "ACME", "PLN"), toml, on=date(2026, 10, 5)).uplift == D(10)


def test_renew_shows_the_index_reading_and_writes_it_in_the_draft(cli, repo):
    root = repo(files())
    r = renew(cli, root, "C-2026-0001", as_of="2026-11-20")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert prices(data) == [("SEAT", "55", "1186.92"), ("SSO", "1", "494.55")]  # 1080.00 and 450.00 x 1.099
    assert data["renewal"] == {
        "pricing": "uplift",
        "term": 12,
        "uplift": "9.9%",
        "uplift_basis": "last",
        "index": {
            "index": "cpi-pl",
            "period": "2026-10",
            "value": "4.9%",
            "published": "2026-11-14",
            "plus": "5%",
            "floor": "8%",
            "cap": None,
            "uplift": "9.9%",
            "source": "indices/cpi-pl.yaml:6:12",
        },
        "note": "index cpi-pl 2026-10: 4.9% + 5% = 9.9% (floor 8%)",
    }
    assert data["lines"][0]["steps"][1:3] == [
        {"step": "last price", "unit_price": "1080.00", "note": "C-2026-0001 on its last day, 2026-12-31"},
        {
            "step": "uplift 9.9% (cpi-pl 2026-10)",
            "unit_price": "1186.92",
            "note": "1080.00 × (1 + 9.9%); index cpi-pl 2026-10: 4.9% + 5% = 9.9% (floor 8%)",
        },
    ]
    qfile = root / "quotes/Q-2026-0001.yaml"
    text = qfile.read_text()
    assert "# renewal pricing: uplift 9.9% — index cpi-pl 2026-10: 4.9% + 5% = 9.9% (floor 8%)\n" in text
    assert not edited_by_hand(text)
    r = renew(cli, root, "C-2026-0001", as_of="2026-11-25")
    assert r.code == 0 and "up to date" in r.stderr and qfile.read_text() == text
    # November's value is published: the draft is regenerated with it, same ID, re-dated
    (root / "indices/cpi-pl.yaml").write_text(CPI.lstrip() + "  2026-11: 2.0%\n")
    r = renew(cli, root, "C-2026-0001", as_of="2026-12-01")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["quote"] == "Q-2026-0001" and data["date"] == "2026-12-01"
    assert data["renewal"]["uplift"] == "8%" and data["renewal"]["index"]["period"] == "2026-11"
    assert prices(data) == [("SEAT", "55", "1166.40"), ("SSO", "1", "486.00")]  # the floor: 8%
    assert "raised to the floor 8%" in qfile.read_text()
    r = cli("quote", "accept", "Q-2026-0001", "--signed-by", "Anna", "--repo", root, "--as-of", "2026-12-02")
    assert r.code == 0, r.stderr
    assert "unit_price: 1166.40" in (root / "contracts/acme/C-2027-0001.yaml").read_text()


def test_renew_refuses_missing_index_data(cli, repo):
    root = repo(files())
    r = renew(cli, root, "C-2026-0001", as_of="2026-08-20")
    assert r.code == 1 and "E-INDEX-NO-VALUE" in r.stderr and "indices/cpi-pl.yaml:4:3" in r.stderr
    assert not (root / "quotes").exists()
    r = renew(cli, root, "C-2026-0001", as_of="2027-03-01")
    assert r.code == 1 and "E-INDEX-STALE" in r.stderr and "indices/cpi-pl.yaml:6:12" in r.stderr
    (root / "indices/cpi-pl.yaml").unlink()
    r = renew(cli, root, "C-2026-0001", as_of="2026-11-20")
    assert r.code == 1 and "E-INDEX-UNKNOWN" in r.stderr and "contracts/acme/C-2026-0001.yaml:9:" in r.stderr
    r = renew(cli, root, "C-2026-0001", "--uplift", "4%", "--dry-run", as_of="2026-11-20")  # an explicit uplift
    assert r.code == 0 and prices(json.loads(r.stdout))[0] == ("SEAT", "55", "1123.20")


# --------------------------------------------------------------------------- loading


def test_index_files_and_index_linked_terms_load(repo):
    toml = (
        '[company]\nname = "T"\ncurrency = "PLN"\n[renewal]\npricing = "uplift"\n'
        'uplift = { index = "cpi-pl", plus = "2%", cap = "12%" }\nuplift_basis = "ramp"\n'
    )
    root = repo(files(), toml=toml)
    settings, diags = loader.load_settings(root)
    assert diags == []
    assert settings.renewal_uplift_index == IndexUplift("cpi-pl", D(2), None, D(12), Source("cpq.toml", 6, 1))
    assert settings.renewal_uplift_basis == "ramp"
    ix = settings.indices["cpi-pl"]
    assert (ix.name, [(v.period, v.value, v.published) for v in ix.values]) == (
        "CPI Poland, y/y (GUS)",
        [
            ("2026-08", D("5.1"), date(2026, 9, 1)),
            ("2026-09", D("5.0"), date(2026, 10, 1)),
            ("2026-10", D("4.9"), date(2026, 11, 14)),
        ],
    )
    assert str(ix.values[2].src) == "indices/cpi-pl.yaml:6:12"
    r, diags = loader.load_repo(root)
    assert diags == []
    terms = r.contracts["C-2026-0001"].renewal
    assert (terms.uplift, terms.uplift_index.index, terms.uplift_index.floor) == (None, "cpi-pl", D(8))
    assert str(terms.uplift_index.src) == "contracts/acme/C-2026-0001.yaml:9:46"


def test_index_and_uplift_problems_are_reported(repo):
    bad_index = """
    index: cpi
    values:
      2026-13: 4%
      2026-10: 4.9
      2026: 3%
      2026-11: {value: 200%}
      2026-12: {published: 2027-01-05}
    """
    contract = INDEXED.replace("floor: 8%}", "floor: 8%, cap: 6%}")
    root = repo(
        files(**{"indices/cpi-eu.yaml": bad_index, "contracts/acme/C-2026-0001.yaml": contract}),
    )
    _, diags = loader.load_repo(root)
    found = sorted((d.file, d.line, d.code) for d in diags)
    assert found == [
        ("contracts/acme/C-2026-0001.yaml", 9, "E-RANGE"),  # floor above cap
        ("indices/cpi-eu.yaml", 1, "E-ID-MISMATCH"),
        ("indices/cpi-eu.yaml", 3, "E-INDEX-PERIOD"),  # no 13th month
        ("indices/cpi-eu.yaml", 4, "E-PERCENT"),  # a bare number
        ("indices/cpi-eu.yaml", 5, "E-INDEX-PERIOD"),  # a year among months
        ("indices/cpi-eu.yaml", 6, "E-RANGE"),
        ("indices/cpi-eu.yaml", 7, "E-REQUIRED"),
    ]


def test_index_linked_terms_survive_the_parse_cache(repo):
    from cpqctl.load import cache

    root = repo(files())
    rel = "contracts/acme/C-2026-0001.yaml"
    res = loader.load_file(root, rel, "contract")
    cdc = cache.Codec()
    cdc.bind([])
    back = cdc.decode_result(rel, json.loads(json.dumps(cdc.encode_result(rel, res))))
    assert back.records[0].renewal == res.records[0].renewal
    settings, _ = loader.load_settings(root)
    enc = cdc._enc[Settings]  # Settings (with its indices) is cacheable too
    assert cdc._dec[Settings](json.loads(json.dumps(enc(settings)))) == settings


def test_an_indices_folder_is_optional(repo):
    root = repo(files())
    (root / "indices/cpi-pl.yaml").unlink()
    (root / "indices").rmdir()
    settings, diags = loader.load_settings(root)
    assert diags == [] and dict(settings.indices) == {}
