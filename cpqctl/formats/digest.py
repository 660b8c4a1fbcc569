"""The digest of an accepted quote file: what `quote accept` writes last and the loader checks.

``sha256:<hex>`` of the file's text without its ``digest:`` line, so the line
can carry the digest of everything else and any later edit shows.
"""

from __future__ import annotations

import hashlib
import re

_DIGEST_LINE = re.compile(r"^digest:.*(?:\n|$)", re.M)


def digest_of(text: str) -> str:
    """``sha256:<hex>`` of a quote file's content without its ``digest:`` line."""
    return "sha256:" + hashlib.sha256(_DIGEST_LINE.sub("", text).encode("utf-8")).hexdigest()
