"""The IDs a repository holds, from file and folder names alone: what shell completion offers.

Completion runs on every TAB, so it reads names, never records: quote and
invoice IDs are the file names under ``quotes/`` and ``invoices/``, account IDs
the folder names under ``contracts/``, contract IDs the file names in those
folders (without ``account.yaml``), product codes the ``code:`` of the catalog's
``products:``. What is offered follows the loader's rules for where a record can
be (:mod:`cpqctl.load.repo`): ``<ID>.yaml`` regular files in real folders, names
that are valid IDs; a file whose content names another ID is still offered by its
name (the command then reports the mismatch, as it would anyway).

Kept light on purpose: this module imports nothing of the model, the schema or
the YAML loader (the catalog is read with libyaml only when product codes are
asked for), so a completion costs the interpreter, Typer and a directory listing.
Contract IDs need one listing per account folder (10,000 on a big repository):
they are remembered per folder in ``.cpq/cache/contract-ids.json`` and listed
again only for a folder whose ``mtime_ns`` changed (cpqctl writes by rename, so
a contract added or removed always changes its folder's mtime). Nothing here
raises for a missing or odd repository: no repository, no IDs.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from collections.abc import Iterable
from pathlib import Path

# the loader's ID rule (cpqctl.load.schema.ID_RE), repeated here so completion does not import the schema
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
CONTRACT_IDS = ".cpq/cache/contract-ids.json"
FORMAT = 1
RACY_NS = 2_000_000_000  # as in cache.py: a folder changed this recently may change again within its mtime


def find_root(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> Path | None:
    """The repository as :func:`cpqctl.load.repo.find_root` finds it (``--repo`` / ``CPQ_REPO``, else the
    nearest folder upwards holding cpq.toml), or None where that one raises E-NO-REPO."""
    try:
        if explicit:
            p = Path(explicit).expanduser()
            return p.resolve() if (p / "cpq.toml").is_file() else None
        here = (cwd or Path.cwd()).resolve()
        return next((d for d in (here, *here.parents) if (d / "cpq.toml").is_file()), None)
    except (OSError, RuntimeError, ValueError):  # a vanished cwd, a loop of links, a NUL in the path
        return None


def matches(name: str, prefix: str) -> bool:
    """Whether ``name`` starts with ``prefix``, ignoring case (``q-2026`` finds ``Q-2026-0001``)."""
    return name[: len(prefix)].casefold() == prefix.casefold()


def _real_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _stems(folder: Path | str, prefix: str = "", skip: str = "") -> list[str]:
    """The valid IDs ``X`` of the regular files ``X.yaml`` in ``folder`` that start with ``prefix``."""
    out = []
    try:
        with os.scandir(folder) as entries:
            for e in entries:
                name = e.name
                if not name.endswith(".yaml") or name == skip or not matches(name, prefix):
                    continue
                stem = name[:-5]
                if ID_RE.fullmatch(stem) and e.is_file(follow_symlinks=False):
                    out.append(stem)
    except OSError:
        return []
    return out


def quote_ids(root: Path, prefix: str = "") -> list[str]:
    """The quote IDs: ``quotes/<ID>.yaml``, sorted."""
    if not _real_folder(root / "quotes"):
        return []
    return sorted(_stems(root / "quotes", prefix))


def invoice_ids(root: Path, prefix: str = "") -> list[str]:
    """The invoice numbers: ``invoices/<ID>.yaml``, sorted."""
    if not _real_folder(root / "invoices"):
        return []
    return sorted(_stems(root / "invoices", prefix))


def _account_folders(root: Path) -> list[os.DirEntry]:
    folder = root / "contracts"
    if not _real_folder(folder):
        return []
    try:
        with os.scandir(folder) as entries:
            return [e for e in entries if ID_RE.fullmatch(e.name) and e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def account_ids(root: Path, prefix: str = "") -> list[str]:
    """The account IDs: the folders under ``contracts/``, sorted."""
    return sorted(e.name for e in _account_folders(root) if matches(e.name, prefix))


def contract_ids(root: Path, prefix: str = "", accounts: Iterable[str] | None = None) -> list[str]:
    """The contract IDs: ``contracts/<account>/<ID>.yaml`` but ``account.yaml``, sorted; only in the folders
    of ``accounts`` when given (``invoice run --account acme --contract …``)."""
    if accounts is not None:
        base = root / "contracts"
        if not _real_folder(base):
            return []
        out: list[str] = []
        for acct in dict.fromkeys(accounts):
            if ID_RE.fullmatch(acct) and _real_folder(base / acct):
                out += _stems(base / acct, prefix, skip="account.yaml")
        return sorted(set(out))
    return sorted({c for c in _all_contracts(root) if matches(c, prefix)})


def _all_contracts(root: Path) -> list[str]:
    """Every contract ID, each account folder listed again only when its mtime changed since the cache.

    One ``lstat`` per account folder is what is left (≈ 40 ms for 10,000 on a busy 2-CPU VM): a contract
    added to an existing account changes only its own folder's mtime.
    """
    base = root / "contracts"
    if not _real_folder(base):
        return []
    recent = time.time_ns() - RACY_NS
    path = root / CONTRACT_IDS
    known = _read(path)
    fresh: dict[str, list] = {}
    out: list[str] = []
    changed = False
    try:
        entries = os.scandir(base)
    except OSError:
        return []
    with entries:
        for e in entries:
            name = e.name
            try:
                if not e.is_dir(follow_symlinks=False):
                    continue
                mtime = e.stat(follow_symlinks=False).st_mtime_ns
            except OSError:
                continue
            hit = known.get(name)
            if type(hit) is list and len(hit) == 2 and hit[0] == mtime and type(hit[1]) is list:
                ids = hit[1]
            elif ID_RE.fullmatch(name):
                ids = _stems(e.path, skip="account.yaml")
                changed = True
            else:
                continue
            out += ids
            if mtime < recent:  # else listed again next time: a change within its mtime's granularity would hide
                fresh[name] = [mtime, ids]
            else:
                changed = True
    if changed or len(fresh) != len(known):
        _write(root, path, {"format": FORMAT, "folders": fresh})
    return [x for x in out if type(x) is str]


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if type(data) is not dict or data.get("format") != FORMAT or type(data.get("folders")) is not dict:
        return {}
    return data["folders"]


def _write(root: Path, path: Path, record: dict) -> None:
    """The cache written as the parse cache's files are (``.cpq/`` git-ignored, temp file + rename); a cache
    that cannot be written is no error."""
    try:
        from cpqctl.store import Store, replace_file

        Store(root).ensure_cpq_dir()
        path.parent.mkdir(exist_ok=True)
        replace_file(path, json.dumps(record, separators=(",", ":")).encode("utf-8"), durable=False)
    except Exception:  # completion never fails: a read-only checkout only lists the folders each time
        pass


def _catalog_values(root: Path, key: str, prefix: str, valid) -> list[str]:
    """The ``key`` of every product in ``catalog/*.yaml`` (each file's ``products:``) that ``valid`` accepts
    and starts with ``prefix``, sorted; a file that does not parse offers none (``cpqctl check`` says why)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    folder = root / "catalog"
    if not _real_folder(folder):
        return []
    found: set[str] = set()
    for name in _stems(folder):
        try:
            data = yaml.load((folder / f"{name}.yaml").read_bytes(), Loader=loader)
        except Exception:
            continue
        products = data.get("products") if isinstance(data, dict) else None
        for p in products if isinstance(products, list) else ():
            value = p.get(key) if isinstance(p, dict) else None
            if isinstance(value, str) and valid(value) and matches(value, prefix):
                found.add(value)
    return sorted(found)


def product_codes(root: Path, prefix: str = "") -> list[str]:
    """The product codes of ``catalog/*.yaml``, sorted."""
    return _catalog_values(root, "code", prefix, ID_RE.fullmatch)


def product_families(root: Path, prefix: str = "") -> list[str]:
    """The product families named in ``catalog/*.yaml``, sorted (a family with a space completes quoted)."""
    return _catalog_values(root, "family", prefix, lambda v: v.strip() == v and v != "")
