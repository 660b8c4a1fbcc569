"""Report filters (issue 18): --account, --product and --family on arr, mrr, movements, ltv and board.

On the example repository. A filter keeps the matching lines of the ledger,
so a filtered report's rows are the matching rows of the unfiltered one
(one dimension finer: the unfiltered report --by product, filtered by
family), and its totals are the sums of those rows — checked against the
unfiltered figures, with the amounts from the contract files. Unknown names
are refused as unknown IDs are elsewhere (exit 1, the closest name as the hint).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from cpqctl.app import reports
from cpqctl.app.workspace import Workspace
from cpqctl.core.diagnostics import CpqError

D = Decimal
DAY = "2026-11-28"
EUR = D("4.30")  # cpq.toml [fx]
KINDS = ("new", "expansion", "contraction", "churn", "reactivation")


def _json(cli, root, *args) -> dict:
    run = cli("report", *args, "--format", "json", "--repo", root)
    assert run.code == 0, run.stderr
    return json.loads(run.stdout)


def _per_currency(rows, column: str = "arr") -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        out[r["currency"]] += D(r[column])
    return dict(out)


def _in_pln(per_currency: dict[str, Decimal]) -> Decimal:
    return per_currency.get("PLN", D(0)) + per_currency.get("EUR", D(0)) * EUR


# ---------------------------------------------------------------- arr / mrr


def test_arr_by_account_filtered_by_account(example_repo, cli) -> None:
    """acme 64,800.00 + hooli 106,368.00 (both PLN) = 171,168.00 ARR; the rows are the unfiltered rows."""
    whole = _json(cli, example_repo, "arr", "--as-of", DAY)
    some = _json(cli, example_repo, "arr", "--as-of", DAY, "--account", "acme", "--account", "hooli")
    assert some["rows"] == [r for r in whole["rows"] if r["account"] in ("acme", "hooli")]
    assert [r["arr"] for r in some["rows"]] == ["64800.00", "106368.00"]
    assert (some["arr"], some["currency"]) == ("171168.00", "PLN")
    assert D(some["arr"]) == sum(D(r["arr"]) for r in some["rows"])
    assert some["currencies"] == [
        {"currency": "PLN", "mrr": "14264.00", "arr": "171168.00", "fx_rate": "1", "fx_source": "company currency"}
    ]
    assert some["filters"] == {"account": ["acme", "hooli"], "product": [], "family": []}
    assert "filters" not in whole  # an unfiltered report's JSON is as it was


def test_arr_filtered_by_the_eur_accounts_is_the_eur_total(example_repo, cli) -> None:
    """globex 8,160.00 + umbrella 8,248.00 EUR: the whole EUR total, 16,408.00 × 4.30 = 70,554.40 PLN."""
    whole = _json(cli, example_repo, "arr", "--as-of", DAY)
    eur = _json(cli, example_repo, "arr", "--as-of", DAY, "--account", "umbrella", "--account", "globex")
    assert {r["account"] for r in eur["rows"]} == {"globex", "umbrella"}
    assert eur["currencies"] == [c for c in whole["currencies"] if c["currency"] == "EUR"]
    assert eur["arr"] == "70554.40" and D(eur["arr"]) == D("16408.00") * EUR


def test_arr_filtered_by_product(example_repo, cli) -> None:
    """PRO-SEAT: 130,348.80 PLN + 11,340.00 EUR (= 48,762.00 PLN) = 179,110.80 PLN ARR, per product and per
    account alike: acme 59,400 + hooli 57,600 + initech 13,348.80 in PLN, globex 6,300 + umbrella 5,040 in EUR."""
    by_product = _json(cli, example_repo, "arr", "--by", "product", "--as-of", DAY)
    seat = _json(cli, example_repo, "arr", "--by", "product", "--as-of", DAY, "--product", "PRO-SEAT")
    assert seat["rows"] == [r for r in by_product["rows"] if r["product"] == "PRO-SEAT"]
    assert seat["arr"] == "179110.80" and D(seat["arr"]) == _in_pln(_per_currency(seat["rows"]))
    per_account = _json(cli, example_repo, "arr", "--by", "account", "--as-of", DAY, "--product", "PRO-SEAT")
    assert {r["account"]: r["arr"] for r in per_account["rows"]} == {
        "acme": "59400.00",
        "globex": "6300.00",
        "hooli": "57600.00",
        "initech": "13348.80",
        "umbrella": "5040.00",
    }
    assert _per_currency(per_account["rows"]) == _per_currency(seat["rows"])
    assert per_account["arr"] == seat["arr"] and per_account["currencies"] == seat["currencies"]


def test_arr_filtered_by_family(example_repo, cli) -> None:
    """License = PRO-SEAT + VIEWER-SEAT: 130,348.80 + 23,040.00 = 153,388.80 PLN (the by-family row) and
    11,340.00 EUR; in PLN 153,388.80 + 48,762.00 = 202,150.80."""
    by_product = _json(cli, example_repo, "arr", "--by", "product", "--as-of", DAY)
    by_family = _json(cli, example_repo, "arr", "--by", "family", "--as-of", DAY)
    lic = _json(cli, example_repo, "arr", "--by", "product", "--as-of", DAY, "--family", "License")
    assert lic["rows"] == [r for r in by_product["rows"] if r["product"] in ("PRO-SEAT", "VIEWER-SEAT")]
    family_rows = [r for r in by_family["rows"] if r["family"] == "License"]
    assert _per_currency(lic["rows"]) == _per_currency(family_rows) == {"EUR": D("11340.00"), "PLN": D("153388.80")}
    assert lic["arr"] == "202150.80"
    same = _json(cli, example_repo, "arr", "--by", "family", "--as-of", DAY, "--family", "License")
    assert same["rows"] == family_rows


def test_mrr_filtered_by_family_and_account(example_repo, cli) -> None:
    """Support per account: hooli 1,344.00 + initech 115.88 (1,390.50 / 12) PLN, umbrella 84.00 EUR; and the
    filters combine: hooli's Support is its SUPPORT-PREMIUM alone, 1,344.00 a month."""
    by_family = _json(cli, example_repo, "mrr", "--by", "family", "--as-of", DAY)
    support = _json(cli, example_repo, "mrr", "--by", "account", "--as-of", DAY, "--family", "Support")
    assert {r["account"]: r["mrr"] for r in support["rows"]} == {
        "hooli": "1344.00",
        "initech": "115.88",
        "umbrella": "84.00",
    }
    family_rows = [r for r in by_family["rows"] if r["family"] == "Support"]
    assert _per_currency(support["rows"], "mrr") == _per_currency(family_rows, "mrr")
    assert support["mrr"] == "1821.08"  # 1,459.88 + 84.00 × 4.30 = 1,821.08
    both = _json(
        cli, example_repo, "mrr", "--by", "product", "--as-of", DAY, "--family", "Support", "--account", "hooli"
    )
    assert both["rows"] == [{"product": "SUPPORT-PREMIUM", "currency": "PLN", "mrr": "1344.00", "arr": "16128.00"}]
    assert (both["mrr"], both["arr"]) == ("1344.00", "16128.00")
    assert both["filters"] == {"account": ["hooli"], "product": [], "family": ["Support"]}


def test_a_filter_that_matches_nothing_is_zero(example_repo, cli) -> None:
    """Services are one-time products (onboarding, training): no recurring revenue."""
    none = _json(cli, example_repo, "arr", "--as-of", DAY, "--family", "Services")
    assert (none["rows"], none["currencies"], none["arr"]) == ([], [], "0.00")
    apart = _json(cli, example_repo, "arr", "--as-of", DAY, "--account", "acme", "--product", "API-CALLS-PLAN")
    assert apart["rows"] == [] and apart["arr"] == "0.00"  # acme buys no API plan


def test_filtered_table_says_so_and_totals_the_rows(example_repo, cli) -> None:
    run = cli("report", "arr", "--as-of", DAY, "--account", "acme", "--account", "hooli", "--repo", example_repo)
    assert run.code == 0, run.stderr
    assert "(account acme, hooli)" in run.stdout
    assert "Total ARR: 171168.00 PLN" in run.stdout
    assert "globex" not in run.stdout


# ---------------------------------------------------------------- movements


def _moves(data: dict) -> dict[str, tuple[str, str, str]]:
    return {r["account"]: (r["movement"], r["mrr_from"], r["mrr_to"]) for r in data["rows"]}


def _reconciles(data: dict) -> None:
    start, end = D(data["mrr_start"]), D(data["mrr_end"])
    up = sum(D(data[k]) for k in ("new", "expansion", "reactivation"))
    down = sum(D(data[k]) for k in ("contraction", "churn"))
    assert start + up - down == end
    for k in KINDS:
        assert D(data[k]) == sum((abs(D(r["delta"])) for r in data["rows"] if r["movement"] == k), D(0))


def test_movements_filtered_by_account_are_the_accounts_rows(example_repo, cli) -> None:
    """2026-09-01 → 2026-11-01: initech renews with a 3% uplift (1,192.50 → 1,228.28) and vandelay's
    cancellation churns 1,395.00; each account's filtered report is its own row, its totals that row."""
    dates = ("--from", "2026-09-01", "--to", "2026-11-01")
    whole = _json(cli, example_repo, "movements", *dates)
    assert _moves(whole) == {
        "initech": ("expansion", "1192.50", "1228.28"),
        "vandelay": ("churn", "1395.00", "0.00"),
    }
    for account in ("initech", "vandelay"):
        one = _json(cli, example_repo, "movements", *dates, "--account", account)
        assert one["rows"] == [r for r in whole["rows"] if r["account"] == account]
        row = one["rows"][0]
        assert (one["mrr_start"], one["mrr_end"]) == (row["mrr_from"], row["mrr_to"])
        assert one[row["movement"]] == row["delta"].lstrip("-")
        _reconciles(one)
    both = _json(cli, example_repo, "movements", *dates, "--account", "initech", "--account", "vandelay")
    assert (both["expansion"], both["churn"]) == ("35.78", "1395.00")
    assert (both["mrr_start"], both["mrr_end"]) == ("2587.50", "1228.28")  # 1,192.50 + 1,395.00; 1,228.28 + 0
    _reconciles(both)
    still = _json(cli, example_repo, "movements", *dates, "--account", "acme")
    assert still["rows"] == [] and still["mrr_start"] == still["mrr_end"] == "5400.00"  # acme did not move


def test_movements_filtered_by_product(example_repo, cli) -> None:
    """vandelay's AUDIT-LOG (270.00 a month, cancelled from 2026-10-01) churns alone; the SSO add-on acme
    took in July is new business of SSO in Q3 (450.00), an expansion of acme as a whole."""
    dates = ("--from", "2026-09-01", "--to", "2026-11-01")
    audit = _json(cli, example_repo, "movements", *dates, "--product", "AUDIT-LOG")
    assert _moves(audit) == {"vandelay": ("churn", "270.00", "0.00")}
    assert audit["churn"] == "270.00"
    _reconciles(audit)
    q3 = ("--from", "2026-06-30", "--to", "2026-09-30")
    sso = _json(cli, example_repo, "movements", *q3, "--product", "SSO")
    assert _moves(sso) == {"acme": ("new", "0.00", "450.00")}
    assert (sso["new"], sso["mrr_end"], sso["nrr"]) == ("450.00", "450.00", None)
    sso_on = _json(cli, example_repo, "mrr", "--by", "product", "--as-of", "2026-09-30", "--product", "SSO")
    assert sso["mrr_end"] == sso_on["mrr"]
    acme = _moves(_json(cli, example_repo, "movements", *q3))["acme"]
    assert acme[0] == "expansion"


def test_movements_filtered_by_family_add_up_to_the_family_mrr(example_repo, cli) -> None:
    """License, 2026-01-01 → 2026-11-01: acme 4,500.00 → 4,950.00 (+5 seats), initech 1,080.00 → 1,112.40,
    globex, hooli and umbrella new; MRR at either end is `report mrr --family License` on that day."""
    dates = ("--from", "2026-01-01", "--to", "2026-11-01")
    whole = _json(cli, example_repo, "movements", *dates)
    lic = _json(cli, example_repo, "movements", *dates, "--family", "License")
    assert _moves(lic) == {
        "acme": ("expansion", "4500.00", "4950.00"),
        "globex": ("new", "0.00", "2257.50"),  # 525.00 EUR × 4.30
        "hooli": ("new", "0.00", "6720.00"),  # 4,800.00 PRO-SEAT + 1,920.00 VIEWER-SEAT
        "initech": ("expansion", "1080.00", "1112.40"),
        "umbrella": ("new", "0.00", "1806.00"),  # 420.00 EUR × 4.30
    }
    assert (lic["mrr_start"], lic["new"], lic["expansion"], lic["mrr_end"]) == (
        "5580.00",
        "10783.50",
        "482.40",
        "16845.90",
    )
    _reconciles(lic)
    for day, key in (("2026-01-01", "mrr_start"), ("2026-11-01", "mrr_end")):
        assert lic[key] == _json(cli, example_repo, "mrr", "--as-of", day, "--family", "License")["mrr"]
    # the family's movements are part of the whole: each account's License MRR is at most its MRR
    full = {r["account"]: r for r in whole["rows"]}
    for r in lic["rows"]:
        assert D(r["mrr_to"]) <= D(full[r["account"]]["mrr_to"])
    assert D(lic["mrr_end"]) < D(whole["mrr_end"])


def test_movements_by_month_filtered(example_repo, cli) -> None:
    """Q3 by month for License: hooli's second contract is new in July (6,720.00), globex drops 5 of its 30
    seats from 2026-09-01 (5 × 252.00 / 12 = 105.00 EUR = 451.50 PLN, a contraction); the months chain,
    add up to the quarter and end where `report mrr --family License` is on each month end."""
    args = ("movements", "--from", "2026-06-30", "--to", "2026-09-30", "--family", "License")
    whole = _json(cli, example_repo, *args)
    monthly = _json(cli, example_repo, *args, "--by", "month")
    assert monthly["filters"]["family"] == ["License"]
    months = monthly["months"]
    assert [m["month"] for m in months] == ["2026-07", "2026-08", "2026-09"]
    assert months[0]["mrr_start"] == whole["mrr_start"] and months[-1]["mrr_end"] == whole["mrr_end"]
    for before, after in zip(months, months[1:]):
        assert before["mrr_end"] == after["mrr_start"]
    assert sum(D(m["net"]) for m in months) == D(whole["mrr_end"]) - D(whole["mrr_start"])
    for m in months:
        assert m["mrr_end"] == _json(cli, example_repo, "mrr", "--as-of", m["to"], "--family", "License")["mrr"]
    assert [(m["new"], m["contraction"]) for m in months] == [
        ("6720.00", "0.00"),
        ("0.00", "0.00"),
        ("0.00", "451.50"),
    ]


# ---------------------------------------------------------------- ltv


def test_ltv_filtered(example_repo, cli) -> None:
    """hooli alone: 8,864.00 a month, one paying account, ARPA 8,864.00. License on 2026-11-28: MRR 16,845.90
    over the 5 accounts holding licences (vandelay's were cancelled), ARPA 3,369.18; on the window's first
    day (2026-05-28) 5 held licences too (hooli's only contract then was its API plan, vandelay's held seats),
    and of those vandelay is gone: 1 churned."""
    hooli = _json(cli, example_repo, "ltv", "--as-of", DAY, "--account", "hooli")
    hooli_arr = _json(cli, example_repo, "mrr", "--as-of", DAY, "--account", "hooli")
    assert (hooli["mrr"], hooli["active_accounts"], hooli["arpa"]) == (hooli_arr["mrr"], 1, "8864.00")
    lic = _json(cli, example_repo, "ltv", "--as-of", DAY, "--family", "License")
    lic_mrr = _json(cli, example_repo, "mrr", "--as-of", DAY, "--family", "License")
    assert lic["mrr"] == lic_mrr["mrr"] == "16845.90"
    assert lic["active_accounts"] == len(lic_mrr["rows"]) == 5
    assert lic["arpa"] == "3369.18"  # 16,845.90 / 5
    assert (lic["accounts_at_window_start"], lic["churned_accounts"]) == (5, 1)
    whole = _json(cli, example_repo, "ltv", "--as-of", DAY)
    assert whole["accounts_at_window_start"] == 6  # hooli counts as a customer, not as a licence holder
    assert lic["cac"] == "12000.00"  # the CAC is cpq.toml's, never filtered
    assert lic["filters"]["family"] == ["License"]


# ---------------------------------------------------------------- board


def test_board_filtered(example_repo, cli) -> None:
    """The License board of Q3: its ARR at each month end is `report arr --family License` on that day, its
    movements `report movements --by month --family License`, its top accounts their License ARR."""
    board = _json(cli, example_repo, "board", "-p", "2026q3", "--family", "License")
    assert board["filters"] == {"account": [], "product": [], "family": ["License"]}
    for m in board["months"]:
        assert m["arr"] == _json(cli, example_repo, "arr", "--as-of", m["to"], "--family", "License")["arr"]
    moves = _json(cli, example_repo, "movements", "-p", "2026q3", "--by", "month", "--family", "License")
    assert [m["net"] for m in board["months"]] == [m["net"] for m in moves["months"]]
    assert (board["mrr_start"], board["mrr_end"]) == (moves["mrr_start"], moves["mrr_end"])
    per_account = _json(cli, example_repo, "arr", "--as-of", "2026-09-30", "--family", "License")
    in_pln = {
        r["account"]: D(r["arr"]) * (EUR if r["currency"] == "EUR" else 1) for r in per_account["rows"]
    }  # 2 places × 4.30: exact
    for t in board["top_accounts"]:
        assert D(t["arr"]) == in_pln[t["account"]]
    assert D(board["arr"]) == D(per_account["arr"])
    assert board["top_accounts"][0]["account"] == "hooli" and board["top_accounts"][0]["arr"] == "80640.00"
    whole = _json(cli, example_repo, "board", "-p", "2026q3")
    assert D(board["arr"]) < D(whole["arr"])


def test_the_board_document_refuses_filters(example_repo, cli, tmp_path) -> None:
    out = tmp_path / "board.md"
    for fmt in ("md", "pdf"):
        run = cli("report", "board", "--format", fmt, "-o", out, "--account", "acme", "--repo", example_repo)
        assert run.code == 2 and "error[E-USAGE]" in run.stderr and "whole company" in run.stderr
    assert not out.exists()


# ---------------------------------------------------------------- unknown names

REPORTS = [
    ("arr", "--as-of", DAY),
    ("mrr", "--as-of", DAY),
    ("movements", "--from", "2026-01-01", "--to", "2026-11-01"),
    ("movements", "--from", "2026-01-01", "--to", "2026-11-01", "--by", "month"),
    ("ltv", "--as-of", DAY),
    ("board", "--as-of", DAY),
]
UNKNOWN = [
    ("--account", "acmee", "E-UNKNOWN-ACCOUNT", "unknown account `acmee`", "did you mean `acme`?"),
    (
        "--account",
        "ACME",
        "E-UNKNOWN-ACCOUNT",
        "unknown account `ACME`",
        "did you mean `acme`? (IDs are case-sensitive)",
    ),
    ("--product", "PRO-SEATS", "E-UNKNOWN-PRODUCT", "unknown product `PRO-SEATS`", "did you mean `PRO-SEAT`?"),
    ("--product", "sso", "E-UNKNOWN-PRODUCT", "unknown product `sso`", "did you mean `SSO`? (IDs are case-sensitive)"),
    ("--family", "Licence", "E-UNKNOWN-FAMILY", "unknown family `Licence`", "did you mean `License`?"),
    (
        "--family",
        "Hardware",
        "E-UNKNOWN-FAMILY",
        "unknown family `Hardware`",
        "the catalog's families: API, Add-on, Bundle, License, Services, Support",
    ),
]


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: " ".join(r[:1] + r[-1:]))
@pytest.mark.parametrize("option, value, code, message, hint", UNKNOWN, ids=lambda v: str(v))
def test_an_unknown_name_is_refused_like_an_unknown_id(example_repo, cli, report, option, value, code, message, hint):
    run = cli("report", *report, option, value, "--repo", example_repo)
    assert run.code == 2  # usage, as `quote new --account acmee` and `catalog show PRO-SEATS`
    assert f"error[{code}]: {message}" in run.stderr
    assert hint in run.stderr
    assert run.stdout == ""


def test_the_unknown_codes_are_the_ones_the_other_commands_use(example_repo, cli) -> None:
    shown = cli("catalog", "show", "PRO-SEATS", "--repo", example_repo)
    filtered = cli("report", "arr", "--product", "PRO-SEATS", "--repo", example_repo)
    assert shown.code == filtered.code == 2
    assert shown.stderr == filtered.stderr  # the same message and hint


def test_a_comma_separated_list_is_refused_with_the_repeated_form(example_repo, cli) -> None:
    run = cli("report", "arr", "--account", "acme,hooli", "--repo", example_repo)
    assert run.code == 2 and "error[E-UNKNOWN-ACCOUNT]: unknown account `acme,hooli`" in run.stderr
    assert "--account acme --account" in run.stderr
    fam = cli("report", "movements", "-p", "2026q3", "--family", "License,Support", "--repo", example_repo)
    assert fam.code == 2 and "--family License --family" in fam.stderr


def test_the_use_cases_take_the_filters(example_repo, cli) -> None:
    """The Python API: the same figures and the same refusals as the command line."""
    ws = Workspace.open(example_repo, as_of=date(2026, 11, 28))
    result = reports.arr(ws, by="product", families=["Support"], accounts="hooli")  # a str is one name
    run = _json(
        cli, example_repo, "arr", "--by", "product", "--as-of", DAY, "--family", "Support", "--account", "hooli"
    )
    assert json.loads(json.dumps(result.data)) == run
    moves = reports.movements(ws, start=date(2026, 9, 1), end=date(2026, 11, 1), products=("AUDIT-LOG",))
    assert moves.data["churn"] == "270.00"
    with pytest.raises(CpqError) as e:
        reports.ltv(ws, products=("PRO-SEAT", "NOPE"))
    assert e.value.code == "E-UNKNOWN-PRODUCT"
