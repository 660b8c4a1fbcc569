"""What a change set does to the business: the data repository at two git revisions compared.

Each side is read from git (``git archive`` of the repository's folder at that
revision into a temporary folder) or, without a second revision, the working
tree; the comparison itself is :func:`cpqctl.core.diff.compare` (pure).
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError, UsageError
from cpqctl.core.model import Repo


@dataclass(frozen=True)
class DiffResult:
    """The comparison as the `cpqctl diff --format json` document (``data``) and as Markdown for a pull request."""

    rev: str
    rev2: str | None
    as_of: date
    data: dict
    markdown: str

    @property
    def arr_changed(self) -> bool:
        return bool(self.data["arr_changed"])


def diff(ws: Workspace, *, rev: str, rev2: str | None = None, as_of: date | None = None) -> DiffResult:
    """Compare the repository at ``rev`` with ``rev2`` (default: the working tree) on ``as_of``.

    Refused (E-GIT) when git is missing or does not know a revision, (E-NO-REPO)
    when a revision predates the repository, and (E-INVALID-REPO) when either
    side has loader errors.
    """
    from cpqctl.core import diff as core

    day = ws.day(as_of)
    with tempfile.TemporaryDirectory(prefix="cpqctl-diff-") as tmp:
        t = Path(tmp)
        (t / "a").mkdir()
        before = _load(checkout(ws.root, rev, t / "a"), rev)
        if rev2:
            (t / "b").mkdir()
            after = _load(checkout(ws.root, rev2, t / "b"), rev2)
        else:
            ws.recover()  # an interrupted write is repaired before the working tree is read
            after = _load(ws.root, "the working tree")
    doc = core.compare(before, after, day)
    doc["from"], doc["to"] = rev, rev2 or "working tree"
    return DiffResult(rev, rev2, day, doc, core.markdown(doc, f"cpqctl diff {rev}..{rev2 or 'working tree'}"))


def _git(cwd: Path, *args: str) -> bytes:
    try:
        return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True).stdout
    except FileNotFoundError:
        raise UsageError("E-GIT", "git is not installed", "cpqctl diff reads revisions with git") from None
    except subprocess.CalledProcessError as e:
        msg = e.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(
            "E-GIT",
            f"git {' '.join(args[:2])} failed: {msg[-1] if msg else e.returncode}",
            "name revisions git knows: a commit, a branch, HEAD~1, origin/main…",
        ) from None


def checkout(root: Path, rev: str, into: Path) -> Path:
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
        raise UsageError(
            "E-NO-REPO", f"at {rev} there is no cpq.toml in {sub}", "pick a revision after the repo was created"
        )
    return out


def _load(path: Path, label: str) -> Repo:
    from cpqctl.load.repo import load_repo

    loaded, diags = load_repo(path)
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        raise CpqError(
            "E-INVALID-REPO",
            f"the repository at {label} has {len(errors)} error(s), first: "
            f"{errors[0].file}:{errors[0].line}:{errors[0].column} {errors[0].message}",
            "run `cpqctl check` on that revision",
        )
    return loaded
