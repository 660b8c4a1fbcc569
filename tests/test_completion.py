"""Shell completion of IDs, driven the way bash and zsh drive it: the installed `cpqctl` in a subprocess.

Typer's completion scripts (`cpqctl --show-completion`) run ``cpqctl`` with
``_CPQCTL_COMPLETE=complete_bash`` and ``COMP_WORDS`` (the words joined by a
newline, bash's ``IFS`` there) / ``COMP_CWORD``, or ``_CPQCTL_COMPLETE=complete_zsh``
and ``_TYPER_COMPLETE_ARGS`` (the words up to the cursor); the candidates are
stdout's lines (bash) or the ``_arguments`` spec (zsh).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

AS_OF = "2026-11-28"


def _exe() -> str:
    here = Path(sys.executable).with_name("cpqctl")
    found = str(here) if here.is_file() else shutil.which("cpqctl")
    if not found:
        pytest.skip("the cpqctl console script is not installed")
    return found


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CPQ_", "_CPQCTL_", "_TYPER_", "COMP_", "NO_COLOR"))
    }
    env.update(extra or {})
    return env


def complete(
    line: str, cwd: Path, shell: str = "bash", env: dict[str, str] | None = None, *, fork: bool = False
) -> list[str]:
    """The candidates for the command ``line`` with the cursor at its end (a trailing space: a new word).

    ``fork``: run the installed console script in a subprocess, exactly as the shell does; else the same
    protocol in this process (click's test runner with the same environment: much faster).
    """
    words = line.split(" ")
    if shell == "bash":
        extra = {"_CPQCTL_COMPLETE": "complete_bash", "COMP_WORDS": "\n".join(words), "COMP_CWORD": str(len(words) - 1)}
    else:
        extra = {"_CPQCTL_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line}
    if fork:
        proc = subprocess.run(
            [_exe()], env=_env({**extra, **(env or {})}), cwd=cwd, capture_output=True, text=True, timeout=60
        )
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    else:
        code, stdout, stderr = _in_process({**extra, **(env or {})}, cwd)
    assert code == 0, stderr
    assert stderr == ""  # never an error or a traceback in the shell
    if shell == "bash":
        return [x for x in stdout.splitlines() if x]
    out = stdout.strip()
    if out == "_files":  # Typer's zsh answer when there is no candidate
        return []
    m = re.fullmatch(r"_arguments '\*: :\(\((.*)\)\)'", out, re.DOTALL)
    assert m, out
    return re.findall(r'"((?:[^"]|"")*)"', m[1])


def _in_process(env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from cpqctl.cli.main import app

    try:  # click < 8.2 mixes stderr into stdout unless told not to
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("CPQ_", "_CPQCTL_", "_TYPER_"))}
    here = os.getcwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(app, [], env={**cleared, **env}, prog_name="cpqctl")
    finally:
        os.chdir(here)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def quoted(cli, example_repo: Path) -> Path:
    """The example repository with three quotes (`quote new`) and January's invoices (`invoice run`)."""
    for n in (10, 20, 30):
        r = cli(
            "quote", "new", "--repo", example_repo, "--as-of", AS_OF, "--account", "acme", "--start", "2027-01-01",
            "--line", f"PRO-SEAT={n}",
        )  # fmt: skip
        assert r.code == 0, r.stderr
    r = cli("invoice", "run", "--through", "2026-01-31", "--repo", example_repo, "--as-of", "2026-01-31")
    assert r.code == 0, r.stderr
    return example_repo


QUOTES = ["Q-2026-0001", "Q-2026-0002", "Q-2026-0003"]


def contracts_of(root: Path, *accounts: str) -> list[str]:
    folders = [root / "contracts" / a for a in accounts] or list((root / "contracts").iterdir())
    return sorted(p.stem for f in folders for p in f.glob("*.yaml") if p.name != "account.yaml")


def test_the_protocol_is_the_one_the_completion_scripts_use():
    env = _env({"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    for shell in ("bash", "zsh"):
        script = subprocess.run(
            [_exe(), "--show-completion", shell], env=env, capture_output=True, text=True, timeout=60
        ).stdout
        assert f"_CPQCTL_COMPLETE=complete_{shell}" in script


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_quote_ids_for_bash_and_zsh(quoted: Path, shell: str):
    assert complete("cpqctl quote show Q-20", quoted, shell, fork=True) == QUOTES  # as the shell runs it
    assert complete("cpqctl quote show q-2026-000", quoted, shell) == QUOTES  # any case
    assert complete("cpqctl quote show Q-2026-0002", quoted, shell) == ["Q-2026-0002"]
    assert complete("cpqctl quote show Q-2027", quoted, shell) == []
    assert complete("cpqctl quote show ", quoted, shell) == QUOTES
    assert complete("cpqctl quote show X", quoted, shell) == []


def test_every_quote_argument(quoted: Path):
    for line in (
        "cpqctl quote render Q",
        "cpqctl quote approve Q",
        "cpqctl quote accept Q",
        "cpqctl quote redate Q",
        "cpqctl amend C-2026-0001 --rebase Q",
        "cpqctl invoice preview C-2026-0001 --quote Q",
    ):
        assert complete(line, quoted) == QUOTES, line
    assert complete("cpqctl renumber Q-", quoted) == QUOTES
    assert complete("cpqctl renumber ", quoted) == sorted(QUOTES + contracts_of(quoted))


def test_the_repository_is_found_as_commands_find_it(quoted: Path, tmp_path: Path):
    inside = quoted / "contracts" / "acme"  # the nearest cpq.toml upwards
    assert complete("cpqctl quote show Q", inside, fork=True) == QUOTES
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert complete(f"cpqctl quote show --repo {quoted} Q", elsewhere) == QUOTES
    assert complete(f"cpqctl --repo {quoted} quote show Q", elsewhere) == QUOTES
    assert complete("cpqctl quote show Q", elsewhere, env={"CPQ_REPO": str(quoted)}, fork=True) == QUOTES
    assert complete("cpqctl quote show Q", elsewhere, "zsh", env={"CPQ_REPO": str(quoted)}) == QUOTES


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_no_repository_no_candidates(tmp_path: Path, shell: str):
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    assert complete("cpqctl quote show Q-20", empty, shell, fork=True) == []
    for line in (
        "cpqctl quote show Q-20",
        "cpqctl contract show C",
        "cpqctl account show ",
        "cpqctl invoice render INV",
        "cpqctl catalog show P",
        "cpqctl quote new --line P",
        f"cpqctl quote show --repo {empty} Q",
    ):
        assert complete(line, empty, shell) == [], line


def test_odd_repositories_offer_what_they_can(repo, tmp_path: Path):
    root = repo(
        {
            "catalog/broken.yaml": "products: [ {code: A\n",  # not YAML: offers nothing, says nothing
            "catalog/ok.yaml": "products:\n  - {code: SEAT}\n  - {code: SSO}\ndiscount_schedules:\n  - {code: SCHED}\n",
            "contracts/acme/C-1.yaml": "contract: C-1\n",
            "contracts/acme/notes.txt": "",
            "contracts/bad name/C-9.yaml": "",
            "quotes/Q-1.yaml": "",
            "quotes/Q-2.yml": "",  # not a name any command reads
            "invoices/INV-1.yaml": "",
        }
    )
    (root / "quotes" / "Q-3.yaml").mkdir()  # a folder with a data file's name
    (root / "quotes" / "Q-4.yaml").symlink_to(root / "quotes" / "Q-1.yaml")
    assert complete("cpqctl quote show ", root) == ["Q-1"]
    assert complete("cpqctl catalog show S", root) == ["SEAT", "SSO"]
    assert complete("cpqctl account show ", root) == ["acme"]
    assert complete("cpqctl contract show ", root) == ["C-1"]
    assert complete("cpqctl invoice render ", root) == ["INV-1"]
    (root / "quotes" / "Q-3.yaml").rmdir()
    (root / "quotes" / "Q-4.yaml").unlink()
    shutil.rmtree(root / "quotes")
    (root / "quotes").write_text("a file where the folder should be")
    assert complete("cpqctl quote show ", root, fork=True) == []


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_contract_ids(quoted: Path, shell: str):
    every = contracts_of(quoted)
    assert len(every) >= 8
    assert complete("cpqctl contract show C-", quoted, shell) == every
    c2026 = [c for c in every if c.startswith("C-2026")]
    for line in (
        "cpqctl contract show C-2026",
        "cpqctl contract show c-2026",
        "cpqctl amend C-2026",
        "cpqctl renew C-2026",
        "cpqctl invoice preview C-2026",
        "cpqctl invoice run --contract C-2026",
        "cpqctl invoice list --contract C-2026",
    ):
        assert complete(line, quoted, shell) == c2026, line
    # limited to the accounts the command is already limited to
    hooli = contracts_of(quoted, "hooli")
    assert complete("cpqctl invoice run --account hooli --contract ", quoted, shell) == hooli
    both = sorted(hooli + contracts_of(quoted, "acme"))
    assert complete("cpqctl invoice run -a hooli -a acme -c C", quoted, shell) == both


def test_contract_ids_follow_new_contracts(cli, quoted: Path):
    before = complete("cpqctl contract show C-2027", quoted)
    assert before == []  # and the listing is remembered in .cpq/cache
    assert (quoted / ".cpq" / "cache" / "contract-ids.json").is_file()
    r = cli("quote", "accept", "Q-2026-0001", "--signed-by", "A", "--repo", quoted, "--as-of", AS_OF)
    assert r.code == 0, r.stderr
    assert complete("cpqctl contract show C-2027", quoted) == ["C-2027-0001"]
    (quoted / ".cpq" / "cache" / "contract-ids.json").write_text('{"format": 1, "folders": {"acme": [1, 7]}}')
    assert complete("cpqctl contract show C-2027", quoted) == ["C-2027-0001"]  # a damaged cache is ignored


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_account_ids(quoted: Path, shell: str):
    accounts = sorted(p.name for p in (quoted / "contracts").iterdir())
    for line in (
        "cpqctl account show ",
        "cpqctl account render ",
        "cpqctl quote new --account ",
        "cpqctl invoice run --account ",
        "cpqctl quote list --account ",
        "cpqctl contract list -a ",
        "cpqctl invoice list --account ",
    ):
        assert complete(line, quoted, shell) == accounts, line
    assert complete("cpqctl account show H", quoted, shell) == ["hooli"]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_invoice_numbers(quoted: Path, shell: str):
    invoices = sorted(p.stem for p in (quoted / "invoices").glob("*.yaml"))
    assert invoices
    assert complete("cpqctl invoice render INV-", quoted, shell) == invoices
    assert complete("cpqctl invoice send inv-", quoted, shell) == invoices
    assert complete(f"cpqctl invoice send {invoices[0]} ", quoted, shell) == invoices  # several invoices
    assert complete(f"cpqctl invoice render {invoices[0]}", quoted, shell) == [invoices[0]]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_product_codes(quoted: Path, shell: str):
    assert complete("cpqctl catalog show PRO", quoted, shell) == ["PRO-SEAT"]
    assert complete("cpqctl catalog show sup", quoted, shell) == ["SUPPORT-BASIC", "SUPPORT-PREMIUM"]
    assert "SEAT-VOLUME" not in complete("cpqctl catalog show ", quoted, shell)  # a discount schedule
    lines = ["SSO=", "STORAGE-PACK=", "SUPPORT-BASIC=", "SUPPORT-PREMIUM="]
    assert complete("cpqctl quote new --line S", quoted, shell) == lines
    assert complete("cpqctl quote new -l S", quoted, shell) == lines
    assert complete("cpqctl amend C-2026-0001 --set S", quoted, shell) == lines
    assert complete("cpqctl amend C-2026-0001 --add S", quoted, shell) == lines
    assert complete("cpqctl amend C-2026-0001 --remove A", quoted, shell) == ["API-CALLS-PLAN", "AUDIT-LOG"]


def test_completion_types_change_nothing_else(cli, quoted: Path):
    """An ID parameter is still plain text: help shows TEXT, values pass through unchanged."""
    r = cli("quote", "new", "--help")
    assert "--account TEXT" in r.stdout and "--line TEXT" in r.stdout
    shown = cli("quote", "show", "Q-2026-0002", "--repo", quoted, "--as-of", AS_OF, "--format", "json")
    assert json.loads(shown.stdout)["quote"] == "Q-2026-0002"


def test_the_repository_lookup_agrees_with_the_commands(example_repo: Path, tmp_path: Path):
    """cpqctl.load.ids repeats find_root without the loader's imports: both find the same repository."""
    from cpqctl.core.diagnostics import UsageError
    from cpqctl.load import ids, repo

    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    for explicit, cwd in (
        (None, example_repo),
        (None, example_repo / "contracts" / "acme"),
        (None, nowhere),
        (str(example_repo), nowhere),
        (str(example_repo / "contracts"), example_repo),  # --repo must name the folder holding cpq.toml
        (str(nowhere / "missing"), example_repo),
    ):
        try:
            expected: Path | None = repo.find_root(explicit, cwd=cwd)
        except UsageError:
            expected = None
        assert ids.find_root(explicit, cwd=cwd) == expected, (explicit, cwd)


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_report_and_list_filters_complete(quoted: Path, shell: str):
    accounts = sorted(p.name for p in (quoted / "contracts").iterdir())
    for report in ("arr", "mrr", "movements", "ltv", "board"):
        assert complete(f"cpqctl report {report} --account ", quoted, shell) == accounts, report
    assert complete("cpqctl report arr --product PRO", quoted, shell) == ["PRO-SEAT"]
    assert complete("cpqctl quote list --product SS", quoted, shell) == ["SSO"]
    assert complete("cpqctl contract list --product api", quoted, shell) == ["API-CALLS-PLAN"]
    families = complete("cpqctl report arr --family ", quoted, shell)
    assert {"Add-on", "License"} <= set(families) and families == sorted(families)
    assert complete("cpqctl catalog list --family lic", quoted, shell) == ["License"]
