"""docs/python-api.md, run as a reader would: every ```python block, in order, in one namespace, in a fresh
folder. A figure on the page that the library no longer produces fails here, so the page cannot rot."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "python-api.md"


def _blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", PAGE.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)


def test_the_page_has_examples():
    assert len(_blocks()) >= 5


def test_every_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in ("CPQ_REPO", "CPQ_AS_OF"):
        monkeypatch.delenv(var, raising=False)
    namespace: dict = {"__name__": "python_api_page"}
    for n, block in enumerate(_blocks(), 1):
        try:
            exec(compile(block, f"{PAGE.name} block {n}", "exec"), namespace)
        except Exception as e:  # name the block: the page is what failed
            pytest.fail(f"docs/python-api.md block {n} failed: {type(e).__name__}: {e}\n{block}")
    assert (tmp_path / "demo" / "contracts" / "acme" / "C-2027-0001.yaml").is_file()


def test_importing_cpqctl_loads_no_engine():
    import subprocess

    code = (
        "import sys, cpqctl; heavy = [m for m in ('cpqctl.app.workspace', 'cpqctl.core.pricing', 'jinja2', "
        "'typst', 'yaml') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_dates_as_text_and_exact_numbers_only(example_repo):
    import cpqctl

    ws = cpqctl.open(example_repo, as_of="2026-12-01")
    assert str(ws.as_of) == "2026-12-01"
    dry = ws.new_quote("acme", "2027-01-01", [("PRO-SEAT", 50), ("SSO", "1", "10")], as_of="2026-12-01", dry_run=True)
    assert dry.data["net_total"] == "58860.00"  # 50 × 1080.00 + 1 × 12 × 405.00
    assert dry.written == () and not (example_repo / "quotes").exists()
    for bad in ("2026-13-01", "01.12.2026", 20261201, "9999-12-31", "0001-01-01"):
        with pytest.raises(cpqctl.UsageError):
            ws.new_quote("acme", bad, ["PRO-SEAT=1"], dry_run=True)
    for bad in (1.5, "1e400x", "١٢", True):
        with pytest.raises(cpqctl.UsageError):
            ws.new_quote("acme", "2027-01-01", [("PRO-SEAT", bad)], dry_run=True)


def test_the_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    import cpqctl

    readme = (PAGE.parent.parent / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"^```python\n(.*?)^```$", readme, flags=re.MULTILINE | re.DOTALL)
    cpqctl.copy_example(tmp_path / "cpq-tour")  # what `cpqctl tour` starts from
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out == "12000.00\n"  # 10 seats × 1200.00 a year
