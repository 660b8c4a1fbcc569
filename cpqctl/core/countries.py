"""Countries of the parties to an invoice, and their tax IDs (docs/tax-ids.md).

Pure functions over records and text, no IO: which country a seller or buyer is
in (the VAT code of an invoice depends on it: a domestic rate, EU reverse charge
or ``np.``), whether a country is an EU member state, and whether a tax ID is
well formed with a valid checksum (python-stdnum).

Countries are ISO 3166-1 alpha-2 codes in upper case (``PL``, ``DE``, ``CH``);
"" means unknown. Greece's VAT IDs start with ``EL``: :func:`country_of_tax_id`
turns that prefix into ``GR``, and :func:`is_eu` takes both.
"""

from __future__ import annotations

import re
from decimal import Decimal

from cpqctl.core.model import Account, Settings

# The 27 member states of the European Union (as of 2026), ISO 3166-1 alpha-2.
_EU = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
EU_MEMBER_STATES = frozenset(_EU.split())
# VAT ID prefixes that are not the country's ISO code (Directive 2006/112 art. 215: Greece uses EL).
VAT_PREFIXES = {"EL": "GR"}
_ISO_TO_VAT_PREFIX = {v: k for k, v in VAT_PREFIXES.items()}

_PREFIX = re.compile(r"\s*([A-Za-z]{2})")


def country_of_tax_id(tax_id: str) -> str:
    """The country a tax ID's two-letter prefix names, else "".

    ``"DE811234565"`` → ``"DE"``, ``"EL094259216"`` → ``"GR"``, ``"CHE-123.456.788"`` → ``"CH"``,
    ``"725-123-45-61"`` (a NIP without its prefix) → ``""``.
    """
    m = _PREFIX.match(tax_id or "")
    if m is None or len(tax_id.strip()) <= 2:
        return ""
    prefix = m.group(1).upper()
    return VAT_PREFIXES.get(prefix, prefix)


def seller_country(settings: Settings) -> str:
    """The seller's country: cpq.toml [company] country, else its tax ID's prefix, else the locale's territory."""
    if settings.company_country:
        return settings.company_country.strip().upper()
    return country_of_tax_id(settings.company_tax_id) or territory(settings.locale)


def buyer_country(account: Account | None) -> str:
    """A customer's country: the account's ``country:``, else its tax ID's prefix, else "" (unknown)."""
    if account is None:
        return ""
    if account.country:
        return account.country.strip().upper()
    return country_of_tax_id(account.tax_id)


def is_eu(code: str) -> bool:
    """Whether ``code`` (ISO 3166-1 alpha-2, or Greece's VAT prefix ``EL``) is an EU member state."""
    c = (code or "").strip().upper()
    return VAT_PREFIXES.get(c, c) in EU_MEMBER_STATES


# The standard VAT rate of the countries `cpqctl init` knows, percent points (as of 2026; SK 23% from 2025,
# CH 8.1% from 2024). A new repository's [tax] rate; every other country is asked for one (`--tax-rate`).
STANDARD_VAT_RATES = {
    "PL": Decimal("23"),
    "DE": Decimal("19"),
    "FR": Decimal("20"),
    "AT": Decimal("20"),
    "CZ": Decimal("21"),
    "SK": Decimal("23"),
    "NL": Decimal("21"),
    "IT": Decimal("22"),
    "ES": Decimal("21"),
    "SE": Decimal("25"),
    "GB": Decimal("20"),
    "CH": Decimal("8.1"),
}


def standard_vat_rate(country: str) -> Decimal | None:
    """The standard VAT rate of ``country`` in percent points (``PL`` → 23), None when not known here."""
    c = (country or "").strip().upper()
    return STANDARD_VAT_RATES.get(VAT_PREFIXES.get(c, c))


def territory(locale: str) -> str:
    """The territory of a locale (``pl_PL`` → ``PL``, ``de-AT`` → ``AT``; ``pl`` → "")."""
    parts = re.split(r"[_-]", (locale or "").split(".")[0].split("@")[0])
    return next((p.upper() for p in parts[1:] if len(p) == 2 and p.isalpha()), "")


NIP_FORM = "a Polish NIP: 10 digits, the last one a checksum, PL prefix optional, e.g. PL7251234561 or 725-123-45-61"
UID_FORM = "a Swiss UID: CHE and 9 digits, the last one a checksum, e.g. CHE-123.456.788 (MWST/TVA/IVA optional)"


_EU_EXAMPLES = {"DE": "DE811234565", "FR": "FR40303265045", "AT": "ATU13585627", "NL": "NL004495445B01"}


def _eu_form(country: str) -> str:
    prefix = _ISO_TO_VAT_PREFIX.get(country, country)
    example = f", e.g. {_EU_EXAMPLES[country]}" if country in _EU_EXAMPLES else ""
    return f"an EU VAT ID of {country}: {prefix} and the national number with its checksum{example}"


def validate_tax_id(tax_id: str, country: str = "") -> tuple[bool | None, str, str]:
    """Whether ``tax_id`` is a well-formed tax ID with a valid checksum: ``(ok, normalized, expected_form)``.

    The scheme comes from the ID's own prefix, else from ``country`` (the party's country): a Polish NIP
    (``stdnum.pl.nip``: with or without ``PL``, dashes and spaces allowed), another EU member state's VAT ID
    (``stdnum.eu.vat``), a Swiss UID or VAT number (``stdnum.ch.uid`` / ``stdnum.ch.vat``). ``ok`` is None
    when the ID is empty or of a country whose IDs are not validated (then ``normalized`` is the text
    stripped and ``expected_form`` empty).

    ``normalized`` is the compact form with its country prefix (``PL7251234561``, ``DE811234565``,
    ``CHE123456788``) when valid, else the text stripped; ``expected_form`` describes the scheme's IDs for
    a hint.
    """
    text = (tax_id or "").strip()
    if not text:
        return None, "", ""
    prefix = country_of_tax_id(text)
    scheme = prefix or VAT_PREFIXES.get(country.strip().upper(), country.strip().upper())
    if scheme == "PL":
        from stdnum.pl import nip

        if nip.is_valid(text):
            return True, "PL" + nip.compact(text), NIP_FORM
        return False, text, NIP_FORM
    if scheme == "CH":
        from stdnum.ch import uid, vat as ch_vat

        if uid.is_valid(text):
            return True, uid.compact(text), UID_FORM
        if ch_vat.is_valid(text):
            return True, ch_vat.compact(text), UID_FORM
        return False, text, UID_FORM
    if scheme in EU_MEMBER_STATES:
        from stdnum.eu import vat

        with_prefix = text if prefix else _ISO_TO_VAT_PREFIX.get(scheme, scheme) + text
        if vat.is_valid(with_prefix):
            return True, vat.compact(with_prefix), _eu_form(scheme)
        return False, text, _eu_form(scheme)
    return None, text, ""


def validate_iban(text: str) -> tuple[bool, str]:
    """Whether ``text`` is an IBAN with valid check digits (``stdnum.iban``): ``(ok, formatted)``.

    ``formatted`` is the IBAN in groups of four (``PL61 1090 1014 …``) when valid, else the text stripped.
    """
    from stdnum import iban

    t = (text or "").strip()
    return (True, iban.format(t)) if t and iban.is_valid(t) else (False, t)
