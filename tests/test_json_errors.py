"""Issue 18: with ``--format json`` a refusal is also data on stdout, ``{"error": {…}}``.

The text still goes to stderr and the exit code is the usual one: 2 for unusable input of the call
(an unknown ID typed on the command line, a bad option), 1 for a refused business rule or a
repository with errors.
"""

from __future__ import annotations

import json

import pytest

AS_OF = ("--as-of", "2026-06-30")
KEYS = ["code", "message", "file", "line", "column", "hint", "diagnostics"]


def _error(run) -> dict:
    doc = json.loads(run.stdout)
    assert list(doc) == ["error"]
    assert list(doc["error"]) == KEYS
    return doc["error"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("quote", "show", "Q-NOPE"), "E-UNKNOWN-QUOTE"),
        (("contract", "show", "C-2026-9999"), "E-UNKNOWN-CONTRACT"),
        (("account", "show", "nobody"), "E-UNKNOWN-ACCOUNT"),
        (("catalog", "show", "NO-SUCH-PRODUCT"), "E-UNKNOWN-PRODUCT"),
        (("invoice", "preview", "C-2026-9999"), "E-UNKNOWN-CONTRACT"),
        (("report", "arr", "--account", "nobody"), "E-UNKNOWN-ACCOUNT"),
        (("amend", "C-2026-9999", "--effective", "2026-07-01", "--set", "PRO-SEAT=60"), "E-UNKNOWN-CONTRACT"),
    ],
)
@pytest.mark.parametrize("flag", [("--format", "json"), ("-f", "json"), ("--format=json",)])
def test_unknown_id_is_a_json_error_and_exit_2(cli, example_repo, args, code, flag):
    r = cli(*AS_OF, *args, *flag, "--repo", example_repo)  # --as-of before the command: catalog show has none
    assert r.code == 2, r.stderr
    err = _error(r)
    assert err["code"] == code
    assert "unknown" in err["message"]
    assert err["hint"]
    assert err["file"] is None and err["line"] is None and err["column"] is None
    assert f"error[{code}]" in r.stderr  # the text for people is unchanged


def test_unknown_id_without_json_prints_nothing_on_stdout(cli, example_repo):
    r = cli("quote", "show", "Q-NOPE", *AS_OF, "--repo", example_repo)
    assert r.code == 2
    assert r.stdout == ""
    assert "error[E-UNKNOWN-QUOTE]" in r.stderr


def test_a_refused_business_rule_exits_1_with_its_position(cli, example_repo):
    r = cli(
        "amend", "C-2026-0001", "--effective", "2025-06-01", "--set", "PRO-SEAT=60", "-f", "json", *AS_OF,
        "--repo", example_repo,
    )  # fmt: skip
    assert r.code == 1, r.stderr
    err = _error(r)
    assert err["code"] == "E-EFFECTIVE"
    assert err["file"] == "contracts/acme/C-2026-0001.yaml"
    assert isinstance(err["line"], int) and isinstance(err["column"], int)
    assert "error[E-EFFECTIVE]" in r.stderr
    assert not (example_repo / "quotes").exists() or not any((example_repo / "quotes").iterdir())


def test_a_repository_with_errors_lists_its_diagnostics(cli, example_repo):
    (example_repo / "catalog" / "broken.yaml").write_text("products: [\n", encoding="utf-8")
    r = cli(
        "quote", "new", "--account", "acme", "--start", "2026-07-01", "--line", "PRO-SEAT=5", "-f", "json",
        *AS_OF, "--repo", example_repo,
    )  # fmt: skip
    assert r.code == 1, r.stderr
    err = _error(r)
    assert err["code"] == "E-INVALID-REPO"
    assert err["diagnostics"] and all(d["file"] == "catalog/broken.yaml" for d in err["diagnostics"])


def test_no_repository_is_a_json_usage_error(cli, tmp_path):
    r = cli("contract", "list", "-f", "json", *AS_OF)
    assert r.code == 2
    assert _error(r)["code"] == "E-NO-REPO"


def test_a_bad_option_with_json_is_E_USAGE(cli, example_repo):
    r = cli("quote", "list", "--bogus", "-f", "json", "--repo", example_repo)
    assert r.code == 2
    err = _error(r)
    assert err["code"] == "E-USAGE"
    assert "--bogus" in err["message"]
    assert "No such option" in r.stderr  # click's usage text stays


def test_a_bad_option_without_json_prints_nothing_on_stdout(cli, example_repo):
    r = cli("quote", "list", "--bogus", "--repo", example_repo)
    assert r.code == 2
    assert r.stdout == ""


def test_check_json_on_an_unusable_repository(cli, tmp_path):
    r = cli("check", "--format", "json", "--repo", tmp_path / "nowhere")
    assert r.code == 2
    assert _error(r)["code"] == "E-NO-REPO"


@pytest.mark.parametrize(
    "args",
    [
        ("contract", "show", "C-2026-0001"),
        ("contract", "list"),
        ("report", "arr"),
        ("invoice", "preview", "C-2026-0001"),
    ],
)
def test_success_is_unchanged(cli, example_repo, args):
    r = cli(*args, "-f", "json", *AS_OF, "--repo", example_repo)
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert "error" not in doc


def test_findings_of_check_stay_exit_1_and_are_diagnostics(cli, example_repo):
    """A reference inside a file to an unknown ID is a finding (exit 1), not a usage error."""
    path = example_repo / "contracts" / "acme" / "C-2026-0001.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("product: SSO", "product: NO-SUCH"), encoding="utf-8")
    r = cli("check", "-f", "json", *AS_OF, "--repo", example_repo)
    assert r.code == 1
    doc = json.loads(r.stdout)
    assert "error" not in doc
    assert "E-UNKNOWN-PRODUCT" in {d["code"] for d in doc["diagnostics"]}


# --------------------------------------------------------------------------- every command


def _leaves():
    """Every command of the tree as (path, click command)."""
    import click
    import typer

    from cpqctl.cli.main import app

    out = []

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name, sub in sorted(cmd.commands.items()):
                walk(sub, [*path, name])
        else:
            out.append((tuple(path), cmd))

    walk(typer.main.get_command(app), [])
    return out


# `tour` narrates a walk through a copy of the example for people: it prints no data, takes no --format
NO_JSON = {("tour",)}


def test_every_command_but_the_tour_takes_format_json():
    missing = []
    for path, cmd in _leaves():
        fmt = next((p for p in cmd.params if p.name == "format"), None)
        if path not in NO_JSON and (fmt is None or "json" not in getattr(fmt.type, "choices", ())):
            missing.append(" ".join(path))
    assert missing == []


@pytest.mark.parametrize("path", [p for p, _ in _leaves() if p not in NO_JSON], ids=" ".join)
def test_every_command_answers_a_usage_error_in_json_with_exit_2(cli, example_repo, path):
    """A bad option on any command: exit 2, the error as JSON on stdout, the text on stderr."""
    r = cli(*path, "--no-such-option", "--format", "json", "--repo", example_repo)
    assert r.code == 2, r.stdout + r.stderr
    err = _error(r)
    assert err["code"] == "E-USAGE" and "--no-such-option" in err["message"]
    assert err["hint"] == f"see `cpqctl {' '.join(path)} --help`"
    assert "No such option" in r.stderr


# A value for each required option, so that only the unknown ID is wrong.
REQUIRED = {
    "--by": "Boss",
    "--signed-by": "Anna Nowak",
    "--effective": "2026-08-01",
    "--reason": "a mistake",
    "--account": "acme",
    "--start": "2026-08-01",
}


def _id_commands():
    """Commands whose argument is an ID of the repository: (path, the argument's kind, the required options)."""
    from cpqctl.cli.completion import Ids

    out = []
    for path, cmd in _leaves():
        arg = next((p for p in cmd.params if p.param_type_name == "argument" and isinstance(p.type, Ids)), None)
        if arg is None or arg.type.kind == "line":
            continue
        required = [o for p in cmd.params if p.param_type_name == "option" and p.required for o in p.opts[:1]]
        out.append((path, arg.type.kind, tuple(required)))
    return out


# What a command needs besides its ID and required options to get as far as looking the ID up.
EXTRA = {("amend",): ("--set", "PRO-SEAT=60"), ("renumber",): ("C-2026-9998",)}

UNKNOWN = {
    "quote": ("Q-2026-9999", "E-UNKNOWN-QUOTE"),
    "contract": ("C-2026-9999", "E-UNKNOWN-CONTRACT"),
    "account": ("nobody", "E-UNKNOWN-ACCOUNT"),
    "invoice": ("INV-2026-9999", "E-UNKNOWN-INVOICE"),
    "product": ("NO-SUCH-PRODUCT", "E-UNKNOWN-PRODUCT"),
    "quote-or-contract": ("C-2026-9999", "E-UNKNOWN-ID"),
}


@pytest.mark.parametrize(
    ("path", "kind", "required"), _id_commands(), ids=lambda x: " ".join(x) if isinstance(x, tuple) else str(x)
)
def test_every_command_refuses_an_unknown_id_in_json_with_exit_2(cli, example_repo, path, kind, required):
    value, code = UNKNOWN[kind]
    options = [w for o in required for w in (o, REQUIRED[o])]
    extra = EXTRA.get(path, ())
    r = cli(*path, value, *extra, *options, "--format", "json", "--as-of", "2026-07-01", "--repo", example_repo)
    assert r.code == 2, r.stdout + r.stderr
    err = _error(r)
    assert err["code"] == code, err
    assert f"error[{code}]" in r.stderr


def test_the_id_commands_cover_every_kind():
    kinds = {kind for _, kind, _ in _id_commands()}
    assert {"quote", "contract", "account", "invoice", "product"} <= kinds
    assert len(_id_commands()) >= 12


def test_a_mistyped_subcommand_is_a_json_error(cli, example_repo):
    r = cli("quote", "lst", "--format", "json", "--repo", example_repo)
    assert r.code == 2
    err = _error(r)
    assert err["code"] == "E-USAGE" and "lst" in err["message"] and "list" in err["message"]


def test_an_output_file_named_json_asks_for_json_errors(cli, example_repo, tmp_path):
    r = cli("report", "arr", "--by", "nothing", "-o", tmp_path / "arr.json", "--repo", example_repo)
    assert r.code == 2 and _error(r)["code"] == "E-USAGE"
    assert not (tmp_path / "arr.json").exists()
    typed = cli("report", "arr", "--by", "nothing", "-f", "csv", "-o", tmp_path / "arr.json", "--repo", example_repo)
    assert typed.code == 2 and typed.stdout == ""  # --format csv typed: the extension says nothing


def test_an_unknown_product_typed_is_exit_2_a_refused_rule_exit_1(cli, example_repo):
    unknown = cli("quote", "new", "-a", "acme", "--start", "2026-08-01", "-l", "NOPE=1", "-f", "json", *AS_OF,
                  "--repo", example_repo)  # fmt: skip
    assert unknown.code == 2
    err = _error(unknown)
    assert (err["code"], err["file"], err["line"]) == ("E-UNKNOWN-PRODUCT", "--line", 1)  # the first --line
    rule = cli("quote", "new", "-a", "acme", "--start", "2026-08-01", "-l", "SSO=1", "-f", "json", *AS_OF,
               "--repo", example_repo)  # fmt: skip
    assert rule.code == 1 and _error(rule)["code"] == "E-REQUIRES"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("invoice", "list", "--from", "01.03.2026"), "--from"),
        (("report", "movements", "--from", "xx", "--to", "2026-09-30"), "--from"),
        (("quote", "new", "-a", "acme", "--start", "01.08.2026", "-l", "PRO-SEAT=1"), "--start"),
        (("amend", "C-2026-0001", "--effective", "1 Aug", "--set", "PRO-SEAT=60"), "--effective"),
        (("invoice", "run", "--through", "2026/12/01"), "--through"),
    ],
)
def test_a_bad_date_hint_names_the_option_typed(cli, example_repo, args, option):
    r = cli(*args, "--format", "json", "--repo", example_repo)
    assert r.code == 2
    assert _error(r)["hint"].startswith(f"e.g. {option} ")
