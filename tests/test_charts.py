"""Charts (cpqctl/charts.py): the SVG geometry says what the numbers say, and the terminal bars too.

The SVG is parsed back with xml.etree: bar heights must be proportional to
the values, a waterfall must climb and fall by each movement from the level
the step before left and land on the end figure.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings, strategies as st

from cpqctl.render import charts

SVG = "{http://www.w3.org/2000/svg}"
NBSP = "\u00a0"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def bars_of(svg: str) -> list[dict]:
    """The data rectangles (those with a tooltip title), as floats: x, y, width, height, fill."""
    out = []
    for r in parse(svg).iter(f"{SVG}rect"):
        if r.find(f"{SVG}title") is not None:
            out.append({k: float(r.get(k)) for k in ("x", "y", "width", "height")} | {"fill": r.get("fill")})
    return out


def texts_of(svg: str) -> list[str]:
    return [t.text for t in parse(svg).iter(f"{SVG}text")]


def zero_line(svg: str) -> float:
    """The y of the axis line drawn at 0 (the muted grid line)."""
    lines = [
        ln
        for ln in parse(svg).iter(f"{SVG}line")
        if ln.get("stroke") == charts.MUTED and ln.get("stroke-dasharray") is None
    ]
    assert len(lines) == 1
    return float(lines[0].get("y1"))


def ticks_of(svg: str) -> list[float]:
    return [float(ln.get("y1")) for ln in parse(svg).iter(f"{SVG}line") if ln.get("stroke-dasharray") is None]


def plain_bars(values: list[str]) -> str:
    bars = [charts.Bar((f"m{i}", ""), D(v), v) for i, v in enumerate(values)]
    return charts.bar_svg(bars, "Test", str)


# ---------------------------------------------------------------------------- ticks


@pytest.mark.parametrize(
    "lo, hi, expected",
    [
        ("0", "256461.70", ["0", "50000", "100000", "150000", "200000", "250000", "300000"]),
        ("0", "21371.81", ["0", "5000", "10000", "15000", "20000", "25000"]),
        ("0", "100000", ["0", "20000", "40000", "60000", "80000", "100000"]),
        ("0", "0.3", ["0", "0.05", "0.1", "0.15", "0.2", "0.25", "0.3"]),
        ("0", "0", ["0", "0.2", "0.4", "0.6", "0.8", "1"]),
        ("-120", "950", ["-200", "0", "200", "400", "600", "800", "1000"]),
    ],
)
def test_ticks_are_round_and_cover_the_values(lo, hi, expected):
    assert [str(t) for t in charts.nice_ticks(D(lo), D(hi))] == expected


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=10**9, places=2), st.decimals(min_value=0, max_value=10**9, places=2))
def test_ticks_always_cover_zero_and_the_largest_value_in_a_few_even_steps(a, b):
    ticks = charts.nice_ticks(D(0), max(a, b))
    assert ticks[0] == 0 and ticks[-1] >= max(a, b)
    steps = {y - x for x, y in zip(ticks, ticks[1:])}
    assert len(steps) == 1 and 2 <= len(ticks) <= 8
    step = steps.pop()
    mantissa = step.scaleb(-step.adjusted()).normalize()
    assert mantissa in {D(1), D(2), D("2.5"), D(5)}


# ---------------------------------------------------------------------------- bar chart


def test_bar_heights_are_proportional_to_the_values_and_stand_on_zero():
    values = ["68310.00", "103776.40", "144282.40", "0.00", "256461.70"]
    svg = plain_bars(values)
    bars = bars_of(svg)
    assert len(bars) == 5
    zero = zero_line(svg)
    per_unit = bars[-1]["height"] / 256461.70
    for bar, v in zip(bars, values):
        assert bar["y"] + bar["height"] == pytest.approx(zero, abs=0.02)
        assert bar["height"] == pytest.approx(float(v) * per_unit, abs=0.02)
    # the top tick (300 000) is the top of the plot: the largest bar reaches 256461.70/300000 of it
    top = min(ticks_of(svg))
    assert bars[-1]["height"] / (zero - top) == pytest.approx(256461.70 / 300000, abs=1e-4)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**10), min_size=1, max_size=24))
def test_bar_heights_are_proportional_for_any_values(cents):
    values = [str(D(c) / 100) for c in cents]
    bars = bars_of(plain_bars(values))
    largest = max(cents)
    if largest == 0:
        assert all(b["height"] == 0 for b in bars)
        return
    k = max(b["height"] for b in bars) / largest
    for bar, c in zip(bars, cents):
        assert bar["height"] == pytest.approx(c * k, abs=0.011)


def test_bar_labels_thin_out_instead_of_overlapping_and_keep_the_last_one():
    values = [str(1000 * i) for i in range(1, 61)]
    svg = plain_bars(values)
    over = [t for t in parse(svg).iter(f"{SVG}text") if t.get("text-anchor") == "middle" and t.text in values]
    shown = [t.text for t in over]
    assert values[-1] in shown and 1 < len(shown) < 60
    xs = sorted(float(t.get("x")) for t in over)
    assert min(b - a for a, b in zip(xs, xs[1:])) >= len("60000") * charts._CHAR * 10
    under = [t for t in parse(svg).iter(f"{SVG}text") if t.text and t.text.startswith("m")]
    assert [t.text for t in under][-1] == "m59" and len(under) == len(over)  # a bar has both labels or neither


def test_svg_is_deterministic_and_escapes_text():
    bars = [charts.Bar(("<b>&", "x@y/z"), D("5"), '5 "q"')]
    a = charts.bar_svg(bars, "A <title> & 'more'", str)
    assert a == charts.bar_svg(bars, "A <title> & 'more'", str)
    root = parse(a)  # well-formed XML despite the markup characters
    assert root.find(f"{SVG}title").text == "A <title> & 'more'"
    assert "<b>" not in a and "@" not in a  # no "@ns/pkg" can reach a Typst string


def test_arr_chart_in_the_company_locale():
    days = [date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28)]
    svg = charts.arr_chart_svg(list(zip(days, [D("14310.00"), D("68310.00"), D("176022.40")])), "PLN", "pl_PL")
    texts = texts_of(svg)
    assert "ARR at month end (thousands of PLN)" in texts
    assert {"14,3", "68,3", "176,0"} <= set(texts)  # one decimal, decimal comma
    assert [t for t in texts if t in ("gru", "sty", "lut")] == ["gru", "sty", "lut"]
    assert texts.count("2025") == 1 and texts.count("2026") == 1  # each year once
    assert [t for t in texts if t in ("0", "50", "100", "150", "200", "250")] == ["0", "50", "100", "150", "200"]
    us = charts.arr_chart_svg([(date(2026, 1, 31), D("1234567.80"))], "USD", "en_US")
    assert "1,234.6" in texts_of(us) and "Jan" in texts_of(us)


# ---------------------------------------------------------------------------- waterfall


TOTALS = {
    "new": D("13026.03"),
    "expansion": D("8999.78"),
    "reactivation": D("0.00"),
    "contraction": D("451.50"),
    "churn": D("1395.00"),
}


def waterfall(start=D("1192.50"), totals=TOTALS, end=D("21371.81")) -> str:
    return charts.movements_chart_svg(start, totals, end, "PLN", "pl_PL", "31.12.2025", "31.12.2026")


def test_waterfall_steps_start_where_the_last_one_ended_and_land_on_the_end():
    svg = waterfall()
    bars = bars_of(svg)
    assert [b["fill"] for b in bars] == [
        charts.ACCENT,
        charts.UP,
        charts.UP,
        charts.UP,
        charts.DOWN,
        charts.DOWN,
        charts.ACCENT,
    ]
    zero = zero_line(svg)
    px = (zero - min(ticks_of(svg))) / 25000  # pixels per złoty: the axis runs from 0 to 25 000
    level = 1192.50
    assert bars[0]["y"] + bars[0]["height"] == pytest.approx(zero, abs=0.02)
    for bar, key in zip(bars[1:6], ("new", "expansion", "reactivation", "contraction", "churn")):
        amount = float(TOTALS[key])
        up = key in ("new", "expansion", "reactivation")
        before_y = zero - level * px
        # an increase's bottom, a decrease's top, is the level the previous step left
        edge = bar["y"] + bar["height"] if up else bar["y"]
        assert edge == pytest.approx(before_y, abs=0.03) or amount == 0
        assert bar["height"] == pytest.approx(max(amount * px, 1.0), abs=0.03)
        level += amount if up else -amount
    end = bars[-1]
    assert level == pytest.approx(21371.81)
    assert end["y"] == pytest.approx(zero - 21371.81 * px, abs=0.03)
    assert end["y"] + end["height"] == pytest.approx(zero, abs=0.02)


def test_waterfall_connectors_join_each_step_to_the_next():
    svg = waterfall()
    bars = bars_of(svg)
    dashed = [ln for ln in parse(svg).iter(f"{SVG}line") if ln.get("stroke-dasharray")]
    assert len(dashed) == len(bars) - 1
    for ln, a, b in zip(dashed, bars, bars[1:]):
        assert float(ln.get("x1")) == pytest.approx(a["x"] + a["width"], abs=0.01)
        assert float(ln.get("x2")) == pytest.approx(b["x"], abs=0.01)
        y = float(ln.get("y1"))
        assert y == float(ln.get("y2"))
        # the connector sits on an edge of the bar it leaves and of the bar it reaches
        assert min(abs(y - a["y"]), abs(y - a["y"] - a["height"])) < 0.03
        assert min(abs(y - b["y"]), abs(y - b["y"] - b["height"])) < 1.03  # a zero step is a 1px hairline


def test_waterfall_prints_exact_amounts_with_signs_in_the_locale():
    texts = texts_of(waterfall())
    for expected in (
        f"1{NBSP}192,50{NBSP}zł",
        f"+13{NBSP}026,03{NBSP}zł",
        f"\u2212451,50{NBSP}zł",
        f"\u22121{NBSP}395,00{NBSP}zł",
        f"21{NBSP}371,81{NBSP}zł",
        "MRR at start",
        "31.12.2025",
        "Churn",
        "MRR at end",
        "31.12.2026",
    ):
        assert expected in texts


def test_a_waterfall_that_does_not_reconcile_is_refused():
    with pytest.raises(ValueError, match="reconcile"):
        waterfall(end=D("21371.80"))


def test_spans_follow_the_level():
    steps = charts.movement_steps(
        D(100),
        {"new": D(50), "expansion": D(0), "reactivation": D(5), "contraction": D(20), "churn": D(35)},
        D(100),
        lambda k, a: str(a),
    )
    assert charts.spans(steps) == [(0, 100), (100, 150), (150, 150), (150, 155), (135, 155), (100, 135), (0, 100)]


# ---------------------------------------------------------------------------- terminal


def render(renderable) -> str:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=100, no_color=True, record=True)
    console.print(renderable)
    return console.export_text()


def bar_cells(line: str) -> float:
    """Length of a block-character bar in cells (eighths counted)."""
    eighths = " ▏▎▍▌▋▊▉"
    return line.count("█") + sum(eighths.index(ch) / 8 for ch in line if ch in eighths[1:])


def test_terminal_bars_are_proportional():
    points = [
        (date(2026, 1, 31), D("68310.00")),
        (date(2026, 2, 28), D("136620.00")),
        (date(2026, 3, 31), D("273240.00")),
    ]
    text = render(charts.arr_chart_rich(points, "PLN", width=40))
    rows = [ln for ln in text.splitlines() if ln.strip().startswith("2026-")]
    assert [bar_cells(r) for r in rows] == [10, 20, 40]
    assert "273240.00" in rows[2] and "ARR at month end (PLN)" in text


def test_terminal_waterfall_steps_connect():
    text = render(
        charts.movements_chart_rich(
            D(100),
            {"new": D(50), "expansion": D(10), "reactivation": D(0), "contraction": D(20), "churn": D(40)},
            D(100),
            "PLN",
            width=32,
        )
    )
    rows = [ln for ln in text.splitlines() if "█" in ln]
    left = rows[0].index("█")
    spans = [(ln.index("█") - left, ln.rindex("█") + 1 - left) for ln in rows]
    # levels 0–100, 100–150, 150–160, 140–160, 100–140, 0–100 of 160 over 32 cells (5 a cell)
    assert spans == [(0, 20), (20, 30), (30, 32), (28, 32), (20, 28), (0, 20)]
    assert "+50.00" in text and "\u221240.00" in text and "MRR at end" in text
