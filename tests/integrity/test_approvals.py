"""Issue 13, "approvals and prices bound to what was seen": each finding reproduced, then the fix.

- a price typed on a draft line (`unit_price`) is an override, judged like a manual discount;
- an approval records the digest of the priced quote approved and is void after any change;
- rendering a draft records what was presented, and `quote accept` refuses other prices unless `--reprice`.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pytest

AS_OF = "2026-11-28"
Q1 = "quotes/Q-2026-0001.yaml"


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.parts
    }


@pytest.fixture
def run(cli, example_repo):
    def go(*args, as_of=AS_OF):
        return cli(*args, "--repo", example_repo, "--as-of", as_of)

    return go


def new_quote(run, *lines: str) -> None:
    args = [x for ln in lines for x in ("--line", ln)]
    r = run("quote", "new", "--account", "acme", "--start", "2027-01-01", "--term", "12", *args)
    assert r.code == 0, r.stderr


def show(run, quote="Q-2026-0001") -> dict:
    r = run("quote", "show", quote, "--format", "json")
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, text
    path.write_text(text.replace(old, new), encoding="utf-8")


def accept(run, quote="Q-2026-0001", *extra):
    return run("quote", "accept", quote, "--signed-by", "Anna Nowak", *extra)


def raise_seat_price(root: Path) -> None:
    edit(root, "catalog/licenses.yaml", "price: {PLN: 1200.00,", "price: {PLN: 1350.00,")


# --------------------------------------------------------------------------- typed prices


def test_a_typed_unit_price_on_a_draft_needs_approval(run, example_repo):
    # the finding: 500 seats at a typed 1.00 were an "agreed price", accepted for 500.00 PLN without approval
    new_quote(run, "PRO-SEAT=500")
    edit(example_repo, Q1, "quantity: 500}", "quantity: 500, unit_price: 1.00}")
    shown = show(run)
    assert shown["net_total"] == "500.00"  # the typed price still prices the quote ...
    assert shown["status"] == "needs-approval"  # ... but it is an override, judged like a manual discount
    assert shown["approval_reasons"] == [
        "line 1 (PRO-SEAT): price 1.00 typed on the line is 99.9% below 960.00, "
        "above the 20% limit (approvals.max_discount)"
    ]
    before = snapshot(example_repo)
    r = accept(run)
    assert r.code == 1 and "E-NEEDS-APPROVAL" in r.stderr and "price 1.00 typed on the line" in r.stderr
    assert snapshot(example_repo) == before
    assert run("quote", "approve", "Q-2026-0001", "--by", "CFO").code == 0
    assert accept(run).code == 0


@pytest.mark.parametrize(
    "price, status",
    [
        ("960.00", "draft"),  # the waterfall's own price (range tier 20% at 500 seats)
        ("768.00", "draft"),  # exactly 20% below it: at the limit, as a manual 20% would be
        ("767.99", "needs-approval"),  # just beyond the limit
        ("1500.00", "draft"),  # a markup is no discount
    ],
)
def test_a_typed_price_is_compared_with_the_limit_like_a_manual_discount(run, example_repo, price, status):
    new_quote(run, "PRO-SEAT=500")
    edit(example_repo, Q1, "quantity: 500}", f"quantity: 500, unit_price: {price}}}")
    assert show(run)["status"] == status


def test_an_amendment_draft_at_the_contract_prices_needs_no_approval_but_an_edited_one_does(run, example_repo):
    r = run("amend", "C-2026-0001", "--effective", "2026-12-01", "--set", "PRO-SEAT=60")
    assert r.code == 0, r.stderr
    assert show(run)["status"] == "draft"  # +5 seats at the signed 1080.00: cpqctl's own price
    edit(example_repo, Q1, "unit_price: 1080.00", "unit_price: 100.00")
    shown = show(run)
    assert shown["status"] == "needs-approval"
    # measured against the lowest of cpqctl's own prices: the signed 1080.00 and today's waterfall (60 seats: 960.00)
    assert "price 100.00 typed on the line is 89.58% below 960.00" in shown["approval_reasons"][0]
    assert accept(run).code == 1


def test_a_renewal_draft_with_its_uplift_needs_no_approval_but_a_cut_price_does(run, example_repo):
    r = run("renew", "C-2026-0001")
    assert r.code == 0, r.stderr
    assert show(run)["status"] == "draft"
    edit(example_repo, Q1, "unit_price: 1134.00", "unit_price: 500.00")  # 1080.00 + 5% uplift, cut by hand
    assert show(run)["status"] == "needs-approval"


# --------------------------------------------------------------------------- approvals bound to what was approved


def test_an_approval_is_void_after_the_quote_changes(run, example_repo):
    # the finding: approve 25% off, change the line to 95% off and 500 seats, accept: the approval was kept
    new_quote(run, "PRO-SEAT=5@25%")
    assert run("quote", "approve", "Q-2026-0001", "--by", "CFO").code == 0
    assert show(run)["status"] == "approved"
    assert 'approved: {by: CFO, date: 2026-11-28, digest: "sha256:' in (example_repo / Q1).read_text()
    edit(example_repo, Q1, "quantity: 5, discount: 25%", "quantity: 500, discount: 95%")
    shown = show(run)
    assert shown["status"] == "needs-approval"
    assert shown["approval_reasons"][-1] == "approval void: the quote changed since it was approved"
    before = snapshot(example_repo)
    r = accept(run)
    assert r.code == 1 and "E-NEEDS-APPROVAL" in r.stderr and "approval void" in r.stderr
    assert snapshot(example_repo) == before
    # approving again replaces the void approval (one `approved:` entry) and covers what the approver now sees
    assert run("quote", "approve", "Q-2026-0001", "--by", "CEO").code == 0
    text = (example_repo / Q1).read_text()
    assert text.count("approved:") == 1 and "approved: {by: CEO," in text
    assert accept(run).code == 0
    assert "approved: {by: CEO, date: 2026-11-28, digest:" in (example_repo / Q1).read_text()


def test_an_approval_is_void_after_a_catalog_change(run, example_repo):
    new_quote(run, "PRO-SEAT=5@25%")
    assert run("quote", "approve", "Q-2026-0001", "--by", "CFO").code == 0
    raise_seat_price(example_repo)
    assert show(run)["status"] == "needs-approval"  # the approver saw other prices


def test_an_approval_without_a_digest_is_void(run, example_repo):
    # written before approvals recorded a digest: nobody can tell what it covered
    new_quote(run, "PRO-SEAT=5@25%")
    edit(example_repo, Q1, "status: draft\n", "status: approved\napproved: {by: CFO, date: 2026-11-20}\n")
    assert run("check").code == 0  # still a valid file: the repository stays clean
    shown = show(run)
    assert shown["status"] == "needs-approval"
    assert shown["approval_reasons"][-1].startswith("approval void: it does not record what was approved")
    assert accept(run).code == 1
    assert run("quote", "approve", "Q-2026-0001", "--by", "CFO").code == 0
    assert show(run)["status"] == "approved"


def test_a_void_approval_on_a_quote_that_needs_none_is_not_signed_as_an_approval(run, example_repo):
    new_quote(run, "PRO-SEAT=5@25%")
    assert run("quote", "approve", "Q-2026-0001", "--by", "CFO").code == 0
    edit(example_repo, Q1, "discount: 25%", "discount: 5%")
    assert show(run)["status"] == "draft"
    assert accept(run).code == 0
    assert "approved:" not in (example_repo / Q1).read_text()


# --------------------------------------------------------------------------- what the customer saw


def test_accept_refuses_prices_other_than_those_presented(run, example_repo):
    # the finding: render a draft, raise the catalog price, accept: the contract recorded the new price unseen
    new_quote(run, "PRO-SEAT=3")
    r = run("quote", "render", "Q-2026-0001", "--format", "md")
    assert r.code == 0 and "recorded as presented in quotes/Q-2026-0001.yaml" in r.stderr
    text = (example_repo / Q1).read_text()
    assert "presented:\n  - date: 2026-11-28\n    format: md\n    digest: " in text
    assert "      - {product: PRO-SEAT, quantity: 3, unit_price: 1200.00, net_total: 3600.00}" in text
    assert run("check").code == 0
    raise_seat_price(example_repo)
    before = snapshot(example_repo)
    r = accept(run)
    assert r.code == 1 and "E-PRICES-CHANGED" in r.stderr
    assert "PRO-SEAT: unit price 1200.00 → 1350.00, total 3600.00 → 4050.00" in r.stderr
    assert "gross total 4428.00 → 4981.50" in r.stderr and "--reprice" in r.stderr
    assert snapshot(example_repo) == before
    # --reprice: accepted at today's prices, and the document rendered again as accepted
    r = accept(run, "Q-2026-0001", "--reprice")
    assert r.code == 0, r.stderr
    assert "accepted at today's prices" in r.stderr and "rendered" in r.stderr
    assert "unit_price: 1350.00" in (example_repo / "contracts/acme/C-2027-0001.yaml").read_text()
    doc = re.sub(r"\s", "", (example_repo / "out/Q-2026-0001.md").read_text())
    assert "|przyjęta|" in doc and "4981,50zł" in doc  # the status in the document's language (pl: accepted)


def test_presenting_again_lets_the_new_prices_be_accepted(run, example_repo):
    new_quote(run, "PRO-SEAT=3")
    assert run("quote", "render", "Q-2026-0001", "--format", "md", "-o", "-").code == 0  # stdout: shown, so recorded
    assert "presented:" in (example_repo / Q1).read_text()
    raise_seat_price(example_repo)
    assert accept(run).code == 1
    assert run("quote", "render", "Q-2026-0001", "--format", "md").code == 0
    text = (example_repo / Q1).read_text()
    assert text.count("  - date: 2026-11-28") == 2  # both presentations kept, oldest first
    assert accept(run).code == 0


def test_rendering_the_same_prices_again_records_nothing_new(run, example_repo):
    new_quote(run, "PRO-SEAT=3")
    assert run("quote", "render", "Q-2026-0001", "--format", "md").code == 0
    first = (example_repo / Q1).read_text()
    r = run("quote", "render", "Q-2026-0001", "--format", "md", as_of="2026-11-30")
    assert r.code == 0 and "recorded" not in r.stderr
    assert (example_repo / Q1).read_text() == first


def test_a_quote_never_presented_is_accepted_at_todays_prices(run, example_repo):
    new_quote(run, "PRO-SEAT=3")
    raise_seat_price(example_repo)
    assert accept(run).code == 0
    assert "unit_price: 1350.00" in (example_repo / "contracts/acme/C-2027-0001.yaml").read_text()


def test_the_presented_record_is_written_structurally(run, example_repo):
    # a hand-written draft: no final newline, a flow `presented: []` in the middle, a trailing comment
    new_quote(run, "PRO-SEAT=3")
    path = example_repo / Q1
    text = path.read_text().replace("term: 12\n", "term: 12\npresented: []\n") + "# a note"
    path.write_text(text)
    assert run("check").code == 0
    assert run("quote", "render", "Q-2026-0001", "--format", "md").code == 0
    assert run("check").code == 0
    assert path.read_text().count("presented:") == 1
    raise_seat_price(example_repo)
    assert accept(run).code == 1  # the record was read back


def test_the_python_api_accepts_with_reprice(example_repo):
    import cpqctl
    from cpqctl.core.diagnostics import CpqError

    ws = cpqctl.open(example_repo, as_of=date(2026, 11, 28))
    ws.new_quote("acme", "2027-01-01", ["PRO-SEAT=3"])
    ws.render_quote("Q-2026-0001", "md")
    raise_seat_price(example_repo)
    with pytest.raises(CpqError) as e:
        ws.accept_quote("Q-2026-0001", "Anna Nowak")
    assert e.value.code == "E-PRICES-CHANGED"
    r = ws.accept_quote("Q-2026-0001", "Anna Nowak", reprice=True)
    assert r.repriced == (
        "PRO-SEAT: unit price 1200.00 → 1350.00, total 3600.00 → 4050.00",
        "gross total 4428.00 → 4981.50",
    )
    assert r.document == example_repo / "out/Q-2026-0001.md"
