"""`cpqctl invoice submit` against a KSeF 2.0 API on 127.0.0.1 (docs/einvoicing.md).

The server below answers, for one company, every endpoint ksef-client 0.20 calls in its online-session flow, as
the Ministry's API does (https://api-test.ksef.mf.gov.pl/docs/v2): ``GET /v2/security/public-key-certificates`` (a
throwaway RSA key and self-signed certificate made with ``cryptography``, for both usages), ``POST
/v2/auth/challenge``, ``POST /v2/auth/ksef-token`` (202; the token is decrypted with the key and compared with the
one expected), ``GET /v2/auth/{ref}``, ``POST /v2/auth/token/redeem``, ``POST /v2/sessions/online`` (201; the AES
key is decrypted), ``POST /v2/sessions/online/{ref}/invoices`` (202; the invoice decrypted, its hash and size
checked), ``GET /v2/sessions/{ref}/invoices/{ref}`` (150 "in processing" once, then 200 with the KSeF number) and
``POST /v2/sessions/online/{ref}/close`` (204). Everything received is kept for the tests to look at. Failure
modes: ``fail_send`` (the send answers HTTP 500), ``reject`` (status 450 with KSeF's details). It runs in a daemon
thread, one request at a time, and shuts itself down after ``lifetime`` seconds whatever happens.

The repository: the example with ACME invoiced on 2026-04-01 (KSeF is mandatory from then, cpq.toml's default
[ksef] mandatory_from), cpq.toml [ksef] pointing at the server through ``base_url``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pypdf
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from tests.conftest import copy_example, copy_repo, invoke

NIP = "7251234561"  # the example's seller
ACCEPTED = "2026-04-02T09:15:27.4185422+00:00"  # the server's clock, as KSeF writes it (7 fraction digits)


def _crc8(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def ksef_number(nip: str, day: str, n: int) -> str:
    """A KSeF number as KSeF writes it: NIP-YYYYMMDD-12 hex-CRC-8 (ksef_client.utils.ksef_number checks it)."""
    head = f"{nip}-{day.replace('-', '')}-{n:012X}"
    return f"{head}-{_crc8(head.encode('ascii')):02X}"


@dataclass
class Received:
    """What the server was sent: the token (decrypted), the context, each invoice's XML (decrypted), the requests."""

    token: str = ""
    context: dict = field(default_factory=dict)
    invoices: list[bytes] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)


class FakeKsef:
    """The API of one company's KSeF (see the module docstring); ``with FakeKsef(token) as k:`` serves on k.url."""

    def __init__(self, token: str, *, lifetime: float = 120.0) -> None:
        self.token = token
        self.fail_send = False
        self.reject = False
        self.got = Received()
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "KSeF test double")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self._key, hashes.SHA256())
        )
        self._cert_b64 = base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii")
        self._valid = (now - timedelta(days=1)).isoformat(), (now + timedelta(days=30)).isoformat()
        self._sessions: dict[str, tuple[bytes, bytes]] = {}  # session → (AES key, IV)
        self._invoices: dict[str, tuple[str, bytes, int]] = {}  # invoice reference → (session, XML, status queries)
        self._challenge_ms = 1774948527418
        self.server = HTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    def __enter__(self) -> FakeKsef:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._timer.cancel()
        if self._thread.is_alive():
            self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ the API

    def _oaep(self, b64: str) -> bytes:
        pad = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        return self._key.decrypt(base64.b64decode(b64), pad)

    def answer(self, method: str, path: str, auth: str, body: dict | None) -> tuple[int, dict | list | None]:
        self.got.requests.append(f"{method} {path}")
        until = self._valid[1]
        if method == "GET" and path == "/v2/security/public-key-certificates":
            usage = ["KsefTokenEncryption", "SymmetricKeyEncryption"]
            return 200, [
                {
                    "certificate": self._cert_b64,
                    "certificateId": "test-1",
                    "publicKeyId": "test-1",
                    "usage": usage,
                    "validFrom": self._valid[0],
                    "validTo": until,
                }
            ]
        if method == "POST" and path == "/v2/auth/challenge":
            return 200, {
                "challenge": "20260402-CR-20B4A4B9B6-4D1B5F6A0E-D4",
                "clientIp": "127.0.0.1",
                "timestamp": "2026-04-02T09:15:27.418Z",
                "timestampMs": self._challenge_ms,
            }
        if method == "POST" and path == "/v2/auth/ksef-token":
            token, _, stamp = self._oaep(body["encryptedToken"]).decode().rpartition("|")
            self.got.token, self.got.context = token, body["contextIdentifier"]
            if token != self.token or stamp != str(self._challenge_ms):
                return 401, {
                    "exception": {
                        "exceptionDetailList": [{"exceptionCode": 21301, "exceptionDescription": "Nieprawidłowy token"}]
                    }
                }
            return 202, {
                "authenticationToken": {"token": "auth-op-token", "validUntil": until},
                "referenceNumber": "20260402-AU-2DFC46C000-3AC6D5877F-D4",
            }
        if method == "GET" and path.startswith("/v2/auth/20260402-AU-"):
            assert auth == "Bearer auth-op-token", auth
            return 200, {
                "authenticationMethod": "Token",
                "authenticationMethodInfo": {"category": "Token", "code": "token.ksef", "displayName": "Token KSeF"},
                "startDate": "2026-04-02T09:15:27.5+00:00",
                "status": {"code": 200, "description": "Uwierzytelnianie zakończone sukcesem"},
            }
        if method == "POST" and path == "/v2/auth/token/redeem":
            return 200, {
                "accessToken": {"token": "access-token", "validUntil": until},
                "refreshToken": {"token": "refresh-token", "validUntil": until},
            }
        if auth != "Bearer access-token":
            return 401, {"status": 401, "title": "Unauthorized"}
        if method == "POST" and path == "/v2/sessions/online":
            assert body["formCode"] == {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}, body
            enc = body["encryption"]
            ref = f"20260402-SO-2C3E6C8000-B675CF5D68-{len(self._sessions):02d}"
            self._sessions[ref] = (
                self._oaep(enc["encryptedSymmetricKey"]),
                base64.b64decode(enc["initializationVector"]),
            )
            return 201, {"referenceNumber": ref, "validUntil": until}
        m = re.fullmatch(r"/v2/sessions/online/([^/]+)/invoices", path)
        if method == "POST" and m:
            if self.fail_send:
                return 500, {
                    "exception": {
                        "exceptionDetailList": [{"exceptionCode": 500, "exceptionDescription": "Błąd serwera"}]
                    }
                }
            key, iv = self._sessions[m.group(1)]
            sealed = base64.b64decode(body["encryptedInvoiceContent"])
            unpadder = sym_padding.PKCS7(128).unpadder()
            plain = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
            xml = unpadder.update(plain.update(sealed) + plain.finalize()) + unpadder.finalize()
            assert body["invoiceHash"] == base64.b64encode(hashlib.sha256(xml).digest()).decode(), "invoiceHash"
            assert body["invoiceSize"] == len(xml)
            self.got.invoices.append(xml)
            ref = f"20260402-EE-{len(self._invoices) + 1:010X}-3F1A0B2C4D-{len(self._invoices):02d}"
            self._invoices[ref] = (m.group(1), xml, 0)
            return 202, {"referenceNumber": ref}
        m = re.fullmatch(r"/v2/sessions/([^/]+)/invoices/([^/]+)", path)
        if method == "GET" and m and m.group(2) in self._invoices:
            session, xml, asked = self._invoices[m.group(2)]
            self._invoices[m.group(2)] = (session, xml, asked + 1)
            n = list(self._invoices).index(m.group(2)) + 1
            number = re.search(rb"<P_2>([^<]*)</P_2>", xml).group(1).decode()
            day = re.search(rb"<P_1>([^<]*)</P_1>", xml).group(1).decode()
            common = {
                "ordinalNumber": n,
                "invoiceNumber": number,
                "referenceNumber": m.group(2),
                "invoiceHash": base64.b64encode(hashlib.sha256(xml).digest()).decode(),
                "invoicingDate": "2026-04-02T09:15:28.0+00:00",
            }
            if asked == 0:
                return 200, {**common, "status": {"code": 150, "description": "Trwa przetwarzanie"}}
            if self.reject:
                return 200, {
                    **common,
                    "status": {
                        "code": 450,
                        "description": "Błąd weryfikacji semantyki dokumentu faktury",
                        "details": ["Nieprawidłowa wartość pola NIP nabywcy"],
                    },
                }
            return 200, {
                **common,
                "ksefNumber": ksef_number(NIP, day, 0x0100001AF600 + n),
                "acquisitionDate": ACCEPTED,
                "status": {"code": 200, "description": "Sukces"},
            }
        m = re.fullmatch(r"/v2/sessions/online/([^/]+)/close", path)
        if method == "POST" and m:
            self.got.closed.append(m.group(1))
            return 204, None
        return 404, {"status": 404, "title": "Not Found", "detail": f"{method} {path}"}

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _do(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                try:
                    status, payload = api.answer(method, self.path, self.headers.get("Authorization", ""), body)
                except AssertionError as e:  # the client sent something KSeF would refuse
                    status, payload = 400, {"exception": {"exceptionDetailList": [{"exceptionDescription": str(e)}]}}
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self._do("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._do("POST")

            def log_message(self, *args) -> None:  # quiet
                pass

        return Handler


# --------------------------------------------------------------------------- the tests

TOKEN = "20260402-EC-0123456789-ABCDEF0123-45|nip-7251234561|0f1e2d3c4b5a69788796a5b4c3d2e1f0"
ENV = {"KSEF_TOKEN": TOKEN, "NO_PROXY": "127.0.0.1,localhost", "HTTP_PROXY": None, "HTTPS_PROXY": None,
       "ALL_PROXY": None, "http_proxy": None, "https_proxy": None, "all_proxy": None}  # fmt: skip
AS_OF = "2026-04-02"


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with ACME's invoices issued on 2026-04-01 (INV-2026-0001: Q1 caught up, INV-2026-0002: Q2)."""
    root = copy_example(tmp_path_factory.mktemp("ksef") / "example")
    r = invoke("invoice", "run", "--as-of", "2026-04-01", "--account", "acme", "--repo", root)
    assert r.exit_code == 0, r.stderr
    return root


@pytest.fixture
def repo(issued: Path, tmp_path: Path) -> Path:
    return copy_repo(issued, tmp_path / "repo")


@pytest.fixture
def ksef(repo: Path, monkeypatch: pytest.MonkeyPatch):
    from cpqctl.app import einvoicing

    monkeypatch.setattr(einvoicing, "POLL_SECONDS", 0.01)  # the server answers "in processing" once
    with FakeKsef(TOKEN, lifetime=60) as server:
        toml = repo / "cpq.toml"
        toml.write_text(
            toml.read_text(encoding="utf-8")
            + f'\n[ksef]\nenvironment = "test"\ntoken_env = "KSEF_TOKEN"\nbase_url = "{server.url}"\n',
            encoding="utf-8",
        )
        yield server


def _file(repo: Path, number: str) -> Path:
    return repo / "invoices" / f"{number}.yaml"


def _yaml(repo: Path, number: str) -> dict:
    return yaml.safe_load(_file(repo, number).read_text(encoding="utf-8"))


def _submit(cli, repo: Path, *args: str, env: dict | None = None):
    return cli("invoice", "submit", *args, "--as-of", AS_OF, "--repo", repo, env=ENV if env is None else env)


def test_submit_records_the_ksef_number_outside_the_digest(cli, repo, ksef) -> None:
    from cpqctl.formats.digest import digest_of
    from cpqctl.formats.ksef import fa3_xml, ksef_qr_url, validate_fa3
    from cpqctl.load.repo import load_repo

    before = {n: _file(repo, n).read_bytes() for n in ("INV-2026-0001", "INV-2026-0002")}
    run = _submit(cli, repo, "--unsent", "--format", "json")
    assert run.code == 0, run.stderr
    # what KSeF got: the token (decrypted with its key), the seller's NIP as the context, both invoices' FA(3)
    assert ksef.got.token == TOKEN
    assert ksef.got.context == {"type": "Nip", "value": NIP}
    assert [x[x.index(b"<P_2>") + 5 : x.index(b"</P_2>")] for x in ksef.got.invoices] == [
        b"INV-2026-0001",
        b"INV-2026-0002",
    ]
    assert all(validate_fa3(x) == [] for x in ksef.got.invoices)
    assert len(ksef.got.closed) == 1  # one session, closed
    doc = json.loads(run.stdout)
    assert doc["as_of"] == AS_OF and doc["skipped"] == []
    assert [x["invoice"] for x in doc["submitted"]] == ["INV-2026-0001", "INV-2026-0002"]
    assert set(doc["submitted"][0]) == {"invoice", "ksef_number", "accepted", "reference", "session", "environment"}
    repo_, diags = load_repo(repo)
    assert [d for d in diags if d.severity == "error"] == []
    for n, sent in zip(("INV-2026-0001", "INV-2026-0002"), ksef.got.invoices):
        after = _file(repo, n).read_bytes()
        # the invoice's own bytes are untouched: the record is one line after the digest line
        assert after.startswith(before[n])
        added = after[len(before[n]) :].decode()
        assert added.startswith("ksef: {number: ") and added.count("\n") == 1
        rec = _yaml(repo, n)["ksef"]
        number = doc["submitted"][int(n[-1]) - 1]["ksef_number"]
        assert rec == {
            "number": number,
            "accepted": ACCEPTED,  # the server's timestamp, as it wrote it
            "reference": doc["submitted"][int(n[-1]) - 1]["reference"],
            "session": ksef.got.closed[0],
            "environment": "test",
            "sha256": "sha256:" + hashlib.sha256(sent).hexdigest(),
        }
        assert number.startswith(f"{NIP}-20260401-")
        inv = repo_.invoices[n]
        assert inv.digest == digest_of(before[n].decode()) and inv.ksef.number == number
        # the file submitted is kept beside the invoice, byte for byte, and is what FA(3) of the invoice is
        kept = (repo / "invoices" / f"{n}.ksef.xml").read_bytes()
        assert kept == sent == fa3_xml(inv)
        # KOD I from the recorded digest is the link of the Ministry's rule over the bytes submitted
        from cpqctl.views.documents import ksef_verification_url

        assert ksef_verification_url("test", "PL" + NIP, inv.date, rec["sha256"]) == ksef_qr_url(
            "test", NIP, inv.date, sent
        )
    assert cli("check", "--repo", repo).code == 0
    # `invoice render --format ksef` gives the file submitted
    run = cli("invoice", "render", "INV-2026-0001", "--format", "ksef", "-o", "-", "--repo", repo)
    assert run.code == 0 and run.stdout.encode() == ksef.got.invoices[0]


def test_a_second_run_submits_nothing(cli, repo, ksef) -> None:
    assert _submit(cli, repo, "--unsent").code == 0
    files = {p.name: p.read_bytes() for p in (repo / "invoices").iterdir()}
    sent = len(ksef.got.invoices)
    again = _submit(cli, repo, "--unsent")
    assert again.code == 0 and "nothing to submit" in again.stderr
    named = _submit(cli, repo, "INV-2026-0001", "--format", "json")
    assert named.code == 0, named.stderr
    assert json.loads(named.stdout) == {"as_of": AS_OF, "submitted": [], "skipped": ["INV-2026-0001"]}
    assert "in KSeF already" in named.stderr
    assert len(ksef.got.invoices) == sent
    assert {p.name: p.read_bytes() for p in (repo / "invoices").iterdir()} == files


def test_a_server_error_leaves_the_files_untouched(cli, repo, ksef) -> None:
    ksef.fail_send = True
    files = {p.name: p.read_bytes() for p in (repo / "invoices").iterdir()}
    run = _submit(cli, repo, "INV-2026-0001", "--format", "json")
    assert run.code == 1
    err = json.loads(run.stdout)["error"]
    assert err["code"] == "E-KSEF-HTTP" and "HTTP 500" in err["message"] and "INV-2026-0001" in err["message"]
    assert "error[E-KSEF-HTTP]" in run.stderr and "run the same command again" in run.stderr
    assert {p.name: p.read_bytes() for p in (repo / "invoices").iterdir()} == files
    assert len(ksef.got.closed) == 1  # the session is closed all the same
    ksef.fail_send = False
    assert _submit(cli, repo, "INV-2026-0001").code == 0  # and a later run goes through


def test_an_invoice_ksef_rejects_is_reported_and_not_recorded(cli, repo, ksef) -> None:
    ksef.reject = True
    files = {p.name: p.read_bytes() for p in (repo / "invoices").iterdir()}
    run = _submit(cli, repo, "--unsent")
    assert run.code == 1
    assert "error[E-KSEF-REJECTED]" in run.stderr and "450" in run.stderr and "NIP nabywcy" in run.stderr
    assert {p.name: p.read_bytes() for p in (repo / "invoices").iterdir()} == files


def test_a_missing_token_is_a_clear_error(cli, repo, ksef) -> None:
    files = {p.name: p.read_bytes() for p in (repo / "invoices").iterdir()}
    run = _submit(cli, repo, "--unsent", "--format", "json", env={**ENV, "KSEF_TOKEN": None})
    assert run.code == 2  # unusable input, like a missing SMTP password
    err = json.loads(run.stdout)["error"]
    assert err["code"] == "E-KSEF-TOKEN" and "KSEF_TOKEN" in err["message"] and "export KSEF_TOKEN" in err["hint"]
    assert ksef.got.requests == []  # refused before anything went out
    assert {p.name: p.read_bytes() for p in (repo / "invoices").iterdir()} == files


def test_a_wrong_token_is_refused_by_the_server(cli, repo, ksef) -> None:
    run = _submit(cli, repo, "--unsent", env={**ENV, "KSEF_TOKEN": "not-the-token"})
    assert run.code == 1 and "error[E-KSEF-HTTP]" in run.stderr and "authentication" in run.stderr
    assert "ksef:" not in _file(repo, "INV-2026-0001").read_text(encoding="utf-8")


def test_without_ksef_settings_submit_says_what_to_add(cli, repo) -> None:
    run = _submit(cli, repo, "--unsent")
    assert run.code == 2 and "error[E-KSEF-CONFIG]" in run.stderr and "[ksef]" in run.stderr


def test_the_pdf_shows_the_ksef_number_and_kod_i_and_send_attaches_the_xml(cli, repo, ksef) -> None:
    import email
    import email.policy

    from cpqctl.load.repo import load_repo
    from cpqctl.views.documents import _qr_svg, invoice_data

    kept_pdf = (repo / "invoices" / "INV-2026-0001.pdf").read_bytes()
    assert _submit(cli, repo, "INV-2026-0001").code == 0
    number = _yaml(repo, "INV-2026-0001")["ksef"]["number"]
    repo_ = load_repo(repo)[0]
    inv = repo_.invoices["INV-2026-0001"]
    data = invoice_data(repo_, inv)
    url = data["ksef"]["url"]
    assert url.startswith(f"https://qr-test.ksef.mf.gov.pl/invoice/{NIP}/01-04-2026/")
    assert data["ksef"]["qr"] == _qr_svg(url)  # the QR code's payload is KOD I
    # the PDF: the KSeF visualisation, a re-render; the kept PDF is the document as issued, unchanged
    out = repo / "visual.pdf"
    run = cli("invoice", "render", "INV-2026-0001", "--format", "pdf", "-o", out, "--repo", repo)
    assert run.code == 0, run.stderr
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(out.read_bytes())).pages)
    flat = text.replace("\n", "")
    assert "Numer KSeF" in text.replace("NUMER KSEF", "Numer KSeF") and text.count(number) >= 2  # and under the QR
    assert url in flat
    assert out.read_bytes() != kept_pdf
    assert (repo / "invoices" / "INV-2026-0001.pdf").read_bytes() == kept_pdf
    md = cli("invoice", "render", "INV-2026-0001", "--format", "md", "-o", "-", "--repo", repo).stdout
    assert f"Numer KSeF: **{number}**" in md and f"<{url}>" in md
    # the Typst source holds the QR code of exactly that link
    from cpqctl.render.documents import render_typst, typst_string

    typ = render_typst("invoice", data, None)
    assert str(typst_string(_qr_svg(url))) in typ
    # a kept document changed is still refused, KSeF or not
    (repo / "invoices" / "INV-2026-0001.pdf").write_bytes(kept_pdf + b"%x\n")
    run = cli("invoice", "render", "INV-2026-0001", "--format", "pdf", "-o", out, "--repo", repo)
    assert run.code == 1 and "E-KEPT-DOCUMENT" in run.stderr
    (repo / "invoices" / "INV-2026-0001.pdf").write_bytes(kept_pdf)
    # the e-mail: the visualisation and the FA(3) file as submitted
    eml = repo / "x.eml"
    run = cli("invoice", "send", "INV-2026-0001", "--eml", eml, "--as-of", AS_OF, "--repo", repo)
    assert run.code == 0, run.stderr
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    atts = {a.get_filename(): a for a in msg.iter_attachments()}
    assert sorted(atts) == ["INV-2026-0001.pdf", "INV-2026-0001.xml"]
    assert atts["INV-2026-0001.xml"].get_content_type() == "application/xml"
    assert atts["INV-2026-0001.xml"].get_content() == ksef.got.invoices[0]
    assert atts["INV-2026-0001.pdf"].get_content() == out.read_bytes()
    # the kept FA(3) file changed: refused, never sent or shown with a wrong KOD I
    xml = repo / "invoices" / "INV-2026-0001.ksef.xml"
    xml.write_bytes(xml.read_bytes().replace(b"cpqctl", b"cpqctm"))
    run = cli("invoice", "send", "INV-2026-0001", "--eml", eml, "--as-of", AS_OF, "--repo", repo)
    assert run.code == 1 and "E-KEPT-DOCUMENT" in run.stderr and "ksef.xml" in run.stderr
