"""KSeF wired into the commands (docs/einvoicing.md): `invoice render --format ksef`, the account's `einvoice:` and
`peppol_id:`, `check`'s E-KSEF-XSD with file:line, `invoice send`'s refusal before KSeF and `--without-ksef`.

The repository: the example with every account invoiced on 2026-04-01 (the first day KSeF is mandatory for every
VAT payer, cpq.toml's default [ksef] mandatory_from) and one corrective invoice. Submission itself, against a KSeF
API on 127.0.0.1, is tests/test_einvoice_submit.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import copy_example, copy_repo, invoke

NS = {"fa": "http://crd.gov.pl/wzor/2025/06/25/13775/"}
DAY = "2026-04-01"
ACME = "INV-2026-0002"  # ACME's first invoice of the run (initech's comes first): PRO-SEAT and ONBOARDING


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example(tmp_path_factory.mktemp("wiring") / "example")
    r = invoke("invoice", "run", "--as-of", DAY, "--repo", root)
    assert r.exit_code == 0, r.stderr
    r = invoke("invoice", "correct", ACME, "--line", "2=4000.00", "--reason", "rabat", "--as-of", DAY,
               "--repo", root)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    return root


@pytest.fixture
def repo(issued: Path, tmp_path: Path) -> Path:
    return copy_repo(issued, tmp_path / "repo")


def _load(root: Path):
    from cpqctl.load.repo import load_repo

    repo, diags = load_repo(root)
    assert [d for d in diags if d.severity == "error"] == []
    return repo


def _redigest(path: Path, old: str, new: str) -> None:
    """A hand edit of an issued invoice, its digest line recomputed (the digest is tamper-evident, not a signature)."""
    from cpqctl.formats.digest import digest_of, line_of, without_digest

    body = without_digest(path.read_text(encoding="utf-8"))
    assert old in body
    body = body.replace(old, new)
    path.write_text(body + line_of(digest_of(body)), encoding="utf-8")


def _check(cli, root: Path) -> tuple[int, list[dict]]:
    run = cli("check", "--format", "json", "--repo", root)
    return run.code, json.loads(run.stdout)["diagnostics"]


# --------------------------------------------------------------------------- render --format ksef


def test_every_invoice_renders_as_valid_fa3(cli, issued) -> None:
    from cpqctl.formats.ksef import fa3_xml, validate_fa3

    repo = _load(issued)
    kinds = set()
    for number, inv in sorted(repo.invoices.items()):
        run = cli("invoice", "render", number, "--format", "ksef", "-o", "-", "--repo", issued)
        assert run.code == 0, run.stderr
        xml = run.stdout.encode("utf-8")
        assert validate_fa3(xml) == [], number
        assert xml == fa3_xml(inv), number  # the invoice file alone makes the document
        doc = etree.fromstring(xml)
        kinds.add((doc.findtext("fa:Fa/fa:RodzajFaktury", namespaces=NS), inv.currency))
    # PLN, EUR (reverse charge, np., VAT in PLN) and the correction
    assert {("VAT", "PLN"), ("VAT", "EUR"), ("KOR", "PLN")} <= kinds


def test_render_ksef_writes_the_file_by_default_in_out(cli, repo) -> None:
    run = cli("invoice", "render", ACME, "--format", "ksef", "--repo", repo)
    assert run.code == 0, run.stderr
    out = repo / "out" / f"{ACME}.xml"
    assert out.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Faktura')
    target = repo / "fa3.xml"
    assert cli("invoice", "render", ACME, "-f", "ksef", "-o", target, "--repo", repo).code == 0
    assert target.read_bytes() == out.read_bytes()


def test_a_correction_names_the_original_by_its_ksef_number_once_it_has_one(cli, repo) -> None:
    from cpqctl.core.model import KsefRecord
    from cpqctl.formats.invoice import ksef_added_text
    from cpqctl.formats.ksef import fa3_xml

    repo_ = _load(repo)
    (correction,) = [i for i in repo_.invoices.values() if i.kind == "correction"]
    run = cli("invoice", "render", correction.invoice, "--format", "ksef", "-o", "-", "--repo", repo)
    doc = etree.fromstring(run.stdout.encode())
    assert doc.findtext("fa:Fa/fa:DaneFaKorygowanej/fa:NrFaKorygowanej", namespaces=NS) == ACME
    assert doc.findtext("fa:Fa/fa:DaneFaKorygowanej/fa:NrKSeFN", namespaces=NS) == "1"  # the original is not in KSeF
    # the original accepted by KSeF (recorded as `invoice submit` does)
    original = repo_.invoices[ACME]
    xml = fa3_xml(original)
    import hashlib

    rec = KsefRecord("7251234561-20260401-0100001AF601-95", "2026-04-01T10:00:00+00:00", "r", "s", "test",
                     "sha256:" + hashlib.sha256(xml).hexdigest())  # fmt: skip
    path = repo / original.src.file
    path.write_text(ksef_added_text(path.read_text(encoding="utf-8"), original, rec), encoding="utf-8")
    (repo / "invoices" / f"{ACME}.ksef.xml").write_bytes(xml)
    run = cli("invoice", "render", correction.invoice, "--format", "ksef", "-o", "-", "--repo", repo)
    assert run.code == 0, run.stderr
    doc = etree.fromstring(run.stdout.encode())
    assert doc.findtext("fa:Fa/fa:DaneFaKorygowanej/fa:NrKSeF", namespaces=NS) == "1"
    assert doc.findtext("fa:Fa/fa:DaneFaKorygowanej/fa:NrKSeFFaKorygowanej", namespaces=NS) == rec.number
    assert cli("check", "--repo", repo).code == 0  # the record is outside the digest: the file is still intact


def test_an_invalid_fa3_is_refused_and_nothing_written(cli, repo) -> None:
    path = repo / "invoices" / f"{ACME}.yaml"
    _redigest(path, "tax_id: PL5260001200", "tax_id: PL" + "1" * 60)
    target = repo / "bad.xml"
    run = cli("invoice", "render", ACME, "--format", "ksef", "-o", target, "--repo", repo)
    assert run.code == 1
    assert "error[E-KSEF-XSD]" in run.stderr and "NrID" in run.stderr and "maxLength" in run.stderr
    assert "nothing was written" in run.stderr
    assert not target.exists()


# --------------------------------------------------------------------------- check


def test_check_is_clean_on_the_example_and_validates_it(cli, repo, monkeypatch) -> None:
    from cpqctl.app import einvoicing

    assert _check(cli, repo) == (0, [])
    # the FA(3) of every KSeF invoice was validated, and is remembered by its content
    cache = json.loads((repo / ".cpq" / "cache" / "einvoice.json").read_text(encoding="utf-8"))
    repo_ = _load(repo)
    due = [i for i in repo_.invoices.values() if einvoicing.ksef_due(repo_, i)]
    assert len(cache["valid"]) == len(due) >= 5
    # a check after an edit elsewhere validates nothing again
    calls = []
    real = einvoicing.FORMATS["ksef"]
    import dataclasses

    counting = dataclasses.replace(real, validate=lambda x: calls.append(1) or real.validate(x))
    monkeypatch.setitem(einvoicing.FORMATS, "ksef", counting)
    acct = repo / "contracts" / "acme" / "account.yaml"
    acct.write_text(acct.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert _check(cli, repo) == (0, [])
    assert calls == []


def test_check_reports_an_xsd_violation_at_the_field(cli, repo) -> None:
    path = repo / "invoices" / f"{ACME}.yaml"
    _redigest(path, "tax_id: PL5260001200", "tax_id: PL" + "1" * 60)  # a buyer tax ID longer than NrID allows
    code, diags = _check(cli, repo)
    assert code == 1
    (d,) = diags
    buyer_line = next(
        n for n, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if ln.startswith("buyer:")
    )
    assert (d["code"], d["file"], d["line"], d["severity"]) == (
        "E-KSEF-XSD",
        f"invoices/{ACME}.yaml",
        buyer_line,
        "error",
    )
    assert "NrID" in d["message"] and "maxLength" in d["message"] and "{http" not in d["message"]
    assert "corrective invoice" in d["hint"]
    text = cli("check", "--repo", repo)
    assert f"invoices/{ACME}.yaml:{buyer_line}:" in text.stderr + text.stdout
    # github annotations carry it too
    gh = cli("check", "--format", "github", "--repo", repo)
    assert "E-KSEF-XSD" in gh.stdout and f"line={buyer_line}" in gh.stdout
    # a line name too long for P_7 is at the invoice's lines
    _redigest(path, "name: Pro seat", "name: " + "P" * 600)
    code, diags = _check(cli, repo)
    # the list of lines (its first item: a line has no position of its own in the record)
    lines_at = next(n for n, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if ln == "lines:") + 1
    assert {(d["line"], "P_7" in d["message"]) for d in diags} == {(buyer_line, False), (lines_at, True)}


def test_check_reports_it_even_when_the_digest_was_not_recomputed(cli, repo) -> None:
    path = repo / "invoices" / f"{ACME}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("name: ACME Sp. z o.o.", "name: " + "A" * 600), encoding="utf-8")
    code, diags = _check(cli, repo)
    assert code == 1
    assert {d["code"] for d in diags} >= {"E-KSEF-XSD"} and len({d["code"] for d in diags}) == 2


def test_invoices_before_the_mandate_and_other_accounts_are_not_held_to_ksef(cli, repo) -> None:
    path = repo / "invoices" / f"{ACME}.yaml"
    _redigest(path, "tax_id: PL5260001200", "tax_id: PL" + "1" * 60)
    toml = repo / "cpq.toml"
    base = toml.read_text(encoding="utf-8")
    toml.write_text(base + "\n[ksef]\nmandatory_from = 2026-04-02\n", encoding="utf-8")
    assert _check(cli, repo) == (0, [])  # issued the day before KSeF: lawful as it is
    toml.write_text(base + '\n[ksef]\nmandatory_from = "2026-02-01"\n', encoding="utf-8")
    assert [d["code"] for d in _check(cli, repo)[1]] == ["E-KSEF-XSD"]  # a large taxpayer's date
    toml.write_text(base, encoding="utf-8")
    acct = repo / "contracts" / "acme" / "account.yaml"
    acct.write_text(acct.read_text(encoding="utf-8") + "einvoice: none\n", encoding="utf-8")
    assert _check(cli, repo) == (0, [])  # an account that does not use KSeF


# --------------------------------------------------------------------------- einvoice and peppol_id


def test_the_default_einvoice_follows_the_parties(repo) -> None:
    from dataclasses import replace

    from cpqctl.app.einvoicing import einvoice_of

    r = _load(repo)
    s = r.settings
    got = {a: einvoice_of(s, acct) for a, acct in r.accounts.items()}
    # a Polish seller: KSeF for every business buyer, at home (acme) and abroad (globex DE, umbrella CH)
    assert got["acme"] == got["globex"] == got["umbrella"] == got["stark"] == "ksef"
    assert einvoice_of(s, replace(r.accounts["acme"], tax_id="")) == "none"  # a consumer: KSeF optional
    assert einvoice_of(s, replace(r.accounts["acme"], einvoice="ubl")) == "ubl"
    assert einvoice_of(replace(s, company_tax_id="DE811234565", company_country=""), r.accounts["acme"]) == "none"
    # an issued invoice goes by its own parties
    inv = r.invoices[ACME]
    assert einvoice_of(s, None, inv) == "ksef"
    assert einvoice_of(s, None, replace(inv, buyer=replace(inv.buyer, tax_id=""))) == "none"


@pytest.mark.parametrize(
    ("value", "ok"),
    [("0208:0123456789", True), ("9930:DE811234565", True), ("0088:5798000000001", True), ("0208", False),
     ("BE0123456789", False), ("208:0123456789", False), ("0208:" + "1" * 51, False), ("0208: 123", False)],
)  # fmt: skip
def test_peppol_id_is_scheme_colon_identifier(cli, repo, value, ok) -> None:
    acct = repo / "contracts" / "globex" / "account.yaml"
    acct.write_text(acct.read_text(encoding="utf-8") + f'peppol_id: "{value}"\neinvoice: ksef\n', encoding="utf-8")
    code, diags = _check(cli, repo)
    if ok:
        assert (code, diags) == (0, [])
        assert _load(repo).accounts["globex"].peppol_id == value
    else:
        assert code == 1 and [(d["code"], d["file"]) for d in diags] == [
            ("E-PEPPOL-ID", "contracts/globex/account.yaml")
        ]


def test_einvoice_takes_the_known_formats_only(cli, repo) -> None:
    acct = repo / "contracts" / "globex" / "account.yaml"
    acct.write_text(acct.read_text(encoding="utf-8") + "einvoice: xrechnung\n", encoding="utf-8")
    code, diags = _check(cli, repo)
    assert code == 1 and diags[0]["code"] == "E-ENUM" and "ksef" in diags[0]["hint"]


def test_the_json_schemas_know_the_new_fields() -> None:
    from cpqctl.load.schema import json_schema

    account = json_schema("account")["properties"]
    assert account["einvoice"]["enum"] == ["ksef", "facturx", "ubl", "none", "ksef+facturx", "ksef+ubl"]
    assert account["peppol_id"]["pattern"].startswith("^[0-9]{4}:")
    ksef = json_schema("invoice")["properties"]["ksef"]
    assert ksef["required"] == ["number"] and set(ksef["properties"]) == {
        "number", "accepted", "reference", "session", "environment", "sha256"
    }  # fmt: skip
    cfg = json_schema("cpq")["properties"]["ksef"]["properties"]
    assert set(cfg) == {"environment", "token_env", "base_url", "mandatory_from"}
    assert cfg["environment"]["enum"] == ["test", "demo", "prod"]


def test_the_ksef_record_is_the_only_line_that_may_join_the_tail(repo) -> None:
    from cpqctl.formats.digest import verify

    path = repo / "invoices" / f"{ACME}.yaml"
    text = path.read_text(encoding="utf-8")
    digest = text.split('digest: "')[1].split('"')[0]
    rec = 'ksef: {number: "7251234561-20260401-0100001AF601-95", environment: test}\n'
    assert verify(text + rec, digest, after="sent") is None
    assert verify(text + rec + "sent:\n  - {date: 2026-04-02, to: a@b.example}\n", digest, after="sent") is None
    assert verify(text + rec + rec, digest, after="sent") is not None  # once
    assert verify(text + "ksef: 1\n", digest, after="sent") is not None  # a one-line mapping, nothing else


# --------------------------------------------------------------------------- send


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the test server, on the loopback only
def test_send_refuses_an_invoice_not_in_ksef_unless_told(cli, repo, monkeypatch) -> None:
    import email
    import email.policy

    from tests.conftest import smtp_server

    path = repo / "invoices" / f"{ACME}.yaml"
    before = path.read_bytes()
    run = cli("invoice", "send", ACME, "--as-of", "2026-04-02", "--format", "json", "--repo", repo)
    assert run.code == 1
    err = json.loads(run.stdout)["error"]
    assert err["code"] == "E-KSEF-NOT-SUBMITTED" and ACME in err["message"]
    assert err["file"] == f"invoices/{ACME}.yaml"
    assert "invoice submit" in err["hint"] and "--without-ksef" in err["hint"]
    # --unsent: every invoice that must go first is named, nothing goes out (no SMTP server is even asked)
    run = cli("invoice", "send", "--unsent", "--as-of", "2026-04-02", "--repo", repo)
    assert run.code == 1 and "E-KSEF-NOT-SUBMITTED" in run.stderr and "E-SMTP" not in run.stderr
    assert path.read_bytes() == before
    # --eml delivers nothing: the message is written, with a note
    eml = repo / "x.eml"
    run = cli("invoice", "send", ACME, "--eml", eml, "--as-of", "2026-04-02", "--repo", repo)
    assert run.code == 0, run.stderr
    assert f"note: {ACME} is not in KSeF yet" in run.stderr and eml.exists()
    # --without-ksef: delivered as before KSeF, the kept PDF alone, and recorded
    with smtp_server() as (port, handler):
        toml = repo / "cpq.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace("port = 2525", f"port = {port}"), encoding="utf-8")
        monkeypatch.setenv("CPQ_SMTP_PASSWORD", "pw")
        run = cli("invoice", "send", ACME, "--without-ksef", "--as-of", "2026-04-02", "--repo", repo)
        assert run.code == 0, run.stderr
        (env,) = handler.envelopes
    msg = email.message_from_bytes(env.original_content, policy=email.policy.default)
    (att,) = msg.iter_attachments()
    assert att.get_filename() == f"{ACME}.pdf"
    assert att.get_content() == (repo / "invoices" / f"{ACME}.pdf").read_bytes()
    assert path.read_bytes().startswith(before) and b"sent:" in path.read_bytes()[len(before) :]


def test_send_before_the_mandate_or_to_a_non_ksef_account_is_as_before(cli, repo) -> None:
    toml = repo / "cpq.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n[ksef]\nmandatory_from = 2026-05-01\n", encoding="utf-8")
    eml = repo / "x.eml"
    assert cli("invoice", "send", ACME, "--eml", eml, "--as-of", DAY, "--repo", repo).code == 0
    toml.write_text(toml.read_text(encoding="utf-8").replace("2026-05-01", "2026-04-01"), encoding="utf-8")
    acct = repo / "contracts" / "acme" / "account.yaml"
    acct.write_text(acct.read_text(encoding="utf-8") + "einvoice: none\n", encoding="utf-8")
    assert cli("invoice", "send", ACME, "--eml", eml, "--as-of", DAY, "--repo", repo).code == 0


def test_submit_refuses_an_account_that_does_not_use_ksef(cli, repo) -> None:
    acct = repo / "contracts" / "acme" / "account.yaml"
    acct.write_text(acct.read_text(encoding="utf-8") + "einvoice: none\n", encoding="utf-8")
    run = cli("invoice", "submit", ACME, "--as-of", "2026-04-02", "--format", "json", "--repo", repo)
    assert run.code == 1 and json.loads(run.stdout)["error"]["code"] == "E-EINVOICE-NOT-KSEF"
    run = cli("invoice", "submit", "--as-of", "2026-04-02", "--repo", repo)
    assert run.code == 2 and "E-USAGE" in run.stderr  # neither invoices nor --unsent


def test_submit_validates_every_invoice_before_anything_goes_out(cli, repo) -> None:
    path = repo / "invoices" / f"{ACME}.yaml"
    _redigest(path, "tax_id: PL5260001200", "tax_id: PL" + "1" * 60)
    toml = repo / "cpq.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[ksef]\nbase_url = "http://127.0.0.1:9"\n', encoding="utf-8")
    run = cli("invoice", "submit", "--unsent", "--as-of", "2026-04-02", "--repo", repo, env={"KSEF_TOKEN": "t"})
    assert run.code == 1 and "error[E-KSEF-XSD]" in run.stderr  # not E-KSEF-HTTP: nothing was sent


def test_an_invoice_that_takes_its_parties_from_the_repository_is_remembered_by_them(cli, repo, monkeypatch) -> None:
    """An invoice issued before the file recorded its parties (bench/gen.py's, an import's) was rendered and
    validated on every check (3.3 s of a check after one edit at 10,000 accounts); now its verdict is keyed on what
    it takes from the repository too, so an edit elsewhere validates nothing and an edit of its buyer validates it."""
    import dataclasses

    from cpqctl.app import einvoicing

    path = repo / "invoices" / f"{ACME}.yaml"
    buyer = next(ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("buyer:"))
    _redigest(path, buyer + "\n", "")  # the buyer comes from contracts/acme/account.yaml
    assert _check(cli, repo) == (0, [])
    calls = []
    real = einvoicing.FORMATS["ksef"]
    monkeypatch.setitem(
        einvoicing.FORMATS, "ksef", dataclasses.replace(real, validate=lambda x: calls.append(1) or real.validate(x))
    )
    other = repo / "contracts" / "globex" / "account.yaml"
    other.write_text(other.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert _check(cli, repo) == (0, [])
    assert calls == []  # remembered
    acct = repo / "contracts" / "acme" / "account.yaml"
    acct.write_text(acct.read_text(encoding="utf-8").replace("name: ACME Sp. z o.o.", "name: " + "A" * 600))
    code, diags = _check(cli, repo)
    assert calls and code == 1
    assert any(d["code"] == "E-KSEF-XSD" and d["file"] == f"invoices/{ACME}.yaml" for d in diags), diags
