"""`cpqctl init`: scaffold a data repository (:mod:`cpqctl.app.init`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cpqctl.cli import common


def init(
    directory: Annotated[Path | None, typer.Argument(help="Where to create the repository (default: here).")] = None,
    name: Annotated[str, typer.Option("--name", help="Your company's name.")] = "My Company",
    currency: Annotated[str, typer.Option("--currency", help="Company currency (ISO 4217).")] = "USD",
    locale: Annotated[str, typer.Option("--locale", help="Locale for documents, e.g. en_US or pl_PL.")] = "en_US",
    git: Annotated[
        bool, typer.Option("--git/--no-git", help="Make the folder a git repository unless it is inside one.")
    ] = True,
) -> None:
    """Create a new data repository: cpq.toml, a starter catalog, folders, schemas, git.

    Example:

      cpqctl init my-contracts --name "Example Software" --currency EUR --locale de_DE
    """
    from cpqctl.app.init import init as run

    result = run(directory, name=name, currency=currency, locale=locale, git=git)
    common.info(result.message)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
