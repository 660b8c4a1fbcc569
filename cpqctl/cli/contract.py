"""`cpqctl contract show`: a contract's state on a date, from its ledger."""

from __future__ import annotations

from typing import Annotated

import typer

from cpqctl.cli import common
from cpqctl.cli.common import AsOfOpt, FormatOpt, RepoOpt

app = common.group(
    "contract",
    "Contracts: what a contract holds on a date.\n\nExample:\n\n  cpqctl contract show C-2026-0001 --as-of 2026-06-30",
)


@app.command("show")
def show(
    contract: Annotated[str, typer.Argument(help="Contract ID, e.g. C-2026-0001.")],
    format: FormatOpt = "table",
    as_of: AsOfOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Show a contract on --as-of: status, term, what is owned (sum of segments), MRR and ARR.

    Example:

      cpqctl contract show C-2026-0001 --as-of 2026-06-30 --format json
    """
    from cpqctl.app.accounts import contract_show
    from cpqctl.render.output import emit

    result = contract_show(common.workspace(repo, as_of), contract=contract)
    c, data, day = result.contract, result.data, result.as_of
    title = (
        f"{c.contract} · {c.account} · {data['status']} · {data['start']} → {data['end'] or 'evergreen'} "
        f"· as of {day} · MRR {data['mrr']} {c.currency} · ARR {data['arr']} {c.currency}"
    )
    emit(format, data, ["product", "name", "quantity", "mrr"], result.rows, title=title, right=("quantity", "mrr"))
