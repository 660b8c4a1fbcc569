"""`cpqctl account show|render`: what a customer owns now, on screen or as a statement."""

from __future__ import annotations

from typing import Annotated

import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, DocFormatOpt, FormatOpt, OutputOpt, RepoOpt

app = common.group("account", "Accounts: the customer's view.\n\nExample:\n\n  cpqctl account show acme")


def get_account(loaded, aid: str):
    return common.lookup(loaded.accounts, aid, "account", "E-UNKNOWN-ACCOUNT",
                         "accounts are the folders under contracts/")


@app.command("show")
def show(account: Annotated[str, typer.Argument(help="Account ID (its folder under contracts/).")],
         format: FormatOpt = "table", as_of: AsOfOpt = None, repo: RepoOpt = None) -> None:
    """Show what a customer owns on --as-of: contracts, products, bundle add-ons on/off, MRR/ARR, next renewal.

    Example:

      cpqctl account show acme

      cpqctl account show acme --as-of 2026-06-30 --format json   # for provisioning scripts
    """
    from cpqctl.views import accounts as views
    from cpqctl.render.output import console, emit

    day = common.as_of(as_of)
    _, loaded, _ = common.load(repo)
    a = get_account(loaded, account)
    data = views.account_view(loaded, account, day)
    rows = data["owned"]
    if format != "table":
        emit(format, data, ["product", "name", "family", "quantity", "mrr", "contract"], rows)
        return
    out = console()
    out.print(f"[bold]{a.name}[/bold] ({a.account}) · {a.currency} · as of {day}")
    out.print(f"MRR {data['mrr']} · ARR {data['arr']} · next renewal {data['next_renewal'] or '—'}")
    emit("table", data, ["contract", "status", "start", "end", "arr"], data["contracts"], title="Contracts",
         right=("arr",))
    emit("table", data, ["product", "name", "quantity", "mrr", "contract"], rows, title="Owned now",
         right=("quantity", "mrr"))
    for b in data["bundles"]:
        opts = ", ".join(f"{o['product']} {'on' if o['on'] else 'off'}" for o in b["options"])
        out.print(f"Bundle {b['bundle']} ({b['contract']}): {opts}")


@app.command("render")
def render(
    account: Annotated[str, typer.Argument(help="Account ID (its folder under contracts/).")],
    format: DocFormatOpt = "pdf", output: OutputOpt = None,
    as_of: AsOfOpt = None, repo: RepoOpt = None,
) -> None:
    """Render an account statement (a document a customer could be sent) as Markdown or PDF.

    Contracts with status, term and ARR; what the customer owns on --as-of;
    bundle options on/off; MRR/ARR; the next renewal date.

    Example:

      cpqctl account render acme --format pdf --as-of 2026-06-30 -o acme.pdf
    """
    from cpqctl.views import documents
    day = common.as_of(as_of)
    root, loaded, diags = common.load(repo)
    common.require_clean(diags)
    get_account(loaded, account)
    data = documents.account_data(loaded, account, day)
    from cpqctl.app.documents import write_document

    wrote = write_document(root, "account", account, format, data, output, day)
    if wrote:
        common.info(f"wrote {wrote}")
