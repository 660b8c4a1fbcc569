"""`cpqctl diff REV [REV]`: what a change set does to ARR, contract value and invoices."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import click
import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, RepoOpt
from cpqctl.core.diagnostics import CpqError, UsageError


def _git(cwd: Path, *args: str) -> bytes:
    try:
        return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True).stdout
    except FileNotFoundError:
        raise UsageError("E-GIT", "git is not installed", "cpqctl diff reads revisions with git") from None
    except subprocess.CalledProcessError as e:
        msg = e.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError("E-GIT", f"git {' '.join(args[:2])} failed: {msg[-1] if msg else e.returncode}",
                       "name revisions git knows: a commit, a branch, HEAD~1, origin/main…") from None


def _checkout(root: Path, rev: str, into: Path) -> Path:
    """The data repository as it was at ``rev`` (git archive of the repo folder into ``into``)."""
    top = Path(_git(root, "rev-parse", "--show-toplevel").decode().strip())
    sub = root.resolve().relative_to(top.resolve()).as_posix()
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    spec = [commit] + ([sub] if sub != "." else [])
    data = _git(top, "archive", "--format=tar", *spec)
    tar_path = into / "rev.tar"
    tar_path.write_bytes(data)
    with tarfile.open(tar_path) as tf:
        if hasattr(tarfile, "data_filter"):  # Python ≥ 3.11.4: refuse links and paths leaving the folder
            tf.extractall(into / "tree", filter="data")
        else:  # pragma: no cover - older 3.11
            tf.extractall(into / "tree")
    out = into / "tree" / sub if sub != "." else into / "tree"
    if not (out / "cpq.toml").is_file():
        raise UsageError("E-NO-REPO", f"at {rev} there is no cpq.toml in {sub}", "pick a revision after the repo "
                       "was created")
    return out


def _load(path: Path, label: str):
    from cpqctl.load.repo import load_repo

    loaded, diags = load_repo(path)
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        raise CpqError("E-INVALID-REPO", f"the repository at {label} has {len(errors)} error(s), first: "
                       f"{errors[0].file}:{errors[0].line}:{errors[0].column} {errors[0].message}",
                       "run `cpqctl check` on that revision")
    return loaded


def diff(
    rev: Annotated[str, typer.Argument(help="The base revision (e.g. origin/main, HEAD~1).")],
    rev2: Annotated[Optional[str], typer.Argument(help="The revision to compare (default: the working tree).")] = None,
    format: Annotated[str, typer.Option("--format", "-f", click_type=click.Choice(["table", "json", "md"]),
                                        help="table, json, or md (paste into a pull request).")] = "table",
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when ARR changes (a CI gate).")] = False,
    as_of: AsOfOpt = None, repo: RepoOpt = None,
) -> None:
    """Show what a change set does: contracts and quotes changed, ARR per account, contract value, invoices.

    Both sides are loaded from git (git archive into a temporary folder);
    without REV2 the working tree is compared.

    Example:

      cpqctl diff origin/main --format md > summary.md

      cpqctl diff HEAD~1 HEAD --exit-code
    """
    from cpqctl.core import diff as core
    from cpqctl.render.output import dumps_json, emit

    day = common.as_of(as_of)
    root = common.root(repo)
    with tempfile.TemporaryDirectory(prefix="cpqctl-diff-") as tmp:
        t = Path(tmp)
        (t / "a").mkdir()
        before = _load(_checkout(root, rev, t / "a"), rev)
        if rev2:
            (t / "b").mkdir()
            after = _load(_checkout(root, rev2, t / "b"), rev2)
        else:
            after = _load(root, "the working tree")
    doc = core.compare(before, after, day)
    doc["from"], doc["to"] = rev, rev2 or "working tree"
    if format == "json":
        sys.stdout.write(dumps_json(doc))
    elif format == "md":
        sys.stdout.write(core.markdown(doc, f"cpqctl diff {rev}..{rev2 or 'working tree'}"))
    else:
        emit("table", doc, ["currency", "arr_before", "arr_after", "arr_delta"], doc["arr"], title="ARR",
             right=("arr_before", "arr_after", "arr_delta"))
        emit("table", doc, ["contract", "account", "change", "value_delta", "arr_before", "arr_after"],
             doc["contracts"], title="Contracts", right=("value_delta", "arr_before", "arr_after"))
        if doc["quotes"]:
            emit("table", doc, ["quote", "kind", "account", "change", "status_after"], doc["quotes"], title="Quotes")
        if doc["invoices_issued"]:
            emit("table", doc, ["invoice", "account", "date", "net_total", "currency"], doc["invoices_issued"],
                 title="Invoices issued", right=("net_total",))
    if exit_code and doc["arr_changed"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
