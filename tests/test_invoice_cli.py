"""`cpqctl invoice run | preview` end to end on small inline repos and the example repo.

The worked example (SPEC §4): 10 SEAT at 1,200.00/yr, 2024-01-01..2024-12-31,
billed quarterly, monthly+daily, half-up, PLN, 23% VAT. An up-sell to 15
seats effective 2024-04-16 is previewed on 2024-04-10:

- on acceptance: 5 × 1,200.00 × (2 months + 15 days × 12/365)/12 for
  2024-04-16..2024-06-30 = 1,246.58;
- 2024-07-01: 3,000.00 → 4,500.00 (a whole quarter of 5 more seats);
- 2024-10-01: V(12-31) − V(09-30) = 4,263.01 − 2,746.58 = 1,516.43 more
  (monthly+daily is not additive: 8 months 16 days vs 5 months 15 days);
- contract value: the quote total, 5 × 1,200.00 × 8.526027/12 = 4,263.01;
- ARR on 2024-04-16: 12,000.00 → 18,000.00 (+6,000.00).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from cpqctl.formats.digest import digest_of

CATALOG = """\
products:
  - {code: SEAT, name: Seat, type: subscription, per: year, price: {PLN: 1200.00}}
  - {code: SETUP, name: Setup, type: one-time, price: {PLN: 500.00}}
"""

ACCOUNT = """\
account: acme
name: ACME
currency: PLN
{extra}"""

CONTRACT = """\
contract: C-2024-0001
account: acme
currency: PLN
start: 2024-01-01
end: 2024-12-31
billing: {{frequency: quarterly}}
proration: monthly+daily
rounding: half-up
{extra}lines:
  - {{product: SEAT, quantity: 10, list_price: 1200.00, unit_price: 1200.00, per: year, start: 2024-01-01, end: 2024-12-31}}
  - {{product: SETUP, quantity: 1, unit_price: 500.00, start: 2024-01-01}}
"""

TOML = """\
[company]
name = "Test Co"
currency = "PLN"

[tax]
rate = "23%"
"""


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.parts
    }


@pytest.fixture
def make(repo):
    def build(account_extra: str = "", contract_extra: str = "") -> Path:
        return repo(
            {
                "catalog/products.yaml": CATALOG,
                "contracts/acme/account.yaml": ACCOUNT.format(extra=account_extra),
                "contracts/acme/C-2024-0001.yaml": CONTRACT.format(extra=contract_extra),
            },
            toml=TOML,
        )

    return build


def run_json(cli, *args):
    r = cli(*args, "--format", "json")
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


def test_worked_example_upsell_preview(cli, make):
    """The period rule (SPEC §4, Salesforce CPQ's example): on acceptance 1,263.01 for the stub 04-16..06-30, then
    1,500.00 more on 07-01 and on 10-01 — identical full quarters; value 4,263.01; ARR +6,000.00."""
    root = make()
    r = cli(
        "amend", "C-2024-0001", "--effective", "2024-04-16", "--set", "SEAT=15", "--as-of", "2024-04-10", "--repo", root
    )
    assert r.code == 0, r.stderr
    before = snapshot(root)
    data = run_json(
        cli, "invoice", "preview", "C-2024-0001", "--quote", "Q-2024-0001", "--as-of", "2024-04-10", "--repo", root
    )
    assert snapshot(root) == before  # a preview writes nothing
    assert data["on_acceptance"]["net_total"] == "1263.01"
    assert data["on_acceptance"]["lines"] == [
        {
            "segment": "C-2024-0001/Q-2024-0001#1",
            "product": "SEAT",
            "period_start": "2024-04-16",
            "period_end": "2024-06-30",
            "kind": "proration",
            "quantity": "5",
            "amount": "1263.01",
        }
    ]
    assert data["on_acceptance"]["date"] == "2024-04-16"  # the later of acceptance (as-of) and effective
    assert data["invoices"] == [
        {
            "date": "2024-07-01",
            "period_start": "2024-07-01",
            "period_end": "2024-09-30",
            "before": "3000.00",
            "after": "4500.00",
            "delta": "1500.00",
        },
        {
            "date": "2024-10-01",
            "period_start": "2024-10-01",
            "period_end": "2024-12-31",
            "before": "3000.00",
            "after": "4500.00",
            "delta": "1500.00",
        },
    ]
    assert data["contract_value_delta"] == "4263.01"
    assert (data["arr_before"], data["arr_after"], data["arr_delta"]) == ("12000.00", "18000.00", "6000.00")
    # on acceptance + every later delta = the contract value delta
    assert Decimal("1263.01") + Decimal("1500.00") + Decimal("1500.00") == Decimal(data["contract_value_delta"])


def test_preview_without_quote_lists_the_next_invoices(cli, make):
    """No invoices on file: Q1 and Q2 (dated by 2024-04-10) count as billed; next are 07-01 and 10-01, 3,000.00 each."""
    root = make()
    data = run_json(cli, "invoice", "preview", "C-2024-0001", "--as-of", "2024-04-10", "--repo", root)
    assert data["contract"] == "C-2024-0001" and data["currency"] == "PLN"
    assert [(x["date"], x["period_start"], x["period_end"], x["net_total"]) for x in data["invoices"]] == [
        ("2024-07-01", "2024-07-01", "2024-09-30", "3000.00"),
        ("2024-10-01", "2024-10-01", "2024-12-31", "3000.00"),
    ]
    assert data["invoices"][0]["lines"][0]["kind"] == "recurring"


def test_run_writes_invoices_in_the_spec_format_and_is_idempotent(cli, make):
    """Run on 2024-06-30 through 2024-06-30: Q1 = 3,000.00 + setup 500.00 (+23% = 805.00 → 4,305.00) and
    Q2 = 3,000.00, both issued on the run's day (docs/invoices.md: the issue date is the day the run creates the
    invoice); the sale date is the end of the settlement period billed, due = issue date + 14 days."""
    root = make()
    dry = run_json(
        cli, "invoice", "run", "--through", "2024-06-30", "--dry-run", "--as-of", "2024-06-30", "--repo", root
    )
    assert [x["invoice"] for x in dry["invoices"]] == [None, None]
    assert [(x["date"], x["sale_date"], x["due"]) for x in dry["invoices"]] == [
        ("2024-06-30", "2024-03-31", "2024-07-14"),
        ("2024-06-30", "2024-06-30", "2024-07-14"),
    ]
    assert not (root / "invoices").exists()
    data = run_json(cli, "invoice", "run", "--through", "2024-06-30", "--as-of", "2024-06-30", "--repo", root)
    assert [x["invoice"] for x in data["invoices"]] == ["INV-2024-0001", "INV-2024-0002"]
    text = (root / "invoices/INV-2024-0001.yaml").read_text()
    # the document as issued is kept beside the invoice, its sha256 inside the digested content
    md = hashlib.sha256((root / "invoices/INV-2024-0001.md").read_bytes()).hexdigest()
    pdf = hashlib.sha256((root / "invoices/INV-2024-0001.pdf").read_bytes()).hexdigest()
    assert text == (
        "invoice: INV-2024-0001\naccount: acme\ncontract: C-2024-0001\ndate: 2024-06-30\nsale_date: 2024-03-31\n"
        "due: 2024-07-14\ncurrency: PLN\nperiod_start: 2024-01-01\nperiod_end: 2024-03-31\nlanguage: en\n"
        "seller: {name: Test Co, country: US}\nbuyer: {name: ACME}\n"
        f'document: {{md: "sha256:{md}", pdf: "sha256:{pdf}"}}\n'
        "lines:\n"
        '  - {segment: "C-2024-0001#1", product: SEAT, name: Seat, kind: recurring, period_start: 2024-01-01, '
        "period_end: 2024-03-31, quantity: 10, unit: unit, unit_price: 1200.00, per: year, factor: 0.25, "
        "amount: 3000.00}\n"
        '  - {segment: "C-2024-0001#2", product: SETUP, name: Setup, kind: one-time, period_start: 2024-01-01, '
        "quantity: 1, unit: unit, unit_price: 500.00, factor: 1, amount: 500.00}\n"
        "net_total: 3500.00\ntaxes: [{rate: 23%, base: 3500.00, amount: 805.00}]\ngross_total: 4305.00\n"
        # issue #13: an issued invoice ends its content with the digest of everything above it
        f'digest: "{digest_of(text)}"\n'
    )
    assert digest_of(text) == "sha256:" + hashlib.sha256(text[: text.index("digest:")].encode()).hexdigest()
    assert cli("check", "--repo", root).code == 0
    again = run_json(cli, "invoice", "run", "--through", "2024-06-30", "--as-of", "2024-06-30", "--repo", root)
    assert again["invoices"] == []
    # the next quarter continues the numbering, dated its billing day when the run is on that day
    nxt = run_json(cli, "invoice", "run", "--through", "2024-07-01", "--as-of", "2024-07-01", "--repo", root)
    assert [(x["invoice"], x["date"], x["sale_date"], x["net_total"]) for x in nxt["invoices"]] == [
        ("INV-2024-0003", "2024-07-01", "2024-09-30", "3000.00")
    ]


def test_catch_up_invoice_after_an_accepted_upsell(cli, make):
    """Q2 billed on 04-01; up-sell accepted 04-10, effective 04-16 → catch-up of 1,263.01 dated 04-16 (a run on
    04-16, or ahead of time), its sale date the end of the stub it bills (06-30)."""
    root = make()
    run_json(cli, "invoice", "run", "--through", "2024-04-01", "--as-of", "2024-04-01", "--repo", root)
    assert (
        cli(
            "amend",
            "C-2024-0001",
            "--effective",
            "2024-04-16",
            "--set",
            "SEAT=15",
            "--as-of",
            "2024-04-10",
            "--repo",
            root,
        ).code
        == 0
    )
    r = cli(
        "quote",
        "accept",
        "Q-2024-0001",
        "--signed-by",
        "Anna",
        "--signed-on",
        "2024-04-10",
        "--as-of",
        "2024-04-10",
        "--repo",
        root,
    )
    assert r.code == 0, r.stderr
    assert (
        run_json(cli, "invoice", "run", "--through", "2024-04-15", "--as-of", "2024-04-15", "--repo", root)["invoices"]
        == []
    )
    data = run_json(cli, "invoice", "run", "--through", "2024-04-30", "--as-of", "2024-04-16", "--repo", root)
    [inv] = data["invoices"]
    assert (inv["date"], inv["sale_date"], inv["due"], inv["net_total"]) == (
        "2024-04-16",
        "2024-06-30",
        "2024-04-30",
        "1263.01",
    )
    assert (inv["period_start"], inv["period_end"]) == ("2024-04-16", "2024-06-30")
    assert inv["lines"][0]["kind"] == "proration"
    later = run_json(cli, "invoice", "run", "--through", "2024-12-31", "--as-of", "2024-12-31", "--repo", root)
    assert [x["net_total"] for x in later["invoices"]] == ["4500.00", "4500.00"]  # identical full quarters
    # a run on 12-31 issues both late quarters on its own day, each with its own period and sale date
    assert [(x["date"], x["period_start"], x["sale_date"]) for x in later["invoices"]] == [
        ("2024-12-31", "2024-07-01", "2024-09-30"),
        ("2024-12-31", "2024-10-01", "2024-12-31"),
    ]


def test_tax_account_rate_and_reverse_charge(cli, make):
    """Account 8%: 3,500.00 → tax 280.00; reverse charge: 0% and `reverse_charge: true` on the invoice (the buyer
    an EU business with a VAT ID: docs/tax-ids.md)."""
    root = make(account_extra="tax_rate: 8%\n")
    data = run_json(
        cli, "invoice", "run", "--through", "2024-01-01", "--dry-run", "--as-of", "2024-01-01", "--repo", root
    )
    inv = data["invoices"][0]
    assert inv["taxes"] == [{"rate": "8%", "base": "3500.00", "amount": "280.00"}]
    assert inv["gross_total"] == "3780.00" and inv["reverse_charge"] is False

    (root / "contracts/acme/account.yaml").write_text(ACCOUNT.format(extra="reverse_charge: true\n"))
    r = cli("invoice", "run", "--through", "2024-01-01", "--as-of", "2024-01-01", "--repo", root)
    assert r.code == 1 and "E-REVERSE-CHARGE-NO-VAT-ID" in r.stderr  # reverse charge needs the buyer's VAT ID
    assert not (root / "invoices").exists()
    (root / "contracts/acme/account.yaml").write_text(
        ACCOUNT.format(extra="reverse_charge: true\ntax_id: DE811234565\ncountry: DE\n")
    )
    run_json(cli, "invoice", "run", "--through", "2024-01-01", "--as-of", "2024-01-01", "--repo", root)
    doc = yaml.safe_load((root / "invoices/INV-2024-0001.yaml").read_text())
    assert doc["reverse_charge"] is True
    assert doc["buyer"] == {"name": "ACME", "tax_id": "DE811234565", "country": "DE"}
    assert doc["taxes"] == [{"rate": "0%", "base": 3500.0, "amount": 0.0}]
    assert doc["gross_total"] == doc["net_total"] == 3500.0


def test_billed_through_counts_as_invoiced(cli, make):
    """Imported with billed_through 2024-06-30: the first run starts at 07-01 (3,000.00); setup already billed."""
    root = make(contract_extra="billed_through: 2024-06-30\n")
    data = run_json(
        cli, "invoice", "run", "--through", "2024-07-31", "--dry-run", "--as-of", "2024-07-01", "--repo", root
    )
    assert [(x["date"], x["net_total"]) for x in data["invoices"]] == [("2024-07-01", "3000.00")]


def test_billed_through_mid_period_bills_the_rest(cli, make):
    """billed_through 2024-02-15 inside Q1: the rest of Q1 = 3,000.00 − V(02-15) (1 month 15 days = 1,493.15),
    issued on the day of the run (02-16), naming the settlement period Q1 and with its end as the sale date."""
    root = make(contract_extra="billed_through: 2024-02-15\n")
    data = run_json(
        cli, "invoice", "run", "--through", "2024-02-16", "--dry-run", "--as-of", "2024-02-16", "--repo", root
    )
    [inv] = data["invoices"]
    assert (inv["date"], inv["sale_date"], inv["due"]) == ("2024-02-16", "2024-03-31", "2024-03-01")
    assert (inv["period_start"], inv["period_end"]) == ("2024-01-01", "2024-03-31")
    assert [(x["product"], x["kind"], x["amount"]) for x in inv["lines"]] == [("SEAT", "proration", "1506.85")]


def test_errors(cli, make):
    root = make()
    r = cli("invoice", "preview", "C-2024-9999", "--as-of", "2024-04-10", "--repo", root)
    assert r.code == 2 and "E-UNKNOWN-CONTRACT" in r.stderr and "Traceback" not in r.stderr
    r = cli("invoice", "preview", "C-2024-0001", "--quote", "Q-2024-0099", "--as-of", "2024-04-10", "--repo", root)
    assert r.code == 2 and "E-UNKNOWN-QUOTE" in r.stderr
    r = cli("invoice", "run", "--through", "2024-13-01", "--repo", root)
    assert r.code == 2 and "E-USAGE" in r.stderr


def _issued(root: Path) -> Counter:
    out = Counter()
    for p in sorted((root / "invoices").glob("*.yaml")):
        d = yaml.safe_load(p.read_text())
        lines = tuple(tuple(sorted((k, str(v)) for k, v in ln.items())) for ln in d["lines"])
        out[(d["contract"], str(d["date"]), lines, str(d["net_total"]), str(d["gross_total"]))] += 1
    return out


def test_monthly_runs_equal_one_run_over_the_example_repo(cli, example_repo, tmp_path):
    """Runs on the 1st of every month of 2026 (each through the month's last day) issue the same invoices as one
    run on 2026-01-01 through 2026-12-31: a run ahead of time dates every invoice on its billing date, like the
    monthly runs do (docs/invoices.md); what was due before 2026-01-01 is dated 2026-01-01 by both.

    Globex's downgrade from 2026-09-01 (A-1: −5 seats) credits a year invoiced on 2026-03-01: a corrective invoice
    dated 2026-09-01 of that invoice in both — whether an earlier run issued it or an earlier invoice of the same
    run — never a negative regular invoice, nor a credit moved onto a document dated before the change."""
    import shutil

    monthly = tmp_path / "monthly"
    shutil.copytree(example_repo, monthly)
    once = run_json(
        cli,
        "invoice",
        "run",
        "--through",
        "2026-12-31",
        "--as-of",
        "2026-01-01",
        "--allow-future",
        "--repo",
        example_repo,
    )
    assert once["count"] > 20
    from datetime import date, timedelta

    from cpqctl.core.proration import add_months

    for m in range(12):
        first = add_months(date(2026, 1, 1), m)
        last = add_months(date(2026, 1, 1), m + 1) - timedelta(days=1)
        run_json(cli, "invoice", "run", "--through", last.isoformat(), "--as-of", first.isoformat(), "--repo", monthly)

    def lines(doc: dict) -> list[tuple]:
        return [
            (ln["product"], ln["kind"], str(ln["period_start"]), str(ln.get("period_end")), ln["amount"])
            for ln in doc["lines"]
        ]

    # the year from 2026-03-01: 30 × 252.00 + 12 × 60.00 + 12 × 95.00 (the up-to-50 block) + 1,200.00 = 10,620.00
    year = [
        ("PRO-SEAT", "recurring", "2026-03-01", "2027-02-28", 7560.0),
        ("AUDIT-LOG", "recurring", "2026-03-01", "2027-02-28", 720.0),
        ("STORAGE-PACK", "recurring", "2026-03-01", "2027-02-28", 1140.0),
        ("ONBOARDING", "one-time", "2026-03-01", "None", 1200.0),
    ]
    # 5 seats × 252.00 × 6/12 (2026-09-01..2027-02-28) = 630.00 off
    credit = ("PRO-SEAT", "credit", "2026-09-01", "2027-02-28", -630.0)
    for root in (monthly, example_repo):
        docs = [yaml.safe_load(p.read_text()) for p in sorted((root / "invoices").glob("*.yaml"))]
        globex = [d for d in docs if d["contract"] == "C-2026-0003"]
        assert [d["invoice"] for d in globex] == ["FK-2026-0001", "INV-2026-0005"], root.name
        fk, inv = globex
        assert (inv["invoice"], str(inv["date"]), lines(inv), inv["net_total"]) == (
            "INV-2026-0005",
            "2026-03-01",
            year,
            10620.0,
        ), root.name
        assert (fk["invoice"], fk["kind"], str(fk["date"]), fk["corrects"], str(fk["corrects_date"])) == (
            "FK-2026-0001",
            "correction",
            "2026-09-01",
            "INV-2026-0005",
            "2026-03-01",
        ), root.name
        assert lines(fk) == [credit] and fk["net_total"] == fk["gross_total"] == -630.0
        # line 1 of INV-2026-0005, 30 seats × 252.00 = 7,560.00, is 6,930.00 after (25 seats for the second half)
        assert [(ln["line"], ln["before"], ln["after"]) for ln in fk["lines"]] == [(1, 7560.0, 6930.0)]
    assert _issued(monthly) == _issued(example_repo)
    assert (
        run_json(cli, "invoice", "run", "--through", "2026-12-31", "--as-of", "2026-12-31", "--repo", monthly)[
            "invoices"
        ]
        == []
    )
    assert cli("check", "--repo", monthly).code == 0
    # Initech's period from 2025-10-01 was due before the first run: issued on that run's day, in 2026's series
    assert any(
        k[0] == "C-2025-0003" and k[1] == "2026-01-01" and ("period_start", "2025-10-01") in k[2][0]
        for k in _issued(monthly)
    )


def test_a_calendar_anchor_is_frozen_into_the_contract_and_bills_a_stub_first(cli, example_repo):
    """`[billing] anchor = "calendar"`: accepting a quote records the anchor on the contract (like proration), and
    the first invoice covers the stub up to the calendar quarter; later cpq.toml changes do not move it."""
    toml = example_repo / "cpq.toml"
    toml.write_text(toml.read_text().replace("[billing]\n", '[billing]\nanchor = "calendar"\n'))
    q = run_json(
        cli,
        "quote",
        "new",
        "--account",
        "acme",
        "--start",
        "2027-02-10",
        "--line",
        "PRO-SEAT=10",
        "--billing",
        "quarterly",
        "--as-of",
        "2027-02-01",
        "--repo",
        example_repo,
    )["quote"]
    assert cli("quote", "accept", q, "--signed-by", "Anna", "--as-of", "2027-02-01", "--repo", example_repo).code == 0
    [contract] = [p for p in (example_repo / "contracts" / "acme").glob("C-2027-*.yaml")]
    assert "billing: {frequency: quarterly, anchor: calendar}" in contract.read_text()
    toml.write_text(toml.read_text().replace('anchor = "calendar"\n', "anchor = 15\n"))
    # a dry run ahead of time (as of the contract's first day): each invoice dated on its billing date
    data = run_json(
        cli, "invoice", "run", "--dry-run", "--through", "2027-07-01", "--as-of", "2027-02-10", "--repo", example_repo
    )
    mine = [i for i in data["invoices"] if i["contract"] == contract.stem]
    assert [(i["date"], i["period_start"], i["period_end"]) for i in mine] == [
        ("2027-02-10", "2027-02-10", "2027-03-31"),
        ("2027-04-01", "2027-04-01", "2027-06-30"),
        ("2027-07-01", "2027-07-01", "2027-09-30"),
    ]
    assert mine[1]["net_total"] == mine[2]["net_total"]  # full quarters bill the same


def test_an_accounts_anchor_beats_cpq_toml_and_a_quotes_beats_both(cli, example_repo):
    (example_repo / "contracts" / "acme" / "account.yaml").write_text(
        (example_repo / "contracts" / "acme" / "account.yaml").read_text() + "billing: {anchor: 5}\n"
    )
    q = run_json(
        cli,
        "quote",
        "new",
        "--account",
        "acme",
        "--start",
        "2027-02-10",
        "--line",
        "PRO-SEAT=10",
        "--billing",
        "monthly",
        "--as-of",
        "2027-02-01",
        "--repo",
        example_repo,
    )["quote"]
    assert cli("quote", "accept", q, "--signed-by", "Anna", "--as-of", "2027-02-01", "--repo", example_repo).code == 0
    [contract] = list((example_repo / "contracts" / "acme").glob("C-2027-*.yaml"))
    assert "billing: {frequency: monthly, anchor: 5}" in contract.read_text()
    assert cli("check", "--repo", example_repo).code == 0


def test_a_billing_anchor_that_is_no_day_of_every_month_is_refused(cli, example_repo):
    toml = example_repo / "cpq.toml"
    toml.write_text(toml.read_text().replace("[billing]\n", "[billing]\nanchor = 31\n"))
    r = cli("check", "--repo", example_repo, "--format", "json")
    [d] = [d for d in json.loads(r.stdout)["diagnostics"] if d["code"] == "E-ANCHOR"]
    assert r.code == 1 and d["file"] == "cpq.toml" and "1 to 28" in d["hint"]


def test_tax_rounded_per_line_is_issued_and_passes_check(cli, example_repo):
    toml = example_repo / "cpq.toml"
    toml.write_text(toml.read_text().replace('[tax]\nrate = "23%"\n', '[tax]\nrate = "23%"\nrounding = "line"\n'))
    assert 'rounding = "line"' in toml.read_text()
    data = run_json(cli, "invoice", "run", "--through", "2026-12-31", "--as-of", "2026-12-31", "--repo", example_repo)
    assert data["invoices"]
    assert cli("check", "--repo", example_repo).code == 0  # the per-line sums are taxes check accepts
    inv = next(i for i in data["invoices"] if len(i["lines"]) > 1 and i["tax_total"] != "0.00")
    from decimal import ROUND_HALF_UP

    per_line = sum(
        (Decimal(ln["amount"]) * Decimal("0.23")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        for ln in inv["lines"]
    )
    assert Decimal(inv["tax_total"]) == per_line
