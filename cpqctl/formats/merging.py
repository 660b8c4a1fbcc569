"""Ledger texts after a git merge: both sides' amendments in one file, labels by position.

A contract file is its head (every key but ``amendments:``, which is always
last) and its amendment entries. Two branches that amended the same contract
each appended entries after the same last line: git cannot merge that and
writes conflict markers. :func:`merge_ledgers` keeps the side merged into
(``ours``) byte for byte and appends the other side's entries that it lacks;
:func:`relabel` numbers the entries A-1, A-2, … in file order (labels are for
people; invoices name an amendment's segments by its quote's ID).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

_LABEL = re.compile(r"^([ \t]*(?:-[ \t]+)?amendment:[ \t]*)(\S+)(.*)$", re.M)
_QUOTE = re.compile(r"^[ \t]*(?:-[ \t]+)?quote:[ \t]*['\"]?([A-Za-z0-9][A-Za-z0-9._-]*)", re.M)


@dataclass(frozen=True, slots=True)
class Ledger:
    """A contract file split at its amendments: the text before the first entry, and each entry's text."""

    head: str
    entries: tuple[str, ...]
    has_key: bool  # the file has an `amendments:` key


class NotALedger(ValueError):
    """The text is not a contract file whose amendments cpqctl can take apart (the reason is the message)."""


def split_ledger(text: str) -> Ledger:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise NotALedger(f"not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise NotALedger("not a block mapping of keys to values")
    pairs = [(k.value, v) for k, v in root.value if isinstance(k, yaml.ScalarNode)]
    found = [v for k, v in pairs if k == "amendments"]
    if not found:
        return Ledger(text, (), False)
    if pairs[-1][0] != "amendments":
        raise NotALedger("`amendments:` is not the file's last key")
    seq = found[0]
    if isinstance(seq, yaml.ScalarNode) and seq.value in ("", "~", "null"):
        return Ledger(text, (), True)
    if not isinstance(seq, yaml.SequenceNode) or seq.flow_style:
        raise NotALedger("`amendments:` is not a block list")
    if not seq.value:
        return Ledger(text, (), True)
    starts = [_line_start(text, item.start_mark.index) for item in seq.value]
    entries = [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]
    if not entries[-1].endswith("\n"):
        entries[-1] += "\n"
    return Ledger(text[: starts[0]], tuple(entries), True)


def _line_start(text: str, i: int) -> int:
    return text.rfind("\n", 0, i) + 1


def entry_quote(entry: str) -> str | None:
    m = _QUOTE.search(entry)
    return m.group(1) if m else None


def _identity(entry: str) -> str:
    """What makes two entries the same amendment: its quote, else its text without the label."""
    q = entry_quote(entry)
    return f"quote:{q}" if q else "text:" + _LABEL.sub(r"\1\3", entry, count=1).strip()


def _head_body(ledger: Ledger) -> str:
    """The head without its `amendments:` line (a side may have added the key with its first entry)."""
    head = ledger.head
    if ledger.has_key:
        head = re.sub(r"(?m)^amendments:[ \t]*(?:\[\])?[ \t]*\n?\Z", "", head)
    return head


def merge_ledgers(ours: str, theirs: str, settled: str | None = None) -> tuple[str, list[str]]:
    """Both sides' amendment entries in one ledger, relabelled; and the quotes of the entries ``ours`` lacked.

    ``ours`` keeps its order and ``theirs``' new entries follow, except that
    the entries of ``settled`` (the default branch's version of the file) come
    first, in its order: merging the default branch into a feature branch then
    leaves the default branch's ledger a pure append once the feature is merged
    back. Refused (:class:`NotALedger`) when the two sides differ anywhere but
    in their amendments: that is a change a person resolves.
    """
    a, b = split_ledger(ours), split_ledger(theirs)
    if _head_body(a).rstrip() != _head_body(b).rstrip():
        raise NotALedger("the two sides differ above `amendments:` (not only new amendments): resolve it by hand")
    have = {_identity(e) for e in a.entries}
    extra = [e for e in b.entries if _identity(e) not in have]
    entries = list(a.entries) + extra
    if settled is not None:
        try:
            order = {_identity(e): n for n, e in enumerate(split_ledger(settled).entries)}
        except NotALedger:
            order = {}
        entries.sort(key=lambda e: (0, order[_identity(e)]) if _identity(e) in order else (1, 0))  # stable
    head = a.head
    if not a.has_key and entries:
        head = head + ("" if head.endswith("\n") or not head else "\n") + "amendments:\n"
    merged = head + "".join(entries)
    return relabel(merged), [entry_quote(e) or "(no quote)" for e in extra]


def relabel(text: str) -> str:
    """``text`` with its amendment entries labelled A-1, A-2, … in file order (other lines unchanged)."""
    ledger = split_ledger(text)
    out = [ledger.head]
    for n, entry in enumerate(ledger.entries, 1):
        m = _LABEL.search(entry)
        out.append(entry if m is None else f"{entry[: m.start(2)]}A-{n}{entry[m.end(2) :]}")
    return "".join(out)
