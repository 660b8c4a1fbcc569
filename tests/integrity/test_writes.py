"""Issue #13, "every writer produces parsed, validated output": each finding reproduced, then the fix shown.

- `quote accept` appended the amendment to the contract file as raw text: a ledger without a final
  newline, with a trailing comment, written `amendments: []` or indented by 4 spaces became broken
  YAML (exit 0, and every later write blocked). `--lock-prices` did the same to account.yaml. The
  entry is now added as data (cpqctl/formats/yamledit.py), in the file's own layout; a cpqctl-written
  file keeps every existing byte.
- The YAML writer emitted DEL raw (the file no longer parsed) and NEL became a space on reload.
- `quote new` wrote its file and then failed on a huge `quote_valid_days`; a numbering pattern with a
  space or `/` wrote a file that blocked every later write. Both are refused at load, positioned in
  cpq.toml, before anything is written.
- Staged validation: every commit is parsed, schema-checked and cross-checked on the state it would
  leave before a byte is written; a write that would leave an error is refused (E-WRITE-INVALID).
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cpqctl.app.amend import amend
from cpqctl.app.quotes import accept_quote, new_quote
from cpqctl.app.workspace import Workspace
from cpqctl.core.amendments import Change
from cpqctl.core.diagnostics import CpqError, UsageError

AS_OF = date(2026, 11, 28)
CONTRACT = "contracts/acme/C-2026-0001.yaml"
ACCOUNT = "contracts/acme/account.yaml"


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.parts
    }


def errors(ws: Workspace) -> list:
    return [d for d in ws.check() if d.severity == "error"]


def _four_spaces(text: str) -> str:
    head, ledger = text.split("amendments:\n")
    return (
        head
        + "amendments:\n"
        + "".join(
            ln.replace("  ", "    ", 1) + "\n" if ln.startswith("  ") else ln + "\n" for ln in ledger.splitlines()
        )
    )


LEDGER_LAYOUTS = {
    # every one of these passes `check` before the accept
    "no final newline": lambda t: t.rstrip("\n"),
    "trailing comment, no final newline": lambda t: t + "# reviewed by legal",
    "trailing comment": lambda t: t + "# reviewed by legal\n",
    "4-space indentation": _four_spaces,
    "CRLF line ends": lambda t: t.replace("\n", "\r\n"),
}
KEEPS_EVERY_BYTE = {"trailing comment", "4-space indentation", "CRLF line ends"}


def _amend_and_accept(ws: Workspace):
    amend(ws, "C-2026-0001", effective=date(2026, 12, 1), changes=[Change("add", "PRO-SEAT", Decimal(5))])
    return accept_quote(ws, "Q-2026-0001", signed_by="Anna Nowak")


@pytest.mark.parametrize("layout", LEDGER_LAYOUTS)
def test_an_amendment_is_added_to_a_ledger_in_any_valid_layout(example_repo, layout):
    path = example_repo / CONTRACT
    old = LEDGER_LAYOUTS[layout](path.read_bytes().decode("utf-8"))
    path.write_bytes(old.encode("utf-8"))
    ws = Workspace.open(example_repo, as_of=AS_OF)
    assert errors(ws) == []  # the hand-edited ledger is valid
    done = _amend_and_accept(ws)
    assert done.amendment == "A-3"
    # before: the appended text ran into the last line (or went under the comment's indentation): broken YAML
    assert errors(ws) == []
    contract = ws.read().contracts["C-2026-0001"]
    assert [a.amendment for a in contract.amendments] == ["A-1", "A-2", "A-3"]
    a3 = contract.amendments[-1]
    assert (a3.effective, a3.signed.by) == (date(2026, 12, 1), "Anna Nowak")
    assert [(ln.product, ln.quantity, ln.unit_price) for ln in a3.lines] == [
        ("PRO-SEAT", Decimal(5), Decimal("1080.00"))
    ]
    new = path.read_bytes().decode("utf-8")
    if layout in KEEPS_EVERY_BYTE:
        assert new.startswith(old)  # every existing line byte-identical


@pytest.mark.parametrize(
    "ledger",
    ["amendments: []\n", "amendments: []  # none yet\n", ""],
    ids=["empty flow list", "empty flow list and comment", "no ledger"],
)
def test_the_first_amendment_turns_an_empty_ledger_into_a_list(example_repo, ledger):
    path = example_repo / CONTRACT
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("amendments:")] + ledger, encoding="utf-8")
    ws = Workspace.open(example_repo, as_of=AS_OF)
    assert errors(ws) == []
    amend(ws, "C-2026-0001", effective=date(2026, 12, 1), changes=[Change("add", "PRO-SEAT", Decimal(5))])
    assert accept_quote(ws, "Q-2026-0001", signed_by="Anna Nowak").amendment == "A-1"
    assert errors(ws) == []  # before: a second `amendments:` key (E-DUPLICATE-KEY)
    assert [a.amendment for a in ws.read().contracts["C-2026-0001"].amendments] == ["A-1"]


def test_a_cpqctl_written_ledger_keeps_every_byte_and_gets_the_canonical_entry(example_repo):
    path = example_repo / CONTRACT
    old = path.read_bytes()
    ws = Workspace.open(example_repo, as_of=AS_OF)
    _amend_and_accept(ws)
    new = path.read_bytes()
    assert new.startswith(old)
    added = new[len(old) :].decode("utf-8")
    assert added.startswith("  - amendment: A-3\n    quote: Q-2026-0001\n")
    assert ("\n" + added).count("\n  - ") == 1 and "\n    effective: " in added  # one entry, canonical indentation
    assert "    effective: 2026-12-01\n    signed: {by: Anna Nowak, date: 2026-11-28}\n" in added
    assert added.endswith(
        "    lines:\n      - {product: PRO-SEAT, quantity: 5, list_price: 1200.00, unit_price: 1080.00, per: year, "
        "start: 2026-12-01, end: 2026-12-31}\n"
    )


def test_a_ledger_in_flow_style_takes_the_entry_in_flow_style(example_repo):
    path = example_repo / "contracts/globex/C-2026-0003.yaml"
    text = path.read_text(encoding="utf-8")
    head = text[: text.index("amendments:")]
    path.write_text(
        head + "amendments: [{amendment: A-1, effective: 2026-09-01, signed: {by: Katrin Vogel, date: 2026-08-27}, "
        "lines: [{product: PRO-SEAT, quantity: -5, list_price: 280.00, unit_price: 252.00, per: year, "
        "start: 2026-09-01, end: 2028-02-29}]}]\n",
        encoding="utf-8",
    )
    ws = Workspace.open(example_repo, as_of=AS_OF)
    assert errors(ws) == []
    amend(ws, "C-2026-0003", effective=date(2026, 12, 1), changes=[Change("add", "AUDIT-LOG", Decimal(1))])
    assert accept_quote(ws, "Q-2026-0001", signed_by="Katrin Vogel").amendment == "A-2"
    assert errors(ws) == []
    assert [a.amendment for a in ws.read().contracts["C-2026-0003"].amendments] == ["A-1", "A-2"]


def test_a_ledger_that_is_not_a_list_is_refused_and_nothing_changes():
    from cpqctl.formats.yamledit import append_items
    from cpqctl.formats.yamlout import Pairs

    with pytest.raises(CpqError) as e:
        append_items("contract: C-1\namendments: {a: 1}\n", "amendments", [Pairs([("amendment", "A-1")])], "c.yaml")
    assert e.value.code == "E-WRITE-LAYOUT" and "c.yaml" in e.value.message
    with pytest.raises(CpqError) as e:
        append_items("{contract: C-1}\n", "amendments", [Pairs([("amendment", "A-1")])], "c.yaml")
    assert e.value.code == "E-WRITE-LAYOUT"


ACCOUNT_LAYOUTS = {
    "no final newline": lambda t: t.rstrip("\n"),
    "trailing comment, no final newline": lambda t: t + "# negotiated 2025",
    "empty flow list": lambda t: t[: t.index("contracted_prices:")] + "contracted_prices: []\n",
    "4-space indentation": lambda t: t.replace("\n  - {product: SSO", "\n    - {product: SSO").replace(
        "\n  - {family", "\n    - {family"
    ),
    "no block": lambda t: t[: t.index("contracted_prices:")],
    "block not last": lambda t: (
        t.replace("renewal: {pricing: uplift, uplift: 5%}\n", "") + "renewal: {pricing: uplift}\n"
    ),
}


@pytest.mark.parametrize("layout", ACCOUNT_LAYOUTS)
def test_lock_prices_adds_to_contracted_prices_in_any_valid_layout(example_repo, layout):
    path = example_repo / ACCOUNT
    old = ACCOUNT_LAYOUTS[layout](path.read_text(encoding="utf-8"))
    path.write_text(old, encoding="utf-8")
    ws = Workspace.open(example_repo, as_of=AS_OF)
    assert errors(ws) == []
    before = ws.read().accounts["acme"].contracted_prices
    new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=50"])
    accept_quote(ws, "Q-2026-0001", signed_by="Anna Nowak", lock_prices=True)
    assert errors(ws) == []  # before: broken YAML in account.yaml, exit 0, every later write blocked
    after = ws.read().accounts["acme"].contracted_prices
    assert after[: len(before)] == before and len(after) == len(before) + 1
    assert (after[-1].product, after[-1].price) == ("PRO-SEAT", Decimal("1080.00"))


def test_lock_prices_keeps_a_cpqctl_written_account_byte_identical(example_repo):
    path = example_repo / ACCOUNT
    old = path.read_bytes()
    ws = Workspace.open(example_repo, as_of=AS_OF)
    new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=50"])
    accept_quote(ws, "Q-2026-0001", signed_by="Anna Nowak", lock_prices=True)
    assert path.read_bytes() == old + b"  - {product: PRO-SEAT, price: 1080.00, from: 2027-01-01, until: 2027-12-31}\n"


# --------------------------------------------------------------------------- the YAML writer


@pytest.mark.parametrize(
    "signer",
    [
        "Anna\x7fNowak",
        "Anna\x85Nowak",
        "Anna\u2028Nowak",
        "\ufeffAnna",
        "Anna\x00\x1b\x9f",
        "yes",
        "no",
        "on",
        "off",
        "123",
        "1.50",
        "2026-01-01",
        "  Anna  ",
        "# Anna",
        "Anna: CEO",
        'Anna "the" \\ Nowak',
        "x" * 5000,
    ],
)
def test_any_signer_text_is_written_and_loads_back_equal(example_repo, signer):
    ws = Workspace.open(example_repo, as_of=AS_OF)
    new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=5"])
    done = accept_quote(ws, "Q-2026-0001", signed_by=signer)
    # before: DEL was written raw (the files no longer parsed), NEL came back as a space
    assert errors(ws) == []
    repo = ws.read()
    assert repo.contracts[done.contract].signed.by == signer
    assert repo.quotes["Q-2026-0001"].signed.by == signer


def test_text_that_is_not_unicode_is_refused_before_anything_is_written(example_repo):
    ws = Workspace.open(example_repo, as_of=AS_OF)
    new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=5"])
    before = snapshot(example_repo)
    with pytest.raises(UsageError) as e:  # argv's undecodable bytes arrive as lone surrogates
        accept_quote(ws, "Q-2026-0001", signed_by="Anna \udcff")
    assert e.value.code == "E-TEXT"
    assert snapshot(example_repo) == before


# --------------------------------------------------------------------------- settings that made bad files


def _toml(root: Path, old: str, new: str) -> None:
    path = root / "cpq.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_huge_quote_valid_days_is_refused_before_quote_new_writes(example_repo, cli):
    _toml(example_repo, "quote_valid_days = 30", "quote_valid_days = 99999999")
    before = snapshot(example_repo)
    r = cli(
        "quote",
        "new",
        "--repo",
        example_repo,
        "--account",
        "acme",
        "--start",
        "2027-01-01",
        "--line",
        "PRO-SEAT=5",
        "--as-of",
        AS_OF,
    )
    # before: quotes/Q-2026-0001.yaml was written, then the command failed on the date overflow
    assert r.code == 1 and "cpq.toml:16:" in r.stderr and "quote_valid_days" in r.stderr
    assert snapshot(example_repo) == before


@pytest.mark.parametrize(
    "pattern, why",
    [
        ("Q {year}-{seq:04d}", "a space"),
        ("Q/{year}/{seq:04d}", "`/`"),
        ("Q-{month}-{seq:04d}", "{month} needs {year}"),
        ("Q-{day}-{seq:04d}", "`{day}` is not a placeholder"),
        ("Q-{year}", "{seq}"),
        ("Q-{seq:6d}", "zero-padded"),
        ("-{seq}", "starts with a letter or a digit"),
    ],
)
def test_a_numbering_pattern_that_makes_no_valid_id_is_a_positioned_error(example_repo, cli, pattern, why):
    _toml(example_repo, 'quote = "Q-{year}-{seq:04d}"', f'quote = "{pattern}"')
    r = cli("check", "--repo", example_repo, "--format", "json")
    import json

    found = [d for d in json.loads(r.stdout)["diagnostics"] if d["code"] == "E-NUMBERING"]
    assert len(found) == 1 and found[0]["file"] == "cpq.toml" and found[0]["line"] == 34
    assert why in found[0]["message"] and "{year} and {seq}" in found[0]["hint"]
    before = snapshot(example_repo)
    r = cli(
        "quote",
        "new",
        "--repo",
        example_repo,
        "--account",
        "acme",
        "--start",
        "2027-01-01",
        "--line",
        "PRO-SEAT=5",
        "--as-of",
        AS_OF,
    )
    # before: "Q 2026-0001.yaml" / "quotes/Q/2026/0001.yaml" was written and blocked every later write
    assert r.code == 1 and "E-NUMBERING" in r.stderr and "internal error" not in r.stderr
    assert snapshot(example_repo) == before


@pytest.mark.parametrize("pattern", ["{year}{seq:04d}", "Q.{seq}", "INV_{year}-{seq:d}", "q-{seq:09d}"])
def test_numbering_patterns_of_id_characters_stay_valid(example_repo, cli, pattern):
    _toml(example_repo, 'quote = "Q-{year}-{seq:04d}"', f'quote = "{pattern}"')
    r = cli(
        "quote",
        "new",
        "--repo",
        example_repo,
        "--account",
        "acme",
        "--start",
        "2027-01-01",
        "--line",
        "PRO-SEAT=5",
        "--as-of",
        AS_OF,
    )
    assert r.code == 0, r.stderr
    assert cli("check", "--repo", example_repo).code == 0


# --------------------------------------------------------------------------- staged validation


def test_a_write_whose_text_would_not_parse_is_refused_and_nothing_changes(example_repo, monkeypatch):
    import cpqctl.formats.quotes as texts

    draft = texts.draft_text
    monkeypatch.setattr(texts, "draft_text", lambda *a: draft(*a) + "lines: [\n")
    ws = Workspace.open(example_repo, as_of=AS_OF)
    before = snapshot(example_repo)
    with pytest.raises(CpqError) as e:
        new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=5"])
    assert e.value.code == "E-WRITE-INVALID"
    assert [(d.file, d.code) for d in e.value.diagnostics] == [("quotes/Q-2026-0001.yaml", "E-YAML")]
    assert snapshot(example_repo) == before and not (example_repo / "quotes").exists()


def test_a_write_that_fails_a_cross_file_check_is_refused_and_nothing_changes(example_repo, monkeypatch):
    import cpqctl.formats.quotes as texts

    ws = Workspace.open(example_repo, as_of=AS_OF)
    new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=5"])
    contract = texts.contract_text
    # the contract would name an account that does not exist: it parses, only the cross-file checks see it
    monkeypatch.setattr(
        texts, "contract_text", lambda *a, **k: contract(*a, **k).replace("account: acme", "account: nobody")
    )
    before = snapshot(example_repo)
    with pytest.raises(CpqError) as e:
        accept_quote(ws, "Q-2026-0001", signed_by="Anna Nowak", lock_prices=True)
    assert e.value.code == "E-WRITE-INVALID" and "nothing was written" in e.value.message
    assert any(d.code == "E-UNKNOWN-ACCOUNT" for d in e.value.diagnostics)
    # the accepted quote, the contract and account.yaml: all three or none
    assert snapshot(example_repo) == before


def test_an_amendment_entry_that_breaks_the_ledger_is_refused(example_repo, monkeypatch):
    import cpqctl.formats.quotes as texts

    monkeypatch.setattr(texts, "add_amendment", lambda text, *a, **k: text + "  - amendment: A-1\n")
    ws = Workspace.open(example_repo, as_of=AS_OF)
    amend(ws, "C-2026-0001", effective=date(2026, 12, 1), changes=[Change("add", "PRO-SEAT", Decimal(5))])
    before = snapshot(example_repo)
    with pytest.raises(CpqError) as e:
        accept_quote(ws, "Q-2026-0001", signed_by="Anna Nowak")
    assert e.value.code == "E-WRITE-INVALID"
    assert snapshot(example_repo) == before


def test_a_data_file_no_command_would_read_is_refused(example_repo):
    ws = Workspace.open(example_repo, as_of=AS_OF)
    before = snapshot(example_repo)
    with pytest.raises(CpqError) as e, ws.writing() as (store, _repo), store.transaction() as tx:
        tx.create("quotes/Q 2026/0001.yaml", "quote: Q-1\n")
    assert e.value.code == "E-WRITE-INVALID" and e.value.diagnostics[0].code == "E-FILE-NAME"
    assert snapshot(example_repo) == before


def test_the_validator_sees_the_staged_bytes_before_anything_is_written(tmp_path):
    from cpqctl.store import Store

    (tmp_path / "a.txt").write_text("old\n")
    store = Store(tmp_path)
    seen = {}

    def refuse(files):
        seen.update(files)
        assert not (tmp_path / "b.txt").exists() and (tmp_path / "a.txt").read_text() == "old\n"
        raise CpqError("E-WRITE-INVALID", "no")

    store.validator = refuse
    with pytest.raises(CpqError), store.lock(), store.transaction() as tx:
        tx.append("a.txt", "more\n")
        tx.create("b.txt", "new\n")
    assert seen == {"a.txt": b"old\nmore\n", "b.txt": b"new\n"}
    assert (tmp_path / "a.txt").read_text() == "old\n" and not (tmp_path / "b.txt").exists()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and ".cpq" not in p.parts) == ["a.txt"]
    assert not (tmp_path / ".cpq" / "journal.json").exists()


def test_each_commit_of_a_command_is_checked_on_the_state_the_earlier_ones_left(example_repo):
    ws = Workspace.open(example_repo, as_of=AS_OF)
    quote = (
        "quote: Q-9\nkind: new\nstatus: draft\naccount: newco\ndate: 2026-11-28\nstart: 2027-01-01\nterm: 12\n"
        "lines:\n  - {product: PRO-SEAT, quantity: 1}\n"
    )
    with ws.writing() as (store, _repo):
        with pytest.raises(CpqError) as e, store.transaction() as tx:  # no account newco (yet)
            tx.create("quotes/Q-9.yaml", quote)
        assert any(d.code == "E-UNKNOWN-ACCOUNT" for d in e.value.diagnostics)
        with store.transaction() as tx:
            tx.create("contracts/newco/account.yaml", "account: newco\nname: NewCo\ncurrency: PLN\n")
        with store.transaction() as tx:  # checked on the state the first commit left: newco exists now
            tx.create("quotes/Q-9.yaml", quote)
    assert errors(ws) == []


def test_spooled_bytes_are_written_by_the_commit_as_given(tmp_path) -> None:
    """A transaction may stage bytes that wait in an anonymous temporary file (an invoice run's thousands of PDFs):
    the commit writes them as given, the validator sees them, an append after such a create reads them back, and a
    refused commit writes none of them."""
    from cpqctl.store import Spool, Spooled, Store

    store = Store(tmp_path)
    seen: dict = {}
    store.validator = seen.update
    payloads = [bytes(range(256)) * 40, b"%PDF-1.7\n" + b"\x00" * 5000, b""]
    with Spool() as spool, store.lock():
        held = [spool.add(p) for p in payloads]
        with store.transaction() as tx:
            for n, h in enumerate(held):
                tx.create_bytes(f"invoices/doc-{n}.pdf", h)
            tx.create_bytes("invoices/log.txt", spool.add(b"first\n"))
            tx.append("invoices/log.txt", "second\n")
    for n, p in enumerate(payloads):
        assert (tmp_path / f"invoices/doc-{n}.pdf").read_bytes() == p
        assert seen[f"invoices/doc-{n}.pdf"] is held[n] and isinstance(held[n], Spooled)
    assert (tmp_path / "invoices/log.txt").read_bytes() == b"first\nsecond\n"

    def refuse(files):
        raise CpqError("E-TEST", "refused", "")

    store.validator = refuse
    with Spool() as spool, store.lock(), pytest.raises(CpqError), store.transaction() as tx:
        tx.create_bytes("invoices/refused.pdf", spool.add(b"never"))
    assert not (tmp_path / "invoices/refused.pdf").exists()
    assert not list(tmp_path.rglob("*.cpqtmp"))
