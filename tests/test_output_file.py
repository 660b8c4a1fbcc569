"""Issue 18: ``-o/--output FILE`` on every command that prints data.

The file holds exactly what stdout would have held; the format follows the extension unless
``--format`` is given; nothing is printed on stdout and one "wrote FILE" line goes to stderr.
"""

from __future__ import annotations

import json

import pytest

AS_OF = ("--as-of", "2026-06-30")

COMMANDS = [
    ("report", "arr"),  # a report
    ("contract", "list"),  # a list
    ("contract", "show", "C-2026-0001"),  # a show command
    ("invoice", "preview", "C-2026-0001"),
]


@pytest.mark.parametrize("args", COMMANDS)
@pytest.mark.parametrize(("ext", "fmt"), [("json", "json"), ("csv", "csv"), ("md", "md")])
def test_the_extension_picks_the_format(cli, example_repo, tmp_path, args, ext, fmt):
    expected = cli(*args, "--format", fmt, *AS_OF, "--repo", example_repo)
    assert expected.code == 0, expected.stderr
    assert expected.stdout

    target = tmp_path / "out" / f"result.{ext}"
    r = cli(*args, "-o", target, *AS_OF, "--repo", example_repo)
    assert r.code == 0, r.stderr
    assert r.stdout == ""
    assert target.read_text(encoding="utf-8") == expected.stdout
    assert f"wrote {target}" in r.stderr
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left behind
    if fmt == "json":
        json.loads(target.read_text(encoding="utf-8"))


@pytest.mark.parametrize("args", COMMANDS)
def test_an_other_extension_is_the_default_table(cli, example_repo, tmp_path, args):
    expected = cli(*args, *AS_OF, "--repo", example_repo)
    target = tmp_path / "result.txt"
    r = cli(*args, "--output", target, *AS_OF, "--repo", example_repo)
    assert r.code == 0, r.stderr
    assert r.stdout == ""
    assert target.read_text(encoding="utf-8") == expected.stdout


def test_an_explicit_format_wins_over_the_extension(cli, example_repo, tmp_path):
    expected = cli("contract", "list", "-f", "csv", *AS_OF, "--repo", example_repo)
    target = tmp_path / "contracts.json"
    r = cli("contract", "list", "-f", "csv", "-o", target, *AS_OF, "--repo", example_repo)
    assert r.code == 0, r.stderr
    assert target.read_text(encoding="utf-8") == expected.stdout
    assert not target.read_text(encoding="utf-8").startswith("{")


def test_dash_is_stdout(cli, example_repo):
    expected = cli("contract", "list", "-f", "json", *AS_OF, "--repo", example_repo)
    r = cli("contract", "list", "-f", "json", "-o", "-", *AS_OF, "--repo", example_repo)
    assert r.code == 0
    assert r.stdout == expected.stdout


def test_quiet_writes_without_a_message(cli, example_repo, tmp_path):
    target = tmp_path / "a.json"
    r = cli("-q", "contract", "list", "-o", target, *AS_OF, "--repo", example_repo)
    assert r.code == 0
    assert r.stdout == "" and r.stderr == ""
    assert json.loads(target.read_text(encoding="utf-8"))


def test_an_existing_file_is_replaced(cli, example_repo, tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old content that is longer than nothing\n" * 100, encoding="utf-8")
    expected = cli("contract", "list", "-f", "json", *AS_OF, "--repo", example_repo)
    r = cli("contract", "list", "-o", target, *AS_OF, "--repo", example_repo)
    assert r.code == 0
    assert target.read_text(encoding="utf-8") == expected.stdout


def test_a_refusal_writes_no_file(cli, example_repo, tmp_path):
    target = tmp_path / "q.json"
    r = cli("quote", "show", "Q-NOPE", "-o", target, *AS_OF, "--repo", example_repo)
    assert r.code == 2
    assert not target.exists()
    assert "wrote" not in r.stderr
    assert json.loads(r.stdout)["error"]["code"] == "E-UNKNOWN-QUOTE"  # json from the extension: the error as data


def test_check_with_findings_still_writes_its_file(cli, example_repo, tmp_path):
    path = example_repo / "contracts" / "acme" / "C-2026-0001.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("product: SSO", "product: NO-SUCH"), encoding="utf-8")
    expected = cli("check", "-f", "json", *AS_OF, "--repo", example_repo)
    target = tmp_path / "check.json"
    r = cli("check", "-o", target, *AS_OF, "--repo", example_repo)
    assert r.code == expected.code == 1
    assert r.stdout == ""
    assert target.read_text(encoding="utf-8") == expected.stdout


def test_a_folder_is_refused(cli, example_repo, tmp_path):
    r = cli("contract", "list", "-o", tmp_path, *AS_OF, "--repo", example_repo)
    assert r.code == 2
    assert r.stdout == ""


@pytest.mark.parametrize(("name", "head"), [("acme.md", b"# "), ("acme.pdf", b"%PDF"), ("acme.json", b"{")])
def test_commands_with_their_own_output_take_the_format_from_it(cli, example_repo, tmp_path, name, head):
    """`render` writes its document to its own -o; without --format the extension names the format too."""
    target = tmp_path / name
    r = cli("account", "render", "acme", "-o", target, *AS_OF, "--repo", example_repo)
    assert r.code == 0, r.stderr
    assert target.read_bytes().startswith(head)
    typed = cli("account", "render", "acme", "--format", "pdf", "-o", tmp_path / "x.md", *AS_OF, "--repo", example_repo)
    assert typed.code == 0 and (tmp_path / "x.md").read_bytes().startswith(b"%PDF")  # --format typed: it wins


def test_every_data_command_has_output(cli):
    """Every command with --format has -o/--output (its own or the generic one)."""
    import click
    import typer

    from cpqctl.cli.main import app

    missing = []

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
        elif any(p.name == "format" for p in cmd.params):
            opts = {o for p in cmd.params for o in getattr(p, "opts", ())}
            if not {"-o", "--output"} <= opts:
                missing.append(" ".join(path))

    walk(typer.main.get_command(app), [])
    assert missing == []
