"""Issue 13, metrics: an account moved to a free plan (0.00 MRR on a contract that stays active).

ChartMogul's default — the only rule for its accounts since 2025 — counts a
paid-to-free move as *contraction* with the customer still active; cpqctl used
to call it churn and count a churned logo in `report ltv`. Now cpq.toml
``[metrics] free_accounts = "contraction"`` (the default) follows ChartMogul and
``"churn"`` keeps the old rule.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D
from types import MappingProxyType

import pytest

from cpqctl.core import metrics
from cpqctl.core.model import Amendment, Catalog, Contract, Repo, Segment, Settings

TOML = '[company]\nname = "Test Co"\ncurrency = "USD"\n'
FILES = {
    "catalog/p.yaml": """\
        products:
          - {code: PLAN, name: Plan, type: subscription, per: month, price: {USD: 50.00}}
          - {code: FREE, name: Free plan, type: subscription, per: month, price: {USD: 0.00}}
        """,
    "contracts/acme/account.yaml": "account: acme\nname: ACME\ncurrency: USD\n",
    "contracts/acme/C-2026-0001.yaml": """\
        contract: C-2026-0001
        account: acme
        currency: USD
        start: 2026-01-01
        end: 2026-12-31
        lines:
          - {product: PLAN, quantity: 1, list_price: 50.00, unit_price: 50.00, per: month, start: 2026-01-01, end: 2026-12-31}
        """,
}


@pytest.fixture
def repriced(repo, cli):
    """A $50/month customer repriced to $0.00 from 2026-04-01 (an accepted amendment); the contract runs to year end."""

    def make(setting: str | None = None):
        toml = TOML + (f'[metrics]\nfree_accounts = "{setting}"\n' if setting else "")
        root = repo(FILES, toml=toml)
        run = cli(
            "amend",
            "C-2026-0001",
            "--effective",
            "2026-04-01",
            "--reprice",
            "PLAN=0.00",
            "--as-of",
            "2026-03-20",
            "--repo",
            root,
        )
        assert run.code == 0, run.stderr
        run = cli("quote", "accept", "Q-2026-0001", "--signed-by", "Ann", "--as-of", "2026-03-20", "--repo", root)
        assert run.code == 0, run.stderr
        return root

    return make


def movements(cli, root) -> dict:
    run = cli("report", "movements", "--from", "2026-03-01", "--to", "2026-06-30", "--format", "json", "--repo", root)
    assert run.code == 0, run.stderr
    return json.loads(run.stdout)


def ltv(cli, root) -> dict:
    run = cli("report", "ltv", "--as-of", "2026-09-30", "--format", "json", "--repo", root)
    assert run.code == 0, run.stderr
    return json.loads(run.stdout)


def test_paid_to_free_is_contraction_and_the_logo_stays_active(repriced, cli) -> None:
    """ChartMogul's case: a $50 customer repriced to $0 → contraction 50.00, no churn, logo still active."""
    root = repriced()
    m = movements(cli, root)
    assert (m["mrr_start"], m["contraction"], m["churn"], m["mrr_end"]) == ("50.00", "50.00", "0.00", "0.00")
    assert m["rows"] == [
        {"account": "acme", "movement": "contraction", "mrr_from": "50.00", "mrr_to": "0.00", "delta": "-50.00"}
    ]
    assert (m["nrr"], m["grr"]) == ("0.00%", "0.00%")  # the revenue is lost all the same
    lt = ltv(cli, root)  # window 2026-03-30 .. 2026-09-30: paying at the start, free at the end
    assert (lt["accounts_at_window_start"], lt["active_accounts"], lt["churned_accounts"]) == (1, 1, 0)
    assert lt["monthly_churn_rate"] == "0.00%" and lt["mrr"] == "0.00"


def test_free_accounts_churn_keeps_the_old_rule(repriced, cli) -> None:
    root = repriced("churn")
    m = movements(cli, root)
    assert (m["contraction"], m["churn"]) == ("0.00", "50.00")
    assert m["rows"][0]["movement"] == "churn"
    lt = ltv(cli, root)
    assert (lt["accounts_at_window_start"], lt["active_accounts"], lt["churned_accounts"]) == (1, 0, 1)


def test_free_accounts_is_checked(repo, cli) -> None:
    root = repo(FILES, toml=TOML + '[metrics]\nfree_accounts = "ignore"\n')
    run = cli("check", "--repo", root)
    assert run.code == 1
    assert "cpq.toml:5:" in run.stdout + run.stderr and "contraction" in run.stdout + run.stderr


def test_a_contract_that_ends_is_still_churn(repo, cli) -> None:
    """The contract ends 2026-06-30 (not free: gone) → churn under either rule."""
    files = dict(FILES)
    files["contracts/acme/C-2026-0001.yaml"] = FILES["contracts/acme/C-2026-0001.yaml"].replace(
        "2026-12-31", "2026-05-31"
    )
    root = repo(files, toml=TOML)
    m = movements(cli, root)
    assert (m["contraction"], m["churn"]) == ("0.00", "50.00")


# ------------------------------------------------------------- the rule, in core


def seg(price: str, start: date, end: date, n: int = 1, product: str = "PLAN", qty: str = "1") -> Segment:
    return Segment(f"S#{n}", product, D(qty), D(price), start, end, per="month")


def repo_of(*contracts: Contract, free_accounts: str = "contraction") -> Repo:
    s = Settings(currency="USD", free_accounts=free_accounts, fx=MappingProxyType({}))
    return Repo(settings=s, catalog=Catalog(), contracts={c.contract: c for c in contracts})


def plan_switch() -> Contract:
    """$50 → free plan (PLAN removed, FREE added at 0.00) on 2026-04-01 → $80 again on 2026-08-01."""
    y0, y1 = date(2026, 1, 1), date(2026, 12, 31)
    apr, aug = date(2026, 4, 1), date(2026, 8, 1)
    return Contract(
        "C-1",
        "a",
        "USD",
        y0,
        y1,
        (seg("50.00", y0, y1),),
        (
            Amendment("A-1", apr, (seg("50.00", apr, y1, 2, qty="-1"), seg("0.00", apr, y1, 3, product="FREE"))),
            Amendment("A-2", aug, (seg("0.00", aug, y1, 4, product="FREE", qty="-1"), seg("80.00", aug, y1, 5))),
        ),
    )


def test_free_plan_and_back_months() -> None:
    """Month by month: contraction 50.00 in April, expansion 80.00 in August (the customer never left)."""
    months = metrics.movements_by_month(repo_of(plan_switch()), date(2026, 1, 31), date(2026, 12, 31))
    kinds = [(m.end, r.movement, r.delta) for m in months for r in m.rows]
    assert kinds == [(date(2026, 4, 30), "contraction", D("-50.00")), (date(2026, 8, 31), "expansion", D("80.00"))]
    old = metrics.movements_by_month(
        repo_of(plan_switch(), free_accounts="churn"), date(2026, 1, 31), date(2026, 12, 31)
    )
    assert [(r.movement, r.delta) for m in old for r in m.rows] == [
        ("churn", D("-50.00")),
        ("reactivation", D("80.00")),
    ]


def test_a_contract_starting_free_is_new_when_it_pays() -> None:
    y0, y1, jun = date(2026, 1, 1), date(2026, 12, 31), date(2026, 6, 1)
    c = Contract(
        "C-1",
        "a",
        "USD",
        y0,
        y1,
        (seg("0.00", y0, y1, product="FREE"),),
        (Amendment("A-1", jun, (seg("0.00", jun, y1, 2, product="FREE", qty="-1"), seg("50.00", jun, y1, 3))),),
    )
    m = metrics.movements(repo_of(c), date(2026, 3, 1), date(2026, 7, 1))
    assert [(r.movement, r.delta) for r in m.rows] == [("new", D("50.00"))]
    lt = metrics.ltv(repo_of(c), date(2026, 5, 31))  # free on both ends of the window: a logo, not a churn
    assert (lt.active, lt.churned, lt.mrr) == (1, 0, 0)
