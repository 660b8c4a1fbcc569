"""`cpqctl check` as a use case: every finding of the loader and the cross-file checks, and the JSON Schemas
of the file formats (printed, written for editors, or checked for staleness in CI)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError, Diagnostic, UsageError

SCHEMA_KINDS = ("cpq", "catalog", "account", "contract", "quote", "invoice", "payment", "period")


@dataclass(frozen=True)
class CheckResult:
    """Every finding, sorted; the repository is usable for writing when ``errors`` is 0 (warnings pass)."""

    root: Path
    diagnostics: tuple[Diagnostic, ...]
    errors: int
    warnings: int
    message: str  # "N error(s), M warning(s)", empty on a clean repository

    @property
    def ok(self) -> bool:
        return self.errors == 0


def check(ws: Workspace) -> CheckResult:
    """Validate every file: syntax, schema, references, dates, digests (never refuses: the findings are the answer)."""
    diags = ws.check()
    errors = sum(d.severity == "error" for d in diags)
    warnings = len(diags) - errors
    return CheckResult(
        ws.root, tuple(diags), errors, warnings, f"{errors} error(s), {warnings} warning(s)" if diags else ""
    )


# --------------------------------------------------------------------------- JSON Schemas


def schema_texts() -> dict[str, str]:
    """``<kind>.schema.json`` → its text (draft-07), for every file kind."""
    from cpqctl.load.schema import json_schema
    from cpqctl.render.output import dumps_json

    return {f"{k}.schema.json": dumps_json(json_schema(k)) for k in SCHEMA_KINDS}


def schema_text(kind: str) -> str:
    """One kind's schema (E-USAGE naming the kinds when unknown)."""
    if kind not in SCHEMA_KINDS:
        raise UsageError("E-USAGE", f"unknown file kind `{kind}`", "one of: " + ", ".join(SCHEMA_KINDS))
    return schema_texts()[f"{kind}.schema.json"]


def schemas_document() -> dict:
    """Every schema in one JSON document, keyed by file name."""
    import json

    return {n: json.loads(t) for n, t in schema_texts().items()}


def write_schemas(folder: Path) -> tuple[Path, ...]:
    """Write every schema into ``folder`` (created when missing); returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n, t in schema_texts().items():
        (folder / n).write_text(t, encoding="utf-8")
        out.append(folder / n)
    return tuple(out)


def check_schemas(folder: Path) -> None:
    """Refuse (E-SCHEMA-STALE) when a schema in ``folder`` is missing or differs from the current one."""
    stale = [
        n
        for n, t in schema_texts().items()
        if not (folder / n).is_file() or (folder / n).read_text(encoding="utf-8") != t
    ]
    if stale:
        raise CpqError(
            "E-SCHEMA-STALE",
            f"stale or missing schemas in {folder}: {', '.join(stale)}",
            f"regenerate them: cpqctl schema --write {folder}",
        )
