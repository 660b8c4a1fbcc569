"""Shared fixtures: inline data repositories in ``tmp_path`` and a CLI runner.

``repo`` writes small YAML files given inline (dedented) next to a minimal
valid cpq.toml; ``example_repo`` copies the project's example data repository;
``cli`` runs the Typer app in-process and returns exit code, stdout and stderr
separately (data goes to stdout, messages to stderr: tests assert both).
"""

from __future__ import annotations

import contextlib
import shutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]

MINIMAL_TOML = """\
[company]
name = "Test Co"
currency = "PLN"
"""


def pytest_configure(config: pytest.Config) -> None:
    """The ``browser`` marker: tests in a real Chromium (tests/browser.py); ``-m browser`` runs them alone,
    ``-m "not browser"`` leaves them out."""
    config.addinivalue_line("markers", "browser: end-to-end tests in a real headless Chromium (tests/browser.py)")


def invoke(*args: object):
    """Run the CLI in-process (for module-scoped fixtures, which cannot take the ``cli`` fixture); an exception
    that is not an exit is raised."""
    from typer.testing import CliRunner

    from cpqctl.cli.main import app

    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    env = {"CPQ_REPO": None, "CPQ_AS_OF": None, "NO_COLOR": None, "CPQ_DEBUG": None}
    result = runner.invoke(app, [str(a) for a in args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``{relpath: text}`` under ``root`` (text dedented; bytes as they are)."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Callable[..., Path]:
    """``repo({"catalog/x.yaml": "..."})`` → a data repository in tmp_path (``cpq.toml`` may be overridden)."""

    def make(files: dict[str, str | bytes] | None = None, toml: str | None = MINIMAL_TOML) -> Path:
        root = tmp_path / "repo"
        root.mkdir(exist_ok=True)
        if toml is not None:
            (root / "cpq.toml").write_text(toml, encoding="utf-8")
        return write_files(root, files or {})

    return make


def copy_example(root: Path) -> Path:
    """``root`` made a copy of the example data repository at the project root (cpq.toml, catalog, contracts, fx);
    for module-scoped fixtures, which cannot use :func:`example_repo`."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(PROJECT / "cpq.toml", root / "cpq.toml")
    for d in ("catalog", "contracts", "fx"):
        shutil.copytree(PROJECT / d, root / d)
    return root


def copy_repo(src: Path, dst: Path) -> Path:
    """A copy of the data repository ``src`` at ``dst`` without its ``.cpq/`` (no parse cache, nothing remembered);
    links are copied as links."""
    shutil.rmtree(dst, ignore_errors=True)
    return Path(shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(".cpq")))


def age(root: Path, seconds: int = 3600) -> None:
    """Date every file outside .cpq/ back (a file changed within 2 s of a load is never cached nor remembered)."""
    import os
    import time

    past = time.time_ns() - seconds * 10**9
    for folder, _dirs, files in os.walk(root):
        if ".cpq" not in Path(folder).parts:
            for name in files:
                os.utime(Path(folder) / name, ns=(past, past), follow_symlinks=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository of 60 accounts from bench/gen.py (contracts, amendments, invoices, corrections), its files
    aged; shared by a test module: copy it before changing it."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("gen") / "repo"
    gen = Path(__file__).resolve().parents[1] / "bench" / "gen.py"
    subprocess.run([sys.executable, str(gen), str(root), "--accounts", "60"], check=True, capture_output=True)
    age(root)
    return root


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """A copy of the example data repository at the project root (cpq.toml, catalog, contracts, fx)."""
    return copy_example(tmp_path / "example")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def _runner():
    from typer.testing import CliRunner

    try:  # click < 8.2 mixes stderr into stdout unless told not to
        return CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2: stderr is always captured on its own
        return CliRunner()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Run]:
    """``cli("check", "--repo", root)`` → Run(code, stdout, stderr).

    Runs in an empty folder of tmp_path (so the project's own cpq.toml is never
    found by accident) with CPQ_REPO / CPQ_AS_OF / NO_COLOR cleared, unless
    ``env`` or ``cwd`` say otherwise.
    """
    from cpqctl.cli.main import app

    runner = _runner()
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir(exist_ok=True)

    def run(*args: object, env: dict[str, str | None] | None = None, cwd: Path | None = None) -> Run:
        monkeypatch.chdir(cwd or elsewhere)
        full_env = {
            "CPQ_REPO": None,
            "CPQ_AS_OF": None,
            "NO_COLOR": None,
            "CPQ_DEBUG": None,
            "COLUMNS": None,
            **(env or {}),
        }
        result = runner.invoke(app, [str(a) for a in args], env=full_env, catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # an exception that escaped the error boundary: show it
        return Run(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The list of files actually parsed, recorded by a wrapper around the real load_file."""
    from cpqctl.load import repo as repo_mod

    seen: list[str] = []
    real = repo_mod.load_file

    def counting(root, rel, kind):
        seen.append(rel)
        return real(root, rel, kind)

    monkeypatch.setattr(repo_mod, "load_file", counting)
    return seen


@pytest.fixture(scope="session")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example repository invoiced on the 1st of every month of 2026, the bank statements of
    tests/fixtures/bank imported on 2026-12-31 (issue 19: tests/test_payments.py, test_journal.py). Shared by every
    test of a worker: copy it before changing it."""
    bank = PROJECT / "tests" / "fixtures" / "bank"
    root = copy_example(tmp_path_factory.mktemp("year") / "repo")
    for month in range(1, 13):
        r = invoke("invoice", "run", "--repo", root, "--as-of", f"2026-{month:02d}-01")
        assert r.exit_code == 0, r.stderr
    for statement in (bank / "mt940-2026-pln.sta", bank / "camt053-2026-eur.xml"):
        r = invoke("payment", "import", statement, "--repo", root, "--as-of", "2026-12-31", "--format", "json")
        assert r.exit_code == 0, r.stderr
    return root


class SmtpCollector:
    """An aiosmtpd handler that keeps every message it accepts and refuses recipients with "refuse" in them."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if "refuse" in address:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list:
        """The messages accepted, parsed."""
        import email
        import email.policy

        return [email.message_from_bytes(e.original_content, policy=email.policy.default) for e in self.envelopes]


@contextlib.contextmanager
def smtp_server():
    """A real SMTP server on 127.0.0.1 (aiosmtpd) requiring AUTH as billing@example.com / pw: (port, collector)."""
    import socket

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def auth(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.login == b"billing@example.com" and data.password == b"pw"
        return AuthResult(success=ok, handled=False)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = SmtpCollector()
    ctl = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=auth, auth_required=True, auth_require_tls=False
    )
    ctl.start()
    try:
        yield port, handler
    finally:
        ctl.stop()


def _answering(monkeypatch, owner, name: str) -> list[bool]:
    """Whether each call of ``owner.name(self, kinds, compute)`` answered (not None), in order."""
    real = getattr(owner, name)
    got: list[bool] = []

    def counted(self, kinds, compute):
        out = real(self, kinds, compute)
        got.append(out is not None)
        return out

    monkeypatch.setattr(owner, name, counted)
    return got


@pytest.fixture
def parted(monkeypatch) -> list[bool]:
    """Whether each read went in parts (:meth:`Workspace.read_in_parts` answering, not None), in order."""
    from cpqctl.app.workspace import Workspace

    return _answering(monkeypatch, Workspace, "read_in_parts")


@pytest.fixture
def parts_read(monkeypatch) -> list[bool]:
    """Whether each read of the repository's parts answered (:meth:`cpqctl.app.workspace.Parts.read` not None: the
    parts stood for the whole read), in order; the whole path reads none."""
    from cpqctl.app.workspace import Parts

    return _answering(monkeypatch, Parts, "read")


def whole_and_parts(cli, root: Path, args, day: str, small: str):
    """``cli(*args)`` on ``root`` read whole (``CPQ_CHUNK_FILES`` past any repository) and in parts of ``small``
    files: (whole, parts)."""
    whole = cli(*args, "--repo", root, "--as-of", day, env={"CPQ_CHUNK_FILES": "100000000"})
    parts = cli(*args, "--repo", root, "--as-of", day, env={"CPQ_CHUNK_FILES": small})
    return whole, parts


def same_in_parts(cli, root: Path, args, day: str, small: str, parted: list[bool]):
    """Asserts that ``args`` answer the same in parts as whole, and that the second read went in parts (the
    ``parted`` fixture); (whole, parts)."""
    whole, parts = whole_and_parts(cli, root, args, day, small)
    assert whole.code == 0, whole.stderr
    assert parts == whole
    assert parted == [False, True]  # the whole read first (one part's worth of files: the whole), then parts
    return whole, parts
