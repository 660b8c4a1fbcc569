"""The application layer's guarantee: a use case that writes refuses a repository that `check` rejects.

Before the Workspace, writing commands validated only what the loader finds in
each file; the cross-file findings of `cpqctl check` (an unknown account, a
contract in another currency than its account) did not stop them, so `quote new`
and `invoice run` wrote on data that `check` called broken. Each case below is
first shown to be a `check` finding, then refused by the command and by the
Python API alike, with nothing written.

A write about one account (`quote new`, `amend`, `renew C`; issue 21) reads and checks that account's files only:
it is refused when the finding is in them (the cases below write to the broken account), not when it is in another
account's (the last test).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError, InvalidRepository, UsageError

AS_OF = "2026-03-01"


def _unknown_account(root: Path, cli) -> tuple[str, str]:
    text = (root / "contracts/acme/C-2026-0001.yaml").read_text(encoding="utf-8")
    ghost = text.replace("account: acme", "account: ghost").replace("C-2026-0001", "C-2026-0099")
    (root / "contracts/ghost").mkdir()
    (root / "contracts/ghost/C-2026-0099.yaml").write_text(ghost, encoding="utf-8")
    return "E-UNKNOWN-ACCOUNT", "ghost"


def _currency_mismatch(root: Path, cli) -> tuple[str, str]:
    path = root / "contracts/acme/C-2026-0001.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("\ncurrency: PLN\n", "\ncurrency: EUR\n"), encoding="utf-8"
    )
    return "E-CURRENCY-MISMATCH", "acme"


def _tampered_invoice_total(root: Path, cli) -> tuple[str, str]:
    run = cli("invoice", "run", "--through", AS_OF, "--as-of", AS_OF, "--repo", root)
    assert run.code == 0, run.stderr
    # Initech's first invoice (period from 2025-10-01): a run on 2026-03-01 issues it that day, in 2026's series
    path = root / "invoices/INV-2026-0001.yaml"
    assert "\ncontract: C-2025-0003\n" in path.read_text(encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    tampered = re.sub(r"(?m)^net_total: .*$", "net_total: 1.00", text)
    assert tampered != text
    path.write_text(tampered, encoding="utf-8")
    return "E-INVOICE-TOTAL", "initech"


BREAKS = [_unknown_account, _currency_mismatch, _tampered_invoice_total]


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.parts
    }


@pytest.mark.parametrize("breaks", BREAKS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize(
    "command",
    [
        ("quote", "new", "--account", "{account}", "--start", "2027-01-01", "--line", "PRO-SEAT=5"),
        ("invoice", "run", "--through", "2026-03-31"),
    ],
    ids=["quote-new", "invoice-run"],
)
def test_a_writing_command_refuses_what_check_rejects(example_repo, cli, breaks, command):
    code, account = breaks(example_repo, cli)
    command = tuple(a.format(account=account) for a in command)
    checked = cli("check", "--format", "concise", "--as-of", AS_OF, "--repo", example_repo)
    assert checked.code == 1 and f"error[{code}]" in checked.stdout  # the finding first
    before = _files(example_repo)

    run = cli(*command, "--as-of", AS_OF, "--repo", example_repo)

    assert run.code == 1
    assert "error[E-INVALID-REPO]" in run.stderr and f"error[{code}]" in run.stderr  # the findings listed
    assert "run `cpqctl check`" in run.stderr
    assert _files(example_repo) == before  # nothing written


@pytest.mark.parametrize("breaks", BREAKS, ids=lambda f: f.__name__.strip("_"))
def test_the_python_api_refuses_with_every_finding(example_repo, cli, breaks):
    code, _account = breaks(example_repo, cli)
    ws = Workspace.open(example_repo)
    with pytest.raises(InvalidRepository) as refused, ws.writing():
        pytest.fail("a use case ran on an invalid repository")
    e = refused.value
    assert e.code == "E-INVALID-REPO" and not isinstance(e, UsageError)
    assert code in {d.code for d in e.diagnostics}
    found = next(d for d in e.diagnostics if d.code == code)
    assert found.file and found.line > 0 and found.column > 0  # positioned
    assert not (example_repo / ".cpq" / "journal").exists()


def test_a_clean_repository_is_loaded_inside_the_lock(example_repo):
    ws = Workspace.open(example_repo)
    with ws.writing() as (store, repo):
        assert store.locked and "C-2026-0001" in repo.contracts
    assert store is not None and not store.locked


def test_errors_carry_no_exit_code_and_the_cli_maps_them():
    from cpqctl.cli.common import exit_code

    assert not hasattr(CpqError("E-X", "m"), "exit_code")
    assert exit_code(UsageError("E-USAGE", "bad date")) == 2
    assert exit_code(CpqError("E-EXPIRED", "expired")) == 1
    assert exit_code(InvalidRepository("E-INVALID-REPO", "broken")) == 1


HALF_EVEN = {
    "catalog/p.yaml": """
        products:
          - {code: SEAT, name: Seat, type: subscription, per: year, price: {PLN: 10.01}}
        """,
    "contracts/acme/account.yaml": """
        account: acme
        name: ACME
        currency: PLN
        tax_rate: 23%
        """,
    "contracts/acme/C-2024-0001.yaml": """
        contract: C-2024-0001
        account: acme
        currency: PLN
        start: 2024-01-01
        end: 2024-12-31
        billing: {frequency: annual}
        lines:
          - {product: SEAT, quantity: 0.5, unit_price: 10.01, per: year, start: 2024-01-01, end: 2024-12-31}
        """,
}


def test_one_rounding_resolver_the_renewal_list_and_forecast_agree(repo, cli):
    """A contract without its own `rounding:` follows cpq.toml everywhere: ARR 0.5 × 10.01 = 5.005 is 5.00
    half-even. The renewal list used to fall back on half-up (5.01) while the forecast said 5.00."""
    import json

    root = repo(HALF_EVEN, toml='[company]\nname = "T"\ncurrency = "PLN"\n\n[pricing]\nrounding = "half-even"\n')
    listed = cli("renewals", "--format", "json", "--as-of", "2024-11-15", "--repo", root)
    assert listed.code == 0, listed.stderr
    assert [r["arr"] for r in json.loads(listed.stdout)["rows"]] == ["5.00"]
    forecast = cli("renewals", "--by", "month", "--format", "json", "--as-of", "2024-11-15", "--repo", root)
    december = next(r for r in json.loads(forecast.stdout)["rows"] if r["month"] == "2024-12")
    assert december["arr"] == "5.00"


def test_the_cli_leaves_typer_alone_and_its_help_plain(cli):
    """Importing the command line changes nothing for other Typer apps in the process (it used to set
    typer.core.HAS_RICH = False for all of them); its own help shows defaults without rich escapes."""
    import typer.core

    from cpqctl.cli import main  # noqa: F401

    assert typer.core.HAS_RICH is True  # rich is installed: typer's own default stays
    shown = cli("check", "--help")
    assert shown.code == 0 and "[default: full]" in shown.stdout and "\\[default" not in shown.stdout
    assert typer.core.HAS_RICH is True


def test_contract_account_and_export_round_as_the_contract_does(repo, cli, tmp_path):
    """`contract show` and `account show` rounded MRR/ARR half-up whatever cpq.toml said; the export followed
    cpq.toml. All now ask contract_terms: 0.5 × 10.01 a year is ARR 5.005 → 5.00 half-even."""
    import csv
    import json

    root = repo(HALF_EVEN, toml='[company]\nname = "T"\ncurrency = "PLN"\n\n[pricing]\nrounding = "half-even"\n')
    shown = cli("contract", "show", "C-2024-0001", "--format", "json", "--as-of", "2024-06-01", "--repo", root)
    assert json.loads(shown.stdout)["arr"] == "5.00"
    account = cli("account", "show", "acme", "--format", "json", "--as-of", "2024-06-01", "--repo", root)
    assert json.loads(account.stdout)["arr"] == "5.00"
    out = tmp_path / "export"
    assert cli("export", "--format", "csv", "-o", out, "--as-of", "2024-06-01", "--repo", root).code == 0
    with open(out / "contracts.csv", encoding="utf-8") as f:
        (row,) = list(csv.DictReader(f))
    assert row["arr"] == "5.00"


@pytest.mark.parametrize(
    "args,hint",
    [
        (("catalog", "show", "sso"), "did you mean `SSO`? (IDs are case-sensitive)"),
        (("catalog", "show", "pro-seet"), "did you mean `PRO-SEAT`?"),
        (("contract", "show", "c-2026-0001"), "did you mean `C-2026-0001`? (IDs are case-sensitive)"),
    ],
)
def test_an_unknown_id_suggests_the_one_meant_whatever_its_case(example_repo, cli, args, hint):
    """Issue 18: `catalog show growth` suggested nothing — the close-match search was case-sensitive."""
    run = cli("--as-of", "2026-06-30", *args, "--repo", example_repo)
    assert run.code == 2 and f"= hint: {hint}" in run.stderr


@pytest.mark.parametrize("breaks", BREAKS, ids=lambda f: f.__name__.strip("_"))
def test_a_write_about_another_account_is_not_stopped_and_check_still_reports(example_repo, cli, breaks):
    code, account = breaks(example_repo, cli)
    assert account != "vandelay"
    run = cli("quote", "new", "--account", "vandelay", "--start", "2027-01-01", "--line", "PRO-SEAT=5",
              "--as-of", AS_OF, "--repo", example_repo)  # fmt: skip
    assert run.code == 0, run.stderr
    written = re.search(r"wrote (quotes/\S+\.yaml)", run.stderr).group(1)
    assert written.startswith("quotes/") and (example_repo / written).is_file()
    checked = cli("check", "--format", "concise", "--as-of", AS_OF, "--repo", example_repo)
    assert checked.code == 1 and f"error[{code}]" in checked.stdout
    assert written not in checked.stdout  # the finding is the broken file's, as before; the new quote is clean
