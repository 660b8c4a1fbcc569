"""`cpqctl portal`: sign-in links for the customer portal and its provisioning queue (docs/portal.md).

A thin shell around :mod:`cpqctl.app.portal` and :mod:`cpqctl.app.provisioning`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer

from cpqctl.cli import common, completion
from cpqctl.cli.common import AsOfOpt, RepoOpt

app = common.group(
    "portal",
    "The customer portal (`cpqctl serve --portal`): invite a customer with a sign-in link, revoke links, "
    "list them, and send provisioning events that failed again.\n\n"
    "Example:\n\n  cpqctl portal invite acme --send\n\n  cpqctl portal revoke --account acme",
)

FormatOpt = Annotated[
    str, typer.Option("--format", "-f", click_type=click.Choice(["text", "json"]), help="text or json.")
]


@app.command("invite")
def invite(
    account: Annotated[str, typer.Argument(click_type=completion.ACCOUNT, help="The customer's account.")],
    email: Annotated[
        str | None, typer.Option("--email", metavar="ADDR", help="Who gets the link (default: the billing contact).")
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", min=1, max=90, help="Days the link is valid (default [portal] link_days).")
    ] = None,
    send: Annotated[bool, typer.Option("--send", help="E-mail the link through cpq.toml [smtp].")] = False,
    format: FormatOpt = "text",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Issue a sign-in link to the customer portal for ACCOUNT (printed, or e-mailed with --send).

    The link is signed with the secret in the environment variable cpq.toml
    [portal] secret_env names (default CPQ_PORTAL_SECRET), is valid from
    --as-of for --days days, and is recorded in .cpq/portal/invites.json so
    that `cpqctl portal revoke` can end it and the sessions it opened.

    Example:

      cpqctl portal invite acme

      cpqctl portal invite acme --email anna@acme.example --days 3 --send
    """
    from cpqctl.app import portal
    from cpqctl.render.output import dumps_json

    result = portal.invite(common.workspace(repo, as_of), account, email=email, days=days, send=send)
    if format == "json":
        sys.stdout.write(dumps_json(result.data))
    else:
        sys.stdout.write(result.link + "\n")
    common.info(result.message)


@app.command("revoke")
def revoke(
    invite: Annotated[str | None, typer.Argument(help="The invite ID (I-0001), as `portal list` shows it.")] = None,
    account: Annotated[
        str | None,
        typer.Option("--account", "-a", click_type=completion.ACCOUNT, help="Every invite of this account."),
    ] = None,
    format: FormatOpt = "text",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Revoke a sign-in link (or every link of --account): it and the sessions it opened stop at once.

    Example:

      cpqctl portal revoke I-0003

      cpqctl portal revoke --account acme
    """
    from cpqctl.app import portal
    from cpqctl.render.output import dumps_json

    done = portal.revoke(common.workspace(repo, as_of), invite_id=invite, account=account)
    if format == "json":
        sys.stdout.write(dumps_json({"revoked": done}))
    common.info(f"revoked {', '.join(done)}" if done else "nothing to revoke: already revoked")


@app.command("list")
def list_(format: FormatOpt = "text", as_of: AsOfOpt = None, repo: RepoOpt = None) -> None:
    """The sign-in links issued: account, e-mail, issued, last valid day, revoked.

    Example:

      cpqctl portal list
    """
    from cpqctl.app import portal
    from cpqctl.render.output import dumps_json, rows_table

    ws = common.workspace(repo, as_of)
    rows = [i.json() | {"valid": i.valid_on(ws.as_of)} for i in portal.read_invites(ws.root)]
    if format == "json":
        sys.stdout.write(dumps_json({"invites": rows}))
        return
    if not rows:
        common.info("no sign-in link issued yet: `cpqctl portal invite ACCOUNT`")
        return
    columns = ("invite", "account", "email", "issued", "expires", "revoked", "valid")
    rows_table(columns, [{k: "" if r[k] is None else str(r[k]) for k in columns} for r in rows], "Portal invites", ())


@app.command("provision")
def provision(
    account: Annotated[
        str | None, typer.Argument(click_type=completion.ACCOUNT, help="Run the hooks for this account now.")
    ] = None,
    retry: Annotated[bool, typer.Option("--retry", help="Send every queued (failed) event again.")] = False,
    format: FormatOpt = "text",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Run cpq.toml [hooks] (on_accept, webhook) for ACCOUNT, or (--retry) every event that failed before.

    The portal runs the hooks when a customer signs; one that fails is queued
    in .cpq/portal/outbox/ and sent again every minute while `cpqctl serve`
    runs, or by this command. Exit 1 while an event still fails.

    Example:

      cpqctl portal provision --retry

      cpqctl portal provision acme
    """
    from cpqctl.app import provisioning
    from cpqctl.core.diagnostics import CpqError, UsageError
    from cpqctl.render.output import dumps_json

    ws = common.workspace(repo, as_of)
    if (account is None) == (not retry):
        raise UsageError("E-USAGE", "give an ACCOUNT or --retry", "e.g. cpqctl portal provision --retry")
    done = provisioning.retry(ws) if retry else [provisioning.provision(ws, account or "", "by hand")]
    if format == "json":
        sys.stdout.write(dumps_json({"provisioned": [d.data for d in done]}))
    for d in done:
        common.info(f"{d.account} ({d.event}): {d.problem or ', '.join(d.steps) or 'no [hooks] configured'}")
    if not done:
        common.info("nothing queued")
    failed = [d for d in done if d.problem]
    if failed:
        raise CpqError("E-PROVISIONING", f"{len(failed)} provisioning event(s) still fail", "see the lines above")


@app.command("log")
def log_(format: FormatOpt = "text", as_of: AsOfOpt = None, repo: RepoOpt = None) -> None:
    """What customers did in the portal: amendments signed and requests for the team.

    Each signing lists what could not be done for the customer (an invoice not
    e-mailed, a hook that failed); a request is a change the customer may not
    make alone (a decrease, an add-on off).

    Example:

      cpqctl portal log
    """
    from cpqctl.app import portal
    from cpqctl.render.output import dumps_json, rows_table

    entries = portal.read_log(common.workspace(repo, as_of).root)
    if format == "json":
        sys.stdout.write(dumps_json({"log": entries}))
        return
    if not entries:
        common.info("nothing yet: customers have signed nothing and asked for nothing in the portal")
        return
    rows = [
        {
            "kind": e.get("kind", ""),
            "account": e.get("account", ""),
            "what": e.get("asked") or f"{e.get('quote', '')} → {e.get('contract', '')} {e.get('amendment', '')}",
            "invoices": ", ".join(e.get("invoices", [])),
            "problems": "; ".join(e.get("problems", [])),
        }
        for e in entries
    ]
    rows_table(("kind", "account", "what", "invoices", "problems"), rows, "Portal log", ())
