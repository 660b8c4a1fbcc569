"""`cpqctl invoice render` and `cpqctl invoice send` (SPEC §4, §7).

Invoices come from a real `invoice run` over a copy of the example repo.
Sending goes through a real SMTP server (aiosmtpd) on 127.0.0.1: with AUTH,
with STARTTLS under a throwaway CA (trustme), unreachable, refusing the login.
What the server received is parsed back and its PDF attachment compared byte
for byte with `invoice render`.
"""

from __future__ import annotations

import email
import email.policy
import io
import os
import re
import socket
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# the test SMTP server takes AUTH without TLS on purpose (it listens on the loopback only)
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

GOLDEN = Path(__file__).parent / "golden"
AS_OF = "2026-04-02"
PASSWORD = "s3cret-pass"


@pytest.fixture
def invoiced(example_repo, cli) -> Path:
    """The example repo with every invoice through March 2026 issued (INV-2025-0001, INV-2026-0001…0004).

    Issued as it happens in practice: a run on each billing day (an invoice is dated the day the
    run creates it), so each invoice is dated its billing day and keeps its .md and .pdf beside it.
    """
    for day in ("2025-10-01", "2026-01-01", "2026-02-01", "2026-03-01"):
        run = cli("invoice", "run", "--through", day, "--as-of", day, "--repo", example_repo)
        assert run.code == 0, run.stderr
    assert sorted(p.name for p in (example_repo / "invoices").iterdir()) == [
        f"{number}.{ext}"
        for number in ("INV-2025-0001", "INV-2026-0001", "INV-2026-0002", "INV-2026-0003", "INV-2026-0004")
        for ext in ("md", "pdf", "yaml")
    ]
    return example_repo


# --------------------------------------------------------------------------- render


@pytest.mark.parametrize(
    ("invoice", "golden"),
    [
        ("INV-2026-0001", "invoice_vat_pl_PL.md"),  # PLN, 23% VAT, a recurring and a one-time line
        ("INV-2026-0004", "invoice_reverse_charge_pl_PL.md"),  # EUR to a German company: reverse charge
    ],
)
def test_markdown_matches_golden(invoiced, cli, invoice, golden):
    run = cli("invoice", "render", invoice, "--format", "md", "-o", "-", "--repo", invoiced)
    assert run.code == 0, run.stderr
    path = GOLDEN / golden
    if os.environ.get("CPQ_UPDATE_GOLDEN") == "1":  # after a deliberate change: rewrite, review, commit
        path.write_text(run.stdout, encoding="utf-8")
    assert run.stdout == path.read_text(encoding="utf-8")


def test_markdown_has_the_vat_invoice_fields(invoiced, cli):
    md = cli("invoice", "render", "INV-2026-0001", "-f", "md", "-o", "-", "--repo", invoiced).stdout
    for needed in (  # ACME is a Polish customer: a Polish document
        "Faktura VAT INV-2026-0001",
        # issued on the billing day; sold (sale date) at the end of the quarter it settles; due 14 days after issue
        "| 01.01.2026 | 31.03.2026 | 15.01.2026 | PLN | C-2026-0001 |",
        "Okres rozliczeniowy: 01.01.2026 – 31.03.2026",
        "NIP: PL7251234561",
        "NIP: PL5260001200",  # seller and buyer tax IDs
        "| 23% | 18\u00a0500,00\u00a0zł | 4\u00a0255,00\u00a0zł | 22\u00a0755,00\u00a0zł |",
        "PL61 1090 1014 0000 0712 1981 2874",
    ):
        assert needed in md
    assert "odwrotne obciążenie" not in md.lower()  # no reverse charge
    rc = cli("invoice", "render", "INV-2026-0004", "-f", "md", "-o", "-", "--repo", invoiced).stdout
    # Globex reads German (`language: de`): the reverse-charge note of art. 196 of the Directive in German
    assert (
        "Steuerschuldnerschaft des Leistungsempfängers (odwrotne obciążenie): Der Leistungsempfänger schuldet die "
        "Umsatzsteuer" in rc
    )  # art. 106e ust. 1 pkt 18 asks for the Polish words on every reverse-charge invoice
    assert "USt-IdNr.: DE811234565" in rc


def test_pdf_is_byte_identical_whatever_the_day_and_holds_the_fields(invoiced, cli, tmp_path):
    from pypdf import PdfReader

    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    assert cli("invoice", "render", "INV-2026-0004", "-o", a, "--as-of", "2026-04-01", "--repo", invoiced).code == 0
    assert cli("invoice", "render", "INV-2026-0004", "-o", b, "--as-of", "2027-01-15", "--repo", invoiced).code == 0
    assert a.read_bytes().startswith(b"%PDF-")
    assert a.read_bytes() == b.read_bytes()
    text = " ".join(PdfReader(a).pages[0].extract_text().split())
    for needed in (  # Globex's invoice is in German
        "Rechnung",
        "INV-2026-0004",
        "PL7251234561",
        "DE811234565",
        "Globex GmbH",
        "Reverse Charge",
        "Steuerschuldnerschaft des Leistungsempfängers",
        "10 620,00 €",
    ):
        assert needed in text.replace("\u00a0", " ")


def test_render_unknown_invoice_suggests_the_closest(invoiced, cli):
    run = cli("invoice", "render", "INV-2026-0009", "--repo", invoiced)
    assert run.code == 2
    assert "E-UNKNOWN-INVOICE" in run.stderr and "INV-2026-000" in run.stderr


def test_render_loads_only_the_invoice_and_its_account(invoiced, cli):
    # a broken file of another account does not stop rendering this invoice (it is never read)
    (invoiced / "contracts" / "globex" / "account.yaml").write_text("account: [broken\n", encoding="utf-8")
    assert cli("invoice", "render", "INV-2026-0001", "-f", "md", "-o", "-", "--repo", invoiced).code == 0
    assert cli("invoice", "render", "INV-2026-0004", "-f", "md", "-o", "-", "--repo", invoiced).code == 1


# --------------------------------------------------------------------------- a real SMTP server


class Collect:
    def __init__(self):
        self.envelopes = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if "refuse" in address:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _auth(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"billing@example.com"
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@pytest.fixture
def smtp():
    """An SMTP server on 127.0.0.1 that requires AUTH (over plain text: a test server on loopback)."""
    handler = Collect()
    ctl = Controller(
        handler,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=_auth,
        auth_required=True,
        auth_require_tls=False,
    )
    ctl.start()
    yield ctl.port, handler
    ctl.stop()


def _point_at(root: Path, port: int, starttls: bool = False) -> None:
    toml = root / "cpq.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace("port = 2525", f"port = {port}").replace(
        "starttls = false", f"starttls = {str(starttls).lower()}"
    )
    assert f"port = {port}" in text
    toml.write_text(text, encoding="utf-8")


def _number(subject: str) -> str:
    """The invoice number in an e-mail subject ("Faktura VAT INV-2026-0001 od …", "Rechnung INV-… von …")."""
    m = re.search(r"INV-[0-9]{4}-[0-9]{4}", subject)
    assert m is not None, subject
    return m[0]


def _parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def _pdf_of(cli, root, invoice) -> bytes:
    run = cli("invoice", "render", invoice, "-o", root.parent / f"{invoice}.pdf", "--repo", root)
    assert run.code == 0, run.stderr
    return (root.parent / f"{invoice}.pdf").read_bytes()


ENV = {"CPQ_SMTP_PASSWORD": PASSWORD}


def test_send_delivers_the_pdf_and_records_the_delivery(invoiced, cli, smtp):
    port, handler = smtp
    _point_at(invoiced, port)
    path = invoiced / "invoices" / "INV-2026-0001.yaml"
    before = path.read_bytes()
    run = cli("invoice", "send", "INV-2026-0001", "--as-of", AS_OF, "--format", "json", "--repo", invoiced, env=ENV)
    assert run.code == 0, run.stderr
    assert len(handler.envelopes) == 1
    env = handler.envelopes[0]
    assert env.mail_from == "billing@example.com"
    assert env.rcpt_tos == ["anna.nowak@acme.example"]  # the billing contact, not the technical one
    msg = _parse(env.original_content)
    assert msg["Subject"] == "Faktura VAT INV-2026-0001 od Example Software Sp. z o.o."  # acme reads Polish
    assert msg["Date"] == "Thu, 02 Apr 2026 00:00:00 +0000"
    body = msg.get_body(("plain",)).get_content()
    assert (
        "Dzień dobry Anna Nowak," in body
        and "Faktura VAT nr INV-2026-0001 z dnia 01.01.2026" in body
        and "22\u00a0755,00\u00a0zł" in body
        and "15.01.2026" in body
    )
    [att] = list(msg.iter_attachments())
    assert att.get_filename() == "INV-2026-0001.pdf" and att.get_content_type() == "application/pdf"
    assert att.get_content() == _pdf_of(cli, invoiced, "INV-2026-0001")
    # the delivery is appended; the invoice's own bytes are untouched
    after = path.read_bytes()
    assert after.startswith(before)
    assert after[len(before) :].decode() == (
        f'sent:\n  - {{date: {AS_OF}, to: anna.nowak@acme.example, message_id: "{msg["Message-ID"]}"}}\n'
    )
    assert cli("check", "--repo", invoiced).code == 0
    import json

    assert json.loads(run.stdout)["sent"] == [
        {"invoice": "INV-2026-0001", "to": "anna.nowak@acme.example", "message_id": msg["Message-ID"], "date": AS_OF}
    ]


def test_send_again_appends_a_second_delivery(invoiced, cli, smtp):
    from cpqctl.load.repo import load_repo

    port, handler = smtp
    _point_at(invoiced, port)
    assert cli("invoice", "send", "INV-2026-0001", "--as-of", AS_OF, "--repo", invoiced, env=ENV).code == 0
    run = cli(
        "invoice",
        "send",
        "INV-2026-0001",
        "--to",
        "ap@acme.example",
        "--to",
        "anna.nowak@acme.example",
        "--as-of",
        "2026-04-20",
        "--repo",
        invoiced,
        env=ENV,
    )
    assert run.code == 0, run.stderr
    assert handler.envelopes[1].rcpt_tos == ["ap@acme.example", "anna.nowak@acme.example"]
    loaded, diags = load_repo(invoiced)
    assert not [d for d in diags if d.code.startswith("E-")]
    sent = loaded.invoices["INV-2026-0001"].sent
    assert [(str(d.date), d.to) for d in sent] == [
        (AS_OF, "anna.nowak@acme.example"),
        ("2026-04-20", "ap@acme.example, anna.nowak@acme.example"),
    ]
    assert sent[0].message_id != sent[1].message_id  # other recipients, another message
    # the same recipients on another day: a reminder is a new message (services drop a repeated Message-ID)
    assert cli("invoice", "send", "INV-2026-0001", "--as-of", "2026-05-04", "--repo", invoiced, env=ENV).code == 0
    ids = [d.message_id for d in load_repo(invoiced)[0].invoices["INV-2026-0001"].sent]
    assert len(set(ids)) == 3


def test_send_unsent_sends_each_invoice_once(invoiced, cli, smtp):
    port, handler = smtp
    _point_at(invoiced, port)
    assert cli("invoice", "send", "INV-2026-0002", "--as-of", AS_OF, "--repo", invoiced, env=ENV).code == 0
    run = cli("invoice", "send", "--unsent", "--as-of", AS_OF, "--repo", invoiced, env=ENV)
    assert run.code == 0, run.stderr
    subjects = [_number(_parse(e.original_content)["Subject"]) for e in handler.envelopes]
    assert subjects == ["INV-2026-0002", "INV-2025-0001", "INV-2026-0001", "INV-2026-0003", "INV-2026-0004"]
    again = cli("invoice", "send", "--unsent", "--as-of", AS_OF, "--repo", invoiced, env=ENV)
    assert again.code == 0 and len(handler.envelopes) == 5
    assert "no unsent invoices" in again.stderr


def test_unsent_skips_invoices_dated_after_as_of(invoiced, cli, smtp):
    port, handler = smtp
    _point_at(invoiced, port)
    assert cli("invoice", "send", "--unsent", "--as-of", "2026-02-15", "--repo", invoiced, env=ENV).code == 0
    assert sorted(_number(_parse(e.original_content)["Subject"]) for e in handler.envelopes) == [
        "INV-2025-0001",
        "INV-2026-0001",
        "INV-2026-0002",
    ]


def test_unreachable_server_is_a_clear_error_and_records_nothing(invoiced, cli):
    _point_at(invoiced, _free_port())  # nothing listens there
    files = {p: p.read_bytes() for p in (invoiced / "invoices").iterdir()}
    run = cli("invoice", "send", "INV-2026-0001", "--as-of", AS_OF, "--repo", invoiced, env=ENV)
    assert run.code == 1
    assert "E-SMTP-CONNECT" in run.stderr and "cannot reach the SMTP server 127.0.0.1:" in run.stderr
    assert "Traceback" not in run.stderr
    assert {p: p.read_bytes() for p in (invoiced / "invoices").iterdir()} == files


def test_wrong_password_is_refused_and_records_nothing(invoiced, cli, smtp):
    port, handler = smtp
    _point_at(invoiced, port)
    before = (invoiced / "invoices" / "INV-2026-0001.yaml").read_bytes()
    run = cli(
        "invoice", "send", "INV-2026-0001", "--as-of", AS_OF, "--repo", invoiced, env={"CPQ_SMTP_PASSWORD": "wrong"}
    )
    assert run.code == 1 and "E-SMTP-AUTH" in run.stderr
    assert handler.envelopes == []
    assert (invoiced / "invoices" / "INV-2026-0001.yaml").read_bytes() == before


def test_missing_password_variable_is_a_usage_error(invoiced, cli):
    run = cli("invoice", "send", "INV-2026-0001", "--as-of", AS_OF, "--repo", invoiced, env={"CPQ_SMTP_PASSWORD": None})
    assert run.code == 2 and "E-SMTP-PASSWORD" in run.stderr and "CPQ_SMTP_PASSWORD" in run.stderr


@pytest.fixture
def tls_smtp(tmp_path):
    """An SMTP server that requires STARTTLS, with a certificate from a throwaway CA (written to ca.pem)."""
    import ssl

    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    handler = Collect()
    ctl = Controller(
        handler,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=_auth,
        auth_required=True,
    )
    ctl.start()
    yield ctl.port, handler, ca_file
    ctl.stop()


def test_starttls_with_a_trusted_certificate(invoiced, cli, tls_smtp):
    port, handler, ca_file = tls_smtp
    _point_at(invoiced, port, starttls=True)
    run = cli(
        "invoice",
        "send",
        "INV-2026-0004",
        "--as-of",
        AS_OF,
        "--repo",
        invoiced,
        env={**ENV, "SSL_CERT_FILE": str(ca_file)},
    )
    assert run.code == 0, run.stderr
    assert handler.envelopes[0].rcpt_tos == ["jonas.becker@globex.example"]


def test_starttls_with_an_untrusted_certificate_records_nothing(invoiced, cli, tls_smtp, tmp_path):
    port, handler, _ = tls_smtp
    _point_at(invoiced, port, starttls=True)
    empty = tmp_path / "no-ca.pem"
    empty.write_text("", encoding="utf-8")
    before = (invoiced / "invoices" / "INV-2026-0004.yaml").read_bytes()
    run = cli(
        "invoice",
        "send",
        "INV-2026-0004",
        "--as-of",
        AS_OF,
        "--repo",
        invoiced,
        env={**ENV, "SSL_CERT_FILE": str(empty), "SSL_CERT_DIR": str(tmp_path)},
    )
    assert run.code == 1 and "E-SMTP" in run.stderr and "CERTIFICATE_VERIFY_FAILED" in run.stderr
    assert handler.envelopes == []
    assert (invoiced / "invoices" / "INV-2026-0004.yaml").read_bytes() == before


def test_server_without_starttls_is_refused_when_starttls_is_on(invoiced, cli, smtp):
    port, handler = smtp
    _point_at(invoiced, port, starttls=True)
    run = cli("invoice", "send", "INV-2026-0001", "--as-of", AS_OF, "--repo", invoiced, env=ENV)
    assert run.code == 1 and "E-SMTP" in run.stderr and "STARTTLS" in run.stderr.upper()
    assert handler.envelopes == []


# --------------------------------------------------------------------------- .eml


def test_eml_is_deterministic_and_records_nothing(invoiced, cli, tmp_path):
    path = invoiced / "invoices" / "INV-2026-0004.yaml"
    before = path.read_bytes()
    a, b = tmp_path / "a.eml", tmp_path / "b.eml"
    for target in (a, b):
        run = cli("invoice", "send", "INV-2026-0004", "--eml", target, "--as-of", AS_OF, "--repo", invoiced)
        assert run.code == 0, run.stderr
    assert a.read_bytes() == b.read_bytes()
    raw = a.read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n") > 10  # RFC 5322 line ends: CRLF, no bare LF
    msg = _parse(a.read_bytes())
    assert msg["To"] == "jonas.becker@globex.example"
    assert msg["From"] == "Example Software <billing@example.com>"
    assert msg["Date"] == "Thu, 02 Apr 2026 00:00:00 +0000"
    assert msg["Message-ID"].startswith("<INV-2026-0004.") and msg["Message-ID"].endswith("@example.com>")
    body = msg.get_body(("plain",)).get_content()
    assert "Steuerschuldnerschaft des Leistungsempfängers (odwrotne obciążenie)" in body  # globex reads German
    assert "10\u00a0620,00\u00a0€" in body
    [att] = list(msg.iter_attachments())
    assert att.get_content() == _pdf_of(cli, invoiced, "INV-2026-0004")
    assert path.read_bytes() == before
    later = cli("invoice", "send", "INV-2026-0004", "--eml", "-", "--as-of", "2026-05-01", "--repo", invoiced)
    assert _parse(later.stdout.encode())["Date"] == "Fri, 01 May 2026 00:00:00 +0000"


def test_eml_for_several_invoices_goes_to_a_folder(invoiced, cli, tmp_path):
    out = tmp_path / "mail"
    run = cli("invoice", "send", "--unsent", "--eml", out, "--as-of", AS_OF, "--repo", invoiced)
    assert run.code == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "INV-2025-0001.eml",
        "INV-2026-0001.eml",
        "INV-2026-0002.eml",
        "INV-2026-0003.eml",
        "INV-2026-0004.eml",
    ]
    assert cli("invoice", "send", "--unsent", "--eml", "-", "--as-of", AS_OF, "--repo", invoiced).code == 2


def test_recipient_problems(invoiced, cli, tmp_path):
    bad = cli(
        "invoice",
        "send",
        "INV-2026-0001",
        "--to",
        "not an address",
        "--eml",
        tmp_path / "x.eml",
        "--as-of",
        AS_OF,
        "--repo",
        invoiced,
    )
    assert bad.code == 2 and "not an e-mail address" in bad.stderr
    acct = invoiced / "contracts" / "acme" / "account.yaml"
    text = acct.read_text(encoding="utf-8")
    start = text.index("contacts:")
    end = text.index("renewal:")
    acct.write_text(text[:start] + text[end:], encoding="utf-8")
    none = cli("invoice", "send", "INV-2026-0001", "--eml", tmp_path / "x.eml", "--as-of", AS_OF, "--repo", invoiced)
    assert none.code == 1 and "E-NO-RECIPIENT" in none.stderr and "--to" in none.stderr
    assert not (tmp_path / "x.eml").exists()
    ok = cli(
        "invoice",
        "send",
        "INV-2026-0001",
        "--to",
        "Jan Kowalski <jan@acme.example>",
        "--eml",
        tmp_path / "x.eml",
        "--as-of",
        AS_OF,
        "--repo",
        invoiced,
    )
    assert ok.code == 0, ok.stderr
    assert _parse((tmp_path / "x.eml").read_bytes())["To"] == "Jan Kowalski <jan@acme.example>"


def test_names_or_unsent_not_both(invoiced, cli):
    assert cli("invoice", "send", "--repo", invoiced).code == 2
    assert cli("invoice", "send", "INV-2026-0001", "--unsent", "--repo", invoiced).code == 2


def test_no_smtp_host_says_how_to_configure(invoiced, cli):
    toml = invoiced / "cpq.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('host = "127.0.0.1"\n', ""), encoding="utf-8")
    run = cli("invoice", "send", "INV-2026-0001", "--as-of", AS_OF, "--repo", invoiced, env=ENV)
    assert run.code == 2 and "E-SMTP-CONFIG" in run.stderr and "--eml" in run.stderr


def test_eml_file_is_a_valid_rfc5322_message(invoiced, cli, tmp_path):
    from email.parser import BytesParser

    target = tmp_path / "m.eml"
    assert cli("invoice", "send", "INV-2026-0001", "--eml", target, "--as-of", AS_OF, "--repo", invoiced).code == 0
    raw = target.read_bytes()
    msg = BytesParser(policy=email.policy.strict).parse(io.BytesIO(raw))
    assert not msg.defects
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert msg.get_content_type() == "multipart/mixed"


def test_since_limits_unsent_to_invoices_from_that_day(invoiced, cli, smtp):
    port, handler = smtp
    _point_at(invoiced, port)
    run = cli("invoice", "send", "--unsent", "--since", "2026-03-01", "--as-of", AS_OF, "--repo", invoiced, env=ENV)
    assert run.code == 0, run.stderr
    assert sorted(_number(_parse(e.original_content)["Subject"]) for e in handler.envelopes) == [
        "INV-2026-0003",
        "INV-2026-0004",
    ]
    assert cli("invoice", "send", "INV-2026-0001", "--since", "2026-03-01", "--repo", invoiced).code == 2


def test_a_new_repository_writes_eml_before_it_has_a_mail_server(invoiced, cli, tmp_path):
    toml = invoiced / "cpq.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text[: text.index("[smtp]")] + text[text.index("[fx]") :], encoding="utf-8")
    target = tmp_path / "m.eml"
    run = cli("invoice", "send", "INV-2026-0001", "--eml", target, "--as-of", AS_OF, "--repo", invoiced)
    assert run.code == 0, run.stderr
    assert _parse(target.read_bytes())["From"] == '"Example Software Sp. z o.o." <billing@example.invalid>'
    assert "set [smtp] from" in run.stderr
    sent = cli("invoice", "send", "INV-2026-0001", "--as-of", AS_OF, "--repo", invoiced)
    assert sent.code == 2 and "E-SMTP-CONFIG" in sent.stderr


def test_output_to_a_pipe_or_device_writes_into_it_and_keeps_it(invoiced, cli, tmp_path):
    """`-o /dev/null` once replaced the device node with a regular file (write + rename): never again."""
    import os
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    run = cli("invoice", "render", "INV-2026-0001", "-f", "md", "-o", fifo, "--repo", invoiced)
    reader.join(timeout=30)
    assert run.code == 0, run.stderr
    assert got and got[0].startswith(b"# Faktura VAT INV-2026-0001")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert cli("invoice", "render", "INV-2026-0001", "-o", tmp_path, "--repo", invoiced).code == 2


# --------------------------------------------------------------------------- refusals and the `sent:` record


def test_partly_refused_recipients_record_who_got_it(invoiced, cli, smtp):
    port, handler = smtp
    _point_at(invoiced, port)
    run = cli(
        "invoice",
        "send",
        "INV-2026-0001",
        "--to",
        "ok@acme.example",
        "--to",
        "refuse-me@acme.example",
        "--as-of",
        AS_OF,
        "--repo",
        invoiced,
        env=ENV,
    )
    assert run.code == 1 and "E-SMTP-REFUSED" in run.stderr and "refuse-me@acme.example refused" in run.stderr
    assert handler.envelopes[0].rcpt_tos == ["ok@acme.example"]
    from cpqctl.load.repo import load_repo

    [d] = load_repo(invoiced)[0].invoices["INV-2026-0001"].sent
    assert d.to == "ok@acme.example"  # recorded: `--unsent` will not send it again


def test_unsent_goes_on_after_an_invoice_nobody_would_take(invoiced, cli, smtp):
    port, handler = smtp
    _point_at(invoiced, port)
    acct = invoiced / "contracts" / "umbrella" / "account.yaml"
    text = acct.read_text(encoding="utf-8")
    acct.write_text(re.sub(r"email: [^,}]+", "email: refuse@umbrella.example", text), encoding="utf-8")
    run = cli("invoice", "send", "--unsent", "--as-of", AS_OF, "--repo", invoiced, env=ENV)
    assert run.code == 1 and "INV-2026-0002" in run.stderr and "INV-2026-0003" in run.stderr
    sent = sorted(_number(_parse(e.original_content)["Subject"]) for e in handler.envelopes)
    assert sent == ["INV-2025-0001", "INV-2026-0001", "INV-2026-0004"]  # umbrella's two were skipped, not the rest


def test_a_delivery_that_cannot_be_recorded_says_what_to_add(invoiced, cli, smtp, monkeypatch):
    from cpqctl import store

    port, handler = smtp
    _point_at(invoiced, port)

    def full_disk(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.Transaction, "commit", full_disk)
    run = cli("invoice", "send", "INV-2026-0001", "--as-of", AS_OF, "--repo", invoiced, env=ENV)
    assert run.code == 1 and "E-SENT-NOT-RECORDED" in run.stderr and "Traceback" not in run.stderr
    assert len(handler.envelopes) == 1
    mid = _parse(handler.envelopes[0].original_content)["Message-ID"]
    assert mid in run.stderr and "sent:" in run.stderr and "No space left" in run.stderr


@pytest.mark.parametrize(
    ("tail", "ok"),
    [
        ('sent:\n  - {date: 2026-04-01, to: a@b.example, message_id: "<x@y>"}', True),  # no final newline
        ("sent: []\n", False),
        ("sent: [{date: 2026-04-01, to: a@b.example}]\n", False),
        ("sent:\n  - {date: 2026-04-01, to: a@b.example}\nreason: late\n", False),
    ],
)
def test_the_sent_list_is_appended_to_or_refused_never_broken(invoiced, cli, tail, ok, tmp_path):
    from cpqctl import store
    from cpqctl.app.invoicing import _sent_append
    from cpqctl.core.diagnostics import CpqError
    from cpqctl.load.repo import load_repo

    path = invoiced / "invoices" / "INV-2026-0001.yaml"
    path.write_text(path.read_text(encoding="utf-8") + tail, encoding="utf-8")
    loaded, _diags = load_repo(invoiced)
    inv = loaded.invoices["INV-2026-0001"]
    from datetime import date

    if not ok:
        with pytest.raises(CpqError) as e:
            _sent_append(store.Store(invoiced), inv, date(2026, 4, 2), ["c@d.example"], "<m@id>")
        assert e.value.code == "E-SENT-NOT-LAST"
        return
    _rel, text, _ = _sent_append(store.Store(invoiced), inv, date(2026, 4, 2), ["c@d.example"], "<m@id>")
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    again = load_repo(invoiced)[0].invoices["INV-2026-0001"]
    assert [d.to for d in again.sent] == ["a@b.example", "c@d.example"]


def test_sender_name_is_quoted_and_bad_addresses_refused(invoiced, cli, tmp_path):
    toml = invoiced / "cpq.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace('from = "Example Software <billing@example.com>"\n', "")
    text = text.replace('name = "Example Software Sp. z o.o."', 'name = "Kowalski, Nowak i Wspólnicy sp.k."')
    toml.write_text(text, encoding="utf-8")
    target = tmp_path / "m.eml"
    run = cli("invoice", "send", "INV-2026-0001", "--eml", target, "--as-of", AS_OF, "--repo", invoiced)
    assert run.code == 0, run.stderr
    msg = _parse(target.read_bytes())
    assert msg["From"].addresses[0].addr_spec == "billing@example.com"
    assert msg["From"].addresses[0].display_name == "Kowalski, Nowak i Wspólnicy sp.k."
    for bad in ("a@b.example\nBcc: x@y.example", "łukasz@łódź.example"):
        r = cli("invoice", "send", "INV-2026-0001", "--to", bad, "--eml", target, "--as-of", AS_OF, "--repo", invoiced)
        assert r.code == 2 and "not an e-mail address" in r.stderr


def test_sending_one_account_s_invoices_reads_that_account_and_sends_what_the_whole_path_sends(
    invoiced, cli, smtp, monkeypatch
):
    """`invoice send` of invoices of one account reads that account's files only (issue 21) and sends, records
    and prints what the whole repository's path does, byte for byte; invoices of two accounts are sent from the
    whole repository."""
    import shutil

    from cpqctl.app.workspace import Workspace
    from cpqctl.load import repo as loader

    port, handler = smtp
    _point_at(invoiced, port)
    other = Path(shutil.copytree(invoiced, invoiced.parent / "other", ignore=shutil.ignore_patterns(".cpq")))
    owner = {
        f.stem: re.search(r"^account: (\S+)$", f.read_text(encoding="utf-8"), re.M)[1]
        for f in sorted((invoiced / "invoices").glob("INV-*.yaml"))
    }
    by_account: dict[str, list[str]] = {}
    for number, account in owner.items():
        by_account.setdefault(account, []).append(number)
    pair = next(ns for ns in by_account.values() if len(ns) >= 2)  # two invoices of one account
    mixed = (pair[0], next(n for n, a in owner.items() if a != owner[pair[0]]))  # two accounts'
    asks = [(pair[0],), tuple(pair[:2]), mixed]

    def scenario(root: Path) -> list:
        out = []
        for numbers in asks:
            run = cli("invoice", "send", *numbers, "--as-of", AS_OF, "--format", "json", "--repo", root, env=ENV)
            out.append((run.code, run.stdout, run.stderr, [e.original_content for e in handler.envelopes]))
            handler.envelopes.clear()
        return out

    loaded: list[str] = []
    parts = loader.load_account_parts
    monkeypatch.setattr(
        loader, "load_account_parts", lambda root, account, *more: loaded.append(account) or parts(root, account, *more)
    )
    scoped = scenario(invoiced)
    one_account = [numbers for numbers in asks if len({owner[n] for n in numbers}) == 1]
    assert loaded == [owner[numbers[0]] for numbers in one_account] and len(one_account) >= 2
    monkeypatch.setattr(Workspace, "writing_account", lambda self, account, tolerate=frozenset(), **_: self.writing())
    assert scenario(other) == scoped and all(x[0] == 0 and x[3] for x in scoped)
    for f in sorted((invoiced / "invoices").glob("*.yaml")):
        assert f.read_bytes() == (other / "invoices" / f.name).read_bytes()
