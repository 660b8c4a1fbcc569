"""Charts drawn by code: SVG text for documents, rich renderables for the terminal.

Two pictures a board looks at: bars (ARR at each month end) and a waterfall
(MRR at the start, + new, + expansion, + reactivation, − contraction,
− churn, MRR at the end). Nothing is plotted by a service or downloaded: the
SVG is built as plain text, so it is the same bytes on every machine (fixed
two-decimal coordinates, no random ids, no timestamps) and the same numbers
give the same picture in the Markdown report (the .svg files next to it), in
the PDF (Typst draws SVG natively) and, as block characters, in a terminal.

Pure: numbers in, text out. Amounts stay Decimal; float is used only for
pixel coordinates, never for a printed figure. The drawing functions
(:func:`bar_svg`, :func:`waterfall_svg`, :func:`bar_rich`,
:func:`waterfall_rich`) print the texts they are given; the board's two
pictures at the end of this module format them, in the company's locale
for documents (cpqctl/render/fmt.py, Babel) and as the tables do for a
terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

# Colours: the accent of the document templates for totals and bars; green and red for the movements.
ACCENT = "#1f3a5f"
UP = "#2e7d32"
DOWN = "#c62828"
GRID = "#d1d5db"
MUTED = "#6b7280"
TEXT = "#111827"
# SVG text: a sans face where a browser shows the file; Typst (no system fonts) falls back to its own.
FONT = "Helvetica, Arial, sans-serif"

WIDTH, HEIGHT = 720, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 40, 44  # the margins around the plot area
_CHAR = 0.56  # average glyph width / font size, to keep labels from overlapping
LABEL_SIZE = 10.5  # the labels under the bars

# The waterfall's steps in the order they are drawn: increases first, so no level goes below the end.
WATERFALL = (("new", "up"), ("expansion", "up"), ("reactivation", "up"), ("contraction", "down"), ("churn", "down"))


@dataclass(frozen=True)
class Bar:
    """One bar: its label under the axis (one text per line), its value and the text printed over it."""

    label: tuple[str, ...]
    value: Decimal
    text: str


@dataclass(frozen=True)
class Step:
    """One step of a waterfall: ``total`` bars stand on zero; ``up``/``down`` move the level by ``amount``."""

    key: str
    label: tuple[str, ...]
    kind: str  # total | up | down
    amount: Decimal  # the total, or the movement's magnitude (≥ 0)
    text: str


# ---------------------------------------------------------------------------- numbers


def waterfall_steps(
    mrr_start: Decimal,
    totals: Mapping[str, Decimal],
    mrr_end: Decimal,
    labels: Mapping[str, tuple[str, ...]],
    text: Callable[[str, Decimal], str],
) -> tuple[Step, ...]:
    """start, + new, + expansion, + reactivation, − contraction, − churn, end.

    ``labels`` and ``text(key, amount)`` give the printed words and figures
    (keys: start, the movement kinds, end). Refuses figures that do not
    reconcile: a waterfall that does not land on its end would mislead.
    """
    level = mrr_start
    steps = [Step("start", labels["start"], "total", mrr_start, text("start", mrr_start))]
    for key, kind in WATERFALL:
        amount = totals[key]
        level += amount if kind == "up" else -amount
        steps.append(Step(key, labels[key], kind, amount, text(key, amount)))
    if level != mrr_end:
        raise ValueError(f"movements do not reconcile: {mrr_start} + movements = {level}, not {mrr_end}")
    steps.append(Step("end", labels["end"], "total", mrr_end, text("end", mrr_end)))
    return tuple(steps)


def spans(steps: Sequence[Step]) -> list[tuple[Decimal, Decimal]]:
    """The (low, high) level each step's bar covers; an up or down step starts where the one before ended."""
    out = []
    level = Decimal(0)
    for s in steps:
        if s.kind == "total":
            level = s.amount
            out.append((min(Decimal(0), level), max(Decimal(0), level)))
        elif s.kind == "up":
            out.append((level, level + s.amount))
            level += s.amount
        else:
            out.append((level - s.amount, level))
            level -= s.amount
    return out


def nice_ticks(lo: Decimal, hi: Decimal, intervals: int = 6) -> tuple[Decimal, ...]:
    """Round axis values from at or below ``lo`` to at or above ``hi``: the finest step of 1, 2, 2.5 or
    5 × 10ⁿ that needs about ``intervals`` intervals at most (the axis spans at least 0 to 1).

    ``nice_ticks(0, 256461.70)`` → 0, 50 000, …, 300 000;
    ``nice_ticks(0, 21371.81)`` → 0, 5 000, …, 25 000. Exact (Fraction).
    """
    lo, hi = Fraction(min(lo, Decimal(0))), Fraction(max(hi, Decimal(0)))
    if hi == lo:
        hi = lo + 1
    raw = (hi - lo) / intervals
    step = Fraction(10) ** (len(str(int(raw))) - 1) if raw >= 1 else Fraction(1)
    while step > raw:  # below 1: go down by tens
        step /= 10
    for m in (1, 2, Fraction(5, 2), 5, 10):
        if m * step >= raw:
            step *= m
            break
    first = (lo / step).__floor__()
    last = (hi / step).__ceil__()
    return tuple(_decimal(k * step) for k in range(first, last + 1))


def _decimal(value: Fraction) -> Decimal:
    """A tick (a whole number of 1, 2, 2.5 or 5 × 10ⁿ) as an exact Decimal."""
    d = Decimal(value.numerator) / Decimal(value.denominator)
    return d.normalize() if d != d.to_integral_value() else d.to_integral_value()


def scale_unit(largest: Decimal) -> tuple[Decimal, str]:
    """The unit an axis counts in so its labels stay short: (1, ""), (1000, "thousand"), (10⁶, "million")."""
    if abs(largest) >= 10_000_000:
        return Decimal(1_000_000), "million"
    if abs(largest) >= 10_000:
        return Decimal(1000), "thousand"
    return Decimal(1), ""


# ---------------------------------------------------------------------------- SVG


def _esc(text: str) -> str:
    """XML text or attribute value; ``@`` as a character reference so no "@name/…" package spec can appear."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
        .replace("@", "&#64;")
    )


def _n(x: float) -> str:
    """A coordinate with two decimals (``-0.00`` written ``0.00``): fixed text for the same geometry."""
    s = f"{x:.2f}"
    return "0.00" if s == "-0.00" else s


class _Frame:
    """The plot area and the value → y mapping shared by both charts."""

    def __init__(self, ticks: Sequence[Decimal], count: int, width: int, height: int):
        self.ticks = ticks
        self.lo, self.hi = Fraction(ticks[0]), Fraction(ticks[-1])
        self.left, self.right = _LEFT, width - _RIGHT
        self.top, self.bottom = _TOP, height - _BOTTOM
        self.slot = (self.right - self.left) / max(count, 1)

    def y(self, value: Decimal) -> float:
        share = (Fraction(value) - self.lo) / (self.hi - self.lo)
        return self.bottom - float(share) * (self.bottom - self.top)

    def x(self, i: int) -> float:
        return self.left + i * self.slot


def _text(
    x: float, y: float, text: str, size: float = 11, anchor: str = "middle", fill: str = TEXT, weight: str = "normal"
) -> str:
    bold = ' font-weight="bold"' if weight == "bold" else ""
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" text-anchor="{anchor}" fill="{fill}"{bold}>'
        f"{_esc(text)}</text>"
    )


def _stride(texts: Iterable[str], slot: float, size: float) -> int:
    """Show every n-th label so the widest one fits its slot (1: all of them)."""
    widest = max((len(t) * _CHAR * size + 6 for t in texts), default=0)
    return max(1, -(-int(widest) // max(int(slot), 1)))


def _shown(i: int, n: int, stride: int) -> bool:
    """Labels counted back from the last bar, so the latest figure is always labelled."""
    return (n - 1 - i) % stride == 0


def _frame_svg(f: _Frame, title: str, tick_text: Callable[[Decimal], str], width: int, height: int) -> list[str]:
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{_esc(FONT)}">',
        f"<title>{_esc(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        _text(f.left - 8, 18, title, size=13, anchor="start", weight="bold"),
    ]
    for t in f.ticks:
        y = f.y(t)
        colour = MUTED if t == 0 else GRID
        out.append(
            f'<line x1="{_n(f.left)}" y1="{_n(y)}" x2="{_n(f.right)}" y2="{_n(y)}" stroke="{colour}" stroke-width="1"/>'
        )
        out.append(_text(f.left - 6, y + 4, tick_text(t), size=10, anchor="end", fill=MUTED))
    return out


def _labels_svg(f: _Frame, labels: Sequence[tuple[str, ...]], stride: int, size: float = LABEL_SIZE) -> list[str]:
    """The labels under the bars, every n-th one if they would overlap.

    A second line (a month's year) is printed only where it changes from the
    last one printed, so a run of months shows its year once per year.
    """
    out = []
    last = ""
    for i, label in enumerate(labels):
        if not _shown(i, len(labels), stride):
            continue
        cx = f.x(i) + f.slot / 2
        out.append(_text(cx, f.bottom + 15, label[0], size=size))
        for k, line in enumerate(label[1:], start=1):
            if line and line != last:
                out.append(_text(cx, f.bottom + 15 + 13 * k, line, size=size, fill=MUTED))
                last = line
    return out


def bar_svg(
    bars: Sequence[Bar],
    title: str,
    tick_text: Callable[[Decimal], str],
    width: int = WIDTH,
    height: int = HEIGHT,
    colour: str = ACCENT,
) -> str:
    """A bar chart: one bar per value on a zero-based axis with round ticks, its text above it."""
    ticks = nice_ticks(
        min((b.value for b in bars), default=Decimal(0)), max((b.value for b in bars), default=Decimal(0))
    )
    f = _Frame(ticks, len(bars), width, height)
    out = _frame_svg(f, title, tick_text, width, height)
    bw = min(f.slot * 0.64, 56.0)  # a few bars stay bars, not slabs
    # one stride for the figures over the bars and the labels under them: a bar has both or neither
    stride = max(
        _stride((b.text for b in bars), f.slot, 10),
        _stride((line for b in bars for line in b.label), f.slot, LABEL_SIZE),
    )
    zero = f.y(Decimal(0))
    for i, b in enumerate(bars):
        x = f.x(i) + (f.slot - bw) / 2
        y = f.y(b.value)
        top, h = min(y, zero), abs(zero - y)
        out.append(
            f'<rect x="{_n(x)}" y="{_n(top)}" width="{_n(bw)}" height="{_n(h)}" fill="{colour}">'
            f"<title>{_esc(' '.join(b.label))}: {_esc(b.text)}</title></rect>"
        )
        if _shown(i, len(bars), stride):
            out.append(_text(x + bw / 2, top - 4, b.text, size=10))
    out += _labels_svg(f, [b.label for b in bars], stride)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def waterfall_svg(
    steps: Sequence[Step], title: str, tick_text: Callable[[Decimal], str], width: int = WIDTH, height: int = HEIGHT
) -> str:
    """A waterfall: totals stand on zero, each movement floats from the level the step before left.

    A dashed line joins each step's end level to the next step, so the eye
    can follow the level from the start bar to the end bar.
    """
    levels = spans(steps)
    ticks = nice_ticks(min(lo for lo, _ in levels), max(hi for _, hi in levels))
    f = _Frame(ticks, len(steps), width, height)
    out = _frame_svg(f, title, tick_text, width, height)
    bw = min(f.slot * 0.62, 64.0)
    colours = {"total": ACCENT, "up": UP, "down": DOWN}
    size = min(10.0, max(7.0, (f.slot - 6) / (_CHAR * max((len(s.text) for s in steps), default=1))))
    for i, (s, (lo, hi)) in enumerate(zip(steps, levels)):
        x = f.x(i) + (f.slot - bw) / 2
        y_hi, y_lo = f.y(hi), f.y(lo)
        h = max(y_lo - y_hi, 1.0)  # a zero movement still shows as a hairline at its level
        out.append(
            f'<rect x="{_n(x)}" y="{_n(y_hi)}" width="{_n(bw)}" height="{_n(h)}" '
            f'fill="{colours[s.kind]}"><title>{_esc(" ".join(s.label))}: {_esc(s.text)}</title></rect>'
        )
        out.append(_text(x + bw / 2, y_hi - 4, s.text, size=size, fill=colours[s.kind] if s.kind != "total" else TEXT))
        if i + 1 < len(steps):
            after = lo if s.kind == "down" else hi  # the level this step leaves behind
            y = f.y(after)
            out.append(
                f'<line x1="{_n(x + bw)}" y1="{_n(y)}" x2="{_n(f.x(i + 1) + (f.slot - bw) / 2)}" '
                f'y2="{_n(y)}" stroke="{MUTED}" stroke-width="1" stroke-dasharray="3 2"/>'
            )
    labels = [s.label for s in steps]
    out += _labels_svg(f, labels, _stride((line for label in labels for line in label), f.slot, LABEL_SIZE))
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------- terminal

_EIGHTHS = " ▏▎▍▌▋▊▉"


def _cells(value: Fraction, width: int) -> str:
    """A bar ``value`` × ``width`` cells long (``value`` in 0..1), in eighths of a cell."""
    n = int(value * width * 8 + Fraction(1, 2))
    return "█" * (n // 8) + (_EIGHTHS[n % 8] if n % 8 else "")


def bar_rich(bars: Sequence[Bar], title: str | None = None, width: int = 40, colour: str = "blue"):
    """Horizontal bars in block characters: label, bar, text; the longest bar is ``width`` cells."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    top = max((b.value for b in bars if b.value > 0), default=Decimal(0))
    t = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left", pad_edge=False)
    t.add_column("label")
    t.add_column("bar", min_width=width, no_wrap=True)
    t.add_column("value", justify="right")
    for b in bars:
        share = Fraction(b.value) / Fraction(top) if top and b.value > 0 else Fraction(0)
        t.add_row(" ".join(x for x in b.label if x), Text(_cells(share, width), style=colour), b.text)
    return t


def waterfall_rich(steps: Sequence[Step], title: str | None = None, width: int = 40):
    """The waterfall sideways: each row's bar starts where the previous row's level ended."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    levels = spans(steps)
    lo = Fraction(min(a for a, _ in levels))
    hi = Fraction(max(b for _, b in levels))
    span = hi - lo or Fraction(1)
    cell = lambda v: int((Fraction(v) - lo) / span * width + Fraction(1, 2))  # noqa: E731
    styles = {"total": "blue", "up": "green", "down": "red"}
    t = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left", pad_edge=False)
    t.add_column("step")
    t.add_column("bar", min_width=width, no_wrap=True)
    t.add_column("amount", justify="right")
    for s, (a, b) in zip(steps, levels):
        start, end = cell(a), cell(b)
        bar = " " * start + ("█" * (end - start) if end > start else ("▏" if s.amount else ""))
        t.add_row(" ".join(x for x in s.label if x), Text(bar, style=styles[s.kind]), s.text)
    return t


# ---------------------------------------------------------------------------- the board's two pictures

MOVEMENT_LABELS = {
    "start": "MRR at start",
    "new": "New",
    "expansion": "Expansion",
    "reactivation": "Reactivation",
    "contraction": "Contraction",
    "churn": "Churn",
    "end": "MRR at end",
}
MINUS = "\u2212"


def _unit_words(unit: str, currency: str) -> str:
    return f"{unit}s of {currency}" if unit else currency


def _scaled(value: Decimal, unit: Decimal, places: int, locale: str) -> str:
    """``value`` in ``unit``s with exactly ``places`` decimals in the locale (256461.70, 1000, 1 → ``256,5``)."""
    from cpqctl.core.money import round_places
    from cpqctl.render import fmt

    return fmt.fixed_number(round_places(Fraction(value) / Fraction(unit), places), places, locale)


def month_labels(days: Sequence, locale: str) -> list[tuple[str, str]]:
    """Each month end as (short month name in the locale, year); the chart prints each year once."""
    from babel.dates import format_date

    return [(format_date(d, "LLL", locale=locale), str(d.year)) for d in days]


def arr_chart_svg(points: Sequence[tuple], currency: str, locale: str) -> str:
    """ARR at each month end, ``points`` = [(month end, ARR)], labelled in ``locale``.

    The figures over the bars are in thousands (or millions) with one decimal,
    so twelve of them fit side by side; the exact amounts are in the tables.
    """
    from cpqctl.render import fmt

    unit, word = scale_unit(max((v for _, v in points), default=Decimal(0)))
    places = 1 if unit > 1 else 0
    labels = month_labels([d for d, _ in points], locale)
    bars = [Bar(label, v, _scaled(v, unit, places, locale)) for label, (_, v) in zip(labels, points)]
    return bar_svg(
        bars,
        f"ARR at month end ({_unit_words(word, currency)})",
        lambda t: fmt.number(_decimal(Fraction(t) / Fraction(unit)), locale),
    )


def movement_steps(
    mrr_start: Decimal,
    totals: Mapping[str, Decimal],
    mrr_end: Decimal,
    text: Callable[[str, Decimal], str],
    start_note: str = "",
    end_note: str = "",
) -> tuple[Step, ...]:
    """The waterfall steps of the MRR movements, labelled in English with an optional note (a date) under the ends."""
    labels = {k: (v,) for k, v in MOVEMENT_LABELS.items()}
    labels["start"] = (MOVEMENT_LABELS["start"], start_note)
    labels["end"] = (MOVEMENT_LABELS["end"], end_note)
    return waterfall_steps(mrr_start, totals, mrr_end, labels, text)


def movements_chart_svg(
    mrr_start: Decimal,
    totals: Mapping[str, Decimal],
    mrr_end: Decimal,
    currency: str,
    locale: str,
    start_note: str = "",
    end_note: str = "",
) -> str:
    """The MRR waterfall with every step's exact amount in the locale (+ for increases, − for decreases)."""
    from cpqctl.render import fmt

    def text(key: str, amount: Decimal) -> str:
        sign = "" if key in ("start", "end") else "+" if dict(WATERFALL)[key] == "up" else MINUS
        return sign + fmt.money(amount, currency, locale)

    steps = movement_steps(mrr_start, totals, mrr_end, text, start_note, end_note)
    unit, word = scale_unit(max(hi for _, hi in spans(steps)))
    return waterfall_svg(
        steps,
        f"MRR movements (axis in {_unit_words(word, currency)})",
        lambda t: fmt.number(_decimal(Fraction(t) / Fraction(unit)), locale),
    )


def arr_chart_rich(points: Sequence[tuple], currency: str, width: int = 40):
    """The ARR bars for a terminal: one row per month end (``YYYY-MM``), the exact amount at the end."""
    from cpqctl.core.money import money_str

    bars = [Bar((f"{d.year:04d}-{d.month:02d}",), v, money_str(v, currency)) for d, v in points]
    return bar_rich(bars, title=f"ARR at month end ({currency})", width=width)


def movements_chart_rich(
    mrr_start: Decimal, totals: Mapping[str, Decimal], mrr_end: Decimal, currency: str, width: int = 40
):
    """The MRR waterfall for a terminal, amounts as the tables print them."""
    from cpqctl.core.money import money_str

    def text(key: str, amount: Decimal) -> str:
        sign = "" if key in ("start", "end") else "+" if dict(WATERFALL)[key] == "up" else MINUS
        return sign + money_str(amount, currency)

    steps = movement_steps(mrr_start, totals, mrr_end, text)
    return waterfall_rich(steps, title=f"MRR movements ({currency})", width=width)
