"""The whole contract lifecycle through the CLI, on a scratch copy of the example repo, in real git.

new quote → accept → up-sell → accept → renewal quote → accept, with
`contract show` / `account show` on dates before and after each step, and the
git diff of the contract after the amendment holding only added lines.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(root, *args) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


def owned(cli, root, contract, day) -> dict[str, str]:
    r = cli("contract", "show", contract, "--repo", root, "--as-of", day, "--format", "json")
    assert r.code == 0, r.stderr
    return {o["product"]: o["quantity"] for o in json.loads(r.stdout)["owned"]}


def test_quote_accept_upsell_renew_story(cli, example_repo):
    root = example_repo
    git(root, "init", "-q")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "example")

    # 1. a new-business quote for initech, accepted into a contract
    r = cli(
        "quote",
        "new",
        "--repo",
        root,
        "--as-of",
        "2026-12-01",
        "--account",
        "initech",
        "--start",
        "2027-01-01",
        "--term",
        "12",
        "--billing",
        "quarterly",
        "--line",
        "PRO-SEAT=10",
        "--line",
        "ONBOARDING=1",
        "--format",
        "json",
    )
    assert r.code == 0, r.stderr
    q1 = json.loads(r.stdout)
    assert q1["lines"][0]["net_unit_price"] == "1200.00" and q1["net_total"] == "17000.00"
    assert (
        cli("quote", "accept", q1["quote"], "--signed-by", "Bartosz", "--repo", root, "--as-of", "2026-12-05").code == 0
    )
    contract = "C-2027-0001"
    path = root / "contracts/initech" / f"{contract}.yaml"
    assert owned(cli, root, contract, "2026-12-31") == {}  # not started yet
    assert owned(cli, root, contract, "2027-01-01") == {"PRO-SEAT": "10"}
    git(root, "add", "-A")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "new contract")

    # 2. mid-term up-sell to 15 seats from 2027-04-16, accepted: +5 at the signed 1,200.00 for 0.710502 of a year
    r = cli(
        "amend",
        contract,
        "--effective",
        "2027-04-16",
        "--set",
        "PRO-SEAT=15",
        "--repo",
        root,
        "--as-of",
        "2027-04-10",
        "--format",
        "json",
    )
    assert r.code == 0, r.stderr
    a1 = json.loads(r.stdout)
    assert [(ln["quantity"], ln["prorate_multiplier"], ln["net_total"]) for ln in a1["lines"]] == [
        ("5", "0.710502", "4263.01")
    ]
    before = path.read_bytes()
    assert (
        cli("quote", "accept", a1["quote"], "--signed-by", "Bartosz", "--repo", root, "--as-of", "2027-04-10").code == 0
    )
    after = path.read_bytes()
    assert after.startswith(before)  # append-only ledger
    diff = git(root, "diff", "--unified=0", "--", str(path.relative_to(root)))
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert changed and all(ln.startswith("+") for ln in changed)
    assert owned(cli, root, contract, "2027-04-15") == {"PRO-SEAT": "10"}
    assert owned(cli, root, contract, "2027-04-16") == {"PRO-SEAT": "15"}

    # 3. the renewal quote: 15 seats from 2028-01-01, the example's cpq.toml renews with a 3% uplift
    r = cli("renew", contract, "--repo", root, "--as-of", "2027-11-01", "--format", "json")
    assert r.code == 0, r.stderr
    rq = json.loads(r.stdout)
    assert (rq["start"], rq["end"]) == ("2028-01-01", "2028-12-31")
    assert [(ln["product"], ln["quantity"], ln["net_unit_price"]) for ln in rq["lines"]] == [
        ("PRO-SEAT", "15", "1236.00")
    ]
    assert rq["net_total"] == "18540.00"
    assert (
        cli("quote", "accept", rq["quote"], "--signed-by", "Bartosz", "--repo", root, "--as-of", "2027-11-15").code == 0
    )
    successor = "C-2028-0001"
    assert f"renews: {contract}" in (root / "contracts/initech" / f"{successor}.yaml").read_text()
    assert owned(cli, root, successor, "2028-06-01") == {"PRO-SEAT": "15"}
    assert owned(cli, root, contract, "2028-06-01") == {}

    # the customer's view before and after the renewal
    acct = json.loads(
        cli("account", "show", "initech", "--repo", root, "--as-of", "2027-06-01", "--format", "json").stdout
    )
    # initech also holds the example's C-2026-0007 (ARR 14,739.30, ending 2027-09-30)
    assert acct["arr"] == "32739.30" and acct["next_renewal"] == "2027-09-30"
    acct = json.loads(
        cli("account", "show", "initech", "--repo", root, "--as-of", "2028-06-01", "--format", "json").stdout
    )
    assert acct["arr"] == "18540.00" and acct["next_renewal"] == "2028-12-31"
    shown = json.loads(
        cli("contract", "show", contract, "--repo", root, "--as-of", "2028-01-01", "--format", "json").stdout
    )
    assert shown["status"] == "ended" and shown["renewed_by"] == successor
    assert cli("check", "--repo", root).code == 0
