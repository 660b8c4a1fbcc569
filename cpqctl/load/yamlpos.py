"""YAML with positions: libyaml composes the node tree, we turn it into values.

libyaml's C composer (``yaml.CSafeLoader``) is the speed floor; instead of
PyYAML's constructors (which would build floats and YAML 1.1 booleans) we walk
the node tree ourselves and keep every scalar as its *text*, with its
1-based line and column. Typed conversion happens against a schema
(:mod:`cpqctl.load.schema`), so a float never exists.

Errors found here (malformed YAML, duplicate keys, non-string keys, anchors
and tags we do not allow) are returned as :class:`Problem` values, never raised.
"""

from __future__ import annotations

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
    """A mapping; ``keypos[key]`` is the (line, column) of the key."""

    __slots__ = ("line", "column", "keypos")


class YSeq(list):
    __slots__ = ("line", "column")


def _scalar(node: yaml.ScalarNode) -> Scalar:
    s = Scalar(node.value)
    s.line = node.start_mark.line + 1
    s.column = node.start_mark.column + 1
    s.plain = not node.style  # libyaml reports plain scalars with style "" (PyYAML: None)
    return s


def _convert(node, problems: list[Problem]):
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        seq = YSeq(_convert(item, problems) for item in node.value)
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
            problems.append(Problem("E-YAML-KEY", "a mapping key must be a plain string", kl, kc,
                                    "write the key as a simple word, e.g. `product:`"))
            continue
        key = knode.value
        if key in m:
            first = m.keypos[key]
            problems.append(Problem("E-DUPLICATE-KEY", f"duplicate key `{key}` (first at line {first[0]})", kl, kc,
                                    "remove one of the two entries; YAML would silently keep only the last"))
            continue
        m[key] = _convert(vnode, problems)
        m.keypos[key] = (kl, kc)
    return m


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
        return None, [Problem("E-YAML", f"this is not valid YAML: {what}", line, col,
                              "check indentation, colons and quotes around this point")]
    except yaml.YAMLError as exc:  # e.g. several documents in one file
        return None, [Problem("E-YAML", f"this is not valid YAML: {exc}", 1, 1, "one YAML document per file")]
    if node is None:
        return None, problems
    return _convert(node, problems), problems
