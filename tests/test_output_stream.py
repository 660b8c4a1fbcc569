"""Streamed JSON (big `invoice run` outputs) is byte for byte the JSON of the whole document."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings, strategies as st

from cpqctl.render import output

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=5).filter(lambda k: k != "items"), values, max_size=3),
    st.lists(st.dictionaries(st.text(max_size=5), values, max_size=4), max_size=4),
)
def test_streamed_equals_whole(head, items):
    buf = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdout", buf)
        output.write_json_streamed(head, "items", iter(items))
    assert buf.getvalue() == output.dumps_json({**head, "items": items})


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=5).filter(lambda k: k not in ("a", "b")), values, max_size=3),
    st.lists(st.dictionaries(st.text(max_size=5), values, max_size=4), max_size=4),
    st.lists(values, max_size=4),
)
def test_two_streamed_lists_equal_the_whole(head, first, second):
    """`dunning run`'s reminders then suspend hints: each list after the head, made one item at a time; a head
    value that reads like a list's key (`"a": []` as text) does not move it."""
    head = {**head, "x": '\n  "a": []'}
    buf = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdout", buf)
        output.write_json_lists(head, [("a", iter(first)), ("b", iter(second))])
    assert buf.getvalue() == output.dumps_json({**head, "a": first, "b": second})


def test_invoice_run_json_is_unchanged_by_streaming(example_repo, cli):
    import json

    run = cli("invoice", "run", "--through", "2026-06-30", "--dry-run", "-f", "json", "--repo", example_repo)
    data = json.loads(run.stdout)
    assert data["count"] == len(data["invoices"]) > 5
    assert run.stdout == output.dumps_json(data)


def test_a_narrow_table_never_cuts_a_number(monkeypatch, capsys):
    """On a narrow terminal headers and text fold; an amount is never shown as `256461…`."""
    from rich.console import Console

    monkeypatch.setattr(output, "console", lambda stderr=False: Console(width=60, no_color=True, soft_wrap=False))
    cols = ["month", "arr", "new", "expansion", "contraction", "churn", "reactivation", "net"]
    rows = [
        {
            "month": "2026-12",
            "arr": "256461.70",
            "new": "0.00",
            "expansion": "1000.00",
            "contraction": "0.00",
            "churn": "5400.00",
            "reactivation": "0.00",
            "net": "-4400.00",
        }
    ]
    output.rows_table(cols, rows, right=cols[1:])
    captured = capsys.readouterr()
    out = captured.out
    header = next(ln for ln in out.splitlines() if "month" in ln)
    shown = [c for c in cols if c in header.split()]
    left_out = [c for c in cols if c not in shown]
    assert shown[0] == "month" and shown == cols[: len(shown)]  # the rightmost columns give way first
    for c in shown[1:]:  # every amount shown is whole; a header is never split inside a word
        assert rows[0][c] in out
    assert "…" not in out
    assert left_out and f"left out to fit 60 columns: {', '.join(left_out)}" in captured.err
    assert all(len(ln) <= 60 for ln in out.splitlines())


# --------------------------------------------------------------------------- tables written a row at a time

words = st.text(alphabet="ab1.-€ \n漢", min_size=0, max_size=14)
names = st.lists(st.text(alphabet="abcdef_", min_size=1, max_size=10), min_size=1, max_size=6, unique=True)


@settings(max_examples=300, deadline=None)
@given(
    names,
    st.lists(st.lists(st.none() | words, min_size=6, max_size=6), max_size=8),
    st.none() | st.text(alphabet="Ab c", max_size=60),
    st.sets(st.integers(0, 5)),
    st.none() | st.lists(words, min_size=6, max_size=6),
    st.integers(20, 140),
)
def test_a_piped_table_written_row_by_row_is_what_rich_prints(columns, cells, title, right_at, foot, width):
    """`report arr` at 10,000 accounts writes its table a row at a time when piped (rich would build it whole):
    the bytes are the ones rich prints, whatever the values, folds, alignment, footer and width."""
    rows = [dict(zip(columns, r)) for r in cells]
    right = [c for i, c in enumerate(columns) if i in right_at]
    footer = None if foot is None else dict(zip(columns, foot))
    kept, widths, _ = output._fit(columns, rows, right, footer, width)
    if not kept or output.table_width(widths[c] for c in kept) > width:
        return  # rich then folds on its own: such tables keep going through rich
    plain = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdout", plain)
        output._plain_table(kept, widths, rows, title, right, footer, width)
    from rich.console import Console

    rich = io.StringIO()
    out = Console(file=output._Trimmed(rich), no_color=True, highlight=False, soft_wrap=False, width=width)
    output._rich_table(out, kept, widths, rows, title, right, footer)
    assert plain.getvalue() == rich.getvalue()


# --------------------------------------------------------------------------- long tables on a terminal


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _rows(n: int) -> tuple[list[str], list[dict]]:
    return ["account", "name", "arr"], [
        {"account": f"acct-{i:05d}", "name": f"Customer {i} Sp. z o.o.", "arr": f"{i * 12}.00"} for i in range(n)
    ]


def _piped(cols, rows, monkeypatch) -> str:
    """What the table is when piped (the reference: a row at a time, same bytes as rich)."""
    buf = io.StringIO()
    with monkeypatch.context() as mp:
        mp.setattr("sys.stdout", buf)
        output.rows_table(cols, rows, right=["arr"])
    return buf.getvalue()


def _pager(code: str, *args: str) -> str:
    import shlex
    import sys

    return shlex.join([sys.executable, "-c", code, *args])


def _on_terminal(monkeypatch) -> _Terminal:
    """stdout a terminal 100 columns wide, for the rest of the test (set in the test itself: pytest's output capture
    sets sys.stdout again between a fixture and its test)."""
    monkeypatch.setenv("COLUMNS", "100")
    screen = _Terminal()
    monkeypatch.setattr("sys.stdout", screen)

    def no_rich(*_a, **_k):
        raise AssertionError("a long table on a terminal is not built by rich")

    monkeypatch.setattr(output, "_rich_table", no_rich)
    return screen


def test_a_long_table_on_a_terminal_goes_through_the_pager_a_row_at_a_time(monkeypatch, tmp_path):
    terminal = _on_terminal(monkeypatch)
    cols, rows = _rows(output.PAGED_ROWS + 1)
    got = tmp_path / "paged.txt"
    code = "import sys; open(sys.argv[1], 'w', encoding='utf-8').write(sys.stdin.read())"
    monkeypatch.setenv("CPQ_PAGER", _pager(code, str(got)))
    output.rows_table(cols, rows, right=["arr"])
    assert terminal.getvalue() == ""  # all of it went to the pager
    with monkeypatch.context() as mp:
        mp.setattr("sys.stdout", io.StringIO())
        reference = _piped(cols, rows, mp)
    assert got.read_text(encoding="utf-8") == reference and "acct-01000" in reference


@pytest.mark.parametrize("pager", ["", "no-such-pager-cpqctl", "'unbalanced"])
def test_without_a_pager_the_long_table_is_written_straight_to_the_terminal(monkeypatch, pager):
    terminal = _on_terminal(monkeypatch)
    cols, rows = _rows(output.PAGED_ROWS + 1)
    monkeypatch.setenv("CPQ_PAGER", pager)
    output.rows_table(cols, rows, right=["arr"])
    assert terminal.getvalue() == _piped(cols, rows, monkeypatch)


def test_a_pager_quit_early_ends_the_output_without_an_error(monkeypatch, capfd):
    _on_terminal(monkeypatch)
    cols, rows = _rows(6000)  # far more than a pipe holds: the writes meet the closed pipe
    monkeypatch.setenv("CPQ_PAGER", _pager("import sys; sys.stdin.readline()"))
    output.rows_table(cols, rows, right=["arr"])
    assert "Error" not in capfd.readouterr().err


def test_a_short_table_on_a_terminal_is_still_rich(monkeypatch):
    monkeypatch.setattr("sys.stdout", _Terminal())
    monkeypatch.setenv("CPQ_PAGER", "false")
    drawn = []
    monkeypatch.setattr(output, "_rich_table", lambda *a, **k: drawn.append(1))
    monkeypatch.setattr(output, "_paged", lambda *a, **k: pytest.fail("paged"))
    output.rows_table(*_rows(output.PAGED_ROWS))
    assert drawn == [1]
