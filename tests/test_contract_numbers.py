"""A new contract's number on a big repository (issue 21): the remembered index of every account folder's contract
names (:func:`cpqctl.load.ids.contract_index`), the lock file's token, and the child process that lists the folders
while the command starts (:mod:`cpqctl.load.forked`, :mod:`cpqctl.cli.entry`).

Whatever the index remembers and whatever the child answered, the number is the one a fresh listing of every
folder gives (the whole repository's path): each test compares with that.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cpqctl.app import quotes
from cpqctl.core.numbering import Sequences
from cpqctl.load import forked, ids
from cpqctl.store import Store
from tests.conftest import age, invoke

DAY = "2026-12-05"
PATTERN = "C-{year}-{seq:04d}"


def _fresh(root: Path) -> tuple[list[str], list[list]]:
    """Every contract ID by a plain listing, and the highest numbers of PATTERN: what the index must give."""
    every = sorted(
        p.stem
        for folder in (root / "contracts").iterdir()
        if folder.is_dir() and not folder.is_symlink() and ids.ID_RE.fullmatch(folder.name)
        for p in folder.glob("*.yaml")
        if p.name != "account.yaml" and p.is_file() and not p.is_symlink() and ids.ID_RE.fullmatch(p.stem)
    )
    return every, Sequences(PATTERN, every).high_rows()


def _indexed(root: Path) -> tuple[list[str], list[list]]:
    got = ids.contract_index(root, (PATTERN,))
    assert got is not None
    return sorted(ids._every(got[0])), got[1][PATTERN]


def _aged(root: Path) -> None:
    """Every file and folder dated an hour back (a folder changed within 2 s is never remembered)."""
    age(root)
    past = os.stat(root / "contracts").st_mtime_ns - 3600 * 10**9
    for folder, _dirs, _files in os.walk(root / "contracts"):
        os.utime(folder, ns=(past, past), follow_symlinks=False)


def _contract(root: Path, account: str, cid: str) -> None:
    (root / "contracts" / account).mkdir(parents=True, exist_ok=True)
    (root / "contracts" / account / f"{cid}.yaml").write_text(f"contract: {cid}\n")


def test_the_index_gives_a_fresh_listing_s_answer_after_any_change(tmp_path: Path):
    """Random changes, each followed by the index with the folders' mtimes as they are (recent: listed again) and
    after time passed (aged: only a changed mtime tells): contracts added, removed (the highest too), renamed,
    folders added, removed and renamed, odd names, links, a file where a folder should be."""
    root = tmp_path / "repo"
    (root / "contracts").mkdir(parents=True)
    rng = random.Random(21)
    for a in range(6):
        for _ in range(3):
            _contract(root, f"acct-{a}", f"C-{rng.choice((2026, 2027))}-{rng.randrange(1, 60):04d}")
        (root / "contracts" / f"acct-{a}" / "account.yaml").write_text("account: x\n")
    for step in range(120):
        folders = sorted(p for p in (root / "contracts").iterdir() if p.is_dir() and not p.is_symlink())
        files = sorted(p for f in folders for p in f.glob("C-*.yaml"))
        op = rng.randrange(9)
        if op in (0, 1) or not files:
            _contract(root, rng.choice(folders).name if folders else "acct-0", f"C-2026-{rng.randrange(1, 99):04d}")
        elif op == 2:
            max(files, key=lambda p: p.stem).unlink()  # the highest number gone: counted again
        elif op == 3:
            rng.choice(files).unlink()
        elif op == 4:
            f = rng.choice(files)
            f.rename(f.with_name(f"C-2027-{rng.randrange(1, 99):04d}.yaml"))
        elif op == 5 and folders:
            f = rng.choice(folders)
            f.rename(f.with_name(f"acct-r{step}"))
        elif op == 6 and len(folders) > 2:
            shutil.rmtree(rng.choice(folders))
        elif op == 7:
            odd = root / "contracts" / rng.choice(("bad name", ".hidden", "ok"))
            odd.mkdir(exist_ok=True)
            (odd / "C-2026-0500.yaml").write_text("x")  # a folder that is no account ID: never counted
        else:
            target = rng.choice(files)
            link = root / "contracts" / "acct-0" / "C-2026-0900.yaml"
            link.parent.mkdir(exist_ok=True)
            if not link.exists() and not link.is_symlink():
                link.symlink_to(target)  # a link is no contract file
        assert _indexed(root) == _fresh(root), step
        if step % 3 == 0:
            _aged(root)
            assert _indexed(root) == _fresh(root), step
            assert _indexed(root) == _fresh(root), step  # remembered as it is now


def test_a_folder_changed_within_its_mtime_s_granularity_is_listed_again(tmp_path: Path, monkeypatch):
    """A folder indexed while recent is remembered with no mtime: a contract added within the same tick of a
    coarse clock (the folder's mtime unchanged) is seen once time has passed."""
    root = tmp_path / "repo"
    _contract(root, "acme", "C-2026-0001")
    folder = root / "contracts" / "acme"
    t = 1_800_000_000 * 10**9
    os.utime(folder, ns=(t, t))
    monkeypatch.setattr(ids.time, "time_ns", lambda: t + 10**9)  # one second after the folder changed
    assert _indexed(root) == (["C-2026-0001"], [[2026, None, None, 1]])
    _contract(root, "acme", "C-2026-0002")
    os.utime(folder, ns=(t, t))
    monkeypatch.setattr(ids.time, "time_ns", lambda: t + 60 * 10**9)
    assert _indexed(root) == (["C-2026-0001", "C-2026-0002"], [[2026, None, None, 2]])
    assert _indexed(root) == (["C-2026-0001", "C-2026-0002"], [[2026, None, None, 2]])


def test_a_damaged_or_forged_index_is_not_believed(tmp_path: Path):
    root = tmp_path / "repo"
    for a, cid in (("acme", "C-2026-0003"), ("hooli", "C-2026-0007")):
        _contract(root, a, cid)
    _aged(root)
    want = _fresh(root)
    assert _indexed(root) == want
    path = root / ids.CONTRACT_IDS
    head, _, body = path.read_bytes().partition(b"\n")
    record = json.loads(body)
    path.write_bytes(head + b"\n" + body.replace(b'"seq"', b'"seq"').replace(b"0007", b"0001"))  # digest wrong
    assert _indexed(root) == want
    # a file whose digest fits but whose content is not what the index writes (made by hand): never a crash;
    # one whose shape is wrong is rebuilt
    for bad, rebuilt in (
        ({**record, "high": {PATTERN: [[2026, None, None, "7"]]}}, True),
        ({**record, "names": ["acme"]}, True),
        ([], True),
        ({**record, "ids": [7, ["C-2026-0003"]]}, False),
        ({**record, "ids": [[7], [None]], "mtimes": [-1, -1]}, True),  # listed again (no mtime), counted again
    ):
        raw = json.dumps(bad).encode()
        path.write_bytes(ids.hashlib.sha256(raw).hexdigest().encode() + b"\n" + raw)
        got = _indexed(root)
        assert got[1] == want[1], bad
        assert (got == want) is rebuilt, bad
        ids.contract_ids(root)


def test_every_commit_writes_a_new_lock_token(tmp_path: Path):
    root = tmp_path / "repo"
    root.mkdir()
    store = Store(root)
    assert ids.lock_token(root) == ""
    seen = [""]
    for i in range(3):
        with store.lock(), store.transaction() as tx:
            tx.create(f"f{i}.txt", "x")
        token = ids.lock_token(root)
        assert re.fullmatch(r"[0-9a-f]{32}", token) and token not in seen
        seen.append(token)
    with store.lock():
        pass  # no commit: the token stays
    assert ids.lock_token(root) == seen[-1]


def _boom() -> None:
    raise RuntimeError("the child fails")


def _answer_then_note(path: str) -> forked.Later:
    return forked.Later({"answer": 1}, lambda: Path(path).write_text("after"))


def test_a_forked_child_answers_or_the_work_is_done_here(tmp_path: Path):
    with forked.Forked(sorted, [3, 1, 2], fork=True) as job:
        assert job.forked and job.result() == [1, 2, 3]
    with forked.Forked(_boom, fork=True) as job:
        assert job.answer() is None
    with forked.Forked(_boom, fork=True) as job, pytest.raises(RuntimeError):
        job.result()  # done here: the child's failure is this process's
    note = tmp_path / "note"
    with forked.Forked(_answer_then_note, str(note), fork=True) as job:
        assert job.answer() == {"answer": 1}
    forked._at_exit()  # what the child left for after its answer is done before this process leaves
    assert note.read_text() == "after"
    with forked.Forked(sorted, [2, 1], fork=False) as job:
        assert not job.forked and job.result() == [1, 2]


def test_no_child_is_forked_beside_another_thread():
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not forked.can_fork()
        forked.prefetch(("k",), sorted, [1])
        assert forked.take(("k",)) is None
    finally:
        stop.set()
        t.join()


class _Answered:
    """A child's answer, given as it is (what :meth:`forked.Forked.answer` returns)."""

    def __init__(self, state):
        self.state = state

    def answer(self):
        return self.state

    def close(self):
        pass


def test_an_answer_read_before_a_commit_is_not_used(generated: Path, tmp_path: Path):
    root = shutil.copytree(generated, tmp_path / "repo", ignore=shutil.ignore_patterns(".cpq"))
    pattern = "C-{year}-{seq:05d}"
    assert f'contract = "{pattern}"' in (root / "cpq.toml").read_text()
    ids.contract_high(root, pattern)  # the index remembers the pattern's highest numbers
    before = ids.contract_state(root)
    if isinstance(before, forked.Later):  # the folders are new: the index is written back after the answer
        before.then()
        before = before.value
    assert type(before) is dict and pattern in before["high"]
    # a commit adds a contract numbered past every other, in another account's folder
    high = max(ids.contract_high(root, pattern), key=lambda r: (r[0], r[3]))
    cid = f"C-{high[0]}-{high[3] + 5:05d}"
    store = Store(root)
    with store.lock(), store.transaction() as tx:
        tx.create(f"contracts/acct-00009/{cid}.yaml", f"contract: {cid}\n")
    job = quotes._ContractHigh(root, "Q-none")
    job.job = _Answered(before)  # the token it read is the one before the commit: listed again
    with store.lock():
        assert [high[0], None, None, high[3] + 5] in job.rows(pattern)
    # the same answer with the token of now is used as it is (here: a made-up one, to show it is what counts)
    job.job = _Answered({"token": ids.lock_token(root), "high": {pattern: [[2030, None, None, 1]]}})
    with store.lock():
        assert job.rows(pattern) == [[2030, None, None, 1]]
    for odd in (None, [], {"token": ids.lock_token(root)}, {"token": ids.lock_token(root), "high": {pattern: [1]}}):
        job.job = _Answered(odd)
        with store.lock():
            assert [high[0], None, None, high[3] + 5] in job.rows(pattern), odd


def test_the_console_script_lists_the_folders_while_it_starts(generated: Path, tmp_path: Path):
    """`cpqctl quote accept Q` run as a user runs it: the entry point forks the listing for Q's repository
    (its quote file named on the command line), the accept takes it; a contract put in another folder by hand
    just before (no commit: the token is the same) is still passed, as the folder's mtime changed."""
    root = shutil.copytree(generated, tmp_path / "repo", ignore=shutil.ignore_patterns(".cpq"))
    run = ("--as-of", DAY, "--repo", root)
    r = invoke("quote", "new", "--account", "acct-00004", "--start", "2026-12-20", "-l", "PRO-SEAT=1", *run)
    quote = re.search(r"wrote quotes/(\S+)\.yaml", r.stderr).group(1)
    assert invoke("check", "--repo", root).exit_code == 0  # the index remembered, then a contract by hand
    high = max(ids.contract_high(root, "C-{year}-{seq:05d}"), key=lambda r: (r[0], r[3]))
    assert high[0] == 2026
    by_hand = root / "contracts/acct-00007" / f"C-2026-{high[3] + 3:05d}.yaml"
    src = min((root / "contracts/acct-00007").glob("C-2026-*.yaml"))
    by_hand.write_text(src.read_text().replace(f"contract: {src.stem}", f"contract: {by_hand.stem}"))
    probe = (
        "import sys, json; from pathlib import Path; from cpqctl.cli import entry; from cpqctl.load import forked;"
        "entry._prefetch(sys.argv[1:]); print(json.dumps(sorted(map(list, forked._STARTED))))"
    )
    env = {k: v for k, v in os.environ.items() if k != "CPQ_REPO"}
    out = subprocess.run(
        [sys.executable, "-c", probe, "--no-color", "quote", "accept", quote, "--signed-by", "A", "--repo", str(root)],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout) == [["contract-state", str(root.resolve()), quote]]
    for args in (["quote", "show", quote], ["quote", "accept", "Q-nope"], ["quote", "accept", quote, "--repo", "/"]):
        out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, env=env, cwd=root)
        assert json.loads(out.stdout) == [], args
    done = subprocess.run(
        [sys.executable, "-m", "cpqctl", "quote", "accept", quote, "--signed-by", "Anna Nowak", *map(str, run)],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    created = re.search(r"created contracts/acct-00004/(\S+)\.yaml", done.stderr).group(1)
    assert created == f"C-2026-{high[3] + 4:05d}"
    assert invoke("check", "--repo", root).exit_code == 0
