"""The file formats, declared once: used to convert/validate files and to emit JSON Schema.

A schema is a tree of :class:`F` (field) values. :func:`convert` walks a
positioned YAML value (:mod:`cpqctl.load.yamlpos`) against it and returns plain
Python values (``Decimal``, ``date``, ``str``, ``bool``, ``int``, ``Obj``,
``list``) and the problems found — every problem, not just the first.
:func:`json_schema` turns the same tree into a draft-07 JSON Schema for editors.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from cpqctl.core.metrics import FREE_ACCOUNTS
from cpqctl.core.model import UPLIFT_BASES
from cpqctl.core.money import D, MoneyError, parse_percent
from cpqctl.core.terms import (
    FREQUENCIES,
    PARTIAL_POLICIES,
    PRICE_PERIODS,
    PRORATION_METHODS,
    RENEWAL_PRICING,
    ROUNDING_MODES,
)
from cpqctl.load import memo
from cpqctl.load.yamlpos import Problem, Scalar, YMap, YSeq

ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
NUMBER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9._-]+)*")  # an invoice number: IDs joined by /
# a numbering pattern: ID characters and the placeholders {year} and {seq} (plain or zero-padded), {seq} once
INVOICING = ("default-branch", "branch-series")
LANGUAGES = ("pl", "en", "de", "pl+en", "pl+de", "en+de")  # documents' languages; a+b: bilingual (docs/languages.md)
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_SEQ_FORM_RE = re.compile(r"seq(?::0[1-9]d|:d)?")
NUMBERING_PATTERN = (
    r"^(?=[A-Za-z0-9{])(?=(?:[^{]|\{(?:year|month(?::02d)?|token)\})*\{seq)(?!.*\{seq.*\{seq)"
    r"(?:[A-Za-z0-9._-]|\{year\}|\{month(?::02d)?\}|\{token\}|\{seq(?::0[1-9]d|:d)?\})+$"
)
CURRENCY_RE = re.compile(r"[A-Z]{3}")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # [0-9], not \d: \d takes any script's digits
PERIOD_RE = re.compile(r"[0-9]{4}(?:-(?:0[1-9]|1[0-2]))?")  # a price index's period: YYYY-MM or YYYY
INT_RE = re.compile(r"[+-]?[0-9]+")
# a Peppol participant ID: the ISO 6523 ICD scheme (4 digits: 0088 GLN, 0208 Belgian enterprise number, 9930 German
# VAT ID, …), a colon, the identifier (at most 50 characters, Peppol Policy for use of Identifiers 4.2)
PEPPOL_RE = re.compile(r"[0-9]{4}:[A-Za-z0-9][A-Za-z0-9._:+/-]{0,49}")
# an account's structured e-invoices (docs/einvoicing.md); a+b: both (KSeF, the law for a Polish seller, and the
# buyer's EN 16931 file)
EINVOICE_FORMATS = ("ksef", "facturx", "ubl", "none", "ksef+facturx", "ksef+ubl")
KSEF_ENVIRONMENTS = ("test", "demo", "prod")
YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n"}
NULLS = {"", "~", "null", "Null", "NULL"}

# The bounds every number and date in a data file keeps (docs/reference/formats.md "Bounds"): beyond them a value
# is a typo, and Decimal arithmetic, date arithmetic and the documents stay exact and readable within them.
MAX_MONEY = Decimal(10) ** 15  # |amount| < 10^15
MAX_QUANTITY = Decimal(10) ** 9  # |quantity| < 10^9
MAX_PLACES = 6  # decimal places of an amount, a quantity or a percentage
FX_PLACES = 10  # an exchange rate may need more (1 IDR in EUR)
PERCENT_RANGE = (Decimal(0), Decimal(100))  # every percentage: tax rates, discounts, uplifts, margins
RATE_RANGE = (Decimal(-100), Decimal(100))  # a price index's value (a rate of change: may be negative)
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
MAX_TERM = 1200  # months (100 years) in a contract or renewal term
MAX_DAYS = 3650  # quote validity, payment and notice days (10 years)


@dataclass(frozen=True)
class F:
    """One field: its kind, whether it is required, and documentation."""

    kind: (
        str  # str id currency money quantity int percent date bool enum list obj prices numbering email mailbox anchor
    )
    required: bool = False
    doc: str = ""
    enum: tuple[str, ...] = ()
    item: F | None = None
    fields: dict[str, F] = field(default_factory=dict)
    default: object = None
    nonnegative: bool = False
    positive: bool = False  # money: more than 0 (an exchange rate)
    high: int | None = None  # int: the largest value
    places: int = MAX_PLACES  # money, quantity, percent: the most decimal places


class Obj(dict):
    """A converted mapping: ``at[key]`` is the (line, column) of its value, ``pos`` its own."""

    __slots__ = ("at", "pos")

    def where(self, key: str) -> tuple[int, int]:
        return self.at.get(key, self.pos)


class Seq(list):
    """A converted list: ``at[i]`` is the (line, column) of item i."""

    __slots__ = ("at", "pos")


def _pos(v) -> tuple[int, int]:
    return (getattr(v, "line", 1), getattr(v, "column", 1))


class _Ctx:
    __slots__ = ("problems",)

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def err(self, code: str, msg: str, at: tuple[int, int], hint: str = "") -> None:
        self.problems.append(Problem(code, msg, at[0], at[1], hint))


def _scalar_text(v, f: F, name: str, ctx: _Ctx) -> str | None:
    if not isinstance(v, Scalar):
        kind = "a list" if isinstance(v, YSeq) else "a mapping"
        ctx.err("E-TYPE", f"`{name}` must be a single value, not {kind}", _pos(v), _hint(f))
        return None
    return memo.intern(str(v))  # one object per distinct text, as the parse cache gives them back


def _hint(f: F) -> str:
    return {
        "money": "write an exact decimal with a dot, e.g. 1200.00",
        "quantity": "write a number, e.g. 5",
        "percent": "write a number followed by %, e.g. 10%",
        "date": "write an ISO date YYYY-MM-DD, e.g. 2026-01-01",
        "bool": "write true or false",
        "id": "IDs use letters, digits, dot, dash and underscore, starting with a letter or digit",
        "currency": "write an ISO 4217 code such as PLN, EUR or USD",
        "int": "write a whole number, e.g. 12",
        "enum": "one of: " + ", ".join(f.enum),
        "numbering": "placeholders {year} and {seq} (or zero-padded, {seq:04d}), optionally {month} and {token}; "
        "other characters: letters, digits, dot, dash and underscore — e.g. Q-{year}-{seq:04d}",
        "invoice-numbering": "placeholders {year} and {seq} (or zero-padded, {seq:04d}), optionally {month} and "
        "{token}; other characters: letters, digits, dot, dash, underscore and / — e.g. FV/{year}/{month:02d}/{seq:04d}",
    }.get(f.kind, "")


def _convert(v, f: F, name: str, ctx: _Ctx):
    k = f.kind
    if k == "obj":
        if not isinstance(v, YMap):
            what = f"`{name}`" if name else "the file"  # name is empty at the top level
            ctx.err("E-TYPE", f"{what} must be a mapping of keys to values", _pos(v), "keys: " + ", ".join(f.fields))
            return None
        return _convert_obj(v, f, name, ctx)
    if k == "list":
        if not isinstance(v, YSeq):
            ctx.err("E-TYPE", f"`{name}` must be a list", _pos(v), "write a YAML list: `- item` lines or [a, b]")
            return None
        out = Seq()
        out.pos = _pos(v)
        out.at = []
        for i, item in enumerate(v):
            c = _convert(item, f.item, f"{name}[{i + 1}]", ctx)
            if c is not None:
                out.append(c)
                out.at.append(_pos(item))
        return out
    if k in ("prices", "map"):  # currency → amount; map: currency → text (bank accounts per currency)
        if not isinstance(v, YMap):
            shape = "amounts, e.g. {{PLN: 1200.00}}" if k == "prices" else 'text, e.g. {{EUR = "…"}}'
            ctx.err("E-TYPE", f"`{name}` must map currencies to " + shape.format(), _pos(v), "")
            return None
        out = Obj()
        out.pos = _pos(v)
        out.at = {}
        # required: `PLN:` with no amount is reported, not silently dropped
        one = (
            F("money", required=True, nonnegative=True, positive=f.positive, places=f.places)
            if k == "prices"
            else F("str", required=True)
        )
        for cur, value in v.items():
            at = v.keypos[cur]
            if not CURRENCY_RE.fullmatch(cur):
                ctx.err("E-CURRENCY", f"`{cur}` is not a currency code", at, _hint(F("currency")))
                continue
            c = _convert(value, one, f"{name}.{cur}", ctx)
            if c is not None:
                out[cur] = c
                out.at[cur] = _pos(value)
        return out
    if k == "uplift":  # a percentage, or an index-linked uplift {index, plus, floor, cap} (docs/renewal-uplift.md)
        if not isinstance(v, YMap):
            return _convert(v, replace(f, kind="percent"), name, ctx)
        up = _convert_obj(v, INDEX_UPLIFT, name, ctx)
        if up.get("floor") is not None and up.get("cap") is not None and up["floor"] > up["cap"]:
            ctx.err("E-RANGE", f"`{name}`: the floor is above the cap", up.where("cap"), "write floor ≤ cap")
        return up
    if k == "series":
        return _series(v, name, ctx)
    if k == "fxrates":
        return _fx_rates(v, name, ctx)
    s = _scalar_text(v, f, name, ctx)
    if s is None:
        return None
    at = _pos(v)
    plain = v.plain
    if plain and s in NULLS:
        if f.required:
            ctx.err("E-REQUIRED", f"`{name}` needs a value", at, _hint(f))
        return None
    if plain and s.lower() in YAML11_BOOLS:
        ctx.err(
            "E-YAML11-BOOL",
            f"`{s}` is a YAML 1.1 boolean; cpqctl only accepts true and false",
            at,
            "write true or false, or quote the text if you meant a word",
        )
        return None
    if k == "str":
        return s
    if k in ("email", "mailbox"):
        from cpqctl.formats import mail

        why = mail.address_problem(s) if k == "email" else mail.mailbox_problem(s)
        if why:
            hint = mail.ADDRESS_HINT if k == "email" else mail.MAILBOX_HINT
            ctx.err("E-EMAIL", f"`{mail.shown(s)}` is not an e-mail address (`{name}`): {why}", at, hint)
            return None
        return s
    if k == "peppol":
        if not PEPPOL_RE.fullmatch(s):
            ctx.err(
                "E-PEPPOL-ID",
                f"`{s}` is not a Peppol participant ID (`{name}`)",
                at,
                "write scheme:identifier, the scheme the 4-digit ISO 6523 code, e.g. 0208:0123456789 (Belgium) or "
                "9930:DE811234565 (a German VAT ID)",
            )
            return None
        return s
    if k == "anchor":
        if s in ("start", "calendar"):
            return s
        if INT_RE.fullmatch(s) and 1 <= int(s) <= 28:
            return str(int(s))
        ctx.err(
            "E-ANCHOR",
            f"`{s}` is not a billing anchor (`{name}`)",
            at,
            "write start, calendar or a day of the month from 1 to 28 (later days do not exist in every month)",
        )
        return None
    if k in ("numbering", "invoice-numbering"):
        why = numbering_problem(s, slash=k == "invoice-numbering")
        if why:
            ctx.err("E-NUMBERING", f"`{s}` is not a numbering pattern (`{name}`): {why}", at, _hint(f))
            return None
        return s
    if k == "number":  # an invoice number: an ID, or parts of one joined by `/` (FV/2027/03/0001)
        if not NUMBER_RE.fullmatch(s):
            ctx.err("E-ID", f"`{s}` is not a valid invoice number for `{name}`", at, _hint(F("id")) + " (and /)")
            return None
        return memo.intern(s)
    if k == "id":
        if not ID_RE.fullmatch(s):
            ctx.err("E-ID", f"`{s}` is not a valid ID for `{name}`", at, _hint(f))
            return None
        return memo.intern(s)
    if k == "currency":
        if not CURRENCY_RE.fullmatch(s):
            ctx.err("E-CURRENCY", f"`{s}` is not a currency code", at, _hint(f))
            return None
        return memo.intern(s)
    if k in ("money", "quantity"):
        try:
            d = memo.decimal(s, D)
        except MoneyError:
            if not _foreign_digits(s, name, at, ctx):
                what = "an amount of money" if k == "money" else "a quantity"
                ctx.err("E-NUMBER", f"`{s}` is not {what} (`{name}`)", at, _hint(f))
            return None
        if f.nonnegative and d < 0:
            hint = "a decrease is an amendment line (`cpqctl amend`)" if k == "quantity" else "write 0 or more"
            ctx.err("E-NEGATIVE", f"`{name}` must not be negative", at, hint)
            return None
        if f.positive and d <= 0:
            ctx.err("E-RANGE", f"`{name}` must be more than 0", at, "an exchange rate is above 0, e.g. 4.30")
            return None
        limit = MAX_MONEY if k == "money" else MAX_QUANTITY
        if abs(d) >= limit:
            what = "an amount" if k == "money" else "a quantity"
            ctx.err(
                "E-RANGE",
                f"`{s}` is out of range (`{name}`): {what} is below {limit:,} in size",
                at,
                "check the value for a typo (a missing decimal point?)",
            )
            return None
        return d if _places_ok(d, s, f, name, at, ctx) else None
    if k == "int":
        if not INT_RE.fullmatch(s):
            if not _foreign_digits(s, name, at, ctx):
                ctx.err("E-NUMBER", f"`{s}` is not a whole number (`{name}`)", at, _hint(f))
            return None
        n = int(s)
        if f.nonnegative and n < 0:
            ctx.err("E-NEGATIVE", f"`{name}` must not be negative", at, "")
            return None
        high = f.high if f.high is not None else 10**9
        if abs(n) > high:
            ctx.err("E-RANGE", f"`{s}` is out of range (`{name}`): at most {high:,}", at, "check the value for a typo")
            return None
        return n
    if k in ("percent", "rate"):  # rate: a signed percentage (a price index's value)
        try:
            # one object per distinct text; only a text with its sign: the memo's "23" is a plain decimal's
            p = memo.decimal(s, parse_percent) if s.endswith("%") else parse_percent(s)
        except MoneyError:
            if _foreign_digits(s, name, at, ctx):
                return None
            hint = _hint(f)
            if D_ok(s):
                hint = f"write {s}% — a bare number in a percentage field is ambiguous"
            ctx.err("E-PERCENT", f"`{s}` is not a percentage (`{name}`)", at, hint)
            return None
        if k == "rate" and not RATE_RANGE[0] <= p <= RATE_RANGE[1]:
            ctx.err("E-RANGE", f"`{s}` is not between -100% and 100% (`{name}`)", at, "a rate of change, e.g. 4.9%")
            return None
        if k == "percent" and not PERCENT_RANGE[0] <= p <= PERCENT_RANGE[1]:
            ctx.err(
                "E-RANGE",
                f"`{s}` is not between 0% and 100% (`{name}`)",
                at,
                "a tax rate, discount, uplift or margin lies between 0% and 100%",
            )
            return None
        return p if _places_ok(p, s, f, name, at, ctx) else None
    if k == "date":
        if DATE_RE.fullmatch(s):
            try:
                day = memo.day(s)
            except ValueError:
                pass
            else:
                if FIRST_DAY <= day <= LAST_DAY:
                    return day
                ctx.err(
                    "E-DATE-RANGE",
                    f"`{s}` is outside the years {FIRST_DAY.year}–{LAST_DAY.year} (`{name}`)",
                    at,
                    "check the year for a typo",
                )
                return None
        elif _foreign_digits(s, name, at, ctx):
            return None
        ctx.err("E-DATE", f"`{s}` is not a date (`{name}`)", at, _hint(f))
        return None
    if k == "bool":
        if plain and s in ("true", "false"):
            return s == "true"
        ctx.err("E-BOOL", f"`{s}` is not a boolean (`{name}`)", at, _hint(f))
        return None
    if k == "enum":
        if s not in f.enum:
            ctx.err("E-ENUM", f"`{s}` is not a valid `{name}`", at, _hint(f))
            return None
        return memo.intern(s)
    raise AssertionError(k)  # pragma: no cover - schema bug


def _series(v, name: str, ctx: _Ctx) -> Obj | None:
    """A price index's ``values:``: period (``YYYY-MM`` or ``YYYY``, one kind per index) → a rate, e.g. ``4.9%``,
    or ``{value: 4.9%, published: 2026-11-14}``."""
    if not isinstance(v, YMap):
        ctx.err("E-TYPE", f"`{name}` must map periods to values", _pos(v), "e.g. 2026-10: 4.9%")
        return None
    ymap: Any = v  # (Any, as `out`: mypy cannot see the slots `keypos`, `pos` and `at`)
    out: Any = Obj()
    out.pos = _pos(v)
    out.at = {}
    length = None  # of the first period: all months (7) or all years (4)
    for period, val in v.items():
        at = ymap.keypos[period]
        if not PERIOD_RE.fullmatch(period) or not FIRST_DAY.year <= int(period[:4]) < LAST_DAY.year:
            ctx.err(
                "E-INDEX-PERIOD",
                f"`{period}` is not a period (`{name}`)",
                at,
                "write a month YYYY-MM (e.g. 2026-10) or a year YYYY",
            )
            continue
        length = length or len(period)
        if len(period) != length:
            ctx.err(
                "E-INDEX-PERIOD",
                f"`{period}`: an index's periods are all months or all years (`{name}`)",
                at,
                "keep a monthly and a yearly index in two files",
            )
            continue
        one = INDEX_ENTRY if isinstance(val, YMap) else F("rate", True)
        c = _convert(val, one, f"{name}.{period}", ctx)
        if c is not None and (not isinstance(c, Obj) or "value" in c):
            out[period] = c
            out.at[period] = _pos(val)
    return out


def _fx_rates(v, name: str, ctx: _Ctx) -> Obj | None:
    """An fx table's ``rates:``: day (``YYYY-MM-DD``) → ``{rate: 4.2264, table: 231/A/NBP/2026}`` (docs/fx.md).

    The result maps each day (a ``date``) to its converted entry; ``at[day]`` is the position of the day's key.
    """
    if not isinstance(v, YMap):
        ctx.err(
            "E-TYPE",
            f"`{name}` must map days to rates",
            _pos(v),
            "e.g. 2026-11-30: {rate: 4.2264, table: 231/A/NBP/2026}",
        )
        return None
    ymap: Any = v
    out: Any = Obj()
    out.pos = _pos(v)
    out.at = {}
    for key, val in v.items():
        at = ymap.keypos[key]
        day = None
        if DATE_RE.fullmatch(key):
            try:
                day = memo.day(key)
            except ValueError:
                day = None
        if day is None or not FIRST_DAY <= day <= LAST_DAY:
            ctx.err(
                "E-DATE",
                f"`{key}` is not a date (`{name}`)",
                at,
                "write the table's day as YYYY-MM-DD, e.g. 2026-11-30",
            )
            continue
        if not isinstance(val, YMap):
            ctx.err(
                "E-TYPE",
                f"`{name}.{key}` must be a mapping {{rate: …, table: …}}",
                _pos(val),
                "e.g. 2026-11-30: {rate: 4.2264, table: 231/A/NBP/2026}",
            )
            continue
        c = _convert_obj(val, FX_ENTRY, f"{name}.{key}", ctx)
        if "rate" in c:
            out[day] = c
            out.at[day] = at
    return out


def _foreign_digits(s: str, name: str, at: tuple[int, int], ctx: _Ctx) -> bool:
    """Report a digit of another script (``10৪0.00``: Python's ``Decimal``, ``int`` and ``\\d`` read it as 4)."""
    ch = next((c for c in s if c.isdigit() and not "0" <= c <= "9"), None)
    if ch is None:
        return False
    label = unicodedata.name(ch, f"U+{ord(ch):04X}")
    ctx.err(
        "E-DIGITS",
        f"`{s}` holds the digit `{ch}` ({label}), not one of 0-9 (`{name}`)",
        at,
        "write numbers and dates with the ASCII digits 0-9 only",
    )
    return True


def _places_ok(d: Decimal, s: str, f: F, name: str, at: tuple[int, int], ctx: _Ctx) -> bool:
    exponent = d.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places <= f.places:
        return True
    ctx.err(
        "E-PLACES",
        f"`{s}` has {places} decimal places (`{name}`); at most {f.places}",
        at,
        f"round it to {f.places} decimal places or fewer",
    )
    return False


def numbering_problem(pattern: str, slash: bool = False) -> str | None:
    """Why ``pattern`` cannot number IDs (None: it can). The IDs it makes are file names and must be valid IDs.

    Placeholders: ``{year}``, ``{month}`` (or ``{month:02d}``), ``{token}`` (a branch's series token,
    docs/teamwork.md) and ``{seq}`` (once; ``{seq:04d}`` zero-pads it). Everything else: letters, digits,
    dot, dash, underscore, starting with a letter or digit (a space or ``/`` would make a file no command reads).
    """
    names = []
    for inner in _PLACEHOLDER_RE.findall(pattern):
        base = re.split("[:!]", inner, maxsplit=1)[0]
        names.append(base)
        if base not in ("year", "month", "token", "seq"):
            return f"`{{{base}}}` is not a placeholder cpqctl fills ({{year}}, {{month}}, {{token}}, {{seq}})"
        if base == "seq" and not _SEQ_FORM_RE.fullmatch(inner):
            return f"write `{{{inner}}}` as {{seq}} or a zero-padded {{seq:04d}}"
        if base in ("year", "token") and inner != base:
            return f"write `{{{inner}}}` as {{{base}}}"
        if base == "month" and inner not in ("month", "month:02d"):
            return f"write `{{{inner}}}` as {{month}} or {{month:02d}}"
    if "month" in names and "year" not in names:
        return "{month} needs {year} too (a series is a month of a year)"
    if any(names.count(n) > 1 for n in ("month", "token")):
        return "{month} and {token} appear at most once"
    literal = _PLACEHOLDER_RE.sub("", pattern)
    allowed = "._-/" if slash else "._-"
    bad = sorted({c for c in literal if not (c.isascii() and (c.isalnum() or c in allowed))})
    if slash and "/" in literal:
        if "_" in literal:
            return "a pattern with `/` cannot hold `_` (the file name writes each `/` as `_`, docs/invoices.md)"
        if "//" in pattern or pattern.endswith("/"):
            return "`/` separates parts of the number: not twice in a row, not at the end"
    if bad:
        shown = ", ".join("a space" if c == " " else f"`{c}`" for c in bad)
        return f"{shown} cannot be in an ID (IDs are file names: letters, digits, dot, dash and underscore)"
    seqs = sum(1 for inner in _PLACEHOLDER_RE.findall(pattern) if inner.startswith("seq"))
    if seqs != 1:
        return "it needs {seq}, the running number, exactly once"
    if pattern[0] in "._-":
        return "an ID starts with a letter or a digit"
    return None


def D_ok(s: str) -> bool:
    try:
        D(s)
        return True
    except MoneyError:
        return False


def _convert_obj(v: YMap, f: F, name: str, ctx: _Ctx) -> Obj:
    out = Obj()
    out.pos = _pos(v)
    out.at = {}
    for key, val in v.items():
        sub = f.fields.get(key)
        if sub is None:
            close = _closest(key, f.fields)
            hint = f"did you mean `{close}`?" if close else "known keys: " + ", ".join(f.fields)
            ctx.err("E-UNKNOWN-KEY", f"unknown key `{key}`" + (f" in `{name}`" if name else ""), v.keypos[key], hint)
            continue
        c = _convert(val, sub, key, ctx)
        if c is not None:
            out[key] = c
            out.at[key] = _pos(val)
    for key, sub in f.fields.items():
        # keypos: a key written with a refused value (reported already) is not also "missing"
        if sub.required and key not in out and key not in v.keypos:
            ctx.err(
                "E-REQUIRED",
                f"missing required key `{key}`" + (f" in `{name}`" if name else ""),
                out.pos,
                sub.doc or _hint(sub),
            )
    return out


def _closest(key: str, names) -> str | None:
    import difflib

    m = difflib.get_close_matches(key, list(names), n=1, cutoff=0.7)
    return m[0] if m else None


def convert(value, schema: F) -> tuple[Obj | None, list[Problem]]:
    """Convert a positioned YAML document against a top-level object schema."""
    ctx = _Ctx()
    if value is None or (isinstance(value, Scalar) and value.plain and value in NULLS):  # nothing, or `---` alone
        ctx.err("E-EMPTY", "the file is empty", (1, 1), "see `cpqctl schema` for the expected keys")
        return None, ctx.problems
    out = _convert(value, schema, "", ctx)
    return out, ctx.problems


# --------------------------------------------------------------------------- the formats

# the vocabularies of cpqctl.core.terms, under the names this module's formats (and formats/importer.py) use
PERIODS = PRICE_PERIODS
PRORATION = PRORATION_METHODS
ROUNDING = ROUNDING_MODES


def O(doc: str = "", _required: bool = False, **fields: F) -> F:  # noqa: E743 - short on purpose
    return F("obj", required=_required, doc=doc, fields=fields)


def L(item: F, doc: str = "", required: bool = False) -> F:
    return F("list", required=required, doc=doc, item=item)


def E(*values: str, doc: str = "", required: bool = False, default: object = None) -> F:
    return F("enum", enum=values, doc=doc, required=required, default=default)


SIGNED = O(
    "who signed, and when",
    by=F("str", True, "the signer's name"),
    date=F("date", True, "the signing date"),
    # a simple electronic signature given in the customer portal (docs/portal.md): its record, written by cpqctl
    method=F(
        "str",
        doc="how it was signed: `portal` (a simple electronic signature in `cpqctl serve --portal`), or the name of "
        "the signature provider an adapter used",
    ),
    at=F("str", doc="when, in UTC (ISO 8601), as the portal's server recorded it"),
    ip=F("str", doc="the signer's IP address as the portal saw it"),
    user_agent=F("str", doc="the signer's browser as it named itself"),
    consent=F("str", doc="the declaration the signer ticked"),
    document=F("str", doc="sha256:<hex> of the quote document the signer was shown"),
)
ANCHOR_DOC = (
    "where billing periods start: `start` (the contract start, default), `calendar` (the 1st of calendar months, "
    "quarters from January, years on 1 January) or a day of the month 1–28; the first invoice covers the stub "
    "up to the first anchor date (docs/billing.md)"
)
BILLING = O(
    "billing terms",
    frequency=E(*FREQUENCIES, doc="how often invoices are issued, in advance"),
    anchor=F("anchor", doc=ANCHOR_DOC),
    partial=E(
        *PARTIAL_POLICIES,
        doc="how a partial billing period bills: prorate (default), full (the whole period), none (nothing); docs/billing.md",
    ),
)
INDEX_UPLIFT = O(
    "an index-linked uplift: the index's value + plus, at least floor, at most cap (docs/renewal-uplift.md)",
    index=F("id", True, "the price index (indices/<index>.yaml)"),
    plus=F("percent", doc="added to the index's value, e.g. 5%"),
    floor=F("percent", doc="the least uplift, e.g. 8%"),
    cap=F("percent", doc="the most uplift, e.g. 12%"),
)
UPLIFT_DOC = (
    "uplift applied with pricing: uplift: a percentage, e.g. 5%, or index-linked, e.g. "
    "{index: cpi-pl, plus: 5%, floor: 8%, cap: 12%} (docs/renewal-uplift.md)"
)
UPLIFT_BASIS_DOC = (
    "what the uplift applies to: last (default): each line's price on the contract's last day; ramp: the first "
    "price of the line's ramp (its earliest segment)"
)
RENEWAL = O(
    "renewal terms",
    term=F("int", doc="renewal term in months", nonnegative=True, high=MAX_TERM),
    pricing=E(
        *RENEWAL_PRICING, doc="same: keep net prices; list: re-price from the catalog; uplift: net × (1 + uplift)"
    ),
    uplift=F("uplift", doc=UPLIFT_DOC),
    uplift_basis=E(*UPLIFT_BASES, doc=UPLIFT_BASIS_DOC),
)
SEGMENT_LINE = O(
    "a ledger segment: a quantity of a product at a frozen price over a date range",
    product=F("id", True, "product code"),
    quantity=F("quantity", True, "number of units (negative on a decrease)"),
    list_price=F("money", doc="list unit price per `per` at acceptance", nonnegative=True),
    unit_price=F("money", True, "net unit price per `per`, frozen at acceptance", nonnegative=True),
    per=E(*PERIODS, doc="the period the unit price covers (absent for one-time products)"),
    start=F("date", True, "first day of service"),
    end=F("date", doc="last day of service (inclusive); absent on evergreen contracts and one-time lines"),
    pricing=E(
        "list", "block", "percent-of-total", doc="block: unit_price is the block's price, quantity is not a multiplier"
    ),
    bundle=F("id", doc="the bundle product this option line belongs to"),
    timing=E(
        "advance",
        "arrears",
        doc="advance: invoiced on the first day of each billing period; arrears: the day after it ends (docs/billing.md)",
    ),
)
# a contract's own lines (not an amendment's): what was signed, never a negative quantity
BASE_LINE = replace(
    SEGMENT_LINE, fields={**SEGMENT_LINE.fields, "quantity": F("quantity", True, "number of units", nonnegative=True)}
)
CANCELLED = O("a cancellation", date=F("date", True, "the first day without service"), reason=F("str", doc="why"))
_RENUMBERING = {
    "from": F("id", True, "the ID before"),
    "to": F("id", True, "the ID after"),
    "date": F("date", True, "the day of the renumbering"),
    "reason": F("str", True, "why (`--reason`)"),
}
CONTRACT_RENUMBERED = L(
    F(
        "obj",
        doc="a renumbering of this contract (`cpqctl renumber`): its ID before and after, and why",
        fields=_RENUMBERING,
    ),
    doc="renumberings of this contract, oldest first, written by `cpqctl renumber`",
)
QUOTE_RENUMBERED = L(
    F(
        "obj",
        doc="a renumbering (`cpqctl renumber`): this quote's ID, or the contract it names, changed, and why",
        fields={
            "field": E("contract", doc="absent: this quote's own ID; `contract`: the contract it names (`contract:`)"),
            **_RENUMBERING,
        },
    ),
    doc="renumberings, oldest first, written by `cpqctl renumber` (an accepted quote's are covered by its new digest)",
)

CATALOG = O(
    "a product catalog file (catalog/*.yaml)",
    products=L(
        O(
            "a product",
            code=F("id", True, "product code"),
            name=F("str", True, "display name"),
            description=F("str", doc="longer description for documents"),
            unit=F("str", doc="unit of measure on invoices, e.g. user, licence, szt. (default by `per`: month, year…)"),
            family=F("str", doc="product family (reports, contracted prices, percent-of-total)"),
            type=E("subscription", "one-time", doc="subscription (recurring) or one-time", default="subscription"),
            per=E(*PERIODS, doc="the period the price covers (subscriptions)"),
            price=F("prices", doc="list price per currency, e.g. {PLN: 1200.00, EUR: 280.00}"),
            pricing=E("list", "block", "percent-of-total", doc="pricing method", default="list"),
            timing=E(
                "advance",
                "arrears",
                doc="advance: invoiced on the first day of each billing period; arrears: the day after it ends (docs/billing.md)",
                default="advance",
            ),
            percent=F("percent", doc="percent-of-total: the percentage of the covered lines"),
            of=O(
                "percent-of-total: which lines are covered",
                family=F("str", doc="a product family"),
                products=L(F("id"), doc="product codes"),
            ),
            min_price=F("prices", doc="percent-of-total: the floor price per currency"),
            blocks=L(
                O(
                    "a block",
                    up_to=F("quantity", True, "the largest quantity this block holds", nonnegative=True),
                    price=F("prices", True, "the price of the whole block per currency"),
                )
            ),
            overage=F(
                "prices",
                doc="block: the price per unit above the last block's up_to, per currency, e.g. {PLN: 8.00}; "
                "without it a quantity beyond the last block is refused",
            ),
            discount_schedule=F("id", doc="code of a discount schedule"),
            requires=L(F("id"), doc="products that must be on the quote or contract too"),
            excludes=L(F("id"), doc="products that must not be on the quote or contract"),
            options=L(
                O(
                    "a bundle option",
                    product=F("id", True, "the option's product code"),
                    min=F("quantity", doc="minimum quantity", nonnegative=True),
                    max=F("quantity", doc="maximum quantity", nonnegative=True),
                    required=F("bool", doc="the option must be on the quote"),
                    included=F("bool", doc="part of the bundle at price 0"),
                ),
                doc="bundle options",
            ),
            evergreen=F("bool", doc="true: sold only on evergreen contracts"),
            revenue=E(
                "ratable",
                "point-in-time",
                "over-term",
                doc="revenue recognition (docs/revenue.md): ratable by day over the period billed (default for "
                "subscriptions), point-in-time (default for one-time products) or over-term (over the contract)",
            ),
            ssp=F(
                "prices",
                doc="standalone selling price per currency, for allocating a bundle's discount (default: the list price)",
            ),
        ),
        doc="products",
    ),
    discount_schedules=L(
        O(
            "a volume discount schedule",
            code=F("id", True, "schedule code"),
            type=E(
                "range",
                "slab",
                doc="range: the tier of the total applies to all units; slab: each unit its own tier",
                required=True,
            ),
            tiers=L(
                O(
                    "a tier",
                    **{
                        "from": F("quantity", True, "first quantity of the tier (inclusive)", nonnegative=True),
                        "discount": F("percent", doc="discount off the list price (give this or amount_off)"),
                        "amount_off": F(
                            "prices",
                            doc="instead of discount: an amount off the list unit price per currency, "
                            "e.g. {PLN: 5.00} (give this or discount)",
                        ),
                    },
                ),
                required=True,
            ),
        ),
        doc="discount schedules",
    ),
)

ACCOUNT = O(
    "a customer (contracts/<account>/account.yaml)",
    account=F("id", True, "account ID (equals the folder name)"),
    name=F("str", True, "legal name"),
    currency=F("currency", True, "the account's currency"),
    address=F("str", doc="postal address"),
    tax_id=F("str", doc="VAT ID"),
    tax_rate=F("percent", doc="VAT rate; overrides cpq.toml [tax] rate"),
    reverse_charge=F(
        "bool",
        doc="B2B service taxed where the customer is: reverse charge (an EU customer, Directive 2006/112 art. 196) "
        "or `np.` (outside the EU, art. 28b of the Polish VAT act), told by `country`",
    ),
    country=F("str", doc="ISO 3166 country code, e.g. DE (default: the prefix of tax_id)"),
    language=E(*LANGUAGES, doc="language of documents and e-mail (default: cpq.toml [company] language)"),
    tax_code=E(
        "np",
        "zw",
        "oo",
        doc="the VAT code printed instead of a rate: np (not taxable in Poland), zw (exempt; give tax_note), "
        "oo (domestic reverse charge)",
    ),
    tax_note=F("str", doc="the legal basis printed with the code, e.g. art. 43 ust. 1 pkt 37 ustawy o VAT"),
    einvoice=E(
        *EINVOICE_FORMATS,
        doc="the structured e-invoice of this account's invoices: ksef (Poland's FA(3) through KSeF), facturx "
        "(Factur-X: a PDF/A-3 carrying EN 16931 CII), ubl (EN 16931 UBL, Peppol BIS Billing 3.0), ksef+facturx or "
        "ksef+ubl (both), or none (default: ksef from a Polish seller to a business buyer, else none; "
        "docs/einvoicing.md)",
    ),
    peppol_id=F("peppol", doc="the buyer's Peppol participant ID, scheme:identifier, e.g. 0208:0123456789"),
    contacts=L(
        O(
            "a contact",
            name=F("str", True),
            email=F("email", doc="an address local@domain (the name goes in `name`)"),
            role=F("str", doc="e.g. billing"),
        )
    ),
    renewal=RENEWAL,
    billing=O(
        "billing terms of this account",
        anchor=F("anchor", doc=ANCHOR_DOC),
        payment_days=F("int", nonnegative=True, high=MAX_DAYS, doc="days to pay (overrides cpq.toml)"),
    ),
    contracted_prices=L(
        O(
            "a negotiated price, applied automatically on every quote",
            product=F("id", doc="a product code (beats a family entry)"),
            family=F("str", doc="a product family"),
            price=F("money", doc="replaces the list price", nonnegative=True),
            discount=F("percent", doc="taken off the list price"),
            **{"from": F("date", doc="valid from (inclusive)"), "until": F("date", doc="valid until (inclusive)")},
        )
    ),
)

CONTRACT = O(
    "a contract with its amendment ledger (contracts/<account>/<contract>.yaml)",
    contract=F("id", True, "contract ID (equals the file name)"),
    account=F("id", True, "the account"),
    currency=F("currency", True, "the contract currency"),
    start=F("date", True, "first day"),
    end=F("date", doc="last day (inclusive); absent when evergreen"),
    evergreen=F("bool", doc="no end: billed every period until cancelled"),
    billing=BILLING,
    proration=E(*PRORATION, doc="frozen from cpq.toml at acceptance"),
    rounding=E(*ROUNDING, doc="frozen from cpq.toml at acceptance"),
    renewal=RENEWAL,
    quote=F("id", doc="the accepted quote"),
    quote_digest=F("str", doc="the accepted quote's digest when this contract was created (written by cpqctl)"),
    signed=SIGNED,
    renews=F("id", doc="the predecessor contract"),
    billed_through=F("date", doc="imported: invoiced elsewhere up to this date"),
    renumbered=CONTRACT_RENUMBERED,
    lines=L(BASE_LINE, required=True),
    amendments=L(
        O(
            "an amendment: delta segments from `effective` to the contract end",
            amendment=F("id", True, "amendment ID, e.g. A-1"),
            quote=F("id", doc="the accepted amendment quote"),
            quote_digest=F("str", doc="the accepted amendment quote's digest (written by cpqctl)"),
            effective=F("date", True, "first day the change applies"),
            signed=SIGNED,
            end=F("date", doc="an extension: the new contract end"),
            cancelled=CANCELLED,
            billing=O(
                "a change of billing frequency, or a new term, from `effective` on (docs/billing.md)",
                frequency=E(*FREQUENCIES, doc="the new billing frequency"),
                restart=F("bool", doc="a new term: billing periods count from `effective` (`amend --new-term`)"),
            ),
            lines=L(SEGMENT_LINE),
        )
    ),
)

QUOTE_LINE = O(
    "a quote line: inputs (product, quantity, manual discount) and, once priced, its frozen prices",
    product=F("id", True, "product code"),
    quantity=F("quantity", True, "number of units"),
    discount=F("percent", doc="manual discount, percent"),
    discount_amount=F("money", doc="manual discount per unit", nonnegative=True),
    list_price=F("money", doc="frozen list unit price", nonnegative=True),
    unit_price=F("money", doc="frozen net unit price", nonnegative=True),
    per=E(*PERIODS),
    start=F("date"),
    end=F("date"),
    pricing=E("list", "block", "percent-of-total"),
    bundle=F("id", doc="the bundle line this option belongs to"),
    net_total=F("money", doc="frozen prorated line total"),
    timing=E("advance", "arrears", doc="billing timing (default: the product's)"),
)

APPROVED = O(
    "a manager's approval of a draft: who, when, and the digest of the priced quote approved "
    "(void once the quote prices differently; an approval without a digest is void)",
    by=F("str", True, "the approver's name"),
    date=F("date", True, "the approval date"),
    digest=F("str", doc="sha256 of the priced quote approved (its lines and totals), written by `quote approve`"),
)
PRESENTED = O(
    "what the customer was shown (`quote render` of a draft): the priced lines and totals, and their digest",
    date=F("date", True, "the day the document was rendered"),
    format=F("str", doc="md or pdf"),
    digest=F("str", True, "sha256 of the priced quote shown (as in `approved.digest`)"),
    net_total=F("money", doc="the net total shown"),
    gross_total=F("money", doc="the gross total shown"),
    lines=L(
        O(
            "a priced line as shown",
            product=F("id", True, "product code"),
            quantity=F("quantity", True, "number of units"),
            unit_price=F("money", doc="net unit price shown"),
            net_total=F("money", doc="line total shown"),
        )
    ),
)

QUOTE = O(
    "a quote (quotes/<quote>.yaml)",
    quote=F("id", True, "quote ID (equals the file name)"),
    kind=E("new", "amendment", "renewal", doc="new business, amendment or renewal", default="new"),
    status=E("draft", "needs-approval", "approved", "accepted", doc="workflow state", default="draft"),
    account=F("id", True, "the account"),
    contract=F("id", doc="amendment/renewal: the contract; accepted new quote: the contract created"),
    currency=F("currency", doc="defaults to the account's currency"),
    date=F("date", True, "quote date; valid until date + quote_valid_days"),
    start=F("date", doc="first day of service"),
    term=F("int", doc="months; end = start + term − 1 day", nonnegative=True, high=MAX_TERM),
    end=F("date", doc="last day (wins over term); on amendments: an extension's new end"),
    evergreen=F("bool", doc="an evergreen contract"),
    billing=replace(
        BILLING,
        fields={
            **BILLING.fields,
            "restart": F("bool", doc="amendment: a new term from `effective` (`amend --new-term`, docs/billing.md)"),
        },
    ),
    effective=F("date", doc="amendment: first day of the change"),
    based_on=F("int", doc="amendment: number of amendments the contract had", nonnegative=True),
    rebases=F(
        "id",
        doc="amendment: the accepted amendment quote whose meaning this one restores on a merged ledger "
        "(`cpqctl amend C --rebase Q`, docs/teamwork.md)",
    ),
    cancelled=CANCELLED,
    renewal=RENEWAL,
    approved=APPROVED,
    signed=SIGNED,
    renumbered=QUOTE_RENUMBERED,
    lines=L(QUOTE_LINE, required=True),
    net_total=F("money"),
    tax_total=F("money"),
    gross_total=F("money"),
    digest=F("str", doc="sha256 of the accepted file without this line"),
    presented=L(
        PRESENTED, doc="a draft's presentations, oldest first, written by `quote render` (not kept once accepted)"
    ),
)

PARTY = O(
    "a party as on the issue day",
    name=F("str", True),
    address=F("str"),
    tax_id=F("str"),
    country=F("str"),
    bank_account=F("str"),
)

INVOICE = O(
    "an issued invoice (invoices/<invoice>.yaml)",
    invoice=F("number", True, "invoice number (the file name, with each / written as _)"),
    account=F("id", True),
    contract=F("id", True),
    date=F("date", True, "issue date"),
    sale_date=F("date", doc="the sale date: the end of the last settlement period billed (docs/invoices.md)"),
    due=F("date", doc="payment due date"),
    currency=F("currency", True),
    corrects=F("number", doc="the invoice this one corrects"),
    corrects_date=F("date", doc="the corrected invoice's issue date"),
    reason=F("str", doc="why the correction"),
    kind=E("invoice", "correction", doc="a corrective invoice (faktura korygująca) is `correction`"),
    period_start=F("date", doc="the first day of the settlement periods billed"),
    period_end=F("date", doc="the last day of the settlement periods billed (art. 106i ust. 8)"),
    language=E(*LANGUAGES, doc="the document's language"),
    reverse_charge=F("bool", doc="EU reverse charge (Directive 2006/112 art. 196)"),
    tax_code=E("np", "zw", "oo", doc="the VAT code instead of a rate"),
    tax_note=F("str", doc="its legal basis"),
    seller=PARTY,
    buyer=PARTY,
    fx=O(
        "the exchange rate into PLN of the VAT (art. 106e ust. 11)",
        rate=F("money", True, "1 unit of the currency in PLN", positive=True, places=FX_PLACES),
        table=F("str", doc="e.g. 231/A/NBP/2026"),
        date=F("date", doc="the table's date"),
    ),
    document=O(
        "the documents as issued, kept beside the file (invoices/<file>.md, .pdf): their sha256 (docs/invoices.md)",
        md=F("str"),
        pdf=F("str"),
    ),
    lines=L(
        O(
            "an invoice line",
            segment=F("str", True, "the ledger segment billed, e.g. C-2026-0001#1 or C-2026-0001/Q-2026-0007#1"),
            product=F("id", True),
            name=F("str", doc="the product's name on the issue day"),
            description=F("str", doc="the product's description on the issue day"),
            kind=E("recurring", "proration", "credit", "one-time", required=True),
            period_start=F("date"),
            period_end=F("date"),
            quantity=F("quantity"),
            units=F("quantity", doc="what the unit price multiplies when not `quantity`: a block line bills 1 block"),
            unit=F("str", doc="unit of measure"),
            unit_price=F("money", doc="net unit price per `per` (one-time: per unit)"),
            per=E(*PERIODS, doc="the price's time unit"),
            factor=F("quantity", doc="how many `per` units the line bills (a prorated stub: a fraction)"),
            line=F("int", nonnegative=True, high=100000, doc="a correction: the corrected invoice's line number"),
            before=F("money", doc="a correction: the line's net amount before it"),
            after=F("money", doc="a correction: the line's net amount after it"),
            amount=F("money", True),
        ),
        required=True,
    ),
    net_total=F("money", True),
    taxes=L(
        O(
            "tax per rate",
            rate=F("percent", True),
            base=F("money", True),
            amount=F("money", True),
            amount_pln=F("money", doc="the VAT in PLN at `fx` (an invoice in another currency)"),
        )
    ),
    gross_total=F("money", True),
    digest=F(
        "str",
        doc="sha256 of the file's text before this line (written by cpqctl; `ksef:`, `reminders:` and `sent:` follow it)",
    ),
    reminders=L(
        O(
            "a payment reminder (docs/dunning.md)",
            level=F("int", True, "the reminder level: 1 for the first", nonnegative=True, high=99),
            date=F("date"),
            to=F("str"),
            message_id=F("str"),
        ),
        doc="payment reminders sent by `cpqctl dunning run`, outside the digest (before `sent:`)",
    ),
    sent=L(O("a delivery", date=F("date"), to=F("str"), message_id=F("str"))),
    ksef=O(
        "accepted by KSeF: written by `cpqctl invoice submit` after the digest line, outside the digest "
        "(docs/einvoicing.md)",
        number=F("str", True, "the KSeF number the system assigned"),
        accepted=F("str", doc="when KSeF assigned it, the server's timestamp as returned"),
        reference=F("str", doc="the invoice's reference number in its KSeF session (its UPO is fetched by it)"),
        session=F("str", doc="the online session's reference number"),
        environment=E(*KSEF_ENVIRONMENTS, doc="the KSeF environment it went to"),
        sha256=F("str", doc="sha256 of the FA(3) XML as submitted (invoices/<file>.ksef.xml)"),
    ),
)

SMTP = O(
    "SMTP delivery of invoices",
    host=F("str"),
    port=F("int", nonnegative=True, high=65535),
    starttls=F("bool"),
    user=F("str"),
    password_env=F("str", doc="environment variable holding the password"),
    **{"from": F("mailbox", doc="From: header: local@domain or Name <local@domain>")},
)

PORTAL = O(
    "the customer portal of `cpqctl serve --portal` (docs/portal.md)",
    secret_env=F(
        "str",
        doc="environment variable holding the secret that signs sign-in links and sessions (default "
        "CPQ_PORTAL_SECRET; at least 32 characters); never stored",
    ),
    url=F("str", doc="the portal's address in the links `portal invite` sends (default http://127.0.0.1:8000/)"),
    link_days=F("int", nonnegative=True, high=90, doc="days a sign-in link stays valid (default 7)"),
    seats=L(F("id"), doc="products whose quantity a customer may raise, e.g. [PRO-SEAT, VIEWER-SEAT]"),
    addons=L(F("id"), doc="products a customer may switch on (one unit), e.g. [SSO, AUDIT-LOG]"),
    decreases=F(
        "bool",
        doc="whether a customer may lower a quantity or switch an add-on off (default false: such a change is "
        "a request the team sees)",
    ),
    max_quantity=F(
        "int", nonnegative=True, high=1_000_000, doc="the highest quantity a customer may sign for (default 1000)"
    ),
)
HOOKS = O(
    "provisioning when a customer signs in the portal (docs/portal.md#provisioning)",
    on_accept=F("str", doc="a command (run without a shell) given the account's entitlements JSON on stdin"),
    webhook=F("str", doc="an http(s) URL the entitlements JSON is POSTed to, signed with HMAC-SHA256"),
    webhook_secret_env=F("str", doc="environment variable holding the webhook's HMAC secret"),
    timeout=F("int", nonnegative=True, high=600, doc="seconds a hook may take (default 30)"),
)

SETTINGS = O(
    "cpq.toml",
    company=O(
        "the seller",
        name=F("str"),
        address=F("str"),
        tax_id=F("str"),
        bank_account=F("str", doc="account number printed on invoices for payment by transfer"),
        bank_accounts=F("map", doc="currency → the account number printed on invoices in that currency"),
        country=F("str", doc="ISO 3166 country code of the seller (default: the prefix of tax_id, else the locale)"),
        language=E(*LANGUAGES, doc="default language of documents (default: from the locale)"),
        locale=F("str", doc="Babel locale for documents, e.g. pl_PL"),
        currency=F("currency"),
    ),
    pricing=O(
        "pricing defaults",
        proration=E(*PRORATION),
        rounding=E(*ROUNDING),
        quote_valid_days=F("int", nonnegative=True, high=MAX_DAYS),
    ),
    billing=O(
        "billing defaults",
        frequency=E(*FREQUENCIES),
        payment_days=F("int", nonnegative=True, high=MAX_DAYS),
        anchor=F("anchor", doc=ANCHOR_DOC),
        partial=E(
            *PARTIAL_POLICIES,
            doc="how a partial billing period bills: prorate (default), full (the whole period), none (nothing); docs/billing.md",
        ),
    ),
    renewal=O(
        "renewal defaults",
        pricing=E(*RENEWAL_PRICING),
        uplift=F("uplift", doc=UPLIFT_DOC),
        uplift_basis=E(*UPLIFT_BASES, doc=UPLIFT_BASIS_DOC, default="last"),
        notice_days=F("int", nonnegative=True, high=MAX_DAYS),
    ),
    approvals=O("approvals", max_discount=F("percent")),
    tax=O(
        "tax",
        rate=F("percent"),
        rounding=E(
            "invoice",
            "line",
            doc="`invoice` (default): VAT per rate on the invoice's net total, rounded once (art. 106e ust. 1 "
            "pkt 14 of the Polish VAT act); `line`: each line's VAT rounded, then added up (Zuora's method)",
        ),
    ),
    numbering=O(
        "ID patterns (the file names of new quotes, contracts and invoices)",
        quote=F("numbering", doc="new quote IDs, e.g. Q-{year}-{seq:04d}"),
        contract=F("numbering", doc="new contract IDs, e.g. C-{year}-{seq:04d}"),
        invoice=F(
            "invoice-numbering", doc="new invoice numbers, e.g. INV-{year}-{seq:04d} or FV/{year}/{month:02d}/{seq:04d}"
        ),
        correction=F("invoice-numbering", doc="corrective invoice numbers, e.g. FK/{year}/{seq:04d}"),
        payment=F("numbering", doc="new payment IDs (payments/<YYYY-MM>/<ID>.yaml), e.g. PAY-{year}-{seq:04d}"),
    ),
    invoice=O(
        "invoice content (docs/invoices.md)",
        sale_date=E(
            "period_start",
            "period_end",
            doc="the sale date of a periodic service: period_end (default: the end of the settlement period, "
            "art. 19a ust. 3 of the Polish VAT act) or period_start",
        ),
    ),
    git=O(
        "teamwork in git (docs/teamwork.md)",
        default_branch=F(
            "id", doc="the branch that issues invoice numbers (default: detected: origin's, main, master)"
        ),
        invoicing=E(
            *INVOICING,
            doc="`default-branch` (default): invoice numbers only on the default branch, refused elsewhere; "
            "`branch-series`: each branch numbers its invoices in a series of its own",
        ),
    ),
    smtp=SMTP,
    portal=PORTAL,
    hooks=HOOKS,
    ksef=O(
        "submitting invoices to KSeF, Poland's e-invoicing system: `cpqctl invoice submit` (docs/einvoicing.md)",
        environment=E(*KSEF_ENVIRONMENTS, doc="test, demo or prod (default test)"),
        token_env=F("str", doc="environment variable holding the KSeF token (default KSEF_TOKEN); never stored"),
        base_url=F("str", doc="the API's address instead of the environment's (a proxy, a test server)"),
        mandatory_from=F(
            "date",
            doc="the first issue date KSeF is mandatory for (default 2026-04-01; 2026-02-01 for taxpayers whose "
            "2024 sales exceeded PLN 200 m): `invoice send` and `check` hold invoices from this day to it",
        ),
    ),
    dunning=O(
        "payment reminders: `cpqctl dunning run` (docs/dunning.md)",
        levels=L(
            F("int", nonnegative=True, high=MAX_DAYS),
            doc="days past the due date at which reminder 1, 2, … goes out, rising, e.g. [7, 21, 45] (default [7, 21])",
        ),
        suspend_after=F(
            "int",
            nonnegative=True,
            high=MAX_DAYS,
            doc="days past due from which an account is listed as a hint to suspend (default 60; nothing changes)",
        ),
        compensation=F(
            "bool",
            doc="add the statutory compensation for recovery costs, EUR 40/70/100 (Polish act of 8 March 2013 "
            "art. 10 ust. 1, Directive 2011/7/EU art. 6); default false",
        ),
        interest_rate=F(
            "percent",
            doc="statutory interest for late payment in commercial transactions, percent a year, e.g. 15.25% "
            "(default: none shown)",
        ),
    ),
    accounts=O(
        "the ledger account names of `cpqctl journal` (docs/revenue.md#journal); each has a default",
        receivable=F("str", doc="default Assets:Receivable"),
        bank=F("str", doc="default Assets:Bank"),
        unbilled=F("str", doc="default Assets:Unbilled-Revenue"),
        deferred=F("str", doc="default Liabilities:Deferred-Revenue"),
        vat=F("str", doc="default Liabilities:VAT-Payable"),
        credit=F("str", doc="customers' credit balances, default Liabilities:Customer-Credit"),
        revenue=F("str", doc="default Income:Revenue"),
        write_off=F("str", doc="default Expenses:Bad-Debt"),
    ),
    fx=F("prices", doc="1 unit of a currency in the company currency (more than 0)", positive=True, places=FX_PLACES),
    metrics=O(
        "metrics inputs",
        cac=F("money"),
        gross_margin=F("percent"),
        free_accounts=E(
            *FREE_ACCOUNTS,
            doc="an account whose contract stays active at 0.00 MRR (a free plan, a reprice to 0.00): "
            "`contraction` (default, ChartMogul's rule: the logo stays active) or `churn`",
        ),
    ),
)

INDEX_ENTRY = O(
    "a value with its publication day",
    value=F("rate", True, "the value, e.g. 4.9%"),
    published=F("date", doc="the first day the value may be used (default: the day after the period ends)"),
)
INDEX = O(
    "a price index (indices/<index>.yaml), e.g. a consumer price index, for index-linked renewal uplifts",
    index=F("id", True, "index ID (equals the file name)"),
    name=F("str", doc="what it is, e.g. CPI Poland, y/y (GUS)"),
    values=F(
        "series",
        True,
        "period (YYYY-MM or YYYY) → its value, e.g. 2026-10: 4.9%, or {value: 4.9%, published: 2026-11-14}",
    ),
)

FX_ENTRY = O(
    "one day's rate and the table it was published in",
    rate=F(
        "money",
        True,
        "1 unit of the currency in the company currency, exact (at most 10 places, more than 0), e.g. 4.2264",
        positive=True,
        places=FX_PLACES,
    ),
    table=F("str", doc="the published table's number, e.g. 231/A/NBP/2026"),
)
FX = O(
    "dated exchange rates of one currency (fx/<CUR>.yaml), e.g. NBP table A, for VAT in the company currency "
    "(docs/fx.md)",
    currency=F("currency", True, "the currency (equals the file name), e.g. EUR"),
    source=F("str", doc="where the rates come from, e.g. NBP table A"),
    rates=F("fxrates", True, "day → {rate, table}, e.g. 2026-11-30: {rate: 4.2264, table: 231/A/NBP/2026}"),
)

PAYMENT = O(
    "a payment received, a refund, a write-off, or a bank line that is no payment (payments/<YYYY-MM>/<ID>.yaml; "
    "docs/receivables.md)",
    payment=F("id", True, "the payment's ID (the file name)"),
    date=F("date", True, "the day the money was booked (a write-off: the day it was decided)"),
    amount=F("money", True, "the sum received, refunded or written off", positive=True),
    currency=F("currency", True),
    kind=E(
        "payment",
        "refund",
        "write-off",
        "other",
        doc="`payment` (default): received from the customer; `refund`: paid back; `write-off`: given up as "
        "uncollectable; `other`: a bank line that is not a customer's payment, kept so no import brings it back",
    ),
    account=F("id", doc="the account that paid (absent: not yet identified, a line to review)"),
    payer=F("str", doc="the payer's name as the bank reported it"),
    payer_iban=F("str", doc="the payer's account number as the bank reported it"),
    reference=F("str", doc="the remittance information: the transfer's title or RF creditor reference"),
    bank_ref=F("str", doc="the bank's reference of the entry"),
    imported=F("str", doc="`<format> <statement> <entry>`: written by `payment import`, so a second import is a no-op"),
    note=F("str"),
    allocations=L(
        O(
            "the part settled against one invoice",
            invoice=F("number", True, "the invoice (or corrective invoice) number"),
            amount=F("money", True, "the part of the amount for it", positive=True),
        ),
        doc="what the amount settles; the rest of a payment is the customer's credit balance",
    ),
)


PERIOD = O(
    "a closed month (periods/<YYYY-MM>.yaml, written by `cpqctl close`; docs/revenue.md#period-close)",
    period=F("id", True, "the month, YYYY-MM (the file name)"),
    closed=F("date", True, "the day it was closed"),
    by=F("str", doc="who closed it"),
    journal=F("str", True, "sha256 of the month's journal when it was closed"),
    entries=L(F("str"), doc="each transaction of the month: a short digest, its date and its narration"),
)


SCHEMAS = {
    "cpq": SETTINGS,
    "catalog": CATALOG,
    "account": ACCOUNT,
    "contract": CONTRACT,
    "quote": QUOTE,
    "invoice": INVOICE,
    "payment": PAYMENT,
    "period": PERIOD,
    "index": INDEX,  # indices/*.yaml (read with cpq.toml, not a data file kind of `cpqctl schema`)
    "fx": FX,  # fx/*.yaml (read with cpq.toml, as the indices)
}


# --------------------------------------------------------------------------- JSON Schema

_NUM_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"


def _js(f: F) -> dict:
    out: dict = {}
    if f.doc:
        out["description"] = f.doc
    k = f.kind
    if k == "obj":
        out.update(
            {"type": "object", "additionalProperties": False, "properties": {n: _js(s) for n, s in f.fields.items()}}
        )
        req = [n for n, s in f.fields.items() if s.required]
        if req:
            out["required"] = req
    elif k == "list":
        out.update({"type": "array", "items": _js(f.item)})
    elif k == "map":
        out.update(
            {"type": "object", "propertyNames": {"pattern": "^[A-Z]{3}$"}, "additionalProperties": {"type": "string"}}
        )
    elif k == "prices":
        out.update(
            {
                "type": "object",
                "propertyNames": {"pattern": "^[A-Z]{3}$"},
                "additionalProperties": {"type": ["number", "string"], "pattern": _NUM_PATTERN},
            }
        )
    elif k in ("money", "quantity"):
        out.update({"type": ["number", "string"], "pattern": _NUM_PATTERN})
        if f.nonnegative:
            out["minimum"] = 0
    elif k == "int":
        out.update({"type": "integer"})
        if f.nonnegative:
            out["minimum"] = 0
        out["maximum"] = f.high if f.high is not None else 10**9
    elif k == "percent":  # 0% to 100%: no sign (the loader also bounds the value)
        out.update({"type": "string", "pattern": r"^\+?(\d+(\.\d*)?|\.\d+)\s*%$"})
    elif k == "rate":
        out.update({"type": "string", "pattern": r"^[+-]?(\d+(\.\d*)?|\.\d+)\s*%$"})
    elif k == "uplift":
        out["oneOf"] = [_js(replace(f, kind="percent", doc="")), _js(INDEX_UPLIFT)]
    elif k == "series":
        out.update(
            {
                "type": "object",
                "propertyNames": {"pattern": "^" + PERIOD_RE.pattern + "$"},
                "additionalProperties": {"oneOf": [_js(F("rate")), _js(INDEX_ENTRY)]},
            }
        )
    elif k == "fxrates":
        out.update(
            {
                "type": "object",
                "propertyNames": {"pattern": "^" + DATE_RE.pattern + "$"},
                "additionalProperties": _js(FX_ENTRY),
            }
        )
    elif k == "date":
        out.update({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"})
    elif k == "bool":
        out.update({"type": "boolean"})
    elif k == "enum":
        out.update({"type": "string", "enum": list(f.enum)})
    elif k == "id":
        out.update({"type": "string", "pattern": "^" + ID_RE.pattern + "$"})
    elif k == "numbering":
        out.update({"type": "string", "pattern": NUMBERING_PATTERN})
    elif k == "invoice-numbering":
        out.update({"type": "string", "pattern": NUMBERING_PATTERN.replace("._-", "._/-")})
    elif k == "number":
        out.update({"type": "string", "pattern": "^" + NUMBER_RE.pattern + "$"})
    elif k == "anchor":
        out.update(
            {
                "oneOf": [
                    {"type": "string", "enum": ["start", "calendar"]},
                    {"type": "integer", "minimum": 1, "maximum": 28},
                ]
            }
        )
    elif k == "email":
        out.update({"type": "string", "format": "idn-email"})
    elif k == "peppol":
        out.update({"type": "string", "pattern": "^" + PEPPOL_RE.pattern + "$"})
    elif k == "currency":
        out.update({"type": "string", "pattern": "^[A-Z]{3}$"})
    else:
        out.update({"type": "string"})
    if f.default is not None:
        out["default"] = f.default
    return out


def json_schema(name: str) -> dict:
    """The draft-07 JSON Schema of one file kind."""
    body = _js(SCHEMAS[name])
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"https://cpqctl.dev/schema/{name}.schema.json",
        "title": f"cpqctl {name} file",
        **body,
    }
