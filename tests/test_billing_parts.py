"""A whole `invoice run --dry-run` billed one part of the repository at a time (issue 21, :mod:`cpqctl.load.parts`)
gives byte for byte what the whole load gives, and falls back to the whole load whenever the parts could differ
from it: loader errors, a duplicate ID, an invoice whose parsed contract is not the one its line names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import age, copy_repo

DAY = "2026-12-05"
SMALL = "40"  # account, contract and invoice files per part: the 60-account repository comes in about 8 parts


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gen") / "repo"
    gen = Path(__file__).resolve().parents[1] / "bench" / "gen.py"
    subprocess.run([sys.executable, str(gen), str(root), "--accounts", "60"], check=True, capture_output=True)
    age(root)
    return root


@pytest.fixture
def repo(generated, tmp_path) -> Path:
    root = copy_repo(generated, tmp_path / "repo")
    age(root)
    return root


def _run(cli, root: Path, through: str, parts: bool, *extra: str):
    for memo in ("invoice-run.json", "billing-quiet.json"):
        (root / ".cpq" / "cache" / memo).unlink(missing_ok=True)
    env = {"CPQ_CHUNK_FILES": SMALL if parts else "100000000"}
    return cli(
        "invoice", "run", "--dry-run", "--through", through, "--as-of", DAY, "--format", "json", "--repo", root,
        *extra, env=env,
    )  # fmt: skip


def _count_parts(root: Path, monkeypatch) -> int | None:
    from cpqctl.load.parts import billing_parts

    monkeypatch.setenv("CPQ_CHUNK_FILES", SMALL)
    got = billing_parts(root)
    return None if got is None else sum(1 for _ in got)


@pytest.mark.parametrize("through", ["2026-10-31", "2026-12-31", "2027-06-30", "2029-12-31"])
def test_the_parts_bill_what_the_whole_bills(repo, cli, monkeypatch, through) -> None:
    assert (_count_parts(repo, monkeypatch) or 0) >= 5
    whole = _run(cli, repo, through, parts=False)
    assert whole.code == 0, whole.stderr
    assert json.loads(whole.stdout)["count"] > 0
    assert _run(cli, repo, through, parts=True) == whole
    assert _run(cli, repo, through, parts=True) == whole  # from the parse cache the parts left


def test_the_parts_use_and_keep_the_quiet_memo(repo, cli) -> None:
    """A month's run fills the memo of contracts with nothing due; the next month's run with it issues the same
    invoices whether the memo was made by the parts or by the whole."""
    env_parts = {"CPQ_CHUNK_FILES": SMALL}
    memo = repo / ".cpq" / "cache" / "billing-quiet.json"
    args = ("invoice", "run", "--dry-run", "--as-of", DAY, "--format", "json", "--repo", repo)
    first = cli(*args, "--through", "2026-11-30", env=env_parts)
    assert first.code == 0, first.stderr
    made = json.loads(memo.read_bytes())["contracts"]
    assert made
    memo.unlink()
    (repo / ".cpq" / "cache" / "invoice-run.json").unlink()  # else the answer is remembered: nothing billed
    cli(*args, "--through", "2026-11-30", env={"CPQ_CHUNK_FILES": "100000000"})
    assert json.loads(memo.read_bytes())["contracts"] == made
    (repo / ".cpq" / "cache" / "invoice-run.json").unlink()
    with_memo = cli(*args, "--through", "2026-12-31", env=env_parts)
    assert with_memo == _run(cli, repo, "2026-12-31", parts=False)


def test_an_invoice_whose_contract_line_is_quoted_is_read_by_every_part(repo, cli, monkeypatch) -> None:
    """The plain match cannot tell its contract: every part reads it and the part of its contract keeps it.
    (`check` reports the missing digest, E-INVOICE-DIGEST; a dry run bills on.)"""
    first = sorted((repo / "invoices").glob("*.yaml"))[0]
    text = first.read_text(encoding="utf-8")
    contract = next(ln.split(": ", 1)[1] for ln in text.splitlines() if ln.startswith("contract: "))
    text = text.replace(f"contract: {contract}\n", f'contract: "{contract}"\n', 1)
    # an invoice of an older layout, without its digest (else the edit is refused: E-DIGEST)
    first.write_text("".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith("digest:")), "utf-8")
    age(repo)
    from cpqctl.load.invoice_index import owners

    assert owners(repo)[first.name] is None
    assert (_count_parts(repo, monkeypatch) or 0) >= 5
    for through in ("2026-12-31", "2027-06-30"):
        whole = _run(cli, repo, through, parts=False)
        assert whole.code == 0, whole.stderr
        assert _run(cli, repo, through, parts=True) == whole
    # without it, the contract is billed again: the parts did read it
    first.unlink()
    assert _run(cli, repo, "2027-06-30", parts=True) != whole


def test_an_invoice_read_in_the_wrong_part_makes_the_run_load_the_whole(repo, cli, monkeypatch) -> None:
    """The index names a contract for each invoice file by a plain match of its line; when the parse says
    another, that invoice was read in the wrong part: the run loads the whole repository instead."""
    from cpqctl.load import invoice_index
    from cpqctl.load.parts import Whole, billing_parts

    whole = _run(cli, repo, "2027-06-30", parts=False)
    index = json.loads((repo / invoice_index.INDEX).read_bytes()) if (repo / invoice_index.INDEX).exists() else None
    invoice_index.owners(repo)  # made (and its folder's state recorded)
    index = json.loads((repo / invoice_index.INDEX).read_bytes())
    assert index["folder_mtime_ns"] is not None
    names = sorted(index["files"])
    owners = sorted({e[2] for e in index["files"].values()})
    victim = names[0]
    index["files"][victim][2] = next(o for o in owners if o != index["files"][victim][2])  # a wrong owner
    (repo / invoice_index.INDEX).write_text(json.dumps(index), encoding="utf-8")
    monkeypatch.setenv("CPQ_CHUNK_FILES", SMALL)
    parts = billing_parts(repo)
    assert parts is not None
    with pytest.raises(Whole):
        for _ in parts:
            pass
    assert _run(cli, repo, "2027-06-30", parts=True) == whole


@pytest.mark.parametrize(
    "damage",
    [
        "a broken quote",
        "a duplicate contract ID",
        "a contract ID that is not its file's name",
        "a broken invoice",
    ],
)
def test_a_repository_the_whole_load_refuses_is_refused_the_same(repo, cli, damage) -> None:
    contracts = sorted((repo / "contracts").glob("*/C-*.yaml"))
    if damage == "a broken quote":
        (repo / "quotes").mkdir(exist_ok=True)
        (repo / "quotes" / "Q-2026-9999.yaml").write_text("quote: Q-2026-9999\nstatus: [\n", encoding="utf-8")
    elif damage == "a duplicate contract ID":
        other = next(p for p in contracts if p.parent != contracts[-1].parent)
        (contracts[-1].parent / other.name).write_bytes(other.read_bytes())
    elif damage == "a contract ID that is not its file's name":
        contracts[-1].rename(contracts[-1].with_name("C-2099-00001.yaml"))
    else:
        sorted((repo / "invoices").glob("*.yaml"))[-1].write_text("invoice: [\n", encoding="utf-8")
    age(repo)
    whole = _run(cli, repo, "2027-06-30", parts=False)
    assert whole.code != 0 and "E-INVALID-REPO" in whole.stderr
    assert _run(cli, repo, "2027-06-30", parts=True) == whole
