"""Work done in a forked child process while this one goes on: a prefetch whose result is read back as JSON.

What it is for: a new contract's number must pass the contract names of every account folder, one ``lstat`` a
folder (:func:`cpqctl.load.ids.contract_index`, ≈ 0.2 s at 50,000 accounts), while accepting the quote also
starts the interpreter, imports the CLI, reads the account's files and prices the quote. The listing waits on
system calls and the rest on the interpreter: a child process does the one on another CPU while this one does
the other (a thread could not: this one's Python would hold the interpreter lock between every two calls).

It is an optimisation only: :meth:`Forked.result` is always ``fn(*args)``, computed in the child when one ran
and answered, else here; what the child read without the repository lock is checked by the caller under it
(the lock file's token, :func:`cpqctl.load.ids.lock_token`). No child is forked where forking is not safe or
not there: a process with other threads (a web server's; a child of a threaded process may inherit a lock some
other thread held), or a system without ``fork``. The child runs ``fn`` and leaves with ``os._exit``: no
``atexit`` handler, no flush of buffers it inherited (what this process printed is printed once). A child that
fails, is killed or answers something that is no JSON is as if it had not run.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def can_fork() -> bool:
    """Whether a child may be forked here: POSIX ``fork`` and this process's only thread."""
    return hasattr(os, "fork") and threading.active_count() == 1


@dataclass(frozen=True)
class Later:
    """What ``fn`` returns to answer ``value`` at once and do ``then`` after (in the child: once the answer is
    sent, so that the parent does not wait for it, e.g. a cache written back)."""

    value: Any
    then: Callable[[], object]


class Forked:
    """``fn(*args)`` started in a child process now (when :func:`can_fork`); :meth:`result` gives its value.

    The child sends its answer as JSON after its length (8 bytes), closes the pipe, does what ``fn`` left for
    after (:class:`Later`) and exits; an answer cut short is no answer. Use it as a context manager, or call
    :meth:`close`: a child whose answer is not wanted is killed; one that answered and is still finishing is
    waited for at exit.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, fork: bool | None = None) -> None:
        self._fn, self._args = fn, args
        self._pid: int | None = None
        self._fd: int | None = None
        if not (can_fork() if fork is None else fork):
            return
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # the child: no return from here
            _child(r, w, fn, args)
        os.close(w)
        self._pid, self._fd = pid, r

    @property
    def forked(self) -> bool:
        """Whether a child was started (and not yet read)."""
        return self._pid is not None

    def result(self) -> Any:
        """``fn(*args)``: the child's answer when it gave one, else computed here."""
        answer = self._collect()
        if answer is not None:
            return answer[0]
        value = self._fn(*self._args)
        if isinstance(value, Later):
            value.then()
            return value.value
        return value

    def answer(self) -> Any:
        """The child's answer (waiting for it), None when no child ran or it gave none."""
        answer = self._collect()
        return answer[0] if answer is not None else None

    def _collect(self) -> tuple[Any] | None:
        if self._pid is None or self._fd is None:
            return None
        chunks = []
        try:
            while chunk := os.read(self._fd, 1 << 20):
                chunks.append(chunk)
        except OSError:
            chunks = []
        finally:
            os.close(self._fd)
            self._fd = None
        data = b"".join(chunks)
        pid, self._pid = self._pid, None
        if len(data) < 8 or int.from_bytes(data[:8], "big") != len(data) - 8:
            _reap(pid, kill=True)  # no answer, or one cut short
            return None
        _FINISHING.append(pid)  # it may still be doing what it left for after: reaped later, at the latest at exit
        _sweep()
        try:
            return (json.loads(data[8:]),)
        except ValueError:
            return None

    def close(self) -> None:
        """Kill and reap a child whose answer was not read."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        pid, self._pid = self._pid, None
        if pid is not None:
            _reap(pid, kill=True)

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _child(r: int, w: int, fn: Callable[..., Any], args: tuple) -> None:
    """The forked child: answer ``fn(*args)`` on ``w`` and leave (``os._exit``, never a return or an exception)."""
    code = 1
    try:
        os.close(r)
        value = fn(*args)
        then = None
        if isinstance(value, Later):
            value, then = value.value, value.then
        body = json.dumps(value, separators=(",", ":")).encode("utf-8")
        payload = memoryview(len(body).to_bytes(8, "big") + body)
        while payload:
            payload = payload[os.write(w, payload) :]
        os.close(w)
        if then is not None:
            then()
        code = 0
    except BaseException:  # whatever happened, the parent computes it itself
        pass
    finally:
        os._exit(code)


def _sweep() -> None:
    """Reap the children that answered and have finished since."""
    for pid in list(_FINISHING):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _FINISHING.remove(pid)


def _reap(pid: int, kill: bool = False) -> None:
    if kill:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    while True:
        try:
            os.waitpid(pid, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            pass
        return


_STARTED: dict[tuple, Forked] = {}
_FINISHING: list[int] = []


def prefetch(key: tuple, fn: Callable[..., Any], *args: Any) -> None:
    """Start ``fn(*args)`` in a child now, for whoever takes ``key`` (:func:`take`) later in this process (the CLI's
    entry point, before it imports the CLI: :mod:`cpqctl.cli.entry`). A child nobody took is killed at exit."""
    if key in _STARTED or not can_fork():
        return
    job = Forked(fn, *args, fork=True)
    if job.forked:
        _STARTED[key] = job


def take(key: tuple) -> Forked | None:
    """The child :func:`prefetch` started for ``key`` (once), None when there is none."""
    return _STARTED.pop(key, None)


@atexit.register
def _at_exit() -> None:
    while _STARTED:
        _STARTED.popitem()[1].close()
    while _FINISHING:
        _reap(_FINISHING.pop())
