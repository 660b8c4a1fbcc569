"""Corrective invoices (faktura korygująca, art. 106j of the Polish VAT act; Directive 2006/112 art. 219).

An issued invoice never changes: a mistake or a later credit is a new document,
in a numbering series of its own (``[numbering] correction``), that names the
invoice it corrects (number and issue date), says why, and shows for each line
corrected the net amount before, after, and the difference; its totals are the
differences, its VAT the difference between the VAT due after and the VAT
invoiced before. Two ways one is made (docs/invoices.md):

- ``cpqctl invoice correct INV --reason … [--line N=AMOUNT]``: by hand (a
  mistaken invoice cancelled, a line's amount changed).
- by the invoice run: a credit for a period already invoiced (a downgrade or
  cancellation effective mid-period) corrects the invoice that billed that
  period instead of going out as a negative regular invoice.

A correction's lines carry the ledger segment and period like any invoice line,
so billing counts them (the amount is the difference). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from cpqctl.core.diagnostics import UsageError
from cpqctl.core.issuing import Issued, IssuedLine, Party, Rate, language, vat_pln
from cpqctl.core.model import Invoice, Repo, TaxLine
from cpqctl.core.money import minor_units, round_money

ZERO = Decimal(0)
MAX_AMOUNT = Decimal(10) ** 15  # the bound of every amount in a data file (docs/reference/formats.md "Bounds")


def corrections_of(repo: Repo, number: str, index: _Ledger | None = None) -> list[Invoice]:
    """The corrections issued for invoice ``number``, in number order."""
    if index is not None:
        return index.corrections.get(number, [])
    return sorted((i for i in repo.invoices.values() if i.corrects == number), key=lambda i: (i.date, i.invoice))


class _Ledger:
    """The invoices on file by contract and the corrections by the invoice they correct, for a run that asks
    for many (one pass over the ledger instead of one per question)."""

    def __init__(self, repo: Repo):
        self.by_contract: dict[str, list[Invoice]] = {}
        self.corrections: dict[str, list[Invoice]] = {}
        for i in repo.invoices.values():
            self.by_contract.setdefault(i.contract, []).append(i)
            if i.corrects:
                self.corrections.setdefault(i.corrects, []).append(i)
        for rows in self.corrections.values():
            rows.sort(key=lambda i: (i.date, i.invoice))


def line_state(repo: Repo, inv: Invoice, index: _Ledger | None = None) -> list[Decimal]:
    """Each line's net amount as corrected so far (the original's, plus every correction's difference)."""
    state = [ln.amount for ln in inv.lines]
    for c in corrections_of(repo, inv.invoice, index):
        for ln in c.lines:
            if ln.line is not None and 1 <= ln.line <= len(state):
                state[ln.line - 1] += ln.amount
    return state


def _vat_so_far(repo: Repo, inv: Invoice, index: _Ledger | None = None) -> Decimal:
    total = sum((t.amount for t in inv.taxes), ZERO)
    for c in corrections_of(repo, inv.invoice, index):
        total += sum((t.amount for t in c.taxes), ZERO)
    return total


def _rate(inv: Invoice) -> Decimal:
    rates = {t.rate for t in inv.taxes}
    return next(iter(rates)) if len(rates) == 1 else ZERO


def _rounding(repo: Repo, inv: Invoice) -> str:
    from cpqctl.core.terms import contract_terms

    c = repo.contracts.get(inv.contract)
    return contract_terms(c, repo.settings).rounding if c is not None else repo.settings.rounding


def _party(p, fallback: Party) -> Party:
    return Party(p.name, p.address, p.tax_id, p.country, p.bank_account) if p is not None else fallback


def _document(
    repo: Repo,
    inv: Invoice,
    today: date,
    lines: list[IssuedLine],
    after_state: list[Decimal],
    reason: str,
    vat_before: Decimal | None = None,
) -> Issued:
    """The correction of ``inv`` holding ``lines`` (differences), its VAT the change of the VAT due."""
    from cpqctl.core.issuing import buyer, seller

    cur = inv.currency
    rounding = _rounding(repo, inv)
    rate = _rate(inv)
    net = sum((ln.amount for ln in lines), round_money(0, cur, rounding))
    vat_after = round_money(Fraction(sum(after_state, ZERO)) * Fraction(rate) / 100, cur, rounding)
    vat = vat_after - (vat_before if vat_before is not None else _vat_so_far(repo, inv))
    a = repo.accounts.get(inv.account)
    fx = Rate(inv.fx.rate, inv.fx.table, inv.fx.date) if inv.fx is not None else None
    s = repo.settings
    pdays = a.payment_days if a is not None and a.payment_days is not None else s.payment_days
    return Issued(
        account=inv.account,
        contract=inv.contract,
        date=today,
        billing_date=today,
        currency=cur,
        lines=tuple(lines),
        net_total=net,
        taxes=(TaxLine(rate, net, vat),),
        gross_total=net + vat,
        sale_date=inv.sale_date,
        due=today + timedelta(days=pdays),
        period_start=inv.period_start,
        period_end=inv.period_end,
        seller=_party(inv.seller, seller(s, cur)),
        buyer=_party(inv.buyer, buyer(a, inv.account)),
        language=inv.language or language(a, s),
        reverse_charge=inv.reverse_charge,
        tax_code=inv.tax_code,
        tax_note=inv.tax_note,
        fx=fx,
        vat_pln=vat_pln((vat,), fx),
        kind="correction",
        corrects=inv.invoice,
        corrects_date=inv.date,
        reason=reason,
    )


def _line(inv: Invoice, n: int, before: Decimal, after: Decimal, **over) -> IssuedLine:
    ln = inv.lines[n - 1]
    base = IssuedLine(
        ln.segment,
        ln.product,
        "credit" if after < before else "proration",
        after - before,
        ln.period_start,
        ln.period_end,
        ln.quantity,
        0,
        name=ln.name or ln.product,
        description=ln.description,
        unit=ln.unit or "unit",
        unit_price=ln.unit_price,
        per=ln.per,
        factor=None,
        line=n,
        before=before,
        after=after,
    )
    return replace(base, **over) if over else base


def correct(repo: Repo, inv: Invoice, today: date, after: Mapping[int, Decimal] | None, reason: str) -> Issued:
    """A correction of ``inv`` by hand: each line ``n`` in ``after`` to that net amount (None: every line to 0,
    the invoice cancelled). Refused for a correction, an unknown line, a reason left out, or no change."""
    if inv.kind == "correction":
        raise UsageError(
            "E-CORRECTION",
            f"{inv.invoice} is a corrective invoice",
            f"correct the invoice it corrects, {inv.corrects}: its state includes every correction so far",
        )
    if not reason.strip():
        raise UsageError("E-CORRECTION", "a correction needs its reason (art. 106j ust. 2)", 'pass --reason "…"')
    state = line_state(repo, inv)
    wanted = dict(after) if after is not None else {n: ZERO for n in range(1, len(state) + 1)}
    places = minor_units(inv.currency)
    for n, amount in wanted.items():
        if amount < 0 or amount >= MAX_AMOUNT or amount != amount.quantize(Decimal(1).scaleb(-places)):
            raise UsageError(
                "E-CORRECTION",
                f"line {n} cannot be corrected to {amount}: a line's net amount after a correction is 0 or more, "
                f"below {MAX_AMOUNT}, with at most {places} decimal places in {inv.currency}",
                "a credit beyond what was invoiced is not a correction: cancel to 0 (--line N=0)",
            )
        if not 1 <= n <= len(state):
            raise UsageError(
                "E-CORRECTION",
                f"{inv.invoice} has no line {n} (it has {len(state)})",
                f"`cpqctl invoice render {inv.invoice} --format md` numbers its lines",
            )
    new_state = list(state)
    lines = []
    for n in sorted(wanted):
        if wanted[n] != state[n - 1]:
            lines.append(_line(inv, n, state[n - 1], wanted[n]))
            new_state[n - 1] = wanted[n]
    if not lines:
        raise UsageError(
            "E-CORRECTION",
            f"nothing to correct: {inv.invoice}'s lines already have those amounts",
            "name a line and its net amount after the correction, e.g. --line 1=0",
        )
    return _document(repo, inv, today, lines, new_state, reason)


# the reason a run's correction gives, in the invoice's language (stored as issued, like every text on it)
CREDIT_REASON = {
    "pl": "Zmiana umowy od {effective}: zmniejszenie wynagrodzenia za okres już zafakturowany",
    "en": "Contract change effective {effective}: credit for a period already invoiced",
    "de": "Vertragsänderung ab {effective}: Gutschrift für einen bereits berechneten Zeitraum",
}


def credit_reason(lang: str, effective: date) -> str:
    return " / ".join(
        CREDIT_REASON.get(part, CREDIT_REASON["en"]).format(effective=effective) for part in lang.split("+")
    )


def _covering(ledger: _Ledger, contract: str, product: str, day: date) -> tuple[Invoice, int] | None:
    """The latest regular invoice of ``contract`` with a line of ``product`` billing ``day``: (invoice, line no.)."""
    best = None
    for inv in ledger.by_contract.get(contract, ()):
        if inv.contract != contract or inv.kind == "correction":
            continue
        for n, ln in enumerate(inv.lines, 1):
            if ln.product != product or ln.amount <= 0 or ln.period_start is None:
                continue
            end = ln.period_end or ln.period_start
            if ln.period_start <= day <= end and (
                best is None or (inv.date, inv.invoice) > (best[0].date, best[0].invoice)
            ):
                best = (inv, n)
    return best


PENDING = "@"  # `corrects:` of a correction of an invoice issued earlier in the same run, until it is numbered


def _covers(x: IssuedLine | object, product: str, day: date) -> bool:
    ps = getattr(x, "period_start", None)
    return (
        getattr(x, "product", None) == product
        and getattr(x, "amount", 0) > 0
        and ps is not None
        and ps <= day <= (getattr(x, "period_end", None) or ps)
    )


def _covering_run(out: list[Issued], mine: list[int], product: str, day: date) -> tuple[int, int] | None:
    """The latest invoice of this run (not a correction) with a line of ``product`` billing ``day``: (index, line).

    ``mine``: the indexes in ``out`` of the contract's invoices, in order (a run of 100,000 invoices with credits
    would otherwise scan all of them for each credit)."""
    for i in reversed(mine):
        for n, x in enumerate(out[i].lines, 1):
            if _covers(x, product, day):
                return i, n
    return None


def pending_key(d: Issued) -> str:
    """What a correction of ``d`` (an invoice of the same run) names until ``d`` is numbered (:func:`numbered`)."""
    return f"{PENDING}{d.contract}{PENDING}{d.billing_date.isoformat()}"


def _as_record(d: Issued) -> Any:
    """An invoice of this run as the record a correction names (its number still to come)."""
    from types import SimpleNamespace

    fields = {f: getattr(d, f) for f in d.__dataclass_fields__}
    return SimpleNamespace(**fields, invoice=pending_key(d))


def numbered(drafts: list[Issued], numbers: list[str]) -> list[Issued]:
    """``drafts`` with the corrections of invoices of the same run naming their numbers."""
    by_key = {pending_key(d): n for d, n in zip(drafts, numbers) if d.kind != "correction"}
    return [
        replace(d, corrects=by_key[d.corrects]) if d.corrects and d.corrects.startswith(PENDING) else d for d in drafts
    ]


def split_credits(repo: Repo, issued: Iterable[Issued], today: date) -> list[Issued]:
    """The run's invoices with each credit for an already invoiced period moved to a correction of the invoice that
    billed it (one correction per corrected invoice); what remains of an invoice keeps its other lines.

    The invoice that billed the period may be on file, or issued by this same run: one dated the same day takes
    the credit as a line (a catch-up run nets it: nothing was invoiced before); one dated earlier (a run ahead of
    time) is corrected like an invoice on file, so that batching runs never changes what is issued. A correction is
    dated like the credit it carries."""
    from cpqctl.core.issuing import retotal

    out: list[Issued] = []
    by_contract: dict[str, list[int]] = {}  # the indexes in ``out`` of each contract's invoices (not corrections)

    def add(doc: Issued) -> None:
        if doc.kind != "correction":
            by_contract.setdefault(doc.contract, []).append(len(out))
        out.append(doc)

    records: dict[int, Any] = {}  # this run's invoices a correction names, by their index in ``out``
    states: dict[str, list[Decimal]] = {}  # corrected invoices' line state and VAT, with this run's corrections
    vats: dict[str, Decimal] = {}
    ledger: _Ledger | None = None  # made on the first credit: most runs have none
    for d in issued:
        groups: dict[str, tuple[Any, list[IssuedLine]]] = {}
        keep = []
        folded = False
        for ln in d.lines:
            day = ln.period_start if ln.kind == "credit" else None
            mine = by_contract.get(d.contract, [])
            run_hit = _covering_run(out, mine, ln.product, day) if day is not None else None
            if run_hit is not None and out[run_hit[0]].date == d.date:
                out[run_hit[0]] = retotal(repo, out[run_hit[0]], [*out[run_hit[0]].lines, ln])
                folded = True
                continue
            if run_hit is not None:
                i, n = run_hit
                rec = records.setdefault(i, _as_record(out[i]))
            else:
                if day is not None and ledger is None:
                    ledger = _Ledger(repo)
                hit = _covering(ledger, d.contract, ln.product, day) if ledger is not None and day is not None else None
                if hit is None:
                    keep.append(ln)
                    continue
                rec, n = hit
            groups.setdefault(rec.invoice, (rec, []))[1].append(replace(ln, line=n))
        if not groups and not folded:
            add(d)
            continue
        if keep:
            add(retotal(repo, d, keep))
        for inv, credits in groups.values():
            if inv.invoice not in states:
                states[inv.invoice] = line_state(repo, inv, ledger)
            state = states[inv.invoice]
            lines = []
            for ln in credits:
                k = ln.line
                assert k is not None
                before = state[k - 1]
                state[k - 1] = before + ln.amount
                lines.append(replace(ln, before=before, after=state[k - 1], factor=None))
            effective = min(ln.period_start for ln in credits if ln.period_start)
            lang = inv.language or language(repo.accounts.get(inv.account), repo.settings)
            before = vats[inv.invoice] if inv.invoice in vats else _vat_so_far(repo, inv, ledger)
            doc = _document(repo, inv, d.date, lines, list(state), credit_reason(lang, effective), before)
            vats[inv.invoice] = before + doc.tax_total
            add(doc)
    return out
