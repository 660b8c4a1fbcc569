"""The digest of a signed or issued file: what `quote accept` and `invoice run` write and the loader checks.

An accepted quote ends with the line ``digest: "sha256:<hex>"``; an issued
invoice carries the same line after its content, followed only by its
``ksef:`` record (the KSeF number, docs/einvoicing.md) and its ``reminders:``
and ``sent:`` lists (payment reminders and delivery records), all added later
and outside the invoice's content. The
digest is the SHA-256 of **every byte before the digest line** — whatever a
line holds, ``\\r`` and other line breaks included — so any edit above it shows.

The digest line itself must be in canonical form: exactly
``digest: "sha256:<64 lowercase hex>"`` and a ``\\n``, nothing else on it.
YAML reads a lone ``\\r`` (and NEL, LS, PS) as a line break, so text hidden after
one on the digest line would be read as keys while not being hashed; such a
line is refused (:func:`verify`). What may follow the line is fixed too: nothing
for a quote, the ``ksef:`` record and the ``reminders:`` and ``sent:`` block lists for an invoice.

The digest is tamper-evident, not a signature: anyone who knows this rule can
recompute it. It makes an edit show in `check` (and refuses every write until
it is undone); the repository's git history is the record of who changed what.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

PREFIX = "sha256:"
_CANONICAL = re.compile(r'digest: "sha256:[0-9a-f]{64}"')
# after an invoice's digest line: the lists `reminders:` (`cpqctl dunning run`) and `sent:` (`invoice send`), each
# at most once, with one `  - {…}` item per line, and the one-line record `ksef: {…}` (`invoice submit`), nothing
# that YAML reads as a break
_TAIL = re.compile(
    r"(?:(?:reminders|sent):\n(?:  - [^\r\n\x85\u2028\u2029]*\n)*|ksef: \{[^\r\n\x85\u2028\u2029]*\}\n)*"
)
_TAIL_KEY = re.compile(r"^(reminders|sent|ksef):(?:$| )", re.MULTILINE)


def _invoice_tail(rest: str) -> bool:
    """``rest`` (what follows an invoice's digest line) is its `ksef:` record and its `reminders:` and `sent:` block
    lists, each at most once."""
    if not _TAIL.fullmatch(rest):
        return False
    keys = _TAIL_KEY.findall(rest)
    return len(keys) == len(set(keys))


def line_of(digest: str) -> str:
    """The canonical digest line (with its newline) for ``digest`` (``sha256:<hex>``)."""
    return f'digest: "{digest}"\n'


def digest_of(text: str) -> str:
    """``sha256:<hex>`` of everything before ``text``'s digest line (of all of ``text`` when it has none)."""
    found = _find(text)
    body = text if found is None else text[: found[0]]
    return PREFIX + hashlib.sha256(body.encode("utf-8")).hexdigest()


def without_digest(text: str) -> str:
    """``text`` up to its digest line (what the digest covers): the body to edit and digest again."""
    found = _find(text)
    return text if found is None else text[: found[0]]


def _find(text: str) -> tuple[int, int] | None:
    """(start, end) offsets of the first line that starts with ``digest:`` (lines split at ``\\n`` only)."""
    start = 0
    while True:
        if text.startswith("digest:", start):
            end = text.find("\n", start)
            return start, (len(text) if end < 0 else end + 1)
        nl = text.find("\n", start)
        if nl < 0:
            return None
        start = nl + 1


@dataclass(frozen=True)
class DigestProblem:
    """What is wrong with a file's digest line: a message, a hint and the 1-based line it is on (0: none)."""

    message: str
    hint: str
    line: int


_RESTORE = "restore the file from git (`git checkout -- FILE`)"


def verify(text: str, parsed: str | None, after: str = "nothing") -> DigestProblem | None:
    """Check ``text``'s digest line against its content; ``parsed`` is the `digest` value YAML read.

    ``after`` says what may follow the digest line: ``"nothing"`` (a quote) or
    ``"sent"`` (an invoice's `ksef:` record and `reminders:` and `sent:` lists). None when the digest holds.
    """
    found = _find(text)
    if found is None:
        if parsed is not None:
            return DigestProblem(
                "the digest is not on a line of its own at the start of a line", "write nothing before `digest:`", 0
            )
        return DigestProblem("the file has no digest", _RESTORE, 0)
    start, end = found
    lineno = text.count("\n", 0, start) + 1
    line = text[start:end]
    if not line.endswith("\n") or not _CANONICAL.fullmatch(line[:-1]):
        hidden = next((c for c in ("\r", "\x85", "\u2028", "\u2029") if c in line), None)
        what = (
            f"a line break ({hidden!r}) on the digest line hides text that YAML reads but the digest does not cover"
            if hidden
            else 'the digest line is not `digest: "sha256:<64 hex digits>"` alone on its line'
        )
        return DigestProblem(what, _RESTORE + ": cpqctl writes the digest line itself", lineno)
    rest = text[end:]
    if after == "nothing" and rest:
        return DigestProblem(
            "text follows the digest line: the digest must be the file's last line", _RESTORE, lineno + 1
        )
    if after == "sent" and not _invoice_tail(rest):
        return DigestProblem(
            "only the `ksef: {…}` record and the `reminders:` and `sent:` lists (each once, one `  - {…}` line per "
            "item) may follow an invoice's digest line",
            _RESTORE + "; deliveries are recorded by `cpqctl invoice send`, reminders by `cpqctl dunning run`, the "
            "KSeF number by `cpqctl invoice submit`",
            lineno + 1,
        )
    value = line[len('digest: "') : -2]
    if parsed != value:
        return DigestProblem("the `digest` key YAML reads is not the one on the digest line", _RESTORE, lineno)
    if value != digest_of(text):
        return DigestProblem(
            "the file was edited after it was signed (its digest does not match its content)", _RESTORE, lineno
        )
    return None
