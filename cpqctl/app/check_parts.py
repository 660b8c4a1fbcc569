"""`check` of a big repository one part at a time (issue 21: the whole model of 50,000 accounts with a year of
invoices took 0.9 GB).

The parts are :meth:`cpqctl.load.parts.Plan.checking`'s: whole account folders with their contracts' invoices and
their accounts' quotes and payments. The rules that read one account's records (:data:`cpqctl.core.checks.
LOCAL_CHECKS`) run on each part; what the rules over the whole repository read (each invoice's number, date, digest
and place, each payment's bank line: :class:`~cpqctl.core.integrity.InvoiceFacts`,
:class:`~cpqctl.core.checks.PaymentFacts`) is kept from each part, and those rules (the catalog and exchange rates,
the seller's tax ID, the invoices' order, numbering and digests, bank lines imported twice) run once on it at the
end. The findings are the whole check's, in its order (tests/test_check_parts.py compares them over a set of
faults).

The parts answer only where they are sure to: :func:`findings` gives None, and the caller checks the whole
repository, whenever a part could differ from it:

- what :meth:`~cpqctl.load.parts.Plan.checking` refuses (closed months, a loader error, an ID in two parts, a
  quote, payment or invoice whose owner a part cannot hold);
- an error found in a part (which may be a rule reading another part: the whole check says which, and a
  repository with errors is the exception, not the daily run);
- a record naming one of another part (:func:`closed`): a correction of another account's invoice, a quote of
  another account's contract, a payment settling another account's invoice.

A reference to what no file defines is the same unknown in a part as in the whole.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from cpqctl.core.diagnostics import Diagnostic
from cpqctl.core.integrity import InvoiceFacts
from cpqctl.core.model import Invoice, Repo


def findings(root: Path, meter: Callable[[], AbstractContextManager]) -> list[Diagnostic] | None:
    """Every finding of `check` (the loader's, the cross-file rules' and the e-invoices'), sorted as
    :meth:`cpqctl.app.workspace.Workspace.findings` sorts them; None when the parts cannot stand for the whole
    repository (see the module's docstring) or it is small enough to load whole."""
    from cpqctl.app.einvoicing import EinvoiceCheck
    from cpqctl.core.checks import PaymentFacts, global_rules, run_local_checks
    from cpqctl.load.parts import Whole, plan
    from cpqctl.load.positions import source_at

    found_plan = plan(root)
    if found_plan is None:
        return None
    kept: list[str] = []  # each part's invoices' facts
    payments: list[PaymentFacts] = []
    contracts = False
    found: set[Diagnostic] = set()
    einvoices = EinvoiceCheck(root)
    einvoice_found: list[Diagnostic] = []
    catalog = None
    try:
        with meter() as m:
            for loaded in found_plan.checking(m):
                repo, diags = loaded.assemble()
                del loaded
                local = diags + run_local_checks(repo)
                if any(d.severity == "error" for d in local):
                    raise Whole(next(d.file for d in local if d.severity == "error"))
                closed(repo, found_plan.defines)
                found.update(local)
                einvoice_found += einvoices.part(repo, local)
                if repo.invoices:  # one string a part (see InvoiceFacts.line)
                    kept.append("\n".join(_facts(inv).line() for inv in repo.invoices.values()))
                payments += [
                    PaymentFacts(p.payment, p.imported, p.src, source_at(p.at, "imported", p.src))
                    for p in repo.payments.values()
                    if p.imported
                ]
                contracts = contracts or bool(repo.contracts)
                catalog = repo.catalog
                del repo
    except Whole:
        return None
    if catalog is None:
        return None
    invoices = {f.invoice: f for f in map(InvoiceFacts.parse, (line for text in kept for line in text.split("\n")))}
    del kept
    found.update(global_rules(Repo(found_plan.settings, catalog), invoices, payments, contracts))
    einvoices.finish()
    return sorted(sorted(found) + einvoice_found)


def _facts(inv: Invoice) -> InvoiceFacts:
    """What the rules over every invoice read of ``inv``: its two positions read without filling its map of every
    key's (:func:`cpqctl.load.positions.source_at`)."""
    from cpqctl.load.positions import source_at

    src = inv.src
    return InvoiceFacts(
        inv.invoice, inv.date, bool(inv.digest), src, source_at(inv.at, "invoice", src), source_at(inv.at, "date", src)
    )


def closed(repo: Repo, defines: Callable[[str, str], bool]) -> None:
    """Raise :class:`~cpqctl.load.parts.Whole` when a record of the part ``repo`` names a record that is not in it
    but that a file of the repository may define (``defines(kind, ID)``): a rule would read it from another part."""
    from cpqctl.load.parts import Whole

    have = {"account": repo.accounts, "contract": repo.contracts, "quote": repo.quotes, "invoice": repo.invoices}

    def need(kind: str, ident: str | None, file: str) -> None:
        if ident and ident not in have[kind] and defines(kind, ident):
            raise Whole(file)

    for c in repo.contracts.values():
        f = c.src.file
        need("account", c.account, f)
        need("contract", c.renews, f)
        need("quote", c.quote, f)
        for a in c.amendments:
            need("quote", a.quote, f)
    for q in repo.quotes.values():
        need("account", q.account, q.src.file)
        need("contract", q.contract, q.src.file)
    for inv in repo.invoices.values():
        f = inv.src.file
        need("account", inv.account, f)
        need("contract", inv.contract, f)
        need("invoice", inv.corrects, f)
    for p in repo.payments.values():
        need("account", p.account, p.src.file)
        for al in p.allocations:
            need("invoice", al.invoice, p.src.file)
