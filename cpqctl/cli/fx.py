"""`cpqctl fx import FILE...`: NBP table A average rates into fx/<CUR>.yaml (docs/fx.md).

A thin shell around :mod:`cpqctl.app.fx`: the files are read here, parsed and merged there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cpqctl.cli import common
from cpqctl.cli.common import FormatOpt, RepoOpt

app = common.group(
    "fx",
    "Exchange-rate tables: NBP's average rates in fx/<CUR>.yaml, for VAT in złoty.\n\n"
    "VAT on a foreign-currency invoice is converted at the table of the last working day before the tax "
    "point (docs/fx.md).\n\n"
    "Example:\n\n  cpqctl fx import archiwum_tab_a_2026.csv\n\n  cpqctl fx import eur.json --dry-run",
)


@app.command("import")
def import_(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="NBP table A files: the Web API's JSON or XML (/api/exchangerates/rates/a/… or /tables/a/…) "
            "or the yearly archive archiwum_tab_a_YYYY.csv.",
            show_default=False,
        ),
    ],
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency",
            metavar="CODES",
            show_default=False,
            help="Keep only these currencies, comma-separated: EUR,USD (default: the currencies the repository "
            "uses — accounts, contracts, existing fx/ files —, else every one in the files).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Parse and merge; list what would change, write nothing.")
    ] = False,
    format: FormatOpt = "table",
    repo: RepoOpt = None,
) -> None:
    """Merge NBP table A rates into fx/<CUR>.yaml, one file per currency, sorted by day.

    Importing a file twice changes nothing. A day already in a file with another rate is refused
    (E-FX-CONFLICT) and then no file is written; the files are written together under the repository
    lock, each parsed back and checked first.

    Example:

      cpqctl fx import archiwum_tab_a_2026.csv --currency EUR,USD

      curl -o eur.json https://api.nbp.pl/api/exchangerates/rates/a/eur/2026-11-01/2026-11-30/

      cpqctl fx import eur.json --dry-run --format json
    """
    from cpqctl.app import fx
    from cpqctl.core.diagnostics import UsageError
    from cpqctl.render.output import emit

    wanted = None
    if currency is not None:
        wanted = [c.strip().upper() for c in currency.split(",") if c.strip()]
        bad = [c for c in wanted if len(c) != 3 or not c.isascii() or not c.isalpha()]
        if bad or not wanted:
            raise UsageError(
                "E-USAGE",
                f"`{currency}` is not a list of currency codes",
                "write ISO 4217 codes separated by commas, e.g. --currency EUR,USD",
            )
    inputs = [(str(f), fx.read_input(f)) for f in files]
    result = fx.import_rates(common.workspace(repo), inputs=inputs, currencies=wanted, dry_run=dry_run)
    verb = "would add" if dry_run else "added"
    emit(
        format,
        result.data,
        fx.COLUMNS,
        result.rows,
        title=f"fx import: {verb} {sum(r['added'] for r in result.rows)} rate(s)",
        right=("added", "unchanged"),
    )
    common.info(result.message)
