"""store.py: atomic transactions, crash recovery, the repo lock and ID allocation.

Everything runs on real files in ``tmp_path``; concurrency and crashes use
real child processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cpqctl.store import LockTimeout, StaleFile, Store, next_id, sha256_file

PROJECT = Path(__file__).resolve().parents[1]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root outside .cpq/, by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != ".cpq"
    }


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".cpqtmp" in p.name]


def child(code: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "quotes").mkdir()
    (tmp_path / "quotes" / "Q-2026-0001.yaml").write_bytes(b"quote: Q-2026-0001\r\nold: \xe9\n")
    (tmp_path / "catalog.yaml").write_text("products: []\n", encoding="utf-8")
    return tmp_path


# -- transactions ---------------------------------------------------------


def test_commit_writes_exact_bytes_and_creates_folders(repo: Path) -> None:
    store = Store(repo)
    text = 'account: łódź-sp\nnote: "€ 5"\nno-final-newline'
    with store.lock(), store.transaction() as txn:
        txn.write("catalog.yaml", "products: [PRO]\n")
        txn.create("contracts/acme/C-2026-0001.yaml", text)
    assert (repo / "catalog.yaml").read_bytes() == b"products: [PRO]\n"
    assert (repo / "contracts/acme/C-2026-0001.yaml").read_bytes() == text.encode("utf-8")
    assert temp_files(repo) == []
    assert not (repo / ".cpq/journal.json").exists()


def test_lock_creates_git_ignored_cpq_dir(tmp_path: Path) -> None:
    with Store(tmp_path).lock():
        pass
    assert (tmp_path / ".cpq/.gitignore").read_text() == "*\n"
    assert (tmp_path / ".cpq/lock").exists()


def test_exception_inside_transaction_changes_nothing(repo: Path) -> None:
    before = snapshot(repo)
    store = Store(repo)
    with pytest.raises(ZeroDivisionError), store.lock(), store.transaction() as txn:
        txn.write("catalog.yaml", "products: [X]\n")
        txn.append("quotes/Q-2026-0001.yaml", "more: 1\n")
        txn.create("quotes/Q-2026-0002.yaml", "quote: Q-2026-0002\n")
        1 / 0
    assert snapshot(repo) == before
    assert temp_files(repo) == []
    assert not (repo / ".cpq/journal.json").exists()


def test_create_on_existing_file_fails_and_writes_nothing(repo: Path) -> None:
    before = snapshot(repo)
    store = Store(repo)
    with pytest.raises(FileExistsError), store.lock(), store.transaction() as txn:
        txn.write("catalog.yaml", "products: [X]\n")
        txn.create("quotes/new.yaml", "new\n")
        txn.create("quotes/Q-2026-0001.yaml", "clobbered\n")
    assert snapshot(repo) == before
    assert temp_files(repo) == []


def test_append_keeps_old_bytes_identical(repo: Path) -> None:
    old = (repo / "quotes/Q-2026-0001.yaml").read_bytes()
    store = Store(repo)
    with store.lock(), store.transaction() as txn:
        txn.append("quotes/Q-2026-0001.yaml", "sent:\n  - {to: ana@example.com}\n")
    assert (repo / "quotes/Q-2026-0001.yaml").read_bytes() == old + b"sent:\n  - {to: ana@example.com}\n"


def test_append_to_missing_file_fails(repo: Path) -> None:
    store = Store(repo)
    with pytest.raises(FileNotFoundError), store.lock(), store.transaction() as txn:
        txn.append("quotes/nope.yaml", "x\n")
    assert not (repo / "quotes/nope.yaml").exists()


def test_operations_on_one_path_apply_in_order(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.lock(), store.transaction() as txn:
        txn.create("ledger.yaml", "a\n")
        txn.append("ledger.yaml", "b\n")
    assert (tmp_path / "ledger.yaml").read_text() == "a\nb\n"


def test_expect_sha256_matching_writes(repo: Path) -> None:
    digest = sha256_file(repo / "catalog.yaml")
    assert digest == hashlib.sha256(b"products: []\n").hexdigest()
    store = Store(repo)
    with store.lock(), store.transaction() as txn:
        txn.write("catalog.yaml", "products: [A]\n", expect_sha256=digest)
    assert (repo / "catalog.yaml").read_text() == "products: [A]\n"


def test_expect_sha256_mismatch_is_stale_and_writes_nothing(repo: Path) -> None:
    digest = sha256_file(repo / "quotes/Q-2026-0001.yaml")
    (repo / "quotes/Q-2026-0001.yaml").write_text("edited by someone else\n")
    before = snapshot(repo)
    store = Store(repo)
    with pytest.raises(StaleFile), store.lock(), store.transaction() as txn:
        txn.write("catalog.yaml", "products: [A]\n")
        txn.append("quotes/Q-2026-0001.yaml", "more\n", expect_sha256=digest)
    assert snapshot(repo) == before
    assert temp_files(repo) == []


def test_expect_sha256_of_a_deleted_file_is_stale(repo: Path) -> None:
    digest = sha256_file(repo / "catalog.yaml")
    (repo / "catalog.yaml").unlink()
    store = Store(repo)
    with pytest.raises(StaleFile), store.lock(), store.transaction() as txn:
        txn.write("catalog.yaml", "x\n", expect_sha256=digest)
    assert not (repo / "catalog.yaml").exists()


def test_sha256_file_of_missing_file_is_none(tmp_path: Path) -> None:
    assert sha256_file(tmp_path / "missing.yaml") is None


def test_replace_keeps_file_mode(repo: Path) -> None:
    os.chmod(repo / "catalog.yaml", 0o640)
    store = Store(repo)
    with store.lock(), store.transaction() as txn:
        txn.write("catalog.yaml", "products: [A]\n")
    assert (repo / "catalog.yaml").stat().st_mode & 0o777 == 0o640


def test_transaction_requires_the_lock(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        Store(tmp_path).transaction()


@pytest.mark.parametrize("bad", ["../outside.yaml", "/etc/passwd", "a/../../b.yaml", ""])
def test_paths_outside_the_repo_are_refused(tmp_path: Path, bad: str) -> None:
    store = Store(tmp_path / "repo")
    with pytest.raises(ValueError), store.lock(), store.transaction() as txn:
        txn.write(bad, "x\n")
    assert not (tmp_path / "outside.yaml").exists()


def test_lock_is_reentrant(tmp_path: Path) -> None:
    store = Store(tmp_path, lock_timeout=0.2)
    with store.lock():
        with store.lock(), store.transaction() as txn:
            txn.write("a.yaml", "a\n")
        assert store.locked
    assert not store.locked
    assert (tmp_path / "a.yaml").read_text() == "a\n"


# -- recovery -------------------------------------------------------------


def write_journal(root: Path, state: str, pairs: list[tuple[str, str]]) -> None:
    (root / ".cpq").mkdir(exist_ok=True)
    body = {"version": 1, "state": state, "files": [{"tmp": t, "target": g} for t, g in pairs]}
    (root / ".cpq/journal.json").write_text(json.dumps(body))


def test_recovery_rolls_a_committed_journal_forward(repo: Path) -> None:
    """A crash after the journal and the first rename, before the second."""
    (repo / "contracts/acme").mkdir(parents=True)
    # already renamed by the crashed run: its tmp is gone, the target is new
    (repo / "quotes/Q-2026-0001.yaml").write_text("status: accepted\n")
    # not yet renamed: the tmp is still there
    (repo / "contracts/acme/.C-2026-0001.yaml.cpqtmp-999-2").write_text("contract: C-2026-0001\n")
    write_journal(
        repo,
        "commit",
        [
            ("quotes/.Q-2026-0001.yaml.cpqtmp-999-1", "quotes/Q-2026-0001.yaml"),
            ("contracts/acme/.C-2026-0001.yaml.cpqtmp-999-2", "contracts/acme/C-2026-0001.yaml"),
        ],
    )
    with Store(repo).lock():
        assert (repo / "quotes/Q-2026-0001.yaml").read_text() == "status: accepted\n"
        assert (repo / "contracts/acme/C-2026-0001.yaml").read_text() == "contract: C-2026-0001\n"
        assert temp_files(repo) == []
        assert not (repo / ".cpq/journal.json").exists()


CORRUPT_JOURNALS = [
    '{"version": 1, "state": "commit", "files": [{"tmp": "quotes/.Q-2026-0001.yaml.cpq',  # cut off
    "",
    "[1, 2]",
    # a journal that would move a temp file onto another folder's file is not trusted
    '{"version": 1, "state": "commit", "files": [{"tmp": "quotes/.Q-2026-0001.yaml.cpqtmp-999-1", "target": "catalog.yaml"}]}',
]
STAGING_JOURNAL = (
    '{"version": 1, "state": "staging", "files": '
    '[{"tmp": "quotes/.Q-2026-0001.yaml.cpqtmp-999-1", "target": "quotes/Q-2026-0001.yaml"}]}'
)


@pytest.mark.parametrize(
    ("journal", "all_temps_removed"), [(j, True) for j in CORRUPT_JOURNALS] + [(STAGING_JOURNAL, False)]
)
def test_recovery_rolls_an_incomplete_journal_back(repo: Path, journal: str, all_temps_removed: bool) -> None:
    """A corrupt journal: every cpqctl temp file goes; a staging one: its own temps go."""
    before = snapshot(repo)
    (repo / "quotes/.Q-2026-0001.yaml.cpqtmp-999-1").write_text("half\n")
    (repo / "deep/er").mkdir(parents=True)
    (repo / "deep/er/.x.yaml.cpqtmp-999-7").write_text("half\n")
    (repo / ".cpq").mkdir()
    (repo / ".cpq/journal.json").write_text(journal)
    Store(repo).recover()
    assert not (repo / "quotes/.Q-2026-0001.yaml.cpqtmp-999-1").exists()
    assert (repo / "deep/er/.x.yaml.cpqtmp-999-7").exists() is not all_temps_removed
    assert not (repo / ".cpq/journal.json").exists()
    after = {k: v for k, v in snapshot(repo).items() if ".cpqtmp" not in k}
    assert after == before


def test_real_crash_between_renames_is_completed_by_the_next_command(repo: Path) -> None:
    """A child process dies (os._exit) right after the first of two renames."""
    proc = child(f"""
        import os
        from cpqctl.store import Store
        real_replace = os.replace
        renames = []
        def dying_replace(src, dst):
            real_replace(src, dst)
            if ".cpqtmp" in os.fspath(src) and "journal" not in os.fspath(dst):
                renames.append(dst)
                if len(renames) == 1:
                    os._exit(9)
        os.replace = dying_replace
        store = Store({str(repo)!r})
        with store.lock(), store.transaction() as txn:
            txn.write("quotes/Q-2026-0001.yaml", "status: accepted\\n")
            txn.create("contracts/acme/C-2026-0001.yaml", "contract: C-2026-0001\\n")
    """)
    proc.communicate(timeout=20)
    assert proc.returncode == 9
    assert (repo / ".cpq/journal.json").exists()
    assert len(temp_files(repo)) == 1
    with Store(repo).lock():
        pass
    assert (repo / "quotes/Q-2026-0001.yaml").read_text() == "status: accepted\n"
    assert (repo / "contracts/acme/C-2026-0001.yaml").read_text() == "contract: C-2026-0001\n"
    assert temp_files(repo) == []
    assert not (repo / ".cpq/journal.json").exists()


# -- the lock across processes -----------------------------------------------


def test_concurrent_processes_allocate_unique_gapless_ids(tmp_path: Path) -> None:
    code = f"""
        from cpqctl.store import Store
        store = Store({str(tmp_path)!r})
        for _ in range(5):
            store.allocate_and_create("quotes", "Q-{{year}}-{{seq:04d}}", 2026, lambda i: f"quote: {{i}}\\n")
    """
    workers = [child(code) for _ in range(8)]
    for w in workers:
        _, err = w.communicate(timeout=60)
        assert w.returncode == 0, err
    files = sorted((tmp_path / "quotes").iterdir())
    assert [f.name for f in files] == [f"Q-2026-{n:04d}.yaml" for n in range(1, 41)]
    assert all(f.read_text() == f"quote: {f.stem}\n" for f in files)


def test_lock_timeout_when_another_process_holds_the_lock(tmp_path: Path) -> None:
    holder = child(f"""
        import sys, time
        from cpqctl.store import Store
        with Store({str(tmp_path)!r}).lock():
            print("locked", flush=True)
            time.sleep(30)
    """)
    try:
        assert holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        with (
            pytest.raises(LockTimeout, match=r"locked by another cpqctl command \(\.cpq/lock\); waited 0\.5 s"),
            Store(tmp_path, lock_timeout=0.5).lock(),
        ):
            pass
        assert 0.45 <= time.monotonic() - start < 1.5
    finally:
        holder.kill()
        holder.communicate()
    with Store(tmp_path, lock_timeout=2).lock():  # released when the holder dies
        pass


# -- ID allocation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "existing", "expected"),
    [
        ("Q-{year}-{seq:04d}", [], "Q-2026-0001"),
        ("Q-{year}-{seq:04d}", ["Q-2026-0001", "Q-2026-0002"], "Q-2026-0003"),
        ("Q-{year}-{seq:04d}", ["Q-2026-0001", "Q-2026-0007"], "Q-2026-0008"),  # gaps are not reused
        ("Q-{year}-{seq:04d}", ["Q-2025-0042", "Q-2026-0003"], "Q-2026-0004"),  # other years ignored
        ("Q-{year}-{seq:04d}", ["Q-2025-0042"], "Q-2026-0001"),
        ("Q-{year}-{seq:04d}", ["C-2026-0009", "Q-2026-0002.bak", "Q-2026-00x5"], "Q-2026-0001"),
        ("Q-{year}-{seq:04d}", ["Q-2026-9999"], "Q-2026-10000"),
        ("Q-{year}-{seq:04d}", ["Q-2026-10000", "Q-2026-0002"], "Q-2026-10001"),
        ("INV/{year}/{seq}", ["INV/2026/9", "INV/2026/12", "INV/2027/50"], "INV/2026/13"),
        ("q.{year}.{seq:03d}", ["qx2026x005", "q.2026.004"], "q.2026.005"),  # dots are literal
        ("{year}{seq:04d}", ["20260009", "20250010"], "20260010"),  # no separator
        ("Q-{seq:05d}", ["Q-00004", "Q-2026-0009"], "Q-00005"),  # no year: one sequence
    ],
)
def test_next_id(pattern: str, existing: list[str], expected: str) -> None:
    assert next_id(pattern, 2026, existing) == expected


@pytest.mark.parametrize("pattern", ["Q-{year}", "Q-{year}-{n:04d}"])
def test_next_id_rejects_patterns_without_seq(pattern: str) -> None:
    with pytest.raises(ValueError):
        next_id(pattern, 2026, [])


def test_allocate_and_create_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "quotes").mkdir()
    (tmp_path / "quotes/Q-2026-0004.yaml").write_text("x\n")
    (tmp_path / "quotes/Q-2026-0009.yml").write_text("not yaml suffix\n")
    (tmp_path / "quotes/Q-2025-0010.yaml").write_text("last year\n")
    store = Store(tmp_path)
    assert store.allocate_and_create("quotes", "Q-{year}-{seq:04d}", 2026, lambda i: f"quote: {i}\n") == "Q-2026-0005"
    assert (tmp_path / "quotes/Q-2026-0005.yaml").read_text() == "quote: Q-2026-0005\n"
    assert store.allocate_and_create("invoices", "INV-{year}-{seq:04d}", 2026, lambda i: "") == "INV-2026-0001"
    assert (tmp_path / "invoices/INV-2026-0001.yaml").read_bytes() == b""
