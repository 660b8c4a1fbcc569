"""The speed floor for loading a data repo: libyaml parsing and nothing else.

    python bench/floor_parse.py DIR

Walks DIR for ``*.yaml`` and parses each with ``yaml.load(f,
Loader=yaml.CSafeLoader)`` — no positions, no schema, no Decimal. No loader
that does more can be faster, so ``cpqctl check`` on the same repo is judged
against this number (SPEC §8: 10,000 accounts checked in seconds).
"""

from __future__ import annotations

import os
import sys
import time

import yaml


def parse_all(root: str) -> int:
    """Parse every ``*.yaml`` under ``root``; returns how many files were parsed."""
    count = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".yaml"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    yaml.load(f, Loader=yaml.CSafeLoader)
                count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not os.path.isdir(args[0]):
        print("usage: python bench/floor_parse.py DIR", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    count = parse_all(args[0])
    secs = time.perf_counter() - t0
    print(f"{count} files in {secs:.2f} s ({count / secs if secs else 0:.0f} files/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
