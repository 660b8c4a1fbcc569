"""Create a new data repository: cpq.toml, a starter catalog, the folders and a .gitignore (texts in
:mod:`cpqctl.formats.init`).

A folder may already hold files (a git checkout, a catalog): they are kept and
only what is missing is added, in one transaction. A folder that already holds
a repository is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cpqctl.core.diagnostics import CpqError, UsageError


@dataclass(frozen=True)
class InitResult:
    root: Path
    written: tuple[str, ...]  # repository-relative paths created or appended to
    message: str


def init(
    directory: Path | None = None,
    *,
    name: str = "My Company",
    currency: str = "USD",
    locale: str = "en_US",
    git: bool = True,
) -> InitResult:
    """Create the repository in ``directory`` (default: the current folder), for ``name`` in ``currency``.

    The JSON Schemas go to ``schemas/`` (the starter catalog's editor modeline points there, so it resolves
    offline); with ``git`` (default), a folder that is not yet inside a git work tree becomes one (`git init`),
    when git is installed — contracts as files in git is the point.
    """
    from cpqctl.app.checking import schema_texts
    from cpqctl.formats import init as texts

    target = (directory or Path(".")).resolve()
    if target.exists() and not target.is_dir():
        raise UsageError("E-USAGE", f"{target} is a file, not a folder", "pick a folder for the repository")
    if (target / "cpq.toml").exists():
        raise CpqError(
            "E-EXISTS",
            f"{target} already holds a cpqctl repository (cpq.toml)",
            "pick another folder; nothing was changed",
        )
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise UsageError("E-USAGE", f"`{currency}` is not a currency code", "e.g. --currency EUR")
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(locale)
    except (ValueError, UnknownLocaleError):
        raise UsageError("E-USAGE", f"`{locale}` is not a known locale", "e.g. --locale en_US") from None
    from cpqctl.store import Store

    target.mkdir(parents=True, exist_ok=True)
    store = Store(target)
    written = []
    with store.lock(), store.transaction() as tx:
        tx.create("cpq.toml", texts.settings_toml(name, currency, locale))
        written.append("cpq.toml")
        if not (target / "catalog").is_dir() or not any((target / "catalog").glob("*.yaml")):
            tx.create("catalog/products.yaml", texts.starter_catalog(currency))
            written.append("catalog/products.yaml")
        for schema_name, schema in schema_texts().items():
            if not (target / "schemas" / schema_name).exists():
                tx.create(f"schemas/{schema_name}", schema)
                written.append(f"schemas/{schema_name}")
        if not (target / ".vscode" / "settings.json").exists():
            tx.create(".vscode/settings.json", texts.vscode_settings())
            written.append(".vscode/settings.json")
        for d in ("contracts", "quotes", "invoices"):
            if not (target / d).exists():
                tx.create(f"{d}/.gitkeep", "")
                written.append(f"{d}/.gitkeep")
        ignore = target / ".gitignore"
        if not ignore.exists():
            tx.create(".gitignore", texts.GITIGNORE)
            written.append(".gitignore")
        else:
            addition = texts.gitignore_addition(ignore.read_text(encoding="utf-8", errors="replace"))
            if addition is not None:
                tx.append(".gitignore", addition)
                written.append(".gitignore")
    made_git = git and _git_init(target)
    return InitResult(
        target,
        tuple(written),
        f"created a cpqctl repository in {target}" + (" (and a git repository: `git init`)" if made_git else "") + "\n"
        "next: add an account under contracts/<id>/account.yaml, then `cpqctl quote new`; "
        "`cpqctl check` validates everything",
    )


def _git_init(target: Path) -> bool:
    """`git init` in ``target`` unless it already is inside a work tree or git is missing; whether it ran."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        return False
    inside = subprocess.run(
        ["git", "-C", str(target), "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True
    )
    if inside.returncode == 0 and inside.stdout.strip() == "true":
        return False
    made = subprocess.run(["git", "-C", str(target), "init", "-q"], capture_output=True, text=True)
    return made.returncode == 0
