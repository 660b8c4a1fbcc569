"""Every single-record command opens only the files it needs (issue 21), counted on generated repositories of a
few hundred accounts (bench/gen.py): the YAML files opened are the record's own (its account's folder, its
invoices, a quote) plus the settings and the catalog, and the number of files opened is the same at 100 and 400
accounts. Files are counted as Python opens them (the ``open`` audit event): every read of a file, the parse
cache's and its indexes' included.

The parse cache is told to read no shard for a few files (as it does at 10,000 accounts, where the shards of a
folder are far bigger than the record's YAML): otherwise at this size it reads its small shards instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import age

DAY = "2026-12-05"
OPENED: list[str] | None = None


WRITES = os.O_WRONLY | os.O_RDWR


def _hook(event: str, args: tuple) -> None:
    """Record each file opened for reading (``open()``'s mode, or ``os.open``'s flags)."""
    if event != "open" or OPENED is None or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    mode, flags = (args[1], args[2]) if len(args) > 2 else (None, 0)
    reading = ("r" in mode and "+" not in mode) if isinstance(mode, str) else not (flags or 0) & WRITES
    if reading:
        OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_hook)  # for the life of this process (a hook cannot be removed): it records only when asked


def _generated(tmp_path_factory, accounts: int) -> Path:
    root = tmp_path_factory.mktemp(f"gen{accounts}") / "repo"
    gen = Path(__file__).resolve().parents[1] / "bench" / "gen.py"
    subprocess.run([sys.executable, str(gen), str(root), "--accounts", str(accounts)], check=True, capture_output=True)
    return root


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> dict[int, Path]:
    from tests.conftest import invoke

    out = {}
    for n in (100, 400):
        root = _generated(tmp_path_factory, n)
        r = invoke("quote", "new", "--account", "acct-00007", "--start", "2027-01-01", "-l", "PRO-SEAT=10",
                   "--as-of", DAY, "--repo", root)  # fmt: skip
        assert r.exit_code == 0, r.stderr
        age(root)
        past = (root / "cpq.toml").stat().st_mtime_ns
        os.utime(root / "invoices", ns=(past, past))  # the folder too: a folder changed just now is not trusted
        assert invoke("check", "--repo", root).exit_code in (0, 1)  # the parse cache and the indexes, warm
        out[n] = root
    return out


def _record(root: Path) -> tuple[str, str, str]:
    """An account with a contract and an invoice in the generated repository: (account, contract, invoice)."""
    for f in sorted((root / "invoices").glob("*.yaml")):
        head = dict(ln.split(": ", 1) for ln in f.read_text(encoding="utf-8").splitlines()[:3])
        return head["account"], head["contract"], head["invoice"]
    raise AssertionError("no invoice")


def _commands(root: Path) -> dict[str, tuple[str, ...]]:
    account, contract, invoice = _record(root)
    return {
        "contract show": ("contract", "show", contract, "-f", "json"),
        "account show": ("account", "show", account, "-f", "json"),
        "account render": ("account", "render", account, "-f", "md", "-o", "-"),
        "invoice preview": ("invoice", "preview", contract, "-f", "json"),
        "invoice render": ("invoice", "render", invoice, "-f", "md", "-o", "-"),
        "quote show": ("quote", "show", "Q-2026-00001", "-f", "json"),
        "catalog list": ("catalog", "list", "-f", "json"),
        "catalog show": ("catalog", "show", "PRO-SEAT", "-f", "json"),
    }


def _opened(root: Path, args: tuple[str, ...], monkeypatch, settle: float = 0) -> list[str]:
    global OPENED
    from cpqctl.load import cache
    from tests.conftest import invoke

    monkeypatch.setattr(cache, "READ_ALWAYS", 0)
    assert invoke(*args, "--as-of", DAY, "--repo", root).exit_code == 0  # warm: the indexes built once
    time.sleep(settle)  # a file written within 2 s is never cached nor indexed (cache.RACY_NS): let it age
    OPENED = []
    try:
        r = invoke(*args, "--as-of", DAY, "--repo", root)
    finally:
        seen, OPENED = OPENED, None
    assert r.exit_code == 0, r.stderr
    base = os.path.realpath(root)
    inside = {os.path.relpath(os.path.realpath(p), base) for p in seen if os.path.realpath(p).startswith(base + os.sep)}
    return sorted(inside)


@pytest.mark.parametrize(
    "command",
    [
        "contract show",
        "account show",
        "account render",
        "invoice preview",
        "invoice render",
        "quote show",
        "catalog list",
        "catalog show",
    ],
)
def test_a_single_record_command_opens_its_own_files_only(repos, monkeypatch, command) -> None:
    counts = {}
    for n, root in repos.items():
        args = _commands(root)[command]
        account = _record(root)[0]
        opened = _opened(root, args, monkeypatch)
        own_invoices = {  # the account's (a contract's statement shows its predecessor's too)
            f"invoices/{f.name}" for f in (root / "invoices").glob("*.yaml") if f"account: {account}\n" in f.read_text()
        }
        owner = "acct-00007" if command == "quote show" else account  # the quote's account (its contracted prices)
        for rel in opened:
            allowed = (
                rel == "cpq.toml"
                or rel.startswith(("catalog/", "fx/", f"contracts/{owner}/", ".cpq/cache/"))
                or rel in own_invoices
                or rel == "quotes/Q-2026-00001.yaml"
            )
            assert allowed, f"{command} opened {rel} at {n} accounts"
        # no shard of the parse cache: its index files only (the invoice index, the contract → account index); the
        # catalog's commands read the catalog's file through its shard
        shards = [rel for rel in opened if "shard-" in rel]
        assert len(shards) <= command.startswith("catalog"), opened
        counts[n] = len(opened) - sum(rel in own_invoices for rel in opened)  # an account's invoices vary
    assert counts[100] == counts[400], counts


@pytest.fixture(scope="module")
def write_repos(tmp_path_factory) -> dict[int, Path]:
    """Repositories of their own for the writes (a write changes what the readers above would open)."""
    from tests.conftest import invoke

    out = {}
    for n in (100, 400):
        root = _generated(tmp_path_factory, n)
        for other in ("acct-00002", "acct-00050"):  # other accounts' payments: `payment record` must not open them
            r = invoke("payment", "record", "-a", other, "--amount", "10.00", "--as-of", DAY, "--repo", root)
            assert r.exit_code == 0, r.stderr
        age(root)
        past = (root / "cpq.toml").stat().st_mtime_ns
        os.utime(root / "invoices", ns=(past, past))  # the folder too: a folder changed just now is not trusted
        assert invoke_check(root) in (0, 1)
        out[n] = root
    return out


def invoke_check(root: Path) -> int:
    from tests.conftest import invoke

    return invoke("check", "--repo", root).exit_code


def _writes(root: Path) -> dict[str, tuple[str, ...]]:
    account, contract, _invoice = _record(root)
    return {
        "quote new": ("quote", "new", "--account", account, "--start", "2027-01-01", "-l", "PRO-SEAT=2"),
        "amend": ("amend", contract, "--effective", "2026-12-10", "--add", "PRO-SEAT=1"),
        "renew": ("renew", contract),
        "payment record": ("payment", "record", "--account", account, "--amount", "1.00"),
    }


@pytest.mark.parametrize("command", ["quote new", "amend", "renew", "payment record"])
def test_a_write_about_one_account_opens_that_account_s_files_only(write_repos, monkeypatch, command) -> None:
    counts, detail = {}, {}
    for n, root in write_repos.items():
        account = _record(root)[0]
        # the second run writes a second quote (or regenerates the same): the first run's files aged first
        opened = _opened(root, _writes(root)[command], monkeypatch, settle=2.1)
        detail[n] = opened
        own = {  # the account's invoices, quotes and payments
            str(f.relative_to(root))
            for folder in ("invoices", "quotes", "payments")
            for f in (root / folder).rglob("*.yaml")
            if f"account: {account}\n" in f.read_text()
        }
        opened = [rel for rel in opened if not (root / rel).is_dir()]  # a folder opened to sync its entries
        for rel in opened:
            allowed = (
                rel == "cpq.toml" or rel.startswith(("catalog/", "fx/", f"contracts/{account}/", ".cpq/")) or rel in own
            )
            assert allowed, f"{command} opened {rel} at {n} accounts"
        assert all("shard-" not in rel for rel in opened), opened
        counts[n] = len(opened) - sum(rel in own for rel in opened)
    assert counts[100] == counts[400], (counts, detail)
