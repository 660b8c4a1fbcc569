"""What a change set does to the business: two loaded repositories compared (pure).

`cpqctl diff` loads the data repository at two git revisions and hands both
here: contracts and quotes added, amended or removed; MRR/ARR per account
before and after on the as-of date; the change in each contract's value; the
invoices issued between the two.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from cpqctl.core import ledger
from cpqctl.core.model import Repo
from cpqctl.core.money import money_str, rounded_money_str


def _account_mrr(repo: Repo, day: date) -> dict[tuple[str, str], Fraction]:
    out: dict[tuple[str, str], Fraction] = {}
    for c in repo.contracts.values():
        key = (c.account, c.currency)
        out[key] = out.get(key, Fraction(0)) + ledger.mrr(c, day)
    return out


def currency_mrr(repo: Repo, day: date) -> dict[str, tuple[Fraction, int]]:
    """(MRR, number of contracts) per currency of the contracts of ``repo`` on ``day``."""
    out: dict[str, tuple[Fraction, int]] = {}
    for c in repo.contracts.values():
        m, n = out.get(c.currency, (Fraction(0), 0))
        out[c.currency] = (m + ledger.mrr(c, day), n + 1)
    return out


def arr_totals(before: dict[str, tuple[Fraction, int]], after: dict[str, tuple[Fraction, int]]) -> tuple[list, bool]:
    """The document's ``arr`` rows and ``arr_changed`` from :func:`currency_mrr` of every contract on both sides
    (a currency is listed when a contract on either side is in it, as :func:`compare` lists them)."""
    rows, changed = [], False
    zero = (Fraction(0), 0)
    for cur in sorted(c for c in set(before) | set(after) if before.get(c, zero)[1] or after.get(c, zero)[1]):
        b, a = before.get(cur, zero)[0], after.get(cur, zero)[0]
        changed = changed or b != a
        rows.append(
            {
                "currency": cur,
                "arr_before": _arr_str(b * 12, cur),
                "arr_after": _arr_str(a * 12, cur),
                "arr_delta": _arr_str((a - b) * 12, cur),
            }
        )
    return rows, changed


def _arr_str(v: Fraction, cur: str) -> str:
    """An exact MRR/ARR figure as JSON money text, rounded half-up (as `cpqctl diff` always has)."""
    return rounded_money_str(v, cur, "half-up")


def _value(repo: Repo, cid: str) -> Decimal | None:
    c = repo.contracts.get(cid)
    if c is None:
        return None
    return ledger.tcv(c, repo.settings)


def compare(before: Repo, after: Repo, day: date) -> dict:
    """The change from ``before`` to ``after``, as the `cpqctl diff --format json` document."""
    contracts = []
    for cid in sorted(set(before.contracts) | set(after.contracts)):
        b, a = before.contracts.get(cid), after.contracts.get(cid)
        if b == a:
            continue
        what = (
            "added"
            if b is None
            else "removed"
            if a is None
            else ("amended" if len(a.amendments) > len(b.amendments) else "changed")
        )
        c = a if a is not None else b
        assert c is not None  # b != a: one side has the contract
        vb, va = _value(before, cid), _value(after, cid)
        mb = ledger.mrr(b, day) if b else Fraction(0)
        ma = ledger.mrr(a, day) if a else Fraction(0)
        contracts.append(
            {
                "contract": cid,
                "account": c.account,
                "currency": c.currency,
                "change": what,
                "amendments": [x.amendment for x in (a.amendments if a else ())][len(b.amendments) if b else 0 :],
                "value_before": money_str(vb, c.currency) if vb is not None else None,
                "value_after": money_str(va, c.currency) if va is not None else None,
                "value_delta": money_str((va or Decimal(0)) - (vb or Decimal(0)), c.currency)
                if (va, vb) != (None, None)
                else None,
                "arr_before": _arr_str(mb * 12, c.currency),
                "arr_after": _arr_str(ma * 12, c.currency),
                "arr_delta": _arr_str((ma - mb) * 12, c.currency),
            }
        )
    quotes = []
    for qid in sorted(set(before.quotes) | set(after.quotes)):
        qb, qa = before.quotes.get(qid), after.quotes.get(qid)
        if qb == qa:
            continue
        q = qa if qa is not None else qb
        assert q is not None  # qb != qa: one side has the quote
        quotes.append(
            {
                "quote": qid,
                "kind": q.kind,
                "account": q.account,
                "change": "added" if qb is None else "removed" if qa is None else "changed",
                "status_before": qb.status if qb else None,
                "status_after": qa.status if qa else None,
            }
        )
    mb_all, ma_all = _account_mrr(before, day), _account_mrr(after, day)
    accounts = []
    totals: dict[str, list[Fraction]] = {}
    for key in sorted(set(mb_all) | set(ma_all)):
        x, y = mb_all.get(key, Fraction(0)), ma_all.get(key, Fraction(0))
        acc, cur = key
        t = totals.setdefault(cur, [Fraction(0), Fraction(0)])
        t[0] += x
        t[1] += y
        if x != y:
            accounts.append(
                {
                    "account": acc,
                    "currency": cur,
                    "mrr_before": _arr_str(x, cur),
                    "mrr_after": _arr_str(y, cur),
                    "arr_before": _arr_str(x * 12, cur),
                    "arr_after": _arr_str(y * 12, cur),
                    "arr_delta": _arr_str((y - x) * 12, cur),
                }
            )
    invoices = []
    for iid in sorted(set(after.invoices) - set(before.invoices)):
        inv = after.invoices[iid]
        invoices.append(
            {
                "invoice": iid,
                "account": inv.account,
                "contract": inv.contract,
                "date": inv.date.isoformat(),
                "currency": inv.currency,
                "net_total": money_str(inv.net_total, inv.currency),
                "gross_total": money_str(inv.gross_total, inv.currency),
            }
        )
    return {
        "as_of": day.isoformat(),
        "arr": [
            {
                "currency": cur,
                "arr_before": _arr_str(b * 12, cur),
                "arr_after": _arr_str(a * 12, cur),
                "arr_delta": _arr_str((a - b) * 12, cur),
            }
            for cur, (b, a) in sorted(totals.items())
        ],
        "arr_changed": any(b != a for b, a in totals.values()),
        "accounts": accounts,
        "contracts": contracts,
        "quotes": quotes,
        "invoices_issued": invoices,
    }


def markdown(doc: dict, title: str) -> str:
    """The summary to paste into a pull request."""
    out = [f"### {title}", "", f"As of {doc['as_of']}.", ""]
    if doc["arr"]:
        out += ["| Currency | ARR before | ARR after | Δ ARR |", "|---|---:|---:|---:|"]
        out += [f"| {r['currency']} | {r['arr_before']} | {r['arr_after']} | {r['arr_delta']} |" for r in doc["arr"]]
        out.append("")
    if doc["contracts"]:
        out += ["| Contract | Account | Change | Value Δ | ARR before | ARR after |", "|---|---|---|---:|---:|---:|"]
        for c in doc["contracts"]:
            what = c["change"] + (f" ({', '.join(c['amendments'])})" if c["amendments"] else "")
            out.append(
                f"| {c['contract']} | {c['account']} | {what} | {c['value_delta'] or '—'} | "
                f"{c['arr_before']} | {c['arr_after']} |"
            )
        out.append("")
    if doc["quotes"]:
        out += ["| Quote | Kind | Account | Change | Status |", "|---|---|---|---|---|"]
        out += [
            f"| {q['quote']} | {q['kind']} | {q['account']} | {q['change']} | "
            f"{q['status_before'] or '—'} → {q['status_after'] or '—'} |"
            for q in doc["quotes"]
        ]
        out.append("")
    if doc["invoices_issued"]:
        out += ["| Invoice | Account | Date | Net | Gross |", "|---|---|---|---:|---:|"]
        out += [
            f"| {i['invoice']} | {i['account']} | {i['date']} | {i['net_total']} {i['currency']} | "
            f"{i['gross_total']} {i['currency']} |"
            for i in doc["invoices_issued"]
        ]
        out.append("")
    if not (doc["contracts"] or doc["quotes"] or doc["invoices_issued"]):
        out += ["No change to contracts, quotes or invoices.", ""]
    return "\n".join(out)
