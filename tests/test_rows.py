"""cpqctl.views.rows: list rows packed as compact JSON decode to exactly what was packed (values, key order, JSON
bytes), and selecting, joining and sorting them equals doing it on the dicts (`cpqctl serve`'s cached lists)."""

from __future__ import annotations

import json

from hypothesis import given, strategies as st

from cpqctl.app.listing import id_order
from cpqctl.views.rows import Rows

KEYS = ("invoice", "status", "account", "open", "lines", "sent")
scalar = st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.text(max_size=12))
value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
ident = st.from_regex(r"[A-Z]{2}-20[0-9]{2}-[0-9]{1,5}", fullmatch=True)


@st.composite
def row(draw) -> dict:
    out = {"invoice": draw(ident), "status": draw(st.sampled_from(["open", "paid", None])), "account": draw(scalar)}
    out |= {k: draw(value) for k in KEYS[3:]}
    if draw(st.integers(0, 9)) == 0:  # now and then a row of another shape: keys missing, added or reordered
        out = dict(reversed(out.items())) if draw(st.booleans()) else {**out, "extra": draw(value)}
    return out


rows = st.lists(row(), max_size=30)


def _text(items) -> list[str]:
    return [json.dumps(r, ensure_ascii=False) for r in items]


@given(rows)
def test_rows_decode_to_what_was_packed(items: list[dict]) -> None:
    packed = Rows.of(iter(items), ("status", "account"))
    assert len(packed) == len(items)
    assert _text(packed) == _text(items)  # values and key order: a page's JSON is the command's, byte for byte
    assert _text(packed[3:9]) == _text(items[3:9])
    if items:
        assert _text([packed[-1]]) == _text([items[-1]])
    assert list(packed.column("status")) == [r.get("status") for r in items]


@given(rows, st.sampled_from(["open", "paid", None]))
def test_where_is_the_filter_on_the_dicts(items: list[dict], status) -> None:
    packed = Rows.of(items, ("status", "account"))
    kept = packed.where(lambda s: s == status, "status")
    assert _text(kept) == _text([r for r in items if r["status"] == status])
    assert list(kept.column("account")) == [r["account"] for r in items if r["status"] == status]
    again = kept.where(lambda a: isinstance(a, str), "account")  # a selection of a selection
    assert _text(again) == _text([r for r in items if r["status"] == status and isinstance(r["account"], str)])


@given(st.lists(rows, max_size=4))
def test_joined_parts_sorted_by_id_are_the_sorted_dicts(parts: list[list[dict]]) -> None:
    def by_number(number: str) -> tuple:
        return id_order(number), number

    columns = ("invoice", "status")
    joined = Rows.joined([Rows.of(p, columns) for p in parts], columns, by_number, "invoice")
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
    size = sum(sys.getsizeof(b) for b in packed._packed) / 1000
    assert size * 4 < deep(one), (size, deep(one))
