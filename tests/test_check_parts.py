"""`check` of a big repository one part at a time (issue 21; :mod:`cpqctl.app.check_parts`): the findings are the
whole check's, byte for byte, over a set of faults — those the parts answer themselves (rules over every invoice
or payment, warnings, references to what no file defines) and those for which they hand over to the whole check
(a record naming one of another part, a loader error, an ID in two folders, closed months)."""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import copy_repo

SMALL = "40"  # files per part: the 60-account repository in about 5 parts
WHOLE = "100000000"


@pytest.fixture(autouse=True)
def settled(monkeypatch) -> None:
    monkeypatch.setattr("cpqctl.load.cache.RACY_NS", 0)


def _both(root: Path, monkeypatch, size: str = SMALL) -> tuple[list | None, list]:
    """(the parts' findings or None, the whole check's findings)."""
    from cpqctl.app import check_parts
    from cpqctl.app.workspace import Workspace

    monkeypatch.setenv("CPQ_CHUNK_FILES", size)
    ws = Workspace.open(root, as_of="2026-12-31")
    parts = check_parts.findings(root, ws.meter)
    repo, found = ws.load_checked()
    return parts, sorted(found + ws.einvoice_findings(repo, found))


def _invoices(root: Path) -> dict[str, tuple[str, str, str]]:
    """Invoice number → (file, account, date)."""
    out = {}
    for p in sorted((root / "invoices").glob("*.yaml")):
        text = p.read_text(encoding="utf-8")
        num = re.search(r"^invoice: (\S+)$", text, re.M).group(1)  # type: ignore[union-attr]
        acct = re.search(r"^account: (\S+)$", text, re.M).group(1)  # type: ignore[union-attr]
        day = re.search(r"^date: (\S+)$", text, re.M).group(1)  # type: ignore[union-attr]
        out[num] = (str(p), acct, day)
    return out


def _strip_digests(root: Path, numbers=None) -> None:
    for num, (f, _, _) in _invoices(root).items():
        if numbers is None or num in numbers:
            p = Path(f)
            p.write_text(re.sub(r"^digest: .*\n", "", p.read_text(encoding="utf-8"), flags=re.M), encoding="utf-8")


def _payment(root: Path, ident: str, account: str, amount: str = "100.00", allocations=(), imported: str = "") -> None:
    folder = root / "payments" / "2026-06"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"payment: {ident}", "date: 2026-06-10"]
    if account:
        lines.append(f"account: {account}")
    lines += [f"amount: {amount}", "currency: PLN", "payer: Someone"]
    if imported:
        lines.append(f"imported: {imported}")
    if allocations:
        lines.append("allocations:")
        lines += [f"  - {{invoice: {n}, amount: {a}}}" for n, a in allocations]
    (folder / f"{ident}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _contract_file(root: Path, account: str) -> Path:
    return sorted((root / "contracts" / account).glob("C-*.yaml"))[0]


def _first_two_accounts_far_apart(root: Path) -> tuple[str, str]:
    accounts = sorted({acct for _, acct, _ in _invoices(root).values()})
    return accounts[0], accounts[-1]


# --------------------------------------------------------------------------- faults the parts answer


def clean(root: Path) -> None:
    pass


def no_digests(root: Path) -> None:
    """Invoices issued before digests: one W-INVOICE-DIGEST over all of them (first and last number)."""
    _strip_digests(root)


def one_digest_gone(root: Path) -> None:
    """A digested invoice's digest line deleted: E-INVOICE-DIGEST, dated after the first digested invoice."""
    latest = max(_invoices(root).items(), key=lambda kv: (kv[1][2], kv[0]))[0]
    _strip_digests(root, {latest})


def out_of_order(root: Path) -> None:
    """A higher number dated before a lower one (W-INVOICE-ORDER, naming an invoice of another account)."""
    _strip_digests(root)
    invs = _invoices(root)
    last = max(n for n in invs if n.startswith("INV-2026-"))
    p = Path(invs[last][0])
    p.write_text(re.sub(r"^date: .*$", "date: 2026-01-01", p.read_text(encoding="utf-8"), flags=re.M), encoding="utf-8")


def gap(root: Path) -> None:
    """A deleted invoice: E-INVOICE-GAP at the next number of its series, in another account's file."""
    numbers = sorted(_invoices(root))
    Path(_invoices(root)[numbers[len(numbers) // 2]][0]).unlink()


def no_seller_tax_id(root: Path) -> None:
    toml = root / "cpq.toml"
    toml.write_text(re.sub(r'^tax_id = ".*"\n', "", toml.read_text(encoding="utf-8"), flags=re.M), encoding="utf-8")


def bank_line_twice(root: Path) -> None:
    """One bank line recorded by payments of two accounts in different parts (E-PAYMENT-DUPLICATE)."""
    a, b = _first_two_accounts_far_apart(root)
    _payment(root, "PAY-2026-9001", a, imported="camt053 S1 E1")
    _payment(root, "PAY-2026-9002", b, imported="camt053 S1 E1")
    _payment(root, "PAY-2026-9003", "", imported="camt053 S1 E2")  # no account yet: a line to review


def unknown_quote(root: Path) -> None:
    """A contract naming a quote no file defines (W-UNKNOWN-QUOTE): the same unknown in a part."""
    p = _contract_file(root, "acct-00007")
    p.write_text(p.read_text(encoding="utf-8") + "quote: Q-2099-99999\n", encoding="utf-8")


# --------------------------------------------------------------------------- faults the whole check answers


def payment_of_another(root: Path) -> None:
    """A payment of one account settling another account's invoice (in another part): E-PAYMENT-ACCOUNT."""
    a, b = _first_two_accounts_far_apart(root)
    num = next(n for n, (_, acct, _) in _invoices(root).items() if acct == b)
    _payment(root, "PAY-2026-9001", a, allocations=[(num, "10.00")])


def quote_of_another(root: Path) -> None:
    """A draft amendment quote of one account naming another account's contract (E-QUOTE-ACCOUNT)."""
    a, b = _first_two_accounts_far_apart(root)
    contract = _contract_file(root, b).stem
    (root / "quotes").mkdir(exist_ok=True)
    (root / "quotes" / "Q-2026-90001.yaml").write_text(
        f"quote: Q-2026-90001\naccount: {a}\ndate: 2026-06-01\nkind: amendment\ncontract: {contract}\n"
        "effective: 2026-07-01\nlines:\n  - {product: SSO, quantity: 1}\n",
        encoding="utf-8",
    )


def orphan_quote(root: Path) -> None:
    """A quote of an account with no folder (E-UNKNOWN-ACCOUNT): no part holds it."""
    (root / "quotes").mkdir(exist_ok=True)
    (root / "quotes" / "Q-2026-90002.yaml").write_text(
        "quote: Q-2026-90002\naccount: acct-99999\ndate: 2026-06-01\nlines:\n  - {product: SSO, quantity: 1}\n",
        encoding="utf-8",
    )


def broken_file(root: Path) -> None:
    p = _contract_file(root, "acct-00030")
    p.write_text(p.read_text(encoding="utf-8") + "lines: [\n", encoding="utf-8")


def contract_twice(root: Path) -> None:
    """One contract's file copied into another account's folder (E-DUPLICATE-ID, E-ACCOUNT-FOLDER)."""
    src = _contract_file(root, "acct-00050")
    shutil.copy(src, root / "contracts" / "acct-00003" / src.name)


def renews_another(root: Path) -> None:
    """A contract renewing another account's contract (E-RENEWS-ACCOUNT)."""
    a, b = _first_two_accounts_far_apart(root)
    p = _contract_file(root, a)
    p.write_text(p.read_text(encoding="utf-8") + f"renews: {_contract_file(root, b).stem}\n", encoding="utf-8")


def names_a_quote_of_another(root: Path) -> None:
    """A contract naming a draft quote of another account (in another part): whole, E-QUOTE-ROLLBACK; a part
    alone would only see an unknown quote (a warning)."""
    a, b = _first_two_accounts_far_apart(root)
    (root / "quotes").mkdir(exist_ok=True)
    (root / "quotes" / "Q-2026-90003.yaml").write_text(
        f"quote: Q-2026-90003\naccount: {b}\ndate: 2026-06-01\nlines:\n  - {{product: SSO, quantity: 1}}\n",
        encoding="utf-8",
    )
    p = _contract_file(root, a)
    p.write_text(p.read_text(encoding="utf-8") + "quote: Q-2026-90003\n", encoding="utf-8")


ANSWERED = [clean, no_digests, one_digest_gone, out_of_order, gap, no_seller_tax_id, bank_line_twice, unknown_quote]
HANDED_OVER = [
    names_a_quote_of_another,
    payment_of_another,
    quote_of_another,
    orphan_quote,
    broken_file,
    contract_twice,
    renews_another,
]


@pytest.mark.parametrize("fault", ANSWERED, ids=lambda f: f.__name__)
def test_the_parts_answer_as_the_whole_check(generated, tmp_path, monkeypatch, fault) -> None:
    root = copy_repo(generated, tmp_path / "repo")
    fault(root)
    parts, whole = _both(root, monkeypatch)
    assert parts is not None, "the parts should answer this one"
    assert parts == whole
    if fault is not clean:
        assert whole, "the fault shows"
    if fault is out_of_order:
        assert any(d.code == "W-INVOICE-ORDER" for d in whole)


@pytest.mark.parametrize("fault", HANDED_OVER, ids=lambda f: f.__name__)
def test_the_parts_hand_over_what_crosses_them(generated, tmp_path, monkeypatch, fault) -> None:
    root = copy_repo(generated, tmp_path / "repo")
    fault(root)
    parts, whole = _both(root, monkeypatch)
    assert any(d.severity == "error" for d in whole), "the fault shows as an error"
    assert parts is None


@pytest.fixture(scope="module")
def closed(year, tmp_path_factory) -> Path:
    """The example invoiced monthly through 2026 with its bank statements (conftest's ``year``: two currencies, a
    correction, a cancellation, unbilled receivables, payments of every kind) and a bank line naming no account,
    three months closed (`cpqctl close`)."""
    from tests.conftest import invoke

    root = copy_repo(year, tmp_path_factory.mktemp("closed") / "repo")
    _payment(root, "PAY-LOOSE-1", "", "50.00")  # a bank line naming no account (the first part's), June
    for month in ("2025-11", "2026-01", "2026-06"):
        r = invoke("close", month, "--by", "Anna", "--repo", root, "--as-of", "2026-12-31")
        assert r.exit_code == 0, r.stderr
    text = "".join(p.read_text(encoding="utf-8") for p in (root / "periods").glob("*.yaml"))
    for what in ("Unbilled receivables", "Payment PAY-LOOSE-1", "Revenue recognised", "Invoice "):
        assert what in text, what
    return root


def _payment_in_june(root: Path) -> None:
    """A payment of an account in a middle part, dated in the closed June: a new transaction of a closed month."""
    accounts = sorted(p.name for p in (root / "contracts").iterdir())
    _payment(root, "PAY-LATE-1", accounts[-1], "10.00")


def _loose_payment_moved(root: Path) -> None:
    """The bank line naming no account moved out of June: gone from a closed month (the first part's record)."""
    p = root / "payments" / "2026-06" / "PAY-LOOSE-1.yaml"
    (root / "payments" / "2026-07").mkdir(exist_ok=True)
    moved = root / "payments" / "2026-07" / p.name
    moved.write_text(p.read_text(encoding="utf-8").replace("date: 2026-06-10", "date: 2026-07-10"), encoding="utf-8")
    p.unlink()


def _month_named_oddly(root: Path) -> None:
    (root / "periods" / "2026-06.yaml").rename(root / "periods" / "june.yaml")


def _period_broken(root: Path) -> None:
    (root / "periods" / "2026-01.yaml").write_text("period: [2026-01\n", encoding="utf-8")


@pytest.mark.parametrize(
    "fault", [clean, _payment_in_june, _loose_payment_moved, _month_named_oddly, _period_broken],
    ids=lambda f: f.__name__.strip("_"),
)  # fmt: skip
def test_closed_months_are_checked_in_parts_as_whole(closed, tmp_path, monkeypatch, fault) -> None:
    """Closed months' journals are a rule over every account: each part gives its share of each month (its
    transactions and its unbilled receivables' balances), merged at the end in the journal's order; the
    findings are the whole check's."""
    root = copy_repo(closed, tmp_path / "repo")
    fault(root)
    parts, whole = _both(root, monkeypatch, "8")
    assert parts is not None, "the parts answer"
    assert parts == whole
    if fault is clean:
        assert whole == []
    else:
        assert whole, "the fault shows"
    if fault in (_payment_in_june, _loose_payment_moved):
        assert [d.code for d in whole] == ["E-CLOSED-PERIOD"], whole


def test_closed_months_are_re_checked_from_what_each_part_remembers(closed, tmp_path, monkeypatch) -> None:
    """The second check takes every part's share of the closed months from what the first remembered; an edit in
    one account after it changes a closed month, and the parts read again and remembered say so as the whole."""
    from cpqctl.app import check_parts

    root = copy_repo(closed, tmp_path / "repo")
    from tests.conftest import age

    age(root)
    assert _both(root, monkeypatch, "8") == ([], [])
    read = []
    real = check_parts.Closed.of
    monkeypatch.setattr(check_parts.Closed, "of", lambda self, repo: read.append(1) or real(self, repo))
    assert _both(root, monkeypatch, "8") == ([], [])
    assert read == []  # every part's share remembered
    _payment_in_june(root)
    parts, whole = _both(root, monkeypatch, "8")
    assert parts == whole and [d.code for d in whole] == ["E-CLOSED-PERIOD"]
    assert 0 < len(read) < 5  # the parts read again: the edited account's (and those after it, shifted)


def test_cli_check_in_parts_prints_what_the_whole_check_prints(generated, tmp_path, cli) -> None:
    """`cpqctl check` of the same repository (with findings) in parts and whole: the same output and exit code."""
    root = copy_repo(generated, tmp_path / "repo")
    out_of_order(root)
    bank_line_twice(root)
    outs = []
    for size in (SMALL, WHOLE):
        for fmt in ("full", "json"):
            shutil.rmtree(root / ".cpq", ignore_errors=True)  # nothing remembered
            r = cli("check", "--format", fmt, "--repo", root, "--as-of", "2026-12-31", env={"CPQ_CHUNK_FILES": size})
            outs.append((r.code, r.stdout))
            assert r.code == 1, r.stderr
    assert outs[0] == outs[2] and outs[1] == outs[3]
    assert outs[0][0] == 1 and "E-PAYMENT-DUPLICATE" in outs[0][1] and "W-INVOICE-ORDER" in outs[0][1]


def test_the_einvoice_verdicts_of_every_part_are_remembered(generated, tmp_path, monkeypatch) -> None:
    """The FA(3) files found valid in every part are remembered together (.cpq/cache/einvoice.json), as by the
    whole check: a part's own verdicts alone would make the next check validate the others' again."""
    from cpqctl.app import check_parts
    from cpqctl.app.workspace import Workspace

    root = copy_repo(generated, tmp_path / "repo")
    monkeypatch.setenv("CPQ_CHUNK_FILES", SMALL)
    ws = Workspace.open(root, as_of="2026-12-31")
    assert check_parts.findings(root, ws.meter) == []
    cache = root / ".cpq" / "cache" / "einvoice.json"
    in_parts = cache.read_bytes()
    cache.unlink()
    repo, found = ws.load_checked()
    assert ws.einvoice_findings(repo, found) == []
    assert cache.read_bytes() == in_parts and in_parts.count(b'"') > 40  # some twenty invoices validated


def test_a_payment_id_in_two_months_is_checked_whole(generated, tmp_path, monkeypatch) -> None:
    """The same payment ID in two month folders, of accounts in two parts (E-DUPLICATE-ID): the whole check's."""
    root = copy_repo(generated, tmp_path / "repo")
    a, b = _first_two_accounts_far_apart(root)
    _payment(root, "PAY-2026-9001", a)
    other = root / "payments" / "2026-07"
    other.mkdir()
    text = (root / "payments" / "2026-06" / "PAY-2026-9001.yaml").read_text(encoding="utf-8")
    text = text.replace("2026-06-10", "2026-07-10").replace(f"account: {a}", f"account: {b}")
    (other / "PAY-2026-9001.yaml").write_text(text, encoding="utf-8")
    parts, whole = _both(root, monkeypatch)
    assert parts is None and any(d.code == "E-DUPLICATE-ID" for d in whole)


def test_one_position_read_without_filling_the_map() -> None:
    """`source_at` gives what `at.get` gives, for every key and a missing one, and leaves a lazy map unread."""
    from cpqctl.core.model import Source
    from cpqctl.load.positions import lazy, pending_of, source_at

    at = lazy("invoices/X.yaml", {"invoice": (1, 10), "date": (4, 7), "lines": (12, 1)})
    fallback = Source("invoices/X.yaml")
    got = {k: source_at(at, k, fallback) for k in ("invoice", "date", "lines", "digest")}
    assert pending_of(at) is not None  # still unread
    assert got == {k: at.get(k, fallback) for k in ("invoice", "date", "lines", "digest")}
    assert got["date"] == Source("invoices/X.yaml", 4, 7) and got["digest"] is fallback
    assert source_at(at, "lines", fallback) == Source("invoices/X.yaml", 12, 1)  # filled: the map answers


# --------------------------------------------------------------------------- renew --due --dry-run


def _renew_due(cli, root: Path) -> tuple[int, str, str]:
    r = cli(
        "renew", "--due", "--dry-run", "--within", "400", "--as-of", "2026-12-05", "--format", "json", "--repo", root,
        env={"CPQ_REMEMBER": "0", "CPQ_CHUNK_FILES": SMALL},
    )  # fmt: skip
    return r.code, r.stdout, r.stderr


@pytest.mark.parametrize("fault", [clean, out_of_order, broken_file], ids=lambda f: f.__name__)
def test_renew_due_dry_run_reads_no_invoice_on_a_clean_repository(generated, tmp_path, cli, monkeypatch, fault):
    """`renew --due --dry-run` on a repository `check` finds no error in (warnings allowed) reads the contracts,
    accounts, quotes and catalog only, and answers what the whole load answers; on one with an error it takes the
    whole load, whose refusal is the answer."""
    from cpqctl.app.workspace import Workspace

    root = copy_repo(generated, tmp_path / "repo")
    fault(root)
    real = Workspace.read_if_clean
    light: list = []

    def spied(self, kinds):
        repo = real(self, kinds)
        light.append(None if repo is None else len(repo.invoices))
        return repo

    monkeypatch.setattr(Workspace, "read_if_clean", spied)
    got = _renew_due(cli, root)
    monkeypatch.setattr(Workspace, "read_if_clean", lambda self, kinds: None)
    shutil.rmtree(root / ".cpq", ignore_errors=True)
    assert got == _renew_due(cli, root)
    if fault is broken_file:
        assert light == [None] and got[0] != 0 and "E-INVALID-REPO" in got[2]
    else:
        assert light == [0] and got[0] == 0 and '"action": "create"' in got[1]


# --------------------------------------------------------------------------- renew --due, writing


def _renew_due_write(cli, root: Path) -> tuple[int, str, str]:
    r = cli("renew", "--due", "--within", "400", "--as-of", "2026-12-05", "--format", "json", "--repo", root)
    return r.code, r.stdout.replace(str(root), "ROOT"), r.stderr.replace(str(root), "ROOT")


def _quotes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "quotes").glob("*"))}


@pytest.mark.parametrize("fault", [clean, out_of_order, broken_file], ids=lambda f: f.__name__)
def test_renew_due_writes_from_the_contracts_alone_what_the_whole_load_writes(
    generated, tmp_path, cli, monkeypatch, fault
):
    """`renew --due` on a repository `check` finds no error in (warnings allowed) loads the contracts, accounts,
    quotes and catalog only (:meth:`Workspace.writing_kinds`) and writes the same quotes, byte for byte, as the whole
    repository's write path; on one with an error the whole load refuses it."""
    from cpqctl.app.workspace import Workspace

    light_root = copy_repo(generated, tmp_path / "light")
    whole_root = copy_repo(generated, tmp_path / "whole")
    for root in (light_root, whole_root):
        fault(root)
    real = Workspace.writing_kinds
    light: list = []

    @contextmanager
    def spied(self, kinds):
        with real(self, kinds) as got:
            light.append(None if got is None else len(got[1].invoices))
            yield got

    monkeypatch.setattr(Workspace, "writing_kinds", spied)
    got = _renew_due_write(cli, light_root)

    @contextmanager
    def never(self, kinds):
        yield None

    monkeypatch.setattr(Workspace, "writing_kinds", never)
    assert got == _renew_due_write(cli, whole_root)
    assert _quotes(light_root) == _quotes(whole_root)
    if fault is broken_file:
        assert light == [None] and got[0] != 0 and "E-INVALID-REPO" in got[2] and not _quotes(light_root)
    else:
        assert light == [0] and got[0] == 0 and "renewal quote(s) created" in got[2]
        assert len(_quotes(light_root)) > 3
        assert cli("check", "--repo", light_root).code == 0  # warnings at most


def test_renew_due_refuses_a_quote_that_would_leave_an_error(generated, tmp_path, cli, monkeypatch):
    """Each commit of the light write is checked on the files it read: a renewal quote that does not read back
    (here: one naming an account with no folder) is refused and nothing is written."""
    from cpqctl.app import renew

    root = copy_repo(generated, tmp_path / "repo")
    real = renew._stage

    def broken(tx, where, p):
        out = real(tx, where, p)
        for rel in out:
            tx.write(rel, p.text.replace(f"account: {p.quote.account}\n", "account: acct-99999\n", 1))
        return out

    monkeypatch.setattr(renew, "_stage", broken)
    r = cli("renew", "--due", "--within", "400", "--as-of", "2026-12-05", "--repo", root)
    assert r.code != 0 and "E-WRITE-INVALID" in r.stderr and "acct-99999" in r.stderr
    assert not (root / "quotes").exists() or not list((root / "quotes").glob("*.yaml"))


@pytest.mark.parametrize("month", ["2025-11", "2026-01", "2026-06"])
def test_close_in_parts_writes_what_the_whole_close_writes(closed, tmp_path, monkeypatch, cli, month) -> None:
    """`cpqctl close` of a big repository computes the month's journal one part at a time (as `check` does) and
    writes the very file the whole close writes; then `check` in parts finds the books as closed."""
    from cpqctl.app import closing

    used = []
    real = closing._entries_in_parts
    monkeypatch.setattr(closing, "_entries_in_parts", lambda *a: used.append(real(*a)) or used[-1])
    out = {}
    for size in ("8", WHOLE):
        root = copy_repo(closed, tmp_path / size)
        (root / "periods" / f"{month}.yaml").unlink()
        r = cli("close", month, "--by", "Anna", "--format", "json", "--repo", root, "--as-of", "2026-12-31",
                env={"CPQ_CHUNK_FILES": size})  # fmt: skip
        assert r.code == 0, r.stderr
        out[size] = (r.stdout, (root / "periods" / f"{month}.yaml").read_bytes())
        assert (root / "periods" / f"{month}.yaml").read_bytes() == (closed / "periods" / f"{month}.yaml").read_bytes()
        monkeypatch.setenv("CPQ_CHUNK_FILES", "8")
        assert _both(root, monkeypatch, "8") == ([], [])
        again = cli("close", month, "--repo", root, "--as-of", "2026-12-31", env={"CPQ_CHUNK_FILES": size})
        assert again.code == 1 and "E-CLOSE" in again.stderr and "closed already" in again.stderr
    assert out["8"] == out[WHOLE]
    assert used and used[0] is not None  # the first close went in parts


def test_a_close_in_parts_writes_only_the_month_s_file(closed, tmp_path, monkeypatch) -> None:
    """The validator of a close planned in parts refuses a commit that would write anything but the month's file
    as it reads back (the loader, the digest, the entries)."""
    from cpqctl.app import closing
    from cpqctl.core.diagnostics import InvalidRepository

    rel = "periods/2026-06.yaml"
    text = (closed / rel).read_bytes()
    entries = closing.month_entries(
        __import__("cpqctl").open(closed, as_of="2026-12-31").load_checked()[0], closing._month("2026-06")
    )
    check = closing._reads_back(rel, "2026-06", entries)
    check({rel: text})  # the file as the close wrote it
    for files in (
        {rel: text.replace(b"by: Anna", b"by: Ewa"), "quotes/x.yaml": b"x"},
        {rel: text.replace(entries[0].encode(), b"0000000000000000 2026-06-01 Invoice X (Y)")},
        {rel: text + b"oops: 1\n"},
        {rel: None},
    ):
        with pytest.raises(InvalidRepository):
            check(files)
