"""Writing cpqctl's YAML: deterministic text in the style of SPEC §1 (flow-style lines).

Pure text generation, no IO. The text is what gets committed, so it is stable:
keys in a fixed order, decimals as written, dates ISO, strings quoted only
when YAML would read them as something else.
"""

from __future__ import annotations

import json
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
    return json.dumps(s, ensure_ascii=False)


class Raw(str):
    """Text inserted as is: a percentage like ``10%`` or a nested flow mapping."""


def pct(v: Decimal | None) -> Raw | None:
    from cpqctl.core.money import fmt_percent

    return None if v is None else Raw(fmt_percent(v))


def _val(v) -> str:
    return str(v) if isinstance(v, Raw) else scalar(v)


def mapping_lines(pairs: Iterable[tuple[str, object]], indent: str = "") -> list[str]:
    out = []
    for k, v in pairs:
        if v is None:
            continue
        if isinstance(v, list):
            out.append(f"{indent}{k}:")
            out.extend(f"{indent}  - {item}" for item in v)
        else:
            out.append(f"{indent}{k}: {_val(v)}")
    return out


def flow(pairs: Iterable[tuple[str, object]]) -> str:
    return "{" + ", ".join(f"{k}: {_val(v)}" for k, v in pairs if v is not None) + "}"
