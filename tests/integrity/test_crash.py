"""Issue 13, crash edges: a write killed at any moment leaves the repository as it was before or after, never
between; every command (read-only ones and `check` included) repairs an interrupted write before it reads, and
`check` says so (W-REPAIRED); no temp file is ever something git would add.

The kills are real: the real `cpqctl` command runs in a subprocess and dies by SIGKILL at its N-th durable step
of the commit protocol (the test hook ``CPQ_TEST_KILL_AT=N`` of cpqctl/store.py, inert unless set), N drawn at
random from a fixed seed over every step the command takes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import UsageError
from tests.conftest import PROJECT, copy_example

AS_OF = "2026-05-01"
SEED = 13
KILLS_PER_COMMAND = 20  # 60 kills in all


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the repository (outside .git/ and .cpq/, the lock and caches), by relative path."""
    out = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not (Path(folder) == root and d in (".git", ".cpq"))]
        for name in files:
            path = Path(folder) / name
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def git(root: Path, *args: str) -> str:
    env = dict(
        os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@x"
    )
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True, env=env).stdout


def git_would_add(root: Path) -> list[str]:
    """What `git add -A` would stage: changed and untracked files, ignored ones left out."""
    return [line[3:] for line in git(root, "status", "--porcelain", "--untracked-files=all").splitlines()]


def cpqctl(root: Path, *args: str, kill_at: int | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPQ_")}
    env.update(CPQ_REPO=str(root), CPQ_AS_OF=AS_OF, NO_COLOR="1", PYTHONPATH=str(PROJECT))
    if kill_at is not None:
        env["CPQ_TEST_KILL_AT"] = str(kill_at)
    return subprocess.run(
        [sys.executable, "-m", "cpqctl", *args], env=env, capture_output=True, text=True, timeout=60, cwd=root
    )


@pytest.fixture(scope="module")
def drafts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example repository under git (with the project's .gitignore), holding a new-business draft
    (Q-2026-0001) and an amendment draft of C-2026-0001 (Q-2026-0002)."""
    root = tmp_path_factory.mktemp("crash") / "repo"
    copy_example(root)
    shutil.copy2(PROJECT / ".gitignore", root / ".gitignore")
    assert cpqctl(root, "quote", "new", "-a", "acme", "--start", "2026-06-01", "-l", "PRO-SEAT=10").returncode == 0
    assert cpqctl(root, "amend", "C-2026-0001", "--effective", "2026-06-01", "--add", "SSO=1").returncode == 0
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "drafts")
    return root


_COMMITTED: dict[Path, dict[str, bytes]] = {}


def reset(root: Path) -> None:
    """Back to the committed state (as `git reset --hard && git clean -fdx`, faster), the journal gone, the parse
    cache kept."""
    committed = _COMMITTED.setdefault(root, snapshot(root) if not git_would_add(root) else {})
    assert committed, "the repository had changes before its first reset"
    for rel, data in snapshot(root).items():
        if committed.get(rel) != data:
            (root / rel).unlink()
    for rel, data in committed.items():
        path = root / rel
        if not path.exists():
            path.write_bytes(data)
    (root / ".cpq" / "journal.json").unlink(missing_ok=True)


def durable_steps(root: Path, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, probe=lambda: None) -> list:
    """The command's durable steps (run in-process, through the kill hook): ``probe()`` at each one."""
    import cpqctl.store as store
    from cpqctl.cli.main import app
    from tests.conftest import _runner

    seen: list = []
    monkeypatch.setattr(store, "_durable_step", lambda: seen.append(probe()))
    monkeypatch.setenv("CPQ_REPO", str(root))
    monkeypatch.setenv("CPQ_AS_OF", AS_OF)
    result = _runner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    monkeypatch.undo()
    return seen


COMMANDS = {
    "accept new business": ("quote", "accept", "Q-2026-0001", "--signed-by", "Anna Nowak"),
    "accept an amendment": ("quote", "accept", "Q-2026-0002", "--signed-by", "Anna Nowak"),
    "invoice run": ("invoice", "run", "--through", AS_OF),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_killed_write_is_before_or_after_never_between(name: str, drafts: Path, cli, monkeypatch) -> None:
    args = COMMANDS[name]
    root = drafts
    reset(root)
    before = snapshot(root)
    done = cpqctl(root, *args)
    assert done.returncode == 0, done.stderr
    after = snapshot(root)
    assert after != before
    reset(root)
    steps = len(durable_steps(root, args, monkeypatch))
    assert snapshot(root) == after  # in-process and subprocess runs write the same bytes
    assert steps >= 10

    rng = random.Random(f"{SEED}:{name}")
    points = rng.sample(range(1, steps + 1), min(KILLS_PER_COMMAND, steps))
    points += rng.choices(range(1, steps + 1), k=KILLS_PER_COMMAND - len(points))
    seen = {"completed": 0, "rolled back": 0, "no journal": 0}
    for n in points:
        reset(root)
        killed = cpqctl(root, *args, kill_at=n)
        assert killed.returncode == -signal.SIGKILL, (n, killed.returncode, killed.stderr)
        # whatever the crash left, git would add no temp file of it
        assert not [p for p in git_would_add(root) if ".cpqtmp" in p], n
        journal = root / ".cpq" / "journal.json"
        state = json.loads(journal.read_text())["state"] if journal.exists() else None
        run = cli("check", "--repo", root, "--as-of", AS_OF)
        assert run.code == 0, (n, run.stdout, run.stderr)
        state_now = snapshot(root)
        if state is None:  # killed before the journal was written, or after it was deleted
            seen["no journal"] += 1
            assert "W-REPAIRED" not in run.stdout
            assert state_now in (before, after), n
        else:
            assert "W-REPAIRED" in run.stdout, (n, run.stdout)
            if state == "commit":
                seen["completed"] += 1
                assert "an interrupted write was completed" in run.stdout
                assert state_now == after, n
            else:
                seen["rolled back"] += 1
                assert "an interrupted write was rolled back" in run.stdout
                assert state_now == before, n
        assert not journal.exists()
        assert not [p for p in state_now if ".cpqtmp" in p], n
    assert len(points) == KILLS_PER_COMMAND
    assert seen["completed"] and seen["rolled back"], seen  # both ways of repair were exercised


ACCEPT_NEW = COMMANDS["accept new business"]


def kill_between_renames(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Accept the new-business quote and die after the quote is renamed into place, before its contract is."""
    reset(root)
    quote, contract = root / "quotes/Q-2026-0001.yaml", root / "contracts/acme/C-2026-0009.yaml"
    half = durable_steps(
        root, ACCEPT_NEW, monkeypatch, lambda: "accepted" in quote.read_text() and not contract.exists()
    )
    reset(root)
    killed = cpqctl(root, *ACCEPT_NEW, kill_at=half.index(True) + 1)
    assert killed.returncode == -signal.SIGKILL
    assert "status: accepted" in quote.read_text() and not contract.exists()  # the state the issue found


def test_read_only_commands_never_show_a_half_applied_write(drafts: Path, cli, monkeypatch) -> None:
    """The finding: after a kill between the two renames of `quote accept`, `quote show` and `check` showed an
    accepted quote without its contract and said clean. Now the first reader completes the write."""
    kill_between_renames(drafts, monkeypatch)
    assert (drafts / ".cpq/journal.json").exists()
    run = cli("quote", "show", "Q-2026-0001", "--repo", drafts, "--as-of", AS_OF)
    assert run.code == 0, run.stderr
    assert (drafts / "contracts/acme/C-2026-0009.yaml").exists()  # completed by a read-only command
    assert not (drafts / ".cpq/journal.json").exists()

    kill_between_renames(drafts, monkeypatch)
    run = cli("check", "--repo", drafts, "--format", "json", "--as-of", AS_OF)
    found = json.loads(run.stdout)["diagnostics"]
    assert {(d["code"], d["severity"], d["file"], d["line"]) for d in found} == {
        ("W-REPAIRED", "warning", "quotes/Q-2026-0001.yaml", 1),
        ("W-REPAIRED", "warning", "contracts/acme/C-2026-0009.yaml", 1),
    }
    assert run.code == 0
    assert cli("check", "--repo", drafts, "--as-of", AS_OF).stdout == ""  # repaired once, reported once


def test_a_repository_that_cannot_be_written_is_refused_not_shown_half_written(drafts: Path, cli, monkeypatch) -> None:
    """A read-only checkout holding a journal: no command reads it; the refusal says why and what to do."""
    import cpqctl.store as store

    kill_between_renames(drafts, monkeypatch)

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self.cpq_dir / "lock"))

    monkeypatch.setattr(store.Store, "recover", denied)
    for args in (("check",), ("quote", "show", "Q-2026-0001"), ("account", "show", "acme")):
        run = cli(*args, "--repo", drafts, "--as-of", AS_OF)
        assert run.code == 2, (args, run.stdout, run.stderr)
        assert ".cpq/journal.json:1:1: error[E-INTERRUPTED-WRITE]" in run.stderr
        assert "Permission denied" in run.stderr and "hint:" in run.stderr
        assert run.stdout == ""
    with pytest.raises(UsageError) as refused:
        Workspace.open(drafts).quote("Q-2026-0001")
    assert refused.value.code == "E-INTERRUPTED-WRITE"
    monkeypatch.undo()
    assert "W-REPAIRED" in cli("check", "--repo", drafts, "--as-of", AS_OF).stdout  # writable again: repaired


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_a_read_only_checkout_is_refused(drafts: Path, cli, monkeypatch) -> None:
    kill_between_renames(drafts, monkeypatch)
    folders = [Path(f) for f, _, _ in os.walk(drafts) if ".git" not in Path(f).parts]
    for f in folders:
        f.chmod(0o555)
    try:
        run = cli("check", "--repo", drafts, "--as-of", AS_OF)
        assert run.code == 2 and "E-INTERRUPTED-WRITE" in run.stderr, run.stderr
    finally:
        for f in folders:
            f.chmod(0o755)


def test_temp_files_are_git_ignored_in_a_new_repository(tmp_path: Path, cli) -> None:
    """The finding: `git add invoices/` staged the temp files a crash left. Every temp name cpqctl makes ends in
    .cpqtmp, which the .gitignore of `cpqctl init` (and the project's) ignores."""
    from cpqctl.store import TEMP_RE, TEMP_SUFFIX, _temp_path

    root = tmp_path / "new"
    assert cli("init", root).code == 0
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    leftovers = [
        _temp_path(root / "invoices" / "INV-2026-0001.yaml"),  # a transaction's
        root / "out" / f".Q-1.pdf.123-4{TEMP_SUFFIX}",  # replace_file's (documents, caches)
        root / f".export.abc{TEMP_SUFFIX}",  # an export's folder
        root / f".cpq-export.sqlite.abc{TEMP_SUFFIX}-journal",  # SQLite's journal of an export's temp
        root / "quotes" / ".Q-2026-0001.yaml.cpqtmp-999-1",  # a transaction's, as earlier versions named it
    ]
    for p in leftovers:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("half\n")
    assert TEMP_RE.fullmatch(leftovers[0].name) and TEMP_RE.fullmatch(leftovers[-1].name)
    assert git_would_add(root) == []
    git(root, "add", "invoices/", "quotes/")  # what the issue did
    assert git(root, "diff", "--cached", "--name-only") == ""
    ignore = (PROJECT / ".gitignore").read_text().splitlines()
    assert "*.cpqtmp*" in ignore and ".cpq/" in ignore
