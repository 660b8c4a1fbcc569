"""Issue #13: every writer in cpqctl/formats/, written then loaded, gives back the same values (hypothesis).

Any text (control characters, DEL, NEL, U+2028, a BOM, quotes, `#`, `: `, YAML 1.1 booleans, numbers as
text, unicode, very long), any number and date the schema allows: the file a writer makes is read by
the loader (cpqctl.load.repo.load_bytes: parse, schema, build) without a finding, and holds exactly
what was written.
"""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from cpqctl.core.model import Cancellation, Quote, QuoteLine
from cpqctl.formats import invoice as invoice_texts, quotes as texts
from cpqctl.formats.yamledit import append_items
from cpqctl.formats.yamlout import Pairs, Raw, flow, mapping_lines, scalar
from cpqctl.load.repo import load_bytes
from cpqctl.load.schema import FIRST_DAY, LAST_DAY, F, O, convert
from cpqctl.load.yamlpos import parse

PROJECT = Path(__file__).resolve().parents[2]
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# text: every character but the surrogates (no UTF-8 file can hold one; refused as E-TEXT), with the awkward
# ones drawn often, and now and then very long
AWKWARD = [
    "\x00",
    "\x07",
    "\t",
    "\n",
    "\r",
    "\x1b",
    "\x7f",
    "\x85",
    "\xa0",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\ufffe",
    '"',
    "'",
    "\\",
    "#",
    ": ",
    " #",
    "- ",
    "? ",
    "&",
    "*",
    "!",
    "|",
    ">",
    "%",
    "@",
    "`",
    "{",
    "}",
    "[",
    "]",
    ",",
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "~",
    "null",
    "true",
    "1",
    "0x1F",
    "1e3",
    ".inf",
    "2026-01-01",
    " ",
    "ł",
    "日本",
    "😀",
    "\u0301",
]
CHARS = st.characters(blacklist_categories=("Cs",))
TEXT = st.one_of(
    st.text(CHARS, max_size=40),
    st.lists(st.one_of(st.sampled_from(AWKWARD), st.text(CHARS, max_size=3)), max_size=12).map("".join),
    st.text(CHARS, min_size=2000, max_size=3000),
)
NAME = TEXT.filter(lambda s: s.strip() != "")  # a signer or an approver has a name
DAY = st.dates(FIRST_DAY, LAST_DAY)
ID = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)


def money(places: int = 2, low: int = -(10**12), high: int = 10**12):
    return st.decimals(min_value=low, max_value=high, places=places, allow_nan=False, allow_infinity=False)


QTY = st.decimals(min_value=Decimal("0.01"), max_value=10**6, places=2)
PCT = st.decimals(min_value=0, max_value=100, places=2)


def _errors(res) -> list:
    return [d for d in res.diagnostics if d.severity == "error"]


# --------------------------------------------------------------------------- the emitter


@FAST
@given(TEXT, DAY, money(6), st.booleans())
def test_scalars_and_flow_mappings_load_back_equal(s, day, amount, flag):
    text = "\n".join(
        mapping_lines([("s", s), ("d", day), ("m", amount), ("b", flag), ("f", Raw(flow([("x", s), ("m", amount)])))])
    )
    value, problems = parse(text + "\n")
    assert problems == []
    schema = O(s=F("str"), d=F("date"), m=F("money"), b=F("bool"), f=O(x=F("str"), m=F("money")))
    obj, problems = convert(value, schema)
    assert problems == []
    assert (obj["s"], obj["d"], obj["m"], obj["b"], obj["f"]["x"], obj["f"]["m"]) == (s, day, amount, flag, s, amount)
    assert str(obj["m"]) == scalar(amount)  # decimal places kept as written


@FAST
@given(st.lists(TEXT, min_size=1, max_size=4), st.sampled_from(["block", "flow", "empty", "absent", "four"]))
def test_items_added_to_a_list_load_back_equal_and_keep_the_old_ones(items, layout):
    import yaml

    old = {
        "block": "k: 1\nl:\n  - a: x\n",
        "flow": "k: 1\nl: [{a: x}]\n",
        "empty": "k: 1\nl: []\n",
        "absent": "k: 1\n",
        "four": "k: 1\nl:\n    -   a: x\n",
    }[layout]
    new = append_items(old, "l", [Pairs([("a", s), ("n", [Raw(flow([("t", s)]))])]) for s in items])
    loaded = yaml.load(new, Loader=yaml.CSafeLoader)
    kept = [] if layout in ("empty", "absent") else [{"a": "x"}]
    assert loaded == {"k": 1, "l": kept + [{"a": s, "n": [{"t": s}]} for s in items]}
    if layout in ("block", "four", "absent"):
        assert new.startswith(old)


# --------------------------------------------------------------------------- quotes


LINE = st.tuples(ID, QTY, st.none() | PCT, st.none() | money(2, 0, 10**6))


@FAST
@given(
    ID,
    ID,
    DAY,
    DAY,
    st.one_of(
        st.tuples(st.integers(1, 120), st.none(), st.just(False)),
        st.tuples(st.none(), DAY, st.just(False)),
        st.just((None, None, True)),
    ),
    st.none() | st.sampled_from(["monthly", "quarterly", "annual"]),
    st.lists(LINE, min_size=1, max_size=5),
)
def test_a_draft_loads_back_equal(qid, account, day, start, term_end, billing, lines):
    term, end, evergreen = term_end
    text = texts.draft_text(qid, account, day, start, term, end, billing, evergreen, lines)
    res = load_bytes(f"quotes/{qid}.yaml", "quote", text.encode("utf-8"))
    assert _errors(res) == []
    q = res.records[0]
    assert (q.quote, q.account, q.date, q.start, q.term, q.end, q.evergreen, q.billing_frequency) == (
        qid,
        account,
        day,
        start,
        term,
        end,
        evergreen,
        billing,
    )
    assert [(ln.product, ln.quantity, ln.discount, ln.discount_amount) for ln in q.lines] == [
        (p, qty, d, amt) for p, qty, d, amt in lines
    ]


@cache
def _example():
    from cpqctl.load.repo import load_repo

    repo, _ = load_repo(PROJECT)
    return repo


def _priced(qty: Decimal, discount: Decimal | None, start: date):
    from cpqctl.core import quotes

    draft = Quote(
        quote="Q-1",
        account="acme",
        date=start,
        lines=(QuoteLine("PRO-SEAT", qty, discount), QuoteLine("ONBOARDING", Decimal(1))),
        start=start,
        term=12,
    )
    return draft, quotes.price(_example(), draft)


PRICED = st.tuples(st.integers(1, 5000).map(Decimal), st.none() | PCT, st.dates(date(2000, 1, 1), date(2900, 1, 1)))


@FAST
@given(PRICED, NAME, DAY, st.none() | st.tuples(NAME, DAY))
def test_an_accepted_quote_and_its_contract_load_back_equal(priced_args, signer, signed_on, approval):
    from cpqctl.core.model import Approval

    q, priced = _priced(*priced_args)
    if approval:
        q = dataclasses.replace(q, approved=Approval(approval[0], approval[1]))
    text = texts.accepted_text(q, priced, signer, signed_on, "C-1")
    res = load_bytes("quotes/Q-1.yaml", "quote", text.encode("utf-8"))
    assert _errors(res) == []  # E-DIGEST included: the digest covers the text as written
    a = res.records[0]
    assert (a.status, a.contract, a.signed.by, a.signed.date) == ("accepted", "C-1", signer, signed_on)
    assert (a.approved.by, a.approved.date) == approval if approval else a.approved is None
    assert (a.net_total, a.tax_total, a.gross_total) == (priced.net_total, priced.tax_total, priced.gross_total)
    assert [(ln.product, ln.quantity, ln.unit_price, ln.net_total) for ln in a.lines] == [
        (ln.product, ln.quantity, ln.net_unit_price, ln.net_total) for ln in priced.lines
    ]

    ctext = texts.contract_text("C-1", q, priced, _example().settings, signer, signed_on)
    res = load_bytes("contracts/acme/C-1.yaml", "contract", ctext.encode("utf-8"))
    assert _errors(res) == []
    c = res.records[0]
    assert (c.contract, c.account, c.signed.by, c.signed.date, c.start) == (
        "C-1",
        "acme",
        signer,
        signed_on,
        priced.start,
    )
    assert [(s.product, s.quantity, s.unit_price, s.start, s.end) for s in c.lines] == [
        (ln.product, ln.quantity, ln.net_unit_price, ln.start, ln.end) for ln in priced.lines
    ]


@FAST
@given(PRICED, NAME, DAY, DAY, st.none() | st.tuples(DAY, TEXT), st.sampled_from(["canonical", "no newline", "[]"]))
def test_an_amendment_entry_loads_back_equal_in_the_ledger(priced_args, signer, signed_on, effective, cancel, layout):
    q, priced = _priced(*priced_args)
    ctext = texts.contract_text("C-1", q, priced, _example().settings, "Anna", date(2000, 1, 1))
    ctext = {"canonical": ctext, "no newline": ctext.rstrip("\n"), "[]": ctext + "amendments: []\n"}[layout]
    contract = load_bytes("contracts/acme/C-1.yaml", "contract", ctext.encode("utf-8")).records[0]
    aq = dataclasses.replace(
        q,
        quote="Q-2",
        kind="amendment",
        effective=effective,
        cancelled=Cancellation(cancel[0], cancel[1]) if cancel else None,
    )
    new = texts.add_amendment(ctext, contract, "A-1", aq, priced, signer, signed_on, "sha256:" + "0" * 64)
    res = load_bytes("contracts/acme/C-1.yaml", "contract", new.encode("utf-8"))
    assert _errors(res) == []
    (a,) = res.records[0].amendments
    assert (a.amendment, a.quote, a.effective, a.signed.by, a.signed.date) == (
        "A-1",
        "Q-2",
        effective,
        signer,
        signed_on,
    )
    assert (a.cancelled.date, a.cancelled.reason) == cancel if cancel else a.cancelled is None
    assert [(s.product, s.quantity, s.unit_price) for s in a.lines] == [
        (ln.product, ln.quantity, ln.net_unit_price) for ln in priced.lines
    ]
    assert res.records[0].lines == contract.lines


@FAST
@given(
    ID,
    ID,
    DAY,
    DAY,
    st.integers(0, 50),
    st.none() | st.tuples(DAY, TEXT),
    st.lists(st.tuples(ID, money(2, -(10**6), 10**6), money(2, 0, 10**6)), max_size=4),
)
def test_an_amendment_quote_loads_back_equal(qid, contract, day, effective, based_on, cancel, lines):
    qlines = [
        QuoteLine(p, qty, list_price=lp, unit_price=lp, per="month", start=effective, end=None) for p, qty, lp in lines
    ]
    text = texts.amendment_quote_text(qid, "acme", contract, "PLN", day, effective, based_on, qlines, cancel)
    res = load_bytes(f"quotes/{qid}.yaml", "quote", text.encode("utf-8"))
    assert _errors(res) == []
    q = res.records[0]
    assert (q.contract, q.effective, q.based_on) == (contract, effective, based_on)
    assert (q.cancelled.date, q.cancelled.reason) == cancel if cancel else q.cancelled is None
    assert [(ln.product, ln.quantity, ln.unit_price) for ln in q.lines] == [(p, qty, lp) for p, qty, lp in lines]


# --------------------------------------------------------------------------- invoices


@cache
def _draft():
    from cpqctl.core import billing

    return billing.run(_example(), date(2026, 12, 31))[0]


@FAST
@given(ID, DAY, st.lists(money(2, -(10**9), 10**9), min_size=1, max_size=3), TEXT, TEXT, DAY)
def test_an_invoice_and_its_deliveries_load_back_equal(number, day, amounts, to, mid, sent_on):
    d = _draft()
    lines = tuple(dataclasses.replace(d.lines[0], amount=a) for a in amounts)
    net = sum(amounts, Decimal(0))
    d = dataclasses.replace(d, date=day, due=day, lines=lines, net_total=net, gross_total=net)
    text = invoice_texts.invoice_text(number, d)
    text += "sent:\n" + invoice_texts.sent_entry(sent_on, [to], mid)
    res = load_bytes(f"invoices/{number}.yaml", "invoice", text.encode("utf-8"))
    assert _errors(res) == []
    inv = res.records[0]
    assert (inv.invoice, inv.date, inv.due, inv.net_total, inv.gross_total) == (number, day, day, net, net)
    assert [ln.amount for ln in inv.lines] == amounts
    assert [(s.date, s.to, s.message_id) for s in inv.sent] == [(sent_on, to, mid)]


# --------------------------------------------------------------------------- init


@FAST
@given(TEXT)
def test_init_settings_keep_the_company_name(name):
    from cpqctl.formats.init import settings_toml

    assert tomllib.loads(settings_toml(name, "EUR", "en_US"))["company"]["name"] == name
