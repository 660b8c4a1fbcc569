"""Where in git the data repository is: the branch a command writes on, the default branch, the writer.

Read only when a command allocates a number (quotes, contracts, invoices):
numbering depends on it (:mod:`cpqctl.core.numbering`, docs/teamwork.md).
Outside git — no ``git`` program, the folder is not in a work tree, or it is
inside another project's work tree without its ``cpq.toml`` being tracked
(e.g. ``cpqctl tour``'s copy in a clone of cpqctl) — there are no branches and
every command works as before.

The branch is ``CPQ_BRANCH`` when set (a CI job on a detached checkout names
the branch it builds), else git's current branch; a detached HEAD has none.
The default branch is ``[git] default_branch`` in cpq.toml, else the remote's
(``refs/remotes/origin/HEAD``), else ``main`` or ``master`` when the repository
has that branch, else the only branch (a new repository's first one), else
``init.defaultBranch``, else ``main``. The writer's
identity is ``git config user.email`` (so two people on branches of the same
name still number apart).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cpqctl.core.numbering import series_token


@dataclass(frozen=True, slots=True)
class Branch:
    """The git state a numbering writer needs."""

    name: str | None  # None: detached HEAD without CPQ_BRANCH
    default: str
    identity: str = ""

    @property
    def is_default(self) -> bool:
        return self.name == self.default

    @property
    def token(self) -> str:
        """This writer's series token (:func:`cpqctl.core.numbering.series_token`)."""
        return series_token(self.name or "(detached)", self.identity)

    @property
    def shown(self) -> str:
        return self.name or "a detached HEAD"


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def branch(root: Path, configured_default: str | None = None) -> Branch | None:
    """The repository's branch state, or None outside git."""
    if shutil.which("git") is None or _git(root, "rev-parse", "--is-inside-work-tree") != "true":
        return None
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or (
        Path(top).resolve() != root.resolve() and _git(root, "ls-files", "--", "cpq.toml") in ("", None)
    ):
        return None  # a folder inside another project's work tree that git does not version (`cpqctl tour`'s copy)
    name = os.environ.get("CPQ_BRANCH") or _git(root, "symbolic-ref", "--quiet", "--short", "HEAD") or None
    default = configured_default or _default_branch(root, name)
    return Branch(name, default, _git(root, "config", "user.email") or "")


def _default_branch(root: Path, current: str | None) -> str:
    remote = _git(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if remote and "/" in remote:
        return remote.split("/", 1)[1]
    heads = (_git(root, "for-each-ref", "--format=%(refname:short)", "refs/heads") or "").split()
    for candidate in ("main", "master"):
        if candidate in heads:
            return candidate
    if len(heads) == 1:
        return heads[0]
    if not heads and current:  # a new repository: its first branch is the default one
        return current
    return _git(root, "config", "init.defaultBranch") or "main"


def merge_sides(root: Path, rel: str) -> tuple[str, str] | None:
    """The two versions of ``rel`` (repository path) the current or last merge joined: (ours, theirs).

    During a merge (``MERGE_HEAD``): HEAD's and MERGE_HEAD's; after a merge
    commit: its first and second parent's. None outside git, when HEAD is no
    merge, or when either side lacks the file.
    """
    if shutil.which("git") is None:
        return None
    if _git(root, "rev-parse", "-q", "--verify", "MERGE_HEAD") is not None:
        revs = ("HEAD", "MERGE_HEAD")
    elif _git(root, "rev-parse", "-q", "--verify", "HEAD^2") is not None:
        revs = ("HEAD^1", "HEAD^2")
    else:
        return None
    out = []
    for rev in revs:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), "show", f"{rev}:./{rel}"], capture_output=True, timeout=30, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if done.returncode != 0:
            return None
        out.append(done.stdout.decode("utf-8", errors="replace"))
    return out[0], out[1]


def default_version(root: Path, rel: str, default: str) -> str | None:
    """``rel`` as the default branch holds it (origin's copy when it has one, else the local branch), or None."""
    for rev in (f"refs/remotes/origin/{default}", f"refs/heads/{default}"):
        if _git(root, "rev-parse", "-q", "--verify", rev) is None:
            continue
        try:
            done = subprocess.run(
                ["git", "-C", str(root), "show", f"{rev}:./{rel}"], capture_output=True, timeout=30, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else None
    return None
