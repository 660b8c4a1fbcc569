"""docs/quickstart.md, followed as a new user would: every ```sh block from step 2 on runs verbatim.

Step 1 (clone and install) is the one thing replaced: the test runs in this
project's environment, with `cpqctl-src` a link to the project. A step that
fails, a figure in the text that the commands no longer print, or a document
the page promises that is not there fails the test — so the page cannot rot.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
PAGE = PROJECT / "docs" / "quickstart.md"


def _blocks() -> list[tuple[str, str]]:
    """(section title, shell text) of every ```sh block after "## 1. Install"."""
    text = PAGE.read_text(encoding="utf-8")
    out, section = [], ""
    for m in re.finditer(r"^## ([^\n]+)$|^```sh\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL):
        if m.group(1):
            section = m.group(1)
        elif not section.startswith("1."):
            out.append((section, m.group(2)))
    return out


@pytest.fixture(scope="module")
def walked(tmp_path_factory) -> tuple[Path, list[tuple[str, str, str]]]:
    home = tmp_path_factory.mktemp("user")
    (home / "cpqctl-src").symlink_to(PROJECT)
    env = {
        **os.environ,
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "New User",
        "GIT_AUTHOR_EMAIL": "new@example.com",
        "GIT_COMMITTER_NAME": "New User",
        "GIT_COMMITTER_EMAIL": "new@example.com",
        "NO_COLOR": "1",
        "COLUMNS": "200",
        "CPQ_SMTP_PASSWORD": "",
    }
    for var in ("CPQ_REPO", "CPQ_AS_OF", "CPQ_PROGRESS"):
        env.pop(var, None)
    cwd = home
    ran = []
    for section, script in _blocks():
        if "CPQ_SMTP_PASSWORD" in script or "KSEF_TOKEN" in script:  # the reader's own SMTP server and KSeF token
            continue
        out, err, cwd = _run(script, cwd, env)
        ran.append((section, out, err))
    return cwd, ran


def _run(script: str, cwd: Path, env: dict) -> tuple[str, str, Path]:
    """Run one block in bash (errexit), starting in ``cwd``; returns its output and the folder it ended in."""
    marker = "__CPQ_PWD__"
    proc = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", f"{script}\necho {marker}$PWD"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"quickstart block failed (exit {proc.returncode}):\n{script}\n{proc.stderr}"
    out, _, where = proc.stdout.rpartition(marker)
    return out, proc.stderr, Path(where.strip())


def test_every_block_runs(walked):
    cwd, ran = walked
    assert cwd.name == "trial"
    assert len(ran) >= 10


def test_the_promised_documents_exist(walked):
    cwd, _ = walked
    for doc in ("out/Q-2026-0001.pdf", "out/Q-2027-0001.pdf", "out/INV-2027-0050.pdf"):
        assert (cwd / doc).read_bytes().startswith(b"%PDF-"), doc
    msg = message_from_bytes((cwd / "out" / "INV-2027-0050.eml").read_bytes(), policy=policy.default)
    assert msg["To"] == "ewa.kowalska@initrode.example"
    assert "11\u00a0808,00\u00a0zł" in msg.get_body(("plain",)).get_content()
    [pdf] = list(msg.iter_attachments())
    assert pdf.get_content() == (cwd / "out" / "INV-2027-0050.pdf").read_bytes()


def test_the_figures_in_the_text_are_what_the_commands_print(walked):
    _, ran = walked
    printed = "\n".join(out + err for _, out, err in ran)
    for figure in ("32600.00", "6803.01", "1403.01", "38400.00", "wrote 50 invoice(s)", "INV-2027-0050"):
        assert figure in printed, figure
