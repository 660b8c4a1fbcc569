"""A whole writing `invoice run` on a big repository goes one part at a time (issue 21,
:func:`cpqctl.app.invoicing._write_in_parts`): it writes byte for byte the files the whole load writes, says the
same, refuses what the whole staged check refuses, writes nothing when it refuses, and reads only the accounts that
get invoices a second time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import age, copy_repo

DAY = "2026-12-05"
SMALL = "40"  # account, contract and invoice files per part: the 60-account repository comes in about 8 parts
WHOLE = "100000000"


@pytest.fixture(autouse=True)
def settled(monkeypatch) -> None:
    """As in tests/test_billing_parts.py: files count as settled once changed before a run began."""
    monkeypatch.setattr("cpqctl.load.cache.RACY_NS", 0)


@pytest.fixture
def pair(generated, tmp_path) -> tuple[Path, Path]:
    """Two copies of the generated repository: one billed whole, one in parts."""
    out = []
    for name in ("whole", "parts"):
        root = copy_repo(generated, tmp_path / name)
        age(root)
        out.append(root)
    return out[0], out[1]


def _tree(root: Path) -> dict[str, bytes]:
    """Every file outside .cpq/, by path: what a run leaves."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.relative_to(root).parts
    }


def _write(cli, root: Path, through: str, parts: bool, *extra: str):
    return cli(
        "invoice", "run", "--through", through, "--as-of", DAY, "--repo", root, *extra,
        env={"CPQ_CHUNK_FILES": SMALL if parts else WHOLE},
    )  # fmt: skip


@pytest.fixture
def parted(monkeypatch):
    """Counts the writing runs that went in parts (:func:`_write_in_parts` returning a result, not None)."""
    from cpqctl.app import invoicing

    real = invoicing._write_in_parts
    got: list[bool] = []

    def counted(*args, **kwargs):
        out = real(*args, **kwargs)
        got.append(out is not None)
        return out

    monkeypatch.setattr(invoicing, "_write_in_parts", counted)
    return got


def test_the_parts_write_what_the_whole_writes(pair, cli, parted) -> None:
    whole, parts = pair
    before = _tree(whole)
    assert before == _tree(parts)
    for through in ("2026-10-31", "2026-12-31"):
        w = _write(cli, whole, through, False, "--format", "json")
        p = _write(cli, parts, through, True, "--format", "json")
        assert w.code == 0, w.stderr
        assert p == w
        assert json.loads(w.stdout)["count"] > 0
    assert parted == [False, True, False, True]
    after = _tree(parts)
    assert after == _tree(whole)
    new = sorted(set(after) - set(before))
    assert any(n.endswith(".pdf") for n in new) and any(n.endswith(".md") for n in new)
    # once more: nothing left to invoice, in parts (the memo vouches for every contract) as whole
    again = _write(cli, parts, "2026-12-31", parts=True)
    assert again.code == 0 and "nothing to invoice" in again.stderr, again.stderr
    assert _tree(parts) == after
    # and the month after, dry: the memo the parts left bills what a cold whole load bills
    dry = ("invoice", "run", "--dry-run", "--through", "2027-01-31", "--as-of", DAY, "--format", "json")
    memo_parts = cli(*dry, "--repo", parts, env={"CPQ_CHUNK_FILES": SMALL})
    (whole / ".cpq" / "cache" / "billing-quiet.json").unlink(missing_ok=True)
    cold_whole = cli(*dry, "--repo", whole, env={"CPQ_CHUNK_FILES": WHOLE})
    assert memo_parts == cold_whole and memo_parts.code == 0


def test_the_text_output_and_its_order_warning_are_the_whole_runs(pair, cli) -> None:
    """The text output names the files and warns of invoices dated before a lower number (W-INVOICE-ORDER, whose
    dates the parts read from the files' heads)."""
    whole, parts = pair
    for root, in_parts in ((whole, False), (parts, True)):  # one contract billed ahead: the others' come after it
        ahead = _write(cli, root, "2026-12-31", in_parts, "--contract", "C-2026-00009")
        assert ahead.code == 0, ahead.stderr
    w = _write(cli, whole, "2026-12-31", False)
    p = _write(cli, parts, "2026-12-31", True)
    assert w.code == 0, w.stderr
    assert p == w
    assert "W-INVOICE-ORDER" in w.stderr
    assert _tree(parts) == _tree(whole)


def test_a_run_limited_to_accounts_or_contracts_reads_only_their_parts(pair, cli, parted, monkeypatch) -> None:
    """`invoice run --account A --contract C` (dry and writing) in parts: the same output and files as the whole
    run, the other accounts' contract files never read; a name that is not exactly a folder or a contract file
    takes the whole load (which finds the one meant, or refuses with the closest name)."""
    from cpqctl.load import cache

    whole, parts = pair
    accounts = sorted(p.name for p in (parts / "contracts").iterdir())
    a, b = accounts[3], accounts[-2]
    c = sorted(p.stem for p in (parts / "contracts" / b).glob("C-*.yaml"))[0]
    limit = ("--account", a, "--contract", c)
    read: list[str] = []
    real = cache.load_files

    def counted(root, files, *args, **kwargs):
        read.extend(rel for rel, _ in files)
        return real(root, files, *args, **kwargs)

    # the gate of a writing run is `check`'s answer, remembered here (the monthly job's `check` leaves it): else it
    # would check every account first (in parts)
    assert cli("check", "--repo", parts, "--as-of", DAY, env={"CPQ_CHUNK_FILES": SMALL}).code == 0
    monkeypatch.setattr(cache, "load_files", counted)
    for extra in (("--dry-run", "--format", "json"), ("--format", "json"), ()):
        w = _write(cli, whole, "2026-12-31", False, *limit, *extra)
        read.clear()
        p = _write(cli, parts, "2026-12-31", True, *limit, *extra)
        assert w.code == 0, w.stderr
        assert p == w
        contracts = {rel.split("/")[1] for rel in read if rel.startswith("contracts/")}
        assert contracts <= {a, b}, (sorted(contracts)[:3], extra)  # (a contract with nothing due: not read)
        if "--dry-run" in extra:
            assert contracts == {a, b}
    assert (
        json.loads(_write(cli, whole, "2026-12-31", False, *limit, "--dry-run", "--format", "json").stdout)["count"]
        == 0
    )  # billed by the writing run above
    assert _tree(parts) == _tree(whole)
    assert parted == [False, True, False, True, False, True][: len(parted)] and True in parted
    # a name the parts do not hold exactly: the whole load answers (here: refuses, with the closest name)
    w = _write(cli, whole, "2026-12-31", False, "--account", a.upper() + "x")
    p = _write(cli, parts, "2026-12-31", True, "--account", a.upper() + "x")
    assert p == w and w.code != 0


def test_a_write_the_staged_check_refuses_writes_nothing(pair, cli, monkeypatch, parted) -> None:
    """An invoice text that does not read back as it was issued (here: its digest no longer matches) is refused by
    the parts as by the whole (E-WRITE-INVALID), and no file is written."""
    from cpqctl.app import invoicing

    real = invoicing._with_documents

    def tampered(root, loaded, rel, number, d):
        text, docs = real(root, loaded, rel, number, d)
        if number.endswith("1"):
            text = text.replace("amount: ", "amount: 1", 1)
        return text, docs

    monkeypatch.setattr(invoicing, "_with_documents", tampered)
    for root, parts in ((pair[0], False), (pair[1], True)):
        before = _tree(root)
        got = _write(cli, root, "2026-12-31", parts=parts)
        assert got.code != 0
        assert "E-WRITE-INVALID" in got.stderr and "nothing was written" in got.stderr
        assert _tree(root) == before
    assert parted == [False]  # the whole copy's run was not in parts; the parts' refusal is their own (had they
    # given way to the whole load, it would have refused as the second entry)


def test_a_repository_with_errors_is_refused_before_anything_is_billed(pair, cli, parted) -> None:
    whole, parts = pair
    for root in (whole, parts):
        c = next(p for p in sorted((root / "contracts").rglob("*.yaml")) if p.name != "account.yaml")
        c.write_text(c.read_text(encoding="utf-8").replace("start:", "start: 2026-13-01\nold_start:", 1))
    w = _write(cli, whole, "2026-12-31", parts=False)
    p = _write(cli, parts, "2026-12-31", parts=True)
    assert w.code != 0 and "E-INVALID-REPO" in w.stderr
    assert p == w
    assert parted == [False]  # the parts refused it themselves


def test_the_second_pass_reads_only_the_accounts_that_get_invoices(pair, cli, monkeypatch) -> None:
    """After a month is billed, billing one more contract's month reads (a second time) only its account."""
    from cpqctl.load import cache

    _, parts = pair
    first = _write(cli, parts, "2026-12-31", parts=True)
    assert first.code == 0, first.stderr
    read: list[str] = []
    real = cache.load_files

    def counting(root, files, *args, **kwargs):
        read.extend(rel for rel, _ in files)
        return real(root, files, *args, **kwargs)

    monkeypatch.setattr(cache, "load_files", counting)
    again = _write(cli, parts, "2026-12-31", parts=True)
    assert "nothing to invoice" in again.stderr, again.stderr
    accounts = {rel.split("/")[1] for rel in read if rel.startswith("contracts/")}
    assert not accounts  # every contract vouched for by its files: none is read


@pytest.fixture
def checks(monkeypatch):
    """Counts the whole-repository checks (:meth:`Workspace.findings`) the runs make."""
    from cpqctl.app.workspace import Workspace

    real = Workspace.findings
    got: list[int] = []

    def counted(self, *args, **kwargs):
        got.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Workspace, "findings", counted)
    return got


def test_the_next_writing_run_trusts_the_state_the_last_one_left(pair, cli, checks) -> None:
    """A run in parts checked the state it began from and each part it wrote: the state it leaves needs no whole
    check before the next writing run. Any change after it does."""
    _, parts = pair
    assert _write(cli, parts, "2026-11-30", True).code == 0
    assert len(checks) == 1
    assert _write(cli, parts, "2026-12-31", True).code == 0
    assert len(checks) == 1  # the state the first run left
    assert _write(cli, parts, "2026-12-31", True).code == 0
    assert len(checks) == 1
    # a change the runs did not make: checked again, and an error in it refused
    c = next(p for p in sorted((parts / "contracts").rglob("*.yaml")) if p.name != "account.yaml")
    c.write_text(c.read_text(encoding="utf-8").replace("start:", "start: 2026-13-01\nold_start:", 1))
    got = _write(cli, parts, "2026-12-31", True)
    assert len(checks) == 2
    assert got.code != 0 and "E-INVALID-REPO" in got.stderr


def test_a_file_changed_while_the_run_wrote_makes_it_vouch_for_nothing(pair, cli, checks, monkeypatch) -> None:
    """Another hand edits a file while the run is at work: the state left is not the one checked, so the next run
    checks the whole repository."""
    import os

    from cpqctl.app import invoicing

    _, parts = pair
    other = next(p for p in sorted((parts / "contracts").rglob("*.yaml")) if p.name != "account.yaml")
    real = invoicing._with_documents

    def meanwhile(*args):
        st = other.stat()
        other.write_bytes(other.read_bytes())  # the same bytes and mtime: only its ctime tells
        os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
        return real(*args)

    monkeypatch.setattr(invoicing, "_with_documents", meanwhile)
    assert _write(cli, parts, "2026-11-30", True).code == 0
    monkeypatch.setattr(invoicing, "_with_documents", real)
    assert len(checks) == 1
    assert _write(cli, parts, "2026-12-31", True).code == 0
    assert len(checks) == 2


def test_a_written_file_rewritten_within_the_clock_step_is_not_vouched_for(pair, cli) -> None:
    """The memo keeps the bytes of the files the run wrote: one rewritten so that its stats look the same (here: the
    memo's key taken again after the rewrite, as a coarse clock would leave it) is not vouched for."""
    import json as _json

    from cpqctl.load import remembered

    _, parts = pair
    assert _write(cli, parts, "2026-11-30", True).code == 0
    gate = parts / remembered.GATE
    body = _json.loads(gate.read_text())
    assert body["written"]
    rel = next(r for r in sorted(body["written"]) if r.endswith(".yaml"))
    key, _ = remembered.state_key(parts)
    assert body["key"] == key
    assert remembered.clean_by_write(parts, key, 0)
    path = parts / rel
    data = path.read_bytes()
    path.write_bytes(data[:-2] + (b"x" if data[-2:-1] != b"x" else b"y") + data[-1:])  # one byte other, same size
    key, _ = remembered.state_key(parts)
    gate.write_text(_json.dumps({**body, "key": key}))  # as if its stats had not moved
    assert not remembered.clean_by_write(parts, key, 0)


def test_the_errors_check_remembered_refuse_the_run_without_a_whole_check(pair, cli, checks) -> None:
    """`check` (the monthly job's first step) remembers its errors apart from its warnings: the run asks only
    those, and refuses on them as a check of its own would."""
    _, parts = pair
    c = next(p for p in sorted((parts / "contracts").rglob("*.yaml")) if p.name != "account.yaml")
    c.write_text(c.read_text(encoding="utf-8").replace("start:", "start: 2026-13-01\nold_start:", 1))
    age(parts)
    checked = cli("check", "--repo", parts, "--as-of", DAY)
    assert checked.code == 1
    assert len(checks) == 1  # `check` itself
    got = _write(cli, parts, "2026-12-31", True)
    assert len(checks) == 1
    assert got.code != 0 and "E-INVALID-REPO" in got.stderr and c.name in got.stderr


def test_with_a_closed_month_the_run_goes_in_parts_and_keeps_it_closed(pair, cli, parted) -> None:
    """With months closed (``periods/``) the run still goes in parts and writes what the whole run writes; a run
    whose invoices would land in a closed month (issued on a day in it) is refused in parts as the whole run's
    staged check refuses it (E-CLOSED-PERIOD), and writes nothing."""
    whole, parts = pair
    for root in pair:
        for month in ("2026-01", "2026-10"):
            closed = cli("close", month, "--as-of", DAY, "--repo", root)
            assert closed.code == 0, closed.stderr
        age(root)
    before = _tree(parts)
    late = ("--as-of", "2026-10-20")  # issued on a day of closed October

    def back(root: Path, in_parts: bool):
        return cli("invoice", "run", "--through", "2026-10-31", *late, "--repo", root,
                   env={"CPQ_CHUNK_FILES": SMALL if in_parts else WHOLE})  # fmt: skip

    w, p = back(whole, False), back(parts, True)
    assert w.code == p.code == 1 and "E-CLOSED-PERIOD" in w.stderr and "E-CLOSED-PERIOD" in p.stderr, p.stderr
    assert _tree(parts) == before
    w = _write(cli, whole, "2026-12-31", parts=False)
    p = _write(cli, parts, "2026-12-31", parts=True)
    assert w.code == 0, w.stderr
    assert p == w
    assert parted == [False, False, True]  # the refusal in parts raised; the whole runs declined; in parts
    assert _tree(parts) == _tree(whole)
    assert "INV-" in p.stdout + p.stderr  # it billed something
    assert cli("check", "--repo", parts, "--as-of", DAY, env={"CPQ_CHUNK_FILES": SMALL}).code == 0
