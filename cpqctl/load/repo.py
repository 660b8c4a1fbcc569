"""Finding a data repository and loading its files into a :class:`~cpqctl.core.model.Repo`.

Each file goes parse → convert (schema) → build (records); every problem is
collected as a :class:`~cpqctl.core.diagnostics.Diagnostic`, nothing is raised for
bad data. Only an unusable repository (none found, unreadable cpq.toml) raises
:class:`~cpqctl.core.diagnostics.CpqError` with exit code 2.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

from cpqctl.core import merges
from cpqctl.core.diagnostics import Diagnostic, UsageError
from cpqctl.core.merges import RESOLVE_HINT
from cpqctl.core.model import Repo, Source
from cpqctl.core.numbering import file_stem
from cpqctl.formats.digest import verify
from cpqctl.load import build, yamlpos
from cpqctl.load.schema import ID_RE, SCHEMAS, convert

ENV_REPO = "CPQ_REPO"


def find_root(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> Path:
    """``--repo`` / ``CPQ_REPO``, else the nearest folder upwards holding cpq.toml."""
    if explicit:
        p = Path(explicit).expanduser()
        if not (p / "cpq.toml").is_file():
            raise UsageError(
                "E-NO-REPO",
                f"{p} is not a cpqctl data repository (no cpq.toml there)",
                "create one with `cpqctl init DIR`, or point --repo at a folder holding cpq.toml",
            )
        return p.resolve()
    here = (cwd or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "cpq.toml").is_file():
            return d
    raise UsageError(
        "E-NO-REPO",
        "no cpqctl data repository here (no cpq.toml in this folder or above)",
        "run `cpqctl init` to create one, `cpqctl tour` to try the example, or pass --repo PATH",
    )


# --------------------------------------------------------------------------- cpq.toml


def _toml_positions(text: str) -> dict[tuple[str, ...], tuple[int, int]]:
    """Best-effort (line, column) of each `key = value` by its table path (tomllib keeps none)."""
    out: dict[tuple[str, ...], tuple[int, int]] = {}
    table: tuple[str, ...] = ()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("["):
            name = line.strip("[]").split("#")[0].strip().strip("[]").strip()
            table = tuple(part.strip().strip('"') for part in name.split("."))
            out[table] = (n, raw.index("[") + 1)
            continue
        m = re.match(r'\s*"?([A-Za-z0-9_.-]+)"?\s*=', raw)
        if m:
            out[table + (m.group(1),)] = (n, m.start(1) + 1)
    return out


def _to_positioned(value, path: tuple[str, ...], pos: dict):
    line, col = pos.get(path, pos.get(path[:-1], (1, 1)))
    if isinstance(value, dict):
        m = yamlpos.YMap()
        m.line, m.column, m.keypos = line, col, {}
        for k, v in value.items():
            m[k] = _to_positioned(v, path + (k,), pos)
            m.keypos[k] = pos.get(path + (k,), (line, col))
        return m
    if isinstance(value, list):
        s = yamlpos.YSeq(_to_positioned(v, path, pos) for v in value)
        s.line, s.column = line, col
        return s
    if isinstance(value, bool):
        text, plain = ("true" if value else "false"), True
    elif isinstance(value, (int, Decimal)):
        text, plain = str(value), False
    else:
        text, plain = str(value), False
    sc = yamlpos.Scalar(text)
    sc.line, sc.column, sc.plain = line, col, plain
    return sc


def load_settings(root: Path) -> tuple[object, list[Diagnostic]]:
    path = root / "cpq.toml"
    try:
        st = os.lstat(path)
    except OSError:
        st = None  # reported below as unreadable
    if st is not None and not stat.S_ISREG(st.st_mode):  # a link could make any file of the machine the settings
        d = _odd_entry("cpq.toml", st)
        raise UsageError(d.code, d.message, d.hint, src=Source("cpq.toml"))
    try:
        text = path.read_text(encoding="utf-8")
        marker = merges.first_marker(text)
        if marker is not None:
            raise UsageError(
                "E-MERGE-CONFLICT",
                "cpq.toml: unresolved git merge conflict: both sides are in the file",
                "edit cpq.toml: keep the lines you want, delete the marker lines, then `git add cpq.toml`",
                src=Source("cpq.toml", marker, 1),
            )
        data = tomllib.loads(text, parse_float=Decimal)  # a float never exists
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            "E-SETTINGS", f"cpq.toml cannot be read: {exc}", "check the file's permissions and encoding"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            "E-SETTINGS", f"cpq.toml is not valid TOML: {exc}", "fix the syntax; `cpqctl init` writes a valid example"
        ) from None
    obj, problems = convert(_to_positioned(data, (), _toml_positions(text)), SCHEMAS["cpq"])
    diags = [Diagnostic("cpq.toml", p.line, p.column, p.code, p.message, p.hint, p.severity) for p in problems]
    settings = build.settings(obj)
    indices = load_indices(root, diags)
    settings = replace(settings, indices=indices) if indices else settings
    fx_tables = load_fx_tables(root, diags)
    return (replace(settings, fx_tables=fx_tables) if fx_tables else settings), diags


def _side_files(root: Path, folder: str, kind: str, key: str, diags: list[Diagnostic]) -> MappingProxyType:
    """The records of the small files read with cpq.toml by every load (``folder/*.yaml``), by their ``key``; their
    problems go into ``diags``. A second record with a key is only possible through a wrong key inside a file,
    which is reported as E-ID-MISMATCH: it is skipped."""
    from cpqctl.load.cache import load_files  # the parse cache: an fx/ table of a few years is ~1000 lines

    out: dict[str, object] = {}
    files = _files_in(root, folder, kind, diags, (".yaml", ".yml"))
    problems = {rel: _name_problem(rel, k) for rel, k in files}
    parsed = dict(load_files(root, [(rel, k) for rel, k in files if problems[rel] is None]))
    for rel, k in files:
        problem = problems[rel]
        res = parsed[rel] if problem is None else FileResult(k, [], [problem])
        diags.extend(res.diagnostics)
        for rec in res.records:
            out.setdefault(getattr(rec, key), rec)
    return MappingProxyType(out)


def load_indices(root: Path, diags: list[Diagnostic]) -> MappingProxyType:
    """The price indices in ``indices/*.yaml`` by ID (index-linked renewal uplifts, docs/renewal-uplift.md)."""
    return _side_files(root, "indices", "index", "index", diags)


def load_fx_tables(root: Path, diags: list[Diagnostic]) -> MappingProxyType:
    """The dated exchange rates in ``fx/<CUR>.yaml`` by currency (VAT in the company currency, docs/fx.md)."""
    return _side_files(root, "fx", "fx", "currency", diags)


# --------------------------------------------------------------------------- YAML files


@dataclass(slots=True)  # one per file of a whole load: 175,000 at 50,000 accounts
class FileResult:
    """What one file yields: records of its kind and the diagnostics found in it alone."""

    kind: str
    records: list = field(default_factory=list)
    # a list while the file is read; a loaded result without findings holds the shared empty tuple (never appended to)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _diag(rel: str, p: yamlpos.Problem) -> Diagnostic:
    return Diagnostic(rel, p.line, p.column, p.code, p.message, p.hint, p.severity)


def load_file(root: Path, rel: str, kind: str) -> FileResult:
    """Parse, convert and build one file (kind: catalog | account | contract | quote | invoice)."""
    try:
        data = (root / rel).read_bytes()
    except OSError as exc:
        res = FileResult(kind)
        res.diagnostics.append(Diagnostic(rel, 1, 1, "E-READ", f"cannot read the file: {exc.strerror}", ""))
        return res
    return load_bytes(rel, kind, data)


def load_bytes(rel: str, kind: str, data: bytes) -> FileResult:
    """:func:`load_file` on the bytes a file holds (or would hold: a staged write); no IO, no parse cache."""
    res = FileResult(kind)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        res.diagnostics.append(
            Diagnostic(rel, 1, 1, "E-ENCODING", f"the file is not UTF-8: {exc.reason}", "save it as UTF-8")
        )
        return res
    marker = merges.first_marker(text)
    if marker is not None:  # a merge left both sides in the file: not YAML, and not for YAML errors to explain
        res.diagnostics.append(
            Diagnostic(
                rel,
                marker,
                1,
                "E-MERGE-CONFLICT",
                "unresolved git merge conflict: both sides are in the file",
                RESOLVE_HINT,
            )
        )
        return res
    value, problems = yamlpos.parse(text)
    res.diagnostics.extend(_diag(rel, p) for p in problems)
    if value is None and problems:
        return res
    obj, problems = convert(value, SCHEMAS[kind])
    res.diagnostics.extend(_diag(rel, p) for p in problems)
    if obj is None:
        return res
    if kind == "catalog":
        res.records = [build.products(obj, rel), build.schedules(obj, rel)]
        return res
    id_key = "currency" if kind == "fx" else kind  # account, contract, quote, invoice, index: the file's own ID
    expected = Path(rel).parent.name if kind == "account" else Path(rel).stem
    # checked before giving up on a record with missing fields: a wrong ID is a finding of its own
    found = file_stem(obj[id_key]) if kind == "invoice" and id_key in obj else obj.get(id_key)
    if id_key in obj and found != expected:
        line, col = obj.where(id_key)
        where = "its folder name" if kind == "account" else "the file name"
        res.diagnostics.append(
            Diagnostic(
                rel,
                line,
                col,
                "E-ID-MISMATCH",
                f"{kind} ID `{obj[id_key]}` differs from {where} `{expected}`",
                f"rename the {'folder' if kind == 'account' else 'file'} or fix the ID",
            )
        )
    required = [k for k, f in SCHEMAS[kind].fields.items() if f.required]
    if any(k not in obj for k in required):
        return res  # already reported as E-REQUIRED / type errors
    res.diagnostics.extend(_digest_findings(rel, kind, text, obj))
    res.records = [getattr(build, kind)(obj, rel)]
    return res


def _digest_findings(rel: str, kind: str, text: str, obj) -> list[Diagnostic]:
    """An accepted quote's or issued invoice's digest line checked against its content (:mod:`formats.digest`).

    A quote that is not accepted but still carries an acceptance digest had its
    status rolled back by hand. An invoice without a digest is judged by
    `check` (:mod:`cpqctl.core.integrity`: older invoices have none).
    """
    immutable = "accepted quotes and issued invoices are immutable: "
    if kind == "quote" and obj.get("status") != "accepted":
        if "digest" not in obj:
            return []
        line, col = obj.where("status")
        return [
            Diagnostic(
                rel,
                line,
                col,
                "E-DIGEST",
                f"quote {obj.get('quote')} says `status: {obj.get('status', 'draft')}` but carries the digest of an "
                "accepted quote: its status was changed after acceptance",
                immutable
                + "restore the file from git (`git checkout -- FILE`); change a signed quote with an amendment",
            )
        ]
    if kind == "invoice" and "digest" not in obj and not (text.startswith("digest:") or "\ndigest:" in text):
        return []
    if kind not in ("quote", "invoice"):
        return []
    p = verify(text, obj.get("digest"), after="sent" if kind == "invoice" else "nothing")
    if p is None:
        return []
    if "digest" in obj and (p.line == 0 or obj.where("digest")[0] == p.line):
        line, col = obj.where("digest")
    elif p.line:
        line, col = p.line, 1
    else:
        line, col = obj.where("status") if kind == "quote" else obj.pos
    what = "accepted quote" if kind == "quote" else "issued invoice"
    return [Diagnostic(rel, line, col, "E-DIGEST", f"this {what}: {p.message}", immutable + p.hint)]


def _files(root: Path, odd: list[Diagnostic] | None = None) -> list[tuple[str, str]]:
    """(relative path, kind) of every data file, in a stable order; files with bad names are reported by kind.

    Only regular files inside real folders are data files: a symbolic link or anything else bearing a data
    file's name (a folder ``x.yaml``, a pipe) is never read but reported into ``odd`` (:func:`_odd_entry`).
    """
    out: list[tuple[str, str]] = []
    for sub, kind in (("catalog", "catalog"), ("quotes", "quote"), ("invoices", "invoice"), ("periods", "period")):
        out += _files_in(root, sub, kind, odd, (".yaml", ".yml"))
    if _real_folder(root, "contracts", odd):
        for acc in sorted(os.scandir(root / "contracts"), key=lambda e: e.name):
            if acc.is_symlink():  # an account folder (or a data file) elsewhere
                if acc.is_dir() or acc.name.endswith((".yaml", ".yml")):
                    _report(odd, _odd_entry(f"contracts/{acc.name}", acc, folder=True))
            elif acc.is_dir(follow_symlinks=False):
                # a real folder (scandir said so without following links): no need to lstat its path again
                out += _account_files(root, acc.name, odd, (".yaml", ".yml"), any_name=True, real=True)
    out += payment_files(root, odd)
    return out


def payment_files(root: Path, odd: list[Diagnostic] | None = None) -> list[tuple[str, str]]:
    """(relative path, "payment") of every payments/<YYYY-MM>/<ID>.yaml, months in order."""
    out: list[tuple[str, str]] = []
    if not _real_folder(root, "payments", odd):
        return out
    for month in sorted(os.scandir(root / "payments"), key=lambda e: e.name):
        if month.is_symlink():
            if month.is_dir() or month.name.endswith((".yaml", ".yml")):
                _report(odd, _odd_entry(f"payments/{month.name}", month, folder=True))
        elif month.is_dir(follow_symlinks=False):
            out += _files_in(root, f"payments/{month.name}", "payment", odd, (".yaml", ".yml"), real=True)
        elif month.name.endswith((".yaml", ".yml")):
            _report(
                odd,
                Diagnostic(
                    f"payments/{month.name}",
                    1,
                    1,
                    "E-FILE-NAME",
                    "a payment file lies in a folder of its month: payments/<YYYY-MM>/<ID>.yaml",
                    "move it into the folder of its date's month",
                ),
            )
    return out


def _odd_entry(rel: str, entry: os.DirEntry | os.stat_result, folder: bool = False) -> Diagnostic:
    """E-SYMLINK or E-NOT-REGULAR-FILE at ``rel:1:1``: what cpqctl found where it reads a file (or a folder)."""
    mode = entry.stat(follow_symlinks=False).st_mode if isinstance(entry, os.DirEntry) else entry.st_mode
    if stat.S_ISLNK(mode):
        return Diagnostic(
            rel,
            1,
            1,
            "E-SYMLINK",
            f"`{rel}` is a symbolic link: cpqctl reads only regular files and folders inside the repository",
            "put the file (or folder) itself here: a link can point outside the repository, to any file of the machine",
        )
    what = "a folder" if stat.S_ISDIR(mode) else "a regular file" if stat.S_ISREG(mode) else "not a regular file"
    return Diagnostic(
        rel,
        1,
        1,
        "E-NOT-REGULAR-FILE",
        f"`{rel}` is {what}, where cpqctl expects {'a folder' if folder else 'a regular file'}",
        "rename or remove it" + ("" if folder else ": data files are regular files named <ID>.yaml"),
    )


def _report(odd: list[Diagnostic] | None, diag: Diagnostic) -> None:
    if odd is not None and diag not in odd:
        odd.append(diag)


def _real_folder(root: Path, sub: str, odd: list[Diagnostic] | None) -> bool:
    """Whether the folder ``sub`` (relative to ``root``) exists as a real folder: no component a symbolic link.

    A component that is a link or not a folder is reported into ``odd``; a missing one is not (an empty
    repository has no quotes/ yet).
    """
    path = root
    for i, part in enumerate(sub.split("/")):
        path = path / part
        try:
            st = os.lstat(path)
        except OSError:
            return False
        if not stat.S_ISDIR(st.st_mode):
            _report(odd, _odd_entry("/".join(sub.split("/")[: i + 1]), st, folder=True))
            return False
    return True


def regular_file(root: Path, rel: str, odd: list[Diagnostic] | None = None) -> bool:
    """Whether ``rel`` is a regular file in real folders inside ``root`` (no symbolic link on its way); what is
    there instead is reported into ``odd``, a missing file is not."""
    folder = rel.rpartition("/")[0]
    if folder and not _real_folder(root, folder, odd):
        return False
    try:
        st = os.lstat(root / rel)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        _report(odd, _odd_entry(rel, st))
        return False
    return True


def template_problems(root: Path) -> list[Diagnostic]:
    """Every entry of ``templates/`` (at any depth) that is not a regular file or a real folder, as a finding:
    a template or asset that is a symbolic link could show any file of the machine in a document."""
    odd: list[Diagnostic] = []
    if not _real_folder(root, "templates", odd):
        return odd
    pending = ["templates"]
    while pending:
        sub = pending.pop()
        for e in sorted(os.scandir(root / sub), key=lambda e: e.name):
            rel = f"{sub}/{e.name}"
            if e.is_dir(follow_symlinks=False):
                pending.append(rel)
            elif not e.is_file(follow_symlinks=False):
                odd.append(_odd_entry(rel, e))
    return sorted(odd)


def _name_problem(rel: str, kind: str) -> Diagnostic | None:
    head, _, base = rel.rpartition("/")
    if base.endswith(".yaml") and len(base) > 5:  # nearly every file: string work, not a Path (58,000 at 10k)
        if ID_RE.fullmatch(head.rpartition("/")[2] if kind == "account" else base[:-5]):
            return None
    p = Path(rel)
    name = p.parent.name if kind == "account" else p.stem
    if p.suffix == ".yml":
        return Diagnostic(rel, 1, 1, "E-FILE-NAME", "data files end in .yaml", f"rename it to {p.stem}.yaml")
    if not ID_RE.fullmatch(name):
        return Diagnostic(
            rel,
            1,
            1,
            "E-ID",
            f"`{name}` is not a valid {kind} ID (file or folder name)",
            "IDs use letters, digits, dot, dash and underscore, starting with a letter or digit",
        )
    return None


def load_repo(
    root: Path, kinds: frozenset[str] | set[str] | tuple[str, ...] | None = None, meter=None
) -> tuple[Repo, list[Diagnostic]]:
    """Load the repository (only files of ``kinds`` when given). Returns the repo and every problem found.

    ``meter`` (:mod:`cpqctl.progress`) is told the number of files and each one loaded.
    """
    return load_parts(root, kinds, meter).assemble()


def data_file_kind(rel: str) -> str | None:
    """The kind of the data file at repository path ``rel`` (as :func:`_files` finds them), None for any other file."""
    parts = rel.split("/")
    if not parts[-1].endswith((".yaml", ".yml")):
        return None
    if len(parts) == 2 and parts[0] in ("catalog", "quotes", "invoices", "periods"):
        return {"catalog": "catalog", "quotes": "quote", "invoices": "invoice", "periods": "period"}[parts[0]]
    if len(parts) == 3 and parts[0] == "contracts":
        return "account" if parts[2] == "account.yaml" else "contract"
    if len(parts) == 3 and parts[0] == "payments":
        return "payment"
    return None


@dataclass
class Loaded:
    """What :func:`load_parts` read: settings, each data file's result (by path, in load order), the other findings.

    Kept by a writing command so that the state a write would leave can be checked before it is written,
    re-parsing only the files written (:meth:`staged`).
    """

    settings: object
    results: dict[str, FileResult]
    diags: list[Diagnostic]
    whole: bool = True  # False: one account's files (:func:`load_account_parts`)
    elsewhere: Callable[[str, str], str | None] | None = None  # with whole False: :func:`elsewhere`

    def assemble(self) -> tuple[Repo, list[Diagnostic]]:
        return assemble(self.settings, self.results.items(), list(self.diags), self.whole, self.elsewhere)

    def staged(self, files: dict[str, bytes | None]) -> Loaded:
        """This state with ``files`` (repository path → the bytes a write gives it, None: deleted) in place; the
        disk and the parse cache untouched. Files that are not data files (``.gitignore``, cpq.toml) are left out."""
        results = dict(self.results)
        diags = list(self.diags)
        for rel, data in files.items():
            if data is None:  # deleted (the old name of a renamed file)
                results.pop(rel, None)
                continue
            kind = data_file_kind(rel)
            if kind is None:
                if rel.split("/")[0] in ("catalog", "quotes", "invoices", "contracts", "payments") and rel.endswith(
                    ".yaml"
                ):
                    diags.append(
                        Diagnostic(
                            rel,
                            1,
                            1,
                            "E-FILE-NAME",
                            "no command would read this file: data files are catalog/*.yaml, quotes/<ID>.yaml, "
                            "invoices/<ID>.yaml and contracts/<account>/*.yaml",
                            "the ID holds a `/`: check the [numbering] patterns in cpq.toml",
                        )
                    )
                continue
            problem = _name_problem(rel, kind)
            if problem:
                diags.append(problem)
                results.pop(rel, None)
            else:
                results[rel] = load_bytes(rel, kind, data)
        return Loaded(self.settings, results, diags, self.whole, self.elsewhere)


def load_parts(root: Path, kinds=None, meter=None) -> Loaded:
    """:func:`load_repo`'s reading, before the records are put together (:meth:`Loaded.assemble`)."""
    from cpqctl.load.cache import load_files  # the parse cache wraps load_file

    settings, files, diags = listing(root, kinds)
    return Loaded(settings, load_files(root, files, meter), diags)


def listing(root: Path, kinds=None) -> tuple[object, list[tuple[str, str]], list[Diagnostic]]:
    """What a whole load reads (only files of ``kinds`` when given): the settings, (path, kind) of every data file
    a command would read by its name, and the findings so far (settings, odd entries, templates, bad names)."""
    settings, diags = load_settings(root)
    files = [f for f in _files(root, diags) if kinds is None or f[1] in kinds]
    if kinds is None:
        diags += template_problems(root)
    return settings, _well_named(files, diags), diags


def _well_named(files, diags: list[Diagnostic]) -> list[tuple[str, str]]:
    """The files whose names a command would read them by; each other one reported into ``diags`` (E-FILE-NAME)."""
    ok = []
    for rel, kind in files:
        problem = _name_problem(rel, kind)
        if problem:
            diags.append(problem)
        else:
            ok.append((rel, kind))
    return ok


def _contract_ids(files: list[tuple[str, str]]) -> list[str]:
    """The IDs of the contract files among an account folder's ``files`` (:func:`_account_files`)."""
    return [contract_id(rel) for rel, kind in files if kind == "contract"]


def contract_id(rel: str) -> str:
    """The ID of the contract file at ``rel`` (``contracts/<account>/<ID>.yaml``): its file's name."""
    return rel.rsplit("/", 1)[1][: -len(".yaml")]


def load_account_parts(root: Path, account: str, payments: bool = False, owners: dict | None = None) -> Loaded:
    """What a write about one account reads (:meth:`cpqctl.app.workspace.Workspace.writing_account`): settings,
    catalog, the account's folder (its contracts), its quotes (:func:`cpqctl.load.payment_index.quote_files_of`)
    and its contracts' invoices (:mod:`cpqctl.load.invoice_index`); the other accounts' files are not read.

    ``payments`` (`payment record`, `payment allocate`, `invoice correct`): also the account's payments and those
    naming no account (bank lines to review), as :func:`cpqctl.load.payment_index.payment_owners` tells them by
    their ``account:`` lines (a file that line cannot tell is read and kept when it is one of these), and the
    corrective invoices of its invoices that another account's files hold
    (:func:`cpqctl.load.payment_index.corrections_of`: `check`'s E-CORRECTION-ACCOUNT, which refuses the write,
    instead of what the invoice still asks computed without them). ``owners``: the payment files' owners when the
    caller has them (:func:`cpqctl.load.payment_index.payment_owners`, once for many accounts). An ``account`` of
    ``""`` reads no folder: with ``payments``, the settings, the catalog and the payments naming no account (the
    bank lines to review `payment import` writes)."""
    from cpqctl.load.cache import load_files
    from cpqctl.load.invoice_index import invoice_files_of
    from cpqctl.load.payment_index import quote_files_of

    settings, diags = load_settings(root)
    diags += template_problems(root)  # the documents of the quotes written are rendered from them
    mine = _account_files(root, account, diags)
    files = _files_in(root, "catalog", "catalog", diags) + mine
    for folder in ("quotes", "invoices"):  # a linked folder is reported (its files are never read through it)
        _real_folder(root, folder, diags)
    # a quote entry that is no regular file is listed too (its account cannot be told): reported, never read
    files += [f for f in quote_files_of(root, account) if regular_file(root, f[0], diags)]
    contracts = _contract_ids(mine)
    for stem in contracts:
        files += [f for f in invoice_files_of(root, stem) if regular_file(root, f[0], diags)]
    if payments:
        from cpqctl.load.payment_index import payment_owners

        _real_folder(root, "payments", diags)
        owners = payment_owners(root) if owners is None else owners
        files += [(rel, "payment") for rel, owner in owners.items() if owner in (account, "", None)]
    ok_files = _well_named(dict.fromkeys(files), diags)
    # a quote, invoice or payment whose owner the plain match could not tell was read: kept only when it is this
    # account's (as parsed), so another account's file never stands in this one's way
    loaded = load_files(root, ok_files, own=True)
    results = {
        rel: res
        for rel, res in loaded.items()
        if not res.records
        or (res.kind == "quote" and res.records[0].account == account)
        or (res.kind == "invoice" and res.records[0].contract in contracts)
        or (res.kind == "payment" and _settles(res.records[0], account))
        or res.kind not in ("quote", "invoice", "payment")
    }
    if payments:  # what its invoices still ask for: a correction another account's files hold counts too
        from cpqctl.load.payment_index import corrections_of

        numbers = {r.records[0].invoice for r in results.values() if r.kind == "invoice" and r.records}
        pattern = str(getattr(settings, "numbering_correction", ""))  # load_settings gives an object
        more = [f for f in corrections_of(root, numbers, pattern) if f[0] not in results] if pattern else []
        for rel, res in load_files(root, _well_named(dict.fromkeys(more), diags), own=True).items():
            if not res.records or res.records[0].corrects in numbers:  # E-CORRECTION-ACCOUNT: refused
                results[rel] = res
    return Loaded(settings, results, diags, whole=False, elsewhere=elsewhere(root))


def _settles(payment, account: str) -> bool:
    """Whether ``payment`` is ``account``'s, or names no account (a bank line to review, which `payment allocate`
    may give to this account; one that settles invoices is `check`'s error, and refuses the write as it would)."""
    return payment.account == account or not payment.account


def elsewhere(root: Path) -> Callable[[str, str], str | None]:
    """What the other accounts' files hold, for the rules run on one account's (:attr:`Repo.elsewhere`): a
    reference to another account's contract, quote or invoice is no unknown one (a correction of an invoice billed
    to another account, a quote naming another account's contract), and a contract of another account is told by
    its folder (E-RENEWS-ACCOUNT, E-QUOTE-ACCOUNT), as the whole repository's check tells them. The file's
    existence decides (one stat; a contract through :func:`cpqctl.load.invoice_index.account_of`): a file that
    does not parse is the whole check's finding, and a reference to it is not reported there either."""
    from cpqctl.load.invoice_index import account_of

    def find(kind: str, ident: str) -> str | None:
        if kind == "contract":
            return account_of(root, ident) if ID_RE.fullmatch(ident) else None
        if kind == "invoice":
            rel = f"invoices/{file_stem(ident)}.yaml"
        elif kind == "quote":
            rel = f"quotes/{ident}.yaml"
        elif kind == "account":
            rel = f"contracts/{ident}/account.yaml"
        else:
            return None
        ok = (ID_RE.fullmatch(file_stem(ident)) if kind == "invoice" else ID_RE.fullmatch(ident)) is not None
        return ident if ok and regular_file(root, rel) else None

    return find


def assemble(
    settings,
    results: Iterable[tuple[str, FileResult]],
    diags: list[Diagnostic],
    whole: bool = True,
    elsewhere: Callable[[str, str], str | None] | None = None,
) -> tuple[Repo, list[Diagnostic]]:
    products, schedules = [], []
    maps: dict[str, dict] = {"account": {}, "contract": {}, "quote": {}, "invoice": {}, "payment": {}, "period": {}}
    for _rel, res in results:
        diags.extend(res.diagnostics)
        if res.kind == "catalog":
            if res.records:
                products.extend(res.records[0])
                schedules.extend(res.records[1])
            continue
        for rec in res.records:
            key = getattr(rec, res.kind)
            seen = maps[res.kind].get(key)
            if seen is not None:
                diags.append(
                    Diagnostic.at(
                        rec.src,
                        "E-DUPLICATE-ID",
                        f"{res.kind} `{key}` is defined twice (also in {seen.src.file})",
                        "IDs are unique across the repository",
                    )
                )
                continue
            maps[res.kind][key] = rec
    seen_codes: dict[str, object] = {}
    uniq_products = []
    for p in products:
        if p.code in seen_codes:
            diags.append(
                Diagnostic.at(
                    p.src,
                    "E-DUPLICATE-ID",
                    f"product `{p.code}` is defined twice (also at {seen_codes[p.code].src})",
                    "product codes are unique",
                )
            )
            continue
        seen_codes[p.code] = p
        uniq_products.append(p)
    seen_sched: dict[str, object] = {}
    uniq_sched = []
    for s in schedules:
        if s.code in seen_sched:
            diags.append(
                Diagnostic.at(
                    s.src,
                    "E-DUPLICATE-ID",
                    f"discount schedule `{s.code}` is defined twice",
                    "schedule codes are unique",
                )
            )
            continue
        seen_sched[s.code] = s
        uniq_sched.append(s)
    repo = Repo(
        settings=settings,
        catalog=build.catalog(uniq_products, uniq_sched),
        accounts=maps["account"],
        contracts=maps["contract"],
        quotes=maps["quote"],
        invoices=maps["invoice"],
        payments=maps["payment"],
        periods=maps["period"],
        whole=whole,
        elsewhere=elsewhere,
    )
    return repo, diags


def load_quote_context(root: Path, quote_id: str) -> tuple[Repo, list[Diagnostic]]:
    """Only what pricing one quote needs: settings, catalog, the quote, its account's folder.

    `quote show` and `quote render` cost the same on a repository of ten or ten
    thousand accounts.
    """
    return _one_document(root, "quotes", quote_id, "quote")


def load_catalog_context(root: Path) -> tuple[Repo, list[Diagnostic]]:
    """Only the settings and the catalog (`catalog list`, `catalog show`): flat with repository size."""
    from cpqctl.load.cache import load_files

    settings, diags = load_settings(root)
    files = _files_in(root, "catalog", "catalog", diags)
    return Loaded(settings, load_files(root, files), diags, whole=False).assemble()


def load_invoice_context(root: Path, invoice_id: str) -> tuple[Repo, list[Diagnostic]]:
    """Only what rendering or sending one invoice needs: settings, catalog, the invoice, its account's folder."""
    return _one_document(root, "invoices", invoice_id, "invoice")


def load_contract_context(root: Path, contract_id: str, quote_id: str | None = None) -> tuple[Repo, list[Diagnostic]]:
    """Only what previewing one contract's invoices needs: settings, catalog, its account's folder, its
    invoices (found through :mod:`cpqctl.load.invoice_index`) and, when named, one quote.

    A contract that is not where its ID says loads the whole repository, so the
    error can suggest the closest ID.
    """
    from cpqctl.load.cache import load_files
    from cpqctl.load.invoice_index import account_of, invoice_files_of

    acct = account_of(root, contract_id) if ID_RE.fullmatch(contract_id) else None
    if acct is None:
        return load_repo(root)
    settings, diags = load_settings(root)
    files = _files_in(root, "catalog", "catalog", diags) + _account_files(root, acct, diags)
    files += [f for f in invoice_files_of(root, contract_id) if regular_file(root, f[0], diags)]
    if quote_id is not None and ID_RE.fullmatch(quote_id) and regular_file(root, f"quotes/{quote_id}.yaml", diags):
        files.append((f"quotes/{quote_id}.yaml", "quote"))
    return assemble(settings, load_files(root, files, own=True).items(), diags, whole=False)


def load_account_context(root: Path, account: str, invoices: bool = False) -> tuple[Repo, list[Diagnostic]]:
    """Only what showing one account needs: settings, catalog and its folder (its contracts); with ``invoices``
    also the invoices of its contracts (found through :mod:`cpqctl.load.invoice_index`) and its payments
    (:mod:`cpqctl.load.payment_index`), for its statement.

    An account without a real folder loads the whole repository, so the error can suggest the closest ID.
    """
    from cpqctl.load.cache import load_files
    from cpqctl.load.invoice_index import invoice_files_of

    folder = root / "contracts" / account
    if not ID_RE.fullmatch(account) or folder.is_symlink() or not folder.is_dir():
        return load_repo(root)
    settings, diags = load_settings(root)
    mine = _account_files(root, account, diags)
    files = _files_in(root, "catalog", "catalog", diags) + mine
    if invoices:
        from cpqctl.load.payment_index import payment_files_of

        for stem in _contract_ids(mine):
            files += [f for f in invoice_files_of(root, stem) if regular_file(root, f[0], diags)]
        files += payment_files_of(root, account)
    return assemble(settings, load_files(root, files, own=True).items(), diags, whole=False)


def _one_document(root: Path, sub: str, ident: str, kind: str) -> tuple[Repo, list[Diagnostic]]:
    from cpqctl.load.cache import load_files

    settings, diags = load_settings(root)
    ident = file_stem(ident) if kind == "invoice" else ident
    rel = f"{sub}/{ident}.yaml"
    files = _files_in(root, "catalog", "catalog", diags)
    doc: list[tuple[str, FileResult]] = []
    if ID_RE.fullmatch(ident) and regular_file(root, rel, diags):
        first = load_file(root, rel, kind)
        doc = [(rel, first)]
        if first.records:
            files += _account_files(root, first.records[0].account, diags)
    return assemble(settings, [*load_files(root, files, own=True).items(), *doc], diags, whole=False)


def _account_files(
    root: Path,
    acct: str,
    odd: list[Diagnostic] | None = None,
    suffixes: tuple[str, ...] = (".yaml",),
    any_name: bool = False,
    real: bool = False,
) -> list[tuple[str, str]]:
    """(relative path, kind) of the files in one account's folder (``any_name``: whatever the folder's name;
    ``real``: the caller has seen that the folder is a real one)."""
    if not (any_name or ID_RE.fullmatch(acct)):
        return []
    return [
        (rel, "account" if rel.endswith("/account.yaml") else "contract")
        for rel, _ in _files_in(root, f"contracts/{acct}", "contract", odd, suffixes, real)
    ]


def _files_in(
    root: Path,
    sub: str,
    kind: str,
    odd: list[Diagnostic] | None = None,
    suffixes: tuple[str, ...] = (".yaml",),
    real: bool = False,
) -> list[tuple[str, str]]:
    """(relative path, ``kind``) of the regular files named ``*<suffix>`` in the real folder ``sub``; entries with
    such a name that are not regular files (and a ``sub`` that is a link) are reported into ``odd``."""
    if not (real or _real_folder(root, sub, odd)):
        return []
    out = []
    for e in sorted(os.scandir(root / sub), key=lambda e: e.name):
        if not e.name.endswith(suffixes):
            continue
        if e.is_file(follow_symlinks=False):
            out.append((f"{sub}/{e.name}", kind))
        else:
            _report(odd, _odd_entry(f"{sub}/{e.name}", e))
    return out
