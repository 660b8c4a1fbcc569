"""`cpqctl serve`: the local web view of the repository (docs/portal.md)."""

from __future__ import annotations

import ipaddress
import json
import sys
from typing import Annotated

import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, RepoOpt, ResultFormatOpt
from cpqctl.core.diagnostics import UsageError

LOOPBACK = ("localhost",)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``: reachable from this machine only."""
    if host.casefold() in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[
        str,
        typer.Option(
            "--host",
            metavar="ADDRESS",
            help="The address to listen on. Only a loopback address (127.0.0.1, ::1, localhost) unless --public.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", "-p", min=0, max=65535, help="The TCP port (0: any free one, printed).")
    ] = 8000,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="Allow a non-loopback --host. The team view has no sign-in: whoever reaches the port reads every "
            "account, contract and invoice. Use it only on a network you trust, or behind a reverse proxy that "
            "authenticates (docs/portal.md).",
        ),
    ] = False,
    portal: Annotated[
        bool,
        typer.Option(
            "--portal",
            help="Serve the customer portal only (/portal/: sign-in links from `cpqctl portal invite`), none of the "
            "team view; for customers, behind a reverse proxy with TLS (docs/portal.md).",
        ),
    ] = False,
    format: ResultFormatOpt = "text",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Serve a read-only web view of the repository for the team, on this machine, and the customer portal.

    Accounts with what they own (licences, add-ons on and off), contracts with
    their amendment timeline, invoices with status and their PDFs, quotes with
    their price waterfall, the renewals calendar, the board's charts and
    `check`'s findings. Every page is also JSON (add .json to its path): the
    JSON of the matching command's --format json.

    Listens on 127.0.0.1 (this machine only) unless --public is given. With
    --as-of every page is on that day; without it, on the day of each request.
    --format json prints one line with the URL on stdout once listening. Stop
    it with Ctrl-C.

    The customer portal is at /portal/ (docs/portal.md): customers sign in
    with a link from `cpqctl portal invite`, see what they own, add seats or
    switch add-ons on, and sign the amendment. --portal serves it alone, for
    customers (it may then listen on a public address).

    Example:

      cpqctl serve

      cpqctl serve --port 8080 --as-of 2026-06-30

      cpqctl serve --port 0 --format json   # any free port, its URL as JSON
    """
    import socket
    import threading
    from datetime import date

    if not is_loopback(host) and not public and not portal:
        raise UsageError(
            "E-USAGE",
            f"--host {host} is reachable from other machines, and the team view has no sign-in",
            "keep the default 127.0.0.1 (use an SSH tunnel to reach it), or add --public on a network you trust",
        )
    import uvicorn

    from cpqctl.web.app import LOOPBACK_NAMES, create_app, warm

    given = as_of or common.STATE.as_of
    ws = common.workspace(repo, as_of)
    if portal:
        from cpqctl.app.portal import secret

        secret(ws.read(frozenset()).settings)  # refused now (E-PORTAL-SECRET) rather than at the first sign-in
    hosts = ["*"] if public or (portal and not is_loopback(host)) else [*LOOPBACK_NAMES, host]
    app = create_app(ws, clock=None if given else date.today, allowed_hosts=hosts, portal_only=portal)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        raise UsageError(
            "E-USAGE", f"cannot listen on {host}:{port}: {e.strerror or e}", "try another --port"
        ) from None
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them: the URL printed works at once
    bound = sock.getsockname()[1]
    name = f"[{host.strip('[]')}]" if family == socket.AF_INET6 else host
    url = f"http://{name}:{bound}/"
    if not portal:
        threading.Thread(target=warm, args=(app,), daemon=True, name="cpqctl-warm").start()
    threading.Thread(target=_retry_provisioning, args=(ws,), daemon=True, name="cpqctl-provision").start()
    if format == "json":
        line = {
            "url": url,
            "repo": str(ws.root),
            "as_of": ws.as_of.isoformat() if given else None,
            "public": public,
            "portal": portal,
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
    common.info(f"serving {ws.root} at {url} (Ctrl-C stops)")
    config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


def _retry_provisioning(ws, every: float = 60.0) -> None:
    """Send the queued provisioning events again every minute while serving (docs/portal.md#provisioning)."""
    import time

    from cpqctl.app import provisioning
    from cpqctl.core.diagnostics import CpqError

    while True:
        time.sleep(every)
        try:
            for done in provisioning.retry(ws):
                if done.problem:
                    common.info(f"provisioning {done.account} ({done.event}) still fails: {done.problem}")
        except CpqError as e:
            common.info(f"provisioning retry: {e.message}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
