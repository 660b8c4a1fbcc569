"""`cpqctl export --format csv|sqlite`: the ledger as tables for BI tools (cpqctl/export.py, cpqctl/cli/export.py).

Every figure is checked against what the rest of cpqctl says (the loaded
repository, `report arr`, the invoices' own totals), the CSV against the
SQLite rows, and the writes for atomicity: a failed export leaves nothing
behind and never replaces what was there.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from cpqctl.load.repo import load_repo
from cpqctl.views.export import SCHEMAS, TABLES, minor

AS_OF = "2026-06-30"


def read_csv(folder: Path, table: str) -> list[dict]:
    with open(folder / f"{table}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def billed(example_repo, cli) -> Path:
    """The example repository with every invoice of 2025–2026 issued."""
    run = cli("invoice", "run", "--through", "2026-12-31", "--as-of", "2026-12-31", "--repo", example_repo)
    assert run.code == 0, run.stderr
    return example_repo


@pytest.fixture
def csv_export(billed, cli, tmp_path) -> Path:
    out = tmp_path / "out"
    run = cli("export", "--format", "csv", "-o", out, "--as-of", AS_OF, "--repo", billed)
    assert run.code == 0, run.stderr
    return out


@pytest.fixture
def db(billed, cli, tmp_path):
    path = tmp_path / "cpq.sqlite"
    run = cli("export", "--format", "sqlite", "-o", path, "--as-of", AS_OF, "--repo", billed)
    assert run.code == 0, run.stderr
    con = sqlite3.connect(path)
    yield con
    con.close()


# --------------------------------------------------------------------------- the tables hold the ledger


def test_row_counts_match_the_loaded_repository(billed, csv_export) -> None:
    repo, _ = load_repo(billed)
    segments = [s for c in repo.contracts.values() for s in c.segments()]
    lines = [ln for inv in repo.invoices.values() for ln in inv.lines]
    assert len(repo.invoices) > 10 and len(segments) > 10  # the run issued invoices: the test has something to see
    counts = {t: len(read_csv(csv_export, t)) for t in TABLES}
    assert counts == {
        "accounts": len(repo.accounts),
        "contracts": len(repo.contracts),
        "segments": len(segments),
        "invoices": len(repo.invoices),
        "invoice_lines": len(lines),
    }


def test_segment_ids_are_the_ones_invoices_use(csv_export) -> None:
    segs = read_csv(csv_export, "segments")
    ids = {r["segment"] for r in segs}
    assert "C-2026-0001#1" in ids and "C-2026-0001/A-1#1" in ids and "C-2026-0001/A-2#1" in ids
    assert {r["segment"] for r in read_csv(csv_export, "invoice_lines")} <= ids
    by_id = {r["segment"]: r for r in segs}
    assert by_id["C-2026-0001/A-1#1"]["source"] == "A-1" and by_id["C-2026-0001#1"]["source"] == "initial"
    assert by_id["C-2026-0001#2"]["kind"] == "one-time" and by_id["C-2026-0001#1"]["kind"] == "recurring"
    assert by_id["C-2026-0001/A-1#1"]["quantity"] == "5" and by_id["C-2026-0001/A-1#1"]["unit_price"] == "1080.00"


@pytest.mark.parametrize("day", ["2026-03-01", "2026-06-30", "2026-10-01", "2027-02-01"])
def test_contract_arr_is_what_report_arr_says(example_repo, cli, tmp_path, day) -> None:
    """ACME has one contract, so its ARR in `report arr` is the contract's (up-sell in April, SSO in September)."""
    out = tmp_path / f"out-{day}"
    assert cli("export", "-o", out, "--as-of", day, "--repo", example_repo).code == 0
    report = json.loads(cli("report", "arr", "--format", "json", "--as-of", day, "--repo", example_repo).stdout)
    expected = next((r["arr"] for r in report["rows"] if r["account"] == "acme"), "0.00")
    (row,) = [r for r in read_csv(out, "contracts") if r["contract"] == "C-2026-0001"]
    assert row["arr"] == expected and row["as_of"] == day
    assert Decimal(row["arr"]) == 12 * Decimal(row["mrr"])


def test_contract_status_follows_as_of(example_repo, cli, tmp_path) -> None:
    statuses = {}
    for day in ("2025-12-31", "2026-06-30", "2027-01-01"):
        assert cli("export", "-o", tmp_path / day, "--as-of", day, "--repo", example_repo).code == 0
        (row,) = [r for r in read_csv(tmp_path / day, "contracts") if r["contract"] == "C-2026-0001"]
        statuses[day] = (row["status"], row["arr"])
    assert statuses == {
        "2025-12-31": ("pending", "0.00"),
        "2026-06-30": ("active", "59400.00"),
        "2027-01-01": ("ended", "0.00"),
    }


def test_invoice_lines_add_up_to_each_invoice_net_total(csv_export) -> None:
    invoices = read_csv(csv_export, "invoices")
    sums: dict[str, Decimal] = {}
    for ln in read_csv(csv_export, "invoice_lines"):
        sums[ln["invoice"]] = sums.get(ln["invoice"], Decimal(0)) + Decimal(ln["amount"])
    assert invoices and set(sums) == {i["invoice"] for i in invoices}
    for inv in invoices:
        assert sums[inv["invoice"]] == Decimal(inv["net_total"]), inv["invoice"]
        assert Decimal(inv["net_total"]) + Decimal(inv["tax_total"]) == Decimal(inv["gross_total"])


def test_money_is_plain_decimal_text_with_the_currency_places(csv_export) -> None:
    seen = 0
    for table in TABLES:
        money = [c.name for c in SCHEMAS[table].columns if c.type == "money"]
        for row in read_csv(csv_export, table):
            for col in money:
                if row[col]:
                    assert re.fullmatch(r"-?\d+\.\d\d", row[col]), (table, col, row[col])  # PLN and EUR: 2 places
                    seen += 1
    assert seen > 100


def test_accounts_carry_the_tax_rate_their_invoices_use(csv_export) -> None:
    rows = {r["account"]: r for r in read_csv(csv_export, "accounts")}
    assert (rows["acme"]["tax_rate_percent"], rows["acme"]["reverse_charge"]) == ("23", "0")
    assert (rows["globex"]["tax_rate_percent"], rows["globex"]["reverse_charge"]) == ("0", "1")
    assert rows["acme"]["billing_email"] == "anna.nowak@acme.example"


# --------------------------------------------------------------------------- sqlite


def test_sqlite_sum_of_arr_by_account_matches_report_arr(db, billed, cli) -> None:
    report = json.loads(cli("report", "arr", "--format", "json", "--as-of", AS_OF, "--repo", billed).stdout)
    expected = {(r["account"], r["currency"]): minor(r["arr"]) for r in report["rows"]}
    got = {
        (a, c): v
        for a, c, v in db.execute(
            "SELECT account, currency, SUM(arr_minor) FROM contracts GROUP BY account, currency HAVING SUM(arr_minor) != 0"
        )
    }
    assert got == expected and len(got) >= 5


def test_sqlite_declares_types_keys_and_indexes_never_real(db) -> None:
    for table in TABLES:
        info = db.execute(f'PRAGMA table_info("{table}")').fetchall()
        assert info and all(col[2] in ("TEXT", "INTEGER") for col in info), table
        assert [col[1] for col in info if col[5]] == list(SCHEMAS[table].key), table  # the primary key
    assert db.execute(
        "SELECT typeof(arr), typeof(arr_minor), arr, arr_minor FROM contracts WHERE contract = 'C-2026-0001'"
    ).fetchone() == ("text", "integer", "59400.00", 5940000)
    fks = {(t, r[3], r[2]) for t in TABLES for r in db.execute(f'PRAGMA foreign_key_list("{t}")')}
    assert {
        ("contracts", "account", "accounts"),
        ("segments", "contract", "contracts"),
        ("invoices", "contract", "contracts"),
        ("invoice_lines", "invoice", "invoices"),
    } <= fks
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    indexed = {
        (t, r[2])
        for t in TABLES
        for ix in db.execute(f'PRAGMA index_list("{t}")')
        for r in db.execute(f'PRAGMA index_info("{ix[1]}")')
    }
    assert {
        ("contracts", "account"),
        ("segments", "contract"),
        ("segments", "account"),
        ("invoices", "account"),
        ("invoices", "contract"),
    } <= indexed


def test_sqlite_rows_are_the_csv_rows(db, csv_export) -> None:
    for table in TABLES:
        cols = [c.name for c in SCHEMAS[table].columns]
        quoted = ", ".join(f'"{c}"' for c in cols)
        rows = [
            ["" if v is None else str(v) for v in r]
            for r in db.execute(f'SELECT {quoted} FROM "{table}" ORDER BY rowid')
        ]
        assert rows == [[r[c] for c in cols] for r in read_csv(csv_export, table)], table


def test_sqlite_exact_invoice_totals_in_minor_units(db) -> None:
    bad = db.execute(
        "SELECT i.invoice FROM invoices i JOIN invoice_lines l USING (invoice) "
        "GROUP BY i.invoice HAVING SUM(l.amount_minor) != i.net_total_minor"
    ).fetchall()
    assert bad == [] and db.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] > 10


def test_minor_units_of_money_text() -> None:
    assert [minor(t) for t in ("1080.00", "-0.30", "0.00", "500", "-12")] == [108000, -30, 0, 500, -12]


# --------------------------------------------------------------------------- determinism, output, usage


def test_csv_is_byte_identical_across_runs(billed, cli, tmp_path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b, a):  # the third run replaces the first export in place
        assert cli("export", "-o", out, "--as-of", AS_OF, "--repo", billed).code == 0
    assert sorted(p.name for p in a.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    for t in TABLES:
        data = (a / f"{t}.csv").read_bytes()
        assert data == (b / f"{t}.csv").read_bytes(), t
        assert b"\r" not in data and data.endswith(b"\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp folder left


def test_summary_json_and_default_paths(billed, cli, tmp_path) -> None:
    cwd = tmp_path / "here"
    cwd.mkdir()
    run = cli("export", "--json", "--as-of", AS_OF, "--repo", billed, cwd=cwd)
    assert run.code == 0 and "wrote" in run.stderr
    data = json.loads(run.stdout)
    assert data["path"] == str(cwd / "export") and data["as_of"] == AS_OF
    assert [t["table"] for t in data["tables"]] == list(TABLES)
    # one row per invoice file (the .md and .pdf kept beside each are its documents, not invoices)
    files = sorted((billed / "invoices").iterdir())
    assert {p.suffix for p in files} == {".yaml", ".md", ".pdf"}
    assert {t["table"]: t["rows"] for t in data["tables"]}["invoices"] == len([p for p in files if p.suffix == ".yaml"])
    run = cli("export", "--format", "sqlite", "--as-of", AS_OF, "--repo", billed, cwd=cwd)
    assert run.code == 0 and "invoice_lines" in run.stdout and (cwd / "cpq-export.sqlite").is_file()


def test_bad_format_is_a_usage_error(example_repo, cli, tmp_path) -> None:
    run = cli("export", "--format", "xlsx", "-o", tmp_path / "x", "--repo", example_repo)
    assert run.code == 2 and "xlsx" in run.stderr and not (tmp_path / "x").exists()


def test_a_broken_repository_is_not_exported(example_repo, cli, tmp_path) -> None:
    (example_repo / "contracts" / "acme" / "C-2026-0001.yaml").write_text("contract: [\n", encoding="utf-8")
    run = cli("export", "-o", tmp_path / "x", "--repo", example_repo)
    assert run.code == 1 and "E-INVALID-REPO" in run.stderr and not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- atomic, never clobbers


def _fail_after_first_table(monkeypatch) -> None:
    import cpqctl.formats.export as mod

    real = mod._write_csv

    def broken(folder, tables):
        real(folder, tables[:1])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mod, "_write_csv", broken)


def test_a_failing_csv_export_leaves_no_partial_folder(example_repo, cli, tmp_path, monkeypatch) -> None:
    parent = tmp_path / "exports"
    parent.mkdir()
    _fail_after_first_table(monkeypatch)
    run = cli("export", "-o", parent / "out", "--as-of", AS_OF, "--repo", example_repo)
    assert run.code == 2 and "E-USAGE" in run.stderr and "No space left" in run.stderr
    assert list(parent.iterdir()) == []


def test_a_failing_export_keeps_the_previous_one(example_repo, cli, tmp_path, monkeypatch) -> None:
    out = tmp_path / "out"
    assert cli("export", "-o", out, "--as-of", AS_OF, "--repo", example_repo).code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _fail_after_first_table(monkeypatch)
    assert cli("export", "-o", out, "--as-of", "2027-06-30", "--repo", example_repo).code == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_failing_sqlite_export_leaves_no_file(example_repo, cli, tmp_path, monkeypatch) -> None:
    import cpqctl.formats.export as mod

    real = mod.sqlite_rows

    def broken(table):
        if table.name == "invoices":
            raise RuntimeError("boom")
        return real(table)

    monkeypatch.setattr(mod, "sqlite_rows", broken)
    parent = tmp_path / "exports"
    parent.mkdir()
    run = cli("export", "--format", "sqlite", "-o", parent / "cpq.sqlite", "--repo", example_repo, "--as-of", AS_OF)
    assert run.code == 1 and "internal error" in run.stderr
    assert list(parent.iterdir()) == []


def test_an_unwritable_target_is_refused_cleanly(example_repo, cli, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    run = cli("export", "--format", "sqlite", "-o", blocker / "cpq.sqlite", "--repo", example_repo, "--as-of", AS_OF)
    assert run.code == 2 and "cannot write" in run.stderr and "Traceback" not in run.stderr
    assert blocker.read_text(encoding="utf-8") == "x"


def test_refuses_to_replace_a_folder_that_is_not_an_export(example_repo, cli, tmp_path) -> None:
    out = tmp_path / "docs"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    run = cli("export", "-o", out, "--repo", example_repo, "--as-of", AS_OF)
    assert run.code == 2 and "E-EXISTS" in run.stderr and "notes.txt" in run.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("content", [b"not a database", b"SQLite format 3\x00" + bytes(200)])
def test_refuses_to_replace_a_file_that_is_not_a_sqlite_export(example_repo, cli, tmp_path, content) -> None:
    target = tmp_path / "data.sqlite"
    target.write_bytes(content)
    run = cli("export", "--format", "sqlite", "-o", target, "--repo", example_repo, "--as-of", AS_OF)
    assert run.code == 2 and "E-EXISTS" in run.stderr
    assert target.read_bytes() == content


def test_replaces_a_previous_sqlite_export_and_an_empty_file(example_repo, cli, tmp_path) -> None:
    target = tmp_path / "cpq.sqlite"
    target.write_bytes(b"")
    for day in (AS_OF, "2027-06-30"):
        assert cli("export", "--format", "sqlite", "-o", target, "--repo", example_repo, "--as-of", day).code == 0
    con = sqlite3.connect(target)
    try:
        assert con.execute("SELECT DISTINCT as_of FROM contracts").fetchall() == [("2027-06-30",)]
    finally:
        con.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_csv_export_into_a_file_is_refused(example_repo, cli, tmp_path) -> None:
    target = tmp_path / "export"
    target.write_text("x", encoding="utf-8")
    run = cli("export", "-o", target, "--repo", example_repo, "--as-of", AS_OF)
    assert run.code == 2 and "is not a folder" in run.stderr and target.read_text(encoding="utf-8") == "x"
