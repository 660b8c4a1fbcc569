"""The files of a new data repository (`cpqctl init`): cpq.toml, a starter catalog, the .gitignore line."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

GITIGNORE_LINE = ".cpq/\n"  # the lock, the journal and the parse cache never reach a commit
# a temp file a crash left (cpqctl's all end in `.cpqtmp`, store.TEMP_SUFFIX; `*` after it: SQLite's `-journal`)
GITIGNORE_TEMPS = "*.cpqtmp*\n"
GITIGNORE_OUT = "out/\n"  # rendered documents: made again from the data at any time, not data themselves
GITIGNORE = GITIGNORE_LINE + GITIGNORE_TEMPS + GITIGNORE_OUT  # the .gitignore of a new repository


STARTER_CATALOG = """\
# yaml-language-server: $schema=../schemas/catalog.schema.json
# Your product catalog. Prices are per `per` (month, quarter or year), exact decimals.
products:
  - code: SEAT
    name: User seat
    family: License
    type: subscription
    per: year
    price: {{{cur}: 600.00}}
    discount_schedule: SEAT-VOLUME
  - code: SSO
    name: Single sign-on add-on
    family: Add-on
    type: subscription
    per: month
    price: {{{cur}: 100.00}}
    requires: [SEAT]
  - code: ONBOARDING
    name: Onboarding package
    type: one-time
    price: {{{cur}: 2000.00}}

discount_schedules:
  - code: SEAT-VOLUME
    type: range
    tiers:
      - {{from: 1, discount: 0%}}
      - {{from: 25, discount: 10%}}
      - {{from: 100, discount: 20%}}
"""


def settings_toml(
    name: str,
    currency: str,
    locale: str,
    *,
    tax_rate: Decimal = Decimal(0),
    country: str = "",
    tax_id: str = "",
    address: str = "",
    bank_account: str = "",
    bank_accounts: Mapping[str, str] | None = None,
) -> str:
    """cpq.toml of a new repository: the seller (``country`` and [company.bank_accounts] only when given), the
    VAT rate in percent points, and the defaults."""
    import tomli_w

    from cpqctl.core.money import fmt_percent

    company: dict[str, object] = {
        "name": name,
        "address": address,
        "tax_id": tax_id,
        "bank_account": bank_account,
        "locale": locale,
        "currency": currency,
    }
    if country:
        company["country"] = country
    if bank_accounts:
        company["bank_accounts"] = dict(bank_accounts)
    data = {
        "company": company,
        "pricing": {"proration": "monthly+daily", "rounding": "half-up", "quote_valid_days": 30},
        "billing": {"frequency": "annual", "payment_days": 14},
        "renewal": {"pricing": "same", "uplift": "0%", "notice_days": 90},
        "approvals": {"max_discount": "20%"},
        "tax": {"rate": fmt_percent(tax_rate)},
        "numbering": {
            "quote": "Q-{year}-{seq:04d}",
            "contract": "C-{year}-{seq:04d}",
            "invoice": "INV-{year}-{seq:04d}",
        },
    }
    return "# cpqctl settings: see `cpqctl schema cpq` for every key\n" + tomli_w.dumps(data) + SMTP_HINT


# `invoice send` needs a mail server; commented out so that a new repository checks clean without one.
SMTP_HINT = """
# E-mailing invoices (`cpqctl invoice send`): fill in and uncomment.
# [smtp]
# host = "smtp.example.com"
# port = 587
# starttls = true
# user = "billing@example.com"
# password_env = "CPQ_SMTP_PASSWORD"   # the environment variable holding the password
# from = "Billing <billing@example.com>"
"""


def starter_catalog(currency: str) -> str:
    """catalog/products.yaml of a new repository: three products and a volume discount, priced in ``currency``."""
    return STARTER_CATALOG.format(cur=currency)


def gitignore_addition(text: str) -> str | None:
    """What to append to an existing .gitignore so that it ignores ``.cpq/`` and cpqctl's temp files (None when it
    already does)."""
    lines = {ln.strip() for ln in text.splitlines()}
    missing = "" if {".cpq", ".cpq/", "/.cpq", "/.cpq/"} & lines else GITIGNORE_LINE
    missing += "" if GITIGNORE_TEMPS.strip() in lines else GITIGNORE_TEMPS
    if not missing:
        return None
    return ("\n" if text and not text.endswith("\n") else "") + missing


# Which schema each data file follows, for VS Code's YAML extension (redhat.vscode-yaml): a mapping in the
# editor's settings, so no file needs a modeline — a line added to an accepted quote or an issued invoice
# would break its digest. Paths relative to the workspace folder (the repository); `!` excludes.
VSCODE_SCHEMAS = {
    "./schemas/catalog.schema.json": ["catalog/*.yaml"],
    "./schemas/account.schema.json": ["contracts/*/account.yaml"],
    "./schemas/contract.schema.json": ["contracts/*/*.yaml", "!contracts/*/account.yaml"],
    "./schemas/quote.schema.json": ["quotes/*.yaml"],
    "./schemas/invoice.schema.json": ["invoices/*.yaml"],
}


def vscode_settings() -> str:
    """.vscode/settings.json of a new repository: the YAML language server's schema mapping."""
    import json

    return json.dumps({"yaml.schemas": VSCODE_SCHEMAS}, indent=2) + "\n"
