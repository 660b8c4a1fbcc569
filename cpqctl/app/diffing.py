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

from cpqctl.app.workspace import Parts, Workspace
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
    doc = _touched(ws, rev, rev2, day)
    if doc is not None:
        return DiffResult(rev, rev2, day, doc, core.markdown(doc, f"cpqctl diff {rev}..{rev2 or 'working tree'}"))
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
    _refuse_errors([d for d in diags if d.severity == "error"], label)
    return loaded


def _refuse_errors(errors: list, label: str) -> None:
    """E-INVALID-REPO when a side of the comparison has loader errors."""
    if errors:
        raise CpqError(
            "E-INVALID-REPO",
            f"the repository at {label} has {len(errors)} error(s), first: "
            f"{errors[0].file}:{errors[0].line}:{errors[0].column} {errors[0].message}",
            "run `cpqctl check` on that revision",
        )


# --------------------------------------------------------------------------- a big repository: what changed, alone


WT = None  # the working tree, as a side of the comparison


def _touched(ws: Workspace, rev: str, rev2: str | None, day: date) -> dict | None:
    """:func:`diff` of a big repository (issue 21: two whole models of 50,000 accounts, each parsed from a `git
    archive`, held 2 GB) from the files that differ alone: the accounts whose folders changed, the quotes and the
    invoices, each side read from git's objects (or the working tree), and the totals of ARR from the working
    tree's contracts read a part at a time, moved to each revision by the accounts that differ from it. None when
    the whole comparison is made instead: a small repository, a working tree `check` finds an error in, a change of
    templates/, or a contract outside its account's folder. Each side's contracts are valued with its own settings
    (cpq.toml, fx/, indices/ at that revision).

    Every entry of the comparison is of a record whose file changed (a record whose file did not is the same on
    both sides, and the whole comparison leaves it out); the ARR totals are the working tree's plus, for each
    revision, the difference of the accounts that differ between it and the working tree. A revision is refused
    (E-INVALID-REPO) as the whole comparison refuses it: every data file that differs from the working tree is
    read at it, and the others are the working tree's, which `check` found free of errors."""
    from cpqctl.core import diff as core
    from cpqctl.load.parts import plan
    from cpqctl.load.repo import load_settings

    ws.recover()  # an interrupted write is repaired before the working tree is read
    found = plan(ws.root)
    if found is None or any(d.severity == "error" for d in ws.findings()):
        return None
    git = _Git(ws.root)
    c1 = git.commit(rev)
    c2 = git.commit(rev2) if rev2 else WT
    here_settings, diags = load_settings(ws.root)
    if any(d.severity == "error" for d in diags):
        return None
    settings: dict[str | None, object] = {WT: here_settings}  # each side's: its contracts valued with its own
    for commit, label in ((c1, rev), (c2, rev2 or "")):
        if commit is not None and commit not in settings:
            got = git.settings(commit, label)
            if got is None:
                return None
            settings[commit] = got
    totals = _totals(Parts(ws, found), day)
    if totals is None:
        return None
    sides = []
    for commit, label in ((c1, rev), (c2, rev2 or "")):
        total = dict(totals)
        if commit is not WT:
            moved = git.changed(commit, WT)
            if moved is None:
                return None
            there = git.side(commit, *moved, settings[commit], label)  # every data file that differs, checked
            here = git.side(WT, moved[0], set(), set(), set(), here_settings, "the working tree")
            if there is None or here is None:
                return None
            for sign, side in ((1, there), (-1, here)):
                for cur, (m, n) in core.currency_mrr(side, day).items():
                    had = total.get(cur, (0, 0))
                    total[cur] = (had[0] + sign * m, had[1] + sign * n)
        sides.append(total)
    changed = git.changed(c1, c2)
    if changed is None:
        return None
    accounts, quotes, invoices, _ = changed
    before = git.side(c1, accounts, quotes, invoices, set(), settings[c1], rev)
    after = git.side(c2, accounts, quotes, invoices, set(), settings[c2], rev2 or "the working tree")
    if before is None or after is None:
        return None
    doc = core.compare(before, after, day)
    doc["arr"], doc["arr_changed"] = core.arr_totals(sides[0], sides[1])
    doc["from"], doc["to"] = rev, rev2 or "working tree"
    return doc


def _totals(parts: Parts, day: date) -> dict | None:
    """:func:`cpqctl.core.diff.currency_mrr` of the working tree's contracts, read a part at a time; None when the
    parts cannot stand for the whole read."""
    from cpqctl.core import diff as core

    got = parts.read(frozenset({"contract"}), lambda repo: core.currency_mrr(repo, day))
    if got is None:
        return None
    out: dict = {}
    for part in got:
        for cur, (m, n) in part.items():
            had = out.get(cur, (0, 0))
            out[cur] = (had[0] + m, had[1] + n)
    return out


class _Git:
    """The data repository's git: revisions, what differs between two sides, a side's files read from git's objects
    (or the working tree)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.top = Path(_git(root, "rev-parse", "--show-toplevel").decode().strip())
        sub = root.resolve().relative_to(self.top.resolve()).as_posix()
        self.prefix = "" if sub == "." else sub + "/"
        self._changed_memo: dict[tuple, tuple | None] = {}

    def commit(self, rev: str) -> str:
        return _git(self.root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()

    def changed(self, a: str | None, b: str | None) -> tuple[set[str], set[str], set[str], set[str]] | None:
        """:meth:`_changed`, asked of git once per pair of sides (the revision against the working tree is asked
        for the totals and, without REV2, for the comparison)."""
        if (a, b) not in self._changed_memo:
            self._changed_memo[(a, b)] = self._changed(a, b)
        return self._changed_memo[(a, b)]

    def _changed(self, a: str | None, b: str | None) -> tuple[set[str], set[str], set[str], set[str]] | None:
        """(account folders, quote files, invoice files, the other data files: payments, periods, the catalog) that
        differ between the two sides (None: the working tree); None when a template differs (the whole comparison
        reads them). cpq.toml, fx/ and indices/ are each side's settings (:meth:`settings`)."""
        here = self.prefix or "."
        if b is WT:
            assert a is not None
            names = _git(self.top, "diff", "--name-only", "-z", "--no-renames", a, "--", here)
            names += _git(self.top, "ls-files", "--others", "-z", "--", here)  # untracked (and ignored) files
        else:
            assert a is not None and b is not None
            names = _git(self.top, "diff", "--name-only", "-z", "--no-renames", a, b, "--", here)
        accounts: set[str] = set()
        quotes: set[str] = set()
        invoices: set[str] = set()
        others: set[str] = set()
        for raw in names.split(b"\0"):
            name = raw.decode("utf-8", "surrogateescape")
            if not name.startswith(self.prefix) or not name:
                continue
            rel = name[len(self.prefix) :]
            parts = rel.split("/")
            if parts[0] == "templates":
                return None  # read with every load (their problems are the loader's): the whole comparison
            if parts[0] == "contracts" and len(parts) >= 2:
                accounts.add(parts[1])
            elif parts[0] == "quotes" and len(parts) == 2:
                quotes.add(rel)
            elif parts[0] == "invoices" and len(parts) == 2:
                invoices.add(rel)
            elif parts[0] in ("payments", "periods", "catalog"):
                others.add(rel)
        return accounts, quotes, invoices, others

    def side(self, commit: str | None, accounts, quotes, invoices, others, settings, label: str) -> Repo | None:
        """The records of those account folders, quote, invoice and other data files at ``commit`` (None: the
        working tree); refused (E-INVALID-REPO) when one of them does not load, as the whole comparison refuses a
        side; None when a contract is outside its account's folder (`check`'s E-ACCOUNT-FOLDER: the whole
        comparison sums it into the account it names)."""
        from cpqctl.load.repo import Loaded, data_file_kind, load_bytes

        wanted = sorted(f for f in (*quotes, *invoices, *others) if data_file_kind(f))
        files: dict[str, bytes] = {}
        if commit is WT:
            for acct in sorted(accounts):
                folder = self.root / "contracts" / acct
                if folder.is_dir() and not folder.is_symlink():
                    wanted += sorted(f"contracts/{acct}/{p.name}" for p in folder.iterdir())
            for rel in wanted:
                path = self.root / rel
                if data_file_kind(rel) and path.is_file() and not path.is_symlink():
                    files[rel] = path.read_bytes()
        else:
            listed = _git(
                self.top, "ls-tree", "-r", "-z", "--name-only", commit, "--",
                *(f"{self.prefix}contracts/{a}/" for a in sorted(accounts)),
            ) if accounts else b""  # fmt: skip
            wanted += [n.decode("utf-8", "surrogateescape")[len(self.prefix) :] for n in listed.split(b"\0") if n]
            files = self.read(commit, [rel for rel in wanted if data_file_kind(rel)])
        results = {rel: load_bytes(rel, data_file_kind(rel) or "", data) for rel, data in sorted(files.items())}
        repo, diags = Loaded(settings, results, [], whole=False).assemble()
        errors = [d for res in results.values() for d in res.diagnostics if d.severity == "error"]
        errors += [d for d in diags if d.severity == "error" and d.code == "E-DUPLICATE-ID"]
        _refuse_errors(errors, label)
        if any(c.src.file.split("/")[1] != c.account for c in repo.contracts.values()):
            return None
        return repo

    def settings(self, commit: str, label: str):
        """The settings at ``commit`` (cpq.toml, fx/ and indices/, as a load reads them), refused as the whole
        comparison refuses them; None when it has no cpq.toml there (the whole comparison says so)."""
        from cpqctl.load.repo import load_settings

        listed = _git(
            self.top, "ls-tree", "-r", "-z", "--name-only", commit, "--",
            f"{self.prefix}cpq.toml", f"{self.prefix}fx/", f"{self.prefix}indices/",
        )  # fmt: skip
        rels = [n.decode("utf-8", "surrogateescape")[len(self.prefix) :] for n in listed.split(b"\0") if n]
        files = self.read(commit, rels)
        if "cpq.toml" not in files:
            return None
        with tempfile.TemporaryDirectory(prefix="cpqctl-diff-") as tmp:
            for rel, data in files.items():
                path = Path(tmp) / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            settings, diags = load_settings(Path(tmp))
        _refuse_errors([d for d in diags if d.severity == "error"], label)
        return settings

    def read(self, commit: str, rels: list[str]) -> dict[str, bytes]:
        """The files ``rels`` at ``commit`` that exist there (one `git cat-file --batch`)."""
        if not rels:
            return {}
        spec = "".join(f"{commit}:{self.prefix}{rel}\n" for rel in rels).encode("utf-8", "surrogateescape")
        try:
            out = subprocess.run(
                ["git", "-C", str(self.top), "cat-file", "--batch"], input=spec, check=True, capture_output=True
            ).stdout
        except (FileNotFoundError, subprocess.CalledProcessError):
            raise UsageError("E-GIT", "git cat-file failed", "cpqctl diff reads revisions with git") from None
        files: dict[str, bytes] = {}
        at = 0
        for rel in rels:
            end = out.index(b"\n", at)
            head = out[at:end].split()
            at = end + 1
            if len(head) < 3 or not head[2].isdigit():
                continue  # "<name> missing": not at that revision
            size = int(head[2])
            if head[1] == b"blob":
                files[rel] = out[at : at + size]
            at += size + 1  # any object's content is followed by a newline (a tree where a file was: skipped)
        return files
