"""Issue #13: the parse cache hid an edit that kept a file's size and mtime; its key now includes ctime_ns.

`check` is run once so the file's parse result is cached; the file is then
rewritten in place (same inode, same size) and its mtime set back to the old
value with nanosecond precision. Keyed on size + mtime_ns + inode alone, the
cache served the old result and `check` said clean.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cpqctl.load import cache
from tests.conftest import age

REL = "contracts/acme/C-2026-0001.yaml"


def _cached(root: Path, rel: str) -> bool:
    return any(rel in cache.shard_entries(p) for p in (root / cache.CACHE_DIR).glob("shard-*.json"))


def test_an_edit_that_keeps_size_and_mtime_is_seen(example_repo, cli) -> None:
    age(example_repo)
    assert cli("check", "--repo", example_repo).code == 0
    assert _cached(example_repo, REL)  # the contract's result is in the cache now

    path = example_repo / REL
    st = os.stat(path)
    text = path.read_bytes()
    edited = text.replace(b"currency: PLN", b"currency: EUR", 1)  # same size; the account is in PLN
    assert edited != text and len(edited) == len(text)
    with open(path, "r+b") as f:  # in place: the inode stays
        f.write(edited)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)

    r = cli("check", "--repo", example_repo, "--format", "json")
    assert r.code == 1, r.stdout
    found = [(d["code"], d["file"]) for d in json.loads(r.stdout)["diagnostics"]]
    assert ("E-CURRENCY-MISMATCH", REL) in found
