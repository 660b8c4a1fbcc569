"""The `cpqctl` command: global options and the command groups (one module each)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cpqctl._version import __version__
from cpqctl.cli import common
from cpqctl.cli.common import CpqGroup, CpqTyper

# Flags that mean the same on every command: accepted before or after the subcommand (issue 18), as --repo
# and --as-of already are. They take no value, so moving them in front of the subcommand changes nothing else.
GLOBAL_FLAGS = ("-q", "--quiet", "--no-color")
ROOT_VALUED = ("--repo", "--as-of")  # the root's options that take a value


def _format_to_the_end(args: list[str], end: int) -> list[str]:
    """``--format X`` (``-f X``, ``--format=X``) written before the subcommand moved after it (before a ``--``):
    the command it names reads it, as if typed there; a command without --format refuses it as it would."""
    moved: list[str] = []
    kept: list[str] = []
    i = 0
    while i < end:
        word = args[i]
        if word in ROOT_VALUED:  # the root's own option and its value
            kept += args[i : i + 2]
            i += 2
            continue
        if word.startswith("-") and word not in ("-f", "--format") and not word.startswith("--format="):
            kept.append(word)
            i += 1
            continue
        if not word.startswith("-"):  # the subcommand: what follows is its own
            kept.extend(args[i:end])
            break
        if word in ("-f", "--format") and i + 1 < end:
            moved += [word, args[i + 1]]
            i += 2
        else:
            moved.append(word)
            i += 1
    return [*kept, *moved, *args[end:]] if moved else args


class CpqRootGroup(CpqGroup):
    """The `cpqctl` group: the global flags are taken wherever they stand (up to a `--`), and ``--format``
    written before the subcommand goes to the subcommand."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        flags = [a for a in args[:end] if a in GLOBAL_FLAGS]
        if flags:
            rest = [a for a in args[:end] if a not in GLOBAL_FLAGS]
            args = [*dict.fromkeys(flags), *rest, *args[end:]]
            end = args.index("--") if "--" in args else len(args)
        return super().parse_args(ctx, _format_to_the_end(args, end))


app = CpqTyper(
    name="cpqctl",
    cls=CpqRootGroup,
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Configure-price-quote and subscription contracts as code.\n\n"
    "The catalog, customers, contracts, quotes and invoices are YAML files in a git "
    "repository; cpqctl prices quotes, amends contracts mid-term, invoices and reports ARR.\n\n"
    "Example:\n\n  cpqctl check\n\n  cpqctl account show acme --as-of 2026-06-30",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cpqctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    repo: Annotated[
        Path | None,
        typer.Option(
            "--repo",
            envvar="CPQ_REPO",
            metavar="PATH",
            help="The data repository (default: nearest folder with cpq.toml).",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", envvar="CPQ_AS_OF", metavar="DATE", help="The date commands run on (default: today)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only errors on stderr.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours (also NO_COLOR).")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    common.STATE.repo = str(repo) if repo else None
    common.STATE.as_of = as_of
    common.STATE.quiet = quiet
    common.STATE.no_color = common.STATE.no_color or no_color
    from cpqctl.render.output import OPTIONS

    OPTIONS.no_color = common.STATE.no_color


def _register() -> None:
    from cpqctl.cli import (
        account,
        amend,
        catalog,
        check,
        contract,
        diff,
        export,
        importer,
        init,
        invoice,
        quote,
        renew,
        renumber,
        report,
        resolve,
        schema,
        tour,
    )

    for mod in (check, schema, init, amend, renew, renumber, invoice, report, diff, resolve, tour, importer, export):
        mod.register(app)
    for mod in (catalog, quote, contract, account):
        app.add_typer(mod.app)
    from cpqctl.cli import fx  # exchange-rate tables (docs/fx.md)

    app.add_typer(fx.app)
    from cpqctl.cli import payment  # payments and receivables (docs/receivables.md)

    app.add_typer(payment.app)
    from cpqctl.cli import dunning  # payment reminders (docs/dunning.md)

    app.add_typer(dunning.app)
    from cpqctl.cli import journal  # the double-entry journal (docs/revenue.md#journal)

    journal.register(app)
    from cpqctl.cli import close  # period close (docs/revenue.md#period-close)

    close.register(app)
    from cpqctl.cli import serve  # the local web view (docs/portal.md)

    serve.register(app)
    from cpqctl.cli import portal  # the customer portal's links and provisioning (docs/portal.md)

    app.add_typer(portal.app)


_register()


def _asked(args: list[str]) -> str | None:
    """The subcommand the command line names: the first word that is not an option (nor the root's options'
    values) before a ``--``; None when there is none."""
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            return None
        if word in ROOT_VALUED or word in ("-f", "--format"):
            i += 2
        elif word.startswith("-"):
            i += 1
        else:
            return word
    return None


def _name(info) -> str | None:
    """A registered command's or group's name as the command line types it."""
    from typer.models import DefaultPlaceholder

    name = info.name if not isinstance(info.name, DefaultPlaceholder) else None
    if name:
        return name
    inner = getattr(info, "typer_instance", None)
    if inner is not None:
        return inner.info.name if not isinstance(inner.info.name, DefaultPlaceholder) else None
    callback = getattr(info, "callback", None)
    return callback.__name__.replace("_", "-") if callback is not None else None


def lean(name: str) -> typer.Typer | None:
    """The `cpqctl` app with only command or group ``name`` under it (None: no such one).

    Typer turns every registered function into a click command before running the one asked for: with ~120
    commands that is ≈ 0.15–0.2 s of signature inspection on every call, more than a one-record command's own
    work (issue 21). The root's options and behaviour are the same (the same callback and group class)."""
    import copy

    commands = [c for c in app.registered_commands if _name(c) == name]
    groups = [g for g in app.registered_groups if _name(g) == name]
    if len(commands) + len(groups) != 1:
        return None
    one = copy.copy(app)
    one.registered_commands = commands
    one.registered_groups = groups
    return one


def run() -> None:
    """The console script: the app with only the subcommand named (the whole tree for help, shell completion,
    an unknown or no subcommand: its listing and its did-you-mean)."""
    import os
    import sys

    if not any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        name = _asked(sys.argv[1:])
        one = lean(name) if name and name not in ("-h", "--help") else None
        if one is not None:
            one()
            return
    app()
