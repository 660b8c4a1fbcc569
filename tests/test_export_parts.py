"""`cpqctl export` of a big repository is made one part at a time (issue 21: the whole model and every row took
1.2 GB at 50,000 accounts with a year of invoices): each part's rows kept on disk and merged in each table's order
when written (:func:`cpqctl.app.exporting._in_parts`). The CSV files and the SQLite database are byte for byte the
whole read's; a renewal of a contract in another part (its predecessor's `successor` column) makes the whole
repository answer.

The repository is the example invoiced monthly through 2026 (conftest's ``year``): a renewal (initech's
C-2026-0007 renews C-2025-0003), a correction, two currencies."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import age, copy_repo

SMALL = "8"  # about one account a part
WHOLE = "100000000"
DAY = "2026-12-15"


@pytest.fixture(scope="module")
def repo(year: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_repo(year, tmp_path_factory.mktemp("export") / "repo")
    age(root)
    return root


def _both(cli, root: Path, tmp_path: Path, *args: str) -> tuple[Path, Path]:
    suffix = ".sqlite" if "sqlite" in args else ""
    whole, parts = tmp_path / f"whole{suffix}", tmp_path / f"parts{suffix}"
    a = cli("export", *args, "-o", whole, "--repo", root, "--as-of", DAY, env={"CPQ_CHUNK_FILES": WHOLE})
    b = cli("export", *args, "-o", parts, "--repo", root, "--as-of", DAY, env={"CPQ_CHUNK_FILES": SMALL})
    assert a.code == 0, a.stderr
    assert (b.code, b.stdout.replace(str(parts), str(whole))) == (a.code, a.stdout)
    return whole, parts


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_csv_export_in_parts_is_the_whole_export(repo, cli, parted, tmp_path) -> None:
    whole, parts = _both(cli, repo, tmp_path)
    assert _files(parts) == _files(whole)
    assert parted == [False, True]
    contracts = (whole / "contracts.csv").read_text(encoding="utf-8")
    assert "C-2025-0003,initech" in contracts and ",C-2026-0007," in contracts  # the successor column, filled
    assert len((whole / "invoice_lines.csv").read_text(encoding="utf-8").splitlines()) > 40


def test_the_sqlite_export_in_parts_is_the_whole_export(repo, cli, parted, tmp_path) -> None:
    whole, parts = _both(cli, repo, tmp_path, "--to", "sqlite", "--format", "json")
    assert parts.read_bytes() == whole.read_bytes()
    assert parted == [False, True]
    db = sqlite3.connect(parts)
    try:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("SELECT count(*) FROM invoices").fetchone()[0] >= 30
    finally:
        db.close()


def test_a_renewal_of_another_parts_contract_is_read_whole(repo, cli, parted, tmp_path) -> None:
    """C-2026-0007 made a renewal of acme's C-2026-0001: acme's part would not know its successor."""
    root = copy_repo(repo, tmp_path / "across")
    f = root / "contracts" / "initech" / "C-2026-0007.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("renews: C-2025-0003", "renews: C-2026-0001"), "utf-8")
    age(root)
    whole, parts = _both(cli, root, tmp_path)
    assert _files(parts) == _files(whole)
    assert parted == [False, False]
    assert "C-2026-0001,acme" in (whole / "contracts.csv").read_text(encoding="utf-8")
