"""The SaaS metrics of SPEC §5 as use cases: ARR/MRR, MRR movements, LTV and the board report.

Metrics read only settings, catalog and contracts (never quotes or invoices).
A report on screen works on a repository with errors and says so
(``warning``: the figures may be incomplete); the board *document*, something
someone will be sent, is refused on one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from cpqctl.app.workspace import Workspace, require_clean
from cpqctl.core.diagnostics import UsageError
from cpqctl.core.model import Repo

KINDS = ("catalog", "account", "contract")


def _load(ws: Workspace, strict: bool = False) -> tuple[Repo, str | None]:
    """Settings, catalog and contracts; with ``strict`` refused on errors, else a warning counting them."""
    repo, diags = ws.load(KINDS)
    if strict:
        require_clean(diags)
    errors = sum(d.severity == "error" for d in diags)
    warning = (
        f"the repository has {errors} error(s); the figures may be incomplete (run `cpqctl check`)" if errors else None
    )
    return repo, warning


def _in_order(start: date, end: date) -> None:
    """The two dates of a movements report in order (named as `report movements` takes them, its main caller)."""
    if end < start:
        raise UsageError("E-USAGE", f"--to {end} is before --from {start}", "give the earlier date as --from")


@dataclass(frozen=True)
class ArrResult:
    """ARR and MRR on ``as_of`` per ``by`` (account, product or family): ``data`` is `report arr --format json`."""

    by: str
    as_of: date
    data: dict
    warning: str | None


def arr(ws: Workspace, *, by: str = "account", as_of: date | None = None) -> ArrResult:
    """ARR (12 × MRR) and MRR on ``as_of``, per account, product or family, with totals per currency and in the
    company currency."""
    from cpqctl.core import metrics
    from cpqctl.views.reports import arr_view

    day = ws.day(as_of)
    repo, warning = _load(ws)
    return ArrResult(by, day, arr_view(metrics.arr_report(repo, day, by), repo.settings.rounding), warning)


@dataclass(frozen=True)
class MovementsResult:
    """MRR movements from ``start`` to ``end``: ``data`` is the JSON view, ``summary`` its label/amount rows."""

    start: date
    end: date
    data: dict
    summary: list
    warning: str | None


def movements(ws: Workspace, *, start: date, end: date) -> MovementsResult:
    """Each account's MRR on ``start`` against ``end``: new, expansion, contraction, churn, reactivation, NRR, GRR."""
    from cpqctl.core import metrics
    from cpqctl.views.reports import movements_summary, movements_view

    repo, warning = _load(ws)
    _in_order(start, end)
    data = movements_view(metrics.movements(repo, start, end))
    return MovementsResult(start, end, data, movements_summary(data), warning)


@dataclass(frozen=True)
class MonthlyMovementsResult:
    """`report movements --by month`: ``data`` (JSON), one row per month, per account moved, and the total row."""

    start: date
    end: date
    data: dict
    rows: list
    moves: list
    footer: dict
    months: tuple  # of cpqctl.core.metrics.Movements, for the waterfall
    totals: dict  # each movement summed over the months (Decimal)
    warning: str | None


def movements_by_month(ws: Workspace, *, start: date, end: date) -> MonthlyMovementsResult:
    """The range split at each month end, each month reconciling on its own, plus the whole range's figures."""
    from cpqctl.core import metrics
    from cpqctl.views import reports as views

    repo, warning = _load(ws)
    _in_order(start, end)
    months = metrics.movements_by_month(repo, start, end)
    data = views.movements_by_month_view(metrics.movements(repo, start, end), months)
    return MonthlyMovementsResult(
        start,
        end,
        data,
        views.month_rows(data),
        views.month_moves(data),
        views.month_footer(data, months),
        months,
        metrics.summed(months),
        warning,
    )


@dataclass(frozen=True)
class LtvResult:
    """Customer lifetime value on ``as_of``: ``data`` (JSON) and its metric/value ``rows``."""

    as_of: date
    data: dict
    rows: list
    warning: str | None


def ltv(ws: Workspace, *, cac: Decimal | None = None, as_of: date | None = None) -> LtvResult:
    """ARPA ÷ monthly logo churn (trailing 6 months), LTV:CAC and CAC payback (``cac`` default: cpq.toml)."""
    from cpqctl.core import metrics
    from cpqctl.views.reports import ltv_rows, ltv_view

    day = ws.day(as_of)
    repo, warning = _load(ws)
    data = ltv_view(metrics.ltv(repo, day, cac), repo.settings.rounding)
    return LtvResult(day, data, ltv_rows(data), warning)


@dataclass(frozen=True)
class BoardResult:
    """The board report: ``board`` (:class:`cpqctl.core.board.Board`, for charts) and ``data`` (JSON)."""

    as_of: date
    board: object
    data: dict
    warning: str | None


def board(ws: Workspace, *, months: int = 12, top: int = 5, as_of: date | None = None) -> BoardResult:
    """ARR by month, MRR movements, NRR/GRR, LTV and the ``top`` accounts over ``months`` months ending on as_of."""
    from cpqctl.core import board as boards
    from cpqctl.views.board import board_view

    day = ws.day(as_of)
    repo, warning = _load(ws)
    b = boards.board(repo, day, months, top)
    return BoardResult(day, b, board_view(b, repo.settings.rounding), warning)


@dataclass(frozen=True)
class BoardDocument:
    """The files written, in order (the charts' SVG files, then the document); none with ``output`` ``-``, whose
    document is ``payload`` (for the caller to print)."""

    as_of: date
    written: tuple[Path, ...]
    payload: bytes | None = None


def write_board(
    ws: Workspace, *, fmt: str, output: Path | None = None, months: int = 12, top: int = 5, as_of: date | None = None
) -> BoardDocument:
    """The board report as PDF (charts inside) or Markdown (charts as .svg files next to it); refused on errors.

    Default ``out/board-<AS-OF>.<ext>`` in the repository; a relative
    ``output`` is from the current folder; with ``-`` nothing is written: the
    document, its charts inlined as data: URIs, is returned as ``payload``.
    """
    import base64
    from urllib.parse import quote

    from cpqctl.app.documents import repo_templates, write_document
    from cpqctl.core import board as boards
    from cpqctl.render import charts, documents as rd, fmt as fmts
    from cpqctl.store import atomic_write_bytes
    from cpqctl.views import board as board_views, documents

    day = ws.day(as_of)
    repo, _ = _load(ws, strict=True)
    b = boards.board(repo, day, months, top)
    data = board_views.document_data(b, documents.company(repo), repo.settings.rounding)
    locale = repo.settings.locale
    when = lambda d: fmts.date(d, locale)  # noqa: E731
    svgs = {
        "arr": charts.arr_chart_svg([(m.end, m.arr) for m in b.months], b.currency, locale),
        "movements": charts.movements_chart_svg(
            b.mrr_start, b.waterfall, b.mrr_end, b.currency, locale, when(b.opening), when(b.as_of)
        ),
    }
    to_stdout = output is not None and str(output) == "-"
    target = output if output is not None else ws.root / "out" / f"board-{day}.{fmt}"
    if not to_stdout and not target.is_absolute():
        target = Path.cwd() / target
    names = {k: f"{target.stem}-{k}.svg" for k in svgs}
    data["charts"] = {"arr_svg": svgs["arr"], "movements_svg": svgs["movements"]}
    for k, svg in svgs.items():
        data["charts"][f"{k}_src"] = (
            "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode() if to_stdout else quote(names[k])
        )
    written: list[Path] = []
    if fmt == "md" and not to_stdout:
        rd.render_markdown("board", data, repo_templates(ws.root))  # fails before any write
        for k, svg in svgs.items():
            atomic_write_bytes(target.parent / names[k], svg.encode("utf-8"))
            written.append(target.parent / names[k])
    doc = write_document(ws.root, "board", f"board-{day}", fmt, data, output if to_stdout else target, day)
    if doc.path:
        written.append(doc.path)
    return BoardDocument(day, tuple(written), doc.payload)
