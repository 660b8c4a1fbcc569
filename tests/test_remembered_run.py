"""`invoice run --dry-run` remembers its answer with the state of every file it reads (issues 15 and 21): asked
again with nothing changed it loads nothing, and any change — an edited, added, deleted or renamed file, one
rewritten keeping its size and mtime, cpq.toml — or another question (--through, --as-of, --account) gives
exactly what a cold run gives."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import age, copy_repo

MEMORY = ".cpq/cache/invoice-run.json"
CONTRACT = "contracts/acme/C-2026-0001.yaml"


def _run(cli, root: Path, *extra: str) -> tuple[int, str, str]:
    run = cli(
        "invoice", "run", "--through", "2026-12-31", "--dry-run", "--as-of", "2026-12-01", "--format", "json",
        "--repo", root, *extra,
    )  # fmt: skip
    return run.code, run.stdout, run.stderr


def _cold(cli, root: Path, tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    """The same question on a copy without .cpq/ (no parse cache, nothing remembered)."""
    copy = copy_repo(root, tmp_path / "cold")
    code, out, err = _run(cli, copy, *extra)
    return code, out.replace(str(copy), str(root)), err.replace(str(copy), str(root))


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _same_size_same_mtime(path: Path) -> None:
    st = path.stat()
    _replace(path, "quantity: 50,", "quantity: 51,")  # 50 → 51 seats: the same length
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


CHANGES = {
    "edit": lambda r: _replace(
        r / CONTRACT, "1080.00, per: year, start: 2026-01-01", "1090.00, per: year, start: 2026-01-01"
    ),
    "same size and mtime": lambda r: _same_size_same_mtime(r / CONTRACT),
    "add": lambda r: shutil.copy(r / CONTRACT, r / "contracts/acme/C-2026-0042.yaml"),  # a duplicate: refused
    "delete": lambda r: (r / "contracts/globex/C-2026-0003.yaml").unlink(),
    "rename": lambda r: (r / "contracts/hooli/C-2026-0005.yaml").rename(r / "contracts/hooli/C-2026-0099.yaml"),
    "cpq.toml": lambda r: _replace(r / "cpq.toml", 'rate = "23%"', 'rate = "8%"'),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_is_billed_again(example_repo, cli, tmp_path, change) -> None:
    age(example_repo)
    first = _run(cli, example_repo)
    assert first[0] == 0 and '"count": 0' not in first[1], first[2]
    assert (example_repo / MEMORY).is_file()
    CHANGES[change](example_repo)
    warm = _run(cli, example_repo)
    assert warm == _cold(cli, example_repo, tmp_path)
    assert warm != first  # every change above changes the answer
    age(example_repo)
    assert _run(cli, example_repo) == warm  # and is remembered in turn (or, refused, refused again)


def test_nothing_changed_loads_nothing(example_repo, cli, monkeypatch, tmp_path) -> None:
    from cpqctl.app import workspace

    age(example_repo)
    first = _run(cli, example_repo)

    def no_load(self, kinds=None):
        raise AssertionError("the repository was loaded")

    monkeypatch.setattr(workspace.Workspace, "read", no_load)
    assert _run(cli, example_repo) == first
    monkeypatch.undo()
    assert first == _cold(cli, example_repo, tmp_path)


@pytest.mark.parametrize(
    "question",
    [
        ("--through", "2026-06-30"),
        ("--as-of", "2026-06-30"),
        ("--account", "acme"),
        ("--contract", "C-2026-0001"),
    ],
)
def test_another_question_is_not_given_the_remembered_answer(example_repo, cli, tmp_path, question) -> None:
    age(example_repo)
    first = _run(cli, example_repo)
    other = _run(cli, example_repo, *question)  # the later option wins over _run's own
    assert other == _cold(cli, example_repo, tmp_path, *question) and other != first


def test_a_file_changed_just_now_is_not_remembered(example_repo, cli) -> None:
    age(example_repo)
    (example_repo / CONTRACT).touch()
    _run(cli, example_repo)
    assert not (example_repo / MEMORY).exists()
    age(example_repo)
    _run(cli, example_repo)
    assert (example_repo / MEMORY).exists()


def test_a_damaged_memory_is_no_error(example_repo, cli) -> None:
    age(example_repo)
    first = _run(cli, example_repo)
    memory = example_repo / MEMORY
    memory.write_text('{"format": 2, "key": "x", "value": {"head": {}, "invoices": 3}}')
    assert _run(cli, example_repo) == first
    memory.unlink()
    memory.mkdir()  # a folder where the file goes
    assert _run(cli, example_repo) == first


def test_a_writing_run_is_never_answered_from_memory(example_repo, cli) -> None:
    age(example_repo)
    dry = _run(cli, example_repo)
    real = cli("invoice", "run", "--through", "2026-12-31", "--as-of", "2026-12-01", "--format", "json",
               "--allow-future", "--repo", example_repo)  # fmt: skip
    assert real.code == 0 and real.stdout.count('"invoice": "INV-') == dry[1].count('"invoice": null')
    assert '"count": 0' in _run(cli, example_repo)[1]  # the ledger now holds them: nothing left to invoice
