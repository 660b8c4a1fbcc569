"""Importing existing customers and contracts from a spreadsheet export (CSV).

Why a module of its own: a company adopting cpqctl starts with contracts that
were signed elsewhere. Their export becomes account and contract files in the
SPEC §1 formats, with every bad row found at once (a spreadsheet is fixed in
one pass, not one error per run) and nothing planned when any row is bad.

Pure: CSV text and the loaded repository in, planned files (path + text) or
row errors out. Reading the CSV and writing the files is the use case's job
(:mod:`cpqctl.app.importing`); the columns are documented in docs/import.md.
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from cpqctl.core.diagnostics import Diagnostic
from cpqctl.core.model import Repo
from cpqctl.core.money import D, MoneyError
from cpqctl.formats.yamlout import Raw, flow, mapping_lines
from cpqctl.load.schema import CURRENCY_RE, DATE_RE, FREQUENCIES, ID_RE, PERIODS

COLUMNS = (
    "account",
    "name",
    "currency",
    "contract",
    "start",
    "end",
    "evergreen",
    "billing",
    "product",
    "quantity",
    "unit_price",
    "per",
    "billed_through",
)
REQUIRED = ("account", "name", "currency", "contract", "start", "billing", "product", "quantity", "unit_price")
# rows of one account (one contract) must agree on these; they are validated on the group's first row
ACCOUNT_COLUMNS = ("name", "currency")
CONTRACT_COLUMNS = ("account", "start", "end", "evergreen", "billing", "billed_through")

_HINTS = {
    "id": "IDs use letters, digits, dot, dash and underscore, starting with a letter or digit",
    "date": "write an ISO date YYYY-MM-DD, e.g. 2026-01-01",
    "money": "write an exact decimal with a dot, e.g. 1200.00 (no thousands separator, no decimal comma)",
    "quantity": "write a number with a dot for decimals, e.g. 5",
}


@dataclass(frozen=True, order=True)
class RowError:
    """One bad cell (or row, or header): its 1-based row and column index, the column's name, a hint."""

    row: int
    index: int
    code: str
    message: str
    column: str = ""
    hint: str = ""

    def diagnostic(self, file: str) -> Diagnostic:
        """The error as a check-style diagnostic: line = row number, column = column index."""
        return Diagnostic(file, self.row, self.index, self.code, self.message, self.hint)


@dataclass(frozen=True)
class PlannedFile:
    """A file the import creates: repo-relative path, its text, and what it is (for --dry-run)."""

    path: str
    kind: str  # account | contract
    account: str
    contract: str | None
    lines: int | None
    text: str

    def row(self) -> dict:
        return {
            "file": self.path,
            "kind": self.kind,
            "account": self.account,
            "contract": self.contract,
            "lines": self.lines,
        }


@dataclass(frozen=True)
class Plan:
    """Either files to create (no errors) or errors (and no files)."""

    files: tuple[PlannedFile, ...] = ()
    errors: tuple[RowError, ...] = ()


@dataclass
class _Row:
    number: int
    cells: dict[str, str]


@dataclass
class _Line:
    product: str
    quantity: Decimal
    unit_price: Decimal
    per: str | None
    block: bool


@dataclass
class _Contract:
    contract: str
    first: _Row
    account: str = ""
    currency: str = ""
    start: date | None = None
    end: date | None = None
    evergreen: bool = False
    billing: str = ""
    billed_through: date | None = None
    lines: list[_Line] = field(default_factory=list)


class _Errors:
    def __init__(self, index: dict[str, int]) -> None:
        self.index = index
        self.items: list[RowError] = []

    def add(self, row: int, column: str, code: str, message: str, hint: str = "") -> None:
        self.items.append(RowError(row, self.index.get(column, 1), code, message, column, hint))


def plan(text: str, repo: Repo) -> Plan:
    """The files that importing ``text`` (CSV with a header row) into ``repo`` creates, or every row error."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = list(reader)
    except csv.Error as e:
        return Plan(
            errors=(
                RowError(
                    reader.line_num or 1,
                    1,
                    "E-IMPORT-CSV",
                    f"not readable as CSV: {e}",
                    hint="export the sheet as CSV (comma-separated, UTF-8)",
                ),
            )
        )
    if not records or not any(c.strip() for c in records[0]):
        return Plan(
            errors=(
                RowError(
                    1,
                    1,
                    "E-IMPORT-HEADER",
                    "the file has no header row",
                    hint="the first row names the columns: " + ", ".join(REQUIRED),
                ),
            )
        )
    header = [c.strip() for c in records[0]]
    index = {name: i + 1 for i, name in reversed(list(enumerate(header)))}
    errs = _Errors(index)
    if not _check_header(header, errs):
        return Plan(errors=tuple(sorted(errs.items)))
    rows = []
    for n, cells in enumerate(records[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # a blank line: counted (row numbers match the spreadsheet), not imported
        extra = [c for c in cells[len(header) :] if c.strip()]
        if extra:
            errs.add(
                n,
                "",
                "E-IMPORT-CELLS",
                f"the row has {len(cells)} cells, the header names {len(header)}",
                "remove the cells right of the last column, or quote a value that holds a comma",
            )
        rows.append(
            _Row(
                n,
                {
                    name: (cells[i].strip() if i < len(cells) else "")
                    for name, i in ((name, index[name] - 1) for name in COLUMNS if name in index)
                },
            )
        )
    if not rows:
        errs.add(2, "", "E-IMPORT-EMPTY", "the file has a header but no data rows", "one row per contract line")
    contracts = _contracts(rows, repo, errs)
    if errs.items:
        return Plan(errors=tuple(sorted(set(errs.items))))
    return Plan(files=_files(rows, contracts, repo))


def named_ids(text: str) -> tuple[set[str], set[str]]:
    """The account and contract IDs the CSV's rows name (their cells as :func:`plan` reads them), for a plan made on
    those records alone (`import contracts` on a big repository); nothing when the file is no CSV (the plan says
    why)."""
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return set(), set()
    if not records:
        return set(), set()
    header = [c.strip() for c in records[0]]
    index = {name: i for i, name in reversed(list(enumerate(header)))}
    out: tuple[set[str], set[str]] = (set(), set())
    for cells in records[1:]:
        for col, found in zip(("account", "contract"), out, strict=True):
            i = index.get(col)
            if i is not None and i < len(cells) and cells[i].strip():
                found.add(cells[i].strip())
    return out


def _check_header(header: list[str], errs: _Errors) -> bool:
    """Report unknown, repeated and missing columns; False when rows cannot be read at all."""
    seen: set[str] = set()
    for i, name in enumerate(header, start=1):
        if name in seen:
            errs.items.append(
                RowError(1, i, "E-IMPORT-HEADER", f"column `{name}` appears twice", name, "keep one of them")
            )
        elif name not in COLUMNS:
            close = difflib.get_close_matches(name.lower(), COLUMNS, n=1)
            errs.items.append(
                RowError(
                    1,
                    i,
                    "E-IMPORT-COLUMN",
                    f"unknown column `{name}`",
                    name,
                    f"did you mean `{close[0]}`?" if close else "remove it; the columns are: " + ", ".join(COLUMNS),
                )
            )
        seen.add(name)
    missing = [c for c in REQUIRED if c not in seen]
    for name in missing:
        errs.items.append(
            RowError(1, 1, "E-IMPORT-HEADER", f"missing column `{name}`", name, "see docs/import.md for the columns")
        )
    return not missing


# --------------------------------------------------------------------------- values


def _id(r: _Row, col: str, errs: _Errors) -> str | None:
    s = r.cells.get(col, "")
    if not s:
        errs.add(r.number, col, "E-REQUIRED", f"`{col}` needs a value", _HINTS["id"])
        return None
    if not ID_RE.fullmatch(s):
        errs.add(r.number, col, "E-ID", f"`{s}` is not a valid ID ({col})", _HINTS["id"])
        return None
    return s


def _date(r: _Row, col: str, errs: _Errors, required: bool = True) -> date | None:
    s = r.cells.get(col, "")
    if not s:
        if required:
            errs.add(r.number, col, "E-REQUIRED", f"`{col}` needs a value", _HINTS["date"])
        return None
    if DATE_RE.fullmatch(s):
        try:
            return date.fromisoformat(s)
        except ValueError:
            pass
    errs.add(r.number, col, "E-DATE", f"`{s}` is not a date ({col})", _HINTS["date"])
    return None


def _decimal(r: _Row, col: str, errs: _Errors, kind: str) -> Decimal | None:
    s = r.cells.get(col, "")
    what = "an amount of money" if kind == "money" else "a quantity"
    if not s:
        errs.add(r.number, col, "E-REQUIRED", f"`{col}` needs a value", _HINTS[kind])
        return None
    try:
        return D(s)
    except MoneyError:
        errs.add(r.number, col, "E-NUMBER", f"`{s}` is not {what} ({col})", _HINTS[kind])
        return None


def _choice(r: _Row, col: str, errs: _Errors, values: tuple[str, ...], required: bool) -> str | None:
    s = r.cells.get(col, "")
    if not s:
        if required:
            errs.add(r.number, col, "E-REQUIRED", f"`{col}` needs a value", "one of: " + ", ".join(values))
        return None
    if s not in values:
        errs.add(r.number, col, "E-ENUM", f"`{s}` is not a valid `{col}`", "one of: " + ", ".join(values))
        return None
    return s


def _norm(col: str, value: str) -> str:
    """A cell as compared between rows of one group (an empty evergreen cell means false)."""
    return (value.lower() or "false") if col == "evergreen" else value


# --------------------------------------------------------------------------- rows → contracts


def _contracts(rows: list[_Row], repo: Repo, errs: _Errors) -> dict[str, _Contract]:
    """Group rows into contracts and accounts, validating every row; errors go to ``errs``."""
    accounts: dict[str, _Row] = {}
    contracts: dict[str, _Contract] = {}
    for r in rows:
        acct = _id(r, "account", errs)
        if acct is not None:
            if acct in repo.accounts or acct not in accounts:
                # an existing account is the reference for every row; a new one is defined by its first row
                accounts.setdefault(acct, r)
                _check_account(r, acct, repo, errs)
            else:
                _agree(r, accounts[acct], ACCOUNT_COLUMNS, f"account `{acct}`", errs)
        cid = _id(r, "contract", errs)
        if cid is None:
            continue
        c = contracts.get(cid)
        if c is None:
            c = contracts[cid] = _Contract(cid, r)
            _check_contract(c, acct, repo, errs)
        else:
            _agree(r, c.first, CONTRACT_COLUMNS, f"contract `{cid}`", errs)
        line = _line(r, c, repo, errs)
        if line is not None:
            c.lines.append(line)
    return contracts


def _agree(r: _Row, first: _Row, columns: tuple[str, ...], what: str, errs: _Errors) -> None:
    for col in columns:
        if col in errs.index and _norm(col, r.cells[col]) != _norm(col, first.cells[col]):
            errs.add(
                r.number,
                col,
                "E-IMPORT-CONFLICT",
                f"`{col}` is `{r.cells[col]}` here but `{first.cells[col]}` on row {first.number} ({what})",
                f"every row of {what} has the same {col}",
            )


def _check_account(r: _Row, acct: str, repo: Repo, errs: _Errors) -> None:
    name = r.cells["name"]
    if not name:
        errs.add(r.number, "name", "E-REQUIRED", "`name` needs a value", "the customer's legal name")
    cur = r.cells["currency"]
    if not CURRENCY_RE.fullmatch(cur):
        errs.add(
            r.number,
            "currency",
            "E-CURRENCY",
            f"`{cur}` is not a currency code",
            "write an ISO 4217 code such as PLN, EUR or USD",
        )
        cur = ""
    existing = repo.accounts.get(acct)
    if existing is None:
        return
    where = f"contracts/{acct}/account.yaml"
    if name and name != existing.name:
        errs.add(
            r.number,
            "name",
            "E-ACCOUNT-MISMATCH",
            f"account `{acct}` is named `{existing.name}` in {where}, not `{name}`",
            f"write `{existing.name}`, or rename the account in {where} first",
        )
    if cur and cur != existing.currency:
        errs.add(
            r.number,
            "currency",
            "E-CURRENCY-MISMATCH",
            f"account `{acct}` is in {existing.currency} ({where}), not {cur}",
            "a contract is in its account's currency",
        )


def _check_contract(c: _Contract, acct: str | None, repo: Repo, errs: _Errors) -> None:
    """The contract-level columns, validated once, on the contract's first row."""
    r = c.first
    n = r.number
    c.account = acct or ""
    c.currency = r.cells["currency"]
    if c.contract == "account":
        errs.add(
            n,
            "contract",
            "E-ID",
            "`account` cannot be a contract ID (account.yaml is the customer's file)",
            "name the contract like C-2025-0001",
        )
    if c.contract in repo.contracts:
        other = repo.contracts[c.contract]
        errs.add(
            n,
            "contract",
            "E-CONTRACT-EXISTS",
            f"contract `{c.contract}` already exists ({other.src.file})",
            "an import only creates new contracts; remove its rows or rename it",
        )
    c.start = _date(r, "start", errs)
    ever = r.cells.get("evergreen", "").lower()
    if ever not in ("", "true", "false"):
        errs.add(
            n,
            "evergreen",
            "E-BOOL",
            f"`{r.cells['evergreen']}` is not a boolean (evergreen)",
            "write true or false (or leave it empty: false)",
        )
    c.evergreen = ever == "true"
    c.end = _date(r, "end", errs, required=False)
    if c.evergreen and r.cells.get("end"):
        errs.add(n, "end", "E-EVERGREEN", "an evergreen contract has no end", "leave end empty, or evergreen false")
    elif not c.evergreen and not r.cells.get("end"):
        errs.add(n, "end", "E-NO-END", "the contract has no end", "write end: YYYY-MM-DD, or evergreen: true")
    if c.start and c.end and c.end < c.start:
        errs.add(
            n,
            "end",
            "E-DATES",
            f"the contract ends ({c.end}) before it starts ({c.start})",
            "swap the dates or fix the typo",
        )
        c.end = None
    c.billing = _choice(r, "billing", errs, FREQUENCIES, required=True) or ""
    if c.evergreen and c.billing == "upfront":
        errs.add(
            n,
            "billing",
            "E-BILLING",
            "an evergreen contract cannot be billed upfront",
            "use monthly, quarterly, semiannual or annual",
        )
    c.billed_through = _date(r, "billed_through", errs, required=False)
    bt = c.billed_through
    if bt and c.start and (bt < c.start or (c.end and bt > c.end)):
        errs.add(
            n,
            "billed_through",
            "E-BILLED-THROUGH",
            f"billed_through {bt} is outside the term {c.start}..{c.end or 'open'}",
            "the date up to which the old system invoiced, within the contract term",
        )


def _line(r: _Row, c: _Contract, repo: Repo, errs: _Errors) -> _Line | None:
    """One contract line from the row's product columns (None when a cell is bad)."""
    n = r.number
    code = _id(r, "product", errs)
    product = None
    if code is not None:
        product = repo.catalog.products.get(code)
        if product is None:
            close = difflib.get_close_matches(code, list(repo.catalog.products), n=1)
            errs.add(
                n,
                "product",
                "E-UNKNOWN-PRODUCT",
                f"unknown product `{code}`",
                f"did you mean `{close[0]}`?" if close else "`cpqctl catalog list` lists the products",
            )
        elif product.evergreen and not c.evergreen:
            errs.add(
                n,
                "product",
                "E-EVERGREEN-ONLY",
                f"`{code}` is sold only on evergreen contracts",
                "set evergreen to true (and leave end empty)",
            )
    qty = _decimal(r, "quantity", errs, "quantity")
    if qty is not None and qty <= 0:
        errs.add(
            n,
            "quantity",
            "E-QUANTITY",
            f"the quantity must be more than 0, not {r.cells['quantity']}",
            "an imported line is what the customer owns",
        )
        qty = None
    price = _decimal(r, "unit_price", errs, "money")
    if price is not None and price < 0:
        errs.add(n, "unit_price", "E-NEGATIVE", "`unit_price` must not be negative", "")
        price = None
    per = _choice(r, "per", errs, PERIODS, required=False)
    if product is not None and not product.recurring and r.cells.get("per"):
        errs.add(n, "per", "E-SEGMENT-PER", f"`{code}` is one-time: the line has no `per`", "leave per empty")
        return None
    if product is None or qty is None or price is None or (r.cells.get("per") and per is None):
        return None
    if product.recurring:
        per = per or product.per
    return _Line(code, qty, abs(price) if price == 0 else price, per, product.pricing == "block")


# --------------------------------------------------------------------------- files


def _files(rows: list[_Row], contracts: dict[str, _Contract], repo: Repo) -> tuple[PlannedFile, ...]:
    """New account files, then each account's contracts, in the order the CSV first names them."""
    out: list[PlannedFile] = []
    done: set[str] = set()
    of: dict[str, list[_Contract]] = {}  # each account's contracts, in the CSV's order (one pass, not one per account)
    for c in contracts.values():
        of.setdefault(c.account, []).append(c)
    for r in rows:
        acct = r.cells["account"]
        if acct in done:
            continue
        done.add(acct)
        if acct not in repo.accounts:
            out.append(
                PlannedFile(
                    f"contracts/{acct}/account.yaml",
                    "account",
                    acct,
                    None,
                    None,
                    account_text(acct, r.cells["name"], r.cells["currency"]),
                )
            )
        for c in of.get(acct, ()):
            out.append(
                PlannedFile(
                    f"contracts/{acct}/{c.contract}.yaml",
                    "contract",
                    acct,
                    c.contract,
                    len(c.lines),
                    contract_text(c, repo.settings.proration, repo.settings.rounding),
                )
            )
    return tuple(out)


def account_text(acct: str, name: str, currency: str) -> str:
    """A new account.yaml: only the required keys (the rest is added by hand, SPEC §1)."""
    head = [f"# {acct}: imported by `cpqctl import contracts`"]
    return "\n".join(head + mapping_lines([("account", acct), ("name", name), ("currency", currency)])) + "\n"


def contract_text(c: _Contract, proration: str, rounding: str) -> str:
    """An imported contract: no quote or signature, proration and rounding frozen, billed_through kept."""
    head = [
        ("contract", c.contract),
        ("account", c.account),
        ("currency", c.currency),
        ("start", c.start),
        ("end", None if c.evergreen else c.end),
        ("evergreen", True if c.evergreen else None),
        ("billing", Raw(flow([("frequency", c.billing)]))),
        ("proration", proration),
        ("rounding", rounding),
        ("billed_through", c.billed_through),
    ]
    out = [f"# {c.contract}: imported by `cpqctl import contracts` (amendments are appended below)"]
    out.extend(mapping_lines(head))
    out.append("lines:")
    for ln in c.lines:
        recurring = ln.per is not None
        out.append(
            "  - "
            + flow(
                [
                    ("product", ln.product),
                    ("pricing", "block" if ln.block else None),
                    ("quantity", ln.quantity),
                    ("unit_price", ln.unit_price),
                    ("per", ln.per),
                    ("start", c.start),
                    ("end", c.end if recurring and not c.evergreen else None),
                ]
            )
        )
    return "\n".join(out) + "\n"
