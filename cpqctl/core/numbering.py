"""Numbering series: which identifiers a `[numbering]` pattern gives in a year.

One definition for the writer (store.next_id allocates the next number) and for
`check` (gaps, duplicates and date order within a series). Cached: a check asks
for the same few (pattern, year) pairs once per invoice.
"""

from __future__ import annotations

import functools
import re
import string


@functools.lru_cache(maxsize=256)
def series_regex(pattern: str, year: int) -> re.Pattern[str] | None:
    """The numbers of ``pattern`` for ``year`` (``seq`` captured), None for a pattern that is not one."""
    fmt = string.Formatter()
    parts: list[str] = []
    seen = False
    try:
        for literal, name, spec, conversion in fmt.parse(pattern):
            parts.append(re.escape(literal))
            if name is None:
                continue
            if name == "year":
                value = fmt.convert_field(year, conversion) if conversion else year
                parts.append(re.escape(fmt.format_field(value, spec or "")))
            elif name == "seq":
                parts.append(r"(?P=seq)" if seen else r"(?P<seq>[0-9]+)")
                seen = True
            else:
                return None
    except (ValueError, TypeError):
        return None
    return re.compile("".join(parts)) if seen else None
