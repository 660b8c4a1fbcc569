"""Diagnostics: errors as values, each with a position, a stable code and a hint."""

from __future__ import annotations

from dataclasses import dataclass

from cpqctl.core.model import Source


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    file: str
    line: int
    column: int
    code: str
    message: str
    hint: str = ""
    severity: str = "error"  # error | warning

    @classmethod
    def at(cls, src: Source, code: str, message: str, hint: str = "", severity: str = "error") -> Diagnostic:
        return cls(src.file, src.line, src.column, code, message, hint, severity)

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "hint": self.hint,
        }


class CpqError(Exception):
    """A refused operation: a stable code, a message naming the rule, a hint and, where known, a position.

    Raised by every layer below the command line when it cannot go on. It
    carries no exit code: the CLI maps the class to one (:class:`UsageError`
    → 2, every other refusal → 1); a Python caller catches it and reads
    ``code``, ``message``, ``hint``, ``src`` and ``diagnostics``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        hint: str = "",
        src: Source | None = None,
        diagnostics: tuple[Diagnostic, ...] = (),
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.src = src
        self.diagnostics = diagnostics

    def as_json(self) -> dict:
        where = {"file": self.src.file, "line": self.src.line, "column": self.src.column} if self.src else {}
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            **where,
            "diagnostics": [d.as_json() for d in self.diagnostics],
        }


class UsageError(CpqError):
    """The input of the call itself is unusable (a malformed date or option, no repository): exit 2 on the CLI."""


class InvalidRepository(CpqError):
    """The repository has errors (loader or cross-file checks); ``diagnostics`` lists every one."""
