"""The parse cache: each data file's :class:`FileResult` kept as plain JSON in ``.cpq/cache/``.

Why: parsing YAML with positions is most of the cost of loading a big
repository (SPEC §8: 10,000 accounts checked in seconds), and between two runs
almost every file is unchanged. A file's result is reused when its size,
``mtime_ns``, inode and ``ctime_ns`` are what they were; any other file is parsed
again (``ctime``: an edit that keeps size and mtime still shows).

Why JSON and a typed codec, not pickle or marshal: the cache is data only — a
cache that reaches a commit cannot run code; the worst a damaged or forged
cache can do is miss. Records are encoded positionally by the field types
declared in :mod:`cpqctl.core.model` (Decimal as its string, date ISO, a dataclass
as the list of its fields), checked exactly on the way in, so decoding gives
back the very same types and values. A file whose result does not fit the
declared types is simply not cached.

Layout: a few shard files (``shard-N.json``), each holding the files of one top
folder (by a stable hash of the path within it), so that a load of some kinds
reads only their folders' shards: a report reads contracts/ and catalog/, not the
invoice ledger that outweighs them. Each is read at most once per run, rewritten
atomically (temp + rename) at the end of a load only when something in it changed.
A shard is JSON lines: a head line (format, key, the table of key lists), then one
line per file, its path as a JSON string, a tab, its entry as JSON. Only the lines
of the files asked for are decoded: a run in parts (:mod:`cpqctl.load.parts`) reads
every shard once a part and decodes an eighth of it, and a rewrite copies the lines
it did not decode as they were. A shard that is unreadable or from another format,
cpqctl version or loader code is ignored and rebuilt; a damaged or cut line is a
miss for its file alone.
"""

from __future__ import annotations

import collections.abc
import contextlib
import dataclasses
import functools
import gc
import hashlib
import json
import os
import time
import typing
import zlib
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType, NoneType, UnionType

from cpqctl.load import memo, repo as _repo
from cpqctl.load.positions import Positions, pending_of, well_formed
from cpqctl.load.repo import FileResult

FORMAT = 5  # 2: entries keyed on ctime_ns too; 3: shards per top folder; 4: key positions as one string;
# 5: JSON lines, each file's entry decoded only when asked for
# Shards per top folder, in shard-number order ("": every other file: periods/, fx/, indices/). Before
# shards were per folder, a report's load of the contracts at 10,000 accounts billed through a year found the
# shards four times the size of its YAML (the ledger's entries in them) and parsed 20,000 files instead: 11 s.
_GROUPS = (("invoices/", 128), ("contracts/", 64), ("quotes/", 8), ("payments/", 8), ("catalog/", 1), ("", 1))
SHARDS = sum(n for _, n in _GROUPS)
CACHE_DIR = ".cpq/cache"
# A file changed less than this long before it was read is not cached: a later edit within the
# file system's timestamp granularity could keep size and mtime (git's "racily clean" problem).
RACY_NS = 2_000_000_000
# Read the cache only when it is cheaper than parsing. Measured on 10,000 accounts: 22 MB of YAML
# parse in ~10 s, their 24 MB of shards decode in ~1.3 s, so a shard byte costs ~1/8 of a YAML byte;
# 4 leaves a margin. A subset load (`quote show` on a big repo) parses its few files instead of
# decoding whole shards; below READ_ALWAYS bytes (a few ms) the cache is always worth reading. The
# loads of one record's files never read the shards (``load_files(..., own=True)``).
READ_RATIO = 4
READ_ALWAYS = 256 * 1024

_CODE_FILES = (  # relative to the package; tests/test_cache.py: each one exists (a moved file would drop out)
    "core/model.py",
    "core/diagnostics.py",
    "core/money.py",
    "load/repo.py",
    "load/build.py",
    "load/schema.py",
    "load/yamlpos.py",
    "load/cache.py",
    "load/positions.py",
    "load/memo.py",
    "formats/mail.py",  # the e-mail address rule the schema applies
)


class Uncacheable(Exception):
    """A value that does not fit its declared field type (the file is then not cached)."""


# --------------------------------------------------------------------------- codec


def _model_classes() -> list[type]:
    from cpqctl.core import model
    from cpqctl.core.diagnostics import Diagnostic

    found = [  # every record a file yields; not the repository they make up (never cached as such)
        v
        for v in vars(model).values()
        if isinstance(v, type)
        and dataclasses.is_dataclass(v)
        and v.__module__ == model.__name__
        and v is not model.Repo
    ]
    return [*found, Diagnostic]


def _decoder(cls: type, count: int, plan: list[tuple[int, typing.Callable]]) -> typing.Callable:
    """The decoder of a record's field list, written out for ``cls``: each field decoded where ``plan`` says (None
    stays None) and, for a plain frozen slotted dataclass (:func:`_is_plain`), set on a new instance slot by slot
    — its ``__init__`` does only that, slower — else ``cls(*values)``. A generic loop over the fields (a copy of
    the list, a loop to decode, one to set) cost a third more of a warm load. The shard's own lists are not
    changed: they may be written back."""
    decoders = dict(plan)
    names = tuple(f.name for f in dataclasses.fields(cls))
    plain = _is_plain(cls)
    env: dict[str, typing.Any] = {"cls": cls, "new": object.__new__, "ValueError": ValueError}
    values = []
    for i in range(count):
        if i in decoders:
            env[f"d{i}"] = decoders[i]
            values.append(f"(None if v[{i}] is None else d{i}(v[{i}]))")
        else:
            values.append(f"v[{i}]")
    lines = [
        "def dec(v):",
        f"    if len(v) != {count}:",
        f"        raise ValueError('{cls.__name__} takes {count} fields')",
    ]
    if plain:
        lines.append("    o = new(cls)")
        for i, (name, value) in enumerate(zip(names, values)):
            env[f"s{i}"] = getattr(cls, name).__set__
            lines.append(f"    s{i}(o, {value})")
        lines.append("    return o")
    else:
        lines.append(f"    return cls({', '.join(values)})")
    exec("\n".join(lines), env)  # code made here from field indexes and names, no data
    return env["dec"]


def _is_plain(cls: type) -> bool:
    """A frozen slotted dataclass whose ``__init__`` only sets each field: no ``__post_init__``, no field outside
    ``__init__``."""
    names = tuple(f.name for f in dataclasses.fields(cls))
    return bool(
        cls.__dataclass_params__.frozen
        and getattr(cls, "__slots__", None) == names
        and not hasattr(cls, "__post_init__")
        and all(f.init for f in dataclasses.fields(cls))
    )


class Codec:
    """Encode/decode model records as JSON-able lists, driven by each class's declared field types.

    Positions are most of a cache, so they are kept small: a Source is
    ``[line, column]`` when it points into the file being coded (``self.rel``),
    ``[file, line, column]`` otherwise; a record's key positions (``at``) are
    ``[keyset, "line,column,line,column,…"]`` where ``keyset`` indexes the
    shard's table of key lists (``self.keysets``).
    """

    def __init__(self) -> None:
        self.rel = ""
        self.keysets: list[list[str]] = []
        self._keyset_ids: dict[tuple[str, ...], int] = {}
        self.classes = {c.__name__: c for c in _model_classes()}
        self._enc: dict[type, typing.Callable] = {}
        self._dec: dict[type, typing.Callable] = {}
        for cls in self.classes.values():
            self._dataclass(cls)

    def bind(self, keysets: list[list[str]]) -> None:
        """Code the entries of one shard, whose key-list table is ``keysets`` (extended by encoding)."""
        self.keysets = keysets
        self._keyset_ids = {tuple(k): i for i, k in enumerate(keysets)}

    # -- building the converters from annotations

    def _dataclass(self, cls: type) -> tuple[typing.Callable, typing.Callable]:
        if cls in self._enc:
            return self._enc[cls], self._dec[cls]
        from cpqctl.core.model import Source

        if cls is Source:
            return self._source()
        # placeholders first: a class may (indirectly) refer to itself
        self._enc[cls] = lambda v: enc(v)
        self._dec[cls] = lambda v: dec(v)
        module = __import__(cls.__module__, fromlist=["_"])
        # explicit empty locals: a slotted class's own namespace would shadow `date` with its field
        hints = typing.get_type_hints(cls, globalns=vars(module), localns={})
        names = [f.name for f in dataclasses.fields(cls)]
        pairs = [self._converters(hints[name], f"{cls.__name__}.{name}") for name in names]
        encs = [e for e, _ in pairs]
        # (field index, decoder) of the fields JSON does not give back as they are; None is kept as is
        # (the encoder wrote None only for optional fields), which spares a call per optional value
        plan = [(i, d.inner if isinstance(d, _Optional) else d) for i, (_, d) in enumerate(pairs) if d is not None]
        getters = [_getter(name) for name in names]

        def enc(v, cls=cls, encs=encs, getters=getters):
            if type(v) is not cls:
                raise Uncacheable(f"{type(v).__name__} where {cls.__name__} is declared")
            return [e(g(v)) for e, g in zip(encs, getters)]

        dec = _decoder(cls, len(names), plan)

        self._enc[cls], self._dec[cls] = enc, dec
        return enc, dec

    def _source(self):
        from cpqctl.core.model import Source

        if Source in self._enc:
            return self._enc[Source], self._dec[Source]

        def enc(v):
            if type(v) is not Source or type(v.file) is not str or type(v.line) is not int or type(v.column) is not int:
                raise Uncacheable("a malformed Source")
            return [v.line, v.column] if v.file == self.rel else [v.file, v.line, v.column]

        def dec(v):
            return Source(self.rel, *v) if len(v) == 2 else Source(*v)

        self._enc[Source], self._dec[Source] = enc, dec
        return enc, dec

    def _keyset(self, keys: tuple[str, ...]) -> int:
        """The shard's index of a record's key list, added on first use."""
        ks = self._keyset_ids.get(keys)
        if ks is None:
            ks = self._keyset_ids[keys] = len(self.keysets)
            self.keysets.append(list(keys))
        return ks

    def _positions(self, where: str):
        """A record's key positions: ``[keyset, "line,column,…"]`` when all point into the file,
        ``{"keys": [key, source, …]}`` in the rare case one points elsewhere."""
        enc_src, dec_src = self._source()

        def enc(v):
            if type(v) is not Positions and type(v) is not MappingProxyType:
                raise Uncacheable(f"{where}: {type(v).__name__} where a read-only mapping is declared")
            pending = pending_of(v)
            if pending is not None and pending[0] == self.rel:  # still unread: encode without building it
                return [self._keyset(tuple(pending[1])), pending[2]]
            if any(type(k) is not str for k in v):
                raise Uncacheable(f"{where}: a non-string key")
            srcs = [enc_src(s) for s in v.values()]
            if any(len(s) != 2 for s in srcs):
                return {"keys": [x for k, s in zip(v, srcs) for x in (k, s)]}
            return [self._keyset(tuple(v)), ",".join(str(n) for s in srcs for n in s)]

        def dec(v):
            if type(v) is dict:
                keys = v["keys"]
                return MappingProxyType(dict(zip(keys[::2], map(dec_src, keys[1::2]))))
            keys = self.keysets[v[0]]
            if len(v) != 2 or not well_formed(keys, v[1]):
                raise ValueError("key positions that do not match their key set")
            return Positions(self.rel, keys, memo.intern(v[1]))  # files written alike share it

        return enc, dec

    def _converters(self, tp, where: str) -> tuple[typing.Callable, typing.Callable | None]:
        """(encoder, decoder) for a declared type; decoder None means "JSON gives it back as it is"."""
        if tp in (str, int, bool):

            def enc(v, tp=tp):
                if type(v) is not tp:
                    raise Uncacheable(f"{where}: {type(v).__name__} where {tp.__name__} is declared")
                return v

            return enc, (memo.intern if tp is str else None)
        if tp is object:  # free-form settings values: only what JSON keeps exactly

            def enc(v):
                if type(v) not in (str, int, bool, NoneType):
                    raise Uncacheable(f"{where}: {type(v).__name__} in a free-form value")
                return v

            return enc, None
        if tp is Decimal:

            def enc(v):
                if type(v) is not Decimal:
                    raise Uncacheable(f"{where}: {type(v).__name__} where Decimal is declared")
                return str(v)  # exact, exponent and sign included: Decimal(str(d)) is d

            return enc, memo.decimal
        if tp is date:

            def enc(v):
                if type(v) is not date:
                    raise Uncacheable(f"{where}: {type(v).__name__} where date is declared")
                return v.isoformat()

            return enc, memo.day
        if dataclasses.is_dataclass(tp):
            return self._dataclass(tp)
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (UnionType, typing.Union):
            rest = [a for a in args if a is not NoneType]
            if len(rest) != 1 or len(args) != 2:
                raise TypeError(f"{where}: only `X | None` unions can be cached, not {tp}")
            e, d = self._converters(rest[0], where)

            def enc_opt(v, e=e):
                return None if v is None else e(v)

            return enc_opt, (None if d is None else _Optional(d))
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            e, d = self._converters(args[0], where)

            def enc_tuple(v, e=e):
                if type(v) is not tuple:
                    raise Uncacheable(f"{where}: {type(v).__name__} where a tuple is declared")
                return [e(x) for x in v]

            return enc_tuple, (tuple if d is None else (lambda v, d=d: tuple(map(d, v))))
        if origin is collections.abc.Mapping:
            from cpqctl.core.model import EMPTY, Source

            if args[0] is not str:
                raise TypeError(f"{where}: only str-keyed mappings can be cached")
            if args[1] is Source:
                return self._positions(where)
            e, d = self._converters(args[1], where)

            def enc_map(v, e=e):  # flat [key, value, key, value, …]
                if type(v) is not MappingProxyType:
                    raise Uncacheable(f"{where}: {type(v).__name__} where a read-only mapping is declared")
                if any(type(k) is not str for k in v):
                    raise Uncacheable(f"{where}: a non-string key")
                return [x for k, val in v.items() for x in (k, e(val))]

            # an empty one (most invoices' `kept`, most prices) is the model's one shared empty mapping
            # (only an empty list is: anything else that is no list is a damaged entry, a miss)
            if d is None:
                return enc_map, lambda v: MappingProxyType(dict(zip(v[::2], v[1::2]))) if v != [] else EMPTY
            return enc_map, lambda v, d=d: MappingProxyType(dict(zip(v[::2], map(d, v[1::2])))) if v != [] else EMPTY
        raise TypeError(f"{where}: no cache encoding for {tp!r}")

    # -- whole values

    def encode_value(self, v):
        """A record, or a list of them (a catalog file yields two lists): self-describing at this level."""
        if type(v) is list:
            return {"list": [self.encode_value(x) for x in v]}
        cls = type(v)
        if self.classes.get(cls.__name__) is not cls:
            raise Uncacheable(f"{cls.__name__} is not a model record")
        return {"type": cls.__name__, "fields": self._enc[cls](v)}

    def decode_value(self, v):
        if "list" in v:
            return [self.decode_value(x) for x in v["list"]]
        return self._dec[self.classes[v["type"]]](v["fields"])

    def encode_result(self, rel: str, res: FileResult) -> list:
        """``[kind, records, diagnostics]`` of one file (call :meth:`bind` first)."""
        from cpqctl.core.diagnostics import Diagnostic

        if type(res.kind) is not str or type(res.records) is not list or type(res.diagnostics) not in (list, tuple):
            raise Uncacheable("a malformed FileResult")
        self.rel = rel
        return [
            res.kind,
            [self.encode_value(r) for r in res.records],
            [self._enc[Diagnostic](d) for d in res.diagnostics],
        ]

    def decode_result(self, rel: str, data: list) -> FileResult:
        from cpqctl.core.diagnostics import Diagnostic

        self.rel = rel
        kind, records, diags = data
        dec_diag = self._dec[Diagnostic]
        # most files have no finding: one shared empty tuple, not a list each (175,000 files at 50,000 accounts)
        found = [dec_diag(d) for d in diags] if diags else ()
        return FileResult(kind, [self.decode_value(r) for r in records], found)  # type: ignore[arg-type]


class _Optional:
    """The decoder of an ``X | None`` field: None stays None."""

    __slots__ = ("inner",)

    def __init__(self, inner) -> None:
        self.inner = inner

    def __call__(self, v):
        return None if v is None else self.inner(v)


def _getter(name: str):
    return lambda v: getattr(v, name)


@functools.lru_cache(maxsize=1)
def codec() -> Codec:
    return Codec()


# --------------------------------------------------------------------------- shards


@functools.lru_cache(maxsize=1)
def cache_key() -> str:
    """Format version, cpqctl version and the loader's own source: any change makes every shard stale.

    Hashing the source (a few hundred kB, well under a millisecond) keeps a
    development checkout from reusing results an older loader produced.
    """
    from cpqctl._version import __version__

    h = hashlib.sha256(f"{FORMAT}\0{__version__}".encode())
    pkg = Path(__file__).resolve().parents[1]
    for name in _CODE_FILES:
        try:
            h.update((pkg / name).read_bytes())
        except OSError:
            h.update(b"-")
    return h.hexdigest()


def shard_of(rel: str) -> int:
    """The shard of ``rel``: one of its top folder's (:data:`_GROUPS`), by a stable hash of the path."""
    base = 0
    for prefix, n in _GROUPS:
        if rel.startswith(prefix):
            return base + (zlib.crc32(rel.encode("utf-8")) % n if n > 1 else 0)
        base += n
    raise AssertionError("the last group takes every path")


def shard_path(root: Path, n: int) -> Path:
    return root / CACHE_DIR / f"shard-{n}.json"


def _rel_json(rel: str) -> bytes:
    return json.dumps(rel, ensure_ascii=False).encode("utf-8")


class _Shard:
    """One shard file in memory: its table of key lists, and each file's entry ``[size, mtime_ns, ino, ctime_ns,
    result]``, decoded (``entries``, by path) or still the bytes of its line (``raw``, by the path's JSON)."""

    __slots__ = ("keysets", "entries", "raw", "dirty")

    def __init__(self, keysets: list | None = None, raw: dict[bytes, bytes] | None = None, dirty: bool = False):
        self.keysets: list = keysets if keysets is not None else []
        self.entries: dict[str, object] = {}
        self.raw: dict[bytes, bytes] = raw if raw is not None else {}
        self.dirty = dirty

    def get(self, rel: str):
        """The file's entry, decoded from its line on first use (None: none, or a line that is no JSON)."""
        if rel in self.entries:
            return self.entries[rel]
        line = self.raw.pop(_rel_json(rel), None) if self.raw else None
        if line is None:
            return None
        try:
            entry = json.loads(line)
        except ValueError:  # a damaged line: a miss, and the shard is written again without it
            self.dirty = True
            return None
        self.entries[rel] = entry
        return entry

    def pop(self, rel: str) -> bool:
        """Forget the file's entry; whether it had one."""
        if self.entries.pop(rel, None) is not None:
            return True
        return bool(self.raw) and self.raw.pop(_rel_json(rel), None) is not None

    def __len__(self) -> int:
        return len(self.entries) + len(self.raw)

    def paths(self) -> list[str]:
        """Every file with an entry (a path whose JSON is damaged is left out and the shard marked dirty)."""
        out = list(self.entries)
        for key in list(self.raw):
            try:
                rel = json.loads(key)
            except ValueError:
                rel = None
            if type(rel) is not str or rel in self.entries:
                del self.raw[key]
                self.dirty = True
            else:
                out.append(rel)
        return out

    def lines(self, key: str) -> Iterator[bytes]:
        """The shard file's bytes, line by line: the head, then every entry in path order (a line not decoded is
        copied as it was read)."""
        head = {"format": FORMAT, "key": key, "keysets": self.keysets}
        yield json.dumps(head, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        rows: list[tuple[str, bytes, object]] = [(rel, _rel_json(rel), e) for rel, e in self.entries.items()]
        for k, line in self.raw.items():
            rows.append((json.loads(k), k, line))  # paths() has dropped the undecodable ones
        rows.sort(key=lambda r: r[0])
        for _, k, e in rows:
            body = e if type(e) is bytes else json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            yield k + b"\t" + body + b"\n"


def _read_shard(path: Path, key: str) -> _Shard:
    """The shard at ``path``, its lines split but not decoded; an empty dirty one when it is missing or its head is
    unusable (it is then rebuilt)."""
    try:
        data = path.read_bytes()
    except OSError:
        return _Shard(dirty=True)
    lines = data.split(b"\n")
    del data
    try:
        head = json.loads(lines[0])
    except ValueError:  # ValueError covers bad JSON and bad UTF-8
        return _Shard(dirty=True)
    if (
        type(head) is not dict
        or head.get("format") != FORMAT
        or head.get("key") != key
        or type(head.get("keysets")) is not list
        or not all(type(k) is list and all(type(x) is str for x in k) for k in head["keysets"])
    ):
        return _Shard(dirty=True)
    raw: dict[bytes, bytes] = {}
    dirty = False
    for line in lines[1:]:
        rel, tab, body = line.partition(b"\t")
        if tab:
            raw[rel] = body
        elif line:  # a line cut short (the file is written whole by rename; a damaged copy): rewrite without it
            dirty = True
    if lines[-1]:  # the last line had no newline: cut short
        dirty = True
    return _Shard(head["keysets"], raw, dirty)


def shard_entries(path: Path) -> dict[str, list]:
    """Every entry of the shard file at ``path``, decoded, by path (tests and tools; {} when it is unusable)."""
    try:
        lines = path.read_bytes().split(b"\n")
        json.loads(lines[0])
    except (OSError, ValueError):
        return {}
    out = {}
    for line in lines[1:]:
        rel, tab, body = line.partition(b"\t")
        if tab:
            try:
                out[json.loads(rel)] = json.loads(body)
            except ValueError:
                continue
    return out


def write_json(root: Path, path: Path, data) -> None:
    """Write ``data`` as compact JSON to a file under ``.cpq/`` (temp file + rename). A cache file that
    cannot be written is no error: a read-only checkout still works, only slower."""
    write_cache_file(root, path, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def write_cache_file(root: Path, path: Path, payload: bytes | collections.abc.Iterable[bytes]) -> None:
    """:func:`write_json`'s write of bytes (or chunks of them)."""
    from cpqctl.store import Store, replace_file

    try:
        Store(root).ensure_cpq_dir()  # `.cpq/` with its `.gitignore` of `*`: the cache never reaches a commit
        path.parent.mkdir(exist_ok=True)
        replace_file(path, payload, durable=False)
    except OSError:
        pass


# --------------------------------------------------------------------------- the seam


def _stat(path: str | Path) -> tuple[int, int, int, int] | None:
    """What a cached result is keyed on: size, ``mtime_ns``, inode and ``ctime_ns``.

    ``mtime`` can be set back by anyone (``touch -d``, ``os.utime``): an edit that
    keeps the size and restores the mtime would otherwise be hidden. ``ctime``
    cannot be set from user space; any write or utime call moves it.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns


@contextlib.contextmanager
def _gc_paused(freeze: bool):
    """Loading builds millions of small acyclic objects: the cyclic GC would rescan the growing heap
    again and again (it more than triples a warm load of 10,000 accounts) and find nothing to free.

    With ``freeze``, what exists after the load is moved out of the collector's
    sight (``gc.freeze``): the records live as long as the command anyway, and
    otherwise the first collections after re-enabling would scan them all again
    (half a second on 10,000 accounts). Refcounting still frees them; only
    cyclic garbage present at that moment would be kept, so small loads (tests)
    do not freeze.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if freeze:
                gc.freeze()
            gc.enable()


FREEZE_MIN = 2000  # files in a load large enough to freeze the heap after it

_TAKEN: dict[str, tuple[int, dict[str, tuple[int, int, int, int]]]] = {}


@contextlib.contextmanager
def taken(root: Path, stats: dict[str, tuple[int, int, int, int]], when_ns: int):
    """Within: a load of ``root`` keys its files on ``stats`` (path → size, ``mtime_ns``, inode, ``ctime_ns``, as
    :func:`_stat` gives them), taken at ``when_ns`` by :func:`cpqctl.load.remembered.state_key` for the same
    command, instead of stat-ing each file again (58,000 calls at 10,000 accounts). The racy window counts from
    ``when_ns``. A file changed since is read as it was when the stats were taken (a cache hit: the state the
    command's key names), or parsed anew; then its entry is kept under the stat taken before the change, which no
    later stat can match (its ``ctime`` has moved), so it is never read back: a miss, never a wrong hit.

    The load takes each stat out of ``stats`` (so one load per context: the files of a second would be stat-ed
    again)."""
    key = os.fspath(root)
    _TAKEN[key] = (when_ns, stats)
    try:
        yield
    finally:
        _TAKEN.pop(key, None)


def load_files(
    root: Path, files: list[tuple[str, str]], meter=None, own: bool = False, part: bool = False
) -> dict[str, FileResult]:
    """Each file's result (path → result, in the order of ``files``), from the cache when the file is unchanged,
    else parsed (and then cached).

    ``meter`` (:mod:`cpqctl.progress`), when given, sees one ``advance`` per file. ``own``: the files of one
    record (a single-record command, a write about one account) are parsed, never looked up in the shards: a
    shard holds hundreds of other files, whatever the repository's size (flat with size, issue 21).
    """
    if not files:
        return {}
    if own:
        return {rel: _repo.load_file(root, rel, kind) for rel, kind in files}
    from cpqctl.progress import SILENT

    meter = meter or SILENT
    meter.start("Loading files", len(files))
    with _gc_paused(len(files) >= FREEZE_MIN):
        return _load_files(root, files, meter, part)


def _load_files(root: Path, files: list[tuple[str, str]], meter, part: bool = False) -> dict[str, FileResult]:
    started = time.time_ns()
    base = os.fspath(root)
    pre = _TAKEN.get(base)
    if pre is not None:
        started = min(started, pre[0])
        known = pre[1]  # taken over, not copied: one stat per file is held during the load, not two
        stats = {rel: known.pop(rel, None) or _stat(os.path.join(base, rel)) for rel, _ in files}
    else:
        stats = {rel: _stat(os.path.join(base, rel)) for rel, _ in files}
    by_shard: dict[int, list[tuple[str, str]]] = {}
    for rel, kind in files:
        by_shard.setdefault(shard_of(rel), []).append((rel, kind))
    shard_bytes = sum((_stat(shard_path(root, n)) or (0,))[0] for n in by_shard)
    yaml_bytes = sum(s[0] for s in stats.values() if s)
    # a few files out of a big cache: parsing is cheaper (not for a part of a whole load: the others read the rest)
    if not part and shard_bytes > READ_RATIO * yaml_bytes + READ_ALWAYS:
        out = {}
        for rel, kind in files:
            out[rel] = _repo.load_file(root, rel, kind)
            meter.advance()
        return out

    key = cache_key()
    cdc = codec()
    # one dict, in the order of ``files``, filled shard by shard: the load's result is not copied at its peak
    results: dict[str, FileResult] = dict.fromkeys(rel for rel, _ in files)  # type: ignore[assignment]
    for n, group in sorted(by_shard.items()):  # one shard at a time: only one is ever held as JSON
        shard = _read_shard(shard_path(root, n), key)
        cdc.bind(shard.keysets)
        for rel, kind in group:  # each stat dropped once used: they would otherwise add to the load's peak
            results[rel] = _one(root, rel, kind, stats.pop(rel, None), shard, cdc, started)
            meter.advance()
        asked = {rel for rel, _ in group}
        if not part and len(shard) > len(group):  # entries of files not asked for: still there?
            shard.dirty = shard.dirty or any(
                not os.path.isfile(os.path.join(base, rel)) for rel in shard.paths() if rel not in asked
            )
        if shard.dirty:
            _save(root, n, key, shard, asked)
        del shard
    return results


def _one(root: Path, rel: str, kind: str, st, shard: _Shard, cdc: Codec, started: int) -> FileResult:
    """The file's result from its shard entry when its stat matches, else parsed and entered."""
    hit = shard.get(rel)
    if st is not None and type(hit) is list and len(hit) == 5 and hit[:4] == list(st):
        try:
            res = cdc.decode_result(rel, hit[4])
            if res.kind == kind:
                return res
        except Exception:  # a damaged entry is a miss, never an error
            pass
    res = _repo.load_file(root, rel, kind)
    if not res.diagnostics:
        res.diagnostics = ()  # type: ignore[assignment]  # as a cached result gives it back
    if shard.pop(rel):
        shard.dirty = True
    if st is not None and st[1] < started - RACY_NS and not any(d.code == "E-READ" for d in res.diagnostics):
        try:
            shard.entries[rel] = [*st, cdc.encode_result(rel, res)]
            shard.dirty = True
        except Uncacheable:
            pass
    return res


def _save(root: Path, n: int, key: str, shard: _Shard, requested: set[str]) -> None:
    """Write one shard, dropping entries of files that are gone (``requested``: the shard's files this load read)."""
    base = os.fspath(root)
    for rel in shard.paths():
        if rel not in requested and not os.path.isfile(os.path.join(base, rel)):
            shard.pop(rel)
    write_cache_file(root, shard_path(root, n), shard.lines(key))
