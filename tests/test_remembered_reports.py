"""Reports asked again are remembered with the state of the files they read (issue 21, :mod:`cpqctl.app.remember`):
`report arr`, `report movements`, `renewals` and `renew --due --dry-run`. With nothing changed they load nothing;
any change — an edited, added, deleted or renamed file, one rewritten keeping its size and mtime, cpq.toml — or
another question gives exactly what a cold run (nothing cached, nothing remembered) gives; a report does not
compute again for a change it does not read (an invoice)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import age, copy_repo
from tests.test_remembered_run import CHANGES as RUN_CHANGES, _replace

# the invoice run's changes, cpq.toml's one made a change of the EUR rate (every report converts to PLN)
CHANGES = {**RUN_CHANGES, "cpq.toml": lambda r: _replace(r / "cpq.toml", 'EUR = "4.30"', 'EUR = "4.40"')}
# what does not change an answer (so these cannot show a stale one): renew --due lists contracts, not prices;
# the deleted contract was not due; renewals shows ARR in each contract's own currency
UNCHANGED = {
    ("renew --due --dry-run", "edit"),
    ("renew --due --dry-run", "same size and mtime"),
    ("renew --due --dry-run", "delete"),
    ("renew --due --dry-run", "cpq.toml"),
    ("renewals", "delete"),
    ("renewals", "cpq.toml"),
}

REPORTS = {
    "report arr": ("report", "arr", "--as-of", "2026-12-05"),
    "report movements": ("report", "movements", "--from", "2026-01-01", "--to", "2026-12-31"),
    "renewals": ("renewals", "--within", "365", "--as-of", "2026-12-05"),
    "renew --due --dry-run": ("renew", "--due", "--dry-run", "--within", "365", "--as-of", "2026-12-05"),
}


def _run(cli, root: Path, args: tuple[str, ...], env: dict | None = None) -> tuple[int, str, str]:
    run = cli(*args, "--format", "json", "--repo", root, env=env)
    return run.code, run.stdout, run.stderr


def _cold(cli, root: Path, tmp_path: Path, args: tuple[str, ...]) -> tuple[int, str, str]:
    copy = copy_repo(root, tmp_path / "cold")
    code, out, err = _run(cli, copy, args, env={"CPQ_REMEMBER": "0"})
    shutil.rmtree(copy)
    return code, out.replace(str(copy), str(root)), err.replace(str(copy), str(root))


@pytest.mark.parametrize("report", list(REPORTS))
@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_computes_again(example_repo, cli, tmp_path, report, change) -> None:
    args = REPORTS[report]
    age(example_repo)
    first = _run(cli, example_repo, args)
    assert first[0] == 0, first[2]
    assert first == _cold(cli, example_repo, tmp_path, args)
    CHANGES[change](example_repo)
    warm = _run(cli, example_repo, args)
    assert warm == _cold(cli, example_repo, tmp_path, args)
    assert (warm != first) == ((report, change) not in UNCHANGED)  # a stale answer would show
    age(example_repo)
    assert _run(cli, example_repo, args) == warm  # remembered in turn (or, refused, refused again)


@pytest.mark.parametrize("report", list(REPORTS))
def test_nothing_changed_loads_nothing(example_repo, cli, monkeypatch, report) -> None:
    from cpqctl.load import repo

    args = REPORTS[report]
    age(example_repo)
    first = _run(cli, example_repo, args)
    assert list((example_repo / ".cpq/cache").glob("remembered-*.json"))

    def no_load(*a, **k):
        raise AssertionError("the repository was loaded")

    monkeypatch.setattr(repo, "load_parts", no_load)
    assert _run(cli, example_repo, args) == first


@pytest.mark.parametrize("report", ["report arr", "renewals"])
def test_another_question_is_not_given_the_remembered_answer(example_repo, cli, tmp_path, report) -> None:
    args = REPORTS[report]
    age(example_repo)
    first = _run(cli, example_repo, args)
    other_args = (*args, "--as-of", "2027-03-31")  # the later option wins
    other = _run(cli, example_repo, other_args)
    assert other == _cold(cli, example_repo, tmp_path, other_args) and other != first


def test_an_invoice_does_not_make_a_report_compute_again(example_repo, cli, monkeypatch) -> None:
    """The metrics read no invoice: their key leaves invoices/ (and payments/, quotes/) out."""
    from cpqctl.load import repo

    args = REPORTS["report arr"]
    age(example_repo)
    first = _run(cli, example_repo, args)
    assert cli("invoice", "run", "--as-of", "2026-12-05", "--repo", example_repo).code == 0
    assert list((example_repo / "invoices").glob("*.yaml"))
    monkeypatch.setattr(repo, "load_parts", lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded")))
    assert _run(cli, example_repo, args) == first


def test_a_damaged_memory_is_no_error(example_repo, cli) -> None:
    args = REPORTS["report arr"]
    age(example_repo)
    first = _run(cli, example_repo, args)
    for memory in (example_repo / ".cpq/cache").glob("remembered-*.json"):
        memory.write_text('{"format": 2, "key": "x", "value": {"by": 3}}')
    assert _run(cli, example_repo, args) == first
