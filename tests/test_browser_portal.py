"""The customer portal's whole flow in a real browser (Debian's Chromium driven by Playwright; tests/browser.py):
sign in by link → see licences and add-ons → add 5 seats and switch an add-on on → the price equals `invoice
preview`'s → sign → the ledger has the amendment with the signature record, the provisioning hook got the new
entitlements, the invoice was issued, submitted to KSeF and e-mailed with its PDF. Screenshots of each step are
written to tmp_path (kept by pytest; look at them)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

import cpqctl
from cpqctl.app import portal
from cpqctl.render import fmt
from tests.browser import chromium_page, screenshot, served
from tests.test_portal import AS_OF, _git, shop  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def test_a_customer_walks_the_whole_flow_in_a_browser(shop, tmp_path: Path) -> None:  # noqa: F811
    root, smtp, received = shop
    link = portal.invite(cpqctl.open(root, as_of=AS_OF), "globex").link
    shots = tmp_path / "shots"
    with chromium_page() as page, served(root, "--portal") as url:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        assert page.goto(link.replace("http://127.0.0.1:8000/", url)).ok
        screenshot(page, shots / "1-link.png")
        page.click("#sign-in")
        page.wait_for_url(url + "portal/")
        screenshot(page, shots / "2-account.png", full_page=True)
        assert page.locator('[data-product="PRO-SEAT"]').inner_text() == "25"
        assert page.locator('[data-addon="AUDIT-LOG"] .switch').inner_text() == "on"
        assert page.locator('[data-addon="SSO"] .switch').inner_text() == "off"

        page.click("#C-2026-0003 a.button")
        page.fill("#q-PRO-SEAT", "30")
        page.check("#on-SSO")
        page.wait_for_selector("#due-now")  # the price follows the form (htmx), no button pressed
        page.wait_for_load_state("networkidle")  # the last change's answer is the one shown
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        assert page.url.endswith("/change")
        screenshot(page, shots / "3-price.png", full_page=True)
        shown = {k: page.locator(f"#{k}").inner_text() for k in ("due-now", "arr-after", "value-delta")}
        page.click("#prepare")
        page.wait_for_url(url + "portal/quotes/*")
        qid = page.url.rsplit("/", 1)[1]
        screenshot(page, shots / "4-quote.png", full_page=True)
        preview = cpqctl.open(root, as_of=AS_OF).preview_invoices("C-2026-0003", quote=qid).data
        money = lambda v: fmt.money(Decimal(v), "EUR", "pl_PL")
        expected = {
            "due-now": money(preview["on_acceptance"]["net_total"]),
            "arr-after": money(preview["arr_after"]),
            "value-delta": "+" + money(preview["contract_value_delta"]),
        }
        assert shown == expected
        assert {k: page.locator(f"#{k}").inner_text() for k in expected} == expected
        pdf = page.request.get(url + f"portal/quotes/{qid}.pdf")
        assert pdf.ok and pdf.body().startswith(b"%PDF")

        page.fill("#signer", "Katrin Vogel")
        page.check("#consent")
        page.click("#sign")
        page.wait_for_selector("#signed")
        screenshot(page, shots / "5-signed.png", full_page=True)
        assert "Thank you, Katrin Vogel" in page.content()
        page.click("a.button")
        screenshot(page, shots / "6-after.png", full_page=True)
        assert page.locator('[data-product="PRO-SEAT"]').inner_text() == "30"
        assert page.locator('[data-addon="SSO"] .switch').inner_text() == "on"
        assert errors == []

    ledger = yaml.safe_load((root / "contracts/globex/C-2026-0003.yaml").read_text(encoding="utf-8"))
    (entry,) = [a for a in ledger["amendments"] if a.get("quote") == qid]
    signed = entry["signed"]
    assert signed["by"] == "Katrin Vogel" and signed["method"] == "portal" and signed["date"] == date(2026, 12, 5)
    assert signed["ip"] == "127.0.0.1" and "Chrome" in signed["user_agent"]
    got = json.loads(received.read_text(encoding="utf-8"))
    owned = {o["product"]: o["quantity"] for o in got["owned"]}
    assert owned["PRO-SEAT"] == "30" and owned["SSO"] == "1"
    (message,) = smtp.messages()
    assert message["To"] == "jonas.becker@globex.example"
    pdfs = [a for a in message.iter_attachments() if a.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_content().startswith(b"%PDF")
    issued = [
        i
        for i in cpqctl.open(root, as_of=AS_OF).invoices(account="globex").data["invoices"]
        if i["date"] == "2026-12-05"
    ]
    assert [i["net_total"] for i in issued] == [preview["on_acceptance"]["net_total"]]
    assert "Signed-by: Katrin Vogel" in _git(root, "log", "--format=%b")
    assert _git(root, "status", "--porcelain") == ""
