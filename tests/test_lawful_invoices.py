"""Invoices a Polish and EU accountant accepts (issue 16; docs/invoices.md).

On the example repository with its NBP tables (fx/) and one more customer, a
Polish company paying in EUR with 23% VAT, a run on 2026-03-01 issues: a PLN
invoice (acme, Polish), an EUR reverse-charge invoice to Germany (globex,
German), an EUR invoice with 23% VAT shown in PLN at the stored NBP rate
(wayne, bilingual pl+en), a non-EU "np." invoice (umbrella, English); a
downgrade of acme effective mid-quarter then gives a corrective invoice.
Each is a golden Markdown file (``CPQ_UPDATE_GOLDEN=1`` rewrites them; review
the diff) and each is checked for every field art. 106e ust. 1 lists (ust. 11
for the foreign currency, art. 106j for the correction).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from decimal import Decimal
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden" / "lawful"
UPDATE = os.environ.get("CPQ_UPDATE_GOLDEN") == "1"
RUN_DAY = "2026-03-01"

WAYNE = """\
account: wayne
name: Wayne Polska Sp. z o.o.
currency: EUR
address: ul. Prosta 20, 00-850 Warszawa
tax_id: PL5270000001
language: pl+en
contacts:
  - {name: Jan Kowalski, email: jan.kowalski@wayne.example, role: billing}
"""


@pytest.fixture
def lawful(example_repo: Path, cli) -> Path:
    """The example with its fx/ tables, the FV/… series and an EUR customer taxed in Poland, billed on 2026-03-01."""
    root = example_repo
    (root / "contracts" / "wayne").mkdir()
    (root / "contracts" / "wayne" / "account.yaml").write_text(WAYNE, encoding="utf-8")
    toml = root / "cpq.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace('invoice = "INV-{year}-{seq:04d}"', 'invoice = "FV/{year}/{month:02d}/{seq:04d}"')
    toml.write_text(text, encoding="utf-8")
    # wayne signs on 2026-03-01 a contract that began on 2026-02-01: billed late
    assert cli("quote", "new", "--account", "wayne", "--start", "2026-02-01", "--term", "12", "--billing", "monthly",
               "--line", "PRO-SEAT=5", "--as-of", "2026-02-20", "--repo", root).code == 0  # fmt: skip
    assert cli("quote", "accept", "Q-2026-0001", "--signed-by", "Jan Kowalski", "--as-of", RUN_DAY,
               "--repo", root).code == 0  # fmt: skip
    assert cli("check", "--repo", root).code == 0
    run = cli("invoice", "run", "--through", RUN_DAY, "--as-of", RUN_DAY, "--repo", root)
    assert run.code == 0, run.stderr
    return root


def _load(root: Path):
    from cpqctl.load.repo import load_repo

    repo, diags = load_repo(root)
    assert [d for d in diags if d.severity == "error"] == []
    return repo


def _of(repo, account: str, kind: str = "invoice"):
    found = [i for i in repo.invoices.values() if i.account == account and i.kind == kind]
    return sorted(found, key=lambda i: i.invoice)


def test_a_period_that_began_before_the_run_is_invoiced_on_the_runs_day(lawful) -> None:
    repo = _load(lawful)
    feb, mar = _of(repo, "wayne")  # one invoice per monthly settlement period, both issued on the run's day
    inv = feb
    assert str(inv.date) == RUN_DAY  # never the billing date 2026-02-01
    assert (str(inv.period_start), str(inv.period_end)) == ("2026-02-01", "2026-02-28")  # it names its period
    assert str(inv.sale_date) == "2026-02-28"  # the end of the settlement period (art. 19a ust. 3)
    assert (str(mar.date), str(mar.period_start), str(mar.sale_date)) == (RUN_DAY, RUN_DAY, "2026-03-31")
    assert str(inv.due) == "2026-03-15"  # issue date + 14 payment days
    assert inv.invoice.startswith("FV/2026/03/")  # numbered in the run day's series
    assert all(str(i.date) >= RUN_DAY for i in repo.invoices.values())  # nothing backdated


def test_the_example_repository_itself_issues_each_kind(example_repo, cli) -> None:
    """No additions: a run on the example through 2027-06-01 issues a PLN invoice with 23% VAT (acme), EUR reverse
    charge to Germany (globex), "np." outside the EU (umbrella) and an EUR invoice with 23% VAT shown in PLN at the
    NBP rate of fx/EUR.yaml (stark, Polish and English)."""
    run = cli("invoice", "run", "--through", "2027-06-01", "--as-of", "2027-06-01", "--repo", example_repo)
    assert run.code == 0, run.stderr
    repo = _load(example_repo)
    acme, globex, umbrella, stark = (_of(repo, a)[-1] for a in ("acme", "globex", "umbrella", "stark"))
    assert (acme.currency, [t.rate for t in acme.taxes], acme.fx) == ("PLN", [Decimal(23)], None)
    assert (globex.currency, globex.reverse_charge, globex.language) == ("EUR", True, "de")
    assert (umbrella.tax_code, umbrella.language) == ("np", "en")
    assert (stark.currency, [t.rate for t in stark.taxes], stark.language) == ("EUR", [Decimal(23)], "pl+en")
    # the tax point is 2027-06-30 (the end of June), the issue day 2027-06-01 is earlier: the rate is the one of
    # the last working day before the issue day, Monday 2027-05-31
    assert stark.fx is not None and (str(stark.fx.date), stark.fx.table) == ("2027-05-31", "102/A/NBP/2027")
    rate = (example_repo / "fx" / "EUR.yaml").read_text(encoding="utf-8").split("2027-05-31: {rate: ")[1][:6]
    assert stark.fx.rate == Decimal(rate)
    (tax,) = stark.taxes
    assert tax.amount_pln == (tax.amount * stark.fx.rate).quantize(Decimal("0.01"))
    kept = (example_repo / stark.src.file).with_suffix(".md").read_text(encoding="utf-8")
    assert "Faktura VAT / VAT invoice" in kept and "102/A/NBP/2027" in kept


# --------------------------------------------------------------------------- art. 106e, field by field


def _downgrade(cli, root: Path) -> None:
    """acme drops from 50 to 40 seats from 2026-03-16: a credit for the quarter invoiced on 2026-03-01."""
    assert cli("amend", "C-2026-0001", "--effective", "2026-03-16", "--set", "PRO-SEAT=40", "--as-of", "2026-03-10",
               "--repo", root).code == 0  # fmt: skip
    assert cli("quote", "accept", "Q-2026-0002", "--signed-by", "Anna Nowak", "--as-of", "2026-03-10",
               "--repo", root).code == 0  # fmt: skip
    run = cli("invoice", "run", "--through", "2026-03-20", "--as-of", "2026-03-20", "--repo", root)
    assert run.code == 0, run.stderr


def _documents(root: Path) -> dict:
    repo = _load(root)
    return {
        "pln": _of(repo, "acme")[0],
        "reverse_charge": _of(repo, "globex")[0],
        "eur_vat_pln": _of(repo, "wayne")[0],
        "np": _of(repo, "umbrella")[0],
        "correction": _of(repo, "acme", "correction")[0],
    }, repo


def test_each_invoice_holds_every_field_the_law_lists(lawful, cli) -> None:
    from cpqctl.views.documents import invoice_data

    _downgrade(cli, lawful)
    docs, repo = _documents(lawful)
    for name, inv in docs.items():
        d = invoice_data(repo, inv)
        i, seller, buyer = d["invoice"], d["company"], d["account"]
        assert i["date"] and i["number"], name  # ust. 1 pkt 1, 2
        assert seller["name"] and seller["address"] and buyer["name"] and buyer["address"], name  # pkt 3
        assert seller["tax_id"] == "PL7251234561" and buyer["tax_id"], name  # pkt 4, 5
        assert i["sale_date"], name  # pkt 6
        for ln in d["lines"]:
            assert ln["name"] and ln["unit"] and ln["quantity"] is not None, name  # pkt 7, 8
            assert ln["unit_price"] is not None and ln["amount"] is not None, name  # pkt 9, 11
            assert ln["rate"] is not None or ln["tax_code"], name  # pkt 12
            if ln["per"] is not None and ln["factor"] is not None and name != "correction":
                # the customer reconciles each line: quantity × unit net price × factor = net amount (the factor
                # rounded to 6 places: within half a millionth of quantity × unit price)
                whole = ln["quantity"] * ln["unit_price"]
                assert abs(whole * ln["factor"] - ln["amount"]) <= abs(whole) * Decimal("0.0000005") + Decimal(
                    "0.005"
                ), (name, ln["product"])
        assert all(t["base"] is not None and t["amount"] is not None for t in d["taxes"]), name  # pkt 13, 14
        assert d["gross_total"] == d["net_total"] + d["tax_total"], name  # pkt 15
    # pkt 18: reverse charge named as such, with the Directive's article
    rc = invoice_data(repo, docs["reverse_charge"])
    assert rc["invoice"]["tax_code"] == "reverse charge" and any("Article 196" in n for n in rc["notes"])
    # art. 28b: a business outside the EU: "np.", not 0%
    np_ = invoice_data(repo, docs["np"])
    assert np_["invoice"]["tax_code"] == "np." and [ln["tax_code"] for ln in np_["lines"]] == ["np."] * len(
        np_["lines"]
    )
    assert any("28b" in n for n in np_["notes"])
    # ust. 11: VAT of a foreign-currency invoice in PLN, with the NBP rate of the last working day before
    eur = docs["eur_vat_pln"]
    assert eur.fx is not None and eur.fx.table.endswith("/A/NBP/2026") and str(eur.fx.date) == "2026-02-27"
    (tax,) = eur.taxes
    assert tax.rate == 23 and tax.amount_pln == (tax.amount * eur.fx.rate).quantize(Decimal("0.01"))
    # art. 106j: the corrected invoice's number and date, the reason, before / after / difference per line
    corr = docs["correction"]
    acme = docs["pln"]
    assert (corr.corrects, corr.corrects_date, corr.kind) == (acme.invoice, acme.date, "correction")
    assert corr.reason and corr.invoice.startswith("FK-2026-")
    for ln in corr.lines:
        assert ln.line is not None and ln.before is not None and ln.after is not None
        assert ln.after - ln.before == ln.amount < 0


def test_the_five_invoices_match_their_golden_markdown(lawful, cli) -> None:
    _downgrade(cli, lawful)
    docs, _ = _documents(lawful)
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, inv in docs.items():
        kept = (lawful / inv.src.file).with_suffix(".md").read_text(encoding="utf-8")
        golden = GOLDEN / f"{name}.md"
        if UPDATE:
            golden.write_text(kept, encoding="utf-8", newline="\n")
        assert kept == golden.read_text(encoding="utf-8"), name
    langs = {name: inv.language for name, inv in docs.items()}
    assert langs == {"pln": "pl", "reverse_charge": "de", "eur_vat_pln": "pl+en", "np": "en", "correction": "pl"}
    assert "Faktura VAT / VAT invoice" in (GOLDEN / "eur_vat_pln.md").read_text(encoding="utf-8")
    assert "# Faktura korygująca FK-2026-0001" in (GOLDEN / "correction.md").read_text(encoding="utf-8")


def test_the_kept_pdfs_are_pdfs_of_the_same_invoice(lawful) -> None:
    from pypdf import PdfReader

    repo = _load(lawful)
    inv = _of(repo, "wayne")[0]
    pdf = (lawful / inv.src.file).with_suffix(".pdf")
    text = "".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert inv.invoice in text and "Faktura VAT" in text and "NBP" in text


# --------------------------------------------------------------------------- the document as issued


def test_rerendering_after_a_template_change_gives_the_bytes_issued(lawful, cli) -> None:
    repo = _load(lawful)
    inv = _of(repo, "acme")[0]
    kept_md = (lawful / inv.src.file).with_suffix(".md").read_bytes()
    kept_pdf = (lawful / inv.src.file).with_suffix(".pdf").read_bytes()
    # the repository overrides the invoice templates and renames a product after the invoice was issued
    (lawful / "templates").mkdir()
    (lawful / "templates" / "invoice.md.j2").write_text("# NEW TEMPLATE {{ invoice.number }}\n", encoding="utf-8")
    shutil.copy(PROJECT / "cpqctl" / "templates" / "invoice.typ.j2", lawful / "templates" / "invoice.typ.j2")
    typ = lawful / "templates" / "invoice.typ.j2"
    typ.write_text(typ.read_text(encoding="utf-8").replace("#v(10pt)", "#v(30pt) NEW"), encoding="utf-8")
    md = cli("invoice", "render", inv.invoice, "--format", "md", "-o", "-", "--repo", lawful)
    assert md.code == 0 and md.stdout.encode("utf-8") == kept_md
    out = lawful / "again.pdf"
    assert (
        cli("invoice", "render", inv.invoice.replace("/", "_"), "--format", "pdf", "-o", out, "--repo", lawful).code
        == 0
    )
    assert out.read_bytes() == kept_pdf
    # a new invoice takes the new template
    run = cli("invoice", "run", "--through", "2026-04-01", "--as-of", "2026-04-01", "--repo", lawful)
    assert run.code == 0
    new = next(i for i in _load(lawful).invoices.values() if str(i.date) == "2026-04-01")
    assert (lawful / new.src.file).with_suffix(".md").read_text(encoding="utf-8") == f"# NEW TEMPLATE {new.invoice}\n"


def test_a_changed_kept_document_is_refused_not_sent(lawful, cli) -> None:
    repo = _load(lawful)
    inv = _of(repo, "acme")[0]
    pdf = (lawful / inv.src.file).with_suffix(".pdf")
    pdf.write_bytes(pdf.read_bytes() + b"%tampered\n")
    r = cli("invoice", "render", inv.invoice, "--format", "pdf", "-o", lawful / "x.pdf", "--repo", lawful)
    assert r.code == 1 and "E-KEPT-DOCUMENT" in r.stderr and "git checkout" in r.stderr
    r = cli("invoice", "send", inv.invoice, "--eml", lawful / "x.eml", "--as-of", RUN_DAY, "--repo", lawful)
    assert r.code == 1 and "E-KEPT-DOCUMENT" in r.stderr and not (lawful / "x.eml").exists()


# --------------------------------------------------------------------------- FV/{year}/{month:02d}/{seq:04d}


class _Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope)
        return "250 OK"


def test_a_slash_series_works_end_to_end(lawful, cli) -> None:
    from aiosmtpd.controller import Controller

    repo = _load(lawful)
    numbers = sorted(repo.invoices)
    assert numbers == [f"FV/2026/03/000{n}" for n in range(1, len(numbers) + 1)]
    assert sorted(p.name for p in (lawful / "invoices").glob("*.yaml")) == [
        n.replace("/", "_") + ".yaml" for n in numbers
    ]
    # render, by number and by file name
    first = numbers[0]
    for name in (first, first.replace("/", "_")):
        r = cli("invoice", "render", name, "--format", "md", "-o", "-", "--repo", lawful)
        assert r.code == 0 and first in r.stdout
    # send through a real SMTP server on 127.0.0.1
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    toml = lawful / "cpq.toml"
    text = toml.read_text(encoding="utf-8").replace("port = 2525", f"port = {port}")
    text = text.replace('user = "billing@example.com"\n', "").replace('password_env = "CPQ_SMTP_PASSWORD"\n', "")
    toml.write_text(text, encoding="utf-8")
    inbox = _Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, loop=asyncio.new_event_loop())
    ctl.start()
    try:
        r = cli("invoice", "send", first, "--as-of", RUN_DAY, "--repo", lawful)
    finally:
        ctl.stop()
    assert r.code == 0, r.stderr
    (msg,) = inbox.messages
    body = msg.content.decode("utf-8", "replace")
    assert f'filename="{first.replace("/", "_")}.pdf"' in body and first in body
    assert "message_id:" in (lawful / "invoices" / (first.replace("/", "_") + ".yaml")).read_text(encoding="utf-8")
    # check: clean, and a gap in a month's series is found
    assert cli("check", "--repo", lawful).code == 0
    # export: the numbers as issued
    out = lawful / "export"
    assert cli("export", "-o", out, "--as-of", RUN_DAY, "--repo", lawful).code == 0
    exported = (out / "invoices.csv").read_text(encoding="utf-8")
    assert all(n in exported for n in numbers)
    last = lawful / "invoices" / (numbers[-2].replace("/", "_") + ".yaml")
    last.unlink()
    r = cli("check", "--repo", lawful)
    assert r.code == 1 and "E-INVOICE-GAP" in r.stdout + r.stderr and numbers[-2] in r.stdout + r.stderr


def test_a_slash_pattern_with_an_underscore_is_refused_at_load(example_repo, cli) -> None:
    toml = example_repo / "cpq.toml"
    text = toml.read_text(encoding="utf-8").replace('invoice = "INV-{year}-{seq:04d}"', 'invoice = "FV/{year}_{seq}"')
    toml.write_text(text, encoding="utf-8")
    r = cli("check", "--repo", example_repo)
    assert r.code == 1 and "E-NUMBERING" in r.stdout + r.stderr and "cannot hold `_`" in r.stdout + r.stderr


# --------------------------------------------------------------------------- corrections


def test_a_downgrade_mid_quarter_is_a_corrective_invoice_not_a_negative_invoice(lawful, cli) -> None:
    _downgrade(cli, lawful)
    repo = _load(lawful)
    new = [i for i in repo.invoices.values() if str(i.date) == "2026-03-20"]
    assert [i.kind for i in new] == ["correction"]
    (corr,) = new
    (ln,) = corr.lines
    # 10 seats × 1080.00/year for 2026-03-16..2026-03-31 (16 of 365 days, monthly+daily: ½ month + 1 day)
    assert (ln.product, str(ln.period_start), str(ln.period_end), ln.quantity) == (
        "PRO-SEAT",
        "2026-03-16",
        "2026-03-31",
        Decimal(-10),
    )
    assert ln.line == 1 and ln.before == Decimal("13500.00") and ln.after == ln.before + ln.amount
    assert corr.taxes[0].amount == (corr.net_total * Decimal("0.23")).quantize(Decimal("0.01"))
    assert "2026-03-16" in corr.reason and "Zmiana umowy" in corr.reason
    assert all(i.gross_total >= 0 for i in repo.invoices.values() if i.kind == "invoice")
    assert cli("check", "--repo", lawful).code == 0
    # the run is idempotent: nothing more to issue
    again = cli("invoice", "run", "--through", "2026-03-20", "--as-of", "2026-03-20", "--repo", lawful)
    assert again.code == 0 and "nothing to invoice" in again.stderr


def test_correct_by_hand(lawful, cli) -> None:
    repo = _load(lawful)
    acme = _of(repo, "acme")[0]
    r = cli("invoice", "correct", acme.invoice, "--line", "2=4000.00", "--reason", "Rabat na wdrożenie",
            "--as-of", "2026-03-05", "--repo", lawful)  # fmt: skip
    assert r.code == 0, r.stderr
    (corr,) = _of(_load(lawful), "acme", "correction")
    (ln,) = corr.lines
    assert (corr.invoice, ln.line, ln.before, ln.after, ln.amount) == (
        "FK-2026-0001",
        2,
        Decimal("5000.00"),
        Decimal("4000.00"),
        Decimal("-1000.00"),
    )
    assert (corr.net_total, corr.taxes[0].amount, corr.gross_total) == (
        Decimal("-1000.00"),
        Decimal("-230.00"),
        Decimal("-1230.00"),
    )
    # a second correction starts from the first one's "after"
    r = cli("invoice", "correct", acme.invoice, "--reason", "Anulowanie", "--as-of", "2026-03-06", "--repo", lawful)
    assert r.code == 0
    second = _of(_load(lawful), "acme", "correction")[1]
    assert [(x.line, x.before, x.after) for x in second.lines] == [
        (1, acme.lines[0].amount, Decimal(0)),
        (2, Decimal("4000.00"), Decimal(0)),
    ]
    assert second.gross_total + corr.gross_total == -acme.gross_total  # cancelled to the cent, VAT included
    assert cli("check", "--repo", lawful).code == 0
    for args, why in (
        ([acme.invoice, "--line", "9=0", "--reason", "x"], "has no line 9"),
        ([acme.invoice, "--line", "1=0"], "reason"),
        ([second.invoice, "--reason", "x"], "is a corrective invoice"),
        ([acme.invoice, "--line", "1=abc", "--reason", "x"], "LINE=AMOUNT"),
        ([acme.invoice, "--line", "1=-5.00", "--reason", "x"], "0 or more"),
        ([acme.invoice, "--line", "1=1.001", "--reason", "x"], "at most 2 decimal places"),
        ([acme.invoice, "--line", "1=1000000000000000.00", "--reason", "x"], "below"),
    ):
        r = cli("invoice", "correct", *args, "--as-of", "2026-03-07", "--repo", lawful)
        assert r.code == 2 and why in r.stderr, (args, r.stderr)


def test_reports_name_the_rate_they_convert_at(example_repo, cli) -> None:
    """Reports convert at cpq.toml's fixed [fx] rate (invoices at NBP's dated tables) and say so per currency."""
    import json

    r = cli("report", "arr", "--as-of", "2026-06-30", "--format", "json", "--repo", example_repo)
    assert r.code == 0
    rates = {c["currency"]: (c["fx_rate"], c["fx_source"]) for c in json.loads(r.stdout)["currencies"]}
    assert rates == {"EUR": ("4.30", "fixed rate (cpq.toml)"), "PLN": ("1", "company currency")}
    table = cli("report", "arr", "--as-of", "2026-06-30", "--repo", example_repo).stdout
    assert "fixed rate (cpq.toml)" in table and "4.30" in table
