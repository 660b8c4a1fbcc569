"""`numbering.Sequences`: the next ID of a series, one pass over the IDs in use (`renew --due` numbers hundreds of
renewal quotes from one). Peeking and then adding an ID is taking it; allocating one after another gives what
recounting every ID in use before each allocation gives (how quote IDs were allocated before)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from cpqctl.core.numbering import Sequences, next_number

PATTERN = "Q-{year}-{seq:04d}"
ids = st.lists(
    st.builds(lambda y, n: f"Q-{y}-{n:04d}", st.sampled_from([2025, 2026]), st.integers(1, 60))
    | st.sampled_from(["C-2026-0001", "Q-x", "Q-2026-abc"]),
    max_size=20,
)


@given(ids, st.lists(st.tuples(st.sampled_from([2025, 2026, 2027]), st.booleans()), max_size=12))
def test_allocating_one_after_another_is_recounting_each_time(existing, wanted):
    seqs = Sequences(PATTERN, existing)
    taken = list(existing)
    for year, used in wanted:
        before = next_number(PATTERN, year, 1, None, taken)
        assert seqs.peek(year, 1, None) == before
        if used:
            seqs.add(before)
            taken.append(before)
    copy = Sequences(PATTERN, taken)
    assert copy.high == seqs.high


@given(ids, st.sampled_from([2025, 2026]))
def test_peek_then_add_is_take(existing, year):
    a, b = Sequences(PATTERN, existing), Sequences(PATTERN, existing)
    got = a.peek(year, 3, None)
    a.add(got)
    assert b.take(year, 3, None) == got and a.high == b.high


POLISH = "FV/{year}/{month:02d}/{seq:04d}"
polish = st.lists(
    st.builds(
        lambda y, m, n: f"FV/{y}/{m:02d}/{n:04d}", st.sampled_from([2025, 2026]), st.integers(1, 12), st.integers(1, 60)
    ),
    max_size=20,
)


@given(polish, st.sampled_from([2025, 2026, 2027]), st.integers(1, 12))
def test_the_names_of_the_files_count_as_the_ids_they_hold(existing, year, month):
    """A run that has not read every invoice numbers from the names in invoices/ (``FV_2026_03_0001`` holds
    ``FV/2026/03/0001``): the same next number as from the IDs."""
    from cpqctl.core.numbering import file_stem

    by_ids = Sequences(POLISH, existing)
    by_names = Sequences(POLISH, [])
    for ident in existing:
        by_names.add(file_stem(ident), stem=True)
    assert by_names.high == by_ids.high
    assert by_names.take(year, month, None) == by_ids.take(year, month, None)
