"""`cpqctl dunning run`: payment reminders by days overdue (docs/dunning.md).

A thin shell around :mod:`cpqctl.app.dunning`.
"""

from __future__ import annotations

from typing import Annotated

import click
import typer

from cpqctl.cli import common, completion
from cpqctl.cli.common import AsOfOpt, RepoOpt

app = common.group(
    "dunning",
    "Dunning: payment reminders for overdue invoices, by levels of days past due (cpq.toml [dunning]), "
    "e-mailed in each customer's language and recorded in the invoice files; optionally with the statutory "
    "compensation and interest for late payment.\n\n"
    "Example:\n\n  cpqctl dunning run --dry-run\n\n  CPQ_SMTP_PASSWORD=… cpqctl dunning run --as-of 2026-11-25",
)


@app.command("run")
def run(
    account: Annotated[
        list[str] | None,
        typer.Option(
            "--account",
            "-a",
            click_type=completion.ACCOUNT,
            show_default=False,
            help="Only this account's invoices (repeatable).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be sent; send and write nothing (no [smtp] needed).")
    ] = False,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            click_type=click.Choice(["table", "json"]),
            help="table (the reminders, then the accounts to suspend) or json.",
        ),
    ] = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Send the payment reminders due on --as-of and list the accounts to suspend.

    An open invoice past its due date reaches reminder level 1, 2, … at the days
    of cpq.toml [dunning] levels (default 7 and 21). Each account gets one e-mail
    per level, listing its invoices that reached the level and have not had that
    reminder yet, in its language (pl, en or de: templates
    dunning-email.<language>.txt.j2), through cpq.toml [smtp] to its billing
    contacts; the reminder is recorded in each invoice file's `reminders:` list
    once the server accepted it, so a second run on the same day sends nothing.
    With [dunning] compensation = true and interest_rate, each invoice also
    shows the statutory compensation for recovery costs (EUR 40, 70 or 100) and
    the interest for late payment to --as-of. Accounts with an invoice open
    [dunning] suspend_after days past due (default 60) are listed as a hint:
    nothing is changed.

    Example:

      cpqctl dunning run --dry-run

      CPQ_SMTP_PASSWORD=… cpqctl dunning run --as-of 2026-11-25

      cpqctl dunning run --account acme --format json
    """
    from cpqctl.app import dunning
    from cpqctl.core.money import money_str
    from cpqctl.render.output import rows_table, write_json_lists

    result = dunning.run_dunning(
        common.workspace(repo, as_of), accounts=account or (), dry_run=dry_run, notify=common.info
    )
    if format == "json":
        write_json_lists(result.head, result.lists)
    else:
        if result.rows:
            footer = {
                "account": "all",
                "total": ", ".join(f"{money_str(t['total'], t['currency'])} {t['currency']}" for t in result.totals),
            }
            rows_table(
                dunning.COLUMNS,
                result.rows,
                f"Payment reminders {'to send' if result.dry_run else 'sent'} on {result.as_of}",
                ("level", "days", "open", "compensation", "interest", "total"),
                footer,
            )
        if result.suspend:
            rows_table(
                dunning.SUSPEND_COLUMNS,
                result.suspend_rows,
                f"Accounts to consider suspending: an invoice {result.config.suspend_after} or more days past due "
                "(a hint: nothing was changed)",
                ("days_overdue", "open"),
            )
    common.info(result.message)
    if result.error is not None:
        raise result.error
