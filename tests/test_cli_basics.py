"""The CLI skeleton (SPEC §6, §8): help on every command, lazy imports, init, the read-only commands.

Commands run in-process through Typer's CliRunner (exit code, stdout and stderr
asserted separately); the import check runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest
import typer.main

from cpqctl.cli.main import app

PROJECT = Path(__file__).resolve().parents[1]


def command_tree() -> list[tuple[tuple[str, ...], click.Command]]:
    def walk(cmd: click.Command, path: tuple[str, ...]):
        yield path, cmd
        if isinstance(cmd, click.Group):
            for name in sorted(cmd.commands):
                yield from walk(cmd.commands[name], path + (name,))

    return list(walk(typer.main.get_command(app), ()))


COMMANDS = command_tree()
# Known gaps in files this suite's author may not edit; strict: the marker must go once they are fixed.
HELP_GAPS: dict = {}


def _help_params():
    for path, cmd in COMMANDS:
        marks = [pytest.mark.xfail(reason=HELP_GAPS[path], strict=True)] if path in HELP_GAPS else []
        yield pytest.param(path, cmd, id=" ".join(path) or "cpqctl", marks=marks)


@pytest.mark.parametrize("path,cmd", list(_help_params()))
def test_every_command_has_a_one_line_summary_and_an_example(cli, path, cmd) -> None:
    summary = (cmd.help or "").strip().split("\n\n")[0]
    assert summary and "\n" not in summary, f"`cpqctl {' '.join(path)}` needs a one-line summary"
    run = cli(*path, "--help")
    assert run.code == 0 and run.stderr == ""
    assert summary in " ".join(run.stdout.split()) or summary.split(":")[0] in run.stdout
    assert "Example" in run.stdout, f"`cpqctl {' '.join(path)} --help` has no Example"


def test_the_command_tree_has_the_foundation_commands() -> None:
    paths = {p for p, _ in COMMANDS}
    assert {
        ("check",),
        ("schema",),
        ("init",),
        ("catalog", "list"),
        ("catalog", "show"),
        ("contract", "show"),
        ("account", "show"),
    } <= paths


def test_option_help_has_no_stray_markup_escapes(cli) -> None:
    assert "\\[" not in cli("catalog", "list", "--help").stdout


def test_help_does_not_import_jinja_typst_or_pricing() -> None:
    """`cpqctl --help` (and every command's --help) stays instant: no PDF engine, Jinja or pricing engine."""
    code = """
import sys
from cpqctl.cli.main import app
from tests.test_cli_basics import COMMANDS
for path, _ in COMMANDS:
    try:
        app([*path, "--help"], standalone_mode=False)
    except SystemExit:
        pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("jinja2", "typst")
               or m in ("cpqctl.core.pricing", "cpqctl.render.pdf", "cpqctl.render.documents"))
print("HEAVY=" + ",".join(heavy))
"""
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    heavy = [ln for ln in out.stdout.splitlines() if ln.startswith("HEAVY=")]
    assert heavy == ["HEAVY="], heavy
    assert out.stdout.count("Usage: ") == len(COMMANDS)  # every help was printed


def test_version(cli) -> None:
    run = cli("--version")
    assert run.code == 0 and run.stdout.startswith("cpqctl ")


# ----------------------------------------------------------------------------- init


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_init_creates_a_repository_that_checks_clean(tmp_path, cli) -> None:
    target = tmp_path / "new-repo"
    run = cli("init", target, "--name", "Przykład Sp. z o.o.", "--currency", "EUR", "--locale", "pl_PL")
    assert run.code == 0, run.stderr
    assert run.stdout == ""  # messages go to stderr
    settings = tomllib.loads((target / "cpq.toml").read_text(encoding="utf-8"))
    assert settings["company"] == {
        "name": "Przykład Sp. z o.o.",
        "address": "",
        "tax_id": "",
        "bank_account": "",
        "locale": "pl_PL",
        "currency": "EUR",
    }
    catalog = list((target / "catalog").glob("*.yaml"))
    assert catalog and "EUR:" in catalog[0].read_text(encoding="utf-8")
    assert ".cpq/" in (target / ".gitignore").read_text(encoding="utf-8").splitlines()
    for d in ("contracts", "quotes", "invoices"):
        assert (target / d).is_dir()
    # a Polish seller without its NIP: init and check say so (every invoice shows it), as a warning only
    assert "warning[W-SELLER-TAX-ID]" in run.stderr
    check = cli("check", "--repo", target)
    assert (check.code, check.stderr) == (0, "0 error(s), 1 warning(s)\n")
    assert check.stdout.startswith("cpq.toml:1:1: warning[W-SELLER-TAX-ID]: cpq.toml [company] has no tax_id")
    listed = json.loads(cli("catalog", "list", "-f", "json", "--repo", target).stdout)
    assert {p["code"] for p in listed["products"]} == {"SEAT", "SSO", "ONBOARDING"}
    # with its (valid) NIP the new repository checks clean
    target = tmp_path / "with-nip"
    run = cli(
        "init",
        target,
        "--name",
        "Przykład Sp. z o.o.",
        "--currency",
        "EUR",
        "--locale",
        "pl_PL",
        "--tax-id",
        "PL7251234561",
    )
    assert run.code == 0, run.stderr
    assert "W-SELLER-TAX-ID" not in run.stderr
    assert tomllib.loads((target / "cpq.toml").read_text(encoding="utf-8"))["company"]["tax_id"] == "PL7251234561"
    check = cli("check", "--repo", target)
    assert (check.code, check.stdout, check.stderr) == (0, "", "")


def test_init_defaults_to_the_working_directory(tmp_path, cli) -> None:
    here = tmp_path / "here"
    here.mkdir()
    assert cli("init", cwd=here).code == 0
    assert tomllib.loads((here / "cpq.toml").read_text(encoding="utf-8"))["company"]["currency"] == "USD"
    assert cli("check", cwd=here).code == 0


def test_init_twice_refuses_and_changes_nothing(tmp_path, cli) -> None:
    target = tmp_path / "r"
    assert cli("init", target).code == 0
    (target / "cpq.toml").write_text('[company]\nname = "Mine"\n', encoding="utf-8")
    before = snapshot(target)
    run = cli("init", target, "--currency", "EUR")
    assert run.code == 1
    assert "E-EXISTS" in run.stderr and "hint" in run.stderr
    assert snapshot(target) == before


def test_init_keeps_what_the_folder_already_holds(tmp_path, cli) -> None:
    target = tmp_path / "existing"
    (target / "catalog").mkdir(parents=True)
    (target / "catalog" / "products.yaml").write_text("products: []\n", encoding="utf-8")
    (target / ".gitignore").write_text("node_modules/", encoding="utf-8")
    run = cli("init", target)
    assert run.code == 0, run.stderr
    assert (target / "catalog" / "products.yaml").read_text(encoding="utf-8") == "products: []\n"
    assert (target / ".gitignore").read_text(
        encoding="utf-8"
    ) == "node_modules/\n.cpq/\n*.cpqtmp*\n"  # issue 13: temp files ignored too
    assert (target / "cpq.toml").is_file()


@pytest.mark.parametrize("args,needle", [(("--currency", "eur"), "currency"), (("--locale", "xx_NOPE"), "locale")])
def test_init_refuses_bad_options_with_exit_2(tmp_path, cli, args, needle) -> None:
    target = tmp_path / "bad"
    run = cli("init", target, *args)
    assert run.code == 2 and needle in run.stderr
    assert not (target / "cpq.toml").exists()


def test_init_on_a_file_is_a_usage_error(tmp_path, cli) -> None:
    f = tmp_path / "a-file"
    f.write_text("x", encoding="utf-8")
    run = cli("init", f)
    assert run.code == 2 and "Traceback" not in run.stderr and "internal error" not in run.stderr


# ----------------------------------------------------------------------------- read-only commands on the example


def test_catalog_list_json(example_repo, cli) -> None:
    run = cli("catalog", "list", "--format", "json", "--repo", example_repo)
    assert run.code == 0 and run.stderr == ""
    products = json.loads(run.stdout)["products"]
    codes = [p["code"] for p in products]
    assert codes == sorted(codes) and {"PRO-SEAT", "SSO", "PLATFORM", "STORAGE-PACK"} <= set(codes)
    seat = next(p for p in products if p["code"] == "PRO-SEAT")
    assert seat["price"] == {"EUR": "280.00", "PLN": "1200.00"}
    assert (seat["per"], seat["type"], seat["discount_schedule"]) == ("year", "subscription", "SEAT-VOLUME")


def test_catalog_show_json(example_repo, cli) -> None:
    run = cli("catalog", "show", "PRO-SEAT", "--format", "json", "--repo", example_repo)
    assert run.code == 0
    data = json.loads(run.stdout)
    assert data["code"] == "PRO-SEAT" and data["price"] == {"EUR": "280.00", "PLN": "1200.00"}
    assert data["discount_schedule"] == {
        "code": "SEAT-VOLUME",
        "type": "range",
        "tiers": [
            {"from": "1", "discount": "0%"},
            {"from": "11", "discount": "10%"},
            {"from": "51", "discount": "20%"},
        ],
    }
    bundle = json.loads(cli("catalog", "show", "PLATFORM", "-f", "json", "--repo", example_repo).stdout)
    assert bundle["options"][0] == {
        "product": "PRO-SEAT",
        "min": "5",
        "max": "1000",
        "required": True,
        "included": False,
    }


def test_catalog_show_unknown_product_exits_2_with_a_hint(example_repo, cli) -> None:
    run = cli("catalog", "show", "PRO-SEET", "--repo", example_repo)
    assert run.code == 2 and run.stdout == ""
    assert "E-UNKNOWN-PRODUCT" in run.stderr and "did you mean `PRO-SEAT`" in run.stderr


SPEC_CONTRACT_SHOW = {
    "contract": "C-2026-0001",
    "account": "acme",
    "currency": "PLN",
    "status": "active",
    "start": "2026-01-01",
    "end": "2026-12-31",
    "as_of": "2026-06-30",
    "owned": [{"product": "PRO-SEAT", "quantity": "55", "mrr": "4950.00"}],
    "mrr": "4950.00",
    "arr": "59400.00",
}


def spec_keys(data: dict) -> dict:
    """The SPEC §6 keys of `contract show` (more keys may be added, never renamed)."""
    out = {k: data[k] for k in SPEC_CONTRACT_SHOW}
    out["owned"] = [{k: o[k] for k in ("product", "quantity", "mrr")} for o in data["owned"]]
    return out


def test_contract_show_json_matches_the_spec_shape(example_repo, cli) -> None:
    run = cli("contract", "show", "C-2026-0001", "--as-of", "2026-06-30", "--format", "json", "--repo", example_repo)
    assert run.code == 0 and run.stderr == ""
    assert spec_keys(json.loads(run.stdout)) == SPEC_CONTRACT_SHOW


@pytest.mark.parametrize(
    "day,status,owned,mrr",
    [
        ("2025-12-31", "pending", [], "0.00"),
        ("2026-04-15", "active", [("PRO-SEAT", "50", "4500.00")], "4500.00"),
        ("2026-04-16", "active", [("PRO-SEAT", "55", "4950.00")], "4950.00"),
        ("2026-09-01", "active", [("PRO-SEAT", "55", "4950.00"), ("SSO", "1", "450.00")], "5400.00"),
        ("2027-01-01", "ended", [], "0.00"),
    ],
)
def test_contract_show_follows_the_ledger_over_time(example_repo, cli, day, status, owned, mrr) -> None:
    data = json.loads(
        cli("contract", "show", "C-2026-0001", "--as-of", day, "-f", "json", "--repo", example_repo).stdout
    )
    assert data["status"] == status and data["as_of"] == day
    assert [(o["product"], o["quantity"], o["mrr"]) for o in data["owned"]] == owned
    assert data["mrr"] == mrr


def test_account_show_json(example_repo, cli) -> None:
    run = cli("account", "show", "acme", "--as-of", "2026-06-30", "--format", "json", "--repo", example_repo)
    assert run.code == 0 and run.stderr == ""
    data = json.loads(run.stdout)
    assert (data["account"], data["currency"], data["as_of"]) == ("acme", "PLN", "2026-06-30")
    assert [c["contract"] for c in data["contracts"]] == ["C-2026-0001"]
    assert [(o["product"], o["quantity"], o["mrr"]) for o in data["owned"]] == [("PRO-SEAT", "55", "4950.00")]
    assert (data["mrr"], data["arr"], data["next_renewal"]) == ("4950.00", "59400.00", "2026-12-31")


def test_contract_show_csv_and_md(example_repo, cli) -> None:
    args = ("contract", "show", "C-2026-0001", "--as-of", "2026-06-30", "--repo", example_repo)
    assert cli(*args, "-f", "csv").stdout == "product,name,quantity,mrr\nPRO-SEAT,Pro seat,55,4950.00\n"
    md = cli(*args, "-f", "md").stdout
    assert "| PRO-SEAT | Pro seat | 55 | 4950.00 |" in md


# ----------------------------------------------------------------------------- --repo / --as-of anywhere


def test_repo_and_as_of_before_after_and_from_the_environment(example_repo, cli) -> None:
    show = ("contract", "show", "C-2026-0001", "-f", "json")
    after = cli(*show, "--repo", example_repo, "--as-of", "2026-06-30")
    before = cli("--repo", example_repo, "--as-of", "2026-06-30", *show)
    env = cli(*show, env={"CPQ_REPO": str(example_repo), "CPQ_AS_OF": "2026-06-30"})
    mixed = cli("--as-of", "2026-06-30", *show, "--repo", example_repo)
    assert after.code == before.code == env.code == mixed.code == 0
    assert spec_keys(json.loads(after.stdout)) == SPEC_CONTRACT_SHOW
    assert after.stdout == before.stdout == env.stdout == mixed.stdout


def test_global_options_do_not_leak_into_the_next_run(example_repo, cli) -> None:
    assert cli("--repo", example_repo, "--as-of", "2026-06-30", "catalog", "list").code == 0
    run = cli("contract", "show", "C-2026-0001")  # no repo this time: the working directory has none
    assert run.code == 2 and "E-NO-REPO" in run.stderr


def test_unknown_contract_exits_2_with_a_hint(example_repo, cli) -> None:
    run = cli("contract", "show", "C-2026-0010", "--as-of", "2026-06-30", "--repo", example_repo)
    assert run.code == 2 and run.stdout == ""
    assert "E-UNKNOWN-CONTRACT" in run.stderr and "hint" in run.stderr and "Traceback" not in run.stderr


def test_unknown_account_exits_2_with_a_hint(example_repo, cli) -> None:
    run = cli("account", "show", "acmee", "--as-of", "2026-06-30", "--repo", example_repo)
    assert run.code == 2 and "did you mean `acme`" in run.stderr


@pytest.mark.parametrize("where", ["after", "before", "env"])
@pytest.mark.parametrize("bad", ["2026-13-01", "30.06.2026", "yesterday"])
def test_bad_as_of_is_a_usage_error(example_repo, cli, where, bad) -> None:
    show = ("contract", "show", "C-2026-0001", "--repo", example_repo)
    run = {
        "after": lambda: cli(*show, "--as-of", bad),
        "before": lambda: cli("--as-of", bad, *show),
        "env": lambda: cli(*show, env={"CPQ_AS_OF": bad}),
    }[where]()
    assert run.code == 2 and run.stdout == ""
    assert "E-USAGE" in run.stderr and bad in run.stderr


def test_init_makes_a_git_repository_with_its_own_schemas(tmp_path, cli) -> None:
    """Issue 18: `init` runs `git init` (unless inside a work tree, or --no-git), ignores out/, and the starter
    catalog's editor modeline points at the repository's own schemas/ instead of a URL that does not resolve."""
    import subprocess

    target = tmp_path / "fresh"
    assert cli("init", target).code == 0
    assert (target / ".git").is_dir()
    assert "out/" in (target / ".gitignore").read_text(encoding="utf-8").splitlines()
    modeline = (target / "catalog/products.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert modeline == "# yaml-language-server: $schema=../schemas/catalog.schema.json"
    schema = json.loads((target / "catalog" / modeline.split("=", 1)[1]).read_text(encoding="utf-8"))
    import jsonschema
    import yaml

    jsonschema.validate(yaml.safe_load((target / "catalog/products.yaml").read_text(encoding="utf-8")), schema)
    (target / "out").mkdir()
    (target / "out/Q-1.pdf").write_bytes(b"%PDF")
    status = subprocess.run(
        ["git", "-C", target, "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "out/" not in status and "schemas/catalog.schema.json" in status

    mapping = json.loads((target / ".vscode/settings.json").read_text(encoding="utf-8"))["yaml.schemas"]
    assert all((target / path).is_file() for path in mapping)  # every mapped schema is there
    assert mapping["./schemas/contract.schema.json"] == ["contracts/*/*.yaml", "!contracts/*/account.yaml"]
    assert ".vscode/settings.json" in status

    nested = target / "sub"
    assert cli("init", nested).code == 0
    assert not (nested / ".git").exists()  # inside a work tree already: no repository in a repository
    plain = tmp_path / "plain"
    assert cli("init", plain, "--no-git").code == 0
    assert not (plain / ".git").exists()


@pytest.mark.parametrize("flag", ["-q", "--quiet", "--no-color"])
def test_global_flags_work_after_the_subcommand(example_repo, cli, flag) -> None:
    """Issue 18: `report arr --no-color` said "No such option"; the flags now stand anywhere, like --repo."""
    before = cli(flag, "report", "arr", "--as-of", "2026-06-30", "--repo", example_repo)
    after = cli("report", "arr", "--as-of", "2026-06-30", "--repo", example_repo, flag)
    assert after.code == 0, after.stderr
    assert (after.stdout, after.stderr) == (before.stdout, before.stderr)
    quiet = cli(
        "quote",
        "new",
        "--account",
        "acme",
        "--start",
        "2027-01-01",
        "--line",
        "PRO-SEAT=5",
        "--as-of",
        "2026-12-01",
        "--repo",
        example_repo,
        "-q",
    )
    assert quiet.code == 0 and quiet.stderr == ""


def test_a_global_flag_after_double_dash_is_an_argument(example_repo, cli) -> None:
    run = cli("report", "arr", "--repo", example_repo, "--", "-q")
    assert run.code == 2 and "-q" in run.stderr


@pytest.mark.parametrize("columns,one_line", [(None, False), ("200", True)])
def test_piped_tables_follow_columns_without_trailing_spaces(example_repo, cli, columns, one_line) -> None:
    """Issue 18: piped output was fixed at 120 columns, padded with trailing spaces, and ignored COLUMNS."""
    run = cli("catalog", "list", "--repo", example_repo, env={"COLUMNS": columns})
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines and not any(line.endswith(" ") for line in lines)
    assert max(len(line) for line in lines) <= (200 if one_line else 120)
    # at 200 columns the longest product name needs no folding; at the default 120 it folds
    assert any("API calls plan (1M calls per month)" in line for line in lines) is one_line


def test_a_reader_that_goes_away_is_no_error(example_repo: Path) -> None:
    """`cpqctl … | head -1`: the reader is gone before cpqctl writes; cpqctl stops without a traceback or an
    "internal error" (exit 141, 128 + SIGPIPE, as the shell's tools)."""
    reader = subprocess.Popen(["true"], stdin=subprocess.PIPE)
    reader.wait()  # the pipe has no reader left: the first write fails with EPIPE
    env = {**os.environ, "CPQ_AS_OF": "2026-12-05", "NO_COLOR": "1", "CPQ_PROGRESS": "0"}
    writer = subprocess.run(
        [sys.executable, "-m", "cpqctl", "--repo", str(example_repo), "account", "list"],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        env=env,
        check=False,
    )
    reader.stdin.close()
    assert b"error" not in writer.stderr and b"Traceback" not in writer.stderr, writer.stderr
    assert writer.returncode == 141


@pytest.mark.parametrize(
    "args",
    [
        ("account", "show", "acme", "--as-of", "2026-06-30"),
        ("--as-of", "2026-06-30", "-f", "json", "contract", "show", "C-2026-0001"),
        ("-q", "check"),
        ("report", "arr", "--as-of", "2026-06-30", "--format", "json"),
        ("quote", "show", "Q-NOPE"),  # a refusal: the same message and exit code
        ("contract",),  # a group alone: its help
        ("renewals", "--help"),
    ],
)
def test_the_console_script_builds_only_the_command_asked_for(example_repo, args) -> None:
    """`run()` hands Typer the one command named (issue 21: building all of them costs ≈ 0.15 s a call); what it
    prints and its exit code are the whole app's."""
    from typer.testing import CliRunner

    from cpqctl.cli.main import _asked, app, lean

    name = _asked(list(args))
    one = lean(name)
    assert one is not None and len(one.registered_commands) + len(one.registered_groups) == 1
    env = {"CPQ_REPO": str(example_repo), "NO_COLOR": "1", "COLUMNS": "120"}
    whole = CliRunner().invoke(app, list(args), env=env)
    part = CliRunner().invoke(one, list(args), env=env)
    assert (part.exit_code, part.output) == (whole.exit_code, whole.output)


def test_no_command_or_an_unknown_one_gets_the_whole_tree() -> None:
    from cpqctl.cli.main import _asked, lean

    assert _asked(["--repo", "x", "--as-of", "2026-01-01"]) is None
    assert _asked(["-f", "json", "--", "check"]) is None
    assert lean("contrct") is None  # the whole app then answers with its did-you-mean
