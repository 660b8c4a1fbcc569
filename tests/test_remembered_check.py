"""`cpqctl check` remembers its findings with the state of every file it reads (cpqctl/load/remembered.py,
issue 21): a warm check with nothing changed does not load the repository, and any change to what the loader
reads — an edited, added, deleted or renamed file, one rewritten keeping its size and mtime, a new folder or
link — gives exactly what a cold check gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import age, copy_repo

BROKEN_INVOICE = "invoice: INV-2026-0099\naccount: acme\n"


def _check(cli, root: Path) -> tuple[int, str]:
    run = cli("check", "--format", "json", "--repo", root)
    return run.code, run.stdout


def _cold(cli, root: Path, tmp_path: Path) -> tuple[int, str]:
    """The same repository checked from nothing: a copy without .cpq/."""
    copy = copy_repo(root, tmp_path / "cold")
    code, out = _check(cli, copy)
    return code, out.replace(str(copy), str(root))


def _same_size_same_mtime(path: Path) -> None:
    st = path.stat()
    text = path.read_text(encoding="utf-8")
    changed = text.replace("PL5260001200", "PL5260001201")  # the same length, a bad NIP checksum
    assert changed != text and len(changed) == len(text)
    path.write_text(changed, encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


CHANGES = {
    "edit": lambda r: (r / "contracts/acme/account.yaml").write_text(
        (r / "contracts/acme/account.yaml").read_text(encoding="utf-8").replace("currency: PLN", "currency: PLNX"),
        encoding="utf-8",
    ),
    "same size and mtime": lambda r: _same_size_same_mtime(r / "contracts/acme/account.yaml"),
    "add": lambda r: (
        (r / "invoices").mkdir(exist_ok=True),
        (r / "invoices/INV-2026-0099.yaml").write_text(BROKEN_INVOICE),
    ),
    "delete": lambda r: (r / "contracts/globex/account.yaml").unlink(),
    "rename": lambda r: (r / "contracts/hooli/C-2026-0005.yaml").rename(r / "contracts/hooli/C-2026-0099.yaml"),
    "cpq.toml": lambda r: (r / "cpq.toml").write_text(
        (r / "cpq.toml").read_text(encoding="utf-8").replace('rate = "23%"', 'rate = "230%"'), encoding="utf-8"
    ),
    "fx table": lambda r: (r / "fx/EUR.yaml").write_text(
        (r / "fx/EUR.yaml")
        .read_text(encoding="utf-8")
        .replace("2026-12-04: {rate: 4.2231", "2026-12-05: {rate: 4.2231"),
        encoding="utf-8",
    ),
    "a folder": lambda r: (
        (r / "contracts/newco").mkdir(),
        (r / "contracts/newco/C-2026-0042.yaml").write_text("x: 1\n"),
    ),
    "a link": lambda r: (r / "contracts/acme/C-2026-0100.yaml").symlink_to(r / "contracts/acme/C-2026-0001.yaml"),
    "templates": lambda r: ((r / "templates").mkdir(), (r / "templates/x.md.j2").symlink_to("/etc/hostname")),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_is_checked_again(example_repo, cli, tmp_path, change) -> None:
    age(example_repo)
    first = _check(cli, example_repo)
    assert first == (0, '{\n  "diagnostics": []\n}\n') and (example_repo / ".cpq/cache/check.json").is_file()
    CHANGES[change](example_repo)
    warm = _check(cli, example_repo)
    assert warm == _cold(cli, example_repo, tmp_path)
    assert warm != first  # every change above is a finding
    age(example_repo)
    assert _check(cli, example_repo) == warm  # and is remembered in turn
    assert (example_repo / ".cpq/cache/check.json").read_text().count('"code"') == warm[1].count('"code"')


def test_nothing_changed_loads_nothing(example_repo, cli, monkeypatch) -> None:
    from cpqctl.app import workspace

    age(example_repo)
    first = _check(cli, example_repo)

    def no_load(self):
        raise AssertionError("the repository was loaded")

    monkeypatch.setattr(workspace.Workspace, "load_checked", no_load)
    assert _check(cli, example_repo) == first
    (example_repo / "quotes").mkdir(exist_ok=True)  # a new (empty) folder the loader lists: loaded again
    with pytest.raises(AssertionError, match="loaded"):
        from cpqctl.app.workspace import Workspace

        Workspace(example_repo).check()


def test_a_file_changed_just_now_is_not_remembered(example_repo, cli) -> None:
    """A write in the same tick of the file system's clock, keeping the size, would look unchanged: a check
    within 2 s of a change runs again next time."""
    age(example_repo)
    (example_repo / "contracts/acme/account.yaml").touch()
    _check(cli, example_repo)
    assert not (example_repo / ".cpq/cache/check.json").exists()
    age(example_repo)
    _check(cli, example_repo)
    assert (example_repo / ".cpq/cache/check.json").exists()


def test_a_damaged_or_unwritable_memory_is_no_error(example_repo, cli) -> None:
    age(example_repo)
    first = _check(cli, example_repo)
    memory = example_repo / ".cpq/cache/check.json"
    memory.write_text("{not json")
    assert _check(cli, example_repo) == first
    memory.unlink()
    memory.mkdir()  # a folder where the file goes
    assert _check(cli, example_repo) == first


@pytest.mark.parametrize("count", [0, 1, 999, 1000, 2501])
def test_remembered_findings_are_written_in_chunks_that_read_back_whole(tmp_path, count) -> None:
    """`check`'s findings are written a thousand at a time (114,000 warnings at 50,000 accounts at once were
    180 MB) and read back as the list they were."""
    from cpqctl.core.diagnostics import Diagnostic
    from cpqctl.load import remembered

    diags = [
        Diagnostic(f"f{i}.yaml", i, 1, "W-X", f"żółw {i}", "", "warning" if i % 3 else "error") for i in range(count)
    ]
    remembered.remember(tmp_path, "key", diags, newest=0, started=10**19)
    assert remembered.recall(tmp_path, "key") == diags
    assert remembered.recall_errors(tmp_path, "key") == [d for d in diags if d.severity == "error"]
    assert remembered.recall(tmp_path, "other") is None
