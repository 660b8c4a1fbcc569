"""The embedded example data repository (the default every tour and test starts from)."""

from __future__ import annotations

import shutil
from pathlib import Path

PARTS = ("cpq.toml", "catalog", "contracts", "fx")


def example_dir() -> Path:
    """The installed copy (cpqctl/example in the wheel), else the source checkout's root."""
    here = Path(__file__).resolve().parent
    packaged = here / "example"
    if (packaged / "cpq.toml").is_file():
        return packaged
    checkout = here.parent
    if (checkout / "cpq.toml").is_file():
        return checkout
    raise FileNotFoundError("the example data repository is missing from this installation")


def copy_example(target: Path) -> Path:
    src = example_dir()
    target.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        s = src / part
        if s.is_dir():
            shutil.copytree(s, target / part, dirs_exist_ok=True)
        else:
            shutil.copy2(s, target / part)
    return target
