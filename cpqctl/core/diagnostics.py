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
    def at(cls, src: Source, code: str, message: str, hint: str = "", severity: str = "error") -> "Diagnostic":
        return cls(src.file, src.line, src.column, code, message, hint, severity)

    def as_json(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message, "file": self.file,
                "line": self.line, "column": self.column, "hint": self.hint}


class CpqError(Exception):
    """A refused operation: a message naming the rule, a code, a hint and an exit code.

    Raised by the core when a command cannot go on; the CLI boundary prints it
    (never a traceback) and exits with ``exit_code`` (1 business rule, 2 usage).
    """

    def __init__(self, code: str, message: str, hint: str = "", src: Source | None = None, exit_code: int = 1,
                 diagnostics: tuple[Diagnostic, ...] = ()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.src = src
        self.exit_code = exit_code
        self.diagnostics = diagnostics
