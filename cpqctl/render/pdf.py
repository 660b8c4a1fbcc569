"""Typst source → PDF bytes, sandboxed and byte-for-byte reproducible (SPEC §7).

A repo's templates are untrusted input, so the Typst compiler sees:

- a root folder made fresh for each render, holding only the source and the
  assets it was given (Typst resolves every path, absolute ones too, inside
  its root, so nothing else on disk is readable);
- only the fonts embedded in the typst wheel (no system fonts: the output
  must not depend on the machine);
- no packages. Typst downloads ``@preview`` packages on first use and offers
  no switch to forbid it, so a package spec written in the source is refused
  before compiling, and during the compile the HTTPS proxy variables (which
  typst's downloader honours) point at a closed local port, so even a spec
  assembled at run time cannot reach the network.

The PDF's creation date is ``as_of`` (midnight UTC), so the same inputs give
the same bytes.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

from cpqctl.core.diagnostics import CpqError

MAIN = "main.typ"

# A package spec in a string literal: "@preview/name:1.0.0", "@local/x:0.1.0".
_PACKAGE_RE = re.compile(r"\"@[A-Za-z0-9_-]+/")
# Nothing listens on port 9 (discard) of the loopback: connections are refused at once.
_DEAD_PROXY = "http://127.0.0.1:9"
_PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
_NO_PROXY_VARS = ("no_proxy", "NO_PROXY")
_env_lock = threading.Lock()
# The throwaway root as Typst prints it, absolute or relative to the working directory.
_ROOT_PATH_RE = re.compile(r"[^\s()]*cpq-typst-[^/\\\s]+[/\\]root[/\\]")


class DocumentError(CpqError, ValueError):
    """A document could not be rendered; the message says where and why.

    A refusal like any other (:class:`~cpqctl.core.diagnostics.CpqError`, exit 1 on the CLI): a
    template is repository content, and a broken one is the user's to fix, never a bug of cpqctl.
    """

    CODE = "E-TEMPLATE"  # never raised itself: TemplateError and PdfError are
    HINT = "fix the template named in the message (templates/ in the repository), or remove it to use the built-in one"

    def __init__(self, message: str):
        super().__init__(self.CODE, message, self.HINT)


class PdfError(DocumentError):
    """Typst refused the source (syntax, missing asset, forbidden package, ...)."""

    CODE = "E-PDF"


def typst_to_pdf(source: str, assets: dict[str, bytes] | None, as_of: date, standard: str | None = None) -> bytes:
    """Compile Typst ``source`` to PDF bytes.

    ``assets`` maps relative POSIX paths (``"logo.png"``, ``"img/seal.svg"``)
    to file contents the source may use (``#image("logo.png")``). ``standard``: a PDF standard Typst checks and
    declares, e.g. ``"a-3b"`` (PDF/A-3b, the base of a Factur-X invoice: docs/einvoicing.md).
    """
    if _PACKAGE_RE.search(source):
        raise PdfError(
            "package imports are not allowed in document templates "
            '(found a "@namespace/..." package spec); copy what you need into the template'
        )
    import typst

    with tempfile.TemporaryDirectory(prefix="cpq-typst-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        _write_assets(root, assets or {})
        (root / MAIN).write_text(source, encoding="utf-8")
        empty = Path(tmp) / "no-packages"
        empty.mkdir()
        stamp = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
        try:
            with _network_closed():
                pdf = typst.compile(
                    str(root / MAIN),
                    root=str(root),
                    font_paths=[],
                    ignore_system_fonts=True,
                    package_path=str(empty),
                    package_cache_path=str(empty),
                    timestamp=stamp,
                    format="pdf",
                    pdf_standards=_standards(standard),
                )
        except typst.TypstError as exc:
            raise PdfError(_describe(exc)) from None
    return pdf


def _standards(standard: str | None):
    """The ``pdf_standards`` argument of ``typst.compile``: none, or the one named (Typst refuses an unknown one)."""
    if standard is None:
        return []
    if standard != "a-3b":
        raise ValueError(f"unsupported PDF standard {standard!r}")
    return ["a-3b"]


def _write_assets(root: Path, assets: dict[str, bytes]) -> None:
    for name, content in sorted(assets.items()):
        rel = PurePosixPath(name)
        if rel.is_absolute() or not rel.parts or ".." in rel.parts or rel.as_posix() == MAIN:
            raise PdfError(f"invalid asset name {name!r}: use a relative path inside the templates folder")
        target = root.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


@contextmanager
def _network_closed() -> Iterator[None]:
    """Point typst's package downloader at a closed port for the duration of a compile."""
    names = _PROXY_VARS + _NO_PROXY_VARS
    with _env_lock:
        saved = {name: os.environ.get(name) for name in names}
        try:
            for name in _PROXY_VARS:
                os.environ[name] = _DEAD_PROXY
            for name in _NO_PROXY_VARS:
                os.environ.pop(name, None)
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _describe(exc: Exception) -> str:
    """Typst's diagnostic (with its numbered excerpt of the source) and hints.

    Paths inside the throwaway root are shown relative to it (``main.typ:3:7``),
    so the message is the same on every run.
    """
    message = str(getattr(exc, "message", "") or exc).strip()
    if "failed to download package" in message:
        return f"package imports are not allowed in document templates ({_relative(message)})"
    diagnostic = str(getattr(exc, "diagnostic", "") or "").strip()
    text = _relative(diagnostic or message)
    hints = [hint for hint in getattr(exc, "hints", None) or [] if hint not in text]
    return "\n".join([text, *(f"hint: {hint}" for hint in hints)])


def _relative(text: str) -> str:
    return _ROOT_PATH_RE.sub("", text)
