"""Teamwork in real git (issue 14, docs/teamwork.md): branches that never collide, merges that never double-bill.

Two branches start from one state of the example repository; each creates quotes, accepts them and
amends the same contract. They are merged the documented way (`git merge`, `cpqctl resolve`, commit)
and every other way a team merges ("ours", a `merge=union` driver, a careful hand resolution);
each ends either in a `check` error that names the problem and the fix, or in a correct ledger.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from cpqctl.app.numbers import Numbers
from cpqctl.core.model import Settings
from cpqctl.core.numbering import parse_series
from cpqctl.load.git import Branch

CONTRACT = "C-2026-0001"  # acme: 2026-01-01..2026-12-31, billed quarterly; both branches amend it
LEDGER = "contracts/acme/C-2026-0001.yaml"
ON_BRANCH = "2026-12-04"


@pytest.fixture
def team(example_repo: Path, monkeypatch: pytest.MonkeyPatch, cli):
    """The example repository as a git repository on `main`, invoiced through 2026-12-01 and committed."""
    for key, value in {
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CPQ_BRANCH", raising=False)
    root = example_repo
    git(root, "init", "-q", "-b", "main")
    ok(cli("invoice", "run", "--repo", root, "--as-of", "2026-12-01"))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "the example, invoiced through 2026-12-01")
    return root


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc


def ok(run):
    assert run.code == 0, run.stderr
    return run


def data(run) -> dict:
    return json.loads(ok(run).stdout)


def diagnostics(cli, root: Path) -> list[dict]:
    return json.loads(cli("check", "--repo", root, "--format", "json").stdout)["diagnostics"]


def codes(cli, root: Path) -> set[str]:
    return {d["code"] for d in diagnostics(cli, root)}


def branch_work(cli, root: Path, name: str, seats: int, addon: str, *, invoice_on_branch: bool = False) -> dict:
    """On a new branch from main: two new-business quotes accepted, one amendment of CONTRACT accepted."""
    git(root, "switch", "-q", "-c", name, "main")
    git(root, "config", "user.email", f"{name}@example.com")
    made: dict = {"quotes": [], "contracts": [], "amendment": None}
    for account in ("globex", "hooli"):
        q = data(
            cli(
                "quote",
                "new",
                "--account",
                account,
                "--start",
                "2027-01-01",
                "--line",
                f"PRO-SEAT={seats}",
                "--billing",
                "quarterly",
                "--repo",
                root,
                "--as-of",
                ON_BRANCH,
                "--format",
                "json",
            )
        )["quote"]
        ok(cli("quote", "accept", q, "--signed-by", f"{name} customer", "--repo", root, "--as-of", ON_BRANCH))
        made["quotes"].append(q)
        made["contracts"].append(yaml.safe_load((root / "quotes" / f"{q}.yaml").read_text())["contract"])
    amend = data(
        cli(
            "amend",
            CONTRACT,
            "--effective",
            "2026-12-15",
            "--add",
            f"{addon}=1",
            "--repo",
            root,
            "--as-of",
            ON_BRANCH,
            "--format",
            "json",
        )
    )["quote"]
    ok(cli("quote", "accept", amend, "--signed-by", "Anna Nowak", "--repo", root, "--as-of", ON_BRANCH))
    made["amendment"] = amend
    refused = cli("invoice", "run", "--repo", root, "--as-of", "2026-12-15")
    if invoice_on_branch:
        ok(refused)
    else:
        assert refused.code == 1 and "E-BRANCH" in refused.stderr and "default branch `main`" in refused.stderr
        assert not git(root, "status", "--porcelain", "--", "invoices").stdout  # refused: nothing written
    git(root, "add", "-A")
    git(root, "commit", "-qm", f"{name}: two deals and an amendment of {CONTRACT}")
    git(root, "switch", "-q", "main")
    return made


def full_value(cli, root: Path) -> Decimal:
    """What CONTRACT bills in all: invoiced so far plus what a run through its end would still issue."""
    run = data(cli("invoice", "run", "--dry-run", "--repo", root, "--as-of", "2027-12-31", "--format", "json"))
    due = sum((Decimal(i["net_total"]) for i in run["invoices"] if i["contract"] == CONTRACT), Decimal(0))
    return billed(root, CONTRACT) + due


def quote_total(root: Path, q: str) -> Decimal:
    text = (root / "quotes" / f"{q}.yaml").read_text()
    return Decimal(text.split("\nnet_total: ")[1].split()[0])


def invoices(root: Path) -> list[dict]:
    out = []
    for path in sorted((root / "invoices").glob("*.yaml")):
        out.append(yaml.safe_load(path.read_text()))
    return out


def billed(root: Path, prefix: str) -> Decimal:
    """Σ of every invoice line whose segment starts with ``prefix`` (a contract, or C/<quote>#)."""
    return sum(
        (
            Decimal(str(ln["amount"]))
            for inv in invoices(root)
            for ln in inv["lines"]
            if ln["segment"].startswith(prefix)
        ),
        Decimal(0),
    )


def assert_series_legal(root: Path) -> None:
    """Invoice numbers: none twice, each series 1, 2, 3… without a gap, in issue-date order."""
    numbers: dict[tuple, list[tuple[int, str]]] = {}
    for inv in invoices(root):
        s = parse_series("INV-{year}-{seq:04d}", inv["invoice"])
        assert s is not None, inv["invoice"]
        numbers.setdefault(s.key, []).append((s.seq, str(inv["date"])))
    for members in numbers.values():
        members.sort()
        assert [seq for seq, _ in members] == list(range(1, len(members) + 1))
        dates = [d for _, d in members]
        assert dates == sorted(dates)


# --------------------------------------------------------------------------- the documented procedure


@pytest.fixture(params=["whole", "parts"])
def chunks(request, monkeypatch):
    """Every command of the test on the whole repository, or (``CPQ_CHUNK_FILES`` 8: the example is "big") a part at
    a time: `resolve` then repairs one part of the accounts at a time and asks `check` in parts what is left (issue
    21), with the same repairs, files and findings. Asserted after the test: which path `resolve` took."""
    from cpqctl.app import resolve

    took: list[bool] = []
    real = resolve._resolved_in_chunks
    monkeypatch.setattr(resolve, "_resolved_in_chunks", lambda *a: took.append(True) or real(*a))
    if request.param == "parts":
        monkeypatch.setenv("CPQ_CHUNK_FILES", "8")
    yield
    assert bool(took) == (request.param == "parts")


def test_two_branches_merged_the_documented_way_bill_every_quote_exactly_once(team, cli, chunks):
    root = team
    before = full_value(cli, root)
    anna = branch_work(cli, root, "anna", 10, "AUDIT-LOG")
    bob = branch_work(cli, root, "bob", 20, "STORAGE-PACK")
    # no ID was taken twice, though both branches numbered from the same state
    assert len(set(anna["quotes"] + bob["quotes"] + [anna["amendment"], bob["amendment"]])) == 6
    assert len(set(anna["contracts"] + bob["contracts"])) == 4
    # the documented procedure: merge, resolve, check, commit
    git(root, "merge", "-q", "--no-edit", "anna")
    conflict = git(root, "merge", "--no-edit", "bob", check=False)
    assert conflict.returncode == 1 and LEDGER in conflict.stdout
    found = diagnostics(cli, root)
    assert [(d["code"], d["file"]) for d in found] == [("E-MERGE-CONFLICT", LEDGER)]
    marker = next(n for n, ln in enumerate((root / LEDGER).read_text().splitlines(), 1) if ln.startswith("<<<<<<<"))
    assert found[0]["line"] == marker and "cpqctl resolve" in found[0]["hint"]
    resolved = data(cli("resolve", "--repo", root, "--format", "json"))
    assert [(r["file"], r["action"]) for r in resolved["repairs"]] == [(LEDGER, "merged")]
    assert resolved["errors"] == 0 and resolved["written"] == [LEDGER]
    assert diagnostics(cli, root) == []
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-edit")
    text = (root / LEDGER).read_text()
    assert (
        "amendment: A-3\n    quote: " + anna["amendment"] in text
        and "amendment: A-4\n    quote: " + bob["amendment"] in text
    )
    # invoicing on the default branch, through the end of the new contracts
    ok(cli("invoice", "run", "--repo", root, "--as-of", "2027-12-31"))
    assert diagnostics(cli, root) == []
    for made in (anna, bob):
        for q, c in zip(made["quotes"], made["contracts"]):
            assert billed(root, f"{c}#") == quote_total(root, q) > 0
        assert billed(root, f"{CONTRACT}/{made['amendment']}#") == quote_total(root, made["amendment"]) > 0
    # whatever the segments are called: the contract bills its value plus both amendments, once each
    assert billed(root, CONTRACT) == before + quote_total(root, anna["amendment"]) + quote_total(root, bob["amendment"])
    assert_series_legal(root)


# --------------------------------------------------------------------------- the three merge outcomes


def _conflicted(cli, root: Path, *, branch_series: bool = False) -> tuple[dict, dict]:
    if branch_series:
        toml = root / "cpq.toml"
        toml.write_text(toml.read_text() + '\n[git]\ninvoicing = "branch-series"\n')
        git(root, "commit", "-qam", "each branch numbers its invoices in a series of its own")
    (root.parent / "value").write_text(str(full_value(cli, root)))  # before either branch, outside the repo
    anna = branch_work(cli, root, "anna", 10, "AUDIT-LOG", invoice_on_branch=branch_series)
    bob = branch_work(cli, root, "bob", 20, "STORAGE-PACK", invoice_on_branch=branch_series)
    git(root, "merge", "-q", "--no-edit", "anna")
    return anna, bob


def _assert_billed_once(cli, root: Path, anna: dict, bob: dict) -> None:
    ok(cli("invoice", "run", "--repo", root, "--as-of", "2027-12-31"))
    for made in (anna, bob):
        assert billed(root, f"{CONTRACT}/{made['amendment']}#") == quote_total(root, made["amendment"]) > 0
    before = Decimal((root.parent / "value").read_text())
    assert billed(root, CONTRACT) == before + quote_total(root, anna["amendment"]) + quote_total(root, bob["amendment"])
    assert not any(d["severity"] == "error" for d in diagnostics(cli, root))


def test_ours_drops_the_other_amendment_and_check_names_it_until_resolve_restores_it(team, cli, chunks):
    root = team
    anna, bob = _conflicted(cli, root, branch_series=True)
    git(root, "merge", "--no-edit", "bob", check=False)
    git(root, "checkout", "--ours", "--", LEDGER)  # "ours": bob's amendment is gone from the ledger
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-edit")
    found = diagnostics(cli, root)
    missing = [d for d in found if d["code"] == "E-LEDGER-MISSING"]
    assert len(missing) == 1 and bob["amendment"] in missing[0]["message"] and "cpqctl resolve" in missing[0]["hint"]
    # bob's branch billed its amendment: that invoice now names a segment the ledger lacks
    lost = [d for d in found if d["code"] == "E-INVOICE-SEGMENT"]
    assert len(lost) == 1 and bob["amendment"] in lost[0]["message"] and "cpqctl resolve" in lost[0]["hint"]
    refused = cli("invoice", "run", "--repo", root, "--as-of", "2027-12-31")
    assert refused.code == 1 and "E-INVALID-REPO" in refused.stderr  # nothing is billed on a broken ledger
    resolved = data(cli("resolve", "--repo", root, "--format", "json"))
    assert [(r["file"], r["action"]) for r in resolved["repairs"]] == [(LEDGER, "restored")]
    assert diagnostics(cli, root) == []
    _assert_billed_once(cli, root, anna, bob)
    assert_series_legal_per_branch(root)


def test_a_union_driver_keeps_both_entries_and_check_asks_for_labels_until_resolve(team, cli, chunks):
    root = team
    (root / ".gitattributes").write_text("contracts/**/*.yaml merge=union\n")
    git(root, "add", ".gitattributes")
    git(root, "commit", "-qm", "union merges for ledgers")
    anna, bob = _conflicted(cli, root)
    merged = git(root, "merge", "--no-edit", "bob")  # no conflict: the driver took both sides' lines
    assert "CONFLICT" not in merged.stdout
    # the driver keeps the lines both sides added once: the two entries fused into one with duplicate keys
    found = diagnostics(cli, root)
    assert {d["code"] for d in found} == {"E-DUPLICATE-KEY", "E-LEDGER-MISSING"}
    assert all(d["file"] == LEDGER for d in found if d["code"] == "E-DUPLICATE-KEY")
    missing = [d for d in found if d["code"] == "E-LEDGER-MISSING"]
    assert missing and {d["message"].split()[3] for d in missing} <= {anna["amendment"], bob["amendment"]}
    assert all("cpqctl resolve" in d["hint"] for d in missing)
    refused = cli("invoice", "run", "--repo", root, "--as-of", "2027-12-31")
    assert refused.code == 1  # not billed while the ledger is in question
    resolved = data(cli("resolve", "--repo", root, "--format", "json"))
    assert [(r["file"], r["action"]) for r in resolved["repairs"]] == [(LEDGER, "merged")], resolved
    assert "a line-by-line merge" in resolved["repairs"][0]["detail"] and resolved["written"] == [LEDGER], resolved
    assert diagnostics(cli, root) == []
    _assert_billed_once(cli, root, anna, bob)


def test_a_careful_keep_both_renumbering_bills_each_change_once(team, cli):
    """The report's case: both branches billed their amendment; the second is relabelled A-4 by hand."""
    root = team
    anna, bob = _conflicted(cli, root, branch_series=True)
    git(root, "merge", "--no-edit", "bob", check=False)
    lines = (root / LEDGER).read_text().splitlines(keepends=True)
    # git shows the shared `- amendment: A-3` line once, above the markers: keep both sides, and give the
    # second entry its own heading, A-4
    assert lines[lines.index(next(ln for ln in lines if ln.startswith("<<<<<<<"))) - 1] == "  - amendment: A-3\n"
    kept = []
    for ln in lines:
        if ln.startswith("======="):
            kept.append("  - amendment: A-4\n")
        elif not ln.startswith(("<<<<<<<", ">>>>>>>")):
            kept.append(ln)
    (root / LEDGER).write_text("".join(kept))
    assert diagnostics(cli, root) == []
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-edit")
    before = billed(root, f"{CONTRACT}/{bob['amendment']}#")
    assert before != 0  # bob's branch billed its change
    _assert_billed_once(cli, root, anna, bob)
    assert billed(root, f"{CONTRACT}/{bob['amendment']}#") == before == quote_total(root, bob["amendment"])
    assert_series_legal_per_branch(root)


def test_two_branches_invoicing_the_same_period_is_double_billing_that_check_names(team, cli):
    root = team
    toml = root / "cpq.toml"
    toml.write_text(toml.read_text() + '\n[git]\ninvoicing = "branch-series"\n')
    git(root, "commit", "-qam", "branch series")
    for name in ("anna", "bob"):
        git(root, "switch", "-q", "-c", name, "main")
        git(root, "config", "user.email", f"{name}@example.com")
        ok(cli("invoice", "run", "--repo", root, "--as-of", "2027-01-01"))  # hooli's January, on both branches
        git(root, "add", "-A")
        git(root, "commit", "-qm", f"{name} ran the invoices")
        git(root, "switch", "-q", "main")
    git(root, "merge", "-q", "--no-edit", "anna")
    git(root, "merge", "-q", "--no-edit", "bob")
    double = [d for d in diagnostics(cli, root) if d["code"] == "E-DOUBLE-BILLED"]
    assert double and all(d["file"].startswith("invoices/INV-2027-") for d in double)
    assert "corrective invoice" in double[0]["hint"]


def assert_series_legal_per_branch(root: Path) -> None:
    """Every series (main's and each branch's) runs 1, 2, 3… in date order; no number twice."""
    assert_series_legal(root)


# --------------------------------------------------------------------------- identifiers


def test_two_branches_numbering_from_one_state_never_take_the_same_id_1000_times_over():
    rng = random.Random(14)
    people = ["anna", "bob", "ola", "piotr", "kasia", "ci"]
    existing = [f"Q-2027-{n:04d}" for n in range(1, 40)] + [f"C-2027-{n:04d}" for n in range(1, 12)]
    settings = Settings()
    day = date(2027, 3, 15)
    for i in range(1000):
        a = Branch(f"{rng.choice(people)}/deal-{rng.randrange(10**6)}", "main", f"{rng.choice(people)}@example.com")
        b = Branch(f"{rng.choice(people)}/deal-{rng.randrange(10**6)}", "main", f"{rng.choice(people)}@example.com")
        if (a.name, a.identity) == (b.name, b.identity):
            continue
        na, nb = Numbers(settings, a), Numbers(settings, b)
        qa, qb = na.quote(day, existing), nb.quote(day, existing)
        ca, cb = na.contract(day, existing), nb.contract(day, existing)
        assert qa != qb and ca != cb, (i, a, b)
        assert not {qa, qb, ca, cb} & set(existing)
        # and neither is what the default branch takes next
        main = Numbers(settings, Branch("main", "main"))
        assert main.quote(day, existing) == "Q-2027-0040" not in (qa, qb)


def test_branch_ids_are_short_typeable_and_final(team, cli):
    root = team
    git(root, "switch", "-q", "-c", "anna/acme")
    q = data(
        cli(
            "quote",
            "new",
            "--account",
            "acme",
            "--start",
            "2027-01-01",
            "--line",
            "PRO-SEAT=5",
            "--repo",
            root,
            "--as-of",
            ON_BRANCH,
            "--format",
            "json",
        )
    )["quote"]
    s = parse_series("Q-{year}-{seq:04d}", q)
    assert s is not None and s.token is not None and len(q) == len("Q-2026-K7F2-0001")
    assert all(ch not in s.token for ch in "ILOU")
    second = data(
        cli(
            "quote",
            "new",
            "--account",
            "acme",
            "--start",
            "2027-01-01",
            "--line",
            "PRO-SEAT=6",
            "--repo",
            root,
            "--as-of",
            ON_BRANCH,
            "--format",
            "json",
        )
    )["quote"]
    assert second == q[:-1] + "2"  # the branch's own series counts on


def test_check_on_conflict_markers_reports_a_merge_conflict_not_a_yaml_error(team, cli):
    root = team
    text = (root / LEDGER).read_text()
    (root / LEDGER).write_text(text + "<<<<<<< HEAD\n  - amendment: A-3\n=======\n  - amendment: A-3\n>>>>>>> bob\n")
    run = cli("check", "--repo", root, "--format", "concise")
    assert run.code == 1
    line = len(text.splitlines()) + 1
    assert f"{LEDGER}:{line}:1: error[E-MERGE-CONFLICT]" in run.stdout
    assert "E-YAML" not in run.stdout
    found = diagnostics(cli, root)
    assert [d["code"] for d in found] == ["E-MERGE-CONFLICT"] and "cpqctl resolve" in found[0]["hint"]


# --------------------------------------------------------------------------- amendments priced without each other


def _amend_on(cli, root: Path, name: str, *args: str) -> str:
    git(root, "switch", "-q", "-c", name, "main")
    git(root, "config", "user.email", f"{name}@example.com")
    q = data(cli("amend", CONTRACT, *args, "--repo", root, "--as-of", ON_BRANCH, "--format", "json"))["quote"]
    ok(cli("quote", "accept", q, "--signed-by", "Anna Nowak", "--repo", root, "--as-of", ON_BRANCH))
    git(root, "add", "-A")
    git(root, "commit", "-qm", f"{name}: amend {CONTRACT}")
    git(root, "switch", "-q", "main")
    return q


@pytest.fixture(params=["account", "whole"])
def scope(request, monkeypatch) -> tuple[str, list[str]]:
    """The writes about one contract (`amend --rebase`, accepting its quote) on the account's files, as they run, or
    on the whole repository (the reference path): the same answers either way. The accounts whose files were read."""
    from cpqctl.app.workspace import Workspace
    from cpqctl.load import repo as loader

    loaded: list[str] = []
    if request.param == "whole":
        monkeypatch.setattr(
            Workspace,
            "writing_account",
            lambda self, account, tolerate=frozenset(), staged_too=False, **_: self.writing(tolerate, staged_too),
        )
    else:
        parts = loader.load_account_parts
        monkeypatch.setattr(loader, "load_account_parts", lambda r, a, *m: loaded.append(a) or parts(r, a, *m))
    return request.param, loaded


def _merge_and_resolve(cli, root: Path) -> dict:
    git(root, "merge", "-q", "--no-edit", "anna")
    assert git(root, "merge", "--no-edit", "bob", check=False).returncode == 1  # both appended: a conflict
    return json.loads(cli("resolve", "--repo", root, "--format", "json").stdout)


def _quantity(cli, root: Path, product: str, day: str) -> Decimal:
    shown = data(cli("contract", "show", CONTRACT, "--repo", root, "--as-of", day, "--format", "json"))
    return sum((Decimal(o["quantity"]) for o in shown["owned"] if o["product"] == product), Decimal(0))


def test_both_branches_setting_the_same_seats_warns_and_rebase_restores_what_the_later_one_meant(team, cli, scope):
    root = team
    assert _quantity(cli, root, "PRO-SEAT", "2026-12-15") == 55
    _amend_on(cli, root, "anna", "--effective", "2026-12-15", "--set", "PRO-SEAT=60")
    bob = _amend_on(cli, root, "bob", "--effective", "2026-12-15", "--set", "PRO-SEAT=60")
    assert _merge_and_resolve(cli, root)["errors"] == 0
    assert _quantity(cli, root, "PRO-SEAT", "2026-12-15") == 65  # +5 twice: each branch meant 60
    found = diagnostics(cli, root)
    assert [d["code"] for d in found] == ["W-AMENDMENT-CONCURRENT"] and found[0]["severity"] == "warning"
    assert "meant 60 PRO-SEAT from 2026-12-15, the merged ledger holds 65" in found[0]["message"]
    assert f"cpqctl amend {CONTRACT} --rebase {bob}" in found[0]["hint"]
    assert cli("check", "--repo", root).code == 0  # a warning: the customer signed both; both may stand
    fix = data(cli("amend", CONTRACT, "--rebase", bob, "--repo", root, "--as-of", ON_BRANCH, "--format", "json"))
    text = (root / "quotes" / f"{fix['quote']}.yaml").read_text()
    assert f"rebases: {bob}" in text and "{product: PRO-SEAT, quantity: -5," in text and "effective: 2026-12-15" in text
    ok(cli("quote", "accept", fix["quote"], "--signed-by", "Anna Nowak", "--repo", root, "--as-of", ON_BRANCH))
    assert _quantity(cli, root, "PRO-SEAT", "2026-12-15") == 60
    assert diagnostics(cli, root) == []
    again = cli("amend", CONTRACT, "--rebase", bob, "--repo", root, "--as-of", ON_BRANCH)
    assert again.code == 1 and "E-NO-CHANGE" in again.stderr
    assert scope[1] == ([] if scope[0] == "whole" else ["acme"] * len(scope[1])) and (scope[0] == "whole") != bool(
        scope[1]
    )  # the rebase and the acceptance on acme's files, or (the reference) on the whole repository's


def test_an_upsell_merged_after_a_cancellation_is_an_error_until_rebase_ends_it(team, cli, scope):
    root = team
    cancel = _amend_on(cli, root, "anna", "--effective", "2026-12-15", "--cancel", "--reason", "budget cut")
    _amend_on(cli, root, "bob", "--effective", "2026-12-20", "--add", "AUDIT-LOG=1")
    resolved = _merge_and_resolve(cli, root)
    assert resolved["written"] == [LEDGER] and resolved["errors"] == 1
    found = [d for d in diagnostics(cli, root) if d["severity"] == "error"]
    assert [d["code"] for d in found] == ["E-CANCELLED-SERVICE"]
    assert "AUDIT-LOG × 1 is still in service on 2026-12-20" in found[0]["message"]
    assert f"cpqctl amend {CONTRACT} --rebase {cancel}" in found[0]["hint"]
    refused = cli("invoice", "run", "--repo", root, "--as-of", "2026-12-31")
    assert refused.code == 1 and "E-CANCELLED-SERVICE" in refused.stderr
    other = cli("quote", "new", "--account", "acme", "--start", "2027-01-01", "--line", "PRO-SEAT=1", "--repo", root)
    assert other.code == 1  # no other write lands on the broken ledger
    fix = data(cli("amend", CONTRACT, "--rebase", cancel, "--repo", root, "--as-of", ON_BRANCH, "--format", "json"))
    text = (root / "quotes" / f"{fix['quote']}.yaml").read_text()
    assert "{product: AUDIT-LOG, quantity: -1," in text and "start: 2026-12-20, end: 2026-12-31" in text
    ok(cli("quote", "accept", fix["quote"], "--signed-by", "Anna Nowak", "--repo", root, "--as-of", ON_BRANCH))
    assert diagnostics(cli, root) == []
    ok(cli("invoice", "run", "--repo", root, "--as-of", "2026-12-31"))
    audit = sum(
        (
            Decimal(str(ln["amount"]))
            for inv in invoices(root)
            for ln in inv["lines"]
            if inv["contract"] == CONTRACT and ln["product"] == "AUDIT-LOG"
        ),
        Decimal(0),
    )
    assert audit == 0  # never billed after the cancellation
    assert _quantity(cli, root, "AUDIT-LOG", "2026-12-20") == 0
    assert (scope[0] == "whole") != ("acme" in scope[1])


def test_a_data_folder_that_another_projects_git_does_not_track_is_outside_git(team, cli, tmp_path):
    """`cpqctl tour` copies the example into ./cpq-tour of wherever it runs (a clone of cpqctl, on any branch)."""
    import shutil

    outer = tmp_path / "project"
    outer.mkdir()
    git(outer, "init", "-q", "-b", "main")
    (outer / "README").write_text("a project\n")
    git(outer, "add", "README")
    git(outer, "commit", "-qm", "a project")
    git(outer, "switch", "-q", "-c", "feature")
    data_dir = outer / "cpq-tour"
    shutil.copytree(team, data_dir, ignore=shutil.ignore_patterns(".git"))
    ok(cli("invoice", "run", "--repo", data_dir, "--as-of", "2027-01-01"))  # untracked: no branches
    git(outer, "add", "cpq-tour/cpq.toml")  # now the project versions it: its branch counts
    refused = cli("invoice", "run", "--repo", data_dir, "--as-of", "2027-02-01")
    assert refused.code == 1 and "E-BRANCH" in refused.stderr and "branch `feature`" in refused.stderr


def test_updating_a_pull_request_from_main_keeps_mains_ledger_a_pure_append(team, cli):
    """The pull-request flow: main moved on (bob merged); anna merges main into her branch and resolves."""
    root = team
    anna = branch_work(cli, root, "anna", 10, "AUDIT-LOG")
    bob = branch_work(cli, root, "bob", 20, "STORAGE-PACK")
    git(root, "merge", "-q", "--no-edit", "bob")
    main_before = git(root, "rev-parse", "HEAD").stdout.strip()
    git(root, "switch", "-q", "anna")
    assert git(root, "merge", "--no-edit", "main", check=False).returncode == 1
    ok(cli("resolve", "--repo", root))
    text = (root / LEDGER).read_text()
    assert text.index(f"quote: {bob['amendment']}") < text.index(f"quote: {anna['amendment']}")
    assert f"amendment: A-3\n    quote: {bob['amendment']}" in text  # bob's keeps the label main gave it
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-edit")
    git(root, "switch", "-q", "main")
    git(root, "merge", "-q", "--no-edit", "anna")
    diff = git(root, "diff", main_before, "HEAD", "--", LEDGER).stdout
    assert diff and not [ln for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    assert diagnostics(cli, root) == []
