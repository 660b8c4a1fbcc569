"""`cpqctl init`: scaffold a data repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cpqctl.cli import common
from cpqctl.core.diagnostics import CpqError, UsageError

STARTER_CATALOG = """\
# yaml-language-server: $schema=https://cpqctl.dev/schema/catalog.schema.json
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


def settings_toml(name: str, currency: str, locale: str) -> str:
    import tomli_w

    data = {
        "company": {"name": name, "address": "", "tax_id": "", "bank_account": "", "locale": locale,
                    "currency": currency},
        "pricing": {"proration": "monthly+daily", "rounding": "half-up", "quote_valid_days": 30},
        "billing": {"frequency": "annual", "payment_days": 14},
        "renewal": {"pricing": "same", "uplift": "0%", "notice_days": 90},
        "approvals": {"max_discount": "20%"},
        "tax": {"rate": "0%"},
        "numbering": {"quote": "Q-{year}-{seq:04d}", "contract": "C-{year}-{seq:04d}",
                      "invoice": "INV-{year}-{seq:04d}"},
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


def init(
    directory: Annotated[Optional[Path], typer.Argument(help="Where to create the repository (default: here).")] = None,
    name: Annotated[str, typer.Option("--name", help="Your company's name.")] = "My Company",
    currency: Annotated[str, typer.Option("--currency", help="Company currency (ISO 4217).")] = "USD",
    locale: Annotated[str, typer.Option("--locale", help="Locale for documents, e.g. en_US or pl_PL.")] = "en_US",
) -> None:
    """Create a new data repository: cpq.toml, a starter catalog, folders, .gitignore.

    Example:

      cpqctl init my-contracts --name "Example Software" --currency EUR --locale de_DE
    """
    import re

    target = (directory or Path(".")).resolve()
    if target.exists() and not target.is_dir():
        raise UsageError("E-USAGE", f"{target} is a file, not a folder", "pick a folder for the repository")
    if (target / "cpq.toml").exists():
        raise CpqError("E-EXISTS", f"{target} already holds a cpqctl repository (cpq.toml)",
                       "pick another folder; nothing was changed")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise UsageError("E-USAGE", f"`{currency}` is not a currency code", "e.g. --currency EUR")
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(locale)
    except (ValueError, UnknownLocaleError):
        raise UsageError("E-USAGE", f"`{locale}` is not a known locale", "e.g. --locale en_US") from None
    from cpqctl.store import Store

    target.mkdir(parents=True, exist_ok=True)
    store = Store(target)
    # a folder may already hold files (a git checkout, a catalog): keep them, add only what is missing
    with store.lock(), store.transaction() as tx:
        tx.create("cpq.toml", settings_toml(name, currency, locale))
        if not (target / "catalog").is_dir() or not any((target / "catalog").glob("*.yaml")):
            tx.create("catalog/products.yaml", STARTER_CATALOG.format(cur=currency))
        for d in ("contracts", "quotes", "invoices"):
            if not (target / d).exists():
                tx.create(f"{d}/.gitkeep", "")
        ignore = target / ".gitignore"
        if not ignore.exists():
            tx.create(".gitignore", ".cpq/\n")
        else:
            text = ignore.read_text(encoding="utf-8", errors="replace")
            if not {".cpq", ".cpq/", "/.cpq", "/.cpq/"} & {ln.strip() for ln in text.splitlines()}:
                tx.append(".gitignore", ("\n" if text and not text.endswith("\n") else "") + ".cpq/\n")
    common.info(f"created a cpqctl repository in {target}\n"
                "next: add an account under contracts/<id>/account.yaml, then `cpqctl quote new`; "
                "`cpqctl check` validates everything")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
