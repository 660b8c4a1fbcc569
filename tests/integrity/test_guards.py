"""Issue 13, guards: values `check` accepted that produced wrong money, dates, and hand-written drafts.

Each test writes the bad input the issue found (on a copy of the example
repository), then shows the refusal: a positioned error with its code from
`cpqctl check`, a writing command that refuses and changes no file, or the
right result.

- Values: percentages 0%–100% (tax rates, discounts), `[fx]` rates above 0,
  no negative quantity on a contract's own lines or a new/renewal quote, the
  ASCII digits 0-9 only, bounded magnitudes, decimal places and years.
- Dates: `quote accept --signed-on` within [quote date, --as-of] and the
  quote's validity; `invoice run --through` at most 31 days past --as-of unless
  `--allow-future`; invoices numbered in date order (W-INVOICE-ORDER).
- Drafts: an amendment/renewal quote's contract belongs to its account and
  shares its currency; an amendment has `effective` and a change; new and
  renewal quotes have lines; an evergreen contract is never renewed.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from cpqctl.core.money import D, MoneyError, parse_percent

AS_OF = "2026-03-31"


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` except cpqctl's own folder (.cpq: cache, lock), by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.relative_to(root).parts
    }


def check(cli, root: Path) -> tuple[int, list[dict]]:
    run = cli("check", "--format", "json", "--repo", root)
    return run.code, json.loads(run.stdout)["diagnostics"]


def found(diags: list[dict], code: str) -> list[tuple[str, int, int]]:
    return [(d["file"], d["line"], d["column"]) for d in diags if d["code"] == code]


def pos(root: Path, rel: str, needle: str) -> tuple[str, int, int]:
    """(file, line, column) of the first occurrence of ``needle`` in ``rel``, 1-based."""
    for n, line in enumerate((root / rel).read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return (rel, n, line.index(needle) + 1)
    raise AssertionError(f"{needle!r} not in {rel}")


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (rel, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def write(root: Path, rel: str, text: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text, encoding="utf-8")


ACCOUNT = "contracts/acme/account.yaml"
CONTRACT = "contracts/acme/C-2026-0001.yaml"  # PLN, 2026, 50 PRO-SEAT, quarterly


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("rel", "old", "new", "code", "needle"),
    [
        # a negative tax rate (account): the invoices would carry negative VAT
        (ACCOUNT, "tax_rate: 23%", "tax_rate: -23%", "E-RANGE", "-23%"),
        # a discount over 100%: every Add-on at a negative price (the −72 000.00 quote)
        (ACCOUNT, "{family: Add-on, discount: 15%}", "{family: Add-on, discount: 160%}", "E-RANGE", "160%"),
        ("catalog/licenses.yaml", "{from: 51, discount: 20%}", "{from: 51, discount: 120%}", "E-RANGE", "120%"),
        ("cpq.toml", 'uplift = "3%"', 'uplift = "300%"', "E-RANGE", "uplift ="),
        # an exchange rate of 0: every EUR amount is 0.00 PLN in the reports
        ("cpq.toml", 'EUR = "4.30"', 'EUR = "0"', "E-RANGE", "EUR ="),
        # a negative quantity on a signed contract line
        (CONTRACT, "quantity: 50,", "quantity: -50,", "E-NEGATIVE", "-50"),
        # a digit of another script: Python's Decimal reads 10৪0.00 as 1040.00
        (CONTRACT, "unit_price: 5000.00", "unit_price: 50৪0.00", "E-DIGITS", "50৪0.00"),
        (CONTRACT, "start: 2026-01-01\nend:", "start: 2026-0১-01\nend:", "E-DIGITS", "2026-0১-01"),
        (CONTRACT, "renewal: {term: 12,", "renewal: {term: ١٢,", "E-DIGITS", "١٢"),
        # magnitudes, places and years no contract reaches: typos
        (CONTRACT, "unit_price: 5000.00", "unit_price: 5000000000000000.00", "E-RANGE", "5000000000000000.00"),
        (CONTRACT, "quantity: 50,", "quantity: 5000000000,", "E-RANGE", "5000000000"),
        (CONTRACT, "unit_price: 5000.00", "unit_price: 5000.0000001", "E-PLACES", "5000.0000001"),
        (CONTRACT, "end: 2026-12-31\nbilling", "end: 3026-12-31\nbilling", "E-DATE-RANGE", "3026-12-31"),
        (CONTRACT, "renewal: {term: 12,", "renewal: {term: 120000,", "E-RANGE", "120000"),
        ("cpq.toml", "quote_valid_days = 30", "quote_valid_days = 3000000", "E-RANGE", "quote_valid_days"),
    ],
)
def test_a_value_out_of_bounds_is_a_positioned_error(cli, example_repo, rel, old, new, code, needle) -> None:
    assert check(cli, example_repo) == (0, [])
    edit(example_repo, rel, old, new)
    status, diags = check(cli, example_repo)
    assert status == 1
    assert pos(example_repo, rel, needle) in found(diags, code), diags
    assert all(d["hint"] for d in diags if d["code"] == code)
    # and every writing command refuses, changing nothing
    before = snapshot(example_repo)
    run = cli("invoice", "run", "--through", AS_OF, "--as-of", AS_OF, "--repo", example_repo)
    assert run.code == 1 and "E-INVALID-REPO" in run.stderr
    assert snapshot(example_repo) == before


def test_a_negative_tax_rate_on_an_invoice_is_an_error(cli, example_repo) -> None:
    assert cli("invoice", "run", "--through", AS_OF, "--as-of", AS_OF, "--repo", example_repo).code == 0
    rel = "invoices/INV-2026-0001.yaml"
    text = (example_repo / rel).read_text(encoding="utf-8")
    rate = re.search(r"rate: (\d+%)", text)
    assert rate is not None
    edit(example_repo, rel, f"rate: {rate[1]}", f"rate: -{rate[1]}")
    _, diags = check(cli, example_repo)
    assert pos(example_repo, rel, f"-{rate[1]}") in found(diags, "E-RANGE")


def test_a_discount_over_100_percent_on_a_draft_never_prices_a_negative_quote(cli, example_repo) -> None:
    write(
        example_repo,
        "quotes/Q-2026-0001.yaml",
        "quote: Q-2026-0001\naccount: acme\ndate: 2026-03-20\nstart: 2026-04-01\nterm: 12\n"
        "lines:\n  - {product: PRO-SEAT, quantity: 60, discount: 200%}\n",
    )
    _, diags = check(cli, example_repo)
    assert found(diags, "E-RANGE") == [pos(example_repo, "quotes/Q-2026-0001.yaml", "200%")]
    run = cli("quote", "show", "Q-2026-0001", "--format", "json", "--as-of", AS_OF, "--repo", example_repo)
    assert run.code != 0 and "-72000.00" not in run.stdout


def test_amendment_lines_may_decrease_but_new_and_renewal_quotes_may_not(cli, example_repo) -> None:
    # an amendment's decrease is a negative line (the amendment model): allowed
    assert cli("amend", "C-2026-0001", "--effective", "2026-07-01", "--set", "PRO-SEAT=45", "--as-of", "2026-06-20",
               "--repo", example_repo).code == 0  # fmt: skip
    assert "quantity: -5" in (example_repo / "quotes/Q-2026-0001.yaml").read_text(encoding="utf-8")
    assert check(cli, example_repo)[0] == 0
    write(
        example_repo,
        "quotes/Q-2026-0002.yaml",
        "quote: Q-2026-0002\nkind: renewal\naccount: acme\ncontract: C-2026-0001\ndate: 2026-11-20\n"
        "start: 2027-01-01\nterm: 12\nlines:\n  - {product: PRO-SEAT, quantity: -50}\n",
    )
    _, diags = check(cli, example_repo)
    assert found(diags, "E-NEGATIVE") == [pos(example_repo, "quotes/Q-2026-0002.yaml", "-50")]


@pytest.mark.parametrize("text", ["10৪0.00", "１０４０.００", "1040.0٠", "৪%"])
def test_the_number_parser_takes_ascii_digits_only(text) -> None:
    with pytest.raises(MoneyError):
        D(text) if not text.endswith("%") else parse_percent(text)
    assert D("1040.00") == Decimal("1040.00") and parse_percent("4%") == Decimal(4)


def test_a_non_ascii_digit_on_the_command_line_is_refused(cli, example_repo) -> None:
    before = snapshot(example_repo)
    run = cli("quote", "new", "--account", "acme", "--start", "2026-04-01", "--line", "PRO-SEAT=1০",
              "--as-of", AS_OF, "--repo", example_repo)  # fmt: skip
    assert run.code == 2 and "E-USAGE" in run.stderr
    run = cli("renew", "C-2026-0001", "--uplift", "৫%", "--as-of", "2026-11-20", "--repo", example_repo)
    assert run.code != 0 and "Traceback" not in run.stderr
    assert snapshot(example_repo) == before


# --------------------------------------------------------------------------- dates


def _upsell(cli, root: Path) -> None:
    """An up-sell of C-2026-0001 (+5 seats from 2026-10-01), quoted 2026-09-20: Q-2026-0001."""
    run = cli("amend", "C-2026-0001", "--effective", "2026-10-01", "--add", "PRO-SEAT=5", "--as-of", "2026-09-20",
              "--repo", root)  # fmt: skip
    assert run.code == 0, run.stderr


@pytest.mark.parametrize(
    ("signed_on", "as_of"),
    [
        ("2027-09-25", "2026-09-25"),  # the typo: a year late, which moved the up-sell's billing past the end
        ("2026-09-26", "2026-09-25"),  # any day after --as-of
        ("2026-09-19", "2026-09-25"),  # before the quote was made
    ],
)
def test_signed_on_lies_between_the_quote_date_and_as_of(cli, example_repo, signed_on, as_of) -> None:
    _upsell(cli, example_repo)
    before = snapshot(example_repo)
    run = cli("quote", "accept", "Q-2026-0001", "--signed-by", "Anna Nowak", "--signed-on", signed_on,
              "--as-of", as_of, "--repo", example_repo)  # fmt: skip
    assert run.code == 2 and "E-SIGNED-ON" in run.stderr and "hint:" in run.stderr
    assert snapshot(example_repo) == before
    ok = cli("quote", "accept", "Q-2026-0001", "--signed-by", "Anna Nowak", "--signed-on", "2026-09-24",
             "--as-of", as_of, "--repo", example_repo)  # fmt: skip
    assert ok.code == 0, ok.stderr
    assert "signed: {by: Anna Nowak, date: 2026-09-24}" in (example_repo / CONTRACT).read_text(encoding="utf-8")


def test_signed_on_after_the_quote_validity_is_refused_through_the_python_api(example_repo) -> None:
    import cpqctl
    from cpqctl.core.diagnostics import UsageError

    ws = cpqctl.open(example_repo, as_of="2026-09-20")
    ws.amend("C-2026-0001", effective="2026-10-01", add={"PRO-SEAT": 5})
    with pytest.raises(UsageError) as e:  # valid 30 days: until 2026-10-20
        ws.accept_quote("Q-2026-0001", signed_by="Anna Nowak", signed_on="2026-10-21", as_of="2026-10-20")
    assert e.value.code == "E-SIGNED-ON" and "2026-10-20" in e.value.message


def test_through_far_past_as_of_is_refused_unless_allow_future(cli, example_repo) -> None:
    before = snapshot(example_repo)
    # the typo: 2062 for 2026 would have issued years of future-dated invoices
    dry = cli("invoice", "run", "--through", "2062-06-30", "--dry-run", "--format", "json",
              "--as-of", "2026-06-30", "--repo", example_repo)  # fmt: skip
    assert dry.code == 0 and json.loads(dry.stdout)["count"] > 100  # a dry run may look ahead: it writes nothing
    run = cli("invoice", "run", "--through", "2062-06-30", "--as-of", "2026-06-30", "--repo", example_repo)
    assert run.code == 2 and "E-THROUGH-FUTURE" in run.stderr and "--allow-future" in run.stderr
    assert snapshot(example_repo) == before
    # 31 days ahead is a month's run issued early: allowed; 32 is not
    assert cli("invoice", "run", "--through", "2026-08-01", "--as-of", "2026-06-30",
               "--repo", example_repo).code == 2  # fmt: skip
    assert cli("invoice", "run", "--through", "2026-07-31", "--as-of", "2026-06-30",
               "--repo", example_repo).code == 0  # fmt: skip
    run = cli("invoice", "run", "--through", "2026-12-31", "--allow-future", "--format", "json",
              "--as-of", "2026-06-30", "--repo", example_repo)  # fmt: skip
    assert run.code == 0 and json.loads(run.stdout)["count"] > 0


def test_through_guard_in_the_python_api(example_repo) -> None:
    import cpqctl
    from cpqctl.core.diagnostics import UsageError

    ws = cpqctl.open(example_repo, as_of="2026-06-30")
    with pytest.raises(UsageError) as e:
        ws.run_invoices(through="2027-06-30")
    assert e.value.code == "E-THROUGH-FUTURE"
    assert ws.run_invoices(through="2027-06-30", allow_future=True).count > 0


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [
        (CONTRACT, "start: 2026-01-01\nend:", "start: 0001-01-01\nend:"),
        (CONTRACT, "signed: {by: Anna Nowak, date: 2025-12-20}", "signed: {by: Anna Nowak, date: 9999-12-20}"),
    ],
)
def test_a_far_date_in_a_file_is_a_positioned_error(cli, example_repo, rel, old, new) -> None:
    edit(example_repo, rel, old, new)
    _, diags = check(cli, example_repo)
    year = re.search(r"(\d{4})-\d\d-\d\d", new.split(": ", 1)[1] if "signed" not in new else new.split("date: ")[1])
    assert year is not None
    assert [(f, ln) for f, ln, _ in found(diags, "E-DATE-RANGE")] == [(rel, pos(example_repo, rel, year[0])[1])]


def test_a_backdated_contract_is_invoiced_today_so_numbers_stay_in_date_order(cli, example_repo) -> None:
    """Issue 16: a contract starting 2026-02-01, accepted in March, is invoiced on the run's day (2026-03-31), never
    on its billing date: the number follows the earlier ones in date order and the invoice names its period."""
    root = example_repo
    assert cli("invoice", "run", "--through", AS_OF, "--as-of", AS_OF, "--repo", root).code == 0
    assert found(check(cli, root)[1], "W-INVOICE-ORDER") == []
    assert cli("quote", "new", "--account", "acme", "--start", "2026-02-01", "--line", "PRO-SEAT=3",
               "--as-of", AS_OF, "--repo", root).code == 0  # fmt: skip
    assert (
        cli("quote", "accept", "Q-2026-0001", "--signed-by", "Anna Nowak", "--as-of", AS_OF, "--repo", root).code == 0
    )
    run = cli("invoice", "run", "--through", AS_OF, "--as-of", AS_OF, "--repo", root)
    assert run.code == 0 and "W-INVOICE-ORDER" not in run.stderr
    text = (root / "invoices/INV-2026-0006.yaml").read_text(encoding="utf-8")
    assert f"\ndate: {AS_OF}\n" in text and "period_start: 2026-02-01\n" in text
    status, diags = check(cli, root)
    assert status == 0 and found(diags, "W-INVOICE-ORDER") == []


def test_invoice_runs_keep_numbers_in_date_order_on_the_example_and_the_tour(cli, example_repo, tmp_path) -> None:
    # month by month, then the rest of the year at once: numbers follow dates
    for through in ("2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"):
        assert cli("invoice", "run", "--through", through, "--as-of", through, "--repo", example_repo).code == 0
    assert cli("invoice", "run", "--through", "2026-12-31", "--as-of", "2026-12-31", "--repo", example_repo).code == 0
    status, diags = check(cli, example_repo)
    assert status == 0 and found(diags, "W-INVOICE-ORDER") == []
    tour = tmp_path / "tour"
    assert cli("tour", tour).code == 0
    status, diags = check(cli, tour)
    assert status == 0 and found(diags, "W-INVOICE-ORDER") == []


# --------------------------------------------------------------------------- hand-written drafts


def _accept_refused(cli, root: Path, quote: str) -> None:
    before = snapshot(root)
    run = cli("quote", "accept", quote, "--signed-by", "Anna Nowak", "--as-of", AS_OF, "--repo", root)
    assert run.code == 1 and "E-INVALID-REPO" in run.stderr
    assert snapshot(root) == before


AMEND = "quote: Q-2026-0100\nkind: amendment\naccount: acme\ndate: 2026-03-20\neffective: 2026-04-01\n"


@pytest.mark.parametrize(
    ("text", "code", "needle"),
    [
        # another account's contract (globex's, in EUR): priced in EUR and appended to a PLN contract before
        (AMEND + "contract: C-2026-0003\nlines:\n  - {product: PRO-SEAT, quantity: 5}\n", "E-QUOTE-ACCOUNT",
         "C-2026-0003"),
        (AMEND + "contract: C-2026-0001\ncurrency: EUR\nlines:\n  - {product: PRO-SEAT, quantity: 5}\n",
         "E-CURRENCY-MISMATCH", "EUR"),
        # no effective date: the amendment entry was written without one
        (AMEND.replace("effective: 2026-04-01\n", "") + "contract: C-2026-0001\nlines:\n"
         "  - {product: PRO-SEAT, quantity: 5}\n", "E-REQUIRED", "quote: Q-2026-0100"),
        (AMEND + "contract: C-2026-0001\nlines: []\n", "E-NO-CHANGE", "[]"),
        # a new quote with no lines: a contract with nothing to bill
        ("quote: Q-2026-0100\naccount: acme\ndate: 2026-03-20\nstart: 2026-04-01\nlines: []\n", "E-QUOTE-LINES",
         "[]"),
        ("quote: Q-2026-0100\naccount: acme\ncurrency: EUR\ndate: 2026-03-20\nstart: 2026-04-01\nlines:\n"
         "  - {product: PRO-SEAT, quantity: 5}\n", "E-CURRENCY-MISMATCH", "EUR"),
        # a renewal of the evergreen C-2026-0005
        ("quote: Q-2026-0100\nkind: renewal\naccount: hooli\ncontract: C-2026-0005\ndate: 2026-03-20\n"
         "lines:\n  - {product: API-CALLS-PLAN, quantity: 1}\n", "E-EVERGREEN", "C-2026-0005"),
    ],
)  # fmt: skip
def test_a_hand_written_draft_that_would_write_a_wrong_contract_is_an_error(cli, example_repo, text, code, needle):
    rel = "quotes/Q-2026-0100.yaml"
    write(example_repo, rel, text)
    status, diags = check(cli, example_repo)
    assert status == 1
    assert found(diags, code) == [pos(example_repo, rel, needle)], diags
    _accept_refused(cli, example_repo, "Q-2026-0100")


def test_drafts_written_by_cpqctl_pass_the_draft_checks(cli, example_repo) -> None:
    root = example_repo
    assert cli("quote", "new", "--account", "globex", "--start", "2026-05-01", "--line", "PRO-SEAT=3",
               "--as-of", AS_OF, "--repo", root).code == 0  # fmt: skip
    assert cli("amend", "C-2026-0001", "--effective", "2026-05-01", "--cancel", "--as-of", AS_OF,
               "--repo", root).code == 0  # fmt: skip
    assert cli("renew", "C-2026-0001", "--as-of", "2026-11-20", "--repo", root).code == 0
    assert check(cli, root) == (0, [])
