"""cpqctl.views.rows: list rows packed as compact JSON decode to exactly what was packed (values, key order, JSON
bytes), and selecting, joining and sorting them equals doing it on the dicts (`cpqctl serve`'s cached lists)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, strategies as st

from cpqctl.app.listing import id_order
from cpqctl.views.rows import Blob, Rows

KEYS = ("invoice", "status", "account", "open", "lines", "sent")
scalar = st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.text(max_size=12))
value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
ident = st.from_regex(r"[A-Z]{2}-20[0-9]{2}-[0-9]{1,5}", fullmatch=True)


@st.composite
def row(draw) -> dict:
    account = draw(st.one_of(scalar, st.sampled_from([0, 1, True, False, 0.0])))  # equal in Python, not in JSON
    out = {"invoice": draw(ident), "status": draw(st.sampled_from(["open", "paid", None])), "account": account}
    out |= {k: draw(value) for k in KEYS[3:]}
    if draw(st.integers(0, 9)) == 0:  # now and then a row of another shape: keys missing, added or reordered
        out = dict(reversed(out.items())) if draw(st.booleans()) else {**out, "extra": draw(value)}
    return out


rows = st.lists(row(), max_size=30)


def _typed(values) -> list[tuple]:
    return [(type(v), v) for v in values]  # 1 == True in Python: a column must give back which it was


def _text(items) -> list[str]:
    return [json.dumps(r, ensure_ascii=False) for r in items]


def _blob(on_disk: bool) -> Blob:
    import tempfile

    blob = Blob(Path(tempfile.gettempdir()) if on_disk else None)
    assert blob.on_disk == on_disk
    return blob


@given(rows, st.booleans())
def test_rows_decode_to_what_was_packed(items: list[dict], on_disk: bool) -> None:
    packed = Rows.of(iter(items), ("status", "account"), _blob(on_disk))
    assert len(packed) == len(items)
    assert _text(packed) == _text(items)  # values and key order: a page's JSON is the command's, byte for byte
    assert _text(packed[3:9]) == _text(items[3:9])
    if items:
        assert _text([packed[-1]]) == _text([items[-1]])
    assert _typed(packed.column("status")) == _typed(r.get("status") for r in items)
    assert _typed(packed.column("account")) == _typed(r.get("account") for r in items)


@given(rows, st.sampled_from(["open", "paid", None]), st.booleans())
def test_where_is_the_filter_on_the_dicts(items: list[dict], status, on_disk: bool) -> None:
    packed = Rows.of(items, ("status", "account"), _blob(on_disk))
    kept = packed.where(lambda s: s == status, "status")
    assert _text(kept) == _text([r for r in items if r["status"] == status])
    assert _typed(kept.column("account")) == _typed(r["account"] for r in items if r["status"] == status)
    again = kept.where(lambda a: isinstance(a, str), "account")  # a selection of a selection
    assert _text(again) == _text([r for r in items if r["status"] == status and isinstance(r["account"], str)])


@given(st.lists(rows, max_size=4), st.booleans(), st.booleans())
def test_joined_parts_sorted_by_id_are_the_sorted_dicts(parts: list[list[dict]], on_disk: bool, one: bool) -> None:
    """Parts packed into one blob (as `invoice list` packs them for the server) or each into its own."""

    def by_number(number: str) -> tuple:
        return id_order(number), number

    columns = ("invoice", "status")
    blob = _blob(on_disk)
    packs = [Rows.of(p, columns, blob if one else _blob(on_disk)) for p in parts]
    joined = Rows.joined(packs, columns, by_number, "invoice")
    whole = sorted((r for p in parts for r in p), key=lambda r: by_number(r["invoice"]))
    assert _text(joined) == _text(whole)
    assert list(joined.column("invoice")) == [r["invoice"] for r in whole]
    plain = Rows.joined([Rows.of(p, columns) for p in parts], columns)
    assert _text(plain) == _text([r for p in parts for r in p])


def test_a_packed_row_is_a_fraction_of_the_dict() -> None:
    """What the packing is for: an invoice list row as `invoice list` gives it, about a seventh of its dict."""
    import sys

    def deep(o) -> int:
        if isinstance(o, dict):
            return sys.getsizeof(o) + sum(deep(k) + deep(v) for k, v in o.items())
        return sys.getsizeof(o)

    one = {
        "invoice": "INV-2026-000123", "account": "acct-00094", "contract": "C-2024-00009", "date": "2026-11-30",
        "due": "2026-12-14", "currency": "PLN", "period_start": "2026-11-01", "period_end": "2026-11-30",
        "net_total": "966.67", "tax_total": "222.33", "gross_total": "1189.00", "corrects": None, "sent": False,
        "sent_on": None, "status": "open", "paid": "0.00", "written_off": "0.00", "open": "1189.00", "days_overdue": 0,
    }  # fmt: skip
    packed = Rows.of([dict(one, invoice=f"INV-2026-{i:06d}") for i in range(1000)])
    size = len(packed._blob._buf) / 1000 + 16  # the row's JSON, and where it starts and ends
    assert size * 4 < deep(one), (size, deep(one))


def test_a_blob_on_disk_leaves_no_file_and_falls_back_to_memory(tmp_path: Path) -> None:
    blob = Blob(tmp_path)
    packed = Rows.of([{"a": i, "b": "x" * i} for i in range(3000)], ("a",), blob)  # more than one CHUNK of bytes
    assert blob.on_disk and list(tmp_path.iterdir()) == []  # unlinked as it was made
    assert packed[2999] == {"a": 2999, "b": "x" * 2999} and list(packed.column("a"))[-1] == 2999
    assert not Blob(tmp_path / "missing").on_disk  # a folder that cannot take the file: in memory
