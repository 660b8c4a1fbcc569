"""Facts defined once in core/ (terms, month arithmetic, money text) and the one rename-over write in store.

Each test pins what the single definition answers, so a second copy that drifts
(the old ``or "half-up"`` fallbacks) or a faster rewrite that changes a date
shows up here.
"""

from __future__ import annotations

import os
import stat
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, strategies as st

from cpqctl.core import billing, ledger
from cpqctl.core.model import Account, Contract, Segment, Settings
from cpqctl.core.money import rounded_money_str
from cpqctl.core.proration import add_months
from cpqctl.core.terms import contract_terms, tax_rate
from cpqctl.store import replace_file

D = Decimal


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), st.integers(-600, 600))
def test_add_months_is_relativedelta_months_clamped(d, k):
    assert add_months(d, k) == d + relativedelta(months=k)


def test_add_months_clamps_to_the_shorter_month_both_ways():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)
    assert add_months(date(2025, 12, 15), 1) == date(2026, 1, 15)
    assert add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)


def _contract(rounding: str | None, price: str = "10.125") -> Contract:
    """One one-time line whose value falls on a half cent: half-up 10.13, half-even 10.12."""
    line = Segment(id="C-1#1", product="SETUP", quantity=D(1), unit_price=D(price), start=date(2024, 1, 1), end=None)
    return Contract(
        contract="C-1",
        account="acme",
        currency="PLN",
        start=date(2024, 1, 1),
        end=date(2024, 12, 31),
        lines=(line,),
        billing_frequency="annual",
        rounding=rounding,
    )


def test_contract_terms_take_the_contracts_own_values_first():
    settings = Settings(proration="daily", rounding="half-even", billing_frequency="quarterly")
    bare = contract_terms(_contract(None), settings)
    assert (bare.proration, bare.rounding, bare.billing_frequency, bare.billing_months) == (
        "daily",
        "half-even",
        "annual",
        12,
    )
    assert contract_terms(_contract("half-up"), settings).rounding == "half-up"


def test_a_contract_without_rounding_follows_cpq_toml_in_its_value():
    half_even = Settings(rounding="half-even")
    assert ledger.tcv(_contract(None), half_even) == D("10.12")
    assert ledger.tcv(_contract(None), Settings(rounding="half-up")) == D("10.13")
    assert ledger.tcv(_contract("half-up"), half_even) == D("10.13")  # its own frozen rounding wins


def test_a_contract_without_rounding_follows_cpq_toml_on_its_invoices():
    """Net 10.00 at 10.25% VAT = 1.025: half-even 1.02, half-up 1.03."""

    def tax(c: Contract, settings: Settings) -> Decimal:
        lines = billing.due_lines(c, settings, date(2024, 1, 1), [])
        (draft,) = billing.drafts(c, None, settings, lines)
        assert draft.net_total == D("10.00")
        return draft.tax_total

    assert tax(_contract(None, "10.00"), Settings(rounding="half-even", tax_rate=D("10.25"))) == D("1.02")
    assert tax(_contract(None, "10.00"), Settings(rounding="half-up", tax_rate=D("10.25"))) == D("1.03")
    assert tax(_contract("half-up", "10.00"), Settings(rounding="half-even", tax_rate=D("10.25"))) == D("1.03")


def test_tax_rate_reverse_charge_then_account_then_settings():
    settings = Settings(tax_rate=D("23"))
    assert tax_rate(None, settings) == (D("23"), False)
    assert tax_rate(Account("a", "A", "PLN"), settings) == (D("23"), False)
    assert tax_rate(Account("a", "A", "PLN", tax_rate=D("8")), settings) == (D("8"), False)
    assert tax_rate(Account("a", "A", "EUR", tax_rate=D("8"), reverse_charge=True), settings) == (D(0), True)


def test_billing_refuses_an_evergreen_contract_billed_upfront():
    from cpqctl.core.diagnostics import CpqError

    c = Contract(
        contract="C-9", account="acme", currency="PLN", start=date(2024, 1, 1), end=None, lines=(), evergreen=True
    )
    with pytest.raises(CpqError, match="cannot be billed upfront"):
        billing.billing_terms(c, Settings(billing_frequency="upfront"))
    assert billing.billing_terms(c, Settings(billing_frequency="quarterly")).months == 3


def test_rounded_money_str_rounds_once_under_the_mode():
    assert rounded_money_str(Fraction(2025, 1000), "PLN", "half-up") == "2.03"
    assert rounded_money_str(Fraction(2025, 1000), "PLN", "half-even") == "2.02"
    assert rounded_money_str(Fraction(-1, 1000), "PLN", "half-up") == "0.00"  # never "-0.00"
    assert rounded_money_str(Fraction(12345, 10), "JPY", "half-up") == "1235"


def test_replace_file_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "x.json"
    target.write_bytes(b"old")
    replace_file(target, b"new", durable=False)
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_replace_file_failure_keeps_the_old_file_and_removes_the_temp(tmp_path):
    target = tmp_path / "x.json"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        replace_file(target, "not bytes", durable=True)  # type: ignore[arg-type]  # the write itself fails
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_replace_file_modes_private_for_documents_umask_for_caches(tmp_path):
    old = os.umask(0o022)
    try:
        replace_file(tmp_path / "doc.pdf", b"%PDF", durable=True, private=True)
        replace_file(tmp_path / "cache.json", b"{}", durable=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "doc.pdf").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "cache.json").stat().st_mode) == 0o644
