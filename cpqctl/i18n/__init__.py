"""Documents in the customer's language: one gettext catalogue per language (docs/languages.md).

The labels of quotes, invoices and statements live in ``locales/<lang>/LC_MESSAGES/cpqctl.po``
(``pl``, ``en``, ``de``), the format translators know; the message IDs are the English labels.
The catalogues are read with Babel at run time (no ``.mo`` compile step) and parsed once per
process. A document's language is one of :data:`LANGUAGES`; ``a+b`` is bilingual: every label
reads ``"<a> / <b>"`` ("Faktura / Invoice").

Only the words change with the language: numbers, money and dates keep the company's locale
(cpq.toml ``[company] locale``).
"""

from __future__ import annotations

import gettext
import os
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "BASE_LANGUAGES",
    "LANGUAGES",
    "LOCALES",
    "Translator",
    "catalogue_path",
    "fill",
    "join",
    "language_of",
    "locale_of",
    "messages",
    "split",
    "translator",
]

LOCALE_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "cpqctl"
BASE_LANGUAGES: tuple[str, ...] = ("pl", "en", "de")
LANGUAGES: tuple[str, ...] = ("pl", "en", "de", "pl+en", "pl+de", "en+de")
# The locale a language stands for where one is needed (Typst's hyphenation, a calendar's month names).
LOCALES: Mapping[str, str] = {"pl": "pl_PL", "en": "en_GB", "de": "de_DE"}
SOURCE_LANGUAGE = "en"  # the message IDs are English: a missing translation shows the ID
SEPARATOR = " / "  # between the two languages of a bilingual label

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


def catalogue_path(language: str) -> Path:
    """``locales/<language>/LC_MESSAGES/cpqctl.po`` of the package."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def split(language: str) -> tuple[str, ...]:
    """``"pl+en"`` → ``("pl", "en")``; a ValueError for a language without a catalogue."""
    parts = tuple(language.split("+")) if language else ()
    if not parts or len(parts) > 2 or any(p not in BASE_LANGUAGES for p in parts):
        known = ", ".join(LANGUAGES)
        raise ValueError(f"unknown document language {language!r} (known: {known})")
    return parts


def language_of(account: Any, settings: Any) -> str:
    """The language of a customer's documents: the account's, else cpq.toml's, else from the company locale.

    From the locale: ``pl_*`` → ``pl``, ``de_*`` → ``de``, anything else → ``en``.
    """
    from cpqctl.core.issuing import language

    return language(account, settings)


def locale_of(language: str) -> str:
    """``pl`` → ``pl_PL``, ``en`` → ``en_GB``, ``de`` → ``de_DE``; a bilingual language: its first language's."""
    return LOCALES[split(language)[0]]


# --- catalogues -----------------------------------------------------------------------------


class Messages:
    """One parsed catalogue: singular translations, plural translations and the plural rule."""

    __slots__ = ("plural", "plurals", "singular")

    def __init__(
        self, singular: dict[str, str], plurals: dict[str, tuple[str, ...]], plural: Callable[[int], int]
    ) -> None:
        self.singular = singular
        self.plurals = plurals
        self.plural = plural  # n → the index of the plural form (gettext's Plural-Forms)


def _parse(path: Path) -> Messages:
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        catalog = read_po(f, domain=DOMAIN)
    singular: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue  # the header, and guesses a translator has not confirmed
        if isinstance(message.id, tuple | list):
            forms = tuple(message.string or ())
            if forms and all(forms):
                plurals[message.id[0]] = forms
        elif isinstance(message.string, str) and message.string:
            singular[message.id] = message.string
    return Messages(singular, plurals, gettext.c2py(catalog.plural_expr or "(n != 1)"))


@lru_cache(maxsize=32)
def _parsed(path: str, stamp: tuple[int, int]) -> Messages:
    """A catalogue parsed once per process (and again when the file changes: ``stamp`` is mtime and size)."""
    return _parse(Path(path))


def _cached(path: Path) -> Messages:
    st = path.stat()
    return _parsed(str(path), (st.st_mtime_ns, st.st_size))


def _is_file(path: Path) -> bool:
    import stat

    try:
        return stat.S_ISREG(os.lstat(path).st_mode)  # a link is not followed: a repository is untrusted
    except OSError:
        return False


def messages(language: str, extra: Path | None = None) -> Messages:
    """The parsed catalogue of one base language; ``extra``: a folder of ``<language>.po`` files whose
    messages take precedence (a repository's overrides, ``templates/locales/``; a missing file is skipped)."""
    if language not in BASE_LANGUAGES:
        raise ValueError(f"no catalogue for {language!r}")
    base = _cached(catalogue_path(language))
    if extra is None or not _is_file(extra / f"{language}.po"):
        return base
    override = _cached(extra / f"{language}.po")
    return Messages({**base.singular, **override.singular}, {**base.plurals, **override.plurals}, base.plural)


# --- translation ----------------------------------------------------------------------------


def fill(text: str, values: Mapping[str, Any], escape: Callable[[str], str] = str) -> str:
    """``text`` with each ``%(name)s`` replaced by ``values[name]`` and ``%%`` by ``%``.

    ``escape`` is applied to the text between the placeholders (not to the values): the
    templates pass values escaped for the output language already.
    """
    out, pos = [], 0
    for m in _PLACEHOLDER.finditer(text):
        out.append(escape(text[pos : m.start()]))
        out.append(escape("%") if m.group(0) == "%%" else str(values[m.group(1)]))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def join(parts: list[str]) -> str:
    """The languages of one label side by side; one that reads the same in both is shown once ("VAT")."""
    return SEPARATOR.join(dict.fromkeys(parts))


class Translator:
    """The labels of one document language (see :func:`translator`)."""

    def __init__(self, language: str, extra: Path | None = None) -> None:
        self.language = language
        self.catalogues = [messages(lang, extra) for lang in split(language)]

    def texts(self, msgid: str) -> list[str]:
        """The translation of ``msgid`` in each language, placeholders unfilled (the English ID when missing)."""
        msgid = str(msgid)
        return [c.singular.get(msgid, msgid) for c in self.catalogues]

    def plural_texts(self, singular: str, plural: str, n: int) -> list[str]:
        """The form for ``n`` in each language (Polish has three: 1 miesiąc, 2 miesiące, 5 miesięcy)."""
        out = []
        for c in self.catalogues:
            forms = c.plurals.get(str(singular))
            if forms is None:
                out.append(str(singular) if n == 1 else str(plural))
            else:
                out.append(forms[min(c.plural(int(n)), len(forms) - 1)])
        return out

    def __call__(self, msgid: str, **values: Any) -> str:
        return join([fill(t, values) for t in self.texts(msgid)])

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        values = {"n": n, **values}
        return join([fill(t, values) for t in self.plural_texts(singular, plural, n)])


def translator(language: str, extra: Path | None = None) -> Translator:
    """``_(msgid, **values)`` for one document language: the translated label, ``%(name)s`` filled in.

    Bilingual (``pl+en``): ``"Faktura / Invoice"``. A message ID missing from a catalogue shows
    the English ID. ``_.ngettext(singular, plural, n)`` picks the plural form for ``n``
    (``%(n)s`` is ``n``). ``extra``: a folder of ``<language>.po`` overrides.
    """
    return Translator(language, extra)
