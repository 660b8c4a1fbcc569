"""Writing cpqctl's YAML: deterministic text in the style of SPEC §1 (flow-style lines).

Pure text generation, no IO. The text is what gets committed, so it is stable:
keys in a fixed order, decimals as written, dates ISO, strings quoted only
when YAML would read them as something else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

_PLAIN_OK = re.compile(r"[A-Za-z][A-Za-z0-9 ._@/()&'+-]*")
_SPECIAL = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}


def scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, int):
        return str(v)
    if isinstance(v, date):
        return v.isoformat()
    s = str(v)
    if _PLAIN_OK.fullmatch(s) and s.lower() not in _SPECIAL and not s.endswith(" ") and ": " not in s and " #" not in s:
        return s
    return quoted(s)


def _printable(cp: int) -> bool:
    """May the character stand as itself inside a double-quoted scalar (YAML's printable set, minus line breaks)?

    Not: the C0 and C1 controls, DEL, NEL (YAML folds it into a space), the line and paragraph separators,
    the byte order mark, U+FFFE/U+FFFF; those are written as escapes.
    """
    return (
        0x20 <= cp <= 0x7E
        or 0xA0 <= cp <= 0xD7FF
        or (0xE000 <= cp <= 0xFFFD and cp != 0xFEFF)
        or 0x10000 <= cp <= 0x10FFFF
    ) and cp not in (0x2028, 0x2029)


_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    short = _SHORT.get(ch)
    if short is not None:
        return short
    cp = ord(ch)
    if _printable(cp):
        return ch
    return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"


def quoted(s: str) -> str:
    """``s`` as a YAML double-quoted scalar that every YAML reader loads back as exactly ``s``.

    Printable characters stand as themselves (UTF-8), everything else — control characters, DEL, NEL,
    U+2028/U+2029, a BOM — is an escape (JSON's for those JSON has); a lone surrogate, which no UTF-8
    file can hold, is refused (E-TEXT).
    """
    if any(0xD800 <= ord(c) <= 0xDFFF for c in s):
        from cpqctl.core.diagnostics import UsageError

        shown = s if len(s) <= 40 else s[:40] + "…"
        raise UsageError(
            "E-TEXT",
            f"the text {shown!a} is not valid Unicode (it holds a lone surrogate)",
            "pass text in UTF-8: a terminal or file in another encoding sends bytes that are not characters",
        )
    return '"' + "".join(_escape(c) for c in s) + '"'


class Raw(str):
    """Text inserted as is: a percentage like ``10%`` or a nested flow mapping."""


def pct(v: Decimal | None) -> Raw | None:
    from cpqctl.core.money import fmt_percent

    return None if v is None else Raw(fmt_percent(v))


def _val(v) -> str:
    """A value in flow style: Raw as is, a list as ``[a, b]``, a mapping (pairs in a :class:`Pairs`) as ``{k: v}``."""
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, Pairs):
        return flow(v)
    if isinstance(v, list):
        return "[" + ", ".join(_val(x) for x in v) + "]"
    return scalar(v)


class Pairs(list):
    """A mapping as its ``(key, value)`` pairs, in order: a block mapping in block style, ``{…}`` in flow style."""


def mapping_lines(pairs: Iterable[tuple[str, object]], indent: str = "") -> list[str]:
    out = []
    for k, v in pairs:
        if v is None:
            continue
        if isinstance(v, list) and not isinstance(v, Pairs):
            if not v:
                out.append(f"{indent}{k}: []")  # `k:` alone would read as null
                continue
            out.append(f"{indent}{k}:")
            out.extend(f"{indent}  - {item if isinstance(item, str) else _val(item)}" for item in v)
        else:
            out.append(f"{indent}{k}: {_val(v)}")
    return out


def flow(pairs: Iterable[tuple[str, object]]) -> str:
    return "{" + ", ".join(f"{k}: {_val(v)}" for k, v in pairs if v is not None) + "}"
