"""Writes about one account (issue 21): `quote new`, `amend`, `renew C`, `quote approve`, `quote redate` and accepting
an amendment quote load and check only that account's files (`Workspace.writing_account`), and write exactly what
the whole repository's write path writes.

Each scenario runs twice on copies of one generated repository (bench/gen.py): once as the commands run, once with
every write taking the whole repository (`Workspace.writing`, the reference path). Exit codes, outputs and every
file must be equal: a quote of the account the scoped load missed would make `renew` create a second renewal quote
instead of regenerating the first, a quote number taken from the account's quotes alone would collide.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cpqctl.app.workspace import Workspace
from tests.conftest import copy_repo, invoke

DAY = "2026-12-05"


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.parts
    }


def _contract_with_invoices(root: Path) -> tuple[str, str]:
    """(account, contract) of the first invoice's contract: a contract billed, amended and renewed below."""
    for f in sorted((root / "invoices").glob("*.yaml")):
        head = dict(ln.split(": ", 1) for ln in f.read_text(encoding="utf-8").splitlines()[:3])
        return head["account"], head["contract"]
    raise AssertionError("no invoice")


def _scenario(root: Path) -> list[tuple[int, str, str]]:
    account, contract = _contract_with_invoices(root)
    other = "acct-00002" if account != "acct-00002" else "acct-00003"
    run = ("--as-of", DAY, "--repo", root)
    out = []

    def go(*args: str) -> str:
        r = invoke(*args, *run)
        out.append((r.exit_code, r.stdout, r.stderr))
        return r.stderr

    go("quote", "new", "--account", account, "--start", "2027-01-01", "-l", "PRO-SEAT=10", "-f", "json")
    renewal = go("renew", contract, "-f", "json")  # creates the renewal quote
    renewal_quote = re.search(r"quotes/(\S+)\.yaml", renewal).group(1)
    created = go("quote", "new", "--account", other, "--start", "2027-02-01", "-l", "PRO-SEAT=2", "-f", "json")
    go("quote", "accept", re.search(r"wrote quotes/(\S+)\.yaml", created).group(1), "--signed-by", "Ewa Nowak")
    amended = go("amend", contract, "--effective", "2026-12-10", "--add", "PRO-SEAT=3", "-f", "json")
    quote = re.search(r"wrote quotes/(\S+)\.yaml", amended).group(1)
    go("quote", "approve", quote, "--by", "Anna Nowak")
    go("quote", "accept", quote, "--signed-by", "Piotr Mazur")
    go("renew", contract, "-f", "json")  # the ledger changed: regenerates the same renewal quote
    go("amend", contract, "--effective", "2027-01-10", "--add", "SSO=1", "-f", "json")
    go("quote", "accept", renewal_quote, "--signed-by", "Piotr Mazur")  # a new contract renewing the first
    go("quote", "new", "--account", "nobody", "--start", "2027-01-01", "-l", "SSO=1")  # refused: unknown account
    go("amend", "C-1999-99999", "--effective", "2027-01-10", "--add", "SSO=1")  # refused: unknown contract
    return out


def test_a_write_about_one_account_writes_what_the_whole_repository_path_writes(generated, tmp_path, monkeypatch):
    scoped = shutil.copytree(generated, tmp_path / "scoped", ignore=shutil.ignore_patterns(".cpq"))
    whole = shutil.copytree(generated, tmp_path / "whole", ignore=shutil.ignore_patterns(".cpq"))
    loaded: list[str] = []
    from cpqctl.load import repo as loader

    parts = loader.load_account_parts
    monkeypatch.setattr(
        loader, "load_account_parts", lambda root, account, *more: loaded.append(account) or parts(root, account, *more)
    )
    a = _scenario(scoped)
    account, _contract = _contract_with_invoices(scoped)
    # the ten writes above took their account's files, not the whole repository's (the two refused ones did)
    assert loaded == [account, account, loaded[2], loaded[2], account, account, account, account, account, account]
    assert loaded[2] != account

    monkeypatch.setattr(
        Workspace, "writing_account", lambda self, account, tolerate=frozenset(), **_: self.writing(tolerate)
    )
    loaded.clear()
    b = _scenario(whole)
    assert not loaded

    assert [x[0] for x in a] == [0] * 10 + [2, 2]  # the unknown account, the unknown contract
    assert [x.replace(str(scoped), "ROOT") for r in a for x in r[1:]] == [
        x.replace(str(whole), "ROOT") for r in b for x in r[1:]
    ]
    assert _files(scoped) == _files(whole)
    assert "regenerated quotes/" in a[7][2]  # the renewal quote was found among the account's quotes
    assert "created contracts/" in a[3][2] and "created contracts/" in a[9][2]  # new business, the renewal
    assert invoke("check", "--repo", scoped).exit_code == 0


def test_a_new_quote_number_passes_every_account_s_quotes(generated, tmp_path):
    root = shutil.copytree(generated, tmp_path / "repo", ignore=shutil.ignore_patterns(".cpq"))
    run = ("--as-of", DAY, "--repo", root)
    names = []
    for account in ("acct-00004", "acct-00005", "acct-00004"):
        r = invoke("quote", "new", "--account", account, "--start", "2027-01-01", "-l", "PRO-SEAT=1", *run)
        assert r.exit_code == 0, r.stderr
        names.append(re.search(r"wrote (quotes/\S+\.yaml)", r.stderr).group(1))
    assert len(set(names)) == 3 and names == sorted(names), (names, r.stderr)


def test_an_error_in_the_account_s_own_files_refuses_the_write(generated, tmp_path):
    root = shutil.copytree(generated, tmp_path / "repo", ignore=shutil.ignore_patterns(".cpq"))
    _account, contract = _contract_with_invoices(root)
    invoice = next(f for f in sorted((root / "invoices").glob("*.yaml")) if f"contract: {contract}\n" in f.read_text())
    text = invoice.read_text(encoding="utf-8")
    invoice.write_text(text.replace("\nnet_total: ", "\nnet_total: 1", 1), encoding="utf-8")  # tampered
    before = _files(root)
    r = invoke("amend", contract, "--effective", "2026-12-10", "--add", "PRO-SEAT=3", "--as-of", DAY, "--repo", root)
    assert r.exit_code == 1 and "E-INVALID-REPO" in r.stderr and invoice.name in r.stderr
    assert _files(root) == before


def test_a_quote_read_as_another_account_s_is_accepted_on_the_whole_repository(generated, tmp_path, monkeypatch):
    """The race, or a plain match misled: `quote accept` reads the file's `account:` line before it takes the lock.
    A quote that is not that account's once the lock is held is accepted on the whole repository, never on the
    files of an account it is not of."""
    from cpqctl.app import quotes
    from cpqctl.load import repo as loader

    root = shutil.copytree(generated, tmp_path / "repo", ignore=shutil.ignore_patterns(".cpq"))
    r = invoke("quote", "new", "--account", "acct-00004", "--start", "2027-01-01", "-l", "PRO-SEAT=1",
               "--as-of", DAY, "--repo", root)  # fmt: skip
    quote = re.search(r"wrote quotes/(\S+)\.yaml", r.stderr).group(1)
    monkeypatch.setattr(quotes, "_quote_account", lambda _root, _quote: "acct-00005")  # read as another's
    whole = []
    parts = loader.load_parts
    monkeypatch.setattr(loader, "load_parts", lambda *a, **k: whole.append(1) or parts(*a, **k))
    r = invoke("quote", "accept", quote, "--signed-by", "Anna Nowak", "--as-of", DAY, "--repo", root)
    assert r.exit_code == 0 and "created contracts/acct-00004/" in r.stderr, r.stderr
    assert whole  # the second pass read the whole repository
    assert invoke("check", "--repo", root).exit_code == 0


def test_a_new_contract_number_passes_every_account_s_contracts(generated, tmp_path):
    """A new-business quote accepted on one account's files takes a contract number no folder holds: the
    highest contract of the repository is another account's."""
    root = shutil.copytree(generated, tmp_path / "repo", ignore=shutil.ignore_patterns(".cpq"))
    run = ("--as-of", DAY, "--repo", root)
    every = sorted(p.stem for p in (root / "contracts").glob("*/C-2026-*.yaml"))
    highest = every[-1]
    mine = sorted(p.stem for p in (root / "contracts" / "acct-00004").glob("C-2026-*.yaml"))
    assert mine and mine[-1] < highest  # the series of 2026: its highest number is another account's
    r = invoke("quote", "new", "--account", "acct-00004", "--start", "2026-12-20", "-l", "PRO-SEAT=1", *run)
    quote = re.search(r"wrote quotes/(\S+)\.yaml", r.stderr).group(1)
    r = invoke("quote", "accept", quote, "--signed-by", "Anna Nowak", *run)
    assert r.exit_code == 0, r.stderr
    created = re.search(r"created contracts/acct-00004/(\S+)\.yaml", r.stderr).group(1)
    assert created not in every and created > highest and created.startswith("C-2026-")
    assert invoke("check", "--repo", root).exit_code == 0


def test_another_account_s_quote_the_plain_match_cannot_place_does_not_stop_a_write(generated, tmp_path):
    root = shutil.copytree(generated, tmp_path / "repo", ignore=shutil.ignore_patterns(".cpq"))
    run = ("--as-of", DAY, "--repo", root)
    r = invoke("quote", "new", "--account", "acct-00004", "--start", "2027-01-01", "-l", "PRO-SEAT=1", *run)
    path = root / re.search(r"wrote (quotes/\S+\.yaml)", r.stderr).group(1)
    path.write_text(path.read_text(encoding="utf-8").replace("account: acct-00004", 'account: "acct-00004"'))
    assert invoke("check", "--repo", root).exit_code == 0
    r = invoke("quote", "new", "--account", "acct-00005", "--start", "2027-01-01", "-l", "PRO-SEAT=1", *run)
    assert r.exit_code == 0, r.stderr


def test_a_contract_renews_one_of_its_own_account(generated, tmp_path):
    root = shutil.copytree(generated, tmp_path / "repo", ignore=shutil.ignore_patterns(".cpq"))
    mine = sorted((root / "contracts" / "acct-00004").glob("C-*.yaml"))[0]
    theirs = sorted((root / "contracts" / "acct-00005").glob("C-*.yaml"))[0]
    text = mine.read_text(encoding="utf-8")
    mine.write_text(text.replace("\naccount: acct-00004\n", f"\naccount: acct-00004\nrenews: {theirs.stem}\n", 1))
    r = invoke("check", "--format", "concise", "--repo", root)
    assert r.exit_code == 1 and "E-RENEWS-ACCOUNT" in r.stdout, r.stdout
    # a write about the account tells it the same way, from the other account's folder it does not read
    r = invoke("quote", "new", "--account", "acct-00004", "--start", "2027-01-01", "-l", "PRO-SEAT=1",
               "--as-of", DAY, "--repo", root)  # fmt: skip
    assert r.exit_code == 1 and "E-RENEWS-ACCOUNT" in r.stderr and "E-UNKNOWN-CONTRACT" not in r.stderr, r.stderr
    assert f"renews {theirs.stem} of account `acct-00005`" in r.stderr


def _draft_naming(root: Path, account: str, kind: str, contract: str) -> Path:
    """A draft quote of ``account`` (of ``kind``) naming ``contract``, written by hand."""
    r = invoke("quote", "new", "--account", account, "--start", "2027-01-01", "-l", "PRO-SEAT=1",
               "--as-of", DAY, "--repo", root)  # fmt: skip
    path = root / re.search(r"wrote (quotes/\S+\.yaml)", r.stderr).group(1)
    text = path.read_text(encoding="utf-8")
    assert f"\naccount: {account}\n" in text and "\nkind: new\n" in text, text
    text = text.replace(f"\naccount: {account}\n", f"\naccount: {account}\ncontract: {contract}\n", 1)
    path.write_text(text.replace("\nkind: new\n", f"\nkind: {kind}\n", 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["new", "amendment"])
def test_a_reference_to_another_account_s_contract_is_judged_as_the_whole_check_judges_it(generated, tmp_path, kind):
    """A write about one account reads only its files; a reference to another account's contract is neither
    unknown (a draft new-business quote may name one: `check` finds nothing) nor passed over (an amendment quote of
    another account's contract: E-QUOTE-ACCOUNT, as `check` says)."""
    root = shutil.copytree(generated, tmp_path / "repo", ignore=shutil.ignore_patterns(".cpq"))
    theirs = sorted((root / "contracts" / "acct-00005").glob("C-*.yaml"))[0].stem
    _draft_naming(root, "acct-00004", kind, theirs)
    whole = invoke("check", "--format", "concise", "--repo", root)
    codes = set(re.findall(r"error\[([A-Z0-9-]+)\]", whole.stdout))
    r = invoke("quote", "new", "--account", "acct-00004", "--start", "2027-01-01", "-l", "PRO-SEAT=2",
               "--as-of", DAY, "--repo", root)  # fmt: skip
    if kind == "new":
        assert whole.exit_code == 0 and r.exit_code == 0, (whole.stdout, r.stderr)
    else:
        assert whole.exit_code == 1 and "E-QUOTE-ACCOUNT" in codes, whole.stdout
        refused = set(re.findall(r"error\[([A-Z0-9-]+)\]", r.stderr)) - {"E-INVALID-REPO"}
        assert r.exit_code == 1 and refused == codes, (codes, r.stderr)
        assert "E-QUOTE-ACCOUNT" in r.stderr and "E-UNKNOWN-CONTRACT" not in r.stderr, r.stderr


def _closed_scenario(root: Path, year_root: bool) -> list[tuple[int, str, str]]:
    """Writes that change the journal, on a repository with months closed: those that leave the closed months as
    they were pass, those that would change one are refused (E-WRITE-INVALID, E-CLOSED-PERIOD) and write nothing."""
    out = []

    def go(*args: str, day: str = "2026-12-31") -> str:
        r = invoke(*args, "--as-of", day, "--repo", root)
        out.append((r.exit_code, r.stdout, r.stderr))
        return r.stderr

    go("payment", "record", "-a", "hooli", "--amount", "10.00", "--format", "json", day="2026-06-20")  # June: no
    go("payment", "record", "-a", "hooli", "--amount", "10.00", "--format", "json", day="2026-07-20")  # July: yes
    go("payment", "record", "-a", "acme", "--amount", "12.00", "--format", "json", day="2025-11-20")  # Nov: no
    go("invoice", "correct", "INV-2026-0002", "--reason", "price", "--format", "json")  # dated now: yes
    amended = go("amend", "C-2026-0001", "--effective", "2026-12-10", "--add", "PRO-SEAT=3", "--format", "json")
    quote = re.search(r"wrote quotes/(\S+)\.yaml", amended)
    assert quote, amended
    go("quote", "accept", quote.group(1), "--signed-by", "Piotr Mazur")  # from December: yes
    return out


def test_a_write_about_one_account_keeps_the_closed_months_as_the_whole_path_does(year, tmp_path, monkeypatch):
    """With months closed, a write about one account reads that account's files only and refuses exactly the
    commits the whole repository's staged check refuses (a closed month's journal changes only by the account's
    lines and its share of the unbilled receivables); the files are the same either way."""
    from cpqctl.app.workspace import Workspace
    from cpqctl.load import repo as loader

    roots = []
    for name in ("scoped", "whole"):
        root = copy_repo(year, tmp_path / name)
        for month in ("2025-11", "2026-01", "2026-06"):
            r = invoke("close", month, "--by", "Anna", "--as-of", "2026-12-31", "--repo", root)
            assert r.exit_code == 0, r.stderr
        roots.append(root)
    scoped, whole = roots
    loaded: list[str] = []
    parts = loader.load_account_parts
    monkeypatch.setattr(loader, "load_account_parts", lambda r, a, *more: loaded.append(a) or parts(r, a, *more))
    every = []
    real_parts = loader.load_parts
    monkeypatch.setattr(loader, "load_parts", lambda *x, **k: every.append(1) or real_parts(*x, **k))
    a = _closed_scenario(scoped, True)
    assert loaded and not every  # one account's files each time, never the whole repository
    monkeypatch.setattr(
        Workspace, "writing_account", lambda self, account, tolerate=frozenset(), **_: self.writing(tolerate)
    )
    b = _closed_scenario(whole, True)
    assert [x[0] for x in a] == [x[0] for x in b] == [1, 0, 1, 0, 0, 0], [x[2] for x in a]
    for (code, _, err), (_, _, err_whole) in zip(a, b, strict=True):
        if code:
            assert "E-WRITE-INVALID" in err and "E-CLOSED-PERIOD" in err and "E-CLOSED-PERIOD" in err_whole
    assert "2026-06-20 Payment" in a[0][2] and "2025-11-20 Payment" in a[2][2]
    assert [x[1].replace(str(scoped), "ROOT") for x in a] == [x[1].replace(str(whole), "ROOT") for x in b]
    assert _files(scoped) == _files(whole)
    for root in roots:
        assert invoke("check", "--repo", root, "--as-of", "2026-12-31").exit_code == 0


def test_a_write_that_moves_the_unbilled_receivables_of_a_closed_month_is_refused(year, tmp_path) -> None:
    """The unbilled receivables' line of a closed month is every contract's: a write that changes the account's
    share of its change is refused, though none of the account's own transactions of the month changes."""
    from cpqctl.app.closing import AccountBooks, closed_months
    from cpqctl.load.repo import load_account_parts

    root = copy_repo(year, tmp_path / "repo")
    assert invoke("close", "2026-01", "--by", "Anna", "--as-of", "2026-12-31", "--repo", root).exit_code == 0
    text = (root / "periods" / "2026-01.yaml").read_text()
    assert "Unbilled receivables 2026-01" in text
    account = next(a for a in ("initech", "acme", "hooli") if (root / "contracts" / a).is_dir())
    books = AccountBooks(root, closed_months(root), load_account_parts(root, account, True))
    same = {m: (lines, by, {c: v for c, v in u.items()}) for m, (lines, by, u) in books.before.items()}
    assert books._changed(same) == []
    for month, (lines, by, unbilled) in same.items():
        if unbilled:
            cur = next(iter(unbilled))
            moved = {**same, month: (lines, by, {**unbilled, cur: unbilled[cur] + 1})}
            found = books._changed(moved)
            assert [d.code for d in found] == ["E-CLOSED-PERIOD"] and "Unbilled receivables" in found[0].message
            break
    else:
        raise AssertionError("no unbilled receivables in the account's share")


def test_a_correction_reads_one_account_and_numbers_past_every_correction(generated, tmp_path, monkeypatch):
    """`invoice correct` loads the corrected invoice's account (its contracts' invoices) and writes what the whole
    repository's path writes: the corrective invoice and its documents, numbered past another account's
    correction; an unknown number is refused by the whole repository."""
    from cpqctl.load import repo as loader

    scoped = shutil.copytree(generated, tmp_path / "scoped", ignore=shutil.ignore_patterns(".cpq"))
    whole = shutil.copytree(generated, tmp_path / "whole", ignore=shutil.ignore_patterns(".cpq"))
    firsts = {}  # account → its first invoice
    for f in sorted((scoped / "invoices").glob("INV-*.yaml")):
        head = dict(ln.split(": ", 1) for ln in f.read_text(encoding="utf-8").splitlines()[:3])
        firsts.setdefault(head["account"], f.stem)
    (a, inv_a), (b, inv_b) = sorted(firsts.items())[:2]

    def scenario(root: Path) -> list[tuple[int, str, str]]:
        out = []
        for number, why in ((inv_b, "wrong address"), (inv_a, "wrong quantity"), ("INV-1999-9", "typo")):
            r = invoke("invoice", "correct", number, "--reason", why, "--as-of", DAY, "--repo", root)
            out.append((r.exit_code, r.stdout.replace(str(root), "ROOT"), r.stderr.replace(str(root), "ROOT")))
        return out

    loaded: list[str] = []
    parts = loader.load_account_parts
    monkeypatch.setattr(
        loader, "load_account_parts", lambda root, account, *more: loaded.append(account) or parts(root, account, *more)
    )
    got = scenario(scoped)
    assert loaded == [b, a]  # the unknown number: the whole repository
    monkeypatch.setattr(Workspace, "writing_account", lambda self, account, tolerate=frozenset(), **_: self.writing())
    loaded.clear()
    assert scenario(whole) == got and not loaded
    assert [x[0] for x in got] == [0, 0, 2] and "E-UNKNOWN-INVOICE" in got[2][2]
    assert _files(scoped) == _files(whole)  # the corrections, their documents, their numbers
    numbers = [re.search(r"wrote invoices/(\S+)\.yaml", x[2]).group(1) for x in got[:2]]
    assert numbers[0] < numbers[1]  # a's correction numbered past b's, which a's files do not hold
    assert invoke("check", "--repo", scoped).exit_code == 0


def test_a_new_contract_number_passes_contracts_filed_by_hand_in_other_folders(generated, tmp_path):
    """A new contract's number is the one the whole repository's path gives: past a contract filed by hand in
    another account's folder (past a gap too), and free again once that file is gone; nothing remembered decides it."""
    root = shutil.copytree(generated, tmp_path / "repo", ignore=shutil.ignore_patterns(".cpq"))
    run = ("--as-of", DAY, "--repo", root)

    def accept(account: str) -> str:
        r = invoke("quote", "new", "--account", account, "--start", "2026-12-20", "-l", "PRO-SEAT=1", *run)
        quote = re.search(r"wrote quotes/(\S+)\.yaml", r.stderr).group(1)
        r = invoke("quote", "accept", quote, "--signed-by", "Anna Nowak", *run)
        assert r.exit_code == 0, r.stderr
        return re.search(r"created contracts/\S+/(\S+)\.yaml", r.stderr).group(1)

    n = int(accept("acct-00004").rsplit("-", 1)[1])
    src = sorted((root / "contracts" / "acct-00005").glob("C-*.yaml"))[0]
    ident = f"C-2026-{n + 5:05d}"
    (src.parent / f"{ident}.yaml").write_text(src.read_text(encoding="utf-8").replace(src.stem, ident))
    assert accept("acct-00004") == f"C-2026-{n + 6:05d}"
    (src.parent / f"{ident}.yaml").unlink()
    assert accept("acct-00006") == f"C-2026-{n + 7:05d}"  # past acct-00004's second contract
    every = [p.stem for p in (root / "contracts").glob("*/C-*.yaml")]
    assert len(every) == len(set(every))
