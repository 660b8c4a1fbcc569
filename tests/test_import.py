"""`cpqctl import contracts FILE.csv`: a spreadsheet export into account and contract files (docs/import.md).

A good CSV imports into a copy of the example repo and leaves `cpqctl check`
clean; a bad one reports every bad row with its number and changes no file.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

HEADER = "account,name,currency,contract,start,end,evergreen,billing,product,quantity,unit_price,per,billed_through"

GOOD = (
    HEADER
    + """
wayne,Wayne Enterprises,EUR,LEG-1,2025-07-01,2026-06-30,,quarterly,PRO-SEAT,20,250.00,,
wayne,Wayne Enterprises,EUR,LEG-1,2025-07-01,2026-06-30,,quarterly,SSO,2,100.00,,
wayne,Wayne Enterprises,EUR,LEG-2,2025-09-01,,true,monthly,API-CALLS-PLAN,1,200.00,,
acme,ACME Sp. z o.o.,PLN,LEG-3,2026-01-01,2026-12-31,false,annual,PRO-SEAT,10,1100.00,year,2026-06-30
"""
)

# one problem per row (row numbers: header = 1), plus an extra column in the header
BAD = (
    HEADER
    + """,notes
wayne,Wayne,EUR,NEW-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,5,"12,50",,,
wayne,Wayne,EUR,NEW-2,2026-01-01,2026-12-31,,annual,NO-SUCH,5,10.00,,,
wayne,Wayne,EUR,NEW-3,2026-01-01,2025-12-31,,annual,PRO-SEAT,5,10.00,,,
wayne,Wayne,EUR,../x,2026-01-01,2026-12-31,,annual,PRO-SEAT,5,10.00,,,
acme,ACME Sp. z o.o.,EUR,NEW-4,2026-01-01,2026-12-31,,annual,PRO-SEAT,5,10.00,,,
acme,ACME Sp. z o.o.,PLN,C-2026-0001,2026-01-01,2026-12-31,,annual,PRO-SEAT,5,10.00,,,
"""
)
BAD_EXPECTED = {
    (1, "E-IMPORT-COLUMN", 14),
    (2, "E-NUMBER", 11),
    (3, "E-UNKNOWN-PRODUCT", 9),
    (4, "E-DATES", 6),
    (5, "E-ID", 4),
    (6, "E-CURRENCY-MISMATCH", 3),
    (7, "E-CONTRACT-EXISTS", 4),
}


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file's bytes (outside .cpq/, cpqctl's own lock and cache)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.relative_to(root).parts
    }


def write_csv(tmp_path: Path, text: str, name: str = "legacy.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- a good import


def test_a_good_csv_imports_and_check_is_clean(cli, example_repo, tmp_path) -> None:
    csv_file = write_csv(tmp_path, GOOD)
    run = cli("import", "contracts", csv_file, "--repo", example_repo, "--format", "json")
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["dry_run"] is False
    assert [(r["file"], r["kind"], r["contract"], r["lines"]) for r in data["rows"]] == [
        ("contracts/wayne/account.yaml", "account", None, None),
        ("contracts/wayne/LEG-1.yaml", "contract", "LEG-1", 2),
        ("contracts/wayne/LEG-2.yaml", "contract", "LEG-2", 1),
        ("contracts/acme/LEG-3.yaml", "contract", "LEG-3", 1),
    ]
    assert "imported 3 contract(s)" in run.stderr
    check = cli("check", "--repo", example_repo)
    assert check.code == 0 and check.stdout == "", check.stdout


def test_contract_show_owns_what_the_csv_says(cli, example_repo, tmp_path) -> None:
    assert cli("import", "contracts", write_csv(tmp_path, GOOD), "--repo", example_repo).code == 0

    def show(cid: str, day: str) -> dict:
        run = cli("contract", "show", cid, "--repo", example_repo, "--as-of", day, "--format", "json")
        assert run.code == 0, run.stderr
        return json.loads(run.stdout)

    leg1 = show("LEG-1", "2026-03-01")
    assert (leg1["account"], leg1["currency"], leg1["start"], leg1["end"]) == (
        "wayne",
        "EUR",
        "2025-07-01",
        "2026-06-30",
    )
    assert [(o["product"], o["quantity"], o["mrr"]) for o in leg1["owned"]] == [
        ("PRO-SEAT", "20", "416.67"),
        ("SSO", "2", "200.00"),
    ]
    assert leg1["billing"] == "quarterly"
    leg2 = show("LEG-2", "2030-01-01")
    assert leg2["evergreen"] is True and leg2["end"] is None and leg2["status"] == "active"
    assert [(o["product"], o["quantity"], o["mrr"]) for o in leg2["owned"]] == [("API-CALLS-PLAN", "1", "200.00")]
    leg3 = show("LEG-3", "2026-06-30")
    assert [(o["product"], o["quantity"], o["mrr"]) for o in leg3["owned"]] == [("PRO-SEAT", "10", "916.67")]
    assert show("LEG-3", "2027-01-01")["status"] == "ended"


def test_the_files_are_in_the_spec_formats(cli, example_repo, tmp_path) -> None:
    assert cli("import", "contracts", write_csv(tmp_path, GOOD), "--repo", example_repo).code == 0
    assert (example_repo / "contracts/wayne/LEG-1.yaml").read_text(encoding="utf-8") == textwrap.dedent("""\
        # LEG-1: imported by `cpqctl import contracts` (amendments are appended below)
        contract: LEG-1
        account: wayne
        currency: EUR
        start: 2025-07-01
        end: 2026-06-30
        billing: {frequency: quarterly}
        proration: monthly+daily
        rounding: half-up
        lines:
          - {product: PRO-SEAT, quantity: 20, unit_price: 250.00, per: year, start: 2025-07-01, end: 2026-06-30}
          - {product: SSO, quantity: 2, unit_price: 100.00, per: month, start: 2025-07-01, end: 2026-06-30}
        """)
    evergreen = (example_repo / "contracts/wayne/LEG-2.yaml").read_text(encoding="utf-8")
    assert "evergreen: true\n" in evergreen and "\nend:" not in evergreen
    assert (
        "  - {product: API-CALLS-PLAN, quantity: 1, unit_price: 200.00, per: month, start: 2025-09-01}\n" in evergreen
    )
    leg3 = (example_repo / "contracts/acme/LEG-3.yaml").read_text(encoding="utf-8")
    assert "billed_through: 2026-06-30\n" in leg3
    assert "quote:" not in leg3 + evergreen and "signed:" not in leg3 + evergreen
    assert (
        (example_repo / "contracts/wayne/account.yaml")
        .read_text(encoding="utf-8")
        .endswith("account: wayne\nname: Wayne Enterprises\ncurrency: EUR\n")
    )


def test_proration_and_rounding_are_frozen_from_cpq_toml(cli, example_repo, tmp_path) -> None:
    toml = example_repo / "cpq.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8")
        .replace('proration = "monthly+daily"', 'proration = "daily"')
        .replace('rounding = "half-up"', 'rounding = "half-even"'),
        encoding="utf-8",
    )
    assert cli("import", "contracts", write_csv(tmp_path, GOOD), "--repo", example_repo).code == 0
    text = (example_repo / "contracts/acme/LEG-3.yaml").read_text(encoding="utf-8")
    assert "proration: daily\nrounding: half-even\n" in text


def test_one_time_block_and_bom(cli, example_repo, tmp_path) -> None:
    """A one-time line has a start only; a block product's line says pricing: block; a BOM is not a column."""
    text = (
        "\ufeff" + HEADER + "\nacme,ACME Sp. z o.o.,PLN,LEG-9,2026-01-01,2026-12-31,,annual,ONBOARDING,1,5000.00,,\n"
        "acme,ACME Sp. z o.o.,PLN,LEG-9,2026-01-01,2026-12-31,,annual,STORAGE-PACK,30,400.00,,\n"
    )
    run = cli("import", "contracts", write_csv(tmp_path, text), "--repo", example_repo)
    assert run.code == 0, run.stderr
    body = (example_repo / "contracts/acme/LEG-9.yaml").read_text(encoding="utf-8")
    assert "  - {product: ONBOARDING, quantity: 1, unit_price: 5000.00, start: 2026-01-01}\n" in body
    assert (
        "  - {product: STORAGE-PACK, pricing: block, quantity: 30, unit_price: 400.00, per: month, "
        "start: 2026-01-01, end: 2026-12-31}\n"
    ) in body
    assert cli("check", "--repo", example_repo).code == 0


# --------------------------------------------------------------------------- a bad import


def test_a_bad_csv_reports_every_row_and_changes_nothing(cli, example_repo, tmp_path) -> None:
    csv_file = write_csv(tmp_path, BAD)
    before = snapshot(example_repo)
    run = cli("import", "contracts", csv_file, "--repo", example_repo)
    assert run.code == 1
    assert run.stdout == ""
    assert snapshot(example_repo) == before
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith(str(csv_file))]
    found = {(int(ln[len(str(csv_file)) + 1 :].split(":")[0]), ln.split("error[")[1].split("]")[0]) for ln in lines}
    assert found == {(row, code) for row, code, _ in BAD_EXPECTED}
    assert f"{csv_file}:2: error[E-NUMBER]: `12,50` is not an amount of money (unit_price)" in run.stderr
    assert f"{csv_file}:1: error[E-IMPORT-COLUMN]: unknown column `notes`" in run.stderr
    assert "= hint:" in run.stderr and "nothing was imported" in run.stderr
    assert "Traceback" not in run.stderr


def test_bad_rows_as_check_style_json(cli, example_repo, tmp_path) -> None:
    csv_file = write_csv(tmp_path, BAD)
    before = snapshot(example_repo)
    run = cli("import", "contracts", csv_file, "--repo", example_repo, "--format", "json")
    assert run.code == 1
    diags = json.loads(run.stdout)["diagnostics"]
    assert {(d["line"], d["code"], d["column"]) for d in diags} == BAD_EXPECTED
    for d in diags:
        assert set(d) == {"code", "severity", "message", "file", "line", "column", "hint"}
        assert d["file"] == str(csv_file) and d["severity"] == "error" and d["hint"]
    assert snapshot(example_repo) == before


@pytest.mark.parametrize(
    "row,code,column",
    [
        ("wayne,W,EUR,N-1,2026-01-01,2026-12-31,,annual,ONBOARDING,1,10.00,year,", "E-SEGMENT-PER", "per"),
        ("wayne,W,EUR,N-1,2026-01-01,2026-12-31,,annual,API-CALLS-PLAN,1,10.00,,", "E-EVERGREEN-ONLY", "product"),
        ("wayne,W,EUR,N-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,0,10.00,,", "E-QUANTITY", "quantity"),
        ("wayne,W,EUR,N-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,1,-1.00,,", "E-NEGATIVE", "unit_price"),
        (
            "wayne,W,EUR,N-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,1,1.00,,2027-01-01",
            "E-BILLED-THROUGH",
            "billed_through",
        ),
        (
            "wayne,W,EUR,N-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,1,1.00,,2025-12-31",
            "E-BILLED-THROUGH",
            "billed_through",
        ),
        ("wayne,W,EUR,N-1,2026-01-01,,,annual,PRO-SEAT,1,1.00,,", "E-NO-END", "end"),
        ("wayne,W,EUR,N-1,2026-01-01,2026-12-31,true,monthly,PRO-SEAT,1,1.00,,", "E-EVERGREEN", "end"),
        ("wayne,W,EUR,N-1,2026-01-01,,true,upfront,PRO-SEAT,1,1.00,,", "E-BILLING", "billing"),
        ("wayne,W,EUR,N-1,2026-01-01,2026-12-31,yes,monthly,PRO-SEAT,1,1.00,,", "E-BOOL", "evergreen"),
        ("wayne,W,EUR,N-1,2026-02-30,2026-12-31,,annual,PRO-SEAT,1,1.00,,", "E-DATE", "start"),
        ("wayne,W,EUR,N-1,01/02/2026,2026-12-31,,annual,PRO-SEAT,1,1.00,,", "E-DATE", "start"),
        ("wayne,W,EUR,N-1,2026-01-01,2026-12-31,,weekly,PRO-SEAT,1,1.00,,", "E-ENUM", "billing"),
        ("wayne,W,eur,N-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,1,1.00,,", "E-CURRENCY", "currency"),
        ("wayne,W,EUR,N-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,1.5e3,1.00,,", "E-NUMBER", "quantity"),
        ('wayne,W,EUR,N-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,1,"1,200.00",,', "E-NUMBER", "unit_price"),
        ("wayne,,EUR,N-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,1,1.00,,", "E-REQUIRED", "name"),
        ("acme,ACME S.A.,PLN,N-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,1,1.00,,", "E-ACCOUNT-MISMATCH", "name"),
        ("wayne,W,EUR,N-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,1,1.00,,,surplus", "E-IMPORT-CELLS", "account"),
    ],
)
def test_each_rule_names_its_row_and_column(example_repo, row, code, column) -> None:
    from cpqctl.formats import importer
    from cpqctl.load.repo import load_repo

    loaded, _ = load_repo(example_repo)
    good = "other,Other,EUR,OK-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,1,1.00,,"
    plan = importer.plan(f"{HEADER}\n{good}\n{row}\n", loaded)
    assert plan.files == ()
    assert [(e.row, e.code, e.index) for e in plan.errors] == [(3, code, HEADER.split(",").index(column) + 1)]


def test_rows_of_one_contract_or_account_must_agree(example_repo) -> None:
    from cpqctl.formats import importer
    from cpqctl.load.repo import load_repo

    loaded, _ = load_repo(example_repo)
    text = (
        HEADER
        + """
wayne,Wayne,EUR,N-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,1,1.00,,
wayne,Wayne,EUR,N-1,2026-02-01,2026-12-31,false,annual,SSO,1,1.00,,
wayne,Wayne Inc,EUR,N-2,2026-01-01,2026-12-31,,annual,PRO-SEAT,1,1.00,,
"""
    )
    plan = importer.plan(text, loaded)
    assert [(e.row, e.code, e.column) for e in plan.errors] == [
        (3, "E-IMPORT-CONFLICT", "start"),
        (4, "E-IMPORT-CONFLICT", "name"),
    ]
    assert "on row 2" in plan.errors[0].message


def test_header_problems(example_repo) -> None:
    from cpqctl.formats import importer
    from cpqctl.load.repo import load_repo

    loaded, _ = load_repo(example_repo)
    missing = importer.plan("account,name,currency,contract,start,end,billing,product,quantity\nx\n", loaded)
    assert [(e.row, e.code, e.column) for e in missing.errors] == [(1, "E-IMPORT-HEADER", "unit_price")]
    assert importer.plan("", loaded).errors[0].code == "E-IMPORT-HEADER"
    assert importer.plan(HEADER + "\n\n", loaded).errors[0].code == "E-IMPORT-EMPTY"
    twice = importer.plan(HEADER + ",per\n", loaded)
    assert (1, "E-IMPORT-HEADER", 14) in {(e.row, e.code, e.index) for e in twice.errors}


def test_blank_rows_count_for_row_numbers(example_repo) -> None:
    from cpqctl.formats import importer
    from cpqctl.load.repo import load_repo

    loaded, _ = load_repo(example_repo)
    plan = importer.plan(HEADER + "\n\nwayne,W,EUR,N-1,2026-01-01,2026-12-31,,annual,NOPE,1,1.00,,\n", loaded)
    assert [(e.row, e.code) for e in plan.errors] == [(3, "E-UNKNOWN-PRODUCT")]


def test_optional_columns_may_be_left_out(cli, example_repo, tmp_path) -> None:
    text = (
        "account,name,currency,contract,start,end,billing,product,quantity,unit_price\n"
        "wayne,Wayne,EUR,N-1,2026-01-01,2026-12-31,annual,PRO-SEAT,3,280.00\n"
    )
    assert cli("import", "contracts", write_csv(tmp_path, text), "--repo", example_repo).code == 0
    assert "per: year" in (example_repo / "contracts/wayne/N-1.yaml").read_text(encoding="utf-8")


def test_not_utf8_is_refused(cli, example_repo, tmp_path) -> None:
    csv_file = tmp_path / "latin1.csv"
    csv_file.write_bytes(
        (HEADER + "\nw,Zoé,EUR,N-1,2026-01-01,2026-12-31,,annual,PRO-SEAT,1,1.00,,\n").encode("latin-1")
    )
    before = snapshot(example_repo)
    run = cli("import", "contracts", csv_file, "--repo", example_repo)
    assert run.code == 1 and "E-IMPORT-ENCODING" in run.stderr and ":2:" in run.stderr
    assert snapshot(example_repo) == before


def test_a_missing_file_is_a_usage_error(cli, example_repo, tmp_path) -> None:
    run = cli("import", "contracts", tmp_path / "nope.csv", "--repo", example_repo)
    assert run.code == 2 and "cannot read" in run.stderr


# --------------------------------------------------------------------------- dry run


def test_dry_run_writes_nothing(cli, example_repo, tmp_path) -> None:
    before = snapshot(example_repo)
    run = cli("import", "contracts", write_csv(tmp_path, GOOD), "--repo", example_repo, "--dry-run", "--format", "json")
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["dry_run"] is True
    assert [r["file"] for r in data["rows"]] == [
        "contracts/wayne/account.yaml",
        "contracts/wayne/LEG-1.yaml",
        "contracts/wayne/LEG-2.yaml",
        "contracts/acme/LEG-3.yaml",
    ]
    assert set(data["rows"][1]) == {"file", "kind", "account", "contract", "lines"}
    assert snapshot(example_repo) == before
    table = cli("import", "contracts", write_csv(tmp_path, GOOD), "--repo", example_repo, "--dry-run")
    assert table.code == 0 and "would create 4 file(s)" in table.stdout and "LEG-2" in table.stdout
    assert snapshot(example_repo) == before


def test_a_second_import_of_the_same_file_is_refused(cli, example_repo, tmp_path) -> None:
    csv_file = write_csv(tmp_path, GOOD)
    assert cli("import", "contracts", csv_file, "--repo", example_repo).code == 0
    before = snapshot(example_repo)
    run = cli("import", "contracts", csv_file, "--repo", example_repo)
    assert run.code == 1 and run.stderr.count("E-CONTRACT-EXISTS") == 3
    assert snapshot(example_repo) == before


# --------------------------------------------------------------------------- a big repository


def test_an_import_on_a_big_repository_reads_the_records_its_rows_name(
    cli, example_repo, tmp_path, monkeypatch
) -> None:
    """Over ``CPQ_CHUNK_FILES`` (here 8: the example is "big") the plan reads the catalog and the accounts and
    contracts the rows name (issue 21: the whole model of 50,000 accounts took 0.9 GB), and the new files are checked
    with their accounts' files: the same outputs and files as the whole repository's path, import after import — a
    good file, a bad one, the same file again, a dry run — and with a month closed."""
    import shutil

    from cpqctl.app import importing

    named = importing._named
    planned: list[Path] = []
    monkeypatch.setattr(importing, "_named", lambda ws, *a: planned.append(ws.root) or named(ws, *a))
    whole = Path(shutil.copytree(example_repo, tmp_path / "whole", ignore=shutil.ignore_patterns(".cpq")))
    later = HEADER + (
        "\nwayne,Wayne Enterprises,EUR,LATER-1,2026-12-01,2027-11-30,,quarterly,PRO-SEAT,5,250.00,,"
        "\nhooli,Hooli Polska Sp. z o.o.,PLN,LATER-2,2026-12-01,2027-11-30,,annual,SSO,1,100.00,,\n"
    )
    steps = [(GOOD, "--dry-run"), (GOOD, "--format"), (BAD, "--format"), (GOOD, "--format"), (later, "--format")]
    for n, (text, flag) in enumerate(steps):
        csv_file = write_csv(tmp_path, text, f"step-{n}.csv")
        extra = ("--dry-run",) if flag == "--dry-run" else ("--format", "json")
        got = [
            cli(
                "import",
                "contracts",
                csv_file,
                "--repo",
                root,
                "--as-of",
                "2026-12-05",
                *extra,
                env={"CPQ_CHUNK_FILES": size},
            )
            for root, size in ((example_repo, "8"), (whole, "100000000"))
        ]
        assert got[0] == got[1], n
        assert snapshot(example_repo) == snapshot(whole)
    assert [[f["file"] for f in json.loads(r.stdout)["rows"]] for r in got] == [
        ["contracts/wayne/LATER-1.yaml", "contracts/hooli/LATER-2.yaml"]
    ] * 2
    assert cli("check", "--repo", example_repo).code == 0
    # a month closed: new contracts carry no transaction of it (no invoice), as the whole check finds: the same
    # answer, the closed months' share of the accounts written to compared before and after
    for root in (example_repo, whole):
        assert cli("close", "2026-06", "--repo", root, "--as-of", "2026-12-05").code == 0
    back = GOOD.replace("LEG-", "BACK-").replace("wayne", "gotham")
    csv_file = write_csv(tmp_path, back, "back.csv")
    got = [
        cli("import", "contracts", csv_file, "--repo", root, "--as-of", "2026-12-05", env={"CPQ_CHUNK_FILES": size})
        for root, size in ((example_repo, "8"), (whole, "100000000"))
    ]
    assert got[0].code == 0 and got[0] == got[1]
    assert snapshot(example_repo) == snapshot(whole)
    assert cli("check", "--repo", example_repo).code == 0
    assert planned == [example_repo] * 6  # the big repository's plans on the named records; the other's, whole
