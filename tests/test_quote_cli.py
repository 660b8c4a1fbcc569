"""Quote commands end to end on a copy of the example repo: new → show → render → approve → accept."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

AS_OF = "2026-11-28"


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.parts
    }


def new_quote(cli, root, *lines, extra=()):
    args = [
        "quote",
        "new",
        "--repo",
        root,
        "--as-of",
        AS_OF,
        "--account",
        "acme",
        "--start",
        "2027-01-01",
        "--term",
        "12",
        "--format",
        "json",
        *extra,
    ]
    for ln in lines:
        args += ["--line", ln]
    return cli(*args)


def test_new_show_accept_creates_contract(cli, example_repo):
    r = new_quote(cli, example_repo, "PRO-SEAT=50", "ONBOARDING=1")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["quote"] == "Q-2026-0001" and data["status"] == "draft"
    seat = data["lines"][0]
    # SPEC §2 step 3: a 50-seat range schedule at 10% = 1,080.00 net per seat
    assert (seat["list_unit_price"], seat["net_unit_price"], seat["net_total"]) == ("1200.00", "1080.00", "54000.00")
    assert data["net_total"] == "59000.00"
    assert data["tax_total"] == "13570.00" and data["gross_total"] == "72570.00"  # 23% VAT of cpq.toml

    shown = json.loads(
        cli("quote", "show", "Q-2026-0001", "--repo", example_repo, "--as-of", AS_OF, "--format", "json").stdout
    )
    assert shown["lines"] == data["lines"] and shown["net_total"] == data["net_total"]

    r = cli("quote", "accept", "Q-2026-0001", "--signed-by", "Anna Nowak", "--repo", example_repo, "--as-of", AS_OF)
    assert r.code == 0, r.stderr
    contract = example_repo / "contracts/acme/C-2027-0001.yaml"
    text = contract.read_text()
    assert "quote: Q-2026-0001" in text and "unit_price: 1080.00" in text and "proration: monthly+daily" in text
    qtext = (example_repo / "quotes/Q-2026-0001.yaml").read_text()
    assert "status: accepted" in qtext and qtext.splitlines()[-1].startswith('digest: "sha256:')
    assert cli("check", "--repo", example_repo).code == 0

    # the contract reads back: 50 seats owned in 2027
    c = json.loads(
        cli(
            "contract", "show", "C-2027-0001", "--repo", example_repo, "--as-of", "2027-03-01", "--format", "json"
        ).stdout
    )
    assert c["owned"][0]["quantity"] == "50" and c["arr"] == "54000.00"

    # accepting twice is refused and changes nothing
    before = snapshot(example_repo)
    r = cli("quote", "accept", "Q-2026-0001", "--signed-by", "X", "--repo", example_repo, "--as-of", AS_OF)
    assert r.code == 1 and "already accepted" in r.stderr
    assert snapshot(example_repo) == before


def test_catalog_change_is_not_an_edit_but_a_hand_edit_is(cli, example_repo):
    assert new_quote(cli, example_repo, "PRO-SEAT=50").code == 0
    assert cli("quote", "accept", "Q-2026-0001", "--signed-by", "A", "--repo", example_repo, "--as-of", AS_OF).code == 0
    cat = example_repo / "catalog/licenses.yaml"
    cat.write_text(cat.read_text().replace("1200.00", "1500.00"))
    assert cli("check", "--repo", example_repo).code == 0
    shown = json.loads(
        cli("quote", "show", "Q-2026-0001", "--repo", example_repo, "--as-of", AS_OF, "--format", "json").stdout
    )
    assert shown["status"] == "accepted" and shown["lines"][0]["net_unit_price"] == "1080.00"
    q = example_repo / "quotes/Q-2026-0001.yaml"
    q.write_text(q.read_text().replace("quantity: 50", "quantity: 40"))
    r = cli("check", "--repo", example_repo, "--format", "json")
    assert r.code == 1
    codes = [d["code"] for d in json.loads(r.stdout)["diagnostics"]]
    # issue #13: the contract is checked against its accepted quote too (its 50 seats differ from the edited 40)
    assert codes == ["E-LEDGER-DIFF", "E-DIGEST"]


def test_expired_quote_cannot_be_accepted(cli, example_repo):
    assert new_quote(cli, example_repo, "PRO-SEAT=5").code == 0
    before = snapshot(example_repo)
    r = cli("quote", "accept", "Q-2026-0001", "--signed-by", "A", "--repo", example_repo, "--as-of", "2027-02-01")
    assert r.code == 1 and "E-EXPIRED" in r.stderr
    assert snapshot(example_repo) == before


def test_discount_over_max_needs_approval(cli, example_repo):
    # cpq.toml of the example: [approvals] max_discount = "20%"
    r = new_quote(cli, example_repo, "PRO-SEAT=5@25%")
    assert r.code == 0 and json.loads(r.stdout)["status"] == "needs-approval"
    r = cli("quote", "accept", "Q-2026-0001", "--signed-by", "A", "--repo", example_repo, "--as-of", AS_OF)
    assert r.code == 1 and "E-NEEDS-APPROVAL" in r.stderr
    assert cli("quote", "approve", "Q-2026-0001", "--by", "CFO", "--repo", example_repo, "--as-of", AS_OF).code == 0
    shown = json.loads(
        cli("quote", "show", "Q-2026-0001", "--repo", example_repo, "--as-of", AS_OF, "--format", "json").stdout
    )
    assert shown["status"] == "approved"
    r = cli("quote", "accept", "Q-2026-0001", "--signed-by", "A", "--repo", example_repo, "--as-of", AS_OF)
    assert r.code == 0, r.stderr
    # issue 13: the approval also records the digest of the priced quote it approved
    assert (
        'approved: {by: CFO, date: 2026-11-28, digest: "sha256:'
        in (example_repo / "quotes/Q-2026-0001.yaml").read_text()
    )


@pytest.mark.parametrize(
    "line, code",
    [
        ("NOPE=1", "E-UNKNOWN-PRODUCT"),
        ("SSO=1", "E-REQUIRES"),  # SSO requires PRO-SEAT
    ],
)
def test_bad_lines_are_refused_and_write_nothing(cli, example_repo, line, code):
    before = snapshot(example_repo)
    r = new_quote(cli, example_repo, line)
    # an unknown product typed on the command line is unusable input (2); a refused business rule is 1
    assert r.code == (2 if code.startswith("E-UNKNOWN") else 1) and code in r.stderr and "Traceback" not in r.stderr
    assert snapshot(example_repo) == before


def test_excluded_combination_is_refused(cli, example_repo):
    r = new_quote(cli, example_repo, "PRO-SEAT=10", "SUPPORT-PREMIUM=1", "SUPPORT-BASIC=1")
    assert r.code == 1 and "E-EXCLUDES" in r.stderr


def test_negative_quantity_in_a_quote_file_has_its_position(cli, example_repo):
    (example_repo / "quotes").mkdir()
    (example_repo / "quotes/Q-2026-0099.yaml").write_text(
        "quote: Q-2026-0099\nkind: new\naccount: acme\ndate: 2026-11-20\nstart: 2027-01-01\nlines:\n"
        "  - {product: PRO-SEAT, quantity: -5}\n"
    )
    r = cli("check", "--repo", example_repo, "--format", "json")
    diags = json.loads(r.stdout)["diagnostics"]
    assert r.code == 1 and [(d["code"], d["line"], d["column"]) for d in diags] == [("E-NEGATIVE", 7, 35)]


def test_render_markdown_and_pdf_are_deterministic(cli, example_repo, tmp_path):
    from pypdf import PdfReader

    assert new_quote(cli, example_repo, "PRO-SEAT=50", "ONBOARDING=1").code == 0
    outs = []
    for i in range(2):
        pdf = tmp_path / f"q{i}.pdf"
        r = cli(
            "quote", "render", "Q-2026-0001", "--format", "pdf", "-o", pdf, "--repo", example_repo, "--as-of", AS_OF
        )
        assert r.code == 0, r.stderr
        outs.append(pdf.read_bytes())
    assert outs[0] == outs[1] and outs[0].startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(outs[0])).pages)
    assert "Q-2026-0001" in text and "ACME Sp. z o.o." in text
    assert "72" in text and "570,00" in text  # gross 72 570,00 zł in the pl_PL locale
    md = cli("quote", "render", "Q-2026-0001", "--format", "md", "-o", "-", "--repo", example_repo, "--as-of", AS_OF)
    assert md.code == 0 and "| Pro seat (PRO-SEAT) | 50 |" in md.stdout and "Świętokrzyska" in md.stdout


@pytest.mark.parametrize(
    "method, total",
    [("monthly+daily", "4263.01"), ("calendar", "4290.32"), ("daily", "4306.85"), ("monthly", "5000.00")],
)
def test_spec_proration_figures_through_quote_show(cli, repo, method, total):
    """SPEC §2: 2019-05-23..2019-09-30 at 12,000.00 per year under each proration method."""
    root = repo(
        {
            "catalog/c.yaml": """
            products:
              - {code: PLAN, name: Plan, type: subscription, per: year, price: {USD: 12000.00}}
        """,
            "contracts/a/account.yaml": "account: a\nname: A Inc.\ncurrency: USD\n",
            "quotes/Q-1.yaml": """
            quote: Q-1
            account: a
            date: 2019-05-20
            start: 2019-05-23
            end: 2019-09-30
            lines:
              - {product: PLAN, quantity: 1}
        """,
        },
        toml=f'[company]\ncurrency = "USD"\n[pricing]\nproration = "{method}"\n',
    )
    r = cli("quote", "show", "Q-1", "--repo", root, "--as-of", "2019-05-21", "--format", "json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["net_total"] == total


def test_missing_price_in_the_quote_currency(cli, example_repo):
    """globex is an EUR account; a product priced only in PLN cannot be quoted to it."""
    cat = example_repo / "catalog/services.yaml"
    cat.write_text(cat.read_text() + "  - {code: PL-ONLY, name: Local service, type: one-time, price: {PLN: 100.00}}\n")
    before = snapshot(example_repo)
    r = cli(
        "quote",
        "new",
        "--repo",
        example_repo,
        "--as-of",
        AS_OF,
        "--account",
        "globex",
        "--start",
        "2027-01-01",
        "--line",
        "PL-ONLY=1",
    )
    assert r.code == 1 and "E-NO-PRICE" in r.stderr and "EUR" in r.stderr
    assert snapshot(example_repo) == before


def test_bundle_option_outside_min_max(cli, example_repo):
    """PLATFORM requires 5..1000 PRO-SEAT options."""
    before = snapshot(example_repo)
    r = new_quote(cli, example_repo, "PLATFORM=1", "PRO-SEAT=2")
    assert r.code == 1 and "E-OPTION-RANGE" in r.stderr and "PLATFORM" in r.stderr
    assert snapshot(example_repo) == before
    ok = new_quote(cli, example_repo, "PLATFORM=1", "PRO-SEAT=5")
    assert ok.code == 0, ok.stderr
    lines = {ln["product"]: ln for ln in json.loads(ok.stdout)["lines"]}
    assert lines["SSO"]["net_total"] == "0.00" and lines["SSO"]["bundle"] == "PLATFORM"  # included option


def test_lock_prices_records_contracted_prices_until_the_contract_end(cli, example_repo):
    r = cli(
        "quote",
        "new",
        "--repo",
        example_repo,
        "--as-of",
        AS_OF,
        "--account",
        "initech",
        "--start",
        "2027-01-01",
        "--line",
        "PRO-SEAT=20",
    )
    assert r.code == 0, r.stderr
    r = cli(
        "quote",
        "accept",
        "Q-2026-0001",
        "--signed-by",
        "Bob",
        "--lock-prices",
        "--repo",
        example_repo,
        "--as-of",
        AS_OF,
    )
    assert r.code == 0, r.stderr
    acct = (example_repo / "contracts/initech/account.yaml").read_text()
    assert "  - {product: PRO-SEAT, price: 1080.00, from: 2027-01-01, until: 2027-12-31}\n" in acct
    assert cli("check", "--repo", example_repo).code == 0


def test_evergreen_quote_makes_an_evergreen_contract_that_is_never_renewed(cli, example_repo):
    """hooli's API plan is sold only on evergreen contracts; the quote total covers the first billing period."""
    r = cli(
        "quote",
        "new",
        "--repo",
        example_repo,
        "--as-of",
        AS_OF,
        "--account",
        "hooli",
        "--start",
        "2027-01-01",
        "--evergreen",
        "--billing",
        "monthly",
        "--line",
        "API-CALLS-PLAN=1",
        "--format",
        "json",
    )
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["end"] is None and data["net_total"] == "800.00"  # hooli's contracted 800.00 for one month
    assert cli("quote", "accept", data["quote"], "--signed-by", "G", "--repo", example_repo, "--as-of", AS_OF).code == 0
    text = (example_repo / "contracts/hooli/C-2027-0001.yaml").read_text()
    assert "evergreen: true" in text and "\nend:" not in text and "end: 20" not in text
    r = cli("renew", "C-2027-0001", "--repo", example_repo, "--as-of", AS_OF)
    assert r.code == 1 and "E-EVERGREEN" in r.stderr
    r = cli(
        "quote",
        "new",
        "--repo",
        example_repo,
        "--as-of",
        AS_OF,
        "--account",
        "hooli",
        "--start",
        "2027-01-01",
        "--line",
        "API-CALLS-PLAN=1",
    )
    assert r.code == 1 and "E-EVERGREEN-ONLY" in r.stderr
