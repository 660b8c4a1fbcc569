"""`cpqctl schema`: JSON Schemas of the file formats, for editors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cpqctl.core.diagnostics import CpqError, UsageError

KINDS = ("cpq", "catalog", "account", "contract", "quote", "invoice")


def schema_texts() -> dict[str, str]:
    from cpqctl.load.schema import json_schema
    from cpqctl.render.output import dumps_json

    return {f"{k}.schema.json": dumps_json(json_schema(k)) for k in KINDS}


def schema(
    kind: Annotated[Optional[str], typer.Argument(help="One file kind: cpq, catalog, account, contract, quote, "
                                                  "invoice (default: all, with --write).")] = None,
    write: Annotated[Optional[Path], typer.Option("--write", "-w", metavar="DIR",
                                                  help="Write every schema into DIR.")] = None,
    check: Annotated[Optional[Path], typer.Option("--check", metavar="DIR",
                                                  help="Exit 1 if the schemas in DIR are missing or stale.")] = None,
) -> None:
    """Print the JSON Schemas (draft-07) of the file formats, for editors.

    Point the YAML language server at one with a first line such as
    `# yaml-language-server: $schema=../schemas/contract.schema.json`.

    Example:

      cpqctl schema contract > contract.schema.json

      cpqctl schema --write schemas/   # all of them

      cpqctl schema --check schemas/   # CI: fail when they are stale
    """
    texts = schema_texts()
    if check is not None:
        stale = [n for n, t in texts.items()
                 if not (check / n).is_file() or (check / n).read_text(encoding="utf-8") != t]
        if stale:
            raise CpqError("E-SCHEMA-STALE", f"stale or missing schemas in {check}: {', '.join(stale)}",
                           f"regenerate them: cpqctl schema --write {check}")
        return
    if write is not None:
        write.mkdir(parents=True, exist_ok=True)
        for n, t in texts.items():
            (write / n).write_text(t, encoding="utf-8")
        return
    if kind is None:
        from cpqctl.render.output import dumps_json
        import json

        sys.stdout.write(dumps_json({n: json.loads(t) for n, t in texts.items()}))
        return
    if kind not in KINDS:
        raise UsageError("E-USAGE", f"unknown file kind `{kind}`", "one of: " + ", ".join(KINDS))
    sys.stdout.write(texts[f"{kind}.schema.json"])


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)
