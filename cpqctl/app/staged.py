"""Staged validation: a write is checked on the repository it would leave before any byte of it is written.

:meth:`~cpqctl.app.workspace.Workspace.writing` installs :func:`refuse_invalid_writes` as the store's
validator. Every commit of a transaction hands it the files it would write (repository path → new
bytes, None for a file it deletes); each data file among them is parsed and schema-checked from
those bytes (the parse cache and the disk untouched), the repository is put together again with them in place of the files on disk —
the other files' parse results are the ones the command loaded, nothing is read twice — and every
check of ``cpqctl check`` runs on that state. A write that would leave any error is refused
(E-WRITE-INVALID, listing the findings) and nothing changes.

The repository was clean when the command loaded it (``writing`` refuses otherwise), so any error is
the write's own: a text cpqctl generated that does not read back, or a combination of inputs that
the cross-file checks reject.
"""

from __future__ import annotations

from collections.abc import Callable

from cpqctl.core.diagnostics import Diagnostic, InvalidRepository
from cpqctl.load.repo import Loaded


def refuse_invalid_writes(
    loaded: Loaded, tolerate: frozenset[str] = frozenset()
) -> Callable[[dict[str, bytes | None]], None]:
    """A store validator over the repository state ``loaded``; after each accepted commit the state moves on."""
    from cpqctl.app.workspace import validate

    state = [loaded]

    def check(files: dict[str, bytes | None]) -> None:
        after = state[0].staged(files)
        if only_deliveries(state[0], after, files):  # `sent:` records: no cross-file rule reads them
            state[0] = after
            return
        repo, diags = after.assemble()
        errors = [d for d in validate(repo, diags) if d.severity == "error" and d.code not in tolerate]
        if errors:
            raise refusal(errors, sorted(files))
        state[0] = after

    check.state = state  # type: ignore[attr-defined]  # the state the last accepted commit left
    return check


def refuse_new_errors(loaded: Loaded) -> Callable[[dict[str, bytes | None]], None]:
    """A store validator over ``loaded``, a repository read in part (only some kinds of files): a commit is refused
    when the state it would leave has an error the state before it does not have. A part of the repository may
    show errors the whole does not (an invoice's contract is not read, …): those are the part's, found before and
    after, not the write's. After each accepted commit the state moves on."""
    from collections import Counter

    from cpqctl.app.workspace import validate

    def errors(state: Loaded) -> Counter:
        repo, diags = state.assemble()
        return Counter(d for d in validate(repo, diags) if d.severity == "error")

    state, before = [loaded], [errors(loaded)]

    def check(files: dict[str, bytes | None]) -> None:
        after = state[0].staged(files)
        found = errors(after)
        new = found - before[0]
        if new:
            raise refusal(sorted(new), sorted(files))
        state[0], before[0] = after, found

    return check


def only_deliveries(before: Loaded, after: Loaded, files: dict[str, bytes | None]) -> bool:
    """Every file written is an issued invoice that reads back free of errors and differs from what was loaded
    by records added to its `sent:` deliveries (`invoice send`, one commit per invoice) or its `reminders:`
    (`dunning run`, one commit per reminder e-mail) alone, none taken away.

    Such a commit cannot change what any cross-file check reads (deliveries and reminders are outside the
    invoice's digest and every rule about money), so re-running them all per delivered invoice (≈ 0.7 s at
    10,000 accounts) buys nothing; the file itself is still parsed and schema-checked, its digest verified.
    """
    import dataclasses

    for rel in files:
        old, new = before.results.get(rel), after.results.get(rel)
        if old is None or new is None or old.kind != "invoice" or len(old.records) != 1 or len(new.records) != 1:
            return False
        if any(d.severity == "error" for d in new.diagnostics):
            return False
        o, n = old.records[0], new.records[0]
        if dataclasses.replace(n, sent=o.sent, reminders=o.reminders, at=o.at) != o:
            return False
        if n.sent[: len(o.sent)] != o.sent or n.reminders[: len(o.reminders)] != o.reminders:
            return False  # a record changed or removed
        if len(n.sent) + len(n.reminders) <= len(o.sent) + len(o.reminders):
            return False
    return True


def refusal(errors: list[Diagnostic], files: list[str]) -> InvalidRepository:
    """E-WRITE-INVALID: the write refused, with the findings of the state it would have left."""
    shown = "\n".join(
        f"{d.file}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}"
        + (f"\n  = hint: {d.hint}" if d.hint else "")
        for d in errors[:5]
    )
    more = f"\n… and {len(errors) - 5} more" if len(errors) > 5 else ""
    what = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    return InvalidRepository(
        "E-WRITE-INVALID",
        f"writing {what} would leave {len(errors)} error(s) in the repository; nothing was written:\n{shown}{more}",
        "no file was changed. If the command's input is right, this is a bug in cpqctl: report it with these lines",
        diagnostics=tuple(errors),
    )
