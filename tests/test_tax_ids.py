"""Issue 16: tax IDs and the VAT treatment an accountant accepts (docs/tax-ids.md).

`cpqctl check` validates the seller's and the buyers' tax IDs by their checksum
(python-stdnum), the reverse-charge setup of each account, and the arithmetic of
issued invoices; `cpqctl init` picks the country's VAT rate and refuses a bad
--tax-id. Each finding is made on a scratch copy of the example repository.
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from cpqctl.core import countries
from cpqctl.core.model import Account, Settings
from cpqctl.formats.digest import digest_of, line_of

# --------------------------------------------------------------------------- helpers


def findings(cli, root: Path) -> list[dict]:
    run = cli("check", "--format", "json", "--repo", root)
    return json.loads(run.stdout)["diagnostics"]


def codes(cli, root: Path) -> set[str]:
    return {d["code"] for d in findings(cli, root)}


def edit(root: Path, rel: str, old: str, new: str) -> None:
    p = root / rel
    text = p.read_text(encoding="utf-8")
    assert old in text, (rel, old)
    p.write_text(text.replace(old, new, 1), encoding="utf-8")


def reseal(root: Path, rel: str, old: str, new: str) -> None:
    """Edit an issued invoice and recompute its own digest: only the arithmetic can tell."""
    p = root / rel
    text = p.read_text(encoding="utf-8")
    assert old in text, (rel, old)
    text = text.replace(old, new, 1)
    start = text.index("\ndigest:") + 1
    end = text.find("\n", start)
    end = len(text) if end < 0 else end + 1
    body = text[:start]
    p.write_text(body + line_of(digest_of(body)) + text[end:], encoding="utf-8")


def vat_invoice(cli, root: Path) -> tuple[str, str]:
    """Issue the example's invoices through March 2026; (path, text) of the first one with 23% VAT."""
    run = cli("invoice", "run", "--through", "2026-03-31", "--as-of", "2026-04-02", "--repo", root)
    assert run.code == 0, run.stderr
    for p in sorted((root / "invoices").glob("*.yaml")):
        text = p.read_text(encoding="utf-8")
        if "rate: 23%" in text:
            return p.relative_to(root).as_posix(), text
    raise AssertionError("no invoice with 23% VAT")


# --------------------------------------------------------------------------- countries.py


@pytest.mark.parametrize(
    ("tax_id", "country", "normalized"),
    [
        ("PL7251234561", "", "PL7251234561"),  # the example seller
        ("725-123-45-61", "PL", "PL7251234561"),  # no prefix, dashes: a NIP as Poles write it
        ("PL 725 123 45 61", "", "PL7251234561"),
        ("DE811234565", "", "DE811234565"),
        ("811234565", "DE", "DE811234565"),  # the country from the account
        ("CHE-123.456.788", "", "CHE123456788"),  # Swiss UID
        ("CHE-123.456.788 MWST", "", "CHE123456788MWST"),  # Swiss VAT number
        ("FR40303265045", "", "FR40303265045"),
        ("EL094259216", "", "EL094259216"),  # Greece: EL
    ],
)
def test_valid_tax_ids_pass(tax_id, country, normalized) -> None:
    ok, norm, form = countries.validate_tax_id(tax_id, country)
    assert (ok, norm) == (True, normalized) and form


@pytest.mark.parametrize(
    ("tax_id", "country"),
    [("PL7251234567", ""), ("7251234567", "PL"), ("DE811234567", ""), ("CHE-123.456.789", ""), ("FR40303265046", "")],
)
def test_bad_checksums_fail_with_the_expected_form(tax_id, country) -> None:
    ok, norm, form = countries.validate_tax_id(tax_id, country)
    assert ok is False and norm == tax_id and "checksum" in form


def test_other_countries_are_not_validated() -> None:
    assert countries.validate_tax_id("12-3456789", "US") == (None, "12-3456789", "")
    assert countries.validate_tax_id("", "PL") == (None, "", "")


def test_countries_of_the_parties() -> None:
    assert countries.country_of_tax_id("DE811234565") == "DE"
    assert countries.country_of_tax_id("EL094259216") == "GR"
    assert countries.country_of_tax_id("CHE-123.456.788") == "CH"
    assert countries.country_of_tax_id("725-123-45-61") == ""
    assert countries.seller_country(Settings(company_country="pl")) == "PL"
    assert countries.seller_country(Settings(company_tax_id="PL7251234561", locale="en_US")) == "PL"
    assert countries.seller_country(Settings(locale="de_AT")) == "AT"
    assert countries.buyer_country(Account("a", "A", "EUR", tax_id="DE811234565")) == "DE"
    assert countries.buyer_country(Account("a", "A", "EUR", tax_id="DE811234565", country="at")) == "AT"
    assert countries.buyer_country(None) == ""
    assert countries.is_eu("DE") and countries.is_eu("el") and not countries.is_eu("CH") and not countries.is_eu("GB")
    assert len(countries.EU_MEMBER_STATES) == 27
    assert countries.standard_vat_rate("PL") == Decimal(23) and countries.standard_vat_rate("CH") == Decimal("8.1")
    assert countries.standard_vat_rate("US") is None


# --------------------------------------------------------------------------- check: the example


def test_the_example_passes_the_tax_checks(example_repo, cli) -> None:
    assert findings(cli, example_repo) == []


# --------------------------------------------------------------------------- check: tax IDs


def test_a_bad_nip_checksum_is_an_error_at_the_tax_id(example_repo, cli) -> None:
    edit(example_repo, "contracts/acme/account.yaml", "tax_id: PL5260001200", "tax_id: PL5260001234")
    (d,) = [d for d in findings(cli, example_repo) if d["code"] == "E-TAX-ID"]
    assert (d["severity"], d["file"], d["line"], d["column"]) == ("error", "contracts/acme/account.yaml", 8, 9)
    assert "PL5260001234" in d["message"] and "Polish NIP" in d["hint"]


def test_a_bad_german_vat_id_and_swiss_uid_are_errors(example_repo, cli) -> None:
    edit(example_repo, "contracts/globex/account.yaml", "DE811234565", "DE811234567")
    edit(example_repo, "contracts/umbrella/account.yaml", "CHE-123.456.788", "CHE-123.456.789")
    files = {d["file"] for d in findings(cli, example_repo) if d["code"] == "E-TAX-ID"}
    assert files == {"contracts/globex/account.yaml", "contracts/umbrella/account.yaml"}


def test_a_bad_seller_nip_is_an_error(example_repo, cli) -> None:
    edit(example_repo, "cpq.toml", 'tax_id = "PL7251234561"', 'tax_id = "PL7251234567"')
    (d,) = findings(cli, example_repo)
    assert (d["code"], d["file"]) == ("E-TAX-ID", "cpq.toml")


def test_a_missing_seller_nip_is_an_error_once_contracts_would_be_invoiced(example_repo, cli) -> None:
    edit(example_repo, "cpq.toml", 'tax_id = "PL7251234561"\n', "")
    (d,) = findings(cli, example_repo)
    assert (d["code"], d["severity"], d["file"]) == ("E-SELLER-TAX-ID", "error", "cpq.toml")
    assert "106e" in d["hint"]


def test_a_missing_seller_nip_is_a_warning_before_anything_is_invoiced(repo, cli) -> None:
    root = repo(toml='[company]\nname = "Test Co"\ncurrency = "PLN"\nlocale = "pl_PL"\n')
    (d,) = findings(cli, root)
    assert (d["code"], d["severity"]) == ("W-SELLER-TAX-ID", "warning")
    assert cli("check", "--repo", root).code == 0


def test_a_seller_outside_the_eu_needs_no_vat_id(repo, cli) -> None:
    root = repo(toml='[company]\nname = "Test Co"\ncurrency = "USD"\nlocale = "en_US"\n')
    assert findings(cli, root) == []


# --------------------------------------------------------------------------- check: VAT treatment


def test_reverse_charge_without_a_vat_id_is_an_error(example_repo, cli) -> None:
    edit(example_repo, "contracts/globex/account.yaml", "tax_id: DE811234565\n", "")
    (d,) = findings(cli, example_repo)
    assert (d["code"], d["file"], d["line"]) == ("E-REVERSE-CHARGE-NO-VAT-ID", "contracts/globex/account.yaml", 9)


def test_reverse_charge_on_a_domestic_customer_is_an_error(example_repo, cli) -> None:
    edit(
        example_repo,
        "contracts/hooli/account.yaml",
        "tax_id: PL6793012342\n",
        "tax_id: PL6793012342\nreverse_charge: true\n",
    )
    (d,) = findings(cli, example_repo)
    assert (d["code"], d["file"], d["line"]) == ("E-REVERSE-CHARGE-DOMESTIC", "contracts/hooli/account.yaml", 9)


def test_reverse_charge_by_the_country_field(example_repo, cli) -> None:
    """`country:` decides over the tax ID's prefix: a German VAT ID of a customer in Poland is domestic."""
    edit(example_repo, "contracts/globex/account.yaml", "country: DE", "country: PL")
    assert codes(cli, example_repo) == {"E-REVERSE-CHARGE-DOMESTIC"}


def test_an_eu_customer_without_reverse_charge_is_warned(example_repo, cli) -> None:
    edit(example_repo, "contracts/globex/account.yaml", "reverse_charge: true\n", "")
    (d,) = findings(cli, example_repo)
    assert (d["code"], d["severity"]) == ("W-REVERSE-CHARGE", "warning") and "196" in d["hint"]


def test_an_exemption_without_its_legal_basis_is_warned(example_repo, cli) -> None:
    edit(
        example_repo, "contracts/initech/account.yaml", "tax_id: PL8971234561\n", "tax_id: PL8971234561\ntax_code: zw\n"
    )
    (d,) = findings(cli, example_repo)
    assert (d["code"], d["severity"], d["line"]) == ("W-EXEMPT-NO-BASIS", "warning", 9)
    edit(
        example_repo,
        "contracts/initech/account.yaml",
        "tax_code: zw\n",
        "tax_code: zw\ntax_note: art. 43 ust. 1 pkt 37 ustawy o VAT\n",
    )
    assert findings(cli, example_repo) == []


# --------------------------------------------------------------------------- check: issued invoices


def test_gross_not_net_plus_vat_is_an_error(example_repo, cli) -> None:
    rel, text = vat_invoice(cli, example_repo)
    gross = next(ln for ln in text.splitlines() if ln.startswith("gross_total:"))
    reseal(example_repo, rel, gross, "gross_total: 1.00")
    assert "E-INVOICE-TOTAL" in {d["code"] for d in findings(cli, example_repo) if d["file"] == rel}


def test_vat_not_rate_times_base_is_an_error(example_repo, cli) -> None:
    rel, text = vat_invoice(cli, example_repo)
    taxes = next(ln for ln in text.splitlines() if ln.startswith("taxes:"))
    amount = taxes.split("amount: ")[1].split("}")[0]
    net = Decimal(next(ln for ln in text.splitlines() if ln.startswith("net_total:")).split(": ")[1])
    wrong = Decimal(amount) + 10
    reseal(example_repo, rel, taxes, taxes.replace(f"amount: {amount}", f"amount: {wrong}"))
    gross = next(ln for ln in (example_repo / rel).read_text().splitlines() if ln.startswith("gross_total:"))
    reseal(example_repo, rel, gross, f"gross_total: {net + wrong}")  # the totals add up: only the VAT is wrong
    assert {d["code"] for d in findings(cli, example_repo) if d["file"] == rel} == {"E-INVOICE-TAX"}


# --------------------------------------------------------------------------- init


def test_init_picks_23_percent_for_pl_PL(tmp_path, cli) -> None:
    target = tmp_path / "pl"
    run = cli("init", target, "--currency", "PLN", "--locale", "pl_PL", "--no-git")
    assert run.code == 0, run.stderr
    settings = tomllib.loads((target / "cpq.toml").read_text(encoding="utf-8"))
    assert settings["tax"]["rate"] == "23%"
    assert "W-SELLER-TAX-ID" in run.stderr  # no --tax-id: told at once


@pytest.mark.parametrize(("args", "rate"), [(("--locale", "de_DE"), "19%"), (("--country", "CH"), "8.1%")])
def test_init_picks_the_countrys_rate(tmp_path, cli, args, rate) -> None:
    target = tmp_path / "r"
    assert cli("init", target, "--currency", "EUR", *args, "--no-git").code == 0
    assert tomllib.loads((target / "cpq.toml").read_text(encoding="utf-8"))["tax"]["rate"] == rate


def test_init_warns_of_an_unknown_rate(tmp_path, cli) -> None:
    target = tmp_path / "us"
    run = cli("init", target, "--currency", "USD", "--locale", "en_US", "--no-git")
    assert run.code == 0 and "W-TAX-RATE" in run.stderr
    assert tomllib.loads((target / "cpq.toml").read_text(encoding="utf-8"))["tax"]["rate"] == "0%"


def test_init_writes_the_seller_and_checks_clean(tmp_path, cli) -> None:
    target = tmp_path / "seller"
    run = cli(
        "init",
        target,
        "--name",
        "Example Software Sp. z o.o.",
        "--currency",
        "PLN",
        "--locale",
        "pl_PL",
        "--tax-id",
        "PL7251234561",
        "--address",
        "ul. Piotrkowska 104, 90-001 Łódź",
        "--bank-account",
        "PL61109010140000071219812874",
        "--bank-account",
        "EUR=PL86 1090 1014 0000 0712 1981 3006",
        "--tax-rate",
        "8%",
        "--no-git",
    )
    assert run.code == 0, run.stderr
    settings = tomllib.loads((target / "cpq.toml").read_text(encoding="utf-8"))
    company = settings["company"]
    assert company["tax_id"] == "PL7251234561" and company["address"].startswith("ul. Piotrkowska")
    assert company["bank_account"] == "PL61 1090 1014 0000 0712 1981 2874"
    assert company["bank_accounts"] == {"EUR": "PL86 1090 1014 0000 0712 1981 3006"}
    assert settings["tax"]["rate"] == "8%"
    check = cli("check", "--repo", target)
    assert (check.code, check.stdout, check.stderr) == (0, "", "")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--tax-id", "PL7251234567"), "E-TAX-ID"),
        (("--tax-id", "DE811234567"), "E-TAX-ID"),
        (("--bank-account", "PL61 1090 1014 0000 0712 1981 2875"), "E-IBAN"),
        (("--bank-account", "euro=PL86109010140000071219813006"), "currency"),
        (("--country", "Poland"), "country"),
        (("--tax-rate", "23"), "percentage"),
    ],
)
def test_init_refuses_a_bad_seller_option_with_exit_2(tmp_path, cli, args, needle) -> None:
    target = tmp_path / "bad"
    run = cli("init", target, "--currency", "PLN", "--locale", "pl_PL", *args, "--no-git")
    assert run.code == 2 and needle in run.stderr, run.stderr
    assert not (target / "cpq.toml").exists()
