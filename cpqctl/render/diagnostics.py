"""Diagnostics in four formats: full (excerpt with a caret), concise, json, github."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from cpqctl.core.diagnostics import Diagnostic

FORMATS = ("full", "concise", "json", "github")


def _excerpt(root: Path, d: Diagnostic, cache: dict[str, list[str]]) -> list[str]:
    if d.file not in cache:
        try:
            cache[d.file] = (root / d.file).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[d.file] = []
    lines = cache[d.file]
    if not (1 <= d.line <= len(lines)):
        return []
    num = str(d.line)
    pad = " " * len(num)
    text = lines[d.line - 1].replace("\t", " ")
    return [f"{pad} |", f"{num} | {text}", f"{pad} | {' ' * (d.column - 1)}^"]


def full(root: Path, diags: Iterable[Diagnostic]) -> str:
    return "".join(full_chunks(root, diags))


def full_chunks(root: Path, diags: Iterable[Diagnostic]) -> Iterator[str]:
    """:func:`full`, a finding at a time (a check of 50,000 accounts can find 100,000 warnings: they are written as
    they come, and only the file being quoted is held, not every file quoted)."""
    cache: dict[str, list[str]] = {}
    first = True
    for d in diags:
        if d.file not in cache:
            cache.clear()  # findings come sorted by file: one file's lines at a time
        out = [f"{d.file}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}", *_excerpt(root, d, cache)]
        if d.hint:
            out.append(f"  = hint: {d.hint}")
        yield ("" if first else "\n") + "\n".join(out) + "\n"
        first = False


def concise(diags: Iterable[Diagnostic]) -> str:
    return "".join(f"{d.file}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}\n" for d in diags)


def _gh_escape(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s


def github(diags: Iterable[Diagnostic]) -> str:
    out = []
    for d in diags:
        level = "error" if d.severity == "error" else "warning"
        msg = d.message + (f" (hint: {d.hint})" if d.hint else "")
        out.append(
            f"::{level} file={_gh_escape(d.file, True)},line={d.line},col={d.column},"
            f"title={_gh_escape(d.code, True)}::{_gh_escape(msg)}\n"
        )
    return "".join(out)


def as_json(diags: Iterable[Diagnostic]) -> str:
    from cpqctl.render.output import dumps_json

    return dumps_json({"diagnostics": [d.as_json() for d in diags]})


def one(d: Diagnostic) -> str:
    """A single error for stderr (used by commands that refuse bad input)."""
    return f"{d.file}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}" + (
        f"\n  = hint: {d.hint}" if d.hint else ""
    )


def error_object(code: str, message: str, hint: str = "", src=None, diagnostics: Iterable[Diagnostic] = ()) -> dict:
    """A refusal as data: what a command run with ``--format json`` prints on stdout when it fails.

    ``{"error": {"code", "message", "file", "line", "column", "hint", "diagnostics"}}``: the position
    fields are null when the error has none; ``diagnostics`` lists a refused repository's findings.
    """
    return {
        "error": {
            "code": code,
            "message": message,
            "file": src.file if src is not None else None,
            "line": src.line if src is not None else None,
            "column": src.column if src is not None else None,
            "hint": hint,
            "diagnostics": [d.as_json() for d in diagnostics],
        }
    }


def error_json(code: str, message: str, hint: str = "", src=None, diagnostics: Iterable[Diagnostic] = ()) -> str:
    """:func:`error_object` as the JSON text (2-space indent, newline at the end)."""
    from cpqctl.render.output import dumps_json

    return dumps_json(error_object(code, message, hint, src, diagnostics))
