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


def test_a_big_repository_compares_what_changed_alone_and_says_what_the_whole_comparison_says(
    cli, history, tmp_path, monkeypatch
):
    """Over ``CPQ_CHUNK_FILES`` (here 8) `diff` reads the files that differ between the two sides from git's objects
    and the working tree's totals a part at a time (issue 21: two whole models held 2 GB at 50,000 accounts). Along a
    history touching several accounts, quotes, invoices, a new account in a new currency, a removed contract and
    changes not committed, every pair of sides gives the whole comparison's JSON and Markdown; a change of cpq.toml
    takes the whole comparison."""
    from cpqctl.app import diffing

    root = history
    run = ("--repo", root, "--as-of", "2026-12-15")
    assert cli("invoice", "run", "--repo", root, "--as-of", "2026-12-01").code == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "december invoiced")
    csv = tmp_path / "new.csv"
    csv.write_text(
        "account,name,currency,contract,start,end,evergreen,billing,product,quantity,unit_price,per,billed_through\n"
        "gotham,Gotham Ltd,USD,LEG-1,2026-07-01,2027-06-30,,monthly,PRO-SEAT,7,30.00,,\n"
        "gotham,Gotham Ltd,USD,LEG-2,2026-07-01,2027-06-30,,monthly,SSO,1,10.00,,\n",
        encoding="utf-8",
    )
    assert cli("import", "contracts", csv, *run).code == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "gotham imported")
    git(root, "rm", "-q", "contracts/gotham/LEG-2.yaml")
    git(root, "commit", "-qm", "LEG-2 removed")
    new = cli("quote", "new", "--account", "hooli", "--start", "2027-01-01", "--line", "PRO-SEAT=3", *run)
    assert new.code == 0, new.stderr  # not committed: the working tree differs
    amended = cli("amend", "C-2026-0001", "--effective", "2026-12-20", "--add", "SSO=1", *run)
    assert amended.code == 0, amended.stderr
    quote = amended.stderr.split("quotes/")[1].split(".yaml")[0]
    assert cli("quote", "accept", quote, "--signed-by", "Anna", *run).code == 0  # acme's contract, not committed
    touched: list[bool] = []
    real = diffing._touched
    monkeypatch.setattr(diffing, "_touched", lambda *a: touched.append((got := real(*a)) is not None) or got)
    pairs = [("HEAD~4", "HEAD~3"), ("HEAD~3", "HEAD~1"), ("HEAD~4", None), ("HEAD~1", "HEAD"), ("HEAD", None)]
    pairs += [("HEAD~2", "HEAD~4"), ("HEAD~1", None)]
    for a, b in pairs:
        for fmt in ("json", "md"):
            args = ("diff", a, *([b] if b else []), *run, "--format", fmt)
            parts = cli(*args, env={"CPQ_CHUNK_FILES": "8"})
            whole = cli(*args, env={"CPQ_CHUNK_FILES": "100000000"})
            assert parts.code == 0, parts.stderr
            assert (parts.code, parts.stdout, parts.stderr) == (whole.code, whole.stdout, whole.stderr), (a, b, fmt)
    assert touched == [True, False] * len(pairs) * 2
    doc = json.loads(cli("diff", "HEAD~4", *run, "--format", "json", env={"CPQ_CHUNK_FILES": "8"}).stdout)
    assert {x["currency"] for x in doc["arr"]} >= {"PLN", "USD"} and doc["invoices_issued"] and doc["quotes"]
    assert {c["change"] for c in doc["contracts"]} >= {"added", "amended"}
    # a revision holding a broken file the working tree no longer holds (a payment: no entry of the document reads
    # it) is refused as the whole comparison refuses it
    broken = root / "payments" / "2026-12" / "PAY-2026-0001.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_text("payment: [PAY-2026-0001\n", encoding="utf-8")
    git(root, "add", str(broken))
    git(root, "commit", "-qm", "a broken payment")
    git(root, "rm", "-q", str(broken))
    git(root, "commit", "-qm", "removed")
    touched.clear()
    for args in (("diff", "HEAD~1", "HEAD", *run), ("diff", "HEAD~1", *run)):
        parts = cli(*args, env={"CPQ_CHUNK_FILES": "8"})
        whole = cli(*args, env={"CPQ_CHUNK_FILES": "100000000"})
        assert parts.code == 1 and "E-INVALID-REPO" in parts.stderr and "PAY-2026-0001" in parts.stderr
        assert (parts.code, parts.stdout, parts.stderr) == (whole.code, whole.stdout, whole.stderr)
    assert touched == [False, False]  # the big runs refused from the files that differ; the others, whole
    # the settings and the catalog changed (each side's contracts valued with its own settings), committed and not;
    # a template changed: the whole comparison (the loader reads templates)
    toml = root / "cpq.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    catalog = sorted((root / "catalog").glob("*.yaml"))[0]
    catalog.write_text(catalog.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    git(root, "commit", "-qam", "settings and catalog commented")
    toml.write_text(toml.read_text(encoding="utf-8").replace("# a comment", "# another comment"), encoding="utf-8")
    touched.clear()
    for a, b in (("HEAD~3", "HEAD"), ("HEAD~1", None), ("HEAD~1", "HEAD")):
        args = ("diff", a, *([b] if b else []), *run, "--format", "json")
        parts = cli(*args, env={"CPQ_CHUNK_FILES": "8"})
        whole = cli(*args, env={"CPQ_CHUNK_FILES": "100000000"})
        assert parts.code == 0, parts.stderr
        assert (parts.stdout, parts.stderr) == (whole.stdout, whole.stderr)
    assert touched == [True, False] * 3
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates" / "README").write_text("local templates\n", encoding="utf-8")
    touched.clear()
    assert cli("diff", "HEAD", *run, env={"CPQ_CHUNK_FILES": "8"}).code == 0 and touched == [False]
