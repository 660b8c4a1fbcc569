"""The docs cannot drift from the code (docs/, scripts/gen_docs.py, .pre-commit-hooks.yaml).

The reference pages are regenerated in-process and compared with the committed
files; diagnostics.md must list exactly the codes the code base uses; the
pre-commit hook's entry command must work on the example repository.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
DOCS = PROJECT / "docs"


def _gen():
    spec = importlib.util.spec_from_file_location("gen_docs", PROJECT / "scripts" / "gen_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gen = _gen()


def test_cli_reference_is_what_the_generator_writes_now() -> None:
    committed = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert committed == gen.cli_reference(), "docs/reference/cli.md is stale: run `python scripts/gen_docs.py`"


def test_cli_reference_covers_every_command_with_its_help() -> None:
    text = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    for path, _cmd, _ in gen.command_tree():
        name = " ".join(("cpqctl", *path))
        assert f"\n## {name}\n" in text, f"{name} is missing from cli.md"
    assert "Usage: cpqctl quote new [OPTIONS]" in text and "--as-of DATE" in text


def test_every_command_has_a_summary_and_an_example() -> None:
    assert gen.help_problems() == []


def test_help_problems_catches_a_command_without_example(monkeypatch) -> None:
    import click

    bare = click.Command("bare", help="Do a thing.", callback=lambda: None)
    monkeypatch.setattr(gen, "command_tree", lambda: [(("bare",), bare, click.Context(bare, info_name="bare"))])
    assert gen.help_problems() == ["`cpqctl bare` has no Example section in its --help"]


def test_cli_reference_does_not_depend_on_the_terminal(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    assert gen.cli_reference() == (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")


def test_formats_reference_is_what_the_schemas_give_now() -> None:
    committed = (DOCS / "reference" / "formats.md").read_text(encoding="utf-8")
    template = (DOCS / "_templates" / "formats.md").read_text(encoding="utf-8")
    assert committed == gen.formats_reference(template), "formats.md is stale: run `python scripts/gen_docs.py`"


def test_formats_reference_lists_every_field_of_every_kind() -> None:
    from cpqctl.load.schema import json_schema

    text = (DOCS / "reference" / "formats.md").read_text(encoding="utf-8")

    def paths(s: dict, prefix: str):
        for name, sub in s.get("properties", {}).items():
            yield prefix + name
            yield from paths(sub, prefix + name + ".")
            if sub.get("type") == "array":
                yield from paths(sub.get("items", {}), prefix + name + "[].")

    for kind in gen.KINDS:
        for p in paths(json_schema(kind), ""):
            assert f"| `{p}` |" in text, f"{kind}: field {p} missing from formats.md"
    assert "| `lines[].unit_price` | decimal | yes |" in text  # a nested, required field of the contract
    assert "| `products[].type` | `subscription` \\| `one-time` |  | `subscription` |" in text  # a default


def test_diagnostics_doc_lists_exactly_the_codes_in_the_code() -> None:
    in_code = set(gen.codes_in_code())
    documented = gen.codes_in_doc((DOCS / "reference" / "diagnostics.md").read_text(encoding="utf-8"))
    assert sorted(in_code - set(documented)) == [], "undocumented diagnostic codes"
    assert sorted(set(documented) - in_code) == [], "documented codes that no longer exist"
    assert len(documented) == len(set(documented)), "a code is documented twice"


def test_every_documented_code_has_an_example_and_a_fix() -> None:
    text = (DOCS / "reference" / "diagnostics.md").read_text(encoding="utf-8")
    sections = re.split(r"^### ", text, flags=re.MULTILINE)[1:]
    assert sections
    for s in sections:
        code = s.split("\n", 1)[0]
        assert "Fix:" in s, f"{code}: no fix"
        if code not in ("E-IMPORT-EMPTY", "E-CONTRACT-EXISTS"):  # a snippet says nothing an empty file would
            assert "```" in s, f"{code}: no example snippet"


def test_code_collection_finds_codes_in_source(tmp_path) -> None:
    (tmp_path / "cpqctl").mkdir()
    (tmp_path / "cpqctl" / "m.py").write_text('raise CpqError("E-NEW-THING", "x")\nd = "W-SOFT"\nx = "E-"\n')
    assert gen.codes_in_code(tmp_path) == {"E-NEW-THING": ["cpqctl/m.py"], "W-SOFT": ["cpqctl/m.py"]}


def test_gen_docs_check_passes_on_the_committed_docs(capsys) -> None:
    assert gen.main(["--check"]) == 0, capsys.readouterr().err


def test_gen_docs_check_fails_on_a_stale_file(monkeypatch, tmp_path, capsys) -> None:
    stale = tmp_path / "cli.md"
    stale.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(gen, "CLI_MD", stale)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    monkeypatch.setattr(gen, "DIAGNOSTICS_MD", DOCS / "reference" / "diagnostics.md")
    monkeypatch.setattr(gen, "diagnostics_problems", lambda: [])
    monkeypatch.setattr(gen, "FORMATS_MD", tmp_path / "formats.md")
    (tmp_path / "formats.md").write_text(gen.formats_reference(gen.FORMATS_TEMPLATE.read_text("utf-8")), "utf-8")
    assert gen.main(["--check"]) == 1
    assert "cli.md is stale" in capsys.readouterr().err
    assert stale.read_text(encoding="utf-8") == "old\n"  # --check writes nothing


# --------------------------------------------------------------------------- pre-commit


def test_pre_commit_hook_is_well_formed() -> None:
    hooks = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "cpqctl-check"]
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    assert hook["entry"] == "cpqctl check --format concise"
    files = re.compile(hook["files"])
    assert files.search("contracts/acme/C-2026-0001.yaml") and files.search("cpq.toml")
    assert files.search("catalog/x.yml") and not files.search("README.md")
    assert "id: cpqctl-check" in (DOCS / "pre-commit.md").read_text(encoding="utf-8")


def test_pre_commit_entry_runs_clean_on_the_example_repo(cli, example_repo) -> None:
    hook = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))[0]
    program, *args = shlex.split(hook["entry"])
    assert program == "cpqctl"
    run = cli(*args, cwd=example_repo)
    assert run.code == 0, run.stdout + run.stderr


def test_pre_commit_entry_fails_on_a_broken_file(cli, example_repo) -> None:
    (example_repo / "catalog" / "broken.yaml").write_text("products:\n  - {code: X, name: X, per: yearly}\n")
    hook = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))[0]
    run = cli(*shlex.split(hook["entry"])[1:], cwd=example_repo)
    assert run.code == 1 and "E-ENUM" in run.stdout + run.stderr


# --------------------------------------------------------------------------- links


@pytest.mark.parametrize(
    "page",
    sorted(
        p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if not p.relative_to(DOCS).as_posix().startswith("_")
    ),
)
def test_relative_links_point_at_existing_files(page) -> None:
    path = DOCS / page
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (path.parent / target).exists(), f"{page}: broken link to {target}"


def test_the_index_links_every_page() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for p in DOCS.rglob("*.md"):
        rel = p.relative_to(DOCS).as_posix()
        if rel != "README.md" and not rel.startswith("_"):
            assert f"({rel})" in index, f"docs/README.md does not link {rel}"
