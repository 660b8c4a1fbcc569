"""cpqctl: configure-price-quote and subscription contracts as code.

The command line is a thin shell around this library::

    import cpqctl

    ws = cpqctl.open("path/to/repo", as_of=date(2027, 1, 15))
    findings = ws.check()
    quote = ws.new_quote(account="acme", start=date(2027, 2, 1), lines=["PRO-SEAT=10"])

See docs/python-api.md. Importing ``cpqctl`` is instant: the workspace and
the engines behind it are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpqctl._version import __version__

__all__ = [
    "CpqError",
    "Diagnostic",
    "InvalidRepository",
    "UsageError",
    "Workspace",
    "__version__",
    "copy_example",
    "open",
]

if TYPE_CHECKING:  # pragma: no cover
    from datetime import date
    from pathlib import Path

    from cpqctl.app.workspace import Workspace
    from cpqctl.core.diagnostics import CpqError, Diagnostic, InvalidRepository, UsageError

_LAZY = {
    "Workspace": "cpqctl.app.workspace",
    "CpqError": "cpqctl.core.diagnostics",
    "Diagnostic": "cpqctl.core.diagnostics",
    "InvalidRepository": "cpqctl.core.diagnostics",
    "UsageError": "cpqctl.core.diagnostics",
}


def open(path: str | Path | None = None, *, as_of: date | str | None = None) -> Workspace:  # noqa: A001 (like sqlite_utils.Database)
    """Open the data repository at ``path`` (default: the nearest folder upwards holding cpq.toml).

    ``as_of`` is the date the workspace's use cases run on unless a call names
    another (default: today — the only place the library reads the clock).
    """
    from cpqctl.app.workspace import Workspace

    return Workspace.open(path, as_of=as_of)


def copy_example(target: str | Path) -> Path:
    """Copy the example data repository (the one `cpqctl tour` starts from) into ``target``; returns it."""
    from pathlib import Path

    from cpqctl.example import copy_example

    return copy_example(Path(target))


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cpqctl' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
