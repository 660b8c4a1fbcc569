"""EN 16931 wired into the commands (docs/einvoicing.md): `invoice render --format facturx|ubl`, an account's
`einvoice: ksef+ubl` (KSeF for the law, UBL for the buyer), `check`'s E-EN16931 with the Schematron rule ID and
file:line, and `invoice send` attaching the account's files. The renderers and validators themselves are
tests/test_einvoice_en16931.py; the repository is test_einvoice_wiring's (every account invoiced on 2026-04-01)."""

from __future__ import annotations

import email
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from cpqctl.formats import en16931
from tests.conftest import copy_repo
from tests.test_einvoice_wiring import _redigest, issued  # noqa: F401  (the module's fixture)

GLOBEX = "contracts/globex/account.yaml"


@pytest.fixture
def repo(issued: Path, tmp_path: Path) -> Path:  # noqa: F811
    return copy_repo(issued, tmp_path / "repo")


def _invoices_of(root: Path, account: str) -> list[Path]:
    return sorted(p for p in (root / "invoices").glob("*.yaml") if f"\naccount: {account}\n" in p.read_text("utf-8"))


def _use(root: Path, account: str, value: str, peppol: str = "") -> None:
    path = root / "contracts" / account / "account.yaml"
    text = path.read_text(encoding="utf-8")
    extra = f"einvoice: {value}\n" + (f'peppol_id: "{peppol}"\n' if peppol else "")
    path.write_text(text.replace("\ncurrency:", f"\n{extra}currency:", 1), encoding="utf-8")


def test_every_invoice_renders_as_valid_ubl_and_facturx(cli, issued: Path, tmp_path: Path) -> None:  # noqa: F811
    numbers = sorted(p.stem for p in (issued / "invoices").glob("*.yaml"))
    assert len(numbers) >= 6
    for number in numbers:
        target = tmp_path / f"{number}.ubl.xml"
        ubl = cli("invoice", "render", number, "--format", "ubl", "-o", target, "--repo", issued)
        assert ubl.code == 0, ubl.stderr
        xml = target.read_bytes()
        assert en16931.fatal(en16931.validate_ubl(xml)) == [], number
        assert f"<cbc:ID>{number}</cbc:ID>".encode() in xml
        out = tmp_path / f"{number}.pdf"
        fx = cli("invoice", "render", number, "--format", "facturx", "-o", out, "--repo", issued)
        assert fx.code == 0, fx.stderr
        reader = PdfReader(out)
        (cii,) = reader.attachments["factur-x.xml"]
        assert en16931.fatal(en16931.validate_cii(cii)) == [], number
        assert "/AF" in reader.trailer["/Root"]
        assert b"pdfaid:part" in out.read_bytes() and b"fx:ConformanceLevel" in out.read_bytes()
    # the same invoice, the same bytes
    again = tmp_path / "again.pdf"
    assert cli("invoice", "render", numbers[0], "--format", "facturx", "-o", again, "--repo", issued).code == 0
    assert again.read_bytes() == (tmp_path / f"{numbers[0]}.pdf").read_bytes()


def test_check_validates_the_accounts_formats_and_names_the_rule(cli, repo: Path) -> None:
    _use(repo, "globex", "ksef+ubl", "9930:DE811234565")
    clean = cli("check", "--format", "json", "--repo", repo)
    assert clean.code == 0 and json.loads(clean.stdout)["diagnostics"] == [], clean.stdout
    (path,) = _invoices_of(repo, "globex")[:1]
    _redigest(path, ", tax_id: DE811234565, country: DE}", ", country: DE}")  # buyer without a VAT ID
    run = cli("check", "--format", "json", "--repo", repo)
    assert run.code == 1
    found = [d for d in json.loads(run.stdout)["diagnostics"] if d["code"] == "E-EN16931"]
    assert found, run.stdout
    rules = {d["message"].split("): ", 1)[1].split(":", 1)[0] for d in found}
    assert "BR-AE-02" in rules
    assert {d["file"] for d in found} == {f"invoices/{path.name}"} and all(d["line"] >= 1 for d in found)
    assert all("[BR-" not in d["message"] for d in found)  # the rule ID once, not repeated by CEN's text
    text = cli("check", "--repo", repo)
    assert f"invoices/{path.name}:" in text.stdout + text.stderr and "BR-AE-02" in text.stdout + text.stderr


def test_an_account_without_en16931_is_not_held_to_it(cli, repo: Path) -> None:
    (path,) = _invoices_of(repo, "globex")[:1]
    _redigest(path, ", tax_id: DE811234565, country: DE}", ", country: DE}")
    run = cli("check", "--format", "json", "--repo", repo)
    assert "E-EN16931" not in run.stdout


def test_send_attaches_the_accounts_structured_files(cli, repo: Path, tmp_path: Path) -> None:
    _use(repo, "globex", "ksef+ubl", "9930:DE811234565")
    (path,) = _invoices_of(repo, "globex")[:1]
    out = tmp_path / "m.eml"
    run = cli("invoice", "send", path.stem, "--eml", out, "--repo", repo)
    assert run.code == 0, run.stderr
    msg = email.message_from_bytes(out.read_bytes())
    names = {p.get_filename(): p.get_payload(decode=True) for p in msg.walk() if p.get_filename()}
    assert f"{path.stem}.ubl.xml" in names and f"{path.stem}.pdf" in names
    xml = names[f"{path.stem}.ubl.xml"]
    assert en16931.fatal(en16931.validate_ubl(xml)) == []
    assert b'<cbc:EndpointID schemeID="9930">DE811234565</cbc:EndpointID>' in xml
    _use(repo, "umbrella", "facturx")
    (np_path,) = _invoices_of(repo, "umbrella")[:1]
    run = cli("invoice", "send", np_path.stem, "--eml", out, "--repo", repo)
    assert run.code == 0, run.stderr
    msg = email.message_from_bytes(out.read_bytes())
    parts = {p.get_filename(): p.get_payload(decode=True) for p in msg.walk() if p.get_filename()}
    assert f"{np_path.stem}.factur-x.pdf" in parts


def test_einvoice_takes_known_combinations_only(cli, repo: Path) -> None:
    _use(repo, "globex", "ksef+peppol")
    run = cli("check", "--format", "json", "--repo", repo)
    assert run.code == 1 and GLOBEX in run.stdout and "ksef+ubl" in run.stdout
