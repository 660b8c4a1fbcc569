"""The JSON shape of `cpqctl renumber`: the ID changed and every file the change touches (or would touch)."""

from __future__ import annotations

from collections.abc import Sequence


def renumber_json(old: str, new: str, kind: str, files: Sequence[tuple[str, str | None, Sequence[str]]], dry_run: bool):
    """``{"from", "to", "kind", "files": [{"file", "was", "changes"}], "dry_run"}``.

    ``file`` is the repository path after the change, ``was`` the path before when the file is renamed
    (else null), ``changes`` what changes in it, one short text each (``quote: Q-1 → Q-2``, ``digest``…).
    """
    return {
        "from": old,
        "to": new,
        "kind": kind,
        "files": [{"file": file, "was": was, "changes": list(changes)} for file, was, changes in files],
        "dry_run": dry_run,
    }
