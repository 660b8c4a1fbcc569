"""The SaaS metrics of SPEC §5 as use cases: ARR/MRR, MRR movements, LTV and the board report.

Metrics read only settings, catalog and contracts (never quotes or invoices).
A report on screen works on a repository with errors and says so
(``warning``: the figures may be incomplete); the board *document*, something
someone will be sent, is refused on one.

Every report but the board document can count part of the ledger: ``accounts``,
``products`` and ``families`` (any of them; empty: all) are checked against the
repository — an unknown one is refused with the code of an unknown ID
(E-UNKNOWN-ACCOUNT, E-UNKNOWN-PRODUCT, E-UNKNOWN-FAMILY) and the closest
known one as the hint — and the metrics run on the matching segments alone
(:func:`cpqctl.core.metrics.scoped`); the JSON then has a ``filters`` key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from cpqctl.app.workspace import Workspace, lookup, require_clean
from cpqctl.core.diagnostics import UsageError
from cpqctl.core.metrics import Scope
from cpqctl.core.model import Repo

KINDS = ("catalog", "account", "contract")


def _known(given: Iterable[str], known: Iterable[str], kind: str, code: str, hint: str) -> frozenset[str]:
    """``given``, each one checked against ``known`` (E-… naming the closest when it is not)."""
    names = {k: k for k in known}
    out = set()
    for key in (given,) if isinstance(given, str) else given:
        if key not in names and "," in key:
            first = key.split(",")[0].strip()
            raise UsageError(
                code,
                f"unknown {kind} `{key}`",
                f"one {kind} per option, repeated for more: --{kind} {first} --{kind} …",
            )
        out.add(lookup(names, key, kind, code, hint))
    return frozenset(out)


def scope(
    repo: Repo, *, accounts: Iterable[str] = (), products: Iterable[str] = (), families: Iterable[str] = ()
) -> Scope:
    """The :class:`~cpqctl.core.metrics.Scope` of a report, every name checked against the repository.

    Known are the accounts with an account file or a contract, the products of
    the catalog or of a contract line, and those products' families
    (``(none)`` for a product without one).
    """
    from cpqctl.core import metrics

    in_use = {s.product for c in repo.contracts.values() for s in c.segments()}
    products_known = set(repo.catalog.products) | in_use
    families_known = sorted({metrics.family_of(repo, p) for p in products_known})
    return Scope(
        _known(
            accounts,
            set(repo.accounts) | {c.account for c in repo.contracts.values()},
            "account",
            "E-UNKNOWN-ACCOUNT",
            "accounts are the folders under contracts/",
        ),
        _known(products, products_known, "product", "E-UNKNOWN-PRODUCT", "`cpqctl catalog list` shows every product"),
        _known(
            families,
            families_known,
            "family",
            "E-UNKNOWN-FAMILY",
            f"the catalog's families: {', '.join(families_known) or 'none'}",
        ),
    )


def _scoped(
    ws: Workspace, accounts: Iterable[str], products: Iterable[str], families: Iterable[str], strict: bool = False
) -> tuple[Repo, Scope, str | None]:
    """:func:`_load`, then the repository as the report counts it (its filters checked)."""
    from cpqctl.core import metrics

    repo, warning = _load(ws, strict)
    sc = scope(repo, accounts=accounts, products=products, families=families)
    return metrics.scoped(repo, sc), sc, warning


def _filtered(data: dict, sc: Scope) -> dict:
    from cpqctl.views.reports import with_filters

    return with_filters(data, sc)


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


def _names(given: Iterable[str]) -> list[str]:
    """A filter's names as a list (a str is one name, as :func:`_known` takes it)."""
    return [given] if isinstance(given, str) else list(given)


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


def arr(
    ws: Workspace,
    *,
    by: str = "account",
    as_of: date | None = None,
    accounts: Iterable[str] = (),
    products: Iterable[str] = (),
    families: Iterable[str] = (),
) -> ArrResult:
    """ARR (12 × MRR) and MRR on ``as_of``, per account, product or family, with totals per currency and in the
    company currency (of the ``accounts``, ``products`` and ``families`` given, if any)."""
    from cpqctl.app.remember import REPORTS, remembered

    day = ws.day(as_of)
    accounts, products, families = _names(accounts), _names(products), _names(families)

    def compute() -> ArrResult:
        from cpqctl.core import metrics
        from cpqctl.views.reports import arr_view

        repo, sc, warning = _scoped(ws, accounts, products, families)
        data = arr_view(metrics.arr_report(repo, day, by), repo.settings.rounding, repo.settings)
        return ArrResult(by, day, _filtered(data, sc), warning)

    question = [by, day, sorted(accounts), sorted(products), sorted(families)]
    return remembered(ws, "report-arr", question, REPORTS, compute, ArrResult)


@dataclass(frozen=True)
class MovementsResult:
    """MRR movements from ``start`` to ``end``: ``data`` is the JSON view, ``summary`` its label/amount rows."""

    start: date
    end: date
    data: dict
    summary: list
    warning: str | None


def movements(
    ws: Workspace,
    *,
    start: date,
    end: date,
    accounts: Iterable[str] = (),
    products: Iterable[str] = (),
    families: Iterable[str] = (),
) -> MovementsResult:
    """Each account's MRR on ``start`` against ``end``: new, expansion, contraction, churn, reactivation, NRR, GRR
    (of the ``accounts``, ``products`` and ``families`` given, if any)."""
    from cpqctl.app.remember import REPORTS, remembered

    _in_order(start, end)
    accounts, products, families = _names(accounts), _names(products), _names(families)

    def compute() -> MovementsResult:
        from cpqctl.core import metrics
        from cpqctl.views.reports import movements_summary, movements_view

        repo, sc, warning = _scoped(ws, accounts, products, families)
        data = _filtered(movements_view(metrics.movements(repo, start, end)), sc)
        return MovementsResult(start, end, data, movements_summary(data), warning)

    question = [start, end, sorted(accounts), sorted(products), sorted(families)]
    return remembered(ws, "report-movements", question, REPORTS, compute, MovementsResult)


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


def movements_by_month(
    ws: Workspace,
    *,
    start: date,
    end: date,
    accounts: Iterable[str] = (),
    products: Iterable[str] = (),
    families: Iterable[str] = (),
) -> MonthlyMovementsResult:
    """The range split at each month end, each month reconciling on its own, plus the whole range's figures
    (of the ``accounts``, ``products`` and ``families`` given, if any)."""
    from cpqctl.core import metrics
    from cpqctl.views import reports as views

    repo, sc, warning = _scoped(ws, accounts, products, families)
    _in_order(start, end)
    months = metrics.movements_by_month(repo, start, end)
    data = _filtered(views.movements_by_month_view(metrics.movements(repo, start, end), months), sc)
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


def ltv(
    ws: Workspace,
    *,
    cac: Decimal | None = None,
    as_of: date | None = None,
    accounts: Iterable[str] = (),
    products: Iterable[str] = (),
    families: Iterable[str] = (),
) -> LtvResult:
    """ARPA ÷ monthly logo churn (trailing 6 months), LTV:CAC and CAC payback (``cac`` default: cpq.toml), of
    the ``accounts``, ``products`` and ``families`` given, if any (the CAC is the one given, never scoped)."""
    from cpqctl.core import metrics
    from cpqctl.views.reports import ltv_rows, ltv_view

    day = ws.day(as_of)
    repo, sc, warning = _scoped(ws, accounts, products, families)
    data = _filtered(ltv_view(metrics.ltv(repo, day, cac), repo.settings.rounding), sc)
    return LtvResult(day, data, ltv_rows(data), warning)


@dataclass(frozen=True)
class BoardResult:
    """The board report: ``board`` (:class:`cpqctl.core.board.Board`, for charts) and ``data`` (JSON)."""

    as_of: date
    board: object
    data: dict
    warning: str | None


def board(
    ws: Workspace,
    *,
    months: int = 12,
    top: int = 5,
    as_of: date | None = None,
    accounts: Iterable[str] = (),
    products: Iterable[str] = (),
    families: Iterable[str] = (),
) -> BoardResult:
    """ARR by month, MRR movements, NRR/GRR, LTV and the ``top`` accounts over ``months`` months ending on as_of
    (of the ``accounts``, ``products`` and ``families`` given, if any; the board *document* is never filtered)."""
    from cpqctl.core import board as boards
    from cpqctl.views.board import board_view

    day = ws.day(as_of)
    if not (accounts or products or families):
        done = _board_in_parts(ws, day, months, top)
        if done is not None:
            b, settings = done
            return BoardResult(day, b, board_view(b, settings.rounding), None)
    repo, sc, warning = _scoped(ws, accounts, products, families)
    b = boards.board(repo, day, months, top)
    return BoardResult(day, b, _filtered(board_view(b, repo.settings.rounding), sc), warning)


def _board_in_parts(ws: Workspace, day: date, months: int, top: int):
    """The board of every account a part of whole accounts at a time (:meth:`Workspace.read_accounts_in_parts`;
    its figures are sums over accounts, and the top accounts the first of the parts' first), or None when the parts
    cannot stand for the whole read or one refuses (the whole read then says why, as it always has)."""
    from cpqctl.core import board as boards
    from cpqctl.core.diagnostics import CpqError

    settings: list = []

    def part(repo: Repo):
        settings[:] = [repo.settings]  # cpq.toml's, the same in every part
        return boards.part(repo, day, months, top)

    try:
        parts = ws.read_accounts_in_parts(part)
    except CpqError:  # a currency without a rate: refused by the whole read, naming every such currency
        return None
    if not parts:
        return None
    return boards.joined(settings[0], parts, day, months, top), settings[0]


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
