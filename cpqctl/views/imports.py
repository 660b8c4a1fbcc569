"""`cpqctl import contracts --format json`: the files an import creates (or would create with --dry-run)."""

from __future__ import annotations

COLUMNS = ["file", "kind", "account", "contract", "lines"]


def import_view(dry_run: bool, files) -> dict:
    """``{"dry_run": …, "rows": [{"file", "kind", "account", "contract", "lines"}, …]}`` in plan order."""
    return {"dry_run": dry_run, "rows": [f.row() for f in files]}
