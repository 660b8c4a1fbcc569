"""The memo of contracts with nothing due (issue 15, :mod:`cpqctl.load.quiet`) on a real repository: a month's
run after a writing run bills only the contracts with something due, issues exactly what a run without the memo
issues, and any change to what a contract's billing reads — its file (even rewritten keeping size and mtime), its
invoices, cpq.toml — bills it again."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import age, copy_repo

QUIET = ".cpq/cache/billing-quiet.json"
ANSWER = ".cpq/cache/invoice-run.json"  # the whole dry run's remembered answer: removed to make runs compute


def _write(root: Path, through: str) -> None:
    from cpqctl.app.workspace import Workspace

    Workspace.open(root).run_invoices(through=through, as_of=through)


def _dry(root: Path, through: str, monkeypatch=None) -> tuple[dict, list[str]]:
    """A dry run's JSON and the contracts it billed (asked `due_lines` of)."""
    from cpqctl.app.workspace import Workspace
    from cpqctl.core import billing

    (root / ANSWER).unlink(missing_ok=True)
    billed: list[str] = []
    real = billing.due_lines

    def counting(c, *a, **kw):
        billed.append(c.contract)
        return real(c, *a, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(billing, "due_lines", counting)
    try:
        res = Workspace.open(root).run_invoices(through=through, as_of=through, dry_run=True)
    finally:
        mp.undo()
    return json.loads(json.dumps(res.data, default=str)), billed


def _cold(root: Path, tmp_path: Path, through: str) -> dict:
    return _dry(copy_repo(root, tmp_path / "cold"), through)[0]


@pytest.fixture
def billed_through_march(example_repo: Path) -> Path:
    age(example_repo)
    _write(example_repo, "2026-03-31")
    return example_repo


def test_the_next_month_bills_only_the_contracts_with_something_due(billed_through_march, tmp_path) -> None:
    root = billed_through_march
    memo = json.loads((root / QUIET).read_text())["contracts"]
    assert memo, "the writing run remembered its contracts"
    april, billed = _dry(root, "2026-04-30")
    assert april == _cold(root, tmp_path, "2026-04-30")
    assert april["invoices"], "April has invoices to issue"
    due = {i["contract"] for i in april["invoices"]}
    started = {c for c in memo}
    skipped = started - set(billed)
    assert skipped, "some contracts have nothing due in April and were not billed"
    assert not skipped & due
    for cid in skipped:
        assert memo[cid][1] <= "2026-04-30" < memo[cid][2]


def test_a_writing_run_leaves_its_contracts_known(billed_through_march) -> None:
    """Right after the March run, a run through March bills nothing at all: every contract is known to owe
    nothing (those invoiced by the run too, from the ledger the run left)."""
    out, billed = _dry(billed_through_march, "2026-03-31")
    assert out["invoices"] == [] and billed == []


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _keep_stat(path: Path, old: str, new: str) -> None:
    assert len(old) == len(new)
    st = path.stat()
    _replace(path, old, new)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def _an_annual_contract(root: Path) -> Path:
    """A contract the memo skips through April (nothing due until later)."""
    memo = json.loads((root / QUIET).read_text())["contracts"]
    for path in sorted((root / "contracts").glob("*/C-*.yaml")):
        got = memo.get(path.stem)
        if got and got[2] > "2026-05-01" and "quantity: " in path.read_text():
            return path
    raise AssertionError("no contract is quiet through April")


def _last_invoice_of(root: Path, contract: str) -> Path:
    found = [p for p in sorted((root / "invoices").glob("*.yaml")) if f"contract: {contract}" in p.read_text()]
    return found[-1]


def _bump_quantity(path: Path, keep: bool) -> None:
    """One more (or one fewer) seat on the contract's first line, the file's size kept; with ``keep`` its mtime
    too, else set an hour back (so the change looks old: only the memo's key can tell)."""
    st = path.stat()
    text = path.read_text()
    i = text.index("quantity: ") + len("quantity: ")
    j = i
    while text[j].isdigit():
        j += 1
    old = text[i - len("quantity: ") : j]
    digits = text[i:j]
    new = "quantity: " + str(int(digits) + 1).rjust(len(digits), "0")[-len(digits) :]
    if int(new.split()[1]) == int(digits):
        new = "quantity: " + str(int(digits) - 1)
    (_keep_stat if keep else _replace)(path, old, new)
    if not keep:
        past = st.st_mtime_ns - 3600 * 10**9
        os.utime(path, ns=(past, past))


CHANGES = {
    "contract edited": lambda r, c: _bump_quantity(c, keep=False),
    "contract edited keeping size and mtime": lambda r, c: _bump_quantity(c, keep=True),
    "its last invoice deleted": lambda r, c: _last_invoice_of(r, c.stem).unlink(),
    "cpq.toml": lambda r, c: _replace(r / "cpq.toml", 'proration = "monthly+daily"', 'proration = "daily"'),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_bills_the_contract_again(billed_through_march, tmp_path, change) -> None:
    root = billed_through_march
    contract = _an_annual_contract(root)
    before, billed = _dry(root, "2026-04-30")
    assert contract.stem not in billed
    CHANGES[change](root, contract)
    after, billed = _dry(root, "2026-04-30")
    assert contract.stem in billed
    assert after == _cold(root, tmp_path, "2026-04-30")
    if change != "cpq.toml":  # a seat more or fewer, an invoice gone: something to bill (or credit) now
        assert after != before


def test_the_reference_path_neither_reads_nor_writes_the_memo(billed_through_march, monkeypatch) -> None:
    root = billed_through_march
    (root / QUIET).unlink()
    monkeypatch.setenv("CPQ_BILLING", "full")
    _out, billed = _dry(root, "2026-04-30")
    assert not (root / QUIET).exists()
    assert len(billed) == len(set(billed)) > 0


def test_a_damaged_memo_is_no_error(billed_through_march, tmp_path) -> None:
    root = billed_through_march
    good = _dry(root, "2026-04-30")[0]
    for junk in ('{"format": 1, "head": "x", "contracts": []}', "[", '{"head": 3}'):
        (root / QUIET).write_text(junk)
        assert _dry(root, "2026-04-30")[0] == good
    (root / QUIET).unlink()
    (root / QUIET).mkdir()
    assert _dry(root, "2026-04-30")[0] == good


def test_an_invoice_without_a_digest_is_keyed_by_its_lines(billed_through_march) -> None:
    """Older invoices carry no digest: the key then reads each line billing reads."""
    import dataclasses
    import time

    from cpqctl.app.workspace import Workspace
    from cpqctl.load.quiet import QuietMemo

    root = billed_through_march
    repo = Workspace.open(root).read()
    inv = next(i for i in repo.invoices.values() if i.lines)
    c = repo.contracts[inv.contract]
    memo = QuietMemo(root, repo.settings, time.time_ns(), {})
    old = dataclasses.replace(inv, digest=None)
    line = dataclasses.replace(old.lines[0], amount=old.lines[0].amount + 1)
    assert memo.key(c, [old]) == memo.key(c, [dataclasses.replace(old)])
    assert memo.key(c, [old]) != memo.key(c, [dataclasses.replace(old, lines=(line, *old.lines[1:]))])
    assert memo.key(c, [old]) != memo.key(c, [inv])  # with its digest
    assert memo.key(c, [old]) != memo.key(c, [])
