"""`cpqctl resolve`: repair what a git merge left in the data repository (:mod:`cpqctl.app.resolve`)."""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import RepoOpt


def resolve(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the repairs; write nothing.")] = False,
    format: Annotated[
        str, typer.Option("--format", "-f", click_type=click.Choice(["table", "json"]), help="table or json.")
    ] = "table",
    repo: RepoOpt = None,
) -> None:
    """Repair a merge: keep both branches' amendments of a conflicted contract, restore dropped ones, relabel.

    After `git merge` reports a conflict in contracts/<account>/<contract>.yaml
    (two branches amended the same contract), this keeps the side merged into
    byte for byte and appends the other side's amendments; it also restores the
    ledger entry of any accepted amendment quote a merge dropped ("ours") and
    labels amendments A-1, A-2, … in order. Files a person must resolve
    (cpq.toml, the catalog, two quotes or invoices under one number) are listed,
    never touched. Then `git add` the files and commit. Exit 1 while errors
    remain (what `cpqctl check` would report is listed).

    Example:

      git merge origin/anna/acme-upsell    # CONFLICT (content): contracts/acme/C-2026-0001.yaml

      cpqctl resolve && git add -A contracts && git commit --no-edit
    """
    from cpqctl.app.resolve import resolve as run
    from cpqctl.render import diagnostics as rd
    from cpqctl.render.output import dumps_json, emit

    ws = common.workspace(repo, None)
    result = run(ws, dry_run=dry_run)
    if format == "json":
        sys.stdout.write(dumps_json(result.data))
    else:
        rows = [{"file": r.file, "action": r.action, "detail": r.detail} for r in result.repairs]
        rows += [{"file": f"{f}:{n}", "action": "by hand", "detail": why} for f, n, why in result.unresolved]
        if rows:
            emit("table", {}, ["file", "action", "detail"], rows, title="Merge repairs")
        if result.findings:
            sys.stdout.write(rd.concise(list(result.findings)))
    if result.written:
        common.info(f"wrote {', '.join(result.written)}; `git add` them and commit")
    elif result.repairs and dry_run:
        common.info("dry run: nothing written")
    elif not result.repairs and not result.unresolved:
        common.info("nothing to resolve: no conflict markers, no dropped amendments, labels in order")
    if result.unresolved or result.errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("resolve")(resolve)
