"""`cpqctl renumber OLD NEW --reason TEXT` end to end on copies of the example repo, and the store's deletions.

A renumbering renames the file, rewrites every reference, records why, digests
changed accepted quotes again, and leaves a repository `check` finds clean; an
issued invoice, and what issued invoices name, is never renumbered.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
import yaml

AS_OF = "2026-11-28"
REASON = "same number on two branches"


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.parts
    }


def run(cli, root, *args):
    return cli(*args, "--repo", root, "--as-of", AS_OF)


def renumber(cli, root, old, new, *extra, reason=REASON):
    return run(cli, root, "renumber", old, new, "--reason", reason, *extra)


def new_quote(cli, root, *lines: str) -> str:
    args = ["quote", "new", "--account", "acme", "--start", "2027-01-01", "--term", "12", "--format", "json"]
    for ln in lines or ("PRO-SEAT=50", "ONBOARDING=1"):
        args += ["--line", ln]
    r = run(cli, root, *args)
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)["quote"]


def accept(cli, root, quote: str) -> None:
    r = run(cli, root, "quote", "accept", quote, "--signed-by", "Anna Nowak")
    assert r.code == 0, r.stderr


def check_clean(cli, root) -> None:
    r = cli("check", "--repo", root, "--as-of", AS_OF)
    assert r.code == 0, r.stdout + r.stderr


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def digest_holds(path: Path) -> str:
    """The quote's digest line, after checking it is the SHA-256 of every byte before it (the last line)."""
    text = path.read_text(encoding="utf-8")
    body, last = text[: text.rindex("digest:")], text[text.rindex("digest:") :]
    digest = "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()
    assert last == f'digest: "{digest}"\n'
    return digest


@pytest.fixture
def accepted(cli, example_repo):
    """The example repo with Q-2026-0001 accepted into the new contract C-2027-0001."""
    quote = new_quote(cli, example_repo)
    accept(cli, example_repo, quote)
    assert quote == "Q-2026-0001" and (example_repo / "contracts/acme/C-2027-0001.yaml").exists()
    return example_repo


# --------------------------------------------------------------------------- quotes


def test_renumber_an_accepted_quote_rewrites_the_contract_and_digests_it_again(cli, accepted):
    root = accepted
    old_quote = (root / "quotes/Q-2026-0001.yaml").read_text()
    old_contract = (root / "contracts/acme/C-2027-0001.yaml").read_text()

    r = renumber(cli, root, "Q-2026-0001", "Q-2026-0101", "--format", "json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["from"], data["to"], data["kind"], data["dry_run"]) == ("Q-2026-0001", "Q-2026-0101", "quote", False)
    assert [(f["file"], f["was"]) for f in data["files"]] == [
        ("quotes/Q-2026-0101.yaml", "quotes/Q-2026-0001.yaml"),
        ("contracts/acme/C-2027-0001.yaml", None),
    ]
    assert "renumbered quote Q-2026-0001 → Q-2026-0101: 2 file(s) changed" in r.stderr

    assert not (root / "quotes/Q-2026-0001.yaml").exists()
    path = root / "quotes/Q-2026-0101.yaml"
    q = load(path)
    assert q["quote"] == "Q-2026-0101" and q["status"] == "accepted" and q["contract"] == "C-2027-0001"
    assert q["renumbered"] == [
        {"from": "Q-2026-0001", "to": "Q-2026-0101", "date": date(2026, 11, 28), "reason": REASON}
    ]
    digest = digest_holds(path)
    # every other line of the quote is as it was: the ID, the record above `lines:` and the digest changed
    new_lines = path.read_text().splitlines()
    record = [ln for ln in new_lines if ln.startswith("renumbered:") or ln.startswith("  - {from: Q-2026-0001")]
    assert len(record) == 2 and new_lines.index(record[0]) == new_lines.index("lines:") - 2
    rest = [ln for ln in new_lines if ln not in record and not ln.startswith(("quote:", "digest:"))]
    assert rest == [ln for ln in old_quote.splitlines() if not ln.startswith(("quote:", "digest:"))]

    c = load(root / "contracts/acme/C-2027-0001.yaml")
    assert c["quote"] == "Q-2026-0101" and c["quote_digest"] == digest and "renumbered" not in c
    contract_text = (root / "contracts/acme/C-2027-0001.yaml").read_text()
    assert contract_text.splitlines()[0] == (
        "# C-2027-0001: accepted from Q-2026-0101 (written by cpqctl; amendments are appended below)"
    )
    changed = [(a, b) for a, b in zip(old_contract.splitlines(), contract_text.splitlines()) if a != b]
    assert len(changed) == 3 and len(old_contract.splitlines()) == len(contract_text.splitlines())
    check_clean(cli, root)
    shown = json.loads(run(cli, root, "quote", "show", "Q-2026-0101", "--format", "json").stdout)
    assert shown["status"] == "accepted" and shown["net_total"] == "59000.00"


def test_renumber_a_draft_records_it_and_acceptance_keeps_the_record(cli, example_repo):
    root = example_repo
    quote = new_quote(cli, root, "PRO-SEAT=3")
    # presented to the customer: the presentation's digest names the quote ID, and follows the renumbering
    r = run(cli, root, "quote", "render", quote, "--format", "md", "-o", "-")
    assert r.code == 0, r.stderr
    before = load(root / f"quotes/{quote}.yaml")["presented"][0]["digest"]

    r = renumber(cli, root, quote, "Q-DRAFT-7")
    assert r.code == 0, r.stderr
    assert not (root / f"quotes/{quote}.yaml").exists()
    q = load(root / "quotes/Q-DRAFT-7.yaml")
    assert q["quote"] == "Q-DRAFT-7" and q["status"] == "draft" and "digest" not in q
    assert [(x["from"], x["to"], x["reason"]) for x in q["renumbered"]] == [(quote, "Q-DRAFT-7", REASON)]
    assert q["presented"][0]["digest"] != before  # the priced quote now carries its new ID
    check_clean(cli, root)

    # accepted at the prices presented (no --reprice needed); the accepted file keeps the record, digested
    accept(cli, root, "Q-DRAFT-7")
    path = root / "quotes/Q-DRAFT-7.yaml"
    q = load(path)
    assert q["status"] == "accepted" and [x["from"] for x in q["renumbered"]] == [quote]
    contract = next((root / "contracts/acme").glob("C-2027-*.yaml"))
    assert load(contract)["quote"] == "Q-DRAFT-7" and load(contract)["quote_digest"] == digest_holds(path)
    check_clean(cli, root)

    # a second renumbering appends to the list
    assert renumber(cli, root, "Q-DRAFT-7", "Q-DRAFT-8", reason="again").code == 0
    q = load(root / "quotes/Q-DRAFT-8.yaml")
    assert [(x["from"], x["to"], x["reason"]) for x in q["renumbered"]] == [
        (quote, "Q-DRAFT-7", REASON),
        ("Q-DRAFT-7", "Q-DRAFT-8", "again"),
    ]
    assert load(contract)["quote_digest"] == digest_holds(root / "quotes/Q-DRAFT-8.yaml")
    check_clean(cli, root)


# --------------------------------------------------------------------------- contracts


def test_renumber_a_contract_renames_it_and_every_quote_naming_it(cli, accepted):
    root = accepted
    r = run(cli, root, "amend", "C-2027-0001", "--effective", "2027-03-01", "--add", "PRO-SEAT=5")
    assert r.code == 0, r.stderr
    accept(cli, root, "Q-2026-0002")
    assert run(cli, root, "renew", "C-2027-0001").code == 0  # the renewal draft Q-2026-0003 names the contract

    r = renumber(cli, root, "C-2027-0001", "C-2027-0009", "--format", "json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["kind"] == "contract" and sorted(f["file"] for f in data["files"]) == [
        "contracts/acme/C-2027-0009.yaml",
        "quotes/Q-2026-0001.yaml",
        "quotes/Q-2026-0002.yaml",
        "quotes/Q-2026-0003.yaml",
    ]
    assert not (root / "contracts/acme/C-2027-0001.yaml").exists()
    c = load(root / "contracts/acme/C-2027-0009.yaml")
    assert c["contract"] == "C-2027-0009"
    assert [(x["from"], x["to"], x["reason"]) for x in c["renumbered"]] == [("C-2027-0001", "C-2027-0009", REASON)]
    for qid, digest_kept in (("Q-2026-0001", c["quote_digest"]), ("Q-2026-0002", c["amendments"][0]["quote_digest"])):
        path = root / f"quotes/{qid}.yaml"
        q = load(path)
        assert q["quote"] == qid and q["contract"] == "C-2027-0009"
        assert [(x["field"], x["from"], x["to"]) for x in q["renumbered"]] == [
            ("contract", "C-2027-0001", "C-2027-0009")
        ]
        assert digest_holds(path) == digest_kept
    draft = load(root / "quotes/Q-2026-0003.yaml")
    assert draft["contract"] == "C-2027-0009" and "renumbered" not in draft  # the contract records it
    check_clean(cli, root)

    # the renewal draft is still cpqctl's own: regenerating it needs no --force
    r = run(cli, root, "renew", "C-2027-0009")
    assert r.code == 0, r.stderr
    shown = json.loads(run(cli, root, "contract", "show", "C-2027-0009", "--format", "json").stdout)
    assert shown["contract"] == "C-2027-0009"


def test_renumber_a_renewed_contract_moves_the_successors_renews(cli, example_repo):
    root = example_repo
    r = renumber(cli, root, "C-2025-0003", "C-2025-0099")
    assert r.code == 0, r.stderr
    assert not (root / "contracts/initech/C-2025-0003.yaml").exists()
    assert load(root / "contracts/initech/C-2025-0099.yaml")["contract"] == "C-2025-0099"
    successor = (root / "contracts/initech/C-2026-0007.yaml").read_text()
    assert "renews: C-2025-0099\n" in successor and "C-2025-0003" in successor.split("\n", 1)[0]  # comments stay
    check_clean(cli, root)


# --------------------------------------------------------------------------- refusals


def test_an_invoice_number_is_never_renumbered(cli, example_repo):
    root = example_repo
    assert run(cli, root, "invoice", "run").code == 0
    invoice = sorted(p.stem for p in (root / "invoices").glob("*.yaml"))[0]
    before = snapshot(root)
    r = renumber(cli, root, invoice, "INV-9999-0001")
    assert r.code == 1
    assert "error[E-RENUMBER-ISSUED]" in r.stderr and "never reused or renumbered" in r.stderr
    assert "226(2)" in r.stderr and "new invoice" in r.stderr
    assert snapshot(root) == before


def test_a_contract_or_amendment_quote_an_invoice_bills_is_refused(cli, example_repo):
    root = example_repo
    r = run(cli, root, "amend", "C-2026-0001", "--effective", "2026-12-01", "--add", "PRO-SEAT=5")
    assert r.code == 0, r.stderr
    accept(cli, root, "Q-2026-0001")
    # before any invoice bills them, both could be renumbered (dry run)
    assert renumber(cli, root, "C-2026-0001", "C-2026-0901", "--dry-run").code == 0
    assert renumber(cli, root, "Q-2026-0001", "Q-2026-0901", "--dry-run").code == 0
    assert cli("invoice", "run", "--through", "2026-12-01", "--repo", root, "--as-of", "2026-12-01").code == 0
    billed = [p for p in (root / "invoices").glob("*.yaml") if "C-2026-0001/Q-2026-0001#" in p.read_text()]
    assert billed  # the amendment's segments, named by its quote
    before = snapshot(root)
    for old in ("C-2026-0001", "Q-2026-0001"):
        r = cli("renumber", old, "X-1", "--reason", REASON, "--repo", root, "--as-of", "2026-12-01")
        assert r.code == 1 and "error[E-RENUMBER-ISSUED]" in r.stderr, r.stderr
        assert "issued invoice" in r.stderr and "INV-" in r.stderr
    assert snapshot(root) == before


@pytest.mark.parametrize("taken", ["C-2026-0002", "Q-2026-0002"])
def test_new_must_not_be_taken(cli, accepted, taken):
    root = accepted
    if taken.startswith("Q"):
        new_quote(cli, root, "PRO-SEAT=1")
    before = snapshot(root)
    r = renumber(cli, root, "Q-2026-0001", taken)
    assert r.code == 1 and "error[E-DUPLICATE-ID]" in r.stderr and taken in r.stderr
    assert snapshot(root) == before


@pytest.mark.parametrize("bad", ["bad id", "Q/1", ".hidden", "Q-1:2"])
def test_a_malformed_new_id_is_a_usage_error(cli, accepted, bad):
    before = snapshot(accepted)
    r = renumber(cli, accepted, "Q-2026-0001", bad)
    assert r.code == 2 and "error[E-ID]" in r.stderr
    assert snapshot(accepted) == before


def test_an_unknown_id_suggests_the_closest(cli, accepted):
    r = renumber(cli, accepted, "C-2027-001", "C-2027-0002")
    assert r.code == 2 and "error[E-UNKNOWN-ID]" in r.stderr and "did you mean `C-2027-0001`" in r.stderr


def test_the_reason_is_required(cli, accepted):
    before = snapshot(accepted)
    assert run(cli, accepted, "renumber", "Q-2026-0001", "Q-2026-0101").code == 2
    r = renumber(cli, accepted, "Q-2026-0001", "Q-2026-0101", reason="  ")
    assert r.code == 2 and "error[E-USAGE]" in r.stderr and "--reason" in r.stderr
    assert snapshot(accepted) == before


def test_dry_run_writes_nothing_and_lists_the_changes(cli, accepted):
    root = accepted
    before = snapshot(root)
    r = renumber(cli, root, "C-2027-0001", "C-2027-0009", "--dry-run", "--format", "json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["dry_run"] is True and data["kind"] == "contract"
    assert [(f["file"], f["was"]) for f in data["files"]] == [
        ("quotes/Q-2026-0001.yaml", None),
        ("contracts/acme/C-2027-0009.yaml", "contracts/acme/C-2027-0001.yaml"),
    ]
    assert "contract: C-2027-0001 → C-2027-0009" in data["files"][0]["changes"]
    assert "nothing was written" in r.stderr
    assert snapshot(root) == before
    table = renumber(cli, root, "C-2027-0001", "C-2027-0009", "--dry-run")
    assert table.code == 0 and "contracts/acme/C-2027-0009.yaml" in table.stdout and "would change" in table.stdout
    assert snapshot(root) == before


# --------------------------------------------------------------------------- the store: a rename is one commit


def test_a_transaction_deletes_and_creates_together(tmp_path):
    from cpqctl.store import Store

    (tmp_path / "a.yaml").write_text("a\n")
    store = Store(tmp_path)
    seen = {}
    store.validator = seen.update
    with store.lock(), store.transaction() as tx:
        tx.delete("a.yaml")
        tx.create("b.yaml", "b\n")
    assert seen == {"a.yaml": None, "b.yaml": b"b\n"}
    assert not (tmp_path / "a.yaml").exists() and (tmp_path / "b.yaml").read_text() == "b\n"
    assert not (tmp_path / ".cpq/journal.json").exists()
    with pytest.raises(FileNotFoundError), store.lock(), store.transaction() as tx:
        tx.delete("a.yaml")
        tx.create("c.yaml", "c\n")
    assert not (tmp_path / "c.yaml").exists()


def test_recovery_completes_a_committed_deletion(tmp_path):
    from cpqctl.store import Store

    (tmp_path / ".cpq").mkdir()
    (tmp_path / "old.yaml").write_text("old\n")
    (tmp_path / ".new.yaml.tx-1-1.cpqtmp").write_text("new\n")
    journal = {
        "version": 1,
        "state": "commit",
        "files": [{"tmp": ".new.yaml.tx-1-1.cpqtmp", "target": "new.yaml"}],
        "deleted": ["old.yaml"],
    }
    (tmp_path / ".cpq/journal.json").write_text(json.dumps(journal))
    done = Store(tmp_path).recover()
    assert done is not None and done.completed and set(done.files) == {"new.yaml", "old.yaml"}
    assert (tmp_path / "new.yaml").read_text() == "new\n" and not (tmp_path / "old.yaml").exists()


def test_recovery_rolls_back_a_staged_deletion_and_never_deletes_outside_the_data(tmp_path):
    from cpqctl.store import Store

    (tmp_path / ".cpq").mkdir()
    (tmp_path / "old.yaml").write_text("old\n")
    (tmp_path / "cpq.toml").write_text("x\n")
    staging = {"version": 1, "state": "staging", "files": [], "deleted": ["old.yaml"]}
    (tmp_path / ".cpq/journal.json").write_text(json.dumps(staging))
    Store(tmp_path).recover()
    assert (tmp_path / "old.yaml").exists()
    forged = {"version": 1, "state": "commit", "files": [], "deleted": ["cpq.toml"]}
    (tmp_path / ".cpq/journal.json").write_text(json.dumps(forged))
    Store(tmp_path).recover()
    assert (tmp_path / "cpq.toml").exists() and not (tmp_path / ".cpq/journal.json").exists()


# --------------------------------------------------------------------------- one account's files


def _scenario(cli, root: Path) -> list[tuple[int, str, str]]:
    """Renumberings and refusals as a team meets them, on the example repository: a draft quote, an accepted one and
    its contract, a renewed contract, a contract with invoices, and IDs taken in another account's files."""
    out = []

    def go(*args: str) -> None:
        r = run(cli, root, *args)
        out.append((r.code, r.stdout.replace(str(root), "ROOT"), r.stderr.replace(str(root), "ROOT")))

    draft = new_quote(cli, root, "PRO-SEAT=5")
    go("renumber", draft, "Q-2026-0101", "--reason", REASON, "--format", "json")
    accepted = new_quote(cli, root)
    accept(cli, root, accepted)
    go("renumber", accepted, "Q-2026-0301", "--reason", REASON, "--dry-run", "--format", "json")
    go("renumber", accepted, "Q-2026-0301", "--reason", REASON)
    go("renumber", "C-2027-0001", "C-2027-0901", "--reason", REASON, "--format", "json")
    go("renumber", "C-2025-0003", "C-2025-0099", "--reason", REASON)  # renewed: its successor follows
    go("renumber", "C-2027-0901", "C-2025-0099", "--reason", REASON)  # taken by initech's contract
    go("renumber", "C-2027-0901", "C-2026-0002", "--reason", REASON)  # taken in another account's folder
    go("renumber", "Q-2026-0101", "Q-2026-0301", "--reason", REASON)  # taken by a quote
    go("renumber", "C-2027-09O1", "C-2027-0902", "--reason", REASON)  # unknown: the closest suggested
    assert run(cli, root, "invoice", "run").code == 0
    invoice = sorted(p.stem for p in (root / "invoices").glob("*.yaml"))[0]
    go("renumber", invoice, "INV-9999-0001", "--reason", REASON)  # an invoice number
    go("renumber", "C-2027-0001", invoice, "--reason", REASON)  # unknown OLD
    go("renumber", "C-2026-0001", "C-2026-0901", "--reason", REASON)  # billed
    go("renumber", "C-2027-0901", invoice, "--reason", REASON)  # taken by an invoice
    return out


def test_a_renumbering_reads_one_account_and_writes_what_the_whole_repository_path_writes(
    cli, example_repo, tmp_path, monkeypatch
):
    import shutil

    from cpqctl.app.workspace import Workspace
    from cpqctl.load import repo as loader

    whole = Path(shutil.copytree(example_repo, tmp_path / "whole", ignore=shutil.ignore_patterns(".cpq")))
    loaded: list[str] = []
    parts = loader.load_account_parts
    monkeypatch.setattr(
        loader, "load_account_parts", lambda root, acct, *m: loaded.append(acct) or parts(root, acct, *m)
    )
    a = _scenario(cli, example_repo)
    assert "initech" in loaded and "acme" in loaded
    monkeypatch.setattr(
        Workspace, "writing_account", lambda self, account, tolerate=frozenset(), **_: self.writing(tolerate)
    )
    b = _scenario(cli, whole)
    assert a == b
    assert [x[0] for x in a] == [0, 0, 0, 0, 0, 1, 1, 1, 2, 1, 2, 1, 1]
    assert "E-DUPLICATE-ID" in a[6][2] and "/C-2026-0002.yaml)" in a[6][2]  # found by its file's name
    assert snapshot(example_repo) == snapshot(whole)
    check_clean(cli, example_repo)
