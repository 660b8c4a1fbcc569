"""What every page of the web view shares: the workspace and its day, the list cache, IDs, HTML and JSON.

**IDs from URLs.** A path segment is an ID only when it matches the loader's ID rule (a letter or digit,
then letters, digits, ``.``, ``_``, ``-``): ``..``, an empty segment, a NUL, a backslash or anything with a
``/`` (encoded or not: the router never gives one in a segment) is a 404 before any use case runs, and a
valid ID is only ever looked up through the workspace, never joined to a path here.

**The list cache.** A list (accounts, invoices, quotes, renewals, the board, ``check``) needs the whole
repository: about 2–4 s at 10,000 accounts even from the parse cache. Each is computed once and kept while
the repository is unchanged — the same key ``cpqctl check`` remembers its findings on
(:func:`cpqctl.load.remembered.state_key`: every entry's path, size, mtime, ctime and inode, and the
package's source). A key younger than a second is reused, and one younger than ten seconds is used while a
new one is taken in the background (:class:`ListCache`), so a change shows on the next page but one while
someone is browsing, and at once on an idle server; one-record pages (an account, a contract, an invoice, a quote) are never
cached: they read only their own files and cost the same on 10 or 50,000 accounts.

**Memory** (≤ 0.5 GB at 50,000 accounts billed for a year, docs/portal.md#speed): the lists are computed by one
worker thread, one at a time (:meth:`ListCache.run`), the stale ones dropped first, and each is kept packed, its
rows in an unnamed temporary file (:mod:`cpqctl.views.rows`); no whole-repository model outlives the list made
from it, and the big ones are made a part of whole accounts at a time.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from cpqctl.app.workspace import Workspace

# the loader's ID rule (cpqctl.load.schema.ID_RE); a file stem of an invoice number (FV/2027/03/0001 is
# FV_2027_03_0001) passes it too
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
PAGE_SIZE = 50
# files per part of a list read in parts: a quarter of a command's (40,000), so a part's records (≈ 25 MB at 50,000
# accounts) add little to the lists kept; measured the same time
PART_FILES = 10_000


def valid_id(text: str) -> bool:
    return ID_RE.fullmatch(text) is not None and ".." not in text


@dataclass
class ListCache:
    """Results of whole-repository use cases, kept while the repository's state key is unchanged.

    The key costs a walk of the repository (≈ 0.75 s at 10,000 accounts), so requests do not wait for it
    while it is recent: a key younger than ``settle`` seconds is used as it is; one younger than ``max_age``
    is used too while a background thread takes a new one (the next request sees it); an older one (an
    idle server) is taken again before answering.
    """

    key_of: Callable[[], str]
    settle: float = 1.0
    max_age: float = 10.0
    idle: float = 60.0  # the worker thread ends after this many seconds without a list to compute
    _key: str | None = None
    _key_at: float = 0.0
    _refreshing: bool = False
    _memo: dict[tuple, Any] = field(default_factory=dict)
    _tasks: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    _worker: threading.Thread | None = None
    _guard: threading.Lock = field(default_factory=threading.Lock)
    _walk: threading.Lock = field(default_factory=threading.Lock)

    def _take(self) -> str:
        with self._walk:
            started = time.monotonic()
            key = self.key_of()
            with self._guard:
                if started >= self._key_at:
                    self._key, self._key_at = key, started
                self._refreshing = False
            return key

    def state(self) -> str:
        with self._guard:
            age = time.monotonic() - self._key_at
            key = self._key
            if key is not None and age < self.settle:
                return key
            if key is not None and age < self.max_age:
                if not self._refreshing:
                    self._refreshing = True
                    threading.Thread(target=self._take, daemon=True, name="cpqctl-state").start()
                return key
        return self._take()

    def _drop_stale(self, key: str) -> None:
        if any(k != key for k, _ in self._memo.values()):  # the repository changed
            self._memo = {n: v for n, v in self._memo.items() if v[0] == key}

    def peek(self, name: tuple) -> Any:
        """What ``name`` holds for the repository's current state, without computing it (None: nothing)."""
        key = self.state()
        hit = self._memo.get(name)
        return hit[1] if hit is not None and hit[0] == key else None

    def get(self, name: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()``'s result for ``name``, computed once per state of the repository.

        Computed by one worker thread, one at a time whatever its name (a page whose list is kept never waits):
        each may hold a whole-repository model, 0.2–0.4 GB at 50,000 accounts, and two at once would pass 0.5 GB;
        and the C allocator keeps memory freed by a thread for that thread's next allocations (an arena per thread),
        so models made by several threads one after the other would each keep their own."""
        hit = self.peek(name)
        if hit is not None:
            return hit
        return self.run(lambda: self._compute(name, compute))

    def run(self, task: Callable[[], Any]) -> Any:
        """``task()`` run by the worker thread that computes the lists (at once when called from it): its result,
        or its exception raised here."""
        if threading.current_thread() is self._worker:
            return task()
        done: Future = Future()
        with self._guard:
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, daemon=True, name="cpqctl-lists")
                self._worker.start()
            self._tasks.put((done, task))
        return done.result()

    def _work(self) -> None:
        while True:
            try:
                done, task = self._tasks.get(timeout=self.idle)
            except queue.Empty:
                with self._guard:  # a task put meanwhile is taken by this thread still
                    if self._tasks.empty():
                        self._worker = None
                        return
                continue
            try:
                done.set_result(task())
            except BaseException as e:  # the asking thread raises it
                done.set_exception(e)
            del done, task  # nothing of the last computation is held while waiting for the next
            _give_back()

    def _compute(self, name: tuple, compute: Callable[[], Any]) -> Any:
        key = self.state()  # taken before computing: a change meanwhile makes the next call compute again
        hit = self._memo.get(name)
        if hit is not None and hit[0] == key:
            return hit[1]
        with self._guard:  # before computing: the stale lists are not kept while the new one is made
            self._drop_stale(key)
        value = compute()
        with self._guard:
            self._drop_stale(key)
            self._memo[name] = (key, value)
        return value


def _give_back() -> None:
    """Hand the memory a computation freed back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    The C allocator keeps freed memory for the process's next allocations, in holes between what stays (the
    lists kept): a model of 0.25 GB made after the lists of the start would be laid beside that kept memory, not in
    it, and the server's size would be the sum. Trimmed, each computation starts from what is really held."""
    from cpqctl.load import memo

    memo.forget()  # the dates and amounts shared while loading: the model that used them is gone
    global _trim
    if _trim is None:
        import ctypes
        import ctypes.util

        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _trim = libc.malloc_trim
        except (OSError, AttributeError):  # not glibc: nothing to do
            _trim = False
    if _trim:
        _trim(0)


_trim: Any = None


def _state_key(root: Path) -> Callable[[], str]:
    def key() -> str:
        from cpqctl.load.remembered import state_key

        return state_key(root)[0]

    return key


class Site:
    """The workspace served, its day, the list cache, the locale for amounts and dates, the templates."""

    def __init__(self, workspace: Workspace, clock: Callable[[], date] | None = None) -> None:
        from dataclasses import replace

        self.clock = clock
        self.cache = ListCache(_state_key(workspace.root))
        self.ws = replace(workspace, part_files=PART_FILES)
        settings = workspace.load(frozenset())[0].settings  # cpq.toml only: the locale and company currency
        self.locale: str = settings.locale
        self.currency: str = settings.currency
        self.company: str = getattr(settings, "company_name", "") or ""
        self._env: Any = None  # the Jinja environment, made on the first page (Jinja loads lazily)

    def day(self) -> date:
        """The day pages are on: ``--as-of`` when given (the workspace's), else today at each request."""
        return self.clock() if self.clock is not None else self.ws.as_of

    def cached(self, name: tuple, compute: Callable[[], Any]) -> Any:
        return self.cache.get(name, compute)

    def blob(self):
        """Where a list's packed rows go (:class:`cpqctl.views.rows.Blob`): an unnamed temporary file in the
        repository's ``.cpq/cache/`` (on the repository's disk, never in git), else in the system's temporary folder,
        else in memory."""
        import tempfile

        from cpqctl.views.rows import Blob

        cache = self.ws.root / ".cpq" / "cache"
        return Blob(cache if cache.is_dir() else Path(tempfile.gettempdir()))

    def unknown(self, kind: str, key: str, ident: str) -> bool:
        """Whether ``ident`` is surely no ``key`` of list ``kind``: the list is cached for the repository as it
        is and does not hold it. An unknown ID is then a 404 at once, instead of the use case's whole-repository
        load that looks for the closest ID to suggest (seconds at 10,000 accounts)."""
        listing = self.cache.peek((kind, self.day()))
        if listing is None:
            return False
        ids = listing.rows.distinct(key)
        return ident not in ids and all(i.replace("/", "_") != ident for i in ids)

    # -- HTML ------------------------------------------------------------

    @property
    def env(self):
        if self._env is None:
            from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

            env = Environment(
                loader=PackageLoader("cpqctl.web", "templates"),
                autoescape=select_autoescape(default=True, default_for_string=True),
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.filters["money"] = self.money
            env.filters["num"] = self.number
            env.filters["day"] = self.date
            env.filters["stem"] = lambda number: number.replace("/", "_")
            self._env = env
        return self._env

    def money(self, value: str | None, currency: str | None = None) -> str:
        """A JSON amount (``"1234.50"``) as the locale writes it with its currency (Babel, cpqctl.render.fmt)."""
        from cpqctl.render import fmt

        amount = _decimal(value)
        if amount is None:
            return "—"
        return fmt.money(amount, currency or self.currency, self.locale)

    def number(self, value: str | None) -> str:
        from cpqctl.render import fmt

        amount = _decimal(value)
        return "—" if amount is None else fmt.number(amount, self.locale)

    def date(self, value: str | date | None) -> str:
        from cpqctl.render import fmt

        if not value:
            return "—"
        try:
            day = value if isinstance(value, date) else date.fromisoformat(value)
        except ValueError:
            return str(value)
        return fmt.date(day, self.locale)

    def html(self, template: str, **context) -> str:
        return self.env.get_template(template).render(site=self, today=self.day(), **context)


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class Page:
    """One page of a list: ``rows`` of ``total`` (``number`` of ``pages``, :data:`PAGE_SIZE` a page)."""

    rows: list[dict]
    number: int
    pages: int
    total: int

    def json(self) -> dict:
        return {"number": self.number, "pages": self.pages, "size": PAGE_SIZE, "total": self.total}


def paged(rows: Sequence[dict], page: str | None) -> Page:
    """Page ``page`` (1-based text from the query; anything else is page 1; past the end: the last page)."""
    total = len(rows)
    pages = max(1, -(-total // PAGE_SIZE))
    n = int(page) if page and page.isascii() and page.isdigit() and len(page) < 7 else 1
    n = min(max(n, 1), pages)
    return Page(list(rows[(n - 1) * PAGE_SIZE : n * PAGE_SIZE]), n, pages, total)
