"""`check` re-checks only what changed (issue 21): a part of the repository whose files are all as an earlier check
saw them is answered from what that check found in it (:class:`cpqctl.app.check_parts.PartMemo`), and only the
parts with a changed file are read again. Every kind of change to every kind of file is seen: after each, the
check's output is the one a check of a fresh copy (nothing remembered, the whole repository at once) prints, and
the parts read again are those the change touched.

On bench/gen.py's 60 accounts in parts of 40 files (``CPQ_CHUNK_FILES``), with one quote and a few payments."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import age, copy_repo

SMALL = "40"
WHOLE = "100000000"
DAY = "2026-12-31"


@pytest.fixture
def parts_read(monkeypatch) -> list[int]:
    """How many parts each check read (and remembered) again."""
    from cpqctl.app.check_parts import PartMemo

    real = PartMemo.store
    got = [0]

    def counted(self, files, entry):
        got[0] += 1
        return real(self, files, entry)

    monkeypatch.setattr(PartMemo, "store", counted)
    return got


def _check(cli, root: Path, size: str = SMALL) -> tuple[int, str]:
    r = cli("check", "--format", "json", "--repo", root, "--as-of", DAY, env={"CPQ_CHUNK_FILES": size})
    assert "Traceback" not in r.stderr
    return r.code, r.stdout


def _fresh(cli, root: Path, tmp_path: Path) -> tuple[int, str]:
    """The check of a copy with nothing remembered, the whole repository at once."""
    other = copy_repo(root, tmp_path / "fresh")
    got = _check(cli, other, WHOLE)
    shutil.rmtree(other)
    return got


def _payment(root: Path, ident: str, account: str, bank: str) -> None:
    folder = root / "payments" / "2026-11"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{ident}.yaml").write_text(
        f"payment: {ident}\ndate: 2026-11-20\naccount: {account}\namount: 10.00\ncurrency: PLN\npayer: X\n"
        f"imported: {bank}\n",
        encoding="utf-8",
    )


def _same_size_and_mtime(path: Path, old: str, new: str) -> None:
    """Rewrite ``path`` with ``old`` replaced by ``new`` (as long), its size and mtime kept: only its ctime shows."""
    st = path.stat()
    text = path.read_text(encoding="utf-8")
    assert len(old) == len(new) and old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def edit_account(root: Path) -> None:
    f = root / "contracts" / "acct-00007" / "account.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("\ncurrency: ", "\ncurrency: X", 1), encoding="utf-8")


def edit_contract_same_size_and_mtime(root: Path) -> None:
    c = sorted((root / "contracts" / "acct-00011").glob("C-*.yaml"))[0]
    _same_size_and_mtime(c, "PRO-SEAT", "PRO-SEAX")


def delete_invoice(root: Path) -> None:
    invoices = sorted((root / "invoices").glob("INV-*.yaml"))
    invoices[len(invoices) // 2].unlink()  # a gap in the series: E-INVOICE-GAP, a rule over every part


def rename_invoice(root: Path) -> None:
    invoices = sorted((root / "invoices").glob("INV-*.yaml"))
    f = invoices[len(invoices) // 3]
    f.rename(f.with_name(f.stem + "0.yaml"))


def add_payment_twice_imported(root: Path) -> None:
    _payment(root, "PAY-2026-9001", "acct-00003", "camt053 S1 E1")
    _payment(root, "PAY-2026-9002", "acct-00052", "camt053 S1 E1")


def edit_quote(root: Path) -> None:
    q = sorted((root / "quotes").glob("*.yaml"))[0]
    q.write_text(q.read_text(encoding="utf-8").replace("PRO-SEAT", "NO-SUCH-PRODUCT", 1), encoding="utf-8")


def edit_catalog(root: Path) -> None:
    f = sorted((root / "catalog").glob("*.yaml"))[0]
    f.write_text(f.read_text(encoding="utf-8").replace("requires: [PRO-SEAT]", "requires: [NOPE]", 1), "utf-8")


def edit_settings(root: Path) -> None:
    f = root / "cpq.toml"
    f.write_text(f.read_text(encoding="utf-8").replace('tax_id = "PL7251234561"', 'tax_id = ""'), encoding="utf-8")


def add_account(root: Path) -> None:
    folder = root / "contracts" / "acct-09999"
    folder.mkdir()
    text = (root / "contracts" / "acct-00002" / "account.yaml").read_text(encoding="utf-8")
    text = re.sub(r"\ntax_id: \S+", "\ntax_id: PL1234567890", text.replace("acct-00002", "acct-09999"))
    (folder / "account.yaml").write_text(text, encoding="utf-8")


def stray_file(root: Path) -> None:
    (root / "contracts" / "acct-00040" / "draft copy.yaml").write_text("a: note\n", encoding="utf-8")


# (change, how many parts at most are read again: None = any)
CHANGES = [
    (edit_account, 1),
    (edit_contract_same_size_and_mtime, 1),
    (delete_invoice, None),
    (rename_invoice, None),
    (add_payment_twice_imported, None),
    (edit_quote, 1),
    (edit_catalog, None),
    (edit_settings, None),
    (add_account, None),
    (stray_file, None),
]


@pytest.mark.parametrize(("change", "most"), CHANGES, ids=lambda c: getattr(c, "__name__", str(c)))
def test_a_change_is_re_checked_and_the_rest_answered_as_before(generated, tmp_path, cli, parts_read, change, most):
    root = copy_repo(generated, tmp_path / "repo")
    r = cli("quote", "new", "--account", "acct-00005", "--start", "2027-01-01", "-l", "PRO-SEAT=3",
            "--repo", root, "--as-of", "2026-12-05")  # fmt: skip
    assert r.code == 0, r.stderr
    age(root)
    time.sleep(2.1)  # the files' ctimes too: a file changed within 2 s of a check is never remembered
    first = _check(cli, root)
    everything = parts_read[0]
    assert everything > 3  # the repository in parts, each remembered
    parts_read[0] = 0
    (root / ".cpq" / "cache" / "check.json").unlink()  # the whole answer forgotten: the parts answer
    assert _check(cli, root) == first and parts_read[0] == 0  # nothing changed: no part read again

    change(root)
    got = _check(cli, root)
    assert got == _fresh(cli, root, tmp_path)
    assert got != first  # the change shows
    if most is not None:
        assert parts_read[0] <= most, parts_read[0]


def test_a_part_memo_of_other_files_is_never_taken(generated, tmp_path, cli, parts_read) -> None:
    """A part's entry is keyed by its files' paths and states: a copy of the repository (new inodes, new ctimes)
    reads every part again."""
    root = copy_repo(generated, tmp_path / "repo")
    age(root)
    time.sleep(2.1)
    first = _check(cli, root)
    other = tmp_path / "copy"
    shutil.copytree(root, other)  # .cpq/ copied with it
    (other / ".cpq" / "cache" / "check.json").unlink()
    parts_read[0] = 0
    assert _check(cli, other) == first
    assert parts_read[0] > 3
    assert re.search(r"check-parts", " ".join(os.listdir(other / ".cpq" / "cache")))


def test_a_part_answered_from_memory_still_asks_what_it_names_elsewhere(generated, tmp_path, cli, parts_read):
    """A contract naming a quote no file defines is the same unknown in its part as in the whole; once another
    account's quote file defines it, the part kept from before (its files unchanged) no longer stands for the whole
    check: what it names outside itself is asked again of the files there now, and the whole check answers."""
    root = copy_repo(generated, tmp_path / "repo")
    c = sorted((root / "contracts" / "acct-00011").glob("C-*.yaml"))[0]
    text = c.read_text(encoding="utf-8")
    c.write_text(re.sub(r"\nquote: \S+", "", text).replace("\naccount: ", "\nquote: Q-2026-99999\naccount: ", 1))
    age(root)
    time.sleep(2.1)
    first = _check(cli, root)
    assert "Q-2026-99999" in first[1]
    r = cli("quote", "new", "--account", "acct-00050", "--start", "2027-01-01", "-l", "PRO-SEAT=3",
            "--repo", root, "--as-of", "2026-12-05")  # fmt: skip
    written = root / re.search(r"wrote (quotes/\S+\.yaml)", r.stderr).group(1)
    written.rename(root / "quotes" / "Q-2026-99999.yaml")
    q = root / "quotes" / "Q-2026-99999.yaml"
    q.write_text(re.sub(r"^quote: \S+", "quote: Q-2026-99999", q.read_text(encoding="utf-8"), flags=re.M))
    parts_read[0] = 0
    got = _check(cli, root)
    assert got == _fresh(cli, root, tmp_path) and got != first


def _remembered_once(generated, tmp_path, cli) -> tuple[Path, tuple[int, str]]:
    root = copy_repo(generated, tmp_path / "repo")
    age(root)
    time.sleep(2.1)
    return root, _check(cli, root)


def test_cpq_toml_saved_while_the_check_plans_is_never_taken_for_the_new_state(
    generated, tmp_path, cli, monkeypatch
) -> None:
    """The state of cpq.toml and the folders around the parts is taken before the plan reads them: a save while a
    check runs makes the next check read the parts again, never answer them with findings of the old settings."""
    from cpqctl.load import parts

    root = copy_repo(generated, tmp_path / "repo")
    age(root)
    time.sleep(2.1)
    real = parts.plan

    def saved_meanwhile(where):
        got = real(where)
        toml = where / "cpq.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace("[company]\n", '[company]\ncountry = "DE"\n', 1))
        return got

    monkeypatch.setattr(parts, "plan", saved_meanwhile)
    _check(cli, root)
    monkeypatch.setattr(parts, "plan", real)
    time.sleep(2.1)
    (root / ".cpq" / "cache" / "check.json").unlink()
    got = _check(cli, root)
    assert got == _fresh(cli, root, tmp_path) and got[0] == 1  # the new settings' errors


@pytest.mark.parametrize("damage", ["a fact", "brackets", "one byte"])
def test_a_damaged_part_entry_is_a_miss_never_a_crash_nor_an_answer(generated, tmp_path, cli, damage) -> None:
    root, first = _remembered_once(generated, tmp_path, cli)
    folder = root / ".cpq" / "cache" / "check-parts"
    entries = sorted(folder.glob("*.json"))
    assert len(entries) > 3
    for entry in entries:
        raw = entry.read_bytes()
        if damage == "a fact":  # an invoice number one digit off: still JSON, still the same length
            raw = re.sub(rb"INV-(\d{4})-(\d{5})", lambda m: b"INV-" + m[1] + b"-" + m[2][:-1] + b"9", raw, count=1)
        elif damage == "brackets":
            raw = raw.split(b"\n", 1)[0] + b"\n" + b"[" * 200_000
        else:
            raw = raw[:-20] + bytes([raw[-20] ^ 1]) + raw[-19:]
        entry.write_bytes(raw)
    (root / ".cpq" / "cache" / "check.json").unlink()
    assert _check(cli, root) == first


def test_part_entries_do_not_pile_up_while_the_whole_check_answers(generated, tmp_path, cli) -> None:
    """A repository with an error is checked whole after its parts are read; each check keeps only the entries of
    the parts it read, so new states do not add up."""
    root, _ = _remembered_once(generated, tmp_path, cli)
    last = sorted((root / "contracts").iterdir())[-1]
    c = sorted(last.glob("C-*.yaml"))[0]
    c.write_text(c.read_text(encoding="utf-8").replace("\naccount: ", "\naccount: acct-nobody\nx: ", 1))
    counts = []
    for n in range(4):
        mine = sorted((root / "contracts" / "acct-00001").glob("C-*.yaml"))[0]
        text = mine.read_text(encoding="utf-8")
        (mine.parent / f"C-2026-9{n:04d}.yaml").write_text(text.replace(mine.stem, f"C-2026-9{n:04d}"))
        time.sleep(2.1)
        (root / ".cpq" / "cache" / "check.json").unlink(missing_ok=True)
        assert _check(cli, root)[0] == 1
        counts.append(len(list((root / ".cpq" / "cache" / "check-parts").glob("*.json"))))
    assert max(counts) <= counts[0] + 1, counts
