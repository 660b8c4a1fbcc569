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
