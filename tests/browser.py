"""A real browser for end-to-end tests of `cpqctl serve`: Debian's Chromium driven by Playwright.

Playwright's own browser builds are never downloaded (``playwright install`` needs a CDN that CI cannot reach):
Playwright drives the system ``chromium`` (Debian's package, which `.ci/run` installs) through ``executable_path``.
Playwright already passes ``--headless``, ``--no-sandbox`` (needed as root) and ``--disable-dev-shm-usage``.

Without a browser a test skips on a developer's machine, but fails when ``CI`` is set: a CI run that silently
skipped its browser test would pass without having tested anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

WIDTH, HEIGHT = 1280, 900
AS_OF = "2026-12-05"  # every page on one day: what the test sees does not depend on when it runs
START_TIMEOUT = 30.0  # seconds for `cpqctl serve` to print its URL (it listens before printing)


def find_chromium() -> str | None:
    """The system Chromium's path, or None. ``CPQ_CHROMIUM`` overrides the search (a path that is not an executable
    file gives None: how to check the skip and the CI failure on a machine that has the browser)."""
    given = os.environ.get("CPQ_CHROMIUM")
    if given:
        return given if os.path.isfile(given) and os.access(given, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def in_ci() -> bool:
    """``CI`` set to anything but empty, 0 or false (CI services set CI=true)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def missing(reason: str) -> NoReturn:
    """Skip, or fail under CI: there the browser must be installed, so its absence is a broken setup."""
    if in_ci():
        pytest.fail(f"{reason}; CI is set, so this is a failure, not a skip", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def chromium_page() -> Iterator[Page]:
    """A headless Chromium page of a fixed 1280x900 viewport (the same layout, so the same screenshot, on every
    machine), in English and UTC; the browser is closed on exit."""
    exe = find_chromium()
    if exe is None:
        missing("no system Chromium: apt-get install chromium (or set CPQ_CHROMIUM to its path)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True)
        try:
            context = browser.new_context(
                viewport={"width": WIDTH, "height": HEIGHT}, locale="en-US", timezone_id="UTC"
            )
            yield context.new_page()
        finally:
            browser.close()


def screenshot(page: Page, path: Path, *, full_page: bool = False) -> Path:
    """Save a PNG of ``page`` at ``path`` (the viewport: a fixed size, comparable between runs)."""
    page.screenshot(path=str(path), full_page=full_page)
    return path


@contextlib.contextmanager
def served(repo_path: Path, *extra_args: str) -> Iterator[str]:
    """`cpqctl serve` of ``repo_path`` in a subprocess (a real server, as users run it) on a free port: yields its
    URL (ending in /) and stops it on exit. Its stderr is the test's (pytest shows it when the test fails)."""
    args = [sys.executable, "-m", "cpqctl", "serve", "--repo", str(repo_path), "--port", "0"]
    args += ["--format", "json", "--as-of", AS_OF, *extra_args]
    env = {k: v for k, v in os.environ.items() if k not in ("CPQ_REPO", "CPQ_AS_OF")}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env, cwd=repo_path)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
        line = proc.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"`cpqctl serve` printed no URL (exit code {proc.poll()}); its stderr is above")
        yield json.loads(line)["url"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
