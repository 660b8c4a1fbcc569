"""Structural edits of a YAML file's text: items added to a top-level list as data, never as raw text.

cpqctl appends to files people also edit by hand (an amendment to a contract's
``amendments:``, a price to an account's ``contracted_prices:``). Concatenating
text breaks them as soon as their layout is not the one cpqctl writes: no final
newline, a trailing comment, ``amendments: []``, 4-space indentation. Here the
file is parsed first (libyaml's node tree, whose marks give each value's span)
and the new items are placed where the list really is, in its own layout:

- a block list: the items go after its last item, at the column of its dashes
  (each item's own lines are indented relative to its dash, which YAML allows
  whatever the other items do); every existing line stays byte-identical;
- a flow list ``[…]``: an empty one (``[]``) is normalised to a block list on
  the key's line; a non-empty one takes the items in flow style before its ``]``;
- ``key:`` with no value (null): the items go below it as a block list;
- no such key: ``key:`` and the items go at the end of the top-level mapping (or, with ``before_key``,
  on the lines just above another top-level key).

A value is changed in place the same way (:func:`set_scalars`, ``cpqctl renumber``): the parser gives
the span of the scalar, only those characters are replaced, every other byte stays.

The text produced is parsed again and refused (E-WRITE-LAYOUT) unless the list
holds exactly the old items plus the new ones (each value changed reads back as
the new one): a layout this module does not understand is never written over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from cpqctl.core.diagnostics import CpqError
from cpqctl.formats.yamlout import Pairs, flow, mapping_lines, scalar

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Item = Pairs | str
"""A list item: a mapping's pairs (block style in a block list, flow in a flow list), or text used as it is."""


def _refuse(rel: str, key: str, why: str) -> CpqError:
    return CpqError(
        "E-WRITE-LAYOUT",
        f"{rel}: cannot add to `{key}:` ({why}); nothing was written",
        f"make `{key}:` a top-level list (`{key}:` then one `  - …` item per line, or `{key}: []`) and run the "
        "command again",
    )


def _compose(text: str):
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None


def _block_item(item: Item, column: int) -> str:
    pad = " " * column
    if isinstance(item, Pairs):
        lines = mapping_lines(item)
        return "".join(pad + ("- " if i == 0 else "  ") + ln + "\n" for i, ln in enumerate(lines))
    return f"{pad}- {item}\n"


def _flow_item(item: Item) -> str:
    return flow(item) if isinstance(item, Pairs) else str(item)


def _line_end(text: str, i: int) -> int:
    """The offset just past the line break of the line holding offset ``i`` (or the text's end)."""
    j = text.find("\n", i)
    return len(text) if j < 0 else j + 1


def _line_start_of(text: str, root, key: str | None) -> int | None:
    """The offset of the line holding the top-level ``key`` when only indentation precedes it there (else None)."""
    for k, _v in root.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            start = k.start_mark.index - k.start_mark.column
            return start if start >= 0 and not text[start : k.start_mark.index].strip(" ") else None
    return None


def append_items(
    text: str, key: str, items: Sequence[Item], rel: str = "the file", before_key: str | None = None
) -> str:
    """``text`` with ``items`` added at the end of its top-level list ``key`` (created when missing).

    See the module docstring for where they go; a missing ``key`` goes just above the top-level key
    ``before_key`` when the file has it on a line of its own (else at the end). Refused (E-WRITE-LAYOUT)
    when the file is not a top-level block mapping or ``key`` holds something else.
    """
    if not items:
        return text
    root = _compose(text)
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise _refuse(rel, key, "the file is not a block mapping of keys to values")
    knode = vnode = None
    for k, v in root.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            knode, vnode = k, v
    before = 0
    above = _line_start_of(text, root, before_key) if vnode is None and before_key else None
    if vnode is None and above is not None:  # no such key: on the lines above the key `before_key`
        col = root.start_mark.column
        new = text[:above] + " " * col + f"{key}:\n" + "".join(_block_item(i, col + 2) for i in items) + text[above:]
    elif vnode is None:  # no such key: add it at the end of the mapping
        at = root.end_mark.index
        col = root.start_mark.column
        head = "" if at == 0 or text[at - 1] == "\n" else "\n"
        new = text[:at] + head + " " * col + f"{key}:\n" + "".join(_block_item(i, col + 2) for i in items) + text[at:]
    elif isinstance(vnode, yaml.SequenceNode) and not vnode.flow_style:
        before = len(vnode.value)
        at = vnode.end_mark.index
        head = "" if text[at - 1] == "\n" else "\n"
        new = text[:at] + head + "".join(_block_item(i, vnode.start_mark.column) for i in items) + text[at:]
    elif isinstance(vnode, yaml.SequenceNode) and vnode.value:  # [a, b]: the items in flow style, after the last
        before = len(vnode.value)
        at = vnode.value[-1].end_mark.index
        new = text[:at] + "".join(", " + _flow_item(i) for i in items) + text[at:]
    elif isinstance(vnode, yaml.SequenceNode) or (
        isinstance(vnode, yaml.ScalarNode) and not vnode.style and vnode.value in ("", "~", "null", "Null", "NULL")
    ):  # `key: []` or `key:` / `key: ~`: the value removed, a block list below the key's line
        assert knode is not None  # found with vnode
        start, end = vnode.start_mark.index, vnode.end_mark.index
        while start > knode.end_mark.index and text[start - 1] in " \t":
            start -= 1
        rest = text[end:]
        stripped = text[:start] + (rest if rest[:1] in ("", "\n", "\r") else " " + rest.lstrip(" \t"))
        at = _line_end(stripped, start)
        head = "" if stripped[at - 1 : at] == "\n" else "\n"
        col = knode.start_mark.column + 2
        new = stripped[:at] + head + "".join(_block_item(i, col) for i in items) + stripped[at:]
    else:
        raise _refuse(rel, key, "it is not a list")
    after = _compose(new)
    found = None
    if isinstance(after, yaml.MappingNode):
        for k, v in after.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                found = v
    if not isinstance(found, yaml.SequenceNode) or len(found.value) != before + len(items):
        raise _refuse(rel, key, "its layout is not one cpqctl can add to safely")
    return new


KeyPath = tuple[str | int, ...]
"""Where a value is: keys of mappings and indexes of lists from the top, e.g. ``("amendments", 0, "quote")``."""


def _node_at(root, path: KeyPath):
    node = root
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, yaml.SequenceNode) or step >= len(node.value):
                return None
            node = node.value[step]
        else:
            if not isinstance(node, yaml.MappingNode):
                return None
            found = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == step:
                    found = v
            node = found
        if node is None:
            return None
    return node


def shown_path(path: KeyPath) -> str:
    """A path as a person reads it: ``amendments[0].quote``."""
    return "".join(f"[{s}]" if isinstance(s, int) else ("." if i else "") + s for i, s in enumerate(path))


def set_scalars(text: str, changes: Sequence[tuple[KeyPath, Any]], rel: str = "the file") -> str:
    """``text`` with the scalar value at each path replaced by a new one (written as :func:`~.yamlout.scalar`
    writes it); only the characters of those values change.

    Refused (E-WRITE-LAYOUT) when a path holds no single value (a list, a mapping, no such key) or the
    text produced does not read back with exactly the new values there.
    """
    if not changes:
        return text
    root = _compose(text)
    spans = []
    for path, value in changes:
        node = _node_at(root, path)
        if not isinstance(node, yaml.ScalarNode) or "\n" in text[node.start_mark.index : node.end_mark.index]:
            raise _refuse_value(rel, path, "it is not a value on one line")
        spans.append((node.start_mark.index, node.end_mark.index, scalar(value)))
    spans.sort(reverse=True)
    new = text
    for start, end, shown in spans:
        new = new[:start] + shown + new[end:]
    after = _compose(new)
    for path, value in changes:
        node = _node_at(after, path)
        if not isinstance(node, yaml.ScalarNode) or node.value != scalar_text(value):
            raise _refuse_value(rel, path, "the file's layout is not one cpqctl can edit safely")
    return new


def scalar_text(value: Any) -> str:
    """The text YAML reads back from :func:`~.yamlout.scalar`'s writing of ``value`` (a string: itself)."""
    return value if isinstance(value, str) else scalar(value)


def _refuse_value(rel: str, path: KeyPath, why: str) -> CpqError:
    key = shown_path(path)
    return CpqError(
        "E-WRITE-LAYOUT",
        f"{rel}: cannot change `{key}` ({why}); nothing was written",
        f"write `{key}` as a plain value on its own line and run the command again",
    )
