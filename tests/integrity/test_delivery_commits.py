"""A delivery record (`invoice send`, one commit per invoice) is validated on its own file, not the repository.

Staged validation re-runs every cross-file check per commit (≈ 0.7 s at 10,000 accounts); a commit that only
appends `sent:` records to issued invoices cannot change what those checks read, so it is parsed and
schema-checked alone. Anything else in the same commit takes the full path, and is refused when wrong.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from cpqctl.app import workspace
from cpqctl.app.invoicing import _sent_append
from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import InvalidRepository

AS_OF = "2026-03-01"


@pytest.fixture
def billed(example_repo, cli):
    run = cli("invoice", "run", "--through", AS_OF, "--as-of", AS_OF, "--repo", example_repo)
    assert run.code == 0, run.stderr
    return example_repo


def _count_validations(monkeypatch) -> list:
    calls: list = []
    real = workspace.validate
    monkeypatch.setattr(workspace, "validate", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def test_a_delivery_record_is_checked_without_the_cross_file_checks(billed, cli, monkeypatch):
    calls = _count_validations(monkeypatch)
    ws = Workspace.open(billed)
    with ws.writing() as (store, repo):
        calls.clear()  # the load's own validation
        inv = repo.invoices["INV-2026-0001"]
        rel, add, sha = _sent_append(store, inv, date(2026, 3, 2), ["anna.nowak@acme.example"], "<m1@example>")
        with store.transaction() as tx:
            tx.append(rel, add, expect_sha256=sha)
    assert calls == []  # the fast path: no cross-file checks for a `sent:` record
    assert "anna.nowak@acme.example" in (billed / rel).read_text(encoding="utf-8")
    assert cli("check", "--repo", billed, "--as-of", AS_OF).code == 0


def test_a_commit_that_changes_more_than_deliveries_takes_the_full_check_and_is_refused(billed, monkeypatch):
    calls = _count_validations(monkeypatch)
    ws = Workspace.open(billed)
    path = billed / "invoices/INV-2026-0001.yaml"
    before = path.read_bytes()
    with pytest.raises(InvalidRepository) as refused, ws.writing() as (store, repo):
        calls.clear()
        inv = repo.invoices["INV-2026-0001"]
        rel, add, sha = _sent_append(store, inv, date(2026, 3, 2), ["anna.nowak@acme.example"], "<m1@example>")
        text = re.sub(r"(?m)^net_total: .*$", "net_total: 1.00", before.decode("utf-8")) + add
        with store.transaction() as tx:
            tx.write(rel, text, expect_sha256=sha)
    assert refused.value.code == "E-WRITE-INVALID"
    assert path.read_bytes() == before
