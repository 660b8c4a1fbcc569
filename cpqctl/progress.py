"""Progress on long work: a rich bar on stderr when a person is watching, nothing otherwise.

Long phases (loading every file, billing every contract, reporting over every
account) take a ``meter`` and call ``meter.start(what, total)`` then
``meter.advance()`` per item; the pure modules only see that duck-typed
interface, and :data:`SILENT` costs a method call. A bar is shown only when
stderr is a terminal, ``--quiet`` is off, ``TERM`` is not ``dumb`` and the work
is big enough to be worth watching (:data:`MIN_ITEMS`); it is transient, so a
finished command leaves only its output. ``CPQ_PROGRESS=1`` forces the bar
(tests, screen recordings), ``CPQ_PROGRESS=0`` turns it off.
"""

from __future__ import annotations

import os
import sys

MIN_ITEMS = 2000  # below this a phase takes well under a second: a bar would only flicker


class Meter:
    """The silent meter: the interface, doing nothing."""

    def start(self, what: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


SILENT = Meter()


class Bar(Meter):
    """One rich progress display; each ``start`` adds a phase (the previous one is completed)."""

    def __init__(self, force: bool = False) -> None:
        self._progress = None
        self._task = None
        self._total = 0
        self._force = force

    def start(self, what: str, total: int) -> None:
        if total < MIN_ITEMS and not self._force:
            self._finish_task()
            return
        if self._progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            console = Console(stderr=True, force_terminal=self._force or None)
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._progress.start()
        self._finish_task()
        self._task, self._total = self._progress.add_task(what, total=total), total

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, n)

    def _finish_task(self) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=self._total)
            self._task = None

    def close(self) -> None:
        if self._progress is not None:
            self._finish_task()
            self._progress.stop()
            self._progress = None


def meter(quiet: bool) -> Meter:
    """A :class:`Bar` when a person watches stderr (or CPQ_PROGRESS=1), else :data:`SILENT`."""
    setting = os.environ.get("CPQ_PROGRESS", "")
    if setting == "0" or (quiet and setting != "1"):
        return SILENT
    if setting == "1":
        return Bar(force=True)
    if os.environ.get("TERM") == "dumb" or not sys.stderr.isatty():
        return SILENT
    return Bar()
