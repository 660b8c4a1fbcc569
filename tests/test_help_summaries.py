"""Help lists every command with its whole first sentence, wrapped, never cut with `...` (issue 18)."""

from __future__ import annotations

import re

import click
import pytest

from cpqctl.cli.main import app


def _groups():
    import typer.main

    root = typer.main.get_command(app)
    out = [((), root)]
    assert isinstance(root, click.Group)
    for name, cmd in root.commands.items():
        if isinstance(cmd, click.Group):
            out.append(((name,), cmd))
    return out


@pytest.mark.parametrize("path, group", _groups(), ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
@pytest.mark.parametrize("columns", ["60", "100", "200"])
def test_command_summaries_are_whole_sentences(cli, path, group, columns, monkeypatch):
    monkeypatch.setenv("COLUMNS", columns)
    run = cli(*path, "--help")
    assert run.code == 0, run.stderr
    listing = run.stdout.split("Commands:", 1)[1]
    flat = re.sub(r"(\w)- (\w)", r"\1-\2", re.sub(r"\s+", " ", listing))  # a wrap after a hyphen
    assert "..." not in listing
    for name, cmd in group.commands.items():
        if cmd.hidden:
            continue
        first = re.sub(r"\s+", " ", cmd.get_short_help_str(limit=10_000))
        assert first and f"{name} {first}" in flat, (name, first)
