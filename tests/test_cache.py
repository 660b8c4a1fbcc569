"""The parse cache in `.cpq/cache/` (SPEC §8 "Fast at scale"; plain data, never pickle).

What must hold: a cached result is the parsed result, type for type (the
round trip over the whole example repo); an unchanged file is not parsed
again, an edited one is, and only it; a damaged, truncated or foreign cache is
ignored and rebuilt, never an error; diagnostics come back identical.
Parsing is counted with a real wrapper around ``cpqctl.load.repo.load_file``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings, strategies as st

from cpqctl.core.model import Segment, Source, Tier
from cpqctl.load import cache
from cpqctl.load.positions import Positions
from cpqctl.load.repo import _files, load_file, load_repo, load_settings
from tests.conftest import age


def _all_files(root) -> list[str]:
    """Every file a load parses: the data files and the side files read with cpq.toml (fx/ tables)."""
    return [rel for rel, _ in _files(root)] + [f"fx/{p.name}" for p in sorted((root / "fx").glob("*.yaml"))]


HOUR_NS = 3600 * 10**9


def same(a, b, path="value") -> None:
    """a == b, and the same types all the way down (Decimal stays Decimal, tuple stays tuple; a record's key
    positions are a read-only mapping, built eagerly or on first read: :class:`Positions`)."""
    readonly = (MappingProxyType, Positions)
    assert type(a) is type(b) or (type(a) in readonly and type(b) in readonly), (
        f"{path}: {type(a).__name__} != {type(b).__name__}"
    )
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, Mapping):
        assert list(a) == list(b), path
        for k in a:
            same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, Decimal):
        assert a.as_tuple() == b.as_tuple(), path  # 1.20 stays 1.20, not 1.2
    else:
        assert a == b, path


def roundtrip(rel: str, res):
    """encode → JSON text → decode, as the cache does it."""
    codec = cache.codec()
    keysets: list = []
    codec.bind(keysets)
    text = json.dumps([keysets, codec.encode_result(rel, res)])
    keysets2, data = json.loads(text)
    codec.bind(keysets2)
    return codec.decode_result(rel, data)


def shards(root: Path) -> dict[str, bytes]:
    d = root / cache.CACHE_DIR
    return {p.name: p.read_bytes() for p in sorted(d.glob("shard-*.json"))} if d.is_dir() else {}


# --------------------------------------------------------------------------- the codec


def test_every_record_of_the_example_repo_round_trips_exactly(example_repo):
    files = _files(example_repo)
    assert len(files) > 10
    kinds = set()
    for rel, kind in files:
        res = load_file(example_repo, rel, kind)
        back = roundtrip(rel, res)
        assert back.kind == res.kind
        same(res.records, back.records, rel)
        same(list(res.diagnostics), list(back.diagnostics), rel)
        assert res.diagnostics or back.diagnostics == ()  # no finding: the one shared empty tuple, not a list each
        assert back.records == res.records
        kinds.add(kind)
    assert kinds == {"catalog", "account", "contract"}


def test_settings_round_trip_through_the_codec(example_repo):
    settings_, _ = load_settings(example_repo)
    codec = cache.codec()
    codec.bind([])
    back = codec.decode_value(json.loads(json.dumps(codec.encode_value(settings_))))
    same(settings_, back, "settings")


def test_key_positions_are_the_same_mapping_whichever_way_they_are_read(example_repo):
    rel = "contracts/acme/C-2026-0001.yaml"
    res = load_file(example_repo, rel, "contract")
    contract = res.records[0]
    for read in (
        lambda m: m.get("start"),
        lambda m: m["start"],
        lambda m: "start" in m,
        len,
        list,
        dict,
        lambda m: list(m.items()),
        lambda m: list(m.values()),
        lambda m: {**m},
        repr,
        lambda m: m == contract.at,
        lambda m: contract.at == m,
        lambda m: m != contract.at,
    ):
        back = roundtrip(rel, res).records[0]  # a fresh, unfilled mapping for each way of reading
        assert type(back.at) is Positions
        assert read(back.at) == read(contract.at)
    back = roundtrip(rel, res).records[0]
    for write in (  # read-only, as a MappingProxyType (filled or not)
        lambda m: m.__setitem__("x", back.src),
        lambda m: m.update(x=back.src),
        lambda m: m.pop("start"),
        lambda m: m.popitem(),
        lambda m: m.setdefault("x", back.src),
        lambda m: m.clear(),
        lambda m: m.__delitem__("start"),
        lambda m: m.__ior__({"x": back.src}),
    ):
        with pytest.raises(TypeError):
            write(back.at)
        with pytest.raises(TypeError):
            write(contract.at)
    assert dict(back.at) == dict(contract.at) and "x" not in back.at
    back = roundtrip(rel, res).records[0]
    assert back.where("end") == contract.where("end") != back.src
    assert back.lines[0].where("quantity") == contract.lines[0].where("quantity")


decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None) | st.sampled_from(
    [Decimal("1.20"), Decimal("-0"), Decimal("1E+3"), Decimal("0.000"), Decimal("-7.5E-10")]
)


@settings(max_examples=200, deadline=None)
@given(
    start=decimals, discount=decimals, day=st.dates(min_value=date(1, 1, 1)), line=st.integers(1, 10**6), text=st.text()
)
def test_decimals_dates_text_and_positions_come_back_exactly(start, discount, day, line, text):
    tier = Tier(start, discount)
    seg = Segment(
        text,
        "P",
        start,
        discount,
        day,
        None,
        src=Source("other/file.yaml", line, 3),
        at=MappingProxyType({"product": Source("f.yaml", line, 1), text: Source("f.yaml", 2, line)}),
    )
    from cpqctl.load.repo import FileResult

    back = roundtrip("f.yaml", FileResult("contract", [tier, seg]))
    same([tier, seg], back.records)


def test_a_value_that_does_not_fit_its_declared_type_is_not_cacheable():
    codec = cache.codec()
    codec.bind([])
    from cpqctl.load.repo import FileResult

    for bad in (
        Tier(1.5, Decimal(1)),
        Tier(Decimal(1), 2),
        Segment("s", "P", Decimal(1), Decimal(1), "2026-01-01", None),
    ):
        with pytest.raises(cache.Uncacheable):
            codec.encode_result("f.yaml", FileResult("catalog", [bad]))


# --------------------------------------------------------------------------- the cache on disk


def test_a_second_load_parses_nothing_and_gives_the_same_repo(example_repo, parses):
    age(example_repo)
    first, d1 = load_repo(example_repo)
    n = len(_all_files(example_repo))
    assert len(parses) == n
    assert sorted(shards(example_repo)) and len(shards(example_repo)) <= cache.SHARDS
    assert (example_repo / ".cpq" / ".gitignore").read_text() == "*\n"
    parses.clear()
    second, d2 = load_repo(example_repo)
    assert parses == []
    assert second == first and d2 == d1
    for name in ("accounts", "contracts"):
        same(tuple(getattr(first, name).items()), tuple(getattr(second, name).items()), name)
    for body in shards(example_repo).values():  # JSON lines, nothing else: a head, then a path and its entry a line
        head, *lines = body.decode("utf-8").split("\n")
        assert json.loads(head)["format"] == cache.FORMAT and lines[-1] == ""
        for line in lines[:-1]:
            rel, entry = line.split("\t")
            assert type(json.loads(rel)) is str and type(json.loads(entry)) is list


def test_a_load_of_some_kinds_reads_only_their_folders_shards(year, tmp_path, parses, monkeypatch):
    """A report loads the catalog, accounts and contracts: it reads the shards of contracts/ and of the other
    small folders, never the invoice ledger's, so a big ledger cannot make it parse instead (each shard holds
    one top folder's files)."""
    from cpqctl.load.repo import load_parts
    from tests.conftest import copy_repo

    root = copy_repo(year, tmp_path / "repo")
    age(root)
    load_repo(root)
    held = {p.name: cache.shard_entries(p) for p in (root / cache.CACHE_DIR).glob("shard-*.json")}
    assert any(rel.startswith("invoices/") for e in held.values() for rel in e)
    for entries in held.values():  # one top folder per shard
        assert len({rel.split("/")[0] for rel in entries} - {"periods", "fx", "indices"}) <= 1
    read: list[str] = []
    real = cache._read_shard
    monkeypatch.setattr(cache, "_read_shard", lambda path, key: read.append(path.name) or real(path, key))
    monkeypatch.setattr(cache, "READ_ALWAYS", 0)  # the size rule alone decides
    parses.clear()
    load_parts(root, ("catalog", "account", "contract"))
    assert parses == [] and read
    assert not any(rel.startswith("invoices/") for name in read for rel in held.get(name, {}))


def test_editing_one_file_reparses_that_file_only(example_repo, parses):
    age(example_repo)
    load_repo(example_repo)
    rel = "contracts/acme/account.yaml"
    path = example_repo / rel
    text = path.read_text(encoding="utf-8")
    assert "name: " in text
    path.write_text(text.replace("name: ", "name: Renamed ", 1), encoding="utf-8")
    parses.clear()
    loaded, _ = load_repo(example_repo)
    assert parses == [rel]
    assert loaded.accounts["acme"].name.startswith("Renamed ")
    # just written, so not trusted yet (the next edit could keep size and mtime): parsed again …
    parses.clear()
    load_repo(example_repo)
    assert parses == [rel]
    # … until it has aged
    age(example_repo)
    load_repo(example_repo)
    parses.clear()
    again, _ = load_repo(example_repo)
    assert parses == [] and again.accounts["acme"].name.startswith("Renamed ")


def test_same_size_and_mtime_but_another_file_is_a_miss(example_repo, parses):
    """A replaced file (a new inode, as git and editors write) is parsed even with size and mtime kept."""
    age(example_repo)
    load_repo(example_repo)
    rel = "contracts/acme/account.yaml"
    path = example_repo / rel
    st = path.stat()
    text = path.read_text(encoding="utf-8")
    swapped = text.replace("acme", "acmf", 1) if "name: Acme" not in text else text.replace("name: Acme", "name: Acmf")
    assert len(swapped) == len(text) and swapped != text
    tmp = path.with_name("new.tmp")
    tmp.write_text(swapped, encoding="utf-8")
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, path)
    parses.clear()
    load_repo(example_repo)
    assert parses == [rel]


def _damage_positions(value) -> int:
    """Every key-position string in a shard entry's JSON made unreadable (one number short, a letter, an empty
    number): each must be taken for a damaged entry (a miss), never read back as positions. How many it damaged."""
    if isinstance(value, dict):
        return sum(_damage_positions(v) for v in value.values())
    if isinstance(value, list):
        if len(value) == 2 and type(value[0]) is int and type(value[1]) is str and value[1][:1].isdigit():
            flat = value[1]
            bad = [flat.rsplit(",", 1)[0], flat.replace(",", ",x", 1), flat.replace(",", ",,", 1)]
            value[1] = bad[len(flat) % 3]
            return 1
        return sum(_damage_positions(v) for v in value)
    return 0


@pytest.mark.parametrize("damage", ["garbage", "truncated", "format", "key", "entry", "positions"])
def test_a_damaged_cache_is_ignored_and_rebuilt(example_repo, parses, damage):
    age(example_repo)
    fresh, fresh_diags = load_repo(example_repo)
    damaged: list[str] = []
    for path in (example_repo / cache.CACHE_DIR).glob("shard-*.json"):
        body = path.read_bytes()
        head = json.loads(body.split(b"\n", 1)[0])
        entries = cache.shard_entries(path)
        if damage == "garbage":
            body = b"\x00\xff\xfe not json \x80" * 10
            damaged += entries
        elif damage == "truncated":  # the head whole, the lines after the cut lost (each a miss for its file alone)
            cut = max(len(body) // 2, body.index(b"\n") + 1)
            body = body[:cut]
            whole = body[: body.rfind(b"\n") + 1]
            damaged += [rel for rel in entries if json.dumps(rel, ensure_ascii=False).encode() + b"\t" not in whole]
        elif damage == "format":
            head["format"] = cache.FORMAT + 1
            damaged += entries
        elif damage == "key":
            head["key"] = "another cpqctl version"
            damaged += entries
        elif damage == "positions":  # only the files whose records hold key positions are affected
            damaged += [rel for rel, entry in entries.items() if _damage_positions(entry[-1])]
        else:  # every entry keeps its stat but its records are nonsense
            for entry in entries.values():
                entry[-1][1] = [{"type": "Contract", "fields": [1, 2]}, {"type": "NoSuchRecord", "fields": []}]
            damaged += entries
        if damage not in ("garbage", "truncated"):
            lines = [json.dumps(head)] + [f"{json.dumps(rel)}\t{json.dumps(e)}" for rel, e in entries.items()]
            body = ("\n".join(lines) + "\n").encode()
        path.write_bytes(body)
    parses.clear()
    loaded, diags = load_repo(example_repo)
    assert sorted(parses) == sorted(damaged)
    if damage not in ("positions", "truncated"):
        assert sorted(damaged) == sorted(_all_files(example_repo))
    assert len(damaged) >= 10  # the example repository: 20 files with key positions; half of each shard cut
    assert loaded == fresh and diags == fresh_diags
    parses.clear()
    load_repo(example_repo)
    assert parses == []  # rebuilt


def test_diagnostics_come_back_identical_from_the_cache(repo, parses):
    root = repo(
        {
            "catalog/p.yaml": """
            products:
              - code: SEAT
                name: Seat
                per: year
                price: {PLN: 12.5x}
                colour: blue
        """,
            "contracts/acme/account.yaml": "account: acme\nname: [unclosed\n",
            "contracts/bad name/account.yaml": "account: x\n",
            "quotes/Q-1.yaml": b"\xff\xfe not utf-8",
        }
    )
    age(root)
    _, first = load_repo(root)
    assert {d.code for d in first} >= {"E-ENCODING"} and len(first) >= 4
    parses.clear()
    _, second = load_repo(root)
    assert parses == []
    assert second == first
    same(first, second, "diagnostics")


def test_a_deleted_file_leaves_the_cache(example_repo):
    age(example_repo)
    load_repo(example_repo)
    rel = "contracts/hooli/C-2026-0006.yaml"
    held = lambda: [cache.shard_entries(p) for p in (example_repo / cache.CACHE_DIR).glob("shard-*.json")]
    assert any(rel in entries for entries in held())
    (example_repo / rel).unlink()
    load_repo(example_repo)
    assert not any(rel in entries for entries in held())


def test_a_few_files_out_of_a_big_cache_are_parsed_not_decoded(example_repo, parses, monkeypatch):
    age(example_repo)
    load_repo(example_repo)
    before = shards(example_repo)
    monkeypatch.setattr(cache, "READ_RATIO", 0)  # every shard now counts as too big to be worth it
    monkeypatch.setattr(cache, "READ_ALWAYS", 0)
    parses.clear()
    out = cache.load_files(example_repo, [("contracts/acme/account.yaml", "account")])
    assert parses == ["contracts/acme/account.yaml"] and out["contracts/acme/account.yaml"].records[0].account == "acme"
    assert shards(example_repo) == before  # neither read nor rewritten


def test_a_cache_that_cannot_be_written_is_no_error(example_repo, parses):
    age(example_repo)
    (example_repo / ".cpq").mkdir()
    (example_repo / cache.CACHE_DIR).write_text("a file where the folder should be")
    fresh, diags = load_repo(example_repo)
    parses.clear()
    again, diags2 = load_repo(example_repo)
    assert again == fresh and diags2 == diags
    assert len(parses) == len(_all_files(example_repo))  # no cache: parsed every time


def test_check_gives_the_same_answer_cold_and_warm(example_repo, cli):
    age(example_repo)
    cold = cli("check", "--format", "json", "--repo", example_repo)
    assert shards(example_repo)
    warm = cli("check", "--format", "json", "--repo", example_repo)
    assert (warm.code, warm.stdout) == (cold.code, cold.stdout)
    assert json.loads(warm.stdout)["diagnostics"] == json.loads(cold.stdout)["diagnostics"]


def test_key_positions_that_int_would_refuse_are_a_damaged_entry():
    from cpqctl.load.positions import well_formed

    assert well_formed(("a", "b"), "12,3,4,5") and well_formed((), "")
    for flat in ("9" * 5000 + ",1", "1,,2,3", "1,2,3", "1,2,3,x", " 1,2,3,4", "1,2,3,4,", ""):
        assert not well_formed(("a", "b"), flat), flat


def test_a_part_decodes_its_own_lines_and_keeps_the_others_as_they_were(year, tmp_path, parses, monkeypatch):
    """A load in parts (`invoice run` at 50,000 accounts reads every shard once a part) decodes only the lines of
    the files it asks for; when it rewrites a shard (a file of the part changed), every other line is copied as
    it was, and the next whole load reads all of them back without parsing."""
    from cpqctl.load.cache import load_files
    from cpqctl.load.repo import listing
    from tests.conftest import copy_repo

    root = copy_repo(year, tmp_path / "repo")
    age(root)
    whole, whole_diags = load_repo(root)
    before = {p.name: p.read_bytes() for p in (root / cache.CACHE_DIR).glob("shard-*.json")}
    _, files, _ = listing(root)
    invoices = [(rel, kind) for rel, kind in files if kind == "invoice"]
    assert len(invoices) > 20
    changed = invoices[3][0]
    text = (root / changed).read_text(encoding="utf-8")
    (root / changed).write_text(text + "\n", encoding="utf-8")  # the same records, one byte more
    past = time.time_ns() - 3600 * 10**9
    os.utime(root / changed, ns=(past, past))  # this file only: a utime moves the ctime, a miss for every file
    decoded: list[str] = []
    real = cache._Shard.get
    monkeypatch.setattr(cache._Shard, "get", lambda self, rel: decoded.append(rel) or real(self, rel))
    parses.clear()
    asked = invoices[:6]
    got = load_files(root, asked, part=True)
    assert list(got) == [rel for rel, _ in asked] and parses == [changed]
    assert sorted(decoded) == sorted(rel for rel, _ in asked)  # nobody else's line was decoded
    after = {p.name: p.read_bytes() for p in (root / cache.CACHE_DIR).glob("shard-*.json")}
    rewritten = [name for name in after if after[name] != before[name]]
    assert len(rewritten) == 1  # the changed file's shard
    old_lines = set(before[rewritten[0]].split(b"\n")[1:])
    new_lines = after[rewritten[0]].split(b"\n")[1:]
    mine = json.dumps(changed).encode() + b"\t"
    assert all(line in old_lines for line in new_lines if not line.startswith(mine))  # the others byte for byte
    assert len(new_lines) == len(old_lines)
    monkeypatch.undo()
    cold = copy_repo(root, tmp_path / "cold")
    shutil.rmtree(cold / ".cpq", ignore_errors=True)
    expected = load_repo(cold)  # parsed, no cache (the changed invoice's E-DIGEST: a byte more than it was signed)
    parses.clear()
    again = load_repo(root)
    assert parses == [] and again == expected and again != (whole, whole_diags)


def test_the_cache_key_covers_the_loader_and_the_records_it_builds() -> None:
    """Every source file the key hashes exists: the record classes moved to core/ once and the key silently hashed
    "-" for them, so a changed record class could decode an old entry into the wrong fields."""
    pkg = Path(cache.__file__).resolve().parents[1]
    missing = [name for name in cache._CODE_FILES if not (pkg / name).is_file()]
    assert missing == []
    assert {"core/model.py", "load/build.py", "load/cache.py"} <= set(cache._CODE_FILES)
