"""Documents for stdout (``output`` ``-``) from Python: the use case returns the bytes and writes nothing.

The application layer never prints: `quote render`, `invoice render`,
`account render` and `report board` with ``-o -`` get the rendered document
back as ``payload`` and the CLI writes it to stdout. The payload is the same
document the use case writes to a file (the board's charts inlined instead of
next to it), and the CLI prints exactly those bytes.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from cpqctl.app import accounts, einvoicing, invoicing, reports
from cpqctl.app.quotes import new_quote, render_quote
from cpqctl.app.workspace import Workspace

STDOUT = Path("-")


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cpq" not in p.parts
    }


def test_quote_render_to_stdout_is_the_file_s_bytes_and_writes_nothing(example_repo, cli) -> None:
    ws = Workspace.open(example_repo, as_of=date(2026, 11, 28))
    new_quote(ws, account="acme", start=date(2027, 1, 1), lines=["PRO-SEAT=50"])
    before = snapshot(example_repo)
    r = render_quote(ws, "Q-2026-0001", fmt="md", output=STDOUT)
    # issue 13: a draft shown on stdout was presented: recorded in its quote file (no other file written)
    assert r.path is None and r.message == "recorded as presented in quotes/Q-2026-0001.yaml" and r.payload is not None
    after = snapshot(example_repo)
    assert {k for k in after if after[k] != before.get(k)} == {"quotes/Q-2026-0001.yaml"}
    filed = render_quote(ws, "Q-2026-0001", fmt="md")
    assert filed.payload is None and filed.path is not None and filed.path.read_bytes() == r.payload
    run = cli(
        "quote", "render", "Q-2026-0001", "--format", "md", "-o", "-", "--as-of", "2026-11-28", "--repo", example_repo
    )
    assert run.code == 0 and run.stdout.encode("utf-8") == r.payload and run.stderr == ""


def test_invoice_and_account_render_to_stdout(example_repo, tmp_path) -> None:
    ws = Workspace.open(example_repo, as_of=date(2026, 4, 2))
    invoicing.run_invoices(ws, through=date(2026, 3, 31))
    before = snapshot(example_repo)
    inv = einvoicing.render_invoice(ws, "INV-2026-0001", "pdf", STDOUT)
    assert inv.path is None and inv.payload is not None and inv.payload.startswith(b"%PDF")
    acct = accounts.account_render(ws, account="acme", fmt="md", output=STDOUT)
    assert acct.path is None and acct.payload is not None and b"acme" in acct.payload.lower()
    assert snapshot(example_repo) == before
    filed = einvoicing.render_invoice(ws, "INV-2026-0001", "pdf", tmp_path / "inv.pdf")
    assert filed.payload is None and filed.path == tmp_path / "inv.pdf"
    assert filed.path.read_bytes() == inv.payload  # dated the invoice's date: the same bytes every time


def test_board_to_stdout_inlines_its_charts_and_writes_no_file(example_repo, cli, tmp_path) -> None:
    ws = Workspace.open(example_repo, as_of=date(2026, 12, 31))
    before = snapshot(example_repo)
    doc = reports.write_board(ws, fmt="md", output=STDOUT, months=6)
    assert doc.written == () and doc.payload is not None
    assert b"data:image/svg+xml;base64," in doc.payload and b"-arr.svg" not in doc.payload
    assert snapshot(example_repo) == before
    filed = reports.write_board(ws, fmt="md", output=tmp_path / "b.md", months=6)
    assert filed.payload is None and [p.name for p in filed.written] == ["b-arr.svg", "b-movements.svg", "b.md"]
    run = cli(
        "report", "board", "--format", "md", "--months", "6", "-o", "-", "--as-of", "2026-12-31", "--repo", example_repo
    )
    assert run.code == 0 and run.stdout.encode("utf-8") == doc.payload
