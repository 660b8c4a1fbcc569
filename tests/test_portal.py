"""The customer portal (`cpqctl serve --portal`, docs/portal.md): sign-in links, the whole self-service flow with
real SMTP (aiosmtpd), a real provisioning hook and real git; isolation between accounts; CSRF, expiry,
revocation and rate limits; two customers signing at once."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import threading
import warnings
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("starlette")

with warnings.catch_warnings():  # Starlette 1.x announces that its TestClient moves from httpx to httpx2
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import cpqctl
from cpqctl.app import portal, provisioning
from tests.conftest import copy_example, smtp_server

AS_OF = date(2026, 12, 5)
BASE = "http://127.0.0.1"
SECRET = "s3cret-for-the-portal-tests-only-0123456789"
HOOK = """import json, pathlib, sys
data = sys.stdin.read()
json.loads(data)
out = pathlib.Path(sys.argv[1])
out.write_text(out.read_text() + data + "\\n" if out.exists() else data + "\\n")
sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
"""


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The example repository in git, invoiced through the day before, with a provisioning hook, a real SMTP
    server and a KSeF test server (the invoices of 2026 go through KSeF before they are e-mailed):
    ``(root, smtp collector, hook output file)``."""
    from cpqctl.app import einvoicing
    from tests.test_einvoice_submit import ENV, TOKEN, FakeKsef

    monkeypatch.setenv("CPQ_PORTAL_SECRET", SECRET)
    monkeypatch.setattr(einvoicing, "POLL_SECONDS", 0.01)
    for name, value in ENV.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    root = copy_example(tmp_path / "repo")
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK, encoding="utf-8")
    received = tmp_path / "entitlements.jsonl"
    with smtp_server() as (port, handler), FakeKsef(TOKEN, lifetime=600) as ksef:
        monkeypatch.setenv("CPQ_SMTP_PASSWORD", "pw")
        toml = root / "cpq.toml"
        text = toml.read_text(encoding="utf-8").replace("port = 2525", f"port = {port}")
        text += f'\n[hooks]\non_accept = "{sys.executable} {hook} {received}"\n'
        text += f'\n[ksef]\nenvironment = "test"\ntoken_env = "KSEF_TOKEN"\nbase_url = "{ksef.url}"\n'
        toml.write_text(text, encoding="utf-8")
        (root / ".gitignore").write_text("out/\n.cpq/\n", encoding="utf-8")
        cpqctl.open(root, as_of=date(2026, 12, 4)).run_invoices(through=date(2026, 12, 4))
        _git(root, "init", "-q")
        _git(root, "add", "-A")
        _git(root, "commit", "-qm", "the example, invoiced through 2026-12-04")
        yield root, handler, received


def _app(root: Path):
    from cpqctl.web import create_app

    return create_app(
        cpqctl.open(root, as_of=AS_OF), portal_only=True, now=lambda: datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
    )


class Customer:
    """A browser of the portal: signs in by link, keeps the cookie, sends forms with the page's CSRF token."""

    def __init__(self, app, root: Path, account: str, **invite) -> None:
        self.root = root
        self.http = TestClient(app, base_url=BASE, headers={"user-agent": "Mozilla/5.0 (portal test)"})
        self.link = portal.invite(cpqctl.open(root, as_of=AS_OF), account, **invite).link
        self.csrf = ""

    def sign_in(self):
        page = self.http.get(self.link.replace("http://127.0.0.1:8000", ""))
        token = re.search(r'name="t" value="([^"]+)"', page.text)
        r = self.http.post("/portal/login", data={"t": token.group(1) if token else ""}, follow_redirects=False)
        if r.status_code == 303:
            self.csrf = re.search(r'name="csrf" value="([^"]+)"', self.http.get("/portal/").text).group(1)
        return r

    def change(self, contract: str, action: str, **fields):
        return self.http.post(
            f"/portal/contracts/{contract}/change",
            data={"csrf": self.csrf, "action": action, **fields},
            follow_redirects=False,
        )

    def offer(self, contract: str, **fields) -> str:
        r = self.change(contract, "offer", **fields)
        assert r.status_code == 303, r.text
        return r.headers["location"]

    def sign(self, quote_url: str, name: str = "Katrin Vogel"):
        page = self.http.get(quote_url)
        digest = re.search(r'name="document" value="([^"]+)"', page.text).group(1)
        return self.http.post(
            quote_url + "/sign", data={"csrf": self.csrf, "document": digest, "name": name, "consent": "yes"}
        )


def _figure(html: str, ident: str) -> str:
    return re.search(rf'id="{ident}">([^<]+)<', html).group(1)


def _money(ws, value: str, currency: str) -> str:
    from cpqctl.render import fmt

    return fmt.money(Decimal(value), currency, "pl_PL")


# --------------------------------------------------------------------------- the whole flow


def test_a_customer_adds_seats_and_an_add_on_signs_and_is_provisioned_and_invoiced(shop, cli) -> None:
    root, smtp, received = shop
    globex = Customer(_app(root), root, "globex")
    assert globex.sign_in().status_code == 303

    home = globex.http.get("/portal/").text
    assert "Globex GmbH" in home
    assert re.search(r'data-product="PRO-SEAT">25<', home)  # licences bought
    assert _figure(home, "licences") == "25"  # the seats of [portal], not the storage packs
    assert 'class="on" data-addon="AUDIT-LOG"' in home and 'class="off" data-addon="SSO"' in home  # add-ons

    # 5 more seats and SSO switched on: the price, before anything is written
    priced = globex.change("C-2026-0003", "price", **{"q:PRO-SEAT": "30", "on:AUDIT-LOG": "1", "on:SSO": "1"})
    assert priced.status_code == 200, priced.text
    assert not (root / "quotes").exists()
    quote_url = globex.offer("C-2026-0003", **{"q:PRO-SEAT": "30", "on:AUDIT-LOG": "1", "on:SSO": "1"})
    qid = quote_url.rsplit("/", 1)[1]

    # the page's amounts are `invoice preview --quote`'s, before and after the quote was written
    run = cli("invoice", "preview", "C-2026-0003", "--quote", qid, "--format", "json", "--repo", root, "--as-of", AS_OF)
    preview = json.loads(run.stdout)
    page = globex.http.get(quote_url).text
    for html in (priced.text, page):
        assert _figure(html, "due-now") == _money(None, preview["on_acceptance"]["net_total"], "EUR")
        assert _figure(html, "arr-after") == _money(None, preview["arr_after"], "EUR")
        assert _figure(html, "value-delta") == "+" + _money(None, preview["contract_value_delta"], "EUR")
    assert Decimal(preview["on_acceptance"]["net_total"]) > 0
    pdf = globex.http.get(quote_url + ".pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    digest = "sha256:" + hashlib.sha256(pdf.content).hexdigest()

    done = globex.sign(quote_url, "Katrin Vogel")
    assert done.status_code == 200, done.text
    assert "Thank you, Katrin Vogel" in done.text and "switched on (on_accept: ok)" in done.text
    # a second click, or the quote's page opened again: it is signed; nothing is signed twice
    again = globex.http.post(
        quote_url + "/sign", data={"csrf": globex.csrf, "document": digest, "name": "Katrin Vogel", "consent": "yes"}
    )
    assert again.url.path == "/portal/" and f"Quote {qid} is signed." in again.text
    assert globex.http.get(quote_url).url.path == "/portal/"

    # the ledger: the amendment with its signature record
    import yaml

    ledger = yaml.safe_load((root / "contracts/globex/C-2026-0003.yaml").read_text(encoding="utf-8"))
    (entry,) = [a for a in ledger["amendments"] if a.get("quote") == qid]
    assert entry["signed"] == {
        "by": "Katrin Vogel",
        "date": AS_OF,
        "method": "portal",
        "at": "2026-12-05T09:30:00Z",
        "ip": "testclient",
        "user_agent": "Mozilla/5.0 (portal test)",
        "consent": portal.CONSENT.format(name="Globex GmbH"),
        "document": digest,
    }
    # the accepted document shows who signed and the signature's record (Globex reads German)
    doc = cli("quote", "render", qid, "-f", "md", "-o", "-", "--repo", root, "--as-of", AS_OF).stdout
    assert "| Name, Funktion | Katrin Vogel | |" in doc
    assert f"| Unterschrift | Elektronisch unterschrieben (portal), 2026-12-05T09:30:00Z · {digest[:23]}… | |" in doc
    contract = cpqctl.open(root, as_of=AS_OF).contract("C-2026-0003").data
    owned = {o["product"]: o["quantity"] for o in contract["owned"]} if "owned" in contract else None
    assert owned is None or (owned["PRO-SEAT"] == "30" and owned["SSO"] == "1")

    # provisioning: the hook got the new entitlements on stdin
    got = json.loads(received.read_text(encoding="utf-8"))
    assert got["account"] == "globex" and got["event"]["what"].startswith("C-2026-0003 A-")
    assert {o["product"]: o["quantity"] for o in got["owned"]}["PRO-SEAT"] == "30"
    assert {o["product"]: o["quantity"] for o in got["owned"]}["SSO"] == "1"

    # the invoice due on acceptance: issued, e-mailed with its PDF, its net the preview's
    issued = [
        i
        for i in cpqctl.open(root, as_of=AS_OF).invoices(account="globex").data["invoices"]
        if i["date"] == "2026-12-05"
    ]
    assert len(issued) == 1
    assert issued[0]["net_total"] == preview["on_acceptance"]["net_total"]
    own = globex.http.get(f"/portal/invoices/{issued[0]['invoice'].replace('/', '_')}.pdf")  # its PDF, downloaded
    assert own.status_code == 200 and own.content.startswith(b"%PDF")
    assert not portal.read_log(root)[-1]["problems"], portal.read_log(root)
    (message,) = smtp.messages()
    assert message["To"] == "jonas.becker@globex.example"
    attachment = next(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf" and attachment.get_content().startswith(b"%PDF")

    # git: the acceptance and the invoice committed, naming the signer; the repository checks clean
    log = _git(root, "log", "--format=%s%n%b")
    assert f"portal: Katrin Vogel signed {qid} for globex (C-2026-0003)" in log and "Signed-by: Katrin Vogel" in log
    assert _git(root, "status", "--porcelain") == ""
    assert cli("check", "--repo", root, "--as-of", AS_OF).code == 0
    assert [e["kind"] for e in portal.read_log(root)] == ["signed"]


# --------------------------------------------------------------------------- isolation


def test_a_customer_sees_and_changes_only_their_own_account(shop) -> None:
    root, _, _ = shop
    app = _app(root)
    ws = cpqctl.open(root, as_of=AS_OF)
    # another account's amendment quote, its document, its invoice
    other_q = ws.amend("C-2026-0001", effective=AS_OF, set={"PRO-SEAT": 60}).quote.quote
    ws.render_quote(other_q)
    acme_invoice = next(i["invoice"] for i in ws.invoices(account="acme").data["invoices"])
    globex = Customer(app, root, "globex")
    globex.sign_in()
    c = globex.http
    attempts = [
        c.get("/portal/contracts/C-2026-0001/change"),  # acme's contract, by ID in the URL
        globex.change("C-2026-0001", "price", **{"q:PRO-SEAT": "70"}),
        globex.change("C-2026-0001", "offer", **{"q:PRO-SEAT": "70"}),
        c.get(f"/portal/quotes/{other_q}"),
        c.get(f"/portal/quotes/{other_q}.pdf"),
        c.post(f"/portal/quotes/{other_q}/sign", data={"csrf": globex.csrf, "name": "X", "consent": "yes"}),
        c.get(f"/portal/invoices/{acme_invoice}.pdf"),
        c.get(f"/portal/invoices/{acme_invoice}"),
        c.get("/portal/invoices/..%2F..%2Fcpq.toml"),
        c.get("/portal/invoices/%2e%2e/%2e%2e/cpq.toml"),
        c.get("/portal/quotes/..%2Fcontracts%2Facme%2Faccount.yaml"),
        c.get("/portal/contracts/..%2Facme/change"),
        c.get("/portal/quotes/%00.pdf"),
        c.get("/static/../cpq.toml"),
        c.get("/static/..%2Fcpq.toml"),
        c.get("/accounts/acme"),  # the team view is not served with --portal
        c.get("/accounts/acme.json"),
        c.get("/invoices.json"),
        c.get(f"/invoices/{acme_invoice}.pdf"),
        c.get("/check"),
        c.get("/board"),
        c.get("/portal-activity.json"),  # the team's page of every customer's activity
        c.get("/portal/account.json?account=acme"),  # a query naming another account changes nothing
        # a product the page does not offer, on the customer's own contract
        globex.change("C-2026-0003", "offer", **{"q:STORAGE-PACK": "99"}),
    ]
    for r in attempts:
        assert r.status_code in (400, 401, 403, 404, 422) or "/portal/account.json" in str(r.url), (
            r.url,
            r.status_code,
        )
        assert "ACME" not in r.text and "[company]" not in r.text, r.url
    own = c.get("/portal/account.json").json()
    assert own["account"] == "globex" and all(k["contract"] == "C-2026-0003" for k in own["contracts"])
    assert len(attempts) >= 20
    # a cookie re-signed for another account, or tampered with, is no session
    cookie = c.cookies.get("cpq_portal")
    forged = portal._serializer(b"another secret that is long enough!!", "session").dumps(["I-0001", "acme", "x"])
    key = SECRET.encode()
    no_invite = portal._serializer(key, "session").dumps(["I-0999", "acme", "x"])  # (had one the secret)
    other_account = portal._serializer(key, "session").dumps(["I-0001", "acme", "x"])  # globex's invite, acme
    for value in (forged, cookie[:-2] + "xx", no_invite, other_account, ""):
        stranger = TestClient(app, base_url=BASE, cookies={"cpq_portal": value})
        assert stranger.get("/portal/").status_code == 401
    # nothing was written for acme by any of it
    assert "amendment: A-3" not in (root / "contracts/acme/C-2026-0001.yaml").read_text(encoding="utf-8")


def test_links_expire_and_are_revoked_and_a_forged_link_signs_nobody_in(shop, cli) -> None:
    root, _, _ = shop
    app = _app(root)
    old = Customer(app, root, "globex", as_of=date(2026, 11, 20), days=7)  # last valid day 2026-11-26
    assert old.sign_in().status_code == 403
    forged = Customer(app, root, "globex")
    forged.link = forged.link[:-3] + ("aaa" if not forged.link.endswith("aaa") else "bbb")
    assert forged.sign_in().status_code == 403
    live = Customer(app, root, "globex")
    assert live.sign_in().status_code == 303
    assert live.http.get("/portal/").status_code == 200
    invite_id = portal.read_invites(root)[-1].invite
    assert (
        cli("portal", "revoke", invite_id, "--repo", root, "--as-of", AS_OF, env={"CPQ_PORTAL_SECRET": SECRET}).code
        == 0
    )
    assert live.http.get("/portal/").status_code == 401  # the session it opened ends at once
    again = Customer(app, root, "globex")
    again.link = live.link
    assert again.sign_in().status_code == 403
    # a changed secret ends every link and session
    fresh = Customer(app, root, "globex")
    assert fresh.sign_in().status_code == 303
    import os

    os.environ["CPQ_PORTAL_SECRET"] = SECRET + "-rotated"
    assert fresh.http.get("/portal/").status_code == 401


def test_every_form_needs_its_csrf_token_and_sign_in_is_rate_limited(shop) -> None:
    root, _, _ = shop
    app = _app(root)
    globex = Customer(app, root, "globex")
    globex.sign_in()
    url = globex.offer("C-2026-0003", **{"q:PRO-SEAT": "31", "on:AUDIT-LOG": "1"})
    for csrf in ("", "wrong", globex.csrf[:-1]):
        r = globex.http.post(
            "/portal/contracts/C-2026-0003/change", data={"csrf": csrf, "action": "price", "q:PRO-SEAT": "32"}
        )
        assert r.status_code == 403
        r = globex.http.post(url + "/sign", data={"csrf": csrf, "name": "K", "consent": "yes"})
        assert r.status_code == 403
        assert globex.http.post("/portal/logout", data={"csrf": csrf}).status_code == 403
    other_site = globex.http.post(
        url + "/sign",
        data={"csrf": globex.csrf, "name": "K", "consent": "yes"},
        headers={"origin": "https://evil.example"},
    )
    assert other_site.status_code == 403
    # no consent, no name, a document other than the one shown: refused, nothing accepted (a new server: the
    # attempts above used up this address's five signing attempts of the minute)
    signer = Customer(_app(root), root, "globex")
    signer.sign_in()
    for fields in (
        {"name": "K"},
        {"consent": "yes", "name": "  "},
        {"consent": "yes", "name": "K", "document": "sha256:0"},
    ):
        r = signer.http.post(url + "/sign", data={"csrf": signer.csrf, **fields})
        assert r.status_code == 422, fields
    assert "status: accepted" not in (root / "quotes" / (url.rsplit("/", 1)[1] + ".yaml")).read_text(encoding="utf-8")
    # sign-in: ten a minute per address
    codes = [TestClient(app, base_url=BASE).post("/portal/login", data={"t": "x"}).status_code for _ in range(12)]
    assert codes[:9] == [403] * 9 and 429 in codes[9:]


def test_a_decrease_is_a_request_for_the_team_and_the_maximum_holds(shop, cli) -> None:
    root, _, _ = shop
    globex = Customer(_app(root), root, "globex")
    globex.sign_in()
    lower = globex.change("C-2026-0003", "price", **{"q:PRO-SEAT": "20", "on:AUDIT-LOG": "1"})
    assert lower.status_code == 422 and 'id="request"' in lower.text
    sent = globex.change("C-2026-0003", "request", **{"q:PRO-SEAT": "20", "on:AUDIT-LOG": "1"})
    assert sent.status_code == 200 and "PRO-SEAT 25 → 20" in sent.text
    off = globex.change("C-2026-0003", "offer", **{"q:PRO-SEAT": "25"})  # AUDIT-LOG unticked: off
    assert off.status_code == 422
    big = globex.change("C-2026-0003", "price", **{"q:PRO-SEAT": "501", "on:AUDIT-LOG": "1"})
    assert big.status_code == 422 and "at most 500" in big.text
    odd = globex.change("C-2026-0003", "price", **{"q:PRO-SEAT": "31.5", "on:AUDIT-LOG": "1"})
    assert odd.status_code == 422
    assert not (root / "quotes").exists()
    log = json.loads(cli("portal", "log", "--format", "json", "--repo", root).stdout)["log"]
    assert [(e["kind"], e["account"], e["asked"]) for e in log] == [("request", "globex", "PRO-SEAT 25 → 20")]
    # the team sees it in its view (not served with --portal)
    from cpqctl.web import create_app

    team = TestClient(create_app(cpqctl.open(root, as_of=AS_OF)), base_url=BASE)
    page = team.get("/portal-activity")
    assert page.status_code == 200 and "PRO-SEAT 25 → 20" in page.text
    shown = team.get("/portal-activity.json").json()
    assert shown["log"] == log and [i["account"] for i in shown["invites"]] == ["globex"]
    assert "link" not in shown["invites"][0]  # a link is a secret: never shown again


def test_a_failed_hook_keeps_the_acceptance_and_is_retried(shop, cli) -> None:
    root, _, received = shop
    toml = root / "cpq.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace(f'{received}"', f'{received} 3"'), encoding="utf-8")  # the hook exits 3
    _git(root, "commit", "-qam", "a failing hook")
    globex = Customer(_app(root), root, "globex")
    globex.sign_in()
    done = globex.sign(globex.offer("C-2026-0003", **{"q:PRO-SEAT": "33", "on:AUDIT-LOG": "1"}))
    assert done.status_code == 200 and "being switched on" in done.text
    assert "amendment: A-2" in (root / "contracts/globex/C-2026-0003.yaml").read_text(
        encoding="utf-8"
    )  # accepted all the same
    (queued,) = provisioning.pending(cpqctl.open(root, as_of=AS_OF))
    assert queued["account"] == "globex" and "exited 3" in queued["problem"]
    env = {"CPQ_PORTAL_SECRET": SECRET}
    assert cli("portal", "provision", "--retry", "--repo", root, "--as-of", AS_OF, env=env).code == 1  # still failing
    toml.write_text(text, encoding="utf-8")
    assert cli("portal", "provision", "--retry", "--repo", root, "--as-of", AS_OF, env=env).code == 0
    assert provisioning.pending(cpqctl.open(root, as_of=AS_OF)) == []
    assert received.read_text(encoding="utf-8").count('"account": "globex"') == 3  # twice refused, then taken


def test_two_customers_signing_at_the_same_moment_both_succeed(shop, cli) -> None:
    root, smtp, _ = shop
    app = _app(root)
    globex, acme = Customer(app, root, "globex"), Customer(app, root, "acme")
    globex.sign_in(), acme.sign_in()
    urls = {
        globex: globex.offer("C-2026-0003", **{"q:PRO-SEAT": "34", "on:AUDIT-LOG": "1"}),
        acme: acme.offer("C-2026-0001", **{"q:PRO-SEAT": "58", "on:SSO": "1"}),
    }
    start = threading.Barrier(2)
    results: dict = {}

    def go(who: Customer) -> None:
        start.wait()
        results[who] = who.sign(urls[who], "Signer " + who.link[-4:])

    threads = [threading.Thread(target=go, args=(who,)) for who in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r.status_code == 200 for r in results.values()), [r.text[-400:] for r in results.values()]
    ws = cpqctl.open(root, as_of=AS_OF)
    assert ws.contract("C-2026-0003").data and "amendment: A-2" in (
        root / "contracts/globex/C-2026-0003.yaml"
    ).read_text("utf-8")
    assert "amendment: A-3" in (root / "contracts/acme/C-2026-0001.yaml").read_text(encoding="utf-8")
    today = [i["invoice"] for i in ws.invoices().data["invoices"] if i["date"] == "2026-12-05"]
    assert len(today) == 2 and len(set(today)) == 2
    assert sorted(m["To"] for m in smtp.messages()) == ["anna.nowak@acme.example", "jonas.becker@globex.example"]
    assert _git(root, "status", "--porcelain") == ""
    assert cli("check", "--repo", root, "--as-of", AS_OF).code == 0


def test_an_invite_is_e_mailed_and_the_webhook_is_signed(shop, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac
    from http.server import BaseHTTPRequestHandler, HTTPServer

    root, smtp, _ = shop
    got: list[tuple[bytes, str]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            got.append((self.rfile.read(int(self.headers["Content-Length"])), self.headers["X-Cpq-Signature"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        toml = root / "cpq.toml"
        hook_url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        text = toml.read_text(encoding="utf-8").replace("[hooks]\n", f'[hooks]\nwebhook = "{hook_url}"\n')
        toml.write_text(text + "\n", encoding="utf-8")
        monkeypatch.setenv("CPQ_WEBHOOK_SECRET", "hook-secret")
        env = {"CPQ_PORTAL_SECRET": SECRET, "CPQ_SMTP_PASSWORD": "pw"}
        run = cli("portal", "invite", "globex", "--send", "--repo", root, "--as-of", AS_OF, env=env)
        assert run.code == 0, run.stderr
        (message,) = smtp.messages()
        assert message["To"] == "jonas.becker@globex.example"
        assert run.stdout.strip() in message.get_content()  # the link printed is the link sent
        done = provisioning.provision(cpqctl.open(root, as_of=AS_OF), "globex", "by hand")
        assert done.problem is None and done.steps == ("on_accept: ok", "webhook: ok")
        ((body, signature),) = got
        assert signature == "sha256=" + hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
        assert json.loads(body)["account"] == "globex"
        monkeypatch.setenv("CPQ_WEBHOOK_SECRET", "")  # no secret: not sent unsigned, queued
        assert "not set" in (provisioning.provision(cpqctl.open(root, as_of=AS_OF), "globex", "again").problem or "")
        assert len(got) == 1 and len(provisioning.pending(cpqctl.open(root, as_of=AS_OF))) == 1
    finally:
        server.shutdown()
