"""--repo and --as-of work after every subcommand, as before it (issue 18: `catalog list --as-of` was refused)."""

from __future__ import annotations

import click
import pytest
import typer.main

from cpqctl.cli.main import app


def _leaves():
    root = typer.main.get_command(app)
    out = []

    def walk(path, cmd):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk((*path, name), sub)
        else:
            out.append((path, cmd))

    walk((), root)
    return out


@pytest.mark.parametrize("path, cmd", _leaves(), ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
def test_every_command_accepts_the_global_options(path, cmd):
    opts = {o for p in cmd.params for o in getattr(p, "opts", ())}
    assert {"--repo", "--as-of"} <= opts, path


def test_catalog_list_takes_as_of_and_repo_after_the_subcommand(cli, example_repo):
    run = cli("catalog", "list", "--as-of", "2026-01-01", "--repo", example_repo, "--format", "json")
    assert run.code == 0, run.stderr
    assert '"PRO-SEAT"' in run.stdout
    bad = cli("catalog", "list", "--as-of", "01.01.2026", "--repo", example_repo)
    assert bad.code == 2 and "01.01.2026" in bad.stderr  # checked like everywhere else
