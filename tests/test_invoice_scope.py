"""`invoice run --account/--contract` (issue 18): a run limited to some contracts, then the rest."""

from __future__ import annotations

import json

AS_OF = "2026-03-01"


def _run(cli, root, *args):
    run = cli("invoice", "run", "--through", AS_OF, "--as-of", AS_OF, "--format", "json", "--repo", root, *args)
    assert run.code == 0, run.stderr
    return [(i["invoice"], i["contract"], i["account"]) for i in json.loads(run.stdout)["invoices"]], run.stderr


def test_a_limited_run_then_the_rest_issues_what_one_run_issues(example_repo, cli, tmp_path):
    import shutil

    whole = tmp_path / "whole"
    shutil.copytree(example_repo, whole)
    everything, _ = _run(cli, whole)

    first, _ = _run(cli, example_repo, "--contract", "C-2026-0002")
    assert {c for _, c, _ in first} == {"C-2026-0002"} and len(first) == 2
    acme, _ = _run(cli, example_repo, "--account", "acme")
    assert {a for _, _, a in acme} == {"acme"} and acme
    rest, _ = _run(cli, example_repo)
    issued = first + acme + rest
    # the same invoices (contract, account, count); numbers follow the order they were issued in
    assert sorted((c, a) for _, c, a in issued) == sorted((c, a) for _, c, a in everything)
    # every invoice is dated the run's day (Initech's period from 2025-10-01 too: in 2026's series), numbered in
    # the order of issue
    assert issued == [
        ("INV-2026-0001", "C-2026-0002", "umbrella"),
        ("INV-2026-0002", "C-2026-0002", "umbrella"),
        ("INV-2026-0003", "C-2026-0001", "acme"),
        ("INV-2026-0004", "C-2025-0003", "initech"),
        ("INV-2026-0005", "C-2026-0003", "globex"),
    ]
    assert _run(cli, example_repo)[0] == []  # nothing twice
    check = cli("check", "--format", "concise", "--as-of", AS_OF, "--repo", example_repo)
    # all dated 2026-03-01: a later number is never dated before a lower one, whatever order they were issued in
    assert check.code == 0 and "W-INVOICE-ORDER" not in check.stdout


def test_an_unknown_contract_or_account_is_refused_and_nothing_written(example_repo, cli):
    for option, value, code in (
        ("--contract", "C-2099-0001", "E-UNKNOWN-CONTRACT"),
        ("--account", "nobody", "E-UNKNOWN-ACCOUNT"),
    ):
        run = cli("invoice", "run", "--through", AS_OF, "--as-of", AS_OF, "--repo", example_repo, option, value)
        assert run.code == 2 and f"error[{code}]" in run.stderr
    assert not (example_repo / "invoices").exists()


def test_preview_help_says_what_its_through_means(cli):
    """Issue 18: `invoice preview --help` said both "default: the contract's end" and "(default: --as-of)"."""
    shown = cli("invoice", "preview", "--help")
    assert shown.code == 0
    text = " ".join(shown.stdout.split())
    assert "default: --as-of" not in text and "Show invoices dated on or before DATE" in text
