"""Compiled templates are kept between runs in the user's cache folder (Jinja's bytecode cache): the same
documents, an edited template compiled again, a damaged entry or a shared folder no error and no risk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cpqctl.render import documents


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv("CPQ_TEMPLATE_CACHE", raising=False)
    documents._bytecode_cache.cache_clear()
    documents._environment.cache_clear()
    yield home
    documents._bytecode_cache.cache_clear()
    documents._environment.cache_clear()


def _render(cli, repo: Path) -> str:
    run = cli("account", "render", "acme", "-f", "md", "-o", "-", "--as-of", "2026-06-30", "--repo", repo)
    assert run.code == 0, run.stderr
    return run.stdout


def _fresh() -> None:
    documents._environment.cache_clear()  # as a new process: the templates are loaded (from the cache) again


def test_the_same_document_from_the_cache_and_an_edited_template_compiled_again(example_repo, cli, cache_home):
    first = _render(cli, example_repo)
    entries = list(cache_home.glob("cpqctl/*/*.cache"))
    assert entries  # the compiled templates were kept
    _fresh()
    assert _render(cli, example_repo) == first
    # a repository template overriding the built-in one: its own entry, its own output
    templates = example_repo / "templates"
    templates.mkdir()
    builtin = Path(documents.__file__).parents[1] / "templates" / "account.md.j2"
    (templates / "account.md.j2").write_text(builtin.read_text(encoding="utf-8") + "\nEDITED\n", encoding="utf-8")
    _fresh()
    assert _render(cli, example_repo).rstrip().endswith("EDITED")
    (templates / "account.md.j2").write_text(builtin.read_text(encoding="utf-8") + "\nAGAIN\n", encoding="utf-8")
    _fresh()
    assert _render(cli, example_repo).rstrip().endswith("AGAIN")  # its source changed: compiled again


def test_a_damaged_entry_is_compiled_again(example_repo, cli, cache_home):
    first = _render(cli, example_repo)
    for entry in cache_home.glob("cpqctl/*/*.cache"):
        entry.write_bytes(b"\x00garbage")
    _fresh()
    assert _render(cli, example_repo) == first


def test_a_folder_others_may_write_is_not_used(example_repo, cli, cache_home):
    documents._bytecode_cache()
    (folder,) = list(cache_home.glob("cpqctl/*"))
    os.chmod(folder, 0o777)
    documents._bytecode_cache.cache_clear()
    assert documents._bytecode_cache() is None  # another user could plant compiled code there
    first = _render(cli, example_repo)
    _fresh()
    assert _render(cli, example_repo) == first
    os.chmod(folder, 0o700)


def test_off_by_the_environment(monkeypatch, cache_home):
    monkeypatch.setenv("CPQ_TEMPLATE_CACHE", "0")
    assert documents._bytecode_cache() is None
