"""End to end in a real browser: `cpqctl serve` of the example repository, its home page and an account page as
Chromium renders them (tests/browser.py: skipped without a browser, failed under CI).

tests/test_serve.py checks the HTML through Starlette's TestClient; this one checks what a user gets: a real server
process, pages that load and render without a script error, and screenshots in tmp_path to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import chromium_page, screenshot, served

pytestmark = pytest.mark.browser


def test_home_and_an_account_page_render(example_repo: Path, tmp_path: Path) -> None:
    with chromium_page() as page, served(example_repo) as url:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        assert page.goto(url).ok
        assert page.title().startswith("Home")
        assert page.locator("h1").first.inner_text() == "Example Software Sp. z o.o."  # [company] name of cpq.toml
        screenshot(page, tmp_path / "home.png")

        accounts = page.request.get(url + "accounts.json").json()["accounts"]
        first = accounts[0]
        assert page.goto(url + "accounts/" + first["account"]).ok
        heading = page.locator("h1").first
        assert heading.is_visible()
        assert first["name"] in heading.inner_text()
        screenshot(page, tmp_path / "account.png")

        assert errors == []
