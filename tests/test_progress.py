"""Progress bars: on stderr only, only when asked for or interactive, never in the output."""

from __future__ import annotations

import json

from cpqctl import progress


def test_forced_bar_goes_to_stderr_and_output_stays_clean(example_repo, cli):
    run = cli(
        "invoice",
        "run",
        "--through",
        "2026-12-31",
        "--dry-run",
        "-f",
        "json",
        "--repo",
        example_repo,
        env={"CPQ_PROGRESS": "1"},
    )
    assert run.code == 0, run.stderr
    assert "Loading files" in run.stderr and "Billing contracts" in run.stderr
    assert json.loads(run.stdout)["count"] > 0  # stdout is still pure JSON


def test_silent_when_not_interactive_or_quiet_or_off(example_repo, cli):
    for env, args in (({}, ()), ({"CPQ_PROGRESS": "0"}, ()), ({}, ("-q",))):
        run = cli(*args, "check", "--repo", example_repo, env=env)
        assert run.code == 0
        assert "Loading files" not in run.stderr


def test_meter_choice(monkeypatch):
    monkeypatch.delenv("CPQ_PROGRESS", raising=False)
    assert progress.meter(quiet=False) is progress.SILENT  # pytest's stderr is not a terminal
    monkeypatch.setenv("CPQ_PROGRESS", "1")
    assert isinstance(progress.meter(quiet=True), progress.Bar)
    monkeypatch.setenv("CPQ_PROGRESS", "0")
    assert progress.meter(quiet=False) is progress.SILENT


def test_small_work_shows_no_bar_unless_forced(capsys):
    bar = progress.Bar()
    bar.start("Loading files", progress.MIN_ITEMS - 1)
    bar.advance()
    bar.close()
    assert capsys.readouterr().err == ""


def test_reports_show_loading_progress(example_repo, cli):
    run = cli("report", "arr", "-f", "json", "--repo", example_repo, "--as-of", "2026-06-30", env={"CPQ_PROGRESS": "1"})
    assert run.code == 0 and "Loading files" in run.stderr
    assert json.loads(run.stdout)["currency"]
