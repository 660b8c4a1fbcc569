"""Writing documents (Markdown or PDF): the repository's template overrides, the output file, atomically."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cpqctl.store import atomic_write_bytes


def repo_templates(root: Path) -> Path | None:
    """The repository's own ``templates/`` folder (overriding the built-in templates), if it has one.

    Refused (E-SYMLINK, E-NOT-REGULAR-FILE) when the folder or anything in it is not a regular file or a real
    folder: a linked template or asset could put any file of the machine into a document.
    """
    from cpqctl.core.diagnostics import CpqError
    from cpqctl.core.model import Source
    from cpqctl.load.repo import template_problems

    odd = template_problems(root)
    if odd:
        first = odd[0]
        more = f" (and {len(odd) - 1} more)" if len(odd) > 1 else ""
        raise CpqError(first.code, first.message + more, first.hint, Source(first.file), diagnostics=tuple(odd))
    folder = root / "templates"
    return folder if folder.is_dir() else None


@dataclass(frozen=True)
class Written:
    """A rendered document: the file written (``path``), or for ``output`` ``-`` its bytes (``payload``), which the
    caller (the CLI) writes to stdout: the application layer never prints."""

    path: Path | None
    payload: bytes | None = None


def write_document(
    root: Path, kind: str, doc_id: str, fmt: str, data: dict, output: Path | None, as_of: date
) -> Written:
    """Render and write atomically (default out/<ID>.<ext>); with ``output`` ``-`` nothing is written and the
    bytes are returned (``Written.payload``) instead.

    The caller says what was written.
    """
    return write_bytes(root, doc_id, fmt, render_bytes(root, kind, fmt, data, as_of), output)


DOCUMENT_FORMATS = ("md", "pdf", "json")


def document_json(data: dict) -> bytes:
    """A document's template data as JSON: decimals as exact text, dates ISO, keys in the data's order."""
    import json
    from decimal import Decimal
    from fractions import Fraction

    def plain(x):
        if isinstance(x, Decimal):
            return format(x, "f")
        if isinstance(x, date):
            return x.isoformat()
        if isinstance(x, Fraction):
            return str(x)
        if isinstance(x, (set, frozenset, tuple)):
            return list(x)
        if isinstance(x, Path):
            return x.as_posix()
        if hasattr(x, "__dataclass_fields__"):
            return {k: getattr(x, k) for k in x.__dataclass_fields__}
        return str(x)

    return (json.dumps(data, default=plain, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def render_bytes(root: Path, kind: str, fmt: str, data: dict, as_of: date) -> bytes:
    """The document's bytes (Markdown or PDF) from template ``kind`` (the repository's override first); ``json``:
    the template data itself."""
    from cpqctl.render import documents as rd

    if fmt == "json":  # the data every template gets: for writing one's own (docs/templates)
        return document_json(data)
    templates = repo_templates(root)
    if fmt == "md":
        return rd.render_markdown(kind, data, templates).encode("utf-8")
    return rd.render_pdf(kind, data, templates, as_of)


def write_bytes(root: Path, doc_id: str, fmt: str, payload: bytes, output: Path | None) -> Written:
    """Write a rendered document atomically (default out/<ID>.<ext>); ``output`` ``-``: return the bytes instead."""
    if output is not None and str(output) == "-":
        return Written(None, payload)
    target = output if output is not None else root / "out" / f"{doc_id}.{fmt}"
    target = target if target.is_absolute() else Path.cwd() / target
    atomic_write_bytes(target, payload)
    return Written(target)
