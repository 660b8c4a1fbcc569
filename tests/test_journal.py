"""Revenue recognition reports and the double-entry journal (issue 19, docs/revenue.md): the beancount export of
a year of the example repository (invoiced monthly, paid through the bank statements of tests/fixtures/bank)
passes bean-check and its balances equal the AR, deferred revenue and revenue reports to the cent; random
contracts with amendments recognise exactly what they bill."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import PROJECT, copy_example, invoke

YEAR_END = "2026-12-31"


def _json(*args: object) -> dict:
    r = invoke(*args)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def beancount_file(year: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("journal") / "cpqctl.beancount"
    r = invoke("journal", "--repo", year, "--as-of", YEAR_END, "-o", out)
    assert r.exit_code == 0, r.stderr
    return out


def _balances(path: Path) -> dict[tuple[str, str], Decimal]:
    from beancount import loader
    from beancount.core import data

    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    out: dict[tuple[str, str], Decimal] = {}
    for e in entries:
        if isinstance(e, data.Transaction):
            for p in e.postings:
                key = (p.account, p.units.currency)
                out[key] = out.get(key, Decimal(0)) + p.units.number
    return out


def test_bean_check_passes(beancount_file: Path) -> None:
    """The real `bean-check` (beancount from PyPI), as a user runs it."""
    exe = shutil.which("bean-check") or str(Path(sys.executable).parent / "bean-check")
    done = subprocess.run([exe, str(beancount_file)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_balances_equal_the_reports(year: Path, beancount_file: Path) -> None:
    bal = _balances(beancount_file)
    ar = _json("report", "ar", "--repo", year, "--as-of", YEAR_END, "-f", "json")["rows"]
    deferred = _json("report", "deferred", "--repo", year, "--as-of", YEAR_END, "--from", "2025-01", "-f", "json")
    revenue = _json("report", "revenue", "--repo", year, "--as-of", YEAR_END, "--from", "2025-01", "-f", "json")
    for cur in ("PLN", "EUR"):
        total = next(r for r in ar if r["account"] == "total" and r["currency"] == cur)
        receivable = bal.get(("Assets:Receivable", cur), Decimal(0))
        credit = -bal.get(("Liabilities:Customer-Credit", cur), Decimal(0))
        assert receivable - credit == Decimal(total["balance"]), cur
        last = [r for r in deferred["rows"] if r["currency"] == cur][-1]
        assert last["month"] == "2026-12"
        assert -bal.get(("Liabilities:Deferred-Revenue", cur), Decimal(0)) == Decimal(last["deferred"])
        assert bal.get(("Assets:Unbilled-Revenue", cur), Decimal(0)) == Decimal(last["unbilled"])
        recognised = sum(Decimal(r["recognised"]) for r in revenue["rows"] if r["currency"] == cur)
        assert -bal[("Income:Revenue", cur)] == recognised
        # and revenue, deferred and unbilled reconcile to the invoices: Σ net billed = recognised + closing
        from cpqctl.load.repo import load_repo

        repo, _ = load_repo(year)
        net = sum((i.net_total for i in repo.invoices.values() if i.currency == cur), Decimal(0))
        assert net == recognised + Decimal(last["closing"])
    assert bal[("Liabilities:Unidentified-Receipts", "PLN")] == Decimal("-123.45")  # the line to review


def test_the_journal_is_deterministic_and_links_invoices(year: Path, beancount_file: Path) -> None:
    r = invoke("journal", "--repo", year, "--as-of", YEAR_END)
    assert r.stdout == beancount_file.read_text()
    text = r.stdout
    assert '2026-01-01 * "ACME Sp. z o.o." "Invoice INV-2026-0002" ^INV-2026-0002' in text
    assert '"Corrective invoice FK-2026-0001 of INV-2026-0005" ^FK-2026-0001 ^INV-2026-0005' in text
    assert '  period: "2026-06"' in text


def test_hledger_and_ledger_syntax(year: Path, tmp_path: Path) -> None:
    """hledger is not installed here: each transaction has a dated header and postings that sum to zero per
    currency, two spaces between account and amount (what hledger and ledger parse)."""
    for fmt in ("hledger", "ledger"):
        r = invoke("journal", "--repo", year, "--as-of", YEAR_END, "--format", fmt)
        assert r.exit_code == 0, r.stderr
        blocks = [b for b in r.stdout.split("\n\n") if re.match(r"\d{4}-\d\d-\d\d \* ", b)]
        assert len(blocks) > 100
        for b in blocks:
            sums: dict[str, Decimal] = {}
            for line in b.splitlines()[1:]:
                if line.lstrip().startswith(";"):
                    continue
                m = re.fullmatch(r"    (\S(?:.*\S)?)  +(-?\d+\.\d{2}) ([A-Z]{3})", line)
                assert m, (fmt, line)
                sums[m.group(3)] = sums.get(m.group(3), Decimal(0)) + Decimal(m.group(2))
            assert all(v == 0 for v in sums.values()), b
        if shutil.which("hledger") and fmt == "hledger":
            path = tmp_path / "cpqctl.journal"
            path.write_text(r.stdout)
            assert subprocess.run(["hledger", "-f", str(path), "check"], check=False).returncode == 0


# --------------------------------------------------------------------------- random contracts with amendments


def _contract(start: date, months: int, qty: int, frequency: str, changes: list[tuple[int, int]], cancel: int | None):
    from dateutil.relativedelta import relativedelta

    end = start + relativedelta(months=months, days=-1)
    lines = [
        "contract: C-2026-0100",
        "account: acme",
        "currency: PLN",
        f"start: {start}",
        f"end: {end}",
        f"billing: {{frequency: {frequency}}}",
        "signed: {by: Test, date: 2025-12-01}",
        "lines:",
        f"  - {{product: PRO-SEAT, quantity: {qty}, list_price: 1200.00, unit_price: 1111.11, per: year, "
        f"start: {start}, end: {end}}}",
        f"  - {{product: ONBOARDING, quantity: 1, list_price: 5000.00, unit_price: 5000.00, start: {start}}}",
    ]
    amendments = []
    stop = start + relativedelta(days=cancel) if cancel is not None else None
    if stop is not None and stop > end:
        stop = None
    live = [(start, qty, "1111.11")]
    for offset, delta in sorted(changes):
        eff = start + relativedelta(days=offset)
        if eff > end or (stop is not None and eff >= stop):
            continue
        live.append((eff, delta, "999.99"))
        amendments += [
            f"  - amendment: A-{len(live) - 1}",
            f"    effective: {eff}",
            "    signed: {by: Test, date: 2025-12-01}",
            "    lines:",
            f"      - {{product: PRO-SEAT, quantity: {delta}, list_price: 1200.00, unit_price: 999.99, per: year, "
            f"start: {eff}, end: {end}}}",
        ]
    if stop is not None:
        amendments += [
            f"  - amendment: A-{len(live)}",
            f"    effective: {stop}",
            "    signed: {by: Test, date: 2025-12-01}",
            f"    cancelled: {{date: {stop}, reason: test}}",
            "    lines:",
        ]
        amendments += [
            f"      - {{product: PRO-SEAT, quantity: -{q}, list_price: 1200.00, unit_price: {price}, per: year, "
            f"start: {stop}, end: {end}}}"
            for _, q, price in live
        ]
    return "\n".join(lines + (["amendments:", *amendments] if amendments else [])) + "\n", end


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("random")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    months=st.integers(1, 24),
    qty=st.integers(1, 80),
    frequency=st.sampled_from(["monthly", "quarterly", "annual"]),
    changes=st.lists(st.tuples(st.integers(1, 700), st.integers(1, 30)), max_size=3),
    cancel=st.none() | st.integers(1, 700),
)
def test_random_contracts_recognise_what_they_bill(scratch, start, months, qty, frequency, changes, cancel) -> None:
    from cpqctl.app import revenue
    from cpqctl.core import revrec
    from cpqctl.load.repo import load_repo

    root = scratch / f"r{abs(hash((start, months, qty, frequency, tuple(changes), cancel)))}"
    if root.exists():
        shutil.rmtree(root)
    copy_example(root)
    for other in (root / "contracts").iterdir():
        if other.name != "acme":
            shutil.rmtree(other)
    (root / "contracts" / "acme" / "C-2026-0001.yaml").unlink()
    text, end = _contract(start, months, qty, frequency, changes, cancel)
    (root / "contracts" / "acme" / "C-2026-0100.yaml").write_text(text)
    r = invoke("invoice", "run", "--repo", root, "--as-of", (end.replace(day=1)).isoformat())
    assert r.exit_code == 0, r.stderr + text
    r = invoke("invoice", "run", "--repo", root, "--as-of", "2029-12-31")
    assert r.exit_code == 0, r.stderr + text
    repo, diags = load_repo(root)
    assert not [d for d in diags if d.severity == "error"], diags
    scheds = revenue.schedules(repo, "PLN")
    billed = sum((i.net_total for i in repo.invoices.values()), Decimal(0))
    assert sum((e.amount for s in scheds for e in s.entries), Decimal(0)) == billed, text
    rows = revrec.roll_forward(scheds)
    opening = Decimal(0)
    for row in rows:
        assert row.opening == opening and row.opening + row.billed - row.recognised == row.closing
        opening = row.closing
    assert rows[-1].closing == 0, text  # everything billed is recognised by the end
    assert PROJECT.exists()


# --------------------------------------------------------------------------- period close


def test_a_closed_month_stays_closed(year: Path, tmp_path: Path) -> None:
    root = Path(shutil.copytree(year, tmp_path / "repo", ignore=shutil.ignore_patterns(".cpq")))
    run = ("--repo", root)
    r = invoke("close", "2026-06", "--as-of", "2026-06-30", *run)
    assert r.exit_code == 2 and "has not ended" in r.stderr
    r = invoke("close", "2026-06", "--by", "Anna Nowak", "--as-of", "2026-07-05", *run)
    assert r.exit_code == 0, r.stderr
    text = (root / "periods" / "2026-06.yaml").read_text()
    assert "Payment PAY-2026-0005 (Hooli Polska Sp. z o.o.)" in text and text.count("  - ") == 10
    assert invoke("check", *run).exit_code == 0
    assert invoke("close", "2026-06", "--as-of", "2026-07-05", *run).exit_code == 1  # closed already
    # a back-dated payment would change June: the write is refused, nothing is written
    files = sorted((root / "payments").rglob("*"))
    r = invoke("payment", "record", "-a", "hooli", "--amount", "10.00", "--as-of", "2026-06-20", *run)
    assert r.exit_code == 1 and "E-WRITE-INVALID" in r.stderr and "E-CLOSED-PERIOD" in r.stderr
    assert sorted((root / "payments").rglob("*")) == files
    # the same payment dated in July, an open month, is fine
    assert invoke("payment", "record", "-a", "hooli", "--amount", "10.00", "--as-of", "2026-07-20", *run).exit_code == 0
    # a hand edit of June's payment: check names it
    path = root / "payments" / "2026-06" / "PAY-2026-0005.yaml"
    path.write_text(path.read_text().replace("amount: 2000.00", "amount: 2100.00"))
    r = invoke("check", "--format", "json", *run)
    found = [d for d in json.loads(r.stdout)["diagnostics"] if d["code"] == "E-CLOSED-PERIOD"]
    assert len(found) == 1 and found[0]["file"] == "periods/2026-06.yaml"
    assert "changed: 2026-06-10 Payment PAY-2026-0005" in found[0]["message"]
    # a catalog change that moves June's revenue is a change of June too
    path.write_text(path.read_text().replace("amount: 2100.00", "amount: 2000.00"))
    assert invoke("check", *run).exit_code == 0
    catalog = root / "catalog" / "licenses.yaml"  # PRO-SEAT all on its periods' first days: acme's April–June
    catalog.write_text(
        catalog.read_text().replace("code: PRO-SEAT\n", "code: PRO-SEAT\n    revenue: point-in-time\n", 1)
    )
    r = invoke("check", "--format", "json", *run)
    assert any(d["code"] == "E-CLOSED-PERIOD" for d in json.loads(r.stdout)["diagnostics"]), r.stdout


def test_waterfall_rows_add_up_to_what_each_month_billed(year: Path) -> None:
    from cpqctl.load.repo import load_repo

    data = _json("report", "waterfall", "-p", "2026", "--repo", year, "--as-of", YEAR_END, "-f", "json")
    repo, _ = load_repo(year)
    for row in data["rows"]:
        assert sum(Decimal(v) for v in row["recognised"].values()) == Decimal(row["billed"])
        billed = sum(
            (
                i.net_total
                for i in repo.invoices.values()
                if i.currency == row["currency"] and f"{i.date:%Y-%m}" == row["billed_in"]
            ),
            Decimal(0),
        )
        assert Decimal(row["billed"]) == billed
    first = next(r for r in data["rows"] if r["billed_in"] == "2026-01" and r["currency"] == "PLN")
    assert first["recognised"]["2025-10"] == "6215.37"  # initech's catch-up: its service began before the invoice
