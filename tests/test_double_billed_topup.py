"""A top-up that equals the line it tops up is not double billing (found at 50,000 generated accounts).

Another system (here bench/gen.py; in life an imported ledger) billed an amendment's two-day first period as the
days' value, 8.22. The period rule gives a segment's first partial period the day-count residual of its term too:
16.44. `invoice run` issues the difference, 8.22 — the same segment, period, kind and amount as the line on file.
The double-billing check (E-DOUBLE-BILLED) took that for a copy and refused the whole run; it now compares the
two with the schedule: together they bill what the schedule bills for the period. A real copy — more than the
schedule — is still refused.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cpqctl.formats.digest import digest_of
from tests.conftest import age

ACCOUNT = """account: acct-00001
name: "Fabryka Dąb sp.k."
currency: PLN
address: "al. Jerozolimskie 140, 00-916 Warszawa"
tax_id: PL2972676418
contacts:
  - {name: Anna Nowak, email: billing@acct-00001.example, role: billing}
"""
CONTRACT = """contract: C-2025-00001
account: acct-00001
currency: PLN
start: 2025-12-01
end: 2026-11-30
billing: {frequency: quarterly}
proration: monthly+daily
rounding: half-up
renewal: {term: 12, pricing: uplift, uplift: 3.5%}
signed: {by: Anna Nowak, date: 2025-11-29}
lines:
  - {product: PRO-SEAT, quantity: 3, list_price: 1200.00, unit_price: 1200.00, per: year, start: 2025-12-01, end: 2026-11-30}
amendments:
  - amendment: A-1
    effective: 2026-02-27
    signed: {by: Anna Nowak, date: 2026-02-25}
    lines:
      - {product: SUPPORT-BASIC, quantity: 1, list_price: 1500.00, unit_price: 1500.00, per: year, start: 2026-02-27, end: 2026-11-30}
"""


def _invoice(number: str, day: str, line: str, net: str, tax: str, gross: str) -> str:
    text = (
        f"invoice: {number}\naccount: acct-00001\ncontract: C-2025-00001\ndate: {day}\nsale_date: {day}\n"
        f"due: {day}\ncurrency: PLN\nlines:\n  - {line}\nnet_total: {net}\n"
        f"taxes: [{{rate: 23%, base: {net}, amount: {tax}}}]\ngross_total: {gross}\n"
    )
    return text + f'digest: "{digest_of(text)}"\n'


FIRST = _invoice(
    "INV-2025-00001",
    "2025-12-01",
    "{segment: C-2025-00001#1, product: PRO-SEAT, kind: recurring, period_start: 2025-12-01, period_end: 2026-02-28, "
    "quantity: 3, amount: 900.00}",
    "900.00",
    "207.00",
    "1107.00",
)
CATCH_UP = _invoice(
    "INV-2026-00001",
    "2026-02-27",
    "{segment: C-2025-00001/A-1#1, product: SUPPORT-BASIC, kind: proration, period_start: 2026-02-27, "
    "period_end: 2026-02-28, quantity: 1, amount: 8.22}",
    "8.22",
    "1.89",
    "10.11",
)


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    gen = Path(__file__).resolve().parents[1] / "bench" / "gen.py"
    subprocess.run([sys.executable, str(gen), str(root), "--accounts", "1"], check=True, capture_output=True)
    for f in (root / "invoices").glob("*"):
        f.unlink()
    for f in (root / "contracts" / "acct-00001").glob("C-*.yaml"):
        f.unlink()
    (root / "contracts/acct-00001/account.yaml").write_text(ACCOUNT, encoding="utf-8")
    (root / "contracts/acct-00001/C-2025-00001.yaml").write_text(CONTRACT, encoding="utf-8")
    (root / "invoices/INV-2025-00001.yaml").write_text(FIRST, encoding="utf-8")
    (root / "invoices/INV-2026-00001.yaml").write_text(CATCH_UP, encoding="utf-8")
    age(root)
    return root


def test_a_top_up_equal_to_the_line_on_file_is_issued(tmp_path, cli) -> None:
    root = _repo(tmp_path)
    assert cli("check", "--repo", root).code == 0
    run = cli("invoice", "run", "--through", "2026-10-31", "--as-of", "2026-10-31", "--repo", root, "--format", "json")
    assert run.code == 0, run.stderr
    import yaml

    (line,) = yaml.safe_load((root / "invoices/INV-2026-00002.yaml").read_text(encoding="utf-8"))["lines"]
    assert (line["segment"], str(line["period_start"]), str(line["period_end"])) == (
        "C-2025-00001/A-1#1",
        "2026-02-27",
        "2026-02-28",
    )
    assert str(line["amount"]) == "8.22"  # 16.44 in all for the two days: the period rule's first partial period
    assert cli("check", "--repo", root).code == 0


def test_a_copy_over_the_schedule_is_still_double_billing(tmp_path, cli) -> None:
    root = _repo(tmp_path)
    assert cli("invoice", "run", "--through", "2026-10-31", "--as-of", "2026-10-31", "--repo", root).code == 0
    # a second branch's run issued the same top-up again: 8.22 × 3 > the 16.44 the schedule bills
    last = sorted((root / "invoices").glob("INV-2026-*.yaml"))[-1]
    n = int(last.stem.rsplit("-", 1)[1]) + 1
    copy = (
        CATCH_UP.split("digest:")[0]
        .replace("INV-2026-00001", f"INV-2026-{n:05d}")
        .replace("2026-02-27\ns", "2026-10-31\ns")
    )
    text = copy.replace("date: 2026-02-27\n", "date: 2026-10-31\n", 1)
    (root / f"invoices/INV-2026-{n:05d}.yaml").write_text(text + f'digest: "{digest_of(text)}"\n', encoding="utf-8")
    found = cli("check", "--repo", root, "--format", "json")
    assert found.code == 1 and "E-DOUBLE-BILLED" in found.stdout
