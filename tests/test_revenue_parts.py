"""`report revenue`, `report deferred`, `report waterfall` and `report rpo` read a big repository one part at a time
(issue 21: a year of 50,000 accounts' revenue schedules read whole took 0.7-0.85 GB): whole account folders with
their contracts' invoices and the catalog (:meth:`cpqctl.app.workspace.Workspace.read_in_parts`). Every obligation
is one contract's, so the parts' sums add up to the whole's, byte for byte; a correction of an invoice outside its
part makes the whole repository answer.

The repository is the example invoiced monthly through 2026 (conftest's ``year``): two currencies, a bundle, a
correction, a cancellation, contracts with fixed ends (what `rpo` prices ahead). ``CPQ_CHUNK_FILES`` makes its
seven accounts come in parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import age, copy_repo

SMALL = "8"  # about one account a part
WHOLE = "100000000"
DAY = "2026-12-15"

ASKED = [
    ("report", "revenue", "--from", "2026-01-01", "--to", "2027-12-31", "--format", "json"),
    ("report", "revenue", "--from", "2026-01-01", "--to", "2027-12-31", "--by", "account", "--format", "json"),
    ("report", "revenue", "--from", "2026-04-01", "--to", "2026-09-30", "--by", "product", "--format", "csv"),
    ("report", "revenue", "--from", "2026-01-01", "--to", "2026-12-31", "--by", "contract"),
    ("report", "deferred", "--from", "2026-01-01", "--to", "2027-06-30", "--format", "json"),
    ("report", "deferred", "--from", "2026-06-01", "--to", "2026-08-31"),
    ("report", "waterfall", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "json"),
    ("report", "rpo", "--format", "json"),
    ("report", "rpo", "--by", "product", "--format", "json"),
    ("report", "rpo", "--by", "contract", "--format", "csv"),
]


@pytest.fixture(scope="module")
def repo(year: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_repo(year, tmp_path_factory.mktemp("revenue") / "repo")
    age(root)
    return root


def _both(cli, root: Path, args: tuple[str, ...]):
    whole = cli(*args, "--repo", root, "--as-of", DAY, env={"CPQ_CHUNK_FILES": WHOLE})
    parts = cli(*args, "--repo", root, "--as-of", DAY, env={"CPQ_CHUNK_FILES": SMALL})
    return whole, parts


@pytest.mark.parametrize("args", ASKED, ids=lambda a: " ".join(a))
def test_the_parts_add_up_to_the_whole(repo, cli, parted, args) -> None:
    whole, parts = _both(cli, repo, args)
    assert whole.code == 0, whole.stderr
    assert parts == whole
    assert parted == [False, True]  # the whole read first (small enough to load whole), then parts
    if args[-1] == "json":
        rows = json.loads(whole.stdout)["rows"]
        assert {r["currency"] for r in rows} == {"EUR", "PLN"}  # both currencies, each summed over its parts


def test_the_example_has_what_makes_the_parts_differ(repo) -> None:
    """The cases the sums must carry across parts are there: a correction, a bundle sold, more than one part."""
    texts = [p.read_text(encoding="utf-8") for p in (repo / "invoices").glob("*.yaml")]
    assert any("\nkind: correction\n" in t for t in texts)
    assert (repo / "catalog" / "bundles.yaml").is_file()
    assert len(list((repo / "contracts").iterdir())) >= 5


def test_a_correction_of_an_invoice_in_another_part_is_read_whole(repo, cli, parted, tmp_path) -> None:
    """FK-2026-0001 corrects globex's INV-2026-0005; made acme's (its account and contract lines), it lives in
    acme's part while the invoice it corrects is in globex's: its line's period is looked up in the invoice it
    corrects, which that part does not hold. The parts decline and the whole repository answers."""
    from cpqctl.formats.digest import digest_of, line_of, without_digest

    root = copy_repo(repo, tmp_path / "moved")
    fk = root / "invoices" / "FK-2026-0001.yaml"
    body = without_digest(fk.read_text(encoding="utf-8"))
    assert "\naccount: globex\ncontract: C-2026-0003\n" in body
    body = body.replace("\naccount: globex\ncontract: C-2026-0003\n", "\naccount: acme\ncontract: C-2026-0001\n")
    fk.write_text(body + line_of(digest_of(body)), encoding="utf-8")  # the digest made again: it loads
    age(root)
    for args in (ASKED[0], ASKED[4], ASKED[6], ASKED[8]):
        parted.clear()
        whole, parts = _both(cli, root, args)
        assert whole.code == 0, whole.stderr
        assert parts == whole
        assert parted == [False, False]  # the parts declined: the whole read answered
