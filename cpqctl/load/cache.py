"""Loading many files; the seam where the parse cache in `.cpq/` plugs in."""

from __future__ import annotations

from pathlib import Path

from cpqctl.load.repo import FileResult, load_file


def load_files(root: Path, files: list[tuple[str, str]]) -> list[tuple[str, FileResult]]:
    return [(rel, load_file(root, rel, kind)) for rel, kind in files]
