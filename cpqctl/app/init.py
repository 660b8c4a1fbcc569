"""Create a new data repository: cpq.toml, a starter catalog, the folders and a .gitignore (texts in
:mod:`cpqctl.formats.init`).

A folder may already hold files (a git checkout, a catalog): they are kept and
only what is missing is added, in one transaction. A folder that already holds
a repository is refused.

The seller's details given as options (tax ID, address, bank accounts) go to
cpq.toml [company], validated first (a tax ID's checksum, an IBAN's check
digits: docs/tax-ids.md); the VAT rate is the country's standard rate unless
given. The cpq.toml written is parsed and checked as `cpqctl check` would
before the transaction commits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from cpqctl.core import countries
from cpqctl.core.diagnostics import CpqError, Diagnostic, UsageError

TAX_RATE_UNKNOWN = "W-TAX-RATE"  # init knows no standard VAT rate for the country: [tax] rate = 0%


@dataclass(frozen=True)
class InitResult:
    root: Path
    written: tuple[str, ...]  # repository-relative paths created or appended to
    message: str
    warnings: tuple[str, ...] = ()  # `warning[CODE]: …` lines for the user (an unknown VAT rate, no seller NIP)
    country: str = ""  # the seller's country the VAT rate was chosen by ("" : unknown)
    tax_rate: Decimal = Decimal(0)  # cpq.toml [tax] rate written, percent points


def init(
    directory: Path | None = None,
    *,
    name: str = "My Company",
    currency: str = "USD",
    locale: str = "en_US",
    git: bool = True,
    country: str = "",
    tax_id: str = "",
    address: str = "",
    bank_accounts: Sequence[str] = (),
    tax_rate: str | None = None,
) -> InitResult:
    """Create the repository in ``directory`` (default: the current folder), for ``name`` in ``currency``.

    The JSON Schemas go to ``schemas/`` (the starter catalog's editor modeline points there, so it resolves
    offline); with ``git`` (default), a folder that is not yet inside a git work tree becomes one (`git init`),
    when git is installed — contracts as files in git is the point.

    ``country`` (ISO 3166 alpha-2; default: ``tax_id``'s prefix, else ``locale``'s territory) picks the VAT
    rate when ``tax_rate`` (``"23%"``) is not given: its standard rate, else 0% with a warning. ``tax_id``
    (validated: :func:`cpqctl.core.countries.validate_tax_id`), ``address`` and ``bank_accounts`` (each
    ``CUR=IBAN``, or an IBAN of the company currency; validated) go to cpq.toml [company]. A bad option is
    refused (UsageError) before anything is written.
    """
    from cpqctl.app.checking import schema_texts
    from cpqctl.formats import init as texts

    target = (directory or Path(".")).resolve()
    if target.exists() and not target.is_dir():
        raise UsageError("E-USAGE", f"{target} is a file, not a folder", "pick a folder for the repository")
    if (target / "cpq.toml").exists():
        raise CpqError(
            "E-EXISTS",
            f"{target} already holds a cpqctl repository (cpq.toml)",
            "pick another folder; nothing was changed",
        )
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise UsageError("E-USAGE", f"`{currency}` is not a currency code", "e.g. --currency EUR")
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(locale)
    except (ValueError, UnknownLocaleError):
        raise UsageError("E-USAGE", f"`{locale}` is not a known locale", "e.g. --locale en_US") from None
    seller = _seller(currency, locale, country=country, tax_id=tax_id, address=address, bank_accounts=bank_accounts)
    rate, warnings = _tax_rate(seller["country"], tax_rate)
    settings_text = texts.settings_toml(
        name,
        currency,
        locale,
        tax_rate=rate,
        country=seller["country"] if country else "",
        tax_id=seller["tax_id"],
        address=address.strip(),
        bank_account=seller["bank_account"],
        bank_accounts=seller["bank_accounts"],
    )
    from cpqctl.store import Store

    target.mkdir(parents=True, exist_ok=True)
    store = Store(target)
    written = []
    found: list[Diagnostic] = []
    store.validator = lambda files: found.extend(_check_settings(files.get("cpq.toml") or b""))
    with store.lock(), store.transaction() as tx:
        tx.create("cpq.toml", settings_text)
        written.append("cpq.toml")
        if not (target / "catalog").is_dir() or not any((target / "catalog").glob("*.yaml")):
            tx.create("catalog/products.yaml", texts.starter_catalog(currency))
            written.append("catalog/products.yaml")
        for schema_name, schema in schema_texts().items():
            if not (target / "schemas" / schema_name).exists():
                tx.create(f"schemas/{schema_name}", schema)
                written.append(f"schemas/{schema_name}")
        if not (target / ".vscode" / "settings.json").exists():
            tx.create(".vscode/settings.json", texts.vscode_settings())
            written.append(".vscode/settings.json")
        for d in ("contracts", "quotes", "invoices"):
            if not (target / d).exists():
                tx.create(f"{d}/.gitkeep", "")
                written.append(f"{d}/.gitkeep")
        ignore = target / ".gitignore"
        if not ignore.exists():
            tx.create(".gitignore", texts.GITIGNORE)
            written.append(".gitignore")
        else:
            addition = texts.gitignore_addition(ignore.read_text(encoding="utf-8", errors="replace"))
            if addition is not None:
                tx.append(".gitignore", addition)
                written.append(".gitignore")
    made_git = git and _git_init(target)
    warnings += [f"warning[{d.code}]: {d.message}" + (f"\n  = hint: {d.hint}" if d.hint else "") for d in found]
    return InitResult(
        target,
        tuple(written),
        f"created a cpqctl repository in {target}" + (" (and a git repository: `git init`)" if made_git else "") + "\n"
        "next: add an account under contracts/<id>/account.yaml, then `cpqctl quote new`; "
        "`cpqctl check` validates everything",
        tuple(warnings),
        seller["country"],
        rate,
    )


def _seller(
    currency: str, locale: str, *, country: str, tax_id: str, address: str, bank_accounts: Sequence[str]
) -> dict:
    """The seller's country, tax ID and bank accounts from the options, validated (UsageError on a bad one)."""
    c = country.strip().upper()
    if c and not re.fullmatch(r"[A-Z]{2}", c):
        raise UsageError("E-USAGE", f"`{country}` is not a country code", "two letters (ISO 3166), e.g. --country PL")
    tid = tax_id.strip()
    c = c or countries.country_of_tax_id(tid) or countries.territory(locale)
    if tid:
        ok, _, form = countries.validate_tax_id(tid, c)
        if ok is False:
            raise UsageError(
                "E-TAX-ID", f"`{tax_id}` is not a valid tax ID (wrong length or checksum)", f"expected {form}"
            )
    plain = ""
    others: dict[str, str] = {}
    for entry in bank_accounts:
        cur, sep, number = entry.partition("=")
        cur, number = (cur.strip().upper(), number) if sep else (currency, entry)
        if not re.fullmatch(r"[A-Z]{3}", cur):
            raise UsageError(
                "E-USAGE", f"`{entry}`: `{cur}` is not a currency code", "--bank-account EUR=IBAN, or a plain IBAN"
            )
        ok, formatted = countries.validate_iban(number)
        if not ok:
            raise UsageError(
                "E-IBAN",
                f"`{number.strip()}` is not a valid IBAN (wrong length or check digits)",
                "an IBAN: country code, 2 check digits and the account number, e.g. PL61 1090 1014 0000 0712 1981 2874",
            )
        if (cur == currency and plain) or cur in others:
            raise UsageError("E-USAGE", f"two bank accounts for {cur}", "give one --bank-account per currency")
        if cur == currency:
            plain = formatted
        else:
            others[cur] = formatted
    return {"country": c, "tax_id": tid, "bank_account": plain, "bank_accounts": dict(sorted(others.items()))}


def _tax_rate(country: str, given: str | None) -> tuple[Decimal, list[str]]:
    """The [tax] rate (percent points): ``given`` (``"23%"``), else the country's standard rate, else 0%."""
    from cpqctl.core.money import MoneyError, parse_percent

    if given is not None:
        try:
            rate = parse_percent(given)
        except MoneyError:
            raise UsageError("E-USAGE", f"`{given}` is not a percentage", "e.g. --tax-rate 23%") from None
        if not 0 <= rate <= 100:
            raise UsageError("E-USAGE", f"a VAT rate of {given}?", "between 0% and 100%, e.g. --tax-rate 23%")
        return rate, []
    standard = countries.standard_vat_rate(country)
    if standard is not None:
        return standard, []
    return Decimal(0), [
        f"warning[{TAX_RATE_UNKNOWN}]: no standard VAT rate known for "
        + (f"country {country}" if country else "an unknown country")
        + ": cpq.toml [tax] rate is 0%\n  = hint: set [tax] rate in cpq.toml, or pass --tax-rate (and --country)"
    ]


def _check_settings(data: bytes) -> list[Diagnostic]:
    """The findings of `cpqctl check` on a repository holding only this cpq.toml; an error refuses the commit."""
    import tempfile

    from cpqctl.core.checks import run_checks
    from cpqctl.core.model import Catalog, Repo
    from cpqctl.load.repo import load_settings

    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "cpq.toml").write_bytes(data)
        settings, diags = load_settings(Path(scratch))
    found = sorted(diags + run_checks(Repo(settings, Catalog())))  # type: ignore[arg-type]
    errors = [d for d in found if d.severity == "error"]
    if errors:
        raise CpqError(
            "E-SETTINGS",
            "the cpq.toml `init` would write does not check clean: "
            + "; ".join(f"{d.code} at line {d.line}: {d.message}" for d in errors),
            "nothing was written; this is a bug of cpqctl init unless an option gave a value cpq.toml refuses",
            diagnostics=tuple(errors),
        )
    return found


def _git_init(target: Path) -> bool:
    """`git init` in ``target`` unless it already is inside a work tree or git is missing; whether it ran."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        return False
    inside = subprocess.run(
        ["git", "-C", str(target), "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True
    )
    if inside.returncode == 0 and inside.stdout.strip() == "true":
        return False
    made = subprocess.run(["git", "-C", str(target), "init", "-q"], capture_output=True, text=True)
    return made.returncode == 0
