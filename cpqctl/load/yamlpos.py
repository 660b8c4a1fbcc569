"""YAML with positions: libyaml composes the node tree, we turn it into values.

libyaml's C composer (``yaml.CSafeLoader``) is the speed floor; instead of
PyYAML's constructors (which would build floats and YAML 1.1 booleans) we walk
the node tree ourselves and keep every scalar as its *text*, with its
1-based line and column. Typed conversion happens against a schema
(:mod:`cpqctl.load.schema`), so a float never exists.

Errors found here (malformed YAML, duplicate keys, non-string keys, aliases,
absurdly deep nesting) are returned as :class:`Problem` values, never raised.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import yaml

try:  # the C composer; the pure-Python one is a fallback for exotic installs
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Problem:
    """A finding with a position in a file (1-based line and column)."""

    code: str
    message: str
    line: int
    column: int
    hint: str = ""
    severity: str = "error"


class Scalar(str):
    """A scalar's text with its position. ``plain`` is False for quoted/block scalars."""

    __slots__ = ("line", "column", "plain")

    line: int
    column: int
    plain: bool


class YMap(dict):
    """A mapping; ``keypos[key]`` is the (line, column) of the key (also of a key whose value was refused)."""

    __slots__ = ("line", "column", "keypos")


class YSeq(list):
    __slots__ = ("line", "column")


def _scalar(node: yaml.ScalarNode) -> Scalar:
    s = Scalar(node.value)
    s.line = node.start_mark.line + 1
    s.column = node.start_mark.column + 1
    s.plain = not node.style  # libyaml reports plain scalars with style "" (PyYAML: None)
    return s


# Our formats nest a few levels deep; deeper input is junk, and walking it
# recursively would hit Python's recursion limit (libyaml itself allows 1000).
MAX_DEPTH = 64


def _convert(node, problems: list[Problem], seen: set[int], depth: int, used_at: tuple[int, int]):
    """Node tree → Scalar/YMap/YSeq; ``used_at``: where the node is used (its key, or its sequence)."""
    # An alias (`*name`) is the anchored node object itself, met a second time (the node tree keeps
    # no position of the alias, hence ``used_at``). Expanding aliases lets a few lines grow into
    # billions of values ("billion laughs"), so refuse them.
    if id(node) in seen:
        problems.append(
            Problem(
                "E-YAML-ALIAS",
                "anchors and aliases (`&name`, `*name`) are not allowed",
                used_at[0],
                used_at[1],
                "write the value out in full",
            )
        )
        return None
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if depth >= MAX_DEPTH:
        problems.append(
            Problem(
                "E-YAML-DEPTH",
                f"the data is nested more than {MAX_DEPTH} levels deep",
                line,
                col,
                "cpqctl files nest only a few levels; check the indentation",
            )
        )
        return None
    if isinstance(node, yaml.SequenceNode):
        seq = YSeq()
        for item in node.value:
            v = _convert(item, problems, seen, depth + 1, (line, col))
            if v is not None:
                seq.append(v)
        seq.line = node.start_mark.line + 1
        seq.column = node.start_mark.column + 1
        return seq
    m = YMap()
    m.line = node.start_mark.line + 1
    m.column = node.start_mark.column + 1
    m.keypos = {}
    for knode, vnode in node.value:
        kl, kc = knode.start_mark.line + 1, knode.start_mark.column + 1
        if not isinstance(knode, yaml.ScalarNode) or (not knode.style and knode.value == "<<"):
            problems.append(
                Problem(
                    "E-YAML-KEY",
                    "a mapping key must be a plain string",
                    kl,
                    kc,
                    "write the key as a simple word, e.g. `product:`",
                )
            )
            continue
        key = sys.intern(knode.value)  # a few dozen distinct keys, repeated in every record: one string each
        if key in m.keypos:
            first = m.keypos[key]
            problems.append(
                Problem(
                    "E-DUPLICATE-KEY",
                    f"duplicate key `{key}` (first at line {first[0]})",
                    kl,
                    kc,
                    "remove one of the two entries; YAML would silently keep only the last",
                )
            )
            continue
        v = _convert(vnode, problems, seen, depth + 1, (kl, kc))
        m.keypos[key] = (kl, kc)  # kept for a refused value too: the key is there, not missing
        if v is not None:
            m[key] = v
    return m


def _reader_position(text: str, byte_offset: int) -> tuple[int, int]:
    """(line, column) of a byte offset of the UTF-8 text (libyaml's reader reports bytes)."""
    before = text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore")
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def parse(text: str) -> tuple[object | None, list[Problem]]:
    """Parse one YAML document into Scalar/YMap/YSeq values and problems."""
    problems: list[Problem] = []
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        col = mark.column + 1 if mark else 1
        what = exc.problem or "malformed YAML"
        if exc.context:
            what = f"{exc.context}; {what}"
        return None, [
            Problem(
                "E-YAML",
                f"this is not valid YAML: {what}",
                line,
                col,
                "check indentation, colons and quotes around this point",
            )
        ]
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (control characters)
        line, col = _reader_position(text, exc.position)
        return None, [
            Problem(
                "E-YAML",
                f"this is not valid YAML: character #x{exc.character:04X} is not allowed ({exc.reason})",
                line,
                col,
                "remove the character; write it as an escape such as \\x07 in a double-quoted string",
            )
        ]
    except yaml.YAMLError as exc:  # e.g. several documents in one file
        return None, [Problem("E-YAML", f"this is not valid YAML: {exc}", 1, 1, "one YAML document per file")]
    if node is None:
        return None, problems
    return _convert(node, problems, set(), 0, (1, 1)), problems
