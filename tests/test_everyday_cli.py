"""Issue 18, the command line for every day: filters on every list, one period syntax wherever a range is,
--format before the subcommand, -o naming the format, one --format spelling (export), JSON results of the
commands that write, the document data as JSON."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

JULY = "2026-07-01"


def _json(run) -> dict:
    assert run.code == 0, run.stdout + run.stderr
    return json.loads(run.stdout)


@pytest.fixture
def quoted(example_repo: Path, cli) -> Path:
    """The example with three quotes (acme PRO-SEAT, acme SSO+PRO-SEAT, globex ONBOARDING) and invoices through
    2027-07-01 issued on 2027-07-01."""
    for account, lines in (("acme", ["PRO-SEAT=10"]), ("acme", ["PRO-SEAT=5", "SSO=1"]), ("globex", ["ONBOARDING=1"])):
        args = [w for ln in lines for w in ("-l", ln)]
        run = cli(
            "quote", "new", "-a", account, "--start", "2026-08-01", *args, "--as-of", JULY, "--repo", example_repo
        )
        assert run.code == 0, run.stderr
    run = cli("invoice", "run", "--through", "2027-07-01", "--as-of", "2027-07-01", "--repo", example_repo)
    assert run.code == 0, run.stderr
    return example_repo


# --------------------------------------------------------------------------- list filters


def test_quote_list_by_product(quoted, cli) -> None:
    ids = lambda *a: [
        r["quote"] for r in _json(cli("quote", "list", *a, "-f", "json", "--as-of", JULY, "--repo", quoted))["quotes"]
    ]
    assert ids("--product", "SSO") == ["Q-2026-0002"]
    assert ids("--product", "PRO-SEAT") == ["Q-2026-0001", "Q-2026-0002"]
    assert ids("--product", "PRO-SEAT", "--account", "globex") == []
    run = cli("quote", "list", "--product", "SS0", "--repo", quoted)
    assert run.code == 2 and "E-UNKNOWN-PRODUCT" in run.stderr and "did you mean `SSO`" in run.stderr


def test_contract_list_by_product_held_on_the_day(example_repo, cli) -> None:
    def ids(*a, day=JULY):
        data = _json(cli("contract", "list", *a, "-f", "json", "--as-of", day, "--repo", example_repo))
        return [r["contract"] for r in data["contracts"]]

    assert ids("--product", "API-CALLS-PLAN") == ["C-2026-0005"]
    assert "C-2026-0008" not in ids("--product", "PRO-SEAT")  # stark's seats start 2027-06-01
    assert "C-2026-0008" in ids("--product", "PRO-SEAT", day="2027-06-15")


def test_account_list_status_currency_and_renewal_window(example_repo, cli) -> None:
    def rows(*a, day="2026-11-01"):
        return _json(cli("account", "list", *a, "-f", "json", "--as-of", day, "--repo", example_repo))["accounts"]

    status = {r["account"]: r["status"] for r in rows()}
    assert status == {
        "acme": "active",
        "globex": "active",
        "hooli": "active",
        "initech": "active",
        "stark": "pending",  # signed for 2027-06-01
        "umbrella": "active",
        "vandelay": "churned",  # cancelled from 2026-10-01
    }
    assert [r["account"] for r in rows("--status", "churned", "-s", "pending")] == ["stark", "vandelay"]
    assert [r["account"] for r in rows("--currency", "eur")] == ["globex", "stark", "umbrella"]
    # acme renews 2026-12-31 (60 days), umbrella 2027-01-31 (91 days)
    assert [r["account"] for r in rows("--renewing-within", "90d")] == ["acme"]
    assert [r["account"] for r in rows("--renewing-within", "91")] == ["acme", "umbrella"]
    run = cli("account", "list", "--renewing-within", "soon", "--repo", example_repo)
    assert run.code == 2 and "e.g. --renewing-within 90" in run.stderr


def test_invoice_list_overdue(quoted, cli) -> None:
    data = _json(cli("invoice", "list", "--overdue", "-f", "json", "--as-of", "2027-07-16", "--repo", quoted))
    overdue = data["invoices"]
    # everything the run dated 2027-07-01 fell due on 2027-07-15: overdue on the 16th, none on the 15th
    assert overdue and all(r["due"] < "2027-07-16" for r in overdue)
    assert (
        _json(cli("invoice", "list", "--overdue", "-f", "json", "--as-of", "2027-07-15", "--repo", quoted))["invoices"]
        == []
    )


def test_catalog_list_filters(example_repo, cli) -> None:
    def codes(*a):
        return [r["code"] for r in _json(cli("catalog", "list", *a, "-f", "json", "--repo", example_repo))["products"]]

    assert codes("--family", "add-on", "--family", "License") == sorted(
        codes("--family", "Add-on") + codes("--family", "License")
    )
    assert "ONBOARDING" in codes("--type", "one-time") and "PRO-SEAT" not in codes("--type", "one-time")
    assert "PRO-SEAT" in codes("--currency", "EUR") and "STORAGE-PACK" not in codes("--currency", "EUR")
    run = cli("catalog", "list", "--family", "Addon", "--repo", example_repo)
    assert run.code == 2 and "E-UNKNOWN-FAMILY" in run.stderr


def test_ids_sort_by_their_numbers() -> None:
    from cpqctl.app.listing import id_order

    ids = ["Q-2026-10000", "Q-2026-9999", "Q-2026-0002", "INV-2026-0010", "INV-2026-0009"]
    assert sorted(ids, key=id_order) == ["INV-2026-0009", "INV-2026-0010", "Q-2026-0002", "Q-2026-9999", "Q-2026-10000"]


# --------------------------------------------------------------------------- one period syntax


def test_invoice_list_takes_a_period_or_periods_as_bounds(quoted, cli) -> None:
    def numbers(*a):
        data = _json(cli("invoice", "list", *a, "-f", "json", "--as-of", "2027-08-15", "--repo", quoted))
        return [r["invoice"] for r in data["invoices"]]

    everything = numbers()
    assert numbers("-p", "2027q3") == everything  # all dated 2027-07-01
    assert numbers("-p", "last-month") == everything  # July, from 2027-08-15
    assert numbers("-p", "2027-06") == [] and numbers("--to", "2027q2") == []
    assert numbers("--from", "2027-07", "--to", "2027") == everything
    run = cli("invoice", "list", "-p", "2027q3", "--from", "2027-07-01", "--repo", quoted)
    assert run.code == 2 and "--period and --from/--to" in run.stderr


def test_movements_from_and_to_take_periods(example_repo, cli) -> None:
    by_period = _json(cli("report", "movements", "-p", "2026q3", "-f", "json", "--repo", example_repo))
    by_bounds = _json(
        cli("report", "movements", "--from", "2026q3", "--to", "2026q3", "-f", "json", "--repo", example_repo)
    )
    dated = _json(
        cli("report", "movements", "--from", "2026-06-30", "--to", "2026-09-30", "-f", "json", "--repo", example_repo)
    )
    assert by_period == by_bounds == dated


def test_renewals_windows_in_days_and_months_as_periods(example_repo, cli) -> None:
    plain = _json(cli("renewals", "--within", "120", "-f", "json", "--as-of", "2026-11-01", "--repo", example_repo))
    days = _json(cli("renewals", "--within", "120d", "-f", "json", "--as-of", "2026-11-01", "--repo", example_repo))
    assert plain == days
    a = _json(cli("renewals", "--by", "month", "--from", "2027q1", "--months", "3", "-f", "json",
                  "--as-of", "2026-11-01", "--repo", example_repo))  # fmt: skip
    b = _json(cli("renewals", "--by", "month", "--from", "2027-01", "--months", "3", "-f", "json",
                  "--as-of", "2026-11-01", "--repo", example_repo))  # fmt: skip
    assert a == b


# --------------------------------------------------------------------------- global --format, -o, export


def test_format_before_the_subcommand(example_repo, cli) -> None:
    after = cli("contract", "list", "--format", "json", "--as-of", JULY, "--repo", example_repo)
    for before in (
        ("--format", "json", "contract", "list"),
        ("-f", "json", "--repo", example_repo, "contract", "list"),
        ("--repo", example_repo, "--format=json", "-q", "contract", "list"),
    ):
        run = cli(*before, "--as-of", JULY, "--repo", example_repo)
        assert run.code == 0 and run.stdout == after.stdout, before
    refused = cli("--format", "json", "tour", "--repo", example_repo)  # a command without --format
    assert refused.code == 2 and "--format" in refused.stderr


def test_export_names_its_file_kind_with_to_and_prints_with_format(example_repo, cli, tmp_path) -> None:
    db = tmp_path / "cpq.sqlite"
    run = cli("export", "-o", db, "--format", "json", "--as-of", JULY, "--repo", example_repo)
    data = _json(run)
    assert data["format"] == "sqlite" and data["path"] == str(db)  # the kind from the extension
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from accounts").fetchone()[0] == 7
    folder = tmp_path / "csv"
    assert (
        _json(cli("export", "--to", "csv", "-o", folder, "-f", "json", "--as-of", JULY, "--repo", example_repo))[
            "format"
        ]
        == "csv"
    )
    assert (folder / "accounts.csv").is_file()
    old = cli(
        "export", "--format", "sqlite", "-o", tmp_path / "old.db", "--json", "--as-of", JULY, "--repo", example_repo
    )
    assert _json(old)["format"] == "sqlite"  # the older spellings still work


def test_render_json_is_the_template_data_and_presents_nothing(example_repo, cli) -> None:
    assert cli("quote", "new", "-a", "acme", "--start", "2026-08-01", "-l", "PRO-SEAT=10", "--as-of", JULY,
               "--repo", example_repo).code == 0  # fmt: skip
    quote_file = example_repo / "quotes" / "Q-2026-0001.yaml"
    before = quote_file.read_bytes()
    data = _json(
        cli("quote", "render", "Q-2026-0001", "-f", "json", "-o", "-", "--as-of", JULY, "--repo", example_repo)
    )
    assert data["quote"]["id"] == "Q-2026-0001" and data["company"]["name"].startswith("Example Software")
    assert quote_file.read_bytes() == before  # not presented: the customer saw no document
    statement = _json(
        cli("account", "render", "acme", "-f", "json", "-o", "-", "--as-of", JULY, "--repo", example_repo)
    )
    assert statement["account"]["name"] == "ACME Sp. z o.o."


def test_writing_commands_say_what_they_did_in_json(example_repo, cli, tmp_path) -> None:
    assert cli("quote", "new", "-a", "acme", "--start", "2026-08-01", "-l", "PRO-SEAT=5@30%", "--as-of", JULY,
               "--repo", example_repo).code == 0  # fmt: skip
    approved = _json(cli("quote", "approve", "Q-2026-0001", "--by", "Boss", "-f", "json", "--as-of", JULY,
                         "--repo", example_repo))  # fmt: skip
    assert approved == {"quote": "Q-2026-0001", "approved_by": "Boss", "date": JULY,
                        "written": ["quotes/Q-2026-0001.yaml"]}  # fmt: skip
    accepted = _json(cli("quote", "accept", "Q-2026-0001", "--signed-by", "Anna Nowak", "-f", "json", "--as-of", JULY,
                         "--repo", example_repo))  # fmt: skip
    assert accepted["contract"] == "C-2026-0009" and accepted["kind"] == "new"
    assert "contracts/acme/C-2026-0009.yaml" in accepted["written"]
    made = _json(cli("init", tmp_path / "books", "--currency", "PLN", "--locale", "pl_PL", "--no-git", "-f", "json"))
    assert made["repo"] == str(tmp_path / "books") and made["tax_rate"] == "23%" and "cpq.toml" in made["written"]
