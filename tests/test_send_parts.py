"""`invoice send --unsent` on a big repository plans one part at a time (issue 21: the whole model of 50,000 accounts
with a year of invoices took 1.2 GB; :func:`cpqctl.app.invoicing._send_unsent_in_parts`): whole account folders with
their contracts' invoices, after `check` found the repository free of errors. The output, the e-mails (byte for
byte, in the same order) and the deliveries recorded are the whole run's; what the whole run refuses before the
first message goes out is refused the same way, and nothing goes out.

The repository is tests/test_dunning.py's (the example invoiced through 2026, its bank statements imported, [smtp]
on a local server); ``CPQ_CHUNK_FILES`` makes its accounts come in parts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import invoke
from tests.test_dunning import repo, smtp, year  # noqa: F401 - the fixtures

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SMALL = "8"  # about one account a part
WHOLE = "100000000"
DAY = "2026-12-31"


def _send(monkeypatch, root: Path, size: str, *extra: object, ksef: bool = False):
    """`invoice send --unsent` (``--without-ksef`` unless ``ksef``: the example's KSeF invoices are not submitted)."""
    monkeypatch.setenv("CPQ_CHUNK_FILES", size)
    args = ("invoice", "send", "--unsent", "--repo", root, "--as-of", DAY, *extra)
    return invoke(*args) if ksef else invoke(*args, "--without-ksef")


def _files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "invoices").glob("*.yaml"))}


def _pair(repo: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(repo, tmp_path / "other", ignore=shutil.ignore_patterns(".cpq")))  # same [smtp]


@pytest.mark.parametrize("extra", [("--format", "json"), (), ("--since", "2026-10-01", "--format", "json")])
def test_sending_in_parts_sends_and_records_what_the_whole_run_does(
    repo, smtp, monkeypatch, tmp_path, parts_read, extra
):
    other = _pair(repo, tmp_path)
    whole = _send(monkeypatch, repo, WHOLE, *extra)
    sent_whole = [e.original_content for e in smtp.envelopes]
    smtp.envelopes.clear()
    parts = _send(monkeypatch, other, SMALL, *extra)
    sent_parts = [e.original_content for e in smtp.envelopes]
    assert whole.exit_code == 0, whole.stderr
    assert (parts.exit_code, parts.stdout, parts.stderr) == (whole.exit_code, whole.stdout, whole.stderr)
    assert len(sent_whole) > 3 and sent_parts == sent_whole  # the same e-mails, byte for byte, in the same order
    assert _files(other) == _files(repo) != {}
    assert parts_read == [True]  # the whole run read the whole repository; the other, parts
    again = _send(monkeypatch, other, SMALL, *extra)
    assert again.exit_code == 0 and "no unsent invoices" in again.stderr + again.stdout
    assert invoke("check", "--repo", other).exit_code == 0


def test_what_the_whole_run_refuses_is_refused_in_parts_before_anything_goes_out(
    repo, smtp, monkeypatch, tmp_path, parts_read
):
    """Two accounts without a billing e-mail: the first in the run's order (date, number) is named, as by the whole
    run, and nothing is sent nor written."""
    dated = sorted(
        (re.search(r"^date: (\S+)$", t, re.M).group(1), f.stem, re.search(r"^account: (\S+)$", t, re.M).group(1))
        for f in (repo / "invoices").glob("*.yaml")
        for t in [f.read_text(encoding="utf-8")]
    )
    first, last = dated[0][2], dated[-1][2]
    assert first != last  # the run names the first in its order, whichever part holds it
    for account in (first, last):
        path = repo / "contracts" / account / "account.yaml"
        text = path.read_text(encoding="utf-8")
        assert ", email: " in text
        path.write_text(re.sub(r", email: [^,}]+", "", text), encoding="utf-8")  # contacts without an e-mail
    other = _pair(repo, tmp_path)
    before = _files(other)
    whole = _send(monkeypatch, repo, WHOLE)
    parts = _send(monkeypatch, other, SMALL)
    assert invoke("check", "--repo", repo).exit_code == 0  # a valid repository: the refusal is the run's
    assert whole.exit_code == 1 and "E-NO-RECIPIENT" in whole.stderr and f"account {first} " in whole.stderr
    assert (parts.exit_code, parts.stdout, parts.stderr) == (whole.exit_code, whole.stdout, whole.stderr)
    assert smtp.envelopes == [] and _files(other) == before
    assert parts_read == [True]


def test_an_invoice_not_in_ksef_yet_refuses_the_run_in_parts_as_whole(repo, smtp, monkeypatch, tmp_path, parts_read):
    """The invoices that must go through KSeF first, found over every part and named in the run's order."""
    other = _pair(repo, tmp_path)
    before = _files(other)
    whole = _send(monkeypatch, repo, WHOLE, ksef=True)
    parts = _send(monkeypatch, other, SMALL, ksef=True)
    assert whole.exit_code == 1 and "E-KSEF-NOT-SUBMITTED" in whole.stderr and " more " in whole.stderr
    assert (parts.exit_code, parts.stdout, parts.stderr) == (whole.exit_code, whole.stdout, whole.stderr)
    assert smtp.envelopes == [] and _files(other) == before
    assert parts_read == [True]


def _emls(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.eml"))} if folder.is_dir() else {}


@pytest.mark.parametrize("ksef", [True, False])
def test_eml_files_in_parts_are_the_whole_runs(repo, monkeypatch, tmp_path, parts_read, ksef):
    """`--unsent --eml DIR` reads the parts too: the same notes (the invoices not in KSeF yet, in the run's order),
    the same files byte for byte; with two accounts without an e-mail, the files before the first of them in the run's
    order are written, and its refusal raised, as by the whole run. Nothing is recorded as sent."""
    other = _pair(repo, tmp_path)
    before = _files(other)

    def run(root: Path, size: str, out: Path):
        r = _send(monkeypatch, root, size, "--eml", out, ksef=ksef)
        return r.exit_code, r.stdout.replace(str(out), "OUT"), r.stderr.replace(str(out), "OUT")

    whole = run(repo, WHOLE, tmp_path / "a")
    parts = run(other, SMALL, tmp_path / "b")
    assert whole[0] == 0, whole[2]
    assert parts == whole and ("not in KSeF yet" in whole[2]) == ksef
    assert len(_emls(tmp_path / "a")) > 3 and _emls(tmp_path / "b") == _emls(tmp_path / "a")
    assert _files(other) == before and parts_read == [True]
    dated = sorted(
        (re.search(r"^date: (\S+)$", t, re.M).group(1), f.stem, re.search(r"^account: (\S+)$", t, re.M).group(1))
        for f in (repo / "invoices").glob("*.yaml")
        for t in [f.read_text(encoding="utf-8")]
    )
    middle, last = dated[len(dated) // 2][2], dated[-1][2]
    for root in (repo, other):
        for account in {middle, last}:
            path = root / "contracts" / account / "account.yaml"
            path.write_text(re.sub(r", email: [^,}]+", "", path.read_text(encoding="utf-8")), encoding="utf-8")
    whole = run(repo, WHOLE, tmp_path / "c")
    parts = run(other, SMALL, tmp_path / "d")
    assert whole[0] == 1 and "E-NO-RECIPIENT" in whole[2]
    assert parts == whole
    written = _emls(tmp_path / "c")
    assert 0 < len(written) < len(_emls(tmp_path / "a")) and _emls(tmp_path / "d") == written
    assert parts_read == [True, True]
