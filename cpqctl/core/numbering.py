"""Numbering series: the identifiers a `[numbering]` pattern gives, and who may take the next one.

A pattern is a ``str.format`` template of ID characters and the placeholders
``{year}`` and ``{month}`` (of the document's own date), ``{token}`` (a
writer's series token, below) and ``{seq}`` (the running number, once; ``{seq:04d}``
zero-pads it). A **series** is every ID the pattern gives for one (year, month,
token): ``{seq}`` counts 1, 2, 3… within it.

Teamwork (docs/teamwork.md). Two git branches that number "highest + 1" from
the same state take the same number. So a writer off the default branch numbers
in a series of its own: its **series token**, four Crockford base-32 characters
derived from the branch name and the writer's git identity, goes before
``{seq}`` when the pattern has no ``{token}`` of its own
(``Q-{year}-{seq:04d}`` → ``Q-2027-K7F2-0001``). The default branch (and a
repository outside git) numbers in the plain series; branches never take a
number of another series, so their IDs differ unless two tokens collide (one in
2²⁰ per pair of branches — `check` reports the duplicate, E-DUPLICATE-ID).

One definition for the writer (``next_number``) and for `check` (gaps,
duplicates and date order within each series). Pure; cached.
"""

from __future__ import annotations

import functools
import hashlib
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

TOKEN_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U
TOKEN_LENGTH = 4
_TOKEN_RE = f"[0-9A-HJKMNP-TV-Z]{{{TOKEN_LENGTH}}}"


def series_token(branch: str, identity: str = "") -> str:
    """The writer's series token: 4 Crockford base-32 characters of SHA-256(branch, identity)."""
    n = int.from_bytes(hashlib.sha256(f"cpqctl-series\0{branch}\0{identity}".encode()).digest()[:8], "big")
    out = []
    for _ in range(TOKEN_LENGTH):
        n, r = divmod(n, 32)
        out.append(TOKEN_ALPHABET[r])
    return "".join(out)


def has_token(pattern: str) -> bool:
    return any(name == "token" for _, name, _, _ in string.Formatter().parse(pattern))


def branch_pattern(pattern: str) -> str:
    """``pattern`` as a writer off the default branch numbers: its token before ``{seq}`` (unless it has one)."""
    if has_token(pattern):
        return pattern
    i = pattern.find("{seq")
    return pattern if i < 0 else pattern[:i] + "{token}-" + pattern[i:]


@dataclass(frozen=True, slots=True)
class Series:
    """A parsed ID: the series it belongs to (year, month, token) and its number in it."""

    year: int | None
    month: int | None
    token: str | None
    seq: int

    @property
    def key(self) -> tuple[int | None, int | None, str | None]:
        return (self.year, self.month, self.token)


@functools.lru_cache(maxsize=256)
def _parser(pattern: str) -> re.Pattern[str] | None:
    """A regex capturing year, month, token and seq of ``pattern``'s IDs (None: not a numbering pattern)."""
    fmt = string.Formatter()
    parts: list[str] = []
    seen: set[str] = set()
    try:
        for literal, name, spec, _conversion in fmt.parse(pattern):
            parts.append(re.escape(literal))
            if name is None:
                continue
            if name in seen:
                parts.append(f"(?P={name})")
                continue
            seen.add(name)
            if name == "year":
                parts.append(r"(?P<year>[0-9]{4})")
            elif name == "month":
                parts.append(r"(?P<month>[0-9]{2})" if spec else r"(?P<month>1[0-2]|[1-9])")
            elif name == "token":
                parts.append(f"(?P<token>{_TOKEN_RE})")
            elif name == "seq":
                parts.append(r"(?P<seq>[0-9]+)")
            else:
                return None
    except (ValueError, TypeError):
        return None
    return re.compile("".join(parts)) if "seq" in seen else None


def is_pattern(pattern: str) -> bool:
    """``pattern`` numbers IDs: its placeholders are cpqctl's and it has ``{seq}``."""
    return _parser(pattern) is not None


def parse(pattern: str, ident: str) -> Series | None:
    """The series and number of ``ident`` under ``pattern`` (None: not one of its IDs)."""
    rx = _parser(pattern)
    m = rx.fullmatch(ident) if rx else None
    if m is None:
        return None
    g = m.groupdict()
    return Series(
        int(g["year"]) if g.get("year") else None,
        int(g["month"]) if g.get("month") else None,
        g.get("token"),
        int(g["seq"]),
    )


def parse_series(pattern: str, ident: str) -> Series | None:
    """:func:`parse` under ``pattern`` or, failing that, under its branch form (a branch's series)."""
    return parse(pattern, ident) or parse(branch_pattern(pattern), ident)


def file_stem(number: str) -> str:
    """The file name (without ``.yaml``) of a document numbered ``number``: every ``/`` becomes ``_``.

    Polish series are written ``FV/2027/03/0001``; a file cannot be named so, and is ``FV_2027_03_0001.yaml``.
    A pattern with ``/`` may not hold ``_`` (:func:`cpqctl.load.schema.numbering_problem`), so two numbers never
    share a file. Commands take either spelling."""
    return number.replace("/", "_")


def render(pattern: str, year: int, month: int, token: str | None, seq: int) -> str:
    return pattern.format(year=year, month=month, token=token or "", seq=seq)


class Sequences:
    """The highest number in use of every series of ``pattern``, to take the next ones from.

    IDs of other patterns are ignored; gaps are never refilled (an ID once
    issued may be referenced elsewhere even if its file is gone).
    """

    def __init__(self, pattern: str, existing: Iterable[str]) -> None:
        self.pattern = pattern
        self._year, self._month, self._token = ("{year" in pattern), ("{month" in pattern), has_token(pattern)
        self.high: dict[tuple, int] = {}
        for ident in existing:
            self.add(ident)

    @classmethod
    def from_high(cls, pattern: str, rows: Iterable[list]) -> Sequences:
        """The sequences whose highest numbers are ``rows`` (:meth:`high_rows`), as remembered."""
        seqs = cls(pattern, ())
        seqs.high = {(y, m, t): seq for y, m, t, seq in rows}
        return seqs

    def high_rows(self) -> list[list]:
        """The highest number of each series as ``[year, month, token, seq]`` rows, sorted (JSON-friendly)."""
        return [[*key, seq] for key, seq in sorted(self.high.items(), key=lambda kv: repr(kv[0]))]

    def _key(self, year: int, month: int, token: str | None) -> tuple:
        return (year if self._year else None, month if self._month else None, token if self._token else None)

    def peek(self, year: int, month: int, token: str | None) -> str:
        """The next ID of the series (year, month, token), not counted as taken (:meth:`add` it once used)."""
        return render(self.pattern, year, month, token, self.high.get(self._key(year, month, token), 0) + 1)

    def add(self, ident: str, stem: bool = False) -> None:
        """Count ``ident`` as in use (an ID of another pattern is ignored); ``stem``: ``ident`` is the name of its
        file (:func:`file_stem`: a pattern with ``/`` holds no ``_``, so the name parses as the ID does)."""
        s = parse(file_stem(self.pattern) if stem else self.pattern, ident)
        if s is not None:
            self.high[s.key] = max(self.high.get(s.key, 0), s.seq)

    def take(self, year: int, month: int, token: str | None) -> str:
        """The next ID of the series (year, month, token), counted as taken."""
        key = self._key(year, month, token)
        n = self.high.get(key, 0) + 1
        self.high[key] = n
        return render(self.pattern, year, month, token, n)


def next_number(pattern: str, year: int, month: int, token: str | None, existing: Iterable[str]) -> str:
    """The next ID of the series (year, month, token) of ``pattern``: one more than the highest in use."""
    return Sequences(pattern, existing).take(year, month, token)
