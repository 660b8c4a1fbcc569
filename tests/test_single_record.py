"""Commands about one account or contract read only its files (issue 21): `contract show`, `account show` and
`account render` give the same output with every other account's files broken, and count the files they parse."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

DAY = "2026-04-10"


@pytest.fixture
def invoiced(example_repo: Path, cli) -> Path:
    assert cli("invoice", "run", "--through", "2026-03-31", "--as-of", "2026-03-31", "--repo", example_repo).code == 0
    return example_repo


def _break_everyone_but_acme(root: Path) -> None:
    for folder in (root / "contracts").iterdir():
        if folder.name != "acme":
            for f in folder.glob("*.yaml"):
                f.write_text("account: [broken\n", encoding="utf-8")
    for f in (root / "invoices").glob("*.yaml"):
        text = f.read_text(encoding="utf-8")
        if "C-2026-0001" not in text:  # its contract line kept: the invoice index still knows whose it is
            contract = next(ln for ln in text.splitlines() if ln.startswith("contract:"))
            f.write_text(f"invoice: {f.stem}\n{contract}\nlines: [broken\n", encoding="utf-8")


COMMANDS = [
    ("contract", "show", "C-2026-0001", "-f", "json"),
    ("account", "show", "acme", "-f", "json"),
    ("account", "render", "acme", "-f", "md", "-o", "-"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_other_accounts_files_are_not_read(invoiced, cli, args) -> None:
    before = cli(*args, "--as-of", DAY, "--repo", invoiced)
    assert before.code == 0, before.stderr
    _break_everyone_but_acme(invoiced)
    after = cli(*args, "--as-of", DAY, "--repo", invoiced)
    assert after.code == 0, after.stderr
    assert after.stdout == before.stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [(("contract", "show", "C-2026-0010"), "E-UNKNOWN-CONTRACT"), (("account", "show", "acmee"), "E-UNKNOWN-ACCOUNT")],
)
def test_an_unknown_id_still_gets_a_suggestion(example_repo, cli, args, code) -> None:
    run = cli(*args, "--repo", example_repo)
    assert run.code == 2 and code in run.stderr and "did you mean" in run.stderr


def test_the_files_parsed_are_the_accounts(invoiced, parses) -> None:
    from cpqctl.app.accounts import account_render, account_show, contract_show
    from cpqctl.app.workspace import Workspace

    seen = parses
    for p in (invoiced / ".cpq").rglob("shard-*"):  # parse, not decode from the cache: every file read is counted
        p.unlink()
    ws = Workspace(invoiced)
    day = date(2026, 4, 10)
    acme_invoices = sorted(
        f"invoices/{f.name}" for f in (invoiced / "invoices").glob("*.yaml") if "C-2026-0001" in f.read_text()
    )
    catalog = sorted(f"catalog/{f.name}" for f in (invoiced / "catalog").glob("*.yaml"))
    fx = sorted(f"fx/{f.name}" for f in (invoiced / "fx").glob("*.yaml"))
    acme = ["contracts/acme/C-2026-0001.yaml", "contracts/acme/account.yaml"]
    account_show(ws, account="acme", as_of=day)
    assert sorted(seen) == sorted(fx + catalog + acme)
    seen.clear()
    contract_show(ws, contract="C-2026-0001", as_of=day)
    # a single record's files are parsed each time, never looked up in a shard (which holds other accounts' files)
    assert sorted(seen) == sorted(catalog + acme + acme_invoices)
    for p in (invoiced / ".cpq").rglob("shard-*"):
        p.unlink()
    seen.clear()
    account_render(ws, account="acme", fmt="md", output=Path("-"), as_of=day)
    assert sorted(seen) == sorted(fx + catalog + acme + acme_invoices)
