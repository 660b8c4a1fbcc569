"""JSON documents of a hundred thousand items, made one item at a time (issue 21: `invoice run`, `invoice list`,
`cpqctl journal`): the bytes of ``json.dumps(doc, indent=2, ensure_ascii=False)`` without holding the list or the
text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator


def json_chunks(head: dict, key: str, items: Iterable) -> Iterator[str]:
    """``json.dumps({**head, key: list(items)}, indent=2, ensure_ascii=False)`` in chunks (no newline at the end):
    each item encoded on its own, indented as it would be inside the whole document. ``key`` must come last."""
    text = json.dumps({**head, key: []}, indent=2, ensure_ascii=False)
    assert text.endswith(f'"{key}": []\n}}'), "the streamed key must be the last one"
    opening = text[: -len("[]\n}")]
    first = True
    for item in items:
        body = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n    ")
        yield (opening + "[\n    " if first else ",\n    ") + body
        first = False
    yield text if first else "\n  ]\n}"
