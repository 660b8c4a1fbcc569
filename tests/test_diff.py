"""`cpqctl diff` in a real git repository: commit, amend, commit, diff the two commits."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(root, *args) -> str:
    return subprocess.run(
        ["git", "-C", str(root), "-c", "user.email=t@t", "-c", "user.name=t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def history(cli, example_repo):
    """The example repo committed, then acme's up-sell (+5 seats from 2026-12-01) accepted and committed."""
    root = example_repo
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    r = cli(
        "amend",
        "C-2026-0001",
        "--effective",
        "2026-12-01",
        "--set",
        "PRO-SEAT=60",
        "--repo",
        root,
        "--as-of",
        "2026-11-28",
        "--format",
        "json",
    )
    assert r.code == 0, r.stderr
    q = json.loads(r.stdout)["quote"]
    assert cli("quote", "accept", q, "--signed-by", "Anna", "--repo", root, "--as-of", "2026-11-28").code == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "acme up-sell")
    return root


def test_diff_of_two_commits_shows_the_upsell(cli, history):
    """+5 seats at 1,080.00/yr for December: value +450.00; ARR on 2026-12-15 +5,400.00 (acme, PLN)."""
    r = cli("diff", "HEAD~1", "HEAD", "--repo", history, "--as-of", "2026-12-15", "--format", "json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    (c,) = doc["contracts"]
    assert (c["contract"], c["change"], c["amendments"], c["value_delta"]) == (
        "C-2026-0001",
        "amended",
        ["A-3"],
        "450.00",
    )
    assert (c["arr_before"], c["arr_after"], c["arr_delta"]) == ("64800.00", "70200.00", "5400.00")
    assert [(a["account"], a["arr_delta"]) for a in doc["accounts"]] == [("acme", "5400.00")]
    pln = next(x for x in doc["arr"] if x["currency"] == "PLN")
    assert pln["arr_delta"] == "5400.00" and doc["arr_changed"] is True
    assert [(q["kind"], q["change"], q["status_after"]) for q in doc["quotes"]] == [("amendment", "added", "accepted")]


def test_exit_code_gates_on_arr(cli, history):
    assert cli("diff", "HEAD~1", "HEAD", "--repo", history, "--as-of", "2026-12-15", "--exit-code").code == 1
    # the working tree equals HEAD: nothing changes
    r = cli("diff", "HEAD", "--repo", history, "--as-of", "2026-12-15", "--exit-code", "--format", "md")
    assert r.code == 0 and "No change to contracts, quotes or invoices." in r.stdout


def test_markdown_for_a_pull_request(cli, history):
    r = cli("diff", "HEAD~1", "HEAD", "--repo", history, "--as-of", "2026-12-15", "--format", "md")
    assert r.code == 0
    assert (
        "| PLN | " in r.stdout and "| C-2026-0001 | acme | amended (A-3) | 450.00 | 64800.00 | 70200.00 |" in r.stdout
    )


def test_unknown_revision_is_a_usage_error(cli, history):
    r = cli("diff", "no-such-branch", "--repo", history)
    assert r.code == 2 and "E-GIT" in r.stderr and "Traceback" not in r.stderr
