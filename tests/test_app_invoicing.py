"""The invoicing use cases through the Python API (:mod:`cpqctl.app.invoicing`), on a copy of the example repo.

run → preview → render → .eml, and a real SMTP server (aiosmtpd on 127.0.0.1)
for a partly refused delivery. Then the refusal of `invoice run` on a
repository that `cpqctl check` finds wrong: nothing is issued on data that
cannot be trusted.
"""

from __future__ import annotations

import email
import email.policy
from datetime import date
from pathlib import Path

import pytest
import yaml

from cpqctl.app import einvoicing, invoicing
from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError, InvalidRepository, UsageError
from tests.conftest import smtp_server

# the test SMTP server takes AUTH without TLS on purpose (it listens on the loopback only)
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

APRIL_2 = date(2026, 4, 2)
MARCH_31 = date(2026, 3, 31)
ISSUED = ["INV-2025-0001", "INV-2026-0001", "INV-2026-0002", "INV-2026-0003", "INV-2026-0004"]  # by monthly runs
LATE = ["INV-2026-0001", "INV-2026-0002", "INV-2026-0003", "INV-2026-0004", "INV-2026-0005"]  # by one run on 04-02


def _invoices(root: Path) -> list[str]:
    folder = root / "invoices"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


@pytest.fixture
def ws(example_repo) -> Workspace:
    return Workspace.open(example_repo, as_of=APRIL_2)


@pytest.fixture
def issued(ws) -> Workspace:
    """The example repo with every invoice through March 2026 issued by a run on each billing day (so each is dated
    its billing day: ISSUED), the workspace as of 2026-04-02."""
    for day in (date(2025, 10, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)):
        invoicing.run_invoices(ws, through=day, as_of=day)
    assert _invoices(ws.root) == sorted(f"{n}{ext}" for n in ISSUED for ext in (".md", ".pdf", ".yaml"))
    return ws


# --------------------------------------------------------------------------- run


def test_run_dry_then_for_real_then_nothing_left(ws, cli):
    """A run on 2026-04-02 through 03-31 bills every period due by then on its own day (docs/invoices.md: the issue
    date is the day the run creates the invoice), each naming its period; the sale date is the period's end."""
    dry = invoicing.run_invoices(ws, through=MARCH_31, dry_run=True)
    assert dry.dry_run and dry.count == 5 and dry.numbers == (None,) * 5 and dry.written == ()
    assert _invoices(ws.root) == []  # a dry run writes nothing
    assert [
        (d.contract, d.date, d.period_start, d.sale_date, d.due, str(d.gross_total), d.currency) for d in dry.drafts
    ] == [
        ("C-2025-0003", APRIL_2, date(2025, 10, 1), date(2026, 9, 30), date(2026, 4, 16), "23751.30", "PLN"),
        ("C-2026-0001", APRIL_2, date(2026, 1, 1), date(2026, 3, 31), date(2026, 4, 16), "22755.00", "PLN"),
        # the first period takes the rounding residual, then every full month the same
        ("C-2026-0002", APRIL_2, date(2026, 2, 1), date(2026, 2, 28), date(2026, 4, 16), "687.37", "EUR"),
        ("C-2026-0002", APRIL_2, date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 16), "687.33", "EUR"),
        ("C-2026-0003", APRIL_2, date(2026, 3, 1), date(2027, 2, 28), date(2026, 4, 16), "10620.00", "EUR"),
    ]

    run = invoicing.run_invoices(ws, through=MARCH_31)
    assert run.numbers == tuple(LATE)  # numbered per year of the invoice (issue) date, no gaps
    assert run.written == tuple(f"invoices/{n}.yaml" for n in LATE)
    # each invoice keeps its documents as issued beside it
    assert _invoices(ws.root) == sorted(f"{n}{ext}" for n in LATE for ext in (".md", ".pdf", ".yaml"))
    assert run.message == "wrote 5 invoice(s): invoices/INV-2026-0001.yaml … invoices/INV-2026-0005.yaml"
    text = (ws.root / "invoices" / "INV-2026-0002.yaml").read_text(encoding="utf-8")
    assert text.startswith(
        "invoice: INV-2026-0002\naccount: acme\ncontract: C-2026-0001\ndate: 2026-04-02\nsale_date: 2026-03-31\n"
        "due: 2026-04-16\ncurrency: PLN\nperiod_start: 2026-01-01\nperiod_end: 2026-03-31\n"
    )
    assert "net_total: 18500.00\ntaxes: [{rate: 23%, base: 18500.00, amount: 4255.00}]\ngross_total: 22755.00\n" in text
    assert cli("check", "--repo", ws.root).code == 0  # what it wrote passes `cpqctl check`

    # the JSON is made one invoice at a time (a month can be 100,000 of them)
    items = run.invoices()
    assert iter(items) is items
    first = next(items)
    assert (first["invoice"], first["date"], first["net_total"], first["tax_total"], first["gross_total"]) == (
        "INV-2026-0001",
        "2026-04-02",
        "19310.00",
        "4441.30",
        "23751.30",
    )
    assert run.head == {"through": "2026-03-31", "dry_run": False, "count": 5}
    assert [x["invoice"] for x in run.data["invoices"]] == LATE

    again = invoicing.run_invoices(ws, through=MARCH_31)
    assert again.count == 0 and again.written == () and again.message == "nothing to invoice through 2026-03-31"
    april = invoicing.run_invoices(ws, through=date(2026, 4, 1))  # the numbering goes on
    assert april.numbers == ("INV-2026-0006", "INV-2026-0007", "INV-2026-0008")
    assert [(d.contract, d.date, str(d.net_total)) for d in april.drafts] == [
        ("C-2026-0001", APRIL_2, "13500.00"),
        ("C-2026-0002", APRIL_2, "687.33"),
        ("C-2026-0004", APRIL_2, "1395.00"),
    ]


# --------------------------------------------------------------------------- preview


def test_preview_shows_the_next_invoices_and_writes_nothing(issued):
    before = _invoices(issued.root)
    p = invoicing.preview_invoices(issued, "C-2026-0001", as_of=date(2026, 4, 10))
    assert p.quote is None and p.currency == "PLN" and p.as_of == date(2026, 4, 10)
    assert [(x["date"], x["net_total"], x["gross_total"]) for x in p.data["invoices"]] == [
        ("2026-04-01", "13500.00", "16605.00"),
        ("2026-04-16", "1136.71", "1398.15"),  # the stub takes the residual (3,836.71 − 2 × 1,350.00)
        ("2026-07-01", "14850.00", "18265.50"),
        ("2026-09-01", "450.00", "553.50"),
        ("2026-10-01", "16200.00", "19926.00"),  # full quarters: 13,500.00 + 1,350.00 + 1,350.00
    ]
    assert len(p.drafts) == 5
    short = invoicing.preview_invoices(issued, "C-2026-0001", as_of=date(2026, 4, 10), through=date(2026, 6, 30))
    assert [x["date"] for x in short.data["invoices"]] == ["2026-04-01", "2026-04-16"]
    assert _invoices(issued.root) == before
    with pytest.raises(CpqError) as e:
        invoicing.preview_invoices(issued, "C-2026-0010")
    assert e.value.code == "E-UNKNOWN-CONTRACT" and "did you mean `C-2026-00" in e.value.hint


# --------------------------------------------------------------------------- render and .eml


def test_render_then_write_the_email_as_an_eml_file(issued, tmp_path):
    md = einvoicing.render_invoice(issued, "INV-2026-0001", "md", tmp_path / "inv.md")
    assert md.path == tmp_path / "inv.md" and md.message == f"wrote {tmp_path / 'inv.md'}" and md.warnings == ()
    text = md.path.read_text(encoding="utf-8")
    assert text.startswith("# Faktura VAT INV-2026-0001")  # ACME's documents: cpq.toml's locale pl_PL, Polish
    assert "| 23% | 18\u00a0500,00\u00a0zł | 4\u00a0255,00\u00a0zł | 22\u00a0755,00\u00a0zł |" in text
    pdf = einvoicing.render_invoice(issued, "INV-2026-0001", "pdf", tmp_path / "inv.pdf")
    assert pdf.path.read_bytes().startswith(b"%PDF")
    # render gives the documents kept when the invoice was issued, byte for byte
    assert md.path.read_bytes() == (issued.root / "invoices" / "INV-2026-0001.md").read_bytes()
    assert pdf.path.read_bytes() == (issued.root / "invoices" / "INV-2026-0001.pdf").read_bytes()

    invoice_file = issued.root / "invoices" / "INV-2026-0001.yaml"
    before = invoice_file.read_bytes()
    said: list[str] = []
    eml = invoicing.write_emls(issued, ["INV-2026-0001"], target=tmp_path / "m.eml", notify=said.append)
    assert eml.paths == (tmp_path / "m.eml",) and eml.payload is None
    assert said == [f"wrote {tmp_path / 'm.eml'} (to anna.nowak@acme.example; not recorded as sent)"]
    msg = _parse((tmp_path / "m.eml").read_bytes())
    assert msg["To"] == "anna.nowak@acme.example"  # the billing contact
    # in the customer's language, like the invoice (ACME: cpq.toml's locale pl_PL)
    assert msg["Subject"] == "Faktura VAT INV-2026-0001 od Example Software Sp. z o.o."
    assert msg["Date"] == "Thu, 02 Apr 2026 00:00:00 +0000"  # the as-of day: the same file on every run
    assert "22\u00a0755,00\u00a0zł" in msg.get_body(("plain",)).get_content()
    [att] = list(msg.iter_attachments())
    assert att.get_filename() == "INV-2026-0001.pdf" and att.get_content() == pdf.path.read_bytes()
    assert invoice_file.read_bytes() == before  # nothing was delivered, nothing recorded

    to_stdout = invoicing.write_emls(issued, ["INV-2026-0001"], target=Path("-"))
    assert to_stdout.paths == () and to_stdout.payload == (tmp_path / "m.eml").read_bytes()
    folder = tmp_path / "mail"
    every = invoicing.write_emls(issued, unsent=True, since=date(2026, 3, 1), target=folder)
    assert sorted(p.name for p in every.paths) == ["INV-2026-0003.eml", "INV-2026-0004.eml"]
    with pytest.raises(UsageError, match="several messages cannot go to stdout"):
        invoicing.write_emls(issued, unsent=True, target=Path("-"))


def test_render_warns_when_the_seller_is_incomplete(issued, tmp_path):
    toml = issued.root / "cpq.toml"
    toml.write_text(
        "\n".join(ln for ln in toml.read_text(encoding="utf-8").splitlines() if not ln.startswith("tax_id")) + "\n",
        encoding="utf-8",
    )
    said: list[str] = []
    r = einvoicing.render_invoice(issued, "INV-2026-0001", "md", tmp_path / "x.md", notify=said.append)
    assert r.warnings == tuple(said) and len(said) == 1 and "has no tax_id" in said[0]
    with pytest.raises(CpqError) as e:
        einvoicing.render_invoice(issued, "INV-2026-0009", "md", tmp_path / "y.md")
    assert e.value.code == "E-UNKNOWN-INVOICE" and not (tmp_path / "y.md").exists()


def test_send_selection_is_checked_before_anything_loads(issued):
    with pytest.raises(UsageError, match="not both"):
        invoicing.send_invoices(issued, ["INV-2026-0001"], unsent=True)
    with pytest.raises(UsageError, match="not both"):
        invoicing.send_invoices(issued)
    with pytest.raises(UsageError, match="--since goes with --unsent"):
        invoicing.send_invoices(issued, ["INV-2026-0001"], since=date(2026, 1, 1))


# --------------------------------------------------------------------------- SMTP


@pytest.fixture
def smtp(monkeypatch):
    with smtp_server() as (port, handler):
        monkeypatch.setenv("CPQ_SMTP_PASSWORD", "pw")
        yield port, handler


def test_send_records_who_got_it_and_goes_on_past_a_refused_invoice(issued, smtp):
    port, handler = smtp
    toml = issued.root / "cpq.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("port = 2525", f"port = {port}"), encoding="utf-8")
    said: list[str] = []
    r = invoicing.send_invoices(
        issued, ["INV-2026-0001", "INV-2026-0002"], to=["ok@acme.example", "refuse-me@acme.example"], notify=said.append
    )
    # both went out to the address the server took; the refused one is reported, not fatal
    assert [e.rcpt_tos for e in handler.envelopes] == [["ok@acme.example"], ["ok@acme.example"]]
    assert [(d["invoice"], d["to"], d["date"]) for d in r.deliveries] == [
        ("INV-2026-0001", "ok@acme.example", "2026-04-02"),
        ("INV-2026-0002", "ok@acme.example", "2026-04-02"),
    ]
    assert r.written == ("invoices/INV-2026-0001.yaml", "invoices/INV-2026-0002.yaml")
    assert said == ["sent INV-2026-0001 to ok@acme.example", "sent INV-2026-0002 to ok@acme.example"]
    assert len(r.problems) == 2 and all("refuse-me@acme.example refused (550" in p for p in r.problems)
    assert r.error is not None and r.error.code == "E-SMTP-REFUSED"
    mid = _parse(handler.envelopes[0].original_content)["Message-ID"]
    # issue #13: the delivery record follows the invoice's digest line, outside the digested content
    digest = yaml.safe_load((issued.root / "invoices" / "INV-2026-0001.yaml").read_text(encoding="utf-8"))["digest"]
    assert r.deliveries[0]["message_id"] == mid
    assert (
        (issued.root / "invoices" / "INV-2026-0001.yaml")
        .read_text(encoding="utf-8")
        .endswith(
            f'gross_total: 22755.00\ndigest: "{digest}"\nsent:\n  - {{date: 2026-04-02, to: ok@acme.example, message_id: "{mid}"}}\n'
        )
    )
    assert r.data == {"as_of": "2026-04-02", "sent": list(r.deliveries)}

    # --unsent now skips the two recorded ones and sends the rest to their billing contacts
    rest = invoicing.send_invoices(issued, unsent=True, as_of=date(2026, 4, 3))
    assert [d["invoice"] for d in rest.deliveries] == ["INV-2025-0001", "INV-2026-0003", "INV-2026-0004"]
    assert rest.error is None and rest.problems == ()
    none = invoicing.send_invoices(issued, unsent=True, as_of=date(2026, 4, 3))
    assert none.deliveries == () and none.message == "no unsent invoices dated on or before 2026-04-03"
    assert len(handler.envelopes) == 5


# --------------------------------------------------------------------------- refusal on a repository `check` rejects


def _no_account(root: Path) -> None:
    """(a) a contract of an account that does not exist (in a folder without account.yaml)."""
    src = (root / "contracts" / "acme" / "C-2026-0001.yaml").read_text(encoding="utf-8")
    (root / "contracts" / "ghost").mkdir()
    (root / "contracts" / "ghost" / "C-2026-0099.yaml").write_text(
        src.replace("contract: C-2026-0001", "contract: C-2026-0099").replace("account: acme", "account: ghost"),
        encoding="utf-8",
    )


def _other_currency(root: Path) -> None:
    """(b) ACME's contract in EUR, its account in PLN."""
    path = root / "contracts" / "acme" / "C-2026-0001.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("\ncurrency: PLN\n", "\ncurrency: EUR\n"), encoding="utf-8"
    )


def _tampered_total(root: Path) -> None:
    """(c) an issued invoice's net_total edited by hand."""
    path = root / "invoices" / "INV-2026-0001.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("net_total: 18500.00", "net_total: 18000.00"), encoding="utf-8"
    )


@pytest.mark.parametrize(
    ("tamper", "code", "where"),
    [
        (None, None, None),  # the control: untouched, the same run issues April's invoices
        (_no_account, "E-UNKNOWN-ACCOUNT", "contracts/ghost/C-2026-0099.yaml:6:10"),
        (_other_currency, "E-CURRENCY-MISMATCH", "contracts/acme/C-2026-0001.yaml:7:11"),
        (_tampered_total, "E-INVOICE-TOTAL", "invoices/INV-2026-0001.yaml:17:12"),
    ],
)
def test_run_refuses_a_repository_that_check_rejects(issued, cli, tamper, code, where):
    root = issued.root
    if tamper is not None:
        tamper(root)
    checked = cli("check", "--repo", root)
    files = _invoices(root)
    run = cli("invoice", "run", "--through", "2026-04-30", "--as-of", "2026-04-02", "--repo", root)
    if tamper is None:
        assert checked.code == 0 and run.code == 0, run.stderr
        assert len(_invoices(root)) > len(files)
        return
    assert checked.code == 1 and f"{where}: error[{code}]" in checked.stdout + checked.stderr
    assert run.code == 1
    assert "error[E-INVALID-REPO]" in run.stderr and f"{where}: error[{code}]" in run.stderr
    assert run.stdout == ""
    assert _invoices(root) == files  # no invoice written
    with pytest.raises(InvalidRepository) as e:  # the same refusal through the API
        invoicing.run_invoices(issued, through=date(2026, 4, 30))
    assert code in {d.code for d in e.value.diagnostics}
    assert _invoices(root) == files
