"""JSON documents of a hundred thousand items, made one item at a time (issue 21: `invoice run`, `invoice list`,
`cpqctl journal`): the bytes of ``json.dumps(doc, indent=2, ensure_ascii=False)`` without holding the list or the
text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence


def json_chunks(head: dict, key: str, items: Iterable) -> Iterator[str]:
    """``json.dumps({**head, key: list(items)}, indent=2, ensure_ascii=False)`` in chunks (no newline at the end):
    each item encoded on its own, indented as it would be inside the whole document. ``key`` must come last."""
    return json_lists(head, [(key, items)])


def json_lists(head: dict, lists: Sequence[tuple[str, Iterable]]) -> Iterator[str]:
    """``json.dumps({**head, **{key: list(items) for key, items in lists}}, indent=2, ensure_ascii=False)`` in
    chunks (no newline at the end), each list's items encoded one at a time; the lists' keys come after the head's
    (`dunning run`: its reminders, then its suspend hints)."""
    text = json.dumps({**head, **{key: [] for key, _ in lists}}, indent=2, ensure_ascii=False)
    pos = 0
    for key, items in lists:
        marker = f"\n  {json.dumps(key, ensure_ascii=False)}: []"
        at = text.index(marker, pos) + len(marker) - len("[]")
        yield text[pos:at]
        first = True
        for item in items:
            body = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n    ")
            yield ("[\n    " if first else ",\n    ") + body
            first = False
        yield "[]" if first else "\n  ]"
        pos = at + len("[]")
    yield text[pos:]
