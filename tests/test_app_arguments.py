"""Where a refusal is worded: checks of a call's arguments in the use case, domain rules in core without CLI flags.

The use case is what receives an argument, so it refuses one that is
unusable (`report movements` with the dates in the wrong order) and may name
it as the CLI does. core decides the rules about contracts (an extension
must move the end later; a block's price follows its quantity) and words them
for any caller: no `--extend-to`, `--set`, `--from`, `--to` or `--term` in
their messages or hints.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from cpqctl.app import reports
from cpqctl.app.amend import Change, amend
from cpqctl.app.renew import renew
from cpqctl.app.workspace import Workspace
from cpqctl.core import metrics
from cpqctl.core.diagnostics import CpqError, UsageError

FLAG = re.compile(r"--[a-z]")

CATALOG = """\
products:
  - {code: SEAT, name: Seat, type: subscription, per: year, price: {PLN: 1200.00}}
  - code: PACK
    name: Storage pack
    type: subscription
    per: year
    pricing: block
    blocks: [{up_to: 100, price: {PLN: 500.00}}]
"""

ACCOUNT = "account: acme\nname: ACME\ncurrency: PLN\n"

CONTRACT = """\
contract: C-2024-0001
account: acme
currency: PLN
start: 2024-01-01
end: 2024-12-31
lines:
  - {product: SEAT, quantity: 10, list_price: 1200.00, unit_price: 1200.00, per: year, start: 2024-01-01, end: 2024-12-31}
  - {product: PACK, quantity: 100, list_price: 500.00, unit_price: 500.00, per: year, pricing: block, start: 2024-01-01, end: 2024-12-31}
"""


@pytest.fixture
def ws(repo) -> Workspace:
    root = repo(
        {
            "catalog/products.yaml": CATALOG,
            "contracts/acme/account.yaml": ACCOUNT,
            "contracts/acme/C-2024-0001.yaml": CONTRACT,
        }
    )
    return Workspace.open(root, as_of=date(2024, 4, 1))


def test_movements_refuse_dates_in_the_wrong_order_in_the_use_case(ws) -> None:
    for use_case in (reports.movements, reports.movements_by_month):
        with pytest.raises(UsageError) as e:
            use_case(ws, start=date(2024, 6, 1), end=date(2024, 3, 1))
        assert (e.value.code, e.value.message) == ("E-USAGE", "--to 2024-03-01 is before --from 2024-06-01")
        assert e.value.hint == "give the earlier date as --from"
    repo, _ = ws.load(reports.KINDS)
    with pytest.raises(ValueError) as raw:  # core: a precondition, not a message for a person
        metrics.movements(repo, date(2024, 6, 1), date(2024, 3, 1))
    assert not isinstance(raw.value, CpqError) and not FLAG.search(str(raw.value))
    same_day = reports.movements(ws, start=date(2024, 3, 1), end=date(2024, 3, 1))
    assert same_day.data["mrr_start"] == same_day.data["mrr_end"] == "1041.67"  # (12,000 + the block's 500) / 12


def test_an_extension_that_does_not_move_the_end_later_is_refused_without_a_flag(ws) -> None:
    with pytest.raises(CpqError) as e:
        amend(ws, "C-2024-0001", extend_to=date(2024, 12, 31), dry_run=True)
    assert e.value.code == "E-EXTEND"
    assert e.value.message == "the new end 2024-12-31 does not move the end of C-2024-0001 (2024-12-31) later"
    assert not FLAG.search(e.value.message + e.value.hint)
    later = amend(ws, "C-2024-0001", extend_to=date(2025, 12, 31), dry_run=True)
    assert later.data["end"] == "2025-12-31"


def test_repricing_a_block_says_to_set_its_quantity_without_a_flag(ws) -> None:
    with pytest.raises(CpqError) as e:
        amend(
            ws,
            "C-2024-0001",
            effective=date(2024, 7, 1),
            changes=[Change("reprice", "PACK", Decimal("450.00"))],
            dry_run=True,
        )
    assert e.value.code == "E-REPRICE-BLOCK"
    assert e.value.message == "`PACK` is block-priced: a block's price follows its quantity"
    assert e.value.hint == "re-price a block-priced product by setting its quantity"
    seat = amend(
        ws,
        "C-2024-0001",
        effective=date(2024, 7, 1),
        changes=[Change("reprice", "SEAT", Decimal("1000.00"))],
        dry_run=True,
    )
    assert [ln["net_unit_price"] for ln in seat.data["lines"]][-1] == "1000.00"


def test_a_renewal_term_is_refused_by_the_use_case_when_given_and_by_core_when_in_the_contract(repo) -> None:
    root = repo(
        {
            "catalog/products.yaml": CATALOG,
            "contracts/acme/account.yaml": ACCOUNT,
            "contracts/acme/C-2024-0001.yaml": CONTRACT + "renewal: {term: 0}\n",
        }
    )
    ws = Workspace.open(root, as_of=date(2024, 11, 1))
    with pytest.raises(UsageError) as given:  # the call's argument: named as `renew --term` names it
        renew(ws, "C-2024-0001", term=0, dry_run=True)
    assert (given.value.message, given.value.hint) == ("--term is a positive number of months", "e.g. --term 12")
    with pytest.raises(UsageError) as filed:  # the contract's own renewal term
        renew(ws, "C-2024-0001", dry_run=True)
    assert filed.value.message == "the renewal term is a positive number of months"
    assert not FLAG.search(filed.value.message + filed.value.hint)
    assert renew(ws, "C-2024-0001", term=12, dry_run=True).data["end"] == "2025-12-31"
