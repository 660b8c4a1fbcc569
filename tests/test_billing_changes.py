"""Issue 15 end to end: billing in arrears and a change of billing frequency, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

TOML = """\
[company]
name = "Test Co"
currency = "USD"

[pricing]
proration = "period"

[billing]
frequency = "monthly"
"""

CATALOG = """\
products:
  - code: SEAT
    name: Seat
    per: year
    price: {USD: 600.00}
  - code: SSO
    name: SSO
    per: month
    price: {USD: 100.00}
    timing: arrears
"""


def _setup(repo, cli) -> Path:
    root = repo(
        {"catalog/products.yaml": CATALOG, "contracts/lago/account.yaml": "account: lago\nname: Lago\ncurrency: USD\n"},
        toml=TOML,
    )
    day = "2027-01-01"
    r = cli(
        "quote",
        "new",
        "-a",
        "lago",
        "--start",
        day,
        "--line",
        "SEAT=10",
        "--line",
        "SSO=1",
        "--repo",
        root,
        "--as-of",
        day,
    )
    assert r.code == 0, r.stderr
    r = cli("quote", "accept", "Q-2027-0001", "--signed-by", "Jan", "--repo", root, "--as-of", day)
    assert r.code == 0, r.stderr
    return root


def _invoices(root: Path) -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted((root / "invoices").glob("*.yaml"))]


def test_an_arrears_product_is_frozen_on_the_contract_and_invoiced_after_each_period(repo, cli):
    root = _setup(repo, cli)
    contract = yaml.safe_load((root / "contracts/lago/C-2027-0001.yaml").read_text())
    assert [ln.get("timing") for ln in contract["lines"]] == [None, "arrears"]
    for day in ("2027-01-01", "2027-02-01"):  # a run on each billing day: each invoice dated its billing day
        r = cli("invoice", "run", "--through", day, "--repo", root, "--as-of", day)
        assert r.code == 0, r.stderr
    got = [
        (
            i["date"].isoformat(),
            i["sale_date"].isoformat(),
            [(ln["product"], ln["period_start"].isoformat(), str(ln["amount"])) for ln in i["lines"]],
        )
        for i in _invoices(root)
    ]
    # the sale date is the end of the last settlement period on the invoice (docs/invoices.md)
    assert got == [
        ("2027-01-01", "2027-01-31", [("SEAT", "2027-01-01", "500.0")]),
        ("2027-02-01", "2027-02-28", [("SSO", "2027-01-01", "100.0"), ("SEAT", "2027-02-01", "500.0")]),
    ]
    assert cli("check", "--repo", root).code == 0


def test_amend_billing_quarterly_cuts_the_month_bills_a_stub_then_whole_quarters(repo, cli):
    root = _setup(repo, cli)
    for day in ("2027-01-01", "2027-02-01", "2027-03-01"):  # monthly runs: each invoice dated its billing day
        assert cli("invoice", "run", "--through", day, "--repo", root, "--as-of", day).code == 0

    def amend(effective: str, billing: str, *more: str):
        return cli(
            "amend",
            "C-2027-0001",
            "--effective",
            effective,
            "--billing",
            billing,
            *more,
            "--repo",
            root,
            "--as-of",
            "2027-03-12",
        )

    back = amend("2027-03-01", "quarterly")
    assert back.code == 2 and "backdated" in back.stderr
    same = amend("2027-03-12", "monthly")
    assert same.code == 2 and "already billed monthly" in same.stderr
    r = amend("2027-03-12", "quarterly", "-f", "json")
    assert r.code == 0, r.stderr
    assert "billing: {frequency: quarterly}" in (root / "quotes/Q-2027-0002.yaml").read_text()
    r = cli("quote", "accept", "Q-2027-0002", "--signed-by", "Jan", "--repo", root, "--as-of", "2027-03-12")
    assert r.code == 0, r.stderr
    assert "billing: {frequency: quarterly}" in (root / "contracts/lago/C-2027-0001.yaml").read_text()
    r = cli("invoice", "run", "--through", "2027-09-01", "--allow-future", "--repo", root, "--as-of", "2027-03-12")
    assert r.code == 0, r.stderr
    invs = {i["date"].isoformat(): i for i in _invoices(root) if i.get("kind") != "correction"}
    assert sorted(invs) == ["2027-01-01", "2027-02-01", "2027-03-01", "2027-03-12", "2027-06-01", "2027-09-01"]
    seat = [ln for ln in invs["2027-03-12"]["lines"] if ln["product"] == "SEAT"]
    assert [(ln["kind"], ln["period_start"].isoformat(), ln["period_end"].isoformat()) for ln in seat] == [
        ("proration", "2027-03-12", "2027-05-31"),
    ]
    # the cut March (billed on 03-01 by INV-2027-0003) is credited by a corrective invoice of that invoice, not by
    # a negative line on the 03-12 invoice (docs/invoices.md, corrective invoices by the run)
    [fk] = [i for i in _invoices(root) if i.get("kind") == "correction"]
    march = yaml.safe_load((root / "invoices/INV-2027-0003.yaml").read_text())
    assert (fk["invoice"], fk["date"].isoformat(), fk["corrects"], fk["corrects_date"].isoformat()) == (
        "FK-2027-0001",
        "2027-03-12",
        "INV-2027-0003",
        "2027-03-01",
    )
    assert fk["reason"] == "Contract change effective 2027-03-12: credit for a period already invoiced"
    # line 2 of the March invoice is March's seats: 10 × 600.00 / 12 = 500.00 (line 1: February's SSO in arrears)
    assert [(ln["product"], ln["period_start"].isoformat(), ln["amount"]) for ln in march["lines"]] == [
        ("SSO", "2027-02-01", 100),
        ("SEAT", "2027-03-01", 500),
    ]
    assert [
        (ln["line"], ln["product"], ln["kind"], ln["period_start"].isoformat(), ln["period_end"].isoformat())
        for ln in fk["lines"]
    ] == [(2, "SEAT", "credit", "2027-03-12", "2027-03-31")]
    # the credit's amount is the one the run issued before corrections existed (a negative line of -331.64)
    [ln] = fk["lines"]
    assert (str(ln["before"]), str(ln["after"]), str(ln["amount"])) == ("500.0", "168.36", "-331.64")
    assert (str(fk["net_total"]), str(fk["gross_total"])) == ("-331.64", "-331.64")
    # whole quarters from 1 June: 10 seats × 600.00 / 4 = 1,500.00, and SSO's quarter in arrears after it
    june = {(ln["product"], ln["kind"]): ln["amount"] for ln in invs["2027-06-01"]["lines"]}
    assert june[("SEAT", "recurring")] == 1500
    sept = {(ln["product"], ln["kind"]): ln["amount"] for ln in invs["2027-09-01"]["lines"]}
    assert sept == {("SEAT", "recurring"): 1500, ("SSO", "recurring"): 300}
    assert cli("check", "--repo", root).code == 0
    shown = cli("invoice", "preview", "C-2027-0001", "-f", "json", "--repo", root, "--as-of", "2027-09-01")
    assert shown.code == 0 and json.loads(shown.stdout)


def test_a_partial_period_policy_is_frozen_on_the_contract_and_prices_quote_and_invoices_alike(repo, cli):
    """`[billing] partial = "full"`: a contract starting mid-quarter bills its stub as a whole quarter; the quote
    prices the same (a first and a last partial quarter: 5 quarters), the contract keeps the policy (`billing: {…, partial: full}`), so a later cpq.toml change does
    not reprice it."""
    toml = TOML.replace('frequency = "monthly"', 'frequency = "quarterly"\nanchor = "calendar"\npartial = "full"')
    root = repo(
        {"catalog/products.yaml": CATALOG, "contracts/lago/account.yaml": "account: lago\nname: Lago\ncurrency: USD\n"},
        toml=toml,
    )
    day = "2027-02-15"
    r = cli(
        "quote", "new", "-a", "lago", "--start", day, "--line", "SEAT=10", "--repo", root, "--as-of", day, "-f", "json"
    )
    assert r.code == 0, r.stderr
    # 2027-02-15..2028-02-14 on calendar quarters: both partial quarters (Feb 15–Mar 31, Jan 1–Feb 14) in full
    assert json.loads(r.stdout)["net_total"] == "7500.00"
    assert cli("quote", "accept", "Q-2027-0001", "--signed-by", "Jan", "--repo", root, "--as-of", day).code == 0
    text = (root / "contracts/lago/C-2027-0001.yaml").read_text()
    assert "billing: {frequency: quarterly, anchor: calendar, partial: full}" in text
    (root / "cpq.toml").write_text(TOML, encoding="utf-8")  # the default policy again: the contract keeps its own
    r = cli("invoice", "run", "--through", "2028-01-01", "--allow-future", "--repo", root, "--as-of", day)
    assert r.code == 0, r.stderr
    amounts = [(i["date"].isoformat(), sum(ln["amount"] for ln in i["lines"])) for i in _invoices(root)]
    quarters = ["2027-02-15", "2027-04-01", "2027-07-01", "2027-10-01", "2028-01-01"]
    assert amounts == [(d, 1500) for d in quarters]
    assert cli("check", "--repo", root).code == 0


def test_amend_new_term_moves_the_end_and_restarts_the_periods_on_the_effective_date(repo, cli):
    """`amend --effective 2027-03-12 --new-term 12 --billing quarterly --set SEAT=15` on a monthly contract for 2027:
    the contract now ends 2028-03-11, the seats run to it, and quarters count from 12 March (a whole quarter is
    billed on 12 March, 12 June, …); a new term ending before the current end is refused."""
    root = _setup(repo, cli)
    for day in ("2027-01-01", "2027-02-01", "2027-03-01"):  # monthly runs: each invoice dated its billing day
        assert cli("invoice", "run", "--through", day, "--repo", root, "--as-of", day).code == 0

    def amend(*more: str):
        return cli("amend", "C-2027-0001", "--effective", "2027-03-12", *more, "--repo", root, "--as-of", "2027-03-12")

    short = amend("--new-term", "6")
    assert short.code == 2 and "not after the current end" in short.stderr
    assert amend("--new-term", "12", "--extend-to", "2028-01-01").code == 2
    r = amend("--new-term", "12", "--billing", "quarterly", "--set", "SEAT=15")
    assert r.code == 0, r.stderr
    draft = (root / "quotes/Q-2027-0002.yaml").read_text()
    assert "end: 2028-03-11" in draft and "billing: {frequency: quarterly, restart: true}" in draft
    doc = cli("quote", "render", "Q-2027-0002", "-f", "md", "-o", "-", "--repo", root, "--as-of", "2027-03-12")
    assert doc.code == 0, doc.stderr
    assert "- New term: the contract now ends on 03/11/2028; billing periods count from 03/12/2027" in doc.stdout
    assert "- Billing: quarterly, in advance" in doc.stdout
    assert (
        cli("quote", "accept", "Q-2027-0002", "--signed-by", "Jan", "--repo", root, "--as-of", "2027-03-12").code == 0
    )
    ledger = (root / "contracts/lago/C-2027-0001.yaml").read_text()
    assert "billing: {frequency: quarterly, restart: true}" in ledger and "end: 2028-03-11" in ledger
    r = cli("invoice", "run", "--through", "2027-06-12", "--allow-future", "--repo", root, "--as-of", "2027-03-12")
    assert r.code == 0, r.stderr
    invs = {i["date"].isoformat(): i for i in _invoices(root) if i.get("kind") != "correction"}
    assert sorted(invs) == ["2027-01-01", "2027-02-01", "2027-03-01", "2027-03-12", "2027-06-12"]
    # the new quarters start on 12 March: 15 seats × 600.00 / 4 = 2,250.00 on 12 March too
    march = [
        (ln["product"], ln["kind"], ln["period_start"].isoformat(), ln["period_end"].isoformat(), ln["amount"])
        for ln in invs["2027-03-12"]["lines"]
        if ln["product"] == "SEAT"
    ]
    assert march == [
        ("SEAT", "recurring", "2027-03-12", "2027-06-11", 1500),
        ("SEAT", "recurring", "2027-03-12", "2027-06-11", 750),
    ]
    # March, billed monthly on 03-01 (INV-2027-0003, line 2: 10 × 600.00 / 12 = 500.00), is cut on 03-12: its
    # credit is a corrective invoice of INV-2027-0003, not a negative line of the 03-12 invoice
    [fk] = [i for i in _invoices(root) if i.get("kind") == "correction"]
    assert (fk["invoice"], fk["date"].isoformat(), fk["corrects"], fk["corrects_date"].isoformat()) == (
        "FK-2027-0001",
        "2027-03-12",
        "INV-2027-0003",
        "2027-03-01",
    )
    assert [
        (ln["line"], ln["product"], ln["kind"], ln["period_start"].isoformat(), ln["period_end"].isoformat())
        for ln in fk["lines"]
    ] == [(2, "SEAT", "credit", "2027-03-12", "2027-03-31")]
    [ln] = fk["lines"]
    assert (str(ln["before"]), str(ln["after"]), str(ln["amount"]), str(fk["net_total"])) == (
        "500.0",
        "170.33",
        "-329.67",  # the amount the run issued as a negative line before corrections existed
        "-329.67",
    )
    june = [
        (ln["product"], ln["kind"], ln["period_start"].isoformat(), ln["period_end"].isoformat())
        for ln in invs["2027-06-12"]["lines"]
    ]
    assert ("SEAT", "recurring", "2027-06-12", "2027-09-11") in june
    seats = sum(ln["amount"] for ln in invs["2027-06-12"]["lines"] if ln["product"] == "SEAT")
    assert seats == 15 * 150  # 15 seats × 600.00 / 4
    assert cli("check", "--repo", root).code == 0
