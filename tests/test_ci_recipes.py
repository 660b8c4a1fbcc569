"""The CI recipes of docs/ci/ work as shipped: each job's script, run verbatim in a scratch git repo.

A workflow (docs/ci/*.yml) only checks out, installs cpqctl and runs
``bash .github/cpq/<job>.sh``, plus what needs GitHub itself (the pull-request
comment). These tests run those same scripts with the venv's ``cpqctl`` on
PATH, in a copy of the example data committed to a git repository whose
``origin`` is a bare repository next to it (pushes stay on disk), and with a
real SMTP server on 127.0.0.1 for the invoice run. A recipe whose commands
break breaks a test; a workflow that stops calling its script, or installs
another cpqctl than this one, too.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cpqctl.example import copy_example

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or shutil.which("bash") is None, reason="needs git and bash"
)

PROJECT = Path(__file__).resolve().parents[1]
CI = PROJECT / "docs" / "ci"
JOBS = ("pull-request", "renewals", "invoices")
GIT_ID = {
    "GIT_AUTHOR_NAME": "ci",
    "GIT_AUTHOR_EMAIL": "ci@example.com",
    "GIT_COMMITTER_NAME": "ci",
    "GIT_COMMITTER_EMAIL": "ci@example.com",
}


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    """A CI-like environment: the venv's cpqctl first on PATH, git identity from the environment,
    no user or system git config, no CPQ_* or GitHub variables leaking in from the caller."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CPQ_", "GITHUB_", "RUNNER_", "GIT_")) and k != "NO_COLOR"
    }
    return {
        **keep,
        **GIT_ID,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "NO_COLOR": "1",
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "RUNNER_TEMP": str(tmp),
        **extra,
    }


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ID, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr}"
    return proc.stdout


def run_job(job: str, root: Path, tmp: Path, **env: str) -> subprocess.CompletedProcess:
    """``bash docs/ci/<job>.sh`` at the root of the data repository, as the workflow runs it."""
    return subprocess.run(
        ["bash", str(CI / f"{job}.sh")], cwd=root, env=_env(tmp, **env), capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def data_repo(tmp_path: Path) -> Path:
    """The example data committed on ``main`` and pushed to a bare ``origin`` (no network)."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    root = copy_example(tmp_path / "data")
    (root / ".gitignore").write_text(".cpq/\n", encoding="utf-8")  # what `cpqctl init` writes
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "example data")
    git(root, "remote", "add", "origin", str(origin))
    git(root, "push", "-q", "-u", "origin", "main")
    return root


def origin_head(root: Path) -> str:
    return git(root.parent / "origin.git", "rev-parse", "main").strip()


def changed(root: Path, rev: str = "HEAD") -> list[str]:
    """``A quotes/Q-….yaml`` lines: what the commit ``rev`` did."""
    return git(root, "show", "--name-status", "--format=", rev).split("\n")[:-1]


# --------------------------------------------------------------------------- the workflow files


def workflow(job: str) -> dict:
    return yaml.safe_load((CI / f"{job}.yml").read_text(encoding="utf-8"))


def triggers(wf: dict) -> dict:
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` key as the boolean true
    return on if isinstance(on, dict) else {name: None for name in ([on] if isinstance(on, str) else on)}


def steps(wf: dict) -> list[dict]:
    return [s for job in wf["jobs"].values() for s in job["steps"]]


def test_each_workflow_has_its_triggers() -> None:
    assert "pull_request" in triggers(workflow("pull-request"))
    for job, day_of_month in (("renewals", "*"), ("invoices", "1")):
        on = triggers(workflow(job))
        assert "workflow_dispatch" in on, job
        (cron,) = [s["cron"] for s in on["schedule"]]
        fields = cron.split()
        assert len(fields) == 5 and fields[2] == day_of_month, (job, cron)


@pytest.mark.parametrize("job", JOBS)
def test_each_workflow_runs_its_script_and_installs_this_version(job: str) -> None:

    wf = workflow(job)
    # cpqctl is on no package index and has no release tags (issue 18): the recipes install it from its git
    # repository, pinned to a commit the user fills in, never a release that does not exist
    assert wf["env"]["CPQCTL"] == "cpqctl @ git+https://github.com/OWNER/cpqctl@COMMIT"
    text = (CI / f"{job}.yml").read_text()
    assert "==0." not in text and "@v0." not in text
    runs = [s["run"].strip() for s in steps(wf) if "run" in s]
    assert 'pip install "$CPQCTL"' in runs
    assert f"bash .github/cpq/{job}.sh" in runs, "the workflow runs the script the test runs"
    assert (CI / f"{job}.sh").is_file()
    checkout = next(s for s in steps(wf) if s.get("uses", "").startswith("actions/checkout@"))
    if job == "pull-request":
        assert checkout["with"]["fetch-depth"] == 0  # cpqctl diff needs origin/<base>
    else:
        assert wf["permissions"]["contents"] == "write"  # the scripts commit and push


def test_invoices_workflow_passes_the_smtp_password_from_a_secret() -> None:
    import tomllib

    smtp = tomllib.loads((PROJECT / "cpq.toml").read_text(encoding="utf-8"))["smtp"]
    (job,) = workflow("invoices")["jobs"].values()
    var = smtp["password_env"]
    assert job["env"][var] == "${{ secrets." + var + " }}"


@pytest.mark.parametrize("job", ("renewals", "invoices"))
def test_writing_workflows_run_on_the_default_branch_one_at_a_time(job: str) -> None:
    """The jobs that commit to the data repository (docs/teamwork.md): one concurrency group for all of
    them, never cancelled half-way; skipped when dispatched on another branch; the branch named for cpqctl."""
    wf = workflow(job)
    assert wf["concurrency"] == {"group": "cpq-data", "cancel-in-progress": False}
    (spec,) = wf["jobs"].values()
    guard = " ".join(spec["if"].split())
    assert "github.ref_name == github.event.repository.default_branch" in guard
    # a schedule event's payload has no repository: without this the monthly run would be skipped
    assert guard.startswith("github.event_name == 'schedule' ||")
    assert spec["env"]["CPQ_BRANCH"] == "${{ github.ref_name }}"
    checkout = next(s for s in spec["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["ref"] == "${{ github.ref_name }}"  # a run that waited starts from the newest commit


def test_readme_names_every_recipe() -> None:
    text = (CI / "README.md").read_text(encoding="utf-8")
    for job in JOBS:
        assert f"({job}.yml)" in text and f"({job}.sh)" in text, job
    assert "(../pre-commit.md)" in text


# --------------------------------------------------------------------------- pull request


def _upsell_branch(cli, root: Path) -> None:
    """A pull request's branch: ACME +5 seats from 2026-12-01, quoted, accepted, committed."""
    git(root, "switch", "-q", "-c", "acme-upsell")
    r = cli(
        "amend",
        "C-2026-0001",
        "--effective",
        "2026-12-01",
        "--set",
        "PRO-SEAT=60",
        "--repo",
        root,
        "--as-of",
        "2026-11-28",
        "--format",
        "json",
    )
    assert r.code == 0, r.stderr
    q = re.search(r'"quote": "(Q-[0-9A-Z-]+)"', r.stdout).group(1)
    assert cli("quote", "accept", q, "--signed-by", "Anna", "--repo", root, "--as-of", "2026-11-28").code == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "ACME up-sell")


def test_pull_request_summary_shows_the_arr_change(cli, data_repo, tmp_path) -> None:
    _upsell_branch(cli, data_repo)
    r = run_job("pull-request", data_repo, tmp_path, GITHUB_BASE_REF="main", CPQ_AS_OF="2026-12-15")
    assert r.returncode == 0, r.stderr
    assert "::error" not in r.stdout
    md = (tmp_path / "cpq-diff.md").read_text(encoding="utf-8")  # what the comment step posts
    # +5 seats at 1,080.00 a year: ARR 64,800.00 → 70,200.00; value +450.00 for December
    assert "| C-2026-0001 | acme | amended (A-3) | 450.00 | 64800.00 | 70200.00 |" in md
    assert (tmp_path / "summary.md").read_text(encoding="utf-8") == md


def test_pull_request_with_a_broken_file_annotates_it_and_fails(cli, data_repo, tmp_path) -> None:
    _upsell_branch(cli, data_repo)
    path = data_repo / "contracts/acme/C-2026-0001.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("currency: PLN", "currency: 12", 1), encoding="utf-8")
    git(data_repo, "commit", "-qam", "a typo")
    r = run_job("pull-request", data_repo, tmp_path, GITHUB_BASE_REF="main", CPQ_AS_OF="2026-12-15")
    assert r.returncode == 1
    assert re.search(
        r"^::error file=contracts/acme/C-2026-0001\.yaml,line=7,col=\d+,title=E-CURRENCY::", r.stdout, re.MULTILINE
    ), r.stdout
    assert not (tmp_path / "cpq-diff.md").exists() and not (tmp_path / "summary.md").exists()


def test_pull_request_script_needs_the_base_branch(data_repo, tmp_path) -> None:
    r = run_job("pull-request", data_repo, tmp_path)
    assert r.returncode != 0 and "GITHUB_BASE_REF" in r.stderr


# --------------------------------------------------------------------------- renewals


def test_renewals_commit_the_due_quotes_once(data_repo, tmp_path) -> None:
    start = git(data_repo, "rev-parse", "HEAD").strip()

    # 2026-06-01: no contract ends within 90 days: no commit, no failure
    r = run_job("renewals", data_repo, tmp_path, CPQ_AS_OF="2026-06-01")
    assert r.returncode == 0, r.stderr
    assert git(data_repo, "rev-parse", "HEAD").strip() == start and "no renewal quote" in r.stdout

    # 2026-12-01: ACME (ends 2026-12-31) and Umbrella (2027-01-31) are due
    r = run_job("renewals", data_repo, tmp_path, CPQ_AS_OF="2026-12-01")
    assert r.returncode == 0, r.stderr
    assert git(data_repo, "rev-parse", "HEAD~1").strip() == start
    assert changed(data_repo) == ["A\tquotes/Q-2026-0001.yaml", "A\tquotes/Q-2026-0002.yaml"]
    assert "kind: renewal" in (data_repo / "quotes/Q-2026-0001.yaml").read_text(encoding="utf-8")
    assert git(data_repo, "log", "-1", "--format=%s").strip() == "Renewal quotes due as of 2026-12-01"
    assert origin_head(data_repo) == git(data_repo, "rev-parse", "HEAD").strip()  # pushed
    assert "| C-2026-0001 | acme | Q-2026-0001 | create |" in (tmp_path / "summary.md").read_text(encoding="utf-8")

    # the next run finds them up to date
    done = git(data_repo, "rev-parse", "HEAD").strip()
    r = run_job("renewals", data_repo, tmp_path, CPQ_AS_OF="2026-12-01")
    assert r.returncode == 0, r.stderr
    assert git(data_repo, "rev-parse", "HEAD").strip() == done and git(data_repo, "status", "--porcelain") == ""


def test_renewals_fail_on_a_broken_repository_and_commit_nothing(data_repo, tmp_path) -> None:
    path = data_repo / "contracts/acme/C-2026-0001.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("currency: PLN", "currency: 12", 1), encoding="utf-8")
    git(data_repo, "commit", "-qam", "a typo")
    start = git(data_repo, "rev-parse", "HEAD").strip()
    r = run_job("renewals", data_repo, tmp_path, CPQ_AS_OF="2026-12-01")
    assert r.returncode == 1 and "E-INVALID-REPO" in r.stderr
    assert git(data_repo, "rev-parse", "HEAD").strip() == start and not (data_repo / "quotes").exists()


# --------------------------------------------------------------------------- invoices


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1 that takes mail only after AUTH with the password "s3cret"
    (plain text: it is the loopback), so a delivery proves the secret reached cpqctl."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def auth(server, session, envelope, mechanism, data):
        return AuthResult(success=getattr(data, "password", b"") == b"s3cret")

    box = Mailbox()
    controller = Controller(
        box, hostname="127.0.0.1", port=_free_port(), authenticator=auth, auth_required=True, auth_require_tls=False
    )
    controller.start()
    try:
        yield controller.port, box
    finally:
        controller.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_invoices_are_committed_sent_and_the_sent_records_committed(data_repo, tmp_path, smtp) -> None:
    port, box = smtp
    toml = data_repo / "cpq.toml"
    text = toml.read_text(encoding="utf-8")
    assert 'host = "127.0.0.1"' in text and "starttls = false" in text
    toml.write_text(re.sub(r"(?m)^port = \d+$", f"port = {port}", text), encoding="utf-8")
    git(data_repo, "commit", "-qam", "SMTP of the test")
    start = git(data_repo, "rev-parse", "HEAD").strip()

    # 2026-02-01, the first run: initech's annual invoice of 2025-10-01, acme's Q1, umbrella's February, all
    # dated the run's day (an invoice is dated the day it is issued) and so numbered in the 2026 series
    r = run_job("invoices", data_repo, tmp_path, CPQ_AS_OF="2026-02-01", CPQ_SMTP_PASSWORD="s3cret")
    assert r.returncode == 0, r.stderr
    issued = ["INV-2026-0001", "INV-2026-0002", "INV-2026-0003"]
    assert git(data_repo, "rev-parse", "HEAD~2").strip() == start
    # each invoice is committed with its documents as issued (.md, .pdf beside the .yaml)
    assert changed(data_repo, "HEAD~1") == [f"A\tinvoices/{n}.{ext}" for n in issued for ext in ("md", "pdf", "yaml")]
    assert changed(data_repo, "HEAD") == [f"M\tinvoices/{n}.yaml" for n in issued]
    assert git(data_repo, "log", "-2", "--format=%s").split("\n")[:2] == [
        "Invoices sent on 2026-02-01",
        "Invoices through 2026-02-01",
    ]
    assert git(data_repo, "status", "--porcelain") == ""
    assert origin_head(data_repo) == git(data_repo, "rev-parse", "HEAD").strip()

    # one message per invoice, to the address its `sent:` record names, with the PDF
    assert len(box.messages) == len(issued)
    for number in issued:
        record = yaml.safe_load((data_repo / "invoices" / f"{number}.yaml").read_text(encoding="utf-8"))
        (sent,) = record["sent"]
        mine = [
            (to, m)
            for to, m in box.messages
            if number in (m["Subject"] or "") or any(number in (a.get_filename() or "") for a in m.iter_attachments())
        ]
        assert len(mine) == 1, number
        to, msg = mine[0]
        assert sent["to"] in to and str(sent["date"]) == "2026-02-01"
        pdfs = [a for a in msg.iter_attachments() if a.get_content_type() == "application/pdf"]
        assert len(pdfs) == 1 and pdfs[0].get_content().startswith(b"%PDF")

    # the next run on the same day issues and sends nothing
    done = git(data_repo, "rev-parse", "HEAD").strip()
    r = run_job("invoices", data_repo, tmp_path, CPQ_AS_OF="2026-02-01", CPQ_SMTP_PASSWORD="s3cret")
    assert r.returncode == 0, r.stderr
    assert git(data_repo, "rev-parse", "HEAD").strip() == done and len(box.messages) == len(issued)


def test_invoices_are_pushed_before_sending_fails(data_repo, tmp_path) -> None:
    """No SMTP server listens (or `invoice send` is missing): the issued invoices are committed
    and pushed all the same, nothing is recorded as sent, and the job fails."""
    toml = data_repo / "cpq.toml"
    toml.write_text(
        re.sub(r"(?m)^port = \d+$", f"port = {_free_port()}", toml.read_text(encoding="utf-8")), encoding="utf-8"
    )
    git(data_repo, "commit", "-qam", "SMTP nobody listens on")
    start = git(data_repo, "rev-parse", "HEAD").strip()
    r = run_job("invoices", data_repo, tmp_path, CPQ_AS_OF="2026-02-01", CPQ_SMTP_PASSWORD="s3cret")
    assert r.returncode != 0
    assert git(data_repo, "rev-parse", "HEAD~1").strip() == start
    assert git(data_repo, "log", "-1", "--format=%s").strip() == "Invoices through 2026-02-01"
    assert origin_head(data_repo) == git(data_repo, "rev-parse", "HEAD").strip()
    for f in (data_repo / "invoices").glob("*.yaml"):
        assert "sent:" not in f.read_text(encoding="utf-8"), f.name


def test_invoices_on_another_branch_are_refused_and_nothing_is_committed(data_repo, tmp_path) -> None:
    """Invoice numbers come from the default branch only (E-BRANCH): the script stops at `invoice run`,
    before any commit, push or e-mail."""
    git(data_repo, "switch", "-q", "-c", "acme-upsell")
    start = git(data_repo, "rev-parse", "HEAD").strip()
    r = run_job("invoices", data_repo, tmp_path, CPQ_AS_OF="2026-02-01", CPQ_SMTP_PASSWORD="s3cret")
    assert r.returncode == 1 and "E-BRANCH" in r.stderr, r.stderr
    assert git(data_repo, "rev-parse", "HEAD").strip() == start and git(data_repo, "status", "--porcelain") == ""
    assert not (data_repo / "invoices").exists()
    # a detached checkout has no branch: refused too unless CPQ_BRANCH names it (the workflows set it)
    git(data_repo, "switch", "-q", "--detach", "main")
    r = run_job("invoices", data_repo, tmp_path, CPQ_AS_OF="2026-02-01", CPQ_SMTP_PASSWORD="s3cret")
    assert r.returncode == 1 and "E-BRANCH" in r.stderr, r.stderr


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_invoices_since_leaves_older_invoices_alone(data_repo, tmp_path, smtp) -> None:
    """CPQ_SEND_SINCE (adopting the job in a repository whose older invoices went out another way)."""
    port, box = smtp
    toml = data_repo / "cpq.toml"
    toml.write_text(re.sub(r"(?m)^port = \d+$", f"port = {port}", toml.read_text(encoding="utf-8")), encoding="utf-8")
    git(data_repo, "commit", "-qam", "SMTP of the test")
    # the older invoices, issued before the job existed (on their billing days) and sent another way
    for day in ("2025-10-01", "2026-01-01"):
        done = subprocess.run(
            ["cpqctl", "invoice", "run", "-q"], cwd=data_repo, env=_env(tmp_path, CPQ_AS_OF=day), capture_output=True
        )
        assert done.returncode == 0, done.stderr
    git(data_repo, "add", "-A")
    git(data_repo, "commit", "-qm", "Invoices issued before the job")
    assert sorted(p.stem for p in (data_repo / "invoices").glob("*.yaml")) == ["INV-2025-0001", "INV-2026-0001"]
    r = run_job(
        "invoices", data_repo, tmp_path, CPQ_AS_OF="2026-02-01", CPQ_SMTP_PASSWORD="s3cret", CPQ_SEND_SINCE="2026-01-15"
    )
    assert r.returncode == 0, r.stderr
    assert [re.search(r"INV-[0-9]{4}-[0-9]{4}", m["Subject"])[0] for _, m in box.messages] == ["INV-2026-0002"]
    assert changed(data_repo, "HEAD") == ["M\tinvoices/INV-2026-0002.yaml"]
