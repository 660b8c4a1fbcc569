"""`dunning run` on a big repository plans one part at a time (issue 21: the whole model of 50,000 accounts with a
year of invoices took 1.2 GB): whole account folders with their invoices and payments
(:meth:`cpqctl.app.workspace.Workspace.clean_parts`), after `check` found the repository free of errors. The
dry run's answer, the e-mails sent and the files written are byte for byte the whole run's; a repository `check`
finds an error in, or one whose records cross the parts, is answered by the whole run (its refusal or its
answer). Each reminder's commit is checked on its own invoice files: read back, reminders only added.

The repository is tests/test_dunning.py's: the example invoiced through 2026, both bank statements imported,
[dunning] with compensation and statutory interest, three languages. ``CPQ_CHUNK_FILES`` makes its five accounts
come in parts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import age, invoke
from tests.test_dunning import FIRST, LATER, repo, smtp, year  # noqa: F401 - the fixtures

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SMALL = "8"  # account, contract and invoice files per part: about one account a part
WHOLE = "100000000"


@pytest.fixture
def parted(monkeypatch) -> list[bool | str]:
    """Whether each run planned in parts (:meth:`Parts.read` answering, not None; "raised": it raised)."""
    from cpqctl.app.workspace import Parts

    real = Parts.read
    got: list[bool | str] = []

    def counted(self, kinds, compute):
        got.append("raised")
        out = real(self, kinds, compute)
        got[-1] = out is not None
        return out

    monkeypatch.setattr(Parts, "read", counted)
    return got


def _run(monkeypatch, root: Path, size: str, as_of: str, *extra: object):
    monkeypatch.setenv("CPQ_CHUNK_FILES", size)
    return invoke("dunning", "run", "--repo", root, "--as-of", as_of, *extra)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "invoices").glob("*.yaml"))}


@pytest.mark.parametrize("as_of", [FIRST, LATER, "2027-06-30"])
@pytest.mark.parametrize("fmt", ["json", "table"])
def test_the_dry_run_in_parts_answers_what_the_whole_answers(repo: Path, monkeypatch, parted, as_of, fmt) -> None:
    whole = _run(monkeypatch, repo, WHOLE, as_of, "--dry-run", "--format", fmt)
    parts = _run(monkeypatch, repo, SMALL, as_of, "--dry-run", "--format", fmt)
    assert whole.exit_code == 0, whole.stderr
    assert (parts.exit_code, parts.stdout, parts.stderr) == (whole.exit_code, whole.stdout, whole.stderr)
    assert parted == [True]  # the whole run took the whole repository; the other, parts
    if fmt == "json":
        data = json.loads(whole.stdout)
        assert len({x["account"] for x in data["reminders"]}) >= 2  # reminders of several parts, merged
        assert any(it["interest"] and it["compensation"] for x in data["reminders"] for it in x["invoices"])


def test_sending_in_parts_sends_and_records_what_the_whole_run_does(
    repo: Path, smtp, monkeypatch, tmp_path, parted
) -> None:
    from cpqctl.app import dunning

    other = Path(shutil.copytree(repo, tmp_path / "other", ignore=shutil.ignore_patterns(".cpq")))  # same [smtp]
    real, checked = dunning._own_files, []

    def own_files(root, settings, rels):  # each commit of the run in parts checked on its files
        validator = real(root, settings, rels)

        def check(files):
            checked.append(sorted(files))
            assert sorted(files) == sorted(rels)
            validator(files)

        return check

    monkeypatch.setattr(dunning, "_own_files", own_files)
    for as_of in (FIRST, LATER):
        whole = _run(monkeypatch, repo, WHOLE, as_of, "--format", "json")
        sent_whole = [e.original_content for e in smtp.envelopes]
        smtp.envelopes.clear()
        parts = _run(monkeypatch, other, SMALL, as_of, "--format", "json")
        sent_parts = [e.original_content for e in smtp.envelopes]
        smtp.envelopes.clear()
        assert whole.exit_code == 0, whole.stderr
        assert (parts.exit_code, parts.stdout, parts.stderr) == (whole.exit_code, whole.stdout, whole.stderr)
        assert sent_parts == sent_whole and sent_whole  # the same e-mails, byte for byte, in the same order
        assert _files(other) == _files(repo)  # the same reminders recorded
        assert len(checked) == len(sent_parts)  # one checked commit per e-mail
        checked.clear()
    assert parted == [True, True]
    assert any(b"reminders:" in data for data in _files(other).values())
    for root in (repo, other):
        r = invoke("check", "--repo", root)
        assert r.exit_code == 0, r.stdout + r.stderr


def test_a_refused_recipient_in_parts(repo: Path, smtp, monkeypatch, parted) -> None:
    account = repo / "contracts" / "initech" / "account.yaml"
    account.write_text(account.read_text(encoding="utf-8").replace("bartosz.lewandowski@", "refuse-me@"), "utf-8")
    r = _run(monkeypatch, repo, SMALL, FIRST)
    assert r.exit_code == 1 and "E-SMTP-REFUSED" in r.stderr and "reminder 2 to initech" in r.stderr
    assert len(smtp.envelopes) == 6 and parted == [True]  # everyone else's went out and is recorded
    assert "reminders:" not in (repo / "invoices" / "INV-2026-0001.yaml").read_text(encoding="utf-8")


def test_an_account_without_a_recipient_stops_the_run_before_anything_is_sent(
    repo: Path, smtp, monkeypatch, parted
) -> None:
    account = repo / "contracts" / "umbrella" / "account.yaml"
    text = account.read_text(encoding="utf-8")
    account.write_text(text.replace(", email: lena.meier@umbrella.example", ""), "utf-8")
    before = _files(repo)
    whole = _run(monkeypatch, repo, WHOLE, FIRST)
    parts = _run(monkeypatch, repo, SMALL, FIRST)
    assert whole.exit_code == 1 and "E-NO-RECIPIENT" in whole.stderr and "umbrella" in whole.stderr
    assert (parts.exit_code, parts.stdout, parts.stderr) == (whole.exit_code, whole.stdout, whole.stderr)
    assert smtp.envelopes == [] and _files(repo) == before and parted == ["raised"]  # by a part


def test_a_repository_check_refuses_is_refused_by_the_whole_run(repo: Path, smtp, monkeypatch, parted) -> None:
    """A payment settling another account's invoice (E-PAYMENT-ACCOUNT): `check` finds the error, so the parts are
    not read; the whole run refuses it, and says so the same way."""
    folder = repo / "payments" / "2026-12"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "PAY-2026-9999.yaml").write_text(
        "payment: PAY-2026-9999\ndate: 2026-11-20\naccount: acme\namount: 10.00\ncurrency: PLN\npayer: Acme\n"
        "allocations:\n  - {invoice: INV-2026-0032, amount: 10.00}\n",
        encoding="utf-8",
    )
    before = _files(repo)
    whole = _run(monkeypatch, repo, WHOLE, FIRST)
    parts = _run(monkeypatch, repo, SMALL, FIRST)
    assert whole.exit_code == 1 and "E-INVALID-REPO" in whole.stderr and "E-PAYMENT-ACCOUNT" in whole.stderr
    assert (parts.exit_code, parts.stdout, parts.stderr) == (whole.exit_code, whole.stdout, whole.stderr)
    assert parted == [] and smtp.envelopes == [] and _files(repo) == before


def test_an_account_filter_plans_only_its_parts(repo: Path, smtp, monkeypatch, tmp_path, parted) -> None:
    """`dunning run --account` in parts reads only the parts of the accounts named (each exactly a folder) and
    answers, sends and records what the whole run does; a name that is not exactly a folder takes the whole load
    (which finds the one meant, or refuses it with the closest name)."""
    from cpqctl.load import cache

    read: list[str] = []
    real = cache.load_files

    def counted(root, files, *args, **kwargs):
        read.extend(rel for rel, _ in files)
        return real(root, files, *args, **kwargs)

    for extra in (("--dry-run",), ()):
        other = Path(shutil.copytree(repo, tmp_path / f"other{len(extra)}", ignore=shutil.ignore_patterns(".cpq")))
        mine = Path(shutil.copytree(repo, tmp_path / f"mine{len(extra)}", ignore=shutil.ignore_patterns(".cpq")))
        age(mine)  # (a file changed within 2 s of a check is never remembered)
        assert invoke("check", "--repo", mine, "--as-of", LATER).exit_code == 0  # the gate, remembered
        limit = ("--account", "hooli", "--account", "initech", "--format", "json", *extra)
        whole = _run(monkeypatch, other, WHOLE, LATER, *limit)
        sent_whole = [e.original_content for e in smtp.envelopes]
        smtp.envelopes.clear()
        monkeypatch.setattr(cache, "load_files", counted)
        read.clear()
        parts = _run(monkeypatch, mine, SMALL, LATER, *limit)
        monkeypatch.setattr(cache, "load_files", real)
        sent_parts = [e.original_content for e in smtp.envelopes]
        smtp.envelopes.clear()
        assert whole.exit_code == 0, whole.stderr
        assert (parts.exit_code, parts.stdout, parts.stderr) == (whole.exit_code, whole.stdout, whole.stderr)
        assert sent_parts == sent_whole and (sent_whole or extra)
        assert _files(mine) == _files(other)
        assert {x["account"] for x in json.loads(whole.stdout)["reminders"]} == {"hooli", "initech"}
        folders = {rel.split("/")[1] for rel in read if rel.startswith("contracts/")}
        assert folders == {"hooli", "initech"}, folders
    assert parted == [True, True]
    whole = _run(monkeypatch, repo, WHOLE, FIRST, "--dry-run", "--account", "HOOLI", "--format", "json")
    parts = _run(monkeypatch, repo, SMALL, FIRST, "--dry-run", "--account", "HOOLI", "--format", "json")
    assert (parts.exit_code, parts.stdout, parts.stderr) == (whole.exit_code, whole.stdout, whole.stderr)
    assert parted == [True, True]  # not exactly a folder: read whole


def test_a_reminder_commit_planned_in_parts_is_checked_on_its_files(repo: Path) -> None:
    """The validator a reminder's commit gets in parts (:func:`cpqctl.app.dunning._own_files`): reminders added
    pass; anything else — a changed amount, a reminder taken away — is refused before a byte is written."""
    from datetime import date

    from cpqctl.app.dunning import _own_files
    from cpqctl.core.diagnostics import InvalidRepository
    from cpqctl.formats.invoice import reminder_added_text
    from cpqctl.load.repo import listing, load_invoice_context

    settings, _, _ = listing(repo)
    rel = "invoices/INV-2026-0032.yaml"
    text = (repo / rel).read_text(encoding="utf-8")
    inv = load_invoice_context(repo, "INV-2026-0032")[0].invoices["INV-2026-0032"]
    added = reminder_added_text(text, inv, 1, date(2026, 11, 25), ["a@b.example"], "<x@y>")
    assert added != text and "reminders:" in added
    _own_files(repo, settings, [rel])({rel: added.encode()})  # reminders added: accepted
    with pytest.raises(InvalidRepository):
        _own_files(repo, settings, [rel])({rel: text.replace("gross_total:", "gross_total: 1", 1).encode()})
    with pytest.raises(InvalidRepository):  # no reminder added: not a delivery, checked on its file alone
        _own_files(repo, settings, [rel])({rel: text.encode()})
