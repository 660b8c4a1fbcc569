"""The quote, amendment and renewal use cases called from Python (cpqctl.app.quotes | amend | renew).

The same flows the CLI tests drive through `cpqctl quote …`, `amend`, `renew`
and `renewals`, here without the command line: the records returned, the
files written (and nothing written on a refusal or a dry run), and the
regression of renewal rounding (an uplifted price follows the contract's
effective rounding — its own ``rounding:``, else cpq.toml's — not half-up).
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cpqctl.app.amend import amend
from cpqctl.app.quotes import NewLine, accept_quote, approve_quote, new_quote, parse_line, render_quote, show_quote
from cpqctl.app.renew import renew, renew_due, renewals_due, renewals_forecast
from cpqctl.app.workspace import Workspace
from cpqctl.core.amendments import Change
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.formats.quotes import edited_by_hand

AS_OF = date(2026, 11, 28)


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.parts
    }


@pytest.fixture
def ws(example_repo) -> Workspace:
    return Workspace.open(example_repo, as_of=AS_OF)


# --------------------------------------------------------------------------- quotes


def test_parse_line_reads_quantity_and_either_discount():
    assert parse_line("PRO-SEAT=50") == NewLine("PRO-SEAT", Decimal(50))
    assert parse_line(" SSO=1@10% ") == NewLine("SSO", Decimal(1), Decimal(10), None)
    assert parse_line("SSO=2@5.50") == NewLine("SSO", Decimal(2), None, Decimal("5.50"))
    with pytest.raises(UsageError, match="is not CODE=QTY"):
        parse_line("PRO-SEAT")


def test_new_quote_writes_a_draft_and_numbers_the_next(ws):
    r = new_quote(
        ws, account="acme", start=date(2027, 1, 1), term=12, lines=["PRO-SEAT=50", NewLine("ONBOARDING", Decimal(1))]
    )
    assert r.quote.quote == "Q-2026-0001" and r.status == "draft"
    assert r.written == ("quotes/Q-2026-0001.yaml",) and r.message == "wrote quotes/Q-2026-0001.yaml"
    # SPEC §2 step 3: 50 seats at the 10% range tier = 1,080.00 each; + 5,000.00 onboarding; 23% VAT
    assert (r.data["quote"], r.data["net_total"], r.data["gross_total"]) == ("Q-2026-0001", "59000.00", "72570.00")
    assert r.priced.net_total == Decimal("59000.00")
    text = (ws.root / "quotes/Q-2026-0001.yaml").read_text(encoding="utf-8")
    assert text.startswith("quote: Q-2026-0001\nkind: new\nstatus: draft\naccount: acme\n")
    assert "  - {product: PRO-SEAT, quantity: 50}\n" in text

    again = new_quote(ws, account="acme", start=date(2027, 1, 1), lines=[("VIEWER-SEAT", Decimal(3), Decimal(10))])
    assert again.quote.quote == "Q-2026-0002"


def test_new_quote_dry_run_and_refusals_write_nothing(ws):
    before = snapshot(ws.root)
    dry = new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=50"], dry_run=True)
    assert dry.data["quote"] is None and dry.quote.quote == "(dry run)" and dry.written == () and not dry.message
    assert dry.data["net_total"] == "54000.00"
    with pytest.raises(CpqError) as e:
        new_quote(ws, account="acmee", start=date(2027, 1, 1), lines=["PRO-SEAT=5"])
    assert e.value.code == "E-UNKNOWN-ACCOUNT" and "did you mean `acme`?" in e.value.hint
    with pytest.raises(UsageError, match="evergreen quote has no term"):
        new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=5"], term=12, evergreen=True)
    with pytest.raises(UsageError, match="positive number of months"):
        new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=5"], term=0)
    assert snapshot(ws.root) == before


def test_show_quote_reprices_a_draft_and_sees_it_expire(ws):
    new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=50"])
    shown = show_quote(ws, "Q-2026-0001")
    assert shown.status == "draft" and shown.data["net_total"] == "54000.00" and shown.written == ()
    assert shown.data["valid_until"] == "2026-12-28"  # quote date + 30 days (cpq.toml)
    assert show_quote(ws, "Q-2026-0001", as_of=date(2026, 12, 29)).status == "expired"
    with pytest.raises(CpqError) as e:
        show_quote(ws, "Q-2026-0002")
    assert e.value.code == "E-UNKNOWN-QUOTE"


def test_a_discount_over_the_limit_needs_approval_before_acceptance(ws):
    new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=10@25%"])
    assert show_quote(ws, "Q-2026-0001").status == "needs-approval"
    before = snapshot(ws.root)
    with pytest.raises(CpqError) as e:
        accept_quote(ws, "Q-2026-0001", signed_by="Anna Nowak")
    assert e.value.code == "E-NEEDS-APPROVAL" and snapshot(ws.root) == before

    ok = approve_quote(ws, "Q-2026-0001", by="Jan Kowalski")
    assert ok.message == "Q-2026-0001 approved by Jan Kowalski on 2026-11-28"
    text = (ws.root / "quotes/Q-2026-0001.yaml").read_text(encoding="utf-8")
    # issue 13: the approval records the digest of the priced quote approved
    assert 'status: approved\napproved: {by: Jan Kowalski, date: 2026-11-28, digest: "sha256:' in text
    assert show_quote(ws, "Q-2026-0001").status == "approved"

    # signed on the day it is accepted: a signing date after the as-of day is refused (issue 13, E-SIGNED-ON)
    done = accept_quote(ws, "Q-2026-0001", signed_by="Anna Nowak", signed_on=date(2026, 12, 1), as_of=date(2026, 12, 1))
    assert (done.kind, done.contract, done.amendment) == ("new", "C-2027-0001", None)
    assert done.written == ("quotes/Q-2026-0001.yaml", "contracts/acme/C-2027-0001.yaml")
    with pytest.raises(CpqError) as e:
        approve_quote(ws, "Q-2026-0001", by="Jan Kowalski")
    assert e.value.code == "E-ACCEPTED"


def test_accept_freezes_the_quote_creates_the_contract_and_locks_prices(ws):
    new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=50"])
    done = accept_quote(ws, "Q-2026-0001", signed_by="Anna Nowak", lock_prices=True)
    assert done.message == (
        "accepted Q-2026-0001: created contracts/acme/C-2027-0001.yaml; locked prices in contracts/acme/account.yaml"
    )
    assert done.written[-1] == "contracts/acme/account.yaml"
    contract = (ws.root / "contracts/acme/C-2027-0001.yaml").read_text(encoding="utf-8")
    assert "unit_price: 1080.00" in contract and "signed: {by: Anna Nowak, date: 2026-11-28}" in contract
    quote = (ws.root / "quotes/Q-2026-0001.yaml").read_text(encoding="utf-8")
    assert "status: accepted\n" in quote and "contract: C-2027-0001\n" in quote
    assert quote.splitlines()[-1].startswith('digest: "sha256:')
    account = (ws.root / "contracts/acme/account.yaml").read_text(encoding="utf-8")
    # the new entry goes at the end of the existing block, before nothing else is touched
    assert (
        "  - {family: Add-on, discount: 15%}\n"
        "  - {product: PRO-SEAT, price: 1080.00, from: 2027-01-01, until: 2027-12-31}\n"
    ) in account
    assert show_quote(ws, "Q-2026-0001").status == "accepted"
    with pytest.raises(CpqError) as e:
        accept_quote(ws, "Q-2026-0001", signed_by="Anna Nowak")
    assert e.value.code == "E-ACCEPTED"


def test_render_quote_writes_the_document_and_returns_its_path(ws):
    new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=50"])
    r = render_quote(ws, "Q-2026-0001", fmt="md")
    assert r.path == ws.root / "out/Q-2026-0001.md" and r.template == "quote"
    # issue 13: rendering a draft records it as presented
    assert r.message == f"wrote {r.path}; recorded as presented in quotes/Q-2026-0001.yaml"
    assert "Q-2026-0001" in r.path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- amendments


def test_amend_then_accept_appends_the_amendment(ws):
    r = amend(ws, "C-2026-0001", effective=date(2026, 12, 1), changes=[Change("add", "PRO-SEAT", Decimal(5))])
    assert r.quote.quote == "Q-2026-0001" and r.data["kind"] == "amendment" and r.data["contract"] == "C-2026-0001"
    # 5 seats at the signed 1,080.00/yr for December (1 month of 12) = 450.00
    assert [(ln["quantity"], ln["net_unit_price"], ln["net_total"]) for ln in r.data["lines"]] == [
        ("5", "1080.00", "450.00")
    ]
    assert r.message == (
        "wrote quotes/Q-2026-0001.yaml (accept it with `cpqctl quote accept Q-2026-0001 --signed-by NAME`)"
    )
    done = accept_quote(ws, "Q-2026-0001", signed_by="Anna Nowak")
    assert (done.kind, done.contract, done.amendment) == ("amendment", "C-2026-0001", "A-3")
    assert "  - amendment: A-3\n" in (ws.root / "contracts/acme/C-2026-0001.yaml").read_text(encoding="utf-8")


def test_amend_refuses_unusable_calls_and_writes_nothing(ws):
    before = snapshot(ws.root)
    with pytest.raises(UsageError, match="nothing to amend"):
        amend(ws, "C-2026-0001", effective=date(2026, 12, 1))
    with pytest.raises(UsageError, match="opposites"):
        amend(ws, "C-2026-0001", cancel=True, extend_to=date(2027, 6, 30))
    with pytest.raises(UsageError, match="--effective is required"):
        amend(ws, "C-2026-0001", changes=[Change("set", "PRO-SEAT", Decimal(60))])
    with pytest.raises(UsageError, match="needs a value"):
        amend(ws, "C-2026-0001", effective=date(2026, 12, 1), changes=[Change("add", "PRO-SEAT")])
    with pytest.raises(CpqError) as e:
        amend(ws, "C-2026-0001", effective=date(2026, 12, 1), changes=[Change("set", "PRO-SEAT", Decimal(55))])
    assert e.value.code == "E-NO-CHANGE"
    assert amend(ws, "C-2026-0001", effective=date(2026, 12, 1), cancel=True, dry_run=True).data["quote"] is None
    assert snapshot(ws.root) == before


# --------------------------------------------------------------------------- renewals


def test_renew_creates_then_leaves_an_unchanged_draft(ws):
    r = renew(ws, "C-2026-0001")
    assert (r.action, r.quote.quote, r.message) == ("create", "Q-2026-0001", "wrote quotes/Q-2026-0001.yaml")
    # the contract's uplift of 5%: 1,080.00 → 1,134.00 a seat, SSO 450.00 → 472.50 a month
    assert sorted((ln["product"], ln["quantity"], ln["net_unit_price"]) for ln in r.data["lines"]) == [
        ("PRO-SEAT", "55", "1134.00"),
        ("SSO", "1", "472.50"),
    ]
    assert r.data["start"] == "2027-01-01" and r.data["action"] == "create"
    path = ws.root / "quotes/Q-2026-0001.yaml"
    assert not edited_by_hand(path.read_text(encoding="utf-8"))

    again = renew(ws, "C-2026-0001")
    assert (again.action, again.written, again.message) == ("unchanged", (), "quotes/Q-2026-0001.yaml is up to date")
    with pytest.raises(CpqError) as e:
        renew(ws, "C-2026-0005")  # hooli's evergreen contract
    assert e.value.code == "E-EVERGREEN"


def test_renew_due_and_the_renewals_views(ws):
    before = snapshot(ws.root)
    dry = renew_due(ws, dry_run=True)
    assert dry.within == 90 and dry.written == () and dry.message == ""
    due = [(row["contract"], row["quote"], row["action"]) for row in dry.data["rows"]]
    assert ("C-2026-0001", None, "create") in due and all(q is None and a == "create" for _, q, a in due)
    assert snapshot(ws.root) == before  # a dry run writes nothing

    done = renew_due(ws)
    assert [row["contract"] for row in done.data["rows"]] == [c for c, _, _ in due]
    assert len(done.written) == len(due) and done.message == f"{len(due)} renewal quote(s) created, 0 regenerated"
    assert all((ws.root / rel).exists() for rel in done.written)

    view = renewals_due(ws)
    acme = next(row for row in view.rows if row["contract"] == "C-2026-0001")
    assert acme["renewal_quote"] is not None and acme["quote_status"] == "draft" and acme["end"] == "2026-12-31"

    forecast = renewals_forecast(ws, months=3)
    assert forecast.data["from"] == "2026-11" and forecast.data["to"] == "2027-01"
    assert forecast.convertible and forecast.data["currency"] == "PLN"
    december = next(row for row in forecast.data["rows"] if row["month"] == "2026-12")
    assert december["quoted"] == december["arr"] and december["not_quoted"] == "0.00"
    with pytest.raises(UsageError, match="--months is a positive number"):
        renewals_forecast(ws, months=0)


# --------------------------------------------------------------------------- rounding (regression)

HALF_EVEN_TOML = """\
[company]
name = "Test Co"
currency = "PLN"

[pricing]
rounding = "half-even"
"""

WIDGET_CATALOG = """\
products:
  - {code: WIDGET, name: Widget, type: subscription, per: month, price: {PLN: 12.00}}
"""

WIDGET_ACCOUNT = """\
account: acme
name: ACME
currency: PLN
renewal: {pricing: uplift, uplift: 5%}
"""

WIDGET_CONTRACT = """\
contract: C-2024-0001
account: acme
currency: PLN
start: 2024-01-01
end: 2024-12-31
{rounding}lines:
  - {{product: WIDGET, quantity: 1, unit_price: 10.10, per: month, start: 2024-01-01, end: 2024-12-31}}
"""


def _widget_repo(repo, rounding: str = "") -> Workspace:
    root = repo(
        {
            "catalog/products.yaml": WIDGET_CATALOG,
            "contracts/acme/account.yaml": WIDGET_ACCOUNT,
            "contracts/acme/C-2024-0001.yaml": WIDGET_CONTRACT.format(rounding=rounding),
        },
        toml=HALF_EVEN_TOML,
    )
    return Workspace.open(root, as_of=date(2024, 11, 15))


def test_renewal_uplift_rounds_as_cpq_toml_when_the_contract_names_no_rounding(repo, cli):
    """10.10 × 1.05 = 10.605: half-even (cpq.toml) gives 10.60, half-up would give 10.61."""
    ws = _widget_repo(repo)
    r = renew(ws, "C-2024-0001", dry_run=True)
    assert [ln["net_unit_price"] for ln in r.data["lines"]] == ["10.60"]
    assert r.data["net_total"] == "127.20"  # 12 months
    cli_run = cli("renew", "C-2024-0001", "--dry-run", "--format", "json", "--repo", ws.root, "--as-of", "2024-11-15")
    assert cli_run.code == 0 and '"net_unit_price": "10.60"' in cli_run.stdout


def test_extension_uplift_rounds_as_cpq_toml_when_the_contract_names_no_rounding(repo, cli):
    ws = _widget_repo(repo)
    r = amend(ws, "C-2024-0001", extend_to=date(2025, 12, 31), dry_run=True)
    assert [(ln["start"], ln["net_unit_price"], ln["net_total"]) for ln in r.data["lines"]] == [
        ("2025-01-01", "10.60", "127.20")
    ]
    cli_run = cli(
        "amend",
        "C-2024-0001",
        "--extend-to",
        "2025-12-31",
        "--dry-run",
        "--format",
        "json",
        "--repo",
        ws.root,
        "--as-of",
        "2024-11-15",
    )
    assert cli_run.code == 0 and '"net_unit_price": "10.60"' in cli_run.stdout


def test_the_contracts_own_rounding_still_wins(repo):
    ws = _widget_repo(repo, rounding="rounding: half-up\n")
    assert [ln["net_unit_price"] for ln in renew(ws, "C-2024-0001", dry_run=True).data["lines"]] == ["10.61"]
    assert [
        ln["net_unit_price"]
        for ln in amend(ws, "C-2024-0001", extend_to=date(2025, 12, 31), dry_run=True).data["lines"]
    ] == ["10.61"]
