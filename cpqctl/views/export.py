"""The ledger as flat tables for BI tools: accounts, contracts, segments, invoices, invoice_lines.

`cpqctl export` writes these tables as CSV files or one SQLite database; this
module only builds them (pure: no IO, no clock; the as-of date is a
parameter). Decisions, so that a finance or BI user gets what they expect:

- **One shape for both formats.** Every table has the same columns, in the
  same order, in CSV and in SQLite, so a dashboard can switch source.
- **Money is exact decimal text** with the currency's minor-unit places
  (``"1080.00"``, :func:`cpqctl.core.money.money_str`), never a float; every table
  with money has a ``currency`` column. SQLite gets each money column as
  ``TEXT`` (the same text as the CSV) *plus* an ``INTEGER`` sibling
  ``<column>_minor`` in minor units (``108000``): ``SUM(amount)`` on text goes
  through REAL in SQLite and may lose cents, ``SUM(amount_minor)`` is exact.
- **Quantities and rates are decimal text** too (``"1.5"``, ``"23"``); a tax
  rate is in percent points (``tax_rate_percent`` ``"23"`` is 23 %).
- **Dates are ISO text** (``2026-01-01``), empty/NULL when absent. Date
  columns of contracts and segments are ``start_date``/``end_date`` because
  ``END`` is a reserved word in SQL.
- **Booleans are 0/1** (SQLite has no boolean type; 0/1 reads as a flag in
  every BI tool).
- **As-of figures**: a contract's status, MRR and ARR and a segment's MRR
  contribution are on ``as_of`` (a column of both tables). MRR/ARR are rounded
  with cpq.toml's rounding policy, per contract (as `contract show`) and per
  segment (each contribution rounded on its own, so they may differ from the
  contract's figure by a few minor units).
- **Deterministic**: rows sorted by their key (segments in ledger order:
  signed lines, then each amendment's), so the same repository and as-of
  date give byte-identical CSV files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cpqctl.core import ledger
from cpqctl.core.model import Contract, Repo
from cpqctl.core.money import fmt_decimal, money_str, rounded_money_str
from cpqctl.core.terms import contract_terms, tax_rate

# column types: text | date | money | decimal | int | bool
TYPES = ("text", "date", "money", "decimal", "int", "bool")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str = "text"
    required: bool = False  # NOT NULL
    references: str | None = None  # "table(column)": a foreign key


@dataclass(frozen=True, slots=True)
class Table:
    """A table's schema and rows (each row a tuple in column order: str, int or None)."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    indexes: tuple[str, ...] = ()
    rows: tuple[tuple, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(spec: str) -> Column:
    """``"account:text!>accounts(account)"``: name, type, ``!`` NOT NULL, ``>`` foreign key."""
    spec, _, ref = spec.partition(">")
    required = spec.endswith("!")
    name, _, typ = spec.rstrip("!").partition(":")
    return Column(name, typ or "text", required, ref or None)


def _schema(name: str, key: tuple[str, ...], columns: str, indexes: tuple[str, ...] = ()) -> Table:
    return Table(name, tuple(_c(s) for s in columns.split()), key, indexes)


SCHEMAS: dict[str, Table] = {
    t.name: t
    for t in (
        _schema(
            "accounts",
            ("account",),
            "account! name! currency! address tax_id tax_rate_percent:decimal! reverse_charge:bool! "
            "billing_contact billing_email",
        ),
        _schema(
            "contracts",
            ("contract",),
            "contract! account!>accounts(account) currency! quote renews renewed_by start_date:date! "
            "signed_end_date:date end_date:date evergreen:bool! billing_frequency! signed_on:date amendments:int! "
            "cancelled_on:date as_of:date! status! mrr:money! arr:money! tcv:money",
            ("account",),
        ),
        _schema(
            "segments",
            ("segment",),
            "segment! contract!>contracts(contract) account!>accounts(account) source! product! kind! per "
            "pricing! bundle quantity:decimal! currency! list_price:money unit_price:money! start_date:date! "
            "end_date:date as_of:date! mrr:money!",
            ("contract", "account", "product"),
        ),
        _schema(
            "invoices",
            ("invoice",),
            "invoice! account!>accounts(account) contract!>contracts(contract) date:date! sale_date:date "
            "due:date currency! net_total:money! tax_total:money! gross_total:money! reverse_charge:bool! "
            "corrects reason sent_on:date kind! corrects_date:date",
            ("account", "contract", "date"),
        ),
        _schema(
            "invoice_lines",
            ("invoice", "line"),
            "invoice!>invoices(invoice) line:int! segment! product! kind! period_start:date period_end:date "
            "quantity:decimal currency! amount:money! corrects_line:int before:money after:money",
            ("segment",),
        ),
    )
}
TABLES = tuple(SCHEMAS)


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _qty(q: Decimal | None) -> str | None:
    return fmt_decimal(q) if q is not None else None


def _money(value: Decimal | None, currency: str) -> str | None:
    return money_str(value, currency) if value is not None else None


def accounts(repo: Repo) -> list[tuple]:
    """One row per account; ``tax_rate_percent`` is the rate its invoices use (0 under reverse charge)."""
    out = []
    for a in sorted(repo.accounts.values(), key=lambda a: a.account):
        rate, reverse = tax_rate(a, repo.settings)
        contact = a.billing_contact()
        out.append(
            (
                a.account,
                a.name,
                a.currency,
                a.address or None,
                a.tax_id or None,
                fmt_decimal(rate),
                int(reverse),
                contact.name if contact else None,
                contact.email if contact else None,
            )
        )
    return out


def contracts(repo: Repo, as_of: date) -> list[tuple]:
    """One row per contract: terms, its state on ``as_of`` (status, MRR, ARR) and its total value (TCV)."""
    s = repo.settings
    out = []
    for c in sorted(repo.contracts.values(), key=lambda c: c.contract):
        cur = c.currency
        mrr = ledger.mrr(c, as_of)
        canc = ledger.cancellation(c)
        terms = contract_terms(c, s)
        tcv = ledger.tcv(c, s)
        out.append(
            (
                c.contract,
                c.account,
                cur,
                c.quote,
                c.renews,
                repo.successors.get(c.contract),
                _iso(c.start),
                _iso(c.end),
                _iso(ledger.current_end(c)),
                int(c.evergreen),
                terms.billing_frequency,
                _iso(c.signed.date) if c.signed else None,
                len(c.amendments),
                _iso(canc.date) if canc else None,
                as_of.isoformat(),
                ledger.status(c, as_of),
                rounded_money_str(mrr, cur, terms.rounding),
                rounded_money_str(mrr * 12, cur, terms.rounding),
                _money(tcv, cur),
            )
        )
    return out


def _ledger_segments(c: Contract):
    """(source, segment) in ledger order: the signed lines (``initial``), then each amendment's."""
    for seg in c.lines:
        yield "initial", seg
    for a in c.amendments:
        for seg in a.lines:
            yield a.amendment, seg


def segments(repo: Repo, as_of: date) -> list[tuple]:
    """One row per ledger segment, with the ID invoices use (``C-2026-0001/A-1#1``) and its MRR on ``as_of``."""
    out = []
    for c in sorted(repo.contracts.values(), key=lambda c: c.contract):
        cur = c.currency
        rounding = contract_terms(c, repo.settings).rounding
        for source, seg in _ledger_segments(c):
            out.append(
                (
                    seg.id,
                    c.contract,
                    c.account,
                    source,
                    seg.product,
                    "one-time" if seg.one_time else "recurring",
                    seg.per,
                    seg.pricing,
                    seg.bundle,
                    _qty(seg.quantity),
                    cur,
                    _money(seg.list_price, cur),
                    money_str(seg.unit_price, cur),
                    _iso(seg.start),
                    _iso(seg.end),
                    as_of.isoformat(),
                    rounded_money_str(ledger.segment_mrr(seg, as_of), cur, rounding),
                )
            )
    return out


def invoices(repo: Repo) -> list[tuple]:
    """One row per invoice (the header); ``tax_total`` sums its tax lines."""
    out = []
    for inv in sorted(repo.invoices.values(), key=lambda i: i.invoice):
        cur = inv.currency
        tax = sum((t.amount for t in inv.taxes), Decimal(0))
        sent = min((d.date for d in inv.sent if d.date is not None), default=None)
        out.append(
            (
                inv.invoice,
                inv.account,
                inv.contract,
                _iso(inv.date),
                _iso(inv.sale_date),
                _iso(inv.due),
                cur,
                money_str(inv.net_total, cur),
                money_str(tax, cur),
                money_str(inv.gross_total, cur),
                int(inv.reverse_charge),
                inv.corrects,
                inv.reason or None,
                _iso(sent),
                inv.kind,
                _iso(inv.corrects_date),
            )
        )
    return out


def invoice_lines(repo: Repo) -> list[tuple]:
    """One row per invoice line, numbered from 1 in the invoice's own order."""
    out = []
    for inv in sorted(repo.invoices.values(), key=lambda i: i.invoice):
        cur = inv.currency
        for n, ln in enumerate(inv.lines, 1):
            out.append(
                (
                    inv.invoice,
                    n,
                    ln.segment,
                    ln.product,
                    ln.kind,
                    _iso(ln.period_start),
                    _iso(ln.period_end),
                    _qty(ln.quantity),
                    cur,
                    money_str(ln.amount, cur),
                    ln.line,
                    _money(ln.before, cur),
                    _money(ln.after, cur),
                )
            )
    return out


KINDS = frozenset({"account", "contract", "invoice"})  # what the tables read
ORDER = {"accounts": 0, "contracts": 0, "segments": 1, "invoices": 0, "invoice_lines": 0}  # the column rows go by


def table_rows(repo: Repo, as_of: date) -> dict[str, list[tuple]]:
    """Every table's rows, each table's in the order of its :data:`ORDER` column (stable: a contract's segments in
    ledger order, an invoice's lines in its own)."""
    return {
        "accounts": accounts(repo),
        "contracts": contracts(repo, as_of),
        "segments": segments(repo, as_of),
        "invoices": invoices(repo),
        "invoice_lines": invoice_lines(repo),
    }


def tables(rows) -> list[Table]:
    """The tables with their schemas, in the order they are written (referenced tables first); ``rows``: each
    table's, by name (tuples, or rows given one at a time with a length)."""
    return [Table(t.name, t.columns, t.key, t.indexes, rows[t.name]) for t in (SCHEMAS[name] for name in TABLES)]


def build(repo: Repo, as_of: date) -> list[Table]:
    """Every table, schema and rows, in the order they are written (referenced tables first)."""
    return tables({name: tuple(rs) for name, rs in table_rows(repo, as_of).items()})


def minor(text: str) -> int:
    """A money text in minor units: ``"1080.00"`` → 108000, ``"-0.30"`` → -30, ``"500"`` (JPY) → 500.

    Exact because :func:`cpqctl.core.money.money_str` always writes the currency's
    own number of decimal places.
    """
    return int(text.replace(".", ""))


def summary(fmt: str, path: str, as_of: date, tables: list[Table]) -> dict:
    """`cpqctl export --json`: the format, the path written, the as-of date and the rows per table."""
    return {
        "format": fmt,
        "path": path,
        "as_of": as_of.isoformat(),
        "tables": [{"table": t.name, "rows": len(t.rows)} for t in tables],
    }
