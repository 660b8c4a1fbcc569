"""scripts/mypy_baseline.py: the core must be clean, the rest may not grow, and a fix must shrink the file.

Fed saved mypy outputs (``--mypy-output``), so the test does not run mypy.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mypy_baseline", PROJECT / "scripts" / "mypy_baseline.py")
assert _spec is not None and _spec.loader is not None
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

TODAY = """\
cpqctl/load/schema.py:10: error: Item "None" of "Scalar | None" has no attribute "value"  [union-attr]
cpqctl/load/schema.py:10: note: See https://mypy.rtfd.io
cpqctl/load/schema.py:55: error: Item "None" of "Scalar | None" has no attribute "value"  [union-attr]
cpqctl/render/charts.py:7: error: Name "x" already defined on line 3  [no-redef]
"""


def run(tmp_path: Path, output: str, *extra: str) -> int:
    (tmp_path / "out.txt").write_text(output, encoding="utf-8")
    return mb.main(["--baseline", str(tmp_path / "baseline.txt"), "--mypy-output", str(tmp_path / "out.txt"), *extra])


def test_update_then_check_passes_and_ignores_line_numbers(tmp_path, capsys):
    assert run(tmp_path, TODAY, "--update") == 0
    rows = [r for r in (tmp_path / "baseline.txt").read_text().splitlines() if not r.startswith("#")]
    assert rows == [
        'cpqctl/load/schema.py: [union-attr] Item "None" of "Scalar | None" has no attribute "value"',
        'cpqctl/load/schema.py: [union-attr] Item "None" of "Scalar | None" has no attribute "value"',
        'cpqctl/render/charts.py: [no-redef] Name "x" already defined on line N',
    ]
    moved = TODAY.replace(":10:", ":12:").replace(":55:", ":80:").replace("line 3", "line 4")
    assert run(tmp_path, moved) == 0
    assert "all in the baseline" in capsys.readouterr().out


def test_a_new_error_fails_even_when_a_same_one_is_baselined(tmp_path, capsys):
    run(tmp_path, TODAY, "--update")
    third = 'cpqctl/load/schema.py:90: error: Item "None" of "Scalar | None" has no attribute "value"  [union-attr]\n'
    assert run(tmp_path, TODAY + third) == 1
    out = capsys.readouterr().out
    assert "1 new errors" in out and "schema.py:90:" in out


def test_a_fixed_error_fails_until_the_baseline_is_updated(tmp_path, capsys):
    run(tmp_path, TODAY, "--update")
    fixed = "".join(ln + "\n" for ln in TODAY.splitlines() if "charts.py" not in ln)
    assert run(tmp_path, fixed) == 1
    assert "--update" in capsys.readouterr().out
    assert run(tmp_path, fixed, "--update") == 0
    assert run(tmp_path, fixed) == 0
    assert "charts.py" not in (tmp_path / "baseline.txt").read_text()


def test_the_core_is_never_baselined(tmp_path, capsys):
    core = (
        'cpqctl/core/pricing.py:3: error: Incompatible return value type (got "int", expected "str")  [return-value]\n'
    )
    assert run(tmp_path, TODAY + core, "--update") == 1
    assert "pricing.py" not in (tmp_path / "baseline.txt").read_text()
    assert run(tmp_path, TODAY + core) == 1
    assert "must be clean" in capsys.readouterr().out


@pytest.mark.parametrize(
    "output", ["pyproject.toml: error: Unrecognized option\n", "cpqctl/x.py: error: invalid syntax\n"]
)
def test_an_error_that_is_not_a_finding_fails(tmp_path, output):
    run(tmp_path, "", "--update")
    assert run(tmp_path, output) == 1
