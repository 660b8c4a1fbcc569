"""The board report and `report movements --by month` (issue #6): numbers, documents, terminal pictures.

Month-by-month movements must reconcile row by row and chain (one month's
end is the next month's start), their net changes must add up to the whole
range's; the board's ARR at each month end is what `report arr` prints; the
Markdown report is a golden file (regenerate with ``CPQ_UPDATE_GOLDEN=1``
and review the diff); the PDF is byte-identical across renders and its text
holds the key figures.
"""

from __future__ import annotations

import io
import json
import os
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pypdf
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from cpqctl.core import board as boards, metrics
from cpqctl.core.model import Amendment, Catalog, Contract, Repo, Segment, Settings
from cpqctl.views import board as board_views, reports as views

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CPQ_UPDATE_GOLDEN") == "1"
NBSP = "\u00a0"
D = Decimal
JAN1, DEC31 = date(2026, 1, 1), date(2026, 12, 31)


def seg(product: str, price: str, start: date, end: date | None, n: int = 1, qty: str = "1") -> Segment:
    return Segment(f"S#{n}", product, D(qty), D(price), start, end, per="month")


def contract(cid: str, account: str, lines, start=JAN1, end=DEC31, currency="PLN", amendments=()) -> Contract:
    return Contract(cid, account, currency, start, end, tuple(lines), tuple(amendments))


def repo_of(*contracts: Contract, fx: dict | None = None) -> Repo:
    s = Settings(currency="PLN", fx=MappingProxyType({k: D(v) for k, v in (fx or {}).items()}))
    return Repo(
        settings=s, catalog=Catalog(products=MappingProxyType({})), contracts={c.contract: c for c in contracts}
    )


def load(root: Path) -> Repo:
    from cpqctl.load.repo import load_repo

    loaded, diags = load_repo(root, kinds=("catalog", "account", "contract"))
    assert not [d for d in diags if d.severity == "error"]
    return loaded


def reconciles(m: metrics.Movements) -> bool:
    t = m.totals
    return m.mrr_start + t["new"] + t["expansion"] + t["reactivation"] - t["contraction"] - t["churn"] == m.mrr_end


# ---------------------------------------------------------------------------- month boundaries


@pytest.mark.parametrize(
    "start, end, expected",
    [
        (
            date(2025, 12, 31),
            date(2026, 3, 31),
            [date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)],
        ),
        (date(2026, 1, 1), date(2026, 2, 28), [date(2026, 1, 1), date(2026, 1, 31), date(2026, 2, 28)]),
        (
            date(2026, 1, 15),
            date(2026, 3, 10),
            [date(2026, 1, 15), date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 10)],
        ),
        (date(2026, 1, 15), date(2026, 1, 20), [date(2026, 1, 15), date(2026, 1, 20)]),
        (date(2026, 1, 15), date(2026, 1, 15), [date(2026, 1, 15), date(2026, 1, 15)]),
        (date(2028, 1, 31), date(2028, 3, 1), [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 1)]),
    ],
)
def test_month_boundaries(start, end, expected):
    assert list(metrics.month_boundaries(start, end)) == expected


# ---------------------------------------------------------------------------- movements by month


def test_months_reconcile_chain_and_add_up_to_the_range():
    """a: 1,000.00 from January, +500.00 from May (expansion in May); b: 200.00 until 2026-06-30 (churn in
    July); c: 300.00 from 2026-03-01 (new in March); d: new in February, gone after October."""
    r = repo_of(
        contract(
            "C-1",
            "a",
            [seg("X", "1000.00", JAN1, DEC31)],
            amendments=[Amendment("A-1", date(2026, 5, 1), (seg("X", "500.00", date(2026, 5, 1), DEC31),))],
        ),
        contract("C-2", "b", [seg("X", "200.00", JAN1, date(2026, 6, 30))]),
        contract("C-3", "c", [seg("X", "300.00", date(2026, 3, 1), DEC31)], start=date(2026, 3, 1)),
        contract("C-4", "d", [seg("X", "70.00", date(2026, 2, 1), date(2026, 10, 31))], start=date(2026, 2, 1)),
    )
    whole = metrics.movements(r, JAN1, DEC31)
    months = metrics.movements_by_month(r, JAN1, DEC31)
    assert len(months) == 12 and all(reconciles(m) for m in months)
    assert all(a.end == b.start and a.mrr_end == b.mrr_start for a, b in zip(months, months[1:]))
    assert (months[0].start, months[0].mrr_start, months[-1].end, months[-1].mrr_end) == (
        whole.start,
        whole.mrr_start,
        whole.end,
        whole.mrr_end,
    )
    assert sum(m.mrr_end - m.mrr_start for m in months) == whole.mrr_end - whole.mrr_start
    rows = views.months_view(months)
    by = {r_["month"]: r_ for r_ in rows}
    assert by["2026-02"]["new"] == "70.00" and by["2026-03"]["new"] == "300.00"
    assert by["2026-05"]["expansion"] == "500.00" and by["2026-07"]["churn"] == "200.00"
    assert by["2026-11"]["churn"] == "70.00" and by["2026-11"]["net"] == "-70.00"
    # d came and went inside the year: two movements month by month, none from end to end
    summed = metrics.summed(months)
    assert (summed["new"], summed["churn"]) == (D("370.00"), D("270.00"))
    assert (whole.totals["new"], whole.totals["churn"]) == (D("300.00"), D("200.00"))


def test_without_reversals_the_months_sum_to_the_range_kind_by_kind():
    r = repo_of(
        contract("C-1", "a", [seg("X", "100.00", JAN1, DEC31), seg("Y", "40.00", date(2026, 4, 1), DEC31, n=2)]),
        contract("C-2", "b", [seg("X", "60.00", date(2026, 8, 1), DEC31)], start=date(2026, 8, 1)),
    )
    whole = metrics.movements(r, JAN1, date(2026, 11, 15))
    months = metrics.movements_by_month(r, JAN1, date(2026, 11, 15))
    assert metrics.summed(months) == whole.totals
    assert months[-1].end == date(2026, 11, 15)


@st.composite
def ledgers(draw):
    base = date(2025, 1, 1)
    contracts = []
    for i in range(draw(st.integers(1, 5))):
        segs = []
        for j in range(draw(st.integers(1, 3))):
            start = base + timedelta(days=draw(st.integers(0, 600)))
            end = None if draw(st.booleans()) else start + timedelta(days=draw(st.integers(0, 300)))
            segs.append(
                Segment(
                    f"C-{i}#{j}",
                    "X",
                    D(draw(st.integers(-2, 9))),
                    D(draw(st.integers(1, 300_000))) / 100,
                    start,
                    end,
                    per=draw(st.sampled_from(["month", "quarter", "year", None])),
                )
            )
        contracts.append(
            Contract(
                f"C-{i}",
                f"acc{draw(st.integers(0, 3))}",
                draw(st.sampled_from(["PLN", "EUR"])),
                min(s.start for s in segs),
                None,
                tuple(segs),
            )
        )
    d0 = base + timedelta(days=draw(st.integers(0, 700)))
    return contracts, d0, d0 + timedelta(days=draw(st.integers(0, 200)))


@hsettings(max_examples=60, deadline=None)
@given(ledgers())
def test_months_always_reconcile_and_chain(case):
    contracts, d0, d1 = case
    r = repo_of(*contracts, fx={"EUR": "4.3017"})
    months = metrics.movements_by_month(r, d0, d1)
    whole = metrics.movements(r, d0, d1)
    assert all(reconciles(m) for m in months)
    assert all(a.end == b.start and a.mrr_end == b.mrr_start for a, b in zip(months, months[1:]))
    assert (months[0].mrr_start, months[-1].mrr_end) == (whole.mrr_start, whole.mrr_end)
    s = metrics.summed(months)
    net = s["new"] + s["expansion"] + s["reactivation"] - s["contraction"] - s["churn"]
    assert net == whole.mrr_end - whole.mrr_start


def test_report_movements_by_month_cli(example_repo, cli):
    args = (
        "report",
        "movements",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--by",
        "month",
        "--repo",
        example_repo,
    )
    run = cli(*args, "--format", "json")
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    one = json.loads(cli(*args[:6], "--format", "json", "--repo", example_repo).stdout)
    assert {k: data[k] for k in one} == one  # the whole-range figures stay as without --by
    months = data["months"]
    assert [m["month"] for m in months] == [f"2026-{i:02d}" for i in range(1, 13)]
    assert all(a["to"] == b["from"] and a["mrr_end"] == b["mrr_start"] for a, b in zip(months, months[1:]))
    assert sum(D(m["net"]) for m in months) == D(data["mrr_end"]) - D(data["mrr_start"])
    october = months[9]
    assert october["churn"] == "1395.00"
    assert [(r["account"], r["movement"]) for r in october["rows"] if r["movement"] == "churn"] == [
        ("vandelay", "churn")
    ]
    csv = cli(*args, "--format", "csv").stdout.splitlines()
    assert csv[0] == "month,from,to,mrr_start,new,expansion,contraction,churn,reactivation,mrr_end,net"
    assert csv[2] == "2026-02,2026-01-31,2026-02-28,5692.50,2955.53,0.00,0.00,0.00,0.00,8648.03,2955.53"
    detail = cli(*args, "--format", "csv", "--detail").stdout.splitlines()
    assert detail[0] == "month,account,movement,mrr_from,mrr_to,delta"
    assert "2026-10,vandelay,churn,1395.00,0.00,-1395.00" in detail
    table = cli(*args)
    assert table.code == 0 and "total" in table.stdout and "█" not in table.stdout  # no chart into a pipe
    back = cli(
        "report", "movements", "--from", "2026-12-31", "--to", "2026-01-01", "--by", "month", "--repo", example_repo
    )
    assert back.code == 2 and "before" in back.stderr


def test_terminal_gets_the_waterfall(example_repo, cli, monkeypatch):
    from cpqctl.cli import report

    monkeypatch.setattr(report, "_on_terminal", lambda: True)
    run = cli(
        "report", "movements", "--from", "2026-01-01", "--to", "2026-12-31", "--by", "month", "--repo", example_repo
    )
    assert run.code == 0 and "█" in run.stdout and "MRR at end" in run.stdout
    board = cli("report", "board", "--as-of", "2026-12-31", "--repo", example_repo)
    assert board.code == 0 and "ARR at month end (PLN)" in board.stdout and "MRR at start" in board.stdout


# ---------------------------------------------------------------------------- the board's numbers


def test_board_numbers_on_the_example_repo(example_repo):
    r = load(example_repo)
    b = boards.board(r, DEC31)
    assert (b.opening, len(b.months), b.months[0].end, b.months[-1].end) == (
        date(2025, 12, 31),
        12,
        date(2026, 1, 31),
        DEC31,
    )
    for m in b.months:  # ARR at each month end is what `report arr` prints
        assert str(m.arr) == views.arr_view(metrics.arr_report(r, m.end), r.settings.rounding)["arr"]
    assert (b.arr, b.arr_opening) == (D("256461.70"), D("14310.00"))
    t = b.waterfall
    assert b.mrr_start + t["new"] + t["expansion"] + t["reactivation"] - t["contraction"] - t["churn"] == b.mrr_end
    assert b.mrr_end == D("21371.81")
    assert b.period == metrics.movements(r, date(2025, 12, 31), DEC31)
    assert [x.account for x in b.top] == ["hooli", "acme", "umbrella", "globex", "initech"]
    assert sum(x.arr for x in b.top) == b.arr  # every paying account listed: their ARR is the total
    umbrella = b.top[2]
    assert (umbrella.currency, umbrella.arr_native, umbrella.arr) == ("EUR", D("8248.00"), D("35466.40"))
    view = board_views.board_view(b)
    assert (view["nrr"], view["grr"], view["arr_growth"]) == ("103.00%", "100.00%", "1692.19%")
    assert view["top_accounts"][0]["share"] == "41.48%"


def test_mid_month_as_of_ends_the_last_month_on_that_day(example_repo):
    b = boards.board(load(example_repo), date(2026, 11, 28), months=3)
    assert b.opening == date(2026, 8, 31)
    assert [(m.month, m.end) for m in b.months] == [
        ("2026-09", date(2026, 9, 30)),
        ("2026-10", date(2026, 10, 31)),
        ("2026-11", date(2026, 11, 28)),
    ]


def test_board_refuses_a_currency_without_a_rate():
    from cpqctl.core.diagnostics import CpqError

    r = repo_of(contract("C-1", "a", [seg("X", "10.00", JAN1, DEC31)], currency="EUR"))
    with pytest.raises(CpqError) as e:
        boards.board(r, DEC31)
    assert e.value.code == "E-FX-MISSING"


def test_board_json_and_csv(example_repo, cli, tmp_path):
    run = cli("report", "board", "--as-of", "2026-12-31", "--format", "json", "--repo", example_repo)
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    assert (data["from"], data["to"], data["arr"], data["mrr_end"]) == (
        "2025-12-31",
        "2026-12-31",
        "256461.70",
        "21371.81",
    )
    assert data["ltv"]["ltv"] == "153877.02" and len(data["months"]) == 12
    csv = cli("report", "board", "--as-of", "2026-12-31", "--format", "csv", "--repo", example_repo)
    assert (
        csv.stdout.splitlines()[0] == "month,to,arr,mrr_start,new,expansion,contraction,churn,reactivation,mrr_end,net"
    )
    assert csv.stdout.splitlines()[7].startswith("2026-07,2026-07-31,272790.40,")
    table = cli("report", "board", "--as-of", "2026-12-31", "--repo", example_repo)
    assert table.code == 0 and "256461.70" in table.stdout and "█" not in table.stdout
    # -o without --format: the format its extension names (the figures as JSON; the document as Markdown)
    as_json = cli("report", "board", "--as-of", "2026-12-31", "-o", "b.json", "--repo", example_repo, cwd=tmp_path)
    assert as_json.code == 0 and json.loads((tmp_path / "b.json").read_text())["ltv"]["ltv"] == "153877.02"
    as_md = cli("report", "board", "--as-of", "2026-12-31", "-o", "b.md", "--repo", example_repo, cwd=tmp_path)
    assert as_md.code == 0 and (tmp_path / "b.md").read_text().startswith("# Board report")


# ---------------------------------------------------------------------------- documents


def test_board_markdown_matches_golden_and_its_charts_sit_next_to_it(example_repo, cli, tmp_path):
    out = tmp_path / "reports" / "board.md"
    run = cli("report", "board", "--as-of", "2026-12-31", "--format", "md", "-o", out, "--repo", example_repo)
    assert run.code == 0, run.stderr
    text = out.read_text(encoding="utf-8")
    golden = GOLDEN / "board_example_pl_PL.md"
    if UPDATE:
        golden.write_text(text, encoding="utf-8", newline="\n")
    assert text == golden.read_text(encoding="utf-8")
    assert "![ARR at month end](board-arr.svg)" in text and "![MRR movements](board-movements.svg)" in text
    for name in ("board-arr.svg", "board-movements.svg"):
        ET.fromstring((out.parent / name).read_text(encoding="utf-8"))  # well-formed
    arr_svg = (out.parent / "board-arr.svg").read_text(encoding="utf-8")
    assert "256,5" in arr_svg and "sty" in arr_svg
    again = cli("report", "board", "--as-of", "2026-12-31", "--format", "md", "-o", out, "--repo", example_repo)
    assert again.code == 0 and out.read_text(encoding="utf-8") == text
    assert (out.parent / "board-arr.svg").read_text(encoding="utf-8") == arr_svg


def test_board_markdown_to_stdout_inlines_the_charts(example_repo, cli):
    import base64

    run = cli("report", "board", "--as-of", "2026-12-31", "--format", "md", "-o", "-", "--repo", example_repo)
    assert run.code == 0 and run.stdout.startswith("# Board report: Example Software")
    start = run.stdout.index("](data:image/svg+xml;base64,") + len("](data:image/svg+xml;base64,")
    svg = base64.b64decode(run.stdout[start : run.stdout.index(")", start)]).decode()
    assert svg.startswith("<svg") and "ARR at month end" in svg


def test_board_markdown_default_output_is_out_board_date(example_repo, cli):
    run = cli("report", "board", "--as-of", "2026-12-31", "--format", "md", "--repo", example_repo)
    assert run.code == 0
    assert sorted(p.name for p in (example_repo / "out").iterdir()) == [
        "board-2026-12-31-arr.svg",
        "board-2026-12-31-movements.svg",
        "board-2026-12-31.md",
    ]


@pytest.fixture
def board_pdf(example_repo, cli, tmp_path) -> bytes:
    out = tmp_path / "board.pdf"
    run = cli("report", "board", "--as-of", "2026-12-31", "--format", "pdf", "-o", out, "--repo", example_repo)
    assert run.code == 0, run.stderr
    return out.read_bytes()


def test_board_pdf_is_byte_identical_and_shows_the_key_figures(board_pdf, example_repo, cli, tmp_path):
    again = tmp_path / "again.pdf"
    assert (
        cli("report", "board", "--as-of", "2026-12-31", "--format", "pdf", "-o", again, "--repo", example_repo).code
        == 0
    )
    assert again.read_bytes() == board_pdf
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(board_pdf)).pages)
    for figure in (
        f"256{NBSP}461,70",
        f"21{NBSP}371,81",
        f"14{NBSP}310,00",
        "Board report",
        "103%",
        f"153{NBSP}877,02",
        "Hooli Polska",
        "41,48%",
        "ARR at month end (thousands of PLN)",
        "272,8",  # the bar chart's own text
        f"+13{NBSP}026,03",
        f"\u22121{NBSP}395,00",
        "MRR at end",
    ):  # the waterfall's
        assert figure.replace(NBSP, " ") in text.replace(NBSP, " "), figure


def test_board_documents_refuse_a_repo_with_errors(example_repo, cli, tmp_path):
    (example_repo / "contracts" / "acme" / "C-2026-0001.yaml").write_text("contract: [\n", encoding="utf-8")
    run = cli(
        "report", "board", "--as-of", "2026-12-31", "--format", "pdf", "-o", tmp_path / "b.pdf", "--repo", example_repo
    )
    assert run.code == 1 and "E-INVALID-REPO" in run.stderr and not (tmp_path / "b.pdf").exists()
