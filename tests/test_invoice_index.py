"""`invoice preview` reads one contract's files only (SPEC §8), through the invoice routing index."""

from __future__ import annotations

import json
import os
import shutil

from cpqctl.load import invoice_index
from cpqctl.load.invoice_index import INDEX, contract_in, invoice_files_of


def _age(path, seconds=10):
    """Date a file back, so the index may keep it (a file changed in the last 2 s is always re-read)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 1_000_000_000))


def _invoiced(cli, root, through="2026-03-31"):
    """One run on ``through``: every invoice of the example due by then, dated that day and numbered in date, then
    contract order — INV-2026-0001 Initech's, 0002 ACME's, 0003 and 0004 Umbrella's (C-2026-0002), 0005 Globex's."""
    assert cli("invoice", "run", "--through", through, "--as-of", through, "--repo", root).code == 0
    for p in (root / "invoices").iterdir():
        _age(p)
    _age(root / "invoices")


def test_contract_line_is_read_without_parsing(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("invoice: INV-1\naccount: acme\ncontract: C-2026-0001  # note\nlines: []\n", encoding="utf-8")
    assert contract_in(str(p)) == "C-2026-0001"
    p.write_text('invoice: INV-1\ncontract: "C-2026-0001"\n', encoding="utf-8")  # quoted: cannot tell
    assert contract_in(str(p)) is None
    p.write_text("invoice: INV-1\ncontract: C-1\ncontract: C-2\n", encoding="utf-8")  # twice: cannot tell
    assert contract_in(str(p)) is None


def test_files_of_a_contract_and_the_index_is_reused(example_repo, cli, monkeypatch):
    _invoiced(cli, example_repo)
    assert invoice_files_of(example_repo, "C-2026-0002") == [
        ("invoices/INV-2026-0003.yaml", "invoice"),
        ("invoices/INV-2026-0004.yaml", "invoice"),
    ]
    index = json.loads((example_repo / INDEX).read_text())
    assert index["files"]["INV-2026-0005.yaml"][2] == "C-2026-0003"
    reads = []
    monkeypatch.setattr(invoice_index, "contract_in", lambda path: reads.append(path) or None)
    assert len(invoice_files_of(example_repo, "C-2026-0003")) == 1
    assert reads == []  # every file answered from the index


def test_a_changed_file_is_read_again(example_repo, cli):
    _invoiced(cli, example_repo)
    invoice_files_of(example_repo, "C-2026-0001")
    p = example_repo / "invoices" / "INV-2026-0005.yaml"
    tmp = p.with_suffix(".tmp")  # replaced by rename, as cpqctl and most editors save
    tmp.write_text(p.read_text().replace("contract: C-2026-0003", "contract: C-2026-0001"))
    tmp.replace(p)
    _age(p, 5)
    assert ("invoices/INV-2026-0005.yaml", "invoice") in invoice_files_of(example_repo, "C-2026-0001")


def test_an_unchanged_folder_is_not_even_statted(example_repo, cli, monkeypatch):
    _invoiced(cli, example_repo)
    invoice_files_of(example_repo, "C-2026-0001")  # indexes every file and the folder's mtime
    assert json.loads((example_repo / INDEX).read_text())["folder_mtime_ns"] is not None
    scans = []
    real = os.scandir
    monkeypatch.setattr(os, "scandir", lambda *a: scans.append(a) or real(*a))
    assert invoice_files_of(example_repo, "C-2026-0002") == [
        ("invoices/INV-2026-0003.yaml", "invoice"),
        ("invoices/INV-2026-0004.yaml", "invoice"),
    ]
    assert scans == []
    # a new invoice changes the folder's mtime: it is found
    (example_repo / "invoices" / "INV-2026-0099.yaml").write_text(
        "invoice: INV-2026-0099\naccount: umbrella\ncontract: C-2026-0002\n", encoding="utf-8"
    )
    assert ("invoices/INV-2026-0099.yaml", "invoice") in invoice_files_of(example_repo, "C-2026-0002")
    assert scans


def test_a_damaged_index_is_rebuilt(example_repo, cli):
    _invoiced(cli, example_repo)
    (example_repo / ".cpq" / "cache").mkdir(parents=True, exist_ok=True)
    for junk in (
        b"\x00not json",
        b'{"format": 2, "folder_mtime_ns": null, "files": {"INV-2026-0005.yaml": "x"}}',
        b'{"format": 2, "files": {}}',
        b'{"format": 1, "files": {}}',
        b"[]",
    ):
        (example_repo / INDEX).write_bytes(junk)
        shutil.rmtree(example_repo / invoice_index.BY_CONTRACT, ignore_errors=True)  # the index by contract too
        assert invoice_files_of(example_repo, "C-2026-0003") == [("invoices/INV-2026-0005.yaml", "invoice")]
        assert json.loads((example_repo / INDEX).read_text())["format"] == invoice_index.FORMAT


def test_a_contract_reads_its_bucket_and_a_damaged_one_is_not_trusted(example_repo, cli):
    """The index by contract: one small file answers; a damaged or stale one falls back to the whole index."""
    _invoiced(cli, example_repo)
    want = [("invoices/INV-2026-0005.yaml", "invoice")]
    assert invoice_files_of(example_repo, "C-2026-0003") == want
    bucket = example_repo / invoice_index.BY_CONTRACT / f"{invoice_index._bucket_of('C-2026-0003'):02x}.json"
    assert bucket.is_file()
    (example_repo / INDEX).unlink()  # the bucket alone answers while the folder is unchanged
    assert invoice_files_of(example_repo, "C-2026-0003") == want
    record = json.loads(bucket.read_text())
    for junk in (
        {**record, "contracts": {"C-2026-0003": ["INV-2026-0001.yaml"]}, "folder_mtime_ns": 1},  # stale
        {**record, "contracts": {"C-2026-0003": [3]}},  # damaged
        {**record, "unknown": "x"},
    ):
        bucket.write_text(json.dumps(junk))
        assert invoice_files_of(example_repo, "C-2026-0003") == want
    # a new invoice of the contract: the folder changed, the buckets are made again
    assert cli("invoice", "run", "--through", "2027-03-31", "--as-of", "2027-03-31", "--repo", example_repo).code == 0
    mine = [n for n, _ in invoice_files_of(example_repo, "C-2026-0003")]
    assert len(mine) > 1 and mine == sorted(
        f"invoices/{f.name}"
        for f in (example_repo / "invoices").glob("*.yaml")
        if "contract: C-2026-0003\n" in f.read_text()
    )


def test_preview_does_not_read_other_accounts(example_repo, cli):
    _invoiced(cli, example_repo)
    before = cli("invoice", "preview", "C-2026-0001", "--as-of", "2026-04-10", "-f", "json", "--repo", example_repo)
    assert before.code == 0, before.stderr
    # break every file that is not C-2026-0001's: the preview does not notice
    (example_repo / "contracts" / "globex" / "account.yaml").write_text("account: [broken\n", encoding="utf-8")
    (example_repo / "invoices" / "INV-2026-0005.yaml").write_text(
        "invoice: INV-2026-0005\ncontract: C-2026-0003\nlines: [broken\n", encoding="utf-8"
    )
    after = cli("invoice", "preview", "C-2026-0001", "--as-of", "2026-04-10", "-f", "json", "--repo", example_repo)
    assert after.code == 0, after.stderr
    assert after.stdout == before.stdout
    # an unknown contract still gets a did-you-mean (the whole repo is loaded for the suggestion)
    miss = cli("invoice", "preview", "C-2026-0010", "--repo", example_repo)
    assert miss.code == 2 and "did you mean `C-2026-00" in miss.stderr


def test_preview_still_counts_the_contracts_invoices(example_repo, cli):
    """With the invoices of March issued, the next invoice of the quarterly C-2026-0001 is 04-01's."""
    _invoiced(cli, example_repo)
    run = cli("invoice", "preview", "C-2026-0001", "--as-of", "2026-03-31", "-f", "json", "--repo", example_repo)
    data = json.loads(run.stdout)
    assert data["invoices"][0]["date"] == "2026-04-01"


def test_contract_account_is_remembered_and_checked(example_repo, tmp_path):
    from cpqctl.load.invoice_index import ACCOUNTS, account_of

    assert account_of(example_repo, "C-2026-0003") == "globex"
    assert json.loads((example_repo / ACCOUNTS).read_text()) == {"C-2026-0003": "globex"}
    # moved to another folder: the remembered one is checked, and the new place found
    (example_repo / "contracts" / "acme" / "C-2026-0003.yaml").write_bytes(
        (example_repo / "contracts" / "globex" / "C-2026-0003.yaml").read_bytes()
    )
    (example_repo / "contracts" / "globex" / "C-2026-0003.yaml").unlink()
    assert account_of(example_repo, "C-2026-0003") == "acme"
    assert account_of(example_repo, "C-2099-0001") is None
    (example_repo / ACCOUNTS).write_bytes(b"[1, 2")  # damaged: ignored
    assert account_of(example_repo, "C-2026-0001") == "acme"


def test_the_index_on_file_follows_every_change_of_the_folder(example_repo, cli):
    """A new, changed or deleted invoice file: the index written back holds the folder as it is, entry for entry
    (what a later command takes without reading a file)."""
    _invoiced(cli, example_repo)
    folder = example_repo / "invoices"

    def settled():
        for p in folder.iterdir():
            _age(p, 30)
        _age(folder, 30)
        invoice_index.owners(example_repo)
        index = json.loads((example_repo / INDEX).read_text())
        listed = {p.name: p for p in folder.glob("*.yaml")}
        assert set(index["files"]) == set(listed)
        for name, (size, mtime, owner) in index["files"].items():
            st = listed[name].stat()
            assert (size, mtime, owner) == (st.st_size, st.st_mtime_ns, contract_in(str(listed[name])))
        return index

    first = settled()
    (folder / "INV-2026-0099.yaml").write_text("invoice: INV-2026-0099\ncontract: C-2026-0002\n", encoding="utf-8")
    assert "INV-2026-0099.yaml" in settled()["files"]
    (folder / "INV-2026-0099.yaml").write_text("invoice: INV-2026-0099\ncontract: C-2026-0003\n", encoding="utf-8")
    assert settled()["files"]["INV-2026-0099.yaml"][2] == "C-2026-0003"
    (folder / "INV-2026-0099.yaml").unlink()
    assert settled()["files"].keys() == first["files"].keys()
