"""Shell completion of the repository's IDs: quotes, contracts, accounts, invoices and product codes.

An ID argument or option is declared with ``click_type=completion.QUOTE`` (or
``CONTRACT``, ``ACCOUNT``, ``INVOICE``, ``PRODUCT``, ``FAMILY``, ``LINE`` for ``CODE=QTY``):
a text parameter like any other (same conversion, same ``TEXT`` in the help)
whose completion lists the IDs of that kind, sorted, that start with what was
typed, ignoring case. They come from file and folder names
(:mod:`cpqctl.load.ids`), never from parsing the records, so a TAB stays fast
on 10,000 accounts.

The repository is the one the command would use: ``--repo`` given to the
command or before it, ``CPQ_REPO``, else the nearest folder upwards holding
cpq.toml. No repository, or anything else going wrong, offers nothing: a
completion never prints an error or a traceback into the shell.

Typer's completion scripts (``cpqctl --install-completion`` /
``--show-completion``) call ``cpqctl`` with ``_CPQCTL_COMPLETE=complete_bash``
(``complete_zsh``, ``complete_fish``, ``complete_powershell``): Typer's spelling
of click's ``bash_complete``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import click
from click.shell_completion import CompletionItem


def _explicit_repo(ctx: click.Context | None) -> str | None:
    """``--repo`` of the command, else of ``cpqctl`` itself, else ``CPQ_REPO`` (as :func:`cpqctl.cli.common.root`)."""
    while ctx is not None:
        value = ctx.params.get("repo")
        if value:
            return str(value)
        ctx = ctx.parent
    return os.environ.get("CPQ_REPO") or None


def _accounts(ctx: click.Context) -> list[str] | None:
    """The accounts the command is already limited to (``--account``), for its contract IDs."""
    value = ctx.params.get("account")
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and value:
        return [str(v) for v in value]
    return None


def candidates(ctx: click.Context, kind: str, incomplete: str) -> list[str]:
    """The IDs of ``kind`` that complete ``incomplete``; none when there is no repository or anything fails."""
    try:
        from cpqctl.load import ids

        root = ids.find_root(_explicit_repo(ctx))
        if root is None:
            return []
        listers: dict[str, Callable[[], list[str]]] = {
            "quote": lambda: ids.quote_ids(root, incomplete),
            "contract": lambda: ids.contract_ids(root, incomplete, _accounts(ctx)),
            "account": lambda: ids.account_ids(root, incomplete),
            "invoice": lambda: ids.invoice_ids(root, incomplete),
            "product": lambda: ids.product_codes(root, incomplete),
            "family": lambda: ids.product_families(root, incomplete),
            # CODE=QTY: the code, with its `=` (nothing more once the `=` is typed)
            "line": lambda: [] if "=" in incomplete else [c + "=" for c in ids.product_codes(root, incomplete)],
            "quote-or-contract": lambda: sorted(
                {*ids.quote_ids(root, incomplete), *ids.contract_ids(root, incomplete)}
            ),
        }
        return listers[kind]()
    except Exception:  # a completion never fails in the shell: no candidates instead
        return []


class Ids(click.types.StringParamType):
    """A text parameter whose shell completion offers the repository's IDs of one kind."""

    name = "text"  # the help keeps showing TEXT

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        return [CompletionItem(v) for v in candidates(ctx, self.kind, incomplete)]


QUOTE = Ids("quote")
CONTRACT = Ids("contract")
ACCOUNT = Ids("account")
INVOICE = Ids("invoice")
PRODUCT = Ids("product")
FAMILY = Ids("family")
LINE = Ids("line")
QUOTE_OR_CONTRACT = Ids("quote-or-contract")
