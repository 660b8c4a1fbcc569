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
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
    _key: str | None = None
    _key_at: float = 0.0
    _refreshing: bool = False
    _memo: dict[tuple, Any] = field(default_factory=dict)
    _computing: threading.RLock = field(default_factory=threading.RLock)
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

    def peek(self, name: tuple) -> Any:
        """What ``name`` holds for the repository's current state, without computing it (None: nothing)."""
        key = self.state()
        hit = self._memo.get(name)
        return hit[1] if hit is not None and hit[0] == key else None

    def get(self, name: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()``'s result for ``name``, computed once per state of the repository.

        One computation at a time, whatever its name (a page whose list is kept never waits): each may hold a
        whole-repository model, 0.2–0.4 GB at 50,000 accounts, and two at once would pass 0.5 GB. Re-entrant: a
        computation's own loads (:class:`SharedLoads`) come through here."""
        hit = self.peek(name)
        if hit is not None:
            return hit
        with self._computing:
            key = self.state()  # taken before computing: a change meanwhile makes the next call compute again
            hit = self._memo.get(name)
            if hit is not None and hit[0] == key:
                return hit[1]
            value = compute()
            with self._guard:
                if any(k != key for k, _ in self._memo.values()):  # the repository changed: drop what is stale
                    self._memo = {n: v for n, v in self._memo.items() if v[0] == key}
                self._memo[name] = (key, value)
            return value


def _state_key(root: Path) -> Callable[[], str]:
    def key() -> str:
        from cpqctl.load.remembered import state_key

        return state_key(root)[0]

    return key


@dataclass
class SharedLoads(Workspace):
    """The served workspace: inside :meth:`sharing` (the home page's lists, the server's start), a whole-repository
    load is shared by the use cases that ask for the same kinds while the repository is unchanged, instead of each
    list — accounts, contracts, the board; quotes, renewals — loading it again.

    One load is kept at a time, and none outside :meth:`sharing`: a model of 50,000 accounts is 0.2–0.4 GB, and
    the lists computed from it are what is kept (:class:`ListCache`). The computations run one at a time
    (:meth:`ListCache.get`), so the slot is only ever used by one of them."""

    cache: ListCache | None = None
    _slot: tuple | None = field(default=None, init=False, repr=False)  # (kinds, state key, (repo, findings))
    _sharing: int = field(default=0, init=False, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @contextmanager
    def sharing(self) -> Iterator[None]:
        """Loads are shared until the last ``sharing`` block open ends (then the load kept is dropped)."""
        with self._guard:
            self._sharing += 1
        try:
            yield
        finally:
            with self._guard:
                self._sharing -= 1
                if not self._sharing:
                    self._slot = None

    def load(self, kinds=None):
        if self.cache is None or not self._sharing:
            return super().load(kinds)
        name = None if kinds is None else tuple(sorted(kinds))
        key = self.cache.state()
        slot = self._slot
        if slot is None or slot[:2] != (name, key):
            self._slot = slot = None  # dropped before the next is loaded: never two models at once
            slot = (name, key, Workspace.load(self, kinds))
            if self._sharing:
                self._slot = slot
        repo, diags = slot[2]
        return repo, list(diags)  # the records are immutable; the list of findings is the caller's


class Site:
    """The workspace served, its day, the list cache, the locale for amounts and dates, the templates."""

    def __init__(self, workspace: Workspace, clock: Callable[[], date] | None = None) -> None:
        from dataclasses import fields

        self.clock = clock
        self.cache = ListCache(_state_key(workspace.root))
        self.ws = SharedLoads(**{f.name: getattr(workspace, f.name) for f in fields(workspace)}, cache=self.cache)
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

    def sharing(self):
        """A block whose lists share their whole-repository loads (:meth:`SharedLoads.sharing`)."""
        return self.ws.sharing()

    def unknown(self, kind: str, key: str, ident: str) -> bool:
        """Whether ``ident`` is surely no ``key`` of list ``kind``: the list is cached for the repository as it
        is and does not hold it. An unknown ID is then a 404 at once, instead of the use case's whole-repository
        load that looks for the closest ID to suggest (seconds at 10,000 accounts)."""
        listing = self.cache.peek((kind, self.day()))
        if listing is None:
            return False
        ids = listing.rows.column(key)
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
