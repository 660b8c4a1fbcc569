"""NBP table A average exchange rates, in the formats NBP publishes them, and the text of ``fx/<CUR>.yaml``.

Read (:func:`parse`, the format told from the content):

- the Web API's JSON (api.nbp.pl): one currency's series, ``/api/exchangerates/rates/a/{code}/…``
  (``{"table": "A", "code": "EUR", "rates": [{"no", "effectiveDate", "mid"}]}``), and whole tables,
  ``/api/exchangerates/tables/a/…`` (``[{"table": "A", "no", "effectiveDate", "rates": [{"code", "mid"}]}]``);
- the same two as XML (``?format=xml``): ``<ExchangeRatesSeries>`` and ``<ArrayOfExchangeRatesTable>``;
- the yearly archive CSV (``archiwum_tab_a_YYYY.csv``): ``;``-separated, Windows-1250 (or UTF-8), a header
  row ``data;1THB;1USD;…;100HUF;…;nr tabeli;pełny numer tabeli;``, then a row of currency names, one row per
  table with the day as ``YYYYMMDD`` and decimal commas, and footer rows (``kod ISO``, ``nazwa waluty``,
  ``liczba jednostek``). A column ``100HUF`` quotes 100 units: the rate of one is the value / 100.

Every rate is an exact Decimal (JSON numbers are read as Decimal, never float). A problem is a
:class:`~cpqctl.core.diagnostics.CpqError` at ``FILE:LINE:COLUMN`` where the format has lines.
Pure: bytes in, records out; no IO.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation, localcontext

from cpqctl.core.diagnostics import CpqError
from cpqctl.core.model import FxRate, Source

MAX_PLACES = 10  # as the fx files' schema (cpqctl.load.schema.FX_PLACES)
CURRENCY_RE = re.compile(r"[A-Z]{3}")
TABLE_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z/._-]{0,39}")  # 231/A/NBP/2026
_MULTIPLIER_RE = re.compile(r"([0-9]+)\s*([A-Z]{3})")
FORMAT_HINT = (
    "give NBP table A data as the Web API returns it (JSON or XML of /api/exchangerates/rates/a/… or "
    "/api/exchangerates/tables/a/…) or NBP's yearly archive archiwum_tab_a_YYYY.csv (docs/fx.md)"
)


@dataclass(frozen=True)
class Quote:
    """One rate read from an input file: 1 unit of ``currency`` in złoty on ``day``, from table ``table``."""

    currency: str
    day: date
    rate: Decimal
    table: str
    src: Source = field(default=Source("<input>"), compare=False)

    def as_rate(self, src: Source) -> FxRate:
        return FxRate(self.day, self.rate, self.table, src)


def _error(name: str, line: int, col: int, code: str, message: str, hint: str = FORMAT_HINT) -> CpqError:
    return CpqError(code, message, hint, src=Source(name, max(line, 1), max(col, 1)))


def _bad(name: str, line: int, message: str, col: int = 1) -> CpqError:
    return _error(name, line, col, "E-FX-FORMAT", message)


def parse(name: str, data: bytes) -> list[Quote]:
    """Every rate in an NBP file (``name`` is how errors name it), in the file's order."""
    text = _decode(data)
    head = text.lstrip()
    if not head:
        raise _bad(name, 1, f"{name} is empty")
    if head[0] in "[{":
        return parse_json(name, text)
    if head[0] == "<":
        return parse_xml(name, text)
    return parse_csv(name, text)


def _decode(data: bytes) -> str:
    """UTF-8 (a BOM dropped), else Windows-1250: NBP's archive CSV is in the latter."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1250", errors="replace")


# --------------------------------------------------------------------------- values


def _day(name: str, line: int, text: object, what: str = "effectiveDate", col: int = 1) -> date:
    s = str(text).strip() if text is not None else ""
    m = re.fullmatch(r"([0-9]{4})-?([0-9]{2})-?([0-9]{2})", s)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise _bad(name, line, f"`{s}` is not a day ({what}; expected YYYY-MM-DD or YYYYMMDD)", col)


def _rate(name: str, line: int, value: object, multiplier: int = 1, what: str = "mid", col: int = 1) -> Decimal:
    """An exact rate of one unit: decimal dot or comma, divided by the quoted number of units."""
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, (int, str)) and not isinstance(value, bool):
        s = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            d = Decimal(s) if re.fullmatch(r"[0-9]+(\.[0-9]+)?", s) else Decimal("NaN")
        except InvalidOperation:
            d = Decimal("NaN")
    else:
        d = Decimal("NaN")
    if not d.is_finite() or d <= 0:
        raise _bad(name, line, f"`{value}` is not an exchange rate ({what}: a number above 0)", col)
    one = d
    if multiplier != 1:
        with localcontext() as ctx:
            ctx.prec = 60
            one = d / multiplier
    exp = one.as_tuple().exponent
    places = -exp if isinstance(exp, int) and exp < 0 else 0
    if places > MAX_PLACES:
        one = one.normalize()  # 0.0103620000 → 0.010362
        exp = one.as_tuple().exponent
        places = -exp if isinstance(exp, int) and exp < 0 else 0
    if places > MAX_PLACES or one * multiplier != d:
        raise _bad(
            name,
            line,
            f"`{value}` for {multiplier} unit(s) is {one} for one: more than {MAX_PLACES} decimal places ({what})",
            col,
        )
    return one


def _currency(name: str, line: int, code: object, col: int = 1) -> str:
    s = str(code).strip().upper() if code is not None else ""
    if not CURRENCY_RE.fullmatch(s):
        raise _bad(name, line, f"`{code}` is not a currency code (code)", col)
    return s


def _table(name: str, line: int, no: object, col: int = 1) -> str:
    s = str(no).strip() if no is not None else ""
    if not TABLE_RE.fullmatch(s):
        raise _bad(name, line, f"`{no}` is not a table number (no; e.g. 231/A/NBP/2026)", col)
    return s


def _table_a(name: str, line: int, table: object) -> None:
    t = str(table).strip().upper() if table is not None else "A"
    if t != "A":
        raise _error(
            name,
            line,
            1,
            "E-FX-FORMAT",
            f"{name} holds NBP table {t}, not table A: VAT is converted at NBP's average rates of table A",
            "download table A: /api/exchangerates/rates/a/{code}/… or /api/exchangerates/tables/a/…",
        )


# --------------------------------------------------------------------------- JSON


def _line_of(text: str, needle: str, start: int = 0) -> tuple[int, int]:
    """(line, character offset) of the first ``needle`` at or after ``start`` (line 1 when not found)."""
    i = text.find(needle, start)
    if i < 0:
        return 1, start
    return text.count("\n", 0, i) + 1, i


def parse_json(name: str, text: str) -> list[Quote]:
    try:
        doc = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as e:
        raise _error(name, e.lineno, e.colno, "E-FX-FORMAT", f"{name} is not valid JSON: {e.msg}") from None
    out: list[Quote] = []
    cursor = [0]  # where in the text the last rate was found: each rate's line is searched from there

    def where(key: str) -> int:
        line, cursor[0] = _line_of(text, f'"{key}"', cursor[0])
        cursor[0] += 1
        return line

    if isinstance(doc, dict) and isinstance(doc.get("rates"), list) and "code" in doc:  # /rates/a/{code}/…
        _table_a(name, 1, doc.get("table"))
        code = _currency(name, 1, doc.get("code"))
        for i, r in enumerate(doc["rates"]):
            line = where("effectiveDate") if isinstance(r, dict) else 1
            if not isinstance(r, dict) or not {"no", "effectiveDate", "mid"} <= r.keys():
                raise _bad(name, line, f"rates[{i}] needs `no`, `effectiveDate` and `mid` (an NBP table A series)")
            out.append(
                Quote(
                    code,
                    _day(name, line, r["effectiveDate"]),
                    _rate(name, line, r["mid"]),
                    _table(name, line, r["no"]),
                    Source(name, line),
                )
            )
        return out
    tables = [doc] if isinstance(doc, dict) and "effectiveDate" in doc else doc
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise _bad(name, 1, f"{name} is JSON, but not an NBP exchange-rate series or list of tables")
    for ti, t in enumerate(tables):
        tline = where("effectiveDate")
        if not {"no", "effectiveDate", "rates"} <= t.keys() or not isinstance(t["rates"], list):
            raise _bad(name, tline, f"table [{ti}] needs `no`, `effectiveDate` and `rates` (an NBP table A)")
        _table_a(name, tline, t.get("table"))
        day = _day(name, tline, t["effectiveDate"])
        no = _table(name, tline, t["no"])
        for i, r in enumerate(t["rates"]):
            line = where("code") if isinstance(r, dict) and "code" in r else tline
            if not isinstance(r, dict) or not {"code", "mid"} <= r.keys():
                raise _bad(name, line, f"table {no}: rates[{i}] needs `code` and `mid`")
            out.append(
                Quote(_currency(name, line, r["code"]), day, _rate(name, line, r["mid"]), no, Source(name, line))
            )
    return out


# --------------------------------------------------------------------------- XML


@dataclass
class _Node:
    tag: str
    line: int
    col: int
    children: list[_Node] = field(default_factory=list)
    text: str = ""

    def child(self, tag: str) -> _Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def all(self, tag: str) -> list[_Node]:
        return [c for c in self.children if c.tag == tag]


def _xml_tree(name: str, text: str) -> _Node:
    """The document as nodes with their line numbers (expat; a DTD declaring entities is refused)."""
    from xml.parsers import expat

    parser = expat.ParserCreate()
    stack: list[_Node] = []
    root: list[_Node] = []

    def start(tag, _attrs):
        node = _Node(tag.split(":")[-1], parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        (stack[-1].children if stack else root).append(node)
        stack.append(node)

    def end(_tag):
        stack.pop()

    def data(s):
        if stack:
            stack[-1].text += s

    def entity(*_args):
        raise ValueError("entity declarations are not allowed")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(text, True)
    except expat.ExpatError as e:
        raise _error(
            name, e.lineno, e.offset + 1, "E-FX-FORMAT", f"{name} is not valid XML: {expat.errors.messages[e.code]}"
        ) from None
    except ValueError as e:
        raise _bad(name, parser.CurrentLineNumber, f"{name}: {e}") from None
    return root[0]


def _text(node: _Node, tag: str, name: str) -> tuple[str, int, int]:
    c = node.child(tag)
    if c is None:
        raise _bad(name, node.line, f"<{node.tag}> has no <{tag}>", node.col)
    return c.text.strip(), c.line, c.col


def parse_xml(name: str, text: str) -> list[Quote]:
    root = _xml_tree(name, text)
    out: list[Quote] = []
    if root.tag == "ExchangeRatesSeries":  # /rates/a/{code}/?format=xml
        t = root.child("Table")
        _table_a(name, t.line if t else root.line, t.text if t else None)
        code, cl, cc = _text(root, "Code", name)
        code = _currency(name, cl, code, cc)
        rates = root.child("Rates")
        for r in rates.all("Rate") if rates else []:
            no, nl, nc = _text(r, "No", name)
            day, dl, dc = _text(r, "EffectiveDate", name)
            mid, ml, mc = _text(r, "Mid", name)
            out.append(
                Quote(
                    code,
                    _day(name, dl, day, col=dc),
                    _rate(name, ml, mid, col=mc),
                    _table(name, nl, no, nc),
                    Source(name, r.line, r.col),
                )
            )
        return out
    if root.tag in ("ArrayOfExchangeRatesTable", "ExchangeRatesTable"):  # /tables/a/…?format=xml
        tables = root.all("ExchangeRatesTable") if root.tag.startswith("ArrayOf") else [root]
        for t in tables:
            kind = t.child("Table")
            _table_a(name, kind.line if kind else t.line, kind.text if kind else None)
            no, nl, nc = _text(t, "No", name)
            no = _table(name, nl, no, nc)
            day_text, dl, dc = _text(t, "EffectiveDate", name)
            table_day = _day(name, dl, day_text, col=dc)
            rates = t.child("Rates")
            for r in rates.all("Rate") if rates else []:
                code, cl, cc = _text(r, "Code", name)
                mid, ml, mc = _text(r, "Mid", name)
                out.append(
                    Quote(
                        _currency(name, cl, code, cc),
                        table_day,
                        _rate(name, ml, mid, col=mc),
                        no,
                        Source(name, r.line, r.col),
                    )
                )
        return out
    raise _bad(
        name,
        root.line,
        f"<{root.tag}> is not an NBP exchange-rate document (ExchangeRatesSeries, ArrayOfExchangeRatesTable)",
    )


# --------------------------------------------------------------------------- the archive CSV


def parse_csv(name: str, text: str) -> list[Quote]:
    """NBP's yearly archive of table A (archiwum_tab_a_YYYY.csv)."""
    rows = list(csv.reader(text.splitlines(), delimiter=";"))
    header_at = next((i for i, r in enumerate(rows) if r and r[0].strip().lower() == "data"), None)
    if header_at is None:
        raise _bad(name, 1, f"{name}: no header row starting with `data` (NBP's archive CSV, `;`-separated)")
    header = [h.strip() for h in rows[header_at]]
    columns: dict[int, tuple[str, int]] = {}  # column → (currency, units quoted)
    short_no = full_no = None
    for j, h in enumerate(header[1:], 1):
        m = _MULTIPLIER_RE.fullmatch(h)
        if m:
            units = int(m[1])
            if units <= 0:
                raise _bad(name, header_at + 1, f"column `{h}`: quotes {units} units", j + 1)
            columns[j] = (m[2], units)
        elif h.lower() == "nr tabeli":
            short_no = j
        elif h.lower() in ("pełny numer tabeli", "pelny numer tabeli"):
            full_no = j
        elif h:
            raise _bad(
                name, header_at + 1, f"column `{h}` is neither a currency (1EUR, 100HUF) nor a table number", j + 1
            )
    if not columns:
        raise _bad(name, header_at + 1, f"{name}: the header names no currency column (1EUR, 100HUF, …)")
    out: list[Quote] = []
    for i, row in enumerate(rows[header_at + 1 :], header_at + 2):
        first = row[0].strip() if row else ""
        if not any(ch.isdigit() for ch in first):
            continue  # the row of names, the footers (kod ISO, nazwa waluty, liczba jednostek), blank lines
        day = _day(name, i, first, "data")
        no = _csv_table(name, i, row, day, short_no, full_no)
        for j, (code, units) in columns.items():
            cell = row[j].strip() if j < len(row) else ""
            if cell:  # empty: not quoted that day
                out.append(Quote(code, day, _rate(name, i, cell, units, header[j], _col(row, j)), no, Source(name, i)))
    return out


def _col(row: list[str], j: int) -> int:
    return sum(len(c) + 1 for c in row[:j]) + 1


def _csv_table(name: str, line: int, row: list[str], day: date, short_no: int | None, full_no: int | None) -> str:
    if full_no is not None and full_no < len(row) and row[full_no].strip():
        return _table(name, line, row[full_no], _col(row, full_no))
    if short_no is not None and short_no < len(row) and row[short_no].strip().isdigit():
        return f"{int(row[short_no]):03d}/A/NBP/{day.year}"
    raise _bad(name, line, "the row has no table number (columns `nr tabeli`, `pełny numer tabeli`)")


# --------------------------------------------------------------------------- fx/<CUR>.yaml


def _plain_or_quoted(s: str) -> str:
    from cpqctl.formats.yamlout import quoted

    return s if TABLE_RE.fullmatch(s) else quoted(s)


def render(currency: str, source: str, rates: list[FxRate] | tuple[FxRate, ...], preamble: str = "") -> str:
    """The text of ``fx/<currency>.yaml``: the ``preamble`` (comment lines kept from the file) and one flow line
    per day, oldest first."""
    from cpqctl.formats.yamlout import scalar

    lines = [preamble.rstrip("\n")] if preamble.strip() else []
    lines += [f"currency: {currency}", f"source: {scalar(source)}" if source else "", "rates:"]
    for r in sorted(rates, key=lambda r: r.day):
        entry = f"rate: {format(r.rate, 'f')}" + (f", table: {_plain_or_quoted(r.table)}" if r.table else "")
        lines.append(f"  {r.day.isoformat()}: {{{entry}}}")
    return "\n".join(x for x in lines if x) + "\n"


def preamble(text: str) -> str:
    """The comment lines (and blank lines) at the top of an fx file, kept when the file is written again."""
    out = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            out.append(line)
        else:
            break
    return "\n".join(out).strip("\n") + "\n" if any(x.strip() for x in out) else ""
