"""`cpqctl tour [DIR]` (SPEC §6): the whole story on a copy of the example, documents left to open."""

from __future__ import annotations

import json
from pathlib import Path


def test_the_tour_tells_the_story_and_leaves_the_documents_it_names(cli, tmp_path):
    target = tmp_path / "tour"
    run = cli("tour", target)
    assert run.code == 0, run.stderr
    lines = run.stderr.strip().splitlines()
    assert lines[-1].startswith("open: ")
    named = [Path(p) for p in lines[-1][len("open: ") :].split()]
    pdfs = [p for p in named if p.suffix == ".pdf"]
    assert len(pdfs) >= 3 and any(p.suffix == ".md" for p in named)  # new quote, up-sell, renewal at least
    for p in named:
        assert p.is_file() and p.parent == target.resolve() / "out"
    for p in pdfs:
        assert p.read_bytes().startswith(b"%PDF")
    # each step says what it runs; the story covers quote → contract → up-sell → renewal
    for command in (
        "$ cpqctl quote new",
        "$ cpqctl quote accept",
        "$ cpqctl amend",
        "$ cpqctl renew",
        "$ cpqctl contract show",
        "$ cpqctl account show",
    ):
        assert command in run.stderr
    kinds = {
        json.loads(cli("quote", "show", p.stem, "--repo", target, "--format", "json").stdout)["kind"]
        for p in pdfs
        if p.stem.startswith("Q-")
    }
    assert kinds == {"new", "amendment", "renewal"}
    check = cli("check", "--format", "json", "--repo", target)
    assert check.code == 0 and json.loads(check.stdout) == {"diagnostics": []}


def test_the_tour_refuses_a_folder_that_is_not_empty(cli, tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    run = cli("tour", target)
    assert run.code == 1
    assert "not empty" in run.stderr
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]  # nothing was changed


def test_the_tour_goes_to_cpq_tour_by_default(cli, tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    (here / "cpq-tour").mkdir()
    (here / "cpq-tour" / "x").write_text("taken")
    run = cli("tour", cwd=here)  # refused: proves the default folder without running the whole tour twice
    assert run.code == 1 and str(here / "cpq-tour") in run.stderr
