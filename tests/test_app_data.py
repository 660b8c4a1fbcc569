"""The data use cases called from Python: export, import, diff, reports, the reading commands, check, init.

Each answer is compared with what the CLI prints for the same call (the CLI
is a shell around these functions) or with the files it leaves behind.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cpqctl.app import accounts, checking, diffing, exporting, importing, init as initialising, reports
from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError, InvalidRepository, UsageError

DAY = date(2026, 6, 30)


def ws_of(root: Path, day: date = DAY) -> Workspace:
    return Workspace.open(root, as_of=day)


# --------------------------------------------------------------------------- export


def test_export_sqlite_reads_back_with_exact_money(example_repo, tmp_path) -> None:
    from cpqctl.formats.export import APPLICATION_ID

    target = tmp_path / "bi" / "cpq.sqlite"
    result = exporting.export(ws_of(example_repo), fmt="sqlite", output=target)
    assert result.path == target and target.is_file() and result.message == f"wrote {target}"
    assert result.data["as_of"] == "2026-06-30" and result.data["format"] == "sqlite"
    db = sqlite3.connect(target)
    try:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        counts = {t["table"]: t["rows"] for t in result.data["tables"]}
        assert set(counts) == {"accounts", "contracts", "segments", "invoices", "invoice_lines"}
        for table, n in counts.items():
            assert db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] == n
        contracts = ws_of(example_repo).read().contracts
        assert counts["contracts"] == len(contracts) > 0
        # the minor-unit sibling is the text amount exactly, row by row
        for text, minor in db.execute("SELECT mrr, mrr_minor FROM contracts"):
            assert Decimal(text) * 100 == minor
        acme = db.execute("SELECT arr, status FROM contracts WHERE contract = 'C-2026-0001'").fetchone()
    finally:
        db.close()
    shown = accounts.contract_show(ws_of(example_repo), contract="C-2026-0001").data
    assert acme == (shown["arr"], shown["status"])


def test_export_csv_equals_the_cli_and_refuses_a_folder_that_is_not_an_export(example_repo, cli, tmp_path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    exporting.export(ws_of(example_repo), fmt="csv", output=ours)
    assert cli("export", "-o", theirs, "--as-of", "2026-06-30", "--repo", example_repo).code == 0
    assert {p.name: p.read_bytes() for p in ours.iterdir()} == {p.name: p.read_bytes() for p in theirs.iterdir()}
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "todo.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(UsageError) as e:
        exporting.export(ws_of(example_repo), output=mine)
    assert e.value.code == "E-EXISTS" and "todo.txt" in e.value.message
    assert [p.name for p in mine.iterdir()] == ["todo.txt"]


def test_export_refuses_a_broken_repository(example_repo, tmp_path) -> None:
    (example_repo / "contracts" / "acme" / "C-2026-0001.yaml").write_text("contract: [\n", encoding="utf-8")
    with pytest.raises(InvalidRepository):
        exporting.export(ws_of(example_repo), output=tmp_path / "x")
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- import

HEADER = "account,name,currency,contract,start,end,evergreen,billing,product,quantity,unit_price,per,billed_through"


def test_import_dry_run_plans_and_writes_nothing_then_imports(example_repo, tmp_path) -> None:
    csv = tmp_path / "legacy.csv"
    csv.write_text(
        HEADER + "\nwayne,Wayne Enterprises,EUR,LEG-1,2025-07-01,2026-06-30,,quarterly,PRO-SEAT,20,250.00,,\n",
        encoding="utf-8",
    )
    dry = importing.import_contracts(ws_of(example_repo), file=csv, dry_run=True)
    assert dry.written == () and dry.contracts == 1 and dry.message == ""
    assert [r["kind"] for r in dry.data["rows"]] == ["account", "contract"]
    assert not (example_repo / dry.files[0].path).exists()
    done = importing.import_contracts(ws_of(example_repo), file=csv)
    assert done.written == tuple(f.path for f in dry.files)
    assert all((example_repo / p).is_file() for p in done.written)
    assert checking.check(ws_of(example_repo)).ok


def test_import_refuses_every_bad_row_at_once(example_repo, tmp_path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(
        HEADER + "\nwayne,W,EUR,N-1,2026-01-01,2026-12-31,,annual,NO-SUCH,5,10.00,,\n"
        "wayne,W,EUR,N-2,2026-01-01,2025-12-31,,annual,PRO-SEAT,5,10.00,,\n",
        encoding="utf-8",
    )
    with pytest.raises(importing.ImportRefused) as e:
        importing.import_contracts(ws_of(example_repo), file=csv)
    assert {(d.line, d.code) for d in e.value.diagnostics} == {(2, "E-UNKNOWN-PRODUCT"), (3, "E-DATES")}
    assert not (example_repo / "contracts" / "wayne").exists()
    csv.write_bytes(HEADER.encode() + b"\nw\xe9\n")
    with pytest.raises(CpqError) as bad:
        importing.read_csv(csv)
    assert bad.value.code == "E-IMPORT-ENCODING" and ":2:" in bad.value.message


# --------------------------------------------------------------------------- diff


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_diff_of_a_price_change_in_the_working_tree(example_repo) -> None:
    def git(*args):
        subprocess.run(
            ["git", "-C", str(example_repo), "-c", "user.email=t@t", "-c", "user.name=t", *args],
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "base")
    same = diffing.diff(ws_of(example_repo), rev="HEAD")
    assert not same.arr_changed and same.data["contracts"] == [] and same.data["to"] == "working tree"
    assert "No change to contracts, quotes or invoices." in same.markdown
    # remove a contract in the working tree: its ARR on the day goes from the totals
    path = example_repo / "contracts" / "acme" / "C-2026-0001.yaml"
    arr = accounts.contract_show(ws_of(example_repo, date(2026, 6, 30)), contract="C-2026-0001").data["arr"]
    path.unlink()
    gone = diffing.diff(ws_of(example_repo), rev="HEAD", as_of=date(2026, 6, 30))
    (c,) = gone.data["contracts"]
    assert (c["contract"], c["change"], c["arr_before"], c["arr_after"]) == ("C-2026-0001", "removed", arr, "0.00")
    assert gone.arr_changed
    with pytest.raises(UsageError) as e:
        diffing.diff(ws_of(example_repo), rev="no-such-branch")
    assert e.value.code == "E-GIT"


# --------------------------------------------------------------------------- reports


def test_arr_report_equals_the_cli_json(example_repo, cli) -> None:
    result = reports.arr(ws_of(example_repo, date(2026, 11, 28)), by="family")
    run = cli("report", "arr", "--by", "family", "--format", "json", "--as-of", "2026-11-28", "--repo", example_repo)
    assert run.code == 0 and json.loads(run.stdout) == json.loads(json.dumps(result.data))
    assert result.warning is None and result.data["rows"]
    # the company total is 12 × the MRR total, each rounded on its own
    assert abs(Decimal(result.data["arr"]) - Decimal(result.data["mrr"]) * 12) <= Decimal("0.06")


def test_movements_reconcile_and_months_chain(example_repo) -> None:
    ws = ws_of(example_repo)
    whole = reports.movements(ws, start=date(2026, 1, 1), end=date(2026, 11, 1)).data
    start, end = Decimal(whole["mrr_start"]), Decimal(whole["mrr_end"])
    moved = sum(Decimal(whole[k]) for k in ("new", "expansion", "reactivation")) - sum(
        Decimal(whole[k]) for k in ("contraction", "churn")
    )
    assert start + moved == end
    monthly = reports.movements_by_month(ws, start=date(2026, 1, 1), end=date(2026, 11, 1))
    assert monthly.rows[0]["mrr_start"] == whole["mrr_start"] and monthly.rows[-1]["mrr_end"] == whole["mrr_end"]
    for before, after in zip(monthly.rows, monthly.rows[1:]):
        assert before["mrr_end"] == after["mrr_start"]
    assert Decimal(monthly.footer["net"]) == end - start
    with pytest.raises(CpqError):
        reports.movements(ws, start=date(2026, 12, 31), end=date(2026, 1, 1))


def test_a_broken_repository_reports_with_a_warning_but_the_board_document_is_refused(example_repo, tmp_path) -> None:
    (example_repo / "contracts" / "acme" / "C-2026-0001.yaml").write_text("contract: [\n", encoding="utf-8")
    ws = ws_of(example_repo, date(2026, 12, 31))
    assert "1 error(s)" in reports.arr(ws).warning
    with pytest.raises(InvalidRepository):
        reports.write_board(ws, fmt="md", output=tmp_path / "board.md")
    assert not (tmp_path / "board.md").exists()


def test_board_markdown_writes_its_charts_next_to_it(example_repo, cli, tmp_path) -> None:
    ws = ws_of(example_repo, date(2026, 12, 31))
    doc = reports.write_board(ws, fmt="md", output=tmp_path / "b.md", months=6)
    assert [p.name for p in doc.written] == ["b-arr.svg", "b-movements.svg", "b.md"]
    text = (tmp_path / "b.md").read_text(encoding="utf-8")
    assert "b-arr.svg" in text and (tmp_path / "b-arr.svg").read_text(encoding="utf-8").startswith("<svg")
    board = reports.board(ws, months=6)
    run = cli("report", "board", "--months", "6", "--format", "json", "--as-of", "2026-12-31", "--repo", example_repo)
    assert json.loads(run.stdout) == json.loads(json.dumps(board.data))
    assert len(board.data["months"]) == 6


def test_ltv_takes_the_cac_given(example_repo) -> None:
    result = reports.ltv(ws_of(example_repo, date(2026, 11, 28)), cac=Decimal("15000.00"))
    assert result.data["cac"] == "15000.00"
    assert {r["metric"]: r["value"] for r in result.rows}["CAC"] == "15000.00"


# --------------------------------------------------------------------------- the reading commands


def test_contract_and_account_show_agree(example_repo, cli) -> None:
    ws = ws_of(example_repo)
    c = accounts.contract_show(ws, contract="C-2026-0001")
    run = cli("contract", "show", "C-2026-0001", "--format", "json", "--as-of", "2026-06-30", "--repo", example_repo)
    assert json.loads(run.stdout) == c.data and c.contract.account == "acme"
    a = accounts.account_show(ws, account="acme")
    mine = [x for x in a.data["contracts"] if x["contract"] == "C-2026-0001"]
    assert mine and mine[0]["arr"] == c.data["arr"]
    total = sum(Decimal(x["mrr"]) for x in a.data["contracts"])
    assert abs(Decimal(a.data["mrr"]) - total) <= Decimal("0.01") * len(a.data["contracts"])
    with pytest.raises(CpqError) as e:
        accounts.contract_show(ws, contract="C-2026-001")
    assert e.value.code == "E-UNKNOWN-CONTRACT" and "C-2026-0001" in e.value.hint


def test_account_render_writes_the_statement(example_repo) -> None:
    result = accounts.account_render(ws_of(example_repo), account="acme", fmt="md")
    assert result.path == example_repo / "out" / "acme.md" and result.message == f"wrote {result.path}"
    assert "acme" in result.path.read_text(encoding="utf-8").lower()
    with pytest.raises(CpqError) as e:
        accounts.account_render(ws_of(example_repo), account="acmee", fmt="md")
    assert e.value.code == "E-UNKNOWN-ACCOUNT"


def test_catalog_list_and_show(example_repo, cli) -> None:
    ws = ws_of(example_repo)
    listed = accounts.catalog_list(ws)
    codes = [r["code"] for r in listed.rows]
    assert codes == sorted(codes) and "PRO-SEAT" in codes
    run = cli("catalog", "list", "--format", "json", "--repo", example_repo)
    assert json.loads(run.stdout) == listed.data
    shown = accounts.catalog_show(ws, code="PRO-SEAT")
    assert shown.data["code"] == "PRO-SEAT" and shown.title.startswith("PRO-SEAT — ")
    assert all(r["value"] for r in shown.rows)
    with pytest.raises(CpqError) as e:
        accounts.catalog_show(ws, code="PRO-SEATS")
    assert e.value.code == "E-UNKNOWN-PRODUCT"


# --------------------------------------------------------------------------- check, schemas, init


def test_check_counts_errors_and_warnings(example_repo) -> None:
    clean = checking.check(ws_of(example_repo))
    assert clean.ok and clean.diagnostics == () and clean.message == ""
    (example_repo / "contracts" / "acme" / "C-2026-0001.yaml").write_text("contract: [\n", encoding="utf-8")
    broken = checking.check(ws_of(example_repo))
    assert not broken.ok and broken.errors >= 1
    assert broken.message == f"{broken.errors} error(s), {broken.warnings} warning(s)"
    assert any(d.file.endswith("C-2026-0001.yaml") for d in broken.diagnostics)


def test_schemas_written_then_stale(tmp_path) -> None:
    written = checking.write_schemas(tmp_path / "schemas")
    assert sorted(p.name for p in written) == sorted(f"{k}.schema.json" for k in checking.SCHEMA_KINDS)
    checking.check_schemas(tmp_path / "schemas")  # fresh: no refusal
    (tmp_path / "schemas" / "quote.schema.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CpqError) as e:
        checking.check_schemas(tmp_path / "schemas")
    assert e.value.code == "E-SCHEMA-STALE" and "quote.schema.json" in e.value.message
    assert json.loads(checking.schema_text("contract")) == checking.schemas_document()["contract.schema.json"]
    with pytest.raises(UsageError):
        checking.schema_text("invoices")


def test_init_creates_a_clean_repository_and_keeps_what_is_there(tmp_path) -> None:
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / ".gitignore").write_text("*.pyc", encoding="utf-8")
    result = initialising.init(folder, name="Example", currency="EUR", locale="de_DE")
    assert result.root == folder.resolve()
    assert set(result.written) == {
        "cpq.toml",
        "catalog/products.yaml",
        "contracts/.gitkeep",
        "quotes/.gitkeep",
        "invoices/.gitkeep",
        ".gitignore",
        *(f"schemas/{n}" for n in checking.schema_texts()),  # issue 18: the editor's schemas, offline
        ".vscode/settings.json",  # and their mapping, so that no signed file needs a modeline
    }
    assert (folder / ".gitignore").read_text(
        encoding="utf-8"
    ) == "*.pyc\n.cpq/\n*.cpqtmp*\n"  # issue 13: temp files ignored too
    assert "EUR: 600.00" in (folder / "catalog" / "products.yaml").read_text(encoding="utf-8")
    assert checking.check(Workspace.open(folder)).ok
    with pytest.raises(CpqError) as e:
        initialising.init(folder)
    assert e.value.code == "E-EXISTS"
    with pytest.raises(UsageError):
        initialising.init(tmp_path / "other", currency="euro")
    assert not (tmp_path / "other").exists()


def test_catalog_show_reads_as_words_not_python(example_repo, cli) -> None:
    """Issue 18: `catalog show BUNDLE` printed Python reprs (`required: True`); flags read yes/no, one option a line."""
    run = cli("catalog", "show", "PLATFORM", "--format", "csv", "--repo", example_repo)
    assert run.code == 0, run.stderr
    assert "True" not in run.stdout and "False" not in run.stdout
    assert "product: PRO-SEAT, min: 5, max: 1000, required: yes, included: no\n" in run.stdout
