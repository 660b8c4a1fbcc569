"""A whole `invoice run --dry-run` billed one part of the repository at a time (issue 21, :mod:`cpqctl.load.parts`)
gives byte for byte what the whole load gives, and falls back to the whole load whenever the parts could differ
from it: loader errors, a duplicate ID, an invoice whose parsed contract is not the one its line names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import age, copy_repo

DAY = "2026-12-05"
SMALL = "40"  # account, contract and invoice files per part: the 60-account repository comes in about 8 parts


@pytest.fixture(autouse=True)
def settled(monkeypatch) -> None:
    """Files count as settled once changed before a run began (not 2 s before): a copy made by the test has a
    ctime of now, which nothing can set back, and the memo keys only files unchanged since before its run."""
    monkeypatch.setattr("cpqctl.load.cache.RACY_NS", 0)


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


def _parts_stand_not_for_the_whole(root: Path, monkeypatch) -> None:
    """The repository is planned in parts, and giving them raises :class:`Whole`."""
    from cpqctl.load.parts import Whole, plan

    monkeypatch.setenv("CPQ_CHUNK_FILES", SMALL)
    found = plan(root)
    assert found is not None
    with pytest.raises(Whole):
        for _ in found.parts():
            pass


def _count_parts(root: Path, monkeypatch) -> int | None:
    from cpqctl.load.parts import plan

    monkeypatch.setenv("CPQ_CHUNK_FILES", SMALL)
    got = plan(root)
    return None if got is None else sum(1 for _ in got.parts())


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
    # the same facts (a run in parts also keeps each entry's files, for a run that reads none of them)
    assert {k: e[:3] for k, e in json.loads(memo.read_bytes())["contracts"].items()} == {
        k: e[:3] for k, e in made.items()
    }
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

    whole = _run(cli, repo, "2027-06-30", parts=False)
    past = (repo / "invoices").stat().st_mtime_ns - 3600 * 10**9
    os.utime(repo / "invoices", ns=(past, past))  # an index of a folder settled is kept with the folder's state
    invoice_index.owners(repo)  # made (and its folder's state recorded)
    index = json.loads((repo / invoice_index.INDEX).read_bytes())
    assert index["folder_mtime_ns"] is not None
    names = sorted(index["files"])
    owners = sorted({e[2] for e in index["files"].values()})
    victim = names[0]
    index["files"][victim][2] = next(o for o in owners if o != index["files"][victim][2])  # a wrong owner
    (repo / invoice_index.INDEX).write_text(json.dumps(index), encoding="utf-8")
    _parts_stand_not_for_the_whole(repo, monkeypatch)
    assert _run(cli, repo, "2027-06-30", parts=True) == whole


@pytest.mark.parametrize(
    "damage",
    [
        "a broken quote",
        "a duplicate contract ID",
        "a contract ID that is not its file's name",
        "a broken invoice",
        "a broken catalog",
        "a product defined twice",
        "a payment ID in two months",
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
    elif damage == "a broken invoice":
        sorted((repo / "invoices").glob("*.yaml"))[-1].write_text("invoice: [\n", encoding="utf-8")
    elif damage == "a broken catalog":
        catalog = repo / "catalog" / "products.yaml"
        catalog.write_text(catalog.read_text(encoding="utf-8") + "\n  - {code: [\n", encoding="utf-8")
    elif damage == "a product defined twice":  # each file is fine: only putting the records together tells
        catalog = repo / "catalog" / "products.yaml"
        text = catalog.read_text(encoding="utf-8")
        sso = text[text.index("  - code: SSO") :].split("\n  - ", 1)[0]
        (repo / "catalog" / "more.yaml").write_text("products:\n" + sso + "\n", encoding="utf-8")
    else:
        for month in ("2026-06", "2026-07"):
            (repo / "payments" / month).mkdir(parents=True)
            (repo / "payments" / month / "PAY-2026-0005.yaml").write_text(
                f"payment: PAY-2026-0005\ndate: {month}-10\naccount: acct-00002\namount: 100.00\ncurrency: PLN\n"
                "allocations:\n  - {invoice: INV-2025-00001, amount: 100.00}\n",
                encoding="utf-8",
            )
    age(repo)
    whole = _run(cli, repo, "2027-06-30", parts=False)
    assert whole.code != 0 and "E-INVALID-REPO" in whole.stderr
    assert _run(cli, repo, "2027-06-30", parts=True) == whole


# --------------------------------------------------------------------------- contracts not even read

MEMO = ".cpq/cache/billing-quiet.json"


def _parts_run(cli, root: Path, through: str):
    (root / ".cpq" / "cache" / "invoice-run.json").unlink(missing_ok=True)  # the memo of contracts kept
    return cli(
        "invoice", "run", "--dry-run", "--through", through, "--as-of", DAY, "--format", "json", "--repo", root,
        env={"CPQ_CHUNK_FILES": SMALL},
    )  # fmt: skip


def _whole_cold(cli, root: Path, tmp_path: Path, through: str):
    copy = copy_repo(root, tmp_path / "cold")
    got = _run(cli, copy, through, parts=False)
    return got.code, got.stdout.replace(str(copy), str(root)), got.stderr.replace(str(copy), str(root))


@pytest.fixture
def read_counter(monkeypatch):
    """The files each load of many files read (a part, or the whole repository), by path."""
    from cpqctl.load import cache

    read: list[str] = []
    real = cache.load_files

    def counting(root, files, meter=None, own=False, part=False):
        if not own:
            read.extend(rel for rel, _ in files)
        return real(root, files, meter, own, part)

    monkeypatch.setattr(cache, "load_files", counting)
    return read


def _quiet_contract(root: Path) -> tuple[str, Path, list[Path]]:
    """A contract the memo vouches for by its files, with invoices: (ID, file, invoice files)."""
    from cpqctl.load.invoice_index import owners

    entries = json.loads((root / MEMO).read_bytes())["contracts"]
    owned: dict[str, list[Path]] = {}
    for name, owner in owners(root).items():
        owned.setdefault(owner or "", []).append(root / "invoices" / name)
    for cid in sorted(entries):
        if len(entries[cid]) == 5 and owned.get(cid):
            path = next((root / "contracts").glob(f"*/{cid}.yaml"))
            return cid, path, sorted(owned[cid])
    raise AssertionError("no quiet contract with invoices")


def test_a_month_with_nothing_new_reads_only_what_changed(repo, cli, tmp_path, read_counter, monkeypatch) -> None:
    """Billed through November, November asked again: the second run in parts reads no contract the memo vouches
    for by its files (the first made those keys), and answers what the whole load answers."""
    before = _parts_run(cli, repo, "2026-11-30")  # everything read: the memo is empty
    read_before = len(read_counter)  # the dry run's own load (no cold copy ran yet)
    billed = cli("invoice", "run", "--through", "2026-11-30", "--as-of", DAY, "--repo", repo)
    assert billed.code == 0, billed.stderr
    entries = json.loads((repo / MEMO).read_bytes())["contracts"]
    vouched = {cid for cid, e in entries.items() if len(e) == 5}
    contracts = {p.stem for p in (repo / "contracts").glob("*/C-*.yaml")}
    assert len(vouched) >= 0.8 * len(contracts)
    assert any(e[4] for e in entries.values() if len(e) == 5)  # keyed by the bytes the run wrote (just written)
    for _ in range(2):  # the run's own files are racy at first (just written: compared by content), then settled
        read_counter.clear()
        got = _parts_run(cli, repo, "2026-11-30")
        read = list(read_counter)
        assert got.code == 0 and '"count": 0' in got.stdout and before.stdout != got.stdout, got.stderr
        assert (got.code, got.stdout, got.stderr) == _whole_cold(cli, repo, tmp_path, "2026-11-30")
        read_contracts = {Path(rel).stem for rel in read if rel.startswith("contracts/")}
        assert not read_contracts & vouched
        assert len(read) <= read_before / 4, (len(read), read_before)
    entries = json.loads((repo / MEMO).read_bytes())["contracts"]
    assert not any(e[4] for e in entries.values() if len(e) == 5)  # settled: their stats alone vouch for them


def test_a_file_the_run_wrote_changed_within_the_clock_step_is_read(
    repo, cli, tmp_path, read_counter, monkeypatch
) -> None:
    """An invoice the writing run just wrote, rewritten at once on a file system whose coarse clock leaves its
    stats as they were (simulated: the memo's key of the files is made again from the stats after the edit): its
    bytes are not those recorded, so its contract is read (and the edit refused, as the whole load refuses it)."""
    from cpqctl.load.cache import _stat
    from cpqctl.load.parts import plan
    from cpqctl.load.quiet import Files

    billed = cli("invoice", "run", "--through", "2026-11-30", "--as-of", DAY, "--repo", repo)
    assert billed.code == 0, billed.stderr
    memo = json.loads((repo / MEMO).read_bytes())
    cid, racy = next((cid, e[4]) for cid, e in sorted(memo["contracts"].items()) if len(e) == 5 and e[4])
    path = repo / next(iter(racy))
    _keep_size_and_mtime(path, lambda t: _digit_up(t, "amount:"))
    monkeypatch.setenv("CPQ_CHUNK_FILES", SMALL)
    found = plan(repo)
    assert found is not None
    files = Files(repo, found.invoices, found.stray, lambda rel: _stat(repo / rel), 0)
    rel = next((repo / "contracts").glob(f"*/{cid}.yaml")).relative_to(repo).as_posix()
    memo["contracts"][cid][3] = files._digest(cid, [(f, *files.stat(f)) for f in files._listed(cid, rel)])
    (repo / MEMO).write_text(json.dumps(memo), encoding="utf-8")
    read_counter.clear()
    got = _parts_run(cli, repo, "2026-11-30")
    assert path.relative_to(repo).as_posix() in read_counter
    assert (got.code, got.stdout, got.stderr) == _whole_cold(cli, repo, tmp_path, "2026-11-30")
    assert "E-DIGEST" in got.stderr


def _copy_as_new_invoice(invoices: list[Path]) -> None:
    """One more invoice of the contract: its last one again under a new number (an older layout, no digest)."""
    last = invoices[-1]
    number = "INV-2026-99999"
    lines = [
        f"invoice: {number}\n" if ln.startswith("invoice: ") else ln
        for ln in last.read_text(encoding="utf-8").splitlines(keepends=True)
        if not ln.startswith("digest:")
    ]
    (last.parent / f"{number}.yaml").write_text("".join(lines), encoding="utf-8")


def _keep_size_and_mtime(path: Path, edit) -> None:
    st = path.stat()
    text = path.read_text(encoding="utf-8")
    new = edit(text)
    assert new != text and len(new.encode()) == len(text.encode())
    path.write_text(new, encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _digit_up(text: str, key: str) -> str:
    """The first digit after ``key`` raised by one (2 ↔ 3 …): the same length."""
    at = text.index(key) + len(key)
    while not text[at].isdigit():
        at += 1
    return text[:at] + str((int(text[at]) + 1) % 10) + text[at + 1 :]


CHANGES = {
    "the contract edited, its size and mtime kept": lambda c, inv: _keep_size_and_mtime(
        c, lambda t: _digit_up(t, "unit_price:")
    ),
    "an invoice edited, its size and mtime kept": lambda c, inv: _keep_size_and_mtime(
        inv[-1], lambda t: _digit_up(t, "amount:")
    ),
    "an invoice deleted": lambda c, inv: inv[-1].unlink(),
    "an invoice added": lambda c, inv: _copy_as_new_invoice(inv),
    "the account file edited": lambda c, inv: (c.parent / "account.yaml").write_text(
        (c.parent / "account.yaml").read_text(encoding="utf-8") + "# edited\n", encoding="utf-8"
    ),
    "cpq.toml edited": lambda c, inv: (c.parents[2] / "cpq.toml").write_text(
        (c.parents[2] / "cpq.toml").read_text(encoding="utf-8").replace("payment_days = 14", "payment_days = 15"),
        encoding="utf-8",
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_contract_not_read_is_read_again_after_any_change(repo, cli, tmp_path, read_counter, change) -> None:
    first = _parts_run(cli, repo, "2026-11-30")
    assert first.code == 0, first.stderr
    _parts_run(cli, repo, "2026-11-30")  # every quiet contract now vouched for by its files
    cid, contract, invoices = _quiet_contract(repo)
    CHANGES[change](contract, invoices)
    if change != "an invoice edited, its size and mtime kept":
        age(repo)  # settled: nothing but the change itself could make the run read the contract again
    read_counter.clear()
    got = _parts_run(cli, repo, "2026-11-30")
    assert contract.relative_to(repo).as_posix() in read_counter, cid
    assert (got.code, got.stdout, got.stderr) == _whole_cold(cli, repo, tmp_path, "2026-11-30")


def _move_contract(repo: Path, cid: str, to: str) -> None:
    path = next((repo / "contracts").glob(f"*/{cid}.yaml"))
    text = path.read_text(encoding="utf-8")
    old = path.parent.name
    (repo / "contracts" / old / "account.yaml").write_text(
        (repo / "contracts" / old / "account.yaml").read_text(encoding="utf-8")
        + "billing: {payment_days: 30}\nlanguage: de\n",
        encoding="utf-8",
    )
    path.unlink()
    (repo / "contracts" / to / path.name).write_text(text.replace(f"account: {old}", f"account: {to}"), "utf-8")


LOOKS_ELSEWHERE = {
    # each is a repository `check` refuses, which a dry run still bills from the whole load
    "a contract naming another account": lambda r: [
        p.write_text(p.read_text(encoding="utf-8").replace("account: acct-00059", "account: acct-00001"), "utf-8")
        for p in (r / "contracts" / "acct-00059").glob("C-*.yaml")
    ],
    "a contract moved to another account, its invoices naming the old one": lambda r: _move_contract(
        r, "C-2025-00004", "acct-00055"
    ),
    "a correction on file of another contract's invoice": lambda r: (
        r / "invoices" / "INV-2026-09001.yaml"
    ).write_bytes((Path(__file__).parent / "data" / "billing_parts" / "INV-2026-09001.yaml").read_bytes()),
}


@pytest.mark.parametrize("case", list(LOOKS_ELSEWHERE))
def test_a_part_that_would_look_outside_itself_makes_the_run_load_the_whole(
    repo, cli, tmp_path, monkeypatch, case
) -> None:
    LOOKS_ELSEWHERE[case](repo)
    age(repo)
    whole = _whole_cold(cli, repo, tmp_path, "2026-12-31")
    assert whole[0] == 0, whole[2]
    _parts_stand_not_for_the_whole(repo, monkeypatch)
    got = _run(cli, repo, "2026-12-31", parts=True)
    assert (got.code, got.stdout, got.stderr) == whole


def test_a_file_changed_since_the_run_began_is_not_vouched_for(repo) -> None:
    """Keyed after it was read, a file changed meanwhile (its mtime kept, as `cp -p` does) would be vouched for in
    a state no run read: only files whose ctime is older than the run's start are keyed, or those the run wrote,
    by their bytes."""
    import hashlib
    import time

    from cpqctl.load.cache import _stat
    from cpqctl.load.quiet import Files

    contract = next((repo / "contracts").glob("*/C-*.yaml"))
    rel = contract.relative_to(repo).as_posix()
    cid = contract.stem

    def files(started: int, written=None) -> Files:
        return Files(repo, {}, [], lambda f: _stat(repo / f), started, written)

    started = time.time_ns()
    assert files(started).key(cid, rel) is not None  # unchanged since before the run began
    _keep_size_and_mtime(contract, lambda t: _digit_up(t, "unit_price:"))
    assert files(started).key(cid, rel) is None  # changed after it began (its ctime says so)
    sha = hashlib.sha256(contract.read_bytes()).hexdigest()
    assert files(started, {rel: sha}).key(cid, rel) == [
        files(time.time_ns() + 10**12).key(cid, rel)[0],  # type: ignore[index]  # every file settled
        {rel: sha},
    ]  # what the run wrote itself: keyed with its bytes
    assert files(started, {rel: "0" * 64}).key(cid, rel) is None  # not the bytes it wrote
