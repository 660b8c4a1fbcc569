"""`report board`, `account list` and `contract list` read a big repository one part of whole accounts at a time
(:meth:`cpqctl.app.workspace.Workspace.read_accounts_in_parts`; issue 21: `cpqctl serve` computes them, and their
whole model of 50,000 accounts with the board's figures over it was 0.4 GB). The output is byte for byte the whole
read's; the whole read answers whenever a part could differ from it: a contract in another account's folder, a
contract of an account with no file, a currency without a rate (refused, naming every such currency)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import age, copy_repo, same_in_parts, whole_and_parts

DAY = "2026-12-31"
SMALL = "40"  # account and contract files per part: the 60-account repository in about 3 parts


@pytest.fixture(autouse=True)
def settled(monkeypatch) -> None:
    monkeypatch.setattr("cpqctl.load.cache.RACY_NS", 0)


@pytest.fixture
def repo(generated, tmp_path) -> Path:
    return copy_repo(generated, tmp_path / "repo")


def _both(cli, root: Path, args: tuple[str, ...]):
    return whole_and_parts(cli, root, args, DAY, SMALL)


ASKED = [
    ("report", "board", "--format", "json"),
    ("report", "board"),
    ("report", "board", "--months", "6", "--top", "3", "--format", "json"),
    ("report", "board", "--months", "1", "--top", "60", "--format", "json"),
    ("report", "board", "--format", "csv"),
    ("account", "list", "--format", "json"),
    ("account", "list"),
    ("account", "list", "--status", "churned", "--status", "pending", "--format", "json"),
    ("account", "list", "--currency", "EUR", "--format", "json"),
    ("account", "list", "--renewing-within", "365", "--format", "json"),
    ("contract", "list", "--format", "json"),
    ("contract", "list", "--status", "active", "--format", "json"),
    ("contract", "list", "--ending-within", "365", "--format", "csv"),
    ("contract", "list", "--product", "PRO-SEAT", "--format", "json"),
]


@pytest.mark.parametrize("args", ASKED, ids=lambda a: " ".join(a))
def test_the_parts_answer_what_the_whole_answers(repo, cli, parted, args) -> None:
    whole, _ = same_in_parts(cli, repo, args, DAY, SMALL, parted)
    if args[:2] == ("report", "board") and "--top" not in args:
        assert '"top_accounts": [\n    {' in whole.stdout or "json" not in args


def test_the_board_sums_parts_of_many_accounts(repo, cli, parted) -> None:
    """The figures that are sums over accounts (ARR, movements, LTV's counts) and the ranking of the top accounts
    come out of several parts: the repository has accounts moving in every part."""
    import json

    _, parts = _both(cli, repo, ("report", "board", "--top", "10", "--format", "json"))
    board = json.loads(parts.stdout)
    ranked = [a["account"] for a in board["top_accounts"]]
    assert len(ranked) == 10 and len({a[-2:] < "30" for a in ranked}) == 2  # from the first and the last accounts
    assert parted == [False, True]


def test_unknown_product_is_refused_the_same(repo, cli) -> None:
    whole, parts = _both(cli, repo, ("contract", "list", "--product", "PRO-SEATS"))
    assert whole.code == 2 and "PRO-SEAT" in whole.stderr
    assert parts == whole


@pytest.mark.parametrize("case", ["contract in another folder", "account with no file", "currency without a rate"])
def test_what_the_parts_cannot_stand_for_is_read_whole(repo, cli, parted, case) -> None:
    if case == "contract in another folder":  # E-ACCOUNT-FOLDER: the whole counts it with acct-00002's contracts
        moved = sorted((repo / "contracts" / "acct-00002").glob("C-*.yaml"))[0]
        moved.rename(repo / "contracts" / "acct-00055" / moved.name)
    elif case == "account with no file":  # E-UNKNOWN-ACCOUNT: its contracts count for it in the whole
        (repo / "contracts" / "acct-00003" / "account.yaml").unlink()
    else:  # E-FX-MISSING for EUR: refused, as the whole read refuses it
        toml = repo / "cpq.toml"
        toml.write_text(toml.read_text().replace('EUR = "4.30"', ""), encoding="utf-8")
    age(repo)
    for args in (("report", "board", "--format", "json"), ("account", "list", "--format", "json")):
        parted.clear()
        whole, parts = _both(cli, repo, args)
        assert parts == whole
        if case == "currency without a rate":  # the board's part refused: the whole read refuses it, in full
            assert (whole.code, "EUR" in whole.stderr) == ((1, True) if args[0] == "report" else (0, False))
            assert parted == ([False] if args[0] == "report" else [False, True]), parted
        else:
            assert whole.code == 0, whole.stderr
            assert parted == [False, False], parted  # the parts stood for nothing: the whole answered
