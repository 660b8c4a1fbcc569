"""`cpqctl renumber OLD NEW --reason TEXT`: a quote or contract ID changed in every file (:mod:`cpqctl.app.renumber`)."""

from __future__ import annotations

from typing import Annotated

import click
import typer

from cpqctl.cli import common, completion
from cpqctl.cli.common import AsOfOpt, RepoOpt


def renumber(
    old: Annotated[
        str, typer.Argument(click_type=completion.QUOTE_OR_CONTRACT, help="The quote or contract ID to change.")
    ],
    new: Annotated[str, typer.Argument(help="The new ID (no quote, contract or invoice may use it).")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why: recorded in the files (`renumbered:`). Required.", show_default=False)
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would change; write nothing.")] = False,
    format: Annotated[
        str,
        typer.Option("--format", "-f", click_type=click.Choice(["table", "json"]), help="table or json."),
    ] = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Change a quote or contract ID everywhere it is used, recorded with a reason.

    For the rare ID that must change, e.g. two git branches that created the
    same contract number. The file is renamed and every reference follows, in
    one write (all files or none): a contract's `quote:`, the quotes naming a
    contract (`contract:`) and the contracts renewing it (`renews:`). The
    renamed file records `renumbered: [{from, to, date, reason}]`; an accepted
    quote whose text changes records it too, gets a new digest, and the
    `quote_digest:` its contract keeps follows. An invoice number is never
    renumbered, nor a contract or amendment quote an issued invoice names
    (E-RENUMBER-ISSUED): correct an invoice with a new one.

    Example:

      cpqctl renumber C-2027-0004 C-2027-0005 --reason "two branches" --dry-run

      cpqctl renumber Q-2026-0012 Q-2026-0014 --reason "duplicate after merge"
    """
    from cpqctl.app.renumber import renumber as run
    from cpqctl.render.output import emit

    result = run(common.workspace(repo, as_of), old, new, reason=reason, dry_run=dry_run)
    rows = [{"file": f.file, "was": f.was or "", "changes": "; ".join(f.changes)} for f in result.files]
    verb = "would change" if result.dry_run else "changed"
    emit(
        format,
        result.data,
        ["file", "was", "changes"],
        rows,
        title=f"{result.kind} {result.old} → {result.new}: {verb}",
    )
    if result.message:
        common.info(result.message)


def register(app: typer.Typer) -> None:
    app.command("renumber")(renumber)
