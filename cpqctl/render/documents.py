"""Quotes, invoices and statements as Markdown and PDF from Jinja templates (SPEC §7).

Templates are looked up in the repo's ``templates/`` folder first (a
per-repo override), then in the package's ``cpqctl/templates/``; a repo
template can extend the built-in one as ``builtin/<name>`` and replace only
some blocks. A repo's templates are untrusted input, so they run in Jinja's
immutable sandbox with ``StrictUndefined`` (a misspelt variable is an error,
not an empty cell).

Every ``{{ value }}`` is escaped for the output language by a ``finalize``
hook: Typst markup for ``.typ.j2`` (a customer called ``ACME #1 *Best*``
prints literally instead of running code or turning bold) and Markdown for
``.md.j2``. Text that already is markup in the output language (a macro's
output, ``|safe``) is a :class:`markupsafe.Markup` and passes unchanged;
Jinja's autoescape machinery is what keeps macro output marked that way.
(One caveat of borrowing it: ``{{ macro() ~ "text" }}`` HTML-escapes the
plain part; write ``{{ macro() }}{{ "text" }}`` instead.)

Filters bound to ``data["company"]["locale"]``: ``money(currency)``,
``number``, ``percent``, ``date``; ``typst_string`` makes a Typst string
literal for code positions (``#set text(lang: {{ lang|typst_string }})``).

Labels are translated into ``data["language"]`` (``"en"`` when the data has
none; ``pl+en`` is bilingual) by the global ``_("Label")`` and, for a count,
``_n("%(n)s month", "%(n)s months", n)`` (cpqctl/i18n, docs/languages.md);
``_lines("Label")`` puts the two languages of a bilingual label on two lines
(Typst table headers).
``_("Due %(date)s", date=value)`` fills placeholders: the label is escaped,
each value too unless it already is markup (a macro's output). A repository
can override labels in ``templates/locales/<language>.po``.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from cpqctl import i18n
from cpqctl.render import fmt
from cpqctl.render.pdf import DocumentError, PdfError

__all__ = [
    "DocumentError",
    "PdfError",
    "TemplateError",
    "escape_markdown",
    "escape_typst",
    "render_markdown",
    "render_pdf",
    "render_typst",
]

PACKAGE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
ASSETS_DIR = "assets"  # <repo>/templates/assets/** is copied into Typst's root
LOCALES_DIR = "locales"  # <repo>/templates/locales/<language>.po overrides labels of the built-in catalogues
DEFAULT_LANGUAGE = "en"  # the language of a document whose data names none
_LETTER_TERRITORIES = {"US", "CA", "MX", "PH", "CL", "CO", "VE"}


class TemplateError(DocumentError):
    """A template is missing, malformed, uses an undefined value or breaks the sandbox."""

    CODE = "E-TEMPLATE"


# --- escaping -------------------------------------------------------------------------

# Every ASCII character with a meaning in Typst markup (markers, comments, URLs,
# dashes, smart quotes), plus the dot and brackets that would continue a
# `#expression` written just before a value. A backslash before any of them
# prints the character itself.
_TYPST_SPECIAL = re.compile(r"([\\#$*_`<>@\[\]~\"'=\-+/.{}()])")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
# "1. " / "1) " / "- " / "+ " at the start: group 1 is kept, a backslash goes before group 2.
_MARKDOWN_LIST_START = re.compile(r"^(\d{1,9}(?=[.)](?:\s|$))|(?=[-+](?:\s|$)))(.)")
_LINE_BREAK = re.compile(r"[ \t]*[\r\n]+\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape_typst(text: str) -> str:
    """Text → Typst markup that prints exactly that text.

    Newlines become ``#linebreak()`` so a value never ends a heading or a
    list item early; other control characters are dropped.
    """
    lines = _CONTROL.sub("", str(text).replace("\t", " ").replace("\r", "")).split("\n")
    return "#linebreak()".join(_TYPST_SPECIAL.sub(r"\\\1", line) for line in lines)


def escape_markdown(text: str) -> str:
    """Text → Markdown that prints exactly that text, safe inside a GFM table cell.

    Line breaks collapse to one space: a table row (and a diff line) stays one line.
    """
    flat = _LINE_BREAK.sub(" ", _CONTROL.sub("", str(text).replace("\t", " ")))
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
    # A list marker at the start of a value would turn its line into a list item.
    return _MARKDOWN_LIST_START.sub(r"\1\\\2", escaped)


def typst_string(value: Any) -> Any:
    """A Typst string literal (``"a\\"b"``) for use in code positions."""
    from markupsafe import Markup

    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return Markup(f'"{_CONTROL.sub("", text)}"')


# --- environments ---------------------------------------------------------------------


@lru_cache(maxsize=64)
def _environment(repo_templates: Path | None, escape, locale: str, language: str = DEFAULT_LANGUAGE):
    """One sandboxed environment per (templates folder, output language, locale, document language).

    Cached so a run that renders many documents compiles each template once;
    Jinja still reloads a template whose file changed.
    """
    from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from markupsafe import Markup

    builtin = FileSystemLoader(str(PACKAGE_TEMPLATES))
    loaders = [_repo_loader(repo_templates)] if repo_templates is not None else []
    loaders += [builtin, PrefixLoader({"builtin": builtin})]

    def to_markup(value: Any) -> Markup:
        if hasattr(value, "__html__"):  # already markup in the output language
            return Markup(value)
        return Markup(escape("" if value is None else str(value)))

    def money_filter(value: Decimal, currency: str) -> str:
        return fmt.money(value, currency, locale)

    def number_filter(value: Decimal) -> str:
        return fmt.number(value, locale)

    def percent_filter(value: Decimal) -> str:
        return fmt.percent(value, locale)

    def date_filter(value: date) -> str:
        return fmt.date(value, locale)

    translate = i18n.translator(language, _repo_locales(repo_templates))

    def _fill(texts: list[str], values: dict) -> Any:
        if not values:  # a plain label: `finalize` escapes it like any value
            return i18n.join(texts)
        shown = {k: to_markup(v) for k, v in values.items()}
        return Markup(i18n.join([i18n.fill(t, shown, escape) for t in texts]))

    def gettext(msgid: str, **values: Any) -> Any:
        return _fill(translate.texts(msgid), values)

    def gettext_lines(msgid: str) -> str:  # bilingual: one language a line (narrow table headers, titles)
        return "\n".join(dict.fromkeys(translate.texts(msgid)))

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> Any:
        return _fill(translate.plural_texts(singular, plural, n), {"n": n, **values})

    env = ImmutableSandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        bytecode_cache=_bytecode_cache(),
        undefined=StrictUndefined,
        autoescape=True,  # keeps macro output marked as markup; `to_markup` does the escaping
        finalize=to_markup,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=money_filter,
        number=number_filter,
        percent=percent_filter,
        date=date_filter,
        e=to_markup,  # `|e` escapes for the output language, not for HTML
        escape=to_markup,
        typst_string=typst_string,
    )
    env.globals.update(_=gettext, _n=ngettext, _lines=gettext_lines)
    return env


@lru_cache(maxsize=1)
def _bytecode_cache():
    """Jinja's bytecode cache of the compiled templates, in the user's cache folder: compiling a template is about
    0.1–0.2 s of a command that renders one document (issue 21). Each entry is keyed by the template's name and
    file and checked against its source, so an edited template compiles again. Never in the repository: compiled
    code is code, and a repository's files are not trusted to hold any (its templates run sandboxed). Not used
    when the folder is not the user's own and private, cannot be made, or ``CPQ_TEMPLATE_CACHE=0``."""
    import os
    import stat
    import sys

    import jinja2

    if os.environ.get("CPQ_TEMPLATE_CACHE") == "0":
        return None
    from cpqctl._version import __version__

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    name = f"templates-{__version__}-jinja{jinja2.__version__}-py{sys.version_info[0]}{sys.version_info[1]}"
    folder = os.path.join(base, "cpqctl", name)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.stat(folder)
    except OSError:
        return None
    if (hasattr(os, "getuid") and st.st_uid != os.getuid()) or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None

    class _Cache(jinja2.FileSystemBytecodeCache):
        """A cache that fails quietly: an unreadable or unwritable entry compiles the template as without one."""

        def load_bytecode(self, bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except (OSError, ValueError, EOFError, TypeError):
                bucket.reset()

        def dump_bytecode(self, bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    return _Cache(folder)


def _repo_locales(repo_templates: Path | None) -> Path | None:
    """``templates/locales/`` of the repository when it is a real folder (a link is a :class:`TemplateError`)."""
    if repo_templates is None:
        return None
    return _real_path(repo_templates, [LOCALES_DIR], is_folder=True)


def _real_path(folder: Path, parts: list[str], is_folder: bool = False) -> Path | None:
    """``folder/parts…`` when ``folder`` and each part is a real folder, the last a regular file (``is_folder``: a
    folder too); None when something is missing.

    A symbolic link or another kind of file on the way is a :class:`TemplateError`: a repository's templates
    and assets are untrusted, and a link could reach any file of the machine (``/proc/self/environ``).
    """
    import os
    import stat

    path = folder
    for i in range(len(parts) + 1):
        path = folder.joinpath(*parts[:i])
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return None
        want_file = i == len(parts) and not is_folder
        if not (stat.S_ISREG(mode) if want_file else stat.S_ISDIR(mode)):
            shown = "/".join(["templates", *parts[:i]])
            kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a " + ("regular file" if want_file else "folder")
            raise TemplateError(f"{shown}: {kind}; templates and assets must be regular files in the repository")
    return path


def _repo_loader(folder: Path):
    """The Jinja loader of the repository's ``templates/``: regular files in real folders only, no link followed."""
    from jinja2 import FileSystemLoader, TemplateNotFound
    from jinja2.loaders import split_template_path

    class RepoLoader(FileSystemLoader):
        def get_source(self, environment, template):
            if _real_path(folder, split_template_path(template)) is None:
                raise TemplateNotFound(template)
            return super().get_source(environment, template)

    return RepoLoader(str(folder))


def _context(data: dict) -> dict:
    """The template's variables: ``data`` plus what the page setup needs from the locale."""
    from babel import Locale

    locale = Locale.parse(data["company"]["locale"])
    languages = i18n.split(str(data["language"])) if data.get("language") else ()
    # the words' language (hyphenation) when the data names one; numbers and dates keep the locale
    lang = languages[0] if languages else locale.language
    extra = {
        "lang": lang,
        "bilingual": len(languages) == 2,  # labels read "Faktura / Invoice"
        # Typst takes a two-letter region only (not UN M.49 codes like es_419's "419").
        "region": locale.territory if lang == locale.language and (locale.territory or "").isalpha() else "",
        "paper": "us-letter" if locale.territory in _LETTER_TERRITORIES else "a4",
    }
    return {**extra, **data}


def _render(kind: str, suffix: str, data: dict, repo_templates: Path | None, escape) -> str:
    """Render ``<kind>.<suffix>.j2``; every failure becomes a :class:`TemplateError`."""
    from jinja2 import TemplateNotFound, TemplateSyntaxError
    from jinja2.exceptions import SecurityError

    name = f"{kind}.{suffix}.j2"
    try:
        env = _environment(repo_templates, escape, data["company"]["locale"], data.get("language") or DEFAULT_LANGUAGE)
        return env.get_template(name).render(_context(data))
    except TemplateError:
        raise
    except TemplateNotFound as exc:
        raise TemplateError(f"template not found: {exc.name}") from None
    except TemplateSyntaxError as exc:
        where = f"{_shown(exc.filename, repo_templates) if exc.filename else exc.name or name}:{exc.lineno}"
        raise TemplateError(f"{where}: template syntax error: {exc.message}") from None
    except SecurityError as exc:
        where = _where(exc, repo_templates) or name
        raise TemplateError(f"{where}: not allowed in a template: {exc}") from None
    except Exception as exc:  # a template is a program: any failure of it is the template's error
        where = _where(exc, repo_templates) or name
        detail = getattr(exc, "message", None) or str(exc)
        raise TemplateError(f"{where}: {type(exc).__name__}: {detail}") from None


def _where(exc: BaseException, repo_templates: Path | None) -> str:
    """``file:line`` of the innermost template frame of a render error.

    Jinja rewrites tracebacks so that template frames carry the template's
    file name and line number.
    """
    found = ""
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = f"{_shown(filename, repo_templates)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _shown(filename: str, repo_templates: Path | None) -> str:
    """A template's path as the user knows it: ``templates/x.md.j2`` or ``builtin/x.md.j2``."""
    path = Path(filename)
    for folder, prefix in ((repo_templates, "templates"), (PACKAGE_TEMPLATES, "builtin")):
        if folder is not None and path.is_relative_to(folder):
            return f"{prefix}/{path.relative_to(folder).as_posix()}"
    return filename


# --- public interface -----------------------------------------------------------------


def render_markdown(kind: str, data: dict, repo_templates: Path | None) -> str:
    """The ``<kind>.md.j2`` document for ``data`` as Markdown text."""
    return _render(kind, "md", data, repo_templates, escape_markdown)


def render_text(kind: str, data: dict, repo_templates: Path | None) -> str:
    """The ``<kind>.txt.j2`` template for ``data`` as plain text (an e-mail body: nothing is escaped)."""
    return _render(kind, "txt", data, repo_templates, str)


def render_typst(kind: str, data: dict, repo_templates: Path | None) -> str:
    """The ``<kind>.typ.j2`` document for ``data`` as Typst source (for debugging templates)."""
    return _render(kind, "typ", data, repo_templates, escape_typst)


def render_pdf(kind: str, data: dict, repo_templates: Path | None, as_of: date, standard: str | None = None) -> bytes:
    """The ``<kind>.typ.j2`` document typeset to PDF; ``as_of`` is its creation date; ``standard`` a PDF standard
    (``"a-3b"``) Typst checks and declares.

    Files under ``<repo_templates>/assets/`` (a logo, say) are the only files
    the Typst source can read, as ``assets/<name>``.
    """
    from cpqctl.render.pdf import typst_to_pdf

    source = render_typst(kind, data, repo_templates)
    return typst_to_pdf(source, _assets(repo_templates), as_of, standard)


def _assets(repo_templates: Path | None) -> dict[str, bytes]:
    """Every file under ``templates/assets/``; a link (or another kind of file) there is a :class:`TemplateError`,
    never followed nor skipped unseen."""
    import os

    if repo_templates is None or not os.path.lexists(repo_templates / ASSETS_DIR):
        return {}
    _real_path(repo_templates, [ASSETS_DIR], is_folder=True)
    out: dict[str, bytes] = {}
    pending = [[ASSETS_DIR]]
    while pending:
        parts = pending.pop()
        for entry in sorted(os.scandir(repo_templates.joinpath(*parts)), key=lambda e: e.name):
            rel = [*parts, entry.name]
            if entry.is_dir(follow_symlinks=False):
                pending.append(rel)
            else:
                path = _real_path(repo_templates, rel)
                if path is not None:
                    out["/".join(rel)] = path.read_bytes()
    return out
